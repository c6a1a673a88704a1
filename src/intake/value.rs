//! Reads single JSON values of a feed row as text, dates and amounts, with the reason when a
//! value cannot be read.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use super::FieldProblem;

/// Whether a value counts as absent: `null`, or a string of only white space.
pub(crate) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_) => false,
    }
}

/// The value as it is shown in an error: a string as is, anything else as JSON.
pub(crate) fn raw(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a JSON value is, for messages: `a JSON array`, `true or false` ….
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object",
    }
}

/// A string (trimmed) or a number (as written) as text.
pub(crate) fn text(value: &Value) -> Result<String, FieldProblem> {
    match value {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(FieldProblem::NotText {
            found: json_type(other),
        }),
    }
}

/// A non-negative amount (a JSON number or a decimal string).
pub(crate) fn amount(value: &Value) -> Result<Decimal, FieldProblem> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(FieldProblem::NotAnAmount),
    };
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
    let amount = crate::record::parse_amount(&text).map_err(|reason| match numeric {
        true => FieldProblem::InexactAmount { reason },
        false => FieldProblem::NotAnAmount,
    })?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(FieldProblem::NegativeAmount);
    }
    Ok(amount.normalize())
}

/// A calendar date in one of `formats`; a time after the date is ignored. A value shaped like
/// a date that does not exist (2023-02-30, month 13) is [`FieldProblem::ImpossibleDate`].
pub(crate) fn date(value: &Value, formats: &[&str]) -> Result<NaiveDate, FieldProblem> {
    let Value::String(text) = value else {
        return Err(FieldProblem::NotADate);
    };
    let text = text.trim();
    let date_part = text.split([' ', 'T']).next().unwrap_or(text);
    if let Some(date) = formats
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(date_part, f).ok())
    {
        return Ok(date);
    }
    match date_parts(date_part).and_then(|(y, m, d)| impossible(y, m, d)) {
        Some(reason) => Err(FieldProblem::ImpossibleDate { reason }),
        None => Err(FieldProblem::NotADate),
    }
}

/// Year, month and day of a text shaped like a date: three digit groups (4, 1-2, 1-2
/// digits) or eight digits.
fn date_parts(text: &str) -> Option<(i32, u32, u32)> {
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let (y, m, d) = match groups.as_slice() {
        [y, m, d] if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) => {
            (*y, *m, *d)
        }
        [all] if all.len() == 8 => (all.get(..4)?, all.get(4..6)?, all.get(6..)?),
        _ => return None,
    };
    Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?))
}

/// Why year-month-day is not a calendar day, or `None` if it is one (or the year is out of
/// range, which is reported as not a date).
fn impossible(year: i32, month: u32, day: u32) -> Option<String> {
    if !(1..=12).contains(&month) {
        return Some(format!("there is no month {month}"));
    }
    let days = (28..=31)
        .rev()
        .find(|&d| NaiveDate::from_ymd_opt(year, month, d).is_some())?;
    if day == 0 || day > days {
        Some(format!(
            "{year}-{month:02} has no day {day} (it has {days} days)"
        ))
    } else {
        None
    }
}
