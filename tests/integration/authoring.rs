//! The browser editor's calls in-process: checking a draft while it is typed (diagnostics
//! placed by line and character column), running its tests (expected and actual per
//! `expect` line), previewing its clauses, who may call them, and the keyword table the
//! editor highlights with, compared with the grammar read by pest's own grammar parser.

use crate::http::{CITY, EVALUATOR, TRANSPORT, WATER, call, raw, state};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::AUTHORING_ROUTES;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn water_source() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rulesets/water/water.rules"
    ))
    .expect("the shipped water rule set")
}

async fn post(path: &str, token: &str, source: &str) -> crate::http::Response {
    let s = state();
    call(
        &s,
        "POST",
        path,
        Some(token),
        Some(json!({ "source": source })),
    )
    .await
}

/// Line (1-based) and character column of the first `needle` in `text`.
fn line_col(text: &str, needle: &str) -> (u64, u64) {
    let at = text.find(needle).expect("the needle is in the text");
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..at].matches('\n').count() + 1;
    let col = text[line_start..at].chars().count() + 1;
    (line as u64, col as u64)
}

#[tokio::test]
async fn a_misspelled_kind_is_reported_at_its_line_and_column_with_help() {
    let good = water_source();
    let target = "kind = 不良行为记录";
    assert!(good.contains(target), "the sample uses {target}");
    let bad = good.replacen(target, "kind = 不良行为纪录", 1);
    let r = post("/console/api/rulesets/water/check", WATER, &bad).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The misspelling comes first; the tests naming its clause follow from it.
    let d = &r.body["diagnostics"][0];
    assert_eq!(d["code"], "E0201");
    assert_eq!(d["severity"], "error");
    assert!(
        d["help"].as_str().unwrap_or("").contains("不良行为记录"),
        "{d}"
    );
    let (line, col) = line_col(&bad, "不良行为纪录");
    assert_eq!(d["at"]["line"], line);
    assert_eq!(d["at"]["col"], col);
    assert_eq!(d["at"]["end_col"], col + 6);
    let (start, end) = (d["at"]["start"].as_u64(), d["at"]["end"].as_u64());
    let (start, end) = (start.expect("start") as usize, end.expect("end") as usize);
    assert_eq!(&bad[start..end], "不良行为纪录");

    let fixed = post("/console/api/rulesets/water/check", WATER, &good).await;
    assert_eq!(fixed.body["errors"], 0, "{}", fixed.body);
    assert_eq!(fixed.body["diagnostics"], json!([]));
    assert!(fixed.body["active_hash"].is_string());
}

#[tokio::test]
async fn the_check_says_whether_the_base_version_is_still_active() {
    let s = state();
    let active = call(&s, "GET", "/api/v1/rulesets/water", Some(WATER), None).await;
    let hash = active.body["meta"]["hash"]
        .as_str()
        .expect("hash")
        .to_owned();
    for (base, current) in [(hash.as_str(), true), ("0123abcd", false)] {
        let body = json!({ "source": water_source(), "base_hash": base });
        let r = call(
            &s,
            "POST",
            "/console/api/rulesets/water/check",
            Some(WATER),
            Some(body),
        )
        .await;
        assert_eq!(r.body["base_is_current"], current, "{}", r.body);
    }
}

#[tokio::test]
async fn tests_give_expected_and_actual_for_every_expect_line() {
    let source = water_source();
    let r = post("/console/api/rulesets/water/tests", WATER, &source).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let tests = r.body["tests"].as_array().expect("tests");
    assert!(!tests.is_empty());
    assert_eq!(r.body["failed"], 0, "{}", r.body);
    assert_eq!(r.body["passed"].as_u64(), Some(tests.len() as u64));
    for test in tests {
        for check in test["checks"].as_array().expect("checks") {
            assert_eq!(check["held"], true, "{check}");
            assert_eq!(check["expected"], check["actual"], "{check}");
        }
    }

    // One expectation changed: that test fails, naming both values.
    let first_expect = source.find("expect ").expect("an expect line");
    let line_end = first_expect + source[first_expect..].find('\n').expect("line end");
    let line = &source[first_expect..line_end];
    let flipped = if line.contains("disqualified") {
        line.replacen("disqualified", "eligible", 1)
    } else if line.contains("eligible") {
        line.replacen("eligible", "disqualified", 1)
    } else {
        panic!("the first expect line states a decision: {line}");
    };
    let changed = format!(
        "{}{flipped}{}",
        &source[..first_expect],
        &source[line_end..]
    );
    let r = post("/console/api/rulesets/water/tests", WATER, &changed).await;
    assert_eq!(r.body["failed"], 1, "{}", r.body);
    let failing = r.body["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| t["passed"] == false)
        .expect("a failing test");
    let check = failing["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["held"] == false)
        .expect("the changed line");
    let (line_no, _) = line_col(&changed, &flipped);
    assert_eq!(check["at"]["line"], line_no);
    assert_ne!(check["expected"], check["actual"]);
    assert!(
        check["expected"]
            .as_str()
            .unwrap_or("")
            .starts_with("决定 "),
        "{check}"
    );
}

#[tokio::test]
async fn tests_and_preview_of_a_draft_with_errors_are_refused_with_its_diagnostics() {
    let bad = water_source().replacen("kind = 不良行为记录", "kind = 不良行为纪录", 1);
    for path in ["tests", "preview"] {
        let r = post(&format!("/console/api/rulesets/water/{path}"), WATER, &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(r.content_type, "application/problem+json");
        assert_eq!(r.body["code"], "ruleset_invalid");
        assert_eq!(r.body["diagnostics"][0]["code"], "E0201");
        assert_eq!(r.body["diagnostics"][0]["file"], "water.rules");
    }
}

#[tokio::test]
async fn the_preview_is_the_rendered_chapter_of_the_unsaved_text() {
    let changed = water_source().replacen(
        "\"武汉市水务工程建设项目招标投标信用信息应用规则\"",
        "\"水务规则（修订草稿）\"",
        1,
    );
    let r = post("/console/api/rulesets/water/preview", WATER, &changed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let html = r.body["html"].as_str().expect("html");
    assert!(html.starts_with("<article class=\"cr-document\""));
    assert!(html.contains("<h1>水务规则（修订草稿）</h1>"), "{html}");
    assert!(html.contains("资格审查条件"));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn only_editors_of_the_sector_may_call_the_editor() {
    let s = state();
    let source = water_source();
    for path in ["check", "tests", "preview"] {
        let uri = format!("/console/api/rulesets/water/{path}");
        let body = || Some(json!({ "source": source }));
        let answer = |token| call(&s, "POST", &uri, token, body());
        assert_eq!(
            answer(None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        let evaluator = answer(Some(EVALUATOR)).await;
        assert_eq!(evaluator.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(evaluator.content_type, "application/problem+json");
        let other_sector = answer(Some(TRANSPORT)).await;
        assert_eq!(other_sector.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(answer(Some(CITY)).await.status, StatusCode::OK, "{path}");
        assert_eq!(answer(Some(WATER)).await.status, StatusCode::OK, "{path}");
    }
    // A bad body is a problem+json 4xx, after the token.
    let request = Request::post("/console/api/rulesets/water/check")
        .header(header::AUTHORIZATION, format!("Bearer {WATER}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{ \"source\": 1 }"))
        .expect("request");
    let r = raw(&s, request).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type, "application/problem+json");
}

/// The page calls the editor with its session cookie and the page's CSRF token.
#[tokio::test]
async fn the_console_session_calls_the_editor_with_its_csrf_token() {
    let (s, _) = crate::console::console_state();
    let water = crate::console::sign_in(&s, WATER).await;
    let request = |id: &str, csrf: Option<&str>| {
        let mut request = Request::post(format!("/console/api/rulesets/{id}/check"))
            .header(header::COOKIE, format!("cr_session={}", water.cookie))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
            .body(Body::from(json!({ "source": water_source() }).to_string()))
            .expect("request")
    };
    let ok = raw(&s, request("water", Some(&water.csrf))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["errors"], 0);
    let no_csrf = raw(&s, request("water", None)).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "{}", no_csrf.body);
    let wrong_csrf = raw(&s, request("water", Some("not-the-token"))).await;
    assert_eq!(wrong_csrf.status, StatusCode::FORBIDDEN);
    let other_sector = raw(&s, request("transport", Some(&water.csrf))).await;
    assert_eq!(
        other_sector.status,
        StatusCode::FORBIDDEN,
        "{}",
        other_sector.body
    );
}

#[tokio::test]
async fn a_new_rule_set_and_a_rule_set_extending_a_changed_base_are_checked() {
    let new = "规则集 water.pilot { 标题 \"试点\" 行业 \"水务\" 版本 \"1\" 生效日期 2025-01-01 责任单位 \"市水务局\" 继承 city.base }\n";
    let r = post("/console/api/rulesets/water.pilot/check", WATER, new).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["errors"], 0, "{}", r.body);
    assert!(r.body.get("active_hash").is_none());

    let wrong_id = post(
        "/console/api/rulesets/water.pilot/check",
        WATER,
        &new.replace("water.pilot", "water.pilo"),
    )
    .await;
    assert_eq!(
        wrong_id.body["diagnostics"][0]["code"], "E0307",
        "{}",
        wrong_id.body
    );
}

#[tokio::test]
async fn the_assets_are_served_with_their_types_and_a_year_of_cache() {
    let s = state();
    for (path, kind) in [
        (
            "/assets/console/editor.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/console/editor.css", "text/css; charset=utf-8"),
    ] {
        let response = head(&s, path).await;
        assert_eq!(response.0, StatusCode::OK, "{path}");
        assert_eq!(
            response
                .1
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap_or("")),
            Some(kind)
        );
        assert!(
            response.1[header::CACHE_CONTROL]
                .to_str()
                .unwrap_or("")
                .contains("immutable"),
            "{path}"
        );
    }
    assert!(
        credit_rules::console::editor::editor_script_href()
            .starts_with("/assets/console/editor.js?v=")
    );
    assert!(
        credit_rules::console::editor::editor_stylesheet_href()
            .starts_with("/assets/console/editor.css?v=")
    );
    let routes: BTreeSet<&str> = AUTHORING_ROUTES.iter().map(|(_, p)| *p).collect();
    assert_eq!(routes.len(), AUTHORING_ROUTES.len());
    // The script holds no keyword list: it takes the words from keywords.json. (Checked on
    // the words a list would hold first; HTML element names such as `table` may be quoted.)
    let table = credit_rules::syntax::keywords::table();
    let core = [
        "kw_ruleset",
        "kw_veto",
        "kw_score",
        "kw_flag",
        "kw_when",
        "kw_wording",
    ];
    for keyword in table
        .keywords
        .iter()
        .filter(|k| core.contains(&k.rule.as_str()))
    {
        for spelling in &keyword.spellings {
            for quoted in [format!("'{spelling}'"), format!("\"{spelling}\"")] {
                assert!(
                    !credit_rules::console::editor::EDITOR_SCRIPT.contains(&quoted),
                    "editor.js spells the keyword {quoted}"
                );
            }
        }
    }
}

/// The keyword table the editor receives holds every spelling of every `kw_…` rule of the
/// grammar, as pest's own grammar parser reads `grammar/credit.pest` (another reader than
/// the one that builds the table), and the duration units.
#[tokio::test]
async fn the_editor_receives_every_keyword_of_the_grammar() {
    let s = state();
    let r = call(&s, "GET", "/assets/console/keywords.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "application/json");
    let received = |group: &str| -> BTreeMap<String, BTreeSet<String>> {
        r.body[group]
            .as_array()
            .expect("a list")
            .iter()
            .map(|k| {
                let spellings = k["spellings"]
                    .as_array()
                    .expect("spellings")
                    .iter()
                    .map(|s| s.as_str().expect("text").to_owned())
                    .collect();
                (k["rule"].as_str().expect("rule").to_owned(), spellings)
            })
            .collect()
    };
    let grammar =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/credit.pest"))
            .expect("the grammar");
    let pairs = pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, &grammar)
        .expect("pest reads the grammar");
    let rules = pest_meta::parser::consume_rules(pairs).expect("valid grammar");
    let from_grammar = |prefix: &str| -> BTreeMap<String, BTreeSet<String>> {
        rules
            .iter()
            .filter(|r| r.name.starts_with(prefix))
            .map(|r| {
                let spellings = r
                    .expr
                    .iter_top_down()
                    .filter_map(|e| match e {
                        pest_meta::ast::Expr::Str(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                (r.name.clone(), spellings)
            })
            .filter(|(_, spellings): &(String, BTreeSet<String>)| !spellings.is_empty())
            .collect()
    };
    let keywords = from_grammar("kw_");
    assert!(keywords.len() >= 50, "{} keyword rules", keywords.len());
    assert!(keywords["kw_veto"].contains("否决"));
    assert_eq!(received("keywords"), keywords);
    assert_eq!(received("units"), from_grammar("unit_"));
}

/// The status and headers of a GET.
async fn head(s: &credit_rules::http::AppState, path: &str) -> (StatusCode, axum::http::HeaderMap) {
    use tower::ServiceExt;
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = credit_rules::http::router(s.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    (response.status(), response.headers().clone())
}
