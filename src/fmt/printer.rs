//! The printer: writes the header, constants, clauses and tests line by line, with their comments.

use super::comments::*;
use super::expr::*;
use super::fields::*;
use super::layout::render;
use super::text::*;
use super::words::*;
use super::*;
use crate::ast::{Clause, ConstDef, Header, Item, RuleSetAst, TestBlock, TestRecord};
use crate::source::Span;
use unicode_width::UnicodeWidthStr;

pub(super) struct Printer<'a> {
    pub(super) words: &'static Words,
    pub(super) source: &'a str,
    pub(super) comments: &'a [Comment],
    pub(super) attached: Attached,
    pub(super) emitted: Vec<bool>,
    pub(super) out: String,
}

impl<'a> Printer<'a> {
    pub(super) fn new(
        words: &'static Words,
        source: &'a str,
        comments: &'a [Comment],
        attached: Attached,
    ) -> Self {
        Self {
            words,
            source,
            comments,
            attached,
            emitted: vec![false; comments.len()],
            out: String::with_capacity(source.len() + 64),
        }
    }

    /// The text, and the comments it lost with the line each was in.
    pub(super) fn finish(mut self) -> (String, Vec<(usize, Option<SlotKey>)>) {
        let mut lost = std::mem::take(&mut self.attached.lost);
        for &(id, _) in &lost {
            self.emitted[id] = true;
        }
        for (id, done) in self.emitted.iter().enumerate() {
            if !done {
                lost.push((id, None));
            }
        }
        lost.sort_by_key(|(id, _)| *id);
        (self.out, lost)
    }

    pub(super) fn rule_set(&mut self, ast: &RuleSetAst) {
        self.header(&ast.header);
        let apart = self.apart(&ast.items);
        let mut i = 0;
        while i < ast.items.len() {
            // The header is always set off; items keep the author's blank lines.
            if i == 0 || apart[i] {
                self.out.push('\n');
            }
            self.leading(SlotKey::Item(i), 0, true);
            match &ast.items[i] {
                Item::Const(_) => {
                    i = self.constants(&ast.items, i, &apart);
                    continue;
                }
                Item::Define(d) => {
                    let line = self.definition(d);
                    self.line(SlotKey::Item(i), 0, &line);
                }
                Item::Remove(name) => {
                    let line = format!("{} {}", self.words.remove, name.value);
                    self.line(SlotKey::Item(i), 0, &line);
                }
                Item::Clause(c) => self.clause(i, c),
                Item::Test(t) => self.test_block(i, t),
            }
            i += 1;
        }
        self.end_comments();
    }

    /// For each item, whether the source has a blank line between it and
    /// the item before (before its own-line comments, if it has any: blank
    /// lines among and after those are kept by [`Printer::leading`]).
    pub(super) fn apart(&self, items: &[Item]) -> Vec<bool> {
        let extent = |item: &Item| match item {
            Item::Const(c) | Item::Define(c) => trim_anchor(self.source, self.comments, c.span),
            Item::Remove(name) => name.span,
            Item::Clause(c) => c.span,
            Item::Test(t) => t.span,
        };
        let mut apart = vec![false; items.len()];
        for (i, pair) in items.windows(2).enumerate() {
            let gap = Span::new(extent(&pair[0]).end, extent(&pair[1]).start);
            apart[i + 1] = blank_line_in(self.source.get(gap.start..gap.end).unwrap_or(""));
        }
        apart
    }

    /// Prints the run of constants that starts at item `first`, with their
    /// `=` and their trailing comments aligned so that the run reads as a
    /// table. Returns the index of the item after the run.
    pub(super) fn constants(&mut self, items: &[Item], first: usize, apart: &[bool]) -> usize {
        let run = self.const_run(items, first, apart);
        let name_width = run.iter().map(|(_, c)| c.name.value.width()).max();
        let lines: Vec<(SlotKey, String)> = run
            .iter()
            .map(|&(i, c)| (SlotKey::Item(i), self.constant(c, name_width.unwrap_or(0))))
            .collect();
        // Comments line up after the longest one-line constant that has one;
        // a constant on several lines has its comment after its last line.
        let one_line = |line: &str| !line.contains('\n');
        let longest = lines
            .iter()
            .filter(|(key, line)| one_line(line) && self.attached.trailing.contains_key(key))
            .map(|(_, line)| line.width())
            .max();
        for (key, line) in &lines {
            let code = longest
                .filter(|_| one_line(line))
                .unwrap_or_else(|| last_line(line).width());
            self.line_with_comment_at(*key, 0, line, Some(code + CONST_COMMENT_GAP));
        }
        first + run.len()
    }

    /// The constants from item `first` on that have neither a blank line
    /// nor a comment line before them (a comment line starts a new run, as
    /// it does in `gofmt`: it reads as the heading of what follows).
    pub(super) fn const_run<'i>(
        &self,
        items: &'i [Item],
        first: usize,
        apart: &[bool],
    ) -> Vec<(usize, &'i ConstDef)> {
        let mut run = Vec::new();
        for (i, item) in items.iter().enumerate().skip(first) {
            let Item::Const(c) = item else { break };
            let comment_line = self.attached.leading.contains_key(&SlotKey::Item(i));
            if i > first && (apart[i] || comment_line) {
                break;
            }
            run.push((i, c));
        }
        run
    }

    /// `const name = value`, the name padded to `name_width`.
    pub(super) fn constant(&self, c: &ConstDef, name_width: usize) -> String {
        let pad = name_width.saturating_sub(c.name.value.width());
        let head = format!(
            "{} {}{} = ",
            self.words.const_,
            c.name.value,
            " ".repeat(pad)
        );
        let value = const_value_doc(self.words, &c.value);
        let col = head.width();
        head + &render(&value, col, 0)
    }

    /// `define name = value`.
    pub(super) fn definition(&self, d: &ConstDef) -> String {
        let head = format!("{} {} = ", self.words.define, d.name.value);
        let col = head.width();
        head + &render(&const_value_doc(self.words, &d.value), col, 0)
    }

    pub(super) fn header(&mut self, h: &Header) {
        self.leading(SlotKey::HeaderOpen, 0, true);
        let open = format!("{} {} {{", self.words.ruleset, h.id.value);
        self.line(SlotKey::HeaderOpen, 0, &open);
        let fields = header_fields(self.words, h);
        self.fields(&fields, SlotKey::Header);
        self.leading(SlotKey::HeaderClose, INDENT, false);
        self.line(SlotKey::HeaderClose, 0, "}");
    }

    pub(super) fn clause(&mut self, i: usize, c: &Clause) {
        let w = self.words;
        let mut open = format!("{} ", w.clause_kind(c.kind));
        if c.mandatory {
            open.push_str(w.mandatory);
            open.push(' ');
        }
        open.push_str(&c.id.value);
        open.push_str(" {");
        self.line(SlotKey::Item(i), 0, &open);
        let fields = clause_fields(w, c);
        self.fields(&fields, |key| SlotKey::Clause(i, key));
        self.close(i);
    }

    /// `keyword value` lines with the values aligned. An expression that
    /// does not fit continues on lines aligned under its start.
    pub(super) fn fields<K: Copy>(&mut self, fields: &[Field<'_, K>], slot: impl Fn(K) -> SlotKey) {
        let width = fields.iter().map(|f| f.keyword.width()).max().unwrap_or(0);
        for f in fields {
            let key = slot(f.key);
            self.leading(key, INDENT, false);
            let pad = width.saturating_sub(f.keyword.width()) + 1;
            let mut line = format!("{}{}", f.keyword, " ".repeat(pad));
            match &f.value {
                Value::Text(text) => line.push_str(text),
                Value::Expr(e) => {
                    let col = INDENT + line.width();
                    line.push_str(&render(&expr_doc(self.words, e, ANY), col, col));
                }
                Value::Named(name, e) => {
                    line.push_str(name);
                    line.push_str(" = ");
                    let col = INDENT + line.width();
                    line.push_str(&render(&expr_doc(self.words, e, ANY), col, col));
                }
            }
            self.line(key, INDENT, &line);
        }
    }

    pub(super) fn test_block(&mut self, i: usize, t: &TestBlock) {
        let w = self.words;
        let open = format!("{} {} {{", w.test, quote(&t.name.value));
        self.line(SlotKey::Item(i), 0, &open);
        if let Some(d) = &t.as_of {
            self.leading(SlotKey::AsOf(i), INDENT, false);
            self.line(
                SlotKey::AsOf(i),
                INDENT,
                &format!("{} {}", w.as_of, d.value),
            );
        }
        if let Some(c) = &t.context {
            self.leading(SlotKey::Context(i), INDENT, false);
            let mut line = format!("{} {{", w.context);
            for (name, value) in &c.value {
                line.push(' ');
                line.push_str(&name.value);
                line.push(' ');
                line.push_str(&field_value(&value.value));
            }
            line.push_str(if c.value.is_empty() { "}" } else { " }" });
            self.line(SlotKey::Context(i), INDENT, &line);
        }
        for (j, r) in t.records.iter().enumerate() {
            self.leading(SlotKey::Record(i, j), INDENT, false);
            let line = self.record(r);
            self.line(SlotKey::Record(i, j), INDENT, &line);
        }
        for (j, e) in t.expects.iter().enumerate() {
            self.leading(SlotKey::Expect(i, j), INDENT, false);
            let line = format!("{} {}", w.expect, expectation(w, &e.value));
            self.line(SlotKey::Expect(i, j), INDENT, &line);
        }
        self.close(i);
    }

    /// `record R1 { kind 黑名单 date 2023-01-01 }`
    pub(super) fn record(&self, r: &TestRecord) -> String {
        let mut line = format!("{} {} {{", self.words.record, self.record_id(r));
        if r.fields.is_empty() {
            line.push('}');
            return line;
        }
        for (name, value) in &r.fields {
            line.push(' ');
            line.push_str(&name.value);
            line.push(' ');
            line.push_str(&field_value(&value.value));
        }
        line.push_str(" }");
        line
    }

    /// A record id as it was written: a name, or a quoted string.
    pub(super) fn record_id(&self, r: &TestRecord) -> String {
        let written = self.source.get(r.id.span.start..r.id.span.end);
        let quoted = match written {
            Some(s) if !s.is_empty() => s.starts_with(['"', '“']),
            _ => !looks_like_name(&r.id.value),
        };
        if quoted {
            quote(&r.id.value)
        } else {
            r.id.value.clone()
        }
    }

    pub(super) fn close(&mut self, i: usize) {
        self.leading(SlotKey::Close(i), INDENT, false);
        self.line(SlotKey::Close(i), 0, "}");
    }

    /// Own-line comments before a slot. Blank lines between them are kept
    /// (`blanks`) only between items, where the layout has blank lines anyway.
    pub(super) fn leading(&mut self, key: SlotKey, indent: usize, blanks: bool) {
        let Some(ids) = self.attached.leading.remove(&key) else {
            return;
        };
        for (n, &id) in ids.iter().enumerate() {
            let blank = self.comments.get(id).is_some_and(|c| c.blank_before);
            if blanks && n > 0 && blank {
                self.out.push('\n');
            }
            self.own_line_comment(id, indent);
        }
        let last = ids.last().and_then(|&id| self.comments.get(id));
        if blanks && last.is_some_and(|c| c.blank_after) {
            self.out.push('\n');
        }
    }

    /// Own-line comments after the last item, with their blank lines.
    pub(super) fn end_comments(&mut self) {
        for id in std::mem::take(&mut self.attached.end) {
            if self.comments.get(id).is_some_and(|c| c.blank_before) {
                self.out.push('\n');
            }
            self.own_line_comment(id, 0);
        }
    }

    pub(super) fn own_line_comment(&mut self, id: usize, indent: usize) {
        if let Some(c) = self.comments.get(id) {
            self.out.push_str(&" ".repeat(indent));
            self.out.push_str(&c.text);
            self.out.push('\n');
            self.emitted[id] = true;
        }
    }

    /// One line (or several, for a long expression), with its trailing
    /// comment if it has one.
    pub(super) fn line(&mut self, key: SlotKey, indent: usize, content: &str) {
        self.line_with_comment_at(key, indent, content, None);
    }

    /// Like [`Printer::line`], with the trailing comment at column
    /// `comment_col` of the last line of `content`, if that is given (and
    /// leaves room for the gap).
    pub(super) fn line_with_comment_at(
        &mut self,
        key: SlotKey,
        indent: usize,
        content: &str,
        comment_col: Option<usize>,
    ) {
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(content);
        let trailing = self.attached.trailing.remove(&key);
        if let Some((id, c)) = trailing.and_then(|id| Some((id, self.comments.get(id)?))) {
            let code = last_line(content).width();
            let gap = comment_col.map_or(COMMENT_GAP, |col| col.saturating_sub(code));
            self.out.push_str(&" ".repeat(gap.max(COMMENT_GAP)));
            self.out.push_str(&c.text);
            self.emitted[id] = true;
        }
        self.out.push('\n');
    }
}

/// The text after the last line break of `text`.
pub(super) fn last_line(text: &str) -> &str {
    text.rsplit('\n').next().unwrap_or(text)
}

/// Whether the text between two items holds a blank line before anything
/// else (a comment line, or the later item).
pub(super) fn blank_line_in(gap: &str) -> bool {
    let mut lines = gap.split('\n');
    lines.next(); // the rest of the earlier item's last line: a trailing comment at most
    lines.next_back(); // the start of the later item's line
    lines.next().is_some_and(|line| line.chars().all(is_blank))
}

/// Could `s` be written as a bare name? (Used only when the source text of a
/// record id is unavailable.)
pub(super) fn looks_like_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}
