//! Page models of the city office's operations pages: the overview (intake cursors, pending
//! events, the last rejected rows with their reasons), and token management
//! (create, rotate, revoke tokens of every role and every sector bureau; a new plain token
//! is shown once).

use super::pages::ConsoleLayout;
use askama::Template;

/// One configured token, without its secret.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Fingerprint (first 12 hex digits of its hash).
    pub fingerprint: String,
    /// Holder.
    pub name: String,
    /// Role in Chinese.
    pub role: String,
    /// Sector of a bureau.
    pub sector: String,
}

/// A plain token just made, shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// What happened, e.g. 已创建.
    pub what: String,
    /// Holder.
    pub name: String,
    /// The token.
    pub plain: String,
}

/// A sector a bureau token may be made for, with whether one exists.
#[derive(Debug, Clone)]
pub struct SectorOption {
    /// The sector as rule-set headers spell it.
    pub sector: String,
    /// Whether some bureau token has it.
    pub covered: bool,
}

/// `/console/ops/tokens`.
#[derive(Template)]
#[template(path = "console/tokens.html")]
pub struct TokensPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Every token.
    pub rows: Vec<TokenRow>,
    /// The sectors of the rule sets.
    pub sectors: Vec<SectorOption>,
    /// A token just made or rotated.
    pub new_token: Option<NewToken>,
    /// What was just done (revoked), or why it failed.
    pub notice: String,
    /// Whether `notice` is an error.
    pub failed: bool,
    /// The token file, when there is one (else tokens cannot be changed here).
    pub file: String,
}

/// A link on the operations overview.
#[derive(Debug, Clone)]
pub struct OpsLink {
    /// Where.
    pub href: &'static str,
    /// What.
    pub label: &'static str,
    /// One line.
    pub help: &'static str,
}

/// `/console/ops`.
#[derive(Template)]
#[template(path = "console/ops.html")]
pub struct OpsPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Sections.
    pub links: Vec<OpsLink>,
    /// Intake cursors: name, value.
    pub cursors: Vec<(String, String)>,
    /// Records waiting for an event (pending events).
    pub pending_events: String,
    /// The last rows intake refused, newest first.
    pub rejected: Vec<RejectedRow>,
    /// How many the list keeps.
    pub rejected_kept: usize,
}

/// A row intake refused.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    /// When (Beijing time).
    pub time: String,
    /// Where it came from (sync page, import file and line, push).
    pub source: String,
    /// The row's id, or empty.
    pub id: String,
    /// The row's USCC as written, or empty.
    pub uscc: String,
    /// Why, as printed by the command.
    pub reason: String,
}
