//! Records, events, history and entities on PostgreSQL: the batch writes (the same rules
//! as the sled store's, decided in memory over what one read of the batch's rows returned)
//! and the reads, the scans streamed from a portal in portions.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Transaction};

use super::super::codec::{self, EvalRecord, EventMark, RecordBody, RecordDates, StoredRecord};
use super::super::records::EvaluationSource;
use super::super::{
    Entity, EntityKind, EntityRecords, EvaluationEntity, EventKind, EventOutcome, MAX_ID_LEN,
    PutSummary, RawEntity, RecordEvent, RecordVersion, StoreChange, StoreError, check_record,
    time_from_ms,
};
use super::disclosure::{Line, line_of, upsert_lines};
use super::{PgStore, sql};
use crate::record::{CreditRecord, RecordError, RecordKind, Uscc};

/// Rows fetched from a scan's portal at a time.
const SCAN_PORTION: i32 = 2_000;

/// Rows (record versions and previous versions) from which a batch is written with `COPY`
/// into the session's staging tables and merged from there, rather than as arrays.
const COPY_FROM: usize = 64;

fn corrupt(table: &'static str, key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: table,
        key: format!("`{key}`"),
        reason: reason.into(),
    }
}

fn decode_stored(table: &'static str, key: &str, bytes: &[u8]) -> Result<StoredRecord, StoreError> {
    codec::decode_stored_record(bytes).map_err(|e| corrupt(table, key, e))
}

fn effective(
    table: &'static str,
    key: &str,
    stored: &StoredRecord,
) -> Result<CreditRecord, StoreError> {
    stored.effective().map_err(|e| corrupt(table, key, e))
}

fn reasons(errors: &[RecordError]) -> String {
    errors
        .iter()
        .map(RecordError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One record's state while a batch is decided.
struct Slot {
    uscc: String,
    current: Option<StoredRecord>,
    /// Written by this batch: to be upserted.
    dirty: bool,
    /// In the database before this batch: its row is updated (and it may have a line on the
    /// public list to take off); otherwise it is a new row.
    in_db: bool,
    /// `current` as the record it counts as, when this batch has worked it out.
    record: Option<CreditRecord>,
}

/// The rows a batch writes, gathered while deciding it.
#[derive(Default)]
struct Writes {
    new_ids: Vec<(String, String)>,
    history: Vec<(String, String, StoredRecord)>,
    /// uscc → (latest name given, kind).
    entities: HashMap<String, (Option<String>, i16)>,
}

impl PgStore {
    /// Stores a batch of records (see [`super::super::RecordStore::put_records`]).
    pub(super) async fn put_records_async(
        &self,
        records: &[CreditRecord],
    ) -> Result<PutSummary, StoreError> {
        let mut summary = PutSummary::default();
        let mut valid = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            match check_record(record) {
                Ok(()) => valid.push((index, record)),
                Err(e) => summary.rejected.push((index, e)),
            }
        }
        if valid.is_empty() {
            return Ok(summary);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.backend(e))?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let written_at = self.lock_record_writes(&tx).await?;
        let now_ms = written_at.timestamp_millis();
        let ids: Vec<&str> = valid.iter().map(|(_, r)| r.id.as_str()).collect();
        let owners = self.owners(&tx, &ids).await?;
        let mut slots = self.slots_of(&tx, &owners).await?;
        let new_ids: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !owners.contains_key(*id))
            .collect();
        let mut pending = take_pending(&tx, &new_ids).await.map_err(db)?;
        let mut writes = Writes::default();
        for (index, record) in valid {
            if let Err(e) = put_one(
                record,
                now_ms,
                &mut slots,
                &mut pending,
                &mut writes,
                &mut summary,
            )? {
                summary.rejected.push((index, e));
            }
        }
        summary.rejected.sort_by_key(|(index, _)| *index);
        self.write_batch(&tx, &slots, &writes, written_at).await?;
        self.notify(&tx, StoreChange::Records).await?;
        tx.commit().await.map_err(db)?;
        self.cache.forget(records.iter().map(|r| &r.uscc));
        Ok(summary)
    }

    /// Applies events (see [`super::super::RecordStore::apply_events`]).
    pub(super) async fn apply_events_async(
        &self,
        events: &[RecordEvent],
    ) -> Result<Vec<Result<EventOutcome, StoreError>>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.backend(e))?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let written_at = self.lock_record_writes(&tx).await?;
        let now_ms = written_at.timestamp_millis();
        let ids: Vec<&str> = events.iter().map(|e| e.record_id.as_str()).collect();
        let owners = self.owners(&tx, &ids).await?;
        let mut slots = self.slots_of(&tx, &owners).await?;
        let mut writes = Writes::default();
        let mut results = Vec::with_capacity(events.len());
        for event in events {
            let Some(slot) = slots.get_mut(&event.record_id) else {
                if !crate::record::is_storable_id(&event.record_id)
                    || event.record_id.len() > MAX_ID_LEN
                {
                    results.push(Err(StoreError::UnknownRecord {
                        id: event.record_id.clone(),
                        kind: event.kind,
                    }));
                    continue;
                }
                let received = time_from_ms(now_ms);
                tx.execute(
                    sql::HOLD_PENDING,
                    &[
                        &event.record_id,
                        &kind_code(event.kind),
                        &codec::day_number(event.date),
                        &received,
                        &event.authority,
                        &event.note,
                    ],
                )
                .await
                .map_err(db)?;
                results.push(Ok(EventOutcome::Pending));
                continue;
            };
            results.push(apply_one(event, now_ms, slot, &mut writes)?);
        }
        self.write_batch(&tx, &slots, &writes, written_at).await?;
        self.notify(&tx, StoreChange::Records).await?;
        tx.commit().await.map_err(db)?;
        self.cache.forget_all();
        Ok(results)
    }

    /// Takes the record-write lock of the schema and returns the batch's write time, read
    /// from the database's clock once the lock is held: the write times of two batches are
    /// in the order of their commits, on every replica (a version is never stamped earlier
    /// than one committed before it, which a reader asking "as known at T" relies on). The
    /// transaction's reads are then planned as index probes ([`sql::PREFER_INDEXES`]).
    async fn lock_record_writes(&self, tx: &Transaction<'_>) -> Result<DateTime<Utc>, StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        tx.execute(sql::LOCK_RECORD_WRITES, &[]).await.map_err(db)?;
        tx.batch_execute(sql::PREFER_INDEXES).await.map_err(db)?;
        let now: DateTime<Utc> = tx.query_one(sql::WRITE_TIME, &[]).await.map_err(db)?.get(0);
        Ok(now)
    }

    /// The owners of these ids.
    async fn owners(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = tx
            .query(sql::OWNERS_OF_IDS, &[&ids])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect())
    }

    /// The stored versions of the records with these owners, locked, by id.
    async fn slots_of(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        owners: &HashMap<String, String>,
    ) -> Result<HashMap<String, Slot>, StoreError> {
        let (ids, usccs): (Vec<&str>, Vec<&str>) = owners
            .iter()
            .map(|(id, uscc)| (id.as_str(), uscc.as_str()))
            .unzip();
        let rows = tx
            .query(sql::STORED_OF_KEYS, &[&usccs, &ids])
            .await
            .map_err(|e| self.backend(e))?;
        let mut slots = HashMap::with_capacity(owners.len());
        for row in rows {
            let uscc: String = row.get(0);
            let id: String = row.get(1);
            let stored = decode_stored("records", &id, row.get::<_, &[u8]>(2))?;
            slots.insert(
                id,
                Slot {
                    uscc,
                    current: Some(stored),
                    dirty: false,
                    in_db: true,
                    record: None,
                },
            );
        }
        for (id, uscc) in owners {
            if !slots.contains_key(id) {
                return Err(corrupt(
                    "record_ids",
                    id,
                    format!("the index names a record of {uscc} that is not stored"),
                ));
            }
        }
        Ok(slots)
    }

    /// Writes what a batch decided: the id index, the history, the records, their lines on
    /// the public list, the entities. Many rows go through `COPY` ([`PgStore::copy_batch`]):
    /// the records new to the database straight into their tables, the others into the
    /// session's staging tables, merged from there; a few are sent as arrays.
    async fn write_batch(
        &self,
        tx: &Transaction<'_>,
        slots: &HashMap<String, Slot>,
        writes: &Writes,
        written_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        let new_ids: Vec<(&str, &str)> = writes
            .new_ids
            .iter()
            .filter(|(id, _)| slots.get(id).is_some_and(|s| s.current.is_some()))
            .map(|(id, uscc)| (id.as_str(), uscc.as_str()))
            .collect();
        let mut history = HistoryRows::default();
        for (uscc, id, stored) in &writes.history {
            history.push(uscc, id, stored)?;
        }
        // In key order: the index insertions of a batch walk each index once.
        let mut dirty: Vec<(&String, &Slot, &StoredRecord)> = slots
            .iter()
            .filter_map(|(id, slot)| match (slot.dirty, &slot.current) {
                (true, Some(stored)) => Some((id, slot, stored)),
                _ => None,
            })
            .collect();
        dirty.sort_unstable_by(|a, b| (&a.1.uscc, a.0).cmp(&(&b.1.uscc, b.0)));
        if dirty.len() + history.ids.len() >= COPY_FROM {
            // Rows already in the database (merged), and the new ones (copied as they are
            // encoded).
            let mut rows = RecordRows::default();
            let mut fresh = Vec::new();
            for (id, slot, stored) in dirty {
                if slot.in_db {
                    rows.push(&slot.uscc, id, stored, slot.record.as_ref(), true)?;
                } else {
                    fresh.push((
                        slot.uscc.as_str(),
                        id.as_str(),
                        stored,
                        slot.record.as_ref(),
                    ));
                }
            }
            self.copy_batch(tx, &new_ids, &rows, &fresh, &history, written_at)
                .await?;
        } else {
            let mut rows = RecordRows::default();
            for (id, slot, stored) in dirty {
                rows.push(&slot.uscc, id, stored, slot.record.as_ref(), slot.in_db)?;
            }
            if !new_ids.is_empty() {
                let (ids, usccs): (Vec<&str>, Vec<&str>) = new_ids.iter().copied().unzip();
                tx.execute(sql::INSERT_IDS, &[&ids, &usccs])
                    .await
                    .map_err(db)?;
            }
            self.send_batch(tx, &rows, &history, written_at).await?;
        }
        if !writes.entities.is_empty() {
            let mut usccs = Vec::new();
            let mut names = Vec::new();
            let mut kinds = Vec::new();
            for (uscc, (name, kind)) in &writes.entities {
                usccs.push(uscc.as_str());
                names.push(name.as_deref());
                kinds.push(*kind);
            }
            tx.execute(sql::UPSERT_ENTITIES, &[&usccs, &names, &kinds])
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// A few rows, as arrays (`unnest`).
    async fn send_batch(
        &self,
        tx: &Transaction<'_>,
        rows: &RecordRows<'_>,
        history: &HistoryRows<'_>,
        written_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        if !history.ids.is_empty() {
            tx.execute(
                sql::INSERT_HISTORY,
                &[
                    &history.usccs,
                    &history.ids,
                    &history.revs,
                    &history.times,
                    &history.values,
                    &written_at,
                ],
            )
            .await
            .map_err(db)?;
        }
        if !rows.ids.is_empty() {
            tx.execute(
                sql::UPSERT_RECORDS,
                &[
                    &rows.usccs,
                    &rows.ids,
                    &rows.revs,
                    &rows.kinds,
                    &rows.days,
                    &rows.times,
                    &rows.values,
                    &rows.evals,
                    &written_at,
                ],
            )
            .await
            .map_err(db)?;
        }
        if !rows.unlisted.is_empty() {
            let (usccs, ids): (Vec<&str>, Vec<&str>) = rows.unlisted.iter().copied().unzip();
            tx.execute(sql::DELETE_DISCLOSURE, &[&usccs, &ids])
                .await
                .map_err(db)?;
        }
        if !rows.listed.is_empty() {
            upsert_lines(tx, rows.listed.iter().map(|(u, i, l)| (*u, *i, l)))
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Many rows, with `COPY … FROM STDIN (FORMAT binary)`, all in the batch's transaction:
    /// the rows of records new to the database (no row to update, no line to take off, held
    /// off from other writers by the record-write lock) straight into `record_ids`, `records`
    /// and `public_disclosure`; the rows of records already stored and the previous versions
    /// into the session's staging tables (temporary, emptied at commit), then one merge
    /// statement per table.
    async fn copy_batch(
        &self,
        tx: &Transaction<'_>,
        new_ids: &[(&str, &str)],
        rows: &RecordRows<'_>,
        fresh: &[NewRow<'_>],
        history: &HistoryRows<'_>,
        written_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        if !new_ids.is_empty() {
            let copied = new_ids
                .iter()
                .map(|(id, uscc)| [id as &(dyn ToSql + Sync), uscc]);
            self.copy_in(tx, sql::COPY_NEW_IDS, &[Type::TEXT, Type::TEXT], copied)
                .await?;
        }
        if !fresh.is_empty() {
            let listed = self.copy_new_records(tx, fresh, written_at).await?;
            if !listed.is_empty() {
                self.copy_lines(tx, sql::COPY_NEW_DISCLOSURE, &listed)
                    .await?;
            }
        }
        if history.ids.is_empty() && rows.ids.is_empty() {
            return Ok(());
        }
        tx.batch_execute(sql::CREATE_STAGING).await.map_err(db)?;
        if !history.ids.is_empty() {
            let types = [
                Type::TEXT,
                Type::TEXT,
                Type::INT4,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
                Type::BYTEA,
            ];
            let copied = (0..history.ids.len()).map(|n| {
                [
                    &history.usccs[n] as &(dyn ToSql + Sync),
                    &history.ids[n],
                    &history.revs[n],
                    &history.times[n],
                    &written_at,
                    &history.values[n],
                ]
            });
            self.copy_in(tx, sql::COPY_HISTORY, &types, copied).await?;
            tx.execute(sql::MERGE_HISTORY, &[]).await.map_err(db)?;
        }
        if !rows.ids.is_empty() {
            self.copy_records(tx, sql::COPY_RECORDS, rows, written_at)
                .await?;
            tx.execute(sql::MERGE_RECORDS, &[]).await.map_err(db)?;
        }
        if !rows.unlisted.is_empty() {
            let copied = rows
                .unlisted
                .iter()
                .map(|(uscc, id)| [uscc as &(dyn ToSql + Sync), id]);
            self.copy_in(tx, sql::COPY_UNLISTED, &[Type::TEXT, Type::TEXT], copied)
                .await?;
            tx.execute(sql::MERGE_UNLISTED, &[]).await.map_err(db)?;
        }
        if !rows.listed.is_empty() {
            self.copy_lines(tx, sql::COPY_DISCLOSURE, &rows.listed)
                .await?;
            tx.execute(sql::MERGE_DISCLOSURE, &[]).await.map_err(db)?;
        }
        Ok(())
    }

    /// The versions of records new to the database straight into `records`, each encoded
    /// as it is sent (the server stores the rows sent before meanwhile); returns their lines
    /// on the public list.
    async fn copy_new_records<'a>(
        &self,
        tx: &Transaction<'_>,
        fresh: &[NewRow<'a>],
        written_at: DateTime<Utc>,
    ) -> Result<Vec<(&'a str, &'a str, Line)>, StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        let sink = tx.copy_in(sql::COPY_NEW_RECORDS).await.map_err(db)?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &RECORD_COLUMNS));
        let mut listed = Vec::new();
        for &(uscc, id, stored, known) in fresh {
            let worked_out;
            let record = match known {
                Some(record) => record,
                None => {
                    worked_out = effective("records", id, stored)?;
                    &worked_out
                }
            };
            let row = RecordRow::of(id, stored, record)?;
            writer
                .as_mut()
                .write(&[
                    &uscc as &(dyn ToSql + Sync),
                    &id,
                    &row.rev,
                    &row.kind,
                    &record.decided_on,
                    &row.time,
                    &written_at,
                    &row.value,
                    &row.eval,
                ])
                .await
                .map_err(db)?;
            if let Some(line) = line_of(record) {
                listed.push((uscc, id, line));
            }
        }
        writer.as_mut().finish().await.map_err(db)?;
        Ok(listed)
    }

    /// Record rows through `statement`, a `COPY` of the columns (uscc, id, rev, kind,
    /// decided_on, stored_at, known_at, stored, eval).
    async fn copy_records(
        &self,
        tx: &Transaction<'_>,
        statement: &str,
        rows: &RecordRows<'_>,
        written_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let copied = (0..rows.ids.len()).map(|n| {
            [
                &rows.usccs[n] as &(dyn ToSql + Sync),
                &rows.ids[n],
                &rows.revs[n],
                &rows.kinds[n],
                &rows.days[n],
                &rows.times[n],
                &written_at,
                &rows.values[n],
                &rows.evals[n],
            ]
        });
        self.copy_in(tx, statement, &RECORD_COLUMNS, copied).await
    }

    /// List lines through `statement`, a `COPY` of every column of `public_disclosure`.
    async fn copy_lines(
        &self,
        tx: &Transaction<'_>,
        statement: &str,
        lines: &[(&str, &str, Line)],
    ) -> Result<u64, StoreError> {
        let types = DISCLOSURE_COLUMNS;
        let copied = lines.iter().map(|(uscc, id, line)| {
            [
                uscc as &(dyn ToSql + Sync),
                id,
                &line.inv_day,
                &line.decided_on,
                &line.kind,
                &line.counts_from,
                &line.until,
                &line.name,
                &line.authority,
                &line.document_no,
                &line.legal_basis,
            ]
        });
        self.copy_in(tx, statement, &types, copied).await
    }

    /// Sends `rows` through a binary `COPY … FROM STDIN` statement.
    async fn copy_in<'v, const N: usize>(
        &self,
        tx: &Transaction<'_>,
        statement: &str,
        types: &[Type; N],
        rows: impl Iterator<Item = [&'v (dyn ToSql + Sync); N]>,
    ) -> Result<u64, StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        let sink = tx.copy_in(statement).await.map_err(db)?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, types));
        for row in rows {
            writer.as_mut().write(&row).await.map_err(db)?;
        }
        writer.as_mut().finish().await.map_err(db)
    }

    pub(super) async fn record_async(&self, id: &str) -> Result<Option<CreditRecord>, StoreError> {
        let client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let ids = [id];
        let Some(owner) = client
            .query_opt(sql::OWNERS_OF_IDS, &[&&ids[..]])
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let uscc: String = owner.get(1);
        let Some(row) = client
            .query_opt(sql::RECORD, &[&uscc, &id])
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let stored = decode_stored("records", id, row.get::<_, &[u8]>(0))?;
        effective("records", id, &stored).map(Some)
    }

    pub(super) async fn records_of_async(
        &self,
        uscc: &Uscc,
    ) -> Result<Vec<CreditRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(sql::RECORDS_OF, &[&uscc.as_str()])
            .await
            .map_err(|e| self.backend(e))?;
        rows.iter()
            .map(|row| {
                let id: &str = row.get(0);
                let stored = decode_stored("records", id, row.get::<_, &[u8]>(1))?;
                effective("records", id, &stored)
            })
            .collect()
    }

    /// An entity's records as the store knew them at `known_at` (the contract of
    /// `RecordStore::records_known_at`): of each record the newest version whose write time
    /// is at or before `known_at`, read from `records` and, for those written since, from
    /// `record_history` — the same rule as the sled store's. It first waits for the record
    /// write being committed, if any (a shared hold of the record-write lock): that write's
    /// time, read once it held the lock, may be at or before `known_at`, and what the store
    /// knew at `known_at` must not change once asked.
    pub(super) async fn records_known_at_async(
        &self,
        uscc: &Uscc,
        known_at: DateTime<Utc>,
    ) -> Result<Vec<CreditRecord>, StoreError> {
        let at_ms = known_at.timestamp_millis();
        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        tx.execute(sql::WAIT_RECORD_WRITES, &[]).await.map_err(db)?;
        let rows = tx
            .query(sql::RECORDS_OF, &[&uscc.as_str()])
            .await
            .map_err(db)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: &str = row.get(0);
            let stored = decode_stored("records", id, row.get::<_, &[u8]>(1))?;
            if stored.stored_at_ms <= at_ms {
                records.push(effective("records", id, &stored)?);
                continue;
            }
            // Written since: the newest earlier version the store had by then, if any.
            let mut then: Option<StoredRecord> = None;
            for row in tx
                .query(sql::HISTORY, &[&uscc.as_str(), &id])
                .await
                .map_err(db)?
            {
                let old = decode_stored("record_history", id, row.get::<_, &[u8]>(1))?;
                if old.stored_at_ms <= at_ms && then.as_ref().is_none_or(|t| old.rev > t.rev) {
                    then = Some(old);
                }
            }
            if let Some(then) = then {
                records.push(effective("record_history", id, &then)?);
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(records)
    }

    pub(super) fn records_of_cached(&self, uscc: &Uscc) -> Result<Arc<[CreditRecord]>, StoreError> {
        let (cached, epoch) = self.cache.get(uscc);
        if let Some(records) = cached {
            return Ok(records);
        }
        let records: Arc<[CreditRecord]> = self.run(self.records_of_async(uscc))?.into();
        self.cache.put(uscc, records.clone(), epoch);
        Ok(records)
    }

    pub(super) async fn entity_async(&self, uscc: &Uscc) -> Result<Option<Entity>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(sql::ENTITY, &[&uscc.as_str()])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(row.map(|row| Entity {
            uscc: uscc.clone(),
            name: row.get(0),
            kind: EntityKind::from_index(u8::try_from(row.get::<_, i16>(1)).unwrap_or(u8::MAX)),
        }))
    }

    pub(super) async fn history_async(
        &self,
        uscc: &Uscc,
        id: &str,
    ) -> Result<Vec<RecordVersion>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(sql::HISTORY, &[&uscc.as_str(), &id])
            .await
            .map_err(|e| self.backend(e))?;
        rows.iter()
            .map(|row| {
                let stored = decode_stored("record_history", id, row.get::<_, &[u8]>(1))?;
                Ok(RecordVersion {
                    rev: stored.rev,
                    stored_at: time_from_ms(stored.stored_at_ms),
                    record: effective("record_history", id, &stored)?,
                })
            })
            .collect()
    }

    /// Streams the rows of a scan query (at most one `$1`, a kind index) from a portal in a
    /// read-only transaction, in portions, on the store's runtime.
    pub(super) fn stream(&self, query: &'static str, kind: Option<i16>) -> RowStream<'_> {
        let params: Vec<ScanParam> = match kind {
            Some(kind) => vec![Box::new(kind)],
            None => Vec::new(),
        };
        self.stream_with(None, query, params)
    }

    /// Streams the rows of a scan query with these parameters, as [`PgStore::stream`],
    /// after the statements `setup` (e.g. `SET LOCAL`) in the scan's transaction.
    pub(super) fn stream_with(
        &self,
        setup: Option<&'static str>,
        query: &'static str,
        params: Vec<ScanParam>,
    ) -> RowStream<'_> {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let pool = self.pool.clone();
        let location = self.location.clone();
        let task = async move {
            let backend = |e: String| StoreError::Backend {
                path: location.clone(),
                message: e,
            };
            let run = async {
                let mut client = pool.get().await.map_err(|e| e.to_string())?;
                let tx = client
                    .build_transaction()
                    .read_only(true)
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .start()
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(setup) = setup {
                    tx.batch_execute(setup).await.map_err(|e| e.to_string())?;
                }
                let params: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                let portal = tx.bind(query, &params).await.map_err(|e| e.to_string())?;
                loop {
                    let rows = tx
                        .query_portal(&portal, SCAN_PORTION)
                        .await
                        .map_err(|e| e.to_string())?;
                    if rows.is_empty() {
                        return Ok::<(), String>(());
                    }
                    if sender.send(Ok(rows)).await.is_err() {
                        return Ok(());
                    }
                }
            };
            if let Err(e) = run.await {
                let _ = sender.send(Err(backend(e))).await;
            }
        };
        if let Some(runtime) = self.runtime.as_ref() {
            runtime.spawn(task);
        }
        RowStream {
            store: self,
            receiver,
            portion: Vec::new().into_iter(),
        }
    }
}

/// A parameter of a streamed scan.
pub(super) type ScanParam = Box<dyn ToSql + Send + Sync>;

/// The rows of [`PgStore::stream`].
pub(super) struct RowStream<'a> {
    store: &'a PgStore,
    receiver: tokio::sync::mpsc::Receiver<Result<Vec<Row>, StoreError>>,
    portion: std::vec::IntoIter<Row>,
}

impl Iterator for RowStream<'_> {
    type Item = Result<Row, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.portion.next() {
                return Some(Ok(row));
            }
            match self.store.run(self.receiver.recv())? {
                Ok(rows) => self.portion = rows.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Groups `(uscc, …)` rows in USCC order into entities.
pub(super) struct Grouped<I, T> {
    rows: I,
    decode: fn(&Row) -> Result<(String, T), StoreError>,
    held: Option<(String, T)>,
    done: bool,
}

impl<I, T> Grouped<I, T> {
    pub(super) fn new(rows: I, decode: fn(&Row) -> Result<(String, T), StoreError>) -> Self {
        Grouped {
            rows,
            decode,
            held: None,
            done: false,
        }
    }
}

impl<I: Iterator<Item = Result<Row, StoreError>>, T> Iterator for Grouped<I, T> {
    type Item = Result<(Uscc, Vec<T>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut group: Vec<T> = Vec::new();
        let mut uscc = None;
        if let Some((key, item)) = self.held.take() {
            uscc = Some(key);
            group.push(item);
        }
        loop {
            let row = match self.rows.next() {
                Some(Ok(row)) => row,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    break;
                }
            };
            let (key, item) = match (self.decode)(&row) {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match &uscc {
                Some(current) if *current != key => {
                    self.held = Some((key, item));
                    break;
                }
                Some(_) => group.push(item),
                None => {
                    uscc = Some(key);
                    group.push(item);
                }
            }
        }
        let key = uscc?;
        Some(
            Uscc::parse(&key)
                .map_err(|e| corrupt("records", &key, e.to_string()))
                .map(|uscc| (uscc, group)),
        )
    }
}

/// A `(uscc, id, stored)` row as the record it counts as.
pub(super) fn record_row(row: &Row) -> Result<(String, CreditRecord), StoreError> {
    let uscc: String = row.get(0);
    let id: &str = row.get(1);
    let stored = decode_stored("records", id, row.get::<_, &[u8]>(2))?;
    Ok((uscc, effective("records", id, &stored)?))
}

/// A `(uscc, eval)` row as the record's evaluation form.
pub(super) fn eval_row(row: &Row) -> Result<(String, CreditRecord), StoreError> {
    let uscc_text: String = row.get(0);
    let uscc =
        Uscc::parse(&uscc_text).map_err(|e| corrupt("records", &uscc_text, e.to_string()))?;
    let mut records = codec::eval_view_records(&uscc, row.get::<_, &[u8]>(1))
        .map_err(|e| corrupt("records", &uscc_text, e))?;
    let record = records
        .pop()
        .ok_or_else(|| corrupt("records", &uscc_text, "an empty evaluation form"))?;
    Ok((uscc_text, record))
}

/// Entities of a record scan.
pub(super) fn entities(
    rows: impl Iterator<Item = Result<Row, StoreError>>,
) -> impl Iterator<Item = EntityRecords> {
    Grouped::new(rows, record_row)
}

/// Entities of an evaluation scan.
pub(super) fn evaluation_entities(
    rows: impl Iterator<Item = Result<Row, StoreError>>,
) -> impl Iterator<Item = Result<EvaluationEntity, StoreError>> {
    Grouped::new(rows, eval_row).map(|item| {
        item.map(|(uscc, records)| EvaluationEntity::from_raw(RawEntity::decoded(uscc, records)))
    })
}

/// Entities of a range evaluation scan ([`sql::SCAN_EVAL_RANGE`]): one row each, decoded
/// later ([`EvaluationEntity::decode`]), on the thread that evaluates it.
pub(super) fn evaluation_rows(
    rows: impl Iterator<Item = Result<Row, StoreError>>,
) -> impl Iterator<Item = Result<EvaluationEntity, StoreError>> {
    rows.map(|row| row.map(|row| EvaluationEntity(EvaluationSource::PgRow(row))))
}

/// The kind code of a stored pending event.
fn kind_code(kind: EventKind) -> i16 {
    match kind {
        EventKind::Repair => 0,
        EventKind::Revoke => 1,
    }
}

/// Takes (deletes and returns) the pending events of these ids, by id.
async fn take_pending(
    tx: &tokio_postgres::Transaction<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<(EventKind, EventMark)>>, tokio_postgres::Error> {
    let mut out: HashMap<String, Vec<(EventKind, EventMark)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for row in tx.query(sql::TAKE_PENDING, &[&ids]).await? {
        let kind = if row.get::<_, i16>(1) == 0 {
            EventKind::Repair
        } else {
            EventKind::Revoke
        };
        let received: DateTime<Utc> = row.get(3);
        let mark = EventMark {
            date: row.get(2),
            applied_at_ms: received.timestamp_millis(),
            authority: row.get(4),
            note: row.get(5),
        };
        out.entry(row.get(0)).or_default().push((kind, mark));
    }
    for marks in out.values_mut() {
        marks.sort_by_key(|(kind, _)| kind_code(*kind));
    }
    Ok(out)
}

/// Decides one record of a batch (the sled store's `put_one`): `Ok(Err(..))` refuses it.
fn put_one(
    record: &CreditRecord,
    now_ms: i64,
    slots: &mut HashMap<String, Slot>,
    pending: &mut HashMap<String, Vec<(EventKind, EventMark)>>,
    writes: &mut Writes,
    summary: &mut PutSummary,
) -> Result<Result<(), StoreError>, StoreError> {
    let uscc = record.uscc.as_str();
    let known = match slots.get(&record.id) {
        Some(slot) if slot.uscc != uscc => {
            return Ok(Err(StoreError::IdConflict {
                id: record.id.clone(),
                existing: slot.uscc.clone(),
                given: uscc.to_owned(),
            }));
        }
        Some(slot) => slot.current.is_some(),
        None => false,
    };
    let body = RecordBody::from_record(record);
    let dates = RecordDates::of(record);
    let old = slots.get(&record.id).and_then(|s| s.current.clone());
    let mut new = match &old {
        Some(old) if old.body == body && old.dates == dates => {
            summary.unchanged += 1;
            return Ok(Ok(()));
        }
        Some(old) => StoredRecord {
            rev: old.rev.saturating_add(1),
            // Never before the version it replaces, whatever the clock did.
            stored_at_ms: now_ms.max(old.stored_at_ms),
            body,
            repair: old.repair.clone(),
            revoke: old.revoke.clone(),
            dates,
        },
        None => StoredRecord {
            rev: 1,
            stored_at_ms: now_ms,
            body,
            repair: None,
            revoke: None,
            dates,
        },
    };
    if !known {
        for (kind, mark) in pending.remove(&record.id).unwrap_or_default() {
            let mut candidate = new.clone();
            match kind {
                EventKind::Repair => candidate.repair = Some(mark),
                EventKind::Revoke => candidate.revoke = Some(mark),
            }
            let errors = effective("records", &record.id, &candidate)?.event_date_errors();
            if errors.is_empty() {
                new = candidate;
                summary.pending_applied += 1;
            } else {
                summary.pending_refused.push(StoreError::InvalidEvent {
                    id: record.id.clone(),
                    kind,
                    reason: reasons(&errors),
                });
            }
        }
    }
    let new_effective = effective("records", &record.id, &new)?;
    if let Err(errors) = new_effective.validate() {
        return Ok(Err(StoreError::InvalidRecord {
            id: record.id.clone(),
            reason: format!(
                "with the events already applied to it: {}",
                reasons(&errors)
            ),
        }));
    }
    let in_db = slots.get(&record.id).is_some_and(|s| s.in_db);
    if let Some(old) = old {
        writes
            .history
            .push((uscc.to_owned(), record.id.clone(), old));
        summary.updated += 1;
    } else {
        writes.new_ids.push((record.id.clone(), uscc.to_owned()));
        summary.inserted += 1;
    }
    slots.insert(
        record.id.clone(),
        Slot {
            uscc: uscc.to_owned(),
            current: Some(new),
            dirty: true,
            in_db,
            record: Some(new_effective),
        },
    );
    let entity = writes
        .entities
        .entry(uscc.to_owned())
        .or_insert((None, i16::from(EntityKind::of(&record.uscc).index())));
    if record.entity_name.is_some() {
        entity.0.clone_from(&record.entity_name);
    }
    Ok(Ok(()))
}

/// Applies one event to a stored record (the sled store's `apply_one`).
fn apply_one(
    event: &RecordEvent,
    now_ms: i64,
    slot: &mut Slot,
    writes: &mut Writes,
) -> Result<Result<EventOutcome, StoreError>, StoreError> {
    let id = event.record_id.as_str();
    let Some(old) = slot.current.clone() else {
        return Err(corrupt(
            "record_ids",
            id,
            "the index names a record that is not stored",
        ));
    };
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
        applied_at_ms: now_ms,
        authority: event.authority.clone(),
        note: event.note.clone(),
    });
    let mut new = StoredRecord {
        rev: old.rev.saturating_add(1),
        stored_at_ms: now_ms.max(old.stored_at_ms),
        ..old.clone()
    };
    match event.kind {
        EventKind::Repair => new.repair = mark,
        EventKind::Revoke => new.revoke = mark,
    }
    let new_effective = effective("records", id, &new)?;
    let errors = new_effective.event_date_errors();
    if !errors.is_empty() {
        return Ok(Err(StoreError::InvalidEvent {
            id: id.to_owned(),
            kind: event.kind,
            reason: reasons(&errors),
        }));
    }
    writes.history.push((slot.uscc.clone(), id.to_owned(), old));
    slot.current = Some(new);
    slot.record = Some(new_effective);
    slot.dirty = true;
    Ok(Ok(EventOutcome::Applied))
}

/// Columns of `record_history` rows, for one `unnest` insert.
#[derive(Default)]
struct HistoryRows<'a> {
    usccs: Vec<&'a str>,
    ids: Vec<&'a str>,
    revs: Vec<i32>,
    times: Vec<DateTime<Utc>>,
    values: Vec<Vec<u8>>,
}

impl<'a> HistoryRows<'a> {
    fn push(
        &mut self,
        uscc: &'a str,
        id: &'a str,
        stored: &StoredRecord,
    ) -> Result<(), StoreError> {
        self.usccs.push(uscc);
        self.ids.push(id);
        self.revs
            .push(i32::try_from(stored.rev).unwrap_or(i32::MAX));
        self.times.push(time_from_ms(stored.stored_at_ms));
        self.values
            .push(codec::encode(stored).map_err(|e| corrupt("record_history", id, e))?);
        Ok(())
    }
}

/// Columns of `records` rows, for one `unnest` upsert or a `COPY`, with the records'
/// lines on the public list.
#[derive(Default)]
struct RecordRows<'a> {
    usccs: Vec<&'a str>,
    ids: Vec<&'a str>,
    revs: Vec<i32>,
    kinds: Vec<i16>,
    days: Vec<chrono::NaiveDate>,
    times: Vec<DateTime<Utc>>,
    values: Vec<Vec<u8>>,
    evals: Vec<Vec<u8>>,
    /// The records that may be published: their lines.
    listed: Vec<(&'a str, &'a str, Line)>,
    /// Records stored before that may not be published (any more): off the list.
    unlisted: Vec<(&'a str, &'a str)>,
}

impl<'a> RecordRows<'a> {
    fn push(
        &mut self,
        uscc: &'a str,
        id: &'a str,
        stored: &StoredRecord,
        known: Option<&CreditRecord>,
        existed: bool,
    ) -> Result<(), StoreError> {
        let worked_out;
        let record = match known {
            Some(record) => record,
            None => {
                worked_out = effective("records", id, stored)?;
                &worked_out
            }
        };
        let row = RecordRow::of(id, stored, record)?;
        self.usccs.push(uscc);
        self.ids.push(id);
        self.revs.push(row.rev);
        self.kinds.push(row.kind);
        self.days.push(record.decided_on);
        self.times.push(row.time);
        self.values.push(row.value);
        self.evals.push(row.eval);
        match line_of(record) {
            Some(line) => self.listed.push((uscc, id, line)),
            None if existed => self.unlisted.push((uscc, id)),
            None => {}
        }
        Ok(())
    }
}

/// A record version new to the database: (uscc, id, the version, the record it counts as
/// when the batch worked it out).
type NewRow<'a> = (&'a str, &'a str, &'a StoredRecord, Option<&'a CreditRecord>);

/// The column types of a `COPY` of `records` rows (uscc, id, rev, kind, decided_on,
/// stored_at, known_at, stored, eval).
pub(super) const RECORD_COLUMNS: [Type; 9] = [
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::INT2,
    Type::DATE,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::BYTEA,
    Type::BYTEA,
];

/// The encoded columns of one `records` row.
struct RecordRow {
    rev: i32,
    kind: i16,
    time: DateTime<Utc>,
    value: Vec<u8>,
    eval: Vec<u8>,
}

impl RecordRow {
    /// The row of `stored`, which counts as `record`.
    fn of(id: &str, stored: &StoredRecord, record: &CreditRecord) -> Result<RecordRow, StoreError> {
        let eval = codec::encode_eval_view(std::slice::from_ref(&EvalRecord::of(record)))
            .map_err(|e| corrupt("records", id, e))?;
        Ok(RecordRow {
            rev: i32::try_from(stored.rev).unwrap_or(i32::MAX),
            kind: kind_column(record.kind),
            time: time_from_ms(stored.stored_at_ms),
            value: codec::encode(stored).map_err(|e| corrupt("records", id, e))?,
            eval,
        })
    }
}

/// The kind index as the `records.kind` column holds it.
pub(super) fn kind_column(kind: RecordKind) -> i16 {
    i16::from(kind.index())
}

/// The column types of `public_disclosure`, in its `COPY` column order.
pub(super) const DISCLOSURE_COLUMNS: [Type; 11] = [
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::DATE,
    Type::INT2,
    Type::DATE,
    Type::DATE,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];
