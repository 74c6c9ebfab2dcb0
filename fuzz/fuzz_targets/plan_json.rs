//! A JSON plan as a server sends it under `plan-format: json-schema` (a server may ignore the
//! schema): the JSON reader, validation, and the plan.md the Editor then reads. A plan that
//! passes validation must reach the Editor with exactly the files that were validated.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use aidx_agent_core::pipeline::PlanDocument;
use aidx_architect::plan::Plan;
use libfuzzer_sys::fuzz_target;

fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("src")).expect("src/");
        std::fs::write(dir.path().join("src/lib.rs"), "pub fn f() {}\n").expect("src/lib.rs");
        dir
    })
    .path()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(plan) = Plan::from_json(text) else {
        return;
    };
    if plan.validate(root(), &[]).is_empty() {
        let rendered = plan.to_markdown();
        let document = PlanDocument::from_markdown(&rendered);
        let validated: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            document.paths(),
            validated,
            "plan.md names other files than were validated"
        );
    }
});
