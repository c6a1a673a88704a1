//! The last rows intake refused, kept in the store for the console's intake status
//! (运行管理 › 归集状态): `credit-rules sync` and `credit-rules import` print each rejected row
//! with its reason and also add it here, newest first, at most [`KEEP`] of them.
//!
//! The list is one JSON array under the store cursor [`KEY`] (the store's key-value cursors,
//! so every backend keeps it without a method of its own), rewritten on each addition
//! (read, prepend, cut to [`KEEP`], then a compare-and-swap on the value read,
//! [`crate::store::update_cursor`]): writers in this process or in other replicas adding at
//! the same instant all get their rows in, none overwrites another's. The reason is the very
//! text printed on standard error.

use crate::store::{RecordStore, StoreError, update_cursor};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The store cursor that holds the list.
pub const KEY: &str = "intake_rejected";

/// How many rejections the list keeps (the newest).
pub const KEEP: usize = 200;

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// When it was refused.
    pub time: DateTime<Utc>,
    /// Where it came from: `sync NAME, page after cursor C, items[I]` or `import FILE:LINE`.
    pub source: String,
    /// The row's id (`xxbh` or `id`), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The row's 统一社会信用代码 as written in it, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Why, exactly as printed.
    pub reason: String,
}

/// The fields of a feed row or record that hold the entity's code (see [`crate::intake`]).
const USCC_FIELDS: &[&str] = &["uscc", "cf_xdr_shxym", "cardNum", "统一社会信用代码"];

/// The id and USCC a row's JSON text names, as far as it can be read (for a row that was
/// refused, so it may be anything).
pub fn row_identity(text: &str) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(row)) = serde_json::from_str::<serde_json::Value>(text) else {
        return (None, None);
    };
    let text_of = |key: &&str| row.get(*key).and_then(|v| v.as_str()).map(str::to_owned);
    let id = ["xxbh", "id", "record_id"].iter().find_map(text_of);
    let uscc = USCC_FIELDS.iter().find_map(text_of);
    (id, uscc)
}

/// The index `I` of an [`crate::import::ingest_values`] rejection's place `items[I] (id)`.
fn item_index(at: &str) -> Option<usize> {
    at.strip_prefix("items[")?.split(']').next()?.parse().ok()
}

/// The rejections of one pushed or synced batch: `items` as received, `rejected` as
/// [`crate::import::ingest_values`] lists them, `source` saying where the batch came from.
pub fn of_batch<T: crate::import::ItemText>(
    source: &str,
    items: &[T],
    rejected: &[(String, String)],
    time: DateTime<Utc>,
) -> Vec<Rejection> {
    rejected
        .iter()
        .map(|(at, reason)| {
            let (id, uscc) = item_index(at)
                .and_then(|i| items.get(i))
                .map_or((None, None), |item| row_identity(&item.json_text()));
            Rejection {
                time,
                source: format!("{source}, {at}"),
                id,
                uscc,
                reason: reason.clone(),
            }
        })
        .collect()
}

/// Adds rejections (given oldest first) to the front of the list, keeping the newest
/// [`KEEP`]; atomic against other writers (see the module docs).
pub fn record<S: RecordStore + ?Sized>(store: &S, added: Vec<Rejection>) -> Result<(), StoreError> {
    if added.is_empty() {
        return Ok(());
    }
    let added: Vec<Rejection> = added.into_iter().rev().take(KEEP).collect();
    let mut failure = None;
    update_cursor(store, KEY, |current| {
        let mut list = added.clone();
        list.extend(read_list(current));
        list.truncate(KEEP);
        match serde_json::to_string(&list) {
            Ok(text) => Some(text),
            Err(e) => {
                failure = Some(e);
                None
            }
        }
    })?;
    match failure {
        Some(e) => Err(StoreError::Backend {
            path: KEY.to_owned(),
            message: format!("the rejected-rows list cannot be written: {e}"),
        }),
        None => Ok(()),
    }
}

/// A stored list's entries; a value that does not read as the list (written by something
/// else) counts as empty.
fn read_list(text: Option<&str>) -> Vec<Rejection> {
    let Some(text) = text else {
        return Vec::new();
    };
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(%e, "the stored rejected-rows list does not read; starting a new one");
        Vec::new()
    })
}

/// The list, newest first. A value that does not read as the list (written by something
/// else) counts as empty and is replaced by the next addition.
pub fn recent<S: RecordStore + ?Sized>(store: &S) -> Result<Vec<Rejection>, StoreError> {
    Ok(read_list(store.cursor(KEY)?.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Cursors, SledStore};

    fn rejection(n: usize) -> Rejection {
        Rejection {
            time: DateTime::from_timestamp(1_700_000_000 + n as i64, 0).expect("time"),
            source: format!("import feed.jsonl:{n}"),
            id: Some(format!("R{n}")),
            uscc: None,
            reason: format!("reason {n}"),
        }
    }

    #[test]
    fn the_list_is_newest_first_and_bounded() {
        let store = SledStore::open_temporary().expect("store");
        record(&store, (0..3).map(rejection).collect()).expect("recorded");
        record(&store, (3..KEEP + 10).map(rejection).collect()).expect("recorded");
        let list = recent(&store).expect("read");
        assert_eq!(list.len(), KEEP);
        assert_eq!(list[0], rejection(KEEP + 9), "newest first");
        assert_eq!(list[KEEP - 1], rejection(10), "the oldest fell off");
        record(&store, vec![rejection(999)]).expect("recorded");
        let list = recent(&store).expect("read");
        assert_eq!((list.len(), list[0].id.as_deref()), (KEEP, Some("R999")));
    }

    #[test]
    fn ids_and_codes_are_read_from_any_feed_shape() {
        assert_eq!(
            row_identity(r#"{"xxbh": "X1", "cf_xdr_shxym": "914201158544006819"}"#),
            (Some("X1".into()), Some("914201158544006819".into()))
        );
        assert_eq!(
            row_identity(r#"{"xxbh": "L1", "统一社会信用代码": "123"}"#),
            (Some("L1".into()), Some("123".into()))
        );
        assert_eq!(row_identity("{\"xxbh\": "), (None, None));
        assert_eq!(row_identity("[1]"), (None, None));
    }

    #[test]
    fn a_batch_s_rejections_name_their_rows() {
        let items = vec![
            serde_json::json!({"xxbh": "A"}),
            serde_json::json!({"xxbh": "B", "uscc": "91X"}),
        ];
        let rejected = vec![
            ("items[1] (B)".to_owned(), "bad".to_owned()),
            ("an event received earlier".to_owned(), "late".to_owned()),
        ];
        let time = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let list = of_batch("sync provincial", &items, &rejected, time);
        assert_eq!(list[0].source, "sync provincial, items[1] (B)");
        assert_eq!(
            (list[0].id.as_deref(), list[0].uscc.as_deref()),
            (Some("B"), Some("91X"))
        );
        assert_eq!(
            (list[1].id.as_deref(), list[1].reason.as_str()),
            (None, "late")
        );
    }

    #[test]
    fn an_unreadable_value_is_replaced() {
        let store = SledStore::open_temporary().expect("store");
        store.set_cursor(KEY, "not json").expect("set");
        assert!(recent(&store).expect("read").is_empty());
        record(&store, vec![rejection(1)]).expect("recorded");
        assert_eq!(recent(&store).expect("read"), vec![rejection(1)]);
    }
}
