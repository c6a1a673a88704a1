//! The public disclosure list (向社会公示) as JSON, no token needed: the list with its
//! filters and keyset paging, one entity's public entries, one record's public page.
//!
//! The query-string parsing ([`parse_list_query`], [`parse_day_query`]): every malformed
//! parameter becomes a [`ParamError`] naming the parameter and how to fix it, which the API
//! answers as problem+json (`code` `bad_query`). (The HTML site parses its forms itself, in
//! Chinese, where an empty form field means "not given".)
//!
//! What the public sees follows the store's publication rule
//! ([`crate::store::is_public_on`]): a repaired or revoked record is never shown, for any
//! day; a past day shows only what is still public today.

use super::error::{ApiError, AppJson, ItemError};
use super::{AppState, blocking};
use crate::record::{RecordKind, Uscc};
use crate::store::{
    DisclosureCursor, DisclosureEntry, DisclosureFilter, DisclosureRecord, EntityDisclosure,
    MAX_PAGE_SIZE, RecordStore, StoreError, is_dishonesty,
};
use axum::extract::{Path, RawQuery, State};
use chrono::NaiveDate;
use serde::Serialize;

use super::paging::DEFAULT_LIMIT;

/// Deepest position the deprecated `page`/`page_size` paging reaches (entries skipped).
pub const MAX_LEGACY_OFFSET: usize = 10_000;

/// Most store pages one deprecated numbered page may take.
const MAX_LEGACY_CALLS: usize = 40;

/// The parameters of the list, for error messages.
const LIST_PARAMETERS: &str = "q, kind, authority, decided_from, decided_to, as_of, limit, cursor \
     (deprecated: page, page_size)";

/// A malformed query parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{parameter}`: {message}")]
pub struct ParamError {
    /// The parameter, e.g. `as_of`.
    pub parameter: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ParamError {
    fn new(parameter: &str, message: impl Into<String>) -> ParamError {
        ParamError {
            parameter: parameter.to_owned(),
            message: message.into(),
        }
    }

    /// The problem+json answer, listing the parameters the route takes.
    pub fn into_api_error(self, parameters: &str) -> ApiError {
        let detail = format!("{self} (the parameters are {parameters})");
        ApiError::bad_request("bad_query", detail).with_errors(vec![ItemError {
            at: self.parameter,
            message: self.message,
        }])
    }
}

/// A parsed request for a page of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// What to list.
    pub filter: DisclosureFilter,
    /// Start after this position.
    pub after: Option<DisclosureCursor>,
    /// Page size.
    pub limit: usize,
    /// Deprecated offset paging: `(page from 1, page_size)`.
    pub legacy_page: Option<(usize, usize)>,
}

/// The free-text parameters, where an empty value means "not given".
const TEXT_PARAMETERS: [&str; 2] = ["q", "authority"];

/// The query-string pairs, decoded. An empty free-text value counts as absent; an empty
/// date, kind, number or cursor is an error when it is read (it is none of those).
fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
        .filter(|(k, v)| !(v.is_empty() && TEXT_PARAMETERS.contains(&k.as_str())))
        .collect()
}

fn once<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ParamError> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(ParamError::new(
            name,
            "is given more than once; give it once",
        ));
    }
    Ok(first)
}

/// Refuses a parameter the route does not take (the answer lists those it takes).
fn unknown(pairs: &[(String, String)], known: &[&str]) -> Result<(), ParamError> {
    match pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(ParamError::new(k, "is not a parameter of this route")),
        None => Ok(()),
    }
}

fn day(pairs: &[(String, String)], name: &str) -> Result<Option<NaiveDate>, ParamError> {
    once(pairs, name)?
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                ParamError::new(
                    name,
                    format!("`{text}` is not a calendar day; write YYYY-MM-DD, e.g. 2024-06-01"),
                )
            })
        })
        .transpose()
}

fn number(
    pairs: &[(String, String)],
    name: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, ParamError> {
    once(pairs, name)?
        .map(|text| match text.parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ParamError::new(
                name,
                format!(
                    "`{text}` is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        })
        .transpose()
}

fn kinds(pairs: &[(String, String)]) -> Result<Vec<RecordKind>, ParamError> {
    let mut kinds = Vec::new();
    for text in pairs
        .iter()
        .filter(|(k, _)| k == "kind")
        .flat_map(|(_, v)| v.split([',', '，']))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let listed: Vec<&str> = RecordKind::ALL
            .into_iter()
            .filter(|k| is_dishonesty(*k))
            .map(RecordKind::code)
            .collect();
        let Some(kind) = RecordKind::from_name(text) else {
            return Err(ParamError::new(
                "kind",
                format!(
                    "`{text}` is not a record kind; give codes or Chinese labels of {}",
                    listed.join(", ")
                ),
            ));
        };
        if !is_dishonesty(kind) {
            return Err(ParamError::new(
                "kind",
                format!(
                    "{} ({}) records are not on the public disclosure list; give one of {}",
                    kind.code(),
                    kind.label(),
                    listed.join(", ")
                ),
            ));
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Parses the list's query string; `today` is the current day in Asia/Shanghai (the
/// default `as_of`).
pub fn parse_list_query(raw: Option<&str>, today: NaiveDate) -> Result<ListRequest, ParamError> {
    let pairs = pairs(raw);
    let known = [
        "q",
        "kind",
        "authority",
        "decided_from",
        "decided_to",
        "as_of",
        "limit",
        "cursor",
        "page",
        "page_size",
    ];
    unknown(&pairs, &known)?;
    let mut filter = DisclosureFilter::new(as_of(&pairs, today)?, today);
    filter.query = once(&pairs, "q")?.map(str::to_owned);
    filter.kinds = kinds(&pairs)?;
    filter.authority = once(&pairs, "authority")?.map(str::to_owned);
    filter.decided_from = day(&pairs, "decided_from")?;
    filter.decided_to = day(&pairs, "decided_to")?;
    if let (Some(from), Some(to)) = (filter.decided_from, filter.decided_to)
        && from > to
    {
        return Err(ParamError::new(
            "decided_from",
            format!("{from} is after decided_to ({to}); give a start on or before the end"),
        ));
    }
    let limit = number(&pairs, "limit", 1..=MAX_PAGE_SIZE)?;
    let after = once(&pairs, "cursor")?
        .map(|text| {
            DisclosureCursor::parse(text).map_err(|e| ParamError::new("cursor", e.to_string()))
        })
        .transpose()?;
    let page = number(&pairs, "page", 1..=usize::MAX)?;
    let page_size = number(&pairs, "page_size", 1..=MAX_PAGE_SIZE)?;
    let legacy_page = match (page, page_size) {
        (None, None) => None,
        (page, page_size) => {
            if after.is_some() || limit.is_some() {
                return Err(ParamError::new(
                    if page.is_some() { "page" } else { "page_size" },
                    "cannot be combined with `limit` or `cursor`; page with `limit` and \
                     `cursor` (page and page_size are deprecated)",
                ));
            }
            let (page, size) = (page.unwrap_or(1), page_size.unwrap_or(DEFAULT_LIMIT));
            if (page - 1).saturating_mul(size) > MAX_LEGACY_OFFSET {
                return Err(ParamError::new(
                    "page",
                    format!(
                        "page {page} of {size} starts past entry {MAX_LEGACY_OFFSET}, the deepest \
                         that numbered pages reach; follow `next_cursor` instead"
                    ),
                ));
            }
            Some((page, size))
        }
    };
    Ok(ListRequest {
        filter,
        after,
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        legacy_page,
    })
}

/// Parses the query string of an entity or record page (`as_of` only): the day.
pub fn parse_day_query(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate, ParamError> {
    let pairs = pairs(raw);
    unknown(&pairs, &["as_of"])?;
    as_of(&pairs, today)
}

/// The day asked for: today when not given. A later day shows what will still be public
/// then among what is published today (never what is published later).
fn as_of(pairs: &[(String, String)], today: NaiveDate) -> Result<NaiveDate, ParamError> {
    Ok(day(pairs, "as_of")?.unwrap_or(today))
}

/// The entries of a request, following cursors where the store stopped early: at most
/// `limit` entries from `after` on, and the cursor after them.
pub fn fetch(
    store: &dyn RecordStore,
    request: &ListRequest,
) -> Result<(Vec<DisclosureEntry>, Option<DisclosureCursor>), StoreError> {
    let Some((page, size)) = request.legacy_page else {
        let found =
            store.disclosure_page(&request.filter, request.after.as_ref(), request.limit)?;
        return Ok((found.items, found.next_cursor));
    };
    // Deprecated numbered pages: skip the entries before the page, then fill it, in at most
    // MAX_LEGACY_CALLS store pages (each bounded by the store's scan budget).
    let mut calls = 0;
    let mut next = |cursor: Option<&DisclosureCursor>, limit: usize| {
        calls += 1;
        if calls > MAX_LEGACY_CALLS {
            return Err(StoreError::InvalidQuery(format!(
                "page {page} is too deep for this filter to reach by number; page with `limit` \
                 and `cursor` instead (page and page_size are deprecated)"
            )));
        }
        store.disclosure_page(&request.filter, cursor, limit)
    };
    let mut cursor = None;
    let mut skip = (page - 1) * size;
    while skip > 0 {
        let found = next(cursor.as_ref(), skip.min(MAX_PAGE_SIZE))?;
        skip -= found.items.len();
        cursor = found.next_cursor;
        if cursor.is_none() {
            return Ok((Vec::new(), None));
        }
    }
    let mut items = Vec::new();
    loop {
        let found = next(cursor.as_ref(), size - items.len())?;
        items.extend(found.items);
        cursor = found.next_cursor;
        if cursor.is_none() || items.len() == size {
            return Ok((items, cursor));
        }
    }
}

/// Query of the public disclosure list (documentation of the parameters; the handler parses
/// the query string itself so that `kind` may repeat).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DisclosureQuery {
    /// Part of the entity's name, or the start of its USCC (1-18 letters and digits).
    q: Option<String>,
    /// Record kinds (code such as `DISHONEST_DEBTOR`, or Chinese label such as 失信被执行人):
    /// repeat the parameter or separate with commas. Default: every dishonesty kind
    /// (表彰奖励, 行政许可 and 信用等级 are never listed).
    kind: Option<Vec<String>>,
    /// Part of the deciding authority's name.
    authority: Option<String>,
    /// Decided on or after this day (YYYY-MM-DD).
    decided_from: Option<NaiveDate>,
    /// Decided on or before this day (YYYY-MM-DD).
    decided_to: Option<NaiveDate>,
    /// The day the list is for (default: today in Asia/Shanghai). A repaired or revoked
    /// record is never listed, for any day; a past day lists only what is still public today.
    as_of: Option<NaiveDate>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
    /// Deprecated: page number from 1 (numbered pages reach entry 10,000 at most and shift
    /// when records arrive; use `limit` and `cursor`). Not combinable with them.
    #[deprecated = "use limit and cursor"]
    page: Option<usize>,
    /// Deprecated: page size for `page`, 1 to 1000 (default 50).
    #[deprecated = "use limit and cursor"]
    page_size: Option<usize>,
}

/// Query of an entity's or a record's public page.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DayQuery {
    /// The day (default: today in Asia/Shanghai).
    as_of: Option<NaiveDate>,
}

/// A page of the public list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisclosureListView {
    /// The day the list is for.
    pub as_of: NaiveDate,
    /// Entries on this page, newest decision first (then USCC, then record id).
    pub items: Vec<DisclosureEntry>,
    /// Pass as `cursor` for the next page; null when the list is complete. A page may hold
    /// fewer than `limit` entries (even none) with a cursor when a rare filter made the
    /// server stop early: follow it.
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<DisclosureCursor>,
    /// The page number, for the deprecated `page` parameter only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    /// The page size, for the deprecated `page_size` parameter only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

fn today(state: &AppState) -> NaiveDate {
    crate::review::local_date(state.clock.now())
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::InvalidQuery(detail) => ApiError::bad_request("bad_query", detail),
        other => ApiError::internal(other),
    }
}

/// The public disclosure list (信用信息公示): who is on a dishonesty list, no token needed.
///
/// Keyset paging: pass the answer's `next_cursor` as `cursor` for the next page; records
/// stored between two requests never make an entry repeat or go missing. Changed in this
/// version: the answer has `next_cursor` and no longer a `total`; `page`/`page_size` still
/// work but are deprecated.
#[utoipa::path(get, path = "/api/v1/disclosure", tag = "records", params(DisclosureQuery),
    responses(
        (status = 200, description = "a page of the list", body = DisclosureListView),
        (status = 400, description = "a malformed parameter (`errors[0].at` names it)", body = super::Problem),
        (status = 429, description = "too many requests from this client (`Retry-After` says when to try again)", body = super::Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<AppJson<DisclosureListView>, ApiError> {
    let request = parse_list_query(raw.as_deref(), today(&state))
        .map_err(|e| e.into_api_error(LIST_PARAMETERS))?;
    blocking(move || {
        let (items, next_cursor) = fetch(state.store.as_ref(), &request).map_err(store_error)?;
        Ok(AppJson(DisclosureListView {
            as_of: request.filter.as_of,
            items,
            next_cursor,
            page: request.legacy_page.map(|(p, _)| p),
            page_size: request.legacy_page.map(|(_, s)| s),
        }))
    })
    .await
}

fn uscc_param(text: &str) -> Result<Uscc, ApiError> {
    Uscc::parse(text).map_err(|e| ApiError::bad_request("invalid_uscc", e.to_string()))
}

/// One entity's public entries on a day (the site groups them by kind).
#[utoipa::path(get, path = "/api/v1/disclosure/entities/{uscc}", tag = "records",
    params(("uscc" = String, Path, description = "统一社会信用代码, 18 characters"), DayQuery),
    responses(
        (status = 200, description = "the entity's name and its public entries, newest first (possibly none)", body = EntityDisclosure),
        (status = 400, description = "not a valid USCC, or a malformed `as_of`", body = super::Problem),
        (status = 404, description = "no record names this entity", body = super::Problem),
        (status = 429, description = "too many requests from this client (`Retry-After` says when to try again)", body = super::Problem),
    ))]
pub async fn entity(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<AppJson<EntityDisclosure>, ApiError> {
    let uscc = uscc_param(&uscc)?;
    let today = today(&state);
    let as_of = parse_day_query(raw.as_deref(), today).map_err(|e| e.into_api_error("as_of"))?;
    blocking(move || {
        match state
            .store
            .disclosure_of_entity(&uscc, as_of, today)
            .map_err(store_error)?
        {
            Some(found) => Ok(AppJson(found)),
            None => Err(ApiError::not_found(
                "entity_not_found",
                format!("no records are stored for `{uscc}`"),
            )),
        }
    })
    .await
}

/// One record's public page: every public field, its legal basis and disclosure period.
#[utoipa::path(get, path = "/api/v1/disclosure/entities/{uscc}/records/{id}", tag = "records",
    params(
        ("uscc" = String, Path, description = "统一社会信用代码, 18 characters"),
        ("id" = String, Path, description = "the record id (信息编号), as in the list's `id`"),
        DayQuery,
    ),
    responses(
        (status = 200, description = "the record's public fields", body = DisclosureRecord),
        (status = 400, description = "not a valid USCC, or a malformed `as_of`", body = super::Problem),
        (status = 404, description = "no such record is public on the day", body = super::Problem),
        (status = 429, description = "too many requests from this client (`Retry-After` says when to try again)", body = super::Problem),
    ))]
pub async fn record(
    State(state): State<AppState>,
    Path((uscc, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<AppJson<DisclosureRecord>, ApiError> {
    let uscc = uscc_param(&uscc)?;
    let today = today(&state);
    let as_of = parse_day_query(raw.as_deref(), today).map_err(|e| e.into_api_error("as_of"))?;
    blocking(move || {
        match state
            .store
            .disclosure_record(&uscc, &id, as_of, today)
            .map_err(store_error)?
        {
            Some(found) => Ok(AppJson(found)),
            None => Err(ApiError::not_found(
                "record_not_public",
                format!(
                    "no record `{id}` of `{uscc}` is public on {as_of} (it may not exist, be \
                     another entity's, be repaired or revoked, or be outside its disclosure period)"
                ),
            )),
        }
    })
    .await
}
