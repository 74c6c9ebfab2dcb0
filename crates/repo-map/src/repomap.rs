//! The Researcher: walks, parses (or reuses the cache), ranks and renders a repository map.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::RepoMapError;
use crate::cache::{self, Index, Interner, LoadProblem, Outcome, RankCache, StoredTags};
use crate::extract::{SkipReason, extract_tags, utf8_skip_reason};
use crate::graph::{Graph, Layout, ident_weight};
use crate::history::History;
use crate::ident::Mentions;
use crate::lexical;
use crate::render::{Candidate, render_within_budget};
use crate::tokens::{Cl100kCounter, TokenCounter};
use crate::walk::{WalkedFile, rel_string, walk};

/// Default token budget of the rendered map.
pub const DEFAULT_MAP_TOKENS: usize = 1024;
/// Default size limit: larger files are skipped.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Default per-file limit on parsing and querying.
pub const DEFAULT_PARSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default number of ranked files returned in [`Research::files`].
pub const DEFAULT_MAX_RANKED_FILES: usize = 200;

/// Options of a [`RepoMap`].
#[derive(Clone)]
pub struct MapOptions {
    /// Hard cap on the rendered map's tokens (as counted by `counter`).
    pub map_tokens: usize,
    /// Files larger than this many bytes are skipped.
    pub max_file_bytes: u64,
    /// Where the cache lives; `None` means `<root>/.aidx/cache`.
    pub cache_dir: Option<PathBuf>,
    /// Whether to read and write the on-disk cache at all.
    pub use_disk_cache: bool,
    /// Per-file limit on tree-sitter work; slower files are skipped with a warning.
    pub parse_timeout: Duration,
    /// Threads for walking and parsing; 0 means one per core.
    pub threads: usize,
    /// How many ranked files [`Research::files`] lists at most.
    pub max_ranked_files: usize,
    /// How many definition lines one file may show at most (0: no limit), which spreads the
    /// budget over more files: [`DEFAULT_MAX_LINES_PER_FILE`] by default, chosen on the
    /// commit-replay benchmark (BENCHMARKS.md).
    pub max_lines_per_file: usize,
    /// The tokenizer that enforces `map_tokens` (the context gate's, so both agree).
    pub counter: Arc<dyn TokenCounter>,
}

/// Definition lines one file shows at most by default. On the commit-replay benchmark's tuning
/// set every cap from 1 to 4 held more of the touched files than no cap (recall 0.97 against
/// 0.95); 4 is the one that keeps the most lines per file.
pub const DEFAULT_MAX_LINES_PER_FILE: usize = 4;

impl Default for MapOptions {
    fn default() -> Self {
        Self {
            map_tokens: DEFAULT_MAP_TOKENS,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            cache_dir: None,
            use_disk_cache: true,
            parse_timeout: DEFAULT_PARSE_TIMEOUT,
            threads: 0,
            max_ranked_files: DEFAULT_MAX_RANKED_FILES,
            max_lines_per_file: DEFAULT_MAX_LINES_PER_FILE,
            counter: Arc::new(Cl100kCounter),
        }
    }
}

impl std::fmt::Debug for MapOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapOptions")
            .field("map_tokens", &self.map_tokens)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("cache_dir", &self.cache_dir)
            .field("use_disk_cache", &self.use_disk_cache)
            .field("parse_timeout", &self.parse_timeout)
            .field("threads", &self.threads)
            .field("max_ranked_files", &self.max_ranked_files)
            .field("max_lines_per_file", &self.max_lines_per_file)
            .finish_non_exhaustive()
    }
}

/// A file and its rank.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankedFile {
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// The score the files are ordered by: the graph's rank, raised by a path match and lowered
    /// for build output (see `signals`).
    pub rank: f64,
    /// Why the file ranks where it does.
    pub signals: FileSignals,
}

/// The signals behind a file's rank, for `aidx map --json` and anyone tuning the ranking.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileSignals {
    /// PageRank over definitions and references, seeded by the request (sums to at most 1).
    pub graph: f64,
    /// Share of the request's words (weighted by rarity) that the file's path carries, 0–1.
    pub path_words: f64,
    /// BM25 of the request's words over the identifiers the file defines and uses, 0–1 (1 for
    /// the best file).
    pub content_words: f64,
    /// How recently and often the file changed in the history the map was given, 0–1.
    pub recency: f64,
    /// How strongly the file changes together with the chat files and the best lexical
    /// matches, 0–1.
    pub co_change: f64,
    /// The request names the file by its path or file name.
    pub named: bool,
    /// Build output or vendored code (`dist/`, `vendor/`, minified), ranked down.
    pub build_output: bool,
    /// Definitions of the file's that the request names (exactly or by all their words).
    pub mentioned_definitions: usize,
}

/// A definition shown in the map, with an id that stays the same while its file's line and text do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChunkRef {
    /// `rm:<path>#L<line>:<8 hex digits of xxh3(path, name, signature)>`.
    pub id: String,
    /// File path relative to the root.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// The defined name.
    pub name: String,
    /// What it defines (`function`, `method`, `type`, `trait`, `constant`, `module`, `macro`).
    pub kind: &'static str,
}

impl ChunkRef {
    fn new(path: &str, line: u32, name: &str, kind: &'static str, signature: &str) -> Self {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for part in [path, name, signature] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        let short = h.digest() >> 32;
        ChunkRef {
            id: format!("rm:{path}#L{line}:{short:08x}"),
            path: path.to_string(),
            line,
            name: name.to_string(),
            kind,
        }
    }
}

/// Counters describing one map build.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MapStats {
    /// Source files in a supported language found by the walk (after ignore rules).
    pub files_seen: usize,
    /// Files parsed by tree-sitter in this run.
    pub files_parsed: usize,
    /// Files whose tags came from the cache.
    pub files_cached: usize,
    /// Files skipped (too large, binary, minified, generated, timed out, unreadable), whether
    /// decided in this run or remembered by the cache. `files_seen` is always
    /// `files_parsed + files_cached + files_skipped`.
    pub files_skipped: usize,
    /// Of those, files that hit the parse time limit.
    pub files_timed_out: usize,
    /// Tags (definitions plus reference occurrences) in the map's input.
    pub tags: usize,
    /// Milliseconds spent walking the tree.
    pub walk_ms: u64,
    /// Milliseconds spent loading the cache, hashing and parsing.
    pub parse_ms: u64,
    /// Milliseconds spent building the graph and ranking.
    pub rank_ms: u64,
    /// Milliseconds spent rendering within the budget.
    pub render_ms: u64,
    /// Whether the ranking came from the cache.
    pub rank_cached: bool,
    /// Whether a damaged or outdated cache file was found and rebuilt.
    pub cache_rebuilt: bool,
}

/// Everything the Researcher found for one request.
#[derive(Clone, Debug, Serialize)]
pub struct Research {
    /// The rendered map: file paths with their ranked signature lines, elided with `⋮`.
    pub map: String,
    /// Tokens in `map` (never more than the budget).
    pub tokens: usize,
    /// Ranked files (chat files excluded), best first: up to [`MapOptions::max_ranked_files`],
    /// more than the map has room for.
    pub files: Vec<RankedFile>,
    /// The files `map` names, in its order (files with lines first, then paths alone).
    pub shown: Vec<String>,
    /// The definitions shown in `map`, best first, with stable ids.
    pub refs: Vec<ChunkRef>,
    /// How the map was built.
    pub stats: MapStats,
}

/// A progress report while a cold build parses files.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Files parsed so far.
    pub done: usize,
    /// Files to parse in this run.
    pub total: usize,
}

type ProgressFn = dyn Fn(Progress) + Send + Sync;

/// What stays in memory between requests.
#[derive(Default)]
struct State {
    index: Option<Index>,
    ranks: Option<RankCache>,
    /// The index changed since it was last written.
    index_dirty: bool,
    /// The ranking cache changed since it was last written.
    ranks_dirty: bool,
    /// The last ranking and the layout it ranks, to start the next ranking from.
    last_rank: Option<LastRank>,
    /// Recent commits, when the caller set them (see [`RepoMap::set_history`]).
    history: Option<Arc<History>>,
    /// Files the user is changing now (uncommitted), relative to the root.
    working: Vec<String>,
}

/// A ranking kept in memory between requests.
struct LastRank {
    /// Hash of the request, chat files and mentioned names it was seeded with.
    seeds: u64,
    /// [`Index::generation`] when it was computed.
    generation: u64,
    layout: Layout,
    ranks: Vec<f64>,
}

/// Personalization of the file whose path best matches the request's words (a file in the chat
/// or named by its path gets 1).
const PATH_MATCH_WEIGHT: f64 = 1.0;
/// How much recent change counts against the lexical match (a prior: it seeds, it does not lead).
const RECENCY_WEIGHT: f64 = 0.3;
/// How much changing together with the request's files counts against the lexical match.
const CO_CHANGE_WEIGHT: f64 = 0.5;
/// Files whose lexical match is at least this seed the co-change signal.
const CO_CHANGE_SEED_MATCH: f64 = 0.5;
/// How strongly a file the user is changing seeds the co-change signal (a chat file seeds 1):
/// the user's work says what is in play, but less surely than the files they added.
const WORKING_SEED: f64 = 0.5;
/// How much the identifier words (BM25) count against the path's words.
const CONTENT_WEIGHT: f64 = 0.5;
/// How much of the best definition's score a definition in the best-matching path gains.
const PATH_MATCH_DEF_WEIGHT: f64 = 1.0;
/// Scale of the scores of build output and vendored files (see [`lexical::is_build_output`]).
const DEMOTED_FACTOR: f64 = 0.05;

/// Runs that parse more files than this write the cache at once; smaller updates are written by
/// [`RepoMap::flush`] or when the map is dropped, keeping single-file updates off the disk path.
const SAVE_NOW_AFTER_PARSING: usize = 256;

/// A repository map over one directory. Cheap to keep around: the parsed index and recent rankings
/// stay in memory between [`RepoMap::research`] calls, and on disk between processes.
pub struct RepoMap {
    root: PathBuf,
    options: MapOptions,
    state: Mutex<State>,
    progress: Option<Box<ProgressFn>>,
}

impl std::fmt::Debug for RepoMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoMap")
            .field("root", &self.root)
            .field("options", &self.options)
            .finish()
    }
}

impl RepoMap {
    /// A map of the directory `root` (inside a git repository or not).
    pub fn new(root: impl Into<PathBuf>, options: MapOptions) -> Result<Self, RepoMapError> {
        let root = root.into();
        let root = root
            .canonicalize()
            .and_then(|r| {
                if r.is_dir() {
                    Ok(r)
                } else {
                    Err(std::io::Error::other("not a directory"))
                }
            })
            .map_err(|source| RepoMapError::Root {
                path: root.clone(),
                source,
            })?;
        Ok(Self {
            root,
            options,
            state: Mutex::new(State::default()),
            progress: None,
        })
    }

    /// Calls `report` as files are parsed (from worker threads), for progress bars.
    pub fn with_progress(mut self, report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The options in use.
    pub fn options(&self) -> &MapOptions {
        &self.options
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        self.options
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.root.join(".aidx").join("cache"))
    }

    /// Builds the map for a request.
    ///
    /// `chat_files` (absolute or relative to the root) seed the ranking and are left out of the map,
    /// since they are already in the chat. Identifiers in `request` (split at camelCase and
    /// snake_case) and in `mentioned`, and file names that appear in `request`, seed it too.
    pub fn research(
        &self,
        request: &str,
        chat_files: &[PathBuf],
        mentioned: &[String],
    ) -> Result<Research, RepoMapError> {
        self.research_with_budget(request, chat_files, mentioned, self.options.map_tokens)
    }

    /// [`RepoMap::research`] with another token budget than [`MapOptions::map_tokens`] (for example a
    /// larger one while no file is in the chat yet).
    pub fn research_with_budget(
        &self,
        request: &str,
        chat_files: &[PathBuf],
        mentioned: &[String],
        map_tokens: usize,
    ) -> Result<Research, RepoMapError> {
        let mut stats = MapStats::default();
        let threads = if self.options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.options.threads
        };

        let started = Instant::now();
        let walked = walk(&self.root, self.options.max_file_bytes, threads);
        stats.walk_ms = started.elapsed().as_millis() as u64;
        stats.files_seen = walked.files.len() + walked.too_large.len();
        stats.files_skipped = walked.too_large.len();

        let started = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut index = match state.index.take() {
            Some(index) => index,
            None => self.load_index(&mut stats),
        };
        let checked_at = now_ns();
        let changed = self.refresh(&mut index, &walked.files, threads, &mut stats)?;
        if changed {
            // Metadata was read before this instant; mtimes near it are checked by content next time.
            index.written_at_ns = checked_at;
            state.index_dirty = true;
        }
        if state.index_dirty && stats.files_parsed > SAVE_NOW_AFTER_PARSING {
            self.save_index(&mut index, &mut state);
        }
        stats.parse_ms = started.elapsed().as_millis() as u64;

        let research = self.rank_and_render(
            &index, &mut state, request, chat_files, mentioned, map_tokens, stats,
        );
        state.index = Some(index);
        Ok(research)
    }

    /// Sets the recent history the ranking uses (files changed recently and often rank up, and
    /// so do files that change together with those the request is about); `None` ranks without
    /// it. Callers refresh it when HEAD moves.
    pub fn set_history(&self, history: Option<History>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.history = history.map(Arc::new);
    }

    /// Files the user is changing now (uncommitted, relative to the root): they count as the
    /// most recent change and seed the co-change signal, so the files that usually change with
    /// the user's work rank up. An empty list clears them.
    pub fn set_working_files(&self, files: Vec<String>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.working = files;
    }

    /// Writes pending cache updates to disk (also done when the map is dropped).
    pub fn flush(&self) -> Result<(), RepoMapError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        if !self.options.use_disk_cache {
            return Ok(());
        }
        if state.index_dirty
            && let Some(index) = state.index.as_mut()
        {
            index.compact_if_sparse();
            cache::save(&self.cache_dir().join(cache::TAGS_FILE), index)?;
            state.index_dirty = false;
        }
        if state.ranks_dirty
            && let Some(ranks) = &state.ranks
        {
            cache::save(&self.cache_dir().join(cache::RANKS_FILE), ranks)?;
            state.ranks_dirty = false;
        }
        Ok(())
    }

    fn save_index(&self, index: &mut Index, state: &mut State) {
        if !self.options.use_disk_cache {
            return;
        }
        index.compact_if_sparse();
        match cache::save(&self.cache_dir().join(cache::TAGS_FILE), index) {
            Ok(()) => state.index_dirty = false,
            Err(e) => tracing::warn!("{e}"),
        }
    }

    fn load_index(&self, stats: &mut MapStats) -> Index {
        if !self.options.use_disk_cache {
            return Index::default();
        }
        let path = self.cache_dir().join(cache::TAGS_FILE);
        match cache::load::<Index>(&path) {
            Ok(index) => index,
            Err(LoadProblem::Missing) => Index::default(),
            Err(LoadProblem::Invalid(why)) => {
                tracing::warn!("repo-map cache {} is {why}; rebuilding it", path.display());
                stats.cache_rebuilt = true;
                Index::default()
            }
        }
    }

    /// Brings `index` up to date with the walk; returns whether anything changed.
    fn refresh(
        &self,
        index: &mut Index,
        files: &[WalkedFile],
        threads: usize,
        stats: &mut MapStats,
    ) -> Result<bool, RepoMapError> {
        let limit_ms = self.options.parse_timeout.as_millis() as u64;
        let racy_after = index.written_at_ns.saturating_sub(cache::RACY_WINDOW_NS);
        // The walk and the index are both sorted by path: one merge pass finds new, changed and
        // deleted files without a lookup per file.
        let mut to_check: Vec<&WalkedFile> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        let mut walked = files.iter().peekable();
        for (path, entry) in &index.files {
            while let Some(file) = walked.next_if(|f| f.rel < *path) {
                to_check.push(file);
            }
            match walked.next_if(|f| f.rel == *path) {
                Some(file) => {
                    let trusted = entry.size == file.size
                        && entry.mtime_ns == file.mtime_ns
                        && file.mtime_ns != 0
                        && file.mtime_ns < racy_after
                        && !retry_timeout(&entry.outcome, limit_ms);
                    if !trusted {
                        to_check.push(file);
                    }
                }
                None => gone.push(path.clone()),
            }
        }
        to_check.extend(walked);
        let mut changed = !gone.is_empty();
        for path in gone {
            index.files.remove(&path);
        }

        if !to_check.is_empty() {
            let done = std::sync::atomic::AtomicUsize::new(0);
            let total = to_check.len();
            let timeout = self.options.parse_timeout;
            let old = &index.files;
            let check = |file: &&WalkedFile| {
                let r = check_file(file, old.get(&file.rel), timeout, limit_ms);
                if let Some(report) = &self.progress {
                    let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    report(Progress { done, total });
                }
                r
            };
            // A single file (the common edit) is checked here rather than on a new thread pool.
            let results: Vec<Checked> = if total == 1 {
                to_check.iter().map(check).collect()
            } else {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| RepoMapError::Threads {
                        threads,
                        message: e.to_string(),
                    })?;
                pool.install(|| to_check.par_iter().map(check).collect())
            };
            for (file, checked) in to_check.iter().zip(results) {
                changed |= !matches!(checked, Checked::Same { .. });
                match checked {
                    Checked::Same { content_hash } => {
                        if let Some(entry) = index.files.get_mut(&file.rel) {
                            // Re-save once a racy entry has aged, so later runs trust its mtime.
                            changed |= entry.size != file.size
                                || entry.mtime_ns != file.mtime_ns
                                || now_ns().saturating_sub(file.mtime_ns) > cache::RACY_WINDOW_NS;
                            entry.size = file.size;
                            entry.mtime_ns = file.mtime_ns;
                            entry.content_hash = content_hash;
                        }
                    }
                    Checked::Parsed {
                        content_hash,
                        tags_hash,
                        mut stored,
                        names,
                    } => {
                        stats.files_parsed += 1;
                        stored.reintern(&names, &mut index.idents);
                        index.files.insert(
                            file.rel.clone(),
                            cache::FileEntry {
                                size: file.size,
                                mtime_ns: file.mtime_ns,
                                content_hash,
                                tags_hash,
                                outcome: Outcome::Parsed(stored),
                            },
                        );
                    }
                    Checked::Skipped {
                        content_hash,
                        reason,
                    } => {
                        if reason == SkipReason::TimedOut {
                            tracing::warn!(
                                "skipping {}: tree-sitter took longer than {} ms",
                                file.rel,
                                limit_ms
                            );
                        } else {
                            tracing::debug!("skipping {}: {}", file.rel, reason.as_str());
                        }
                        index.files.insert(
                            file.rel.clone(),
                            cache::FileEntry {
                                size: file.size,
                                mtime_ns: file.mtime_ns,
                                content_hash,
                                tags_hash: 0,
                                outcome: Outcome::Skipped { reason, limit_ms },
                            },
                        );
                    }
                }
            }
        }
        let too_large = stats.files_skipped;
        for entry in index.files.values() {
            match &entry.outcome {
                Outcome::Parsed(t) => stats.tags += t.tag_count as usize,
                Outcome::Skipped { reason, .. } => {
                    stats.files_skipped += 1;
                    if *reason == SkipReason::TimedOut {
                        stats.files_timed_out += 1;
                    }
                }
            }
        }
        // Every walked file is parsed, cached or skipped: seen = parsed + cached + skipped.
        stats.files_cached =
            index.files.len() - stats.files_parsed - (stats.files_skipped - too_large);
        Ok(changed)
    }

    #[allow(clippy::too_many_arguments)]
    fn rank_and_render(
        &self,
        index: &Index,
        state: &mut State,
        request: &str,
        chat_files: &[PathBuf],
        mentioned: &[String],
        map_tokens: usize,
        mut stats: MapStats,
    ) -> Research {
        let started = Instant::now();
        let seeds = {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(request.as_bytes());
            for p in chat_files {
                h.update(&[0]);
                h.update(p.as_os_str().as_encoded_bytes());
            }
            for m in mentioned {
                h.update(&[1]);
                h.update(m.as_bytes());
            }
            h.digest()
        };
        let layout = Layout::new(index);
        // Layout files are sorted by path.
        let chat: BTreeSet<usize> = chat_files
            .iter()
            .filter_map(|p| self.relative(p))
            .filter_map(|rel| layout.files.binary_search(&rel).ok())
            .collect();
        // How specifically each defined name is mentioned, scaled so the best match is 1: a name
        // mentioned as written seeds the ranking more than names that only share its words.
        let mentions = Mentions::new(request, mentioned);
        let mut mention_of: Vec<f64> = vec![0.0; index.idents.len()];
        if !mentions.is_empty() {
            for (i, m) in mention_of.iter_mut().enumerate() {
                if layout.definers[i] > 0 {
                    *m = f64::from(mentions.strength(index.idents.get(i as u32)).unwrap_or(0));
                }
            }
            let best = mention_of.iter().copied().fold(0.0, f64::max);
            if best > 0.0 {
                mention_of.iter_mut().for_each(|m| *m /= best);
            }
        }
        let mentioned_files: BTreeSet<usize> = layout
            .files
            .iter()
            .enumerate()
            .filter(|(_, path)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                request.contains(path.as_str())
                    || (name.contains('.') && contains_word(request, name))
            })
            .map(|(i, _)| i)
            .collect();

        // Lexical signals (see `lexical`): the request's words in paths seed the ranking; build
        // output and vendored copies are kept from leading it unless the request names them.
        let path_words = {
            let paths: Vec<&str> = layout.files.iter().map(String::as_str).collect();
            lexical::path_scores(request, &paths)
        };
        let content = {
            let tags: Vec<&StoredTags> = index
                .files
                .values()
                .filter_map(|e| match &e.outcome {
                    Outcome::Parsed(tags) => Some(tags),
                    _ => None,
                })
                .collect();
            lexical::content_scores(request, &index.idents, &tags)
        };
        let lexical_match: Vec<f64> = path_words
            .iter()
            .zip(&content)
            .map(|(&p, &c)| p.max(CONTENT_WEIGHT * c))
            .collect();
        // History: recently and often changed files, and files that change together with the
        // chat files and the files the request's words match best.
        // The user's uncommitted files count as changed just now, and seed co-change.
        let working: BTreeSet<usize> = state
            .working
            .iter()
            .filter_map(|rel| layout.files.binary_search(rel).ok())
            .collect();
        let (mut recency, co_change) = match &state.history {
            Some(history) if !history.is_empty() => {
                let paths: Vec<&str> = layout.files.iter().map(String::as_str).collect();
                let mut seeds: Vec<(&str, f64)> = chat.iter().map(|&f| (paths[f], 1.0)).collect();
                seeds.extend(
                    lexical_match
                        .iter()
                        .enumerate()
                        .filter(|(f, m)| **m >= CO_CHANGE_SEED_MATCH && !chat.contains(f))
                        .map(|(f, &m)| (paths[f], m)),
                );
                seeds.extend(
                    working
                        .iter()
                        .filter(|f| !chat.contains(f))
                        .map(|&f| (paths[f], WORKING_SEED)),
                );
                (history.recency(&paths), history.co_change(&paths, &seeds))
            }
            _ => (vec![0.0; layout.files.len()], vec![0.0; layout.files.len()]),
        };
        for &f in &working {
            recency[f] = 1.0;
        }
        let path_match: Vec<f64> = (0..layout.files.len())
            .map(|f| {
                lexical_match[f]
                    .max(RECENCY_WEIGHT * recency[f])
                    .max(CO_CHANGE_WEIGHT * co_change[f])
            })
            .collect();
        let demoted: Vec<bool> = layout
            .files
            .iter()
            .enumerate()
            .map(|(f, p)| lexical::is_build_output(p) && !mentioned_files.contains(&f))
            .collect();

        let n = layout.node_count();
        let mut personal = vec![0.0f64; n];
        for &f in chat.iter().chain(&mentioned_files) {
            personal[f] = 1.0;
        }
        for (f, &m) in path_match.iter().enumerate() {
            if !demoted[f] {
                personal[f] = personal[f].max(PATH_MATCH_WEIGHT * m);
            }
        }
        for (i, &m) in mention_of.iter().enumerate().filter(|(_, m)| **m > 0.0) {
            personal[layout.ident_node(i as u32)] = m;
        }
        let mut file_node = 0usize;
        for entry in index.files.values() {
            let Outcome::Parsed(tags) = &entry.outcome else {
                continue;
            };
            let strongest = tags
                .defs
                .iter()
                .map(|d| mention_of[d.ident as usize])
                .fold(0.0, f64::max);
            personal[file_node] = personal[file_node].max(strongest);
            file_node += 1;
        }

        let key = {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for (path, entry) in &index.files {
                h.update(path.as_bytes());
                h.update(&entry.tags_hash.to_le_bytes());
            }
            for (i, w) in personal.iter().enumerate().filter(|(_, w)| **w != 0.0) {
                h.update(&(i as u64).to_le_bytes());
                h.update(&w.to_le_bytes());
            }
            h.digest()
        };
        if state.ranks.is_none() && self.options.use_disk_cache {
            let ranks_path = self.cache_dir().join(cache::RANKS_FILE);
            state.ranks = Some(cache::load(&ranks_path).unwrap_or_default());
        }
        let ranks_cache = state.ranks.get_or_insert_with(RankCache::default);
        let ranks = match ranks_cache.get(key) {
            Some(r) if r.len() == n => {
                stats.rank_cached = true;
                r.clone()
            }
            _ => {
                // Weights of referenced, defined names, computed on first use.
                let mut weights = vec![f64::NAN; index.idents.len()];
                let mut weight_of = |ident: u32| {
                    let w = &mut weights[ident as usize];
                    if w.is_nan() {
                        *w = ident_weight(
                            index.idents.get(ident),
                            layout.definers[ident as usize],
                            mention_of[ident as usize],
                        );
                    }
                    *w
                };
                let build_started = Instant::now();
                let graph = Graph::build(index, &layout, &mut weight_of);
                let built = build_started.elapsed();
                // After an edit in this session (same seeds), start from the previous ranking: it
                // converges in a few iterations instead of ~20.
                let start = state
                    .last_rank
                    .as_ref()
                    .filter(|l| l.seeds == seeds && l.generation == index.generation)
                    .and_then(|l| layout.start_from(&l.layout, &l.ranks));
                let ranks = graph.pagerank(&personal, layout.files.len(), start);
                tracing::debug!(
                    "graph built in {built:?}, ranked in {:?}",
                    build_started.elapsed() - built
                );
                ranks_cache.put(key, ranks.clone());
                state.ranks_dirty = true;
                ranks
            }
        };

        // Score each definition: its share of its name's rank, plus a little of its file's rank so
        // files seeded directly (mentioned by path) show their definitions too.
        let mut scored: Vec<(f64, usize, usize)> = Vec::new(); // (score, file node, def index)
        let mut parsed: Vec<&StoredTags> = Vec::new();
        for entry in index.files.values() {
            if let Outcome::Parsed(tags) = &entry.outcome {
                parsed.push(tags);
            }
        }
        let mut best_in_file = vec![0.0f64; parsed.len()];
        for (f, tags) in parsed.iter().enumerate() {
            if chat.contains(&f) || tags.defs.is_empty() {
                continue;
            }
            let file_share = 0.1 * ranks[f] / tags.defs.len() as f64;
            let factor = if demoted[f] { DEMOTED_FACTOR } else { 1.0 };
            for (d, def) in tags.defs.iter().enumerate() {
                let ident_share = ranks[layout.ident_node(def.ident)]
                    / layout.def_count[def.ident as usize].max(1) as f64;
                let score = (ident_share + file_share) * factor;
                best_in_file[f] = best_in_file[f].max(score);
                scored.push((score, f, d));
            }
        }
        // A file whose path the request names shows its most important lines even when the
        // graph's hubs outscore them: each of its definitions gains a share of the best score,
        // in proportion to the path's match and to the definition's weight within its file.
        let top = scored.iter().map(|s| s.0).fold(0.0, f64::max);
        for (score, f, _) in &mut scored {
            let m = path_match[*f];
            if m > 0.0 && !demoted[*f] && best_in_file[*f] > 0.0 {
                *score += PATH_MATCH_DEF_WEIGHT * m * top * (*score / best_in_file[*f]);
            }
        }
        // Only the best few can fit: each shown line costs at least two tokens, and packing gives up
        // after MAX_MISSES candidates that do not fit. Select those before sorting.
        let by_score = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        let keep = (map_tokens / 2).saturating_add(crate::render::MAX_MISSES + 1);
        if scored.len() > keep {
            scored.select_nth_unstable_by(keep, by_score);
            scored.truncate(keep);
        }
        scored.par_sort_unstable_by(by_score);
        if self.options.max_lines_per_file > 0 {
            let mut shown = vec![0usize; parsed.len()];
            scored.retain(|&(_, f, _)| {
                shown[f] += 1;
                shown[f] <= self.options.max_lines_per_file
            });
        }
        let mut file_order: Vec<usize> = (0..layout.files.len())
            .filter(|f| !chat.contains(f))
            .collect();
        // The files in the order the map lists them, ranked as their definitions are: the graph's
        // rank, plus the path match's share of the best file's, build output scaled down.
        let top_rank = (0..layout.files.len())
            .filter(|f| !chat.contains(f))
            .map(|f| ranks[f])
            .fold(0.0, f64::max);
        let file_rank: Vec<f64> = (0..layout.files.len())
            .map(|f| {
                if demoted[f] {
                    ranks[f] * DEMOTED_FACTOR
                } else {
                    ranks[f] + PATH_MATCH_DEF_WEIGHT * path_match[f] * top_rank
                }
            })
            .collect();
        file_order.sort_by(|&a, &b| file_rank[b].total_cmp(&file_rank[a]).then(a.cmp(&b)));
        stats.rank_ms = started.elapsed().as_millis() as u64;

        let started = Instant::now();
        let candidates: Vec<Candidate<'_>> = scored
            .iter()
            .map(|&(_, f, d)| {
                let def = &parsed[f].defs[d];
                Candidate {
                    file: f,
                    line: def.line,
                    signature: parsed[f].signature(def),
                }
            })
            .collect();
        let paths: Vec<&str> = layout.files.iter().map(String::as_str).collect();
        let rendered = render_within_budget(
            &paths,
            &file_order,
            &candidates,
            map_tokens,
            &*self.options.counter,
        );
        let refs = rendered
            .chosen
            .iter()
            .map(|&c| {
                let (_, f, d) = scored[c];
                let def = &parsed[f].defs[d];
                ChunkRef::new(
                    &layout.files[f],
                    def.line,
                    index.idents.get(def.ident),
                    def.kind.as_str(),
                    parsed[f].signature(def),
                )
            })
            .collect();
        let mut mentioned_defs = vec![0usize; parsed.len()];
        for (f, tags) in parsed.iter().enumerate() {
            mentioned_defs[f] = tags
                .defs
                .iter()
                .filter(|d| mention_of[d.ident as usize] > 0.0)
                .count();
        }
        let files = file_order
            .iter()
            .take(self.options.max_ranked_files)
            .map(|&f| RankedFile {
                path: layout.files[f].clone(),
                rank: file_rank[f],
                signals: FileSignals {
                    graph: ranks[f],
                    path_words: path_words[f],
                    content_words: content[f],
                    recency: recency[f],
                    co_change: co_change[f],
                    named: mentioned_files.contains(&f),
                    build_output: lexical::is_build_output(&layout.files[f]),
                    mentioned_definitions: mentioned_defs[f],
                },
            })
            .collect();
        let shown = rendered
            .shown
            .iter()
            .map(|&f| layout.files[f].clone())
            .collect();
        stats.render_ms = started.elapsed().as_millis() as u64;
        state.last_rank = Some(LastRank {
            seeds,
            generation: index.generation,
            layout,
            ranks,
        });
        Research {
            map: rendered.text,
            tokens: rendered.tokens,
            files,
            shown,
            refs,
            stats,
        }
    }

    /// `path` relative to the root, `/`-separated, if it is inside the root.
    fn relative(&self, path: &Path) -> Option<String> {
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        let abs = abs.canonicalize().unwrap_or(abs);
        abs.strip_prefix(&self.root).ok().map(rel_string)
    }
}

impl Drop for RepoMap {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("{e}");
        }
    }
}

/// Whether a cached timeout was recorded under a smaller limit than the current one.
fn retry_timeout(outcome: &Outcome, limit_ms: u64) -> bool {
    matches!(outcome, Outcome::Skipped { reason: SkipReason::TimedOut, limit_ms: old } if *old < limit_ms)
}

enum Checked {
    /// Content unchanged since the cache entry (only the metadata moved).
    Same { content_hash: u64 },
    /// Parsed: the tags, with names numbered in a per-file table (`names`) so the conversion runs on
    /// the worker threads and only the interning is left for the merge.
    Parsed {
        content_hash: u64,
        tags_hash: u64,
        stored: StoredTags,
        names: Interner,
    },
    Skipped {
        content_hash: u64,
        reason: SkipReason,
    },
}

fn check_file(
    file: &WalkedFile,
    cached: Option<&cache::FileEntry>,
    timeout: Duration,
    limit_ms: u64,
) -> Checked {
    thread_local! {
        /// Each worker reads into the same buffer: no large allocation per file.
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut bytes = buffer.borrow_mut();
        bytes.clear();
        let read = std::fs::File::open(&file.abs)
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes));
        if read.is_err() {
            return Checked::Skipped {
                content_hash: 0,
                reason: SkipReason::Unreadable,
            };
        }
        let checked = check_content(file, &bytes, cached, timeout, limit_ms);
        // Keep at most a few MiB per thread between files.
        if bytes.capacity() > 4 << 20 {
            *bytes = Vec::new();
        }
        checked
    })
}

fn check_content(
    file: &WalkedFile,
    bytes: &[u8],
    cached: Option<&cache::FileEntry>,
    timeout: Duration,
    limit_ms: u64,
) -> Checked {
    let content_hash = xxhash_rust::xxh3::xxh3_64(bytes);
    if let Some(entry) = cached
        && entry.content_hash == content_hash
        && !retry_timeout(&entry.outcome, limit_ms)
    {
        return Checked::Same { content_hash };
    }
    // One UTF-8 validation serves both the binary check and the parse.
    let Ok(source) = std::str::from_utf8(bytes) else {
        return Checked::Skipped {
            content_hash,
            reason: SkipReason::Binary,
        };
    };
    if let Some(reason) = utf8_skip_reason(bytes) {
        return Checked::Skipped {
            content_hash,
            reason,
        };
    }
    match extract_tags(file.lang, source, timeout) {
        Ok(tags) => {
            let mut names = Interner::default();
            let stored = StoredTags::from_tags(file.lang, &tags, &mut names);
            // Only the names are needed until the merge, not their lookup table.
            names.drop_lookup();
            Checked::Parsed {
                content_hash,
                tags_hash: tags.fingerprint(),
                stored,
                names,
            }
        }
        Err(reason) => Checked::Skipped {
            content_hash,
            reason,
        },
    }
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
