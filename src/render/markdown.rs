//! The Markdown writer: the credit chapter as Chinese Markdown (GitHub
//! tables), for review in a browser or a Git diff. Text written by policy
//! staff is escaped so Markdown prints it as written.

use super::model::{Block, Document, Inline, ListedClause, Para, Table};
use std::fmt::Write as _;

/// Writes `doc` as Markdown.
pub fn write(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape(&doc.title));
    let _ = writeln!(out, "{}\n", para(&doc.subtitle));
    out.push_str("| 项目 | 内容 |\n| --- | --- |\n");
    for (name, value) in &doc.info {
        let _ = writeln!(out, "| {name} | {} |", para(value));
    }
    out.push('\n');
    let last = doc.parts.len().saturating_sub(1);
    for (i, part) in doc.parts.iter().enumerate() {
        let _ = writeln!(out, "## {}\n", part.heading);
        for block in &part.blocks {
            write_block(&mut out, block);
            // The last list of the document ends the file without a blank line.
            if i != last || !matches!(block, Block::Numbered(_)) {
                out.push('\n');
            }
        }
    }
    out
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Para(p) => {
            let _ = writeln!(out, "{}", para(p));
        }
        Block::Table(t) => table(out, t),
        Block::Clauses(items) => {
            for item in items {
                clause(out, item);
            }
        }
        Block::Numbered(items) => {
            for (i, p) in items.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, para(p));
            }
        }
        Block::Quote(lines) => {
            for (i, p) in lines.iter().enumerate() {
                if i > 0 {
                    out.push_str(">\n");
                }
                let _ = writeln!(out, "> {}", para(p));
            }
        }
    }
}

fn clause(out: &mut String, item: &ListedClause) {
    let _ = writeln!(out, "{}. {}{}", item.number, item.tag, para(&item.text));
    for (label, text) in &item.details {
        let _ = writeln!(out, "   - {label}：{}", para(text));
    }
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "| {} |", t.columns.join(" | "));
    let rule: Vec<&str> = t.columns.iter().map(|_| "---").collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &t.rows {
        out.push('|');
        for cell in row {
            let lines: Vec<String> = cell.iter().map(para).collect();
            let text = lines.join("<br>");
            if text.is_empty() {
                out.push_str(" |");
            } else {
                let _ = write!(out, " {text} |");
            }
        }
        out.push('\n');
    }
}

fn para(p: &Para) -> String {
    p.0.iter()
        .map(|i| match i {
            Inline::Text(t) => escape(t),
            Inline::Code(t) => format!("`{t}`"),
            Inline::Strong(t) => format!("**{}**", escape(t)),
        })
        .collect()
}

/// Escapes text so Markdown prints it as written.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(escape("a|b*c_d"), "a\\|b\\*c\\_d");
        assert_eq!(escape("一\n二"), "一<br>二");
        assert_eq!(escape("《办法》〔2019〕2号"), "《办法》〔2019〕2号");
    }
}
