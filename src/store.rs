//! The record store: credit records, entities, record history, rule-set versions, drafts
//! under review, intake cursors and the decision log — everything the service keeps between
//! requests except its tokens.
//!
//! This is the only module that names sled or PostgreSQL types. Everything else talks to
//! the [`RecordStore`] trait.
//!
//! # One trait per concern
//!
//! The store is split by concern, one trait (and one file) each, and [`RecordStore`] is the
//! umbrella a backend implements and the rest of the crate asks for:
//!
//! ```text
//! trait RecordStore: Records + Versions + DraftStore + Cursors + DecisionLog + Send + Sync
//! ```
//!
//! | concern | trait | file |
//! |---|---|---|
//! | records, events (repair, revocation, pending events), history, entities, scans, public disclosure list | [`Records`] | `store/records.rs` (disclosure types and rule: `store/disclosure.rs`) |
//! | rule-set versions and their logs | [`Versions`] | `store/versions.rs` |
//! | drafts under review | [`DraftStore`] | `store/drafts.rs` |
//! | intake cursors | [`Cursors`] | `store/cursors.rs` |
//! | the decision log | [`DecisionLog`] | `store/decisions.rs` |
//! | the whole store: [`RecordStore::flush`], [`RecordStore::watch_changes`], [`RecordStore::backup`] | [`RecordStore`] | here (the sled backup: `store/sled/backup.rs`) |
//!
//! A function that needs one concern can ask for just that trait; one that is given a
//! `&dyn RecordStore` or an `S: RecordStore` calls every concern's methods without
//! importing more. Calling them on a concrete store ([`SledStore`], [`PgStore`]) needs the
//! concern's trait in scope (`use credit_rules::store::{Records, Versions, …}`), as for any
//! trait method.
//!
//! **Tokens** are not in the store: they are a file beside each `serve` (`http/tokens.rs`),
//! which the CLI and the console change atomically and the server reloads; so there is no
//! token trait.
//!
//! # Backends
//!
//! One folder per backend, each implementing every concern trait:
//!
//! * [`SledStore`] (`store/sled.rs`, `store/sled/`): embedded, the default (`--data DIR`);
//!   its durability, on-disk schema and migrations are described there.
//! * [`PgStore`] (`store/postgres.rs`, `store/postgres/`): PostgreSQL (`--store
//!   postgres://…`): its schema, the bridge from the synchronous traits to its async driver,
//!   and replicas.
//!
//! [`StoreLocation`] opens either for the commands. The byte layouts both share (the
//! postcard values of records and drafts, order-preserving keys) are in `store/codec.rs`;
//! the entity cache both keep in front of their records is `store/cache.rs`.
//!
//! # Records, events and history
//!
//! * A record is identified by `(uscc, id)`; record ids are unique across the store, so a
//!   record id already stored for another entity is refused ([`StoreError::IdConflict`]).
//! * [`Records::put_records`] compares the record with the one the source sent last:
//!   the same record is `unchanged` (nothing written); a different one is `updated`, and the
//!   previous version goes to the record's history under its version number.
//! * Repairs and revocations ([`Records::apply_event`]) are kept beside the source's
//!   record, not in it, so that the source re-sending its record (which knows nothing of the
//!   event) neither wipes the event nor counts as a change. The record as it counts (returned
//!   by every read) takes `repaired_on` / `revoked_on` from the source's record when it has
//!   them, else from the events. An event with the date already applied is `Unchanged`;
//!   another date replaces the earlier one, and the previous version goes to the history.
//! * An event whose record is not stored yet is kept as a pending event and applied in the
//!   transaction that stores the record ([`Records::pending_events`] lists them; see
//!   `store/sled/pending.rs`).
//! * Entities are created by their first record; the entity name follows the latest record
//!   that gives one.

mod cache;
mod changes;
mod codec;
mod cursors;
mod decisions;
mod disclosure;
mod drafts;
mod location;
pub mod postgres;
mod records;
mod sled;
mod versions;

pub use self::sled::{
    BACKUP_DIR, BACKUP_FORMAT, BackupError, BackupSummary, Compaction, FORMAT_VERSION, SledStore,
    backup_folder, restore as restore_backup, verify as verify_backup,
};
pub use changes::StoreChange;
pub use cursors::{Cursors, update_cursor};
pub use decisions::{DecisionEntry, DecisionLog, DecisionQuery, LoggedDecision, ReportJson};
pub use location::{STORE_ENV, StoreLocation};
pub use postgres::PgStore;
pub use records::{
    Entity, EntityKind, EntityRecords, EvaluationEntity, EventKind, EventOutcome, PendingEvent,
    PendingPage, PutSummary, RawEntity, RecordEvent, RecordVersion, Records, UsccRange,
};
pub use versions::{NewRuleSetVersion, PutVersion, RuleSetVersion, Versions};

pub use disclosure::{
    CursorError, DisclosureCursor, DisclosureEntry, DisclosureFilter, DisclosurePage,
    DisclosureRecord, EntityDisclosure, MERGE_MAX_ENTITIES, SCAN_BUDGET, is_public_on,
    is_publishable, scan_page as disclosure_scan_page,
};

pub use drafts::{
    Actor, Draft, DraftQuery, DraftStatus, DraftStore, DraftTransition, NewDraft, ReviewAction,
    ReviewEvent,
};

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::record::{CreditRecord, RecordError, RecordKind};
use cache::EntityCache;

/// Longest accepted record id, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Largest page size [`Records::disclosure_page`] accepts.
pub const MAX_PAGE_SIZE: usize = 1000;

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

/// How a store says that another process holds it (sled: one process per database).
const IN_USE: &str = "the database is in use by another process";

impl StoreError {
    /// Whether the store could not be opened because another process holds it (a sled
    /// folder that `serve` has open).
    pub fn is_in_use(&self) -> bool {
        matches!(self, StoreError::Backend { message, .. } if message.starts_with(IN_USE))
    }
}

// ---------------------------------------------------------------------------------------------
// The umbrella trait
// ---------------------------------------------------------------------------------------------

/// The operations the product needs from its database: every concern's trait, and what
/// concerns the whole store. Every mutating method returns only after its writes are
/// durable.
pub trait RecordStore:
    Records + Versions + DraftStore + Cursors + DecisionLog + Send + Sync
{
    /// Writes a consistent snapshot of the whole store into a new file in the store's own
    /// folder (`backups/`) while it keeps serving, and says where (the sled store:
    /// `store/sled/backup.rs`). A store that has tools of its own refuses: PostgreSQL is
    /// backed up with `pg_dump` (docs/deployment.md).
    fn backup(&self) -> Result<BackupSummary, BackupError> {
        Err(BackupError::Unsupported(
            "this store is not backed up by credit-rules: back a PostgreSQL store up with \
             pg_dump (see docs/deployment.md, Backups)"
                .into(),
        ))
    }

    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;

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
