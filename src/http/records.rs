//! Records: intake from the provincial platform, entity lookup, the public
//! disclosure list (向社会公示), and the decision log.

use super::auth::{Caller, Role};
use super::drafts::query_error;
use super::error::{ApiError, AppJson, ItemError};
use super::paging::{self, Page};
use super::{AppState, blocking};
use crate::record::{CreditRecord, RecordKind, Uscc};
use crate::store::{DecisionQuery, LoggedDecision};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Largest page of a listing.
pub const MAX_PAGE_SIZE: usize = 200;

/// An entity and its stored records.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntityView {
    /// The entity's 统一社会信用代码.
    pub uscc: Uscc,
    /// Its latest known name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Every stored record (repaired, revoked and expired ones too), by id.
    pub records: Vec<CreditRecord>,
}

/// Looks an entity up by USCC.
#[utoipa::path(get, path = "/api/v1/entities/{uscc}", tag = "records", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "统一社会信用代码, 18 characters")),
    responses(
        (status = 200, description = "the entity and its records", body = EntityView),
        (status = 400, description = "not a valid USCC", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no records for this entity", body = super::Problem),
    ))]
pub async fn entity(
    State(state): State<AppState>,
    caller: Caller,
    Path(uscc): Path<String>,
) -> Result<AppJson<EntityView>, ApiError> {
    caller.require(&[Role::CityOffice, Role::Bureau, Role::Evaluator])?;
    let uscc =
        Uscc::parse(&uscc).map_err(|e| ApiError::bad_request("invalid_uscc", e.to_string()))?;
    blocking(move || {
        let entity = state.store.entity(&uscc).map_err(ApiError::internal)?;
        let Some(entity) = entity else {
            return Err(ApiError::not_found(
                "entity_not_found",
                format!("no records are stored for `{uscc}`"),
            ));
        };
        let records = state.store.records_of(&uscc).map_err(ApiError::internal)?;
        Ok(AppJson(EntityView {
            uscc,
            name: entity.name,
            records,
        }))
    })
    .await
}

/// Query of the public disclosure list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DisclosureQuery {
    /// Part of a name or USCC to search for.
    pub q: Option<String>,
    /// Only this record kind (code, e.g. `DISHONEST_DEBTOR`, or Chinese label).
    pub kind: Option<String>,
    /// The day the list is for (default: today).
    pub as_of: Option<NaiveDate>,
    /// Page, from 1 (default 1).
    pub page: Option<usize>,
    /// Page size, 1 to 200 (default 50).
    pub page_size: Option<usize>,
}

/// One line of the public list: public fields only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisclosureItem {
    /// Entity name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 统一社会信用代码.
    pub uscc: Uscc,
    /// Record kind code.
    pub kind: RecordKind,
    /// Its Chinese label.
    pub kind_label: String,
    /// Deciding authority (认定机关).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Decision document number (决定文书号).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    /// Decision date (认定日期).
    pub decided_on: NaiveDate,
    /// Last day of disclosure; absent: until removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_until: Option<NaiveDate>,
    /// Legal basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

/// A page of the public list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisclosurePage {
    /// The day the list is for.
    pub as_of: NaiveDate,
    /// Entries on this page.
    pub items: Vec<DisclosureItem>,
    /// Entries on all pages.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Page size.
    pub page_size: usize,
}

/// The public disclosure list: who is currently on a dishonesty list. No token needed.
#[utoipa::path(get, path = "/api/v1/disclosure", tag = "records", params(DisclosureQuery),
    responses(
        (status = 200, description = "a page of the list", body = DisclosurePage),
        (status = 400, description = "bad query", body = super::Problem),
    ))]
pub async fn disclosure(
    State(state): State<AppState>,
    Query(query): Query<DisclosureQuery>,
) -> Result<AppJson<DisclosurePage>, ApiError> {
    let page = query.page.unwrap_or(1);
    let page_size = query.page_size.unwrap_or(50);
    if page == 0 || page > 1_000_000 || page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "paging",
            format!("page counts from 1; page_size is 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let kinds =
        match &query.kind {
            Some(k) => vec![RecordKind::from_name(k).ok_or_else(|| {
                ApiError::bad_request("kind", format!("unknown record kind `{k}`"))
            })?],
            None => Vec::new(),
        };
    let as_of = query.as_of.unwrap_or_else(|| Utc::now().date_naive());
    blocking(move || {
        let found = state
            .store
            .disclosure_list(
                as_of,
                query.q.as_deref().filter(|q| !q.is_empty()),
                &kinds,
                page,
                page_size,
            )
            .map_err(|e| ApiError::bad_request("disclosure", e.to_string()))?;
        let items = found
            .items
            .into_iter()
            .map(|e| DisclosureItem {
                name: e.name,
                uscc: e.uscc,
                kind: e.kind,
                kind_label: e.kind_label,
                authority: e.authority,
                document_no: e.document_no,
                decided_on: e.decided_on,
                disclosure_until: e.disclosure_until,
                legal_basis: e.legal_basis,
            })
            .collect();
        Ok(AppJson(DisclosurePage {
            as_of,
            items,
            total: found.total,
            page: found.page,
            page_size: found.page_size,
        }))
    })
    .await
}

/// Query of the decision log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    /// Only decisions about this entity.
    pub uscc: Option<String>,
    /// Only decisions under this rule set.
    pub ruleset: Option<String>,
    /// Only decisions made at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only decisions made before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only entries after this sequence number (the older way of paging, still accepted;
    /// the same as `cursor`).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// One logged decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// Sequence number.
    pub seq: u64,
    /// When it was made.
    pub time: DateTime<Utc>,
    /// Rule-set id.
    pub ruleset: String,
    /// Hash of the rules applied.
    pub hash: String,
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// The entities evaluated.
    pub usccs: Vec<Uscc>,
    /// `eligible`, `disqualified` or `review`.
    pub decision: String,
    /// Total credit points.
    pub total: rust_decimal::Decimal,
    /// The report as given to the caller, less the rule texts (wording, basis and
    /// explanation of each clause), which the rule-set version named by `hash` supplies.
    #[schema(value_type = Object)]
    pub report: crate::store::ReportJson,
    /// The `x-request-id` of the request that asked (absent in older entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Who asked: token holder's name and role (absent in older entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<crate::store::Actor>,
}

impl From<LoggedDecision> for DecisionView {
    fn from(d: LoggedDecision) -> Self {
        let e = d.entry;
        DecisionView {
            seq: d.seq,
            time: e.time,
            ruleset: e.ruleset_id,
            hash: e.version_hash,
            as_of: e.as_of,
            usccs: e.usccs,
            decision: e.decision,
            total: e.total,
            report: e.report,
            request_id: e.request_id,
            caller: e.caller,
        }
    }
}

/// The decision log (监管): every evaluation answered, queryable by entity, rule set and time.
///
/// Paged like every list: `limit` and `cursor`, answered as `{items, next_cursor}` (until
/// this version the answer was a bare array; `after` is still accepted).
#[utoipa::path(get, path = "/api/v1/decisions", tag = "records", security(("bearer" = [])), params(DecisionsQuery),
    responses(
        (status = 200, description = "a page of matching decisions in log order", body = super::paging::schemas::DecisionPage),
        (status = 400, description = "bad query", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the city office reads the log", body = super::Problem),
    ))]
pub async fn decisions(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DecisionsQuery>, QueryRejection>,
) -> Result<AppJson<Page<DecisionView>>, ApiError> {
    caller.require(&[Role::CityOffice])?;
    let Query(query) = query.map_err(|r| {
        query_error(
            r,
            "`uscc`, `ruleset`, `from`, `until` (RFC 3339 times), `limit` and `cursor`",
        )
    })?;
    let uscc = match &query.uscc {
        Some(u) => {
            Some(Uscc::parse(u).map_err(|e| ApiError::bad_request("invalid_uscc", e.to_string()))?)
        }
        None => None,
    };
    let limit = paging::limit(query.limit)?;
    let old_after = query
        .after
        .map(|a| {
            u64::try_from(a).map_err(|_| {
                ApiError::bad_request("bad_query", "`after` is a sequence number, 0 or more")
            })
        })
        .transpose()?;
    let after = paging::numeric_cursor(query.cursor.as_deref())?.or(old_after);
    let filter = DecisionQuery {
        uscc,
        ruleset_id: query.ruleset,
        from: query.from,
        until: query.until,
        after_seq: after,
        limit: limit + 1,
    };
    blocking(move || {
        let found = state.store.decisions(&filter).map_err(ApiError::internal)?;
        let views = found.into_iter().map(DecisionView::from).collect();
        Ok(AppJson(paging::page(views, limit, |d: &DecisionView| {
            d.seq.to_string()
        })))
    })
    .await
}

/// A batch pushed by the provincial platform.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    /// Rows in the provincial platform's own shapes (双公示 penalty columns, court, lists,
    /// grades, repair/revocation events) or records in this service's schema.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// What an intake batch did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntakeResponse {
    /// Items received.
    pub received: usize,
    /// New records stored.
    pub inserted: usize,
    /// Records changed (previous version kept in history).
    pub updated: usize,
    /// Records re-sent unchanged (no-op).
    pub unchanged: usize,
    /// Repair/revocation events applied.
    pub events_applied: usize,
    /// Items refused, with the reason; the others were stored.
    pub rejected: Vec<ItemError>,
}

/// Largest intake batch.
pub const MAX_INTAKE_ITEMS: usize = 5_000;

/// Receives a batch of records and events; idempotent by source record id.
#[utoipa::path(post, path = "/api/v1/records", tag = "records", security(("bearer" = [])), request_body = IntakeRequest,
    responses(
        (status = 200, description = "stored; per-item problems in `rejected`", body = IntakeResponse),
        (status = 400, description = "bad batch", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the intake role pushes records", body = super::Problem),
        (status = 422, description = "malformed body", body = super::Problem),
    ))]
pub async fn intake(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<AppJson<IntakeRequest>, ApiError>,
) -> Result<AppJson<IntakeResponse>, ApiError> {
    caller.require(&[Role::Intake])?;
    let AppJson(request) = body?;
    if request.items.len() > MAX_INTAKE_ITEMS {
        return Err(ApiError::bad_request(
            "batch",
            format!(
                "at most {MAX_INTAKE_ITEMS} items per batch, got {}",
                request.items.len()
            ),
        ));
    }
    blocking(move || {
        let summary = crate::import::ingest_values(state.store.as_ref(), &request.items)
            .map_err(ApiError::internal)?;
        metrics::counter!("intake_items_total").increment(request.items.len() as u64);
        Ok(AppJson(IntakeResponse {
            received: request.items.len(),
            inserted: summary.inserted,
            updated: summary.updated,
            unchanged: summary.unchanged,
            events_applied: summary.events_applied,
            rejected: summary
                .rejected
                .into_iter()
                .map(|(at, message)| ItemError { at, message })
                .collect(),
        }))
    })
    .await
}
