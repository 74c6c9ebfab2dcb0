#!/usr/bin/env bash
# Fuzzing on a stable toolchain: the targets in fuzz/ are libFuzzer binaries (libfuzzer-sys),
# compiled with LLVM's SanitizerCoverage passes through `-C` flags that stable rustc accepts, so
# the fuzzing is coverage-guided without nightly. No AddressSanitizer (that needs `-Z`): the code
# under test is safe Rust, so what the fuzzer looks for is panics, overflows (debug assertions and
# overflow checks stay on), hangs (-timeout) and runaway memory (-rss_limit_mb).
#
#   scripts/fuzz.sh list                 the targets
#   scripts/fuzz.sh build                build them all
#   scripts/fuzz.sh run TARGET SECONDS   fuzz one target (corpus grows under the work directory)
#   scripts/fuzz.sh smoke [SECONDS]      every target for SECONDS (default 20) each: CI's smoke
#   scripts/fuzz.sh repro TARGET FILE    run one input (a crash file) through a target
#
#   $AIDX_FUZZ_TARGET_DIR  the instrumented build (default ~/.cache/aidx/target-fuzz)
#   $AIDX_FUZZ_WORK        grown corpora and crash files (default ~/.cache/aidx/fuzz-work)
#
# Seeds come from fuzz/corpus/TARGET (kept in the repository, read only here); a crash is written
# to $AIDX_FUZZ_WORK/artifacts/TARGET/ and the script exits non-zero. Keep each finding as a
# regression test next to the code it broke.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${AIDX_FUZZ_TARGET_DIR:-$HOME/.cache/aidx/target-fuzz}"
work="${AIDX_FUZZ_WORK:-$HOME/.cache/aidx/fuzz-work}"
host="$(rustc -vV | sed -n 's/^host: //p')"
targets=(gguf_header search_replace aidx_yml plan_markdown plan_json sse hunks)

build() {
  # --target keeps the flags off build scripts and proc macros (they run on the host, unlinked to
  # libFuzzer).
  RUSTFLAGS="-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing" \
    cargo build --quiet --locked --release --manifest-path fuzz/Cargo.toml --target "$host" --bins
}

binary() { echo "$CARGO_TARGET_DIR/$host/release/$1"; }

known() {
  local t
  for t in "${targets[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  echo "fuzz: no target named '$1'; the targets are: ${targets[*]}" >&2
  exit 2
}

run() {
  local target="$1" seconds="$2"
  known "$target"
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
  local dict=()
  [[ -f "fuzz/dict/$target.dict" ]] && dict=(-dict="fuzz/dict/$target.dict")
  # First corpus directory is the writable one: the repository's seeds are only read.
  local status
  set +e
  "$(binary "$target")" "$work/corpus/$target" "fuzz/corpus/$target" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" 2>&1 |
    grep -E '^(stat::|==[0-9]+==|SUMMARY|.*panicked at|Test unit written)'
  # grep hides libFuzzer's status lines; the exit status is the fuzzer's.
  status="${PIPESTATUS[0]}"
  set -e
  return "$status"
}

case "${1:-}" in
  list) printf '%s\n' "${targets[@]}" ;;
  build) build ;;
  run)
    [[ $# -eq 3 ]] || { echo "usage: scripts/fuzz.sh run TARGET SECONDS" >&2; exit 2; }
    known "$2"
    build
    run "$2" "$3"
    ;;
  smoke)
    seconds="${2:-20}"
    build
    failed=()
    for t in "${targets[@]}"; do
      echo "fuzz: $t for ${seconds}s"
      run "$t" "$seconds" || failed+=("$t")
    done
    if [[ ${#failed[@]} -gt 0 ]]; then
      echo "fuzz: findings in ${failed[*]}: see $work/artifacts/, reproduce with scripts/fuzz.sh repro TARGET FILE" >&2
      exit 1
    fi
    ;;
  repro)
    [[ $# -eq 3 ]] || { echo "usage: scripts/fuzz.sh repro TARGET FILE" >&2; exit 2; }
    known "$2"
    build
    "$(binary "$2")" "$3"
    ;;
  *)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
