//! The city office's decision-log search (entity, rule set, time range) with the searched
//! entity's stored records, over the store's own decision query (as `GET /api/v1/decisions`):
//! a page of [`SHOWN`] decisions at a time in log order, the next page after the last one
//! shown (the store's query walks the log forward only, and stops once a page is full).

use super::{ConsoleResult, ConsoleSession, page};
use crate::console::log::{DecisionLogPage, LogRow, LogSearch, StoredRecord};
use crate::console::review::beijing;
use crate::http::AppState;
use crate::http::auth::Role;
use crate::http::error::ApiError;
use crate::http::protect::html_page;
use crate::record::Uscc;
use crate::store::DecisionQuery;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

/// Most decisions one page shows.
pub const SHOWN: usize = 200;

/// The search form.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    ruleset: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The page after this decision (the last one of the page before).
    #[serde(default)]
    after: String,
}

fn decision_label(code: &str) -> &'static str {
    match code {
        "eligible" => "合格",
        "disqualified" => "不合格",
        _ => "需人工复核",
    }
}

/// 00:00 Beijing time of a day, as UTC.
fn start_of(day: NaiveDate) -> Option<chrono::DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(crate::review::shanghai())
        .single()
        .map(|t| t.to_utc())
}

/// The store query of a search, or what is wrong with it (in Chinese).
fn filter_of(query: &LogQuery) -> Result<(DecisionQuery, Option<Uscc>), String> {
    let uscc = match query.uscc.trim() {
        "" => None,
        text => Some(Uscc::parse(text).map_err(|e| format!("统一社会信用代码有误：{e}"))?),
    };
    let day = |text: &str, what: &str| -> Result<Option<NaiveDate>, String> {
        match text.trim() {
            "" => Ok(None),
            t => t
                .parse()
                .map(Some)
                .map_err(|_| format!("{what}格式应为 YYYY-MM-DD。")),
        }
    };
    let from = day(&query.from, "起始日期")?;
    let to = day(&query.to, "截止日期")?;
    let after = match query.after.trim() {
        "" => None,
        text => Some(
            text.parse::<u64>()
                .map_err(|_| "翻页位置应为评价记录的序号。".to_owned())?,
        ),
    };
    Ok((
        DecisionQuery {
            uscc: uscc.clone(),
            ruleset_id: Some(query.ruleset.trim().to_owned()).filter(|r| !r.is_empty()),
            from: from.and_then(start_of),
            until: to.and_then(|d| d.succ_opt()).and_then(start_of),
            after_seq: after,
            // One more than shown tells whether there is a next page.
            limit: SHOWN + 1,
        },
        uscc,
    ))
}

/// `GET /console/ops/decisions`.
pub async fn search(
    State(state): State<AppState>,
    session: ConsoleSession,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| super::ConsoleError::from_api(e, &session);
    session.caller.require(&[Role::CityOffice]).map_err(fail)?;
    let Query(query) = query.unwrap_or_default();
    let search = LogSearch {
        uscc: query.uscc.clone(),
        ruleset: query.ruleset.clone(),
        from: query.from.clone(),
        to: query.to.clone(),
        after: query.after.clone(),
    };
    let mut result = DecisionLogPage {
        layout: session.layout("评价记录", "ops"),
        search,
        rows: Vec::new(),
        next: String::new(),
        entity_name: String::new(),
        records: Vec::new(),
        error: String::new(),
    };
    let (filter, uscc) = match filter_of(&query) {
        Ok(found) => found,
        Err(error) => {
            result.error = error;
            return Ok(html_page(StatusCode::BAD_REQUEST, &result));
        }
    };
    let (logged, records, name) = crate::http::blocking(move || {
        let logged = state.store.decisions(&filter).map_err(ApiError::internal)?;
        let (records, name) = match &uscc {
            Some(uscc) => (
                state.store.records_of(uscc).map_err(ApiError::internal)?,
                state
                    .store
                    .entity(uscc)
                    .map_err(ApiError::internal)?
                    .and_then(|e| e.name),
            ),
            None => (Vec::new(), None),
        };
        Ok((logged, records, name))
    })
    .await
    .map_err(fail)?;
    if logged.len() > SHOWN {
        let last = logged[SHOWN - 1].seq.to_string();
        result.next = form_urlencoded::Serializer::new(String::new())
            .append_pair("uscc", &query.uscc)
            .append_pair("ruleset", &query.ruleset)
            .append_pair("from", &query.from)
            .append_pair("to", &query.to)
            .append_pair("after", &last)
            .finish();
    }
    result.rows = logged
        .iter()
        .take(SHOWN)
        .map(|d| LogRow {
            seq: d.seq,
            time: beijing(d.entry.time),
            rules: format!(
                "{}@{}",
                d.entry.ruleset_id,
                d.entry
                    .version_hash
                    .get(..12)
                    .unwrap_or(&d.entry.version_hash)
            ),
            as_of: d.entry.as_of.to_string(),
            usccs: d
                .entry
                .usccs
                .iter()
                .map(Uscc::as_str)
                .collect::<Vec<_>>()
                .join("、"),
            decision: decision_label(&d.entry.decision),
            total: d.entry.total.to_string(),
            caller: d
                .entry
                .caller
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_else(|| "—".into()),
        })
        .collect();
    result.entity_name = name.unwrap_or_default();
    result.records = records
        .iter()
        .map(|r| StoredRecord {
            id: r.id.clone(),
            kind: r.kind.label(),
            decided_on: r.decided_on.to_string(),
            source: [r.authority.as_deref(), r.document_no.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            state: match (r.repaired_on, r.revoked_on) {
                (_, Some(day)) => format!("已撤销（{day}）"),
                (Some(day), None) => format!("已信用修复（{day}）"),
                (None, None) => "有效".to_owned(),
            },
        })
        .collect();
    Ok(page(&result))
}
