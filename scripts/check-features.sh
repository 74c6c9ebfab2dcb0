#!/usr/bin/env bash
# Fails when `cargo build -p aidx-cli` (README's demo) and `cargo test --workspace` (README's tests)
# would compile a shared dependency with different features: then the second command recompiles
# that dependency and everything above it (mistral.rs, ~15 min on 2 cores). The fix is to add the
# missing features to crates/workspace-hack/Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt='{p} [{f}]'
demo="$(cargo tree --locked -p aidx-cli -e normal,build --prefix none -f "$fmt" | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u)"
tests="$(cargo tree --locked --workspace --prefix none -f "$fmt" | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u)"
# A package can appear twice with different features (once for the target, once as a build
# dependency for the host), so compare whole "package [features]" lines: each line of the demo's
# build must also be one of the tests' build.
drift="$(comm -23 <(echo "$demo") <(echo "$tests") | sed 's/^/  /')"
if [[ -n "$drift" ]]; then
  echo "check-features: the demo's build compiles these with features the tests' build does not use:" >&2
  echo "$drift" >&2
  echo "add the tests' features to crates/workspace-hack/Cargo.toml" >&2
  exit 1
fi
echo "check-features: the demo's build and the tests' build share every dependency unit"
