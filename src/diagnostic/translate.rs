//! Turns an English diagnostic text into its Chinese form with the tables of
//! [`super::catalog`]: a text is matched against the English templates of its code
//! (`{}` stands for the variable parts), and the variable parts are put into the
//! Chinese template (`{0}`, `{1}`, … in the order they appear in the English).
//!
//! Variable parts written in backticks are user text (names, ids) and stay as they
//! are; other variable parts (a type, a clause kind, a role such as "the points")
//! are themselves looked up among the catalog's terms.

use super::catalog::{Entry, HINTS, MESSAGES, SUMMARIES, TERMS};

/// How deep term look-ups nest ("a number that may be missing" inside a message).
const MAX_DEPTH: usize = 4;

/// The Chinese message for `code` and the English `message`, when a template fits.
pub(crate) fn message(code: &str, message: &str) -> Option<String> {
    lookup(MESSAGES, code, message, 0)
}

/// The Chinese form of a help or note line of a diagnostic with `code`.
pub(crate) fn hint(code: &str, hint: &str) -> Option<String> {
    lookup(HINTS, code, hint, 0)
}

/// What a code means, in Chinese (the authoring guide's list).
pub(crate) fn summary(code: &str) -> Option<&'static str> {
    SUMMARIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// A phrase that is not a whole message: a type, a role, a list of expected tokens.
pub(crate) fn term(text: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Some(found) = lookup(TERMS, "", text, depth) {
        return Some(found);
    }
    list(text, depth)
}

fn lookup(table: &[Entry], code: &str, text: &str, depth: usize) -> Option<String> {
    table
        .iter()
        .filter(|e| e.code == code || e.code == "*" || code.is_empty())
        .find_map(|e| fill(e, text, depth))
}

/// Applies one entry: the English template must match the whole text.
fn fill(entry: &Entry, text: &str, depth: usize) -> Option<String> {
    let captures = capture(entry.en, text)?;
    let mut out = entry.zh.to_string();
    for (i, (value, quoted)) in captures.iter().enumerate() {
        let shown = if *quoted {
            value.to_string()
        } else {
            term(value, depth + 1).unwrap_or_else(|| value.to_string())
        };
        out = out.replace(&format!("{{{i}}}"), &shown);
    }
    Some(out)
}

/// The variable parts of `text` under `pattern`, each with whether it sits in
/// backticks (user text, kept as written). Literal parts are matched leftmost.
fn capture<'t>(pattern: &str, text: &'t str) -> Option<Vec<(&'t str, bool)>> {
    let literals: Vec<&str> = pattern.split("{}").collect();
    let (first, rest) = literals.split_first()?;
    let mut pos = text.strip_prefix(first).map(|_| first.len())?;
    if rest.is_empty() {
        return (text.len() == first.len()).then(Vec::new);
    }
    let mut captures = Vec::with_capacity(rest.len());
    for (i, literal) in rest.iter().enumerate() {
        let quoted = literals[i].ends_with('`') && literal.starts_with('`');
        let last = i + 1 == rest.len();
        let end = if last {
            let end = text.len().checked_sub(literal.len())?;
            if end < pos || !text.ends_with(literal) {
                return None;
            }
            end
        } else {
            if literal.is_empty() {
                return None;
            }
            pos + text.get(pos..)?.find(literal)?
        };
        let value = &text[pos..end];
        if value.is_empty() {
            return None;
        }
        captures.push((value, quoted));
        pos = end + literal.len();
    }
    Some(captures)
}

/// "a, b or c" → "a、b或c", when every item is a known term or a keyword in backticks.
fn list(text: &str, depth: usize) -> Option<String> {
    // Terms that are lists themselves ("`years`, `months` or `days` …") go first.
    let mut text = text.to_string();
    for t in TERMS.iter().filter(|t| !t.en.contains("{}")) {
        if t.en.contains(", ") || t.en.contains(" or ") {
            text = text.replace(t.en, t.zh);
        }
    }
    let items = split_list(&text);
    if items.len() < 2 {
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let shown = match term(item, depth + 1) {
            Some(t) => t,
            None if item.starts_with('`') || !item.chars().any(|c| c.is_ascii_alphabetic()) => {
                item.to_string()
            }
            None => return None,
        };
        out.push(shown);
    }
    let last = out.pop()?;
    Some(format!("{}或{last}", out.join("、")))
}

/// Splits "a, b or c" at top-level ", " and " or " (not inside brackets or backticks).
fn split_list(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut ticked, mut start) = (0i32, false, 0usize);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => ticked = !ticked,
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        let top = depth == 0 && !ticked && matches!(bytes[i], b',' | b' ');
        let sep = if top && text[i..].starts_with(", ") {
            2
        } else if top && text[i..].starts_with(" or ") {
            4
        } else {
            0
        };
        if sep > 0 {
            items.push(&text[start..i]);
            i += sep;
            start = i;
        } else {
            i += 1;
        }
    }
    items.push(&text[start..]);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_are_captured_in_order() {
        assert_eq!(
            capture("unknown {} `{}`", "unknown record kind `行政处法`"),
            Some(vec![("record kind", false), ("行政处法", true)])
        );
        assert_eq!(capture("a {} b", "a  b"), None);
        assert_eq!(capture("exact", "exact"), Some(vec![]));
        assert_eq!(capture("exact", "exactly"), None);
    }

    #[test]
    fn messages_and_nested_terms_translate() {
        assert_eq!(
            message("E0201", "unknown record kind `行政处法`").as_deref(),
            Some("未知的记录类别 `行政处法`")
        );
        assert_eq!(
            message(
                "E0202",
                "the points must be a number, but this is a yes/no condition"
            )
            .as_deref(),
            Some("得分应当是数，这里却是“是/否”判断")
        );
        assert_eq!(
            term("a number that may be missing", 0).as_deref(),
            Some("可能缺失的数")
        );
    }

    #[test]
    fn a_text_no_template_fits_gives_none() {
        assert_eq!(message("E0201", "something else entirely"), None);
    }
}
