//! The report's text fields: dates and decimals written without the formatter, for the
//! sentences and for the JSON fields (`serialize_with`), the very text their `Display` and
//! `Serialize` write (`2024-06-01`, `-0.5`, `8.50`) from a stack buffer (dates outside the
//! years 0 to 9999 and decimals whose mantissa does not fit 64 bits take the libraries' own
//! path); and text shared with the compiled rule set, serialised as strings.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// Serialises shared text as a string.
pub(super) fn shared<S: Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// [`shared`] of optional text.
pub(super) fn optional_shared<S: Serializer>(
    text: &Option<Arc<str>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => serializer.serialize_some(&**text),
        None => serializer.serialize_none(),
    }
}

/// The text of a date of the years 0 to 9999, as `Display` writes it.
pub(super) fn date_text(date: NaiveDate) -> Option<[u8; 10]> {
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let (month, day) = (date.month(), date.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    Some([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// Room for a decimal with a 64-bit mantissa: 28 places, a leading zero, a point, a sign.
pub(super) type DecimalBuffer = [u8; 32];

/// The text of `value` as `Display` writes it, when its mantissa fits 64 bits.
pub(super) fn decimal_text(value: Decimal, buf: &mut DecimalBuffer) -> Option<&str> {
    std::str::from_utf8(decimal_bytes(value, buf)?).ok()
}

/// [`decimal_text`] as ASCII bytes.
pub(super) fn decimal_bytes(value: Decimal, buf: &mut DecimalBuffer) -> Option<&[u8]> {
    let mantissa = u64::try_from(value.mantissa().unsigned_abs()).ok()?;
    let scale = value.scale() as usize;
    // The digits, least significant first (at most 20).
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = mantissa;
    while rest > 0 {
        digits[len] = (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    let mut at = 0;
    let mut put = |byte: u8| {
        buf[at] = byte;
        at += 1;
    };
    // `Display` writes the sign of a negative zero too.
    if value.is_sign_negative() {
        put(b'-');
    }
    // Zeros pad the digits to the scale; at least one digit stands before the point.
    let shown = len.max(scale);
    if shown == scale {
        put(b'0');
    }
    for place in (0..shown).rev() {
        if place + 1 == scale {
            put(b'.');
        }
        put(b'0' + if place < len { digits[place] } else { 0 });
    }
    Some(&buf[..at])
}

/// Serialises a date as its own `Serialize` does (`"2024-06-01"`).
pub(super) fn date<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    match date_text(*date) {
        Some(text) => match std::str::from_utf8(&text) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => Serialize::serialize(date, serializer),
        },
        None => Serialize::serialize(date, serializer),
    }
}

/// [`date`] of an optional date.
pub(super) fn optional_date<S: Serializer>(
    value: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(&Date(*value)),
        None => serializer.serialize_none(),
    }
}

/// Serialises a decimal as its own `Serialize` does (`"8.50"`).
pub(super) fn decimal<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = DecimalBuffer::default();
    match decimal_text(*value, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        None => Serialize::serialize(value, serializer),
    }
}

/// [`decimal`] of an optional decimal.
pub(super) fn optional_decimal<S: Serializer>(
    value: &Option<Decimal>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(&Number(*value)),
        None => serializer.serialize_none(),
    }
}

/// A date serialised by [`date`].
struct Date(NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        date(&self.0, serializer)
    }
}

/// A decimal serialised by [`decimal`].
struct Number(Decimal);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal(&self.0, serializer)
    }
}
