//! The decision log: the [`DecisionLog`] concern of the store — every evaluation reported
//! to someone, with the rule-set version and the records it used, numbered in order.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Actor, StoreError};
use crate::record::Uscc;

/// One entry of the decision log: an evaluation that was reported to someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// When the decision was made.
    pub time: DateTime<Utc>,
    /// Rule-set id.
    pub ruleset_id: String,
    /// Hash of the rule texts applied (the report's `hash`).
    pub version_hash: String,
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// The entities evaluated (several for a consortium, 联合体).
    pub usccs: Vec<Uscc>,
    /// The decision code: `eligible`, `disqualified` or `review`.
    pub decision: String,
    /// Total credit points.
    pub total: Decimal,
    /// The report as given to the caller, less the texts that the rules themselves
    /// (identified by `version_hash`) supply: each clause's wording, basis and explanation.
    pub report: ReportJson,
    /// The HTTP request that asked (its `x-request-id`); absent in older entries and for
    /// evaluations not made over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Who asked: the token holder's name and role; absent in older entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Actor>,
    /// The records were taken as the store knew them at this time
    /// ([`Records::records_known_at`](super::Records::records_known_at)); absent in older entries (replay then takes
    /// `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at: Option<DateTime<Utc>>,
    /// The records were given with the request, not read from the store (such a decision
    /// cannot be replayed from the store).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline_records: bool,
    /// The tender context the caller gave (`tender.budget` …); absent when none was
    /// given and in older entries, and replay then evaluates without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<crate::context::TenderContext>,
}

/// A report as JSON text, kept as written (no parsing into a tree on the hot path).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportJson(Box<serde_json::value::RawValue>);

impl ReportJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON as a value tree.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl From<serde_json::Value> for ReportJson {
    fn from(value: serde_json::Value) -> Self {
        // Serialising a Value cannot fail: its map keys are strings.
        let raw = serde_json::value::to_raw_value(&value)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
        ReportJson(raw)
    }
}

impl PartialEq for ReportJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for ReportJson {}

impl DecisionEntry {
    /// The log entry for an evaluation report.
    pub fn from_report(
        report: &crate::eval::Report,
        usccs: Vec<Uscc>,
        time: DateTime<Utc>,
    ) -> DecisionEntry {
        let decision = report.decision.code().to_owned();
        DecisionEntry {
            time,
            ruleset_id: report.ruleset.to_string(),
            version_hash: report.hash.to_string(),
            as_of: report.as_of,
            usccs,
            decision,
            total: report.total,
            report: compact_report(report),
            request_id: None,
            caller: None,
            known_at: None,
            inline_records: false,
            context: None,
        }
    }

    /// Records the tender context the evaluation used (none when it is empty).
    pub fn in_context(mut self, context: &crate::context::TenderContext) -> DecisionEntry {
        self.context = (!context.is_empty()).then(|| context.clone());
        self
    }

    /// Records how the records were taken: as the store knew them at `known_at`, or given
    /// with the request (`inline`).
    pub fn records_from(mut self, known_at: DateTime<Utc>, inline: bool) -> DecisionEntry {
        self.known_at = Some(known_at);
        self.inline_records = inline;
        self
    }

    /// Records the request and the caller that asked for the decision.
    pub fn asked_by(mut self, request_id: Option<&str>, caller: Option<Actor>) -> DecisionEntry {
        self.request_id = request_id.map(str::to_owned);
        self.caller = caller;
        self
    }
}

/// The report without the rule texts (wording, basis, explanation), which the rule-set
/// version reproduces: the log stays small enough to write on every evaluation.
fn compact_report(report: &crate::eval::Report) -> ReportJson {
    let compact = compact::Report::of(report);
    match serde_json::value::to_raw_value(&compact) {
        Ok(raw) => ReportJson(raw),
        Err(_) => ReportJson(serde_json::value::RawValue::NULL.to_owned()),
    }
}

/// Borrowed views of a report that serialise it without the rule texts.
mod compact {
    use crate::ast::ClauseKind;
    use crate::eval::{Decision, EvalError};
    mod report {
        pub use crate::eval::{ClauseReport, RecordRef, Report};
    }
    use chrono::NaiveDate;
    use rust_decimal::Decimal;
    use serde::Serialize;

    #[derive(Serialize)]
    pub(super) struct Report<'a> {
        ruleset: &'a str,
        version: &'a str,
        hash: &'a str,
        as_of: NaiveDate,
        decision: Decision,
        decision_label: &'static str,
        total: Decimal,
        vetoes: Vec<Clause<'a>>,
        flags: Vec<Clause<'a>>,
        scores: Vec<Clause<'a>>,
    }

    #[derive(Serialize)]
    struct Clause<'a> {
        clause: &'a str,
        kind: ClauseKind,
        origin: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        points: Option<Decimal>,
        #[serde(skip_serializing_if = "Option::is_none")]
        raw: Option<Decimal>,
        records: &'a [report::RecordRef],
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a EvalError>,
    }

    impl<'a> Report<'a> {
        pub(super) fn of(report: &'a report::Report) -> Self {
            let clauses = |list: &'a [report::ClauseReport]| {
                list.iter()
                    .map(|c| Clause {
                        clause: &c.clause,
                        kind: c.kind,
                        origin: &c.origin,
                        points: c.points,
                        raw: c.raw,
                        records: &c.records,
                        error: c.error.as_ref(),
                    })
                    .collect()
            };
            Report {
                ruleset: &report.ruleset,
                version: &report.version,
                hash: &report.hash,
                as_of: report.as_of,
                decision: report.decision,
                decision_label: report.decision_label,
                total: report.total,
                vetoes: clauses(&report.vetoes),
                flags: clauses(&report.flags),
                scores: clauses(&report.scores),
            }
        }
    }
}

/// A decision log entry with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedDecision {
    /// Sequence number: unique, increasing in append order.
    pub seq: u64,
    /// The entry.
    pub entry: DecisionEntry,
}

/// Filters for [`DecisionLog::decisions`]; all given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionQuery {
    /// Only decisions about this entity.
    pub uscc: Option<Uscc>,
    /// Only decisions under this rule set.
    pub ruleset_id: Option<String>,
    /// Only decisions made at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only decisions made before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only decisions with a sequence number above this (for paging).
    pub after_seq: Option<u64>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

/// The decision log concern of the store (see the module docs of [`crate::store`]).
pub trait DecisionLog: Send + Sync {
    /// Appends to the decision log; returns the entry's sequence number.
    fn append_decision(&self, entry: &DecisionEntry) -> Result<u64, StoreError> {
        let mut seqs = self.append_decisions(std::slice::from_ref(entry))?;
        seqs.pop()
            .ok_or_else(|| StoreError::InvalidQuery("no sequence number was assigned".into()))
    }

    /// Appends several entries with one flush at the end (group commit); returns their
    /// sequence numbers in order. Durable when it returns.
    fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<Vec<u64>, StoreError>;

    /// Like [`DecisionLog::append_decisions`], but calls `durable` with the sequence numbers
    /// as soon as the entries are durable, which may be before the store has finished
    /// indexing them (a caller can answer earlier). A query started after `durable` was
    /// called still sees the entries.
    fn append_decisions_notify(
        &self,
        entries: &[DecisionEntry],
        durable: &mut dyn FnMut(&[u64]),
    ) -> Result<Vec<u64>, StoreError> {
        let seqs = self.append_decisions(entries)?;
        durable(&seqs);
        Ok(seqs)
    }

    /// Decision log entries matching a query, in sequence order.
    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError>;
}
