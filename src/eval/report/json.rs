//! The report as JSON bytes, written by hand into one buffer: byte for byte what
//! `serde_json::to_vec(&report)` writes (tests compare the two over generated and made-up
//! reports), in a fraction of its instructions. Most of serde_json's time goes to escaping
//! strings byte by byte; here a string is first checked whole for a byte that needs
//! escaping (a check the compiler vectorises) and, in the usual case of none, copied whole.

use super::{ClauseReport, RecordRef, Report, text};
use crate::eval::EvalError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::io::Write as _;

impl Report {
    /// The report as compact JSON: the same bytes as `serde_json::to_vec(&report)`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_capacity());
        self.write_json(&mut out);
        out
    }

    /// Appends the report as a JSON object to `out` (see [`Report::to_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        self.write_json_fields(out);
        out.push(b'}');
    }

    /// Appends the report's fields without the braces, `"ruleset":…,"scores":[…]`: an
    /// answer that embeds the report with `#[serde(flatten)]` writes these, then its own.
    pub fn write_json_fields(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"ruleset\":");
        string(out, &self.ruleset);
        key(out, "version");
        string(out, &self.version);
        key(out, "hash");
        string(out, &self.hash);
        key(out, "as_of");
        date(out, self.as_of);
        key(out, "decision");
        string(out, self.decision.code());
        key(out, "decision_label");
        string(out, self.decision_label);
        key(out, "total");
        decimal(out, self.total);
        for (name, list) in [
            ("vetoes", &self.vetoes),
            ("flags", &self.flags),
            ("scores", &self.scores),
        ] {
            key(out, name);
            out.push(b'[');
            for (i, clause) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                clause.write_json(out);
            }
            out.push(b']');
        }
    }

    /// Bytes the JSON takes, a little more or less: the text and some room per field.
    fn json_capacity(&self) -> usize {
        let clauses = [&self.vetoes, &self.flags, &self.scores]
            .into_iter()
            .flatten()
            .map(ClauseReport::json_capacity)
            .sum::<usize>();
        256 + self.ruleset.len() + self.version.len() + self.hash.len() + clauses
    }
}

impl ClauseReport {
    fn write_json(&self, out: &mut Vec<u8>) {
        key_first(out, "clause");
        string(out, &self.clause);
        key(out, "kind");
        string(out, self.kind.keyword());
        key(out, "origin");
        string(out, &self.origin);
        if let Some(wording) = &self.wording {
            key(out, "wording");
            string(out, wording);
        }
        if let Some(basis) = &self.basis {
            key(out, "basis");
            string(out, basis);
        }
        if let Some(points) = self.points {
            key(out, "points");
            decimal(out, points);
        }
        if let Some(raw) = self.raw {
            key(out, "raw");
            decimal(out, raw);
        }
        key(out, "records");
        out.push(b'[');
        for (i, record) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            record.write_json(out);
        }
        out.push(b']');
        key(out, "explanation");
        string(out, &self.explanation);
        if let Some(error) = &self.error {
            key(out, "error");
            out.extend_from_slice(b"{\"code\":");
            string(out, error_code(error));
            out.push(b'}');
        }
        out.push(b'}');
    }

    fn json_capacity(&self) -> usize {
        let text = self.clause.len()
            + self.origin.len()
            + self.wording.as_ref().map_or(0, |w| w.len())
            + self.basis.as_ref().map_or(0, |b| b.len())
            + self.explanation.len();
        let records = self
            .records
            .iter()
            .map(|r| {
                256 + r.id.len()
                    + r.document_no.as_ref().map_or(0, String::len)
                    + r.authority.as_ref().map_or(0, String::len)
            })
            .sum::<usize>();
        256 + text + records
    }
}

impl RecordRef {
    fn write_json(&self, out: &mut Vec<u8>) {
        key_first(out, "id");
        string(out, &self.id);
        key(out, "kind");
        string(out, self.kind);
        key(out, "kind_label");
        string(out, self.kind_label);
        if let Some(document_no) = &self.document_no {
            key(out, "document_no");
            string(out, document_no);
        }
        if let Some(authority) = &self.authority {
            key(out, "authority");
            string(out, authority);
        }
        key(out, "decided_on");
        date(out, self.decided_on);
        for (name, value) in [
            ("published_on", self.published_on),
            ("disclosure_until", self.disclosure_until),
            ("valid_until", self.valid_until),
        ] {
            if let Some(value) = value {
                key(out, name);
                date(out, value);
            }
        }
        out.push(b'}');
    }
}

/// The `code` of an error as serde writes it (`snake_case`).
fn error_code(error: &EvalError) -> &'static str {
    match error {
        EvalError::Overflow => "overflow",
        EvalError::DivisionByZero => "division_by_zero",
        EvalError::DateOutOfRange => "date_out_of_range",
    }
}

/// `{"name":`: opens an object with its first key.
fn key_first(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// `,"name":`. Keys are plain ASCII names: nothing to escape.
fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A date as chrono serialises it (`"2024-06-01"`).
fn date(out: &mut Vec<u8>, value: NaiveDate) {
    out.push(b'"');
    match text::date_text(value) {
        Some(text) => out.extend_from_slice(&text),
        // chrono serialises its `Debug` text; writing to a vector cannot fail.
        None => {
            let _ = write!(out, "{value:?}");
        }
    }
    out.push(b'"');
}

/// A decimal as rust_decimal serialises it (`"8.50"`).
fn decimal(out: &mut Vec<u8>, value: Decimal) {
    out.push(b'"');
    let mut buf = text::DecimalBuffer::default();
    match text::decimal_bytes(value, &mut buf) {
        Some(text) => out.extend_from_slice(text),
        // rust_decimal serialises its `Display` text; writing to a vector cannot fail.
        None => {
            let _ = write!(out, "{value}");
        }
    }
    out.push(b'"');
}

/// Whether no byte of `bytes` needs escaping in a JSON string (a control character, `"` or
/// `\`). Written without an early exit so that the compiler checks many bytes at a time.
fn plain(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    })
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\` with a backslash, the control
/// characters as `\b \t \n \f \r` or `\u00XX` (lower-case hex), everything else as it is.
fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    if plain(bytes) {
        out.extend_from_slice(bytes);
    } else {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x09 => b't',
                0x0A => b'n',
                0x0C => b'f',
                0x0D => b'r',
                0x00..=0x1F => b'u',
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            out.push(b'\\');
            out.push(short);
            if short == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ]);
            }
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::{error_code, string};
    use crate::eval::EvalError;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = (0u8..=0x7F)
            .map(|b| format!("a{}b", char::from(b)))
            .collect();
        texts.extend(
            [
                "",
                "plain",
                "评分条款“信用等级得分”得 6.40 分",
                "\"quoted\" and \\back\\slashed\\",
                "\u{7f}\u{80}\u{2028}\u{2029}\u{feff}",
                "\n\r\t\u{8}\u{c}\u{0}\u{1f}end",
                "中文\"混合\"\n",
            ]
            .map(String::from),
        );
        for text in texts {
            let mut out = Vec::new();
            string(&mut out, &text);
            assert_eq!(out, serde_json::to_vec(&text).expect("json"), "{text:?}");
        }
    }

    #[test]
    fn error_codes_are_serde_codes() {
        for error in [
            EvalError::Overflow,
            EvalError::DivisionByZero,
            EvalError::DateOutOfRange,
        ] {
            assert_eq!(
                serde_json::to_value(&error).expect("json")["code"],
                error_code(&error)
            );
        }
    }
}
