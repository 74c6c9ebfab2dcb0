//! `.aidx.yml` layering and validation errors.

use std::path::{Path, PathBuf};

use aidx_agent_core::config::{
    ConfigError, ConfigValue, LoadOptions, Origin, Provider, Settings, layers, schema,
};

struct Dirs {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
}

fn dirs(home_yaml: Option<&str>, repo_yaml: Option<&str>) -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    if let Some(y) = home_yaml {
        std::fs::write(home.join(".aidx.yml"), y).unwrap();
    }
    if let Some(y) = repo_yaml {
        std::fs::write(repo.join(".aidx.yml"), y).unwrap();
    }
    Dirs {
        _tmp: tmp,
        home,
        repo,
    }
}

fn opts(d: &Dirs, env: &[(&str, &str)], flags: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        home: Some(d.home.clone()),
        repo_root: Some(d.repo.clone()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        flags: flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string(), format!("--set {k}={v}")))
            .collect(),
    }
}

fn errors(d: &Dirs, env: &[(&str, &str)], flags: &[(&str, &str)]) -> Vec<ConfigError> {
    Settings::load(&opts(d, env, flags))
        .expect_err("configuration should be rejected")
        .0
}

#[test]
fn defaults_apply_without_any_file() {
    let d = dirs(None, None);
    let s = Settings::load(&opts(&d, &[], &[])).unwrap();
    let c = s.config();
    assert_eq!(c.max_chat_history_tokens, 2048);
    assert_eq!(c.map_tokens, 1024);
    assert_eq!(c.editor.provider, Provider::Embedded);
    assert_eq!(c.editor.model.as_deref(), Some("smollm2-135m-instruct"));
    assert!(c.architect.is_none());
    assert!(c.auto_commits && c.dirty_commits);
    assert_eq!(s.get("map-tokens").unwrap().origin, Origin::Default);
}

#[test]
fn later_layers_win_and_origins_are_recorded() {
    let d = dirs(
        Some(
            "map-tokens: 100\neditor:\n  model: home.gguf\n  kv-type: q8_0\ngpu: { vram: 8GiB }\n",
        ),
        Some("map-tokens: 200\nmax-chat-history-tokens: 4096\n"),
    );
    let s = Settings::load(&opts(
        &d,
        &[
            ("AIDX_MAX_CHAT_HISTORY_TOKENS", "3000"),
            ("AIDX_GPU_VRAM", "12GiB"),
            ("HOME_IRRELEVANT", "x"),
        ],
        &[("gpu.vram", "24GiB")],
    ))
    .unwrap();
    let c = s.config();
    // home only
    assert_eq!(c.editor.model.as_deref(), Some("home.gguf"));
    assert_eq!(c.editor.kv_type.as_deref(), Some("q8_0"));
    assert_eq!(
        s.get("editor.model").unwrap().origin,
        Origin::File {
            path: d.home.join(".aidx.yml"),
            line: Some(3)
        }
    );
    // repo beats home
    assert_eq!(c.map_tokens, 200);
    assert_eq!(
        s.get("map-tokens").unwrap().origin,
        Origin::File {
            path: d.repo.join(".aidx.yml"),
            line: Some(1)
        }
    );
    // env beats repo
    assert_eq!(c.max_chat_history_tokens, 3000);
    assert_eq!(
        s.get("max-chat-history-tokens").unwrap().origin,
        Origin::Env {
            var: "AIDX_MAX_CHAT_HISTORY_TOKENS".into()
        }
    );
    // flag beats env beats home
    assert_eq!(c.gpu_vram_bytes, Some(24 * (1 << 30)));
    assert!(matches!(
        s.get("gpu.vram").unwrap().origin,
        Origin::Flag { .. }
    ));
    assert_eq!(
        s.files,
        vec![d.home.join(".aidx.yml"), d.repo.join(".aidx.yml")]
    );
}

#[test]
fn roles_are_read_with_all_fields() {
    let d = dirs(
        None,
        Some(
            "architect: { provider: openai-compatible, model: gemini-2.5-flash, base-url: \"http://127.0.0.1:9/v1\", api-key-env: GEMINI_API_KEY }\nresearcher: { router: { provider: embedded, model: r.gguf } }\nverifier: { provider: anthropic, model: claude }\n",
        ),
    );
    let c = Settings::load(&opts(&d, &[], &[])).unwrap().config();
    let a = c.architect.unwrap();
    assert_eq!(a.provider, Provider::OpenAiCompatible);
    assert_eq!(a.api_key_env.as_deref(), Some("GEMINI_API_KEY"));
    assert_eq!(a.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
    assert_eq!(
        a.max_tokens,
        Some(2048),
        "role default applies under a configured role"
    );
    assert_eq!(c.router.unwrap().model.as_deref(), Some("r.gguf"));
    assert_eq!(c.verifier.unwrap().provider, Provider::Anthropic);
}

fn only(errs: Vec<ConfigError>) -> ConfigError {
    assert_eq!(errs.len(), 1, "expected exactly one error, got {errs:#?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn unknown_top_level_key_names_file_line_and_suggests() {
    let d = dirs(None, Some("map-tokens: 10\nedtor:\n  model: x\n"));
    let e = only(errors(&d, &[], &[]));
    assert_eq!(
        e.source_name,
        d.repo.join(".aidx.yml").display().to_string()
    );
    assert_eq!(e.line, Some(2));
    assert_eq!(e.key, "edtor");
    assert!(e.to_string().contains("did you mean `editor`?"), "{e}");
    assert!(
        e.to_string().contains(".aidx.yml:2: edtor: unknown key"),
        "{e}"
    );
}

#[test]
fn unknown_nested_key_suggests_the_sibling() {
    let d = dirs(
        None,
        Some("editor:\n  provider: embedded\n  modle: x.gguf\n"),
    );
    let e = only(errors(&d, &[], &[]));
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key, "editor.modle");
    assert_eq!(e.hint.as_deref(), Some("did you mean `editor.model`?"));
}

#[test]
fn key_in_the_wrong_group_points_to_its_home() {
    let d = dirs(None, Some("vram: 12GiB\n"));
    let e = only(errors(&d, &[], &[]));
    assert_eq!(e.hint.as_deref(), Some("did you mean `gpu.vram`?"));
}

#[test]
fn wrong_types_are_errors_with_lines() {
    let d = dirs(
        None,
        Some(
            "max-chat-history-tokens: lots\ngit:\n  auto-commits: maybe\neditor: { temperature: 9 }\n",
        ),
    );
    let errs = errors(&d, &[], &[]);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert_eq!(
        (errs[0].key.as_str(), errs[0].line),
        ("max-chat-history-tokens", Some(1))
    );
    assert!(errs[0].message.contains("whole number"));
    assert_eq!(
        (errs[1].key.as_str(), errs[1].line),
        ("git.auto-commits", Some(3))
    );
    assert!(errs[1].message.contains("true or false"));
    assert_eq!(
        (errs[2].key.as_str(), errs[2].line),
        ("editor.temperature", Some(4))
    );
    assert!(errs[2].message.contains("out of range"));
}

#[test]
fn bad_sizes_are_errors() {
    for (text, needle) in [
        ("gpu: { vram: 12 parsecs }\n", "not a size unit"),
        ("gpu: { vram: lots }\n", "not a size"),
        ("gpu: { vram: 0GiB }\n", "positive size"),
        ("gpu: { vram: [1, 2] }\n", "expected a size"),
    ] {
        let d = dirs(None, Some(text));
        let e = only(errors(&d, &[], &[]));
        assert_eq!(e.key, "gpu.vram");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains(needle), "{text}: {e}");
    }
}

#[test]
fn bad_provider_and_enum_values_suggest_the_closest() {
    let d = dirs(None, Some("editor:\n  provider: embeded\n  kv-type: q8\n"));
    let errs = errors(&d, &[], &[]);
    assert_eq!(errs.len(), 2);
    assert!(
        errs[0].message.contains("did you mean `embedded`?"),
        "{}",
        errs[0]
    );
    assert!(errs[1].message.contains("f16, q8_0, q4_0"), "{}", errs[1]);
}

#[test]
fn a_literal_api_key_is_refused_with_advice() {
    let d = dirs(
        None,
        Some("architect:\n  provider: anthropic\n  api-key: sk-secret\n"),
    );
    let e = only(errors(&d, &[], &[]));
    assert_eq!(e.key, "architect.api-key");
    assert!(e.hint.unwrap().contains("api-key-env"));
    assert!(!e.message.contains("sk-secret"));
}

#[test]
fn a_group_given_a_scalar_is_an_error() {
    let d = dirs(None, Some("git: true\n"));
    let e = only(errors(&d, &[], &[]));
    assert_eq!(e.key, "git");
    assert!(e.message.contains("expected a mapping"));
    assert!(e.hint.unwrap().contains("auto-commits"));
}

#[test]
fn invalid_yaml_reports_the_line() {
    let d = dirs(None, Some("map-tokens: 1\neditor:\n  model: [unclosed\n"));
    let e = only(errors(&d, &[], &[]));
    assert!(e.message.contains("not valid YAML"));
    assert!(e.line.is_some());
}

#[test]
fn errors_in_both_files_are_reported_together() {
    let d = dirs(Some("mapp-tokens: 1\n"), Some("map-tokens: x\n"));
    let errs = errors(&d, &[], &[]);
    assert_eq!(errs.len(), 2);
    assert!(errs[0].source_name.contains("home"));
    assert!(errs[1].source_name.contains("repo"));
}

#[test]
fn env_and_flag_errors_name_their_source() {
    let d = dirs(None, None);
    let e = only(errors(&d, &[("AIDX_MAP_TOKENS", "many")], &[]));
    assert_eq!(e.source_name, "environment variable AIDX_MAP_TOKENS");
    assert_eq!(e.key, "map-tokens");
    let e = only(errors(&d, &[], &[("editor.modle", "x")]));
    assert!(e.source_name.starts_with("command line"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `editor.model`?"));
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.aidx.yml")
}

#[test]
fn the_shipped_config_is_valid_and_documents_every_key() {
    let text = std::fs::read_to_string(shipped()).unwrap();
    let entries = layers::parse_text(&text, &shipped()).expect("shipped .aidx.yml is valid");
    assert!(
        entries
            .iter()
            .any(|e| e.path == "max-chat-history-tokens" && e.value == ConfigValue::Count(2048))
    );
    for spec in schema::KEYS {
        let leaf = spec.path.rsplit('.').next().unwrap();
        assert!(
            text.contains(leaf),
            "shipped .aidx.yml does not mention `{}`",
            spec.path
        );
    }
    for (field, _, _) in schema::ROLE_FIELDS {
        assert!(
            text.contains(field),
            "shipped .aidx.yml does not document role field `{field}`"
        );
    }
    for role in schema::ROLES {
        let leaf = role.rsplit('.').next().unwrap();
        assert!(
            text.contains(&format!("{leaf}:")),
            "shipped .aidx.yml lacks role `{role}`"
        );
    }
}

#[test]
fn the_shipped_example_from_the_issue_parses() {
    let text = "max-chat-history-tokens: 2048\nmap-tokens: 1024\ngpu: { vram: 12GiB }\narchitect: { provider: openai-compatible, model: gemini-2.5-flash, base-url: \"https://x/v1\", api-key-env: GEMINI_API_KEY }\neditor: { provider: embedded, model: ~/.cache/aidx/models/SmolLM2-135M-Instruct.Q4_1.gguf, kv-type: f16 }\nresearcher: { router: { provider: embedded, model: r } }\nverifier: { provider: embedded, model: v }\ngit: { auto-commits: true, dirty-commits: true }\nlint-cmd: cargo clippy\ntest-cmd: cargo test\n";
    let entries = layers::parse_text(text, Path::new("example.yml")).unwrap();
    let vram = entries.iter().find(|e| e.path == "gpu.vram").unwrap();
    assert_eq!(
        vram.value,
        ConfigValue::Size {
            bytes: 12 << 30,
            written: "12GiB".into()
        }
    );
    assert_eq!(entries.len(), 18);
}

/// Found by the `aidx_yml` fuzz target: a key with an empty segment (`.max-reflections`) made
/// the search for its line spin forever instead of reporting the unknown key.
#[test]
fn a_key_with_an_empty_segment_is_reported_not_searched_forever() {
    let text = "# comment\n.max-reflections: 1\neditor:\n  max-tokens: 400\n";
    let errors = layers::parse_text(text, Path::new(".aidx.yml")).unwrap_err();
    assert!(!errors.0.is_empty());
    assert_eq!(layers::find_key_line(text, ".max-reflections"), None);
    assert_eq!(layers::find_key_line(text, "editor..max-tokens"), None);
    assert_eq!(layers::find_key_line(text, "editor.max-tokens"), Some(4));
}

#[test]
fn verifier_rules_are_a_list_and_anything_else_is_an_error_naming_the_key() {
    let d = dirs(
        None,
        Some(
            "verifier:\n  provider: embedded\n  rules:\n    - no TODO placeholders\n    - do not delete tests\n",
        ),
    );
    let c = Settings::load(&opts(&d, &[], &[])).unwrap().config();
    assert_eq!(
        c.verifier_rules,
        ["no TODO placeholders", "do not delete tests"]
    );
    assert_eq!(c.verifier.unwrap().provider, Provider::Embedded);

    let d = dirs(None, Some("verifier:\n  rules: no TODO placeholders\n"));
    let c = Settings::load(&opts(&d, &[], &[])).unwrap().config();
    assert_eq!(
        c.verifier_rules,
        ["no TODO placeholders"],
        "one string is one rule"
    );

    let d = dirs(None, Some("verifier:\n  rules:\n    - 3\n"));
    let e = only(errors(&d, &[], &[]));
    assert_eq!(e.key, "verifier.rules");
    assert_eq!(e.line, Some(2));
    assert!(
        e.message.contains("list of non-empty strings"),
        "{}",
        e.message
    );
}
