//! Runs the test blocks that policy staff write beside their clauses: builds
//! the test's records, evaluates the rule set as of the test's date, and
//! compares the outcome with every `expect` line; and measures clause coverage (which
//! clauses the tests made fire and made not fire, [`coverage`]).

use crate::ast::{Expectation, FieldValue, Name, Spanned, TestBlock, TestRecord};
use crate::compile::CompiledRuleSet;
use crate::context::{ContextField, TenderContext};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::eval::Decision;
use crate::record::{CreditRecord, RecordKind, Severity, Uscc};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A valid USCC given to every test record (tests concern one entity).
pub const TEST_ENTITY: &str = "91420100MA4K3Q7T13";

/// The result of one test block.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's description.
    pub name: String,
    /// Every expectation that did not hold, and every bad record field.
    pub failures: Diagnostics,
    /// Every `expect` line that was evaluated, held or not, with what it expected and what
    /// the rule set gave (empty when the test could not run: no date, a bad record).
    pub checks: Vec<ExpectCheck>,
    /// Per clause of the program (in its order), whether it fired in this test
    /// ([`fired`]); empty when the test could not run.
    pub fired: Vec<Option<bool>>,
}

/// One `expect` line of a test that ran: what it asked for and what came out, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectCheck {
    /// The `expect …` line.
    pub span: crate::source::Span,
    /// What the line expects, e.g. `否决 失信被执行人 触发` or `总分 8.5`.
    pub expected: String,
    /// What the evaluation gave, in the same words.
    pub actual: String,
    /// Did it hold?
    pub held: bool,
}

impl TestResult {
    /// Did every expectation hold?
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every test block of `program`.
pub fn run_tests(program: &CompiledRuleSet) -> Vec<TestResult> {
    program.tests.iter().map(|t| run_test(program, t)).collect()
}

/// Runs one test block of `program`.
pub fn run_test(program: &CompiledRuleSet, test: &TestBlock) -> TestResult {
    let file = &program.file;
    let mut failures = Diagnostics::new();
    let fail = |failures: &mut Diagnostics, at, message: String, help: &str| {
        failures.push(
            Diagnostic::error("T0001", message)
                .at(file, at)
                .with_help(help),
        );
    };
    let Some(as_of) = test.as_of.as_ref().map(|d| d.value) else {
        fail(
            &mut failures,
            test.name.span,
            format!("the test `{}` has no `as_of` date", test.name.value),
            "add a line `as_of 2024-06-01` (评价日期)",
        );
        return TestResult {
            name: test.name.value.clone(),
            failures,
            checks: Vec::new(),
            fired: Vec::new(),
        };
    };
    let context = match test.context.as_ref().map(|c| build_context(&c.value)) {
        None => TenderContext::default(),
        Some(Ok(context)) => context,
        Some(Err(problems)) => {
            for (at, message, help) in problems {
                fail(&mut failures, at, message, &help);
            }
            TenderContext::default()
        }
    };
    let mut records = Vec::new();
    for r in &test.records {
        match build_record(r) {
            Ok(record) => records.push(record),
            Err(problems) => {
                for (at, message, help) in problems {
                    fail(&mut failures, at, message, &help);
                }
            }
        }
    }
    if !failures.is_empty() {
        return TestResult {
            name: test.name.value.clone(),
            failures,
            checks: Vec::new(),
            fired: Vec::new(),
        };
    }
    let outcome = program.evaluate_with(&records, as_of, &context);
    let decision = outcome.decision(program);
    let clause = |id: &str| program.clauses.iter().position(|c| c.id == id);
    for expect in &test.expects {
        let at = expect.span;
        match &expect.value {
            Expectation::Eligible if decision != Decision::Eligible => {
                let fired: Vec<&str> = program
                    .clauses
                    .iter()
                    .zip(&outcome.clauses)
                    .filter(|(c, o)| c.kind == crate::ast::ClauseKind::Veto && o.fired)
                    .map(|(c, _)| c.id.as_str())
                    .collect();
                fail(
                    &mut failures,
                    at,
                    format!(
                        "expected eligible, but the decision is {} (vetoes fired: {})",
                        decision.label(),
                        fired.join(", ")
                    ),
                    "check the records' dates and statuses, or the veto conditions",
                );
            }
            Expectation::Disqualified if decision != Decision::Disqualified => {
                fail(
                    &mut failures,
                    at,
                    format!(
                        "expected disqualified, but the decision is {}",
                        decision.label()
                    ),
                    "no veto fired for these records",
                );
            }
            Expectation::Veto(id)
            | Expectation::Flag(id)
            | Expectation::NoVeto(id)
            | Expectation::NoFlag(id) => {
                let (want_kind, want_fired) = match expect.value {
                    Expectation::Veto(_) => (crate::ast::ClauseKind::Veto, true),
                    Expectation::Flag(_) => (crate::ast::ClauseKind::Flag, true),
                    Expectation::NoVeto(_) => (crate::ast::ClauseKind::Veto, false),
                    _ => (crate::ast::ClauseKind::Flag, false),
                };
                let problem = match clause(id) {
                    Some(i) if program.clauses[i].kind != want_kind => Some((
                        format!(
                            "`{id}` is a {} clause, not a {}",
                            program.clauses[i].kind.keyword(),
                            want_kind.keyword()
                        ),
                        "name a clause of the right kind",
                    )),
                    Some(i) if outcome.clauses[i].fired != want_fired => Some((
                        match want_fired {
                            true => format!("expected `{id}` to fire, but it did not"),
                            false => format!("expected `{id}` not to fire, but it did"),
                        },
                        "check the records against the clause's condition",
                    )),
                    Some(_) => None,
                    None => Some((format!("there is no clause `{id}`"), "check the clause id")),
                };
                if let Some((message, help)) = problem {
                    fail(&mut failures, at, message, help);
                }
            }
            Expectation::Total(want) => {
                let got = outcome.total();
                if got != *want {
                    fail(
                        &mut failures,
                        at,
                        format!(
                            "expected a total of {}, got {}",
                            want.normalize(),
                            got.normalize()
                        ),
                        "check each clause's points with `credit-rules eval`",
                    );
                }
            }
            Expectation::Points(id, want) => match clause(id) {
                Some(i) if program.clauses[i].kind != crate::ast::ClauseKind::Score => fail(
                    &mut failures,
                    at,
                    format!(
                        "`{id}` is a {} clause and gives no points",
                        program.clauses[i].kind.keyword()
                    ),
                    "use `expect veto` or `expect flag` for it, or name a score clause",
                ),
                Some(i) => {
                    let got = outcome.clauses[i].points;
                    if got != Some(*want) {
                        let got =
                            got.map_or("no points".to_string(), |g| g.normalize().to_string());
                        fail(
                            &mut failures,
                            at,
                            format!(
                                "expected `{id}` to give {} points, got {got}",
                                want.normalize()
                            ),
                            "points are after cap, floor and weight, rounded to 2 places",
                        );
                    }
                }
                None => fail(
                    &mut failures,
                    at,
                    format!("there is no clause `{id}`"),
                    "check the clause id",
                ),
            },
            _ => {}
        }
    }
    let checks = test
        .expects
        .iter()
        .map(|expect| {
            let (expected, actual) = compare(program, &outcome, decision, &expect.value);
            ExpectCheck {
                span: expect.span,
                held: !failures.iter().any(|d| {
                    d.location
                        .as_deref()
                        .is_some_and(|(_, s)| *s == expect.span)
                }),
                expected,
                actual,
            }
        })
        .collect();
    let fired = program
        .clauses
        .iter()
        .zip(&outcome.clauses)
        .map(|(c, o)| fired(c.kind, o))
        .collect();
    TestResult {
        name: test.name.value.clone(),
        failures,
        checks,
        fired,
    }
}

/// Whether a clause "fired" in one evaluation, for coverage: a veto or flag fired when its
/// condition held; a score fired when it gave points other than 0 (after cap, floor and
/// weight). `None` when the clause could not be evaluated.
pub fn fired(kind: crate::ast::ClauseKind, outcome: &crate::eval::ClauseOutcome) -> Option<bool> {
    if outcome.error.is_some() {
        return None;
    }
    match kind {
        crate::ast::ClauseKind::Score => outcome.points.map(|p| !p.is_zero()),
        _ => Some(outcome.fired),
    }
}

/// How the tests of a rule set exercised one of its own clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseCoverage {
    /// Clause id.
    pub id: String,
    /// Veto, score or flag.
    pub kind: crate::ast::ClauseKind,
    /// Some test made it fire.
    pub fired: bool,
    /// Some test made it not fire.
    pub not_fired: bool,
}

impl ClauseCoverage {
    /// Both outcomes seen.
    pub fn covered(&self) -> bool {
        self.fired && self.not_fired
    }
}

/// The coverage of the clauses `program` defines itself (inherited clauses are covered by
/// the tests of the rule set that defines them), over the tests in `results`, which must
/// come from [`run_tests`] on the same program. Tests that fail still count: they ran.
pub fn coverage(program: &CompiledRuleSet, results: &[TestResult]) -> Vec<ClauseCoverage> {
    program
        .clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.origin == program.meta.id)
        .map(|(i, c)| {
            let seen = |want: bool| {
                results
                    .iter()
                    .any(|r| r.fired.get(i).copied().flatten() == Some(want))
            };
            ClauseCoverage {
                id: c.id.clone(),
                kind: c.kind,
                fired: seen(true),
                not_fired: seen(false),
            }
        })
        .collect()
}

/// The share of outcomes covered, in percent (each clause has two: fired, not fired);
/// 100 with no clauses.
pub fn coverage_percent(clauses: &[ClauseCoverage]) -> Decimal {
    if clauses.is_empty() {
        return Decimal::ONE_HUNDRED;
    }
    let seen: usize = clauses
        .iter()
        .map(|c| usize::from(c.fired) + usize::from(c.not_fired))
        .sum();
    (Decimal::from(seen) * Decimal::ONE_HUNDRED / Decimal::from(2 * clauses.len())).round_dp(1)
}

/// What an expectation asks for and what the outcome gave, in the words of a tender
/// document (决定 合格 / 否决 X 触发 / X 得分 2).
fn compare(
    program: &CompiledRuleSet,
    outcome: &crate::eval::Outcome,
    decision: Decision,
    expect: &Expectation,
) -> (String, String) {
    let clause = |id: &str| program.clauses.iter().position(|c| c.id == id);
    let fired = |id: &str, kind: &str| match clause(id) {
        Some(i) if outcome.clauses[i].fired => format!("{kind} {id} 触发"),
        Some(_) => format!("{kind} {id} 未触发"),
        None => format!("没有条款 {id}"),
    };
    match expect {
        Expectation::Eligible => ("决定 合格".into(), format!("决定 {}", decision.label())),
        Expectation::Disqualified => ("决定 不合格".into(), format!("决定 {}", decision.label())),
        Expectation::Veto(id) => (format!("否决 {id} 触发"), fired(id, "否决")),
        Expectation::NoVeto(id) => (format!("否决 {id} 未触发"), fired(id, "否决")),
        Expectation::Flag(id) => (format!("提示 {id} 触发"), fired(id, "提示")),
        Expectation::NoFlag(id) => (format!("提示 {id} 未触发"), fired(id, "提示")),
        Expectation::Total(want) => (
            format!("总分 {}", want.normalize()),
            format!("总分 {}", outcome.total().normalize()),
        ),
        Expectation::Points(id, want) => {
            let got = match clause(id).map(|i| outcome.clauses[i].points) {
                Some(Some(points)) => points.normalize().to_string(),
                Some(None) => "无分值".into(),
                None => {
                    return (
                        format!("{id} 得分 {}", want.normalize()),
                        format!("没有条款 {id}"),
                    );
                }
            };
            (
                format!("{id} 得分 {}", want.normalize()),
                format!("{id} 得分 {got}"),
            )
        }
    }
}

type Problem = (crate::source::Span, String, std::borrow::Cow<'static, str>);

/// Builds a credit record from a test's `record id { field value … }`.
pub fn build_record(r: &TestRecord) -> Result<CreditRecord, Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut kind = None;
    let mut date = None;
    let uscc = Uscc::parse(TEST_ENTITY).expect("the test entity's USCC is valid");
    let mut record = CreditRecord::new(
        r.id.value.clone(),
        uscc,
        RecordKind::AdminPenalty,
        NaiveDate::MIN,
    );
    for (key, value) in &r.fields {
        if let Err(p) = set_field(&mut record, key, value, &mut kind, &mut date) {
            problems.push(p);
        }
    }
    match (kind, date) {
        (Some(k), Some(d)) => {
            record.kind = k;
            record.decided_on = d;
        }
        (k, d) => {
            if k.is_none() {
                problems.push((
                    r.span,
                    format!("the record `{}` has no `kind`", r.id.value),
                    "add e.g. `kind 行政处罚` (类别)".into(),
                ));
            }
            if d.is_none() {
                problems.push((
                    r.span,
                    format!("the record `{}` has no `date`", r.id.value),
                    "add e.g. `date 2023-01-01` (认定日期)".into(),
                ));
            }
        }
    }
    if problems.is_empty()
        && let Err(errors) = record.validate()
    {
        for e in errors {
            problems.push((
                r.span,
                e.to_string(),
                "correct the record's dates or fields".into(),
            ));
        }
    }
    if problems.is_empty() {
        Ok(record)
    } else {
        Err(problems)
    }
}

/// The tender context a test block gives (`context { budget 5000000 }`); no
/// context when the block has no such line.
pub fn build_context(
    fields: &[(Name, Spanned<FieldValue>)],
) -> Result<TenderContext, Vec<Problem>> {
    let mut context = TenderContext::default();
    let mut problems: Vec<Problem> = Vec::new();
    for (key, value) in fields {
        let text = match &value.value {
            FieldValue::Text(t) | FieldValue::Name(t) => Some(t.clone()),
            _ => None,
        };
        match (ContextField::from_name(&key.value), &value.value) {
            (Some(ContextField::Budget), FieldValue::Number(n)) if !n.is_sign_negative() => {
                context.budget = Some(*n)
            }
            (Some(ContextField::Budget), _) => problems.push((
                value.span,
                format!(
                    "the context's `{}` must be a number of yuan, 0 or more",
                    key.value
                ),
                "write e.g. `budget 5000000` (预算, in yuan)".into(),
            )),
            (Some(ContextField::ProjectType), _) if text.is_some() => context.project_type = text,
            (Some(ContextField::Sector), _) if text.is_some() => context.sector = text,
            (Some(_), _) => problems.push((
                value.span,
                format!("the context's `{}` must be a text", key.value),
                "write e.g. `project_type \"施工\"` or `sector \"水务\"`".into(),
            )),
            (None, _) => problems.push((
                key.span,
                format!("unknown tender context field `{}`", key.value),
                "context fields: project_type (类型), sector (行业), budget (预算)".into(),
            )),
        }
    }
    if problems.is_empty() {
        Ok(context)
    } else {
        Err(problems)
    }
}

/// Help listing the fields a test record may have.
const FIELDS_HELP: &str = "fields: kind, date, published (公示日期), until, valid_until (有效期至), severity, sector, authority, document_no, penalty, amount, grade, repaired, revoked";

/// The field names `set_field` accepts, for "did you mean".
const TEST_RECORD_FIELDS: &[&str] = &[
    "kind",
    "类别",
    "date",
    "decided_on",
    "认定日期",
    "until",
    "disclosure_until",
    "公示截止",
    "公示截止日期",
    "published",
    "published_on",
    "公示日期",
    "valid_until",
    "有效期至",
    "repaired",
    "repaired_on",
    "修复日期",
    "revoked",
    "revoked_on",
    "撤销日期",
    "severity",
    "严重程度",
    "amount",
    "金额",
    "sector",
    "行业",
    "authority",
    "认定机关",
    "document_no",
    "文书号",
    "penalty",
    "penalty_type",
    "处罚类别",
    "grade",
    "等级",
    "basis",
    "依据",
    "description",
    "说明",
];

fn set_field(
    record: &mut CreditRecord,
    key: &Name,
    value: &Spanned<FieldValue>,
    kind: &mut Option<RecordKind>,
    date: &mut Option<NaiveDate>,
) -> Result<(), Problem> {
    let at = value.span;
    let text = || match &value.value {
        FieldValue::Text(t) | FieldValue::Name(t) => Ok(t.clone()),
        other => Ok(other.to_string()),
    };
    let want_date = || match value.value {
        FieldValue::Date(d) => Ok(d),
        _ => Err((
            at,
            format!("`{}` needs a date", key.value),
            "write YYYY-MM-DD".into(),
        )),
    };
    match key.value.as_str() {
        "kind" | "类别" => {
            let name = text()?;
            *kind = Some(RecordKind::from_name(&name).ok_or((
                at,
                format!("unknown record kind `{name}`"),
                "use a kind from the authoring guide, e.g. 行政处罚".into(),
            ))?);
        }
        "date" | "decided_on" | "认定日期" => *date = Some(want_date()?),
        "until" | "disclosure_until" | "公示截止" | "公示截止日期" => {
            record.disclosure_until = Some(want_date()?)
        }
        "published" | "published_on" | "公示日期" => record.published_on = Some(want_date()?),
        "valid_until" | "有效期至" => record.valid_until = Some(want_date()?),
        "repaired" | "repaired_on" | "修复日期" => record.repaired_on = Some(want_date()?),
        "revoked" | "revoked_on" | "撤销日期" => record.revoked_on = Some(want_date()?),
        "severity" | "严重程度" => {
            let name = text()?;
            record.severity = Some(Severity::from_name(&name).ok_or((
                at,
                format!("unknown severity `{name}`"),
                "use 轻微, 一般 or 严重".into(),
            ))?);
        }
        "amount" | "金额" => match value.value {
            FieldValue::Number(n) => record.amount = Some(n),
            _ => {
                return Err((
                    at,
                    "`amount` needs a number".into(),
                    "write e.g. `amount 5` (万元)".into(),
                ));
            }
        },
        "sector" | "行业" => record.sector = Some(text()?),
        "authority" | "认定机关" => record.authority = Some(text()?),
        "document_no" | "文书号" => record.document_no = Some(text()?),
        "penalty" | "penalty_type" | "处罚类别" => record.penalty_type = Some(text()?),
        "grade" | "等级" => record.grade = Some(text()?),
        "basis" | "依据" => record.legal_basis = Some(text()?),
        "description" | "说明" => record.description = Some(text()?),
        other => {
            let known = TEST_RECORD_FIELDS.iter().copied();
            let help = match crate::check::suggest_name(other, known) {
                Some(close) => format!("did you mean `{close}`?").into(),
                None => FIELDS_HELP.into(),
            };
            return Err((key.span, format!("unknown record field `{other}`"), help));
        }
    }
    Ok(())
}
