//! Authoring in the browser: what the staff console's editor asks of the engine while a
//! policy author types. A draft's text is checked against the rule sets in force (the bases
//! it extends, as `credit-rules check --lib` reads them from a folder), giving diagnostics
//! with byte spans and 1-based lines and columns (columns count characters, so a Chinese
//! line is marked where the author sees it); its test blocks are run, each `expect` line
//! reported with what it expected and what came out; and its tender clauses are rendered by
//! the same HTML writer the public site and the `render` command use.
//!
//! Bounded like every check started by a request: sources over
//! [`crate::syntax::MAX_SOURCE_BYTES`] are refused by the parser, the checker stops when the
//! current [`crate::budget`] runs out, the tests stop between blocks likewise, and at most
//! [`MAX_DIAGNOSTICS`] diagnostics are returned. Nothing here knows about HTTP.

use crate::check::Library;
use crate::compile::CompiledRuleSet;
use crate::diagnostic::{Diagnostic, Diagnostics, MAX_DIAGNOSTICS, Severity};
use crate::render::{TenderFacts, build_document, html};
use crate::ruleset::Workspace;
use crate::source::{LineIndex, SourceFile};
use serde::Serialize;
use std::collections::BTreeMap;

/// A diagnostic placed in the text the author edits (or, for a problem of another rule
/// set, naming that file with no position in the draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable code, e.g. `E0201` (the authoring guide lists them).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Further context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where in the draft, when the problem is in the draft's own text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Position>,
    /// The other rule set's file, when the problem is there (e.g. a base it extends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A range of the draft: bytes, and 1-based lines and columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Line of the first character, from 1.
    pub line: usize,
    /// Column of the first character, in characters from 1.
    pub col: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column of the end, in characters from 1 (one past the last character).
    pub end_col: usize,
}

/// A draft checked against the rule sets in force.
#[derive(Debug)]
pub struct Checked {
    /// Every problem, the draft's own first, in text order; at most [`MAX_DIAGNOSTICS`].
    pub diagnostics: Vec<Placed>,
    /// The compiled draft, when it has no errors.
    pub program: Option<CompiledRuleSet>,
    /// The id its header declares (when it parses).
    pub declared: Option<String>,
    /// The sector its header declares.
    pub sector: Option<String>,
    library: Library,
}

impl Checked {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// The file name a draft of rule set `id` is checked under (what diagnostics name).
pub fn draft_file_name(id: &str) -> String {
    format!("{id}.rules")
}

/// Checks `text` as the new version of rule set `id`, with `bases` (the sources in force, by
/// id) as the library: the draft replaces `bases[id]`, the other rule sets are what it may
/// extend. Rule sets extending `id` are checked too: a change that would break them is an
/// error of the draft.
pub fn check(bases: &BTreeMap<String, SourceFile>, id: &str, text: &str) -> Checked {
    let file = SourceFile::new(draft_file_name(id), text);
    let mut workspace = Workspace::new();
    let mut problems = Diagnostics::new();
    let declared = workspace.add_source(file.clone(), None);
    let mut sector = None;
    if let Some(declared) = &declared
        && let Some((_, ast)) = workspace.library.get(declared)
    {
        sector = ast.header.sector.as_ref().map(|s| s.value.clone());
        if declared != id {
            problems.push(
                Diagnostic::error(
                    "E0307",
                    format!("the header declares rule set `{declared}`, not `{id}`"),
                )
                .at(&file, ast.header.id.span)
                .with_help(format!(
                    "this editor writes a new version of `{id}`: keep `ruleset {id}` in the header"
                )),
            );
        }
    }
    // The draft's own syntax errors (the library's files are in force, so they parse).
    problems.extend(std::mem::take(&mut workspace.errors));
    for (other, source) in bases {
        if other != id && declared.as_deref() != Some(other.as_str()) {
            workspace.add_source(source.clone(), None);
        }
    }
    // A base that no longer parses or collides with the draft is the draft's problem only
    // through a collision, which `Library::add` reports at the draft's header.
    problems.extend(std::mem::take(&mut workspace.errors));
    let mut program = None;
    if declared.as_deref() == Some(id) {
        match workspace.compile(id) {
            Ok(compiled) => {
                problems.extend(compiled.warnings.clone());
                program = Some(compiled);
            }
            Err(d) => problems.extend(d),
        }
        if program.is_some() {
            problems.extend(dependents_problems(&workspace, id));
            if problems.has_errors() {
                program = None;
            }
        }
    }
    Checked {
        diagnostics: place_all(problems, &file),
        program,
        declared,
        sector,
        library: workspace.library,
    }
}

/// The rule sets that extend `id` (directly or further down), checked with the draft as
/// their base: one error for each that would no longer check, with its first problem.
fn dependents_problems(workspace: &Workspace, id: &str) -> Diagnostics {
    let mut out = Diagnostics::new();
    for other in workspace.library.ids() {
        if other == id || !extends(&workspace.library, other, id) {
            continue;
        }
        if crate::budget::exhausted() {
            break;
        }
        if let Err(d) = workspace.compile(other) {
            let first = d
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.message.clone())
                .unwrap_or_default();
            out.push(
                Diagnostic::error(
                    "E0600",
                    format!("rule set `{other}` extends this one and would no longer check"),
                )
                .with_help("keep what the rule sets extending this one use, or change them first")
                .with_note(format!("its first problem: {first}")),
            );
        }
    }
    out
}

/// Does rule set `id` of `library` extend `base`, directly or through other rule sets?
fn extends(library: &Library, id: &str, base: &str) -> bool {
    let mut seen = Vec::new();
    let mut current = id.to_string();
    while let Some(parent) = library
        .get(&current)
        .and_then(|(_, ast)| ast.header.extends.as_ref())
        .map(|e| e.value.clone())
    {
        if parent == base {
            return true;
        }
        if seen.contains(&parent) {
            return false;
        }
        seen.push(parent.clone());
        current = parent;
    }
    false
}

/// Sorts the diagnostics (the draft's own first, by position), keeps at most
/// [`MAX_DIAGNOSTICS`] and places each in the draft.
fn place_all(mut problems: Diagnostics, draft: &SourceFile) -> Vec<Placed> {
    let mut seen = std::collections::HashSet::new();
    problems.0.retain(|d| seen.insert(d.render()));
    let in_draft = |d: &Diagnostic| {
        d.location
            .as_deref()
            .is_some_and(|(f, _)| f.name == draft.name && f.text == draft.text)
    };
    problems.0.sort_by_key(|d| {
        let start = d.location.as_deref().map_or(usize::MAX, |(_, s)| s.start);
        (!in_draft(d), start, d.code)
    });
    problems.truncate_to(MAX_DIAGNOSTICS);
    let index = LineIndex::new(&draft.text);
    problems
        .0
        .into_iter()
        .map(|d| {
            // The console is for policy staff: its diagnostics are in Chinese.
            let d = d.localized(crate::diagnostic::Lang::Zh);
            let (at, file) = match d.location.as_deref() {
                Some((f, span)) if f.name == draft.name && f.text == draft.text => (
                    Some(position(&index, &draft.text, span.start, span.end)),
                    None,
                ),
                Some((f, _)) => (None, Some(f.name.to_string())),
                None => (None, None),
            };
            Placed {
                severity: d.severity,
                code: d.code,
                message: d.message,
                help: d.help,
                notes: d.notes,
                at,
                file,
            }
        })
        .collect()
}

fn position(index: &LineIndex, text: &str, start: usize, end: usize) -> Position {
    let start = crate::source::floor_char_boundary(text, start.min(text.len()));
    let end = crate::source::floor_char_boundary(text, end.clamp(start, text.len()));
    let from = index.line_col(text, start);
    let to = index.line_col(text, end);
    Position {
        start,
        end,
        line: from.line,
        col: from.col,
        end_line: to.line,
        end_col: to.col,
    }
}

/// One test block's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// The test's description.
    pub name: String,
    /// Did every expectation hold?
    pub passed: bool,
    /// Where the test block's name is.
    pub at: Position,
    /// Every `expect` line: expected and actual.
    pub checks: Vec<CheckReport>,
    /// Why the test failed (unmet expectations, bad records, a missing date).
    pub failures: Vec<Placed>,
}

/// One `expect` line of a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Where the line is.
    pub at: Position,
    /// What it expects, e.g. `决定 不合格`.
    pub expected: String,
    /// What came out, e.g. `决定 合格`.
    pub actual: String,
    /// Did it hold?
    pub held: bool,
}

/// Why the draft's tests or preview cannot be produced.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// The draft has errors: nothing compiled to run or render.
    #[error("the draft has {} error(s); fix them first", count_errors(.0))]
    Invalid(Vec<Placed>),
    /// The time allowed ran out before every test ran.
    #[error("running the tests stopped: the time allowed ran out after {0} test(s)")]
    OutOfTime(usize),
}

fn count_errors(diagnostics: &[Placed]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

fn compiled(checked: &Checked) -> Result<&CompiledRuleSet, AuthoringError> {
    checked
        .program
        .as_ref()
        .ok_or_else(|| AuthoringError::Invalid(checked.diagnostics.clone()))
}

/// Runs the draft's test blocks, in file order.
pub fn run_tests(checked: &Checked) -> Result<Vec<TestReport>, AuthoringError> {
    let program = compiled(checked)?;
    let file = &program.file;
    let index = LineIndex::new(&file.text);
    let at = |span: crate::source::Span| position(&index, &file.text, span.start, span.end);
    let mut reports = Vec::with_capacity(program.tests.len());
    for test in &program.tests {
        if crate::budget::exhausted() {
            return Err(AuthoringError::OutOfTime(reports.len()));
        }
        let result = crate::testing::run_test(program, test);
        reports.push(TestReport {
            passed: result.passed(),
            name: result.name,
            at: at(test.name.span),
            checks: result
                .checks
                .into_iter()
                .map(|c| CheckReport {
                    at: at(c.span),
                    expected: c.expected,
                    actual: c.actual,
                    held: c.held,
                })
                .collect(),
            failures: place_all(result.failures, file),
        });
    }
    Ok(reports)
}

/// The draft's tender clauses as an HTML fragment (the `render` command's HTML writer,
/// every text escaped).
pub fn preview(checked: &Checked) -> Result<String, AuthoringError> {
    let program = compiled(checked)?;
    let doc = build_document(program, &checked.library, &TenderFacts::default());
    Ok(html::fragment(&doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "ruleset city.base { title \"全市\" version \"1\" effective 2020-01-01 unit \"市公管局\" }\n\
        veto 黑名单 { wording \"被列入黑名单的，否决其投标\" when any(records where kind = 黑名单) }\n";

    fn bases() -> BTreeMap<String, SourceFile> {
        let mut m = BTreeMap::new();
        m.insert(
            "city.base".to_string(),
            SourceFile::new("rulesets/city.base.rules", BASE),
        );
        m
    }

    const DRAFT: &str = "规则集 water {\n  标题 \"水务\" 行业 \"水务\" 版本 \"2\" 生效日期 2024-01-01 责任单位 \"水务局\" 继承 city.base 总分 10\n}\n\
        评分 不良记录 {\n  表述 \"每条扣1分\"\n  得分 10 - 计数(记录 满足 kind = 不良行为记录 并且 近 12 个月)\n  上限 10 下限 0\n}\n\
        测试 \"一条不良记录\" {\n  评价日期 2024-06-01\n  记录 R1 { kind 不良行为记录 date 2024-01-10 }\n  预期 总分 9\n  预期 合格\n}\n";

    #[test]
    fn a_clean_draft_compiles_with_no_diagnostics() {
        let checked = check(&bases(), "water", DRAFT);
        assert_eq!(checked.diagnostics, []);
        assert_eq!(checked.declared.as_deref(), Some("water"));
        assert_eq!(checked.sector.as_deref(), Some("水务"));
        assert!(checked.program.is_some());
    }

    #[test]
    fn a_misspelled_kind_is_placed_at_its_line_and_character_column() {
        let text = DRAFT.replace("kind = 不良行为记录", "kind = 不良行为纪录");
        let checked = check(&bases(), "water", &text);
        let d = &checked.diagnostics[0];
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.code, "E0201");
        assert!(
            d.help.as_deref().unwrap_or("").contains("不良行为记录"),
            "{d:?}"
        );
        let at = d.at.expect("placed in the draft");
        assert_eq!(&text[at.start..at.end], "不良行为纪录");
        assert_eq!(at.line, 6);
        let line = text.lines().nth(5).expect("line 6");
        let col = line[..line.find("不良行为纪录").expect("on the line")]
            .chars()
            .count()
            + 1;
        assert_eq!((at.col, at.end_line, at.end_col), (col, 6, col + 6));
        assert!(checked.program.is_none());
    }

    #[test]
    fn a_syntax_error_and_a_wrong_id_are_placed_in_the_draft() {
        let broken = check(&bases(), "water", &DRAFT.replace("上限 10", "上限 ("));
        assert_eq!(broken.diagnostics[0].code, "E0001");
        assert_eq!(broken.diagnostics[0].at.map(|a| a.line), Some(7));
        let renamed = check(
            &bases(),
            "water",
            &DRAFT.replace("规则集 water", "规则集 wate"),
        );
        assert_eq!(renamed.diagnostics[0].code, "E0307");
        assert_eq!(
            renamed.diagnostics[0].at.map(|a| (a.line, a.col)),
            Some((1, 5))
        );
        assert!(renamed.program.is_none());
    }

    #[test]
    fn a_base_change_that_breaks_a_rule_set_extending_it_is_an_error() {
        let mut library = bases();
        library.insert(
            "water".into(),
            SourceFile::new(
                "water.rules",
                "ruleset water { title \"水务\" version \"1\" effective 2020-01-01 unit \"水务局\" extends city.base }\nremove 黑名单\n",
            ),
        );
        // Renaming the base's veto leaves the sector's `remove 黑名单` naming nothing.
        let renamed = BASE.replace("veto 黑名单", "veto 黑名单单");
        let checked = check(&library, "city.base", &renamed);
        assert!(
            checked.diagnostics.iter().any(|d| d.code == "E0600"),
            "{:?}",
            checked.diagnostics
        );
        assert!(checked.program.is_none());
    }

    #[test]
    fn tests_report_expected_and_actual_for_every_expect_line() {
        let text = DRAFT.replace("预期 总分 9", "预期 总分 8");
        let reports = run_tests(&check(&bases(), "water", &text)).expect("the draft checks");
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert!(!r.passed);
        assert_eq!(r.name, "一条不良记录");
        let total = &r.checks[0];
        assert_eq!(
            (total.expected.as_str(), total.actual.as_str()),
            ("总分 8", "总分 9")
        );
        assert!(!total.held);
        assert_eq!(total.at.line, 12);
        let decision = &r.checks[1];
        assert_eq!(
            (
                decision.expected.as_str(),
                decision.actual.as_str(),
                decision.held
            ),
            ("决定 合格", "决定 合格", true)
        );
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].at.map(|a| a.line), Some(12));
    }

    #[test]
    fn tests_and_preview_of_a_draft_with_errors_return_its_diagnostics() {
        let checked = check(&bases(), "water", &DRAFT.replace("上限 10", "上限 ("));
        match run_tests(&checked) {
            Err(AuthoringError::Invalid(d)) => assert_eq!(d[0].code, "E0001"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(preview(&checked), Err(AuthoringError::Invalid(_))));
    }

    #[test]
    fn the_preview_is_the_rendered_chapter_with_inherited_clauses() {
        let html = preview(&check(&bases(), "water", DRAFT)).expect("renders");
        assert!(html.starts_with("<article class=\"cr-document\""), "{html}");
        assert!(html.contains("被列入黑名单的，否决其投标"));
        assert!(html.contains("每条扣1分"));
    }

    #[test]
    fn an_exhausted_budget_stops_the_tests() {
        let checked = check(&bases(), "water", DRAFT);
        let spent = crate::budget::Budget::new(std::time::Duration::ZERO);
        assert!(matches!(
            spent.run(|| run_tests(&checked)),
            Err(AuthoringError::OutOfTime(0))
        ));
    }
}
