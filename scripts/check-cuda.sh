#!/usr/bin/env bash
# Checks that `--features cuda` compiles, both engines, on a machine without a GPU or a CUDA
# install: the CUDA 13.0 toolkit comes from NVIDIA's Python packages (pip), unpacked under
# ${AIDX_CUDA_DIR:-$HOME/.cache/aidx/cuda130}; then `cargo check -p aidx-cli --features cuda` in its
# own target directory. Not part of CI: the first run compiles llama.cpp's and mistral.rs's CUDA
# kernels (about half an hour on 2 cores); later runs take seconds. BENCHMARKS.md, "GPU".
#
# Why 13.0: mistral.rs's CUDA crates (cudarc 0.17, mistralrs-quant) refuse newer toolkits, and the
# CUDA 12 compiler package carries no `nvcc`.
# Environment: AIDX_CUDA_DIR (toolkit folder), AIDX_CUDA_ARCH (compute capability, default 89).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${AIDX_CUDA_DIR:-$HOME/.cache/aidx/cuda130}"
arch="${AIDX_CUDA_ARCH:-89}"
cuda="$dir/nvidia/cu13"
log() { printf '[check-cuda] %s\n' "$*" >&2; }

if [[ ! -x "$cuda/bin/nvcc" ]]; then
    wheels="$dir/wheels"
    mkdir -p "$wheels"
    log "downloading the CUDA 13.0 toolkit's Python packages into $wheels"
    python3 -m pip download --no-deps -d "$wheels" \
        "nvidia-cuda-nvcc==13.0.88" "nvidia-nvvm==13.0.88" "nvidia-cuda-crt==13.0.88" \
        "nvidia-cuda-runtime==13.0.96" "nvidia-cuda-cccl==13.0.85" "nvidia-cublas==13.10.0.20" >&2
    for wheel in "$wheels"/*.whl; do
        python3 -m zipfile -e "$wheel" "$dir"
    done
    chmod +x "$cuda"/bin/* "$cuda"/nvvm/bin/* 2>/dev/null || true
    ln -sfn lib "$cuda/lib64"
    for lib in cudart cublas cublasLt; do
        ln -sf "lib$lib.so.13" "$cuda/lib/lib$lib.so"
    done
fi
if [[ ! -f "$cuda/lib/stubs/libcuda.so" ]]; then
    # The driver's library is not in the packages; CMake's CUDA::cuda_driver target needs a file to
    # configure. A check links nothing against it.
    mkdir -p "$cuda/lib/stubs"
    echo 'void cuInit(void) {}' | cc -shared -fPIC -x c -o "$cuda/lib/stubs/libcuda.so" -
fi

export CUDA_HOME="$cuda" CUDA_PATH="$cuda" CUDA_ROOT="$cuda" CUDA_TOOLKIT_ROOT_DIR="$cuda" CUDAToolkit_ROOT="$cuda"
export PATH="$cuda/bin:$PATH" LD_LIBRARY_PATH="$cuda/lib" LIBRARY_PATH="$cuda/lib:$cuda/lib/stubs"
export CUDARC_CUDA_VERSION=13000 CUDA_COMPUTE_CAP="$arch" CUDAARCHS="$arch"
export NVCC_APPEND_FLAGS="-I$cuda/cccl"
export CARGO_TARGET_DIR="${AIDX_CUDA_TARGET_DIR:-$HOME/.cache/aidx/target-cuda}"
log "nvcc: $(nvcc --version | tail -n1); sm_$arch; target $CARGO_TARGET_DIR"
cargo check --locked -p aidx-cli --features cuda
log "ok: aidx-cli --features cuda compiles (both engines' CUDA back-ends)"
