//! Property tests: evaluation never panics, whatever the records, and its
//! results hold together (the total is the sum of the clause points; the
//! decision agrees with the vetoes).

use chrono::NaiveDate;
use credit_rules::eval::Decision;
use credit_rules::record::{CreditRecord, RecordKind, Severity, Uscc};
use credit_rules::ruleset::Workspace;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::sync::LazyLock;

static PROGRAMS: LazyLock<Vec<credit_rules::compile::CompiledRuleSet>> = LazyLock::new(|| {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let mut workspace = Workspace::load(&root).expect("rulesets/ loads");
    for case in [
        "tests/cases/eval/scoring.rules",
        "tests/cases/eval/tables-and-negatives.rules",
        "tests/cases/eval/functions.rules",
        "tests/cases/eval/count-distinct.rules",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(case);
        let text = std::fs::read_to_string(&path).expect("case readable");
        workspace.add_source(credit_rules::source::SourceFile::new(case, text), None);
    }
    workspace
        .library
        .ids()
        .map(|id| workspace.compile(id).expect("shipped rule sets compile"))
        .collect()
});

fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        8 => (1990i32..2040, 1u32..=12, 1u32..=31)
            .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).or_else(|| NaiveDate::from_ymd_opt(y, m, 28)).expect("valid")),
        1 => Just(NaiveDate::MIN),
        1 => Just(NaiveDate::MAX),
    ]
}

fn amount() -> impl Strategy<Value = Option<Decimal>> {
    prop_oneof![
        3 => Just(None),
        5 => (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(m, s)| Some(Decimal::new(m, s))),
        1 => Just(Some(Decimal::MAX)),
        1 => Just(Some(Decimal::MIN)),
    ]
}

fn text(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(options).prop_map(String::from))
}

prop_compose! {
    fn record()(
        id in "[A-Z]{1,3}[0-9]{1,3}",
        kind in prop::sample::select(RecordKind::ALL.to_vec()),
        decided_on in date(),
        published_after in prop::option::of(0u64..60),
        until in prop::option::of(date()),
        valid in prop::option::of(date()),
        repaired in prop::option::of(date()),
        revoked in prop::option::of(date()),
        severity in prop::option::of(prop::sample::select(Severity::ALL.to_vec())),
        sector in text(&["水利", "水务", "公路", "交通运输", "城乡建设", "纳税", ""]),
        grade in text(&["AAA", "AA", "A", "B", "C", "D", "M", "X"]),
        penalty in text(&["警告", "罚款", "责令停产停业", "吊销许可证或者执照"]),
        amount in amount(),
        authority in text(&["武汉市交通运输局", "武汉市水务局", "武汉市市场监督管理局"]),
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
        r.grade = grade;
        r.penalty_type = penalty;
        r.amount = amount;
        r.authority = authority;
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn evaluation_never_panics_and_adds_up(records in prop::collection::vec(record(), 0..80), as_of in date()) {
        for program in PROGRAMS.iter() {
            let outcome = program.evaluate(&records, as_of);
            let report = outcome.report(program, &records);
            let sum: Decimal = report.scores.iter().filter_map(|s| s.points).sum();
            prop_assert_eq!(report.total, sum);
            let vetoed = report.vetoes.iter().any(|v| v.error.is_none());
            prop_assert_eq!(report.decision == Decision::Disqualified, vetoed);
            prop_assert!(serde_json::to_string(&report).is_ok());
        }
    }
}
