//! The public disclosure list (向社会公示): what the public may see, its query types, and the
//! index that answers a page at the same cost at a million records as at a thousand.
//!
//! # The publication rule
//!
//! A record is shown to the public for a day `as_of`, when the store answers on `today` (the
//! current day in Asia/Shanghai), if and only if ([`is_public_on`]):
//!
//! 1. its kind is a dishonesty kind ([`super::is_dishonesty`]: everything except 表彰奖励,
//!    行政许可 and 信用等级);
//! 2. **it has never been repaired (信用修复) nor revoked (撤销), as the store knows it now.**
//!    A repair or revocation ends publication for *every* day, past, present and future,
//!    whatever its date: a record repaired on D is not shown for a day before D, on D or
//!    after D. Showing it for a day before its repair would undo the repair; a revoked
//!    decision counts as never valid. Staff keep the full history behind their roles
//!    (`GET /api/v1/entities/{uscc}`, the evaluation and its as-of semantics are unchanged);
//! 3. it was published (公示) on or before `as_of` **and on or before `today`**: its
//!    publication day, which is its decision day unless the record carries a later
//!    `published_on` ([`CreditRecord::counts_from`]); before that the platform did not know
//!    it, and a later day asked for never shows what is published after today;
//! 4. its disclosure period (公示截止期, inclusive) has not ended before `as_of` **nor before
//!    `today`**: a past day may be looked up only for what is still public now.
//!
//! # Queries
//!
//! [`DisclosureFilter`] narrows the list: `query` matches the entity's latest name
//! (substring) or, when it is 1 to 18 ASCII letters and digits, the start of its USCC
//! (ASCII case ignored); `kinds`; `authority` (substring of the record's authority); the
//! decision date range (inclusive). The list is sorted newest decision first, then USCC,
//! then record id, and paged by key ([`DisclosureCursor`]): a page starts strictly after the
//! position of the previous page's cursor, so records stored between two requests never
//! make a page repeat or skip an entry that was already there.
//!
//! # The index (tree `public_disclosure`, format version 3)
//!
//! Written in the same transaction as the records (`write_version` in the store), only for
//! records that rule 1 and 2 admit (dishonesty kind, no repair, no revocation): a repair or
//! revocation removes the record's entries. `inv_day` is the decision day with every bit of
//! its order-preserving key inverted, so that ascending keys run newest first.
//!
//! | key | value |
//! |---|---|
//! | `'D' ‖ inv_day ‖ uscc ‖ id` | `kind (1 byte) ‖ disclosure end (4 bytes, FF FF FF FF = none) ‖ {name?, authority?, document_no?, legal_basis?}` (postcard): the list line |
//! | `'E' ‖ uscc ‖ inv_day ‖ id` | `kind ‖ disclosure end` (5 bytes): one entity's entries, newest first |
//! | `'K' ‖ kind ‖ inv_day ‖ uscc ‖ id` | `kind ‖ disclosure end`: one kind's entries, in list order |
//! | `'A' ‖ length (u16) ‖ authority ‖ inv_day ‖ uscc ‖ id` | `kind ‖ disclosure end`: one authority's entries (authorities up to 512 bytes) |
//!
//! A page walks `'D'` from the cursor (or from the newest day the filter allows) and stops at
//! the oldest day it allows; the kind and the disclosure end are checked on the first five
//! bytes of each value without decoding it. A kind filter (without a query) walks the `'K'`
//! ranges of the kinds asked for instead, merged in list order; an authority filter
//! (without a query) finds the distinct authorities containing the text (one seek each in
//! `'A'`) and merges their ranges. A name or USCC query first finds the matching
//! entities: the names are searched in memory ([`NameTable`], built from the `entities`
//! tree on the first search and kept up to date by every write), the USCC prefix in the
//! `entities` tree. Up to [`MERGE_MAX_ENTITIES`] matching entities are read through `'E'`,
//! one range per entity merged in list order (one seek per entity, about 20 µs on the
//! development machine); more matches mean a common term, and the `'D'` walk, testing each
//! entry's entity, finds a page sooner (measured at 1M records: merging the 2,250 entities
//! named 宏达 took about five times as long as the walk).
//!
//! **A page visits at most [`SCAN_BUDGET`] index entries.** A rare filter (a kind or an
//! authority with few entries, many expired records) can therefore return fewer than
//! `limit` items, or none, with a `next_cursor` that resumes the walk where it stopped; the
//! list is complete once `next_cursor` is null. No request scans unboundedly.
//!
//! Records whose disclosure ended before today stay in the index (they are skipped while
//! walking, which the budget bounds); a periodic purge could drop them later.
//!
//! The entity and record pages ([`super::RecordStore::disclosure_of_entity`],
//! [`super::RecordStore::disclosure_record`]) read the entity's records directly (an entity
//! has few records) and apply [`is_public_on`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::ops::Bound;
use std::sync::RwLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;

use super::codec::{self, USCC_LEN};
use super::{MAX_ID_LEN, MAX_PAGE_SIZE, RecordStore, SledStore, StoreError, TxResult};
use crate::record::{CreditRecord, RecordKind, Severity, Uscc};

/// Index entries one page may visit at most (see the module docs).
pub const SCAN_BUDGET: usize = 20_000;

/// Most matching entities a name or USCC query reads entity by entity; beyond, the list is
/// walked in order and each entry's entity tested.
pub const MERGE_MAX_ENTITIES: usize = 256;

/// Tag of the list entries in `public_disclosure`.
const LIST_TAG: u8 = b'D';
/// Tag of the per-entity entries.
const ENTITY_TAG: u8 = b'E';
/// Tag of the per-kind entries.
const KIND_TAG: u8 = b'K';
/// Tag of the per-authority entries.
const AUTHORITY_TAG: u8 = b'A';
/// Longest authority name in an `'A'` key, in bytes: a longer one is keyed by its first
/// bytes (up to a character boundary), and such a truncated range is always read by an
/// authority filter (each entry's full authority is checked on its list line).
const MAX_AUTHORITY_KEY: usize = 512;
/// Bytes of `inv_day ‖ uscc`, the fixed part of a position.
const FIXED: usize = 4 + USCC_LEN;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// One line of the public disclosure list: public fields only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DisclosureEntry {
    /// The source's record id (信息编号): with the USCC, the address of the record page.
    pub id: String,
    /// Entity name: the name in the record, else the entity's latest name.
    pub name: Option<String>,
    /// The entity's 统一社会信用代码.
    pub uscc: Uscc,
    /// Record kind.
    pub kind: RecordKind,
    /// Its Chinese label, e.g. 失信被执行人.
    pub kind_label: String,
    /// Deciding authority (认定机关 / 处罚机关).
    pub authority: Option<String>,
    /// Decision document number (决定文书号).
    pub document_no: Option<String>,
    /// Decision date (认定日期).
    pub decided_on: NaiveDate,
    /// Last day of disclosure (公示截止期); `None` = disclosed until removed.
    pub disclosure_until: Option<NaiveDate>,
    /// Legal basis (认定依据 / 处罚依据).
    pub legal_basis: Option<String>,
}

/// One record's public page: the list line plus the public details of the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DisclosureRecord {
    /// The list line (name, USCC, kind, authority, document number, dates, legal basis).
    #[serde(flatten)]
    pub entry: DisclosureEntry,
    /// Severity tier (失信严重程度).
    pub severity: Option<Severity>,
    /// Its Chinese label: 轻微, 一般 or 严重.
    pub severity_label: Option<String>,
    /// Sector (行业).
    pub sector: Option<String>,
    /// Penalty category (处罚类别).
    pub penalty_type: Option<String>,
    /// Amount in 万元 (罚款金额).
    #[schema(value_type = Option<String>)]
    pub amount: Option<Decimal>,
    /// The decision's text (违法事实, 处罚内容).
    pub description: Option<String>,
}

/// One entity's public entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntityDisclosure {
    /// Its 统一社会信用代码.
    pub uscc: Uscc,
    /// Its latest name.
    pub name: Option<String>,
    /// Its entries public on the day, newest decision first (then record id).
    pub entries: Vec<DisclosureEntry>,
}

/// What the list is filtered by; see the module docs for the meaning of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureFilter {
    /// The day the list is for.
    pub as_of: NaiveDate,
    /// The current day (Asia/Shanghai): what is no longer public on it is not shown.
    pub today: NaiveDate,
    /// Part of the entity's name, or the start of its USCC.
    pub query: Option<String>,
    /// Only these kinds (empty: every dishonesty kind; other kinds are never listed).
    pub kinds: Vec<RecordKind>,
    /// Part of the deciding authority's name.
    pub authority: Option<String>,
    /// Decided on or after this day.
    pub decided_from: Option<NaiveDate>,
    /// Decided on or before this day.
    pub decided_to: Option<NaiveDate>,
}

impl DisclosureFilter {
    /// The whole list as of `as_of`, answered on `today`.
    pub fn new(as_of: NaiveDate, today: NaiveDate) -> DisclosureFilter {
        DisclosureFilter {
            as_of,
            today,
            query: None,
            kinds: Vec::new(),
            authority: None,
            decided_from: None,
            decided_to: None,
        }
    }

    /// The kinds listed, as a bit set.
    pub(super) fn kind_mask(&self) -> u32 {
        RecordKind::ALL
            .into_iter()
            .filter(|k| {
                super::is_dishonesty(*k) && (self.kinds.is_empty() || self.kinds.contains(k))
            })
            .fold(0, |mask, k| mask | k.bit())
    }

    /// The newest decision day listed.
    pub(super) fn newest(&self) -> NaiveDate {
        let as_of = self.as_of.min(self.today);
        self.decided_to.map_or(as_of, |to| to.min(as_of))
    }

    /// The oldest disclosure end still shown.
    pub(super) fn shown_until(&self) -> NaiveDate {
        self.as_of.max(self.today)
    }

    pub(super) fn query(&self) -> Option<Query> {
        let text = self
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())?;
        let uscc_prefix = (text.len() <= USCC_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| text.to_ascii_uppercase());
        Some(Query {
            name: text.to_owned(),
            uscc_prefix,
        })
    }

    pub(super) fn authority(&self) -> Option<&str> {
        self.authority
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
    }

    pub(super) fn check(&self, limit: usize) -> Result<(), StoreError> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(StoreError::InvalidQuery(format!(
                "limit {limit} is out of range; give 1 to {MAX_PAGE_SIZE}"
            )));
        }
        if let (Some(from), Some(to)) = (self.decided_from, self.decided_to)
            && from > to
        {
            return Err(StoreError::InvalidQuery(format!(
                "decided_from ({from}) is after decided_to ({to}); give a range whose start is \
                 on or before its end"
            )));
        }
        Ok(())
    }
}

/// A parsed name-or-USCC query.
pub(super) struct Query {
    /// Part of the entity's latest name.
    pub(super) name: String,
    /// The start of the USCC (upper case), when the query can be one.
    pub(super) uscc_prefix: Option<String>,
}

impl Query {
    fn matches(&self, uscc: &str, name: Option<&str>) -> bool {
        self.uscc_prefix
            .as_deref()
            .is_some_and(|p| uscc.starts_with(p))
            || name.is_some_and(|n| n.contains(self.name.as_str()))
    }
}

/// A page of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosurePage {
    /// The entries, in list order.
    pub items: Vec<DisclosureEntry>,
    /// Where the next page starts; `None` when the list is complete.
    pub next_cursor: Option<DisclosureCursor>,
}

/// A position in the list, opaque to clients: the sort key (decision day, USCC, record id)
/// of the last entry a page looked at, as lower-case hex (URL-safe). A page starts strictly
/// after it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DisclosureCursor(Vec<u8>);

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cursor `{shown}` is not a cursor of this list ({reason}); give the `next_cursor` of the \
     previous page exactly as it was returned, or leave `cursor` out to start at the first page"
)]
pub struct CursorError {
    shown: String,
    reason: &'static str,
}

impl DisclosureCursor {
    /// Parses a cursor from its text.
    pub fn parse(text: &str) -> Result<DisclosureCursor, CursorError> {
        let refuse = |reason| CursorError {
            shown: text.chars().take(40).collect(),
            reason,
        };
        if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refuse("not hexadecimal"));
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
        if bytes.len() <= FIXED || bytes.len() > FIXED + MAX_ID_LEN {
            return Err(refuse("wrong length"));
        }
        let uscc = std::str::from_utf8(&bytes[4..FIXED]).map_err(|_| refuse("bad USCC"))?;
        if Uscc::parse(uscc)
            .map(|u| u.as_str() != uscc)
            .unwrap_or(true)
        {
            return Err(refuse("bad USCC"));
        }
        let id = std::str::from_utf8(&bytes[FIXED..]).map_err(|_| refuse("bad record id"))?;
        if id.contains('\0') {
            return Err(refuse("bad record id"));
        }
        Ok(DisclosureCursor(bytes))
    }

    /// The cursor of an entry: the next page starts after it.
    pub fn after(entry: &DisclosureEntry) -> DisclosureCursor {
        DisclosureCursor(position(entry.decided_on, &entry.uscc, &entry.id))
    }

    /// The cursor at a list position (decision day, USCC, record id), for a store that
    /// keeps the list in another form (PostgreSQL).
    pub(super) fn at(day: NaiveDate, uscc: &str, id: &str) -> DisclosureCursor {
        let mut pos = Vec::with_capacity(FIXED + id.len());
        pos.extend_from_slice(&inv_day(day));
        pos.extend_from_slice(uscc.as_bytes());
        pos.extend_from_slice(id.as_bytes());
        DisclosureCursor(pos)
    }

    /// The position a cursor names: (the decision's day number, USCC, record id).
    pub(super) fn parts(&self) -> Option<(i32, &str, &str)> {
        let inv: [u8; 4] = self.0.get(..4)?.try_into().ok()?;
        let key = u32::from_be_bytes([!inv[0], !inv[1], !inv[2], !inv[3]]);
        let uscc = std::str::from_utf8(self.0.get(4..FIXED)?).ok()?;
        let id = std::str::from_utf8(self.0.get(FIXED..)?).ok()?;
        Some(((key ^ 0x8000_0000) as i32, uscc, id))
    }
}

impl fmt::Display for DisclosureCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&codec::hex(&self.0))
    }
}

impl fmt::Debug for DisclosureCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisclosureCursor({self})")
    }
}

impl Serialize for DisclosureCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

// ---------------------------------------------------------------------------------------------
// The rule
// ---------------------------------------------------------------------------------------------

/// Rules 1 and 2: whether the record may be published at all (dishonesty kind, never
/// repaired, never revoked). Only such records are in the index.
pub fn is_publishable(record: &CreditRecord) -> bool {
    super::is_dishonesty(record.kind) && record.repaired_on.is_none() && record.revoked_on.is_none()
}

/// The publication rule (module docs): whether the public sees the record for `as_of` when
/// asking on `today`.
pub fn is_public_on(record: &CreditRecord, as_of: NaiveDate, today: NaiveDate) -> bool {
    is_publishable(record)
        // Published by the day asked for, and already today: what the platform publishes
        // later is not public yet, whatever day is asked for.
        && record.counts_from() <= as_of.min(today)
        && record
            .disclosure_until
            .is_none_or(|until| until >= as_of.max(today))
}

fn entry_of(record: &CreditRecord, entity_name: Option<&str>) -> DisclosureEntry {
    DisclosureEntry {
        id: record.id.clone(),
        name: record
            .entity_name
            .clone()
            .or_else(|| entity_name.map(str::to_owned)),
        uscc: record.uscc.clone(),
        kind: record.kind,
        kind_label: record.kind.label().to_owned(),
        authority: record.authority.clone(),
        document_no: record.document_no.clone(),
        decided_on: record.decided_on,
        disclosure_until: record.disclosure_until,
        legal_basis: record.legal_basis.clone(),
    }
}

fn filter_admits(
    filter: &DisclosureFilter,
    record: &CreditRecord,
    entity_name: Option<&str>,
) -> bool {
    is_public_on(record, filter.as_of, filter.today)
        && filter.kind_mask() & record.kind.bit() != 0
        && filter.decided_from.is_none_or(|d| record.decided_on >= d)
        && filter.decided_to.is_none_or(|d| record.decided_on <= d)
        && filter
            .authority()
            .is_none_or(|a| record.authority.as_deref().is_some_and(|r| r.contains(a)))
        && filter
            .query()
            .is_none_or(|q| q.matches(record.uscc.as_str(), entity_name))
}

/// The list page computed from every record ([`RecordStore::scan_entities`]): the reference
/// answer, and the default of [`RecordStore::disclosure_page`] for stores without an index.
pub fn scan_page(
    store: &(impl RecordStore + ?Sized),
    filter: &DisclosureFilter,
    after: Option<&DisclosureCursor>,
    limit: usize,
) -> Result<DisclosurePage, StoreError> {
    filter.check(limit)?;
    let mut found: Vec<(Vec<u8>, DisclosureEntry)> = Vec::new();
    for item in store.scan_entities() {
        let (uscc, records) = item?;
        let name = store.entity(&uscc)?.and_then(|e| e.name);
        for record in &records {
            if !filter_admits(filter, record, name.as_deref()) {
                continue;
            }
            let pos = position(record.decided_on, &record.uscc, &record.id);
            if after.is_none_or(|a| pos > a.0) {
                found.push((pos, entry_of(record, name.as_deref())));
            }
        }
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let more = found.len() > limit;
    found.truncate(limit);
    let next_cursor = if more {
        found.last().map(|(pos, _)| DisclosureCursor(pos.clone()))
    } else {
        None
    };
    Ok(DisclosurePage {
        items: found.into_iter().map(|(_, e)| e).collect(),
        next_cursor,
    })
}

/// An entity's public entries, from its records ([`RecordStore::disclosure_of_entity`]).
pub fn entity_page(
    store: &(impl RecordStore + ?Sized),
    uscc: &Uscc,
    as_of: NaiveDate,
    today: NaiveDate,
) -> Result<Option<EntityDisclosure>, StoreError> {
    let Some(entity) = store.entity(uscc)? else {
        return Ok(None);
    };
    let mut entries: Vec<DisclosureEntry> = store
        .records_of(uscc)?
        .iter()
        .filter(|r| is_public_on(r, as_of, today))
        .map(|r| entry_of(r, entity.name.as_deref()))
        .collect();
    entries.sort_by(|a, b| {
        b.decided_on
            .cmp(&a.decided_on)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(Some(EntityDisclosure {
        uscc: uscc.clone(),
        name: entity.name,
        entries,
    }))
}

/// One record's public page ([`RecordStore::disclosure_record`]).
pub fn record_page(
    store: &(impl RecordStore + ?Sized),
    uscc: &Uscc,
    id: &str,
    as_of: NaiveDate,
    today: NaiveDate,
) -> Result<Option<DisclosureRecord>, StoreError> {
    let Some(record) = store.record(id)? else {
        return Ok(None);
    };
    if &record.uscc != uscc || !is_public_on(&record, as_of, today) {
        return Ok(None);
    }
    let name = match &record.entity_name {
        Some(_) => None,
        None => store.entity(uscc)?.and_then(|e| e.name),
    };
    Ok(Some(DisclosureRecord {
        entry: entry_of(&record, name.as_deref()),
        severity: record.severity,
        severity_label: record.severity.map(|s| s.label().to_owned()),
        sector: record.sector.clone(),
        penalty_type: record.penalty_type.clone(),
        amount: record.amount,
        description: record.description.clone(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Index layout
// ---------------------------------------------------------------------------------------------

/// The decision day, inverted so that ascending bytes run newest first.
fn inv_day(day: NaiveDate) -> [u8; 4] {
    let key = codec::date_key(day);
    [!key[0], !key[1], !key[2], !key[3]]
}

fn day_of_inv(inv: &[u8]) -> Option<NaiveDate> {
    let bytes: [u8; 4] = inv.get(..4)?.try_into().ok()?;
    let key = u32::from_be_bytes([!bytes[0], !bytes[1], !bytes[2], !bytes[3]]);
    codec::from_day_number((key ^ 0x8000_0000) as i32)
}

/// `inv_day ‖ uscc ‖ id`: a position in list order (a `'D'` key without its tag).
fn position(day: NaiveDate, uscc: &Uscc, id: &str) -> Vec<u8> {
    let mut pos = Vec::with_capacity(FIXED + id.len());
    pos.extend_from_slice(&inv_day(day));
    pos.extend_from_slice(uscc.as_str().as_bytes());
    pos.extend_from_slice(id.as_bytes());
    pos
}

fn list_key(pos: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + pos.len());
    key.push(LIST_TAG);
    key.extend_from_slice(pos);
    key
}

/// `'K' ‖ kind ‖ inv_day ‖ uscc ‖ id` for a position.
fn kind_key(kind: u8, pos: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + pos.len());
    key.push(KIND_TAG);
    key.push(kind);
    key.extend_from_slice(pos);
    key
}

/// `'A' ‖ length (u16) ‖ authority ‖` : the prefix of one authority's entries.
fn authority_prefix(authority: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(3 + authority.len());
    key.push(AUTHORITY_TAG);
    key.extend_from_slice(&(authority.len() as u16).to_be_bytes());
    key.extend_from_slice(authority.as_bytes());
    key
}

/// The record's `'A'` key, if it has an authority.
fn authority_key(authority: Option<&str>, pos: &[u8]) -> Option<Vec<u8>> {
    let authority = authority?;
    let mut end = authority.len().min(MAX_AUTHORITY_KEY);
    while !authority.is_char_boundary(end) {
        end -= 1;
    }
    let mut key = authority_prefix(&authority[..end]);
    key.extend_from_slice(pos);
    Some(key)
}

/// `'E' ‖ uscc ‖ inv_day ‖ id` for a position.
fn entity_key(pos: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + pos.len());
    key.push(ENTITY_TAG);
    key.extend_from_slice(&pos[4..FIXED]);
    key.extend_from_slice(&pos[..4]);
    key.extend_from_slice(&pos[FIXED..]);
    key
}

/// The position an `'E'` key stands for.
fn position_of_entity_key(key: &[u8]) -> Option<Vec<u8>> {
    if key.len() <= 1 + FIXED {
        return None;
    }
    let mut pos = Vec::with_capacity(key.len() - 1);
    pos.extend_from_slice(&key[1 + USCC_LEN..1 + FIXED]);
    pos.extend_from_slice(&key[1..1 + USCC_LEN]);
    pos.extend_from_slice(&key[1 + FIXED..]);
    Some(pos)
}

/// A key and its value (or a position and its head).
type KeyValue = (Vec<u8>, Vec<u8>);

/// The texts of a list line.
#[derive(Serialize)]
struct LineTexts<'a> {
    name: Option<&'a str>,
    authority: Option<&'a str>,
    document_no: Option<&'a str>,
    legal_basis: Option<&'a str>,
    /// The publication day (day number) when it is later than the decision day.
    published_on: Option<i32>,
}

#[derive(Deserialize)]
struct LineTextsView<'a> {
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    authority: Option<&'a str>,
    #[serde(borrow)]
    document_no: Option<&'a str>,
    #[serde(borrow)]
    legal_basis: Option<&'a str>,
    published_on: Option<i32>,
}

/// `kind ‖ disclosure end`: the first five bytes of both values.
fn head(record: &CreditRecord) -> [u8; 5] {
    let until = record
        .disclosure_until
        .map_or(codec::NO_END, codec::date_key);
    [record.kind.index(), until[0], until[1], until[2], until[3]]
}

fn line_value(record: &CreditRecord) -> Result<Vec<u8>, String> {
    let texts = LineTexts {
        name: record.entity_name.as_deref(),
        authority: record.authority.as_deref(),
        document_no: record.document_no.as_deref(),
        legal_basis: record.legal_basis.as_deref(),
        published_on: (record.counts_from() > record.decided_on)
            .then(|| codec::day_number(record.counts_from())),
    };
    let mut value = head(record).to_vec();
    value.extend(codec::encode(&texts)?);
    Ok(value)
}

/// The keys and values of a publishable record.
fn entries_of(record: &CreditRecord) -> Result<Vec<KeyValue>, String> {
    let pos = position(record.decided_on, &record.uscc, &record.id);
    let mut entries = vec![
        (list_key(&pos), line_value(record)?),
        (entity_key(&pos), head(record).to_vec()),
        (kind_key(record.kind.index(), &pos), head(record).to_vec()),
    ];
    if let Some(key) = authority_key(record.authority.as_deref(), &pos) {
        entries.push((key, head(record).to_vec()));
    }
    Ok(entries)
}

/// Index maintenance inside a record transaction: drops the entries of `old` (the version
/// replaced, if any) and writes those of `new` when it is publishable.
pub(super) fn reindex(
    tree: &TransactionalTree,
    old: Option<&CreditRecord>,
    new: &CreditRecord,
) -> TxResult<()> {
    let corrupt = |e: String| {
        super::tx_abort(SledStore::corrupt(
            "public_disclosure",
            new.id.as_bytes(),
            e,
        ))
    };
    if let Some(old) = old.filter(|o| is_publishable(o)) {
        let pos = position(old.decided_on, &old.uscc, &old.id);
        tree.remove(list_key(&pos))?;
        tree.remove(entity_key(&pos))?;
        tree.remove(kind_key(old.kind.index(), &pos))?;
        if let Some(key) = authority_key(old.authority.as_deref(), &pos) {
            tree.remove(key)?;
        }
    }
    if is_publishable(new) {
        for (key, value) in entries_of(new).map_err(corrupt)? {
            tree.insert(key, value)?;
        }
    }
    Ok(())
}

/// Adds a publishable record's entries to a batch (the migration).
pub(super) fn batch_insert(batch: &mut sled::Batch, record: &CreditRecord) -> Result<bool, String> {
    if !is_publishable(record) {
        return Ok(false);
    }
    for (key, value) in entries_of(record)? {
        batch.insert(key, value);
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// The indexed page
// ---------------------------------------------------------------------------------------------

/// What the walk checks on each entry.
struct Walk<'a> {
    store: &'a SledStore,
    budget: usize,
    mask: u32,
    until_key: [u8; 4],
    oldest: Option<[u8; 4]>,
    /// `as_of` as a day number: a line published later is not shown.
    as_of_day: i32,
    authority: Option<&'a str>,
    limit: usize,
    items: Vec<DisclosureEntry>,
    last_item: Option<Vec<u8>>,
    visited: usize,
    names: HashMap<Vec<u8>, Option<String>>,
}

/// What the walk does after an entry.
enum Step {
    Go,
    /// The page is full and one more entry was found: the list goes on.
    More,
    /// Past the oldest day the filter allows.
    End,
}

impl<'a> Walk<'a> {
    fn new(store: &'a SledStore, filter: &'a DisclosureFilter, limit: usize) -> Walk<'a> {
        Walk {
            store,
            budget: store.names.scan_budget(),
            mask: filter.kind_mask(),
            until_key: codec::date_key(filter.shown_until()),
            oldest: filter.decided_from.map(inv_day),
            as_of_day: codec::day_number(filter.as_of.min(filter.today)),
            authority: filter.authority(),
            limit,
            items: Vec::new(),
            last_item: None,
            visited: 0,
            names: HashMap::new(),
        }
    }

    /// The kind and disclosure end, from the first five bytes of a value.
    fn head_admits(&self, value: &[u8]) -> bool {
        let Some((&kind, rest)) = value.split_first() else {
            return false;
        };
        let until = rest.get(..4).unwrap_or(&codec::NO_END);
        kind < 32 && self.mask & (1 << kind) != 0 && until >= &self.until_key[..]
    }

    /// Looks at the entry at `pos`; `line` is its `'D'` value when already read.
    fn visit(
        &mut self,
        pos: &[u8],
        head: &[u8],
        line: Option<sled::IVec>,
    ) -> Result<Step, StoreError> {
        if self.oldest.is_some_and(|oldest| pos[..4] > oldest[..]) {
            return Ok(Step::End);
        }
        self.visited += 1;
        if !self.head_admits(head) {
            return Ok(Step::Go);
        }
        let key = list_key(pos);
        let line = match line {
            Some(line) => line,
            None => match self
                .store
                .public
                .get(&key)
                .map_err(|e| self.store.backend(e))?
            {
                Some(line) => line,
                None => {
                    return Err(SledStore::corrupt(
                        "public_disclosure",
                        &key,
                        "an entity entry without its list entry",
                    ));
                }
            },
        };
        let texts: LineTextsView<'_> = codec::decode(line.get(5..).unwrap_or_default())
            .map_err(|e| SledStore::corrupt("public_disclosure", &key, e))?;
        if let Some(wanted) = self.authority
            && !texts.authority.is_some_and(|a| a.contains(wanted))
        {
            return Ok(Step::Go);
        }
        if texts.published_on.is_some_and(|day| day > self.as_of_day) {
            return Ok(Step::Go);
        }
        if self.items.len() == self.limit {
            return Ok(Step::More);
        }
        let entry = self.entry(&key, pos, line[0], &line[1..5], &texts)?;
        self.items.push(entry);
        self.last_item = Some(pos.to_vec());
        Ok(Step::Go)
    }

    fn entry(
        &mut self,
        key: &[u8],
        pos: &[u8],
        kind: u8,
        until: &[u8],
        texts: &LineTextsView<'_>,
    ) -> Result<DisclosureEntry, StoreError> {
        let bad = |reason: &str| SledStore::corrupt("public_disclosure", key, reason);
        let decided_on = day_of_inv(pos).ok_or_else(|| bad("bad decision day"))?;
        let uscc_text = std::str::from_utf8(&pos[4..FIXED]).map_err(|_| bad("bad USCC"))?;
        let uscc = SledStore::uscc_of("public_disclosure", key, uscc_text)?;
        let id = std::str::from_utf8(&pos[FIXED..]).map_err(|_| bad("bad record id"))?;
        let kind = RecordKind::ALL
            .get(usize::from(kind))
            .copied()
            .ok_or_else(|| bad("bad kind"))?;
        let disclosure_until = if until == codec::NO_END {
            None
        } else {
            let key = u32::from_be_bytes(until.try_into().map_err(|_| bad("bad end"))?);
            Some(codec::from_day_number((key ^ 0x8000_0000) as i32).ok_or_else(|| bad("bad end"))?)
        };
        let name = match texts.name {
            Some(name) => Some(name.to_owned()),
            None => self.entity_name(&pos[4..FIXED])?,
        };
        Ok(DisclosureEntry {
            id: id.to_owned(),
            name,
            uscc,
            kind,
            kind_label: kind.label().to_owned(),
            authority: texts.authority.map(str::to_owned),
            document_no: texts.document_no.map(str::to_owned),
            decided_on,
            disclosure_until,
            legal_basis: texts.legal_basis.map(str::to_owned),
        })
    }

    fn entity_name(&mut self, uscc: &[u8]) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.names.get(uscc) {
            return Ok(name.clone());
        }
        let name = match self
            .store
            .entities
            .get(uscc)
            .map_err(|e| self.store.backend(e))?
        {
            Some(bytes) => {
                codec::decode::<codec::StoredEntity>(&bytes)
                    .map_err(|e| SledStore::corrupt("entities", uscc, e))?
                    .name
            }
            None => None,
        };
        self.names.insert(uscc.to_vec(), name.clone());
        Ok(name)
    }

    /// The page, once the walk stopped at `stop` after visiting up to `last_visited`.
    fn page(self, stop: Step, last_visited: Option<Vec<u8>>) -> DisclosurePage {
        let next_cursor = match stop {
            Step::End => None,
            Step::More => self.last_item.map(DisclosureCursor),
            // Out of budget: resume after the last entry looked at.
            Step::Go => last_visited.map(DisclosureCursor),
        };
        DisclosurePage {
            items: self.items,
            next_cursor,
        }
    }
}

/// The kind set of every dishonesty kind.
fn all_listed() -> u32 {
    DisclosureFilter::new(NaiveDate::MIN, NaiveDate::MIN).kind_mask()
}

/// Which entities a query selects.
enum Selection {
    /// Every entity.
    All,
    /// These few (sorted, distinct USCC bytes).
    Few(Vec<[u8; USCC_LEN]>),
    /// Many: test each entry.
    Many(Query),
}

impl SledStore {
    /// [`RecordStore::disclosure_page`] over the index.
    pub(super) fn indexed_disclosure_page(
        &self,
        filter: &DisclosureFilter,
        after: Option<&DisclosureCursor>,
        limit: usize,
    ) -> Result<DisclosurePage, StoreError> {
        filter.check(limit)?;
        let mut walk = Walk::new(self, filter, limit);
        let start_pos = inv_day(filter.newest()).to_vec();
        let (stop, last) = match self.select(filter)? {
            Selection::All if filter.authority().is_some() => {
                let wanted = filter.authority().unwrap_or_default();
                self.walk_authorities(&mut walk, &start_pos, after, wanted)?
            }
            Selection::All if walk.mask != all_listed() => {
                self.walk_kinds(&mut walk, &start_pos, after)?
            }
            Selection::All => self.walk_list(&mut walk, &start_pos, after, |_| true)?,
            Selection::Many(query) => self.names.with(self, |names| {
                self.walk_list(&mut walk, &start_pos, after, |uscc| {
                    let text = std::str::from_utf8(uscc).unwrap_or_default();
                    query.matches(text, names.name_of(uscc))
                })
            })??,
            Selection::Few(usccs) => self.walk_entities(&mut walk, &start_pos, after, &usccs)?,
        };
        Ok(walk.page(stop, last))
    }

    fn select(&self, filter: &DisclosureFilter) -> Result<Selection, StoreError> {
        let Some(query) = filter.query() else {
            return Ok(Selection::All);
        };
        let merge_max = self.names.merge_max();
        let mut found = self
            .names
            .with(self, |names| names.search(&query.name, merge_max + 1))?;
        if let Some(prefix) = &query.uscc_prefix {
            for item in self
                .entities
                .scan_prefix(prefix.as_bytes())
                .take(merge_max + 1)
            {
                let (key, _) = item.map_err(|e| self.backend(e))?;
                if let Ok(uscc) = <[u8; USCC_LEN]>::try_from(key.as_ref()) {
                    found.push(uscc);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        if found.len() > merge_max {
            Ok(Selection::Many(query))
        } else {
            Ok(Selection::Few(found))
        }
    }

    /// Walks `'D'` in order from the start (or after the cursor).
    fn walk_list(
        &self,
        walk: &mut Walk<'_>,
        start_pos: &[u8],
        after: Option<&DisclosureCursor>,
        entity_matches: impl Fn(&[u8]) -> bool,
    ) -> Result<(Step, Option<Vec<u8>>), StoreError> {
        let start = list_key(start_pos);
        let lower = match after.map(|c| list_key(&c.0)) {
            Some(cursor) if cursor >= start => Bound::Excluded(cursor),
            _ => Bound::Included(start),
        };
        let range = (lower, Bound::Excluded(vec![LIST_TAG + 1]));
        // The key of the last entry looked at (a cheap handle; copied only when the budget
        // runs out).
        let mut last: Option<sled::IVec> = None;
        let resume = |last: Option<sled::IVec>| last.map(|k| k[1..].to_vec());
        for item in self.public.range::<Vec<u8>, _>(range) {
            if walk.visited >= walk.budget {
                return Ok((Step::Go, resume(last)));
            }
            let (key, value) = item.map_err(|e| self.backend(e))?;
            let pos = &key[1..];
            if pos.len() <= FIXED {
                return Err(SledStore::corrupt(
                    "public_disclosure",
                    &key,
                    "key too short",
                ));
            }
            let mut head = [0u8; 5];
            head.copy_from_slice(value.get(..5).unwrap_or(&[0xFF; 5]));
            // The five bytes first: they are cheaper to test than the entity.
            if !walk.head_admits(&head) || !entity_matches(&pos[4..FIXED]) {
                if walk.oldest.is_some_and(|oldest| pos[..4] > oldest[..]) {
                    return Ok((Step::End, None));
                }
                walk.visited += 1;
                last = Some(key);
                continue;
            }
            match walk.visit(pos, &head, Some(value))? {
                Step::Go => last = Some(key),
                stop => return Ok((stop, None)),
            }
        }
        Ok((Step::End, None))
    }

    /// Merges the `'E'` ranges of a few entities in list order.
    fn walk_entities(
        &self,
        walk: &mut Walk<'_>,
        start_pos: &[u8],
        after: Option<&DisclosureCursor>,
        usccs: &[[u8; USCC_LEN]],
    ) -> Result<(Step, Option<Vec<u8>>), StoreError> {
        let mut ranges = Vec::with_capacity(usccs.len());
        for uscc in usccs {
            let mut prefix = vec![ENTITY_TAG];
            prefix.extend_from_slice(uscc);
            let mut start = prefix.clone();
            start.extend_from_slice(&start_pos[..4]);
            let mut lower = Bound::Included(start);
            if let Some(cursor) = after {
                let c = &cursor.0;
                let from_cursor = match uscc[..].cmp(&c[4..FIXED]) {
                    // After the cursor's entity: its day and later (older) days.
                    std::cmp::Ordering::Greater => Bound::Included([&prefix[..], &c[..4]].concat()),
                    // Before it: strictly older days only.
                    std::cmp::Ordering::Less => {
                        let day = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                        match day.checked_add(1) {
                            Some(next) => {
                                Bound::Included([&prefix[..], &next.to_be_bytes()].concat())
                            }
                            None => continue,
                        }
                    }
                    std::cmp::Ordering::Equal => Bound::Excluded(entity_key(c)),
                };
                lower = max_lower(lower, from_cursor);
            }
            let mut end = prefix.clone();
            end.extend_from_slice(&[0xFF; 5]);
            let range = self
                .public
                .range::<Vec<u8>, _>((lower, Bound::Included(end)));
            ranges.push((range, Source::Entity));
        }
        self.walk_merged(walk, ranges)
    }

    /// Merges the `'K'` ranges of the kinds asked for in list order.
    fn walk_kinds(
        &self,
        walk: &mut Walk<'_>,
        start_pos: &[u8],
        after: Option<&DisclosureCursor>,
    ) -> Result<(Step, Option<Vec<u8>>), StoreError> {
        let mut ranges = Vec::new();
        for kind in RecordKind::ALL
            .into_iter()
            .filter(|k| walk.mask & k.bit() != 0)
        {
            let start = kind_key(kind.index(), start_pos);
            let lower = match after.map(|c| kind_key(kind.index(), &c.0)) {
                Some(cursor) if cursor >= start => Bound::Excluded(cursor),
                _ => Bound::Included(start),
            };
            let end = Bound::Excluded(vec![KIND_TAG, kind.index() + 1]);
            ranges.push((self.public.range::<Vec<u8>, _>((lower, end)), Source::Kind));
        }
        self.walk_merged(walk, ranges)
    }

    /// Merges the `'A'` ranges of every authority whose name contains `wanted` (and of the
    /// truncated long names, which may contain it further on).
    fn walk_authorities(
        &self,
        walk: &mut Walk<'_>,
        start_pos: &[u8],
        after: Option<&DisclosureCursor>,
        wanted: &str,
    ) -> Result<(Step, Option<Vec<u8>>), StoreError> {
        let mut ranges = Vec::new();
        for prefix in self.authority_prefixes(wanted)? {
            let start = [&prefix[..], start_pos].concat();
            let lower = match after.map(|c| [&prefix[..], &c.0[..]].concat()) {
                Some(cursor) if cursor >= start => Bound::Excluded(cursor),
                _ => Bound::Included(start),
            };
            let end = Bound::Included([&prefix[..], &[0xFF; 5][..]].concat());
            let skip = prefix.len();
            ranges.push((
                self.public.range::<Vec<u8>, _>((lower, end)),
                Source::Authority(skip),
            ));
        }
        self.walk_merged(walk, ranges)
    }

    /// The `'A'` prefixes of the authorities whose name contains `wanted`: one seek per
    /// distinct authority.
    fn authority_prefixes(&self, wanted: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut found = Vec::new();
        let mut from = vec![AUTHORITY_TAG];
        loop {
            let next = self
                .public
                .range::<Vec<u8>, _>((
                    Bound::Included(from),
                    Bound::Excluded(vec![AUTHORITY_TAG + 1]),
                ))
                .next();
            let Some(item) = next else {
                return Ok(found);
            };
            let (key, _) = item.map_err(|e| self.backend(e))?;
            let len = key
                .get(1..3)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .filter(|len| key.len() > 3 + len + FIXED)
                .ok_or_else(|| {
                    SledStore::corrupt("public_disclosure", &key, "bad authority key")
                })?;
            let prefix = key[..3 + len].to_vec();
            let truncated = len + 4 > MAX_AUTHORITY_KEY;
            if truncated || std::str::from_utf8(&prefix[3..]).is_ok_and(|a| a.contains(wanted)) {
                found.push(prefix.clone());
            }
            from = [&prefix[..], &[0xFF; 6][..]].concat();
        }
    }

    /// Visits the entries of several ranges, each in list order, merged in list order.
    fn walk_merged(
        &self,
        walk: &mut Walk<'_>,
        mut ranges: Vec<(sled::Iter, Source)>,
    ) -> Result<(Step, Option<Vec<u8>>), StoreError> {
        let mut heap = BinaryHeap::new();
        for (at, (range, source)) in ranges.iter_mut().enumerate() {
            if let Some(first) = next_merged_entry(self, range, *source)? {
                heap.push(Reverse((first.0, at, first.1)));
            }
        }
        let mut last = None;
        while let Some(Reverse((pos, at, head))) = heap.pop() {
            if walk.visited >= walk.budget {
                return Ok((Step::Go, last));
            }
            match walk.visit(&pos, &head, None)? {
                Step::Go => {}
                stop => return Ok((stop, None)),
            }
            last = Some(pos);
            let (range, source) = &mut ranges[at];
            if let Some(next) = next_merged_entry(self, range, *source)? {
                heap.push(Reverse((next.0, at, next.1)));
            }
        }
        Ok((Step::End, None))
    }
}

fn max_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
        _ => a,
    }
}

/// Which entries a merged range holds.
#[derive(Clone, Copy)]
enum Source {
    /// `'E'`: one entity's.
    Entity,
    /// `'K'`: one kind's.
    Kind,
    /// `'A'`: one authority's, after a prefix of this many bytes.
    Authority(usize),
}

/// The next `(position, head)` of a merged range.
fn next_merged_entry(
    store: &SledStore,
    range: &mut sled::Iter,
    source: Source,
) -> Result<Option<KeyValue>, StoreError> {
    match range.next() {
        None => Ok(None),
        Some(item) => {
            let (key, value) = item.map_err(|e| store.backend(e))?;
            let pos = match source {
                Source::Entity => position_of_entity_key(&key),
                Source::Kind => key.get(2..).filter(|p| p.len() > FIXED).map(<[u8]>::to_vec),
                Source::Authority(skip) => key
                    .get(skip..)
                    .filter(|p| p.len() > FIXED)
                    .map(<[u8]>::to_vec),
            }
            .ok_or_else(|| SledStore::corrupt("public_disclosure", &key, "key too short"))?;
            Ok(Some((pos, value.to_vec())))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entity names in memory
// ---------------------------------------------------------------------------------------------

/// The latest name of every entity, in one text searched for substrings (a few MB at a
/// million entities), built from the `entities` tree on first use and updated after every
/// write of records that name an entity.
pub(super) struct EntityNames {
    table: RwLock<Option<NameTable>>,
    /// Index entries a page may visit ([`SCAN_BUDGET`]; tests lower it).
    budget: std::sync::atomic::AtomicUsize,
    /// Most matching entities merged entity by entity ([`MERGE_MAX_ENTITIES`]; tests lower
    /// it).
    merge_max: std::sync::atomic::AtomicUsize,
}

impl Default for EntityNames {
    fn default() -> Self {
        EntityNames {
            table: RwLock::default(),
            budget: SCAN_BUDGET.into(),
            merge_max: MERGE_MAX_ENTITIES.into(),
        }
    }
}

/// Names as segments of one text, `\n`-separated; a renamed entity gets a new segment and
/// its old one is ignored (and dropped when the table is compacted).
#[derive(Default)]
pub(super) struct NameTable {
    text: String,
    starts: Vec<usize>,
    owners: Vec<[u8; USCC_LEN]>,
    current: HashMap<[u8; USCC_LEN], usize>,
}

impl NameTable {
    fn set(&mut self, uscc: [u8; USCC_LEN], name: &str) {
        let name = name.replace('\n', " ");
        if let Some(&seg) = self.current.get(&uscc)
            && self.segment(seg) == name
        {
            return;
        }
        self.current.insert(uscc, self.starts.len());
        self.starts.push(self.text.len());
        self.owners.push(uscc);
        self.text.push_str(&name);
        self.text.push('\n');
        if self.starts.len() > 2 * self.current.len() + 1024 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let mut fresh = NameTable::default();
        let mut live: Vec<(usize, [u8; USCC_LEN])> =
            self.current.iter().map(|(u, s)| (*s, *u)).collect();
        live.sort_unstable();
        for (seg, uscc) in live {
            let name = self.segment(seg).to_owned();
            fresh.set(uscc, &name);
        }
        *self = fresh;
    }

    fn segment(&self, seg: usize) -> &str {
        let start = self.starts[seg];
        let end = self.starts.get(seg + 1).map_or(self.text.len(), |&e| e) - 1;
        &self.text[start..end]
    }

    /// The entity's latest name.
    pub(super) fn name_of(&self, uscc: &[u8]) -> Option<&str> {
        let uscc: [u8; USCC_LEN] = uscc.try_into().ok()?;
        self.current.get(&uscc).map(|&seg| self.segment(seg))
    }

    /// Entities whose latest name contains `needle`, at most `max` of them.
    fn search(&self, needle: &str, max: usize) -> Vec<[u8; USCC_LEN]> {
        let mut found = Vec::new();
        if needle.is_empty() || needle.contains('\n') {
            return found;
        }
        let mut last_seg = usize::MAX;
        for at in memchr::memmem::find_iter(self.text.as_bytes(), needle.as_bytes()) {
            let seg = self.starts.partition_point(|&s| s <= at) - 1;
            if seg == last_seg {
                continue;
            }
            last_seg = seg;
            let owner = self.owners[seg];
            if self.current.get(&owner) == Some(&seg) {
                found.push(owner);
                if found.len() >= max {
                    break;
                }
            }
        }
        found
    }
}

impl EntityNames {
    fn scan_budget(&self) -> usize {
        self.budget.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn merge_max(&self) -> usize {
        self.merge_max.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets how many matching entities are merged entity by entity.
    pub(super) fn set_merge_max(&self, max: usize) {
        self.merge_max
            .store(max, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the scan budget of a page.
    pub(super) fn set_scan_budget(&self, budget: usize) {
        self.budget
            .store(budget.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs `f` on the table, building it first if needed.
    pub(super) fn with<T>(
        &self,
        store: &SledStore,
        f: impl FnOnce(&NameTable) -> T,
    ) -> Result<T, StoreError> {
        {
            let table = self.table.read().unwrap_or_else(|p| p.into_inner());
            if let Some(table) = table.as_ref() {
                return Ok(f(table));
            }
        }
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        if table.is_none() {
            *table = Some(Self::build(store)?);
        }
        Ok(f(table.as_ref().unwrap_or(&NameTable::default())))
    }

    fn build(store: &SledStore) -> Result<NameTable, StoreError> {
        let mut table = NameTable::default();
        for item in store.entities.iter() {
            let (key, value) = item.map_err(|e| store.backend(e))?;
            let entity: codec::StoredEntity =
                codec::decode(&value).map_err(|e| SledStore::corrupt("entities", &key, e))?;
            if let (Ok(uscc), Some(name)) = (<[u8; USCC_LEN]>::try_from(key.as_ref()), entity.name)
            {
                table.set(uscc, &name);
            }
        }
        Ok(table)
    }

    /// Follows the names of records just stored (in batch order: the latest name wins, as in
    /// the `entities` tree). Called after the write committed; a table not built yet will
    /// read the names from the tree.
    pub(super) fn note(&self, records: &[CreditRecord]) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        let Some(table) = table.as_mut() else {
            return;
        };
        for record in records {
            if let (Some(name), Ok(uscc)) = (
                &record.entity_name,
                <[u8; USCC_LEN]>::try_from(record.uscc.as_str().as_bytes()),
            ) {
                table.set(uscc, name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_days_sort_newest_first_and_round_trip() {
        let a = NaiveDate::from_ymd_opt(2024, 3, 1).expect("date");
        let b = NaiveDate::from_ymd_opt(2024, 3, 2).expect("date");
        assert!(inv_day(b) < inv_day(a));
        assert_eq!(day_of_inv(&inv_day(a)), Some(a));
    }

    #[test]
    fn the_name_table_follows_renames_and_finds_substrings() {
        let mut table = NameTable::default();
        let u = |c: u8| [c; USCC_LEN];
        table.set(u(b'1'), "江夏宏达市政工程有限公司");
        table.set(u(b'2'), "青山路桥建设集团有限公司");
        table.set(u(b'1'), "江夏新名称有限公司");
        assert_eq!(table.search("宏达", 10), Vec::<[u8; USCC_LEN]>::new());
        assert_eq!(table.search("新名称", 10), vec![u(b'1')]);
        assert_eq!(table.search("有限公司", 10).len(), 2);
        assert_eq!(table.search("有限公司", 1).len(), 1);
        assert_eq!(table.name_of(&u(b'2')), Some("青山路桥建设集团有限公司"));
        table.compact();
        assert_eq!(table.search("有限公司", 10).len(), 2);
        assert_eq!(table.name_of(&u(b'1')), Some("江夏新名称有限公司"));
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).expect("date");
        let cursor = DisclosureCursor(position(day, &uscc, "B/1 x"));
        let text = cursor.to_string();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(DisclosureCursor::parse(&text), Ok(cursor));
        for bad in [
            "",
            "zz",
            "abc",
            "00",
            &text[..text.len() - 1],
            &"0".repeat(60),
        ] {
            assert!(DisclosureCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
