//! Tests of the public disclosure list (`credit_rules::store::Records::disclosure_page`
//! and the entity and record pages): order, public fields, filters, keyset paging with
//! records arriving between pages, the publication rule (a repair or revocation ends
//! publication for every day), the index against the record-by-record reference answer,
//! and the migration of a version-2 sled database. Each runs on both backends (sled's
//! `public_disclosure` tree, PostgreSQL's `public_disclosure` table) unless it is about one.

use chrono::NaiveDate;
use credit_rules::record::{CreditRecord, RecordKind};
use credit_rules::store::{
    DisclosureCursor, DisclosureEntry, DisclosureFilter, EventKind, FORMAT_VERSION, RecordStore,
    Records, SledStore, disclosure_scan_page,
};
use rust_decimal::Decimal;

use crate::common::{PgTestStore, code, day, on_each_store, record};

fn store() -> SledStore {
    SledStore::open_temporary().expect("temporary store")
}

/// The filter for a day, asked on the same day.
fn on(as_of: &str) -> DisclosureFilter {
    DisclosureFilter::new(day(as_of), day(as_of))
}

/// Every entry, following the cursors, with pages of `limit`.
fn all_pages(
    store: &dyn RecordStore,
    filter: &DisclosureFilter,
    limit: usize,
) -> Vec<DisclosureEntry> {
    let mut out = Vec::new();
    let mut cursor: Option<DisclosureCursor> = None;
    loop {
        let page = store
            .disclosure_page(filter, cursor.as_ref(), limit)
            .expect("page");
        assert!(page.items.len() <= limit);
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn raw_open(dir: &std::path::Path) -> sled::Db {
    crate::common::raw_sled_open(dir)
}

fn ids(entries: &[DisclosureEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// Entities and records around 2024-06-01, with the ids that count that day.
fn disclosure_fixture() -> (Vec<CreditRecord>, Vec<&'static str>) {
    let (a, b, c) = (code(101), code(102), code(103));
    let named = |mut r: CreditRecord, name: &str| {
        r.entity_name = Some(name.to_owned());
        r.authority = Some("武汉市水务局".into());
        r.document_no = Some(format!("武水罚〔2024〕{}号", r.id.len()));
        r.legal_basis = Some("《中华人民共和国招标投标法》第五十四条".into());
        r.description = Some("not public".into());
        r.sector = Some("水务".into());
        r.amount = Some(Decimal::new(5, 0));
        r
    };
    let until = |mut r: CreditRecord, d: &str| {
        r.disclosure_until = Some(day(d));
        r
    };
    let records = vec![
        until(
            named(
                record("A-PEN", &a, RecordKind::AdminPenalty, "2024-01-05"),
                "江夏水利工程有限公司",
            ),
            "2027-01-05",
        ),
        named(
            record("A-DEBT", &a, RecordKind::DishonestDebtor, "2023-03-01"),
            "江夏水利工程有限公司",
        ),
        until(
            named(
                record("A-OLD", &a, RecordKind::AdminPenalty, "2020-01-01"),
                "江夏水利工程有限公司",
            ),
            "2023-01-01",
        ),
        until(
            named(
                record("A-LAST", &a, RecordKind::BadBehaviour, "2023-06-01"),
                "江夏水利工程有限公司",
            ),
            "2024-06-01",
        ),
        named(
            record("A-GOOD", &a, RecordKind::Commendation, "2024-02-01"),
            "江夏水利工程有限公司",
        ),
        named(
            record("A-LIC", &a, RecordKind::AdminLicense, "2024-02-01"),
            "江夏水利工程有限公司",
        ),
        named(
            record("A-GRADE", &a, RecordKind::SectorGrade, "2024-02-01"),
            "江夏水利工程有限公司",
        ),
        named(
            record("B-BLACK", &b, RecordKind::Blacklist, "2024-01-05"),
            "青山路桥建设集团有限公司",
        ),
        named(
            record("B-FUTURE", &b, RecordKind::Blacklist, "2024-07-01"),
            "青山路桥建设集团有限公司",
        ),
        named(
            record("B-REPAIRED", &b, RecordKind::BiddingBan, "2023-01-01"),
            "青山路桥建设集团有限公司",
        ),
        named(
            record("B-REVOKED", &b, RecordKind::BiddingBan, "2023-01-01"),
            "青山路桥建设集团有限公司",
        ),
        named(
            record("C-TAX", &c, RecordKind::TaxMajorViolation, "2022-12-01"),
            "光谷信息科技有限公司",
        ),
        named(
            record("C-WAGE", &c, RecordKind::WageArrears, "2024-01-05"),
            "光谷信息科技有限公司",
        ),
    ];
    let counting = vec!["A-PEN", "A-DEBT", "A-LAST", "B-BLACK", "C-TAX", "C-WAGE"];
    (records, counting)
}

fn load(store: &dyn RecordStore, records: &[CreditRecord]) {
    let summary = store.put_records(records).expect("put");
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    store
        .apply_event("B-REPAIRED", EventKind::Repair, day("2024-05-01"))
        .expect("repair");
    store
        .apply_event("B-REVOKED", EventKind::Revoke, day("2024-05-01"))
        .expect("revoke");
}

#[test]
fn the_list_shows_only_public_dishonesty_records_newest_first_with_public_fields() {
    on_each_store(|store| {
        let (records, counting) = disclosure_fixture();
        load(store, &records);
        let page = store
            .disclosure_page(&on("2024-06-01"), None, 100)
            .expect("list");
        assert_eq!(page.next_cursor, None, "one page holds everything");
        // Newest decision first, then USCC, then id.
        let mut expected: Vec<(NaiveDate, String, String)> = records
            .iter()
            .filter(|r| counting.contains(&r.id.as_str()))
            .map(|r| (r.decided_on, r.uscc.to_string(), r.id.clone()))
            .collect();
        expected.sort_by(|x, y| {
            y.0.cmp(&x.0)
                .then_with(|| x.1.cmp(&y.1))
                .then_with(|| x.2.cmp(&y.2))
        });
        let listed: Vec<(NaiveDate, String, String)> = page
            .items
            .iter()
            .map(|e| (e.decided_on, e.uscc.to_string(), e.id.clone()))
            .collect();
        assert_eq!(listed, expected);

        // Public fields only (no description, amount or sector on the list line).
        let json = serde_json::to_value(&page.items[0]).expect("json");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "authority",
                "decided_on",
                "disclosure_until",
                "document_no",
                "id",
                "kind",
                "kind_label",
                "legal_basis",
                "name",
                "uscc"
            ]
        );
        let first = &page.items[0];
        assert_eq!(first.kind_label, first.kind.label());
        assert!(first.name.is_some() && first.authority.is_some() && first.legal_basis.is_some());

        // The last day of disclosure still counts; the day after it does not.
        let next_day = all_pages(store, &on("2024-06-02"), 100);
        assert_eq!(next_day.len(), counting.len() - 1);
        assert!(next_day.iter().all(|e| e.id != "A-LAST"));
        // The same list as the record-by-record reference.
        for as_of in ["2023-06-01", "2024-06-01", "2024-06-02", "2025-01-01"] {
            let reference = disclosure_scan_page(store, &on(as_of), None, 100).expect("scan");
            assert_eq!(
                store.disclosure_page(&on(as_of), None, 100).expect("index"),
                reference,
                "{as_of}"
            );
        }
    });
}

#[test]
fn a_repair_or_revocation_ends_publication_for_every_day() {
    let uscc = code(7);
    let mut penalty = record("P1", &uscc, RecordKind::AdminPenalty, "2024-01-10");
    penalty.entity_name = Some("汉阳钢构有限公司".into());
    let mut ban = record("P2", &uscc, RecordKind::BiddingBan, "2024-01-10");
    ban.entity_name = Some("汉阳钢构有限公司".into());
    on_each_store(|store| {
        store
            .put_records(&[penalty.clone(), ban.clone()])
            .expect("put");
        let today = day("2024-09-01");
        let listed = |as_of: &str| -> Vec<String> {
            let filter = DisclosureFilter::new(day(as_of), today);
            let page = store.disclosure_page(&filter, None, 100).expect("page");
            assert_eq!(
                page,
                disclosure_scan_page(store, &filter, None, 100).expect("scan")
            );
            page.items.into_iter().map(|e| e.id).collect()
        };
        assert_eq!(listed("2024-05-01"), ["P1", "P2"]);
        // Repaired on D = 2024-06-01 (and revoked on the same day): from now on neither is
        // shown, for a day before D, on D and after D.
        store
            .apply_event("P1", EventKind::Repair, day("2024-06-01"))
            .expect("repair");
        store
            .apply_event("P2", EventKind::Revoke, day("2024-06-01"))
            .expect("revoke");
        for as_of in [
            "2024-01-10",
            "2024-05-31",
            "2024-06-01",
            "2024-06-02",
            "2024-09-01",
        ] {
            assert!(listed(as_of).is_empty(), "as of {as_of}");
            for id in ["P1", "P2"] {
                assert_eq!(
                    store
                        .disclosure_record(&uscc, id, day(as_of), today)
                        .expect("record"),
                    None
                );
            }
            let entity = store
                .disclosure_of_entity(&uscc, day(as_of), today)
                .expect("entity")
                .expect("known entity");
            assert!(entity.entries.is_empty(), "as of {as_of}");
            assert_eq!(entity.name.as_deref(), Some("汉阳钢构有限公司"));
        }
        // Staff still see the records with their events.
        assert_eq!(store.records_of(&uscc).expect("records").len(), 2);
    });
}

#[test]
fn a_past_day_shows_only_what_is_still_public_today() {
    let uscc = code(8);
    let mut ended = record("E1", &uscc, RecordKind::AdminPenalty, "2023-01-10");
    ended.disclosure_until = Some(day("2023-12-31"));
    let mut running = record("E2", &uscc, RecordKind::AdminPenalty, "2023-01-10");
    running.disclosure_until = Some(day("2026-01-01"));
    on_each_store(|store| {
        store
            .put_records(&[ended.clone(), running.clone()])
            .expect("put");
        let past = DisclosureFilter::new(day("2023-06-01"), day("2024-06-01"));
        assert_eq!(ids(&all_pages(store, &past, 10)), ["E2"]);
        let then = DisclosureFilter::new(day("2023-06-01"), day("2023-06-01"));
        assert_eq!(ids(&all_pages(store, &then, 10)), ["E1", "E2"]);
    });
}

#[test]
fn filters_by_name_uscc_kind_authority_and_decision_dates() {
    let (mut records, _) = disclosure_fixture();
    records[0].authority = Some("武汉市城乡建设局".into());
    on_each_store(|store| {
        load(store, &records);
        let base = on("2024-06-01");
        let with = |edit: &dyn Fn(&mut DisclosureFilter)| {
            let mut filter = base.clone();
            edit(&mut filter);
            let found = all_pages(store, &filter, 2);
            assert_eq!(
                found,
                disclosure_scan_page(store, &filter, None, 100)
                    .expect("scan")
                    .items
            );
            found.into_iter().map(|e| e.id).collect::<Vec<_>>()
        };
        assert_eq!(with(&|f| f.query = Some("青山路桥".into())), ["B-BLACK"]);
        assert_eq!(
            with(&|f| f.query = Some(" 不存在的公司 ".into())),
            Vec::<String>::new()
        );
        let c = code(103);
        assert_eq!(
            with(&|f| f.query = Some(c.as_str()[..17].to_ascii_lowercase())),
            ["C-WAGE", "C-TAX"]
        );
        assert_eq!(
            with(&|f| f.query = Some(c.as_str().to_owned())),
            ["C-WAGE", "C-TAX"]
        );
        assert_eq!(
            with(&|f| f.query = Some("91420100".into())).len(),
            6,
            "a common USCC prefix"
        );
        assert_eq!(
            with(&|f| f.kinds = vec![RecordKind::AdminPenalty, RecordKind::Commendation]),
            ["A-PEN"]
        );
        assert_eq!(
            with(&|f| f.kinds = vec![RecordKind::WageArrears, RecordKind::TaxMajorViolation]),
            ["C-WAGE", "C-TAX"]
        );
        assert_eq!(with(&|f| f.authority = Some("城乡建设".into())), ["A-PEN"]);
        assert_eq!(with(&|f| f.authority = Some("水务局".into())).len(), 5);
        assert_eq!(
            with(&|f| {
                f.decided_from = Some(day("2023-03-01"));
                f.decided_to = Some(day("2024-01-04"));
            }),
            ["A-LAST", "A-DEBT"]
        );
        assert_eq!(
            with(&|f| {
                f.query = Some("有限公司".into());
                f.decided_from = Some(day("2024-01-05"));
            }),
            ["A-PEN", "B-BLACK", "C-WAGE"]
        );
        // A bad range and a bad limit are refused.
        let mut backwards = base.clone();
        backwards.decided_from = Some(day("2024-02-01"));
        backwards.decided_to = Some(day("2024-01-01"));
        assert!(store.disclosure_page(&backwards, None, 10).is_err());
        assert!(store.disclosure_page(&base, None, 0).is_err());
        assert!(store.disclosure_page(&base, None, 1001).is_err());
    });
}

#[test]
fn the_order_does_not_depend_on_insertion_order() {
    let (records, _) = disclosure_fixture();
    let mut reversed = records.clone();
    reversed.reverse();
    let (sled_forward, sled_backward) = (store(), store());
    let (pg_forward, pg_backward) = (PgTestStore::new(), PgTestStore::new());
    let stores: [(&str, &dyn RecordStore, &[CreditRecord]); 4] = [
        ("sled", &sled_forward, &records),
        ("sled reversed", &sled_backward, &reversed),
        ("PostgreSQL", &*pg_forward, &records),
        ("PostgreSQL reversed", &*pg_backward, &reversed),
    ];
    for (_, store, records) in stores {
        load(store, records);
    }
    for as_of in ["2023-06-01", "2024-06-01", "2025-01-01"] {
        let first = all_pages(&sled_forward, &on(as_of), 3);
        for (name, store, _) in stores {
            assert_eq!(
                all_pages(store, &on(as_of), 3),
                first,
                "{name} as of {as_of}"
            );
        }
    }
}

#[test]
fn cursor_pages_neither_repeat_nor_skip_when_records_arrive_between_them() {
    on_each_store(|store| {
        let entity = |n: u32| code(1000 + n % 7);
        let put = |from: u32, to: u32| {
            let batch: Vec<CreditRecord> = (from..to)
                .map(|n| {
                    let decided = day("2024-01-01") + chrono::Days::new(u64::from(n % 40));
                    let mut r = CreditRecord::new(
                        format!("R{n:04}"),
                        entity(n),
                        RecordKind::AdminPenalty,
                        decided,
                    );
                    r.entity_name = Some(format!("第{}建设有限公司", n % 7));
                    r
                })
                .collect();
            store.put_records(&batch).expect("put");
        };
        put(0, 100);
        let filter = on("2024-06-01");
        for query in [None, Some("建设".to_owned()), Some("第3建设".to_owned())] {
            let mut filter = filter.clone();
            filter.query = query.clone();
            let before: Vec<DisclosureEntry> = all_pages(store, &filter, 1000);
            let first = store.disclosure_page(&filter, None, 10).expect("page 1");
            let cursor = first.next_cursor.clone().expect("more pages");
            // New records land before, inside and after the first page's position.
            let round = if query.is_none() {
                0
            } else if query.as_deref() == Some("建设") {
                1
            } else {
                2
            };
            put(100 + round * 100, 200 + round * 100);
            let mut seen = first.items.clone();
            let mut next = Some(cursor);
            while let Some(at) = next {
                let page = store.disclosure_page(&filter, Some(&at), 10).expect("page");
                seen.extend(page.items);
                next = page.next_cursor;
            }
            let after: Vec<DisclosureEntry> = all_pages(store, &filter, 1000);
            // Nothing twice; every entry that was there before is seen; the pages are in order.
            let mut distinct = ids(&seen);
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), seen.len(), "no entry twice ({query:?})");
            for entry in &before {
                assert!(seen.contains(entry), "{} was skipped ({query:?})", entry.id);
            }
            let positions: Vec<usize> = seen
                .iter()
                .map(|e| after.iter().position(|a| a == e).expect("in the list"))
                .collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "in list order ({query:?})"
            );
        }
    });
}

#[test]
fn the_index_answers_like_the_reference_over_demo_data_with_events() {
    let sled = store();
    index_answers_like_the_reference(&sled, &|n| sled.set_disclosure_merge_max(n), &|n| {
        sled.set_disclosure_scan_budget(n)
    });
    let pg = PgTestStore::new();
    index_answers_like_the_reference(&*pg, &|n| pg.set_disclosure_merge_max(n), &|n| {
        pg.set_disclosure_scan_budget(n)
    });
}

fn index_answers_like_the_reference(
    store: &dyn RecordStore,
    set_merge_max: &dyn Fn(usize),
    set_scan_budget: &dyn Fn(usize),
) {
    // Fewer entities are merged entity by entity than the store holds, so that a common
    // term ("有限") walks the list while a rare one (part of a name) is merged.
    set_merge_max(50);
    let cfg = credit_rules::demo::DemoConfig {
        seed: 5,
        entities: 300,
        records_per_entity: (0, 12),
    };
    let records: Vec<CreditRecord> = credit_rules::demo::entities(cfg)
        .flat_map(|(_, _, r)| r)
        .collect();
    for chunk in records.chunks(500) {
        store.put_records(chunk).expect("put");
    }
    // Repair a few more after loading, and change one record.
    let publishable: Vec<&CreditRecord> = records
        .iter()
        .filter(|r| credit_rules::store::is_publishable(r))
        .collect();
    for r in publishable.iter().step_by(17) {
        store
            .apply_event(&r.id, EventKind::Repair, r.decided_on)
            .expect("repair");
    }
    let mut changed = (*publishable[1]).clone();
    changed.decided_on = day("2025-12-30");
    changed.disclosure_until = None;
    store.put_records(&[changed]).expect("update");
    let names: Vec<String> = credit_rules::demo::entities(cfg)
        .take(3)
        .map(|(_, n, _)| n)
        .collect();
    let mut filters = Vec::new();
    for (as_of, today) in [
        ("2022-06-01", "2022-06-01"),
        ("2024-06-01", "2025-06-01"),
        ("2026-12-01", "2026-12-01"),
    ] {
        let base = DisclosureFilter::new(day(as_of), day(today));
        filters.push(base.clone());
        let mut f = base.clone();
        f.kinds = vec![RecordKind::AdminPenalty, RecordKind::DishonestDebtor];
        filters.push(f);
        let mut f = base.clone();
        f.query = Some(names[0][..6].to_owned());
        filters.push(f);
        let mut f = base.clone();
        f.query = Some(names[1].clone());
        f.decided_from = Some(day("2020-01-01"));
        filters.push(f);
        let mut f = base.clone();
        f.query = Some("有限".into());
        filters.push(f);
        let mut f = base.clone();
        f.authority = Some("武汉".into());
        f.decided_to = Some(day("2023-12-31"));
        filters.push(f);
    }
    for filter in &filters {
        let reference = disclosure_scan_page(store, filter, None, 1000).expect("scan");
        assert_eq!(reference.next_cursor, None);
        assert_eq!(all_pages(store, filter, 7), reference.items, "{filter:?}");
    }
    // With a tiny scan budget, rare filters answer short pages with a cursor to resume
    // from; following the cursors still gives exactly the list.
    set_scan_budget(5);
    let mut short_pages = 0;
    for filter in &filters {
        let reference = disclosure_scan_page(store, filter, None, 1000).expect("scan");
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .disclosure_page(filter, cursor.as_ref(), 4)
                .expect("page");
            if page.items.len() < 4 && page.next_cursor.is_some() {
                short_pages += 1;
            }
            seen.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, reference.items, "{filter:?}");
    }
    assert!(
        short_pages > 10,
        "the budget stopped pages early ({short_pages})"
    );
    assert!(
        filters
            .iter()
            .map(|f| disclosure_scan_page(store, f, None, 1000)
                .expect("scan")
                .items
                .len())
            .sum::<usize>()
            > 200,
        "the filters select entries"
    );
}

#[test]
fn the_entity_and_record_pages_give_public_fields_on_the_day() {
    on_each_store(|store| {
        let (records, _) = disclosure_fixture();
        load(store, &records);
        let a = code(101);
        let entity = store
            .disclosure_of_entity(&a, day("2024-06-01"), day("2024-06-01"))
            .expect("entity")
            .expect("known");
        assert_eq!(entity.name.as_deref(), Some("江夏水利工程有限公司"));
        assert_eq!(ids(&entity.entries), ["A-PEN", "A-LAST", "A-DEBT"]);
        assert_eq!(
            store
                .disclosure_of_entity(&code(999), day("2024-06-01"), day("2024-06-01"))
                .expect("read"),
            None
        );
        let page = store
            .disclosure_record(&a, "A-PEN", day("2024-06-01"), day("2024-06-01"))
            .expect("record")
            .expect("public");
        assert_eq!(
            page.entry.legal_basis.as_deref(),
            Some("《中华人民共和国招标投标法》第五十四条")
        );
        assert_eq!(page.entry.disclosure_until, Some(day("2027-01-05")));
        assert_eq!(page.amount, Some(Decimal::new(5, 0)));
        assert_eq!(page.sector.as_deref(), Some("水务"));
        // Not public: another entity's id, a license, a day before the decision.
        assert_eq!(
            store
                .disclosure_record(&code(102), "A-PEN", day("2024-06-01"), day("2024-06-01"))
                .expect("read"),
            None
        );
        assert_eq!(
            store
                .disclosure_record(&a, "A-LIC", day("2024-06-01"), day("2024-06-01"))
                .expect("read"),
            None
        );
        assert_eq!(
            store
                .disclosure_record(&a, "A-PEN", day("2024-01-04"), day("2024-01-04"))
                .expect("read"),
            None
        );
    });
}

#[test]
fn a_version_2_database_is_migrated_to_the_disclosure_index() {
    assert_eq!(FORMAT_VERSION, 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let (records, _) = disclosure_fixture();
    let filters = [on("2024-06-01"), on("2023-06-01"), {
        let mut f = on("2024-06-01");
        f.query = Some("江夏".into());
        f
    }];
    let before: Vec<Vec<DisclosureEntry>> = {
        let store = SledStore::open(dir.path()).expect("open");
        store.put_records(&records).expect("put");
        store
            .apply_event("B-REPAIRED", EventKind::Repair, day("2024-05-01"))
            .expect("repair");
        filters.iter().map(|f| all_pages(&store, f, 2)).collect()
    };
    assert!(before[0].len() >= 6);
    // What a version-2 build leaves: no index, version 2; and, as an interrupted earlier
    // attempt could leave, a stale entry.
    {
        let db = raw_open(dir.path());
        db.drop_tree("public_disclosure").expect("drop the index");
        db.open_tree("public_disclosure")
            .expect("index")
            .insert(b"Dstale-entry-of-nothing", &[0u8; 5][..])
            .expect("stale");
        db.open_tree("records_by_disclosure_end")
            .expect("old index")
            .insert(b"x", &[][..])
            .expect("old");
        db.open_tree("meta")
            .expect("meta")
            .insert("format_version", &2u32.to_be_bytes())
            .expect("v2");
        db.flush().expect("flush");
    }
    {
        let store = SledStore::open(dir.path()).expect("opening migrates");
        let after: Vec<Vec<DisclosureEntry>> =
            filters.iter().map(|f| all_pages(&store, f, 2)).collect();
        assert_eq!(after, before);
        store
            .apply_event("A-PEN", EventKind::Revoke, day("2024-05-01"))
            .expect("revoke");
        assert!(
            all_pages(&store, &filters[0], 2)
                .iter()
                .all(|e| e.id != "A-PEN")
        );
    }
    let db = raw_open(dir.path());
    let version = db
        .open_tree("meta")
        .expect("meta")
        .get("format_version")
        .expect("read")
        .expect("present");
    assert_eq!(version.as_ref(), 3u32.to_be_bytes());
    assert!(
        !db.tree_names()
            .iter()
            .any(|n| n.as_ref() == b"records_by_disclosure_end"),
        "the old index is dropped"
    );
}

#[test]
fn an_authority_filter_finds_long_authority_names_too() {
    on_each_store(|store| {
        let uscc = code(9);
        let mut long = record("L1", &uscc, RecordKind::AdminPenalty, "2024-01-10");
        // 185 characters (within the 200 of the intake limits), 555 bytes: past the 512 bytes
        // the index keys an authority by.
        long.authority = Some(format!("{}特别委员会", "武汉市".repeat(60)));
        let mut short = record("L2", &uscc, RecordKind::AdminPenalty, "2024-01-11");
        short.authority = Some("特别委员会".into());
        let mut other = record("L3", &uscc, RecordKind::AdminPenalty, "2024-01-12");
        other.authority = Some("武汉市水务局".into());
        store.put_records(&[long, short, other]).expect("put");
        let mut filter = on("2024-06-01");
        filter.authority = Some("特别".into());
        assert_eq!(ids(&all_pages(store, &filter, 1)), ["L2", "L1"]);
        filter.authority = Some("武汉市".into());
        assert_eq!(ids(&all_pages(store, &filter, 1)), ["L3", "L1"]);
        store
            .apply_event("L1", EventKind::Revoke, day("2024-02-01"))
            .expect("revoke");
        assert_eq!(ids(&all_pages(store, &filter, 1)), ["L3"]);
    });
}

#[test]
fn a_record_is_public_only_from_its_publication_day_and_never_before_today() {
    on_each_store(|store| {
        let uscc = code(77);
        // Decided on 2024-05-01, published (公示) on 2024-07-01.
        let mut late = record("P1", &uscc, RecordKind::Blacklist, "2024-05-01");
        late.published_on = Some(day("2024-07-01"));
        let plain = record("P2", &uscc, RecordKind::Blacklist, "2024-05-02");
        store.put_records(&[late, plain]).expect("put");
        let listed = |as_of: &str, today: &str| {
            let filter = DisclosureFilter::new(day(as_of), day(today));
            let mut found: Vec<String> = all_pages(store, &filter, 10)
                .iter()
                .map(|e| e.id.clone())
                .collect();
            found.sort();
            found
        };
        // Before its publication day the platform did not know it.
        assert_eq!(listed("2024-06-01", "2024-06-01"), ["P2"]);
        assert_eq!(listed("2024-07-01", "2024-07-01"), ["P1", "P2"]);
        // A later day asked for on 2024-06-01 never shows what is published after today.
        assert_eq!(listed("2024-08-01", "2024-06-01"), ["P2"]);
        let entity = store
            .disclosure_of_entity(&uscc, day("2024-08-01"), day("2024-06-01"))
            .expect("entity")
            .expect("public entries");
        assert_eq!(ids(&entity.entries), ["P2"]);
        assert!(
            store
                .disclosure_record(&uscc, "P1", day("2024-08-01"), day("2024-06-01"))
                .expect("record")
                .is_none()
        );
    });
}
