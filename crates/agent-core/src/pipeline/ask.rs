//! `/ask`: a question answered from the conversation and the files in play, without editing.
//!
//! The conversation is held under `max-chat-history-tokens` with the same [`ChatHistory`] gate
//! the edit loop uses (trimmed oldest first), and the whole prompt under the Editor's safe
//! context; a prompt that cannot fit is refused before anything is sent.

use crate::config::Config;
use crate::gate::{ChatHistory, EditorTokens, GateError, HistoryGate, messages_tokens};
use crate::git::EditRepo;

use super::cancel::CancelToken;
use super::error::PipelineError;
use super::review::{Event, Observer, Speaker};
use super::roles::{ChatMessage, Editor, GenerateOptions, RoleError};
use super::template::fill;

const SYSTEM: &str = include_str!("../../prompts/ask_system.md");
const FILES: &str = include_str!("../../prompts/ask_files.md");

/// The prompt for `question`: system, the files (read through the repository's path policy),
/// the gated history, the question. Returns the messages and how many history messages the
/// gate dropped.
pub fn ask_messages(
    editor: &dyn Editor,
    repo: &EditRepo,
    config: &Config,
    files: &[String],
    history: &[ChatMessage],
    question: &str,
) -> Result<(Vec<ChatMessage>, usize), PipelineError> {
    let mut system = SYSTEM.trim_end().to_string();
    let mut shown = String::new();
    for path in files {
        match repo.read_for_edit(path) {
            Ok(Some(text)) => shown.push_str(&format!("{path}\n```\n{}\n```\n\n", text.trim_end())),
            Ok(None) => shown.push_str(&format!("{path} (does not exist yet)\n\n")),
            Err(e) => shown.push_str(&format!("{path} (not shown: {e})\n\n")),
        }
    }
    if !shown.is_empty() {
        system.push_str("\n\n");
        system.push_str(fill(FILES, &[("files", shown.trim_end())]).trim_end());
    }
    let mut turns = ChatHistory::new();
    for message in history {
        turns.push(message.clone());
    }
    turns.push(ChatMessage::user(question));
    let report = turns.fit(
        &HistoryGate::from_config(config),
        &EditorTokens(editor),
        None,
    )?;
    let mut messages = vec![ChatMessage::system(system)];
    messages.extend_from_slice(turns.messages());
    Ok((messages, report.dropped))
}

/// Answers `question`, streaming the answer to `observer` as the Editor's text.
#[allow(clippy::too_many_arguments)]
pub fn ask(
    editor: &mut dyn Editor,
    repo: &EditRepo,
    config: &Config,
    files: &[String],
    history: &[ChatMessage],
    question: &str,
    cancel: &CancelToken,
    observer: &mut dyn Observer,
) -> Result<String, PipelineError> {
    let (messages, dropped) = ask_messages(&*editor, repo, config, files, history, question)?;
    if dropped > 0 {
        observer.event(&Event::GateTrimmed {
            messages: dropped,
            limit: config.max_chat_history_tokens,
            summarized: false,
        });
    }
    let max_tokens = config.editor.max_tokens.unwrap_or(512) as usize;
    let prompt = messages_tokens(&EditorTokens(&*editor), &messages);
    if let Some(safe) = editor.safe_context_tokens()
        && prompt + max_tokens > safe
    {
        return Err(PipelineError::Gate(GateError::MessageOverGate {
            tokens: prompt + max_tokens,
            gate: safe,
        }));
    }
    let completion = editor.complete(
        &messages,
        &GenerateOptions {
            max_tokens,
            temperature: config.editor.temperature.unwrap_or(0.0),
            cancel: cancel.clone(),
            ..Default::default()
        },
        &mut |t| {
            observer.event(&Event::Text {
                speaker: Speaker::Editor,
                text: t,
            })
        },
    );
    if cancel.is_cancelled() {
        return Err(PipelineError::Git(crate::git::GitError::Interrupted));
    }
    let completion = completion.map_err(|e: RoleError| PipelineError::Role(e))?;
    Ok(completion.text)
}
