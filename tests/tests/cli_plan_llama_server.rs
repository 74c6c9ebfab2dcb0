//! `aidx plan -m "…"` through the real binary, with the architect configured in `.aidx.yml` as an
//! openai-compatible server: llama.cpp's `llama-server` serving SmolLM2-135M on a free loopback port,
//! started by the test. Under `plan-format: json-schema` the server enforces the plan schema, so
//! even this 135M model must produce a plan that validates.
//!
//! Without the binary or the model (`scripts/build-llama-cpp.sh`, `aidx model pull`) the test prints
//! a loud skip notice and passes, unless `AIDX_REQUIRE_REAL=1` (CI), where it fails.

use aidx_architect::plan::Plan;
use aidx_e2e::{TempRepo, texts};

const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
const MAIN: &str = "from calc import add\n\n\ndef main():\n    print(add(2, 3))\n";

/// The number after `label` in `text` (`"tokens: prompt 412, completion 96"`).
fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("`{label}` not in {text:?}"));
    text[at + label.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{label}` in {text:?}"))
}

#[test]
fn aidx_plan_with_a_local_llama_server_architect_writes_a_valid_plan() {
    let Some(mut options) = aidx_e2e::llama_server_options(
        "aidx_plan_with_a_local_llama_server_architect_writes_a_valid_plan",
    ) else {
        return;
    };
    // Room for a corrective request that repeats a whole first reply.
    options.context = 4096;
    let (_runtime, server) = aidx_e2e::start_llama_server(&options);

    let repo = TempRepo::with_files(&[
        ("calc.py", CALC),
        ("main.py", MAIN),
        ("README.md", "# calc\n"),
    ]);
    std::fs::write(
        repo.root.join(".aidx.yml"),
        format!(
            "architect:\n  provider: openai-compatible\n  model: smollm2\n  base-url: \"{}/v1\"\n  \
             max-tokens: 768\n  temperature: 0\n  timeout-secs: 300\n  plan-format: json-schema\n",
            server.origin()
        ),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let out = repo.run(&[
        "plan",
        "-m",
        "Add a mul(a, b) function to calc.py and use it in main.py",
    ]);
    let elapsed = started.elapsed();
    let (stdout, stderr) = texts(&out);
    assert!(
        out.status.success(),
        "aidx plan failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("plan-format json-schema"),
        "the format in use is shown: {stderr}"
    );
    assert!(
        stderr.contains('{'),
        "the JSON reply streams to the terminal: {stderr}"
    );

    let plan_path = repo.root.join("artifacts/plan.md");
    assert!(
        stdout.contains(&format!("plan written to {}", plan_path.display())),
        "where plan.md went: {stdout}"
    );
    let prompt = number_after(&stdout, "tokens: prompt");
    let completion = number_after(&stdout, "completion");
    assert!(prompt > 0 && completion > 0, "token usage: {stdout}");

    let written = std::fs::read_to_string(&plan_path).expect("plan.md exists");
    let plan = Plan::parse(&written);
    assert_eq!(
        written,
        plan.to_markdown(),
        "plan.md has the fixed structure"
    );
    let problems = plan.validate(&repo.root, &[]);
    assert!(
        problems.is_empty(),
        "plan.md validates: {problems:?}\n{written}"
    );
    assert!(!plan.goal.is_empty() && !plan.steps.is_empty(), "{written}");
    eprintln!(
        "aidx plan took {:.1} s; {stderr}\n{stdout}{written}",
        elapsed.as_secs_f64()
    );
    drop(server);
}
