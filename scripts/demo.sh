#!/usr/bin/env bash
# The main job end to end on the embedded default: set up (system packages, build, the default
# model), then run aidx on a small sample repository, printing the model's real answer.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aidx/target}"
scripts/setup.sh demo
aidx="$CARGO_TARGET_DIR/debug/aidx"
sample="$(mktemp -d)/sample"
mkdir -p "$sample"
cp -r examples/sample-repo/. "$sample/"
git -C "$sample" init -q
git -C "$sample" -c user.name=demo -c user.email=demo@example.invalid add -A
git -C "$sample" -c user.name=demo -c user.email=demo@example.invalid commit -qm "chore: sample repository"
cd "$sample"
echo "== aidx config (in $sample)"
"$aidx" config
echo "== aidx map"
"$aidx" map --tokens 256 --stats
echo "== aidx run (fully local: SmolLM2 plans and edits. The grammar makes its edit well-formed and"
echo "   its SEARCH real lines of calc.py, but a 135M model's change is rarely the right one: when it"
echo "   would leave calc.py unparseable, or delete or duplicate a definition, the syntax check and the"
echo "   verifier's rules send it back and, failing that, land nothing)"
"$aidx" run -m "Add a function mul(a, b) that returns a * b to calc.py" --file calc.py --yes || echo "(the run ended without a commit: see the report above)"
git --no-pager log --oneline | head -3
if git rev-parse -q --verify HEAD~1 >/dev/null; then
  echo "== aidx diff (what the run committed; \`aidx undo\` would revert it)"
  "$aidx" diff || true
fi
echo "== aidx chat (embedded SmolLM2, greedy)"
"$aidx" chat --max-tokens 64 "In one sentence: what does a function called add(a, b) in Python do?"
