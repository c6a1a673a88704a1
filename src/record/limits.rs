//! Limits on the values of a [`CreditRecord`] taken in from outside (push, import, sync), and
//! the exact reading of its JSON dates and amounts.
//!
//! **Dates.** No date may be before [`DATE_FLOOR`] (1990-01-01: older than any record the
//! platforms publish — 行政处罚法 dates from 1996, 信用中国 from 2015 — so an earlier date is
//! a typo or a placeholder such as 0001-01-01 or 1900-01-01). `decided_on`, `repaired_on` and
//! `revoked_on` may be at most [`FUTURE_TOLERANCE_DAYS`] (7) days after today (Asia/Shanghai):
//! a decision is published after it is made, and the week covers a source that dates a
//! decision on its signing day or a clock set ahead. `disclosure_until` may be at most
//! [`MAX_DISCLOSURE_YEARS`] (30) years after the decision (the longest periods in force are
//! 5 years, Wuhan Order 272, and 2–5-year bans); a record disclosed until removed has no
//! `disclosure_until`, not 9999-12-31. These are checked by [`CreditRecord::check_dates`]
//! (it needs today's date); [`CreditRecord::validate`] checks the rest.
//!
//! **Text.** Each text field has a length limit in characters ([`TEXT_LIMITS`]); ids may not
//! contain control characters ([`control_character`]), since they are matched exactly.
//!
//! **JSON.** A date that cannot be read names its field and the reason (`decided_on`:
//! `2023-02-30` does not exist: 2023-02 has no day 30). An `amount` is read exactly from the
//! JSON text: a string (`"2.5"`, preferred) or a number's digits as written (the field is
//! read as a raw JSON value, never through a float), so `18446744073709551616` stays exact
//! and `1e-999999`, which a decimal cannot hold, is refused with the advice to send a string
//! with fewer digits. A negative amount is refused by [`CreditRecord::validate`]. (A record
//! that reached the service as an already parsed `serde_json::Value` has had its numbers
//! through a float; the intake routes keep each item's text for that reason.)

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::de;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{CreditRecord, RecordError};

/// The earliest date a record may carry.
pub const DATE_FLOOR: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// How many days after today a decision, repair or revocation date may be.
pub const FUTURE_TOLERANCE_DAYS: u32 = 7;

/// How many years after the decision a disclosure may end.
pub const MAX_DISCLOSURE_YEARS: u32 = 30;

/// The length limits of the text fields, in characters: `(field, limit)`.
pub const TEXT_LIMITS: [(&str, usize); 9] = [
    ("id", 128),
    ("entity_name", 200),
    ("authority", 200),
    ("document_no", 200),
    ("sector", 50),
    ("penalty_type", 200),
    ("grade", 16),
    ("legal_basis", 2_000),
    ("description", 4_000),
];

/// The first control character of an id (NUL, line break, tab …) and its position in
/// characters, if any.
pub fn control_character(id: &str) -> Option<(usize, char)> {
    id.chars().enumerate().find(|(_, c)| c.is_control())
}

/// Whether a record with this id could be stored: not blank, no control character, within
/// the id's [`TEXT_LIMITS`] length. An event naming any other id can never find its record.
pub fn is_storable_id(id: &str) -> bool {
    let max_chars = TEXT_LIMITS
        .iter()
        .find(|(field, _)| *field == "id")
        .map_or(usize::MAX, |(_, max)| *max);
    !id.trim().is_empty() && control_character(id).is_none() && id.chars().count() <= max_chars
}

/// A control character in human terms, e.g. `U+0000`.
pub(super) fn describe_char(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

impl CreditRecord {
    /// The text fields with their values, in [`TEXT_LIMITS`] order.
    fn text_fields(&self) -> [Option<&str>; 9] {
        [
            Some(self.id.as_str()),
            self.entity_name.as_deref(),
            self.authority.as_deref(),
            self.document_no.as_deref(),
            self.sector.as_deref(),
            self.penalty_type.as_deref(),
            self.grade.as_deref(),
            self.legal_basis.as_deref(),
            self.description.as_deref(),
        ]
    }

    /// The text fields over their [`TEXT_LIMITS`].
    pub(super) fn length_errors(&self) -> Vec<RecordError> {
        TEXT_LIMITS
            .iter()
            .zip(self.text_fields())
            .filter_map(|(&(field, limit), value)| {
                let length = value?.chars().count();
                (length > limit).then_some(RecordError::TooLong {
                    field,
                    length,
                    limit,
                })
            })
            .collect()
    }

    /// Checks the dates against [`DATE_FLOOR`], [`FUTURE_TOLERANCE_DAYS`] after `today` and
    /// [`MAX_DISCLOSURE_YEARS`]; returns every problem found.
    pub fn check_dates(&self, today: NaiveDate) -> Vec<RecordError> {
        let dated = [
            ("decided_on", Some(self.decided_on), true),
            ("published_on", self.published_on, true),
            ("disclosure_until", self.disclosure_until, false),
            ("valid_until", self.valid_until, false),
            ("repaired_on", self.repaired_on, true),
            ("revoked_on", self.revoked_on, true),
        ];
        let mut errors: Vec<RecordError> = dated
            .into_iter()
            .filter_map(|(field, date, not_future)| {
                date.and_then(|date| date_problem_on(field, date, not_future, today))
            })
            .collect();
        if let Some(end) = self.disclosure_until {
            let latest_end = years_after(self.decided_on, MAX_DISCLOSURE_YEARS);
            if end > latest_end {
                errors.push(RecordError::DisclosureTooLong {
                    disclosure_until: end,
                    latest: latest_end,
                });
            }
        }
        errors
    }
}

/// Checks the date of an event (a repair or revocation, field `date`) against
/// [`DATE_FLOOR`] and [`FUTURE_TOLERANCE_DAYS`] after `today`.
pub fn check_event_date(date: NaiveDate, today: NaiveDate) -> Option<RecordError> {
    date_problem_on("date", date, true, today)
}

/// Why `date` in `field` is out of range: before the floor, or (when `not_future`) more than
/// the tolerance after `today`.
fn date_problem_on(
    field: &'static str,
    date: NaiveDate,
    not_future: bool,
    today: NaiveDate,
) -> Option<RecordError> {
    let latest = today
        .checked_add_days(chrono::Days::new(u64::from(FUTURE_TOLERANCE_DAYS)))
        .unwrap_or(NaiveDate::MAX);
    if date < DATE_FLOOR {
        Some(RecordError::BeforeFloor { field, date })
    } else if not_future && date > latest {
        Some(RecordError::TooFarAhead {
            field,
            date,
            latest,
        })
    } else {
        None
    }
}

/// The same day `years` years later (28 February for 29 February in a common year).
fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    let year = date.year().saturating_add(years as i32);
    (0..4)
        .find_map(|back| {
            NaiveDate::from_ymd_opt(year, date.month(), date.day().saturating_sub(back))
        })
        .unwrap_or(NaiveDate::MAX)
}

// ---------------------------------------------------------------------------------------------
// Exact JSON reading
// ---------------------------------------------------------------------------------------------

/// An amount in 万元 from its decimal text, exactly: plain (`2.5`,
/// `18446744073709551616`) or scientific (`2.5e3`) notation; a value a decimal cannot hold
/// exactly is refused, never rounded.
///
/// ```
/// use credit_rules::record::parse_amount;
/// assert_eq!(parse_amount("2.50").map(|a| a.to_string()), Ok("2.50".to_owned()));
/// assert!(parse_amount("1e-999999").is_err());
/// ```
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    parsed.map_err(|_| {
        let numeric = text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
        if numeric && !text.is_empty() {
            format!(
                "`{text}` cannot be held exactly (at most 28 significant digits, at most 28 \
                 after the point, below 7.9 × 10^28); send the amount in 万元 as a string with \
                 fewer digits, e.g. \"2.5\""
            )
        } else {
            format!("`{text}` is not a number; send the amount in 万元 as a string, e.g. \"2.5\"")
        }
    })
}

/// Deserializes `amount` exactly from the JSON text of the value (a string, or a number's
/// digits as written; never through a float); see the module docs.
pub(super) fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let refuse =
        |reason: &dyn fmt::Display| de::Error::custom(format_args!("field `amount`: {reason}"));
    let raw: Option<Box<RawValue>> = Option::deserialize(d).map_err(|e| refuse(&e))?;
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get().trim();
    let quoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains(['\\', '"']));
    let unescaped;
    let digits = if let Some(plain) = quoted {
        plain
    } else if text.starts_with('"') {
        unescaped = serde_json::from_str::<String>(text).map_err(|e| refuse(&e))?;
        unescaped.as_str()
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        text
    } else {
        return Err(refuse(&format_args!(
            "found `{text}`; send the amount in 万元 as a string, e.g. \"2.5\", or null"
        )));
    };
    parse_amount(digits).map(Some).map_err(|e| refuse(&e))
}

/// Why a text is not a calendar day, for messages: not shaped like `YYYY-MM-DD`, or a day
/// that does not exist (2023-02-30, month 13).
fn date_problem(text: &str) -> String {
    let parts: Vec<&str> = text.split('-').collect();
    let numbers: Option<Vec<u32>> = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            parts.iter().map(|p| p.parse().ok()).collect()
        }
        _ => None,
    };
    let Some([year, month, day]) = numbers.as_deref().map(|n| [n[0], n[1], n[2]]) else {
        return "this is not a date; send dates as YYYY-MM-DD, e.g. 2023-02-28".to_owned();
    };
    if !(1..=12).contains(&month) {
        return format!("this date does not exist: there is no month {month}");
    }
    let days = (28..=31)
        .rev()
        .find(|&d| NaiveDate::from_ymd_opt(year as i32, month, d).is_some())
        .unwrap_or(31);
    format!(
        "this date does not exist: {year}-{month:02} has no day {day} (it has {days} days); \
         take the correct date from the source document"
    )
}

/// A date's JSON text read without copying it: the day, or the text when it is not one.
struct DateText(Result<NaiveDate, String>);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = DateText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DateText, E> {
                Ok(DateText(parse_day(text).ok_or_else(|| text.to_owned())))
            }
        }
        d.deserialize_str(Text)
    }
}

/// `YYYY-MM-DD` as a day: the usual shape read digit by digit, anything else as chrono's
/// `%Y-%m-%d` reads it (ten characters in all).
fn parse_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10))
    {
        return NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
}

/// The error for a text in `field` that is not a day.
fn not_a_day<E: de::Error>(field: &str, text: &str) -> E {
    E::custom(format_args!(
        "field `{field}` = `{text}`: {}",
        date_problem(text)
    ))
}

/// Reads a required date, naming `field` in the error.
fn read_date<'de, D: Deserializer<'de>>(d: D, field: &'static str) -> Result<NaiveDate, D::Error> {
    let DateText(day) = DateText::deserialize(d)
        .map_err(|e| de::Error::custom(format_args!("field `{field}`: {e}")))?;
    day.map_err(|text| not_a_day(field, &text))
}

/// Reads an optional date (`null` = none), naming `field` in the error.
fn read_optional_date<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<NaiveDate>, D::Error> {
    let text: Option<DateText> = serde::Deserialize::deserialize(d)
        .map_err(|e| de::Error::custom(format_args!("field `{field}`: {e}")))?;
    match text {
        None => Ok(None),
        Some(DateText(day)) => day.map(Some).map_err(|text| not_a_day(field, &text)),
    }
}

pub(super) fn decided_on<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    read_date(d, "decided_on")
}

pub(super) fn disclosure_until<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDate>, D::Error> {
    read_optional_date(d, "disclosure_until")
}

pub(super) fn published_on<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    read_optional_date(d, "published_on")
}

pub(super) fn valid_until<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    read_optional_date(d, "valid_until")
}

pub(super) fn repaired_on<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    read_optional_date(d, "repaired_on")
}

pub(super) fn revoked_on<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    read_optional_date(d, "revoked_on")
}

#[cfg(test)]
mod tests {
    use super::parse_day;
    use chrono::NaiveDate;

    /// What the reader accepted before the digit-by-digit path: chrono's `%Y-%m-%d` over
    /// ten characters.
    fn chrono_day(text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
    }

    #[test]
    fn dates_are_read_as_chrono_reads_them() {
        let mut texts: Vec<String> = [
            "2024-06-01",
            "2024-02-29",
            "2023-02-29",
            "2023-02-30",
            "2023-13-01",
            "2023-00-10",
            "2023-01-00",
            "0000-01-01",
            "9999-12-31",
            " 2024-6-01",
            "2024-6-1  ",
            "+024-06-01",
            "2024/06/01",
            "2024-06-1x",
            "２０２４-06-01",
            "20240601",
            "2024-06-001",
            "",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every text of the shape with digits from a small alphabet, and some noise.
        let alphabet = ['0', '1', '2', '3', '9', '-', ' ', '+', 'a'];
        let mut state = 12345u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for position in 0..10 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let c = if (position == 4 || position == 7) && !state.is_multiple_of(4) {
                    '-'
                } else {
                    alphabet[(state % alphabet.len() as u64) as usize]
                };
                text.push(c);
            }
            texts.push(text);
        }
        for text in &texts {
            assert_eq!(parse_day(text), chrono_day(text), "`{text}`");
        }
    }
}
