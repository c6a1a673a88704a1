//! Maps every line of the sample provincial feed (`tests/data/provincial-feed/`) and
//! checks that each row either becomes a record or event, or is rejected with its id and a
//! reason; the rejected rows and the event conflicts are snapshotted for review.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use credit_rules::intake::{FeedKind, HUBEI, IntakeError, IntakeItem, map_line, map_line_as};
use credit_rules::record::CreditRecord;

/// The defective rows of the sample feed (README: "about 3%"), found by mapping every row
/// and checked one by one (see `snapshots/intake__rejected_rows.snap` for the reasons):
/// 2023-02-30 dates, disclosure ends of 2001-01-01, wrong USCC check characters and missing
/// 决定文书号.
const EXPECTED_REJECTED: [&str; 22] = [
    "GRADE-00015-2023", // 发布日期 2023-02-30
    "GRADE-00021-2022", // 有效期至 2001-01-01 before 发布日期 2023-04-15
    "GRADE-00178-2022", // 发布日期 2023-02-30
    "GRADE-00297-2023", // USCC check character W, should be U
    "LIST-00086-0",     // 公示截止日期 2001-01-01 before 列入日期 2023-08-31
    "XZCF-00017-0",     // cf_jdrq 2023-02-30
    "XZCF-00051-0",     // cf_jdrq 2023-02-30
    "XZCF-00064-3",     // USCC check character 8, should be 7
    "XZCF-00078-0",     // cf_jdrq 2023-02-30
    "XZCF-00101-2",     // no cf_wsh
    "XZCF-00112-0",     // cf_gsjzq 2001-01-01 before cf_jdrq 2021-11-25
    "XZCF-00129-0",     // cf_gsjzq 2001-01-01 before cf_jdrq 2019-11-16
    "XZCF-00175-0",     // USCC check character W, should be U
    "XZCF-00179-0",     // cf_jdrq 2023-02-30
    "XZCF-00194-0",     // cf_gsjzq 2001-01-01 before cf_jdrq 2022-07-08
    "XZCF-00202-1",     // cf_gsjzq 2001-01-01 before cf_jdrq 2020-01-13
    "XZCF-00213-0",     // USCC check character 1, should be 0
    "XZCF-00238-1",     // USCC check character 0, should be Y
    "XZCF-00240-2",     // cf_jdrq 2023-02-30
    "XZCF-00247-1",     // cf_jdrq 2023-02-30
    "XZCF-00251-2",     // cf_jdrq 2023-02-30
    "XZCF-00261-0",     // no cf_wsh
];

/// One mapped line.
struct Line {
    file: String,
    number: usize,
    xxbh: Option<String>,
    result: Result<IntakeItem, IntakeError>,
}

/// Maps every line of every feed file (by file name), checking that detection by fields
/// agrees with the file name. A missing feed file fails the test (see
/// [`crate::common::feed_text`]).
fn map_all() -> Vec<Line> {
    let mut names = crate::common::FEED_FILES;
    names.sort_unstable();
    let mut lines = Vec::new();
    for name in names {
        let file = format!("{name}.jsonl");
        let feed = FeedKind::from_file_name(&file)
            .unwrap_or_else(|| panic!("{file}: the file name names no feed"));
        let text = crate::common::feed_text(name);
        for (i, text) in text.lines().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let row: serde_json::Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{file}:{}: not JSON: {e}", i + 1));
            let detected = row.as_object().and_then(FeedKind::detect);
            assert_eq!(detected, Some(feed), "{file}:{}: detected feed", i + 1);
            let result = map_line(text);
            assert_eq!(result, map_line_as(text, feed), "{file}:{}", i + 1);
            lines.push(Line {
                file: file.clone(),
                number: i + 1,
                xxbh: row["xxbh"].as_str().map(str::to_owned),
                result,
            });
        }
    }
    lines
}

fn rejected(lines: &[Line]) -> Vec<(&Line, &IntakeError)> {
    lines
        .iter()
        .filter_map(|l| l.result.as_ref().err().map(|e| (l, e)))
        .collect()
}

#[test]
fn every_row_maps_or_is_rejected_with_its_id_and_reason() {
    let lines = map_all();
    assert!(lines.len() > 600, "only {} lines", lines.len());
    for (line, err) in rejected(&lines) {
        let at = format!("{}:{}", line.file, line.number);
        assert!(line.xxbh.is_some(), "{at}: sample rows all have an xxbh");
        assert_eq!(err.id(), line.xxbh.as_deref(), "{at}: {err}");
        assert!(!err.field_errors().is_empty(), "{at}: {err}");
        for e in err.field_errors() {
            assert!(!e.field.is_empty(), "{at}: {e}");
            assert!(e.to_string().len() > 40, "{at}: reason too short: {e}");
        }
        assert!(
            err.to_string()
                .contains(line.xxbh.as_deref().unwrap_or("?"))
        );
    }
}

#[test]
fn defective_rows_are_about_three_percent() {
    let lines = map_all();
    let bad = rejected(&lines);
    let list: Vec<String> = bad
        .iter()
        .map(|(l, e)| format!("{}:{} {e}", l.file, l.number))
        .collect();
    let ids: Vec<&str> = bad.iter().filter_map(|(_, e)| e.id()).collect();
    assert_eq!(
        ids,
        EXPECTED_REJECTED,
        "{} rejected rows:\n{}",
        bad.len(),
        list.join("\n")
    );
    let share = bad.len() as f64 / lines.len() as f64;
    assert!((0.02..0.05).contains(&share), "{share}");
}

#[test]
fn record_ids_are_unique_per_file() {
    let lines = map_all();
    let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
    for line in &lines {
        let Ok(IntakeItem::Record(r)) = &line.result else {
            continue;
        };
        assert!(
            seen.entry(&line.file).or_default().insert(&r.id),
            "{}:{}: duplicate id {}",
            line.file,
            line.number,
            r.id
        );
    }
    // Rejected rows' ids too: every row's xxbh is unique in its record file.
    let mut all: HashMap<&str, HashSet<&str>> = HashMap::new();
    for line in lines.iter().filter(|l| l.file != "events.jsonl") {
        let id = line.xxbh.as_deref().unwrap_or("");
        assert!(all.entry(&line.file).or_default().insert(id), "{id}");
    }
}

#[test]
fn rejected_rows_snapshot() {
    let lines = map_all();
    let mut out = String::new();
    for (line, err) in rejected(&lines) {
        let _ = writeln!(
            out,
            "{}:{} {}",
            line.file,
            line.number,
            err.id().unwrap_or("(no id)")
        );
        for e in err.field_errors() {
            let _ = writeln!(out, "    {e}");
        }
    }
    insta::assert_snapshot!("rejected_rows", out);
}

/// Applies every event to the record it names, as a store would, and snapshots the events
/// that cannot be applied.
#[test]
fn events_apply_to_their_records() {
    let lines = map_all();
    let mut records: HashMap<String, CreditRecord> = HashMap::new();
    let mut rejected_ids = HashSet::new();
    for line in lines.iter().filter(|l| l.file != "events.jsonl") {
        match &line.result {
            Ok(IntakeItem::Record(r)) => {
                records.insert(r.id.clone(), r.clone());
            }
            Ok(IntakeItem::Event(_)) => {
                panic!("{}:{}: an event in a record file", line.file, line.number)
            }
            Err(e) => {
                rejected_ids.insert(e.id().unwrap_or("").to_owned());
            }
        }
    }
    let mut out = String::new();
    let mut conflicts = 0;
    for line in lines.iter().filter(|l| l.file == "events.jsonl") {
        let Ok(IntakeItem::Event(event)) = &line.result else {
            panic!(
                "events.jsonl:{}: not an event: {:?}",
                line.number, line.result
            );
        };
        let Some(record) = records.get_mut(&event.record_id) else {
            assert!(
                rejected_ids.contains(&event.record_id),
                "events.jsonl:{}: no record {}",
                line.number,
                event.record_id
            );
            let _ = writeln!(
                out,
                "events.jsonl:{} {}: its record was rejected",
                line.number, event.record_id
            );
            continue;
        };
        if let Err(e) = event.apply_to(record) {
            conflicts += 1;
            let _ = writeln!(out, "events.jsonl:{} {}: {e}", line.number, event.record_id);
        } else {
            assert_eq!(record.validate(), Ok(()));
        }
    }
    assert_eq!(conflicts, 3, "{out}");
    insta::assert_snapshot!("event_conflicts", out);
}

/// What the accepted rows became, by file, kind, severity and sector.
#[test]
fn accepted_rows_summary() {
    let lines = map_all();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        let key = match &line.result {
            Ok(IntakeItem::Record(r)) => format!(
                "{} → {} severity={} sector={}",
                line.file,
                r.kind.code(),
                r.severity.map_or("-", |s| s.code()),
                r.sector.as_deref().unwrap_or("-")
            ),
            Ok(IntakeItem::Event(e)) => format!("{} → event {}", line.file, e.kind.code()),
            Err(_) => format!("{} → rejected", line.file),
        };
        *counts.entry(key).or_default() += 1;
    }
    let out: String = counts
        .iter()
        .map(|(k, n)| format!("{n:4}  {k}\n"))
        .collect();
    insta::assert_snapshot!("accepted_summary", out);
}

#[test]
fn mapping_table_snapshot() {
    insta::assert_snapshot!("mapping_table", HUBEI.to_markdown());
}
