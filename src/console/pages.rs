//! Page models of the console, one askama template each (`templates/console/*.html`, all
//! extending `console/layout.html`). Values are HTML-escaped by askama; a page that holds a
//! form carries the session's CSRF token.

use super::CONSOLE_STYLESHEET;
use crate::site::pages::{FAVICON_VERSION, STYLESHEET_VERSION, asset_version};
use askama::Template;
use std::sync::LazyLock;

/// Version of [`CONSOLE_STYLESHEET`] (the `?v=` of its URL).
pub static CONSOLE_STYLESHEET_VERSION: LazyLock<String> =
    LazyLock::new(|| asset_version(CONSOLE_STYLESHEET));

/// Who is signed in, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The token holder's name, e.g. 市水务局.
    pub name: String,
    /// The role code: `city_office`, `bureau`, `evaluator`, `intake`.
    pub role: String,
    /// A bureau's sector.
    pub sector: Option<String>,
}

impl Staff {
    /// The role in Chinese.
    pub fn role_label(&self) -> String {
        role_label(&self.role, self.sector.as_deref())
    }
}

/// A role code in Chinese, with the sector of a bureau.
pub fn role_label(role: &str, sector: Option<&str>) -> String {
    match role {
        "city_office" => "市公管局".to_owned(),
        "bureau" => format!("行业主管部门（{}）", sector.unwrap_or("未指定行业")),
        "evaluator" => "评标系统".to_owned(),
        "intake" => "信用信息归集".to_owned(),
        other => other.to_owned(),
    }
}

/// One entry of the console's navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it leads.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the current section.
    pub current: bool,
}

/// The console's sections and the roles that see them.
const SECTIONS: &[(&str, &str, &str, &[&str])] = &[
    (
        "home",
        "/console",
        "工作台",
        &["city_office", "bureau", "evaluator", "intake"],
    ),
    (
        "rulesets",
        "/console/rulesets",
        "规则集",
        &["city_office", "bureau", "evaluator"],
    ),
    (
        "drafts",
        "/console/drafts",
        "草稿与审核",
        &["city_office", "bureau"],
    ),
    (
        "evaluate",
        "/console/evaluate",
        "信用评价",
        &["city_office", "bureau", "evaluator"],
    ),
    ("ops", "/console/ops", "运行管理", &["city_office"]),
];

/// The navigation a role sees, with `current` marked.
pub fn nav_for(role: &str, current: &str) -> Vec<NavItem> {
    SECTIONS
        .iter()
        .filter(|(_, _, _, roles)| roles.contains(&role))
        .map(|(key, href, label, _)| NavItem {
            href,
            label,
            current: *key == current,
        })
        .collect()
}

/// What every console page shares.
#[derive(Debug, Clone)]
pub struct ConsoleLayout {
    /// The `<title>` and usually the page's `<h1>`.
    pub title: String,
    /// Navigation entries (empty before signing in).
    pub nav: Vec<NavItem>,
    /// The signed-in staff member, if any.
    pub staff: Option<Staff>,
    /// The session's CSRF token (empty before signing in).
    pub csrf: String,
    /// Whether the page loads the rule editor's script and stylesheet.
    pub editor: bool,
    /// URL of the rule editor's stylesheet (with its content hash).
    pub editor_css_href: String,
    /// URL of the rule editor's script (with its content hash).
    pub editor_js_href: String,
    /// URL of the site's stylesheet.
    pub css_href: String,
    /// URL of the console's stylesheet.
    pub console_css_href: String,
    /// URL of the icon.
    pub icon_href: String,
}

impl ConsoleLayout {
    /// The layout of a page for `staff` (or of the sign-in page when `None`).
    pub fn new(
        title: impl Into<String>,
        section: &str,
        staff: Option<Staff>,
        csrf: impl Into<String>,
    ) -> ConsoleLayout {
        let nav = staff
            .as_ref()
            .map(|s| nav_for(&s.role, section))
            .unwrap_or_default();
        ConsoleLayout {
            title: title.into(),
            nav,
            staff,
            csrf: csrf.into(),
            editor: false,
            editor_css_href: super::editor::editor_stylesheet_href(),
            editor_js_href: super::editor::editor_script_href(),
            css_href: format!("/assets/site.css?v={}", *STYLESHEET_VERSION),
            console_css_href: format!("/assets/console.css?v={}", *CONSOLE_STYLESHEET_VERSION),
            icon_href: format!("/assets/favicon.svg?v={}", *FAVICON_VERSION),
        }
    }

    /// The same layout, loading the rule editor.
    pub fn with_editor(mut self) -> ConsoleLayout {
        self.editor = true;
        self
    }
}

/// `/console/signin`: the token form.
#[derive(Template)]
#[template(path = "console/signin.html")]
pub struct SignInPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// A note shown above the form (e.g. after logging out or when a session expired).
    pub notice: Option<String>,
}

/// A task on the console's home page.
#[derive(Debug, Clone)]
pub struct Task {
    /// Where it leads.
    pub href: String,
    /// What it is.
    pub label: String,
    /// One line on it.
    pub help: String,
}

/// `/console`: what the signed-in role can do.
#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// The role's tasks.
    pub tasks: Vec<Task>,
    /// How long the session still lasts, e.g. `2026-12-03 20:15`.
    pub expires: String,
}

/// The tasks of a role (the home page and the README's summary say the same).
pub fn tasks_for(staff: &Staff) -> Vec<Task> {
    let task = |href: &str, label: &str, help: &str| Task {
        href: href.to_owned(),
        label: label.to_owned(),
        help: help.to_owned(),
    };
    let mut tasks = Vec::new();
    if matches!(staff.role.as_str(), "city_office" | "bureau" | "evaluator") {
        tasks.push(task(
            "/console/rulesets",
            "查看规则集",
            "生效版本、招标文件条款、源文本、版本历史和任意两个版本的差异。",
        ));
    }
    match staff.role.as_str() {
        "bureau" => tasks.push(task(
            "/console/rulesets",
            "编写规则（起草新版本）",
            "在本行业的规则集上起草新版本：实时检查、运行测试、预览条款，提交市公管局审核。",
        )),
        "city_office" => tasks.push(task(
            "/console/drafts",
            "审核草稿",
            "待审核的草稿：差异、影响分析，批准或驳回（须填写意见）。",
        )),
        _ => {}
    }
    if staff.role == "bureau" {
        tasks.push(task(
            "/console/drafts",
            "我的草稿",
            "本行业草稿的审核状态和意见。",
        ));
    }
    if matches!(staff.role.as_str(), "city_office" | "bureau" | "evaluator") {
        tasks.push(task(
            "/console/evaluate",
            "信用评价",
            "按规则集、版本和日期评价一个主体或一次招标的投标人。",
        ));
    }
    if staff.role == "city_office" {
        tasks.push(task(
            "/console/ops",
            "运行管理",
            "评价记录查询、主体信用记录、归集状态和令牌管理。",
        ));
    }
    tasks
}

/// `/console/rulesets/{id}/draft`: the authoring page. Without JavaScript it is a plain form
/// that submits the draft; the rule editor (`/assets/console/editor.js`) enhances the
/// `textarea[data-editor]` with highlighting, live diagnostics, tests and a preview.
#[derive(Template)]
#[template(path = "console/author.html")]
pub struct AuthorPage {
    /// Layout (with the editor).
    pub layout: ConsoleLayout,
    /// The rule set's id.
    pub ruleset: String,
    /// Its title, when it exists.
    pub ruleset_title: String,
    /// The hash of the active version the text starts from; empty for a new rule set.
    pub base: String,
    /// The text in the editor.
    pub source: String,
    /// The submission message typed so far.
    pub message: String,
    /// The activation day typed so far (YYYY-MM-DD or empty).
    pub activate_on: String,
    /// Earliest activation day (today, Asia/Shanghai).
    pub today: String,
    /// Why the last submission was refused, with the checker's messages.
    pub error: Option<String>,
    /// The checker's messages of a refused submission, one per entry.
    pub diagnostics: Vec<String>,
    /// Whether the page started from the active version (else: from scratch).
    pub from_active: bool,
}

impl AuthorPage {
    /// The first 12 digits of the base version's hash.
    pub fn base_short(&self) -> &str {
        self.base.get(..12).unwrap_or(&self.base)
    }
}

/// A console page for a failure.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ConsoleErrorPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// The HTTP status.
    pub status: u16,
    /// What happened.
    pub message: String,
    /// What to do.
    pub fix: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: &str, sector: Option<&str>) -> Staff {
        Staff {
            name: "x".into(),
            role: role.into(),
            sector: sector.map(String::from),
        }
    }

    #[test]
    fn each_role_sees_its_own_sections() {
        let labels =
            |role: &str| -> Vec<&str> { nav_for(role, "home").iter().map(|n| n.label).collect() };
        assert_eq!(
            labels("city_office"),
            ["工作台", "规则集", "草稿与审核", "信用评价", "运行管理"]
        );
        assert_eq!(
            labels("bureau"),
            ["工作台", "规则集", "草稿与审核", "信用评价"]
        );
        assert_eq!(labels("intake"), ["工作台"]);
        assert!(
            nav_for("bureau", "drafts")
                .iter()
                .any(|n| n.current && n.href == "/console/drafts")
        );
    }

    #[test]
    fn tasks_follow_the_role() {
        let bureau = tasks_for(&staff("bureau", Some("水务")));
        assert!(bureau.iter().any(|t| t.label.contains("编写规则")));
        assert!(!bureau.iter().any(|t| t.href == "/console/ops"));
        let office = tasks_for(&staff("city_office", None));
        assert!(office.iter().any(|t| t.label == "审核草稿"));
        assert!(office.iter().any(|t| t.href == "/console/ops"));
        assert_eq!(
            staff("bureau", Some("水务")).role_label(),
            "行业主管部门（水务）"
        );
    }
}
