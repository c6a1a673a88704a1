//! The page models of the site, one askama template each (`templates/*.html`, all extending
//! `layout.html`). askama checks the templates against these structs at compile time and
//! HTML-escapes every value; record texts are also neutralised ([`super::text::neutralise`])
//! and names are isolated with `<bdi>` by the templates.

use super::query::{Search, percent_encode};
use super::text::neutralise;
use super::{CSV_MAX_ROWS, FAVICON, STYLESHEET};
use crate::record::RecordKind;
use crate::store::{DisclosureEntry, DisclosureRecord, is_dishonesty};
use askama::Template;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// A short content hash of an embedded asset: its ETag and the `?v=` of its URL, so that
/// the URL changes whenever the asset does and the asset can be cached for a year.
pub fn asset_version(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Version of [`STYLESHEET`].
pub static STYLESHEET_VERSION: LazyLock<String> = LazyLock::new(|| asset_version(STYLESHEET));

/// Version of [`FAVICON`].
pub static FAVICON_VERSION: LazyLock<String> = LazyLock::new(|| asset_version(FAVICON));

/// What every page shares: its title and the asset links.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The `<title>` and the page's `<h1>`.
    pub title: String,
    /// Which navigation entry is the current page (`home`, `about`, or empty).
    pub nav: &'static str,
    /// URL of the stylesheet.
    pub css_href: String,
    /// URL of the icon.
    pub icon_href: String,
}

impl Layout {
    /// A layout with this title.
    pub fn new(title: impl Into<String>, nav: &'static str) -> Layout {
        Layout {
            title: title.into(),
            nav,
            css_href: format!("/assets/site.css?v={}", *STYLESHEET_VERSION),
            icon_href: format!("/assets/favicon.svg?v={}", *FAVICON_VERSION),
        }
    }
}

/// Text of an optional field: neutralised, or empty.
fn shown(value: Option<&str>) -> String {
    value.map(neutralise).unwrap_or_default()
}

/// Text of a field every record shows: neutralised, or — when the source gave none.
fn shown_or_dash(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(text) if !text.is_empty() => neutralise(text),
        _ => "—".to_owned(),
    }
}

/// A disclosure end for people: the date, or 长期 when disclosed until removed.
pub fn until_text(until: Option<NaiveDate>) -> String {
    until
        .map(|d| d.to_string())
        .unwrap_or_else(|| "长期（至移出之日）".to_owned())
}

/// `?as_of=…` when the page is for a chosen day, else empty: carried by entity and record links.
fn day_suffix(as_of: NaiveDate, given: bool) -> String {
    if given {
        format!("?as_of={as_of}")
    } else {
        String::new()
    }
}

/// Link to an entity's page.
pub fn entity_href(uscc: &str, as_of: NaiveDate, given: bool) -> String {
    format!(
        "/entity/{}{}",
        percent_encode(uscc),
        day_suffix(as_of, given)
    )
}

/// Link to a record's page.
pub fn record_href(uscc: &str, id: &str, as_of: NaiveDate, given: bool) -> String {
    format!(
        "/record/{}/{}{}",
        percent_encode(uscc),
        percent_encode(id),
        day_suffix(as_of, given)
    )
}

/// One row of the result table: public fields only, ready to show.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// Entity name (neutralised).
    pub name: String,
    /// USCC.
    pub uscc: String,
    /// Kind label, e.g. 失信被执行人.
    pub kind_label: String,
    /// Deciding authority.
    pub authority: String,
    /// Decision document number.
    pub document_no: String,
    /// Decision date.
    pub decided_on: String,
    /// Disclosure end.
    pub until: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Link to the entity's page.
    pub entity_href: String,
    /// Link to the record's page.
    pub record_href: String,
}

impl ResultRow {
    /// The row of an entry.
    pub fn new(entry: &DisclosureEntry, search: &Search) -> ResultRow {
        let uscc = entry.uscc.as_str();
        ResultRow {
            name: shown(entry.name.as_deref()),
            uscc: uscc.to_owned(),
            kind_label: entry.kind_label.clone(),
            authority: shown_or_dash(entry.authority.as_deref()),
            document_no: shown_or_dash(entry.document_no.as_deref()),
            decided_on: entry.decided_on.to_string(),
            until: until_text(entry.disclosure_until),
            legal_basis: shown_or_dash(entry.legal_basis.as_deref()),
            entity_href: entity_href(uscc, search.as_of, search.as_of_given),
            record_href: record_href(uscc, &entry.id, search.as_of, search.as_of_given),
        }
    }
}

/// An option of the kind filter.
#[derive(Debug, Clone)]
pub struct KindOption {
    /// The value sent (the kind's code).
    pub code: &'static str,
    /// What the visitor sees.
    pub label: &'static str,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// Every published kind as a filter option.
pub fn kind_options(selected: Option<RecordKind>) -> Vec<KindOption> {
    RecordKind::ALL
        .into_iter()
        .filter(|k| is_dishonesty(*k))
        .map(|k| KindOption {
            code: k.code(),
            label: k.label(),
            selected: selected == Some(k),
        })
        .collect()
}

/// The values echoed back into the search form.
#[derive(Debug, Clone, Default)]
pub struct FormValues {
    /// Name or USCC.
    pub q: String,
    /// Authority.
    pub authority: String,
    /// Decided from.
    pub from: String,
    /// Decided to.
    pub to: String,
    /// The day.
    pub as_of: String,
    /// Rows per page, when not the default.
    pub limit: Option<usize>,
}

impl FormValues {
    /// The form of a search.
    pub fn of(search: &Search) -> FormValues {
        FormValues {
            q: search.q.clone().unwrap_or_default(),
            authority: search.authority.clone().unwrap_or_default(),
            from: search.from.map(|d| d.to_string()).unwrap_or_default(),
            to: search.to.map(|d| d.to_string()).unwrap_or_default(),
            as_of: search.as_of.to_string(),
            limit: (search.limit != super::DEFAULT_PAGE_ROWS).then_some(search.limit),
        }
    }
}

/// The home page: search form and one page of results.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Title and assets.
    pub layout: Layout,
    /// The form's values.
    pub form: FormValues,
    /// Kind filter options.
    pub kinds: Vec<KindOption>,
    /// The rows of this page.
    pub rows: Vec<ResultRow>,
    /// The day, as shown.
    pub as_of: String,
    /// Whether the day is today.
    pub is_today: bool,
    /// Whether a filter narrows the list.
    pub filtered: bool,
    /// Whether this is a later page (reached through a cursor).
    pub later_page: bool,
    /// Link to the first page, on later pages.
    pub first_href: Option<String>,
    /// Link to the next page, when there is one.
    pub next_href: Option<String>,
    /// Link to the CSV of this search.
    pub csv_href: String,
    /// Row limit of the CSV.
    pub csv_max: usize,
}

impl HomePage {
    /// The page of `rows` for `search`; `next_cursor` continues the list.
    pub fn new(
        search: &Search,
        rows: Vec<ResultRow>,
        next_cursor: Option<&str>,
        today: NaiveDate,
    ) -> HomePage {
        let link = |cursor: Option<&str>| {
            let qs = search.query_string(cursor);
            if qs.is_empty() {
                "/".to_owned()
            } else {
                format!("/?{qs}")
            }
        };
        let later_page = search.cursor.is_some();
        HomePage {
            layout: Layout::new("失信信息公示查询", "home"),
            form: FormValues::of(search),
            kinds: kind_options(search.kind),
            rows,
            as_of: search.as_of.to_string(),
            is_today: search.as_of == today,
            filtered: search.is_filtered(),
            later_page,
            first_href: later_page.then(|| link(None)),
            next_href: next_cursor.map(|c| link(Some(c))),
            csv_href: format!("/disclosure.csv?{}", search.query_string(None))
                .trim_end_matches('?')
                .to_owned(),
            csv_max: CSV_MAX_ROWS,
        }
    }
}

/// One public record as shown on the entity and record pages.
#[derive(Debug, Clone)]
pub struct RecordView {
    /// Record id (信息编号).
    pub id: String,
    /// Kind label.
    pub kind_label: String,
    /// Deciding authority.
    pub authority: String,
    /// Decision document number.
    pub document_no: String,
    /// Decision date.
    pub decided_on: String,
    /// Disclosure end.
    pub until: String,
    /// Severity (失信严重程度).
    pub severity: String,
    /// Sector.
    pub sector: String,
    /// Penalty category.
    pub penalty_type: String,
    /// Amount in 万元.
    pub amount: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Description (违法事实, 处罚内容).
    pub description: String,
    /// Link to the record's page.
    pub href: String,
}

impl RecordView {
    /// The view of a list entry (the fields of the list; no details).
    pub fn of_entry(entry: &DisclosureEntry, as_of: NaiveDate, given: bool) -> RecordView {
        RecordView {
            id: neutralise(&entry.id),
            kind_label: entry.kind_label.clone(),
            authority: shown_or_dash(entry.authority.as_deref()),
            document_no: shown_or_dash(entry.document_no.as_deref()),
            decided_on: entry.decided_on.to_string(),
            until: until_text(entry.disclosure_until),
            severity: String::new(),
            sector: String::new(),
            penalty_type: String::new(),
            amount: String::new(),
            legal_basis: shown_or_dash(entry.legal_basis.as_deref()),
            description: String::new(),
            href: record_href(entry.uscc.as_str(), &entry.id, as_of, given),
        }
    }

    /// The view of a record's public page: every public field.
    pub fn of_record(record: &DisclosureRecord, as_of: NaiveDate, given: bool) -> RecordView {
        RecordView {
            severity: record.severity_label.clone().unwrap_or_default(),
            sector: shown(record.sector.as_deref()),
            penalty_type: shown(record.penalty_type.as_deref()),
            amount: record
                .amount
                .map(|a| format!("{a} 万元"))
                .unwrap_or_default(),
            description: shown(record.description.as_deref()),
            ..RecordView::of_entry(&record.entry, as_of, given)
        }
    }
}

/// The records of one kind on an entity's page.
#[derive(Debug, Clone)]
pub struct KindGroup {
    /// Kind label.
    pub label: String,
    /// Its records, newest first.
    pub records: Vec<RecordView>,
}

/// Groups entries by kind (in [`RecordKind::ALL`] order), keeping their order (newest first).
pub fn group_by_kind(entries: &[DisclosureEntry], as_of: NaiveDate, given: bool) -> Vec<KindGroup> {
    RecordKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let records: Vec<RecordView> = entries
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| RecordView::of_entry(e, as_of, given))
                .collect();
            (!records.is_empty()).then(|| KindGroup {
                label: kind.label().to_owned(),
                records,
            })
        })
        .collect()
}

/// An entity's page: its public records on the day, grouped by kind.
#[derive(Debug, Template)]
#[template(path = "entity.html")]
pub struct EntityPage {
    /// Title and assets.
    pub layout: Layout,
    /// Entity name (neutralised), if known.
    pub name: String,
    /// USCC.
    pub uscc: String,
    /// The day.
    pub as_of: String,
    /// Whether the day is today.
    pub is_today: bool,
    /// Records by kind.
    pub groups: Vec<KindGroup>,
    /// Number of records shown.
    pub count: usize,
    /// Link back to the search for this entity.
    pub search_href: String,
}

impl EntityPage {
    /// The page of an entity with these public entries.
    pub fn new(
        uscc: &str,
        name: Option<&str>,
        records: &[DisclosureEntry],
        as_of: NaiveDate,
        given: bool,
        today: NaiveDate,
    ) -> EntityPage {
        let name = shown(name);
        let title = if name.is_empty() {
            uscc.to_owned()
        } else {
            name.clone()
        };
        EntityPage {
            layout: Layout::new(format!("{title} 的失信信息"), ""),
            name,
            uscc: uscc.to_owned(),
            as_of: as_of.to_string(),
            is_today: as_of == today,
            groups: group_by_kind(records, as_of, given),
            count: records.len(),
            search_href: format!(
                "/?q={}{}",
                percent_encode(uscc),
                if given {
                    format!("&as_of={as_of}")
                } else {
                    String::new()
                }
            ),
        }
    }
}

/// A record's page: every public field and the basis of its publication.
#[derive(Debug, Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    /// Title and assets.
    pub layout: Layout,
    /// Entity name (neutralised).
    pub name: String,
    /// USCC.
    pub uscc: String,
    /// The record.
    pub record: RecordView,
    /// The day.
    pub as_of: String,
    /// Link to the entity's page.
    pub entity_href: String,
}

impl RecordPage {
    /// The page of a public record.
    pub fn new(record: &DisclosureRecord, as_of: NaiveDate, given: bool) -> RecordPage {
        let view = RecordView::of_record(record, as_of, given);
        let uscc = record.entry.uscc.as_str();
        RecordPage {
            layout: Layout::new(format!("{} {}", view.kind_label, view.document_no), ""),
            name: shown(record.entry.name.as_deref()),
            uscc: uscc.to_owned(),
            record: view,
            as_of: as_of.to_string(),
            entity_href: entity_href(uscc, as_of, given),
        }
    }
}

/// The "about" page: what is published, for how long, repair, legal basis.
#[derive(Debug, Template)]
#[template(path = "about.html")]
pub struct AboutPage {
    /// Title and assets.
    pub layout: Layout,
}

impl AboutPage {
    /// The page.
    pub fn new() -> AboutPage {
        AboutPage {
            layout: Layout::new("关于信用信息公示", "about"),
        }
    }
}

impl Default for AboutPage {
    fn default() -> Self {
        Self::new()
    }
}

/// An error page (400, 404, 429, 500) in the site's layout.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Title and assets.
    pub layout: Layout,
    /// HTTP status.
    pub status: u16,
    /// What happened.
    pub message: String,
    /// The bad parameter: name, Chinese label, value received.
    pub param: Option<(String, String, String)>,
    /// How to fix it.
    pub fix: String,
}

impl ErrorPage {
    /// 404: no such page, entity or record.
    pub fn not_found(message: impl Into<String>) -> ErrorPage {
        ErrorPage {
            layout: Layout::new("页面不存在", ""),
            status: 404,
            message: message.into(),
            param: None,
            fix: "请检查网址，或回到首页重新查询。".to_owned(),
        }
    }

    /// 400: a bad query parameter.
    pub fn bad_parameter(error: &super::ParamError) -> ErrorPage {
        ErrorPage {
            layout: Layout::new("查询条件有误", ""),
            status: 400,
            message: error.problem.clone(),
            param: Some((
                error.param.to_owned(),
                super::query::param_label(error.param).to_owned(),
                neutralise(&error.value),
            )),
            fix: error.fix.clone(),
        }
    }

    /// 400 with a message of its own (e.g. a malformed path).
    pub fn bad_request(message: impl Into<String>, fix: impl Into<String>) -> ErrorPage {
        ErrorPage {
            layout: Layout::new("请求有误", ""),
            status: 400,
            message: message.into(),
            param: None,
            fix: fix.into(),
        }
    }

    /// The same page with another status code shown.
    pub fn with_status(mut self, status: u16) -> ErrorPage {
        self.status = status;
        self
    }

    /// 429: too many requests from this client.
    pub fn too_many_requests(retry_after_secs: u64) -> ErrorPage {
        ErrorPage {
            layout: Layout::new("访问过于频繁", ""),
            status: 429,
            message: "您的访问过于频繁，请稍后再试。".to_owned(),
            param: None,
            fix: format!("请在 {retry_after_secs} 秒后刷新页面。"),
        }
    }

    /// 500: something failed on the server (the detail is in the log).
    pub fn internal() -> ErrorPage {
        ErrorPage {
            layout: Layout::new("系统错误", ""),
            status: 500,
            message: "服务器处理请求时出错，错误已记录。".to_owned(),
            param: None,
            fix: "请稍后再试。".to_owned(),
        }
    }
}
