//! Page model of the evaluation page: the form (rule set, version, day, a USCC from the
//! store or pasted records) and the decision with each veto, flag and score, its Chinese
//! explanation and the records behind it.

use super::pages::ConsoleLayout;
use crate::eval::{ClauseReport, Report};
use askama::Template;

/// A record cited by a clause.
#[derive(Debug, Clone)]
pub struct CitedRecord {
    /// Record id.
    pub id: String,
    /// Kind in Chinese.
    pub kind: String,
    /// Authority and document number.
    pub source: String,
    /// Decision date.
    pub decided_on: String,
}

/// One clause of the decision.
#[derive(Debug, Clone)]
pub struct ClauseLine {
    /// 否决, 提示 or 评分.
    pub kind: &'static str,
    /// Clause id.
    pub clause: String,
    /// Points (score clauses), e.g. `-2.00`.
    pub points: String,
    /// The Chinese explanation.
    pub explanation: String,
    /// The tender wording.
    pub wording: String,
    /// Why it could not be evaluated.
    pub error: String,
    /// The records behind it.
    pub records: Vec<CitedRecord>,
}

fn line(kind: &'static str, c: &ClauseReport) -> ClauseLine {
    ClauseLine {
        kind,
        clause: c.clause.clone(),
        points: c.points.map(|p| p.to_string()).unwrap_or_default(),
        explanation: c.explanation.clone(),
        wording: c.wording.clone().unwrap_or_default(),
        error: c.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        records: c
            .records
            .iter()
            .map(|r| CitedRecord {
                id: r.id.clone(),
                kind: r.kind_label.to_owned(),
                source: [r.authority.as_deref(), r.document_no.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                decided_on: r.decided_on.to_string(),
            })
            .collect(),
    }
}

/// A decision ready to show.
#[derive(Debug, Clone)]
pub struct DecisionView {
    /// 合格, 不合格 or 需人工复核.
    pub decision: &'static str,
    /// The CSS class of the decision.
    pub class: &'static str,
    /// Total points.
    pub total: String,
    /// Rule set, version and hash applied.
    pub rules: String,
    /// The day.
    pub as_of: String,
    /// Vetoes, flags, then scores.
    pub clauses: Vec<ClauseLine>,
}

impl DecisionView {
    /// The view of a report.
    pub fn of(report: &Report) -> DecisionView {
        let mut clauses: Vec<ClauseLine> = report.vetoes.iter().map(|c| line("否决", c)).collect();
        clauses.extend(report.flags.iter().map(|c| line("提示", c)));
        clauses.extend(report.scores.iter().map(|c| line("评分", c)));
        DecisionView {
            decision: report.decision_label,
            class: match report.decision.code() {
                "eligible" => "active",
                "disqualified" => "rejected",
                _ => "pending",
            },
            total: report.total.to_string(),
            rules: format!(
                "{} {}（{}）",
                report.ruleset,
                report.version,
                report.hash.get(..12).unwrap_or(&report.hash)
            ),
            as_of: report.as_of.to_string(),
            clauses,
        }
    }
}

/// An option of the rule-set choice.
#[derive(Debug, Clone)]
pub struct RuleSetChoice {
    /// Id.
    pub id: String,
    /// Shown label.
    pub label: String,
    /// Chosen now.
    pub selected: bool,
}

/// The form's values.
#[derive(Debug, Clone, Default)]
pub struct EvaluateForm {
    /// Version (empty: active).
    pub version: String,
    /// The day.
    pub as_of: String,
    /// USCC.
    pub uscc: String,
    /// Pasted records (JSON array).
    pub records: String,
}

/// `/console/evaluate`.
#[derive(Template)]
#[template(path = "console/evaluate.html")]
pub struct EvaluatePage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Rule sets.
    pub rulesets: Vec<RuleSetChoice>,
    /// The form as filled.
    pub form: EvaluateForm,
    /// The decision, after a submission.
    pub result: Option<DecisionView>,
    /// Why the evaluation was refused.
    pub error: String,
}
