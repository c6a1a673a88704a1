//! Records, events and history: the [`Records`] concern of the store — credit records keyed
//! by `(uscc, id)`, the repair and revocation events applied to them (or kept until their
//! record arrives), each record's previous versions, entities, the scans the impact analysis
//! reads, and the public disclosure list (a read of the records).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::sled::{RawEntityScan, SledStore};
use super::{
    DisclosureCursor, DisclosureFilter, DisclosurePage, DisclosureRecord, EntityDisclosure,
    StoreError, codec, disclosure,
};
use crate::record::{CreditRecord, RecordKind, Uscc};

/// The kind of market entity, from characters 1-2 of its 统一社会信用代码 (GB 32100-2015).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// `91` 企业.
    Enterprise,
    /// `92` 个体工商户.
    IndividualBusiness,
    /// `93` 农民专业合作社.
    FarmerCooperative,
    /// `11` 机关.
    GovernmentOrgan,
    /// `12` 事业单位.
    PublicInstitution,
    /// `51`, `52`, `53` 社会团体, 民办非企业单位, 基金会.
    SocialOrganization,
    /// Any other registration authority or category.
    Other,
}

impl EntityKind {
    pub(super) const ALL: [EntityKind; 7] = [
        EntityKind::Enterprise,
        EntityKind::IndividualBusiness,
        EntityKind::FarmerCooperative,
        EntityKind::GovernmentOrgan,
        EntityKind::PublicInstitution,
        EntityKind::SocialOrganization,
        EntityKind::Other,
    ];

    /// The kind a USCC's first two characters say.
    pub fn of(uscc: &Uscc) -> EntityKind {
        match uscc.as_str().as_bytes().get(..2) {
            Some(b"91") => EntityKind::Enterprise,
            Some(b"92") => EntityKind::IndividualBusiness,
            Some(b"93") => EntityKind::FarmerCooperative,
            Some(b"11") => EntityKind::GovernmentOrgan,
            Some(b"12") => EntityKind::PublicInstitution,
            Some(b"51" | b"52" | b"53") => EntityKind::SocialOrganization,
            _ => EntityKind::Other,
        }
    }

    /// The Chinese label, e.g. 企业.
    pub const fn label(self) -> &'static str {
        match self {
            EntityKind::Enterprise => "企业",
            EntityKind::IndividualBusiness => "个体工商户",
            EntityKind::FarmerCooperative => "农民专业合作社",
            EntityKind::GovernmentOrgan => "机关",
            EntityKind::PublicInstitution => "事业单位",
            EntityKind::SocialOrganization => "社会组织",
            EntityKind::Other => "其他",
        }
    }

    pub(super) fn index(self) -> u8 {
        self as u8
    }

    pub(super) fn from_index(i: u8) -> EntityKind {
        EntityKind::ALL
            .get(usize::from(i))
            .copied()
            .unwrap_or(EntityKind::Other)
    }
}

/// A market entity as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    /// Its 统一社会信用代码.
    pub uscc: Uscc,
    /// The latest name a record gave for it.
    pub name: Option<String>,
    /// Its kind, from the USCC.
    pub kind: EntityKind,
}

/// What [`Records::put_records`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutSummary {
    /// Records not stored before.
    pub inserted: usize,
    /// Records that changed; their previous version went to the history.
    pub updated: usize,
    /// Records re-sent exactly as stored: nothing written.
    pub unchanged: usize,
    /// Records refused, by their position in the batch; the rest of the batch was stored.
    pub rejected: Vec<(usize, StoreError)>,
    /// Pending events (received before their record) applied to the new records.
    pub pending_applied: usize,
    /// Pending events that did not fit their record when it arrived (`InvalidEvent`): removed,
    /// and refused as they would have been had they come after it.
    pub pending_refused: Vec<StoreError>,
}

/// A status event on a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// 信用修复: the record stops counting from the event date.
    Repair,
    /// 撤销: the record counts as never valid from the event date.
    Revoke,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::Repair => "repair (信用修复)",
            EventKind::Revoke => "revocation (撤销)",
        })
    }
}

/// One event for [`Records::apply_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEvent {
    /// The source record id the event is about.
    pub record_id: String,
    /// Repair or revocation.
    pub kind: EventKind,
    /// The day it takes effect.
    pub date: NaiveDate,
    /// The authority that decided it, if known.
    pub authority: Option<String>,
    /// A free-text note, if any.
    pub note: Option<String>,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// The record changed; its previous version went to the history.
    Applied,
    /// The record already had this event with this date: nothing written.
    Unchanged,
    /// The record is not stored yet: the event is kept (durably) and applied when the
    /// record arrives; see [`Records::pending_events`].
    Pending,
}

/// One version of a record, from [`Records::record_history`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    /// Version number, 1 for the first.
    pub rev: u32,
    /// When this version was written.
    pub stored_at: DateTime<Utc>,
    /// The record as it counted in this version (events applied).
    pub record: CreditRecord,
}

/// The (uscc, records) items of [`Records::scan_entities`].
pub type EntityRecords = Result<(Uscc, Vec<CreditRecord>), StoreError>;

/// One entity's records as [`Records::scan_entities_raw`] read them, not yet decoded:
/// [`RawEntity::decode`] turns them into what [`Records::scan_entities`] yields, and can
/// run on another thread than the scan (e.g. on rayon workers).
pub struct RawEntity(pub(super) RawRecords);

/// What a raw entity holds; the sled variant stays private to this module.
pub(super) enum RawRecords {
    /// Already decoded (stores without a cheaper raw form).
    Decoded(Uscc, Vec<CreditRecord>),
    /// The `records` tree's (key, value) pairs of one entity, in key order.
    Sled(Vec<(sled::IVec, sled::IVec)>),
}

impl RawEntity {
    /// Wraps records already decoded.
    pub fn decoded(uscc: Uscc, records: Vec<CreditRecord>) -> RawEntity {
        RawEntity(RawRecords::Decoded(uscc, records))
    }

    /// How many records the entity has.
    pub fn len(&self) -> usize {
        match &self.0 {
            RawRecords::Decoded(_, records) => records.len(),
            RawRecords::Sled(entries) => entries.len(),
        }
    }

    /// Whether the entity has no records (a scan never yields one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes the records for evaluation: like [`RawEntity::decode`], but the fields no rule
    /// can read (entity name, legal basis, description) are left empty, which saves most of
    /// the allocations; the impact analysis decodes this way.
    pub fn decode_for_evaluation(self) -> EntityRecords {
        let entries = match self.0 {
            RawRecords::Decoded(uscc, records) => {
                let records = records
                    .into_iter()
                    .map(|r| CreditRecord {
                        entity_name: None,
                        legal_basis: None,
                        description: None,
                        ..r
                    })
                    .collect();
                return Ok((uscc, records));
            }
            RawRecords::Sled(entries) => entries,
        };
        let Some((first_key, _)) = entries.first() else {
            return Err(StoreError::InvalidQuery(
                "an entity was scanned without records".into(),
            ));
        };
        let entity = RawEntityScan::entity_of(first_key)?;
        let text = std::str::from_utf8(entity)
            .map_err(|_| SledStore::corrupt("records", first_key, "the USCC is not text"))?;
        let uscc = SledStore::uscc_of("records", first_key, text)?;
        let records = entries
            .iter()
            .map(|(key, bytes)| {
                let view = codec::decode_stored_view(bytes)
                    .map_err(|e| SledStore::corrupt("records", key, e))?;
                view.evaluation_record(&uscc)
                    .map_err(|e| SledStore::corrupt("records", key, e))
            })
            .collect::<Result<Vec<CreditRecord>, StoreError>>()?;
        Ok((uscc, records))
    }

    /// Decodes the records, events applied, sorted by id: the item [`Records::scan_entities`]
    /// would have yielded.
    pub fn decode(self) -> EntityRecords {
        match self.0 {
            RawRecords::Decoded(uscc, records) => Ok((uscc, records)),
            RawRecords::Sled(entries) => {
                let records = entries
                    .iter()
                    .map(|(key, bytes)| {
                        let stored = SledStore::decode_stored(key, bytes)?;
                        SledStore::effective(key, &stored)
                    })
                    .collect::<Result<Vec<CreditRecord>, StoreError>>()?;
                let uscc = records.first().map(|r| r.uscc.clone()).ok_or_else(|| {
                    StoreError::InvalidQuery("an entity was scanned without records".into())
                })?;
                Ok((uscc, records))
            }
        }
    }
}

impl fmt::Debug for RawEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawEntity")
            .field("records", &self.len())
            .finish_non_exhaustive()
    }
}

/// One entity as [`Records::scan_for_evaluation`] read it, not yet decoded:
/// [`EvaluationEntity::decode`] gives its records in the evaluation form
/// ([`RawEntity::decode_for_evaluation`]: events applied, free texts left empty), and can run
/// on another thread than the scan.
pub struct EvaluationEntity(pub(super) EvaluationSource);

pub(super) enum EvaluationSource {
    /// From a store without an evaluation view.
    Raw(RawEntity),
    /// An `entity_eval` (key, value) of [`SledStore`].
    SledView(sled::IVec, sled::IVec),
    /// A `(uscc, evaluation forms laid end to end)` row of the PostgreSQL store's evaluation
    /// scan ([`codec::concatenated_eval_records`]).
    PgRow(tokio_postgres::Row),
}

impl EvaluationEntity {
    /// Wraps an entity read record by record.
    pub fn from_raw(raw: RawEntity) -> EvaluationEntity {
        EvaluationEntity(EvaluationSource::Raw(raw))
    }

    /// How many records the entity has.
    pub fn len(&self) -> usize {
        match &self.0 {
            EvaluationSource::Raw(raw) => raw.len(),
            EvaluationSource::SledView(_, value) => codec::eval_view_len(value),
            EvaluationSource::PgRow(row) => row
                .try_get::<_, i64>(2)
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
        }
    }

    /// Whether the entity has no records (a scan never yields one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes the records for evaluation: sorted by id, events applied, the entity name,
    /// legal basis and description left empty (no rule reads them).
    pub fn decode(self) -> EntityRecords {
        match self.0 {
            EvaluationSource::Raw(raw) => raw.decode_for_evaluation(),
            EvaluationSource::SledView(key, value) => {
                let text = std::str::from_utf8(&key)
                    .map_err(|_| SledStore::corrupt("entity_eval", &key, "the USCC is not text"))?;
                let uscc = SledStore::uscc_of("entity_eval", &key, text)?;
                let records = codec::eval_view_records(&uscc, &value)
                    .map_err(|e| SledStore::corrupt("entity_eval", &key, e))?;
                Ok((uscc, records))
            }
            EvaluationSource::PgRow(row) => {
                let corrupt = |key: &str, reason: String| StoreError::Corrupt {
                    tree: "records",
                    key: format!("`{key}`"),
                    reason,
                };
                let text: &str = row
                    .try_get(0)
                    .map_err(|e| corrupt("(uscc)", e.to_string()))?;
                let uscc = Uscc::parse(text).map_err(|e| corrupt(text, e.to_string()))?;
                let bytes: &[u8] = row.try_get(1).map_err(|e| corrupt(text, e.to_string()))?;
                let records =
                    codec::concatenated_eval_records(&uscc, bytes).map_err(|e| corrupt(text, e))?;
                Ok((uscc, records))
            }
        }
    }
}

impl fmt::Debug for EvaluationEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvaluationEntity")
            .field("records", &self.len())
            .finish_non_exhaustive()
    }
}

/// A part of the USCC key space, for reading a store's entities in parallel
/// ([`Records::evaluation_ranges`], [`Records::scan_for_evaluation_in`]): the USCCs at or
/// after `from` and before `to` (`None`: unbounded on that side), in byte order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsccRange {
    /// The first USCC in the range, or any.
    pub from: Option<String>,
    /// The first USCC after the range, or none.
    pub to: Option<String>,
}

impl UsccRange {
    /// The whole key space.
    pub fn all() -> UsccRange {
        UsccRange::default()
    }

    /// Whether `uscc` is in the range.
    pub fn contains(&self, uscc: &str) -> bool {
        self.from.as_deref().is_none_or(|from| uscc >= from)
            && self.to.as_deref().is_none_or(|to| uscc < to)
    }

    /// The ranges between split points, in key order, covering the whole key space without
    /// overlap: `(-, p1)`, `[p1, p2)`, …, `[pn, -)`. The points are sorted and deduplicated
    /// first; no point gives one range, the whole space.
    pub fn split_at(mut points: Vec<String>) -> Vec<UsccRange> {
        points.sort();
        points.dedup();
        let mut ranges = Vec::with_capacity(points.len() + 1);
        let mut from = None;
        for point in points {
            ranges.push(UsccRange {
                from: from.take(),
                to: Some(point.clone()),
            });
            from = Some(point);
        }
        ranges.push(UsccRange { from, to: None });
        ranges
    }
}

/// An event kept until its record arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingEvent {
    /// The id of the record it is about.
    pub record_id: String,
    /// Repair or revocation.
    pub kind: EventKind,
    /// The day it takes effect.
    pub date: NaiveDate,
    /// The authority that decided it, if known.
    pub authority: Option<String>,
    /// A free-text note, if any.
    pub note: Option<String>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A page of pending events, in record-id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPage {
    /// The events.
    pub items: Vec<PendingEvent>,
    /// The cursor of the next page (`None` at the end): opaque, pass it back as `after`.
    pub next_cursor: Option<String>,
}

/// The records concern of the store (see the module docs of [`crate::store`]). Every mutating
/// method returns only after its writes are durable.
pub trait Records: Send + Sync {
    /// Stores a batch of records, idempotently by `(uscc, id)`: a record re-sent exactly as
    /// stored is a no-op; a changed record replaces the stored one, which goes to the history.
    /// Records that cannot be stored are listed in [`PutSummary::rejected`]; the others are
    /// stored. The batch is written atomically (one transaction: after a crash either all of
    /// it or none of it is there) and flushed once, at the end; it is held in memory until
    /// then, so keep batches to some thousands of records (the importer uses 10 000).
    fn put_records(&self, records: &[CreditRecord]) -> Result<PutSummary, StoreError>;

    /// Applies a repair or revocation to the record with this source id (idempotent).
    fn apply_event(
        &self,
        record_id: &str,
        kind: EventKind,
        date: NaiveDate,
    ) -> Result<EventOutcome, StoreError> {
        let event = RecordEvent {
            record_id: record_id.to_owned(),
            kind,
            date,
            authority: None,
            note: None,
        };
        let mut results = self.apply_events(std::slice::from_ref(&event))?;
        results.pop().unwrap_or(Ok(EventOutcome::Unchanged))
    }

    /// Applies a batch of events, flushing once at the end; one result per event, in order.
    /// The outer error is a storage failure; the inner ones are refused events.
    fn apply_events(
        &self,
        events: &[RecordEvent],
    ) -> Result<Vec<Result<EventOutcome, StoreError>>, StoreError>;

    /// The record with this source id, events applied.
    fn record(&self, record_id: &str) -> Result<Option<CreditRecord>, StoreError>;

    /// An entity's records, events applied, sorted by id.
    fn records_of(&self, uscc: &Uscc) -> Result<Vec<CreditRecord>, StoreError>;

    /// An entity's records as [`Records::records_of`] gives them, shared: a store may
    /// serve them from a cache of recently read entities.
    fn records_of_shared(&self, uscc: &Uscc) -> Result<Arc<[CreditRecord]>, StoreError> {
        Ok(self.records_of(uscc)?.into())
    }

    /// An entity, if any record named it.
    fn entity(&self, uscc: &Uscc) -> Result<Option<Entity>, StoreError>;

    /// The previous versions of a record, oldest first (the current one is not included).
    fn record_history(&self, uscc: &Uscc, id: &str) -> Result<Vec<RecordVersion>, StoreError>;

    /// An entity's records **as the store knew them at `known_at`**, sorted by id: of each
    /// record, the newest version written at or before `known_at` (its `stored_at`: the
    /// store's clock when it wrote that version — a record, a correction, or an event applied
    /// to it), with the events applied as they were then; a record first written after
    /// `known_at` is left out. With `known_at` at or after the last write this is
    /// [`Records::records_of`]. A correction or an event never changes what an earlier
    /// `known_at` gives, as long as the store keeps the history (it never deletes it).
    fn records_known_at(
        &self,
        uscc: &Uscc,
        known_at: DateTime<Utc>,
    ) -> Result<Vec<CreditRecord>, StoreError>;

    /// Every entity with records, in USCC order, with its records sorted by id.
    fn scan_entities(&self) -> Box<dyn Iterator<Item = EntityRecords> + '_>;

    /// The same entities as [`Records::scan_entities`], in the same order, but left
    /// undecoded so that the caller can decode them ([`RawEntity::decode`]) on other threads
    /// while the scan goes on. The default decodes on the scanning thread.
    fn scan_entities_raw(&self) -> Box<dyn Iterator<Item = Result<RawEntity, StoreError>> + '_> {
        Box::new(
            self.scan_entities()
                .map(|item| item.map(|(uscc, records)| RawEntity::decoded(uscc, records))),
        )
    }

    /// The same entities as [`Records::scan_entities`], in the same order, for evaluation
    /// only: [`EvaluationEntity::decode`] gives what [`RawEntity::decode_for_evaluation`] gives.
    /// A store may read them from a cheaper form than its records ([`SledStore`] reads its
    /// evaluation view, one item per entity); the default wraps
    /// [`Records::scan_entities_raw`].
    fn scan_for_evaluation(
        &self,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        Box::new(
            self.scan_entities_raw()
                .map(|item| item.map(EvaluationEntity::from_raw)),
        )
    }

    /// Up to `parts` ranges of the USCC key space, in key order, that together cover every
    /// key once and hold about as many stored entities each, for
    /// [`Records::scan_for_evaluation_in`] on several threads. A store may give fewer (the
    /// default: one range, everything); however they are cut, scanning them all reads every
    /// entity exactly once.
    fn evaluation_ranges(&self, parts: usize) -> Result<Vec<UsccRange>, StoreError> {
        let _ = parts;
        Ok(vec![UsccRange::all()])
    }

    /// The entities of [`Records::scan_for_evaluation`] whose USCC is in `range`, in the
    /// same order and form: scanning the ranges of [`Records::evaluation_ranges`] one after
    /// the other yields what [`Records::scan_for_evaluation`] yields. Each call reads on its
    /// own (its own iterator or connection), so that ranges can be read on several threads
    /// at once; an entity's records are always read together, from one snapshot.
    fn scan_for_evaluation_in(
        &self,
        range: &UsccRange,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_>;

    /// Every record of a kind, in (USCC, id) order.
    fn records_of_kind(
        &self,
        kind: RecordKind,
    ) -> Box<dyn Iterator<Item = Result<CreditRecord, StoreError>> + '_>;

    /// A page of the public disclosure list (向社会公示): the entries public on
    /// `filter.as_of` under the publication rule ([`is_public_on`](super::is_public_on): a repaired or revoked
    /// record is never shown, for any day) that match the filter, newest decision first,
    /// then USCC, then record id; public fields only. The page starts strictly after `after`
    /// and holds at most `limit` (1 to [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE)) entries; its `next_cursor` is
    /// `None` once the list is complete. A store may stop early (fewer entries, even none)
    /// with a cursor to resume from, so that no request scans unboundedly ([`SledStore`]
    /// visits at most [`SCAN_BUDGET`](super::SCAN_BUDGET) index entries). The default computes the page from
    /// every record ([`disclosure_scan_page`](super::disclosure_scan_page)).
    fn disclosure_page(
        &self,
        filter: &DisclosureFilter,
        after: Option<&DisclosureCursor>,
        limit: usize,
    ) -> Result<DisclosurePage, StoreError> {
        disclosure::scan_page(self, filter, after, limit)
    }

    /// One entity's entries public on `as_of` (asked on `today`), newest first, and its
    /// name; `None` when no record names the entity.
    fn disclosure_of_entity(
        &self,
        uscc: &Uscc,
        as_of: NaiveDate,
        today: NaiveDate,
    ) -> Result<Option<EntityDisclosure>, StoreError> {
        disclosure::entity_page(self, uscc, as_of, today)
    }

    /// One record's public page (every public field, the legal basis and the disclosure
    /// period), or `None` when it is not the entity's or not public on `as_of`.
    fn disclosure_record(
        &self,
        uscc: &Uscc,
        id: &str,
        as_of: NaiveDate,
        today: NaiveDate,
    ) -> Result<Option<DisclosureRecord>, StoreError> {
        disclosure::record_page(self, uscc, id, as_of, today)
    }

    /// The events kept because their record had not arrived ([`EventOutcome::Pending`]), in
    /// record-id order: at most `limit` after the cursor `after` (a page's `next_cursor`).
    /// A store that never keeps events has none.
    fn pending_events(&self, after: Option<&str>, limit: usize) -> Result<PendingPage, StoreError> {
        let _ = (after, limit);
        Ok(PendingPage {
            items: Vec::new(),
            next_cursor: None,
        })
    }
}
