//! Round trips through the formatter: formatting is idempotent and never
//! changes the syntax tree (spans aside). Random expressions come from
//! proptest; the shipped rule sets and the parse/check/eval case files are
//! checked as they are.

use credit_rules::ast::{Expr, Item, RuleSetAst};
use credit_rules::fmt::format_source;
use credit_rules::source::SourceFile;
use credit_rules::syntax::parse;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthStr;

/// Names that are not keywords in either language.
const NAMES: &[&str] = &["金额", "kind", "黑名单", "amount", "回看期", "x_1", "等级"];

fn leaf() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "0",
        "0.5",
        "12",
        "3.250",
        "\"AAA\"",
        "\"a\\\"b # c // d\\\\\"",
        "“中文 // 不是注释”",
        "2020-01-01",
        "3 years",
        "1 year",
        "12 个月",
        "6 月",
        "90 天",
        "2 日",
        "true",
        "false",
        "是",
        "否",
        "as_of",
        "评价日期",
        "within 3 years",
        "近 回看期",
        "[]",
        "5%",
        "12.5％",
    ]);
    prop_oneof![
        fixed.prop_map(String::from),
        prop::sample::select(NAMES).prop_map(String::from),
    ]
}

/// Binary operators in every spelling, from every precedence level.
fn binary_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "otherwise",
        "默认",
        "or",
        "或",
        "或者",
        "and",
        "且",
        "并且",
        "in",
        "contains",
        "包含",
        "属于",
        "=",
        "==",
        "＝",
        "!=",
        "≠",
        "<",
        "<=",
        "≤",
        ">",
        ">=",
        "≥",
        "+",
        "-",
        "*",
        "×",
        "/",
        "÷",
    ])
}

fn aggregate_fn() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "count",
        "计数",
        "any",
        "存在",
        "none",
        "不存在",
        "sum",
        "合计",
        "max",
        "最大",
        "min",
        "最小",
        "latest",
        "最近",
        "count distinct",
        "计数 不同",
    ])
}

fn table_entry() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "\"AAA\"",
        "“AA”",
        "3",
        "true",
        "2020-01-01",
        "3 years",
        "严重",
    ]);
    let value = prop::sample::select(vec!["10", "-3", "0.5", "满分"]);
    let colon = prop::sample::select(vec![":", "："]);
    (key, colon, value).prop_map(|(k, c, v)| format!("{k}{c} {v}"))
}

/// Source text of a random expression: redundant brackets, full-width
/// punctuation and keywords of both languages mixed freely.
fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 3, |inner| {
        prop_oneof![
            3 => (inner.clone(), binary_op(), inner.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            1 => (inner.clone(), any::<bool>()).prop_map(|(a, wide)| match wide {
                true => format!("（{a}）"),
                false => format!("({a})"),
            }),
            1 => (prop::sample::select(vec!["not ", "非 ", "-", "- "]), inner.clone())
                .prop_map(|(op, a)| format!("{op}{a}")),
            1 => (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                |(c, a, b, zh)| match zh {
                    true => format!("如果 {c} 则 {a} 否则 {b}"),
                    false => format!("if {c} then {a} else {b}"),
                }
            ),
            1 => (
                aggregate_fn(),
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone()),
                any::<bool>(),
            )
                .prop_map(|(f, filter, value, zh)| {
                    let (records, where_, comma) = if zh { ("记录", "满足", "，") } else { ("records", "where", ",") };
                    let filter = filter.map(|e| format!(" {where_} {e}")).unwrap_or_default();
                    let value = value.map(|e| format!("{comma} {e}")).unwrap_or_default();
                    format!("{f}({records}{filter}{value})")
                }),
            1 => (
                prop::sample::select(vec!["min", "最小", "max", "最大", "clamp", "限定"]),
                prop::collection::vec(inner.clone(), 1..4),
                any::<bool>(),
            )
                .prop_map(|(f, args, wide)| match wide {
                    true => format!("{f}（{}）", args.join("，")),
                    false => format!("{f}({})", args.join(", ")),
                }),
            1 => (
                prop::sample::select(vec!["round", "舍入"]),
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec!["half_up", "四舍五入", "half_even", "银行家舍入"]),
            )
                .prop_map(|(f, x, places, mode)| format!("{f}({x}, {places}, {mode})")),
            1 => prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|items| format!("【{}】", items.join("、"))),
            1 => (
                inner.clone(),
                prop::collection::vec(table_entry(), 0..3),
                prop::option::of(prop::sample::select(vec!["otherwise: 0", "其他：满分", "otherwise 1"])),
            )
                .prop_map(|(key, entries, default)| {
                    let mut body = entries.join(", ");
                    if let Some(d) = default {
                        body = format!("{body} {d}");
                    }
                    format!("table {key} {{ {body} }}")
                }),
        ]
    })
}

/// A small valid rule file around `expr`, with comments that must survive.
fn rule_file(expr: &str, chinese: bool) -> String {
    if chinese {
        format!(
            "# 头注释\n规则集 t ｛ 标题 “t” 版本 \"1\" 生效日期 2020-01-01 ｝\n常量 c ＝ {expr} // 常量之后\n// 条款之前\n评分 s {{ // 行尾\n  // 独占一行\n  得分 {expr} # 得分之后\n  上限 1\n}}\n"
        )
    } else {
        format!(
            "// head\nruleset t {{ title \"t\" version \"1\" effective 2020-01-01 }}\nconst c = {expr} // after const\n// before score\nscore s {{ // trailing\n  // own line\n  points {expr} # after points\n  cap 1\n}}\n"
        )
    }
}

/// The comments `rule_file` writes.
fn comments(chinese: bool) -> &'static [&'static str] {
    if chinese {
        &[
            "# 头注释",
            "// 常量之后",
            "// 条款之前",
            "// 行尾",
            "// 独占一行",
            "# 得分之后",
        ]
    } else {
        &[
            "// head",
            "// after const",
            "// before score",
            "// trailing",
            "// own line",
            "# after points",
        ]
    }
}

fn format_text(name: &str, text: &str) -> String {
    match format_source(&SourceFile::new(name, text)) {
        Ok(out) => out,
        Err(d) => panic!("formatting failed:\n{}\n--- input ---\n{text}", d.render()),
    }
}

fn parse_text(name: &str, text: &str) -> RuleSetAst {
    match parse(&SourceFile::new(name, text)) {
        Ok(ast) => ast,
        Err(d) => panic!("parse failed:\n{}\n--- input ---\n{text}", d.render()),
    }
}

/// `Debug` of the tree with every `Span { … }` blanked out.
fn without_spans(ast: &RuleSetAst) -> String {
    let debug = format!("{ast:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span { start: ") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        rest = match rest[at..].find('}') {
            Some(close) => &rest[at + close + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Every expression of the file, as s-expressions.
fn expressions(ast: &RuleSetAst) -> Vec<String> {
    let mut out = Vec::new();
    for item in &ast.items {
        match item {
            Item::Const(c) => out.push(format!("const {} {}", c.name.value, c.value)),
            Item::Define(d) => out.push(format!("define {} {}", d.name.value, d.value)),
            Item::Clause(c) => {
                let fields = [&c.when, &c.points, &c.weight, &c.cap, &c.floor];
                let shown = fields.iter().map(|e| e.as_ref().map(Expr::to_string));
                let lets: Vec<String> = c
                    .lets
                    .iter()
                    .map(|l| format!("{} {}", l.name.value, l.value))
                    .collect();
                out.push(format!(
                    "{} {lets:?} {:?}",
                    c.id.value,
                    shown.collect::<Vec<_>>()
                ));
            }
            Item::Remove(_) | Item::Test(_) => {}
        }
    }
    out
}

fn header_values(ast: &RuleSetAst) -> String {
    let h = &ast.header;
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        h.id.value,
        h.title.as_ref().map(|v| &v.value),
        h.sector.as_ref().map(|v| &v.value),
        h.version.as_ref().map(|v| &v.value),
        h.effective.as_ref().map(|v| v.value),
        h.unit.as_ref().map(|v| &v.value),
        h.basis.as_ref().map(|v| &v.value),
        h.extends.as_ref().map(|v| &v.value),
        h.total.as_ref().map(|v| v.value),
        h.rounding.as_ref().map(|v| v.value),
        h.allowances
            .iter()
            .map(|a| (&a.code.value, &a.reason.value))
            .collect::<Vec<_>>(),
        ast.dialect,
    )
}

/// Formats `text` twice and checks the two promises of the formatter.
fn assert_round_trip(name: &str, text: &str) -> String {
    let before = parse_text(name, text);
    let once = format_text(name, text);
    let after = parse_text(name, &once);
    assert_eq!(
        expressions(&after),
        expressions(&before),
        "expressions changed:\n{once}"
    );
    assert_eq!(
        header_values(&after),
        header_values(&before),
        "header changed:\n{once}"
    );
    assert_eq!(
        without_spans(&after),
        without_spans(&before),
        "tree changed:\n{once}"
    );
    let twice = format_text(name, &once);
    assert_eq!(twice, once, "not idempotent for:\n{text}");
    once
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_expressions_round_trip(expr in expression(), chinese in any::<bool>()) {
        let text = rule_file(&expr, chinese);
        let once = assert_round_trip("random.rules", &text);
        for comment in comments(chinese) {
            let kept = once.matches(comment).count();
            prop_assert_eq!(kept, 1, "`{}` printed {} times:\n{}", comment, kept, once);
        }
    }
}

// ---------------------------------------------------------------------------
// Long expressions: the formatter must wrap them, and the wrapped form must
// reparse to the same tree and wrap again the same way.
// ---------------------------------------------------------------------------

/// The widest line `fmt` aims for, in display columns.
const WIDTH: usize = 100;

/// A short condition on a record, as the rule sets write them.
fn condition() -> BoxedStrategy<String> {
    prop::sample::select(vec![
        "kind = 行政处罚",
        "类别 = 不良行为记录",
        "within 3 years",
        "近 回看期",
        "sector in 水务行业",
        "行业 属于 [\"公路\", \"交通运输\"]",
        "amount >= 较大数额罚款标准",
        "status in [有效, 已过公示期]",
        "not (authority in 本省部门)",
        "非 严重程度 = 轻微",
        "penalty = \"较大数额罚款\"",
        "as_of < 2022-02-08",
    ])
    .prop_map(String::from)
    .boxed()
}

/// `and`/`or` in every spelling.
fn connective() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["and", "且", "并且", "or", "或", "或者"])
}

/// `c1 and c2 or c3 …`, each condition perhaps a bracketed chain itself.
fn chain(conditions: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let operand = prop_oneof![
        3 => conditions.clone(),
        1 => prop::collection::vec(conditions, 2..4).prop_map(|cs| format!("({})", cs.join(" or "))),
    ];
    (
        operand.clone(),
        prop::collection::vec((connective(), operand), 1..10),
    )
        .prop_map(|(first, rest)| {
            let mut out = first;
            for (op, operand) in rest {
                out = format!("{out} {op} {operand}");
            }
            out
        })
        .boxed()
}

/// An aggregate over a long filter, perhaps with a value argument.
fn long_aggregate() -> BoxedStrategy<String> {
    let value = prop::option::of(prop::sample::select(vec![
        "amount",
        "table severity { 严重: -3, 一般: -1, otherwise: 0 }",
        "if amount >= 5 then -2 else -1",
    ]));
    (aggregate_fn(), chain(condition()), value, any::<bool>())
        .prop_map(|(f, filter, value, zh)| {
            let (records, where_) = if zh {
                ("记录", "满足")
            } else {
                ("records", "where")
            };
            let value = value.map(|v| format!(", {v}")).unwrap_or_default();
            format!("{f}({records} {where_} {filter}{value})")
        })
        .boxed()
}

/// A table with many entries.
fn long_table() -> BoxedStrategy<String> {
    (
        prop::collection::vec(table_entry(), 4..24),
        prop::option::of(prop::sample::select(vec![
            "otherwise: 无等级得分",
            "其他：0",
        ])),
    )
        .prop_map(|(entries, default)| {
            let default = default.map(|d| format!(", {d}")).unwrap_or_default();
            let key = "latest(records where kind = 信用等级 and sector in 水务行业, grade)";
            format!("table {key} {{ {}{default} }}", entries.join(", "))
        })
        .boxed()
}

/// A list with many items.
fn long_list() -> BoxedStrategy<String> {
    let item = prop::sample::select(vec![
        "\"武汉市水务局\"",
        "\"湖北省水利厅\"",
        "\"中华人民共和国水利部\"",
        "黑名单",
        "失信被执行人",
        "x_1",
    ]);
    prop::collection::vec(item, 4..20)
        .prop_map(|items| format!("[{}]", items.join(", ")))
        .boxed()
}

/// Expressions long enough to need several lines: deep and/or chains,
/// long filters, sums of terms, `if` chains, long tables and lists.
fn long_expression() -> BoxedStrategy<String> {
    let operand = prop_oneof![
        2 => long_aggregate(),
        1 => condition(),
        1 => long_table(),
    ]
    .boxed();
    let term = (
        prop::sample::select(vec!["每条扣分", "2", "基础分"]),
        long_aggregate(),
    )
        .prop_map(|(n, agg)| format!("{n} * {agg}"));
    prop_oneof![
        2 => chain(operand.clone()),
        1 => (term.clone(), prop::collection::vec((prop::sample::select(vec!["+", "-"]), term), 1..4))
            .prop_map(|(first, rest)| rest.into_iter().fold(first, |out, (op, t)| format!("{out} {op} {t}"))),
        1 => (prop::collection::vec((chain(condition()), operand.clone()), 1..4), operand.clone(), any::<bool>())
            .prop_map(|(links, last, zh)| {
                let (if_, then, else_) = if zh { ("如果", "则", "否则") } else { ("if", "then", "else") };
                let mut out = String::new();
                for (c, a) in links {
                    out.push_str(&format!("{if_} {c} {then} ({a}) {else_} "));
                }
                out + &format!("({last})")
            }),
        1 => long_table(),
        1 => long_list(),
        1 => long_aggregate(),
    ]
    .boxed()
}

/// Lines of `text` whose code (trailing comments aside: they do not count)
/// is wider than `fmt` aims for, by display width.
fn wide_lines<'t>(text: &'t str, comments: &[&str]) -> Vec<&'t str> {
    let code = |line: &'t str| {
        let cut = comments.iter().find_map(|c| line.strip_suffix(c));
        cut.unwrap_or(line).trim_end()
    };
    text.lines().filter(|l| code(l).width() > WIDTH).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn long_expressions_wrap_and_round_trip(expr in long_expression(), chinese in any::<bool>()) {
        let text = rule_file(&expr, chinese);
        let once = assert_round_trip("long.rules", &text);
        for comment in comments(chinese) {
            let kept = once.matches(comment).count();
            prop_assert_eq!(kept, 1, "`{}` printed {} times:\n{}", comment, kept, once);
        }
        // Every piece of these expressions is short, so wrapping can always
        // keep within the width.
        let wide = wide_lines(&once, comments(chinese));
        prop_assert!(wide.is_empty(), "lines wider than {}: {:?}\n{}", WIDTH, wide, once);
    }
}

// ---------------------------------------------------------------------------
// Runs of constants: the author's blank lines stay, and a run is aligned.
// ---------------------------------------------------------------------------

/// What separates two constants in the source, and whether that is a blank line.
fn separator() -> impl Strategy<Value = (&'static str, bool)> {
    prop::sample::select(vec![
        (" ", false),
        ("\n", false),
        ("   // trailing\n", false),
        ("\n// own line\n", false),
        ("\n\n", true),
        ("\n\n\n\n", true),
        ("  // trailing\n\n// own line\n", true),
        // The blank line after a comment line is kept with the comment.
        ("\n// own line\n\n", true),
    ])
}

/// `const name = value` in either language, names of mixed widths.
fn constant() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "a",
        "回看期",
        "不良行为扣分下限",
        "long_name_x",
        "甲乙",
    ]);
    let value = prop_oneof![
        4 => leaf(),
        1 => long_list(),
        1 => long_expression(),
    ];
    (name, value, any::<bool>()).prop_map(|(name, value, zh)| {
        let keyword = if zh { "常量" } else { "const" };
        format!("{keyword} {name} = {value}")
    })
}

/// The display column of the first ` = ` of `line`.
fn equals_column(line: &str) -> Option<usize> {
    line.find(" = ").map(|at| line[..at].width())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn constant_runs_keep_blank_lines_and_align(
        first in constant(),
        rest in prop::collection::vec((separator(), constant()), 1..8),
        chinese in any::<bool>(),
    ) {
        let header = if chinese { "规则集 t { 标题 \"t\" }" } else { "ruleset t { title \"t\" }" };
        let mut text = format!("{header}\n{first}");
        let mut blanks = 0;
        for ((sep, blank), constant) in &rest {
            text.push_str(sep);
            text.push_str(constant);
            blanks += usize::from(*blank);
        }
        text.push('\n');
        let once = assert_round_trip("consts.rules", &text);
        for comment in ["// trailing", "// own line"] {
            let kept = once.matches(comment).count();
            prop_assert_eq!(kept, text.matches(comment).count(), "`{}` printed {} times:\n{}", comment, kept, once);
        }
        // One blank line after the header, and one wherever the author left any.
        let printed_blanks = once.lines().filter(|l| l.trim().is_empty()).count();
        prop_assert_eq!(printed_blanks, blanks + 1, "blank lines:\n{}", once);
        // Constants on consecutive lines are one run: their `=` line up.
        let is_const = |l: &&str| l.starts_with("const ") || l.starts_with("常量 ");
        let lines: Vec<&str> = once.lines().collect();
        for pair in lines.windows(2) {
            if is_const(&pair[0]) && is_const(&pair[1]) {
                prop_assert_eq!(equals_column(pair[0]), equals_column(pair[1]), "not aligned:\n{}", once);
            }
        }
    }
}

/// Every `*.rules` file under `dir`, recursively, sorted.
fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: cannot list the folder: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: cannot list the folder: {e}", dir.display()))
            .path();
        if path.is_dir() {
            files.extend(rule_files(&path));
        } else if path.extension().is_some_and(|e| e == "rules") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Checks every file under `dir` that parses; returns how many were checked and how many
/// `.rules` files there are.
fn round_trip_dir(dir: &str) -> (usize, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let files = rule_files(&root);
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
        let name = path.display().to_string();
        if parse(&SourceFile::new(name.as_str(), text.as_str())).is_err() {
            continue; // a syntax error case, or a rule set being edited: not the formatter's concern
        }
        assert_round_trip(&name, &text);
        checked += 1;
    }
    (checked, files.len())
}

#[test]
fn shipped_rule_sets_round_trip() {
    let (checked, files) = round_trip_dir("rulesets");
    assert!(checked > 0, "no shipped rule set was checked");
    assert_eq!(
        checked, files,
        "every shipped rule set parses and is checked"
    );
}

#[test]
fn case_files_round_trip() {
    let (checked, _) = round_trip_dir("tests/cases");
    assert!(checked > 0, "no case files were checked");
}
