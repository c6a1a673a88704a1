//! Rule sets: list, read a version's source, list versions, and submit a new
//! version for review (checked first; 422 with every diagnostic; 409 on a stale
//! base). Publishing happens only when the city office approves the draft
//! (see [`super::drafts`]).

use super::auth::{Caller, Role};
use super::drafts::query_error;
use super::drafts::{SubmitRequest, authorize_change, created, submit_draft};
use super::error::{ApiError, AppJson};
use super::paging::{self, Page};
use super::{AppState, blocking, blocking_within};
use crate::compile::RuleSetMeta;
use crate::registry::Published;
use crate::store::{RuleSetVersion, source_hash};
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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

pub(super) fn readers() -> &'static [Role] {
    &[Role::CityOffice, Role::Bureau, Role::Evaluator]
}

/// Paging of a list: `limit` (1 to 1000, default 50) and `cursor` (`next_cursor` of the previous page).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists the live rule sets.
///
/// By id; paged: `limit` and `cursor`, answered as `{items, next_cursor}` (until this
/// version the answer was a bare array).
#[utoipa::path(get, path = "/api/v1/rulesets", tag = "rulesets", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "a page of rule sets: header and hash", body = super::paging::schemas::RuleSetPage),
        (status = 400, description = "bad query", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
    ))]
pub async fn list_rulesets(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<AppJson<Page<RuleSetMeta>>, ApiError> {
    caller.require(readers())?;
    let Query(query) = query.map_err(|r| query_error(r, "`limit` and `cursor`"))?;
    let limit = paging::limit(query.limit)?;
    let mut all = state.registry.list();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let after = query.cursor;
    let items: Vec<RuleSetMeta> = all
        .into_iter()
        .filter(|m| after.as_deref().is_none_or(|a| m.id.as_str() > a))
        .take(limit + 1)
        .collect();
    Ok(AppJson(paging::page(items, limit, |m: &RuleSetMeta| {
        m.id.clone()
    })))
}

/// A rule set's current version with its source.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id, e.g. `water`")),
    responses(
        (status = 200, description = "the current version", body = RuleSetView),
        (status = 400, description = "an id with a control character (`invalid_id`)", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such rule set", body = super::Problem),
    ))]
pub async fn get_ruleset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<RuleSetView>, ApiError> {
    caller.require(readers())?;
    check_ruleset_id(&id)?;
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
///
/// Paged: `limit` and `cursor`, answered as `{items, next_cursor}` (until this version the
/// answer was a bare array).
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/versions", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id"), PageQuery),
    responses(
        (status = 200, description = "a page of the version log (without sources)", body = super::paging::schemas::VersionPage),
        (status = 400, description = "bad query, or an id with a control character (`invalid_id`)", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such rule set", body = super::Problem),
    ))]
pub async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<AppJson<Page<VersionView>>, ApiError> {
    caller.require(readers())?;
    check_ruleset_id(&id)?;
    let Query(query) = query.map_err(|r| query_error(r, "`limit` and `cursor`"))?;
    let limit = paging::limit(query.limit)?;
    let skip = paging::numeric_cursor(query.cursor.as_deref())?.unwrap_or(0);
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
        let start = usize::try_from(skip).unwrap_or(usize::MAX);
        let items: Vec<(usize, VersionView)> = versions
            .into_iter()
            .enumerate()
            .skip(start)
            .take(limit + 1)
            .map(|(i, v)| (i, VersionView::of(v, false)))
            .collect();
        let page = paging::page(items, limit, |(i, _)| (i + 1).to_string());
        Ok(AppJson(Page {
            items: page.items.into_iter().map(|(_, v)| v).collect(),
            next_cursor: page.next_cursor,
        }))
    })
    .await
}

/// One published version with its source.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/versions/{hash}", tag = "rulesets", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule-set id"), ("hash" = String, Path, description = "version id (source hash)")),
    responses(
        (status = 200, description = "the version", body = VersionView),
        (status = 400, description = "an id with a control character (`invalid_id`)", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such version", body = super::Problem),
    ))]
pub async fn get_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, hash)): Path<(String, String)>,
) -> Result<AppJson<VersionView>, ApiError> {
    caller.require(readers())?;
    check_ruleset_id(&id)?;
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
#[into_params(parameter_in = Query)]
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
    caller: Caller,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AppJson<VersionDiffView>, ApiError> {
    caller.require(readers())?;
    check_ruleset_id(&id)?;
    let axum::extract::Query(query) = query.map_err(|r| query_error(r, "`from` and `to`"))?;
    blocking(move || {
        let (from_hash, to_hash, diff) =
            version_diff(&state, &id, &query.from, query.to.as_deref())?;
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

/// The diff of two versions of rule set `id` (`from` and `to`: `@active` or a version
/// hash; `to` absent: the active version), both compiled with the active versions of the
/// rule sets they extend: (from hash, to hash, diff).
pub(super) fn version_diff(
    state: &AppState,
    id: &str,
    from: &str,
    to: Option<&str>,
) -> Result<(String, String, crate::diff::RuleSetDiff), ApiError> {
    let id = id.to_owned();
    let active = state.registry.sources();
    let active_source = || {
        let file = active.get(&id).ok_or_else(|| {
            ApiError::not_found("ruleset_not_found", format!("there is no rule set `{id}`"))
        })?;
        Ok::<_, ApiError>((source_hash(&file.text), file.text.to_string()))
    };
    let version_source = |text: &str| -> Result<(String, String), ApiError> {
        match super::evaluate::named_version(state, &id, text)? {
            Some(v) => Ok((v.hash, v.source)),
            None => active_source(),
        }
    };
    let (from_hash, from_source) = version_source(from)?;
    let (to_hash, to_source) = match to {
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
    Ok((from_hash, to_hash, diff))
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
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<PublishRequest>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::CityOffice, Role::Bureau])?;
    let AppJson(request) = body?;
    let request = SubmitRequest {
        ruleset: id,
        source: request.source,
        base_hash: request.base_hash,
        message: request.message,
        activate_on: request.activate_on,
    };
    let budget = state.check_budget;
    blocking_within(budget, move || {
        authorize_change(&state, &caller, &request.ruleset, &request.source)?;
        let view = submit_draft(&state, &caller, &request)?;
        Ok(created(view, StatusCode::ACCEPTED))
    })
    .await
}

/// Refuses a rule-set id in a path that holds a control character (`water%00`): ids are
/// matched exactly, and such an id can name no rule set.
pub(super) fn check_ruleset_id(id: &str) -> Result<(), ApiError> {
    match crate::record::control_character(id) {
        Some((position, c)) => Err(ApiError::bad_request(
            "invalid_id",
            format!(
                "the rule-set id holds the control character U+{:04X} at position {position}; \
                 rule-set ids are matched exactly and contain no control characters, e.g. \
                 `water` or `city.base`",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// The query of `GET /api/v1/rulesets/{id}/document`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// `md`, `html` (an embeddable fragment) or `docx`; default `html`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub format: Option<crate::render::Format>,
    /// A published version's hash (as listed by `/rulesets/{id}/versions`); default: the active one.
    #[serde(default)]
    pub version: Option<String>,
    /// HTML only: a complete page instead of a fragment.
    #[serde(default)]
    pub standalone: Option<bool>,
    /// The tender's bid-opening day (YYYY-MM-DD), named as the credit query day.
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub opening: Option<NaiveDate>,
    /// The project's name, printed in the title block.
    #[serde(default)]
    pub project: Option<String>,
    /// `false` when the tender accepts no consortium bids (the consortium part is left out).
    #[serde(default)]
    pub consortium: Option<bool>,
}

/// The credit chapter of a tender document, generated from a rule set.
///
/// Public (no token): what a tender document prints is public. The same chapter as
/// `credit-rules render`: Markdown, an HTML fragment (semantic, escaped, no script or
/// style: embeddable under a strict Content-Security-Policy) or a Word file, with the
/// rule set's hash and effective date in the Word footer. Internal notes are never printed.
#[utoipa::path(get, path = "/api/v1/rulesets/{id}/document", tag = "rulesets",
    params(("id" = String, Path, description = "rule-set id"), DocumentQuery),
    responses(
        (status = 200, description = "the chapter, with `Content-Disposition` naming the file (RFC 5987 `filename*` for the Chinese title)", content(
            (String = "text/html"),
            (String = "text/markdown"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        )),
        (status = 400, description = "bad query", body = super::Problem),
        (status = 404, description = "no such rule set or version", body = super::Problem),
        (status = 422, description = "the version no longer checks with the active rule sets (`diagnostics`)", body = super::Problem),
        (status = 429, description = "too many requests from this client (`Retry-After` says when to try again)", body = super::Problem),
    ))]
pub async fn document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DocumentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Query(query) = query.map_err(|r| {
        super::drafts::query_error(
            r,
            "`format` (md, html, docx), `version`, `standalone`, `opening`, `project`, `consortium`",
        )
    })?;
    check_ruleset_id(&id)?;
    blocking(move || {
        let mut sources = state.registry.sources();
        if !sources.contains_key(&id) {
            return Err(ApiError::not_found(
                "ruleset_not_found",
                format!("there is no rule set `{id}`"),
            ));
        }
        if let Some(hash) = &query.version {
            let version = state
                .store
                .ruleset_version(hash)
                .ok()
                .flatten()
                .filter(|v| v.ruleset_id == id)
                .ok_or_else(|| {
                    ApiError::not_found(
                        "version_not_found",
                        format!(
                            "rule set `{id}` has no version `{hash}`; \
                             GET /api/v1/rulesets/{id}/versions lists them"
                        ),
                    )
                })?;
            let name = format!("{id}@{}.rules", &version.hash[..12.min(version.hash.len())]);
            sources.insert(
                id.clone(),
                crate::source::SourceFile::new(name, version.source),
            );
        }
        let mut workspace = crate::ruleset::Workspace::new();
        for file in sources.into_values() {
            workspace.add_source(file, None);
        }
        let program = workspace
            .compile(&id)
            .map_err(|d| ApiError::invalid_rules(&d))?;
        let format = query.format.unwrap_or(crate::render::Format::Html);
        let options = crate::render::RenderOptions {
            format,
            standalone: query.standalone.unwrap_or(false),
            facts: crate::render::TenderFacts {
                project: query.project,
                opening: query.opening,
                consortium: query.consortium,
            },
        };
        let bytes = crate::render::render(&program, &workspace.library, &options);
        let file_name = crate::render::file_name(&program, format);
        Ok(document_response(format, &file_name, bytes))
    })
    .await
}

/// The answer for a rendered chapter: its media type and a `Content-Disposition`
/// with an ASCII fallback name and the real (Chinese) one as RFC 5987 `filename*`.
fn document_response(format: crate::render::Format, file_name: &str, bytes: Vec<u8>) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = match format {
        crate::render::Format::Docx => "attachment",
        _ => "inline",
    };
    let value = format!(
        "{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        rfc5987(file_name)
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, value),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Percent-encodes a file name for `filename*=UTF-8''…` (RFC 5987 `attr-char` kept).
fn rfc5987(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rfc5987;

    #[test]
    fn file_names_are_percent_encoded_as_utf8() {
        assert_eq!(
            rfc5987("水务-2024.1.docx"),
            "%E6%B0%B4%E5%8A%A1-2024.1.docx"
        );
        assert_eq!(rfc5987("a b\"c"), "a%20b%22c");
    }
}
