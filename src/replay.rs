//! Replaying a logged decision: the rule-set version its identity names is rebuilt from the
//! stored sources, the entity's records are taken as the store knew them at the decision's
//! `known_at`, the evaluation runs again, and the result is compared with the logged report
//! field by field ("identical", or every difference with its JSON path).
//!
//! Used by `GET /api/v1/decisions/{id}/replay` and `credit-rules replay ID`.

use crate::impact_store::{StoredRef, Unstored, VersionError, find_version_or};
use crate::record::CreditRecord;
use crate::store::{DecisionEntry, DecisionQuery, RecordStore, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Replay {
    /// The decision replayed (its decision-log sequence number).
    pub decision_id: u64,
    /// Rule-set id.
    pub ruleset: String,
    /// The version identity applied (the logged one).
    pub version_id: String,
    /// The evaluation day.
    pub as_of: NaiveDate,
    /// The records were taken as the store knew them at this time.
    pub known_at: DateTime<Utc>,
    /// `identical` or `different`.
    pub outcome: &'static str,
    /// True when the recomputed report is the logged one.
    pub identical: bool,
    /// Every difference: where (a JSON pointer into the report), the logged and the
    /// recomputed value (`null` where one side has nothing).
    pub differences: Vec<Difference>,
}

/// One difference between the logged and the recomputed report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Difference {
    /// JSON pointer (RFC 6901) into the report, e.g. `/total` or `/scores/0/points`.
    pub path: String,
    /// The value in the decision log.
    #[schema(value_type = Object)]
    pub logged: Value,
    /// The value computed now.
    #[schema(value_type = Object)]
    pub replayed: Value,
}

/// Why a decision cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No decision has this id.
    #[error("there is no decision {0} in the decision log")]
    NotFound(u64),
    /// The decision was made on records given with the request.
    #[error(
        "decision {0} was made on records given with the request, which the store does not \
         hold: it cannot be replayed from the store"
    )]
    InlineRecords(u64),
    /// The rule-set version cannot be rebuilt.
    #[error("the rules of decision {id} cannot be rebuilt: {reason}")]
    Version {
        /// The decision.
        id: u64,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The logged decision with this id.
pub fn find_decision(store: &dyn RecordStore, id: u64) -> Result<DecisionEntry, ReplayError> {
    let query = DecisionQuery {
        after_seq: id.checked_sub(1),
        limit: 1,
        ..DecisionQuery::default()
    };
    store
        .decisions(&query)?
        .into_iter()
        .find(|d| d.seq == id)
        .map(|d| d.entry)
        .ok_or(ReplayError::NotFound(id))
}

/// Recomputes decision `id` and compares it with the log. `unstored` gives the source of a
/// rule set the store holds no version of (the service: its active source).
pub fn replay(
    store: &dyn RecordStore,
    id: u64,
    unstored: Unstored<'_>,
) -> Result<Replay, ReplayError> {
    let entry = find_decision(store, id)?;
    if entry.inline_records {
        return Err(ReplayError::InlineRecords(id));
    }
    let known_at = entry.known_at.unwrap_or(entry.time);
    let reference = StoredRef::Hash(entry.version_hash.clone());
    let version =
        find_version_or(store, &entry.ruleset_id, &reference, unstored).map_err(|e| match e {
            VersionError::Store(e) => ReplayError::Store(e),
            other => ReplayError::Version {
                id,
                reason: other.to_string(),
            },
        })?;
    let program = version.compile().map_err(|d| ReplayError::Version {
        id,
        reason: d.render(),
    })?;
    let mut records: Vec<CreditRecord> = Vec::new();
    for uscc in &entry.usccs {
        records.extend(store.records_known_at(uscc, known_at)?);
    }
    let context = entry.context.clone().unwrap_or_default();
    let report = program
        .evaluate_with(&records, entry.as_of, &context)
        .report(&program, &records);
    let replayed = DecisionEntry::from_report(&report, entry.usccs.clone(), entry.time);
    let mut differences = Vec::new();
    compare(
        "",
        &entry.report.to_value(),
        &replayed.report.to_value(),
        &mut differences,
    );
    let identical = differences.is_empty();
    Ok(Replay {
        decision_id: id,
        ruleset: entry.ruleset_id,
        version_id: entry.version_hash,
        as_of: entry.as_of,
        known_at,
        outcome: if identical { "identical" } else { "different" },
        identical,
        differences,
    })
}

/// Appends every difference between `logged` and `replayed` below `path`.
fn compare(path: &str, logged: &Value, replayed: &Value, out: &mut Vec<Difference>) {
    match (logged, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let here = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                compare(
                    &here,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                compare(
                    &format!("{path}/{i}"),
                    a.get(i).unwrap_or(&Value::Null),
                    b.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            logged: a.clone(),
            replayed: b.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_listed_with_their_json_pointer() {
        let logged = json!({ "total": "4.40", "scores": [{ "points": "1" }], "a/b": 1 });
        let replayed = json!({ "total": "4.40", "scores": [{ "points": "2" }, {}], "a/b": 1 });
        let mut out = Vec::new();
        compare("", &logged, &replayed, &mut out);
        let paths: Vec<&str> = out.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/scores/0/points", "/scores/1"]);
        assert_eq!(out[0].logged, json!("1"));
        assert_eq!(out[0].replayed, json!("2"));
        let mut none = Vec::new();
        compare("", &logged, &logged, &mut none);
        assert!(none.is_empty());
    }
}
