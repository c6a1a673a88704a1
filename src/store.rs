//! The record store: credit records, entities, record history, rule-set versions, drafts
//! under review, intake cursors and the decision log, on disk in
//! [sled](https://docs.rs/sled/0.34).
//!
//! This is the only module that names sled types. Everything else talks to the
//! [`RecordStore`] trait (with [`DraftStore`] for the drafts under review), which has two
//! implementations: [`SledStore`], embedded, the default (`--data DIR`), described below, and
//! [`PgStore`] on PostgreSQL (`--store postgres://…`, module `store/postgres.rs`: its schema,
//! the bridge from this synchronous trait to its async driver, and replicas).
//! [`StoreLocation`] opens either for the commands.
//!
//! # Durability
//!
//! **A write is acknowledged only after it is durable.** Every mutating call
//! ([`RecordStore::put_records`], [`RecordStore::apply_event`], [`RecordStore::apply_events`],
//! [`RecordStore::put_ruleset_version`], [`RecordStore::set_cursor`], [`DraftStore::put_draft`],
//! [`DraftStore::update_draft`]) ends with `Db::flush()`
//! and returns only after it succeeded; a batch call flushes once, at its end. The decision
//! log, written on every evaluation, is made durable differently: each group of entries is
//! appended to the decision journal (`decisions.journal`, one `fdatasync` per group, see
//! `store/journal.rs`) and then put into the sled trees without a flush; on opening, the
//! journal entries sled had not yet written out are indexed again. The caveats of sled 0.34.7 that this
//! design works around or accepts (see `shared/DEPENDENCIES.md` §1.1–1.4):
//!
//! * sled only fsyncs on its own every 500 ms (`flush_every_ms`); a write that returned is in
//!   the OS page cache, which survives a killed process but not a power loss. Hence the
//!   explicit flush before acknowledging.
//! * `flush()` issues mostly `sync_file_range` and few `fsync` calls; the sled author noted
//!   (#1077) that this can lose data on a newly grown segment after a *power loss* if the file
//!   length metadata was not synced. The kill -9 test (`tests/durability.rs`,
//!   `scripts/durability-soak.sh`) proves process crashes lose nothing acknowledged; it cannot
//!   prove power-loss safety.
//! * Open issues report corrupted snapshots after abrupt stops (#1533, #1527, #1509). Opening
//!   a database that sled cannot read is reported as [`StoreError::Backend`] (a panic inside
//!   sled while opening is caught and reported the same way) instead of crashing the service.
//! * Space amplification (#1124, #1374): a bulk load of 1 M records (355 MB of JSON lines)
//!   takes about 1.4–1.5 GB on disk, and sled's default 1 GiB page cache makes the importer's
//!   resident size about 2 GB. Monitor the directory size.
//! * One process per database directory: sled takes an exclusive file lock, and a second
//!   opener gets [`StoreError::Backend`] naming the directory. (Within one process a store
//!   that was just dropped may hold the lock a moment longer; [`SledStore::open`] retries for
//!   up to a second.)
//! * Transactions are optimistic: a transaction closure may run more than once, so the
//!   closures here compute only from their inputs and the transactional reads (no clocks
//!   read inside, no I/O), and they do no range scans (sled offers none inside a
//!   transaction).
//! * A transaction holds a process-wide lock that every other read and write of the same
//!   process waits for (sled 0.34 `concurrency_control`, taken by `Tree::get`, `insert` and
//!   iterators once any transaction has run). A 10 000-record batch holds it for about a
//!   second, so a server that writes while it serves reads should write small batches.
//! * Advisories RUSTSEC-2024-0384 (`instant`) and RUSTSEC-2025-0057 (`fxhash`) come with sled
//!   0.34.7 and have no safe upgrade.
//!
//! # On-disk schema (format version 3)
//!
//! All integers in keys are big-endian (signed ones with the sign bit flipped) so that byte
//! order is numeric order. `‖` is concatenation; `uscc` is the 18 ASCII bytes of the code;
//! `id` is the source record id in UTF-8 (it may not contain a NUL byte); `date` is days since
//! 0001-01-01 as an order-preserving `i32` (4 bytes). Values are [postcard] unless stated.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | `"format_version"` | `u32` BE: the schema version, [`FORMAT_VERSION`] |
//! | `meta` | `"decision_journal_indexed"` | `{generation, offset}`: how far the decision journal is in the `decisions*` trees |
//! | `entities` | `uscc` | `{name?, kind}`: latest entity name seen, [`EntityKind`] code |
//! | `records` | `uscc ‖ 0x00 ‖ id` | `{rev, stored_at, body, repair?, revoke?, dates: {published_on?, valid_until?}}`: the record as the source sent it plus the repair / revocation events applied to it; `dates` comes last so that a value written before it (without it) still decodes, as no dates |
//! | `record_ids` | `id` | `uscc`: events name only the record id |
//! | `entity_eval` | `uscc` | `0x02 ‖ [record]`: the **evaluation view**, every record of the entity sorted by id, as it counts (events applied) with only the fields rules read: `{id, kind, authority?, document_no?, decided_on, disclosure_until?, severity?, sector?, penalty_type?, amount? (16 bytes, rust_decimal's serialize), grade?, repaired_on?, revoked_on?, dates: {published_on?, valid_until?}}`; `0x02` is the value layout; layout `0x01` (the same without `dates`) is still read and rewritten as `0x02` when the entity changes |
//! | `records_by_kind` | `kind index (1 byte) ‖ uscc ‖ 0x00 ‖ id` | empty |
//! | `public_disclosure` | `'D' ‖ inv_day ‖ uscc ‖ id`, and `'E' ‖ uscc ‖ inv_day ‖ id` | the public disclosure list of the records that may be published (never repaired nor revoked, dishonesty kind): the list line, and per entity; see `store/disclosure.rs` |
//! | `record_history` | `uscc ‖ 0x00 ‖ id ‖ 0x00 ‖ rev (u32)` | a previous version, same layout as `records` |
//! | `ruleset_versions` | SHA-256 of the source (32 bytes) | `{ruleset id, source, author, time, message, parent hash?}` |
//! | `ruleset_log` | `ruleset id ‖ 0x00 ‖ seq (u32)` | SHA-256 (32 bytes) |
//! | `ruleset_heads` | `ruleset id` | `{seq, hash}` of the newest log entry |
//! | `drafts` | draft id (`u64`, from 1) | `{ruleset id, source, sector?, base hash?, author, submitted, message, activate_on?, status, published hash?, events: [{time, actor, action, comment?, activate_on?, version hash?}]}`: a version under review and its append-only history (`store/drafts.rs`) |
//! | `pending_events` | `record id ‖ 0x00 ‖ kind (0 repair, 1 revocation)` | `{date, received_at, authority?, note?}`: an event that arrived before its record, applied in the transaction that stores the record (`store/pending.rs`) |
//! | `cursors` | cursor name (UTF-8) | cursor value (UTF-8) |
//! | `decisions` | `seq (u64)`, numbered by the journal writer | `0x01 ‖ {location in the journal, time (ms), ruleset id}`; or, from a temporary store or a database from before the journal, the **JSON** of [`DecisionEntry`] |
//! | `decisions_by_entity` | `uscc ‖ seq (u64)` | empty |
//! | `decisions_by_ruleset`, `decisions_by_time` | — | no longer written (queries by rule set or time read the pointers in `decisions`); databases from before the journal may hold keys, which are ignored |
//!
//! The `drafts` and `pending_events` trees and the decision journal were added without
//! changing the format version: a database written before them opens with no drafts, no
//! pending events and an empty journal.
//!
//! Opening a database whose `format_version` is newer than [`FORMAT_VERSION`] (or unknown) is
//! refused with [`StoreError::UnsupportedFormat`]; a fresh database gets the current version.
//!
//! ## The evaluation view and the migration from format version 1
//!
//! `entity_eval` lets the impact analysis ([`RecordStore::scan_for_evaluation`]) read one
//! sled item per entity instead of one per record. It is derived data, written **in the same
//! transaction** as the record trees: every write that changes a record's effective content
//! (a new or changed record in [`RecordStore::put_records`], an applied event in
//! [`RecordStore::apply_events`]) rewrites the entity's value, once per entity per batch
//! (the batch's changes are gathered per entity and merged into the stored value at the end
//! of the transaction), so after a crash it cannot disagree with `records`. A record re-sent
//! unchanged, a refused record and an unchanged event write nothing.
//!
//! Version 1 had no `entity_eval`. Opening a version-1 database migrates it: the view tree is
//! emptied (a crashed earlier attempt, or a version-1 build that wrote records since, may
//! have left stale values), rebuilt from a scan of `records` in batches of about 20 000
//! records, flushed, and only then is `format_version` set to 2 and flushed again. A crash
//! during the migration leaves version 1, so the next opening simply starts it again. It
//! takes about as long as one record-by-record scan of the store (see README, Benchmarks).
//! Builds that know only version 1 refuse a version-2 database (`UnsupportedFormat`).
//!
//! ## The public disclosure list and the migration from format version 2
//!
//! **A repair ends publication**: a record that the store knows to be repaired (信用修复) or
//! revoked (撤销) is never shown to the public, for any day, past or present, whatever the
//! date of the repair; a past day may be looked up only for what is still public now (its
//! disclosure period has not ended before today). The full rule is [`is_public_on`]
//! (module `store/disclosure.rs`).
//!
//! The list is read from `public_disclosure`, an index written in the same transaction as
//! the records (like `entity_eval`): a page costs the same at a million records as at a
//! thousand, and visits at most [`SCAN_BUDGET`] index entries (a rare filter can answer a
//! short page with a cursor that resumes the walk). Version 2 had instead
//! `records_by_disclosure_end`, which every request read in full. Opening a version-2 (or
//! version-1, after its own migration) database empties `public_disclosure`, rebuilds it
//! from a scan of `records` in batches, flushes, sets `format_version` to 3, flushes, and
//! then drops `records_by_disclosure_end`. A crash before the version is written leaves
//! version 2 and the next opening starts again; builds that know only version 2 refuse a
//! version-3 database.
//!
//! # Records, events and history
//!
//! * A record is identified by `(uscc, id)`; the `record_ids` index makes ids unique across
//!   the store, so a record id already stored for another entity is refused
//!   ([`StoreError::IdConflict`]).
//! * [`RecordStore::put_records`] compares the record with the one the source sent last:
//!   the same record is `unchanged` (nothing written); a different one is `updated`, and the
//!   previous version goes to `record_history` under its version number.
//! * Repairs and revocations ([`RecordStore::apply_event`]) are kept beside the source's
//!   record, not in it, so that the source re-sending its record (which knows nothing of the
//!   event) neither wipes the event nor counts as a change. The record as it counts (returned
//!   by every read) takes `repaired_on` / `revoked_on` from the source's record when it has
//!   them, else from the events. An event with the date already applied is `Unchanged`;
//!   another date replaces the earlier one, and the previous version goes to the history.
//! * An event whose record is not stored yet is kept in `pending_events` and applied in the
//!   transaction that stores the record ([`RecordStore::pending_events`] lists them; see
//!   `store/pending.rs`).
//! * Entities are created by their first record; the entity name follows the latest record
//!   that gives one.

mod changes;
mod codec;
mod disclosure;
mod drafts;
mod journal;
mod location;
mod pending;
pub mod postgres;

pub use changes::StoreChange;
pub use location::{STORE_ENV, StoreLocation};
pub use pending::{PendingEvent, PendingPage};
pub use postgres::PgStore;

pub use disclosure::{
    CursorError, DisclosureCursor, DisclosureEntry, DisclosureFilter, DisclosurePage,
    DisclosureRecord, EntityDisclosure, MERGE_MAX_ENTITIES, SCAN_BUDGET, is_public_on,
    is_publishable, scan_page as disclosure_scan_page,
};

pub use drafts::{
    Actor, Draft, DraftQuery, DraftStatus, DraftStore, DraftTransition, NewDraft, ReviewAction,
    ReviewEvent,
};

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};

use crate::record::{CreditRecord, RecordError, RecordKind, Uscc};
use codec::{
    EvalRecord, EventMark, RecordBody, RecordDates, RuleSetHead, StoredEntity, StoredRecord,
    StoredRuleSetVersion,
};
use journal::{Journal, JournalItem, Location, Watermark};
use std::sync::{Arc, Mutex};

/// The schema version this build reads and writes (key `format_version` of tree `meta`).
pub const FORMAT_VERSION: u32 = 3;

/// The format version before the evaluation view (`entity_eval`); opening such a database
/// migrates it.
const FORMAT_VERSION_1: u32 = 1;

/// The format version before the public disclosure index (`public_disclosure`); opening
/// such a database migrates it.
const FORMAT_VERSION_2: u32 = 2;

/// Records per sled batch while the migration builds the evaluation view.
const MIGRATION_BATCH_RECORDS: usize = 20_000;

/// Longest accepted record id, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Largest page size [`RecordStore::disclosure_page`] accepts.
pub const MAX_PAGE_SIZE: usize = 1000;

const FORMAT_KEY: &[u8] = b"format_version";
/// `meta` key of the decision journal's [`Watermark`]: how far it is indexed in sled.
const JOURNAL_KEY: &[u8] = b"decision_journal_indexed";
/// The decision journal's directory in the database directory.
const JOURNAL_DIR: &str = "decisions";
/// Segment size past which the journal starts a new segment (after a sled flush).
const JOURNAL_SEGMENT_BYTES: u64 = 64 << 20;
/// Journal growth after which the indexed watermark is written again.
const WATERMARK_EVERY: u64 = 1 << 20;
/// First byte of a `decisions` value that is a [`journal::Location`]; a value starting with
/// `{` is the entry's JSON itself (temporary stores, and entries logged before the journal).
const LOCATION_TAG: u8 = 1;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (I/O error, lock held by another process, unreadable files).
    #[error("record store at `{path}`: {message}")]
    Backend {
        /// The database directory (`<temporary>` for a temporary store).
        path: String,
        /// What the engine reported.
        message: String,
    },
    /// The database was written by another version of the schema.
    #[error(
        "record store at `{path}` has format version {found}, but this build of credit-rules \
         reads only format version {supported}; use a credit-rules release that supports \
         version {found}, or migrate the database"
    )]
    UnsupportedFormat {
        /// The database directory.
        path: String,
        /// The version found on disk.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The database holds data but no format version, so it was not written by credit-rules.
    #[error(
        "record store at `{path}` holds data but no format version; it was not created by \
         credit-rules, so point --data at an empty directory or a credit-rules database"
    )]
    MissingFormatVersion {
        /// The database directory.
        path: String,
    },
    /// A stored value could not be decoded.
    #[error("record store is damaged: tree `{tree}`, key {key}: {reason}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The key, printed readably.
        key: String,
        /// What did not decode.
        reason: String,
    },
    /// A record cannot be stored as it is.
    #[error("record `{id}` is refused: {reason}")]
    InvalidRecord {
        /// The record id as given.
        id: String,
        /// Why.
        reason: String,
    },
    /// A record id is already stored for another entity.
    #[error(
        "record id `{id}` is already stored for entity {existing}, so the record with the same \
         id for entity {given} is refused; record ids must be unique across all sources \
         (if the source corrected the USCC, remove the old record first)"
    )]
    IdConflict {
        /// The record id.
        id: String,
        /// The entity it is stored for.
        existing: String,
        /// The entity of the refused record.
        given: String,
    },
    /// An event names a record id that is not stored and cannot be kept for later either:
    /// the id holds a NUL character or is longer than [`MAX_ID_LEN`] bytes, so no record can
    /// ever have it. (An event on any other unknown id is kept: [`EventOutcome::Pending`].)
    #[error(
        "no record with id `{id}` is stored, and no record can have this id (a NUL character, \
         or more than 256 bytes), so its {kind} event is refused; check the record id"
    )]
    UnknownRecord {
        /// The record id.
        id: String,
        /// The event kind.
        kind: EventKind,
    },
    /// An event would make its record inconsistent (e.g. repaired before it was decided).
    #[error("{kind} event on record `{id}` is refused: {reason}")]
    InvalidEvent {
        /// The record id.
        id: String,
        /// The event kind.
        kind: EventKind,
        /// Why.
        reason: String,
    },
    /// A query argument is out of range.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A rule-set version conflicts with what is stored.
    #[error("rule-set version refused: {0}")]
    RuleSetConflict(String),
    /// No draft has this id.
    #[error("there is no draft #{id}")]
    UnknownDraft {
        /// The id asked for.
        id: u64,
    },
    /// A draft is not in a status the change can start from.
    #[error("draft #{id} is {status}, so it cannot become {}", to.as_str())]
    DraftStatus {
        /// The draft.
        id: u64,
        /// Its status.
        status: DraftStatus,
        /// The status asked for.
        to: DraftStatus,
    },
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
    const ALL: [EntityKind; 7] = [
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

    fn index(self) -> u8 {
        self as u8
    }

    fn from_index(i: u8) -> EntityKind {
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

/// What [`RecordStore::put_records`] did with a batch.
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

/// One event for [`RecordStore::apply_events`].
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
    /// record arrives; see [`RecordStore::pending_events`].
    Pending,
}

/// One version of a record, from [`RecordStore::record_history`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    /// Version number, 1 for the first.
    pub rev: u32,
    /// When this version was written.
    pub stored_at: DateTime<Utc>,
    /// The record as it counted in this version (events applied).
    pub record: CreditRecord,
}

/// A new rule-set version for [`RecordStore::put_ruleset_version`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleSetVersion<'a> {
    /// Rule-set id, e.g. `water`.
    pub ruleset_id: &'a str,
    /// The complete source text.
    pub source: &'a str,
    /// Who wrote it.
    pub author: &'a str,
    /// Why it changed.
    pub message: &'a str,
    /// When it was saved.
    pub time: DateTime<Utc>,
}

/// A stored rule-set version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSetVersion {
    /// SHA-256 of the source, 64 lower-case hex digits; the version's identity.
    pub hash: String,
    /// Rule-set id.
    pub ruleset_id: String,
    /// The complete source text.
    pub source: String,
    /// Who wrote it.
    pub author: String,
    /// When it was first saved.
    pub time: DateTime<Utc>,
    /// Why it changed.
    pub message: String,
    /// The version it was saved on top of, if any.
    pub parent: Option<String>,
}

/// What [`RecordStore::put_ruleset_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutVersion {
    /// The version's hash.
    pub hash: String,
    /// Its position in the rule set's log, from 1.
    pub seq: u32,
    /// Whether the log grew: `false` when the source is already the newest version.
    pub created: bool,
}

/// One entry of the decision log: an evaluation that was reported to someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// When the decision was made.
    pub time: DateTime<Utc>,
    /// Rule-set id.
    pub ruleset_id: String,
    /// Hash of the rule texts applied (the report's `hash`).
    pub version_hash: String,
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// The entities evaluated (several for a consortium, 联合体).
    pub usccs: Vec<Uscc>,
    /// The decision code: `eligible`, `disqualified` or `review`.
    pub decision: String,
    /// Total credit points.
    pub total: Decimal,
    /// The report as given to the caller, less the texts that the rules themselves
    /// (identified by `version_hash`) supply: each clause's wording, basis and explanation.
    pub report: ReportJson,
    /// The HTTP request that asked (its `x-request-id`); absent in older entries and for
    /// evaluations not made over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Who asked: the token holder's name and role; absent in older entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Actor>,
    /// The records were taken as the store knew them at this time
    /// ([`RecordStore::records_known_at`]); absent in older entries (replay then takes
    /// `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at: Option<DateTime<Utc>>,
    /// The records were given with the request, not read from the store (such a decision
    /// cannot be replayed from the store).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline_records: bool,
}

/// A report as JSON text, kept as written (no parsing into a tree on the hot path).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportJson(Box<serde_json::value::RawValue>);

impl ReportJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON as a value tree.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl From<serde_json::Value> for ReportJson {
    fn from(value: serde_json::Value) -> Self {
        // Serialising a Value cannot fail: its map keys are strings.
        let raw = serde_json::value::to_raw_value(&value)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
        ReportJson(raw)
    }
}

impl PartialEq for ReportJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for ReportJson {}

impl DecisionEntry {
    /// The log entry for an evaluation report.
    pub fn from_report(
        report: &crate::eval::Report,
        usccs: Vec<Uscc>,
        time: DateTime<Utc>,
    ) -> DecisionEntry {
        let decision = report.decision.code().to_owned();
        DecisionEntry {
            time,
            ruleset_id: report.ruleset.clone(),
            version_hash: report.hash.clone(),
            as_of: report.as_of,
            usccs,
            decision,
            total: report.total,
            report: compact_report(report),
            request_id: None,
            caller: None,
            known_at: None,
            inline_records: false,
        }
    }

    /// Records how the records were taken: as the store knew them at `known_at`, or given
    /// with the request (`inline`).
    pub fn records_from(mut self, known_at: DateTime<Utc>, inline: bool) -> DecisionEntry {
        self.known_at = Some(known_at);
        self.inline_records = inline;
        self
    }

    /// Records the request and the caller that asked for the decision.
    pub fn asked_by(mut self, request_id: Option<&str>, caller: Option<Actor>) -> DecisionEntry {
        self.request_id = request_id.map(str::to_owned);
        self.caller = caller;
        self
    }
}

/// The report without the rule texts (wording, basis, explanation), which the rule-set
/// version reproduces: the log stays small enough to write on every evaluation.
fn compact_report(report: &crate::eval::Report) -> ReportJson {
    let compact = compact::Report::of(report);
    match serde_json::value::to_raw_value(&compact) {
        Ok(raw) => ReportJson(raw),
        Err(_) => ReportJson(serde_json::value::RawValue::NULL.to_owned()),
    }
}

/// Borrowed views of a report that serialise it without the rule texts.
mod compact {
    use crate::ast::ClauseKind;
    use crate::eval::{Decision, EvalError};
    mod report {
        pub use crate::eval::{ClauseReport, RecordRef, Report};
    }
    use chrono::NaiveDate;
    use rust_decimal::Decimal;
    use serde::Serialize;

    #[derive(Serialize)]
    pub(super) struct Report<'a> {
        ruleset: &'a str,
        version: &'a str,
        hash: &'a str,
        as_of: NaiveDate,
        decision: Decision,
        decision_label: &'static str,
        total: Decimal,
        vetoes: Vec<Clause<'a>>,
        flags: Vec<Clause<'a>>,
        scores: Vec<Clause<'a>>,
    }

    #[derive(Serialize)]
    struct Clause<'a> {
        clause: &'a str,
        kind: ClauseKind,
        origin: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        points: Option<Decimal>,
        #[serde(skip_serializing_if = "Option::is_none")]
        raw: Option<Decimal>,
        records: &'a [report::RecordRef],
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a EvalError>,
    }

    impl<'a> Report<'a> {
        pub(super) fn of(report: &'a report::Report) -> Self {
            let clauses = |list: &'a [report::ClauseReport]| {
                list.iter()
                    .map(|c| Clause {
                        clause: &c.clause,
                        kind: c.kind,
                        origin: &c.origin,
                        points: c.points,
                        raw: c.raw,
                        records: &c.records,
                        error: c.error.as_ref(),
                    })
                    .collect()
            };
            Report {
                ruleset: &report.ruleset,
                version: &report.version,
                hash: &report.hash,
                as_of: report.as_of,
                decision: report.decision,
                decision_label: report.decision_label,
                total: report.total,
                vetoes: clauses(&report.vetoes),
                flags: clauses(&report.flags),
                scores: clauses(&report.scores),
            }
        }
    }
}

/// A decision log entry with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedDecision {
    /// Sequence number: unique, increasing in append order.
    pub seq: u64,
    /// The entry.
    pub entry: DecisionEntry,
}

/// Filters for [`RecordStore::decisions`]; all given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionQuery {
    /// Only decisions about this entity.
    pub uscc: Option<Uscc>,
    /// Only decisions under this rule set.
    pub ruleset_id: Option<String>,
    /// Only decisions made at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only decisions made before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only decisions with a sequence number above this (for paging).
    pub after_seq: Option<u64>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

/// The (uscc, records) items of [`RecordStore::scan_entities`].
pub type EntityRecords = Result<(Uscc, Vec<CreditRecord>), StoreError>;

/// One entity's records as [`RecordStore::scan_entities_raw`] read them, not yet decoded:
/// [`RawEntity::decode`] turns them into what [`RecordStore::scan_entities`] yields, and can
/// run on another thread than the scan (e.g. on rayon workers).
pub struct RawEntity(RawRecords);

/// What a raw entity holds; the sled variant stays private to this module.
enum RawRecords {
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

    /// Decodes the records, events applied, sorted by id: the item [`RecordStore::scan_entities`]
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

/// One entity as [`RecordStore::scan_for_evaluation`] read it, not yet decoded:
/// [`EvaluationEntity::decode`] gives its records in the evaluation form
/// ([`RawEntity::decode_for_evaluation`]: events applied, free texts left empty), and can run
/// on another thread than the scan.
pub struct EvaluationEntity(EvaluationSource);

enum EvaluationSource {
    /// From a store without an evaluation view.
    Raw(RawEntity),
    /// An `entity_eval` (key, value) of [`SledStore`].
    SledView(sled::IVec, sled::IVec),
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

// ---------------------------------------------------------------------------------------------
// The trait
// ---------------------------------------------------------------------------------------------

/// The operations the product needs from its database. Every mutating method returns only
/// after its writes are durable. The drafts under review are [`DraftStore`]'s part.
pub trait RecordStore: DraftStore + Send + Sync {
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

    /// An entity's records as [`RecordStore::records_of`] gives them, shared: a store may
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
    /// [`RecordStore::records_of`]. A correction or an event never changes what an earlier
    /// `known_at` gives, as long as the store keeps the history (it never deletes it).
    fn records_known_at(
        &self,
        uscc: &Uscc,
        known_at: DateTime<Utc>,
    ) -> Result<Vec<CreditRecord>, StoreError>;

    /// Every entity with records, in USCC order, with its records sorted by id.
    fn scan_entities(&self) -> Box<dyn Iterator<Item = EntityRecords> + '_>;

    /// The same entities as [`RecordStore::scan_entities`], in the same order, but left
    /// undecoded so that the caller can decode them ([`RawEntity::decode`]) on other threads
    /// while the scan goes on. The default decodes on the scanning thread.
    fn scan_entities_raw(&self) -> Box<dyn Iterator<Item = Result<RawEntity, StoreError>> + '_> {
        Box::new(
            self.scan_entities()
                .map(|item| item.map(|(uscc, records)| RawEntity::decoded(uscc, records))),
        )
    }

    /// The same entities as [`RecordStore::scan_entities`], in the same order, for evaluation
    /// only: [`EvaluationEntity::decode`] gives what [`RawEntity::decode_for_evaluation`] gives.
    /// A store may read them from a cheaper form than its records ([`SledStore`] reads its
    /// evaluation view, one item per entity); the default wraps
    /// [`RecordStore::scan_entities_raw`].
    fn scan_for_evaluation(
        &self,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        Box::new(
            self.scan_entities_raw()
                .map(|item| item.map(EvaluationEntity::from_raw)),
        )
    }

    /// Every record of a kind, in (USCC, id) order.
    fn records_of_kind(
        &self,
        kind: RecordKind,
    ) -> Box<dyn Iterator<Item = Result<CreditRecord, StoreError>> + '_>;

    /// A page of the public disclosure list (向社会公示): the entries public on
    /// `filter.as_of` under the publication rule ([`is_public_on`]: a repaired or revoked
    /// record is never shown, for any day) that match the filter, newest decision first,
    /// then USCC, then record id; public fields only. The page starts strictly after `after`
    /// and holds at most `limit` (1 to [`MAX_PAGE_SIZE`]) entries; its `next_cursor` is
    /// `None` once the list is complete. A store may stop early (fewer entries, even none)
    /// with a cursor to resume from, so that no request scans unboundedly ([`SledStore`]
    /// visits at most [`SCAN_BUDGET`] index entries). The default computes the page from
    /// every record ([`disclosure_scan_page`]).
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

    /// Saves a rule-set version, content-addressed by the SHA-256 of its source. Saving the
    /// newest version's source again changes nothing; saving an older version's source again
    /// appends it to the log (a revert) with its original metadata.
    fn put_ruleset_version(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError>;

    /// A rule-set version by its hash (64 hex digits).
    fn ruleset_version(&self, hash: &str) -> Result<Option<RuleSetVersion>, StoreError>;

    /// A rule set's versions in log order (oldest first).
    fn ruleset_versions(&self, ruleset_id: &str) -> Result<Vec<RuleSetVersion>, StoreError>;

    /// The ids of every rule set with at least one saved version, sorted.
    fn ruleset_ids(&self) -> Result<Vec<String>, StoreError>;

    /// A named intake cursor (e.g. per sync source).
    fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets a named intake cursor.
    fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Appends to the decision log; returns the entry's sequence number.
    fn append_decision(&self, entry: &DecisionEntry) -> Result<u64, StoreError> {
        let mut seqs = self.append_decisions(std::slice::from_ref(entry))?;
        seqs.pop()
            .ok_or_else(|| StoreError::InvalidQuery("no sequence number was assigned".into()))
    }

    /// Appends several entries with one flush at the end (group commit); returns their
    /// sequence numbers in order. Durable when it returns.
    fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<Vec<u64>, StoreError>;

    /// Like [`RecordStore::append_decisions`], but calls `durable` with the sequence numbers
    /// as soon as the entries are durable, which may be before the store has finished
    /// indexing them (a caller can answer earlier). A query started after `durable` was
    /// called still sees the entries.
    fn append_decisions_notify(
        &self,
        entries: &[DecisionEntry],
        durable: &mut dyn FnMut(&[u64]),
    ) -> Result<Vec<u64>, StoreError> {
        let seqs = self.append_decisions(entries)?;
        durable(&seqs);
        Ok(seqs)
    }

    /// Decision log entries matching a query, in sequence order.
    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError>;

    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;

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

    /// Calls `watcher` for every change another process makes to the same database (the
    /// PostgreSQL store, shared by server replicas); a store that no other process can open
    /// never calls it.
    fn watch_changes(&self, watcher: Box<dyn Fn(StoreChange) + Send + Sync>) {
        let _ = watcher;
    }
}

/// Checks that a record can be stored: [`CreditRecord::validate`], plus an id of at most
/// [`MAX_ID_LEN`] bytes without NUL characters (ids are part of keys).
pub fn check_record(record: &CreditRecord) -> Result<(), StoreError> {
    let refuse = |reason: String| StoreError::InvalidRecord {
        id: record.id.clone(),
        reason,
    };
    if let Err(errors) = record.validate() {
        let reasons: Vec<String> = errors.iter().map(RecordError::to_string).collect();
        return Err(refuse(reasons.join("; ")));
    }
    if record.id.contains('\0') {
        return Err(refuse("the id contains a NUL character".into()));
    }
    if record.id.len() > MAX_ID_LEN {
        return Err(refuse(format!(
            "the id is {} bytes long; at most {MAX_ID_LEN} are accepted",
            record.id.len()
        )));
    }
    Ok(())
}

/// The SHA-256 of a rule-set source as 64 lower-case hex digits: the identity of a version.
pub fn source_hash(source: &str) -> String {
    codec::hex(&Sha256::digest(source.as_bytes()))
}

/// Whether records of this kind appear on the public disclosure list: every kind except
/// 表彰奖励, 行政许可 and 信用等级.
pub fn is_dishonesty(kind: RecordKind) -> bool {
    !matches!(
        kind,
        RecordKind::Commendation | RecordKind::AdminLicense | RecordKind::SectorGrade
    )
}

fn now_ms() -> i64 {
    DateTime::<Utc>::from(SystemTime::now()).timestamp_millis()
}

fn time_from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn printable(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if !text.contains('\0') => format!("`{text}`"),
        _ => format!("0x{}", codec::hex(key)),
    }
}

// ---------------------------------------------------------------------------------------------
// SledStore
// ---------------------------------------------------------------------------------------------

/// The [`RecordStore`] on sled 0.34 (see the module docs for the schema and durability).
pub struct SledStore {
    path: String,
    db: sled::Db,
    meta: sled::Tree,
    entities: sled::Tree,
    records: sled::Tree,
    entity_eval: sled::Tree,
    ids: sled::Tree,
    by_kind: sled::Tree,
    public: sled::Tree,
    history: sled::Tree,
    rs_versions: sled::Tree,
    rs_log: sled::Tree,
    rs_heads: sled::Tree,
    cursors: sled::Tree,
    drafts: sled::Tree,
    pending: sled::Tree,
    decisions: sled::Tree,
    dec_by_entity: sled::Tree,
    decision_writer: Mutex<DecisionWriter>,
    /// The decision journal's directory; `None` for a temporary store.
    journal_dir: Option<PathBuf>,
    /// Decoded records of recently evaluated entities.
    cache: EntityCache,
    /// Entity names for the disclosure list's name search.
    names: disclosure::EntityNames,
}

/// Most entities [`EntityCache`] holds; when full it starts again empty (cheaper than
/// tracking recency, and a tender's bidders are soon read again).
const CACHE_ENTITIES: usize = 50_000;

/// The records of recently read entities, decoded, so that evaluating the same bidders
/// again (a tender evaluated twice, a bidder in several lots) skips sled and postcard.
///
/// A write of records drops the entities it touched (an event, which names only a record
/// id, drops all). A reader that read sled while a write committed must not put the older
/// records back: every write bumps `epoch` under the lock, and a reader caches what it read
/// only if the epoch is still the one it saw before reading.
#[derive(Default)]
struct EntityCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    epoch: u64,
    map: HashMap<Uscc, Arc<[CreditRecord]>>,
}

impl EntityCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A HashMap left by a panicking holder is still a valid map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached records and the epoch to pass to [`EntityCache::put`].
    fn get(&self, uscc: &Uscc) -> (Option<Arc<[CreditRecord]>>, u64) {
        let inner = self.lock();
        (inner.map.get(uscc).cloned(), inner.epoch)
    }

    fn put(&self, uscc: &Uscc, records: Arc<[CreditRecord]>, read_at: u64) {
        let mut inner = self.lock();
        if inner.epoch != read_at {
            return;
        }
        if inner.map.len() >= CACHE_ENTITIES {
            inner.map.clear();
        }
        inner.map.insert(uscc.clone(), records);
    }

    fn forget<'a>(&self, usccs: impl Iterator<Item = &'a Uscc>) {
        let mut inner = self.lock();
        inner.epoch += 1;
        for uscc in usccs {
            inner.map.remove(uscc);
        }
    }

    fn forget_all(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.map.clear();
    }
}

/// The decision log's write side: the journal (none for a temporary store) and the next
/// sequence number.
struct DecisionWriter {
    journal: Option<Journal>,
    next_seq: u64,
    /// Segment size past which a new segment is started ([`JOURNAL_SEGMENT_BYTES`]; tests
    /// lower it).
    rotate_after: u64,
    /// Active-segment length at the last watermark written.
    marked: u64,
    /// An entry failed to be indexed after it was journaled: the watermark must not move
    /// past it until the store is opened again (which indexes it).
    index_failed: bool,
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Aborts a transaction with a store error.
type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// A `decisions` value: where the entry is in the journal, and the two fields that queries
/// filter on without reading the entry.
#[derive(Debug, Serialize, Deserialize)]
struct DecisionPointer {
    location: Location,
    time_ms: i64,
    ruleset_id: String,
}

/// The generations of the journal segments in `dir`.
fn journal_generations(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::Backend {
        path: dir.display().to_string(),
        message: format!("cannot list the decision journal: {e}"),
    })?;
    let mut generations = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(number) = name.strip_suffix(".log")
            && number.len() == 8
            && let Ok(generation) = number.parse::<u64>()
        {
            generations.push(generation);
        }
    }
    Ok(generations)
}

/// The `decisions` value that points at an entry in the journal.
fn pointer_value(location: Location, entry: &DecisionEntry) -> Vec<u8> {
    let pointer = DecisionPointer {
        location,
        time_ms: entry.time.timestamp_millis(),
        ruleset_id: entry.ruleset_id.clone(),
    };
    let mut value = vec![LOCATION_TAG];
    // postcard of integers and a string cannot fail.
    value.extend(postcard::to_allocvec(&pointer).unwrap_or_default());
    value
}

/// The pointer in a `decisions` value; `None` for an entry stored inline as JSON.
fn decision_pointer(key: &[u8], value: &[u8]) -> Result<Option<DecisionPointer>, StoreError> {
    match value.split_first() {
        Some((&LOCATION_TAG, rest)) => postcard::from_bytes(rest)
            .map(Some)
            .map_err(|e| SledStore::corrupt("decisions", key, e.to_string())),
        _ => Ok(None),
    }
}

fn tx_abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, StoreError> {
        let dir = dir.as_ref();
        let path = dir.display().to_string();
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(StoreError::Backend {
                path,
                message: format!("cannot create the directory: {e}"),
            });
        }
        SledStore::open_config(
            sled::Config::new().path(dir),
            path,
            Some(dir.join(JOURNAL_DIR)),
        )
    }

    /// Opens a fresh database in a temporary directory that is deleted when the store is
    /// dropped (for tests).
    pub fn open_temporary() -> Result<SledStore, StoreError> {
        SledStore::open_config(
            sled::Config::new().temporary(true),
            "<temporary>".to_owned(),
            None,
        )
    }

    /// Lowers (or raises) how many index entries one page of the disclosure list may visit
    /// (default [`SCAN_BUDGET`]); tests use it to reach the budget with few records.
    pub fn set_disclosure_scan_budget(&self, budget: usize) {
        self.names.set_scan_budget(budget);
    }

    /// Changes how many entities a name or USCC query may match and still be read entity by
    /// entity (default [`MERGE_MAX_ENTITIES`]; beyond, the list is walked); tests lower it.
    pub fn set_disclosure_merge_max(&self, max: usize) {
        self.names.set_merge_max(max);
    }

    /// The directory this store was opened on.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }

    fn open_config(
        config: sled::Config,
        path: String,
        journal: Option<PathBuf>,
    ) -> Result<SledStore, StoreError> {
        // sled panics on some corrupt files (#1533); report that as an error instead.
        let open = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let mut opened = open();
        // A store dropped a moment ago in this process releases its file lock only when
        // sled's background threads and deferred destructors have finished: retry briefly.
        for _ in 0..20 {
            match &opened {
                Ok(Err(e)) if e.to_string().contains("could not acquire lock") => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    opened = open();
                }
                _ => break,
            }
        }
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => {
                return Err(StoreError::Backend {
                    path,
                    message: if e.to_string().contains("could not acquire lock") {
                        "the database is in use by another process (sled allows one process \
                         per database directory); stop the other credit-rules process, or give \
                         another --data directory"
                            .to_owned()
                    } else {
                        format!("cannot open the database: {e}")
                    },
                });
            }
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "sled panicked".to_owned());
                return Err(StoreError::Backend {
                    path,
                    message: format!("the database files cannot be read (damaged?): {detail}"),
                });
            }
        };
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| StoreError::Backend {
                path: path.clone(),
                message: format!("cannot open tree `{name}`: {e}"),
            })
        };
        let store = SledStore {
            meta: tree("meta")?,
            entities: tree("entities")?,
            records: tree("records")?,
            entity_eval: tree("entity_eval")?,
            ids: tree("record_ids")?,
            by_kind: tree("records_by_kind")?,
            public: tree("public_disclosure")?,
            history: tree("record_history")?,
            rs_versions: tree("ruleset_versions")?,
            rs_log: tree("ruleset_log")?,
            rs_heads: tree("ruleset_heads")?,
            cursors: tree("cursors")?,
            drafts: tree("drafts")?,
            pending: tree("pending_events")?,
            decisions: tree("decisions")?,
            dec_by_entity: tree("decisions_by_entity")?,
            decision_writer: Mutex::new(DecisionWriter {
                journal: None,
                next_seq: 0,
                rotate_after: JOURNAL_SEGMENT_BYTES,
                marked: 0,
                index_failed: false,
            }),
            journal_dir: journal.clone(),
            cache: EntityCache::default(),
            names: disclosure::EntityNames::default(),
            path,
            db,
        };
        store.check_format()?;
        store.recover_decisions(journal)?;
        Ok(store)
    }

    /// Makes every sled write so far durable.
    fn flush_db(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.backend(e))
    }

    fn backend(&self, e: impl fmt::Display) -> StoreError {
        StoreError::Backend {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn check_format(&self) -> Result<(), StoreError> {
        match self.meta.get(FORMAT_KEY).map_err(|e| self.backend(e))? {
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        tree: "meta",
                        key: "`format_version`".into(),
                        reason: format!("{} bytes instead of 4", bytes.len()),
                    })?;
                if found == FORMAT_VERSION {
                    Ok(())
                } else if found == FORMAT_VERSION_1 {
                    self.migrate_from_v1()?;
                    self.migrate_from_v2()
                } else if found == FORMAT_VERSION_2 {
                    self.migrate_from_v2()
                } else {
                    Err(StoreError::UnsupportedFormat {
                        path: self.path.clone(),
                        found,
                        supported: FORMAT_VERSION,
                    })
                }
            }
            None => {
                let all = [
                    &self.meta,
                    &self.entities,
                    &self.records,
                    &self.ids,
                    &self.rs_versions,
                    &self.cursors,
                    &self.decisions,
                ];
                if all.iter().any(|t| !t.is_empty()) {
                    return Err(StoreError::MissingFormatVersion {
                        path: self.path.clone(),
                    });
                }
                self.meta
                    .insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
                    .map_err(|e| self.backend(e))?;
                self.flush_db()
            }
        }
    }

    /// Builds the evaluation view of a version-1 database and marks it version 2 (see the
    /// module docs): durable, and started again from the beginning if it was interrupted.
    fn migrate_from_v1(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        tracing::info!(path = %self.path, "migrating the record store to format version 2 (evaluation view)");
        // Values left by an interrupted attempt may be stale: start from nothing.
        self.entity_eval.clear().map_err(|e| self.backend(e))?;
        let mut batch = sled::Batch::default();
        let (mut in_batch, mut entities, mut records) = (0usize, 0usize, 0usize);
        for item in self.scan_entities_raw() {
            let (uscc, list) = item?.decode_for_evaluation()?;
            let view: Vec<EvalRecord> = list.iter().map(EvalRecord::of).collect();
            let key = uscc.as_str().as_bytes();
            let value = codec::encode_eval_view(&view)
                .map_err(|e| SledStore::corrupt("entity_eval", key, e))?;
            batch.insert(key, value);
            in_batch += view.len();
            entities += 1;
            records += view.len();
            if in_batch >= MIGRATION_BATCH_RECORDS {
                self.entity_eval
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(|e| self.backend(e))?;
                in_batch = 0;
            }
        }
        self.entity_eval
            .apply_batch(batch)
            .map_err(|e| self.backend(e))?;
        self.flush_db()?;
        self.set_format_version(FORMAT_VERSION_2)?;
        tracing::info!(
            entities,
            records,
            seconds = started.elapsed().as_secs_f64(),
            "record store migrated to format version 2"
        );
        Ok(())
    }

    fn set_format_version(&self, version: u32) -> Result<(), StoreError> {
        self.meta
            .insert(FORMAT_KEY, &version.to_be_bytes())
            .map_err(|e| self.backend(e))?;
        self.flush_db()
    }

    /// Builds the public disclosure index of a version-2 database, drops the disclosure-end
    /// index it replaces, and marks the database version 3 (see the module docs): durable,
    /// and started again from the beginning if it was interrupted.
    fn migrate_from_v2(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        tracing::info!(path = %self.path, "migrating the record store to format version 3 (public disclosure index)");
        // Entries left by an interrupted attempt, or written by a version-2 build since
        // (which did not maintain the index), may be stale: start from nothing.
        self.public.clear().map_err(|e| self.backend(e))?;
        let mut batch = sled::Batch::default();
        let (mut in_batch, mut records, mut indexed) = (0usize, 0usize, 0usize);
        for item in self.records.iter() {
            let (key, bytes) = item.map_err(|e| self.backend(e))?;
            let stored = SledStore::decode_stored(&key, &bytes)?;
            let record = SledStore::effective(&key, &stored)?;
            records += 1;
            if disclosure::batch_insert(&mut batch, &record)
                .map_err(|e| SledStore::corrupt("public_disclosure", &key, e))?
            {
                indexed += 1;
                in_batch += 1;
            }
            if in_batch >= MIGRATION_BATCH_RECORDS {
                self.public
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(|e| self.backend(e))?;
                in_batch = 0;
            }
        }
        self.public
            .apply_batch(batch)
            .map_err(|e| self.backend(e))?;
        self.flush_db()?;
        self.set_format_version(FORMAT_VERSION)?;
        // The disclosure-end index of version 2 is no longer read nor written.
        self.db
            .drop_tree("records_by_disclosure_end")
            .map_err(|e| self.backend(e))?;
        self.flush_db()?;
        tracing::info!(
            records,
            indexed,
            seconds = started.elapsed().as_secs_f64(),
            "record store migrated to format version 3"
        );
        Ok(())
    }

    fn corrupt(tree: &'static str, key: &[u8], reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            tree,
            key: printable(key),
            reason: reason.into(),
        }
    }

    fn decode_stored(key: &[u8], bytes: &[u8]) -> Result<StoredRecord, StoreError> {
        codec::decode_stored_record(bytes).map_err(|e| SledStore::corrupt("records", key, e))
    }

    fn effective(key: &[u8], stored: &StoredRecord) -> Result<CreditRecord, StoreError> {
        stored
            .effective()
            .map_err(|e| SledStore::corrupt("records", key, e))
    }

    fn encode<T: Serialize>(tree: &'static str, key: &[u8], value: &T) -> TxResult<Vec<u8>> {
        codec::encode(value).map_err(|e| tx_abort(SledStore::corrupt(tree, key, e)))
    }

    fn uscc_of(tree: &'static str, key: &[u8], text: &str) -> Result<Uscc, StoreError> {
        Uscc::parse(text).map_err(|e| SledStore::corrupt(tree, key, e.to_string()))
    }

    /// Writes the record trees for a new version `new` of the record at `key`, replacing
    /// `old` (whose index entries are removed and which goes to the history).
    fn write_version(
        trees: &RecordTrees<'_>,
        key: &[u8],
        old: Option<(&StoredRecord, &CreditRecord, &[u8])>,
        new: &StoredRecord,
        new_effective: &CreditRecord,
        view: &mut ViewChanges,
    ) -> TxResult<()> {
        view.record(new_effective);
        let uscc = &new_effective.uscc;
        let id = new_effective.id.as_str();
        if let Some((old_stored, old_effective, old_bytes)) = old {
            trees.history.insert(
                codec::history_key(uscc, id, old_stored.rev),
                old_bytes.to_vec(),
            )?;
            trees
                .by_kind
                .remove(codec::kind_key(old_effective.kind, uscc, id))?;
        }
        trees
            .records
            .insert(key, SledStore::encode("records", key, new)?)?;
        trees
            .by_kind
            .insert(codec::kind_key(new_effective.kind, uscc, id), &[])?;
        disclosure::reindex(trees.public, old.map(|(_, e, _)| e), new_effective)?;
        Ok(())
    }

    fn put_one(
        trees: &RecordTrees<'_>,
        record: &CreditRecord,
        now: i64,
        summary: &mut PutSummary,
        view: &mut ViewChanges,
    ) -> TxResult<Result<(), StoreError>> {
        if let Err(e) = check_record(record) {
            return Ok(Err(e));
        }
        let uscc = record.uscc.as_str().as_bytes();
        let known = match trees.ids.get(record.id.as_bytes())? {
            Some(owner) if owner.as_ref() != uscc => {
                return Ok(Err(StoreError::IdConflict {
                    id: record.id.clone(),
                    existing: String::from_utf8_lossy(&owner).into_owned(),
                    given: record.uscc.to_string(),
                }));
            }
            Some(_) => true,
            None => {
                trees.ids.insert(record.id.as_bytes(), uscc)?;
                false
            }
        };
        let key = codec::record_key(&record.uscc, &record.id);
        let body = RecordBody::from_record(record);
        let dates = RecordDates::of(record);
        // The id index and the records tree are written together, so an id that is not
        // indexed has no record: skip the lookup (it is most of a bulk load's reads).
        let old_bytes = if known {
            trees.records.get(&key)?
        } else {
            None
        };
        let old = match &old_bytes {
            Some(bytes) => Some(SledStore::decode_stored(&key, bytes).map_err(tx_abort)?),
            None => None,
        };
        let (new, old_effective) = match old {
            Some(old) if old.body == body && old.dates == dates => {
                summary.unchanged += 1;
                return Ok(Ok(()));
            }
            Some(old) => {
                let old_effective = SledStore::effective(&key, &old).map_err(tx_abort)?;
                let new = StoredRecord {
                    rev: old.rev.saturating_add(1),
                    stored_at_ms: now,
                    body,
                    repair: old.repair.clone(),
                    revoke: old.revoke.clone(),
                    dates,
                };
                (new, Some((old, old_effective)))
            }
            None => (
                StoredRecord {
                    rev: 1,
                    stored_at_ms: now,
                    body,
                    repair: None,
                    revoke: None,
                    dates,
                },
                None,
            ),
        };
        let mut new = new;
        if !known {
            let attached = pending::attach(trees, &record.id, &mut new, |candidate| {
                let errors = SledStore::effective(&key, candidate)?.event_date_errors();
                Ok((!errors.is_empty()).then(|| {
                    let reasons: Vec<String> = errors.iter().map(RecordError::to_string).collect();
                    reasons.join("; ")
                }))
            })?;
            summary.pending_applied += attached.applied;
            summary.pending_refused.extend(attached.refused);
        }
        let new_effective = SledStore::effective(&key, &new).map_err(tx_abort)?;
        if let Err(errors) = new_effective.validate() {
            // The source's record is valid on its own, but an earlier event's date does not
            // fit it (e.g. repaired before the new decision date).
            let reasons: Vec<String> = errors.iter().map(RecordError::to_string).collect();
            return Ok(Err(StoreError::InvalidRecord {
                id: record.id.clone(),
                reason: format!(
                    "with the events already applied to it: {}",
                    reasons.join("; ")
                ),
            }));
        }
        let old_ref = old_effective.as_ref().map(|(stored, effective)| {
            (
                stored,
                effective,
                old_bytes.as_ref().map_or(&[][..], |b| b.as_ref()),
            )
        });
        SledStore::write_version(trees, &key, old_ref, &new, &new_effective, view)?;
        if old_effective.is_some() {
            summary.updated += 1;
        } else {
            summary.inserted += 1;
        }
        // The entity: created on its first record; its name follows the latest record that
        // gives one.
        let entity_key = record.uscc.as_str().as_bytes();
        let stored_entity = match trees.entities.get(entity_key)? {
            Some(bytes) => Some(
                codec::decode::<StoredEntity>(&bytes)
                    .map_err(|e| tx_abort(SledStore::corrupt("entities", entity_key, e)))?,
            ),
            None => None,
        };
        let wanted = match stored_entity {
            None => Some(StoredEntity {
                name: record.entity_name.clone(),
                kind: EntityKind::of(&record.uscc).index(),
            }),
            Some(entity) if record.entity_name.is_some() && entity.name != record.entity_name => {
                Some(StoredEntity {
                    name: record.entity_name.clone(),
                    ..entity
                })
            }
            Some(_) => None,
        };
        if let Some(entity) = wanted {
            trees.entities.insert(
                entity_key,
                SledStore::encode("entities", entity_key, &entity)?,
            )?;
        }
        Ok(Ok(()))
    }

    fn apply_one(
        trees: &RecordTrees<'_>,
        event: &RecordEvent,
        now: i64,
        view: &mut ViewChanges,
    ) -> TxResult<Result<EventOutcome, StoreError>> {
        let Some(owner) = trees.ids.get(event.record_id.as_bytes())? else {
            // An id no record can have: waiting for its record would keep the event forever.
            if !crate::record::is_storable_id(&event.record_id)
                || event.record_id.len() > MAX_ID_LEN
            {
                return Ok(Err(StoreError::UnknownRecord {
                    id: event.record_id.clone(),
                    kind: event.kind,
                }));
            }
            pending::hold(trees, event, now)?;
            return Ok(Ok(EventOutcome::Pending));
        };
        let owner_text = std::str::from_utf8(&owner).unwrap_or_default();
        let uscc = SledStore::uscc_of("record_ids", event.record_id.as_bytes(), owner_text)
            .map_err(tx_abort)?;
        let key = codec::record_key(&uscc, &event.record_id);
        let Some(old_bytes) = trees.records.get(&key)? else {
            return Err(tx_abort(SledStore::corrupt(
                "record_ids",
                event.record_id.as_bytes(),
                "the index names a record that is not stored",
            )));
        };
        let old = SledStore::decode_stored(&key, &old_bytes).map_err(tx_abort)?;
        let day = codec::day_number(event.date);
        let current = match event.kind {
            EventKind::Repair => &old.repair,
            EventKind::Revoke => &old.revoke,
        };
        if current.as_ref().is_some_and(|m| m.date == day) {
            return Ok(Ok(EventOutcome::Unchanged));
        }
        let mark = Some(EventMark {
            date: day,
            applied_at_ms: now,
            authority: event.authority.clone(),
            note: event.note.clone(),
        });
        let mut new = StoredRecord {
            rev: old.rev.saturating_add(1),
            stored_at_ms: now,
            ..old.clone()
        };
        match event.kind {
            EventKind::Repair => new.repair = mark,
            EventKind::Revoke => new.revoke = mark,
        }
        let old_effective = SledStore::effective(&key, &old).map_err(tx_abort)?;
        let new_effective = SledStore::effective(&key, &new).map_err(tx_abort)?;
        // Only what the event can break: a record stored before a limit was introduced must
        // still be repairable.
        let errors = new_effective.event_date_errors();
        if !errors.is_empty() {
            let reasons: Vec<String> = errors.iter().map(RecordError::to_string).collect();
            return Ok(Err(StoreError::InvalidEvent {
                id: event.record_id.clone(),
                kind: event.kind,
                reason: reasons.join("; "),
            }));
        }
        SledStore::write_version(
            trees,
            &key,
            Some((&old, &old_effective, &old_bytes)),
            &new,
            &new_effective,
            view,
        )?;
        Ok(Ok(EventOutcome::Applied))
    }

    fn read_record(&self, key: &[u8]) -> Result<Option<CreditRecord>, StoreError> {
        match self.records.get(key).map_err(|e| self.backend(e))? {
            Some(bytes) => {
                let stored = SledStore::decode_stored(key, &bytes)?;
                SledStore::effective(key, &stored).map(Some)
            }
            None => Ok(None),
        }
    }

    fn version_of(&self, hash: [u8; 32]) -> Result<Option<RuleSetVersion>, StoreError> {
        let Some(bytes) = self.rs_versions.get(hash).map_err(|e| self.backend(e))? else {
            return Ok(None);
        };
        let stored: StoredRuleSetVersion =
            codec::decode(&bytes).map_err(|e| SledStore::corrupt("ruleset_versions", &hash, e))?;
        Ok(Some(RuleSetVersion {
            hash: codec::hex(&hash),
            ruleset_id: stored.ruleset_id,
            source: stored.source,
            author: stored.author,
            time: time_from_ms(stored.time_ms),
            message: stored.message,
            parent: stored.parent.map(|p| codec::hex(&p)),
        }))
    }

    fn decision_at(&self, seq: u64) -> Result<Option<LoggedDecision>, StoreError> {
        let key = seq.to_be_bytes();
        let Some(value) = self.decisions.get(key).map_err(|e| self.backend(e))? else {
            return Ok(None);
        };
        let json = match decision_pointer(&key, &value)? {
            Some(pointer) => {
                let dir = self.journal_dir.as_deref().ok_or_else(|| {
                    SledStore::corrupt("decisions", &key, "a journal location in a temporary store")
                })?;
                journal::read(dir, pointer.location).map_err(|e| self.backend(e))?
            }
            None => value.to_vec(),
        };
        let entry: DecisionEntry = serde_json::from_slice(&json)
            .map_err(|e| SledStore::corrupt("decisions", &key, e.to_string()))?;
        Ok(Some(LoggedDecision { seq, entry }))
    }

    fn seq_suffix(tree: &'static str, key: &[u8]) -> Result<u64, StoreError> {
        key.len()
            .checked_sub(8)
            .and_then(|at| <[u8; 8]>::try_from(&key[at..]).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| SledStore::corrupt(tree, key, "key too short for a sequence number"))
    }

    fn records_in(
        &self,
        iter: sled::Iter,
    ) -> impl Iterator<Item = Result<CreditRecord, StoreError>> + '_ {
        iter.map(move |item| {
            let (key, bytes) = item.map_err(|e| self.backend(e))?;
            let stored = SledStore::decode_stored(&key, &bytes)?;
            SledStore::effective(&key, &stored)
        })
    }
}

/// The trees a record write touches, inside a transaction.
struct RecordTrees<'a> {
    records: &'a TransactionalTree,
    entity_eval: &'a TransactionalTree,
    ids: &'a TransactionalTree,
    by_kind: &'a TransactionalTree,
    public: &'a TransactionalTree,
    history: &'a TransactionalTree,
    entities: &'a TransactionalTree,
    pending: &'a TransactionalTree,
}

/// The evaluation-view changes of one transaction: the new evaluation form of every record
/// written, by entity, merged into each entity's `entity_eval` value once, at the end
/// ([`ViewChanges::write`]). Built inside the transaction closure, so a retried closure
/// starts again from empty.
#[derive(Default)]
struct ViewChanges {
    by_entity: HashMap<Uscc, Vec<EvalRecord>>,
}

impl ViewChanges {
    /// Notes the new version of a record (events applied).
    fn record(&mut self, effective: &CreditRecord) {
        self.by_entity
            .entry(effective.uscc.clone())
            .or_default()
            .push(EvalRecord::of(effective));
    }

    /// Rewrites the view value of every entity touched, each once.
    fn write(self, trees: &RecordTrees<'_>) -> TxResult<()> {
        for (uscc, changes) in self.by_entity {
            let key = uscc.as_str().as_bytes();
            let mut records = match trees.entity_eval.get(key)? {
                Some(bytes) => codec::decode_eval_view(&bytes)
                    .map_err(|e| tx_abort(SledStore::corrupt("entity_eval", key, e)))?,
                None => Vec::with_capacity(changes.len()),
            };
            // In batch order: a record written twice in the batch keeps its last version.
            for change in changes {
                codec::upsert_eval_record(&mut records, change);
            }
            let value = codec::encode_eval_view(&records)
                .map_err(|e| tx_abort(SledStore::corrupt("entity_eval", key, e)))?;
            trees.entity_eval.insert(key, value)?;
        }
        Ok(())
    }
}

impl SledStore {
    /// Runs `body` in one transaction over the trees a record write touches. The body may
    /// run more than once (sled retries on conflict), so it must only write through `trees`.
    fn in_record_transaction<T>(
        &self,
        body: impl Fn(&RecordTrees<'_>) -> Result<T, ConflictableTransactionError<StoreError>>,
    ) -> Result<T, StoreError> {
        (
            &self.records,
            &self.entity_eval,
            &self.ids,
            &self.by_kind,
            &self.public,
            &self.history,
            &self.entities,
            &self.pending,
        )
            .transaction(
                |(records, entity_eval, ids, by_kind, public, history, entities, pending)| {
                    body(&RecordTrees {
                        records,
                        entity_eval,
                        ids,
                        by_kind,
                        public,
                        history,
                        entities,
                        pending,
                    })
                },
            )
            .map_err(|e| tx_error(self, e))
    }
}

fn tx_error(store: &SledStore, e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => store.backend(e),
    }
}

impl RecordStore for SledStore {
    fn put_records(&self, records: &[CreditRecord]) -> Result<PutSummary, StoreError> {
        if records.is_empty() {
            return Ok(PutSummary::default());
        }
        let now = now_ms();
        let summary = self.in_record_transaction(|trees| {
            let mut summary = PutSummary::default();
            let mut view = ViewChanges::default();
            for (index, record) in records.iter().enumerate() {
                if let Err(e) = SledStore::put_one(trees, record, now, &mut summary, &mut view)? {
                    summary.rejected.push((index, e));
                }
            }
            view.write(trees)?;
            Ok(summary)
        })?;
        self.cache.forget(records.iter().map(|r| &r.uscc));
        self.names.note(records);
        self.flush_db()?;
        Ok(summary)
    }

    fn apply_events(
        &self,
        events: &[RecordEvent],
    ) -> Result<Vec<Result<EventOutcome, StoreError>>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let results = self.in_record_transaction(|trees| {
            let mut results = Vec::with_capacity(events.len());
            let mut view = ViewChanges::default();
            for event in events {
                results.push(SledStore::apply_one(trees, event, now, &mut view)?);
            }
            view.write(trees)?;
            Ok(results)
        })?;
        self.cache.forget_all();
        self.flush_db()?;
        Ok(results)
    }

    fn record(&self, record_id: &str) -> Result<Option<CreditRecord>, StoreError> {
        let Some(owner) = self
            .ids
            .get(record_id.as_bytes())
            .map_err(|e| self.backend(e))?
        else {
            return Ok(None);
        };
        let owner_text = std::str::from_utf8(&owner).unwrap_or_default();
        let uscc = SledStore::uscc_of("record_ids", record_id.as_bytes(), owner_text)?;
        self.read_record(&codec::record_key(&uscc, record_id))
    }

    fn records_of(&self, uscc: &Uscc) -> Result<Vec<CreditRecord>, StoreError> {
        // Keys sort by id within the entity prefix (byte order of the UTF-8 id).
        self.records_in(self.records.scan_prefix(codec::entity_prefix(uscc)))
            .collect()
    }

    fn records_of_shared(&self, uscc: &Uscc) -> Result<Arc<[CreditRecord]>, StoreError> {
        let (cached, epoch) = self.cache.get(uscc);
        if let Some(records) = cached {
            return Ok(records);
        }
        let records: Arc<[CreditRecord]> = self.records_of(uscc)?.into();
        self.cache.put(uscc, records.clone(), epoch);
        Ok(records)
    }

    fn entity(&self, uscc: &Uscc) -> Result<Option<Entity>, StoreError> {
        let key = uscc.as_str().as_bytes();
        match self.entities.get(key).map_err(|e| self.backend(e))? {
            Some(bytes) => {
                let stored: StoredEntity =
                    codec::decode(&bytes).map_err(|e| SledStore::corrupt("entities", key, e))?;
                Ok(Some(Entity {
                    uscc: uscc.clone(),
                    name: stored.name,
                    kind: EntityKind::from_index(stored.kind),
                }))
            }
            None => Ok(None),
        }
    }

    fn record_history(&self, uscc: &Uscc, id: &str) -> Result<Vec<RecordVersion>, StoreError> {
        let prefix = codec::history_prefix(uscc, id);
        // Exactly this id: `id ‖ 0x00` is also the start of the keys of an id that goes on
        // after a NUL byte, so only keys with nothing but the revision number after it count.
        let exact = prefix.len() + 4;
        self.history
            .scan_prefix(&prefix)
            .filter(move |item| item.as_ref().map_or(true, |(key, _)| key.len() == exact))
            .map(|item| {
                let (key, bytes) = item.map_err(|e| self.backend(e))?;
                let stored = codec::decode_stored_record(&bytes)
                    .map_err(|e| SledStore::corrupt("record_history", &key, e))?;
                let record = stored
                    .effective()
                    .map_err(|e| SledStore::corrupt("record_history", &key, e))?;
                Ok(RecordVersion {
                    rev: stored.rev,
                    stored_at: time_from_ms(stored.stored_at_ms),
                    record,
                })
            })
            .collect()
    }

    fn records_known_at(
        &self,
        uscc: &Uscc,
        known_at: DateTime<Utc>,
    ) -> Result<Vec<CreditRecord>, StoreError> {
        let at_ms = known_at.timestamp_millis();
        let prefix = codec::entity_prefix(uscc);
        let mut records = Vec::new();
        for item in self.records.scan_prefix(&prefix) {
            let (key, bytes) = item.map_err(|e| self.backend(e))?;
            let stored = SledStore::decode_stored(&key, &bytes)?;
            if stored.stored_at_ms <= at_ms {
                records.push(SledStore::effective(&key, &stored)?);
                continue;
            }
            // Written since: the newest earlier version the store had by then, if any.
            let id = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|e| SledStore::corrupt("records", &key, e.to_string()))?;
            let then = self
                .record_history(uscc, id)?
                .into_iter()
                .filter(|v| v.stored_at.timestamp_millis() <= at_ms)
                .max_by_key(|v| v.rev);
            records.extend(then.map(|v| v.record));
        }
        Ok(records)
    }

    fn scan_entities(&self) -> Box<dyn Iterator<Item = EntityRecords> + '_> {
        Box::new(EntityScan {
            records: Box::new(self.records_in(self.records.iter())),
            pending: None,
            done: false,
        })
    }

    fn scan_entities_raw(&self) -> Box<dyn Iterator<Item = Result<RawEntity, StoreError>> + '_> {
        Box::new(RawEntityScan {
            store: self,
            entries: self.records.iter(),
            pending: None,
            done: false,
        })
    }

    fn scan_for_evaluation(
        &self,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        Box::new(self.entity_eval.iter().map(move |item| {
            let (key, value) = item.map_err(|e| self.backend(e))?;
            Ok(EvaluationEntity(EvaluationSource::SledView(key, value)))
        }))
    }

    fn records_of_kind(
        &self,
        kind: RecordKind,
    ) -> Box<dyn Iterator<Item = Result<CreditRecord, StoreError>> + '_> {
        Box::new(self.by_kind.scan_prefix([kind.index()]).map(move |item| {
            let (key, _) = item.map_err(|e| self.backend(e))?;
            let record_key = key.get(1..).unwrap_or_default();
            self.read_record(record_key)?.ok_or_else(|| {
                SledStore::corrupt(
                    "records_by_kind",
                    &key,
                    "the index names a record that is not stored",
                )
            })
        }))
    }

    fn disclosure_page(
        &self,
        filter: &DisclosureFilter,
        after: Option<&DisclosureCursor>,
        limit: usize,
    ) -> Result<DisclosurePage, StoreError> {
        self.indexed_disclosure_page(filter, after, limit)
    }

    fn put_ruleset_version(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError> {
        let id = version.ruleset_id;
        if id.trim().is_empty() || id.contains('\0') {
            return Err(StoreError::RuleSetConflict(format!(
                "rule-set id `{id}` is empty or contains a NUL character"
            )));
        }
        let hash: [u8; 32] = Sha256::digest(version.source.as_bytes()).into();
        let hash_hex = codec::hex(&hash);
        let result = (&self.rs_versions, &self.rs_log, &self.rs_heads)
            .transaction(|(versions, log, heads)| {
                let head = match heads.get(id.as_bytes())? {
                    Some(bytes) => Some(codec::decode::<RuleSetHead>(&bytes).map_err(|e| {
                        tx_abort(SledStore::corrupt("ruleset_heads", id.as_bytes(), e))
                    })?),
                    None => None,
                };
                if let Some(head) = head
                    && head.hash == hash
                {
                    return Ok(PutVersion {
                        hash: hash_hex.clone(),
                        seq: head.seq,
                        created: false,
                    });
                }
                match versions.get(hash)? {
                    Some(bytes) => {
                        let stored: StoredRuleSetVersion = codec::decode(&bytes).map_err(|e| {
                            tx_abort(SledStore::corrupt("ruleset_versions", &hash, e))
                        })?;
                        if stored.ruleset_id != id {
                            return Err(tx_abort(StoreError::RuleSetConflict(format!(
                                "the same source text is already stored as a version of rule \
                                 set `{}`, so it cannot also be a version of `{id}`; check the \
                                 rule-set id in the source header",
                                stored.ruleset_id
                            ))));
                        }
                    }
                    None => {
                        let stored = StoredRuleSetVersion {
                            ruleset_id: id.to_owned(),
                            source: version.source.to_owned(),
                            author: version.author.to_owned(),
                            time_ms: version.time.timestamp_millis(),
                            message: version.message.to_owned(),
                            parent: head.map(|h| h.hash),
                        };
                        versions.insert(
                            &hash,
                            SledStore::encode("ruleset_versions", &hash, &stored)?,
                        )?;
                    }
                }
                let seq = head.map_or(1, |h| h.seq.saturating_add(1));
                log.insert(codec::name_seq_key(id, &seq.to_be_bytes()), &hash)?;
                let new_head = RuleSetHead { seq, hash };
                heads.insert(
                    id.as_bytes(),
                    SledStore::encode("ruleset_heads", id.as_bytes(), &new_head)?,
                )?;
                Ok(PutVersion {
                    hash: hash_hex.clone(),
                    seq,
                    created: true,
                })
            })
            .map_err(|e| tx_error(self, e))?;
        self.flush_db()?;
        Ok(result)
    }

    fn ruleset_version(&self, hash: &str) -> Result<Option<RuleSetVersion>, StoreError> {
        let Some(hash) = codec::parse_hash(hash) else {
            return Err(StoreError::InvalidQuery(format!(
                "`{hash}` is not a rule-set version hash; give the 64 hex digits of its SHA-256"
            )));
        };
        self.version_of(hash)
    }

    fn ruleset_versions(&self, ruleset_id: &str) -> Result<Vec<RuleSetVersion>, StoreError> {
        let mut out = Vec::new();
        let prefix = codec::name_prefix(ruleset_id);
        // Exactly this id: `water\0` would otherwise match the keys of `water` whose
        // sequence number starts with a zero byte (a prefix scan).
        let exact = prefix.len() + 4;
        for item in self.rs_log.scan_prefix(&prefix) {
            let (key, value) = item.map_err(|e| self.backend(e))?;
            if key.len() != exact {
                continue;
            }
            let hash = <[u8; 32]>::try_from(value.as_ref())
                .map_err(|_| SledStore::corrupt("ruleset_log", &key, "value is not 32 bytes"))?;
            let version = self.version_of(hash)?.ok_or_else(|| {
                SledStore::corrupt("ruleset_log", &key, "names a version that is not stored")
            })?;
            out.push(version);
        }
        Ok(out)
    }

    fn ruleset_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = Vec::new();
        for item in self.rs_log.iter() {
            let (key, _) = item.map_err(|e| self.backend(e))?;
            let end = key.iter().position(|b| *b == 0).unwrap_or(key.len());
            let id = std::str::from_utf8(&key[..end])
                .map_err(|_| SledStore::corrupt("ruleset_log", &key, "the id is not UTF-8"))?;
            if ids.last().map(String::as_str) != Some(id) {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self
            .cursors
            .get(name.as_bytes())
            .map_err(|e| self.backend(e))?
        {
            Some(bytes) => String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|e| SledStore::corrupt("cursors", name.as_bytes(), e.to_string())),
            None => Ok(None),
        }
    }

    fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.cursors
            .insert(name.as_bytes(), value.as_bytes())
            .map_err(|e| self.backend(e))?;
        self.flush_db()
    }

    fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<Vec<u64>, StoreError> {
        self.write_decisions(entries, &mut |_| {})
    }

    fn append_decisions_notify(
        &self,
        entries: &[DecisionEntry],
        durable: &mut dyn FnMut(&[u64]),
    ) -> Result<Vec<u64>, StoreError> {
        self.write_decisions(entries, durable)
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        self.find_decisions(query)
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Record how far the journal is indexed, so the next opening replays little.
        let end = {
            let writer = self.writer();
            let end = writer.journal.as_ref().map(Journal::end);
            end.filter(|_| !writer.index_failed)
        };
        if let Some(end) = end {
            self.set_journal_watermark(end)?;
        }
        self.flush_db()
    }

    fn pending_events(&self, after: Option<&str>, limit: usize) -> Result<PendingPage, StoreError> {
        pending::list(self, after, limit)
    }
}

/// What [`SledStore::compact_decisions`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compaction {
    /// Journal segments deleted.
    pub segments: usize,
    /// Decision-log entries removed with them.
    pub entries: usize,
}

impl SledStore {
    /// Retention of the decision log: removes the closed journal segments (never the active
    /// one) whose every entry was made before `before`, and those entries' index keys.
    /// Whole segments only: an entry on or after `before` keeps its segment, and with it the
    /// older entries sharing it. The index keys are removed and flushed first, then the
    /// files, so a crash in between leaves files nothing points at (removed by the next
    /// compaction). Appends wait while it runs.
    pub fn compact_decisions(&self, before: DateTime<Utc>) -> Result<Compaction, StoreError> {
        let writer = self.writer();
        let (Some(dir), Some(journal)) = (self.journal_dir.clone(), writer.journal.as_ref()) else {
            return Ok(Compaction::default());
        };
        let active = journal.end().generation;
        let before_ms = before.timestamp_millis();
        // Per closed segment: its entries, and whether one of them is recent.
        let mut segments: std::collections::BTreeMap<u64, (Vec<u64>, bool)> =
            std::collections::BTreeMap::new();
        for item in self.decisions.iter() {
            let (key, value) = item.map_err(|e| self.backend(e))?;
            let Some(pointer) = decision_pointer(&key, &value)? else {
                continue;
            };
            if pointer.location.generation >= active {
                continue;
            }
            let seq = SledStore::seq_suffix("decisions", &key)?;
            let segment = segments.entry(pointer.location.generation).or_default();
            segment.0.push(seq);
            segment.1 |= pointer.time_ms >= before_ms;
        }
        // Segment files no entry points at any more (an interrupted compaction).
        for generation in journal_generations(&dir)? {
            if generation < active {
                segments.entry(generation).or_default();
            }
        }
        let mut done = Compaction::default();
        let doomed: Vec<(u64, Vec<u64>)> = segments
            .into_iter()
            .filter(|(_, (_, recent))| !recent)
            .map(|(generation, (seqs, _))| (generation, seqs))
            .collect();
        for (_, seqs) in &doomed {
            for seq in seqs {
                if let Some(logged) = self.decision_at(*seq)? {
                    for uscc in &logged.entry.usccs {
                        let mut key = uscc.as_str().as_bytes().to_vec();
                        key.extend_from_slice(&seq.to_be_bytes());
                        self.dec_by_entity
                            .remove(key)
                            .map_err(|e| self.backend(e))?;
                    }
                }
                self.decisions
                    .remove(seq.to_be_bytes())
                    .map_err(|e| self.backend(e))?;
                done.entries += 1;
            }
        }
        self.flush_db()?;
        for (generation, _) in &doomed {
            let path = journal::segment_path(&dir, *generation);
            match std::fs::remove_file(&path) {
                Ok(()) => done.segments += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.backend(e)),
            }
        }
        drop(writer);
        Ok(done)
    }

    /// The JSON a decision is stored as; refuses entries the keys cannot hold.
    fn encode_decision(entry: &DecisionEntry) -> Result<Vec<u8>, StoreError> {
        if entry.ruleset_id.contains('\0') {
            return Err(StoreError::InvalidQuery(format!(
                "rule-set id `{}` contains a NUL character",
                entry.ruleset_id
            )));
        }
        serde_json::to_vec(entry)
            .map_err(|e| StoreError::InvalidQuery(format!("the decision cannot be encoded: {e}")))
    }

    /// Writes one decision log entry's sled keys without a flush (the journal holds the
    /// durable copy): `value` is its [`DecisionPointer`], or its JSON for a temporary store.
    /// The entry goes in before its entity keys, so a concurrent query never finds an index
    /// key without its entry.
    fn index_decision(
        &self,
        seq: u64,
        entry: &DecisionEntry,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let seq_bytes = seq.to_be_bytes();
        let backend = |e: sled::Error| self.backend(e);
        self.decisions.insert(seq_bytes, value).map_err(backend)?;
        for uscc in &entry.usccs {
            let mut key = uscc.as_str().as_bytes().to_vec();
            key.extend_from_slice(&seq_bytes);
            self.dec_by_entity.insert(key, &[]).map_err(backend)?;
        }
        Ok(())
    }

    fn journal_watermark(&self) -> Result<Option<Watermark>, StoreError> {
        match self.meta.get(JOURNAL_KEY).map_err(|e| self.backend(e))? {
            None => Ok(None),
            Some(bytes) => postcard::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| SledStore::corrupt("meta", JOURNAL_KEY, e.to_string())),
        }
    }

    fn set_journal_watermark(&self, mark: Watermark) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(&mark)
            .map_err(|e| SledStore::corrupt("meta", JOURNAL_KEY, e.to_string()))?;
        self.meta
            .insert(JOURNAL_KEY, bytes)
            .map(|_| ())
            .map_err(|e| self.backend(e))
    }

    /// Opens the decision journal, indexes the entries sled may have lost in a crash, and
    /// sets the next sequence number.
    fn recover_decisions(&self, journal_path: Option<PathBuf>) -> Result<(), StoreError> {
        let mut next_seq = match self.decisions.last().map_err(|e| self.backend(e))? {
            Some((key, _)) => SledStore::seq_suffix("decisions", &key)? + 1,
            None => 1,
        };
        let journal = match journal_path {
            None => None,
            Some(path) => {
                let indexed = self.journal_watermark()?;
                let (journal, pending) =
                    Journal::open(&path, indexed).map_err(|e| self.backend(e))?;
                for JournalItem {
                    seq,
                    json,
                    location,
                } in &pending
                {
                    let entry: DecisionEntry = serde_json::from_slice(json).map_err(|e| {
                        self.backend(format!("decision journal entry {seq} does not decode: {e}"))
                    })?;
                    self.index_decision(*seq, &entry, &pointer_value(*location, &entry))?;
                    next_seq = next_seq.max(seq + 1);
                }
                if indexed != Some(journal.end()) {
                    self.set_journal_watermark(journal.end())?;
                    self.flush_db()?;
                }
                Some(journal)
            }
        };
        let mut writer = self.writer();
        writer.marked = journal.as_ref().map_or(0, Journal::len);
        writer.journal = journal;
        writer.next_seq = next_seq;
        Ok(())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, DecisionWriter> {
        // The writer's state stays consistent between statements, so a panic elsewhere while
        // it was held does not make it unusable.
        self.decision_writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends decisions: journal + sync, then the sled trees (see [`journal`]).
    fn write_decisions(
        &self,
        entries: &[DecisionEntry],
        durable: &mut dyn FnMut(&[u64]),
    ) -> Result<Vec<u64>, StoreError> {
        let jsons = entries
            .iter()
            .map(SledStore::encode_decision)
            .collect::<Result<Vec<_>, _>>()?;
        let mut writer = self.writer();
        let first = writer.next_seq;
        let seqs: Vec<u64> = (first..first + entries.len() as u64).collect();
        let values: Vec<Vec<u8>> = match writer.journal.as_mut() {
            Some(journal) => {
                let items: Vec<(u64, &[u8])> = seqs
                    .iter()
                    .copied()
                    .zip(jsons.iter().map(Vec::as_slice))
                    .collect();
                let locations = journal.append(&items).map_err(|e| self.backend(e))?;
                locations
                    .into_iter()
                    .zip(entries)
                    .map(|(location, entry)| pointer_value(location, entry))
                    .collect()
            }
            None => jsons,
        };
        writer.next_seq = first + entries.len() as u64;
        if writer.journal.is_some() {
            // Durable now. Indexing continues under the writer lock, which queries pass
            // through first, so whoever hears of the entries can also find them.
            durable(&seqs);
        }
        for ((seq, entry), value) in seqs.iter().zip(entries).zip(&values) {
            if let Err(e) = self.index_decision(*seq, entry, value) {
                // The entry is in the journal; keep the watermark from passing it, so the
                // next opening indexes it again.
                writer.index_failed = true;
                return Err(e);
            }
        }
        if writer.journal.is_none() {
            durable(&seqs);
        }
        let rotate_after = writer.rotate_after;
        let marked = writer.marked;
        let mut mark = None;
        if writer.index_failed {
            return Ok(seqs);
        }
        if let Some(journal) = writer.journal.as_mut() {
            // Re-indexing on opening is idempotent, so the watermark need not follow every
            // group: every WATERMARK_EVERY bytes (and on flush and rotation) is enough.
            if journal.len() >= marked + WATERMARK_EVERY {
                self.set_journal_watermark(journal.end())?;
                mark = Some(journal.len());
            }
            if journal.len() > rotate_after {
                // sled must hold the keys of the full segment durably before the next
                // segment starts: recovery replays only the active one.
                self.flush_db()?;
                let fresh = journal.rotate().map_err(|e| self.backend(e))?;
                self.set_journal_watermark(fresh)?;
                self.flush_db()?;
                mark = Some(fresh.offset);
            }
        }
        if let Some(at) = mark {
            writer.marked = at;
        }
        Ok(seqs)
    }

    /// The decision log entries matching a query (see [`RecordStore::decisions`]).
    fn find_decisions(&self, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        // Wait for a group being indexed: its writers may already have been answered.
        drop(self.writer());
        let after = query.after_seq;
        let from_ms = query.from.map(|t| t.timestamp_millis());
        let until_ms = query.until.map(|t| t.timestamp_millis());
        // By entity: its index. Otherwise the `decisions` tree in order, filtered on the rule
        // set and time its pointers carry (an inline entry is checked when it is read below).
        let mut seqs: Vec<u64> = Vec::new();
        if let Some(uscc) = &query.uscc {
            for item in self.dec_by_entity.scan_prefix(uscc.as_str().as_bytes()) {
                let (key, _) = item.map_err(|e| self.backend(e))?;
                seqs.push(SledStore::seq_suffix("decisions_by_entity", &key)?);
            }
        } else {
            let start = after.map_or(0, |a| a.saturating_add(1));
            let mut certain = 0;
            for item in self.decisions.range(start.to_be_bytes()..) {
                let (key, value) = item.map_err(|e| self.backend(e))?;
                let seq = SledStore::seq_suffix("decisions", &key)?;
                if let Some(pointer) = decision_pointer(&key, &value)? {
                    let ms = pointer.time_ms;
                    let keep = query
                        .ruleset_id
                        .as_ref()
                        .is_none_or(|r| &pointer.ruleset_id == r)
                        && from_ms.is_none_or(|f| ms >= f)
                        && until_ms.is_none_or(|u| ms < u);
                    if !keep {
                        continue;
                    }
                    certain += 1;
                }
                seqs.push(seq);
                if query.limit != 0 && certain >= query.limit {
                    break;
                }
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::new();
        for seq in seqs {
            if after.is_some_and(|a| seq <= a) {
                continue;
            }
            let Some(logged) = self.decision_at(seq)? else {
                continue;
            };
            let entry = &logged.entry;
            let ms = entry.time.timestamp_millis();
            let keep = query.uscc.as_ref().is_none_or(|u| entry.usccs.contains(u))
                && query
                    .ruleset_id
                    .as_ref()
                    .is_none_or(|r| &entry.ruleset_id == r)
                && from_ms.is_none_or(|f| ms >= f)
                && until_ms.is_none_or(|u| ms < u);
            if keep {
                out.push(logged);
                if query.limit != 0 && out.len() >= query.limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Groups the records tree (in key order) into entities.
struct EntityScan<'a> {
    records: Box<dyn Iterator<Item = Result<CreditRecord, StoreError>> + 'a>,
    pending: Option<CreditRecord>,
    done: bool,
}

impl Iterator for EntityScan<'_> {
    type Item = EntityRecords;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut group: Vec<CreditRecord> = self.pending.take().into_iter().collect();
        loop {
            match self.records.next() {
                None => {
                    self.done = true;
                    break;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(record)) => match group.first() {
                    Some(first) if first.uscc != record.uscc => {
                        self.pending = Some(record);
                        break;
                    }
                    _ => group.push(record),
                },
            }
        }
        let uscc = group.first()?.uscc.clone();
        Some(Ok((uscc, group)))
    }
}

/// Groups the records tree's entries (in key order) by the USCC that starts each key,
/// without decoding them: the scanning thread only copies handles to sled's buffers.
struct RawEntityScan<'a> {
    store: &'a SledStore,
    entries: sled::Iter,
    pending: Option<(sled::IVec, sled::IVec)>,
    done: bool,
}

impl RawEntityScan<'_> {
    fn entity_of(key: &[u8]) -> Result<&[u8], StoreError> {
        key.get(..codec::USCC_LEN)
            .ok_or_else(|| SledStore::corrupt("records", key, "key shorter than a USCC"))
    }
}

impl Iterator for RawEntityScan<'_> {
    type Item = Result<RawEntity, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut group: Vec<(sled::IVec, sled::IVec)> = self.pending.take().into_iter().collect();
        loop {
            match self.entries.next() {
                None => {
                    self.done = true;
                    break;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(self.store.backend(e)));
                }
                Some(Ok(entry)) => {
                    let same_entity = match group.first() {
                        None => true,
                        Some((first, _)) => {
                            match (Self::entity_of(first), Self::entity_of(&entry.0)) {
                                (Ok(a), Ok(b)) => a == b,
                                (Err(e), _) | (_, Err(e)) => {
                                    self.done = true;
                                    return Some(Err(e));
                                }
                            }
                        }
                    };
                    if !same_entity {
                        self.pending = Some(entry);
                        break;
                    }
                    group.push(entry);
                }
            }
        }
        if group.is_empty() {
            return None;
        }
        Some(Ok(RawEntity(RawRecords::Sled(group))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_scan_decodes_to_the_same_entities_as_the_scan() {
        let store = SledStore::open_temporary().expect("temporary store");
        let cfg = crate::demo::DemoConfig {
            seed: 11,
            entities: 40,
            records_per_entity: (0, 6),
        };
        let records: Vec<CreditRecord> =
            crate::demo::entities(cfg).flat_map(|(_, _, r)| r).collect();
        store.put_records(&records).expect("stored");
        let scanned: Vec<(Uscc, Vec<CreditRecord>)> = store
            .scan_entities()
            .collect::<Result<_, _>>()
            .expect("scan");
        let raw: Vec<RawEntity> = store
            .scan_entities_raw()
            .collect::<Result<_, _>>()
            .expect("raw scan");
        assert_eq!(raw.iter().map(RawEntity::len).sum::<usize>(), records.len());
        let decoded: Vec<(Uscc, Vec<CreditRecord>)> = raw
            .into_iter()
            .map(RawEntity::decode)
            .collect::<Result<_, _>>()
            .expect("decodes");
        assert!(scanned.len() > 20, "the demo gives entities with records");
        assert_eq!(decoded, scanned);
        let for_evaluation: Vec<(Uscc, Vec<CreditRecord>)> = store
            .scan_entities_raw()
            .map(|item| item.and_then(RawEntity::decode_for_evaluation))
            .collect::<Result<_, _>>()
            .expect("decodes");
        let without_free_text: Vec<(Uscc, Vec<CreditRecord>)> = scanned
            .into_iter()
            .map(|(uscc, records)| {
                let records = records
                    .into_iter()
                    .map(|r| CreditRecord {
                        entity_name: None,
                        legal_basis: None,
                        description: None,
                        ..r
                    })
                    .collect();
                (uscc, records)
            })
            .collect();
        assert_eq!(for_evaluation, without_free_text);
    }

    #[test]
    fn entity_kinds_from_uscc() {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        assert_eq!(EntityKind::of(&uscc), EntityKind::Enterprise);
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::from_index(kind.index()), kind);
        }
        assert_eq!(codec::USCC_LEN, uscc.as_str().len());
    }

    fn decision(n: u32) -> DecisionEntry {
        DecisionEntry {
            time: time_from_ms(1_700_000_000_000 + i64::from(n)),
            ruleset_id: "water".into(),
            version_hash: "ab".repeat(32),
            as_of: NaiveDate::from_ymd_opt(2024, 6, 1).expect("date"),
            usccs: vec![Uscc::parse("91420100MA4K3Q7T13").expect("valid")],
            decision: "eligible".into(),
            total: Decimal::new(i64::from(n), 0),
            request_id: None,
            caller: None,
            known_at: None,
            inline_records: false,
            report: serde_json::json!({ "n": n }).into(),
        }
    }

    #[test]
    fn compaction_drops_whole_old_segments_and_their_index_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        store.writer().rotate_after = 0;
        // decision(n) is made at 1_700_000_000_000 + n ms; each append fills a segment.
        for n in 1..=4 {
            store.append_decisions(&[decision(n)]).expect("append");
        }
        let journal = dir.path().join(JOURNAL_DIR);
        let files = || std::fs::read_dir(&journal).expect("dir").count();
        assert_eq!(files(), 5);
        let before = time_from_ms(1_700_000_000_000 + 3);
        let done = store.compact_decisions(before).expect("compact");
        assert_eq!(
            done,
            Compaction {
                segments: 2,
                entries: 2
            }
        );
        assert_eq!(files(), 3);
        assert_eq!(logged_seqs(&store), [3, 4]);
        let uscc = decision(1).usccs[0].clone();
        let by_entity = DecisionQuery {
            uscc: Some(uscc.clone()),
            ..DecisionQuery::default()
        };
        let found: Vec<u64> = store
            .decisions(&by_entity)
            .expect("query")
            .iter()
            .map(|d| d.seq)
            .collect();
        assert!(found.iter().all(|s| *s >= 3), "{found:?}");
        let stale = store
            .dec_by_entity
            .scan_prefix(uscc.as_str().as_bytes())
            .count();
        assert_eq!(
            stale,
            found.len(),
            "no index key is left for a removed entry"
        );
        // Compacting again changes nothing; the store reopens and appends go on.
        assert_eq!(
            store.compact_decisions(before).expect("again"),
            Compaction::default()
        );
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(logged_seqs(&store), [3, 4]);
        assert_eq!(store.append_decisions(&[decision(5)]).expect("append"), [5]);
    }

    fn logged_seqs(store: &SledStore) -> Vec<u64> {
        let all = store.decisions(&DecisionQuery::default()).expect("query");
        all.iter().map(|d| d.seq).collect()
    }

    #[test]
    fn decisions_sled_lost_are_indexed_again_from_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let entries: Vec<DecisionEntry> = (1..=3).map(decision).collect();
        let seqs = store.append_decisions(&entries).expect("append");
        // A crash after the journal was synced but before sled wrote its trees out.
        for tree in [&store.decisions, &store.dec_by_entity] {
            tree.clear().expect("clear");
        }
        store.meta.remove(JOURNAL_KEY).expect("remove");
        store.flush_db().expect("flush");
        drop(store);

        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(logged_seqs(&store), seqs);
        let by_entity = DecisionQuery {
            uscc: Some(entries[0].usccs[0].clone()),
            ..DecisionQuery::default()
        };
        let found = store.decisions(&by_entity).expect("query");
        assert_eq!(found.len(), 3);
        assert_eq!(found[1].entry, entries[1]);
        // Numbering continues after the recovered entries.
        assert_eq!(
            store.append_decisions(&entries[..1]).expect("append"),
            [seqs[2] + 1]
        );
    }

    #[test]
    fn decisions_stay_readable_across_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        store.writer().rotate_after = 0;
        for n in 1..=4 {
            store.append_decisions(&[decision(n)]).expect("append");
        }
        let segments = std::fs::read_dir(dir.path().join(JOURNAL_DIR))
            .expect("dir")
            .count();
        assert_eq!(segments, 5, "each append filled a segment");
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(logged_seqs(&store), [1, 2, 3, 4]);
        let all = store.decisions(&DecisionQuery::default()).expect("query");
        assert_eq!(all[2].entry, decision(3));
        assert_eq!(store.append_decisions(&[decision(5)]).expect("append"), [5]);
    }

    #[test]
    fn cached_records_follow_writes_and_events() {
        let store = SledStore::open_temporary().expect("open");
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 3, d).expect("date");
        let mut record = CreditRecord::new("B1", uscc.clone(), RecordKind::BadBehaviour, day(1));
        store
            .put_records(std::slice::from_ref(&record))
            .expect("put");
        assert_eq!(
            store.records_of_shared(&uscc).expect("read")[0].decided_on,
            day(1)
        );
        // Served from the cache now; a changed record must replace it.
        record.decided_on = day(2);
        store
            .put_records(std::slice::from_ref(&record))
            .expect("put");
        assert_eq!(
            store.records_of_shared(&uscc).expect("read")[0].decided_on,
            day(2)
        );
        store
            .apply_event("B1", EventKind::Repair, day(20))
            .expect("event");
        let after = store.records_of_shared(&uscc).expect("read");
        assert_eq!(after[0].repaired_on, Some(day(20)));
        assert_eq!(after.to_vec(), store.records_of(&uscc).expect("read"));
    }

    /// A store whose records and evaluation view were written by the previous release (no
    /// publication or validity dates: the older byte layouts) opens and reads back with the
    /// defaults, and a record written again gets the current layout with its dates.
    #[test]
    fn a_store_written_before_the_record_dates_reads_back_with_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 3, d).expect("date");
        let mut record = CreditRecord::new("B1", uscc.clone(), RecordKind::BiddingBan, day(1));
        record.disclosure_until = Some(day(30));
        let key = codec::record_key(&uscc, "B1");
        {
            let store = SledStore::open(dir.path()).expect("open");
            store
                .put_records(std::slice::from_ref(&record))
                .expect("put");
            // Rewrite both values in the previous release's layouts.
            let bytes = store.records.get(&key).expect("read").expect("stored");
            let stored = codec::decode_stored_record(&bytes).expect("decodes");
            store
                .records
                .insert(&key, codec::encode_record_v1(&stored))
                .expect("write");
            let view = store
                .entity_eval
                .get(uscc.as_str())
                .expect("read")
                .expect("view");
            let view = codec::decode_eval_view(&view).expect("decodes");
            store
                .entity_eval
                .insert(uscc.as_str(), codec::encode_eval_view_v1(&view))
                .expect("write");
            store.db.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.records_of(&uscc).expect("read"), vec![record.clone()]);
        let scanned: Vec<(Uscc, Vec<CreditRecord>)> = store
            .scan_for_evaluation()
            .map(|e| e.and_then(EvaluationEntity::decode))
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(scanned[0].1[0].published_on, None);
        assert_eq!(scanned[0].1[0].decided_on, day(1));
        // Written again with a publication date: the old version goes to the history,
        // readable, and the new one keeps its dates in both forms.
        let mut published = record.clone();
        published.published_on = Some(day(5));
        published.valid_until = Some(day(20));
        store
            .put_records(std::slice::from_ref(&published))
            .expect("put");
        assert_eq!(
            store.records_of(&uscc).expect("read"),
            vec![published.clone()]
        );
        let history = store.record_history(&uscc, "B1").expect("history");
        assert_eq!(history[0].record, record);
        let scanned: Vec<(Uscc, Vec<CreditRecord>)> = store
            .scan_for_evaluation()
            .map(|e| e.and_then(EvaluationEntity::decode))
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(scanned[0].1[0].published_on, Some(day(5)));
        assert_eq!(scanned[0].1[0].valid_until, Some(day(20)));
        // The same record again is unchanged; only the dates changed is a change.
        let summary = store
            .put_records(std::slice::from_ref(&published))
            .expect("put");
        assert_eq!(summary.unchanged, 1);
    }

    /// The compact report is the full report less each clause's wording, basis and
    /// explanation: a field added to the report must be added to the compact view too.
    #[test]
    fn the_logged_report_is_the_answer_less_the_rule_texts() {
        let mut workspace = crate::ruleset::Workspace::new();
        workspace.add_source(
            crate::source::SourceFile::new(
                "t.rules",
                r#"ruleset t { title "t" version "1" effective 2020-01-01 unit "u" total 3 }
                veto 失信 { wording "w" basis "b" when any(records where kind = 失信被执行人) }
                score 不良 { wording "w2" points 3 - count(records where kind = 不良行为记录) cap 3 floor 0 }"#,
            ),
            None,
        );
        let program = workspace.compile("t").expect("compiles");
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).expect("date");
        let records = vec![
            CreditRecord::new("B1", uscc.clone(), RecordKind::BadBehaviour, day),
            CreditRecord::new("S1", uscc.clone(), RecordKind::DishonestDebtor, day),
        ];
        let report = program.evaluate(&records, day).report(&program, &records);
        let mut expected = serde_json::to_value(&report).expect("json");
        for section in ["vetoes", "flags", "scores"] {
            for clause in expected[section].as_array_mut().expect("list") {
                let clause = clause.as_object_mut().expect("object");
                for text in ["wording", "basis", "explanation"] {
                    clause.remove(text);
                }
            }
        }
        let logged = DecisionEntry::from_report(&report, vec![uscc], time_from_ms(0));
        assert_eq!(logged.report.to_value(), expected);
        assert_eq!(logged.decision, "disqualified");
    }

    #[test]
    fn a_group_is_announced_durable_once_and_then_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        for store in [
            &store as &dyn RecordStore,
            &SledStore::open_temporary().expect("open"),
        ] {
            let mut announced = Vec::new();
            let seqs = store
                .append_decisions_notify(&[decision(1), decision(2)], &mut |s| {
                    announced.push(s.to_vec())
                })
                .expect("append");
            assert_eq!(announced, std::slice::from_ref(&seqs));
            let found = store.decisions(&DecisionQuery::default()).expect("query");
            assert_eq!(found.iter().map(|d| d.seq).collect::<Vec<_>>(), seqs);
        }
    }

    #[test]
    fn a_temporary_store_keeps_decisions_in_sled() {
        let store = SledStore::open_temporary().expect("open");
        let seqs = store
            .append_decisions(&[decision(1), decision(2)])
            .expect("append");
        let all = store.decisions(&DecisionQuery::default()).expect("query");
        assert_eq!(all.iter().map(|d| d.seq).collect::<Vec<_>>(), seqs);
        assert_eq!(all[1].entry, decision(2));
    }
}
