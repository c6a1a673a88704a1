//! The public disclosure list (向社会公示) on PostgreSQL: the table `public_disclosure`
//! (schema version 2), one line per record that may be published, written in the same
//! transaction as the record, and the keyset pages over its index `(inv_day, uscc, id)`.
//!
//! The answers are the sled store's (`store/disclosure.rs`: the publication rule, the
//! filters, the order newest decision first then USCC then record id, the cursor format):
//!
//! * **No filter on the entity**: the page walks the index in list order from the cursor
//!   (or from the newest decision day the filter allows) and stops at the oldest day it
//!   allows, testing kind, publication day, disclosure end and authority on each line.
//!   **A page looks at no more than [`SCAN_BUDGET`](super::super::SCAN_BUDGET) lines** (the walk's own `LIMIT`): a
//!   rare filter can answer fewer than `limit` entries, or none, with a `next_cursor` that
//!   resumes where the walk stopped; the list is complete once `next_cursor` is null. A
//!   page of the whole list reads `limit + 1` lines of the index.
//! * **A name or USCC query**: the matching entities are found first (a search of the
//!   `entities` table by name, at most [`MERGE_MAX_ENTITIES`](super::super::MERGE_MAX_ENTITIES) + 1 of them, and a range of
//!   its primary key for a USCC prefix); up to [`MERGE_MAX_ENTITIES`](super::super::MERGE_MAX_ENTITIES) are read by their
//!   primary key (`uscc = ANY(…)`, a few lines each) and sorted; more mean a common term,
//!   and the walk above tests each line's entity instead.

use std::sync::atomic::Ordering;

use chrono::NaiveDate;
use tokio_postgres::Row;

use super::super::StoreError;
use super::super::codec;
use super::super::disclosure::{
    DisclosureCursor, DisclosureEntry, DisclosureFilter, DisclosurePage, is_publishable,
};
use super::{PgStore, sql};
use crate::record::{CreditRecord, RecordKind, Uscc};

/// A record's line on the public list (the columns of `public_disclosure` after its key).
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub inv_day: i32,
    pub decided_on: NaiveDate,
    pub kind: i16,
    pub counts_from: NaiveDate,
    pub until: Option<NaiveDate>,
    pub name: Option<String>,
    pub authority: Option<String>,
    pub document_no: Option<String>,
    pub legal_basis: Option<String>,
}

/// The record's line, when it may be published at all (dishonesty kind, never repaired
/// nor revoked: [`is_publishable`]); the days asked for are checked when a page is read.
pub(super) fn line_of(record: &CreditRecord) -> Option<Line> {
    if !is_publishable(record) {
        return None;
    }
    Some(Line {
        inv_day: inv_day(record.decided_on),
        decided_on: record.decided_on,
        kind: i16::from(record.kind.index()),
        counts_from: record.counts_from(),
        until: record.disclosure_until,
        name: record.entity_name.clone(),
        authority: record.authority.clone(),
        document_no: record.document_no.clone(),
        legal_basis: record.legal_basis.clone(),
    })
}

/// Puts records on the list, or updates their lines, with one statement (arrays).
pub(super) async fn upsert_lines<'a>(
    tx: &tokio_postgres::Transaction<'_>,
    lines: impl Iterator<Item = (&'a str, &'a str, &'a Line)>,
) -> Result<u64, tokio_postgres::Error> {
    let mut usccs = Vec::new();
    let mut ids = Vec::new();
    let mut inv_days = Vec::new();
    let mut decided = Vec::new();
    let mut kinds = Vec::new();
    let mut from = Vec::new();
    let mut until = Vec::new();
    let mut names = Vec::new();
    let mut authorities = Vec::new();
    let mut documents = Vec::new();
    let mut bases = Vec::new();
    for (uscc, id, line) in lines {
        usccs.push(uscc);
        ids.push(id);
        inv_days.push(line.inv_day);
        decided.push(line.decided_on);
        kinds.push(line.kind);
        from.push(line.counts_from);
        until.push(line.until);
        names.push(line.name.as_deref());
        authorities.push(line.authority.as_deref());
        documents.push(line.document_no.as_deref());
        bases.push(line.legal_basis.as_deref());
    }
    if ids.is_empty() {
        return Ok(0);
    }
    tx.execute(
        sql::UPSERT_DISCLOSURE,
        &[
            &usccs,
            &ids,
            &inv_days,
            &decided,
            &kinds,
            &from,
            &until,
            &names,
            &authorities,
            &documents,
            &bases,
        ],
    )
    .await
}

/// Fills the list from the records (opening a version-1 database): the record values are
/// decoded here, in portions of a portal.
pub(super) async fn fill_from_records(tx: &tokio_postgres::Transaction<'_>) -> Result<u64, String> {
    let portal = tx
        .bind(sql::ALL_RECORDS, &[])
        .await
        .map_err(|e| e.to_string())?;
    let mut filled = 0;
    loop {
        let rows = tx
            .query_portal(&portal, 2_000)
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut lines = Vec::new();
        for row in &rows {
            let uscc: &str = row.get(0);
            let id: &str = row.get(1);
            let record = codec::decode_stored_record(row.get::<_, &[u8]>(2))
                .and_then(|stored| stored.effective())
                .map_err(|e| format!("record `{id}` of {uscc}: {e}"))?;
            if let Some(line) = line_of(&record) {
                lines.push((uscc, id, line));
            }
        }
        filled += upsert_lines(tx, lines.iter().map(|(u, i, l)| (*u, *i, l)))
            .await
            .map_err(|e| e.to_string())?;
    }
}

/// Minus the day number: ascending runs newest first.
fn inv_day(day: NaiveDate) -> i32 {
    -codec::day_number(day)
}

/// A position in list order: (inv_day, uscc, id).
type Position = (i32, String, String);

/// Which entities a query selects.
enum Selection {
    /// Every entity (no query).
    All,
    /// These few USCCs.
    Few(Vec<String>),
    /// Many: the walk tests each line's entity (USCC prefix, part of the name).
    Many(Option<String>, String),
}

impl PgStore {
    /// Lowers (or raises) how many lines one page of the public list may look at (tests
    /// use a tiny budget to see the short pages).
    pub fn set_disclosure_scan_budget(&self, budget: usize) {
        self.disclosure_budget
            .store(budget.max(1), Ordering::Relaxed);
    }

    /// Sets how many matching entities a name or USCC query reads entity by entity.
    pub fn set_disclosure_merge_max(&self, max: usize) {
        self.disclosure_merge_max.store(max, Ordering::Relaxed);
    }

    /// A page of the list ([`super::super::RecordStore::disclosure_page`]).
    pub(super) async fn disclosure_page_async(
        &self,
        filter: &DisclosureFilter,
        after: Option<&DisclosureCursor>,
        limit: usize,
    ) -> Result<DisclosurePage, StoreError> {
        filter.check(limit)?;
        let start: Position = (inv_day(filter.newest()), String::new(), String::new());
        let lower = match after {
            Some(cursor) => {
                let (day, uscc, id) = cursor.parts().ok_or_else(|| {
                    StoreError::InvalidQuery(format!(
                        "`{cursor}` is not a cursor of this list; give the `next_cursor` of \
                         the previous page exactly as it was returned"
                    ))
                })?;
                let at = (day.saturating_neg(), uscc.to_owned(), id.to_owned());
                at.max(start)
            }
            None => start,
        };
        let oldest = filter.decided_from.map_or(i32::MAX, inv_day);
        let kinds: Vec<i16> = RecordKind::ALL
            .into_iter()
            .filter(|k| filter.kind_mask() & k.bit() != 0)
            .map(|k| i16::from(k.index()))
            .collect();
        let counts_by = filter.as_of.min(filter.today);
        let shown_until = filter.shown_until();
        let authority = filter.authority();
        let budget =
            i64::try_from(self.disclosure_budget.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;

        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(db)?;
        let selection = self.select(&tx, filter).await?;
        let (inv, uscc, id) = &lower;
        let rows = match &selection {
            Selection::Few(usccs) if usccs.is_empty() => Vec::new(),
            Selection::Few(usccs) => tx
                .query(
                    sql::DISCLOSURE_OF_ENTITIES,
                    &[
                        inv,
                        uscc,
                        id,
                        &oldest,
                        &kinds,
                        &counts_by,
                        &shown_until,
                        &authority,
                        usccs,
                        &fetch,
                    ],
                )
                .await
                .map_err(db)?,
            Selection::All | Selection::Many(..) => {
                let (prefix, name) = match &selection {
                    Selection::Many(prefix, name) => (prefix.as_deref(), Some(name.as_str())),
                    _ => (None, None),
                };
                tx.query(
                    sql::DISCLOSURE_WALK,
                    &[
                        inv,
                        uscc,
                        id,
                        &oldest,
                        &kinds,
                        &counts_by,
                        &shown_until,
                        &authority,
                        &budget,
                        &fetch,
                        &prefix,
                        &name,
                    ],
                )
                .await
                .map_err(db)?
            }
        };
        let mut items = rows
            .iter()
            .map(entry_of_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(DisclosureCursor::after)
        } else if matches!(selection, Selection::Few(_)) {
            None
        } else {
            // Fewer than asked: the walk reached the end of the range, or its budget.
            let end = tx
                .query_opt(sql::DISCLOSURE_WALK_END, &[inv, uscc, id, &oldest, &budget])
                .await
                .map_err(db)?;
            match end {
                Some(row) => Some(cursor_of_row(&row)?),
                None => None,
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(DisclosurePage { items, next_cursor })
    }

    /// The entities a query selects.
    async fn select(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        filter: &DisclosureFilter,
    ) -> Result<Selection, StoreError> {
        let Some(query) = filter.query() else {
            return Ok(Selection::All);
        };
        let db = |e: tokio_postgres::Error| self.backend(e);
        let merge_max = self.disclosure_merge_max.load(Ordering::Relaxed);
        let fetch = i64::try_from(merge_max).unwrap_or(i64::MAX - 1) + 1;
        let mut found: Vec<String> = tx
            .query(sql::ENTITIES_NAMED, &[&query.name, &fetch])
            .await
            .map_err(db)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(prefix) = &query.uscc_prefix {
            // Every USCC character sorts before U+007F.
            let end = format!("{prefix}\u{7f}");
            let rows = tx
                .query(sql::ENTITIES_IN_RANGE, &[prefix, &end, &fetch])
                .await
                .map_err(db)?;
            found.extend(rows.iter().map(|row| row.get::<_, String>(0)));
        }
        found.sort_unstable();
        found.dedup();
        if found.len() > merge_max {
            Ok(Selection::Many(query.uscc_prefix, query.name))
        } else {
            Ok(Selection::Few(found))
        }
    }
}

fn corrupt(key: &str, reason: &str) -> StoreError {
    StoreError::Corrupt {
        tree: "public_disclosure",
        key: format!("`{key}`"),
        reason: reason.to_owned(),
    }
}

/// A row of [`sql::DISCLOSURE_WALK`] or [`sql::DISCLOSURE_OF_ENTITIES`] as a list entry.
fn entry_of_row(row: &Row) -> Result<DisclosureEntry, StoreError> {
    let uscc_text: String = row.get(1);
    let id: String = row.get(2);
    let key = format!("{uscc_text}/{id}");
    let uscc = Uscc::parse(&uscc_text).map_err(|e| corrupt(&key, &e.to_string()))?;
    let kind = usize::try_from(row.get::<_, i16>(4))
        .ok()
        .and_then(|k| RecordKind::ALL.get(k).copied())
        .ok_or_else(|| corrupt(&key, "bad kind"))?;
    Ok(DisclosureEntry {
        id,
        name: row.get(6),
        uscc,
        kind,
        kind_label: kind.label().to_owned(),
        authority: row.get(7),
        document_no: row.get(8),
        decided_on: row.get(3),
        disclosure_until: row.get(5),
        legal_basis: row.get(9),
    })
}

/// The cursor of an `(inv_day, uscc, id)` row.
fn cursor_of_row(row: &Row) -> Result<DisclosureCursor, StoreError> {
    let inv: i32 = row.get(0);
    let uscc: &str = row.get(1);
    let id: &str = row.get(2);
    let day = inv
        .checked_neg()
        .and_then(codec::from_day_number)
        .ok_or_else(|| corrupt(&format!("{uscc}/{id}"), "bad decision day"))?;
    Ok(DisclosureCursor::at(day, uscc, id))
}
