//! The document model of a tender document's credit chapter: what the
//! chapter says, without saying how it is laid out. The builder in
//! [`super`] fills it from a compiled rule set (and optional tender facts);
//! the writers ([`super::markdown`], [`super::html`], [`super::docx`]) lay
//! it out. Text in the model is plain: each writer escapes it for its format.

use chrono::NaiveDate;

/// A piece of running text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text (may hold line breaks).
    Text(String),
    /// An identifier (rule-set or clause id): `code` in Markdown and HTML, plain in Word.
    Code(String),
    /// Emphasised text.
    Strong(String),
}

/// One paragraph (or one line of a table cell).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Para(pub Vec<Inline>);

impl Para {
    /// A paragraph of plain text.
    pub fn text(text: impl Into<String>) -> Para {
        Para(vec![Inline::Text(text.into())])
    }

    /// A paragraph of emphasised text.
    pub fn strong(text: impl Into<String>) -> Para {
        Para(vec![Inline::Strong(text.into())])
    }

    /// Appends plain text.
    pub fn push_text(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(Inline::Text(text.into()));
        self
    }

    /// Appends every inline of `other`.
    pub fn append(&mut self, other: Para) -> &mut Self {
        self.0.extend(other.0);
        self
    }

    /// The text without any markup.
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|i| match i {
                Inline::Text(t) | Inline::Code(t) | Inline::Strong(t) => t.as_str(),
            })
            .collect()
    }

    /// True when it holds no text.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|i| match i {
            Inline::Text(t) | Inline::Code(t) | Inline::Strong(t) => t.is_empty(),
        })
    }
}

/// A table cell: one or more lines.
pub type Cell = Vec<Para>;

/// A table with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Relative column widths (any unit; writers that size columns use them).
    pub widths: Vec<u32>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// A veto or flag as a numbered entry with its details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedClause {
    /// 1, 2, 3 …
    pub number: usize,
    /// `〔全市统一·强制〕`, `〔强制〕` or empty.
    pub tag: String,
    /// The clause's published wording (or a generated sentence).
    pub text: Para,
    /// `(label, text)` lines: 依据, 判定规则, 条款编号.
    pub details: Vec<(String, Para)>,
}

/// A block of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph.
    Para(Para),
    /// A table.
    Table(Table),
    /// Numbered clauses with their details (vetoes, flags).
    Clauses(Vec<ListedClause>),
    /// A numbered list of paragraphs.
    Numbered(Vec<Para>),
    /// A text to reproduce as it is, e.g. the credit commitment letter.
    Quote(Vec<Para>),
}

/// A part of the chapter, under its own heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `一、资格审查条件（信用）` …
    pub heading: String,
    /// Its content.
    pub blocks: Vec<Block>,
}

/// Which version of which rule set the document was generated from: printed
/// in the Word footer so that a printed page traces to its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Rule-set id.
    pub id: String,
    /// Version label.
    pub version: String,
    /// SHA-256 over the `extends` chain (the hash evaluation answers report).
    pub hash: String,
    /// Effective date.
    pub effective: NaiveDate,
}

impl Identity {
    /// The first 12 hex digits of the hash: enough to find the version.
    pub fn short_hash(&self) -> &str {
        &self.hash[..12.min(self.hash.len())]
    }
}

/// The credit chapter of a tender document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The rule set's title.
    pub title: String,
    /// The line under the title.
    pub subtitle: Para,
    /// `(item, content)` rows of the title block.
    pub info: Vec<(String, Para)>,
    /// The parts, in order.
    pub parts: Vec<Part>,
    /// The version identity.
    pub identity: Identity,
}
