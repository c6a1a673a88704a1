//! Differential tests: the compiled, allocation-free evaluation
//! ([`CompiledRuleSet::evaluate`]) gives exactly what the tree-walking evaluator it replaced
//! ([`super::reference`]) gave — the same clause outcomes, errors and evidence, and points
//! equal to the decimal's scale and sign — on every shipped rule set and the evaluation
//! test cases, over generated entities and over the rule sets' own test blocks; and
//! [`CompiledRuleSet::evaluate_into`] into a reused outcome gives the same.

use super::{Outcome, reference};
use crate::compile::CompiledRuleSet;
use crate::record::{CreditRecord, RecordKind, Severity, Uscc};
use crate::ruleset::Workspace;
use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::LazyLock;

static PROGRAMS: LazyLock<Vec<CompiledRuleSet>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut workspace = Workspace::load(&root.join("rulesets")).expect("rulesets/ loads");
    let cases = root.join("tests/cases/eval");
    let mut files: Vec<_> = std::fs::read_dir(&cases)
        .expect("tests/cases/eval")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("case readable");
        let name = path.display().to_string();
        workspace.add_source(crate::source::SourceFile::new(name, text), None);
    }
    let ids: Vec<String> = workspace.library.ids().map(String::from).collect();
    ids.iter()
        .filter_map(|id| workspace.compile(id).ok())
        .collect()
});

/// Exact decimal: the value with its scale and sign.
fn exact(d: Option<Decimal>) -> Option<[u8; 16]> {
    d.map(|d| d.serialize())
}

fn assert_same(program: &CompiledRuleSet, new: &Outcome, old: &Outcome, what: &str) {
    assert_eq!(new, old, "{} {what}", program.meta.id);
    for (i, (n, o)) in new.clauses.iter().zip(&old.clauses).enumerate() {
        let id = &program.clauses[i].id;
        assert_eq!(
            exact(n.raw),
            exact(o.raw),
            "{} {id} raw {what}",
            program.meta.id
        );
        assert_eq!(
            exact(n.points),
            exact(o.points),
            "{} {id} points {what}",
            program.meta.id
        );
    }
}

#[test]
fn the_rule_sets_own_tests_evaluate_as_before() {
    assert!(
        PROGRAMS.len() >= 15,
        "the shipped rule sets and the cases compile"
    );
    let mut compared = 0;
    for program in PROGRAMS.iter() {
        for test in &program.tests {
            let Some(as_of) = &test.as_of else { continue };
            let Ok(records) = test
                .records
                .iter()
                .map(crate::testing::build_record)
                .collect::<Result<Vec<_>, _>>()
            else {
                continue;
            };
            let new = program.evaluate(&records, as_of.value);
            let old = reference::evaluate(program, &records, as_of.value);
            assert_same(program, &new, &old, &test.name.value);
            compared += 1;
        }
    }
    assert!(compared > 200, "only {compared} test blocks compared");
}

fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        8 => (2015i32..2027, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| {
            NaiveDate::from_ymd_opt(y, m, d)
                .or_else(|| NaiveDate::from_ymd_opt(y, m, 28))
                .expect("valid")
        }),
        1 => Just(NaiveDate::MIN),
        1 => Just(NaiveDate::MAX),
    ]
}

fn amount() -> impl Strategy<Value = Option<Decimal>> {
    prop_oneof![
        3 => Just(None),
        5 => (0i64..1_000_000, 0u32..6).prop_map(|(m, s)| Some(Decimal::new(m, s))),
        1 => Just(Some(Decimal::MAX)),
    ]
}

fn text(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(options).prop_map(String::from))
}

prop_compose! {
    fn record()(
        id in "[A-C][0-9]",
        kind in prop::sample::select(RecordKind::ALL.to_vec()),
        decided_on in date(),
        published_after in prop::option::of(0u64..60),
        until in prop::option::of(date()),
        valid in prop::option::of(date()),
        repaired in prop::option::of(date()),
        revoked in prop::option::of(date()),
        severity in prop::option::of(prop::sample::select(Severity::ALL.to_vec())),
        sector in text(&["水利", "水务", "公路", "物业", "医药购销", "人防", "纳税", "环卫", ""]),
        authority in text(&["武汉市水务局", "湖北省水利厅", "武汉市交通运输局", "武汉市市场监督管理局", "武汉市住房保障和房屋管理局"]),
        grade in text(&["AAA", "AA", "A", "B", "BBB", "C", "D", "优秀", "X"]),
        penalty in text(&["警告", "罚款", "责令停产停业", "吊销许可证", "较大数额罚款"]),
        amount in amount(),
    ) -> CreditRecord {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let mut r = CreditRecord::new(id, uscc, kind, decided_on);
        r.published_on = published_after.and_then(|d| decided_on.checked_add_days(chrono::Days::new(d)));
        r.disclosure_until = until;
        r.valid_until = valid;
        r.repaired_on = repaired;
        r.revoked_on = revoked;
        r.severity = severity;
        r.sector = sector;
        r.authority = authority;
        r.grade = grade;
        r.penalty_type = penalty;
        r.amount = amount;
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_entities_evaluate_as_before(
        records in prop::collection::vec(record(), 0..70),
        as_of in date(),
    ) {
        // One outcome reused across the rule sets: `evaluate_into` leaves nothing behind
        // from the previous rule set's evaluation.
        let mut reused = PROGRAMS[0].evaluate(&records, as_of);
        for program in PROGRAMS.iter() {
            let new = program.evaluate(&records, as_of);
            let old = reference::evaluate(program, &records, as_of);
            assert_same(program, &new, &old, &format!("as of {as_of}"));
            program.evaluate_into(&records, as_of, &mut reused);
            assert_same(program, &reused, &old, &format!("reused, as of {as_of}"));
        }
    }
}

/// Many records of one kind: the counts cross the last count a clause plan keeps
/// (`plan::COUNTS`), where the evaluation goes back to the clause's expression.
#[test]
fn counts_past_the_kept_outcomes_evaluate_as_before() {
    let as_of = NaiveDate::from_ymd_opt(2024, 6, 15).expect("valid");
    let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
    let decided = NaiveDate::from_ymd_opt(2024, 1, 10).expect("valid");
    let kept = super::plan::COUNTS;
    for kind in RecordKind::ALL {
        for n in [0, 1, 2, kept - 1, kept, kept + 1, 64, 70] {
            let records: Vec<CreditRecord> = (0..n)
                .map(|i| {
                    let mut r = CreditRecord::new(format!("R{i}"), uscc.clone(), kind, decided);
                    r.sector = Some(["水利", "水务", "公路"][i % 3].to_string());
                    r.authority = Some("武汉市水务局".to_string());
                    r.grade = Some(["AAA", "AA", "B"][i % 3].to_string());
                    r.severity = Some(Severity::ALL[i % 3]);
                    r.amount = Some(Decimal::new(i as i64 * 150, 1));
                    r
                })
                .collect();
            for program in PROGRAMS.iter() {
                let new = program.evaluate(&records, as_of);
                let old = reference::evaluate(program, &records, as_of);
                assert_same(program, &new, &old, &format!("{n} records of {kind:?}"));
            }
        }
    }
}
