//! The resolved, typed form of expressions that `check` produces, `compile`
//! optimises and `eval` runs: names are resolved to constants, record fields,
//! kinds, severities or statuses, and every node has a static type.

use crate::ast::{Aggregate, BinaryOp, Duration, RoundMode};
use crate::record::{CreditRecord, RecordKind, RecordStatus, Severity};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// The base types of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// 是/否
    Bool,
    /// An exact decimal.
    Number,
    /// Text.
    Text,
    /// A calendar date.
    Date,
    /// A length of time.
    Duration,
    /// A record kind (黑名单 …).
    Kind,
    /// A severity (轻微/一般/严重).
    Severity,
    /// A record status (有效 …).
    Status,
}

impl Base {
    /// How the type is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Base::Bool => "a yes/no condition",
            Base::Number => "a number",
            Base::Text => "a text",
            Base::Date => "a date",
            Base::Duration => "a duration",
            Base::Kind => "a record kind",
            Base::Severity => "a severity",
            Base::Status => "a record status",
        }
    }
}

/// A static type: a base type that may be missing (a record without a
/// severity, `latest` over no records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ty {
    /// The base type.
    pub base: Base,
    /// May the value be missing?
    pub optional: bool,
}

impl Ty {
    /// A type that is always present.
    pub const fn of(base: Base) -> Ty {
        Ty {
            base,
            optional: false,
        }
    }

    /// A type that may be missing.
    pub const fn maybe(base: Base) -> Ty {
        Ty {
            base,
            optional: true,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.describe())?;
        if self.optional {
            f.write_str(" that may be missing")?;
        }
        Ok(())
    }
}

/// A record field readable inside a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Source record id.
    Id,
    /// Record kind.
    Kind,
    /// Decision date (认定日期).
    Date,
    /// End of disclosure (公示截止).
    Until,
    /// Publication date (公示日期); the decision date when the record has none.
    PublishedOn,
    /// End of validity (有效期至), e.g. of a credit grade.
    ValidUntil,
    /// Severity tier.
    Severity,
    /// Sector.
    Sector,
    /// Issuing authority.
    Authority,
    /// Decision document number.
    DocumentNo,
    /// Penalty type (处罚类别).
    Penalty,
    /// Amount in 万元.
    Amount,
    /// Credit grade.
    Grade,
    /// Status on the as-of date.
    Status,
    /// Repair date.
    RepairedOn,
}

/// Field names as policy staff write them: English first, then Chinese.
pub const FIELD_NAMES: &[(&str, Field)] = &[
    ("id", Field::Id),
    ("编号", Field::Id),
    ("kind", Field::Kind),
    ("类别", Field::Kind),
    ("date", Field::Date),
    ("decided_on", Field::Date),
    ("认定日期", Field::Date),
    ("until", Field::Until),
    ("disclosure_until", Field::Until),
    ("公示截止", Field::Until),
    ("公示截止日期", Field::Until),
    ("published", Field::PublishedOn),
    ("published_on", Field::PublishedOn),
    ("公示日期", Field::PublishedOn),
    ("valid_until", Field::ValidUntil),
    ("有效期至", Field::ValidUntil),
    ("severity", Field::Severity),
    ("严重程度", Field::Severity),
    ("sector", Field::Sector),
    ("行业", Field::Sector),
    ("authority", Field::Authority),
    ("认定机关", Field::Authority),
    ("document_no", Field::DocumentNo),
    ("文书号", Field::DocumentNo),
    ("penalty", Field::Penalty),
    ("penalty_type", Field::Penalty),
    ("处罚类别", Field::Penalty),
    ("amount", Field::Amount),
    ("金额", Field::Amount),
    ("grade", Field::Grade),
    ("等级", Field::Grade),
    ("status", Field::Status),
    ("状态", Field::Status),
    ("repaired", Field::RepairedOn),
    ("repaired_on", Field::RepairedOn),
    ("修复日期", Field::RepairedOn),
];

/// Status names usable in queries (`status = 已修复`).
pub const STATUS_NAMES: &[(&str, RecordStatus)] = &[
    ("active", RecordStatus::Active),
    ("有效", RecordStatus::Active),
    ("expired", RecordStatus::Expired),
    ("已过公示期", RecordStatus::Expired),
    ("repaired", RecordStatus::Repaired),
    ("已修复", RecordStatus::Repaired),
    ("已信用修复", RecordStatus::Repaired),
];

impl Field {
    /// Looks a field up by any of its names.
    pub fn from_name(name: &str) -> Option<Field> {
        FIELD_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The field's static type.
    pub fn ty(self) -> Ty {
        match self {
            Field::Id => Ty::of(Base::Text),
            Field::Kind => Ty::of(Base::Kind),
            Field::Date | Field::PublishedOn => Ty::of(Base::Date),
            Field::Status => Ty::of(Base::Status),
            Field::Until | Field::ValidUntil | Field::RepairedOn => Ty::maybe(Base::Date),
            Field::Severity => Ty::maybe(Base::Severity),
            Field::Amount => Ty::maybe(Base::Number),
            Field::Sector
            | Field::Authority
            | Field::DocumentNo
            | Field::Penalty
            | Field::Grade => Ty::maybe(Base::Text),
        }
    }

    /// Reads the field of `record`; `status` is the record's status on the as-of date.
    pub fn read<'a>(self, record: &'a CreditRecord, status: RecordStatus) -> Value<'a> {
        let text = |t: &'a Option<String>| t.as_deref().map_or(Value::Missing, Value::Text);
        let date = |d: Option<NaiveDate>| d.map_or(Value::Missing, Value::Date);
        match self {
            Field::Id => Value::Text(&record.id),
            Field::Kind => Value::Kind(record.kind),
            Field::Date => Value::Date(record.decided_on),
            Field::Until => date(record.disclosure_until),
            Field::PublishedOn => Value::Date(record.published_day()),
            Field::ValidUntil => date(record.valid_until),
            Field::Severity => record.severity.map_or(Value::Missing, Value::Severity),
            Field::Sector => text(&record.sector),
            Field::Authority => text(&record.authority),
            Field::DocumentNo => text(&record.document_no),
            Field::Penalty => text(&record.penalty_type),
            Field::Amount => record.amount.map_or(Value::Missing, Value::Number),
            Field::Grade => text(&record.grade),
            Field::Status => Value::Status(status),
            Field::RepairedOn => date(record.repaired_on),
        }
    }
}

/// A run-time value. Text borrows from the rule set or the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// No value (a record without the field, a query over no records).
    Missing,
    /// Yes/no.
    Bool(bool),
    /// Exact decimal.
    Number(Decimal),
    /// Text.
    Text(&'a str),
    /// Date.
    Date(NaiveDate),
    /// Duration.
    Duration(Duration),
    /// Record kind.
    Kind(RecordKind),
    /// Severity.
    Severity(Severity),
    /// Status.
    Status(RecordStatus),
}

impl Value<'_> {
    /// Ordering between two values of the same type; `None` when they cannot be compared.
    pub fn compare(&self, other: &Value<'_>) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Severity(a), Value::Severity(b)) => Some(a.cmp(b)),
            (Value::Duration(a), Value::Duration(b)) if a.unit == b.unit => {
                Some(a.amount.cmp(&b.amount))
            }
            _ => None,
        }
    }

    /// Equality between two present values; missing is never equal.
    pub fn equals(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Missing, _) | (_, Value::Missing) => false,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Kind(a), Value::Kind(b)) => a == b,
            (Value::Severity(a), Value::Severity(b)) => a == b,
            (Value::Status(a), Value::Status(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("(missing)"),
            Value::Bool(b) => f.write_str(if *b { "是" } else { "否" }),
            Value::Number(n) => write!(f, "{}", n.normalize()),
            Value::Text(t) => f.write_str(t),
            Value::Date(d) => write!(f, "{d}"),
            Value::Duration(d) => write!(f, "{d}"),
            Value::Kind(k) => f.write_str(k.label()),
            Value::Severity(s) => f.write_str(s.label()),
            Value::Status(s) => f.write_str(s.label()),
        }
    }
}

/// An owned constant value stored in a compiled rule set.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// See [`Value`].
    Bool(bool),
    /// See [`Value`].
    Number(Decimal),
    /// See [`Value`].
    Text(Box<str>),
    /// See [`Value`].
    Date(NaiveDate),
    /// See [`Value`].
    Duration(Duration),
    /// See [`Value`].
    Kind(RecordKind),
    /// See [`Value`].
    Severity(Severity),
    /// See [`Value`].
    Status(RecordStatus),
}

impl Lit {
    /// Borrows the literal as a run-time value.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Number(n) => Value::Number(*n),
            Lit::Text(t) => Value::Text(t),
            Lit::Date(d) => Value::Date(*d),
            Lit::Duration(d) => Value::Duration(*d),
            Lit::Kind(k) => Value::Kind(*k),
            Lit::Severity(s) => Value::Severity(*s),
            Lit::Status(s) => Value::Status(*s),
        }
    }

    /// Copies a present run-time value into a literal.
    pub fn from_value(value: Value<'_>) -> Option<Lit> {
        Some(match value {
            Value::Missing => return None,
            Value::Bool(b) => Lit::Bool(b),
            Value::Number(n) => Lit::Number(n),
            Value::Text(t) => Lit::Text(t.into()),
            Value::Date(d) => Lit::Date(d),
            Value::Duration(d) => Lit::Duration(d),
            Value::Kind(k) => Lit::Kind(k),
            Value::Severity(s) => Lit::Severity(s),
            Value::Status(s) => Lit::Status(s),
        })
    }

    /// The literal's type.
    pub fn base(&self) -> Base {
        match self {
            Lit::Bool(_) => Base::Bool,
            Lit::Number(_) => Base::Number,
            Lit::Text(_) => Base::Text,
            Lit::Date(_) => Base::Date,
            Lit::Duration(_) => Base::Duration,
            Lit::Kind(_) => Base::Kind,
            Lit::Severity(_) => Base::Severity,
            Lit::Status(_) => Base::Status,
        }
    }
}

/// A typed, resolved expression.
#[derive(Debug, Clone, PartialEq)]
pub enum IrExpr {
    /// A constant.
    Lit(Lit),
    /// The evaluation date.
    AsOf,
    /// A field of the tender context (missing when not given).
    Context(crate::context::ContextField),
    /// A field of the current record (inside a query only).
    Field(Field),
    /// The record's decision date lies in `[as_of − duration, as_of]`.
    Within(Duration),
    /// Result of query number `.0` of the rule set.
    Query(usize),
    /// `not`
    Not(Box<IrExpr>),
    /// `-`
    Neg(Box<IrExpr>),
    /// Binary operator (not `in`).
    Binary(BinaryOp, Box<IrExpr>, Box<IrExpr>),
    /// `x in [constants]`
    In(Box<IrExpr>, Vec<Lit>),
    /// `if c then a else b`
    If(Box<IrExpr>, Box<IrExpr>, Box<IrExpr>),
    /// A static table lookup; `None` default gives a missing value.
    Table(Box<IrExpr>, Vec<(Lit, Decimal)>, Option<Decimal>),
    /// A scalar function of its arguments (`min`, `max`, `clamp`, `round`).
    Scalar(ScalarOp, Vec<IrExpr>),
}

/// A checked scalar function; evaluated by `fold::scalar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarOp {
    /// The smallest of two or more numbers or dates.
    Min,
    /// The largest of two or more numbers or dates.
    Max,
    /// `[x, lo, hi]`: x, but at least lo and at most hi.
    Clamp,
    /// `[x]` rounded to `places` decimal places.
    Round {
        /// Decimal places kept (0 to 10).
        places: u32,
        /// The rounding of a value exactly half-way.
        mode: RoundMode,
    },
}

/// A record query: which records, and what to compute over them.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDef {
    /// count, any, none, sum, max, min or latest.
    pub func: Aggregate,
    /// Record filter; all visible records when absent.
    pub filter: Option<IrExpr>,
    /// Per-record value (sum, max, min, latest).
    pub value: Option<IrExpr>,
    /// Does the filter read `status`? If not, only active records are visible.
    pub reads_status: bool,
}

impl IrExpr {
    /// Calls `f` on every query index the expression reads.
    pub fn for_each_query(&self, f: &mut impl FnMut(usize)) {
        match self {
            IrExpr::Query(q) => f(*q),
            IrExpr::Lit(_)
            | IrExpr::AsOf
            | IrExpr::Context(_)
            | IrExpr::Field(_)
            | IrExpr::Within(_) => {}
            IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
                e.for_each_query(f)
            }
            IrExpr::Binary(_, a, b) => {
                a.for_each_query(f);
                b.for_each_query(f);
            }
            IrExpr::If(c, a, b) => {
                c.for_each_query(f);
                a.for_each_query(f);
                b.for_each_query(f);
            }
            IrExpr::Scalar(_, args) => args.iter().for_each(|a| a.for_each_query(f)),
        }
    }

    /// Does the expression read a record field (or `within`)?
    pub fn reads_field(&self, field: Field) -> bool {
        match self {
            IrExpr::Field(f) => *f == field,
            IrExpr::Lit(_)
            | IrExpr::AsOf
            | IrExpr::Context(_)
            | IrExpr::Within(_)
            | IrExpr::Query(_) => false,
            IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
                e.reads_field(field)
            }
            IrExpr::Binary(_, a, b) => a.reads_field(field) || b.reads_field(field),
            IrExpr::If(c, a, b) => {
                c.reads_field(field) || a.reads_field(field) || b.reads_field(field)
            }
            IrExpr::Scalar(_, args) => args.iter().any(|a| a.reads_field(field)),
        }
    }
}
