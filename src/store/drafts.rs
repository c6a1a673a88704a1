//! Drafts of rule-set versions under review (review before publishing): the
//! source a bureau submitted, the version it was written against, and the append-only list
//! of what happened to it (submitted, approved, rejected, withdrawn, activated, stale).
//!
//! This module stores drafts; it does not decide who may do what or when a draft goes live
//! (that is [`crate::review`]). It guarantees two things the workflow relies on:
//!
//! * **Durable.** [`DraftStore::put_draft`] and [`DraftStore::update_draft`] return only
//!   after `Db::flush()` succeeded, like every other mutating call of the store.
//! * **Checked transitions, append-only history.** [`DraftStore::update_draft`] changes a
//!   draft's status only from one of the statuses the caller names (a compare-and-swap on the
//!   stored value, so two reviewers acting at once cannot both succeed), and it can only
//!   *append* an event: no call edits or removes one. Source, author, base and submission
//!   time never change after submission.
//!
//! Tree `drafts`: key = draft id (`u64` BE, from 1, sequential); value = postcard
//! [`StoredDraft`]. Statuses and actions are stored as the one-byte codes of
//! [`DraftStatus::code`] and [`ReviewAction::code`] (append new codes, never renumber).
//! The tree was added without a format-version change: a database written before it simply
//! has no drafts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{StoreError, codec, source_hash, time_from_ms};

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// Who did something to a draft: the token holder's name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    /// The token holder, e.g. 市水务局.
    pub name: String,
    /// The token's role code: `city_office`, `bureau`, … (`system` for the scheduler).
    pub role: String,
    /// A bureau's sector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
}

/// Where a draft is in the review workflow.
///
/// ```text
/// pending ──approve──▶ approved ──(activation date reached)──▶ active
///    │                    │  └──(base moved / no longer checks)──▶ stale
///    ├──reject──▶ rejected ◀──reject (before activation)
///    ├──withdraw──▶ withdrawn
///    └──(approval finds the base moved)──▶ stale
/// ```
///
/// `rejected`, `withdrawn`, `active` and `stale` are final: a new version is a new draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    /// 待审核: submitted, waiting for the city office.
    Pending,
    /// 已批准: approved, to become active on its activation date (a scheduled activation).
    Approved,
    /// 已生效: approved and published as the rule set's active version.
    Active,
    /// 已驳回: rejected by the city office, with a comment.
    Rejected,
    /// 已撤回: withdrawn by its author.
    Withdrawn,
    /// 已失效: can no longer be published as written, because the rule set (or a rule set it
    /// extends) changed since the draft was submitted, or it no longer checks with them.
    Stale,
}

impl DraftStatus {
    /// Every status, in workflow order.
    pub const ALL: [DraftStatus; 6] = [
        DraftStatus::Pending,
        DraftStatus::Approved,
        DraftStatus::Active,
        DraftStatus::Rejected,
        DraftStatus::Withdrawn,
        DraftStatus::Stale,
    ];

    /// The code used in JSON and query strings, e.g. `pending`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DraftStatus::Pending => "pending",
            DraftStatus::Approved => "approved",
            DraftStatus::Active => "active",
            DraftStatus::Rejected => "rejected",
            DraftStatus::Withdrawn => "withdrawn",
            DraftStatus::Stale => "stale",
        }
    }

    /// The Chinese label, e.g. 待审核.
    pub const fn label(self) -> &'static str {
        match self {
            DraftStatus::Pending => "待审核",
            DraftStatus::Approved => "已批准待生效",
            DraftStatus::Active => "已生效",
            DraftStatus::Rejected => "已驳回",
            DraftStatus::Withdrawn => "已撤回",
            DraftStatus::Stale => "已失效",
        }
    }

    /// Whether nothing more can happen to a draft in this status.
    pub const fn is_final(self) -> bool {
        !matches!(self, DraftStatus::Pending | DraftStatus::Approved)
    }

    /// The byte stored on disk (stable; never renumber).
    pub const fn code(self) -> u8 {
        match self {
            DraftStatus::Pending => 0,
            DraftStatus::Approved => 1,
            DraftStatus::Active => 2,
            DraftStatus::Rejected => 3,
            DraftStatus::Withdrawn => 4,
            DraftStatus::Stale => 5,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<DraftStatus> {
        DraftStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl fmt::Display for DraftStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.label())
    }
}

impl FromStr for DraftStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DraftStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text || s.label() == text)
            .ok_or_else(|| {
                let all: Vec<&str> = DraftStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "`{text}` is not a draft status; use one of {}",
                    all.join(", ")
                )
            })
    }
}

/// What happened to a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// 提交: the draft was submitted.
    Submitted,
    /// 批准: the city office approved it.
    Approved,
    /// 驳回: the city office rejected it.
    Rejected,
    /// 撤回: its author withdrew it.
    Withdrawn,
    /// 生效: it was published as the active version.
    Activated,
    /// 失效: it could not be published as written (see the event's comment).
    Stale,
}

impl ReviewAction {
    const ALL: [ReviewAction; 6] = [
        ReviewAction::Submitted,
        ReviewAction::Approved,
        ReviewAction::Rejected,
        ReviewAction::Withdrawn,
        ReviewAction::Activated,
        ReviewAction::Stale,
    ];

    /// The byte stored on disk (stable; never renumber).
    pub const fn code(self) -> u8 {
        match self {
            ReviewAction::Submitted => 0,
            ReviewAction::Approved => 1,
            ReviewAction::Rejected => 2,
            ReviewAction::Withdrawn => 3,
            ReviewAction::Activated => 4,
            ReviewAction::Stale => 5,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<ReviewAction> {
        ReviewAction::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// One entry of a draft's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewEvent {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub action: ReviewAction,
    /// The reviewer's comment, the author's note, or why the draft went stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// For `submitted` and `approved`: the day it is to become active, if one was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activate_on: Option<NaiveDate>,
    /// For `activated`: the source hash of the published version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_hash: Option<String>,
}

impl ReviewEvent {
    /// An event without a date or version.
    pub fn new(
        time: DateTime<Utc>,
        actor: Actor,
        action: ReviewAction,
        comment: Option<String>,
    ) -> Self {
        ReviewEvent {
            time,
            actor,
            action,
            comment,
            activate_on: None,
            version_hash: None,
        }
    }
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Draft {
    /// Sequential id, from 1.
    pub id: u64,
    /// The rule set it is a new version of.
    pub ruleset_id: String,
    /// The complete source text.
    pub source: String,
    /// SHA-256 of the source: the version hash it gets when published.
    pub source_hash: String,
    /// The sector its header declares (who may see and withdraw it).
    pub sector: Option<String>,
    /// The compiled hash (`meta.hash`) of the active version it was written against; `None`
    /// for a new rule set.
    pub base_hash: Option<String>,
    /// Who submitted it.
    pub author: Actor,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Why the rule set changes.
    pub message: String,
    /// The day (Asia/Shanghai) it is to become active; `None`: as soon as it is approved.
    pub activate_on: Option<NaiveDate>,
    /// Where it is in the workflow.
    pub status: DraftStatus,
    /// For an active draft: the source hash of the published version.
    pub published_hash: Option<String>,
    /// What happened to it, oldest first; the first event is its submission.
    pub events: Vec<ReviewEvent>,
}

/// A new draft for [`DraftStore::put_draft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDraft<'a> {
    /// The rule set it is a new version of.
    pub ruleset_id: &'a str,
    /// The complete source text.
    pub source: &'a str,
    /// The sector its header declares.
    pub sector: Option<&'a str>,
    /// The compiled hash of the version it was written against (`None`: a new rule set).
    pub base_hash: Option<&'a str>,
    /// Who submits it.
    pub author: &'a Actor,
    /// Why the rule set changes.
    pub message: &'a str,
    /// The day it is to become active, if not as soon as it is approved.
    pub activate_on: Option<NaiveDate>,
    /// When it is submitted.
    pub time: DateTime<Utc>,
}

/// Filters for [`DraftStore::drafts`]; all given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftQuery {
    /// Only drafts of this rule set.
    pub ruleset_id: Option<String>,
    /// Only drafts in this status.
    pub status: Option<DraftStatus>,
}

/// A status change for [`DraftStore::update_draft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftTransition<'a> {
    /// The statuses the draft may be in; any other is [`StoreError::DraftStatus`].
    pub from: &'a [DraftStatus],
    /// The new status.
    pub to: DraftStatus,
    /// The event appended to the history.
    pub event: ReviewEvent,
    /// A new activation day (e.g. set on approval); `None` keeps the draft's.
    pub activate_on: Option<NaiveDate>,
    /// The published version's source hash (on activation).
    pub published_hash: Option<String>,
}

/// The drafts of rule-set versions under review. Every mutating method returns only after
/// its write is durable.
pub trait DraftStore: Send + Sync {
    /// Saves a new draft in status `pending` with its `submitted` event; assigns the next id.
    fn put_draft(&self, draft: &NewDraft<'_>) -> Result<Draft, StoreError>;

    /// A draft by id.
    fn draft(&self, id: u64) -> Result<Option<Draft>, StoreError>;

    /// Drafts matching a query, by id (oldest first).
    fn drafts(&self, query: &DraftQuery) -> Result<Vec<Draft>, StoreError>;

    /// Moves a draft to `transition.to` if its status is one of `transition.from`, appending
    /// `transition.event` to its history; refuses with [`StoreError::UnknownDraft`] or
    /// [`StoreError::DraftStatus`] (nothing written) otherwise.
    fn update_draft(&self, id: u64, transition: &DraftTransition<'_>) -> Result<Draft, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Stored form
// ---------------------------------------------------------------------------------------------

/// An [`Actor`] as stored (postcard cannot skip fields, so the public form's serde
/// attributes do not apply here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredActor {
    pub(super) name: String,
    pub(super) role: String,
    pub(super) sector: Option<String>,
}

impl StoredActor {
    pub(super) fn of(actor: &Actor) -> StoredActor {
        StoredActor {
            name: actor.name.clone(),
            role: actor.role.clone(),
            sector: actor.sector.clone(),
        }
    }

    pub(super) fn decode(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            role: self.role.clone(),
            sector: self.sector.clone(),
        }
    }
}

/// The value of `drafts` (postcard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredDraft {
    pub(super) ruleset_id: String,
    pub(super) source: String,
    pub(super) sector: Option<String>,
    pub(super) base_hash: Option<String>,
    pub(super) author: StoredActor,
    pub(super) submitted_ms: i64,
    pub(super) message: String,
    /// Day number ([`codec::day_number`]).
    pub(super) activate_on: Option<i32>,
    pub(super) status: u8,
    pub(super) published_hash: Option<String>,
    pub(super) events: Vec<StoredEvent>,
}

/// One history entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredEvent {
    pub(super) time_ms: i64,
    pub(super) actor: StoredActor,
    pub(super) action: u8,
    pub(super) comment: Option<String>,
    pub(super) activate_on: Option<i32>,
    pub(super) version_hash: Option<String>,
}

impl StoredEvent {
    pub(super) fn of(event: &ReviewEvent) -> StoredEvent {
        StoredEvent {
            time_ms: event.time.timestamp_millis(),
            actor: StoredActor::of(&event.actor),
            action: event.action.code(),
            comment: event.comment.clone(),
            activate_on: event.activate_on.map(codec::day_number),
            version_hash: event.version_hash.clone(),
        }
    }

    pub(super) fn decode(&self) -> Result<ReviewEvent, String> {
        Ok(ReviewEvent {
            time: time_from_ms(self.time_ms),
            actor: self.actor.decode(),
            action: ReviewAction::from_code(self.action)
                .ok_or_else(|| format!("unknown review action code {}", self.action))?,
            comment: self.comment.clone(),
            activate_on: self.activate_on.map(day).transpose()?,
            version_hash: self.version_hash.clone(),
        })
    }
}

fn day(number: i32) -> Result<NaiveDate, String> {
    codec::from_day_number(number).ok_or_else(|| format!("day number {number} is not a date"))
}

impl StoredDraft {
    pub(super) fn decode(self, id: u64) -> Result<Draft, String> {
        let status = DraftStatus::from_code(self.status)
            .ok_or_else(|| format!("unknown draft status code {}", self.status))?;
        let events = self
            .events
            .iter()
            .map(StoredEvent::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Draft {
            id,
            source_hash: source_hash(&self.source),
            ruleset_id: self.ruleset_id,
            source: self.source,
            sector: self.sector,
            base_hash: self.base_hash,
            author: self.author.decode(),
            submitted_at: time_from_ms(self.submitted_ms),
            message: self.message,
            activate_on: self.activate_on.map(day).transpose()?,
            status,
            published_hash: self.published_hash,
            events,
        })
    }
}

pub(super) fn draft_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(super) fn draft_id(key: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(key).ok().map(u64::from_be_bytes)
}

// ---------------------------------------------------------------------------------------------
// Backend-neutral encoding (a backend keeps the value as bytes beside its own columns)
// ---------------------------------------------------------------------------------------------

/// A new draft as stored: status `pending`, with its `submitted` event.
pub(super) fn new_stored_draft(draft: &NewDraft<'_>) -> StoredDraft {
    let mut submitted = ReviewEvent::new(
        draft.time,
        draft.author.clone(),
        ReviewAction::Submitted,
        None,
    );
    submitted.activate_on = draft.activate_on;
    StoredDraft {
        ruleset_id: draft.ruleset_id.to_owned(),
        source: draft.source.to_owned(),
        sector: draft.sector.map(str::to_owned),
        base_hash: draft.base_hash.map(str::to_owned),
        author: StoredActor::of(draft.author),
        submitted_ms: draft.time.timestamp_millis(),
        message: draft.message.to_owned(),
        activate_on: draft.activate_on.map(codec::day_number),
        status: DraftStatus::Pending.code(),
        published_hash: None,
        events: vec![StoredEvent::of(&submitted)],
    }
}

/// The stored value of a new draft ([`new_stored_draft`]), postcard.
pub(super) fn new_draft_value(draft: &NewDraft<'_>) -> Result<Vec<u8>, String> {
    codec::encode(&new_stored_draft(draft))
}

/// Decodes a stored draft value.
pub(super) fn decode_draft_value(id: u64, bytes: &[u8]) -> Result<Draft, String> {
    codec::decode::<StoredDraft>(bytes)?.decode(id)
}

/// The value after `transition`, or why it cannot happen: `Ok(Err(..))` is a refusal
/// ([`StoreError::DraftStatus`]), `Err` a value that does not decode.
pub(super) fn transition_value(
    id: u64,
    bytes: &[u8],
    transition: &DraftTransition<'_>,
) -> Result<Result<(Vec<u8>, Draft), StoreError>, String> {
    let mut stored: StoredDraft = codec::decode(bytes)?;
    let status = DraftStatus::from_code(stored.status)
        .ok_or_else(|| format!("status code {}", stored.status))?;
    if !transition.from.contains(&status) {
        return Ok(Err(StoreError::DraftStatus {
            id,
            status,
            to: transition.to,
        }));
    }
    stored.status = transition.to.code();
    stored.events.push(StoredEvent::of(&transition.event));
    if let Some(date) = transition.activate_on {
        stored.activate_on = Some(codec::day_number(date));
    }
    if transition.published_hash.is_some() {
        stored.published_hash = transition.published_hash.clone();
    }
    let value = codec::encode(&stored)?;
    Ok(Ok((value, stored.decode(id)?)))
}

pub(super) fn refuse_bad_id(ruleset_id: &str) -> Result<(), StoreError> {
    if ruleset_id.trim().is_empty() || ruleset_id.contains('\0') {
        return Err(StoreError::RuleSetConflict(format!(
            "rule-set id `{ruleset_id}` is empty or contains a NUL character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_and_names_round_trip() {
        for status in DraftStatus::ALL {
            assert_eq!(DraftStatus::from_code(status.code()), Some(status));
            assert_eq!(status.as_str().parse::<DraftStatus>(), Ok(status));
            assert_eq!(status.label().parse::<DraftStatus>(), Ok(status));
        }
        for action in ReviewAction::ALL {
            assert_eq!(ReviewAction::from_code(action.code()), Some(action));
        }
        let err = "done".parse::<DraftStatus>().expect_err("unknown");
        assert!(err.contains("pending, approved"), "{err}");
    }
}
