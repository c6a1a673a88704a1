//! Impact analysis through the record store, on the hand-made fixture of
//! `tests/cases/impact/` (old.rules → new.rules, as of 2024-06-01). What each entity `E<n>`
//! (USCC body `0000000n`) must do, and why:
//!
//! | entity | records | old → new decision | old → new total | responsible |
//! |---|---|---|---|---|
//! | E01 | none (bidder list only) | 合格 → 合格 | 0 → 0 | — |
//! | E02 | 1 award | 合格 → 合格 | 1 → 1 | — |
//! | E03 | 1 penalty | 合格 → 合格 | −1 → −2 | 行政处罚扣分 |
//! | E04 | 2 penalties | 合格 → 合格 | −2 → −4 | 行政处罚扣分 |
//! | E05 | 3 penalties | 合格 → 合格 | −3 → −4 (floor) | 行政处罚扣分 |
//! | E06 | old penalty, 1 bad behaviour | 合格 → 合格 | −0.5 → 0 | 不良行为扣分 (removed) |
//! | E07 | 4 bad behaviours, 1 award | 合格 → 合格 | −1 → 1 | 不良行为扣分 |
//! | E08 | serious penalty | 不合格 → 合格 | −1 → −2 | 行政处罚扣分, 严重处罚 (removed) |
//! | E09 | judgment defaulter | 不合格 → 不合格 | 0 → 0 | — |
//! | E10 | defaulter, penalty | 不合格 → 不合格 | −1 → −2 | 行政处罚扣分 |
//! | E11 | wage arrears | 合格 → 不合格 | 0 → 0 | 拖欠农民工工资 (flag → veto) |
//! | E12 | wage arrears, 2 awards | 合格 → 不合格 | 2 → 2 | 拖欠农民工工资 |
//! | E13 | abnormal operation 2022 | 合格 → 合格 (no longer flagged) | 0 → 0 | 经营异常 |
//! | E14 | abnormal operation 2024 | unchanged (still flagged) | 0 → 0 | — |
//! | E15 | watch list | 合格 → 合格 (newly flagged) | 0 → 0 | 重点关注 (added) |
//! | E16 | watch list, abnormal 2022 | flagged by another clause | 0 → 0 | 经营异常, 重点关注 |
//! | E17 | 1 licence | 合格 → 需人工复核 | 0 → 0 | 许可核查 (added; divides by zero) |
//! | E18 | 2 licences | unchanged | 0 → 0 | — |
//! | E19 | serious penalty 2020 | unchanged (outside both windows) | 0 → 0 | — |
//! | E20 | repaired penalty | unchanged | 0 → 0 | — |
//! | E21 | penalty, award | 合格 → 合格 | 0 → −1 | 行政处罚扣分 |
//! | E22 | 3 awards | unchanged (cap 2) | 2 → 2 | — |
//! | E23 | penalty, bad behaviour | 合格 → 合格 | −1.5 → −2 | 行政处罚扣分, 不良行为扣分 |
//! | E24 | 3 penalties, 4 bad behaviours | 合格 → 合格 | −5 → −4 | 行政处罚扣分, 不良行为扣分 |
//! | E25 | defaulter, serious penalty | 不合格 → 不合格 | −1 → −2 | 行政处罚扣分, 严重处罚 |

use chrono::NaiveDate;
use credit_rules::compile::CompiledRuleSet;
use credit_rules::impact::{ImpactOptions, ImpactReport, analyse, render_text};
use credit_rules::impact_store::{compile_version, impact_of_entities, impact_of_store};
use credit_rules::record::{CreditRecord, Uscc};
use credit_rules::source::SourceFile;
use credit_rules::store::{RecordStore, Records, SledStore};
use std::path::Path;

fn case(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases/impact")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn version(name: &str) -> CompiledRuleSet {
    compile_version("impact.demo", SourceFile::new(name, case(name)), &[])
        .unwrap_or_else(|d| panic!("{}", d.render()))
}

pub fn records() -> Vec<CreditRecord> {
    credit_rules::cli::parse_records(&case("records.json"), "records.json")
        .unwrap_or_else(|d| panic!("{}", d.render()))
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
}

/// The USCC of fixture entity `E<n>`.
pub fn uscc(n: u32) -> Uscc {
    let body = format!("{n:08}");
    let org = credit_rules::record::org_code_check_char(&body).expect("digits");
    let first = format!("91420100{body}{org}");
    let check = credit_rules::record::uscc_check_char(&first).expect("17 characters");
    Uscc::parse(&format!("{first}{check}")).expect("valid")
}

fn fixture_store() -> SledStore {
    let store = SledStore::open_temporary().expect("temporary store");
    let put = store.put_records(&records()).expect("stored");
    assert_eq!((put.inserted, put.rejected.len()), (48, 0));
    store
}

fn store_report(store: &dyn RecordStore) -> ImpactReport {
    impact_of_store(
        store,
        &version("old.rules"),
        &version("new.rules"),
        as_of(),
        &ImpactOptions::default(),
        &mut |_| {},
    )
    .expect("the analysis runs")
}

#[test]
fn impact_over_the_store() {
    let store = fixture_store();
    let report = store_report(&store);
    insta::assert_json_snapshot!("impact_json", report, {
        ".old.hash" => "[hash]",
        ".new.hash" => "[hash]",
    });
    let text = render_text(&report)
        .replace(&report.old.hash[..12], "[hash]")
        .replace(&report.new.hash[..12], "[hash]");
    insta::assert_snapshot!("impact_text", text);
}

#[test]
fn the_store_path_gives_the_report_of_the_entities_in_memory() {
    let store = fixture_store();
    let mut by_entity: std::collections::BTreeMap<Uscc, Vec<CreditRecord>> = Default::default();
    for record in records() {
        by_entity
            .entry(record.uscc.clone())
            .or_default()
            .push(record);
    }
    for records in by_entity.values_mut() {
        records.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let in_memory = analyse(
        &version("old.rules"),
        &version("new.rules"),
        as_of(),
        by_entity.into_iter().map(Ok::<_, String>),
        &ImpactOptions::default(),
        &mut |_| {},
    )
    .expect("runs");
    assert_eq!(store_report(&store), in_memory);
}

#[test]
fn impact_over_a_bidder_list() {
    let store = fixture_store();
    // E01 has no stored records; E08 is listed twice.
    let bidders = [uscc(8), uscc(1), uscc(11), uscc(8), uscc(2)];
    let report = impact_of_entities(
        &store,
        &bidders,
        &version("old.rules"),
        &version("new.rules"),
        as_of(),
        &ImpactOptions::default(),
        &mut |_| {},
    )
    .expect("runs");
    let c = &report.counts;
    assert_eq!(c.evaluated, 4);
    assert_eq!(c.without_records, 1);
    assert_eq!(
        (c.newly_qualified, c.newly_disqualified, c.unchanged),
        (1, 1, 2)
    );
    let top: Vec<Uscc> = report.top.iter().map(|e| e.uscc.clone()).collect();
    assert_eq!(top, vec![uscc(8), uscc(11)]);
}
