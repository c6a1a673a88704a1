//! The formatter behind `credit-rules fmt`: prints a rule file in its
//! canonical layout.
//!
//! The layout is fixed: the header fields in the order title, sector,
//! version, effective, unit, basis, extends, total, query_channel (as
//! written, one line each), query_day, query_evidence, commitment, note with
//! their values aligned; clause fields in the order wording, basis, note,
//! let (as written), when, points, cap, floor, weight; test blocks as `as_of`, then records (one line each), then
//! expectations; two spaces of indentation; expressions with the fewest
//! parentheses their precedence needs, plus a few for readability (`a or (b
//! and c)`, `not (a in b)`, an `if` inside an operator or condition).
//! Full-width punctuation and Chinese quotation marks become ASCII, and every
//! keyword is written in the file's [`Dialect`] (the language of its header
//! keyword).
//!
//! What the author chose and the layout can keep is kept. A blank line
//! between two items stays (one, however many there were); items written
//! without one stay together. The header is always followed by a blank line.
//! Constants written on consecutive lines form a run, printed as a table:
//! their `=` aligned, and their trailing comments aligned at least three
//! columns after the longest value. A comment line inside a run starts a new
//! alignment (as in `gofmt`), without adding a blank line.
//!
//! Lines are at most 100 display columns, a CJK character counting two. A
//! field, constant or test line that fits stays on one line; otherwise it
//! breaks, deterministically (where depends on the syntax tree only):
//!
//! - a chain of `and`/`or` (`且`/`或`) or of `+`/`-` breaks before every
//!   operator, the operators aligned under the start of the chain;
//! - `if … then … else …` breaks before `then` and `else`, aligned under the
//!   `if`; an `else if` continues the chain rather than nesting;
//! - a table or list breaks after `{` or `[`, its entries filled onto lines
//!   one step in from where it starts (from the start of the line, for the
//!   value of a constant, whose `=` may be far to the right), the closing
//!   bracket on a line of its own;
//! - an aggregate's filter continues one step in from `records`: as many
//!   conditions on the first line as fit, then one per line; if not even the
//!   first fits, the filter starts on the next line; a value argument that
//!   does not fit goes on its own line under `records`.
//!
//! Only what has no break in it (a string, a record, one long name) can stay
//! longer than the width. Line breaks are whitespace, never inside a string,
//! so the reparsed tree is the same.
//!
//! The grammar drops comments, so they are recovered from the source text and
//! re-attached through the spans of the syntax tree: a comment on its own
//! line stays before the node that follows it, a comment at the end of a line
//! stays at the end of that node's printed line (its last line, when it is
//! printed on several). A comment that cannot be placed (one inside a
//! multi-line expression, say) is reported as `E0500` rather than dropped. As
//! a last guard the output is parsed again and must give the same syntax
//! tree (spans aside), or the result is `E0501`.

mod comments;
mod expr;
mod fields;
mod layout;
mod printer;
#[cfg(test)]
mod tests;
mod text;
pub(crate) mod unspanned;
mod words;

use comments::{Attached, attach, collect_slots, lost_comments, scan_comments};
use expr::{ANY, expr_doc};
use layout::render;
use printer::Printer;
use words::Words;

use crate::ast::{Clause, Dialect, Expr, RuleSetAst};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::SourceFile;

/// Spaces per indentation level.
const INDENT: usize = 2;
/// Spaces before a comment at the end of a line.
const COMMENT_GAP: usize = 2;
/// Spaces before the comments of a run of constants, at least: the rule
/// sets' own style for their tables of parameters.
const CONST_COMMENT_GAP: usize = 3;

/// Parses `file` and prints it in the canonical layout, keeping its comments.
///
/// Returns the parser's diagnostics when the file does not parse, `E0500`
/// when a comment sits where the layout cannot keep it, and `E0501` if the
/// printed text would not parse back to the same rule set.
pub fn format_source(file: &SourceFile) -> Result<String, Diagnostics> {
    let ast = crate::syntax::parse(file)?;
    format_ast(file, &ast)
}

/// Prints `ast`, the syntax tree parsed from `file`, in the canonical layout.
///
/// `file` supplies the comments (the tree has none) and must be the text the
/// tree was parsed from, since comments are placed through the tree's spans.
/// Errors are as for [`format_source`].
pub fn format_ast(file: &SourceFile, ast: &RuleSetAst) -> Result<String, Diagnostics> {
    let words = Words::of(ast.dialect);
    let comments = scan_comments(&file.text);
    let slots = collect_slots(words, &file.text, &comments, ast);
    let attached = attach(&file.text, &comments, &slots);
    let mut printer = Printer::new(words, &file.text, &comments, attached);
    printer.rule_set(ast);
    let (text, lost) = printer.finish();
    if !lost.is_empty() {
        return Err(lost_comments(file, &comments, &lost, ast));
    }
    check_meaning(file, ast, &text)?;
    Ok(text)
}

/// Prints one clause in the canonical layout with the keywords of `dialect`,
/// without comments: the form in which the version diff shows a clause.
pub fn format_clause(clause: &Clause, dialect: Dialect) -> String {
    let mut printer = Printer::new(Words::of(dialect), "", &[], Attached::default());
    printer.clause(0, clause);
    printer.finish().0
}

/// Prints an expression in the canonical layout with the keywords of
/// `dialect`, as if it started a line (long ones break over several lines).
pub fn format_expr(expr: &Expr, dialect: Dialect) -> String {
    render(&expr_doc(Words::of(dialect), expr, ANY), 0, 0)
}

/// Parses the printed text again; it must give the same tree, spans aside.
fn check_meaning(file: &SourceFile, ast: &RuleSetAst, text: &str) -> Result<(), Diagnostics> {
    let printed = SourceFile::new(file.name.clone(), text);
    let same = crate::syntax::parse(&printed)
        .is_ok_and(|again| unspanned::rule_set(&again) == unspanned::rule_set(ast));
    if same {
        return Ok(());
    }
    Err(Diagnostic::error(
        "E0501",
        "formatting would change the meaning of the rule set",
    )
    .at(file, ast.header.id.span)
    .with_help("this is a bug in `credit-rules fmt`; the file was left as it is — please report it with the file")
    .into())
}
