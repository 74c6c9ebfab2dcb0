//! The direct matcher that runs the bundled tags queries yields exactly what tree-sitter's query
//! engine yields for them.

use std::path::Path;
use std::time::Duration;

use aidx_repo_map::{Lang, extract_tags, extract_tags_with_query_engine};

fn both(lang: Lang, source: &str, what: &str) {
    let limit = Duration::from_secs(10);
    let fast = extract_tags(lang, source, limit).expect("matcher in time");
    let engine = extract_tags_with_query_engine(lang, source, limit).expect("engine in time");
    assert_eq!(fast, engine, "{what}");
}

#[test]
fn fixtures_agree_with_the_query_engine() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let Some(lang) = Lang::from_path(&path) else {
            continue;
        };
        let source = std::fs::read_to_string(&path).expect("readable");
        both(lang, &source, &path.display().to_string());
        // TSX shares the TypeScript query with another grammar.
        if lang == Lang::TypeScript {
            both(Lang::Tsx, &source, "sample.ts as TSX");
        }
        seen += 1;
    }
    assert!(seen >= 17, "only {seen} fixtures");
}

#[test]
fn this_crates_sources_agree_with_the_query_engine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("readable");
            both(Lang::Rust, &source, &path.display().to_string());
        }
    }
}

#[test]
fn repeated_children_and_broken_code_agree() {
    // Several children matching one child pattern, multi-declarator declarations, error recovery.
    let cases: &[(Lang, &str)] = &[
        (
            Lang::Python,
            "class A(B, C, D):\n    def f(self): pass\n    @dec\n    def g(self): pass\nX = 1\n",
        ),
        (
            Lang::C,
            "int a, f(void), *g(int);\nstruct S { int x; };\nint h() { f(); g(1); }\n",
        ),
        (
            Lang::Java,
            "class K { static int A = 1, B = 2; public static final int C = 3; void m() { n(); } }\n",
        ),
        (
            Lang::Rust,
            "impl X { fn a(&self) { b(); c::<T>(); self.d(); }\nfn broken( {\n",
        ),
        (
            Lang::JavaScript,
            "const f = () => 1, g = function() {};\nobj.h = () => 2;\nconst K = {a: 1};\n",
        ),
        (
            Lang::Ruby,
            "class A < B\n  def self.x; end\n  def y; z(1); end\nend\nFOO = 1\n",
        ),
        (
            Lang::Go,
            "package p\nconst (A = 1; B = 2)\nvar c, d = 1, 2\ntype I interface { M() }\n",
        ),
        (
            Lang::Php,
            "<?php\nconst A = 1, B = 2;\nclass C extends D implements E, F { function g() { h(); $this->i(); } }\nfunction broken( {\n",
        ),
        (
            Lang::Kotlin,
            "interface I { fun a() }\nclass C : D(), E, F { fun g() { h(); x.y.z() } }\nval (a, b) = 1 to 2\n",
        ),
        (
            Lang::Swift,
            "let a = 1, b = 2\nextension C: D, E { func f() { g(); x.y.z() } }\nfunc broken( {\n",
        ),
        (
            Lang::Scala,
            "object O extends A with B { val x, y = 1; def f() = g(h.i(1)) }\nclass broken( {\n",
        ),
        (
            Lang::Bash,
            "A=1 B=2 cmd\nf() { g; h | i; }\nfunction broken {\n",
        ),
        (
            Lang::Lua,
            "a, b = function() end, 2\nlocal c, d = 1, 2\nfunction e.f:g() h() end\nlocal t = { x = function() end, y = 1 }\n",
        ),
    ];
    for (lang, source) in cases {
        both(*lang, source, source);
    }
}
