//! The commands that read a record store take a PostgreSQL store as well as a sled folder,
//! by `--store URL` or the environment variable `CREDIT_RULES_STORE`: `replay`, `impact`
//! and `diff` here; `sync` in sync.rs; `import` and `serve` in durability.rs and
//! replicas.rs.

use crate::common::{PgTestStore, code, day, record, shipped};
use credit_rules::record::RecordKind;
use credit_rules::store::{DecisionEntry, DecisionLog, NewRuleSetVersion, Records, Versions};
use std::process::Command;

/// Runs the binary with `CREDIT_RULES_STORE` set to `store` (or unset).
fn run(args: &[&str], store: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credit-rules"));
    command
        .args(args)
        .env_remove(credit_rules::store::STORE_ENV)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(url) = store {
        command.env(credit_rules::store::STORE_ENV, url);
    }
    let out = command.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn replay_impact_and_diff_read_a_postgresql_store_by_flag_or_environment() {
    let pg = PgTestStore::new();
    let workspace = shipped();
    for id in workspace.ids() {
        let (file, _) = workspace.library.get(&id).expect("source");
        pg.put_ruleset_version(&NewRuleSetVersion {
            ruleset_id: &id,
            source: &file.text,
            author: "seed",
            message: "shipped",
            time: chrono::Utc::now(),
        })
        .expect("version");
    }
    let uscc = code(88);
    pg.put_records(&[record("B-88", &uscc, RecordKind::Blacklist, "2024-03-01")])
        .expect("stored");
    std::thread::sleep(std::time::Duration::from_millis(3));
    let known_at = chrono::Utc::now();
    let program = workspace.compile("water").expect("water");
    let records = pg.records_of(&uscc).expect("records");
    let report = program
        .evaluate(&records, day("2024-06-01"))
        .report(&program, &records);
    let entry = DecisionEntry::from_report(&report, vec![uscc.clone()], known_at)
        .records_from(known_at, false);
    let seq = pg.append_decision(&entry).expect("logged").to_string();
    let url = pg.url();

    // replay: by the flag, by the environment; a missing decision is an error either way.
    let (status, out, err) = run(&["replay", &seq, "--store", &url], None);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains(&format!("decision {seq}: identical")), "{out}");
    let (status, out, err) = run(&["replay", &seq, "--format", "json"], Some(&url));
    assert_eq!(status, 0, "{out}{err}");
    let replay: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(replay["identical"], true, "{out}");
    let (status, _, err) = run(&["replay", "999", "--store", &url], None);
    assert_eq!(status, 2);
    assert!(err.contains("there is no decision 999"), "{err}");
    // Without a store there is nothing to replay, and none is created.
    let dir = tempfile::tempdir().expect("tempdir");
    let none = dir.path().join("none");
    let none = none.to_str().expect("utf-8");
    let (status, _, err) = run(&["replay", &seq, "--data", none], None);
    assert_eq!(status, 2);
    assert!(err.contains("there is no record store"), "{err}");
    assert!(!dir.path().join("none").exists());

    // impact over the stored entities, the store named by the environment.
    let (status, out, err) = run(
        &[
            "impact",
            "--ruleset",
            "water",
            "--old",
            "water@active",
            "--new",
            "water@active",
            "--as-of",
            "2024-06-01",
            "--format",
            "json",
        ],
        Some(&url),
    );
    assert_eq!(status, 0, "{out}{err}");
    let impact: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(impact["counts"]["evaluated"], 1, "{out}");

    // diff between the latest stored version and the active one (the same): no differences.
    let (status, out, err) = run(
        &["diff", "water@latest", "water@active", "--store", &url],
        None,
    );
    assert_eq!(status, 0, "{out}{err}");
    let (status, _, err) = run(&["diff", "water@ffffffff", "water@active"], Some(&url));
    assert_eq!(status, 2);
    assert!(err.contains("no version whose id starts with"), "{err}");
}
