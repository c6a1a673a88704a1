//! The city office's operations pages: intake status (cursor, pending events, the last rows
//! refused with their reasons) and token management. Token changes
//! go through the same file operations as `credit-rules tokens` (atomic writes; the running
//! table reloads the file).

use super::{ConsoleError, ConsoleResult, ConsoleSession, page};
use crate::console::ops::{
    NewToken, OpsLink, OpsPage, RejectedRow, SectorOption, TokenRow, TokensPage,
};
use crate::console::pages::role_label;
use crate::http::AppState;
use crate::http::auth::Role;
use crate::http::error::ApiError;
use crate::http::protect::html_page;
use crate::http::tokens::{self, TokenAdminError, fingerprint};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

/// The feed whose cursor the overview shows (`credit-rules sync`'s default name).
const DEFAULT_FEED: &str = "provincial";

/// Pending events listed on the overview.
const PENDING_SHOWN: usize = 20;

fn office_only(session: &ConsoleSession) -> Result<(), ConsoleError> {
    session
        .caller
        .require(&[Role::CityOffice])
        .map_err(|e| ConsoleError::from_api(e, session))
}

/// `GET /console/ops`: the overview with the intake status.
pub async fn overview(State(state): State<AppState>, session: ConsoleSession) -> ConsoleResult {
    office_only(&session)?;
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    let (cursor, pending, rejected) = crate::http::blocking(move || {
        let cursor = state
            .store
            .cursor(&crate::sync::cursor_key(DEFAULT_FEED))
            .map_err(ApiError::internal)?;
        let pending = state
            .store
            .pending_events(None, PENDING_SHOWN)
            .map_err(ApiError::internal)?;
        let rejected =
            crate::import::rejections::recent(state.store.as_ref()).map_err(ApiError::internal)?;
        Ok((cursor, pending, rejected))
    })
    .await
    .map_err(fail)?;
    let pending_events = if pending.items.is_empty() {
        "无".to_owned()
    } else {
        let more = if pending.next_cursor.is_some() {
            " 等"
        } else {
            ""
        };
        format!(
            "{} 条{more}（{}）",
            pending.items.len(),
            pending
                .items
                .iter()
                .map(|e| format!("{} {}", e.record_id, e.date))
                .collect::<Vec<_>>()
                .join("；")
        )
    };
    Ok(page(&OpsPage {
        layout: session.layout("运行管理", "ops"),
        links: vec![
            OpsLink {
                href: "/console/ops/tokens",
                label: "令牌管理",
                help: "为各角色和各行业主管部门创建、更换、吊销访问令牌。",
            },
            OpsLink {
                href: "/console/ops/decisions",
                label: "评价记录与主体信用记录",
                help: "按主体、规则集和时间查询评价记录；查询一个主体时列出其在库中的信用记录。",
            },
        ],
        cursors: cursor
            .map(|c| vec![(DEFAULT_FEED.to_owned(), c)])
            .unwrap_or_default(),
        pending_events,
        rejected: rejected
            .into_iter()
            .map(|r| RejectedRow {
                time: crate::console::review::beijing(r.time),
                source: r.source,
                id: r.id.unwrap_or_default(),
                uscc: r.uscc.unwrap_or_default(),
                reason: r.reason,
            })
            .collect(),
        rejected_kept: crate::import::rejections::KEEP,
    }))
}

fn tokens_page(
    state: &AppState,
    session: &ConsoleSession,
    new_token: Option<NewToken>,
    notice: String,
    failed: bool,
) -> TokensPage {
    let entries = state.tokens.current().entries();
    let mut sectors: Vec<SectorOption> = Vec::new();
    for meta in state.registry.list() {
        if let Some(sector) = meta.sector.filter(|_| meta.chain.len() > 1)
            && !sectors.iter().any(|s| s.sector == sector)
        {
            sectors.push(SectorOption {
                covered: entries
                    .iter()
                    .any(|e| e.role == Role::Bureau && e.sector.as_deref() == Some(&sector)),
                sector,
            });
        }
    }
    TokensPage {
        layout: session.layout("令牌管理", "ops"),
        rows: entries
            .iter()
            .map(|e| TokenRow {
                fingerprint: fingerprint(e),
                name: e.name.clone(),
                role: role_label(e.role.as_str(), e.sector.as_deref()),
                sector: e.sector.clone().unwrap_or_else(|| "—".into()),
            })
            .collect(),
        sectors,
        new_token,
        notice,
        failed,
        file: state
            .tokens
            .file()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    }
}

/// `GET /console/ops/tokens`.
pub async fn tokens(State(state): State<AppState>, session: ConsoleSession) -> ConsoleResult {
    office_only(&session)?;
    Ok(page(&tokens_page(
        &state,
        &session,
        None,
        String::new(),
        false,
    )))
}

/// A token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    action: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    sector: String,
}

fn parse_role(code: &str) -> Result<Role, TokenAdminError> {
    match code {
        "city_office" => Ok(Role::CityOffice),
        "bureau" => Ok(Role::Bureau),
        "evaluator" => Ok(Role::Evaluator),
        "intake" => Ok(Role::Intake),
        other => Err(TokenAdminError::Invalid(format!("unknown role `{other}`"))),
    }
}

/// What a token form did: the new plain token, or a notice.
fn apply(
    path: &std::path::Path,
    form: &TokenForm,
) -> Result<(Option<NewToken>, String), TokenAdminError> {
    match form.action.as_str() {
        "create" => {
            let role = parse_role(&form.role)?;
            let sector = Some(form.sector.as_str()).filter(|s| !s.trim().is_empty());
            let (plain, entry) = tokens::create(path, &form.name, role, sector)?;
            Ok((
                Some(NewToken {
                    what: "已创建".into(),
                    name: entry.name,
                    plain,
                }),
                String::new(),
            ))
        }
        "rotate" => {
            let (plain, entry) = tokens::rotate(path, &form.fingerprint)?;
            Ok((
                Some(NewToken {
                    what: "已更换（旧令牌及其登录会话立即失效）".into(),
                    name: entry.name,
                    plain,
                }),
                String::new(),
            ))
        }
        "revoke" => {
            let entry = tokens::revoke(path, &form.fingerprint)?;
            Ok((
                None,
                format!(
                    "已吊销 {} 的令牌（指纹 {}），其登录会话立即失效。",
                    entry.name,
                    fingerprint(&entry)
                ),
            ))
        }
        other => Err(TokenAdminError::Invalid(format!(
            "unknown action `{other}`"
        ))),
    }
}

/// `POST /console/ops/tokens`: create, rotate or revoke; the new plain token is shown once.
pub async fn change_tokens(
    State(state): State<AppState>,
    session: ConsoleSession,
    form: Result<axum::Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    office_only(&session)?;
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    let axum::Form(form) =
        form.map_err(|e| fail(ApiError::bad_request("bad_form", e.body_text())))?;
    let Some(path) = state.tokens.file().map(std::path::Path::to_owned) else {
        return Err(fail(ApiError::new(
            StatusCode::CONFLICT,
            "no_token_file",
            "this service has no token file to change",
        )));
    };
    let done = crate::http::blocking(move || Ok(apply(&path, &form)))
        .await
        .map_err(fail)?;
    match done {
        Ok((new_token, notice)) => {
            if let Some(t) = &new_token {
                tracing::info!(target: "console", holder = %t.name, by = %session.caller.name, "token created or rotated");
            }
            Ok(page(&tokens_page(
                &state, &session, new_token, notice, false,
            )))
        }
        Err(e) => Ok(html_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &tokens_page(&state, &session, None, format!("未能完成：{e}"), true),
        )),
    }
}
