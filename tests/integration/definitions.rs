//! Named sub-expressions (`define` / `定义`, `let` / `设`): a query written
//! many times, directly or through a definition, is one query of the
//! compiled program; rewriting a clause with a definition changes nothing
//! the semantic diff can see; redefining one lists it with its clauses.

use crate::common::{code, day};
use credit_rules::diff::diff_sources;
use credit_rules::fmt::format_source;
use credit_rules::record::{CreditRecord, RecordKind};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;

const HEADER: &str =
    "ruleset d.shared { title \"t\" version \"1\" effective 2020-01-01 unit \"u\" }\n";

/// A capped score line that writes the same penalty count eight times.
const INLINE: &str = "score s {
  wording \"w\"
  points  if count(records where kind = 行政处罚 and within 3 years) = 0 then 4
          else if count(records where kind = 行政处罚 and within 3 years) = 1 then 3
          else if count(records where kind = 行政处罚 and within 3 years) = 2 then 2
          else if count(records where kind = 行政处罚 and within 3 years) = 3 then 1
          else 0 - count(records where kind = 行政处罚 and within 3 years)
               + count(records where kind = 行政处罚 and within 3 years)
               - count(records where kind = 行政处罚 and within 3 years)
               + count(records where kind = 行政处罚 and within 3 years)
  cap     4
}
";

/// The same line with the count defined once.
const DEFINED: &str = "define 处罚数 = count(records where kind = 行政处罚 and within 3 years)

score s {
  wording \"w\"
  points  if 处罚数 = 0 then 4
          else if 处罚数 = 1 then 3
          else if 处罚数 = 2 then 2
          else if 处罚数 = 3 then 1
          else 0 - 处罚数 + 处罚数 - 处罚数 + 处罚数
  cap     4
}
";

fn file(body: &str) -> SourceFile {
    SourceFile::new("d.rules", format!("{HEADER}\n{body}"))
}

fn compile(body: &str) -> credit_rules::compile::CompiledRuleSet {
    let mut workspace = Workspace::new();
    workspace.add_source(file(body), None);
    assert!(workspace.errors.is_empty(), "{}", workspace.errors.render());
    workspace
        .compile("d.shared")
        .unwrap_or_else(|d| panic!("{}", d.render()))
}

fn penalties(n: usize) -> Vec<CreditRecord> {
    (0..n)
        .map(|i| {
            CreditRecord::new(
                format!("P{i}"),
                code(1),
                RecordKind::AdminPenalty,
                day("2023-01-10"),
            )
        })
        .collect()
}

#[test]
fn a_query_written_eight_times_is_computed_once() {
    let inline = compile(INLINE);
    let defined = compile(DEFINED);
    assert_eq!(inline.query_count(), 1);
    assert_eq!(defined.query_count(), 1);
    for n in 0..6 {
        let records = penalties(n);
        let a = inline.evaluate(&records, day("2024-06-01"));
        let b = defined.evaluate(&records, day("2024-06-01"));
        assert_eq!(a.total(), b.total(), "{n} penalties");
        assert_eq!(a.evidence, b.evidence, "{n} penalties");
    }
    let four = defined.evaluate(&penalties(4), day("2024-06-01"));
    assert_eq!(four.total().to_string(), "0");
    let two = defined.evaluate(&penalties(2), day("2024-06-01"));
    assert_eq!(two.total().to_string(), "2");
}

#[test]
fn rewriting_with_a_definition_leaves_the_semantic_diff_empty() {
    let diff = diff_sources(&[file(INLINE)], "d.shared", &[file(DEFINED)], "d.shared")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(diff.is_empty(), "{}", diff.render_text());
}

#[test]
fn a_redefinition_is_listed_with_the_clauses_using_it() {
    let changed = DEFINED.replace("within 3 years", "within 2 years");
    let diff = diff_sources(&[file(DEFINED)], "d.shared", &[file(&changed)], "d.shared")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(diff.constants.len(), 1, "{}", diff.render_text());
    let definition = &diff.constants[0];
    assert!(definition.definition);
    assert_eq!(definition.name, "处罚数");
    assert_eq!(definition.used_by, ["s"]);
    assert_eq!(diff.clauses.changed.len(), 1);
    assert_eq!(diff.clauses.changed[0].constants, ["处罚数"]);
    let text = diff.render_text();
    assert!(text.contains("定义 definition 处罚数"), "{text}");
}

#[test]
fn definitions_and_lets_print_in_the_files_dialect() {
    let english = "ruleset d.fmt { title \"t\" }\ndefine   n=count(records where kind = 行政处罚)\nscore s { wording \"w\" points x let x=n*2 cap 4 }\n";
    let printed = format_source(&SourceFile::new("e.rules", english))
        .unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(
        printed,
        "ruleset d.fmt {\n  title \"t\"\n}\n\ndefine n = count(records where kind = 行政处罚)\nscore s {\n  wording \"w\"\n  let     x = n * 2\n  points  x\n  cap     4\n}\n"
    );
    let chinese = "规则集 d.fmt { 标题 \"t\" }\n定义 n = 计数(记录 满足 类别 = 行政处罚)\n评分 s { 表述 \"w\" 设 x = n * 2 得分 x 上限 4 }\n";
    let printed = format_source(&SourceFile::new("c.rules", chinese))
        .unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(
        printed,
        "规则集 d.fmt {\n  标题 \"t\"\n}\n\n定义 n = 计数(记录 满足 类别 = 行政处罚)\n评分 s {\n  表述 \"w\"\n  设   x = n * 2\n  得分 x\n  上限 4\n}\n"
    );
}

/// Checks `body` and gives the codes and messages of its errors.
fn errors(body: &str) -> Vec<(String, String)> {
    let mut workspace = Workspace::new();
    workspace.add_source(file(body), None);
    assert!(workspace.errors.is_empty(), "{}", workspace.errors.render());
    let Err(diagnostics) = workspace.compile("d.shared") else {
        panic!("the rule set has a misspelt kind and must not check");
    };
    diagnostics
        .0
        .iter()
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect()
}

#[test]
fn a_misspelt_kind_in_a_definition_or_let_is_one_error_not_one_per_use() {
    let body = "define 黑名单数 = count(records where kind = 黑明单)

veto v {
  wording \"w\"
  when    黑名单数 > 0
}

flag f {
  wording \"w\"
  let     n = count(records where kind = 失信被执形人)
  when    n > 0 or 黑名单数 > 1 or n > 2
}

test \"t\" {
  as_of 2024-06-01
  expect veto v
  expect flag f
}
";
    let found = errors(body);
    assert_eq!(
        found,
        vec![
            (
                "E0201".to_string(),
                "unknown record kind `黑明单`".to_string()
            ),
            (
                "E0201".to_string(),
                "unknown record kind `失信被执形人`".to_string()
            ),
        ],
        "one error per mistake: no `unknown name` at the uses, no E0402 for the tests"
    );
}
