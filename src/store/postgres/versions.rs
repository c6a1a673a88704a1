//! Rule-set versions, intake cursors and drafts on PostgreSQL: small tables that every
//! replica reads (reference tables under Citus). A rule set's log is appended under an
//! advisory lock per rule set; a draft changes only by a compare-and-swap on its row
//! version.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::Row;

use super::super::drafts::{decode_draft_value, new_draft_value, refuse_bad_id, transition_value};
use super::super::{
    Draft, DraftQuery, DraftTransition, NewDraft, NewRuleSetVersion, PutVersion, RuleSetVersion,
    StoreChange, StoreError, codec,
};
use super::{PgStore, sql};

fn corrupt(table: &'static str, key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: table,
        key: format!("`{key}`"),
        reason: reason.into(),
    }
}

/// A `(hash, ruleset_id, source, author, time, message, parent)` row.
fn version_row(row: &Row) -> RuleSetVersion {
    let time: DateTime<Utc> = row.get(4);
    RuleSetVersion {
        hash: codec::hex(row.get::<_, &[u8]>(0)),
        ruleset_id: row.get(1),
        source: row.get(2),
        author: row.get(3),
        time,
        message: row.get(5),
        parent: row.get::<_, Option<&[u8]>>(6).map(codec::hex),
    }
}

impl PgStore {
    pub(super) async fn put_version_async(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError> {
        let id = version.ruleset_id;
        refuse_bad_id(id)?;
        let hash: [u8; 32] = Sha256::digest(version.source.as_bytes()).into();
        let hash_hex = codec::hex(&hash);
        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let tx = client.transaction().await.map_err(db)?;
        tx.execute(sql::LOCK_RULESET, &[&id]).await.map_err(db)?;
        let head = tx.query_opt(sql::RULESET_HEAD, &[&id]).await.map_err(db)?;
        let head: Option<(i32, Vec<u8>)> = head.map(|row| (row.get(0), row.get(1)));
        if let Some((seq, head_hash)) = &head
            && head_hash.as_slice() == hash.as_slice()
        {
            return Ok(PutVersion {
                hash: hash_hex,
                seq: seq.unsigned_abs(),
                created: false,
            });
        }
        let hash_bytes = hash.as_slice();
        match tx
            .query_opt(sql::RULESET_VERSION, &[&hash_bytes])
            .await
            .map_err(db)?
        {
            Some(row) => {
                let stored = version_row(&row);
                if stored.ruleset_id != id {
                    return Err(StoreError::RuleSetConflict(format!(
                        "the same source text is already stored as a version of rule set `{}`, \
                         so it cannot also be a version of `{id}`; check the rule-set id in the \
                         source header",
                        stored.ruleset_id
                    )));
                }
            }
            None => {
                let parent = head.as_ref().map(|(_, h)| h.as_slice());
                tx.execute(
                    sql::INSERT_RULESET_VERSION,
                    &[
                        &hash_bytes,
                        &id,
                        &version.source,
                        &version.author,
                        &version.time,
                        &version.message,
                        &parent,
                    ],
                )
                .await
                .map_err(db)?;
            }
        }
        let seq = head.as_ref().map_or(1, |(seq, _)| seq.saturating_add(1));
        tx.execute(sql::APPEND_RULESET_LOG, &[&id, &seq, &hash_bytes])
            .await
            .map_err(db)?;
        self.notify(&tx, StoreChange::Versions).await?;
        tx.commit().await.map_err(db)?;
        Ok(PutVersion {
            hash: hash_hex,
            seq: seq.unsigned_abs(),
            created: true,
        })
    }

    pub(super) async fn version_async(
        &self,
        hash: &str,
    ) -> Result<Option<RuleSetVersion>, StoreError> {
        let Some(hash) = codec::parse_hash(hash) else {
            return Err(StoreError::InvalidQuery(format!(
                "`{hash}` is not a rule-set version hash; give the 64 hex digits of its SHA-256"
            )));
        };
        let client = self.client().await?;
        let row = client
            .query_opt(sql::RULESET_VERSION, &[&hash.as_slice()])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(row.as_ref().map(version_row))
    }

    pub(super) async fn versions_async(
        &self,
        ruleset_id: &str,
    ) -> Result<Vec<RuleSetVersion>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(sql::RULESET_VERSIONS, &[&ruleset_id])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(rows.iter().map(version_row).collect())
    }

    pub(super) async fn ruleset_ids_async(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(sql::RULESET_IDS, &[])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub(super) async fn cursor_async(&self, name: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(sql::CURSOR, &[&name])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(row.map(|row| row.get(0)))
    }

    pub(super) async fn set_cursor_async(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(sql::SET_CURSOR, &[&name, &value])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(())
    }

    /// The compare-and-swap of a cursor: one statement (an insert when none is expected, an
    /// update of the expected value otherwise), atomic against every other writer.
    pub(super) async fn swap_cursor_async(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = match expected {
            None => client.execute(sql::INSERT_CURSOR, &[&name, &value]).await,
            Some(expected) => {
                client
                    .execute(sql::SWAP_CURSOR, &[&name, &expected, &value])
                    .await
            }
        }
        .map_err(|e| self.backend(e))?;
        Ok(changed == 1)
    }

    pub(super) async fn put_draft_async(&self, draft: &NewDraft<'_>) -> Result<Draft, StoreError> {
        refuse_bad_id(draft.ruleset_id)?;
        let value = new_draft_value(draft).map_err(|e| corrupt("drafts", "new", e))?;
        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let tx = client.transaction().await.map_err(db)?;
        let id: i64 = tx
            .query_one(sql::NEXT_DRAFT_ID, &[])
            .await
            .map_err(db)?
            .get(0);
        let status = i16::from(super::super::DraftStatus::Pending.code());
        tx.execute(
            sql::INSERT_DRAFT,
            &[&id, &draft.ruleset_id, &status, &value],
        )
        .await
        .map_err(db)?;
        self.notify(&tx, StoreChange::Drafts).await?;
        tx.commit().await.map_err(db)?;
        let id = id.unsigned_abs();
        decode_draft_value(id, &value).map_err(|e| corrupt("drafts", &id.to_string(), e))
    }

    pub(super) async fn draft_async(&self, id: u64) -> Result<Option<Draft>, StoreError> {
        let Ok(key) = i64::try_from(id) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let row = client
            .query_opt(sql::DRAFT, &[&key])
            .await
            .map_err(|e| self.backend(e))?;
        row.map(|row| {
            decode_draft_value(id, row.get::<_, &[u8]>(1))
                .map_err(|e| corrupt("drafts", &id.to_string(), e))
        })
        .transpose()
    }

    pub(super) async fn drafts_async(&self, query: &DraftQuery) -> Result<Vec<Draft>, StoreError> {
        let client = self.client().await?;
        let status = query.status.map(|s| i16::from(s.code()));
        let rows = client
            .query(sql::DRAFTS, &[&query.ruleset_id, &status])
            .await
            .map_err(|e| self.backend(e))?;
        rows.iter()
            .map(|row| {
                let id = row.get::<_, i64>(0).unsigned_abs();
                decode_draft_value(id, row.get::<_, &[u8]>(1))
                    .map_err(|e| corrupt("drafts", &id.to_string(), e))
            })
            .collect()
    }

    pub(super) async fn update_draft_async(
        &self,
        id: u64,
        transition: &DraftTransition<'_>,
    ) -> Result<Draft, StoreError> {
        let Ok(key) = i64::try_from(id) else {
            return Err(StoreError::UnknownDraft { id });
        };
        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        loop {
            let Some(row) = client.query_opt(sql::DRAFT, &[&key]).await.map_err(db)? else {
                return Err(StoreError::UnknownDraft { id });
            };
            let row_version: i64 = row.get(0);
            let (value, draft) = transition_value(id, row.get::<_, &[u8]>(1), transition)
                .map_err(|e| corrupt("drafts", &id.to_string(), e))??;
            let status = i16::from(draft.status.code());
            // The swap and its notification in one transaction: a listener hears of the
            // change exactly when it commits, never of one rolled back.
            let tx = client.transaction().await.map_err(db)?;
            let swapped = tx
                .execute(sql::SWAP_DRAFT, &[&key, &row_version, &status, &value])
                .await
                .map_err(db)?;
            if swapped == 1 {
                self.notify(&tx, StoreChange::Drafts).await?;
                tx.commit().await.map_err(db)?;
                return Ok(draft);
            }
            tx.rollback().await.map_err(db)?;
            // Another replica changed the draft meanwhile: decide again on its new status.
        }
    }
}
