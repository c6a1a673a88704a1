//! The impact analysis read in parallel by USCC range, on sled and on PostgreSQL: the ranges
//! a store cuts cover every entity exactly once, scanning them one after the other gives the
//! whole evaluation scan, and the report over the store is the one of the entities in memory
//! whatever the number of threads. Also the benchmark's bulk fill of a PostgreSQL store
//! (`PgStore::fill_new_records`): it writes exactly the rows the import writes.

use chrono::{DateTime, Utc};
use credit_rules::demo::{DemoConfig, entity};
use credit_rules::impact::{ImpactOptions, ImpactReport, analyse};
use credit_rules::impact_store::impact_of_store;
use credit_rules::record::{CreditRecord, Uscc};
use credit_rules::store::{PgStore, RecordStore, Records, SledStore, UsccRange};

use crate::common::{PgTestStore, pg_url};
use crate::impact::version;

fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
}

/// 300 demo entities (half of them with records: 0 to 12 each), grouped by entity.
fn demo() -> Vec<(Uscc, Vec<CreditRecord>)> {
    let cfg = DemoConfig {
        seed: 7,
        entities: 300,
        records_per_entity: (0, 12),
    };
    let mut out: Vec<(Uscc, Vec<CreditRecord>)> = (0..cfg.entities)
        .map(|i| {
            let (uscc, _, records) = entity(&cfg, i);
            (uscc, records)
        })
        .filter(|(_, records)| !records.is_empty())
        .collect();
    for (_, records) in &mut out {
        records.sort_by(|a, b| a.id.cmp(&b.id));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn flat(entities: &[(Uscc, Vec<CreditRecord>)]) -> Vec<CreditRecord> {
    entities
        .iter()
        .flat_map(|(_, r)| r.iter().cloned())
        .collect()
}

/// The entities as the evaluation reads them (no free texts).
fn for_evaluation(entities: &[(Uscc, Vec<CreditRecord>)]) -> Vec<(Uscc, Vec<CreditRecord>)> {
    entities
        .iter()
        .map(|(uscc, records)| {
            let records = records
                .iter()
                .map(|r| CreditRecord {
                    entity_name: None,
                    legal_basis: None,
                    description: None,
                    ..r.clone()
                })
                .collect();
            (uscc.clone(), records)
        })
        .collect()
}

fn decoded(
    items: impl Iterator<
        Item = Result<credit_rules::store::EvaluationEntity, credit_rules::store::StoreError>,
    >,
) -> Vec<(Uscc, Vec<CreditRecord>)> {
    items
        .map(|item| item.expect("scan").decode().expect("decodes"))
        .collect()
}

fn in_memory_report(
    entities: &[(Uscc, Vec<CreditRecord>)],
    options: &ImpactOptions,
) -> ImpactReport {
    analyse(
        &version("old.rules"),
        &version("new.rules"),
        as_of(),
        entities.iter().cloned().map(Ok::<_, String>),
        options,
        &mut |_| {},
    )
    .expect("runs")
}

/// The checks on one store holding [`demo`].
fn ranges_cover_the_store(store: &dyn RecordStore, entities: &[(Uscc, Vec<CreditRecord>)]) {
    let expected = for_evaluation(entities);
    assert_eq!(decoded(store.scan_for_evaluation()), expected);
    for parts in [1, 2, 3, 5, 16, 64, 1_000] {
        let ranges = store.evaluation_ranges(parts).expect("ranges");
        assert!(
            !ranges.is_empty() && ranges.len() <= parts.max(1),
            "{parts}: {ranges:?}"
        );
        assert_eq!(ranges.first().and_then(|r| r.from.clone()), None);
        assert_eq!(ranges.last().and_then(|r| r.to.clone()), None);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "ranges must meet: {ranges:?}");
        }
        let mut read = Vec::new();
        for range in &ranges {
            let part = decoded(store.scan_for_evaluation_in(range));
            assert!(
                part.iter().all(|(u, _)| range.contains(u.as_str())),
                "{range:?}"
            );
            read.extend(part);
        }
        assert_eq!(read, expected, "{parts} parts");
    }
    // A range that starts after it ends, or holds nothing, reads nothing.
    let empty = UsccRange {
        from: Some("Z".into()),
        to: Some("0".into()),
    };
    assert_eq!(store.scan_for_evaluation_in(&empty).count(), 0);
    let beyond = UsccRange {
        from: Some("Y".into()),
        to: None,
    };
    assert_eq!(store.scan_for_evaluation_in(&beyond).count(), 0);

    let json = |r: &ImpactReport| serde_json::to_string(r).expect("serialises");
    for (parallel, chunk_size, top) in [(true, 2_048, 20), (true, 3, 5), (false, 7, 20)] {
        let options = ImpactOptions {
            top,
            chunk_size,
            parallel,
        };
        let report = impact_of_store(
            store,
            &version("old.rules"),
            &version("new.rules"),
            as_of(),
            &options,
            &mut |_| {},
        )
        .expect("runs");
        assert_eq!(json(&report), json(&in_memory_report(&expected, &options)));
        assert_eq!(report.counts.evaluated, entities.len() as u64);
    }
}

#[test]
fn sled_ranges_cover_every_entity_once_and_give_the_same_report() {
    let entities = demo();
    let store = SledStore::open_temporary().expect("store");
    let put = store.put_records(&flat(&entities)).expect("stored");
    assert!(put.rejected.is_empty());
    ranges_cover_the_store(&store, &entities);
}

#[test]
fn postgres_ranges_cover_every_entity_once_and_give_the_same_report() {
    let entities = demo();
    let store = PgTestStore::new();
    let put = store.put_records(&flat(&entities)).expect("stored");
    assert!(put.rejected.is_empty());
    ranges_cover_the_store(&*store, &entities);
}

#[test]
fn an_empty_store_has_one_range_and_nothing_to_read() {
    let sled = SledStore::open_temporary().expect("store");
    let pg = PgTestStore::new();
    for store in [&sled as &dyn RecordStore, &*pg] {
        let ranges = store.evaluation_ranges(8).expect("ranges");
        let read: usize = ranges
            .iter()
            .map(|r| store.scan_for_evaluation_in(r).count())
            .sum();
        assert_eq!(read, 0);
    }
}

/// Every row of the tables the fill writes, in key order, as text (bytea as hex).
fn table_rows(store: &PgStore) -> Vec<(String, Vec<String>)> {
    let tables = [
        ("records", "uscc, id"),
        ("record_ids", "id"),
        ("entities", "uscc"),
        ("public_disclosure", "uscc, id"),
        ("record_history", "uscc, id, rev"),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        let mut out = Vec::new();
        for (table, key) in tables {
            let query = format!(
                "SELECT t::text FROM {}.{table} t ORDER BY {key}",
                store.schema()
            );
            let rows = client.query(&query, &[]).await.expect("rows");
            out.push((
                table.to_owned(),
                rows.iter().map(|r| r.get::<_, String>(0)).collect(),
            ));
        }
        drop(client);
        let _ = driver.await;
        out
    })
}

#[test]
fn the_bulk_fill_writes_the_rows_the_import_writes() {
    let entities = demo();
    let records = flat(&entities);
    let imported = PgTestStore::new();
    let put = imported.put_records(&records).expect("stored");
    assert_eq!((put.inserted, put.rejected.len()), (records.len(), 0));
    // The import's write time, read back, is the fill's.
    let written_at: DateTime<Utc> = {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            let driver = tokio::spawn(connection);
            let query = format!(
                "SELECT DISTINCT known_at FROM {}.records",
                imported.schema()
            );
            let rows = client.query(&query, &[]).await.expect("rows");
            assert_eq!(rows.len(), 1, "one batch, one write time");
            let at = rows[0].get(0);
            drop(client);
            let _ = driver.await;
            at
        })
    };
    let filled = PgTestStore::new();
    // Two calls, as the benchmark fills in batches.
    let half = records.len() / 2;
    let cut = records[half..]
        .iter()
        .position(|r| r.uscc != records[half - 1].uscc)
        .map_or(records.len(), |n| half + n);
    let written = filled
        .fill_new_records(&records[..cut], written_at)
        .expect("filled")
        + filled
            .fill_new_records(&records[cut..], written_at)
            .expect("filled");
    assert_eq!(written, records.len() as u64);
    let (a, b) = (table_rows(&imported), table_rows(&filled));
    for ((table, rows_a), (_, rows_b)) in a.iter().zip(&b) {
        assert_eq!(rows_a.len(), rows_b.len(), "{table}");
        for (x, y) in rows_a.iter().zip(rows_b) {
            assert_eq!(x, y, "{table}");
        }
    }
    assert!(
        a.iter()
            .any(|(t, rows)| t == "public_disclosure" && !rows.is_empty())
    );
    // And the filled store reads as the imported one.
    for uscc in entities.iter().map(|(u, _)| u).take(20) {
        assert_eq!(
            filled.records_of(uscc).expect("read"),
            imported.records_of(uscc).expect("read")
        );
    }
    // An invalid record is refused with the reason, and nothing of its batch is written.
    let mut bad = records[0].clone();
    bad.id = "BAD\0ID".into();
    let fresh = PgTestStore::new();
    let error = fresh
        .fill_new_records(&[records[1].clone(), bad], written_at)
        .expect_err("refused");
    assert!(error.to_string().contains("NUL"), "{error}");
    assert!(fresh.records_of(&records[1].uscc).expect("read").is_empty());
}
