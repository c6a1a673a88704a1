//! Copies of a syntax tree with every span cleared, to compare two trees
//! that differ only in layout.

use crate::ast::{
    Clause, ConstDef, Expr, ExprKind, Header, Item, RuleSetAst, Spanned, TestBlock, TestRecord,
};
use crate::source::Span;

pub(super) fn rule_set(ast: &RuleSetAst) -> RuleSetAst {
    RuleSetAst {
        header: header(&ast.header),
        items: ast.items.iter().map(item).collect(),
        dialect: ast.dialect,
    }
}

fn bare<T: Clone>(v: &Spanned<T>) -> Spanned<T> {
    Spanned::new(v.value.clone(), Span::default())
}

fn bare_opt<T: Clone>(v: &Option<Spanned<T>>) -> Option<Spanned<T>> {
    v.as_ref().map(bare)
}

fn header(h: &Header) -> Header {
    Header {
        id: bare(&h.id),
        title: bare_opt(&h.title),
        sector: bare_opt(&h.sector),
        version: bare_opt(&h.version),
        effective: bare_opt(&h.effective),
        unit: bare_opt(&h.unit),
        basis: bare_opt(&h.basis),
        extends: bare_opt(&h.extends),
        total: bare_opt(&h.total),
        note: bare_opt(&h.note),
        channels: h
            .channels
            .iter()
            .map(|c| crate::ast::Channel {
                site: bare(&c.site),
                kinds: c.kinds.iter().map(bare).collect(),
                span: Span::default(),
            })
            .collect(),
        query_day: bare_opt(&h.query_day),
        query_evidence: bare_opt(&h.query_evidence),
        commitment: bare_opt(&h.commitment),
        rounding: bare_opt(&h.rounding),
        allowances: h
            .allowances
            .iter()
            .map(|a| crate::ast::Allowance {
                code: bare(&a.code),
                reason: bare(&a.reason),
                span: Span::default(),
            })
            .collect(),
        span: Span::default(),
    }
}

fn item(item: &Item) -> Item {
    match item {
        Item::Const(c) => Item::Const(definition(c)),
        Item::Define(d) => Item::Define(definition(d)),
        Item::Remove(name) => Item::Remove(bare(name)),
        Item::Clause(c) => Item::Clause(Box::new(clause(c))),
        Item::Test(t) => Item::Test(test(t)),
    }
}

fn definition(c: &ConstDef) -> ConstDef {
    ConstDef {
        name: bare(&c.name),
        value: expr(&c.value),
        span: Span::default(),
    }
}

fn clause(c: &Clause) -> Clause {
    let opt = |e: &Option<Expr>| e.as_ref().map(expr);
    Clause {
        kind: c.kind,
        mandatory: c.mandatory,
        id: bare(&c.id),
        wording: bare_opt(&c.wording),
        basis: bare_opt(&c.basis),
        note: bare_opt(&c.note),
        lets: c.lets.iter().map(definition).collect(),
        when: opt(&c.when),
        points: opt(&c.points),
        weight: opt(&c.weight),
        cap: opt(&c.cap),
        floor: opt(&c.floor),
        span: Span::default(),
    }
}

pub(crate) fn test(t: &TestBlock) -> TestBlock {
    TestBlock {
        name: bare(&t.name),
        as_of: bare_opt(&t.as_of),
        context: t.context.as_ref().map(|c| {
            Spanned::new(
                c.value.iter().map(|(k, v)| (bare(k), bare(v))).collect(),
                Span::default(),
            )
        }),
        records: t.records.iter().map(record).collect(),
        expects: t.expects.iter().map(bare).collect(),
        span: Span::default(),
    }
}

fn record(r: &TestRecord) -> TestRecord {
    TestRecord {
        id: bare(&r.id),
        fields: r.fields.iter().map(|(k, v)| (bare(k), bare(v))).collect(),
        span: Span::default(),
    }
}

pub(crate) fn expr(e: &Expr) -> Expr {
    let boxed = |e: &Expr| Box::new(expr(e));
    let kind = match &e.kind {
        ExprKind::List(items) => ExprKind::List(items.iter().map(expr).collect()),
        ExprKind::Unary(op, x) => ExprKind::Unary(*op, boxed(x)),
        ExprKind::Binary(op, a, b) => ExprKind::Binary(*op, boxed(a), boxed(b)),
        ExprKind::If(c, a, b) => ExprKind::If(boxed(c), boxed(a), boxed(b)),
        ExprKind::Table {
            key,
            entries,
            default,
        } => ExprKind::Table {
            key: boxed(key),
            entries: entries.iter().map(|(k, v)| (bare(k), bare(v))).collect(),
            default: bare_opt(default),
        },
        ExprKind::Aggregate {
            func,
            filter,
            value,
        } => ExprKind::Aggregate {
            func: *func,
            filter: filter.as_deref().map(boxed),
            value: value.as_deref().map(boxed),
        },
        ExprKind::Within(x) => ExprKind::Within(boxed(x)),
        ExprKind::Call(func, args) => ExprKind::Call(*func, args.iter().map(expr).collect()),
        leaf => leaf.clone(),
    };
    Expr::new(kind, Span::default())
}
