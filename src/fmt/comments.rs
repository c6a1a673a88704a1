//! Comments in the source: finding them, the printed lines (slots) they
//! belong to, attaching each to a slot, and reporting those with no place.

use super::fields::*;
use super::words::*;
use crate::ast::{Item, RuleSetAst};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use std::collections::HashMap;

/// A `//` or `#` comment of the source.
#[derive(Debug)]
pub(super) struct Comment {
    /// From the marker to the last non-blank character of the line.
    pub(super) span: Span,
    /// The comment as written, marker included.
    pub(super) text: String,
    /// Only blanks precede it on its line.
    pub(super) own_line: bool,
    /// A blank line separates it from what comes before.
    pub(super) blank_before: bool,
    /// A blank line separates it from what comes after.
    pub(super) blank_after: bool,
}

pub(super) fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Finds every comment, skipping string literals (`"…"` with escapes, `“…”`).
pub(super) fn scan_comments(text: &str) -> Vec<Comment> {
    let mut comments = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let starts_comment = c == '#' || (c == '/' && chars.peek().is_some_and(|&(_, n)| n == '/'));
        if starts_comment {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            comments.push(comment_at(text, i, end));
            while chars.next_if(|&(j, _)| j < end).is_some() {}
        } else if c == '"' {
            skip_string(&mut chars, '"', true);
        } else if c == '“' {
            skip_string(&mut chars, '”', false);
        }
    }
    comments
}

/// Skips to the closing quote, or to the end of the line (strings never span lines).
pub(super) fn skip_string(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    close: char,
    escapes: bool,
) {
    while let Some(&(_, c)) = chars.peek() {
        if c == '\n' {
            return;
        }
        chars.next();
        if c == close {
            return;
        }
        if escapes && c == '\\' {
            chars.next_if(|&(_, n)| n != '\n');
        }
    }
}

pub(super) fn comment_at(text: &str, start: usize, line_end: usize) -> Comment {
    let written = text[start..line_end].trim_end();
    let end = start + written.len();
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let before = &text[..start];
    let gap_before = &before[before.trim_end_matches(is_blank).len()..];
    let after = &text[end..];
    let gap_after = &after[..after.len() - after.trim_start_matches(is_blank).len()];
    Comment {
        span: Span::new(start, end),
        text: written.to_string(),
        own_line: text[line_start..start].chars().all(is_blank),
        blank_before: gap_before.matches('\n').count() >= 2,
        blank_after: gap_after.matches('\n').count() >= 2,
    }
}

/// One printed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum SlotKey {
    /// `ruleset id {`
    HeaderOpen,
    /// A header field.
    Header(HeaderKey),
    /// The header's `}`.
    HeaderClose,
    /// The first line of item `i`: a constant, a removal, `veto … {`, `test … {`.
    Item(usize),
    /// A field of clause `i`.
    Clause(usize, ClauseKey),
    /// `as_of` of test `i`.
    AsOf(usize),
    /// The tender context of test `i`.
    Context(usize),
    /// Record `j` of test `i`.
    Record(usize, usize),
    /// Expectation `j` of test `i`.
    Expect(usize, usize),
    /// The `}` of item `i`.
    Close(usize),
}

/// A printed line and the source text it stands for. The anchor leaves out
/// keywords and brackets whose spans the tree does not keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) key: SlotKey,
    pub(super) anchor: Span,
}

/// Every slot, in source order.
pub(super) fn collect_slots(
    w: &Words,
    text: &str,
    comments: &[Comment],
    ast: &RuleSetAst,
) -> Vec<Slot> {
    let h = &ast.header;
    let mut slots = vec![Slot {
        key: SlotKey::HeaderOpen,
        anchor: Span::new(h.span.start, h.id.span.end),
    }];
    for f in header_fields(w, h) {
        slots.push(Slot {
            key: SlotKey::Header(f.key),
            anchor: f.span,
        });
    }
    slots.push(Slot {
        key: SlotKey::HeaderClose,
        anchor: last_char(text, h.span),
    });
    for (i, item) in ast.items.iter().enumerate() {
        item_slots(w, text, i, item, &mut slots);
    }
    for slot in &mut slots {
        slot.anchor = trim_anchor(text, comments, slot.anchor);
    }
    slots.sort_by_key(|s| s.anchor.start);
    slots
}

/// Drops the blanks and comments at the end of a span. The span of an
/// `if … else x` (and of a constant ending in one) runs on over whatever
/// the parser skipped after `x`, up to the next token.
pub(super) fn trim_anchor(text: &str, comments: &[Comment], span: Span) -> Span {
    let mut end = span.end;
    loop {
        let kept = text
            .get(span.start..end)
            .map_or(0, |s| s.trim_end_matches(is_blank).len());
        end = span.start + kept;
        // Comments are in source order and do not overlap: bisect by end.
        let i = comments.partition_point(|c| c.span.end < end);
        match comments.get(i) {
            Some(c) if c.span.end == end && c.span.start >= span.start => end = c.span.start,
            _ => return Span::new(span.start, end),
        }
    }
}

pub(super) fn item_slots(w: &Words, text: &str, i: usize, item: &Item, slots: &mut Vec<Slot>) {
    let mut push = |key, anchor| slots.push(Slot { key, anchor });
    match item {
        Item::Const(c) | Item::Define(c) => push(SlotKey::Item(i), c.span),
        Item::Remove(name) => push(SlotKey::Item(i), name.span),
        Item::Clause(c) => {
            push(SlotKey::Item(i), Span::new(c.span.start, c.id.span.end));
            for f in clause_fields(w, c) {
                push(SlotKey::Clause(i, f.key), f.span);
            }
            push(SlotKey::Close(i), last_char(text, c.span));
        }
        Item::Test(t) => {
            push(SlotKey::Item(i), Span::new(t.span.start, t.name.span.end));
            if let Some(d) = &t.as_of {
                push(SlotKey::AsOf(i), d.span);
            }
            if let Some(c) = &t.context {
                push(SlotKey::Context(i), c.span);
            }
            for (j, r) in t.records.iter().enumerate() {
                push(SlotKey::Record(i, j), r.span);
            }
            for (j, e) in t.expects.iter().enumerate() {
                push(SlotKey::Expect(i, j), e.span);
            }
            push(SlotKey::Close(i), last_char(text, t.span));
        }
    }
}

/// The span of the last character of `span` (a closing brace).
pub(super) fn last_char(text: &str, span: Span) -> Span {
    let width = text
        .get(span.start..span.end)
        .and_then(|s| s.chars().next_back())
        .map_or(0, char::len_utf8);
    Span::new(span.end - width, span.end)
}

/// Where each comment goes.
#[derive(Debug, Default)]
pub(super) struct Attached {
    /// Own-line comments printed before a slot's line.
    pub(super) leading: HashMap<SlotKey, Vec<usize>>,
    /// The comment printed at the end of a slot's line.
    pub(super) trailing: HashMap<SlotKey, usize>,
    /// Own-line comments after the last item.
    pub(super) end: Vec<usize>,
    /// Comments that have no place, with the line they are in.
    pub(super) lost: Vec<(usize, Option<SlotKey>)>,
}

pub(super) fn attach(text: &str, comments: &[Comment], slots: &[Slot]) -> Attached {
    let mut attached = Attached::default();
    for (id, c) in comments.iter().enumerate() {
        let at = c.span.start;
        if let Some(slot) = holding(slots, at).filter(|s| s.anchor.start < at) {
            attached.lost.push((id, Some(slot.key)));
        } else if c.own_line {
            match after(slots, at) {
                Some(next) => attached.leading.entry(next.key).or_default().push(id),
                None => attached.end.push(id),
            }
        } else {
            match code_owner(text, at, slots) {
                // Only the comment that really ends the line is kept; an
                // earlier one (after `when (` on a previous line) is lost.
                Some(key) => {
                    if let Some(earlier) = attached.trailing.insert(key, id) {
                        attached.lost.push((earlier, Some(key)));
                    }
                }
                None => attached.lost.push((id, None)),
            }
        }
    }
    attached
}

/// The slot owning the code just before a comment at `at` on the same line.
/// Code outside every anchor is a keyword or a bracket: closing ones (`)`,
/// and the `{` that opens a block) belong to the slot before, the rest
/// (keywords, `(`) to the slot after.
pub(super) fn code_owner(text: &str, at: usize, slots: &[Slot]) -> Option<SlotKey> {
    let before = text.get(..at)?.trim_end_matches(is_blank);
    let (pos, c) = before.char_indices().next_back()?;
    let owner = match holding(slots, pos) {
        Some(slot) => Some(slot),
        None if matches!(c, ')' | '）' | '{' | '｛') => ending_by(slots, pos),
        None => after(slots, pos),
    };
    owner.map(|s| s.key)
}

// Slots are sorted by start and do not overlap, so they are sorted by end
// too and can be searched by bisection.

/// The slot whose anchor holds byte `at`.
pub(super) fn holding(slots: &[Slot], at: usize) -> Option<&Slot> {
    let i = slots.partition_point(|s| s.anchor.start <= at);
    slots.get(i.checked_sub(1)?).filter(|s| at < s.anchor.end)
}

/// The first slot that starts after byte `at`.
pub(super) fn after(slots: &[Slot], at: usize) -> Option<&Slot> {
    slots.get(slots.partition_point(|s| s.anchor.start <= at))
}

/// The last slot that ends at or before byte `at`.
pub(super) fn ending_by(slots: &[Slot], at: usize) -> Option<&Slot> {
    let i = slots.partition_point(|s| s.anchor.end <= at);
    slots.get(i.checked_sub(1)?)
}

pub(super) fn lost_comments(
    file: &SourceFile,
    comments: &[Comment],
    lost: &[(usize, Option<SlotKey>)],
    ast: &RuleSetAst,
) -> Diagnostics {
    let mut out = Diagnostics::new();
    for &(id, slot) in lost {
        let Some(c) = comments.get(id) else { continue };
        let (what, above) = describe(slot, ast);
        out.push(
            Diagnostic::error("E0500", format!("cannot keep the comment inside {what}"))
                .at(file, c.span)
                .with_help(format!("move the comment to its own line above {above}"))
                .with_note("`fmt` never drops a comment, so the file was left as it is"),
        );
    }
    out
}

/// What a line is, and what to move a comment above, for `E0500`.
pub(super) fn describe(slot: Option<SlotKey>, ast: &RuleSetAst) -> (&'static str, &'static str) {
    match slot {
        Some(SlotKey::Clause(_, key)) if key.holds_expression() => ("an expression", "the clause"),
        Some(SlotKey::Clause(..)) => ("a clause field", "the clause"),
        Some(SlotKey::Item(i)) => match ast.items.get(i) {
            Some(Item::Const(_)) => ("an expression", "the constant"),
            Some(Item::Define(_)) => ("an expression", "the definition"),
            Some(Item::Remove(_)) => ("a `remove` line", "that line"),
            Some(Item::Clause(_)) => ("the first line of a clause", "the clause"),
            _ => ("the first line of a test", "the test"),
        },
        Some(SlotKey::Record(..)) => ("a test record", "the record"),
        Some(SlotKey::AsOf(_) | SlotKey::Context(_) | SlotKey::Expect(..)) => {
            ("a test line", "that line")
        }
        Some(SlotKey::HeaderOpen | SlotKey::Header(_) | SlotKey::HeaderClose) => {
            ("the rule-set header", "that header line")
        }
        Some(SlotKey::Close(_)) | None => ("a line", "that line"),
    }
}
