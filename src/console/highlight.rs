//! Server-side highlighting of rule text for read-only views: keywords (English and
//! Chinese), strings, numbers and dates, comments. The keywords are the grammar's keyword
//! table ([`crate::syntax::keywords`]), so they cannot drift from the language.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Every keyword of the language and the duration units, both spellings: the grammar's
/// keyword table ([`crate::syntax::keywords`], the one the browser editor receives too).
pub static KEYWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let table = crate::syntax::keywords::table();
    table
        .keywords
        .iter()
        .chain(&table.units)
        .flat_map(|k| k.spellings.iter().map(String::as_str))
        .collect()
});

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn span(class: &str, text: &str) -> String {
    format!("<span class=\"{class}\">{}</span>", escape(text))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One line as HTML (every text escaped; spans with the classes `kw`, `str`, `num`, `com`).
pub fn line(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("//") {
            out.push_str(&span("com", rest));
            break;
        }
        if c == '"' {
            let end = rest[1..].find('"').map(|i| i + 2).unwrap_or(rest.len());
            out.push_str(&span("str", &rest[..end]));
            rest = &rest[end..];
        } else if is_word(c) {
            let end = rest
                .find(|ch: char| !is_word(ch) && ch != '-' && ch != '.')
                .unwrap_or(rest.len());
            let mut word = &rest[..end];
            if !word.starts_with(|ch: char| ch.is_ascii_digit()) {
                // Names and keywords stop at `-` and `.` (dates and decimals keep them).
                word = &word[..word.find(['-', '.']).unwrap_or(word.len())];
            }
            if word.starts_with(|ch: char| ch.is_ascii_digit()) {
                out.push_str(&span("num", word));
            } else if KEYWORDS.contains(word) {
                out.push_str(&span("kw", word));
            } else {
                out.push_str(&escape(word));
            }
            rest = &rest[word.len()..];
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Every line of a text, highlighted.
pub fn lines(text: &str) -> Vec<String> {
    text.lines().map(line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_come_from_the_grammar_in_both_languages() {
        for word in ["veto", "score", "when", "否决", "评分", "如果", "规则集"] {
            assert!(KEYWORDS.contains(word), "{word}");
        }
        assert!(
            !KEYWORDS.contains("水务"),
            "examples in grammar comments are not keywords"
        );
    }

    #[test]
    fn a_line_is_escaped_and_marked() {
        let html = line("veto 黑名单 { when count(records) >= 2 } // <注释>");
        assert!(
            html.starts_with("<span class=\"kw\">veto</span> 黑名单"),
            "{html}"
        );
        assert!(html.contains("<span class=\"kw\">when</span>"));
        assert!(html.contains("<span class=\"num\">2</span>"));
        assert!(html.contains("<span class=\"com\">// &lt;注释&gt;</span>"));
        let html = line("  effective 2024-03-01 title \"a<b\"");
        assert!(
            html.contains("<span class=\"num\">2024-03-01</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"str\">&quot;a&lt;b&quot;</span>"),
            "{html}"
        );
    }
}
