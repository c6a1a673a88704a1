//! Rule sets: list, read a version's source, list versions, and publish a
//! new version (checked first; 422 with every diagnostic; 409 on a stale base).

use super::auth::{Role, forbidden, require};
use super::error::{ApiError, AppJson};
use super::{AppState, blocking};
use crate::compile::RuleSetMeta;
use crate::registry::{PublishError, PublishWithError};
use crate::store::{NewRuleSetVersion, RuleSetVersion, source_hash};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
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

/// A new version of a rule set.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The complete source text.
    pub source: String,
    /// `meta.hash` of the version this edit started from; omit only for a new rule set.
    #[serde(default)]
    pub base_hash: Option<String>,
    /// Why it changes.
    #[serde(default)]
    pub message: Option<String>,
}

/// The result of a publish.
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
        let version = state
            .store
            .ruleset_version(&hash)
            .ok()
            .flatten()
            .filter(|v| v.ruleset_id == id);
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

/// Publishes a new version: checked with every rule set that extends it,
/// saved to the version log, then made live without blocking evaluations.
#[utoipa::path(put, path = "/api/v1/rulesets/{id}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id (must match the source's header)")),
    request_body = PublishRequest,
    responses(
        (status = 200, description = "published", body = PublishResponse),
        (status = 400, description = "the source declares another id", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "not this caller's sector", body = super::Problem),
        (status = 409, description = "someone published since `base_hash`", body = super::Problem),
        (status = 422, description = "the rules have errors: `diagnostics` lists them with line and column", body = super::Problem),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AppJson(request): AppJson<PublishRequest>,
) -> Result<AppJson<PublishResponse>, ApiError> {
    let caller = require(
        state.tokens.caller(&headers)?,
        &[Role::CityOffice, Role::Bureau],
    )?;
    if let Some(current) = state.registry.get(&id) {
        caller.may_edit_sector(current.meta.sector.as_deref())?;
    }
    let declared_sector = crate::syntax::parse(&crate::source::SourceFile::new(
        format!("{id}.rules"),
        request.source.as_str(),
    ))
    .map_err(|d| ApiError::invalid_rules(&d))?
    .header
    .sector
    .map(|s| s.value);
    caller.may_edit_sector(declared_sector.as_deref())?;
    if caller.role == Role::Bureau && state.registry.get(&id).is_none() && declared_sector.is_none()
    {
        return Err(forbidden("a bureau's rule set must declare its sector"));
    }
    blocking(move || {
        let store = state.store.clone();
        let message = request.message.clone().unwrap_or_default();
        let persist = |_: &crate::registry::Published| {
            store
                .put_ruleset_version(&NewRuleSetVersion {
                    ruleset_id: &id,
                    source: &request.source,
                    author: &caller.name,
                    message: &message,
                    time: Utc::now(),
                })
                .map(|_| ())
        };
        match state.registry.publish_with(
            &id,
            &request.source,
            request.base_hash.as_deref(),
            persist,
        ) {
            Ok(published) => Ok(AppJson(PublishResponse {
                meta: published.program.meta.clone(),
                source_hash: source_hash(&request.source),
                dependents: published.dependents,
                warnings: published
                    .program
                    .warnings
                    .iter()
                    .map(|d| d.to_json())
                    .collect(),
            })),
            Err(PublishWithError::Publish(PublishError::Invalid(d))) => {
                Err(ApiError::invalid_rules(&d))
            }
            Err(PublishWithError::Publish(e @ PublishError::Stale { .. })) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "stale_version",
                e.to_string(),
            )),
            Err(PublishWithError::Publish(e @ PublishError::WrongId { .. })) => {
                Err(ApiError::bad_request("wrong_id", e.to_string()))
            }
            Err(PublishWithError::Persist(e)) => Err(ApiError::internal(e)),
        }
    })
    .await
}
