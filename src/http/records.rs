//! Records: intake from the provincial platform, entity lookup, and the decision log (the
//! public disclosure list is `disclosure.rs`).

use super::auth::{Caller, Role};
use super::drafts::query_error;
use super::error::{ApiError, AppJson, ItemError};
use super::paging::{self, Page};
use super::{AppState, blocking};
use crate::record::{CreditRecord, Uscc};
use crate::store::{DecisionQuery, LoggedDecision};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
    /// Each item is kept as the text received, so that numbers are read from their digits.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Box<serde_json::value::RawValue>>,
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
    /// Repair/revocation events applied (including events kept earlier and applied to a
    /// record that arrived now).
    pub events_applied: usize,
    /// Events whose record is not stored yet: kept durably and applied when the record
    /// arrives (`GET /api/v1/records/pending` lists them).
    pub events_pending: usize,
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
        // Kept for the console's intake status; the caller has them in the answer anyway.
        let kept = crate::import::rejections::of_batch(
            &format!("push by {}", caller.name),
            &request.items,
            &summary.rejected,
            chrono::Utc::now(),
        );
        if let Err(e) = crate::import::rejections::record(state.store.as_ref(), kept) {
            tracing::warn!(%e, "the rejected items could not be added to the store's list");
        }
        Ok(AppJson(IntakeResponse {
            received: request.items.len(),
            inserted: summary.inserted,
            updated: summary.updated,
            unchanged: summary.unchanged,
            events_applied: summary.events_applied,
            events_pending: summary.events_pending,
            rejected: summary
                .rejected
                .into_iter()
                .map(|(at, message)| ItemError { at, message })
                .collect(),
        }))
    })
    .await
}

/// Query of the pending events.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PendingQuery {
    /// At most this many (1 to 1000, default 50).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An event kept until its record arrives.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PendingView {
    /// The id of the record it is about.
    pub record_id: String,
    /// `repair` (信用修复) or `revoke` (撤销).
    pub kind: String,
    /// The day it takes effect.
    pub date: NaiveDate,
    /// The authority that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// A free-text note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A page of pending events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PendingList {
    /// The events, in record-id order.
    pub items: Vec<PendingView>,
    /// Pass it as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// Repair and revocation events received before their record: kept durably, applied in the
/// transaction that stores the record.
#[utoipa::path(get, path = "/api/v1/records/pending", tag = "records", security(("bearer" = [])), params(PendingQuery),
    responses(
        (status = 200, description = "a page of pending events", body = PendingList),
        (status = 400, description = "bad query or cursor", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the intake role and the city office", body = super::Problem),
    ))]
pub async fn pending_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PendingQuery>, QueryRejection>,
) -> Result<AppJson<PendingList>, ApiError> {
    caller.require(&[Role::Intake, Role::CityOffice])?;
    let Query(query) = query.map_err(|r| query_error(r, "`limit` and `cursor`"))?;
    let limit = paging::limit(query.limit)?;
    blocking(move || {
        let page = state
            .store
            .pending_events(query.cursor.as_deref(), limit)
            .map_err(|e| match e {
                crate::store::StoreError::InvalidQuery(m) => ApiError::bad_request("cursor", m),
                other => ApiError::internal(other),
            })?;
        Ok(AppJson(PendingList {
            items: page
                .items
                .into_iter()
                .map(|e| PendingView {
                    record_id: e.record_id,
                    kind: match e.kind {
                        crate::store::EventKind::Repair => "repair",
                        crate::store::EventKind::Revoke => "revoke",
                    }
                    .to_owned(),
                    date: e.date,
                    authority: e.authority,
                    note: e.note,
                    received_at: e.received_at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        }))
    })
    .await
}
