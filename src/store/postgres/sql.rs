//! Every SQL statement of the PostgreSQL backend, in one place: the schema migrations and
//! the queries. Keeping them here lets a test read them all and check the scale-out rule of
//! `docs/deployment.md`: every statement on a per-entity table (distributed by `uscc` under
//! Citus) names `uscc` in its `WHERE` clause or its key, so that it can be routed to one shard.

/// The schema, as numbered migrations applied in order at start (never edit a shipped one:
/// append a new one). The database records the versions applied in `schema_migrations`.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, MIGRATION_1), (2, MIGRATION_2)];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Version 1: records, history, entities, id index, pending events, rule-set versions and
/// log, cursors, drafts, the decision log partitioned by month.
const MIGRATION_1: &str = r#"
CREATE TABLE entities (
    uscc text COLLATE "C" PRIMARY KEY,
    name text,
    kind smallint NOT NULL
);

CREATE TABLE record_ids (
    id text COLLATE "C" PRIMARY KEY,
    uscc text COLLATE "C" NOT NULL
);

CREATE TABLE records (
    uscc text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    rev integer NOT NULL,
    kind smallint NOT NULL,
    decided_on date NOT NULL,
    stored_at timestamptz NOT NULL,
    known_at timestamptz NOT NULL DEFAULT now(),
    stored bytea NOT NULL,
    eval bytea NOT NULL,
    PRIMARY KEY (uscc, id)
);
CREATE INDEX records_by_kind ON records (kind, uscc, id);

CREATE TABLE record_history (
    uscc text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    rev integer NOT NULL,
    stored_at timestamptz NOT NULL,
    known_at timestamptz NOT NULL DEFAULT now(),
    stored bytea NOT NULL,
    PRIMARY KEY (uscc, id, rev)
);

CREATE TABLE pending_events (
    record_id text COLLATE "C" NOT NULL,
    kind smallint NOT NULL,
    day integer NOT NULL,
    received_at timestamptz NOT NULL,
    known_at timestamptz NOT NULL DEFAULT now(),
    authority text,
    note text,
    PRIMARY KEY (record_id, kind)
);

CREATE TABLE ruleset_versions (
    hash bytea PRIMARY KEY,
    ruleset_id text COLLATE "C" NOT NULL,
    source text NOT NULL,
    author text NOT NULL,
    time timestamptz NOT NULL,
    message text NOT NULL,
    parent bytea
);

CREATE TABLE ruleset_log (
    ruleset_id text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    hash bytea NOT NULL REFERENCES ruleset_versions (hash),
    PRIMARY KEY (ruleset_id, seq)
);

CREATE TABLE cursors (
    name text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE SEQUENCE draft_ids;
CREATE TABLE drafts (
    id bigint PRIMARY KEY,
    row_version bigint NOT NULL,
    ruleset_id text COLLATE "C" NOT NULL,
    status smallint NOT NULL,
    value bytea NOT NULL
);

CREATE SEQUENCE decision_seq;
CREATE TABLE decisions (
    seq bigint NOT NULL,
    time timestamptz NOT NULL,
    ruleset_id text COLLATE "C" NOT NULL,
    usccs text[] NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (seq, time)
) PARTITION BY RANGE (time);
CREATE INDEX decisions_by_ruleset ON decisions (ruleset_id, seq);
CREATE INDEX decisions_by_entity ON decisions USING gin (usccs);
CREATE INDEX decisions_by_seq ON decisions (seq);
"#;

/// Version 2: the public disclosure list (向社会公示) as a table of its own, one row per
/// record that may be published (dishonesty kind, never repaired nor revoked), written in
/// the same transaction as the record; `inv_day` is minus the decision's day number, so
/// that the index `(inv_day, uscc, id)` runs in list order (newest decision first, then
/// USCC, then id) and a page is a keyset range of it. Opening a version-1 database fills it
/// from the records (`PgStore::migrate`: the record values are decoded in Rust).
const MIGRATION_2: &str = r#"
CREATE TABLE public_disclosure (
    uscc text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    inv_day integer NOT NULL,
    decided_on date NOT NULL,
    kind smallint NOT NULL,
    counts_from date NOT NULL,
    disclosure_until date,
    name text,
    authority text,
    document_no text,
    legal_basis text,
    PRIMARY KEY (uscc, id)
);
CREATE INDEX public_disclosure_list ON public_disclosure (inv_day, uscc, id);
"#;

/// The table of applied migrations.
pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
/// Serialises migrations of one schema across processes (transaction-scoped).
pub const LOCK_MIGRATIONS: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':migrations'))";
/// The newest version applied.
pub const SCHEMA_VERSION_APPLIED: &str = "SELECT max(version) FROM schema_migrations";
/// Notes a migration as applied.
pub const NOTE_MIGRATION: &str = "INSERT INTO schema_migrations (version) VALUES ($1)";
/// Creates the schema named in a test or deployment URL.
pub const CURRENT_SCHEMA: &str = "SELECT current_schema()";

/// Serialises the record writes of one schema across processes (transaction-scoped): the
/// id index, the pending events and the records change together.
pub const LOCK_RECORD_WRITES: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':records'))";
/// The planner setting of a record-write transaction: its reads (the owners of a batch's
/// ids, the stored versions of its keys, its pending events) look up thousands of keys it
/// names, which the planner, counting the keys, would rather find by scanning the whole
/// table (a parallel scan of every id for each batch, longer as the store grows); with
/// sequential scans discouraged they are index probes (at 1M records, the owners of 10,000
/// ids: 64 ms by scan, 10 ms by index). Writes from the staging tables still scan those.
pub const PREFER_INDEXES: &str = "SET LOCAL enable_seqscan = off";
/// The write time of a batch, read once [`LOCK_RECORD_WRITES`] is held: the database's
/// clock (one clock for every replica), and, the writes being serialised by the lock, in
/// the order of their commits.
pub const WRITE_TIME: &str = "SELECT clock_timestamp()";
/// Waits for the record write in progress, if any (shares the lock of
/// [`LOCK_RECORD_WRITES`]): a reader asking what the store knew at a time sees every write
/// whose write time is not later, even one that was committing when it asked.
pub const WAIT_RECORD_WRITES: &str =
    "SELECT pg_advisory_xact_lock_shared(hashtext(current_schema() || ':records'))";

// --- records (per entity: `uscc` in every key and filter) --------------------------------

/// The owners of record ids (the id index is keyed by id, a single-shard lookup too).
pub const OWNERS_OF_IDS: &str = "SELECT id, uscc FROM record_ids WHERE id = ANY($1)";
/// Adds ids to the index.
pub const INSERT_IDS: &str = "INSERT INTO record_ids (id, uscc) \
     SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO NOTHING";
/// The stored versions of records, by (uscc, id), locked for the transaction.
pub const STORED_OF_KEYS: &str = "SELECT r.uscc, r.id, r.stored FROM records r \
     JOIN unnest($1::text[], $2::text[]) AS k(uscc, id) ON r.uscc = k.uscc AND r.id = k.id \
     WHERE r.uscc = ANY($1) FOR UPDATE OF r";
/// Writes new record versions ($9: the batch's write time).
pub const UPSERT_RECORDS: &str = "INSERT INTO records \
     (uscc, id, rev, kind, decided_on, stored_at, stored, eval, known_at) \
     SELECT *, $9::timestamptz FROM unnest($1::text[], $2::text[], $3::int[], $4::smallint[], \
     $5::date[], $6::timestamptz[], $7::bytea[], $8::bytea[]) \
     ON CONFLICT (uscc, id) DO UPDATE SET rev = EXCLUDED.rev, kind = EXCLUDED.kind, \
     decided_on = EXCLUDED.decided_on, stored_at = EXCLUDED.stored_at, \
     known_at = EXCLUDED.known_at, stored = EXCLUDED.stored, eval = EXCLUDED.eval";
/// Keeps previous record versions ($6: the batch's write time).
pub const INSERT_HISTORY: &str = "INSERT INTO record_history \
     (uscc, id, rev, stored_at, stored, known_at) \
     SELECT *, $6::timestamptz FROM unnest($1::text[], $2::text[], $3::int[], \
     $4::timestamptz[], $5::bytea[]) \
     ON CONFLICT (uscc, id, rev) DO NOTHING";
/// Creates entities or renames them (a record without a name keeps the stored one).
pub const UPSERT_ENTITIES: &str = "INSERT INTO entities (uscc, name, kind) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[]) \
     ON CONFLICT (uscc) DO UPDATE SET name = coalesce(EXCLUDED.name, entities.name)";
/// One record.
pub const RECORD: &str = "SELECT stored FROM records WHERE uscc = $1 AND id = $2";
/// An entity's records.
pub const RECORDS_OF: &str = "SELECT id, stored FROM records WHERE uscc = $1 ORDER BY id";
/// An entity.
pub const ENTITY: &str = "SELECT name, kind FROM entities WHERE uscc = $1";
/// A record's previous versions.
pub const HISTORY: &str =
    "SELECT rev, stored FROM record_history WHERE uscc = $1 AND id = $2 ORDER BY rev";
/// Every record, in (uscc, id) order, for the scans (read in portions through a cursor).
pub const SCAN_RECORDS: &str = "SELECT uscc, id, stored FROM records ORDER BY uscc, id";
/// Every record's evaluation form, in (uscc, id) order.
pub const SCAN_EVAL: &str = "SELECT uscc, eval FROM records ORDER BY uscc, id";
/// About one entity in a hundred, for cutting the key space into ranges of about as many
/// entities each (a pass over the table without sorting it; the same sample every time).
pub const EVALUATION_SAMPLE: &str =
    "SELECT uscc FROM entities TABLESAMPLE BERNOULLI (1) REPEATABLE (0)";
/// Split points of the USCC key space into `$1` ranges of about as many entities each (the
/// first USCC of each `ntile` but the first), exact, for a store too small to sample.
pub const EVALUATION_SPLITS: &str = "SELECT min(uscc) FROM \
     (SELECT uscc, ntile($1) OVER (ORDER BY uscc) AS part FROM entities) parts \
     GROUP BY part HAVING part > 1 ORDER BY 1";
/// The evaluation forms of the entities with `$1 <= uscc < $2`, one row per entity: its
/// records' forms laid end to end in id order, and how many there are.
pub const SCAN_EVAL_RANGE: &str = "SELECT uscc, string_agg(eval, ''::bytea ORDER BY id), \
     count(*) FROM records WHERE uscc >= $1 AND uscc < $2 GROUP BY uscc ORDER BY uscc";
/// Settings of a range scan's transaction: read the range along the primary key (in key
/// order, only the range's rows) on this connection alone. Left to itself the planner may
/// pick a sequential scan of the whole table with parallel workers for each range, which
/// reads the table once per range.
pub const RANGE_SCAN_SETTINGS: &str =
    "SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0";
/// The same, for the entities with `$1 <= uscc` (the last range).
pub const SCAN_EVAL_FROM: &str = "SELECT uscc, string_agg(eval, ''::bytea ORDER BY id), \
     count(*) FROM records WHERE uscc >= $1 GROUP BY uscc ORDER BY uscc";
/// Every record of a kind, in (uscc, id) order.
pub const RECORDS_OF_KIND: &str =
    "SELECT uscc, id, stored FROM records WHERE kind = $1 ORDER BY uscc, id";

// --- the public disclosure list (per entity; the list pages walk every shard) ---------------

/// Creates the session's staging tables of a bulk write when it has none (emptied at every
/// commit), quietly (no notice when they exist).
pub const CREATE_STAGING: &str = "\
SET LOCAL client_min_messages = warning;
CREATE TEMP TABLE IF NOT EXISTS stage_records (LIKE records INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_history (LIKE record_history INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_disclosure (LIKE public_disclosure) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_unlisted (uscc text COLLATE \"C\", id text COLLATE \"C\") ON COMMIT DELETE ROWS;";
/// Loads the staged record versions (binary `COPY`).
pub const COPY_RECORDS: &str = "COPY stage_records \
     (uscc, id, rev, kind, decided_on, stored_at, known_at, stored, eval) FROM STDIN (FORMAT binary)";
/// Loads the staged previous versions.
pub const COPY_HISTORY: &str = "COPY stage_history \
     (uscc, id, rev, stored_at, known_at, stored) FROM STDIN (FORMAT binary)";
/// Loads the staged list lines.
pub const COPY_DISCLOSURE: &str = "COPY stage_disclosure (uscc, id, inv_day, decided_on, kind, \
     counts_from, disclosure_until, name, authority, document_no, legal_basis) FROM STDIN (FORMAT binary)";
/// Fills `records` directly (a benchmark's fresh store, `postgres/fill.rs`).
pub const FILL_RECORDS: &str = "COPY records \
     (uscc, id, rev, kind, decided_on, stored_at, known_at, stored, eval) FROM STDIN (FORMAT binary)";
/// Fills `record_ids` directly.
pub const FILL_IDS: &str = "COPY record_ids (id, uscc) FROM STDIN (FORMAT binary)";
/// Fills `entities` directly.
pub const FILL_ENTITIES: &str = "COPY entities (uscc, name, kind) FROM STDIN (FORMAT binary)";
/// Fills `public_disclosure` directly.
pub const FILL_DISCLOSURE: &str = "COPY public_disclosure (uscc, id, inv_day, decided_on, kind, \
     counts_from, disclosure_until, name, authority, document_no, legal_basis) FROM STDIN (FORMAT binary)";
/// Loads the keys of staged records that are not (or no longer) on the list.
pub const COPY_UNLISTED: &str = "COPY stage_unlisted (uscc, id) FROM STDIN (FORMAT binary)";
/// Loads the ids of records new to the database straight into the index (no conflict: the
/// batch holds the record-write lock and found none of them).
pub const COPY_NEW_IDS: &str = "COPY record_ids (id, uscc) FROM STDIN (FORMAT binary)";
/// Loads the versions of records new to the database straight into `records`.
pub const COPY_NEW_RECORDS: &str = "COPY records \
     (uscc, id, rev, kind, decided_on, stored_at, known_at, stored, eval) FROM STDIN (FORMAT binary)";
/// Loads the list lines of records new to the database straight into `public_disclosure`.
pub const COPY_NEW_DISCLOSURE: &str = "COPY public_disclosure (uscc, id, inv_day, decided_on, \
     kind, counts_from, disclosure_until, name, authority, document_no, legal_basis) \
     FROM STDIN (FORMAT binary)";
/// Merges the staged record versions.
pub const MERGE_RECORDS: &str = "INSERT INTO records \
     (uscc, id, rev, kind, decided_on, stored_at, known_at, stored, eval) \
     SELECT uscc, id, rev, kind, decided_on, stored_at, known_at, stored, eval FROM stage_records \
     ON CONFLICT (uscc, id) DO UPDATE SET rev = EXCLUDED.rev, kind = EXCLUDED.kind, \
     decided_on = EXCLUDED.decided_on, stored_at = EXCLUDED.stored_at, \
     known_at = EXCLUDED.known_at, stored = EXCLUDED.stored, eval = EXCLUDED.eval";
/// Merges the staged previous versions.
pub const MERGE_HISTORY: &str = "INSERT INTO record_history \
     (uscc, id, rev, stored_at, known_at, stored) \
     SELECT uscc, id, rev, stored_at, known_at, stored FROM stage_history \
     ON CONFLICT (uscc, id, rev) DO NOTHING";
/// Merges the staged list lines.
pub const MERGE_DISCLOSURE: &str = "INSERT INTO public_disclosure \
     SELECT * FROM stage_disclosure \
     ON CONFLICT (uscc, id) DO UPDATE SET inv_day = EXCLUDED.inv_day, \
     decided_on = EXCLUDED.decided_on, kind = EXCLUDED.kind, counts_from = EXCLUDED.counts_from, \
     disclosure_until = EXCLUDED.disclosure_until, name = EXCLUDED.name, \
     authority = EXCLUDED.authority, document_no = EXCLUDED.document_no, \
     legal_basis = EXCLUDED.legal_basis";
/// Takes the staged unlisted records off the list.
pub const MERGE_UNLISTED: &str = "DELETE FROM public_disclosure d USING stage_unlisted s \
     WHERE d.uscc = s.uscc AND d.id = s.id";
/// Puts records on the list (or updates their line): a few rows, without staging.
pub const UPSERT_DISCLOSURE: &str = "INSERT INTO public_disclosure \
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::smallint[], \
     $6::date[], $7::date[], $8::text[], $9::text[], $10::text[], $11::text[]) \
     ON CONFLICT (uscc, id) DO UPDATE SET inv_day = EXCLUDED.inv_day, \
     decided_on = EXCLUDED.decided_on, kind = EXCLUDED.kind, counts_from = EXCLUDED.counts_from, \
     disclosure_until = EXCLUDED.disclosure_until, name = EXCLUDED.name, \
     authority = EXCLUDED.authority, document_no = EXCLUDED.document_no, \
     legal_basis = EXCLUDED.legal_basis";
/// Takes records off the list (repaired, revoked, or changed to a kind not listed).
pub const DELETE_DISCLOSURE: &str = "DELETE FROM public_disclosure d \
     USING unnest($1::text[], $2::text[]) AS k(uscc, id) \
     WHERE d.uscc = ANY($1) AND d.uscc = k.uscc AND d.id = k.id";

/// The columns of a list line, `d` being `public_disclosure`: position (inv_day, uscc, id),
/// then decided_on, kind, disclosure_until, the name shown (the record's, else the
/// entity's latest), authority, document_no, legal_basis.
macro_rules! line_columns {
    () => {
        "d.inv_day, d.uscc, d.id, d.decided_on, d.kind, d.disclosure_until, \
         coalesce(d.name, (SELECT e.name FROM entities e WHERE e.uscc = d.uscc)), d.authority, \
         d.document_no, d.legal_basis"
    };
}

/// What every list query filters by: $4 the oldest position (minus the oldest decision day
/// asked for), $5 the kinds, $6 the last publication day shown, $7 the first disclosure end
/// still shown, $8 part of the authority (null: any).
macro_rules! line_filter {
    () => {
        "d.inv_day <= $4::int AND d.kind = ANY($5::smallint[]) AND d.counts_from <= $6::date \
         AND (d.disclosure_until IS NULL OR d.disclosure_until >= $7::date) \
         AND ($8::text IS NULL OR strpos(d.authority, $8) > 0)"
    };
}

/// A page of the list walked in order after the position ($1, $2, $3), looking at no more
/// than $9 lines: the lines the filters admit, at most $10; with a query, $11 the USCC
/// prefix and $12 the part of the entity's latest name (either may be null).
pub const DISCLOSURE_WALK: &str = concat!(
    "SELECT ",
    line_columns!(),
    " FROM (SELECT * FROM public_disclosure \
     WHERE (inv_day, uscc, id) > ($1::int, $2::text, $3::text) AND inv_day <= $4::int \
     ORDER BY inv_day, uscc, id LIMIT $9::bigint) d WHERE ",
    line_filter!(),
    " AND (($11::text IS NULL AND $12::text IS NULL) \
     OR ($11::text IS NOT NULL AND left(d.uscc, length($11)) = $11) \
     OR ($12::text IS NOT NULL \
     AND strpos((SELECT e.name FROM entities e WHERE e.uscc = d.uscc), $12) > 0)) \
     ORDER BY d.inv_day, d.uscc, d.id LIMIT $10::bigint"
);
/// The last position a walk of $5 lines after ($1, $2, $3) looked at, when it looked at
/// that many (the walk stopped on its budget: the next page resumes there).
pub const DISCLOSURE_WALK_END: &str = "SELECT inv_day, uscc, id FROM public_disclosure \
     WHERE (inv_day, uscc, id) > ($1::int, $2::text, $3::text) AND inv_day <= $4::int \
     ORDER BY inv_day, uscc, id OFFSET $5::bigint - 1 LIMIT 1";
/// A page of the lines of a few entities ($9, USCCs) after the position ($1, $2, $3): at
/// most $10 (read by the primary key, entity by entity).
pub const DISCLOSURE_OF_ENTITIES: &str = concat!(
    "SELECT ",
    line_columns!(),
    " FROM public_disclosure d WHERE d.uscc = ANY($9::text[]) \
     AND (d.inv_day, d.uscc, d.id) > ($1::int, $2::text, $3::text) AND ",
    line_filter!(),
    " ORDER BY d.inv_day, d.uscc, d.id LIMIT $10"
);
/// Entities whose latest name contains $1: at most $2.
pub const ENTITIES_NAMED: &str =
    "SELECT uscc FROM entities WHERE strpos(name, $1::text) > 0 ORDER BY uscc LIMIT $2::bigint";
/// Entities whose USCC is in [$1, $2): at most $3.
pub const ENTITIES_IN_RANGE: &str = "SELECT uscc FROM entities WHERE uscc >= $1::text AND uscc < $2::text ORDER BY uscc \
     LIMIT $3::bigint";
/// Every record, for filling the list of a version-1 database (read in portions).
pub const ALL_RECORDS: &str = "SELECT uscc, id, stored FROM records";

// --- pending events (keyed by record id) --------------------------------------------------

/// Keeps an event whose record is not stored yet (a later one of the same kind replaces it).
pub const HOLD_PENDING: &str = "INSERT INTO pending_events \
     (record_id, kind, day, received_at, authority, note) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (record_id, kind) DO UPDATE SET day = EXCLUDED.day, \
     received_at = EXCLUDED.received_at, known_at = now(), authority = EXCLUDED.authority, \
     note = EXCLUDED.note";
/// Takes the pending events of records stored for the first time.
pub const TAKE_PENDING: &str = "DELETE FROM pending_events WHERE record_id = ANY($1) \
     RETURNING record_id, kind, day, received_at, authority, note";
/// A page of pending events after a (record id, kind) position.
pub const PENDING_PAGE: &str = "SELECT record_id, kind, day, received_at, authority, note \
     FROM pending_events WHERE (record_id, kind) > ($1, $2) ORDER BY record_id, kind LIMIT $3";

// --- rule-set versions, cursors (reference tables) ----------------------------------------

/// Serialises the versions of one rule set across processes.
pub const LOCK_RULESET: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':ruleset:' || $1))";
/// The newest log entry of a rule set.
pub const RULESET_HEAD: &str =
    "SELECT seq, hash FROM ruleset_log WHERE ruleset_id = $1 ORDER BY seq DESC LIMIT 1";
/// A version by hash.
pub const RULESET_VERSION: &str = "SELECT hash, ruleset_id, source, author, time, message, \
     parent FROM ruleset_versions WHERE hash = $1";
/// Stores a version.
pub const INSERT_RULESET_VERSION: &str = "INSERT INTO ruleset_versions \
     (hash, ruleset_id, source, author, time, message, parent) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Appends to a rule set's log.
pub const APPEND_RULESET_LOG: &str =
    "INSERT INTO ruleset_log (ruleset_id, seq, hash) VALUES ($1, $2, $3)";
/// A rule set's versions in log order.
pub const RULESET_VERSIONS: &str = "SELECT v.hash, v.ruleset_id, v.source, v.author, v.time, \
     v.message, v.parent FROM ruleset_log l JOIN ruleset_versions v ON v.hash = l.hash \
     WHERE l.ruleset_id = $1 ORDER BY l.seq";
/// The rule sets with a version.
pub const RULESET_IDS: &str = "SELECT DISTINCT ruleset_id FROM ruleset_log ORDER BY ruleset_id";
/// A cursor.
pub const CURSOR: &str = "SELECT value FROM cursors WHERE name = $1";
/// Sets a cursor.
pub const SET_CURSOR: &str = "INSERT INTO cursors (name, value) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value";
/// Sets a cursor that is not set yet (0 rows: another writer set it first).
pub const INSERT_CURSOR: &str =
    "INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
/// Sets a cursor that still holds $2 (0 rows: another writer changed it first).
pub const SWAP_CURSOR: &str = "UPDATE cursors SET value = $3 WHERE name = $1 AND value = $2";

// --- drafts (reference table, compare-and-swap on row_version) ----------------------------

/// A new draft id.
pub const NEXT_DRAFT_ID: &str = "SELECT nextval('draft_ids')::bigint";
/// Stores a new draft.
pub const INSERT_DRAFT: &str = "INSERT INTO drafts (id, row_version, ruleset_id, status, value) \
     VALUES ($1, 1, $2, $3, $4)";
/// A draft and its row version.
pub const DRAFT: &str = "SELECT row_version, value FROM drafts WHERE id = $1";
/// Every draft, by id (filtered by rule set and status when given).
pub const DRAFTS: &str = "SELECT id, value FROM drafts \
     WHERE ($1::text IS NULL OR ruleset_id = $1) AND ($2::smallint IS NULL OR status = $2) \
     ORDER BY id";
/// The compare-and-swap: writes only if nobody changed the draft since it was read.
pub const SWAP_DRAFT: &str = "UPDATE drafts SET row_version = row_version + 1, status = $3, \
     value = $4 WHERE id = $1 AND row_version = $2";

// --- decision log (partitioned by month) --------------------------------------------------

/// Serialises the creation of monthly partitions.
pub const LOCK_PARTITIONS: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':decision-partitions'))";
/// Sequence numbers for new entries.
pub const NEXT_DECISION_SEQS: &str =
    "SELECT nextval('decision_seq')::bigint FROM generate_series(1, $1::int)";
/// Appends entries.
pub const INSERT_DECISIONS: &str = "INSERT INTO decisions (seq, time, ruleset_id, usccs, entry) \
     SELECT s, t, r, string_to_array(u, ','), e \
     FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[]) \
     AS x(s, t, r, u, e)";
/// The start of a decision query; the filters below are appended with `AND`.
pub const DECISIONS_SELECT: &str = "SELECT seq, entry FROM decisions WHERE seq > $1";
/// Filter: about this entity (the GIN index on `usccs`).
pub const DECISIONS_BY_ENTITY: &str = "usccs @> ARRAY[$2::text]";
/// Filter: under this rule set.
pub const DECISIONS_BY_RULESET: &str = "ruleset_id = $3";
/// Filter: made at or after.
pub const DECISIONS_FROM: &str = "time >= $4";
/// Filter: made before.
pub const DECISIONS_UNTIL: &str = "time < $5";
/// The order and the limit.
pub const DECISIONS_ORDER: &str = "ORDER BY seq LIMIT $6";

// --- notifications between replicas --------------------------------------------------------

/// The channel every change is announced on (payload: `records`, `versions`, `drafts`).
pub const CHANNEL: &str = "credit_rules_changes";
/// Announces a change; sent when the transaction commits.
pub const NOTIFY: &str = "SELECT pg_notify('credit_rules_changes', current_schema() || ':' || $1)";

// --- scale-out (Citus) ----------------------------------------------------------------------

/// The tables distributed by USCC (co-located: one entity's records, history and entity row
/// are on one shard), then the others: the id index and the pending events by record id
/// (an event names only the id), the decision log by sequence number (append-only, read for
/// audits), and the small tables every node reads as reference tables.
pub const CITUS_DISTRIBUTION: &[&str] = &[
    "SELECT create_distributed_table('entities', 'uscc')",
    "SELECT create_distributed_table('records', 'uscc', colocate_with => 'entities')",
    "SELECT create_distributed_table('record_history', 'uscc', colocate_with => 'entities')",
    "SELECT create_distributed_table('public_disclosure', 'uscc', colocate_with => 'entities')",
    "SELECT create_distributed_table('record_ids', 'id')",
    "SELECT create_distributed_table('pending_events', 'record_id', colocate_with => 'record_ids')",
    "SELECT create_distributed_table('decisions', 'seq')",
    "SELECT create_reference_table('ruleset_versions')",
    "SELECT create_reference_table('ruleset_log')",
    "SELECT create_reference_table('cursors')",
    "SELECT create_reference_table('drafts')",
    "SELECT create_reference_table('schema_migrations')",
];

/// The tables distributed by `uscc`.
pub const BY_USCC: &[&str] = &["entities", "records", "record_history", "public_disclosure"];

/// The statements of the per-entity paths (evaluation, entity pages, record writes): each
/// names `uscc` in its filter or key, so Citus routes it to the entity's shard.
pub const PER_ENTITY: &[(&str, &str)] = &[
    ("STORED_OF_KEYS", STORED_OF_KEYS),
    ("UPSERT_RECORDS", UPSERT_RECORDS),
    ("INSERT_HISTORY", INSERT_HISTORY),
    ("UPSERT_ENTITIES", UPSERT_ENTITIES),
    ("RECORD", RECORD),
    ("RECORDS_OF", RECORDS_OF),
    ("ENTITY", ENTITY),
    ("HISTORY", HISTORY),
    ("UPSERT_DISCLOSURE", UPSERT_DISCLOSURE),
    ("DELETE_DISCLOSURE", DELETE_DISCLOSURE),
];

/// The bulk writes of an import batch, copied straight into the table (records new to the
/// database) or merged from the session's staging tables: each row goes to its entity's
/// shard by its USCC (`COPY` routes every row by its distribution column; `INSERT … SELECT`
/// with the conflict on the key that starts with `uscc`, or a join on it).
pub const BULK: &[(&str, &str)] = &[
    ("COPY_NEW_RECORDS", COPY_NEW_RECORDS),
    ("COPY_NEW_DISCLOSURE", COPY_NEW_DISCLOSURE),
    ("MERGE_RECORDS", MERGE_RECORDS),
    ("MERGE_HISTORY", MERGE_HISTORY),
    ("MERGE_DISCLOSURE", MERGE_DISCLOSURE),
    ("MERGE_UNLISTED", MERGE_UNLISTED),
];

/// The whole-table scans (the impact analysis, exports) and the public list's pages (a
/// walk of the list index, or a search of the entities by name): every shard in parallel,
/// by design, each bounded by its `LIMIT`.
pub const SCANS: &[(&str, &str)] = &[
    ("SCAN_RECORDS", SCAN_RECORDS),
    ("SCAN_EVAL", SCAN_EVAL),
    ("EVALUATION_SAMPLE", EVALUATION_SAMPLE),
    ("EVALUATION_SPLITS", EVALUATION_SPLITS),
    ("SCAN_EVAL_RANGE", SCAN_EVAL_RANGE),
    ("SCAN_EVAL_FROM", SCAN_EVAL_FROM),
    ("RECORDS_OF_KIND", RECORDS_OF_KIND),
    ("ALL_RECORDS", ALL_RECORDS),
    ("DISCLOSURE_WALK", DISCLOSURE_WALK),
    ("DISCLOSURE_WALK_END", DISCLOSURE_WALK_END),
    ("DISCLOSURE_OF_ENTITIES", DISCLOSURE_OF_ENTITIES),
    ("ENTITIES_NAMED", ENTITIES_NAMED),
    ("ENTITIES_IN_RANGE", ENTITIES_IN_RANGE),
];

/// The per-entity statements that do not name the USCC in their filter or key (none: a
/// test checks it), which Citus could not route to one shard.
pub fn unrouted_statements() -> Vec<&'static str> {
    PER_ENTITY
        .iter()
        .filter(|(_, statement)| {
            !(statement.contains("WHERE uscc = $1")
                || statement.contains("WHERE r.uscc = ANY($1)")
                || statement.contains("WHERE d.uscc = ANY($1)")
                || statement.contains("ON CONFLICT (uscc"))
        })
        .map(|(name, _)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements on a table distributed by USCC: `FROM t`, `INTO t`, `UPDATE t`, `JOIN t`.
    fn touches_entity_table(statement: &str) -> bool {
        let words: Vec<&str> = statement.split_whitespace().collect();
        words
            .windows(2)
            .any(|w| matches!(w[0], "FROM" | "INTO" | "UPDATE" | "JOIN") && BY_USCC.contains(&w[1]))
    }

    #[test]
    fn every_per_entity_statement_filters_by_uscc() {
        for (name, statement) in PER_ENTITY {
            assert!(touches_entity_table(statement), "{name} is not per entity");
        }
        assert_eq!(unrouted_statements(), Vec::<&str>::new());
    }

    #[test]
    fn every_statement_on_an_entity_table_is_classified() {
        let all = [
            OWNERS_OF_IDS,
            INSERT_IDS,
            STORED_OF_KEYS,
            UPSERT_RECORDS,
            INSERT_HISTORY,
            UPSERT_ENTITIES,
            RECORD,
            RECORDS_OF,
            ENTITY,
            HISTORY,
            SCAN_RECORDS,
            SCAN_EVAL,
            EVALUATION_SAMPLE,
            EVALUATION_SPLITS,
            SCAN_EVAL_RANGE,
            SCAN_EVAL_FROM,
            RECORDS_OF_KIND,
            ALL_RECORDS,
            MERGE_RECORDS,
            MERGE_HISTORY,
            MERGE_DISCLOSURE,
            MERGE_UNLISTED,
            UPSERT_DISCLOSURE,
            DELETE_DISCLOSURE,
            DISCLOSURE_WALK,
            DISCLOSURE_WALK_END,
            DISCLOSURE_OF_ENTITIES,
            ENTITIES_NAMED,
            ENTITIES_IN_RANGE,
            HOLD_PENDING,
            TAKE_PENDING,
            PENDING_PAGE,
            RULESET_HEAD,
            RULESET_VERSION,
            INSERT_RULESET_VERSION,
            APPEND_RULESET_LOG,
            RULESET_VERSIONS,
            RULESET_IDS,
            CURSOR,
            SET_CURSOR,
            INSERT_CURSOR,
            SWAP_CURSOR,
            NEXT_DRAFT_ID,
            INSERT_DRAFT,
            DRAFT,
            DRAFTS,
            SWAP_DRAFT,
            NEXT_DECISION_SEQS,
            INSERT_DECISIONS,
            DECISIONS_SELECT,
        ];
        for statement in all.into_iter().filter(|s| touches_entity_table(s)) {
            let known = PER_ENTITY
                .iter()
                .chain(SCANS)
                .chain(BULK)
                .any(|(_, s)| *s == statement);
            assert!(
                known,
                "classify this statement as per entity or a scan: {statement}"
            );
        }
    }

    #[test]
    fn the_distribution_covers_every_table_of_the_schema() {
        for (_, migration) in MIGRATIONS {
            for table in migration
                .split("CREATE TABLE ")
                .skip(1)
                .filter_map(|rest| rest.split_whitespace().next())
            {
                assert!(
                    CITUS_DISTRIBUTION
                        .iter()
                        .any(|s| s.contains(&format!("'{table}'"))),
                    "{table} is neither distributed nor a reference table"
                );
            }
        }
    }
}
