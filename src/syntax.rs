//! Source text → syntax tree. `parse` runs the pest grammar in
//! `grammar/credit.pest` and lowers its pairs into [`crate::ast`], reporting
//! every problem as a [`Diagnostic`] with a span and help.
//!
//! Input is bounded before pest sees it: files over [`MAX_SOURCE_BYTES`] and
//! nesting deeper than [`MAX_NESTING`] are refused, because pest (like every
//! recursive-descent parser) would otherwise overflow the stack on them.

mod grammar;
pub mod keywords;
mod lower;
mod names;

use crate::ast::RuleSetAst;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use grammar::{DslParser, Rule};
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};

/// The largest rule file accepted (1 MiB); real rule sets are a few KiB.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// The deepest nesting of brackets and `if`s accepted.
pub const MAX_NESTING: usize = 48;

/// The deepest expression tree accepted after operator folding.
pub const MAX_EXPR_DEPTH: u32 = 128;

/// The most decimal places `round` and the header's `rounding` accept.
pub const MAX_ROUND_PLACES: u32 = 10;

/// Parses one rule file into its syntax tree, or returns every syntax problem.
pub fn parse(file: &SourceFile) -> Result<RuleSetAst, Diagnostics> {
    check_bounds(file)?;
    let pairs = DslParser::parse(Rule::ruleset_file, &file.text)
        .map_err(|e| Diagnostics::from(syntax_error(file, e)))?;
    lower::lower_file(file, pairs)
}

/// Refuses input that would make the parser recurse without bound.
fn check_bounds(file: &SourceFile) -> Result<(), Diagnostics> {
    if file.text.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostic::error(
            "E0002",
            format!(
                "rule file is {} bytes, more than the limit of {} bytes",
                file.text.len(),
                MAX_SOURCE_BYTES
            ),
        )
        .with_help("a rule set is normally a few kilobytes; split it or check that the right file was given")
        .into());
    }
    match deepest_nesting(&file.text) {
        Some(at) => Err(Diagnostic::error(
            "E0003",
            format!("nesting deeper than {MAX_NESTING} levels"),
        )
        .at(file, Span::new(at, at + 1))
        .with_help("split the expression into named constants or simpler clauses")
        .into()),
        None => Ok(()),
    }
}

/// Scans brackets and `if`s outside strings and comments; returns the byte
/// offset where nesting first exceeds [`MAX_NESTING`]. An `if` (or `table`) counts as one
/// level until the bracket around it closes, because `else if` chains nest in
/// the grammar even though they read flat.
fn deepest_nesting(text: &str) -> Option<usize> {
    // ifs_per_level[i]: `if`s seen inside the i-th open bracket.
    let mut ifs_per_level = vec![0usize];
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    let mut word = String::new();
    let mut word_start = 0;
    while let Some((i, c)) = chars.next() {
        if c == '_' || c.is_alphanumeric() {
            if word.is_empty() {
                word_start = i;
            }
            word.push(c);
            continue;
        }
        if matches!(word.as_str(), "if" | "如果" | "table" | "对照") {
            depth += 1;
            if let Some(top) = ifs_per_level.last_mut() {
                *top += 1;
            }
            if depth > MAX_NESTING {
                return Some(word_start);
            }
        }
        word.clear();
        match c {
            '(' | '（' | '[' | '【' | '{' | '｛' => {
                depth += 1;
                ifs_per_level.push(0);
            }
            ')' | '）' | ']' | '】' | '}' | '｝' if ifs_per_level.len() > 1 => {
                let ifs = ifs_per_level.pop().unwrap_or(0);
                depth = depth.saturating_sub(1 + ifs);
            }
            '"' => skip_until(&mut chars, |c| c == '"', true),
            '“' => skip_until(&mut chars, |c| c == '”', false),
            '#' => skip_until(&mut chars, |c| c == '\n', false),
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                skip_until(&mut chars, |c| c == '\n', false)
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some(i);
        }
    }
    None
}

fn skip_until(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    end: impl Fn(char) -> bool,
    escapes: bool,
) {
    while let Some((_, c)) = chars.next() {
        if escapes && c == '\\' {
            chars.next();
        } else if end(c) || c == '\n' {
            return;
        }
    }
}

/// Turns a pest error into a diagnostic in the reader's terms.
fn syntax_error(file: &SourceFile, error: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let found = found_token(&file.text, start);
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let message = match &found {
        Some(tok) => format!("expected {expected}, found `{tok}`"),
        None => format!("expected {expected}, found the end of the file"),
    };
    let end = match &found {
        Some(tok) if end == start => start + tok.len(),
        _ => end,
    };
    if let Some(d) = short_date(file, start) {
        return d;
    }
    if let Some(d) = unclosed_block(file, start, found.as_deref()) {
        return d;
    }
    let mut d = Diagnostic::error("E0001", message).at(file, Span::new(start, end));
    if let Some((written, half)) = full_width_run(&file.text, start) {
        d = d.with_help(format!(
            "write `{half}` (half-width) instead of `{written}`"
        ));
    } else if let Some(help) = found.as_deref().and_then(glued_keyword_help) {
        d = d.with_help(help);
    } else if let Some(word) = found.as_deref().filter(|w| is_reserved(w)) {
        d = d.with_help(format!(
            "`{word}` is a keyword and cannot be used as a name; choose another name"
        ));
    } else if found.as_deref() == Some("\"") {
        d = d.with_help("a text must end with `\"` on the same line");
    } else if let Some(help) = unclosed_bracket_help(&file.text, start) {
        d = d.with_help(help);
    } else {
        d = d.with_help(
            "check the line against the examples in the authoring guide (docs/authoring-guide.md)",
        );
    }
    d
}

/// Clause field keywords, grouped in messages.
const CLAUSE_FIELDS: &[Rule] = &[
    Rule::kw_wording,
    Rule::kw_basis,
    Rule::kw_note,
    Rule::kw_let,
    Rule::kw_when,
    Rule::kw_points,
    Rule::kw_weight,
    Rule::kw_cap,
    Rule::kw_floor,
];

/// Infix operators, grouped in messages.
const OPERATORS: &[Rule] = &[
    Rule::op_eq,
    Rule::op_ne,
    Rule::op_le,
    Rule::op_ge,
    Rule::op_lt,
    Rule::op_gt,
    Rule::op_add,
    Rule::op_sub,
    Rule::op_mul,
    Rule::op_div,
    Rule::kw_and,
    Rule::kw_or,
    Rule::kw_in,
    Rule::kw_contains,
    Rule::kw_otherwise,
    Rule::op_and,
    Rule::op_or,
    Rule::op_in,
    Rule::op_contains,
    Rule::op_otherwise,
];

fn describe_expected(positives: &[Rule]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let grouped = |names: &mut Vec<&str>, group: &[Rule], label: &'static str| {
        if positives.iter().filter(|r| group.contains(r)).count() > 1 {
            names.push(label);
        }
    };
    grouped(&mut names, OPERATORS, "an operator (`=`, `+`, `and` …)");
    grouped(
        &mut names,
        CLAUSE_FIELDS,
        "a clause field (`wording` 表述, `basis` 依据, `note` 备注, `let` 设, `when` 条件, `points` 得分, `weight` 权重, `cap` 上限, `floor` 下限)",
    );
    let group_of = |r: &Rule| {
        let count = |g: &[Rule]| positives.iter().filter(|p| g.contains(p)).count();
        (OPERATORS.contains(r) && count(OPERATORS) > 1)
            || (CLAUSE_FIELDS.contains(r) && count(CLAUSE_FIELDS) > 1)
    };
    names.extend(
        positives
            .iter()
            .filter(|r| !group_of(r))
            .map(names::describe),
    );
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(*n));
    match names.as_slice() {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Is `word` a reserved expression keyword? (It looks like a name but is not one.)
fn is_reserved(word: &str) -> bool {
    let looks_like_name = word
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && word.chars().all(|c| c == '_' || c.is_alphanumeric());
    looks_like_name && DslParser::parse(Rule::name, word).map_or(true, |p| p.as_str() != word)
}

/// A date written without leading zeros (`2024-1-10`) around `offset`: explained as a
/// date, with the form to write.
fn short_date(file: &SourceFile, offset: usize) -> Option<Diagnostic> {
    let text = &file.text;
    let is_part = |c: char| c.is_ascii_digit() || c == '-';
    let start = text.get(..offset)?.trim_end_matches(is_part).len();
    let end = offset + text.get(offset..)?.len() - text[offset..].trim_start_matches(is_part).len();
    let written = &text[start..end];
    let parts: Vec<&str> = written.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(year, 4..=4) && digits(month, 1..=2) && digits(day, 1..=2)) {
        return None;
    }
    if month.len() == 2 && day.len() == 2 {
        return None;
    }
    let fixed = format!("{year}-{month:0>2}-{day:0>2}");
    Some(
        Diagnostic::error(
            "E0011",
            format!("`{written}` is not a date in the form YYYY-MM-DD"),
        )
        .at(file, Span::new(start, end))
        .with_help(format!(
            "write a date as YYYY-MM-DD, with two-digit months and days: `{fixed}`"
        )),
    )
}

/// Full-width digits and operators at `offset` (`３`, `＞＝`): what was written and its
/// half-width form. (Full-width brackets, commas and colons are accepted by the grammar.)
fn full_width_run(text: &str, offset: usize) -> Option<(String, String)> {
    let written: String = text
        .get(offset..)?
        .chars()
        .take_while(|c| {
            matches!(
                c,
                '０'..='９' | '＜' | '＞' | '＝' | '！' | '＋' | '－' | '＊' | '／' | '．'
            )
        })
        .collect();
    if written.is_empty() {
        return None;
    }
    let half = written
        .chars()
        .filter_map(|c| char::from_u32(u32::from(c) - 0xFEE0))
        .collect();
    Some((written, half))
}

/// Words that start a top-level item: a clause, constant, removal or test.
const ITEM_STARTS: &[&str] = &[
    "veto", "score", "flag", "const", "remove", "test", "否决", "评分", "提示", "常量", "删除",
    "测试",
];

/// An item keyword at the start of a line while a `{` is still open: the block before
/// it lacks its `}`. The error names that block, not the next one.
fn unclosed_block(file: &SourceFile, offset: usize, found: Option<&str>) -> Option<Diagnostic> {
    let text = &file.text;
    let found = found?;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    if !ITEM_STARTS.contains(&found) || !text[line_start..offset].trim().is_empty() {
        return None;
    }
    let open = innermost_open_brace(text, line_start)?;
    let open_line_start = text[..open].rfind('\n').map_or(0, |i| i + 1);
    let header = text[open_line_start..open].trim();
    let mut words = header.split_whitespace();
    let kind_word = words.next()?;
    let what = match kind_word {
        "veto" | "否决" => "veto clause",
        "score" | "评分" => "score clause",
        "flag" | "提示" => "flag clause",
        "test" | "测试" => "test",
        "record" | "记录" => "test record",
        _ => return None,
    };
    let name = words
        .filter(|w| !matches!(*w, "mandatory" | "强制"))
        .collect::<Vec<_>>()
        .join(" ");
    let name = name.trim_matches(['"', '“', '”']);
    let line = text[..open].matches('\n').count() + 1;
    let name_at = open_line_start + text[open_line_start..open].find(kind_word).unwrap_or(0);
    Some(
        Diagnostic::error(
            "E0001",
            format!("the {what} `{name}` (line {line}) is not closed: its `}}` is missing"),
        )
        .at(file, Span::new(name_at, open))
        .with_help(format!(
            "add `}}` at the end of `{name}`, before the next clause"
        ))
        .with_note(format!(
            "the next item starts on line {}",
            text[..offset].matches('\n').count() + 1
        )),
    )
}

/// The offset of the innermost `{` (or `｛`) still open at `offset`, outside texts and comments.
fn innermost_open_brace(text: &str, offset: usize) -> Option<usize> {
    let mut open = Vec::new();
    let mut chars = text.get(..offset)?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => skip_until(&mut chars, |c| c == '"', true),
            '“' => skip_until(&mut chars, |c| c == '”', false),
            '#' => skip_until(&mut chars, |c| c == '\n', false),
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                skip_until(&mut chars, |c| c == '\n', false)
            }
            '{' | '｛' => open.push(i),
            '}' | '｝' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

/// Is the bracket open at `offset` closed further on, before its clause's `}`? Then the
/// error is elsewhere and "never closed" would be false.
fn closed_later(text: &str, offset: usize) -> bool {
    let (mut depth, mut braces) = (0usize, 0usize);
    let mut chars = text[offset..].char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => skip_until(&mut chars, |c| c == '"', true),
            '“' => skip_until(&mut chars, |c| c == '”', false),
            '#' => skip_until(&mut chars, |c| c == '\n', false),
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                skip_until(&mut chars, |c| c == '\n', false)
            }
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' if depth == 0 => return true,
            ')' | '）' | ']' | '】' => depth -= 1,
            '{' | '｛' => braces += 1,
            '}' | '｝' if braces == 0 => return false,
            '}' | '｝' => braces -= 1,
            _ => {}
        }
    }
    false
}

/// Names the innermost bracket still open at `offset`, if any.
fn unclosed_bracket_help(text: &str, offset: usize) -> Option<String> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut in_string = false;
    for (i, c) in text.get(..offset)?.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '\n' => in_string = false,
            _ if in_string => {}
            '(' | '（' | '[' | '【' => open.push((i, c)),
            ')' | '）' | ']' | '】' => {
                open.pop();
            }
            _ => {}
        }
    }
    let (at, bracket) = open.last()?;
    if closed_later(text, offset) {
        return None;
    }
    let line = text[..*at].matches('\n').count() + 1;
    Some(format!("the `{bracket}` on line {line} is never closed"))
}

/// The word or character at `offset`, for "found `…`".
fn found_token(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let first = rest.chars().next()?;
    if first.is_alphanumeric() || first == '_' {
        Some(
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .take(24)
                .collect(),
        )
    } else {
        Some(first.to_string())
    }
}

/// Chinese keywords written without a following space read as one name
/// (`条件存在` instead of `条件 存在`); suggest the space.
pub(crate) fn glued_keyword_help(found: &str) -> Option<String> {
    const KEYWORDS: &[&str] = &[
        "规则集",
        "标题",
        "行业",
        "版本",
        "生效日期",
        "责任单位",
        "依据",
        "继承",
        "总分",
        "常量",
        "删除",
        "否决",
        "评分",
        "提示",
        "强制",
        "表述",
        "条件",
        "得分",
        "权重",
        "上限",
        "下限",
        "测试",
        "记录",
        "预期",
        "不合格",
        "合格",
        "并且",
        "且",
        "或者",
        "或",
        "非",
        "属于",
        "如果",
        "则",
        "否则",
        "默认",
        "满足",
        "近",
        "对照",
        "其他",
        "计数",
        "不存在",
        "存在",
        "合计",
        "最大",
        "最小",
        "最近",
        "评价日期",
    ];
    let keyword = KEYWORDS
        .iter()
        .filter(|k| found.starts_with(**k) && found.len() > k.len())
        .max_by_key(|k| k.len())?;
    let rest = &found[keyword.len()..];
    Some(format!(
        "put a space after the keyword `{keyword}`: write `{keyword} {rest}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_and_ifs_but_not_strings() {
        let deep = "(".repeat(MAX_NESTING + 1);
        assert_eq!(deepest_nesting(&deep), Some(MAX_NESTING));
        let quoted = format!("\"{}\"", "(".repeat(100));
        assert_eq!(deepest_nesting(&quoted), None);
        let commented = format!("// {}\n", "(".repeat(100));
        assert_eq!(deepest_nesting(&commented), None);
        let ifs = "if a then ".repeat(MAX_NESTING + 1);
        assert!(deepest_nesting(&ifs).is_some());
        let chain = "if a then 1 else ".repeat(200);
        assert!(deepest_nesting(&chain).is_some());
        let clauses = "{ when if a then 1 else 2 }".repeat(200);
        assert_eq!(deepest_nesting(&clauses), None);
    }

    #[test]
    fn glued_keywords_get_a_spacing_hint() {
        assert_eq!(
            glued_keyword_help("条件存在").as_deref(),
            Some("put a space after the keyword `条件`: write `条件 存在`")
        );
        assert_eq!(glued_keyword_help("行政处罚"), None);
    }

    #[test]
    fn functions_and_percentages_parse_and_a_round_without_its_mode_is_one_clear_error() {
        let head = "ruleset t { title \"t\" }\nconst a = ";
        let parsed = |value: &str| parse(&SourceFile::new("t.rules", format!("{head}{value}\n")));
        let ast = parsed("clamp(max(5%, 1), 0, round(12.5％, 1, half_even)) + 最小(1, 2, 3)")
            .unwrap_or_else(|d| panic!("{}", d.render()));
        let value = ast.constants().next().map(|c| c.value.to_string());
        assert_eq!(
            value.as_deref(),
            Some("(+ (clamp (max 5% 1) 0 (round half_even 12.5% 1)) (min 1 2 3))")
        );
        let errors = parsed("round(2.345, 2)").expect_err("the mode is missing");
        let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0233"]);
    }
}
