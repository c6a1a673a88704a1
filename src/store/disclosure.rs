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
//! # Backends
//!
//! The PostgreSQL store computes pages from its records with the functions here
//! ([`scan_page`], [`entity_page`], [`record_page`]); the sled store answers the list from
//! an index, `store/sled/disclosure.rs`.
//!
//! The entity and record pages ([`super::Records::disclosure_of_entity`],
//! [`super::Records::disclosure_record`]) read the entity's records directly (an entity
//! has few records) and apply [`is_public_on`].

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::codec::{self, USCC_LEN};
use super::{MAX_ID_LEN, MAX_PAGE_SIZE, Records, StoreError};
use crate::record::{CreditRecord, RecordKind, Severity, Uscc};

/// Index entries one page of the sled store's list may visit at most (see
/// `store/sled/disclosure.rs`).
pub const SCAN_BUDGET: usize = 20_000;

/// Most matching entities a name or USCC query reads entity by entity; beyond, the list is
/// walked in order and each entry's entity tested.
pub const MERGE_MAX_ENTITIES: usize = 256;

/// Bytes of `inv_day ‖ uscc`, the fixed part of a position.
pub(super) const FIXED: usize = 4 + USCC_LEN;

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
    pub(super) fn matches(&self, uscc: &str, name: Option<&str>) -> bool {
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
pub struct DisclosureCursor(pub(super) Vec<u8>);

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

pub(super) fn entry_of(record: &CreditRecord, entity_name: Option<&str>) -> DisclosureEntry {
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

pub(super) fn filter_admits(
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

/// The list page computed from every record ([`Records::scan_entities`]): the reference
/// answer, and the default of [`Records::disclosure_page`] for stores without an index.
pub fn scan_page(
    store: &(impl Records + ?Sized),
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

/// An entity's public entries, from its records ([`Records::disclosure_of_entity`]).
pub fn entity_page(
    store: &(impl Records + ?Sized),
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

/// One record's public page ([`Records::disclosure_record`]).
pub fn record_page(
    store: &(impl Records + ?Sized),
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

/// The decision day, inverted so that ascending bytes run newest first.
pub(super) fn inv_day(day: NaiveDate) -> [u8; 4] {
    let key = codec::date_key(day);
    [!key[0], !key[1], !key[2], !key[3]]
}

pub(super) fn day_of_inv(inv: &[u8]) -> Option<NaiveDate> {
    let bytes: [u8; 4] = inv.get(..4)?.try_into().ok()?;
    let key = u32::from_be_bytes([!bytes[0], !bytes[1], !bytes[2], !bytes[3]]);
    codec::from_day_number((key ^ 0x8000_0000) as i32)
}

/// `inv_day ‖ uscc ‖ id`: a position in list order (a `'D'` key without its tag).
pub(super) fn position(day: NaiveDate, uscc: &Uscc, id: &str) -> Vec<u8> {
    let mut pos = Vec::with_capacity(FIXED + id.len());
    pos.extend_from_slice(&inv_day(day));
    pos.extend_from_slice(uscc.as_str().as_bytes());
    pos.extend_from_slice(id.as_bytes());
    pos
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
