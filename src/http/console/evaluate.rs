//! The console's evaluation page: one entity under a rule set, version and day, and a whole
//! tender (bidders and consortia) with its ranking, through the API's own evaluation code
//! (`evaluate_logged_blocking`, `tender_logged`: every decision is logged like an API call,
//! with its receipt), each with the tender context typed in the form (the API's `context`).

use super::{ConsoleError, ConsoleResult, ConsoleSession, page};
use crate::console::evaluate::{
    BidLimits, ContextForm, DecisionView, EvaluateForm, EvaluatePage, RuleSetChoice, TenderForm,
    TenderView, context_of, parse_bids, uscc_error_zh,
};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::evaluate::{
    EvaluateRequest, TenderRequest, evaluate_logged_blocking, evaluators, tender_logged,
};
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
    let today = crate::review::local_date(state.clock.now()).to_string();
    Ok(page(&EvaluatePage {
        layout: session.layout("信用评价", "evaluate"),
        rulesets: choices(&state, "city.base"),
        form: EvaluateForm {
            as_of: today.clone(),
            ..EvaluateForm::default()
        },
        result: None,
        error: String::new(),
        tender_rulesets: choices(&state, "city.base"),
        tender: TenderForm {
            as_of: today,
            ..TenderForm::default()
        },
        ranking: None,
        tender_error: String::new(),
    }))
}

/// The tender form when the one-entity form was used, and the other way round: empty, for
/// today.
fn blank_tender(state: &AppState) -> TenderForm {
    TenderForm {
        as_of: crate::review::local_date(state.clock.now()).to_string(),
        ..TenderForm::default()
    }
}

fn blank_form(state: &AppState) -> EvaluateForm {
    EvaluateForm {
        as_of: crate::review::local_date(state.clock.now()).to_string(),
        ..EvaluateForm::default()
    }
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
    #[serde(default)]
    project_type: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    budget: String,
}

impl EvaluateFields {
    fn context(&self) -> ContextForm {
        ContextForm {
            project_type: self.project_type.clone(),
            sector: self.sector.clone(),
            budget: self.budget.clone(),
        }
    }
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
            crate::record::Uscc::parse(text)
                .map_err(|e| format!("统一社会信用代码有误：{}", uscc_error_zh(&e)))?,
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
    let context = context_of(&fields.context())?;
    Ok(EvaluateRequest {
        ruleset: fields.ruleset.trim().to_owned(),
        version: Some(fields.version.trim().to_owned()).filter(|v| !v.is_empty()),
        as_of,
        uscc,
        records,
        known_at: None,
        context,
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
        context: fields.context(),
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
                tender_rulesets: choices(&state, "city.base"),
                tender: blank_tender(&state),
                ranking: None,
                tender_error: String::new(),
            },
        )
    };
    let request = match request_of(&fields) {
        Ok(request) => request,
        Err(error) => return Ok(again(error, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let context = request.context.clone().unwrap_or_default();
    let evaluated =
        evaluate_logged_blocking(&state, &session.caller, Some(request_id.0), request).await;
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
        result: Some(DecisionView::of(&report).in_context(&context)),
        error: String::new(),
        tender_rulesets: choices(&state, "city.base"),
        tender: blank_tender(&state),
        ranking: None,
        tender_error: String::new(),
    }))
}

/// The submitted tender form.
#[derive(Debug, Deserialize)]
pub struct TenderFields {
    ruleset: String,
    #[serde(default)]
    version: String,
    as_of: String,
    #[serde(default)]
    bidders: String,
    #[serde(default)]
    consortia: String,
    #[serde(default)]
    project_type: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    budget: String,
}

impl TenderFields {
    fn context(&self) -> ContextForm {
        ContextForm {
            project_type: self.project_type.clone(),
            sector: self.sector.clone(),
            budget: self.budget.clone(),
        }
    }
}

/// The API request of a tender form, or what is wrong with it (in Chinese).
fn tender_request_of(fields: &TenderFields) -> Result<TenderRequest, String> {
    let as_of = fields.as_of.trim().parse();
    let limits = BidLimits {
        bids: crate::http::evaluate_limits::MAX_BIDDERS,
        members: crate::http::evaluate_limits::MAX_MEMBERS,
        entities: crate::http::evaluate_limits::MAX_TENDER_MEMBERS,
    };
    let bids = parse_bids(&fields.bidders, &fields.consortia, limits);
    let context = context_of(&fields.context());
    // Every mistake of the form at once, one a line.
    let mut errors = Vec::new();
    if as_of.is_err() {
        errors.push("开标日期格式应为 YYYY-MM-DD。".to_owned());
    }
    if let Err(e) = &bids {
        errors.push(e.clone());
    }
    if let Err(e) = &context {
        errors.push(e.clone());
    }
    match (as_of, bids, context) {
        (Ok(as_of), Ok(bidders), Ok(context)) => Ok(TenderRequest {
            ruleset: fields.ruleset.trim().to_owned(),
            version: Some(fields.version.trim().to_owned()).filter(|v| !v.is_empty()),
            as_of,
            bidders,
            records: None,
            known_at: None,
            context,
        }),
        _ => Err(errors.join("\n")),
    }
}

/// `POST /console/evaluate/tender`: every bid evaluated through the API's tender code (each
/// member's decision logged with its receipt), the eligible ones ranked.
pub async fn tender(
    State(state): State<AppState>,
    session: ConsoleSession,
    request_id: RequestId,
    fields: Result<axum::Form<TenderFields>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    session.caller.require(evaluators()).map_err(fail)?;
    let axum::Form(fields) =
        fields.map_err(|e| fail(ApiError::bad_request("bad_form", e.body_text())))?;
    let tender_form = TenderForm {
        version: fields.version.clone(),
        as_of: fields.as_of.clone(),
        bidders: fields.bidders.clone(),
        consortia: fields.consortia.clone(),
        context: fields.context(),
    };
    let show = |status: StatusCode, ranking: Option<TenderView>, tender_error: String| {
        html_page(
            status,
            &EvaluatePage {
                layout: session.layout("信用评价", "evaluate"),
                rulesets: choices(&state, "city.base"),
                form: blank_form(&state),
                result: None,
                error: String::new(),
                tender_rulesets: choices(&state, &fields.ruleset),
                tender: tender_form.clone(),
                ranking,
                tender_error,
            },
        )
    };
    let request = match tender_request_of(&fields) {
        Ok(request) => request,
        Err(error) => return Ok(show(StatusCode::UNPROCESSABLE_ENTITY, None, error)),
    };
    let context = request.context.clone().unwrap_or_default();
    let evaluated = tender_logged(
        &state,
        &session.caller,
        request_id.0,
        request,
        move |result| Ok(TenderView::of(&result).in_context(&context)),
    )
    .await;
    match evaluated {
        Ok(view) => {
            let warning = if view.unknown.is_empty() {
                String::new()
            } else {
                format!(
                    "库中没有以下单位的任何信用记录：{}。新设立的单位属正常情况；否则请对照营业执照核对代码——代码输错的单位会按无不良记录评价。",
                    view.unknown.join("、")
                )
            };
            Ok(show(StatusCode::OK, Some(view), warning))
        }
        // Refusals and failures of the service are error pages, not mistakes in the form.
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() => Err(fail(e)),
        Err(e) => {
            let message = match e.status {
                StatusCode::NOT_FOUND => {
                    format!("无法评价：没有这个规则集或版本（{}）。", e.detail)
                }
                _ => format!("无法评价：{}", e.detail),
            };
            Ok(show(StatusCode::UNPROCESSABLE_ENTITY, None, message))
        }
    }
}
