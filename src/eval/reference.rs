//! Test-only: the tree-walking evaluator as it was before expressions were compiled
//! ([`super::code`]) and the evaluation stopped allocating, kept unchanged as the reference
//! the differential tests (`super::differential`) compare [`CompiledRuleSet::evaluate`]
//! with: same clauses, raw points, points (to the decimal's scale), errors and evidence.

use super::{ClauseOutcome, Env, Outcome, eval_expr, window_start};
use crate::ast::{Aggregate, ClauseKind};
use crate::compile::{CompiledQuery, CompiledRuleSet, severity_bit, status_bit};
use crate::fold::EvalError;
use crate::ir::Value;
use crate::record::{CreditRecord, RecordStatus};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// Running result of one query over the records.
#[derive(Debug, Clone)]
struct Acc<'a> {
    func: Aggregate,
    count: u32,
    best_index: u32,
    sum: Decimal,
    best: Value<'a>,
    best_record: Option<&'a CreditRecord>,
    distinct: Vec<Value<'a>>,
    error: Option<EvalError>,
}

impl<'a> Acc<'a> {
    fn new(func: Aggregate) -> Self {
        Acc {
            func,
            count: 0,
            best_index: u32::MAX,
            sum: Decimal::ZERO,
            best: Value::Missing,
            best_record: None,
            distinct: Vec::new(),
            error: None,
        }
    }

    fn result(&self) -> Value<'a> {
        match self.func {
            Aggregate::Count => Value::Number(Decimal::from(self.count)),
            Aggregate::Any => Value::Bool(self.count > 0),
            Aggregate::None => Value::Bool(self.count == 0),
            Aggregate::Sum => Value::Number(self.sum),
            Aggregate::Max | Aggregate::Min | Aggregate::Latest => self.best,
            Aggregate::CountDistinct => Value::Number(Decimal::from(self.distinct.len())),
        }
    }

    fn best_index(&self) -> Option<usize> {
        (self.best_index != u32::MAX).then_some(self.best_index as usize)
    }

    fn add(&mut self, index: usize, record: &'a CreditRecord, value: Value<'a>) {
        self.count += 1;
        match (self.func, value) {
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
            (Aggregate::CountDistinct, v) => super::distinct::add(&mut self.distinct, v),
            (Aggregate::Latest, v) => {
                let later = self.best_record.is_none_or(|best| {
                    (record.decided_on, record.id.as_str()) > (best.decided_on, best.id.as_str())
                });
                if later {
                    self.best_record = Some(record);
                    self.best = v;
                    self.best_index = index as u32;
                }
            }
            _ => {}
        }
    }
}

/// The evaluation as the tree-walker did it.
pub(crate) fn evaluate(
    program: &CompiledRuleSet,
    records: &[CreditRecord],
    as_of: NaiveDate,
) -> Outcome {
    let window_starts: Vec<NaiveDate> = program
        .windows
        .iter()
        .map(|w| window_start(as_of, *w))
        .collect();
    let words = records.len().div_ceil(64).max(1);
    let mut matched = vec![0u64; words * program.queries.len()];
    let mut accs: Vec<Acc<'_>> = program
        .queries
        .iter()
        .map(|q| Acc::new(q.def.func))
        .collect();
    for (i, record) in records.iter().enumerate() {
        let status = record.status_on(as_of);
        if matches!(
            status,
            RecordStatus::Revoked | RecordStatus::NotYetEffective
        ) {
            continue;
        }
        let status_mask = status_bit(status);
        let severity = severity_bit(record.severity);
        let env = Env {
            as_of: Some(as_of),
            context: &crate::context::NO_CONTEXT,
            record: Some((record, status)),
            results: &[],
            window_starts: &window_starts,
            windows: &program.windows,
        };
        let candidates = program
            .queries_by_kind
            .get(usize::from(record.kind.index()));
        for &q in candidates.map_or(&[][..], Vec::as_slice) {
            let query = &program.queries[q];
            if query.statuses & status_mask == 0 || query.severities & severity == 0 {
                continue;
            }
            let in_windows = query
                .windows
                .iter()
                .all(|w| record.decided_on >= window_starts[*w] && record.decided_on <= as_of);
            let texts_match = query.text_equals.iter().all(
                |(field, text)| matches!(field.read(record, status), Value::Text(t) if t == &**text),
            );
            if !in_windows || !texts_match {
                continue;
            }
            match record_matches(query, &env, record, status) {
                Ok(Some(value)) => {
                    matched[q * words + i / 64] |= 1 << (i % 64);
                    accs[q].add(i, record, value);
                }
                Ok(None) => {}
                Err(e) => accs[q].error = Some(e),
            }
        }
    }
    for (q, acc) in accs.iter().enumerate() {
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
    let results: Vec<Value<'_>> = accs.iter().map(Acc::result).collect();
    let env = Env {
        as_of: Some(as_of),
        context: &crate::context::NO_CONTEXT,
        record: None,
        results: &results,
        window_starts: &window_starts,
        windows: &program.windows,
    };
    let mut outcome = Outcome {
        as_of,
        clauses: Default::default(),
        evidence: Default::default(),
        total_rounding: (!program.rounding.per_clause)
            .then_some((program.rounding.places, program.rounding.mode)),
    };
    for clause in &program.clauses {
        let query_error = clause.queries.iter().find_map(|q| accs[*q].error.clone());
        let result = match query_error {
            Some(e) => Err(e),
            None => eval_expr(&clause.expr, &env),
        };
        let mut out = ClauseOutcome {
            fired: false,
            raw: None,
            points: None,
            evidence: 0..0,
            error: None,
        };
        match (clause.kind, result) {
            (_, Err(e)) => out.error = Some(e),
            (ClauseKind::Veto | ClauseKind::Flag, Ok(v)) => {
                out.fired = matches!(v, Value::Bool(true))
            }
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
        if out.fired || clause.kind == ClauseKind::Score {
            let start = outcome.evidence.len() as u32;
            for word in 0..words {
                let mut rest = clause
                    .queries
                    .iter()
                    .fold(0u64, |acc, q| acc | matched[q * words + word]);
                while rest != 0 {
                    outcome
                        .evidence
                        .push((word * 64) as u32 + rest.trailing_zeros());
                    rest &= rest - 1;
                }
            }
            out.evidence = start..outcome.evidence.len() as u32;
        }
        outcome.clauses.push(out);
    }
    outcome
}

/// `Some(per-record value)` when the record passes the residual filter.
fn record_matches<'a>(
    query: &'a CompiledQuery,
    env: &Env<'a>,
    record: &'a CreditRecord,
    status: RecordStatus,
) -> Result<Option<Value<'a>>, EvalError> {
    if let Some(residual) = &query.residual
        && !matches!(eval_expr(residual, env)?, Value::Bool(true))
    {
        return Ok(None);
    }
    if let Some(field) = query.value_field {
        return Ok(Some(field.read(record, status)));
    }
    match &query.def.value {
        Some(value) => eval_expr(value, env).map(Some),
        None => Ok(Some(Value::Missing)),
    }
}
