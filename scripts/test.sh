#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), then every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aidx/target}"
scripts/setup.sh test
cargo test --workspace --no-fail-fast "$@"
