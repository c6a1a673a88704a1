//! Events that arrived before their record: kept durably in the `pending_events` tree and
//! applied, in the same transaction, when the record arrives.
//!
//! A real-time feed does not guarantee order: a repair (信用修复) or revocation (撤销) may come
//! before the record it is about. [`super::Records::apply_events`] keeps such an event
//! here instead of refusing it ([`super::EventOutcome::Pending`]); [`super::Records::put_records`]
//! looks for pending events of every record it stores for the first time and applies them
//! to it in its own transaction, so after a crash either both are there or neither. Key:
//! `record id ‖ 0x00 ‖ kind` (0 repair, 1 revocation), so a record has at most one pending
//! event of each kind (a later one replaces the earlier, as for applied events) and the
//! lookups inside a transaction are exact (sled offers no range scans there). A pending event
//! whose date does not fit the record (e.g. repaired before the decision) is not applied: it
//! is removed and reported with the record ([`super::PutSummary::pending_refused`]), as it
//! would have been refused had it come after the record, so the order of arrival changes
//! nothing in the end. [`super::Records::pending_events`] lists what still waits. The tree was added without a
//! format change: a database written before it opens with no pending events.

use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::codec::{self, EventMark, StoredRecord};
use super::{
    EventKind, PendingEvent, PendingPage, RecordEvent, RecordTrees, SledStore, StoreError,
    TxResult, time_from_ms, tx_abort,
};

/// The stored value.
#[derive(Debug, Serialize, Deserialize)]
struct StoredPending {
    date: i32,
    received_at_ms: i64,
    authority: Option<String>,
    note: Option<String>,
}

const KINDS: [EventKind; 2] = [EventKind::Repair, EventKind::Revoke];

fn kind_byte(kind: EventKind) -> u8 {
    match kind {
        EventKind::Repair => 0,
        EventKind::Revoke => 1,
    }
}

/// `record id ‖ 0x00 ‖ kind`.
fn key(record_id: &str, kind: EventKind) -> Vec<u8> {
    let mut key = Vec::with_capacity(record_id.len() + 2);
    key.extend_from_slice(record_id.as_bytes());
    key.push(codec::SEP);
    key.push(kind_byte(kind));
    key
}

/// Keeps `event`, whose record is not stored, until the record arrives.
pub(super) fn hold(trees: &RecordTrees<'_>, event: &RecordEvent, now: i64) -> TxResult<()> {
    let value = StoredPending {
        date: codec::day_number(event.date),
        received_at_ms: now,
        authority: event.authority.clone(),
        note: event.note.clone(),
    };
    let key = key(&event.record_id, event.kind);
    let bytes = SledStore::encode("pending_events", &key, &value)?;
    trees.pending.insert(key, bytes)?;
    Ok(())
}

/// What [`attach`] did.
#[derive(Default)]
pub(super) struct Attached {
    /// Events applied.
    pub applied: usize,
    /// Events whose date does not fit the record (`InvalidEvent`), removed and reported, as
    /// they would have been had they come after the record.
    pub refused: Vec<StoreError>,
}

/// Applies the pending events of a record being stored for the first time to `new` when its
/// dates allow (`misfit` says why the record with them is inconsistent, or `None`), and
/// removes them from the tree.
pub(super) fn attach(
    trees: &RecordTrees<'_>,
    record_id: &str,
    new: &mut StoredRecord,
    misfit: impl Fn(&StoredRecord) -> Result<Option<String>, StoreError>,
) -> TxResult<Attached> {
    let mut attached = Attached::default();
    for kind in KINDS {
        let key = key(record_id, kind);
        let Some(bytes) = trees.pending.get(&key)? else {
            continue;
        };
        let stored: StoredPending = codec::decode(&bytes)
            .map_err(|e| tx_abort(SledStore::corrupt("pending_events", &key, e)))?;
        let mark = Some(EventMark {
            date: stored.date,
            applied_at_ms: stored.received_at_ms,
            authority: stored.authority,
            note: stored.note,
        });
        let mut candidate = new.clone();
        match kind {
            EventKind::Repair => candidate.repair = mark,
            EventKind::Revoke => candidate.revoke = mark,
        }
        match misfit(&candidate).map_err(tx_abort)? {
            None => {
                *new = candidate;
                attached.applied += 1;
            }
            Some(reason) => attached.refused.push(StoreError::InvalidEvent {
                id: record_id.to_owned(),
                kind,
                reason,
            }),
        }
        trees.pending.remove(key)?;
    }
    Ok(attached)
}

/// Bytes from lower-case hex digits (a cursor).
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A page of the pending events after the cursor `after`.
pub(super) fn list(
    store: &SledStore,
    after: Option<&str>,
    limit: usize,
) -> Result<PendingPage, StoreError> {
    let start = match after {
        Some(cursor) => Bound::Excluded(unhex(cursor).ok_or_else(|| {
            StoreError::InvalidQuery(format!(
                "`{cursor}` is not a cursor of this list; pass the `next_cursor` of the \
                 previous page unchanged"
            ))
        })?),
        None => Bound::Unbounded,
    };
    let mut items = Vec::new();
    let mut last_key = None;
    for item in store.pending.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
        let (key, bytes) = item.map_err(|e| store.backend(e))?;
        if items.len() == limit {
            return Ok(PendingPage {
                items,
                next_cursor: last_key.map(|k: sled::IVec| codec::hex(&k)),
            });
        }
        items.push(decode(&key, &bytes)?);
        last_key = Some(key);
    }
    Ok(PendingPage {
        items,
        next_cursor: None,
    })
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<PendingEvent, StoreError> {
    let corrupt = |reason: &str| SledStore::corrupt("pending_events", key, reason);
    let (id, kind) = match key {
        [id @ .., 0, kind] => (id, *kind),
        _ => return Err(corrupt("the key is not `id ‖ 0x00 ‖ kind`")),
    };
    let kind = match kind {
        0 => EventKind::Repair,
        1 => EventKind::Revoke,
        _ => return Err(corrupt("unknown event kind")),
    };
    let record_id = std::str::from_utf8(id)
        .map_err(|_| corrupt("the id is not UTF-8"))?
        .to_owned();
    let stored: StoredPending =
        codec::decode(bytes).map_err(|e| SledStore::corrupt("pending_events", key, e))?;
    Ok(PendingEvent {
        record_id,
        kind,
        date: codec::from_day_number(stored.date).ok_or_else(|| corrupt("bad date"))?,
        authority: stored.authority,
        note: stored.note,
        received_at: time_from_ms(stored.received_at_ms),
    })
}
