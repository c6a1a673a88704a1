//! The public disclosure site in-process (`tower::ServiceExt::oneshot`): every page over demo
//! and hand-made records, filters, cursor links, the CSV download, Chinese error pages,
//! security headers, rate limiting, ETag revalidation, escaping of hostile record texts and
//! the page weight.

use crate::http::state;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{Days, NaiveDate};
use credit_rules::http::{AppState, RateLimit, SITE_ROUTES, router};
use credit_rules::record::{CreditRecord, RecordKind, Uscc, org_code_check_char, uscc_check_char};
use credit_rules::site::today_in_shanghai;
use credit_rules::store::Records;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("UTF-8 body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The result rows of a page: the `<tr>` lines of the table body.
    fn rows(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.starts_with("<tr><th scope=\"row\">"))
            .map(String::from)
            .collect()
    }

    /// The `href` of the link whose text is `label` (HTML-unescaped `&amp;`).
    fn link(&self, label: &str) -> Option<String> {
        let text = self.text();
        let end = text.find(&format!(">{label}</a>"))?;
        let tag = &text[text[..end].rfind("<a ")?..end];
        let start = tag.find("href=\"")? + 6;
        let href = &tag[start..start + tag[start..].find('"')?];
        Some(href.replace("&#38;", "&").replace("&amp;", "&"))
    }
}

async fn send(state: &AppState, request: Request<Body>) -> Page {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Page {
        status,
        headers,
        bytes,
    }
}

async fn get(state: &AppState, uri: &str) -> Page {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    send(state, request).await
}

fn today() -> NaiveDate {
    today_in_shanghai()
}

fn days_ago(n: u64) -> NaiveDate {
    today() - Days::new(n)
}

/// A valid USCC for a number (GB 32100 and GB 11714 check characters computed).
fn uscc(n: u32) -> Uscc {
    let org = format!("{n:08}");
    let c9 = org_code_check_char(&org).expect("org check");
    let first17 = format!("91420100{org}{c9}");
    let c18 = uscc_check_char(&first17).expect("uscc check");
    Uscc::parse(&format!("{first17}{c18}")).expect("valid USCC")
}

/// A public record: decided `age` days ago, disclosed for a year more.
fn record(id: &str, n: u32, name: &str, kind: RecordKind, age: u64) -> CreditRecord {
    let mut r = CreditRecord::new(id, uscc(n), kind, days_ago(age));
    r.entity_name = Some(name.to_owned());
    r.authority = Some("武汉市城乡建设局".to_owned());
    r.document_no = Some(format!("武建罚〔2025〕{n}号"));
    r.legal_basis = Some("《建筑市场诚信行为信息管理办法》".to_owned());
    r.disclosure_until = Some(today() + Days::new(365));
    r
}

fn seeded(records: &[CreditRecord]) -> AppState {
    let s = state();
    s.store.put_records(records).expect("stored");
    s
}

fn demo_state() -> AppState {
    let s = state();
    let cfg = credit_rules::demo::DemoConfig {
        seed: 2019,
        entities: 200,
        records_per_entity: (0, 12),
    };
    let records: Vec<_> = credit_rules::demo::entities(cfg)
        .flat_map(|(_, _, r)| r)
        .collect();
    s.store.put_records(&records).expect("stored");
    s
}

fn small_set() -> Vec<CreditRecord> {
    vec![
        record("A1", 1, "江夏路桥建设有限公司", RecordKind::Blacklist, 10),
        record(
            "A2",
            2,
            "青山环境工程有限公司",
            RecordKind::DishonestDebtor,
            20,
        ),
        record("A3", 3, "汉阳市政有限公司", RecordKind::AdminPenalty, 30),
        record("A4", 4, "江夏水务有限公司", RecordKind::AdminPenalty, 40),
        record("A5", 5, "洪山建材有限公司", RecordKind::BadBehaviour, 50),
    ]
}

#[tokio::test]
async fn the_home_page_lists_the_demo_data_newest_first() {
    let s = demo_state();
    let page = get(&s, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    let text = page.text();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(text.contains("<html lang=\"zh-CN\">"));
    assert!(text.contains("失信信息公示查询"));
    assert!(text.contains("<caption>"));
    assert!(text.contains("<th scope=\"col\">统一社会信用代码</th>"));
    assert_eq!(page.rows().len(), 50);
    assert!(page.link("下一页 »").is_some());
    let dates: Vec<String> = page
        .rows()
        .iter()
        .map(|row| {
            let (_, after) = row
                .split_once("<td class=\"date\">")
                .expect("a decision date");
            after[..10].to_owned()
        })
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest decision first");
}

#[tokio::test]
async fn every_page_has_the_layout_labels_and_a_skip_link() {
    let s = seeded(&small_set());
    let u = uscc(1);
    for uri in [
        "/".to_owned(),
        "/about".to_owned(),
        format!("/entity/{u}"),
        format!("/record/{u}/A1"),
    ] {
        let page = get(&s, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        let text = page.text();
        for part in [
            "<a class=\"skip\" href=\"#main\">",
            "<header",
            "<nav",
            "<main id=\"main\"",
            "<footer",
            "/assets/site.css?v=",
        ] {
            assert!(text.contains(part), "{uri} lacks {part}");
        }
        assert!(!text.contains("<script"), "{uri}");
        assert!(!text.contains("style=\""), "{uri} has an inline style");
    }
    let home = get(&s, "/").await.text();
    for id in [
        "q",
        "kind",
        "authority",
        "decided_from",
        "decided_to",
        "as_of",
    ] {
        assert!(home.contains(&format!("<label for=\"{id}\">")), "{id}");
        assert!(home.contains(&format!("id=\"{id}\"")), "{id}");
    }
}

#[tokio::test]
async fn the_search_filters_by_name_uscc_kind_authority_and_dates() {
    let mut records = small_set();
    records[4].authority = Some("武汉市水务局".to_owned());
    let s = seeded(&records);
    let names = |page: &Page| -> Vec<String> {
        page.rows()
            .iter()
            .map(|r| {
                let start = r.find("<bdi>").expect("name") + 5;
                let end = r.find("</bdi>").expect("name");
                r[start..end].to_owned()
            })
            .collect()
    };
    let by_name = get(&s, &format!("/?q={}", pct("江夏"))).await;
    assert_eq!(
        names(&by_name),
        ["江夏路桥建设有限公司", "江夏水务有限公司"]
    );
    let by_uscc = get(&s, &format!("/?q={}", uscc(3))).await;
    assert_eq!(names(&by_uscc), ["汉阳市政有限公司"]);
    let by_kind = get(&s, "/?kind=ADMIN_PENALTY").await;
    assert_eq!(names(&by_kind), ["汉阳市政有限公司", "江夏水务有限公司"]);
    assert!(
        by_kind
            .text()
            .contains("<option value=\"ADMIN_PENALTY\" selected>")
    );
    let by_authority = get(&s, &format!("/?authority={}", pct("水务局"))).await;
    assert_eq!(names(&by_authority), ["洪山建材有限公司"]);
    let by_dates = get(
        &s,
        &format!(
            "/?decided_from={}&decided_to={}",
            days_ago(35),
            days_ago(15)
        ),
    )
    .await;
    assert_eq!(
        names(&by_dates),
        ["青山环境工程有限公司", "汉阳市政有限公司"]
    );
    let none = get(&s, &format!("/?q={}", pct("不存在的公司"))).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.text().contains("没有符合条件的公示信息"));
}

fn pct(text: &str) -> String {
    credit_rules::site::query::percent_encode(text)
}

#[tokio::test]
async fn cursor_links_walk_the_list_without_repeats_and_keep_the_filters() {
    let s = seeded(&small_set());
    let first = get(&s, "/?limit=2&kind=").await;
    assert_eq!(first.rows().len(), 2);
    assert!(first.link("« 第一页").is_none());
    let mut seen: Vec<String> = first.rows();
    let mut next = first.link("下一页 »");
    let mut pages = 1;
    while let Some(href) = next {
        assert!(href.contains("limit=2"), "{href}");
        assert!(href.contains("cursor="), "{href}");
        let page = get(&s, &href).await;
        assert_eq!(page.status, StatusCode::OK, "{href}");
        assert_eq!(page.link("« 第一页").as_deref(), Some("/?limit=2"));
        seen.extend(page.rows());
        next = page.link("下一页 »");
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no row twice");
}

#[tokio::test]
async fn records_arriving_between_two_pages_neither_repeat_nor_hide_an_entry() {
    let s = seeded(&small_set());
    let first = get(&s, "/?limit=3").await;
    let next = first.link("下一页 »").expect("a next page");
    let arriving = [
        record("N1", 11, "新到达甲有限公司", RecordKind::Blacklist, 1),
        record("N2", 12, "新到达乙有限公司", RecordKind::AdminPenalty, 45),
    ];
    s.store.put_records(&arriving).expect("stored");
    let second = get(&s, &next).await;
    let names = |rows: Vec<String>| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let start = r.find("<bdi>").expect("name") + 5;
                r[start..r.find("</bdi>").expect("name")].to_owned()
            })
            .collect()
    };
    let mut seen = names(first.rows());
    seen.extend(names(second.rows()));
    assert_eq!(
        seen,
        [
            "江夏路桥建设有限公司",
            "青山环境工程有限公司",
            "汉阳市政有限公司",
            "江夏水务有限公司",
            "新到达乙有限公司",
            "洪山建材有限公司",
        ],
        "the old entries once each, in order; the older arrival in its place; the newer one \
         belongs to page 1"
    );
}

#[tokio::test]
async fn a_rare_filter_under_a_small_scan_budget_still_pages_through_every_match() {
    let mut records: Vec<CreditRecord> = (1..=40)
        .map(|n| {
            record(
                &format!("B{n}"),
                n,
                "常见公司",
                RecordKind::AdminPenalty,
                u64::from(n),
            )
        })
        .collect();
    for n in [3u32, 17, 33] {
        records.push(record(
            &format!("R{n}"),
            100 + n,
            "少见公司",
            RecordKind::BriberyCrime,
            u64::from(n),
        ));
    }
    let store = credit_rules::store::SledStore::open_temporary().expect("store");
    store.set_disclosure_scan_budget(4);
    store.put_records(&records).expect("stored");
    let workspace = crate::common::shipped();
    let registry = credit_rules::registry::Registry::from_workspace(&workspace).expect("rules");
    let s = AppState(Arc::new(credit_rules::http::App::new(
        registry,
        Arc::new(store),
        crate::http::tokens(),
        None,
    )));
    let mut found = Vec::new();
    let mut next = Some("/?kind=BRIBERY_CRIME&limit=2".to_owned());
    let mut requests = 0;
    while let Some(href) = next {
        let page = get(&s, &href).await;
        assert_eq!(page.status, StatusCode::OK, "{href}");
        found.extend(page.rows());
        next = page.link("下一页 »");
        requests += 1;
        assert!(requests < 20, "the walk ends");
    }
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().all(|r| r.contains("行贿犯罪记录")));
    let csv = get(&s, "/disclosure.csv?kind=BRIBERY_CRIME").await.text();
    assert_eq!(csv.split("\r\n").count(), 1 + 3 + 1, "{csv}");
}

#[tokio::test]
async fn entity_and_record_pages_show_the_public_records() {
    let mut records = small_set();
    let mut second = record("A6", 1, "江夏路桥建设有限公司", RecordKind::AdminPenalty, 5);
    second.description = Some("未按规定办理施工许可".to_owned());
    records.push(second);
    let s = seeded(&records);
    let u = uscc(1);
    let entity = get(&s, &format!("/entity/{u}")).await;
    assert_eq!(entity.status, StatusCode::OK);
    let text = entity.text();
    assert!(text.contains("<h2>黑名单（1 条）</h2>"));
    assert!(text.contains("<h2>行政处罚（1 条）</h2>"));
    assert!(text.contains(&format!("href=\"/record/{u}/A6\"")));
    let record = get(&s, &format!("/record/{u}/A6")).await;
    assert_eq!(record.status, StatusCode::OK);
    let text = record.text();
    for part in [
        "江夏路桥建设有限公司",
        u.as_str(),
        "武建罚〔2025〕1号",
        "武汉市城乡建设局",
        "《建筑市场诚信行为信息管理办法》",
        "未按规定办理施工许可",
        "公示依据",
        "武公管办〔2019〕2号",
        "信用修复或撤销即停止公示",
        "href=\"/about#repair\"",
    ] {
        assert!(text.contains(part), "record page lacks {part}");
    }
}

#[tokio::test]
async fn a_repaired_record_is_never_public_even_for_a_past_day() {
    let mut records = small_set();
    records[0].repaired_on = Some(days_ago(2));
    let s = seeded(&records);
    let u = uscc(1);
    let past = days_ago(5);
    let home = get(&s, &format!("/?as_of={past}")).await;
    assert_eq!(home.status, StatusCode::OK);
    let entity = get(&s, &format!("/entity/{u}?as_of={past}")).await;
    assert_eq!(entity.status, StatusCode::NOT_FOUND);
    assert!(entity.text().contains("没有找到该主体"));
    let record = get(&s, &format!("/record/{u}/A1?as_of={past}")).await;
    assert_eq!(record.status, StatusCode::NOT_FOUND);
    let other = get(&s, &format!("/record/{}/A2?as_of={past}", uscc(2))).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn the_csv_has_a_bom_a_chinese_header_quoting_and_a_formula_guard() {
    let mut records = small_set();
    records[0].entity_name = Some("=HYPERLINK(\"http://x\",\"点我\")".to_owned());
    records[1].entity_name = Some("青山,环境\"工程\"有限公司".to_owned());
    records[2].authority = Some("@武汉市市场监管局".to_owned());
    let s = seeded(&records);
    let csv = get(&s, "/disclosure.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(csv.header("content-disposition").starts_with("attachment;"));
    assert!(csv.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
    let text = csv.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{FEFF}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "主体名称,统一社会信用代码,失信类别,认定机关,决定文书号,认定日期,公示截止日期,法律依据"
    );
    assert_eq!(lines.len(), 1 + 5 + 1, "header, 5 rows, final CRLF");
    assert!(lines[1].starts_with("\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\","));
    assert!(lines[2].starts_with("\"青山,环境\"\"工程\"\"有限公司\","));
    assert!(lines[3].contains(",'@武汉市市场监管局,"));
    let filtered = get(&s, "/disclosure.csv?kind=ADMIN_PENALTY").await;
    assert_eq!(filtered.text().split("\r\n").count(), 1 + 2 + 1);
    let home = get(&s, "/?kind=ADMIN_PENALTY").await;
    assert_eq!(
        home.link("下载本次查询结果（CSV，最多 10000 条）")
            .as_deref(),
        Some("/disclosure.csv?kind=ADMIN_PENALTY")
    );
}

#[tokio::test]
async fn unknown_paths_entities_and_records_get_the_chinese_404_page() {
    let s = seeded(&small_set());
    for uri in [
        "/no/such/page".to_owned(),
        format!("/entity/{}", uscc(99)),
        format!("/record/{}/NOPE", uscc(1)),
    ] {
        let page = get(&s, &uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        let text = page.text();
        assert!(text.contains("错误代码 404"), "{uri}");
        assert!(text.contains("返回公示查询首页"), "{uri}");
    }
    let api = get(&s, "/api/v1/nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.header("content-type"), "application/problem+json");
    let post = send(
        &s,
        Request::post("/about")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(post.text().contains("错误代码 405"));
    let api_post = send(
        &s,
        Request::post("/api/v1/disclosure")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(api_post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api_post.header("content-type"), "application/problem+json");
}

#[tokio::test]
async fn malformed_queries_get_a_chinese_400_page_naming_the_parameter() {
    let s = seeded(&small_set());
    let cases = [
        ("/?as_of=2023-02-30", "as_of", "日期无效"),
        ("/?decided_from=2024-13-01", "decided_from", "日期无效"),
        (
            "/?kind=%E7%BA%A2%E5%90%8D%E5%8D%95",
            "kind",
            "未知的失信类别",
        ),
        ("/?limit=x", "limit", "每页条数无效"),
        ("/?cursor=bogus", "cursor", "翻页位置无效"),
        ("/disclosure.csv?as_of=2023-02-30", "as_of", "日期无效"),
        (
            "/entity/914201007XXXXXXXXX?as_of=2023-02-30",
            "as_of",
            "日期无效",
        ),
    ];
    for (uri, param, problem) in cases {
        let page = get(&s, uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        let text = page.text();
        assert!(text.contains(&format!("<code>{param}</code>")), "{uri}");
        assert!(text.contains(problem), "{uri}");
    }
    let bad_uscc = get(&s, "/entity/123").await;
    assert_eq!(bad_uscc.status, StatusCode::BAD_REQUEST);
    assert!(bad_uscc.text().contains("统一社会信用代码格式有误"));
}

#[tokio::test]
async fn security_headers_are_on_pages_assets_errors_and_the_api() {
    let s = seeded(&small_set());
    let site_routes: Vec<String> = SITE_ROUTES
        .iter()
        .map(|r| r.replace("{uscc}", uscc(1).as_str()).replace("{id}", "A1"))
        .collect();
    for uri in &site_routes {
        assert_eq!(get(&s, uri).await.status, StatusCode::OK, "{uri}");
    }
    let others = [
        "/nope",
        "/api/v1/disclosure",
        "/healthz",
        "/api/v1/rulesets",
    ];
    for uri in site_routes.iter().map(String::as_str).chain(others) {
        let page = get(&s, uri).await;
        let csp = page.header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{uri}");
        assert!(csp.contains("script-src 'none'"), "{uri}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}");
        assert!(!csp.contains("unsafe-inline"), "{uri}");
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(page.header("referrer-policy"), "no-referrer", "{uri}");
        assert_eq!(page.header("x-frame-options"), "DENY", "{uri}");
    }
}

fn from_peer(uri: &str, peer: &str) -> Request<Body> {
    let mut request = Request::get(uri).body(Body::empty()).expect("request");
    let addr: SocketAddr = peer.parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

#[tokio::test]
async fn a_client_over_the_limit_gets_429_with_retry_after() {
    let base = state();
    let app = Arc::try_unwrap(base.0)
        .ok()
        .expect("sole owner")
        .with_rate_limit(RateLimit {
            per_second: 1,
            burst: 2,
        });
    let s = AppState(Arc::new(app));
    for _ in 0..2 {
        let ok = send(&s, from_peer("/", "192.0.2.7:5000")).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let site = send(&s, from_peer("/about", "192.0.2.7:5001")).await;
    assert_eq!(site.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(site.header("retry-after"), "1");
    assert!(site.text().contains("访问过于频繁"));
    let api = send(&s, from_peer("/api/v1/disclosure", "192.0.2.7:5002")).await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(api.header("content-type"), "application/problem+json");
    assert!(api.text().contains("\"code\":\"rate_limited\""));
    let other = send(&s, from_peer("/", "192.0.2.8:5000")).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another client is not limited"
    );
    let asset = send(&s, from_peer("/assets/site.css", "192.0.2.7:5003")).await;
    assert_eq!(asset.status, StatusCode::OK, "assets are not limited");
    for _ in 0..5 {
        let in_process = get(&s, "/").await;
        assert_eq!(in_process.status, StatusCode::OK, "no peer: not limited");
    }
}

#[tokio::test]
async fn pages_and_assets_answer_304_to_a_matching_if_none_match() {
    let s = seeded(&small_set());
    for uri in ["/", "/about", "/assets/site.css", "/assets/favicon.svg"] {
        let first = get(&s, uri).await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        let etag = first.header("etag").to_owned();
        assert!(etag.starts_with('"'), "{uri}: {etag}");
        let request = Request::get(uri)
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .expect("request");
        let again = send(&s, request).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.bytes.is_empty());
        assert_eq!(again.header("etag"), etag);
    }
    let css = get(&s, "/assets/site.css").await;
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(get(&s, "/").await.header("cache-control"), "no-cache");
}

#[tokio::test]
async fn hostile_record_texts_are_escaped_and_neutralised_everywhere() {
    let evil = "<script>alert(1)</script>\"'&\u{202E}moc.evil\u{200B}";
    let mut r = record("X<1>", 7, evil, RecordKind::Blacklist, 3);
    r.authority = Some(format!("机关{evil}"));
    r.document_no = Some(format!("文号{evil}"));
    r.legal_basis = Some(format!("依据{evil}"));
    r.description = Some(format!("事实{evil}"));
    let s = seeded(&[r]);
    let u = uscc(7);
    let pages = [
        get(&s, "/").await,
        get(&s, &format!("/entity/{u}")).await,
        get(&s, &format!("/record/{u}/X%3C1%3E")).await,
        get(&s, &format!("/?q={}", pct("<script>"))).await,
    ];
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(!text.contains("<script>"), "raw script tag");
        assert!(
            text.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "escaped"
        );
        assert!(!text.contains('\u{202E}'), "RTL override neutralised");
        assert!(!text.contains('\u{200B}'), "zero-width space neutralised");
        assert!(text.contains("[U+202E]moc.evil[U+200B]"));
        assert!(
            text.contains("<bdi>&#60;script&#62;"),
            "names isolated in <bdi>"
        );
        for line in text.lines().filter(|l| l.contains("href=")) {
            assert!(!line.contains("href=/"), "unquoted attribute: {line}");
        }
    }
    let record_page = pages[2].text();
    assert!(record_page.contains("事实&#60;script&#62;"));
    assert!(record_page.contains("X&#60;1&#62;"));
    let entity_page = pages[1].text();
    assert!(entity_page.contains(&format!("href=\"/record/{u}/X%3C1%3E\"")));
    let search_box = pages[3].text();
    assert!(search_box.contains("value=\"&#60;script&#62;\""));
    let csv = get(&s, "/disclosure.csv").await.text();
    assert!(csv.contains("\"<script>alert(1)</script>\"\"'&[U+202E]moc.evil[U+200B]\""));
    assert!(!csv.contains('\u{202E}'));
}

#[tokio::test]
async fn a_full_page_of_results_weighs_under_100_kb() {
    let records: Vec<CreditRecord> = (1..=120)
        .map(|n| {
            let mut r = record(
                &format!("W{n}"),
                n,
                "武汉市江夏区某某建筑工程劳务分包有限责任公司第一分公司",
                RecordKind::AdminPenalty,
                u64::from(n),
            );
            r.legal_basis = Some(
                "《中华人民共和国招标投标法》第五十四条、《中华人民共和国招标投标法实施条例》第六十八条"
                    .to_owned(),
            );
            r.authority = Some("武汉市江夏区城乡建设局（武汉市江夏区人民防空办公室）".to_owned());
            r
        })
        .collect();
    let s = seeded(&records);
    let page = get(&s, "/?limit=100").await;
    assert_eq!(page.rows().len(), 100);
    let css = get(&s, "/assets/site.css").await;
    let icon = get(&s, "/assets/favicon.svg").await;
    let weight = page.bytes.len() + css.bytes.len() + icon.bytes.len();
    assert!(weight < 100 * 1024, "page weight {weight} bytes");
}

#[tokio::test]
async fn the_csv_stops_at_10000_rows_and_says_so() {
    let records: Vec<CreditRecord> = (1..=10_005)
        .map(|n| {
            record(
                &format!("C{n}"),
                n,
                "批量公司",
                RecordKind::AdminPenalty,
                u64::from(n % 300),
            )
        })
        .collect();
    let s = seeded(&records);
    let csv = get(&s, "/disclosure.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("x-truncated-at"), "10000");
    let text = csv.text();
    assert_eq!(text.split("\r\n").count(), 1 + 10_000 + 1);
    let filtered = get(&s, "/disclosure.csv?limit=3&q=%E6%89%B9%E9%87%8F").await;
    assert_eq!(
        filtered.header("x-truncated-at"),
        "10000",
        "limit is for pages"
    );
}
