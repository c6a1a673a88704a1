//! Backups of the sled store (`credit-rules backup` / `restore`): a snapshot taken while
//! `serve` holds the folder and keeps writing restores into a folder that serves the same
//! records, versions, drafts and decision log, and holds every record batch either whole or
//! not at all; a backup that is corrupt, truncated, of a newer format or aimed at a folder
//! in use is refused with a clear message.

use crate::common::{StoreTarget, code};
use crate::durability::{free_port, spawn_server, wait_healthy};
use credit_rules::store::{
    BACKUP_FORMAT, Cursors, DecisionEntry, DecisionLog, DecisionQuery, NewRuleSetVersion,
    RecordStore, Records, SledStore, Versions,
};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Records per intake batch of the writer.
const BATCH: u32 = 5;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(args)
        .env_remove(credit_rules::store::STORE_ENV)
        .env_remove("CREDIT_RULES_TOKEN")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path, log: &Path, agent: &ureq::Agent) -> Server {
    let port = free_port();
    let child = spawn_server(&StoreTarget::sled(data), port, log);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(agent, &base);
    Server { base, child }
}

fn token(data: &Path, label: &str) -> String {
    let tokens = std::fs::read_to_string(data.join("dev-tokens.txt")).expect("dev tokens");
    tokens
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("a {label} token"))
        .trim()
        .to_owned()
}

fn send(agent: &ureq::Agent, method: &str, url: &str, token: &str, body: Option<&Value>) -> Value {
    let auth = format!("Bearer {token}");
    let response = match (method, body) {
        ("GET", _) => agent.get(url).header("Authorization", &auth).call(),
        (_, Some(body)) => agent
            .post(url)
            .header("Authorization", &auth)
            .send_json(body),
        (_, None) => agent.post(url).header("Authorization", &auth).send_empty(),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let mut response = response;
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    assert!(
        (200..300).contains(&status),
        "{method} {url}: {status} {body}"
    );
    body
}

/// The entity of writer batch `n`.
fn batch_entity(n: u32) -> String {
    code(700_000 + n).as_str().to_owned()
}

/// Intake rows of writer batch `n`: `BATCH` penalties of one entity.
fn batch_rows(n: u32) -> Value {
    let uscc = batch_entity(n);
    let rows: Vec<Value> = (0..BATCH)
        .map(|i| {
            json!({"xxbh": format!("BK-{n}-{i}"), "cf_xdr_mc": format!("备份测试{n}有限公司"),
                   "cf_xdr_lb": "法人及非法人组织", "cf_xdr_shxym": uscc,
                   "cf_wsh": format!("武水罚〔2024〕{n}-{i}号"), "cf_wfxw": "x", "cf_cflb": "罚款",
                   "cf_nr_fk": 1.5, "cf_jdrq": "2024-01-10", "cf_gsjzq": "2027-01-10",
                   "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"})
        })
        .collect();
    json!({ "items": rows })
}

/// What the service answers about everything but the writer's records.
fn state_of(agent: &ureq::Agent, base: &str, city: &str, seeded: &str) -> Value {
    let get = |path: &str| send(agent, "GET", &format!("{base}{path}"), city, None);
    json!({
        "drafts": get("/api/v1/drafts"),
        "decisions": get("/api/v1/decisions?limit=1000"),
        "versions": get("/api/v1/rulesets/water/versions"),
        "rulesets": get("/api/v1/rulesets"),
        "seeded_entity": get(&format!("/api/v1/entities/{seeded}")),
    })
}

/// A backup taken through the server while it writes record batches restores into a new
/// folder that serves the same versions, drafts, decision log and records; every batch is
/// there whole or not at all, and every batch acknowledged before the backup began is there.
#[test]
fn a_backup_taken_while_serving_and_writing_restores_the_same_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let server = start(&data, &dir.path().join("serve.log"), &agent);
    let base = server.base.clone();
    let (city, evaluator, intake, water) = (
        token(&data, "city_office"),
        token(&data, "evaluator"),
        token(&data, "intake"),
        token(&data, "bureau_water"),
    );

    // Before the backup: a decision, a pending draft, a seeded entity.
    let page = send(
        &agent,
        "GET",
        &format!("{base}/api/v1/disclosure?as_of=2024-06-01&page_size=1"),
        &evaluator,
        None,
    );
    let seeded = page["items"][0]["uscc"]
        .as_str()
        .expect("a seeded entity")
        .to_owned();
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": seeded });
    send(
        &agent,
        "POST",
        &format!("{base}/api/v1/evaluate"),
        &evaluator,
        Some(&body),
    );
    let current = send(
        &agent,
        "GET",
        &format!("{base}/api/v1/rulesets/water"),
        &evaluator,
        None,
    );
    let source = current["source"].as_str().expect("source");
    let stricter = source.replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    assert_ne!(stricter, source);
    let draft = json!({ "ruleset": "water", "source": stricter,
                        "base_hash": current["meta"]["hash"], "message": "备份前提交的草稿" });
    send(
        &agent,
        "POST",
        &format!("{base}/api/v1/drafts"),
        &water,
        Some(&draft),
    );

    // A writer that keeps storing batches until told to stop.
    let acked = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    let backup_file = dir.path().join("snapshot.crbackup");
    let (before, after, output) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let answer = send(
                    &agent,
                    "POST",
                    &format!("{base}/api/v1/records"),
                    &intake,
                    Some(&batch_rows(n)),
                );
                assert_eq!(answer["inserted"], BATCH, "{answer}");
                n += 1;
                acked.store(n, Ordering::SeqCst);
            }
        });
        while acked.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(10));
        }
        let before = acked.load(Ordering::SeqCst);
        let output = run(&[
            "backup",
            "--data",
            path(&data),
            "--out",
            path(&backup_file),
            "--server",
            &base,
            "--token",
            &city,
        ]);
        let after = acked.load(Ordering::SeqCst);
        // Let the writer go on a little after the backup, then stop it.
        while acked.load(Ordering::SeqCst) < after + 2 {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("writer");
        (before, after, output)
    });
    let (code_, out, err) = output;
    assert_eq!(code_, 0, "{out}{err}");
    assert!(out.contains("backup written"), "{out}");
    assert!(
        !data
            .join("backups")
            .read_dir()
            .expect("backups")
            .any(|_| true),
        "the server's file was moved to --out"
    );
    let original = state_of(&agent, &base, &city, &seeded);
    assert_eq!(
        original["drafts"]["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        !original["decisions"]["items"]
            .as_array()
            .expect("log")
            .is_empty()
    );
    drop(server);

    // Restore into a new folder, and not over one that holds something.
    let restored = dir.path().join("restored");
    let (code_, out, err) = run(&[
        "restore",
        "--in",
        path(&backup_file),
        "--data",
        path(&restored),
    ]);
    assert_eq!(code_, 0, "{out}{err}");
    assert!(out.contains("restored"), "{out}");
    let (code_, _, err) = run(&["restore", "--in", path(&backup_file), "--data", path(&data)]);
    assert_eq!(code_, 2);
    assert!(err.contains("is not empty"), "{err}");

    // Serve from it: the same tokens (the token file is in the backup), the same answers.
    let server = start(&restored, &dir.path().join("restored.log"), &agent);
    let base = server.base.clone();
    assert_eq!(state_of(&agent, &base, &city, &seeded), original);
    let mut present = 0;
    for n in 0..after + 2 {
        let entity = agent
            .get(format!("{base}/api/v1/entities/{}", batch_entity(n)))
            .header("Authorization", &format!("Bearer {evaluator}"))
            .call()
            .expect("entity");
        let mut entity = entity;
        let body: Value = entity.body_mut().read_json().unwrap_or(Value::Null);
        let records = body["records"].as_array().map_or(0, Vec::len);
        assert!(
            records == 0 || records == BATCH as usize,
            "batch {n} is partly in the backup: {records} of {BATCH} records"
        );
        if n < before {
            assert_eq!(
                records, BATCH as usize,
                "batch {n} was acknowledged before the backup"
            );
        }
        if records > 0 {
            present += 1;
        }
    }
    // At most the batch in flight when the backup finished is there besides the acknowledged.
    assert!(
        (before..=after + 1).contains(&present),
        "{present} batches restored; {before} acknowledged before the backup, {after} after"
    );
}

/// A small store to back up: `records.0` penalties over `records.1` entities numbered from
/// `first`, one rule-set version, the `provincial` cursor at `cursor`, and the water rule set's
/// decision on entity `first` as the log's first entry; flushed.
fn fill_small_store(
    store: &SledStore,
    first: u32,
    records: (u32, u32),
    cursor: &str,
    time: chrono::DateTime<chrono::Utc>,
) {
    let uscc = code(first);
    let (count, entities) = records;
    let records: Vec<_> = (0..count)
        .map(|i| {
            crate::common::record(
                &format!("R-{i}"),
                &code(first + i % entities),
                credit_rules::record::RecordKind::AdminPenalty,
                "2024-03-01",
            )
        })
        .collect();
    store.put_records(&records).expect("records");
    store
        .put_ruleset_version(&NewRuleSetVersion {
            ruleset_id: "water",
            source: "ruleset water {}",
            author: "test",
            message: "v1",
            time,
        })
        .expect("version");
    store.set_cursor("provincial", cursor).expect("cursor");
    let workspace = crate::common::shipped();
    let program = workspace.compile("water").expect("water");
    let records = store.records_of(&uscc).expect("records");
    let as_of = crate::common::day("2024-06-01");
    let report = program.evaluate(&records, as_of).report(&program, &records);
    let entry = DecisionEntry::from_report(&report, vec![uscc], time);
    assert_eq!(store.append_decision(&entry).expect("decision"), 1);
    store.flush().expect("flush");
}

/// A backup of a folder no process holds is taken by the command itself; restoring it gives
/// the same store. A truncated, damaged, newer or foreign file and a used folder are refused,
/// each with what is wrong, and nothing is written.
#[test]
fn a_bad_backup_file_or_target_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let time = chrono::Utc::now();
    {
        let store = SledStore::open(&data).expect("store");
        fill_small_store(&store, 4242, (30, 7), "page-7", time);
    }
    let file = dir.path().join("b.crbackup");
    let (code_, out, err) = run(&["backup", "--data", path(&data), "--out", path(&file)]);
    assert_eq!(code_, 0, "{out}{err}");
    let (code_, _, err) = run(&["backup", "--data", path(&data), "--out", path(&file)]);
    assert_eq!(code_, 2);
    assert!(err.contains("exists already"), "{err}");
    let (code_, _, err) = run(&[
        "backup",
        "--data",
        path(&data),
        "--out",
        path(&dir.path().join("pg.crbackup")),
        "--store",
        "postgres://nobody@127.0.0.1:1/none",
    ]);
    assert_eq!(code_, 2);
    assert!(err.contains("pg_dump"), "{err}");

    // The restored store holds the same.
    let restored = dir.path().join("restored");
    let (code_, out, err) = run(&["restore", "--in", path(&file), "--data", path(&restored)]);
    assert_eq!(code_, 0, "{out}{err}");
    {
        let a = SledStore::open(&data).expect("original");
        let b = SledStore::open(&restored).expect("restored");
        let scan = |s: &SledStore| {
            s.scan_entities()
                .collect::<Result<Vec<_>, _>>()
                .expect("scan")
        };
        assert_eq!(scan(&a), scan(&b));
        assert_eq!(
            a.ruleset_versions("water").expect("a"),
            b.ruleset_versions("water").expect("b")
        );
        assert_eq!(
            b.cursor("provincial").expect("cursor").as_deref(),
            Some("page-7")
        );
        let all = DecisionQuery::default();
        assert_eq!(a.decisions(&all).expect("a"), b.decisions(&all).expect("b"));
    }

    let bytes = std::fs::read(&file).expect("backup");
    let refused = |name: &str, content: &[u8], expected: &[&str]| {
        let bad = dir.path().join(name);
        std::fs::write(&bad, content).expect("write");
        let target = dir.path().join(format!("{name}-restored"));
        let (code_, _, err) = run(&["restore", "--in", path(&bad), "--data", path(&target)]);
        assert_eq!(code_, 2, "{name}: {err}");
        for text in expected {
            assert!(err.contains(text), "{name}: {err}");
        }
        assert!(!target.exists(), "{name}: nothing is written");
    };
    refused(
        "truncated",
        &bytes[..bytes.len() - 100],
        &["corrupt or truncated", "checksum"],
    );
    refused("header-only", &bytes[..30], &["corrupt or truncated"]);
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    refused("damaged", &damaged, &["corrupt or truncated", "checksum"]);
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(BACKUP_FORMAT + 1).to_be_bytes());
    refused(
        "newer",
        &newer,
        &[
            &format!("backup format {}", BACKUP_FORMAT + 1),
            &format!("newer than this build's {BACKUP_FORMAT}"),
        ],
    );
    refused(
        "foreign",
        b"id,uscc\n1,91420100MA4K3Q7T13\n",
        &["is not a credit-rules backup"],
    );
}

/// Sled trees by name, each with its key–value entries as stored.
type Trees = std::collections::BTreeMap<Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>>;

/// Every sled tree of a folder, key and value bytes as stored, read with sled itself.
fn raw_trees(dir: &Path) -> Trees {
    let db = crate::common::raw_sled_open(dir);
    db.tree_names()
        .into_iter()
        .map(|name| {
            let tree = db.open_tree(&name).expect("tree");
            let entries = tree
                .iter()
                .map(|item| {
                    let (k, v) = item.expect("entry");
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            (name.to_vec(), entries)
        })
        .collect()
}

/// The format version a folder's `meta` tree holds.
fn format_on_disk(trees: &Trees) -> u32 {
    let meta = &trees[b"meta".as_slice()];
    let (_, value) = meta
        .iter()
        .find(|(k, _)| k == b"format_version")
        .expect("a format version");
    u32::from_be_bytes(value.as_slice().try_into().expect("4 bytes"))
}

/// The decision journal's segments, by name.
fn journal_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("decisions"))
        .expect("the decision journal")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("segment"))
        })
        .collect();
    files.sort();
    files
}

/// A folder an older release left (format version 1: no evaluation view; 2: no public
/// disclosure index) is backed up as it is: the backup leaves every tree, the format version
/// and the journal untouched, says the format is older, and restoring it migrates the copy,
/// which then holds the same records, versions, cursor and decisions as before.
#[test]
fn a_backup_of_an_older_format_leaves_the_folder_as_it_is_and_restore_migrates_the_copy() {
    for old in [1u32, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let time = chrono::Utc::now();
        let (entities, versions, decisions) = {
            let store = SledStore::open(&data).expect("store");
            fill_small_store(&store, 5150, (12, 4), "page-9", time);
            (
                store
                    .scan_entities()
                    .collect::<Result<Vec<_>, _>>()
                    .expect("scan"),
                store.ruleset_versions("water").expect("versions"),
                store.decisions(&DecisionQuery::default()).expect("log"),
            )
        };
        // What the older release left.
        {
            let db = crate::common::raw_sled_open(&data);
            db.drop_tree("public_disclosure").expect("drop the index");
            if old == 1 {
                db.drop_tree("entity_eval").expect("drop the view");
            } else {
                db.open_tree("records_by_disclosure_end")
                    .expect("the version-2 index")
                    .insert(b"x", &[][..])
                    .expect("entry");
            }
            db.open_tree("meta")
                .expect("meta")
                .insert("format_version", &old.to_be_bytes())
                .expect("format");
            db.flush().expect("flush");
        }
        let trees = raw_trees(&data);
        let journal = journal_files(&data);
        assert_eq!(format_on_disk(&trees), old);
        assert!(!journal.is_empty(), "the decision is in the journal");

        let file = dir.path().join("old.crbackup");
        let (code_, out, err) = run(&["backup", "--data", path(&data), "--out", path(&file)]);
        assert_eq!(code_, 0, "format {old}: {out}{err}");
        assert!(out.contains("backup written"), "{out}");
        assert!(
            out.contains(&format!("older format version {old}")),
            "format {old}: {out}"
        );
        assert_eq!(
            raw_trees(&data),
            trees,
            "format {old}: the folder is unchanged"
        );
        assert_eq!(
            journal_files(&data),
            journal,
            "format {old}: the journal is unchanged"
        );

        let restored = dir.path().join("restored");
        let (code_, out, err) = run(&["restore", "--in", path(&file), "--data", path(&restored)]);
        assert_eq!(code_, 0, "format {old}: {out}{err}");
        {
            let store = SledStore::open(&restored).expect("restored");
            let scan = store
                .scan_entities()
                .collect::<Result<Vec<_>, _>>()
                .expect("scan");
            assert_eq!(scan, entities, "format {old}: the same records");
            assert_eq!(store.ruleset_versions("water").expect("versions"), versions);
            assert_eq!(
                store.cursor("provincial").expect("cursor").as_deref(),
                Some("page-9")
            );
            assert_eq!(
                store.decisions(&DecisionQuery::default()).expect("log"),
                decisions
            );
        }
        let migrated = raw_trees(&restored);
        assert_eq!(
            format_on_disk(&migrated),
            credit_rules::store::FORMAT_VERSION,
            "the copy is migrated"
        );
        assert!(
            !migrated.contains_key(b"records_by_disclosure_end".as_slice()),
            "the version-2 index is gone from the copy"
        );
        assert_eq!(
            format_on_disk(&raw_trees(&data)),
            old,
            "the original is not"
        );
    }
}
