//! Signed decision receipts: what an evaluation decided, for whom, under which rules and on
//! which records, signed with the service's ed25519 key so that a bidder or a court can check
//! offline that a printed decision was not altered.
//!
//! **Two formats.** This build writes `credit-rules receipt 2` and verifies both it and the
//! older `credit-rules receipt 1`, which earlier releases wrote (those stay valid).
//!
//! **Format 1: canonical bytes.** The signature covers the UTF-8 bytes of the receipt's JSON
//! object *without* its `public_key` and `signature` fields, written compactly (no spaces or
//! line breaks), with the fields in this order: `format`, `decision_id`, `uscc`,
//! `entity_name`, `ruleset`, `version_id`, `as_of`, `known_at`, `decided_at`, `decision`,
//! `total`, `vetoes`, `flags`. Strings are JSON strings (RFC 8259; `"`, `\` and control
//! characters escaped, everything else as UTF-8), an absent `uscc` or `entity_name` is
//! `null`, `decision_id` is a number, `total` is a decimal string, times are RFC 3339 UTC
//! with milliseconds (`Z`), `vetoes` and `flags` are arrays of clause ids.
//! [`ReceiptBody::canonical_bytes`] writes them; [`verify`] rebuilds them from a receipt read
//! back.
//!
//! **Format 2: one signature for a batch.** Receipts made together (a tender's members, and
//! single evaluations whose decision-log entries were made durable by the same flush) are
//! signed once, over the root of a Merkle tree of their canonical bytes; each receipt
//! carries what is needed to check that it is one of the leaves (`batch`):
//!
//! - *Leaf bytes*: as in format 1 (same fields, order and encoding; `format` is
//!   `credit-rules receipt 2`), followed, when the caller gave a tender context, by
//!   `context`: the compact JSON object of the context's given fields in the order
//!   `project_type`, `sector`, `budget` (the budget a decimal string in yuan), e.g.
//!   `…,"flags":[],"context":{"sector":"水务","budget":"5000000"}}`. Without a context the
//!   field is left out.
//! - *Hashes* (SHA-256, domain-separated as in RFC 6962 so that a leaf can never pass for an
//!   inner node): a leaf's hash is `SHA-256(0x00 ‖ leaf bytes)`, an inner node's
//!   `SHA-256(0x01 ‖ left ‖ right)`.
//! - *Tree*: the RFC 6962 Merkle tree of the `n` leaf hashes in batch order: one leaf is its
//!   own root; otherwise, with `k` the largest power of two below `n`, the root is the node
//!   of the tree of the first `k` leaves and the tree of the remaining `n − k`.
//! - *Receipt*: `batch.index` (the leaf's position, from 0), `batch.size` (`n`),
//!   `batch.path` (the RFC 6962 inclusion path: the sibling hashes from the leaf up, 64 hex
//!   digits each) and `batch.root` (64 hex digits).
//! - *Signature*: ed25519 over the ASCII bytes `credit-rules receipt 2 batch`, a zero byte,
//!   `n` as 8 bytes big-endian, then the 32 root bytes.
//!
//! [`verify`] recomputes the leaf hash from the receipt's fields, climbs `path` as RFC 9162
//! §2.1.3.2 does, and refuses the receipt when that does not give `root` (a field, the index
//! or the path was altered: [`ReceiptError::NotInBatch`]) or when the signature does not
//! cover `root` and `size` ([`ReceiptError::BadSignature`]). The path shows a holder only
//! hashes of the other receipts of its batch, never their content.
//!
//! **Keys.** [`ReceiptKey::load_or_create`] keeps the 32-byte secret seed as 64 hex digits in
//! a file of the data folder, created on first start with permissions 0600 (owner only).

use crate::context::TenderContext;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The `format` of the receipts this build writes.
pub const RECEIPT_FORMAT: &str = "credit-rules receipt 2";

/// The `format` of the receipts earlier releases wrote (one signature per receipt); still
/// verified.
pub const RECEIPT_FORMAT_1: &str = "credit-rules receipt 1";

/// What a format-2 signature signs before the batch size and the root.
const BATCH_DOMAIN: &[u8] = b"credit-rules receipt 2 batch\0";

/// The file name of the key in the data folder.
pub const KEY_FILE: &str = "receipt-key";

/// What a receipt states. Field order is the canonical order (see the module header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptBody {
    /// [`RECEIPT_FORMAT`] (or [`RECEIPT_FORMAT_1`] in receipts of earlier releases).
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
    /// Since API 1.4 (format 2 only). The tender context the caller gave (`tender.budget`
    /// …), signed with the decision; absent when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<TenderContext>,
}

/// Where a format-2 receipt sits in the batch whose Merkle root was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBatch {
    /// The receipt's leaf position in the batch, from 0.
    pub index: u64,
    /// How many receipts were signed together.
    pub size: u64,
    /// The inclusion path: the sibling hashes from the leaf up to the root (SHA-256, 64 hex
    /// digits each; RFC 6962).
    pub path: Vec<String>,
    /// The Merkle root the signature covers, 64 hex digits.
    pub root: String,
}

/// A signed receipt: the body, where it sits in its signed batch (format 2), the public key
/// that signed it and the signature (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// What is stated.
    #[serde(flatten)]
    pub body: ReceiptBody,
    /// Since API 1.4 (format 2). The receipt's place in the batch signed together: check it
    /// with `credit-rules receipt verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<ReceiptBatch>,
    /// The signer's ed25519 public key, 64 hex digits (compare it with the service's
    /// published key: `GET /api/v1/receipts/public-key`).
    pub public_key: String,
    /// The ed25519 signature, 128 hex digits: of the canonical bytes (format 1), or of the
    /// batch's size and Merkle root (format 2).
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
    /// A format-2 receipt whose content, `batch.index` or `batch.path` does not lead to its
    /// `batch.root`.
    #[error(
        "the receipt is not part of the signed batch: its fields, `batch.index` or `batch.path` \
         do not lead to `batch.root`, so one of them was altered"
    )]
    NotInBatch,
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
            context: None,
        }
    }

    /// The same body stating the tender context the decision was made in (none when it is
    /// empty).
    pub fn in_context(mut self, context: &TenderContext) -> ReceiptBody {
        self.context = (!context.is_empty()).then(|| context.clone());
        self
    }

    /// The bytes the signature covers (format 1), or the leaf bytes (format 2); see the
    /// module header.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings, numbers and arrays cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn decimal_text(value: Decimal) -> String {
    value.to_string()
}

/// A SHA-256 hash.
type Hash = [u8; 32];

/// The hash of a leaf (its canonical bytes).
fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// The hash of an inner node.
fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The bytes a format-2 signature covers.
fn batch_message(size: u64, root: &Hash) -> Vec<u8> {
    let mut message = Vec::with_capacity(BATCH_DOMAIN.len() + 8 + 32);
    message.extend_from_slice(BATCH_DOMAIN);
    message.extend_from_slice(&size.to_be_bytes());
    message.extend_from_slice(root);
    message
}

/// The RFC 6962 Merkle tree of some leaf hashes, level by level from the leaves up: each
/// level pairs neighbours, and an odd last node moves up unchanged (which builds the same
/// tree as RFC 6962's split at the largest power of two).
struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree of `leaves` (at least one).
    fn new(leaves: Vec<Hash>) -> MerkleTree {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|level| level.len() > 1) {
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    // `chunks` never gives an empty slice: this is the odd last node.
                    single => single[0],
                })
                .collect();
            levels.push(above);
        }
        MerkleTree { levels }
    }

    fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|top| top.first())
            .copied()
            .unwrap_or_default()
    }

    /// The inclusion path of leaf `index`: its siblings from the leaf up (a level where the
    /// node moves up alone adds none).
    fn path(&self, mut index: usize) -> Vec<Hash> {
        let mut path = Vec::with_capacity(self.levels.len());
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            if let Some(sibling) = level.get(index ^ 1) {
                path.push(*sibling);
            }
            index /= 2;
        }
        path
    }
}

/// The root that `leaf` at `index` of a batch of `size` leads to along `path` (RFC 9162
/// §2.1.3.2), or why the path cannot be one of such a batch.
fn root_from_path(leaf: Hash, index: u64, size: u64, path: &[Hash]) -> Result<Hash, ReceiptError> {
    if index >= size {
        return Err(ReceiptError::Malformed(format!(
            "`batch.index` is {index}, not below `batch.size` {size}"
        )));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut root = leaf;
    for sibling in path {
        if s == 0 {
            return Err(ReceiptError::NotInBatch);
        }
        if f & 1 == 1 || f == s {
            root = node_hash(sibling, &root);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            root = node_hash(&root, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ReceiptError::NotInBatch);
    }
    Ok(root)
}

/// The service's signing key.
pub struct ReceiptKey {
    key: SigningKey,
    public_hex: String,
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptKey({})", self.public_key_hex())
    }
}

impl ReceiptKey {
    fn from_seed(seed: &[u8; 32]) -> ReceiptKey {
        let key = SigningKey::from_bytes(seed);
        let public_hex = hex(&key.verifying_key().to_bytes());
        ReceiptKey { key, public_hex }
    }

    /// A fresh key (kept in memory only: in-process services and tests).
    pub fn generate() -> Result<ReceiptKey, ReceiptError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ReceiptError::Key {
            path: "(memory)".into(),
            reason: format!("no random numbers: {e}"),
        })?;
        Ok(ReceiptKey::from_seed(&seed))
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
                Ok(ReceiptKey::from_seed(&seed))
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
        self.public_hex.clone()
    }

    /// Signs one receipt body (a batch of one).
    pub fn sign(&self, body: ReceiptBody) -> Receipt {
        let mut receipts = self.sign_batch(vec![body]);
        // A batch of one gives one receipt.
        receipts.swap_remove(0)
    }

    /// Signs several receipt bodies with one signature over their Merkle root (format 2, see
    /// the module header); the receipts come back in the order of `bodies`. Each body's
    /// `format` is set to [`RECEIPT_FORMAT`].
    pub fn sign_batch(&self, mut bodies: Vec<ReceiptBody>) -> Vec<Receipt> {
        if bodies.is_empty() {
            return Vec::new();
        }
        let leaves = bodies
            .iter_mut()
            .map(|body| {
                if body.format != RECEIPT_FORMAT {
                    body.format = RECEIPT_FORMAT.to_string();
                }
                leaf_hash(&body.canonical_bytes())
            })
            .collect();
        let tree = MerkleTree::new(leaves);
        let root = tree.root();
        let size = bodies.len() as u64;
        let signature = hex(&self.key.sign(&batch_message(size, &root)).to_bytes());
        let root = hex(&root);
        bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| Receipt {
                body,
                batch: Some(ReceiptBatch {
                    index: index as u64,
                    size,
                    path: tree.path(index).iter().map(|h| hex(h)).collect(),
                    root: root.clone(),
                }),
                public_key: self.public_hex.clone(),
                signature: signature.clone(),
            })
            .collect()
    }

    /// Signs one body the way earlier releases did (format 1: one signature over its
    /// canonical bytes, no batch, no context): for checking that such receipts still verify.
    pub fn sign_format_1(&self, mut body: ReceiptBody) -> Receipt {
        body.format = RECEIPT_FORMAT_1.to_string();
        body.context = None;
        let signature = self.key.sign(&body.canonical_bytes());
        Receipt {
            body,
            batch: None,
            public_key: self.public_hex.clone(),
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

/// Verifies a receipt of either format: its signature with the key it names (format 1: over
/// its canonical bytes; format 2: over its batch's root, which its fields and inclusion path
/// must lead to), and, when `trusted` is given (64 hex digits), that this is the key.
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
    let message = match receipt.body.format.as_str() {
        RECEIPT_FORMAT_1 => {
            if receipt.batch.is_some() || receipt.body.context.is_some() {
                return Err(ReceiptError::Malformed(format!(
                    "a `{RECEIPT_FORMAT_1}` has no `batch` and no `context`; they came with \
                     `{RECEIPT_FORMAT}`"
                )));
            }
            receipt.body.canonical_bytes()
        }
        RECEIPT_FORMAT => {
            let batch = receipt.batch.as_ref().ok_or_else(|| {
                ReceiptError::Malformed(format!(
                    "a `{RECEIPT_FORMAT}` needs its `batch` (index, size, path, root): give \
                     the receipt as the service answered it"
                ))
            })?;
            let stated = parse_hex::<32>(&batch.root).ok_or_else(|| {
                ReceiptError::Malformed("`batch.root` is not 64 hex digits".into())
            })?;
            let path = batch
                .path
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    parse_hex::<32>(h).ok_or_else(|| {
                        ReceiptError::Malformed(format!("`batch.path[{i}]` is not 64 hex digits"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let leaf = leaf_hash(&receipt.body.canonical_bytes());
            if root_from_path(leaf, batch.index, batch.size, &path)? != stated {
                return Err(ReceiptError::NotInBatch);
            }
            batch_message(batch.size, &stated)
        }
        other => {
            return Err(ReceiptError::Malformed(format!(
                "unknown `format` `{other}`: this build reads `{RECEIPT_FORMAT_1}` and \
                 `{RECEIPT_FORMAT}`"
            )));
        }
    };
    key.verify_strict(&message, &Signature::from_bytes(&signature))
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

/// What checking a pasted receipt found, for a verifier that trusts one key (a service
/// trusts its own): the receipt as read, whether it is intact under the key it names, and
/// whether that key is the trusted one.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The receipt as read.
    pub receipt: Receipt,
    /// `Ok` when the receipt is intact under the key it names; else why not.
    pub outcome: Result<(), ReceiptError>,
    /// Whether the key it names is the trusted key (whatever the outcome).
    pub by_trusted_key: bool,
}

impl Verdict {
    /// Whether the receipt is intact (signed by the key it names, unaltered).
    pub fn is_valid(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Reads and checks a receipt (see [`parse`] for what JSON is read): `Err` only when the text
/// is not a receipt; a receipt that was altered or is otherwise unusable is a [`Verdict`] whose
/// `outcome` says why. `trusted` (64 hex digits) only decides `by_trusted_key`: a receipt
/// intact under another key is valid but not the trusted key's.
pub fn check(json: &str, trusted: Option<&str>) -> Result<Verdict, ReceiptError> {
    let receipt = parse(json)?;
    let outcome = verify(&receipt, None);
    let by_trusted_key =
        trusted.is_some_and(|key| key.trim().eq_ignore_ascii_case(receipt.public_key.trim()));
    Ok(Verdict {
        receipt,
        outcome,
        by_trusted_key,
    })
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
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
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
        // Only hex digits: no sign, no spaces.
        assert_eq!(parse_hex::<1>("+a"), None);
        assert_eq!(parse_hex::<1>(" a"), None);
        assert_eq!(parse_hex::<1>("A0"), Some([0xa0]));
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
            context: None,
        }
    }

    fn numbered(n: u64) -> Vec<ReceiptBody> {
        (0..n)
            .map(|i| ReceiptBody {
                decision_id: 100 + i,
                ..body()
            })
            .collect()
    }

    /// The test key of the fixtures (tests/cases/receipts/reference.py).
    fn fixture_key() -> ReceiptKey {
        ReceiptKey::from_seed(&[7u8; 32])
    }

    const FORMAT_1: &str = include_str!("../tests/cases/receipts/format-1.json");
    const FORMAT_2: &str = include_str!("../tests/cases/receipts/format-2-batch.json");

    fn fixture_batch() -> Vec<Receipt> {
        serde_json::from_str(FORMAT_2).expect("fixture")
    }

    #[test]
    fn a_signed_receipt_verifies_after_a_round_trip_through_json() {
        let key = ReceiptKey::generate().expect("key");
        let receipt = key.sign(body());
        assert_eq!(receipt.body.format, RECEIPT_FORMAT);
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
    fn a_format_1_receipt_of_an_earlier_release_still_verifies() {
        let receipt = parse(FORMAT_1).expect("format 1");
        assert_eq!(receipt.body.format, RECEIPT_FORMAT_1);
        assert_eq!(receipt.batch, None);
        let key = fixture_key();
        assert_eq!(verify(&receipt, Some(&key.public_key_hex())), Ok(()));
        // This build signs format 1 to the very same bytes (ed25519 is deterministic).
        assert_eq!(key.sign_format_1(body()), receipt);
        let mut worse = receipt.clone();
        worse.body.total = "5.40".into();
        assert_eq!(verify(&worse, None), Err(ReceiptError::BadSignature));
        // Format 1 signed no context and had no batch: one added is refused, not ignored.
        let mut with_context = receipt.clone();
        with_context.body.context = Some(TenderContext {
            sector: Some("水务".into()),
            ..TenderContext::default()
        });
        assert!(matches!(
            verify(&with_context, None),
            Err(ReceiptError::Malformed(m)) if m.contains("no `batch` and no `context`")
        ));
        // Passed off as format 2: the signature is not over a batch root.
        let mut relabelled = key.sign(body());
        relabelled.signature = receipt.signature.clone();
        assert_eq!(verify(&relabelled, None), Err(ReceiptError::BadSignature));
    }

    #[test]
    fn the_reference_batch_verifies_and_this_build_signs_it_to_the_same_bytes() {
        let fixture = fixture_batch();
        assert_eq!(fixture.len(), 3);
        for receipt in &fixture {
            assert_eq!(
                verify(receipt, Some(&fixture_key().public_key_hex())),
                Ok(())
            );
        }
        let bodies = fixture.iter().map(|r| r.body.clone()).collect();
        assert_eq!(fixture_key().sign_batch(bodies), fixture);
        // The context is signed: its canonical bytes end with it.
        let text = String::from_utf8(fixture[2].body.canonical_bytes()).expect("utf-8");
        assert!(
            text.ends_with(
                "\"flags\":[],\"context\":{\"project_type\":\"施工\",\"budget\":\"5000000.00\"}}"
            ),
            "{text}"
        );
    }

    #[test]
    fn tampering_with_any_part_of_a_batched_receipt_is_refused() {
        let receipt = fixture_batch().swap_remove(1);
        assert_eq!(verify(&receipt, None), Ok(()));
        let refused = |change: &dyn Fn(&mut Receipt)| {
            let mut worse = receipt.clone();
            change(&mut worse);
            verify(&worse, None)
        };
        // The leaf: any stated fact.
        assert_eq!(
            refused(&|r| r.body.decision = "disqualified".into()),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| r.body.decision_id = 17),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| r.body.context = Some(TenderContext {
                budget: Some(Decimal::from(1)),
                ..TenderContext::default()
            })),
            Err(ReceiptError::NotInBatch)
        );
        // The path: a sibling changed, dropped, added, or the index moved.
        assert_eq!(
            refused(&|r| r.batch.as_mut().expect("batch").path[0] = "00".repeat(32)),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| {
                r.batch.as_mut().expect("batch").path.pop();
            }),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| r.batch.as_mut().expect("batch").path.push("00".repeat(32))),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| r.batch.as_mut().expect("batch").index = 0),
            Err(ReceiptError::NotInBatch)
        );
        assert!(matches!(
            refused(&|r| r.batch.as_mut().expect("batch").index = 3),
            Err(ReceiptError::Malformed(m)) if m.contains("batch.index")
        ));
        // The root, or the size it was signed with: the signature no longer matches.
        assert_eq!(
            refused(&|r| r.batch.as_mut().expect("batch").root = "11".repeat(32)),
            Err(ReceiptError::NotInBatch)
        );
        assert_eq!(
            refused(&|r| r.batch.as_mut().expect("batch").size = 4),
            Err(ReceiptError::BadSignature)
        );
        assert_eq!(
            refused(&|r| r.signature = "00".repeat(64)),
            Err(ReceiptError::BadSignature)
        );
        // A root that the altered content does lead to, but that was never signed.
        let other = fixture_key().sign_batch(numbered(3)).swap_remove(1);
        let mut spliced = other.clone();
        spliced.signature = receipt.signature.clone();
        assert_eq!(verify(&spliced, None), Err(ReceiptError::BadSignature));
        // No batch, a garbled path entry.
        assert!(matches!(
            refused(&|r| r.batch = None),
            Err(ReceiptError::Malformed(m)) if m.contains("needs its `batch`")
        ));
        assert!(matches!(
            refused(&|r| r.batch.as_mut().expect("batch").path[0] = "zz".into()),
            Err(ReceiptError::Malformed(m)) if m.contains("batch.path[0]")
        ));
        assert!(matches!(
            refused(&|r| r.body.format = "credit-rules receipt 9".into()),
            Err(ReceiptError::Malformed(m)) if m.contains("unknown `format`")
        ));
        // Re-signed by someone else: valid for that key, not for the service's.
        let forged = ReceiptKey::generate()
            .expect("key")
            .sign(receipt.body.clone());
        assert_eq!(verify(&forged, None), Ok(()));
        assert!(matches!(
            verify(&forged, Some(&fixture_key().public_key_hex())),
            Err(ReceiptError::WrongKey { .. })
        ));
    }

    /// RFC 6962's recursive definition of the tree's root, to check the level-by-level build.
    fn reference_root(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        // The largest power of two below the number of leaves.
        let k = 1usize << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
        node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
    }

    #[test]
    fn every_receipt_of_batches_of_every_size_verifies_alone() {
        let key = ReceiptKey::generate().expect("key");
        for n in 1..=33u64 {
            let receipts = key.sign_batch(numbered(n));
            assert_eq!(receipts.len() as u64, n);
            let leaves: Vec<Hash> = receipts
                .iter()
                .map(|r| leaf_hash(&r.body.canonical_bytes()))
                .collect();
            let root = hex(&reference_root(&leaves));
            for (i, receipt) in receipts.iter().enumerate() {
                let batch = receipt.batch.as_ref().expect("batch");
                assert_eq!((batch.index, batch.size), (i as u64, n));
                assert_eq!(batch.root, root, "n = {n}");
                assert_eq!(receipt.body.decision_id, 100 + i as u64);
                assert_eq!(verify(receipt, None), Ok(()), "n = {n}, leaf {i}");
                // Another leaf's path does not fit this one.
                if n > 1 {
                    let mut swapped = receipt.clone();
                    swapped.batch = receipts[(i + 1) % n as usize].batch.clone();
                    assert!(verify(&swapped, None).is_err(), "n = {n}, leaf {i}");
                }
            }
        }
    }

    #[test]
    fn the_canonical_bytes_are_compact_json_in_the_documented_order() {
        let text = String::from_utf8(body().canonical_bytes()).expect("utf-8");
        assert!(
            text.starts_with(
                "{\"format\":\"credit-rules receipt 2\",\"decision_id\":17,\"uscc\":\"914201158544006819\",\"entity_name\":\"武汉市\\\"长江\\\"建设有限公司\",\"ruleset\":\"water\","
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\"total\":\"4.40\",\"vetoes\":[],\"flags\":[\"行政处罚\"]}"),
            "{text}"
        );
        let in_context = body().in_context(&TenderContext {
            sector: Some("水务".into()),
            ..TenderContext::default()
        });
        let text = String::from_utf8(in_context.canonical_bytes()).expect("utf-8");
        assert!(
            text.ends_with("\"flags\":[\"行政处罚\"],\"context\":{\"sector\":\"水务\"}}"),
            "{text}"
        );
        // An empty context is no context.
        assert_eq!(body().in_context(&TenderContext::NONE).context, None);
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

    #[test]
    fn check_tells_intact_altered_and_foreign_receipts_and_refuses_non_receipts() {
        let ours = ReceiptKey::generate().expect("key");
        let theirs = ReceiptKey::generate().expect("key");
        let own = ours.public_key_hex();
        let signed = serde_json::to_string(&ours.sign(body())).expect("json");
        let verdict = check(&signed, Some(&own.to_ascii_uppercase())).expect("a receipt");
        assert!(verdict.is_valid() && verdict.by_trusted_key);

        let answer = format!("{{\"decision\":\"eligible\",\"receipt\":{signed}}}");
        assert!(check(&answer, Some(&own)).expect("an answer").is_valid());

        let altered = signed.replace("\"total\":\"4.40\"", "\"total\":\"9.40\"");
        assert_ne!(altered, signed);
        let verdict = check(&altered, Some(&own)).expect("still a receipt");
        assert_eq!(verdict.outcome, Err(ReceiptError::NotInBatch));
        assert!(verdict.by_trusted_key);

        let foreign = serde_json::to_string(&theirs.sign(body())).expect("json");
        let verdict = check(&foreign, Some(&own)).expect("a receipt");
        assert!(verdict.is_valid() && !verdict.by_trusted_key);

        assert!(matches!(check("{", None), Err(ReceiptError::Malformed(_))));
        assert!(matches!(
            check("{\"format\":\"x\"}", None),
            Err(ReceiptError::Malformed(_))
        ));
    }
}
