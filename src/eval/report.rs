//! The serialisable report of an evaluation: the decision, the total, and for
//! every clause that matters the points, the records behind it, and a plain
//! Chinese sentence a bidder can read. Field order and number formats are
//! fixed, so the same inputs always give the same bytes.

use super::{EvalError, Outcome};
use crate::ast::ClauseKind;
use crate::compile::{ClauseText, CompiledClause, CompiledRuleSet, SCORE_MIDDLE};
use crate::record::CreditRecord;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

mod json;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
mod text;

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
    #[serde(serialize_with = "text::shared")]
    #[schema(value_type = String)]
    pub ruleset: Arc<str>,
    /// Rule-set version label.
    #[serde(serialize_with = "text::shared")]
    #[schema(value_type = String)]
    pub version: Arc<str>,
    /// The version identity of the rules applied (`crate::compile::version_id`): accepted
    /// back as `version`, whole or by a prefix of at least 8 digits.
    #[serde(serialize_with = "text::shared")]
    #[schema(value_type = String)]
    pub hash: Arc<str>,
    /// Evaluation date.
    #[serde(serialize_with = "text::date")]
    pub as_of: NaiveDate,
    /// The verdict.
    pub decision: Decision,
    /// Its Chinese label.
    pub decision_label: &'static str,
    /// Total credit points, 2 decimal places.
    #[serde(serialize_with = "text::decimal")]
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
    #[serde(serialize_with = "text::shared")]
    #[schema(value_type = String)]
    pub clause: Arc<str>,
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// The rule set that defines it.
    #[serde(serialize_with = "text::shared")]
    #[schema(value_type = String)]
    pub origin: Arc<str>,
    /// Tender-document wording.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_shared"
    )]
    #[schema(value_type = Option<String>)]
    pub wording: Option<Arc<str>>,
    /// Legal basis.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_shared"
    )]
    #[schema(value_type = Option<String>)]
    pub basis: Option<Arc<str>>,
    /// Weighted, rounded points (score).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_decimal"
    )]
    pub points: Option<Decimal>,
    /// Points before cap, floor and weight (score).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_decimal"
    )]
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
    #[serde(serialize_with = "text::date")]
    pub decided_on: NaiveDate,
    /// Since 1.1. Publication date, when the record gives one (else it counts from
    /// `decided_on`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_date"
    )]
    pub published_on: Option<NaiveDate>,
    /// End of disclosure.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_date"
    )]
    pub disclosure_until: Option<NaiveDate>,
    /// Since 1.1. End of validity (有效期至), e.g. of a grade.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::optional_date"
    )]
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

    /// Appends `行政处罚〔记录 X〕（武环罚〔2022〕14号，武汉市生态环境局，2022-03-03 认定，公示至 …）`.
    fn describe(&self, out: &mut String) {
        out.push_str(self.kind_label);
        out.push_str("〔记录 ");
        out.push_str(&self.id);
        out.push_str("〕（");
        if let Some(doc) = &self.document_no {
            out.push_str(doc);
            out.push('，');
        }
        if let Some(authority) = &self.authority {
            out.push_str(authority);
            out.push('，');
        }
        push_date(out, self.decided_on);
        out.push_str(" 认定");
        if let Some(published) = self.published_on {
            out.push('，');
            push_date(out, published);
            out.push_str(" 公示");
        }
        match self.disclosure_until {
            Some(until) => {
                out.push_str("，公示至 ");
                push_date(out, until);
            }
            None => out.push_str("，未设公示截止日期"),
        }
        if let Some(valid) = self.valid_until {
            out.push_str("，有效期至 ");
            push_date(out, valid);
        }
        out.push('）');
    }

    /// Bytes [`RecordRef::describe`] writes at most, give or take a long number.
    fn describe_len(&self) -> usize {
        // Fixed text and four dates: about 130 bytes; a little more does no harm.
        144 + self.kind_label.len()
            + self.id.len()
            + self.document_no.as_ref().map_or(0, String::len)
            + self.authority.as_ref().map_or(0, String::len)
    }
}

impl Outcome {
    /// Builds the full report; `records` must be the slice that was evaluated.
    ///
    /// The rule set's and clauses' own text (id, version, hash, clause id, origin, wording,
    /// basis) is shared with the compiled rule set, not copied. Each explanation is one
    /// buffer sized up front: the fixed pieces prepared at compile time, the numbers and
    /// dates between them written digit by digit.
    pub fn report(&self, program: &CompiledRuleSet, records: &[CreditRecord]) -> Report {
        let decision = self.decision(program);
        let shown = |(clause, outcome): (&CompiledClause, &super::ClauseOutcome)| {
            outcome.fired || outcome.error.is_some() || clause.kind == ClauseKind::Score
        };
        let (mut vetoes, mut flags, mut scores) = (0, 0, 0);
        for (clause, outcome) in program.clauses.iter().zip(&self.clauses) {
            if shown((clause, outcome)) {
                match clause.kind {
                    ClauseKind::Veto => vetoes += 1,
                    ClauseKind::Flag => flags += 1,
                    ClauseKind::Score => scores += 1,
                }
            }
        }
        let shared = &program.report_text;
        let mut report = Report {
            ruleset: shared.ruleset.clone(),
            version: shared.version.clone(),
            hash: shared.hash.clone(),
            as_of: self.as_of,
            decision,
            decision_label: decision.label(),
            total: fixed2(self.total()),
            vetoes: Vec::with_capacity(vetoes),
            flags: Vec::with_capacity(flags),
            scores: Vec::with_capacity(scores),
        };
        let clauses = program.clauses.iter().zip(&shared.clauses);
        for (i, ((clause, text), outcome)) in clauses.zip(&self.clauses).enumerate() {
            if !shown((clause, outcome)) {
                continue;
            }
            let evidence = self.evidence_of(i);
            let mut cited = Vec::with_capacity(evidence.len());
            cited.extend(
                evidence
                    .iter()
                    .filter_map(|r| records.get(*r as usize))
                    .map(RecordRef::of),
            );
            // A score whose outcome its plan keeps has its numbers and sentence written.
            let prepared = match (clause.kind, &outcome.error) {
                (ClauseKind::Score, None) if !text.scores.is_empty() => {
                    let key = ScoreText::key(outcome);
                    text.scores.iter().find(|t| t.key == key)
                }
                _ => None,
            };
            let (points, raw, explanation) = match prepared {
                Some(prepared) => (
                    prepared.points,
                    prepared.raw,
                    prepared.explain(text, &cited),
                ),
                None => {
                    let points = outcome.points.map(fixed2);
                    let raw = outcome.raw.map(|r| r.normalize());
                    let explanation = explain(text, clause.kind, outcome, (points, raw), &cited);
                    (points, raw, explanation)
                }
            };
            let entry = ClauseReport {
                clause: text.id.clone(),
                kind: clause.kind,
                origin: text.origin.clone(),
                wording: text.wording.clone(),
                basis: text.basis.clone(),
                points,
                raw,
                explanation,
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

/// A score's sentence for one outcome its plan keeps, written when the rule set is
/// compiled by the same functions a report runs: the points and raw value as the report
/// shows them, the sentence up to its evidence, and the whole sentence when no record is
/// cited. A report uses it for an outcome whose points and raw value are bit for bit these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScoreText {
    /// The outcome's points and raw value, bit for bit ([`Decimal::serialize`]).
    key: ScoreKey,
    /// The points as the report shows them ([`fixed2`]).
    points: Option<Decimal>,
    /// The raw value as the report shows it (normalised).
    raw: Option<Decimal>,
    /// The sentence before its evidence: head, numbers and limits.
    head: Box<str>,
    /// The whole sentence when no record is cited.
    alone: Box<str>,
}

/// A score outcome's points and raw value, bit for bit.
type ScoreKey = (Option<[u8; 16]>, Option<[u8; 16]>);

impl ScoreText {
    /// The sentences of the outcomes `plan` keeps (without errors, each distinct one once),
    /// for a score clause whose sentence pieces are `head`, `limits` and `tail`.
    pub(crate) fn of_plan(
        plan: &super::plan::Plan,
        head: &str,
        limits: &str,
        tail: &str,
    ) -> Box<[ScoreText]> {
        use super::plan::Plan;
        let outcomes: &[super::ClauseOutcome] = match plan {
            Plan::General => &[][..],
            Plan::Count { outcomes, .. } | Plan::Table { outcomes, .. } => &outcomes[..],
        };
        let mut texts: Vec<ScoreText> = Vec::new();
        for outcome in outcomes.iter().filter(|o| o.error.is_none()) {
            let key = ScoreText::key(outcome);
            if texts.iter().any(|t| t.key == key) {
                continue;
            }
            let points = outcome.points.map(fixed2);
            let raw = outcome.raw.map(|r| r.normalize());
            let mut sentence = String::from(head);
            push_numbers(&mut sentence, (points, raw));
            sentence.push_str(limits);
            let before_evidence = sentence.len();
            push_evidence(&mut sentence, &[]);
            sentence.push_str(tail);
            texts.push(ScoreText {
                key,
                points,
                raw,
                head: sentence[..before_evidence].into(),
                alone: sentence.into(),
            });
        }
        texts.into()
    }

    /// The key of a score outcome.
    #[inline]
    fn key(outcome: &super::ClauseOutcome) -> ScoreKey {
        (
            outcome.points.map(|d| d.serialize()),
            outcome.raw.map(|d| d.serialize()),
        )
    }

    /// The sentence citing `records`, the same text [`explain`] writes.
    fn explain(&self, text: &ClauseText, records: &[RecordRef]) -> String {
        if records.is_empty() {
            return String::from(&*self.alone);
        }
        let evidence = 96 + records.iter().map(RecordRef::describe_len).sum::<usize>();
        let mut out = String::with_capacity(self.head.len() + evidence + text.tail.len());
        out.push_str(&self.head);
        push_evidence(&mut out, records);
        out.push_str(&text.tail);
        out
    }
}

/// A score's points, [`SCORE_MIDDLE`] and raw value (a missing one reads `0`).
fn push_numbers(out: &mut String, (points, raw): (Option<Decimal>, Option<Decimal>)) {
    push_decimal(out, points.unwrap_or_default());
    out.push_str(SCORE_MIDDLE);
    // `normalize` of zero is zero, so a missing `raw` reads as it did: `0`.
    push_decimal(out, raw.unwrap_or_default());
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

/// Appends a date as its `Display` writes it (`2024-06-01`).
fn push_date(out: &mut String, date: NaiveDate) {
    match text::date_text(date) {
        Some(text) => match std::str::from_utf8(&text) {
            Ok(text) => out.push_str(text),
            Err(_) => out.extend(text.iter().map(|b| char::from(*b))),
        },
        None => {
            let _ = write!(out, "{date}");
        }
    }
}

/// Appends a decimal as its `Display` writes it (`-0.5`, `8.50`, `0`).
fn push_decimal(out: &mut String, value: Decimal) {
    let mut buf = text::DecimalBuffer::default();
    match text::decimal_text(value, &mut buf) {
        Some(text) => out.push_str(text),
        None => {
            let _ = write!(out, "{value}");
        }
    }
}

/// The Chinese sentence of one clause, written into one buffer allocated once: the fixed
/// pieces prepared with the compiled rule set (`text`), the numbers and records between them.
/// `points` and `raw` are the outcome's, as the report shows them.
fn explain(
    text: &ClauseText,
    kind: ClauseKind,
    outcome: &super::ClauseOutcome,
    (points, raw): (Option<Decimal>, Option<Decimal>),
    records: &[RecordRef],
) -> String {
    if let Some(error) = &outcome.error {
        let mut out = String::with_capacity(text.error_head.len() + 64 + text.error_tail.len());
        out.push_str(&text.error_head);
        let _ = write!(out, "{error}");
        out.push_str(&text.error_tail);
        return out;
    }
    // Two decimals of at most 29 digits, a sign, a point and a leading zero each.
    let numbers = if kind == ClauseKind::Score {
        64 + SCORE_MIDDLE.len()
    } else {
        0
    };
    let evidence = 96 + records.iter().map(RecordRef::describe_len).sum::<usize>();
    let mut out = String::with_capacity(
        text.head.len() + numbers + text.limits.len() + evidence + text.tail.len(),
    );
    out.push_str(&text.head);
    if kind == ClauseKind::Score {
        push_numbers(&mut out, (points, raw));
        out.push_str(&text.limits);
    }
    push_evidence(&mut out, records);
    out.push_str(&text.tail);
    out
}

/// `无相关信用记录`, or `相关记录：…，在评价日仍有效（…）`.
fn push_evidence(out: &mut String, records: &[RecordRef]) {
    let Some((first, rest)) = records.split_first() else {
        out.push_str("无相关信用记录");
        return;
    };
    out.push_str("相关记录：");
    first.describe(out);
    for record in rest {
        out.push('；');
        record.describe(out);
    }
    out.push_str("，在评价日仍有效（未过公示期、未信用修复、未撤销）");
}

/// A readable text rendering of a report, for the terminal.
pub fn render_table(report: &Report) -> String {
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
