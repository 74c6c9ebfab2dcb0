//! `{{name}}` substitution for the prompt files.

/// Replaces each `{{name}}` in `template` with its value, in one pass (values are never re-scanned, so a repo map
/// that happens to contain `{{request}}` stays as it is). Unknown placeholders are left untouched.
pub(super) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let replaced = after.find("}}").and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, end))
        });
        match replaced {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fills_once_and_keeps_unknown_placeholders() {
        let out = fill("A {{x}} B {{y}} C {{z}}", &[("x", "{{y}}"), ("y", "2")]);
        assert_eq!(out, "A {{y}} B 2 C {{z}}");
        assert_eq!(fill("{{", &[]), "{{");
    }
}
