//! Rule sets: list, read a version's source, list versions, and submit a new
//! version for review (checked first; 422 with every diagnostic; 409 on a stale
//! base). Publishing happens only when the city office approves the draft
//! (see [`super::drafts`]).

use super::auth::{Role, require};
use super::drafts::{SubmitRequest, authorize_change, created, submit_draft};
use super::error::{ApiError, AppJson};
use super::{AppState, blocking};
use crate::compile::RuleSetMeta;
use crate::registry::Published;
use crate::store::{RuleSetVersion, source_hash};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A rule set's current version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleSetView {
    /// Header, chain and hash of the compiled rules (evaluation reports carry the same hash).
    pub meta: RuleSetMeta,
    /// SHA-256 of this rule set's own source: its version id.
    pub source_hash: String,
    /// The source text.
    pub source: String,
}

/// One entry of a rule set's version log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// The version id: SHA-256 of the source.
    pub hash: String,
    /// Rule-set id.
    pub ruleset_id: String,
    /// Who published it.
    pub author: String,
    /// When.
    pub time: DateTime<Utc>,
    /// Why.
    pub message: String,
    /// The version it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The source text (only when one version is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl VersionView {
    fn of(v: RuleSetVersion, with_source: bool) -> Self {
        VersionView {
            hash: v.hash,
            ruleset_id: v.ruleset_id,
            author: v.author,
            time: v.time,
            message: v.message,
            parent: v.parent,
            source: with_source.then_some(v.source),
        }
    }
}

/// A new version of a rule set, submitted for review.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The complete source text.
    pub source: String,
    /// `meta.hash` of the version this edit started from; absent: the version active now.
    #[serde(default)]
    pub base_hash: Option<String>,
    /// Why it changes.
    #[serde(default)]
    pub message: Option<String>,
    /// The day (Asia/Shanghai) it is to become active once approved; absent: on approval.
    #[serde(default)]
    pub activate_on: Option<NaiveDate>,
}

/// What a version going live changed (an approved draft).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishResponse {
    /// The new version.
    pub meta: RuleSetMeta,
    /// Its source hash.
    pub source_hash: String,
    /// Rule sets recompiled because they extend it.
    pub dependents: Vec<RuleSetMeta>,
    /// Warnings from the checker (the version was published anyway).
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<crate::diagnostic::DiagnosticJson>,
}

impl PublishResponse {
    /// The response for a version that went live.
    pub fn of(published: &Published, source_hash: String) -> Self {
        PublishResponse {
            meta: published.program.meta.clone(),
            source_hash,
            dependents: published.dependents.clone(),
            warnings: published
                .program
                .warnings
                .iter()
                .map(|d| d.to_json())
                .collect(),
        }
    }
}

fn readers() -> &'static [Role] {
    &[Role::CityOffice, Role::Bureau, Role::Evaluator]
}

/// Lists the live rule sets.
#[utoipa::path(get, path = "/api/v1/rulesets", tag = "rulesets", security(("bearer" = [])),
    responses(
        (status = 200, description = "every rule set's header and hash", body = Vec<RuleSetMeta>),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
    ))]
pub async fn list_rulesets(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<AppJson<Vec<RuleSetMeta>>, ApiError> {
    require(state.tokens.caller(&headers)?, readers())?;
    Ok(AppJson(state.registry.list()))
}

/// A rule set's current version with its source.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id, e.g. `water`")),
    responses(
        (status = 200, description = "the current version", body = RuleSetView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such rule set", body = super::Problem),
    ))]
pub async fn get_ruleset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<AppJson<RuleSetView>, ApiError> {
    require(state.tokens.caller(&headers)?, readers())?;
    let (Some(program), Some(file)) = (state.registry.get(&id), state.registry.source(&id)) else {
        return Err(ApiError::not_found(
            "ruleset_not_found",
            format!("there is no rule set `{id}`"),
        ));
    };
    Ok(AppJson(RuleSetView {
        meta: program.meta.clone(),
        source_hash: source_hash(&file.text),
        source: file.text.to_string(),
    }))
}

/// A rule set's published versions, oldest first.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/versions", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id")),
    responses(
        (status = 200, description = "the version log (without sources)", body = Vec<VersionView>),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such rule set", body = super::Problem),
    ))]
pub async fn list_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<VersionView>>, ApiError> {
    require(state.tokens.caller(&headers)?, readers())?;
    blocking(move || {
        let versions = state
            .store
            .ruleset_versions(&id)
            .map_err(ApiError::internal)?;
        if versions.is_empty() && state.registry.get(&id).is_none() {
            return Err(ApiError::not_found(
                "ruleset_not_found",
                format!("there is no rule set `{id}`"),
            ));
        }
        Ok(AppJson(
            versions
                .into_iter()
                .map(|v| VersionView::of(v, false))
                .collect(),
        ))
    })
    .await
}

/// One published version with its source.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/versions/{hash}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id"), ("hash" = String, Path, description = "version id (source hash)")),
    responses(
        (status = 200, description = "the version", body = VersionView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such version", body = super::Problem),
    ))]
pub async fn get_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, hash)): Path<(String, String)>,
) -> Result<AppJson<VersionView>, ApiError> {
    require(state.tokens.caller(&headers)?, readers())?;
    blocking(move || {
        let version = match super::evaluate::named_version(&state, &id, &hash)? {
            Some(v) => Some(v),
            None => state
                .registry
                .source(&id)
                .and_then(|f| state.store.ruleset_version(&source_hash(&f.text)).ok())
                .flatten(),
        };
        match version {
            Some(v) => Ok(AppJson(VersionView::of(v, true))),
            None => Err(ApiError::not_found(
                "version_not_found",
                format!("rule set `{id}` has no version `{hash}`"),
            )),
        }
    })
    .await
}

/// The two versions of [`diff_versions`].
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The older version: its hash, as listed by `/rulesets/{id}/versions`.
    pub from: String,
    /// The newer version's hash; default: the active version.
    #[serde(default)]
    pub to: Option<String>,
}

/// A semantic diff between two versions of a rule set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionDiffView {
    /// Rule-set id.
    pub ruleset: String,
    /// Source hash of the older version.
    pub from: String,
    /// Source hash of the newer version.
    pub to: String,
    /// True when the two versions mean the same.
    pub identical: bool,
    /// The semantic diff (`credit_rules::diff::RuleSetDiff`).
    #[schema(value_type = Object)]
    pub diff: crate::diff::RuleSetDiff,
    /// The same diff as readable text (bilingual headings, a unified diff per clause).
    pub text: String,
}

/// What changed between two versions of a rule set.
///
/// Clauses are matched by id, regardless of order, layout, comments and keyword language;
/// both versions are compiled with the active versions of the rule sets they extend.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/diff", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id"), DiffQuery),
    responses(
        (status = 200, description = "the diff", body = VersionDiffView),
        (status = 400, description = "bad query", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such rule set or version", body = super::Problem),
        (status = 422, description = "a version no longer checks with the active rule sets (`diagnostics`)", body = super::Problem),
    ))]
pub async fn diff_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AppJson<VersionDiffView>, ApiError> {
    require(state.tokens.caller(&headers)?, readers())?;
    let axum::extract::Query(query) =
        query.map_err(|r| super::drafts::query_error(r, "`from` and `to`"))?;
    blocking(move || {
        let active = state.registry.sources();
        let active_source = || {
            let file = active.get(&id).ok_or_else(|| {
                ApiError::not_found("ruleset_not_found", format!("there is no rule set `{id}`"))
            })?;
            Ok::<_, ApiError>((source_hash(&file.text), file.text.to_string()))
        };
        let version_source = |text: &str| -> Result<(String, String), ApiError> {
            match super::evaluate::named_version(&state, &id, text)? {
                Some(v) => Ok((v.hash, v.source)),
                None => active_source(),
            }
        };
        let (from_hash, from_source) = version_source(&query.from)?;
        let (to_hash, to_source) = match &query.to {
            Some(text) => version_source(text)?,
            None => active_source()?,
        };
        let side = |hash: &str, source: String| {
            let mut files = active.clone();
            let file = crate::source::SourceFile::new(
                format!("{id}@{}.rules", &hash[..12.min(hash.len())]),
                source,
            );
            files.insert(id.clone(), file);
            files.into_values().collect::<Vec<_>>()
        };
        let old = side(&from_hash, from_source);
        let new = side(&to_hash, to_source);
        let diff = crate::diff::diff_sources(&old, &id, &new, &id)
            .map_err(|e| ApiError::invalid_rules(e.diagnostics()))?;
        Ok(AppJson(VersionDiffView {
            identical: diff.is_empty(),
            text: diff.render_text(),
            ruleset: id,
            from: from_hash,
            to: to_hash,
            diff,
        }))
    })
    .await
}

/// Submits a new version for review (does not publish it).
///
/// The same as `POST /api/v1/drafts` with the rule-set id from the path. Nothing is
/// published here: a version becomes active only when the city office approves its draft
/// (`POST /api/v1/drafts/{id}/approve`), for bureaus and the city office alike.
#[utoipa::path(put, path = "/api/v1/rulesets/{id}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id (must match the source's header)")),
    request_body = PublishRequest,
    responses(
        (status = 202, description = "accepted for review: saved as a pending draft (header `Location`); not yet active", body = super::drafts::DraftView),
        (status = 400, description = "the source declares another id", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "not this caller's sector", body = super::Problem),
        (status = 409, description = "`base_hash` is no longer the active version", body = super::Problem),
        (status = 422, description = "the rules have errors: `diagnostics` lists them with line and column", body = super::Problem),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AppJson(request): AppJson<PublishRequest>,
) -> Result<Response, ApiError> {
    let caller = require(
        state.tokens.caller(&headers)?,
        &[Role::CityOffice, Role::Bureau],
    )?;
    authorize_change(&state, &caller, &id, &request.source)?;
    let request = SubmitRequest {
        ruleset: id,
        source: request.source,
        base_hash: request.base_hash,
        message: request.message,
        activate_on: request.activate_on,
    };
    blocking(move || {
        let view = submit_draft(&state, &caller, &request)?;
        Ok(created(view, StatusCode::ACCEPTED))
    })
    .await
}
