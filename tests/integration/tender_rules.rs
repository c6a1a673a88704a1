//! Tender rules of 招标投标法实施条例 第三十四条 and 第三十七条 over HTTP: an entity in two
//! bids (or twice in one consortium) invalidates those bids with a reason, and a tender can
//! be evaluated on inline records.

use crate::http::{BIDDER, EVALUATOR, call, sample_records, state};
use axum::http::StatusCode;
use serde_json::json;

const CLEAN: &str = "91420100MA4K3Q7T13";
const PARTNER: &str = "91230500MA1B3N1N2M";

#[tokio::test]
async fn an_entity_bidding_alone_and_in_a_consortium_invalidates_both_bids() {
    let s = state();
    let body = json!({
        "ruleset": "water",
        "as_of": "2024-06-01",
        "bidders": [
            { "id": "B1", "members": [CLEAN] },
            { "id": "B2", "members": [PARTNER, CLEAN] },
            { "id": "B3", "members": [BIDDER, BIDDER] },
        ],
        "records": sample_records(),
    });
    let r = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (i, other) in [(0, "B2"), (1, "B1")] {
        let bid = &r.body["bids"][i];
        assert_eq!(bid["decision"], "disqualified", "{bid}");
        assert_eq!(bid["problems"][0]["code"], "entity_in_several_bids");
        assert_eq!(bid["problems"][0]["uscc"], CLEAN);
        assert_eq!(bid["problems"][0]["other_bids"], json!([other]));
    }
    let b3 = &r.body["bids"][2];
    assert_eq!(b3["problems"][0]["code"], "member_repeated", "{b3}");
    assert_eq!(r.body["ranking"], json!([]));
}

#[tokio::test]
async fn a_tender_is_evaluated_on_inline_records() {
    let s = state();
    let body = json!({
        "ruleset": "water",
        "as_of": "2024-06-01",
        "bidders": [
            { "id": "B1", "members": [CLEAN] },
            { "id": "B2", "members": [BIDDER] },
        ],
        "records": sample_records(),
    });
    let r = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Nothing is stored: the inline records alone decide.
    assert_eq!(r.body["bids"][1]["decision"], "disqualified");
    assert!(r.body["bids"][1]["members"][0].get("no_records").is_none());
    assert_eq!(r.body["bids"][0]["members"][0]["no_records"], true);
    assert_eq!(r.body["ranking"], json!(["B1"]));
    // Inline records are validated as in /evaluate.
    let mut records = sample_records();
    records[0]["disclosure_until"] = json!("2020-01-01");
    let body = json!({
        "ruleset": "water",
        "as_of": "2024-06-01",
        "bidders": [{ "id": "B1", "members": [BIDDER] }],
        "records": records,
    });
    let bad = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.content_type, "application/problem+json");
    // Records of a USCC in no bid (a mistyped member) are refused, not ignored: the member
    // would otherwise be judged with no records.
    let body = json!({
        "ruleset": "water",
        "as_of": "2024-06-01",
        "bidders": [{ "id": "B1", "members": [CLEAN] }],
        "records": sample_records(),
    });
    let stranger = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(body),
    )
    .await;
    assert_eq!(
        stranger.status,
        StatusCode::BAD_REQUEST,
        "{}",
        stranger.body
    );
    let detail = stranger.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains(BIDDER) && detail.contains("in no bid"),
        "{detail}"
    );
}
