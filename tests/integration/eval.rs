//! Evaluation cases: every test block of `cases/eval/*.rules` is run (its
//! `expect` lines must hold) and its full report is snapshotted as YAML.

use crate::common::{source, workspace_with};
use credit_rules::testing::{build_record, run_tests};

#[test]
fn eval_cases() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "eval/*.rules",
        |path| {
            let (workspace, id) = workspace_with(source(path));
            let id = id.unwrap_or_else(|| panic!("{}", workspace.errors.render()));
            let program = workspace
                .compile(&id)
                .unwrap_or_else(|d| panic!("{}", d.render()));
            for result in run_tests(&program) {
                assert!(
                    result.passed(),
                    "{}: {}",
                    result.name,
                    result.failures.render()
                );
            }
            let reports: Vec<_> = program
                .tests
                .iter()
                .map(|t| {
                    let records: Vec<_> = t
                        .records
                        .iter()
                        .map(|r| build_record(r).expect("valid test record"))
                        .collect();
                    let as_of = t.as_of.as_ref().expect("test has as_of").value;
                    (
                        t.name.value.clone(),
                        program.evaluate(&records, as_of).report(&program, &records),
                    )
                })
                .collect();
            insta::assert_yaml_snapshot!(reports, { "[][1].hash" => "[hash]" });
        }
    );
}

#[test]
fn shipped_rule_set_tests_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let workspace = credit_rules::ruleset::Workspace::load(&root).expect("rulesets/ loads");
    let mut count = 0;
    for id in workspace.ids() {
        let program = workspace
            .compile(&id)
            .unwrap_or_else(|d| panic!("{}", d.render()));
        for result in run_tests(&program) {
            assert!(
                result.passed(),
                "{id} :: {}: {}",
                result.name,
                result.failures.render()
            );
            count += 1;
        }
    }
    assert!(
        count >= 6,
        "expected the shipped rule sets to carry tests, ran {count}"
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let workspace = credit_rules::ruleset::Workspace::load(&root).expect("rulesets/ loads");
    let program = workspace.compile("city.base").expect("base compiles");
    let test = &program.tests[1];
    let records: Vec<_> = test
        .records
        .iter()
        .map(|r| build_record(r).expect("valid"))
        .collect();
    let as_of = test.as_of.as_ref().expect("as_of").value;
    let once = serde_json::to_string(&program.evaluate(&records, as_of).report(&program, &records))
        .expect("serialises");
    let again =
        serde_json::to_string(&program.evaluate(&records, as_of).report(&program, &records))
            .expect("serialises");
    assert_eq!(once, again);
}
