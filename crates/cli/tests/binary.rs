//! Having an integration test here makes `cargo test --workspace` build the `aidx` binary before
//! any test runs, so the end-to-end tests in `tests/` find it.

#[test]
fn the_binary_runs_and_reports_its_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aidx"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("aidx "));
}
