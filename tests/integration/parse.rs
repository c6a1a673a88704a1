//! Parse cases: `cases/parse/ok` snapshot the syntax tree, `cases/parse/err` the rendered errors.

use crate::common::{dump, source};
use credit_rules::syntax::parse;

#[test]
fn parse_ok() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "parse/ok/*.rules",
        |path| {
            let file = source(path);
            let ast = parse(&file).unwrap_or_else(|d| panic!("{}", d.render()));
            insta::assert_snapshot!(dump(&ast));
        }
    );
}

#[test]
fn parse_err() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "parse/err/*.rules",
        |path| {
            let file = source(path);
            let errors = parse(&file).expect_err("case must fail to parse");
            insta::assert_snapshot!(errors.render());
        }
    );
}

#[test]
fn shipped_rule_sets_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    for path in credit_rules::ruleset::rule_files(&root).expect("rulesets/ is readable") {
        let file = source(&path);
        if let Err(d) = parse(&file) {
            panic!("{}", d.render());
        }
    }
}
