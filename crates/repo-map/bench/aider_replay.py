"""aider's RepoMap on the commit-replay cases, as the anchor for `repo-map-bench replay`.

Usage: python aider_replay.py CASES OUT [--mirrors DIR] [--tokens N]

CASES is the `aidx.jsonl` that `repo-map-bench replay --out DIR` writes (one case a line: repo,
commit, parent, request, touched). For each case this checks out the parent's tree (its own work
tree, next to OUT), asks aider's RepoMap for a map with the request as the chat message, and writes
one JSON line to OUT: repo, commit, the files the map shows (in its order), its tokens and the time.
Mentions are computed as aider's coder does for the current message (file names and identifiers
in the text, identifiers that name a file's stem); no file is in the chat, and the budget is the
same token count (`max_context_window` unset, so aider does not enlarge it). Offline: the model
object only counts tokens (cl100k_base from bpe-openai). Needs `pip install aider-chat bpe-openai`.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from aider_repo_map import IO, Model  # noqa: E402

from aider.repomap import RepoMap  # noqa: E402

MAX_BYTES = 1024 * 1024


def git(git_dir, *args, env=None):
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def checkout(git_dir, work, index, commit):
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, GIT_INDEX_FILE=index)
    subprocess.run(
        ["git", "--git-dir", git_dir, "--work-tree", work, "read-tree", "--reset", "-u", commit],
        check=True, capture_output=True, env=env,
    )


def tree_files(git_dir, commit):
    out = []
    for line in git(git_dir, "ls-tree", "-r", "-l", commit).splitlines():
        meta, _, path = line.partition("\t")
        fields = meta.split()
        if len(fields) == 4 and fields[1] == "blob" and fields[3].isdigit() and int(fields[3]) <= MAX_BYTES:
            out.append(path)
    return out


def file_mentions(text, rel_files):
    """aider's `get_file_mentions` with nothing in the chat."""
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in text.split()}
    mentioned = set()
    by_name = defaultdict(list)
    for rel in rel_files:
        if rel in words:
            mentioned.add(rel)
        name = os.path.basename(rel)
        if any(c in name for c in "/\\._-"):
            by_name[name].append(rel)
    for name, rels in by_name.items():
        if len(rels) == 1 and name in words:
            mentioned.add(rels[0])
    return mentioned


def ident_filename_matches(idents, rel_files):
    """aider's `get_ident_filename_matches`."""
    stems = defaultdict(set)
    for rel in rel_files:
        stem = Path(rel).stem.lower()
        if len(stem) >= 5:
            stems[stem].add(rel)
    out = set()
    for ident in idents:
        if len(ident) >= 5:
            out.update(stems[ident.lower()])
    return out


def shown_files(text, rel_files):
    known = set(rel_files)
    shown = []
    for line in text.splitlines():
        if not line or line[0] in "│⋮":
            continue
        path = line.rstrip(":").strip()
        if path in known and path not in shown:
            shown.append(path)
    return shown


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cases")
    p.add_argument("out")
    p.add_argument("--mirrors", default=os.path.expanduser("~/.cache/aidx/replay-mirrors"))
    p.add_argument("--tokens", type=int, default=1024)
    a = p.parse_args()
    cases = [json.loads(line) for line in open(a.cases) if line.strip()]
    work_root = os.path.join(os.path.dirname(os.path.abspath(a.out)), "aider-work")
    model, io = Model(), IO()
    maps = {}
    with open(a.out, "w") as out:
        for case in cases:
            repo = case["repo"]
            git_dir = os.path.join(a.mirrors, repo + ".git")
            work = os.path.join(work_root, repo)
            checkout(git_dir, work, os.path.join(work_root, repo + ".index"), case["parent"])
            rel_files = tree_files(git_dir, case["parent"])
            if repo not in maps:
                maps[repo] = RepoMap(
                    map_tokens=a.tokens, root=work, main_model=model, io=io, refresh="always"
                )
            rm = maps[repo]
            text = case["request"]
            fnames = file_mentions(text, rel_files)
            idents = set(re.split(r"\W+", text))
            fnames.update(ident_filename_matches(idents, rel_files))
            abs_files = [os.path.join(work, f) for f in rel_files]
            start = time.perf_counter()
            result = rm.get_repo_map(
                set(), abs_files, mentioned_fnames=fnames, mentioned_idents=idents
            ) or ""
            took = time.perf_counter() - start
            record = {
                "repo": repo,
                "commit": case["commit"],
                "shown": shown_files(result, rel_files),
                "tokens": model.token_count(result),
                "ms": round(took * 1000, 1),
            }
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(f"{repo} {case['commit'][:8]} {len(record['shown'])} files {record['ms']:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
