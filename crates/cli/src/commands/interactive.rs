//! `aidx` with no subcommand: interactive mode. The TUI crate draws; this module is its
//! [`Backend`], built from the same configuration and roles as `aidx run`, `plan`, `undo`,
//! `diff`, `map` and `budget`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use aidx_agent_core::adapters::research::RepoMapResearcher;
use aidx_agent_core::gate::{EditorTokens, TokenCounter};
use aidx_agent_core::git::{EditRepo, InterruptGuard};
use aidx_agent_core::pipeline::{
    CancelToken, ChatMessage, Editor, Event, LocalPlanner, Observer, Phase, Pipeline, Planner,
    Researcher, Reviewer, RunOptions, RunReport, ask, ask_messages, editor_system_prompt,
    resolve_plan_path, write_plan_atomically,
};
use aidx_editor_local::budget::{self as memory, Budget};
use aidx_tui::{Backend, BackendError, ChatFiles, SessionStatus, TokenLine, Usage};

use crate::context::{Context, GlobalArgs};
use crate::exit::{Exit, Status};
use crate::roles::SideModels;

/// Runs interactive mode in the repository containing the current directory.
pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Exit::error(
            Status::NoTerminal,
            "interactive mode needs a terminal (standard input and output are not both one). \
             Run it in a terminal, or use the commands: `aidx run -m \"…\" --yes`, \
             `aidx plan -m \"…\"`, `aidx undo`, `aidx diff` (`aidx --help` lists them)",
        ));
    }
    let cwd = std::env::current_dir()?;
    let repo = EditRepo::discover(&cwd).map_err(|_| {
        Exit::error(
            Status::Failure,
            format!(
                "{} is not inside a git repository, and interactive mode edits and commits in one. \
                 Run `git init` (or cd into a repository) first; `aidx budget`, `aidx model` and \
                 `aidx chat` work anywhere",
                cwd.display()
            ),
        )
    })?;
    let ctx = Context::load(global)?;
    let root = repo.root().to_path_buf();
    drop(repo);
    let log = root.join(".aidx").join("aidx.log");
    let stderr = StderrToFile::redirect(&log);
    let started = std::process::Command::new("date")
        .arg("+%Y-%m-%d %H:%M")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let options = aidx_tui::Options {
        repo_root: root.clone(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        started,
    };
    let result = aidx_tui::run(
        move || {
            CliBackend::new(ctx, &root)
                .map(|b| Box::new(b) as Box<dyn Backend>)
                .map_err(BackendError::new)
        },
        options,
    );
    drop(stderr);
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// While alive, the process's standard error goes to a log file: the engines (llama.cpp,
/// mistral.rs) and tracing write there, and would otherwise scribble over the screen.
struct StderrToFile {
    #[cfg(unix)]
    saved: Option<i32>,
}

impl StderrToFile {
    fn redirect(path: &Path) -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::IntoRawFd as _;
            let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            let saved = file.ok().and_then(|file| {
                // SAFETY: dup/dup2 on valid descriptors; the saved copy is restored on drop.
                unsafe {
                    let saved = libc::dup(2);
                    if saved < 0 {
                        return None;
                    }
                    let fd = file.into_raw_fd();
                    let ok = libc::dup2(fd, 2) >= 0;
                    libc::close(fd);
                    ok.then_some(saved)
                }
            });
            if let Some(saved) = saved {
                SAVED_STDERR.store(saved, std::sync::atomic::Ordering::SeqCst);
                // A panic prints to the real terminal, after the TUI's hook restored it.
                let previous = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| {
                    // The worker's panics are caught and shown in a panel; their message goes
                    // to the log, not over the screen.
                    if std::thread::current().name() != Some(aidx_tui::worker::WORKER_THREAD) {
                        restore_stderr();
                    }
                    previous(info);
                }));
            }
            StderrToFile { saved }
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            StderrToFile {}
        }
    }
}

#[cfg(unix)]
static SAVED_STDERR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

#[cfg(unix)]
fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, std::sync::atomic::Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the descriptor duplicated from the original stderr.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        #[cfg(unix)]
        if self.saved.is_some() {
            restore_stderr();
        }
    }
}

/// The roles and repository behind interactive mode. Roles are built on first use: the Editor
/// when the first request comes (or at start, by `prepare`), the others with it.
struct CliBackend {
    ctx: Context,
    repo: EditRepo,
    editor: Option<Box<dyn Editor>>,
    budget: Option<Budget>,
    researcher: Option<Box<dyn Researcher>>,
    planner: Option<Box<dyn Planner>>,
    /// The router, verifier and pre-flight models, loaded with the Editor when configured.
    side: SideModels,
    notes: Vec<String>,
}

impl CliBackend {
    fn new(ctx: Context, root: &Path) -> anyhow::Result<Self> {
        let repo = EditRepo::discover(root)?;
        let mut notes = Vec::new();
        let researcher = match crate::roles::researcher_or_note(&ctx, repo.root()) {
            Ok(r) => Some(r),
            Err(note) => {
                notes.push(note);
                None
            }
        };
        let planner = crate::roles::planner_with_notes(&ctx, repo.root(), &mut notes)?;
        Ok(CliBackend {
            ctx,
            repo,
            editor: None,
            budget: None,
            researcher,
            planner,
            side: SideModels::default(),
            notes,
        })
    }

    fn editor_name(&self) -> String {
        let role = &self.ctx.config.editor;
        match role.model.as_deref() {
            Some(model) => Path::new(model)
                .file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".gguf").to_string())
                .unwrap_or_else(|| model.to_string()),
            None => "no editor model configured".into(),
        }
    }

    fn paths(files: &ChatFiles) -> Vec<String> {
        files
            .editable
            .iter()
            .chain(&files.read_only)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect()
    }

    fn flush_notes(&mut self, observer: &mut dyn Observer) {
        for note in self.notes.drain(..) {
            observer.event(&Event::Notice(&note));
        }
    }
}

/// Every file in play, editable first.
fn all_files(files: &ChatFiles) -> Vec<PathBuf> {
    files
        .editable
        .iter()
        .chain(&files.read_only)
        .cloned()
        .collect()
}

/// The loaded Editor (`prepare` loads it before every job that needs one).
fn loaded(editor: &mut Option<Box<dyn Editor>>) -> Result<&mut dyn Editor, BackendError> {
    match editor.as_deref_mut() {
        Some(editor) => Ok(editor),
        None => Err(BackendError::new("the Editor is not loaded")),
    }
}

/// The pipeline's error as `aidx run` prints it; a cancelled request says so.
fn failed(error: impl std::fmt::Display, cancel: &CancelToken) -> BackendError {
    if cancel.is_cancelled() {
        BackendError::new("cancelled: nothing was written")
    } else {
        BackendError::new(error)
    }
}

impl Backend for CliBackend {
    fn status(&mut self) -> SessionStatus {
        let (branch, dirty) = match self.repo.status() {
            Ok(s) => (s.branch, s.dirty.len()),
            Err(_) => ("?".into(), 0),
        };
        SessionStatus {
            editor: self.editor_name(),
            architect: self
                .ctx
                .config
                .architect
                .as_ref()
                .and_then(|a| a.model.clone()),
            history_limit: self.ctx.config.max_chat_history_tokens,
            memory: self.budget.as_ref().map(|b| Usage {
                used: b.total_bytes as f64,
                limit: b.device_bytes as f64,
            }),
            branch,
            dirty,
        }
    }

    fn prepare(&mut self, observer: &mut dyn Observer) -> Result<(), BackendError> {
        self.flush_notes(observer);
        if self.editor.is_some() {
            return Ok(());
        }
        let detail = format!("loading the Editor ({})", self.editor_name());
        observer.event(&Event::Phase {
            phase: Phase::Load,
            detail: &detail,
        });
        let (editor, budget, side) =
            crate::roles::editor_and_side_models(&self.ctx, &mut self.notes)
                .map_err(|e| BackendError::new(format!("{e:#}")))?;
        self.editor = Some(editor);
        self.budget = budget;
        self.side = side;
        self.flush_notes(observer);
        Ok(())
    }

    fn run(
        &mut self,
        request: &str,
        files: &ChatFiles,
        history: &[ChatMessage],
        observer: &mut dyn Observer,
        reviewer: &mut dyn Reviewer,
        cancel: &CancelToken,
    ) -> Result<RunReport, BackendError> {
        let editor = loaded(&mut self.editor)?;
        let options = RunOptions {
            cancel: cancel.clone(),
            conversation: history.to_vec(),
            ..Default::default()
        };
        let mut pipeline = Pipeline::new(&self.repo, &self.ctx.config, editor, reviewer)
            .with_observer(observer)
            .with_options(options);
        if let Some(r) = self.researcher.as_deref_mut() {
            pipeline = pipeline.with_researcher(r);
        }
        if let Some(p) = self.planner.as_deref_mut() {
            pipeline = pipeline.with_planner(p);
        }
        pipeline = self.side.attach(pipeline);
        // The Editor may change the editable files; read-only ones reach the Architect through
        // the repository map's ranking of chat files.
        let editable: Vec<PathBuf> = files.editable.clone();
        pipeline
            .run(request, &editable)
            .map_err(|e| failed(e, cancel))
    }

    fn plan(
        &mut self,
        request: &str,
        files: &ChatFiles,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<String, BackendError> {
        let chat = all_files(files);
        observer.event(&Event::Phase {
            phase: Phase::Research,
            detail: "mapping the repository",
        });
        let research = match self.researcher.as_deref_mut() {
            Some(r) => r.research(request, &chat).map_err(BackendError::new)?,
            None => Default::default(),
        };
        observer.event(&Event::Phase {
            phase: Phase::Plan,
            detail: "planning",
        });
        let mut stream = |t: &str| {
            observer.event(&Event::Text {
                speaker: aidx_agent_core::pipeline::Speaker::Architect,
                text: t,
            })
        };
        let plan = match self.planner.as_deref_mut() {
            Some(planner) => planner.plan(request, &research, cancel, &mut stream),
            None if self.ctx.config.fully_local => {
                let editor = loaded(&mut self.editor)?;
                LocalPlanner::new(editor, 1024).plan(request, &research, cancel, &mut stream)
            }
            None => {
                return Err(BackendError::new(
                    "no architect is configured and fully-local is off: configure `architect:` in .aidx.yml",
                ));
            }
        }
        .map_err(|e| failed(e, cancel))?;
        let path = resolve_plan_path(self.repo.root(), &self.ctx.config.plan_file)
            .map_err(BackendError::new)?;
        write_plan_atomically(&path, &plan.markdown).map_err(BackendError::new)?;
        Ok(plan.markdown)
    }

    fn ask(
        &mut self,
        question: &str,
        files: &ChatFiles,
        history: &[ChatMessage],
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<String, BackendError> {
        let paths = Self::paths(files);
        let config = self.ctx.config.clone();
        let editor = loaded(&mut self.editor)?;
        ask(
            editor, &self.repo, &config, &paths, history, question, cancel, observer,
        )
        .map_err(|e| failed(e, cancel))
    }

    fn undo(&mut self) -> Result<String, BackendError> {
        let _guard = InterruptGuard::install();
        let undone = self.repo.undo_last().map_err(BackendError::new)?;
        let short = |oid: aidx_agent_core::git::Oid| oid.to_string()[..10].to_string();
        Ok(format!(
            "undid {} \"{}\"; HEAD is now {}; restored {}",
            short(undone.commit),
            undone.summary,
            short(undone.head),
            undone.paths.join(", ")
        ))
    }

    fn last_diff(&mut self) -> Result<String, BackendError> {
        Ok(match self.repo.last_change().map_err(BackendError::new)? {
            Some(change) => format!(
                "commit {}\n{}\n{}",
                change.commit, change.message, change.diff
            ),
            None => String::new(),
        })
    }

    fn commit(&mut self, message: Option<&str>) -> Result<String, BackendError> {
        match self
            .repo
            .commit_tracked_changes(message)
            .map_err(BackendError::new)?
        {
            Some(oid) => Ok(format!(
                "committed your changes to tracked files as {}",
                &oid.to_string()[..10]
            )),
            None => Ok("nothing to commit: tracked files are unchanged".into()),
        }
    }

    fn map(&mut self, request: &str, files: &ChatFiles) -> Result<String, BackendError> {
        let chat = all_files(files);
        let mut researcher = RepoMapResearcher::new(self.repo.root(), &self.ctx.config)
            .map_err(BackendError::new)?;
        let research = researcher
            .research(request, &chat)
            .map_err(BackendError::new)?;
        Ok(if research.map.trim().is_empty() {
            "the repository map is empty (no source files the map understands)".into()
        } else {
            research.map
        })
    }

    fn budget(&mut self) -> Result<String, BackendError> {
        match &self.budget {
            Some(budget) => Ok(memory::render(budget)),
            None => Ok(format!(
                "the Editor ({}) is not an embedded model or is not loaded yet: run `aidx budget --model …` for any GGUF",
                self.editor_name()
            )),
        }
    }

    fn tokens(
        &mut self,
        files: &ChatFiles,
        history: &[ChatMessage],
    ) -> Result<Vec<TokenLine>, BackendError> {
        let format = self
            .ctx
            .config
            .editor
            .edit_format
            .as_deref()
            .and_then(aidx_agent_core::edit::EditFormat::parse)
            .unwrap_or_default();
        let map_tokens = self.ctx.config.map_tokens;
        let paths = Self::paths(files);
        let config = self.ctx.config.clone();
        let repo = &self.repo;
        let editor = self.editor.as_deref_mut().ok_or_else(|| {
            BackendError::new("the Editor is not loaded yet; wait for it, then ask again")
        })?;
        let counter = EditorTokens(&*editor);
        let mut lines = vec![TokenLine {
            part: "Editor: system prompt".into(),
            tokens: counter.count_tokens(editor_system_prompt(format)),
        }];
        for path in &paths {
            let tokens = match repo.read_for_edit(path) {
                Ok(Some(text)) => counter.count_tokens(&text),
                _ => 0,
            };
            lines.push(TokenLine {
                part: format!("Editor: file {path}"),
                tokens,
            });
        }
        let history_tokens: usize = history
            .iter()
            .map(|m| counter.count_tokens(&m.content))
            .sum();
        lines.push(TokenLine {
            part: format!(
                "Architect: conversation history ({} messages, after the gate; Editor tokenizer)",
                history.len()
            ),
            tokens: history_tokens.min(config.max_chat_history_tokens),
        });
        lines.push(TokenLine {
            part: "Architect: repository map (at most)".into(),
            tokens: map_tokens,
        });
        // What `/ask` would send right now, as a check on the parts above.
        if let Ok((messages, _)) = ask_messages(&*editor, repo, &config, &paths, history, "") {
            let total = aidx_agent_core::gate::messages_tokens(&EditorTokens(&*editor), &messages);
            lines.push(TokenLine {
                part: "/ask: the whole prompt it would send now".into(),
                tokens: total,
            });
        }
        Ok(lines)
    }

    fn count_tokens(&mut self, text: &str) -> usize {
        match loaded(&mut self.editor) {
            Ok(editor) => editor.count_tokens(text),
            Err(_) => text.len().div_ceil(4),
        }
    }

    fn repo_files(&mut self) -> Vec<String> {
        self.repo.tracked_files().unwrap_or_default()
    }
}
