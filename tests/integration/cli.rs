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
