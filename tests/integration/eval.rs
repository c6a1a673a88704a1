//! Evaluation cases: every test block of `cases/eval/*.rules` is run (its
//! `expect` lines must hold) and its full report is snapshotted as YAML.

use crate::common::{source, workspace_with};
use credit_rules::testing::run_tests;

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
                    let (records, as_of) = crate::common::test_inputs(t);
                    let context = crate::common::test_context(t);
                    (
                        t.name.value.clone(),
                        program
                            .evaluate_with(&records, as_of, &context)
                            .report(&program, &records),
                    )
                })
                .collect();
            insta::assert_yaml_snapshot!(reports, { "[][1].hash" => "[hash]" });
        }
    );
}

#[test]
fn shipped_rule_set_tests_pass() {
    let workspace = crate::common::shipped();
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
    let workspace = crate::common::shipped();
    let program = workspace.compile("city.base").expect("base compiles");
    let test = &program.tests[1];
    let (records, as_of) = crate::common::test_inputs(test);
    let once = serde_json::to_string(&program.evaluate(&records, as_of).report(&program, &records))
        .expect("serialises");
    let again =
        serde_json::to_string(&program.evaluate(&records, as_of).report(&program, &records))
            .expect("serialises");
    assert_eq!(once, again);
}

/// Every clause of every shipped rule set is exercised by the rule set's own
/// tests both ways: some test makes it fire (or give points other than its
/// best) and some test does not.
#[test]
fn shipped_tests_cover_every_clause_both_ways() {
    let workspace = crate::common::shipped();
    let mut gaps = Vec::new();
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("compiles");
        let outcomes: Vec<_> = program
            .tests
            .iter()
            .map(|t| {
                let (records, as_of) = crate::common::test_inputs(t);
                program.evaluate(&records, as_of)
            })
            .collect();
        for (i, clause) in program.clauses.iter().enumerate() {
            if clause.origin != id {
                continue;
            }
            let seen: Vec<(bool, Option<rust_decimal::Decimal>)> = outcomes
                .iter()
                .map(|o| (o.clauses[i].fired, o.clauses[i].points))
                .collect();
            let covered = match clause.kind {
                credit_rules::ast::ClauseKind::Score => {
                    let mut points: Vec<_> = seen.iter().filter_map(|(_, p)| *p).collect();
                    points.sort();
                    points.dedup();
                    points.len() >= 2
                }
                _ => seen.iter().any(|(f, _)| *f) && seen.iter().any(|(f, _)| !*f),
            };
            if !covered {
                gaps.push(format!("{id} :: {}", clause.id));
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "clauses not exercised both ways by their tests: {gaps:#?}"
    );
}
