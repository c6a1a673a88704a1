//! The staff console in real Chromium: a bureau signs in and submits a draft from the
//! authoring form; another sector's bureau cannot open it; the city office finds it in the
//! queue with its side-by-side diff and the impact chart, is refused without the CSRF token,
//! rejects it with a comment; the bureau drafts again; the office approves; an evaluation
//! then applies the new version, and a tender's bidders and consortium are ranked with it
//! (with the tender's project type and budget, shown on the result).
//! Saves `docs/screenshots/console-*.png` (fixed clock, fixed data, fixed window).

use super::harness::{Shot, Site, screenshot};
use super::page::{Res, click_to_page, field, type_into, wait_for};
use crate::http::{BIDDER, CITY, TRANSPORT, WATER};
use fantoccini::{Client, Locator};

async fn button(c: &Client, text: &str) -> Res<fantoccini::elements::Element> {
    let xpath = format!("//button[normalize-space()='{text}']");
    Ok(c.find(Locator::XPath(&xpath)).await?)
}

async fn sign_in(site: &Site, token: &str) -> Res<()> {
    let c = site.client();
    c.goto(&site.url("/console/signin")).await?;
    type_into(c, "访问令牌", token).await?;
    click_to_page(c, button(c, "登录").await?).await?;
    assert_eq!(c.current_url().await?.path(), "/console");
    Ok(())
}

async fn sign_out(site: &Site) -> Res<()> {
    let c = site.client();
    click_to_page(c, button(c, "退出登录").await?).await?;
    assert_eq!(c.current_url().await?.path(), "/console/signin");
    Ok(())
}

async fn page_text(c: &Client) -> Res<String> {
    Ok(c.find(Locator::Css("main")).await?.text().await?)
}

/// Submits the authoring form of `water` with the stricter penalty and a message.
async fn submit_stricter_water(site: &Site, message: &str) -> Res<()> {
    let c = site.client();
    c.goto(&site.url("/console/rulesets/water/draft")).await?;
    let source = site
        .state()
        .registry
        .source("water")
        .expect("water")
        .text
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    c.execute(
        "document.getElementById('source').value = arguments[0];",
        vec![serde_json::Value::String(source)],
    )
    .await?;
    type_into(c, "修改说明", message).await?;
    click_to_page(c, button(c, "提交审核").await?).await?;
    Ok(())
}

async fn decide(site: &Site, draft: u64, comment: &str, decision: &str) -> Res<()> {
    let c = site.client();
    c.goto(&site.url(&format!("/console/drafts/{draft}")))
        .await?;
    type_into(c, "意见（必填，批准和驳回都会记入版本历史）", comment).await?;
    click_to_page(c, button(c, decision).await?).await?;
    Ok(())
}

#[test]
fn staff_review_a_draft_and_evaluate_with_the_approved_version() {
    let (state, _clock) = crate::console::console_state();
    let records: Vec<credit_rules::record::CreditRecord> =
        serde_json::from_value(crate::http::sample_records()).expect("records");
    state.store.put_records(&records).expect("stored");
    let demo = credit_rules::demo::DemoConfig {
        seed: 2019,
        entities: 60,
        records_per_entity: (0, 12),
    };
    let demo_entities: Vec<_> = credit_rules::demo::entities(demo).collect();
    let codes: Vec<String> = demo_entities
        .iter()
        .map(|(uscc, _, _)| uscc.to_string())
        .collect();
    let demo: Vec<_> = demo_entities
        .into_iter()
        .flat_map(|(_, _, records)| records)
        .collect();
    state
        .store
        .put_records(&demo)
        .expect("demo entities stored");
    // A row the feed sent that intake refused, at a fixed time, for the intake status.
    let bad_row = serde_json::json!({"xxbh": "XZCF-2024-0815", "cf_xdr_mc": "某建设有限公司", "cf_xdr_shxym": "914201158544006810"});
    let refused =
        credit_rules::import::ingest_values(state.store.as_ref(), std::slice::from_ref(&bad_row))
            .expect("ingested");
    let refused_at = chrono::DateTime::parse_from_rfc3339("2024-06-01T01:30:00Z")
        .expect("time")
        .to_utc();
    credit_rules::import::rejections::record(
        state.store.as_ref(),
        credit_rules::import::rejections::of_batch(
            "sync provincial, page after cursor 1200",
            &[bad_row],
            &refused.rejected,
            refused_at,
        ),
    )
    .expect("kept");
    let site = Site::start(state);
    site.run(async {
        let c = site.client();
        c.goto(&site.url("/console")).await?;
        assert_eq!(c.current_url().await?.path(), "/console/signin", "sign in first");
        screenshot(c, "console-signin", Shot::Window).await?;

        sign_in(&site, WATER).await?;
        screenshot(c, "console-home", Shot::Window).await?;
        c.goto(&site.url("/console/rulesets/water/draft")).await?;
        field(c, "规则文本").await?;
        // The editor built, its keywords highlighted and its first check answered: the
        // picture is of a still page.
        wait_for(
            c,
            "the editor's keywords and first check",
            "return !!document.querySelector('.cr-editor-ready') \
             && !!document.querySelector('.cr-editor-highlight .cr-tok-keyword') \
             && document.querySelector('.cr-editor-summary').textContent.length > 0 \
             && !document.querySelector('.cr-editor[aria-busy]');",
        )
        .await?;
        screenshot(c, "console-author", Shot::Window).await?;
        submit_stricter_water(&site, "处罚扣分由 2 分调为 3 分").await?;
        assert_eq!(c.current_url().await?.path(), "/console/drafts/1");
        sign_out(&site).await?;

        sign_in(&site, TRANSPORT).await?;
        c.goto(&site.url("/console/drafts/1")).await?;
        assert!(page_text(c).await?.contains("没有找到"), "another sector's draft is hidden");
        sign_out(&site).await?;

        sign_in(&site, CITY).await?;
        c.goto(&site.url("/console/drafts")).await?;
        assert!(page_text(c).await?.contains("待审核（1）"));
        screenshot(c, "console-drafts", Shot::Window).await?;
        c.goto(&site.url("/console/drafts/1")).await?;
        let text = page_text(c).await?;
        assert!(text.contains("每次处罚扣分") && text.contains("影响分析"), "{text}");
        let bars = c.find_all(Locator::Css("svg.chart rect")).await?;
        assert_eq!(bars.len(), 11, "one bar per histogram bucket");
        let changed = c.find(Locator::Css("td.ins code")).await?.text().await?;
        assert!(changed.contains('3'), "the new value beside the old: {changed}");
        screenshot(c, "console-draft", Shot::FullPage).await?;

        // Without the CSRF token the approval is refused and nothing changes.
        type_into(c, "意见（必填，批准和驳回都会记入版本历史）", "同意").await?;
        c.execute("document.querySelector('form.decision-form input[name=_csrf]').remove();", vec![])
            .await?;
        click_to_page(c, button(c, "批准").await?).await?;
        assert!(page_text(c).await?.contains("安全校验码"), "CSRF refusal");
        let before = site.state().registry.head_hash("water");

        decide(&site, 1, "扣分依据不足，请补充", "驳回").await?;
        assert!(page_text(c).await?.contains("已驳回"));
        assert_eq!(site.state().registry.head_hash("water"), before);
        sign_out(&site).await?;

        sign_in(&site, WATER).await?;
        c.goto(&site.url("/console/drafts/1")).await?;
        assert!(page_text(c).await?.contains("扣分依据不足，请补充"), "the bureau reads the comment");
        submit_stricter_water(&site, "依据水建设〔2019〕307号调整").await?;
        assert_eq!(c.current_url().await?.path(), "/console/drafts/2");
        sign_out(&site).await?;

        sign_in(&site, CITY).await?;
        decide(&site, 2, "同意", "批准").await?;
        assert!(page_text(c).await?.contains("已生效"));
        let active = site.state().registry.head_hash("water").expect("active");
        assert_ne!(Some(active.clone()), before, "the new version is live");

        c.goto(&site.url("/console/evaluate")).await?;
        c.execute(
            "document.getElementById('ruleset').value = 'water'; document.getElementById('as_of').value = '2024-08-01';",
            vec![],
        )
        .await?;
        type_into(c, "统一社会信用代码", BIDDER).await?;
        click_to_page(c, button(c, "评价").await?).await?;
        let text = page_text(c).await?;
        assert!(text.contains("评价结果") && text.contains(&active[..12]), "evaluated with the new version:\n{text}");
        screenshot(c, "console-evaluate", Shot::FullPage).await?;

        // A tender: two bidders on their own and a consortium (lead first), ranked.
        c.goto(&site.url("/console/evaluate")).await?;
        c.execute(
            "document.getElementById('t_ruleset').value = 'water'; document.getElementById('t_as_of').value = '2024-08-01';",
            vec![],
        )
        .await?;
        let bidders = format!("青山水利科技有限公司：{BIDDER}\n{}\n{}", codes[0], codes[1]);
        type_into(c, "单独投标的投标人（每行一个统一社会信用代码）", &bidders).await?;
        type_into(c, "联合体（每行一个，牵头人在前）", &format!("{}、{}", codes[2], codes[3])).await?;
        type_into(c, "招标项目类型（可选）", "施工").await?;
        type_into(c, "招标项目预算（元，可选）", "5000000").await?;
        click_to_page(c, button(c, "评价并排名").await?).await?;
        let text = page_text(c).await?;
        assert!(text.contains("排名结果") && text.contains(&active[..12]), "ranked with the new version:\n{text}");
        assert!(
            text.contains("项目信息：项目类型：施工；项目预算（元）：5000000"),
            "the tender context used is shown:\n{text}"
        );
        let kept = field(c, "招标项目预算（元，可选）").await?.prop("value").await?;
        assert_eq!(kept.as_deref(), Some("5000000"), "the typed budget is kept");
        assert!(text.contains("联合体1") && text.contains("牵头人"), "{text}");
        let rows = c.find_all(Locator::Css("table.ranking tbody tr")).await?;
        assert_eq!(rows.len(), 4, "every bid in the ranking");
        let first_rank = c.find(Locator::Css("table.ranking tbody tr td.rank")).await?.text().await?;
        assert_eq!(first_rank, "1", "ranked bids first");
        c.find(Locator::Css("details.member summary")).await?.click().await?;
        let opened = c.find(Locator::Css("details.member[open]")).await?.text().await?;
        assert!(opened.contains("说明"), "a member's decision with its explanation: {opened}");
        screenshot(c, "console-tender", Shot::FullPage).await?;

        c.goto(&site.url("/console/rulesets")).await?;
        screenshot(c, "console-rulesets", Shot::Window).await?;
        c.goto(&site.url("/console/rulesets/water")).await?;
        screenshot(c, "console-ruleset", Shot::Window).await?;
        c.goto(&site.url("/console/ops")).await?;
        let text = page_text(c).await?;
        assert!(text.contains("最近被拒收的数据") && text.contains("XZCF-2024-0815"), "{text}");
        screenshot(c, "console-ops", Shot::FullPage).await?;
        c.goto(&site.url("/console/ops/tokens")).await?;
        assert!(page_text(c).await?.contains("市交通运输局"));
        screenshot(c, "console-tokens", Shot::Window).await?;
        Ok(())
    });
}
