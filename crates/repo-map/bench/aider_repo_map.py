"""Times aider's RepoMap on a directory, for comparison with `repo-map-bench run`.

Usage: python aider_repo_map.py DIR [--tokens N] [--runs N]

Needs `pip install aider-chat bpe-openai` (a throwaway venv is fine). Runs offline: the model object
only counts tokens (cl100k_base from bpe-openai) and the io object only reads files. Each cold run
deletes aider's tags cache (DIR/.aider.tags.cache.v4) first; warm runs use a new RepoMap object over
the same cache, as a new aider process would. Files: those with the extensions aidx maps.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import time

import bpe_openai
from aider.repomap import RepoMap

EXTENSIONS = {
    ".rs", ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".go",
    ".java", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cs", ".rb",
}


class Model:
    def __init__(self):
        self.enc = bpe_openai.get_encoding("cl100k_base")

    def token_count(self, text):
        return len(self.enc.encode_ordinary(text))


class IO:
    def tool_output(self, *args, **kwargs):
        pass

    def tool_warning(self, *args, **kwargs):
        pass

    def tool_error(self, *args, **kwargs):
        pass

    def read_text(self, fname, silent=False):
        try:
            with open(fname, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError):
            return None


def source_files(root, max_bytes):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if os.path.splitext(name)[1] in EXTENSIONS:
                path = os.path.join(dirpath, name)
                try:
                    if os.path.getsize(path) <= max_bytes:
                        out.append(path)
                except OSError:
                    pass
    return out


def one_run(root, files, tokens, model, io):
    start = time.perf_counter()
    rm = RepoMap(map_tokens=tokens, root=root, main_model=model, io=io, refresh="always")
    text = rm.get_repo_map(chat_files=[], other_files=files) or ""
    return time.perf_counter() - start, model.token_count(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warm-runs", type=int, default=3)
    p.add_argument("--max-file-bytes", type=int, default=1024 * 1024)
    a = p.parse_args()
    root = os.path.abspath(a.root)
    files = source_files(root, a.max_file_bytes)
    model, io = Model(), IO()
    cache = os.path.join(root, RepoMap.TAGS_CACHE_DIR)
    cold, warm = [], []
    for i in range(a.runs):
        shutil.rmtree(cache, ignore_errors=True)
        took, toks = one_run(root, files, a.tokens, model, io)
        print(f"aider cold #{i}: {took * 1000:.0f} ms, {len(files)} files, map {toks} tokens", flush=True)
        cold.append(took)
    for i in range(a.warm_runs):
        took, toks = one_run(root, files, a.tokens, model, io)
        print(f"aider warm #{i}: {took * 1000:.0f} ms, map {toks} tokens", flush=True)
        warm.append(took)
    shutil.rmtree(cache, ignore_errors=True)
    print(json.dumps({
        "root": root,
        "files": len(files),
        "tokens": a.tokens,
        "cold_ms": round(statistics.median(cold) * 1000),
        "cold_files_per_s": round(len(files) / statistics.median(cold)),
        "warm_ms": round(statistics.median(warm) * 1000) if warm else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
