//! Commit messages in the aidx handbook convention (ADR 26003 / ADR 26024):
//!
//! ```text
//! refactor(parser): split the tokenizer out of the parser
//!
//! ArchTag:TECHDEBT-PAYMENT
//! - Refactored: `src/parser.rs` — tokenizing moved out (+3 −40 lines)
//! - Created: `src/tokenizer.rs` — tokenizer on its own (+41 lines)
//!
//! Plan: artifacts/plan.md
//! Refs: R1, R3
//! Aidx-Run: 20261130T101500Z-4242
//! ```
//!
//! [`CommitMessage::build`] produces such a message deterministically from the plan's intent and
//! the applied changes, repairing what it can (over-long subject, missing ArchTag, scope
//! spelling); [`validate_commit_message`] checks any message against the rules and runs before
//! every aidx commit.

use std::collections::BTreeMap;
use std::fmt;

use crate::edit::FileChange;

use super::RUN_TRAILER;

/// Longest allowed subject line (type, scope and description together).
pub const MAX_HEADER_CHARS: usize = 72;
/// Default path of the plan named in the `Plan:` trailer.
pub const DEFAULT_PLAN_PATH: &str = "artifacts/plan.md";
/// The ArchTag vocabulary.
pub const ARCH_TAGS: [&str; 4] = [
    "DEPRECATION-PLANNED",
    "TECHDEBT-PAYMENT",
    "REFACTOR-MIGRATION",
    "PERF-OPTIMIZATION",
];

/// Conventional Commits types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitType {
    /// A new feature.
    Feat,
    /// A bug fix.
    Fix,
    /// Documentation only.
    Docs,
    /// Formatting only.
    Style,
    /// Restructuring without behaviour change (needs an ArchTag).
    Refactor,
    /// Performance work (needs an ArchTag).
    Perf,
    /// Tests only.
    Test,
    /// Build system or dependencies.
    Build,
    /// Continuous integration.
    Ci,
    /// Maintenance.
    Chore,
    /// Reverting a commit.
    Revert,
}

impl CommitType {
    /// All types, in the order they are documented.
    pub const ALL: [CommitType; 11] = [
        CommitType::Feat,
        CommitType::Fix,
        CommitType::Docs,
        CommitType::Style,
        CommitType::Refactor,
        CommitType::Perf,
        CommitType::Test,
        CommitType::Build,
        CommitType::Ci,
        CommitType::Chore,
        CommitType::Revert,
    ];

    /// The lowercase keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitType::Feat => "feat",
            CommitType::Fix => "fix",
            CommitType::Docs => "docs",
            CommitType::Style => "style",
            CommitType::Refactor => "refactor",
            CommitType::Perf => "perf",
            CommitType::Test => "test",
            CommitType::Build => "build",
            CommitType::Ci => "ci",
            CommitType::Chore => "chore",
            CommitType::Revert => "revert",
        }
    }

    /// Parses a keyword (case-insensitive).
    pub fn parse(keyword: &str) -> Option<Self> {
        CommitType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(keyword.trim()))
    }

    /// Whether this type needs an ArchTag regardless of breaking changes.
    pub fn needs_arch_tag(self) -> bool {
        matches!(self, CommitType::Refactor | CommitType::Perf)
    }
}

impl fmt::Display for CommitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verb of a body bullet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeVerb {
    /// A new file.
    Created,
    /// A changed file.
    Updated,
    /// A removed file.
    Deleted,
    /// A renamed file.
    Renamed,
    /// A fix in a file.
    Fixed,
    /// A moved file.
    Moved,
    /// Something added to a file.
    Added,
    /// Something removed from a file.
    Removed,
    /// Restructured code.
    Refactored,
    /// Configuration changed.
    Configured,
}

impl ChangeVerb {
    /// All verbs the convention allows.
    pub const ALL: [ChangeVerb; 10] = [
        ChangeVerb::Created,
        ChangeVerb::Updated,
        ChangeVerb::Deleted,
        ChangeVerb::Renamed,
        ChangeVerb::Fixed,
        ChangeVerb::Moved,
        ChangeVerb::Added,
        ChangeVerb::Removed,
        ChangeVerb::Refactored,
        ChangeVerb::Configured,
    ];

    /// The capitalized word.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeVerb::Created => "Created",
            ChangeVerb::Updated => "Updated",
            ChangeVerb::Deleted => "Deleted",
            ChangeVerb::Renamed => "Renamed",
            ChangeVerb::Fixed => "Fixed",
            ChangeVerb::Moved => "Moved",
            ChangeVerb::Added => "Added",
            ChangeVerb::Removed => "Removed",
            ChangeVerb::Refactored => "Refactored",
            ChangeVerb::Configured => "Configured",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        ChangeVerb::ALL.into_iter().find(|v| v.as_str() == word)
    }
}

/// One body bullet: ``- <Verb>: `<path>` — <what/why>``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNote {
    /// What happened to the file.
    pub verb: ChangeVerb,
    /// Repository-relative path.
    pub path: String,
    /// What changed and why.
    pub what: String,
}

/// What the plan says about the change; the input of [`CommitMessage::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitIntent {
    /// Conventional Commits type.
    pub commit_type: CommitType,
    /// Optional scope (sanitized when built).
    pub scope: Option<String>,
    /// Short imperative description.
    pub subject: String,
    /// Whether the change breaks compatibility (`!` and an ArchTag).
    pub breaking: bool,
    /// ArchTag; derived from the type when required and missing.
    pub arch_tag: Option<String>,
    /// Per-file what/why from the plan, by path; files without a note get a description
    /// computed from the change.
    pub file_notes: BTreeMap<String, String>,
    /// The plan file named in the `Plan:` trailer.
    pub plan_path: String,
    /// Research reference ids for the `Refs:` trailer.
    pub refs: Vec<String>,
}

impl CommitIntent {
    /// An intent with no scope, notes or refs and the default plan path.
    pub fn new(commit_type: CommitType, subject: impl Into<String>) -> Self {
        CommitIntent {
            commit_type,
            scope: None,
            subject: subject.into(),
            breaking: false,
            arch_tag: None,
            file_notes: BTreeMap::new(),
            plan_path: DEFAULT_PLAN_PATH.to_string(),
            refs: Vec::new(),
        }
    }
}

/// A complete commit message, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessage {
    /// Conventional Commits type.
    pub commit_type: CommitType,
    /// Sanitized scope.
    pub scope: Option<String>,
    /// Description (fits the header limit).
    pub subject: String,
    /// Breaking change marker.
    pub breaking: bool,
    /// ArchTag, present when required.
    pub arch_tag: Option<String>,
    /// One bullet per changed file, in path order.
    pub files: Vec<FileNote>,
    /// `Plan:` trailer.
    pub plan_path: String,
    /// `Refs:` trailer (`none` when empty).
    pub refs: Vec<String>,
    /// `Aidx-Run:` trailer marking the commit as aidx's.
    pub run_id: String,
}

impl CommitMessage {
    /// Builds the message for `changes` deterministically (same inputs, same text), repairing
    /// what breaks the convention: the subject is trimmed, stripped of a final period and cut
    /// to fit [`MAX_HEADER_CHARS`]; the scope is lowercased and restricted to `[a-z0-9._/-]`; a
    /// required but missing or unknown ArchTag is derived from the type.
    pub fn build(intent: &CommitIntent, changes: &[FileChange], run_id: &str) -> Self {
        let scope = intent.scope.as_deref().and_then(sanitize_scope);
        let breaking = intent.breaking;
        let needs_tag = intent.commit_type.needs_arch_tag() || breaking;
        let arch_tag = if needs_tag {
            let given = intent.arch_tag.as_deref().map(|t| {
                t.trim()
                    .trim_start_matches("ArchTag:")
                    .trim()
                    .to_uppercase()
            });
            Some(match given {
                Some(tag) if ARCH_TAGS.contains(&tag.as_str()) => tag,
                _ => default_arch_tag(intent.commit_type).to_string(),
            })
        } else {
            None
        };
        let prefix_len = header_prefix(intent.commit_type, scope.as_deref(), breaking)
            .chars()
            .count();
        let subject = fit_subject(&intent.subject, MAX_HEADER_CHARS.saturating_sub(prefix_len));

        let mut files: Vec<FileNote> = changes
            .iter()
            .map(|change| FileNote {
                verb: verb_for(intent.commit_type, change),
                path: change.path.clone(),
                what: intent
                    .file_notes
                    .get(&change.path)
                    .map(|n| one_line(n))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| describe_change(change, &subject)),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);

        let plan_path = match intent.plan_path.trim() {
            "" => DEFAULT_PLAN_PATH.to_string(),
            p => p.to_string(),
        };
        let refs = intent
            .refs
            .iter()
            .map(|r| one_line(r))
            .filter(|r| !r.is_empty())
            .collect();
        CommitMessage {
            commit_type: intent.commit_type,
            scope,
            subject,
            breaking,
            arch_tag,
            files,
            plan_path,
            refs,
            run_id: one_line(run_id),
        }
    }

    /// The header line `<type>[(<scope>)][!]: <subject>`.
    pub fn header(&self) -> String {
        format!(
            "{}{}",
            header_prefix(self.commit_type, self.scope.as_deref(), self.breaking),
            self.subject
        )
    }

    /// The full message text.
    pub fn render(&self) -> String {
        let mut out = self.header();
        out.push_str("\n\n");
        if let Some(tag) = &self.arch_tag {
            out.push_str(&format!("ArchTag:{tag}\n"));
        }
        for note in &self.files {
            out.push_str(&format!(
                "- {}: `{}` — {}\n",
                note.verb.as_str(),
                note.path,
                note.what
            ));
        }
        out.push('\n');
        out.push_str(&format!("Plan: {}\n", self.plan_path));
        let refs = if self.refs.is_empty() {
            "none".to_string()
        } else {
            self.refs.join(", ")
        };
        out.push_str(&format!("Refs: {refs}\n"));
        out.push_str(&format!("{RUN_TRAILER}: {}\n", self.run_id));
        out
    }
}

fn header_prefix(commit_type: CommitType, scope: Option<&str>, breaking: bool) -> String {
    let scope = scope.map(|s| format!("({s})")).unwrap_or_default();
    let bang = if breaking { "!" } else { "" };
    format!("{commit_type}{scope}{bang}: ")
}

fn default_arch_tag(commit_type: CommitType) -> &'static str {
    match commit_type {
        CommitType::Perf => "PERF-OPTIMIZATION",
        CommitType::Refactor => "TECHDEBT-PAYMENT",
        _ => "REFACTOR-MIGRATION",
    }
}

fn sanitize_scope(scope: &str) -> Option<String> {
    let cleaned: String = scope
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        .collect();
    let cleaned = cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Collapses whitespace (including newlines) to single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts the subject to `max` characters at a word boundary and drops a final period.
fn fit_subject(subject: &str, max: usize) -> String {
    let mut s = one_line(subject);
    s = s.trim_end_matches('.').trim().to_string();
    if s.is_empty() {
        s = "apply planned edits".to_string();
    }
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        s = match cut.rfind(' ') {
            Some(space) if space > max / 2 => cut[..space].to_string(),
            _ => cut,
        };
        s = s.trim_end_matches(['.', ',', ';', ':']).trim().to_string();
    }
    s
}

fn verb_for(commit_type: CommitType, change: &FileChange) -> ChangeVerb {
    match (change.before.is_some(), commit_type) {
        (false, _) => ChangeVerb::Created,
        (true, CommitType::Fix) => ChangeVerb::Fixed,
        (true, CommitType::Refactor) => ChangeVerb::Refactored,
        (true, _) => ChangeVerb::Updated,
    }
}

/// A deterministic what/why when the plan gave none: the subject and the line counts.
fn describe_change(change: &FileChange, subject: &str) -> String {
    let before = change.before.as_deref().unwrap_or("");
    let diff = similar::TextDiff::from_lines(before, change.after.as_str());
    let (mut added, mut removed) = (0usize, 0usize);
    for op in diff.ops() {
        for c in diff.iter_changes(op) {
            match c.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
    }
    if change.before.is_none() {
        let unit = if added == 1 { "line" } else { "lines" };
        format!("{subject} (new file, {added} {unit})")
    } else {
        format!("{subject} (+{added} −{removed} lines)")
    }
}

/// One way a message breaks the convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageProblem {
    /// 1-based line number (0 for the message as a whole).
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for MessageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// Checks `message` against the convention.
///
/// Rules: a Conventional Commits header of at most [`MAX_HEADER_CHARS`] characters with no
/// final period; a blank second line; an `ArchTag:TAG` first body line when the type is
/// refactor or perf or the change is breaking; at least one ``- <Verb>: `<path>` — <what>``
/// bullet; `Plan:` and `Refs:` trailers. When `changed_files` is given, every changed file has
/// exactly one bullet and no bullet names another file.
pub fn validate_commit_message(
    message: &str,
    changed_files: Option<&[String]>,
) -> Result<(), Vec<MessageProblem>> {
    let mut problems = Vec::new();
    let mut problem = |line: usize, text: String| {
        problems.push(MessageProblem {
            line,
            message: text,
        })
    };
    let lines: Vec<&str> = message.lines().collect();
    let Some(header) = lines.first() else {
        return Err(vec![MessageProblem {
            line: 0,
            message: "the message is empty".into(),
        }]);
    };

    let parsed = parse_header(header);
    let (commit_type, mut breaking) = match &parsed {
        Ok((t, b)) => (Some(*t), *b),
        Err(e) => {
            problem(1, e.clone());
            (None, false)
        }
    };
    if header.chars().count() > MAX_HEADER_CHARS {
        problem(
            1,
            format!(
                "the header has {} characters; keep it within {MAX_HEADER_CHARS}",
                header.chars().count()
            ),
        );
    }
    if header.trim_end().ends_with('.') {
        problem(1, "the header ends with a period; remove it".into());
    }
    if lines.len() < 2 || !lines[1].trim().is_empty() {
        problem(
            2,
            "the second line must be blank, separating the header from the body".into(),
        );
    }

    let body: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .skip(2)
        .map(|(i, l)| (i + 1, *l))
        .collect();
    if body
        .iter()
        .any(|(_, l)| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"))
    {
        breaking = true;
    }
    let first_body = body.iter().find(|(_, l)| !l.trim().is_empty());
    let needs_tag = commit_type.is_some_and(CommitType::needs_arch_tag) || breaking;
    match first_body {
        Some((n, l)) if l.starts_with("ArchTag:") => {
            let tag = &l["ArchTag:".len()..];
            if !ARCH_TAGS.contains(&tag) {
                problem(
                    *n,
                    format!(
                        "unknown ArchTag `{tag}`: write `ArchTag:TAG` with TAG one of {}",
                        ARCH_TAGS.join(", ")
                    ),
                );
            }
        }
        Some((n, _)) if needs_tag => problem(
            *n,
            format!(
                "this type needs `ArchTag:TAG` as the first body line (TAG one of {})",
                ARCH_TAGS.join(", ")
            ),
        ),
        None if needs_tag => problem(0, "this type needs an `ArchTag:TAG` body line".into()),
        _ => {}
    }
    if let Some((n, _)) = body
        .iter()
        .skip_while(|(_, l)| l.trim().is_empty())
        .skip(1)
        .find(|(_, l)| l.starts_with("ArchTag:"))
    {
        problem(
            *n,
            "ArchTag must be the first body line, and only one".into(),
        );
    }

    let mut bullet_paths: Vec<String> = Vec::new();
    for (n, line) in &body {
        if let Some(rest) = line.strip_prefix("- ") {
            match parse_bullet(rest) {
                Ok(path) => bullet_paths.push(path),
                Err(e) => problem(*n, e),
            }
        }
    }
    if bullet_paths.is_empty() {
        problem(
            0,
            "the body needs one bullet per changed file: - <Verb>: `<path>` — <what/why>".into(),
        );
    }

    let trailers: Vec<&str> = body
        .iter()
        .map(|(_, l)| *l)
        .filter(|l| is_trailer(l))
        .collect();
    for key in ["Plan", "Refs"] {
        match trailers.iter().find(|l| l.starts_with(&format!("{key}:"))) {
            Some(l) if l[key.len() + 1..].trim().is_empty() => {
                problem(0, format!("the `{key}:` trailer is empty"));
            }
            Some(_) => {}
            None => problem(
                0,
                format!("add the `{key}:` trailer ({})", trailer_hint(key)),
            ),
        }
    }

    if let Some(files) = changed_files {
        for file in files {
            match bullet_paths.iter().filter(|p| *p == file).count() {
                0 => problem(0, format!("no bullet names the changed file `{file}`")),
                1 => {}
                _ => problem(0, format!("`{file}` has more than one bullet")),
            }
        }
        for path in &bullet_paths {
            if !files.contains(path) {
                problem(
                    0,
                    format!("the bullet for `{path}` names a file this commit does not change"),
                );
            }
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn trailer_hint(key: &str) -> &'static str {
    if key == "Plan" {
        "Plan: artifacts/plan.md"
    } else {
        "Refs: <research ids>"
    }
}

fn is_trailer(line: &str) -> bool {
    match line.split_once(':') {
        Some((key, _)) => {
            !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && key != "ArchTag"
        }
        None => false,
    }
}

/// Parses `<type>[(<scope>)][!]: <subject>`; returns the type and the breaking marker.
fn parse_header(header: &str) -> Result<(CommitType, bool), String> {
    let expected = "write the header as `<type>[(<scope>)]: <subject>`";
    let Some((prefix, subject)) = header.split_once(": ") else {
        return Err(format!("no `: ` after the type; {expected}"));
    };
    if subject.trim().is_empty() {
        return Err(format!("the subject is empty; {expected}"));
    }
    let (prefix, breaking) = match prefix.strip_suffix('!') {
        Some(p) => (p, true),
        None => (prefix, false),
    };
    let (keyword, scope) = match prefix.split_once('(') {
        Some((k, rest)) => {
            let Some(scope) = rest.strip_suffix(')') else {
                return Err(format!("the scope is not closed by `)`; {expected}"));
            };
            (k, Some(scope))
        }
        None => (prefix, None),
    };
    let types: Vec<&str> = CommitType::ALL.iter().map(|t| t.as_str()).collect();
    let commit_type = CommitType::ALL
        .into_iter()
        .find(|t| t.as_str() == keyword)
        .ok_or_else(|| {
            format!(
                "`{keyword}` is not a Conventional Commits type (use one of {})",
                types.join(", ")
            )
        })?;
    if let Some(scope) = scope
        && (scope.is_empty()
            || !scope.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/')
            }))
    {
        return Err(format!(
            "the scope `{scope}` must be lowercase letters, digits, `-`, `_`, `.` or `/`"
        ));
    }
    Ok((commit_type, breaking))
}

/// Parses the part of a bullet after `- `; returns the first path.
fn parse_bullet(rest: &str) -> Result<String, String> {
    let expected = "write bullets as - <Verb>: `<path>` — <what/why>";
    let Some((verb, tail)) = rest.split_once(": ") else {
        return Err(format!("bullet without `<Verb>: `; {expected}"));
    };
    if ChangeVerb::parse(verb).is_none() {
        let verbs: Vec<&str> = ChangeVerb::ALL.iter().map(|v| v.as_str()).collect();
        return Err(format!(
            "`{verb}` is not a bullet verb (use one of {})",
            verbs.join(", ")
        ));
    }
    let Some(after_tick) = tail.strip_prefix('`') else {
        return Err(format!(
            "the path must follow the verb in backticks; {expected}"
        ));
    };
    let Some((path, what)) = after_tick.split_once('`') else {
        return Err(format!(
            "the path's closing backtick is missing; {expected}"
        ));
    };
    if path.trim().is_empty() {
        return Err(format!("the path is empty; {expected}"));
    }
    // Further related paths may follow (`a`, `b` or `old` → `new`) before the dash.
    let Some((_, why)) = what.split_once(" — ") else {
        return Err(format!(
            "missing ` — <what/why>` after the path; {expected}"
        ));
    };
    if why.trim().is_empty() {
        return Err(format!("the what/why after ` — ` is empty; {expected}"));
    }
    Ok(path.to_string())
}
