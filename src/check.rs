//! Static checking: resolves a rule set's `extends` chain, merges inherited
//! clauses, resolves names, checks types, and reports every problem at once —
//! unknown kinds or fields, type errors, duplicate clauses, a sector
//! overriding or removing a mandatory city clause, `extends` cycles, score
//! caps and weights that do not add up to the declared total, and clauses
//! that can never fire.

mod expr;
pub mod legality;
pub mod suggest;
mod wording;

use expr::Defined;
pub(crate) use expr::{ConstValue, Constants};
use expr::{Ctx, Typer};

use crate::ast::{Clause, ClauseKind, RoundingPolicy, RuleSetAst, TestBlock};
use crate::diagnostic::{Diagnostic, Diagnostics, MAX_DIAGNOSTICS};
use crate::fold::const_eval;
use crate::ir::{Base, IrExpr, Lit, QueryDef};
use crate::record::RecordKind;
use crate::source::{SourceFile, Span};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Parsed rule files, addressable by rule-set id, so that `extends` can be resolved.
#[derive(Debug, Default, Clone)]
pub struct Library {
    sets: BTreeMap<String, (SourceFile, RuleSetAst)>,
}

impl Library {
    /// An empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parsed file; refuses a second rule set with the same id.
    pub fn add(&mut self, file: SourceFile, ast: RuleSetAst) -> Result<(), Diagnostic> {
        let id = ast.header.id.value.clone();
        if let Some((other, _)) = self.sets.get(&id) {
            return Err(
                Diagnostic::error("E0300", format!("two rule sets have the id `{id}`"))
                    .at(&file, ast.header.id.span)
                    .with_help("give each rule set its own id")
                    .with_note(format!("the other one is in {}", other.name)),
            );
        }
        self.sets.insert(id, (file, ast));
        Ok(())
    }

    /// The ids of all rule sets, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// A rule set's file and syntax tree.
    pub fn get(&self, id: &str) -> Option<&(SourceFile, RuleSetAst)> {
        self.sets.get(id)
    }
}

/// A rule set that passed checking, with its inherited clauses merged in.
#[derive(Debug, Clone)]
pub struct CheckedRuleSet {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Sector.
    pub sector: Option<String>,
    /// Version label.
    pub version: String,
    /// Effective date.
    pub effective: NaiveDate,
    /// Responsible unit.
    pub unit: Option<String>,
    /// Legal basis of the rule set.
    pub basis: Option<String>,
    /// Declared maximum credit points (nearest in the `extends` chain).
    pub total: Option<Decimal>,
    /// This rule set's own internal note (备注); never printed.
    pub note: Option<String>,
    /// How points are rounded (计分舍入), nearest in the `extends` chain; the
    /// default (each clause to 2 places, half up) when no rule set states it.
    pub rounding: RoundingPolicy,
    /// What a tender document says about credit queries and commitments,
    /// inherited through the chain (a nearer rule set wins).
    pub terms: TenderTerms,
    /// The files of the chain, base first, ending with this rule set's own.
    pub chain: Vec<SourceFile>,
    /// The ids of the chain, base first, ending with this rule set's id.
    pub chain_ids: Vec<String>,
    /// Clauses in evaluation order: inherited first (overrides in place), then own.
    pub clauses: Vec<CheckedClause>,
    /// Record queries the clauses read.
    pub queries: Vec<QueryDef>,
    /// This rule set's own test blocks.
    pub tests: Vec<TestBlock>,
    /// Warnings found while checking.
    pub warnings: Diagnostics,
}

/// A checked clause.
#[derive(Debug, Clone)]
pub struct CheckedClause {
    /// Clause id.
    pub id: String,
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// Cannot be overridden or removed by extending rule sets.
    pub mandatory: bool,
    /// Tender-document wording.
    pub wording: Option<String>,
    /// Legal basis.
    pub basis: Option<String>,
    /// Internal note (备注); never printed.
    pub note: Option<String>,
    /// The rule set that defines it.
    pub origin: String,
    /// `when` (veto, flag) or `points` (score).
    pub expr: IrExpr,
    /// Points multiplier (1 for vetoes and flags).
    pub weight: Decimal,
    /// Most points before weighting.
    pub cap: Option<Decimal>,
    /// Fewest points before weighting.
    pub floor: Option<Decimal>,
    /// Where it is written.
    pub file: SourceFile,
    /// Its span in `file`.
    pub span: Span,
}

/// The header fields a tender document prints about credit queries and the
/// credit commitment, merged over the `extends` chain: each field comes from
/// the nearest rule set that states it; query channels are merged per record
/// kind (a nearer rule set's channel for a kind replaces the inherited one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenderTerms {
    /// Where records are checked: `(site, kinds)` in the order first stated
    /// along the chain, base first; kinds in the order written.
    pub channels: Vec<(String, Vec<RecordKind>)>,
    /// When credit is checked (查询时点).
    pub query_day: Option<String>,
    /// How query results are kept (查询留存).
    pub query_evidence: Option<String>,
    /// The credit commitment letter (信用承诺).
    pub commitment: Option<String>,
}

impl TenderTerms {
    /// Applies one rule set's header on top of what it inherits.
    fn extend_with(&mut self, h: &crate::ast::Header) {
        let text = |s: &Option<crate::ast::Spanned<String>>| s.as_ref().map(|s| s.value.clone());
        for field in [
            (&mut self.query_day, text(&h.query_day)),
            (&mut self.query_evidence, text(&h.query_evidence)),
            (&mut self.commitment, text(&h.commitment)),
        ] {
            if let (slot, Some(value)) = field {
                *slot = Some(value);
            }
        }
        for channel in &h.channels {
            let kinds: Vec<RecordKind> = channel
                .kinds
                .iter()
                .filter_map(|k| RecordKind::from_name(&k.value))
                .collect();
            for (_, inherited) in &mut self.channels {
                inherited.retain(|k| !kinds.contains(k));
            }
            match self
                .channels
                .iter_mut()
                .find(|(site, _)| *site == channel.site.value)
            {
                Some((_, existing)) => existing.extend(kinds),
                None => self.channels.push((channel.site.value.clone(), kinds)),
            }
        }
        self.channels.retain(|(_, kinds)| !kinds.is_empty());
    }
}

/// Words that mark a working note rather than published text: a basis or
/// wording containing one draws W0105 (move it to `note`).
pub const WORKING_NOTE_MARKERS: &[&str] = &[
    "示例",
    "做法",
    "待定",
    "暂定",
    "待补充",
    "待确认",
    "仅供参考",
    "TODO",
    "TBD",
    "FIXME",
];

/// The first working-note marker in `text`, if any.
pub fn working_note_marker(text: &str) -> Option<&'static str> {
    WORKING_NOTE_MARKERS
        .iter()
        .find(|m| text.contains(**m))
        .copied()
}

/// Checks rule set `id` of `library` and everything it extends.
pub fn check(library: &Library, id: &str) -> Result<CheckedRuleSet, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let chain = resolve_chain(library, id)?;
    let mut state = MergeState::default();
    let mut terms = TenderTerms::default();
    for (file, ast) in &chain {
        if crate::budget::exhausted() {
            break;
        }
        check_header(file, ast, &mut diagnostics);
        terms.extend_with(&ast.header);
        let constants = check_constants(file, ast, &state.constants, &mut diagnostics);
        state.constants = check_definitions(file, ast, constants, &mut diagnostics);
        merge_clauses(file, ast, &mut state, &mut diagnostics);
    }
    let (leaf_file, leaf) = chain
        .last()
        .expect("a chain holds at least the rule set itself");
    let total = chain
        .iter()
        .rev()
        .find_map(|(_, a)| a.header.total.as_ref());
    check_score_range(&state.clauses, &mut diagnostics);
    // With errors in clauses the sum is meaningless; report the total only on clean input.
    if let Some(total) = total.filter(|_| !diagnostics.has_errors()) {
        check_total(
            leaf_file,
            total.value,
            total.span,
            &state.clauses,
            &mut diagnostics,
        );
    }
    lint_clauses(&state.clauses, &mut diagnostics);
    lint_unused_definitions(&chain, &mut diagnostics);
    wording::lint(&state.clauses, &state.queries, &mut diagnostics);
    legality::lint(&chain, &state.clauses, &state.queries, &mut diagnostics);
    check_tests(leaf_file, leaf, &state.clauses, &mut diagnostics);
    diagnostics.sort();
    diagnostics.truncate_to(MAX_DIAGNOSTICS);
    if crate::budget::exhausted() {
        diagnostics.push(
            Diagnostic::error("E0006", "checking stopped: the time allowed for it ran out")
                .with_help("the rule set is too large or has too many problems to check in one request; check it with `credit-rules check` and fix the problems first"),
        );
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let header = &leaf.header;
    let text = |s: &Option<crate::ast::Spanned<String>>| s.as_ref().map(|s| s.value.clone());
    Ok(CheckedRuleSet {
        id: header.id.value.clone(),
        title: text(&header.title).unwrap_or_default(),
        sector: text(&header.sector),
        version: text(&header.version).unwrap_or_default(),
        effective: header
            .effective
            .as_ref()
            .map(|e| e.value)
            .unwrap_or_default(),
        unit: text(&header.unit),
        basis: text(&header.basis),
        total: total.map(|t| t.value),
        note: text(&header.note),
        rounding: chain
            .iter()
            .rev()
            .find_map(|(_, a)| a.header.rounding.as_ref())
            .map(|r| r.value)
            .unwrap_or_default(),
        terms,
        chain: chain.iter().map(|(f, _)| f.clone()).collect(),
        chain_ids: chain
            .iter()
            .map(|(_, a)| a.header.id.value.clone())
            .collect(),
        clauses: state.clauses,
        queries: state.queries,
        tests: leaf.tests().cloned().collect(),
        warnings: diagnostics,
    })
}

/// The closest of `candidates` to a misspelt `name` ("did you mean"), if any is close.
pub fn suggest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    suggest::closest(name, candidates)
}

/// The `extends` chain of `id`, base first.
fn resolve_chain<'l>(
    library: &'l Library,
    id: &str,
) -> Result<Vec<&'l (SourceFile, RuleSetAst)>, Diagnostic> {
    let mut chain: Vec<&'l (SourceFile, RuleSetAst)> = Vec::new();
    let mut current = id.to_string();
    loop {
        let Some(entry) = library.get(&current) else {
            let suggestion = suggest::closest(&current, library.ids());
            let mut d = Diagnostic::error("E0302", format!("unknown rule set `{current}`"));
            if let Some((file, ast)) = chain.last().copied()
                && let Some(ext) = &ast.header.extends
            {
                d = d.at(file, ext.span);
            }
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => {
                    "check the id in the `extends` line and that its file is in the rule-set folder"
                        .into()
                }
            };
            let mut known: Vec<&str> = library.ids().collect();
            known.sort_unstable();
            known.truncate(20);
            let d = d.with_help(help).with_note(
                "the base rule sets are looked up in the rule-set folder given by `--lib` (default `rulesets`): e.g. `credit-rules check --lib rulesets FILE`",
            );
            return Err(if known.is_empty() {
                d.with_note("no rule set was found there")
            } else {
                d.with_note(format!("the rule sets found there: {}", known.join(", ")))
            });
        };
        if chain.iter().any(|e| e.1.header.id.value == current) {
            let names: Vec<&str> = chain.iter().map(|e| e.1.header.id.value.as_str()).collect();
            let (file, ast) = entry;
            return Err(Diagnostic::error(
                "E0301",
                format!(
                    "`extends` goes round in a circle: {} → {current}",
                    names.join(" → ")
                ),
            )
            .at(
                file,
                ast.header
                    .extends
                    .as_ref()
                    .map_or(ast.header.id.span, |e| e.span),
            )
            .with_help("a rule set may extend the city base, which extends nothing"));
        }
        chain.push(entry);
        match &entry.1.header.extends {
            Some(parent) => current = parent.value.clone(),
            None => break,
        }
    }
    chain.reverse();
    Ok(chain)
}

fn check_header(file: &SourceFile, ast: &RuleSetAst, diagnostics: &mut Diagnostics) {
    let h = &ast.header;
    let missing = [
        ("title", h.title.is_none(), "title \"武汉市…信用评价规则\""),
        ("version", h.version.is_none(), "version \"2019.12\""),
        ("effective", h.effective.is_none(), "effective 2019-12-31"),
    ];
    for (field, absent, example) in missing {
        if absent {
            diagnostics.push(
                Diagnostic::error("E0100", format!("the header has no `{field}`"))
                    .at(file, h.id.span)
                    .with_help(format!("add a line such as `{example}` to the header")),
            );
        }
    }
    if h.unit.is_none() {
        diagnostics.push(
            Diagnostic::warning("W0100", "the header names no responsible unit")
                .at(file, h.id.span)
                .with_help("add `unit \"武汉市…局\"` (责任单位)"),
        );
    }
    check_channels(file, h, diagnostics);
    if let Some(basis) = &h.basis {
        lint_working_note(file, basis, "basis", "the rule set", diagnostics);
    }
}

/// Every kind of a `query_channel` line must exist, and name one channel only.
fn check_channels(file: &SourceFile, h: &crate::ast::Header, diagnostics: &mut Diagnostics) {
    let mut seen: HashMap<RecordKind, &str> = HashMap::new();
    for channel in &h.channels {
        for name in &channel.kinds {
            let Some(kind) = RecordKind::from_name(&name.value) else {
                let labels = RecordKind::ALL.iter().map(|k| k.label());
                let help = match suggest::closest(&name.value, labels) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "name a record kind by its Chinese label or code (see `src/record.rs`)"
                        .to_string(),
                };
                diagnostics.push(
                    Diagnostic::error(
                        "E0101",
                        format!("unknown record kind `{}` in `query_channel`", name.value),
                    )
                    .at(file, name.span)
                    .with_help(help),
                );
                continue;
            };
            if let Some(other) = seen.insert(kind, &channel.site.value) {
                diagnostics.push(
                    Diagnostic::error(
                        "E0102",
                        format!(
                            "the record kind `{}` is given two query channels",
                            name.value
                        ),
                    )
                    .at(file, name.span)
                    .with_help(format!(
                        "a kind is checked on one channel; remove it here or from `{other}`"
                    )),
                );
            }
        }
    }
}

/// W0105: published text (a wording or basis) that reads like a working note.
fn lint_working_note(
    file: &SourceFile,
    text: &crate::ast::Spanned<String>,
    field: &str,
    owner: &str,
    diagnostics: &mut Diagnostics,
) {
    if let Some(marker) = working_note_marker(&text.value) {
        diagnostics.push(
            Diagnostic::warning(
                "W0105",
                format!("the {field} of {owner} says `{marker}`, which reads like a working note"),
            )
            .at(file, text.span)
            .with_help(format!(
                "tender documents print the {field} as it is: keep only the published text there and move the remark to `note \"…\"` (备注), which is never printed"
            )),
        );
    }
}

/// Runs a suggestion search unless the check already has many problems.
fn suggest_within_budget<'n>(
    diagnostics: &Diagnostics,
    search: impl FnOnce() -> Option<&'n str>,
) -> Option<&'n str> {
    if diagnostics.0.len() < suggest::MAX_SUGGESTED_PROBLEMS {
        search()
    } else {
        None
    }
}

/// Evaluates constants in file order; each sees the inherited ones and those before it.
fn check_constants(
    file: &SourceFile,
    ast: &RuleSetAst,
    inherited: &Constants,
    diagnostics: &mut Diagnostics,
) -> Constants {
    let mut constants = inherited.clone();
    let mut own: HashMap<&str, Span> = HashMap::new();
    for def in ast.constants() {
        if crate::budget::exhausted() {
            break;
        }
        let name = def.name.value.as_str();
        if let Some(first) = own.get(name) {
            diagnostics.push(
                Diagnostic::error("E0303", format!("the constant `{name}` is defined twice"))
                    .at(file, def.name.span)
                    .with_help("rename one of them or delete the second")
                    .with_note(format!(
                        "first defined on line {}",
                        crate::source::LineIndex::new(&file.text)
                            .line_col(&file.text, first.start)
                            .line
                    )),
            );
            continue;
        }
        own.insert(name, def.name.span);
        if inherited.contains_key(name) {
            diagnostics.push(
                Diagnostic::warning(
                    "W0101",
                    format!("the constant `{name}` hides one of the base rule set"),
                )
                .at(file, def.name.span)
                .with_help("inherited clauses keep the base value; rename it to avoid confusion"),
            );
        }
        if let Some(hidden) = hidden_meaning(name) {
            diagnostics.push(
                Diagnostic::warning(
                    "W0103",
                    format!("the constant `{name}` hides the {hidden} of the same name"),
                )
                .at(file, def.name.span)
                .with_help("rename the constant, e.g. add a suffix such as `值`"),
            );
        }
        // A constant whose definition is wrong is reported there, once: its uses are not
        // reported again as unknown names.
        let value = const_value(file, &def.value, &constants, diagnostics);
        constants.insert(name.to_string(), value.unwrap_or(ConstValue::Invalid));
    }
    constants
}

/// Types the rule file's definitions (`define 名 = …`) on top of its
/// constants and what it inherits. A definition may use another wherever it
/// is written in the file; they are typed in the order their uses require,
/// and a definition that uses itself, directly or through others, is an error.
fn check_definitions(
    file: &SourceFile,
    ast: &RuleSetAst,
    mut scope: Constants,
    diagnostics: &mut Diagnostics,
) -> Constants {
    let own_constants: HashMap<&str, Span> = ast
        .constants()
        .map(|c| (c.name.value.as_str(), c.name.span))
        .collect();
    let mut defs: BTreeMap<&str, &crate::ast::ConstDef> = BTreeMap::new();
    for def in ast.definitions() {
        let name = def.name.value.as_str();
        let first = own_constants
            .get(name)
            .copied()
            .or_else(|| defs.get(name).map(|d| d.name.span));
        if let Some(first) = first {
            diagnostics.push(
                Diagnostic::error("E0303", format!("the name `{name}` is defined twice"))
                    .at(file, def.name.span)
                    .with_help("rename one of them or delete the second")
                    .with_note(format!(
                        "first defined on line {}",
                        crate::source::LineIndex::new(&file.text)
                            .line_col(&file.text, first.start)
                            .line
                    )),
            );
            continue;
        }
        if scope.contains_key(name) {
            diagnostics.push(
                Diagnostic::warning(
                    "W0101",
                    format!("the definition `{name}` hides a name of the base rule set"),
                )
                .at(file, def.name.span)
                .with_help("inherited clauses keep the base meaning; rename it to avoid confusion"),
            );
        }
        if let Some(hidden) = hidden_meaning(name) {
            diagnostics.push(
                Diagnostic::warning(
                    "W0103",
                    format!("the definition `{name}` hides the {hidden} of the same name"),
                )
                .at(file, def.name.span)
                .with_help("rename the definition, e.g. add a suffix such as `数`"),
            );
        }
        defs.insert(name, def);
    }
    let ordered = definition_order(file, ast, &defs, diagnostics);
    for name in &ordered {
        let def = defs[name];
        // A definition with an error (reported where it is written) still names
        // something: its uses are not checked, so one mistake is one diagnostic.
        let value = define(file, &def.value, &scope, diagnostics).unwrap_or(ConstValue::Invalid);
        scope.insert(name.to_string(), value);
    }
    // Those caught in a cycle (reported as E0220) are left out of the order.
    for name in defs.keys().filter(|n| !ordered.contains(n)) {
        scope.insert(name.to_string(), ConstValue::Invalid);
    }
    scope
}

/// The definitions in an order where each comes after those it uses; those
/// caught in a cycle are reported (`E0220`) and left out.
fn definition_order<'a>(
    file: &SourceFile,
    ast: &'a RuleSetAst,
    defs: &BTreeMap<&'a str, &'a crate::ast::ConstDef>,
    diagnostics: &mut Diagnostics,
) -> Vec<&'a str> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        defs: &BTreeMap<&'a str, &'a crate::ast::ConstDef>,
        marks: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<&'a str>,
        cycles: &mut Vec<Vec<&'a str>>,
    ) {
        match marks.get(name) {
            Some(Mark::Done) => return,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name);
                cycles.push(cycle);
                return;
            }
            None => {}
        }
        marks.insert(name, Mark::Visiting);
        path.push(name);
        for used in defs[name].value.names() {
            if let Some((key, _)) = defs.get_key_value(used) {
                visit(key, defs, marks, path, order, cycles);
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
        order.push(name);
    }
    let mut marks = HashMap::new();
    let mut order = Vec::new();
    let mut cycles = Vec::new();
    // Visit in file order, so that errors and typing follow the text.
    for def in ast.definitions() {
        if let Some((key, _)) = defs.get_key_value(def.name.value.as_str()) {
            visit(
                key,
                defs,
                &mut marks,
                &mut Vec::new(),
                &mut order,
                &mut cycles,
            );
        }
    }
    let mut in_cycle: BTreeSet<&str> = BTreeSet::new();
    for cycle in cycles {
        in_cycle.extend(cycle.iter().copied());
        let def = defs[cycle[0]];
        let path = cycle.join(" → ");
        diagnostics.push(
            Diagnostic::error(
                "E0220",
                format!("the definition `{}` uses itself ({path})", cycle[0]),
            )
            .at(file, def.name.span)
            .with_help("a definition cannot use itself, directly or through other definitions; write the value of one of them without the other"),
        );
    }
    // A definition that uses one caught in a cycle cannot be typed either.
    order.retain(|n| {
        !in_cycle.contains(n) && !defs[n].value.names().iter().any(|u| in_cycle.contains(u))
    });
    order
}

/// Types one definition's value: a constant when it reads neither records nor
/// the evaluation date, otherwise an expression with the queries it reads.
fn define(
    file: &SourceFile,
    value: &crate::ast::Expr,
    scope: &Constants,
    diagnostics: &mut Diagnostics,
) -> Option<ConstValue> {
    let mut queries = Vec::new();
    let mut typer = Typer {
        file,
        constants: scope,
        queries: &mut queries,
        diagnostics,
    };
    let (ir, ty) = typer.expr(value, Ctx { in_record: false }, None)?;
    if queries.is_empty()
        && !ty.optional
        && let Ok(Some(lit)) = const_eval(&ir)
    {
        return Some(ConstValue::Scalar(lit));
    }
    Some(ConstValue::Defined(std::rc::Rc::new(Defined {
        ir,
        ty,
        queries,
    })))
}

/// The clause's own scope: what it inherits plus its `let`s, each typed in
/// written order and seeing those before it. `None` when it has no `let`.
fn clause_scope(
    file: &SourceFile,
    clause: &Clause,
    outer: &Constants,
    diagnostics: &mut Diagnostics,
) -> Option<Constants> {
    if clause.lets.is_empty() {
        return None;
    }
    let mut scope = outer.clone();
    let mut own: HashMap<&str, Span> = HashMap::new();
    for (i, local) in clause.lets.iter().enumerate() {
        let name = local.name.value.as_str();
        if let Some(first) = own.insert(name, local.name.span) {
            diagnostics.push(
                Diagnostic::error("E0303", format!("`{name}` is defined twice in the clause"))
                    .at(file, local.name.span)
                    .with_help("rename one of them or delete the second")
                    .with_note(format!(
                        "first defined on line {}",
                        crate::source::LineIndex::new(&file.text)
                            .line_col(&file.text, first.start)
                            .line
                    )),
            );
            continue;
        }
        let used = clause.lets[i + 1..]
            .iter()
            .map(|l| &l.value)
            .chain(clause.expressions().skip(clause.lets.len()))
            .any(|e| e.names().contains(name));
        if !used {
            diagnostics.push(
                Diagnostic::warning("W0110", format!("`{name}` is defined but never used"))
                    .at(file, local.name.span)
                    .with_help("use it in the clause's condition or points, or delete the `let`"),
            );
        }
        // A `let` with an error (reported where it is written) still names something:
        // its uses are not checked, so one mistake is one diagnostic, not one per use.
        let value = define(file, &local.value, &scope, diagnostics).unwrap_or(ConstValue::Invalid);
        scope.insert(name.to_string(), value);
    }
    Some(scope)
}

/// Warns about definitions that neither their own rule file nor a rule set
/// of the chain extending it uses.
fn lint_unused_definitions(chain: &[&(SourceFile, RuleSetAst)], diagnostics: &mut Diagnostics) {
    for (i, (file, ast)) in chain.iter().enumerate() {
        for def in ast.definitions() {
            let name = def.name.value.as_str();
            let used = chain[i..].iter().any(|(_, later)| {
                later.items.iter().any(|item| match item {
                    crate::ast::Item::Const(c) => c.value.names().contains(name),
                    crate::ast::Item::Define(d) => {
                        !std::ptr::eq(d, def) && d.value.names().contains(name)
                    }
                    crate::ast::Item::Clause(c) => {
                        c.expressions().any(|e| e.names().contains(name))
                    }
                    crate::ast::Item::Remove(_) | crate::ast::Item::Test(_) => false,
                })
            });
            if !used {
                diagnostics.push(
                    Diagnostic::warning("W0110", format!("the definition `{name}` is never used"))
                        .at(file, def.name.span)
                        .with_help("use it in a clause, or delete it"),
                );
            }
        }
    }
}

/// What a constant's name would otherwise mean, if anything.
fn hidden_meaning(name: &str) -> Option<&'static str> {
    if crate::ir::Field::from_name(name).is_some() {
        Some("record field")
    } else if crate::record::RecordKind::from_name(name).is_some() {
        Some("record kind")
    } else if crate::record::Severity::from_name(name).is_some() {
        Some("severity")
    } else {
        None
    }
}

fn const_value(
    file: &SourceFile,
    expr: &crate::ast::Expr,
    constants: &Constants,
    diagnostics: &mut Diagnostics,
) -> Option<ConstValue> {
    let mut queries = Vec::new();
    let mut typer = Typer {
        file,
        constants,
        queries: &mut queries,
        diagnostics,
    };
    if let crate::ast::ExprKind::List(items) = &expr.kind {
        let mut values = Vec::new();
        for item in items {
            values.push(constant_lit(&mut typer, item)?);
        }
        return Some(ConstValue::List(values));
    }
    constant_lit(&mut typer, expr).map(ConstValue::Scalar)
}

/// Types and evaluates an expression that must be constant.
fn constant_lit(typer: &mut Typer<'_>, expr: &crate::ast::Expr) -> Option<Lit> {
    let (ir, _) = typer.expr(expr, Ctx { in_record: false }, None)?;
    match const_eval(&ir) {
        Ok(Some(lit)) => Some(lit),
        Ok(None) | Err(_) => {
            typer.diagnostics.push(
                Diagnostic::error("E0213", "this value must be a constant")
                    .at(typer.file, expr.span)
                    .with_help("use numbers, dates, durations, texts or other constants; records and `as_of` are not allowed here"),
            );
            None
        }
    }
}

#[derive(Default)]
struct MergeState {
    constants: Constants,
    clauses: Vec<CheckedClause>,
    queries: Vec<QueryDef>,
}

/// Applies one rule file's removals and clauses on top of what it inherits.
fn merge_clauses(
    file: &SourceFile,
    ast: &RuleSetAst,
    state: &mut MergeState,
    diagnostics: &mut Diagnostics,
) {
    for removal in ast.removals() {
        match state.clauses.iter().position(|c| c.id == removal.value) {
            Some(i) if state.clauses[i].mandatory => {
                diagnostics.push(mandatory_error(
                    file,
                    removal.span,
                    &state.clauses[i],
                    "remove",
                ));
            }
            Some(i) => {
                state.clauses.remove(i);
            }
            None => diagnostics.push(
                Diagnostic::error(
                    "E0306",
                    format!("there is no inherited clause `{}` to remove", removal.value),
                )
                .at(file, removal.span)
                .with_help(
                    match suggest_within_budget(diagnostics, || {
                        suggest::closest(
                            &removal.value,
                            state.clauses.iter().map(|c| c.id.as_str()),
                        )
                    }) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "`remove` only drops clauses of the rule set named in `extends`".into()
                        }
                    },
                ),
            ),
        }
    }
    let mut own: HashMap<&str, Span> = HashMap::new();
    for clause in ast.clauses() {
        if crate::budget::exhausted() {
            break;
        }
        let id = clause.id.value.as_str();
        if let Some(first) = own.insert(id, clause.id.span) {
            let index = crate::source::LineIndex::new(&file.text);
            diagnostics.push(
                Diagnostic::error("E0303", format!("the clause id `{id}` is used twice"))
                    .at(file, clause.id.span)
                    .with_help("give each clause its own id")
                    .with_note(format!(
                        "first used on line {}",
                        index.line_col(&file.text, first.start).line
                    )),
            );
            continue;
        }
        if clause.mandatory && ast.header.extends.is_some() {
            diagnostics.push(
                Diagnostic::warning("W0104", format!("`mandatory` on `{id}` binds only rule sets that extend this one"))
                    .at(file, clause.id.span)
                    .with_help("mandatory clauses belong in the city base; in a sector rule set, remove `mandatory`"),
            );
        }
        let Some(checked) = check_clause(file, ast, clause, state, diagnostics) else {
            continue;
        };
        match state
            .clauses
            .iter()
            .position(|c| c.id == checked.id && c.origin != checked.origin)
        {
            Some(i) if state.clauses[i].mandatory => {
                diagnostics.push(mandatory_error(
                    file,
                    clause.id.span,
                    &state.clauses[i],
                    "override",
                ));
            }
            Some(i) if state.clauses[i].kind != checked.kind => diagnostics.push(
                Diagnostic::error(
                    "E0305",
                    format!(
                        "`{id}` overrides an inherited {} with a {}",
                        state.clauses[i].kind.keyword(),
                        checked.kind.keyword()
                    ),
                )
                .at(file, clause.id.span)
                .with_help("give the new clause another id, or keep the inherited clause's kind"),
            ),
            Some(i) => state.clauses[i] = checked,
            None => state.clauses.push(checked),
        }
    }
}

fn mandatory_error(file: &SourceFile, at: Span, base: &CheckedClause, verb: &str) -> Diagnostic {
    Diagnostic::error("E0304", format!("cannot {verb} the mandatory clause `{}`", base.id))
        .at(file, at)
        .with_help("mandatory city clauses apply to every sector unchanged; add a separate clause if the sector needs more")
        .with_note(format!("`{}` is declared mandatory in rule set `{}`", base.id, base.origin))
}

fn check_clause(
    file: &SourceFile,
    ast: &RuleSetAst,
    clause: &Clause,
    state: &mut MergeState,
    diagnostics: &mut Diagnostics,
) -> Option<CheckedClause> {
    let before = diagnostics.error_count();
    let misplaced = |name: &str, present: bool, diagnostics: &mut Diagnostics, span: Span| {
        if present {
            diagnostics.push(
                Diagnostic::error(
                    "E0311",
                    format!("a {} clause has no `{name}`", clause.kind.keyword()),
                )
                .at(file, span)
                .with_help(match clause.kind {
                    ClauseKind::Score => {
                        "a score clause gives `points`; use `if … then … else 0` for a condition"
                    }
                    _ => "only score clauses have points, weight, cap and floor",
                }),
            );
        }
    };
    let field_span = |e: &Option<crate::ast::Expr>| e.as_ref().map_or(clause.id.span, |e| e.span);
    let local = clause_scope(file, clause, &state.constants, diagnostics);
    let mut typer = Typer {
        file,
        constants: local.as_ref().unwrap_or(&state.constants),
        queries: &mut state.queries,
        diagnostics,
    };
    let top = Ctx { in_record: false };
    let expr = match clause.kind {
        ClauseKind::Veto | ClauseKind::Flag => {
            for (name, e) in [
                ("points", &clause.points),
                ("weight", &clause.weight),
                ("cap", &clause.cap),
                ("floor", &clause.floor),
            ] {
                misplaced(name, e.is_some(), typer.diagnostics, field_span(e));
            }
            match &clause.when {
                Some(w) => typer.expect(w, top, Base::Bool, "the condition"),
                None => {
                    typer.diagnostics.push(
                        Diagnostic::error(
                            "E0310",
                            format!(
                                "the {} clause `{}` has no `when` condition",
                                clause.kind.keyword(),
                                clause.id.value
                            ),
                        )
                        .at(file, clause.id.span)
                        .with_help(
                            "add a line such as `when any(records where kind = 失信被执行人)`",
                        ),
                    );
                    None
                }
            }
        }
        ClauseKind::Score => {
            misplaced(
                "when",
                clause.when.is_some(),
                typer.diagnostics,
                field_span(&clause.when),
            );
            match &clause.points {
                Some(p) => typer.expect(p, top, Base::Number, "the points"),
                None => {
                    typer.diagnostics.push(
                        Diagnostic::error("E0310", format!("the score clause `{}` has no `points`", clause.id.value))
                            .at(file, clause.id.span)
                            .with_help("add a line such as `points -1 * count(records where kind = 不良行为记录)`"),
                    );
                    None
                }
            }
        }
    };
    let number = |typer: &mut Typer<'_>,
                  e: &Option<crate::ast::Expr>,
                  role: &str|
     -> Option<Option<Decimal>> {
        let Some(e) = e else { return Some(None) };
        match constant_lit(typer, e)? {
            Lit::Number(n) => Some(Some(n)),
            other => {
                typer.diagnostics.push(
                    Diagnostic::error(
                        "E0202",
                        format!(
                            "the {role} must be a number, but this is {}",
                            other.base().describe()
                        ),
                    )
                    .at(file, e.span)
                    .with_help("write a number such as `3` or `0.5`"),
                );
                None
            }
        }
    };
    let weight = number(&mut typer, &clause.weight, "weight");
    let cap = number(&mut typer, &clause.cap, "cap");
    let floor = number(&mut typer, &clause.floor, "floor");
    if clause.kind == ClauseKind::Score && clause.cap.is_none() && clause.points.is_some() {
        diagnostics_push_cap(file, clause, typer.diagnostics);
    }
    let (weight, cap, floor) = (weight?.unwrap_or(Decimal::ONE), cap?, floor?);
    if weight <= Decimal::ZERO {
        typer.diagnostics.push(
            Diagnostic::error("E0315", "the weight must be greater than 0")
                .at(file, field_span(&clause.weight))
                .with_help("remove the clause instead of weighting it 0"),
        );
    }
    if let (Some(c), Some(f)) = (cap, floor)
        && f > c
    {
        typer.diagnostics.push(
            Diagnostic::error("E0314", format!("the floor {f} is above the cap {c}"))
                .at(file, clause.span)
                .with_help("the floor is the fewest points, the cap the most: swap them"),
        );
    }
    if clause.wording.is_none() {
        typer.diagnostics.push(
            Diagnostic::warning(
                "W0102",
                format!("the clause `{}` has no wording", clause.id.value),
            )
            .at(file, clause.id.span)
            .with_help(
                "add `wording \"…\"`: the sentence the tender document prints for this clause",
            ),
        );
    }
    let owner = format!("`{}`", clause.id.value);
    for (field, value) in [("wording", &clause.wording), ("basis", &clause.basis)] {
        if let Some(value) = value {
            lint_working_note(file, value, field, &owner, typer.diagnostics);
        }
    }
    let expr = expr?;
    if diagnostics.error_count() > before {
        return None;
    }
    Some(CheckedClause {
        id: clause.id.value.clone(),
        kind: clause.kind,
        mandatory: clause.mandatory,
        wording: clause.wording.as_ref().map(|w| w.value.clone()),
        basis: clause.basis.as_ref().map(|b| b.value.clone()),
        note: clause.note.as_ref().map(|n| n.value.clone()),
        origin: ast.header.id.value.clone(),
        expr,
        weight,
        cap,
        floor,
        file: file.clone(),
        span: clause.span,
    })
}

fn diagnostics_push_cap(file: &SourceFile, clause: &Clause, diagnostics: &mut Diagnostics) {
    diagnostics.push(
        Diagnostic::error("E0312", format!("the score clause `{}` has no `cap`", clause.id.value))
            .at(file, clause.id.span)
            .with_help("add `cap N`: the most points the clause can give, so the total can be checked (use `cap 0` for a pure deduction)"),
    );
}

/// The most points each score clause can give, weighted, must add up to the declared total.
fn check_total(
    file: &SourceFile,
    total: Decimal,
    at: Span,
    clauses: &[CheckedClause],
    diagnostics: &mut Diagnostics,
) {
    let scores: Vec<&CheckedClause> = clauses
        .iter()
        .filter(|c| c.kind == ClauseKind::Score)
        .collect();
    // Compared as evaluation rounds: each clause's weighted maximum to 2 places. The products
    // and the sum fit (check_score_range has refused rule sets where they do not).
    let most = |c: &CheckedClause| {
        c.cap
            .unwrap_or_default()
            .checked_mul(c.weight)
            .unwrap_or(Decimal::MAX)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let sum = scores
        .iter()
        .try_fold(Decimal::ZERO, |sum, c| sum.checked_add(most(c)));
    let Some(sum) = sum else {
        return;
    };
    if sum != total {
        let mut d = Diagnostic::error(
            "E0320",
            format!(
                "the score clauses give at most {} points, but the header declares a total of {}",
                sum.normalize(),
                total.normalize()
            ),
        )
        .at(file, at)
        .with_help("make each clause's cap × weight add up to the total, or correct the total");
        for c in scores {
            d = d.with_note(format!(
                "`{}`: cap {} × weight {} = {}",
                c.id,
                c.cap.unwrap_or_default().normalize(),
                c.weight.normalize(),
                most(c).normalize()
            ));
        }
        diagnostics.push(d);
    }
}

/// Every score clause's weighted cap and floor, and their sums over the rule set, must be
/// numbers the evaluator can compute (at most 28 digits): otherwise a report's total
/// could not be added up.
fn check_score_range(clauses: &[CheckedClause], diagnostics: &mut Diagnostics) {
    let mut most = Decimal::ZERO;
    let mut fewest = Decimal::ZERO;
    for clause in clauses.iter().filter(|c| c.kind == ClauseKind::Score) {
        let weighted = |bound: Option<Decimal>| match bound {
            Some(b) => b.checked_mul(clause.weight),
            None => Some(Decimal::ZERO),
        };
        let (Some(high), Some(low)) = (weighted(clause.cap), weighted(clause.floor)) else {
            diagnostics.push(
                Diagnostic::error(
                    "E0316",
                    format!(
                        "the score clause `{}`: cap or floor × weight is too large a number",
                        clause.id
                    ),
                )
                .at(&clause.file, clause.span)
                .with_help("points, caps, floors and weights are credit points: use numbers of a sensible size"),
            );
            return;
        };
        match (
            most.checked_add(high),
            fewest.checked_add(low.min(Decimal::ZERO)),
        ) {
            (Some(m), Some(f)) => (most, fewest) = (m, f),
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        "E0321",
                        format!(
                            "with the score clause `{}`, the score clauses' points add up to too large a number",
                            clause.id
                        ),
                    )
                    .at(&clause.file, clause.span)
                    .with_help("points, caps, floors and weights are credit points: use numbers of a sensible size"),
                );
                return;
            }
        }
    }
}

/// Warnings about clauses that can never fire, always fire, or repeat another.
fn lint_clauses(clauses: &[CheckedClause], diagnostics: &mut Diagnostics) {
    for (i, clause) in clauses.iter().enumerate() {
        if clause.kind != ClauseKind::Score
            && let Ok(Some(Lit::Bool(value))) = const_eval(&clause.expr)
        {
            let (code, message) = match value {
                false => (
                    "W0201",
                    format!(
                        "the condition of `{}` is always false, so it never fires",
                        clause.id
                    ),
                ),
                true => (
                    "W0202",
                    format!(
                        "the condition of `{}` is always true, so it fires for everyone",
                        clause.id
                    ),
                ),
            };
            diagnostics.push(
                Diagnostic::warning(code, message)
                    .at(&clause.file, clause.span)
                    .with_help(
                        "check the condition; a clause should depend on the entity's records",
                    ),
            );
        }
        if let Some(earlier) = clauses[..i]
            .iter()
            .find(|c| c.kind == clause.kind && c.expr == clause.expr)
        {
            diagnostics.push(
                Diagnostic::warning(
                    "W0203",
                    format!("`{}` has the same condition as `{}`", clause.id, earlier.id),
                )
                .at(&clause.file, clause.span)
                .with_help("merge the two clauses or make their conditions differ"),
            );
        }
    }
}

/// Test blocks are checked with the rules: a date, known clauses, no duplicates.
fn check_tests(
    file: &SourceFile,
    ast: &RuleSetAst,
    clauses: &[CheckedClause],
    diagnostics: &mut Diagnostics,
) {
    use crate::ast::Expectation;
    let mut names: HashMap<&str, Span> = HashMap::new();
    for test in ast.tests() {
        if crate::budget::exhausted() {
            break;
        }
        if names
            .insert(test.name.value.as_str(), test.name.span)
            .is_some()
        {
            diagnostics.push(
                Diagnostic::warning(
                    "W0300",
                    format!("two tests are called `{}`", test.name.value),
                )
                .at(file, test.name.span)
                .with_help("give each test its own description so failures can be told apart"),
            );
        }
        if test.as_of.is_none() {
            diagnostics.push(
                Diagnostic::error(
                    "E0400",
                    format!("the test `{}` has no `as_of` date", test.name.value),
                )
                .at(file, test.name.span)
                .with_help("add a line `as_of 2024-06-01` (评价日期)"),
            );
        }
        let mut ids: HashMap<&str, Span> = HashMap::new();
        for record in &test.records {
            if ids
                .insert(record.id.value.as_str(), record.id.span)
                .is_some()
            {
                diagnostics.push(
                    Diagnostic::error(
                        "E0401",
                        format!("two records of this test have the id `{}`", record.id.value),
                    )
                    .at(file, record.id.span)
                    .with_help(
                        "record ids are unique per source; give the second record another id",
                    ),
                );
            }
        }
        for expect in &test.expects {
            let (id, want) = match &expect.value {
                Expectation::Veto(id) | Expectation::NoVeto(id) => (id, ClauseKind::Veto),
                Expectation::Flag(id) | Expectation::NoFlag(id) => (id, ClauseKind::Flag),
                Expectation::Points(id, _) => (id, ClauseKind::Score),
                _ => continue,
            };
            if let Some(clause) = clauses.iter().find(|c| &c.id == id) {
                if clause.kind != want {
                    diagnostics.push(
                        Diagnostic::error(
                            "E0403",
                            format!("`{id}` is a {} clause, but the test expects a {} clause", clause.kind.keyword(), want.keyword()),
                        )
                        .at(file, expect.span)
                        .with_help("use `expect veto`/`expect not veto` for vetoes, `expect flag`/`expect not flag` for flags, `expect points` for scores"),
                    );
                }
            } else if ast.clauses().any(|c| &c.id.value == id) {
                // The clause is written but has errors of its own, reported there.
                continue;
            } else {
                let help = match suggest_within_budget(diagnostics, || {
                    suggest::closest(id, clauses.iter().map(|c| c.id.as_str()))
                }) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "name a clause of this rule set or of the one it extends".to_string(),
                };
                diagnostics.push(
                    Diagnostic::error(
                        "E0402",
                        format!("the test expects a clause `{id}` that does not exist"),
                    )
                    .at(file, expect.span)
                    .with_help(help),
                );
            }
        }
    }
}
