//! The token budget is a hard cap, and it is filled when there is enough material.

mod common;

use aidx_repo_map::{Cl100kCounter, MapOptions, RepoMap, TokenCounter};
use proptest::prelude::*;

/// A small deterministic generator, so a failing case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn name(&mut self) -> String {
        const WORDS: [&str; 10] = [
            "alpha", "beta", "gamma", "delta", "render", "parse", "Config", "Token", "graph",
            "walk",
        ];
        let a = WORDS[self.below(10) as usize];
        let b = WORDS[self.below(10) as usize].to_lowercase();
        format!("{a}_{b}{}", self.below(50))
    }
}

/// Writes a random repository of `files` source files in a few languages.
fn random_repo(seed: u64, files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed | 1);
    for f in 0..files {
        let (ext, body) = match rng.below(3) {
            0 => {
                let mut s = String::new();
                for _ in 0..(1 + rng.below(12)) {
                    let (a, b) = (rng.name(), rng.name());
                    s += &format!(
                        "pub fn {a}(x: u32, y: &str) -> Result<(), Error> {{\n    {b}(x);\n}}\n\n"
                    );
                }
                ("rs", s)
            }
            1 => {
                let mut s = format!("class C{f}:\n");
                for _ in 0..(1 + rng.below(12)) {
                    let (a, b) = (rng.name(), rng.name());
                    s += &format!(
                        "    def {a}(self, value, *args, **kwargs):\n        return {b}(value)\n\n"
                    );
                }
                ("py", s)
            }
            _ => {
                let mut s = String::new();
                for _ in 0..(1 + rng.below(12)) {
                    let (a, b) = (rng.name(), rng.name());
                    s += &format!("export function {a}(options) {{\n  return {b}(options);\n}}\n");
                }
                ("js", s)
            }
        };
        let package = rng.below(5);
        common::write(dir.path(), &format!("pkg{package}/mod_{f}.{ext}"), &body);
    }
    dir
}

fn full_map_tokens(map: &RepoMap) -> usize {
    map.research_with_budget("", &[], &[], usize::MAX / 2)
        .unwrap()
        .tokens
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn never_over_budget_and_at_least_ninety_percent_full(
        seed in any::<u64>(),
        files in 1usize..60,
        budgets in proptest::collection::vec(0usize..6000, 12),
        request in "[a-z_ ]{0,30}",
    ) {
        let dir = random_repo(seed, files);
        let map = RepoMap::new(dir.path(), MapOptions { use_disk_cache: false, ..MapOptions::default() }).unwrap();
        let available = full_map_tokens(&map);
        for budget in budgets {
            let r = map.research_with_budget(&request, &[], &[], budget).unwrap();
            let counted = Cl100kCounter.count(&r.map);
            prop_assert_eq!(counted, r.tokens);
            prop_assert!(r.tokens <= budget, "{} tokens over a budget of {}", r.tokens, budget);
            // One entry (path, elision marks and a signature line) costs up to ~30 tokens here, so
            // 90 % is reachable once the budget is ten entries or more.
            if available >= budget && budget >= 300 {
                prop_assert!(
                    r.tokens * 10 >= budget * 9,
                    "only {} of {} tokens used ({} available)", r.tokens, budget, available
                );
            }
        }
    }
}

#[test]
fn large_budgets_show_everything_and_zero_shows_nothing() {
    let dir = random_repo(7, 30);
    let map = RepoMap::new(dir.path(), MapOptions::default()).unwrap();
    let r = map.research_with_budget("", &[], &[], 0).unwrap();
    assert_eq!((r.map.as_str(), r.tokens), ("", 0));
    let all = map.research_with_budget("", &[], &[], 1_000_000).unwrap();
    let defs: usize = all
        .map
        .lines()
        .filter(|l| l.starts_with(aidx_repo_map::LINE_MARK))
        .count();
    assert_eq!(defs, all.refs.len());
    assert!(all.tokens < 1_000_000 && all.tokens > 0);
}
