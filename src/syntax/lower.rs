//! pest pairs → syntax tree, one function per grammar rule (in the style of
//! tera v1). Operator precedence is folded here with pest's Pratt parser.
//! Problems that the grammar cannot express (a duplicated field, an
//! impossible date, a number too large) are collected as diagnostics.

use super::grammar::Rule;
use super::{MAX_EXPR_DEPTH, MAX_ROUND_PLACES};
use crate::ast::*;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use chrono::NaiveDate;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::LazyLock;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_contains, Assoc::Left)
            | Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        // `otherwise` supplies a default for one value, so it binds tightest:
        // `latest(…) otherwise "B" = "D"` compares the defaulted grade.
        .op(Op::infix(Rule::op_otherwise, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// Lowering state: the file (for diagnostics) and the problems found so far.
struct Lowerer<'f> {
    file: &'f SourceFile,
    diagnostics: Diagnostics,
}

/// Lowers the pairs of a whole file.
pub(super) fn lower_file(
    file: &SourceFile,
    mut pairs: Pairs<'_, Rule>,
) -> Result<RuleSetAst, Diagnostics> {
    let mut lowerer = Lowerer {
        file,
        diagnostics: Diagnostics::new(),
    };
    // INVARIANT: a successful parse of `ruleset_file` yields exactly that pair.
    let top = pairs
        .next()
        .expect("grammar guarantees a ruleset_file pair");
    let ast = lowerer.ruleset_file(top);
    if lowerer.diagnostics.has_errors() {
        Err(lowerer.diagnostics)
    } else {
        Ok(ast)
    }
}

fn span(pair: &Pair<'_, Rule>) -> Span {
    pair.as_span().into()
}

/// Sets an optional field once, reporting a second occurrence.
fn set_once<T>(lowerer: &mut Lowerer<'_>, slot: &mut Option<T>, value: T, what: &str, at: Span) {
    if slot.is_some() {
        lowerer.error(
            "E0010",
            format!("`{what}` is given twice"),
            at,
            "keep one of the two lines",
        );
    } else {
        *slot = Some(value);
    }
}

impl Lowerer<'_> {
    fn error(&mut self, code: &'static str, message: String, at: Span, help: &str) {
        self.diagnostics.push(
            Diagnostic::error(code, message)
                .at(self.file, at)
                .with_help(help),
        );
    }

    fn ruleset_file(&mut self, pair: Pair<'_, Rule>) -> RuleSetAst {
        let mut inner = pair.into_inner();
        // INVARIANT: `ruleset_file = { SOI ~ header ~ item* ~ EOI }`.
        let header_pair = inner.next().expect("grammar guarantees a header");
        let dialect = match header_pair.as_str().starts_with("规则集") {
            true => Dialect::Chinese,
            false => Dialect::English,
        };
        let header = self.header(header_pair);
        let items = inner
            .filter(|p| p.as_rule() != Rule::EOI)
            .map(|p| self.item(p))
            .collect();
        RuleSetAst {
            header,
            items,
            dialect,
        }
    }

    fn header(&mut self, pair: Pair<'_, Rule>) -> Header {
        let mut header = Header {
            span: span(&pair),
            ..Header::default()
        };
        let mut inner = pair.into_inner();
        inner.next(); // kw_ruleset
        let id = inner.next().expect("grammar guarantees a rule-set id");
        header.id = Spanned::new(id.as_str().to_string(), span(&id));
        for field in inner {
            let at = span(&field);
            let rule = field.as_rule();
            if rule == Rule::channel_field {
                header.channels.push(self.channel(field));
                continue;
            }
            if rule == Rule::rounding_field {
                if let Some(policy) = self.rounding(field) {
                    set_once(self, &mut header.rounding, policy, "rounding", at)
                }
                continue;
            }
            if rule == Rule::allow_field {
                header.allowances.push(self.allowance(field));
                continue;
            }
            let value = field
                .into_inner()
                .nth(1)
                .expect("grammar guarantees a value");
            match rule {
                Rule::note_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.note, v, "note", at)
                }
                Rule::query_day_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.query_day, v, "query_day", at)
                }
                Rule::evidence_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.query_evidence, v, "query_evidence", at)
                }
                Rule::commitment_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.commitment, v, "commitment", at)
                }
                Rule::title_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.title, v, "title", at)
                }
                Rule::sector_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.sector, v, "sector", at)
                }
                Rule::version_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.version, v, "version", at)
                }
                Rule::unit_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.unit, v, "unit", at)
                }
                Rule::basis_field => {
                    let v = self.string(value);
                    set_once(self, &mut header.basis, v, "basis", at)
                }
                Rule::effective_field => {
                    if let Some(d) = self.date(&value) {
                        set_once(self, &mut header.effective, d, "effective", at)
                    }
                }
                Rule::extends_field => {
                    let v = Spanned::new(value.as_str().to_string(), span(&value));
                    set_once(self, &mut header.extends, v, "extends", at)
                }
                Rule::total_field => {
                    if let Some(n) = self.decimal(&value) {
                        set_once(self, &mut header.total, n, "total", at)
                    }
                }
                other => unreachable!("{other:?} in header"),
            }
        }
        header
    }

    /// `rounding per_clause 2 half_up` / `计分舍入 按总分 银行家舍入`
    fn rounding(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<RoundingPolicy>> {
        let at = span(&pair);
        let mut policy = RoundingPolicy::default();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::rounding_scope => {
                    policy.per_clause =
                        part.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_per_clause);
                }
                Rule::integer => match part.as_str().parse::<u32>() {
                    Ok(n) if n <= MAX_ROUND_PLACES => policy.places = n,
                    _ => {
                        self.error(
                            "E0014",
                            format!(
                                "cannot round to `{}` decimal places",
                                part.as_str()
                            ),
                            span(&part),
                            "write a whole number of places from 0 to 10, e.g. `rounding per_clause 2 half_up` (计分舍入 逐条 2 四舍五入)",
                        );
                        return None;
                    }
                },
                Rule::round_mode => policy.mode = round_mode(part),
                _ => {} // kw_rounding
            }
        }
        Some(Spanned::new(policy, at))
    }

    /// `allow W0507 because "…"`
    fn allowance(&mut self, pair: Pair<'_, Rule>) -> Allowance {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_allow
        let code = self.name(&inner.next().expect("grammar guarantees a code"));
        inner.next(); // kw_because
        let reason = self.string(inner.next().expect("grammar guarantees a reason"));
        Allowance {
            code,
            reason,
            span: at,
        }
    }

    /// `query_channel "site" [kind, …]`
    fn channel(&mut self, pair: Pair<'_, Rule>) -> Channel {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_query_channel
        let site = self.string(inner.next().expect("grammar guarantees a site"));
        let kinds = inner.map(|kind| self.name(&kind)).collect();
        Channel {
            site,
            kinds,
            span: at,
        }
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Item {
        match pair.as_rule() {
            Rule::const_def => Item::Const(self.const_def(pair)),
            Rule::define_def => Item::Define(self.const_def(pair)),
            Rule::remove_stmt => {
                let name = pair.into_inner().nth(1).expect("grammar guarantees a name");
                Item::Remove(self.name(&name))
            }
            Rule::clause => Item::Clause(Box::new(self.clause(pair))),
            Rule::test_block => Item::Test(self.test_block(pair)),
            other => unreachable!("{other:?} in item"),
        }
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Spanned::new(pair.as_str().to_string(), span(pair))
    }

    fn const_def(&mut self, pair: Pair<'_, Rule>) -> ConstDef {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_const, kw_define or kw_let
        let name = self.name(&inner.next().expect("grammar guarantees a name"));
        let value = self.expr(inner.next().expect("grammar guarantees a value"));
        // End at the value: the pair's span also covers the blanks after it.
        let at = Span::new(at.start, value.span.end.max(name.span.end));
        ConstDef {
            name,
            value,
            span: at,
        }
    }

    fn clause(&mut self, pair: Pair<'_, Rule>) -> Clause {
        let at = span(&pair);
        let mut inner = pair.into_inner().peekable();
        let kind_pair = inner.next().expect("grammar guarantees a clause kind");
        let kind = match kind_pair.into_inner().next().map(|p| p.as_rule()) {
            Some(Rule::kw_veto) => ClauseKind::Veto,
            Some(Rule::kw_score) => ClauseKind::Score,
            Some(Rule::kw_flag) => ClauseKind::Flag,
            other => unreachable!("{other:?} as clause kind"),
        };
        let mandatory = inner.next_if(|p| p.as_rule() == Rule::mandatory).is_some();
        let id = self.name(&inner.next().expect("grammar guarantees a clause id"));
        let mut clause = Clause {
            kind,
            mandatory,
            id,
            wording: None,
            basis: None,
            note: None,
            lets: Vec::new(),
            when: None,
            points: None,
            weight: None,
            cap: None,
            floor: None,
            span: at,
        };
        for field in inner {
            self.clause_field(&mut clause, field);
        }
        clause
    }

    fn clause_field(&mut self, clause: &mut Clause, field: Pair<'_, Rule>) {
        let at = span(&field);
        let rule = field.as_rule();
        if rule == Rule::let_field {
            let local = self.const_def(field);
            clause.lets.push(local);
            return;
        }
        let value = field
            .into_inner()
            .nth(1)
            .expect("grammar guarantees a value");
        match rule {
            Rule::wording_field => {
                let v = self.string(value);
                set_once(self, &mut clause.wording, v, "wording", at)
            }
            Rule::basis_field => {
                let v = self.string(value);
                set_once(self, &mut clause.basis, v, "basis", at)
            }
            Rule::note_field => {
                let v = self.string(value);
                set_once(self, &mut clause.note, v, "note", at)
            }
            _ => {
                let (slot, what) = match rule {
                    Rule::when_field => (&mut clause.when, "when"),
                    Rule::points_field => (&mut clause.points, "points"),
                    Rule::weight_field => (&mut clause.weight, "weight"),
                    Rule::cap_field => (&mut clause.cap, "cap"),
                    Rule::floor_field => (&mut clause.floor, "floor"),
                    other => unreachable!("{other:?} in clause"),
                };
                let expr = self.expr(value);
                set_once(self, slot, expr, what, at);
            }
        }
    }

    fn test_block(&mut self, pair: Pair<'_, Rule>) -> TestBlock {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_test
        let name = self.string(inner.next().expect("grammar guarantees a test name"));
        let mut block = TestBlock {
            name,
            as_of: None,
            context: None,
            records: Vec::new(),
            expects: Vec::new(),
            span: at,
        };
        for item in inner {
            let item_span = span(&item);
            match item.as_rule() {
                Rule::test_as_of => {
                    let date = item.into_inner().nth(1).expect("grammar guarantees a date");
                    if let Some(d) = self.date(&date) {
                        set_once(self, &mut block.as_of, d, "as_of", item_span);
                    }
                }
                Rule::test_record => block.records.push(self.test_record(item)),
                Rule::test_context => {
                    let mut inner = item.into_inner();
                    inner.next(); // kw_context
                    let fields = inner.filter_map(|f| self.record_field(f)).collect();
                    set_once(
                        self,
                        &mut block.context,
                        Spanned::new(fields, item_span),
                        "context",
                        item_span,
                    );
                }
                Rule::test_expect => {
                    let expectation = item.into_inner().nth(1).expect("grammar guarantees it");
                    if let Some(e) = self.expectation(expectation) {
                        block.expects.push(Spanned::new(e, item_span));
                    }
                }
                other => unreachable!("{other:?} in test"),
            }
        }
        block
    }

    /// One `field value` pair of a test record or context.
    fn record_field(&mut self, field: Pair<'_, Rule>) -> Option<(Name, Spanned<FieldValue>)> {
        let mut parts = field.into_inner();
        let key = self.name(&parts.next().expect("grammar guarantees a key"));
        let value_pair = parts.next().expect("grammar guarantees a value");
        let value_span = span(&value_pair);
        let value = match value_pair.as_rule() {
            Rule::date => self.date(&value_pair).map(|d| FieldValue::Date(d.value)),
            Rule::signed_number => self
                .decimal(&value_pair)
                .map(|n| FieldValue::Number(n.value)),
            Rule::string => Some(FieldValue::Text(self.string(value_pair).value)),
            Rule::name => Some(FieldValue::Name(value_pair.as_str().to_string())),
            other => unreachable!("{other:?} as record value"),
        };
        value.map(|value| (key, Spanned::new(value, value_span)))
    }

    fn test_record(&mut self, pair: Pair<'_, Rule>) -> TestRecord {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_record
        let id_pair = inner.next().expect("grammar guarantees a record id");
        let id = match id_pair.as_rule() {
            Rule::string => self.string(id_pair),
            _ => self.name(&id_pair),
        };
        let mut fields = Vec::new();
        for field in inner {
            if let Some(pair) = self.record_field(field) {
                fields.push(pair);
            }
        }
        TestRecord {
            id,
            fields,
            span: at,
        }
    }

    fn expectation(&mut self, pair: Pair<'_, Rule>) -> Option<Expectation> {
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        inner.next(); // keyword
        Some(match rule {
            Rule::expect_eligible => Expectation::Eligible,
            Rule::expect_disqualified => Expectation::Disqualified,
            Rule::expect_veto => Expectation::Veto(inner.next()?.as_str().to_string()),
            Rule::expect_flag => Expectation::Flag(inner.next()?.as_str().to_string()),
            Rule::expect_no_veto => Expectation::NoVeto(inner.nth(1)?.as_str().to_string()),
            Rule::expect_no_flag => Expectation::NoFlag(inner.nth(1)?.as_str().to_string()),
            Rule::expect_total => Expectation::Total(self.decimal(&inner.next()?)?.value),
            Rule::expect_points => {
                let id = inner.next()?.as_str().to_string();
                Expectation::Points(id, self.decimal(&inner.next()?)?.value)
            }
            other => unreachable!("{other:?} as expectation"),
        })
    }

    /// Lowers an `expr` pair; a too-deep tree becomes a diagnostic and a
    /// placeholder `false` so lowering can go on.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        match self.fold(pair) {
            Ok((expr, _)) => expr,
            Err(d) => {
                self.diagnostics.push(*d);
                Expr::new(ExprKind::Bool(false), at)
            }
        }
    }

    /// Folds an `expr` pair's flat operand/operator list by precedence,
    /// tracking tree depth so later recursive stages stay bounded.
    fn fold(&mut self, pair: Pair<'_, Rule>) -> Folded {
        let file = self.file.clone();
        // The Pratt parser recurses once per prefix operator: bound the runs.
        if let Some(at) = long_prefix_run(&pair) {
            return Err(Box::new(
                Diagnostic::error(
                    "E0003",
                    format!("more than {MAX_PREFIX_RUN} `not` or `-` in a row"),
                )
                .at(&file, at)
                .with_help("two `not`s cancel out: remove them in pairs"),
            ));
        }
        let this = std::cell::RefCell::new(self);
        PRATT
            .map_primary(|p| this.borrow_mut().primary(p))
            .map_prefix(|op, rhs| {
                let (rhs, depth) = rhs?;
                let op_kind = match op.as_rule() {
                    Rule::op_not => UnaryOp::Not,
                    _ => UnaryOp::Neg,
                };
                let at = span(&op).to(rhs.span);
                deepen(
                    &file,
                    Expr::new(ExprKind::Unary(op_kind, Box::new(rhs)), at),
                    depth,
                )
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, ldepth) = lhs?;
                let (rhs, rdepth) = rhs?;
                let at = lhs.span.to(rhs.span);
                let kind = ExprKind::Binary(binary_op(op.as_rule()), Box::new(lhs), Box::new(rhs));
                deepen(&file, Expr::new(kind, at), ldepth.max(rdepth))
            })
            .parse(pair.into_inner())
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Folded {
        let at = span(&pair);
        let leaf = |kind| Ok((Expr::new(kind, at), 1));
        match pair.as_rule() {
            Rule::expr => self.fold(pair),
            Rule::number => match self.decimal(&pair) {
                Some(n) => leaf(ExprKind::Number(n.value)),
                None => leaf(ExprKind::Number(Decimal::ZERO)),
            },
            Rule::percent => {
                let digits = pair.as_str().trim_end_matches(['%', '％']);
                match Decimal::from_str(digits) {
                    Ok(n) => leaf(ExprKind::Percent(n)),
                    Err(_) => {
                        self.error(
                            "E0012",
                            format!("the number `{}` is too large or too precise", pair.as_str()),
                            at,
                            "numbers may have at most 28 significant digits",
                        );
                        leaf(ExprKind::Percent(Decimal::ZERO))
                    }
                }
            }
            Rule::scalar_call | Rule::round_call => self.call(pair),
            Rule::date => match self.date(&pair) {
                Some(d) => leaf(ExprKind::Date(d.value)),
                None => leaf(ExprKind::Bool(false)),
            },
            Rule::duration => match self.duration(pair) {
                Some(d) => leaf(ExprKind::Duration(d)),
                None => leaf(ExprKind::Bool(false)),
            },
            Rule::string => leaf(ExprKind::Text(self.string(pair).value)),
            Rule::boolean => {
                let truth = pair.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_true);
                leaf(ExprKind::Bool(truth))
            }
            Rule::as_of => leaf(ExprKind::AsOf),
            Rule::context_ref => leaf(ExprKind::Context(pair.as_str().to_string())),
            Rule::name => leaf(ExprKind::Name(pair.as_str().to_string())),
            Rule::list => {
                let mut depth = 0;
                let mut items = Vec::new();
                for item in pair.into_inner() {
                    let (e, d) = self.fold(item)?;
                    depth = depth.max(d);
                    items.push(e);
                }
                deepen(
                    &self.file.clone(),
                    Expr::new(ExprKind::List(items), at),
                    depth,
                )
            }
            Rule::within => {
                let operand = pair
                    .into_inner()
                    .nth(1)
                    .expect("grammar guarantees a duration");
                let (e, d) = self.primary(operand)?;
                deepen(
                    &self.file.clone(),
                    Expr::new(ExprKind::Within(Box::new(e)), at),
                    d,
                )
            }
            Rule::if_expr => {
                let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let (c, dc) = self.fold(parts.next().expect("grammar guarantees a condition"))?;
                let (a, da) = self.fold(parts.next().expect("grammar guarantees a then branch"))?;
                let (b, db) =
                    self.fold(parts.next().expect("grammar guarantees an else branch"))?;
                // The pair's span runs over the blanks after the else branch; end at the branch.
                let at = Span::new(at.start, b.span.end);
                let kind = ExprKind::If(Box::new(c), Box::new(a), Box::new(b));
                deepen(&self.file.clone(), Expr::new(kind, at), dc.max(da).max(db))
            }
            Rule::table_expr => self.table(pair),
            Rule::aggregate => self.aggregate(pair),
            other => unreachable!("{other:?} as primary"),
        }
    }

    /// `min(a, b, …)`, `max(…)`, `clamp(x, lo, hi)`, `round(x, places, mode)`.
    fn call(&mut self, pair: Pair<'_, Rule>) -> Folded {
        let at = span(&pair);
        let mut func = ScalarFn::Min;
        let mut unnamed_mode = pair.as_rule() == Rule::round_call;
        let mut args = Vec::new();
        let mut depth = 0;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::scalar_fn => {
                    func = match part.into_inner().next().map(|p| p.as_rule()) {
                        Some(Rule::kw_max) => ScalarFn::Max,
                        Some(Rule::kw_clamp) => ScalarFn::Clamp,
                        _ => ScalarFn::Min,
                    }
                }
                Rule::round_mode => {
                    unnamed_mode = false;
                    func = ScalarFn::Round(round_mode(part));
                }
                Rule::expr => {
                    let (e, d) = self.fold(part)?;
                    depth = depth.max(d);
                    args.push(e);
                }
                Rule::kw_round => func = ScalarFn::Round(RoundMode::HalfUp),
                _ => {}
            }
        }
        if unnamed_mode {
            self.error(
                "E0233",
                "`round` needs its rounding mode named".to_string(),
                at,
                "add the mode after the places: `round(x, 2, half_up)` (舍入(x, 2, 四舍五入)) or `half_even` (银行家舍入)",
            );
        }
        deepen(
            &self.file.clone(),
            Expr::new(ExprKind::Call(func, args), at),
            depth,
        )
    }

    fn table(&mut self, pair: Pair<'_, Rule>) -> Folded {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_table
        let (key, depth) = self.fold(inner.next().expect("grammar guarantees a key"))?;
        let mut entries = Vec::new();
        let mut default = None;
        for part in inner {
            match part.as_rule() {
                Rule::table_entry => {
                    let mut kv = part.into_inner();
                    let k = kv.next().expect("grammar guarantees a key");
                    let v = kv.next().expect("grammar guarantees a value");
                    if let (Some(k), Some(v)) = (self.table_key(k), self.table_value(v)) {
                        entries.push((k, v));
                    }
                }
                Rule::table_default => {
                    let v = part
                        .into_inner()
                        .nth(1)
                        .expect("grammar guarantees a value");
                    default = self.table_value(v);
                }
                other => unreachable!("{other:?} in table"),
            }
        }
        let kind = ExprKind::Table {
            key: Box::new(key),
            entries,
            default,
        };
        deepen(&self.file.clone(), Expr::new(kind, at), depth)
    }

    fn table_key(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<TableKey>> {
        let at = span(&pair);
        let key = match pair.as_rule() {
            Rule::string => TableKey::Text(self.string(pair).value),
            Rule::number => TableKey::Number(self.decimal(&pair)?.value),
            Rule::date => TableKey::Date(self.date(&pair)?.value),
            Rule::duration => TableKey::Duration(self.duration(pair)?),
            Rule::name => TableKey::Name(pair.as_str().to_string()),
            Rule::boolean => {
                TableKey::Bool(pair.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_true))
            }
            other => unreachable!("{other:?} as table key"),
        };
        Some(Spanned::new(key, at))
    }

    fn table_value(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<TableValue>> {
        let at = span(&pair);
        let value = match pair.as_rule() {
            Rule::signed_number => TableValue::Number(self.decimal(&pair)?.value),
            Rule::name => TableValue::Name(pair.as_str().to_string()),
            other => unreachable!("{other:?} as table value"),
        };
        Some(Spanned::new(value, at))
    }

    fn aggregate(&mut self, pair: Pair<'_, Rule>) -> Folded {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        let func_pair = inner.next().expect("grammar guarantees an aggregate name");
        let func = match func_pair.into_inner().next().map(|p| p.as_rule()) {
            Some(Rule::kw_count) => Aggregate::Count,
            Some(Rule::kw_any) => Aggregate::Any,
            Some(Rule::kw_none) => Aggregate::None,
            Some(Rule::kw_sum) => Aggregate::Sum,
            Some(Rule::kw_max) => Aggregate::Max,
            Some(Rule::kw_min) => Aggregate::Min,
            Some(Rule::kw_latest) => Aggregate::Latest,
            Some(Rule::count_distinct) => Aggregate::CountDistinct,
            other => unreachable!("{other:?} as aggregate"),
        };
        let query = inner.next().expect("grammar guarantees a query");
        let mut depth = 0;
        let filter = match query.into_inner().find(|p| p.as_rule() == Rule::expr) {
            Some(f) => {
                let (e, d) = self.fold(f)?;
                depth = d;
                Some(Box::new(e))
            }
            None => None,
        };
        let value = match inner.next() {
            Some(v) => {
                let (e, d) = self.fold(v)?;
                depth = depth.max(d);
                Some(Box::new(e))
            }
            None => None,
        };
        let kind = ExprKind::Aggregate {
            func,
            filter,
            value,
        };
        deepen(&self.file.clone(), Expr::new(kind, at), depth)
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let at = span(&pair);
        let Some(body_pair) = pair.into_inner().next() else {
            return Spanned::new(String::new(), at);
        };
        let body = body_pair.as_str();
        // “…” strings have no escapes: a backslash is just a character.
        if body_pair.as_rule() == Rule::cn_string_body {
            return Spanned::new(body.to_string(), at);
        }
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        Spanned::new(out, at)
    }

    fn date(&mut self, pair: &Pair<'_, Rule>) -> Option<Spanned<NaiveDate>> {
        match NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d") {
            Ok(d) => Some(Spanned::new(d, span(pair))),
            Err(_) => {
                self.error(
                    "E0011",
                    format!("`{}` is not a real date", pair.as_str()),
                    span(pair),
                    "write a calendar date as YYYY-MM-DD, e.g. 2019-12-31",
                );
                None
            }
        }
    }

    fn decimal(&mut self, pair: &Pair<'_, Rule>) -> Option<Spanned<Decimal>> {
        match Decimal::from_str(pair.as_str()) {
            Ok(n) => Some(Spanned::new(n, span(pair))),
            Err(_) => {
                self.error(
                    "E0012",
                    format!("the number `{}` is too large or too precise", pair.as_str()),
                    span(pair),
                    "numbers may have at most 28 significant digits",
                );
                None
            }
        }
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> Option<Duration> {
        let at = span(&pair);
        let mut inner = pair.into_inner();
        let amount_pair = inner.next().expect("grammar guarantees an amount");
        let unit_pair = inner.next().expect("grammar guarantees a unit");
        let unit = match unit_pair.into_inner().next().map(|p| p.as_rule()) {
            Some(Rule::unit_years) => DurationUnit::Years,
            Some(Rule::unit_months) => DurationUnit::Months,
            _ => DurationUnit::Days,
        };
        let limit = match unit {
            DurationUnit::Years => 200,
            DurationUnit::Months => 2400,
            DurationUnit::Days => 73_000,
        };
        match amount_pair.as_str().parse::<u32>() {
            Ok(amount) if amount <= limit => Some(Duration { amount, unit }),
            _ => {
                self.error(
                    "E0013",
                    format!("the duration `{}` is too long", amount_pair.as_str()),
                    at,
                    "a window is at most 200 years (2400 months, 73000 days)",
                );
                None
            }
        }
    }
}

/// The most prefix operators accepted in a row.
const MAX_PREFIX_RUN: usize = 8;

/// The span of the first run of more than [`MAX_PREFIX_RUN`] prefix operators.
fn long_prefix_run(pair: &Pair<'_, Rule>) -> Option<Span> {
    let mut run = 0;
    for child in pair.clone().into_inner() {
        match child.as_rule() {
            Rule::op_not | Rule::op_neg => {
                run += 1;
                if run > MAX_PREFIX_RUN {
                    return Some(span(&child));
                }
            }
            _ => run = 0,
        }
    }
    None
}

/// A folded expression with its depth, or the reason it was refused.
type Folded = Result<(Expr, u32), Box<Diagnostic>>;

fn deepen(file: &SourceFile, expr: Expr, child_depth: u32) -> Folded {
    let depth = child_depth + 1;
    if depth > MAX_EXPR_DEPTH {
        return Err(Box::new(
            Diagnostic::error(
                "E0003",
                format!("expression nested deeper than {MAX_EXPR_DEPTH} levels"),
            )
            .at(file, expr.span)
            .with_help("split the expression into named constants or simpler clauses"),
        ));
    }
    Ok((expr, depth))
}

/// `half_up` (四舍五入) or `half_even` (银行家舍入).
fn round_mode(pair: Pair<'_, Rule>) -> RoundMode {
    match pair.into_inner().next().map(|p| p.as_rule()) {
        Some(Rule::kw_half_even) => RoundMode::HalfEven,
        _ => RoundMode::HalfUp,
    }
}

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::op_otherwise => BinaryOp::Otherwise,
        Rule::op_or => BinaryOp::Or,
        Rule::op_and => BinaryOp::And,
        Rule::op_in => BinaryOp::In,
        Rule::op_contains => BinaryOp::Contains,
        Rule::op_eq => BinaryOp::Eq,
        Rule::op_ne => BinaryOp::Ne,
        Rule::op_lt => BinaryOp::Lt,
        Rule::op_le => BinaryOp::Le,
        Rule::op_gt => BinaryOp::Gt,
        Rule::op_ge => BinaryOp::Ge,
        Rule::op_add => BinaryOp::Add,
        Rule::op_sub => BinaryOp::Sub,
        Rule::op_mul => BinaryOp::Mul,
        Rule::op_div => BinaryOp::Div,
        other => unreachable!("{other:?} as binary operator"),
    }
}
