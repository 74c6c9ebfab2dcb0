//! A long session in one process: 200 consecutive requests through the pipeline on one
//! repository, with one long-lived Editor talking to a scripted OpenAI-compatible server (it
//! plans too, fully-local), as interactive mode holds its roles; `aidx undo` and the user's own
//! uncommitted edits in between.
//!
//! Checked every time: the history gate holds for the conversation the planner is sent, and the
//! repository ends with exactly the expected commits. Memory must stay flat: the resident set
//! size at request 10 and at request 200 is printed and compared.

use std::time::Duration;

use aidx_agent_core::adapters::cloud::RemoteEditor;
use aidx_agent_core::config::{Provider, RoleConfig, Settings};
use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{AutoApprove, ChatMessage, Pipeline, RunOptions, RunStatus};
use aidx_e2e::{ScriptedServer, TempRepo};

/// 200 by default; `AIDX_SOAK_REQUESTS` runs a longer session (BENCHMARKS.md).
fn requests() -> usize {
    std::env::var("AIDX_SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}
const GATE: usize = 160;

const PLAN: &str = "# Plan\n\n## Goal\n\nBump the counter.\n\n## Steps\n\n1. In counter.py increase `N` by one.\n\n## Files\n\n- `counter.py` — N goes up by one\n";

fn reply(from: usize, to: usize) -> String {
    format!("counter.py\n<<<<<<< SEARCH\nN = {from}\n=======\nN = {to}\n>>>>>>> REPLACE\n")
}

/// Every 10th request is undone right after it lands.
fn undone(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// Resident set size of this process, in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Commit subjects from the root to HEAD.
fn subjects(repo: &git2::Repository) -> Vec<String> {
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    let mut out: Vec<String> = walk
        .map(|oid| {
            let commit = repo.find_commit(oid.unwrap()).unwrap();
            commit.summary().ok().flatten().unwrap_or("").to_string()
        })
        .collect();
    out.reverse();
    out
}

fn head_message(repo: &git2::Repository) -> String {
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    head.message().unwrap_or("").to_string()
}

#[test]
fn two_hundred_requests_in_one_process() {
    let total = requests();
    // The script: a plan, then the edit, for every request; the counter's value before each
    // request follows from the undo schedule.
    let mut replies = Vec::new();
    let mut n = 0;
    for i in 1..=total {
        replies.push(PLAN.to_string());
        replies.push(reply(n, n + 1));
        n = if undone(i) { n } else { n + 1 };
    }
    let server = ScriptedServer::start(replies, Duration::ZERO);
    let t = TempRepo::with_files(&[("counter.py", "N = 0\n"), ("notes.txt", "notes\n")]);
    let git = git2::Repository::open(&t.root).unwrap();
    let repo = EditRepo::discover(&t.root).unwrap();
    let mut config = Settings::defaults().config();
    config.max_chat_history_tokens = GATE;
    config.max_reflections = 0;
    config.fully_local = true;
    config.editor = RoleConfig {
        provider: Provider::OpenAiCompatible,
        model: Some("scripted".into()),
        base_url: Some(server.base_url.clone()),
        timeout_secs: Some(30),
        ..RoleConfig::default_editor()
    };
    let mut editor = RemoteEditor::new(&config.editor).unwrap();
    let mut reviewer = AutoApprove;
    let mut conversation: Vec<ChatMessage> = Vec::new();
    let mut expected = subjects(&git);
    let mut n = 0usize;
    let mut rss_at_10 = 0;
    for i in 1..=total {
        // The user's own edits in between: notes.txt (never touched by aidx) every 7th request,
        // counter.py itself every 13th (committed as the user's before aidx edits it).
        if i.is_multiple_of(7) {
            let notes = t.read("notes.txt");
            std::fs::write(t.root.join("notes.txt"), format!("{notes}line {i}\n")).unwrap();
        }
        let dirty_counter = i.is_multiple_of(13);
        if dirty_counter {
            std::fs::write(
                t.root.join("counter.py"),
                format!("N = {n}\n# touched by the user at {i}\n"),
            )
            .unwrap();
        }
        let request = format!("Bump the counter, request {i}");
        let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
            .with_options(RunOptions {
                run_id: Some(format!("soak-{i}")),
                conversation: conversation.clone(),
                ..RunOptions::default()
            })
            .run(&request, &[])
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(
            report.status,
            RunStatus::Committed,
            "request {i}: {report:#?}"
        );
        if dirty_counter {
            expected.push("chore: save uncommitted changes before aidx edits".into());
        }
        let message = head_message(&git);
        assert!(
            message.contains(&format!("Aidx-Run: soak-{i}\n")),
            "request {i} made HEAD: {message}"
        );
        expected.push(message.lines().next().unwrap_or("").to_string());
        n += 1;

        // The gate: the conversation part of the plan request stays under it (words are at
        // most the cl100k tokens the gate counts).
        let bodies = server.bodies();
        let plan_request = &bodies[bodies.len() - 2];
        let sent = plan_request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let earlier = sent
            .split("plan only the request above):")
            .nth(1)
            .unwrap_or("");
        let earlier = earlier.split("# Repository map").next().unwrap_or("");
        let words = earlier.split_whitespace().count();
        assert!(
            words <= GATE,
            "request {i}: {words} words of conversation, gate {GATE}"
        );
        if i > 30 {
            assert!(
                words > GATE / 4,
                "request {i}: the gate trims, it does not drop all"
            );
        }
        let edit_request = bodies.last().unwrap().to_string();
        assert!(
            !edit_request.contains("bumped the counter to"),
            "request {i}: the conversation reached the Editor"
        );

        if undone(i) {
            repo.undo_last()
                .unwrap_or_else(|e| panic!("undo after {i}: {e}"));
            expected.pop();
            n -= 1;
        }
        assert_eq!(
            t.read("counter.py").lines().next().unwrap(),
            format!("N = {n}")
        );

        conversation.push(ChatMessage::user(request));
        conversation.push(ChatMessage::assistant(format!("bumped the counter to {n}")));
        if i == 10 {
            rss_at_10 = rss_kib();
        }
    }
    let rss_at_200 = rss_kib();
    eprintln!(
        "soak: {total} requests ({} HTTP requests); RSS at request 10: {rss_at_10} KiB, at request {total}: {rss_at_200} KiB",
        server.requests()
    );
    assert_eq!(subjects(&git), expected, "exactly the expected commits");
    // Flat: growth after request 10 within 16 MiB (git's and the allocator's caches included).
    assert!(
        rss_at_200 <= rss_at_10 + 16 * 1024,
        "RSS grew from {rss_at_10} to {rss_at_200} KiB"
    );
}
