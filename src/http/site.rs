//! The public site's routes (no token): the search page `/`, `/entity/{uscc}`,
//! `/record/{uscc}/{id}`, `/about`, the CSV download `/disclosure.csv` and the embedded
//! assets under `/assets/`. Pages come from [`crate::site::pages`]; every failure is a Chinese
//! page in the site's layout (400 naming the bad parameter, 404, 500).

use super::AppState;
use super::protect::{cached, html_page};
use crate::record::Uscc;
use crate::site::pages::{AboutPage, EntityPage, ErrorPage, HomePage, RecordPage, ResultRow};
use crate::site::{CSV_MAX_ROWS, FAVICON, ParamError, STYLESHEET, Search, csv};
use crate::store::{DisclosureCursor, DisclosureEntry, MAX_PAGE_SIZE, RecordStore, StoreError};
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

/// The site's routes, for the router and its tests.
pub const SITE_ROUTES: &[&str] = &[
    "/",
    "/about",
    "/disclosure.csv",
    "/entity/{uscc}",
    "/record/{uscc}/{id}",
    "/receipt",
    "/assets/site.css",
    "/assets/favicon.svg",
];

/// `Cache-Control` of pages built from records: a client may keep them but must revalidate
/// (a repair or a new record changes them at any time); the ETag makes that a 304.
const REVALIDATE: &str = "no-cache";

/// `Cache-Control` of the embedded assets: their URLs carry a content hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A failure of a site route, answered as a Chinese page.
#[derive(Debug)]
pub enum SiteError {
    /// A bad query parameter (400).
    Param(ParamError),
    /// A malformed request other than a parameter (400): message, how to fix.
    BadRequest(String, String),
    /// Nothing public here (404).
    NotFound(String),
    /// A known page asked with a method other than GET (405).
    MethodNotAllowed,
    /// The store failed (500; logged).
    Internal(String),
}

impl IntoResponse for SiteError {
    fn into_response(self) -> Response {
        match self {
            SiteError::Param(e) => {
                html_page(StatusCode::BAD_REQUEST, &ErrorPage::bad_parameter(&e))
            }
            SiteError::BadRequest(message, fix) => html_page(
                StatusCode::BAD_REQUEST,
                &ErrorPage::bad_request(message, fix),
            ),
            SiteError::NotFound(message) => {
                html_page(StatusCode::NOT_FOUND, &ErrorPage::not_found(message))
            }
            SiteError::MethodNotAllowed => html_page(
                StatusCode::METHOD_NOT_ALLOWED,
                &ErrorPage::bad_request(
                    "本页面只能浏览，不接受提交。",
                    "请使用页面上的链接和查询表单。",
                )
                .with_status(405),
            ),
            SiteError::Internal(detail) => {
                tracing::error!(%detail, "site error");
                html_page(StatusCode::INTERNAL_SERVER_ERROR, &ErrorPage::internal())
            }
        }
    }
}

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Reads the search of a request; a malformed query string is a 400 page.
fn search_of(query: Pairs, today: NaiveDate) -> Result<Search, SiteError> {
    let Query(pairs) = query.map_err(|e| {
        SiteError::BadRequest(
            "查询参数无法识别".to_owned(),
            format!("请使用页面上的查询表单重新查询（{}）。", e.body_text()),
        )
    })?;
    Search::parse(&pairs, today).map_err(SiteError::Param)
}

/// Runs store work off the async runtime.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SiteError> + Send + 'static,
) -> Result<T, SiteError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SiteError::Internal(e.to_string()))?
}

fn render(page: &impl Template) -> Result<String, SiteError> {
    page.render()
        .map_err(|e| SiteError::Internal(e.to_string()))
}

fn page_response(headers: &HeaderMap, body: String) -> Response {
    cached(headers, "text/html; charset=utf-8", REVALIDATE, body)
}

/// One page of the public list for a search.
pub struct ListPage {
    /// The entries, newest decision first.
    pub items: Vec<DisclosureEntry>,
    /// Where the next page starts; `None` at the end.
    pub next_cursor: Option<DisclosureCursor>,
}

/// Store calls one result page may make: the store visits a bounded number of index entries
/// per call and may return a short page with a cursor (a rare filter); the site follows it a
/// few times to fill the page, then offers the rest behind "next page".
const PAGE_CALLS: usize = 8;

/// Store calls one CSV download may make (10 full calls of [`MAX_PAGE_SIZE`], and room for
/// short ones).
const CSV_CALLS: usize = 20;

/// Up to `limit` entries of the search from its cursor on, in at most `calls` store calls.
fn list_page(
    store: &dyn RecordStore,
    search: &Search,
    today: NaiveDate,
    limit: usize,
    calls: usize,
) -> Result<ListPage, SiteError> {
    let filter = search.filter(today);
    let mut items: Vec<DisclosureEntry> = Vec::new();
    let mut cursor = search.cursor.clone();
    for _ in 0..calls {
        let want = (limit - items.len()).min(MAX_PAGE_SIZE);
        let found = store
            .disclosure_page(&filter, cursor.as_ref(), want)
            .map_err(|e| match e {
                StoreError::InvalidQuery(detail) => SiteError::BadRequest(
                    "查询条件有误".to_owned(),
                    format!("请修改查询条件后重试（{detail}）。"),
                ),
                other => SiteError::Internal(other.to_string()),
            })?;
        items.extend(found.items);
        cursor = found.next_cursor;
        if cursor.is_none() || items.len() >= limit {
            break;
        }
    }
    Ok(ListPage {
        items,
        next_cursor: cursor,
    })
}

/// `GET /`: the search form and one page of results.
pub async fn home(State(state): State<AppState>, headers: HeaderMap, query: Pairs) -> Response {
    let today = crate::review::local_date(state.clock.now());
    let result = async {
        let search = search_of(query, today)?;
        let page = off_runtime({
            let search = search.clone();
            move || {
                list_page(
                    state.store.as_ref(),
                    &search,
                    today,
                    search.limit,
                    PAGE_CALLS,
                )
            }
        })
        .await?;
        let rows = page
            .items
            .iter()
            .map(|entry| ResultRow::new(entry, &search))
            .collect();
        let next = page.next_cursor.map(|c| c.to_string());
        render(&HomePage::new(&search, rows, next.as_deref(), today))
    }
    .await;
    match result {
        Ok(body) => page_response(&headers, body),
        Err(e) => e.into_response(),
    }
}

/// `GET /disclosure.csv`: the current search as CSV, at most [`CSV_MAX_ROWS`] rows.
pub async fn disclosure_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    let today = crate::review::local_date(state.clock.now());
    let result = async {
        let mut search = search_of(query, today)?;
        search.cursor = None;
        let as_of = search.as_of;
        let page = off_runtime(move || {
            list_page(
                state.store.as_ref(),
                &search,
                today,
                CSV_MAX_ROWS,
                CSV_CALLS,
            )
        })
        .await?;
        Ok::<_, SiteError>((
            as_of,
            csv::document(&page.items),
            page.next_cursor.is_some(),
        ))
    }
    .await;
    match result {
        Ok((as_of, body, truncated)) => {
            let mut response = cached(&headers, "text/csv; charset=utf-8", REVALIDATE, body);
            let disposition = format!("attachment; filename=\"disclosure-{as_of}.csv\"");
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            if truncated {
                response
                    .headers_mut()
                    .insert("x-truncated-at", HeaderValue::from(CSV_MAX_ROWS as u64));
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

fn parse_uscc(text: &str) -> Result<Uscc, SiteError> {
    Uscc::parse(text).map_err(|e| {
        SiteError::BadRequest(
            format!("统一社会信用代码格式有误：{e}"),
            "统一社会信用代码为 18 位数字或大写字母，请核对后重新输入。".to_owned(),
        )
    })
}

fn nothing_public(what: &str, as_of: NaiveDate) -> SiteError {
    SiteError::NotFound(format!("没有找到{what}在 {as_of} 公示中的失信信息。"))
}

/// `GET /entity/{uscc}`: the entity's public records on the day, by kind.
pub async fn entity(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
    query: Pairs,
) -> Response {
    let today = crate::review::local_date(state.clock.now());
    let result = async {
        let search = search_of(query, today)?;
        let uscc = parse_uscc(&uscc)?;
        let as_of = search.as_of;
        let found = off_runtime({
            let uscc = uscc.clone();
            move || {
                state
                    .store
                    .disclosure_of_entity(&uscc, as_of, today)
                    .map_err(|e| SiteError::Internal(e.to_string()))
            }
        })
        .await?;
        let Some(found) = found.filter(|f| !f.entries.is_empty()) else {
            return Err(nothing_public("该主体", as_of));
        };
        render(&EntityPage::new(
            uscc.as_str(),
            found.name.as_deref(),
            &found.entries,
            as_of,
            search.as_of_given,
            today,
        ))
    }
    .await;
    match result {
        Ok(body) => page_response(&headers, body),
        Err(e) => e.into_response(),
    }
}

/// `GET /record/{uscc}/{id}`: one public record with every public field and its basis.
pub async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uscc, id)): Path<(String, String)>,
    query: Pairs,
) -> Response {
    let today = crate::review::local_date(state.clock.now());
    let result = async {
        let search = search_of(query, today)?;
        let uscc = parse_uscc(&uscc)?;
        let as_of = search.as_of;
        let found = off_runtime(move || {
            state
                .store
                .disclosure_record(&uscc, &id, as_of, today)
                .map_err(|e| SiteError::Internal(e.to_string()))
        })
        .await?;
        let Some(record) = found else {
            return Err(nothing_public("该条信息", as_of));
        };
        render(&RecordPage::new(&record, as_of, search.as_of_given))
    }
    .await;
    match result {
        Ok(body) => page_response(&headers, body),
        Err(e) => e.into_response(),
    }
}

/// `GET /about`: what is published, for how long, credit repair, the legal basis.
pub async fn about(headers: HeaderMap) -> Response {
    match render(&AboutPage::new()) {
        Ok(body) => cached(
            &headers,
            "text/html; charset=utf-8",
            "public, max-age=3600",
            body,
        ),
        Err(e) => e.into_response(),
    }
}

/// `GET /assets/site.css`.
pub async fn stylesheet(headers: HeaderMap) -> Response {
    cached(&headers, "text/css; charset=utf-8", IMMUTABLE, STYLESHEET)
}

/// `GET /assets/favicon.svg`.
pub async fn favicon(headers: HeaderMap) -> Response {
    cached(&headers, "image/svg+xml", IMMUTABLE, FAVICON)
}

/// Unknown route: problem+json under `/api/` (and for the service routes), else the Chinese
/// 404 page.
pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/healthz" || path == "/metrics" {
        return super::ops::not_found().await.into_response();
    }
    SiteError::NotFound("您访问的页面不存在。".to_owned()).into_response()
}

/// Known route, wrong method: problem+json under `/api/`, else a Chinese page.
pub async fn method_not_allowed(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return super::ops::method_not_allowed().await.into_response();
    }
    SiteError::MethodNotAllowed.into_response()
}
