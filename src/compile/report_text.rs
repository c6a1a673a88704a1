//! What a report of a compiled rule set always says, prepared once when the rule set is
//! compiled: its id, version and hash and each clause's id, origin, wording and basis as
//! shared text (a report holds them by reference count instead of copying them), and the
//! fixed pieces of every clause's sentence, so that a report writes only the numbers, the
//! records and the errors between them. What the pieces hold is exactly what the sentence
//! writer wrote piece by piece before (differential tests compare whole reports with the
//! old builder).

use crate::ast::ClauseKind;
use crate::compile::{CompiledClause, RuleSetMeta};
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::sync::Arc;

/// The report text of a compiled rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportText {
    /// Rule-set id.
    pub(crate) ruleset: Arc<str>,
    /// Version label.
    pub(crate) version: Arc<str>,
    /// Version identity.
    pub(crate) hash: Arc<str>,
    /// Per clause, in the rule set's order.
    pub(crate) clauses: Vec<ClauseText>,
}

impl ReportText {
    /// The report text of the rule set `meta` with these clauses.
    pub(crate) fn of(meta: &RuleSetMeta, clauses: &[CompiledClause]) -> Self {
        ReportText {
            ruleset: meta.id.as_str().into(),
            version: meta.version.as_str().into(),
            hash: meta.hash.as_str().into(),
            clauses: clauses.iter().map(ClauseText::of).collect(),
        }
    }
}

/// A score's sentence between its points and its raw value.
pub(crate) const SCORE_MIDDLE: &str = " 分（计算值 ";

/// One clause's sentence pieces, in the order they are written.
///
/// - veto: `head` (`触发否决条款“X”：wording。`), the evidence, `tail` (`。依据：…。`);
/// - flag: `head` (`提示条款“X”：`), the evidence, `tail` (`，请评标委员会核实。依据：…。`);
/// - score: `head` (`评分条款“X”得 `), the points, [`SCORE_MIDDLE`], the raw value,
///   `limits` (`，上限 10，下限 0，权重 0.8）。`), the evidence, `tail` (`。依据：…。`);
/// - a clause that could not be evaluated: `error_head` (`条款“X”无法计算（`), the error,
///   `error_tail` (`），需人工复核。依据：…。`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClauseText {
    /// Clause id.
    pub(crate) id: Arc<str>,
    /// The rule set that defines it.
    pub(crate) origin: Arc<str>,
    /// Tender-document wording.
    pub(crate) wording: Option<Arc<str>>,
    /// Legal basis.
    pub(crate) basis: Option<Arc<str>>,
    pub(crate) head: Box<str>,
    pub(crate) limits: Box<str>,
    pub(crate) tail: Box<str>,
    pub(crate) error_head: Box<str>,
    pub(crate) error_tail: Box<str>,
    /// A score's sentence prepared for each outcome its plan keeps (none for vetoes, flags
    /// and scores evaluated only by their expression).
    pub(crate) scores: Box<[crate::eval::ScoreText]>,
}

impl ClauseText {
    /// The pieces of `clause`'s sentences.
    pub(crate) fn of(clause: &CompiledClause) -> Self {
        let basis = clause
            .basis
            .as_ref()
            .map(|b| format!("依据：{b}。"))
            .unwrap_or_default();
        let (head, limits, tail) = match clause.kind {
            ClauseKind::Veto => {
                let wording = clause
                    .wording
                    .as_deref()
                    .unwrap_or("")
                    .trim_end_matches('。');
                (
                    format!("触发否决条款“{}”：{wording}。", clause.id),
                    String::new(),
                    format!("。{basis}"),
                )
            }
            ClauseKind::Flag => (
                format!("提示条款“{}”：", clause.id),
                String::new(),
                format!("，请评标委员会核实。{basis}"),
            ),
            ClauseKind::Score => {
                let mut limits = String::new();
                if let Some(cap) = clause.cap {
                    let _ = write!(limits, "，上限 {}", cap.normalize());
                }
                if let Some(floor) = clause.floor {
                    let _ = write!(limits, "，下限 {}", floor.normalize());
                }
                if clause.weight != Decimal::ONE {
                    let _ = write!(limits, "，权重 {}", clause.weight.normalize());
                }
                limits.push_str("）。");
                (
                    format!("评分条款“{}”得 ", clause.id),
                    limits,
                    format!("。{basis}"),
                )
            }
        };
        let scores = match clause.kind {
            ClauseKind::Score => {
                crate::eval::ScoreText::of_plan(&clause.plan, &head, &limits, &tail)
            }
            ClauseKind::Veto | ClauseKind::Flag => Box::default(),
        };
        ClauseText {
            scores,
            id: clause.id.as_str().into(),
            origin: clause.origin.as_str().into(),
            wording: clause.wording.as_deref().map(Arc::from),
            basis: clause.basis.as_deref().map(Arc::from),
            head: head.into(),
            limits: limits.into(),
            tail: tail.into(),
            error_head: format!("条款“{}”无法计算（", clause.id).into(),
            error_tail: format!("），需人工复核。{basis}").into(),
        }
    }
}
