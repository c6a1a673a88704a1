//! The console's rule-set pages: the list, one rule set (tender clauses rendered by
//! [`crate::render`], highlighted source, version history with approvers) and the semantic
//! diff of any two versions. Readers as in the API (`http::rulesets`).

use super::{ConsoleError, ConsoleResult, ConsoleSession, page};
use crate::console::highlight;
use crate::console::review::{DiffView, beijing};
use crate::console::rulesets::{
    RuleSetPage, RuleSetRow, RuleSetsPage, VersionDiffPage, VersionRow,
};
use crate::http::AppState;
use crate::http::drafts::editors;
use crate::http::error::ApiError;
use crate::http::rulesets::{check_ruleset_id, readers, version_diff};
use crate::store::{DraftQuery, DraftStatus, ReviewAction};
use axum::extract::{Path, Query, State};
use serde::Deserialize;

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// `GET /console/rulesets`.
pub async fn list(State(state): State<AppState>, session: ConsoleSession) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(readers()).map_err(fail)?;
    let caller = session.caller.clone();
    let rows = crate::http::blocking(move || {
        let mut metas = state.registry.list();
        metas.sort_by(|a, b| a.id.cmp(&b.id));
        let mut rows = Vec::new();
        for meta in metas {
            let newest = state
                .store
                .ruleset_versions(&meta.id)
                .map_err(ApiError::internal)?
                .pop();
            rows.push(RuleSetRow {
                editable: caller.require(editors()).is_ok()
                    && caller.may_edit_sector(meta.sector.as_deref()).is_ok(),
                title: meta.title.clone(),
                sector: meta.sector.clone().unwrap_or_else(|| "全市通用".into()),
                version: format!("{}（{}）", meta.version, short(&meta.hash)),
                changed: newest
                    .as_ref()
                    .map(|v| beijing(v.time))
                    .unwrap_or_else(|| "—".into()),
                author: newest.map(|v| v.author).unwrap_or_else(|| "—".into()),
                id: meta.id,
            });
        }
        Ok(rows)
    })
    .await
    .map_err(fail)?;
    Ok(page(&RuleSetsPage {
        layout: session.layout("规则集", "rulesets"),
        rows,
    }))
}

/// Who approved each published version, by version hash: `name：comment`.
fn approvers(
    state: &AppState,
    id: &str,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let drafts = state
        .store
        .drafts(&DraftQuery {
            ruleset_id: Some(id.to_owned()),
            status: Some(DraftStatus::Active),
        })
        .map_err(ApiError::internal)?;
    Ok(drafts
        .into_iter()
        .filter_map(|d| {
            let approval = d
                .events
                .iter()
                .rev()
                .find(|e| e.action == ReviewAction::Approved)?;
            let text = match &approval.comment {
                Some(comment) => format!("{}：{comment}", approval.actor.name),
                None => approval.actor.name.clone(),
            };
            Some((d.published_hash.unwrap_or(d.source_hash), text))
        })
        .collect())
}

/// The rendered tender clauses of the active version (an HTML fragment).
fn clauses_html(state: &AppState, id: &str) -> Result<String, ApiError> {
    let mut workspace = crate::ruleset::Workspace::new();
    for file in state.registry.sources().into_values() {
        workspace.add_source(file, None);
    }
    let program = workspace
        .compile(id)
        .map_err(|d| ApiError::invalid_rules(&d))?;
    let options = crate::render::RenderOptions {
        format: crate::render::Format::Html,
        standalone: false,
        facts: crate::render::TenderFacts::default(),
    };
    let bytes = crate::render::render(&program, &workspace.library, &options);
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// `GET /console/rulesets/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(readers()).map_err(fail)?;
    check_ruleset_id(&id).map_err(fail)?;
    let caller = session.caller.clone();
    let layout = session.layout(format!("规则集 {id}"), "rulesets");
    let built = crate::http::blocking(move || {
        let (Some(program), Some(file)) = (state.registry.get(&id), state.registry.source(&id))
        else {
            return Err(ApiError::not_found(
                "ruleset_not_found",
                format!("there is no rule set `{id}`"),
            ));
        };
        let approved = approvers(&state, &id)?;
        let active = crate::store::source_hash(&file.text);
        let versions = state
            .store
            .ruleset_versions(&id)
            .map_err(ApiError::internal)?
            .into_iter()
            .rev()
            .map(|v| VersionRow {
                short: short(&v.hash).to_owned(),
                time: beijing(v.time),
                approver: approved.get(&v.hash).cloned().unwrap_or_else(|| "—".into()),
                active: v.hash == active,
                author: v.author,
                message: v.message,
                hash: v.hash,
            })
            .collect();
        let meta = &program.meta;
        Ok(RuleSetPage {
            layout: layout.clone(),
            sector: meta.sector.clone().unwrap_or_else(|| "全市通用".into()),
            version: format!("{}（{}）", meta.version, short(&meta.hash)),
            clauses_html: clauses_html(&state, &id)?,
            source_lines: highlight::lines(&file.text),
            versions,
            editable: caller.require(editors()).is_ok()
                && caller.may_edit_sector(meta.sector.as_deref()).is_ok(),
            id,
        })
    })
    .await
    .map_err(fail)?;
    Ok(page(&built))
}

/// The two versions to compare.
#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: String,
    to: Option<String>,
}

/// `GET /console/rulesets/{id}/diff?from=&to=`: the semantic diff side by side.
pub async fn diff(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(readers()).map_err(fail)?;
    check_ruleset_id(&id).map_err(fail)?;
    let Query(query) = query.map_err(|e| {
        fail(ApiError::bad_request(
            "bad_query",
            format!("{}; choose two versions to compare", e.body_text()),
        ))
    })?;
    let layout = session.layout(format!("{id} 版本比较"), "rulesets");
    let view = crate::http::blocking({
        let id = id.clone();
        move || {
            let (_, _, diff) = version_diff(&state, &id, &query.from, query.to.as_deref())?;
            Ok(DiffView::of(&diff))
        }
    })
    .await
    .map_err(fail)?;
    Ok(page(&VersionDiffPage {
        layout,
        id,
        d: view,
    }))
}
