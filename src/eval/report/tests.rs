//! The one-buffer report builder against the reference (the builder it replaced): the same
//! report, so the same JSON bytes and Chinese sentences, over generated entities of every
//! shipped rule set and over made-up outcomes that reach every sentence (errors, vetoes,
//! flags, weighted and negative points), its hand-written JSON against serde_json's; and its
//! number and date writers against `Display` and the libraries' own `Serialize`.

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
    // The hand-written JSON writer against serde_json, whole report and fields alone.
    let json = serde_json::to_vec(&fast).expect("json");
    assert_eq!(
        String::from_utf8_lossy(&fast.to_json()),
        String::from_utf8_lossy(&json),
        "{what}"
    );
    let mut fields = b"{".to_vec();
    fast.write_json_fields(&mut fields);
    fields.push(b'}');
    assert_eq!(fields, json, "{what}");
}

#[test]
fn the_report_is_the_reference_report_for_generated_entities() {
    let workspace = shipped();
    let config = DemoConfig {
        entities: 150,
        records_per_entity: (0, 24),
        ..DemoConfig::default()
    };
    let entities: Vec<Vec<CreditRecord>> =
        (0..config.entities).map(|i| entity(&config, i).2).collect();
    let mut compared = 0;
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule set compiles");
        for as_of in [day("2021-03-01"), day("2024-06-01"), day("2026-12-31")] {
            for (i, records) in entities.iter().enumerate() {
                let outcome = program.evaluate(records, as_of);
                assert_same(
                    &program,
                    &outcome,
                    records,
                    &format!("{id} entity {i} {as_of}"),
                );
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
            let clauses: crate::eval::ClauseOutcomes = program
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
                clauses,
                evidence: evidence.into_iter().collect(),
                total_rounding: None,
            };
            assert_same(
                &program,
                &outcome,
                &records,
                &format!("{id} made-up {index}"),
            );
        }
    }
}

#[test]
fn every_prepared_score_sentence_is_the_reference_sentence() {
    let workspace = shipped();
    let config = DemoConfig {
        entities: 1,
        records_per_entity: (2, 2),
        ..DemoConfig::default()
    };
    let records = entity(&config, 0).2;
    let mut prepared = 0;
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule set compiles");
        for (i, clause) in program.clauses.iter().enumerate() {
            let outcomes: &[ClauseOutcome] = match &clause.plan {
                crate::eval::plan::Plan::General => &[][..],
                crate::eval::plan::Plan::Count { outcomes, .. }
                | crate::eval::plan::Plan::Table { outcomes, .. } => &outcomes[..],
            };
            if clause.kind == crate::ast::ClauseKind::Score {
                prepared += program.report_text.clauses[i].scores.len();
            }
            // Each kept outcome in clause `i`'s place, citing no record and then two.
            for (n, kept) in outcomes.iter().enumerate() {
                for cited in [0, records.len() as u32] {
                    let mut clauses = program.evaluate(&[], day("2024-06-01")).clauses;
                    clauses[i] = ClauseOutcome {
                        evidence: 0..cited,
                        ..kept.clone()
                    };
                    let outcome = Outcome {
                        as_of: day("2024-06-01"),
                        clauses,
                        evidence: (0..cited).collect(),
                        total_rounding: None,
                    };
                    assert_same(
                        &program,
                        &outcome,
                        &records,
                        &format!("{id} clause {} outcome {n} citing {cited}", clause.id),
                    );
                }
            }
        }
    }
    assert!(
        prepared > 0,
        "the shipped score clauses have prepared sentences"
    );
}

/// Decimals of every shape: zeros (a negative one too), long scales, the largest mantissas
/// and random ones.
fn decimals() -> Vec<Decimal> {
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
        Decimal::from_i128_with_scale(u64::MAX as i128, 28),
        Decimal::from_i128_with_scale(-(u64::MAX as i128), 28),
        Decimal::from_i128_with_scale(u64::MAX as i128 + 1, 4),
    ];
    let mut negative_zero = Decimal::new(0, 3);
    negative_zero.set_sign_negative(true);
    values.push(negative_zero);
    for _ in 0..2_000 {
        values.push(Decimal::new(rng.next() as i64, rng.below(29) as u32));
        values.push(rng.decimal());
    }
    values
}

/// Dates at and beyond the years 0 to 9999, and random ones.
fn dates() -> Vec<NaiveDate> {
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
    dates
}

#[test]
fn decimals_are_written_as_display_writes_them() {
    for value in decimals() {
        let mut out = String::from("x");
        push_decimal(&mut out, value);
        assert_eq!(out, format!("x{value}"), "{value:?}");
    }
}

#[test]
fn dates_are_written_as_display_writes_them() {
    for date in dates() {
        let mut out = String::new();
        push_date(&mut out, date);
        assert_eq!(out, date.to_string());
    }
}

/// The report's date and decimal fields through its own serialisers …
#[derive(serde::Serialize)]
struct Fast {
    #[serde(serialize_with = "super::text::date")]
    date: NaiveDate,
    #[serde(serialize_with = "super::text::optional_date")]
    some_date: Option<NaiveDate>,
    #[serde(serialize_with = "super::text::optional_date")]
    no_date: Option<NaiveDate>,
    #[serde(serialize_with = "super::text::decimal")]
    decimal: Decimal,
    #[serde(serialize_with = "super::text::optional_decimal")]
    some_decimal: Option<Decimal>,
    #[serde(serialize_with = "super::text::optional_decimal")]
    no_decimal: Option<Decimal>,
}

/// … and through chrono's and rust_decimal's.
#[derive(serde::Serialize)]
struct Own {
    date: NaiveDate,
    some_date: Option<NaiveDate>,
    no_date: Option<NaiveDate>,
    decimal: Decimal,
    some_decimal: Option<Decimal>,
    no_decimal: Option<Decimal>,
}

#[test]
fn dates_and_decimals_serialise_as_their_own_serialize_does() {
    let (dates, decimals) = (dates(), decimals());
    for (i, decimal) in decimals.iter().enumerate() {
        let date = dates[i % dates.len()];
        let fast = Fast {
            date,
            some_date: Some(date),
            no_date: None,
            decimal: *decimal,
            some_decimal: Some(*decimal),
            no_decimal: None,
        };
        let own = Own {
            date,
            some_date: Some(date),
            no_date: None,
            decimal: *decimal,
            some_decimal: Some(*decimal),
            no_decimal: None,
        };
        assert_eq!(
            serde_json::to_string(&fast).expect("json"),
            serde_json::to_string(&own).expect("json"),
            "{date} {decimal:?}"
        );
    }
}
