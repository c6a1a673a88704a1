//! Constant folding, and the value operations it shares with the evaluator.
//!
//! An expression that reads no record, query or evaluation date has one value
//! for every entity: the checker computes constants and the rules' bounds with
//! [`const_eval`], the compiler replaces such sub-expressions by their value
//! with [`fold`]. The operations on values (comparison, arithmetic, date
//! shifts, membership, table lookup) live here so that the evaluator and the
//! folder give the same answer by construction; `eval` builds on this module,
//! `check` needs nothing from `eval`, and `compile` only its compiled
//! expression form (`eval::code`).

use crate::ast::{BinaryOp, Duration, DurationUnit};
use crate::ir::{IrExpr, Lit, Value};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::cmp::Ordering;

pub(crate) mod scalar;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum EvalError {
    /// Occurs when a result exceeds the decimal range (about 7.9 × 10^28).
    #[error("a number grew too large")]
    Overflow,
    /// Occurs when dividing by a value that is 0 for this entity.
    #[error("division by zero")]
    DivisionByZero,
    /// Occurs when a date moves outside the supported calendar.
    #[error("a date fell outside the calendar")]
    DateOutOfRange,
}

/// Evaluates an expression without records or date; `Ok(None)` when it is not
/// constant (or its value is missing).
pub(crate) fn const_eval(expr: &IrExpr) -> Result<Option<Lit>, EvalError> {
    if !is_constant(expr) {
        return Ok(None);
    }
    Ok(Lit::from_value(value_of(expr)?))
}

/// Replaces constant sub-expressions by their value.
pub(crate) fn fold(expr: IrExpr) -> IrExpr {
    let expr = match expr {
        IrExpr::Not(e) => IrExpr::Not(Box::new(fold(*e))),
        IrExpr::Neg(e) => IrExpr::Neg(Box::new(fold(*e))),
        IrExpr::Binary(op, a, b) => IrExpr::Binary(op, Box::new(fold(*a)), Box::new(fold(*b))),
        IrExpr::In(e, items) => IrExpr::In(Box::new(fold(*e)), items),
        IrExpr::If(c, a, b) => {
            IrExpr::If(Box::new(fold(*c)), Box::new(fold(*a)), Box::new(fold(*b)))
        }
        IrExpr::Table(k, rows, d) => IrExpr::Table(Box::new(fold(*k)), rows, d),
        IrExpr::Scalar(op, args) => IrExpr::Scalar(op, args.into_iter().map(fold).collect()),
        leaf => return leaf,
    };
    match const_eval(&expr) {
        Ok(Some(lit)) => IrExpr::Lit(lit),
        _ => expr,
    }
}

fn is_constant(expr: &IrExpr) -> bool {
    match expr {
        IrExpr::Lit(_) => true,
        IrExpr::AsOf
        | IrExpr::Context(_)
        | IrExpr::Field(_)
        | IrExpr::Within(_)
        | IrExpr::Query(_) => false,
        IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
            is_constant(e)
        }
        IrExpr::Binary(_, a, b) => is_constant(a) && is_constant(b),
        IrExpr::If(c, a, b) => is_constant(c) && is_constant(a) && is_constant(b),
        IrExpr::Scalar(_, args) => args.iter().all(is_constant),
    }
}

/// The value of a constant expression (see [`is_constant`]).
fn value_of(expr: &IrExpr) -> Result<Value<'_>, EvalError> {
    Ok(match expr {
        IrExpr::Lit(lit) => lit.as_value(),
        IrExpr::AsOf
        | IrExpr::Context(_)
        | IrExpr::Field(_)
        | IrExpr::Within(_)
        | IrExpr::Query(_) => Value::Missing,
        IrExpr::Not(e) => not(value_of(e)?),
        IrExpr::Neg(e) => neg(value_of(e)?),
        IrExpr::Binary(op, a, b) => match op {
            BinaryOp::And => Value::Bool(is_true(value_of(a)?) && is_true(value_of(b)?)),
            BinaryOp::Or => Value::Bool(is_true(value_of(a)?) || is_true(value_of(b)?)),
            BinaryOp::Otherwise => match value_of(a)? {
                Value::Missing => value_of(b)?,
                v => v,
            },
            _ => strict_binary(*op, value_of(a)?, value_of(b)?)?,
        },
        IrExpr::In(e, items) => member(value_of(e)?, items),
        IrExpr::If(c, a, b) => match is_true(value_of(c)?) {
            true => value_of(a)?,
            false => value_of(b)?,
        },
        IrExpr::Table(key, rows, default) => lookup(value_of(key)?, rows, *default),
        IrExpr::Scalar(op, args) => scalar::apply(*op, args.iter().map(value_of))?,
    })
}

/// Is the value a present `true`?
pub(crate) fn is_true(v: Value<'_>) -> bool {
    matches!(v, Value::Bool(true))
}

/// `not v`; missing stays missing.
pub(crate) fn not(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        _ => Value::Missing,
    }
}

/// `-v`; missing stays missing.
pub(crate) fn neg(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Number(n) => Value::Number(-n),
        _ => Value::Missing,
    }
}

/// `v in [items]`: false for a missing value.
pub(crate) fn member<'a>(v: Value<'a>, items: &[Lit]) -> Value<'a> {
    Value::Bool(items.iter().any(|item| v.equals(&item.as_value())))
}

/// A table row's points for `key`, else the default, else missing.
pub(crate) fn lookup<'a>(
    key: Value<'_>,
    rows: &[(Lit, Decimal)],
    default: Option<Decimal>,
) -> Value<'a> {
    rows.iter()
        .find(|(lit, _)| key.equals(&lit.as_value()))
        .map(|(_, v)| Value::Number(*v))
        .or(default.map(Value::Number))
        .unwrap_or(Value::Missing)
}

/// A binary operator that needs both operands (every one but `and`, `or`,
/// `otherwise` and `in`): comparisons and `contains` with a missing value are false,
/// arithmetic with one is missing.
pub(crate) fn strict_binary<'a>(
    op: BinaryOp,
    x: Value<'a>,
    y: Value<'a>,
) -> Result<Value<'a>, EvalError> {
    use BinaryOp::*;
    if matches!(x, Value::Missing) || matches!(y, Value::Missing) {
        return Ok(match op {
            Eq | Ne | Lt | Le | Gt | Ge | Contains => Value::Bool(false),
            _ => Value::Missing,
        });
    }
    Ok(match op {
        Eq => Value::Bool(x.equals(&y)),
        Ne => Value::Bool(!x.equals(&y)),
        Lt => Value::Bool(x.compare(&y) == Some(Ordering::Less)),
        Le => Value::Bool(matches!(
            x.compare(&y),
            Some(Ordering::Less | Ordering::Equal)
        )),
        Gt => Value::Bool(x.compare(&y) == Some(Ordering::Greater)),
        Ge => Value::Bool(matches!(
            x.compare(&y),
            Some(Ordering::Greater | Ordering::Equal)
        )),
        Contains => {
            Value::Bool(matches!((x, y), (Value::Text(a), Value::Text(b)) if a.contains(b)))
        }
        Add | Sub | Mul | Div => arithmetic(op, x, y)?,
        And | Or | Otherwise | In => Value::Missing,
    })
}

fn arithmetic<'a>(op: BinaryOp, x: Value<'a>, y: Value<'a>) -> Result<Value<'a>, EvalError> {
    Ok(match (op, x, y) {
        (BinaryOp::Add, Value::Number(a), Value::Number(b)) => {
            Value::Number(a.checked_add(b).ok_or(EvalError::Overflow)?)
        }
        (BinaryOp::Sub, Value::Number(a), Value::Number(b)) => {
            Value::Number(a.checked_sub(b).ok_or(EvalError::Overflow)?)
        }
        (BinaryOp::Mul, Value::Number(a), Value::Number(b)) => {
            Value::Number(a.checked_mul(b).ok_or(EvalError::Overflow)?)
        }
        (BinaryOp::Div, Value::Number(a), Value::Number(b)) => {
            if b.is_zero() {
                return Err(EvalError::DivisionByZero);
            }
            Value::Number(a.checked_div(b).ok_or(EvalError::Overflow)?)
        }
        (BinaryOp::Sub, Value::Date(d), Value::Duration(w)) => Value::Date(shift(d, w, false)?),
        (BinaryOp::Add, Value::Date(d), Value::Duration(w))
        | (BinaryOp::Add, Value::Duration(w), Value::Date(d)) => Value::Date(shift(d, w, true)?),
        _ => Value::Missing,
    })
}

fn shift(date: NaiveDate, by: Duration, forward: bool) -> Result<NaiveDate, EvalError> {
    use chrono::{Days, Months};
    let months = match by.unit {
        DurationUnit::Years => Some(by.amount.checked_mul(12).ok_or(EvalError::DateOutOfRange)?),
        DurationUnit::Months => Some(by.amount),
        DurationUnit::Days => None,
    };
    let result = match (months, forward) {
        (Some(m), true) => date.checked_add_months(Months::new(m)),
        (Some(m), false) => date.checked_sub_months(Months::new(m)),
        (None, true) => date.checked_add_days(Days::new(by.amount.into())),
        (None, false) => date.checked_sub_days(Days::new(by.amount.into())),
    };
    result.ok_or(EvalError::DateOutOfRange)
}
