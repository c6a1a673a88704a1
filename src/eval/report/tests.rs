//! The one-buffer report builder against the reference (the builder it replaced): the same
//! report, so the same JSON bytes and Chinese sentences, over generated entities of every
//! shipped rule set and over made-up outcomes that reach every sentence (errors, vetoes,
//! flags, weighted and negative points); and its number and date writers against `Display`.

use super::{push_date, push_decimal};
use crate::demo::{DemoConfig, entity};
use crate::eval::{ClauseOutcome, EvalError, Outcome};
use crate::record::CreditRecord;
use crate::ruleset::Workspace;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::Path;

fn shipped() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    Workspace::load(&root).expect("shipped rule sets load")
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("test date")
}

/// Both builders' reports as JSON, and their explanations side by side for a readable diff.
fn assert_same(
    program: &crate::compile::CompiledRuleSet,
    outcome: &Outcome,
    records: &[CreditRecord],
    what: &str,
) {
    let fast = outcome.report(program, records);
    let reference = outcome.report_reference(program, records);
    let explanations = |r: &super::Report| -> Vec<String> {
        [&r.vetoes, &r.flags, &r.scores]
            .into_iter()
            .flatten()
            .map(|c| c.explanation.clone())
            .collect()
    };
    assert_eq!(explanations(&fast), explanations(&reference), "{what}");
    assert_eq!(
        serde_json::to_string(&fast).expect("json"),
        serde_json::to_string(&reference).expect("json"),
        "{what}"
    );
}

#[test]
fn the_report_is_the_reference_report_for_generated_entities() {
    let workspace = shipped();
    let config = DemoConfig {
        entities: 150,
        records_per_entity: (0, 24),
        ..DemoConfig::default()
    };
    let entities: Vec<Vec<CreditRecord>> = (0..config.entities)
        .map(|i| entity(&config, i).2)
        .collect();
    let mut compared = 0;
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule set compiles");
        for as_of in [day("2021-03-01"), day("2024-06-01"), day("2026-12-31")] {
            for (i, records) in entities.iter().enumerate() {
                let outcome = program.evaluate(records, as_of);
                assert_same(&program, &outcome, records, &format!("{id} entity {i} {as_of}"));
                compared += 1;
            }
        }
    }
    assert!(compared >= 450, "only {compared} reports compared");
}

/// A small deterministic generator (xorshift) for made-up outcomes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn decimal(&mut self) -> Decimal {
        let mantissa = match self.below(4) {
            0 => self.below(10) as i64,
            1 => self.below(100_000) as i64 - 50_000,
            2 => -(self.below(1_000) as i64),
            _ => self.next() as i64,
        };
        Decimal::new(mantissa, self.below(6) as u32)
    }
}

#[test]
fn the_report_is_the_reference_report_for_every_kind_of_outcome() {
    let workspace = shipped();
    let config = DemoConfig {
        entities: 20,
        records_per_entity: (3, 20),
        ..DemoConfig::default()
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let errors = [
        EvalError::Overflow,
        EvalError::DivisionByZero,
        EvalError::DateOutOfRange,
    ];
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule set compiles");
        for index in 0..config.entities {
            let records = entity(&config, index).2;
            let mut evidence = Vec::new();
            let clauses: Vec<_> = program
                .clauses
                .iter()
                .map(|_| {
                    let start = evidence.len() as u32;
                    for r in 0..records.len() as u32 {
                        if rng.below(3) == 0 {
                            evidence.push(r);
                        }
                    }
                    let error = (rng.below(6) == 0).then(|| errors[rng.below(3) as usize].clone());
                    ClauseOutcome {
                        fired: rng.below(2) == 0,
                        raw: (rng.below(4) != 0).then(|| rng.decimal()),
                        points: (rng.below(4) != 0).then(|| rng.decimal()),
                        evidence: start..evidence.len() as u32,
                        error,
                    }
                })
                .collect();
            let outcome = Outcome {
                as_of: day("2024-06-01"),
                clauses: clauses.into_iter().collect(),
                evidence: evidence.into_iter().collect(),
                total_rounding: None,
            };
            assert_same(&program, &outcome, &records, &format!("{id} made-up {index}"));
        }
    }
}

#[test]
fn decimals_are_written_as_display_writes_them() {
    let mut rng = Rng(42);
    let mut values = vec![
        Decimal::ZERO,
        -Decimal::ZERO,
        Decimal::new(0, 2),
        Decimal::new(-0, 2),
        Decimal::new(5, 2),
        Decimal::new(-5, 3),
        Decimal::new(123_456, 0),
        Decimal::new(850, 2),
        Decimal::new(1, 28),
        Decimal::new(-1, 28),
        Decimal::new(i64::MAX, 0),
        Decimal::new(i64::MIN, 7),
        Decimal::MAX,
        Decimal::MIN,
        Decimal::from_i128_with_scale(u64::MAX as i128, 4),
        Decimal::from_i128_with_scale(u64::MAX as i128 + 1, 4),
    ];
    let mut negative_zero = Decimal::new(0, 3);
    negative_zero.set_sign_negative(true);
    values.push(negative_zero);
    for _ in 0..2_000 {
        values.push(Decimal::new(rng.next() as i64, rng.below(29) as u32));
        values.push(rng.decimal());
    }
    for value in values {
        let mut out = String::from("x");
        push_decimal(&mut out, value);
        assert_eq!(out, format!("x{value}"), "{value:?}");
    }
}

#[test]
fn dates_are_written_as_display_writes_them() {
    let mut dates = vec![
        NaiveDate::MIN,
        NaiveDate::MAX,
        day("0000-01-01"),
        day("0001-02-03"),
        day("0999-12-31"),
        day("1990-01-01"),
        day("2024-02-29"),
        day("9999-12-31"),
        NaiveDate::from_ymd_opt(10_000, 1, 1).expect("date"),
        NaiveDate::from_ymd_opt(-1, 6, 30).expect("date"),
    ];
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let days = rng.below(4_000_000) as i32 - 1_000_000;
        if let Some(date) = NaiveDate::from_num_days_from_ce_opt(days) {
            dates.push(date);
        }
    }
    for date in dates {
        let mut out = String::new();
        push_date(&mut out, date);
        assert_eq!(out, date.to_string());
    }
}
