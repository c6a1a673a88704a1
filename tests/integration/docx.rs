//! The Word output read back as a tendering agent's word processor reads it:
//! for each of the 15 shipped rule sets the .docx is written, unzipped, and
//! `word/document.xml` and the footer parsed. Every clause's wording and its
//! points must sit in a table, the parts' headings must be there, the footer
//! must carry the rule set's hash and effective date, no Markdown may be left
//! in the text, and internal notes must never appear (nor in Markdown or HTML). The same rule set gives
//! the same bytes. (Converting to PDF with LibreOffice is `scripts/docx-pages.sh`,
//! not part of the test suite.)

use credit_rules::compile::CompiledRuleSet;
use credit_rules::render::{self, Format, RenderOptions, TenderFacts};
use credit_rules::ruleset::Workspace;
use rust_decimal::{Decimal, RoundingStrategy};
use std::io::Read;
use std::path::Path;

const RULESETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rulesets");

fn docx_of(program: &CompiledRuleSet, workspace: &Workspace, facts: TenderFacts) -> Vec<u8> {
    let options = RenderOptions {
        format: Format::Docx,
        standalone: false,
        facts,
    };
    render::render(program, &workspace.library, &options)
}

/// The text of a WordprocessingML part, organised as Word shows it.
#[derive(Debug, Default)]
struct Text {
    /// Paragraphs outside tables: `(style, text)`.
    paragraphs: Vec<(String, String)>,
    /// Tables: rows of cells, each cell's paragraphs joined by `\n`.
    tables: Vec<Vec<Vec<String>>>,
    /// Field instructions (`PAGE`, `NUMPAGES`).
    fields: Vec<String>,
}

impl Text {
    fn all(&self) -> String {
        let mut out = String::new();
        for (_, p) in &self.paragraphs {
            out.push_str(p);
            out.push('\n');
        }
        for table in &self.tables {
            for row in table {
                out.push_str(&row.join("\t"));
                out.push('\n');
            }
        }
        out
    }

    /// The table rows (cells joined by tabs) that contain `needle`.
    fn rows_with(&self, needle: &str) -> Vec<String> {
        self.tables
            .iter()
            .flatten()
            .map(|row| row.join("\t"))
            .filter(|row| row.contains(needle))
            .collect()
    }
}

/// Reads one part of the package.
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the .docx is a zip archive");
    let mut file = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("the package has `{name}`"));
    let mut xml = String::new();
    file.read_to_string(&mut xml).expect("the part is UTF-8");
    xml
}

/// A small reader for the WordprocessingML the writer produces: paragraphs,
/// runs, text, breaks, tables (not nested) and field instructions.
fn parse(xml: &str) -> Text {
    let mut text = Text::default();
    let mut table: Option<Vec<Vec<String>>> = None;
    let mut row: Vec<String> = Vec::new();
    let mut cell: Vec<String> = Vec::new();
    let mut para = String::new();
    let mut style = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("a closed tag") + start;
        let tag = &rest[start + 1..end];
        let after = &rest[end + 1..];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or_default();
        let closing = tag.starts_with('/');
        let empty = tag.ends_with('/');
        match (name, closing) {
            ("w:tbl", false) => table = Some(Vec::new()),
            ("w:tbl", true) => text.tables.extend(table.take()),
            ("w:tr", false) => row.clear(),
            ("w:tr", true) => {
                if let Some(t) = table.as_mut() {
                    t.push(std::mem::take(&mut row));
                }
            }
            ("w:tc", false) => cell.clear(),
            ("w:tc", true) => row.push(std::mem::take(&mut cell).join("\n")),
            ("w:p", false) if !empty => {
                para.clear();
                style.clear();
            }
            ("w:pStyle", false) => {
                style = attribute(tag, "w:val").unwrap_or_default();
            }
            ("w:p", true) => {
                if table.is_some() {
                    cell.push(std::mem::take(&mut para));
                } else {
                    text.paragraphs
                        .push((std::mem::take(&mut style), std::mem::take(&mut para)));
                }
            }
            ("w:t", false) if !empty => {
                let close = after.find("</w:t>").expect("a closed w:t");
                para.push_str(&unescape(&after[..close]));
            }
            ("w:br", false) => para.push('\n'),
            ("w:instrText", false) if !empty => {
                let close = after.find("</w:instrText>").expect("a closed w:instrText");
                text.fields
                    .push(unescape(&after[..close]).trim().to_string());
            }
            _ => {}
        }
        rest = after;
    }
    text
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + len]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn round2(n: Decimal) -> Decimal {
    n.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The footer part named by the document's relationships.
fn footer_xml(bytes: &[u8]) -> String {
    let rels = part(bytes, "word/_rels/document.xml.rels");
    let target = rels
        .split("<Relationship ")
        .find(|r| r.contains("/footer\""))
        .and_then(|r| attribute(r, "Target"))
        .expect("the document has a footer");
    part(bytes, &format!("word/{target}"))
}

#[test]
fn every_shipped_rule_set_round_trips_through_word() {
    let workspace = Workspace::load(Path::new(RULESETS)).expect("the rule sets load");
    let ids = workspace.ids();
    assert_eq!(ids.len(), 15, "the shipped rule sets: {ids:?}");
    for id in ids {
        let program = workspace.compile(&id).expect("shipped rule sets compile");
        let bytes = docx_of(&program, &workspace, TenderFacts::default());
        let doc = parse(&part(&bytes, "word/document.xml"));
        let all = doc.all();

        let headings: Vec<&str> = doc
            .paragraphs
            .iter()
            .filter(|(style, _)| style == "Heading1")
            .map(|(_, text)| text.as_str())
            .collect();
        for part in [
            "资格审查条件（信用）",
            "信用评分标准",
            "需评标委员会核实的情形",
            "信用查询渠道与时点",
            "联合体投标",
            "说明",
        ] {
            assert!(
                headings.iter().any(|h| h.ends_with(part)),
                "{id}: no heading `{part}` in {headings:?}"
            );
        }

        for clause in &program.clauses {
            let wording = clause
                .wording
                .as_deref()
                .expect("shipped clauses have wording");
            let rows = doc.rows_with(wording);
            assert!(!rows.is_empty(), "{id}: `{}` is in no table", clause.id);
            if let Some(basis) = &clause.basis {
                assert!(
                    rows.iter().any(|r| r.contains(basis.as_str())),
                    "{id}: the basis of `{}` is not in its row",
                    clause.id
                );
            }
            if clause.kind == credit_rules::ast::ClauseKind::Score {
                let most = round2(clause.cap.unwrap_or_default() * clause.weight).normalize();
                let row = &rows[0];
                let cells: Vec<&str> = row.split('\t').collect();
                assert!(
                    cells
                        .get(2)
                        .is_some_and(|c| c.starts_with(&most.to_string())),
                    "{id}: the points of `{}` ({most}) are not in its row: {row}",
                    clause.id
                );
                assert!(cells[1].contains(&clause.id), "{id}: {row}");
            }
            if let Some(note) = &clause.note {
                assert!(
                    !all.contains(note.as_str()),
                    "{id}: the note `{note}` is printed"
                );
            }
        }
        if let Some(total) = program.meta.total {
            assert!(
                !doc.rows_with(&format!("信用总分\t{}", total.normalize()))
                    .is_empty(),
                "{id}: no total row"
            );
        }

        for markdown in ["<br>", "`", "**", "|---", "| --- |", "\\|"] {
            assert!(
                !all.contains(markdown),
                "{id}: Markdown `{markdown}` left in the text"
            );
        }

        let footer_xml = footer_xml(&bytes);
        let footer = parse(&footer_xml).all();
        assert!(footer.contains(&program.meta.hash), "{id}: footer {footer}");
        assert!(
            footer.contains(&program.meta.effective.to_string()),
            "{id}: footer {footer}"
        );
        assert!(
            footer.contains(&program.meta.version),
            "{id}: footer {footer}"
        );
        let fields = parse(&footer_xml).fields;
        assert!(
            fields.iter().any(|f| f == "PAGE"),
            "{id}: no page number: {fields:?}"
        );

        let core = part(&bytes, "docProps/core.xml");
        assert!(
            core.contains(&format!("{}T00:00:00Z", program.meta.effective)),
            "{id}: {core}"
        );
        let again = docx_of(&program, &workspace, TenderFacts::default());
        if bytes != again {
            let names = [
                "word/document.xml",
                "word/styles.xml",
                "word/settings.xml",
                "word/footer1.xml",
                "docProps/core.xml",
                "docProps/app.xml",
                "docProps/custom.xml",
                "word/_rels/document.xml.rels",
                "[Content_Types].xml",
            ];
            let differing: Vec<&str> = names
                .into_iter()
                .filter(|n| part(&bytes, n) != part(&again, n))
                .collect();
            let one = differing
                .first()
                .map(|n| (part(&bytes, n), part(&again, n)));
            let at = one.as_ref().map(|(a, b)| {
                let i = a
                    .bytes()
                    .zip(b.bytes())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                (
                    a[i.saturating_sub(80)..(i + 80).min(a.len())].to_string(),
                    b[i.saturating_sub(80)..(i + 80).min(b.len())].to_string(),
                )
            });
            panic!(
                "{id}: the same rule set must give the same bytes; differing parts {differing:?}: {at:?}"
            );
        }
    }
}

#[test]
fn chinese_fonts_are_named_for_word_and_wps() {
    let workspace = Workspace::load(Path::new(RULESETS)).expect("the rule sets load");
    let program = workspace.compile("water").expect("compiles");
    let bytes = docx_of(&program, &workspace, TenderFacts::default());
    let styles = part(&bytes, "word/styles.xml");
    for font in [
        "w:eastAsia=\"宋体\"",
        "w:eastAsia=\"黑体\"",
        "w:eastAsia=\"仿宋\"",
    ] {
        assert!(styles.contains(font), "styles.xml lacks {font}");
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("zip");
    for i in 0..archive.len() {
        let entry = archive.by_index(i).expect("an entry");
        let t = entry.last_modified().expect("a time stamp");
        assert_eq!(
            (t.year(), t.month(), t.day()),
            (1980, 1, 1),
            "{}",
            entry.name()
        );
    }
}

#[test]
fn tender_facts_and_the_commitment_letter_are_printed() {
    let workspace = Workspace::load(Path::new(RULESETS)).expect("the rule sets load");
    let program = workspace.compile("construction").expect("compiles");
    let facts = TenderFacts {
        project: Some("某某道路改造工程施工".into()),
        opening: chrono::NaiveDate::from_ymd_opt(2025, 3, 18),
        consortium: Some(false),
    };
    let bytes = docx_of(&program, &workspace, facts);
    let doc = parse(&part(&bytes, "word/document.xml"));
    let all = doc.all();
    assert!(all.contains("某某道路改造工程施工"));
    assert!(all.contains("（本项目为2025年3月18日）"), "{all}");
    assert!(
        !all.contains("联合体投标"),
        "no consortium part when none is accepted"
    );
    let commitment = program
        .terms
        .commitment
        .as_deref()
        .expect("construction asks for one");
    let letter: Vec<&String> = doc
        .paragraphs
        .iter()
        .filter(|(style, _)| style == "Letter")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(letter, vec![commitment], "the letter in 仿宋, as written");
    // Query channels: construction overrides the city base for grades and bad records.
    let row = doc.rows_with("全国建筑市场监管公共服务平台");
    assert!(row.iter().any(|r| r.contains("“信用等级”")), "{row:?}");
    let base = doc.rows_with("湖北省公共资源交易信用信息平台");
    assert!(base.iter().all(|r| !r.contains("不良行为记录")), "{base:?}");
}
