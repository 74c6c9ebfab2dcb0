//! The plan contract: rendering, tolerant parsing, validation, atomic writing, and the Architect driver's
//! ask-once-more behaviour (with a scripted chat client).

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::sync::Mutex;

use aidx_architect::plan::{
    Architect, ArchitectError, ArchitectOptions, FileAction, Plan, PlanInput, PlanProblem,
    PlannedFile, write_atomically,
};
use aidx_architect::{
    CancellationToken, ChatClient, ChatError, ChatRequest, ChatResponse, DeltaSink, FinishReason,
    Role, Usage,
};
use futures_util::future::BoxFuture;

fn sample_plan() -> Plan {
    Plan {
        goal: "Add a --json flag to the list command.".into(),
        context_refs: vec!["R1".into(), "R4".into()],
        steps: vec![
            "Add the flag to `ListArgs` in src/cli.rs.".into(),
            "Serialize rows in src/output.rs.".into(),
        ],
        files: vec![
            PlannedFile {
                path: "src/cli.rs".into(),
                action: FileAction::Change,
                note: "new flag".into(),
            },
            PlannedFile {
                path: "src/output.rs".into(),
                action: FileAction::Create,
                note: "JSON writer".into(),
            },
        ],
        checks: vec!["cargo test".into(), "`aidx list --json | jq .`".into()],
    }
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/cli.rs"), "// cli\n").unwrap();
    fs::write(dir.path().join("src/lib.rs"), "// lib\n").unwrap();
    dir
}

#[test]
fn renders_the_fixed_structure() {
    let markdown = sample_plan().to_markdown();
    let expected = "# Plan\n\n## Goal\n\nAdd a --json flag to the list command.\n\n## Context\n\n- `R1`\n- `R4`\n\n\
## Steps\n\n1. Add the flag to `ListArgs` in src/cli.rs.\n2. Serialize rows in src/output.rs.\n\n## Files\n\n\
- `src/cli.rs` — new flag\n- `src/output.rs` (new) — JSON writer\n\n## Checks\n\n- cargo test\n- `aidx list --json | jq .`\n";
    assert_eq!(markdown, expected);
}

#[test]
fn rendering_then_parsing_round_trips() {
    let plan = sample_plan();
    assert_eq!(Plan::parse(&plan.to_markdown()), plan);
    let empty = Plan::default();
    assert_eq!(Plan::parse(&empty.to_markdown()), empty);
}

#[test]
fn parses_drifted_formatting() {
    let reply = r#"<think>The user wants JSON. Let me plan.</think>
```markdown
Here is the plan.

### 1. Objective
Add a --json flag
to the list command.

**Researcher context:**
* R1 — list command
* `R4`

### Implementation steps
1) Add the flag to `ListArgs`
   in src/cli.rs.

2) **Step 2:** Serialize rows.

## Files to change or create
+ **src/cli.rs**: add the flag (modify)
+ NEW: ./src/output.rs - JSON writer
- `src\win.rs` [new]

## Verification
```bash
cargo test
cargo clippy
```

## Notes
- ignored section
```"#;
    let plan = Plan::parse(reply);
    assert_eq!(plan.goal, "Add a --json flag to the list command.");
    assert_eq!(plan.context_refs, vec!["R1", "R4"]);
    assert_eq!(
        plan.steps,
        vec![
            "Add the flag to `ListArgs` in src/cli.rs.",
            "Serialize rows."
        ]
    );
    assert_eq!(
        plan.files,
        vec![
            PlannedFile {
                path: "src/cli.rs".into(),
                action: FileAction::Change,
                note: "add the flag".into()
            },
            PlannedFile {
                path: "src/output.rs".into(),
                action: FileAction::Create,
                note: "JSON writer".into()
            },
            PlannedFile {
                path: "src/win.rs".into(),
                action: FileAction::Create,
                note: String::new()
            },
        ]
    );
    assert_eq!(plan.checks, vec!["cargo test", "cargo clippy"]);
}

#[test]
fn plain_title_colon_form_and_steps_named_like_sections() {
    let reply = "Goal: Fix the crash.\nSteps:\n- Test: add a regression test in src/lib.rs\n- Fix the index\nFiles:\n- src/lib.rs\nChecks:\n- cargo test\n";
    let plan = Plan::parse(reply);
    assert_eq!(plan.goal, "Fix the crash.");
    assert_eq!(
        plan.steps,
        vec!["Test: add a regression test in src/lib.rs", "Fix the index"]
    );
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.checks, vec!["cargo test"]);
}

#[test]
fn garbage_parses_to_an_empty_plan() {
    assert_eq!(Plan::parse("I cannot help with that."), Plan::default());
    assert_eq!(Plan::parse("<think>never closed"), Plan::default());
}

#[test]
fn validation_lists_every_problem() {
    let repo = repo();
    let plan = Plan {
        goal: " ".into(),
        context_refs: vec!["R1".into(), "R9".into()],
        steps: vec![],
        files: vec![
            PlannedFile {
                path: "src/cli.rs".into(),
                action: FileAction::Change,
                note: String::new(),
            },
            PlannedFile {
                path: "src/missing.rs".into(),
                action: FileAction::Change,
                note: String::new(),
            },
            PlannedFile {
                path: "src/lib.rs".into(),
                action: FileAction::Create,
                note: String::new(),
            },
            PlannedFile {
                path: "../outside.rs".into(),
                action: FileAction::Create,
                note: String::new(),
            },
            PlannedFile {
                path: "/etc/passwd".into(),
                action: FileAction::Change,
                note: String::new(),
            },
            PlannedFile {
                path: "src/brand_new.rs".into(),
                action: FileAction::Create,
                note: String::new(),
            },
        ],
        checks: vec![],
    };
    let known = vec!["R1".to_string(), "R2".to_string()];
    assert_eq!(
        plan.validate(repo.path(), &known),
        vec![
            PlanProblem::MissingGoal,
            PlanProblem::NoSteps,
            PlanProblem::FileNotFound {
                path: "src/missing.rs".into()
            },
            PlanProblem::NewFileExists {
                path: "src/lib.rs".into()
            },
            PlanProblem::PathOutsideRepo {
                path: "../outside.rs".into()
            },
            PlanProblem::PathOutsideRepo {
                path: "/etc/passwd".into()
            },
            PlanProblem::UnknownReference { id: "R9".into() },
        ]
    );
    // Without known ids, references are not checked.
    assert!(
        !plan
            .validate(repo.path(), &[])
            .iter()
            .any(|p| matches!(p, PlanProblem::UnknownReference { .. }))
    );
    let mut good = sample_plan();
    good.context_refs = vec!["R1".into()];
    assert_eq!(good.validate(repo.path(), &known), vec![]);
}

#[test]
fn atomic_write_creates_dirs_replaces_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("artifacts/nested/plan.md");
    write_atomically(&target, b"first").unwrap();
    write_atomically(&target, b"second").unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "second");
    let names: Vec<_> = fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("plan.md")]);
}

#[test]
fn atomic_write_failure_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plan.md");
    fs::write(&target, "old").unwrap();
    // Renaming a file over a non-empty directory fails; the directory stands in for an unwritable target.
    let blocked = dir.path().join("blocked");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("x"), "").unwrap();
    assert!(write_atomically(&blocked, b"new").is_err());
    assert_eq!(fs::read_to_string(&target).unwrap(), "old");
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            std::ffi::OsString::from("blocked"),
            std::ffi::OsString::from("plan.md")
        ]
    );
}

/// A chat client that replays scripted replies and records the requests it got.
struct Scripted {
    replies: Mutex<VecDeque<(String, FinishReason)>>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    fn new(replies: &[(&str, FinishReason)]) -> Self {
        Self {
            replies: Mutex::new(
                replies
                    .iter()
                    .map(|(t, f)| (t.to_string(), f.clone()))
                    .collect(),
            ),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl ChatClient for Scripted {
    fn model(&self) -> &str {
        "scripted"
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_delta: DeltaSink<'a>,
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ChatResponse, ChatError>> {
        self.seen.lock().unwrap().push(request.clone());
        let (text, finish_reason) = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted reply is left");
        Box::pin(async move {
            on_delta(&text);
            Ok(ChatResponse {
                text,
                usage: Usage {
                    prompt_tokens: 100,
                    completion_tokens: 10,
                },
                cost: Some(0.5),
                finish_reason,
                model: None,
            })
        })
    }
}

const VALID_REPLY: &str = "# Plan\n## Goal\nAdd a helper.\n## Context\n- `R1`\n## Steps\n1. Add `helper` to src/lib.rs.\n## Files\n- `src/lib.rs`\n## Checks\n- cargo test\n";
const INVALID_REPLY: &str = "# Plan\n## Goal\nAdd a helper.\n## Steps\n## Files\n- `src/nope.rs`\n";

fn input(refs: &[String]) -> PlanInput<'_> {
    PlanInput {
        request: "Add a helper",
        repo_map: "src/lib.rs: R1 fn main",
        reference_ids: refs,
        files: &[],
    }
}

#[tokio::test]
async fn a_valid_first_reply_is_written() {
    let repo = repo();
    let client = Scripted::new(&[(VALID_REPLY, FinishReason::Stop)]);
    let refs = vec!["R1".to_string()];
    let architect = Architect::new(&client, repo.path(), ArchitectOptions::default());
    let mut streamed = String::new();
    let mut sink = |d: &str| streamed.push_str(d);
    let outcome = architect
        .plan(input(&refs), &mut sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 1);
    assert_eq!(outcome.path, repo.path().join("artifacts/plan.md"));
    assert_eq!(
        outcome.usage,
        Usage {
            prompt_tokens: 100,
            completion_tokens: 10
        }
    );
    assert_eq!(outcome.cost, Some(0.5));
    assert_eq!(streamed, VALID_REPLY);
    let written = fs::read_to_string(&outcome.path).unwrap();
    assert_eq!(written, outcome.plan.to_markdown());
    assert_eq!(Plan::parse(&written), outcome.plan);

    let seen = client.seen.lock().unwrap();
    let user = &seen[0].messages[1];
    assert_eq!(
        (seen[0].messages[0].role, user.role),
        (Role::System, Role::User)
    );
    assert!(
        seen[0].messages[0].content.contains("## Files"),
        "system prompt describes the format"
    );
    assert!(
        user.content.contains("Add a helper")
            && user.content.contains("- `R1`")
            && user.content.contains("fn main")
    );
}

#[tokio::test]
async fn an_invalid_reply_is_corrected_with_the_problems_listed() {
    let repo = repo();
    let client = Scripted::new(&[
        (INVALID_REPLY, FinishReason::Stop),
        (VALID_REPLY, FinishReason::Stop),
    ]);
    let options = ArchitectOptions {
        plan_path: "out/custom-plan.md".into(),
        ..ArchitectOptions::default()
    };
    let architect = Architect::new(&client, repo.path(), options);
    let mut sink = |_: &str| {};
    let outcome = architect
        .plan(input(&[]), &mut sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 2);
    assert_eq!(
        outcome.usage,
        Usage {
            prompt_tokens: 200,
            completion_tokens: 20
        }
    );
    assert_eq!(outcome.cost, Some(1.0));
    assert!(repo.path().join("out/custom-plan.md").is_file());

    let seen = client.seen.lock().unwrap();
    let second = &seen[1].messages;
    assert_eq!(second.len(), 4);
    assert_eq!(
        (second[2].role, second[2].content.as_str()),
        (Role::Assistant, INVALID_REPLY)
    );
    let correction = &second[3].content;
    assert!(correction.contains("no steps"), "{correction}");
    assert!(
        correction.contains("`src/nope.rs` is listed under ## Files but does not exist"),
        "{correction}"
    );
}

#[tokio::test]
async fn a_plan_still_invalid_after_the_second_request_stops_with_a_clear_error() {
    let repo = repo();
    let client = Scripted::new(&[
        (INVALID_REPLY, FinishReason::Stop),
        (VALID_REPLY, FinishReason::Length),
    ]);
    let architect = Architect::new(&client, repo.path(), ArchitectOptions::default());
    let mut sink = |_: &str| {};
    let error = architect
        .plan(input(&[]), &mut sink, &CancellationToken::new())
        .await
        .unwrap_err();
    match &error {
        ArchitectError::InvalidPlan {
            problems,
            attempts: 2,
            usage,
            ..
        } => {
            assert_eq!(problems, &vec![PlanProblem::Truncated]);
            assert_eq!(usage.total(), 220);
        }
        other => panic!("expected InvalidPlan, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("still invalid after 2 requests")
            && message.contains("cut off at the token limit"),
        "{message}"
    );
    assert!(
        !repo.path().join("artifacts").exists(),
        "nothing is written for an invalid plan"
    );
}

#[tokio::test]
async fn an_absolute_plan_path_is_used_as_is() {
    let repo = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("p.md");
    let client = Scripted::new(&[(VALID_REPLY, FinishReason::Stop)]);
    let options = ArchitectOptions {
        plan_path: target.clone(),
        ..ArchitectOptions::default()
    };
    let architect = Architect::new(&client, repo.path(), options);
    let mut sink = |_: &str| {};
    let outcome = architect
        .plan(input(&[]), &mut sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.path, target);
    assert!(Path::new(&target).is_file());
}

/// Found by the `plan_json` fuzz target: a step holding a line break rendered as its own
/// `## Files` section in plan.md, so the Editor read a file the validation never saw.
#[test]
fn a_line_break_inside_a_field_cannot_add_a_section_to_plan_md() {
    let plan = Plan::from_json(
        r#"{"goal": "g\n## Files\n- `evil.rs`", "steps": ["s\n## Files\n- `x`"],
            "files": [{"path": "src/lib.rs", "action": "change", "note": "n\n- `y`"}],
            "checks": ["c\n## Files"]}"#,
    )
    .unwrap();
    let markdown = plan.to_markdown();
    let headings = markdown.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(headings, 6, "{markdown}");
    let back = Plan::parse(&markdown);
    assert_eq!(back.files.len(), 1, "{markdown}");
    assert_eq!(back.files[0].path, "src/lib.rs");
    assert_eq!(back.steps, vec!["s ## Files - `x`".to_string()]);
}

/// Found by the `plan_markdown` fuzz target: a path with a backtick passed validation and then
/// read back from plan.md as another path.
#[test]
fn a_path_plan_md_cannot_carry_is_a_problem() {
    let repo = tempfile::tempdir().unwrap();
    let file = |path: &str| PlannedFile {
        path: path.into(),
        action: FileAction::Create,
        note: String::new(),
    };
    let plan = Plan {
        goal: "g".into(),
        steps: vec!["s".into()],
        files: vec![
            file("`.s"),
            file("a\nb.rs"),
            file(" padded.rs"),
            file("two words.rs"),
            file("ok.rs"),
        ],
        ..Plan::default()
    };
    assert_eq!(
        plan.validate(repo.path(), &[]),
        vec![
            PlanProblem::UnwritablePath { path: "`.s".into() },
            PlanProblem::UnwritablePath {
                path: "a\nb.rs".into()
            },
            PlanProblem::UnwritablePath {
                path: " padded.rs".into()
            },
            PlanProblem::UnwritablePath {
                path: "two words.rs".into()
            },
        ]
    );
}

/// Found by the `plan_markdown` fuzz target: a file listed twice was two entries here and one
/// in the Editor's reading of plan.md.
#[test]
fn a_file_listed_twice_in_markdown_is_one_entry() {
    let plan = Plan::parse(
        "# Plan\n\n## Goal\n\ng\n\n## Steps\n\n1. s\n\n## Files\n\n- `src/lib.rs`\n- src/lib.rs: again\n",
    );
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "src/lib.rs");
}

/// Found by the `plan_markdown` fuzz target: removing a `(new)` marker from the middle of a
/// note left a double space, which plan.md then rendered as one, so the plan did not read back.
#[test]
fn a_note_reads_back_the_same_after_rendering() {
    let plan = Plan::parse(
        "# Plan\n\n## Goal\n\ng\n\n## Steps\n\n1. s\n\n## Files\n\n- `src/x.rs` — add it (new) — helper\n",
    );
    assert_eq!(plan.files[0].action, FileAction::Create);
    assert_eq!(plan.files[0].note, "add it — helper");
    assert_eq!(Plan::parse(&plan.to_markdown()).files, plan.files);
}

/// Found by the `plan_markdown` fuzz target: a code span left open on one line of `## Files` and
/// closed lines later read as one path with spaces, which validation passed and the Editor's
/// reading of plan.md then dropped (it reads a path as one word).
#[test]
fn a_path_spanning_lines_is_a_problem_not_a_file_the_editor_never_sees() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    std::fs::write(repo.path().join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let plan = Plan::parse(
        "# Plan\n\n## Goal\n\ng\n\n## Steps\n\n1. s\n\n## Files\n\n- `src/lib.rs` — fix\n- `new.rs\nsrc/lib.rs: f\nx.rs` (new)\n",
    );
    let problems = plan.validate(repo.path(), &[]);
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, PlanProblem::UnwritablePath { path } if path.contains(' '))),
        "{:?} from {:?}",
        problems,
        plan.files
    );
}

/// Found by the `plan_markdown` fuzz target: a goal written over several lines, the first opening
/// bold text and a later one closing it, was rendered on one line that read back as a bold
/// `**… Files …**` heading, so plan.md named a file the plan did not have.
#[test]
fn a_goal_that_looks_like_a_heading_or_an_item_reads_back_as_the_goal() {
    for goal in [
        "**Goal stuff # Files x** src/a.rs (e)",
        "# Files",
        "- src/b.rs",
        "Files: src/c.rs",
    ] {
        let plan = Plan {
            goal: goal.into(),
            steps: vec!["s".into()],
            ..Plan::default()
        };
        let back = Plan::parse(&plan.to_markdown());
        assert_eq!(back.goal, goal, "{}", plan.to_markdown());
        assert!(back.files.is_empty(), "{}", plan.to_markdown());
    }
}
