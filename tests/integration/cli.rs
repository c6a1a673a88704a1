//! The binary: exit codes and output of `check`, `test` and `eval`.

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_on_shipped_rule_sets() {
    let (code, _, err) = run(&["check", "rulesets"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 error(s)"), "{err}");
}

#[test]
fn check_fails_with_carets_on_a_bad_file() {
    let bad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/check/err/unknown-kind.rules");
    let (code, _, err) = run(&["check", bad.to_str().expect("utf-8 path")]);
    assert_eq!(code, 1);
    assert!(err.contains("^^^"), "{err}");
    assert!(err.contains("help: did you mean `行政处罚`?"), "{err}");
}

#[test]
fn test_command_reports_a_count() {
    let (code, out, err) = run(&["test", "rulesets"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn eval_prints_a_json_report() {
    let dir = std::env::temp_dir().join(format!("credit-rules-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let records = dir.join("records.json");
    std::fs::write(
        &records,
        r#"[{"id":"L1","uscc":"91420100MA4K3Q7T13","kind":"BLACKLIST","decided_on":"2023-02-15","disclosure_until":"2025-02-15","document_no":"武汉市城列〔2023〕3号"}]"#,
    )
    .expect("write records");
    let (code, out, err) = run(&[
        "eval",
        "--ruleset",
        "city.base",
        "--records",
        records.to_str().expect("utf-8"),
        "--as-of",
        "2024-06-01",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(report["decision"], "disqualified");
    assert_eq!(report["vetoes"][0]["clause"], "黑名单");
    assert_eq!(report["vetoes"][0]["records"][0]["id"], "L1");
}

#[test]
fn eval_rejects_bad_records_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("credit-rules-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let records = dir.join("records.json");
    std::fs::write(
        &records,
        r#"[{"id":"L1","uscc":"914201000000000000","kind":"BLACKLIST","decided_on":"2023-02-15"}]"#,
    )
    .expect("write");
    let (code, _, err) = run(&[
        "eval",
        "--ruleset",
        "city.base",
        "--records",
        records.to_str().expect("utf-8"),
        "--as-of",
        "2024-06-01",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("record #1"), "{err}");
    let (code, _, err) = run(&[
        "eval",
        "--ruleset",
        "city.base",
        "--records",
        records.to_str().expect("utf-8"),
        "--as-of",
        "2024-13-01",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a date"), "{err}");
}

const CASES: &str = "tests/cases/diff";

#[test]
fn diff_exits_0_for_the_same_meaning_and_1_for_differences() {
    let case = |name: &str, side: &str| format!("{CASES}/{name}/{side}/sector.rules");
    let (code, out, err) = run(&["diff", &case("reorder", "old"), &case("reorder", "new")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("无差异 no differences"), "{out}");

    let (code, out, err) = run(&[
        "diff",
        &case("clause-added", "old"),
        &case("clause-added", "new"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let diff: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(diff["clauses"]["added"][0]["id"], "拖欠农民工工资");
}

#[test]
fn diff_takes_the_base_from_beside_the_file() {
    let side = |s: &str| format!("{CASES}/inherited-base-changed/{s}/sector.rules");
    let (code, out, err) = run(&["diff", &side("old"), &side("new")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("~ 提示 flag 经营异常 〔继承自 inherited from city.base〕"),
        "{out}"
    );
}

#[test]
fn diff_exits_2_with_a_clear_error() {
    let (code, out, err) = run(&["diff", "no/such.rules", "rulesets/water/water.rules"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("the old version `no/such.rules` cannot be compared"),
        "{err}"
    );
    assert!(err.contains("cannot read `no/such.rules`"), "{err}");

    let (code, _, err) = run(&["diff", "water@zz", "water"]);
    assert_eq!(code, 2);
    assert!(err.contains("E0800") && err.contains("ID@latest"), "{err}");

    let (code, _, err) = run(&["diff", "water@latest", "water", "--data", "no/such/db"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("there is no record store at `no/such/db`"),
        "{err}"
    );
}

/// A stored version is diffed on the base versions its version identity names.
#[test]
fn diff_reads_stored_versions_with_the_bases_their_identity_names() {
    use chrono::{TimeZone, Utc};
    use credit_rules::store::{NewRuleSetVersion, SledStore, Versions};
    let dir = tempfile::tempdir().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = std::fs::read_to_string(root.join("rulesets/city/base.rules")).expect("base");
    let water = std::fs::read_to_string(root.join("rulesets/water/water.rules")).expect("water");
    let base2 = base.replace(
        "when    any(records where kind = 经营异常名录)",
        "when    any(records where kind = 经营异常名录 and within 1 years)",
    );
    let water2 = water.replacen("\"2024.1\"", "\"2024.2\"", 1);
    assert!(base2 != base && water2 != water, "the edits apply");
    let hashes: Vec<String> = {
        let store = SledStore::open(dir.path()).expect("store");
        let saves = [
            ("city.base", &base, 1),
            ("water", &water, 2),
            ("city.base", &base2, 3),
            ("water", &water2, 4),
        ];
        saves
            .iter()
            .map(|(id, source, day)| {
                let version = NewRuleSetVersion {
                    ruleset_id: id,
                    source,
                    author: "test",
                    message: "save",
                    time: Utc.with_ymd_and_hms(2024, 5, *day, 8, 0, 0).unwrap(),
                };
                store.put_ruleset_version(&version).expect("saved").hash
            })
            .collect()
    };
    let data = dir.path().to_str().expect("utf-8");
    // The first water on the first base, as an answer of the time showed its version.
    let first = credit_rules::compile::extend_version_id(&hashes[1], &hashes[0]);
    let old = format!("water@{}", &first[..8]);
    let (code, out, err) = run(&["diff", &old, "water@latest", "--data", data]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("~ water 版本 version: 2024.1 → 2024.2"),
        "{out}"
    );
    assert!(
        out.contains("近1年 (1 year)"),
        "the base saved in between: {out}"
    );

    let (code, _, err) = run(&["diff", "water@ffffffff", "water@active", "--data", data]);
    assert_eq!(code, 2);
    assert!(
        err.contains("rule set `water` has no version whose id starts with `ffffffff`"),
        "{err}"
    );
    let active = credit_rules::compile::extend_version_id(&hashes[3], &hashes[2]);
    assert!(
        err.contains(&active[..8]),
        "the newest version ids are listed: {err}"
    );
    // Fewer than 8 hex digits are refused, the same as in the API.
    let (code, _, short) = run(&["diff", "water@ffff", "water@head", "--data", data]);
    assert_eq!(code, 2);
    assert!(short.contains("ID@active"), "{short}");
}

/// A record store holding the impact fixture's records and its old version (stored).
fn impact_store(dir: &Path) -> (std::path::PathBuf, String) {
    use credit_rules::store::{NewRuleSetVersion, Records, SledStore, Versions};
    let data = dir.join("data");
    let store = SledStore::open(&data).expect("store");
    store
        .put_records(&crate::impact::records())
        .expect("records stored");
    let old = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/impact/old.rules"),
    )
    .expect("fixture");
    let hash = store
        .put_ruleset_version(&NewRuleSetVersion {
            ruleset_id: "impact.demo",
            source: &old,
            author: "test",
            message: "in force",
            time: chrono::Utc::now(),
        })
        .expect("version stored")
        .hash;
    (data, hash)
}

#[test]
fn impact_compares_a_stored_version_with_a_draft() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, hash) = impact_store(dir.path());
    let data = data.to_str().expect("utf-8 path");
    let old = format!("impact.demo@{}", &hash[..10]);
    let args = |old: &str, format: &str| {
        vec![
            "impact".to_string(),
            "--ruleset".into(),
            "impact.demo".into(),
            "--old".into(),
            old.into(),
            "--new".into(),
            "tests/cases/impact/new.rules".into(),
            "--as-of".into(),
            "2024-06-01".into(),
            "--data".into(),
            data.into(),
            "--format".into(),
            format.into(),
        ]
    };
    let argv = args(&old, "json");
    let (code, out, err) = run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(report["counts"]["evaluated"], 24);
    assert_eq!(report["counts"]["newly_disqualified"], 2);
    assert_eq!(report["counts"]["newly_qualified"], 1);
    assert_eq!(report["top"][0]["uscc"], "91420100000000086N");
    assert!(err.contains("evaluated 24 entities"), "{err}");

    // `@head` is the same stored version; text output.
    let argv = args("@head", "text");
    let (code, out, err) = run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("资格取消 newly disqualified            2"),
        "{out}"
    );

    // A tender's bidders: E01 has no records; comments and blank lines are skipped.
    let bidders = dir.path().join("bidders.txt");
    std::fs::write(
        &bidders,
        "# tender 2024-17\n91420100000000019Q\n\n91420100000000086N\n",
    )
    .expect("write");
    let mut argv = args(&old, "json");
    argv.extend(["--entities".into(), bidders.display().to_string()]);
    let (code, out, err) = run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(report["counts"]["evaluated"], 2);
    assert_eq!(report["counts"]["without_records"], 1);
    assert_eq!(report["counts"]["newly_qualified"], 1);
}

#[test]
fn impact_errors_say_what_to_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, _) = impact_store(dir.path());
    let data = data.to_str().expect("utf-8 path");
    let missing = dir.path().join("nothing-here");
    let base = |old: &str, data: &str| {
        vec![
            "impact".to_string(),
            "--ruleset".into(),
            "impact.demo".into(),
            "--old".into(),
            old.into(),
            "--new".into(),
            "tests/cases/impact/new.rules".into(),
            "--as-of".into(),
            "2024-06-01".into(),
            "--data".into(),
            data.into(),
        ]
    };
    let cases = [
        (base("impact.demo@00000000", data), 1, "E0713"),
        (
            base("impact.demo@head", missing.to_str().expect("utf-8")),
            1,
            "E0712",
        ),
        (base("water@head", data), 1, "names rule set `water`"),
        (base("rulesets/water/water.rules", data), 1, "E0711"),
        (
            base("no-such-file.rules", data),
            1,
            "neither a rule file nor a stored version",
        ),
    ];
    for (argv, expected_code, expected) in cases {
        let (code, _, err) = run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, expected_code, "{argv:?}: {err}");
        assert!(err.contains(expected), "{argv:?}: {err}");
    }
    let mut argv = base("@head", data);
    argv.extend(["--top".into(), "10001".into()]);
    let (code, _, err) = run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2, "{err}");
}

/// Runs the binary with its standard output closed before it writes anything, as
/// `credit-rules … | head -c 0` does; returns the exit code (None: ended by a signal) and
/// standard error.
fn run_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err).expect("stderr");
    }
    let status = child.wait().expect("wait");
    (status.code(), err)
}

#[test]
fn commands_stop_quietly_on_a_closed_pipe() {
    for args in [
        &[
            "eval",
            "--ruleset",
            "water",
            "--records",
            "samples/bidder-water.json",
            "--as-of",
            "2024-06-01",
        ][..],
        &["render", "water"][..],
        &["test", "rulesets"][..],
    ] {
        let (code, err) = run_into_closed_pipe(args);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_ne!(code, Some(101), "{args:?}: {err}");
    }
}

/// A fresh empty folder outside the checkout.
fn outside_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("credit-rules-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn the_embedded_rule_sets_are_the_rulesets_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let on_disk = credit_rules::ruleset::rule_files(&root).expect("rulesets folder");
    let mut disk: Vec<(String, String)> = on_disk
        .iter()
        .map(|p| {
            let relative = p.strip_prefix(&root).expect("under rulesets");
            (
                relative.to_string_lossy().replace('\\', "/"),
                std::fs::read_to_string(p).expect("readable"),
            )
        })
        .collect();
    disk.sort();
    let mut embedded: Vec<(String, String)> = credit_rules::shipped::SHIPPED_RULESETS
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    embedded.sort();
    let names = |v: &[(String, String)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&embedded),
        names(&disk),
        "add new rule files to src/shipped.rs"
    );
    assert!(
        embedded == disk,
        "an embedded rule set differs from its file"
    );
}

#[test]
fn the_cli_works_outside_the_checkout() {
    let dir = outside_dir("outside");
    let records = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/bidder-water.json");
    let run_in = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run_in(&[
        "eval",
        "--ruleset",
        "water",
        "--records",
        records.to_str().expect("utf-8"),
        "--as-of",
        "2024-06-01",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("disqualified"), "{out}");
    let (code, _, err) = run_in(&["check", "rulesets"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 error(s)"), "{err}");
    let (code, out, err) = run_in(&["render", "water"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains('#'), "{out}");
}

#[test]
fn serve_seeds_a_fresh_store_outside_the_checkout() {
    use std::io::{Read, Write};
    let dir = outside_dir("serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(["serve", "--addr", &addr, "--demo-entities", "0"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let get = |path: &str| -> Option<String> {
        let mut stream = std::net::TcpStream::connect(&addr).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let mut health = None;
    for _ in 0..300 {
        if let Some(answer) = get("/healthz") {
            health = Some(answer);
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("serve ends");
    let err = String::from_utf8_lossy(&output.stderr);
    let health = health.unwrap_or_default();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}\n{err}");
    assert!(!err.contains("E0004"), "{err}");
    assert!(dir.join("data/dev-tokens.txt").is_file(), "{err}");
}

#[test]
fn decisions_compact_runs_offline_and_never_touches_the_active_segment() {
    use credit_rules::store::{DecisionEntry, DecisionLog, DecisionQuery, RecordStore, SledStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let entry = |time: &str| DecisionEntry {
        time: chrono::DateTime::parse_from_rfc3339(time)
            .expect("time")
            .with_timezone(&chrono::Utc),
        ruleset_id: "water".into(),
        version_hash: "h".into(),
        as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 1).expect("day"),
        usccs: vec![],
        decision: "eligible".into(),
        total: rust_decimal::Decimal::ZERO,
        report: serde_json::json!({}).into(),
        request_id: None,
        caller: None,
        known_at: None,
        inline_records: false,
        context: None,
    };
    {
        let store = SledStore::open(&data).expect("open");
        store
            .append_decisions(&[entry("2020-03-01T00:00:00Z")])
            .expect("append");
        store.flush().expect("flush");
    }
    // One segment, the active one: nothing may be removed.
    let (code, out, err) = run(&[
        "decisions",
        "compact",
        "--data",
        data.to_str().expect("utf-8"),
        "--before",
        "2021-01-01",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed 0 journal segment(s)"), "{out}");
    let store = SledStore::open(&data).expect("reopen");
    assert_eq!(
        store
            .decisions(&DecisionQuery::default())
            .expect("query")
            .len(),
        1
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// `GET path` over a fresh connection: (status line, whole answer).
fn get(port: u16, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.lines().next()?.to_owned();
    Some((status, answer))
}

#[test]
fn serve_with_a_metrics_address_and_json_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(["serve", "--demo-entities", "0", "--log-format", "json"])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["--data", dir.path().join("data").to_str().expect("utf-8")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut up = false;
    for _ in 0..200 {
        if get(port, "/healthz").is_some_and(|(s, _)| s.contains("200")) {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let main_metrics = get(port, "/metrics");
    let own_metrics = get(metrics_port, "/metrics");
    let _ = child.kill();
    let output = child.wait_with_output().expect("stopped");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(up, "the server did not come up: {log}");
    let (status, _) = main_metrics.expect("main address answers");
    assert!(status.contains("404"), "{status}");
    let (status, body) = own_metrics.expect("metrics address answers");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("http_requests_total"), "{body}");
    // Every line is a JSON object; the access log is among them, without colours.
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log that is not a terminal"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["target"] == "access"
            && l["fields"]["path"] == "/healthz"
            && l["fields"]["request_id"].is_string()),
        "{log}"
    );
}

/// `credit-rules replay ID` recomputes a logged decision from the store; `receipt verify`
/// checks a receipt offline and refuses an altered one; `impact --known-at` reads the records
/// as known then.
#[test]
fn replay_receipt_verify_and_impact_as_known_then() {
    use credit_rules::receipt::{ReceiptBody, ReceiptKey};
    use credit_rules::store::{
        DecisionEntry, DecisionLog, NewRuleSetVersion, Records, SledStore, Versions,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let workspace = crate::common::shipped();
    let program = workspace.compile("water").expect("water");
    let uscc = crate::common::code(77);
    let as_of = crate::common::day("2024-06-01");
    let before_records = chrono::Utc::now() - chrono::Duration::days(1);
    let (report, known_at) = {
        let store = SledStore::open(&data).expect("store");
        for id in workspace.ids() {
            let (file, _) = workspace.library.get(&id).expect("source");
            store
                .put_ruleset_version(&NewRuleSetVersion {
                    ruleset_id: &id,
                    source: &file.text,
                    author: "seed",
                    message: "shipped",
                    time: chrono::Utc::now(),
                })
                .expect("version");
        }
        let records = [crate::common::record(
            "B-1",
            &uscc,
            credit_rules::record::RecordKind::Blacklist,
            "2024-03-01",
        )];
        store.put_records(&records).expect("stored");
        std::thread::sleep(std::time::Duration::from_millis(3));
        let known_at = chrono::Utc::now();
        let records = store.records_of(&uscc).expect("records");
        let report = program.evaluate(&records, as_of).report(&program, &records);
        let entry = DecisionEntry::from_report(&report, vec![uscc.clone()], known_at)
            .records_from(known_at, false);
        assert_eq!(store.append_decision(&entry).expect("logged"), 1);
        (report, known_at)
    };
    let data_arg = data.to_str().expect("utf-8");
    let (code, out, err) = run(&["replay", "1", "--data", data_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("decision 1: identical"), "{out}");
    let (code, _, err) = run(&["replay", "9", "--data", data_arg]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no decision 9"), "{err}");

    // Before the record was stored the entity had none: nothing to change either way.
    let at = credit_rules::receipt::receipt_time(before_records);
    let (code, out, err) = run(&[
        "impact",
        "--ruleset",
        "water",
        "--old",
        "water@active",
        "--new",
        "water@active",
        "--as-of",
        "2024-06-01",
        "--data",
        data_arg,
        "--known-at",
        &at,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let impact: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(impact["decisions"]["old"]["disqualified"], 0, "{out}");

    let key = ReceiptKey::generate().expect("key");
    let receipt = key.sign(ReceiptBody::of(
        &report,
        1,
        Some(uscc.to_string()),
        None,
        known_at,
        known_at,
    ));
    let file = dir.path().join("receipt.json");
    let answer = serde_json::json!({ "decision": report.decision.code(), "receipt": receipt });
    std::fs::write(&file, answer.to_string()).expect("written");
    let file_arg = file.to_str().expect("utf-8");
    let public = key.public_key_hex();
    let (code, out, err) = run(&["receipt", "verify", file_arg, "--public-key", &public]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("valid: decision 1"), "{out}");
    let altered = answer
        .to_string()
        .replace("\"decision_id\":1", "\"decision_id\":2");
    assert_ne!(altered, answer.to_string());
    std::fs::write(&file, altered).expect("written");
    let (code, _, err) = run(&["receipt", "verify", file_arg]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("INVALID"), "{err}");
    std::fs::write(&file, "{}").expect("written");
    assert_eq!(run(&["receipt", "verify", file_arg]).0, 2);

    // Both formats: a receipt of an earlier release (format 1), and one of a batch signed
    // together (format 2), whose path, once altered, no longer leads to the signed root.
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/receipts");
    let old = cases.join("format-1.json");
    let (code, out, err) = run(&["receipt", "verify", old.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("valid: decision 17"), "{out}");
    let batch: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(cases.join("format-2-batch.json")).expect("fixture"),
    )
    .expect("json");
    std::fs::write(&file, batch[2].to_string()).expect("written");
    let (code, out, err) = run(&["receipt", "verify", file_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("signed together with 2 other receipt(s): leaf 2"),
        "{out}"
    );
    assert!(out.contains("tender context signed with it"), "{out}");
    let mut tampered = batch[2].clone();
    tampered["batch"]["path"][0] = serde_json::json!("00".repeat(32));
    std::fs::write(&file, tampered.to_string()).expect("written");
    let (code, _, err) = run(&["receipt", "verify", file_arg]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not part of the signed batch"), "{err}");
}

#[test]
fn lang_chooses_the_language_of_diagnostics() {
    let bad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/check/err/unknown-kind.rules");
    let bad = bad.to_str().expect("utf-8 path");
    // The case is written with English keywords: English by default.
    let (_, _, err) = run(&["check", bad]);
    assert!(err.contains("error[E0201]: unknown record kind"), "{err}");
    let (code, _, err) = run(&["check", "--lang", "zh", bad]);
    assert_eq!(code, 1);
    assert!(
        err.contains("错误[E0201]：未知的记录类别 `行政处法`"),
        "{err}"
    );
    assert!(err.contains("修改建议：是不是要写 `行政处罚`？"), "{err}");
    assert!(err.contains("个错误"), "{err}");
    let (_, out, _) = run(&["check", "--lang", "zh", "--format", "json", bad]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json[0]["lang"], "zh", "{out}");
    let (code, _, err) = run(&["check", "--lang", "fr", bad]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_file_with_chinese_keywords_gets_chinese_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("zh.rules");
    std::fs::write(
        &file,
        "规则集 示例.中文 {\n  标题 \"示例\"\n  版本 \"1\"\n  生效日期 2024-01-01\n  责任单位 \"某局\"\n}\n否决 甲 {\n  表述 \"…\"\n  条件 存在(记录 满足 类别 = 行政处法)\n}\n",
    )
    .expect("write");
    let (code, _, err) = run(&["check", file.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("错误[E0201]：未知的记录类别 `行政处法`"),
        "{err}"
    );
    let (_, _, err) = run(&["check", "--lang", "en", file.to_str().expect("utf-8")]);
    assert!(err.contains("error[E0201]"), "{err}");
}

#[test]
fn a_copy_of_a_library_rule_file_is_checked_without_a_duplicate_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("water.rules");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/water/water.rules");
    std::fs::copy(&shipped, &copy).expect("copy");
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let (code, _, err) = run(&[
        "check",
        "--lib",
        lib.to_str().expect("utf-8"),
        copy.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("E0300"), "{err}");
    let (code, out, err) = run(&[
        "test",
        "--lib",
        lib.to_str().expect("utf-8"),
        copy.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}
