//! The syntax tree of a rule file, as written: names are not yet resolved and
//! types are not yet checked. Every node carries the span of its source text.
//!
//! `Display` prints expressions as s-expressions (`(and (= kind 黑名单) (within 3y))`);
//! snapshots and the version diff use that form because it ignores layout.

use crate::source::Span;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// A value with the span it was written at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

/// A name as written (`行政处罚`, `bad_records`, `city.base`).
pub type Name = Spanned<String>;

/// Which keyword forms a file was written with; `fmt` keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// `ruleset`, `veto`, `when` …
    #[default]
    English,
    /// `规则集`, `否决`, `条件` …
    Chinese,
}

/// A parsed rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetAst {
    /// The header.
    pub header: Header,
    /// Constants, clauses, removals and tests in file order.
    pub items: Vec<Item>,
    /// Keyword forms used by the header.
    pub dialect: Dialect,
}

impl RuleSetAst {
    /// The clauses, in file order.
    pub fn clauses(&self) -> impl Iterator<Item = &Clause> {
        self.items.iter().filter_map(|item| match item {
            Item::Clause(c) => Some(&**c),
            _ => None,
        })
    }

    /// The constants, in file order.
    pub fn constants(&self) -> impl Iterator<Item = &ConstDef> {
        self.items.iter().filter_map(|item| match item {
            Item::Const(c) => Some(c),
            _ => None,
        })
    }

    /// The definitions (`define 名 = …`), in file order.
    pub fn definitions(&self) -> impl Iterator<Item = &ConstDef> {
        self.items.iter().filter_map(|item| match item {
            Item::Define(d) => Some(d),
            _ => None,
        })
    }

    /// The removals of inherited clauses.
    pub fn removals(&self) -> impl Iterator<Item = &Name> {
        self.items.iter().filter_map(|item| match item {
            Item::Remove(n) => Some(n),
            _ => None,
        })
    }

    /// The test blocks.
    pub fn tests(&self) -> impl Iterator<Item = &TestBlock> {
        self.items.iter().filter_map(|item| match item {
            Item::Test(t) => Some(t),
            _ => None,
        })
    }
}

/// The rule-set header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Rule-set id, e.g. `city.base`.
    pub id: Name,
    /// Title.
    pub title: Option<Spanned<String>>,
    /// Sector (行业), e.g. `水务`.
    pub sector: Option<Spanned<String>>,
    /// Version label.
    pub version: Option<Spanned<String>>,
    /// Effective date.
    pub effective: Option<Spanned<NaiveDate>>,
    /// Responsible unit (责任单位).
    pub unit: Option<Spanned<String>>,
    /// Legal basis.
    pub basis: Option<Spanned<String>>,
    /// The rule set this one extends.
    pub extends: Option<Name>,
    /// Declared maximum credit points.
    pub total: Option<Spanned<Decimal>>,
    /// Internal note for the authors (备注); never printed in a tender document.
    pub note: Option<Spanned<String>>,
    /// Where credit records are checked (查询渠道), one line per channel.
    pub channels: Vec<Channel>,
    /// When credit is checked (查询时点).
    pub query_day: Option<Spanned<String>>,
    /// How query results are kept as evidence (查询留存).
    pub query_evidence: Option<Spanned<String>>,
    /// The credit commitment letter bidders sign (信用承诺).
    pub commitment: Option<Spanned<String>>,
    /// How points are rounded (计分舍入); the default when absent.
    pub rounding: Option<Spanned<RoundingPolicy>>,
    /// Legality warnings this rule set accepts, each with its written reason (允许 … 理由 …).
    pub allowances: Vec<Allowance>,
    /// The whole header.
    pub span: Span,
}

/// `allow W0507 because "…"`: a legality warning (W05xx) the rule set accepts for its own
/// clauses, with the reason a reviewer reads in the version diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allowance {
    /// The warning code as written, e.g. `W0507`.
    pub code: Name,
    /// Why the rule set may do what the warning is about.
    pub reason: Spanned<String>,
    /// The whole line.
    pub span: Span,
}

/// `query_channel "site" [kind, …]`: where records of these kinds are checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Channel {
    /// The platform, e.g. `信用中国（www.creditchina.gov.cn）`.
    pub site: Spanned<String>,
    /// Record kinds, as written (labels or codes).
    pub kinds: Vec<Name>,
    /// The whole line.
    pub span: Span,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `const 名 = expr`
    Const(ConstDef),
    /// `define 名 = expr`: a named sub-expression that may read records.
    Define(ConstDef),
    /// `remove 条款`
    Remove(Name),
    /// A clause (boxed: it is much larger than the other items).
    Clause(Box<Clause>),
    /// A test block.
    Test(TestBlock),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Const(c) | Item::Define(c) => c.span,
            Item::Remove(n) => n.span,
            Item::Clause(c) => c.span,
            Item::Test(t) => t.span,
        }
    }
}

/// `name = value`: a named constant (`const`), a rule-set definition
/// (`define`) or a clause's local name (`let`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstDef {
    /// Its name.
    pub name: Name,
    /// Its value (a constant must be constant; a definition may read records).
    pub value: Expr,
    /// The whole definition.
    pub span: Span,
}

/// What a clause does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClauseKind {
    /// Disqualifies when its condition holds (资格审查).
    Veto,
    /// Gives points (评标).
    Score,
    /// Asks for manual review; no effect on eligibility or score.
    Flag,
}

impl ClauseKind {
    /// The English keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ClauseKind::Veto => "veto",
            ClauseKind::Score => "score",
            ClauseKind::Flag => "flag",
        }
    }
}

/// A clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// Marked `mandatory` (only meaningful in a base rule set).
    pub mandatory: bool,
    /// Clause id.
    pub id: Name,
    /// The clause's text in a tender document.
    pub wording: Option<Spanned<String>>,
    /// Its legal basis.
    pub basis: Option<Spanned<String>>,
    /// Internal note for the authors (备注); never printed in a tender document.
    pub note: Option<Spanned<String>>,
    /// Local names (`let 名 = …`) the clause's expressions may use, in written order.
    pub lets: Vec<ConstDef>,
    /// Condition (veto, flag).
    pub when: Option<Expr>,
    /// Points (score).
    pub points: Option<Expr>,
    /// Weight (score); 1 when absent.
    pub weight: Option<Expr>,
    /// Most points (score).
    pub cap: Option<Expr>,
    /// Fewest points (score).
    pub floor: Option<Expr>,
    /// The whole clause.
    pub span: Span,
}

impl Clause {
    /// The clause's expressions: its `let` values in order, then condition,
    /// points, cap, floor and weight.
    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        self.lets.iter().map(|l| &l.value).chain(
            [
                &self.when,
                &self.points,
                &self.cap,
                &self.floor,
                &self.weight,
            ]
            .into_iter()
            .flatten(),
        )
    }
}

/// A test block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBlock {
    /// Its description.
    pub name: Spanned<String>,
    /// Evaluation date.
    pub as_of: Option<Spanned<NaiveDate>>,
    /// The tender call's facts (`context { budget 5000000 }`), `field value` pairs;
    /// empty when the test gives none.
    pub context: Option<Spanned<TestFields>>,
    /// The entity's records.
    pub records: Vec<TestRecord>,
    /// What the outcome must be.
    pub expects: Vec<Spanned<Expectation>>,
    /// The whole block.
    pub span: Span,
}

/// `field value` pairs of a test record or a test's context.
pub type TestFields = Vec<(Name, Spanned<FieldValue>)>;

/// A record written in a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// Record id.
    pub id: Spanned<String>,
    /// `field value` pairs.
    pub fields: Vec<(Name, Spanned<FieldValue>)>,
    /// The whole record.
    pub span: Span,
}

/// A value of a test record field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `2023-01-01`
    Date(NaiveDate),
    /// `5` or `-1.5`
    Number(Decimal),
    /// `"…"`
    Text(String),
    /// A bare name such as `黑名单` or `严重`.
    Name(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Date(d) => write!(f, "{d}"),
            FieldValue::Number(n) => write!(f, "{n}"),
            FieldValue::Text(s) => write!(f, "{s:?}"),
            FieldValue::Name(s) => f.write_str(s),
        }
    }
}

/// One expectation of a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// No veto fired.
    Eligible,
    /// At least one veto fired.
    Disqualified,
    /// This veto fired.
    Veto(String),
    /// This flag fired.
    Flag(String),
    /// This veto did not fire.
    NoVeto(String),
    /// This flag did not fire.
    NoFlag(String),
    /// The total credit score.
    Total(Decimal),
    /// A clause's weighted points.
    Points(String, Decimal),
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `otherwise`
    Otherwise,
    /// `or`
    Or,
    /// `and`
    And,
    /// `in`
    In,
    /// `contains`: the left text has the right one inside it.
    Contains,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator's symbol or English keyword.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Otherwise => "otherwise",
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::In => "in",
            BinaryOp::Contains => "contains",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Binding power: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Otherwise => 8,
            BinaryOp::Or => 2,
            BinaryOp::And => 3,
            BinaryOp::In
            | BinaryOp::Contains
            | BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div => 7,
        }
    }
}

/// Record aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Number of matching records.
    Count,
    /// At least one matching record.
    Any,
    /// No matching record.
    None,
    /// Sum of a per-record value.
    Sum,
    /// Largest per-record value.
    Max,
    /// Smallest per-record value.
    Min,
    /// The value of the most recent matching record.
    Latest,
    /// Number of different per-record values (missing ones not counted).
    CountDistinct,
}

impl Aggregate {
    /// The English keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Any => "any",
            Aggregate::None => "none",
            Aggregate::Sum => "sum",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::Latest => "latest",
            Aggregate::CountDistinct => "count distinct",
        }
    }
}

/// A scalar function over values (not records): `min(a, b)`, `max(a, b)`,
/// `clamp(x, lo, hi)`, `round(x, places, mode)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarFn {
    /// The smallest argument (`min` / `最小`).
    Min,
    /// The largest argument (`max` / `最大`).
    Max,
    /// The first argument held between the second and the third (`clamp` / `限定`).
    Clamp,
    /// The first argument rounded to the second's number of places (`round` / `舍入`).
    Round(RoundMode),
}

impl ScalarFn {
    /// The English keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ScalarFn::Min => "min",
            ScalarFn::Max => "max",
            ScalarFn::Clamp => "clamp",
            ScalarFn::Round(_) => "round",
        }
    }
}

/// How a value exactly between two roundings is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RoundMode {
    /// 四舍五入: half away from zero (2.345 → 2.35, −2.345 → −2.35).
    #[default]
    HalfUp,
    /// 银行家舍入: half to the even digit (2.345 → 2.34, 2.355 → 2.36).
    HalfEven,
}

impl RoundMode {
    /// The English keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RoundMode::HalfUp => "half_up",
            RoundMode::HalfEven => "half_even",
        }
    }

    /// The Chinese keyword.
    pub fn chinese(self) -> &'static str {
        match self {
            RoundMode::HalfUp => "四舍五入",
            RoundMode::HalfEven => "银行家舍入",
        }
    }
}

/// Where a rule set rounds points (`rounding …` / `计分舍入 …` in the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoundingPolicy {
    /// Round each clause's points (`per_clause` / `逐条`) or only the total
    /// (`on_total` / `按总分`).
    pub per_clause: bool,
    /// Decimal places kept.
    pub places: u32,
    /// The rounding of a value exactly half-way.
    pub mode: RoundMode,
}

impl Default for RoundingPolicy {
    /// Each clause to 2 places, half away from zero: the behaviour of every
    /// rule set that declares no rounding.
    fn default() -> Self {
        RoundingPolicy {
            per_clause: true,
            places: 2,
            mode: RoundMode::HalfUp,
        }
    }
}

/// Units of a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DurationUnit {
    /// Calendar years.
    Years,
    /// Calendar months.
    Months,
    /// Days.
    Days,
}

/// A length of time such as `3 years`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: DurationUnit,
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            DurationUnit::Years => "y",
            DurationUnit::Months => "m",
            DurationUnit::Days => "d",
        };
        write!(f, "{}{unit}", self.amount)
    }
}

/// A static table entry's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableKey {
    /// `"AAA"`
    Text(String),
    /// `3`
    Number(Decimal),
    /// `true`
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// A duration.
    Duration(Duration),
    /// A name: a record kind, severity, status or constant.
    Name(String),
}

/// A table value: a number or a constant's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableValue {
    /// `10`
    Number(Decimal),
    /// `满分`
    Name(String),
}

/// Expression shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `true` / `false`
    Bool(bool),
    /// `8.5`
    Number(Decimal),
    /// `"水利"`
    Text(String),
    /// `2019-12-31`
    Date(NaiveDate),
    /// `3 years`
    Duration(Duration),
    /// `as_of`
    AsOf,
    /// `tender.budget` / `项目.预算`: a tender-context field, as written.
    Context(String),
    /// A name: constant, record field, kind, severity or status.
    Name(String),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `not x`, `-x`
    Unary(UnaryOp, Box<Expr>),
    /// `a + b` …
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `table key { "A": 1 … otherwise: 0 }`
    Table {
        /// The looked-up value.
        key: Box<Expr>,
        /// The entries.
        entries: Vec<(Spanned<TableKey>, Spanned<TableValue>)>,
        /// The value when no key matches.
        default: Option<Spanned<TableValue>>,
    },
    /// `count(records where f)`, `sum(records where f, value)`
    Aggregate {
        /// Which aggregate.
        func: Aggregate,
        /// The filter (`where …`); all counting records when absent.
        filter: Option<Box<Expr>>,
        /// The per-record value (sum, max, min, latest).
        value: Option<Box<Expr>>,
    },
    /// `within 3 years` (inside a record filter).
    Within(Box<Expr>),
    /// `5%`: the number as written before the sign (5), worth a hundredth of it.
    Percent(Decimal),
    /// `min(a, b)`, `max(a, b, c)`, `clamp(x, lo, hi)`, `round(x, 2, half_up)`.
    Call(ScalarFn, Vec<Expr>),
}

impl Expr {
    /// A new expression node.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Self { kind, span }
    }

    /// Every name the expression mentions (constants, definitions, fields,
    /// kinds …), the names in its tables included.
    pub fn names(&self) -> std::collections::BTreeSet<&str> {
        let mut out = std::collections::BTreeSet::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Name(n) => {
                    out.insert(n.as_str());
                }
                ExprKind::Table {
                    entries, default, ..
                } => {
                    let values = entries.iter().map(|(_, v)| v).chain(default.iter());
                    for v in values {
                        if let TableValue::Name(n) = &v.value {
                            out.insert(n.as_str());
                        }
                    }
                    for (k, _) in entries {
                        if let TableKey::Name(n) = &k.value {
                            out.insert(n.as_str());
                        }
                    }
                }
                _ => {}
            }
            stack.extend(e.children());
        }
        out
    }

    /// Direct sub-expressions, in order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::Text(_)
            | ExprKind::Date(_)
            | ExprKind::Duration(_)
            | ExprKind::AsOf
            | ExprKind::Context(_)
            | ExprKind::Percent(_)
            | ExprKind::Name(_) => vec![],
            ExprKind::List(items) | ExprKind::Call(_, items) => items.iter().collect(),
            ExprKind::Unary(_, e) | ExprKind::Within(e) => vec![e],
            ExprKind::Binary(_, a, b) => vec![a, b],
            ExprKind::If(c, a, b) => vec![c, a, b],
            ExprKind::Table { key, .. } => vec![key],
            ExprKind::Aggregate { filter, value, .. } => {
                filter.iter().chain(value.iter()).map(|e| &**e).collect()
            }
        }
    }
}

fn fmt_table_value(v: &TableValue) -> String {
    match v {
        TableValue::Number(n) => n.to_string(),
        TableValue::Name(n) => n.clone(),
    }
}

impl fmt::Display for TableKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableKey::Text(s) => write!(f, "{s:?}"),
            TableKey::Number(n) => write!(f, "{n}"),
            TableKey::Bool(b) => write!(f, "{b}"),
            TableKey::Date(d) => write!(f, "{d}"),
            TableKey::Duration(d) => write!(f, "{d}"),
            TableKey::Name(n) => f.write_str(n),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Number(n) => write!(f, "{n}"),
            ExprKind::Text(s) => write!(f, "{s:?}"),
            ExprKind::Date(d) => write!(f, "{d}"),
            ExprKind::Duration(d) => write!(f, "{d}"),
            ExprKind::AsOf => f.write_str("as_of"),
            ExprKind::Context(c) => f.write_str(c),
            ExprKind::Name(n) => f.write_str(n),
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExprKind::Unary(UnaryOp::Not, e) => write!(f, "(not {e})"),
            ExprKind::Unary(UnaryOp::Neg, e) => write!(f, "(neg {e})"),
            ExprKind::Binary(op, a, b) => write!(f, "({} {a} {b})", op.symbol()),
            ExprKind::If(c, a, b) => write!(f, "(if {c} {a} {b})"),
            ExprKind::Table {
                key,
                entries,
                default,
            } => {
                write!(f, "(table {key}")?;
                for (k, v) in entries {
                    write!(f, " ({} {})", k.value, fmt_table_value(&v.value))?;
                }
                if let Some(d) = default {
                    write!(f, " (otherwise {})", fmt_table_value(&d.value))?;
                }
                f.write_str(")")
            }
            ExprKind::Aggregate {
                func,
                filter,
                value,
            } => {
                write!(f, "({} records", func.keyword())?;
                if let Some(filter) = filter {
                    write!(f, " (where {filter})")?;
                }
                if let Some(value) = value {
                    write!(f, " {value}")?;
                }
                f.write_str(")")
            }
            ExprKind::Within(d) => write!(f, "(within {d})"),
            ExprKind::Percent(n) => write!(f, "{n}%"),
            ExprKind::Call(func, args) => {
                write!(f, "({}", func.keyword())?;
                if let ScalarFn::Round(mode) = func {
                    write!(f, " {}", mode.keyword())?;
                }
                for arg in args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}
