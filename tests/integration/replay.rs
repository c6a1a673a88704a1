//! Receipts and replay: every answer carries a decision id and a signed receipt; a logged
//! decision replays identically from the stored rules and the records as the store knew them
//! then, however the records were corrected since; evaluation "as known at" a past time sees
//! the records of that time.

use crate::common::{code, record, shipped};
use crate::http::{CITY, EVALUATOR, call, seed_bidder, state};
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, Utc};
use credit_rules::receipt::{Receipt, verify};
use credit_rules::record::{CreditRecord, RecordKind};
use credit_rules::replay::replay;
use credit_rules::source::SourceFile;
use credit_rules::store::{DecisionEntry, DecisionLog, EventKind, Records, SledStore};
use proptest::prelude::*;
use serde_json::json;

/// Lets the store's millisecond clock move on, so that the next write is later than any
/// `known_at` taken before it.
fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(3));
}

#[tokio::test]
async fn an_answer_carries_a_signed_receipt_and_replays_identically_after_a_correction() {
    let s = state();
    seed_bidder(&s).await;
    let uscc = "914201158544006819";
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc });
    let first = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let id = first.body["decision_id"].as_u64().expect("decision id");
    assert_eq!(first.body["uscc"], uscc);
    assert!(first.body["known_at"].is_string());
    let receipt: Receipt =
        serde_json::from_value(first.body["receipt"].clone()).expect("a receipt");
    assert_eq!(receipt.body.decision_id, id);
    assert_eq!(
        receipt.body.version_id,
        first.body["hash"].as_str().expect("hash")
    );
    assert_eq!(
        receipt.body.decision,
        first.body["decision"].as_str().expect("decision")
    );

    // The public key is public, and the receipt verifies with it; an altered one does not.
    let key = call(&s, "GET", "/api/v1/receipts/public-key", None, None).await;
    assert_eq!(key.status, StatusCode::OK, "{}", key.body);
    let public_key = key.body["public_key"].as_str().expect("key").to_string();
    assert_eq!(verify(&receipt, Some(&public_key)), Ok(()));
    let mut altered = receipt.clone();
    altered.body.decision = "eligible".into();
    assert!(verify(&altered, Some(&public_key)).is_err());

    // A correction after the decision: the veto record was decided after the bid opening.
    tick();
    let mut records: Vec<CreditRecord> =
        serde_json::from_value(crate::http::sample_records()).expect("records");
    records.retain(|r| r.id == "ZXGK-00008");
    records[0].decided_on = NaiveDate::from_ymd_opt(2024, 6, 15).expect("day");
    records[0].published_on = None;
    let outcome = s.store.put_records(&records).expect("corrected");
    assert_eq!(outcome.updated, 1, "{outcome:?}");

    let uri = format!("/api/v1/decisions/{id}/replay");
    let replayed = call(&s, "GET", &uri, Some(CITY), None).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["outcome"], "identical", "{}", replayed.body);
    assert_eq!(replayed.body["differences"], json!([]));

    // Now the entity is judged on the corrected records …
    let now = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body.clone()),
    )
    .await;
    assert_ne!(now.body["decision"], first.body["decision"], "{}", now.body);
    // … and as known at the first decision's time, as then.
    let mut then = body.clone();
    then["known_at"] = first.body["known_at"].clone();
    let again = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(then)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    for field in ["decision", "total", "vetoes", "flags", "scores", "hash"] {
        assert_eq!(again.body[field], first.body[field], "{field}");
    }
    assert_eq!(again.body["known_at"], first.body["known_at"]);

    // Unknown and inline decisions are clear errors.
    let missing = call(
        &s,
        "GET",
        "/api/v1/decisions/999999/replay",
        Some(CITY),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    let inline = json!({ "ruleset": "water", "as_of": "2024-06-01",
        "records": crate::http::sample_records() });
    let inline = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(inline),
    )
    .await;
    let uri = format!(
        "/api/v1/decisions/{}/replay",
        inline.body["decision_id"].as_u64().expect("id")
    );
    let refused = call(&s, "GET", &uri, Some(CITY), None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.body["code"], "inline_records");
    let both = json!({ "ruleset": "water", "as_of": "2024-06-01", "known_at": "2024-01-01T00:00:00Z",
        "records": crate::http::sample_records() });
    let both = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(both)).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST, "{}", both.body);
    assert_eq!(both.body["code"], "known_at");
}

#[tokio::test]
async fn every_tender_member_gets_its_decision_id_and_receipt() {
    let s = state();
    seed_bidder(&s).await;
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "bidders": [
        { "id": "A", "members": ["914201158544006819"] },
        { "id": "B", "members": [code(7).to_string()] },
    ]});
    let r = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["known_at"].is_string());
    let mut ids = Vec::new();
    for bid in r.body["bids"].as_array().expect("bids") {
        for member in bid["members"].as_array().expect("members") {
            let receipt: Receipt =
                serde_json::from_value(member["receipt"].clone()).expect("receipt");
            assert_eq!(verify(&receipt, None), Ok(()));
            assert_eq!(
                Some(receipt.body.decision_id),
                member["decision_id"].as_u64()
            );
            assert_eq!(receipt.body.uscc.as_deref(), member["uscc"].as_str());
            ids.push(receipt.body.decision_id);
        }
    }
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    for id in ids {
        let uri = format!("/api/v1/decisions/{id}/replay");
        let replayed = call(&s, "GET", &uri, Some(CITY), None).await;
        assert_eq!(replayed.body["outcome"], "identical", "{}", replayed.body);
    }
}

#[tokio::test]
async fn a_tender_context_reaches_every_member_and_its_log_entry() {
    use credit_rules::store::DecisionQuery;
    let s = state();
    seed_bidder(&s).await;
    let bidders = json!([
        { "id": "A", "members": ["914201158544006819"] },
        { "id": "B", "members": [code(7).to_string()] },
    ]);
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "bidders": bidders,
        "context": { "project_type": "施工", "budget": "5000000" } });
    let r = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<u64> = r.body["bids"]
        .as_array()
        .expect("bids")
        .iter()
        .flat_map(|bid| bid["members"].as_array().expect("members").clone())
        .map(|member| member["decision_id"].as_u64().expect("decision id"))
        .collect();
    assert_eq!(ids.len(), 2);
    let logged = s
        .store
        .decisions(&DecisionQuery::default())
        .expect("decisions");
    for id in &ids {
        let entry = &logged.iter().find(|d| d.seq == *id).expect("logged").entry;
        let context = entry
            .context
            .as_ref()
            .expect("each member's context is logged");
        assert_eq!(context.project_type.as_deref(), Some("施工"));
        assert_eq!(context.budget, Some(rust_decimal::Decimal::from(5_000_000)));
        let uri = format!("/api/v1/decisions/{id}/replay");
        let replayed = call(&s, "GET", &uri, Some(CITY), None).await;
        assert_eq!(replayed.body["outcome"], "identical", "{}", replayed.body);
    }

    // A bad context is refused before anything is evaluated or logged.
    let before = logged.len();
    let bad = json!({ "ruleset": "water", "as_of": "2024-06-01", "bidders": bidders,
        "context": { "budget": "-1" } });
    let refused = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(bad),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["code"], "invalid_context", "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["at"], "context.budget",
        "{}",
        refused.body
    );
    let after = s
        .store
        .decisions(&DecisionQuery::default())
        .expect("decisions")
        .len();
    assert_eq!(after, before, "nothing is logged for a refused tender");
}

/// One step of a record history.
#[derive(Debug, Clone)]
enum Step {
    /// Store record `R{id}` (new, or a correction of it) of a kind, decided some days
    /// before 2024-06-01.
    Put {
        id: u8,
        kind: usize,
        days_before: i64,
    },
    /// Repair record `R{id}` some days before 2024-06-01.
    Repair { id: u8, days_before: i64 },
    /// Evaluate the entity as of some days after 2024-01-01, and log the decision.
    Evaluate { days_after: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..4, 0usize..RecordKind::ALL.len(), 0i64..900).prop_map(|(id, kind, days_before)| {
            Step::Put {
                id,
                kind,
                days_before,
            }
        }),
        (0u8..4, 0i64..300).prop_map(|(id, days_before)| Step::Repair { id, days_before }),
        (0i64..400).prop_map(|days_after| Step::Evaluate { days_after }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Random records, corrections and repairs over time, with evaluations in between:
    /// every logged decision replays identically at the end.
    #[test]
    fn every_logged_decision_replays_identically(steps in prop::collection::vec(step(), 1..14)) {
        let workspace = shipped();
        let program = workspace.compile("water").expect("water compiles");
        let store = SledStore::open_temporary().expect("store");
        let uscc = code(42);
        let base = NaiveDate::from_ymd_opt(2024, 6, 1).expect("day");
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("day");
        let mut logged = Vec::new();
        for step in steps {
            match step {
                Step::Put { id, kind, days_before } => {
                    tick();
                    let decided = (base - Duration::days(days_before)).to_string();
                    let r = record(&format!("R{id}"), &uscc, RecordKind::ALL[kind], &decided);
                    store.put_records(&[r]).expect("stored or refused");
                }
                Step::Repair { id, days_before } => {
                    tick();
                    let date = base - Duration::days(days_before);
                    // A repair of a record not stored yet waits; one before the decision
                    // is refused: either way nothing is lost.
                    let _ = store.apply_event(&format!("R{id}"), EventKind::Repair, date);
                }
                Step::Evaluate { days_after } => {
                    let as_of = start + Duration::days(days_after);
                    let records = store.records_of(&uscc).expect("records");
                    let known_at = chrono::DateTime::from_timestamp_millis(
                        Utc::now().timestamp_millis(),
                    )
                    .expect("time");
                    let report = program.evaluate(&records, as_of).report(&program, &records);
                    let entry = DecisionEntry::from_report(&report, vec![uscc.clone()], Utc::now())
                        .records_from(known_at, false);
                    logged.push(store.append_decision(&entry).expect("logged"));
                }
            }
        }
        let unstored = |id: &str| workspace.library.get(id).map(|(f, _)| f.clone());
        let unstored: &dyn Fn(&str) -> Option<SourceFile> = &unstored;
        for seq in logged {
            let replayed = replay(&store, seq, unstored).expect("replays");
            prop_assert!(replayed.identical, "decision {seq}: {:?}", replayed.differences);
        }
    }
}

/// The store's view as known at a time: a record first stored later is absent; a record
/// corrected later is seen as it was.
#[test]
fn records_as_known_at_a_time_leave_out_later_writes() {
    let store = SledStore::open_temporary().expect("store");
    let uscc = code(5);
    let before = Utc::now() - Duration::days(1);
    store
        .put_records(&[record("A", &uscc, RecordKind::AdminPenalty, "2024-01-10")])
        .expect("stored");
    tick();
    let first = Utc::now();
    tick();
    store
        .put_records(&[
            record("A", &uscc, RecordKind::AdminPenalty, "2024-02-10"),
            record("B", &uscc, RecordKind::Blacklist, "2024-03-01"),
        ])
        .expect("stored");
    assert!(
        store
            .records_known_at(&uscc, before)
            .expect("read")
            .is_empty()
    );
    let then = store.records_known_at(&uscc, first).expect("read");
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].decided_on.to_string(), "2024-01-10");
    tick();
    let now = store.records_known_at(&uscc, Utc::now()).expect("read");
    assert_eq!(now, store.records_of(&uscc).expect("read"));
    assert_eq!(now.len(), 2);
}

#[tokio::test]
async fn a_tender_context_is_validated_logged_with_the_decision_and_replayed() {
    use credit_rules::store::DecisionQuery;
    let s = state();
    seed_bidder(&s).await;
    let uscc = "914201158544006819";
    let context = json!({ "project_type": "施工", "sector": "水务", "budget": "5000000" });
    let body =
        json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc, "context": context });
    let answer = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let id = answer.body["decision_id"].as_u64().expect("decision id");
    let logged = s
        .store
        .decisions(&DecisionQuery::default())
        .expect("decisions");
    let entry = &logged.iter().find(|d| d.seq == id).expect("logged").entry;
    let stored = entry.context.as_ref().expect("the context is logged");
    assert_eq!(stored.project_type.as_deref(), Some("施工"));
    assert_eq!(stored.budget, Some(rust_decimal::Decimal::from(5_000_000)));
    let uri = format!("/api/v1/decisions/{id}/replay");
    let replayed = call(&s, "GET", &uri, Some(CITY), None).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["outcome"], "identical", "{}", replayed.body);

    // Without a context nothing is logged for it.
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc });
    let plain = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let id = plain.body["decision_id"].as_u64().expect("decision id");
    let logged = s
        .store
        .decisions(&DecisionQuery::default())
        .expect("decisions");
    let entry = &logged.iter().find(|d| d.seq == id).expect("logged").entry;
    assert_eq!(entry.context, None);

    // A negative budget is refused, naming the field; an unknown field is a malformed body.
    let bad = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc,
        "context": { "budget": "-1" } });
    let refused = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(bad)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["code"], "invalid_context", "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["at"], "context.budget",
        "{}",
        refused.body
    );
    let unknown = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc,
        "context": { "budjet": "1" } });
    let refused = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(unknown),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
}

/// A tender's receipts are signed together: one signature over the Merkle root of all its
/// members' receipts, each receipt carrying its own inclusion path, so that each verifies
/// alone and none can be altered or given another's place. The tender context is signed.
#[tokio::test]
async fn a_tenders_receipts_share_one_signature_and_each_verifies_alone() {
    use credit_rules::receipt::ReceiptError;
    let s = state();
    seed_bidder(&s).await;
    let bidders: Vec<_> = (0..12u32)
        .map(|i| {
            let member = if i == 0 {
                "914201158544006819".to_string()
            } else {
                code(i).to_string()
            };
            json!({ "id": format!("B{i:02}"), "members": [member] })
        })
        .collect();
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "bidders": bidders,
        "context": { "sector": "水务", "budget": "5000000" } });
    let r = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let key = call(&s, "GET", "/api/v1/receipts/public-key", None, None).await;
    let public_key = key.body["public_key"].as_str().expect("key").to_string();
    let receipts: Vec<Receipt> = r.body["bids"]
        .as_array()
        .expect("bids")
        .iter()
        .flat_map(|bid| bid["members"].as_array().expect("members").clone())
        .map(|member| {
            let receipt: Receipt =
                serde_json::from_value(member["receipt"].clone()).expect("receipt");
            assert_eq!(
                Some(receipt.body.decision_id),
                member["decision_id"].as_u64()
            );
            receipt
        })
        .collect();
    assert_eq!(receipts.len(), 12);
    let first = receipts[0].batch.clone().expect("a batch");
    let mut indexes = Vec::new();
    for receipt in &receipts {
        assert_eq!(receipt.body.format, credit_rules::receipt::RECEIPT_FORMAT);
        let batch = receipt.batch.as_ref().expect("a batch");
        // Nothing else was evaluated meanwhile: the batch is exactly the tender.
        assert_eq!((batch.size, &batch.root), (12, &first.root));
        assert_eq!(receipt.signature, receipts[0].signature);
        indexes.push(batch.index);
        let context = receipt
            .body
            .context
            .as_ref()
            .expect("the context is signed");
        assert_eq!(context.sector.as_deref(), Some("水务"));
        assert_eq!(context.budget, Some(rust_decimal::Decimal::from(5_000_000)));
        assert_eq!(verify(receipt, Some(&public_key)), Ok(()));
        // Saved alone (the member object), it still verifies.
        let alone = serde_json::to_string(receipt).expect("json");
        let back = credit_rules::receipt::parse(&alone).expect("parses");
        assert_eq!(verify(&back, Some(&public_key)), Ok(()));
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..12).collect::<Vec<_>>());

    // Altered content, another member's path, a forged root: refused.
    let mut altered = receipts[3].clone();
    altered.body.total = "99.00".into();
    assert_eq!(verify(&altered, None), Err(ReceiptError::NotInBatch));
    let mut other_context = receipts[3].clone();
    other_context.body.context = None;
    assert_eq!(verify(&other_context, None), Err(ReceiptError::NotInBatch));
    let mut moved = receipts[3].clone();
    moved.batch = receipts[4].batch.clone();
    assert_eq!(verify(&moved, None), Err(ReceiptError::NotInBatch));
    let mut forged = receipts[3].clone();
    if let Some(batch) = forged.batch.as_mut() {
        batch.root = "00".repeat(32);
    }
    assert_eq!(verify(&forged, None), Err(ReceiptError::NotInBatch));
}

/// Single evaluations arriving together may share a decision-log flush and one receipt
/// signature; every answer's receipt still names its own decision and verifies alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_evaluations_get_receipts_that_each_verify_alone() {
    let s = state();
    seed_bidder(&s).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..32u32 {
        let s = s.clone();
        calls.spawn(async move {
            let uscc = if i % 2 == 0 {
                "914201158544006819".to_string()
            } else {
                code(i).to_string()
            };
            let mut body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc });
            if i % 3 == 0 {
                body["context"] = json!({ "project_type": "施工" });
            }
            (
                i,
                call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await,
            )
        });
    }
    let mut ids = Vec::new();
    let mut by_root: std::collections::HashMap<String, (String, Vec<u64>)> =
        std::collections::HashMap::new();
    while let Some(done) = calls.join_next().await {
        let (i, r) = done.expect("call");
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let receipt: Receipt =
            serde_json::from_value(r.body["receipt"].clone()).expect("a receipt");
        assert_eq!(verify(&receipt, None), Ok(()), "call {i}");
        assert_eq!(
            r.body["decision_id"].as_u64(),
            Some(receipt.body.decision_id)
        );
        assert_eq!(receipt.body.uscc.as_deref(), r.body["uscc"].as_str());
        assert_eq!(
            receipt.body.context.is_some(),
            i % 3 == 0,
            "the context is signed when given"
        );
        ids.push(receipt.body.decision_id);
        let batch = receipt.batch.expect("a batch");
        let shared = by_root
            .entry(batch.root)
            .or_insert_with(|| (receipt.signature.clone(), Vec::new()));
        // One signature per batch, one leaf per receipt.
        assert_eq!(shared.0, receipt.signature);
        shared.1.push(batch.index);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 32, "every decision has its own id");
    for (_, (_, mut indexes)) in by_root {
        let count = indexes.len();
        indexes.sort_unstable();
        indexes.dedup();
        assert_eq!(indexes.len(), count, "no two receipts share a leaf");
    }
}
