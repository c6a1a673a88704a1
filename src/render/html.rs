//! The HTML writer: the credit chapter as a semantic HTML fragment that the
//! public site and the staff console embed (an `<article>` with headings,
//! ordered lists and tables; every text escaped; no inline script or style,
//! so it works under a strict Content-Security-Policy; classes prefixed
//! `cr-` for the host's style sheet), or as a standalone page for the CLI.

use super::model::{Block, Document, Inline, ListedClause, Para, Table};
use std::fmt::Write as _;

/// The style sheet of the standalone page.
const PAGE_STYLE: &str = "body{font-family:\"SimSun\",\"宋体\",\"Noto Serif CJK SC\",serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.6}\
h1,h2{font-family:\"SimHei\",\"黑体\",\"Noto Sans CJK SC\",sans-serif}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:.3rem .5rem;vertical-align:top}\
th{background:#eee}.cr-clause-details{list-style:none;padding-left:1rem;color:#333}\
.cr-total td{font-weight:bold}blockquote{border-left:3px solid #999;margin-left:0;padding-left:1rem}\
footer{margin-top:2rem;font-size:.85rem;color:#555}";

/// Writes `doc` as an HTML fragment (one `<article>`).
pub fn fragment(doc: &Document) -> String {
    let mut out = String::new();
    let id = &doc.identity;
    let _ = writeln!(
        out,
        "<article class=\"cr-document\" data-ruleset=\"{}\" data-version=\"{}\" data-hash=\"{}\">",
        escape(&id.id),
        escape(&id.version),
        escape(&id.hash)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&doc.title));
    let _ = writeln!(out, "<p class=\"cr-subtitle\">{}</p>", para(&doc.subtitle));
    out.push_str("<table class=\"cr-info\">\n<tbody>\n");
    for (name, value) in &doc.info {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(name),
            para(value)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for part in &doc.parts {
        out.push_str("<section>\n");
        let _ = writeln!(out, "<h2>{}</h2>", escape(&part.heading));
        for block in &part.blocks {
            write_block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    let _ = writeln!(
        out,
        "<footer class=\"cr-identity\">规则集 <code>{}</code> 版本 {} · 生效日期 {} · 规则指纹 <code>{}</code></footer>",
        escape(&id.id),
        escape(&id.version),
        id.effective,
        escape(&id.hash)
    );
    out.push_str("</article>\n");
    out
}

/// Writes `doc` as a complete HTML page (for the CLI; the style sheet is inline).
pub fn page(doc: &Document) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        escape(&doc.title),
        fragment(doc)
    )
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Para(p) => {
            let _ = writeln!(out, "<p>{}</p>", para(p));
        }
        Block::Table(t) => table(out, t),
        Block::Clauses(items) => {
            out.push_str("<ol class=\"cr-clauses\">\n");
            for item in items {
                clause(out, item);
            }
            out.push_str("</ol>\n");
        }
        Block::Numbered(items) => {
            out.push_str("<ol>\n");
            for p in items {
                let _ = writeln!(out, "<li>{}</li>", para(p));
            }
            out.push_str("</ol>\n");
        }
        Block::Quote(lines) => {
            out.push_str("<blockquote class=\"cr-commitment\">\n");
            for p in lines {
                let _ = writeln!(out, "<p>{}</p>", para(p));
            }
            out.push_str("</blockquote>\n");
        }
    }
}

fn clause(out: &mut String, item: &ListedClause) {
    out.push_str("<li>");
    if !item.tag.is_empty() {
        let _ = write!(
            out,
            "<strong class=\"cr-tag\">{}</strong>",
            escape(&item.tag)
        );
    }
    out.push_str(&para(&item.text));
    out.push_str("\n<ul class=\"cr-clause-details\">\n");
    for (label, text) in &item.details {
        let _ = writeln!(out, "<li>{}：{}</li>", escape(label), para(text));
    }
    out.push_str("</ul>\n</li>\n");
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<thead>\n<tr>");
    for c in &t.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(c));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &t.rows {
        let total = row.iter().any(|cell| {
            cell.iter()
                .any(|p| p.0.iter().any(|i| matches!(i, Inline::Strong(_))))
        });
        out.push_str(if total {
            "<tr class=\"cr-total\">"
        } else {
            "<tr>"
        });
        for cell in row {
            let lines: Vec<String> = cell.iter().map(para).collect();
            let _ = write!(out, "<td>{}</td>", lines.join("<br>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn para(p: &Para) -> String {
    p.0.iter()
        .map(|i| match i {
            Inline::Text(t) => escape(t).replace('\n', "<br>"),
            Inline::Code(t) => format!("<code>{}</code>", escape(t)),
            Inline::Strong(t) => format!("<strong>{}</strong>", escape(t)),
        })
        .collect()
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;
    use crate::render::{TenderFacts, build_document};
    use crate::ruleset::Workspace;
    use crate::source::SourceFile;

    /// Text written by policy staff cannot inject markup into the console or the site.
    #[test]
    fn staff_text_is_escaped_everywhere_in_the_fragment() {
        let rules = r#"
            ruleset t { title "<b>标题</b>" version "1\"><script>" effective 2024-01-01 unit "局" }
            flag 提示 { wording "<script>alert(1)</script>" basis "a & b" when any(records where kind = 经营异常名录) }
        "#;
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("t.rules", rules), None);
        let program = w.compile("t").expect("compiles");
        let html = super::fragment(&build_document(
            &program,
            &w.library,
            &TenderFacts::default(),
        ));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("a &amp; b"), "{html}");
        assert!(
            html.contains("data-version=\"1&quot;&gt;&lt;script&gt;\""),
            "{html}"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
