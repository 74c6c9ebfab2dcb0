//! Reading the small JSON answers that side models give (the router's route, the verifier's
//! verdict): constrained by a grammar they are the whole reply; from a server without one they
//! may come wrapped in prose or a code fence.

use serde::de::DeserializeOwned;

/// The outermost `{…}` of `text`, read as `T`; `None` when there is none or it does not fit `T`.
pub(super) fn json_answer<T: DeserializeOwned>(text: &str) -> Option<T> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_is_found_inside_prose_and_fences() {
        let v: serde_json::Value =
            json_answer("Sure:\n```json\n{\"route\": \"local\"}\n```\n").unwrap();
        assert_eq!(v["route"], "local");
        assert_eq!(json_answer::<serde_json::Value>("no object"), None);
        assert_eq!(json_answer::<serde_json::Value>("} backwards {"), None);
    }
}
