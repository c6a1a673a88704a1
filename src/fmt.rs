//! The formatter behind `credit-rules fmt`: prints a rule file in its
//! canonical layout.
//!
//! The layout is fixed: the header fields in the order title, sector,
//! version, effective, unit, basis, extends, total, query_channel (as
//! written, one line each), query_day, query_evidence, commitment, note with
//! their values aligned; clause fields in the order wording, basis, note,
//! when, points, cap, floor, weight; test blocks as `as_of`, then records (one line each), then
//! expectations; two spaces of indentation; expressions with the fewest
//! parentheses their precedence needs, plus a few for readability (`a or (b
//! and c)`, `not (a in b)`, an `if` inside an operator or condition).
//! Full-width punctuation and Chinese quotation marks become ASCII, and every
//! keyword is written in the file's [`Dialect`] (the language of its header
//! keyword).
//!
//! What the author chose and the layout can keep is kept. A blank line
//! between two items stays (one, however many there were); items written
//! without one stay together. The header is always followed by a blank line.
//! Constants written on consecutive lines form a run, printed as a table:
//! their `=` aligned, and their trailing comments aligned at least three
//! columns after the longest value. A comment line inside a run starts a new
//! alignment (as in `gofmt`), without adding a blank line.
//!
//! Lines are at most 100 display columns, a CJK character counting two. A
//! field, constant or test line that fits stays on one line; otherwise it
//! breaks, deterministically (where depends on the syntax tree only):
//!
//! - a chain of `and`/`or` (`且`/`或`) or of `+`/`-` breaks before every
//!   operator, the operators aligned under the start of the chain;
//! - `if … then … else …` breaks before `then` and `else`, aligned under the
//!   `if`; an `else if` continues the chain rather than nesting;
//! - a table or list breaks after `{` or `[`, its entries filled onto lines
//!   one step in from where it starts (from the start of the line, for the
//!   value of a constant, whose `=` may be far to the right), the closing
//!   bracket on a line of its own;
//! - an aggregate's filter continues one step in from `records`: as many
//!   conditions on the first line as fit, then one per line; if not even the
//!   first fits, the filter starts on the next line; a value argument that
//!   does not fit goes on its own line under `records`.
//!
//! Only what has no break in it (a string, a record, one long name) can stay
//! longer than the width. Line breaks are whitespace, never inside a string,
//! so the reparsed tree is the same.
//!
//! The grammar drops comments, so they are recovered from the source text and
//! re-attached through the spans of the syntax tree: a comment on its own
//! line stays before the node that follows it, a comment at the end of a line
//! stays at the end of that node's printed line (its last line, when it is
//! printed on several). A comment that cannot be placed (one inside a
//! multi-line expression, say) is reported as `E0500` rather than dropped. As
//! a last guard the output is parsed again and must give the same syntax
//! tree (spans aside), or the result is `E0501`.

use crate::ast::{
    Aggregate, BinaryOp, Clause, ClauseKind, ConstDef, Dialect, Duration, DurationUnit,
    Expectation, Expr, ExprKind, FieldValue, Header, Item, RuleSetAst, Spanned, TableKey,
    TableValue, TestBlock, TestRecord, UnaryOp,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use layout::{Doc, render};
use std::collections::HashMap;
use unicode_width::UnicodeWidthStr;

/// Spaces per indentation level.
const INDENT: usize = 2;
/// Spaces before a comment at the end of a line.
const COMMENT_GAP: usize = 2;
/// Spaces before the comments of a run of constants, at least: the rule
/// sets' own style for their tables of parameters.
const CONST_COMMENT_GAP: usize = 3;

/// Parses `file` and prints it in the canonical layout, keeping its comments.
///
/// Returns the parser's diagnostics when the file does not parse, `E0500`
/// when a comment sits where the layout cannot keep it, and `E0501` if the
/// printed text would not parse back to the same rule set.
pub fn format_source(file: &SourceFile) -> Result<String, Diagnostics> {
    let ast = crate::syntax::parse(file)?;
    format_ast(file, &ast)
}

/// Prints `ast`, the syntax tree parsed from `file`, in the canonical layout.
///
/// `file` supplies the comments (the tree has none) and must be the text the
/// tree was parsed from, since comments are placed through the tree's spans.
/// Errors are as for [`format_source`].
pub fn format_ast(file: &SourceFile, ast: &RuleSetAst) -> Result<String, Diagnostics> {
    let words = Words::of(ast.dialect);
    let comments = scan_comments(&file.text);
    let slots = collect_slots(words, &file.text, &comments, ast);
    let attached = attach(&file.text, &comments, &slots);
    let mut printer = Printer::new(words, &file.text, &comments, attached);
    printer.rule_set(ast);
    let (text, lost) = printer.finish();
    if !lost.is_empty() {
        return Err(lost_comments(file, &comments, &lost, ast));
    }
    check_meaning(file, ast, &text)?;
    Ok(text)
}

/// Prints one clause in the canonical layout with the keywords of `dialect`,
/// without comments: the form in which the version diff shows a clause.
pub fn format_clause(clause: &Clause, dialect: Dialect) -> String {
    let mut printer = Printer::new(Words::of(dialect), "", &[], Attached::default());
    printer.clause(0, clause);
    printer.finish().0
}

/// Prints an expression in the canonical layout with the keywords of
/// `dialect`, as if it started a line (long ones break over several lines).
pub fn format_expr(expr: &Expr, dialect: Dialect) -> String {
    render(&expr_doc(Words::of(dialect), expr, ANY), 0, 0)
}

// ---------------------------------------------------------------------------
// Keywords
// ---------------------------------------------------------------------------

/// The keyword forms of one dialect.
struct Words {
    ruleset: &'static str,
    title: &'static str,
    sector: &'static str,
    version: &'static str,
    effective: &'static str,
    unit: &'static str,
    basis: &'static str,
    extends: &'static str,
    total: &'static str,
    note: &'static str,
    query_channel: &'static str,
    query_day: &'static str,
    query_evidence: &'static str,
    commitment: &'static str,
    const_: &'static str,
    remove: &'static str,
    veto: &'static str,
    score: &'static str,
    flag: &'static str,
    mandatory: &'static str,
    wording: &'static str,
    when: &'static str,
    points: &'static str,
    weight: &'static str,
    cap: &'static str,
    floor: &'static str,
    test: &'static str,
    as_of: &'static str,
    record: &'static str,
    expect: &'static str,
    eligible: &'static str,
    disqualified: &'static str,
    and: &'static str,
    or: &'static str,
    not: &'static str,
    in_: &'static str,
    if_: &'static str,
    then: &'static str,
    else_: &'static str,
    otherwise: &'static str,
    records: &'static str,
    where_: &'static str,
    within: &'static str,
    table: &'static str,
    table_else: &'static str,
    count: &'static str,
    any: &'static str,
    none: &'static str,
    sum: &'static str,
    max: &'static str,
    min: &'static str,
    latest: &'static str,
    true_: &'static str,
    false_: &'static str,
    /// Duration units as `[one, many]`.
    years: [&'static str; 2],
    months: [&'static str; 2],
    days: [&'static str; 2],
}

const ENGLISH: Words = Words {
    ruleset: "ruleset",
    title: "title",
    sector: "sector",
    version: "version",
    effective: "effective",
    unit: "unit",
    basis: "basis",
    extends: "extends",
    total: "total",
    note: "note",
    query_channel: "query_channel",
    query_day: "query_day",
    query_evidence: "query_evidence",
    commitment: "commitment",
    const_: "const",
    remove: "remove",
    veto: "veto",
    score: "score",
    flag: "flag",
    mandatory: "mandatory",
    wording: "wording",
    when: "when",
    points: "points",
    weight: "weight",
    cap: "cap",
    floor: "floor",
    test: "test",
    as_of: "as_of",
    record: "record",
    expect: "expect",
    eligible: "eligible",
    disqualified: "disqualified",
    and: "and",
    or: "or",
    not: "not",
    in_: "in",
    if_: "if",
    then: "then",
    else_: "else",
    otherwise: "otherwise",
    records: "records",
    where_: "where",
    within: "within",
    table: "table",
    table_else: "otherwise",
    count: "count",
    any: "any",
    none: "none",
    sum: "sum",
    max: "max",
    min: "min",
    latest: "latest",
    true_: "true",
    false_: "false",
    years: ["year", "years"],
    months: ["month", "months"],
    days: ["day", "days"],
};

const CHINESE: Words = Words {
    ruleset: "规则集",
    title: "标题",
    sector: "行业",
    version: "版本",
    effective: "生效日期",
    unit: "责任单位",
    basis: "依据",
    extends: "继承",
    total: "总分",
    note: "备注",
    query_channel: "查询渠道",
    query_day: "查询时点",
    query_evidence: "查询留存",
    commitment: "信用承诺",
    const_: "常量",
    remove: "删除",
    veto: "否决",
    score: "评分",
    flag: "提示",
    mandatory: "强制",
    wording: "表述",
    when: "条件",
    points: "得分",
    weight: "权重",
    cap: "上限",
    floor: "下限",
    test: "测试",
    as_of: "评价日期",
    record: "记录",
    expect: "预期",
    eligible: "合格",
    disqualified: "不合格",
    and: "且",
    or: "或",
    not: "非",
    in_: "属于",
    if_: "如果",
    then: "则",
    else_: "否则",
    otherwise: "默认",
    records: "记录",
    where_: "满足",
    within: "近",
    table: "对照",
    table_else: "其他",
    count: "计数",
    any: "存在",
    none: "不存在",
    sum: "合计",
    max: "最大",
    min: "最小",
    latest: "最近",
    true_: "是",
    false_: "否",
    years: ["年", "年"],
    months: ["个月", "个月"],
    days: ["日", "日"],
};

impl Words {
    fn of(dialect: Dialect) -> &'static Words {
        match dialect {
            Dialect::English => &ENGLISH,
            Dialect::Chinese => &CHINESE,
        }
    }

    fn clause_kind(&self, kind: ClauseKind) -> &'static str {
        match kind {
            ClauseKind::Veto => self.veto,
            ClauseKind::Score => self.score,
            ClauseKind::Flag => self.flag,
        }
    }

    fn boolean(&self, value: bool) -> &'static str {
        if value { self.true_ } else { self.false_ }
    }

    fn binary(&self, op: BinaryOp) -> &'static str {
        match op {
            BinaryOp::Otherwise => self.otherwise,
            BinaryOp::Or => self.or,
            BinaryOp::And => self.and,
            BinaryOp::In => self.in_,
            other => other.symbol(),
        }
    }

    fn aggregate(&self, func: Aggregate) -> &'static str {
        match func {
            Aggregate::Count => self.count,
            Aggregate::Any => self.any,
            Aggregate::None => self.none,
            Aggregate::Sum => self.sum,
            Aggregate::Max => self.max,
            Aggregate::Min => self.min,
            Aggregate::Latest => self.latest,
        }
    }

    /// `3 years`, `1 year`, `12 个月`.
    fn duration(&self, d: Duration) -> String {
        let [one, many] = match d.unit {
            DurationUnit::Years => self.years,
            DurationUnit::Months => self.months,
            DurationUnit::Days => self.days,
        };
        let unit = if d.amount == 1 { one } else { many };
        format!("{} {unit}", d.amount)
    }
}

// ---------------------------------------------------------------------------
// Fields in canonical order
// ---------------------------------------------------------------------------

/// Header fields, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum HeaderKey {
    Title,
    Sector,
    Version,
    Effective,
    Unit,
    Basis,
    Extends,
    Total,
    Channel(usize),
    QueryDay,
    QueryEvidence,
    Commitment,
    Note,
}

/// Clause fields, in canonical order: the order of evaluation, as the rule
/// sets write them (`cap` and `floor` bound the points before `weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClauseKey {
    Wording,
    Basis,
    Note,
    When,
    Points,
    Cap,
    Floor,
    Weight,
}

impl ClauseKey {
    fn holds_expression(self) -> bool {
        !matches!(
            self,
            ClauseKey::Wording | ClauseKey::Basis | ClauseKey::Note
        )
    }
}

/// What follows a field's keyword.
enum Value<'a> {
    /// Printed as it is (a string, a date, a name).
    Text(String),
    /// Laid out to fit the line width, starting where the keyword's padding ends.
    Expr(&'a Expr),
}

/// One `keyword value` line of a header or clause.
struct Field<'a, K> {
    key: K,
    keyword: &'static str,
    value: Value<'a>,
    /// Where the value was written.
    span: Span,
}

fn header_fields<'a>(w: &Words, h: &'a Header) -> Vec<Field<'a, HeaderKey>> {
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
    let channels = h.channels.iter().enumerate().map(|(i, c)| {
        let kinds: Vec<&str> = c.kinds.iter().map(|k| k.value.as_str()).collect();
        Field {
            key: HeaderKey::Channel(i),
            keyword: w.query_channel,
            value: Value::Text(format!("{} [{}]", quote(&c.site.value), kinds.join(", "))),
            span: c.span,
        }
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
            text(HeaderKey::Note, w.note, &h.note),
        ]
        .into_iter()
        .flatten(),
    )
    .collect()
}

fn clause_fields<'a>(w: &Words, c: &'a Clause) -> Vec<Field<'a, ClauseKey>> {
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
    [
        text(ClauseKey::Wording, w.wording, &c.wording),
        text(ClauseKey::Basis, w.basis, &c.basis),
        text(ClauseKey::Note, w.note, &c.note),
        expr(ClauseKey::When, w.when, &c.when),
        expr(ClauseKey::Points, w.points, &c.points),
        expr(ClauseKey::Cap, w.cap, &c.cap),
        expr(ClauseKey::Floor, w.floor, &c.floor),
        expr(ClauseKey::Weight, w.weight, &c.weight),
    ]
    .into_iter()
    .flatten()
    .collect()
}

// ---------------------------------------------------------------------------
// Expressions, as layout documents
// ---------------------------------------------------------------------------
//
// An expression becomes a `Doc` (see `layout`): its text with the places
// where a line may break. Printed flat, a `Doc` reads as the expression on
// one line; the breaks are whitespace only, so the reparsed tree cannot
// change.

/// Binding strength of `not`: between `and` (3) and the comparisons (5).
const PREC_NOT: u8 = 4;
/// Binding strength of unary minus: above `*` and `/` (7) and `otherwise` (8).
const PREC_NEG: u8 = 9;
/// Literals, names and bracketed forms never need parentheses.
const PREC_ATOM: u8 = 10;
/// `if … else x` takes every operator after `x` into its else branch, so
/// it is the weakest form: it is bracketed as the operand of any operator.
const PREC_IF: u8 = 0;
/// A context that anything may fill without parentheses (a field value, a
/// list item, an aggregate argument, an else branch).
const ANY: u8 = 0;
/// A context that an `if` fills only in parentheses, for readability (an
/// `if` condition or then branch, a table key).
const NO_BARE_IF: u8 = 1;
/// The operand of `not`: a comparison or `in` is bracketed for readability,
/// `not (a in b)`, since `not a in b` reads as `(not a) in b`.
const NOT_OPERAND: u8 = 6;
/// An operand of `or`: an `and` is bracketed for readability, `a or (b and
/// c)`, as the rule sets write it.
const OR_OPERAND: u8 = 4;

fn precedence(e: &Expr) -> u8 {
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
fn breaks_before(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::And | BinaryOp::Or | BinaryOp::Add | BinaryOp::Sub
    )
}

/// The value of a constant. A list or table that does not fit hangs from
/// the start of the line rather than from its `[` or `{`: the `=` of a
/// group of constants is aligned, often far to the right.
fn const_value_doc(w: &Words, e: &Expr) -> Doc {
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
fn expr_doc(w: &Words, e: &Expr, min: u8) -> Doc {
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
fn chain_parts(w: &Words, e: &Expr, prec: u8) -> Vec<Doc> {
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
fn if_doc(w: &Words, e: &Expr) -> Doc {
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
fn operand_doc(w: &Words, e: &Expr) -> Doc {
    match &e.kind {
        ExprKind::Bool(b) => Doc::text(w.boolean(*b)),
        ExprKind::Number(n) => Doc::text(n.to_string()),
        ExprKind::Text(s) => Doc::text(quote(s)),
        ExprKind::Date(d) => Doc::text(d.to_string()),
        ExprKind::Duration(d) => Doc::text(w.duration(*d)),
        ExprKind::AsOf => Doc::text(w.as_of),
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
fn list_doc(w: &Words, items: &[Expr], aligned: bool) -> Doc {
    let items = items.iter().map(|item| expr_doc(w, item, ANY)).collect();
    hang(bracketed("[", fill_items(items), false, "]"), aligned)
}

type TableEntry = (Spanned<TableKey>, Spanned<TableValue>);

/// `table key { "AAA": 10, "AA": 8, otherwise: 0 }`, or when too long the
/// entries filled onto lines between `{` and `}`, as many to a line as fit.
fn table_doc(
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
fn bracketed(open: &str, body: Doc, padded: bool, close: &str) -> Doc {
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
fn hang(doc: Doc, aligned: bool) -> Doc {
    if aligned { Doc::align(doc) } else { doc }
}

/// `a, b, c` as a fill: each item goes on the current line if it fits.
fn fill_items(items: Vec<Doc>) -> Doc {
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

fn table_key(w: &Words, key: &TableKey) -> String {
    match key {
        TableKey::Text(s) => quote(s),
        TableKey::Number(n) => n.to_string(),
        TableKey::Bool(b) => w.boolean(*b).to_string(),
        TableKey::Date(d) => d.to_string(),
        TableKey::Duration(d) => w.duration(*d),
        TableKey::Name(n) => n.clone(),
    }
}

fn table_value(value: &TableValue) -> String {
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
fn aggregate_doc(w: &Words, func: Aggregate, filter: Option<&Expr>, value: Option<&Expr>) -> Doc {
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

/// An aggregate's filter: a top-level `and`/`or` chain fills its lines.
fn filter_doc(w: &Words, filter: &Expr) -> Doc {
    match &filter.kind {
        ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), ..) => Doc::Fill {
            parts: chain_parts(w, filter, op.precedence()),
            sticky: true,
        },
        _ => expr_doc(w, filter, ANY),
    }
}

// ---------------------------------------------------------------------------
// Layout: where long lines break
// ---------------------------------------------------------------------------

/// A small Wadler-style pretty printer ("A prettier printer"; the printing
/// loop follows Prettier's). A [`Doc`] is text with the places where a line
/// may break; [`render`] breaks as few of them as it can, outermost first, to
/// keep lines within [`WIDTH`] columns. The result depends only on the
/// document and the column it starts at, never on how the source was laid
/// out, which is what makes `fmt` idempotent.
mod layout {
    use unicode_width::UnicodeWidthStr;

    /// The widest line the formatter aims for, in display columns (a CJK
    /// character counts two). Only what cannot break (a long string, a
    /// record, an operand that is long by itself) goes beyond it.
    pub(super) const WIDTH: usize = 100;

    pub(super) enum Doc {
        /// Text without line breaks.
        Text(String),
        /// A space, or a line break.
        Line,
        /// Nothing, or a line break.
        SoftLine,
        Concat(Vec<Doc>),
        /// Line breaks inside continue at the column where this starts.
        Align(Box<Doc>),
        /// Line breaks inside continue this many columns further in.
        Nest(usize, Box<Doc>),
        /// Its own line breaks (not those of groups inside) are taken all
        /// together or not at all.
        Group(Box<Doc>),
        /// Items and the separators between them (`parts` alternate item,
        /// separator, item …): a separator breaks only when the item after it
        /// does not fit on the line. Once a `sticky` fill has broken a line,
        /// every later separator breaks too.
        Fill {
            parts: Vec<Doc>,
            sticky: bool,
        },
    }

    impl Doc {
        pub(super) fn text(s: impl Into<String>) -> Doc {
            Doc::Text(s.into())
        }

        pub(super) fn align(doc: Doc) -> Doc {
            Doc::Align(Box::new(doc))
        }

        pub(super) fn nest(by: usize, doc: Doc) -> Doc {
            Doc::Nest(by, Box::new(doc))
        }

        pub(super) fn group(doc: Doc) -> Doc {
            Doc::Group(Box::new(doc))
        }
    }

    /// Prints `doc` starting at column `col`; line breaks outside any
    /// `Align` or `Nest` continue at column `indent`. Every line after the
    /// first starts with its indentation.
    pub(super) fn render(doc: &Doc, col: usize, indent: usize) -> String {
        let mut printer = Printer {
            out: String::new(),
            col,
        };
        let mut stack = vec![Cmd {
            indent,
            flat: false,
            step: Step::Doc(doc),
        }];
        while let Some(cmd) = stack.pop() {
            printer.step(cmd, &mut stack);
        }
        printer.out
    }

    #[derive(Clone, Copy)]
    enum Step<'d> {
        Doc(&'d Doc),
        /// An item of a fill: flat if it fits, else broken.
        Fit(&'d Doc),
        /// The rest of a fill, from the separator `parts[next]`.
        FillFrom {
            parts: &'d [Doc],
            next: usize,
            sticky: bool,
            broken: bool,
        },
    }

    /// A piece still to print, with the indentation of its line breaks and
    /// whether they are taken (`flat`: they are not).
    #[derive(Clone, Copy)]
    struct Cmd<'d> {
        indent: usize,
        flat: bool,
        step: Step<'d>,
    }

    struct Printer {
        out: String,
        col: usize,
    }

    impl Printer {
        fn step<'d>(&mut self, cmd: Cmd<'d>, stack: &mut Vec<Cmd<'d>>) {
            let doc = match cmd.step {
                Step::Doc(doc) => doc,
                Step::Fit(doc) => {
                    let flat = fits(self.col, &[doc], stack);
                    stack.push(Cmd {
                        flat,
                        step: Step::Doc(doc),
                        ..cmd
                    });
                    return;
                }
                Step::FillFrom { .. } => return self.fill_from(cmd, stack),
            };
            let push = |stack: &mut Vec<Cmd<'d>>, indent, flat, doc| {
                stack.push(Cmd {
                    indent,
                    flat,
                    step: Step::Doc(doc),
                })
            };
            match doc {
                Doc::Text(s) => {
                    self.out.push_str(s);
                    self.col += s.width();
                }
                Doc::Line if cmd.flat => {
                    self.out.push(' ');
                    self.col += 1;
                }
                Doc::SoftLine if cmd.flat => {}
                Doc::Line | Doc::SoftLine => {
                    self.out.push('\n');
                    self.out.push_str(&" ".repeat(cmd.indent));
                    self.col = cmd.indent;
                }
                Doc::Concat(parts) => {
                    for part in parts.iter().rev() {
                        push(stack, cmd.indent, cmd.flat, part);
                    }
                }
                Doc::Align(inner) => push(stack, self.col, cmd.flat, inner),
                Doc::Nest(by, inner) => push(stack, cmd.indent + by, cmd.flat, inner),
                Doc::Group(inner) => {
                    let flat = cmd.flat || fits(self.col, &[inner], stack);
                    push(stack, cmd.indent, flat, inner);
                }
                Doc::Fill { parts, .. } if cmd.flat => {
                    for part in parts.iter().rev() {
                        push(stack, cmd.indent, true, part);
                    }
                }
                Doc::Fill { parts, sticky } => {
                    let rest = Step::FillFrom {
                        parts,
                        next: 1,
                        sticky: *sticky,
                        broken: false,
                    };
                    stack.push(Cmd { step: rest, ..cmd });
                    if let Some(first) = parts.first() {
                        stack.push(Cmd {
                            step: Step::Fit(first),
                            ..cmd
                        });
                    }
                }
            }
        }

        /// The next separator of a fill stays flat if the item after it fits
        /// on the line too (with whatever follows the fill, for the last item).
        fn fill_from<'d>(&mut self, cmd: Cmd<'d>, stack: &mut Vec<Cmd<'d>>) {
            let Step::FillFrom {
                parts,
                next,
                sticky,
                broken,
            } = cmd.step
            else {
                return;
            };
            let (Some(sep), Some(item)) = (parts.get(next), parts.get(next + 1)) else {
                return;
            };
            let rest = |broken| Cmd {
                step: Step::FillFrom {
                    parts,
                    next: next + 2,
                    sticky,
                    broken,
                },
                ..cmd
            };
            // Decided with the rest of the fill on the stack: after the last
            // item, what follows the fill has to fit on the line too.
            stack.push(rest(broken));
            let flat = !(sticky && broken) && fits(self.col, &[sep, item], stack);
            stack.pop();
            stack.push(rest(broken || !flat));
            // An item after a line break is laid out flat if it fits there.
            let item = if flat {
                Step::Doc(item)
            } else {
                Step::Fit(item)
            };
            for step in [item, Step::Doc(sep)] {
                stack.push(Cmd {
                    indent: cmd.indent,
                    flat,
                    step,
                });
            }
        }
    }

    /// Whether `docs`, printed flat from column `col`, fit on the line
    /// together with what `rest` prints before its next possible line break
    /// (everything in `rest` counts as broken: it has not been decided yet,
    /// and breaking is what it would do to fit).
    fn fits(col: usize, docs: &[&Doc], rest: &[Cmd<'_>]) -> bool {
        let mut left = WIDTH.saturating_sub(col);
        let mut todo: Vec<(bool, &Doc)> = docs.iter().rev().map(|&d| (true, d)).collect();
        let mut rest = rest.iter().rev();
        loop {
            let (flat, doc) = match todo.pop() {
                Some(next) => next,
                None => match rest.next() {
                    None => return true,
                    Some(cmd) => match cmd.step {
                        Step::Doc(doc) | Step::Fit(doc) => (cmd.flat, doc),
                        Step::FillFrom { parts, next, .. } => {
                            let parts = parts.get(next..).unwrap_or_default();
                            todo.extend(parts.iter().rev().map(|d| (cmd.flat, d)));
                            continue;
                        }
                    },
                },
            };
            match doc {
                Doc::Text(s) => match left.checked_sub(s.width()) {
                    Some(l) => left = l,
                    None => return false,
                },
                Doc::Line | Doc::SoftLine if !flat => return true,
                Doc::Line => match left.checked_sub(1) {
                    Some(l) => left = l,
                    None => return false,
                },
                Doc::SoftLine => {}
                Doc::Concat(parts) | Doc::Fill { parts, .. } => {
                    todo.extend(parts.iter().rev().map(|d| (flat, d)));
                }
                Doc::Align(inner) | Doc::Nest(_, inner) | Doc::Group(inner) => {
                    todo.push((flat, inner))
                }
            }
        }
    }
}

/// A string literal with ASCII quotes and the grammar's three escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn field_value(value: &FieldValue) -> String {
    match value {
        FieldValue::Date(d) => d.to_string(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Text(s) => quote(s),
        FieldValue::Name(n) => n.clone(),
    }
}

fn expectation(w: &Words, e: &Expectation) -> String {
    match e {
        Expectation::Eligible => w.eligible.to_string(),
        Expectation::Disqualified => w.disqualified.to_string(),
        Expectation::Veto(id) => format!("{} {id}", w.veto),
        Expectation::Flag(id) => format!("{} {id}", w.flag),
        Expectation::NoVeto(id) => format!("{} {} {id}", w.not, w.veto),
        Expectation::NoFlag(id) => format!("{} {} {id}", w.not, w.flag),
        Expectation::Total(n) => format!("{} {n}", w.total),
        Expectation::Points(id, n) => format!("{} {id} {n}", w.points),
    }
}

// ---------------------------------------------------------------------------
// Comments in the source
// ---------------------------------------------------------------------------

/// A `//` or `#` comment of the source.
#[derive(Debug)]
struct Comment {
    /// From the marker to the last non-blank character of the line.
    span: Span,
    /// The comment as written, marker included.
    text: String,
    /// Only blanks precede it on its line.
    own_line: bool,
    /// A blank line separates it from what comes before.
    blank_before: bool,
    /// A blank line separates it from what comes after.
    blank_after: bool,
}

fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Finds every comment, skipping string literals (`"…"` with escapes, `“…”`).
fn scan_comments(text: &str) -> Vec<Comment> {
    let mut comments = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let starts_comment = c == '#' || (c == '/' && chars.peek().is_some_and(|&(_, n)| n == '/'));
        if starts_comment {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            comments.push(comment_at(text, i, end));
            while chars.next_if(|&(j, _)| j < end).is_some() {}
        } else if c == '"' {
            skip_string(&mut chars, '"', true);
        } else if c == '“' {
            skip_string(&mut chars, '”', false);
        }
    }
    comments
}

/// Skips to the closing quote, or to the end of the line (strings never span lines).
fn skip_string(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    close: char,
    escapes: bool,
) {
    while let Some(&(_, c)) = chars.peek() {
        if c == '\n' {
            return;
        }
        chars.next();
        if c == close {
            return;
        }
        if escapes && c == '\\' {
            chars.next_if(|&(_, n)| n != '\n');
        }
    }
}

fn comment_at(text: &str, start: usize, line_end: usize) -> Comment {
    let written = text[start..line_end].trim_end();
    let end = start + written.len();
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let before = &text[..start];
    let gap_before = &before[before.trim_end_matches(is_blank).len()..];
    let after = &text[end..];
    let gap_after = &after[..after.len() - after.trim_start_matches(is_blank).len()];
    Comment {
        span: Span::new(start, end),
        text: written.to_string(),
        own_line: text[line_start..start].chars().all(is_blank),
        blank_before: gap_before.matches('\n').count() >= 2,
        blank_after: gap_after.matches('\n').count() >= 2,
    }
}

// ---------------------------------------------------------------------------
// Slots: the printed lines, and where they came from
// ---------------------------------------------------------------------------

/// One printed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SlotKey {
    /// `ruleset id {`
    HeaderOpen,
    /// A header field.
    Header(HeaderKey),
    /// The header's `}`.
    HeaderClose,
    /// The first line of item `i`: a constant, a removal, `veto … {`, `test … {`.
    Item(usize),
    /// A field of clause `i`.
    Clause(usize, ClauseKey),
    /// `as_of` of test `i`.
    AsOf(usize),
    /// Record `j` of test `i`.
    Record(usize, usize),
    /// Expectation `j` of test `i`.
    Expect(usize, usize),
    /// The `}` of item `i`.
    Close(usize),
}

/// A printed line and the source text it stands for. The anchor leaves out
/// keywords and brackets whose spans the tree does not keep.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: SlotKey,
    anchor: Span,
}

/// Every slot, in source order.
fn collect_slots(w: &Words, text: &str, comments: &[Comment], ast: &RuleSetAst) -> Vec<Slot> {
    let h = &ast.header;
    let mut slots = vec![Slot {
        key: SlotKey::HeaderOpen,
        anchor: Span::new(h.span.start, h.id.span.end),
    }];
    for f in header_fields(w, h) {
        slots.push(Slot {
            key: SlotKey::Header(f.key),
            anchor: f.span,
        });
    }
    slots.push(Slot {
        key: SlotKey::HeaderClose,
        anchor: last_char(text, h.span),
    });
    for (i, item) in ast.items.iter().enumerate() {
        item_slots(w, text, i, item, &mut slots);
    }
    for slot in &mut slots {
        slot.anchor = trim_anchor(text, comments, slot.anchor);
    }
    slots.sort_by_key(|s| s.anchor.start);
    slots
}

/// Drops the blanks and comments at the end of a span. The span of an
/// `if … else x` (and of a constant ending in one) runs on over whatever
/// the parser skipped after `x`, up to the next token.
fn trim_anchor(text: &str, comments: &[Comment], span: Span) -> Span {
    let mut end = span.end;
    loop {
        let kept = text
            .get(span.start..end)
            .map_or(0, |s| s.trim_end_matches(is_blank).len());
        end = span.start + kept;
        // Comments are in source order and do not overlap: bisect by end.
        let i = comments.partition_point(|c| c.span.end < end);
        match comments.get(i) {
            Some(c) if c.span.end == end && c.span.start >= span.start => end = c.span.start,
            _ => return Span::new(span.start, end),
        }
    }
}

fn item_slots(w: &Words, text: &str, i: usize, item: &Item, slots: &mut Vec<Slot>) {
    let mut push = |key, anchor| slots.push(Slot { key, anchor });
    match item {
        Item::Const(c) => push(SlotKey::Item(i), c.span),
        Item::Remove(name) => push(SlotKey::Item(i), name.span),
        Item::Clause(c) => {
            push(SlotKey::Item(i), Span::new(c.span.start, c.id.span.end));
            for f in clause_fields(w, c) {
                push(SlotKey::Clause(i, f.key), f.span);
            }
            push(SlotKey::Close(i), last_char(text, c.span));
        }
        Item::Test(t) => {
            push(SlotKey::Item(i), Span::new(t.span.start, t.name.span.end));
            if let Some(d) = &t.as_of {
                push(SlotKey::AsOf(i), d.span);
            }
            for (j, r) in t.records.iter().enumerate() {
                push(SlotKey::Record(i, j), r.span);
            }
            for (j, e) in t.expects.iter().enumerate() {
                push(SlotKey::Expect(i, j), e.span);
            }
            push(SlotKey::Close(i), last_char(text, t.span));
        }
    }
}

/// The span of the last character of `span` (a closing brace).
fn last_char(text: &str, span: Span) -> Span {
    let width = text
        .get(span.start..span.end)
        .and_then(|s| s.chars().next_back())
        .map_or(0, char::len_utf8);
    Span::new(span.end - width, span.end)
}

/// Where each comment goes.
#[derive(Debug, Default)]
struct Attached {
    /// Own-line comments printed before a slot's line.
    leading: HashMap<SlotKey, Vec<usize>>,
    /// The comment printed at the end of a slot's line.
    trailing: HashMap<SlotKey, usize>,
    /// Own-line comments after the last item.
    end: Vec<usize>,
    /// Comments that have no place, with the line they are in.
    lost: Vec<(usize, Option<SlotKey>)>,
}

fn attach(text: &str, comments: &[Comment], slots: &[Slot]) -> Attached {
    let mut attached = Attached::default();
    for (id, c) in comments.iter().enumerate() {
        let at = c.span.start;
        if let Some(slot) = holding(slots, at).filter(|s| s.anchor.start < at) {
            attached.lost.push((id, Some(slot.key)));
        } else if c.own_line {
            match after(slots, at) {
                Some(next) => attached.leading.entry(next.key).or_default().push(id),
                None => attached.end.push(id),
            }
        } else {
            match code_owner(text, at, slots) {
                // Only the comment that really ends the line is kept; an
                // earlier one (after `when (` on a previous line) is lost.
                Some(key) => {
                    if let Some(earlier) = attached.trailing.insert(key, id) {
                        attached.lost.push((earlier, Some(key)));
                    }
                }
                None => attached.lost.push((id, None)),
            }
        }
    }
    attached
}

/// The slot owning the code just before a comment at `at` on the same line.
/// Code outside every anchor is a keyword or a bracket: closing ones (`)`,
/// and the `{` that opens a block) belong to the slot before, the rest
/// (keywords, `(`) to the slot after.
fn code_owner(text: &str, at: usize, slots: &[Slot]) -> Option<SlotKey> {
    let before = text.get(..at)?.trim_end_matches(is_blank);
    let (pos, c) = before.char_indices().next_back()?;
    let owner = match holding(slots, pos) {
        Some(slot) => Some(slot),
        None if matches!(c, ')' | '）' | '{' | '｛') => ending_by(slots, pos),
        None => after(slots, pos),
    };
    owner.map(|s| s.key)
}

// Slots are sorted by start and do not overlap, so they are sorted by end
// too and can be searched by bisection.

/// The slot whose anchor holds byte `at`.
fn holding(slots: &[Slot], at: usize) -> Option<&Slot> {
    let i = slots.partition_point(|s| s.anchor.start <= at);
    slots.get(i.checked_sub(1)?).filter(|s| at < s.anchor.end)
}

/// The first slot that starts after byte `at`.
fn after(slots: &[Slot], at: usize) -> Option<&Slot> {
    slots.get(slots.partition_point(|s| s.anchor.start <= at))
}

/// The last slot that ends at or before byte `at`.
fn ending_by(slots: &[Slot], at: usize) -> Option<&Slot> {
    let i = slots.partition_point(|s| s.anchor.end <= at);
    slots.get(i.checked_sub(1)?)
}

// ---------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------

struct Printer<'a> {
    words: &'static Words,
    source: &'a str,
    comments: &'a [Comment],
    attached: Attached,
    emitted: Vec<bool>,
    out: String,
}

impl<'a> Printer<'a> {
    fn new(
        words: &'static Words,
        source: &'a str,
        comments: &'a [Comment],
        attached: Attached,
    ) -> Self {
        Self {
            words,
            source,
            comments,
            attached,
            emitted: vec![false; comments.len()],
            out: String::with_capacity(source.len() + 64),
        }
    }

    /// The text, and the comments it lost with the line each was in.
    fn finish(mut self) -> (String, Vec<(usize, Option<SlotKey>)>) {
        let mut lost = std::mem::take(&mut self.attached.lost);
        for &(id, _) in &lost {
            self.emitted[id] = true;
        }
        for (id, done) in self.emitted.iter().enumerate() {
            if !done {
                lost.push((id, None));
            }
        }
        lost.sort_by_key(|(id, _)| *id);
        (self.out, lost)
    }

    fn rule_set(&mut self, ast: &RuleSetAst) {
        self.header(&ast.header);
        let apart = self.apart(&ast.items);
        let mut i = 0;
        while i < ast.items.len() {
            // The header is always set off; items keep the author's blank lines.
            if i == 0 || apart[i] {
                self.out.push('\n');
            }
            self.leading(SlotKey::Item(i), 0, true);
            match &ast.items[i] {
                Item::Const(_) => {
                    i = self.constants(&ast.items, i, &apart);
                    continue;
                }
                Item::Remove(name) => {
                    let line = format!("{} {}", self.words.remove, name.value);
                    self.line(SlotKey::Item(i), 0, &line);
                }
                Item::Clause(c) => self.clause(i, c),
                Item::Test(t) => self.test_block(i, t),
            }
            i += 1;
        }
        self.end_comments();
    }

    /// For each item, whether the source has a blank line between it and
    /// the item before (before its own-line comments, if it has any: blank
    /// lines among and after those are kept by [`Printer::leading`]).
    fn apart(&self, items: &[Item]) -> Vec<bool> {
        let extent = |item: &Item| match item {
            Item::Const(c) => trim_anchor(self.source, self.comments, c.span),
            Item::Remove(name) => name.span,
            Item::Clause(c) => c.span,
            Item::Test(t) => t.span,
        };
        let mut apart = vec![false; items.len()];
        for (i, pair) in items.windows(2).enumerate() {
            let gap = Span::new(extent(&pair[0]).end, extent(&pair[1]).start);
            apart[i + 1] = blank_line_in(self.source.get(gap.start..gap.end).unwrap_or(""));
        }
        apart
    }

    /// Prints the run of constants that starts at item `first`, with their
    /// `=` and their trailing comments aligned so that the run reads as a
    /// table. Returns the index of the item after the run.
    fn constants(&mut self, items: &[Item], first: usize, apart: &[bool]) -> usize {
        let run = self.const_run(items, first, apart);
        let name_width = run.iter().map(|(_, c)| c.name.value.width()).max();
        let lines: Vec<(SlotKey, String)> = run
            .iter()
            .map(|&(i, c)| (SlotKey::Item(i), self.constant(c, name_width.unwrap_or(0))))
            .collect();
        // Comments line up after the longest one-line constant that has one;
        // a constant on several lines has its comment after its last line.
        let one_line = |line: &str| !line.contains('\n');
        let longest = lines
            .iter()
            .filter(|(key, line)| one_line(line) && self.attached.trailing.contains_key(key))
            .map(|(_, line)| line.width())
            .max();
        for (key, line) in &lines {
            let code = longest
                .filter(|_| one_line(line))
                .unwrap_or_else(|| last_line(line).width());
            self.line_with_comment_at(*key, 0, line, Some(code + CONST_COMMENT_GAP));
        }
        first + run.len()
    }

    /// The constants from item `first` on that have neither a blank line
    /// nor a comment line before them (a comment line starts a new run, as
    /// it does in `gofmt`: it reads as the heading of what follows).
    fn const_run<'i>(
        &self,
        items: &'i [Item],
        first: usize,
        apart: &[bool],
    ) -> Vec<(usize, &'i ConstDef)> {
        let mut run = Vec::new();
        for (i, item) in items.iter().enumerate().skip(first) {
            let Item::Const(c) = item else { break };
            let comment_line = self.attached.leading.contains_key(&SlotKey::Item(i));
            if i > first && (apart[i] || comment_line) {
                break;
            }
            run.push((i, c));
        }
        run
    }

    /// `const name = value`, the name padded to `name_width`.
    fn constant(&self, c: &ConstDef, name_width: usize) -> String {
        let pad = name_width.saturating_sub(c.name.value.width());
        let head = format!(
            "{} {}{} = ",
            self.words.const_,
            c.name.value,
            " ".repeat(pad)
        );
        let value = const_value_doc(self.words, &c.value);
        let col = head.width();
        head + &render(&value, col, 0)
    }

    fn header(&mut self, h: &Header) {
        self.leading(SlotKey::HeaderOpen, 0, true);
        let open = format!("{} {} {{", self.words.ruleset, h.id.value);
        self.line(SlotKey::HeaderOpen, 0, &open);
        let fields = header_fields(self.words, h);
        self.fields(&fields, SlotKey::Header);
        self.leading(SlotKey::HeaderClose, INDENT, false);
        self.line(SlotKey::HeaderClose, 0, "}");
    }

    fn clause(&mut self, i: usize, c: &Clause) {
        let w = self.words;
        let mut open = format!("{} ", w.clause_kind(c.kind));
        if c.mandatory {
            open.push_str(w.mandatory);
            open.push(' ');
        }
        open.push_str(&c.id.value);
        open.push_str(" {");
        self.line(SlotKey::Item(i), 0, &open);
        let fields = clause_fields(w, c);
        self.fields(&fields, |key| SlotKey::Clause(i, key));
        self.close(i);
    }

    /// `keyword value` lines with the values aligned. An expression that
    /// does not fit continues on lines aligned under its start.
    fn fields<K: Copy>(&mut self, fields: &[Field<'_, K>], slot: impl Fn(K) -> SlotKey) {
        let width = fields.iter().map(|f| f.keyword.width()).max().unwrap_or(0);
        for f in fields {
            let key = slot(f.key);
            self.leading(key, INDENT, false);
            let pad = width.saturating_sub(f.keyword.width()) + 1;
            let mut line = format!("{}{}", f.keyword, " ".repeat(pad));
            match &f.value {
                Value::Text(text) => line.push_str(text),
                Value::Expr(e) => {
                    let col = INDENT + line.width();
                    line.push_str(&render(&expr_doc(self.words, e, ANY), col, col));
                }
            }
            self.line(key, INDENT, &line);
        }
    }

    fn test_block(&mut self, i: usize, t: &TestBlock) {
        let w = self.words;
        let open = format!("{} {} {{", w.test, quote(&t.name.value));
        self.line(SlotKey::Item(i), 0, &open);
        if let Some(d) = &t.as_of {
            self.leading(SlotKey::AsOf(i), INDENT, false);
            self.line(
                SlotKey::AsOf(i),
                INDENT,
                &format!("{} {}", w.as_of, d.value),
            );
        }
        for (j, r) in t.records.iter().enumerate() {
            self.leading(SlotKey::Record(i, j), INDENT, false);
            let line = self.record(r);
            self.line(SlotKey::Record(i, j), INDENT, &line);
        }
        for (j, e) in t.expects.iter().enumerate() {
            self.leading(SlotKey::Expect(i, j), INDENT, false);
            let line = format!("{} {}", w.expect, expectation(w, &e.value));
            self.line(SlotKey::Expect(i, j), INDENT, &line);
        }
        self.close(i);
    }

    /// `record R1 { kind 黑名单 date 2023-01-01 }`
    fn record(&self, r: &TestRecord) -> String {
        let mut line = format!("{} {} {{", self.words.record, self.record_id(r));
        if r.fields.is_empty() {
            line.push('}');
            return line;
        }
        for (name, value) in &r.fields {
            line.push(' ');
            line.push_str(&name.value);
            line.push(' ');
            line.push_str(&field_value(&value.value));
        }
        line.push_str(" }");
        line
    }

    /// A record id as it was written: a name, or a quoted string.
    fn record_id(&self, r: &TestRecord) -> String {
        let written = self.source.get(r.id.span.start..r.id.span.end);
        let quoted = match written {
            Some(s) if !s.is_empty() => s.starts_with(['"', '“']),
            _ => !looks_like_name(&r.id.value),
        };
        if quoted {
            quote(&r.id.value)
        } else {
            r.id.value.clone()
        }
    }

    fn close(&mut self, i: usize) {
        self.leading(SlotKey::Close(i), INDENT, false);
        self.line(SlotKey::Close(i), 0, "}");
    }

    /// Own-line comments before a slot. Blank lines between them are kept
    /// (`blanks`) only between items, where the layout has blank lines anyway.
    fn leading(&mut self, key: SlotKey, indent: usize, blanks: bool) {
        let Some(ids) = self.attached.leading.remove(&key) else {
            return;
        };
        for (n, &id) in ids.iter().enumerate() {
            let blank = self.comments.get(id).is_some_and(|c| c.blank_before);
            if blanks && n > 0 && blank {
                self.out.push('\n');
            }
            self.own_line_comment(id, indent);
        }
        let last = ids.last().and_then(|&id| self.comments.get(id));
        if blanks && last.is_some_and(|c| c.blank_after) {
            self.out.push('\n');
        }
    }

    /// Own-line comments after the last item, with their blank lines.
    fn end_comments(&mut self) {
        for id in std::mem::take(&mut self.attached.end) {
            if self.comments.get(id).is_some_and(|c| c.blank_before) {
                self.out.push('\n');
            }
            self.own_line_comment(id, 0);
        }
    }

    fn own_line_comment(&mut self, id: usize, indent: usize) {
        if let Some(c) = self.comments.get(id) {
            self.out.push_str(&" ".repeat(indent));
            self.out.push_str(&c.text);
            self.out.push('\n');
            self.emitted[id] = true;
        }
    }

    /// One line (or several, for a long expression), with its trailing
    /// comment if it has one.
    fn line(&mut self, key: SlotKey, indent: usize, content: &str) {
        self.line_with_comment_at(key, indent, content, None);
    }

    /// Like [`Printer::line`], with the trailing comment at column
    /// `comment_col` of the last line of `content`, if that is given (and
    /// leaves room for the gap).
    fn line_with_comment_at(
        &mut self,
        key: SlotKey,
        indent: usize,
        content: &str,
        comment_col: Option<usize>,
    ) {
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(content);
        let trailing = self.attached.trailing.remove(&key);
        if let Some((id, c)) = trailing.and_then(|id| Some((id, self.comments.get(id)?))) {
            let code = last_line(content).width();
            let gap = comment_col.map_or(COMMENT_GAP, |col| col.saturating_sub(code));
            self.out.push_str(&" ".repeat(gap.max(COMMENT_GAP)));
            self.out.push_str(&c.text);
            self.emitted[id] = true;
        }
        self.out.push('\n');
    }
}

/// The text after the last line break of `text`.
fn last_line(text: &str) -> &str {
    text.rsplit('\n').next().unwrap_or(text)
}

/// Whether the text between two items holds a blank line before anything
/// else (a comment line, or the later item).
fn blank_line_in(gap: &str) -> bool {
    let mut lines = gap.split('\n');
    lines.next(); // the rest of the earlier item's last line: a trailing comment at most
    lines.next_back(); // the start of the later item's line
    lines.next().is_some_and(|line| line.chars().all(is_blank))
}

/// Could `s` be written as a bare name? (Used only when the source text of a
/// record id is unavailable.)
fn looks_like_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

fn lost_comments(
    file: &SourceFile,
    comments: &[Comment],
    lost: &[(usize, Option<SlotKey>)],
    ast: &RuleSetAst,
) -> Diagnostics {
    let mut out = Diagnostics::new();
    for &(id, slot) in lost {
        let Some(c) = comments.get(id) else { continue };
        let (what, above) = describe(slot, ast);
        out.push(
            Diagnostic::error("E0500", format!("cannot keep the comment inside {what}"))
                .at(file, c.span)
                .with_help(format!("move the comment to its own line above {above}"))
                .with_note("`fmt` never drops a comment, so the file was left as it is"),
        );
    }
    out
}

/// What a line is, and what to move a comment above, for `E0500`.
fn describe(slot: Option<SlotKey>, ast: &RuleSetAst) -> (&'static str, &'static str) {
    match slot {
        Some(SlotKey::Clause(_, key)) if key.holds_expression() => ("an expression", "the clause"),
        Some(SlotKey::Clause(..)) => ("a clause field", "the clause"),
        Some(SlotKey::Item(i)) => match ast.items.get(i) {
            Some(Item::Const(_)) => ("an expression", "the constant"),
            Some(Item::Remove(_)) => ("a `remove` line", "that line"),
            Some(Item::Clause(_)) => ("the first line of a clause", "the clause"),
            _ => ("the first line of a test", "the test"),
        },
        Some(SlotKey::Record(..)) => ("a test record", "the record"),
        Some(SlotKey::AsOf(_) | SlotKey::Expect(..)) => ("a test line", "that line"),
        Some(SlotKey::HeaderOpen | SlotKey::Header(_) | SlotKey::HeaderClose) => {
            ("the rule-set header", "that header line")
        }
        Some(SlotKey::Close(_)) | None => ("a line", "that line"),
    }
}

/// Parses the printed text again; it must give the same tree, spans aside.
fn check_meaning(file: &SourceFile, ast: &RuleSetAst, text: &str) -> Result<(), Diagnostics> {
    let printed = SourceFile::new(file.name.clone(), text);
    let same = crate::syntax::parse(&printed)
        .is_ok_and(|again| unspanned::rule_set(&again) == unspanned::rule_set(ast));
    if same {
        return Ok(());
    }
    Err(Diagnostic::error(
        "E0501",
        "formatting would change the meaning of the rule set",
    )
    .at(file, ast.header.id.span)
    .with_help("this is a bug in `credit-rules fmt`; the file was left as it is — please report it with the file")
    .into())
}

/// Copies of a syntax tree with every span cleared, to compare two trees
/// that differ only in layout.
pub(crate) mod unspanned {
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
            span: Span::default(),
        }
    }

    fn item(item: &Item) -> Item {
        match item {
            Item::Const(c) => Item::Const(ConstDef {
                name: bare(&c.name),
                value: expr(&c.value),
                span: Span::default(),
            }),
            Item::Remove(name) => Item::Remove(bare(name)),
            Item::Clause(c) => Item::Clause(Box::new(clause(c))),
            Item::Test(t) => Item::Test(test(t)),
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
            leaf => leaf.clone(),
        };
        Expr::new(kind, Span::default())
    }
}

#[cfg(test)]
mod tests {
    use super::layout::WIDTH;
    use super::*;

    fn fmt(text: &str) -> String {
        let file = SourceFile::new("t.rules", text);
        match format_source(&file) {
            Ok(out) => out,
            Err(d) => panic!("{}", d.render()),
        }
    }

    /// Formats, and checks that formatting again changes nothing.
    fn fmt_stable(text: &str) -> String {
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "formatting is not idempotent");
        once
    }

    #[test]
    fn a_single_clause_prints_in_the_dialect_asked_for() {
        let file = SourceFile::new(
            "t.rules",
            "规则集 t { 标题 \"t\" }\n提示 经营异常 { // 注释\n 条件 存在(记录 满足 类别 = 经营异常名录 且 近 1 年) }\n",
        );
        let ast = crate::syntax::parse(&file).expect("parses");
        let clause = ast.clauses().next().expect("one clause");
        assert_eq!(
            format_clause(clause, Dialect::English),
            // Keywords follow the dialect; names (a field, a kind) stay as written.
            "flag 经营异常 {\n  when any(records where 类别 = 经营异常名录 and within 1 year)\n}\n"
        );
        let when = clause.when.as_ref().expect("a condition");
        assert_eq!(
            format_expr(when, Dialect::Chinese),
            "存在(记录 满足 类别 = 经营异常名录 且 近 1 年)"
        );
    }

    /// The points expression of `score s`, formatted.
    fn points(expr: &str) -> String {
        let text = format!("ruleset t {{ title \"t\" }}\nscore s {{ points {expr} }}\n");
        let out = fmt_stable(&text);
        let line = out.lines().find(|l| l.trim_start().starts_with("points"));
        line.map(|l| l.trim_start()["points ".len()..].to_string())
            .unwrap_or_default()
    }

    #[test]
    fn english_file_gets_the_canonical_layout() {
        let text = r#"ruleset demo.x { total 10 title "Demo" effective 2020-01-01 version "1" extends city.base }
const window = 3 years   const one=1 year


remove 经营异常

score grade { floor 0 cap 10 weight 0.50 points table latest(records where kind=信用等级,grade){"AAA":10 "AA":8, otherwise 3} wording "w" }
veto mandatory ban { when any(records where kind = 取消投标资格 and within window) }

test "t" { expect total 4 record "R 2" { kind 信用等级 amount -1.5 } as_of 2024-02-29 record R1 { } expect points grade 4 expect eligible }
"#;
        let expected = r#"ruleset demo.x {
  title     "Demo"
  version   "1"
  effective 2020-01-01
  extends   city.base
  total     10
}

const window = 3 years
const one    = 1 year

remove 经营异常

score grade {
  wording "w"
  points  table latest(records where kind = 信用等级, grade) { "AAA": 10, "AA": 8, otherwise: 3 }
  cap     10
  floor   0
  weight  0.50
}
veto mandatory ban {
  when any(records where kind = 取消投标资格 and within window)
}

test "t" {
  as_of 2024-02-29
  record "R 2" { kind 信用等级 amount -1.5 }
  record R1 {}
  expect total 4
  expect points grade 4
  expect eligible
}
"#;
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn chinese_file_keeps_chinese_keywords() {
        let text = "规则集 示例.中文 { 总分 3 标题 \"示例\" 继承 city.base 生效日期 2019-12-31 责任单位 \"局\" 行业 \"交通\" 版本 \"1\" 依据 \"号\" }
常量 回看期 = 3 年
删除 经营异常

否决 强制 等级为D { 依据 \"号\" 表述 \"否决\" 条件 最近(记录 满足 类别 = 信用等级 并且 行业 = \"公路\", 等级) 默认 \"B\" = \"D\" }

评分 加分 { 下限 0 上限 3 权重 1 得分 对照 最近(记录, 等级) { \"AA\": 3, 是: 2, 其他: 0 } }

提示 近期 { 条件 非 不存在(记录 满足 类别 属于 [行政处罚, 不良] 或者 近 12 月) 或 计数(记录) > 评价日期 - 90 天 }

评分 扣分 { 得分 如果 存在(记录) 则 0 - 合计(记录 满足 近 1 年, 金额) 否则 最大(记录, 金额) 默认 0 × 2 }

测试 \"中文\" { 预期 合格 记录 R1 { 类别 信用等级 日期 2023-04-15 } 评价日期 2024-06-01 预期 得分 加分 3 预期 否决 等级为D 预期 提示 近期 预期 不合格 预期 总分 -1 }
";
        let expected = "规则集 示例.中文 {
  标题     \"示例\"
  行业     \"交通\"
  版本     \"1\"
  生效日期 2019-12-31
  责任单位 \"局\"
  依据     \"号\"
  继承     city.base
  总分     3
}

常量 回看期 = 3 年
删除 经营异常

否决 强制 等级为D {
  表述 \"否决\"
  依据 \"号\"
  条件 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) 默认 \"B\" = \"D\"
}

评分 加分 {
  得分 对照 最近(记录, 等级) { \"AA\": 3, 是: 2, 其他: 0 }
  上限 3
  下限 0
  权重 1
}

提示 近期 {
  条件 非 不存在(记录 满足 类别 属于 [行政处罚, 不良] 或 近 12 个月)
       或 计数(记录) > 评价日期 - 90 日
}

评分 扣分 {
  得分 如果 存在(记录) 则 0 - 合计(记录 满足 近 1 年, 金额) 否则 最大(记录, 金额) 默认 0 * 2
}

测试 \"中文\" {
  评价日期 2024-06-01
  记录 R1 { 类别 信用等级 日期 2023-04-15 }
  预期 合格
  预期 得分 加分 3
  预期 否决 等级为D
  预期 提示 近期
  预期 不合格
  预期 总分 -1
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn tender_fields_and_notes_keep_their_dialect_and_canonical_place() {
        let text = "规则集 示例.招标 { 备注 \"内部\" 信用承诺 \"承诺\" 查询渠道 \"信用中国\" [行政处罚，行政许可] 标题 \"示例\" 查询时点 \"开标当日\" 版本 \"1\" 生效日期 2024-01-01 查询留存 \"截图留存\" 查询渠道 \"执行信息公开网\" [失信被执行人] }
否决 甲 { 条件 存在(记录) 备注 \"示例\" 表述 \"w\" }
";
        let expected = "规则集 示例.招标 {
  标题     \"示例\"
  版本     \"1\"
  生效日期 2024-01-01
  查询渠道 \"信用中国\" [行政处罚, 行政许可]
  查询渠道 \"执行信息公开网\" [失信被执行人]
  查询时点 \"开标当日\"
  查询留存 \"截图留存\"
  信用承诺 \"承诺\"
  备注     \"内部\"
}

否决 甲 {
  表述 \"w\"
  备注 \"示例\"
  条件 存在(记录)
}
";
        assert_eq!(fmt_stable(text), expected);
        let english = "ruleset demo.t { title \"t\" version \"1\" effective 2024-01-01 note \"n\" query_evidence \"e\" }\n";
        assert_eq!(
            fmt_stable(english),
            "ruleset demo.t {\n  title          \"t\"\n  version        \"1\"\n  effective      2024-01-01\n  query_evidence \"e\"\n  note           \"n\"\n}\n"
        );
    }

    #[test]
    fn full_width_punctuation_and_chinese_quotes_become_ascii() {
        let text = "规则集 示例.全角 ｛
  标题 “全角“标点”
  版本 “a\\b”
｝
常量 禁入 ＝ 【黑名单、失信被执行人，甲】

评分 等级 ｛
  得分 对照 最近（记录，等级） ｛ “A”：3， 其他：0 ｝ × 2 ÷ 1
  条件 甲 ≠ 乙 且 甲 ≤ 1 且 乙 ≥ 2 且 丙 == 3
｝
";
        let expected = "规则集 示例.全角 {
  标题 \"全角“标点\"
  版本 \"a\\\\b\"
}

常量 禁入 = [黑名单, 失信被执行人, 甲]

评分 等级 {
  条件 甲 != 乙 且 甲 <= 1 且 乙 >= 2 且 丙 = 3
  得分 对照 最近(记录, 等级) { \"A\": 3, 其他: 0 } * 2 / 1
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn strings_are_escaped() {
        let text = "ruleset t { title \"a\\\"b\\\\c\\nd # not a comment // nor this\" }\n";
        let out = fmt_stable(text);
        assert!(
            out.contains(r#"title "a\"b\\c\nd # not a comment // nor this""#),
            "{out}"
        );
    }

    #[test]
    fn comments_are_kept_in_place() {
        let text = "// file comment

# second paragraph
ruleset t { // on the header line
  // before version
  version \"1\" # after version
  title \"t\"
  // before the closing brace
}
// before the clause
score s {
  points a +
    b  // after points
  // before cap
  cap (1) // after cap
} // after the clause

test \"x\" {
  expect eligible // after expect
  // before as_of
  as_of 2024-01-01
}
// at the end

// really the end
";
        let expected = "// file comment

# second paragraph
ruleset t {  // on the header line
  title   \"t\"
  // before version
  version \"1\"  # after version
  // before the closing brace
}

// before the clause
score s {
  points a + b  // after points
  // before cap
  cap    1  // after cap
}  // after the clause

test \"x\" {
  // before as_of
  as_of 2024-01-01
  expect eligible  // after expect
}
// at the end

// really the end
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn comments_next_to_keywords_and_brackets_stay_on_the_line() {
        let text = "ruleset t { title \"t\" }
veto v
{ // after the brace
  when ( // after the bracket
    a or b)
}
";
        let expected = "ruleset t {
  title \"t\"
}

veto v {  // after the brace
  when a or b  // after the bracket
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn comments_after_an_if_are_not_inside_it() {
        // The parser's span of `if … else x` runs on over the comments after `x`.
        let text = "ruleset t { title \"t\" }
const c = if a then 1 else 2 // after the constant
// before the clause
score s {
  points if a then 1 else 2 # after points
  // before cap
  cap 1
}
";
        let expected = "ruleset t {
  title \"t\"
}

const c = if a then 1 else 2   // after the constant
// before the clause
score s {
  points if a then 1 else 2  # after points
  // before cap
  cap    1
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn newer_forms_are_printed() {
        let text = "规则集 t { 标题 \"t\" }
删除 bad-records
评分 bad-points { 得分 对照 严重程度 { 严重: -3, 一般: -1 } }
测试 \"x\" { 预期 非 否决 黑名单 预期 非 提示 bad-records 预期 得分 bad-points -3 }
";
        let out = fmt_stable(text);
        for line in [
            "删除 bad-records",
            "评分 bad-points {",
            "  得分 对照 严重程度 { 严重: -3, 一般: -1 }",
            "  预期 非 否决 黑名单",
            "  预期 非 提示 bad-records",
            "  预期 得分 bad-points -3",
        ] {
            assert!(out.lines().any(|l| l == line), "missing `{line}` in\n{out}");
        }
    }

    #[test]
    fn comment_inside_an_expression_is_an_error() {
        let text = "ruleset t { title \"t\" }
score s {
  points a +
    // explains b
    b
}
";
        let file = SourceFile::new("t.rules", text);
        let errors = format_source(&file).expect_err("the comment cannot be kept");
        let d = errors.iter().next().expect("one diagnostic");
        assert_eq!(d.code, "E0500");
        assert_eq!(d.message, "cannot keep the comment inside an expression");
        assert_eq!(
            d.help.as_deref(),
            Some("move the comment to its own line above the clause")
        );
        let start = text.find("// explains").unwrap_or_default();
        assert_eq!(d.location.as_deref().map(|(_, s)| s.start), Some(start));
    }

    #[test]
    fn two_comments_for_one_line_is_an_error() {
        let text = "ruleset t { title \"t\" }\nflag f {\n  when ( // one\n    a) // two\n}\n";
        let file = SourceFile::new("t.rules", text);
        let errors = format_source(&file).expect_err("only one trailing comment fits");
        assert_eq!(errors.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0500"]);
    }

    #[test]
    fn parentheses_follow_precedence() {
        let cases = [
            ("(a + b) * c", "(a + b) * c"),
            ("a - (b - c)", "a - (b - c)"),
            ("(a - b) - c", "a - b - c"),
            ("a * (b / c)", "a * (b / c)"),
            ("not (a and b)", "not (a and b)"),
            ("(not a) and b", "not a and b"),
            ("not (a = b)", "not (a = b)"),
            ("not a in b", "not (a in b)"),
            ("not a + b", "not a + b"),
            ("(not a) = b", "(not a) = b"),
            ("a = (not b)", "a = (not b)"),
            ("not not a", "not (not a)"),
            ("-(x)", "-x"),
            ("-(a + b)", "-(a + b)"),
            ("- -x", "- -x"),
            ("-a * b", "-a * b"),
            ("-(a * b)", "-(a * b)"),
            ("a - -1", "a - -1"),
            ("((a))", "a"),
            ("a or (b and c)", "a or (b and c)"),
            ("a and b or c", "(a and b) or c"),
            ("a or b or c and d", "a or b or (c and d)"),
            ("(a or b) and c", "(a or b) and c"),
            ("a otherwise (b or c)", "a otherwise (b or c)"),
            ("(a otherwise b) + 1", "a otherwise b + 1"),
            ("a + (b otherwise c)", "a + b otherwise c"),
            ("(-a) otherwise b", "-a otherwise b"),
            ("a otherwise (b otherwise c)", "a otherwise (b otherwise c)"),
            ("(a in b) = c", "a in b = c"),
            ("a = (b in c)", "a = (b in c)"),
            ("(if a then 1 else 2) + 3", "(if a then 1 else 2) + 3"),
            ("1 + (if a then 1 else 2)", "1 + (if a then 1 else 2)"),
            (
                "if a then 1 else (if b then 2 else 3)",
                "if a then 1 else if b then 2 else 3",
            ),
            (
                "if (if a then b else c) then 1 else 2",
                "if (if a then b else c) then 1 else 2",
            ),
            ("if a then 1 else 2 + 3", "if a then 1 else 2 + 3"),
            ("[(a or b), (c)]", "[a or b, c]"),
            (
                "count(records where (kind = x) and within 3 years)",
                "count(records where kind = x and within 3 years)",
            ),
            ("sum(records, (amount))", "sum(records, amount)"),
            ("table (a + b) { 1: 2 }", "table a + b { 1: 2 }"),
            ("table k { }", "table k {}"),
            ("any(records)", "any(records)"),
        ];
        for (input, expected) in cases {
            assert_eq!(points(input), expected, "formatting `{input}`");
        }
    }

    #[test]
    fn durations_and_numbers_are_canonical() {
        assert_eq!(points("within 1 years"), "within 1 year");
        assert_eq!(points("within 12 month"), "within 12 months");
        assert_eq!(points("within 90 天"), "within 90 days");
        assert_eq!(points("0.50 + 1.0 + 007"), "0.50 + 1.0 + 7");
        assert_eq!(points("2019-12-31 - as_of"), "2019-12-31 - as_of");
        assert_eq!(points("true ≠ 否"), "true != false");
    }

    #[test]
    fn formatting_is_idempotent_on_the_example() {
        let text = "// head
ruleset city.base {
  title \"统一规则\"
  basis \"号\"
}

// 黑名单
veto mandatory 黑名单 {
  wording \"不得参与\"
  when    any(records where kind in [黑名单, 公共资源交易严重失信主体])
}

test \"黑名单\" {
  as_of 2024-06-01
  record L1 { kind 黑名单 date 2023-02-15 until 2025-02-15 }
  expect veto 黑名单
}
";
        assert_eq!(fmt_stable(text), text);
    }

    #[test]
    fn syntax_errors_are_passed_through() {
        let file = SourceFile::new("t.rules", "ruleset t { title }");
        let errors = format_source(&file).expect_err("does not parse");
        assert_eq!(errors.iter().next().map(|d| d.code), Some("E0001"));
    }

    #[test]
    fn comment_scanner_skips_strings() {
        let comments = scan_comments("a \"x # y \\\" // z\" “p # q” // real\r\n# two");
        let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// real", "# two"]);
        assert!(!comments[0].own_line && comments[1].own_line);
    }

    // -- Blank lines and runs of constants ---------------------------------

    #[test]
    fn constants_written_together_are_aligned() {
        let text = "ruleset t { title \"t\" }
const a = 1   // one
const long_name = 2 years // two
const bb = [x, y]


const c = 3
// starts a new alignment
const cccccc = 4  // four
const d = 5 // five
const 部门 = [\"武汉市住房保障和房屋管理局\", \"湖北省住房和城乡建设厅\", \"中华人民共和国住房和城乡建设部\", \"国家林业和草原局\"]
";
        let expected = "ruleset t {
  title \"t\"
}

const a         = 1         // one
const long_name = 2 years   // two
const bb        = [x, y]

const c = 3
// starts a new alignment
const cccccc = 4   // four
const d      = 5   // five
const 部门   = [
  \"武汉市住房保障和房屋管理局\", \"湖北省住房和城乡建设厅\", \"中华人民共和国住房和城乡建设部\",
  \"国家林业和草原局\"
]
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn chinese_constants_align_by_display_width() {
        let text = "规则集 t { 标题 \"t\" }
常量 回看期 = 3 年 // 行贿犯罪
常量 处罚回看期 = 2 年 // 处罚
常量 ab = 1   常量 不良行为扣分下限 = -3 # 下限
";
        // A CJK character is two columns wide: `处罚回看期` (10) is as wide as
        // `ab` and eight spaces.
        let expected = "规则集 t {
  标题 \"t\"
}

常量 回看期           = 3 年   // 行贿犯罪
常量 处罚回看期       = 2 年   // 处罚
常量 ab               = 1
常量 不良行为扣分下限 = -3     # 下限
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn items_keep_the_authors_blank_lines() {
        let text = "ruleset t { title \"t\" }
flag a { when x }
flag b { when y }



// about c

flag c { when z } // after c
remove d   remove e

test \"t\" { expect eligible }
";
        let expected = "ruleset t {
  title \"t\"
}

flag a {
  when x
}
flag b {
  when y
}

// about c

flag c {
  when z
}  // after c
remove d
remove e

test \"t\" {
  expect eligible
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    // -- Wrapping ------------------------------------------------------------

    #[test]
    fn long_conditions_break_before_and_and_or() {
        let text = "ruleset t { title \"t\" }
veto v { when any(records where kind = 行政处罚 and within 重大违法回看期 and status in [有效, 已过公示期] and (penalty in 停产停业吊销类别 or (penalty in 罚款类别 and amount >= 较大数额罚款标准) or (penalty = \"较大数额罚款\" and as_of < 统一标准施行日))) or any(records where kind = 行贿犯罪记录 and within 重大违法回看期 and status in [有效, 已过公示期]) }
";
        // The outer `or` breaks before every operator, aligned under the
        // start; the filters fill their first line, then one condition per
        // line, one step in from `records`; bracketed chains align inside.
        let expected = "ruleset t {
  title \"t\"
}

veto v {
  when any(records where kind = 行政处罚 and within 重大违法回看期 and status in [有效, 已过公示期]
             and (penalty in 停产停业吊销类别
                  or (penalty in 罚款类别 and amount >= 较大数额罚款标准)
                  or (penalty = \"较大数额罚款\" and as_of < 统一标准施行日)))
       or any(records where kind = 行贿犯罪记录 and within 重大违法回看期
                and status in [有效, 已过公示期])
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn long_chinese_conditions_break_before_qie_and_huo() {
        let text = "规则集 t { 标题 \"t\" }
提示 f { 条件 （存在(记录 满足 类别 = 行政处罚) 且 计数(记录 满足 类别 = 不良行为记录 且 近 3 年) > 3 且 非 存在(记录 满足 类别 = 表彰奖励)） 或 不存在(记录 满足 类别 = 表彰奖励 且 近 3 年) }
";
        let expected = "规则集 t {
  标题 \"t\"
}

提示 f {
  条件 (存在(记录 满足 类别 = 行政处罚)
        且 计数(记录 满足 类别 = 不良行为记录 且 近 3 年) > 3
        且 非 存在(记录 满足 类别 = 表彰奖励))
       或 不存在(记录 满足 类别 = 表彰奖励 且 近 3 年)
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn long_sums_break_before_plus_and_minus() {
        let text = "规则集 t { 标题 \"t\" }
评分 s { 得分 基础分 - 不良记录扣分 × 计数(记录 满足 类别 = 不良行为记录 且 近 回看期) - 处罚扣分 × 计数(记录 满足 类别 = 行政处罚 且 近 处罚回看期 且 （行业 属于 交通行业 或 认定机关 属于 交通主管部门）) 上限 基础分 }
";
        let expected = "规则集 t {
  标题 \"t\"
}

评分 s {
  得分 基础分
       - 不良记录扣分 * 计数(记录 满足 类别 = 不良行为记录 且 近 回看期)
       - 处罚扣分 * 计数(记录 满足 类别 = 行政处罚 且 近 处罚回看期
                           且 (行业 属于 交通行业 或 认定机关 属于 交通主管部门))
  上限 基础分
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn long_ifs_break_into_if_then_else_lines() {
        let english = "ruleset t { title \"t\" }
score s { points if any(records where kind = 信用等级 and sector = \"水利\" and within 3 years) then table latest(records where kind = 信用等级 and sector = \"水利\", grade) { \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, otherwise: 无等级得分 } else (if any(records where kind = 不良行为记录) then 1 else 2) }
";
        // The table hangs from its own start; the `else if` continues the chain.
        let expected = "ruleset t {
  title \"t\"
}

score s {
  points if any(records where kind = 信用等级 and sector = \"水利\" and within 3 years)
         then table latest(records where kind = 信用等级 and sector = \"水利\", grade) {
                \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, otherwise: 无等级得分
              }
         else if any(records where kind = 不良行为记录)
         then 1
         else 2
}
";
        assert_eq!(fmt_stable(english), expected);
        let chinese = "规则集 t { 标题 \"t\" }
评分 s { 得分 如果 存在(记录 满足 类别 = 信用等级 且 行业 = \"公路\") 则 对照 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) { \"AA\": 3, \"A\": 2, \"B\": 1, \"C\": 0, \"D\": 0, 其他: 0 } 否则 （如果 存在(记录 满足 类别 = 不良行为记录 且 近 回看期) 则 无等级有不良记录 否则 无等级无不良记录） }
";
        let expected = "规则集 t {
  标题 \"t\"
}

评分 s {
  得分 如果 存在(记录 满足 类别 = 信用等级 且 行业 = \"公路\")
       则 对照 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) {
            \"AA\": 3, \"A\": 2, \"B\": 1, \"C\": 0, \"D\": 0, 其他: 0
          }
       否则 如果 存在(记录 满足 类别 = 不良行为记录 且 近 回看期)
       则 无等级有不良记录
       否则 无等级无不良记录
}
";
        assert_eq!(fmt_stable(chinese), expected);
    }

    #[test]
    fn long_tables_fill_their_lines() {
        let text = "ruleset t { title \"t\" }
const grades = table grade { \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, \"D\": 0, \"E\": 0, \"F\": 0, \"G\": 0, \"H\": 0, \"I\": 0, \"J\": 0, otherwise: 0 }
score s { points table latest(records where kind = 信用等级 and sector in 信息化行业, grade) { \"AAA\": 3, \"AA\": 2.5, \"A\": 2, \"BBB\": 1.5, \"BB\": 1, \"B\": 0.5, \"CCC\": 0, \"CC\": 0, \"C\": 0, otherwise: 无等级得分 } }
";
        // A constant's table hangs from the line, a field's from the table.
        let expected = "ruleset t {
  title \"t\"
}

const grades = table grade {
  \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, \"D\": 0, \"E\": 0, \"F\": 0, \"G\": 0, \"H\": 0, \"I\": 0,
  \"J\": 0, otherwise: 0
}

score s {
  points table latest(records where kind = 信用等级 and sector in 信息化行业, grade) {
           \"AAA\": 3, \"AA\": 2.5, \"A\": 2, \"BBB\": 1.5, \"BB\": 1, \"B\": 0.5, \"CCC\": 0, \"CC\": 0, \"C\": 0,
           otherwise: 无等级得分
         }
}
";
        assert_eq!(
            fmt_stable(&text.replace("}\nscore", "}\n\nscore")),
            expected
        );
    }

    #[test]
    fn long_aggregates_break_after_where_and_before_the_value() {
        let text = "ruleset t { title \"t\" }
score s { points sum(records where kind = 行政处罚 and within 回看期, table severity { 严重: -2, 一般: -0.5, otherwise: 0 }) }
score u { points count(records where kind_of_the_record_with_a_long_name = 行政处罚行政处罚行政处罚行政处罚行政处罚 and within 处罚回看期) }
";
        let expected = "ruleset t {
  title \"t\"
}

score s {
  points sum(records where kind = 行政处罚 and within 回看期,
             table severity { 严重: -2, 一般: -0.5, otherwise: 0 })
}
score u {
  points count(records where
                 kind_of_the_record_with_a_long_name = 行政处罚行政处罚行政处罚行政处罚行政处罚
                 and within 处罚回看期)
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn a_comment_after_a_wrapped_field_ends_its_last_line() {
        let text = "ruleset t { title \"t\" }
score s {
  points 基础分 - 扣分 * count(records where kind = 不良行为记录 and within 回看期 and sector in 水务行业 and authority in 部门) // why
  cap 基础分
}
";
        let expected = "ruleset t {
  title \"t\"
}

score s {
  points 基础分
         - 扣分 * count(records where kind = 不良行为记录 and within 回看期 and sector in 水务行业
                          and authority in 部门)  // why
  cap    基础分
}
";
        assert_eq!(fmt_stable(text), expected);
    }

    #[test]
    fn a_line_that_fits_stays_whole() {
        // `  when ` (7 columns) and a condition of 93: exactly 100 columns.
        let fits = format!("x = 1 and {}", "y".repeat(93 - 10));
        assert_eq!(fits.width() + "  when ".width(), WIDTH);
        let text = format!("ruleset t {{ title \"t\" }}\nflag f {{ when {fits} }}\n");
        assert!(fmt_stable(&text).contains(&format!("  when {fits}\n")));
        let text = text.replace(&fits, &format!("{fits}y"));
        assert!(fmt_stable(&text).contains("  when x = 1\n       and yyy"));
    }

    #[test]
    fn strings_are_never_broken() {
        let long = "很长的说明".repeat(12);
        let text = format!(
            "ruleset t {{ title \"t\" }}\nflag f {{ when penalty = \"{long}\" and kind = 行政处罚 }}\n"
        );
        let out = fmt_stable(&text);
        assert!(
            out.contains(&format!(
                "  when penalty = \"{long}\"\n       and kind = 行政处罚\n"
            )),
            "{out}"
        );
    }

    // -- The layout engine -----------------------------------------------------

    /// `a b c …` with a line between the words, as a group or a fill.
    fn words(count: usize, word: &str) -> Vec<Doc> {
        let mut parts = Vec::new();
        for i in 0..count {
            if i > 0 {
                parts.push(Doc::Line);
            }
            parts.push(Doc::text(word));
        }
        parts
    }

    #[test]
    fn a_group_breaks_all_its_lines_or_none() {
        let short = Doc::group(Doc::align(Doc::Concat(words(3, "word"))));
        assert_eq!(render(&short, 0, 0), "word word word");
        let long = Doc::group(Doc::align(Doc::Concat(words(3, &"w".repeat(40)))));
        let w40 = "w".repeat(40);
        assert_eq!(render(&long, 4, 0), format!("{w40}\n    {w40}\n    {w40}"));
    }

    #[test]
    fn a_fill_breaks_only_where_the_next_item_does_not_fit() {
        let w30 = "w".repeat(30);
        let doc = |sticky| Doc::Fill {
            parts: words(5, &w30),
            sticky,
        };
        // Three fit on a line of 100 (30 + 1 + 30 + 1 + 30 = 92), a fourth does not.
        let filled = format!("{w30} {w30} {w30}\n{w30} {w30}");
        assert_eq!(render(&doc(false), 0, 0), filled);
        let sticky = format!("{w30} {w30} {w30}\n{w30}\n{w30}");
        assert_eq!(render(&doc(true), 0, 0), sticky);
    }

    #[test]
    fn what_follows_a_group_counts_towards_its_width() {
        // Flat, the group would fit, but not with the text after it.
        let w45 = "w".repeat(45);
        let group = Doc::group(Doc::Concat(words(2, &w45)));
        let doc = Doc::Concat(vec![group, Doc::text("))))))))))")]);
        assert_eq!(render(&doc, 0, 2), format!("{w45}\n  {w45}))))))))))"));
    }
}
