//! Helpers shared by the integration tests.

use credit_rules::ast::{Item, RuleSetAst};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use std::path::{Path, PathBuf};

/// Reads a case file as a source named by its path relative to `tests/`.
pub fn source(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).expect("case file is readable");
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    SourceFile::new(name, text)
}

/// A workspace holding the shipped city base plus `file`.
pub fn workspace_with(file: SourceFile) -> (Workspace, Option<String>) {
    let mut workspace = Workspace::new();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/city/base.rules");
    let id = workspace.add_source(file, None);
    if id.as_deref() != Some("city.base") {
        workspace.add_source(source(&base), None);
    }
    (workspace, id)
}

/// The syntax tree in a layout-free form: header values and each item as s-expressions.
pub fn dump(ast: &RuleSetAst) -> String {
    let h = &ast.header;
    let mut out = format!("ruleset {} ({:?})\n", h.id.value, ast.dialect);
    let fields = [
        ("title", h.title.as_ref().map(|v| v.value.clone())),
        ("sector", h.sector.as_ref().map(|v| v.value.clone())),
        ("version", h.version.as_ref().map(|v| v.value.clone())),
        (
            "effective",
            h.effective.as_ref().map(|v| v.value.to_string()),
        ),
        ("unit", h.unit.as_ref().map(|v| v.value.clone())),
        ("basis", h.basis.as_ref().map(|v| v.value.clone())),
        ("extends", h.extends.as_ref().map(|v| v.value.clone())),
        ("total", h.total.as_ref().map(|v| v.value.to_string())),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            out.push_str(&format!("  {name} {v:?}\n"));
        }
    }
    for item in &ast.items {
        match item {
            Item::Const(c) => out.push_str(&format!("const {} = {}\n", c.name.value, c.value)),
            Item::Define(d) => out.push_str(&format!("define {} = {}\n", d.name.value, d.value)),
            Item::Remove(n) => out.push_str(&format!("remove {}\n", n.value)),
            Item::Clause(c) => {
                let mandatory = if c.mandatory { " mandatory" } else { "" };
                out.push_str(&format!("{}{mandatory} {}\n", c.kind.keyword(), c.id.value));
                for l in &c.lets {
                    out.push_str(&format!("  let {} = {}\n", l.name.value, l.value));
                }
                let exprs = [
                    ("when", &c.when),
                    ("points", &c.points),
                    ("weight", &c.weight),
                    ("cap", &c.cap),
                    ("floor", &c.floor),
                ];
                for (name, e) in exprs {
                    if let Some(e) = e {
                        out.push_str(&format!("  {name} {e}\n"));
                    }
                }
                for (name, s) in [("wording", &c.wording), ("basis", &c.basis)] {
                    if let Some(s) = s {
                        out.push_str(&format!("  {name} {:?}\n", s.value));
                    }
                }
            }
            Item::Test(t) => {
                out.push_str(&format!("test {:?}\n", t.name.value));
                if let Some(d) = &t.as_of {
                    out.push_str(&format!("  as_of {}\n", d.value));
                }
                for r in &t.records {
                    let fields: Vec<String> = r
                        .fields
                        .iter()
                        .map(|(k, v)| format!("{} {}", k.value, v.value))
                        .collect();
                    out.push_str(&format!(
                        "  record {} {{ {} }}\n",
                        r.id.value,
                        fields.join(" ")
                    ));
                }
                for e in &t.expects {
                    out.push_str(&format!("  expect {:?}\n", e.value));
                }
            }
        }
    }
    out
}

/// The shipped rule sets under `rulesets/`, parsed.
pub fn shipped() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    Workspace::load(&root).expect("rulesets/ loads")
}

/// A test block's records and evaluation date, as `credit-rules test` builds them.
pub fn test_inputs(
    test: &credit_rules::ast::TestBlock,
) -> (Vec<credit_rules::record::CreditRecord>, chrono::NaiveDate) {
    let records = test
        .records
        .iter()
        .map(|r| credit_rules::testing::build_record(r).expect("valid test record"))
        .collect();
    (records, test.as_of.as_ref().expect("test has as_of").value)
}

/// The tender context of a test block (none when it gives none).
pub fn test_context(test: &credit_rules::ast::TestBlock) -> credit_rules::context::TenderContext {
    test.context.as_ref().map_or_else(Default::default, |c| {
        credit_rules::testing::build_context(&c.value).expect("valid test context")
    })
}

/// Opens a database directory with sled itself (to write what an older or newer release
/// would have), waiting for a store dropped a moment ago to release its lock: sled's
/// background threads hold it a little longer.
pub fn raw_sled_open(dir: &Path) -> sled::Db {
    for _ in 0..40 {
        if let Ok(db) = sled::open(dir) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sled::open(dir).expect("raw open")
}

/// A calendar day written `YYYY-MM-DD`.
pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("test date")
}

/// A valid enterprise USCC (`91420100…`) built from a number.
pub fn code(n: u32) -> credit_rules::record::Uscc {
    use credit_rules::record::{Uscc, org_code_check_char, uscc_check_char};
    let body = format!("{:08}", n % 100_000_000);
    let mut text = format!("91420100{body}");
    text.push(org_code_check_char(&body).expect("digits"));
    text.push(uscc_check_char(&text).expect("charset"));
    Uscc::parse(&text).expect("generated code is valid")
}

/// A record of `kind` decided on `decided` (a sector grade gets the grade it needs).
pub fn record(
    id: &str,
    uscc: &credit_rules::record::Uscc,
    kind: credit_rules::record::RecordKind,
    decided: &str,
) -> credit_rules::record::CreditRecord {
    let mut r = credit_rules::record::CreditRecord::new(id, uscc.clone(), kind, day(decided));
    if kind == credit_rules::record::RecordKind::SectorGrade {
        r.grade = Some("AA".into());
    }
    r
}

/// The PostgreSQL server the tests use: `CREDIT_RULES_TEST_PG`, by default the machine's
/// PostgreSQL 15 (`scripts/test` starts it). A test never skips when it is down: it fails.
pub fn pg_url() -> String {
    std::env::var("CREDIT_RULES_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A PostgreSQL store in a schema of its own (`t_<pid>_<n>`), dropped with it: tests run
/// in parallel on one database without seeing each other.
pub struct PgTestStore {
    store: Option<credit_rules::store::PgStore>,
}

impl PgTestStore {
    /// A fresh store in a new schema.
    pub fn new() -> PgTestStore {
        let schema = fresh_schema_name();
        let store = credit_rules::store::PgStore::open_in_schema(&pg_url(), &schema)
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is needed for this test and is not reachable: {e}\n\
                     start it (scripts/test does: pg_ctlcluster --skip-systemctl-redirect 15 \
                     main start) or set CREDIT_RULES_TEST_PG"
                )
            });
        PgTestStore { store: Some(store) }
    }

    /// The URL a second process opens the same store with (the schema in its options).
    pub fn url(&self) -> String {
        let url = pg_url();
        let sep = if url.contains('?') { '&' } else { '?' };
        let schema = self.schema();
        format!("{url}{sep}options=-csearch_path%3D{schema}&application_name={schema}")
    }

    /// Waits until no session that [`PgTestStore::url`] opened is left on the server: a
    /// killed child's last transaction may still be committing when the kill returns (the
    /// server finishes a COMMIT it received), and a check must see the end state.
    pub fn wait_for_children(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            let driver = tokio::spawn(connection);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let left: i64 = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&self.schema()],
                    )
                    .await
                    .expect("pg_stat_activity")
                    .get(0);
                if left == 0 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{left} session(s) of a killed process are still open"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            drop(client);
            let _ = driver.await;
        });
    }
}

/// A schema name no other test (in this or another process) uses.
pub fn fresh_schema_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Default for PgTestStore {
    fn default() -> Self {
        PgTestStore::new()
    }
}

impl std::ops::Deref for PgTestStore {
    type Target = credit_rules::store::PgStore;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref().expect("open until dropped")
    }
}

impl Drop for PgTestStore {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = store.drop_schema();
        }
    }
}

/// Runs a store test on each backend: a temporary sled store, then a PostgreSQL store in
/// a schema of its own. The body names the backend in its assertions' context.
pub fn on_each_store(test: impl Fn(&dyn credit_rules::store::RecordStore)) {
    let sled = credit_rules::store::SledStore::open_temporary().expect("temporary sled store");
    test(&sled);
    drop(sled);
    let pg = PgTestStore::new();
    test(&*pg);
}

/// Runs a test that reopens its store on each backend: `open` opens the same database
/// again each time it is called (the sled directory; the PostgreSQL schema).
pub fn on_each_reopened_store(
    test: impl Fn(&dyn Fn() -> Box<dyn credit_rules::store::RecordStore>),
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    test(&move || {
        Box::new(credit_rules::store::SledStore::open(&path).expect("open sled"))
            as Box<dyn credit_rules::store::RecordStore>
    });
    let pg = PgTestStore::new();
    let schema = pg.schema().to_owned();
    test(&move || {
        Box::new(credit_rules::store::PgStore::open_in_schema(&pg_url(), &schema).expect("open pg"))
            as Box<dyn credit_rules::store::RecordStore>
    });
    drop(pg);
}

/// Where a child `credit-rules` process keeps its store, for the tests that run the binary
/// on each backend: a sled folder, or a PostgreSQL schema (with a folder for the token file).
pub enum StoreTarget {
    /// `--data DIR`.
    Sled(std::path::PathBuf),
    /// `--data DIR --store URL` (the folder holds the tokens only).
    Postgres(std::path::PathBuf, Box<PgTestStore>),
}

impl StoreTarget {
    /// A sled folder `dir`.
    pub fn sled(dir: &Path) -> StoreTarget {
        StoreTarget::Sled(dir.to_owned())
    }

    /// A fresh PostgreSQL schema, tokens in `dir`.
    pub fn postgres(dir: &Path) -> StoreTarget {
        StoreTarget::Postgres(dir.to_owned(), Box::default())
    }

    /// The folder `--data` names.
    pub fn data(&self) -> &Path {
        match self {
            StoreTarget::Sled(dir) | StoreTarget::Postgres(dir, _) => dir,
        }
    }

    /// Sets a command's store options (and never inherits `CREDIT_RULES_STORE`).
    pub fn apply<'c>(
        &self,
        command: &'c mut std::process::Command,
    ) -> &'c mut std::process::Command {
        command.env_remove(credit_rules::store::STORE_ENV);
        command.arg("--data").arg(self.data());
        if let StoreTarget::Postgres(_, pg) = self {
            command.arg("--store").arg(pg.url());
        }
        command
    }

    /// Opens the store as the child left it.
    pub fn open(&self) -> Box<dyn credit_rules::store::RecordStore> {
        match self {
            StoreTarget::Sled(dir) => Box::new(
                credit_rules::store::SledStore::open(dir)
                    .unwrap_or_else(|e| panic!("reopen sled: {e}")),
            ),
            StoreTarget::Postgres(_, pg) => {
                pg.wait_for_children();
                Box::new(
                    credit_rules::store::PgStore::open_in_schema(&pg_url(), pg.schema())
                        .unwrap_or_else(|e| panic!("reopen PostgreSQL: {e}")),
                )
            }
        }
    }
}

/// Runs SQL in a test store's schema with a connection of its own (to write what another
/// release would have written).
pub fn pg_execute(schema: &str, statements: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path = {schema}; {statements}"))
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
        drop(client);
        let _ = driver.await;
    });
}

/// The files of the sample provincial feed, in the order the tests read them.
pub const FEED_FILES: [&str; 5] = ["xzcf", "court", "lists", "grades", "events"];

/// The sample provincial feed's folder: `$CREDIT_RULES_FEED_DIR` when set, else the copy
/// shipped in `tests/data/provincial-feed/`.
pub fn feed_dir() -> PathBuf {
    std::env::var_os("CREDIT_RULES_FEED_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/provincial-feed"),
        PathBuf::from,
    )
}

/// The text of `{name}.jsonl` of the sample feed. A missing or unreadable file fails the
/// test (it never skips), saying where it looked and how to provide the file.
pub fn feed_text(name: &str) -> String {
    let path = feed_dir().join(format!("{name}.jsonl"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the sample feed file {} cannot be read ({e}): the tests ship the feed in \
             tests/data/provincial-feed/ (restore it with `git checkout -- \
             tests/data/provincial-feed`), or set CREDIT_RULES_FEED_DIR to a folder holding {}",
            path.display(),
            FEED_FILES.map(|f| format!("{f}.jsonl")).join(", ")
        )
    })
}
