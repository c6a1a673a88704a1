//! Page model of the decision-log search (entity, rule set, time range) with the entity's
//! stored records when one entity is searched.

use super::pages::ConsoleLayout;
use askama::Template;

/// One logged decision.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Sequence number.
    pub seq: u64,
    /// When (Beijing time).
    pub time: String,
    /// Rule set and short version hash.
    pub rules: String,
    /// Evaluation day.
    pub as_of: String,
    /// The entities.
    pub usccs: String,
    /// The decision in Chinese.
    pub decision: &'static str,
    /// Total points.
    pub total: String,
    /// Who asked.
    pub caller: String,
}

/// One stored record of the searched entity.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Record id.
    pub id: String,
    /// Kind in Chinese.
    pub kind: &'static str,
    /// Decision date.
    pub decided_on: String,
    /// Authority and document number.
    pub source: String,
    /// 有效, 已信用修复 (date) or 已撤销 (date).
    pub state: String,
}

/// The search as typed.
#[derive(Debug, Clone, Default)]
pub struct LogSearch {
    /// USCC.
    pub uscc: String,
    /// Rule-set id.
    pub ruleset: String,
    /// From day (YYYY-MM-DD, Beijing).
    pub from: String,
    /// To day, inclusive.
    pub to: String,
    /// The page after this decision sequence number (empty: the first page).
    pub after: String,
}

/// `/console/ops/decisions`.
#[derive(Template)]
#[template(path = "console/decisions.html")]
pub struct DecisionLogPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// The search.
    pub search: LogSearch,
    /// Matching decisions of this page, in log order (oldest first).
    pub rows: Vec<LogRow>,
    /// The query string of the next page (empty: this is the last).
    pub next: String,
    /// The searched entity's name, when known.
    pub entity_name: String,
    /// The searched entity's stored records.
    pub records: Vec<StoredRecord>,
    /// Why the search was refused.
    pub error: String,
}
