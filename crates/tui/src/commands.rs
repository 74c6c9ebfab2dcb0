//! The input line's commands, as aider users type them, and Tab completion.

/// Every command with its one-line help, in the order `/help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/add", "add files to edit"),
    ("/drop", "drop files (all: no args)"),
    ("/read-only", "add read-only files"),
    ("/ls", "list files in the chat"),
    ("/map", "show the repository map"),
    ("/plan", "research and plan only"),
    ("/run", "run a request (or type it)"),
    ("/ask", "ask; nothing is edited"),
    ("/undo", "undo the last aidx commit"),
    ("/diff", "show the last aidx change"),
    ("/commit", "commit your own changes"),
    ("/tokens", "cost of the next prompt"),
    ("/budget", "the model's memory budget"),
    ("/model", "show the models in use"),
    ("/clear", "clear the history"),
    ("/reset", "clear history, drop files"),
    ("/help", "this help"),
    ("/quit", "leave aidx"),
];

/// A parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/add`.
    Add(Vec<String>),
    /// `/drop`.
    Drop(Vec<String>),
    /// `/read-only`.
    ReadOnly(Vec<String>),
    /// `/ls`.
    Ls,
    /// `/map`.
    Map,
    /// `/plan`.
    Plan(String),
    /// `/run` or a plain line.
    Run(String),
    /// `/ask`.
    Ask(String),
    /// `/undo`.
    Undo,
    /// `/diff`.
    Diff,
    /// `/commit`.
    Commit(Option<String>),
    /// `/tokens`.
    Tokens,
    /// `/budget`.
    Budget,
    /// `/model`.
    Model,
    /// `/clear`.
    Clear,
    /// `/reset`.
    Reset,
    /// `/help`.
    Help,
    /// `/quit` or `/exit`.
    Quit,
    /// An empty line.
    Nothing,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// Parses one input line.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(Command::Nothing);
    }
    if !line.starts_with('/') {
        return Ok(Command::Run(line.to_string()));
    }
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((n, r)) => (n, r.trim()),
        None => (line, ""),
    };
    let args = || -> Vec<String> { rest.split_whitespace().map(str::to_string).collect() };
    let text = |what: &str| -> Result<String, ParseError> {
        if rest.is_empty() {
            Err(ParseError(format!("{name} needs {what}, e.g. `{name} …`")))
        } else {
            Ok(rest.to_string())
        }
    };
    Ok(match name {
        "/add" => {
            if rest.is_empty() {
                return Err(ParseError("/add needs one or more file paths".into()));
            }
            Command::Add(args())
        }
        "/drop" => Command::Drop(args()),
        "/read-only" => {
            if rest.is_empty() {
                return Err(ParseError("/read-only needs one or more file paths".into()));
            }
            Command::ReadOnly(args())
        }
        "/ls" => Command::Ls,
        "/map" => Command::Map,
        "/plan" => Command::Plan(text("a request")?),
        "/run" => Command::Run(text("a request")?),
        "/ask" => Command::Ask(text("a question")?),
        "/undo" => Command::Undo,
        "/diff" => Command::Diff,
        "/commit" => Command::Commit((!rest.is_empty()).then(|| rest.to_string())),
        "/tokens" => Command::Tokens,
        "/budget" => Command::Budget,
        "/model" | "/models" => Command::Model,
        "/clear" => Command::Clear,
        "/reset" => Command::Reset,
        "/help" | "/?" => Command::Help,
        "/quit" | "/exit" | "/q" => Command::Quit,
        other => {
            let close = COMMANDS
                .iter()
                .map(|(c, _)| *c)
                .filter(|c| c.starts_with(other))
                .collect::<Vec<_>>();
            let hint = if close.is_empty() {
                "type /help for the list".to_string()
            } else {
                format!("did you mean {}?", close.join(" or "))
            };
            return Err(ParseError(format!("unknown command {other}: {hint}")));
        }
    })
}

/// Completes the last word of `line`: a command name at the start, else a path from `files`.
/// Returns the new line, or `None` when nothing matches. Several matches complete their common
/// prefix.
pub fn complete(line: &str, files: &[String]) -> Option<String> {
    let start = line.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let word = &line[start..];
    let candidates: Vec<&str> = if start == 0 && word.starts_with('/') {
        COMMANDS
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| c.starts_with(word))
            .collect()
    } else if start > 0 && line.starts_with('/') && !word.is_empty() {
        files
            .iter()
            .map(String::as_str)
            .filter(|f| f.starts_with(word))
            .collect()
    } else {
        Vec::new()
    };
    let first = candidates.first()?;
    let mut common = first.len();
    for c in &candidates[1..] {
        common = first
            .char_indices()
            .zip(c.chars())
            .take_while(|((_, a), b)| a == b)
            .count()
            .min(common);
    }
    let prefix: String = first.chars().take(common).collect();
    let mut out = line[..start].to_string();
    out.push_str(&prefix);
    if candidates.len() == 1 {
        out.push(' ');
    }
    (out != line).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_requests_and_commands_parse() {
        assert_eq!(
            parse("fix the bug").unwrap(),
            Command::Run("fix the bug".into())
        );
        assert_eq!(
            parse("/add a.rs b.rs").unwrap(),
            Command::Add(vec!["a.rs".into(), "b.rs".into()])
        );
        assert_eq!(parse("/drop").unwrap(), Command::Drop(vec![]));
        assert_eq!(parse("/ask why?").unwrap(), Command::Ask("why?".into()));
        assert_eq!(parse("  ").unwrap(), Command::Nothing);
        assert_eq!(parse("/quit").unwrap(), Command::Quit);
        assert!(parse("/ask").unwrap_err().0.contains("needs a question"));
        let unknown = parse("/un").unwrap_err().0;
        assert!(unknown.contains("did you mean /undo"), "{unknown}");
    }

    #[test]
    fn tab_completes_commands_and_paths() {
        let files = vec!["src/lib.rs".to_string(), "src/main.rs".to_string()];
        assert_eq!(complete("/ad", &files).as_deref(), Some("/add "));
        assert_eq!(complete("/add src/", &files), None);
        assert_eq!(
            complete("/add src/l", &files).as_deref(),
            Some("/add src/lib.rs ")
        );
        assert_eq!(complete("/r", &files), None, "three commands share /r");
        assert_eq!(complete("/rea", &files).as_deref(), Some("/read-only "));
    }
}
