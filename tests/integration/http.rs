//! The HTTP API in-process (`tower::ServiceExt::oneshot`): every route, auth
//! failures and bad bodies, with JSON snapshots (volatile fields redacted).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::{App, AppState, Role, TokenEntry, TokenFile, Tokens, hash_token, router};
use credit_rules::registry::Registry;
use credit_rules::store::SledStore;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub(crate) const CITY: &str = "city-token";
pub(crate) const EVALUATOR: &str = "evaluator-token";
pub(crate) const INTAKE: &str = "intake-token";
pub(crate) const WATER: &str = "water-token";
pub(crate) const TRANSPORT: &str = "transport-token";

pub(crate) fn tokens() -> Tokens {
    Tokens::new(token_file()).expect("valid tokens")
}

/// The test tokens as a token file.
pub(crate) fn token_file() -> TokenFile {
    let entry = |name: &str, role, sector: Option<&str>, token: &str| TokenEntry {
        name: name.into(),
        role,
        sector: sector.map(String::from),
        sha256: hash_token(token),
    };
    TokenFile {
        tokens: vec![
            entry("市公管局", Role::CityOffice, None, CITY),
            entry("评标系统", Role::Evaluator, None, EVALUATOR),
            entry("省平台", Role::Intake, None, INTAKE),
            entry("市水务局", Role::Bureau, Some("水务"), WATER),
            entry("市交通运输局", Role::Bureau, Some("交通运输"), TRANSPORT),
        ],
    }
}

pub(crate) fn state() -> AppState {
    let workspace = crate::common::shipped();
    let registry = Registry::from_workspace(&workspace).expect("rulesets compile");
    let store = SledStore::open_temporary().expect("temporary store");
    AppState(Arc::new(App::new(
        registry,
        Arc::new(store),
        tokens(),
        None,
    )))
}

/// The app on each backend: a temporary sled store, then a PostgreSQL store in a schema of
/// its own (the guard drops the schema when the test ends). The same HTTP test runs on both.
pub(crate) fn states_on_each_store() -> Vec<(AppState, Option<crate::common::PgTestStore>)> {
    let pg = crate::common::PgTestStore::new();
    let store = credit_rules::store::PgStore::open_in_schema(&crate::common::pg_url(), pg.schema())
        .expect("PostgreSQL store");
    let workspace = crate::common::shipped();
    let registry = Registry::from_workspace(&workspace).expect("rulesets compile");
    let on_pg = AppState(Arc::new(App::new(
        registry,
        Arc::new(store),
        tokens(),
        None,
    )));
    vec![(state(), None), (on_pg, Some(pg))]
}

pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Value,
}

pub(crate) async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request builds");
    raw(state, request).await
}

pub(crate) async fn raw(state: &AppState, request: Request<Body>) -> Response {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Response {
        status,
        content_type,
        body,
    }
}

pub(crate) const BIDDER: &str = "914201158544006819";

pub(crate) fn sample_records() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/bidder-water.json"
    ))
    .expect("sample");
    serde_json::from_str(&text).expect("sample is JSON")
}

pub(crate) async fn seed_bidder(state: &AppState) {
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(sample_records()).expect("records");
    state.store.put_records(&records).expect("stored");
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let s = state();
    let health = call(&s, "GET", "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let doc = call(&s, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["paths"]["/api/v1/evaluate"]["post"].is_object());
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let s = state();
    let doc = call(&s, "GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("ops")
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = credit_rules::http::ROUTES
        .iter()
        .filter(|(_, p)| *p != "/metrics")
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
    for (method, path) in credit_rules::http::ROUTES {
        let uri = path
            .replace("{id}", "water")
            .replace("{hash}", "0")
            .replace("{uscc}", BIDDER);
        let r = call(&s, &method.to_uppercase(), &uri, Some(CITY), None).await;
        assert_ne!(
            r.status,
            StatusCode::NOT_FOUND.max(StatusCode::METHOD_NOT_ALLOWED),
            "{method} {path}"
        );
        assert_ne!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is not routed"
        );
    }
}

#[tokio::test]
async fn evaluating_a_stored_entity_explains_the_veto_and_logs_the_decision() {
    for (s, _schema) in states_on_each_store() {
        seed_bidder(&s).await;
        let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": BIDDER });
        let r = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["decision"], "disqualified");
        assert_eq!(r.body["vetoes"][0]["records"][0]["id"], "ZXGK-00008");
        insta::assert_json_snapshot!("evaluate_stored_entity", r.body, {
            ".hash" => "[hash]",
            ".known_at" => "[time]",
            ".receipt.version_id" => "[hash]",
            ".receipt.known_at" => "[time]",
            ".receipt.decided_at" => "[time]",
            ".receipt.public_key" => "[key]",
            ".receipt.signature" => "[signature]",
            ".receipt.batch.root" => "[root]",
        });
        let after_repair = json!({ "ruleset": "water", "as_of": "2024-08-01", "uscc": BIDDER });
        let r = call(
            &s,
            "POST",
            "/api/v1/evaluate",
            Some(EVALUATOR),
            Some(after_repair),
        )
        .await;
        assert_eq!(r.body["decision"], "eligible");
        let log = call(
            &s,
            "GET",
            &format!("/api/v1/decisions?uscc={BIDDER}"),
            Some(CITY),
            None,
        )
        .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.body);
        assert_eq!(log.body["items"].as_array().expect("list").len(), 2);
        assert_eq!(log.body["next_cursor"], Value::Null);
        assert_eq!(log.body["items"][0]["decision"], "disqualified");
    }
}

#[tokio::test]
async fn inline_records_are_validated() {
    let s = state();
    let mut records = sample_records();
    records[0]["disclosure_until"] = json!("2020-01-01");
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "records": records });
    let r = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert!(
        r.body["errors"][0]["at"]
            .as_str()
            .expect("at")
            .contains("GRADE-00008-2023")
    );
}

#[tokio::test]
async fn a_tender_ranks_bidders_and_a_consortium_shares_its_members_vetoes() {
    let s = state();
    seed_bidder(&s).await;
    let clean = "91420100MA4K3Q7T13";
    let partner = "91230500MA1B3N1N2M";
    let body = json!({
        "ruleset": "water",
        "as_of": "2024-06-01",
        "bidders": [
            { "id": "B1", "members": [clean] },
            { "id": "B2", "name": "联合体", "members": [partner, BIDDER] },
        ]
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
    assert_eq!(r.body["bids"][0]["decision"], "eligible");
    assert_eq!(r.body["bids"][1]["decision"], "disqualified");
    assert_eq!(r.body["ranking"], json!(["B1"]));
    // The bid names its veto and the member it fired on; members without stored records
    // are marked.
    assert_eq!(r.body["bids"][1]["vetoes"][0]["members"], json!([BIDDER]));
    assert_eq!(r.body["bids"][0]["members"][0]["no_records"], true);
    assert!(r.body["bids"][1]["members"][1].get("no_records").is_none());
}

#[tokio::test]
async fn auth_failures_are_401_and_403() {
    let s = state();
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": BIDDER });
    let none = call(&s, "POST", "/api/v1/evaluate", None, Some(body.clone())).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["code"], "unauthorized");
    let bad = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some("wrong"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let intake_cannot_evaluate =
        call(&s, "POST", "/api/v1/evaluate", Some(INTAKE), Some(body)).await;
    assert_eq!(intake_cannot_evaluate.status, StatusCode::FORBIDDEN);
    let evaluator_cannot_read_log =
        call(&s, "GET", "/api/v1/decisions", Some(EVALUATOR), None).await;
    assert_eq!(evaluator_cannot_read_log.status, StatusCode::FORBIDDEN);
    let evaluator_cannot_push = call(
        &s,
        "POST",
        "/api/v1/records",
        Some(EVALUATOR),
        Some(json!({ "items": [] })),
    )
    .await;
    assert_eq!(evaluator_cannot_push.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_bodies_get_problem_details() {
    let s = state();
    let request = |body: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/evaluate")
            .header(header::AUTHORIZATION, format!("Bearer {EVALUATOR}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let malformed = raw(&s, request("{\"ruleset\": ")).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["code"], "json_syntax");
    let wrong_type = raw(&s, request(r#"{"ruleset": 3, "as_of": "2024-06-01"}"#)).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_type.body["code"], "json_data");
    let bad_date = raw(
        &s,
        request(r#"{"ruleset": "water", "as_of": "2024-02-30", "uscc": "914201158544006819"}"#),
    )
    .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_uscc = raw(
        &s,
        request(r#"{"ruleset": "water", "as_of": "2024-06-01", "uscc": "914201158544006810"}"#),
    )
    .await;
    assert_eq!(bad_uscc.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_uscc.body["detail"]
            .as_str()
            .expect("detail")
            .contains("check character"),
        "{}",
        bad_uscc.body
    );
    let unknown = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(json!({ "ruleset": "nope", "as_of": "2024-06-01", "uscc": BIDDER })),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["code"], "ruleset_not_found");
    let no_entity = call(
        &s,
        "POST",
        "/api/v1/evaluate",
        Some(EVALUATOR),
        Some(json!({ "ruleset": "water", "as_of": "2024-06-01" })),
    )
    .await;
    assert_eq!(no_entity.status, StatusCode::BAD_REQUEST);
    let huge = "x".repeat(credit_rules::http::MAX_BODY_BYTES + 1);
    let too_large = raw(&s, request(&huge)).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    let no_route = call(&s, "GET", "/api/v1/nothing", None, None).await;
    assert_eq!(no_route.status, StatusCode::NOT_FOUND);
    assert_eq!(no_route.body["code"], "no_route");
}

#[tokio::test]
async fn put_on_a_rule_set_submits_a_draft_checked_first_and_never_publishes_it() {
    for (s, _schema) in states_on_each_store() {
        let current = call(&s, "GET", "/api/v1/rulesets/water", Some(WATER), None).await;
        assert_eq!(current.status, StatusCode::OK);
        let hash = current.body["meta"]["hash"]
            .as_str()
            .expect("hash")
            .to_string();
        let source = current.body["source"].as_str().expect("source").to_string();

        let broken = source.replacen("when", "when any(records where kind = 行政处法) or", 1);
        let r = call(
            &s,
            "PUT",
            "/api/v1/rulesets/water",
            Some(WATER),
            Some(json!({ "source": broken, "base_hash": hash })),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let diagnostics = r.body["diagnostics"].as_array().expect("diagnostics");
        let unknown = diagnostics
            .iter()
            .find(|d| d["code"] == "E0201")
            .expect("the unknown kind is reported");
        assert!(
            unknown["line"].as_u64().is_some() && unknown["col"].as_u64().is_some(),
            "{unknown}"
        );
        assert!(unknown["help"].as_str().expect("help").contains("行政处罚"));
        // Without Accept-Language the diagnostics are in Chinese; `en` gets English.
        assert_eq!(unknown["lang"], "zh", "{unknown}");
        assert_eq!(unknown["message"], "未知的记录类别 `行政处法`", "{unknown}");
        let english = raw(
            &s,
            Request::builder()
                .method("PUT")
                .uri("/api/v1/rulesets/water")
                .header(header::AUTHORIZATION, format!("Bearer {WATER}"))
                .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,zh;q=0.5")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({ "source": broken, "base_hash": hash }).to_string(),
                ))
                .expect("request builds"),
        )
        .await;
        let unknown = english.body["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .find(|d| d["code"] == "E0201")
            .expect("the unknown kind is reported")
            .clone();
        assert_eq!(
            unknown["message"], "unknown record kind `行政处法`",
            "{unknown}"
        );
        assert_eq!(unknown["lang"], "en");

        let edited = source.replacen("version", "version \"2026.1\" // was:", 1);
        let edited = if edited == source {
            source.clone() + "\n"
        } else {
            edited
        };
        let other = call(
            &s,
            "PUT",
            "/api/v1/rulesets/water",
            Some(TRANSPORT),
            Some(json!({ "source": edited, "base_hash": hash })),
        )
        .await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);

        let accepted = call(
            &s,
            "PUT",
            "/api/v1/rulesets/water",
            Some(WATER),
            Some(json!({ "source": edited, "base_hash": hash, "message": "test" })),
        )
        .await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
        assert_eq!(accepted.body["status"], "pending");
        let still = call(&s, "GET", "/api/v1/rulesets/water", Some(WATER), None).await;
        assert_eq!(
            still.body["meta"]["hash"],
            hash.as_str(),
            "a draft is not live"
        );

        let draft = accepted.body["id"].as_u64().expect("draft id");
        let approved = call(
            &s,
            "POST",
            &format!("/api/v1/drafts/{draft}/approve"),
            Some(CITY),
            Some(json!({ "comment": "同意" })),
        )
        .await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
        let stale = call(
            &s,
            "PUT",
            "/api/v1/rulesets/water",
            Some(WATER),
            Some(json!({ "source": edited, "base_hash": hash })),
        )
        .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        assert_eq!(stale.body["code"], "stale_version");

        let versions = call(
            &s,
            "GET",
            "/api/v1/rulesets/water/versions",
            Some(EVALUATOR),
            None,
        )
        .await;
        assert_eq!(versions.status, StatusCode::OK);
        let log = versions.body["items"].as_array().expect("list");
        let newest = log.last().expect("one version");
        assert_eq!(newest["author"], "市水务局");
        let one = call(
            &s,
            "GET",
            &format!(
                "/api/v1/rulesets/water/versions/{}",
                newest["hash"].as_str().expect("hash")
            ),
            Some(EVALUATOR),
            None,
        )
        .await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(one.body["source"], edited);
    }
}

#[tokio::test]
async fn intake_is_idempotent_and_reports_bad_rows() {
    for (s, _schema) in states_on_each_store() {
        let rows = json!([
            {"xxbh": "XZCF-T-1", "cf_xdr_mc": "青山水利科技有限公司", "cf_xdr_lb": "法人及非法人组织", "cf_xdr_shxym": BIDDER, "cf_wsh": "武水罚〔2024〕1号", "cf_wfxw": "x", "cf_cflb": "罚款", "cf_nr_fk": 2.5, "cf_jdrq": "2024-01-10", "cf_gsjzq": "2027-01-10", "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"},
            {"xxbh": "XZCF-T-2", "cf_xdr_mc": "坏", "cf_xdr_lb": "法人及非法人组织", "cf_xdr_shxym": "914201158544006810", "cf_wsh": "武水罚〔2024〕2号", "cf_wfxw": "x", "cf_cflb": "罚款", "cf_nr_fk": null, "cf_jdrq": "2024-02-30", "cf_gsjzq": "2027-01-10", "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"},
            {"xxbh": "XZCF-T-1", "事件": "信用修复", "日期": "2024-05-01", "机关": "武汉市发展和改革委员会", "说明": "已履行"}
        ]);
        let first = call(
            &s,
            "POST",
            "/api/v1/records",
            Some(INTAKE),
            Some(json!({ "items": rows })),
        )
        .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert_eq!(first.body["inserted"], 1);
        assert_eq!(first.body["events_applied"], 1);
        assert_eq!(first.body["rejected"].as_array().expect("list").len(), 1);
        assert!(
            first.body["rejected"][0]["at"]
                .as_str()
                .expect("at")
                .contains("XZCF-T-2"),
            "{}",
            first.body
        );
        let again = call(
            &s,
            "POST",
            "/api/v1/records",
            Some(INTAKE),
            Some(json!({ "items": rows })),
        )
        .await;
        assert_eq!(again.body["inserted"], 0);
        assert_eq!(again.body["unchanged"], 1);
        let entity = call(
            &s,
            "GET",
            &format!("/api/v1/entities/{BIDDER}"),
            Some(EVALUATOR),
            None,
        )
        .await;
        assert_eq!(entity.status, StatusCode::OK);
        assert_eq!(entity.body["records"][0]["repaired_on"], "2024-05-01");
        let bad = call(&s, "GET", "/api/v1/entities/12345", Some(EVALUATOR), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}

#[test]
fn the_service_answers_over_a_real_socket_and_shuts_down_gracefully() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let s = state();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(credit_rules::http::serve(listener, s, async {
        let _ = stopped.await;
    }));
    let body = ureq::get(format!("http://{addr}/healthz"))
        .call()
        .expect("healthz over TCP")
        .body_mut()
        .read_to_string()
        .expect("body");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    stop.send(()).expect("signal shutdown");
    runtime
        .block_on(server)
        .expect("server task")
        .expect("clean shutdown with the store flushed");
}
