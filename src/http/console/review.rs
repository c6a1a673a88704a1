//! The console's review pages: the draft queue, one draft (diff against its base, impact
//! with the chart, history) and the city office's decision. Every step calls the API's own
//! authorisation and workflow code (`http::drafts`, [`crate::review`]).

use super::{ConsoleError, ConsoleResult, ConsoleSession, page};
use crate::console::review::{DiffView, DraftPage, DraftRow, DraftsPage, EventRow, ImpactView};
use crate::http::AppState;
use crate::http::auth::Role;
use crate::http::drafts::{self, editors};
use crate::http::error::ApiError;
use crate::http::protect::html_page;
use crate::impact::ImpactOptions;
use crate::store::{Draft, DraftQuery, DraftStatus};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

/// Most affected entities a draft page lists.
const TOP_ON_PAGE: usize = 20;

/// `GET /console/drafts`: pending drafts first (the city office's queue), then the rest;
/// a bureau sees its own sector's.
pub async fn list(State(state): State<AppState>, session: ConsoleSession) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(editors()).map_err(fail)?;
    let caller = session.caller.clone();
    let all = crate::http::blocking(move || {
        let found = state
            .store
            .drafts(&DraftQuery::default())
            .map_err(ApiError::internal)?;
        Ok(found
            .into_iter()
            .filter(|d| drafts::may_see(&caller, d))
            .collect::<Vec<Draft>>())
    })
    .await
    .map_err(fail)?;
    let (pending, mut others): (Vec<&Draft>, Vec<&Draft>) =
        all.iter().partition(|d| d.status == DraftStatus::Pending);
    others.reverse();
    Ok(page(&DraftsPage {
        layout: session.layout("草稿与审核", "drafts"),
        pending: pending.into_iter().map(DraftRow::of).collect(),
        others: others.into_iter().map(DraftRow::of).collect(),
        reviewer: session.caller.role == Role::CityOffice,
    }))
}

/// Everything a draft page shows, computed off the async runtime.
fn draft_page(state: &AppState, session: &ConsoleSession, id: u64) -> Result<DraftPage, ApiError> {
    let review = drafts::review(state);
    let draft = drafts::visible_draft(&review, &session.caller, id)?;
    let (diff, diff_error) = match review.diff(&draft) {
        Ok(diff) => (diff.as_ref().map(DiffView::of), String::new()),
        Err(e) => (None, format!("无法比较：{e}")),
    };
    let (impact, impact_error) =
        if matches!(draft.status, DraftStatus::Pending | DraftStatus::Approved) {
            let options = ImpactOptions {
                top: TOP_ON_PAGE,
                ..ImpactOptions::default()
            };
            match review.impact(&draft, review.today(), &options) {
                Ok(report) => {
                    let name_of = |uscc: &str| {
                        crate::record::Uscc::parse(uscc)
                            .ok()
                            .and_then(|u| state.store.entity(&u).ok().flatten())
                            .and_then(|e| e.name)
                    };
                    (Some(ImpactView::of(&report, &name_of)), String::new())
                }
                Err(e) => (None, format!("无法计算影响：{e}")),
            }
        } else {
            (
                None,
                "影响分析只对待审核和待生效的草稿计算（已生效的版本请在规则集页面查看版本差异）。"
                    .to_owned(),
            )
        };
    let base_note = match draft.status {
        DraftStatus::Pending | DraftStatus::Approved if !review.base_is_current(&draft) => {
            "（起草所依据的版本已不是生效版本，批准时将失效，请重新起草）".to_owned()
        }
        _ => String::new(),
    };
    let reviewer = session.caller.role == Role::CityOffice;
    Ok(DraftPage {
        layout: session.layout(format!("草稿 {}：{}", draft.id, draft.ruleset_id), "drafts"),
        draft: DraftRow::of(&draft),
        activate_on: draft.activate_on.map(|d| d.to_string()).unwrap_or_default(),
        base_note,
        events: draft.events.iter().map(EventRow::of).collect(),
        diff,
        diff_error,
        impact,
        impact_error,
        can_decide: reviewer && draft.status == DraftStatus::Pending,
        decision_error: String::new(),
        comment: String::new(),
        can_edit_again: session.caller.role == Role::Bureau
            && matches!(draft.status, DraftStatus::Rejected | DraftStatus::Stale),
    })
}

async fn load_page(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
) -> Result<DraftPage, ApiError> {
    session.caller.require(editors())?;
    let id = drafts::parse_id(id)?;
    let state = state.clone();
    let session = session.clone();
    crate::http::blocking(move || draft_page(&state, &session, id)).await
}

/// `GET /console/drafts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> ConsoleResult {
    let found = load_page(&state, &session, &id).await;
    found
        .map(|p| page(&p))
        .map_err(|e| ConsoleError::from_api(e, &session))
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    comment: String,
}

/// `POST /console/drafts/{id}/decide`: approve or reject with the required comment; a
/// refusal shows the draft again with the reason and the typed comment.
pub async fn decide(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    form: Result<axum::Form<DecisionForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    drafts::require_reviewer(&session.caller).map_err(fail)?;
    let number = drafts::parse_id(&id).map_err(fail)?;
    let axum::Form(form) =
        form.map_err(|e| fail(ApiError::bad_request("bad_form", e.body_text())))?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(fail(ApiError::bad_request(
                "bad_form",
                "decision must be `approve` or `reject`",
            )));
        }
    };
    let decided = {
        let state = state.clone();
        let actor = session.caller.actor();
        let comment = form.comment.clone();
        crate::http::blocking(move || {
            let review = drafts::review(&state);
            let result = if approve {
                review
                    .approve(number, actor, &comment, None)
                    .map(|d| d.draft)
            } else {
                review.reject(number, actor, &comment)
            };
            result.map_err(drafts::review_error)
        })
        .await
    };
    match decided {
        Ok(_) => Ok(Redirect::to(&format!("/console/drafts/{number}")).into_response()),
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status == StatusCode::NOT_FOUND => {
            Err(fail(e))
        }
        Err(e) => {
            let mut again = load_page(&state, &session, &id).await.map_err(fail)?;
            again.decision_error = match e.code {
                "comment_required" => "请填写审核意见：批准和驳回都必须说明理由。".to_owned(),
                "stale_version" | "draft_stale" => format!(
                    "无法批准：起草所依据的版本已不是生效版本，草稿已失效，请通知起草单位重新起草。（{}）",
                    e.detail
                ),
                _ => format!("无法完成：{}", e.detail),
            };
            again.comment = form.comment;
            let status = if e.code == "comment_required" {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                e.status
            };
            Ok(html_page(status, &again))
        }
    }
}
