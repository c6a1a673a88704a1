//! A whole tender in one call: every bidder evaluated under the tender's rule
//! set as of the bid-opening date, and the eligible bidders ranked.
//!
//! A bidder may be a consortium (联合体) of several entities. Following
//! government-procurement practice, **every member must qualify**: a veto on
//! any member disqualifies the bid. The bid's credit score is the **lowest
//! member's total** (the weakest member's credit stands for the consortium).
//! A member whose veto could not be evaluated makes the bid `review`.
//! [`CONSORTIUM`] holds this rule as data with its tender-document wording;
//! the evaluation below and the rendered chapter (`render`) both read it.
//!
//! Ranking: eligible bids by total, highest first; equal totals share a rank
//! (1, 2, 2, 4) and are listed by bidder id, so the order is deterministic.
//!
//! Bids invalid whatever the records (招标投标法实施条例): an entity that appears in
//! more than one bid — on its own and in a consortium, or in two consortia — makes every
//! bid it appears in invalid (第三十七条第三款; 第三十四条 for units bidding twice in one
//! tender), and so does an entity listed twice in one consortium. Such a bid is
//! `disqualified` with its [`BidProblem`]s, and is not ranked.
//!
//! Each bid lists the vetoes and flags that fired on any member ([`BidFinding`]), with
//! the members they fired on; a member for whom no record was found is marked
//! `no_records` (a new entity, or a mistyped USCC).

use crate::compile::CompiledRuleSet;
use crate::context::{NO_CONTEXT, TenderContext};
use crate::eval::{Decision, Report};
use crate::record::{CreditRecord, Uscc};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a consortium's credit is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsortiumRule {
    /// Every member must pass the credit qualification (a veto on one disqualifies the bid).
    pub every_member_must_qualify: bool,
    /// Whose total is the bid's credit score.
    pub score: MemberScore,
}

/// Which member's credit score a consortium bid gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberScore {
    /// The lowest member total (the weakest member stands for the consortium).
    Lowest,
}

impl MemberScore {
    /// The bid's score from its members' totals (zero without members).
    pub fn of(self, totals: impl Iterator<Item = Decimal>) -> Decimal {
        match self {
            MemberScore::Lowest => totals.min().unwrap_or(Decimal::ZERO),
        }
    }
}

/// The consortium rule the tender evaluation applies.
pub const CONSORTIUM: ConsortiumRule = ConsortiumRule {
    every_member_must_qualify: true,
    score: MemberScore::Lowest,
};

/// The tender-document sentence on qualification, for [`CONSORTIUM`].
pub const CONSORTIUM_QUALIFICATION_TEXT: &str = "联合体投标的，联合体各方均应符合本章资格审查条件（信用）：任何一方有本章第一部分所列情形之一的，联合体投标予以否决；任何一方的信用情况无法核实的，由评标委员会核实后确定。";

/// The tender-document sentence on scoring, for [`CONSORTIUM`].
pub const CONSORTIUM_SCORE_TEXT: &str = "联合体各方分别按本章信用评分标准计算信用得分，以其中得分最低一方的信用得分作为联合体的信用得分。";

/// The tender-document sentence on flags, for every member.
pub const CONSORTIUM_FLAG_TEXT: &str =
    "联合体任何一方有本章需评标委员会核实的情形的，按该情形的规定办理。";

/// A bid: one entity, or a consortium of several.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bidder {
    /// The bid's id in the tender (投标人编号).
    pub id: String,
    /// The bidder's name as registered for the tender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The entities behind the bid: one, or the members of a consortium (lead first).
    pub members: Vec<Uscc>,
}

/// One bid's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BidResult {
    /// The bid's id.
    pub bidder: String,
    /// Name, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The bid's decision (any member disqualified → disqualified).
    pub decision: Decision,
    /// Its Chinese label.
    pub decision_label: &'static str,
    /// The bid's credit score: the lowest member total.
    pub total: Decimal,
    /// Rank among eligible bids (1 = best); none when not eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Since 1.1. Why the bid is invalid whatever its records (the same entity in several
    /// bids, or twice in one consortium); empty for a valid bid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<BidProblem>,
    /// Since 1.1. The vetoes that fired (or failed) on any member.
    pub vetoes: Vec<BidFinding>,
    /// Since 1.1. The flags that fired on any member.
    pub flags: Vec<BidFinding>,
    /// Each member's full report, in the order given.
    pub members: Vec<MemberResult>,
}

/// A veto or flag of a bid: which clause, and on which members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BidFinding {
    /// Clause id.
    pub clause: String,
    /// The members it fired on, in the bid's order.
    pub members: Vec<Uscc>,
}

/// Why a bid is invalid whatever its members' records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum BidProblem {
    /// The entity also appears in other bids of the tender.
    EntityInSeveralBids {
        /// The entity.
        uscc: Uscc,
        /// The other bids it appears in.
        other_bids: Vec<String>,
        /// The rule, e.g. 招标投标法实施条例 第三十七条第三款.
        basis: String,
        /// A sentence for the bidder.
        message: String,
    },
    /// The entity is listed more than once in this consortium.
    MemberRepeated {
        /// The entity.
        uscc: Uscc,
        /// The rule.
        basis: String,
        /// A sentence for the bidder.
        message: String,
    },
}

/// The legal basis of [`BidProblem::EntityInSeveralBids`].
const SEVERAL_BIDS_BASIS: &str = "招标投标法实施条例 第三十四条、第三十七条第三款";

/// The legal basis of [`BidProblem::MemberRepeated`].
const MEMBER_REPEATED_BASIS: &str = "招标投标法实施条例 第三十七条";

/// One consortium member's evaluation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberResult {
    /// The member.
    pub uscc: Uscc,
    /// Since 1.1. True when no record of the member was found: a new entity, or a mistyped USCC
    /// (check it against the business licence). Its report is then the one of an entity
    /// with a clean record.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_records: bool,
    /// Its report.
    pub report: Report,
    /// Since 1.2. The member's decision id (its decision-log sequence number; set by the
    /// service once the decision is logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<u64>,
    /// Since 1.2. The member's name as the records give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    /// Since 1.2. The signed receipt of the member's decision (set by the service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<crate::receipt::Receipt>,
}

/// The whole tender's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenderResult {
    /// Rule-set id.
    pub ruleset: String,
    /// Rule-set version label.
    pub version: String,
    /// Hash of the rules applied.
    pub hash: String,
    /// Bid-opening (evaluation) date.
    pub as_of: NaiveDate,
    /// Every bid, in the order given.
    pub bids: Vec<BidResult>,
    /// Eligible bid ids, best first.
    pub ranking: Vec<String>,
    /// Since 1.2. The records were taken as the store knew them at this time (set by the
    /// service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An entity's name as its records give it: the newest decision's record that names it.
pub fn entity_name(records: &[CreditRecord]) -> Option<String> {
    records
        .iter()
        .filter(|r| r.entity_name.is_some())
        .max_by_key(|r| r.decided_on)
        .and_then(|r| r.entity_name.clone())
}

/// Fewest bids worth splitting over threads: below this the hand-off costs more than it
/// saves.
const PARALLEL_FROM: usize = 8;

/// The threads that evaluate large tenders: a pool of their own, so that a long impact
/// analysis on rayon's global pool never holds a bid opening up. `None` when the machine
/// has one core or the pool cannot be started (then tenders run in the calling thread).
pub fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        (threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("tender-{i}"))
                    .build()
                    .ok()
            })
            .flatten()
    })
    .as_ref()
}

/// Evaluates every bid; `records_of` supplies each member's records. Large tenders are
/// split over the [`pool`]; the result is the same as in one thread.
pub fn evaluate_tender<E: Send, R: AsRef<[CreditRecord]>>(
    program: &CompiledRuleSet,
    bidders: &[Bidder],
    as_of: NaiveDate,
    records_of: impl Fn(&Uscc) -> Result<R, E> + Sync,
) -> Result<TenderResult, E> {
    evaluate_tender_with(program, bidders, as_of, &NO_CONTEXT, records_of)
}

/// [`evaluate_tender`] with the tender call's facts (`tender.budget` …) that clauses may
/// read; every member is evaluated in the same context.
pub fn evaluate_tender_with<E: Send, R: AsRef<[CreditRecord]>>(
    program: &CompiledRuleSet,
    bidders: &[Bidder],
    as_of: NaiveDate,
    context: &TenderContext,
    records_of: impl Fn(&Uscc) -> Result<R, E> + Sync,
) -> Result<TenderResult, E> {
    let at = (as_of, context);
    let mut bids = match pool() {
        Some(pool) if bidders.len() >= PARALLEL_FROM => pool.install(|| {
            use rayon::prelude::*;
            bidders
                .par_chunks(2)
                .map(|part| evaluate_bids(program, part, at, &records_of))
                .collect::<Result<Vec<_>, E>>()
                .map(|parts| parts.into_iter().flatten().collect())
        })?,
        _ => evaluate_bids(program, bidders, at, &records_of)?,
    };
    mark_invalid_bids(bidders, &mut bids);
    let ranking = rank(&mut bids);
    Ok(TenderResult {
        ruleset: program.meta.id.clone(),
        version: program.meta.version.clone(),
        hash: program.meta.hash.clone(),
        as_of,
        bids,
        ranking,
        known_at: None,
    })
}

fn evaluate_bids<E, R: AsRef<[CreditRecord]>>(
    program: &CompiledRuleSet,
    bidders: &[Bidder],
    (as_of, context): (NaiveDate, &TenderContext),
    records_of: &impl Fn(&Uscc) -> Result<R, E>,
) -> Result<Vec<BidResult>, E> {
    let mut bids = Vec::with_capacity(bidders.len());
    for bidder in bidders {
        let mut members = Vec::with_capacity(bidder.members.len());
        for uscc in &bidder.members {
            let records = records_of(uscc)?;
            let records = records.as_ref();
            let report = program
                .evaluate_with(records, as_of, context)
                .report(program, records);
            members.push(MemberResult {
                uscc: uscc.clone(),
                no_records: records.is_empty(),
                report,
                decision_id: None,
                entity_name: entity_name(records),
                receipt: None,
            });
        }
        bids.push(combine(bidder, members));
    }
    Ok(bids)
}

/// The consortium rule ([`CONSORTIUM`]): worst decision, the member score it names.
fn combine(bidder: &Bidder, members: Vec<MemberResult>) -> BidResult {
    let decisions = members.iter().map(|m| m.report.decision);
    let any_disqualified = decisions.clone().any(|d| d == Decision::Disqualified);
    let lead_disqualified = decisions.clone().next() == Some(Decision::Disqualified);
    let disqualified = if CONSORTIUM.every_member_must_qualify {
        any_disqualified
    } else {
        lead_disqualified
    };
    let decision = if disqualified {
        Decision::Disqualified
    } else if decisions.clone().any(|d| d == Decision::Review) || members.is_empty() {
        Decision::Review
    } else {
        Decision::Eligible
    };
    let total = CONSORTIUM.score.of(members.iter().map(|m| m.report.total));
    let findings = |pick: fn(&Report) -> &[crate::eval::ClauseReport]| {
        let mut found: Vec<BidFinding> = Vec::new();
        for member in &members {
            for clause in pick(&member.report) {
                match found.iter_mut().find(|f| *f.clause == *clause.clause) {
                    Some(f) => f.members.push(member.uscc.clone()),
                    None => found.push(BidFinding {
                        clause: clause.clause.to_string(),
                        members: vec![member.uscc.clone()],
                    }),
                }
            }
        }
        found
    };
    BidResult {
        bidder: bidder.id.clone(),
        name: bidder.name.clone(),
        decision,
        decision_label: decision.label(),
        total,
        rank: None,
        problems: Vec::new(),
        vetoes: findings(|r| &r.vetoes),
        flags: findings(|r| &r.flags),
        members,
    }
}

/// Finds the entities that appear in several bids or twice in one bid, and makes those
/// bids disqualified with a [`BidProblem`] each.
fn mark_invalid_bids(bidders: &[Bidder], bids: &mut [BidResult]) {
    let mut bids_of: std::collections::HashMap<&Uscc, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, bidder) in bidders.iter().enumerate() {
        for uscc in &bidder.members {
            let seen = bids_of.entry(uscc).or_default();
            if seen.last() != Some(&i) {
                seen.push(i);
            }
        }
    }
    for (i, (bidder, bid)) in bidders.iter().zip(bids.iter_mut()).enumerate() {
        let mut reported: Vec<&Uscc> = Vec::new();
        for (at, uscc) in bidder.members.iter().enumerate() {
            if reported.contains(&uscc) {
                continue;
            }
            if bidder.members[at + 1..].contains(uscc) {
                bid.problems.push(BidProblem::MemberRepeated {
                    uscc: uscc.clone(),
                    basis: MEMBER_REPEATED_BASIS.to_string(),
                    message: format!(
                        "{uscc} 在联合体中列出不止一次，投标无效；请核对联合体协议中的成员"
                    ),
                });
            }
            let others: Vec<String> = bids_of[uscc]
                .iter()
                .filter(|j| **j != i)
                .map(|j| bidders[*j].id.clone())
                .collect();
            if !others.is_empty() {
                bid.problems.push(BidProblem::EntityInSeveralBids {
                    uscc: uscc.clone(),
                    message: format!(
                        "{uscc} 同时出现在投标 {} 中：同一单位在同一招标项目中单独投标又参加联合体投标，\
                         或参加多个联合体投标的，相关投标均无效",
                        others.join("、")
                    ),
                    other_bids: others,
                    basis: SEVERAL_BIDS_BASIS.to_string(),
                });
            }
            reported.push(uscc);
        }
        if !bid.problems.is_empty() {
            bid.decision = Decision::Disqualified;
            bid.decision_label = Decision::Disqualified.label();
        }
    }
}

/// Assigns competition ranks (1, 2, 2, 4) to eligible bids; returns their ids best first.
fn rank(bids: &mut [BidResult]) -> Vec<String> {
    let mut order: Vec<usize> = (0..bids.len())
        .filter(|i| bids[*i].decision == Decision::Eligible)
        .collect();
    order.sort_by(|a, b| {
        bids[*b]
            .total
            .cmp(&bids[*a].total)
            .then_with(|| bids[*a].bidder.cmp(&bids[*b].bidder))
    });
    let mut previous: Option<(Decimal, u32)> = None;
    for (position, i) in order.iter().enumerate() {
        let rank = match previous {
            Some((total, rank)) if total == bids[*i].total => rank,
            _ => position as u32 + 1,
        };
        bids[*i].rank = Some(rank);
        previous = Some((bids[*i].total, rank));
    }
    order.into_iter().map(|i| bids[i].bidder.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordKind;
    use crate::ruleset::Workspace;
    use crate::source::SourceFile;
    use std::collections::HashMap;

    const RULES: &str = r#"
        ruleset t { title "t" version "1" effective 2020-01-01 unit "u" total 5 }
        veto 失信 { wording "w" when any(records where kind = 失信被执行人) }
        score 奖励 { wording "w" points count(records where kind = 表彰奖励) cap 5 }
    "#;

    fn uscc(body: &str) -> Uscc {
        let org = format!(
            "{body}{}",
            crate::record::org_code_check_char(body).expect("8 chars")
        );
        let first17 = format!("91420100{org}");
        let code = format!(
            "{first17}{}",
            crate::record::uscc_check_char(&first17).expect("17 chars")
        );
        Uscc::parse(&code).expect("valid")
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn run(bidders: &[Bidder], records: &HashMap<Uscc, Vec<CreditRecord>>) -> TenderResult {
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("t.rules", RULES), None);
        let program = w.compile("t").expect("compiles");
        evaluate_tender(&program, bidders, day("2024-06-01"), |u| {
            Ok::<_, ()>(records.get(u).cloned().unwrap_or_default())
        })
        .expect("no store errors")
    }

    fn awards(u: &Uscc, n: usize) -> Vec<CreditRecord> {
        (0..n)
            .map(|i| {
                CreditRecord::new(
                    format!("C{i}"),
                    u.clone(),
                    RecordKind::Commendation,
                    day("2023-01-01"),
                )
            })
            .collect()
    }

    #[test]
    fn every_member_is_evaluated_in_the_tender_context() {
        const BY_BUDGET: &str = r#"
            ruleset c { title "c" version "1" effective 2020-01-01 unit "u" }
            veto 大额项目失信 {
                wording "预算400万元以上的项目，失信被执行人不得投标"
                when tender.budget > 4000000 and any(records where kind = 失信被执行人)
            }
        "#;
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("c.rules", BY_BUDGET), None);
        let program = w.compile("c").expect("compiles");
        let (a, b) = (uscc("MA4K3Q7T"), uscc("MA4K3Q7U"));
        let debtor = |u: &Uscc| {
            CreditRecord::new(
                "D1",
                u.clone(),
                RecordKind::DishonestDebtor,
                day("2023-01-01"),
            )
        };
        let records: HashMap<Uscc, Vec<CreditRecord>> =
            [(a.clone(), vec![debtor(&a)]), (b.clone(), vec![debtor(&b)])].into();
        let bids = [a, b].map(|u| Bidder {
            id: u.to_string(),
            name: None,
            members: vec![u],
        });
        let decide = |context: &TenderContext| {
            let result = evaluate_tender_with(&program, &bids, day("2024-06-01"), context, |u| {
                Ok::<_, ()>(records.get(u).cloned().unwrap_or_default())
            })
            .expect("evaluates");
            result.bids.iter().map(|b| b.decision).collect::<Vec<_>>()
        };
        let large = TenderContext {
            budget: Some(Decimal::from(5_000_000)),
            ..TenderContext::default()
        };
        let small = TenderContext {
            budget: Some(Decimal::from(3_000_000)),
            ..TenderContext::default()
        };
        assert_eq!(decide(&large), [Decision::Disqualified; 2]);
        assert_eq!(decide(&small), [Decision::Eligible; 2]);
        // No budget given: the comparison is false, the clause does not fire.
        assert_eq!(decide(&NO_CONTEXT), [Decision::Eligible; 2]);
    }

    #[test]
    fn a_veto_on_any_member_disqualifies_the_consortium() {
        let (a, b) = (uscc("MA4K3Q7T"), uscc("MA4K3Q7U"));
        let mut records = HashMap::new();
        records.insert(
            b.clone(),
            vec![CreditRecord::new(
                "D1",
                b.clone(),
                RecordKind::DishonestDebtor,
                day("2023-01-01"),
            )],
        );
        records.insert(a.clone(), awards(&a, 3));
        let bid = Bidder {
            id: "B1".into(),
            name: None,
            members: vec![a, b],
        };
        let result = run(&[bid], &records);
        assert_eq!(result.bids[0].decision, Decision::Disqualified);
        assert!(result.ranking.is_empty());
        // The bid names its veto and the member it fired on; the other member, with no
        // veto record, is not named.
        let b = uscc("MA4K3Q7U");
        assert_eq!(
            result.bids[0].vetoes,
            vec![BidFinding {
                clause: "失信".into(),
                members: vec![b],
            }]
        );
        assert!(result.bids[0].flags.is_empty());
        assert!(result.bids[0].members.iter().all(|m| !m.no_records));
    }

    #[test]
    fn an_entity_in_two_bids_makes_both_invalid_and_a_third_bid_stays_valid() {
        let (a, b, c) = (uscc("MA4K3Q7T"), uscc("MA4K3Q7U"), uscc("MA4K3Q7W"));
        let records = HashMap::from([(c.clone(), awards(&c, 1))]);
        let bid = |id: &str, members: Vec<Uscc>| Bidder {
            id: id.into(),
            name: None,
            members,
        };
        let result = run(
            &[
                bid("B1", vec![a.clone()]),
                bid("B2", vec![b.clone(), a.clone()]),
                bid("B3", vec![c.clone()]),
            ],
            &records,
        );
        for i in [0, 1] {
            let found = &result.bids[i];
            assert_eq!(found.decision, Decision::Disqualified, "{}", found.bidder);
            assert!(found.rank.is_none());
            match &found.problems[..] {
                [
                    BidProblem::EntityInSeveralBids {
                        uscc, other_bids, ..
                    },
                ] => {
                    assert_eq!(uscc, &a);
                    assert_eq!(other_bids, &[if i == 0 { "B2" } else { "B1" }]);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(result.ranking, ["B3"]);
        assert!(result.bids[2].problems.is_empty());
        // Members without any record are marked: they may be new, or mistyped.
        assert!(result.bids[0].members[0].no_records);
        assert!(!result.bids[2].members[0].no_records);
        let json = serde_json::to_value(&result.bids[1]).expect("serialises");
        assert_eq!(json["problems"][0]["code"], "entity_in_several_bids");
        assert!(
            json["problems"][0]["basis"]
                .as_str()
                .is_some_and(|b| b.contains("第三十七条")),
            "{json}"
        );
    }

    #[test]
    fn an_entity_twice_in_one_consortium_makes_the_bid_invalid() {
        let (a, b) = (uscc("MA4K3Q7T"), uscc("MA4K3Q7U"));
        let bid = Bidder {
            id: "B1".into(),
            name: None,
            members: vec![a.clone(), b, a.clone()],
        };
        let result = run(&[bid], &HashMap::new());
        assert_eq!(result.bids[0].decision, Decision::Disqualified);
        assert_eq!(
            result.bids[0].problems.len(),
            1,
            "{:?}",
            result.bids[0].problems
        );
        assert!(matches!(
            &result.bids[0].problems[0],
            BidProblem::MemberRepeated { uscc, .. } if uscc == &a
        ));
        assert!(result.ranking.is_empty());
    }

    #[test]
    fn the_consortium_scores_as_its_weakest_member_and_ranks_share_ties() {
        let (a, b, c, d) = (
            uscc("MA4K3Q7T"),
            uscc("MA4K3Q7U"),
            uscc("MA4K3Q7W"),
            uscc("MA4K3Q7X"),
        );
        let mut records = HashMap::new();
        records.insert(a.clone(), awards(&a, 4));
        records.insert(b.clone(), awards(&b, 1));
        records.insert(c.clone(), awards(&c, 1));
        records.insert(d.clone(), awards(&d, 3));
        let bids = [
            Bidder {
                id: "B2".into(),
                name: None,
                members: vec![a, b],
            },
            Bidder {
                id: "B1".into(),
                name: None,
                members: vec![c],
            },
            Bidder {
                id: "B3".into(),
                name: None,
                members: vec![d],
            },
        ];
        let result = run(&bids, &records);
        assert_eq!(result.bids[0].total, Decimal::from(1));
        assert_eq!(result.ranking, vec!["B3", "B1", "B2"]);
        let ranks: Vec<_> = result.bids.iter().map(|b| b.rank).collect();
        assert_eq!(ranks, vec![Some(2), Some(2), Some(1)]);
    }

    #[test]
    fn a_tender_split_over_threads_equals_one_evaluated_in_order() {
        let mut records = HashMap::new();
        let bidders: Vec<Bidder> = (0..23)
            .map(|i| {
                let member = uscc(&format!("MA4K{i:04}"));
                let mut list = awards(&member, i % 4);
                if i % 5 == 0 {
                    list.push(CreditRecord::new(
                        format!("D{i}"),
                        member.clone(),
                        RecordKind::DishonestDebtor,
                        day("2023-01-01"),
                    ));
                }
                records.insert(member.clone(), list);
                Bidder {
                    id: format!("B{i:02}"),
                    name: None,
                    members: vec![member],
                }
            })
            .collect();
        let parallel = run(&bidders, &records);
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("t.rules", RULES), None);
        let program = w.compile("t").expect("compiles");
        let mut sequential = evaluate_bids(
            &program,
            &bidders,
            (day("2024-06-01"), &NO_CONTEXT),
            &|u: &Uscc| Ok::<_, ()>(records.get(u).cloned().unwrap_or_default()),
        )
        .expect("no store errors");
        let ranking = rank(&mut sequential);
        assert_eq!(
            serde_json::to_string(&parallel.bids).expect("json"),
            serde_json::to_string(&sequential).expect("json")
        );
        assert_eq!(parallel.ranking, ranking);
        assert_eq!(parallel.bids.len(), 23);
        assert!(parallel.ranking.len() < 23, "some bids were disqualified");
    }

    /// The sentences the tender document prints say what `combine` does.
    #[test]
    fn the_printed_consortium_rule_is_the_applied_one() {
        const { assert!(CONSORTIUM.every_member_must_qualify) };
        assert!(CONSORTIUM_QUALIFICATION_TEXT.contains("联合体各方均应符合"));
        assert!(CONSORTIUM_QUALIFICATION_TEXT.contains("任何一方有"));
        assert_eq!(CONSORTIUM.score, MemberScore::Lowest);
        assert!(CONSORTIUM_SCORE_TEXT.contains("得分最低一方"));
        let totals = [Decimal::from(7), Decimal::from(3), Decimal::from(5)];
        assert_eq!(CONSORTIUM.score.of(totals.into_iter()), Decimal::from(3));
    }

    #[test]
    fn a_bid_without_members_needs_review() {
        let bid = Bidder {
            id: "B1".into(),
            name: None,
            members: vec![],
        };
        let result = run(&[bid], &HashMap::new());
        assert_eq!(result.bids[0].decision, Decision::Review);
    }
}
