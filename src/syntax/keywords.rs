//! The keyword table of the language, read from the grammar itself: every `kw_…` rule of
//! `grammar/credit.pest` with its spellings (English and Chinese), and the duration units
//! (`unit_…`). The browser editor highlights exactly these words, so a keyword added to the
//! grammar is highlighted with no other edit; nothing else keeps a second list.
//!
//! The grammar text is embedded in the binary (the same file `pest_derive` compiles) and read
//! once, by a small scanner that knows only what keyword rules look like:
//! `kw_ruleset = @{ ("ruleset" | "规则集") ~ !ident_char }` — a rule name, `=`, an optional
//! modifier, and a braced body whose quoted literals are the spellings.

use serde::Serialize;
use std::sync::OnceLock;

/// The grammar, as compiled by `pest_derive`.
pub const GRAMMAR: &str = include_str!("../../grammar/credit.pest");

/// One keyword rule and its spellings, e.g. `kw_veto`: `veto`, `否决`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Keyword {
    /// The grammar rule, e.g. `kw_veto`.
    pub rule: String,
    /// Every spelling the rule accepts, in grammar order.
    pub spellings: Vec<String>,
}

/// The words the editor highlights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeywordTable {
    /// The `kw_…` rules.
    pub keywords: Vec<Keyword>,
    /// The `unit_…` rules (years 年, months 个月, days 日).
    pub units: Vec<Keyword>,
}

/// The table of the embedded grammar, built on first use.
pub fn table() -> &'static KeywordTable {
    static TABLE: OnceLock<KeywordTable> = OnceLock::new();
    TABLE.get_or_init(|| table_of(GRAMMAR))
}

/// The table of a grammar text.
pub fn table_of(grammar: &str) -> KeywordTable {
    let rules = rules(grammar);
    let pick = |prefix: &str| -> Vec<Keyword> {
        rules
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, body)| Keyword {
                rule: name.clone(),
                spellings: literals(body),
            })
            .filter(|k| !k.spellings.is_empty())
            .collect()
    };
    KeywordTable {
        keywords: pick("kw_"),
        units: pick("unit_"),
    }
}

/// Every rule definition of a grammar: its name and the text of its braced body.
fn rules(grammar: &str) -> Vec<(String, &str)> {
    let mut found = Vec::new();
    let mut rest = grammar;
    while let Some(line_end) = next_definition(rest) {
        let (name, body, after) = line_end;
        found.push((name, body));
        rest = after;
    }
    found
}

/// Finds the next `name = modifier? { body }` at the start of a line, skipping comments;
/// returns the name, the body and the text after it.
fn next_definition(text: &str) -> Option<(String, &str, &str)> {
    let mut offset = 0;
    while offset < text.len() {
        let line = &text[offset..];
        let line_len = line.find('\n').map_or(line.len(), |i| i + 1);
        if let Some(name_len) = definition_name(line) {
            let after_name = line[name_len..].trim_start();
            if let Some(after_eq) = after_name.strip_prefix('=') {
                let after_eq = after_eq.trim_start();
                let modifier = after_eq
                    .chars()
                    .next()
                    .filter(|c| matches!(c, '@' | '_' | '$' | '!'))
                    .map_or(0, char::len_utf8);
                if let Some(body_start) = after_eq[modifier..].strip_prefix('{') {
                    let end = matching_brace(body_start)?;
                    let body = &body_start[..end];
                    return Some((line[..name_len].to_string(), body, &body_start[end + 1..]));
                }
            }
        }
        offset += line_len;
    }
    None
}

/// The length of the rule name a line starts with (letters, digits, `_`), if any.
fn definition_name(line: &str) -> Option<usize> {
    let len = line
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(line.len(), |(i, _)| i);
    let starts_well = line.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    (len > 0 && starts_well).then_some(len)
}

/// The offset of the `}` closing a body that starts just after its `{` (quoted literals and
/// comments skipped), if the body is closed.
fn matching_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => skip_literal(&mut chars, c),
            '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn skip_literal(chars: &mut impl Iterator<Item = (usize, char)>, quote: char) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c == quote => return,
            _ => {}
        }
    }
}

/// The double-quoted string literals of a rule body, unescaped, in order, without repeats.
fn literals(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let literal = read_literal(&mut chars);
                if !literal.is_empty() && !out.contains(&literal) {
                    out.push(literal);
                }
            }
            '\'' => {
                // A character literal of a range (`'a'..'z'`): not a spelling.
                let _ = read_literal_until(&mut chars, '\'');
            }
            _ => {}
        }
    }
    out
}

fn read_literal(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    read_literal_until(chars, '"')
}

/// Reads up to the closing `quote`, resolving pest's escapes (`\"`, `\\`, `\n`, `\t`,
/// `\u{3000}`).
fn read_literal_until(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some('u') => {
                    let mut hex = String::new();
                    if chars.peek() == Some(&'{') {
                        chars.next();
                        for h in chars.by_ref() {
                            if h == '}' {
                                break;
                            }
                            hex.push(h);
                        }
                    }
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c if c == quote => break,
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::grammar::{DslParser, Rule};
    use pest::Parser;

    #[test]
    fn the_table_holds_both_spellings_of_the_keywords() {
        let t = table();
        let veto = t
            .keywords
            .iter()
            .find(|k| k.rule == "kw_veto")
            .expect("kw_veto");
        assert_eq!(veto.spellings, ["veto", "否决"]);
        let and = t
            .keywords
            .iter()
            .find(|k| k.rule == "kw_and")
            .expect("kw_and");
        assert_eq!(and.spellings, ["and", "并且", "且"]);
        let months = t
            .units
            .iter()
            .find(|k| k.rule == "unit_months")
            .expect("months");
        assert_eq!(months.spellings, ["months", "month", "个月", "月"]);
    }

    /// The scanner against the generated parser: every `kw_…` rule pest knows is in the
    /// table, and each spelling in the table is accepted whole by its rule.
    #[test]
    fn every_keyword_rule_of_the_parser_is_in_the_table_and_accepts_its_spellings() {
        let t = table();
        let mut from_parser: Vec<String> = Rule::all_rules()
            .iter()
            .map(|r| format!("{r:?}"))
            .filter(|name| name.starts_with("kw_"))
            .collect();
        from_parser.sort();
        let mut in_table: Vec<String> = t.keywords.iter().map(|k| k.rule.clone()).collect();
        in_table.sort();
        assert_eq!(in_table, from_parser);
        for keyword in t.keywords.iter().chain(&t.units) {
            let rule = *Rule::all_rules()
                .iter()
                .find(|r| format!("{r:?}") == keyword.rule)
                .expect("a rule of the parser");
            for spelling in &keyword.spellings {
                let parsed = DslParser::parse(rule, spelling)
                    .unwrap_or_else(|e| panic!("{} refuses `{spelling}`: {e}", keyword.rule));
                let matched: usize = parsed.map(|p| p.as_str().len()).sum();
                assert_eq!(matched, spelling.len(), "{}: `{spelling}`", keyword.rule);
            }
        }
    }

    #[test]
    fn the_scanner_reads_modifiers_escapes_comments_and_nested_braces() {
        let grammar = "// a comment: kw_fake = { \"no\" }\n\
            kw_a = @{ (\"a\" | \"甲\\u{3000}\") ~ !x }\n\
            other = { \"}\" ~ kw_a }\n\
            kw_b = { \"b\" ~ (\"{\" | \"c\") }\n\
            unit_x = @{ (\"x\" | 'a'..'z') }\n";
        let t = table_of(grammar);
        assert_eq!(
            t.keywords,
            [
                Keyword {
                    rule: "kw_a".into(),
                    spellings: vec!["a".into(), "甲\u{3000}".into()],
                },
                Keyword {
                    rule: "kw_b".into(),
                    spellings: vec!["b".into(), "{".into(), "c".into()],
                },
            ]
        );
        assert_eq!(t.units[0].spellings, ["x"]);
    }
}
