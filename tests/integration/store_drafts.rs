//! Tests of the drafts under review in the record store (`credit_rules::store::DraftStore`):
//! sequential ids, durable across reopening, checked status transitions with an append-only
//! history, filters, and concurrent reviewers.

use chrono::{DateTime, NaiveDate, Utc};
use credit_rules::store::{
    Actor, DraftQuery, DraftStatus, DraftTransition, NewDraft, PgStore, RecordStore, ReviewAction,
    ReviewEvent, StoreError, source_hash,
};

use crate::common::{PgTestStore, on_each_reopened_store, on_each_store, pg_url};

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("test date")
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

const SOURCE: &str = "ruleset water { title \"t\" sector \"水务\" version \"2\" }\n";

fn new_draft<'a>(
    ruleset: &'a str,
    author: &'a Actor,
    activate_on: Option<NaiveDate>,
) -> NewDraft<'a> {
    NewDraft {
        ruleset_id: ruleset,
        source: SOURCE,
        sector: Some("水务"),
        base_hash: Some("ab12"),
        author,
        message: "近三年改为近两年",
        activate_on,
        time: ts("2024-06-01T02:00:00Z"),
    }
}

fn approve(time: &str, comment: &str) -> DraftTransition<'static> {
    DraftTransition {
        from: &[DraftStatus::Pending],
        to: DraftStatus::Approved,
        event: ReviewEvent::new(
            ts(time),
            city(),
            ReviewAction::Approved,
            Some(comment.into()),
        ),
        activate_on: None,
        published_hash: None,
    }
}

#[test]
fn a_submitted_draft_is_pending_with_its_submission_in_the_history() {
    on_each_store(|store| {
        let author = bureau();
        let first = store
            .put_draft(&new_draft("water", &author, Some(day("2024-07-01"))))
            .expect("saved");
        let second = store
            .put_draft(&new_draft("water", &author, None))
            .expect("saved");
        assert_eq!((first.id, second.id), (1, 2), "ids are sequential from 1");
        assert_eq!(first.status, DraftStatus::Pending);
        assert_eq!(first.source_hash, source_hash(SOURCE));
        assert_eq!(first.base_hash.as_deref(), Some("ab12"));
        assert_eq!(first.activate_on, Some(day("2024-07-01")));
        assert_eq!(first.events.len(), 1);
        assert_eq!(first.events[0].action, ReviewAction::Submitted);
        assert_eq!(first.events[0].actor, author);
        assert_eq!(first.events[0].activate_on, Some(day("2024-07-01")));
        assert_eq!(store.draft(1).expect("read"), Some(first));
        assert_eq!(store.draft(3).expect("read"), None);
    });
}

#[test]
fn drafts_and_their_history_survive_reopening() {
    on_each_reopened_store(|open| {
        {
            let store = open();
            let author = bureau();
            store
                .put_draft(&new_draft("water", &author, None))
                .expect("saved");
            store
                .update_draft(1, &approve("2024-06-02T01:00:00Z", "同意"))
                .expect("approved");
        }
        let store = open();
        let draft = store.draft(1).expect("read").expect("still there");
        assert_eq!(draft.status, DraftStatus::Approved);
        let actions: Vec<_> = draft.events.iter().map(|e| e.action).collect();
        assert_eq!(actions, [ReviewAction::Submitted, ReviewAction::Approved]);
        assert_eq!(draft.events[1].comment.as_deref(), Some("同意"));
        assert_eq!(draft.events[1].time, ts("2024-06-02T01:00:00Z"));
        let next = store
            .put_draft(&new_draft("water", &bureau(), None))
            .expect("saved");
        assert_eq!(next.id, 2, "numbering continues after reopening");
    });
}

#[test]
fn transitions_are_checked_and_only_append_to_the_history() {
    on_each_store(|store| {
        let author = bureau();
        store
            .put_draft(&new_draft("water", &author, None))
            .expect("saved");
        let mut approved = approve("2024-06-02T01:00:00Z", "同意");
        approved.activate_on = Some(day("2024-09-01"));
        let draft = store.update_draft(1, &approved).expect("approved");
        assert_eq!(draft.activate_on, Some(day("2024-09-01")));

        let again = store
            .update_draft(1, &approve("2024-06-03T01:00:00Z", "再次同意"))
            .expect_err("not pending any more");
        assert_eq!(
            again,
            StoreError::DraftStatus {
                id: 1,
                status: DraftStatus::Approved,
                to: DraftStatus::Approved
            }
        );
        assert!(
            again.to_string().contains("draft #1 is approved"),
            "{again}"
        );
        assert_eq!(
            store.draft(1).expect("read").expect("draft").events.len(),
            2,
            "a refused change writes nothing"
        );

        let mut activated = ReviewEvent::new(
            ts("2024-08-31T16:00:30Z"),
            Actor {
                name: "scheduler".into(),
                role: "system".into(),
                sector: None,
            },
            ReviewAction::Activated,
            None,
        );
        activated.version_hash = Some(source_hash(SOURCE));
        let active = store
            .update_draft(
                1,
                &DraftTransition {
                    from: &[DraftStatus::Approved],
                    to: DraftStatus::Active,
                    event: activated,
                    activate_on: None,
                    published_hash: Some(source_hash(SOURCE)),
                },
            )
            .expect("activated");
        assert_eq!(active.status, DraftStatus::Active);
        assert_eq!(active.published_hash, Some(source_hash(SOURCE)));
        assert_eq!(active.events.len(), 3);
        assert_eq!(active.events[1].comment.as_deref(), Some("同意"));

        let unknown = store
            .update_draft(9, &approve("2024-06-02T01:00:00Z", "x"))
            .expect_err("unknown");
        assert_eq!(unknown, StoreError::UnknownDraft { id: 9 });
    });
}

#[test]
fn drafts_are_listed_by_id_and_filtered_by_rule_set_and_status() {
    on_each_store(|store| {
        let author = bureau();
        for ruleset in ["water", "transport", "water"] {
            store
                .put_draft(&new_draft(ruleset, &author, None))
                .expect("saved");
        }
        store
            .update_draft(3, &approve("2024-06-02T01:00:00Z", "同意"))
            .expect("approved");
        let ids = |query: DraftQuery| -> Vec<u64> {
            store
                .drafts(&query)
                .expect("listed")
                .iter()
                .map(|d| d.id)
                .collect()
        };
        assert_eq!(ids(DraftQuery::default()), [1, 2, 3]);
        let water = DraftQuery {
            ruleset_id: Some("water".into()),
            ..DraftQuery::default()
        };
        assert_eq!(ids(water.clone()), [1, 3]);
        let pending_water = DraftQuery {
            status: Some(DraftStatus::Pending),
            ..water
        };
        assert_eq!(ids(pending_water), [1]);
    });
}

#[test]
fn of_two_reviewers_deciding_at_once_exactly_one_succeeds() {
    on_each_store(|store| reviewers_race(&[store]));
}

#[test]
fn of_reviewers_on_two_replicas_deciding_at_once_exactly_one_succeeds() {
    let first = PgTestStore::new();
    let second = PgStore::open_in_schema(&pg_url(), first.schema()).expect("second replica");
    reviewers_race(&[&*first, &second]);
}

/// Eight reviewers approve or reject draft 1 at once, through the given stores in turn
/// (replicas of one database): exactly one decision is taken and recorded.
fn reviewers_race(stores: &[&dyn RecordStore]) {
    let author = bureau();
    stores[0]
        .put_draft(&new_draft("water", &author, None))
        .expect("saved");
    let results: Vec<_> = std::thread::scope(|scope| {
        let reviewers: Vec<_> = (0..8)
            .map(|i| {
                let store = stores[i % stores.len()];
                scope.spawn(move || {
                    let to = if i % 2 == 0 {
                        DraftStatus::Approved
                    } else {
                        DraftStatus::Rejected
                    };
                    store.update_draft(
                        1,
                        &DraftTransition {
                            from: &[DraftStatus::Pending],
                            to,
                            event: ReviewEvent::new(
                                ts("2024-06-02T01:00:00Z"),
                                city(),
                                ReviewAction::Approved,
                                Some(format!("reviewer {i}")),
                            ),
                            activate_on: None,
                            published_hash: None,
                        },
                    )
                })
            })
            .collect();
        reviewers
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for store in stores {
        let draft = store.draft(1).expect("read").expect("draft");
        assert_eq!(draft.events.len(), 2, "one decision recorded");
    }
}

#[test]
fn a_draft_for_an_unusable_rule_set_id_is_refused() {
    on_each_store(|store| {
        let author = bureau();
        let err = store
            .put_draft(&new_draft("a\0b", &author, None))
            .expect_err("NUL");
        assert!(matches!(err, StoreError::RuleSetConflict(_)), "{err}");
    });
}
