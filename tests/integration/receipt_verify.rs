//! Checking a receipt without the CLI: `POST /api/v1/receipts/verify` and the public page
//! `/receipt` (回执核验), in-process. A receipt from a real evaluation verifies on both; an
//! altered one is invalid with the reason; one signed by another key is intact but not this
//! service's; text that is not a receipt is a 400 (a Chinese page keeping the text); an
//! oversized body is refused; the routes are rate limited and need no token.

use crate::http::{EVALUATOR, call, raw, seed_bidder, state};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::{AppState, RateLimit, router};
use credit_rules::receipt::{Receipt, ReceiptKey};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

/// A receipt from a real evaluation of the seeded bidder (with a tender context, so that the
/// receipt signs it), and the service's public key.
async fn evaluated(s: &AppState) -> (Value, String) {
    seed_bidder(s).await;
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01",
        "uscc": crate::http::BIDDER,
        "context": { "project_type": "施工", "sector": "水务", "budget": "5000000" } });
    let answer = call(s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let key = call(s, "GET", "/api/v1/receipts/public-key", None, None).await;
    let key = key.body["public_key"].as_str().expect("key").to_owned();
    (answer.body, key)
}

async fn verify_api(s: &AppState, body: String) -> crate::http::Response {
    let request = Request::post("/api/v1/receipts/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    raw(s, request).await
}

struct Html {
    status: StatusCode,
    text: String,
}

async fn post_page(s: &AppState, pasted: &str) -> Html {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("receipt", pasted)
        .finish();
    let request = Request::post("/receipt")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let response = router(s.clone()).oneshot(request).await.expect("answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Html {
        status,
        text: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    }
}

/// The text of the table cell after the row label `label`.
fn cell(page: &str, label: &str) -> String {
    let start = page
        .find(&format!("<th scope=\"row\">{label}</th>"))
        .unwrap_or_else(|| panic!("no row {label}"));
    let rest = &page[start..];
    let open = rest.find("<bdi>").expect("cell") + 5;
    let close = rest.find("</bdi>").expect("cell end");
    rest[open..close].to_owned()
}

#[tokio::test]
async fn a_real_receipt_verifies_on_the_api_and_the_page() {
    let s = state();
    let (answer, key) = evaluated(&s).await;
    let receipt = answer["receipt"].clone();

    let checked = verify_api(&s, receipt.to_string()).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    let b = &checked.body;
    assert_eq!(b["valid"], true, "{b}");
    assert!(b.get("reason").is_none(), "{b}");
    assert_eq!(b["format"], "credit-rules receipt 2");
    assert_eq!(b["decision_id"], answer["decision_id"]);
    assert_eq!(b["signed_by"], key.as_str());
    assert_eq!(b["signed_by_this_service"], true);
    assert_eq!(b["batch"]["index"], receipt["batch"]["index"]);
    assert_eq!(b["batch"]["size"], receipt["batch"]["size"]);
    assert_eq!(b["total"], answer["total"]);
    assert_eq!(b["decision"], answer["decision"]);
    assert_eq!(b["context"]["sector"], "水务");
    // The whole evaluate answer is read too.
    let whole = verify_api(&s, answer.to_string()).await;
    assert_eq!(whole.body["valid"], true, "{}", whole.body);

    // The page, with no JavaScript: the form, this service's key, then the verdict and table.
    let blank = router(s.clone())
        .oneshot(Request::get("/receipt").body(Body::empty()).expect("req"))
        .await
        .expect("answer");
    assert_eq!(blank.status(), StatusCode::OK);
    let blank = axum::body::to_bytes(blank.into_body(), usize::MAX)
        .await
        .expect("body");
    let blank = String::from_utf8(blank.to_vec()).expect("UTF-8");
    assert!(blank.contains("<form class=\"receipt-form\" method=\"post\" action=\"/receipt\">"));
    assert!(
        blank.contains(&key),
        "the page shows the service's public key"
    );
    assert!(!blank.contains("<script"));

    let pasted = serde_json::to_string_pretty(&receipt).expect("json");
    let page = post_page(&s, &pasted).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("核验结果：有效"), "{}", page.text);
    assert!(page.text.contains("由本服务签发"));
    assert_eq!(
        cell(&page.text, "决策编号"),
        answer["decision_id"].to_string()
    );
    assert_eq!(cell(&page.text, "统一社会信用代码"), crate::http::BIDDER);
    assert_eq!(cell(&page.text, "规则集"), "water");
    assert_eq!(cell(&page.text, "评价日期"), "2024-06-01");
    assert_eq!(
        cell(&page.text, "总分"),
        answer["total"].as_str().expect("total")
    );
    let decision = match answer["decision"].as_str().expect("decision") {
        "eligible" => "合格",
        "disqualified" => "不合格",
        _ => "需人工复核",
    };
    assert_eq!(cell(&page.text, "决策"), decision);
    assert_eq!(
        cell(&page.text, "项目信息"),
        "项目类型：施工；行业：水务；项目预算：5000000 元"
    );
    let size = receipt["batch"]["size"].as_u64().expect("size");
    let index = receipt["batch"]["index"].as_u64().expect("index");
    assert_eq!(
        cell(&page.text, "批次位置"),
        format!("同批签发 {size} 份，本回执为第 {} 份", index + 1)
    );
    // The pasted text is kept in the textarea (HTML-escaped).
    assert!(
        page.text.contains("&#34;signature&#34;") || page.text.contains("&quot;signature&quot;")
    );
}

#[tokio::test]
async fn an_altered_receipt_is_invalid_with_the_reason() {
    let s = state();
    let (answer, _) = evaluated(&s).await;
    let mut altered = answer["receipt"].clone();
    altered["total"] = json!("99.99");

    let checked = verify_api(&s, altered.to_string()).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.body["valid"], false);
    assert_eq!(checked.body["problem"], "not_in_batch");
    assert!(
        checked.body["reason"]
            .as_str()
            .expect("reason")
            .contains("altered"),
        "{}",
        checked.body
    );
    assert_eq!(
        checked.body["total"], "99.99",
        "the answer shows what is claimed"
    );

    let page = post_page(&s, &altered.to_string()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("核验结果：无效"), "{}", page.text);
    assert!(page.text.contains("被改动过"));
    assert!(page.text.contains("未通过核验，不可作为依据"));

    // A changed signature of an otherwise intact receipt: the signature does not match.
    let mut resigned = answer["receipt"].clone();
    let signature = resigned["signature"].as_str().expect("sig").to_owned();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    resigned["signature"] = json!(format!("{flipped}{}", &signature[1..]));
    let checked = verify_api(&s, resigned.to_string()).await;
    assert_eq!(checked.body["valid"], false, "{}", checked.body);
    assert_eq!(checked.body["problem"], "altered");
}

#[tokio::test]
async fn a_receipt_signed_by_another_key_is_intact_but_not_this_services() {
    let s = state();
    let (answer, key) = evaluated(&s).await;
    let ours: Receipt = serde_json::from_value(answer["receipt"].clone()).expect("receipt");
    let other = ReceiptKey::generate().expect("key");
    let foreign = other.sign(ours.body.clone());
    assert_ne!(other.public_key_hex(), key);

    let checked = verify_api(&s, serde_json::to_string(&foreign).expect("json")).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.body["valid"], true);
    assert_eq!(checked.body["signed_by_this_service"], false);
    assert_eq!(checked.body["signed_by"], other.public_key_hex().as_str());

    let page = post_page(&s, &serde_json::to_string(&foreign).expect("json")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("签名有效，但不是本服务签发的"),
        "{}",
        page.text
    );
    assert!(page.text.contains("其他公钥（不是本服务的公钥）"));
    assert!(page.text.contains(&other.public_key_hex()));
}

#[tokio::test]
async fn text_that_is_not_a_receipt_is_a_400_and_the_page_keeps_it() {
    let s = state();
    let broken = verify_api(&s, "{\"format\": ".to_owned()).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert_eq!(broken.content_type, "application/problem+json");
    assert_eq!(broken.body["code"], "not_a_receipt");
    assert!(
        broken.body["errors"][0]["at"]
            .as_str()
            .expect("at")
            .starts_with("line 1, column"),
        "{}",
        broken.body
    );
    let shape = verify_api(&s, json!({ "decision": "eligible" }).to_string()).await;
    assert_eq!(shape.status, StatusCode::BAD_REQUEST, "{}", shape.body);
    assert!(
        shape.body["detail"]
            .as_str()
            .expect("detail")
            .contains("missing field"),
        "{}",
        shape.body
    );

    let pasted = "这不是回执 <b>hello</b>";
    let page = post_page(&s, pasted).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text.contains("不是有效的 JSON"), "{}", page.text);
    assert!(page.text.contains("第 1 行"));
    assert!(
        page.text
            .contains("这不是回执 &#60;b&#62;hello&#60;/b&#62;")
            || page.text.contains("这不是回执 &lt;b&gt;hello&lt;/b&gt;"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<b>hello"));

    let missing = post_page(&s, "{\"format\": \"credit-rules receipt 2\"}").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.text.contains("缺少字段"), "{}", missing.text);

    let empty = post_page(&s, "  ").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(empty.text.contains("没有收到内容"));
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let s = state();
    let (answer, _) = evaluated(&s).await;
    let mut padded = answer.clone();
    padded["padding"] = json!("x".repeat(70 * 1024));
    let refused = verify_api(&s, padded.to_string()).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["code"], "body_too_large");

    let page = post_page(&s, &padded.to_string()).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.text.contains("超过 64 KB"), "{}", page.text);
}

#[tokio::test]
async fn the_check_is_public_and_rate_limited() {
    let app = Arc::try_unwrap(state().0)
        .ok()
        .expect("sole owner")
        .with_rate_limit(RateLimit {
            per_second: 1,
            burst: 2,
        });
    let s = AppState(Arc::new(app));
    let from = |uri: &str| {
        let mut request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let addr: SocketAddr = "192.0.2.9:4000".parse().expect("addr");
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    };
    for _ in 0..2 {
        let answer = raw(&s, from("/api/v1/receipts/verify")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    }
    let limited = raw(&s, from("/api/v1/receipts/verify")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let page = raw(&s, from("/receipt")).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_signed_in_clerk_checks_a_receipt_without_a_csrf_token() {
    let s = state();
    let (answer, _) = evaluated(&s).await;
    let browser = crate::console::sign_in(&s, crate::http::CITY).await;
    let receipt = answer["receipt"].to_string();
    let page = crate::console::send(
        &s,
        "POST",
        "/receipt",
        Some(&browser),
        Some(&[("receipt", receipt.as_str())]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("核验结果：有效"));
    // Other state-changing requests of the session still need the token.
    let refused = crate::console::send(
        &s,
        "POST",
        "/console/logout",
        Some(&browser),
        Some(&[("x", "y")]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
