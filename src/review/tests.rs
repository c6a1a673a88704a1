//! The review workflow on a two-rule-set registry, a temporary store and a manual clock.

use super::*;
use crate::ruleset::Workspace;
use crate::store::{DraftStore, SledStore, Versions};

const BASE: &str = r#"ruleset base { title "b" version "1" effective 2020-01-01 unit "u" }
veto mandatory 黑名单 { wording "w" when any(records where kind = 黑名单) }
"#;
const SECTOR: &str = r#"ruleset sector { title "s" sector "水务" version "1" effective 2020-01-01 unit "u" extends base }
flag 处罚 { wording "w" when any(records where kind = 行政处罚) }
"#;

struct Fixture {
    registry: Registry,
    store: SledStore,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Fixture {
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("base.rules", BASE), None);
        w.add_source(SourceFile::new("sector.rules", SECTOR), None);
        Fixture {
            registry: Registry::from_workspace(&w).expect("compiles"),
            store: SledStore::open_temporary().expect("store"),
            // 2024-06-01 10:00 in Shanghai.
            clock: ManualClock::new(at("2024-06-01T02:00:00Z")),
        }
    }

    fn review(&self) -> Review<'_> {
        Review {
            registry: &self.registry,
            store: &self.store,
            clock: &self.clock,
        }
    }

    fn submit(&self, version: &str, activate_on: Option<&str>) -> Draft {
        self.review()
            .submit(&Submission {
                ruleset_id: "sector",
                source: &sector_version(version),
                base_hash: None,
                message: "改版",
                activate_on: activate_on.map(day),
                author: bureau(),
            })
            .expect("submitted")
            .draft
    }

    fn head_version(&self) -> String {
        self.registry
            .get("sector")
            .expect("sector")
            .meta
            .version
            .clone()
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("test date")
}

fn sector_version(version: &str) -> String {
    SECTOR.replace("version \"1\"", &format!("version \"{version}\""))
}

fn bureau() -> Actor {
    Actor {
        name: "市水务局".into(),
        role: "bureau".into(),
        sector: Some("水务".into()),
    }
}

fn city() -> Actor {
    Actor {
        name: "市公管局".into(),
        role: "city_office".into(),
        sector: None,
    }
}

fn actions(draft: &Draft) -> Vec<ReviewAction> {
    draft.events.iter().map(|e| e.action).collect()
}

#[test]
fn shanghai_days_start_at_16_00_utc() {
    assert_eq!(local_date(at("2024-08-31T15:59:59Z")), day("2024-08-31"));
    assert_eq!(local_date(at("2024-08-31T16:00:00Z")), day("2024-09-01"));
}

#[test]
fn a_draft_that_does_not_check_is_not_saved() {
    let f = Fixture::new();
    let broken = SECTOR.replace("行政处罚", "行政处法");
    let err = f
        .review()
        .submit(&Submission {
            ruleset_id: "sector",
            source: &broken,
            base_hash: None,
            message: "",
            activate_on: None,
            author: bureau(),
        })
        .expect_err("does not check");
    assert!(matches!(err, ReviewError::Invalid(_)), "{err}");
    assert!(
        f.store
            .drafts(&DraftQuery::default())
            .expect("list")
            .is_empty()
    );
}

#[test]
fn a_draft_written_against_an_old_version_is_refused_at_submission() {
    let f = Fixture::new();
    let err = f
        .review()
        .submit(&Submission {
            ruleset_id: "sector",
            source: &sector_version("2"),
            base_hash: Some("0000"),
            message: "",
            activate_on: None,
            author: bureau(),
        })
        .expect_err("stale");
    assert!(matches!(err, ReviewError::Stale { .. }), "{err}");
}

#[test]
fn an_approved_draft_goes_live_and_is_saved_in_the_version_log() {
    let f = Fixture::new();
    let draft = f.submit("2", None);
    assert_eq!(draft.status, DraftStatus::Pending);
    assert_eq!(draft.sector.as_deref(), Some("水务"));
    assert_eq!(f.head_version(), "1", "a draft is not live");
    let decided = f
        .review()
        .approve(draft.id, city(), " 同意 ", None)
        .expect("approved");
    assert_eq!(decided.draft.status, DraftStatus::Active);
    assert!(decided.published.is_some());
    assert_eq!(
        actions(&decided.draft),
        [
            ReviewAction::Submitted,
            ReviewAction::Approved,
            ReviewAction::Activated
        ]
    );
    assert_eq!(decided.draft.events[1].comment.as_deref(), Some("同意"));
    assert_eq!(f.head_version(), "2");
    let log = f.store.ruleset_versions("sector").expect("log");
    let newest = log.last().expect("saved");
    assert_eq!(newest.source, sector_version("2"));
    assert_eq!(newest.author, "市水务局");
    assert_eq!(newest.message, "改版（草稿 draft #1，市公管局 批准）");
    assert_eq!(
        decided.draft.published_hash.as_deref(),
        Some(newest.hash.as_str())
    );
}

#[test]
fn a_scheduled_draft_goes_live_on_its_day_in_shanghai() {
    let f = Fixture::new();
    let draft = f.submit("2", Some("2024-09-01"));
    let decided = f
        .review()
        .approve(draft.id, city(), "同意，9月1日起施行", None)
        .expect("approved");
    assert_eq!(decided.draft.status, DraftStatus::Approved);
    assert_eq!(decided.draft.events[1].activate_on, Some(day("2024-09-01")));

    f.clock.set(at("2024-08-31T15:59:59Z"));
    assert!(f.review().activate_due().expect("ran").is_empty());
    assert_eq!(
        f.head_version(),
        "1",
        "23:59:59 in Shanghai is still the day before"
    );

    f.clock.set(at("2024-08-31T16:00:00Z"));
    let done = f.review().activate_due().expect("ran");
    assert_eq!(done.len(), 1);
    let active = done[0].as_ref().expect("activated");
    assert_eq!(active.draft.status, DraftStatus::Active);
    assert_eq!(active.draft.events[2].actor, scheduler_actor());
    assert_eq!(f.head_version(), "2");
    assert!(
        f.review().activate_due().expect("ran").is_empty(),
        "once only"
    );
}

#[test]
fn approval_can_set_the_activation_day_but_not_in_the_past() {
    let f = Fixture::new();
    let draft = f.submit("2", None);
    let err = f
        .review()
        .approve(draft.id, city(), "同意", Some(day("2024-05-31")))
        .expect_err("past");
    assert!(matches!(err, ReviewError::PastActivation { .. }), "{err}");
    let decided = f
        .review()
        .approve(draft.id, city(), "同意", Some(day("2024-07-01")))
        .expect("scheduled");
    assert_eq!(decided.draft.activate_on, Some(day("2024-07-01")));
    assert_eq!(decided.draft.status, DraftStatus::Approved);
}

#[test]
fn approving_a_draft_whose_base_moved_marks_it_stale() {
    let f = Fixture::new();
    let first = f.submit("2", None);
    let second = f.submit("3", None);
    f.review()
        .approve(first.id, city(), "同意", None)
        .expect("first goes live");
    let err = f
        .review()
        .approve(second.id, city(), "同意", None)
        .expect_err("stale");
    assert!(matches!(err, ReviewError::Stale { .. }), "{err}");
    assert!(
        err.to_string().contains("draft #2 is marked stale"),
        "{err}"
    );
    let second = f.store.draft(second.id).expect("read").expect("kept");
    assert_eq!(second.status, DraftStatus::Stale);
    assert_eq!(
        actions(&second),
        [ReviewAction::Submitted, ReviewAction::Stale]
    );
    assert_eq!(second.source, sector_version("3"), "nothing is lost");
    assert_eq!(f.head_version(), "2");
}

#[test]
fn a_scheduled_draft_whose_base_moved_goes_stale_on_its_day() {
    let f = Fixture::new();
    let scheduled = f.submit("2", Some("2024-09-01"));
    f.review()
        .approve(scheduled.id, city(), "同意", None)
        .expect("scheduled");
    // The base the sector extends changes meanwhile (through its own draft).
    let base = f
        .review()
        .submit(&Submission {
            ruleset_id: "base",
            source: &BASE.replace("version \"1\"", "version \"2\""),
            base_hash: None,
            message: "",
            activate_on: None,
            author: city(),
        })
        .expect("submitted")
        .draft;
    f.review()
        .approve(base.id, city(), "同意", None)
        .expect("base changes");
    f.clock.set(at("2024-09-01T00:00:00Z"));
    let done = f.review().activate_due().expect("ran");
    assert!(matches!(done[0], Err(ReviewError::Stale { .. })));
    let scheduled = f.store.draft(scheduled.id).expect("read").expect("kept");
    assert_eq!(scheduled.status, DraftStatus::Stale);
    assert_eq!(f.head_version(), "1");
}

#[test]
fn only_one_approved_draft_per_rule_set_waits_at_a_time() {
    let f = Fixture::new();
    let first = f.submit("2", Some("2024-09-01"));
    let second = f.submit("3", None);
    f.review()
        .approve(first.id, city(), "同意", None)
        .expect("scheduled");
    let err = f
        .review()
        .approve(second.id, city(), "同意", None)
        .expect_err("one is waiting");
    assert!(
        matches!(err, ReviewError::ActivationPending { other: 1, .. }),
        "{err}"
    );
    f.review()
        .reject(first.id, city(), "暂缓施行")
        .expect("an approved draft can still be rejected");
    f.review()
        .approve(second.id, city(), "同意", None)
        .expect("now it can");
    assert_eq!(f.head_version(), "3");
}

#[test]
fn rejecting_needs_a_comment_and_a_draft_that_is_not_final() {
    let f = Fixture::new();
    let draft = f.submit("2", None);
    let err = f
        .review()
        .reject(draft.id, city(), "  ")
        .expect_err("blank");
    assert!(
        matches!(err, ReviewError::CommentRequired("reject")),
        "{err}"
    );
    let err = f
        .review()
        .approve(draft.id, city(), "", None)
        .expect_err("blank");
    assert!(
        matches!(err, ReviewError::CommentRequired("approve")),
        "{err}"
    );
    let rejected = f
        .review()
        .reject(draft.id, city(), "扣分标准过严")
        .expect("rejected");
    assert_eq!(rejected.status, DraftStatus::Rejected);
    let err = f
        .review()
        .approve(draft.id, city(), "同意", None)
        .expect_err("final");
    assert!(
        matches!(
            err,
            ReviewError::WrongStatus {
                status: DraftStatus::Rejected,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("only a pending draft can"),
        "{err}"
    );
    assert!(matches!(
        f.review().reject(99, city(), "x"),
        Err(ReviewError::UnknownDraft(99))
    ));
}

#[test]
fn only_the_author_withdraws() {
    let f = Fixture::new();
    let draft = f.submit("2", None);
    let other = Actor {
        name: "市交通运输局".into(),
        ..bureau()
    };
    let err = f
        .review()
        .withdraw(draft.id, other, None)
        .expect_err("not the author");
    assert!(matches!(err, ReviewError::NotAuthor { .. }), "{err}");
    let withdrawn = f
        .review()
        .withdraw(draft.id, bureau(), Some("另行提交"))
        .expect("withdrawn");
    assert_eq!(withdrawn.status, DraftStatus::Withdrawn);
    assert_eq!(withdrawn.events[1].comment.as_deref(), Some("另行提交"));
}

#[test]
fn a_draft_already_live_after_a_crash_is_only_marked_active() {
    let f = Fixture::new();
    let draft = f.submit("2", Some("2024-09-01"));
    f.review()
        .approve(draft.id, city(), "同意", None)
        .expect("scheduled");
    // As if the service had published it and crashed before marking the draft.
    let base = f.registry.head_hash("sector");
    f.registry
        .publish("sector", &draft.source, base.as_deref())
        .expect("published");
    f.clock.set(at("2024-09-01T00:00:00Z"));
    let done = f.review().activate_due().expect("ran");
    let active = done[0].as_ref().expect("marked");
    assert_eq!(active.draft.status, DraftStatus::Active);
    assert!(active.published.is_none());
}

#[test]
fn the_diff_is_against_the_active_version() {
    let f = Fixture::new();
    let source = SECTOR.replace(
        "any(records where kind = 行政处罚)",
        "any(records where kind = 行政处罚 and within 1 year)",
    );
    let draft = f
        .review()
        .submit(&Submission {
            ruleset_id: "sector",
            source: &source,
            base_hash: f.registry.head_hash("sector").as_deref(),
            message: "",
            activate_on: None,
            author: bureau(),
        })
        .expect("submitted")
        .draft;
    let diff = f.review().diff(&draft).expect("compared").expect("a diff");
    assert_eq!(diff.clauses.changed.len(), 1);
    assert_eq!(diff.clauses.changed[0].id, "处罚");
    assert!(diff.render_text().contains("within 1 year"));
}

#[test]
fn of_drafts_approved_at_once_one_goes_live_and_the_others_go_stale() {
    let f = Fixture::new();
    let ids: Vec<u64> = (2..8).map(|v| f.submit(&v.to_string(), None).id).collect();
    let fixture = &f;
    let outcomes: Vec<Result<Decided, ReviewError>> = std::thread::scope(|scope| {
        let running: Vec<_> = ids
            .iter()
            .map(|&id| scope.spawn(move || fixture.review().approve(id, city(), "同意", None)))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    let drafts = f.store.drafts(&DraftQuery::default()).expect("list");
    let active: Vec<&Draft> = drafts
        .iter()
        .filter(|d| d.status == DraftStatus::Active)
        .collect();
    assert_eq!(active.len(), 1);
    assert!(
        drafts
            .iter()
            .all(|d| d.status == DraftStatus::Active || d.status == DraftStatus::Stale)
    );
    assert_eq!(
        f.registry.source("sector").expect("live").text.as_ref(),
        active[0].source.as_str(),
        "the live version is the active draft's"
    );
}
