//! Review before publishing over HTTP, in-process: a bureau submits a draft, the city office
//! sees its diff, rejects it with a comment, the bureau resubmits, the city office approves,
//! and evaluations use the new version; scheduled activation on an Asia/Shanghai day with a
//! manual clock; permissions, stale bases, comments, history. JSON answers are snapshotted
//! with hashes redacted (times come from the manual clock and are stable).

use crate::http::{BIDDER, CITY, EVALUATOR, TRANSPORT, WATER, call, sample_records, tokens};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use credit_rules::http::{App, AppState};
use credit_rules::registry::Registry;
use credit_rules::review::ManualClock;
use credit_rules::store::{SledStore, Versions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// 2024-06-01 10:00 in Shanghai.
const START: &str = "2024-06-01T02:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// The shipped rule sets, a temporary store and a clock the test sets.
pub(crate) fn state_with_clock() -> (AppState, Arc<ManualClock>) {
    let workspace = crate::common::shipped();
    let registry = Registry::from_workspace(&workspace).expect("rulesets compile");
    let store = SledStore::open_temporary().expect("temporary store");
    let clock = Arc::new(ManualClock::new(at(START)));
    let app = App::new(registry, Arc::new(store), tokens(), None).with_clock(clock.clone());
    (AppState(Arc::new(app)), clock)
}

/// The active water rule set: (compiled hash, source).
async fn active_water(s: &AppState) -> (String, String) {
    let r = call(s, "GET", "/api/v1/rulesets/water", Some(WATER), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (
        r.body["meta"]["hash"].as_str().expect("hash").to_string(),
        r.body["source"].as_str().expect("source").to_string(),
    )
}

/// The water rules with 2 → 3 points deducted per penalty.
fn stricter(source: &str) -> String {
    let stricter = source.replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    assert_ne!(stricter, source, "the water rules define 每次处罚扣分");
    stricter
}

async fn submit(s: &AppState, token: &str, body: Value) -> crate::http::Response {
    call(s, "POST", "/api/v1/drafts", Some(token), Some(body)).await
}

async fn act(
    s: &AppState,
    token: &str,
    id: u64,
    action: &str,
    body: Value,
) -> crate::http::Response {
    let uri = format!("/api/v1/drafts/{id}/{action}");
    call(s, "POST", &uri, Some(token), Some(body)).await
}

async fn get_draft(s: &AppState, token: &str, id: u64) -> crate::http::Response {
    call(s, "GET", &format!("/api/v1/drafts/{id}"), Some(token), None).await
}

/// The sample bidder's (total, hash of the rules applied) under `water` on 2024-08-01.
async fn evaluate_sample(s: &AppState) -> (String, String) {
    let body = json!({ "ruleset": "water", "as_of": "2024-08-01", "records": sample_records() });
    let r = call(s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "eligible");
    (
        r.body["total"].as_str().expect("total").to_string(),
        r.body["hash"].as_str().expect("hash").to_string(),
    )
}

/// The text with every `hash XXXXXXXXXXXX` (12 hex digits) replaced by `hash [hash]`.
fn redact_short_hashes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("hash ") {
        let (before, after) = rest.split_at(at + "hash ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits == 12 {
            out.push_str("[hash]");
            rest = &after[digits..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn actions(draft: &Value) -> Vec<&str> {
    draft["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

#[tokio::test]
async fn submit_see_the_diff_reject_resubmit_approve_and_evaluations_use_the_new_version() {
    let (s, clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    let (old_total, old_hash) = evaluate_sample(&s).await;
    assert_eq!(
        (old_total.as_str(), old_hash.as_str()),
        ("4.40", base.as_str())
    );

    // The water bureau submits a stricter deduction.
    let first = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "base_hash": base,
                "message": "行政处罚每次扣分由2分调整为3分" }),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["id"], 1);
    insta::assert_json_snapshot!("draft_submitted", first.body, {
        ".base_hash" => "[hash]", ".source_hash" => "[hash]"
    });

    // The city office sees what it changes.
    let diff = call(&s, "GET", "/api/v1/drafts/1/diff", Some(CITY), None).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert_eq!(diff.body["identical"], false);
    assert_eq!(diff.body["base_is_current"], true);
    assert_eq!(diff.body["diff"]["constants"][0]["name"], "每次处罚扣分");
    assert!(
        diff.body["text"]
            .as_str()
            .expect("text")
            .contains("每次处罚扣分"),
        "{}",
        diff.body["text"]
    );
    let mut body = diff.body.clone();
    body["text"] = Value::String(redact_short_hashes(
        diff.body["text"].as_str().expect("text"),
    ));
    insta::assert_json_snapshot!("draft_diff", body, {
        ".active_hash" => "[hash]", ".**.hash" => "[hash]", ".**.source_hash" => "[hash]"
    });

    // The bureau cannot approve its own draft; the city office must say why it decides.
    let by_bureau = act(&s, WATER, 1, "approve", json!({ "comment": "自己批准" })).await;
    assert_eq!(
        by_bureau.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_bureau.body
    );
    let blank = act(&s, CITY, 1, "reject", json!({ "comment": "  " })).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(blank.body["code"], "comment_required");
    assert_eq!(blank.content_type, "application/problem+json");
    let missing = act(&s, CITY, 1, "approve", json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["code"], "json_data");

    clock.set(at("2024-06-03T01:30:00Z"));
    let rejected = act(
        &s,
        CITY,
        1,
        "reject",
        json!({ "comment": "请补充调整依据（处罚案例统计）后重新提交" }),
    )
    .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    insta::assert_json_snapshot!("draft_rejected", rejected.body, {
        ".base_hash" => "[hash]", ".source_hash" => "[hash]"
    });
    let again = act(&s, CITY, 1, "approve", json!({ "comment": "同意" })).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "draft_status");
    assert!(
        again.body["detail"]
            .as_str()
            .expect("detail")
            .contains("draft #1 is rejected"),
        "{}",
        again.body
    );

    // The bureau resubmits; the city office approves; it goes live.
    clock.set(at("2024-06-05T06:00:00Z"));
    let second = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "base_hash": base,
                "message": "行政处罚每次扣分由2分调整为3分（附2023年处罚案例统计）" }),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body["id"], 2);
    assert_eq!(
        evaluate_sample(&s).await.0,
        "4.40",
        "a pending draft is not live"
    );
    clock.set(at("2024-06-06T07:15:00Z"));
    let approved = act(
        &s,
        CITY,
        2,
        "approve",
        json!({ "comment": "依据充分，同意发布" }),
    )
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["draft"]["status"], "active");
    let new_hash = approved.body["published"]["meta"]["hash"]
        .as_str()
        .expect("published")
        .to_string();
    assert_ne!(new_hash, base);
    insta::assert_json_snapshot!("draft_approved", approved.body, {
        ".**.hash" => "[hash]", ".**.base_hash" => "[hash]",
        ".**.source_hash" => "[hash]", ".**.published_hash" => "[hash]",
        ".**.version_hash" => "[hash]"
    });

    // Evaluations use the new version.
    assert_eq!(active_water(&s).await.0, new_hash);
    let (new_total, applied) = evaluate_sample(&s).await;
    assert_eq!(
        (new_total.as_str(), applied.as_str()),
        ("3.40", new_hash.as_str())
    );
    let versions = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/versions",
        Some(EVALUATOR),
        None,
    )
    .await;
    let newest = versions.body["items"]
        .as_array()
        .expect("log")
        .last()
        .cloned()
        .expect("a version");
    assert_eq!(newest["author"], "市水务局");
    assert_eq!(
        newest["message"],
        "行政处罚每次扣分由2分调整为3分（附2023年处罚案例统计）（草稿 draft #2，市公管局 批准）"
    );

    // Drafts, decisions and comments stay in the history.
    let history = call(&s, "GET", "/api/v1/drafts?ruleset=water", Some(WATER), None).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let drafts = history.body["items"].as_array().expect("list");
    assert_eq!(actions(&drafts[0]), ["submitted", "rejected"]);
    assert_eq!(actions(&drafts[1]), ["submitted", "approved", "activated"]);
    insta::assert_json_snapshot!("draft_history", history.body["items"], {
        ".**.base_hash" => "[hash]", ".**.source_hash" => "[hash]",
        ".**.published_hash" => "[hash]", ".**.version_hash" => "[hash]"
    });
    let active_only = call(&s, "GET", "/api/v1/drafts?status=active", Some(CITY), None).await;
    assert_eq!(active_only.body["items"].as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn a_draft_scheduled_for_a_day_goes_live_on_that_day_in_shanghai() {
    let (s, clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    let submitted = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "message": "7月1日起施行",
                "activate_on": "2024-07-01" }),
    )
    .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    assert_eq!(
        submitted.body["base_hash"],
        base.as_str(),
        "the active version by default"
    );
    let approved = act(
        &s,
        CITY,
        1,
        "approve",
        json!({ "comment": "同意，按期施行" }),
    )
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["draft"]["status"], "approved");
    assert!(approved.body.get("published").is_none());

    let scheduler =
        credit_rules::http::spawn_activation_scheduler(s.clone(), Duration::from_millis(5));
    // 2024-06-30 23:59 in Shanghai: not yet.
    clock.set(at("2024-06-30T15:59:00Z"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(active_water(&s).await.0, base);
    assert_eq!(get_draft(&s, CITY, 1).await.body["status"], "approved");
    // 2024-07-01 00:00 in Shanghai (still June 30 in UTC): due.
    clock.set(at("2024-06-30T16:00:00Z"));
    let mut draft = get_draft(&s, CITY, 1).await.body;
    for _ in 0..200 {
        if draft["status"] == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        draft = get_draft(&s, CITY, 1).await.body;
    }
    scheduler.abort();
    assert_eq!(draft["status"], "active", "{draft}");
    assert_eq!(actions(&draft), ["submitted", "approved", "activated"]);
    assert_eq!(draft["events"][2]["actor"]["role"], "system");
    assert_eq!(draft["events"][2]["time"], "2024-06-30T16:00:00Z");
    assert_ne!(active_water(&s).await.0, base);
    assert_eq!(evaluate_sample(&s).await.0, "3.40");
}

#[tokio::test]
async fn a_draft_whose_base_moved_is_refused_with_409_and_marked_stale() {
    let (s, _clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    let one = stricter(&source);
    let other = source.replace("const 每项表彰加分     = 1", "const 每项表彰加分     = 2");
    for (text, message) in [(one, "扣分"), (other, "加分")] {
        let r = submit(
            &s,
            WATER,
            json!({ "ruleset": "water", "source": text, "base_hash": base, "message": message }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let first = act(&s, CITY, 1, "approve", json!({ "comment": "同意" })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let listed = get_draft(&s, WATER, 2).await;
    assert_eq!(
        listed.body["base_is_current"], false,
        "the reviewer can see it before deciding"
    );

    let second = act(&s, CITY, 2, "approve", json!({ "comment": "同意" })).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert_eq!(second.body["code"], "stale_version");
    assert!(
        second.body["detail"]
            .as_str()
            .expect("detail")
            .contains("draft #2 is marked stale; submit a new draft based on the active version"),
        "{}",
        second.body
    );
    let stale = get_draft(&s, WATER, 2).await.body;
    assert_eq!(stale["status"], "stale");
    assert_eq!(actions(&stale), ["submitted", "stale"]);
    assert!(
        stale["source"]
            .as_str()
            .expect("source")
            .contains("每项表彰加分     = 2")
    );
    let withdraw = act(&s, WATER, 2, "withdraw", json!({})).await;
    assert_eq!(
        withdraw.status,
        StatusCode::CONFLICT,
        "a stale draft is final"
    );
}

#[tokio::test]
async fn roles_and_sectors_decide_who_may_do_what() {
    let (s, _clock) = state_with_clock();
    let (_, source) = active_water(&s).await;
    let body = json!({ "ruleset": "water", "source": stricter(&source) });
    let transport = submit(&s, TRANSPORT, body.clone()).await;
    assert_eq!(
        transport.status,
        StatusCode::FORBIDDEN,
        "{}",
        transport.body
    );
    let evaluator = submit(&s, EVALUATOR, body.clone()).await;
    assert_eq!(evaluator.status, StatusCode::FORBIDDEN);
    let anonymous = call(&s, "POST", "/api/v1/drafts", None, Some(body.clone())).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(submit(&s, WATER, body).await.status, StatusCode::CREATED);

    // Another sector neither sees nor withdraws it: to it the draft does not exist (the
    // answer is the one for a missing draft, so ids and sectors cannot be enumerated); an
    // evaluator does not review.
    let hidden = get_draft(&s, TRANSPORT, 1).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let missing = get_draft(&s, TRANSPORT, 99).await;
    assert_eq!(
        hidden.body["detail"]
            .as_str()
            .map(|d| d.replace("#1", "#99")),
        missing.body["detail"].as_str().map(String::from)
    );
    assert_eq!(hidden.body["code"], missing.body["code"]);
    assert!(!hidden.body.to_string().contains("水务"), "{}", hidden.body);
    let listed = call(&s, "GET", "/api/v1/drafts", Some(TRANSPORT), None).await;
    assert_eq!(listed.body, json!({ "items": [], "next_cursor": null }));
    assert_eq!(
        get_draft(&s, EVALUATOR, 1).await.status,
        StatusCode::FORBIDDEN
    );
    let diff = call(&s, "GET", "/api/v1/drafts/1/diff", Some(TRANSPORT), None).await;
    assert_eq!(diff.status, StatusCode::NOT_FOUND);
    assert_eq!(
        act(&s, TRANSPORT, 1, "withdraw", json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&s, TRANSPORT, 1, "reject", json!({ "comment": "x" }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The city office rejects drafts; only the author withdraws them.
    let by_city = act(&s, CITY, 1, "withdraw", json!({})).await;
    assert_eq!(by_city.status, StatusCode::FORBIDDEN, "{}", by_city.body);
    let withdrawn = act(&s, WATER, 1, "withdraw", json!({ "comment": "另行修改" })).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    let twice = act(&s, WATER, 1, "withdraw", json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    // Unknown drafts and filters.
    let unknown = get_draft(&s, CITY, 99).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["code"], "draft_not_found");
    let not_a_number = call(&s, "GET", "/api/v1/drafts/abc", Some(CITY), None).await;
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    let bad_status = call(&s, "GET", "/api/v1/drafts?status=done", Some(CITY), None).await;
    assert_eq!(bad_status.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_status.body["detail"]
            .as_str()
            .expect("detail")
            .contains("pending")
    );
    let bad_filter = call(&s, "GET", "/api/v1/drafts?sector=x", Some(CITY), None).await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_filter.content_type, "application/problem+json");
}

#[tokio::test]
async fn a_submission_is_checked_before_it_is_saved() {
    let (s, _clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    let broken = source.replacen("when", "when any(records where kind = 行政处法) or", 1);
    let invalid = submit(&s, WATER, json!({ "ruleset": "water", "source": broken })).await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.body
    );
    let diagnostics = invalid.body["diagnostics"].as_array().expect("diagnostics");
    let unknown_kind = diagnostics
        .iter()
        .find(|d| d["code"] == "E0201")
        .expect("the unknown kind is reported");
    assert!(unknown_kind["line"].as_u64().is_some(), "{unknown_kind}");

    let wrong_id = submit(
        &s,
        CITY,
        json!({ "ruleset": "transport", "source": source }),
    )
    .await;
    assert_eq!(
        wrong_id.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_id.body
    );
    assert_eq!(wrong_id.body["code"], "wrong_id");

    let past = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "activate_on": "2024-05-31" }),
    )
    .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(past.body["code"], "activate_on_past");

    let stale = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "base_hash": "0000" }),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body["detail"]
            .as_str()
            .expect("detail")
            .contains(&base),
        "names the active version: {}",
        stale.body
    );
    let none = call(&s, "GET", "/api/v1/drafts", Some(CITY), None).await;
    assert_eq!(none.body["items"], json!([]), "nothing refused was saved");
}

#[tokio::test]
async fn a_new_rule_set_has_no_diff_but_goes_live_when_approved() {
    let (s, _clock) = state_with_clock();
    let source = r#"ruleset water.pilot {
  title     "水务试点规则"
  sector    "水务"
  version   "1"
  effective 2024-07-01
  unit      "武汉市水务局"
  extends   city.base
}
"#;
    let submitted = submit(
        &s,
        WATER,
        json!({ "ruleset": "water.pilot", "source": source }),
    )
    .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    assert!(submitted.body.get("base_hash").is_none());
    let diff = call(&s, "GET", "/api/v1/drafts/1/diff", Some(CITY), None).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(diff.body.get("diff").is_none());
    assert!(
        diff.body["text"]
            .as_str()
            .expect("text")
            .contains("new rule set")
    );
    let approved = act(&s, CITY, 1, "approve", json!({ "comment": "同意试点" })).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let live = call(
        &s,
        "GET",
        "/api/v1/rulesets/water.pilot",
        Some(EVALUATOR),
        None,
    )
    .await;
    assert_eq!(live.status, StatusCode::OK);
}

/// Runs the binary with a token in `CREDIT_RULES_TOKEN` (none when `token` is `None`).
fn cli(args: &[&str], token: Option<&str>) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"));
    command.args(args).env_remove("CREDIT_RULES_TOKEN");
    if let Some(token) = token {
        command.env("CREDIT_RULES_TOKEN", token);
    }
    let out = command.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_drives_the_review_through_a_running_server() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (s, _clock) = state_with_clock();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let server = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(credit_rules::http::serve(listener, s.clone(), async {
        let _ = stopped.await;
    }));
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(sample_records()).expect("records");
    s.store.put_records(&records).expect("stored");
    let (_, source) = runtime.block_on(active_water(&s));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("water.rules");
    std::fs::write(&file, stricter(&source)).expect("write draft");
    let file = file.to_str().expect("utf-8 path");
    let with_server = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--server".to_string(), server.clone()]);
        all
    };
    let run = |args: &[&str], token: Option<&str>| {
        let args = with_server(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args, token)
    };

    let (code, out, err) = run(
        &["draft", "submit", file, "-m", "处罚扣分调整"],
        Some(WATER),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("submitted draft #1 of `water` (pending 待审核)"),
        "{out}"
    );

    let (code, out, err) = run(&["draft", "list", "--status", "pending"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("#1") && out.contains("2024-06-01 10:00 +08:00"),
        "{out}"
    );

    let (code, out, err) = run(&["draft", "show", "1"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("history:") && out.contains("submitted"),
        "{out}"
    );
    assert!(
        out.contains("每次处罚扣分 〔water〕: 2 → 3"),
        "the diff is shown: {out}"
    );

    let (code, out, err) = run(&["draft", "diff", "1"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("规则集差异 rule-set diff"), "{out}");

    let (code, out, err) = run(
        &[
            "draft",
            "impact",
            "1",
            "--as-of",
            "2024-08-01",
            "--top",
            "3",
        ],
        Some(CITY),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("评价主体 Entities evaluated: 1"), "{out}");
    assert!(out.contains("4.40 → 3.40 (Δ -1.00)"), "{out}");

    let (code, _, err) = run(&["draft", "approve", "1", "-c", "自批"], Some(WATER));
    assert_eq!(code, 1, "the server refuses: {err}");
    assert!(err.contains("Forbidden (HTTP 403, forbidden)"), "{err}");
    assert!(err.contains("only the city office"), "{err}");

    let (code, out, err) = run(&["draft", "reject", "1", "-c", "请补充依据"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("rejected draft #1 of `water` (rejected 已驳回)"),
        "{out}"
    );

    let (code, _, _) = run(
        &["draft", "submit", file, "-m", "补充依据后重新提交"],
        Some(WATER),
    );
    assert_eq!(code, 0);
    let (code, out, err) = run(&["draft", "approve", "2", "--comment", "同意"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("approved draft #2: `water` is now active as version"),
        "{out}"
    );

    let (code, out, err) = run(&["draft", "show", "1", "--format", "json"], Some(CITY));
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(shown["status"], "rejected");
    assert_eq!(shown["events"][1]["comment"], "请补充依据");

    // Problems, missing tokens and an unreachable server are told apart.
    let broken = dir.path().join("broken.rules");
    std::fs::write(
        &broken,
        source.replacen("when", "when any(records where kind = 行政处法) or", 1),
    )
    .expect("write broken");
    let (code, _, err) = run(
        &["draft", "submit", broken.to_str().expect("utf-8")],
        Some(WATER),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[E0201]") && err.contains("help:"),
        "{err}"
    );
    let (code, _, err) = run(&["draft", "list"], None);
    assert_eq!(code, 2);
    assert!(err.contains("no token"), "{err}");
    let (code, _, err) = cli(
        &["draft", "list", "--server", "http://127.0.0.1:1"],
        Some(CITY),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot reach the credit-rules server at http://127.0.0.1:1"),
        "{err}"
    );

    stop.send(()).expect("signal shutdown");
    runtime
        .block_on(serving)
        .expect("server task")
        .expect("clean shutdown");
}

/// Every `$ref` string under `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_review_routes_and_resolves_every_schema() {
    let (s, _clock) = state_with_clock();
    let doc = call(&s, "GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in &found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    for schema in [
        "DraftView",
        "Actor",
        "ReviewEvent",
        "DraftStatus",
        "DraftDiffView",
    ] {
        assert!(
            found.iter().any(|r| r.ends_with(schema)),
            "{schema} is used"
        );
    }
    let put = &doc["paths"]["/api/v1/rulesets/{id}"]["put"];
    assert!(put["responses"]["202"].is_object(), "{put}");
    assert!(
        put["responses"]["200"].is_null(),
        "PUT no longer publishes: {put}"
    );
    let approve = &doc["paths"]["/api/v1/drafts/{id}/approve"]["post"];
    let description = approve["description"].as_str().expect("description");
    assert!(description.contains("Asia/Shanghai"), "{description}");
    assert!(
        put["description"]
            .as_str()
            .expect("description")
            .contains("Nothing is")
    );
}

#[tokio::test]
async fn the_impact_of_a_draft_shows_whose_outcome_changes() {
    let (s, _clock) = state_with_clock();
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(sample_records()).expect("records");
    s.store.put_records(&records).expect("stored");
    let (_, source) = active_water(&s).await;
    let submitted = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source) }),
    )
    .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);

    let uri = "/api/v1/drafts/1/impact?as_of=2024-08-01&top=5";
    let r = call(&s, "GET", uri, Some(CITY), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report = &r.body["report"];
    assert_eq!(report["counts"]["evaluated"], 1);
    assert_eq!(report["counts"]["score_changed"], 1);
    assert_eq!(report["top"][0]["uscc"], BIDDER);
    assert_eq!(report["top"][0]["old"]["total"], "4.40");
    assert_eq!(report["top"][0]["new"]["total"], "3.40");
    assert_eq!(report["top"][0]["delta"], "-1.00");
    let focus = json!({
        "counts": report["counts"], "decisions": report["decisions"],
        "score_delta": report["score_delta"], "top": report["top"],
        "as_of": report["as_of"], "top_limit": report["top_limit"],
    });
    insta::assert_json_snapshot!("draft_impact", focus);
    insta::assert_snapshot!(
        "draft_impact_text",
        redact_short_hashes(r.body["text"].as_str().expect("text"))
    );

    // The day defaults to today in Shanghai; the parameters are checked.
    let today = call(&s, "GET", "/api/v1/drafts/1/impact", Some(WATER), None).await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);
    assert_eq!(today.body["report"]["as_of"], "2024-06-01");
    assert_eq!(today.body["report"]["top_limit"], 20);
    let too_many = call(
        &s,
        "GET",
        "/api/v1/drafts/1/impact?top=5000",
        Some(CITY),
        None,
    )
    .await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    let bad_day = call(
        &s,
        "GET",
        "/api/v1/drafts/1/impact?as_of=2024-02-30",
        Some(CITY),
        None,
    )
    .await;
    assert_eq!(bad_day.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_day.content_type, "application/problem+json");
    let other = call(&s, "GET", "/api/v1/drafts/1/impact", Some(TRANSPORT), None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

/// Reviewers compare any two published versions: stored versions by source hash, the newer
/// one defaulting to the active version.
#[tokio::test]
async fn two_published_versions_are_compared_by_hash() {
    let (s, _clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    let approve = |id: u64| act(&s, CITY, id, "approve", json!({ "comment": "同意" }));

    let first = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": stricter(&source), "base_hash": base }),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(approve(1).await.status, StatusCode::OK);
    let (stricter_hash, _) = active_water(&s).await;
    let back = submit(
        &s,
        WATER,
        json!({ "ruleset": "water", "source": source, "base_hash": stricter_hash }),
    )
    .await;
    assert_eq!(back.status, StatusCode::CREATED, "{}", back.body);
    assert_eq!(approve(2).await.status, StatusCode::OK);

    let versions = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/versions",
        Some(EVALUATOR),
        None,
    )
    .await;
    let hashes: Vec<String> = versions.body["items"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["hash"].as_str().expect("hash").to_string())
        .collect();
    assert_eq!(hashes.len(), 2, "{}", versions.body);
    let (stricter_src, original_src) = (&hashes[0], &hashes[1]);

    // stricter → active (the original again): the deduction constant goes back from 3 to 2.
    let uri = format!("/api/v1/rulesets/water/diff?from={stricter_src}");
    let diff = call(&s, "GET", &uri, Some(EVALUATOR), None).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert_eq!(diff.body["identical"], false);
    let (active_id, _) = active_water(&s).await;
    assert_eq!(
        diff.body["to"],
        active_id.as_str(),
        "the active version's identity"
    );
    assert_ne!(
        diff.body["from"],
        stricter_src.as_str(),
        "an identity, not a source hash"
    );
    let constants = diff.body["diff"]["constants"].to_string();
    assert!(constants.contains("每次处罚扣分"), "{constants}");
    assert!(
        diff.body["text"]
            .as_str()
            .expect("text")
            .contains("每次处罚扣分")
    );

    // A version compared with itself: nothing changed.
    let uri = format!("/api/v1/rulesets/water/diff?from={original_src}&to={original_src}");
    let same = call(&s, "GET", &uri, Some(EVALUATOR), None).await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.body["identical"], true);

    // A missing `from` is a problem naming the parameters.
    let bad = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/diff",
        Some(EVALUATOR),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["code"], "bad_query");

    // Unknown versions and rule sets are 404; no token is 401.
    let missing = call(
        &s,
        "GET",
        "/api/v1/rulesets/water/diff?from=abcdef01",
        Some(EVALUATOR),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body["detail"]
            .as_str()
            .expect("detail")
            .contains("GET /api/v1/rulesets/water shows the active version's id")
    );
    let other = format!("/api/v1/rulesets/transport/diff?from={stricter_src}");
    assert_eq!(
        call(&s, "GET", &other, Some(EVALUATOR), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, "GET", &uri, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_new_rule_set_shows_its_whole_impact() {
    let (s, _clock) = state_with_clock();
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(sample_records()).expect("records");
    s.store.put_records(&records).expect("stored");
    let source = r#"ruleset water.trial {
  title     "水务试行规则"
  sector    "水务"
  version   "1"
  effective 2024-07-01
  unit      "武汉市水务局"
  extends   city.base
}
"#;
    let submitted = submit(
        &s,
        WATER,
        json!({ "ruleset": "water.trial", "source": source }),
    )
    .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    let impact = call(
        &s,
        "GET",
        "/api/v1/drafts/1/impact?as_of=2024-06-01",
        Some(CITY),
        None,
    )
    .await;
    assert_eq!(impact.status, StatusCode::OK, "{}", impact.body);
    assert_eq!(impact.body["new_ruleset"], true);
    let counts = &impact.body["report"]["counts"];
    assert_eq!(counts["evaluated"], 1, "{counts}");
    // The sample bidder is a judgment defaulter on that day: the city base (extended by the
    // new rule set) disqualifies it, where no rule set applied before.
    assert_eq!(counts["newly_disqualified"], 1, "{counts}");
    assert!(
        impact.body["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("新规则集 new rule set")),
        "{}",
        impact.body["text"]
    );
}

#[tokio::test]
async fn an_approved_draft_keeps_its_diff_and_reviewers_see_competing_drafts() {
    let (s, _clock) = state_with_clock();
    let (base, source) = active_water(&s).await;
    // The version log starts with the shipped version, as `serve` seeds it.
    s.store
        .put_ruleset_version(&credit_rules::store::NewRuleSetVersion {
            ruleset_id: "water",
            source: &source,
            author: "seed",
            message: "shipped rule set",
            time: Utc::now(),
        })
        .expect("seeded");

    let same = submit(&s, WATER, json!({ "ruleset": "water", "source": source })).await;
    assert_eq!(same.status, StatusCode::CONFLICT, "{}", same.body);
    assert_eq!(same.body["code"], "no_change", "{}", same.body);

    let body = json!({ "ruleset": "water", "source": stricter(&source), "base_hash": base });
    assert_eq!(
        submit(&s, WATER, body.clone()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(submit(&s, WATER, body).await.status, StatusCode::CREATED);
    let first = get_draft(&s, CITY, 1).await;
    assert_eq!(first.body["other_pending"], json!([2]), "{}", first.body);
    let list = call(&s, "GET", "/api/v1/drafts", Some(CITY), None).await;
    let listed = list
        .body
        .as_array()
        .or_else(|| list.body["items"].as_array());
    let flagged: Vec<&Value> = listed
        .expect("a list")
        .iter()
        .map(|d| &d["other_pending"])
        .collect();
    assert_eq!(flagged, [&json!([2]), &json!([1])], "{}", list.body);

    let approved = act(&s, CITY, 1, "approve", json!({ "comment": "同意" })).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let diff = call(&s, "GET", "/api/v1/drafts/1/diff", Some(CITY), None).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert_eq!(diff.body["identical"], false, "{}", diff.body);
    assert!(
        diff.body["text"]
            .as_str()
            .is_some_and(|t| t.contains("每次处罚扣分")),
        "{}",
        diff.body["text"]
    );
}

/// An answer's version id names its rules for good: after the base rule set changed (so the
/// sector's identity changed too, its own source unchanged), the old id is still accepted and
/// gives the old answer, in the API and in the decision log.
#[tokio::test]
async fn an_answers_version_id_still_names_its_rules_after_the_base_changed() {
    use credit_rules::store::NewRuleSetVersion;
    let workspace = crate::common::shipped();
    let registry = Registry::from_workspace(&workspace).expect("rulesets compile");
    let store = SledStore::open_temporary().expect("temporary store");
    for id in workspace.ids() {
        let (file, _) = workspace.library.get(&id).expect("source");
        store
            .put_ruleset_version(&NewRuleSetVersion {
                ruleset_id: &id,
                source: &file.text,
                author: "seed",
                message: "shipped",
                time: at(START),
            })
            .expect("seeded");
    }
    let clock = Arc::new(ManualClock::new(at(START)));
    let app = App::new(registry, Arc::new(store), tokens(), None).with_clock(clock);
    let s = AppState(Arc::new(app));

    let (old_total, old_id) = evaluate_sample(&s).await;
    let base = call(&s, "GET", "/api/v1/rulesets/city.base", Some(CITY), None).await;
    let base_id = base.body["meta"]["hash"]
        .as_str()
        .expect("hash")
        .to_string();
    let source = base.body["source"].as_str().expect("source");
    let edited = source.replacen("\"2019.2\"", "\"2019.3\"", 1);
    assert_ne!(edited, source);
    let draft = submit(
        &s,
        CITY,
        json!({ "ruleset": "city.base", "source": edited, "base_hash": base_id }),
    )
    .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.body["id"].as_u64().expect("draft id");
    let approved = act(&s, CITY, id, "approve", json!({ "comment": "同意" })).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let (_, new_id) = evaluate_sample(&s).await;
    assert_ne!(
        new_id, old_id,
        "the base changed, so did the sector's version identity"
    );
    for version in [old_id.as_str(), &old_id[..8]] {
        let body = json!({ "ruleset": "water", "as_of": "2024-08-01",
            "records": sample_records(), "version": version });
        let r = call(&s, "POST", "/api/v1/evaluate", Some(EVALUATOR), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.body);
        assert_eq!(r.body["hash"], old_id.as_str(), "{version}");
        assert_eq!(r.body["total"], old_total.as_str(), "{version}");
    }
    let one = format!("/api/v1/rulesets/water/versions/{}", &old_id[..10]);
    let r = call(&s, "GET", &one, Some(EVALUATOR), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version_id"], old_id.as_str());
}
