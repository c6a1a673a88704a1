//! The serialisable report of an evaluation: the decision, the total, and for
//! every clause that matters the points, the records behind it, and a plain
//! Chinese sentence a bidder can read. Field order and number formats are
//! fixed, so the same inputs always give the same bytes.

use super::{EvalError, Outcome};
use crate::ast::ClauseKind;
use crate::compile::{CompiledClause, CompiledRuleSet};
use crate::record::CreditRecord;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// The evaluation's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// 合格: no veto fired.
    Eligible,
    /// 不合格: at least one veto fired.
    Disqualified,
    /// 需人工复核: a veto could not be evaluated.
    Review,
}

impl Decision {
    /// The code used in JSON: `eligible`, `disqualified` or `review`.
    pub fn code(self) -> &'static str {
        match self {
            Decision::Eligible => "eligible",
            Decision::Disqualified => "disqualified",
            Decision::Review => "review",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Eligible => "合格",
            Decision::Disqualified => "不合格",
            Decision::Review => "需人工复核",
        }
    }
}

/// A whole evaluation, ready for JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Rule-set id.
    pub ruleset: String,
    /// Rule-set version label.
    pub version: String,
    /// The version identity of the rules applied (`crate::compile::version_id`): accepted
    /// back as `version`, whole or by a prefix of at least 8 digits.
    pub hash: String,
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// The verdict.
    pub decision: Decision,
    /// Its Chinese label.
    pub decision_label: &'static str,
    /// Total credit points, 2 decimal places.
    pub total: Decimal,
    /// Vetoes that fired (or failed).
    pub vetoes: Vec<ClauseReport>,
    /// Flags that fired.
    pub flags: Vec<ClauseReport>,
    /// Every score clause.
    pub scores: Vec<ClauseReport>,
}

/// One clause in a report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClauseReport {
    /// Clause id.
    pub clause: String,
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// The rule set that defines it.
    pub origin: String,
    /// Tender-document wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wording: Option<String>,
    /// Legal basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// Weighted, rounded points (score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<Decimal>,
    /// Points before cap, floor and weight (score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Decimal>,
    /// The records that made the clause fire or gave its points.
    pub records: Vec<RecordRef>,
    /// A sentence for the bidder.
    pub explanation: String,
    /// Why it could not be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EvalError>,
}

/// The public facts of a record cited as evidence.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordRef {
    /// Source record id.
    pub id: String,
    /// Kind code.
    pub kind: &'static str,
    /// Kind label.
    pub kind_label: &'static str,
    /// Decision document number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    /// Issuing authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Decision date.
    pub decided_on: NaiveDate,
    /// Since 1.1. Publication date, when the record gives one (else it counts from
    /// `decided_on`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_on: Option<NaiveDate>,
    /// End of disclosure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_until: Option<NaiveDate>,
    /// Since 1.1. End of validity (有效期至), e.g. of a grade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
}

impl RecordRef {
    fn of(record: &CreditRecord) -> Self {
        RecordRef {
            id: record.id.clone(),
            kind: record.kind.code(),
            kind_label: record.kind.label(),
            document_no: record.document_no.clone(),
            authority: record.authority.clone(),
            decided_on: record.decided_on,
            published_on: record.published_on,
            disclosure_until: record.disclosure_until,
            valid_until: record.valid_until,
        }
    }

    /// `行政处罚（武环罚〔2022〕14号，武汉市生态环境局，2022-03-03 认定）`
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(doc) = &self.document_no {
            parts.push(doc.clone());
        }
        if let Some(authority) = &self.authority {
            parts.push(authority.clone());
        }
        parts.push(format!("{} 认定", self.decided_on));
        if let Some(published) = self.published_on {
            parts.push(format!("{published} 公示"));
        }
        parts.push(match self.disclosure_until {
            Some(until) => format!("公示至 {until}"),
            None => "未设公示截止日期".to_string(),
        });
        if let Some(valid) = self.valid_until {
            parts.push(format!("有效期至 {valid}"));
        }
        format!(
            "{}〔记录 {}〕（{}）",
            self.kind_label,
            self.id,
            parts.join("，")
        )
    }
}

impl Outcome {
    /// Builds the full report; `records` must be the slice that was evaluated.
    pub fn report(&self, program: &CompiledRuleSet, records: &[CreditRecord]) -> Report {
        let mut report = Report {
            ruleset: program.meta.id.clone(),
            version: program.meta.version.clone(),
            hash: program.meta.hash.clone(),
            as_of: self.as_of,
            decision: self.decision(program),
            decision_label: self.decision(program).label(),
            total: fixed2(self.total()),
            vetoes: Vec::new(),
            flags: Vec::new(),
            scores: Vec::new(),
        };
        for (i, (clause, outcome)) in program.clauses.iter().zip(&self.clauses).enumerate() {
            let shown =
                outcome.fired || outcome.error.is_some() || clause.kind == ClauseKind::Score;
            if !shown {
                continue;
            }
            let cited: Vec<RecordRef> = self
                .evidence_of(i)
                .iter()
                .filter_map(|r| records.get(*r as usize))
                .map(RecordRef::of)
                .collect();
            let entry = ClauseReport {
                clause: clause.id.clone(),
                kind: clause.kind,
                origin: clause.origin.clone(),
                wording: clause.wording.clone(),
                basis: clause.basis.clone(),
                points: outcome.points.map(fixed2),
                raw: outcome.raw.map(|r| r.normalize()),
                explanation: explain(clause, outcome, &cited),
                records: cited,
                error: outcome.error.clone(),
            };
            match clause.kind {
                ClauseKind::Veto => report.vetoes.push(entry),
                ClauseKind::Flag => report.flags.push(entry),
                ClauseKind::Score => report.scores.push(entry),
            }
        }
        report
    }
}

/// A decimal with exactly two places, e.g. `8.50`. Points the rule set left with
/// more places (`rounding on_total …` keeps each clause's exact points) are shown
/// in full rather than rounded a second time here, so the report says what was added.
fn fixed2(value: Decimal) -> Decimal {
    if value.scale() > 2 {
        return value.normalize();
    }
    let mut v = value;
    v.rescale(2);
    v
}

fn explain(
    clause: &CompiledClause,
    outcome: &super::ClauseOutcome,
    records: &[RecordRef],
) -> String {
    let basis = clause
        .basis
        .as_ref()
        .map(|b| format!("依据：{b}。"))
        .unwrap_or_default();
    let evidence = if records.is_empty() {
        "无相关信用记录".to_string()
    } else {
        let listed: Vec<String> = records.iter().map(RecordRef::describe).collect();
        format!(
            "相关记录：{}，在评价日仍有效（未过公示期、未信用修复、未撤销）",
            listed.join("；")
        )
    };
    if let Some(error) = &outcome.error {
        return format!(
            "条款“{}”无法计算（{error}），需人工复核。{basis}",
            clause.id
        );
    }
    match clause.kind {
        ClauseKind::Veto => format!(
            "触发否决条款“{}”：{}。{evidence}。{basis}",
            clause.id,
            clause
                .wording
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('。')
        ),
        ClauseKind::Flag => format!(
            "提示条款“{}”：{evidence}，请评标委员会核实。{basis}",
            clause.id
        ),
        ClauseKind::Score => {
            let points = outcome.points.map(fixed2).unwrap_or_default();
            let raw = outcome.raw.unwrap_or_default().normalize();
            let mut limits = Vec::new();
            if let Some(cap) = clause.cap {
                limits.push(format!("上限 {}", cap.normalize()));
            }
            if let Some(floor) = clause.floor {
                limits.push(format!("下限 {}", floor.normalize()));
            }
            if clause.weight != Decimal::ONE {
                limits.push(format!("权重 {}", clause.weight.normalize()));
            }
            let limits = if limits.is_empty() {
                String::new()
            } else {
                format!("，{}", limits.join("，"))
            };
            format!(
                "评分条款“{}”得 {points} 分（计算值 {raw}{limits}）。{evidence}。{basis}",
                clause.id
            )
        }
    }
}

/// A readable text rendering of a report, for the terminal.
pub fn render_table(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rule set  {} (version {}, {})",
        report.ruleset,
        report.version,
        &report.hash[..12.min(report.hash.len())]
    );
    let _ = writeln!(out, "as of     {}", report.as_of);
    let _ = writeln!(
        out,
        "decision  {} ({})",
        report.decision_label,
        serde_json::to_value(report.decision)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "total     {}", report.total);
    for (title, entries) in [
        ("vetoes", &report.vetoes),
        ("flags", &report.flags),
        ("scores", &report.scores),
    ] {
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for e in entries {
            let points = e
                .points
                .map(|p| format!("{p:>8}"))
                .unwrap_or_else(|| "        ".into());
            let ids: Vec<&str> = e.records.iter().map(|r| r.id.as_str()).collect();
            let _ = writeln!(out, "  {points}  {}  [{}]", e.clause, ids.join(", "));
            let _ = writeln!(out, "            {}", e.explanation);
        }
    }
    out
}

#[cfg(test)]
mod decision_tests {
    use super::Decision;

    #[test]
    fn the_code_is_the_json_name() {
        for d in [Decision::Eligible, Decision::Disqualified, Decision::Review] {
            assert_eq!(serde_json::to_value(d).expect("json"), d.code());
        }
    }
}
