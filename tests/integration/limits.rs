//! Hostile input: deep nesting and huge files give an error, never a stack
//! overflow or a panic. Each case runs on a thread with a 2 MiB stack, the
//! default for spawned threads, so the tests prove the bound in debug builds.

use credit_rules::source::SourceFile;
use credit_rules::syntax::{MAX_NESTING, MAX_SOURCE_BYTES, parse};

const HEADER: &str = "ruleset t { title \"t\" version \"1\" effective 2020-01-01 }\n";

/// Parses `body` after a header on a small-stack thread; returns the error codes.
fn codes(body: String) -> Vec<&'static str> {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let file = SourceFile::new("t.rules", format!("{HEADER}{body}"));
            match parse(&file) {
                Ok(_) => vec![],
                Err(d) => d.iter().map(|d| d.code).collect(),
            }
        })
        .expect("thread starts")
        .join()
        .expect("parser must not panic")
}

#[test]
fn ten_thousand_parentheses_are_refused() {
    let body = format!(
        "score s {{ cap 1 points {}1{} }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(codes(body), vec!["E0003"]);
}

#[test]
fn nesting_at_the_limit_still_parses() {
    // The clause's braces and the aggregate's parentheses count too.
    let depth = MAX_NESTING - 1;
    let body = format!(
        "score s {{ cap 1 points {}1{} }}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(codes(body), Vec::<&str>::new());
}

#[test]
fn long_chains_are_refused_not_overflowed() {
    let cases = [
        format!("score s {{ cap 1 points 1{} }}", " + 1".repeat(200_000)),
        format!("score s {{ cap 1 points {}1 }}", "- ".repeat(200_000)),
        format!("veto v {{ when {}true }}", "not ".repeat(200_000)),
        format!(
            "score s {{ cap 1 points {}1 }}",
            "if true then 1 else ".repeat(50_000)
        ),
        format!("score s {{ cap 1 points {}1 }}", "table ".repeat(100_000)),
        format!("veto v {{ when {} }}", "any(records where ".repeat(50_000)),
    ];
    for body in cases {
        let found = codes(body);
        assert!(
            found.contains(&"E0003"),
            "expected a nesting error, got {found:?}"
        );
    }
}

#[test]
fn multi_megabyte_files_are_refused() {
    let body = format!("// {}\n", "x".repeat(MAX_SOURCE_BYTES));
    assert_eq!(codes(body), vec!["E0002"]);
}

#[test]
fn many_clauses_within_the_limit_parse() {
    let body: String = (0..2_000)
        .map(|i| format!("flag f{i} {{ wording \"w\" when any(records where kind = 行政处罚 and within {} years) }}\n", i % 10 + 1))
        .collect();
    assert_eq!(codes(body), Vec::<&str>::new());
}
