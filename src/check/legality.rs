//! Legality lint (W0501–W0511, E0502–E0512): clauses that national tendering and
//! procurement rules forbid, each diagnostic citing its legal basis. The rules, what each
//! check looks at and which sources were read are listed in docs/legality.md.
//!
//! What the language can express is what is linted:
//!
//! - record kinds a clause reads: awards (表彰奖励) used as a veto (E0502) or scored only
//!   when issued by a particular authority or sector (W0501); credit grades (信用等级, a
//!   local or sector credit evaluation) used as a veto (W0503);
//! - what a veto fires on: a single 经营异常名录 listing (W0504), a single minor (轻微)
//!   行政处罚 (W0505), a ban (取消投标资格, 政府采购严重违法失信) whose period has ended
//!   (E0506);
//! - records a veto or a deduction counts after their disclosure ended or after repair
//!   (W0507, only for filters that read `status`);
//! - the wording printed in the tender document: conditions on where a bidder is
//!   registered or its ownership (E0508), or on its size (W0509).
//!
//! "Fires on a single record" is decided by evaluating the clause over one made-up record
//! (dated on the as-of day) with a three-valued evaluator: a field the made-up record does
//! not have (authority, amount, penalty type …) makes the answer unknown, and unknown
//! never warns. A clause that fires with no records at all is not blamed on the record.
//!
//! A rule set may accept a warning (never an error) for its own clauses with
//! `allow W0507 because "…"` in its header (允许 … 理由 …); the reason shows in the version
//! diff. An allowance that suppresses nothing draws W0511; one naming an error or a code
//! that is not a legality warning draws E0510; one with an empty reason E0512.

use super::CheckedClause;
use crate::ast::{Aggregate, BinaryOp, ClauseKind, RuleSetAst};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity as Level};
use crate::ir::{Field, IrExpr, Lit, QueryDef};
use crate::record::{RecordKind, RecordStatus, Severity};
use crate::source::SourceFile;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// The legality warnings a rule set may accept with `allow`.
pub const ALLOWABLE: &[&str] = &["W0501", "W0503", "W0504", "W0505", "W0507", "W0509"];

/// The legal basis each legality diagnostic cites (also printed in its help).
pub const BASIS: &[(&str, &str)] = &[
    (
        "W0501",
        "《招标投标法实施条例》第三十二条（三）：依法必须进行招标的项目不得以特定行政区域或者特定行业的奖项作为加分条件；《政府采购法实施条例》第二十条（四）",
    ),
    (
        "E0502",
        "《招标投标法实施条例》第三十二条（三）：不得以特定行政区域或者特定行业的奖项作为中标条件；《政府采购法实施条例》第二十条（四）",
    ),
    (
        "W0503",
        "发改办财金〔2023〕860号 一：不得以信用评价、信用评分等方式变相设立招标投标交易壁垒",
    ),
    (
        "W0504",
        "《政府采购法》第二十二条第一款（五）与《政府采购法实施条例》第十九条：只有重大违法记录（刑事处罚、责令停产停业、吊销许可证或者执照、较大数额罚款）排斥供应商；列入经营异常名录不在其列",
    ),
    (
        "W0505",
        "《政府采购法实施条例》第十九条：重大违法记录指刑事处罚或者责令停产停业、吊销许可证或者执照、较大数额罚款等行政处罚；《招标投标法实施条例》第三十二条（二）（七）：不得以不合理条件限制、排斥投标人",
    ),
    (
        "E0506",
        "《政府采购法实施条例》第十九条第二款：被禁止在一定期限内参加政府采购活动，期限届满的，可以参加政府采购活动",
    ),
    (
        "W0507",
        "失信信息公示期满或信用修复后不再作为失信惩戒依据（国家发展改革委《信用修复管理办法》，原文未核实，见 docs/legality.md）",
    ),
    (
        "E0508",
        "《政府采购法实施条例》第二十条（七）：不得非法限定供应商的所有制形式、组织形式或者所在地；《招标投标法实施条例》第三十二条（六）；发改办财金〔2023〕860号 一：不得将设立本地分支机构、本地缴纳税收社保等作为信用评价加分事项",
    ),
    (
        "W0509",
        "《政府采购法实施条例》第二十条（二）：资格、商务条件不得与项目的具体特点和实际需要不相适应；注册资本、资产总额、营业收入等规模条件（财政部令第87号第十七条，原文未核实）",
    ),
];

/// The basis text of `code`.
fn basis(code: &str) -> &'static str {
    BASIS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, b)| b)
}

/// Words in a wording that make a condition on where a bidder is registered or on its
/// ownership (E0508).
const REGION_OR_OWNERSHIP: &[&str] = &[
    "注册地",
    "注册在",
    "企业所在地",
    "投标人所在地",
    "供应商所在地",
    "本地企业",
    "本市企业",
    "外地企业",
    "本地分支机构",
    "设立分支机构",
    "本地缴纳",
    "本地纳税",
    "所有制",
    "国有企业",
    "民营企业",
    "外资企业",
];

/// Words in a wording that make a condition on a bidder's size (W0509).
const SIZE: &[&str] = &[
    "注册资本",
    "资产总额",
    "营业收入",
    "从业人员",
    "企业规模",
    "利润总额",
    "纳税额",
];

/// Words that turn a sentence into a prohibition ("不得以注册地…").
const NEGATIONS: &[&str] = &["不得", "不以", "不限", "不论", "无论", "不作为", "不设"];

/// Lints the clauses of a checked chain and applies each rule set's allowances.
pub(crate) fn lint(
    chain: &[&(SourceFile, RuleSetAst)],
    clauses: &[CheckedClause],
    queries: &[QueryDef],
    diagnostics: &mut Diagnostics,
) {
    let mut found = Vec::new();
    for clause in clauses {
        lint_clause(clause, queries, &mut found);
    }
    // Allowances, per rule set of the chain: (origin id, code) → used?
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for (clause_origin, diagnostic) in found {
        let allowed = chain
            .iter()
            .find(|(_, ast)| ast.header.id.value == clause_origin)
            .is_some_and(|(_, ast)| {
                ast.header
                    .allowances
                    .iter()
                    .any(|a| a.code.value == diagnostic.code && !a.reason.value.trim().is_empty())
            });
        if allowed && diagnostic.severity == Level::Warning {
            used.insert((clause_origin, diagnostic.code.to_string()));
        } else {
            diagnostics.push(diagnostic);
        }
    }
    for (file, ast) in chain {
        let mut seen = BTreeSet::new();
        for a in &ast.header.allowances {
            let code = a.code.value.as_str();
            if !ALLOWABLE.contains(&code) {
                let message = if code.starts_with('E') {
                    format!("`{code}` is an error, and an error cannot be allowed")
                } else {
                    format!("`{code}` is not a legality warning that can be allowed")
                };
                diagnostics.push(
                    Diagnostic::error("E0510", message)
                        .at(file, a.code.span)
                        .with_help(format!(
                            "only legality warnings can be allowed: {}; an error must be fixed",
                            ALLOWABLE.join(", ")
                        )),
                );
                continue;
            }
            if a.reason.value.trim().is_empty() {
                diagnostics.push(
                    Diagnostic::error("E0512", format!("the allowance of `{code}` gives no reason"))
                        .at(file, a.reason.span)
                        .with_help("write why the rule set may do what the warning is about, e.g. `allow W0507 because \"《政府采购法》第二十二条：前三年内的重大违法记录，公示期满仍计\"`"),
                );
                continue;
            }
            let key = (ast.header.id.value.clone(), code.to_string());
            if !seen.insert(code) || !used.contains(&key) {
                diagnostics.push(
                    Diagnostic::warning(
                        "W0511",
                        format!("`allow {code}` suppresses nothing: no clause of this rule set draws `{code}`"),
                    )
                    .at(file, a.span)
                    .with_help("delete the allowance (or the duplicate line); keep an allowance only while a clause needs it"),
                );
            }
        }
    }
}

/// The legality diagnostics of one clause, each with the clause's origin.
fn lint_clause(clause: &CheckedClause, queries: &[QueryDef], out: &mut Vec<(String, Diagnostic)>) {
    let mut push = |code: &'static str, message: String, fix: &str| {
        let d = if code.starts_with('E') {
            Diagnostic::error(code, message)
        } else {
            Diagnostic::warning(code, message)
        };
        let d = d
            .at(&clause.file, clause.span)
            .with_help(fix.to_string())
            .with_note(format!("legal basis: {}", basis(code)));
        out.push((clause.origin.clone(), d));
    };
    let id = &clause.id;
    let mut read = Vec::new();
    clause.expr.for_each_query(&mut |q| read.push(q));
    let reads_kind = |kind: RecordKind, also: &dyn Fn(&IrExpr) -> bool| {
        read.iter().any(|q| {
            queries
                .get(*q)
                .and_then(|q| q.filter.as_ref())
                .is_some_and(|f| f.reads_field(Field::Kind) && admits(f, kind) && also(f))
        })
    };
    match clause.kind {
        ClauseKind::Veto => {
            if reads_kind(RecordKind::Commendation, &|_| true) {
                push(
                    "E0502",
                    format!("the veto `{id}` makes an award (表彰奖励) a condition for bidding"),
                    "awards may give capped points, never decide who may bid: turn the clause into a score, or delete it",
                );
            }
            if reads_kind(RecordKind::SectorGrade, &|_| true) {
                push(
                    "W0503",
                    format!(
                        "the veto `{id}` makes a credit grade (信用等级) a condition for bidding"
                    ),
                    "use credit evaluations for capped points, not as a bar to bidding; or accept it with `allow W0503 because \"…\"` naming the rule that bars the grade",
                );
            }
            let single = |kind, severity| Probe {
                kind,
                severity,
                status: RecordStatus::Active,
                some: false,
            };
            if fires_on(
                clause,
                queries,
                &single(RecordKind::AbnormalOperation, None),
            ) {
                push(
                    "W0504",
                    format!("the veto `{id}` fires on a single 经营异常名录 listing"),
                    "a listing of abnormal operation does not by law bar bidding: make it a flag (提示) for review, or accept it with `allow W0504 because \"…\"`",
                );
            }
            if fires_on(
                clause,
                queries,
                &single(RecordKind::AdminPenalty, Some(Severity::Minor)),
            ) {
                push(
                    "W0505",
                    format!("the veto `{id}` fires on a single minor (轻微) 行政处罚"),
                    "only a serious violation (重大违法记录) bars bidding: restrict the veto, e.g. `severity = 严重`, a penalty type or an amount, or deduct points instead",
                );
            }
            for kind in [RecordKind::BiddingBan, RecordKind::GpSeriousViolation] {
                let ended = Probe {
                    kind,
                    severity: None,
                    status: RecordStatus::Expired,
                    some: true,
                };
                if fires_on(clause, queries, &ended) {
                    push(
                        "E0506",
                        format!(
                            "the veto `{id}` fires on a `{}` record whose period has ended",
                            kind.label()
                        ),
                        "a bidder whose ban has ended may bid again: drop `已过公示期` from the `status` filter",
                    );
                    break;
                }
            }
        }
        ClauseKind::Score => {
            if reads_kind(RecordKind::Commendation, &|f| {
                f.reads_field(Field::Authority) || f.reads_field(Field::Sector)
            }) {
                push(
                    "W0501",
                    format!(
                        "`{id}` counts only awards (表彰奖励) of a particular authority or sector"
                    ),
                    "count awards whoever gave them, or accept it with `allow W0501 because \"…\"` if the project is not one that must be tendered by law",
                );
            }
        }
        ClauseKind::Flag => {}
    }
    if clause.kind != ClauseKind::Flag
        && let Some((kind, status)) = counts_ended(clause, queries)
    {
        let how = if clause.kind == ClauseKind::Veto {
            "vetoes on"
        } else {
            "deducts points for"
        };
        push(
            "W0507",
            format!(
                "`{id}` {how} a `{}` record that is `{}`",
                kind.label(),
                status.label()
            ),
            "a record whose disclosure has ended or that has been repaired no longer counts against a bidder: drop the status from the filter, or accept it with `allow W0507 because \"…\"` citing the rule that still counts it",
        );
    }
    if let Some(wording) = clause.wording.as_deref() {
        if let Some(word) = condition_word(wording, REGION_OR_OWNERSHIP) {
            push(
                "E0508",
                format!("the wording of `{id}` sets a condition on `{word}`"),
                "where a bidder is registered and who owns it may not be a condition or a scoring factor: delete that part of the wording",
            );
        }
        if let Some(word) = condition_word(wording, SIZE) {
            push(
                "W0509",
                format!("the wording of `{id}` sets a condition on `{word}`"),
                "size (capital, turnover, staff) may be a condition only as far as the project really needs it: delete it, or accept it with `allow W0509 because \"…\"` saying why the project needs it",
            );
        }
    }
}

/// The first of `words` in a sentence of `text` that does not forbid it.
fn condition_word(text: &str, words: &[&'static str]) -> Option<&'static str> {
    text.split(['。', '；', ';', '\n'])
        .filter(|sentence| !NEGATIONS.iter().any(|n| sentence.contains(n)))
        .find_map(|sentence| words.iter().find(|w| sentence.contains(**w)).copied())
}

/// A made-up record, decided on the as-of day.
struct Probe {
    kind: RecordKind,
    severity: Option<Severity>,
    status: RecordStatus,
    /// Fields the record lacks (authority, sector …) take whatever values pass the filter:
    /// "could some record of this kind, severity and status count?" rather than "does
    /// this one?".
    some: bool,
}

/// A value as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq)]
enum V {
    Bool(bool),
    Num(Decimal),
    Kind(RecordKind),
    Sev(Severity),
    Status(RecordStatus),
    Missing,
    Unknown,
}

impl V {
    fn of(lit: &Lit) -> V {
        match lit {
            Lit::Bool(b) => V::Bool(*b),
            Lit::Number(n) => V::Num(*n),
            Lit::Kind(k) => V::Kind(*k),
            Lit::Severity(s) => V::Sev(*s),
            Lit::Status(s) => V::Status(*s),
            _ => V::Unknown,
        }
    }

    fn known(self) -> bool {
        !matches!(self, V::Unknown | V::Missing)
    }
}

/// Could a record of `kind` pass `filter` (fields other than the kind unknown)?
fn admits(filter: &IrExpr, kind: RecordKind) -> bool {
    let mut env = |e: &IrExpr| match e {
        IrExpr::Field(Field::Kind) => Some(V::Kind(kind)),
        IrExpr::Field(_) => Some(V::Unknown),
        IrExpr::Within(_) => Some(V::Bool(true)),
        _ => None,
    };
    eval(filter, &mut env) != V::Bool(false)
}

/// Does `probe` pass the filter of `query`?
fn matches(query: &QueryDef, probe: &Probe) -> V {
    if !query.reads_status && probe.status != RecordStatus::Active {
        return V::Bool(false);
    }
    let Some(filter) = &query.filter else {
        return V::Bool(true);
    };
    let mut env = |e: &IrExpr| match e {
        IrExpr::Field(Field::Kind) => Some(V::Kind(probe.kind)),
        IrExpr::Field(Field::Severity) => Some(probe.severity.map_or(V::Missing, V::Sev)),
        IrExpr::Field(Field::Status) => Some(V::Status(probe.status)),
        IrExpr::Field(_) => Some(V::Unknown),
        IrExpr::Within(_) => Some(V::Bool(true)),
        _ => None,
    };
    match eval(filter, &mut env) {
        V::Unknown if probe.some => V::Bool(true),
        v => v,
    }
}

/// The clause's value when the entity has only `probe` (or no record at all).
fn clause_value(clause: &CheckedClause, queries: &[QueryDef], probe: Option<&Probe>) -> V {
    let mut env = |e: &IrExpr| match e {
        IrExpr::Query(q) => {
            let Some(query) = queries.get(*q) else {
                return Some(V::Unknown);
            };
            let hit = probe.map_or(V::Bool(false), |p| matches(query, p));
            Some(match (query.func, hit) {
                (Aggregate::Count, V::Bool(b)) => V::Num(Decimal::from(u8::from(b))),
                (Aggregate::Any, V::Bool(b)) => V::Bool(b),
                (Aggregate::None, V::Bool(b)) => V::Bool(!b),
                _ => V::Unknown,
            })
        }
        IrExpr::Field(_) | IrExpr::Within(_) | IrExpr::AsOf | IrExpr::Context(_) => {
            Some(V::Unknown)
        }
        _ => None,
    };
    eval(&clause.expr, &mut env)
}

/// Does the veto fire on `probe` alone, and not without it?
fn fires_on(clause: &CheckedClause, queries: &[QueryDef], probe: &Probe) -> bool {
    clause_value(clause, queries, Some(probe)) == V::Bool(true)
        && clause_value(clause, queries, None) == V::Bool(false)
}

/// A record the clause counts against the bidder though it is expired or repaired: a veto
/// that fires on it, or a score that deducts for it. Ended bans in a veto are E0506's.
fn counts_ended(
    clause: &CheckedClause,
    queries: &[QueryDef],
) -> Option<(RecordKind, RecordStatus)> {
    for status in [RecordStatus::Expired, RecordStatus::Repaired] {
        for kind in RecordKind::ALL {
            if kind == RecordKind::Commendation {
                continue;
            }
            if clause.kind == ClauseKind::Veto
                && status == RecordStatus::Expired
                && matches!(
                    kind,
                    RecordKind::BiddingBan | RecordKind::GpSeriousViolation
                )
            {
                continue;
            }
            let severities = [None]
                .into_iter()
                .chain(Severity::ALL.into_iter().map(Some));
            for severity in severities {
                let probe = Probe {
                    kind,
                    severity,
                    status,
                    some: true,
                };
                let counted = match clause.kind {
                    ClauseKind::Veto => fires_on(clause, queries, &probe),
                    _ => matches!(
                        (
                            clause_value(clause, queries, Some(&probe)),
                            clause_value(clause, queries, None),
                        ),
                        (V::Num(with), V::Num(without)) if with < without
                    ),
                };
                if counted {
                    return Some((kind, status));
                }
            }
        }
    }
    None
}

/// Evaluates `e` as far as it is known; `env` gives fields, windows and queries.
fn eval(e: &IrExpr, env: &mut dyn FnMut(&IrExpr) -> Option<V>) -> V {
    if let Some(v) = env(e) {
        return v;
    }
    match e {
        IrExpr::Lit(lit) => V::of(lit),
        IrExpr::Not(x) => match eval(x, env) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Unknown,
        },
        IrExpr::Neg(x) => match eval(x, env) {
            V::Num(n) => V::Num(-n),
            _ => V::Unknown,
        },
        IrExpr::In(x, list) => {
            let v = eval(x, env);
            if v.known() {
                V::Bool(list.iter().any(|l| V::of(l) == v))
            } else {
                V::Unknown
            }
        }
        IrExpr::If(c, a, b) => match eval(c, env) {
            V::Bool(true) => eval(a, env),
            V::Bool(false) => eval(b, env),
            _ => V::Unknown,
        },
        IrExpr::Table(x, entries, default) => {
            let v = eval(x, env);
            if !v.known() {
                return V::Unknown;
            }
            entries
                .iter()
                .find(|(k, _)| V::of(k) == v)
                .map(|(_, n)| V::Num(*n))
                .or(default.map(V::Num))
                .unwrap_or(V::Missing)
        }
        IrExpr::Binary(op, a, b) => binary(*op, eval(a, env), eval(b, env)),
        _ => V::Unknown,
    }
}

fn binary(op: BinaryOp, a: V, b: V) -> V {
    use BinaryOp::*;
    match op {
        And => match (a, b) {
            (V::Bool(false), _) | (_, V::Bool(false)) => V::Bool(false),
            (V::Bool(true), V::Bool(true)) => V::Bool(true),
            _ => V::Unknown,
        },
        Or => match (a, b) {
            (V::Bool(true), _) | (_, V::Bool(true)) => V::Bool(true),
            (V::Bool(false), V::Bool(false)) => V::Bool(false),
            _ => V::Unknown,
        },
        Otherwise => match a {
            V::Missing => b,
            V::Unknown => V::Unknown,
            known => known,
        },
        Eq | Ne
            if a.known()
                && b.known()
                && std::mem::discriminant(&a) == std::mem::discriminant(&b) =>
        {
            V::Bool((a == b) == (op == Eq))
        }
        Lt | Le | Gt | Ge => match (a, b) {
            (V::Num(x), V::Num(y)) => V::Bool(match op {
                Lt => x < y,
                Le => x <= y,
                Gt => x > y,
                _ => x >= y,
            }),
            _ => V::Unknown,
        },
        Add | Sub | Mul => match (a, b) {
            (V::Num(x), V::Num(y)) => match op {
                Add => x.checked_add(y),
                Sub => x.checked_sub(y),
                _ => x.checked_mul(y),
            }
            .map_or(V::Unknown, V::Num),
            _ => V::Unknown,
        },
        Div => match (a, b) {
            (V::Num(x), V::Num(y)) if !y.is_zero() => x.checked_div(y).map_or(V::Unknown, V::Num),
            _ => V::Unknown,
        },
        _ => V::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::condition_word;
    use super::{REGION_OR_OWNERSHIP, SIZE};

    #[test]
    fn a_prohibition_is_not_a_condition() {
        assert_eq!(
            condition_word("投标人注册地须在本市。", REGION_OR_OWNERSHIP),
            Some("注册地")
        );
        assert_eq!(
            condition_word("不得以注册地、所有制形式限制投标人。", REGION_OR_OWNERSHIP),
            None
        );
        assert_eq!(
            condition_word("不得以注册地限制投标人；注册资本不低于5000万元。", SIZE),
            Some("注册资本")
        );
    }
}
