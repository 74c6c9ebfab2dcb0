//! A grammar for plans written by the local model, so a small model's plan is always readable and
//! always ends: the fixed `plan.md` sections, files chosen from the ones research found (or the
//! user added), and bounded lines. Every plan the grammar allows has fewer than
//! [`plan_grammar_max_chars`] characters, so it finishes inside that many tokens.

/// Lines in each list section, at most.
use crate::edit::lark_string;

const MAX_ITEMS: usize = 4;
/// Characters per free-text line, at most.
const MAX_LINE: usize = 160;

/// The Lark grammar for a local plan naming only `files` (repository-relative paths).
///
/// # Panics
/// Panics if `files` is empty.
pub fn plan_grammar(files: &[String]) -> String {
    assert!(
        !files.is_empty(),
        "a local plan needs at least one candidate file"
    );
    let paths = files
        .iter()
        .map(|f| lark_string(f))
        .collect::<Vec<_>>()
        .join(" | ");
    let extra = MAX_ITEMS - 1;
    format!(
        "start: \"# Plan\\n\\n## Goal\\n\\n\" TEXT \"\\n\\n## Steps\\n\\n\" steps \"\\n## Files\\n\\n\" files \"\\n## Checks\\n\\n- \" TEXT \"\\n\"\n\
         steps: \"1. \" TEXT \"\\n\" (\"2. \" TEXT \"\\n\" (\"3. \" TEXT \"\\n\")?)?\n\
         files: file (file){{0,{extra}}}\n\
         file: \"- `\" path \"` — \" TEXT \"\\n\"\n\
         path: {paths}\n\
         TEXT: /[^\\n`]{{1,{MAX_LINE}}}/\n"
    )
}

/// An upper bound on the characters (so tokens) of any plan [`plan_grammar`] allows.
pub fn plan_grammar_max_chars(files: &[String]) -> usize {
    let longest = files.iter().map(String::len).max().unwrap_or(0);
    let fixed = "# Plan\n\n## Goal\n\n\n\n## Steps\n\n\n## Files\n\n\n## Checks\n\n- \n".len();
    fixed + MAX_LINE * 2 + 3 * (MAX_LINE + 4) + MAX_ITEMS * (longest + MAX_LINE + 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::PlanDocument;

    #[test]
    fn a_plan_in_the_grammars_shape_parses_with_its_files() {
        let g = plan_grammar(&["calc.py".into(), "src/a \"q\".rs".into()]);
        assert!(g.contains(r#"path: "calc.py" | "src/a \"q\".rs""#), "{g}");
        let sample = "# Plan\n\n## Goal\n\nAdd mul.\n\n## Steps\n\n1. Add mul to calc.py.\n\n## Files\n\n- `calc.py` — add mul\n\n## Checks\n\n- mul(2, 3) is 6\n";
        let plan = PlanDocument::from_markdown(sample);
        assert_eq!(plan.goal.trim(), "Add mul.");
        assert_eq!(plan.files.len(), 1);
        assert!(plan_grammar_max_chars(&["calc.py".into()]) > sample.len());
    }
}
