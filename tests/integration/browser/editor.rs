//! The rule editor of the staff console in real Chromium: a water bureau signs in, opens a
//! new draft from the active version, misspells a record kind and sees the diagnostic at
//! the right line, jumps to it from the list, fixes it, runs the tests, previews the
//! clauses and submits; the city office rejects it with a comment, the bureau submits again,
//! the office approves, and an evaluation then runs on the new version. Then the session
//! expires while the bureau types: the check says so, the text survives the sign-in and is
//! restored. Saves `docs/screenshots/console-editor*.png`.

use super::harness::{Shot, Site, screenshot};
use super::page::{self, Res, click_to_page, field, navigating, wait_for};
use crate::http::{CITY, EVALUATOR, WATER};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// The session cookie of the console.
const COOKIE: &str = "cr_session";

/// The text of the wording changed by the draft, and what is added to it.
const WORDING_END: &str = "每条扣1分，最多扣3分";
const ADDED: &str = "，以水行政主管部门公布的记录为准";

fn water_source() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rulesets/water/water.rules"
    ))
    .expect("the shipped water rule set")
}

/// The console over the shipped rule sets (saved as their first versions, as `serve` does),
/// the test tokens and a clock at 2024-06-01 10:00 Shanghai.
fn console() -> Site {
    Site::start(crate::console::console_state().0)
}

/// Signs in with a role token on the console's sign-in page.
async fn sign_in(site: &Site, token: &str) -> Res<()> {
    let c = site.client();
    c.goto(&site.url("/console/signin")).await?;
    let input = field(c, "访问令牌").await?;
    input.send_keys(token).await?;
    let button = c
        .find(Locator::XPath("//form//button[normalize-space()='登录']"))
        .await?;
    click_to_page(c, button).await
}

/// Opens the authoring page of rule set `id` and waits for the editor.
async fn open_editor(site: &Site, id: &str) -> Res<()> {
    let c = site.client();
    c.goto(&site.url(&format!("/console/rulesets/{id}/draft")))
        .await?;
    wait_for(
        c,
        "the editor",
        "return !!document.querySelector('.cr-editor-ready');",
    )
    .await?;
    Ok(())
}

/// Selects `len` characters of the editor's text, `offset` characters into the first
/// `needle`, with the keyboard focus in the editor (as a click there would).
async fn select_in_editor(c: &Client, needle: &str, offset: usize, len: usize) -> Res<()> {
    let found = c
        .execute(
            "var ta = document.getElementById('source');\
             var i = ta.value.indexOf(arguments[0]);\
             if (i < 0) { return false; }\
             ta.focus(); ta.setSelectionRange(i + arguments[1], i + arguments[1] + arguments[2]);\
             return true;",
            vec![json!(needle), json!(offset), json!(len)],
        )
        .await?;
    if found != Value::Bool(true) {
        return Err(format!("`{needle}` is not in the editor").into());
    }
    Ok(())
}

/// Types into the editor at its selection, as the keyboard does.
async fn type_in_editor(c: &Client, text: &str) -> Res<()> {
    c.find(Locator::Id("source")).await?.send_keys(text).await?;
    Ok(())
}

async fn editor_text(c: &Client) -> Res<String> {
    let value = c
        .execute("return document.getElementById('source').value;", vec![])
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Waits until the check of the current text has answered: its summary names `expect`.
async fn wait_for_summary(c: &Client, expect: &str) -> Res<String> {
    let script = format!(
        "var s = document.querySelector('.cr-editor-summary');\
         return s && s.textContent.indexOf({}) >= 0 && !document.querySelector('.cr-editor[aria-busy]') ? s.textContent : false;",
        json!(expect)
    );
    let value = wait_for(c, &format!("the summary “{expect}”"), &script).await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Takes the keyboard focus out of the editor (no blinking caret in a screenshot).
async fn blur(c: &Client) -> Res<()> {
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await?;
    Ok(())
}

/// Waits until the editor's buttons are enabled again (a call has fully finished) and takes
/// the focus out of the editor, so that a screenshot shows a settled page.
async fn settle(c: &Client) -> Res<()> {
    wait_for(
        c,
        "the editor's buttons",
        "return !document.querySelector('.cr-editor-toolbar button:disabled');",
    )
    .await?;
    blur(c).await
}

/// Submits the authoring form with a message and waits for the next page.
async fn submit_draft(c: &Client, message: &str) -> Res<()> {
    field(c, "修改说明").await?.send_keys(message).await?;
    let button = c
        .find(Locator::XPath(
            "//form//button[normalize-space()='提交审核']",
        ))
        .await?;
    click_to_page(c, button).await
}

/// The API with a bearer token: (status, body).
fn api(site: &Site, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let url = site.url(path);
    let auth = format!("Bearer {token}");
    let response = match body {
        Some(body) => ureq::post(&url)
            .header("authorization", &auth)
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(body),
        None => ureq::get(&url)
            .header("authorization", &auth)
            .config()
            .http_status_as_error(false)
            .build()
            .call(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_json::<Value>()
        .unwrap_or(Value::Null);
    (status, body)
}

/// The pending drafts of the water rule set, newest last.
fn pending_water_drafts(site: &Site) -> Vec<Value> {
    let (status, body) = api(site, "GET", "/api/v1/drafts?status=pending", CITY, None);
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|d| d["ruleset"] == "water")
        .cloned()
        .collect()
}

/// The storage key of the editor's autosave for the water rule set at the active version.
async fn saved_copy(c: &Client) -> Res<Value> {
    Ok(c
        .execute(
            "var ta = document.getElementById('source');\
             var key = 'credit-rules:draft:' + ta.getAttribute('data-ruleset') + ':' + (ta.getAttribute('data-base') || 'new');\
             return window.localStorage.getItem(key);",
            vec![],
        )
        .await?)
}

#[test]
fn a_bureau_writes_a_draft_in_the_editor_and_it_goes_live_after_review() {
    let site = console();
    let source = water_source();
    let (_, active) = api(&site, "GET", "/api/v1/rulesets/water", EVALUATOR, None);
    let old_hash = active["meta"]["hash"].as_str().expect("hash").to_owned();
    site.run(async {
        let c = site.client();
        sign_in(&site, WATER).await?;
        // From the rule set's page, as a person would.
        c.goto(&site.url("/console/rulesets/water")).await?;
        click_to_page(c, page::link(c, "起草新版本").await?).await?;
        wait_for(c, "the editor", "return !!document.querySelector('.cr-editor-ready');").await?;
        assert_eq!(editor_text(c).await?, source, "the draft starts from the active version");
        wait_for_summary(c, "没有发现问题").await?;

        // A misspelled kind: typed over the right one, diagnosed at its line.
        let kind = "kind = 不良行为记录";
        select_in_editor(c, kind, 7, 6).await?;
        type_in_editor(c, "不良行为纪录").await?;
        let summary = wait_for_summary(c, "个错误").await?;
        assert!(!summary.starts_with("发现 0 "), "{summary}");
        let typed = editor_text(c).await?;
        let at = typed.find("不良行为纪录").expect("typed");
        let line = typed[..at].matches('\n').count() + 1;
        let first = c.find(Locator::Css(".cr-diagnostics li .cr-diag")).await?;
        let text = first.text().await?;
        assert!(text.contains("E0201"), "{text}");
        assert!(text.contains(&format!("第 {line} 行")), "line {line}: {text}");
        assert!(text.contains("不良行为记录"), "the help names the right kind: {text}");
        // (Read from the document: the mark may be scrolled out of the editor's view.)
        let marked = c
            .execute(
                "return document.querySelector('.cr-editor-highlight .cr-mark-error').textContent;",
                vec![],
            )
            .await?;
        assert_eq!(marked, "不良行为纪录");
        let gutter = c
            .execute(
                "return document.querySelectorAll('.cr-editor-gutter span')[arguments[0] - 1].className;",
                vec![json!(line)],
            )
            .await?;
        assert_eq!(gutter, "cr-line-error");
        // Clicking the diagnostic selects the misspelled text in the editor.
        first.click().await?;
        let selected = c
            .execute(
                "var ta = document.getElementById('source');\
                 return [document.activeElement === ta, ta.value.slice(ta.selectionStart, ta.selectionEnd)];",
                vec![],
            )
            .await?;
        assert_eq!(selected, json!([true, "不良行为纪录"]));
        blur(c).await?;
        screenshot(c, "console-editor", Shot::FullPage).await?;

        // Fixed by typing over the selection.
        first.click().await?;
        type_in_editor(c, "不良行为记录").await?;
        wait_for_summary(c, "没有发现问题").await?;

        // The change of this draft: a longer wording.
        select_in_editor(c, WORDING_END, WORDING_END.chars().count(), 0).await?;
        type_in_editor(c, ADDED).await?;
        wait_for_summary(c, "没有发现问题").await?;

        // Tests: every test block passes, with expected and actual.
        c.find(Locator::XPath("//button[normalize-space()='运行测试']"))
            .await?
            .click()
            .await?;
        let tests = wait_for(
            c,
            "the test results",
            "var s = document.querySelector('.cr-tests-summary'); return s ? s.textContent : false;",
        )
        .await?;
        let tests = tests.as_str().unwrap_or_default().to_owned();
        assert!(tests.contains("0 个未通过"), "{tests}");
        let rows = c.find_all(Locator::Css(".cr-test-checks tbody tr")).await?;
        assert!(!rows.is_empty());
        let first_row = rows[0].text().await?;
        assert!(first_row.contains("符合"), "{first_row}");
        settle(c).await?;
        c.execute(
            "document.querySelector('.cr-editor-tests').scrollIntoView({ block: 'start' });",
            vec![],
        )
        .await?;
        screenshot(c, "console-editor-tests", Shot::Window).await?;

        // The preview shows the changed wording as the tender document will.
        c.find(Locator::XPath("//button[normalize-space()='预览招标文件条款']"))
            .await?
            .click()
            .await?;
        let preview = wait_for(
            c,
            "the preview",
            "var p = document.querySelector('.cr-editor-preview-body article'); return p ? p.textContent : false;",
        )
        .await?;
        let preview = preview.as_str().unwrap_or_default();
        assert!(preview.contains(&format!("{WORDING_END}{ADDED}")), "{preview}");
        settle(c).await?;
        screenshot(c, "console-editor-preview", Shot::FullPage).await?;
        assert!(saved_copy(c).await?.is_string(), "every change is saved in the browser");

        // Submitted: the console shows the draft; the browser's copy is gone.
        submit_draft(c, "不良行为扣分表述补充记录来源").await?;
        let drafts = pending_water_drafts(&site);
        assert_eq!(drafts.len(), 1, "{drafts:?}");
        let first_id = drafts[0]["id"].as_u64().expect("draft id");
        assert!(
            page::path_and_query(c).await?.starts_with(&format!("/console/drafts/{first_id}")),
            "{}",
            c.current_url().await?
        );
        open_editor(&site, "water").await?;
        assert_eq!(saved_copy(c).await?, Value::Null, "the submitted text is forgotten");
        assert_eq!(editor_text(c).await?, source);

        // The city office rejects it with a comment.
        let (status, body) = api(
            &site,
            "POST",
            &format!("/api/v1/drafts/{first_id}/reject"),
            CITY,
            Some(json!({ "comment": "请同时说明记录的公布渠道" })),
        );
        assert_eq!(status, 200, "{body}");

        // The bureau writes it again, with the reviewer's point, and submits.
        let second = format!("{ADDED}（全国水利建设市场监管服务平台）");
        select_in_editor(c, WORDING_END, WORDING_END.chars().count(), 0).await?;
        type_in_editor(c, &second).await?;
        wait_for_summary(c, "没有发现问题").await?;
        submit_draft(c, "按审核意见补充公布渠道").await?;
        let drafts = pending_water_drafts(&site);
        assert_eq!(drafts.len(), 1, "{drafts:?}");
        let second_id = drafts[0]["id"].as_u64().expect("draft id");
        assert_ne!(second_id, first_id);

        // Approved, it is the version evaluations run on.
        crate::http::seed_bidder(site.state()).await;
        let (status, body) = api(
            &site,
            "POST",
            &format!("/api/v1/drafts/{second_id}/approve"),
            CITY,
            Some(json!({ "comment": "同意" })),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["draft"]["status"], "active", "{body}");
        let (status, answer) = api(
            &site,
            "POST",
            "/api/v1/evaluate",
            EVALUATOR,
            Some(json!({ "ruleset": "water", "as_of": "2026-11-30", "uscc": crate::http::BIDDER })),
        );
        assert_eq!(status, 200, "{answer}");
        let (_, active) = api(&site, "GET", "/api/v1/rulesets/water", EVALUATOR, None);
        assert_eq!(answer["hash"], active["meta"]["hash"], "{answer}");
        assert_ne!(answer["hash"], old_hash.as_str(), "the evaluation runs on the new version");
        let wording = answer["scores"]
            .as_array()
            .expect("scores")
            .iter()
            .find(|s| s["clause"] == "不良行为扣分")
            .map(|s| s["wording"].as_str().unwrap_or_default().to_owned())
            .expect("the clause is scored");
        assert!(wording.ends_with(&format!("{WORDING_END}{second}。")), "{wording}");
        Ok(())
    });
}

#[test]
fn an_expired_session_keeps_the_typed_text() {
    let site = console();
    site.run(async {
        let c = site.client();
        sign_in(&site, WATER).await?;
        open_editor(&site, "water").await?;
        wait_for_summary(c, "没有发现问题").await?;

        // The session ends (the cookie is gone) while the bureau types.
        c.delete_cookie(COOKIE).await?;
        select_in_editor(c, WORDING_END, WORDING_END.chars().count(), 0).await?;
        type_in_editor(c, ADDED).await?;
        let warning = wait_for(
            c,
            "the expired-session message",
            "var s = document.querySelector('.cr-editor-status-warning'); return s ? s.textContent : false;",
        )
        .await?;
        assert!(
            warning.as_str().unwrap_or_default().contains("重新登录"),
            "{warning}"
        );
        let typed = editor_text(c).await?;
        assert!(typed.contains(ADDED));

        // A reload goes to the sign-in page; signed in again, the text comes back.
        navigating(c, async {
            c.refresh().await?;
            Ok(())
        })
        .await?;
        assert!(
            page::path_and_query(c).await?.starts_with("/console/signin"),
            "{}",
            c.current_url().await?
        );
        sign_in(&site, WATER).await?;
        // A fixed save time, so that the screenshot's notice reads the same on every run.
        c.execute(
            "var k = Object.keys(localStorage).filter(function (k) { return k.indexOf('credit-rules:draft:water:') === 0; })[0];\
             var v = JSON.parse(localStorage.getItem(k)); v.saved = new Date(2026, 10, 30, 9, 30).getTime();\
             localStorage.setItem(k, JSON.stringify(v));",
            vec![],
        )
        .await?;
        open_editor(&site, "water").await?;
        assert_eq!(editor_text(c).await?, typed);
        let notice = page::text_of(c, ".cr-editor-notice").await?;
        assert!(notice.contains("已恢复"), "{notice}");
        assert!(notice.contains("2026-11-30 09:30"), "{notice}");
        wait_for_summary(c, "没有发现问题").await?;
        blur(c).await?;
        screenshot(c, "console-editor-restored", Shot::Window).await?;

        // Discarding it brings back the active version.
        c.find(Locator::XPath("//button[normalize-space()='放弃这些修改，恢复原始内容']"))
            .await?
            .click()
            .await?;
        assert_eq!(editor_text(c).await?, water_source());
        assert_eq!(saved_copy(c).await?, Value::Null);
        Ok(())
    });
}
