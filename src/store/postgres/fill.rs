//! Bulk filling of an empty store for benchmarks: millions of new records written with
//! binary `COPY` straight into `records`, `record_ids`, `entities` and `public_disclosure`,
//! without the import's read-decide-merge steps (there is nothing to read or merge in an
//! empty store). Each row is encoded with the store's own encoders, exactly as the import
//! path encodes a record stored for the first time; a test compares the rows byte for byte
//! with what `put_records` writes for the same records at the same write time.
//!
//! Only for a fresh store whose records are new and valid: the entities of one call must not
//! be in the store yet (a second call with an entity already filled fails on its key), and
//! nothing here applies pending events or writes history. Benchmarks call it; the service
//! never does.

use chrono::{DateTime, Utc};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::super::codec::{self, EvalRecord, RecordBody, RecordDates, StoredRecord};
use super::super::{EntityKind, StoreError, check_record, time_from_ms};
use super::disclosure::line_of;
use super::{PgStore, sql};
use crate::record::CreditRecord;

/// The rows of one fill call, encoded.
#[derive(Default)]
struct Rows {
    records: Vec<RecordRow>,
    /// `(uscc, latest name given, kind)` of each entity, in the order first seen.
    entities: Vec<(String, Option<String>, i16)>,
}

/// One `records` row and, when the record may be published, its list line.
struct RecordRow {
    uscc: String,
    id: String,
    kind: i16,
    decided_on: chrono::NaiveDate,
    stored_at: DateTime<Utc>,
    stored: Vec<u8>,
    eval: Vec<u8>,
    line: Option<super::disclosure::Line>,
}

impl Rows {
    /// Encodes the records as a first write at `written_at` (the import's `put_one` for a
    /// record not stored before: revision 1, no events).
    fn encode(records: &[CreditRecord], written_at: DateTime<Utc>) -> Result<Rows, StoreError> {
        let now_ms = written_at.timestamp_millis();
        let mut rows = Rows::default();
        let mut entity_at: std::collections::HashMap<&str, usize> = Default::default();
        for record in records {
            check_record(record)?;
            let stored = StoredRecord {
                rev: 1,
                stored_at_ms: now_ms,
                body: RecordBody::from_record(record),
                repair: None,
                revoke: None,
                dates: RecordDates::of(record),
            };
            let id = record.id.as_str();
            let corrupt = |e: String| StoreError::InvalidRecord {
                id: id.to_owned(),
                reason: e,
            };
            let effective = stored.effective().map_err(corrupt)?;
            let eval = codec::encode_eval_view(std::slice::from_ref(&EvalRecord::of(&effective)))
                .map_err(corrupt)?;
            rows.records.push(RecordRow {
                uscc: record.uscc.as_str().to_owned(),
                id: id.to_owned(),
                kind: i16::from(effective.kind.index()),
                decided_on: effective.decided_on,
                stored_at: time_from_ms(stored.stored_at_ms),
                stored: codec::encode(&stored).map_err(corrupt)?,
                eval,
                line: line_of(&effective),
            });
            let at = *entity_at.entry(record.uscc.as_str()).or_insert_with(|| {
                rows.entities.push((
                    record.uscc.as_str().to_owned(),
                    None,
                    i16::from(EntityKind::of(&record.uscc).index()),
                ));
                rows.entities.len() - 1
            });
            if record.entity_name.is_some() {
                rows.entities[at].1.clone_from(&record.entity_name);
            }
        }
        Ok(rows)
    }
}

impl PgStore {
    /// Writes new records to an empty store (or one holding none of their entities or ids)
    /// in one transaction, with `COPY` into the tables themselves; the rows are those
    /// `put_records` writes for the same records in one batch committed at `written_at`.
    /// For benchmarks (see the module docs). Returns the number of records written.
    pub fn fill_new_records(
        &self,
        records: &[CreditRecord],
        written_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let rows = Rows::encode(records, written_at)?;
        self.run(self.copy_rows(&rows, written_at))
    }

    async fn copy_rows(&self, rows: &Rows, written_at: DateTime<Utc>) -> Result<u64, StoreError> {
        let db = |e: tokio_postgres::Error| self.backend(e);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let types = super::records::RECORD_COLUMNS;
        let rev = 1i32;
        let written = copy(
            &tx,
            sql::FILL_RECORDS,
            &types,
            rows.records.iter().map(|r| {
                [
                    &r.uscc as &(dyn ToSql + Sync),
                    &r.id,
                    &rev,
                    &r.kind,
                    &r.decided_on,
                    &r.stored_at,
                    &written_at,
                    &r.stored,
                    &r.eval,
                ]
            }),
        )
        .await
        .map_err(db)?;
        copy(
            &tx,
            sql::FILL_IDS,
            &[Type::TEXT, Type::TEXT],
            rows.records
                .iter()
                .map(|r| [&r.id as &(dyn ToSql + Sync), &r.uscc]),
        )
        .await
        .map_err(db)?;
        copy(
            &tx,
            sql::FILL_ENTITIES,
            &[Type::TEXT, Type::TEXT, Type::INT2],
            rows.entities
                .iter()
                .map(|(uscc, name, kind)| [uscc as &(dyn ToSql + Sync), name, kind]),
        )
        .await
        .map_err(db)?;
        let types = super::records::DISCLOSURE_COLUMNS;
        copy(
            &tx,
            sql::FILL_DISCLOSURE,
            &types,
            rows.records.iter().filter_map(|r| {
                let line = r.line.as_ref()?;
                Some([
                    &r.uscc as &(dyn ToSql + Sync),
                    &r.id,
                    &line.inv_day,
                    &line.decided_on,
                    &line.kind,
                    &line.counts_from,
                    &line.until,
                    &line.name,
                    &line.authority,
                    &line.document_no,
                    &line.legal_basis,
                ])
            }),
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(written)
    }
}

/// Sends `rows` through a binary `COPY … FROM STDIN` statement.
async fn copy<'v, const N: usize>(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &str,
    types: &[Type; N],
    rows: impl Iterator<Item = [&'v (dyn ToSql + Sync); N]>,
) -> Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in(statement).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, types));
    for row in rows {
        writer.as_mut().write(&row).await?;
    }
    writer.as_mut().finish().await
}
