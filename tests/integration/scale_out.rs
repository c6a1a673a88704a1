//! The national deployment on Citus (`docs/deployment.md`): where the Citus extension is
//! installed, the schema's distribution statements run on a fresh store's tables and a
//! per-entity read and write still work; everywhere, every statement of the per-entity
//! paths names the USCC, so that Citus can route it to one shard.

use credit_rules::record::RecordKind;
use credit_rules::store::Records;
use credit_rules::store::postgres::sql;

use crate::common::{PgTestStore, code, pg_url, record};

#[test]
fn the_schema_distributes_by_uscc_and_per_entity_statements_stay_on_one_shard() {
    assert_eq!(
        sql::unrouted_statements(),
        Vec::<&str>::new(),
        "per-entity statements without a USCC filter"
    );
    let store = PgTestStore::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let citus = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        let loaded: bool = client
            .query_one(
                "SELECT count(*) > 0 FROM pg_extension WHERE extname = 'citus'",
                &[],
            )
            .await
            .expect("pg_extension")
            .get(0);
        if loaded {
            client
                .batch_execute(&format!("SET search_path = {}", store.schema()))
                .await
                .expect("search path");
            for statement in sql::CITUS_DISTRIBUTION {
                client
                    .batch_execute(statement)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
        }
        drop(client);
        let _ = driver.await;
        loaded
    });
    println!(
        "scale-out: Citus {}",
        if citus {
            "present: the tables were distributed"
        } else {
            "absent on this server: the distribution statements were not run"
        }
    );
    let a = code(31);
    let records = vec![record("S-1", &a, RecordKind::AdminPenalty, "2024-01-01")];
    let summary = store.put_records(&records).expect("put");
    assert_eq!(summary.inserted, 1);
    assert_eq!(store.records_of(&a).expect("records"), records);
}
