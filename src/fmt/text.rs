//! Strings, test-record values and expectations as printed.

use super::words::*;
use crate::ast::{Expectation, FieldValue};

/// A string literal with ASCII quotes and the grammar's three escapes.
pub(super) fn quote(s: &str) -> String {
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

pub(super) fn field_value(value: &FieldValue) -> String {
    match value {
        FieldValue::Date(d) => d.to_string(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Text(s) => quote(s),
        FieldValue::Name(n) => n.clone(),
    }
}

pub(super) fn expectation(w: &Words, e: &Expectation) -> String {
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
