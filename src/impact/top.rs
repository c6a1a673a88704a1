//! The `limit` most changed entities, kept while the entities stream past: a bounded heap
//! per partial aggregate, merged like the rest. The order is total (decision changes first,
//! then |score delta| descending, then USCC, then input position), so the list does not
//! depend on how the input was split between workers.

use super::ChangedEntity;
use crate::record::Uscc;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Orders changed entities: the most severe change is the smallest key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SeverityKey {
    pub(super) decision_changed: bool,
    pub(super) magnitude: Decimal,
    pub(super) uscc: Uscc,
    pub(super) seq: u64,
}

/// A borrowed [`SeverityKey`], to rank an entity before its entry is built.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rank<'a> {
    pub(super) decision_changed: bool,
    pub(super) magnitude: Decimal,
    pub(super) uscc: &'a Uscc,
    pub(super) seq: u64,
}

impl SeverityKey {
    pub(super) fn rank(&self) -> Rank<'_> {
        Rank {
            decision_changed: self.decision_changed,
            magnitude: self.magnitude,
            uscc: &self.uscc,
            seq: self.seq,
        }
    }
}

impl Rank<'_> {
    /// Decision changes first, then the larger |delta|, then USCC, then input position.
    pub(super) fn cmp(&self, other: &Rank<'_>) -> Ordering {
        other
            .decision_changed
            .cmp(&self.decision_changed)
            .then_with(|| other.magnitude.cmp(&self.magnitude))
            .then_with(|| self.uscc.cmp(other.uscc))
            .then_with(|| self.seq.cmp(&other.seq))
    }
}

impl Ord for SeverityKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for SeverityKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone)]
pub(super) struct Ranked {
    pub(super) key: SeverityKey,
    pub(super) entry: ChangedEntity,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `limit` most severe changes seen: a max-heap whose top is the least severe kept.
#[derive(Debug, Clone)]
pub(super) struct TopN {
    pub(super) limit: usize,
    pub(super) heap: BinaryHeap<Ranked>,
}

impl TopN {
    pub(super) fn new(limit: usize) -> Self {
        TopN {
            limit,
            heap: BinaryHeap::with_capacity(limit.min(1024) + 1),
        }
    }

    /// Whether an entity of this rank would be kept (checked before building its entry).
    pub(super) fn would_take(&self, rank: &Rank<'_>) -> bool {
        if self.limit == 0 {
            return false;
        }
        self.heap.len() < self.limit
            || self
                .heap
                .peek()
                .is_some_and(|least| rank.cmp(&least.key.rank()) == Ordering::Less)
    }

    pub(super) fn offer(&mut self, ranked: Ranked) {
        if !self.would_take(&ranked.key.rank()) {
            return;
        }
        self.heap.push(ranked);
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    pub(super) fn into_sorted(self) -> Vec<ChangedEntity> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.entry)
            .collect()
    }
}
