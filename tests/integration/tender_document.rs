//! The tender-document chapter over HTTP and the command line: formats,
//! media types, `Content-Disposition` names, stored versions, the HTML
//! fragment's safety, and the command line's refusal to write Word to a
//! terminal.

use crate::http::state;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::router;
use credit_rules::store::NewRuleSetVersion;
use std::process::Command;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

async fn get(state: &credit_rules::http::AppState, uri: &str) -> Answer {
    let request = Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("answer");
    let text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (content_type, disposition) = (
        text(header::CONTENT_TYPE),
        text(header::CONTENT_DISPOSITION),
    );
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        content_type,
        disposition,
        body,
    }
}

#[tokio::test]
async fn the_document_route_serves_every_format_without_a_token() {
    let s = state();
    let docx = get(&s, "/api/v1/rulesets/water/document?format=docx").await;
    assert_eq!(docx.status, StatusCode::OK);
    assert_eq!(
        docx.content_type,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert!(docx.body.starts_with(b"PK\x03\x04"), "a zip archive");
    assert!(
        docx.disposition.starts_with("attachment; filename=\""),
        "{}",
        docx.disposition
    );
    // 武汉市水务… percent-encoded as UTF-8.
    assert!(
        docx.disposition
            .contains("filename*=UTF-8''%E6%AD%A6%E6%B1%89%E5%B8%82%E6%B0%B4%E5%8A%A1"),
        "{}",
        docx.disposition
    );
    assert!(
        docx.disposition.ends_with("-2024.1.docx"),
        "{}",
        docx.disposition
    );

    let md = get(&s, "/api/v1/rulesets/water/document?format=md").await;
    assert_eq!(md.content_type, "text/markdown; charset=utf-8");
    let markdown = String::from_utf8(md.body).expect("utf-8");
    assert!(markdown.starts_with("# 武汉市水务工程建设项目招标投标信用信息应用规则\n"));
    // The consortium part prints the rule the tender evaluation applies, word for word.
    use credit_rules::tender::{CONSORTIUM_QUALIFICATION_TEXT, CONSORTIUM_SCORE_TEXT};
    assert!(markdown.contains(&format!("1. {CONSORTIUM_QUALIFICATION_TEXT}\n")));
    assert!(markdown.contains(&format!("2. {CONSORTIUM_SCORE_TEXT}\n")));

    let html = get(&s, "/api/v1/rulesets/water/document").await;
    assert_eq!(
        html.content_type, "text/html; charset=utf-8",
        "HTML by default"
    );
    assert!(html.disposition.starts_with("inline;"));
    let fragment = String::from_utf8(html.body).expect("utf-8");
    assert!(
        fragment.starts_with("<article class=\"cr-document\""),
        "{fragment}"
    );
    for forbidden in ["<script", "<style", " style=", " on", "<!DOCTYPE"] {
        assert!(
            !fragment.contains(forbidden),
            "`{forbidden}` in the fragment"
        );
    }
    assert!(fragment.contains("<h2>二、信用评分标准</h2>"));
    assert!(fragment.contains("<h2>四、信用查询渠道与时点</h2>"));
    assert!(!fragment.contains("示例"), "no working notes");

    let page = get(
        &s,
        "/api/v1/rulesets/water/document?standalone=true&opening=2025-03-18&consortium=false",
    )
    .await;
    let page = String::from_utf8(page.body).expect("utf-8");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("（本项目为2025年3月18日）"));
    assert!(!page.contains("联合体投标"));
}

#[tokio::test]
async fn bad_document_queries_are_problems() {
    let s = state();
    let unknown = get(&s, "/api/v1/rulesets/watr/document").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.content_type, "application/problem+json");
    let format = get(&s, "/api/v1/rulesets/water/document?format=pdf").await;
    assert_eq!(format.status, StatusCode::BAD_REQUEST);
    assert_eq!(format.content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_slice(&format.body).expect("json");
    assert_eq!(problem["code"], "bad_query");
    let version = get(
        &s,
        &format!("/api/v1/rulesets/water/document?version={}", "0".repeat(64)),
    )
    .await;
    assert_eq!(version.status, StatusCode::NOT_FOUND);
}

/// An older stored version renders as it was: its own title and version in the chapter.
#[tokio::test]
async fn a_stored_version_renders_as_it_was() {
    let s = state();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let water = std::fs::read_to_string(root.join("rulesets/water/water.rules")).expect("water");
    let old = water.replacen("\"2024.1\"", "\"2023.9\"", 1);
    let saved = s
        .store
        .put_ruleset_version(&NewRuleSetVersion {
            ruleset_id: "water",
            source: &old,
            author: "test",
            message: "old",
            time: chrono::Utc::now(),
        })
        .expect("saved");
    let md = get(
        &s,
        &format!(
            "/api/v1/rulesets/water/document?format=md&version={}",
            saved.hash
        ),
    )
    .await;
    assert_eq!(md.status, StatusCode::OK);
    let markdown = String::from_utf8(md.body).expect("utf-8");
    assert!(markdown.contains("| 版本 | 2023.9 |"), "{markdown}");
}

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_writes_word_and_html_files_that_equal_the_library_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("water.docx");
    let (code, stdout, err) = run(&[
        "render",
        "water",
        "--format",
        "docx",
        "-o",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    let written = std::fs::read(&path).expect("written");
    // Standard output is a pipe here, so the Word file may go there too: the same bytes.
    let (code, piped, err) = run(&["render", "water", "--format", "docx"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(piped, written);
    let (code, html, err) = run(&["render", "water", "--format", "html", "--standalone"]);
    assert_eq!(code, 0, "{err}");
    let html = String::from_utf8(html).expect("utf-8");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<article"),
        "{html}"
    );
}
