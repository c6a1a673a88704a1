//! Unit tests of the impact engine on the hand-made fixture under `tests/cases/impact/`
//! (the expected change of every entity is written in its `entity_name`, and the table of
//! expectations is in `tests/integration/impact.rs`).

use super::*;
use crate::eval::EvalError;
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use std::collections::BTreeMap;
use std::str::FromStr;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a decimal")
}

const OLD: &str = include_str!("../../tests/cases/impact/old.rules");
const NEW: &str = include_str!("../../tests/cases/impact/new.rules");
const RECORDS: &str = include_str!("../../tests/cases/impact/records.json");

fn compile(name: &str, text: &str) -> CompiledRuleSet {
    let mut workspace = Workspace::new();
    let id = workspace
        .add_source(SourceFile::new(name, text), None)
        .expect("the fixture parses");
    workspace.compile(&id).expect("the fixture checks")
}

fn programs() -> (CompiledRuleSet, CompiledRuleSet) {
    (compile("old.rules", OLD), compile("new.rules", NEW))
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
}

/// The USCC of fixture entity `E<n>` (bodies `0000000n`, so USCC order is number order).
fn uscc(n: u32) -> Uscc {
    let body = format!("{n:08}");
    let org = crate::record::org_code_check_char(&body).expect("digits");
    let first = format!("91420100{body}{org}");
    let check = crate::record::uscc_check_char(&first).expect("17 characters");
    Uscc::parse(&format!("{first}{check}")).expect("valid")
}

/// The fixture's entities in USCC order, E01 (no records) first.
fn entities() -> Vec<(Uscc, Vec<CreditRecord>)> {
    let records = crate::cli::parse_records(RECORDS, "records.json").expect("fixture records");
    let mut by_entity: BTreeMap<Uscc, Vec<CreditRecord>> = BTreeMap::new();
    by_entity.insert(uscc(1), Vec::new());
    for record in records {
        by_entity
            .entry(record.uscc.clone())
            .or_default()
            .push(record);
    }
    by_entity.into_iter().collect()
}

fn run(options: &ImpactOptions) -> ImpactReport {
    let (old, new) = programs();
    let input = entities().into_iter().map(Ok::<_, String>);
    analyse(&old, &new, as_of(), input, options, &mut |_| {}).expect("the analysis runs")
}

fn default_report() -> ImpactReport {
    run(&ImpactOptions::default())
}

#[test]
fn fixture_usccs_are_the_ones_in_the_records_file() {
    let numbers: Vec<u32> = (2..=25).collect();
    let expected: Vec<Uscc> = numbers.iter().map(|n| uscc(*n)).collect();
    let found: Vec<Uscc> = entities().into_iter().skip(1).map(|(u, _)| u).collect();
    assert_eq!(found, expected);
}

#[test]
fn counts_match_the_hand_made_data() {
    let report = default_report();
    assert_eq!(
        report.counts,
        Counts {
            evaluated: 25,
            without_records: 1,
            newly_disqualified: 2,
            newly_qualified: 1,
            decision_changed: 1,
            score_changed: 10,
            clauses_changed: 3,
            unchanged: 8,
            newly_flagged: 1,
            no_longer_flagged: 3,
        }
    );
    let d = &report.decisions;
    assert_eq!(
        (d.old.eligible, d.old.disqualified, d.old.review),
        (21, 4, 0)
    );
    assert_eq!(
        (d.new.eligible, d.new.disqualified, d.new.review),
        (19, 5, 1)
    );
}

#[test]
fn score_delta_distribution_matches_the_hand_made_data() {
    let delta = default_report().score_delta;
    // 18 entities are eligible under both (E01 too, with no records); 8 of them change.
    assert_eq!(delta.entities, 18);
    assert_eq!(delta.changed, 8);
    assert_eq!(delta.min, Some(dec("-2.00")));
    assert_eq!(delta.max, Some(dec("2.00")));
    assert_eq!(delta.sum, dec("-2.00"));
    // −2 / 18 = −0.1111…
    assert_eq!(delta.mean, Some(dec("-0.1111")));
    let histogram: Vec<(&str, u64)> = delta.histogram.iter().map(|b| (b.range, b.count)).collect();
    assert_eq!(
        histogram,
        vec![
            ("(-∞, -10)", 0),
            ("[-10, -5)", 0),
            ("[-5, -2)", 0),
            ("[-2, -1)", 1),
            ("[-1, 0)", 4),
            ("0", 10),
            ("(0, 1]", 2),
            ("(1, 2]", 1),
            ("(2, 5]", 0),
            ("(5, 10]", 0),
            ("(10, +∞)", 0),
        ]
    );
}

#[test]
fn top_list_is_ordered_by_severity_then_uscc() {
    let report = default_report();
    let order: Vec<Uscc> = report.top.iter().map(|e| e.uscc.clone()).collect();
    let expected: Vec<Uscc> = [8, 11, 12, 17, 4, 7, 3, 5, 10, 21, 24, 25, 6, 23, 13, 15, 16]
        .iter()
        .map(|n| uscc(*n))
        .collect();
    assert_eq!(order, expected);
    assert_eq!(report.top_limit, DEFAULT_TOP);
}

#[test]
fn a_short_top_list_keeps_the_most_severe() {
    let report = run(&ImpactOptions {
        top: 5,
        ..ImpactOptions::default()
    });
    let order: Vec<Uscc> = report.top.iter().map(|e| e.uscc.clone()).collect();
    let expected: Vec<Uscc> = [8, 11, 12, 17, 4].iter().map(|n| uscc(*n)).collect();
    assert_eq!(order, expected);
    let none = run(&ImpactOptions {
        top: 0,
        ..ImpactOptions::default()
    });
    assert!(none.top.is_empty());
    assert_eq!(none.counts, report.counts);
}

fn entry(report: &ImpactReport, n: u32) -> &ChangedEntity {
    let wanted = uscc(n);
    report
        .top
        .iter()
        .find(|e| e.uscc == wanted)
        .expect("the entity is listed")
}

fn responsible(entity: &ChangedEntity) -> Vec<&str> {
    entity.clauses.iter().map(|c| c.clause.as_str()).collect()
}

#[test]
fn each_listed_entity_names_the_clauses_responsible() {
    let report = default_report();
    let expected: [(u32, &[&str]); 17] = [
        (8, &["行政处罚扣分", "严重处罚"]),
        (11, &["拖欠农民工工资"]),
        (12, &["拖欠农民工工资"]),
        (17, &["许可核查"]),
        (4, &["行政处罚扣分"]),
        (7, &["不良行为扣分"]),
        (3, &["行政处罚扣分"]),
        (5, &["行政处罚扣分"]),
        (10, &["行政处罚扣分"]),
        (21, &["行政处罚扣分"]),
        (24, &["行政处罚扣分", "不良行为扣分"]),
        (25, &["行政处罚扣分", "严重处罚"]),
        (6, &["不良行为扣分"]),
        (23, &["行政处罚扣分", "不良行为扣分"]),
        (13, &["经营异常"]),
        (15, &["重点关注"]),
        (16, &["经营异常", "重点关注"]),
    ];
    for (n, clauses) in expected {
        assert_eq!(responsible(entry(&report, n)), clauses, "E{n:02}");
    }
}

#[test]
fn clause_changes_carry_old_and_new_outcomes() {
    let report = default_report();
    let e08 = entry(&report, 8);
    assert_eq!(e08.change, ChangeKind::NewlyQualified);
    assert_eq!(e08.old.decision, Decision::Disqualified);
    assert_eq!(e08.new.decision, Decision::Eligible);
    assert_eq!((e08.old.total, e08.new.total), (dec("-1.00"), dec("-2.00")));
    assert_eq!(e08.delta, dec("-1.00"));
    let penalty = &e08.clauses[0];
    assert_eq!(
        penalty.old.as_ref().and_then(|s| s.points),
        Some(dec("-1.00"))
    );
    assert_eq!(
        penalty.new.as_ref().and_then(|s| s.points),
        Some(dec("-2.00"))
    );
    let veto = &e08.clauses[1];
    assert_eq!(
        veto.old,
        Some(ClauseState {
            kind: ClauseKind::Veto,
            fired: true,
            points: None,
            error: None
        })
    );
    assert_eq!(veto.new, None, "removed in the new version");

    let e11 = entry(&report, 11);
    assert_eq!(e11.change, ChangeKind::NewlyDisqualified);
    let wages = &e11.clauses[0];
    assert_eq!(
        wages.old.as_ref().map(|s| (s.kind, s.fired)),
        Some((ClauseKind::Flag, true))
    );
    assert_eq!(
        wages.new.as_ref().map(|s| (s.kind, s.fired)),
        Some((ClauseKind::Veto, true))
    );

    let e17 = entry(&report, 17);
    assert_eq!(e17.change, ChangeKind::DecisionChanged);
    assert_eq!(e17.new.decision, Decision::Review);
    assert_eq!(e17.clauses[0].old, None, "added in the new version");
    assert_eq!(
        e17.clauses[0].new.as_ref().and_then(|s| s.error.clone()),
        Some(EvalError::DivisionByZero)
    );

    let e24 = entry(&report, 24);
    assert_eq!(
        (e24.old.total, e24.new.total, e24.delta),
        (dec("-5.00"), dec("-4.00"), dec("1.00"))
    );
}

#[test]
fn clause_tallies_match_the_hand_made_data() {
    let report = default_report();
    let rows: Vec<(&str, ClauseStatus, u64, u64, u64, Decimal)> = report
        .clauses
        .iter()
        .map(|c| {
            (
                c.clause.as_str(),
                c.status,
                c.entities_changed,
                c.newly_fired,
                c.no_longer_fired,
                c.points_delta,
            )
        })
        .collect();
    use ClauseStatus::{Added, Both, Removed};
    assert_eq!(
        rows,
        vec![
            ("失信被执行人", Both, 0, 0, 0, dec("0.00")),
            ("拖欠农民工工资", Both, 2, 0, 0, dec("0.00")),
            ("许可核查", Added, 1, 0, 0, dec("0.00")),
            ("经营异常", Both, 2, 0, 2, dec("0.00")),
            ("重点关注", Added, 2, 2, 0, dec("0.00")),
            ("行政处罚扣分", Both, 9, 0, 0, dec("-10.00")),
            ("表彰加分", Both, 0, 0, 0, dec("0.00")),
            ("严重处罚", Removed, 2, 0, 2, dec("0.00")),
            ("不良行为扣分", Removed, 4, 0, 0, dec("5.00")),
        ]
    );
    let wages = &report.clauses[1];
    assert_eq!(
        (wages.old_kind, wages.new_kind),
        (Some(ClauseKind::Flag), Some(ClauseKind::Veto))
    );
}

#[test]
fn parallel_and_sequential_runs_give_identical_reports() {
    let sequential = run(&ImpactOptions {
        parallel: false,
        chunk_size: 1_000,
        ..ImpactOptions::default()
    });
    for chunk_size in [1, 2, 3, 7, 25, 1_000] {
        for top in [0, 3, 20] {
            let options = ImpactOptions {
                top,
                chunk_size,
                parallel: true,
            };
            let parallel = run(&options);
            let reference = run(&ImpactOptions {
                parallel: false,
                ..options.clone()
            });
            assert_eq!(parallel, reference, "{options:?}");
            let json = |r: &ImpactReport| serde_json::to_string(r).expect("serialises");
            assert_eq!(json(&parallel), json(&reference), "{options:?}");
        }
    }
    assert_eq!(sequential, default_report());
}

/// The fixture's entities cut at these positions into parts, read with [`analyse_parts`].
fn run_in_parts(cuts: &[usize], options: &ImpactOptions) -> ImpactReport {
    let (old, new) = programs();
    let all = entities();
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied());
    bounds.push(all.len());
    let parts: Vec<&[(Uscc, Vec<CreditRecord>)]> =
        bounds.windows(2).map(|w| &all[w[0]..w[1]]).collect();
    analyse_parts(
        &old,
        &new,
        as_of(),
        Parts {
            count: parts.len(),
            open: |part: usize| parts[part].iter().map(Ok::<_, String>),
        },
        |(uscc, records): &(Uscc, Vec<CreditRecord>)| Ok((uscc.clone(), records.as_slice())),
        options,
        &mut |_| {},
    )
    .expect("the analysis runs")
}

#[test]
fn reading_in_parts_gives_the_report_of_the_whole_input() {
    let reference = default_report();
    let json = |r: &ImpactReport| serde_json::to_string(r).expect("serialises");
    // Empty parts, a part per entity, uneven parts; one thread or the pool; chunks of any size.
    let cuts: [&[usize]; 5] = [
        &[],
        &[0, 0, 25],
        &[3, 4, 11, 12, 20],
        &(1..25).collect::<Vec<_>>(),
        &[13],
    ];
    for cut in cuts {
        for parallel in [false, true] {
            for chunk_size in [1, 3, 1_000] {
                for top in [0, 3, 20] {
                    let options = ImpactOptions {
                        top,
                        chunk_size,
                        parallel,
                    };
                    let expected = run(&ImpactOptions {
                        parallel: false,
                        ..options.clone()
                    });
                    let report = run_in_parts(cut, &options);
                    assert_eq!(json(&report), json(&expected), "{cut:?} {options:?}");
                }
            }
        }
    }
    assert_eq!(run_in_parts(&[5, 9], &ImpactOptions::default()), reference);
}

#[test]
fn an_input_error_in_a_part_names_the_part_and_the_position_in_it() {
    let (old, new) = programs();
    let all = entities();
    for parallel in [false, true] {
        let error = analyse_parts(
            &old,
            &new,
            as_of(),
            Parts {
                count: 3,
                open: |part: usize| {
                    let mut items: Vec<Result<(Uscc, Vec<CreditRecord>), String>> = all
                        [part * 8..part * 8 + 8]
                        .iter()
                        .cloned()
                        .map(Ok)
                        .collect();
                    if part == 1 {
                        items.insert(2, Err("record store is damaged".to_string()));
                    }
                    items
                },
            },
            Ok::<_, String>,
            &ImpactOptions {
                chunk_size: 2,
                parallel,
                ..ImpactOptions::default()
            },
            &mut |_| {},
        )
        .expect_err("the input failed");
        assert_eq!(
            error,
            ImpactError::Input {
                index: 3,
                message: "record store is damaged (entity 3 of part 2 of 3)".into()
            }
        );
    }
}

#[test]
fn comparing_a_version_with_itself_changes_nothing() {
    let (old, _) = programs();
    let input = entities().into_iter().map(Ok::<_, String>);
    let report = analyse(
        &old,
        &old,
        as_of(),
        input,
        &ImpactOptions::default(),
        &mut |_| {},
    )
    .expect("runs");
    assert_eq!(report.counts.unchanged, 25);
    assert!(report.top.is_empty());
    assert!(report.clauses.iter().all(|c| c.entities_changed == 0));
}

#[test]
fn an_input_error_stops_the_analysis_with_its_position() {
    let (old, new) = programs();
    for parallel in [false, true] {
        let mut input: Vec<Result<(Uscc, Vec<CreditRecord>), String>> =
            entities().into_iter().map(Ok).collect();
        input.insert(7, Err("record store is damaged".to_string()));
        let options = ImpactOptions {
            chunk_size: 3,
            parallel,
            ..ImpactOptions::default()
        };
        let error = analyse(&old, &new, as_of(), input, &options, &mut |_| {})
            .expect_err("the input failed");
        assert_eq!(
            error,
            ImpactError::Input {
                index: 8,
                message: "record store is damaged".into()
            }
        );
        assert!(error.to_string().contains("entity #8"), "{error}");
    }
}

#[test]
fn a_decode_error_in_a_worker_is_reported_with_its_position() {
    let (old, new) = programs();
    let items = entities().into_iter().enumerate().map(Ok::<_, String>);
    let decode = |(i, entity): (usize, (Uscc, Vec<CreditRecord>))| {
        if i == 4 || i == 20 {
            Err(format!("cannot decode entity {i}"))
        } else {
            Ok(entity)
        }
    };
    let options = ImpactOptions {
        chunk_size: 2,
        ..ImpactOptions::default()
    };
    let error = analyse_with(&old, &new, as_of(), items, decode, &options, &mut |_| {})
        .expect_err("decoding failed");
    assert_eq!(
        error,
        ImpactError::Input {
            index: 5,
            message: "cannot decode entity 4".into()
        }
    );
}

#[test]
fn progress_reaches_the_number_of_entities() {
    let (old, new) = programs();
    for parallel in [false, true] {
        let mut seen = Vec::new();
        let input = entities().into_iter().map(Ok::<_, String>);
        let options = ImpactOptions {
            chunk_size: 4,
            parallel,
            ..ImpactOptions::default()
        };
        analyse(&old, &new, as_of(), input, &options, &mut |n| seen.push(n)).expect("runs");
        assert_eq!(seen.last(), Some(&25));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }
}

#[test]
fn too_long_a_top_list_is_refused() {
    let (old, new) = programs();
    let options = ImpactOptions {
        top: MAX_TOP + 1,
        ..ImpactOptions::default()
    };
    let error = analyse(
        &old,
        &new,
        as_of(),
        entities().into_iter().map(Ok::<_, String>),
        &options,
        &mut |_| {},
    )
    .expect_err("refused");
    assert!(matches!(error, ImpactError::Options(_)));
}

#[test]
fn histogram_buckets_split_at_their_bounds() {
    let cases = [
        ("-10.01", 0),
        ("-10", 1),
        ("-5.01", 1),
        ("-5", 2),
        ("-2", 3),
        ("-1.5", 3),
        ("-1", 4),
        ("-0.01", 4),
        ("0", 5),
        ("0.00", 5),
        ("0.01", 6),
        ("1", 6),
        ("1.01", 7),
        ("2", 7),
        ("5", 8),
        ("10", 9),
        ("10.01", 10),
    ];
    for (delta, bucket) in cases {
        assert_eq!(
            bucket_of(dec(delta)),
            bucket,
            "{delta} → {}",
            HISTOGRAM_BUCKETS[bucket]
        );
    }
}

#[test]
fn the_text_rendering_shows_counts_buckets_and_clauses() {
    let text = render_text(&default_report());
    for expected in [
        "影响分析 Impact of a rule change",
        "评价主体 Entities evaluated: 25",
        "资格取消 newly disqualified",
        "[-1, 0)",
        "veto 严重处罚 [删除 removed]",
        "flag 重点关注 [新增 added]",
        "veto 拖欠农民工工资 [flag → veto]",
        "拖欠农民工工资: flag 触发 fired → veto 触发 fired",
        "许可核查: (无 absent) → veto 无法计算 failed (division by zero)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn a_top_list_is_the_head_of_a_longer_one_over_many_entities() {
    let (old, new) = programs();
    let cfg = crate::demo::DemoConfig {
        seed: 5,
        entities: 2_000,
        records_per_entity: (0, 15),
    };
    let entities: Vec<(Uscc, Vec<CreditRecord>)> =
        crate::demo::entities(cfg).map(|(u, _, r)| (u, r)).collect();
    let run = |top: usize, chunk_size: usize| {
        let input = entities
            .iter()
            .map(|(u, r)| Ok::<_, String>((u.clone(), r.as_slice())));
        let options = ImpactOptions {
            top,
            chunk_size,
            parallel: true,
        };
        analyse(&old, &new, as_of(), input, &options, &mut |_| {}).expect("runs")
    };
    let full = run(MAX_TOP, 64);
    let changed = full.counts.evaluated - full.counts.unchanged;
    assert_eq!(full.top.len() as u64, changed);
    assert!(
        changed > 200,
        "the demo data changes under the fixture: {changed}"
    );
    let severity = |e: &ChangedEntity| (e.old.decision == e.new.decision, -e.delta.abs());
    for pair in full.top.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (severity(a), &a.uscc) < (severity(b), &b.uscc),
            "{} before {}",
            a.uscc,
            b.uscc
        );
    }
    let short = run(25, 7);
    assert_eq!(short.top, full.top[..25]);
    assert_eq!(short.counts, full.counts);
}
