//! The history gate is a hard limit: 50-turn sessions, trimmed or summarized, never send more
//! than `max-chat-history-tokens`. Counting uses the test-only word counter and scripted roles
//! of `pipeline_support` (deterministic, not models).

mod git_support;
mod pipeline_support;

use aidx_agent_core::config::HistoryOverflow;
use aidx_agent_core::gate::{
    ChatHistory, EditorSummarizer, GateError, HistoryGate, MESSAGE_OVERHEAD_TOKENS, Summarizer,
    TokenCounter, messages_tokens,
};
use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{
    AutoApprove, ChatMessage, ChatRole, Editor, GenerateOptions, Pipeline, RoleError, RunStatus,
};
use git_support::TestRepo;
use pipeline_support::{ScriptedEditor, ScriptedPlanner, WordCounter, default_config};

/// Deterministic message lengths (a linear congruential sequence), 1 to `max` words.
struct Lengths(u64);

impl Lengths {
    fn next(&mut self, max: u64) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % max + 1) as usize
    }
}

fn words(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

const GATE: usize = 300;
const SUMMARY_MESSAGE: &str = include_str!("../prompts/summary_message.md");

#[test]
fn a_50_turn_session_trimmed_never_exceeds_the_gate() {
    let gate = HistoryGate {
        max_tokens: GATE,
        overflow: HistoryOverflow::Trim,
    };
    let mut lengths = Lengths(7);
    let mut history = ChatHistory::new();
    let mut log: Vec<ChatMessage> = Vec::new();
    let mut sender = ScriptedEditor::new(&[]);
    let mut sent_sizes = Vec::new();
    for turn in 0..50 {
        let question = ChatMessage::user(words(&format!("q{turn}w"), lengths.next(120)));
        history.push(question.clone());
        log.push(question);
        let report = history.fit(&gate, &WordCounter, None).unwrap();
        let sent = history.messages().to_vec();
        let tokens = messages_tokens(&WordCounter, &sent);
        assert!(tokens <= GATE, "turn {turn}: {tokens} tokens sent");
        assert_eq!(report.tokens, tokens);
        assert_eq!(sent.last(), log.last(), "the newest message is always sent");
        assert!(
            log.ends_with(&sent),
            "turn {turn}: trimming drops the oldest messages only"
        );
        assert_ne!(
            sent[0].role,
            ChatRole::Assistant,
            "history never starts with an orphan reply"
        );
        sent_sizes.push(tokens);
        let _ = sender.complete(&sent, &GenerateOptions::default(), &mut |_| {});
        let answer = ChatMessage::assistant(words(&format!("a{turn}w"), lengths.next(150)));
        history.push(answer.clone());
        log.push(answer);
    }
    // The session really overflowed the gate many times over.
    assert!(messages_tokens(&WordCounter, &log) > 10 * GATE);
    assert!(sent_sizes.iter().filter(|&&s| s > GATE / 2).count() > 10);
}

/// Test-only summarizer: records what it was asked to summarize and answers with a scripted,
/// deliberately too long text (so the gate has to cut it).
struct LongWinded {
    calls: Vec<(usize, usize)>,
}

impl Summarizer for LongWinded {
    fn summarize(&mut self, turns: &[ChatMessage], max_tokens: usize) -> Result<String, RoleError> {
        self.calls.push((turns.len(), max_tokens));
        Ok(words("summary", 1000))
    }
}

#[test]
fn a_50_turn_session_summarized_never_exceeds_the_gate() {
    let gate = HistoryGate {
        max_tokens: GATE,
        overflow: HistoryOverflow::Summarize,
    };
    let mut lengths = Lengths(11);
    let mut history = ChatHistory::new();
    let mut summarizer = LongWinded { calls: Vec::new() };
    let mut summarized_turns = 0;
    for turn in 0..50 {
        history.push(ChatMessage::user(words("q", lengths.next(100))));
        let report = history
            .fit(
                &gate,
                &WordCounter,
                Some(&mut summarizer as &mut dyn Summarizer),
            )
            .unwrap();
        let tokens = messages_tokens(&WordCounter, history.messages());
        assert!(tokens <= GATE, "turn {turn}: {tokens} tokens");
        if report.summarized {
            summarized_turns += 1;
            assert!(
                history.messages()[0]
                    .content
                    .starts_with("Summary of our earlier conversation")
            );
        }
        assert!(report.summary_failed.is_none());
        history.push(ChatMessage::assistant(words("a", lengths.next(100))));
    }
    assert!(
        summarized_turns > 5,
        "summaries happened ({summarized_turns})"
    );
    let wrapper = WordCounter.count_tokens(&SUMMARY_MESSAGE.replace("{summary}", ""));
    for (turns, max_tokens) in &summarizer.calls {
        assert!(*turns >= 1);
        assert_eq!(
            *max_tokens + MESSAGE_OVERHEAD_TOKENS + wrapper,
            GATE / 4,
            "summary budget"
        );
    }
}

struct Failing;

impl Summarizer for Failing {
    fn summarize(&mut self, _: &[ChatMessage], _: usize) -> Result<String, RoleError> {
        Err(RoleError::Unavailable {
            role: "editor".into(),
            reason: "model not loaded".into(),
        })
    }
}

#[test]
fn a_failing_summarizer_falls_back_to_trimming() {
    let gate = HistoryGate {
        max_tokens: 100,
        overflow: HistoryOverflow::Summarize,
    };
    let mut history = ChatHistory::new();
    for i in 0..10 {
        history.push(ChatMessage::user(words(&format!("m{i}-"), 30)));
    }
    let report = history
        .fit(
            &gate,
            &WordCounter,
            Some(&mut Failing as &mut dyn Summarizer),
        )
        .unwrap();
    assert!(report.summary_failed.unwrap().contains("model not loaded"));
    assert!(!report.summarized);
    assert!(report.tokens <= 100);
    assert_eq!(history.messages().len(), 2);
    assert!(history.messages()[1].content.starts_with("m9-0"));
}

#[test]
fn a_message_larger_than_the_gate_is_refused_not_sent() {
    let gate = HistoryGate {
        max_tokens: 50,
        overflow: HistoryOverflow::Trim,
    };
    let mut history = ChatHistory::new();
    history.push(ChatMessage::user("short"));
    history.push(ChatMessage::user(words("w", 60)));
    let err = history.fit(&gate, &WordCounter, None).unwrap_err();
    assert_eq!(
        err,
        GateError::MessageOverGate {
            tokens: 60 + MESSAGE_OVERHEAD_TOKENS,
            gate: 50
        }
    );
    assert!(err.to_string().contains("68 tokens") && err.to_string().contains("is 50"));
    assert_eq!(history.messages().len(), 2, "left unchanged");
}

#[test]
fn the_editor_summarizer_sends_its_own_prompt_to_the_editor() {
    let mut editor = ScriptedEditor::new(&["We discussed q0 and q1."]);
    let turns = [
        ChatMessage::user("q0 about parser.rs"),
        ChatMessage::assistant("done"),
    ];
    let text = EditorSummarizer::new(&mut editor)
        .summarize(&turns, 40)
        .unwrap();
    assert_eq!(text, "We discussed q0 and q1.");
    let sent = &editor.received[0];
    assert_eq!(sent[0].role, ChatRole::System);
    assert!(sent[0].content.contains("at most 30 words"));
    assert!(
        sent[1]
            .content
            .contains("# USER\nq0 about parser.rs\n\n# ASSISTANT\ndone")
    );
    assert_eq!(editor.options[0].max_tokens, 40);
}

#[test]
fn reflection_turns_stay_under_the_gate() {
    let t = TestRepo::with_files(&[("src/a.py", "x = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_chat_history_tokens = 400;
    config.max_reflections = 6;
    let plan = "## Files\n\n- `src/a.py` — x becomes 2\n";
    // A long wrong reply: each reflection turn holds it, so history grows fast without the gate.
    let filler = words("pad", 40);
    let bad = format!("src/a.py\n<<<<<<< SEARCH\nx = 3\n=======\n{filler}\n>>>>>>> REPLACE\n");
    let mut editor = ScriptedEditor::repeating(&bad, 7);
    let mut planner = ScriptedPlanner::plan(plan);
    let mut reviewer = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Set x to 2", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::EditFailed);
    assert_eq!(editor.received.len(), 7);
    for (i, conversation) in editor.received.iter().enumerate() {
        let history = messages_tokens(&WordCounter, &conversation[2..]);
        assert!(
            history <= 400,
            "attempt {}: {history} history tokens",
            i + 1
        );
        assert_eq!(
            conversation[..2],
            editor.received[0][..],
            "hard-reset prompt kept"
        );
    }
    assert!(
        report.warnings.iter().any(|w| w.contains("trimmed")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_reflection_larger_than_the_gate_ends_the_edit_with_the_numbers() {
    let t = TestRepo::with_files(&[("src/a.py", "x = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_chat_history_tokens = 60;
    let plan = "## Files\n\n- `src/a.py` — x becomes 2\n";
    let bad = format!(
        "src/a.py\n<<<<<<< SEARCH\nx = 3\n=======\n{}\n>>>>>>> REPLACE\n",
        words("pad", 40)
    );
    let mut editor = ScriptedEditor::repeating(&bad, 4);
    let mut planner = ScriptedPlanner::plan(plan);
    let mut reviewer = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Set x to 2", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::EditFailed);
    assert_eq!(
        editor.received.len(),
        1,
        "no overflowing reflection was sent"
    );
    let error = report.edit_error.unwrap();
    assert!(error.contains("max-chat-history-tokens is 60"), "{error}");
    assert_eq!(t.read("src/a.py"), "x = 1\n");
}

#[test]
fn reflection_turns_are_summarized_by_the_editor_when_configured() {
    let t = TestRepo::with_files(&[("src/a.py", "x = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_chat_history_tokens = 400;
    config.history_overflow = HistoryOverflow::Summarize;
    config.max_reflections = 5;
    let plan = "## Files\n\n- `src/a.py` — x becomes 2\n";
    let bad = format!(
        "src/a.py\n<<<<<<< SEARCH\nx = 3\n=======\n{}\n>>>>>>> REPLACE\n",
        words("pad", 40)
    );
    // Every call gets the same scripted text, summaries included.
    let mut editor = ScriptedEditor::repeating(&bad, 20);
    let mut planner = ScriptedPlanner::plan(plan);
    let mut reviewer = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Set x to 2", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::EditFailed);
    assert_eq!(report.attempts.len(), 6);
    let (summaries, edits): (Vec<_>, Vec<_>) = editor
        .received
        .iter()
        .partition(|c| c[0].content.starts_with("You summarize"));
    assert!(!summaries.is_empty(), "the Editor was asked to summarize");
    assert_eq!(edits.len(), 6);
    for conversation in &edits {
        assert!(messages_tokens(&WordCounter, &conversation[2..]) <= 400);
    }
    assert!(
        edits.iter().any(|c| c
            .get(2)
            .is_some_and(|m| m.content.starts_with("Summary of our earlier conversation"))),
        "a summary replaced old turns"
    );
    let summarize_prompts = report
        .prompts
        .iter()
        .filter(|p| p.purpose == "summarize reflections")
        .count();
    assert_eq!(
        summarize_prompts,
        summaries.len(),
        "summarizing prompts are counted"
    );
    assert!(report.warnings.iter().any(|w| w.contains("summarized")));
}
