//! Values that several writers change by read-modify-write on a store cursor — the list of
//! rejected intake rows (`import::rejections`) and the console's lists of logged-out
//! sessions (`console::session::revoke`) — lose no entry when many writers add at once:
//! threads on one sled store; on PostgreSQL, threads on two stores (two pools, as two
//! replicas) opened on one schema.

use chrono::{DateTime, Utc};
use credit_rules::console::session::{self, Revoked, Session};
use credit_rules::import::rejections::{self, Rejection};
use credit_rules::store::{PgStore, RecordStore, SledStore};

use crate::common::{PgTestStore, pg_url};

const THREADS: usize = 8;
const EACH: usize = 6;

fn rejection(thread: usize, n: usize) -> Rejection {
    Rejection {
        time: DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
        source: format!("import t{thread}.jsonl:{n}"),
        id: Some(format!("T{thread}-{n}")),
        uscc: None,
        reason: "bad".into(),
    }
}

fn session(thread: usize, n: usize, expires: DateTime<Utc>) -> Session {
    Session {
        id: format!("{thread:02}{n:030}"),
        token: "0".repeat(64),
        expires,
    }
}

/// `THREADS` threads each add `EACH` rejections and log out `EACH` sessions (one at a
/// time), the thread `t` on `stores[t % stores.len()]`; then every entry is there.
fn appenders_lose_nothing(stores: &[&dyn RecordStore]) {
    let now = Utc::now();
    let expires = now + chrono::Duration::hours(2);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = stores[thread % stores.len()];
            scope.spawn(move || {
                for n in 0..EACH {
                    rejections::record(store, vec![rejection(thread, n)]).expect("rejection");
                    session::revoke(store, &session(thread, n, expires), now).expect("logout");
                }
            });
        }
    });
    for store in stores {
        let mut listed: Vec<String> = rejections::recent(*store)
            .expect("list")
            .into_iter()
            .filter_map(|r| r.id)
            .collect();
        listed.sort();
        let mut expected: Vec<String> = (0..THREADS)
            .flat_map(|t| (0..EACH).map(move |n| format!("T{t}-{n}")))
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "every rejected row is on the list once");
        let text = store
            .cursor(&session::revoked_key(expires))
            .expect("revoked list");
        let revoked = Revoked::list(text.as_deref()).expect("a list");
        assert_eq!(revoked.len(), THREADS * EACH, "every logout is kept");
        for thread in 0..THREADS {
            for n in 0..EACH {
                assert!(Revoked::contains(&revoked, &session(thread, n, expires)));
            }
        }
    }
}

#[test]
fn concurrent_appenders_on_sled_lose_nothing() {
    let store = SledStore::open_temporary().expect("sled");
    appenders_lose_nothing(&[&store]);
}

#[test]
fn concurrent_appenders_on_two_postgres_stores_lose_nothing() {
    let a = PgTestStore::new();
    let b = PgStore::open_in_schema(&pg_url(), a.schema()).expect("second store");
    appenders_lose_nothing(&[&*a, &b]);
}

/// The compare-and-swap itself: set only when absent, or when it holds the value expected.
#[test]
fn a_cursor_swaps_only_from_the_value_expected() {
    let sled = SledStore::open_temporary().expect("sled");
    let pg = PgTestStore::new();
    for store in [&sled as &dyn RecordStore, &*pg] {
        assert!(store.swap_cursor("c", None, "1").expect("swap"));
        assert!(
            !store.swap_cursor("c", None, "2").expect("swap"),
            "already set"
        );
        assert!(
            !store.swap_cursor("c", Some("0"), "2").expect("swap"),
            "not 0"
        );
        assert_eq!(store.cursor("c").expect("read").as_deref(), Some("1"));
        assert!(store.swap_cursor("c", Some("1"), "2").expect("swap"));
        assert_eq!(store.cursor("c").expect("read").as_deref(), Some("2"));
    }
}
