//! Checked rule set → program ready to evaluate many times. Constant
//! sub-expressions are folded, and each record query's filter is split into
//! bit masks (kinds, statuses, severities) and date windows that cost a few
//! integer operations per record, plus a residual condition for the rest.
//! Clause conditions, residual filters and per-record values are lowered to
//! the evaluator's compiled form (`eval::code`).

use crate::ast::{Aggregate, BinaryOp, ClauseKind, Duration, RoundMode, RoundingPolicy, TestBlock};
use crate::check::CheckedRuleSet;
use crate::diagnostic::Diagnostics;
use crate::eval::code::{Code, lower};
use crate::fold::fold;
use crate::ir::{Base, Field, IrExpr, Lit, QueryDef};
use crate::record::{RecordKind, RecordStatus, Severity};
use crate::source::SourceFile;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

mod report_text;
pub(crate) use report_text::{ClauseText, ReportText, SCORE_MIDDLE};

/// Identity and header of a compiled rule set, as reported with every evaluation.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RuleSetMeta {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Sector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Version label.
    pub version: String,
    /// Effective date.
    pub effective: NaiveDate,
    /// Responsible unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Legal basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// Maximum credit points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Decimal>,
    /// The `extends` chain, base first, ending with this id.
    pub chain: Vec<String>,
    /// The version identity ([`version_id`]): names the source texts of the whole chain.
    pub hash: String,
}

/// A clause ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledClause {
    /// Clause id.
    pub id: String,
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// Declared mandatory.
    pub mandatory: bool,
    /// Tender-document wording.
    pub wording: Option<String>,
    /// Legal basis.
    pub basis: Option<String>,
    /// Internal note (备注): shown by the diff, never printed in a tender document.
    pub note: Option<String>,
    /// The rule set that defines it.
    pub origin: String,
    /// Points multiplier.
    pub weight: Decimal,
    /// Most points before weighting.
    pub cap: Option<Decimal>,
    /// Fewest points before weighting.
    pub floor: Option<Decimal>,
    pub(crate) expr: IrExpr,
    /// `expr` lowered for evaluation.
    pub(crate) code: Code,
    /// Queries the clause reads; their records are its evidence.
    pub(crate) queries: Vec<usize>,
    /// How the outcome is found from the queries' results (kept outcomes or the code).
    pub(crate) plan: crate::eval::plan::Plan,
    /// Places and mode of each evaluation's rounding of the weighted points;
    /// `None` when the rule set rounds only its total.
    pub(crate) round: Option<(u32, RoundMode)>,
}

/// A record query split for speed.
#[derive(Debug, Clone)]
pub(crate) struct CompiledQuery {
    pub def: QueryDef,
    /// Bit per `RecordKind::index` the record's kind must be in.
    pub kinds: u32,
    /// Bit per status the record's status must be in.
    pub statuses: u8,
    /// Bit per severity (bit 3: no severity) the record must be in.
    pub severities: u8,
    /// Indexes into the program's windows the decision date must lie in.
    pub windows: Vec<usize>,
    /// `field = "text"` conditions, checked without the general evaluator.
    pub text_equals: Vec<(Field, Box<str>)>,
    /// What the masks cannot express.
    pub residual: Option<IrExpr>,
    /// `residual` lowered for evaluation, unless it is all in `text_tests`.
    pub residual_code: Option<Code>,
    /// The residual when it is only text tests (`sector in [...]`, `sector in [...] or
    /// authority in [...]`): each must hold, checked by comparing texts.
    pub text_tests: Vec<TextTest>,
    /// The per-record value when it is a bare field (read directly).
    pub value_field: Option<Field>,
    /// `def.value` lowered for evaluation.
    pub value_code: Option<Code>,
}

/// A compiled rule set: compile once, evaluate many times (see `eval`).
#[derive(Debug, Clone)]
pub struct CompiledRuleSet {
    /// Identity and header.
    pub meta: RuleSetMeta,
    /// Clauses in evaluation order.
    pub clauses: Vec<CompiledClause>,
    /// The rule set's own test blocks.
    pub tests: Vec<TestBlock>,
    /// The rule set's own file (for test diagnostics).
    pub file: SourceFile,
    /// Warnings from checking.
    pub warnings: Diagnostics,
    /// Credit-query channels, query day, evidence and commitment for tender documents.
    pub terms: crate::check::TenderTerms,
    /// The rule set's own internal note (备注); never printed.
    pub note: Option<String>,
    /// How points are rounded (计分舍入).
    pub rounding: RoundingPolicy,
    pub(crate) queries: Vec<CompiledQuery>,
    pub(crate) windows: Vec<Duration>,
    /// For each record kind (by index), the queries whose kind mask admits it.
    pub(crate) queries_by_kind: Vec<Vec<usize>>,
    /// Does a residual filter or per-record value test a window itself (`within` the masks
    /// could not take)? Then each evaluation computes the window starts up front.
    pub(crate) windows_in_code: bool,
    /// What its reports always say: shared text and the fixed pieces of the sentences.
    pub(crate) report_text: ReportText,
}

impl CompiledRuleSet {
    /// How many distinct record queries one evaluation computes: a query
    /// written several times, directly or through a definition, counts once.
    pub fn query_count(&self) -> usize {
        self.queries.len()
    }
}

pub(crate) const SEVERITY_MISSING_BIT: u8 = 1 << 3;
const ALL_SEVERITIES: u8 = 0b1111;
const VISIBLE_STATUSES: u8 = status_bit(RecordStatus::Active)
    | status_bit(RecordStatus::Repaired)
    | status_bit(RecordStatus::Expired);

/// The status's bit in a query's status mask.
pub(crate) const fn status_bit(status: RecordStatus) -> u8 {
    1 << status as u8
}

/// The severity's bit in a query's severity mask.
pub(crate) fn severity_bit(severity: Option<Severity>) -> u8 {
    match severity {
        Some(s) => 1 << s as u8,
        None => SEVERITY_MISSING_BIT,
    }
}

/// Compiles a checked rule set.
pub fn compile(checked: CheckedRuleSet) -> CompiledRuleSet {
    let mut windows = Vec::new();
    let rounding = checked.rounding;
    let checked_queries: Vec<Aggregate> = checked.queries.iter().map(|q| q.func).collect();
    let queries: Vec<CompiledQuery> = checked
        .queries
        .into_iter()
        .map(|q| compile_query(q, &mut windows))
        .collect();
    let clauses: Vec<CompiledClause> = checked
        .clauses
        .into_iter()
        .map(|c| {
            let expr = fold(c.expr);
            let mut queries = Vec::new();
            expr.for_each_query(&mut |q| {
                if !queries.contains(&q) {
                    queries.push(q);
                }
            });
            let mut clause = CompiledClause {
                id: c.id,
                kind: c.kind,
                mandatory: c.mandatory,
                wording: c.wording,
                basis: c.basis,
                note: c.note,
                origin: c.origin,
                weight: c.weight,
                cap: c.cap,
                floor: c.floor,
                plan: crate::eval::plan::Plan::General,
                code: lower(&expr),
                expr,
                queries,
                round: rounding
                    .per_clause
                    .then_some((rounding.places, rounding.mode)),
            };
            clause.plan = crate::eval::plan::plan(&clause, &checked_queries);
            clause
        })
        .collect();
    let file = checked
        .chain
        .last()
        .cloned()
        .expect("a chain holds the rule set itself");
    let meta = RuleSetMeta {
        id: checked.id,
        title: checked.title,
        sector: checked.sector,
        version: checked.version,
        effective: checked.effective,
        unit: checked.unit,
        basis: checked.basis,
        total: checked.total,
        chain: checked.chain_ids,
        hash: version_id(&checked.chain),
    };
    CompiledRuleSet {
        report_text: ReportText::of(&meta, &clauses),
        meta,
        clauses,
        tests: checked.tests,
        file,
        warnings: checked.warnings,
        terms: checked.terms,
        note: checked.note,
        rounding,
        queries_by_kind: queries_by_kind(&queries),
        windows_in_code: queries.iter().any(|q| {
            [&q.residual, &q.def.value]
                .into_iter()
                .flatten()
                .any(tests_window)
        }),
        queries,
        windows,
    }
}

/// Does the expression contain a `within`?
fn tests_window(expr: &IrExpr) -> bool {
    match expr {
        IrExpr::Within(_) => true,
        IrExpr::Lit(_)
        | IrExpr::AsOf
        | IrExpr::Context(_)
        | IrExpr::Field(_)
        | IrExpr::Query(_) => false,
        IrExpr::Not(e) | IrExpr::Neg(e) | IrExpr::In(e, _) | IrExpr::Table(e, _, _) => {
            tests_window(e)
        }
        IrExpr::Binary(_, a, b) => tests_window(a) || tests_window(b),
        IrExpr::If(c, a, b) => tests_window(c) || tests_window(a) || tests_window(b),
        IrExpr::Scalar(_, args) => args.iter().any(tests_window),
    }
}

fn queries_by_kind(queries: &[CompiledQuery]) -> Vec<Vec<usize>> {
    RecordKind::ALL
        .iter()
        .map(|kind| {
            (0..queries.len())
                .filter(|q| queries[*q].kinds & kind.bit() != 0)
                .collect()
        })
        .collect()
}

/// The **version identity** of a compiled rule set, from its `extends` chain (base first):
/// a rule set that extends nothing is identified by the SHA-256 of its source text (so its
/// identity is its stored version's source hash); one that extends a base by
/// [`extend_version_id`] of its own source hash and the base's identity. Each identity thus
/// names exactly the source texts of the whole chain: 64 lower-case hex digits.
pub fn version_id(chain: &[SourceFile]) -> String {
    let mut id: Option<String> = None;
    for file in chain {
        let own = hex(&Sha256::digest(file.text.as_bytes()));
        id = Some(match id {
            None => own,
            Some(base) => extend_version_id(&own, &base),
        });
    }
    id.unwrap_or_default()
}

/// The identity of a rule set whose own source has the hash `own_source_hash` and whose
/// base version has the identity `base_id` (both 64 lower-case hex digits): the SHA-256 of
/// the ASCII text `credit-rules version\n{own_source_hash}\n{base_id}\n`.
pub fn extend_version_id(own_source_hash: &str, base_id: &str) -> String {
    let text = format!("credit-rules version\n{own_source_hash}\n{base_id}\n");
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn compile_query(def: QueryDef, windows: &mut Vec<Duration>) -> CompiledQuery {
    let mut query = CompiledQuery {
        kinds: u32::MAX,
        statuses: if def.reads_status {
            VISIBLE_STATUSES
        } else {
            status_bit(RecordStatus::Active)
        },
        severities: ALL_SEVERITIES,
        windows: Vec::new(),
        text_equals: Vec::new(),
        text_tests: Vec::new(),
        residual: None,
        residual_code: None,
        value_field: None,
        value_code: None,
        def: QueryDef {
            filter: None,
            ..def.clone()
        },
    };
    query.def.value = def.value.map(fold);
    if let Some(IrExpr::Field(f)) = query.def.value {
        query.value_field = Some(f);
    }
    let mut residual = Vec::new();
    if let Some(filter) = def.filter {
        for conjunct in conjuncts(fold(filter)) {
            if !absorb(&mut query, &conjunct, windows) {
                residual.push(conjunct);
            }
        }
    }
    // A residual made only of text tests is checked as lists of texts, without the code.
    let text_tests: Option<Vec<TextTest>> = residual.iter().map(text_test).collect();
    query.residual = residual
        .into_iter()
        .reduce(|a, b| IrExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b)));
    match text_tests {
        Some(tests) if !tests.is_empty() => query.text_tests = tests,
        _ => query.residual_code = query.residual.as_ref().map(lower),
    }
    query.value_code = query.def.value.as_ref().map(lower);
    query
}

/// A test that holds when one of its fields has one of its texts (a missing field has
/// none): `sector in ["a", "b"]`, `sector = "a" or authority in ["b", "c"]`.
pub(crate) type TextTest = Box<[(Field, Box<[Box<str>]>)]>;

/// The conjunct as a [`TextTest`], when it is one.
fn text_test(conjunct: &IrExpr) -> Option<TextTest> {
    let mut alternatives = Vec::new();
    add_alternatives(conjunct, &mut alternatives)?;
    Some(alternatives.into())
}

fn add_alternatives(expr: &IrExpr, out: &mut Vec<(Field, Box<[Box<str>]>)>) -> Option<()> {
    let texts = |items: &[Lit]| -> Option<Box<[Box<str>]>> {
        items
            .iter()
            .map(|item| match item {
                Lit::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    match expr {
        IrExpr::Binary(BinaryOp::Or, a, b) => {
            add_alternatives(a, out)?;
            add_alternatives(b, out)
        }
        IrExpr::In(field, items) => match &**field {
            IrExpr::Field(f) if f.ty().base == Base::Text => {
                out.push((*f, texts(items)?));
                Some(())
            }
            _ => None,
        },
        IrExpr::Binary(BinaryOp::Eq, a, b) => match (&**a, &**b) {
            (IrExpr::Field(f), IrExpr::Lit(Lit::Text(t)))
            | (IrExpr::Lit(Lit::Text(t)), IrExpr::Field(f))
                if f.ty().base == Base::Text =>
            {
                out.push((*f, Box::new([t.clone()])));
                Some(())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Splits `a and b and c` into its parts.
fn conjuncts(expr: IrExpr) -> Vec<IrExpr> {
    match expr {
        IrExpr::Binary(BinaryOp::And, a, b) => {
            let mut parts = conjuncts(*a);
            parts.extend(conjuncts(*b));
            parts
        }
        other => vec![other],
    }
}

/// Turns a conjunct into mask bits, a window or a text test when it has a
/// simple shape; false otherwise (it stays in the residual condition).
fn absorb(query: &mut CompiledQuery, conjunct: &IrExpr, windows: &mut Vec<Duration>) -> bool {
    match conjunct {
        IrExpr::Within(d) => {
            let index = windows.iter().position(|w| w == d).unwrap_or_else(|| {
                windows.push(*d);
                windows.len() - 1
            });
            query.windows.push(index);
            true
        }
        IrExpr::Binary(BinaryOp::Eq, a, b) => match (&**a, &**b) {
            (IrExpr::Field(f), IrExpr::Lit(Lit::Text(t)))
            | (IrExpr::Lit(Lit::Text(t)), IrExpr::Field(f)) => {
                query.text_equals.push((*f, t.clone()));
                true
            }
            _ => apply_mask(query, conjunct),
        },
        IrExpr::Binary(BinaryOp::Ne, a, b) => match (&**a, &**b) {
            (IrExpr::Field(f), IrExpr::Lit(l)) | (IrExpr::Lit(l), IrExpr::Field(f)) => {
                match field_mask(&IrExpr::Binary(
                    BinaryOp::Eq,
                    Box::new(IrExpr::Field(*f)),
                    Box::new(IrExpr::Lit(l.clone())),
                )) {
                    Some((field, mask)) => restrict(query, field, mask, true),
                    None => false,
                }
            }
            _ => false,
        },
        IrExpr::Lit(Lit::Bool(true)) => true,
        _ => apply_mask(query, conjunct),
    }
}

fn apply_mask(query: &mut CompiledQuery, conjunct: &IrExpr) -> bool {
    match field_mask(conjunct) {
        Some((field, mask)) => restrict(query, field, mask, false),
        None => false,
    }
}

/// `kind = a`, `kind in [a, b]`, `kind = a or kind = b` … as a bit mask over
/// one field (kind, status or severity).
fn field_mask(expr: &IrExpr) -> Option<(Field, u32)> {
    match expr {
        IrExpr::Binary(BinaryOp::Eq, a, b) => match (&**a, &**b) {
            (IrExpr::Field(f), IrExpr::Lit(l)) | (IrExpr::Lit(l), IrExpr::Field(f)) => {
                Some((*f, lit_bit(*f, l)?))
            }
            _ => None,
        },
        IrExpr::In(a, items) => match &**a {
            IrExpr::Field(f) => items
                .iter()
                .try_fold(0u32, |m, l| Some(m | lit_bit(*f, l)?))
                .map(|m| (*f, m)),
            _ => None,
        },
        IrExpr::Binary(BinaryOp::Or, a, b) => {
            let (fa, ma) = field_mask(a)?;
            let (fb, mb) = field_mask(b)?;
            (fa == fb).then_some((fa, ma | mb))
        }
        _ => None,
    }
}

fn lit_bit(field: Field, lit: &Lit) -> Option<u32> {
    match (field, lit) {
        (Field::Kind, Lit::Kind(k)) => Some(k.bit()),
        (Field::Status, Lit::Status(s)) => Some(status_bit(*s).into()),
        (Field::Severity, Lit::Severity(s)) => Some(severity_bit(Some(*s)).into()),
        _ => None,
    }
}

fn restrict(query: &mut CompiledQuery, field: Field, mask: u32, negate: bool) -> bool {
    match field {
        Field::Kind => query.kinds &= if negate { !mask } else { mask },
        Field::Status => {
            let mask = mask as u8;
            query.statuses &= if negate {
                VISIBLE_STATUSES & !mask
            } else {
                mask
            };
        }
        Field::Severity => {
            let mask = mask as u8;
            // A missing severity matches neither `=` nor `!=`.
            query.severities &= if negate {
                ALL_SEVERITIES & !mask & !SEVERITY_MISSING_BIT
            } else {
                mask
            };
        }
        _ => return false,
    }
    true
}
