//! Clause plans: how a clause's outcome is found once its queries have run.
//!
//! Most clauses read a single query, and then their outcome (fired, raw points, weighted
//! and rounded points, error) takes only a few values, which the compiler works out once
//! with the evaluator's own code ([`super::code`] and [`settle`]) and the evaluation picks:
//! - a clause on one `count`, `any` or `none` (`-2 * count(…)`, `any(…)`,
//!   `if none(…) then 3 else 0`) depends only on the query's record count: its outcome is
//!   kept for every count up to [`COUNTS`] (`any`/`none`: for none and for some);
//! - a clause that is a table over one query's value (`table latest(…, grade) {…}`) has
//!   one outcome per row and one for the default.
//!
//! Anything else (several queries, `sum`, the evaluation date, the tender context, a count
//! past the kept ones) is evaluated by its compiled expression ([`Plan::General`]). Since
//! the kept outcomes come from the same functions the general path runs, they are equal to
//! its outcomes to the decimal's scale by construction (the differential tests compare).

use super::{ClauseOutcome, Env, settle};
use crate::ast::Aggregate;
use crate::compile::CompiledClause;
use crate::context::NO_CONTEXT;
use crate::ir::{IrExpr, Lit, Value};
use rust_decimal::Decimal;
use std::sync::Arc;

/// Counts whose outcome a `count` clause keeps: 0 to `COUNTS - 1`.
pub(crate) const COUNTS: usize = 33;

/// How a clause's outcome is found (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// Evaluate the compiled expression.
    General,
    /// The outcome for the query's record count, `outcomes[count]`; when the count is past
    /// the last one, the last one if `saturates` (`any`/`none`), else [`Plan::General`].
    Count {
        query: usize,
        saturates: bool,
        outcomes: Arc<[ClauseOutcome]>,
    },
    /// A table over the query's value: the first row whose key equals it, else the
    /// default (`outcomes[keys.len()]`).
    Table {
        query: usize,
        keys: Arc<[Lit]>,
        outcomes: Arc<[ClauseOutcome]>,
    },
}

/// The plan of a compiled clause; `funcs` are the rule set's queries' aggregates.
pub(crate) fn plan(clause: &CompiledClause, funcs: &[Aggregate]) -> Plan {
    let [query] = clause.queries[..] else {
        return Plan::General;
    };
    if !reads_only_queries(&clause.expr) {
        return Plan::General;
    }
    match funcs.get(query) {
        Some(Aggregate::Count) => Plan::Count {
            query,
            saturates: false,
            outcomes: (0..COUNTS)
                .map(|n| outcome_for(clause, funcs.len(), query, count(n)))
                .collect(),
        },
        Some(Aggregate::Any | Aggregate::None) => {
            let any = funcs[query] == Aggregate::Any;
            Plan::Count {
                query,
                saturates: true,
                outcomes: [false, true]
                    .into_iter()
                    .map(|some| Value::Bool(some == any))
                    .map(|v| outcome_for(clause, funcs.len(), query, v))
                    .collect(),
            }
        }
        _ => match &clause.expr {
            IrExpr::Table(key, rows, default) if **key == IrExpr::Query(query) => {
                let mut outcomes: Vec<ClauseOutcome> = rows
                    .iter()
                    .map(|(_, points)| settle(clause, Ok(Value::Number(*points))))
                    .collect();
                let default = default.map_or(Value::Missing, Value::Number);
                outcomes.push(settle(clause, Ok(default)));
                Plan::Table {
                    query,
                    keys: rows.iter().map(|(key, _)| key.clone()).collect(),
                    outcomes: outcomes.into(),
                }
            }
            _ => Plan::General,
        },
    }
}

/// A count as the query gives it.
fn count(n: usize) -> Value<'static> {
    Value::Number(Decimal::from(n))
}

/// The clause's outcome when its query's result is `value`.
fn outcome_for(
    clause: &CompiledClause,
    queries: usize,
    query: usize,
    value: Value<'_>,
) -> ClauseOutcome {
    let mut results = vec![Value::Missing; queries];
    results[query] = value;
    let env = Env {
        as_of: None,
        context: &NO_CONTEXT,
        record: None,
        results: &results,
        window_starts: &[],
        windows: &[],
    };
    settle(clause, clause.code.value(&env))
}

/// Does the expression's value depend on nothing but query results (no evaluation date,
/// tender context, record field or window)?
fn reads_only_queries(expr: &IrExpr) -> bool {
    match expr {
        IrExpr::Lit(_) | IrExpr::Query(_) => true,
        IrExpr::AsOf | IrExpr::Context(_) | IrExpr::Field(_) | IrExpr::Within(_) => false,
        IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
            reads_only_queries(e)
        }
        IrExpr::Binary(_, a, b) => reads_only_queries(a) && reads_only_queries(b),
        IrExpr::If(c, a, b) => {
            reads_only_queries(c) && reads_only_queries(a) && reads_only_queries(b)
        }
        IrExpr::Scalar(_, args) => args.iter().all(reads_only_queries),
    }
}

impl Plan {
    /// The clause's outcome from its query's result when the plan knows it (evidence still
    /// to fill in); `None` when the expression must be evaluated.
    #[inline]
    pub(super) fn outcome<'v>(
        &self,
        count: u32,
        value: impl FnOnce() -> Value<'v>,
    ) -> Option<&ClauseOutcome> {
        match self {
            Plan::General => None,
            Plan::Count {
                saturates,
                outcomes,
                ..
            } => match outcomes.get(count as usize) {
                Some(o) => Some(o),
                None if *saturates => outcomes.last(),
                None => None,
            },
            Plan::Table { keys, outcomes, .. } => {
                let key = value();
                let row = match key {
                    Value::Missing => keys.len(),
                    Value::Text(t) => keys
                        .iter()
                        .position(|k| matches!(k, Lit::Text(k) if **k == *t))
                        .unwrap_or(keys.len()),
                    key => keys
                        .iter()
                        .position(|k| key.equals(&k.as_value()))
                        .unwrap_or(keys.len()),
                };
                outcomes.get(row)
            }
        }
    }

    /// The query the plan reads, if any.
    pub(super) fn query(&self) -> Option<usize> {
        match self {
            Plan::General => None,
            Plan::Count { query, .. } | Plan::Table { query, .. } => Some(*query),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::CompiledRuleSet;
    use crate::record::{CreditRecord, RecordKind, Uscc};
    use crate::ruleset::Workspace;
    use crate::source::SourceFile;
    use chrono::NaiveDate;

    const RULES: &str = r#"
ruleset plan.cases {
  title   "clause plans"
  version "1"
  effective 2020-01-01
  unit    "test"
  total   19.2
}

score 等级 {
  wording "grade table"
  points  table latest(records where kind = 信用等级, grade) { "AAA": 10, "AA": 8.5, "B": 3, otherwise: 2.25 }
  cap     9
  weight  0.8
}

score 处罚 {
  wording "per penalty"
  points  -1.5 * count(records where kind = 行政处罚)
  cap     0
  floor   -4
}

score 无处罚 {
  wording "none"
  points  if none(records where kind = 行政处罚) then 2 else 0
  cap     2
}

score 两项 {
  wording "two queries"
  points  count(records where kind = 行政处罚) + count(records where kind = 表彰奖励)
  cap     5
}

score 日期 {
  wording "the day"
  points  if as_of > 2024-01-01 then count(records where kind = 表彰奖励) else 0
  cap     5
}
"#;

    fn program() -> CompiledRuleSet {
        let mut workspace = Workspace::new();
        let id = workspace
            .add_source(SourceFile::new("plan.rules", RULES), None)
            .expect("parses");
        workspace.compile(&id).expect("checks")
    }

    fn kind_of(plan: &Plan) -> &'static str {
        match plan {
            Plan::General => "general",
            Plan::Count {
                saturates: true, ..
            } => "presence",
            Plan::Count { .. } => "count",
            Plan::Table { .. } => "table",
        }
    }

    #[test]
    fn single_query_clauses_keep_their_outcomes_and_the_rest_evaluate() {
        let program = program();
        let kinds: Vec<_> = program.clauses.iter().map(|c| kind_of(&c.plan)).collect();
        assert_eq!(kinds, ["table", "count", "presence", "general", "general"]);
    }

    #[test]
    fn the_shipped_water_rule_set_needs_no_expression_at_evaluation() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
        let program = Workspace::load(&root)
            .expect("loads")
            .compile("water")
            .expect("compiles");
        for clause in &program.clauses {
            assert_ne!(kind_of(&clause.plan), "general", "{}", clause.id);
        }
    }

    fn grade(id: &str, grade: &str, day: u32) -> CreditRecord {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let on = NaiveDate::from_ymd_opt(2024, 1, day).expect("valid");
        let mut r = CreditRecord::new(id.to_string(), uscc, RecordKind::SectorGrade, on);
        r.grade = Some(grade.to_string());
        r
    }

    #[test]
    fn a_table_plan_picks_the_first_equal_row_or_the_default() {
        let program = program();
        let as_of = NaiveDate::from_ymd_opt(2024, 6, 1).expect("valid");
        let grade_clause =
            |records: &[CreditRecord]| program.evaluate(records, as_of).clauses[0].clone();
        let dec = |s: &str| s.parse::<Decimal>().expect("decimal");
        let shown = |d: Option<Decimal>| d.map(|d| d.to_string());
        // The latest grade's row: AA (8.5 × 0.8 = 6.80, the scale kept), cited.
        let out = grade_clause(&[grade("G1", "AAA", 1), grade("G2", "AA", 2)]);
        assert_eq!(out.raw, Some(dec("8.5")));
        assert_eq!(shown(out.points), Some("6.80".into()));
        assert_eq!(out.evidence, 0..1);
        // The cap applies to a row: AAA 10 → 9 × 0.8.
        let out = grade_clause(&[grade("G1", "AAA", 1)]);
        assert_eq!(shown(out.points), Some("7.2".into()));
        // An unknown grade and no grade take the default (2.25 × 0.8 = 1.800 → 1.80).
        for records in [vec![grade("G1", "D", 1)], vec![]] {
            let out = grade_clause(&records);
            assert_eq!(out.raw, Some(dec("2.25")));
            assert_eq!(shown(out.points), Some("1.80".into()));
        }
    }
}
