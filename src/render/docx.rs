//! The Word writer: the credit chapter as a .docx (built with `docx-rs`) that
//! a tendering agent pastes into the standard tender document as it is.
//!
//! * A4, real Word tables (the title block, the score table, the query
//!   channels; vetoes and flags as tables of 序号 / 情形 / 依据与判定规则),
//!   a heading per part (style `Heading1`, outline level 1).
//! * Chinese fonts named as Word and WPS know them: body text 宋体 (SimSun),
//!   the commitment letter 仿宋 (FangSong), headings 黑体 (SimHei), set as the
//!   East Asian font of the document defaults and of each style.
//! * The footer carries the rule-set id, version, effective date and the
//!   SHA-256 of the compiled rule set (the hash evaluation answers report),
//!   and the page number (`PAGE` / `NUMPAGES` fields), so a printed page
//!   traces to its version.
//! * Deterministic: zip entries carry the fixed DOS epoch (the `zip` crate is
//!   built without its clock), paragraph ids are numbered per document, and
//!   the core properties' dates are the rule set's effective date, and the
//!   identity is one custom property (`credit-rules`: id, version, effective
//!   date, hash) — the same rule set gives the same bytes.

use super::model::{Block, Cell, Document, Inline, ListedClause, Para, Table};
use docx_rs::{
    AlignmentType, Docx, FieldCharType, Footer, InstrNUMPAGES, InstrPAGE, InstrText, LineSpacing,
    PageMargin, Paragraph, Run, RunFonts, Shading, Style, StyleType, TableCell, TableRow,
    VAlignType, WidthType,
};

/// 宋体: body text.
pub const BODY_FONT: &str = "宋体";
/// 黑体: headings.
pub const HEADING_FONT: &str = "黑体";
/// 仿宋: the commitment letter.
pub const LETTER_FONT: &str = "仿宋";
/// Latin text beside the Chinese.
const LATIN_FONT: &str = "Times New Roman";

/// A4 in twentieths of a point.
const PAGE_WIDTH: u32 = 11906;
const PAGE_HEIGHT: u32 = 16838;
/// Margins: 2.54 cm top and bottom, 2.2 cm left and right.
const MARGIN_TB: i32 = 1440;
const MARGIN_LR: i32 = 1247;
/// The text width the tables fill.
const TEXT_WIDTH: usize = (PAGE_WIDTH as i32 - 2 * MARGIN_LR) as usize;

/// Sizes in half-points: 五号 10.5 pt body, 小五 9 pt tables and footer, 三号 16 pt title, 四号 14 pt headings.
const BODY_SIZE: usize = 21;
const SMALL_SIZE: usize = 18;
const TITLE_SIZE: usize = 32;
const HEADING_SIZE: usize = 28;

/// Writes `doc` as the bytes of a .docx file.
pub fn write(doc: &Document) -> Vec<u8> {
    let mut docx = Docx::new()
        .page_size(PAGE_WIDTH, PAGE_HEIGHT)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TB)
                .bottom(MARGIN_TB)
                .left(MARGIN_LR)
                .right(MARGIN_LR)
                .header(851)
                .footer(567),
        )
        .default_fonts(fonts(BODY_FONT))
        .default_size(BODY_SIZE)
        .add_style(heading_style("Title", "Title", TITLE_SIZE))
        .add_style(heading_style("Heading1", "heading 1", HEADING_SIZE))
        .add_style(
            Style::new("Letter", StyleType::Paragraph)
                .name("Commitment letter")
                .based_on("Normal")
                .fonts(fonts(LETTER_FONT))
                .size(24),
        )
        .footer(footer(doc))
        .created_at(&timestamp(doc))
        .updated_at(&timestamp(doc))
        // One custom property only: docx-rs keeps them in a hash map, whose order varies.
        .custom_property(
            "credit-rules",
            format!(
                "{} {} {} sha256:{}",
                doc.identity.id, doc.identity.version, doc.identity.effective, doc.identity.hash
            ),
        );
    docx = docx.add_paragraph(
        Paragraph::new()
            .style("Title")
            .align(AlignmentType::Center)
            .add_run(Run::new().add_text(&doc.title)),
    );
    docx = docx.add_paragraph(
        runs(Paragraph::new(), &doc.subtitle, BODY_SIZE).align(AlignmentType::Center),
    );
    let info: Vec<TableRow> = doc
        .info
        .iter()
        .map(|(name, value)| {
            TableRow::new(vec![
                cell(&[Para::strong(name.as_str())], 1800).shading(header_shading()),
                cell(std::slice::from_ref(value), TEXT_WIDTH - 1800),
            ])
        })
        .collect();
    docx = docx.add_table(table(info, &[1800, TEXT_WIDTH - 1800]));
    for part in &doc.parts {
        docx = docx.add_paragraph(
            Paragraph::new()
                .style("Heading1")
                .outline_lvl(0)
                .keep_next(true)
                .add_run(Run::new().add_text(&part.heading)),
        );
        for block in &part.blocks {
            docx = write_block(docx, block);
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    docx.build()
        .pack(&mut bytes)
        .expect("writing a zip archive to memory cannot fail");
    bytes.into_inner()
}

/// The core properties' dates: the effective date, so the bytes never depend on the clock.
fn timestamp(doc: &Document) -> String {
    format!("{}T00:00:00Z", doc.identity.effective)
}

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .ascii(LATIN_FONT)
        .hi_ansi(LATIN_FONT)
        .cs(LATIN_FONT)
        .east_asia(east_asia)
}

fn heading_style(id: &str, name: &str, size: usize) -> Style {
    Style::new(id, StyleType::Paragraph)
        .name(name)
        .based_on("Normal")
        .next("Normal")
        .fonts(fonts(HEADING_FONT))
        .size(size)
        .bold()
        .line_spacing(LineSpacing::new().before(240).after(120))
}

fn header_shading() -> Shading {
    Shading::new().fill("E7E6E6")
}

fn write_block(docx: Docx, block: &Block) -> Docx {
    match block {
        Block::Para(p) => docx.add_paragraph(body(p)),
        Block::Table(t) => docx.add_table(data_table(t)),
        Block::Clauses(items) => docx.add_table(clause_table(items)),
        Block::Numbered(items) => items.iter().enumerate().fold(docx, |docx, (i, p)| {
            let mut line = Para::text(format!("{}. ", i + 1));
            line.append(p.clone());
            // Left-aligned: a justified line before a long hash would be stretched apart.
            docx.add_paragraph(
                runs(Paragraph::new(), &line, BODY_SIZE)
                    .align(AlignmentType::Left)
                    .line_spacing(LineSpacing::new().after(80)),
            )
        }),
        Block::Quote(lines) => lines.iter().fold(docx, |docx, p| {
            docx.add_paragraph(
                runs(Paragraph::new().style("Letter"), p, 24)
                    .indent(Some(420), None, Some(420), None)
                    .line_spacing(LineSpacing::new().after(60)),
            )
        }),
    }
}

/// A body paragraph, justified, set off from a table above it.
fn body(p: &Para) -> Paragraph {
    runs(Paragraph::new(), p, BODY_SIZE)
        .align(AlignmentType::Both)
        .line_spacing(LineSpacing::new().before(120).after(80))
}

/// Appends the runs of `p` (line breaks inside text become separate lines).
fn runs(mut paragraph: Paragraph, p: &Para, size: usize) -> Paragraph {
    for inline in &p.0 {
        let (text, bold) = match inline {
            Inline::Text(t) | Inline::Code(t) => (t, false),
            Inline::Strong(t) => (t, true),
        };
        for (i, line) in text.split('\n').enumerate() {
            let mut run = Run::new().size(size);
            if i > 0 {
                run = run.add_break(docx_rs::BreakType::TextWrapping);
            }
            run = run.add_text(line);
            if bold {
                run = run.bold();
            }
            paragraph = paragraph.add_run(run);
        }
    }
    paragraph
}

/// A cell of `width` twips holding one paragraph per line.
fn cell(lines: &[Para], width: usize) -> TableCell {
    let mut c = TableCell::new()
        .width(width, WidthType::Dxa)
        .vertical_align(VAlignType::Top);
    if lines.is_empty() {
        return c.add_paragraph(Paragraph::new());
    }
    for line in lines {
        c = c.add_paragraph(runs(Paragraph::new(), line, SMALL_SIZE));
    }
    c
}

fn table(rows: Vec<TableRow>, grid: &[usize]) -> docx_rs::Table {
    docx_rs::Table::new(rows)
        .set_grid(grid.to_vec())
        .width(TEXT_WIDTH, WidthType::Dxa)
        .layout(docx_rs::TableLayoutType::Fixed)
}

/// Column widths in twips from relative widths, filling the text width.
fn grid(widths: &[u32]) -> Vec<usize> {
    let sum: u32 = widths.iter().sum::<u32>().max(1);
    widths
        .iter()
        .map(|w| (*w as usize) * TEXT_WIDTH / sum as usize)
        .collect()
}

fn header_row(columns: &[String], grid: &[usize]) -> TableRow {
    TableRow::new(
        columns
            .iter()
            .zip(grid)
            .map(|(c, w)| {
                cell(&[Para::strong(c.as_str())], *w)
                    .shading(header_shading())
                    .vertical_align(VAlignType::Center)
            })
            .collect(),
    )
    .cant_split()
}

fn data_table(t: &Table) -> docx_rs::Table {
    let grid = grid(&t.widths);
    let mut rows = vec![header_row(&t.columns, &grid)];
    for row in &t.rows {
        rows.push(TableRow::new(
            row.iter()
                .zip(&grid)
                .map(|(c, w): (&Cell, &usize)| cell(c, *w))
                .collect(),
        ));
    }
    table(rows, &grid)
}

/// Vetoes and flags: 序号 | 情形 | 依据与判定规则.
fn clause_table(items: &[ListedClause]) -> docx_rs::Table {
    let grid = grid(&[8, 50, 42]);
    let columns = ["序号", "情形", "依据与判定规则"].map(String::from);
    let mut rows = vec![header_row(&columns, &grid)];
    for item in items {
        let mut text = Para::text(item.tag.as_str());
        text.append(item.text.clone());
        let details: Vec<Para> = item
            .details
            .iter()
            .map(|(label, value)| {
                let mut line = Para::text(format!("{label}："));
                line.append(value.clone());
                line
            })
            .collect();
        rows.push(TableRow::new(vec![
            cell(&[Para::text(item.number.to_string())], grid[0]),
            cell(&[text], grid[1]),
            cell(&details, grid[2]),
        ]));
    }
    table(rows, &grid)
}

/// `规则集 water · 版本 2024.1 · 生效日期 2024-03-01 · 第 N 页 共 M 页`, then the hash.
fn footer(doc: &Document) -> Footer {
    let id = &doc.identity;
    let small = |text: String| Run::new().size(SMALL_SIZE).add_text(text);
    let field = |p: Paragraph, instr: InstrText| {
        p.add_run(
            Run::new()
                .size(SMALL_SIZE)
                .add_field_char(FieldCharType::Begin, false),
        )
        .add_run(Run::new().size(SMALL_SIZE).add_instr_text(instr))
        .add_run(
            Run::new()
                .size(SMALL_SIZE)
                .add_field_char(FieldCharType::Separate, false),
        )
        .add_run(small("1".to_string()))
        .add_run(
            Run::new()
                .size(SMALL_SIZE)
                .add_field_char(FieldCharType::End, false),
        )
    };
    let line = Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(small(format!(
            "规则集 {} · 版本 {} · 生效日期 {} · 第 ",
            id.id, id.version, id.effective
        )));
    let line = field(line, InstrText::PAGE(InstrPAGE::new())).add_run(small(" 页 共 ".into()));
    let line = field(line, InstrText::NUMPAGES(InstrNUMPAGES::new())).add_run(small(" 页".into()));
    let hash = Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(small(format!("规则指纹（SHA-256）：{}", id.hash)));
    Footer::new().add_paragraph(line).add_paragraph(hash)
}
