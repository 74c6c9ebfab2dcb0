//! Drawing the [`App`]: conversation, plan, files and diff panes, the input line and the status
//! bar with its gauges; the review, help and error screens over them. Pure: a frame in, cells
//! out, so every screen is a snapshot test.

use aidx_agent_core::pipeline::{Phase, Speaker};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, LineGauge, Paragraph};
use unicode_width::UnicodeWidthChar;

use crate::app::{App, Mode, ReviewStage, ReviewState, Who};

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Colours, or none of them under `NO_COLOR`.
struct Theme {
    on: bool,
}

impl Theme {
    fn fg(&self, color: Color) -> Style {
        if self.on {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }
    fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    fn who(&self, who: Who) -> (String, Style) {
        match who {
            Who::User => (
                "you".into(),
                self.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Who::Role(s) => (
                s.to_string(),
                self.fg(match s {
                    Speaker::Researcher => Color::Magenta,
                    Speaker::Architect => Color::Blue,
                    Speaker::Editor => Color::Green,
                    Speaker::Verifier => Color::Yellow,
                })
                .add_modifier(Modifier::BOLD),
            ),
            Who::System => ("aidx".into(), self.fg(Color::DarkGray)),
            Who::Error => (
                "error".into(),
                self.fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
        }
    }
    fn diff_line(&self, line: &str) -> Style {
        if line.starts_with("+++") || line.starts_with("---") || line.starts_with("diff ") {
            self.bold()
        } else if line.starts_with('+') {
            self.fg(Color::Green)
        } else if line.starts_with('-') {
            self.fg(Color::Red)
        } else if line.starts_with("@@") {
            self.fg(Color::Cyan)
        } else {
            Style::default()
        }
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let theme = Theme { on: !app.no_color };
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        frame.render_widget(Paragraph::new("aidx: window too small"), area);
        return;
    }
    let input_height = if app.hint.is_some() { 4 } else { 3 };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(3),
            Constraint::Length(input_height),
            Constraint::Length(1),
        ])
        .split(area);
    let side = if area.width >= 60 {
        (area.width * 35 / 100).clamp(24, 48)
    } else {
        0
    };
    let main = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Min(20), Constraint::Length(side)])
        .split(rows[0]);

    match &app.mode {
        Mode::Review(review) => {
            draw_review(frame, main[0], review, &theme);
            if side > 0 {
                draw_review_side(frame, main[1], review, &theme);
            }
        }
        _ => {
            draw_conversation(frame, main[0], app, &theme);
            if side > 0 {
                draw_side(frame, main[1], app, &theme);
            }
        }
    }
    draw_input(frame, rows[1], app, &theme);
    draw_status(frame, rows[2], app, &theme);

    match &app.mode {
        Mode::Help => draw_help(frame, rows[0], &theme),
        Mode::Error(text) => draw_error(frame, rows[0], text, &theme),
        _ => {}
    }
}

/// `text` wrapped to `width` columns (by display width; words are not kept whole, which keeps
/// code and paths exact).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for raw in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for c in raw.chars() {
            let c = if c == '\t' { ' ' } else { c };
            let w = c.width().unwrap_or(0);
            if used + w > width {
                out.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += w;
        }
        out.push(line);
    }
    out
}

fn draw_conversation(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Conversation ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line<'_>> = Vec::new();
    if app.entries.is_empty() {
        lines.push(Line::styled(
            "Type a request and press Enter; /help lists the commands.",
            theme.fg(Color::DarkGray),
        ));
        lines.push(Line::styled(
            "/add FILE puts a file in the chat; the repository map finds the rest.",
            theme.fg(Color::DarkGray),
        ));
    }
    for entry in &app.entries {
        let (name, style) = theme.who(entry.who);
        lines.push(Line::from(Span::styled(format!("{name}:"), style)));
        let body_style = match entry.who {
            Who::Error => theme.fg(Color::Red),
            Who::System => theme.fg(Color::DarkGray),
            _ => Style::default(),
        };
        for l in wrap(entry.text.trim_end_matches('\n'), width.saturating_sub(2)) {
            lines.push(Line::styled(format!("  {l}"), body_style));
        }
    }
    let height = inner.height as usize;
    let end = lines.len().saturating_sub(app.scroll.min(lines.len()));
    let start = end.saturating_sub(height);
    let shown: Vec<Line<'_>> = lines.drain(start..end).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn draw_side(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let files = app.files.editable.len() + app.files.read_only.len();
    let files_height = (files.max(1) as u16 + 2).min(8);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Percentage(50),
            Constraint::Length(files_height),
            Constraint::Min(3),
        ])
        .split(area);

    let plan_block = Block::default().borders(Borders::ALL).title(" plan.md ");
    let inner = plan_block.inner(parts[0]);
    frame.render_widget(plan_block, parts[0]);
    let plan: Vec<Line<'_>> = if app.plan.is_empty() {
        vec![Line::styled("(no plan yet)", theme.fg(Color::DarkGray))]
    } else {
        let wrapped = wrap(app.plan.trim_end(), inner.width as usize);
        // Follow the end while the plan streams in.
        let skip = wrapped.len().saturating_sub(inner.height as usize);
        wrapped
            .into_iter()
            .skip(skip)
            .map(|l| {
                if l.starts_with('#') {
                    Line::styled(l, theme.bold())
                } else {
                    Line::raw(l)
                }
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(plan), inner);

    let files_block = Block::default().borders(Borders::ALL).title(" Files ");
    let inner = files_block.inner(parts[1]);
    frame.render_widget(files_block, parts[1]);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for f in &app.files.editable {
        lines.push(Line::from(vec![
            Span::raw(f.display().to_string()),
            Span::styled(" (edit)", theme.fg(Color::Green)),
        ]));
    }
    for f in &app.files.read_only {
        lines.push(Line::from(vec![
            Span::raw(f.display().to_string()),
            Span::styled(" (read-only)", theme.fg(Color::DarkGray)),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled("none: /add FILE", theme.fg(Color::DarkGray)));
    }
    frame.render_widget(Paragraph::new(lines), inner);

    let diff_block = Block::default().borders(Borders::ALL).title(" Diff ");
    let inner = diff_block.inner(parts[2]);
    frame.render_widget(diff_block, parts[2]);
    let diff: Vec<Line<'_>> = if app.diff.is_empty() {
        vec![Line::styled("(no change yet)", theme.fg(Color::DarkGray))]
    } else {
        wrap(app.diff.trim_end(), inner.width as usize)
            .into_iter()
            .take(inner.height as usize)
            .map(|l| {
                let style = theme.diff_line(&l);
                Line::styled(l, style)
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(diff), inner);
}

fn draw_review(frame: &mut Frame<'_>, area: Rect, review: &ReviewState, theme: &Theme) {
    match review.stage {
        ReviewStage::Hunks => {
            let file = &review.files[review.file.min(review.files.len() - 1)];
            let hunk = file.hunks.get(review.hunk);
            let number: usize = review.files[..review.file]
                .iter()
                .map(|f| f.hunks.len())
                .sum::<usize>()
                + review.hunk
                + 1;
            let title = format!(
                " Review {number}/{} · {}{} ",
                review.total(),
                file.path,
                if file.created { " (new)" } else { "" }
            );
            let block = Block::default().borders(Borders::ALL).title(title);
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let mut lines: Vec<Line<'_>> = Vec::new();
            if review.edited.contains_key(&review.file) {
                lines.push(Line::styled(
                    "(rewritten in $EDITOR: this file lands as you saved it)",
                    theme.fg(Color::Yellow),
                ));
            }
            if let Some(hunk) = hunk {
                lines.push(Line::styled(hunk.header.clone(), theme.fg(Color::Cyan)));
                for l in wrap(hunk.body.trim_end(), inner.width as usize) {
                    let style = theme.diff_line(&l);
                    lines.push(Line::styled(l, style));
                }
            }
            let height = inner.height.saturating_sub(1) as usize;
            lines.truncate(height);
            while lines.len() < height {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(
                "y/n hunk · a/d rest of file · e edit · q done",
                theme.bold(),
            ));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        ReviewStage::Confirm | ReviewStage::Feedback => {
            let block = Block::default()
                .borders(Borders::ALL)
                .title(format!(" Commit? (review round {}) ", review.round));
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let rejected = review.total() - review.accepted();
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(
                        format!("{} accepted", review.accepted()),
                        theme.fg(Color::Green),
                    ),
                    Span::raw(", "),
                    Span::styled(format!("{rejected} rejected"), theme.fg(Color::Red)),
                    Span::raw(format!(" of {} hunk(s)", review.total())),
                ]),
                Line::raw(format!(
                    "rejected hunks: {} (u toggles)",
                    if review.keep_rejected {
                        "kept in the working tree, unstaged"
                    } else {
                        "discarded"
                    }
                )),
                Line::raw(""),
                Line::styled(
                    if review.message_edited {
                        "commit message (edited):"
                    } else {
                        "commit message:"
                    },
                    theme.bold(),
                ),
            ];
            for l in wrap(review.commit_message.trim_end(), inner.width as usize) {
                lines.push(Line::raw(l));
            }
            let height = inner.height.saturating_sub(1) as usize;
            lines.truncate(height);
            while lines.len() < height {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(
                if review.stage == ReviewStage::Feedback {
                    "type what the Editor should change, Enter sends, Esc back"
                } else {
                    "Enter commit · m message · f feedback · r redo · q abort"
                },
                theme.bold(),
            ));
            frame.render_widget(Paragraph::new(lines), inner);
        }
    }
}

fn draw_review_side(frame: &mut Frame<'_>, area: Rect, review: &ReviewState, theme: &Theme) {
    let block = Block::default().borders(Borders::ALL).title(" Hunks ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (fi, file) in review.files.iter().enumerate() {
        lines.push(Line::styled(file.path.clone(), theme.bold()));
        for (hi, hunk) in file.hunks.iter().enumerate() {
            let id = aidx_agent_core::pipeline::HunkId { file: fi, hunk: hi };
            let (mark, style) = match review.decisions.get(&id) {
                Some(true) => ("✓", theme.fg(Color::Green)),
                Some(false) => ("✗", theme.fg(Color::Red)),
                None => ("·", Style::default()),
            };
            let here = review.stage == ReviewStage::Hunks && review.current() == id;
            let text = format!(
                "{} {mark} +{} -{} {}",
                if here { ">" } else { " " },
                hunk.added,
                hunk.removed,
                hunk.header
            );
            let style = if here {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style
            };
            lines.push(Line::styled(text, style));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_input(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let title = match &app.mode {
        Mode::Review(r) if r.stage == ReviewStage::Feedback => " feedback for the Editor ",
        Mode::Review(_) => " reviewing: keys below act on the change ",
        _ => " > request or /command (Tab completes, /help) ",
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    // Keep the cursor in view on long lines.
    let chars: Vec<char> = app.input.chars().collect();
    let start = app.cursor.saturating_sub(width.saturating_sub(1));
    let visible: String = chars[start.min(chars.len())..].iter().take(width).collect();
    let mut lines = vec![Line::raw(visible)];
    if let Some(hint) = &app.hint {
        lines.push(Line::styled(hint.clone(), theme.fg(Color::Yellow)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let typing = match &app.mode {
        Mode::Chat => true,
        Mode::Review(r) => r.stage == ReviewStage::Feedback,
        _ => false,
    };
    if typing {
        let before: usize = chars[start.min(chars.len())..app.cursor.min(chars.len())]
            .iter()
            .map(|c| c.width().unwrap_or(0))
            .sum();
        frame.set_cursor_position((inner.x + before as u16, inner.y));
    }
}

/// `1234` as `1.2k`.
fn short(n: f64) -> String {
    if n >= 1000.0 {
        format!("{:.1}k", n / 1000.0)
    } else {
        format!("{n:.0}")
    }
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let parts = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([
            Constraint::Min(16),
            Constraint::Length(if area.width >= 100 { 24 } else { 18 }),
            Constraint::Length(if area.width >= 100 { 26 } else { 19 }),
            Constraint::Length(if area.width >= 100 { 20 } else { 12 }),
        ])
        .split(area);
    let activity = match &app.busy {
        Some(busy) => {
            let spin = SPINNER[app.tick % SPINNER.len()];
            let role = match busy.phase {
                Some(Phase::Plan) => "Architect",
                Some(Phase::Edit) => "Editor",
                Some(Phase::Research) => "Researcher",
                Some(Phase::Load) => "loading",
                Some(Phase::Review) => "review",
                Some(Phase::Validate) => "checks",
                Some(Phase::Land) => "git",
                None => busy.label,
            };
            let state = if busy.cancelling { " cancelling" } else { "" };
            format!("{spin} {role}{state} · {}", app.status.editor)
        }
        None => format!("● Editor · {}", app.status.editor),
    };
    let room = (parts[0].width as usize).saturating_sub(2);
    let activity: String = if activity.chars().count() > room {
        let mut cut: String = activity.chars().take(room.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        activity
    };
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {activity}"), theme.fg(Color::Cyan))),
        parts[0],
    );
    let limit = app.status.history_limit as f64;
    let used = app.history_tokens as f64;
    let ratio = if limit > 0.0 {
        (used / limit).clamp(0.0, 1.0)
    } else {
        0.0
    };
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio)
            .label(format!("ctx {}/{}", short(used), short(limit)))
            .filled_style(theme.fg(if ratio > 0.9 {
                Color::Red
            } else {
                Color::Green
            }))
            .unfilled_style(theme.fg(Color::DarkGray)),
        parts[1],
    );
    let gib = 1024.0 * 1024.0 * 1024.0;
    match app.status.memory {
        Some(mem) => frame.render_widget(
            LineGauge::default()
                .ratio(mem.ratio())
                .label(format!("mem {:.1}/{:.0}G", mem.used / gib, mem.limit / gib))
                .filled_style(theme.fg(if mem.ratio() > 0.9 {
                    Color::Red
                } else {
                    Color::Yellow
                }))
                .unfilled_style(theme.fg(Color::DarkGray)),
            parts[2],
        ),
        None => frame.render_widget(Paragraph::new(" mem n/a"), parts[2]),
    }
    let dirty = if app.status.dirty > 0 {
        format!(" {}*{}", app.status.branch, app.status.dirty)
    } else {
        format!(" {}", app.status.branch)
    };
    frame.render_widget(
        Paragraph::new(Line::styled(dirty, theme.fg(Color::Magenta))),
        parts[3],
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let commands = crate::commands::COMMANDS;
    let keys: Vec<(String, String)> = App::help_lines().split_off(commands.len());
    // Two columns of commands when one would not fit (80×24).
    let two = area.height < (commands.len() + keys.len() + 2) as u16;
    let command_rows = if two {
        commands.len().div_ceil(2)
    } else {
        commands.len()
    };
    let popup = centered(area, 78, (command_rows + keys.len() + 2) as u16);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Help · any key closes ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let cell = |(k, h): (&str, &str), width: usize| {
        let text: String = h.chars().take(width.saturating_sub(11)).collect();
        vec![
            Span::styled(format!("{k:<11}"), theme.fg(Color::Cyan)),
            Span::raw(format!("{text:<w$}", w = width.saturating_sub(11))),
        ]
    };
    if two {
        let half = inner.width as usize / 2;
        for row in 0..command_rows {
            let mut spans = cell(commands[row], half);
            if let Some(right) = commands.get(row + command_rows) {
                spans.extend(cell(*right, half));
            }
            lines.push(Line::from(spans));
        }
    } else {
        for c in commands {
            lines.push(Line::from(cell(*c, inner.width as usize)));
        }
    }
    for (k, h) in &keys {
        lines.push(Line::from(cell((k, h), inner.width as usize)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_error(frame: &mut Frame<'_>, area: Rect, text: &str, theme: &Theme) {
    let width = area.width.saturating_sub(8).clamp(20, 90);
    let wrapped = wrap(text.trim_end(), width.saturating_sub(2) as usize);
    let popup = centered(area, width, wrapped.len() as u16 + 4);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.fg(Color::Red))
        .title(" Error · any key closes ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut lines: Vec<Line<'_>> = wrapped.into_iter().map(Line::raw).collect();
    lines.push(Line::raw(""));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_splits_by_width_and_keeps_empty_lines() {
        assert_eq!(wrap("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(wrap("a\n\nb", 4), vec!["a", "", "b"]);
        assert_eq!(wrap("日本語", 4), vec!["日本", "語"]);
    }
}
