//! Page models of the rule-set pages: the list, one rule set (rendered tender clauses,
//! highlighted source, version history with approvers) and the diff of two versions.

use super::pages::ConsoleLayout;
use super::review::DiffView;
use askama::Template;

/// One row of the rule-set list.
#[derive(Debug, Clone)]
pub struct RuleSetRow {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Sector (— for the city base).
    pub sector: String,
    /// The active version's label and short hash.
    pub version: String,
    /// When the active version was saved (Beijing time), or —.
    pub changed: String,
    /// Who saved it.
    pub author: String,
    /// Whether the viewer may draft a new version.
    pub editable: bool,
}

/// `/console/rulesets`.
#[derive(Template)]
#[template(path = "console/rulesets.html")]
pub struct RuleSetsPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Every rule set.
    pub rows: Vec<RuleSetRow>,
}

/// One published version.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Version id (source hash).
    pub hash: String,
    /// Its first 12 digits.
    pub short: String,
    /// When (Beijing time).
    pub time: String,
    /// Who published it (the draft's author for reviewed versions).
    pub author: String,
    /// Why.
    pub message: String,
    /// Who approved it, with the comment.
    pub approver: String,
    /// Whether it is the active one.
    pub active: bool,
}

/// `/console/rulesets/{id}`.
#[derive(Template)]
#[template(path = "console/ruleset.html")]
pub struct RuleSetPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Id.
    pub id: String,
    /// Sector.
    pub sector: String,
    /// Version label.
    pub version: String,
    /// The rendered tender clauses (HTML from `render`, every text escaped there).
    pub clauses_html: String,
    /// The source, one highlighted HTML line each.
    pub source_lines: Vec<String>,
    /// Version history, newest first.
    pub versions: Vec<VersionRow>,
    /// Whether the viewer may draft a new version.
    pub editable: bool,
}

/// `/console/rulesets/{id}/diff`.
#[derive(Template)]
#[template(path = "console/ruleset_diff.html")]
pub struct VersionDiffPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Rule-set id.
    pub id: String,
    /// The diff.
    pub d: DiffView,
}
