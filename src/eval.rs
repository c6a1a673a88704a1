//! Evaluation: compiled rule set × an entity's records × as-of date → outcome.
//!
//! # Which records count
//! A record's status on the as-of date is [`CreditRecord::status_on`]:
//! revoked (撤销) on or before it → never visible; decided or published (公示)
//! after it → not yet effective, never visible (the publication day counts);
//! repaired (信用修复) on or before it → repaired; disclosure end (公示截止) or
//! validity end (有效期至) before it → expired (the last day still counts);
//! otherwise active. A query sees only **active** records unless its filter
//! mentions `status`, in which case it sees active, repaired and expired ones.
//!
//! # Windows
//! `within N years` holds when `as_of − N years ≤ decision date ≤ as_of`, with
//! calendar arithmetic (inclusive at both ends; 29 February minus one year is
//! 28 February). Months work the same way; days are plain day counts.
//!
//! # Missing values
//! A comparison (`=`, `!=`, `<` …, `in`) with a missing value is false;
//! arithmetic with a missing value is missing; `sum` skips missing values;
//! `max`, `min` and `latest` are missing over no records; `x otherwise d`
//! replaces a missing `x` by `d`. `latest` picks the record with the latest
//! decision date, then the greatest id. A tender-context field
//! (`tender.budget` …, [`crate::context`]) the caller did not give is missing
//! too: [`CompiledRuleSet::evaluate`] gives none, [`CompiledRuleSet::evaluate_with`] one.
//!
//! # Points and rounding
//! A score clause's points are clamped to `[floor, cap]`, multiplied by the
//! weight, and rounded to 2 decimal places, half away from zero (四舍五入).
//! The total is the sum of the rounded clause points, so the breakdown always
//! adds up to the total. All arithmetic is exact decimal arithmetic. A rule
//! set may say otherwise in its header (`rounding …`, 计分舍入): other places,
//! half-even (银行家舍入), or rounding only the total (`on_total`, 按总分),
//! when the clauses keep their exact points and the total is their sum rounded.
//!
//! # Failures
//! A clause whose arithmetic fails (overflow, division by zero) is reported
//! with its error; a failed veto makes the decision `review` (人工复核), never a
//! silent pass.

pub(crate) mod code;
#[cfg(test)]
mod differential;
mod distinct;
pub(crate) mod plan;
#[cfg(test)]
mod reference;
mod report;

pub(crate) use report::ScoreText;
pub use report::{ClauseReport, Decision, RecordRef, Report, render_table};

use crate::ast::{Aggregate, BinaryOp, ClauseKind, Duration, DurationUnit, RoundMode};
use crate::compile::{CompiledQuery, CompiledRuleSet, severity_bit, status_bit};
use crate::context::{NO_CONTEXT, TenderContext};
use crate::fold;
use crate::ir::{IrExpr, Value};
use crate::record::{CreditRecord, RecordStatus, days_before, months_before, years_before};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use smallvec::SmallVec;
use std::cmp::Ordering;

pub use crate::fold::EvalError;

/// The start of a window ending on `as_of`.
pub fn window_start(as_of: NaiveDate, window: Duration) -> NaiveDate {
    match window.unit {
        DurationUnit::Years => years_before(as_of, window.amount),
        DurationUnit::Months => months_before(as_of, window.amount),
        DurationUnit::Days => days_before(as_of, window.amount),
    }
}

/// What an expression can see while it is evaluated.
pub(crate) struct Env<'a> {
    as_of: Option<NaiveDate>,
    /// The tender call's facts (every field missing when the caller gave none).
    pub(crate) context: &'a TenderContext,
    /// The current record and its status (inside a query only).
    pub(crate) record: Option<(&'a CreditRecord, RecordStatus)>,
    /// The queries' results (in a clause condition only).
    pub(crate) results: &'a [Value<'a>],
    window_starts: &'a [NaiveDate],
    windows: &'a [Duration],
}

/// The tree-walker: evaluates an expression node by node. The compiled form
/// ([`code::Code`]) runs instead; it comes here for the kinds it has no node for.
pub(crate) fn eval_expr<'a>(expr: &'a IrExpr, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
    Ok(match expr {
        IrExpr::Lit(lit) => lit.as_value(),
        IrExpr::AsOf => env.as_of.map_or(Value::Missing, Value::Date),
        IrExpr::Context(field) => field.read(env.context),
        IrExpr::Field(field) => match env.record {
            Some((record, status)) => field.read(record, status),
            None => Value::Missing,
        },
        IrExpr::Within(d) => Value::Bool(match (env.record, env.as_of) {
            (Some((record, _)), Some(as_of)) => {
                let start = env
                    .windows
                    .iter()
                    .position(|w| w == d)
                    .and_then(|i| env.window_starts.get(i).copied())
                    .unwrap_or_else(|| window_start(as_of, *d));
                record.decided_on >= start && record.decided_on <= as_of
            }
            _ => false,
        }),
        IrExpr::Query(q) => env.results.get(*q).copied().unwrap_or(Value::Missing),
        IrExpr::Not(e) => fold::not(eval_expr(e, env)?),
        IrExpr::Neg(e) => fold::neg(eval_expr(e, env)?),
        IrExpr::Binary(op, a, b) => binary(*op, a, b, env)?,
        IrExpr::In(e, items) => fold::member(eval_expr(e, env)?, items),
        IrExpr::If(c, a, b) => match eval_expr(c, env)? {
            Value::Bool(true) => eval_expr(a, env)?,
            _ => eval_expr(b, env)?,
        },
        IrExpr::Table(key, rows, default) => fold::lookup(eval_expr(key, env)?, rows, *default),
        IrExpr::Scalar(op, args) => {
            fold::scalar::apply(*op, args.iter().map(|a| eval_expr(a, env)))?
        }
    })
}

fn binary<'a>(
    op: BinaryOp,
    a: &'a IrExpr,
    b: &'a IrExpr,
    env: &Env<'a>,
) -> Result<Value<'a>, EvalError> {
    use BinaryOp::*;
    // `and`/`or` short-circuit; everything else evaluates both sides.
    match op {
        And => {
            return Ok(Value::Bool(
                matches!(eval_expr(a, env)?, Value::Bool(true))
                    && matches!(eval_expr(b, env)?, Value::Bool(true)),
            ));
        }
        Or => {
            return Ok(Value::Bool(
                matches!(eval_expr(a, env)?, Value::Bool(true))
                    || matches!(eval_expr(b, env)?, Value::Bool(true)),
            ));
        }
        Otherwise => {
            return match eval_expr(a, env)? {
                Value::Missing => eval_expr(b, env),
                v => Ok(v),
            };
        }
        _ => {}
    }
    fold::strict_binary(op, eval_expr(a, env)?, eval_expr(b, env)?)
}

/// Running result of one query over the records, kept small: it is made for every query
/// of every evaluation.
#[derive(Debug, Clone)]
struct Acc<'a> {
    func: Aggregate,
    error: Option<EvalError>,
    count: u32,
    /// Index of the record that gave `best` (max, min, latest); `u32::MAX` for none.
    best_index: u32,
    /// How many different values were seen (`count distinct`; the values are in
    /// [`Distinct`]).
    distinct: u32,
    sum: Decimal,
    best: Value<'a>,
}

/// The different values each `count distinct` query has seen, by query; inline for two
/// such queries.
type Distinct<'a> = SmallVec<[(usize, Vec<Value<'a>>); 2]>;

impl<'a> Acc<'a> {
    fn new(func: Aggregate) -> Self {
        Acc {
            func,
            error: None,
            count: 0,
            best_index: u32::MAX,
            distinct: 0,
            sum: Decimal::ZERO,
            best: Value::Missing,
        }
    }

    fn result(&self) -> Value<'a> {
        match self.func {
            Aggregate::Count => Value::Number(Decimal::from(self.count)),
            Aggregate::Any => Value::Bool(self.count > 0),
            Aggregate::None => Value::Bool(self.count == 0),
            Aggregate::Sum => Value::Number(self.sum),
            Aggregate::Max | Aggregate::Min | Aggregate::Latest => self.best,
            Aggregate::CountDistinct => Value::Number(Decimal::from(self.distinct)),
        }
    }

    fn best_index(&self) -> Option<usize> {
        (self.best_index != u32::MAX).then_some(self.best_index as usize)
    }

    /// Adds record `index` of `records` with its per-record value; `distinct` holds the
    /// values of query `query` when it is a `count distinct`.
    #[inline]
    fn add(
        &mut self,
        (query, index): (usize, usize),
        records: &'a [CreditRecord],
        value: Value<'a>,
        distinct: &mut Distinct<'a>,
    ) {
        self.count += 1;
        match (self.func, value) {
            (Aggregate::Count | Aggregate::Any | Aggregate::None, _) => {}
            (Aggregate::Sum, Value::Number(n)) => match self.sum.checked_add(n) {
                Some(s) => self.sum = s,
                None => self.error = Some(EvalError::Overflow),
            },
            (Aggregate::Max | Aggregate::Min, Value::Missing) => {}
            (Aggregate::Max | Aggregate::Min, v) => {
                let better = match v.compare(&self.best) {
                    None => matches!(self.best, Value::Missing),
                    Some(o) => {
                        (o == Ordering::Greater) == (self.func == Aggregate::Max)
                            && o != Ordering::Equal
                    }
                };
                if better {
                    self.best = v;
                    self.best_index = index as u32;
                }
            }
            (Aggregate::CountDistinct, v) => {
                let at = match distinct.iter().position(|(q, _)| *q == query) {
                    Some(at) => at,
                    None => {
                        distinct.push((query, Vec::new()));
                        distinct.len() - 1
                    }
                };
                let seen = &mut distinct[at].1;
                distinct::add(seen, v);
                self.distinct = seen.len() as u32;
            }
            (Aggregate::Latest, v) => {
                let record = &records[index];
                let later = self.best_index().is_none_or(|best| {
                    let best = &records[best];
                    (record.decided_on, record.id.as_str()) > (best.decided_on, best.id.as_str())
                });
                if later {
                    self.best = v;
                    self.best_index = index as u32;
                }
            }
            _ => {}
        }
    }
}

/// Clause outcomes held inline: rule sets of up to 16 clauses need no heap allocation.
pub type ClauseOutcomes = SmallVec<[ClauseOutcome; 16]>;

/// Evidence held inline: up to 64 cited records need no heap allocation.
pub type Evidence = SmallVec<[u32; 64]>;

/// The result of one evaluation, kept compact: evidence is record indexes. Evaluating
/// allocates nothing on the heap while the rule set has at most 16 clauses and 16
/// queries, the entity at most 64 records and the clauses cite at most 64 records.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The evaluation date.
    pub as_of: NaiveDate,
    /// Per clause, in the rule set's order.
    pub clauses: ClauseOutcomes,
    /// Record indexes, sliced by `ClauseOutcome::evidence`.
    pub evidence: Evidence,
    /// Places and mode of the total's rounding, when the rule set rounds its
    /// total rather than each clause (`rounding on_total …`).
    pub total_rounding: Option<(u32, RoundMode)>,
}

/// One clause's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ClauseOutcome {
    /// Veto or flag fired, or score computed.
    pub fired: bool,
    /// Points before clamping and weighting (score).
    pub raw: Option<Decimal>,
    /// Weighted, rounded points (score).
    pub points: Option<Decimal>,
    /// Range into `Outcome::evidence`.
    pub evidence: std::ops::Range<u32>,
    /// Why the clause could not be evaluated.
    pub error: Option<EvalError>,
}

impl Outcome {
    /// The decision: disqualified if a veto fired, review if a veto failed.
    pub fn decision(&self, program: &CompiledRuleSet) -> Decision {
        let vetoes = program
            .clauses
            .iter()
            .zip(&self.clauses)
            .filter(|(c, _)| c.kind == ClauseKind::Veto);
        let mut decision = Decision::Eligible;
        for (_, outcome) in vetoes {
            if outcome.fired {
                return Decision::Disqualified;
            }
            if outcome.error.is_some() {
                decision = Decision::Review;
            }
        }
        decision
    }

    /// Sum of the clauses' rounded points (the checker refuses rule sets whose caps and
    /// floors could overflow it; points without a floor saturate at the largest number).
    pub fn total(&self) -> Decimal {
        let sum = self
            .clauses
            .iter()
            .filter_map(|c| c.points)
            .fold(Decimal::ZERO, Decimal::saturating_add);
        match self.total_rounding {
            Some((places, mode)) => fold::scalar::round(sum, places, mode),
            None => sum,
        }
    }

    /// The record indexes behind clause `i`.
    pub fn evidence_of(&self, i: usize) -> &[u32] {
        let range = &self.clauses[i].evidence;
        &self.evidence[range.start as usize..range.end as usize]
    }
}

impl CompiledRuleSet {
    /// Evaluates the entity whose records are `records` as of `as_of`, without a
    /// tender context (clauses reading `tender.…` see missing values).
    pub fn evaluate(&self, records: &[CreditRecord], as_of: NaiveDate) -> Outcome {
        self.evaluate_with(records, as_of, &NO_CONTEXT)
    }

    /// Evaluates as [`Self::evaluate`] does, in the tender call described by
    /// `context` (`tender.budget` …); allocates no more than `evaluate`.
    pub fn evaluate_with(
        &self,
        records: &[CreditRecord],
        as_of: NaiveDate,
        context: &TenderContext,
    ) -> Outcome {
        let mut outcome = Outcome {
            as_of,
            clauses: ClauseOutcomes::new(),
            evidence: Evidence::new(),
            total_rounding: None,
        };
        self.evaluate_into_with(records, as_of, context, &mut outcome);
        outcome
    }

    /// [`CompiledRuleSet::evaluate`] into a caller's outcome, whose previous contents are
    /// replaced: a caller evaluating many entities reuses one outcome and nothing is moved.
    pub fn evaluate_into(&self, records: &[CreditRecord], as_of: NaiveDate, outcome: &mut Outcome) {
        self.evaluate_into_with(records, as_of, &NO_CONTEXT, outcome);
    }

    /// [`CompiledRuleSet::evaluate_with`] into a caller's outcome (see [`Self::evaluate_into`]).
    pub fn evaluate_into_with(
        &self,
        records: &[CreditRecord],
        as_of: NaiveDate,
        context: &TenderContext,
        outcome: &mut Outcome,
    ) {
        // Window starts are computed once per evaluation, when a record first needs one
        // (none with no records); up front when an expression tests a window itself.
        let mut window_starts: SmallVec<[Option<NaiveDate>; 8]> =
            smallvec::smallvec![None; self.windows.len()];
        if self.windows_in_code {
            for (start, w) in window_starts.iter_mut().zip(&self.windows) {
                *start = Some(window_start(as_of, *w));
            }
        }
        let eager_starts: SmallVec<[NaiveDate; 8]> = match self.windows_in_code {
            true => window_starts.iter().flatten().copied().collect(),
            false => SmallVec::new(),
        };
        let words = records.len().div_ceil(64).max(1);
        let mut matched: SmallVec<[u64; 16]> = smallvec::smallvec![0; words * self.queries.len()];
        let mut accs: SmallVec<[Acc<'_>; 16]> = SmallVec::new();
        for query in &self.queries {
            accs.push(Acc::new(query.def.func));
        }
        let mut distinct = Distinct::new();
        {
            let (bits, accs) = (&mut matched[..], &mut accs[..]);
            for (i, record) in records.iter().enumerate() {
                let status = record.status_on(as_of);
                if matches!(
                    status,
                    RecordStatus::Revoked | RecordStatus::NotYetEffective
                ) {
                    continue;
                }
                let Some(candidates) = self.queries_by_kind.get(usize::from(record.kind.index()))
                else {
                    continue;
                };
                let status_mask = status_bit(status);
                let severity = severity_bit(record.severity);
                let env = || Env {
                    as_of: Some(as_of),
                    context,
                    record: Some((record, status)),
                    results: &[],
                    window_starts: &eager_starts,
                    windows: &self.windows,
                };
                'queries: for &q in candidates {
                    let query = &self.queries[q];
                    if query.statuses & status_mask == 0 || query.severities & severity == 0 {
                        continue;
                    }
                    let decided = record.decided_on;
                    for &w in &query.windows {
                        let start = match window_starts[w] {
                            Some(start) => start,
                            None => *window_starts[w].insert(window_start(as_of, self.windows[w])),
                        };
                        if decided < start || decided > as_of {
                            continue 'queries;
                        }
                    }
                    let texts_match = query.text_equals.iter().all(
                        |(field, text)| matches!(field.read(record, status), Value::Text(t) if t == &**text),
                    );
                    if !texts_match {
                        continue;
                    }
                    match query.matches(env, record, status) {
                        Ok(Some(value)) => {
                            bits[q * words + i / 64] |= 1 << (i % 64);
                            accs[q].add((q, i), records, value, &mut distinct);
                        }
                        Ok(None) => {}
                        Err(e) => accs[q].error = Some(e),
                    }
                }
            }
        }
        // max, min and latest rest on the one record that gave the value.
        let mut any_query_error = false;
        for (q, acc) in accs.iter().enumerate() {
            any_query_error |= acc.error.is_some();
            if matches!(
                acc.func,
                Aggregate::Max | Aggregate::Min | Aggregate::Latest
            ) {
                let bits = &mut matched[q * words..(q + 1) * words];
                bits.fill(0);
                if let Some(i) = acc.best_index() {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
        }
        let at = (as_of, context, any_query_error);
        self.evaluate_clauses(&accs, &matched, words, at, &eager_starts, outcome);
    }

    #[inline]
    fn evaluate_clauses(
        &self,
        accs: &[Acc<'_>],
        matched: &[u64],
        words: usize,
        (as_of, context, any_query_error): (NaiveDate, &TenderContext, bool),
        window_starts: &[NaiveDate],
        outcome: &mut Outcome,
    ) {
        // The queries' results, made only when a clause has to evaluate its expression.
        let mut results: Option<SmallVec<[Value<'_>; 16]>> = None;
        outcome.as_of = as_of;
        outcome.clauses.clear();
        outcome.evidence.clear();
        outcome.total_rounding =
            (!self.rounding.per_clause).then_some((self.rounding.places, self.rounding.mode));
        for clause in &self.clauses {
            let query_error = match any_query_error {
                true => clause.queries.iter().find_map(|q| accs[*q].error.clone()),
                false => None,
            };
            let known = match (&query_error, clause.plan.query()) {
                (None, Some(q)) => clause.plan.outcome(accs[q].count, || accs[q].result()),
                _ => None,
            };
            // The outcome goes straight into its place; its evidence is filled in there.
            outcome.clauses.push(match (known, query_error) {
                (Some(out), _) => out.clone(),
                (None, Some(e)) => settle(clause, Err(e)),
                (None, None) => {
                    let results =
                        results.get_or_insert_with(|| accs.iter().map(Acc::result).collect());
                    let env = Env {
                        as_of: Some(as_of),
                        context,
                        record: None,
                        results,
                        window_starts,
                        windows: &self.windows,
                    };
                    settle(clause, clause.code.value(&env))
                }
            });
            let Some(out) = outcome.clauses.last_mut() else {
                continue;
            };
            if out.fired || clause.kind == ClauseKind::Score {
                let start = outcome.evidence.len() as u32;
                collect_evidence(&clause.queries, matched, words, &mut outcome.evidence);
                out.evidence = start..outcome.evidence.len() as u32;
            }
        }
    }
}

/// A clause's outcome from the value of its expression (evidence still to fill in).
pub(crate) fn settle(
    clause: &crate::compile::CompiledClause,
    result: Result<Value<'_>, EvalError>,
) -> ClauseOutcome {
    let mut out = ClauseOutcome {
        fired: false,
        raw: None,
        points: None,
        evidence: 0..0,
        error: None,
    };
    match (clause.kind, result) {
        (_, Err(e)) => out.error = Some(e),
        (ClauseKind::Veto | ClauseKind::Flag, Ok(v)) => out.fired = matches!(v, Value::Bool(true)),
        (ClauseKind::Score, Ok(Value::Number(raw))) => {
            out.fired = true;
            out.raw = Some(raw);
            match clause.weighted(raw) {
                Ok(points) => out.points = Some(points),
                Err(e) => out.error = Some(e),
            }
        }
        (ClauseKind::Score, Ok(_)) => out.points = Some(Decimal::ZERO),
    }
    out
}

impl CompiledQuery {
    /// `Some(per-record value)` when the record passes the residual filter.
    #[inline]
    fn matches<'a>(
        &'a self,
        env: impl Fn() -> Env<'a>,
        record: &'a CreditRecord,
        status: RecordStatus,
    ) -> Result<Option<Value<'a>>, EvalError> {
        let text_holds = |test: &crate::compile::TextTest| {
            test.iter()
                .any(|(field, texts)| match field.read(record, status) {
                    Value::Text(t) => texts.iter().any(|text| **text == *t),
                    _ => false,
                })
        };
        if !self.text_tests.iter().all(text_holds) {
            return Ok(None);
        }
        if let Some(residual) = &self.residual_code
            && !residual.holds(&env())?
        {
            return Ok(None);
        }
        if let Some(field) = self.value_field {
            return Ok(Some(field.read(record, status)));
        }
        match &self.value_code {
            Some(value) => value.value(&env()).map(Some),
            None => Ok(Some(Value::Missing)),
        }
    }
}

impl crate::compile::CompiledClause {
    /// Clamps raw points to `[floor, cap]`, weights and rounds them.
    fn weighted(&self, raw: Decimal) -> Result<Decimal, EvalError> {
        let mut points = raw;
        if let Some(cap) = self.cap
            && points > cap
        {
            points = cap;
        }
        if let Some(floor) = self.floor
            && points < floor
        {
            points = floor;
        }
        let weighted = if self.weight == Decimal::ONE {
            points
        } else {
            points.checked_mul(self.weight).ok_or(EvalError::Overflow)?
        };
        match self.round {
            Some((places, _)) if weighted.scale() <= places => Ok(weighted),
            Some((places, mode)) => Ok(fold::scalar::round(weighted, places, mode)),
            None => Ok(weighted),
        }
    }
}

/// Appends the union of the queries' matched records, in record order.
#[inline]
fn collect_evidence(queries: &[usize], matched: &[u64], words: usize, out: &mut Evidence) {
    for word in 0..words {
        let bits = queries
            .iter()
            .fold(0u64, |acc, q| acc | matched[q * words + word]);
        let mut rest = bits;
        while rest != 0 {
            let bit = rest.trailing_zeros();
            out.push((word * 64) as u32 + bit);
            rest &= rest - 1;
        }
    }
}
