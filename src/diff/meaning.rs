//! Comparing what two checked clauses *mean*, not how they are written.
//!
//! A checked clause's expression is resolved: names are record kinds, fields
//! and constants' values, whatever language or spelling the author used. It
//! refers to the rule set's record queries by position, and positions move
//! when clauses are reordered, so queries are compared by their definitions
//! instead of their numbers.

use crate::ast::Duration;
use crate::ir::{IrExpr, QueryDef};

/// An expression together with the query table its `Query(n)` nodes index.
#[derive(Clone, Copy)]
pub(super) struct Resolved<'a> {
    pub expr: &'a IrExpr,
    pub queries: &'a [QueryDef],
}

impl<'a> Resolved<'a> {
    pub fn new(expr: &'a IrExpr, queries: &'a [QueryDef]) -> Self {
        Self { expr, queries }
    }

    fn with(self, expr: &'a IrExpr) -> Self {
        Self { expr, ..self }
    }

    /// Do the two expressions compute the same thing from the same records?
    pub fn same_as(self, other: Resolved<'_>) -> bool {
        use IrExpr as E;
        match (self.expr, other.expr) {
            (E::Query(a), E::Query(b)) => {
                match (self.queries.get(*a), other.queries.get(*b)) {
                    (Some(qa), Some(qb)) => same_query(self, qa, other, qb),
                    // A dangling index cannot come out of `check`; treat it as a change.
                    _ => false,
                }
            }
            (E::Not(a), E::Not(b)) | (E::Neg(a), E::Neg(b)) => self.with(a).same_as(other.with(b)),
            (E::Binary(op_a, a1, a2), E::Binary(op_b, b1, b2)) => {
                op_a == op_b && self.with(a1).same_as(other.with(b1)) && {
                    self.with(a2).same_as(other.with(b2))
                }
            }
            (E::In(a, la), E::In(b, lb)) => la == lb && self.with(a).same_as(other.with(b)),
            (E::If(ac, at, ae), E::If(bc, bt, be)) => {
                self.with(ac).same_as(other.with(bc))
                    && self.with(at).same_as(other.with(bt))
                    && self.with(ae).same_as(other.with(be))
            }
            (E::Table(a, ea, da), E::Table(b, eb, db)) => {
                ea == eb && da == db && self.with(a).same_as(other.with(b))
            }
            (E::Scalar(op_a, xs), E::Scalar(op_b, ys)) => {
                op_a == op_b
                    && xs.len() == ys.len()
                    && xs
                        .iter()
                        .zip(ys)
                        .all(|(x, y)| self.with(x).same_as(other.with(y)))
            }
            // Leaves (literals, `as_of`, fields, windows) have no queries inside.
            (a, b) => is_leaf(a) && a == b,
        }
    }

    /// The `within` windows the expression (with its queries) uses, sorted, each once.
    pub fn windows(self) -> Vec<Duration> {
        let mut out = Vec::new();
        self.collect_windows(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_windows(self, out: &mut Vec<Duration>) {
        match self.expr {
            IrExpr::Within(d) => out.push(*d),
            IrExpr::Query(q) => {
                if let Some(def) = self.queries.get(*q) {
                    for part in def.filter.iter().chain(def.value.iter()) {
                        self.with(part).collect_windows(out);
                    }
                }
            }
            IrExpr::Lit(_) | IrExpr::AsOf | IrExpr::Context(_) | IrExpr::Field(_) => {}
            IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
                self.with(e).collect_windows(out)
            }
            IrExpr::Binary(_, a, b) => {
                self.with(a).collect_windows(out);
                self.with(b).collect_windows(out);
            }
            IrExpr::If(c, a, b) => {
                for e in [c, a, b] {
                    self.with(e).collect_windows(out);
                }
            }
            IrExpr::Scalar(_, args) => {
                for e in args {
                    self.with(e).collect_windows(out);
                }
            }
        }
    }
}

fn is_leaf(e: &IrExpr) -> bool {
    matches!(
        e,
        IrExpr::Lit(_) | IrExpr::AsOf | IrExpr::Context(_) | IrExpr::Field(_) | IrExpr::Within(_)
    )
}

fn same_query(a: Resolved<'_>, qa: &QueryDef, b: Resolved<'_>, qb: &QueryDef) -> bool {
    let same_part = |x: &Option<IrExpr>, y: &Option<IrExpr>| match (x, y) {
        (Some(x), Some(y)) => a.with(x).same_as(b.with(y)),
        (None, None) => true,
        _ => false,
    };
    qa.func == qb.func
        && qa.reads_status == qb.reads_status
        && same_part(&qa.filter, &qb.filter)
        && same_part(&qa.value, &qb.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Aggregate, BinaryOp, DurationUnit};
    use crate::ir::{Field, Lit};
    use crate::record::RecordKind;

    fn query(kind: RecordKind, years: u32) -> QueryDef {
        let is_kind = IrExpr::Binary(
            BinaryOp::Eq,
            Box::new(IrExpr::Field(Field::Kind)),
            Box::new(IrExpr::Lit(Lit::Kind(kind))),
        );
        let window = IrExpr::Within(Duration {
            amount: years,
            unit: DurationUnit::Years,
        });
        QueryDef {
            func: Aggregate::Count,
            filter: Some(IrExpr::Binary(
                BinaryOp::And,
                Box::new(is_kind),
                Box::new(window),
            )),
            value: None,
            reads_status: false,
        }
    }

    #[test]
    fn queries_compare_by_definition_not_position() {
        let old = [
            query(RecordKind::BadBehaviour, 1),
            query(RecordKind::AdminPenalty, 2),
        ];
        let new = [
            query(RecordKind::AdminPenalty, 2),
            query(RecordKind::BadBehaviour, 1),
        ];
        let (q0, q1) = (IrExpr::Query(0), IrExpr::Query(1));
        assert!(Resolved::new(&q1, &old).same_as(Resolved::new(&q0, &new)));
        assert!(!Resolved::new(&q0, &old).same_as(Resolved::new(&q0, &new)));
    }

    #[test]
    fn a_changed_window_is_a_change_and_is_listed() {
        let old = [query(RecordKind::AdminPenalty, 2)];
        let new = [query(RecordKind::AdminPenalty, 3)];
        let q = IrExpr::Query(0);
        let (a, b) = (Resolved::new(&q, &old), Resolved::new(&q, &new));
        assert!(!a.same_as(b));
        assert_eq!(a.windows()[0].amount, 2);
        assert_eq!(b.windows()[0].amount, 3);
    }

    #[test]
    fn a_dangling_query_index_is_never_the_same() {
        let q = IrExpr::Query(5);
        assert!(!Resolved::new(&q, &[]).same_as(Resolved::new(&q, &[])));
    }
}
