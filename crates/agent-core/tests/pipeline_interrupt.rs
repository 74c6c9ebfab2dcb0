//! Ctrl-C before anything is written ends the run with `Interrupted` and leaves the repository
//! as it was. (Its own test binary: the interrupt flag is process-wide.)

mod git_support;
mod pipeline_support;

use aidx_agent_core::git::{EditRepo, GitError, interrupt};
use aidx_agent_core::pipeline::{
    ChatMessage, Completion, Editor, FinishReason, GenerateOptions, Pipeline, PipelineError,
    RoleError,
};
use git_support::TestRepo;
use pipeline_support::{ScriptedPlanner, WordCounter, default_config};

/// Test-only Editor that replies with a valid edit and, as a Ctrl-C handler would while it
/// generates, requests an interrupt.
struct InterruptedWhileGenerating;

impl Editor for InterruptedWhileGenerating {
    fn complete(
        &mut self,
        _messages: &[ChatMessage],
        _options: &GenerateOptions,
        _on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        interrupt::request();
        Ok(Completion {
            text: "a.txt\n<<<<<<< SEARCH\n1\n=======\none\n>>>>>>> REPLACE\n".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            finish: FinishReason::Stop,
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        aidx_agent_core::gate::TokenCounter::count_tokens(&WordCounter, text)
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        None
    }
}

#[test]
fn an_interrupt_during_generation_stops_before_writing() {
    let t = TestRepo::with_files(&[("a.txt", "1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut planner = ScriptedPlanner::plan("## Files\n\n- `a.txt`\n");
    let mut editor = InterruptedWhileGenerating;
    let mut reviewer = aidx_agent_core::pipeline::AutoApprove;
    // A stale flag from an earlier run is cleared when a run starts.
    interrupt::request();
    let head = t.head().id();
    let err = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("spell it out", &[])
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::Git(GitError::Interrupted)),
        "{err}"
    );
    assert_eq!(t.read("a.txt"), "1\n");
    assert_eq!(t.head().id(), head);
    interrupt::reset();
}
