//! Intake under careless or hostile sources: the dates of every feed and their order, the
//! limits on records in the service's own format (dates, lengths, amounts, duplicates in a
//! batch), exact numbers and exact ids.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use credit_rules::intake::{FeedKind, FieldProblem, HUBEI, IntakeError, map_line_as};
use credit_rules::store::{NewRuleSetVersion, Records, SledStore, Versions};
use serde_json::{Value, json};

use crate::http::{INTAKE, call, raw, state};

/// The sample court rows (a missing feed fails the test: see [`crate::common::feed_text`]).
fn sample_court_rows() -> Vec<serde_json::Map<String, Value>> {
    crate::common::feed_text("court")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON object"))
        .collect()
}

/// The first row of the sample court feed, as crafted rows start from.
fn court_row() -> serde_json::Map<String, Value> {
    let row = json!({"xxbh": "ZXGK-00001", "iname": "江夏市政工程咨询有限公司",
        "cardNum": "914201066715055524", "caseCode": "(2022)鄂01执219号",
        "courtName": "武汉市洪山区人民法院", "regDate": "2022-02-27", "performance": "部分未履行",
        "disruptTypeName": "有履行能力而拒不履行生效法律文书确定义务", "publishDate": "2022-03-29"});
    row.as_object().cloned().unwrap_or_default()
}

fn map_court(row: &serde_json::Map<String, Value>) -> Result<(), IntakeError> {
    map_line_as(&Value::Object(row.clone()).to_string(), FeedKind::Court).map(|_| ())
}

#[test]
fn every_sample_court_row_maps() {
    let rows = sample_court_rows();
    assert!(rows.len() > 10);
    for row in rows {
        assert_eq!(map_court(&row), Ok(()), "{row:?}");
    }
}

#[test]
fn a_court_row_has_its_filing_date_checked_too() {
    let mut row = court_row();
    row.insert("regDate".into(), json!("2023-02-30"));
    let err = map_court(&row).expect_err("impossible regDate");
    let fields: Vec<&str> = err
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["regDate"], "{err}");
    assert!(
        matches!(
            err.field_errors()[0].problem,
            FieldProblem::ImpossibleDate { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("has no day 30"), "{err}");
}

#[test]
fn a_court_row_published_before_its_filing_is_refused() {
    let mut row = court_row();
    row.insert("regDate".into(), json!("2024-03-10"));
    row.insert("publishDate".into(), json!("2001-01-01"));
    let err = map_court(&row).expect_err("published before filed");
    let errors = err.field_errors();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(errors[0].field, "publishDate");
    assert!(
        matches!(
            errors[0].problem,
            FieldProblem::DatesOutOfOrder {
                earlier_field: "regDate",
                ..
            }
        ),
        "{err}"
    );
    // The same day is fine.
    row.insert("publishDate".into(), json!("2024-03-10"));
    assert_eq!(map_court(&row), Ok(()));
}

#[test]
fn the_date_orders_are_part_of_the_mapping_table() {
    let court = HUBEI.feed(FeedKind::Court).expect("court feed");
    assert!(
        court
            .date_order
            .iter()
            .any(|o| o.earlier == "regDate" && o.later == "publishDate")
    );
    assert!(
        HUBEI
            .to_markdown()
            .contains("date order: `publishDate` not before `regDate`")
    );
}

// ---------------------------------------------------------------------------------------------
// Records in the service's own format, pushed over HTTP
// ---------------------------------------------------------------------------------------------

const USCC: &str = "914201066715055524";

fn record(id: &str) -> Value {
    json!({"id": id, "uscc": USCC, "kind": "ADMIN_PENALTY", "decided_on": "2024-05-01"})
}

/// Pushes a raw JSON body (numbers exactly as written) and returns the answer.
async fn push_text(state: &credit_rules::http::AppState, body: String) -> crate::http::Response {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/records")
        .header(header::AUTHORIZATION, format!("Bearer {INTAKE}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    raw(state, request).await
}

/// The reasons given for the refused items, by item position.
fn reasons(answer: &Value) -> Vec<(String, String)> {
    answer["rejected"]
        .as_array()
        .expect("rejected list")
        .iter()
        .map(|r| {
            (
                r["at"].as_str().unwrap_or("").to_owned(),
                r["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pushed_records_are_held_to_the_documented_limits() {
    let s = state();
    let future = Utc::now().date_naive() + chrono::Days::new(30);
    let mut negative = record("NEG");
    negative["amount"] = json!("-2.5");
    let mut ancient = record("OLD");
    ancient["decided_on"] = json!("0001-01-01");
    let mut ahead = record("AHEAD");
    ahead["decided_on"] = json!(future.to_string());
    let mut forever = record("FOREVER");
    forever["disclosure_until"] = json!("9999-12-31");
    let mut impossible = record("FEB30");
    impossible["decided_on"] = json!("2023-02-30");
    let mut long = record("LONG");
    long["description"] = json!("违".repeat(4_001));
    let good = record("GOOD");
    let answer = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [negative, ancient, ahead, forever, impossible, long, good]})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["inserted"], 1, "{}", answer.body);
    let reasons = reasons(&answer.body);
    let expect = [
        ("NEG", "field `amount` (-2.5) is negative"),
        (
            "OLD",
            "field `decided_on` (0001-01-01) is before 1990-01-01",
        ),
        ("AHEAD", "is in the future"),
        ("FOREVER", "more than 30 years after the decision"),
        ("FEB30", "field `decided_on` = `2023-02-30`"),
        (
            "LONG",
            "field `description` is 4001 characters long; at most 4000",
        ),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
    for ((at, message), (id, phrase)) in reasons.iter().zip(expect) {
        assert!(at.contains(id), "{at}: {message}");
        assert!(message.contains(phrase), "{id}: {message}");
    }
    assert!(reasons[4].1.contains("has no day 30"), "{}", reasons[4].1);
    assert!(
        s.store.record("GOOD").expect("read").is_some(),
        "the good record is stored"
    );
    assert!(s.store.record("NEG").expect("read").is_none());
}

#[tokio::test]
async fn the_same_id_twice_in_a_batch_with_different_content_is_refused() {
    let s = state();
    let first = record("DUP");
    let mut second = record("DUP");
    second["document_no"] = json!("武水罚〔2024〕9号");
    let answer = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [first.clone(), first.clone(), second]})),
    )
    .await;
    assert_eq!(answer.body["inserted"], 1, "{}", answer.body);
    let reasons = reasons(&answer.body);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].0.starts_with("items[2]"), "{reasons:?}");
    assert!(
        reasons[0]
            .1
            .contains("was already sent at items[0] (DUP) with different content"),
        "{reasons:?}"
    );
    let stored = s.store.record("DUP").expect("read").expect("stored");
    assert_eq!(stored.document_no, None, "the first copy is kept");
}

#[tokio::test]
async fn amounts_are_read_exactly_or_refused() {
    let s = state();
    let body = format!(
        r#"{{"items": [
            {{"id": "BIG", "uscc": "{USCC}", "kind": "ADMIN_PENALTY", "decided_on": "2024-05-01", "amount": 18446744073709551616}},
            {{"id": "FINE", "uscc": "{USCC}", "kind": "ADMIN_PENALTY", "decided_on": "2024-05-01", "amount": 0.1000000000000000055511151231}},
            {{"id": "TINY", "uscc": "{USCC}", "kind": "ADMIN_PENALTY", "decided_on": "2024-05-01", "amount": 1e-999999}}
        ]}}"#
    );
    let answer = push_text(&s, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let big = s.store.record("BIG").expect("read").expect("stored");
    assert_eq!(
        big.amount.map(|a| a.to_string()).as_deref(),
        Some("18446744073709551616")
    );
    let fine = s.store.record("FINE").expect("read").expect("stored");
    assert_eq!(
        fine.amount.map(|a| a.to_string()).as_deref(),
        Some("0.1000000000000000055511151231")
    );
    let reasons = reasons(&answer.body);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].0.contains("TINY"), "{reasons:?}");
    assert!(
        reasons[0]
            .1
            .contains("field `amount`: `1e-999999` cannot be held exactly")
            && reasons[0].1.contains("as a string"),
        "{reasons:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Exact ids
// ---------------------------------------------------------------------------------------------

#[test]
fn store_lookups_match_ids_exactly() {
    let store = SledStore::open_temporary().expect("store");
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rulesets/water/water.rules"
    ))
    .expect("water");
    store
        .put_ruleset_version(&NewRuleSetVersion {
            ruleset_id: "water",
            source: &source,
            author: "test",
            message: "first",
            time: Utc::now(),
        })
        .expect("saved");
    assert_eq!(store.ruleset_versions("water").expect("read").len(), 1);
    assert!(store.ruleset_versions("water\0").expect("read").is_empty());
    assert!(store.ruleset_versions("wat").expect("read").is_empty());
}

#[tokio::test]
async fn ids_with_control_characters_are_refused() {
    let s = state();
    let versions = call(
        &s,
        "GET",
        "/api/v1/rulesets/water%00/versions",
        Some(crate::http::CITY),
        None,
    )
    .await;
    assert_eq!(
        versions.status,
        StatusCode::BAD_REQUEST,
        "{}",
        versions.body
    );
    assert_eq!(versions.body["code"], "invalid_id");
    assert!(
        versions.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("U+0000")),
        "{}",
        versions.body
    );
    let draft = call(
        &s,
        "GET",
        "/api/v1/drafts/1%0A",
        Some(crate::http::CITY),
        None,
    )
    .await;
    assert_eq!(draft.status, StatusCode::BAD_REQUEST, "{}", draft.body);
    let answer = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [record("R\u{0}1"), record("R\n2")]})),
    )
    .await;
    let reasons = reasons(&answer.body);
    assert_eq!(reasons.len(), 2, "{}", answer.body);
    assert!(
        reasons.iter().all(|(_, m)| m.contains("control character")),
        "{reasons:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Order of arrival: events before their record
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_event_pushed_before_its_record_waits_and_is_applied_when_it_arrives() {
    let s = state();
    let event = json!({"record_id": "EARLY", "kind": "repair", "date": "2024-06-01",
                       "authority": "武汉市水务局"});
    let first = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [event]})),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["events_pending"], 1, "{}", first.body);
    assert_eq!(first.body["rejected"], json!([]), "{}", first.body);
    let listed = call(&s, "GET", "/api/v1/records/pending", Some(INTAKE), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(
        listed.body["items"][0]["record_id"], "EARLY",
        "{}",
        listed.body
    );
    assert_eq!(listed.body["items"][0]["kind"], "repair");
    assert_eq!(listed.body["next_cursor"], Value::Null);
    let bureau = call(
        &s,
        "GET",
        "/api/v1/records/pending",
        Some(crate::http::WATER),
        None,
    )
    .await;
    assert_eq!(bureau.status, StatusCode::FORBIDDEN);
    let bad = call(
        &s,
        "GET",
        "/api/v1/records/pending?limit=x",
        Some(INTAKE),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.content_type.starts_with("application/problem+json"));

    let second = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [record("EARLY")]})),
    )
    .await;
    assert_eq!(second.body["inserted"], 1, "{}", second.body);
    assert_eq!(second.body["events_applied"], 1, "{}", second.body);
    let stored = s.store.record("EARLY").expect("read").expect("stored");
    assert_eq!(
        stored.repaired_on.map(|d| d.to_string()).as_deref(),
        Some("2024-06-01")
    );
    let listed = call(
        &s,
        "GET",
        "/api/v1/records/pending",
        Some(crate::http::CITY),
        None,
    )
    .await;
    assert_eq!(listed.body["items"], json!([]), "{}", listed.body);
}

/// Every line of the sample feed, file by file (penalties, court, lists, grades, events).
fn sample_feed_lines() -> Vec<String> {
    crate::common::FEED_FILES
        .iter()
        .flat_map(|file| {
            crate::common::feed_text(file)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A deterministic shuffle (xorshift), so a failure can be replayed.
fn shuffled(mut lines: Vec<String>, mut seed: u64) -> Vec<String> {
    for i in (1..lines.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        lines.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    lines
}

/// Pushes lines in batches of 40, as the HTTP route does; returns how many events were
/// applied or kept pending.
fn push_lines(store: &SledStore, lines: &[String]) -> usize {
    let mut events = 0;
    for batch in lines.chunks(40) {
        let items: Vec<Value> = batch
            .iter()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        let summary = credit_rules::import::ingest_values(store, &items).expect("stored");
        events += summary.events_applied + summary.events_pending;
    }
    events
}

type Snapshot = (Vec<credit_rules::store::EntityRecords>, Vec<String>);

fn snapshot(store: &SledStore) -> Snapshot {
    let entities: Vec<_> = store.scan_entities().collect();
    let pending = store
        .pending_events(None, 1000)
        .expect("pending")
        .items
        .iter()
        .map(|e| format!("{} {} {}", e.record_id, e.kind, e.date))
        .collect();
    (entities, pending)
}

#[test]
fn a_shuffled_feed_gives_the_same_store_as_in_order_across_a_restart() {
    let lines = sample_feed_lines();
    let in_order = SledStore::open_temporary().expect("store");
    push_lines(&in_order, &lines);
    let expected = snapshot(&in_order);
    let repaired_or_revoked = expected
        .0
        .iter()
        .flat_map(|e| e.as_ref().expect("entity").1.iter())
        .filter(|r| r.repaired_on.is_some() || r.revoked_on.is_some())
        .count();
    assert!(repaired_or_revoked > 5, "the feed has events");
    for seed in [1_u64, 0x9e37_79b9_7f4a_7c15, 42] {
        let mixed = shuffled(lines.clone(), seed);
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second) = mixed.split_at(mixed.len() / 2);
        {
            let store = SledStore::open(dir.path()).expect("store");
            push_lines(&store, first);
        }
        // A restart: the events kept so far are on disk, not in memory.
        let store = SledStore::open(dir.path()).expect("reopened");
        push_lines(&store, second);
        let got = snapshot(&store);
        assert_eq!(got.1, expected.1, "seed {seed}: pending events differ");
        assert!(got.0 == expected.0, "seed {seed}: the records differ");
    }
}

#[tokio::test]
async fn a_waiting_event_that_does_not_fit_its_record_is_refused_when_the_record_arrives() {
    let s = state();
    // Repaired before the decision of 2024-05-01: refused however the two arrive.
    let event = json!({"record_id": "MISFIT", "kind": "repair", "date": "2024-04-01"});
    let first = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [event]})),
    )
    .await;
    assert_eq!(first.body["events_pending"], 1, "{}", first.body);
    let second = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(INTAKE),
        Some(json!({"items": [record("MISFIT")]})),
    )
    .await;
    assert_eq!(second.body["inserted"], 1, "{}", second.body);
    assert_eq!(second.body["events_applied"], 0, "{}", second.body);
    let reasons = reasons(&second.body);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].0.contains("an event received earlier"),
        "{reasons:?}"
    );
    assert!(
        reasons[0].1.contains("`MISFIT`") && reasons[0].1.contains("repaired_on"),
        "{reasons:?}"
    );
    let stored = s.store.record("MISFIT").expect("read").expect("stored");
    assert_eq!(stored.repaired_on, None);
    let pending = s.store.pending_events(None, 10).expect("pending");
    assert!(pending.items.is_empty(), "{pending:?}");
}

#[test]
fn feed_amounts_are_read_from_their_digits() {
    let row = |amount: &str| {
        format!(
            r#"{{"xxbh": "XZCF-AMT", "cf_xdr_shxym": "{USCC}", "cf_wsh": "武水罚〔2024〕1号", "cf_cflb": "罚款", "cf_nr_fk": {amount}, "cf_jdrq": "2024-05-01"}}"#
        )
    };
    let amount = |text: &str| match credit_rules::intake::map_line(&row(text)) {
        Ok(credit_rules::intake::IntakeItem::Record(r)) => Ok(r.amount.map(|a| a.to_string())),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e),
    };
    assert_eq!(
        amount("18446744073709551616").expect("exact"),
        Some("18446744073709551616".to_owned())
    );
    assert_eq!(
        amount("0.1000000000000000055511151231").expect("exact"),
        Some("0.1000000000000000055511151231".to_owned())
    );
    let err = amount("1e-999999").expect_err("cannot be held");
    assert_eq!(err.field_errors()[0].field, "cf_nr_fk");
    assert!(
        matches!(
            err.field_errors()[0].problem,
            FieldProblem::InexactAmount { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("as a string"), "{err}");
}
