//! Records: intake from the provincial platform, entity lookup, and the decision log (the
//! public disclosure list is `disclosure.rs`).

use super::auth::{Role, require};
use super::error::{ApiError, AppJson, ItemError};
use super::{AppState, blocking};
use crate::record::{CreditRecord, Uscc};
use crate::store::{DecisionQuery, LoggedDecision};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
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
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<AppJson<EntityView>, ApiError> {
    require(
        state.tokens.caller(&headers)?,
        &[Role::CityOffice, Role::Bureau, Role::Evaluator],
    )?;
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
    /// Only entries after this sequence number (paging).
    pub after: Option<u64>,
    /// At most this many (1 to 200, default 50).
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
        }
    }
}

/// The decision log (监管): every evaluation answered, queryable by entity, rule set and time.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "records", security(("bearer" = [])), params(DecisionsQuery),
    responses(
        (status = 200, description = "matching decisions in log order", body = Vec<DecisionView>),
        (status = 400, description = "bad query", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the city office reads the log", body = super::Problem),
    ))]
pub async fn decisions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DecisionsQuery>,
) -> Result<AppJson<Vec<DecisionView>>, ApiError> {
    require(state.tokens.caller(&headers)?, &[Role::CityOffice])?;
    let uscc = match &query.uscc {
        Some(u) => {
            Some(Uscc::parse(u).map_err(|e| ApiError::bad_request("invalid_uscc", e.to_string()))?)
        }
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit is 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let filter = DecisionQuery {
        uscc,
        ruleset_id: query.ruleset,
        from: query.from,
        until: query.until,
        after_seq: query.after,
        limit,
    };
    blocking(move || {
        let found = state.store.decisions(&filter).map_err(ApiError::internal)?;
        Ok(AppJson(found.into_iter().map(DecisionView::from).collect()))
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
    headers: HeaderMap,
    AppJson(request): AppJson<IntakeRequest>,
) -> Result<AppJson<IntakeResponse>, ApiError> {
    require(state.tokens.caller(&headers)?, &[Role::Intake])?;
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
