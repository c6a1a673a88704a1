//! The legality lint (W0501–E0512), header allowances (`allow … because "…"`: check, fmt,
//! diff) and clause coverage (`credit-rules test --coverage`).

use crate::common::workspace_with;
use credit_rules::diagnostic::{Diagnostics, Lang};
use credit_rules::diff::{HeaderField, diff_sources};
use credit_rules::source::SourceFile;
use credit_rules::testing::{coverage, coverage_percent, run_tests};
use std::path::Path;
use std::process::Command;

/// A rule set extending the city base, with `header` lines added and `body` after it.
fn rules(header: &str, body: &str) -> String {
    format!(
        "ruleset demo.legal {{\n  title \"t\"\n  version \"1\"\n  effective 2024-01-01\n  unit \"u\"\n  extends city.base\n{header}}}\n{body}"
    )
}

/// Checks a text: `Ok(warnings)` or `Err(errors and warnings)`.
fn check(text: &str) -> Result<Diagnostics, Diagnostics> {
    let (workspace, id) = workspace_with(SourceFile::new("demo.rules", text));
    let id = id.ok_or_else(|| workspace.errors.clone())?;
    workspace.compile(&id).map(|p| p.warnings)
}

/// The legality codes (W05xx, E05xx) among `diagnostics`.
fn legality(diagnostics: &Diagnostics) -> Vec<&'static str> {
    diagnostics
        .iter()
        .map(|d| d.code)
        .filter(|c| c.starts_with("W05") || c.starts_with("E05"))
        .collect()
}

/// The codes of every diagnostic of a check, errors or not.
fn codes(text: &str) -> Vec<&'static str> {
    let diagnostics = match check(text) {
        Ok(d) | Err(d) => d,
    };
    diagnostics.iter().map(|d| d.code).collect()
}

const VETO_MINOR: &str = "veto 处罚 { when any(records where kind = 行政处罚) }\n";
const VETO_EXPIRED: &str = "veto 处罚 { when any(records where kind = 行政处罚 and severity = 严重 and status in [有效, 已过公示期]) }\n";

#[test]
fn each_lint_fires_on_its_case_and_cites_its_basis() {
    let cases: &[(&str, &str)] = &[
        (
            "W0501",
            "score 奖 { points count(records where kind = 表彰奖励 and authority contains \"武汉\") cap 2 floor 0 }\n",
        ),
        (
            "E0502",
            "veto 无奖 { when none(records where kind = 表彰奖励) }\n",
        ),
        (
            "W0503",
            "veto 等级 { when latest(records where kind = 信用等级, grade) otherwise \"B\" = \"D\" }\n",
        ),
        (
            "W0504",
            "veto 异常 { when any(records where kind = 经营异常名录) }\n",
        ),
        ("W0505", VETO_MINOR),
        (
            "E0506",
            "veto 禁投 { when any(records where kind = 取消投标资格 and status in [有效, 已过公示期]) }\n",
        ),
        ("W0507", VETO_EXPIRED),
        (
            "W0507",
            "score 扣分 { points -count(records where kind = 不良行为记录 and status in [有效, 已修复]) cap 0 floor -3 }\n",
        ),
        (
            "E0508",
            "flag 本地 { wording \"投标人注册地须在武汉市。\" when any(records where kind = 黑名单) }\n",
        ),
        (
            "W0509",
            "flag 规模 { wording \"投标人注册资本不低于5000万元。\" when any(records where kind = 黑名单) }\n",
        ),
    ];
    for (code, body) in cases {
        let diagnostics = match check(&rules("", body)) {
            Ok(d) | Err(d) => d,
        };
        let found = diagnostics
            .iter()
            .find(|d| d.code == *code)
            .unwrap_or_else(|| panic!("{code} not raised for {body}:\n{}", diagnostics.render()));
        assert!(
            found.notes.iter().any(|n| n.starts_with("legal basis: ")
                && (n.contains('《') || n.contains("〔2023〕860号"))),
            "{code} names no legal basis: {:?}",
            found.notes
        );
        assert_eq!(
            code.starts_with('E'),
            found.is_error(),
            "{code} has the wrong severity"
        );
        // In Chinese: message, help and basis all translated.
        let zh = found.render_in(Lang::Zh);
        assert!(
            zh.contains("法律依据：")
                && !zh.contains(&found.message)
                && !found.help.as_deref().is_some_and(|h| zh.contains(h)),
            "{code} is not fully in Chinese:\n{zh}"
        );
    }
}

#[test]
fn lawful_clauses_draw_no_legality_diagnostic() {
    let lawful = [
        // Awards for points, whoever gave them.
        "score 奖 { points 0.5 * count(records where kind = 表彰奖励 and within 3 years) cap 2 floor 0 }\n",
        // A serious penalty, or a penalty type the made-up record does not have: unknown.
        "veto 处罚 { when any(records where kind = 行政处罚 and severity = 严重) }\n",
        "veto 吊销 { when any(records where kind = 行政处罚 and penalty in [\"吊销许可证\"]) }\n",
        // Two minor penalties are not one.
        "veto 两起 { when count(records where kind = 行政处罚) >= 2 }\n",
        // A current ban; an abnormal listing only flagged.
        "veto 禁投 { when any(records where kind = 取消投标资格) }\n",
        "flag 异常 { when any(records where kind = 经营异常名录) }\n",
        // Repaired records looked at to give points back is no deduction.
        "score 修复 { points count(records where kind = 不良行为记录 and status = 已修复) cap 1 floor 0 }\n",
        // A prohibition in the wording is not a condition.
        "flag 说明 { wording \"不得以注册地、所有制形式或注册资本限制投标人。\" when any(records where kind = 黑名单) }\n",
    ];
    for body in lawful {
        let found = match check(&rules("", body)) {
            Ok(d) | Err(d) => legality(&d),
        };
        assert!(found.is_empty(), "{body} drew {found:?}");
    }
}

#[test]
fn an_allowance_with_a_reason_accepts_a_warning_of_its_own_clauses() {
    let allowed = rules(
        "  allow W0507 because \"政府采购法第二十二条：前三年内的重大违法记录，公示期满仍计\"\n",
        VETO_EXPIRED,
    );
    let warnings = check(&allowed).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(legality(&warnings).is_empty(), "{}", warnings.render());
    // Without it the warning is there.
    let warnings = check(&rules("", VETO_EXPIRED)).unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(legality(&warnings), ["W0507"]);
    // The same in Chinese keywords.
    let chinese = allowed.replace("allow W0507 because", "允许 W0507 理由");
    let warnings = check(&chinese).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(legality(&warnings).is_empty(), "{}", warnings.render());
}

#[test]
fn allowances_that_suppress_nothing_or_name_errors_or_give_no_reason_are_reported() {
    // Nothing to suppress, and a duplicate.
    let unused = rules(
        "  allow W0504 because \"r\"\n  allow W0505 because \"r\"\n  allow W0505 because \"r\"\n",
        VETO_MINOR,
    );
    let warnings = check(&unused).unwrap_or_else(|d| panic!("{}", d.render()));
    let w0511: Vec<_> = warnings.iter().filter(|d| d.code == "W0511").collect();
    assert_eq!(w0511.len(), 2, "{}", warnings.render());
    assert!(!warnings.iter().any(|d| d.code == "W0505"));
    // An error cannot be allowed, and stays.
    let error = rules(
        "  allow E0502 because \"r\"\n",
        "veto 无奖 { when none(records where kind = 表彰奖励) }\n",
    );
    let found = codes(&error);
    assert!(
        found.contains(&"E0510") && found.contains(&"E0502"),
        "{found:?}"
    );
    // Neither can a code that is not a legality warning.
    assert!(codes(&rules("  allow W0106 because \"r\"\n", "")).contains(&"E0510"));
    // A reason must say something.
    let found = codes(&rules("  allow W0505 because \"  \"\n", VETO_MINOR));
    assert!(
        found.contains(&"E0512") && found.contains(&"W0505"),
        "{found:?}"
    );
    // Each of these in Chinese.
    for text in [
        unused.as_str(),
        error.as_str(),
        &rules("  allow W0106 because \"r\"\n", ""),
        &rules("  allow W0505 because \"  \"\n", VETO_MINOR),
    ] {
        let diagnostics = match check(text) {
            Ok(d) | Err(d) => d,
        };
        for d in diagnostics
            .iter()
            .filter(|d| d.code.starts_with("E051") || d.code == "W0511")
        {
            let zh = d.render_in(Lang::Zh);
            assert!(
                !zh.contains(&d.message) && !d.help.as_deref().is_some_and(|h| zh.contains(h)),
                "{} is not in Chinese:\n{zh}",
                d.code
            );
        }
    }
}

#[test]
fn allowances_survive_fmt_in_both_dialects() {
    for text in [
        rules("  allow W0505 because \"理由\"\n", VETO_MINOR),
        rules("  allow W0505 because \"理由\"\n", VETO_MINOR)
            .replace("ruleset", "规则集")
            .replace("allow W0505 because", "允许 W0505 理由"),
    ] {
        let source = SourceFile::new("demo.rules", text.as_str());
        let once =
            credit_rules::fmt::format_source(&source).unwrap_or_else(|d| panic!("{}", d.render()));
        let twice = credit_rules::fmt::format_source(&SourceFile::new("demo.rules", once.as_str()))
            .unwrap_or_else(|d| panic!("{}", d.render()));
        assert_eq!(once, twice, "fmt is not stable");
        let keyword = if text.starts_with("规则集") {
            "允许"
        } else {
            "allow"
        };
        let because = if text.starts_with("规则集") {
            "理由"
        } else {
            "because"
        };
        let line = once
            .lines()
            .find(|l| l.trim_start().starts_with(keyword))
            .unwrap_or_else(|| panic!("fmt dropped the allowance:\n{once}"));
        assert!(
            line.contains(&format!("W0505 {because} \"理由\"")),
            "{line}"
        );
        let warnings = check(&once).unwrap_or_else(|d| panic!("{}", d.render()));
        assert!(legality(&warnings).is_empty(), "{}", warnings.render());
    }
}

#[test]
fn the_diff_shows_an_allowance_added_and_changed() {
    let base_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/city/base.rules");
    let base = SourceFile::new(
        "rulesets/city/base.rules",
        std::fs::read_to_string(&base_path).expect("the city base is readable"),
    );
    let without = SourceFile::new("a.rules", rules("", VETO_MINOR));
    let with = SourceFile::new(
        "b.rules",
        rules("  allow W0505 because \"理由一\"\n", VETO_MINOR),
    );
    let changed = SourceFile::new(
        "c.rules",
        rules("  allow W0505 because \"理由二\"\n", VETO_MINOR),
    );
    let diff = |old: &SourceFile, new: &SourceFile| {
        diff_sources(
            &[old.clone(), base.clone()],
            "demo.legal",
            &[new.clone(), base.clone()],
            "demo.legal",
        )
        .unwrap_or_else(|_| panic!("both sides check"))
    };
    let added = diff(&without, &with);
    let change = added
        .header
        .iter()
        .find(|h| h.field == HeaderField::Allowances)
        .expect("the allowance is in the diff");
    assert_eq!(change.old, None);
    assert_eq!(change.new.as_deref(), Some("W0505 because “理由一”"));
    assert!(
        added.clauses.added.is_empty()
            && added.clauses.removed.is_empty()
            && added.clauses.changed.is_empty(),
        "an allowance changes no clause"
    );
    let edited = diff(&with, &changed);
    assert!(
        edited
            .header
            .iter()
            .any(|h| h.field == HeaderField::Allowances
                && h.new.as_deref() == Some("W0505 because “理由二”")),
        "a changed reason is in the diff"
    );
    let removed = diff(&with, &without);
    assert!(
        removed
            .header
            .iter()
            .any(|h| h.field == HeaderField::Allowances && h.new.is_none()),
        "a removed allowance is in the diff"
    );
}

/// Two clauses: the veto is tested both ways, the score only at 0.
const PARTLY_COVERED: &str = "veto 禁投 { when any(records where kind = 取消投标资格) }
score 扣分 { points -count(records where kind = 不良行为记录) cap 0 floor -3 }
test \"禁投\" {
  as_of 2024-06-01
  record B1 { kind 取消投标资格 date 2024-01-01 }
  expect veto 禁投
}
test \"无记录\" {
  as_of 2024-06-01
  expect eligible
}
";

#[test]
fn coverage_counts_fired_and_not_fired_per_own_clause() {
    let (workspace, id) = workspace_with(SourceFile::new("demo.rules", rules("", PARTLY_COVERED)));
    let program = workspace
        .compile(&id.expect("parses"))
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let results = run_tests(&program);
    let covered = coverage(&program, &results);
    // Only the rule set's own clauses, not the inherited city ones.
    let ids: Vec<(&str, bool, bool)> = covered
        .iter()
        .map(|c| (c.id.as_str(), c.fired, c.not_fired))
        .collect();
    assert_eq!(ids, [("禁投", true, true), ("扣分", false, true)]);
    assert_eq!(coverage_percent(&covered).to_string(), "75");
}

#[test]
fn test_coverage_flag_prints_the_table_and_enforces_the_bar() {
    let dir = std::env::temp_dir().join(format!("credit-rules-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("demo.rules");
    std::fs::write(&file, rules("", PARTLY_COVERED)).expect("write");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let path = file.display().to_string();
    let (code, out) = run(&["test", "--coverage", &path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("coverage demo.legal: 75% (1 of 2 clauses fired and not fired)"),
        "{out}"
    );
    assert!(out.contains("  NO     yes        score  扣分"), "{out}");
    let (code, out) = run(&["test", "--coverage=100", &path]);
    assert_eq!(code, 1, "below the bar must fail:\n{out}");
    assert!(out.contains("coverage below 100%"), "{out}");
    let (code, out) = run(&["test", "--coverage=75", &path]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["test", "--coverage=100", "rulesets"]);
    assert_eq!(code, 0, "the shipped rule sets are fully covered:\n{out}");
    std::fs::remove_dir_all(&dir).ok();
}
