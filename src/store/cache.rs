//! The entity cache both backends keep in front of their records: the decoded records of
//! recently read entities.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::record::{CreditRecord, Uscc};

/// Most entities [`EntityCache`] holds; when full it starts again empty (cheaper than
/// tracking recency, and a tender's bidders are soon read again).
const CACHE_ENTITIES: usize = 50_000;

/// The records of recently read entities, decoded, so that evaluating the same bidders
/// again (a tender evaluated twice, a bidder in several lots) skips sled and postcard.
///
/// A write of records drops the entities it touched (an event, which names only a record
/// id, drops all). A reader that read sled while a write committed must not put the older
/// records back: every write bumps `epoch` under the lock, and a reader caches what it read
/// only if the epoch is still the one it saw before reading.
#[derive(Default)]
pub(super) struct EntityCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    epoch: u64,
    map: HashMap<Uscc, Arc<[CreditRecord]>>,
}

impl EntityCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A HashMap left by a panicking holder is still a valid map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached records and the epoch to pass to [`EntityCache::put`].
    pub(super) fn get(&self, uscc: &Uscc) -> (Option<Arc<[CreditRecord]>>, u64) {
        let inner = self.lock();
        (inner.map.get(uscc).cloned(), inner.epoch)
    }

    pub(super) fn put(&self, uscc: &Uscc, records: Arc<[CreditRecord]>, read_at: u64) {
        let mut inner = self.lock();
        if inner.epoch != read_at {
            return;
        }
        if inner.map.len() >= CACHE_ENTITIES {
            inner.map.clear();
        }
        inner.map.insert(uscc.clone(), records);
    }

    pub(super) fn forget<'a>(&self, usccs: impl Iterator<Item = &'a Uscc>) {
        let mut inner = self.lock();
        inner.epoch += 1;
        for uscc in usccs {
            inner.map.remove(uscc);
        }
    }

    pub(super) fn forget_all(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.map.clear();
    }
}
