//! The terminal: raw mode and the alternate screen, always restored (on return, on error, on
//! panic through a hook), and the render loop that joins keys, worker messages and drawing.

use std::io::{Stdout, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event as TermEvent};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use thiserror::Error;

use crate::app::{Action, App};
use crate::backend::Backend;
use crate::history::{InputHistory, Transcript};
use crate::worker::Worker;

/// Why interactive mode could not run.
#[derive(Debug, Error)]
pub enum TuiError {
    /// The terminal could not be set up or drawn on.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// How to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository root (`.aidx/` holds the input history and the transcript).
    pub repo_root: PathBuf,
    /// Colours off (`NO_COLOR`).
    pub no_color: bool,
    /// A stamp for the transcript's session heading.
    pub started: String,
}

/// Puts the terminal back as it was; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(out, LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    let _ = out.flush();
}

/// Restores the terminal when dropped, so every way out of [`run`] leaves it usable.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn setup() -> Result<Terminal<CrosstermBackend<Stdout>>, TuiError> {
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen)?;
    Ok(Terminal::new(CrosstermBackend::new(out))?)
}

/// Runs interactive mode until the user quits.
pub fn run(
    make_backend: impl FnOnce() -> Result<Box<dyn Backend>, crate::BackendError> + Send + 'static,
    options: Options,
) -> Result<(), TuiError> {
    let aidx_dir = options.repo_root.join(".aidx");
    // The folder is aidx's own (history, transcript, log): keep it out of `git status`.
    let ignore = aidx_dir.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::create_dir_all(&aidx_dir);
        let _ = std::fs::write(
            &ignore,
            "# aidx's session files (history, transcript, log)\n*\n",
        );
    }
    let history = InputHistory::load(&aidx_dir.join("history"));
    let mut app = App::new(Default::default(), history);
    app.no_color = options.no_color;
    match Transcript::open(&aidx_dir.join("transcript.md"), &options.started) {
        Ok(t) => app = app.with_transcript(t),
        Err(e) => tracing::warn!(error = %e, "no transcript"),
    }
    let worker = Worker::start(make_backend)?;

    // A panic anywhere restores the terminal before the message is printed.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The worker catches its own panics and reports them in a panel: the screen stays.
        if std::thread::current().name() != Some(crate::worker::WORKER_THREAD) {
            restore();
        }
        previous(info);
    }));
    let _restore = Restore;
    let mut terminal = setup()?;

    let mut pending = app.start();
    loop {
        for action in std::mem::take(&mut pending) {
            match action {
                Action::Submit(job, token) => worker.submit(job, token),
                Action::Quit => {
                    drop(terminal);
                    restore();
                    // The worker's drop waits for the job in flight, which was cancelled.
                    drop(app);
                    drop(worker);
                    return Ok(());
                }
                Action::EditFile {
                    file,
                    content,
                    path,
                } => {
                    let ext = Path::new(&path)
                        .extension()
                        .map(|e| format!(".{}", e.to_string_lossy()))
                        .unwrap_or_default();
                    if let Some(text) = edit_in_editor(&mut terminal, &content, &ext)? {
                        app.file_edited(file, text);
                    }
                }
                Action::EditMessage(message) => {
                    if let Some(text) = edit_in_editor(&mut terminal, &message, ".txt")? {
                        app.message_edited(text);
                    }
                }
            }
        }
        // Everything the worker sent since the last frame, then one frame.
        let mut received = 0;
        while let Ok(message) = worker.events.try_recv() {
            pending.extend(app.on_worker(message));
            received += 1;
            if received >= 256 {
                break;
            }
        }
        terminal.draw(|frame| crate::ui::draw(frame, &app))?;
        if !pending.is_empty() {
            continue;
        }
        if event::poll(Duration::from_millis(33))? {
            // Keys first: drain what is there so typing never waits behind a stream.
            loop {
                match event::read()? {
                    TermEvent::Key(key) => pending.extend(app.on_key(key)),
                    TermEvent::Paste(text) => {
                        for c in text.chars().filter(|c| *c != '\r') {
                            let key = ratatui::crossterm::event::KeyEvent::from(
                                ratatui::crossterm::event::KeyCode::Char(if c == '\n' {
                                    ' '
                                } else {
                                    c
                                }),
                            );
                            pending.extend(app.on_key(key));
                        }
                    }
                    // Resizing needs nothing: the next draw fits the new size.
                    _ => {}
                }
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        } else {
            app.on_tick();
        }
    }
}

/// Leaves the screen, opens `$VISUAL`/`$EDITOR` (else `vi`) on `content` in a temporary file,
/// and returns the saved text (`None` when the editor failed or nothing changed).
fn edit_in_editor(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    content: &str,
    ext: &str,
) -> Result<Option<String>, TuiError> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let dir = std::env::temp_dir();
    let path = dir.join(format!("aidx-edit-{}{ext}", std::process::id()));
    std::fs::write(&path, content)?;
    restore();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("aidx-editor")
        .arg(&path)
        .status();
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    terminal.clear()?;
    let text = std::fs::read_to_string(&path).ok();
    let _ = std::fs::remove_file(&path);
    match status {
        Ok(s) if s.success() => Ok(text.filter(|t| t != content)),
        _ => Ok(None),
    }
}
