//! Drafts under review (审核后发布): submit a new version of a rule set as a draft, list and
//! read drafts, see a draft's diff against the active version, approve or reject it with a
//! comment (city office), withdraw it (its author). The workflow itself is
//! [`crate::review`]; this module checks roles and sectors, and maps requests and errors.
//!
//! Who may do what:
//!
//! | | city office | bureau | others |
//! |---|---|---|---|
//! | submit | any rule set | its own sector's | 403 |
//! | list, read, diff | every draft | its own sector's drafts (another sector's: 404, as if absent) | 403 |
//! | approve, reject | yes | 403 | 403 |
//! | withdraw | drafts it submitted | drafts it submitted | 403 |

use super::auth::{Caller, Role, forbidden};
use super::error::{ApiError, AppJson};
use super::paging::{self, Page};
use super::rulesets::PublishResponse;
use super::{AppState, blocking, blocking_within};
use crate::diff::RuleSetDiff;
use crate::impact::{DEFAULT_TOP, ImpactError, ImpactOptions, ImpactReport};
use crate::review::{Decided, Review, ReviewError, Submission};
use crate::store::{Actor, Draft, DraftQuery, DraftStatus, ReviewEvent};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A draft as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftView {
    /// The draft's id.
    pub id: u64,
    /// The rule set it is a new version of.
    pub ruleset: String,
    /// `pending`, `approved` (waiting for `activate_on`), `active`, `rejected`, `withdrawn`
    /// or `stale` (its base moved or it no longer checks: resubmit).
    pub status: DraftStatus,
    /// The status in Chinese, e.g. 待审核.
    pub status_label: String,
    /// The sector its header declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Who submitted it.
    pub author: Actor,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Why the rule set changes.
    pub message: String,
    /// The day (Asia/Shanghai) it becomes active once approved; absent: on approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activate_on: Option<NaiveDate>,
    /// `meta.hash` of the active version it was written against (absent: a new rule set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_hash: Option<String>,
    /// For a pending or approved draft: whether that is still the active version (if not,
    /// approving it fails with 409 and marks it stale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_is_current: Option<bool>,
    /// SHA-256 of its source: its version hash once published.
    pub source_hash: String,
    /// For an active draft: the published version's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_hash: Option<String>,
    /// Its history, oldest first: submitted, approved, rejected, withdrawn, activated, stale.
    pub events: Vec<ReviewEvent>,
    /// The source text (when one draft is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The checker's warnings (on submission).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<crate::diagnostic::DiagnosticJson>,
    /// For a pending draft: the other pending drafts of the same rule set (approving one
    /// makes the others stale, so the reviewer should read them together). Absent: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_pending: Vec<u64>,
}

impl DraftView {
    fn of(draft: Draft, review: &Review<'_>, with_source: bool) -> DraftView {
        let base_is_current = (!draft.status.is_final()).then(|| review.base_is_current(&draft));
        let other_pending = if draft.status == DraftStatus::Pending {
            review.other_pending(&draft).unwrap_or_default()
        } else {
            Vec::new()
        };
        DraftView {
            other_pending,
            id: draft.id,
            ruleset: draft.ruleset_id,
            status: draft.status,
            status_label: draft.status.label().to_owned(),
            sector: draft.sector,
            author: draft.author,
            submitted_at: draft.submitted_at,
            message: draft.message,
            activate_on: draft.activate_on,
            base_hash: draft.base_hash,
            base_is_current,
            source_hash: draft.source_hash,
            published_hash: draft.published_hash,
            events: draft.events,
            source: with_source.then_some(draft.source),
            warnings: Vec::new(),
        }
    }
}

/// A new version of a rule set, submitted for review.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The rule set it is a new version of (must match the source's header).
    pub ruleset: String,
    /// The complete source text.
    pub source: String,
    /// `meta.hash` of the active version this edit started from (`GET /api/v1/rulesets/{id}`);
    /// when given and no longer active, the submission is refused with 409. Absent: the
    /// version active now.
    #[serde(default)]
    pub base_hash: Option<String>,
    /// Why it changes (shown to the reviewer, kept in the version log).
    #[serde(default)]
    pub message: Option<String>,
    /// The day (YYYY-MM-DD, Asia/Shanghai) it is to become active once approved; absent: as
    /// soon as it is approved. Not before today.
    #[serde(default)]
    pub activate_on: Option<NaiveDate>,
}

/// The city office's approval.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Why it is approved (required, kept in the history).
    pub comment: String,
    /// A day (Asia/Shanghai) replacing the draft's `activate_on`; not before today.
    #[serde(default)]
    pub activate_on: Option<NaiveDate>,
}

/// The city office's rejection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why it is rejected and what to change (required, kept in the history).
    pub comment: String,
}

/// The author's withdrawal.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Why (optional).
    #[serde(default)]
    pub comment: Option<String>,
}

/// The result of an approval.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApprovedView {
    /// The draft: `active`, or `approved` when it waits for its `activate_on`.
    pub draft: DraftView,
    /// What going live changed, when it went live now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishResponse>,
}

/// A draft compared with the rule set's active version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftDiffView {
    /// The draft's id.
    pub draft: u64,
    /// Rule-set id.
    pub ruleset: String,
    /// The draft's status.
    pub status: DraftStatus,
    /// `meta.hash` of the active version compared with (absent: a new rule set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_hash: Option<String>,
    /// Whether the active version is the one the draft was written against.
    pub base_is_current: bool,
    /// True when the draft means the same as the active version.
    pub identical: bool,
    /// The semantic diff (`credit_rules::diff::RuleSetDiff`); absent for a new rule set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub diff: Option<RuleSetDiff>,
    /// The same diff as readable text (bilingual headings, a unified diff per clause).
    pub text: String,
}

/// Most changed entities an impact answer lists.
pub const MAX_IMPACT_TOP: usize = 1000;

/// Most clause changes listed for one entity of an impact answer's `top` list (a draft with
/// thousands of clauses would otherwise repeat them for every listed entity).
pub const MAX_IMPACT_CLAUSES_PER_ENTITY: usize = 50;

/// Parameters of a draft's impact analysis.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImpactQuery {
    /// The evaluation date (YYYY-MM-DD); default: today in Asia/Shanghai.
    pub as_of: Option<NaiveDate>,
    /// How many of the most changed entities to list (0 to 1000; default 20).
    pub top: Option<usize>,
}

/// A draft's impact on the outcomes of the stored entities.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftImpactView {
    /// The draft's id.
    pub draft: u64,
    /// Rule-set id.
    pub ruleset: String,
    /// The draft's status.
    pub status: DraftStatus,
    /// Whether the active version is the one the draft was written against.
    pub base_is_current: bool,
    /// True for a brand-new rule set: the `old` side is then a rule set with no clause
    /// (everyone eligible, no points), so the report shows everything the draft would do.
    pub new_ruleset: bool,
    /// The impact report: the active version (`old`) against the draft (`new`). Each entity
    /// of `top` lists at most 50 clause changes.
    pub report: ImpactReport,
    /// Clause changes of `top` entities left out by that bound.
    pub omitted_clause_changes: usize,
    /// The same report as readable text.
    pub text: String,
}

/// Filters of the draft list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DraftListQuery {
    /// Only drafts of this rule set.
    pub ruleset: Option<String>,
    /// Only drafts in this status: pending, approved, active, rejected, withdrawn, stale.
    pub status: Option<String>,
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub(super) fn review(state: &AppState) -> Review<'_> {
    Review {
        registry: &state.registry,
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
    }
}

pub(super) fn editors() -> &'static [Role] {
    &[Role::CityOffice, Role::Bureau]
}

/// Checks that `caller` may submit `source` as a version of rule set `id`: the city office
/// any; a bureau only its own sector's, as the active version and the new source declare it.
pub(super) fn authorize_change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    source: &str,
) -> Result<(), ApiError> {
    if let Some(current) = state.registry.get(id) {
        caller.may_edit_sector(current.meta.sector.as_deref())?;
    }
    let declared_sector = crate::syntax::parse(&crate::source::SourceFile::new(
        format!("{id}.rules"),
        source,
    ))
    .map_err(|d| ApiError::invalid_rules(&d))?
    .header
    .sector
    .map(|s| s.value);
    caller.may_edit_sector(declared_sector.as_deref())?;
    if caller.role == Role::Bureau && state.registry.get(id).is_none() && declared_sector.is_none()
    {
        return Err(forbidden("a bureau's rule set must declare its sector"));
    }
    Ok(())
}

/// May `caller` see `draft`? The city office every one; a bureau its own sector's.
pub(super) fn may_see(caller: &Caller, draft: &Draft) -> bool {
    caller.role == Role::CityOffice
        || (caller.sector.is_some() && caller.sector == draft.sector && caller.role == Role::Bureau)
}

pub(super) fn parse_id(text: &str) -> Result<u64, ApiError> {
    if let Some((position, c)) = crate::record::control_character(text) {
        return Err(ApiError::bad_request(
            "invalid_id",
            format!(
                "the draft id holds the control character U+{:04X} at position {position}; \
                 draft ids are numbers, e.g. /api/v1/drafts/12",
                u32::from(c)
            ),
        ));
    }
    text.parse().map_err(|_| {
        ApiError::not_found(
            "draft_not_found",
            format!("there is no draft `{text}`; draft ids are numbers, e.g. /api/v1/drafts/12"),
        )
    })
}

/// Loads a draft the caller may see.
pub(super) fn visible_draft(
    review: &Review<'_>,
    caller: &Caller,
    id: u64,
) -> Result<Draft, ApiError> {
    let draft = review.draft(id).map_err(review_error)?;
    if !may_see(caller, &draft) {
        // The same answer as for a draft that does not exist: neither ids nor sectors of
        // other bureaus' drafts can be found out.
        return Err(review_error(ReviewError::UnknownDraft(id)));
    }
    Ok(draft)
}

/// Submits a version for review and answers with the saved draft.
pub(super) fn submit_draft(
    state: &AppState,
    caller: &Caller,
    request: &SubmitRequest,
) -> Result<DraftView, ApiError> {
    let review = review(state);
    let submitted = review
        .submit(&Submission {
            ruleset_id: &request.ruleset,
            source: &request.source,
            base_hash: request.base_hash.as_deref(),
            message: request.message.as_deref().unwrap_or_default(),
            activate_on: request.activate_on,
            author: caller.actor(),
        })
        .map_err(review_error)?;
    let mut view = DraftView::of(submitted.draft, &review, false);
    view.warnings = submitted.warnings.iter().map(|d| d.to_json()).collect();
    Ok(view)
}

/// `201 Created` with the draft's address.
pub(super) fn created(view: DraftView, status: StatusCode) -> Response {
    let location = format!("/api/v1/drafts/{}", view.id);
    (status, [(header::LOCATION, location)], AppJson(view)).into_response()
}

/// Maps a workflow refusal to the API's problem details.
pub(super) fn review_error(e: ReviewError) -> ApiError {
    let detail = e.to_string();
    match e {
        ReviewError::UnknownDraft(_) => ApiError::not_found("draft_not_found", detail),
        ReviewError::Invalid(d) => ApiError::invalid_rules(&d),
        ReviewError::WrongId { .. } => ApiError::bad_request("wrong_id", detail),
        ReviewError::Stale { .. } => ApiError::new(StatusCode::CONFLICT, "stale_version", detail),
        ReviewError::NoLongerChecks { diagnostics, .. } => {
            let mut error = ApiError::new(StatusCode::CONFLICT, "draft_stale", detail);
            error.diagnostics = diagnostics.iter().map(|d| d.to_json()).collect();
            error
        }
        ReviewError::WrongStatus { .. } => {
            ApiError::new(StatusCode::CONFLICT, "draft_status", detail)
        }
        ReviewError::ActivationPending { .. } => {
            ApiError::new(StatusCode::CONFLICT, "activation_pending", detail)
        }
        ReviewError::CommentRequired(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "comment_required", detail)
        }
        ReviewError::PastActivation { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "activate_on_past", detail)
        }
        ReviewError::NotAuthor { .. } => forbidden(detail),
        ReviewError::DraftInvalid(d) => {
            let mut error = ApiError::invalid_rules(&d);
            error.code = "draft_invalid";
            error.detail = detail;
            error
        }
        ReviewError::NoActiveVersion(_) => {
            ApiError::new(StatusCode::CONFLICT, "no_active_version", detail)
        }
        ReviewError::NoChange(_) => ApiError::new(StatusCode::CONFLICT, "no_change", detail),
        ReviewError::Impact(ImpactError::Options(_)) => ApiError::bad_request("bad_query", detail),
        ReviewError::Diff(_) | ReviewError::Impact(_) | ReviewError::Store(_) => {
            ApiError::internal(detail)
        }
    }
}

/// A query string that does not parse, as a problem naming the parameters the route takes.
pub(super) fn query_error(rejection: QueryRejection, parameters: &str) -> ApiError {
    ApiError::bad_request(
        "bad_query",
        format!(
            "{} (the parameters are {parameters})",
            rejection.body_text()
        ),
    )
}

/// Submits a new version of a rule set as a draft.
///
/// The source is checked first against the active rule sets, together with every rule set
/// extending it (422 with every diagnostic). A bureau submits only its own sector's rule
/// sets. The draft goes live only when the city office approves it.
#[utoipa::path(post, path = "/api/v1/drafts", tag = "review", security(("bearer" = [])),
    request_body = SubmitRequest,
    responses(
        (status = 201, description = "saved as a pending draft (header `Location`); `warnings` lists the checker's warnings", body = DraftView),
        (status = 400, description = "the source declares another rule-set id", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "not a bureau of this rule set's sector, nor the city office", body = super::Problem),
        (status = 409, description = "`base_hash` is no longer the active version: edit the active one", body = super::Problem),
        (status = 422, description = "the rules have errors (`diagnostics` lists them with line and column), or `activate_on` is before today", body = super::Problem),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<AppJson<SubmitRequest>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(editors())?;
    let AppJson(request) = body?;
    let budget = state.check_budget;
    blocking_within(budget, move || {
        authorize_change(&state, &caller, &request.ruleset, &request.source)?;
        let view = submit_draft(&state, &caller, &request)?;
        Ok(created(view, StatusCode::CREATED))
    })
    .await
}

/// Lists drafts with their histories.
///
/// Without their sources, oldest first. The city office sees every draft, a bureau its own
/// sector's. Paged: `limit` and `cursor`, answered as `{items, next_cursor}` (until this
/// version the answer was a bare array).
#[utoipa::path(get, path = "/api/v1/drafts", tag = "review", security(("bearer" = [])),
    params(DraftListQuery),
    responses(
        (status = 200, description = "a page of drafts with their histories", body = super::paging::schemas::DraftPage),
        (status = 400, description = "unknown filter or status", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "not the city office or a bureau", body = super::Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DraftListQuery>, QueryRejection>,
) -> Result<AppJson<Page<DraftView>>, ApiError> {
    caller.require(editors())?;
    let Query(query) =
        query.map_err(|r| query_error(r, "`ruleset`, `status`, `limit` and `cursor`"))?;
    let limit = paging::limit(query.limit)?;
    let after = paging::numeric_cursor(query.cursor.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<DraftStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_query", e))?;
    blocking(move || {
        let review = review(&state);
        let drafts = state
            .store
            .drafts(&DraftQuery {
                ruleset_id: query.ruleset,
                status,
            })
            .map_err(ApiError::internal)?;
        let visible: Vec<Draft> = drafts
            .into_iter()
            .filter(|d| may_see(&caller, d) && after.is_none_or(|a| d.id > a))
            .take(limit + 1)
            .collect();
        let views = visible
            .into_iter()
            .map(|d| DraftView::of(d, &review, false))
            .collect();
        Ok(AppJson(paging::page(views, limit, |d: &DraftView| {
            d.id.to_string()
        })))
    })
    .await
}

/// One draft with its source and history.
///
/// `base_is_current` says whether the draft can still be approved as it is.
#[utoipa::path(get, path = "/api/v1/drafts/{id}", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id")),
    responses(
        (status = 200, description = "the draft", body = DraftView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "a role that does not review", body = super::Problem),
        (status = 400, description = "a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 404, description = "no such draft, or another sector's draft (the same answer)", body = super::Problem),
    ))]
pub async fn get_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<DraftView>, ApiError> {
    caller.require(editors())?;
    let id = parse_id(&id)?;
    blocking(move || {
        let review = review(&state);
        let draft = visible_draft(&review, &caller, id)?;
        Ok(AppJson(DraftView::of(draft, &review, true)))
    })
    .await
}

/// What approving the draft would change now.
///
/// The semantic diff of the draft against the rule set's active version (inherited clauses
/// included; the draft compiled with the active versions of the rule sets it extends), as
/// JSON (`diff`) and as text (`text`).
#[utoipa::path(get, path = "/api/v1/drafts/{id}/diff", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id")),
    responses(
        (status = 200, description = "the diff", body = DraftDiffView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "a role that does not review", body = super::Problem),
        (status = 400, description = "a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 404, description = "no such draft, or another sector's draft (the same answer)", body = super::Problem),
        (status = 422, description = "the draft no longer checks with the active rule sets (`diagnostics`)", body = super::Problem),
    ))]
pub async fn diff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<DraftDiffView>, ApiError> {
    caller.require(editors())?;
    let id = parse_id(&id)?;
    blocking(move || {
        let review = review(&state);
        let draft = visible_draft(&review, &caller, id)?;
        let diff = review.diff(&draft).map_err(review_error)?;
        let text = match &diff {
            Some(diff) => diff.render_text(),
            None => format!(
                "新规则集 new rule set `{}`: no active version to compare with\n",
                draft.ruleset_id
            ),
        };
        Ok(AppJson(DraftDiffView {
            draft: draft.id,
            active_hash: state.registry.head_hash(&draft.ruleset_id),
            base_is_current: review.base_is_current(&draft),
            identical: diff.as_ref().is_some_and(RuleSetDiff::is_empty),
            ruleset: draft.ruleset_id,
            status: draft.status,
            diff,
            text,
        }))
    })
    .await
}

/// What approving the draft would change in outcomes.
///
/// Every entity in the record store is evaluated as of `as_of` (default: today in
/// Asia/Shanghai) under the rule set's active version and under the draft: how many become
/// disqualified or qualified, whose score changes and by how much, which clauses are
/// responsible, and the `top` most changed entities. Only stored entities are evaluated. The
/// request timeout applies; for very large stores use `credit-rules impact` offline.
#[utoipa::path(get, path = "/api/v1/drafts/{id}/impact", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id"), ImpactQuery),
    responses(
        (status = 200, description = "the impact report, as JSON (`report`) and text (`text`)", body = DraftImpactView),
        (status = 400, description = "bad `as_of` or `top`, or a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "a role that does not review", body = super::Problem),
        (status = 404, description = "no such draft, or another sector's draft (the same answer)", body = super::Problem),
        (status = 422, description = "the draft no longer checks with the active rule sets (`diagnostics`)", body = super::Problem),
    ))]
pub async fn impact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ImpactQuery>, QueryRejection>,
) -> Result<AppJson<DraftImpactView>, ApiError> {
    caller.require(editors())?;
    let id = parse_id(&id)?;
    let Query(query) = query.map_err(|r| query_error(r, "`as_of` and `top`"))?;
    let top = query.top.unwrap_or(DEFAULT_TOP);
    if top > MAX_IMPACT_TOP {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("top {top} is too many; ask for at most {MAX_IMPACT_TOP} entities"),
        ));
    }
    blocking(move || {
        let review = review(&state);
        let draft = visible_draft(&review, &caller, id)?;
        let as_of = query.as_of.unwrap_or_else(|| review.today());
        let options = ImpactOptions {
            top,
            ..ImpactOptions::default()
        };
        let mut report = review
            .impact(&draft, as_of, &options)
            .map_err(review_error)?;
        let mut omitted_clause_changes = 0;
        for entity in &mut report.top {
            if entity.clauses.len() > MAX_IMPACT_CLAUSES_PER_ENTITY {
                omitted_clause_changes += entity.clauses.len() - MAX_IMPACT_CLAUSES_PER_ENTITY;
                entity.clauses.truncate(MAX_IMPACT_CLAUSES_PER_ENTITY);
            }
        }
        let new_ruleset = state.registry.get(&draft.ruleset_id).is_none();
        let mut text = crate::impact::render_text(&report);
        if new_ruleset {
            text.insert_str(
                0,
                "新规则集 new rule set: no version is in force, so every entity is compared \
                 with no rule set at all (eligible, no points)\n\n",
            );
        }
        Ok(AppJson(DraftImpactView {
            omitted_clause_changes,
            draft: draft.id,
            new_ruleset,
            base_is_current: review.base_is_current(&draft),
            ruleset: draft.ruleset_id,
            status: draft.status,
            text,
            report,
        }))
    })
    .await
}

/// Approves a pending draft (city office), with a comment.
///
/// The draft goes live now through the checked publishing path (saved in the version log,
/// rule sets extending it recompiled), or from its `activate_on` day: 00:00 Asia/Shanghai
/// (UTC+8), checked by the server every minute. A draft whose base is no longer the active
/// version is marked `stale` and refused with 409.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/approve", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "approved: `active`, or `approved` until its `activate_on`", body = ApprovedView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the city office approves", body = super::Problem),
        (status = 400, description = "a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 404, description = "no such draft", body = super::Problem),
        (status = 409, description = "not pending (`draft_status`), its base moved (`stale_version`: now marked stale), it no longer checks (`draft_stale`), or another approved draft of the rule set waits (`activation_pending`)", body = super::Problem),
        (status = 422, description = "the comment is missing or blank, or `activate_on` is before today", body = super::Problem),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<ApproveRequest>, ApiError>,
) -> Result<AppJson<ApprovedView>, ApiError> {
    require_reviewer(&caller)?;
    let AppJson(request) = body?;
    let id = parse_id(&id)?;
    blocking(move || {
        let review = review(&state);
        let Decided { draft, published } = review
            .approve(id, caller.actor(), &request.comment, request.activate_on)
            .map_err(review_error)?;
        let source_hash = draft.source_hash.clone();
        Ok(AppJson(ApprovedView {
            draft: DraftView::of(draft, &review, false),
            published: published.map(|p| PublishResponse::of(&p, source_hash)),
        }))
    })
    .await
}

/// Rejects a draft (city office), with a comment.
///
/// A pending draft, or an approved one that is not active yet. The comment stays in the
/// draft's history; the bureau submits a new draft.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/reject", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "rejected", body = DraftView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "only the city office rejects", body = super::Problem),
        (status = 400, description = "a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 404, description = "no such draft", body = super::Problem),
        (status = 409, description = "already active, rejected, withdrawn or stale", body = super::Problem),
        (status = 422, description = "the comment is missing or blank", body = super::Problem),
    ))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<RejectRequest>, ApiError>,
) -> Result<AppJson<DraftView>, ApiError> {
    require_reviewer(&caller)?;
    let AppJson(request) = body?;
    let id = parse_id(&id)?;
    blocking(move || {
        let review = review(&state);
        let draft = review
            .reject(id, caller.actor(), &request.comment)
            .map_err(review_error)?;
        Ok(AppJson(DraftView::of(draft, &review, false)))
    })
    .await
}

/// Withdraws a pending draft.
///
/// Only its author (the token holder who submitted it) may; the city office rejects instead.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/withdraw", tag = "review", security(("bearer" = [])),
    params(("id" = u64, Path, description = "draft id")),
    request_body = WithdrawRequest,
    responses(
        (status = 200, description = "withdrawn", body = DraftView),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "not the draft's author", body = super::Problem),
        (status = 400, description = "a draft id that is not a number (`invalid_id`)", body = super::Problem),
        (status = 404, description = "no such draft", body = super::Problem),
        (status = 409, description = "not pending", body = super::Problem),
    ))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<WithdrawRequest>, ApiError>,
) -> Result<AppJson<DraftView>, ApiError> {
    caller.require(editors())?;
    let AppJson(request) = body?;
    let id = parse_id(&id)?;
    blocking(move || {
        let review = review(&state);
        visible_draft(&review, &caller, id)?;
        let draft = review
            .withdraw(id, caller.actor(), request.comment.as_deref())
            .map_err(review_error)?;
        Ok(AppJson(DraftView::of(draft, &review, false)))
    })
    .await
}

pub(super) fn require_reviewer(caller: &Caller) -> Result<(), ApiError> {
    if caller.role != Role::CityOffice {
        return Err(forbidden(
            "only the city office (市公管局, role city_office) approves or rejects drafts",
        ));
    }
    Ok(())
}
