//! The embedded [`RecordStore`], the default (`--data DIR`): every concern of the store
//! (records, events and history, rule-set versions, drafts, cursors, the decision log) on
//! disk in [sled](https://docs.rs/sled/0.34), in one directory that one process opens.
//!
//! The files of this folder are the sled-specific parts: `sled/journal.rs` (the decision
//! journal), `sled/pending.rs` (events waiting for their record), `sled/drafts.rs` (the
//! drafts tree), `sled/disclosure.rs` (the public disclosure index) and `sled/backup.rs`
//! (backups and restore, and the write gate that keeps a backup consistent while serving);
//! the value layouts shared with the PostgreSQL store are in `store/codec.rs`.
//!
//! # Durability
//!
//! **A write is acknowledged only after it is durable.** Every mutating call
//! ([`Records::put_records`], [`Records::apply_event`], [`Records::apply_events`],
//! [`Versions::put_ruleset_version`], [`Cursors::set_cursor`], [`DraftStore::put_draft`],
//! [`DraftStore::update_draft`]) ends with `Db::flush()`
//! and returns only after it succeeded; a batch call flushes once, at its end. The decision
//! log, written on every evaluation, is made durable differently: each group of entries is
//! appended to the decision journal (`decisions.journal`, one `fdatasync` per group, see
//! `sled/journal.rs`) and then put into the sled trees without a flush; on opening, the
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
//! | `public_disclosure` | `'D' ‖ inv_day ‖ uscc ‖ id`, and `'E' ‖ uscc ‖ inv_day ‖ id` | the public disclosure list of the records that may be published (never repaired nor revoked, dishonesty kind): the list line, and per entity; see `sled/disclosure.rs` |
//! | `record_history` | `uscc ‖ 0x00 ‖ id ‖ 0x00 ‖ rev (u32)` | a previous version, same layout as `records` |
//! | `ruleset_versions` | SHA-256 of the source (32 bytes) | `{ruleset id, source, author, time, message, parent hash?}` |
//! | `ruleset_log` | `ruleset id ‖ 0x00 ‖ seq (u32)` | SHA-256 (32 bytes) |
//! | `ruleset_heads` | `ruleset id` | `{seq, hash}` of the newest log entry |
//! | `drafts` | draft id (`u64`, from 1) | `{ruleset id, source, sector?, base hash?, author, submitted, message, activate_on?, status, published hash?, events: [{time, actor, action, comment?, activate_on?, version hash?}]}`: a version under review and its append-only history (`store/drafts.rs`) |
//! | `pending_events` | `record id ‖ 0x00 ‖ kind (0 repair, 1 revocation)` | `{date, received_at, authority?, note?}`: an event that arrived before its record, applied in the transaction that stores the record (`sled/pending.rs`) |
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
//! `entity_eval` lets the impact analysis ([`Records::scan_for_evaluation`]) read one
//! sled item per entity instead of one per record. It is derived data, written **in the same
//! transaction** as the record trees: every write that changes a record's effective content
//! (a new or changed record in [`Records::put_records`], an applied event in
//! [`Records::apply_events`]) rewrites the entity's value, once per entity per batch
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

mod backup;
mod disclosure;
mod drafts;
mod journal;
mod pending;

pub use backup::{
    BACKUP_DIR, BACKUP_FORMAT, BackupError, BackupSummary, backup_folder, restore, verify,
};

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};

use super::codec::{
    self, EvalRecord, EventMark, RecordBody, RecordDates, RuleSetHead, StoredEntity, StoredRecord,
    StoredRuleSetVersion,
};
use super::records::{EvaluationSource, RawRecords};
use super::{
    Cursors, DecisionEntry, DecisionLog, DecisionQuery, DisclosureCursor, DisclosureFilter,
    DisclosurePage, Entity, EntityCache, EntityKind, EntityRecords, EvaluationEntity, EventKind,
    EventOutcome, IN_USE, LoggedDecision, MAX_ID_LEN, NewRuleSetVersion, PendingEvent, PendingPage,
    PutSummary, PutVersion, RawEntity, RecordEvent, RecordStore, RecordVersion, Records,
    RuleSetVersion, StoreError, UsccRange, Versions, check_record, now_ms, printable, time_from_ms,
};
use crate::record::{CreditRecord, RecordError, RecordKind, Uscc};
use journal::{Journal, JournalItem, Location, Watermark};

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
    /// Held for reading by every write, for writing by a backup ([`SledStore::backup_to`]):
    /// a backup sees every acknowledged write and none half-done.
    gate: RwLock<()>,
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
pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

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

pub(super) fn tx_abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// Opens sled's database as `config` says; `path` names it in errors. A database another
/// process holds is [`IN_USE`](StoreError::is_in_use); one sled cannot read is an error, not a
/// panic.
fn open_db(config: &sled::Config, path: &str) -> Result<sled::Db, StoreError> {
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
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(StoreError::Backend {
            path: path.to_owned(),
            message: if e.to_string().contains("could not acquire lock") {
                format!(
                    "{IN_USE} (sled allows one process per database directory); stop \
                     the other credit-rules process, or give another --data directory"
                )
            } else {
                format!("cannot open the database: {e}")
            },
        }),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "sled panicked".to_owned());
            Err(StoreError::Backend {
                path: path.to_owned(),
                message: format!("the database files cannot be read (damaged?): {detail}"),
            })
        }
    }
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
    /// (default [`SCAN_BUDGET`](super::SCAN_BUDGET)); tests use it to reach the budget with few records.
    pub fn set_disclosure_scan_budget(&self, budget: usize) {
        self.names.set_scan_budget(budget);
    }

    /// Changes how many entities a name or USCC query may match and still be read entity by
    /// entity (default [`MERGE_MAX_ENTITIES`](super::MERGE_MAX_ENTITIES); beyond, the list is walked); tests lower it.
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
        let db = open_db(&config, &path)?;
        SledStore::on_db(db, path, journal)
    }

    /// The store on an opened database: checks (and migrates) its format and indexes the
    /// decision journal.
    fn on_db(
        db: sled::Db,
        path: String,
        journal: Option<PathBuf>,
    ) -> Result<SledStore, StoreError> {
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
            gate: RwLock::new(()),
            path,
            db,
        };
        store.check_format()?;
        store.recover_decisions(journal)?;
        Ok(store)
    }

    /// Makes every sled write so far durable.
    /// Holds a backup back until the write that calls it has finished (see
    /// `sled/backup.rs`). Taken once per mutating call, before it reads the clock.
    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        // The gate guards nothing but the order of writes and snapshots.
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

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

    pub(super) fn corrupt(tree: &'static str, key: &[u8], reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            tree,
            key: printable(key),
            reason: reason.into(),
        }
    }

    pub(super) fn decode_stored(key: &[u8], bytes: &[u8]) -> Result<StoredRecord, StoreError> {
        codec::decode_stored_record(bytes).map_err(|e| SledStore::corrupt("records", key, e))
    }

    pub(super) fn effective(key: &[u8], stored: &StoredRecord) -> Result<CreditRecord, StoreError> {
        stored
            .effective()
            .map_err(|e| SledStore::corrupt("records", key, e))
    }

    fn encode<T: Serialize>(tree: &'static str, key: &[u8], value: &T) -> TxResult<Vec<u8>> {
        codec::encode(value).map_err(|e| tx_abort(SledStore::corrupt(tree, key, e)))
    }

    pub(super) fn uscc_of(tree: &'static str, key: &[u8], text: &str) -> Result<Uscc, StoreError> {
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

impl Records for SledStore {
    fn put_records(&self, records: &[CreditRecord]) -> Result<PutSummary, StoreError> {
        if records.is_empty() {
            return Ok(PutSummary::default());
        }
        let _writing = self.writing();
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
        let _writing = self.writing();
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

    /// sled cannot count keys without reading them, so the ranges are cut by interpolation
    /// between the first and the last stored USCC ([`interpolated_usccs`]): even in key
    /// space, not necessarily in entities (ask for several ranges per thread).
    fn evaluation_ranges(&self, parts: usize) -> Result<Vec<UsccRange>, StoreError> {
        let first = self.entity_eval.first().map_err(|e| self.backend(e))?;
        let last = self.entity_eval.last().map_err(|e| self.backend(e))?;
        let (Some((first, _)), Some((last, _))) = (first, last) else {
            return Ok(vec![UsccRange::all()]);
        };
        Ok(UsccRange::split_at(interpolated_usccs(
            &first, &last, parts,
        )))
    }

    fn scan_for_evaluation_in(
        &self,
        range: &UsccRange,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        let (from, to) = (range.from.as_deref(), range.to.as_deref());
        let iter = match (from, to) {
            (None, None) => self.entity_eval.iter(),
            (Some(from), None) => self.entity_eval.range(from.as_bytes()..),
            (None, Some(to)) => self.entity_eval.range(..to.as_bytes()),
            (Some(from), Some(to)) if from < to => {
                self.entity_eval.range(from.as_bytes()..to.as_bytes())
            }
            (Some(_), Some(_)) => return Box::new(std::iter::empty()),
        };
        Box::new(iter.map(move |item| {
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

    fn pending_events(&self, after: Option<&str>, limit: usize) -> Result<PendingPage, StoreError> {
        pending::list(self, after, limit)
    }
}

impl Versions for SledStore {
    fn put_ruleset_version(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError> {
        let _writing = self.writing();
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
}

impl Cursors for SledStore {
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
        let _writing = self.writing();
        self.cursors
            .insert(name.as_bytes(), value.as_bytes())
            .map_err(|e| self.backend(e))?;
        self.flush_db()
    }

    fn swap_cursor(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let swapped = self
            .cursors
            .compare_and_swap(
                name.as_bytes(),
                expected.map(str::as_bytes),
                Some(value.as_bytes()),
            )
            .map_err(|e| self.backend(e))?
            .is_ok();
        if swapped {
            self.flush_db()?;
        }
        Ok(swapped)
    }
}

impl DecisionLog for SledStore {
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
}

impl RecordStore for SledStore {
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

    fn backup(&self) -> Result<BackupSummary, BackupError> {
        self.backup_in_folder()
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
        let _writing = self.writing();
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
        let _writing = self.writing();
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

    /// The decision log entries matching a query (see [`DecisionLog::decisions`]).
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
pub(super) struct RawEntityScan<'a> {
    store: &'a SledStore,
    entries: sled::Iter,
    pending: Option<(sled::IVec, sled::IVec)>,
    done: bool,
}

impl RawEntityScan<'_> {
    pub(super) fn entity_of(key: &[u8]) -> Result<&[u8], StoreError> {
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

/// Characters of a USCC after the common prefix of two keys that [`interpolated_usccs`]
/// reads as a number (31^12 fits in a `u64`).
const INTERPOLATED_CHARS: usize = 12;

/// Up to `parts - 1` USCC-like split points strictly between `first` and `last` (two stored
/// keys), evenly spaced in key space: after their common prefix, the next
/// [`INTERPOLATED_CHARS`] characters are read as a number in base 31 (the USCC characters,
/// [`crate::record::USCC_CHARSET`]; other bytes count as the nearest), and the points are
/// even steps between the two numbers, written back as USCC characters.
pub(crate) fn interpolated_usccs(first: &[u8], last: &[u8], parts: usize) -> Vec<String> {
    let charset = crate::record::USCC_CHARSET.as_bytes();
    let base = charset.len() as u128;
    let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    let Ok(prefix) = std::str::from_utf8(&first[..common]) else {
        return Vec::new();
    };
    let digit = |byte: Option<&u8>| -> u128 {
        let Some(&byte) = byte else { return 0 };
        charset
            .iter()
            .position(|&c| c >= byte)
            .map_or(base - 1, |at| at as u128)
    };
    let number = |key: &[u8]| {
        (0..INTERPOLATED_CHARS).fold(0u128, |n, i| n * base + digit(key.get(common + i)))
    };
    let (low, high) = (number(first), number(last));
    if parts < 2 || high <= low {
        return Vec::new();
    }
    let mut points = Vec::with_capacity(parts - 1);
    for part in 1..parts as u128 {
        let mut n = low + (high - low) * part / parts as u128;
        if n == low {
            continue;
        }
        let mut tail = [b'0'; INTERPOLATED_CHARS];
        for c in tail.iter_mut().rev() {
            *c = charset[(n % base) as usize];
            n /= base;
        }
        let tail = std::str::from_utf8(&tail).unwrap_or_default();
        points.push(format!("{prefix}{tail}"));
    }
    points.dedup();
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

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
            context: None,
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
