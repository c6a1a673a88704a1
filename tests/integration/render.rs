//! `credit-rules render`: every shipped rule set rendered as the credit clauses
//! of a tender document (Markdown snapshots), plus the properties the text must
//! keep whatever the rule set — every clause present, points adding up to the
//! total, byte-for-byte determinism — and the plain-Chinese rule descriptions.

use credit_rules::compile::CompiledRuleSet;
use credit_rules::render::{MANDATORY_TAG, render_markdown};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULESETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rulesets");

/// The shipped rule sets, and the compiled rule set a file declares.
fn shipped() -> Workspace {
    Workspace::load(Path::new(RULESETS)).expect("the rule-set folder is readable")
}

fn compile_file(workspace: &Workspace, path: &Path) -> CompiledRuleSet {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let id = workspace
        .files
        .iter()
        .find(|(p, _)| canonical(p) == canonical(path))
        .and_then(|(_, id)| id.clone())
        .unwrap_or_else(|| panic!("{} parses: {}", path.display(), workspace.errors.render()));
    workspace
        .compile(&id)
        .unwrap_or_else(|d| panic!("{id} compiles:\n{}", d.render()))
}

/// The Markdown with the rule set's hash redacted, so that editing a comment
/// in a rule file does not change its snapshot.
fn redacted(program: &CompiledRuleSet, markdown: &str) -> String {
    markdown.replace(&program.meta.hash, "[sha256]")
}

#[test]
fn shipped_rule_sets_render_as_tender_text() {
    let workspace = shipped();
    insta::glob!(RULESETS, "**/*.rules", |path| {
        let program = compile_file(&workspace, path);
        let markdown = render_markdown(&program, &workspace.library);
        insta::assert_snapshot!(redacted(&program, &markdown));
    });
}

#[test]
fn every_clause_is_printed_with_its_wording_and_basis() {
    let workspace = shipped();
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule sets compile");
        let markdown = render_markdown(&program, &workspace.library);
        for clause in &program.clauses {
            assert!(
                markdown.contains(&format!("`{}`", clause.id))
                    || markdown.contains(&format!("| {} |", clause.id))
                    || markdown.contains(&format!("{}<br>", clause.id)),
                "{id}: clause {} is missing",
                clause.id
            );
            for text in clause.wording.iter().chain(&clause.basis) {
                // The shipped texts hold no Markdown metacharacters, so they appear verbatim.
                assert!(
                    markdown.contains(text.as_str()),
                    "{id}: `{text}` is missing"
                );
            }
            if clause.mandatory {
                let wording = clause.wording.as_deref().unwrap_or_default();
                assert!(
                    markdown.contains(&format!("{MANDATORY_TAG}{wording}")),
                    "{id}: {} is not tagged mandatory",
                    clause.id
                );
            }
        }
        assert_eq!(
            markdown,
            render_markdown(&program, &workspace.library),
            "{id}: rendering is not deterministic"
        );
    }
}

#[test]
fn the_points_column_adds_up_to_the_declared_total() {
    let workspace = shipped();
    for id in workspace.ids() {
        let program = workspace.compile(&id).expect("shipped rule sets compile");
        let Some(total) = program.meta.total else {
            continue;
        };
        let markdown = render_markdown(&program, &workspace.library);
        // Only the score table: other tables (the query channels) are numbered too.
        let scores = markdown
            .split("\n## ")
            .find(|part| part.starts_with("二、信用评分标准"))
            .expect("the chapter has a score part");
        let sum: Decimal = scores
            .lines()
            .filter(|l| {
                l.starts_with("| ")
                    && l.split('|')
                        .nth(1)
                        .is_some_and(|c| c.trim().parse::<u32>().is_ok())
            })
            .map(|l| {
                let cell = l.split('|').nth(3).expect("a points column").trim();
                let number: String = cell
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                    .collect();
                number
                    .parse::<Decimal>()
                    .expect("the points column starts with a number")
            })
            .sum();
        assert_eq!(sum, total, "{id}");
        assert!(
            markdown.contains(&format!("| | **信用总分** | **{}** |", total.normalize())),
            "{id}"
        );
    }
}

/// Renders a rule set given as text, extending the shipped city base.
fn render_text(text: &str) -> String {
    let mut workspace = Workspace::new();
    let id = workspace
        .add_source(SourceFile::new("inline.rules", text), None)
        .expect("the example parses");
    let base = PathBuf::from(RULESETS).join("city/base.rules");
    let base_text = std::fs::read_to_string(&base).expect("the city base is readable");
    workspace.add_source(SourceFile::new("base.rules", base_text), None);
    let program = workspace
        .compile(&id)
        .unwrap_or_else(|d| panic!("{}", d.render()));
    render_markdown(&program, &workspace.library)
}

#[test]
fn points_rules_are_described_in_plain_chinese() {
    let markdown = render_text(
        r#"
ruleset demo.describe {
  title "描述示例" version "1" effective 2024-01-01 unit "武汉市某局"
  extends city.base
  total 12
}
const 处罚回看期 = 3 years
score 行政处罚扣分 {
  wording "近3年内每起行政处罚扣2分，最多扣6分。"
  points -2 * count(records where kind = 行政处罚 and within 处罚回看期)
  cap 0
  floor -6
}
score 罚款扣分 {
  wording "罚款合计超过10万元的扣1分。"
  points if sum(records where kind = 行政处罚, amount) > 10 then -1 else 0
  cap 0
  floor -1
}
score 按严重程度扣分 {
  wording "按严重程度逐条扣分。"
  points sum(records where kind = 不良行为记录 and within 12 months, table severity { 严重: -3, 一般: -1, otherwise: 0 })
  cap 0
  floor -6
}
score 等级 {
  wording "按最近一次等级计分。"
  points table latest(records where kind = 信用等级 and sector = "公路", grade) { "AA": 10, "A": 8, otherwise: 5 }
  cap 10
  floor 0
  weight 0.5
}
score 百分制 {
  wording "以100分为基础扣分，按7%折算。"
  points 100 - 5 * count(records where kind = 不良行为记录 and within 3 years and (sector = "公路" or authority in ["武汉市交通运输局"]))
  cap 100
  floor 0
  weight 0.07
}
veto 严重处罚 {
  wording "近3年内有严重行政处罚的，否决。"
  when count(records where kind = 行政处罚 and severity = 严重 and within 3 years) >= 1
}
flag 已修复 {
  wording "有已信用修复的失信记录的，提示。"
  when any(records where status = 已修复 and kind in [黑名单, 失信被执行人])
}
"#,
    );
    let expected = [
        "近3年内的“行政处罚”记录每条扣2分；本项为扣分项，最多扣6分。",
        "“行政处罚”记录的金额合计高于10万元的，扣1分；否则，计0分；本项为扣分项，最多扣1分。",
        "近12个月内的“不良行为记录”逐条计分（按失信严重程度：严重扣3分，一般扣1分，其他情形（含未标明失信严重程度的）计0分），各条得分相加",
        "按最近一条“信用等级”记录（限行业为“公路”）的等级计分：AA计10分，A计8分，其他情形（含无相应记录的）计5分；本项最高10分，最低0分；按权重0.5折算计入信用分（最高5分）。",
        "以100分为基础，近3年内的“不良行为记录”（限行业为“公路”，或认定机关为“武汉市交通运输局”）每条扣5分；本项最高100分，最低0分；按权重0.07折算计入信用分（最高7分）。",
        "判定规则：近3年内的“行政处罚”记录（限失信严重程度为“严重”）不少于1条。",
        "判定规则：存在“黑名单”或“失信被执行人”记录（限状态为“已信用修复”）。",
        "| 4 | 等级 | 5（10×0.5） |",
        "| | **信用总分** | **12** | 各评分项得分之和；最低-13分 | |",
        "条款明确包含已信用修复或已过公示期记录的除外",
    ];
    for text in expected {
        assert!(markdown.contains(text), "missing `{text}` in:\n{markdown}");
    }
}

/// `x != v` skips records without `x`, `not (x = v)` keeps them: the text
/// says which, and the rule set's own tests check that evaluation agrees.
#[test]
fn negations_say_whether_records_without_the_field_count() {
    let text = r#"
ruleset demo.negation { title "否定示例" version "1" effective 2024-01-01 unit "某局" extends city.base }
flag 非水利 {
  wording "行业不是水利的不良行为记录。"
  when any(records where kind = 不良行为记录 and sector != "水利")
}
flag 不是水利 {
  wording "不是水利行业的不良行为记录。"
  when any(records where kind = 不良行为记录 and not (sector = "水利"))
}
test "没有行业的记录：只有 not (x = v) 成立" {
  as_of 2024-06-01
  record X1 { kind 不良行为记录 date 2024-01-01 }
  expect not flag 非水利
  expect flag 不是水利
}
"#;
    let markdown = render_text(text);
    assert!(
        markdown.contains("判定规则：存在“不良行为记录”（限已标明行业且不为“水利”）。"),
        "{markdown}"
    );
    assert!(
        markdown.contains("判定规则：存在“不良行为记录”（限行业不为“水利”（含未标明行业的））。"),
        "{markdown}"
    );
    let mut workspace = Workspace::new();
    let id = workspace
        .add_source(SourceFile::new("inline.rules", text), None)
        .expect("parses");
    let base =
        std::fs::read_to_string(PathBuf::from(RULESETS).join("city/base.rules")).expect("base");
    workspace.add_source(SourceFile::new("base.rules", base), None);
    let program = workspace.compile(&id).expect("compiles");
    for result in credit_rules::testing::run_tests(&program) {
        assert!(
            result.passed(),
            "{}: {}",
            result.name,
            result.failures.render()
        );
    }
}

/// `mandatory` in a sector rule set is not a city-wide clause: it gets the
/// plain 〔强制〕 tag, while the inherited city clauses keep theirs.
#[test]
fn only_city_base_clauses_are_tagged_city_wide() {
    let markdown = render_text(
        r#"
ruleset demo.sector-mandatory { title "强制示例" version "1" effective 2024-01-01 unit "某局" extends city.base }
veto mandatory 行业强制 {
  wording "行业强制条款。"
  when any(records where kind = 取消投标资格)
}
"#,
    );
    assert!(
        markdown.contains("\n3. 〔强制〕行业强制条款。\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("\n1. {MANDATORY_TAG}被列入")),
        "{markdown}"
    );
}

#[test]
fn markdown_metacharacters_in_wording_are_escaped() {
    let markdown = render_text(
        r#"
ruleset demo.escape { title "转义 | 示例" version "1" effective 2024-01-01 unit "某局" extends city.base }
flag 提示 {
  wording "含有 | 竖线和 *星号* 的表述"
  when any(records where kind = 重点关注名单)
}
"#,
    );
    assert!(
        markdown.contains("含有 \\| 竖线和 \\*星号\\* 的表述"),
        "{markdown}"
    );
    assert!(markdown.starts_with("# 转义 \\| 示例\n"), "{markdown}");
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_renders_by_id_by_file_and_to_a_file() {
    let (code, by_id, err) = run(&["render", "water"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        by_id.starts_with("# 武汉市水务工程建设项目招标投标信用信息应用规则\n"),
        "{by_id}"
    );
    let (code, by_file, err) = run(&["render", "rulesets/water/water.rules", "--lib", "rulesets"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(by_id, by_file);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("water.md");
    let (code, stdout, err) = run(&[
        "render",
        "water",
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).expect("the file was written"),
        by_id
    );
}

#[test]
fn cli_names_the_known_rule_sets_for_an_unknown_id() {
    let (code, out, err) = run(&["render", "watr"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("error[E0302]: unknown rule set `watr`"),
        "{err}"
    );
    assert!(err.contains("did you mean `water`?"), "{err}");
}

#[test]
fn a_clause_on_the_tender_context_renders_in_words() {
    let markdown = render_text(
        r#"
ruleset demo.context {
  title "项目信息示例" version "1" effective 2024-01-01 unit "武汉市某局"
  extends city.base
}
flag 大型施工项目 {
  wording "预算400万元以上的施工项目，提请评标委员会关注投标人的行政处罚。"
  when tender.budget > 4000000 and 项目.类型 = "施工" and any(records where kind = 行政处罚)
}
"#,
    );
    assert!(markdown.contains("预算400万元以上的施工项目"), "{markdown}");
}
