//! Name resolution and type checking of expressions: syntax-tree `Expr` →
//! typed `IrExpr`. Problems become diagnostics; a sub-expression with an error
//! yields `None` so that one mistake is reported once, not at every parent.

mod scalar;

use super::suggest::{MAX_SUGGESTED_PROBLEMS, closest};
use crate::ast::{Aggregate, BinaryOp, Expr, ExprKind, TableKey, TableValue, UnaryOp};
use crate::context::{CONTEXT_FIELD_NAMES, ContextField};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ir::{Base, FIELD_NAMES, Field, IrExpr, Lit, QueryDef, STATUS_NAMES, Ty};
use crate::record::{RecordKind, Severity};
use crate::source::{SourceFile, Span};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A named constant's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConstValue {
    /// A single value.
    Scalar(Lit),
    /// A list, usable after `in`.
    List(Vec<Lit>),
    /// A definition (`define`, or a clause's `let`): an expression that may
    /// read records, typed once where it is written.
    Defined(std::rc::Rc<Defined>),
    /// A constant whose definition has an error (reported there): uses are not checked.
    Invalid,
}

/// A checked definition. Its queries are kept with it, so each use adds
/// them to the using rule set's query table, where an identical query is
/// the same entry: however often a definition is used, each distinct query
/// is computed once per evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Defined {
    /// The value, with `Query(n)` indexing `queries`.
    pub ir: IrExpr,
    /// Its type.
    pub ty: Ty,
    /// The record queries it reads.
    pub queries: Vec<QueryDef>,
}

/// Copies `ir` with each `Query(n)` (an index into `from`) re-pointed at the
/// same query in `into`, adding the queries `into` does not have yet.
pub(crate) fn relocate(ir: &IrExpr, from: &[QueryDef], into: &mut Vec<QueryDef>) -> IrExpr {
    let again = |e: &IrExpr, into: &mut Vec<QueryDef>| Box::new(relocate(e, from, into));
    match ir {
        IrExpr::Query(q) => {
            let query = &from[*q];
            let index = match into.iter().position(|known| known == query) {
                Some(i) => i,
                None => {
                    into.push(query.clone());
                    into.len() - 1
                }
            };
            IrExpr::Query(index)
        }
        IrExpr::Lit(_)
        | IrExpr::AsOf
        | IrExpr::Context(_)
        | IrExpr::Field(_)
        | IrExpr::Within(_) => ir.clone(),
        IrExpr::Not(e) => IrExpr::Not(again(e, into)),
        IrExpr::Neg(e) => IrExpr::Neg(again(e, into)),
        IrExpr::In(e, items) => IrExpr::In(again(e, into), items.clone()),
        IrExpr::Table(e, rows, d) => IrExpr::Table(again(e, into), rows.clone(), *d),
        IrExpr::Binary(op, a, b) => {
            let a = again(a, into);
            IrExpr::Binary(*op, a, again(b, into))
        }
        IrExpr::If(c, a, b) => {
            let c = again(c, into);
            let a = again(a, into);
            IrExpr::If(c, a, again(b, into))
        }
        IrExpr::Scalar(op, args) => {
            IrExpr::Scalar(*op, args.iter().map(|a| relocate(a, from, into)).collect())
        }
    }
}

/// Constants visible to an expression.
pub(crate) type Constants = HashMap<String, ConstValue>;

/// Types expressions of one rule file.
pub(crate) struct Typer<'a> {
    pub file: &'a SourceFile,
    pub constants: &'a Constants,
    pub queries: &'a mut Vec<QueryDef>,
    pub diagnostics: &'a mut Diagnostics,
}

/// Where an expression stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Inside a record query's filter or value: fields are readable.
    pub in_record: bool,
}

type Typed = Option<(IrExpr, Ty)>;

impl Typer<'_> {
    fn error(&mut self, code: &'static str, message: String, at: Span, help: impl Into<String>) {
        self.diagnostics.push(
            Diagnostic::error(code, message)
                .at(self.file, at)
                .with_help(help),
        );
    }

    /// Runs a suggestion search unless the check already has many problems (then the
    /// search is skipped, which bounds the work a hostile file can cause).
    fn suggest<'n>(&self, search: impl FnOnce() -> Option<&'n str>) -> Option<&'n str> {
        if self.diagnostics.0.len() < MAX_SUGGESTED_PROBLEMS {
            search()
        } else {
            None
        }
    }

    /// Types `expr` and requires a present value of `want`.
    pub fn expect(&mut self, expr: &Expr, ctx: Ctx, want: Base, role: &str) -> Option<IrExpr> {
        let (ir, ty) = self.expr(expr, ctx, Some(want))?;
        if ty.base != want {
            self.error(
                "E0202",
                format!("{role} must be {}, but this is {}", want.describe(), ty),
                expr.span,
                hint_for(want),
            );
            return None;
        }
        if ty.optional {
            self.error(
                "E0205",
                format!("{role} may be missing here"),
                expr.span,
                "give a default with `otherwise` (默认), e.g. `latest(records where …, grade) otherwise \"B\"`",
            );
            return None;
        }
        Some(ir)
    }

    /// Types an expression; `hint` is the type the context expects, used to
    /// word unknown-name errors ("unknown record kind").
    pub fn expr(&mut self, expr: &Expr, ctx: Ctx, hint: Option<Base>) -> Typed {
        let at = expr.span;
        match &expr.kind {
            ExprKind::Bool(b) => Some((IrExpr::Lit(Lit::Bool(*b)), Ty::of(Base::Bool))),
            ExprKind::Number(n) => Some((IrExpr::Lit(Lit::Number(*n)), Ty::of(Base::Number))),
            ExprKind::Text(t) => Some((
                IrExpr::Lit(Lit::Text(t.as_str().into())),
                Ty::of(Base::Text),
            )),
            ExprKind::Date(d) => Some((IrExpr::Lit(Lit::Date(*d)), Ty::of(Base::Date))),
            ExprKind::Duration(d) => Some((IrExpr::Lit(Lit::Duration(*d)), Ty::of(Base::Duration))),
            ExprKind::AsOf => Some((IrExpr::AsOf, Ty::of(Base::Date))),
            ExprKind::Context(written) => self.context(written, at),
            ExprKind::Name(name) => self.name(name, at, ctx, hint),
            ExprKind::List(_) => {
                self.error(
                    "E0207",
                    "a list can only follow `in`".into(),
                    at,
                    "write `kind in [黑名单, 失信被执行人]`",
                );
                None
            }
            ExprKind::Unary(op, inner) => self.unary(*op, inner, ctx),
            ExprKind::Binary(BinaryOp::In, lhs, rhs) => self.membership(lhs, rhs, ctx),
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, ctx, at),
            ExprKind::If(c, a, b) => self.conditional(c, a, b, ctx, at),
            ExprKind::Table {
                key,
                entries,
                default,
            } => self.table(key, entries, default.as_ref(), ctx),
            ExprKind::Aggregate {
                func,
                filter,
                value,
            } => self.aggregate(*func, filter.as_deref(), value.as_deref(), ctx, at),
            ExprKind::Within(duration) => self.within(duration, ctx, at),
            ExprKind::Percent(n) => {
                let value = n.checked_div(Decimal::ONE_HUNDRED).unwrap_or(Decimal::ZERO);
                Some((IrExpr::Lit(Lit::Number(value)), Ty::of(Base::Number)))
            }
            ExprKind::Call(func, args) => self.call(*func, args, ctx, at),
        }
    }

    fn name(&mut self, name: &str, at: Span, ctx: Ctx, hint: Option<Base>) -> Typed {
        if let Some(value) = self.constants.get(name) {
            return match value {
                ConstValue::Scalar(lit) => Some((IrExpr::Lit(lit.clone()), Ty::of(lit.base()))),
                ConstValue::List(_) => {
                    self.error(
                        "E0207",
                        format!("the list `{name}` can only follow `in`"),
                        at,
                        format!("write `kind in {name}`"),
                    );
                    None
                }
                ConstValue::Defined(d) => {
                    if ctx.in_record && !d.queries.is_empty() {
                        self.error(
                            "E0204",
                            format!(
                                "`{name}` reads records, so it cannot be used inside a record query"
                            ),
                            at,
                            "use it outside the query, e.g. `if 处罚数 > 0 then …`",
                        );
                        return None;
                    }
                    let ir = relocate(&d.ir, &d.queries, self.queries);
                    Some((ir, d.ty))
                }
                ConstValue::Invalid => None,
            };
        }
        if let Some(field) = Field::from_name(name) {
            if ctx.in_record {
                return Some((IrExpr::Field(field), field.ty()));
            }
            self.error(
                "E0203",
                format!("the record field `{name}` can only be used inside a record query"),
                at,
                format!("use it in a query, e.g. `count(records where {name} …)`"),
            );
            return None;
        }
        if let Some(kind) = RecordKind::from_name(name) {
            return Some((IrExpr::Lit(Lit::Kind(kind)), Ty::of(Base::Kind)));
        }
        if let Some(severity) = Severity::from_name(name) {
            return Some((IrExpr::Lit(Lit::Severity(severity)), Ty::of(Base::Severity)));
        }
        if let Some((_, status)) = STATUS_NAMES.iter().find(|(n, _)| *n == name) {
            return Some((IrExpr::Lit(Lit::Status(*status)), Ty::of(Base::Status)));
        }
        self.unknown_name(name, at, ctx, hint);
        None
    }

    /// `tender.budget` / `项目.预算`: a tender-context field; never a constant, so
    /// folding leaves it alone.
    fn context(&mut self, written: &str, at: Span) -> Typed {
        let name = ContextField::split(written).unwrap_or(written);
        if let Some(field) = ContextField::from_name(name) {
            return Some((IrExpr::Context(field), field.ty()));
        }
        let prefix = written.split_once('.').map_or("tender", |(p, _)| p);
        let suggestion =
            self.suggest(|| closest(name, CONTEXT_FIELD_NAMES.iter().map(|(n, _)| *n)));
        let help = match suggestion {
            Some(s) => format!("did you mean `{prefix}.{s}`?"),
            None => "the tender context has a project type, a sector and a budget".to_string(),
        };
        self.error(
            "E0201",
            format!("unknown tender context field `{written}`"),
            at,
            help,
        );
        // Names in the prefix's language: `tender.budget`, `项目.预算`.
        let english = prefix.is_ascii();
        let allowed: Vec<String> = CONTEXT_FIELD_NAMES
            .iter()
            .filter(|(n, _)| n.is_ascii() == english)
            .map(|(n, _)| format!("{prefix}.{n}"))
            .collect();
        if let Some(last) = self.diagnostics.0.last_mut() {
            last.notes.push(format!(
                "the allowed tender context fields are: {}",
                allowed.join(", ")
            ));
        }
        None
    }

    fn unknown_name(&mut self, name: &str, at: Span, ctx: Ctx, hint: Option<Base>) {
        let kind_names = || {
            RecordKind::ALL
                .iter()
                .flat_map(|k| [k.label()].into_iter().chain(k.aliases().iter().copied()))
        };
        let (what, suggestion) = match hint {
            Some(Base::Kind) => ("record kind", self.suggest(|| closest(name, kind_names()))),
            Some(Base::Severity) => (
                "severity",
                self.suggest(|| closest(name, Severity::ALL.iter().map(|s| s.label()))),
            ),
            Some(Base::Status) => (
                "status",
                self.suggest(|| closest(name, STATUS_NAMES.iter().map(|(n, _)| *n))),
            ),
            Some(Base::Number | Base::Date | Base::Text | Base::Duration | Base::Bool) => {
                let consts = self.constants.keys().map(String::as_str);
                let fields = FIELD_NAMES
                    .iter()
                    .filter(|_| ctx.in_record)
                    .map(|(n, _)| *n);
                ("name", self.suggest(|| closest(name, consts.chain(fields))))
            }
            None => {
                let consts = self.constants.keys().map(String::as_str);
                let fields = FIELD_NAMES
                    .iter()
                    .filter(|_| ctx.in_record)
                    .map(|(n, _)| *n);
                let all = consts.chain(fields).chain(kind_names());
                ("name", self.suggest(|| closest(name, all)))
            }
        };
        let english = match hint {
            Some(Base::Kind) | None => super::suggest::english_kind(name),
            _ => None,
        };
        let help = match suggestion {
            _ if let Some(glued) = crate::syntax::glued_keyword_help(name) => glued,
            _ if let Some(kind) = english => format!(
                "`{name}` is the English name of the record kind `{}`: write `{}`",
                kind.label(),
                kind.label()
            ),
            None if what == "status" && matches!(name, "revoked" | "已撤销" | "撤销") => {
                "revoked records never count and cannot be queried; statuses are `有效` (active), `已修复` (repaired) and `已过公示期` (expired)".to_string()
            }
            Some(s) => format!("did you mean `{s}`?"),
            None if what == "record kind" => {
                "record kinds are listed in the authoring guide, e.g. `行政处罚`, `失信被执行人`, `黑名单`".to_string()
            }
            None => "define it with `const` (常量), or check the spelling".to_string(),
        };
        let what = if english.is_some() {
            "record kind"
        } else {
            what
        };
        self.error("E0201", format!("unknown {what} `{name}`"), at, help);
        if let Some(allowed) = allowed_values(what, ctx)
            && let Some(last) = self.diagnostics.0.last_mut()
        {
            last.notes.push(allowed);
        }
    }

    fn unary(&mut self, op: UnaryOp, inner: &Expr, ctx: Ctx) -> Typed {
        match op {
            UnaryOp::Not => {
                let ir = self.expect(inner, ctx, Base::Bool, "the operand of `not`")?;
                Some((IrExpr::Not(Box::new(ir)), Ty::of(Base::Bool)))
            }
            UnaryOp::Neg => {
                let (ir, ty) = self.expr(inner, ctx, Some(Base::Number))?;
                if ty.base != Base::Number {
                    self.mismatch("`-`", Base::Number, ty, inner.span);
                    return None;
                }
                Some((IrExpr::Neg(Box::new(ir)), ty))
            }
        }
    }

    fn mismatch(&mut self, role: &str, want: Base, got: Ty, at: Span) {
        self.error(
            "E0202",
            format!("{role} needs {}, but this is {got}", want.describe()),
            at,
            hint_for(want),
        );
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, ctx: Ctx, at: Span) -> Typed {
        use BinaryOp::*;
        match op {
            And | Or => {
                let role = format!("each side of `{}`", op.symbol());
                let a = self.expect(lhs, ctx, Base::Bool, &role);
                let b = self.expect(rhs, ctx, Base::Bool, &role);
                Some((
                    IrExpr::Binary(op, Box::new(a?), Box::new(b?)),
                    Ty::of(Base::Bool),
                ))
            }
            Otherwise => {
                let Some((a, ta)) = self.expr(lhs, ctx, None) else {
                    self.expr(rhs, ctx, None);
                    return None;
                };
                let b = self.expect(rhs, ctx, ta.base, "the default after `otherwise`")?;
                if !ta.optional {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "W0204",
                            "this value is never missing, so `otherwise` has no effect",
                        )
                        .at(self.file, lhs.span)
                        .with_help("remove the `otherwise` part"),
                    );
                }
                Some((
                    IrExpr::Binary(op, Box::new(a), Box::new(b)),
                    Ty::of(ta.base),
                ))
            }
            Eq | Ne | Lt | Le | Gt | Ge => {
                let left = self.expr(lhs, ctx, None);
                let right = self.expr(rhs, ctx, left.as_ref().map(|(_, t)| t.base));
                let ((a, ta), (b, tb)) = (left?, right?);
                if ta.base != tb.base {
                    self.error(
                        "E0202",
                        format!(
                            "cannot compare {} with {}",
                            ta.base.describe(),
                            tb.base.describe()
                        ),
                        at,
                        "both sides of a comparison must be of the same kind",
                    );
                    return None;
                }
                let ordered = matches!(
                    ta.base,
                    Base::Number | Base::Date | Base::Severity | Base::Duration
                );
                if !matches!(op, Eq | Ne) && !ordered {
                    self.error(
                        "E0202",
                        format!("`{}` cannot order {}", op.symbol(), ta.base.describe()),
                        at,
                        "use `=` or `!=`; only numbers, dates, durations and severities have an order",
                    );
                    return None;
                }
                Some((
                    IrExpr::Binary(op, Box::new(a), Box::new(b)),
                    Ty::of(Base::Bool),
                ))
            }
            Contains => {
                let left = self.expr(lhs, ctx, Some(Base::Text));
                let right = self.expect(rhs, ctx, Base::Text, "the text after `contains`");
                let ((a, ta), b) = (left?, right?);
                if ta.base != Base::Text {
                    self.mismatch("the left side of `contains`", Base::Text, ta, lhs.span);
                    return None;
                }
                Some((
                    IrExpr::Binary(op, Box::new(a), Box::new(b)),
                    Ty::of(Base::Bool),
                ))
            }
            Add | Sub => self.additive(op, lhs, rhs, ctx, at),
            Mul | Div => {
                let left = self.number_operand(lhs, ctx, op);
                let right = self.number_operand(rhs, ctx, op);
                let ((a, ta), (b, tb)) = (left?, right?);
                if op == Div && matches!(b, IrExpr::Lit(Lit::Number(n)) if n.is_zero()) {
                    self.error(
                        "E0209",
                        "division by zero".into(),
                        rhs.span,
                        "divide by a number other than 0",
                    );
                    return None;
                }
                let ty = Ty {
                    base: Base::Number,
                    optional: ta.optional || tb.optional,
                };
                Some((IrExpr::Binary(op, Box::new(a), Box::new(b)), ty))
            }
            In => unreachable!("`in` is typed by membership"),
        }
    }

    fn number_operand(&mut self, e: &Expr, ctx: Ctx, op: BinaryOp) -> Typed {
        let (ir, ty) = self.expr(e, ctx, Some(Base::Number))?;
        if ty.base != Base::Number {
            self.mismatch(&format!("`{}`", op.symbol()), Base::Number, ty, e.span);
            return None;
        }
        Some((ir, ty))
    }

    fn additive(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, ctx: Ctx, at: Span) -> Typed {
        let left = self.expr(lhs, ctx, None);
        let right = self.expr(rhs, ctx, None);
        let ((a, ta), (b, tb)) = (left?, right?);
        let optional = ta.optional || tb.optional;
        let base = match (ta.base, tb.base) {
            (Base::Number, Base::Number) => Base::Number,
            (Base::Date, Base::Duration) => Base::Date,
            (Base::Duration, Base::Date) if op == BinaryOp::Add => Base::Date,
            _ => {
                self.error(
                    "E0202",
                    format!(
                        "cannot apply `{}` to {} and {}",
                        op.symbol(),
                        ta.base.describe(),
                        tb.base.describe()
                    ),
                    at,
                    "add or subtract numbers, or a duration to or from a date (`as_of - 3 years`)",
                );
                return None;
            }
        };
        Some((
            IrExpr::Binary(op, Box::new(a), Box::new(b)),
            Ty { base, optional },
        ))
    }

    fn membership(&mut self, lhs: &Expr, rhs: &Expr, ctx: Ctx) -> Typed {
        let left = self.expr(lhs, ctx, None);
        let hint = left.as_ref().map_or(Base::Kind, |(_, t)| t.base);
        let items = match &rhs.kind {
            ExprKind::List(items) => self.list_items(items, hint)?,
            ExprKind::Name(name) => match self.constants.get(name) {
                Some(ConstValue::List(items)) => items.clone(),
                Some(ConstValue::Invalid) => return None,
                _ => {
                    self.error(
                        "E0207",
                        format!("`in` needs a list, but `{name}` is not a list constant"),
                        rhs.span,
                        "write a list in brackets: `kind in [黑名单, 失信被执行人]`",
                    );
                    return None;
                }
            },
            _ => {
                self.error(
                    "E0207",
                    "`in` needs a list".into(),
                    rhs.span,
                    "write a list in brackets: `kind in [黑名单, 失信被执行人]`",
                );
                return None;
            }
        };
        let (a, ta) = left?;
        if let Some(bad) = items.iter().find(|l| l.base() != ta.base) {
            self.error(
                "E0202",
                format!(
                    "the list holds {} but is compared with {}",
                    bad.base().describe(),
                    ta.base.describe()
                ),
                rhs.span,
                "every item of the list must be of the same kind as the left side",
            );
            return None;
        }
        Some((IrExpr::In(Box::new(a), items), Ty::of(Base::Bool)))
    }

    fn list_items(&mut self, items: &[Expr], hint: Base) -> Option<Vec<Lit>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.expr(item, Ctx { in_record: false }, Some(hint)) {
                Some((IrExpr::Lit(lit), _)) => out.push(lit),
                Some(_) => {
                    self.error(
                        "E0208",
                        "list items must be constant values".into(),
                        item.span,
                        "use kinds, texts, numbers or constants in a list",
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn conditional(&mut self, c: &Expr, a: &Expr, b: &Expr, ctx: Ctx, at: Span) -> Typed {
        let c = self.expect(c, ctx, Base::Bool, "the condition after `if`");
        let then = self.expr(a, ctx, None);
        let otherwise = self.expr(b, ctx, then.as_ref().map(|(_, t)| t.base));
        let ((a, ta), (b, tb)) = (then?, otherwise?);
        if ta.base != tb.base {
            self.error(
                "E0202",
                format!(
                    "the `then` branch is {} but the `else` branch is {}",
                    ta.base.describe(),
                    tb.base.describe()
                ),
                at,
                "both branches must give the same kind of value",
            );
            return None;
        }
        let ty = Ty {
            base: ta.base,
            optional: ta.optional || tb.optional,
        };
        Some((IrExpr::If(Box::new(c?), Box::new(a), Box::new(b)), ty))
    }

    fn table(
        &mut self,
        key: &Expr,
        entries: &[(
            crate::ast::Spanned<TableKey>,
            crate::ast::Spanned<TableValue>,
        )],
        default: Option<&crate::ast::Spanned<TableValue>>,
        ctx: Ctx,
    ) -> Typed {
        let (k, tk) = self.expr(key, ctx, None)?;
        let mut rows = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (entry_key, entry_value) in entries {
            let Some(lit) = self.table_key(entry_key, tk.base) else {
                ok = false;
                continue;
            };
            if lit.base() != tk.base {
                self.error(
                    "E0202",
                    format!(
                        "this key is {} but the table looks up {}",
                        lit.base().describe(),
                        tk.base.describe()
                    ),
                    entry_key.span,
                    "write keys of the same kind as the looked-up value, e.g. \"AAA\" for a grade",
                );
                ok = false;
            }
            if rows.iter().any(|(l, _)| *l == lit) {
                self.error(
                    "E0210",
                    format!("the key {} appears twice", entry_key.value),
                    entry_key.span,
                    "keep one entry per key",
                );
                ok = false;
            }
            match self.table_value(entry_value) {
                Some(v) => rows.push((lit, v)),
                None => ok = false,
            }
        }
        let default = match default {
            Some(d) => Some(self.table_value(d)?),
            None => None,
        };
        if !ok {
            return None;
        }
        let ty = Ty {
            base: Base::Number,
            optional: default.is_none(),
        };
        Some((IrExpr::Table(Box::new(k), rows, default), ty))
    }

    fn table_value(&mut self, value: &crate::ast::Spanned<TableValue>) -> Option<Decimal> {
        match &value.value {
            TableValue::Number(n) => Some(*n),
            TableValue::Name(name) => match self.constants.get(name) {
                Some(ConstValue::Scalar(Lit::Number(n))) => Some(*n),
                Some(ConstValue::Invalid) => None,
                _ => {
                    self.error(
                        "E0201",
                        format!("`{name}` is not a number constant"),
                        value.span,
                        "a table value is a number or the name of a number constant",
                    );
                    None
                }
            },
        }
    }

    fn aggregate(
        &mut self,
        func: Aggregate,
        filter: Option<&Expr>,
        value: Option<&Expr>,
        ctx: Ctx,
        at: Span,
    ) -> Typed {
        if ctx.in_record {
            self.error(
                "E0204",
                "a record query cannot be used inside another record query".into(),
                at,
                "compute it in a separate expression or clause",
            );
            return None;
        }
        let record = Ctx { in_record: true };
        let filter_ir = match filter {
            Some(f) => Some(self.expect(f, record, Base::Bool, "a record filter")?),
            None => None,
        };
        let needs_value = matches!(
            func,
            Aggregate::Sum
                | Aggregate::Max
                | Aggregate::Min
                | Aggregate::Latest
                | Aggregate::CountDistinct
        );
        let (value_ir, result) = match (needs_value, value) {
            (false, None) => (None, aggregate_result(func, None)),
            (false, Some(v)) => {
                self.error(
                    "E0206",
                    format!("`{}` takes no value after the query", func.keyword()),
                    v.span,
                    format!("write `{}(records where …)`", func.keyword()),
                );
                return None;
            }
            (true, None) => {
                self.error(
                    "E0206",
                    format!(
                        "`{}` needs the value to compute, after a comma",
                        func.keyword()
                    ),
                    at,
                    format!(
                        "write e.g. `{}(records where kind = 行政处罚, amount)`",
                        func.keyword()
                    ),
                );
                return None;
            }
            (true, Some(v)) => {
                let (ir, ty) = self.expr(v, record, None)?;
                let allowed = match func {
                    Aggregate::Sum => ty.base == Base::Number,
                    Aggregate::Max | Aggregate::Min => matches!(ty.base, Base::Number | Base::Date),
                    _ => true,
                };
                if !allowed {
                    self.error(
                        "E0202",
                        format!("`{}` cannot work on {}", func.keyword(), ty.base.describe()),
                        v.span,
                        "sum numbers; take max or min of numbers or dates",
                    );
                    return None;
                }
                (Some(ir), aggregate_result(func, Some(ty.base)))
            }
        };
        let reads_status = filter_ir
            .as_ref()
            .is_some_and(|f| f.reads_field(Field::Status));
        let query = QueryDef {
            func,
            filter: filter_ir,
            value: value_ir,
            reads_status,
        };
        let index = match self.queries.iter().position(|q| *q == query) {
            Some(i) => i,
            None => {
                self.queries.push(query);
                self.queries.len() - 1
            }
        };
        Some((IrExpr::Query(index), result))
    }

    fn within(&mut self, duration: &Expr, ctx: Ctx, at: Span) -> Typed {
        if !ctx.in_record {
            self.error(
                "E0203",
                "`within` can only be used inside a record query".into(),
                at,
                "write it in a filter: `count(records where kind = 行政处罚 and within 3 years)`",
            );
            return None;
        }
        match self.expr(duration, Ctx { in_record: false }, Some(Base::Duration))? {
            (IrExpr::Lit(Lit::Duration(d)), _) => Some((IrExpr::Within(d), Ty::of(Base::Bool))),
            (_, ty) => {
                self.mismatch("`within`", Base::Duration, ty, duration.span);
                None
            }
        }
    }
}

/// The values a misspelt severity, status or field could have been, as a note.
fn allowed_values(what: &str, ctx: Ctx) -> Option<String> {
    let (plural, names): (&str, Vec<&str>) = match what {
        "severity" => (
            "severities",
            Severity::ALL.iter().map(|s| s.label()).collect(),
        ),
        "status" => ("statuses", STATUS_NAMES.iter().map(|(n, _)| *n).collect()),
        "name" if ctx.in_record => (
            "record fields",
            FIELD_NAMES
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| !n.is_ascii())
                .collect(),
        ),
        _ => return None,
    };
    Some(format!("the allowed {plural} are: {}", names.join(", ")))
}

fn aggregate_result(func: Aggregate, value: Option<Base>) -> Ty {
    match func {
        Aggregate::Count | Aggregate::Sum | Aggregate::CountDistinct => Ty::of(Base::Number),
        Aggregate::Any | Aggregate::None => Ty::of(Base::Bool),
        Aggregate::Max | Aggregate::Min | Aggregate::Latest => {
            Ty::maybe(value.unwrap_or(Base::Number))
        }
    }
}

impl Typer<'_> {
    /// A table key as a constant; names resolve like anywhere else (kinds, severities, constants).
    fn table_key(&mut self, key: &crate::ast::Spanned<TableKey>, hint: Base) -> Option<Lit> {
        Some(match &key.value {
            TableKey::Text(t) => Lit::Text(t.as_str().into()),
            TableKey::Number(n) => Lit::Number(*n),
            TableKey::Bool(b) => Lit::Bool(*b),
            TableKey::Date(d) => Lit::Date(*d),
            TableKey::Duration(d) => Lit::Duration(*d),
            TableKey::Name(name) => {
                match self.name(name, key.span, Ctx { in_record: false }, Some(hint))? {
                    (IrExpr::Lit(lit), _) => lit,
                    _ => return None,
                }
            }
        })
    }
}

fn hint_for(want: Base) -> &'static str {
    match want {
        Base::Bool => {
            "write a condition, e.g. `any(records where kind = 黑名单)` or `count(…) >= 2`"
        }
        Base::Number => {
            "write a number or an expression giving one, e.g. `count(records where …) * 2`"
        }
        Base::Date => "write a date as YYYY-MM-DD or use `as_of`",
        Base::Duration => "write a duration such as `3 years` (3 年) or `6 months` (6 个月)",
        _ => "check the value's kind",
    }
}
