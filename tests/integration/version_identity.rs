//! One way to name a rule-set version in the API: the `hash` an evaluation answer reports is
//! accepted back as `version` (whole or by a prefix of at least 8 hex digits), `@active`
//! names the version in force (`@latest` and `@head` are aliases), and a malformed or
//! unknown version is a clear problem+json error.

use crate::http::{EVALUATOR, call, sample_records, state};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn body(version: Option<&str>) -> Value {
    let mut body =
        json!({ "ruleset": "water", "as_of": "2024-06-01", "records": sample_records() });
    if let Some(v) = version {
        body["version"] = json!(v);
    }
    body
}

/// An answer less what differs between two calls: its decision id, time and receipt.
fn without_receipt(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(object) = answer.as_object_mut() {
        for field in ["decision_id", "known_at", "receipt"] {
            object.remove(field);
        }
    }
    answer
}

#[tokio::test]
async fn the_answers_version_id_is_accepted_back_whole_or_by_prefix() {
    let s = state();
    let first = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body(None)),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let hash = first.body["hash"].as_str().expect("hash").to_string();
    assert_eq!(hash.len(), 64);
    for version in [
        hash.as_str(),
        &hash[..8],
        &hash[..12],
        "@active",
        "active",
        "@latest",
        "head",
    ] {
        let r = call(
            &s,
            "POST",
            "/api/v1/evaluate",
            Some(EVALUATOR),
            Some(body(Some(version))),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.body);
        assert_eq!(r.body["hash"], hash.as_str(), "{version}");
        assert_eq!(
            without_receipt(&r.body),
            without_receipt(&first.body),
            "{version}: the same answer"
        );
    }
}

#[tokio::test]
async fn short_malformed_and_unknown_versions_are_clear_errors() {
    let s = state();
    let first = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body(None)),
    )
    .await;
    let hash = first.body["hash"].as_str().expect("hash").to_string();
    let short = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body(Some(&hash[..7]))),
    )
    .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
    assert_eq!(short.content_type, "application/problem+json");
    assert_eq!(short.body["code"], "version");
    assert!(
        short.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("@active") && d.contains("at least 8")),
        "{}",
        short.body
    );
    let unknown: String = hash
        .chars()
        .take(8)
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    let r = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(body(Some(&unknown))),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["code"], "version_not_found");
}

#[tokio::test]
async fn the_diff_route_takes_the_same_version_names() {
    let s = state();
    let r = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/diff?from=@active&to=latest",
        Some(EVALUATOR),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["identical"], true);
    let bad = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/diff?from=3f9a",
        Some(EVALUATOR),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.body["code"], "version");
}

/// Every JSON shape that gained fields says so: the document's `info.version` is the API
/// version, and each added field's description starts with the version that added it.
#[tokio::test]
async fn the_openapi_document_versions_the_changed_shapes() {
    let s = state();
    let doc = call(&s, "GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    assert_eq!(doc["info"]["version"], credit_rules::http::API_VERSION);
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("CreditRecord", "published_on"),
        ("CreditRecord", "valid_until"),
        ("RecordRef", "published_on"),
        ("RecordRef", "valid_until"),
        ("TenderRequest", "records"),
        ("BidResult", "problems"),
        ("BidResult", "vetoes"),
        ("BidResult", "flags"),
        ("MemberResult", "no_records"),
    ] {
        let description = schemas[schema]["properties"][field]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} is described: {}", schemas[schema]));
        assert!(
            description.starts_with("Since 1.1"),
            "{schema}.{field}: {description}"
        );
    }
}
