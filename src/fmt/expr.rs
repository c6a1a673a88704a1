//! Expressions as layout documents.
//!
//! An expression becomes a `Doc` (see `layout`): its text with the places
//! where a line may break. Printed flat, a `Doc` reads as the expression on
//! one line; the breaks are whitespace only, so the reparsed tree cannot
//! change.

use super::layout::Doc;
use super::text::*;
use super::words::*;
use super::*;
use crate::ast::{
    Aggregate, BinaryOp, Expr, ExprKind, ScalarFn, Spanned, TableKey, TableValue, UnaryOp,
};

/// Binding strength of `not`: between `and` (3) and the comparisons (5).
pub(super) const PREC_NOT: u8 = 4;
/// Binding strength of unary minus: above `*` and `/` (7) and `otherwise` (8).
pub(super) const PREC_NEG: u8 = 9;
/// Literals, names and bracketed forms never need parentheses.
pub(super) const PREC_ATOM: u8 = 10;
/// `if … else x` takes every operator after `x` into its else branch, so
/// it is the weakest form: it is bracketed as the operand of any operator.
pub(super) const PREC_IF: u8 = 0;
/// A context that anything may fill without parentheses (a field value, a
/// list item, an aggregate argument, an else branch).
pub(super) const ANY: u8 = 0;
/// A context that an `if` fills only in parentheses, for readability (an
/// `if` condition or then branch, a table key).
pub(super) const NO_BARE_IF: u8 = 1;
/// The operand of `not`: a comparison or `in` is bracketed for readability,
/// `not (a in b)`, since `not a in b` reads as `(not a) in b`.
pub(super) const NOT_OPERAND: u8 = 6;
/// An operand of `or`: an `and` is bracketed for readability, `a or (b and
/// c)`, as the rule sets write it.
pub(super) const OR_OPERAND: u8 = 4;

pub(super) fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => op.precedence(),
        ExprKind::Unary(UnaryOp::Not, _) => PREC_NOT,
        ExprKind::Unary(UnaryOp::Neg, _) => PREC_NEG,
        ExprKind::If(..) => PREC_IF,
        _ => PREC_ATOM,
    }
}

/// The operators a long expression breaks before: a chain of them reads
/// as a list of conditions or of terms, one per line.
pub(super) fn breaks_before(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::And | BinaryOp::Or | BinaryOp::Add | BinaryOp::Sub
    )
}

/// The value of a constant. A list or table that does not fit hangs from
/// the start of the line rather than from its `[` or `{`: the `=` of a
/// group of constants is aligned, often far to the right.
pub(super) fn const_value_doc(w: &Words, e: &Expr) -> Doc {
    match &e.kind {
        ExprKind::List(items) if !items.is_empty() => list_doc(w, items, false),
        ExprKind::Table {
            key,
            entries,
            default,
        } => table_doc(w, key, entries, default.as_ref(), false),
        _ => expr_doc(w, e, ANY),
    }
}

/// `e` where the context needs binding strength `min` at least.
pub(super) fn expr_doc(w: &Words, e: &Expr, min: u8) -> Doc {
    let doc = match &e.kind {
        ExprKind::Binary(op, ..) if breaks_before(*op) => {
            let parts = chain_parts(w, e, op.precedence());
            Doc::group(Doc::align(Doc::Concat(parts)))
        }
        ExprKind::Binary(op, a, b) => Doc::Concat(vec![
            expr_doc(w, a, op.precedence()),
            Doc::text(format!(" {} ", w.binary(*op))),
            // Every binary operator is left-associative: an equal right operand needs brackets.
            expr_doc(w, b, op.precedence() + 1),
        ]),
        ExprKind::Unary(UnaryOp::Not, x) => Doc::Concat(vec![
            Doc::text(format!("{} ", w.not)),
            expr_doc(w, x, NOT_OPERAND),
        ]),
        ExprKind::Unary(UnaryOp::Neg, x) => {
            // `- -x`: `--` would not read as two minus signs.
            let sign = match x.kind {
                ExprKind::Unary(UnaryOp::Neg, _) => "- ",
                _ => "-",
            };
            Doc::Concat(vec![Doc::text(sign), expr_doc(w, x, PREC_NEG)])
        }
        ExprKind::If(..) => if_doc(w, e),
        _ => operand_doc(w, e),
    };
    if precedence(e) < min {
        Doc::Concat(vec![Doc::text("("), Doc::align(doc), Doc::text(")")])
    } else {
        doc
    }
}

/// `a and b or c`: the operands of the left-leaning chain of operators of
/// precedence `prec` at the top of `e`, with the separators between them
/// (a space or a line break, then the operator), for a group or a fill.
pub(super) fn chain_parts(w: &Words, e: &Expr, prec: u8) -> Vec<Doc> {
    let mut rights = Vec::new();
    let mut first = e;
    while let ExprKind::Binary(op, a, b) = &first.kind {
        if op.precedence() != prec {
            break;
        }
        rights.push((*op, b));
        first = a;
    }
    let or = prec == BinaryOp::Or.precedence();
    let min = |least: u8| if or { least.max(OR_OPERAND) } else { least };
    let mut parts = vec![expr_doc(w, first, min(prec))];
    for (op, operand) in rights.into_iter().rev() {
        parts.push(Doc::Concat(vec![
            Doc::Line,
            Doc::text(format!("{} ", w.binary(op))),
        ]));
        parts.push(expr_doc(w, operand, min(prec + 1)));
    }
    parts
}

/// `if c then a else b` on one line, or one line per keyword, each under
/// the `if`. An `if` in the else branch continues the chain (`else if …`)
/// instead of nesting deeper.
pub(super) fn if_doc(w: &Words, e: &Expr) -> Doc {
    let mut parts = Vec::new();
    let mut e = e;
    while let ExprKind::If(c, a, b) = &e.kind {
        parts.push(Doc::text(format!("{} ", w.if_)));
        parts.push(expr_doc(w, c, NO_BARE_IF));
        parts.push(Doc::Line);
        parts.push(Doc::text(format!("{} ", w.then)));
        parts.push(expr_doc(w, a, NO_BARE_IF));
        parts.push(Doc::Line);
        parts.push(Doc::text(format!("{} ", w.else_)));
        e = b;
    }
    parts.push(expr_doc(w, e, ANY));
    Doc::group(Doc::align(Doc::Concat(parts)))
}

/// A form that never needs parentheses around it.
pub(super) fn operand_doc(w: &Words, e: &Expr) -> Doc {
    match &e.kind {
        ExprKind::Bool(b) => Doc::text(w.boolean(*b)),
        ExprKind::Number(n) => Doc::text(n.to_string()),
        ExprKind::Percent(n) => Doc::text(format!("{n}%")),
        ExprKind::Call(func, args) => call_doc(w, *func, args),
        ExprKind::Text(s) => Doc::text(quote(s)),
        ExprKind::Date(d) => Doc::text(d.to_string()),
        ExprKind::Duration(d) => Doc::text(w.duration(*d)),
        ExprKind::AsOf => Doc::text(w.as_of),
        ExprKind::Context(c) => Doc::text(c.as_str()),
        ExprKind::Name(n) => Doc::text(n.as_str()),
        ExprKind::List(items) if items.is_empty() => Doc::text("[]"),
        ExprKind::List(items) => list_doc(w, items, true),
        ExprKind::Within(x) => Doc::Concat(vec![
            Doc::text(format!("{} ", w.within)),
            expr_doc(w, x, PREC_ATOM),
        ]),
        ExprKind::Table {
            key,
            entries,
            default,
        } => table_doc(w, key, entries, default.as_ref(), true),
        ExprKind::Aggregate {
            func,
            filter,
            value,
        } => aggregate_doc(w, *func, filter.as_deref(), value.as_deref()),
        // Operators are laid out by `expr_doc`; reaching here is a caller's slip.
        ExprKind::Binary(..) | ExprKind::Unary(..) | ExprKind::If(..) => expr_doc(w, e, PREC_ATOM),
    }
}

/// `[a, b]`, or when too long the items filled onto lines between `[` and
/// `]`. `aligned`: the items hang from the `[`, not from the enclosing line.
pub(super) fn list_doc(w: &Words, items: &[Expr], aligned: bool) -> Doc {
    let items = items.iter().map(|item| expr_doc(w, item, ANY)).collect();
    hang(bracketed("[", fill_items(items), false, "]"), aligned)
}

pub(super) type TableEntry = (Spanned<TableKey>, Spanned<TableValue>);

/// `table key { "AAA": 10, "AA": 8, otherwise: 0 }`, or when too long the
/// entries filled onto lines between `{` and `}`, as many to a line as fit.
pub(super) fn table_doc(
    w: &Words,
    key: &Expr,
    entries: &[TableEntry],
    default: Option<&Spanned<TableValue>>,
    aligned: bool,
) -> Doc {
    let mut items: Vec<Doc> = entries
        .iter()
        .map(|(k, v)| {
            let entry = format!("{}: {}", table_key(w, &k.value), table_value(&v.value));
            Doc::text(entry)
        })
        .collect();
    if let Some(d) = default {
        items.push(Doc::text(format!(
            "{}: {}",
            w.table_else,
            table_value(&d.value)
        )));
    }
    let head = Doc::Concat(vec![
        Doc::text(format!("{} ", w.table)),
        expr_doc(w, key, NO_BARE_IF),
    ]);
    if items.is_empty() {
        return Doc::Concat(vec![head, Doc::text(" {}")]);
    }
    // Only the body is grouped: a key that breaks does not force the entries apart.
    let body = bracketed(" {", fill_items(items), true, "}");
    hang(Doc::Concat(vec![head, body]), aligned)
}

/// `open body close`, the body on lines of its own one indentation step in
/// when it does not fit, the closing bracket back on a line of its own.
/// `padded`: on one line, spaces separate the body from the brackets (`{ a
/// }`, but `[a]`).
pub(super) fn bracketed(open: &str, body: Doc, padded: bool, close: &str) -> Doc {
    let line = || if padded { Doc::Line } else { Doc::SoftLine };
    Doc::group(Doc::Concat(vec![
        Doc::text(open),
        Doc::nest(INDENT, Doc::Concat(vec![line(), body])),
        line(),
        Doc::text(close),
    ]))
}

/// A bracketed form whose body hangs from its own start when `aligned`,
/// else from the indentation of the line it is on.
pub(super) fn hang(doc: Doc, aligned: bool) -> Doc {
    if aligned { Doc::align(doc) } else { doc }
}

/// `a, b, c` as a fill: each item goes on the current line if it fits.
pub(super) fn fill_items(items: Vec<Doc>) -> Doc {
    let count = items.len();
    let mut parts = Vec::with_capacity(2 * count);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            parts.push(Doc::Line);
        }
        if i + 1 < count {
            parts.push(Doc::Concat(vec![item, Doc::text(",")]));
        } else {
            parts.push(item);
        }
    }
    Doc::Fill {
        parts,
        sticky: false,
    }
}

pub(super) fn table_key(w: &Words, key: &TableKey) -> String {
    match key {
        TableKey::Text(s) => quote(s),
        TableKey::Number(n) => n.to_string(),
        TableKey::Bool(b) => w.boolean(*b).to_string(),
        TableKey::Date(d) => d.to_string(),
        TableKey::Duration(d) => w.duration(*d),
        TableKey::Name(n) => n.clone(),
    }
}

pub(super) fn table_value(value: &TableValue) -> String {
    match value {
        TableValue::Number(n) => n.to_string(),
        TableValue::Name(n) => n.clone(),
    }
}

/// `count(records where …)`, `sum(records where …, amount)`, `any(records)`.
///
/// When too long, the conditions of the filter continue on lines indented
/// one step from `records`, as many on the first line as fit and then one
/// per line (the hand-written rule sets put the record kind and the time
/// window first, then one restriction per line); if not even the first
/// condition fits, the filter starts on the next line. A value argument
/// that does not fit goes on its own line, under `records`.
pub(super) fn aggregate_doc(
    w: &Words,
    func: Aggregate,
    filter: Option<&Expr>,
    value: Option<&Expr>,
) -> Doc {
    let mut args = vec![Doc::text(w.records)];
    if let Some(filter) = filter {
        args.push(Doc::text(format!(" {}", w.where_)));
        let conditions = Doc::Concat(vec![Doc::group(Doc::Line), filter_doc(w, filter)]);
        args.push(Doc::nest(INDENT, conditions));
    }
    if let Some(value) = value {
        args.push(Doc::text(","));
        args.push(Doc::Line);
        args.push(expr_doc(w, value, ANY));
    }
    Doc::Concat(vec![
        Doc::text(format!("{}(", w.aggregate(func))),
        Doc::align(Doc::group(Doc::Concat(args))),
        Doc::text(")"),
    ])
}

/// `min(a, b)`, `clamp(x, 0, 10)`, `round(x, 2, half_up)`: the arguments
/// filled onto lines under the first when too long.
pub(super) fn call_doc(w: &Words, func: ScalarFn, args: &[Expr]) -> Doc {
    let mut items: Vec<Doc> = args.iter().map(|a| expr_doc(w, a, ANY)).collect();
    if let ScalarFn::Round(mode) = func {
        items.push(Doc::text(w.fns.mode(mode)));
    }
    Doc::Concat(vec![
        Doc::text(format!("{}(", w.scalar(func))),
        Doc::align(Doc::group(fill_items(items))),
        Doc::text(")"),
    ])
}

/// An aggregate's filter: a top-level `and`/`or` chain fills its lines.
pub(super) fn filter_doc(w: &Words, filter: &Expr) -> Doc {
    match &filter.kind {
        ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), ..) => Doc::Fill {
            parts: chain_parts(w, filter, op.precedence()),
            sticky: true,
        },
        _ => expr_doc(w, filter, ANY),
    }
}
