//! Header and clause fields as `keyword value` lines, in canonical order.

use super::text::*;
use super::words::*;
use crate::ast::{Clause, Expr, Header, Spanned};
use crate::source::Span;

/// Header fields, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum HeaderKey {
    Title,
    Sector,
    Version,
    Effective,
    Unit,
    Basis,
    Extends,
    Total,
    Rounding,
    Channel(usize),
    QueryDay,
    QueryEvidence,
    Commitment,
    Allow(usize),
    Note,
}

/// Clause fields, in canonical order: the order of evaluation, as the rule
/// sets write them (`cap` and `floor` bound the points before `weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ClauseKey {
    Wording,
    Basis,
    Note,
    /// The clause's `let` number `.0`, in written order.
    Let(usize),
    When,
    Points,
    Cap,
    Floor,
    Weight,
}

impl ClauseKey {
    pub(super) fn holds_expression(self) -> bool {
        !matches!(
            self,
            ClauseKey::Wording | ClauseKey::Basis | ClauseKey::Note
        )
    }
}

/// What follows a field's keyword.
pub(super) enum Value<'a> {
    /// Printed as it is (a string, a date, a name).
    Text(String),
    /// Laid out to fit the line width, starting where the keyword's padding ends.
    Expr(&'a Expr),
    /// `name = expression` (a clause's `let`).
    Named(&'a str, &'a Expr),
}

/// One `keyword value` line of a header or clause.
pub(super) struct Field<'a, K> {
    pub(super) key: K,
    pub(super) keyword: &'static str,
    pub(super) value: Value<'a>,
    /// Where the value was written.
    pub(super) span: Span,
}

pub(super) fn header_fields<'a>(w: &Words, h: &'a Header) -> Vec<Field<'a, HeaderKey>> {
    let text = |key, keyword, v: &Option<Spanned<String>>| {
        v.as_ref().map(|v| Field {
            key,
            keyword,
            value: Value::Text(quote(&v.value)),
            span: v.span,
        })
    };
    let effective = h.effective.as_ref().map(|d| Field {
        key: HeaderKey::Effective,
        keyword: w.effective,
        value: Value::Text(d.value.to_string()),
        span: d.span,
    });
    let extends = h.extends.as_ref().map(|n| Field {
        key: HeaderKey::Extends,
        keyword: w.extends,
        value: Value::Text(n.value.clone()),
        span: n.span,
    });
    let total = h.total.as_ref().map(|n| Field {
        key: HeaderKey::Total,
        keyword: w.total,
        value: Value::Text(n.value.to_string()),
        span: n.span,
    });
    let rounding = h.rounding.as_ref().map(|r| Field {
        key: HeaderKey::Rounding,
        keyword: w.fns.rounding,
        value: Value::Text(w.fns.policy(&r.value)),
        span: r.span,
    });
    let channels = h.channels.iter().enumerate().map(|(i, c)| {
        let kinds: Vec<&str> = c.kinds.iter().map(|k| k.value.as_str()).collect();
        Field {
            key: HeaderKey::Channel(i),
            keyword: w.query_channel,
            value: Value::Text(format!("{} [{}]", quote(&c.site.value), kinds.join(", "))),
            span: c.span,
        }
    });
    let allowances = h.allowances.iter().enumerate().map(|(i, a)| Field {
        key: HeaderKey::Allow(i),
        keyword: w.allow,
        value: Value::Text(format!(
            "{} {} {}",
            a.code.value,
            w.because,
            quote(&a.reason.value)
        )),
        span: a.span,
    });
    [
        text(HeaderKey::Title, w.title, &h.title),
        text(HeaderKey::Sector, w.sector, &h.sector),
        text(HeaderKey::Version, w.version, &h.version),
        effective,
        text(HeaderKey::Unit, w.unit, &h.unit),
        text(HeaderKey::Basis, w.basis, &h.basis),
        extends,
        total,
        rounding,
    ]
    .into_iter()
    .flatten()
    .chain(channels)
    .chain(
        [
            text(HeaderKey::QueryDay, w.query_day, &h.query_day),
            text(
                HeaderKey::QueryEvidence,
                w.query_evidence,
                &h.query_evidence,
            ),
            text(HeaderKey::Commitment, w.commitment, &h.commitment),
        ]
        .into_iter()
        .flatten(),
    )
    .chain(allowances)
    .chain(text(HeaderKey::Note, w.note, &h.note))
    .collect()
}

pub(super) fn clause_fields<'a>(w: &Words, c: &'a Clause) -> Vec<Field<'a, ClauseKey>> {
    let text = |key, keyword, v: &Option<Spanned<String>>| {
        v.as_ref().map(|v| Field {
            key,
            keyword,
            value: Value::Text(quote(&v.value)),
            span: v.span,
        })
    };
    let expr = |key, keyword, e: &'a Option<Expr>| {
        e.as_ref().map(|e| Field {
            key,
            keyword,
            value: Value::Expr(e),
            span: e.span,
        })
    };
    let lets = c.lets.iter().enumerate().map(|(i, l)| Field {
        key: ClauseKey::Let(i),
        keyword: w.let_,
        value: Value::Named(&l.name.value, &l.value),
        span: l.span,
    });
    [
        text(ClauseKey::Wording, w.wording, &c.wording),
        text(ClauseKey::Basis, w.basis, &c.basis),
        text(ClauseKey::Note, w.note, &c.note),
    ]
    .into_iter()
    .flatten()
    .chain(lets)
    .chain(
        [
            expr(ClauseKey::When, w.when, &c.when),
            expr(ClauseKey::Points, w.points, &c.points),
            expr(ClauseKey::Cap, w.cap, &c.cap),
            expr(ClauseKey::Floor, w.floor, &c.floor),
            expr(ClauseKey::Weight, w.weight, &c.weight),
        ]
        .into_iter()
        .flatten(),
    )
    .collect()
}

//
// An expression becomes a `Doc` (see `layout`): its text with the places
// where a line may break. Printed flat, a `Doc` reads as the expression on
// one line; the breaks are whitespace only, so the reparsed tree cannot
// change.
