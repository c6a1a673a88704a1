//! `sync` against a fake provincial server on loopback: pages are stored
//! before the cursor moves, a restarted sync resumes without gaps or
//! duplicates, and new rows are picked up by the next run.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use credit_rules::demo::{DemoConfig, entities};
use credit_rules::store::{Cursors, Records, SledStore};
use credit_rules::sync::{SyncOptions, cursor_key, sync};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The fake platform's feed and how many pages it served.
#[derive(Clone, Default)]
pub(crate) struct Feed {
    pub(crate) rows: Arc<Mutex<Vec<Value>>>,
    requests: Arc<Mutex<usize>>,
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: usize,
}

async fn page(State(feed): State<Feed>, Query(q): Query<PageQuery>) -> Json<Value> {
    *feed.requests.lock().expect("lock") += 1;
    let rows = feed.rows.lock().expect("lock");
    let start: usize = q
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
        .min(rows.len());
    let end = (start + q.limit).min(rows.len());
    Json(json!({ "items": rows[start..end].to_vec(), "next_cursor": end.to_string() }))
}

/// Serves `feed` on a loopback port from a background thread; returns its URL.
pub(crate) fn serve(feed: Feed) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let app = Router::new().route("/feed", get(page)).with_state(feed);
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server starts");
    format!("http://{addr}/feed")
}

/// Records in the service's schema, plus two provincial rows and a repair event.
pub(crate) fn rows() -> Vec<Value> {
    let mut rows: Vec<Value> = entities(DemoConfig {
        seed: 7,
        entities: 40,
        records_per_entity: (1, 6),
    })
    .flat_map(|(_, _, records)| records)
    .map(|r| serde_json::to_value(r).expect("record serialises"))
    .collect();
    rows.push(json!({"xxbh": "XZCF-SYNC-1", "cf_xdr_mc": "青山水利科技有限公司", "cf_xdr_lb": "法人及非法人组织", "cf_xdr_shxym": "914201158544006819", "cf_wsh": "武水罚〔2024〕9号", "cf_wfxw": "x", "cf_cflb": "罚款", "cf_nr_fk": 1.5, "cf_jdrq": "2024-01-10", "cf_gsjzq": "2027-01-10", "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"}));
    rows.push(json!({"xxbh": "XZCF-SYNC-2", "cf_xdr_mc": "坏行", "cf_xdr_lb": "法人及非法人组织", "cf_xdr_shxym": "914201158544006810", "cf_wsh": "武水罚〔2024〕10号", "cf_wfxw": "x", "cf_cflb": "罚款", "cf_nr_fk": null, "cf_jdrq": "2024-01-10", "cf_gsjzq": "2027-01-10", "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"}));
    rows.push(json!({"xxbh": "XZCF-SYNC-1", "事件": "信用修复", "日期": "2024-05-01", "机关": "武汉市发展和改革委员会", "说明": "已履行"}));
    rows
}

pub(crate) fn options(url: &str, max_pages: Option<usize>) -> SyncOptions {
    SyncOptions {
        url: url.to_string(),
        name: "province".into(),
        page_size: 25,
        max_pages,
        timeout: Duration::from_secs(10),
    }
}

fn stored_ids(store: &SledStore) -> Vec<String> {
    let mut ids: Vec<String> = store
        .scan_entities()
        .flat_map(|e| e.expect("scan").1)
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_restarted_sync_resumes_without_gaps_or_duplicates() {
    let feed = Feed::default();
    *feed.rows.lock().expect("lock") = rows();
    let total = feed.rows.lock().expect("lock").len();
    let url = serve(feed.clone());
    let store = SledStore::open_temporary().expect("store");

    // Stop after two pages, as if the process died there.
    let first = sync(&store, &options(&url, Some(2))).expect("first run");
    assert_eq!(first.pages, 2);
    assert_eq!(
        store
            .cursor(&cursor_key("province"))
            .expect("cursor")
            .as_deref(),
        Some("50")
    );

    // Restart: continues from the saved cursor to the end.
    let rest = sync(&store, &options(&url, None)).expect("second run");
    assert_eq!(
        first.rows + rest.rows,
        total,
        "every row fetched exactly once"
    );
    assert_eq!(rest.rejected.len(), 1, "{:?}", rest.rejected);
    assert!(rest.rejected[0].0.contains("XZCF-SYNC-2"));
    assert_eq!(rest.events_applied, 1);

    let ids = stored_ids(&store);
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "no duplicates");
    assert_eq!(
        ids.len(),
        total - 2,
        "every valid record stored (one bad row, one event)"
    );
    let repaired = store.record("XZCF-SYNC-1").expect("read").expect("stored");
    assert_eq!(
        repaired.repaired_on.map(|d| d.to_string()).as_deref(),
        Some("2024-05-01")
    );

    // Caught up: a further run fetches one empty page and stores nothing.
    let idle = sync(&store, &options(&url, None)).expect("idle run");
    assert_eq!((idle.pages, idle.inserted), (0, 0));

    // New rows on the platform are picked up, and only they.
    let uscc = "91420100MA4K3Q7T13";
    feed.rows.lock().expect("lock").push(
        json!({"id": "NEW-1", "uscc": uscc, "kind": "BAD_BEHAVIOUR", "decided_on": "2024-03-01"}),
    );
    let next = sync(&store, &options(&url, None)).expect("next run");
    assert_eq!((next.rows, next.inserted), (1, 1));
}

#[test]
fn an_unreachable_or_wrong_feed_is_a_clear_error_and_moves_nothing() {
    let store = SledStore::open_temporary().expect("store");
    let err = sync(&store, &options("http://127.0.0.1:9/feed", None))
        .expect_err("nothing listens on port 9");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert_eq!(store.cursor(&cursor_key("province")).expect("cursor"), None);
}

/// `credit-rules sync --store URL` stores the feed into a PostgreSQL store and moves its
/// cursor there; a second run fetches nothing new.
#[test]
fn the_sync_command_stores_into_a_postgresql_store() {
    let feed = Feed::default();
    *feed.rows.lock().expect("lock") = rows();
    let total = feed.rows.lock().expect("lock").len();
    let url = serve(feed);
    let pg = crate::common::PgTestStore::new();
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"))
            .args([
                "sync",
                "--from",
                &url,
                "--name",
                "province",
                "--page-size",
                "25",
            ])
            .args(["--store", &pg.url()])
            .env_remove(credit_rules::store::STORE_ENV)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("binary runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let (status, text) = run();
    assert_eq!(status, Some(0), "{text}");
    let ids: Vec<String> = pg
        .scan_entities()
        .flat_map(|e| e.expect("scan").1)
        .map(|r| r.id)
        .collect();
    assert_eq!(ids.len(), total - 2, "every valid record stored: {text}");
    assert_eq!(
        pg.cursor(&cursor_key("province"))
            .expect("cursor")
            .as_deref(),
        Some(total.to_string().as_str())
    );
    let (status, text) = run();
    assert_eq!(status, Some(0), "{text}");
    let again = pg.scan_entities().flat_map(|e| e.expect("scan").1).count();
    assert_eq!(again, total - 2);
}
