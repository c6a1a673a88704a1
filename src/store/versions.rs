//! Rule-set versions: the [`Versions`] concern of the store — content-addressed versions of
//! rule-set sources (by the SHA-256 of the source) and each rule set's log of versions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;

/// A new rule-set version for [`Versions::put_ruleset_version`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleSetVersion<'a> {
    /// Rule-set id, e.g. `water`.
    pub ruleset_id: &'a str,
    /// The complete source text.
    pub source: &'a str,
    /// Who wrote it.
    pub author: &'a str,
    /// Why it changed.
    pub message: &'a str,
    /// When it was saved.
    pub time: DateTime<Utc>,
}

/// A stored rule-set version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSetVersion {
    /// SHA-256 of the source, 64 lower-case hex digits; the version's identity.
    pub hash: String,
    /// Rule-set id.
    pub ruleset_id: String,
    /// The complete source text.
    pub source: String,
    /// Who wrote it.
    pub author: String,
    /// When it was first saved.
    pub time: DateTime<Utc>,
    /// Why it changed.
    pub message: String,
    /// The version it was saved on top of, if any.
    pub parent: Option<String>,
}

/// What [`Versions::put_ruleset_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutVersion {
    /// The version's hash.
    pub hash: String,
    /// Its position in the rule set's log, from 1.
    pub seq: u32,
    /// Whether the log grew: `false` when the source is already the newest version.
    pub created: bool,
}

/// The rule-set versions concern of the store (see the module docs of [`crate::store`]).
pub trait Versions: Send + Sync {
    /// Saves a rule-set version, content-addressed by the SHA-256 of its source. Saving the
    /// newest version's source again changes nothing; saving an older version's source again
    /// appends it to the log (a revert) with its original metadata.
    fn put_ruleset_version(
        &self,
        version: &NewRuleSetVersion<'_>,
    ) -> Result<PutVersion, StoreError>;

    /// A rule-set version by its hash (64 hex digits).
    fn ruleset_version(&self, hash: &str) -> Result<Option<RuleSetVersion>, StoreError>;

    /// A rule set's versions in log order (oldest first).
    fn ruleset_versions(&self, ruleset_id: &str) -> Result<Vec<RuleSetVersion>, StoreError>;

    /// The ids of every rule set with at least one saved version, sorted.
    fn ruleset_ids(&self) -> Result<Vec<String>, StoreError>;
}
