//! The evaluation answers as JSON bytes. Each report is written by its own writer
//! ([`Report::write_json_fields`], much cheaper than serde's byte-by-byte escaping) and the
//! fields around it (decision id, receipt, bids, ranking …) by serde, spliced into one
//! buffer: the bytes are exactly those of `serde_json::to_vec` of the whole answer (tests
//! compare the two). Each writer destructures its answer without `..`, so a field added to
//! an answer does not compile until it is written here too.

use super::EvaluateAnswer;
use crate::eval::Report;
use crate::receipt::Receipt;
use crate::record::Uscc;
use crate::tender::{BidFinding, BidProblem, BidResult, MemberResult, TenderResult};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// A serialisation failure of an answer's fields.
pub(super) type Error = sonic_rs::Error;

/// The single evaluation's answer: the report's fields, then the answer's own (the order
/// serde writes the flattened report in).
pub(super) fn evaluate_answer(answer: &EvaluateAnswer) -> Result<Vec<u8>, Error> {
    let EvaluateAnswer {
        report,
        decision_id,
        uscc,
        entity_name,
        known_at,
        receipt,
    } = answer;
    #[derive(Serialize)]
    struct Rest<'a> {
        decision_id: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        uscc: Option<&'a Uscc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        entity_name: Option<&'a str>,
        known_at: &'a DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        receipt: Option<&'a Receipt>,
    }
    let mut out = Vec::with_capacity(report_capacity(report) + 1024);
    out.push(b'{');
    report.write_json_fields(&mut out);
    rest(
        &mut out,
        &Rest {
            decision_id: *decision_id,
            uscc: uscc.as_ref(),
            entity_name: entity_name.as_deref(),
            known_at,
            receipt: receipt.as_ref(),
        },
    )?;
    Ok(out)
}

/// A tender's answer: every member's report written by its own writer.
pub(super) fn tender_answer(result: &TenderResult) -> Result<Vec<u8>, Error> {
    let TenderResult {
        ruleset,
        version,
        hash,
        as_of,
        bids,
        ranking,
        known_at,
    } = result;
    #[derive(Serialize)]
    struct Head<'a> {
        ruleset: &'a str,
        version: &'a str,
        hash: &'a str,
        as_of: &'a NaiveDate,
    }
    #[derive(Serialize)]
    struct Rest<'a> {
        ranking: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        known_at: Option<&'a DateTime<Utc>>,
    }
    let members = bids
        .iter()
        .flat_map(|bid| &bid.members)
        .map(|member| report_capacity(&member.report) + 1024)
        .sum::<usize>();
    let mut out = Vec::with_capacity(members + bids.len() * 256 + 256);
    head(
        &mut out,
        &Head {
            ruleset,
            version,
            hash,
            as_of,
        },
    )?;
    out.extend_from_slice(b",\"bids\":[");
    for (i, bid) in bids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        bid_result(&mut out, bid)?;
    }
    out.push(b']');
    rest(
        &mut out,
        &Rest {
            ranking,
            known_at: known_at.as_ref(),
        },
    )?;
    Ok(out)
}

fn bid_result(out: &mut Vec<u8>, bid: &BidResult) -> Result<(), Error> {
    let BidResult {
        bidder,
        name,
        decision,
        decision_label,
        total,
        rank,
        problems,
        vetoes,
        flags,
        members,
    } = bid;
    #[derive(Serialize)]
    struct Head<'a> {
        bidder: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        decision: &'a crate::eval::Decision,
        decision_label: &'a str,
        total: &'a Decimal,
        #[serde(skip_serializing_if = "Option::is_none")]
        rank: Option<u32>,
        #[serde(skip_serializing_if = "is_empty")]
        problems: &'a [BidProblem],
        vetoes: &'a [BidFinding],
        flags: &'a [BidFinding],
    }
    head(
        out,
        &Head {
            bidder,
            name: name.as_deref(),
            decision,
            decision_label,
            total,
            rank: *rank,
            problems,
            vetoes,
            flags,
        },
    )?;
    out.extend_from_slice(b",\"members\":[");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        member_result(out, member)?;
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

fn member_result(out: &mut Vec<u8>, member: &MemberResult) -> Result<(), Error> {
    let MemberResult {
        uscc,
        no_records,
        report,
        decision_id,
        entity_name,
        receipt,
    } = member;
    #[derive(Serialize)]
    struct Head<'a> {
        uscc: &'a Uscc,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        no_records: bool,
    }
    #[derive(Serialize)]
    struct Rest<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        decision_id: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        entity_name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        receipt: Option<&'a Receipt>,
    }
    head(
        out,
        &Head {
            uscc,
            no_records: *no_records,
        },
    )?;
    out.extend_from_slice(b",\"report\":");
    report.write_json(out);
    rest(
        out,
        &Rest {
            decision_id: *decision_id,
            entity_name: entity_name.as_deref(),
            receipt: receipt.as_ref(),
        },
    )
}

/// Writes `value` (an object with at least one field) without its closing brace: more
/// fields follow.
fn head<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    sonic_rs::to_writer(&mut *out, value)?;
    out.pop();
    Ok(())
}

/// Writes `value`'s fields after fields already written to an open object, and closes it.
fn rest<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    let start = out.len();
    sonic_rs::to_writer(&mut *out, value)?;
    if out.len() - start == 2 {
        // `{}`: no field to add.
        out.truncate(start);
        out.push(b'}');
    } else {
        out[start] = b',';
    }
    Ok(())
}

/// Room for a report's JSON, a little more or less.
fn report_capacity(report: &Report) -> usize {
    let clauses = report.vetoes.len() + report.flags.len() + report.scores.len();
    512 + clauses * 512
}

fn is_empty<T>(list: &&[T]) -> bool {
    list.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::CompiledRuleSet;
    use crate::context::TenderContext;
    use crate::demo::{DemoConfig, entity};
    use crate::receipt::{ReceiptBody, ReceiptKey};
    use crate::record::CreditRecord;
    use crate::ruleset::Workspace;
    use crate::tender::{Bidder, evaluate_tender_with};
    use std::collections::HashMap;
    use std::path::Path;

    /// Text JSON must escape: quotes, backslashes, control characters, and non-ASCII.
    const TRICKY: &str = "武汉\"水务\"\\局\n\t\u{1}\u{1f}\u{7f} </script> 😀";

    fn program() -> CompiledRuleSet {
        let rulesets = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
        let workspace = Workspace::load(&rulesets).expect("shipped rule sets load");
        workspace.compile("water").expect("water compiles")
    }

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 1).expect("date")
    }

    /// Demo entities, some of whose records carry text that needs escaping.
    fn entities(count: usize) -> Vec<(Uscc, Vec<CreditRecord>)> {
        let config = DemoConfig {
            entities: count,
            ..DemoConfig::default()
        };
        (0..count)
            .map(|index| {
                let (uscc, _, mut records) = entity(&config, index);
                for (i, record) in records.iter_mut().enumerate() {
                    if (index + i) % 3 == 0 {
                        record.authority = Some(TRICKY.to_owned());
                        record.document_no = Some(format!("{TRICKY} {i}"));
                        record.entity_name = Some(TRICKY.to_owned());
                    }
                }
                (uscc, records)
            })
            .collect()
    }

    fn context() -> TenderContext {
        TenderContext {
            project_type: Some("施工\"\\".to_owned()),
            sector: Some(TRICKY.to_owned()),
            budget: Some(Decimal::new(500_000_012, 2)),
        }
    }

    fn known_at() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_717_200_000_123).expect("time")
    }

    #[test]
    fn single_answers_are_the_bytes_serde_json_writes() {
        let program = program();
        let key = ReceiptKey::generate().expect("key");
        let mut escaped = false;
        for (index, (uscc, records)) in entities(80).into_iter().enumerate() {
            let report = program
                .evaluate_with(&records, as_of(), &context())
                .report(&program, &records);
            let name = crate::tender::entity_name(&records);
            // A batch of three, so that the receipt has a Merkle path; with the context.
            let bodies = (0..3)
                .map(|seq| {
                    ReceiptBody::of(
                        &report,
                        index as u64 * 3 + seq,
                        Some(uscc.as_str().to_owned()),
                        name.clone(),
                        known_at(),
                        known_at(),
                    )
                    .in_context(&context())
                })
                .collect();
            let receipt = key.sign_batch(bodies).into_iter().nth(index % 3);
            assert!(receipt.as_ref().is_some_and(|r| r.batch.is_some()));
            // Stored (one entity, receipt), inline of no single entity, and no receipt.
            let answers = [
                (Some(uscc.clone()), name.clone(), receipt.clone()),
                (None, None, receipt),
                (Some(uscc), Some(TRICKY.to_owned()), None),
            ];
            for (uscc, entity_name, receipt) in answers {
                let answer = EvaluateAnswer {
                    report: report.clone(),
                    decision_id: index as u64,
                    uscc,
                    entity_name,
                    known_at: known_at(),
                    receipt,
                };
                let ours = evaluate_answer(&answer).expect("writes");
                let theirs = serde_json::to_vec(&answer).expect("serde_json");
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs),
                    "entity {index}"
                );
                escaped |= ours.windows(6).any(|w| w == b"\\u001f");
            }
        }
        assert!(escaped, "some answer carries text that needs escaping");
    }

    #[test]
    fn tender_answers_are_the_bytes_serde_json_writes() {
        let program = program();
        let key = ReceiptKey::generate().expect("key");
        let entities = entities(60);
        let records: HashMap<Uscc, Vec<CreditRecord>> = entities.iter().cloned().collect();
        let usccs: Vec<Uscc> = entities.into_iter().map(|(uscc, _)| uscc).collect();
        // Single bids, consortia, a bid with a name to escape, and one entity in two bids
        // (a bid problem).
        let mut bidders: Vec<Bidder> = usccs[..40]
            .iter()
            .enumerate()
            .map(|(i, uscc)| Bidder {
                id: format!("B{i:02}"),
                name: (i % 4 == 0).then(|| format!("{TRICKY} {i}")),
                members: vec![uscc.clone()],
            })
            .collect();
        bidders.extend(
            usccs[40..]
                .chunks(4)
                .enumerate()
                .map(|(i, members)| Bidder {
                    id: format!("C{i}"),
                    name: None,
                    members: members.to_vec(),
                }),
        );
        bidders.push(Bidder {
            id: "DUP".to_owned(),
            name: None,
            members: vec![usccs[0].clone(), usccs[1].clone(), usccs[1].clone()],
        });
        let tender = |context: &TenderContext| {
            evaluate_tender_with(&program, &bidders, as_of(), context, |u| {
                Ok::<_, ()>(records.get(u).cloned().unwrap_or_default())
            })
            .expect("tender")
        };
        // As evaluated (no decision ids, receipts nor known_at).
        let bare = tender(&TenderContext::NONE);
        assert!(bare.bids.iter().any(|bid| !bid.problems.is_empty()));
        assert_eq!(
            String::from_utf8_lossy(&tender_answer(&bare).expect("writes")),
            String::from_utf8_lossy(&serde_json::to_vec(&bare).expect("serde_json"))
        );
        // As answered: every member's decision id and batch-signed receipt, with a context.
        let mut answered = tender(&context());
        answered.known_at = Some(known_at());
        let bodies = answered
            .bids
            .iter()
            .flat_map(|bid| &bid.members)
            .enumerate()
            .map(|(seq, member)| {
                ReceiptBody::of(
                    &member.report,
                    seq as u64,
                    Some(member.uscc.as_str().to_owned()),
                    member.entity_name.clone(),
                    known_at(),
                    known_at(),
                )
                .in_context(&context())
            })
            .collect();
        let mut receipts = key.sign_batch(bodies).into_iter();
        let members = answered.bids.iter_mut().flat_map(|bid| &mut bid.members);
        for (seq, member) in members.enumerate() {
            member.decision_id = Some(seq as u64);
            member.receipt = receipts.next();
        }
        let ours = tender_answer(&answered).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde_json::to_vec(&answered).expect("serde_json"))
        );
        assert!(ours.windows(6).any(|w| w == b"\\u001f"));
    }
}
