//! The hard reset: exactly what the Editor receives — its system prompt, plan.md, the current
//! files and the one-line request — and nothing of the planner's conversation.

mod git_support;
mod pipeline_support;

use std::path::PathBuf;

use aidx_agent_core::edit::EditFormat;
use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{
    AutoApprove, ChatMessage, EditorPromptInput, FileContent, Pipeline, PromptFile,
    build_editor_messages,
};
use git_support::TestRepo;
use pipeline_support::{ScriptedEditor, ScriptedPlanner, ScriptedResearcher, default_config};

const SYSTEM_SEARCH_REPLACE: &str = include_str!("../prompts/editor_system_search_replace.md");
const SYSTEM_WHOLE: &str = include_str!("../prompts/editor_system_whole.md");

const PLAN: &str = "# Plan\n\n## Goal\n\nGreet by name.\n\n## Steps\n\n1. Add a name parameter.\n\n## Files\n\n- `src/greet.py` — greet takes a name\n- `src/names.py` (new) — default names\n";

const EXPECTED_USER: &str = "# Plan

# Plan

## Goal

Greet by name.

## Steps

1. Add a name parameter.

## Files

- `src/greet.py` — greet takes a name
- `src/names.py` (new) — default names

# Files

src/greet.py
```
def greet():
    return 'hi'
```

src/names.py
(new file: it does not exist yet; create it with an empty SEARCH section)

notes.txt
```
the user's notes (uncommitted)
```

# Request

Greet by name";

#[test]
fn the_editor_receives_exactly_the_hard_reset_conversation() {
    let t = TestRepo::with_files(&[("src/greet.py", "def greet():\n    return 'hi'\n")]);
    // A file the user added, never committed: its current text is what the Editor sees.
    t.write("notes.txt", "the user's notes (uncommitted)\n");
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&["no edits"]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut researcher = ScriptedResearcher::new("MAP-ONLY-FOR-THE-PLANNER", &["R1"]);
    let mut config_no_reflection = config.clone();
    config_no_reflection.max_reflections = 0;
    let _ = Pipeline::new(&repo, &config_no_reflection, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_researcher(&mut researcher)
        .run("Greet   by\nname", &[PathBuf::from("notes.txt")])
        .unwrap();

    assert_eq!(researcher.chat_files, vec![PathBuf::from("notes.txt")]);
    assert_eq!(editor.received.len(), 1);
    assert_eq!(
        editor.received[0],
        vec![
            ChatMessage::system(SYSTEM_SEARCH_REPLACE.trim_end()),
            ChatMessage::user(EXPECTED_USER),
        ]
    );
    for message in &editor.received[0] {
        assert!(!message.content.contains("ARCHITECT-PRIVATE-REASONING"));
        assert!(!message.content.contains("MAP-ONLY-FOR-THE-PLANNER"));
    }
}

#[test]
fn the_builder_is_a_pure_function_of_its_input() {
    let input = EditorPromptInput {
        format: EditFormat::Whole,
        plan: "## Files\n\n- `a.txt`\n".into(),
        files: vec![PromptFile {
            path: "a.txt".into(),
            content: FileContent::Full {
                text: "no final newline".into(),
            },
            named_by_plan: true,
        }],
        request: "make it shout".into(),
    };
    let messages = build_editor_messages(&input);
    assert_eq!(messages, build_editor_messages(&input.clone()));
    assert_eq!(
        messages,
        vec![
            ChatMessage::system(SYSTEM_WHOLE.trim_end()),
            ChatMessage::user(
                "# Plan\n\n## Files\n\n- `a.txt`\n\n# Files\n\na.txt\n```\nno final newline\n```\n\n# Request\n\nmake it shout"
            ),
        ]
    );
}
