//! The hand-written baseline (`benches/baseline/mod.rs`, the practical limit the engine's
//! evaluation is measured against by `scripts/callgrind.sh`) agrees with the engine on the
//! shipped water rule set: same decision, same clauses firing, same raw points, points and
//! total, same evidence, over generated entities and several as-of days. Its hand-written
//! decoder refuses what the engine's record validation refuses.

use crate::baseline::{self, CLAUSES, Rng};
use crate::common::{day, shipped};
use credit_rules::eval::Decision;
use credit_rules::record::CreditRecord;

fn mask(indexes: &[u32]) -> u64 {
    indexes.iter().fold(0, |m, i| m | 1 << i)
}

#[test]
fn the_hand_written_baseline_agrees_with_the_engine_on_generated_entities() {
    let program = shipped().compile("water").expect("water compiles");
    let ids: Vec<&str> = program.clauses.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, CLAUSES, "the baseline follows water.rules' clauses");
    let days = [
        baseline::as_of(),
        day("2024-02-29"),
        day("2023-03-31"),
        day("2024-12-31"),
        day("2021-01-01"),
    ];
    let sizes = [0, 1, 4, 4, 8, 20, 40];
    let mut rng = Rng::new(15);
    let mut fired = [0usize; 11];
    let mut nonzero = [0usize; 11];
    for e in 0..3000 {
        let as_of = days[e % days.len()];
        let records = baseline::entity(&mut rng, sizes[e % sizes.len()], as_of);
        let json = serde_json::to_vec(&records).expect("serialises");
        let typed = baseline::decode(&json).expect("generated records are valid");
        let base = baseline::evaluate(&typed, as_of);
        let outcome = program.evaluate(&records, as_of);
        let context = || format!("entity {e} as of {as_of}: {records:#?}");
        assert_eq!(
            outcome.decision(&program) == Decision::Disqualified,
            base.disqualified,
            "{}",
            context()
        );
        assert_ne!(outcome.decision(&program), Decision::Review);
        assert_eq!(outcome.total(), base.total, "{}", context());
        for (i, clause) in outcome.clauses.iter().enumerate() {
            assert_eq!(clause.error, None, "{}", context());
            assert_eq!(clause.fired, base.fired[i], "{} {}", CLAUSES[i], context());
            assert_eq!(clause.raw, base.raw[i], "{} {}", CLAUSES[i], context());
            assert_eq!(
                clause.points,
                base.points[i],
                "{} {}",
                CLAUSES[i],
                context()
            );
            assert_eq!(
                mask(outcome.evidence_of(i)),
                base.evidence[i],
                "evidence of {} {}",
                CLAUSES[i],
                context()
            );
            fired[i] += usize::from(base.fired[i]);
            nonzero[i] += usize::from(base.raw[i].is_some_and(|r| !r.is_zero()));
        }
    }
    // The generated entities exercise every clause: each veto and flag fires, each score
    // gives points, and most entities are not disqualified (the measured case).
    for i in 0..7 {
        assert!(
            fired[i] > 10,
            "{} fired only {} times",
            CLAUSES[i],
            fired[i]
        );
    }
    for i in 7..11 {
        assert!(
            nonzero[i] > 100,
            "{} gave points only {} times",
            CLAUSES[i],
            nonzero[i]
        );
    }
}

#[test]
fn the_hand_written_decoder_refuses_what_validation_refuses() {
    let mut rng = Rng::new(7);
    let records = baseline::entity(&mut rng, 4, baseline::as_of());
    let json = serde_json::to_string(&records).expect("serialises");
    assert_eq!(baseline::decode(json.as_bytes()).expect("valid").len(), 4);
    let first = &records[0];
    let broken = [
        ("id", " "),
        ("uscc", "91420100MA4K3Q7T14"),
        ("amount", "-1"),
        ("repaired_on", "1999-01-01"),
    ];
    for (field, bad) in broken {
        let mut value = serde_json::to_value(first).expect("serialises");
        value[field] = bad.into();
        let text = serde_json::Value::Array(vec![value]).to_string();
        assert!(baseline::decode(text.as_bytes()).is_err(), "{field}");
        let engine = serde_json::from_str::<Vec<CreditRecord>>(&text)
            .map_err(|e| e.to_string())
            .and_then(|rs| rs[0].validate().map_err(|e| format!("{e:?}")));
        assert!(engine.is_err(), "the engine refuses a broken {field} too");
    }
}
