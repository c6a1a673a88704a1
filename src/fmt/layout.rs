//! A small Wadler-style pretty printer ("A prettier printer"; the printing
//! loop follows Prettier's). A [`Doc`] is text with the places where a line
//! may break; [`render`] breaks as few of them as it can, outermost first, to
//! keep lines within [`WIDTH`] columns. The result depends only on the
//! document and the column it starts at, never on how the source was laid
//! out, which is what makes `fmt` idempotent.

use unicode_width::UnicodeWidthStr;

/// The widest line the formatter aims for, in display columns (a CJK
/// character counts two). Only what cannot break (a long string, a
/// record, an operand that is long by itself) goes beyond it.
pub(super) const WIDTH: usize = 100;

pub(super) enum Doc {
    /// Text without line breaks.
    Text(String),
    /// A space, or a line break.
    Line,
    /// Nothing, or a line break.
    SoftLine,
    Concat(Vec<Doc>),
    /// Line breaks inside continue at the column where this starts.
    Align(Box<Doc>),
    /// Line breaks inside continue this many columns further in.
    Nest(usize, Box<Doc>),
    /// Its own line breaks (not those of groups inside) are taken all
    /// together or not at all.
    Group(Box<Doc>),
    /// Items and the separators between them (`parts` alternate item,
    /// separator, item …): a separator breaks only when the item after it
    /// does not fit on the line. Once a `sticky` fill has broken a line,
    /// every later separator breaks too.
    Fill {
        parts: Vec<Doc>,
        sticky: bool,
    },
}

impl Doc {
    pub(super) fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    pub(super) fn align(doc: Doc) -> Doc {
        Doc::Align(Box::new(doc))
    }

    pub(super) fn nest(by: usize, doc: Doc) -> Doc {
        Doc::Nest(by, Box::new(doc))
    }

    pub(super) fn group(doc: Doc) -> Doc {
        Doc::Group(Box::new(doc))
    }
}

/// Prints `doc` starting at column `col`; line breaks outside any
/// `Align` or `Nest` continue at column `indent`. Every line after the
/// first starts with its indentation.
pub(super) fn render(doc: &Doc, col: usize, indent: usize) -> String {
    let mut printer = Printer {
        out: String::new(),
        col,
    };
    let mut stack = vec![Cmd {
        indent,
        flat: false,
        step: Step::Doc(doc),
    }];
    while let Some(cmd) = stack.pop() {
        printer.step(cmd, &mut stack);
    }
    printer.out
}

#[derive(Clone, Copy)]
enum Step<'d> {
    Doc(&'d Doc),
    /// An item of a fill: flat if it fits, else broken.
    Fit(&'d Doc),
    /// The rest of a fill, from the separator `parts[next]`.
    FillFrom {
        parts: &'d [Doc],
        next: usize,
        sticky: bool,
        broken: bool,
    },
}

/// A piece still to print, with the indentation of its line breaks and
/// whether they are taken (`flat`: they are not).
#[derive(Clone, Copy)]
struct Cmd<'d> {
    indent: usize,
    flat: bool,
    step: Step<'d>,
}

struct Printer {
    out: String,
    col: usize,
}

impl Printer {
    fn step<'d>(&mut self, cmd: Cmd<'d>, stack: &mut Vec<Cmd<'d>>) {
        let doc = match cmd.step {
            Step::Doc(doc) => doc,
            Step::Fit(doc) => {
                let flat = fits(self.col, &[doc], stack);
                stack.push(Cmd {
                    flat,
                    step: Step::Doc(doc),
                    ..cmd
                });
                return;
            }
            Step::FillFrom { .. } => return self.fill_from(cmd, stack),
        };
        let push = |stack: &mut Vec<Cmd<'d>>, indent, flat, doc| {
            stack.push(Cmd {
                indent,
                flat,
                step: Step::Doc(doc),
            })
        };
        match doc {
            Doc::Text(s) => {
                self.out.push_str(s);
                self.col += s.width();
            }
            Doc::Line if cmd.flat => {
                self.out.push(' ');
                self.col += 1;
            }
            Doc::SoftLine if cmd.flat => {}
            Doc::Line | Doc::SoftLine => {
                self.out.push('\n');
                self.out.push_str(&" ".repeat(cmd.indent));
                self.col = cmd.indent;
            }
            Doc::Concat(parts) => {
                for part in parts.iter().rev() {
                    push(stack, cmd.indent, cmd.flat, part);
                }
            }
            Doc::Align(inner) => push(stack, self.col, cmd.flat, inner),
            Doc::Nest(by, inner) => push(stack, cmd.indent + by, cmd.flat, inner),
            Doc::Group(inner) => {
                let flat = cmd.flat || fits(self.col, &[inner], stack);
                push(stack, cmd.indent, flat, inner);
            }
            Doc::Fill { parts, .. } if cmd.flat => {
                for part in parts.iter().rev() {
                    push(stack, cmd.indent, true, part);
                }
            }
            Doc::Fill { parts, sticky } => {
                let rest = Step::FillFrom {
                    parts,
                    next: 1,
                    sticky: *sticky,
                    broken: false,
                };
                stack.push(Cmd { step: rest, ..cmd });
                if let Some(first) = parts.first() {
                    stack.push(Cmd {
                        step: Step::Fit(first),
                        ..cmd
                    });
                }
            }
        }
    }

    /// The next separator of a fill stays flat if the item after it fits
    /// on the line too (with whatever follows the fill, for the last item).
    fn fill_from<'d>(&mut self, cmd: Cmd<'d>, stack: &mut Vec<Cmd<'d>>) {
        let Step::FillFrom {
            parts,
            next,
            sticky,
            broken,
        } = cmd.step
        else {
            return;
        };
        let (Some(sep), Some(item)) = (parts.get(next), parts.get(next + 1)) else {
            return;
        };
        let rest = |broken| Cmd {
            step: Step::FillFrom {
                parts,
                next: next + 2,
                sticky,
                broken,
            },
            ..cmd
        };
        // Decided with the rest of the fill on the stack: after the last
        // item, what follows the fill has to fit on the line too.
        stack.push(rest(broken));
        let flat = !(sticky && broken) && fits(self.col, &[sep, item], stack);
        stack.pop();
        stack.push(rest(broken || !flat));
        // An item after a line break is laid out flat if it fits there.
        let item = if flat {
            Step::Doc(item)
        } else {
            Step::Fit(item)
        };
        for step in [item, Step::Doc(sep)] {
            stack.push(Cmd {
                indent: cmd.indent,
                flat,
                step,
            });
        }
    }
}

/// Whether `docs`, printed flat from column `col`, fit on the line
/// together with what `rest` prints before its next possible line break
/// (everything in `rest` counts as broken: it has not been decided yet,
/// and breaking is what it would do to fit).
fn fits(col: usize, docs: &[&Doc], rest: &[Cmd<'_>]) -> bool {
    let mut left = WIDTH.saturating_sub(col);
    let mut todo: Vec<(bool, &Doc)> = docs.iter().rev().map(|&d| (true, d)).collect();
    let mut rest = rest.iter().rev();
    loop {
        let (flat, doc) = match todo.pop() {
            Some(next) => next,
            None => match rest.next() {
                None => return true,
                Some(cmd) => match cmd.step {
                    Step::Doc(doc) | Step::Fit(doc) => (cmd.flat, doc),
                    Step::FillFrom { parts, next, .. } => {
                        let parts = parts.get(next..).unwrap_or_default();
                        todo.extend(parts.iter().rev().map(|d| (cmd.flat, d)));
                        continue;
                    }
                },
            },
        };
        match doc {
            Doc::Text(s) => match left.checked_sub(s.width()) {
                Some(l) => left = l,
                None => return false,
            },
            Doc::Line | Doc::SoftLine if !flat => return true,
            Doc::Line => match left.checked_sub(1) {
                Some(l) => left = l,
                None => return false,
            },
            Doc::SoftLine => {}
            Doc::Concat(parts) | Doc::Fill { parts, .. } => {
                todo.extend(parts.iter().rev().map(|d| (flat, d)));
            }
            Doc::Align(inner) | Doc::Nest(_, inner) | Doc::Group(inner) => todo.push((flat, inner)),
        }
    }
}
