//! The public disclosure list's index in sled (tree `public_disclosure`): the rule, the
//! query types and the cursor are in `store/disclosure.rs`.
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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;

use super::super::codec::{self, USCC_LEN};
use super::super::disclosure::{FIXED, Query, day_of_inv, inv_day, is_publishable, position};
use super::super::{
    DisclosureCursor, DisclosureEntry, DisclosureFilter, DisclosurePage, MERGE_MAX_ENTITIES,
    SCAN_BUDGET, StoreError,
};
use super::{SledStore, TxResult};
use crate::record::{CreditRecord, RecordKind};

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

// ---------------------------------------------------------------------------------------------
// Index layout
// ---------------------------------------------------------------------------------------------

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
    /// [`Records::disclosure_page`] over the index.
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
}
