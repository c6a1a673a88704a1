//! Review before publishing (审核后发布): a new version of a rule set is submitted
//! as a **draft**; the city office (市公管局) sees what it changes and approves or rejects it
//! with a comment; only an approved draft becomes the active version, at once or from a
//! later day; drafts, decisions and comments stay in the history.
//!
//! This module is the workflow over the live rule sets ([`Registry`]), the store's drafts
//! ([`crate::store::DraftStore`]) and a [`Clock`]. It knows nothing of HTTP: the caller says
//! who acts ([`Actor`]) and has checked that their role may; the rules here are the ones
//! that hold whoever calls.
//!
//! # Statuses
//!
//! `pending` → `approved` → `active`, or `rejected` / `withdrawn` / `stale` (see
//! [`DraftStatus`]). What moves a draft:
//!
//! * [`Review::submit`]: the source is checked against the active rule sets first (together
//!   with every rule set extending it); a draft that does not check is not saved. The draft
//!   records the compiled hash of the active version it was written against (`base_hash`:
//!   the caller's, which must be the active one, or the active one when not given).
//! * [`Review::approve`] (comment required): refused with [`ReviewError::Stale`] — and the
//!   draft marked `stale` — when the rule set's active version is no longer the draft's base
//!   (someone else's version went live, or a rule set it extends changed), or with
//!   [`ReviewError::NoLongerChecks`] when the draft no longer checks with the active rule
//!   sets. Otherwise the approval is recorded, and the draft goes live through
//!   [`Registry::publish_with`] (the same checked path with the stale-base check, saving the
//!   version in the store's version log) — now, or on its activation day.
//! * [`Review::reject`] (comment required): a pending draft, or an approved one before it went
//!   live.
//! * [`Review::withdraw`]: a pending draft, by the actor who submitted it.
//! * [`Review::activate_due`]: every approved draft whose activation day has come goes live;
//!   one that cannot (its base moved meanwhile) is marked `stale` with the reason.
//!
//! Only one approved, not yet active draft per rule set is allowed at a time (a second
//! approval is refused with [`ReviewError::ActivationPending`]), so two scheduled versions
//! never race for the same day.
//!
//! # Time zone
//!
//! Activation days are calendar days in **Asia/Shanghai** (UTC+8 all year; China has had no
//! daylight saving time since 1991): a draft to become active on 2024-09-01 goes live at the
//! first check at or after 2024-09-01 00:00 +08:00 (2024-08-31 16:00 UTC). All stored times
//! are UTC. [`local_date`] converts.
//!
//! # Concurrency
//!
//! The steps that decide what goes live — approving, rejecting and activating — run one at a
//! time in the process (one lock; a database serves one process), so a rejection cannot slip
//! between an approved draft going live and its being marked `active`, and two approvals of
//! one rule set cannot both pass the one-waiting-draft check. Each draft change is also a
//! compare-and-swap in the store.
//!
//! # Crash safety
//!
//! Each step is durable before the next: the approval is saved before the version is
//! published, and the version is saved (by `publish_with`'s persist step) before the draft is
//! marked `active`. After a crash between two steps the approved draft is activated by the
//! next [`Review::activate_due`] (the server runs it at start-up); a draft whose source is
//! already the live head is just marked `active`.

use crate::diagnostic::Diagnostics;
use crate::diff::{DiffError, RuleSetDiff, diff_sources};
use crate::impact::{ImpactError, ImpactOptions, ImpactReport};
use crate::registry::{PublishError, PublishWithError, Published, Registry};
use crate::source::SourceFile;
use crate::store::{
    Actor, Draft, DraftQuery, DraftStatus, DraftTransition, NewDraft, NewRuleSetVersion,
    RecordStore, ReviewAction, ReviewEvent, StoreError,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use std::sync::Mutex;

/// Held while a step that decides what goes live runs (see "Concurrency" above).
static DECIDING: Mutex<()> = Mutex::new(());

fn deciding() -> std::sync::MutexGuard<'static, ()> {
    // INVARIANT: the guard protects no data, so a poisoned lock is still usable.
    DECIDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Offset of Asia/Shanghai from UTC, in seconds (UTC+8, no daylight saving time).
pub const SHANGHAI_OFFSET_SECONDS: i32 = 8 * 3600;

/// Asia/Shanghai as a fixed offset.
pub fn shanghai() -> FixedOffset {
    // INVARIANT: 8 hours is within the ±24 h a FixedOffset accepts.
    FixedOffset::east_opt(SHANGHAI_OFFSET_SECONDS).expect("UTC+8 is a valid offset")
}

/// The calendar day in Asia/Shanghai at the instant `now`.
pub fn local_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&shanghai()).date_naive()
}

/// The source of "now": the system clock in the service, a settable one in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that shows what it was set to (for tests and simulations).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The actor recorded for activations the scheduler performs.
pub fn scheduler_actor() -> Actor {
    Actor {
        name: "定时生效 scheduler".into(),
        role: "system".into(),
        sector: None,
    }
}

/// Why a review step was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No draft has this id.
    #[error("there is no draft #{0}; GET /api/v1/drafts lists them")]
    UnknownDraft(u64),
    /// The submitted source (or a rule set extending it) does not check.
    #[error("the rule set has errors")]
    Invalid(Diagnostics),
    /// The source declares another rule-set id than the one submitted for.
    #[error(
        "the source declares rule set `{declared}`, not `{id}`; submit it for `{declared}` or \
         change the id in its header"
    )]
    WrongId {
        /// The id submitted for.
        id: String,
        /// The id in the header.
        declared: String,
    },
    /// The active version is not the one the draft was written against.
    #[error(
        "rule set `{ruleset}` is at version {current}, not {base} that {what} was written \
         against; {remedy}"
    )]
    Stale {
        /// Rule-set id.
        ruleset: String,
        /// The version the draft was written against.
        base: String,
        /// The active version.
        current: String,
        /// `the draft #N` or `this version`.
        what: String,
        /// What to do.
        remedy: String,
    },
    /// The approved draft no longer checks with the active rule sets; it was marked stale.
    #[error(
        "draft #{id} no longer checks with the active rule sets (see `diagnostics`), so it was \
         marked stale; submit a corrected draft"
    )]
    NoLongerChecks {
        /// The draft.
        id: u64,
        /// Why.
        diagnostics: Diagnostics,
    },
    /// The draft is not in a status the step can start from.
    #[error(
        "draft #{id} is {status}, so it cannot be {action}; only a {allowed} draft can \
         (submit a new draft for a new version)"
    )]
    WrongStatus {
        /// The draft.
        id: u64,
        /// Its status.
        status: DraftStatus,
        /// What was asked: `approved`, `rejected`, `withdrawn`.
        action: &'static str,
        /// The statuses it is allowed from, e.g. `pending`.
        allowed: &'static str,
    },
    /// Approving and rejecting need a comment.
    #[error("a comment is required to {0} a draft: say why, for the record")]
    CommentRequired(&'static str),
    /// The activation day is already over.
    #[error(
        "activate_on {date} is before today ({today} in Asia/Shanghai); give today or a later \
         day, or leave it out to activate as soon as the draft is approved"
    )]
    PastActivation {
        /// The day asked for.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// Only the submitter may withdraw a draft.
    #[error(
        "draft #{id} was submitted by {author}; only its author may withdraw it (the city \
         office rejects drafts instead)"
    )]
    NotAuthor {
        /// The draft.
        id: u64,
        /// Its author.
        author: String,
    },
    /// Another draft of the rule set is approved and waits for its activation day.
    #[error(
        "draft #{other} of rule set `{ruleset}` is already approved to become active on \
         {date}; reject it first (or wait until it is active and resubmit this one against it)"
    )]
    ActivationPending {
        /// The approved draft.
        other: u64,
        /// Rule-set id.
        ruleset: String,
        /// Its activation day.
        date: String,
    },
    /// The draft does not check with the active rule sets, so it cannot be compared with them
    /// (nor approved as it is).
    #[error(
        "the draft does not check with the active rule sets ({} error(s), see `diagnostics`); \
         it cannot be approved as it is",
        .0.error_count()
    )]
    DraftInvalid(Diagnostics),
    /// The active version could not be compared (it does not check on its own: a bug).
    #[error("the active version cannot be compared: {0}")]
    Diff(DiffError),
    /// A new rule set has no active version whose outcomes it could change.
    #[error(
        "rule set `{0}` has no active version yet, so the draft changes no outcome; \
         evaluations under it start when it is approved"
    )]
    NoActiveVersion(String),
    /// The submitted source means the same as the active version: nothing to review.
    #[error(
        "the draft means the same as the active version of rule set `{0}` (at most layout, \
         comments or the keyword language differ), so there is nothing to review; change the \
         rules, or keep the active version"
    )]
    NoChange(String),
    /// The impact analysis could not run.
    #[error(transparent)]
    Impact(ImpactError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownDraft { id } => ReviewError::UnknownDraft(id),
            other => ReviewError::Store(other),
        }
    }
}

/// A new version to submit for review.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The rule set it is a new version of.
    pub ruleset_id: &'a str,
    /// The complete source text.
    pub source: &'a str,
    /// The active version's compiled hash the author edited (`None`: the active one now).
    pub base_hash: Option<&'a str>,
    /// Why the rule set changes.
    pub message: &'a str,
    /// The day it is to become active, if not as soon as it is approved.
    pub activate_on: Option<NaiveDate>,
    /// Who submits it.
    pub author: Actor,
}

/// A saved draft and the checker's warnings about it.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The draft, `pending`.
    pub draft: Draft,
    /// What the checker warned about (the draft was saved anyway).
    pub warnings: Diagnostics,
}

/// The result of an approval or an activation.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The draft as it is now: `approved` (scheduled) or `active`.
    pub draft: Draft,
    /// What going live changed, when it went live now.
    pub published: Option<Published>,
}

/// The review workflow over the live rule sets, the store and a clock.
#[derive(Clone, Copy)]
pub struct Review<'a> {
    /// The live rule sets.
    pub registry: &'a Registry,
    /// Where drafts and versions are saved.
    pub store: &'a dyn RecordStore,
    /// What time it is.
    pub clock: &'a dyn Clock,
}

impl Review<'_> {
    /// Today in Asia/Shanghai.
    pub fn today(&self) -> NaiveDate {
        local_date(self.clock.now())
    }

    /// Checks `submission` against the active rule sets and saves it as a `pending` draft.
    pub fn submit(&self, submission: &Submission<'_>) -> Result<Submitted, ReviewError> {
        if let Some(date) = submission.activate_on {
            self.refuse_past(date)?;
        }
        let id = submission.ruleset_id;
        let current = self.registry.head_hash(id);
        if let Some(base) = submission.base_hash
            && current.as_deref() != Some(base)
        {
            return Err(ReviewError::Stale {
                ruleset: id.to_owned(),
                base: base.to_owned(),
                current: current.unwrap_or_else(|| "(none: a new rule set)".into()),
                what: "this version".into(),
                remedy: "edit the active version (GET /api/v1/rulesets/{id}) and submit again"
                    .into(),
            });
        }
        let candidate = self
            .registry
            .check_candidate(id, submission.source)
            .map_err(from_publish)?;
        if self.registry.get(id).is_some() {
            let active = self.registry.sources();
            let same = self
                .compare(&active, id, submission.source, "submitted")?
                .is_some_and(|diff| diff.is_empty());
            if same {
                return Err(ReviewError::NoChange(id.to_owned()));
            }
        }
        let draft = self.store.put_draft(&NewDraft {
            ruleset_id: id,
            source: submission.source,
            sector: candidate.program.meta.sector.as_deref(),
            base_hash: current.as_deref(),
            author: &submission.author,
            message: submission.message,
            activate_on: submission.activate_on,
            time: self.clock.now(),
        })?;
        Ok(Submitted {
            draft,
            warnings: candidate.program.warnings.clone(),
        })
    }

    /// A draft by id.
    pub fn draft(&self, id: u64) -> Result<Draft, ReviewError> {
        self.store.draft(id)?.ok_or(ReviewError::UnknownDraft(id))
    }

    /// Whether the rule set is still at the version the draft was written against.
    pub fn base_is_current(&self, draft: &Draft) -> bool {
        self.registry.head_hash(&draft.ruleset_id) == draft.base_hash
    }

    /// What the draft changes against the version it was written on (`None` for a new rule
    /// set: there is nothing to compare with). While the draft waits, that is the rule set's
    /// active version; once the draft is active, it is the version before it in the version
    /// log (so an approved draft keeps its diff). The draft is compiled with the active
    /// versions of the rule sets it extends.
    pub fn diff(&self, draft: &Draft) -> Result<Option<RuleSetDiff>, ReviewError> {
        let id = draft.ruleset_id.as_str();
        let mut old = self.registry.sources();
        if let Some(published) = draft.published_hash.as_deref() {
            let versions = self.store.ruleset_versions(id)?;
            let at = versions.iter().rposition(|v| v.hash == published);
            match at
                .and_then(|at| at.checked_sub(1))
                .and_then(|i| versions.get(i))
            {
                Some(base) => {
                    let name = format!("{id}@{}.rules", &base.hash[..12.min(base.hash.len())]);
                    old.insert(id.to_owned(), SourceFile::new(name, base.source.as_str()));
                }
                // The first version of a new rule set.
                None if draft.base_hash.is_none() => return Ok(None),
                // The base is not in the log (a store seeded without it): compare with the
                // active versions.
                None => {}
            }
        } else if self.registry.get(id).is_none() {
            return Ok(None);
        }
        self.compare(&old, id, &draft.source, &format!("draft-{}", draft.id))
    }

    /// The diff of `source` as the new version of rule set `id` against `old` (every rule
    /// set's source by id, `id` included); `None` when `old` has no `id`.
    fn compare(
        &self,
        old: &std::collections::BTreeMap<String, SourceFile>,
        id: &str,
        source: &str,
        label: &str,
    ) -> Result<Option<RuleSetDiff>, ReviewError> {
        if !old.contains_key(id) {
            return Ok(None);
        }
        let before: Vec<SourceFile> = old.values().cloned().collect();
        let mut proposed = old.clone();
        proposed.insert(
            id.to_owned(),
            SourceFile::new(format!("{label}/{id}.rules"), source),
        );
        let proposed: Vec<SourceFile> = proposed.into_values().collect();
        match diff_sources(&before, id, &proposed, id) {
            Ok(diff) => Ok(Some(diff)),
            Err(DiffError::New(d)) => Err(ReviewError::DraftInvalid(d)),
            Err(old) => Err(ReviewError::Diff(old)),
        }
    }

    /// The ids of the other drafts of the same rule set that are `pending` too: approving one
    /// makes the others stale, so the reviewer sees them side by side.
    pub fn other_pending(&self, draft: &Draft) -> Result<Vec<u64>, ReviewError> {
        let query = DraftQuery {
            ruleset_id: Some(draft.ruleset_id.clone()),
            status: Some(DraftStatus::Pending),
        };
        Ok(self
            .store
            .drafts(&query)?
            .into_iter()
            .map(|d| d.id)
            .filter(|other| *other != draft.id)
            .collect())
    }

    /// What the draft changes in outcomes: every entity in the store evaluated as of `as_of`
    /// under the rule set's active version and under the draft (compiled with the active
    /// versions of the rule sets it extends). Runs on the rayon pool: call it from a blocking
    /// thread.
    pub fn impact(
        &self,
        draft: &Draft,
        as_of: NaiveDate,
        options: &ImpactOptions,
    ) -> Result<ImpactReport, ReviewError> {
        let id = draft.ruleset_id.as_str();
        let active = match self.registry.get(id) {
            Some(active) => active,
            None => std::sync::Arc::new(nothing_in_force(id)?),
        };
        let proposed = match self.registry.check_candidate(id, &draft.source) {
            Ok(candidate) => candidate.program,
            Err(PublishError::Invalid(d)) => return Err(ReviewError::DraftInvalid(d)),
            Err(other) => return Err(from_publish(other)),
        };
        crate::impact_store::impact_of_store(
            self.store,
            &active,
            &proposed,
            as_of,
            options,
            &mut |_| {},
        )
        .map_err(ReviewError::Impact)
    }

    /// Approves a pending draft with a comment; it goes live now, or on `activate_on` (which
    /// replaces the draft's own day when given) if that is after today.
    pub fn approve(
        &self,
        id: u64,
        reviewer: Actor,
        comment: &str,
        activate_on: Option<NaiveDate>,
    ) -> Result<Decided, ReviewError> {
        let comment = required_comment(comment, "approve")?;
        if let Some(date) = activate_on {
            self.refuse_past(date)?;
        }
        let _deciding = deciding();
        let draft = self.draft(id)?;
        if draft.status != DraftStatus::Pending {
            return Err(wrong_status(&draft, "approved", "pending"));
        }
        self.refuse_second_approval(&draft)?;
        self.refuse_if_no_longer_publishable(&draft, &reviewer)?;
        let mut event = ReviewEvent::new(
            self.clock.now(),
            reviewer.clone(),
            ReviewAction::Approved,
            Some(comment),
        );
        event.activate_on = activate_on.or(draft.activate_on);
        let approved = self
            .store
            .update_draft(
                id,
                &DraftTransition {
                    from: &[DraftStatus::Pending],
                    to: DraftStatus::Approved,
                    event,
                    activate_on,
                    published_hash: None,
                },
            )
            .map_err(|e| status_error(e, "approved", "pending"))?;
        if self.is_due(&approved) {
            self.activate(approved, reviewer)
        } else {
            Ok(Decided {
                draft: approved,
                published: None,
            })
        }
    }

    /// Rejects a pending draft, or an approved one that is not active yet, with a comment.
    pub fn reject(&self, id: u64, reviewer: Actor, comment: &str) -> Result<Draft, ReviewError> {
        let comment = required_comment(comment, "reject")?;
        let _deciding = deciding();
        let event = ReviewEvent::new(
            self.clock.now(),
            reviewer,
            ReviewAction::Rejected,
            Some(comment),
        );
        self.store
            .update_draft(
                id,
                &DraftTransition {
                    from: &[DraftStatus::Pending, DraftStatus::Approved],
                    to: DraftStatus::Rejected,
                    event,
                    activate_on: None,
                    published_hash: None,
                },
            )
            .map_err(|e| status_error(e, "rejected", "pending or approved (not yet active)"))
    }

    /// Withdraws a pending draft; only the actor who submitted it may.
    pub fn withdraw(
        &self,
        id: u64,
        author: Actor,
        comment: Option<&str>,
    ) -> Result<Draft, ReviewError> {
        let draft = self.draft(id)?;
        if draft.author.name != author.name || draft.author.role != author.role {
            return Err(ReviewError::NotAuthor {
                id,
                author: draft.author.name,
            });
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let event = ReviewEvent::new(
            self.clock.now(),
            author,
            ReviewAction::Withdrawn,
            comment.map(str::to_owned),
        );
        self.store
            .update_draft(
                id,
                &DraftTransition {
                    from: &[DraftStatus::Pending],
                    to: DraftStatus::Withdrawn,
                    event,
                    activate_on: None,
                    published_hash: None,
                },
            )
            .map_err(|e| status_error(e, "withdrawn", "pending"))
    }

    /// Makes every approved draft whose activation day has come (Asia/Shanghai) the active
    /// version, oldest draft first; returns each one's outcome. A draft that cannot go live
    /// is marked `stale` and its error returned.
    pub fn activate_due(&self) -> Result<Vec<Result<Decided, ReviewError>>, ReviewError> {
        let _deciding = deciding();
        let approved = self.store.drafts(&DraftQuery {
            ruleset_id: None,
            status: Some(DraftStatus::Approved),
        })?;
        Ok(approved
            .into_iter()
            .filter(|d| self.is_due(d))
            .map(|d| self.activate(d, scheduler_actor()))
            .collect())
    }

    fn is_due(&self, draft: &Draft) -> bool {
        draft.activate_on.is_none_or(|day| day <= self.today())
    }

    fn refuse_past(&self, date: NaiveDate) -> Result<(), ReviewError> {
        let today = self.today();
        if date < today {
            return Err(ReviewError::PastActivation { date, today });
        }
        Ok(())
    }

    fn refuse_second_approval(&self, draft: &Draft) -> Result<(), ReviewError> {
        let waiting = self.store.drafts(&DraftQuery {
            ruleset_id: Some(draft.ruleset_id.clone()),
            status: Some(DraftStatus::Approved),
        })?;
        match waiting.into_iter().find(|d| d.id != draft.id) {
            Some(other) => Err(ReviewError::ActivationPending {
                other: other.id,
                ruleset: other.ruleset_id,
                date: other
                    .activate_on
                    .map_or_else(|| "its approval".into(), |d| d.to_string()),
            }),
            None => Ok(()),
        }
    }

    /// Before an approval is recorded: a draft whose base moved, or that no longer checks,
    /// is marked stale and the approval refused.
    fn refuse_if_no_longer_publishable(
        &self,
        draft: &Draft,
        reviewer: &Actor,
    ) -> Result<(), ReviewError> {
        if !self.base_is_current(draft) {
            let error = self.stale_error(draft);
            self.mark_stale(draft.id, reviewer.clone(), &error, DraftStatus::Pending)?;
            return Err(error);
        }
        match self
            .registry
            .check_candidate(&draft.ruleset_id, &draft.source)
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = self.unpublishable(draft, e);
                self.mark_stale(draft.id, reviewer.clone(), &error, DraftStatus::Pending)?;
                Err(error)
            }
        }
    }

    /// Publishes an approved draft through the registry's checked path (saving the version)
    /// and marks it `active`; a draft that cannot be published is marked `stale`.
    fn activate(&self, draft: Draft, actor: Actor) -> Result<Decided, ReviewError> {
        let id = draft.ruleset_id.as_str();
        let already_live = self
            .registry
            .source(id)
            .is_some_and(|f| *f.text == *draft.source);
        if already_live {
            // A crash came between publishing and marking the draft: just mark it.
            return self.mark_active(&draft, actor, None);
        }
        let persist = |_: &Published| {
            self.store
                .put_ruleset_version(&NewRuleSetVersion {
                    ruleset_id: id,
                    source: &draft.source,
                    author: &draft.author.name,
                    message: &version_message(&draft),
                    time: self.clock.now(),
                })
                .map(|_| ())
        };
        match self
            .registry
            .publish_with(id, &draft.source, draft.base_hash.as_deref(), persist)
        {
            Ok(published) => self.mark_active(&draft, actor, Some(published)),
            Err(PublishWithError::Persist(e)) => Err(ReviewError::Store(e)),
            Err(PublishWithError::Publish(e)) => {
                let error = self.unpublishable(&draft, e);
                self.mark_stale(draft.id, actor, &error, DraftStatus::Approved)?;
                Err(error)
            }
        }
    }

    fn mark_active(
        &self,
        draft: &Draft,
        actor: Actor,
        published: Option<Published>,
    ) -> Result<Decided, ReviewError> {
        let mut event = ReviewEvent::new(self.clock.now(), actor, ReviewAction::Activated, None);
        event.version_hash = Some(draft.source_hash.clone());
        let active = self
            .store
            .update_draft(
                draft.id,
                &DraftTransition {
                    from: &[DraftStatus::Approved],
                    to: DraftStatus::Active,
                    event,
                    activate_on: None,
                    published_hash: Some(draft.source_hash.clone()),
                },
            )
            .map_err(|e| status_error(e, "activated", "approved"))?;
        tracing::info!(draft = draft.id, ruleset = %draft.ruleset_id, "draft is now the active version");
        Ok(Decided {
            draft: active,
            published,
        })
    }

    fn mark_stale(
        &self,
        id: u64,
        actor: Actor,
        reason: &ReviewError,
        from: DraftStatus,
    ) -> Result<Draft, ReviewError> {
        tracing::warn!(draft = id, %reason, "draft marked stale");
        let event = ReviewEvent::new(
            self.clock.now(),
            actor,
            ReviewAction::Stale,
            Some(reason.to_string()),
        );
        self.store
            .update_draft(
                id,
                &DraftTransition {
                    from: &[from],
                    to: DraftStatus::Stale,
                    event,
                    activate_on: None,
                    published_hash: None,
                },
            )
            .map_err(|e| status_error(e, "marked stale", from.as_str()))
    }

    fn stale_error(&self, draft: &Draft) -> ReviewError {
        ReviewError::Stale {
            ruleset: draft.ruleset_id.clone(),
            base: draft
                .base_hash
                .clone()
                .unwrap_or_else(|| "(none: a new rule set)".into()),
            current: self
                .registry
                .head_hash(&draft.ruleset_id)
                .unwrap_or_else(|| "(none)".into()),
            what: format!("draft #{}", draft.id),
            remedy: format!(
                "draft #{} is marked stale; submit a new draft based on the active version",
                draft.id
            ),
        }
    }

    /// The error for a draft the registry refused to publish.
    fn unpublishable(&self, draft: &Draft, error: PublishError) -> ReviewError {
        match error {
            PublishError::Stale { .. } => self.stale_error(draft),
            PublishError::Invalid(diagnostics) => ReviewError::NoLongerChecks {
                id: draft.id,
                diagnostics,
            },
            PublishError::WrongId { id, declared } => ReviewError::WrongId { id, declared },
        }
    }
}

/// The version-log message of a published draft.
/// The "old" side of the impact of a brand-new rule set: a rule set with the same id and
/// no clause, under which every entity is eligible with no points, so the report shows
/// everything the new rule set would do.
fn nothing_in_force(id: &str) -> Result<crate::compile::CompiledRuleSet, ReviewError> {
    let source = format!(
        "ruleset {id} {{\n  title \"（无生效版本 no version in force）\"\n  version \"0\"\n  \
         effective 1990-01-01\n  unit \"（无 none）\"\n}}\n"
    );
    let mut workspace = crate::ruleset::Workspace::new();
    workspace.add_source(SourceFile::new(format!("{id}@none.rules"), source), None);
    if workspace.errors.has_errors() {
        return Err(ReviewError::NoActiveVersion(id.to_owned()));
    }
    workspace
        .compile(id)
        .map_err(|_| ReviewError::NoActiveVersion(id.to_owned()))
}

fn version_message(draft: &Draft) -> String {
    let approval = draft
        .events
        .iter()
        .rev()
        .find(|e| e.action == ReviewAction::Approved)
        .map(|e| format!("，{} 批准", e.actor.name))
        .unwrap_or_default();
    format!("{}（草稿 draft #{}{approval}）", draft.message, draft.id)
}

fn required_comment(comment: &str, action: &'static str) -> Result<String, ReviewError> {
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(ReviewError::CommentRequired(action));
    }
    Ok(comment.to_owned())
}

fn wrong_status(draft: &Draft, action: &'static str, allowed: &'static str) -> ReviewError {
    ReviewError::WrongStatus {
        id: draft.id,
        status: draft.status,
        action,
        allowed,
    }
}

/// Maps the store's refusal of a transition to the review error that names the step.
fn status_error(e: StoreError, action: &'static str, allowed: &'static str) -> ReviewError {
    match e {
        StoreError::DraftStatus { id, status, .. } => ReviewError::WrongStatus {
            id,
            status,
            action,
            allowed,
        },
        other => ReviewError::from(other),
    }
}

fn from_publish(e: PublishError) -> ReviewError {
    match e {
        PublishError::Invalid(d) => ReviewError::Invalid(d),
        PublishError::WrongId { id, declared } => ReviewError::WrongId { id, declared },
        PublishError::Stale {
            id,
            expected,
            current,
        } => ReviewError::Stale {
            ruleset: id,
            base: expected,
            current,
            what: "this version".into(),
            remedy: "edit the active version and submit again".into(),
        },
    }
}

#[cfg(test)]
mod tests;
