//! Wording against rule (W0106): the sentence a tender document prints for a clause
//! must say what the clause does. When a number in the wording — the points per record
//! (每起扣3分), the most points (最多扣6分, 最多加2分) or the look-back window (前3年内,
//! 近12个月) — no longer matches the rule, the checker warns.
//!
//! Only unambiguous sentences are compared: a wording naming several different per-record
//! amounts or windows (e.g. one per severity) is left alone, and so is a rule whose points
//! are not a plain "amount × count". Numbers may be written in Chinese (三分, 十二个月).

use super::CheckedClause;
use crate::ast::{BinaryOp, ClauseKind, DurationUnit};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ir::{IrExpr, Lit, QueryDef};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Warns about every clause whose wording contradicts its rule.
pub(crate) fn lint(clauses: &[CheckedClause], queries: &[QueryDef], diagnostics: &mut Diagnostics) {
    for clause in clauses {
        let Some(wording) = clause.wording.as_deref() else {
            continue;
        };
        for (said, does) in mismatches(clause, wording, queries) {
            diagnostics.push(
                Diagnostic::warning(
                    "W0106",
                    format!(
                        "the wording of `{}` says “{said}”, but the clause {does}",
                        clause.id
                    ),
                )
                .at(&clause.file, clause.span)
                .with_help(format!(
                    "the wording is printed in the tender document: make it say what the rule does ({does}), or correct the rule"
                )),
            );
        }
    }
}

/// `(what the wording says, what the clause does)` for each contradiction.
fn mismatches(
    clause: &CheckedClause,
    wording: &str,
    queries: &[QueryDef],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some((said, months)) = single(phrases_window(wording)) {
        let mut used = Vec::new();
        clause.expr.for_each_query(&mut |q| {
            if let Some(filter) = queries.get(q).and_then(|q| q.filter.as_ref()) {
                windows(filter, &mut used);
            }
        });
        used.sort_unstable();
        used.dedup();
        if let [only] = used.as_slice()
            && *only != months
        {
            out.push((
                said,
                format!("counts records within {}", describe_months(*only)),
            ));
        }
    }
    if clause.kind != ClauseKind::Score {
        return out;
    }
    if let Some((said, amount)) = single(phrases_after(wording, &["最多扣", "最高扣"]))
        && let Some(floor) = clause.floor
        && floor != -amount
    {
        out.push((
            said,
            format!("deducts at most {} points", (-floor).normalize()),
        ));
    }
    if let Some((said, amount)) = single(phrases_after(wording, &["最多加", "最高加", "最多得"]))
        && let Some(cap) = clause.cap
        && cap > Decimal::ZERO
        && cap != amount
    {
        out.push((said, format!("gives at most {} points", cap.normalize())));
    }
    let per_record = phrases_after(
        wording,
        &[
            "每起扣",
            "每条扣",
            "每项扣",
            "每次扣",
            "每起加",
            "每条加",
            "每项加",
            "每次加",
        ],
    );
    if let Some((said, amount)) = single(per_record)
        && let Some(factor) = count_factor(&clause.expr)
        && factor.abs() != amount
    {
        let verb = if factor < Decimal::ZERO {
            "deducts"
        } else {
            "adds"
        };
        out.push((
            said,
            format!("{verb} {} points per record", factor.abs().normalize()),
        ));
    }
    out
}

/// The one value the phrases agree on, with the first phrase; `None` for none or several.
fn single<T: PartialEq + Copy>(phrases: Vec<(String, T)>) -> Option<(String, T)> {
    let first = phrases.first()?.clone();
    phrases.iter().all(|(_, v)| *v == first.1).then_some(first)
}

/// "扣3分" after each of `starts`: the phrase and its amount.
fn phrases_after(text: &str, starts: &[&str]) -> Vec<(String, Decimal)> {
    let mut out = Vec::new();
    for start in starts {
        for (at, _) in text.match_indices(start) {
            let rest = &text[at + start.len()..];
            if let Some((number, len)) = number_at(rest)
                && rest[len..].starts_with('分')
            {
                out.push((format!("{start}{}分", &rest[..len]), number));
            }
        }
    }
    out
}

/// Windows written as 前3年内, 3年内, 近3年, 12个月内, 近十二个月: each with its length in months.
fn phrases_window(text: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices('近') {
        let rest = &text[at + '近'.len_utf8()..];
        if let Some((n, len)) = number_at(rest)
            && let Some((months, unit)) = unit_months(&rest[len..], n)
        {
            out.push((format!("近{}{unit}", &rest[..len]), months));
        }
    }
    for unit in ["年内", "个月内"] {
        for (at, _) in text.match_indices(unit) {
            if let Some((n, start)) = number_before(&text[..at])
                && let Some((months, _)) = unit_months(&text[at..], n)
            {
                out.push((format!("{}{unit}", &text[start..at]), months));
            }
        }
    }
    out
}

fn unit_months(rest: &str, n: Decimal) -> Option<(u32, &'static str)> {
    let n = u32::try_from(n.trunc().mantissa())
        .ok()
        .filter(|_| n.fract().is_zero())?;
    if rest.starts_with('年') {
        Some((n * 12, "年"))
    } else if rest.starts_with("个月") {
        Some((n, "个月"))
    } else {
        None
    }
}

/// A number at the start of `text` (ASCII digits, or Chinese numerals up to 99).
fn number_at(text: &str) -> Option<(Decimal, usize)> {
    let ascii = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    if ascii > 0 {
        return Decimal::from_str(text[..ascii].trim_end_matches('.'))
            .ok()
            .map(|d| (d, ascii));
    }
    let len = text
        .char_indices()
        .find(|(_, c)| chinese_digit(*c).is_none())
        .map_or(text.len(), |(i, _)| i);
    chinese_number(&text[..len]).map(|n| (Decimal::from(n), len))
}

/// A number ending `text`: its value and where it starts.
fn number_before(text: &str) -> Option<(Decimal, usize)> {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || chinese_digit(*c).is_some())
        .last()
        .map(|(i, _)| i)?;
    let (n, len) = number_at(&text[start..])?;
    (start + len == text.len()).then_some((n, start))
}

fn chinese_digit(c: char) -> Option<u32> {
    "零一二三四五六七八九十"
        .chars()
        .position(|d| d == c)
        .map(|p| p as u32)
        .or((c == '两').then_some(2))
}

/// 三 → 3, 十二 → 12, 二十 → 20, 二十四 → 24 (up to 99).
fn chinese_number(text: &str) -> Option<u32> {
    let digits: Vec<u32> = text.chars().map(chinese_digit).collect::<Option<_>>()?;
    match digits.as_slice() {
        [d] if *d < 10 => Some(*d),
        [10] => Some(10),
        [10, d] if *d < 10 => Some(10 + d),
        [t, 10] if *t < 10 => Some(t * 10),
        [t, 10, d] if *t < 10 && *d < 10 => Some(t * 10 + d),
        _ => None,
    }
}

/// Every window a query filter uses, in months (windows in days are left out).
fn windows(e: &IrExpr, out: &mut Vec<u32>) {
    match e {
        IrExpr::Within(d) => match d.unit {
            DurationUnit::Years => out.push(d.amount * 12),
            DurationUnit::Months => out.push(d.amount),
            DurationUnit::Days => {}
        },
        IrExpr::Not(a) | IrExpr::Neg(a) | IrExpr::In(a, _) | IrExpr::Table(a, _, _) => {
            windows(a, out)
        }
        IrExpr::Binary(_, a, b) => {
            windows(a, out);
            windows(b, out);
        }
        IrExpr::If(c, a, b) => {
            windows(c, out);
            windows(a, out);
            windows(b, out);
        }
        IrExpr::Scalar(_, args) => args.iter().for_each(|a| windows(a, out)),
        IrExpr::Lit(_)
        | IrExpr::AsOf
        | IrExpr::Context(_)
        | IrExpr::Field(_)
        | IrExpr::Query(_) => {}
    }
}

/// K in points written as `K × count(…)`, `count(…) × K` or `-K × count(…)`.
fn count_factor(e: &IrExpr) -> Option<Decimal> {
    match e {
        IrExpr::Neg(inner) => count_factor(inner).map(|k| -k),
        IrExpr::Binary(BinaryOp::Mul, a, b) => match (a.as_ref(), b.as_ref()) {
            (IrExpr::Lit(Lit::Number(k)), IrExpr::Query(_))
            | (IrExpr::Query(_), IrExpr::Lit(Lit::Number(k))) => Some(*k),
            (IrExpr::Neg(k), q @ IrExpr::Query(_)) => count_factor(&IrExpr::Binary(
                BinaryOp::Mul,
                k.clone(),
                Box::new(q.clone()),
            ))
            .map(|k| -k),
            _ => None,
        },
        _ => None,
    }
}

fn describe_months(months: u32) -> String {
    if months.is_multiple_of(12) {
        format!("{} years", months / 12)
    } else {
        format!("{months} months")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_digits_and_chinese() {
        assert_eq!(number_at("3分"), Some((Decimal::from(3), 1)));
        assert_eq!(
            number_at("0.5分").map(|n| n.0),
            Decimal::from_str("0.5").ok()
        );
        assert_eq!(number_at("三分").map(|n| n.0), Some(Decimal::from(3)));
        assert_eq!(chinese_number("十二"), Some(12));
        assert_eq!(chinese_number("二十四"), Some(24));
        assert_eq!(chinese_number("十十"), None);
    }

    #[test]
    fn phrases_are_found() {
        let w = "评标基准日前3年内（含当日）每起扣2分，最多扣6分。";
        assert_eq!(phrases_window(w), vec![("3年内".to_string(), 36)]);
        assert_eq!(
            phrases_after(w, &["每起扣"]),
            vec![("每起扣2分".to_string(), Decimal::from(2))]
        );
        assert_eq!(phrases_window("近十二个月有记录的")[0].1, 12);
    }

    #[test]
    fn several_different_amounts_are_not_compared() {
        let w = "严重的每起扣3分，一般的每起扣1分";
        assert_eq!(single(phrases_after(w, &["每起扣"])), None);
    }
}
