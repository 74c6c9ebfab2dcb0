//! The JSON Schema of a plan for structured output ([`PlanFormat::JsonSchema`](super::PlanFormat::JsonSchema)),
//! built from the Architect's inputs so that the server's constrained decoding enforces most of the contract:
//!
//! ```json
//! { "goal": "…",
//!   "context": ["<one of the researcher's reference ids>", …],
//!   "steps": ["…", …],                                   // 1 ..= MAX_STEPS
//!   "files": [ {"path": "<one of the repository files>", "note": "…"}
//!            | {"new": "<relative/path.ext>", "note": "…"}, … ],
//!   "check": "…" }
//! ```
//!
//! Every string is bounded (`maxLength`, or a bounded `pattern` for new paths, since llama.cpp ignores `maxLength`
//! next to a `pattern`) and every array has `maxItems`, so a small model cannot ramble until the token limit: the
//! longest plan the schema admits is about 3,300 characters of text plus JSON punctuation, some 1,000 tokens,
//! inside the architect's default `max-tokens` of 2048 (a reply cut at the limit is invalid and retried). Every
//! object lists all its properties as required and forbids others, as OpenAI's strict mode demands; the property
//! order is the order the plan is read in (llama.cpp's grammar and Gemini's `propertyOrdering` follow it).
//! What a schema cannot say — that a new file does not exist yet — [`Plan::validate`](super::Plan::validate) checks.

use serde_json::{Value, json};

use crate::message::ResponseSchema;

/// The schema's name (`json_schema.name` in OpenAI's `response_format`).
pub const SCHEMA_NAME: &str = "plan";
/// Longest goal, in characters.
pub const MAX_GOAL_CHARS: u32 = 240;
/// Most steps.
pub const MAX_STEPS: u32 = 6;
/// Longest step, in characters.
pub const MAX_STEP_CHARS: u32 = 160;
/// Most files.
pub const MAX_FILES: u32 = 6;
/// Longest note on a file, in characters.
pub const MAX_NOTE_CHARS: u32 = 120;
/// Longest check, in characters.
pub const MAX_CHECK_CHARS: u32 = 160;
/// Most context references.
pub const MAX_CONTEXT_REFS: usize = 6;
/// Most repository files offered in the `path` enum (the researcher ranks them best first).
pub const MAX_ENUM_FILES: usize = 200;
/// A new file's path: relative, `/`-separated, at most 6 segments of at most 33 characters; a segment may start
/// with one dot (`.github`) but is never `.` or `..`, so the path stays inside the repository.
pub const NEW_PATH_PATTERN: &str =
    r"^\.?[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(/\.?[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}){0,5}$";

/// `files` as `/`-separated repository-relative paths without a leading `./`, duplicates dropped, in order.
pub(super) fn normalized_files(files: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for file in files {
        let path = file.trim().replace('\\', "/");
        let path = path.strip_prefix("./").unwrap_or(&path).to_string();
        if !path.is_empty() && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

fn distinct(items: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(&item.as_str()) {
            out.push(item);
        }
    }
    out
}

fn bounded_string(max_chars: u32, min_chars: u32, description: &str) -> Value {
    json!({
        "type": "string",
        "description": description,
        "minLength": min_chars,
        "maxLength": max_chars,
    })
}

/// The plan schema for the researcher's `reference_ids` and the repository `files` the plan may change (ranked
/// files and chat files). With no ids, `context` must be empty; with no files, only new files can be listed.
pub fn plan_schema(reference_ids: &[String], files: &[String]) -> Value {
    let ids = distinct(reference_ids);
    let context = if ids.is_empty() {
        json!({
            "type": "array",
            "description": "the researcher supplied no reference ids: leave empty",
            "items": { "type": "string", "maxLength": 80 },
            "maxItems": 0,
        })
    } else {
        json!({
            "type": "array",
            "description": "the researcher's reference ids the plan relies on",
            "items": { "type": "string", "enum": ids },
            "maxItems": ids.len().min(MAX_CONTEXT_REFS),
        })
    };

    let note = bounded_string(MAX_NOTE_CHARS, 0, "what changes in this file");
    let new_file = json!({
        "type": "object",
        "properties": {
            "new": {
                "type": "string",
                "description": "path of a file to create, relative to the repository root",
                "pattern": NEW_PATH_PATTERN,
            },
            "note": note,
        },
        "required": ["new", "note"],
        "additionalProperties": false,
    });
    let existing: Vec<String> = normalized_files(files)
        .into_iter()
        .take(MAX_ENUM_FILES)
        .collect();
    let file_item = if existing.is_empty() {
        new_file
    } else {
        json!({
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "path": {
                            "type": "string",
                            "description": "an existing repository file to change",
                            "enum": existing,
                        },
                        "note": note,
                    },
                    "required": ["path", "note"],
                    "additionalProperties": false,
                },
                new_file,
            ]
        })
    };

    json!({
        "type": "object",
        "properties": {
            "goal": bounded_string(MAX_GOAL_CHARS, 1, "one or two sentences: what the change achieves"),
            "context": context,
            "steps": {
                "type": "array",
                "description": "ordered, concrete steps, each naming the file and function or type it touches",
                "items": bounded_string(MAX_STEP_CHARS, 1, "one step"),
                "minItems": 1,
                "maxItems": MAX_STEPS,
            },
            "files": {
                "type": "array",
                "description": "every file the steps touch",
                "items": file_item,
                "maxItems": MAX_FILES,
            },
            "check": bounded_string(
                MAX_CHECK_CHARS,
                0,
                "a command or observation that shows the change works",
            ),
        },
        "required": ["goal", "context", "steps", "files", "check"],
        "additionalProperties": false,
    })
}

/// [`plan_schema`] named for a request.
pub fn plan_response_schema(reference_ids: &[String], files: &[String]) -> ResponseSchema {
    ResponseSchema {
        name: SCHEMA_NAME.to_string(),
        schema: plan_schema(reference_ids, files),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_enumerates_ids_and_files_in_reading_order() {
        let schema = plan_schema(
            &["R1".into(), "R2".into(), "R1".into()],
            &["./src/main.rs".into(), "src\\lib.rs".into()],
        );
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["goal", "context", "steps", "files", "check"]);
        assert_eq!(
            schema["properties"]["context"]["items"]["enum"],
            json!(["R1", "R2"])
        );
        assert_eq!(schema["properties"]["context"]["maxItems"], json!(2));
        let variants = &schema["properties"]["files"]["items"]["anyOf"];
        assert_eq!(
            variants[0]["properties"]["path"]["enum"],
            json!(["src/main.rs", "src/lib.rs"])
        );
        assert_eq!(variants[1]["required"], json!(["new", "note"]));
        assert_eq!(schema["properties"]["steps"]["minItems"], json!(1));
    }

    #[test]
    fn without_inputs_context_is_empty_and_only_new_files_fit() {
        let schema = plan_schema(&[], &[]);
        assert_eq!(schema["properties"]["context"]["maxItems"], json!(0));
        assert!(
            schema["properties"]["context"]["items"]
                .get("enum")
                .is_none()
        );
        assert_eq!(
            schema["properties"]["files"]["items"]["required"],
            json!(["new", "note"])
        );
    }

    #[test]
    fn every_object_is_strict() {
        fn walk(value: &Value, objects: &mut usize) {
            if value.get("type") == Some(&json!("object")) {
                *objects += 1;
                let properties: Vec<&String> =
                    value["properties"].as_object().unwrap().keys().collect();
                let required: Vec<&str> = value["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(properties, required, "all properties required");
                assert_eq!(value["additionalProperties"], json!(false));
            }
            match value {
                Value::Object(map) => map.values().for_each(|v| walk(v, objects)),
                Value::Array(items) => items.iter().for_each(|v| walk(v, objects)),
                _ => {}
            }
        }
        let mut objects = 0;
        walk(&plan_schema(&["R1".into()], &["a.rs".into()]), &mut objects);
        assert_eq!(objects, 3);
    }
}
