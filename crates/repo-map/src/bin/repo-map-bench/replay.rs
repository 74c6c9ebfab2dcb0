//! Commit replay: does the map hold the files a real change touched?
//!
//! For each repository in the list (`name url commit language` per line), commits are taken from
//! the pinned commit backwards: one parent, not a merge, 1–3 existing non-test source files
//! modified (and no source file added, deleted or renamed), and a subject that describes a change
//! (not a version bump, typo, CI, formatting or docs commit). Each case checks out the parent's
//! tree, asks the map for the subject (the request a user would type) within the token budget, and
//! records which of the touched files the map shows, where the first one ranks, the tokens used and
//! the time. Two baselines run on the same tree and show as many files as the map did: files whose
//! path shares a word with the request, and the largest files. `--anchor FILE` adds another tool's
//! results on the same cases (aider's RepoMap, from `bench/aider_replay.py`). The map gets the
//! last `--history N` commits up to the parent (default 500; 0 for none), as a session gets them up
//! to HEAD.
//!
//! Nothing after the parent commit reaches the map: the tree is the parent's, and the map reads
//! nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aidx_repo_map::{
    DEFAULT_HISTORY_COMMITS, HistoryReader, Lang, MapOptions, RepoMap, split_identifier,
};
use serde::{Deserialize, Serialize};

/// One repository of the benchmark.
#[derive(Clone, Debug)]
struct RepoSpec {
    name: String,
    commit: String,
    language: String,
}

/// One replayed commit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    pub repo: String,
    pub commit: String,
    pub parent: String,
    /// The commit's subject without a trailing pull-request number: the request.
    pub request: String,
    /// The non-test source files the commit modified.
    pub touched: Vec<String>,
}

/// What one tool showed for one case.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Shown {
    /// Files the map (or baseline) shows, in its order.
    pub shown: Vec<String>,
    /// 1-based rank of the first touched file in the tool's full ranking, when it ranks one.
    #[serde(default)]
    pub first_rank: Option<usize>,
    #[serde(default)]
    pub tokens: usize,
    #[serde(default)]
    pub ms: f64,
}

/// One case's results for every tool.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CaseResult {
    #[serde(flatten)]
    case: Case,
    aidx: Shown,
    path_words: Shown,
    largest: Shown,
}

/// Another tool's result on a case, as `bench/aider_replay.py` writes it (one JSON object a line).
#[derive(Clone, Debug, Deserialize)]
struct AnchorResult {
    repo: String,
    commit: String,
    #[serde(flatten)]
    shown: Shown,
}

struct Options {
    repos: PathBuf,
    mirrors: PathBuf,
    out: PathBuf,
    per_repo: usize,
    skip: usize,
    tokens: usize,
    anchor: Option<PathBuf>,
    only: Option<String>,
    /// Commits of history the map gets (0: none).
    history: usize,
    /// `MapOptions::max_lines_per_file` (0: no limit; default: the library's).
    lines_per_file: usize,
}

pub fn replay(args: &[String]) -> Result<(), String> {
    let mut options = Options {
        repos: PathBuf::from("crates/repo-map/bench/replay-repos.txt"),
        mirrors: PathBuf::new(),
        out: PathBuf::new(),
        per_repo: 32,
        skip: 0,
        tokens: 1024,
        anchor: None,
        only: None,
        history: DEFAULT_HISTORY_COMMITS,
        lines_per_file: aidx_repo_map::DEFAULT_MAX_LINES_PER_FILE,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .clone();
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} must be a number: {e}"))
        };
        match flag.as_str() {
            "--repos" => options.repos = value.clone().into(),
            "--mirrors" => options.mirrors = value.clone().into(),
            "--out" => options.out = value.clone().into(),
            "--per-repo" => options.per_repo = number()?,
            "--skip" => options.skip = number()?,
            "--tokens" => options.tokens = number()?,
            "--anchor" => options.anchor = Some(value.clone().into()),
            "--only" => options.only = Some(value.clone()),
            "--history" => options.history = number()?,
            "--lines-per-file" => options.lines_per_file = number()?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if options.mirrors.as_os_str().is_empty() || options.out.as_os_str().is_empty() {
        return Err("replay needs --mirrors DIR (bare clones, NAME.git) and --out DIR".into());
    }
    std::fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;
    let specs = read_specs(&options.repos)?;
    let mut results: Vec<CaseResult> = Vec::new();
    let mut languages: BTreeMap<String, String> = BTreeMap::new();
    for spec in &specs {
        if options.only.as_ref().is_some_and(|only| only != &spec.name) {
            continue;
        }
        languages.insert(spec.name.clone(), spec.language.clone());
        let git_dir = options.mirrors.join(format!("{}.git", spec.name));
        if !git_dir.exists() {
            return Err(format!(
                "{} is missing: run crates/repo-map/bench/replay-fetch.sh {}",
                git_dir.display(),
                options.mirrors.display()
            ));
        }
        let cases = select_cases(&git_dir, spec, options.skip, options.per_repo)?;
        eprintln!("replay: {}: {} cases", spec.name, cases.len());
        results.extend(run_repo(&git_dir, spec, &cases, &options)?);
    }
    let mut lines = String::new();
    for r in &results {
        lines.push_str(&serde_json::to_string(r).map_err(|e| e.to_string())?);
        lines.push('\n');
    }
    let cases_path = options.out.join("aidx.jsonl");
    std::fs::write(&cases_path, lines).map_err(|e| format!("{}: {e}", cases_path.display()))?;
    let anchor = match &options.anchor {
        Some(path) => Some(read_anchor(path)?),
        None => None,
    };
    print!("{}", table(&results, anchor.as_ref(), &languages));
    eprintln!("replay: cases and results in {}", cases_path.display());
    Ok(())
}

fn read_specs(path: &Path) -> Result<Vec<RepoSpec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut specs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, _url, commit, language] = fields[..] else {
            return Err(format!(
                "{}:{}: expected `name url commit language`",
                path.display(),
                n + 1
            ));
        };
        specs.push(RepoSpec {
            name: name.into(),
            commit: commit.into(),
            language: language.into(),
        });
    }
    Ok(specs)
}

fn git(git_dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a path is test, example, benchmark, fixture, packaging or build-output code rather than
/// the project's source.
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let dirs = &parts[..parts.len() - 1];
    let name = parts[parts.len() - 1];
    let test_dir = |d: &&str| {
        matches!(
            *d,
            "test"
                | "tests"
                | "testing"
                | "testdata"
                | "spec"
                | "specs"
                | "__tests__"
                | "fixtures"
                | "examples"
                | "example"
                | "benches"
                | "bench"
                | "benchmarks"
                | "docs"
                | "doc"
                | "pkg"
                | "packaging"
                | "dist"
                | "build"
                | "vendor"
                | "third_party"
                | "node_modules"
                | ".github"
                | "ci"
        )
    };
    let stem = name.split('.').next().unwrap_or(name);
    dirs.iter().any(test_dir)
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "tests"
        || stem == "test"
        || name.contains(".test.")
        || name.contains(".spec.")
        || stem == "conftest"
}

/// Whether the map reads this path (a language it parses).
fn is_source(path: &str) -> bool {
    Lang::from_path(Path::new(path)).is_some()
}

/// Whether a commit subject asks for a change a Researcher could act on.
pub fn descriptive(subject: &str) -> bool {
    let lower = subject.to_ascii_lowercase();
    const NOT: &[&str] = &[
        "typo",
        "changelog",
        "readme",
        "bump",
        "release",
        "version",
        "ci:",
        "ci(",
        "ci/",
        "docs",
        "doc:",
        "doc(",
        "rustfmt",
        "cargo fmt",
        "clippy",
        "format",
        "lint",
        "whitespace",
        "copyright",
        "license",
        "dependabot",
        "dependencies",
        "deps",
        "revert",
        "merge",
        "wip",
        "style:",
        "chore",
        "spelling",
    ];
    if NOT.iter().any(|w| lower.contains(w)) {
        return false;
    }
    let words = lower
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count();
    words >= 3
}

/// The request for a subject: without a trailing pull-request number (`(#123)`).
fn request_of(subject: &str) -> String {
    let s = subject.trim();
    if let Some(open) = s.rfind(" (#")
        && s.ends_with(')')
        && s[open + 3..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        return s[..open].trim().to_string();
    }
    s.to_string()
}

/// The newest `limit` qualifying commits reachable from the spec's commit, after the newest `skip`
/// (a held-out set: cases nobody looked at while changing the ranking).
fn select_cases(
    git_dir: &Path,
    spec: &RepoSpec,
    skip: usize,
    limit: usize,
) -> Result<Vec<Case>, String> {
    let mut skipped = 0;
    let log = git(
        git_dir,
        &[
            "log",
            "--no-merges",
            "--no-renames",
            "--format=%x01%H %P%x02%s",
            "--name-status",
            "-n",
            "4000",
            &spec.commit,
        ],
    )?;
    let mut cases = Vec::new();
    for record in log.split('\x01').skip(1) {
        let Some((header, rest)) = record.split_once('\x02') else {
            continue;
        };
        let ids: Vec<&str> = header.split_whitespace().collect();
        if ids.len() != 2 {
            continue;
        }
        let mut lines = rest.lines();
        let subject = lines.next().unwrap_or("");
        if !descriptive(subject) {
            continue;
        }
        let mut touched = Vec::new();
        let mut ok = true;
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let mut fields = line.split('\t');
            let status = fields.next().unwrap_or("");
            let path = fields.next_back().unwrap_or("");
            if !is_source(path) {
                continue;
            }
            if is_test_path(path) {
                continue;
            }
            if status != "M" {
                ok = false;
                break;
            }
            touched.push(path.to_string());
        }
        if !ok || touched.is_empty() || touched.len() > 3 {
            continue;
        }
        if skipped < skip {
            skipped += 1;
            continue;
        }
        cases.push(Case {
            repo: spec.name.clone(),
            commit: ids[0].to_string(),
            parent: ids[1].to_string(),
            request: request_of(subject),
            touched,
        });
        if cases.len() == limit {
            break;
        }
    }
    Ok(cases)
}

/// A tracked file and its size in the parent tree.
struct TreeFile {
    path: String,
    size: u64,
}

fn tree_files(git_dir: &Path, commit: &str, max_bytes: u64) -> Result<Vec<TreeFile>, String> {
    let listing = git(git_dir, &["ls-tree", "-r", "-l", commit])?;
    let mut files = Vec::new();
    for line in listing.lines() {
        // `<mode> blob <id> <size>\t<path>`
        let Some((meta, path)) = line.split_once('\t') else {
            continue;
        };
        let size = meta
            .split_whitespace()
            .nth(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if is_source(path) && size <= max_bytes {
            files.push(TreeFile {
                path: path.to_string(),
                size,
            });
        }
    }
    Ok(files)
}

/// Puts `commit`'s tree in `work`, removing what the previous checkout had and this one lacks.
fn checkout(git_dir: &Path, work: &Path, index: &Path, commit: &str) -> Result<(), String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .arg("--work-tree")
        .arg(work)
        .env("GIT_INDEX_FILE", index)
        .args(["read-tree", "--reset", "-u", commit])
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git read-tree {commit}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn run_repo(
    git_dir: &Path,
    spec: &RepoSpec,
    cases: &[Case],
    options: &Options,
) -> Result<Vec<CaseResult>, String> {
    let work = options.out.join("work").join(&spec.name);
    let index = options
        .out
        .join("work")
        .join(format!("{}.index", spec.name));
    let cache = options.out.join("cache").join(&spec.name);
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_file(&index);
    let _ = std::fs::remove_dir_all(&cache);
    let map_options = MapOptions {
        map_tokens: options.tokens,
        max_lines_per_file: options.lines_per_file,
        cache_dir: Some(cache),
        ..MapOptions::default()
    };
    let max_bytes = map_options.max_file_bytes;
    let mut map: Option<RepoMap> = None;
    let mut reader =
        HistoryReader::open(git_dir).map_err(|e| format!("{}: {e}", git_dir.display()))?;
    let mut results = Vec::new();
    for case in cases {
        checkout(git_dir, &work, &index, &case.parent)?;
        let map = match &mut map {
            Some(map) => map,
            None => {
                map.insert(RepoMap::new(&work, map_options.clone()).map_err(|e| e.to_string())?)
            }
        };
        // Timed from here: a session reads the history (new commits only) and maps per request.
        let started = Instant::now();
        // History up to the parent: nothing from the replayed commit or later.
        let history = match options.history {
            0 => None,
            n => Some(
                reader
                    .history(&case.parent, n)
                    .map_err(|e| format!("{}: {e}", case.parent))?,
            ),
        };
        map.set_history(history);
        let research = map
            .research(&case.request, &[], &[])
            .map_err(|e| format!("{}: {e}", case.commit))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let first_rank = research
            .files
            .iter()
            .position(|f| case.touched.contains(&f.path))
            .map(|p| p + 1);
        let aidx = Shown {
            shown: research.shown.clone(),
            first_rank,
            tokens: research.tokens,
            ms,
        };
        let files = tree_files(git_dir, &case.parent, max_bytes)?;
        let k = aidx.shown.len();
        let path_words = Shown {
            shown: path_word_ranking(&case.request, &files)
                .into_iter()
                .take(k)
                .collect(),
            ..Shown::default()
        };
        let mut by_size: Vec<&TreeFile> = files.iter().collect();
        by_size.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
        let largest = Shown {
            shown: by_size.iter().take(k).map(|f| f.path.clone()).collect(),
            ..Shown::default()
        };
        results.push(CaseResult {
            case: case.clone(),
            aidx,
            path_words,
            largest,
        });
    }
    Ok(results)
}

const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "with", "when", "from", "into", "that", "this", "not", "are", "was",
    "use", "add", "fix", "make", "don", "should", "can", "all", "its", "out", "new", "more",
    "some", "also", "now", "but", "only", "instead", "than", "via", "per", "support", "allow",
    "remove", "update", "improve", "handle", "avoid", "change",
];

/// Lowercase words of a text or path, split the way code names things, with a plural `s` dropped.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .flat_map(split_identifier)
        .filter(|w| w.len() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// Files whose path shares a word with the request, most shared words first, then shortest path.
fn path_word_ranking(request: &str, files: &[TreeFile]) -> Vec<String> {
    let wanted = words(request);
    let mut scored: Vec<(usize, &str)> = files
        .iter()
        .filter(|f| !is_test_path(&f.path))
        .map(|f| {
            (
                words(&f.path).intersection(&wanted).count(),
                f.path.as_str(),
            )
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.len().cmp(&b.1.len()))
            .then(a.1.cmp(b.1))
    });
    scored.into_iter().map(|(_, p)| p.to_string()).collect()
}

fn read_anchor(path: &Path) -> Result<HashMap<(String, String), Shown>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: AnchorResult =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        out.insert((r.repo, r.commit), r.shown);
    }
    Ok(out)
}

/// Recall, hit@any and the median first rank of one tool over some cases.
#[derive(Default)]
struct Score {
    cases: usize,
    recall: f64,
    hits: usize,
    ranks: Vec<usize>,
    tokens: Vec<usize>,
    ms: Vec<f64>,
}

impl Score {
    fn add(&mut self, touched: &[String], shown: &Shown) {
        let found = touched.iter().filter(|t| shown.shown.contains(t)).count();
        self.cases += 1;
        self.recall += found as f64 / touched.len() as f64;
        self.hits += usize::from(found > 0);
        self.ranks.push(shown.first_rank.unwrap_or(usize::MAX));
        self.tokens.push(shown.tokens);
        self.ms.push(shown.ms);
    }

    fn recall(&self) -> String {
        format!("{:.2}", self.recall / self.cases.max(1) as f64)
    }

    fn hit(&self) -> String {
        format!("{:.2}", self.hits as f64 / self.cases.max(1) as f64)
    }

    fn median_rank(&self) -> String {
        let mut r = self.ranks.clone();
        r.sort_unstable();
        match r.get(r.len() / 2) {
            Some(&usize::MAX) => ">200".into(),
            Some(v) => v.to_string(),
            None => "–".into(),
        }
    }

    fn median_tokens(&self) -> String {
        let mut t = self.tokens.clone();
        t.sort_unstable();
        t.get(t.len() / 2).map_or("–".into(), |v| v.to_string())
    }

    fn median_ms(&self) -> String {
        let mut t = self.ms.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).map_or("–".into(), |v| format!("{v:.0}"))
    }
}

fn table(
    results: &[CaseResult],
    anchor: Option<&HashMap<(String, String), Shown>>,
    languages: &BTreeMap<String, String>,
) -> String {
    let mut groups: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        groups.entry(r.case.repo.clone()).or_default().push(r);
    }
    let mut rows: Vec<(String, Vec<&CaseResult>)> = groups.into_iter().collect();
    rows.push(("**all**".into(), results.iter().collect()));
    let mut out = String::from(
        "| repository | cases | aidx recall | aidx hit@any | aidx first rank (median) | aidx tokens (median) | aidx ms (median) | aider recall | aider hit@any | aider ms (median) | path words recall | path words hit@any | largest recall | largest hit@any |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, cases) in rows {
        let (mut aidx, mut paths, mut largest, mut aider) = (
            Score::default(),
            Score::default(),
            Score::default(),
            Score::default(),
        );
        for r in &cases {
            aidx.add(&r.case.touched, &r.aidx);
            paths.add(&r.case.touched, &r.path_words);
            largest.add(&r.case.touched, &r.largest);
            if let Some(a) =
                anchor.and_then(|a| a.get(&(r.case.repo.clone(), r.case.commit.clone())))
            {
                aider.add(&r.case.touched, a);
            }
        }
        let label = match languages.get(&name) {
            Some(lang) => format!("{name} ({lang})"),
            None => name,
        };
        let (ar, ah, am) = if aider.cases == cases.len() && aider.cases > 0 {
            (aider.recall(), aider.hit(), aider.median_ms())
        } else {
            ("–".into(), "–".into(), "–".into())
        };
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {ar} | {ah} | {am} | {} | {} | {} | {} |\n",
            cases.len(),
            aidx.recall(),
            aidx.hit(),
            aidx.median_rank(),
            aidx.median_tokens(),
            aidx.median_ms(),
            paths.recall(),
            paths.hit(),
            largest.recall(),
            largest.hit(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths_are_told_apart_from_sources() {
        for path in [
            "tests/cli.rs",
            "src/foo_test.go",
            "lib/__tests__/a.js",
            "test/unit/x.js",
            "tests.rs",
            "src/a.spec.ts",
            "conftest.py",
            "examples/demo.rs",
        ] {
            assert!(is_test_path(path), "{path}");
        }
        for path in [
            "src/lib.rs",
            "crates/printer/src/standard.rs",
            "lib/core/Axios.js",
            "click/testing.py",
        ] {
            assert!(!is_test_path(path), "{path}");
        }
    }

    #[test]
    fn subjects_that_describe_a_change() {
        assert!(descriptive(
            "printer: fix handling of --line-buffered with -o"
        ));
        assert!(!descriptive("Bump version to 1.2"));
        assert!(!descriptive("fix typo in help"));
        assert!(!descriptive("fmt"));
        assert!(!descriptive("docs: explain globs"));
        assert_eq!(
            request_of("Fix header parsing (#6123)"),
            "Fix header parsing"
        );
        assert_eq!(request_of("Fix (#x)"), "Fix (#x)");
    }

    #[test]
    fn path_words_rank_by_shared_words() {
        let files = [
            TreeFile {
                path: "lib/helpers/buildURL.js".into(),
                size: 10,
            },
            TreeFile {
                path: "lib/core/buildFullPath.js".into(),
                size: 10,
            },
            TreeFile {
                path: "lib/adapters/http.js".into(),
                size: 10,
            },
        ];
        let ranked = path_word_ranking("Fix buildURL params for http adapters", &files);
        assert_eq!(ranked[0], "lib/adapters/http.js");
        assert!(ranked.contains(&"lib/helpers/buildURL.js".to_string()));
    }
}
