//! The Verifier Cascade's first layer: deterministic rules over the Editor's applied-in-memory
//! edits, from the tree-sitter tags the repository map already extracts. No model is asked.
//!
//! The rules catch what parses but is still wrong, as in SmolLM2's demo edit that deleted `add`
//! and defined `mul` four times:
//!
//! - **deleted definitions**: a definition the file had is gone and plan.md does not name it;
//! - **duplicate definitions**: a name now defined more often at the same kind than before
//!   (methods excluded: the same method name in two classes is normal);
//! - **signature changes**: a public definition's first line changed and plan.md does not name it.
//!
//! Each rule is switchable in `.aidx.yml` (`verify.*`). Findings go back to the Editor as a
//! reflection within `max-reflections`; after the last attempt nothing is written.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aidx_repo_map::{Definition, Lang, TagKind, extract_tags};

use crate::edit::FileChange;

/// Which rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSet {
    /// `verify.deleted-definitions`.
    pub deleted_definitions: bool,
    /// `verify.duplicate-definitions`.
    pub duplicate_definitions: bool,
    /// `verify.signature-changes`.
    pub signature_changes: bool,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            deleted_definitions: true,
            duplicate_definitions: true,
            signature_changes: true,
        }
    }
}

impl RuleSet {
    /// Whether any rule runs.
    pub fn any(&self) -> bool {
        self.deleted_definitions || self.duplicate_definitions || self.signature_changes
    }
}

/// Which rule found something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A definition was deleted that the plan does not name.
    DeletedDefinition,
    /// A name is defined more often than before.
    DuplicateDefinition,
    /// A public signature changed that the plan does not name.
    SignatureChanged,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// The file.
    pub path: String,
    /// What is wrong, for the user and the Editor.
    pub message: String,
}

/// Time allowed to tag one file.
const TAG_LIMIT: Duration = Duration::from_millis(500);

/// Runs `rules` over `changes`; `plan` is plan.md's text (names it contains are intended).
pub fn check(changes: &[FileChange], plan: &str, rules: RuleSet) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !rules.any() {
        return findings;
    }
    for change in changes {
        let Some(lang) = Lang::from_path(Path::new(&change.path)) else {
            continue;
        };
        let before = match change.before.as_deref() {
            Some(text) => match extract_tags(lang, text, TAG_LIMIT) {
                Ok(tags) => tags.definitions,
                Err(_) => continue,
            },
            None => Vec::new(),
        };
        let Ok(after) = extract_tags(lang, &change.after, TAG_LIMIT) else {
            continue;
        };
        let after = after.definitions;
        let count = |defs: &[Definition]| {
            let mut map: BTreeMap<(String, TagKind), Vec<Definition>> = BTreeMap::new();
            for d in defs {
                map.entry((d.name.clone(), d.kind))
                    .or_default()
                    .push(d.clone());
            }
            map
        };
        let was = count(&before);
        let now = count(&after);
        let path = &change.path;
        if rules.deleted_definitions {
            for ((name, kind), defs) in &was {
                if !now.contains_key(&(name.clone(), *kind)) && !names(plan, name) {
                    findings.push(Finding {
                        rule: Rule::DeletedDefinition,
                        path: path.clone(),
                        message: format!(
                            "deletes `{name}` ({}, line {}), which plan.md does not name: keep it unless the plan says to remove it",
                            kind.as_str(),
                            defs[0].line
                        ),
                    });
                }
            }
        }
        if rules.duplicate_definitions {
            for ((name, kind), defs) in &now {
                if *kind == TagKind::Method {
                    continue;
                }
                let before_count = was.get(&(name.clone(), *kind)).map_or(0, Vec::len);
                if defs.len() > 1 && defs.len() > before_count {
                    let lines: Vec<String> = defs.iter().map(|d| d.line.to_string()).collect();
                    findings.push(Finding {
                        rule: Rule::DuplicateDefinition,
                        path: path.clone(),
                        message: format!(
                            "defines `{name}` ({}) {} times (lines {}): define it once",
                            kind.as_str(),
                            defs.len(),
                            lines.join(", ")
                        ),
                    });
                }
            }
        }
        if rules.signature_changes {
            for ((name, kind), old) in &was {
                let Some(new) = now.get(&(name.clone(), *kind)) else {
                    continue;
                };
                // A constant's first line holds its value: a new value is not a new signature.
                if *kind == TagKind::Constant
                    || old.len() != 1
                    || new.len() != 1
                    || !public(lang, &old[0])
                {
                    continue;
                }
                let (a, b) = (old[0].signature.trim(), new[0].signature.trim());
                if a != b && !names(plan, name) {
                    findings.push(Finding {
                        rule: Rule::SignatureChanged,
                        path: path.clone(),
                        message: format!(
                            "changes the signature of `{name}` from `{a}` to `{b}`, which plan.md does not name: keep the signature"
                        ),
                    });
                }
            }
        }
    }
    findings
}

/// Whether plan.md names `name` as code: a whole identifier in backticks, called (`name(`), or
/// in a reference (`path#name`, `Type.name`, `Type::name`). A bare English word ("add the
/// function") does not count, or a plan saying "add mul" would allow deleting `add`.
fn names(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        if before.is_some_and(ident) || after.is_some_and(ident) {
            return false;
        }
        let in_code = text[..at].matches('`').count() % 2 == 1;
        in_code || matches!(before, Some('#' | '.' | ':')) || matches!(after, Some('('))
    })
}

/// A conservative reading of "public": Rust needs `pub`; elsewhere a leading `_` means private.
fn public(lang: Lang, def: &Definition) -> bool {
    match lang {
        Lang::Rust => def.signature.trim_start().starts_with("pub"),
        _ => !def.name.starts_with('_'),
    }
}

/// The reflection that sends `findings` back to the Editor.
pub fn reflection(findings: &[Finding]) -> String {
    let mut text = String::from(
        "Your edits apply, but a check of the result found problems. Send corrected edits for the original files (none of your edits was applied):\n",
    );
    for f in findings {
        text.push_str(&format!("- {}: {}\n", f.path, f.message));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: &str, after: &str) -> FileChange {
        FileChange {
            path: path.into(),
            before: Some(before.into()),
            after: after.into(),
        }
    }

    const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";

    #[test]
    fn the_demo_edit_is_caught_deleted_add_and_mul_four_times() {
        let after = "def mul(a, b):\n    return a * b\n\ndef mul(a, b):\n    return a * b\n\ndef mul(a, b):\n    return a * b\n\ndef mul(a, b):\n    return a * b\n\ndef sub(a, b):\n    return a - b\n";
        let plan = "Add `mul(a, b)` to calc.py after sub.";
        let findings = check(&[change("calc.py", CALC, after)], plan, RuleSet::default());
        let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            vec![Rule::DeletedDefinition, Rule::DuplicateDefinition],
            "{findings:#?}"
        );
        assert!(findings[0].message.contains("`add`"));
        assert!(findings[1].message.contains("4 times"));
    }

    #[test]
    fn a_good_edit_passes_and_named_changes_are_allowed() {
        let good = format!("{CALC}\n\ndef mul(a, b):\n    return a * b\n");
        assert!(
            check(
                &[change("calc.py", CALC, &good)],
                "add mul",
                RuleSet::default()
            )
            .is_empty()
        );
        let renamed = CALC.replace("def add(a, b):", "def add(a, b, c=0):");
        let findings = check(
            &[change("calc.py", CALC, &renamed)],
            "nothing",
            RuleSet::default(),
        );
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::SignatureChanged);
        assert!(
            check(
                &[change("calc.py", CALC, &renamed)],
                "give `add` a c",
                RuleSet::default()
            )
            .is_empty()
        );
        let off = RuleSet {
            signature_changes: false,
            ..RuleSet::default()
        };
        assert!(check(&[change("calc.py", CALC, &renamed)], "nothing", off).is_empty());
    }

    #[test]
    fn the_plan_names_code_not_words() {
        assert!(names("remove `add` please", "add"));
        assert!(names("remove `calc.add(a, b)`", "add"));
        assert!(names("call add(1, 2)", "add"));
        assert!(names("- `calc.py#add`", "add"));
        assert!(!names("add mul after sub", "add"));
        assert!(!names("the address", "add"));
        assert!(!names("`add_all`", "add"));
    }
}
