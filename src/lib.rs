//! credit-rules: the credit rule language of public resource trading.
#![forbid(unsafe_code)]

pub mod diagnostic;
pub mod record;
pub mod source;
pub mod ast;
pub mod syntax;
pub mod fmt;
pub mod ir;
pub mod check;
pub mod compile;
pub mod eval;
pub mod ruleset;
pub mod testing;
pub mod cli;
