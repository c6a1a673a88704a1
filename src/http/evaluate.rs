//! Evaluation at bid opening: one entity, or a whole tender's bidders in one
//! call. Every evaluation is written to the decision log before it is answered.

use super::auth::{Caller, Role};
use super::error::{ApiError, AppJson, ItemError};
use super::ops::RequestId;
use super::{AppState, blocking};
use crate::compile::CompiledRuleSet;
use crate::eval::Report;
use crate::record::{CreditRecord, Uscc};
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use crate::store::{DecisionEntry, RuleSetVersion};
use crate::tender::{Bidder, TenderResult, evaluate_tender as run_tender};
use crate::version_ref::{VersionRef, VersionRefError};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Most bids in one tender call.
pub const MAX_BIDDERS: usize = 500;
/// Most members of one consortium.
pub const MAX_MEMBERS: usize = 20;
/// Most entities evaluated in one tender call (all members of all bids): each is one
/// decision-log entry, so this bounds the work and the journal growth of one request.
pub const MAX_TENDER_MEMBERS: usize = 2_000;
/// Most inline records in one call (the records of one entity: each is copied into the
/// decision log's report).
pub const MAX_INLINE_RECORDS: usize = 2_000;

/// Evaluate one entity: its records from the store (`uscc`), or given inline (`records`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// Rule-set id, e.g. `water`.
    pub ruleset: String,
    /// A published version (the source hash from `/rulesets/{id}/versions`); the current one when absent.
    #[serde(default)]
    pub version: Option<String>,
    /// Evaluation date (bid opening), YYYY-MM-DD.
    pub as_of: NaiveDate,
    /// The entity; its stored records are used unless `records` is given.
    #[serde(default)]
    pub uscc: Option<Uscc>,
    /// Records to evaluate instead of the stored ones.
    #[serde(default)]
    pub records: Option<Vec<CreditRecord>>,
}

/// Evaluate a whole tender's bidders.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenderRequest {
    /// Rule-set id of the tender's sector.
    pub ruleset: String,
    /// A published version; the current one when absent.
    #[serde(default)]
    pub version: Option<String>,
    /// Bid-opening date, YYYY-MM-DD.
    pub as_of: NaiveDate,
    /// The bids; a consortium lists all its members.
    pub bidders: Vec<Bidder>,
    /// Since 1.1. Records to evaluate instead of the stored ones: each member is evaluated on the
    /// records given with its USCC (none given: no record, and the member is marked
    /// `no_records`). Validated like `/evaluate`'s inline records.
    #[serde(default)]
    pub records: Option<Vec<CreditRecord>>,
}

/// Evaluates one entity under a rule set as of a date.
#[utoipa::path(post, path = "/api/v1/evaluate", tag = "evaluate", request_body = EvaluateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the entity's decision, score, and the records and reasons behind them", body = Report),
        (status = 400, description = "bad request", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "unknown rule set or version", body = super::Problem),
        (status = 422, description = "malformed body", body = super::Problem),
    ))]
pub async fn evaluate_one(
    State(state): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    body: Result<AppJson<EvaluateRequest>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(evaluators())?;
    let AppJson(request) = body?;
    let (report, logged) = evaluate_logged(&state, &caller, Some(&request_id.0), request)?;
    let body = json_body(&report)?;
    logged.durable().await?;
    Ok(body)
}

/// The roles that evaluate.
pub(super) fn evaluators() -> &'static [Role] {
    &[Role::Evaluator, Role::CityOffice, Role::Bureau]
}

/// Evaluates one entity for `caller` and submits the decision-log entry (the console's
/// evaluation page goes through here too): the report, and the pending log write to await
/// before answering.
pub(super) fn evaluate_logged(
    state: &AppState,
    caller: &Caller,
    request_id: Option<&str>,
    request: EvaluateRequest,
) -> Result<(Report, super::decision_log::Pending), ApiError> {
    caller.require(evaluators())?;
    // One entity is a few microseconds of work and one sled read (served from
    // its cache): cheaper inline than handing it to the blocking pool.
    let program = program_for(state, &request.ruleset, request.version.as_deref())?;
    let (records, usccs) = records_for(state, request.uscc, request.records)?;
    let report = program
        .evaluate(&records, request.as_of)
        .report(&program, &records);
    let entry = DecisionEntry::from_report(&report, usccs, Utc::now())
        .asked_by(request_id, Some(caller.actor()));
    let logged = state.decisions.submit(vec![entry])?;
    count_evaluation(&report);
    Ok((report, logged))
}

/// The answer serialised now, while the decision log syncs; sent once the log is durable.
fn json_body<T: serde::Serialize>(value: &T) -> Result<Response, ApiError> {
    let bytes = sonic_rs::to_vec(value)
        .map_err(|e| ApiError::internal(format!("the answer cannot be serialised: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response())
}

/// Evaluates every bidder of a tender and ranks the eligible ones.
#[utoipa::path(post, path = "/api/v1/tenders/evaluate", tag = "evaluate", request_body = TenderRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "each bid's decision and score, and the ranking", body = TenderResult),
        (status = 400, description = "bad request", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "unknown rule set or version", body = super::Problem),
        (status = 422, description = "malformed body", body = super::Problem),
    ))]
pub async fn evaluate_tender(
    State(state): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    body: Result<AppJson<TenderRequest>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Evaluator, Role::CityOffice, Role::Bureau])?;
    let AppJson(mut request) = body?;
    check_bidders(&request.bidders)?;
    let inline = inline_by_member(request.records.take(), &request.bidders)?;
    let worker = state.clone();
    // Evaluate, hand the log entries to the writer, and serialise the answer while the
    // journal syncs, all off the async workers.
    let (body, logged) = blocking(move || {
        let program = program_for(&worker, &request.ruleset, request.version.as_deref())?;
        let store = worker.store.clone();
        let result = run_tender(
            &program,
            &request.bidders,
            request.as_of,
            |uscc| match &inline {
                Some(by_member) => Ok(by_member
                    .get(uscc)
                    .cloned()
                    .unwrap_or_else(|| Arc::from([]))),
                None => store.records_of_shared(uscc),
            },
        )
        .map_err(ApiError::internal)?;
        let asked = (request_id.0.as_str(), caller.actor());
        let logged = worker
            .decisions
            .submit(log_entries(&result, Utc::now(), &asked))?;
        Ok((json_body(&result)?, logged))
    })
    .await?;
    logged.durable().await?;
    Ok(body)
}

/// One decision-log entry per member evaluated, built over the machine's cores.
fn log_entries(
    result: &TenderResult,
    now: chrono::DateTime<Utc>,
    (request_id, caller): &(&str, crate::store::Actor),
) -> Vec<DecisionEntry> {
    let members: Vec<_> = result.bids.iter().flat_map(|bid| &bid.members).collect();
    for member in &members {
        count_evaluation(&member.report);
    }
    let entry = |member: &&crate::tender::MemberResult| {
        DecisionEntry::from_report(&member.report, vec![member.uscc.clone()], now)
            .asked_by(Some(request_id), Some(caller.clone()))
    };
    match crate::tender::pool() {
        Some(pool) if members.len() >= 8 => pool.install(|| {
            use rayon::prelude::*;
            members.par_iter().map(entry).collect()
        }),
        _ => members.iter().map(entry).collect(),
    }
}

/// Inline records grouped by entity.
type RecordsByMember = HashMap<Uscc, Arc<[CreditRecord]>>;

/// A tender's inline records, checked and grouped by entity.
/// Inline records grouped by member. A record of a USCC that is in no bid is refused: it is
/// most likely a mistyped member, who would otherwise be judged with no records.
fn inline_by_member(
    records: Option<Vec<CreditRecord>>,
    bidders: &[Bidder],
) -> Result<Option<RecordsByMember>, ApiError> {
    let Some(records) = records else {
        return Ok(None);
    };
    if records.len() > MAX_INLINE_RECORDS {
        return Err(ApiError::bad_request(
            "records",
            format!(
                "at most {MAX_INLINE_RECORDS} inline records, got {}",
                records.len()
            ),
        ));
    }
    validate_inline(&records)?;
    let mut grouped: HashMap<Uscc, Vec<CreditRecord>> = HashMap::new();
    for record in records {
        grouped.entry(record.uscc.clone()).or_default().push(record);
    }
    let mut strangers: Vec<&str> = grouped
        .keys()
        .filter(|uscc| !bidders.iter().any(|b| b.members.contains(uscc)))
        .map(Uscc::as_str)
        .collect();
    if !strangers.is_empty() {
        strangers.sort_unstable();
        return Err(ApiError::bad_request(
            "records",
            format!(
                "inline records name {} that is in no bid: check the USCC of the records and \
                 of the bidders' members",
                strangers.join(", ")
            ),
        ));
    }
    Ok(Some(
        grouped
            .into_iter()
            .map(|(uscc, list)| (uscc, Arc::from(list)))
            .collect(),
    ))
}

fn check_bidders(bidders: &[Bidder]) -> Result<(), ApiError> {
    if bidders.is_empty() || bidders.len() > MAX_BIDDERS {
        return Err(ApiError::bad_request(
            "bidders",
            format!(
                "a tender needs 1 to {MAX_BIDDERS} bidders, got {}",
                bidders.len()
            ),
        ));
    }
    let members: usize = bidders.iter().map(|b| b.members.len()).sum();
    if members > MAX_TENDER_MEMBERS {
        return Err(ApiError::bad_request(
            "bidders",
            format!(
                "a tender call evaluates at most {MAX_TENDER_MEMBERS} entities (members of all bids together), got {members}; split the bids over several calls"
            ),
        ));
    }
    let mut errors = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, bidder) in bidders.iter().enumerate() {
        if !ids.insert(bidder.id.as_str()) {
            errors.push(ItemError {
                at: format!("bidders[{i}].id"),
                message: format!("the bidder id `{}` appears twice", bidder.id),
            });
        }
        if bidder.members.is_empty() || bidder.members.len() > MAX_MEMBERS {
            errors.push(ItemError {
                at: format!("bidders[{i}].members"),
                message: format!(
                    "a bid needs 1 to {MAX_MEMBERS} members (the consortium's entities), got {}",
                    bidder.members.len()
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(
            ApiError::bad_request("bidders", "some bidders are invalid; see `errors`")
                .with_errors(errors),
        )
    }
}

/// The stored version of rule set `id` that `text` names ([`crate::version_ref`]: `@active`
/// or its aliases, or 8 to 64 hex digits of a version id), `None` for the active version.
///
/// A version id is a stored version's source hash (as `/rulesets/{id}/versions` lists them)
/// or the `hash` an evaluation answer reports for the active version (its rules and the
/// versions of its bases). A prefix that several of them start with is refused (400
/// `ambiguous_version`); one that none starts with is 404 `version_not_found`.
pub(super) fn named_version(
    state: &AppState,
    id: &str,
    text: &str,
) -> Result<Option<RuleSetVersion>, ApiError> {
    let reference =
        VersionRef::parse(text).map_err(|e| ApiError::bad_request("version", e.to_string()))?;
    if reference == VersionRef::Active {
        return Ok(None);
    }
    let versions = state
        .store
        .ruleset_versions(id)
        .map_err(ApiError::internal)?;
    // Each candidate: its id, and the stored version (`None`: the active version).
    let mut candidates: Vec<(String, Option<RuleSetVersion>)> = versions
        .into_iter()
        .map(|v| (v.hash.clone(), Some(v)))
        .collect();
    if let Some(head) = state.registry.get(id) {
        candidates.push((head.meta.hash.clone(), None));
    }
    match reference.pick(id, &candidates, None, |(hash, _)| hash.as_str()) {
        Ok((_, version)) => Ok(version.clone()),
        Err(e @ VersionRefError::NotFound { .. }) => Err(ApiError::not_found(
            "version_not_found",
            format!("{e}; GET /api/v1/rulesets/{id}/versions lists them"),
        )),
        Err(e @ VersionRefError::Ambiguous { .. }) => {
            Err(ApiError::bad_request("ambiguous_version", e.to_string()))
        }
        Err(e) => Err(ApiError::bad_request("version", e.to_string())),
    }
}

/// The program to evaluate with: the live head, or a published version
/// compiled against the current heads of the rule sets it extends.
pub(super) fn program_for(
    state: &AppState,
    id: &str,
    version: Option<&str>,
) -> Result<Arc<CompiledRuleSet>, ApiError> {
    let head = state.registry.get(id).ok_or_else(|| {
        ApiError::not_found(
            "ruleset_not_found",
            format!("there is no rule set `{id}`; GET /api/v1/rulesets lists them"),
        )
    })?;
    let Some(version) = version else {
        return Ok(head);
    };
    let Some(stored) = named_version(state, id, version)? else {
        return Ok(head);
    };
    let head_source = state
        .registry
        .source(id)
        .map(|f| crate::store::source_hash(&f.text));
    if head_source.as_deref() == Some(stored.hash.as_str()) {
        return Ok(head);
    }
    let version = stored.hash.clone();
    let mut workspace = Workspace::new();
    for other in state.registry.list() {
        if other.id != id
            && let Some(file) = state.registry.source(&other.id)
        {
            workspace.add_source(file, None);
        }
    }
    workspace.add_source(
        SourceFile::new(format!("{id}@{version}.rules"), stored.source),
        None,
    );
    workspace
        .compile(id)
        .map(Arc::new)
        .map_err(|d| ApiError::invalid_rules(&d))
}

/// The records to evaluate and the entities they belong to.
fn records_for(
    state: &AppState,
    uscc: Option<Uscc>,
    inline: Option<Vec<CreditRecord>>,
) -> Result<(Arc<[CreditRecord]>, Vec<Uscc>), ApiError> {
    match (uscc, inline) {
        (_, Some(records)) if records.len() > MAX_INLINE_RECORDS => Err(ApiError::bad_request(
            "records",
            format!(
                "at most {MAX_INLINE_RECORDS} inline records, got {}",
                records.len()
            ),
        )),
        (uscc, Some(records)) => {
            validate_inline(&records)?;
            let mut usccs: Vec<Uscc> = uscc
                .into_iter()
                .chain(records.iter().map(|r| r.uscc.clone()))
                .collect();
            usccs.sort();
            usccs.dedup();
            Ok((records.into(), usccs))
        }
        (Some(uscc), None) => {
            let records = state
                .store
                .records_of_shared(&uscc)
                .map_err(ApiError::internal)?;
            Ok((records, vec![uscc]))
        }
        (None, None) => Err(ApiError::bad_request(
            "missing_entity",
            "give `uscc` (to use the stored records) or `records` (to evaluate given records)",
        )),
    }
}

fn validate_inline(records: &[CreditRecord]) -> Result<(), ApiError> {
    let errors: Vec<ItemError> = records
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(move |e| ItemError {
                    at: format!("records[{i}] ({})", r.id),
                    message: e.to_string(),
                })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(
            ApiError::bad_request("invalid_records", "some records are invalid; see `errors`")
                .with_errors(errors),
        )
    }
}

fn count_evaluation(report: &Report) {
    let labels = [
        ("ruleset", report.ruleset.clone()),
        ("decision", report.decision.code().to_owned()),
    ];
    metrics::counter!("evaluations_total", &labels).increment(1);
}

#[cfg(test)]
mod tests {
    use crate::demo::{DemoConfig, entity};
    use crate::ruleset::Workspace;
    use crate::tender::{Bidder, evaluate_tender};
    use chrono::NaiveDate;
    use std::path::Path;

    /// Answers are written with sonic-rs for speed; they must be the very bytes serde_json
    /// writes (reports promise the same bytes for the same inputs, and snapshots rely on it).
    #[test]
    fn fast_serialisation_writes_serde_json_bytes() {
        let rulesets = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
        let workspace = Workspace::load(&rulesets).expect("shipped rule sets load");
        let program = workspace.compile("water").expect("water compiles");
        let as_of = NaiveDate::from_ymd_opt(2024, 6, 1).expect("date");
        let config = DemoConfig {
            entities: 300,
            ..DemoConfig::default()
        };
        let mut bidders = Vec::new();
        let mut records = std::collections::HashMap::new();
        for index in 0..config.entities {
            let (uscc, _, recs) = entity(&config, index);
            let report = program.evaluate(&recs, as_of).report(&program, &recs);
            assert_eq!(
                sonic_rs::to_vec(&report).expect("sonic"),
                serde_json::to_vec(&report).expect("serde_json"),
                "entity {index}"
            );
            if index < 50 {
                bidders.push(Bidder {
                    id: format!("B{index}"),
                    name: None,
                    members: vec![uscc.clone()],
                });
            }
            records.insert(uscc, recs);
        }
        let tender = evaluate_tender(&program, &bidders, as_of, |u| {
            Ok::<_, ()>(records[u].clone())
        })
        .expect("tender");
        assert_eq!(
            sonic_rs::to_vec(&tender).expect("sonic"),
            serde_json::to_vec(&tender).expect("serde_json")
        );
    }
}
