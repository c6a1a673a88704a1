//! The PostgreSQL store at scale (`src/store/postgres/`): a big batch written with `COPY`
//! into staging tables stores exactly what small batches (arrays) and the sled store store,
//! the public disclosure table follows every write and is filled when a version-1 database
//! is opened, and the write time of a record version follows the commit order, so that
//! what the store "knew at T" never changes once asked.

use std::time::Duration;

use chrono::Utc;
use credit_rules::record::{CreditRecord, RecordKind, Uscc};
use credit_rules::store::{
    DisclosureCursor, DisclosureEntry, DisclosureFilter, EventKind, PgStore, PutSummary,
    RecordEvent, RecordStore, Records, SledStore,
};

use crate::common::{PgTestStore, code, day, pg_execute, pg_url, record};

/// Every entry of the list as of `as_of`, following the cursors.
fn all_pages(store: &dyn RecordStore, as_of: &str, limit: usize) -> Vec<DisclosureEntry> {
    let filter = DisclosureFilter::new(day(as_of), day(as_of));
    let mut out = Vec::new();
    let mut cursor: Option<DisclosureCursor> = None;
    loop {
        let page = store
            .disclosure_page(&filter, cursor.as_ref(), limit)
            .expect("page");
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// 40 entities, 320 records of every kind; some named, some with an authority.
fn batch() -> Vec<CreditRecord> {
    (0..320u32)
        .map(|n| {
            let uscc = code(5_000 + n % 40);
            let kind = RecordKind::ALL[n as usize % RecordKind::ALL.len()];
            let decided = format!("2023-{:02}-{:02}", 1 + n % 12, 1 + n % 28);
            let mut r = record(&format!("BULK-{n:04}"), &uscc, kind, &decided);
            if n % 3 == 0 {
                r.entity_name = Some(format!("第{}建设有限公司", n % 40));
            }
            if n % 2 == 0 {
                r.authority = Some("武汉市水务局".into());
            }
            r
        })
        .collect()
}

/// What a store holds after the scenario: per entity its records and histories (revisions
/// and records, not the write times), and the public list on two days.
type Contents = (
    Vec<(Vec<CreditRecord>, Vec<Vec<(u32, CreditRecord)>>)>,
    Vec<DisclosureEntry>,
    Vec<DisclosureEntry>,
);

fn contents(store: &dyn RecordStore, usccs: &[Uscc]) -> Contents {
    let per_entity = usccs
        .iter()
        .map(|uscc| {
            let records = store.records_of(uscc).expect("records");
            let histories = records
                .iter()
                .map(|r| {
                    store
                        .record_history(uscc, &r.id)
                        .expect("history")
                        .into_iter()
                        .map(|v| (v.rev, v.record))
                        .collect()
                })
                .collect();
            (records, histories)
        })
        .collect();
    (
        per_entity,
        all_pages(store, "2024-06-01", 50),
        all_pages(store, "2023-06-15", 7),
    )
}

fn summary_counts(s: &PutSummary) -> (usize, usize, usize, usize, usize, Vec<usize>) {
    (
        s.inserted,
        s.updated,
        s.unchanged,
        s.pending_applied,
        s.pending_refused.len(),
        s.rejected.iter().map(|(n, _)| *n).collect(),
    )
}

/// Events before their records, a big batch (with one record twice and a bad one), then
/// a second big batch that changes, repairs or changes the kind of many; `chunk` is the
/// batch size the records are put with.
fn scenario(
    store: &dyn RecordStore,
    chunk: usize,
) -> Vec<(usize, usize, usize, usize, usize, Vec<usize>)> {
    let mut records = batch();
    let early: Vec<RecordEvent> = (0..320u32)
        .step_by(9)
        .map(|n| RecordEvent {
            record_id: format!("BULK-{n:04}"),
            kind: if n % 2 == 0 {
                EventKind::Repair
            } else {
                EventKind::Revoke
            },
            date: day("2024-02-01"),
            authority: Some("武汉市信用办".into()),
            note: None,
        })
        .collect();
    store.apply_events(&early).expect("early events");
    let mut twice = records[5].clone();
    twice.amount = Some(rust_decimal::Decimal::new(125, 1));
    records.push(twice);
    let mut bad = records[6].clone();
    bad.id = "BULK-BAD".into();
    bad.disclosure_until = Some(day("2000-01-01"));
    records.push(bad);
    let mut summaries = Vec::new();
    for part in records.chunks(chunk) {
        summaries.push(summary_counts(&store.put_records(part).expect("put")));
    }
    let changed: Vec<CreditRecord> = batch()
        .into_iter()
        .enumerate()
        .filter(|(n, _)| n % 4 != 1)
        .map(|(n, mut r)| {
            match n % 4 {
                0 => r.document_no = Some(format!("武水罚〔2024〕{n}号")),
                2 => r.kind = RecordKind::Commendation,
                _ => r.decided_on = day("2024-03-03"),
            }
            if r.kind == RecordKind::SectorGrade {
                r.grade = Some("AA".into());
            }
            r
        })
        .collect();
    for part in changed.chunks(chunk) {
        summaries.push(summary_counts(
            &store.put_records(part).expect("put changes"),
        ));
    }
    let repairs: Vec<RecordEvent> = (0..320u32)
        .step_by(7)
        .map(|n| RecordEvent {
            record_id: format!("BULK-{n:04}"),
            kind: EventKind::Repair,
            date: day("2024-04-01"),
            authority: None,
            note: Some("信用修复".into()),
        })
        .collect();
    store.apply_events(&repairs).expect("repairs");
    summaries
}

#[test]
fn a_copy_batch_stores_what_small_batches_and_sled_store() {
    let usccs: Vec<Uscc> = (0..40).map(|n| code(5_000 + n)).collect();
    let sled = SledStore::open_temporary().expect("sled");
    let (bulk, small) = (PgTestStore::new(), PgTestStore::new());
    // One batch of 322 records (through COPY), and batches of 10 (arrays).
    let sled_summaries = scenario(&sled, 1_000);
    let bulk_summaries = scenario(&*bulk, 1_000);
    let _ = scenario(&*small, 10);
    assert_eq!(bulk_summaries, sled_summaries);
    let expected = contents(&sled, &usccs);
    assert!(expected.1.len() > 20, "the scenario lists records");
    assert_eq!(contents(&*bulk, &usccs), expected, "COPY batches");
    assert_eq!(contents(&*small, &usccs), expected, "small batches");
}

#[test]
fn opening_a_version_1_database_fills_the_public_list() {
    let store = PgTestStore::new();
    let records = batch();
    store.put_records(&records).expect("put");
    store
        .apply_event("BULK-0000", EventKind::Repair, day("2024-01-01"))
        .expect("repair");
    let before = (
        all_pages(&*store, "2024-06-01", 50),
        all_pages(&*store, "2023-06-15", 9),
    );
    assert!(!before.0.is_empty());
    // What a build of schema version 1 leaves: no list table.
    pg_execute(
        store.schema(),
        "DROP TABLE public_disclosure; DELETE FROM schema_migrations WHERE version = 2",
    );
    let reopened = PgStore::open_in_schema(&pg_url(), store.schema()).expect("reopen migrates");
    let after = (
        all_pages(&reopened, "2024-06-01", 50),
        all_pages(&reopened, "2023-06-15", 9),
    );
    assert_eq!(after, before);
}

/// A connection of the test's own to the store's database, with a runtime to drive it.
struct Probe {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    schema: String,
}

impl Probe {
    fn new(schema: &str) -> Probe {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(connection);
            client
        });
        Probe {
            runtime,
            client,
            schema: schema.to_owned(),
        }
    }

    fn execute(&self, statement: &str) {
        let key = format!("{}:records", self.schema);
        self.runtime.block_on(async {
            self.client
                .execute(statement, &[&key])
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        });
    }

    /// Holds the schema's record-write lock, as a writer in the middle of a batch would.
    fn lock(&self) {
        self.execute("SELECT pg_advisory_lock(hashtext($1))");
    }

    fn unlock(&self) {
        self.execute("SELECT pg_advisory_unlock(hashtext($1))");
    }

    /// Waits until `n` sessions wait for the record-write lock.
    fn wait_for_waiters(&self, n: i64) {
        let key = format!("{}:records", self.schema);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let waiting: i64 = self.runtime.block_on(async {
                self.client
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
                         AND NOT granted AND objid = (hashtext($1)::bigint & 4294967295)::oid",
                        &[&key],
                    )
                    .await
                    .expect("pg_locks")
                    .get(0)
            });
            if waiting >= n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{waiting} of {n} sessions wait for the lock"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_version_written_after_t_is_not_known_at_t_even_if_it_was_sent_before() {
    let store = PgTestStore::new();
    let uscc = code(6_001);
    let first = record("KNOWN-1", &uscc, RecordKind::AdminPenalty, "2024-01-10");
    store
        .put_records(std::slice::from_ref(&first))
        .expect("put");
    let probe = Probe::new(store.schema());
    probe.lock();
    let mut second = first.clone();
    second.amount = Some(rust_decimal::Decimal::new(3, 0));
    std::thread::scope(|scope| {
        // Sent now, written once the lock is free.
        let writer = scope.spawn(|| store.put_records(&[second.clone()]).expect("put"));
        probe.wait_for_waiters(1);
        // What an evaluation reads at T (the write is not committed) and logs as known at T.
        let t = Utc::now();
        let read_at_t = store.records_of(&uscc).expect("read");
        assert_eq!(read_at_t, std::slice::from_ref(&first));
        while Utc::now().timestamp_millis() <= t.timestamp_millis() {
            std::thread::yield_now();
        }
        probe.unlock();
        assert_eq!(writer.join().expect("writer").updated, 1);
        // Replaying at T gives what was read at T; now, the new version.
        assert_eq!(
            store.records_known_at(&uscc, t).expect("known at t"),
            read_at_t
        );
        assert_eq!(
            store
                .records_known_at(&uscc, Utc::now())
                .expect("known now"),
            [second.clone()]
        );
        let history = store.record_history(&uscc, "KNOWN-1").expect("history");
        assert_eq!(history.len(), 1);
        assert!(history[0].stored_at <= t);
    });
}

#[test]
fn asking_what_was_known_waits_for_the_write_being_committed() {
    let store = PgTestStore::new();
    let uscc = code(6_002);
    let first = record("KNOWN-2", &uscc, RecordKind::AdminPenalty, "2024-01-10");
    store
        .put_records(std::slice::from_ref(&first))
        .expect("put");
    let mut second = first.clone();
    second.amount = Some(rust_decimal::Decimal::new(4, 0));
    let probe = Probe::new(store.schema());
    probe.lock();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| store.put_records(&[second.clone()]).expect("put"));
        probe.wait_for_waiters(1);
        // A reader asking about a time after the write will be stamped: it must see it.
        let later = Utc::now() + chrono::Duration::hours(1);
        let (store, uscc) = (&*store, &uscc);
        let reader = scope.spawn(move || store.records_known_at(uscc, later).expect("read"));
        probe.wait_for_waiters(2);
        probe.unlock();
        writer.join().expect("writer");
        assert_eq!(reader.join().expect("reader"), [second.clone()]);
    });
}
