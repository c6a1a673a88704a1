//! Byte layouts of the store: key builders, order-preserving integer and date encodings, and
//! the postcard-encoded values. Nothing here touches sled; [`super`] owns the trees.
//!
//! Every integer in a key is big-endian so that sled's byte order is numeric order; signed
//! integers have their sign bit flipped first. Dates are days since 0001-01-01
//! ([`NaiveDate::num_days_from_ce`]) encoded the same way.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::record::{CreditRecord, RecordKind, Severity, Uscc};

/// Length of a 统一社会信用代码 in bytes (it is ASCII).
pub(super) const USCC_LEN: usize = 18;

/// Separator between a USCC (fixed length) or a variable-length text and what follows.
pub(super) const SEP: u8 = 0x00;

/// Key bytes meaning "no disclosure end" (disclosed until removed); sorts after every date.
pub(super) const NO_END: [u8; 4] = [0xFF; 4];

/// Order-preserving encoding of an `i32`.
pub(super) fn i32_key(v: i32) -> [u8; 4] {
    ((v as u32) ^ 0x8000_0000).to_be_bytes()
}

/// A date as days since the common era.
pub(super) fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// The inverse of [`day_number`].
pub(super) fn from_day_number(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days)
}

/// Order-preserving date key.
pub(super) fn date_key(date: NaiveDate) -> [u8; 4] {
    i32_key(day_number(date))
}

/// `uscc ‖ 0x00 ‖ id`: the key of a record in `records`.
pub(super) fn record_key(uscc: &Uscc, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(USCC_LEN + 1 + id.len());
    key.extend_from_slice(uscc.as_str().as_bytes());
    key.push(SEP);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `uscc ‖ 0x00`: the prefix of an entity's records.
pub(super) fn entity_prefix(uscc: &Uscc) -> Vec<u8> {
    let mut key = Vec::with_capacity(USCC_LEN + 1);
    key.extend_from_slice(uscc.as_str().as_bytes());
    key.push(SEP);
    key
}

/// `uscc ‖ 0x00 ‖ id ‖ 0x00`: the prefix of a record's history.
pub(super) fn history_prefix(uscc: &Uscc, id: &str) -> Vec<u8> {
    let mut key = record_key(uscc, id);
    key.push(SEP);
    key
}

/// `uscc ‖ 0x00 ‖ id ‖ 0x00 ‖ rev (u32 BE)`: one previous version in `record_history`.
pub(super) fn history_key(uscc: &Uscc, id: &str, rev: u32) -> Vec<u8> {
    let mut key = history_prefix(uscc, id);
    key.extend_from_slice(&rev.to_be_bytes());
    key
}

/// `kind index (1 byte) ‖ uscc ‖ 0x00 ‖ id`: an entry of `records_by_kind`.
pub(super) fn kind_key(kind: RecordKind, uscc: &Uscc, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + USCC_LEN + 1 + id.len());
    key.push(kind.index());
    key.extend_from_slice(&record_key(uscc, id));
    key
}

/// A rule-set id or cursor name followed by the separator: a prefix for per-name listings.
pub(super) fn name_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.extend_from_slice(name.as_bytes());
    key.push(SEP);
    key
}

/// `name ‖ 0x00 ‖ n (BE)`.
pub(super) fn name_seq_key(name: &str, seq: &[u8]) -> Vec<u8> {
    let mut key = name_prefix(name);
    key.extend_from_slice(seq);
    key
}

// ---------------------------------------------------------------------------------------------
// Stored values
// ---------------------------------------------------------------------------------------------

/// A record as the source sent it, in a compact form that postcard can encode (postcard is not
/// self-describing, so `CreditRecord`'s optional-field skipping and `Decimal`'s serde form
/// cannot be used directly). Kinds and severities are stored by their stable index; dates as
/// day numbers; the amount as its decimal text, which keeps its scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RecordBody {
    pub id: String,
    pub uscc: String,
    pub entity_name: Option<String>,
    pub kind: u8,
    pub authority: Option<String>,
    pub document_no: Option<String>,
    pub decided_on: i32,
    pub disclosure_until: Option<i32>,
    pub severity: Option<u8>,
    pub sector: Option<String>,
    pub penalty_type: Option<String>,
    pub amount: Option<String>,
    pub grade: Option<String>,
    pub legal_basis: Option<String>,
    pub description: Option<String>,
    pub repaired_on: Option<i32>,
    pub revoked_on: Option<i32>,
}

fn severity_index(s: Severity) -> u8 {
    match s {
        Severity::Minor => 0,
        Severity::General => 1,
        Severity::Serious => 2,
    }
}

impl RecordBody {
    pub fn from_record(r: &CreditRecord) -> RecordBody {
        RecordBody {
            id: r.id.clone(),
            uscc: r.uscc.as_str().to_owned(),
            entity_name: r.entity_name.clone(),
            kind: r.kind.index(),
            authority: r.authority.clone(),
            document_no: r.document_no.clone(),
            decided_on: day_number(r.decided_on),
            disclosure_until: r.disclosure_until.map(day_number),
            severity: r.severity.map(severity_index),
            sector: r.sector.clone(),
            penalty_type: r.penalty_type.clone(),
            amount: r.amount.map(|a| a.to_string()),
            grade: r.grade.clone(),
            legal_basis: r.legal_basis.clone(),
            description: r.description.clone(),
            repaired_on: r.repaired_on.map(day_number),
            revoked_on: r.revoked_on.map(day_number),
        }
    }

    /// Decodes into the record model; `Err` names the field that does not decode.
    pub fn to_record(&self) -> Result<CreditRecord, String> {
        let date = |d: i32, field: &str| {
            from_day_number(d).ok_or_else(|| format!("field `{field}` holds day number {d}"))
        };
        let opt_date = |d: Option<i32>, field: &str| d.map(|d| date(d, field)).transpose();
        let uscc = Uscc::parse(&self.uscc).map_err(|e| format!("field `uscc`: {e}"))?;
        let kind = kind_at(self.kind)?;
        let severity = self.severity.map(severity_at).transpose()?;
        let amount = match &self.amount {
            None => None,
            Some(text) => Some(
                Decimal::from_str(text)
                    .map_err(|e| format!("field `amount` holds `{text}`: {e}"))?,
            ),
        };
        Ok(CreditRecord {
            id: self.id.clone(),
            uscc,
            entity_name: self.entity_name.clone(),
            kind,
            authority: self.authority.clone(),
            document_no: self.document_no.clone(),
            decided_on: date(self.decided_on, "decided_on")?,
            published_on: None,
            disclosure_until: opt_date(self.disclosure_until, "disclosure_until")?,
            valid_until: None,
            severity,
            sector: self.sector.clone(),
            penalty_type: self.penalty_type.clone(),
            amount,
            grade: self.grade.clone(),
            legal_basis: self.legal_basis.clone(),
            description: self.description.clone(),
            repaired_on: opt_date(self.repaired_on, "repaired_on")?,
            revoked_on: opt_date(self.revoked_on, "revoked_on")?,
        })
    }
}

/// A repair or revocation applied by an event, kept apart from the source's record so that a
/// later re-send of the record by the source does not wipe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct EventMark {
    pub date: i32,
    pub applied_at_ms: i64,
    pub authority: Option<String>,
    pub note: Option<String>,
}

/// The value of `records` (and of `record_history`): one version of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredRecord {
    /// Version number, 1 for the first version; bumped by every change.
    pub rev: u32,
    /// When this version was written (Unix milliseconds).
    pub stored_at_ms: i64,
    /// The record as the source last sent it.
    pub body: RecordBody,
    /// Repair applied by an event, if any.
    pub repair: Option<EventMark>,
    /// Revocation applied by an event, if any.
    pub revoke: Option<EventMark>,
    /// The record's dates added after the first layout (the source's, like `body`). Last,
    /// so that a value written without it still decodes: see [`decode_stored_record`].
    pub dates: RecordDates,
}

/// Record dates that the store's first layout did not have, appended after every older field
/// of [`StoredRecord`] and [`EvalRecord`] (day numbers like the other dates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RecordDates {
    /// `published_on`.
    pub published_on: Option<i32>,
    /// `valid_until`.
    pub valid_until: Option<i32>,
}

impl RecordDates {
    /// The dates of a record.
    pub fn of(record: &CreditRecord) -> RecordDates {
        RecordDates {
            published_on: record.published_on.map(day_number),
            valid_until: record.valid_until.map(day_number),
        }
    }

    /// Sets the record's dates; `Err` names the field that does not decode.
    fn apply(self, record: &mut CreditRecord) -> Result<(), String> {
        let date = |d: Option<i32>, field: &str| {
            d.map(|d| {
                from_day_number(d).ok_or_else(|| format!("field `{field}` holds day number {d}"))
            })
            .transpose()
        };
        record.published_on = date(self.published_on, "published_on")?;
        record.valid_until = date(self.valid_until, "valid_until")?;
        Ok(())
    }
}

/// [`StoredRecord`] as written before [`RecordDates`] existed.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct StoredRecordV1 {
    rev: u32,
    stored_at_ms: i64,
    body: RecordBody,
    repair: Option<EventMark>,
    revoke: Option<EventMark>,
}

/// Decodes a value of `records` or `record_history`, in the current layout or the one
/// before [`RecordDates`] (which then reads as no dates).
///
/// Postcard ignores bytes after a value, so the current layout is tried first: an older
/// value is shorter and fails it (its dates are missing), and then decodes as the older one.
pub(super) fn decode_stored_record(bytes: &[u8]) -> Result<StoredRecord, String> {
    match decode::<StoredRecord>(bytes) {
        Ok(stored) => Ok(stored),
        Err(current) => {
            let old: StoredRecordV1 = decode(bytes).map_err(|_| current)?;
            Ok(StoredRecord {
                rev: old.rev,
                stored_at_ms: old.stored_at_ms,
                body: old.body,
                repair: old.repair,
                revoke: old.revoke,
                dates: RecordDates::default(),
            })
        }
    }
}

/// The bytes the previous release wrote for `stored` (no [`RecordDates`]), for tests of
/// reading an older store.
#[cfg(test)]
pub(super) fn encode_record_v1(stored: &StoredRecord) -> Vec<u8> {
    let old = StoredRecordV1 {
        rev: stored.rev,
        stored_at_ms: stored.stored_at_ms,
        body: stored.body.clone(),
        repair: stored.repair.clone(),
        revoke: stored.revoke.clone(),
    };
    encode(&old).expect("a record encodes")
}

impl StoredRecord {
    /// The record as it counts: the source's record, with `repaired_on` / `revoked_on` taken
    /// from the events where the source itself gives none.
    pub fn effective(&self) -> Result<CreditRecord, String> {
        let mut record = self.body.to_record()?;
        self.dates.apply(&mut record)?;
        if record.repaired_on.is_none()
            && let Some(mark) = &self.repair
        {
            record.repaired_on = Some(
                from_day_number(mark.date)
                    .ok_or_else(|| format!("repair event holds day number {}", mark.date))?,
            );
        }
        if record.revoked_on.is_none()
            && let Some(mark) = &self.revoke
        {
            record.revoked_on = Some(
                from_day_number(mark.date)
                    .ok_or_else(|| format!("revocation event holds day number {}", mark.date))?,
            );
        }
        Ok(record)
    }
}

/// A borrowed view of a [`StoredRecord`]'s bytes: the same postcard layout field by field
/// (postcard is positional, so the order and types must match [`StoredRecord`],
/// [`RecordBody`] and [`EventMark`]; a test decodes one as the other), with texts borrowed
/// from the buffer instead of allocated. The scan for evaluation decodes through it.
#[derive(Debug, Deserialize)]
// Every field is decoded to follow postcard's positional layout; evaluation skips some.
#[allow(dead_code)]
pub(super) struct StoredRecordView<'a> {
    pub rev: u32,
    pub stored_at_ms: i64,
    #[serde(borrow)]
    pub body: RecordBodyView<'a>,
    #[serde(borrow)]
    pub repair: Option<EventMarkView<'a>>,
    #[serde(borrow)]
    pub revoke: Option<EventMarkView<'a>>,
    pub dates: RecordDates,
}

/// Borrowed [`StoredRecordV1`].
#[derive(Debug, Deserialize)]
struct StoredRecordViewV1<'a> {
    rev: u32,
    stored_at_ms: i64,
    #[serde(borrow)]
    body: RecordBodyView<'a>,
    #[serde(borrow)]
    repair: Option<EventMarkView<'a>>,
    #[serde(borrow)]
    revoke: Option<EventMarkView<'a>>,
}

/// Decodes a [`StoredRecordView`] in either layout, as [`decode_stored_record`].
pub(super) fn decode_stored_view(bytes: &[u8]) -> Result<StoredRecordView<'_>, String> {
    match decode::<StoredRecordView<'_>>(bytes) {
        Ok(view) => Ok(view),
        Err(current) => {
            let old: StoredRecordViewV1<'_> = decode(bytes).map_err(|_| current)?;
            Ok(StoredRecordView {
                rev: old.rev,
                stored_at_ms: old.stored_at_ms,
                body: old.body,
                repair: old.repair,
                revoke: old.revoke,
                dates: RecordDates::default(),
            })
        }
    }
}

/// Borrowed [`RecordBody`].
#[derive(Debug, Deserialize)]
// Every field is decoded to follow postcard's positional layout; evaluation skips some.
#[allow(dead_code)]
pub(super) struct RecordBodyView<'a> {
    pub id: &'a str,
    pub uscc: &'a str,
    /// Left as bytes: evaluation does not read it, so its UTF-8 is not checked.
    #[serde(borrow)]
    pub entity_name: Option<&'a [u8]>,
    pub kind: u8,
    #[serde(borrow)]
    pub authority: Option<&'a str>,
    #[serde(borrow)]
    pub document_no: Option<&'a str>,
    pub decided_on: i32,
    pub disclosure_until: Option<i32>,
    pub severity: Option<u8>,
    #[serde(borrow)]
    pub sector: Option<&'a str>,
    #[serde(borrow)]
    pub penalty_type: Option<&'a str>,
    #[serde(borrow)]
    pub amount: Option<&'a str>,
    #[serde(borrow)]
    pub grade: Option<&'a str>,
    /// Left as bytes: evaluation does not read it, so its UTF-8 is not checked.
    #[serde(borrow)]
    pub legal_basis: Option<&'a [u8]>,
    /// Left as bytes: evaluation does not read it, so its UTF-8 is not checked.
    #[serde(borrow)]
    pub description: Option<&'a [u8]>,
    pub repaired_on: Option<i32>,
    pub revoked_on: Option<i32>,
}

/// Borrowed [`EventMark`].
#[derive(Debug, Deserialize)]
// Every field is decoded to follow postcard's positional layout; evaluation reads the date.
#[allow(dead_code)]
pub(super) struct EventMarkView<'a> {
    pub date: i32,
    pub applied_at_ms: i64,
    #[serde(borrow)]
    pub authority: Option<&'a [u8]>,
    #[serde(borrow)]
    pub note: Option<&'a [u8]>,
}

impl StoredRecordView<'_> {
    /// The record as it counts (events applied, as [`StoredRecord::effective`]), with only
    /// the fields that rules can read: the entity name, legal basis and description are left
    /// out. `uscc` is the entity's code, parsed once for all its records; a record naming
    /// another entity is an error.
    pub fn evaluation_record(&self, uscc: &Uscc) -> Result<CreditRecord, String> {
        let body = &self.body;
        if body.uscc != uscc.as_str() {
            return Err(format!(
                "field `uscc` holds `{}` under the key of entity {uscc}",
                body.uscc
            ));
        }
        let date = |d: i32, field: &str| {
            from_day_number(d).ok_or_else(|| format!("field `{field}` holds day number {d}"))
        };
        let opt_date = |d: Option<i32>, field: &str| d.map(|d| date(d, field)).transpose();
        let kind = kind_at(body.kind)?;
        let severity = body.severity.map(severity_at).transpose()?;
        let amount = match body.amount {
            None => None,
            Some(text) => Some(
                Decimal::from_str(text)
                    .map_err(|e| format!("field `amount` holds `{text}`: {e}"))?,
            ),
        };
        let repaired_on = body.repaired_on.or(self.repair.as_ref().map(|m| m.date));
        let revoked_on = body.revoked_on.or(self.revoke.as_ref().map(|m| m.date));
        let owned = |text: Option<&str>| text.map(str::to_owned);
        Ok(CreditRecord {
            id: body.id.to_owned(),
            uscc: uscc.clone(),
            entity_name: None,
            kind,
            authority: owned(body.authority),
            document_no: owned(body.document_no),
            decided_on: date(body.decided_on, "decided_on")?,
            published_on: opt_date(self.dates.published_on, "published_on")?,
            disclosure_until: opt_date(body.disclosure_until, "disclosure_until")?,
            valid_until: opt_date(self.dates.valid_until, "valid_until")?,
            severity,
            sector: owned(body.sector),
            penalty_type: owned(body.penalty_type),
            amount,
            grade: owned(body.grade),
            legal_basis: None,
            description: None,
            repaired_on: opt_date(repaired_on, "repaired_on")?,
            revoked_on: opt_date(revoked_on, "revoked_on")?,
        })
    }
}

/// The record fields that rules can read ([`Field`]); the exhaustive match makes a new field
/// fail to compile here (in test builds, which CI runs) until
/// [`StoredRecordView::evaluation_record`] is checked to keep it.
#[cfg(test)]
pub(super) const fn kept_for_evaluation(field: crate::ir::Field) -> &'static str {
    use crate::ir::Field;
    match field {
        Field::Id => "id",
        Field::Kind => "kind",
        Field::Date => "decided_on",
        Field::Until => "disclosure_until",
        Field::PublishedOn => "published_on",
        Field::ValidUntil => "valid_until",
        Field::Severity => "severity",
        Field::Sector => "sector",
        Field::Authority => "authority",
        Field::DocumentNo => "document_no",
        Field::Penalty => "penalty_type",
        Field::Amount => "amount",
        Field::Grade => "grade",
        Field::Status | Field::RepairedOn => "repaired_on",
    }
}

/// First byte of an `entity_eval` value: the layout of what follows (a later layout gets
/// another tag, so a reader can tell them apart).
pub(super) const EVAL_VIEW_LAYOUT: u8 = 2;

/// The layout before [`RecordDates`]: [`EvalRecordV1`] records, still read (as no dates),
/// never written.
const EVAL_VIEW_LAYOUT_V1: u8 = 1;

/// One record in an `entity_eval` value: the record as it counts (events applied) with only
/// the fields rules can read, i.e. what [`StoredRecordView::evaluation_record`] keeps. The
/// amount is kept as [`Decimal::serialize`]'s 16 bytes (value and scale exactly as read from
/// the record, no text to parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct EvalRecord {
    pub id: String,
    pub kind: u8,
    pub authority: Option<String>,
    pub document_no: Option<String>,
    pub decided_on: i32,
    pub disclosure_until: Option<i32>,
    pub severity: Option<u8>,
    pub sector: Option<String>,
    pub penalty_type: Option<String>,
    pub amount: Option<[u8; 16]>,
    pub grade: Option<String>,
    /// Effective: the source's date, else the repair event's.
    pub repaired_on: Option<i32>,
    /// Effective: the source's date, else the revocation event's.
    pub revoked_on: Option<i32>,
    /// Publication and validity dates (layout 2 on).
    pub dates: RecordDates,
}

/// Borrowed [`EvalRecord`] (same positional layout), which the scan decodes through.
#[derive(Debug, Deserialize)]
pub(super) struct EvalRecordView<'a> {
    pub id: &'a str,
    pub kind: u8,
    #[serde(borrow)]
    pub authority: Option<&'a str>,
    #[serde(borrow)]
    pub document_no: Option<&'a str>,
    pub decided_on: i32,
    pub disclosure_until: Option<i32>,
    pub severity: Option<u8>,
    #[serde(borrow)]
    pub sector: Option<&'a str>,
    #[serde(borrow)]
    pub penalty_type: Option<&'a str>,
    pub amount: Option<[u8; 16]>,
    #[serde(borrow)]
    pub grade: Option<&'a str>,
    pub repaired_on: Option<i32>,
    pub revoked_on: Option<i32>,
    pub dates: RecordDates,
}

/// An [`EvalRecordView`] of layout 1: the same fields without the dates.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct EvalRecordViewV1<'a> {
    id: &'a str,
    kind: u8,
    #[serde(borrow)]
    authority: Option<&'a str>,
    #[serde(borrow)]
    document_no: Option<&'a str>,
    decided_on: i32,
    disclosure_until: Option<i32>,
    severity: Option<u8>,
    #[serde(borrow)]
    sector: Option<&'a str>,
    #[serde(borrow)]
    penalty_type: Option<&'a str>,
    amount: Option<[u8; 16]>,
    #[serde(borrow)]
    grade: Option<&'a str>,
    repaired_on: Option<i32>,
    revoked_on: Option<i32>,
}

impl<'a> From<EvalRecordViewV1<'a>> for EvalRecordView<'a> {
    fn from(v: EvalRecordViewV1<'a>) -> Self {
        EvalRecordView {
            id: v.id,
            kind: v.kind,
            authority: v.authority,
            document_no: v.document_no,
            decided_on: v.decided_on,
            disclosure_until: v.disclosure_until,
            severity: v.severity,
            sector: v.sector,
            penalty_type: v.penalty_type,
            amount: v.amount,
            grade: v.grade,
            repaired_on: v.repaired_on,
            revoked_on: v.revoked_on,
            dates: RecordDates::default(),
        }
    }
}

impl EvalRecordView<'_> {
    /// The owned record.
    fn to_owned_record(&self) -> EvalRecord {
        let owned = |text: Option<&str>| text.map(str::to_owned);
        EvalRecord {
            id: self.id.to_owned(),
            kind: self.kind,
            authority: owned(self.authority),
            document_no: owned(self.document_no),
            decided_on: self.decided_on,
            disclosure_until: self.disclosure_until,
            severity: self.severity,
            sector: owned(self.sector),
            penalty_type: owned(self.penalty_type),
            amount: self.amount,
            grade: owned(self.grade),
            repaired_on: self.repaired_on,
            revoked_on: self.revoked_on,
            dates: self.dates,
        }
    }
}

impl EvalRecord {
    /// The evaluation form of a record as it counts (events applied).
    pub fn of(record: &CreditRecord) -> EvalRecord {
        EvalRecord {
            id: record.id.clone(),
            kind: record.kind.index(),
            authority: record.authority.clone(),
            document_no: record.document_no.clone(),
            decided_on: day_number(record.decided_on),
            disclosure_until: record.disclosure_until.map(day_number),
            severity: record.severity.map(severity_index),
            sector: record.sector.clone(),
            penalty_type: record.penalty_type.clone(),
            amount: record.amount.map(|a| a.serialize()),
            grade: record.grade.clone(),
            repaired_on: record.repaired_on.map(day_number),
            revoked_on: record.revoked_on.map(day_number),
            dates: RecordDates::of(record),
        }
    }
}

/// The record kind stored as an index.
fn kind_at(index: u8) -> Result<RecordKind, String> {
    RecordKind::ALL
        .get(usize::from(index))
        .copied()
        .ok_or_else(|| format!("field `kind` holds unknown kind index {index}"))
}

/// The severity stored as an index.
fn severity_at(index: u8) -> Result<Severity, String> {
    Severity::ALL
        .get(usize::from(index))
        .copied()
        .ok_or_else(|| format!("field `severity` holds unknown index {index}"))
}

impl EvalRecordView<'_> {
    /// The record for evaluation, as [`StoredRecordView::evaluation_record`] gives it.
    pub fn to_record(&self, uscc: &Uscc) -> Result<CreditRecord, String> {
        let date = |d: i32, field: &str| {
            from_day_number(d).ok_or_else(|| format!("field `{field}` holds day number {d}"))
        };
        let opt_date = |d: Option<i32>, field: &str| d.map(|d| date(d, field)).transpose();
        let kind = kind_at(self.kind)?;
        let severity = self.severity.map(severity_at).transpose()?;
        let owned = |text: Option<&str>| text.map(str::to_owned);
        Ok(CreditRecord {
            id: self.id.to_owned(),
            uscc: uscc.clone(),
            entity_name: None,
            kind,
            authority: owned(self.authority),
            document_no: owned(self.document_no),
            decided_on: date(self.decided_on, "decided_on")?,
            published_on: opt_date(self.dates.published_on, "published_on")?,
            disclosure_until: opt_date(self.disclosure_until, "disclosure_until")?,
            valid_until: opt_date(self.dates.valid_until, "valid_until")?,
            severity,
            sector: owned(self.sector),
            penalty_type: owned(self.penalty_type),
            amount: self.amount.map(Decimal::deserialize),
            grade: owned(self.grade),
            legal_basis: None,
            description: None,
            repaired_on: opt_date(self.repaired_on, "repaired_on")?,
            revoked_on: opt_date(self.revoked_on, "revoked_on")?,
        })
    }
}

/// An `entity_eval` value: [`EVAL_VIEW_LAYOUT`] ‖ postcard of the records sorted by id.
pub(super) fn encode_eval_view(records: &[EvalRecord]) -> Result<Vec<u8>, String> {
    postcard::to_extend(records, vec![EVAL_VIEW_LAYOUT]).map_err(|e| e.to_string())
}

/// An `entity_eval` value in layout 1, as the previous release wrote it, for tests of
/// reading an older store.
#[cfg(test)]
pub(super) fn encode_eval_view_v1(records: &[EvalRecord]) -> Vec<u8> {
    let old: Vec<EvalRecordViewV1<'_>> = records
        .iter()
        .map(|r| EvalRecordViewV1 {
            id: &r.id,
            kind: r.kind,
            authority: r.authority.as_deref(),
            document_no: r.document_no.as_deref(),
            decided_on: r.decided_on,
            disclosure_until: r.disclosure_until,
            severity: r.severity,
            sector: r.sector.as_deref(),
            penalty_type: r.penalty_type.as_deref(),
            amount: r.amount,
            grade: r.grade.as_deref(),
            repaired_on: r.repaired_on,
            revoked_on: r.revoked_on,
        })
        .collect();
    postcard::to_extend(&old, vec![EVAL_VIEW_LAYOUT_V1]).expect("a view encodes")
}

/// The layout tag and payload of an `entity_eval` value.
fn eval_view_payload(bytes: &[u8]) -> Result<(u8, &[u8]), String> {
    match bytes.split_first() {
        Some((&tag, rest)) if tag == EVAL_VIEW_LAYOUT || tag == EVAL_VIEW_LAYOUT_V1 => {
            Ok((tag, rest))
        }
        Some((tag, _)) => Err(format!("unknown evaluation-view layout {tag}")),
        None => Err("empty evaluation-view value".into()),
    }
}

/// The borrowed records of an `entity_eval` value in either layout.
fn eval_view_views(bytes: &[u8]) -> Result<Vec<EvalRecordView<'_>>, String> {
    match eval_view_payload(bytes)? {
        (EVAL_VIEW_LAYOUT_V1, payload) => {
            let old: Vec<EvalRecordViewV1<'_>> = decode(payload)?;
            Ok(old.into_iter().map(EvalRecordView::from).collect())
        }
        (_, payload) => decode(payload),
    }
}

/// The records of an `entity_eval` value, owned (to change and write back, always in the
/// current layout).
pub(super) fn decode_eval_view(bytes: &[u8]) -> Result<Vec<EvalRecord>, String> {
    match eval_view_payload(bytes)? {
        (EVAL_VIEW_LAYOUT_V1, _) => Ok(eval_view_views(bytes)?
            .iter()
            .map(EvalRecordView::to_owned_record)
            .collect()),
        (_, payload) => decode(payload),
    }
}

/// The records of an `entity_eval` value for evaluation.
pub(super) fn eval_view_records(uscc: &Uscc, bytes: &[u8]) -> Result<Vec<CreditRecord>, String> {
    eval_view_views(bytes)?
        .iter()
        .map(|v| v.to_record(uscc))
        .collect()
}

/// The records of `entity_eval` values laid end to end, for evaluation: the PostgreSQL
/// store keeps one such value per record and its evaluation scan concatenates an entity's
/// values in id order, so that an entity travels as one row. Each record is decoded straight
/// from the bytes (no list is built per value).
pub(super) fn concatenated_eval_records(
    uscc: &Uscc,
    mut bytes: &[u8],
) -> Result<Vec<CreditRecord>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, payload) = eval_view_payload(bytes)?;
        let (count, mut rest) = take_varint(payload)?;
        for _ in 0..count {
            let (record, after) = if tag == EVAL_VIEW_LAYOUT_V1 {
                let (view, after) = postcard::take_from_bytes::<EvalRecordViewV1<'_>>(rest)
                    .map_err(|e| e.to_string())?;
                (EvalRecordView::from(view).to_record(uscc)?, after)
            } else {
                let (view, after) = postcard::take_from_bytes::<EvalRecordView<'_>>(rest)
                    .map_err(|e| e.to_string())?;
                (view.to_record(uscc)?, after)
            };
            out.push(record);
            rest = after;
        }
        bytes = rest;
    }
    Ok(out)
}

/// A postcard varint (a list's length) and the bytes after it.
fn take_varint(bytes: &[u8]) -> Result<(usize, &[u8]), String> {
    let mut n: usize = 0;
    for (i, byte) in bytes.iter().take(10).enumerate() {
        n |= usize::from(byte & 0x7F)
            .checked_shl(7 * i as u32)
            .ok_or("a list length out of range")?;
        if byte & 0x80 == 0 {
            return Ok((n, &bytes[i + 1..]));
        }
    }
    Err("a truncated list length".into())
}

/// How many records an `entity_eval` value holds (postcard's varint length prefix), without
/// decoding them; 0 if the value is malformed.
pub(super) fn eval_view_len(bytes: &[u8]) -> usize {
    let Ok((_, payload)) = eval_view_payload(bytes) else {
        return 0;
    };
    let mut n: usize = 0;
    for (i, byte) in payload.iter().take(10).enumerate() {
        n |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return n;
        }
    }
    0
}

/// Replaces the record with `new`'s id in an id-sorted list, or inserts it in order.
pub(super) fn upsert_eval_record(records: &mut Vec<EvalRecord>, new: EvalRecord) {
    match records.binary_search_by(|r| r.id.as_str().cmp(new.id.as_str())) {
        Ok(at) => records[at] = new,
        Err(at) => records.insert(at, new),
    }
}

/// The value of `entities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredEntity {
    pub name: Option<String>,
    pub kind: u8,
}

/// The value of `ruleset_versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredRuleSetVersion {
    pub ruleset_id: String,
    pub source: String,
    pub author: String,
    pub time_ms: i64,
    pub message: String,
    pub parent: Option<[u8; 32]>,
}

/// The value of `ruleset_heads`: the newest log entry of a rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RuleSetHead {
    pub seq: u32,
    pub hash: [u8; 32],
}

/// Encodes a value with postcard.
pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(value).map_err(|e| e.to_string())
}

/// Decodes a postcard value.
pub(super) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits into a SHA-256 hash.
pub(super) fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_keys_keep_order() {
        let values = [i32::MIN, -5, -1, 0, 1, 7, i32::MAX];
        for pair in values.windows(2) {
            assert!(i32_key(pair[0]) < i32_key(pair[1]));
        }
        assert!(date_key(NaiveDate::MAX) < NO_END);
    }

    /// An administrative penalty with every field set, free texts included.
    fn penalty_with_every_field(id: &str, severity: Severity, amount: Decimal) -> CreditRecord {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let mut record = CreditRecord::new(id, uscc, RecordKind::AdminPenalty, day("2023-09-12"));
        record.entity_name = Some("江夏市政工程有限公司".into());
        record.authority = Some("武汉市水务局".into());
        record.document_no = Some("武水罚〔2023〕41号".into());
        record.disclosure_until = Some(day("2026-09-12"));
        record.severity = Some(severity);
        record.sector = Some("水务".into());
        record.penalty_type = Some("罚款".into());
        record.amount = Some(amount);
        record.grade = Some("A".into());
        record.legal_basis = Some("《水法》".into());
        record.description = Some("违法事实".into());
        record.published_on = Some(record.decided_on + chrono::Days::new(5));
        record.valid_until = Some(record.decided_on + chrono::Days::new(400));
        record
    }

    #[test]
    fn concatenated_values_decode_as_one_view_of_every_record() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let records: Vec<EvalRecord> = (0..130)
            .map(|n| {
                let mut r = penalty_with_every_field(
                    &format!("XZCF-{n:03}"),
                    Severity::General,
                    Decimal::new(n, 1),
                );
                if n % 3 == 0 {
                    r.authority = None;
                    r.published_on = None;
                }
                EvalRecord::of(&r)
            })
            .collect();
        // One value per record (the PostgreSQL rows), a value of several (sled's form, with a
        // two-byte length) and a value in the older layout, laid end to end.
        let mut bytes = Vec::new();
        for r in &records[..3] {
            bytes.extend(encode_eval_view(std::slice::from_ref(r)).expect("encodes"));
        }
        bytes.extend(encode_eval_view(&records[3..133 - 4]).expect("encodes"));
        bytes.extend(encode_eval_view_v1(&records[129..]));
        let decoded = concatenated_eval_records(&uscc, &bytes).expect("decodes");
        let mut whole = encode_eval_view(&records[..129]).expect("encodes");
        let mut expected = eval_view_records(&uscc, &whole).expect("decodes");
        whole = encode_eval_view_v1(&records[129..]);
        expected.extend(eval_view_records(&uscc, &whole).expect("decodes"));
        assert_eq!(decoded.len(), 130);
        assert_eq!(decoded, expected);
        assert_eq!(concatenated_eval_records(&uscc, &[]), Ok(Vec::new()));
        // A cut value or an unknown layout is an error, not a panic.
        assert!(concatenated_eval_records(&uscc, &bytes[..bytes.len() - 3]).is_err());
        assert!(concatenated_eval_records(&uscc, &[2, 0x80]).is_err());
        assert!(concatenated_eval_records(&uscc, &[9, 1]).is_err());
    }

    #[test]
    fn the_view_reads_the_stored_layout_and_keeps_every_field_rules_read() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let mut record =
            penalty_with_every_field("XZCF-1", Severity::General, Decimal::new(250, 2));
        record.revoked_on = Some(day("2025-01-01"));
        let mark = EventMark {
            date: day_number(day("2024-02-01")),
            applied_at_ms: 7,
            authority: Some("武汉市水务局".into()),
            note: Some("信用修复".into()),
        };
        let stored = StoredRecord {
            rev: 3,
            stored_at_ms: 42,
            body: RecordBody::from_record(&record),
            repair: Some(mark.clone()),
            revoke: Some(mark),
            dates: RecordDates::of(&record),
        };
        let bytes = encode(&stored).expect("encodes");
        let view = decode_stored_view(&bytes).expect("the view decodes");
        assert!(view.dates.published_on.is_some() && view.dates.valid_until.is_some());
        assert_eq!((view.rev, view.stored_at_ms), (3, 42));
        let full = stored.effective().expect("decodes");
        let expected = CreditRecord {
            entity_name: None,
            legal_basis: None,
            description: None,
            ..full
        };
        assert_eq!(view.evaluation_record(&uscc), Ok(expected));
        assert_eq!(
            kept_for_evaluation(crate::ir::Field::Penalty),
            "penalty_type"
        );
        let other = Uscc::parse("91230500MA1B3N1N2M").expect("valid");
        assert!(view.evaluation_record(&other).is_err());
    }

    #[test]
    fn the_evaluation_view_keeps_what_the_record_view_keeps() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let mut record =
            penalty_with_every_field("B2", Severity::Serious, Decimal::new(-12_500, 3));
        record.repaired_on = Some(day("2024-01-01"));
        record.revoked_on = Some(day("2025-01-01"));
        let plain = CreditRecord::new(
            "A1",
            uscc.clone(),
            RecordKind::BadBehaviour,
            day("2020-02-29"),
        );
        let mut list = Vec::new();
        upsert_eval_record(&mut list, EvalRecord::of(&record));
        upsert_eval_record(&mut list, EvalRecord::of(&plain));
        upsert_eval_record(&mut list, EvalRecord::of(&record));
        let bytes = encode_eval_view(&list).expect("encodes");
        assert_eq!(eval_view_len(&bytes), 2);
        assert_eq!(decode_eval_view(&bytes), Ok(list));
        let strip = |r: &CreditRecord| CreditRecord {
            entity_name: None,
            legal_basis: None,
            description: None,
            ..r.clone()
        };
        let decoded = eval_view_records(&uscc, &bytes).expect("decodes");
        assert_eq!(decoded, vec![strip(&plain), strip(&record)], "sorted by id");
        assert_eq!(
            decoded[1].amount.map(|a| a.scale()),
            Some(3),
            "the scale is kept"
        );
        assert!(eval_view_records(&uscc, &[9, 0]).is_err(), "unknown layout");
        let long: Vec<EvalRecord> = (0..300)
            .map(|i| {
                EvalRecord::of(&CreditRecord::new(
                    format!("{i:03}"),
                    uscc.clone(),
                    RecordKind::BadBehaviour,
                    day("2020-01-01"),
                ))
            })
            .collect();
        assert_eq!(
            eval_view_len(&encode_eval_view(&long).expect("encodes")),
            300
        );
    }

    /// A record value as the store wrote it before the record dates (the layout of
    /// `StoredRecordV1`, byte for byte what the previous release encoded) decodes, as a
    /// record and as a view, with no publication or validity date.
    #[test]
    fn a_record_written_before_the_dates_decodes_without_them() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let mut record = penalty_with_every_field("XZCF-9", Severity::General, Decimal::new(5, 0));
        let old = StoredRecordV1 {
            rev: 2,
            stored_at_ms: 1_700_000_000_000,
            body: RecordBody::from_record(&record),
            repair: None,
            revoke: Some(EventMark {
                date: record.decided_on.num_days_from_ce() + 30,
                applied_at_ms: 9,
                authority: None,
                note: None,
            }),
        };
        let bytes = encode(&old).expect("encodes");
        let stored = decode_stored_record(&bytes).expect("the old layout decodes");
        assert_eq!(stored.dates, RecordDates::default());
        assert_eq!((stored.rev, stored.stored_at_ms), (2, 1_700_000_000_000));
        let effective = stored.effective().expect("decodes");
        record.published_on = None;
        record.valid_until = None;
        record.revoked_on = Some(record.decided_on + chrono::Days::new(30));
        assert_eq!(effective, record);
        let view = decode_stored_view(&bytes).expect("the old layout decodes as a view");
        assert_eq!(view.dates, RecordDates::default());
        assert_eq!(
            view.evaluation_record(&uscc).expect("decodes").revoked_on,
            record.revoked_on
        );
        // The current layout round-trips its dates, and is longer than the old one.
        let current = StoredRecord {
            dates: RecordDates {
                published_on: Some(100),
                valid_until: None,
            },
            ..stored
        };
        let new_bytes = encode(&current).expect("encodes");
        assert!(new_bytes.len() > bytes.len());
        assert_eq!(decode_stored_record(&new_bytes), Ok(current));
        assert!(decode_stored_record(&bytes[..bytes.len() - 1]).is_err());
    }

    /// An evaluation-view value of layout 1 (the previous release's) is still read, as no
    /// dates, and is rewritten in the current layout.
    #[test]
    fn an_evaluation_view_of_layout_1_is_read() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let mut record =
            penalty_with_every_field("XZCF-7", Severity::Serious, Decimal::new(125, 1));
        record.published_on = None;
        record.valid_until = None;
        let current = EvalRecord::of(&record);
        let old = vec![EvalRecordViewV1 {
            id: &current.id,
            kind: current.kind,
            authority: current.authority.as_deref(),
            document_no: current.document_no.as_deref(),
            decided_on: current.decided_on,
            disclosure_until: current.disclosure_until,
            severity: current.severity,
            sector: current.sector.as_deref(),
            penalty_type: current.penalty_type.as_deref(),
            amount: current.amount,
            grade: current.grade.as_deref(),
            repaired_on: current.repaired_on,
            revoked_on: current.revoked_on,
        }];
        let bytes = postcard::to_extend(&old, vec![EVAL_VIEW_LAYOUT_V1]).expect("encodes");
        assert_eq!(eval_view_len(&bytes), 1);
        assert_eq!(decode_eval_view(&bytes), Ok(vec![current.clone()]));
        let decoded = eval_view_records(&uscc, &bytes).expect("decodes");
        assert_eq!(decoded[0].published_on, None);
        assert_eq!(decoded[0].decided_on, record.decided_on);
        let rewritten = encode_eval_view(&[current]).expect("encodes");
        assert_eq!(rewritten[0], EVAL_VIEW_LAYOUT);
    }

    #[test]
    fn hashes_round_trip() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(parse_hash(&hex(&bytes)), Some(bytes));
        assert_eq!(parse_hash("zz"), None);
        assert_eq!(parse_hash(&"é".repeat(32)), None);
    }
}
