//! Diagnostics shared by every stage that reads rule text: a code, a message,
//! where it happened, and help written for the policy staff who fix it.
//!
//! Rendering follows rustc's compact form, with carets under the offending
//! text (wide CJK characters count as two columns so the carets line up):
//!
//! ```text
//! error[E0201]: unknown record kind `行政处法`
//!  --> rulesets/water.rules:14:9
//!    |
//! 14 |   when any(records where kind = 行政处法)
//!    |                                 ^^^^^^^^
//!    = help: did you mean `行政处罚`?
//! ```

mod catalog;
mod lang;
mod translate;

pub use lang::Lang;

use crate::source::{LineIndex, SourceFile, Span, floor_char_boundary};
use serde::Serialize;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule set is still usable; something looks wrong.
    Warning,
    /// The rule set cannot be used until this is fixed.
    Error,
}

/// One problem found in rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, e.g. `E0201`, documented in the authoring guide.
    pub code: &'static str,
    /// One line, lower case, user text in backticks.
    pub message: String,
    /// The file and the bytes it concerns, when it concerns rule text
    /// (boxed: diagnostics travel in `Result`s and should stay small).
    pub location: Option<Box<(SourceFile, Span)>>,
    /// How to fix it.
    pub help: Option<String>,
    /// Further context (e.g. where the mandatory clause was declared).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A new error with a code and message.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// A new warning with a code and message.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Points the diagnostic at `span` of `file`.
    pub fn at(mut self, file: &SourceFile, span: Span) -> Self {
        self.location = Some(Box::new((file.clone(), span)));
        self
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Is this an error (as opposed to a warning)?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as plain text with carets, in English.
    pub fn render(&self) -> String {
        self.render_in(Lang::En)
    }

    /// Renders the diagnostic as plain text with carets, in `lang`.
    pub fn render_in(&self, lang: Lang) -> String {
        let shown = self.localized(lang);
        let mut out = String::new();
        let (level, help, note, colon) = match (lang, self.severity) {
            (Lang::En, Severity::Error) => ("error", "help", "note", ": "),
            (Lang::En, Severity::Warning) => ("warning", "help", "note", ": "),
            (Lang::Zh, Severity::Error) => ("错误", "修改建议", "说明", "："),
            (Lang::Zh, Severity::Warning) => ("警告", "修改建议", "说明", "："),
        };
        let _ = writeln!(out, "{level}[{}]{colon}{}", self.code, shown.message);
        let gutter = match self.location.as_deref() {
            Some((file, span)) => render_snippet(&mut out, file, *span),
            None => 0,
        };
        let pad = " ".repeat(gutter);
        if let Some(text) = &shown.help {
            let _ = writeln!(out, "{pad} = {help}{colon}{text}");
        }
        for text in &shown.notes {
            let _ = writeln!(out, "{pad} = {note}{colon}{text}");
        }
        out
    }

    /// Renders in the language the diagnostic's own rule file is written in (its header
    /// keyword), or in `fallback` when it concerns no rule file.
    pub fn render_auto(&self, fallback: Lang) -> String {
        self.render_in(self.lang_or(fallback))
    }

    /// The dialect of the rule file the diagnostic points into, else `fallback`.
    pub fn lang_or(&self, fallback: Lang) -> Lang {
        self.location
            .as_deref()
            .and_then(|(file, _)| Lang::of_source(&file.text))
            .unwrap_or(fallback)
    }

    /// The same diagnostic with its message, help and notes in `lang`. English is how
    /// diagnostics are raised; the Chinese comes from the catalog (a message no template
    /// fits is shown as the code's Chinese summary followed by the English text).
    pub fn localized(&self, lang: Lang) -> Diagnostic {
        let mut out = self.clone();
        if lang == Lang::En {
            return out;
        }
        out.message =
            translate::message(self.code, &self.message).unwrap_or_else(
                || match translate::summary(self.code) {
                    Some(summary) => format!("{summary}（{}）", self.message),
                    None => self.message.clone(),
                },
            );
        let hint = |text: &String| translate::hint(self.code, text).unwrap_or(text.clone());
        out.help = self.help.as_ref().map(hint);
        out.notes = self.notes.iter().map(hint).collect();
        out
    }

    /// Is there a Chinese template for this diagnostic's message, help and every note?
    /// (Tests use it to find texts the catalog lacks.)
    pub fn fully_translated(&self) -> bool {
        translate::message(self.code, &self.message).is_some()
            && self
                .help
                .iter()
                .chain(&self.notes)
                .all(|t| translate::hint(self.code, t).is_some())
    }

    /// The Chinese summary of `code` (what the code means), if the catalog has one.
    pub fn summary_zh(code: &str) -> Option<&'static str> {
        translate::summary(code)
    }

    /// The JSON shape used by the CLI (`--format json`) and the HTTP API, in English.
    pub fn to_json(&self) -> DiagnosticJson {
        self.to_json_in(Lang::En)
    }

    /// The JSON shape in `lang`.
    pub fn to_json_in(&self, lang: Lang) -> DiagnosticJson {
        let shown = self.localized(lang);
        let (file, start, end) = match self.location.as_deref() {
            Some((file, span)) => {
                let index = LineIndex::new(&file.text);
                (
                    Some(file.name.to_string()),
                    Some(index.line_col(&file.text, span.start)),
                    Some(index.line_col(&file.text, span.end)),
                )
            }
            None => (None, None, None),
        };
        DiagnosticJson {
            severity: self.severity,
            code: self.code,
            message: shown.message,
            file,
            line: start.map(|p| p.line),
            col: start.map(|p| p.col),
            end_line: end.map(|p| p.line),
            end_col: end.map(|p| p.col),
            help: shown.help,
            notes: shown.notes,
            lang,
        }
    }
}

/// A diagnostic as JSON: positions are 1-based, columns count characters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DiagnosticJson {
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// File name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Start line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Start column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
    /// End line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    /// End column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_col: Option<usize>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Further context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The language of `message`, `help` and `notes`.
    pub lang: Lang,
}

impl DiagnosticJson {
    /// The same diagnostic with its texts in `lang` (diagnostics are raised in English;
    /// see [`Diagnostic::localized`]).
    pub fn in_lang(mut self, lang: Lang) -> Self {
        if self.lang == lang || lang == Lang::En {
            return self;
        }
        let original = Diagnostic {
            severity: self.severity,
            code: self.code,
            message: std::mem::take(&mut self.message),
            location: None,
            help: self.help.take(),
            notes: std::mem::take(&mut self.notes),
        };
        let shown = original.localized(lang);
        self.message = shown.message;
        self.help = shown.help;
        self.notes = shown.notes;
        self.lang = lang;
        self
    }
}

/// Widest part of a source line shown under a diagnostic, in bytes on each side of the
/// marked text: a huge one-line file does not copy the whole line into every diagnostic.
pub const SNIPPET_CONTEXT_BYTES: usize = 160;

/// Writes the ` --> file:line:col` header and the caret snippet; returns the gutter width.
fn render_snippet(out: &mut String, file: &SourceFile, span: Span) -> usize {
    let text = &file.text;
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = 1 + text.as_bytes()[..line_start]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let col = 1 + text[line_start..start].chars().count();
    let line_no = line.to_string();
    let gutter = line_no.len();
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{pad}--> {}:{line}:{col}", file.name);
    // Only the first line of a multi-line span is underlined, and only a window of the
    // line around it is shown.
    let caret_end = end.min(line_end).max(start);
    let shown_start = if start - line_start > SNIPPET_CONTEXT_BYTES {
        floor_char_boundary(text, start - SNIPPET_CONTEXT_BYTES)
    } else {
        line_start
    };
    let caret_end = caret_end.min(start + SNIPPET_CONTEXT_BYTES);
    let caret_end = floor_char_boundary(text, caret_end).max(start);
    let shown_end = if line_end - caret_end > SNIPPET_CONTEXT_BYTES {
        floor_char_boundary(text, caret_end + SNIPPET_CONTEXT_BYTES)
    } else {
        line_end
    };
    let lead = if shown_start > line_start { "…" } else { "" };
    let tail = if shown_end < line_end { "…" } else { "" };
    let before = UnicodeWidthStr::width(lead)
        + UnicodeWidthStr::width(expand_tabs(&text[shown_start..start]).as_str());
    let under = UnicodeWidthStr::width(expand_tabs(&text[start..caret_end]).as_str()).max(1);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(
        out,
        "{line_no} | {lead}{}{tail}",
        expand_tabs(&text[shown_start..shown_end])
    );
    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(before), "^".repeat(under));
    gutter
}

fn expand_tabs(text: &str) -> String {
    text.replace('\t', "    ")
}

/// Most diagnostics kept for one rule file checked (one check of a rule set and what it
/// extends); the rest are summed up in one last diagnostic, "N more problems not shown".
pub const MAX_DIAGNOSTICS: usize = 200;

/// A list of diagnostics, errors and warnings together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Does the list hold at least one error?
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// Is the list empty?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Sorts by file, position and code so output is deterministic.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_deref()
                    .map(|(f, s)| (f.name.to_string(), s.start, s.end))
            };
            key(a).cmp(&key(b)).then(a.code.cmp(b.code))
        });
    }

    /// Keeps the first `limit` diagnostics and replaces the others by one that says how
    /// many were left out (an error if any of them is one, so the list still fails).
    pub fn truncate_to(&mut self, limit: usize) {
        if self.0.len() <= limit {
            return;
        }
        let rest = self.0.split_off(limit);
        let errors = rest.iter().filter(|d| d.is_error()).count();
        let message = format!(
            "{} more problems not shown ({errors} error(s), {} warning(s))",
            rest.len(),
            rest.len() - errors
        );
        let summary = if errors > 0 {
            Diagnostic::error("E0005", message)
        } else {
            Diagnostic::warning("W0005", message)
        };
        self.0.push(summary.with_help(format!(
            "only the first {limit} problems are listed; fix them and check again"
        )));
    }

    /// Renders every diagnostic, separated by blank lines, plus a summary line (English).
    pub fn render(&self) -> String {
        self.render_in(Lang::En)
    }

    /// Renders every diagnostic in `lang`, plus a summary line.
    pub fn render_in(&self, lang: Lang) -> String {
        self.render_with(lang, |d| d.render_in(lang))
    }

    /// Renders each diagnostic in the dialect of its own rule file ([`Diagnostic::render_auto`]);
    /// the summary line is in `fallback`.
    pub fn render_auto(&self, fallback: Lang) -> String {
        self.render_with(fallback, |d| d.render_auto(fallback))
    }

    fn render_with(&self, lang: Lang, one: impl Fn(&Diagnostic) -> String) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&one(d));
            out.push('\n');
        }
        out.push_str(&summary_line(
            lang,
            self.error_count(),
            self.0.len() - self.error_count(),
        ));
        out
    }
}

/// "N error(s), M warning(s)" in `lang`, with a newline.
pub fn summary_line(lang: Lang, errors: usize, warnings: usize) -> String {
    match lang {
        Lang::En => format!("{errors} error(s), {warnings} warning(s)\n"),
        Lang::Zh => format!("{errors} 个错误，{warnings} 个警告\n"),
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_line_up_under_wide_characters() {
        let file = SourceFile::new(
            "t.rules",
            "否决 甲 {\n  当 存在(记录 满足 类别 = 行政处法)\n}",
        );
        let start = file.text.find("行政处法").unwrap();
        let d = Diagnostic::error("E0201", "unknown record kind `行政处法`")
            .at(&file, Span::new(start, start + "行政处法".len()))
            .with_help("did you mean `行政处罚`?");
        let rendered = d.render();
        let expected = "error[E0201]: unknown record kind `行政处法`\n --> t.rules:2:19\n  |\n2 |   当 存在(记录 满足 类别 = 行政处法)\n  |                            ^^^^^^^^\n  = help: did you mean `行政处罚`?\n";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn span_past_the_end_is_clamped() {
        let file = SourceFile::new("t.rules", "abc");
        let d = Diagnostic::error("E0001", "x").at(&file, Span::new(10, 20));
        assert!(d.render().contains("t.rules:1:4"));
    }

    #[test]
    fn json_has_one_based_positions() {
        let file = SourceFile::new("t.rules", "ab\ncd");
        let d = Diagnostic::warning("W0100", "x").at(&file, Span::new(3, 5));
        let json = d.to_json();
        assert_eq!(
            (json.line, json.col, json.end_col),
            (Some(2), Some(1), Some(3))
        );
    }
}
