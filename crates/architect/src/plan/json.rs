//! Reading a structured-output reply (one JSON object matching [`plan_schema`](super::schema::plan_schema)) into a
//! [`Plan`]. Unlike the markdown parser this one is strict: a reply that is not JSON, or whose fields have the wrong
//! shape, is an error naming what is wrong, never a silently shorter plan.

use serde_json::Value;

use super::parse::strip_think;
use super::{FileAction, Plan, PlannedFile};

/// The JSON type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Drops a code fence around the whole reply (```` ```json … ``` ````), which some servers add even in JSON mode.
fn unfence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(inner) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let Some(body_start) = inner.find('\n') else {
        return trimmed;
    };
    let language = inner[..body_start].trim();
    if !matches!(language, "" | "json") {
        return trimmed;
    }
    inner[body_start + 1..]
        .trim_end()
        .strip_suffix("```")
        .unwrap_or(&inner[body_start + 1..])
        .trim()
}

fn string_list(json: &Value, field: &str, problems: &mut Vec<String>) -> Vec<String> {
    match json.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                Value::String(text) => Some(text.clone()),
                other => {
                    problems.push(format!(
                        "`{field}[{index}]` is {}, not a string",
                        kind(other)
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            problems.push(format!(
                "`{field}` is {}, not an array of strings",
                kind(other)
            ));
            Vec::new()
        }
    }
}

fn planned_file(index: usize, item: &Value, problems: &mut Vec<String>) -> Option<PlannedFile> {
    let Value::Object(object) = item else {
        problems.push(format!("`files[{index}]` is {}, not an object", kind(item)));
        return None;
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::trim);
    let (path, action) = match (text("path"), text("new")) {
        (Some(path), None) => (path, FileAction::Change),
        (None, Some(path)) => (path, FileAction::Create),
        (Some(_), Some(_)) => {
            problems.push(format!(
                "`files[{index}]` has both `path` and `new`: use `path` for an existing file, `new` for a file to create"
            ));
            return None;
        }
        (None, None) => {
            problems.push(format!(
                "`files[{index}]` has no `path` (existing file) or `new` (file to create) string"
            ));
            return None;
        }
    };
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path).to_string();
    if path.is_empty() {
        problems.push(format!("`files[{index}]` has an empty path"));
        return None;
    }
    Some(PlannedFile {
        path,
        action,
        note: text("note").unwrap_or_default().to_string(),
    })
}

impl Plan {
    /// Reads a structured-output reply: one JSON object with `goal`, `context`, `steps`, `files` and `check`
    /// (`<think>` blocks and a ```` ```json ```` fence around it are tolerated). `Err` says what is wrong: not JSON
    /// (with serde's position), not an object, or fields of the wrong shape.
    pub fn from_json(reply: &str) -> Result<Plan, String> {
        let text = strip_think(reply);
        let text = unfence(&text);
        if text.is_empty() {
            return Err("the reply is empty".to_string());
        }
        let json: Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
        let Value::Object(_) = &json else {
            return Err(format!("the reply is {}, not a JSON object", kind(&json)));
        };
        let mut problems = Vec::new();
        let goal = match json.get("goal") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(goal)) => goal.trim().to_string(),
            Some(other) => {
                problems.push(format!("`goal` is {}, not a string", kind(other)));
                String::new()
            }
        };
        let context_refs = string_list(&json, "context", &mut problems)
            .into_iter()
            .map(|id| id.trim().trim_matches('`').to_string())
            .filter(|id| !id.is_empty())
            .collect();
        let steps = string_list(&json, "steps", &mut problems)
            .into_iter()
            .map(|step| step.trim().to_string())
            .filter(|step| !step.is_empty())
            .collect();
        let files = match json.get("files") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut files: Vec<PlannedFile> = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let Some(file) = planned_file(index, item, &mut problems) else {
                        continue;
                    };
                    // The schema cannot forbid listing a file twice (small models do); keep one entry.
                    match files
                        .iter_mut()
                        .find(|seen| seen.path == file.path && seen.action == file.action)
                    {
                        Some(seen) if seen.note.is_empty() => seen.note = file.note,
                        Some(_) => {}
                        None => files.push(file),
                    }
                }
                files
            }
            Some(other) => {
                problems.push(format!(
                    "`files` is {}, not an array of objects",
                    kind(other)
                ));
                Vec::new()
            }
        };
        // `check` is one string in the schema; a list is accepted too.
        let checks = string_list(&json, "check", &mut problems)
            .into_iter()
            .map(|check| check.trim().to_string())
            .filter(|check| !check.is_empty())
            .collect();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Plan {
            goal,
            context_refs,
            steps,
            files,
            checks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_schema_shaped_reply() {
        let reply = r#"```json
{"goal": " Print the version. ", "context": ["R1"], "steps": ["Edit main", " "],
 "files": [{"path": "./src/main.rs", "note": "print"}, {"new": "src/version.rs", "note": ""},
   {"path": "src/main.rs", "note": "again"}],
 "check": "cargo run"}
```"#;
        let plan = Plan::from_json(reply).unwrap();
        assert_eq!(plan.goal, "Print the version.");
        assert_eq!(plan.context_refs, ["R1"]);
        assert_eq!(plan.steps, ["Edit main"]);
        assert_eq!(
            plan.files,
            [
                PlannedFile {
                    path: "src/main.rs".into(),
                    action: FileAction::Change,
                    note: "print".into()
                },
                PlannedFile {
                    path: "src/version.rs".into(),
                    action: FileAction::Create,
                    note: String::new()
                },
            ]
        );
        assert_eq!(plan.checks, ["cargo run"]);
    }

    #[test]
    fn wrong_shapes_and_broken_json_are_errors() {
        assert!(
            Plan::from_json(r#"{"goal": "x", "steps": ["a""#)
                .unwrap_err()
                .contains("EOF")
        );
        assert_eq!(Plan::from_json("  ").unwrap_err(), "the reply is empty");
        assert_eq!(
            Plan::from_json("[1]").unwrap_err(),
            "the reply is an array, not a JSON object"
        );
        let error =
            Plan::from_json(r#"{"goal": 3, "steps": "one", "files": [{"note": "x"}, "a.rs"]}"#)
                .unwrap_err();
        assert!(error.contains("`goal` is a number"), "{error}");
        assert!(error.contains("`files[0]` has no `path`"), "{error}");
        assert!(error.contains("`files[1]` is a string"), "{error}");
        // A single string where a list is expected is taken as a one-item list.
        assert!(!error.contains("steps"), "{error}");
    }
}
