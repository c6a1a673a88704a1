//! The CSV download of a search: UTF-8 with a byte-order mark (so that Excel opens Chinese
//! text correctly), a header row in Chinese, CRLF line ends, RFC 4180 quoting, and a guard
//! against formula injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return gets a leading apostrophe, so a spreadsheet shows it as text instead of running it.

use super::text::neutralise;
use crate::store::DisclosureEntry;

/// The UTF-8 byte-order mark that starts the file.
pub const BOM: &str = "\u{FEFF}";

/// The header row, in the column order of [`row`].
pub const HEADER: [&str; 8] = [
    "主体名称",
    "统一社会信用代码",
    "失信类别",
    "认定机关",
    "决定文书号",
    "认定日期",
    "公示截止日期",
    "法律依据",
];

/// One cell: formula guard, then RFC 4180 quoting when needed.
pub fn cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The cells of one entry, in [`HEADER`] order; texts are neutralised like on the pages.
pub fn row(entry: &DisclosureEntry) -> [String; 8] {
    let text = |v: &Option<String>| v.as_deref().map(neutralise).unwrap_or_default();
    [
        text(&entry.name),
        entry.uscc.as_str().to_owned(),
        entry.kind_label.clone(),
        text(&entry.authority),
        text(&entry.document_no),
        entry.decided_on.to_string(),
        entry
            .disclosure_until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "长期".to_owned()),
        text(&entry.legal_basis),
    ]
}

/// Appends one line (cells joined by commas, CRLF at the end).
pub fn push_line<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, value) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(value.as_ref()));
    }
    out.push_str("\r\n");
}

/// The whole file: BOM, header, one line per entry.
pub fn document<'a>(entries: impl IntoIterator<Item = &'a DisclosureEntry>) -> String {
    let mut out = String::from(BOM);
    push_line(&mut out, &HEADER);
    for entry in entries {
        push_line(&mut out, &row(entry));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_get_a_leading_apostrophe() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+86"), "'+86");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            cell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(cell("武汉=公司"), "武汉=公司");
    }

    #[test]
    fn the_file_starts_with_the_bom_and_a_chinese_header() {
        let doc = document([]);
        assert!(doc.starts_with('\u{FEFF}'));
        assert!(doc.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(
            doc.trim_start_matches('\u{FEFF}'),
            "主体名称,统一社会信用代码,失信类别,认定机关,决定文书号,认定日期,公示截止日期,法律依据\r\n"
        );
    }
}
