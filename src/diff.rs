//! Semantic diff between two versions of a rule set: what a new version
//! changes, shown to the reviewers and supervisors (监管) who must see it
//! before it is published.
//!
//! The diff is over the *effective* rule set — the clauses a sector applies
//! after its `extends` chain is merged — so a change to the city base shows
//! up in every sector that inherits it, each clause marked with the rule set
//! it comes from (`origin`) and whether that is an inherited one.
//!
//! What counts as a difference, and what does not:
//!
//! - **Clauses** are matched by id. Layout, comments, clause order, English
//!   or Chinese keywords and the spelling of a name (`行政处罚` or
//!   `ADMIN_PENALTY`, `kind` or `类别`) make no difference: clauses are
//!   compared as checked, with names resolved and constants replaced by their
//!   values. A changed clause lists *which aspects* changed (kind,
//!   `mandatory`, origin, wording, basis, condition, points, the `within`
//!   windows it uses, cap, floor, weight) and a unified diff of its canonical
//!   text, printed with the keywords of the new version (names stay as
//!   written, so a clause that changed *and* was respelt shows both).
//! - **Windows** are reported beside the condition or points they belong to,
//!   as the resolved durations (`within 处罚回看期` shows as `2 years`).
//! - **Constants** are compared by their definitions, per rule set of the
//!   chain, and listed in their own section with the clauses that use them.
//!   Because clauses are compared with constants resolved, a clause whose
//!   meaning a constant change alters is also listed as changed (its text may
//!   be the same) and names the changed constants it uses, directly or
//!   through another constant.
//! - **Definitions** (`define`) are expanded into the clauses that use them,
//!   like constants; one given a new value is listed in the constants
//!   section, marked as a definition, with the clauses that use it. Adding
//!   or dropping a definition changes nothing by itself, so it is not listed
//!   (rewriting repeated queries as a definition shows no difference).
//! - **`remove`** directives show as their effect: the inherited clause is
//!   listed as removed, with the rule set whose `remove` dropped it.
//! - **Header** fields are compared for the rule set itself and for every
//!   rule set of its `extends` chain that both versions share.
//! - **Tests** (the rule set's own test blocks) are listed briefly by name:
//!   added, removed, or changed (date, records or expectations differ, as
//!   the test run reads them: keywords, field names and the order of records
//!   and expectations aside). They do not change what the rules decide, but
//!   they are part of the version.
//!
//! Output is deterministic: clauses in evaluation order (the new version's
//! for added and changed clauses, the old version's for removed ones),
//! constants by rule set (chain order) then name, tests by name.
//!
//! This module reads checked rule sets only; loading versions from files or
//! from the store is the caller's business (see `credit-rules diff`).

mod meaning;
mod text;

use crate::ast::{Clause, ClauseKind, Dialect, Duration, DurationUnit, Expr, RuleSetAst};
use crate::check::{CheckedClause, CheckedRuleSet, check};
use crate::diagnostic::Diagnostics;
use crate::ir::QueryDef;
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use meaning::Resolved;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Everything that differs between two versions of a rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSetDiff {
    /// The version compared from.
    pub old: VersionSummary,
    /// The version compared to.
    pub new: VersionSummary,
    /// Header fields that differ: the rule set's own first, then its bases'.
    pub header: Vec<HeaderChange>,
    /// Named constants added, removed or redefined anywhere in the chain.
    pub constants: Vec<ConstantChange>,
    /// Clauses of the effective rule set added, removed or changed.
    pub clauses: ClauseChanges,
    /// The rule set's own test blocks added, removed or changed.
    pub tests: TestChanges,
}

/// Which version a side of the diff is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionSummary {
    /// Rule-set id.
    pub id: String,
    /// Version label of the header.
    pub version: String,
    /// SHA-256 over the chain's texts, as reported with every evaluation.
    pub hash: String,
    /// The `extends` chain, base first, ending with the rule set itself.
    pub chain: Vec<ChainLink>,
}

/// One rule set of an `extends` chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    /// Rule-set id.
    pub id: String,
    /// Version label of its header.
    pub version: String,
    /// SHA-256 of its source text: the hash of a stored rule-set version.
    pub source_hash: String,
}

/// A header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderField {
    /// The rule-set id.
    Id,
    /// `title` (标题).
    Title,
    /// `sector` (行业).
    Sector,
    /// `version` (版本).
    Version,
    /// `effective` (生效日期).
    Effective,
    /// `unit` (责任单位).
    Unit,
    /// `basis` (依据).
    Basis,
    /// `extends` (继承).
    Extends,
    /// `total` (总分).
    Total,
    /// `rounding` (计分舍入), as `per_clause 2 half_up`.
    Rounding,
    /// `query_channel` lines (查询渠道), as `site [kinds]` joined by `；`.
    #[serde(rename = "query_channels")]
    QueryChannels,
    /// `query_day` (查询时点).
    #[serde(rename = "query_day")]
    QueryDay,
    /// `query_evidence` (查询留存).
    #[serde(rename = "query_evidence")]
    QueryEvidence,
    /// `commitment` (信用承诺).
    Commitment,
    /// `allow` lines (允许): the legality warnings the rule set accepts, each with its
    /// reason, as `code because “reason”` sorted by code and joined by `；`.
    Allowances,
    /// `note` (备注): internal, never printed in a tender document.
    Note,
}

/// A header field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderChange {
    /// The rule set whose header it is (the rule set itself, or a base).
    pub ruleset: String,
    /// Whether that is a base the rule set inherits from.
    pub inherited: bool,
    /// Which field.
    pub field: HeaderField,
    /// The old value (`None`: not given).
    pub old: Option<String>,
    /// The new value (`None`: not given).
    pub new: Option<String>,
}

/// Added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, different.
    Changed,
}

/// A named constant that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstantChange {
    /// Its name.
    pub name: String,
    /// The rule set that defines it.
    pub origin: String,
    /// Whether that is a base the rule set inherits from.
    pub inherited: bool,
    /// Added, removed or changed.
    pub change: Change,
    /// The old definition, canonically printed.
    pub old: Option<String>,
    /// The new definition, canonically printed.
    pub new: Option<String>,
    /// Clauses (of either version) that name it, in evaluation order.
    pub used_by: Vec<String>,
    /// A definition (`define`) rather than a constant.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub definition: bool,
}

/// The clause lists of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ClauseChanges {
    /// Clauses only the new version has.
    pub added: Vec<ClauseEntry>,
    /// Clauses only the old version has.
    pub removed: Vec<RemovedClause>,
    /// Clauses both have, with a different meaning or text fields.
    pub changed: Vec<ClauseChange>,
}

/// An added or removed clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseEntry {
    /// Clause id.
    pub id: String,
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// Declared mandatory.
    pub mandatory: bool,
    /// The rule set that defines it.
    pub origin: String,
    /// Whether that is a base the rule set inherits from.
    pub inherited: bool,
    /// The clause in canonical layout.
    pub text: String,
}

/// A clause the new version no longer has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedClause {
    /// The clause as it was.
    #[serde(flatten)]
    pub clause: ClauseEntry,
    /// The rule set of the new chain whose `remove` directive dropped it, if any
    /// (otherwise it was deleted from the rule set that defined it).
    pub removed_by: Option<String>,
}

/// A clause both versions have, changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseChange {
    /// Clause id.
    pub id: String,
    /// Its kind in the new version.
    pub kind: ClauseKind,
    /// The rule set that defines it in the new version.
    pub origin: String,
    /// Whether that is a base the rule set inherits from.
    pub inherited: bool,
    /// What changed, in the canonical field order.
    pub aspects: Vec<AspectChange>,
    /// Changed constants the clause uses (directly or through another constant).
    pub constants: Vec<String>,
    /// Unified diff of the canonical text; `None` when the text is the same
    /// (the meaning changed through a constant, or only the origin moved).
    pub text_diff: Option<String>,
}

/// One aspect of a clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aspect {
    /// Veto, score or flag.
    Kind,
    /// `mandatory` (强制).
    Mandatory,
    /// The rule set that defines the clause (a sector now overrides a base clause, or stops).
    Origin,
    /// `wording` (表述).
    Wording,
    /// `basis` (依据).
    Basis,
    /// `note` (备注): internal, never printed in a tender document.
    Note,
    /// `when` (条件) of a veto or flag.
    Condition,
    /// `points` (得分) of a score clause.
    Points,
    /// The `within` windows of the condition or points (近N年).
    Windows,
    /// `cap` (上限).
    Cap,
    /// `floor` (下限).
    Floor,
    /// `weight` (权重).
    Weight,
}

/// The value of an aspect on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AspectValue {
    /// Text: a kind, a number, a wording, an expression.
    Text(String),
    /// `mandatory`.
    Flag(bool),
    /// Windows, e.g. `["12 months", "3 years"]`.
    List(Vec<String>),
}

/// An aspect that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AspectChange {
    /// Which aspect.
    pub aspect: Aspect,
    /// The old value (`None`: absent).
    pub old: Option<AspectValue>,
    /// The new value (`None`: absent).
    pub new: Option<AspectValue>,
}

/// Test blocks by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TestChanges {
    /// Tests only the new version has.
    pub added: Vec<String>,
    /// Tests only the old version has.
    pub removed: Vec<String>,
    /// Tests whose date, records or expectations differ.
    pub changed: Vec<String>,
}

impl RuleSetDiff {
    /// True when the versions mean the same: no header, constant, clause or test differs.
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
            && self.constants.is_empty()
            && self.clauses.added.is_empty()
            && self.clauses.removed.is_empty()
            && self.clauses.changed.is_empty()
            && self.tests.added.is_empty()
            && self.tests.removed.is_empty()
            && self.tests.changed.is_empty()
    }

    /// Readable text for reviewers (bilingual headings, a unified diff per changed clause).
    pub fn render_text(&self) -> String {
        text::render(self)
    }
}

/// Why two versions could not be compared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiffError {
    /// The old version does not parse or check (e.g. its base is missing).
    #[error("the old version has errors")]
    Old(Diagnostics),
    /// The new version does not parse or check.
    #[error("the new version has errors")]
    New(Diagnostics),
}

impl DiffError {
    /// The problems, to show or to return as an API error.
    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            DiffError::Old(d) | DiffError::New(d) => d,
        }
    }
}

/// Compares two checked rule sets (each with its `extends` chain merged in).
pub fn diff(old: &CheckedRuleSet, new: &CheckedRuleSet) -> RuleSetDiff {
    let old = Side::new(old);
    let new = Side::new(new);
    let dialect = new.dialect();
    let constants = diff_constants(&old, &new, dialect);
    let changed_constants = changed_constant_names(&old, &new, &constants);
    RuleSetDiff {
        old: old.summary(),
        new: new.summary(),
        header: diff_headers(&old, &new),
        clauses: diff_clauses(&old, &new, dialect, &changed_constants),
        constants,
        tests: diff_tests(old.checked, new.checked),
    }
}

/// Checks rule set `old_id` of `old` and `new_id` of `new`, and compares them.
pub fn diff_workspaces(
    old: &Workspace,
    old_id: &str,
    new: &Workspace,
    new_id: &str,
) -> Result<RuleSetDiff, DiffError> {
    let old = check_in(old, old_id).map_err(DiffError::Old)?;
    let new = check_in(new, new_id).map_err(DiffError::New)?;
    Ok(diff(&old, &new))
}

/// Compares rule set `old_id` made of the rule files `old` (itself and the
/// rule sets it extends) with rule set `new_id` made of `new`: what the HTTP
/// layer calls with stored or submitted sources. Every file given must parse,
/// and no two of a side may declare the same rule-set id.
pub fn diff_sources(
    old: &[SourceFile],
    old_id: &str,
    new: &[SourceFile],
    new_id: &str,
) -> Result<RuleSetDiff, DiffError> {
    let old = workspace_of(old).map_err(DiffError::Old)?;
    let new = workspace_of(new).map_err(DiffError::New)?;
    diff_workspaces(&old, old_id, &new, new_id)
}

fn workspace_of(files: &[SourceFile]) -> Result<Workspace, Diagnostics> {
    let mut workspace = Workspace::new();
    for file in files {
        workspace.add_source(file.clone(), None);
    }
    if workspace.errors.has_errors() {
        return Err(workspace.errors);
    }
    Ok(workspace)
}

/// Checks `id`; when that fails, the workspace's syntax errors explain why
/// (a base that does not parse shows up as an unknown rule set).
fn check_in(workspace: &Workspace, id: &str) -> Result<CheckedRuleSet, Diagnostics> {
    check(&workspace.library, id).map_err(|mut d| {
        d.extend(workspace.errors.clone());
        d
    })
}

// ---------------------------------------------------------------------------
// One side: the checked rule set and the syntax trees of its chain
// ---------------------------------------------------------------------------

struct Side<'a> {
    checked: &'a CheckedRuleSet,
    /// The syntax tree of each file of the chain (same order as `checked.chain`).
    /// The files parsed when they were checked, so `None` cannot happen in practice.
    asts: Vec<Option<RuleSetAst>>,
}

impl<'a> Side<'a> {
    fn new(checked: &'a CheckedRuleSet) -> Self {
        let asts = checked
            .chain
            .iter()
            .map(|f| crate::syntax::parse(f).ok())
            .collect();
        Self { checked, asts }
    }

    fn leaf(&self) -> Option<&RuleSetAst> {
        self.asts.last().and_then(Option::as_ref)
    }

    fn dialect(&self) -> Dialect {
        self.leaf().map_or(Dialect::English, |a| a.dialect)
    }

    /// The chain's rule-set ids with their syntax trees, base first.
    fn chain(&self) -> impl Iterator<Item = (&str, &RuleSetAst)> {
        self.checked
            .chain_ids
            .iter()
            .zip(&self.asts)
            .filter_map(|(id, ast)| Some((id.as_str(), ast.as_ref()?)))
    }

    fn ast_of(&self, ruleset: &str) -> Option<&RuleSetAst> {
        self.chain().find(|(id, _)| *id == ruleset).map(|(_, a)| a)
    }

    /// The syntax of a checked clause: the clause of that id in the file it came from.
    fn clause_ast(&self, clause: &CheckedClause) -> Option<&Clause> {
        self.ast_of(&clause.origin)?
            .clauses()
            .find(|c| c.id.value == clause.id)
    }

    fn is_inherited(&self, origin: &str) -> bool {
        origin != self.checked.id
    }

    fn summary(&self) -> VersionSummary {
        let chain = self
            .checked
            .chain
            .iter()
            .zip(&self.checked.chain_ids)
            .zip(&self.asts)
            .map(|((file, id), ast)| ChainLink {
                id: id.clone(),
                version: ast
                    .as_ref()
                    .and_then(|a| a.header.version.as_ref())
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                source_hash: sha256_hex(&file.text),
            })
            .collect();
        VersionSummary {
            id: self.checked.id.clone(),
            version: self.checked.version.clone(),
            hash: crate::compile::version_id(&self.checked.chain),
            chain,
        }
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

fn header_values(h: &crate::ast::Header) -> [(HeaderField, Option<String>); 16] {
    let text = |v: &Option<crate::ast::Spanned<String>>| v.as_ref().map(|v| v.value.clone());
    [
        (HeaderField::Id, Some(h.id.value.clone())),
        (HeaderField::Title, text(&h.title)),
        (HeaderField::Sector, text(&h.sector)),
        (HeaderField::Version, text(&h.version)),
        (
            HeaderField::Effective,
            h.effective.as_ref().map(|d| d.value.to_string()),
        ),
        (HeaderField::Unit, text(&h.unit)),
        (HeaderField::Basis, text(&h.basis)),
        (HeaderField::Extends, text(&h.extends)),
        (
            HeaderField::Total,
            h.total.as_ref().map(|t| t.value.normalize().to_string()),
        ),
        (
            HeaderField::Rounding,
            h.rounding.as_ref().map(|r| {
                let p = r.value;
                let scope = if p.per_clause {
                    "per_clause"
                } else {
                    "on_total"
                };
                format!("{scope} {} {}", p.places, p.mode.keyword())
            }),
        ),
        (HeaderField::QueryChannels, channels_text(&h.channels)),
        (HeaderField::QueryDay, text(&h.query_day)),
        (HeaderField::QueryEvidence, text(&h.query_evidence)),
        (HeaderField::Commitment, text(&h.commitment)),
        (HeaderField::Allowances, allowances_text(&h.allowances)),
        (HeaderField::Note, text(&h.note)),
    ]
}

/// `W0507 because “…”；W0501 because “…”` sorted by code, or `None` without allowances.
fn allowances_text(allowances: &[crate::ast::Allowance]) -> Option<String> {
    let mut lines: Vec<String> = allowances
        .iter()
        .map(|a| format!("{} because “{}”", a.code.value, a.reason.value))
        .collect();
    lines.sort();
    (!lines.is_empty()).then(|| lines.join("；"))
}

/// `site [kind, kind]；site [kind]`, or `None` without channels.
fn channels_text(channels: &[crate::ast::Channel]) -> Option<String> {
    let lines: Vec<String> = channels
        .iter()
        .map(|c| {
            let kinds: Vec<&str> = c.kinds.iter().map(|k| k.value.as_str()).collect();
            format!("{} [{}]", c.site.value, kinds.join(", "))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("；"))
}

/// The rule set's own header (whatever its id), then each base both chains share.
fn diff_headers(old: &Side<'_>, new: &Side<'_>) -> Vec<HeaderChange> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (old.leaf(), new.leaf()) {
        compare_header(&new.checked.id, false, a, b, &mut out);
    }
    for (id, b) in new.chain() {
        if id == new.checked.id || id == old.checked.id {
            continue;
        }
        if let Some(a) = old.ast_of(id) {
            compare_header(id, true, a, b, &mut out);
        }
    }
    out
}

fn compare_header(
    ruleset: &str,
    inherited: bool,
    old: &RuleSetAst,
    new: &RuleSetAst,
    out: &mut Vec<HeaderChange>,
) {
    let pairs = header_values(&old.header)
        .into_iter()
        .zip(header_values(&new.header));
    for ((field, a), (_, b)) in pairs {
        if a != b {
            out.push(HeaderChange {
                ruleset: ruleset.to_string(),
                inherited,
                field,
                old: a,
                new: b,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// `(rank, defining rule set, name)` → (value, is it a definition), over the whole chain.
type ConstTable<'a> = BTreeMap<(usize, &'a str, &'a str), (&'a Expr, bool)>;

/// Every constant of a side, keyed by the position of its rule set in the
/// new chain (so the section reads base first; rule sets only the old chain
/// has come last), the rule set and the name.
fn constant_table<'a>(side: &'a Side<'_>, order: &[&str]) -> ConstTable<'a> {
    let mut table = BTreeMap::new();
    for (id, ast) in side.chain() {
        let rank = order.iter().position(|o| *o == id).unwrap_or(order.len());
        let named = ast
            .constants()
            .map(|c| (c, false))
            .chain(ast.definitions().map(|d| (d, true)));
        for (def, definition) in named {
            // A second definition of a name is an error `check` reports; keep the first.
            table
                .entry((rank, id, def.name.value.as_str()))
                .or_insert((&def.value, definition));
        }
    }
    table
}

fn diff_constants(old: &Side<'_>, new: &Side<'_>, dialect: Dialect) -> Vec<ConstantChange> {
    let order: Vec<&str> = new.checked.chain_ids.iter().map(String::as_str).collect();
    let before = constant_table(old, &order);
    let after = constant_table(new, &order);
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).copied().collect();
    let mut out = Vec::new();
    for key in keys {
        let (a, b) = (before.get(&key).copied(), after.get(&key).copied());
        let definition = a.or(b).is_some_and(|(_, d)| d);
        let change = match (a, b) {
            // A definition added or dropped changes no clause by itself (a
            // clause that starts or stops using it shows as changed, if its
            // meaning does); only a definition given a new value is listed.
            (Some(_), None) | (None, Some(_)) if definition => continue,
            (Some(_), None) => Change::Removed,
            (None, Some(_)) => Change::Added,
            (Some((x, _)), Some((y, _))) if !same_syntax(x, y) => Change::Changed,
            _ => continue,
        };
        let (a, b) = (a.map(|(e, _)| e), b.map(|(e, _)| e));
        let (_, origin, name) = key;
        let print = |v: Option<&Expr>| v.map(|e| crate::fmt::format_expr(e, dialect));
        out.push(ConstantChange {
            name: name.to_string(),
            origin: origin.to_string(),
            inherited: old.is_inherited(origin) && new.is_inherited(origin),
            used_by: clauses_naming(name, old, new),
            definition,
            change,
            old: print(a),
            new: print(b),
        });
    }
    out
}

fn same_syntax(a: &Expr, b: &Expr) -> bool {
    crate::fmt::unspanned::expr(a) == crate::fmt::unspanned::expr(b)
}

/// Ids of the clauses of either version that name `name`, new order first.
fn clauses_naming(name: &str, old: &Side<'_>, new: &Side<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for side in [new, old] {
        for clause in &side.checked.clauses {
            let names = side.clause_ast(clause).map(names_in_clause);
            if names.is_some_and(|n| n.contains(name)) && !out.contains(&clause.id) {
                out.push(clause.id.clone());
            }
        }
    }
    out
}

/// The names of changed constants, plus (transitively) those whose
/// definition names one of them: a clause using either has changed through
/// a constant.
fn changed_constant_names(
    old: &Side<'_>,
    new: &Side<'_>,
    changes: &[ConstantChange],
) -> BTreeSet<String> {
    let mut changed: BTreeSet<String> = changes.iter().map(|c| c.name.clone()).collect();
    let definitions: Vec<(&str, BTreeSet<&str>)> = [old, new]
        .iter()
        .flat_map(|side| side.chain().map(|(_, ast)| ast).collect::<Vec<_>>())
        .flat_map(|ast| ast.constants().chain(ast.definitions()))
        .map(|def| (def.name.value.as_str(), names_in(&def.value)))
        .collect();
    // Each round adds at least one name or stops, so this ends.
    loop {
        let grown: Vec<&str> = definitions
            .iter()
            .filter(|(name, uses)| {
                !changed.contains(*name) && uses.iter().any(|u| changed.contains(*u))
            })
            .map(|(name, _)| *name)
            .collect();
        if grown.is_empty() {
            return changed;
        }
        changed.extend(grown.into_iter().map(str::to_string));
    }
}

/// Every name an expression mentions (constants, fields, kinds …), tables' values included.
fn names_in(expr: &Expr) -> BTreeSet<&str> {
    expr.names()
}

/// Every name the clause's expressions (its `let`s included) mention.
fn names_in_clause(clause: &Clause) -> BTreeSet<&str> {
    clause.expressions().flat_map(Expr::names).collect()
}

// ---------------------------------------------------------------------------
// Clauses
// ---------------------------------------------------------------------------

fn diff_clauses(
    old: &Side<'_>,
    new: &Side<'_>,
    dialect: Dialect,
    changed_constants: &BTreeSet<String>,
) -> ClauseChanges {
    fn find<'s>(side: &'s Side<'_>, id: &str) -> Option<&'s CheckedClause> {
        side.checked.clauses.iter().find(|c| c.id == id)
    }
    let mut out = ClauseChanges::default();
    for clause in &new.checked.clauses {
        match find(old, &clause.id) {
            None => out.added.push(entry(new, clause, dialect)),
            Some(before) => {
                let change = compare_clause(old, before, new, clause, dialect, changed_constants);
                out.changed.extend(change);
            }
        }
    }
    for clause in &old.checked.clauses {
        if find(new, &clause.id).is_none() {
            out.removed.push(RemovedClause {
                clause: entry(old, clause, dialect),
                removed_by: remover(new, &clause.id),
            });
        }
    }
    out
}

fn entry(side: &Side<'_>, clause: &CheckedClause, dialect: Dialect) -> ClauseEntry {
    ClauseEntry {
        id: clause.id.clone(),
        kind: clause.kind,
        mandatory: clause.mandatory,
        origin: clause.origin.clone(),
        inherited: side.is_inherited(&clause.origin),
        text: canonical_text(side, clause, dialect),
    }
}

fn canonical_text(side: &Side<'_>, clause: &CheckedClause, dialect: Dialect) -> String {
    side.clause_ast(clause)
        .map(|c| crate::fmt::format_clause(c, dialect))
        .unwrap_or_default()
}

/// The rule set of `side`'s chain whose `remove` directive names `id`.
fn remover(side: &Side<'_>, id: &str) -> Option<String> {
    side.chain()
        .find(|(_, ast)| ast.removals().any(|r| r.value == id))
        .map(|(ruleset, _)| ruleset.to_string())
}

/// One version of a clause, with what is needed to read it.
struct ClauseView<'a> {
    checked: &'a CheckedClause,
    syntax: Option<&'a Clause>,
    queries: &'a [QueryDef],
}

impl ClauseView<'_> {
    fn resolved(&self) -> Resolved<'_> {
        Resolved::new(&self.checked.expr, self.queries)
    }

    /// The source expression of `when` (veto, flag) or `points` (score).
    fn expression(&self, aspect: Aspect) -> Option<&Expr> {
        let syntax = self.syntax?;
        match aspect {
            Aspect::Condition => syntax.when.as_ref(),
            _ => syntax.points.as_ref(),
        }
    }

    /// Which aspect the clause's expression is.
    fn expression_aspect(&self) -> Aspect {
        match self.checked.kind {
            ClauseKind::Score => Aspect::Points,
            ClauseKind::Veto | ClauseKind::Flag => Aspect::Condition,
        }
    }
}

fn compare_clause(
    old_side: &Side<'_>,
    old: &CheckedClause,
    new_side: &Side<'_>,
    new: &CheckedClause,
    dialect: Dialect,
    changed_constants: &BTreeSet<String>,
) -> Option<ClauseChange> {
    let a = ClauseView {
        checked: old,
        syntax: old_side.clause_ast(old),
        queries: &old_side.checked.queries,
    };
    let b = ClauseView {
        checked: new,
        syntax: new_side.clause_ast(new),
        queries: &new_side.checked.queries,
    };
    let aspects = changed_aspects(&a, &b, dialect);
    if aspects.is_empty() {
        return None;
    }
    let old_text = canonical_text(old_side, old, dialect);
    let new_text = canonical_text(new_side, new, dialect);
    let (names_a, names_b) = (
        a.syntax.map(names_in_clause).unwrap_or_default(),
        b.syntax.map(names_in_clause).unwrap_or_default(),
    );
    let constants = names_a
        .union(&names_b)
        .filter(|n| changed_constants.contains(**n))
        .map(|n| n.to_string())
        .collect();
    Some(ClauseChange {
        id: new.id.clone(),
        kind: new.kind,
        origin: new.origin.clone(),
        inherited: new_side.is_inherited(&new.origin),
        aspects,
        constants,
        text_diff: (old_text != new_text).then(|| unified_diff(&old_text, &new_text)),
    })
}

fn changed_aspects(a: &ClauseView<'_>, b: &ClauseView<'_>, dialect: Dialect) -> Vec<AspectChange> {
    let (x, y) = (a.checked, b.checked);
    let text = |s: &str| Some(AspectValue::Text(s.to_string()));
    let opt_text = |s: &Option<String>| s.as_deref().and_then(text);
    let number = |n: Option<Decimal>| n.and_then(|n| text(&n.normalize().to_string()));
    let mut out = Vec::new();
    let mut push = |aspect, old: Option<AspectValue>, new: Option<AspectValue>| {
        if old != new {
            out.push(AspectChange { aspect, old, new });
        }
    };
    push(Aspect::Kind, text(x.kind.keyword()), text(y.kind.keyword()));
    push(
        Aspect::Mandatory,
        Some(AspectValue::Flag(x.mandatory)),
        Some(AspectValue::Flag(y.mandatory)),
    );
    push(Aspect::Origin, text(&x.origin), text(&y.origin));
    push(Aspect::Wording, opt_text(&x.wording), opt_text(&y.wording));
    push(Aspect::Basis, opt_text(&x.basis), opt_text(&y.basis));
    push(Aspect::Note, opt_text(&x.note), opt_text(&y.note));
    out.extend(expression_changes(a, b, dialect));
    let mut push = |aspect, old: Option<AspectValue>, new: Option<AspectValue>| {
        if old != new {
            out.push(AspectChange { aspect, old, new });
        }
    };
    push(Aspect::Cap, number(x.cap), number(y.cap));
    push(Aspect::Floor, number(x.floor), number(y.floor));
    push(
        Aspect::Weight,
        number(Some(x.weight)),
        number(Some(y.weight)),
    );
    out
}

/// Condition or points (and their windows), compared with names and constants resolved.
fn expression_changes(
    a: &ClauseView<'_>,
    b: &ClauseView<'_>,
    dialect: Dialect,
) -> Vec<AspectChange> {
    let (role_a, role_b) = (a.expression_aspect(), b.expression_aspect());
    if role_a == role_b && a.resolved().same_as(b.resolved()) {
        return Vec::new();
    }
    let print = |v: &ClauseView<'_>, aspect: Aspect| {
        v.expression(aspect)
            .map(|e| AspectValue::Text(crate::fmt::format_expr(e, dialect)))
    };
    let mut out = Vec::new();
    for aspect in [Aspect::Condition, Aspect::Points] {
        let old = (role_a == aspect).then(|| print(a, aspect)).flatten();
        let new = (role_b == aspect).then(|| print(b, aspect)).flatten();
        if role_a == aspect || role_b == aspect {
            out.push(AspectChange { aspect, old, new });
        }
    }
    let windows = |v: &ClauseView<'_>| v.resolved().windows();
    let (wa, wb) = (windows(a), windows(b));
    if wa != wb {
        let list = |w: Vec<Duration>| Some(AspectValue::List(w.iter().map(window_text).collect()));
        out.push(AspectChange {
            aspect: Aspect::Windows,
            old: list(wa),
            new: list(wb),
        });
    }
    out
}

/// `3 years`, `1 month`, `90 days`.
pub(crate) fn window_text(d: &Duration) -> String {
    let unit = match (d.unit, d.amount == 1) {
        (DurationUnit::Years, true) => "year",
        (DurationUnit::Years, false) => "years",
        (DurationUnit::Months, true) => "month",
        (DurationUnit::Months, false) => "months",
        (DurationUnit::Days, true) => "day",
        (DurationUnit::Days, false) => "days",
    };
    format!("{} {unit}", d.amount)
}

fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("old", "new")
        .to_string()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

fn diff_tests(old: &CheckedRuleSet, new: &CheckedRuleSet) -> TestChanges {
    let by_name = |set: &CheckedRuleSet| {
        let mut map = BTreeMap::new();
        for t in &set.tests {
            map.entry(t.name.value.clone())
                .or_insert_with(|| TestMeaning::of(t));
        }
        map
    };
    let (before, after) = (by_name(old), by_name(new));
    let mut out = TestChanges::default();
    for (name, test) in &after {
        match before.get(name) {
            None => out.added.push(name.clone()),
            Some(t) if t != test => out.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    out.removed = before
        .keys()
        .filter(|n| !after.contains_key(*n))
        .cloned()
        .collect();
    out
}

/// What a test block says, whatever its keywords and field names: its date,
/// its records as built for the run (by id), and its expectations (as a set).
#[derive(PartialEq)]
struct TestMeaning {
    as_of: Option<chrono::NaiveDate>,
    records: Vec<Result<crate::record::CreditRecord, crate::ast::TestRecord>>,
    expects: Vec<String>,
}

impl TestMeaning {
    fn of(test: &crate::ast::TestBlock) -> Self {
        let bare = crate::fmt::unspanned::test(test);
        let mut records: Vec<_> = test
            .records
            .iter()
            .zip(bare.records)
            // A record the run cannot build (a check error) is compared as written.
            .map(|(r, written)| crate::testing::build_record(r).map_err(|_| written))
            .collect();
        records.sort_by(|a, b| record_id(a).cmp(record_id(b)));
        let mut expects: Vec<String> = test
            .expects
            .iter()
            .map(|e| expectation_key(&e.value))
            .collect();
        expects.sort();
        Self {
            as_of: test.as_of.as_ref().map(|d| d.value),
            records,
            expects,
        }
    }
}

/// An expectation as a sortable key; `1.0` points expect the same as `1`.
fn expectation_key(e: &crate::ast::Expectation) -> String {
    use crate::ast::Expectation as E;
    match e {
        E::Total(n) => format!("{:?}", E::Total(n.normalize())),
        E::Points(id, n) => format!("{:?}", E::Points(id.clone(), n.normalize())),
        other => format!("{other:?}"),
    }
}

fn record_id(r: &Result<crate::record::CreditRecord, crate::ast::TestRecord>) -> &str {
    match r {
        Ok(record) => &record.id,
        Err(written) => &written.id.value,
    }
}

#[cfg(test)]
mod tests;
