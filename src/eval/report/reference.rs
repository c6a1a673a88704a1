//! The report builder as it was before it wrote one buffer per sentence, kept as a test-only
//! reference: the differential tests in `super::tests` check that the fast builder writes
//! the very same report (and so the same JSON bytes and Chinese sentences).

use super::super::Outcome;
use super::{ClauseReport, RecordRef, Report};
use crate::ast::ClauseKind;
use crate::compile::{CompiledClause, CompiledRuleSet};
use crate::record::CreditRecord;
use rust_decimal::Decimal;

impl RecordRef {
    fn of_reference(record: &CreditRecord) -> Self {
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
    fn describe_reference(&self) -> String {
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
    /// The report as the old builder wrote it.
    pub(crate) fn report_reference(
        &self,
        program: &CompiledRuleSet,
        records: &[CreditRecord],
    ) -> Report {
        let mut report = Report {
            ruleset: program.meta.id.as_str().into(),
            version: program.meta.version.as_str().into(),
            hash: program.meta.hash.as_str().into(),
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
                .map(RecordRef::of_reference)
                .collect();
            let entry = ClauseReport {
                clause: clause.id.as_str().into(),
                kind: clause.kind,
                origin: clause.origin.as_str().into(),
                wording: clause.wording.as_deref().map(Into::into),
                basis: clause.basis.as_deref().map(Into::into),
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

/// A decimal with exactly two places, e.g. `8.50`; points the rule set left with more
/// places (`rounding on_total …`) in full, as the report shows them.
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
    outcome: &crate::eval::ClauseOutcome,
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
        let listed: Vec<String> = records.iter().map(RecordRef::describe_reference).collect();
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
