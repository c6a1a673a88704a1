//! Helpers shared by the integration tests.

use credit_rules::ast::{Item, RuleSetAst};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use std::path::Path;

/// Reads a case file as a source named by its path relative to `tests/`.
pub fn source(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).expect("case file is readable");
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    SourceFile::new(name, text)
}

/// A workspace holding the shipped city base plus `file`.
pub fn workspace_with(file: SourceFile) -> (Workspace, Option<String>) {
    let mut workspace = Workspace::new();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/city/base.rules");
    let id = workspace.add_source(file, None);
    if id.as_deref() != Some("city.base") {
        workspace.add_source(source(&base), None);
    }
    (workspace, id)
}

/// The syntax tree in a layout-free form: header values and each item as s-expressions.
pub fn dump(ast: &RuleSetAst) -> String {
    let h = &ast.header;
    let mut out = format!("ruleset {} ({:?})\n", h.id.value, ast.dialect);
    let fields = [
        ("title", h.title.as_ref().map(|v| v.value.clone())),
        ("sector", h.sector.as_ref().map(|v| v.value.clone())),
        ("version", h.version.as_ref().map(|v| v.value.clone())),
        (
            "effective",
            h.effective.as_ref().map(|v| v.value.to_string()),
        ),
        ("unit", h.unit.as_ref().map(|v| v.value.clone())),
        ("basis", h.basis.as_ref().map(|v| v.value.clone())),
        ("extends", h.extends.as_ref().map(|v| v.value.clone())),
        ("total", h.total.as_ref().map(|v| v.value.to_string())),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            out.push_str(&format!("  {name} {v:?}\n"));
        }
    }
    for item in &ast.items {
        match item {
            Item::Const(c) => out.push_str(&format!("const {} = {}\n", c.name.value, c.value)),
            Item::Define(d) => out.push_str(&format!("define {} = {}\n", d.name.value, d.value)),
            Item::Remove(n) => out.push_str(&format!("remove {}\n", n.value)),
            Item::Clause(c) => {
                let mandatory = if c.mandatory { " mandatory" } else { "" };
                out.push_str(&format!("{}{mandatory} {}\n", c.kind.keyword(), c.id.value));
                for l in &c.lets {
                    out.push_str(&format!("  let {} = {}\n", l.name.value, l.value));
                }
                let exprs = [
                    ("when", &c.when),
                    ("points", &c.points),
                    ("weight", &c.weight),
                    ("cap", &c.cap),
                    ("floor", &c.floor),
                ];
                for (name, e) in exprs {
                    if let Some(e) = e {
                        out.push_str(&format!("  {name} {e}\n"));
                    }
                }
                for (name, s) in [("wording", &c.wording), ("basis", &c.basis)] {
                    if let Some(s) = s {
                        out.push_str(&format!("  {name} {:?}\n", s.value));
                    }
                }
            }
            Item::Test(t) => {
                out.push_str(&format!("test {:?}\n", t.name.value));
                if let Some(d) = &t.as_of {
                    out.push_str(&format!("  as_of {}\n", d.value));
                }
                for r in &t.records {
                    let fields: Vec<String> = r
                        .fields
                        .iter()
                        .map(|(k, v)| format!("{} {}", k.value, v.value))
                        .collect();
                    out.push_str(&format!(
                        "  record {} {{ {} }}\n",
                        r.id.value,
                        fields.join(" ")
                    ));
                }
                for e in &t.expects {
                    out.push_str(&format!("  expect {:?}\n", e.value));
                }
            }
        }
    }
    out
}

/// The shipped rule sets under `rulesets/`, parsed.
pub fn shipped() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    Workspace::load(&root).expect("rulesets/ loads")
}

/// A test block's records and evaluation date, as `credit-rules test` builds them.
pub fn test_inputs(
    test: &credit_rules::ast::TestBlock,
) -> (Vec<credit_rules::record::CreditRecord>, chrono::NaiveDate) {
    let records = test
        .records
        .iter()
        .map(|r| credit_rules::testing::build_record(r).expect("valid test record"))
        .collect();
    (records, test.as_of.as_ref().expect("test has as_of").value)
}

/// Opens a database directory with sled itself (to write what an older or newer release
/// would have), waiting for a store dropped a moment ago to release its lock: sled's
/// background threads hold it a little longer.
pub fn raw_sled_open(dir: &Path) -> sled::Db {
    for _ in 0..40 {
        if let Ok(db) = sled::open(dir) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sled::open(dir).expect("raw open")
}

/// A calendar day written `YYYY-MM-DD`.
pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("test date")
}

/// A valid enterprise USCC (`91420100…`) built from a number.
pub fn code(n: u32) -> credit_rules::record::Uscc {
    use credit_rules::record::{Uscc, org_code_check_char, uscc_check_char};
    let body = format!("{:08}", n % 100_000_000);
    let mut text = format!("91420100{body}");
    text.push(org_code_check_char(&body).expect("digits"));
    text.push(uscc_check_char(&text).expect("charset"));
    Uscc::parse(&text).expect("generated code is valid")
}

/// A record of `kind` decided on `decided` (a sector grade gets the grade it needs).
pub fn record(
    id: &str,
    uscc: &credit_rules::record::Uscc,
    kind: credit_rules::record::RecordKind,
    decided: &str,
) -> credit_rules::record::CreditRecord {
    let mut r = credit_rules::record::CreditRecord::new(id, uscc.clone(), kind, day(decided));
    if kind == credit_rules::record::RecordKind::SectorGrade {
        r.grade = Some("AA".into());
    }
    r
}
