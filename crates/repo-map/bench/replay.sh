#!/usr/bin/env bash
# The commit-replay benchmark from one command: aidx's map, then aider's RepoMap on the same cases
# (when a Python with aider-chat and bpe-openai is given), then one table with both and the two
# baselines.
#
#   crates/repo-map/bench/replay.sh MIRRORS OUT [repo-map-bench replay flags, e.g. --skip 32]
#
#   MIRRORS   bare clones NAME.git of the repositories in replay-repos.txt (replay-fetch.sh makes them)
#   OUT       results: aidx.jsonl (cases and aidx's results), aider.jsonl, table.md
#   $AIDER_PYTHON  a Python with aider-chat and bpe-openai (default: skip the anchor)
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
mirrors="$1" out="$2"
shift 2
cd "$(dirname "$0")/../../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aidx/target}"
cargo build --quiet --release -p aidx-repo-map --bin repo-map-bench
bench="$CARGO_TARGET_DIR/release/repo-map-bench"
"$bench" replay --mirrors "$mirrors" --out "$out" "$@" > /dev/null
anchor=()
if [[ -n "${AIDER_PYTHON:-}" ]]; then
  "$AIDER_PYTHON" crates/repo-map/bench/aider_replay.py "$out/aidx.jsonl" "$out/aider.jsonl" \
    --mirrors "$mirrors" > "$out/aider.log"
  anchor=(--anchor "$out/aider.jsonl")
fi
"$bench" replay --mirrors "$mirrors" --out "$out" "$@" "${anchor[@]}" | tee "$out/table.md"
