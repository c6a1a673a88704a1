//! Signed decision receipts: what an evaluation decided, for whom, under which rules and on
//! which records, signed with the service's ed25519 key so that a bidder or a court can check
//! offline that a printed decision was not altered.
//!
//! **Canonical bytes.** The signature covers the UTF-8 bytes of the receipt's JSON object
//! *without* its `public_key` and `signature` fields, written compactly (no spaces or line
//! breaks), with the fields in this order: `format`, `decision_id`, `uscc`, `entity_name`,
//! `ruleset`, `version_id`, `as_of`, `known_at`, `decided_at`, `decision`, `total`, `vetoes`,
//! `flags`. Strings are JSON strings (RFC 8259; `"`, `\` and control characters escaped,
//! everything else as UTF-8), an absent `uscc` or `entity_name` is `null`, `decision_id` is
//! a number, `total` is a decimal string, times are RFC 3339 UTC with milliseconds (`Z`),
//! `vetoes` and `flags` are arrays of clause ids. [`Receipt::canonical_bytes`] writes them;
//! [`verify`] rebuilds them from a receipt read back.
//!
//! **Keys.** [`ReceiptKey::load_or_create`] keeps the 32-byte secret seed as 64 hex digits in
//! a file of the data folder, created on first start with permissions 0600 (owner only).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` of the receipts this build writes.
pub const RECEIPT_FORMAT: &str = "credit-rules receipt 1";

/// The file name of the key in the data folder.
pub const KEY_FILE: &str = "receipt-key";

/// What a receipt states. Field order is the canonical order (see the module header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptBody {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// The decision-log sequence number: `GET /api/v1/decisions/{id}/replay` recomputes it.
    pub decision_id: u64,
    /// The entity evaluated (absent for inline records naming no single entity).
    pub uscc: Option<String>,
    /// Its name as the store knows it (or as the inline records give it).
    pub entity_name: Option<String>,
    /// Rule-set id.
    pub ruleset: String,
    /// The version identity of the rules applied.
    pub version_id: String,
    /// The evaluation day.
    pub as_of: NaiveDate,
    /// The records were taken as the store knew them at this time (RFC 3339, UTC, ms).
    pub known_at: String,
    /// When the decision was made (RFC 3339, UTC, ms).
    pub decided_at: String,
    /// `eligible`, `disqualified` or `review`.
    pub decision: String,
    /// Total credit points, as a decimal string.
    pub total: String,
    /// Ids of the veto clauses that fired.
    pub vetoes: Vec<String>,
    /// Ids of the flag clauses that fired.
    pub flags: Vec<String>,
}

/// A signed receipt: the body, the public key that signed it and the signature (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// What is stated.
    #[serde(flatten)]
    pub body: ReceiptBody,
    /// The signer's ed25519 public key, 64 hex digits (compare it with the service's
    /// published key: `GET /api/v1/receipts/public-key`).
    pub public_key: String,
    /// The ed25519 signature of the canonical bytes, 128 hex digits.
    pub signature: String,
}

/// Why a receipt does not verify (or the key cannot be used).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    /// Not a receipt.
    #[error("not a receipt: {0}")]
    Malformed(String),
    /// The signature does not match the content: the receipt was altered (or signed by
    /// another key than the one it names).
    #[error("the signature does not match: the receipt was altered, or not signed by this key")]
    BadSignature,
    /// Signed by another key than the one the verifier trusts.
    #[error("signed by key {found}, not by the expected key {expected}")]
    WrongKey {
        /// The receipt's key.
        found: String,
        /// The key given to trust.
        expected: String,
    },
    /// The key file cannot be read or written.
    #[error("receipt key `{path}`: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// A time as receipts write it: RFC 3339, UTC, milliseconds, `Z`.
pub fn receipt_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl ReceiptBody {
    /// The body of a receipt for a report (the decision facts) and its context.
    pub fn of(
        report: &crate::eval::Report,
        decision_id: u64,
        uscc: Option<String>,
        entity_name: Option<String>,
        known_at: DateTime<Utc>,
        decided_at: DateTime<Utc>,
    ) -> ReceiptBody {
        let ids = |list: &[crate::eval::ClauseReport]| {
            list.iter()
                .map(|c| c.clause.to_string())
                .collect::<Vec<_>>()
        };
        ReceiptBody {
            format: RECEIPT_FORMAT.to_string(),
            decision_id,
            uscc,
            entity_name,
            ruleset: report.ruleset.to_string(),
            version_id: report.hash.to_string(),
            as_of: report.as_of,
            known_at: receipt_time(known_at),
            decided_at: receipt_time(decided_at),
            decision: report.decision.code().to_string(),
            total: decimal_text(report.total),
            vetoes: ids(&report.vetoes),
            flags: ids(&report.flags),
        }
    }

    /// The bytes the signature covers (see the module header).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings, numbers and arrays cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn decimal_text(value: Decimal) -> String {
    value.to_string()
}

/// The service's signing key.
pub struct ReceiptKey {
    key: SigningKey,
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptKey({})", self.public_key_hex())
    }
}

impl ReceiptKey {
    /// A fresh key (kept in memory only: in-process services and tests).
    pub fn generate() -> Result<ReceiptKey, ReceiptError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ReceiptError::Key {
            path: "(memory)".into(),
            reason: format!("no random numbers: {e}"),
        })?;
        Ok(ReceiptKey {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key kept in `dir`/[`KEY_FILE`]; created (permissions 0600) when absent.
    pub fn load_or_create(dir: &Path) -> Result<ReceiptKey, ReceiptError> {
        let path = dir.join(KEY_FILE);
        let failed = |reason: String| ReceiptError::Key {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let seed = parse_hex::<32>(text.trim())
                    .ok_or_else(|| failed("not 64 hex digits".into()))?;
                Ok(ReceiptKey {
                    key: SigningKey::from_bytes(&seed),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ReceiptKey::generate()?;
                match write_private(&path, &hex(&key.key.to_bytes())) {
                    Ok(()) => Ok(key),
                    // Another process starting on the same folder wrote it first: use its key.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        ReceiptKey::load_or_create(dir)
                    }
                    Err(e) => Err(failed(e.to_string())),
                }
            }
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// The public key, 64 hex digits.
    pub fn public_key_hex(&self) -> String {
        hex(&self.key.verifying_key().to_bytes())
    }

    /// Signs a receipt body.
    pub fn sign(&self, body: ReceiptBody) -> Receipt {
        let signature = self.key.sign(&body.canonical_bytes());
        Receipt {
            body,
            public_key: self.public_key_hex(),
            signature: hex(&signature.to_bytes()),
        }
    }
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Verifies a receipt: its signature over its canonical bytes with the key it names, and,
/// when `trusted` is given (64 hex digits), that this is the key.
pub fn verify(receipt: &Receipt, trusted: Option<&str>) -> Result<(), ReceiptError> {
    if let Some(expected) = trusted {
        let expected = expected.trim().to_ascii_lowercase();
        if receipt.public_key.to_ascii_lowercase() != expected {
            return Err(ReceiptError::WrongKey {
                found: receipt.public_key.clone(),
                expected,
            });
        }
    }
    let key = parse_hex::<32>(&receipt.public_key)
        .ok_or_else(|| ReceiptError::Malformed("`public_key` is not 64 hex digits".into()))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| ReceiptError::Malformed("`public_key` is not an ed25519 key".into()))?;
    let signature = parse_hex::<64>(&receipt.signature)
        .ok_or_else(|| ReceiptError::Malformed("`signature` is not 128 hex digits".into()))?;
    key.verify_strict(
        &receipt.body.canonical_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| ReceiptError::BadSignature)
}

/// Reads a receipt from JSON: the receipt object itself, or an answer holding it as
/// `receipt` (an evaluation answer), or a tender answer's member (`bids[i].members[j]`)
/// saved alone.
pub fn parse(json: &str) -> Result<Receipt, ReceiptError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    let object = match value.get("receipt") {
        Some(inner) => inner.clone(),
        None => value,
    };
    serde_json::from_value(object).map_err(|e| ReceiptError::Malformed(e.to_string()))
}

/// Lower-case hex, two digits a byte, written into one buffer.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lower_case_digits_a_byte_and_reads_back() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex(&bytes);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(&text[text.len() - 4..], "feff");
        assert_eq!(hex(&[0x0f, 0xa5]), "0fa5");
        assert_eq!(parse_hex::<256>(&text).map(|b| b.to_vec()), Some(bytes));
    }

    fn body() -> ReceiptBody {
        ReceiptBody {
            format: RECEIPT_FORMAT.into(),
            decision_id: 17,
            uscc: Some("914201158544006819".into()),
            entity_name: Some("武汉市\"长江\"建设有限公司".into()),
            ruleset: "water".into(),
            version_id: "106c0d6759f3a0f697ceca2fe366be1af4c7e9af66b49b58ac205116fb58fa86".into(),
            as_of: NaiveDate::from_ymd_opt(2024, 6, 1).expect("day"),
            known_at: "2024-06-01T02:00:00.000Z".into(),
            decided_at: "2024-06-01T02:00:00.123Z".into(),
            decision: "eligible".into(),
            total: "4.40".into(),
            vetoes: vec![],
            flags: vec!["行政处罚".into()],
        }
    }

    #[test]
    fn a_signed_receipt_verifies_after_a_round_trip_through_json() {
        let key = ReceiptKey::generate().expect("key");
        let receipt = key.sign(body());
        let json = serde_json::to_string_pretty(&receipt).expect("json");
        let back = parse(&json).expect("parses");
        assert_eq!(back, receipt);
        assert_eq!(verify(&back, None), Ok(()));
        assert_eq!(verify(&back, Some(&key.public_key_hex())), Ok(()));
        // Inside an answer too.
        let answer = serde_json::json!({ "decision": "eligible", "receipt": receipt });
        assert_eq!(
            verify(&parse(&answer.to_string()).expect("answer"), None),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_receipt_is_refused() {
        let key = ReceiptKey::generate().expect("key");
        let receipt = key.sign(body());
        let mut worse = receipt.clone();
        worse.body.decision = "disqualified".into();
        assert_eq!(verify(&worse, None), Err(ReceiptError::BadSignature));
        let mut renamed = receipt.clone();
        renamed.body.entity_name = Some("另一家公司".into());
        assert_eq!(verify(&renamed, None), Err(ReceiptError::BadSignature));
        // Re-signed by someone else: the signature matches that key, not the service's.
        let other = ReceiptKey::generate().expect("key");
        let forged = other.sign(worse.body.clone());
        assert_eq!(verify(&forged, None), Ok(()));
        assert!(matches!(
            verify(&forged, Some(&key.public_key_hex())),
            Err(ReceiptError::WrongKey { .. })
        ));
        let mut garbled = receipt;
        garbled.signature = "00".repeat(64);
        assert_eq!(verify(&garbled, None), Err(ReceiptError::BadSignature));
    }

    #[test]
    fn the_canonical_bytes_are_compact_json_in_the_documented_order() {
        let text = String::from_utf8(body().canonical_bytes()).expect("utf-8");
        assert!(
            text.starts_with(
                "{\"format\":\"credit-rules receipt 1\",\"decision_id\":17,\"uscc\":\"914201158544006819\",\"entity_name\":\"武汉市\\\"长江\\\"建设有限公司\",\"ruleset\":\"water\","
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\"total\":\"4.40\",\"vetoes\":[],\"flags\":[\"行政处罚\"]}"),
            "{text}"
        );
    }

    #[test]
    fn the_key_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let first = ReceiptKey::load_or_create(dir.path()).expect("created");
        let again = ReceiptKey::load_or_create(dir.path()).expect("read");
        assert_eq!(first.public_key_hex(), again.public_key_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), "not a key").expect("overwrite");
        assert!(matches!(
            ReceiptKey::load_or_create(dir.path()),
            Err(ReceiptError::Key { .. })
        ));
    }
}
