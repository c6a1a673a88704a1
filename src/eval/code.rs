//! Compiled expressions: `compile` lowers every clause condition, query filter and
//! per-record value ([`IrExpr`]) once into a [`Code`], a tree of small specialised nodes
//! that the evaluator calls instead of interpreting the expression: a text field tested
//! against a list of texts is one node comparing strings, `and`/`or` ask their operands
//! for a yes/no directly ([`Node::holds`]), constants are values ready to copy.
//!
//! Each node gives the same value as the tree-walker ([`super::eval_expr`]) by
//! construction: it calls the same value operations (`crate::fold`). A node kind that has no
//! node of its own is run by the tree-walker ([`Walk`]).
//!
//! # Adding an expression kind
//! A new [`IrExpr`] variant needs an arm in the tree-walker (`eval::eval_expr`) and in the
//! folder (`fold`); it is then already evaluated here through [`Walk`] (the last arm of
//! [`lower`]). To make it fast, give it a node: a struct implementing [`Node`] (`value`,
//! and `holds` when it is a condition) and one arm in [`lower`] building it from the
//! variant's lowered operands.

use super::{Env, eval_expr};
use crate::ast::BinaryOp;
use crate::fold::{self, EvalError};
use crate::ir::{Base, Field, IrExpr, Lit, Value};
use rust_decimal::Decimal;
use std::fmt;
use std::sync::Arc;

/// A lowered expression, shared by the clones of a compiled rule set.
#[derive(Clone)]
pub(crate) struct Code(Arc<dyn Node>);

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Code {
    /// The expression's value.
    #[inline]
    pub(crate) fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        self.0.value(env)
    }

    /// Is the value a present `true`?
    #[inline]
    pub(crate) fn holds<'a>(&'a self, env: &Env<'a>) -> Result<bool, EvalError> {
        self.0.holds(env)
    }
}

/// One compiled expression node.
pub(crate) trait Node: fmt::Debug + Send + Sync {
    /// The node's value, as [`super::eval_expr`] computes it.
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError>;

    /// Whether the value is a present `true` (conditions override this to skip the value).
    fn holds<'a>(&'a self, env: &Env<'a>) -> Result<bool, EvalError> {
        Ok(fold::is_true(self.value(env)?))
    }
}

/// Lowers an expression: one arm per expression kind (see the module docs).
pub(crate) fn lower(expr: &IrExpr) -> Code {
    let node: Arc<dyn Node> = match expr {
        IrExpr::Lit(lit) => Arc::new(Constant(lit.clone())),
        IrExpr::Field(field) => Arc::new(ReadField(*field)),
        IrExpr::Context(field) => Arc::new(ReadContext(*field)),
        IrExpr::Query(q) => Arc::new(QueryResult(*q)),
        IrExpr::Not(e) => Arc::new(Not(lower(e))),
        IrExpr::Neg(e) => Arc::new(Neg(lower(e))),
        IrExpr::Binary(BinaryOp::And, a, b) => Arc::new(And(lower(a), lower(b))),
        IrExpr::Binary(BinaryOp::Or, a, b) => Arc::new(Or(lower(a), lower(b))),
        IrExpr::Binary(BinaryOp::Otherwise, a, b) => Arc::new(Otherwise(lower(a), lower(b))),
        IrExpr::Binary(BinaryOp::Mul, a, b) => match (&**a, &**b) {
            (IrExpr::Lit(Lit::Number(n)), other) => Arc::new(MulConst(*n, lower(other), true)),
            (other, IrExpr::Lit(Lit::Number(n))) => Arc::new(MulConst(*n, lower(other), false)),
            _ => Arc::new(Strict(BinaryOp::Mul, lower(a), lower(b))),
        },
        IrExpr::Binary(op, a, b) => Arc::new(Strict(*op, lower(a), lower(b))),
        IrExpr::In(e, items) => match (&**e, texts(items)) {
            (IrExpr::Field(field), Some(texts)) if field.ty().base == Base::Text => {
                Arc::new(TextIn(*field, texts))
            }
            _ => Arc::new(Member(lower(e), items.clone())),
        },
        IrExpr::If(c, a, b) => Arc::new(Choose(lower(c), lower(a), lower(b))),
        IrExpr::Table(key, rows, default) => Arc::new(Lookup(lower(key), rows.clone(), *default)),
        // `as_of`, `within` (outside the windows the compiler turns into date tests) and
        // any kind without a node of its own.
        other => Arc::new(Walk(other.clone())),
    };
    Code(node)
}

/// The texts of a list of text constants; `None` when one is not a text.
fn texts(items: &[Lit]) -> Option<Box<[Box<str>]>> {
    items
        .iter()
        .map(|item| match item {
            Lit::Text(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Any expression, run by the tree-walker.
#[derive(Debug)]
struct Walk(IrExpr);

impl Node for Walk {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        eval_expr(&self.0, env)
    }
}

#[derive(Debug)]
struct Constant(Lit);

impl Node for Constant {
    fn value<'a>(&'a self, _: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(self.0.as_value())
    }

    fn holds<'a>(&'a self, _: &Env<'a>) -> Result<bool, EvalError> {
        Ok(matches!(self.0, Lit::Bool(true)))
    }
}

#[derive(Debug)]
struct ReadField(Field);

impl Node for ReadField {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(match env.record {
            Some((record, status)) => self.0.read(record, status),
            None => Value::Missing,
        })
    }
}

#[derive(Debug)]
struct ReadContext(crate::context::ContextField);

impl Node for ReadContext {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(self.0.read(env.context))
    }
}

#[derive(Debug)]
struct QueryResult(usize);

impl Node for QueryResult {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(env.results.get(self.0).copied().unwrap_or(Value::Missing))
    }
}

#[derive(Debug)]
struct Not(Code);

impl Node for Not {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(fold::not(self.0.value(env)?))
    }
}

#[derive(Debug)]
struct Neg(Code);

impl Node for Neg {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(fold::neg(self.0.value(env)?))
    }
}

#[derive(Debug)]
struct And(Code, Code);

impl Node for And {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        self.holds(env).map(Value::Bool)
    }

    fn holds<'a>(&'a self, env: &Env<'a>) -> Result<bool, EvalError> {
        Ok(self.0.holds(env)? && self.1.holds(env)?)
    }
}

#[derive(Debug)]
struct Or(Code, Code);

impl Node for Or {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        self.holds(env).map(Value::Bool)
    }

    fn holds<'a>(&'a self, env: &Env<'a>) -> Result<bool, EvalError> {
        Ok(self.0.holds(env)? || self.1.holds(env)?)
    }
}

#[derive(Debug)]
struct Otherwise(Code, Code);

impl Node for Otherwise {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        match self.0.value(env)? {
            Value::Missing => self.1.value(env),
            v => Ok(v),
        }
    }
}

/// A binary operator that evaluates both operands (comparisons, arithmetic, `contains`).
#[derive(Debug)]
struct Strict(BinaryOp, Code, Code);

impl Node for Strict {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        let a = self.1.value(env)?;
        let b = self.2.value(env)?;
        fold::strict_binary(self.0, a, b)
    }
}

/// A product with a constant number (`2 * count(…)`): a number times the constant, in the
/// written order (`true` when the constant is on the left); missing for anything else, as
/// [`fold::strict_binary`] gives.
#[derive(Debug)]
struct MulConst(Decimal, Code, bool);

impl Node for MulConst {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        let Value::Number(n) = self.1.value(env)? else {
            return Ok(Value::Missing);
        };
        let product = match self.2 {
            true => self.0.checked_mul(n),
            false => n.checked_mul(self.0),
        };
        product.map(Value::Number).ok_or(EvalError::Overflow)
    }
}

/// `text field in ["a", "b"]`: false when the field is missing.
#[derive(Debug)]
struct TextIn(Field, Box<[Box<str>]>);

impl Node for TextIn {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        self.holds(env).map(Value::Bool)
    }

    fn holds<'a>(&'a self, env: &Env<'a>) -> Result<bool, EvalError> {
        let Some((record, status)) = env.record else {
            return Ok(false);
        };
        Ok(match self.0.read(record, status) {
            Value::Text(t) => self.1.iter().any(|item| **item == *t),
            _ => false,
        })
    }
}

#[derive(Debug)]
struct Member(Code, Vec<Lit>);

impl Node for Member {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(fold::member(self.0.value(env)?, &self.1))
    }
}

#[derive(Debug)]
struct Choose(Code, Code, Code);

impl Node for Choose {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        match self.0.holds(env)? {
            true => self.1.value(env),
            false => self.2.value(env),
        }
    }
}

#[derive(Debug)]
struct Lookup(Code, Vec<(Lit, Decimal)>, Option<Decimal>);

impl Node for Lookup {
    fn value<'a>(&'a self, env: &Env<'a>) -> Result<Value<'a>, EvalError> {
        Ok(fold::lookup(self.0.value(env)?, &self.1, self.2))
    }
}
