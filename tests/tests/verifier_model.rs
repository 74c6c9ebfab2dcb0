//! The verifier model for real: SmolLM2-135M (llama.cpp engine, grammar-constrained) reads two
//! good and two bad drafts of changes to the sample repository's `calc.py` and must answer a
//! readable verdict every time. Whether it tells them apart is printed, not asserted (a 135M model
//! is not expected to); BENCHMARKS.md quotes the output of
//! `cargo test -p aidx-e2e --test verifier_model -- --nocapture`.

use aidx_agent_core::adapters::embedded::EmbeddedEditor;
use aidx_agent_core::config::Settings;
use aidx_agent_core::pipeline::{CancelToken, VerdictKind, ask_verifier};

const PLAN_MUL: &str = "# Plan\n\n## Goal\n\nAdd a mul function to calc.py.\n\n## Context\n\n- (none)\n\n## Steps\n\n1. Add `def mul(a, b): return a * b` after sub in calc.py.\n\n## Files\n\n- `calc.py` — add mul\n\n## Checks\n\n- (none)\n";

const PLAN_DOC: &str = "# Plan\n\n## Goal\n\nDocument sub.\n\n## Context\n\n- (none)\n\n## Steps\n\n1. Add a docstring to sub in calc.py saying it returns a minus b.\n\n## Files\n\n- `calc.py` — docstring for sub\n\n## Checks\n\n- (none)\n";

const GOOD_MUL: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -8,6 +8,10 @@ def sub(a, b):\n     return a - b\n \n \n+def mul(a, b):\n+    return a * b\n+\n+\n if __name__ == \"__main__\":\n     print(add(2, 3))\n";

/// The demo's bad edit in the issue: `add` deleted and `mul` defined four times.
const BAD_MUL: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -1,12 +1,18 @@\n \"\"\"A tiny calculator used by the aidx demo.\"\"\"\n \n \n-def add(a, b):\n-    return a + b\n+def mul(a, b):\n+    return a * b\n+\n+\n+def mul(a, b):\n+    return a * b\n+\n+\n+def mul(a, b):\n+    return a * b\n+\n+\n+def mul(a, b):\n+    return a * b\n \n \n def sub(a, b):\n";

const GOOD_DOC: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -6,6 +6,7 @@ def add(a, b):\n \n \n def sub(a, b):\n+    \"\"\"Return a minus b.\"\"\"\n     return a - b\n \n \n";

/// A placeholder docstring, and sub turned around.
const BAD_DOC: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -6,6 +6,7 @@ def add(a, b):\n \n \n def sub(a, b):\n+    \"\"\"TODO: write this docstring later.\"\"\"\n-    return a - b\n+    return b - a\n \n \n";

#[test]
fn smollm2_as_verifier_answers_a_readable_verdict_for_every_draft() {
    let config = Settings::defaults().config();
    let Some(role) = aidx_e2e::smollm2_role(&config) else {
        return;
    };
    let mut verifier = EmbeddedEditor::load(&role, &config).expect("the verifier model loads");
    let rules = vec![
        "no TODO placeholders".to_string(),
        "do not delete functions the plan does not name".to_string(),
    ];
    let cancel = CancelToken::new();
    let cases = [
        ("good mul", PLAN_MUL, GOOD_MUL, false),
        (
            "bad mul (add deleted, mul four times)",
            PLAN_MUL,
            BAD_MUL,
            true,
        ),
        ("good docstring", PLAN_DOC, GOOD_DOC, false),
        (
            "bad docstring (TODO, sub reversed)",
            PLAN_DOC,
            BAD_DOC,
            true,
        ),
    ];
    let mut right = 0;
    for (draft, (name, plan, diff, bad)) in cases.iter().enumerate() {
        let verdict = ask_verifier(&mut verifier, plan, &rules, diff, draft as u32 + 1, &cancel)
            .expect("the verifier runs");
        println!(
            "verifier (SmolLM2-135M): {name}: {:?} {:?}",
            verdict.verdict, verdict.reasons
        );
        assert_ne!(
            verdict.verdict,
            VerdictKind::Unreadable,
            "{name}: the grammar admits only readable verdicts: {:?}",
            verdict.reasons
        );
        assert_eq!(verdict.diff_lines_left_out, 0, "{name}: the diff fits");
        let caught = verdict.verdict == VerdictKind::Revise;
        if caught == *bad {
            right += 1;
        }
    }
    println!("verifier (SmolLM2-135M): {right} of 4 drafts judged right");
}

#[test]
fn two_models_stay_loaded_when_both_fit_and_take_turns_when_they_do_not() {
    use aidx_agent_core::adapters::embedded::{Residency, preflight};
    let mut config = Settings::defaults().config();
    let Some(role) = aidx_e2e::smollm2_role(&config) else {
        return;
    };
    // One model's budget on a device with room for it alone: the figures the decision uses.
    config.gpu_vram_bytes = Some(8 << 30);
    let one = preflight(&role, &config).unwrap().budget.total_bytes;

    config.gpu_vram_bytes = Some(one * 5 / 2);
    let r = Residency::decide(&role, &role, &config).unwrap();
    assert!(r.together, "{r}");
    assert_eq!((r.editor_bytes, r.verifier_bytes), (one, one));
    assert!(r.to_string().contains("both models stay loaded"), "{r}");

    config.gpu_vram_bytes = Some(one * 3 / 2);
    let r = Residency::decide(&role, &role, &config).unwrap();
    assert!(!r.together, "{r}");
    let text = r.to_string();
    assert!(
        text.contains("loaded in turn") && text.contains("GPU memory (gpu.vram)"),
        "{text}"
    );

    // Not even one fits: an error before anything loads, naming the role.
    config.gpu_vram_bytes = Some(one / 2);
    let err = Residency::decide(&role, &role, &config).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[test]
fn a_model_loaded_in_turn_is_freed_by_release_and_loads_again_when_used() {
    use aidx_agent_core::adapters::embedded::InTurnEditor;
    use aidx_agent_core::pipeline::{ChatMessage, Editor, GenerateOptions};
    let config = Settings::defaults().config();
    let Some(role) = aidx_e2e::smollm2_role(&config) else {
        return;
    };
    let mut model = InTurnEditor::new(&role, &config).unwrap();
    assert!(!model.is_loaded(), "nothing loads before it is used");
    assert_eq!(model.safe_context_tokens(), Some(2048));
    let options = GenerateOptions {
        max_tokens: 4,
        temperature: 0.0,
        stop: Vec::new(),
        grammar: None,
        cancel: CancelToken::new(),
    };
    let messages = [ChatMessage::user("Say hi.")];
    model.complete(&messages, &options, &mut |_| {}).unwrap();
    assert!(model.is_loaded());
    model.release();
    assert!(!model.is_loaded(), "release frees the model");
    assert!(model.count_tokens("hello world") > 0);
    model.complete(&messages, &options, &mut |_| {}).unwrap();
    assert_eq!(model.loads(), 2);
}
