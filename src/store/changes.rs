//! What a store announces to the other processes on the same database when it changes
//! something ([`super::RecordStore::watch_changes`]): a server replica reloads its live
//! rule sets, empties its entity cache or rereads its drafts. The embedded sled store is
//! one process and announces nothing.

/// A kind of change made by another process on the same database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreChange {
    /// Records, events or pending events.
    Records,
    /// A rule-set version was saved (a publication).
    Versions,
    /// A draft was submitted or changed status.
    Drafts,
}

impl StoreChange {
    /// The name sent in a notification.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreChange::Records => "records",
            StoreChange::Versions => "versions",
            StoreChange::Drafts => "drafts",
        }
    }

    /// The change a notification names.
    pub fn parse(text: &str) -> Option<StoreChange> {
        [
            StoreChange::Records,
            StoreChange::Versions,
            StoreChange::Drafts,
        ]
        .into_iter()
        .find(|c| c.as_str() == text)
    }
}
