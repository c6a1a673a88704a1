//! End-to-end tests of the public site (信用信息公示) in real headless Chromium,
//! driven through WebDriver by the harness in `browser/harness.rs`: the real
//! server on a loopback socket over a temporary store seeded with demo
//! entities and crafted records. A person's steps: search by name and by
//! USCC, filter by kind, page while records arrive, follow an entity and a
//! record, download the CSV, pick a day, read hostile text safely, and do it
//! all by keyboard. The tests save the README's screenshots under
//! `docs/screenshots/` (fixed `as_of` in every URL, fixed window size).

mod console;
mod editor;
mod harness;
mod page;
mod pixels;

use chrono::{Duration, FixedOffset, NaiveDate, Utc};
use credit_rules::demo::DemoConfig;
use credit_rules::http::{App, AppState};
use credit_rules::record::{CreditRecord, RecordKind, Uscc};
use credit_rules::registry::Registry;
use credit_rules::store::{Records, SledStore};
use fantoccini::Locator;
use fantoccini::key::Key;
use harness::{Shot, Site, screenshot};
use page::{
    Row, click_to_page, field, focused, has_link, link, press, result_rows, text_of, type_into,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The day of every page that is screenshotted: fixed, so that the pictures
/// do not change from day to day.
const AS_OF: &str = "2026-11-30";

/// Demo entities loaded besides the crafted records.
const DEMO_ENTITIES: usize = 60;

/// Authority, legal basis of the crafted records.
const AUTHORITY: &str = "武汉市公共资源交易监督管理局";
const BASIS: &str = "《中华人民共和国招标投标法实施条例》第六十七条";

/// Today in Asia/Shanghai, as the site counts days.
fn today() -> NaiveDate {
    let shanghai = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    Utc::now().with_timezone(&shanghai).date_naive()
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// A valid USCC for crafted entity number `n` (taken from the demo
/// generator under a seed of its own).
fn uscc(n: usize) -> Uscc {
    let cfg = DemoConfig {
        seed: 90_210,
        entities: n + 1,
        records_per_entity: (0, 0),
    };
    credit_rules::demo::entity(&cfg, n).0
}

/// A crafted public record: disclosed until removed, with authority,
/// document number and legal basis.
fn record(id: &str, uscc: &Uscc, name: &str, kind: RecordKind, decided: NaiveDate) -> CreditRecord {
    let mut r = CreditRecord::new(id, uscc.clone(), kind, decided);
    r.entity_name = Some(name.to_owned());
    r.authority = Some(AUTHORITY.to_owned());
    r.document_no = Some(format!("武公管罚〔2026〕{id}号"));
    r.legal_basis = Some(BASIS.to_owned());
    r
}

/// An application over a fresh temporary store holding the demo entities
/// (seed 2019, as `serve` loads them) and `crafted`.
fn site_with(crafted: &[CreditRecord]) -> Site {
    Site::start(AppState(Arc::new(app_with(crafted))))
}

/// The service the site tests serve: the demo entities plus `crafted`, the shipped rule sets.
fn app_with(crafted: &[CreditRecord]) -> App {
    let store = SledStore::open_temporary().expect("temporary store");
    let cfg = DemoConfig {
        seed: 2019,
        entities: DEMO_ENTITIES,
        records_per_entity: (0, 12),
    };
    let mut records: Vec<_> = credit_rules::demo::entities(cfg)
        .flat_map(|(_, _, records)| records)
        .collect();
    records.extend_from_slice(crafted);
    let stored = store.put_records(&records).expect("records stored");
    assert!(stored.rejected.is_empty(), "{:?}", stored.rejected);
    let registry =
        Registry::from_workspace(&crate::common::shipped()).expect("shipped rule sets compile");
    App::new(registry, Arc::new(store), crate::http::tokens(), None)
}

/// Pushes records through the intake API, as the provincial platform does.
fn intake(site: &Site, items: serde_json::Value) {
    let response = ureq::post(site.url("/api/v1/records"))
        .header("authorization", format!("Bearer {}", crate::http::INTAKE))
        .send_json(json!({ "items": items }))
        .expect("intake answers")
        .body_mut()
        .read_json::<serde_json::Value>()
        .expect("intake JSON");
    assert_eq!(
        response["rejected"].as_array().map(Vec::len),
        Some(0),
        "{response}"
    );
}

/// The USCC and record id of each row: the id from the row's record link,
/// or, where the list links no record, from the crafted document number
/// (`武公管罚〔2026〕{id}号`).
fn keys(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let id = row.record_id().unwrap_or_else(|| {
                let doc = row.cell("决定文书号");
                doc.trim_start_matches("武公管罚〔2026〕")
                    .trim_end_matches('号')
                    .to_owned()
            });
            format!("{}/{id}", row.cell("统一社会信用代码"))
        })
        .collect()
}

/// Clicks the search form's submit button (查询) and waits for the page.
async fn submit(site: &Site) -> page::Res<()> {
    let c = site.client();
    let button = c
        .find(Locator::XPath("//form//button[normalize-space()='查询']"))
        .await?;
    click_to_page(c, button).await
}

#[test]
fn a_visitor_searches_filters_downloads_and_follows_an_entity_to_a_record() {
    let road = uscc(1);
    let garden = uscc(2);
    let road_name = "武汉示例路桥建设有限公司";
    let garden_name = "武汉示例园林绿化有限公司";
    let crafted = [
        record(
            "SL-1",
            &road,
            road_name,
            RecordKind::Blacklist,
            day("2026-09-01"),
        ),
        record(
            "SL-2",
            &road,
            road_name,
            RecordKind::DishonestDebtor,
            day("2026-08-15"),
        ),
        record(
            "SL-3",
            &road,
            road_name,
            RecordKind::AdminPenalty,
            day("2026-07-01"),
        ),
        record(
            "SY-1",
            &garden,
            garden_name,
            RecordKind::DishonestDebtor,
            day("2026-10-10"),
        ),
    ];
    let doc = |id: &str| format!("武公管罚〔2026〕{id}号");
    let site = site_with(&crafted);
    site.run(async {
        let c = site.client();

        // Home: the form and today's list (here: the fixed day).
        c.goto(&site.url(&format!("/?as_of={AS_OF}"))).await?;
        assert_eq!(text_of(c, "h1").await?, "失信信息公示查询");
        assert!(
            !result_rows(c).await?.is_empty(),
            "the home page lists records"
        );
        screenshot(c, "site-home", Shot::Window).await?;

        // By name: type into the labelled field, press Enter.
        let q = type_into(c, "主体名称或统一社会信用代码", "示例路桥").await?;
        page::navigating(c, async {
            q.send_keys(&char::from(Key::Enter).to_string()).await?;
            Ok(())
        })
        .await?;
        let rows = result_rows(c).await?;
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows.iter().all(|r| r.cell("主体名称") == road_name),
            "{rows:?}"
        );
        assert_eq!(
            rows.iter()
                .map(|r| r.cell("决定文书号"))
                .collect::<Vec<_>>(),
            [doc("SL-1"), doc("SL-2"), doc("SL-3")],
            "newest decision first"
        );
        assert!(
            page::path_and_query(c)
                .await?
                .contains(&format!("as_of={AS_OF}"))
        );
        screenshot(c, "site-results", Shot::FullPage).await?;

        // By USCC.
        type_into(c, "主体名称或统一社会信用代码", garden.as_str()).await?;
        submit(&site).await?;
        let rows = result_rows(c).await?;
        assert_eq!(keys(&rows).len(), 1, "{rows:?}");
        assert_eq!(rows[0].cell("统一社会信用代码"), garden.as_str());
        assert_eq!(rows[0].cell("主体名称"), garden_name);

        // A kind filter, chosen by its visible label.
        type_into(c, "主体名称或统一社会信用代码", "示例").await?;
        field(c, "失信类别")
            .await?
            .select_by_label("失信被执行人")
            .await?;
        submit(&site).await?;
        let rows = result_rows(c).await?;
        assert!(
            rows.iter().all(|r| r.cell("失信类别") == "失信被执行人"),
            "{rows:?}"
        );
        assert_eq!(
            keys(&rows),
            [format!("{garden}/SY-1"), format!("{road}/SL-2")],
            "{rows:?}"
        );
        assert!(
            rows.iter().all(|r| r.record_id().is_some()),
            "every row links its record: {rows:?}"
        );
        let docs: Vec<&str> = rows.iter().map(|r| r.cell("决定文书号")).collect();
        assert_eq!(docs, [doc("SY-1"), doc("SL-2")], "{rows:?}");

        // The CSV of this search: the link's target, fetched as a download.
        let href = link(c, "下载本次查询结果").await?.attr("href").await?;
        let href = href.ok_or("the download link has no href")?;
        assert!(href.contains("kind=") && href.contains("q="), "{href}");
        let csv = site.fetch(&site.url(&href));
        assert_eq!(csv.status, 200);
        assert!(
            csv.content_type.starts_with("text/csv"),
            "{}",
            csv.content_type
        );
        assert!(
            csv.content_disposition.contains("attachment"),
            "{}",
            csv.content_disposition
        );
        assert!(
            csv.body.starts_with(b"\xEF\xBB\xBF"),
            "UTF-8 byte-order mark"
        );
        let text = String::from_utf8(csv.body[3..].to_vec())?;
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(
            lines[0],
            "主体名称,统一社会信用代码,失信类别,认定机关,决定文书号,认定日期,公示截止日期,法律依据"
        );
        assert_eq!(lines.len() - 1, rows.len(), "{text}");
        for (line, row) in lines[1..].iter().zip(&rows) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], row.cell("主体名称"));
            assert_eq!(cells[1], row.cell("统一社会信用代码"));
            assert_eq!(cells[2], row.cell("失信类别"));
            assert_eq!(cells[4], row.cell("决定文书号"));
            assert_eq!(cells[5], row.cell("认定日期"));
            assert_eq!(cells[7], BASIS);
        }

        // Click through to the entity: its public records grouped by kind.
        let entity_link = c
            .find(Locator::XPath(&format!(
                "//main//table//a[normalize-space()='{road_name}']"
            )))
            .await?;
        click_to_page(c, entity_link).await?;
        let here = page::path_and_query(c).await?;
        assert!(here.starts_with(&format!("/entity/{road}")), "{here}");
        assert!(
            here.contains(&format!("as_of={AS_OF}")),
            "the day is kept: {here}"
        );
        assert_eq!(text_of(c, "h1").await?, road_name);
        let groups: Vec<String> = {
            let mut out = Vec::new();
            for h in c.find_all(Locator::Css("main h2")).await? {
                out.push(h.text().await?);
            }
            out
        };
        for label in ["黑名单（1 条）", "失信被执行人（1 条）", "行政处罚（1 条）"]
        {
            assert!(groups.iter().any(|g| g == label), "{label} in {groups:?}");
        }
        screenshot(c, "site-entity", Shot::FullPage).await?;

        // And to one record: every public field and the basis of publication.
        click_to_page(c, link(c, &doc("SL-1")).await?).await?;
        let here = page::path_and_query(c).await?;
        assert!(here.starts_with(&format!("/record/{road}/SL-1")), "{here}");
        let fields = c
            .execute(
                "return Object.fromEntries(Array.from(document.querySelectorAll('main dl dt'))\
                 .map(dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]));",
                vec![],
            )
            .await?;
        assert_eq!(fields["主体名称"], road_name, "{fields}");
        assert_eq!(fields["统一社会信用代码"], road.as_str(), "{fields}");
        assert_eq!(fields["失信类别"], "黑名单", "{fields}");
        assert_eq!(fields["认定机关"], AUTHORITY, "{fields}");
        assert_eq!(fields["决定文书号"], doc("SL-1"), "{fields}");
        assert_eq!(fields["认定日期"], "2026-09-01", "{fields}");
        assert_eq!(fields["法律依据"], BASIS, "{fields}");
        assert!(text_of(c, "main").await?.contains("公示依据"));
        screenshot(c, "site-record", Shot::FullPage).await?;

        // Error pages, in Chinese, in the site's layout.
        let bad = "/?as_of=2023-02-30";
        assert_eq!(site.fetch(&site.url(bad)).status, 400);
        c.goto(&site.url(bad)).await?;
        let alert = text_of(c, "[role=alert]").await?;
        assert!(
            alert.contains("as_of") && alert.contains("2023-02-30"),
            "{alert}"
        );
        screenshot(c, "site-error-400", Shot::FullPage).await?;
        assert_eq!(site.fetch(&site.url("/no-such-page")).status, 404);
        c.goto(&site.url("/no-such-page")).await?;
        assert!(text_of(c, "[role=alert]").await?.contains("页面不存在"));
        assert!(has_link(c, "返回公示查询首页").await?);
        screenshot(c, "site-error-404", Shot::FullPage).await?;
        Ok(())
    });
}

#[test]
fn paging_stays_correct_while_records_arrive_between_pages() {
    // 25 entities named 分页测试…, one record each, decided on consecutive days.
    let name = |n: usize| format!("武汉分页测试{n:02}建材有限公司");
    let decided = |n: usize| day("2026-01-01") + Duration::days(n as i64 * 3);
    let crafted: Vec<CreditRecord> = (0..25)
        .map(|n| {
            record(
                &format!("FY-{n:02}"),
                &uscc(100 + n),
                &name(n),
                RecordKind::Blacklist,
                decided(n),
            )
        })
        .collect();
    let originals: BTreeSet<String> = crafted
        .iter()
        .map(|r| format!("{}/{}", r.uscc, r.id))
        .collect();
    let site = site_with(&crafted);
    site.run(async {
        let c = site.client();
        c.goto(&site.url(&format!("/?q=分页测试&as_of={AS_OF}&limit=10")))
            .await?;
        let mut seen: Vec<Row> = result_rows(c).await?;
        assert_eq!(seen.len(), 10);
        assert_eq!(seen[0].cell("主体名称"), name(24), "newest first");

        // Between page 1 and page 2: a record newer than all (through the
        // store) and one in the part not yet seen (through the intake API).
        let newest = record(
            "FY-NEW",
            &uscc(200),
            &name(98),
            RecordKind::Blacklist,
            day("2026-06-01"),
        );
        site.state().store.put_records(&[newest]).expect("stored");
        let middle = record(
            "FY-MID",
            &uscc(201),
            &name(99),
            RecordKind::Blacklist,
            decided(5) + Duration::days(1),
        );
        intake(&site, json!([serde_json::to_value(&middle)?]));

        let mut pages = 1;
        while has_link(c, "下一页").await? {
            click_to_page(c, link(c, "下一页").await?).await?;
            pages += 1;
            if pages == 2 {
                screenshot(c, "site-results-page2", Shot::FullPage).await?;
            }
            seen.extend(result_rows(c).await?);
            assert!(pages <= 5, "the pager does not end");
        }
        assert!(pages >= 3, "25 records at 10 a page: {pages} pages");
        let keys = keys(&seen);
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "a row came twice: {keys:?}");
        for key in &originals {
            assert!(keys.contains(key), "{key} was skipped: {keys:?}");
        }
        assert!(
            keys.contains(&format!("{}/FY-MID", uscc(201))),
            "a record that arrived in the part not yet seen is listed: {keys:?}"
        );
        Ok(())
    });
}

/// Picks a day in the search form's date field (typed as a person would),
/// submits, and returns the names listed.
async fn names_on(site: &Site, date: NaiveDate) -> page::Res<Vec<String>> {
    let c = site.client();
    let picker = field(c, "公示日期").await?;
    c.execute(
        "arguments[0].value = ''; arguments[0].focus();",
        vec![serde_json::to_value(&picker)?],
    )
    .await?;
    page::type_date(c, date).await?;
    let value = picker.prop("value").await?.unwrap_or_default();
    assert_eq!(value, date.to_string(), "the date field took the typed day");
    submit(site).await?;
    let here = page::path_and_query(c).await?;
    assert!(here.contains(&format!("as_of={date}")), "{here}");
    let rows = result_rows(c).await?;
    Ok(rows.iter().map(|r| r.cell("主体名称").to_owned()).collect())
}

#[test]
fn the_day_picker_shows_a_record_until_its_end_and_never_after_a_repair() {
    let today = today();
    let ends = today + Duration::days(20);
    let mut ending = record(
        "DAY-END",
        &uscc(300),
        "武汉日期测试期满有限公司",
        RecordKind::Blacklist,
        today - Duration::days(100),
    );
    ending.disclosure_until = Some(ends);
    let repaired = record(
        "DAY-FIX",
        &uscc(301),
        "武汉日期测试修复有限公司",
        RecordKind::DishonestDebtor,
        today - Duration::days(400),
    );
    let site = site_with(&[ending, repaired]);
    site.run(async {
        let c = site.client();
        c.goto(&site.url("/?q=日期测试")).await?;
        let all = names_on(&site, today).await?;
        assert!(
            all.iter().any(|n| n == "武汉日期测试修复有限公司"),
            "{all:?}"
        );
        assert!(
            all.iter().any(|n| n == "武汉日期测试期满有限公司"),
            "{all:?}"
        );
        // The disclosure period ends on `ends`: listed that day, not the next.
        assert!(
            names_on(&site, ends)
                .await?
                .iter()
                .any(|n| n == "武汉日期测试期满有限公司")
        );
        assert!(
            !names_on(&site, ends + Duration::days(1))
                .await?
                .iter()
                .any(|n| n == "武汉日期测试期满有限公司")
        );

        // A repair dated ten days ago, through the intake API: from now on
        // the record is shown for no day at all, before or after the repair.
        let repair_day = today - Duration::days(10);
        intake(
            &site,
            json!([{
                "xxbh": "DAY-FIX", "事件": "信用修复", "日期": repair_day.to_string(),
                "机关": "武汉市中级人民法院", "说明": "已履行"
            }]),
        );
        let stored = site
            .state()
            .store
            .record("DAY-FIX")
            .expect("store")
            .expect("record");
        assert_eq!(stored.repaired_on, Some(repair_day));
        for date in [
            repair_day - Duration::days(30),
            repair_day - Duration::days(1),
            repair_day,
            today,
        ] {
            let names = names_on(&site, date).await?;
            assert!(
                !names.iter().any(|n| n == "武汉日期测试修复有限公司"),
                "shown on {date}: {names:?}"
            );
        }
        // Nor on its entity or record page for a day before the repair.
        let before = repair_day - Duration::days(1);
        let entity = site.fetch(&site.url(&format!("/entity/{}?as_of={before}", uscc(301))));
        assert_eq!(entity.status, 404);
        let record =
            site.fetch(&site.url(&format!("/record/{}/DAY-FIX?as_of={before}", uscc(301))));
        assert_eq!(record.status, 404);
        Ok(())
    });
}

#[test]
fn hostile_record_text_is_shown_literally_and_never_runs() {
    let hostile = "示例<script>window.pwned=1;alert(1)</script>\"'&<img src=x onerror=alert(2)>\u{202E}右至左\u{200B}零宽公司";
    let mut r = record(
        "XSS-1",
        &uscc(400),
        hostile,
        RecordKind::Blacklist,
        day("2026-05-05"),
    );
    r.description = Some("<b>粗体</b><iframe src=\"/\"></iframe>".to_owned());
    r.document_no = Some("武<script>alert(3)</script>罚〔2026〕1号".to_owned());
    // Direction overrides and invisible characters are shown as visible
    // markers, everything else literally.
    let shown = credit_rules::site::text::neutralise(hostile);
    assert!(
        shown.contains("[U+202E]") && shown.contains("<script>"),
        "{shown}"
    );
    let shown = shown.as_str();
    let site = site_with(&[r]);
    site.run(async {
        let c = site.client();
        let check = |what: &'static str| async move {
            page::assert_no_dialog(c).await?;
            let pwned = c
                .execute("return window.pwned === undefined;", vec![])
                .await?;
            assert_eq!(pwned, json!(true), "{what}: injected script ran");
            let scripts = c.execute("return document.scripts.length;", vec![]).await?;
            assert_eq!(scripts, json!(0), "{what}: a script element was created");
            let title = c.title().await?;
            assert!(
                title.ends_with("武汉市公共资源交易信用信息公示"),
                "{what}: {title}"
            );
            page::Res::Ok(())
        };
        c.goto(&site.url(&format!("/?q=示例&as_of={AS_OF}")))
            .await?;
        check("list").await?;
        let rows = result_rows(c).await?;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].cell("主体名称"), shown);
        assert!(
            rows[0]
                .cell("决定文书号")
                .contains("<script>alert(3)</script>")
        );
        click_to_page(c, c.find(Locator::Css("main table tbody a")).await?).await?;
        check("entity").await?;
        let h1 = c
            .execute("return document.querySelector('h1').textContent;", vec![])
            .await?;
        assert_eq!(h1, json!(shown));
        click_to_page(c, link(c, "<script>alert(3)</script>").await?).await?;
        check("record").await?;
        let main = text_of(c, "main").await?;
        assert!(
            main.contains("<b>粗体</b><iframe src=\"/\"></iframe>"),
            "{main}"
        );
        let frames = c
            .execute(
                "return document.querySelectorAll('iframe, img[src=x], b').length;",
                vec![],
            )
            .await?;
        assert_eq!(frames, json!(0), "markup from a record became elements");
        Ok(())
    });
}

#[test]
fn a_keyboard_user_searches_and_reaches_an_entity_with_visible_focus() {
    let target = uscc(500);
    let name = "武汉键盘测试机电安装有限公司";
    let site = site_with(&[record(
        "KB-1",
        &target,
        name,
        RecordKind::BiddingBan,
        day("2026-04-04"),
    )]);
    site.run(async {
        let c = site.client();
        c.goto(&site.url(&format!("/?as_of={AS_OF}"))).await?;
        // Tab: the skip link comes first and shows its focus.
        press(c, Key::Tab).await?;
        let skip = focused(c).await?;
        assert_eq!(
            (skip.tag.as_str(), skip.href.as_str()),
            ("a", "#main"),
            "{skip:?}"
        );
        assert!(
            skip.indicator_visible(),
            "skip link focus is invisible: {skip:?}"
        );
        press(c, Key::Enter).await?;
        // From the main content, Tab reaches the search field.
        let mut hops = 0;
        while focused(c).await?.id != "q" {
            press(c, Key::Tab).await?;
            hops += 1;
            assert!(hops < 10, "the search field is not reached by Tab");
        }
        let q = focused(c).await?;
        assert!(
            q.indicator_visible(),
            "search field focus is invisible: {q:?}"
        );
        page::type_keys(c, "键盘测试").await?;
        page::navigating(c, press(c, Key::Enter)).await?;
        let rows = result_rows(c).await?;
        assert_eq!(rows.len(), 1, "{rows:?}");
        // Tab on to the result's entity link, checking every stop shows focus.
        let mut hops = 0;
        loop {
            press(c, Key::Tab).await?;
            hops += 1;
            let now = focused(c).await?;
            assert!(now.indicator_visible(), "focus is invisible on {now:?}");
            if now.href.starts_with("/entity/") {
                assert_eq!(now.text, name);
                break;
            }
            assert!(hops < 40, "no result link reached by Tab");
        }
        page::navigating(c, press(c, Key::Enter)).await?;
        let here = page::path_and_query(c).await?;
        assert!(here.starts_with(&format!("/entity/{target}")), "{here}");
        assert_eq!(text_of(c, "h1").await?, name);
        Ok(())
    });
}

#[test]
fn a_clerk_pastes_a_receipt_and_reads_that_it_is_valid() {
    // The service signs with the fixed test key of tests/cases/receipts (32 bytes of 7) and
    // the clerk pastes one of that folder's receipts: the page, and so its screenshot, is the
    // same on every run (a real evaluation's receipt carries a fresh key and the time; the
    // in-process tests in receipt_verify.rs check those).
    let keys = tempfile::tempdir().expect("key folder");
    std::fs::write(
        keys.path().join(credit_rules::receipt::KEY_FILE),
        "07".repeat(32),
    )
    .expect("test key written");
    let key = credit_rules::receipt::ReceiptKey::load_or_create(keys.path()).expect("test key");
    let site = Site::start(AppState(Arc::new(app_with(&[]).with_receipt_key(key))));
    let batch: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/cases/receipts/format-2-batch.json"),
        )
        .expect("receipt fixture"),
    )
    .expect("receipt fixture JSON");
    let receipt = serde_json::to_string_pretty(&batch[0]).expect("receipt text");
    let uscc = batch[0]["uscc"].as_str().expect("fixture USCC").to_owned();
    site.run(async {
        let c = site.client();
        c.goto(&site.url("/")).await?;
        click_to_page(c, c.find(Locator::LinkText("回执核验")).await?).await?;
        assert_eq!(text_of(c, "h1").await?, "回执核验");
        type_into(c, "回执内容（JSON）", &receipt).await?;
        let button = c.find(Locator::Css("form.receipt-form button")).await?;
        click_to_page(c, button).await?;
        assert_eq!(text_of(c, "#verdict-title").await?, "核验结果：有效");
        let main = text_of(c, "main").await?;
        assert!(main.contains("由本服务签发"), "{main}");
        assert!(main.contains(&uscc), "{main}");
        screenshot(c, "receipt-verify", Shot::FullPage).await?;
        Ok(())
    });
}
