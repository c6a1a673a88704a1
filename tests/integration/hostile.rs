//! The service and the checker under hostile or careless clients: the token is checked
//! before the body, the checker's work and output are bounded, numbers that overflow are
//! diagnostics, and a check out of time stops with a diagnostic.

use crate::http::{CITY, call, raw, state, tokens};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::check::suggest::MAX_SUGGESTED_PROBLEMS;
use credit_rules::diagnostic::MAX_DIAGNOSTICS;
use credit_rules::http::{App, AppState, ROUTES};
use credit_rules::registry::Registry;
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use credit_rules::store::SledStore;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Routes that answer without a token.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/disclosure",
    "/api/v1/disclosure/entities/{uscc}",
    "/api/v1/disclosure/entities/{uscc}/records/{id}",
    "/api/v1/rulesets/{id}/document",
    "/api/v1/receipts/public-key",
    "/api/v1/receipts/verify",
];

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{hash}", "abc")
        .replace("{uscc}", crate::http::BIDDER)
}

#[tokio::test]
async fn every_authenticated_route_checks_the_token_before_the_body() {
    let s = state();
    let mut checked = 0;
    for (method, path) in ROUTES {
        if PUBLIC.contains(path) || path.starts_with("/site") {
            continue;
        }
        for token in [None, Some("not-a-token")] {
            let mut request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(concrete(path))
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let request = request
                .body(Body::from("{ this is not json"))
                .expect("request builds");
            let answer = raw(&s, request).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with token {token:?}: {}",
                answer.body
            );
            assert_eq!(answer.content_type, "application/problem+json");
        }
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} authenticated routes found");
}

fn compile(name: &str, text: String) -> Result<(), credit_rules::diagnostic::Diagnostics> {
    let mut workspace = Workspace::new();
    let id = workspace
        .add_source(SourceFile::new(name, text), None)
        .expect("the header parses");
    workspace.compile(&id).map(|_| ())
}

const HEADER: &str = "ruleset t { title \"t\" version \"1\" effective 2020-01-01 unit \"u\" }\n";

fn codes(text: String) -> Vec<&'static str> {
    match compile("t.rules", text) {
        Ok(()) => Vec::new(),
        Err(d) => d.iter().filter(|d| d.is_error()).map(|d| d.code).collect(),
    }
}

#[test]
fn caps_and_weights_that_overflow_are_diagnostics_not_panics() {
    let weight = format!(
        "{HEADER}score a {{ wording \"w\" points 1 cap 100 weight 922816251426433759354395033 }}\n"
    );
    assert_eq!(codes(weight), ["E0316"]);
    let caps = format!(
        "{HEADER}score a {{ wording \"w\" points 1 cap 79228162514264337593543950335 }}\n\
         score b {{ wording \"w\" points 1 cap 79228162514264337593543950335 }}\n"
    );
    assert_eq!(codes(caps.clone()), ["E0321"]);
    let with_total = caps.replace("unit \"u\"", "unit \"u\" total 10");
    assert_eq!(codes(with_total), ["E0321"]);
    let floors = format!(
        "{HEADER}score a {{ wording \"w\" points 1 cap 0 floor -79228162514264337593543950335 }}\n\
         score b {{ wording \"w\" points 1 cap 0 floor -79228162514264337593543950335 }}\n"
    );
    assert_eq!(codes(floors), ["E0321"]);
}

#[test]
fn thousands_of_constants_and_unknown_names_give_a_bounded_list() {
    let constants: String = (0..5_000)
        .map(|i| format!("const c{i:05} = {i}\n"))
        .collect();
    let flags: String = (0..5_000)
        .map(|i| {
            format!(
                "flag f{i} {{ wording \"w\" when count(records where amount > c{i:05}x) > 0 }}\n"
            )
        })
        .collect();
    let diagnostics = compile("many.rules", format!("{HEADER}{constants}{flags}"))
        .expect_err("5,000 unknown names");
    assert_eq!(diagnostics.0.len(), MAX_DIAGNOSTICS + 1);
    let last = diagnostics.0.last().expect("a summary");
    assert_eq!(last.code, "E0005");
    assert!(
        last.message.starts_with("4800 more problems not shown"),
        "{}",
        last.message
    );
    let suggested = diagnostics
        .iter()
        .filter(|d| {
            d.help
                .as_deref()
                .is_some_and(|h| h.starts_with("did you mean"))
        })
        .count();
    assert!(suggested > 0, "the first unknown names get suggestions");
    assert!(
        suggested <= MAX_SUGGESTED_PROBLEMS,
        "{suggested} suggestions searched"
    );
}

#[test]
fn twenty_thousand_unknown_names_on_one_line_give_a_capped_short_list() {
    let names: Vec<String> = (0..20_000).map(|i| format!("u{i:06}")).collect();
    let text = format!(
        "{HEADER}flag f {{ wording \"w\" when any(records where kind in [{}]) }}\n",
        names.join(", ")
    );
    assert!(text.len() > 180_000);
    let diagnostics = compile("line.rules", text).expect_err("unknown kinds");
    assert_eq!(diagnostics.0.len(), MAX_DIAGNOSTICS + 1);
    assert!(
        diagnostics.0[MAX_DIAGNOSTICS]
            .message
            .starts_with("19800 more problems not shown")
    );
    // Each rendered diagnostic shows a window of the line, not the whole 180 KB line.
    let rendered = diagnostics.render();
    let longest = rendered.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a rendered line of {longest} bytes");
    assert!(rendered.len() < (MAX_DIAGNOSTICS + 1) * 2_000);
}

fn draft(source: String) -> serde_json::Value {
    json!({ "ruleset": "t", "source": source, "message": "hostile" })
}

#[tokio::test]
async fn an_overflowing_draft_is_refused_with_diagnostics_over_http() {
    let s = state();
    let source = format!(
        "{HEADER}score a {{ wording \"w\" points 1 cap 79228162514264337593543950335 }}\n\
         score b {{ wording \"w\" points 1 cap 79228162514264337593543950335 }}\n"
    );
    let answer = call(
        &s,
        "POST",
        "/api/v1/drafts",
        Some(CITY),
        Some(draft(source)),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    let codes: Vec<&str> = answer.body["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"E0321"), "{}", answer.body);
}

#[tokio::test]
async fn a_check_out_of_time_stops_with_a_diagnostic() {
    let workspace = crate::common::shipped();
    let registry = Registry::from_workspace(&workspace).expect("rulesets compile");
    let store = SledStore::open_temporary().expect("temporary store");
    let app = App::new(registry, Arc::new(store), tokens(), None).with_check_budget(Duration::ZERO);
    let s = AppState(Arc::new(app));
    let source =
        format!("{HEADER}flag f {{ wording \"w\" when any(records where kind = 黑名单) }}\n");
    let answer = call(
        &s,
        "POST",
        "/api/v1/drafts",
        Some(CITY),
        Some(draft(source)),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    let codes: Vec<&str> = answer.body["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"E0006"), "{codes:?}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_error_as_problem_json() {
    let s = state();
    let doc = call(&s, "GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            operations += 1;
            let responses = operation["responses"].as_object().expect("responses");
            let at = format!("{method} {path}");
            assert!(responses.contains_key("408"), "{at}: 408");
            if operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                assert!(responses.contains_key("401"), "{at}: 401");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{at}: {status}");
                }
            }
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if parameters.iter().any(|p| p["in"] == "query") {
                assert!(responses.contains_key("400"), "{at}: 400");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().expect("content");
                    assert!(
                        content.contains_key("application/problem+json")
                            && !content.contains_key("application/json"),
                        "{at} {status}: {content:?}"
                    );
                }
            }
            // Paging parameters are query parameters, never path parameters.
            for p in &parameters {
                if p["name"] == "limit" || p["name"] == "cursor" {
                    assert_eq!(p["in"], "query", "{at}");
                }
            }
        }
    }
    assert!(operations >= 22);
}

#[tokio::test]
async fn requests_that_would_amplify_are_refused_with_a_clear_problem() {
    use credit_rules::http::evaluate_limits::{MAX_INLINE_RECORDS, MAX_TENDER_MEMBERS};
    let s = state();
    // 200 bids of 20 members: within the per-bid and per-tender bid limits, beyond the
    // members evaluated in one call.
    let bidders: Vec<serde_json::Value> = (0..200)
        .map(|b| json!({ "id": format!("B{b}"), "members": vec![crate::http::BIDDER; 20] }))
        .collect();
    let tender = json!({ "ruleset": "water", "as_of": "2024-06-01", "bidders": bidders });
    let answer = call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(crate::http::EVALUATOR),
        Some(tender),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    let detail = answer.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&MAX_TENDER_MEMBERS.to_string()) && detail.contains("4000"),
        "{detail}"
    );

    let record = crate::http::sample_records()[0].clone();
    let records = vec![record; MAX_INLINE_RECORDS + 1];
    let inline = json!({ "ruleset": "water", "as_of": "2024-06-01", "records": records });
    let answer = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(crate::http::EVALUATOR),
        Some(inline),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["code"], "records");
}
