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

/// Stored versions are diffed with the base that was in force when each was saved.
#[test]
fn diff_reads_stored_versions_with_their_bases_of_the_time() {
    use chrono::{TimeZone, Utc};
    use credit_rules::store::{NewRuleSetVersion, RecordStore, SledStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = std::fs::read_to_string(root.join("rulesets/city/base.rules")).expect("base");
    let water = std::fs::read_to_string(root.join("rulesets/water/water.rules")).expect("water");
    let base2 = base.replace(
        "when    any(records where kind = 经营异常名录)",
        "when    any(records where kind = 经营异常名录 and within 1 years)",
    );
    let water2 = water.replace("version   \"2024.1\"", "version   \"2024.2\"");
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
    let old = format!("water@{}", &hashes[1][..8]);
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
        err.contains("rule set `water` has no stored version `ffffffff`"),
        "{err}"
    );
    assert!(
        err.contains(&hashes[3][..12]),
        "the stored versions are listed: {err}"
    );
    // Fewer than 8 hex digits are refused, the same as in the API.
    let (code, _, short) = run(&["diff", "water@ffff", "water@head", "--data", data]);
    assert_eq!(code, 2);
    assert!(short.contains("ID@active"), "{short}");
}

/// A record store holding the impact fixture's records and its old version (stored).
fn impact_store(dir: &Path) -> (std::path::PathBuf, String) {
    use credit_rules::store::{NewRuleSetVersion, RecordStore, SledStore};
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
