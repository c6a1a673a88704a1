//! Service-wide behaviour: one paging style on every list, problem+json for every malformed
//! query string, the request id (echoed, and in the decision log with the caller), and
//! secrets on disk readable by the service's user only.

use crate::http::{BIDDER, CITY, EVALUATOR, Response, WATER, call, raw, sample_records, state};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::{AppState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn seed_bidder(state: &AppState) {
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(sample_records()).expect("records");
    state.store.put_records(&records).expect("stored");
}

async fn evaluate(s: &AppState, request_id: Option<&str>) -> (StatusCode, Option<String>) {
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": BIDDER });
    let mut request = Request::builder()
        .method("POST")
        .uri("/api/v1/evaluate")
        .header(header::AUTHORIZATION, format!("Bearer {EVALUATOR}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = router(s.clone())
        .oneshot(request.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("answer");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (response.status(), id)
}

#[tokio::test]
async fn the_request_id_is_echoed_and_logged_with_the_caller() {
    let s = state();
    seed_bidder(&s);
    let (status, echoed) = evaluate(&s, Some("bid-opening-2024-42")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed.as_deref(), Some("bid-opening-2024-42"));
    // Without one (or with one that is not a plain token), the server makes one up.
    let (_, generated) = evaluate(&s, None).await;
    let generated = generated.expect("a generated id");
    assert!(!generated.is_empty() && generated != "bid-opening-2024-42");
    let (_, replaced) = evaluate(&s, Some("bad id with spaces")).await;
    assert!(replaced.is_some_and(|id| !id.contains(' ')));

    let log = call(&s, "GET", "/api/v1/decisions", Some(CITY), None).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let items = log.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["request_id"], "bid-opening-2024-42");
    assert_eq!(items[1]["request_id"], generated.as_str());
    assert_eq!(
        items[0]["caller"],
        json!({ "name": "评标系统", "role": "evaluator" })
    );
}

#[tokio::test]
async fn every_list_pages_with_limit_and_cursor() {
    let s = state();
    seed_bidder(&s);
    for _ in 0..3 {
        assert_eq!(evaluate(&s, None).await.0, StatusCode::OK);
    }
    for path in [
        "/api/v1/decisions",
        "/api/v1/rulesets",
        "/api/v1/rulesets/water/versions",
        "/api/v1/drafts",
    ] {
        let everything = call(&s, "GET", &format!("{path}?limit=1000"), Some(CITY), None).await;
        assert_eq!(
            everything.status,
            StatusCode::OK,
            "{path}: {}",
            everything.body
        );
        assert_eq!(everything.body["next_cursor"], Value::Null, "{path}");
        let all = everything.body["items"].as_array().expect("items").clone();
        // Page by one and find the same items in the same order.
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let uri = match &cursor {
                Some(c) => format!("{path}?limit=1&cursor={c}"),
                None => format!("{path}?limit=1"),
            };
            let page = call(&s, "GET", &uri, Some(CITY), None).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.body);
            let items = page.body["items"].as_array().expect("items");
            assert!(items.len() <= 1);
            paged.extend(items.iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
            assert!(paged.len() <= all.len(), "{path}: paging does not end");
        }
        assert_eq!(paged, all, "{path}");
        let too_many = call(&s, "GET", &format!("{path}?limit=1001"), Some(CITY), None).await;
        assert_eq!(too_many.status, StatusCode::BAD_REQUEST, "{path}");
    }
    let decisions = call(&s, "GET", "/api/v1/decisions?limit=1000", Some(CITY), None).await;
    assert_eq!(decisions.body["items"].as_array().map(Vec::len), Some(3));
    // The older `after` still pages the decision log.
    let first = decisions.body["items"][0]["seq"].as_u64().expect("seq");
    let after = call(
        &s,
        "GET",
        &format!("/api/v1/decisions?after={first}"),
        Some(CITY),
        None,
    )
    .await;
    assert_eq!(after.body["items"].as_array().map(Vec::len), Some(2));
}

fn is_problem(r: &Response) -> bool {
    r.content_type == "application/problem+json" && r.body["code"].is_string()
}

#[tokio::test]
async fn every_malformed_query_string_answers_problem_json() {
    let s = state();
    let cases = [
        "/api/v1/decisions?limit=abc",
        "/api/v1/decisions?from=yesterday",
        "/api/v1/decisions?after=-1",
        "/api/v1/decisions?cursor=zz",
        "/api/v1/decisions?nope=1",
        "/api/v1/decisions?limit=0",
        "/api/v1/rulesets?limit=x",
        "/api/v1/rulesets?sector=1",
        "/api/v1/rulesets/water/versions?limit=-3",
        "/api/v1/rulesets/water/versions?cursor=abc",
        "/api/v1/rulesets/water/diff?to=x",
        "/api/v1/rulesets/water/diff?from=a&from=b&x=1",
        "/api/v1/drafts?limit=%ZZ",
        "/api/v1/drafts?cursor=-",
        "/api/v1/drafts/1/impact?top=many",
        "/api/v1/drafts/1/impact?as_of=2024-13-01",
    ];
    for uri in cases {
        let answer = call(&s, "GET", uri, Some(CITY), None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            answer.body
        );
        assert!(
            is_problem(&answer),
            "{uri}: {} {}",
            answer.content_type,
            answer.body
        );
    }
}

#[tokio::test]
async fn the_access_log_names_the_request_but_never_its_query_or_token() {
    let log = crate::connections::Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = state();
    let request = Request::builder()
        .uri("/api/v1/rulesets?secret=hidden-value")
        .header(header::AUTHORIZATION, format!("Bearer {WATER}"))
        .header("x-request-id", "r-1")
        .body(Body::empty())
        .expect("request");
    let answer = raw(&s, request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("request_id=r-1"))
        .unwrap_or_else(|| panic!("no access line in {text}"));
    for part in [
        "method=GET",
        "path=/api/v1/rulesets",
        "status=400",
        "latency_ms=",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(
        !text.contains("hidden-value") && !text.contains(WATER),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn secrets_and_data_on_disk_are_readable_by_the_service_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = credit_rules::http::ServeConfig {
        addr: "127.0.0.1:0".parse().expect("address"),
        data: data.clone(),
        rulesets: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets"),
        tokens: data.join("tokens.json"),
        demo_entities: 3,
        limits: credit_rules::http::ConnectionLimits::default(),
        metrics_addr: None,
        log_format: credit_rules::http::LogFormat::Text,
        rate_limit: credit_rules::http::RateLimit::default(),
        secure_cookies: false,
    };
    let (store, _tokens) = credit_rules::http::open_data(&config).expect("opens");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("tokens.json")), 0o600);
    assert_eq!(mode(&data.join("dev-tokens.txt")), 0o600);
    drop(store);
    let mut files = 0;
    let mut stack = vec![data.clone()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                stack.push(path);
            } else {
                assert_eq!(
                    mode(&path) & 0o077,
                    0,
                    "{} is readable by others",
                    path.display()
                );
                files += 1;
            }
        }
    }
    assert!(files > 2, "the database files were checked");
}
