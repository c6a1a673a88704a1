//! The [`RecordStore`] on PostgreSQL (15 or later), for a city or province that runs several
//! `serve` replicas on one database, and, distributed by USCC, on Citus for the whole
//! country (`docs/deployment.md`).
//!
//! # Driver and the synchronous trait
//!
//! [`tokio-postgres`](https://docs.rs/tokio-postgres) with a [`deadpool_postgres`] pool. The
//! store trait is synchronous and is called from `spawn_blocking` threads, from plain
//! threads (the importer, rayon workers of the impact analysis) and now and then from an
//! async task (the flush when the server stops). So the store owns a small runtime of its
//! own (two worker threads) that drives the sockets, and every call waits for its future
//! with a minimal executor that parks the calling thread ([`PgStore::run`]): it never calls
//! `Runtime::block_on`, so it cannot panic with "cannot start a runtime from within a
//! runtime" whichever thread calls it. The connections' tasks run on the store's runtime.
//!
//! # Schema
//!
//! Versioned migrations embedded in the binary ([`sql::MIGRATIONS`]), applied at opening in
//! one transaction under an advisory lock (two replicas starting together migrate once). A
//! database whose schema is newer than this build is refused, naming both versions
//! ([`StoreError::UnsupportedFormat`]). The tables live in the connection's current schema
//! (the first of `search_path`: give `?options=-csearch_path%3Dname` in the URL to use
//! another one; tests use one schema each).
//!
//! | table | key | holds |
//! |---|---|---|
//! | `records` | `(uscc, id)` | the current version: `stored` is the same postcard value as sled's `records` tree (source record, repair and revocation events, dates); `eval` the record's evaluation form (sled's `entity_eval` entry); `kind`, `decided_on` as columns for the indexes; `known_at` the commit time |
//! | `record_history` | `(uscc, id, rev)` | previous versions |
//! | `record_ids` | `id` | the owning USCC: ids are unique across the store, and events name only the id |
//! | `entities` | `uscc` | latest name, kind |
//! | `pending_events` | `(record_id, kind)` | events that came before their record |
//! | `ruleset_versions`, `ruleset_log` | hash; `(ruleset_id, seq)` | content-addressed versions and each rule set's log |
//! | `drafts` | `id` | a draft's postcard value with a `row_version` for the compare-and-swap |
//! | `cursors` | `name` | intake cursors |
//! | `public_disclosure` | `(uscc, id)` | the public list's line of each record that may be published, index `(inv_day, uscc, id)` in list order (`postgres/disclosure.rs`; schema version 2, filled from the records when a version-1 database is opened) |
//! | `decisions` | `(seq, time)` | the decision log, **partitioned by month** (`decisions_yYYYYmMM`, created on demand under an advisory lock); a GIN index on the entities |
//!
//! The evaluation view is a column of `records`, so it is written in the same row as the
//! record and cannot disagree with it; the impact scan reads it in `(uscc, id)` order.
//! Tokens are not in the database: they stay in the token file beside each `serve`.
//!
//! # Writes
//!
//! Every mutating call commits before it returns (PostgreSQL's default
//! `synchronous_commit = on`: the commit is in the WAL on disk), so nothing acknowledged is
//! lost when a process is killed. Record writes (records, events, pending events, the id
//! index) take one transaction-scoped advisory lock per schema: they are serialised across
//! replicas like sled serialises its transactions within its process, while reads never
//! wait (except [`RecordStore::records_known_at`], which waits for the batch being
//! committed). A batch's write time is the database's clock read once the lock is held, so
//! write times follow the commit order on every replica. A batch reads what it needs in a
//! few statements (planned as index probes: `sql::PREFER_INDEXES`), decides every record
//! in memory with the same rules as the sled store, and writes each table with one
//! statement: from 64 rows on (an import batch), `COPY … FROM STDIN (FORMAT binary)` —
//! the records new to the database straight into their tables, encoded row by row while
//! the server stores the rows before, the others into the session's temporary staging
//! tables, then one merge per table; below, `unnest` of arrays.
//!
//! # Replicas
//!
//! Writes announce themselves with `NOTIFY` (sent on commit). Each store listens on one
//! dedicated connection: a change of records empties its entity cache; every change is
//! passed to the watchers registered with [`RecordStore::watch_changes`] (the server
//! reloads its live rule sets from there), so a version published through one replica is
//! live on the others as soon as the notification arrives. Drafts change only by a
//! compare-and-swap on their row version, so two replicas approving at once cannot both
//! succeed.

mod decisions;
mod disclosure;
mod fill;
mod records;
pub mod sql;
mod versions;

use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, Wake};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::{AsyncMessage, NoTls};

use super::{
    DecisionEntry, DecisionQuery, DisclosureCursor, DisclosureFilter, DisclosurePage, Draft,
    DraftQuery, DraftTransition, Entity, EntityCache, EntityRecords, EvaluationEntity, EventKind,
    EventOutcome, LoggedDecision, NewDraft, NewRuleSetVersion, PendingEvent, PendingPage,
    PutSummary, PutVersion, RecordEvent, RecordVersion, RuleSetVersion, StoreChange, StoreError,
    UsccRange, codec,
};
use crate::record::{CreditRecord, RecordKind, Uscc};

/// Sampled entities per range below which [`super::Records::evaluation_ranges`] cuts exactly.
const MIN_SAMPLE_PER_RANGE: usize = 50;

/// Connections in the pool of one store.
const POOL_SIZE: usize = 16;

/// A change watcher ([`RecordStore::watch_changes`]).
type Watcher = Box<dyn Fn(StoreChange) + Send + Sync>;

/// The [`RecordStore`] on PostgreSQL (see the module docs).
pub struct PgStore {
    /// The URL without its password, for messages.
    location: String,
    pool: Pool,
    /// The connection settings (the notification connection is opened with them).
    config: tokio_postgres::Config,
    /// Drives the connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// The schema the tables are in (the notifications carry it).
    schema: String,
    /// Opened by [`PgStore::open_in_schema`]: the schema is the store's own.
    own_schema: bool,
    /// Months of the decision log whose partition is known to exist.
    partitions: Mutex<HashSet<i32>>,
    /// Decoded records of recently read entities.
    cache: Arc<EntityCache>,
    watchers: Arc<RwLock<Vec<Watcher>>>,
    /// Lines one page of the public list may look at ([`super::SCAN_BUDGET`]).
    disclosure_budget: AtomicUsize,
    /// Matching entities a list query reads entity by entity ([`super::MERGE_MAX_ENTITIES`]).
    disclosure_merge_max: AtomicUsize,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.pool.close();
        if let Some(runtime) = self.runtime.take() {
            // Allowed in an async context too, unlike dropping the runtime.
            runtime.shutdown_background();
        }
    }
}

/// Wakes a parked thread.
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls a future to completion on this thread, parking between polls.
fn park_on<F: Future>(future: F) -> F::Output {
    let waker = Arc::new(ThreadWaker(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// The URL without its password.
pub(super) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or the key=value
    /// form) and applies the schema migrations.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let location = redacted(url);
        let config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Backend {
            path: location.clone(),
            message: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        PgStore::open_config(config, location)
    }

    /// Connects like [`PgStore::open`] but keeps the tables in `schema` (created when
    /// missing): one database can then hold several independent stores (tests use one
    /// schema each).
    pub fn open_in_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        let location = format!("{} (schema {schema})", redacted(url));
        let valid = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::Backend {
                path: location,
                message: "a schema name is lower-case letters, digits and `_`".into(),
            });
        }
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Backend {
            path: location.clone(),
            message: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        config.options(format!("-c search_path={schema}"));
        let mut store = PgStore::connect(config, location.clone())?;
        store.own_schema = true;
        store.run(async {
            let client = store.client().await?;
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(|e| store.backend(e))
        })?;
        store.prepare()
    }

    fn open_config(
        config: tokio_postgres::Config,
        location: String,
    ) -> Result<PgStore, StoreError> {
        PgStore::connect(config, location)?.prepare()
    }

    /// The pool and the runtime, no query yet.
    fn connect(config: tokio_postgres::Config, location: String) -> Result<PgStore, StoreError> {
        let backend = |message: String| StoreError::Backend {
            path: location.clone(),
            message,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("credit-rules-pg")
            .enable_all()
            .build()
            .map_err(|e| backend(format!("cannot start the database runtime: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| backend(format!("cannot build the connection pool: {e}")))?;
        Ok(PgStore {
            location,
            pool,
            config,
            runtime: Some(runtime),
            schema: String::new(),
            own_schema: false,
            partitions: Mutex::new(HashSet::new()),
            cache: Arc::new(EntityCache::default()),
            watchers: Arc::new(RwLock::new(Vec::new())),
            disclosure_budget: AtomicUsize::new(super::SCAN_BUDGET),
            disclosure_merge_max: AtomicUsize::new(super::MERGE_MAX_ENTITIES),
        })
    }

    /// Migrates the schema and starts listening for the other replicas' changes.
    fn prepare(mut self) -> Result<PgStore, StoreError> {
        self.schema = self.run(self.migrate())?;
        self.listen()?;
        Ok(self)
    }

    /// The schema the tables are in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Drops the schema of a store opened with [`PgStore::open_in_schema`], with every
    /// table in it (tests clean up with it); refused for any other store.
    pub fn drop_schema(&self) -> Result<(), StoreError> {
        if !self.own_schema {
            return Err(self.backend("only a store opened in a schema of its own drops it"));
        }
        let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        self.run(async {
            let client = self.client().await?;
            client
                .batch_execute(&statement)
                .await
                .map_err(|e| self.backend(e))
        })
    }

    /// Waits for `future`, run with the store's runtime as the current one (its sockets and
    /// spawned tasks belong to that runtime, whose threads drive them).
    pub(crate) fn run<F: Future>(&self, future: F) -> F::Output {
        let _entered = self.runtime.as_ref().map(|r| r.enter());
        park_on(future)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Backend {
            path: self.location.clone(),
            message: format!("cannot connect: {e}"),
        })
    }

    pub(crate) fn backend(&self, e: impl fmt::Display) -> StoreError {
        StoreError::Backend {
            path: self.location.clone(),
            message: e.to_string(),
        }
    }

    /// Applies the migrations this database lacks; returns the schema name.
    async fn migrate(&self) -> Result<String, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.backend(e))?;
        let schema: Option<String> = tx
            .query_one(sql::CURRENT_SCHEMA, &[])
            .await
            .map_err(|e| self.backend(e))?
            .get(0);
        let Some(schema) = schema else {
            return Err(self.backend(
                "no schema to create the tables in (the search_path names none that exists); \
                 create it or fix the options in the URL",
            ));
        };
        tx.batch_execute(sql::CREATE_MIGRATIONS_TABLE)
            .await
            .map_err(|e| self.backend(e))?;
        tx.execute(sql::LOCK_MIGRATIONS, &[])
            .await
            .map_err(|e| self.backend(e))?;
        let applied: Option<i32> = tx
            .query_one(sql::SCHEMA_VERSION_APPLIED, &[])
            .await
            .map_err(|e| self.backend(e))?
            .get(0);
        let applied = applied.unwrap_or(0);
        if applied > sql::SCHEMA_VERSION {
            return Err(StoreError::UnsupportedFormat {
                path: self.location.clone(),
                found: u32::try_from(applied).unwrap_or(u32::MAX),
                supported: sql::SCHEMA_VERSION.unsigned_abs(),
            });
        }
        for (version, statements) in sql::MIGRATIONS {
            if *version <= applied {
                continue;
            }
            tx.batch_execute(statements)
                .await
                .map_err(|e| self.backend(format!("schema migration {version} failed: {e}")))?;
            if *version == 2 {
                // The public list of the records stored before it existed.
                let filled = disclosure::fill_from_records(&tx).await.map_err(|e| {
                    self.backend(format!("schema migration 2 (the public list) failed: {e}"))
                })?;
                if filled > 0 {
                    tracing::info!(store = %self.location, lines = filled, "the public disclosure list was filled from the records");
                }
            }
            tx.execute(sql::NOTE_MIGRATION, &[version])
                .await
                .map_err(|e| self.backend(e))?;
        }
        tx.commit().await.map_err(|e| self.backend(e))?;
        Ok(schema)
    }

    /// Opens the notification connection: a task on the store's runtime that empties the
    /// entity cache on record changes and calls the watchers, reconnecting after a loss.
    fn listen(&self) -> Result<(), StoreError> {
        let config = self.config.clone();
        let schema = self.schema.clone();
        let cache = self.cache.clone();
        let watchers = self.watchers.clone();
        let location = self.location.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let Some(runtime) = self.runtime.as_ref() else {
            return Ok(());
        };
        runtime.spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                match listen_once(&config, &schema, &cache, &watchers, &mut ready).await {
                    Ok(()) => {}
                    Err(e) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(Err(e));
                            return;
                        }
                        tracing::warn!(store = %location, error = %e, "lost the notification connection; reconnecting");
                    }
                }
                // Changes may have been missed meanwhile.
                cache.forget_all();
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.backend(format!("cannot listen for changes: {e}"))),
            Err(_) => Err(self.backend("the notification task stopped")),
        }
    }

    /// Announces a change to the other replicas (within the caller's transaction: sent on
    /// commit).
    async fn notify(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        change: StoreChange,
    ) -> Result<(), StoreError> {
        tx.execute(sql::NOTIFY, &[&change.as_str()])
            .await
            .map_err(|e| self.backend(e))?;
        Ok(())
    }
}

/// One life of the notification connection; returns when it is lost.
async fn listen_once(
    config: &tokio_postgres::Config,
    schema: &str,
    cache: &EntityCache,
    watchers: &Arc<RwLock<Vec<Watcher>>>,
    ready: &mut Option<std::sync::mpsc::Sender<Result<(), String>>>,
) -> Result<(), String> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    let (messages_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(message)) => {
                    if messages_tx.send(message).is_err() {
                        return;
                    }
                }
                Some(Err(_)) | None => return,
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", sql::CHANNEL))
        .await
        .map_err(|e| e.to_string())?;
    if let Some(ready) = ready.take() {
        let _ = ready.send(Ok(()));
    }
    let prefix = format!("{schema}:");
    while let Some(message) = messages.recv().await {
        let AsyncMessage::Notification(note) = message else {
            continue;
        };
        let Some(change) = note
            .payload()
            .strip_prefix(&prefix)
            .and_then(StoreChange::parse)
        else {
            continue;
        };
        if change == StoreChange::Records {
            cache.forget_all();
        }
        // Watchers call the store (blocking): off the runtime's worker threads.
        let watchers = watchers.clone();
        tokio::task::spawn_blocking(move || {
            let watchers = watchers.read().unwrap_or_else(|p| p.into_inner());
            for watcher in watchers.iter() {
                watcher(change);
            }
        });
    }
    driver.abort();
    drop(client);
    Ok(())
}

impl super::Records for PgStore {
    fn put_records(&self, records: &[CreditRecord]) -> Result<PutSummary, StoreError> {
        if records.is_empty() {
            return Ok(PutSummary::default());
        }
        self.run(self.put_records_async(records))
    }

    fn apply_events(
        &self,
        events: &[RecordEvent],
    ) -> Result<Vec<Result<EventOutcome, StoreError>>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.run(self.apply_events_async(events))
    }

    fn record(&self, record_id: &str) -> Result<Option<CreditRecord>, StoreError> {
        self.run(self.record_async(record_id))
    }

    fn records_of(&self, uscc: &Uscc) -> Result<Vec<CreditRecord>, StoreError> {
        self.run(self.records_of_async(uscc))
    }

    fn records_of_shared(&self, uscc: &Uscc) -> Result<Arc<[CreditRecord]>, StoreError> {
        self.records_of_cached(uscc)
    }

    fn entity(&self, uscc: &Uscc) -> Result<Option<Entity>, StoreError> {
        self.run(self.entity_async(uscc))
    }

    fn records_known_at(
        &self,
        uscc: &Uscc,
        known_at: DateTime<Utc>,
    ) -> Result<Vec<CreditRecord>, StoreError> {
        self.run(self.records_known_at_async(uscc, known_at))
    }

    fn record_history(&self, uscc: &Uscc, id: &str) -> Result<Vec<RecordVersion>, StoreError> {
        self.run(self.history_async(uscc, id))
    }

    fn scan_entities(&self) -> Box<dyn Iterator<Item = EntityRecords> + '_> {
        Box::new(records::entities(self.stream(sql::SCAN_RECORDS, None)))
    }

    fn scan_for_evaluation(
        &self,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        Box::new(records::evaluation_entities(
            self.stream(sql::SCAN_EVAL, None),
        ))
    }

    /// Cut at the quantiles of a 1 % sample of the `entities` table (about as many
    /// entities in each range); a store too small for a useful sample is cut exactly, by
    /// `ntile` over the table in key order.
    fn evaluation_ranges(&self, parts: usize) -> Result<Vec<UsccRange>, StoreError> {
        if parts < 2 {
            return Ok(vec![UsccRange::all()]);
        }
        let points = self.run(async {
            let db = |e: tokio_postgres::Error| self.backend(e);
            let client = self.client().await?;
            let mut sample: Vec<String> = client
                .query(sql::EVALUATION_SAMPLE, &[])
                .await
                .map_err(db)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if sample.len() >= parts * MIN_SAMPLE_PER_RANGE {
                sample.sort();
                return Ok((1..parts)
                    .map(|i| sample[i * sample.len() / parts].clone())
                    .collect());
            }
            let exact = i32::try_from(parts).unwrap_or(i32::MAX);
            let rows = client
                .query(sql::EVALUATION_SPLITS, &[&exact])
                .await
                .map_err(db)?;
            Ok::<Vec<String>, StoreError>(rows.iter().map(|row| row.get(0)).collect())
        })?;
        Ok(UsccRange::split_at(points))
    }

    /// One row per entity (its records' evaluation forms concatenated by the server), read
    /// on a connection and in a transaction of its own.
    fn scan_for_evaluation_in(
        &self,
        range: &UsccRange,
    ) -> Box<dyn Iterator<Item = Result<EvaluationEntity, StoreError>> + '_> {
        let from = range.from.clone().unwrap_or_default();
        let setup = Some(sql::RANGE_SCAN_SETTINGS);
        let rows = match range.to.clone() {
            Some(to) => self.stream_with(
                setup,
                sql::SCAN_EVAL_RANGE,
                vec![Box::new(from), Box::new(to)],
            ),
            None => self.stream_with(setup, sql::SCAN_EVAL_FROM, vec![Box::new(from)]),
        };
        Box::new(records::evaluation_rows(rows))
    }

    fn records_of_kind(
        &self,
        kind: RecordKind,
    ) -> Box<dyn Iterator<Item = Result<CreditRecord, StoreError>> + '_> {
        let rows = self.stream(sql::RECORDS_OF_KIND, Some(records::kind_column(kind)));
        Box::new(rows.map(|row| records::record_row(&row?).map(|(_, record)| record)))
    }

    fn disclosure_page(
        &self,
        filter: &DisclosureFilter,
        after: Option<&DisclosureCursor>,
        limit: usize,
    ) -> Result<DisclosurePage, StoreError> {
        self.run(self.disclosure_page_async(filter, after, limit))
    }

    fn pending_events(&self, after: Option<&str>, limit: usize) -> Result<PendingPage, StoreError> {
        self.run(self.pending_page_async(after, limit))
    }
}

impl super::Versions for PgStore {
    fn put_ruleset_version(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError> {
        self.run(self.put_version_async(version))
    }

    fn ruleset_version(&self, hash: &str) -> Result<Option<RuleSetVersion>, StoreError> {
        self.run(self.version_async(hash))
    }

    fn ruleset_versions(&self, ruleset_id: &str) -> Result<Vec<RuleSetVersion>, StoreError> {
        self.run(self.versions_async(ruleset_id))
    }

    fn ruleset_ids(&self) -> Result<Vec<String>, StoreError> {
        self.run(self.ruleset_ids_async())
    }
}

impl super::Cursors for PgStore {
    fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.run(self.cursor_async(name))
    }

    fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.run(self.set_cursor_async(name, value))
    }

    fn swap_cursor(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, StoreError> {
        self.run(self.swap_cursor_async(name, expected, value))
    }
}

impl super::DecisionLog for PgStore {
    fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<Vec<u64>, StoreError> {
        self.run(self.append_decisions_async(entries))
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        self.run(self.decisions_async(query))
    }
}

impl super::RecordStore for PgStore {
    fn flush(&self) -> Result<(), StoreError> {
        // Every write committed before it returned.
        Ok(())
    }

    fn watch_changes(&self, watcher: Box<dyn Fn(StoreChange) + Send + Sync>) {
        self.watchers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(watcher);
    }
}

impl super::DraftStore for PgStore {
    fn put_draft(&self, draft: &NewDraft<'_>) -> Result<Draft, StoreError> {
        self.run(self.put_draft_async(draft))
    }

    fn draft(&self, id: u64) -> Result<Option<Draft>, StoreError> {
        self.run(self.draft_async(id))
    }

    fn drafts(&self, query: &DraftQuery) -> Result<Vec<Draft>, StoreError> {
        self.run(self.drafts_async(query))
    }

    fn update_draft(&self, id: u64, transition: &DraftTransition<'_>) -> Result<Draft, StoreError> {
        self.run(self.update_draft_async(id, transition))
    }
}

impl PgStore {
    /// A page of pending events after the cursor (the hex of `record id ‖ 0x00 ‖ kind`, as
    /// the sled store's).
    async fn pending_page_async(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<PendingPage, StoreError> {
        let (after_id, after_kind) = match after {
            Some(cursor) => pending_position(cursor).ok_or_else(|| {
                StoreError::InvalidQuery(format!(
                    "`{cursor}` is not a cursor of this list; pass the `next_cursor` of the \
                     previous page unchanged"
                ))
            })?,
            None => (String::new(), -1),
        };
        let fetch = i64::try_from(limit)
            .unwrap_or(i64::MAX - 1)
            .saturating_add(1);
        let client = self.client().await?;
        let rows = client
            .query(sql::PENDING_PAGE, &[&after_id, &after_kind, &fetch])
            .await
            .map_err(|e| self.backend(e))?;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        let mut next_cursor = None;
        for (n, row) in rows.iter().enumerate() {
            let record_id: String = row.get(0);
            let kind: i16 = row.get(1);
            if n == limit {
                let last = items.last().map(|e: &PendingEvent| {
                    let code = u8::from(e.kind == EventKind::Revoke);
                    let mut key = e.record_id.as_bytes().to_vec();
                    key.extend([0, code]);
                    codec::hex(&key)
                });
                next_cursor = last;
                break;
            }
            let day: i32 = row.get(2);
            items.push(PendingEvent {
                record_id: record_id.clone(),
                kind: if kind == 0 {
                    EventKind::Repair
                } else {
                    EventKind::Revoke
                },
                date: codec::from_day_number(day).ok_or_else(|| StoreError::Corrupt {
                    tree: "pending_events",
                    key: format!("`{record_id}`"),
                    reason: format!("day number {day} is not a date"),
                })?,
                authority: row.get(4),
                note: row.get(5),
                received_at: row.get(3),
            });
        }
        Ok(PendingPage { items, next_cursor })
    }
}

/// The (record id, kind) a pending-events cursor names.
fn pending_position(cursor: &str) -> Option<(String, i16)> {
    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return None;
    }
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    match bytes.as_slice() {
        [id @ .., 0, kind @ (0 | 1)] => {
            Some((String::from_utf8(id.to_vec()).ok()?, i16::from(*kind)))
        }
        _ => None,
    }
}
