//! The console's evaluation page: one entity under a rule set, version and day, through the
//! API's own evaluation code (the decision is logged like an API call).

use super::{ConsoleError, ConsoleResult, ConsoleSession, page};
use crate::console::evaluate::{DecisionView, EvaluateForm, EvaluatePage, RuleSetChoice};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::evaluate::{EvaluateRequest, evaluate_logged, evaluators};
use crate::http::ops::RequestId;
use crate::http::protect::html_page;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

fn choices(state: &AppState, selected: &str) -> Vec<RuleSetChoice> {
    let mut metas = state.registry.list();
    metas.sort_by(|a, b| a.id.cmp(&b.id));
    metas
        .into_iter()
        .map(|m| RuleSetChoice {
            selected: m.id == selected,
            label: format!("{}（{}）", m.title, m.id),
            id: m.id,
        })
        .collect()
}

/// `GET /console/evaluate`: the form, for today.
pub async fn form(State(state): State<AppState>, session: ConsoleSession) -> ConsoleResult {
    session
        .caller
        .require(evaluators())
        .map_err(|e| ConsoleError::from_api(e, &session))?;
    let today = crate::review::local_date(state.clock.now());
    Ok(page(&EvaluatePage {
        layout: session.layout("信用评价", "evaluate"),
        rulesets: choices(&state, "city.base"),
        form: EvaluateForm {
            as_of: today.to_string(),
            ..EvaluateForm::default()
        },
        result: None,
        error: String::new(),
    }))
}

/// The submitted form.
#[derive(Debug, Deserialize)]
pub struct EvaluateFields {
    ruleset: String,
    #[serde(default)]
    version: String,
    as_of: String,
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    records: String,
}

/// The API request of a form, or what is wrong with it (in Chinese).
fn request_of(fields: &EvaluateFields) -> Result<EvaluateRequest, String> {
    let as_of = fields
        .as_of
        .trim()
        .parse()
        .map_err(|_| "评价日期格式应为 YYYY-MM-DD。".to_owned())?;
    let uscc = match fields.uscc.trim() {
        "" => None,
        text => Some(
            crate::record::Uscc::parse(text).map_err(|e| format!("统一社会信用代码有误：{e}"))?,
        ),
    };
    let records = match fields.records.trim() {
        "" => None,
        text => Some(
            serde_json::from_str(text)
                .map_err(|e| format!("粘贴的信用记录不是有效的 JSON 记录数组：{e}"))?,
        ),
    };
    if uscc.is_none() && records.is_none() {
        return Err("请输入统一社会信用代码，或粘贴信用记录。".to_owned());
    }
    Ok(EvaluateRequest {
        ruleset: fields.ruleset.trim().to_owned(),
        version: Some(fields.version.trim().to_owned()).filter(|v| !v.is_empty()),
        as_of,
        uscc,
        records,
        known_at: None,
    })
}

/// `POST /console/evaluate`: the decision with its clauses and records.
pub async fn evaluate(
    State(state): State<AppState>,
    session: ConsoleSession,
    request_id: RequestId,
    fields: Result<axum::Form<EvaluateFields>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(evaluators()).map_err(fail)?;
    let axum::Form(fields) =
        fields.map_err(|e| fail(ApiError::bad_request("bad_form", e.body_text())))?;
    let form = EvaluateForm {
        version: fields.version.clone(),
        as_of: fields.as_of.clone(),
        uscc: fields.uscc.clone(),
        records: fields.records.clone(),
    };
    let again = |error: String, status: StatusCode| {
        html_page(
            status,
            &EvaluatePage {
                layout: session.layout("信用评价", "evaluate"),
                rulesets: choices(&state, &fields.ruleset),
                form: form.clone(),
                result: None,
                error,
            },
        )
    };
    let request = match request_of(&fields) {
        Ok(request) => request,
        Err(error) => return Ok(again(error, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let evaluated = evaluate_logged(&state, &session.caller, Some(&request_id.0), request).await;
    let report = match evaluated {
        Ok(answer) => answer.report,
        // Refusals and failures of the service are error pages, not mistakes in the form.
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() => {
            return Err(fail(e));
        }
        Err(e) => {
            return Ok(again(
                format!("无法评价：{}", e.detail),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    Ok(page(&EvaluatePage {
        layout: session.layout("信用评价", "evaluate"),
        rulesets: choices(&state, &fields.ruleset),
        form,
        result: Some(DecisionView::of(&report)),
        error: String::new(),
    }))
}
