#!/usr/bin/env bash
# Clones the commit-replay benchmark's repositories (replay-repos.txt) as bare repositories into
# DIR/NAME.git, or fetches into those already there, and checks that each pinned commit is present.
# Needs the network; the benchmark itself does not.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir="$1"
list="$(dirname "$0")/replay-repos.txt"
mkdir -p "$dir"
grep -v '^\s*#' "$list" | while read -r name url commit _lang; do
  [[ -n "${name:-}" ]] || continue
  if [[ -d "$dir/$name.git" ]]; then
    git --git-dir "$dir/$name.git" fetch -q "$url" '+refs/heads/*:refs/heads/*' || true
  else
    git clone -q --bare "$url" "$dir/$name.git"
  fi
  git --git-dir "$dir/$name.git" cat-file -e "$commit^{commit}" ||
    { echo "$name: commit $commit is not in $url" >&2; exit 1; }
  echo "$name: ok"
done
