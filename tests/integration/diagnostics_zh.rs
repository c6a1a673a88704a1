//! Chinese diagnostics: every check and parse case is also rendered in Chinese
//! (snapshotted, so the wording is reviewed), and every message, help and note of
//! those cases must have a Chinese template in the catalog — a new message without
//! one fails here.

use crate::common::{source, workspace_with};
use credit_rules::diagnostic::{Diagnostics, Lang};

fn diagnostics_of(path: &std::path::Path) -> Diagnostics {
    let (workspace, id) = workspace_with(source(path));
    let Some(id) = id else {
        return workspace.errors;
    };
    match workspace.compile(&id) {
        Ok(program) => program.warnings,
        Err(d) => d,
    }
}

fn assert_translated(diagnostics: &Diagnostics) {
    let untranslated: Vec<String> = diagnostics
        .iter()
        .filter(|d| !d.fully_translated())
        .map(|d| d.render())
        .collect();
    assert!(
        untranslated.is_empty(),
        "no Chinese template in src/diagnostic/catalog.rs for:\n{}",
        untranslated.join("\n")
    );
}

#[test]
fn check_cases_in_chinese() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "check/*/*.rules",
        |path| {
            let diagnostics = diagnostics_of(path);
            assert!(!diagnostics.is_empty());
            assert_translated(&diagnostics);
            insta::assert_snapshot!(diagnostics.render_in(Lang::Zh));
        }
    );
}

#[test]
fn parse_cases_in_chinese() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "parse/err/*.rules",
        |path| {
            let errors = credit_rules::syntax::parse(&source(path)).expect_err("must fail");
            assert_translated(&errors);
            insta::assert_snapshot!(errors.render_in(Lang::Zh));
        }
    );
}

#[test]
fn a_chinese_file_defaults_to_chinese_and_an_english_one_to_english() {
    let zh = credit_rules::source::SourceFile::new(
        "zh.rules",
        "规则集 甲 { 标题 \"t\" 版本 \"1\" 生效日期 2024-01-01 }\n否决 乙 { 条件 存在(记录 满足 类别 = 行政处法) }\n",
    );
    let en = credit_rules::source::SourceFile::new(
        "en.rules",
        "ruleset a { title \"t\" version \"1\" effective 2024-01-01 }\nveto b { when any(records where kind = 行政处法) }\n",
    );
    for (file, lang, expected) in [
        (zh, Lang::Zh, "错误[E0201]：未知的记录类别 `行政处法`"),
        (en, Lang::En, "error[E0201]: unknown record kind `行政处法`"),
    ] {
        let (workspace, id) = workspace_with(file);
        let errors = workspace.compile(&id.unwrap()).expect_err("unknown kind");
        let d = errors.iter().find(|d| d.code == "E0201").unwrap();
        assert_eq!(d.lang_or(Lang::Zh), lang);
        assert!(
            d.render_auto(Lang::Zh).starts_with(expected),
            "{}",
            d.render_auto(Lang::Zh)
        );
        let json = d.to_json_in(lang);
        assert_eq!(json.lang, lang);
    }
}
