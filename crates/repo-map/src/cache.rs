//! The on-disk cache: per-file tags keyed by path, size, mtime and content hash, plus recent rankings.
//!
//! Each cache file starts with a header (magic, format version, a fingerprint of the bundled queries,
//! payload length and an xxh3 checksum of the payload). A file whose header or checksum does not match
//! is reported and ignored, never trusted; the next save replaces it. Saves are atomic (write to a
//! temporary file, then rename), so a crash or a concurrent run cannot leave half a file behind.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::RepoMapError;
use crate::extract::{FileTags, SkipReason, TagKind};
use crate::lang::{Lang, queries_fingerprint};

const MAGIC: &[u8; 8] = b"AIDXRMAP";
// 2: generated-file markers are matched ignoring case, and more of them (extract.rs).
const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 8;
/// File name of the tags index inside the cache directory.
pub const TAGS_FILE: &str = "repo-map-tags.bin";
/// File name of the ranking cache inside the cache directory.
pub const RANKS_FILE: &str = "repo-map-ranks.bin";
/// How many rankings the ranking cache keeps.
const RANKS_KEPT: usize = 4;

/// Interned identifier strings, stored as one string plus spans so loading is a single allocation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Interner {
    text: String,
    spans: Vec<(u32, u32)>,
    #[serde(skip)]
    lookup: Option<HashMap<String, u32>>,
}

impl Interner {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        let (start, len) = self.spans[id as usize];
        &self.text[start as usize..(start + len) as usize]
    }

    /// Drops the lookup table (rebuilt on the next [`Interner::intern`]), to hold less memory.
    pub(crate) fn drop_lookup(&mut self) {
        self.lookup = None;
    }

    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if self.lookup.is_none() {
            let map = (0..self.spans.len() as u32)
                .map(|i| (self.get(i).to_string(), i))
                .collect();
            self.lookup = Some(map);
        }
        let lookup = self.lookup.as_mut().expect("built above");
        if let Some(&id) = lookup.get(s) {
            return id;
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.text.len() as u32, s.len() as u32));
        self.text.push_str(s);
        lookup.insert(s.to_string(), id);
        id
    }
}

/// A definition as stored: interned name, signature as a span of the file's signature text.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredDef {
    pub ident: u32,
    pub kind: TagKind,
    pub line: u32,
    pub sig: (u32, u32),
}

/// A parsed file's tags as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredTags {
    pub lang: Lang,
    pub defs: Vec<StoredDef>,
    /// (interned name, occurrences).
    pub refs: Vec<(u32, u32)>,
    pub sigs: String,
    pub tag_count: u32,
}

impl StoredTags {
    pub(crate) fn from_tags(lang: Lang, tags: &FileTags, idents: &mut Interner) -> Self {
        let mut sigs = String::new();
        let defs = tags
            .definitions
            .iter()
            .map(|d| {
                let start = sigs.len() as u32;
                sigs.push_str(&d.signature);
                StoredDef {
                    ident: idents.intern(&d.name),
                    kind: d.kind,
                    line: d.line,
                    sig: (start, d.signature.len() as u32),
                }
            })
            .collect();
        let refs = tags
            .references
            .iter()
            .map(|(n, c)| (idents.intern(n), *c))
            .collect();
        StoredTags {
            lang,
            defs,
            refs,
            sigs,
            tag_count: tags.tag_count() as u32,
        }
    }

    /// Renumbers names interned in `local` (as [`StoredTags::from_tags`] left them) into `global`.
    pub(crate) fn reintern(&mut self, local: &Interner, global: &mut Interner) {
        let ids: Vec<u32> = (0..local.len() as u32)
            .map(|i| global.intern(local.get(i)))
            .collect();
        self.defs
            .iter_mut()
            .for_each(|d| d.ident = ids[d.ident as usize]);
        self.refs
            .iter_mut()
            .for_each(|(i, _)| *i = ids[*i as usize]);
    }

    pub(crate) fn signature(&self, def: &StoredDef) -> &str {
        &self.sigs[def.sig.0 as usize..(def.sig.0 + def.sig.1) as usize]
    }
}

/// What the cache knows about one file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Parsed(StoredTags),
    Skipped { reason: SkipReason, limit_ms: u64 },
}

/// One file's cache entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub size: u64,
    pub mtime_ns: i64,
    pub content_hash: u64,
    pub tags_hash: u64,
    pub outcome: Outcome,
}

/// The tags index: every known file's entry and the identifiers they use.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    /// When the index was last written, in ns since the epoch; files modified within
    /// [`RACY_WINDOW_NS`] of it have their content hash checked (their mtime may not have ticked).
    pub written_at_ns: i64,
    pub idents: Interner,
    pub files: BTreeMap<String, FileEntry>,
    /// Bumped whenever identifiers are renumbered, so rankings kept in memory are not mapped onto
    /// the wrong names.
    #[serde(skip)]
    pub generation: u64,
}

/// Modification times this close to the last save are not trusted on their own.
pub(crate) const RACY_WINDOW_NS: i64 = 2_000_000_000;

impl Index {
    /// Drops identifiers no file uses any more once they are most of the table.
    pub(crate) fn compact_if_sparse(&mut self) {
        let mut used = vec![false; self.idents.len()];
        for entry in self.files.values() {
            if let Outcome::Parsed(t) = &entry.outcome {
                t.defs.iter().for_each(|d| used[d.ident as usize] = true);
                t.refs.iter().for_each(|(i, _)| used[*i as usize] = true);
            }
        }
        let live = used.iter().filter(|u| **u).count();
        if self.idents.len() < 1024 || live * 2 > self.idents.len() {
            return;
        }
        let mut fresh = Interner::default();
        let remap: Vec<u32> = (0..self.idents.len() as u32)
            .map(|i| {
                if used[i as usize] {
                    fresh.intern(self.idents.get(i))
                } else {
                    u32::MAX
                }
            })
            .collect();
        for entry in self.files.values_mut() {
            if let Outcome::Parsed(t) = &mut entry.outcome {
                t.defs
                    .iter_mut()
                    .for_each(|d| d.ident = remap[d.ident as usize]);
                t.refs.iter_mut().for_each(|(i, _)| *i = remap[*i as usize]);
            }
        }
        self.idents = fresh;
        self.generation += 1;
    }
}

/// Why a cache file was not used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LoadProblem {
    /// There is no cache file yet.
    Missing,
    /// The file exists but is damaged or was written by another version; it will be rebuilt.
    Invalid(String),
}

/// Reads and validates a cache file.
pub(crate) fn load<T: DeserializeOwned>(path: &Path) -> Result<T, LoadProblem> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadProblem::Missing),
        Err(e) => return Err(LoadProblem::Invalid(format!("unreadable: {e}"))),
    };
    let invalid = |why: &str| Err(LoadProblem::Invalid(why.to_string()));
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return invalid("not an aidx repo-map cache");
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if u32_at(8) != FORMAT_VERSION {
        return invalid("written by another cache format version");
    }
    if u64_at(12) != queries_fingerprint() {
        return invalid("written with other tags queries");
    }
    let payload = &bytes[HEADER_LEN..];
    if u64_at(20) != payload.len() as u64 {
        return invalid("truncated");
    }
    if u64_at(28) != xxhash_rust::xxh3::xxh3_64(payload) {
        return invalid("checksum mismatch");
    }
    postcard::from_bytes(payload).map_err(|e| LoadProblem::Invalid(format!("undecodable: {e}")))
}

/// Writes a cache file atomically.
pub(crate) fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), RepoMapError> {
    let fail = |source| RepoMapError::CacheWrite {
        path: path.to_path_buf(),
        source,
    };
    let payload = postcard::to_stdvec(value).map_err(|e| fail(std::io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let tmp: PathBuf = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp).map_err(fail)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&queries_fingerprint().to_le_bytes());
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&payload).to_le_bytes());
    file.write_all(&header)
        .and_then(|()| file.write_all(&payload))
        .map_err(fail)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Recently computed rankings, keyed by the graph fingerprint and the personalization.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct RankCache {
    entries: Vec<(u64, Vec<f64>)>,
}

impl RankCache {
    pub(crate) fn get(&self, key: u64) -> Option<&Vec<f64>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, r)| r)
    }

    pub(crate) fn put(&mut self, key: u64, ranks: Vec<f64>) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.insert(0, (key, ranks));
        self.entries.truncate(RANKS_KEPT);
    }
}
