//! Tests of the record store (`credit_rules::store`): idempotent puts, updates with history,
//! repair and revocation events, the evaluation view (kept equal to the records through puts
//! and events; migrated into a version-1 database), format-version
//! refusal, rule-set versions, intake cursors and the decision log.

use chrono::{DateTime, NaiveDate, Utc};
use credit_rules::record::{CreditRecord, RecordKind, RecordStatus, Uscc};
use credit_rules::store::{
    DecisionEntry, DecisionQuery, EventKind, EventOutcome, FORMAT_VERSION, NewRuleSetVersion,
    RecordEvent, RecordStore, Records, SledStore, StoreError, source_hash,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::common::{PgTestStore, code, day, on_each_reopened_store, on_each_store, record};

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

// --- records -------------------------------------------------------------------------------

#[test]
fn put_is_idempotent_and_records_come_back_sorted() {
    on_each_store(|store| {
        let a = code(1);
        let mut records = vec![
            record("R3", &a, RecordKind::AdminPenalty, "2023-01-01"),
            record("R1", &a, RecordKind::BadBehaviour, "2023-02-01"),
            record("R2", &a, RecordKind::Commendation, "2023-03-01"),
        ];
        records[0].amount = Some(Decimal::new(250, 2));
        records[0].entity_name = Some("江城建设有限公司".into());
        let first = store.put_records(&records).expect("put");
        assert_eq!((first.inserted, first.updated, first.unchanged), (3, 0, 0));
        assert!(first.rejected.is_empty());
        let again = store.put_records(&records).expect("put again");
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
        let stored = store.records_of(&a).expect("records");
        let ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["R1", "R2", "R3"]);
        assert_eq!(stored[2], records[0], "stored intact, amount scale kept");
        assert_eq!(
            store.record("R3").expect("lookup"),
            Some(records[0].clone())
        );
        assert_eq!(store.record("nope").expect("lookup"), None);
        assert!(store.record_history(&a, "R3").expect("history").is_empty());
        let entity = store.entity(&a).expect("entity").expect("exists");
        assert_eq!(entity.name.as_deref(), Some("江城建设有限公司"));
        assert_eq!(entity.kind.label(), "企业");
        assert_eq!(store.entity(&code(2)).expect("entity"), None);
    });
}

#[test]
fn a_changed_record_is_an_update_that_keeps_history() {
    on_each_store(|store| {
        let a = code(7);
        let v1 = record("X1", &a, RecordKind::AdminPenalty, "2023-01-01");
        store
            .put_records(std::slice::from_ref(&v1))
            .expect("put v1");
        let mut v2 = v1.clone();
        v2.disclosure_until = Some(day("2026-01-01"));
        v2.entity_name = Some("新名称有限公司".into());
        let mut v3 = v2.clone();
        v3.kind = RecordKind::BadBehaviour;
        let summary = store.put_records(&[v2.clone(), v3.clone()]).expect("put");
        assert_eq!((summary.inserted, summary.updated), (0, 2));
        assert_eq!(store.records_of(&a).expect("records"), vec![v3.clone()]);
        let history = store.record_history(&a, "X1").expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!((history[0].rev, history[1].rev), (1, 2));
        assert_eq!(history[0].record, v1);
        assert_eq!(history[1].record, v2);
        // The kind index follows the update.
        let penalties: Vec<_> = store
            .records_of_kind(RecordKind::AdminPenalty)
            .collect::<Result<_, _>>()
            .expect("scan");
        assert!(penalties.is_empty());
        let bad: Vec<_> = store
            .records_of_kind(RecordKind::BadBehaviour)
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(bad, vec![v3]);
        assert_eq!(
            store
                .entity(&a)
                .expect("entity")
                .expect("exists")
                .name
                .as_deref(),
            Some("新名称有限公司")
        );
    });
}

#[test]
fn invalid_records_and_id_conflicts_are_rejected_alone() {
    on_each_store(|store| {
        let (a, b) = (code(11), code(12));
        let mut bad = record("BAD", &a, RecordKind::AdminPenalty, "2024-05-01");
        bad.disclosure_until = Some(day("2024-04-30"));
        let nul = record("N\0UL", &a, RecordKind::AdminPenalty, "2024-05-01");
        let ok = record("SAME", &a, RecordKind::AdminPenalty, "2024-05-01");
        let clash = record("SAME", &b, RecordKind::AdminPenalty, "2024-05-01");
        let summary = store
            .put_records(&[bad, ok.clone(), nul, clash])
            .expect("put");
        assert_eq!(summary.inserted, 1);
        let rejected: Vec<usize> = summary.rejected.iter().map(|(i, _)| *i).collect();
        assert_eq!(rejected, [0, 2, 3]);
        let message = summary.rejected[0].1.to_string();
        assert!(
            message.contains("`BAD`") && message.contains("disclosure_until"),
            "{message}"
        );
        assert!(matches!(
            summary.rejected[2].1,
            StoreError::IdConflict { .. }
        ));
        let message = summary.rejected[2].1.to_string();
        assert!(
            message.contains(a.as_str()) && message.contains(b.as_str()),
            "{message}"
        );
        assert_eq!(store.records_of(&a).expect("records"), vec![ok]);
        assert!(store.records_of(&b).expect("records").is_empty());
    });
}

#[test]
fn scan_entities_groups_records_by_entity() {
    on_each_store(|store| {
        let (a, b) = (code(21), code(22));
        store
            .put_records(&[
                record("B2", &b, RecordKind::AdminPenalty, "2023-01-01"),
                record("A1", &a, RecordKind::AdminPenalty, "2023-01-01"),
                record("B1", &b, RecordKind::AdminPenalty, "2023-01-01"),
            ])
            .expect("put");
        let groups: Vec<(Uscc, Vec<String>)> = store
            .scan_entities()
            .map(|g| {
                let (uscc, records) = g.expect("scan");
                (uscc, records.into_iter().map(|r| r.id).collect())
            })
            .collect();
        assert_eq!(
            groups,
            vec![
                (a, vec!["A1".to_owned()]),
                (b, vec!["B1".to_owned(), "B2".to_owned()])
            ]
        );
    });
}

// --- events --------------------------------------------------------------------------------

#[test]
fn repair_and_revocation_events() {
    on_each_store(|store| {
        let a = code(31);
        let mut r = record("E1", &a, RecordKind::AdminPenalty, "2023-01-10");
        r.disclosure_until = Some(day("2026-01-10"));
        store.put_records(std::slice::from_ref(&r)).expect("put");

        let outcome = store
            .apply_event("E1", EventKind::Repair, day("2024-06-13"))
            .expect("repair");
        assert_eq!(outcome, EventOutcome::Applied);
        let again = store
            .apply_event("E1", EventKind::Repair, day("2024-06-13"))
            .expect("repair again");
        assert_eq!(again, EventOutcome::Unchanged);
        let repaired = store.record("E1").expect("lookup").expect("exists");
        assert_eq!(repaired.repaired_on, Some(day("2024-06-13")));
        assert_eq!(repaired.status_on(day("2024-06-12")), RecordStatus::Active);
        assert_eq!(
            repaired.status_on(day("2024-06-13")),
            RecordStatus::Repaired
        );

        // Re-sending the source's record (which knows nothing of the repair) keeps the repair.
        let summary = store
            .put_records(std::slice::from_ref(&r))
            .expect("re-send");
        assert_eq!(summary.unchanged, 1);
        let mut changed = r.clone();
        changed.document_no = Some("武水罚〔2023〕41号".into());
        store
            .put_records(std::slice::from_ref(&changed))
            .expect("update");
        let after = store.record("E1").expect("lookup").expect("exists");
        assert_eq!(after.repaired_on, Some(day("2024-06-13")));
        assert_eq!(after.document_no, changed.document_no);

        let revoked = store
            .apply_events(&[RecordEvent {
                record_id: "E1".into(),
                kind: EventKind::Revoke,
                date: day("2024-07-01"),
                authority: Some("原决定机关".into()),
                note: Some("原处罚决定被依法撤销".into()),
            }])
            .expect("revoke");
        assert_eq!(revoked, vec![Ok(EventOutcome::Applied)]);
        let after = store.record("E1").expect("lookup").expect("exists");
        assert_eq!(after.revoked_on, Some(day("2024-07-01")));
        assert_eq!(after.status_on(day("2024-07-01")), RecordStatus::Revoked);
        // Every change left the previous version in the history.
        let revs: Vec<u32> = store
            .record_history(&a, "E1")
            .expect("history")
            .iter()
            .map(|v| v.rev)
            .collect();
        assert_eq!(revs, [1, 2, 3]);
    });
}

#[test]
fn events_on_unknown_records_wait_and_bad_dates_are_refused() {
    on_each_store(|store| {
        let a = code(41);
        store
            .put_records(&[record("K1", &a, RecordKind::AdminPenalty, "2023-05-01")])
            .expect("put");
        let outcome = store
            .apply_event("NO-SUCH-ID", EventKind::Repair, day("2024-01-01"))
            .expect("kept until its record arrives");
        assert_eq!(outcome, EventOutcome::Pending);
        let pending = store.pending_events(None, 10).expect("pending");
        assert_eq!(pending.items.len(), 1);
        assert_eq!(pending.items[0].record_id, "NO-SUCH-ID");
        let err = store
            .apply_event("K1", EventKind::Revoke, day("2023-04-30"))
            .expect_err("before decision");
        assert!(matches!(err, StoreError::InvalidEvent { .. }));
        assert!(err.to_string().contains("revoked_on"), "{err}");
        assert_eq!(
            store
                .record("K1")
                .expect("lookup")
                .expect("exists")
                .revoked_on,
            None
        );
        // In a batch, a refused event does not stop the others.
        let results = store
            .apply_events(&[
                RecordEvent {
                    record_id: "GONE".into(),
                    kind: EventKind::Repair,
                    date: day("2024-01-01"),
                    authority: None,
                    note: None,
                },
                RecordEvent {
                    record_id: "K1".into(),
                    kind: EventKind::Repair,
                    date: day("2024-01-01"),
                    authority: None,
                    note: None,
                },
            ])
            .expect("batch");
        assert_eq!(results[0], Ok(EventOutcome::Pending));
        assert_eq!(results[1], Ok(EventOutcome::Applied));
    });
}

// --- the evaluation view ------------------------------------------------------------------

/// Every entity's records as the impact analysis reads them (`scan_for_evaluation`).
fn evaluation_view(store: &dyn RecordStore) -> Vec<(Uscc, Vec<CreditRecord>)> {
    store
        .scan_for_evaluation()
        .map(|item| item.and_then(|entity| entity.decode()))
        .collect::<Result<_, _>>()
        .expect("the view decodes")
}

/// What the view must hold: every entity's `records_of`, less the free texts no rule reads.
fn expected_view(store: &dyn RecordStore) -> Vec<(Uscc, Vec<CreditRecord>)> {
    let entities: Vec<Uscc> = store
        .scan_entities()
        .map(|item| item.expect("scan").0)
        .collect();
    entities
        .into_iter()
        .map(|uscc| {
            let records = store
                .records_of(&uscc)
                .expect("records")
                .into_iter()
                .map(|r| CreditRecord {
                    entity_name: None,
                    legal_basis: None,
                    description: None,
                    ..r
                })
                .collect();
            (uscc, records)
        })
        .collect()
}

/// One step of a random history: a batch of records, or a batch of events.
#[derive(Debug, Clone)]
enum Step {
    /// (record number, variant): the same pair gives the same record.
    Put(Vec<(u8, u8)>),
    /// (record number, revoke?, day offset from 2024-01-01, may be before the decision).
    Events(Vec<(u8, bool, i16)>),
}

/// Record number `n` (ids `R0`..`R11`, owned by four entities; `R11` is also sent for
/// another entity, which is refused) in one of four variants: new, changed or unchanged
/// depending on what was sent before.
fn history_record(n: u8, variant: u8) -> CreditRecord {
    let owner = if n == 11 && variant == 3 {
        9
    } else {
        u32::from(n % 4)
    };
    let kinds = [
        RecordKind::AdminPenalty,
        RecordKind::BadBehaviour,
        RecordKind::SectorGrade,
        RecordKind::DishonestDebtor,
    ];
    let kind = kinds[usize::from(n) % kinds.len()];
    let decided = day("2023-01-01") + chrono::Days::new(u64::from(variant % 3) * 40);
    let mut r = record(&format!("R{n}"), &code(500 + owner), kind, "2023-01-01");
    r.decided_on = decided;
    r.entity_name = Some(format!("单位{owner}"));
    r.description = Some(format!("事实 {variant}"));
    r.legal_basis = Some("《条例》".into());
    r.authority = variant
        .is_multiple_of(2)
        .then(|| "武汉市水务局".to_string());
    r.amount = (variant == 1).then(|| Decimal::new(12_550, 2));
    r.disclosure_until = (variant == 2).then(|| day("2027-01-01"));
    r.published_on = (variant == 1).then(|| decided + chrono::Days::new(9));
    r.valid_until = (variant == 3).then(|| decided + chrono::Days::new(365));
    r.severity = (variant == 0).then_some(credit_rules::record::Severity::Serious);
    if variant == 2 && n.is_multiple_of(3) {
        // The source itself says repaired: an event must not override it.
        r.repaired_on = Some(day("2025-03-01"));
    }
    r
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::collection::vec((0u8..12, 0u8..4), 1..10).prop_map(Step::Put),
        2 => prop::collection::vec((0u8..12, any::<bool>(), -200i16..900), 1..6)
            .prop_map(Step::Events),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// After any history of puts (new, changed, unchanged and refused records, several of one
    /// entity in a batch) and events (applied, unchanged and refused), the evaluation view
    /// decodes to exactly the records evaluation would read record by record.
    #[test]
    fn the_evaluation_view_always_equals_the_records(steps in prop::collection::vec(step(), 1..12)) {
        let sled = SledStore::open_temporary().expect("temporary store");
        let pg = PgTestStore::new();
        for store in [&sled as &dyn RecordStore, &*pg] {
        for step in &steps {
            match step {
                Step::Put(batch) => {
                    let records: Vec<CreditRecord> =
                        batch.iter().map(|&(n, v)| history_record(n, v)).collect();
                    store.put_records(&records).expect("put");
                }
                Step::Events(events) => {
                    let events: Vec<RecordEvent> = events
                        .iter()
                        .map(|&(n, revoke, offset)| RecordEvent {
                            record_id: format!("R{n}"),
                            kind: if revoke { EventKind::Revoke } else { EventKind::Repair },
                            date: day("2024-01-01")
                                .checked_add_signed(chrono::TimeDelta::days(i64::from(offset)))
                                .expect("date"),
                            authority: None,
                            note: None,
                        })
                        .collect();
                    store.apply_events(&events).expect("events");
                }
            }
            prop_assert_eq!(evaluation_view(store), expected_view(store));
        }
        // The record-by-record path agrees too.
        let by_record: Vec<(Uscc, Vec<CreditRecord>)> = store
            .scan_entities_raw()
            .map(|item| item.and_then(|raw| raw.decode_for_evaluation()))
            .collect::<Result<_, _>>()
            .expect("decodes");
        prop_assert_eq!(evaluation_view(store), by_record);
        }
    }
}

/// A store with several entities, changed records and events.
fn store_with_history(dir: &std::path::Path) -> SledStore {
    let store = SledStore::open(dir).expect("open");
    for variants in [[0u8, 1], [1, 2], [3, 0]] {
        let records: Vec<CreditRecord> = (0..12)
            .flat_map(|n| variants.iter().map(move |&v| history_record(n, v)))
            .collect();
        store.put_records(&records).expect("put");
    }
    let events = [
        ("R1", EventKind::Repair, "2024-05-01"),
        ("R2", EventKind::Revoke, "2024-02-01"),
    ];
    for (id, kind, date) in events {
        store.apply_event(id, kind, day(date)).expect("event");
    }
    store
}

/// Turns a database into what a version-1 build left: no `entity_eval` tree, version 1.
/// `stale` puts a wrong view value first, as an interrupted migration followed by writes
/// of a version-1 build could leave.
fn make_version_1(dir: &std::path::Path, stale: bool) {
    let db = crate::common::raw_sled_open(dir);
    db.drop_tree("entity_eval").expect("drop the view");
    db.drop_tree("public_disclosure")
        .expect("drop the disclosure index");
    if stale {
        let view = db.open_tree("entity_eval").expect("view");
        view.insert(code(500).as_str(), &[1u8, 0][..])
            .expect("stale empty list");
        view.insert(code(777).as_str(), &[1u8, 0][..])
            .expect("an entity without records");
    }
    db.open_tree("meta")
        .expect("meta")
        .insert("format_version", &1u32.to_be_bytes())
        .expect("version 1");
    db.flush().expect("flush");
}

fn format_version_on_disk(dir: &std::path::Path) -> u32 {
    let db = crate::common::raw_sled_open(dir);
    let bytes = db
        .open_tree("meta")
        .expect("meta")
        .get("format_version")
        .expect("read")
        .expect("present");
    u32::from_be_bytes(bytes.as_ref().try_into().expect("4 bytes"))
}

#[test]
fn a_version_1_database_is_migrated_to_the_evaluation_view() {
    assert_eq!(FORMAT_VERSION, 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let store = store_with_history(dir.path());
        let view = evaluation_view(&store);
        assert_eq!(view, expected_view(&store));
        assert!(view.len() >= 4, "entities with records");
        view
    };
    make_version_1(dir.path(), false);
    {
        let store = SledStore::open(dir.path()).expect("opening migrates");
        assert_eq!(evaluation_view(&store), before);
        assert_eq!(expected_view(&store), before);
        // Writes after the migration keep the view up to date.
        store
            .apply_event("R5", EventKind::Revoke, day("2024-03-01"))
            .expect("event");
        assert_eq!(evaluation_view(&store), expected_view(&store));
    }
    assert_eq!(format_version_on_disk(dir.path()), 3);
    let store = SledStore::open(dir.path()).expect("reopens as version 3");
    assert_eq!(evaluation_view(&store), expected_view(&store));
}

#[test]
fn an_interrupted_migration_starts_again_from_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = evaluation_view(&store_with_history(dir.path()));
    make_version_1(dir.path(), true);
    let store = SledStore::open(dir.path()).expect("opening migrates");
    assert_eq!(
        evaluation_view(&store),
        before,
        "stale values were replaced or removed"
    );
}

// --- format version ------------------------------------------------------------------------

#[test]
fn a_database_of_another_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SledStore::open(dir.path()).expect("fresh");
        store
            .put_records(&[record(
                "V1",
                &code(5),
                RecordKind::AdminPenalty,
                "2023-01-01",
            )])
            .expect("put");
    }
    {
        // Pretend a newer release wrote this database.
        let db = crate::common::raw_sled_open(dir.path());
        let meta = db.open_tree("meta").expect("meta");
        meta.insert("format_version", &(FORMAT_VERSION + 1).to_be_bytes())
            .expect("write");
        db.flush().expect("flush");
    }
    let err = SledStore::open(dir.path()).expect_err("newer version");
    assert_eq!(
        err,
        StoreError::UnsupportedFormat {
            path: dir.path().display().to_string(),
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("format version {}", FORMAT_VERSION + 1))
            && message.contains(&format!("only format version {FORMAT_VERSION}")),
        "{message}"
    );
}

#[test]
fn a_foreign_database_without_version_is_refused_and_a_fresh_one_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = crate::common::raw_sled_open(dir.path());
        db.open_tree("records")
            .expect("tree")
            .insert("x", "y")
            .expect("write");
        db.flush().expect("flush");
    }
    let err = SledStore::open(dir.path()).expect_err("no version");
    assert!(
        matches!(err, StoreError::MissingFormatVersion { .. }),
        "{err}"
    );

    let fresh = tempfile::tempdir().expect("tempdir");
    let r = record("P1", &code(6), RecordKind::AdminPenalty, "2023-01-01");
    {
        let store = SledStore::open(fresh.path()).expect("fresh");
        store.put_records(std::slice::from_ref(&r)).expect("put");
    }
    let store = SledStore::open(fresh.path()).expect("reopen");
    assert_eq!(store.records_of(&code(6)).expect("records"), vec![r]);
    // A second opener of the same directory is refused while the first holds it.
    let err = SledStore::open(fresh.path()).expect_err("locked");
    assert!(
        err.to_string()
            .contains(&fresh.path().display().to_string()),
        "{err}"
    );
}

// --- rule-set versions ---------------------------------------------------------------------

#[test]
fn rule_set_versions_are_content_addressed_and_listed_in_order() {
    on_each_store(|store| {
        let v1 = "ruleset water { version \"1\" }";
        let v2 = "ruleset water { version \"2\" }";
        let new = |source: &'static str, message: &'static str| NewRuleSetVersion {
            ruleset_id: "water",
            source,
            author: "水务局 张三",
            message,
            time: ts("2024-05-01T08:00:00Z"),
        };
        let first = store.put_ruleset_version(&new(v1, "first")).expect("v1");
        assert_eq!((first.seq, first.created), (1, true));
        assert_eq!(first.hash, source_hash(v1));
        let same = store
            .put_ruleset_version(&new(v1, "again"))
            .expect("v1 again");
        assert_eq!((same.seq, same.created), (1, false));
        let second = store.put_ruleset_version(&new(v2, "second")).expect("v2");
        assert_eq!((second.seq, second.created), (2, true));

        let got = store
            .ruleset_version(&second.hash)
            .expect("get")
            .expect("stored");
        assert_eq!(got.source, v2);
        assert_eq!(got.parent.as_deref(), Some(first.hash.as_str()));
        assert_eq!(got.author, "水务局 张三");
        assert_eq!(got.message, "second");
        assert_eq!(got.time, ts("2024-05-01T08:00:00Z"));

        // Saving the old source again is a revert: the log grows, the version is the old one.
        let revert = store
            .put_ruleset_version(&new(v1, "revert"))
            .expect("revert");
        assert_eq!((revert.seq, revert.hash.as_str()), (3, first.hash.as_str()));
        let listed: Vec<String> = store
            .ruleset_versions("water")
            .expect("list")
            .into_iter()
            .map(|v| v.hash)
            .collect();
        assert_eq!(
            listed,
            [first.hash.clone(), second.hash.clone(), first.hash.clone()]
        );
        assert!(store.ruleset_versions("wat").expect("list").is_empty());
        store
            .put_ruleset_version(&NewRuleSetVersion {
                ruleset_id: "city.base",
                ..new("ruleset city.base { version \"1\" }", "base")
            })
            .expect("another rule set");
        assert_eq!(store.ruleset_ids().expect("ids"), ["city.base", "water"]);

        let clash = store
            .put_ruleset_version(&NewRuleSetVersion {
                ruleset_id: "transport",
                ..new(v1, "copy")
            })
            .expect_err("same source, other rule set");
        assert!(clash.to_string().contains("`water`"), "{clash}");
        assert!(store.ruleset_version("not-a-hash").is_err());
        assert_eq!(
            store.ruleset_version(&source_hash("unknown")).expect("get"),
            None
        );
    });
}

// --- cursors -------------------------------------------------------------------------------

#[test]
fn cursors_are_named_and_persist() {
    on_each_reopened_store(|open| {
        {
            let store = open();
            assert_eq!(store.cursor("hubei").expect("get"), None);
            store.set_cursor("hubei", "XZCF-00100-0").expect("set");
            store.set_cursor("hubei", "XZCF-00200-0").expect("set");
            store.set_cursor("court", "2024-06-01").expect("set");
        }
        let store = open();
        assert_eq!(
            store.cursor("hubei").expect("get").as_deref(),
            Some("XZCF-00200-0")
        );
        assert_eq!(
            store.cursor("court").expect("get").as_deref(),
            Some("2024-06-01")
        );
    });
}

// --- decision log --------------------------------------------------------------------------

fn decision(time: &str, ruleset: &str, usccs: &[&Uscc], decision: &str) -> DecisionEntry {
    DecisionEntry {
        time: ts(time),
        ruleset_id: ruleset.to_owned(),
        version_hash: source_hash(ruleset),
        as_of: day("2024-06-01"),
        usccs: usccs.iter().map(|u| (*u).clone()).collect(),
        decision: decision.to_owned(),
        total: Decimal::new(850, 2),
        report: serde_json::json!({ "ruleset": ruleset, "decision": decision }).into(),
        request_id: None,
        caller: None,
        known_at: None,
        inline_records: false,
        context: None,
    }
}

#[test]
fn the_decision_log_is_append_only_and_queryable() {
    on_each_reopened_store(|open| {
        let (a, b, c) = (code(201), code(202), code(203));
        let entries = [
            decision("2024-06-01T09:00:00Z", "water", &[&a], "eligible"),
            decision("2024-06-01T10:00:00Z", "water", &[&a, &b], "disqualified"),
            decision("2024-06-02T09:00:00Z", "transport", &[&b], "eligible"),
            decision("2024-06-03T09:00:00Z", "water", &[&c], "review"),
        ];
        let mut seqs = Vec::new();
        {
            let store = open();
            for e in &entries[..2] {
                seqs.push(store.append_decision(e).expect("append"));
            }
            // Group commit: several entries, one flush.
            seqs.extend(
                store
                    .append_decisions(&entries[2..])
                    .expect("append several"),
            );
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let store = open();
        let run = |q: DecisionQuery| -> Vec<u64> {
            store
                .decisions(&q)
                .expect("query")
                .into_iter()
                .map(|d| d.seq)
                .collect()
        };
        assert_eq!(run(DecisionQuery::default()), seqs);
        let all = store.decisions(&DecisionQuery::default()).expect("all");
        assert_eq!(all[1].entry, entries[1], "entries come back intact");
        assert_eq!(
            run(DecisionQuery {
                uscc: Some(b.clone()),
                ..Default::default()
            }),
            [seqs[1], seqs[2]]
        );
        assert_eq!(
            run(DecisionQuery {
                ruleset_id: Some("water".into()),
                ..Default::default()
            }),
            [seqs[0], seqs[1], seqs[3]]
        );
        assert_eq!(
            run(DecisionQuery {
                from: Some(ts("2024-06-01T10:00:00Z")),
                until: Some(ts("2024-06-03T09:00:00Z")),
                ..Default::default()
            }),
            [seqs[1], seqs[2]],
            "from is inclusive, until exclusive"
        );
        assert_eq!(
            run(DecisionQuery {
                uscc: Some(a.clone()),
                ruleset_id: Some("water".into()),
                from: Some(ts("2024-06-01T09:30:00Z")),
                ..Default::default()
            }),
            [seqs[1]]
        );
        assert_eq!(
            run(DecisionQuery {
                after_seq: Some(seqs[0]),
                limit: 2,
                ..Default::default()
            }),
            [seqs[1], seqs[2]]
        );
        assert_eq!(
            run(DecisionQuery {
                ruleset_id: Some("water".into()),
                after_seq: Some(seqs[0]),
                limit: 1,
                ..Default::default()
            }),
            [seqs[1]]
        );
        assert!(
            run(DecisionQuery {
                ruleset_id: Some("wat".into()),
                ..Default::default()
            })
            .is_empty()
        );
    });
}

// --- the importer (`credit-rules import`) --------------------------------------------------

fn run_import(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .arg("import")
        .args(args)
        .output()
        .expect("run credit-rules import")
}

#[test]
fn import_reports_bad_lines_applies_late_events_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("db");
    let feed = dir.path().join("feed.jsonl");
    let a = code(301);
    let record = |id: &str| {
        let mut r = record(id, &a, RecordKind::AdminPenalty, "2023-03-01");
        r.entity_name = Some("江汉路桥工程有限公司".into());
        serde_json::to_string(&r).expect("json")
    };
    let lines = [
        // An event before its record: applied once the record is stored.
        r#"{"record_id": "IMP-2", "kind": "repair", "date": "2024-01-02"}"#.to_owned(),
        record("IMP-1"),
        String::new(),
        r#"{"id": "IMP-BAD", "uscc": "914201066715055525", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#.to_owned(),
        "not json".to_owned(),
        // A provincial feed row (双公示 penalty columns), mapped by the intake table.
        format!(
            r#"{{"xxbh": "XZCF-IMP-1", "cf_xdr_mc": "江汉路桥工程有限公司", "cf_xdr_shxym": "{a}", "cf_wsh": "武水罚〔2023〕9号", "cf_cflb": "罚款", "cf_nr_fk": 1.5, "cf_jdrq": "2023-05-06", "cf_gsjzq": "2026-05-06", "cf_cfjg": "武汉市水务局"}}"#
        ),
        record("IMP-2"),
        r#"{"record_id": "NO-SUCH", "kind": "revoke", "date": "2024-01-02"}"#.to_owned(),
    ];
    std::fs::write(&feed, lines.join("\n")).expect("write feed");

    let out = run_import(&[feed.as_os_str(), "--data".as_ref(), data.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let name = feed.display().to_string();
    assert!(
        stderr.contains(&format!("{name}:4: rejected: ")),
        "{stderr}"
    );
    assert!(stderr.contains("check character"), "{stderr}");
    assert!(
        stderr.contains(&format!("{name}:5: rejected: ")),
        "{stderr}"
    );
    // An event whose record never came is kept (pending), not rejected.
    assert!(
        !stderr.contains(&format!("{name}:8: rejected: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 inserted, 0 updated, 0 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 applied, 0 unchanged, 1 pending"),
        "{stderr}"
    );
    assert!(stderr.contains("rejected: 2 line(s)"), "{stderr}");

    // A second load changes nothing; with --strict the rejected lines fail the run.
    let out = run_import(&[
        feed.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--strict".as_ref(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("0 inserted, 0 updated, 3 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0 applied, 1 unchanged, 1 pending"),
        "{stderr}"
    );

    // `credit-rules pending` lists the event still waiting for its record.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(["pending".as_ref(), "--data".as_ref(), data.as_os_str()])
        .output()
        .expect("run credit-rules pending");
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(
        stdout.starts_with("NO-SUCH  revocation (撤销)  2024-01-02"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    let store = SledStore::open(&data).expect("open");
    let ids: Vec<String> = store
        .records_of(&a)
        .expect("records")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["IMP-1", "IMP-2", "XZCF-IMP-1"]);
    let repaired = store.record("IMP-2").expect("lookup").expect("stored");
    assert_eq!(repaired.repaired_on, Some(day("2024-01-02")));
}

#[test]
fn import_fails_clearly_on_a_missing_file_or_a_locked_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("db");
    let missing = dir.path().join("missing.jsonl");
    let out = run_import(&[missing.as_os_str(), "--data".as_ref(), data.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.jsonl"),
        "{stderr}"
    );
    assert!(
        !data.exists(),
        "nothing is created before the input is known to be readable"
    );

    let feed = dir.path().join("feed.jsonl");
    std::fs::write(&feed, "").expect("write");
    let _held = SledStore::open(&data).expect("open");
    let out = run_import(&[feed.as_os_str(), "--data".as_ref(), data.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&data.display().to_string()), "{stderr}");
}

#[test]
fn an_event_for_an_id_no_record_can_have_is_refused_not_kept_waiting() {
    on_each_store(|store| {
        let event = |id: String| RecordEvent {
            record_id: id,
            kind: EventKind::Repair,
            date: NaiveDate::from_ymd_opt(2024, 1, 1).expect("day"),
            authority: None,
            note: None,
        };
        let outcomes = store
            .apply_events(&[
                event(String::new()),
                event("x".repeat(200)),
                event("A\tB".into()),
                event("R-1".into()),
            ])
            .expect("applied");
        for outcome in &outcomes[..3] {
            assert!(
                matches!(outcome, Err(StoreError::UnknownRecord { .. })),
                "{outcome:?}"
            );
        }
        assert!(
            matches!(outcomes[3], Ok(EventOutcome::Pending)),
            "{:?}",
            outcomes[3]
        );
        let pending = store.pending_events(None, 10).expect("listed");
        assert_eq!(pending.items.len(), 1);
    });
}

#[test]
fn a_postgres_schema_newer_than_the_binary_is_refused_naming_both_versions() {
    let store = PgTestStore::new();
    credit_rules::store::PgStore::open_in_schema(&crate::common::pg_url(), store.schema())
        .expect("a second opening of the same version is fine");
    crate::common::pg_execute(
        store.schema(),
        "INSERT INTO schema_migrations (version) VALUES (99)",
    );
    let err =
        credit_rules::store::PgStore::open_in_schema(&crate::common::pg_url(), store.schema())
            .expect_err("newer schema");
    assert!(
        matches!(
            err,
            StoreError::UnsupportedFormat {
                found: 99,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("99") && text.contains('2'), "{text}");
}
