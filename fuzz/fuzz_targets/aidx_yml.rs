//! `.aidx.yml` as a user (or a cloned repository) writes it: the YAML text validated against the
//! schema, then the whole load (defaults, the file, merge) and the typed configuration the
//! commands read. Errors are fine; a panic or a hang is a finding.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use aidx_agent_core::config::{FILE_NAME, LoadOptions, Settings, layers};
use libfuzzer_sys::fuzz_target;

/// One repository root for the whole run; each input overwrites its `.aidx.yml`.
fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = layers::parse_text(text, Path::new(FILE_NAME));
    std::fs::write(root().join(FILE_NAME), text).expect("writing the fuzz input");
    let loaded = Settings::load(&LoadOptions {
        repo_root: Some(root().to_path_buf()),
        ..LoadOptions::default()
    });
    assert_eq!(
        parsed.is_ok(),
        loaded.is_ok(),
        "validating the text and loading the file disagree"
    );
    if let Ok(settings) = loaded {
        let _ = settings.config();
        for (key, setting) in settings.iter() {
            let _ = (key, setting.value.to_string());
        }
    }
});
