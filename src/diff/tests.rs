//! Unit tests of the diff: small rule sets compared in memory.

use super::*;

const BASE: &str = r#"
ruleset base { title "基础" version "1" effective 2020-01-01 unit "局" }
veto mandatory 黑名单 {
  wording "黑名单否决"
  when any(records where kind = 黑名单)
}
"#;

fn sector(body: &str) -> String {
    format!(
        "ruleset s {{ title \"行业\" version \"1\" effective 2020-01-01 unit \"局\" extends base }}\n{body}"
    )
}

fn compare(old_base: &str, old: &str, new_base: &str, new: &str) -> RuleSetDiff {
    let files = |base: &str, leaf: &str| {
        vec![
            SourceFile::new("base.rules", base.to_string()),
            SourceFile::new("s.rules", leaf.to_string()),
        ]
    };
    match diff_sources(&files(old_base, old), "s", &files(new_base, new), "s") {
        Ok(d) => d,
        Err(e) => panic!("{e}: {}", e.diagnostics().render()),
    }
}

const PENALTY: &str = r#"
const 回看期 = 2 years
flag 处罚 {
  wording "近两年有行政处罚的，提示"
  when any(records where kind = 行政处罚 and within 回看期)
}
"#;

#[test]
fn the_same_text_gives_an_empty_diff() {
    let s = sector(PENALTY);
    let d = compare(BASE, &s, BASE, &s);
    assert!(d.is_empty(), "{d:#?}");
    assert!(d.render_text().contains("无差异 no differences"));
}

#[test]
fn spelling_a_kind_by_its_code_is_no_change() {
    let coded = PENALTY.replace("kind = 行政处罚", "类别 = ADMIN_PENALTY");
    let d = compare(BASE, &sector(PENALTY), BASE, &sector(&coded));
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn a_constant_change_marks_the_clause_using_it() {
    let longer = PENALTY.replace("2 years", "3 years");
    let d = compare(BASE, &sector(PENALTY), BASE, &sector(&longer));
    assert_eq!(d.constants.len(), 1);
    assert_eq!(d.constants[0].used_by, ["处罚"]);
    let change = &d.clauses.changed[0];
    assert_eq!(change.constants, ["回看期"]);
    assert_eq!(change.text_diff, None, "the clause text itself is the same");
    let windows = change
        .aspects
        .iter()
        .find(|a| a.aspect == Aspect::Windows)
        .expect("windows are reported");
    assert_eq!(
        windows.new,
        Some(AspectValue::List(vec!["3 years".to_string()]))
    );
}

#[test]
fn an_unused_constant_is_listed_but_changes_no_clause() {
    let more = format!("{PENALTY}\nconst 备用 = 5\n");
    let d = compare(BASE, &sector(PENALTY), BASE, &sector(&more));
    assert_eq!(d.constants[0].change, Change::Added);
    assert!(d.constants[0].used_by.is_empty());
    assert!(d.clauses.changed.is_empty());
}

#[test]
fn an_inherited_change_is_marked_inherited() {
    let stricter = BASE.replace("kind = 黑名单", "kind in [黑名单, 失信被执行人]");
    let d = compare(BASE, &sector(""), &stricter, &sector(""));
    let change = &d.clauses.changed[0];
    assert_eq!((change.id.as_str(), change.inherited), ("黑名单", true));
    assert_eq!(change.origin, "base");
    assert!(
        change
            .text_diff
            .as_deref()
            .is_some_and(|t| t.contains("+  when"))
    );
}

#[test]
fn a_sector_override_moves_the_origin() {
    let flag = r#"flag 经营异常 { wording "a" when any(records where kind = 经营异常名录) }"#;
    let base = format!("{BASE}\n{flag}\n");
    let override_ = flag.replace("\"a\"", "\"b\"");
    let d = compare(&base, &sector(""), &base, &sector(&override_));
    let aspects: Vec<Aspect> = d.clauses.changed[0]
        .aspects
        .iter()
        .map(|a| a.aspect)
        .collect();
    assert_eq!(aspects, [Aspect::Origin, Aspect::Wording]);
}

#[test]
fn a_removed_clause_names_the_remove_directive() {
    let flag = r#"flag 经营异常 { wording "a" when any(records where kind = 经营异常名录) }"#;
    let base = format!("{BASE}\n{flag}\n");
    let d = compare(&base, &sector(""), &base, &sector("remove 经营异常\n"));
    let removed = &d.clauses.removed[0];
    assert_eq!(removed.clause.id, "经营异常");
    assert_eq!(removed.removed_by.as_deref(), Some("s"));
}

#[test]
fn a_kind_change_reports_condition_and_points() {
    let veto = r#"veto 处罚 { wording "w" when any(records where kind = 行政处罚) }"#;
    let score = r#"score 处罚 { wording "w" points 0 - count(records where kind = 行政处罚) cap 0 floor -3 }"#;
    let d = compare(BASE, &sector(veto), BASE, &sector(score));
    let change = &d.clauses.changed[0];
    let aspects: Vec<Aspect> = change.aspects.iter().map(|a| a.aspect).collect();
    assert_eq!(
        aspects,
        [
            Aspect::Kind,
            Aspect::Condition,
            Aspect::Points,
            Aspect::Cap,
            Aspect::Floor
        ]
    );
    assert_eq!(change.aspects[1].new, None);
    assert_eq!(change.aspects[2].old, None);
}

#[test]
fn errors_say_which_side_failed() {
    let good = vec![
        SourceFile::new("base.rules", BASE),
        SourceFile::new("s.rules", sector("")),
    ];
    let broken = vec![SourceFile::new("s.rules", sector(""))];
    let err = diff_sources(&good, "s", &broken, "s").expect_err("the new side has no base");
    assert!(matches!(err, DiffError::New(_)));
    assert!(
        err.diagnostics()
            .render()
            .contains("unknown rule set `base`")
    );
}

#[test]
fn window_text_is_singular_for_one() {
    let one = Duration {
        amount: 1,
        unit: DurationUnit::Months,
    };
    assert_eq!(window_text(&one), "1 month");
}

#[test]
fn given_sources_must_all_parse() {
    let good = vec![
        SourceFile::new("base.rules", BASE),
        SourceFile::new("s.rules", sector("")),
    ];
    let mut bad = good.clone();
    bad.push(SourceFile::new("broken.rules", "ruleset broken {"));
    let err = diff_sources(&bad, "s", &good, "s").expect_err("a broken file is refused");
    assert!(matches!(err, DiffError::Old(_)));
}

/// Notes are never printed, but reviewers see them change: as a clause aspect
/// and as a header field, with the query fields beside it.
#[test]
fn notes_and_query_fields_show_in_the_diff() {
    let noted = PENALTY.replace(
        "wording \"近两年有行政处罚的，提示\"",
        "wording \"近两年有行政处罚的，提示\"\n  note \"期限为示例\"",
    );
    let d = compare(BASE, &sector(PENALTY), BASE, &sector(&noted));
    assert_eq!(d.clauses.changed.len(), 1, "{d:#?}");
    let aspects: Vec<Aspect> = d.clauses.changed[0]
        .aspects
        .iter()
        .map(|a| a.aspect)
        .collect();
    assert_eq!(aspects, [Aspect::Note]);
    assert!(d.render_text().contains("备注 note"), "{}", d.render_text());

    let header = |extra: &str| {
        format!(
            "ruleset s {{ title \"行业\" version \"1\" effective 2020-01-01 unit \"局\" extends base {extra} }}\n{PENALTY}"
        )
    };
    let d = compare(
        BASE,
        &header(""),
        BASE,
        &header("query_channel \"信用中国\" [行政处罚] query_day \"开标当日\" note \"待确认\""),
    );
    let fields: Vec<HeaderField> = d.header.iter().map(|h| h.field).collect();
    assert_eq!(
        fields,
        [
            HeaderField::QueryChannels,
            HeaderField::QueryDay,
            HeaderField::Note
        ]
    );
    assert_eq!(d.header[0].new.as_deref(), Some("信用中国 [行政处罚]"));
}
