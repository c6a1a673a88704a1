//! Rendering: a compiled rule set → the credit chapter of a tender or
//! prequalification document (招标文件、资格预审文件的信用条款). This is task 2
//! of 武公管办〔2019〕2号 (完善信用条款).
//!
//! One document model ([`model::Document`], built by [`build_document`] from
//! the [`CompiledRuleSet`] that evaluation runs, plus optional
//! [`TenderFacts`]), several writers: [`markdown`] (review, Git diffs),
//! [`html`] (a fragment for the public site and the staff console, or a
//! standalone page) and [`docx`] (the Word file a tendering agent pastes into
//! the standard tender document). The published clauses and the applied logic
//! cannot drift apart. The chapter's parts:
//!
//! * a title block with the rule set's title, version, effective date,
//!   responsible unit, legal basis and the rule sets it extends;
//! * 资格审查条件（信用）: every veto with its wording and basis, mandatory
//!   city clauses tagged 〔全市统一·强制〕, inherited clauses naming their origin;
//! * 信用评分标准: a table of the score clauses with their maximum points
//!   (cap × weight, rounded to 2 places) and the declared total;
//! * 需评标委员会核实的情形: the flags;
//! * 信用查询渠道与时点: the `query_channel` lines (per record kind), the
//!   `query_day` (with the tender's opening day when known) and how results
//!   are kept (`query_evidence`), inherited through `extends`;
//! * 联合体投标: the consortium rule the tender evaluation applies
//!   ([`crate::tender::CONSORTIUM`]), unless the tender accepts no consortium;
//! * 信用承诺: the credit commitment letter, when the rule set has `commitment`;
//! * 说明: which records count, how windows and rounding work (see the
//!   module documentation of [`crate::eval`]) and the rule set's hash.
//!
//! Beside each clause's own wording, a plain-Chinese 判定规则 / 计分规则 is
//! generated from the compiled expression (e.g. `近2年内的“行政处罚”记录每条扣2分`).
//! Only shapes the describer fully understands are described; for anything
//! else the line is left out and the table falls back to the cap, floor and
//! weight, which are always exact. Internal notes (`note`) are never printed.
//! Output depends only on the rule set and the facts (no clock, no hash-map
//! order), so it is byte-for-byte reproducible, the Word file included.

pub mod docx;
pub mod html;
pub mod markdown;
pub mod model;

use crate::ast::{
    Aggregate, BinaryOp, ClauseKind, Duration, DurationUnit, RoundMode, RoundingPolicy,
};
use crate::check::Library;
use crate::compile::{
    CompiledClause, CompiledQuery, CompiledRuleSet, SEVERITY_MISSING_BIT, status_bit,
};
use crate::diagnostic::{Diagnostic, Diagnostics, Lang};
use crate::eval::window_start;
use crate::ir::{Field, IrExpr, Lit, ScalarOp};
use crate::record::{RecordKind, RecordStatus, Severity};
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use crate::tender::{CONSORTIUM_FLAG_TEXT, CONSORTIUM_QUALIFICATION_TEXT, CONSORTIUM_SCORE_TEXT};
use chrono::{Datelike, NaiveDate};
use model::{Block, Cell, Document, Identity, Inline, ListedClause, Para, Part, Table};
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The tag printed before a mandatory clause of the city base.
pub const MANDATORY_TAG: &str = "〔全市统一·强制〕";

/// The tag printed before a clause marked mandatory below the city base
/// (binding only the rule sets that extend it).
pub const SECTOR_MANDATORY_TAG: &str = "〔强制〕";

/// An output format of `render`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Markdown.
    Md,
    /// HTML (a fragment, or a page with `standalone`).
    Html,
    /// A Word file (.docx).
    Docx,
}

impl Format {
    /// The media type of the output.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Md => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Docx => "docx",
        }
    }
}

/// What to render and how.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The output format.
    pub format: Format,
    /// HTML only: a whole page rather than a fragment.
    pub standalone: bool,
    /// Facts of the tender.
    pub facts: TenderFacts,
}

/// Renders `program` as the credit clauses of a tender document, in Markdown.
///
/// `library` is only read for the titles and versions of the rule sets that
/// `program` extends; pass the library the program was compiled from.
pub fn render_markdown(program: &CompiledRuleSet, library: &Library) -> String {
    markdown::write(&build_document(program, library, &TenderFacts::default()))
}

/// Renders `program` in the given format: the bytes of the file.
pub fn render(program: &CompiledRuleSet, library: &Library, options: &RenderOptions) -> Vec<u8> {
    let doc = build_document(program, library, &options.facts);
    match options.format {
        Format::Md => markdown::write(&doc).into_bytes(),
        Format::Html if options.standalone => html::page(&doc).into_bytes(),
        Format::Html => html::fragment(&doc).into_bytes(),
        Format::Docx => docx::write(&doc),
    }
}

/// The file name for a rendered chapter, e.g. `武汉市水务…规则-2024.1.docx`.
pub fn file_name(program: &CompiledRuleSet, format: Format) -> String {
    let meta = &program.meta;
    let title = if meta.title.is_empty() {
        &meta.id
    } else {
        &meta.title
    };
    let safe: String = format!("{title}-{}", meta.version)
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    format!("{safe}.{}", format.extension())
}

/// Runs `credit-rules render`: compiles `ruleset` (a rule-set id, or a rule
/// file) against the rule sets under `lib`, and writes the chapter to `out`
/// or to standard output. Diagnostics go to standard error.
pub fn run(ruleset: &str, lib: &Path, out: Option<&Path>, options: &RenderOptions) -> ExitCode {
    use std::io::{IsTerminal, Write};
    if options.format == Format::Docx && out.is_none() && std::io::stdout().is_terminal() {
        return fail(
            Diagnostic::error("E0005", "a Word file is not written to a terminal")
                .with_help("give `-o FILE.docx`, or redirect standard output to a file")
                .into(),
        );
    }
    let (workspace, id) = match load(ruleset, lib) {
        Ok(loaded) => loaded,
        Err(d) => return fail(d),
    };
    if workspace.library.get(&id).is_none() {
        return fail(unknown_rule_set(&workspace, &id, lib).into());
    }
    let program = match workspace.compile(&id) {
        Ok(p) => p,
        Err(mut d) => {
            // A base file that does not parse shows up as an unknown rule set: say why.
            d.extend(workspace.errors.clone());
            return fail(d);
        }
    };
    if !program.warnings.is_empty() {
        eprint!(
            "{}",
            crate::cli::show(
                &program.warnings,
                crate::cli::chosen_lang().unwrap_or(Lang::En)
            )
        );
    }
    let bytes = render(&program, &workspace.library, options);
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, bytes) {
                return fail(
                    Diagnostic::error("E0004", format!("cannot write `{}`: {e}", path.display()))
                        .with_help("check that the folder exists and is writable")
                        .into(),
                );
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                return fail(
                    Diagnostic::error("E0004", format!("cannot write to standard output: {e}"))
                        .with_help("check where standard output goes")
                        .into(),
                );
            }
        }
    }
    ExitCode::SUCCESS
}

fn unknown_rule_set(workspace: &Workspace, id: &str, lib: &Path) -> Diagnostic {
    let ids: Vec<&str> = workspace.library.ids().collect();
    let mut d = Diagnostic::error("E0302", format!("unknown rule set `{id}`")).with_help(format!(
        "give the id of a rule set under `{}` ({}), or the path of a rule file",
        lib.display(),
        if ids.is_empty() {
            "there are none".to_string()
        } else {
            ids.join(", ")
        }
    ));
    if let Some(suggestion) = ids
        .iter()
        .find(|known| strsim::jaro_winkler(known, id) > 0.8)
    {
        d = d.with_note(format!("did you mean `{suggestion}`?"));
    }
    let broken = workspace
        .files
        .iter()
        .filter(|(_, id)| id.is_none())
        .count();
    if broken > 0 {
        d = d.with_note(format!(
            "{broken} rule file(s) under `{}` do not parse; `credit-rules check {}` shows why",
            lib.display(),
            lib.display()
        ));
    }
    d
}

fn fail(diagnostics: Diagnostics) -> ExitCode {
    eprint!(
        "{}",
        crate::cli::show(&diagnostics, crate::cli::chosen_lang().unwrap_or(Lang::En))
    );
    ExitCode::FAILURE
}

/// Loads the given rule file (if `ruleset` is one) first, then the library
/// folder, so that a draft file may stand in for the library's copy of itself.
fn load(ruleset: &str, lib: &Path) -> Result<(Workspace, String), Diagnostics> {
    let mut workspace = Workspace::new();
    let mut seen = std::collections::BTreeSet::new();
    let given = Path::new(ruleset);
    let mut id = None;
    if given.is_file() {
        seen.insert(canonical(given));
        id = add_file(&mut workspace, given)?;
        if id.is_none() {
            return Err(workspace.errors);
        }
    }
    for (file, text) in crate::ruleset::library_sources(lib)? {
        if seen.insert(canonical(&file)) {
            workspace.add_source(
                SourceFile::new(file.display().to_string(), text),
                Some(file),
            );
        }
    }
    Ok((workspace, id.unwrap_or_else(|| ruleset.to_string())))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn add_file(workspace: &mut Workspace, path: &Path) -> Result<Option<String>, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::error("E0004", format!("cannot read `{}`: {e}", path.display()))
            .with_help("check the path and that the file is readable")
    })?;
    let file = SourceFile::new(path.display().to_string(), text);
    Ok(workspace.add_source(file, Some(path.to_path_buf())))
}

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

/// Facts of one tender that the chapter may state (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenderFacts {
    /// The project's name (项目名称), printed under the title.
    pub project: Option<String>,
    /// The bid-opening day: credit is checked as of this day.
    pub opening: Option<NaiveDate>,
    /// Whether consortium bids are accepted; `None` prints the rule for when they are.
    pub consortium: Option<bool>,
}

/// Builds the document model of the credit chapter for `program`.
///
/// `library` is only read for the titles and versions of the rule sets that
/// `program` extends; pass the library the program was compiled from.
pub fn build_document(
    program: &CompiledRuleSet,
    library: &Library,
    facts: &TenderFacts,
) -> Document {
    let doc = Builder { program, library };
    let meta = &program.meta;
    let title = if meta.title.is_empty() {
        meta.id.clone()
    } else {
        meta.title.clone()
    };
    let mut parts = vec![doc.vetoes(), doc.scores(), doc.flags(), doc.queries(facts)];
    if facts.consortium != Some(false) {
        parts.push(doc.consortium());
    }
    if let Some(commitment) = doc.commitment() {
        parts.push(commitment);
    }
    parts.push(doc.notes());
    let numbers = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    for (part, n) in parts.iter_mut().zip(numbers) {
        part.heading = format!("{n}、{}", part.heading);
    }
    Document {
        title,
        subtitle: Para::strong("信用条款")
            .push_text("（供招标文件、资格预审文件引用）")
            .clone(),
        info: doc.info(facts),
        parts,
        identity: Identity {
            id: meta.id.clone(),
            version: meta.version.clone(),
            hash: meta.hash.clone(),
            effective: meta.effective,
        },
    }
}

struct Builder<'a> {
    program: &'a CompiledRuleSet,
    library: &'a Library,
}

impl<'a> Builder<'a> {
    fn clauses(&self, kind: ClauseKind) -> Vec<&'a CompiledClause> {
        let program: &'a CompiledRuleSet = self.program;
        program.clauses.iter().filter(|c| c.kind == kind).collect()
    }

    fn describer(&self) -> Describer<'_> {
        Describer {
            program: self.program,
        }
    }

    /// `《title》（`id`，版本 v）` for a rule set of the library.
    fn cite(&self, id: &str) -> Para {
        let mut out = Para::default();
        match self.library.get(id) {
            Some((_, ast)) => {
                let h = &ast.header;
                let title = h.title.as_ref().map_or(id, |t| t.value.as_str());
                out.push_text(format!("《{title}》（"));
                out.0.push(Inline::Code(id.to_string()));
                match &h.version {
                    Some(v) => out.push_text(format!("，版本 {}）", v.value)),
                    None => out.push_text("）"),
                };
            }
            None => out.0.push(Inline::Code(id.to_string())),
        }
        out
    }

    /// The rule sets `program` extends, nearest first.
    fn ancestors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut current = self.program.meta.id.clone();
        while let Some((_, ast)) = self.library.get(&current) {
            let Some(parent) = &ast.header.extends else {
                break;
            };
            if out.contains(&parent.value) || parent.value == self.program.meta.id {
                break;
            }
            out.push(parent.value.clone());
            current = parent.value.clone();
        }
        out
    }

    fn info(&self, facts: &TenderFacts) -> Vec<(String, Para)> {
        let meta = &self.program.meta;
        let mut rows = Vec::new();
        if let Some(project) = &facts.project {
            rows.push(("项目名称".to_string(), Para::text(project)));
        }
        rows.push((
            "规则集".to_string(),
            Para(vec![Inline::Code(meta.id.clone())]),
        ));
        rows.push(("版本".to_string(), Para::text(&meta.version)));
        rows.push(("生效日期".to_string(), Para::text(date_cn(meta.effective))));
        if let Some(sector) = &meta.sector {
            rows.push(("适用行业".to_string(), Para::text(sector)));
        }
        rows.push((
            "责任单位".to_string(),
            Para::text(meta.unit.as_deref().unwrap_or("—")),
        ));
        if let Some(basis) = &meta.basis {
            rows.push(("制定依据".to_string(), Para::text(basis)));
        }
        let ancestors = self.ancestors();
        if !ancestors.is_empty() {
            let mut cited = Para::default();
            for (i, a) in ancestors.iter().enumerate() {
                if i > 0 {
                    cited.push_text("；");
                }
                cited.append(self.cite(a));
            }
            rows.push(("继承规则".to_string(), cited));
        }
        rows
    }

    /// The tag and source line of a clause: mandatory, inherited or own.
    fn provenance(&self, clause: &CompiledClause) -> (String, Option<Para>) {
        // Only the city base (the rule set at the root of the chain) makes
        // city-wide clauses; `mandatory` further down binds its extensions only.
        let from_root = self
            .library
            .get(&clause.origin)
            .is_some_and(|(_, ast)| ast.header.extends.is_none());
        let tag = match (clause.mandatory, from_root) {
            (true, true) => MANDATORY_TAG.to_string(),
            (true, false) => SECTOR_MANDATORY_TAG.to_string(),
            (false, _) => String::new(),
        };
        let source = (clause.origin != self.program.meta.id).then(|| {
            let mut p = Para::text("继承自");
            p.append(self.cite(&clause.origin));
            p
        });
        (tag, source)
    }

    /// One veto or flag as a numbered entry with its details.
    fn listed_clause(&self, n: usize, clause: &CompiledClause) -> ListedClause {
        let (tag, source) = self.provenance(clause);
        let rule = self.describer().condition(&clause.expr);
        let text = match (&clause.wording, &rule) {
            (Some(w), _) => Para::text(w),
            (None, Some(r)) => Para::text(format!("{r}的。")),
            (None, None) => Para(vec![
                Inline::Text("（条款 ".into()),
                Inline::Code(clause.id.clone()),
                Inline::Text(" 未填写表述）".into()),
            ]),
        };
        let mut details = Vec::new();
        if let Some(basis) = &clause.basis {
            details.push(("依据".to_string(), Para::text(basis)));
        }
        if let Some(rule) = rule {
            details.push(("判定规则".to_string(), Para::text(format!("{rule}。"))));
        }
        let mut id = Para(vec![Inline::Code(clause.id.clone())]);
        if let Some(source) = source {
            id.push_text("；");
            id.append(source);
        }
        details.push(("条款编号".to_string(), id));
        ListedClause {
            number: n,
            tag,
            text,
            details,
        }
    }

    fn listed_part(&self, heading: &str, kind: ClauseKind, none: &str, intro: &str) -> Part {
        let clauses = self.clauses(kind);
        let blocks = if clauses.is_empty() {
            vec![Block::Para(Para::text(none))]
        } else {
            let listed = clauses
                .into_iter()
                .enumerate()
                .map(|(i, c)| self.listed_clause(i + 1, c))
                .collect();
            vec![Block::Para(Para::text(intro)), Block::Clauses(listed)]
        };
        Part {
            heading: heading.to_string(),
            blocks,
        }
    }

    fn vetoes(&self) -> Part {
        self.listed_part(
            "资格审查条件（信用）",
            ClauseKind::Veto,
            "本规则集未设信用否决条件。",
            "投标人（含资格预审申请人、竞买人、供应商等交易主体，下同）有下列情形之一的，资格审查不合格，其投标（申请）予以否决：",
        )
    }

    fn flags(&self) -> Part {
        self.listed_part(
            "需评标委员会核实的情形",
            ClauseKind::Flag,
            "本规则集未设需评标委员会核实的信用情形。",
            "投标人有下列情形之一的，不影响资格审查结论和信用得分，由评标委员会（评审委员会）核实后记录在案：",
        )
    }

    fn scores(&self) -> Part {
        let heading = "信用评分标准".to_string();
        let scores = self.clauses(ClauseKind::Score);
        if scores.is_empty() {
            return Part {
                heading,
                blocks: vec![Block::Para(Para::text("本规则集未设信用评分项。"))],
            };
        }
        let most: Decimal = scores
            .iter()
            .map(|c| round2(c.cap.unwrap_or_default() * c.weight))
            .sum();
        let total = self.program.meta.total.unwrap_or(most);
        let least: Option<Decimal> = scores
            .iter()
            .map(|c| c.floor.map(|f| round2(f * c.weight)))
            .sum();
        let deductions_only = scores
            .iter()
            .all(|c| c.cap.is_some_and(|c| c <= Decimal::ZERO));
        let intro = if deductions_only {
            format!(
                "信用评分只设扣分项，由下列{}个评分项组成，各评分项得分之和为投标人的信用得分（最高{}分）：",
                scores.len(),
                num(total)
            )
        } else {
            format!(
                "信用评分满分{}分，由下列{}个评分项组成，各评分项得分之和为投标人的信用得分：",
                num(total),
                scores.len()
            )
        };
        let mut rows: Vec<Vec<Cell>> = scores
            .iter()
            .enumerate()
            .map(|(i, clause)| self.score_row(i + 1, clause))
            .collect();
        let range = match least {
            Some(l) => format!("各评分项得分之和；最低{}分", num(l)),
            None => "各评分项得分之和；不设下限".to_string(),
        };
        rows.push(vec![
            vec![Para::default()],
            vec![Para::strong("信用总分")],
            vec![Para::strong(num(total))],
            vec![Para::text(range)],
            vec![Para::default()],
        ]);
        Part {
            heading,
            blocks: vec![
                Block::Para(Para::text(intro)),
                Block::Table(Table {
                    columns: ["序号", "评分项", "分值(上限×权重)", "评分标准", "依据"]
                        .map(String::from)
                        .to_vec(),
                    widths: vec![8, 14, 12, 42, 24],
                    rows,
                }),
            ],
        }
    }

    fn score_row(&self, n: usize, clause: &CompiledClause) -> Vec<Cell> {
        let (tag, source) = self.provenance(clause);
        let mut item = vec![Para::text(format!("{tag}{}", clause.id))];
        if let Some(source) = source {
            let mut line = Para::text("（");
            line.append(source).push_text("）");
            item.push(line);
        }
        let cap = clause.cap.unwrap_or_default();
        let mut most = num(round2(cap * clause.weight));
        if clause.weight != Decimal::ONE {
            let _ = write!(most, "（{}×{}）", num(cap), num(clause.weight));
        }
        let mut points = vec![Para::text(most)];
        if let Some(floor) = clause
            .floor
            .map(|f| round2(f * clause.weight))
            .filter(|f| f.is_sign_negative() && !f.is_zero())
        {
            points.push(Para::text(format!("最多扣{}分", num(-floor))));
        }
        let mut standard: Cell = clause.wording.iter().map(Para::text).collect();
        let facts = limits(clause);
        let generated = match self.describer().points(&clause.expr) {
            Some(rule) => format!("{rule}；{facts}"),
            None => facts,
        };
        standard.push(Para::text(format!("【计分规则】{generated}。")));
        let basis = Para::text(clause.basis.as_deref().unwrap_or("—"));
        vec![
            vec![Para::text(n.to_string())],
            item,
            points,
            standard,
            vec![basis],
        ]
    }

    /// 信用查询渠道与时点: where each kind of record is checked, when, and how
    /// results are kept.
    fn queries(&self, facts: &TenderFacts) -> Part {
        let terms = &self.program.terms;
        let mut blocks = Vec::new();
        let day = terms.query_day.as_deref().unwrap_or(DEFAULT_QUERY_DAY);
        let when = match facts.opening {
            Some(d) => format!("{day}（本项目为{}）", date_cn(d)),
            None => day.to_string(),
        };
        blocks.push(Block::Para(Para::text(format!(
            "查询时点：招标人（招标代理机构）或评标委员会于{when}查询投标人的信用记录，以该日查询结果为准。"
        ))));
        if terms.channels.is_empty() {
            blocks.push(Block::Para(Para::text(
                "查询渠道：“信用中国”网站（www.creditchina.gov.cn）、国家企业信用信息公示系统（www.gsxt.gov.cn）、中国执行信息公开网（zxgk.court.gov.cn）及省公共资源交易信用信息平台。",
            )));
        } else {
            blocks.push(Block::Para(Para::text("查询渠道：")));
            let rows = terms
                .channels
                .iter()
                .enumerate()
                .map(|(i, (site, kinds))| {
                    let kinds: Vec<String> =
                        kinds.iter().map(|k| format!("“{}”", k.label())).collect();
                    vec![
                        vec![Para::text((i + 1).to_string())],
                        vec![Para::text(site)],
                        vec![Para::text(kinds.join("、"))],
                    ]
                })
                .collect();
            blocks.push(Block::Table(Table {
                columns: ["序号", "查询渠道", "查询内容（记录类别）"]
                    .map(String::from)
                    .to_vec(),
                widths: vec![8, 44, 48],
                rows,
            }));
        }
        let evidence = terms
            .query_evidence
            .as_deref()
            .unwrap_or(DEFAULT_QUERY_EVIDENCE);
        blocks.push(Block::Para(Para::text(format!("查询结果留存：{evidence}"))));
        Part {
            heading: "信用查询渠道与时点".to_string(),
            blocks,
        }
    }

    /// 联合体: the rule the tender evaluation applies ([`crate::tender::CONSORTIUM`]).
    fn consortium(&self) -> Part {
        let mut items = vec![Para::text(CONSORTIUM_QUALIFICATION_TEXT)];
        if !self.clauses(ClauseKind::Score).is_empty() {
            items.push(Para::text(CONSORTIUM_SCORE_TEXT));
        }
        if !self.clauses(ClauseKind::Flag).is_empty() {
            items.push(Para::text(CONSORTIUM_FLAG_TEXT));
        }
        Part {
            heading: "联合体投标".to_string(),
            blocks: vec![Block::Numbered(items)],
        }
    }

    /// 信用承诺: the commitment letter, when the rule set calls for one.
    fn commitment(&self) -> Option<Part> {
        let text = self.program.terms.commitment.as_deref()?;
        Some(Part {
            heading: "信用承诺".to_string(),
            blocks: vec![
                Block::Para(Para::text(
                    "投标人应随投标文件提交由法定代表人（负责人）签字并加盖单位公章的信用承诺书，内容如下：",
                )),
                Block::Quote(text.split('\n').map(Para::text).collect()),
                Block::Para(Para::text(
                    "投标人（盖章）：                法定代表人（负责人）签字：                日期：    年  月  日",
                )),
            ],
        })
    }

    fn notes(&self) -> Part {
        let program = self.program;
        let queries = &program.queries;
        let reads_status = queries.iter().any(|q| q.def.reads_status);
        let uses_latest = queries.iter().any(|q| q.def.func == Aggregate::Latest);
        let has_scores = program.clauses.iter().any(|c| c.kind == ClauseKind::Score);
        let mut notes = Vec::new();
        let mut counts = "信用记录以评标基准日（评价日期）为准：认定日期晚于评价日期的记录、在评价日期当日或之前已撤销的记录不予采用；\
            已信用修复的记录自修复之日起、公示期已届满的记录自公示截止日的次日起不再计入（公示截止日当日仍计入）"
            .to_string();
        if reads_status {
            counts.push_str("，条款明确包含已信用修复或已过公示期记录的除外");
        }
        counts.push('。');
        notes.push(Para::text(counts));
        if let Some(window) = self.windows_note() {
            notes.push(Para::text(window));
        }
        if uses_latest {
            notes.push(Para::text(
                "“最近一条”记录指认定日期最晚的记录；认定日期相同的，取编号在后的记录。",
            ));
        }
        if has_scores {
            notes.push(Para::text(rounding_note(program.rounding)));
        }
        let meta = &program.meta;
        notes.push(Para(vec![
            Inline::Text("本节由信用规则集 ".into()),
            Inline::Code(meta.id.clone()),
            Inline::Text(format!(
                "（版本 {}）自动生成，各条“判定规则”“计分规则”与系统自动评价执行的规则一致。规则指纹（SHA-256）：",
                meta.version
            )),
            Inline::Code(meta.hash.clone()),
            Inline::Text("。".into()),
        ]));
        Part {
            heading: "说明".to_string(),
            blocks: vec![Block::Numbered(notes)],
        }
    }

    /// How windows are counted, with an example computed like evaluation does.
    fn windows_note(&self) -> Option<String> {
        let windows = &self.program.windows;
        let calendar = windows.iter().find(|w| w.unit != DurationUnit::Days);
        let has_days = windows.iter().any(|w| w.unit == DurationUnit::Days);
        let mut note = String::new();
        if let Some(w) = calendar {
            let leap = NaiveDate::from_ymd_opt(2024, 2, 29).expect("2024 is a leap year");
            let start = window_start(leap, *w);
            let _ = write!(
                note,
                "“近N年”“近N个月”按日历计算：自评价日期向前推算N年（N个月）的同一日起，至评价日期止，首尾两日均计入；\
                 向前推算的日期在该月不存在的，取该月最后一日（例如评价日期为2024年2月29日时，“{}”自{}起算）。",
                window_cn(w).trim_end_matches('内'),
                date_cn(start)
            );
        }
        if has_days {
            note.push_str("“近N日”自评价日期向前推算N个自然日起，至评价日期止，首尾两日均计入。");
        }
        (!note.is_empty()).then_some(note)
    }
}

/// When credit is checked if no rule set of the chain says (`query_day`).
pub const DEFAULT_QUERY_DAY: &str = "投标截止时间（开标）当日";

/// How query results are kept if no rule set of the chain says (`query_evidence`).
pub const DEFAULT_QUERY_EVIDENCE: &str =
    "查询结果以网页截图或下载文件方式留存，注明查询时间和查询人，与评标资料一并存档备查。";

/// The cap, floor and weight of a score clause as one plain sentence.
fn limits(clause: &CompiledClause) -> String {
    let w = clause.weight;
    let weighted = |x: Decimal| num(round2(x * w));
    let mut out = match (clause.cap, clause.floor) {
        (Some(c), Some(f)) if c.is_zero() && f < Decimal::ZERO => {
            format!("本项为扣分项，最多扣{}分", num(-f))
        }
        (Some(c), None) if c.is_zero() => "本项为扣分项，扣分不设上限".to_string(),
        (Some(c), Some(f)) if f.is_zero() => format!("本项最高{}分，最低0分", num(c)),
        (Some(c), Some(f)) => format!("本项最高{}分，最低{}分", num(c), num(f)),
        (Some(c), None) => format!("本项最高{}分，不设下限", num(c)),
        (None, Some(f)) => format!("本项最低{}分，不设上限", num(f)),
        (None, None) => "本项不设上限和下限".to_string(),
    };
    if w != Decimal::ONE {
        let _ = write!(out, "；按权重{}折算计入信用分", num(w));
        let mut range = Vec::new();
        if let Some(c) = clause.cap {
            range.push(format!("最高{}分", weighted(c)));
        }
        if let Some(f) = clause.floor.filter(|f| !f.is_zero()) {
            range.push(format!("最低{}分", weighted(f)));
        }
        if !range.is_empty() {
            let _ = write!(out, "（{}）", range.join("，"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Plain-Chinese descriptions of compiled expressions
// ---------------------------------------------------------------------------

/// Describes compiled expressions in plain Chinese; `None` means "this shape
/// is not described", never a guess.
struct Describer<'a> {
    program: &'a CompiledRuleSet,
}

/// Binding strength of a described condition: how much it needs brackets.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    Or,
    And,
    Atom,
}

impl Describer<'_> {
    fn query(&self, index: usize) -> Option<&CompiledQuery> {
        self.program.queries.get(index)
    }

    /// A clause-level condition (veto, flag, `if`).
    fn condition(&self, expr: &IrExpr) -> Option<String> {
        self.cond(expr, false).map(|(text, _)| text)
    }

    fn cond(&self, expr: &IrExpr, in_record: bool) -> Option<(String, Strength)> {
        self.cond_at(expr, in_record, false)
    }

    /// `tight`: the condition is one alternative of an `or`, so its own `and`
    /// joins without a comma (`甲且乙，或丙`).
    fn cond_at(&self, expr: &IrExpr, in_record: bool, tight: bool) -> Option<(String, Strength)> {
        let atom = |s: String| Some((s, Strength::Atom));
        match expr {
            IrExpr::Query(q) => {
                let query = self.query(*q)?;
                match query.def.func {
                    Aggregate::Any => atom(format!("存在{}", self.subject(query)?)),
                    Aggregate::None => atom(format!("不存在{}", self.subject(query)?)),
                    _ => None,
                }
            }
            IrExpr::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) => {
                let (strength, joiner, tight) = match op {
                    BinaryOp::And => (Strength::And, if tight { "且" } else { "，且" }, tight),
                    _ => (Strength::Or, "，或", true),
                };
                let side = |e: &IrExpr| -> Option<String> {
                    let (text, s) = self.cond_at(e, in_record, tight)?;
                    Some(if s < strength {
                        format!("（{text}）")
                    } else {
                        text
                    })
                };
                Some((format!("{}{joiner}{}", side(a)?, side(b)?), strength))
            }
            IrExpr::Not(inner) => match &**inner {
                IrExpr::Query(q) if !in_record => {
                    let query = self.query(*q)?;
                    match query.def.func {
                        Aggregate::Any => atom(format!("不存在{}", self.subject(query)?)),
                        Aggregate::None => atom(format!("存在{}", self.subject(query)?)),
                        _ => None,
                    }
                }
                // `not (x = v)` and `not (x in […])` hold for a record without `x`.
                IrExpr::Binary(BinaryOp::Eq, a, b)
                    if let (IrExpr::Field(f), IrExpr::Lit(l)) = (&**a, &**b) =>
                {
                    atom(format!(
                        "{}不为{}{}",
                        field_cn(*f),
                        lit(l),
                        unless_missing(*f)
                    ))
                }
                IrExpr::In(value, items) if let IrExpr::Field(f) = &**value => {
                    let items: Vec<String> = items.iter().map(lit).collect();
                    atom(format!(
                        "{}不属于{}{}",
                        field_cn(*f),
                        items.join("、"),
                        unless_missing(*f)
                    ))
                }
                _ => {
                    let (text, _) = self.cond(inner, in_record)?;
                    atom(format!("并非（{text}）"))
                }
            },
            IrExpr::Binary(op, a, b) if is_comparison(*op) => {
                atom(self.comparison(*op, a, b, in_record)?)
            }
            IrExpr::Binary(BinaryOp::Contains, a, b) => atom(format!(
                "{}含有{}",
                self.value(a, in_record)?,
                self.value(b, in_record)?
            )),
            IrExpr::In(value, items) => {
                let value = self.value(value, in_record)?;
                let items: Vec<String> = items.iter().map(lit).collect();
                atom(format!("{value}为{}", alternatives(&items)))
            }
            IrExpr::Within(d) if in_record => atom(format!("认定日期在{}", window_cn(d))),
            _ => None,
        }
    }

    fn comparison(&self, op: BinaryOp, a: &IrExpr, b: &IrExpr, in_record: bool) -> Option<String> {
        // Put the constant on the right: `2 < count(…)` reads as `count(…) > 2`.
        let (op, a, b) = match (a, b) {
            (IrExpr::Lit(_), other) if !matches!(other, IrExpr::Lit(_)) => (flip(op), b, a),
            _ => (op, a, b),
        };
        if let (IrExpr::Query(q), IrExpr::Lit(Lit::Number(n))) = (a, b)
            && !in_record
            && let Some(query) = self.query(*q)
            && query.def.func == Aggregate::Count
        {
            let word = match op {
                BinaryOp::Eq => "为",
                BinaryOp::Ne => "不为",
                BinaryOp::Lt => "少于",
                BinaryOp::Le => "不多于",
                BinaryOp::Gt => "多于",
                _ => "不少于",
            };
            return Some(format!("{}{word}{}条", self.subject(query)?, num(*n)));
        }
        // `x != v` is false for a record without `x`: say so.
        if let (BinaryOp::Ne, IrExpr::Field(f), IrExpr::Lit(l)) = (op, a, b)
            && f.ty().optional
        {
            return Some(format!("已标明{}且不为{}", field_cn(*f), lit(l)));
        }
        let dated = is_dated(a) || is_dated(b);
        let word = match op {
            BinaryOp::Eq => "为",
            BinaryOp::Ne => "不为",
            BinaryOp::Lt if dated => "早于",
            BinaryOp::Le if dated => "不晚于",
            BinaryOp::Gt if dated => "晚于",
            BinaryOp::Ge if dated => "不早于",
            BinaryOp::Lt => "低于",
            BinaryOp::Le => "不高于",
            BinaryOp::Gt => "高于",
            _ => "不低于",
        };
        let mut right = self.value(b, in_record)?;
        if matches!(b, IrExpr::Lit(Lit::Number(_))) && self.is_amount(a) {
            right.push_str("万元");
        }
        Some(format!("{}{word}{right}", self.value(a, in_record)?))
    }

    /// A value: a constant, a record field, a query result, simple arithmetic.
    fn value(&self, expr: &IrExpr, in_record: bool) -> Option<String> {
        match expr {
            IrExpr::Lit(l) => Some(lit(l)),
            IrExpr::AsOf => Some("评价日期".to_string()),
            IrExpr::Context(field) => Some(field.label().to_string()),
            IrExpr::Field(f) if in_record => Some(field_cn(*f).to_string()),
            IrExpr::Query(q) if !in_record => {
                let query = self.query(*q)?;
                let subject = self.subject(query)?;
                let value = || self.record_value(query);
                Some(match query.def.func {
                    Aggregate::Count => format!("{subject}的条数"),
                    Aggregate::Sum => format!("{subject}的{}合计", value()?),
                    Aggregate::Max => format!("{subject}中{}的最大值", value()?),
                    Aggregate::Min => format!("{subject}中{}的最小值", value()?),
                    Aggregate::Latest => format!("最近一条{subject}的{}", value()?),
                    Aggregate::CountDistinct => format!("{subject}中不同{}的个数", value()?),
                    Aggregate::Any | Aggregate::None => return None,
                })
            }
            IrExpr::Binary(BinaryOp::Otherwise, a, d) => Some(format!(
                "{}（无此值时按{}）",
                self.value(a, in_record)?,
                self.value(d, in_record)?
            )),
            IrExpr::Binary(
                op @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div),
                a,
                b,
            ) => {
                if let (IrExpr::AsOf, IrExpr::Lit(Lit::Duration(d))) = (&**a, &**b) {
                    match op {
                        BinaryOp::Sub => return Some(format!("评价日期前{}", duration_cn(d))),
                        BinaryOp::Add => return Some(format!("评价日期后{}", duration_cn(d))),
                        _ => {}
                    }
                }
                let side = |e: &IrExpr| -> Option<String> {
                    let text = self.value(e, in_record)?;
                    Some(if matches!(e, IrExpr::Binary(..)) {
                        format!("（{text}）")
                    } else {
                        text
                    })
                };
                let (a, b) = (side(a)?, side(b)?);
                Some(match op {
                    BinaryOp::Add => format!("{a}与{b}之和"),
                    BinaryOp::Sub => format!("{a}减{b}之差"),
                    BinaryOp::Mul => format!("{a}乘以{b}之积"),
                    _ => format!("{a}除以{b}之商"),
                })
            }
            IrExpr::Scalar(op, args) => self.scalar(*op, args, in_record),
            _ => None,
        }
    }

    /// `min`, `max`, `clamp`, `round`: `A与B中的较大者`, `A（不低于0、不高于10）`,
    /// `A（四舍五入保留2位小数）`.
    fn scalar(&self, op: ScalarOp, args: &[IrExpr], in_record: bool) -> Option<String> {
        let side = |e: &IrExpr| -> Option<String> {
            let text = self.value(e, in_record)?;
            Some(if matches!(e, IrExpr::Binary(..)) {
                format!("（{text}）")
            } else {
                text
            })
        };
        let texts = args.iter().map(side).collect::<Option<Vec<String>>>()?;
        let (which, several) = match op {
            ScalarOp::Min => ("较小者", "最小者"),
            ScalarOp::Max => ("较大者", "最大者"),
            ScalarOp::Clamp => {
                let [x, lo, hi] = texts.as_slice() else {
                    return None;
                };
                return Some(format!("{x}（不低于{lo}、不高于{hi}）"));
            }
            ScalarOp::Round { places, mode } => {
                let [x] = texts.as_slice() else {
                    return None;
                };
                let how = match mode {
                    RoundMode::HalfUp => "四舍五入",
                    RoundMode::HalfEven => "按银行家舍入法（五后成双）",
                };
                let kept = if places == 0 {
                    "取整".to_string()
                } else {
                    format!("保留{places}位小数")
                };
                return Some(format!("{x}（{how}{kept}）"));
            }
        };
        Some(match texts.as_slice() {
            [a, b] => format!("{a}与{b}中的{which}"),
            _ => format!("{}中的{several}", texts.join("、")),
        })
    }

    /// Is the value an amount in 万元 (the `amount` field or an aggregate of it)?
    fn is_amount(&self, expr: &IrExpr) -> bool {
        match expr {
            IrExpr::Field(f) => *f == Field::Amount,
            IrExpr::Query(q) => self
                .query(*q)
                .is_some_and(|q| q.value_field == Some(Field::Amount)),
            IrExpr::Binary(BinaryOp::Otherwise, a, _) => self.is_amount(a),
            _ => false,
        }
    }

    /// The per-record value of a sum, max, min or latest query.
    fn record_value(&self, query: &CompiledQuery) -> Option<String> {
        match (query.value_field, &query.def.value) {
            (Some(f), _) => Some(field_cn(f).to_string()),
            (None, Some(v)) => self.value(v, true),
            (None, None) => None,
        }
    }

    /// The records a query matches, e.g. `近2年内的“行政处罚”记录（限行业为“水利”）`.
    fn subject(&self, query: &CompiledQuery) -> Option<String> {
        let mut out = String::new();
        for w in &query.windows {
            let window = self.program.windows.get(*w)?;
            if !out.is_empty() {
                out.push('且');
            }
            out.push_str(&window_cn(window));
        }
        if !out.is_empty() {
            out.push('的');
        }
        out.push_str(&kinds_cn(query.kinds)?);
        let mut quals = Vec::new();
        if let Some(s) = severities_cn(query.severities) {
            quals.push(s);
        }
        let mut scope = None;
        if query.def.reads_status {
            match statuses_cn(query.statuses)? {
                StatusScope::All => scope = Some("含已信用修复、已过公示期的记录".to_string()),
                StatusScope::Some(s) => quals.push(s),
            }
        }
        for (field, text) in &query.text_equals {
            quals.push(format!("{}为“{}”", field_cn(*field), text));
        }
        let mut residual = None;
        if let Some(r) = &query.residual {
            residual = Some(self.cond(r, true)?);
        }
        let several = quals.len() + usize::from(residual.is_some()) > 1;
        if let Some((text, strength)) = residual {
            quals.push(if several && strength == Strength::Or {
                format!("（{text}）")
            } else {
                text
            });
        }
        let mut notes = Vec::new();
        notes.extend(scope);
        if !quals.is_empty() {
            notes.push(format!("限{}", quals.join("，且")));
        }
        if !notes.is_empty() {
            let _ = write!(out, "（{}）", notes.join("；"));
        }
        Some(out)
    }

    /// A score clause's points, as a rule: `近3年内的“表彰奖励”记录每条加1分`.
    fn points(&self, expr: &IrExpr) -> Option<String> {
        match expr {
            IrExpr::If(c, a, b) => {
                let c = self.condition(c)?;
                let then = self.points(a)?;
                let then = if matches!(**a, IrExpr::If(..)) {
                    format!("按以下规则计分（{then}）")
                } else {
                    then
                };
                Some(format!("{c}的，{then}；否则，{}", self.points(b)?))
            }
            IrExpr::Table(key, rows, default) => Some(format!(
                "按{}计分：{}",
                self.value(key, false)?,
                self.table(key, rows, *default)
            )),
            IrExpr::Binary(BinaryOp::Otherwise, inner, d)
                if let (IrExpr::Table(key, rows, None), IrExpr::Lit(Lit::Number(n))) =
                    (&**inner, &**d) =>
            {
                Some(format!(
                    "按{}计分：{}",
                    self.value(key, false)?,
                    self.table(key, rows, Some(*n))
                ))
            }
            IrExpr::Lit(Lit::Number(n)) => Some(score_cn(*n)),
            _ => self.sum_of_terms(expr),
        }
    }

    /// The entries of a table: `AAA计10分，AA计8分，其他情形计0分`.
    fn table(&self, key: &IrExpr, rows: &[(Lit, Decimal)], default: Option<Decimal>) -> String {
        let mut entries: Vec<String> = rows
            .iter()
            .map(|(k, v)| format!("{}{}", lit_bare(k), score_cn(*v)))
            .collect();
        // The default also covers a key that is missing: say which way it can be.
        let absent = match key {
            // `latest`, `max` and `min` find nothing when there is no such record.
            IrExpr::Query(q)
                if self.query(*q).is_some_and(|q| {
                    matches!(
                        q.def.func,
                        Aggregate::Latest | Aggregate::Max | Aggregate::Min
                    )
                }) =>
            {
                Some("无相应记录的".to_string())
            }
            IrExpr::Field(f) if f.ty().optional => Some(format!("未标明{}的", field_cn(*f))),
            _ => None,
        };
        match default {
            Some(d) if let Some(absent) = &absent => {
                entries.push(format!("其他情形（含{absent}）{}", score_cn(d)))
            }
            Some(d) => entries.push(format!("其他情形{}", score_cn(d))),
            None => entries.push("表中未列出的不计分".to_string()),
        }
        entries.join("，")
    }

    /// `100 − 5 × count(…) − 10 × count(…)` and the like.
    fn sum_of_terms(&self, expr: &IrExpr) -> Option<String> {
        let mut terms = Vec::new();
        flatten(expr, Decimal::ONE, &mut terms);
        if let [(factor, None)] = terms.as_slice() {
            return Some(score_cn(*factor));
        }
        let mut parts = Vec::new();
        for (factor, term) in terms {
            let verb = if factor.is_sign_negative() {
                "扣"
            } else {
                "加"
            };
            let magnitude = num(factor.abs());
            match term {
                None if factor.is_zero() => {}
                None if parts.is_empty() => parts.push(format!("以{}分为基础", num(factor))),
                None => parts.push(format!("另{verb}{magnitude}分")),
                Some(IrExpr::Query(q)) => {
                    let query = self.query(*q)?;
                    let subject = self.subject(query)?;
                    match (query.def.func, &query.def.value) {
                        (Aggregate::Count, _) => {
                            parts.push(format!("{subject}每条{verb}{magnitude}分"))
                        }
                        (Aggregate::Sum, Some(value))
                            if factor == Decimal::ONE
                                && let Some(rule) = self.per_record(value) =>
                        {
                            parts.push(format!("{subject}逐条计分（{rule}），各条得分相加"));
                        }
                        _ => parts.push(self.generic_term(factor, term?, parts.is_empty())?),
                    }
                }
                Some(other) => parts.push(self.generic_term(factor, other, parts.is_empty())?),
            }
        }
        (!parts.is_empty()).then(|| parts.join("，"))
    }

    /// The points of one record inside `sum(…, value)`: a table, an `if` or a number.
    fn per_record(&self, expr: &IrExpr) -> Option<String> {
        match expr {
            IrExpr::Lit(Lit::Number(n)) => Some(score_cn(*n)),
            IrExpr::Table(key, rows, default) => Some(format!(
                "按{}：{}",
                self.value(key, true)?,
                self.table(key, rows, *default)
            )),
            IrExpr::Binary(BinaryOp::Otherwise, inner, d)
                if let (IrExpr::Table(key, rows, None), IrExpr::Lit(Lit::Number(n))) =
                    (&**inner, &**d) =>
            {
                Some(format!(
                    "按{}：{}",
                    self.value(key, true)?,
                    self.table(key, rows, Some(*n))
                ))
            }
            IrExpr::If(c, a, b) => {
                let (c, _) = self.cond(c, true)?;
                Some(format!(
                    "{c}的{}，否则{}",
                    self.per_record(a)?,
                    self.per_record(b)?
                ))
            }
            _ => None,
        }
    }

    /// `按……计分`, `另扣……的2倍分`: a term without a simpler reading.
    fn generic_term(&self, factor: Decimal, term: &IrExpr, first: bool) -> Option<String> {
        let value = self.value(term, false)?;
        let times = if factor.abs() == Decimal::ONE {
            String::new()
        } else {
            format!("的{}倍", num(factor.abs()))
        };
        Some(match (first, factor.is_sign_negative()) {
            (true, false) => format!("按{value}{times}计分"),
            (true, true) => format!("按{value}{times}扣分"),
            (false, false) => format!("另加{value}{times}分"),
            (false, true) => format!("另扣{value}{times}分"),
        })
    }
}

/// The note on how points are rounded, by the rule set's policy; the default
/// policy keeps the wording every shipped tender document has.
fn rounding_note(policy: RoundingPolicy) -> String {
    if policy == RoundingPolicy::default() {
        return "各评分项按计分规则计得分值后，先按该项上限、下限截取，再乘以权重，按四舍五入保留两位小数\
                （如2.345计为2.35，-2.345计为-2.35）；信用得分为各评分项得分之和，所有计算均按十进制精确计算。"
            .to_string();
    }
    let places = match policy.places {
        0 => "取整".to_string(),
        2 => "保留两位小数".to_string(),
        n => format!("保留{n}位小数"),
    };
    let how = match policy.mode {
        RoundMode::HalfUp => "四舍五入",
        RoundMode::HalfEven => "银行家舍入法（五后成双，如0.25计为0.2、0.35计为0.4）",
    };
    if policy.per_clause {
        format!(
            "各评分项按计分规则计得分值后，先按该项上限、下限截取，再乘以权重，按{how}{places}；\
             信用得分为各评分项得分之和，所有计算均按十进制精确计算。"
        )
    } else {
        format!(
            "各评分项按计分规则计得分值后，先按该项上限、下限截取，再乘以权重，各项得分不作舍入；\
             信用得分为各评分项得分之和按{how}{places}，所有计算均按十进制精确计算。"
        )
    }
}

/// Splits a sum into `(factor, term)` pairs; `None` terms are constants
/// whose value is the factor.
fn flatten<'e>(expr: &'e IrExpr, factor: Decimal, out: &mut Vec<(Decimal, Option<&'e IrExpr>)>) {
    match expr {
        IrExpr::Binary(BinaryOp::Add, a, b) => {
            flatten(a, factor, out);
            flatten(b, factor, out);
        }
        IrExpr::Binary(BinaryOp::Sub, a, b) => {
            flatten(a, factor, out);
            flatten(b, -factor, out);
        }
        IrExpr::Neg(e) => flatten(e, -factor, out),
        IrExpr::Lit(Lit::Number(n)) => out.push((factor * n, None)),
        IrExpr::Binary(BinaryOp::Mul, a, b) => match (&**a, &**b) {
            (IrExpr::Lit(Lit::Number(k)), e) | (e, IrExpr::Lit(Lit::Number(k))) => {
                flatten(e, factor * k, out)
            }
            _ => out.push((factor, Some(expr))),
        },
        _ => out.push((factor, Some(expr))),
    }
}

enum StatusScope {
    /// Active, repaired and expired records alike.
    All,
    /// A condition on the status.
    Some(String),
}

fn statuses_cn(mask: u8) -> Option<StatusScope> {
    let visible = [
        RecordStatus::Active,
        RecordStatus::Repaired,
        RecordStatus::Expired,
    ];
    let named: Vec<String> = visible
        .iter()
        .filter(|s| mask & status_bit(**s) != 0)
        .map(|s| format!("“{}”", s.label()))
        .collect();
    match named.len() {
        0 => None,
        3 => Some(StatusScope::All),
        _ => Some(StatusScope::Some(format!("状态为{}", alternatives(&named)))),
    }
}

fn severities_cn(mask: u8) -> Option<String> {
    let all = Severity::ALL
        .iter()
        .fold(SEVERITY_MISSING_BIT, |m, s| m | (1 << *s as u8));
    if mask & all == all {
        return None;
    }
    let mut named: Vec<String> = Severity::ALL
        .iter()
        .filter(|s| mask & (1 << **s as u8) != 0)
        .map(|s| format!("“{}”", s.label()))
        .collect();
    if mask & SEVERITY_MISSING_BIT != 0 {
        named.push("未标明".to_string());
    }
    Some(format!("失信严重程度为{}", alternatives(&named)))
}

/// The kinds a query admits: `“黑名单”或“公共资源交易严重失信主体”记录`.
fn kinds_cn(mask: u32) -> Option<String> {
    let all = RecordKind::ALL.iter().fold(0, |m, k| m | k.bit());
    let quoted = |k: &RecordKind| format!("“{}”", k.label());
    let with_noun = |text: String, last: &RecordKind| {
        if last.label().ends_with("记录") {
            text
        } else {
            format!("{text}记录")
        }
    };
    let admitted: Vec<&RecordKind> = RecordKind::ALL
        .iter()
        .filter(|k| mask & k.bit() != 0)
        .collect();
    match admitted.len() {
        0 => None,
        n if n == RecordKind::ALL.len() => Some("信用记录".to_string()),
        n if n > RecordKind::ALL.len() / 2 => {
            let excluded: Vec<String> = RecordKind::ALL
                .iter()
                .filter(|k| mask & all & k.bit() == 0)
                .map(quoted)
                .collect();
            Some(format!("{}以外的信用记录", excluded.join("、")))
        }
        _ => {
            let names: Vec<String> = admitted.iter().map(|k| quoted(k)).collect();
            Some(with_noun(
                alternatives(&names),
                admitted[admitted.len() - 1],
            ))
        }
    }
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
    )
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

/// Does the value hold a date (so `<` reads 早于 rather than 低于)?
fn is_dated(expr: &IrExpr) -> bool {
    match expr {
        IrExpr::AsOf | IrExpr::Lit(Lit::Date(_)) => true,
        IrExpr::Field(f) => matches!(f, Field::Date | Field::Until | Field::RepairedOn),
        IrExpr::Binary(_, a, b) => is_dated(a) || is_dated(b),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Words and numbers
// ---------------------------------------------------------------------------

/// A record field as a tender document names it.
fn field_cn(field: Field) -> &'static str {
    match field {
        Field::Id => "编号",
        Field::Kind => "类别",
        Field::Date => "认定日期",
        Field::Until => "公示截止日期",
        Field::PublishedOn => "公示日期",
        Field::ValidUntil => "有效期至",
        Field::Severity => "失信严重程度",
        Field::Sector => "行业",
        Field::Authority => "认定机关",
        Field::DocumentNo => "决定文书号",
        Field::Penalty => "处罚类别",
        Field::Amount => "金额",
        Field::Grade => "等级",
        Field::Status => "状态",
        Field::RepairedOn => "信用修复日期",
    }
}

/// A constant as it appears in a sentence: texts and names in quotation marks.
fn lit(l: &Lit) -> String {
    match l {
        Lit::Text(_) | Lit::Kind(_) | Lit::Severity(_) | Lit::Status(_) => {
            format!("“{}”", lit_bare(l))
        }
        _ => lit_bare(l),
    }
}

/// A constant without quotation marks, e.g. a table key `AAA`.
fn lit_bare(l: &Lit) -> String {
    match l {
        Lit::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
        Lit::Number(n) => num(*n),
        Lit::Text(t) => t.to_string(),
        Lit::Date(d) => date_cn(*d),
        Lit::Duration(d) => duration_cn(d),
        Lit::Kind(k) => k.label().to_string(),
        Lit::Severity(s) => s.label().to_string(),
        Lit::Status(s) => s.label().to_string(),
    }
}

/// `（含未标明行业的）` after a negated test of a field that may be missing.
fn unless_missing(field: Field) -> String {
    if field.ty().optional {
        format!("（含未标明{}的）", field_cn(field))
    } else {
        String::new()
    }
}

/// `a`, `a或b`, `a、b或c`.
fn alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}或{last}", rest.join("、")),
    }
}

fn duration_cn(d: &Duration) -> String {
    let unit = match d.unit {
        DurationUnit::Years => "年",
        DurationUnit::Months => "个月",
        DurationUnit::Days => "日",
    };
    format!("{}{unit}", d.amount)
}

/// `近3年内`, `近12个月内`, `近90日内`.
fn window_cn(d: &Duration) -> String {
    format!("近{}内", duration_cn(d))
}

/// `2024年3月1日`.
fn date_cn(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// `计3分`, `扣1.5分`, `计0分`.
fn score_cn(n: Decimal) -> String {
    if n.is_sign_negative() && !n.is_zero() {
        format!("扣{}分", num(-n))
    } else {
        format!("计{}分", num(n))
    }
}

/// A decimal without trailing zeros.
fn num(n: Decimal) -> String {
    n.normalize().to_string()
}

/// Rounds as evaluation does: 2 places, half away from zero.
fn round2(n: Decimal) -> Decimal {
    n.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_read_as_chinese_lists() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(alternatives(&items(&["甲"])), "甲");
        assert_eq!(alternatives(&items(&["甲", "乙"])), "甲或乙");
        assert_eq!(alternatives(&items(&["甲", "乙", "丙"])), "甲、乙或丙");
    }

    #[test]
    fn kinds_name_the_admitted_or_the_excluded() {
        let bit = |k: RecordKind| k.bit();
        assert_eq!(
            kinds_cn(bit(RecordKind::AdminPenalty)).as_deref(),
            Some("“行政处罚”记录")
        );
        assert_eq!(
            kinds_cn(bit(RecordKind::BadBehaviour)).as_deref(),
            Some("“不良行为记录”")
        );
        assert_eq!(kinds_cn(u32::MAX).as_deref(), Some("信用记录"));
        assert_eq!(
            kinds_cn(!bit(RecordKind::Commendation)).as_deref(),
            Some("“表彰奖励”以外的信用记录")
        );
        assert_eq!(kinds_cn(0), None);
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(num(Decimal::new(800, 2)), "8");
        assert_eq!(num(Decimal::new(-65, 1)), "-6.5");
        assert_eq!(round2(Decimal::new(2345, 3)), Decimal::new(235, 2));
        assert_eq!(round2(Decimal::new(-2345, 3)), Decimal::new(-235, 2));
        let d = NaiveDate::from_ymd_opt(2024, 3, 1).expect("a date");
        assert_eq!(date_cn(d), "2024年3月1日");
    }
}
