//! Unit tests of the formatter: layout, comments, line breaking.

use super::layout::{Doc, WIDTH};
use super::*;
use unicode_width::UnicodeWidthStr;
fn fmt(text: &str) -> String {
    let file = SourceFile::new("t.rules", text);
    match format_source(&file) {
        Ok(out) => out,
        Err(d) => panic!("{}", d.render()),
    }
}

/// Formats, and checks that formatting again changes nothing.
fn fmt_stable(text: &str) -> String {
    let once = fmt(text);
    assert_eq!(fmt(&once), once, "formatting is not idempotent");
    once
}

#[test]
fn a_single_clause_prints_in_the_dialect_asked_for() {
    let file = SourceFile::new(
        "t.rules",
        "规则集 t { 标题 \"t\" }\n提示 经营异常 { // 注释\n 条件 存在(记录 满足 类别 = 经营异常名录 且 近 1 年) }\n",
    );
    let ast = crate::syntax::parse(&file).expect("parses");
    let clause = ast.clauses().next().expect("one clause");
    assert_eq!(
        format_clause(clause, Dialect::English),
        // Keywords follow the dialect; names (a field, a kind) stay as written.
        "flag 经营异常 {\n  when any(records where 类别 = 经营异常名录 and within 1 year)\n}\n"
    );
    let when = clause.when.as_ref().expect("a condition");
    assert_eq!(
        format_expr(when, Dialect::Chinese),
        "存在(记录 满足 类别 = 经营异常名录 且 近 1 年)"
    );
}

/// The points expression of `score s`, formatted.
fn points(expr: &str) -> String {
    let text = format!("ruleset t {{ title \"t\" }}\nscore s {{ points {expr} }}\n");
    let out = fmt_stable(&text);
    let line = out.lines().find(|l| l.trim_start().starts_with("points"));
    line.map(|l| l.trim_start()["points ".len()..].to_string())
        .unwrap_or_default()
}

#[test]
fn english_file_gets_the_canonical_layout() {
    let text = r#"ruleset demo.x { total 10 title "Demo" effective 2020-01-01 version "1" extends city.base }
const window = 3 years   const one=1 year


remove 经营异常

score grade { floor 0 cap 10 weight 0.50 points table latest(records where kind=信用等级,grade){"AAA":10 "AA":8, otherwise 3} wording "w" }
veto mandatory ban { when any(records where kind = 取消投标资格 and within window) }

test "t" { expect total 4 record "R 2" { kind 信用等级 amount -1.5 } as_of 2024-02-29 record R1 { } expect points grade 4 expect eligible }
"#;
    let expected = r#"ruleset demo.x {
  title     "Demo"
  version   "1"
  effective 2020-01-01
  extends   city.base
  total     10
}

const window = 3 years
const one    = 1 year

remove 经营异常

score grade {
  wording "w"
  points  table latest(records where kind = 信用等级, grade) { "AAA": 10, "AA": 8, otherwise: 3 }
  cap     10
  floor   0
  weight  0.50
}
veto mandatory ban {
  when any(records where kind = 取消投标资格 and within window)
}

test "t" {
  as_of 2024-02-29
  record "R 2" { kind 信用等级 amount -1.5 }
  record R1 {}
  expect total 4
  expect points grade 4
  expect eligible
}
"#;
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn chinese_file_keeps_chinese_keywords() {
    let text = "规则集 示例.中文 { 总分 3 标题 \"示例\" 继承 city.base 生效日期 2019-12-31 责任单位 \"局\" 行业 \"交通\" 版本 \"1\" 依据 \"号\" }
常量 回看期 = 3 年
删除 经营异常

否决 强制 等级为D { 依据 \"号\" 表述 \"否决\" 条件 最近(记录 满足 类别 = 信用等级 并且 行业 = \"公路\", 等级) 默认 \"B\" = \"D\" }

评分 加分 { 下限 0 上限 3 权重 1 得分 对照 最近(记录, 等级) { \"AA\": 3, 是: 2, 其他: 0 } }

提示 近期 { 条件 非 不存在(记录 满足 类别 属于 [行政处罚, 不良] 或者 近 12 月) 或 计数(记录) > 评价日期 - 90 天 }

评分 扣分 { 得分 如果 存在(记录) 则 0 - 合计(记录 满足 近 1 年, 金额) 否则 最大(记录, 金额) 默认 0 × 2 }

测试 \"中文\" { 预期 合格 记录 R1 { 类别 信用等级 日期 2023-04-15 } 评价日期 2024-06-01 预期 得分 加分 3 预期 否决 等级为D 预期 提示 近期 预期 不合格 预期 总分 -1 }
";
    let expected = "规则集 示例.中文 {
  标题     \"示例\"
  行业     \"交通\"
  版本     \"1\"
  生效日期 2019-12-31
  责任单位 \"局\"
  依据     \"号\"
  继承     city.base
  总分     3
}

常量 回看期 = 3 年
删除 经营异常

否决 强制 等级为D {
  表述 \"否决\"
  依据 \"号\"
  条件 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) 默认 \"B\" = \"D\"
}

评分 加分 {
  得分 对照 最近(记录, 等级) { \"AA\": 3, 是: 2, 其他: 0 }
  上限 3
  下限 0
  权重 1
}

提示 近期 {
  条件 非 不存在(记录 满足 类别 属于 [行政处罚, 不良] 或 近 12 个月)
       或 计数(记录) > 评价日期 - 90 日
}

评分 扣分 {
  得分 如果 存在(记录) 则 0 - 合计(记录 满足 近 1 年, 金额) 否则 最大(记录, 金额) 默认 0 * 2
}

测试 \"中文\" {
  评价日期 2024-06-01
  记录 R1 { 类别 信用等级 日期 2023-04-15 }
  预期 合格
  预期 得分 加分 3
  预期 否决 等级为D
  预期 提示 近期
  预期 不合格
  预期 总分 -1
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn tender_fields_and_notes_keep_their_dialect_and_canonical_place() {
    let text = "规则集 示例.招标 { 备注 \"内部\" 信用承诺 \"承诺\" 查询渠道 \"信用中国\" [行政处罚，行政许可] 标题 \"示例\" 查询时点 \"开标当日\" 版本 \"1\" 生效日期 2024-01-01 查询留存 \"截图留存\" 查询渠道 \"执行信息公开网\" [失信被执行人] }
否决 甲 { 条件 存在(记录) 备注 \"示例\" 表述 \"w\" }
";
    let expected = "规则集 示例.招标 {
  标题     \"示例\"
  版本     \"1\"
  生效日期 2024-01-01
  查询渠道 \"信用中国\" [行政处罚, 行政许可]
  查询渠道 \"执行信息公开网\" [失信被执行人]
  查询时点 \"开标当日\"
  查询留存 \"截图留存\"
  信用承诺 \"承诺\"
  备注     \"内部\"
}

否决 甲 {
  表述 \"w\"
  备注 \"示例\"
  条件 存在(记录)
}
";
    assert_eq!(fmt_stable(text), expected);
    let english = "ruleset demo.t { title \"t\" version \"1\" effective 2024-01-01 note \"n\" query_evidence \"e\" }\n";
    assert_eq!(
        fmt_stable(english),
        "ruleset demo.t {\n  title          \"t\"\n  version        \"1\"\n  effective      2024-01-01\n  query_evidence \"e\"\n  note           \"n\"\n}\n"
    );
}

#[test]
fn full_width_punctuation_and_chinese_quotes_become_ascii() {
    let text = "规则集 示例.全角 ｛
  标题 “全角“标点”
  版本 “a\\b”
｝
常量 禁入 ＝ 【黑名单、失信被执行人，甲】

评分 等级 ｛
  得分 对照 最近（记录，等级） ｛ “A”：3， 其他：0 ｝ × 2 ÷ 1
  条件 甲 ≠ 乙 且 甲 ≤ 1 且 乙 ≥ 2 且 丙 == 3
｝
";
    let expected = "规则集 示例.全角 {
  标题 \"全角“标点\"
  版本 \"a\\\\b\"
}

常量 禁入 = [黑名单, 失信被执行人, 甲]

评分 等级 {
  条件 甲 != 乙 且 甲 <= 1 且 乙 >= 2 且 丙 = 3
  得分 对照 最近(记录, 等级) { \"A\": 3, 其他: 0 } * 2 / 1
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn strings_are_escaped() {
    let text = "ruleset t { title \"a\\\"b\\\\c\\nd # not a comment // nor this\" }\n";
    let out = fmt_stable(text);
    assert!(
        out.contains(r#"title "a\"b\\c\nd # not a comment // nor this""#),
        "{out}"
    );
}

#[test]
fn comments_are_kept_in_place() {
    let text = "// file comment

# second paragraph
ruleset t { // on the header line
  // before version
  version \"1\" # after version
  title \"t\"
  // before the closing brace
}
// before the clause
score s {
  points a +
    b  // after points
  // before cap
  cap (1) // after cap
} // after the clause

test \"x\" {
  expect eligible // after expect
  // before as_of
  as_of 2024-01-01
}
// at the end

// really the end
";
    let expected = "// file comment

# second paragraph
ruleset t {  // on the header line
  title   \"t\"
  // before version
  version \"1\"  # after version
  // before the closing brace
}

// before the clause
score s {
  points a + b  // after points
  // before cap
  cap    1  // after cap
}  // after the clause

test \"x\" {
  // before as_of
  as_of 2024-01-01
  expect eligible  // after expect
}
// at the end

// really the end
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn comments_next_to_keywords_and_brackets_stay_on_the_line() {
    let text = "ruleset t { title \"t\" }
veto v
{ // after the brace
  when ( // after the bracket
    a or b)
}
";
    let expected = "ruleset t {
  title \"t\"
}

veto v {  // after the brace
  when a or b  // after the bracket
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn comments_after_an_if_are_not_inside_it() {
    // The parser's span of `if … else x` runs on over the comments after `x`.
    let text = "ruleset t { title \"t\" }
const c = if a then 1 else 2 // after the constant
// before the clause
score s {
  points if a then 1 else 2 # after points
  // before cap
  cap 1
}
";
    let expected = "ruleset t {
  title \"t\"
}

const c = if a then 1 else 2   // after the constant
// before the clause
score s {
  points if a then 1 else 2  # after points
  // before cap
  cap    1
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn newer_forms_are_printed() {
    let text = "规则集 t { 标题 \"t\" }
删除 bad-records
评分 bad-points { 得分 对照 严重程度 { 严重: -3, 一般: -1 } }
测试 \"x\" { 预期 非 否决 黑名单 预期 非 提示 bad-records 预期 得分 bad-points -3 }
";
    let out = fmt_stable(text);
    for line in [
        "删除 bad-records",
        "评分 bad-points {",
        "  得分 对照 严重程度 { 严重: -3, 一般: -1 }",
        "  预期 非 否决 黑名单",
        "  预期 非 提示 bad-records",
        "  预期 得分 bad-points -3",
    ] {
        assert!(out.lines().any(|l| l == line), "missing `{line}` in\n{out}");
    }
}

#[test]
fn comment_inside_an_expression_is_an_error() {
    let text = "ruleset t { title \"t\" }
score s {
  points a +
    // explains b
    b
}
";
    let file = SourceFile::new("t.rules", text);
    let errors = format_source(&file).expect_err("the comment cannot be kept");
    let d = errors.iter().next().expect("one diagnostic");
    assert_eq!(d.code, "E0500");
    assert_eq!(d.message, "cannot keep the comment inside an expression");
    assert_eq!(
        d.help.as_deref(),
        Some("move the comment to its own line above the clause")
    );
    let start = text.find("// explains").unwrap_or_default();
    assert_eq!(d.location.as_deref().map(|(_, s)| s.start), Some(start));
}

#[test]
fn two_comments_for_one_line_is_an_error() {
    let text = "ruleset t { title \"t\" }\nflag f {\n  when ( // one\n    a) // two\n}\n";
    let file = SourceFile::new("t.rules", text);
    let errors = format_source(&file).expect_err("only one trailing comment fits");
    assert_eq!(errors.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0500"]);
}

#[test]
fn parentheses_follow_precedence() {
    let cases = [
        ("(a + b) * c", "(a + b) * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a * (b / c)", "a * (b / c)"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) and b", "not a and b"),
        ("not (a = b)", "not (a = b)"),
        ("not a in b", "not (a in b)"),
        ("not a + b", "not a + b"),
        ("(not a) = b", "(not a) = b"),
        ("a = (not b)", "a = (not b)"),
        ("not not a", "not (not a)"),
        ("-(x)", "-x"),
        ("-(a + b)", "-(a + b)"),
        ("- -x", "- -x"),
        ("-a * b", "-a * b"),
        ("-(a * b)", "-(a * b)"),
        ("a - -1", "a - -1"),
        ("((a))", "a"),
        ("a or (b and c)", "a or (b and c)"),
        ("a and b or c", "(a and b) or c"),
        ("a or b or c and d", "a or b or (c and d)"),
        ("(a or b) and c", "(a or b) and c"),
        ("a otherwise (b or c)", "a otherwise (b or c)"),
        ("(a otherwise b) + 1", "a otherwise b + 1"),
        ("a + (b otherwise c)", "a + b otherwise c"),
        ("(-a) otherwise b", "-a otherwise b"),
        ("a otherwise (b otherwise c)", "a otherwise (b otherwise c)"),
        ("(a in b) = c", "a in b = c"),
        ("a = (b in c)", "a = (b in c)"),
        ("(if a then 1 else 2) + 3", "(if a then 1 else 2) + 3"),
        ("1 + (if a then 1 else 2)", "1 + (if a then 1 else 2)"),
        (
            "if a then 1 else (if b then 2 else 3)",
            "if a then 1 else if b then 2 else 3",
        ),
        (
            "if (if a then b else c) then 1 else 2",
            "if (if a then b else c) then 1 else 2",
        ),
        ("if a then 1 else 2 + 3", "if a then 1 else 2 + 3"),
        ("[(a or b), (c)]", "[a or b, c]"),
        (
            "count(records where (kind = x) and within 3 years)",
            "count(records where kind = x and within 3 years)",
        ),
        ("sum(records, (amount))", "sum(records, amount)"),
        ("table (a + b) { 1: 2 }", "table a + b { 1: 2 }"),
        ("table k { }", "table k {}"),
        ("any(records)", "any(records)"),
    ];
    for (input, expected) in cases {
        assert_eq!(points(input), expected, "formatting `{input}`");
    }
}

#[test]
fn durations_and_numbers_are_canonical() {
    assert_eq!(points("within 1 years"), "within 1 year");
    assert_eq!(points("within 12 month"), "within 12 months");
    assert_eq!(points("within 90 天"), "within 90 days");
    assert_eq!(points("0.50 + 1.0 + 007"), "0.50 + 1.0 + 7");
    assert_eq!(points("2019-12-31 - as_of"), "2019-12-31 - as_of");
    assert_eq!(points("true ≠ 否"), "true != false");
}

#[test]
fn formatting_is_idempotent_on_the_example() {
    let text = "// head
ruleset city.base {
  title \"统一规则\"
  basis \"号\"
}

// 黑名单
veto mandatory 黑名单 {
  wording \"不得参与\"
  when    any(records where kind in [黑名单, 公共资源交易严重失信主体])
}

test \"黑名单\" {
  as_of 2024-06-01
  record L1 { kind 黑名单 date 2023-02-15 until 2025-02-15 }
  expect veto 黑名单
}
";
    assert_eq!(fmt_stable(text), text);
}

#[test]
fn syntax_errors_are_passed_through() {
    let file = SourceFile::new("t.rules", "ruleset t { title }");
    let errors = format_source(&file).expect_err("does not parse");
    assert_eq!(errors.iter().next().map(|d| d.code), Some("E0001"));
}

#[test]
fn comment_scanner_skips_strings() {
    let comments = scan_comments("a \"x # y \\\" // z\" “p # q” // real\r\n# two");
    let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["// real", "# two"]);
    assert!(!comments[0].own_line && comments[1].own_line);
}

// -- Blank lines and runs of constants ---------------------------------

#[test]
fn constants_written_together_are_aligned() {
    let text = "ruleset t { title \"t\" }
const a = 1   // one
const long_name = 2 years // two
const bb = [x, y]


const c = 3
// starts a new alignment
const cccccc = 4  // four
const d = 5 // five
const 部门 = [\"武汉市住房保障和房屋管理局\", \"湖北省住房和城乡建设厅\", \"中华人民共和国住房和城乡建设部\", \"国家林业和草原局\"]
";
    let expected = "ruleset t {
  title \"t\"
}

const a         = 1         // one
const long_name = 2 years   // two
const bb        = [x, y]

const c = 3
// starts a new alignment
const cccccc = 4   // four
const d      = 5   // five
const 部门   = [
  \"武汉市住房保障和房屋管理局\", \"湖北省住房和城乡建设厅\", \"中华人民共和国住房和城乡建设部\",
  \"国家林业和草原局\"
]
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn chinese_constants_align_by_display_width() {
    let text = "规则集 t { 标题 \"t\" }
常量 回看期 = 3 年 // 行贿犯罪
常量 处罚回看期 = 2 年 // 处罚
常量 ab = 1   常量 不良行为扣分下限 = -3 # 下限
";
    // A CJK character is two columns wide: `处罚回看期` (10) is as wide as
    // `ab` and eight spaces.
    let expected = "规则集 t {
  标题 \"t\"
}

常量 回看期           = 3 年   // 行贿犯罪
常量 处罚回看期       = 2 年   // 处罚
常量 ab               = 1
常量 不良行为扣分下限 = -3     # 下限
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn items_keep_the_authors_blank_lines() {
    let text = "ruleset t { title \"t\" }
flag a { when x }
flag b { when y }



// about c

flag c { when z } // after c
remove d   remove e

test \"t\" { expect eligible }
";
    let expected = "ruleset t {
  title \"t\"
}

flag a {
  when x
}
flag b {
  when y
}

// about c

flag c {
  when z
}  // after c
remove d
remove e

test \"t\" {
  expect eligible
}
";
    assert_eq!(fmt_stable(text), expected);
}

// -- Wrapping ------------------------------------------------------------

#[test]
fn long_conditions_break_before_and_and_or() {
    let text = "ruleset t { title \"t\" }
veto v { when any(records where kind = 行政处罚 and within 重大违法回看期 and status in [有效, 已过公示期] and (penalty in 停产停业吊销类别 or (penalty in 罚款类别 and amount >= 较大数额罚款标准) or (penalty = \"较大数额罚款\" and as_of < 统一标准施行日))) or any(records where kind = 行贿犯罪记录 and within 重大违法回看期 and status in [有效, 已过公示期]) }
";
    // The outer `or` breaks before every operator, aligned under the
    // start; the filters fill their first line, then one condition per
    // line, one step in from `records`; bracketed chains align inside.
    let expected = "ruleset t {
  title \"t\"
}

veto v {
  when any(records where kind = 行政处罚 and within 重大违法回看期 and status in [有效, 已过公示期]
             and (penalty in 停产停业吊销类别
                  or (penalty in 罚款类别 and amount >= 较大数额罚款标准)
                  or (penalty = \"较大数额罚款\" and as_of < 统一标准施行日)))
       or any(records where kind = 行贿犯罪记录 and within 重大违法回看期
                and status in [有效, 已过公示期])
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn long_chinese_conditions_break_before_qie_and_huo() {
    let text = "规则集 t { 标题 \"t\" }
提示 f { 条件 （存在(记录 满足 类别 = 行政处罚) 且 计数(记录 满足 类别 = 不良行为记录 且 近 3 年) > 3 且 非 存在(记录 满足 类别 = 表彰奖励)） 或 不存在(记录 满足 类别 = 表彰奖励 且 近 3 年) }
";
    let expected = "规则集 t {
  标题 \"t\"
}

提示 f {
  条件 (存在(记录 满足 类别 = 行政处罚)
        且 计数(记录 满足 类别 = 不良行为记录 且 近 3 年) > 3
        且 非 存在(记录 满足 类别 = 表彰奖励))
       或 不存在(记录 满足 类别 = 表彰奖励 且 近 3 年)
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn long_sums_break_before_plus_and_minus() {
    let text = "规则集 t { 标题 \"t\" }
评分 s { 得分 基础分 - 不良记录扣分 × 计数(记录 满足 类别 = 不良行为记录 且 近 回看期) - 处罚扣分 × 计数(记录 满足 类别 = 行政处罚 且 近 处罚回看期 且 （行业 属于 交通行业 或 认定机关 属于 交通主管部门）) 上限 基础分 }
";
    let expected = "规则集 t {
  标题 \"t\"
}

评分 s {
  得分 基础分
       - 不良记录扣分 * 计数(记录 满足 类别 = 不良行为记录 且 近 回看期)
       - 处罚扣分 * 计数(记录 满足 类别 = 行政处罚 且 近 处罚回看期
                           且 (行业 属于 交通行业 或 认定机关 属于 交通主管部门))
  上限 基础分
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn long_ifs_break_into_if_then_else_lines() {
    let english = "ruleset t { title \"t\" }
score s { points if any(records where kind = 信用等级 and sector = \"水利\" and within 3 years) then table latest(records where kind = 信用等级 and sector = \"水利\", grade) { \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, otherwise: 无等级得分 } else (if any(records where kind = 不良行为记录) then 1 else 2) }
";
    // The table hangs from its own start; the `else if` continues the chain.
    let expected = "ruleset t {
  title \"t\"
}

score s {
  points if any(records where kind = 信用等级 and sector = \"水利\" and within 3 years)
         then table latest(records where kind = 信用等级 and sector = \"水利\", grade) {
                \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, otherwise: 无等级得分
              }
         else if any(records where kind = 不良行为记录)
         then 1
         else 2
}
";
    assert_eq!(fmt_stable(english), expected);
    let chinese = "规则集 t { 标题 \"t\" }
评分 s { 得分 如果 存在(记录 满足 类别 = 信用等级 且 行业 = \"公路\") 则 对照 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) { \"AA\": 3, \"A\": 2, \"B\": 1, \"C\": 0, \"D\": 0, 其他: 0 } 否则 （如果 存在(记录 满足 类别 = 不良行为记录 且 近 回看期) 则 无等级有不良记录 否则 无等级无不良记录） }
";
    let expected = "规则集 t {
  标题 \"t\"
}

评分 s {
  得分 如果 存在(记录 满足 类别 = 信用等级 且 行业 = \"公路\")
       则 对照 最近(记录 满足 类别 = 信用等级 且 行业 = \"公路\", 等级) {
            \"AA\": 3, \"A\": 2, \"B\": 1, \"C\": 0, \"D\": 0, 其他: 0
          }
       否则 如果 存在(记录 满足 类别 = 不良行为记录 且 近 回看期)
       则 无等级有不良记录
       否则 无等级无不良记录
}
";
    assert_eq!(fmt_stable(chinese), expected);
}

#[test]
fn long_tables_fill_their_lines() {
    let text = "ruleset t { title \"t\" }
const grades = table grade { \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, \"D\": 0, \"E\": 0, \"F\": 0, \"G\": 0, \"H\": 0, \"I\": 0, \"J\": 0, otherwise: 0 }
score s { points table latest(records where kind = 信用等级 and sector in 信息化行业, grade) { \"AAA\": 3, \"AA\": 2.5, \"A\": 2, \"BBB\": 1.5, \"BB\": 1, \"B\": 0.5, \"CCC\": 0, \"CC\": 0, \"C\": 0, otherwise: 无等级得分 } }
";
    // A constant's table hangs from the line, a field's from the table.
    let expected = "ruleset t {
  title \"t\"
}

const grades = table grade {
  \"AAA\": 10, \"AA\": 8, \"A\": 6, \"B\": 3, \"C\": 0, \"D\": 0, \"E\": 0, \"F\": 0, \"G\": 0, \"H\": 0, \"I\": 0,
  \"J\": 0, otherwise: 0
}

score s {
  points table latest(records where kind = 信用等级 and sector in 信息化行业, grade) {
           \"AAA\": 3, \"AA\": 2.5, \"A\": 2, \"BBB\": 1.5, \"BB\": 1, \"B\": 0.5, \"CCC\": 0, \"CC\": 0, \"C\": 0,
           otherwise: 无等级得分
         }
}
";
    assert_eq!(
        fmt_stable(&text.replace("}\nscore", "}\n\nscore")),
        expected
    );
}

#[test]
fn long_aggregates_break_after_where_and_before_the_value() {
    let text = "ruleset t { title \"t\" }
score s { points sum(records where kind = 行政处罚 and within 回看期, table severity { 严重: -2, 一般: -0.5, otherwise: 0 }) }
score u { points count(records where kind_of_the_record_with_a_long_name = 行政处罚行政处罚行政处罚行政处罚行政处罚 and within 处罚回看期) }
";
    let expected = "ruleset t {
  title \"t\"
}

score s {
  points sum(records where kind = 行政处罚 and within 回看期,
             table severity { 严重: -2, 一般: -0.5, otherwise: 0 })
}
score u {
  points count(records where
                 kind_of_the_record_with_a_long_name = 行政处罚行政处罚行政处罚行政处罚行政处罚
                 and within 处罚回看期)
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn a_comment_after_a_wrapped_field_ends_its_last_line() {
    let text = "ruleset t { title \"t\" }
score s {
  points 基础分 - 扣分 * count(records where kind = 不良行为记录 and within 回看期 and sector in 水务行业 and authority in 部门) // why
  cap 基础分
}
";
    let expected = "ruleset t {
  title \"t\"
}

score s {
  points 基础分
         - 扣分 * count(records where kind = 不良行为记录 and within 回看期 and sector in 水务行业
                          and authority in 部门)  // why
  cap    基础分
}
";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn a_line_that_fits_stays_whole() {
    // `  when ` (7 columns) and a condition of 93: exactly 100 columns.
    let fits = format!("x = 1 and {}", "y".repeat(93 - 10));
    assert_eq!(fits.width() + "  when ".width(), WIDTH);
    let text = format!("ruleset t {{ title \"t\" }}\nflag f {{ when {fits} }}\n");
    assert!(fmt_stable(&text).contains(&format!("  when {fits}\n")));
    let text = text.replace(&fits, &format!("{fits}y"));
    assert!(fmt_stable(&text).contains("  when x = 1\n       and yyy"));
}

#[test]
fn strings_are_never_broken() {
    let long = "很长的说明".repeat(12);
    let text = format!(
        "ruleset t {{ title \"t\" }}\nflag f {{ when penalty = \"{long}\" and kind = 行政处罚 }}\n"
    );
    let out = fmt_stable(&text);
    assert!(
        out.contains(&format!(
            "  when penalty = \"{long}\"\n       and kind = 行政处罚\n"
        )),
        "{out}"
    );
}

// -- The layout engine -----------------------------------------------------

/// `a b c …` with a line between the words, as a group or a fill.
fn words(count: usize, word: &str) -> Vec<Doc> {
    let mut parts = Vec::new();
    for i in 0..count {
        if i > 0 {
            parts.push(Doc::Line);
        }
        parts.push(Doc::text(word));
    }
    parts
}

#[test]
fn a_group_breaks_all_its_lines_or_none() {
    let short = Doc::group(Doc::align(Doc::Concat(words(3, "word"))));
    assert_eq!(render(&short, 0, 0), "word word word");
    let long = Doc::group(Doc::align(Doc::Concat(words(3, &"w".repeat(40)))));
    let w40 = "w".repeat(40);
    assert_eq!(render(&long, 4, 0), format!("{w40}\n    {w40}\n    {w40}"));
}

#[test]
fn a_fill_breaks_only_where_the_next_item_does_not_fit() {
    let w30 = "w".repeat(30);
    let doc = |sticky| Doc::Fill {
        parts: words(5, &w30),
        sticky,
    };
    // Three fit on a line of 100 (30 + 1 + 30 + 1 + 30 = 92), a fourth does not.
    let filled = format!("{w30} {w30} {w30}\n{w30} {w30}");
    assert_eq!(render(&doc(false), 0, 0), filled);
    let sticky = format!("{w30} {w30} {w30}\n{w30}\n{w30}");
    assert_eq!(render(&doc(true), 0, 0), sticky);
}

#[test]
fn what_follows_a_group_counts_towards_its_width() {
    // Flat, the group would fit, but not with the text after it.
    let w45 = "w".repeat(45);
    let group = Doc::group(Doc::Concat(words(2, &w45)));
    let doc = Doc::Concat(vec![group, Doc::text("))))))))))")]);
    assert_eq!(render(&doc, 0, 2), format!("{w45}\n  {w45}))))))))))"));
}

#[test]
fn tender_context_round_trips_in_both_dialects() {
    let english = "ruleset t { title \"t\" }\nflag big { when tender.budget   > 4000000 and tender.project_type = \"施工\" }\ntest \"x\" { as_of 2024-06-01\n // the call\n context {  budget 5000000 project_type \"施工\" } expect flag big }\n";
    let out = fmt_stable(english);
    assert!(
        out.contains("  when tender.budget > 4000000 and tender.project_type = \"施工\"\n"),
        "{out}"
    );
    assert!(
        out.contains("  // the call\n  context { budget 5000000 project_type \"施工\" }\n"),
        "{out}"
    );
    let chinese = "规则集 t { 标题 \"t\" }\n提示 大 { 条件 项目.预算 > 4000000 }\n测试 \"x\" { 评价日期 2024-06-01 项目 { 预算 5000000 } 预期 提示 大 }\n";
    let out = fmt_stable(chinese);
    assert!(out.contains("  条件 项目.预算 > 4000000\n"), "{out}");
    assert!(out.contains("  项目 { 预算 5000000 }\n"), "{out}");
}
