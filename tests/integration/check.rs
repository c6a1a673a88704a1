//! Check cases: `cases/check/err` must fail with the snapshotted diagnostics,
//! `cases/check/warn` must pass with the snapshotted warnings. Each case may
//! extend the shipped `city.base`.

use crate::common::{source, workspace_with};

fn check_case(
    path: &std::path::Path,
) -> Result<credit_rules::diagnostic::Diagnostics, credit_rules::diagnostic::Diagnostics> {
    let (workspace, id) = workspace_with(source(path));
    let id = id.ok_or_else(|| workspace.errors.clone())?;
    workspace.compile(&id).map(|p| p.warnings)
}

#[test]
fn check_err() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "check/err/*.rules",
        |path| {
            let errors = check_case(path).expect_err("case must fail the check");
            insta::assert_snapshot!(errors.render());
        }
    );
}

#[test]
fn check_warn() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "check/warn/*.rules",
        |path| {
            let warnings = check_case(path).unwrap_or_else(|d| panic!("{}", d.render()));
            assert!(!warnings.is_empty(), "a warn case must produce warnings");
            insta::assert_snapshot!(warnings.render());
        }
    );
}

#[test]
fn shipped_rule_sets_check_clean() {
    let workspace = crate::common::shipped();
    assert!(workspace.errors.is_empty(), "{}", workspace.errors.render());
    let ids = workspace.ids();
    assert!(
        ids.len() >= 3,
        "expected the city base and at least two sectors, got {ids:?}"
    );
    for id in ids {
        let program = workspace
            .compile(&id)
            .unwrap_or_else(|d| panic!("{}", d.render()));
        assert!(
            program.warnings.is_empty(),
            "{id}: {}",
            program.warnings.render()
        );
    }
}
