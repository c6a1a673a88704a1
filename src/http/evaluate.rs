//! Evaluation at bid opening: one entity, or a whole tender's bidders in one
//! call. Every evaluation is written to the decision log before it is answered.

use super::auth::{Caller, Role};
use super::decision_log::ToSign;
use super::error::{ApiError, AppJson, ItemError};
use super::ops::RequestId;
use super::{AppState, blocking};
use crate::compile::CompiledRuleSet;
use crate::eval::Report;
use crate::impact_store::{StoredChain, StoredRef, VersionError, find_version_or};
use crate::receipt::{Receipt, ReceiptBody};
use crate::record::{CreditRecord, Uscc};
use crate::store::DecisionEntry;
use crate::tender::{Bidder, TenderResult, evaluate_tender_with as run_tender};
use crate::version_ref::{VersionRef, VersionRefError};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

mod json;

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
    /// A version: `@active`, or its version identity (the `hash` of an answer), whole or at
    /// least 8 of its first hex digits; the active one when absent.
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
    /// Since 1.2. Take the stored records as the store knew them at this time (RFC 3339;
    /// default: now): corrections and events stored later are not seen. Not with `records`.
    #[serde(default)]
    pub known_at: Option<DateTime<Utc>>,
    /// Since 1.3. The tender call's facts clauses may read (`tender.budget` …); a field
    /// not given is missing. Logged with the decision and used by its replay.
    #[serde(default)]
    pub context: Option<crate::context::TenderContext>,
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
    /// Since 1.2. Take the stored records as the store knew them at this time (RFC 3339;
    /// default: now). Not with `records`.
    #[serde(default)]
    pub known_at: Option<DateTime<Utc>>,
    /// Since 1.3. The tender call's facts clauses may read (`tender.budget` …), the same
    /// for every member; a field not given is missing. Logged with each member's decision
    /// and used by its replay.
    #[serde(default)]
    pub context: Option<crate::context::TenderContext>,
}

/// The answer for one entity: the report, and since 1.2 the decision's receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvaluateAnswer {
    /// The report (all its fields, as before 1.2).
    #[serde(flatten)]
    pub report: Report,
    /// Since 1.2. The decision id (decision-log sequence number):
    /// `GET /api/v1/decisions/{id}/replay` recomputes it.
    pub decision_id: u64,
    /// Since 1.2. The entity evaluated (absent for inline records of no single entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc: Option<Uscc>,
    /// Since 1.2. Its name as the records give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    /// Since 1.2. The records were taken as the store knew them at this time.
    pub known_at: DateTime<Utc>,
    /// Since 1.2. The signed receipt (ed25519; verify offline with `credit-rules receipt
    /// verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Evaluates one entity under a rule set as of a date.
#[utoipa::path(post, path = "/api/v1/evaluate", tag = "evaluate", request_body = EvaluateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the entity's decision, score, and the records and reasons behind them, with the decision's id and signed receipt", body = EvaluateAnswer),
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
    let answer = evaluate_logged(&state, &caller, Some(&request_id.0), request).await?;
    json_body(json::evaluate_answer(&answer))
}

/// The roles that evaluate.
pub(super) fn evaluators() -> &'static [Role] {
    &[Role::Evaluator, Role::CityOffice, Role::Bureau]
}

/// Evaluates one entity for `caller`, logs the decision and signs its receipt: the answer,
/// once the log entry is durable. The store is read on the calling async worker: one entity
/// is a few microseconds of work and one sled read (served from its cache), cheaper inline
/// than handing it to the blocking pool.
pub(super) async fn evaluate_logged(
    state: &AppState,
    caller: &Caller,
    request_id: Option<&str>,
    request: EvaluateRequest,
) -> Result<EvaluateAnswer, ApiError> {
    let decided = decide_one(state, caller, request_id, request)?;
    answer_one(decided).await
}

/// [`evaluate_logged`] with the store read and the evaluation on the blocking pool, for
/// callers that may be slow to read (the console's evaluation page, whose PostgreSQL store
/// or cold sled cache must not hold an async worker).
pub(super) async fn evaluate_logged_blocking(
    state: &AppState,
    caller: &Caller,
    request_id: Option<String>,
    request: EvaluateRequest,
) -> Result<EvaluateAnswer, ApiError> {
    let decided = {
        let state = state.clone();
        let caller = caller.clone();
        blocking(move || decide_one(&state, &caller, request_id.as_deref(), request)).await?
    };
    answer_one(decided).await
}

/// One entity evaluated and its log entry (with its receipt to sign) handed to the writer,
/// not yet durable.
struct Decided {
    report: Report,
    uscc: Option<Uscc>,
    entity_name: Option<String>,
    known_at: DateTime<Utc>,
    logged: super::decision_log::Pending,
}

/// Reads the records, evaluates and submits the log entry (blocking: reads the store).
fn decide_one(
    state: &AppState,
    caller: &Caller,
    request_id: Option<&str>,
    request: EvaluateRequest,
) -> Result<Decided, ApiError> {
    caller.require(evaluators())?;
    let program = program_for(state, &request.ruleset, request.version.as_deref())?;
    let inline = request.records.is_some();
    let context = validated_context(request.context)?;
    let taken = records_for(state, request.uscc, request.records, request.known_at)?;
    let report = program
        .evaluate_with(&taken.records, request.as_of, &context)
        .report(&program, &taken.records);
    let decided_at = Utc::now();
    let uscc = match taken.usccs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let entity_name = crate::tender::entity_name(&taken.records);
    // The receipt's decision id is the log's sequence number: the writer sets it.
    let sign = state.receipts.as_ref().map(|key| ToSign {
        key: key.clone(),
        bodies: vec![
            ReceiptBody::of(
                &report,
                0,
                uscc.as_ref().map(|u| u.as_str().to_owned()),
                entity_name.clone(),
                taken.known_at,
                decided_at,
            )
            .in_context(&context),
        ],
    });
    let entry = DecisionEntry::from_report(&report, taken.usccs, decided_at)
        .asked_by(request_id, Some(caller.actor()))
        .records_from(taken.known_at, inline)
        .in_context(&context);
    let logged = state.decisions.submit(vec![entry], sign)?;
    count_evaluation(&report);
    Ok(Decided {
        entity_name,
        report,
        uscc,
        known_at: taken.known_at,
        logged,
    })
}

/// Waits for the decision to be durable and its receipt signed (the log's writer signs the
/// receipts of every decision made durable by the same flush together).
async fn answer_one(decided: Decided) -> Result<EvaluateAnswer, ApiError> {
    let Decided {
        report,
        uscc,
        entity_name,
        known_at,
        logged,
    } = decided;
    let logged = logged.durable().await?;
    let decision_id = logged
        .seqs
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal("the decision log assigned no id"))?;
    let receipt = logged.receipts.into_iter().next();
    Ok(EvaluateAnswer {
        report,
        decision_id,
        uscc,
        entity_name,
        known_at,
        receipt,
    })
}

/// The answer's JSON bytes as the response.
fn json_body(bytes: Result<Vec<u8>, json::Error>) -> Result<Response, ApiError> {
    let bytes =
        bytes.map_err(|e| ApiError::internal(format!("the answer cannot be serialised: {e}")))?;
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
    caller.require(evaluators())?;
    let AppJson(request) = body?;
    tender_logged(&state, &caller, request_id.0, request, |result| {
        json_body(json::tender_answer(&result))
    })
    .await
}

/// Evaluates a tender for `caller`, logs every member's decision and signs its receipt (the
/// console's tender form goes through here too), then hands the result to `finish` off the
/// async workers (the API writes its JSON there): once every log entry is durable.
pub(super) async fn tender_logged<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    request_id: String,
    mut request: TenderRequest,
    finish: impl FnOnce(TenderResult) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    caller.require(evaluators())?;
    check_bidders(&request.bidders)?;
    let context = validated_context(request.context.take())?;
    let inline = inline_by_member(request.records.take(), &request.bidders)?;
    if inline.is_some() && request.known_at.is_some() {
        return Err(known_at_with_inline());
    }
    let known_at_asked = request.known_at.map(millis);
    let worker = state.clone();
    let actor = caller.actor();
    // Evaluate and hand the log entries to the writer off the async workers.
    let (mut result, logged) = blocking(move || {
        let program = program_for(&worker, &request.ruleset, request.version.as_deref())?;
        let store = worker.store.clone();
        let at = request.as_of;
        let mut result = run_tender(&program, &request.bidders, at, &context, |uscc| {
            match (&inline, known_at_asked) {
                (Some(by_member), _) => Ok(by_member
                    .get(uscc)
                    .cloned()
                    .unwrap_or_else(|| Arc::from([]))),
                (None, Some(at)) => store.records_known_at(uscc, at).map(Arc::from),
                (None, None) => store.records_of_shared(uscc),
            }
        })
        .map_err(ApiError::internal)?;
        // Read after the records: every record version used was written by then.
        result.known_at = Some(known_at_asked.unwrap_or_else(now_millis));
        let decided_at = Utc::now();
        let asked = (request_id.as_str(), actor);
        let sign = worker.receipts.as_ref().map(|key| ToSign {
            key: key.clone(),
            bodies: receipt_bodies(&result, decided_at, &context),
        });
        let logged = worker.decisions.submit(
            log_entries(&result, decided_at, &asked, (inline.is_some(), &context)),
            sign,
        )?;
        Ok((result, logged))
    })
    .await?;
    let logged = logged.durable().await?;
    blocking(move || {
        give_members(&mut result, logged);
        finish(result)
    })
    .await
}

/// The receipt bodies of a tender's members, in log order (their decision ids are set by
/// the log's writer, which signs them all with one signature).
fn receipt_bodies(
    result: &TenderResult,
    decided_at: DateTime<Utc>,
    context: &crate::context::TenderContext,
) -> Vec<ReceiptBody> {
    let known_at = result.known_at.unwrap_or(decided_at);
    result
        .bids
        .iter()
        .flat_map(|bid| &bid.members)
        .map(|member| {
            ReceiptBody::of(
                &member.report,
                0,
                Some(member.uscc.as_str().to_owned()),
                member.entity_name.clone(),
                known_at,
                decided_at,
            )
            .in_context(context)
        })
        .collect()
}

/// Gives every member its decision id and signed receipt (in log order).
fn give_members(result: &mut TenderResult, logged: super::decision_log::Logged) {
    let mut receipts = logged.receipts.into_iter();
    let members = result
        .bids
        .iter_mut()
        .flat_map(|bid| bid.members.iter_mut());
    for (member, seq) in members.zip(logged.seqs) {
        member.decision_id = Some(seq);
        member.receipt = receipts.next();
    }
}

/// The time truncated to milliseconds (the precision the store keeps write times in).
fn millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

fn now_millis() -> DateTime<Utc> {
    millis(Utc::now())
}

fn known_at_with_inline() -> ApiError {
    ApiError::bad_request(
        "known_at",
        "`known_at` chooses among the stored records as the store knew them; it cannot go \
         with `records` given inline: leave one out",
    )
}

/// The request's tender context (none given: the empty one), or 400 `invalid_context`
/// naming the field (`context.budget` …).
fn validated_context(
    context: Option<crate::context::TenderContext>,
) -> Result<crate::context::TenderContext, ApiError> {
    let context = context.unwrap_or_default();
    context.validate().map_err(|e| {
        ApiError::bad_request("invalid_context", e.to_string()).with_errors(vec![ItemError {
            at: format!("context.{}", e.field),
            message: e.problem.clone(),
        }])
    })?;
    Ok(context)
}

/// One decision-log entry per member evaluated, built over the machine's cores.
fn log_entries(
    result: &TenderResult,
    now: chrono::DateTime<Utc>,
    (request_id, caller): &(&str, crate::store::Actor),
    (inline, context): (bool, &crate::context::TenderContext),
) -> Vec<DecisionEntry> {
    let known_at = result.known_at.unwrap_or(now);
    let members: Vec<_> = result.bids.iter().flat_map(|bid| &bid.members).collect();
    for member in &members {
        count_evaluation(&member.report);
    }
    let entry = |member: &&crate::tender::MemberResult| {
        DecisionEntry::from_report(&member.report, vec![member.uscc.clone()], now)
            .asked_by(Some(request_id), Some(caller.clone()))
            .records_from(known_at, inline)
            .in_context(context)
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

/// The compiled version of rule set `id` that `text` names ([`crate::version_ref`]: `@active`
/// or its aliases, or 8 to 64 hex digits of a version identity), `None` for the active
/// version.
///
/// A version identity ([`crate::compile::version_id`]) names the rule set's source and the
/// versions of its bases; every identity the store can rebuild is accepted
/// ([`crate::impact_store::find_version`]), and so is the active version's even when the
/// store does not hold it. For older clients, a stored version's source hash (as
/// `/rulesets/{id}/versions` lists them) that no identity starts with names that source on
/// the newest bases. A prefix of several is refused (400 `ambiguous_version`); one of none
/// is 404 `version_not_found`.
pub(super) fn named_version(
    state: &AppState,
    id: &str,
    text: &str,
) -> Result<Option<StoredChain>, ApiError> {
    let reference =
        VersionRef::parse(text).map_err(|e| ApiError::bad_request("version", e.to_string()))?;
    let VersionRef::Prefix(prefix) = reference else {
        return Ok(None);
    };
    let head = state.registry.get(id).map(|h| h.meta.hash.clone());
    let head_matches = head.as_deref().is_some_and(|h| h.starts_with(&prefix));
    // A rule set the store holds no version of (a service started on rule files) counts
    // with its active source.
    let active = |ruleset: &str| state.registry.source(ruleset);
    let reference = StoredRef::Hash(prefix.clone());
    match find_version_or(state.store.as_ref(), id, &reference, &active) {
        Ok(chain) if head.as_deref() == Some(chain.id.as_str()) => Ok(None),
        Ok(_) if head_matches => Err(ApiError::bad_request(
            "ambiguous_version",
            format!(
                "`{prefix}` is the start of several versions of `{id}`; give more hex digits of the version id"
            ),
        )),
        Ok(chain) => Ok(Some(chain)),
        Err(VersionError::NotFound { .. } | VersionError::NoVersions { .. }) if head_matches => {
            Ok(None)
        }
        Err(e @ (VersionError::NotFound { .. } | VersionError::NoVersions { .. })) => {
            Err(ApiError::not_found(
                "version_not_found",
                format!("{e}; GET /api/v1/rulesets/{id} shows the active version's id"),
            ))
        }
        Err(e @ VersionError::Ambiguous { .. }) => {
            Err(ApiError::bad_request("ambiguous_version", e.to_string()))
        }
        Err(VersionError::BadReference(text)) => Err(ApiError::bad_request(
            "version",
            VersionRefError::Malformed(text).to_string(),
        )),
        Err(VersionError::Store(e)) => Err(ApiError::internal(e)),
    }
}

/// The program to evaluate with: the live head, or a stored version compiled on exactly
/// the base versions its identity names.
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
    stored
        .compile()
        .map(Arc::new)
        .map_err(|d| ApiError::invalid_rules(&d))
}

/// The records an evaluation uses, the entities they belong to, and when the store knew them.
struct Taken {
    records: Arc<[CreditRecord]>,
    usccs: Vec<Uscc>,
    known_at: DateTime<Utc>,
}

/// The records to evaluate: inline, or the entity's stored records as the store knows them
/// now or knew them at `known_at`.
fn records_for(
    state: &AppState,
    uscc: Option<Uscc>,
    inline: Option<Vec<CreditRecord>>,
    known_at: Option<DateTime<Utc>>,
) -> Result<Taken, ApiError> {
    match (uscc, inline) {
        (_, Some(_)) if known_at.is_some() => Err(known_at_with_inline()),
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
            Ok(Taken {
                records: records.into(),
                usccs,
                known_at: now_millis(),
            })
        }
        (Some(uscc), None) => {
            let (records, known_at) = match known_at.map(millis) {
                Some(at) => {
                    let records = state
                        .store
                        .records_known_at(&uscc, at)
                        .map_err(ApiError::internal)?;
                    (records.into(), at)
                }
                None => {
                    let records = state
                        .store
                        .records_of_shared(&uscc)
                        .map_err(ApiError::internal)?;
                    // Read after the records: every record version used was written by then.
                    (records, now_millis())
                }
            };
            Ok(Taken {
                records,
                usccs: vec![uscc],
                known_at,
            })
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
    // The decision code is a static string: a label borrowed, not copied.
    metrics::counter!(
        "evaluations_total",
        "ruleset" => report.ruleset.to_string(),
        "decision" => report.decision.code()
    )
    .increment(1);
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
