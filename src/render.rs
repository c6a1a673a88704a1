//! Rendering: a compiled rule set → the credit clauses of a tender or
//! prequalification document (招标文件、资格预审文件的信用条款), as Chinese
//! Markdown. This is task 2 of 武公管办〔2019〕2号 (完善信用条款).
//!
//! The text is generated from the [`CompiledRuleSet`] that evaluation runs,
//! so the published clauses and the applied logic cannot drift apart:
//!
//! * a title block with the rule set's title, version, effective date,
//!   responsible unit, legal basis and the rule sets it extends;
//! * 一、资格审查条件（信用）: every veto with its wording and basis, mandatory
//!   city clauses tagged 〔全市统一·强制〕, inherited clauses naming their origin;
//! * 二、信用评分标准: a table of the score clauses with their maximum points
//!   (cap × weight, rounded to 2 places) and the declared total;
//! * 三、需评标委员会核实的情形: the flags;
//! * 四、说明: which records count, how windows and rounding work (see the
//!   module documentation of [`crate::eval`]).
//!
//! Beside each clause's own wording, a plain-Chinese 判定规则 / 计分规则 is
//! generated from the compiled expression (e.g. `近2年内的“行政处罚”记录每条扣2分`).
//! Only shapes the describer fully understands are described; for anything
//! else the line is left out and the table falls back to the cap, floor and
//! weight, which are always exact. Output depends only on the rule set (no
//! clock, no hash-map order), so it is byte-for-byte reproducible.

use crate::ast::{Aggregate, BinaryOp, ClauseKind, Duration, DurationUnit};
use crate::check::Library;
use crate::compile::{
    CompiledClause, CompiledQuery, CompiledRuleSet, SEVERITY_MISSING_BIT, status_bit,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::eval::window_start;
use crate::ir::{Field, IrExpr, Lit};
use crate::record::{RecordKind, RecordStatus, Severity};
use crate::ruleset::{Workspace, rule_files};
use crate::source::SourceFile;
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The tag printed before a mandatory clause of the city base.
pub const MANDATORY_TAG: &str = "〔全市统一·强制〕";

/// The tag printed before a clause marked mandatory below the city base
/// (binding only the rule sets that extend it).
pub const SECTOR_MANDATORY_TAG: &str = "〔强制〕";

/// Renders `program` as the credit clauses of a tender document, in Markdown.
///
/// `library` is only read for the titles and versions of the rule sets that
/// `program` extends; pass the library the program was compiled from.
pub fn render_markdown(program: &CompiledRuleSet, library: &Library) -> String {
    let mut doc = Doc {
        program,
        library,
        out: String::new(),
    };
    doc.title_block();
    doc.vetoes();
    doc.scores();
    doc.flags();
    doc.notes();
    doc.out
}

/// Runs `credit-rules render`: compiles `ruleset` (a rule-set id, or a rule
/// file) against the rule sets under `lib`, and writes the Markdown to `out`
/// or to standard output. Diagnostics go to standard error.
pub fn run(ruleset: &str, lib: &Path, out: Option<&Path>) -> ExitCode {
    let (workspace, id) = match load(ruleset, lib) {
        Ok(loaded) => loaded,
        Err(d) => return fail(d),
    };
    if workspace.library.get(&id).is_none() {
        let ids: Vec<&str> = workspace.library.ids().collect();
        let mut d =
            Diagnostic::error("E0302", format!("unknown rule set `{id}`")).with_help(format!(
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
            .find(|known| strsim::jaro_winkler(known, &id) > 0.8)
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
        return fail(d.into());
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
        eprint!("{}", program.warnings.render());
    }
    let markdown = render_markdown(&program, &workspace.library);
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, markdown) {
                return fail(
                    Diagnostic::error("E0004", format!("cannot write `{}`: {e}", path.display()))
                        .with_help("check that the folder exists and is writable")
                        .into(),
                );
            }
        }
        None => print!("{markdown}"),
    }
    ExitCode::SUCCESS
}

fn fail(diagnostics: Diagnostics) -> ExitCode {
    eprint!("{}", diagnostics.render());
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
    if lib.is_dir() {
        for file in rule_files(lib)? {
            if seen.insert(canonical(&file)) {
                add_file(&mut workspace, &file)?;
            }
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

struct Doc<'a> {
    program: &'a CompiledRuleSet,
    library: &'a Library,
    out: String,
}

impl<'a> Doc<'a> {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

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
    fn cite(&self, id: &str) -> String {
        match self.library.get(id) {
            Some((_, ast)) => {
                let h = &ast.header;
                let title = h.title.as_ref().map_or(id, |t| t.value.as_str());
                match &h.version {
                    Some(v) => {
                        format!("《{}》（`{id}`，版本 {}）", escape(title), escape(&v.value))
                    }
                    None => format!("《{}》（`{id}`）", escape(title)),
                }
            }
            None => format!("`{id}`"),
        }
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

    fn title_block(&mut self) {
        let meta = &self.program.meta;
        let title = if meta.title.is_empty() {
            meta.id.clone()
        } else {
            meta.title.clone()
        };
        self.line(&format!("# {}", escape(&title)));
        self.line("");
        self.line("**信用条款**（供招标文件、资格预审文件引用）");
        self.line("");
        self.line("| 项目 | 内容 |");
        self.line("| --- | --- |");
        let mut rows = vec![
            ("规则集", format!("`{}`", meta.id)),
            ("版本", cell(&meta.version)),
            ("生效日期", date_cn(meta.effective)),
        ];
        if let Some(sector) = &meta.sector {
            rows.push(("适用行业", cell(sector)));
        }
        rows.push((
            "责任单位",
            meta.unit.as_deref().map_or("—".to_string(), cell),
        ));
        if let Some(basis) = &meta.basis {
            rows.push(("制定依据", cell(basis)));
        }
        let ancestors = self.ancestors();
        if !ancestors.is_empty() {
            let cited: Vec<String> = ancestors.iter().map(|a| self.cite(a)).collect();
            rows.push(("继承规则", cited.join("；")));
        }
        for (name, value) in rows {
            self.line(&format!("| {name} | {value} |"));
        }
        self.line("");
    }

    /// The tag and source line of a clause: mandatory, inherited or own.
    fn provenance(&self, clause: &CompiledClause) -> (String, Option<String>) {
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
        let source = (clause.origin != self.program.meta.id)
            .then(|| format!("继承自{}", self.cite(&clause.origin)));
        (tag, source)
    }

    /// One veto or flag as a numbered list item with its details below.
    fn listed_clause(&mut self, n: usize, clause: &CompiledClause) {
        let (tag, source) = self.provenance(clause);
        let rule = self.describer().condition(&clause.expr);
        let text = match (&clause.wording, &rule) {
            (Some(w), _) => escape(w),
            (None, Some(r)) => format!("{r}的。"),
            (None, None) => format!("（条款 `{}` 未填写表述）", clause.id),
        };
        self.line(&format!("{n}. {tag}{text}"));
        if let Some(basis) = &clause.basis {
            self.line(&format!("   - 依据：{}", escape(basis)));
        }
        if let Some(rule) = rule {
            self.line(&format!("   - 判定规则：{rule}。"));
        }
        let mut id = format!("   - 条款编号：`{}`", clause.id);
        if let Some(source) = source {
            let _ = write!(id, "；{source}");
        }
        self.line(&id);
    }

    fn vetoes(&mut self) {
        self.line("## 一、资格审查条件（信用）");
        self.line("");
        let vetoes = self.clauses(ClauseKind::Veto);
        if vetoes.is_empty() {
            self.line("本规则集未设信用否决条件。");
            self.line("");
            return;
        }
        self.line("投标人（含资格预审申请人、竞买人、供应商等交易主体，下同）有下列情形之一的，资格审查不合格，其投标（申请）予以否决：");
        self.line("");
        for (i, clause) in vetoes.into_iter().enumerate() {
            self.listed_clause(i + 1, clause);
        }
        self.line("");
    }

    fn scores(&mut self) {
        self.line("## 二、信用评分标准");
        self.line("");
        let scores = self.clauses(ClauseKind::Score);
        if scores.is_empty() {
            self.line("本规则集未设信用评分项。");
            self.line("");
            return;
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
        if deductions_only {
            self.line(&format!(
                "信用评分只设扣分项，由下列{}个评分项组成，各评分项得分之和为投标人的信用得分（最高{}分）：",
                scores.len(),
                num(total)
            ));
        } else {
            self.line(&format!(
                "信用评分满分{}分，由下列{}个评分项组成，各评分项得分之和为投标人的信用得分：",
                num(total),
                scores.len()
            ));
        }
        self.line("");
        self.line("| 序号 | 评分项 | 分值(上限×权重) | 评分标准 | 依据 |");
        self.line("| --- | --- | --- | --- | --- |");
        for (i, clause) in scores.iter().enumerate() {
            let row = self.score_row(i + 1, clause);
            self.line(&row);
        }
        let range = match least {
            Some(l) => format!("各评分项得分之和；最低{}分", num(l)),
            None => "各评分项得分之和；不设下限".to_string(),
        };
        self.line(&format!(
            "| | **信用总分** | **{}** | {range} | |",
            num(total)
        ));
        self.line("");
    }

    fn score_row(&self, n: usize, clause: &CompiledClause) -> String {
        let (tag, source) = self.provenance(clause);
        let mut item = format!("{tag}{}", escape(&clause.id));
        if let Some(source) = source {
            let _ = write!(item, "<br>（{source}）");
        }
        let cap = clause.cap.unwrap_or_default();
        let mut points = num(round2(cap * clause.weight));
        if clause.weight != Decimal::ONE {
            let _ = write!(points, "（{}×{}）", num(cap), num(clause.weight));
        }
        if let Some(floor) = clause
            .floor
            .map(|f| round2(f * clause.weight))
            .filter(|f| f.is_sign_negative() && !f.is_zero())
        {
            let _ = write!(points, "<br>最多扣{}分", num(-floor));
        }
        let mut standard = clause.wording.as_deref().map(cell).unwrap_or_default();
        let rule = self.describer().points(&clause.expr);
        let facts = limits(clause);
        let generated = match rule {
            Some(rule) => format!("{rule}；{facts}"),
            None => facts,
        };
        if !standard.is_empty() {
            standard.push_str("<br>");
        }
        let _ = write!(standard, "【计分规则】{generated}。");
        let basis = clause.basis.as_deref().map_or("—".to_string(), cell);
        format!("| {n} | {item} | {points} | {standard} | {basis} |")
    }

    fn flags(&mut self) {
        self.line("## 三、需评标委员会核实的情形");
        self.line("");
        let flags = self.clauses(ClauseKind::Flag);
        if flags.is_empty() {
            self.line("本规则集未设需评标委员会核实的信用情形。");
            self.line("");
            return;
        }
        self.line(
            "投标人有下列情形之一的，不影响资格审查结论和信用得分，由评标委员会（评审委员会）核实后记录在案：",
        );
        self.line("");
        for (i, clause) in flags.into_iter().enumerate() {
            self.listed_clause(i + 1, clause);
        }
        self.line("");
    }

    fn notes(&mut self) {
        let program = self.program;
        let queries = &program.queries;
        let reads_status = queries.iter().any(|q| q.def.reads_status);
        let uses_latest = queries.iter().any(|q| q.def.func == Aggregate::Latest);
        let has_scores = program.clauses.iter().any(|c| c.kind == ClauseKind::Score);
        self.line("## 四、说明");
        self.line("");
        let mut notes = Vec::new();
        let mut counts = "信用记录以评标基准日（评价日期）为准：认定日期晚于评价日期的记录、在评价日期当日或之前已撤销的记录不予采用；\
            已信用修复的记录自修复之日起、公示期已届满的记录自公示截止日的次日起不再计入（公示截止日当日仍计入）"
            .to_string();
        if reads_status {
            counts.push_str("，条款明确包含已信用修复或已过公示期记录的除外");
        }
        counts.push('。');
        notes.push(counts);
        if let Some(window) = self.windows_note() {
            notes.push(window);
        }
        if uses_latest {
            notes.push(
                "“最近一条”记录指认定日期最晚的记录；认定日期相同的，取编号在后的记录。"
                    .to_string(),
            );
        }
        if has_scores {
            notes.push(
                "各评分项按计分规则计得分值后，先按该项上限、下限截取，再乘以权重，按四舍五入保留两位小数\
                 （如2.345计为2.35，-2.345计为-2.35）；信用得分为各评分项得分之和，所有计算均按十进制精确计算。"
                    .to_string(),
            );
        }
        let meta = &program.meta;
        notes.push(format!(
            "本节由信用规则集 `{}`（版本 {}）自动生成，各条“判定规则”“计分规则”与系统自动评价执行的规则一致。规则指纹（SHA-256）：`{}`。",
            meta.id,
            escape(&meta.version),
            meta.hash
        ));
        for (i, note) in notes.iter().enumerate() {
            self.line(&format!("{}. {note}", i + 1));
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
            _ => None,
        }
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
            quals.push(format!("{}为“{}”", field_cn(*field), escape(text)));
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
        Lit::Text(t) => escape(t),
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

/// Escapes text written by policy staff so Markdown prints it as written.
fn escape(text: &str) -> String {
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

/// Text for a table cell (escaped; line breaks become `<br>`).
fn cell(text: &str) -> String {
    escape(text)
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
    fn markdown_is_escaped() {
        assert_eq!(escape("a|b*c_d"), "a\\|b\\*c\\_d");
        assert_eq!(escape("一\n二"), "一<br>二");
        assert_eq!(escape("《办法》〔2019〕2号"), "《办法》〔2019〕2号");
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
