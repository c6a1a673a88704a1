//! The browser editor's calls (staff console, authoring page): check a draft's text while it
//! is typed, run its tests, preview its tender clauses — all without saving anything — and
//! the editor's embedded assets (script, style sheet, the grammar's keyword table).
//!
//! The JSON calls authenticate like every API route (the [`Caller`] extractor: a bearer token,
//! or the console's session with its CSRF header) and take the same role checks as
//! submitting a draft: the city office any rule set, a bureau only its own sector's (another
//! sector's: 403); evaluators and intake: 403. A draft that does not check is an answer, not
//! an error, for `check` (200 with its diagnostics); `tests` and `preview` answer it with
//! 422 `ruleset_invalid` carrying the same diagnostics. Every call runs off the async
//! workers under the check budget ([`super::CHECK_TIME_BUDGET`]).

use super::auth::{Caller, Role};
use super::error::{ApiError, AppJson};
use super::protect::cached;
use super::{AppState, blocking_within};
use crate::authoring::{self, AuthoringError, Checked, Placed, TestReport};
use crate::console::editor::{EDITOR_SCRIPT, EDITOR_STYLESHEET};
use crate::diagnostic::DiagnosticJson;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The editor's routes: `(method, path)`.
pub const AUTHORING_ROUTES: &[(&str, &str)] = &[
    ("post", "/console/api/rulesets/{id}/check"),
    ("post", "/console/api/rulesets/{id}/tests"),
    ("post", "/console/api/rulesets/{id}/preview"),
    ("get", "/assets/console/editor.js"),
    ("get", "/assets/console/editor.css"),
    ("get", "/assets/console/keywords.json"),
];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The text being edited.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRequest {
    /// The whole source text.
    pub source: String,
    /// `meta.hash` of the version the edit started from (empty or absent: a new rule set, or
    /// not known); the answer says whether it is still the active version.
    #[serde(default)]
    pub base_hash: Option<String>,
}

/// The answer to a check.
#[derive(Debug, Serialize)]
pub struct CheckResponse {
    /// The rule set.
    pub ruleset: String,
    /// Number of errors (0: the draft can be submitted).
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Every problem, the draft's own first, in text order.
    pub diagnostics: Vec<Placed>,
    /// `meta.hash` of the version in force (absent: a new rule set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_hash: Option<String>,
    /// When `base_hash` was given: is it still the version in force? (If not, submitting
    /// fails with 409: someone else's version went live meanwhile.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_is_current: Option<bool>,
}

/// The answer to running the tests.
#[derive(Debug, Serialize)]
pub struct TestsResponse {
    /// The rule set.
    pub ruleset: String,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Every test block, in file order.
    pub tests: Vec<TestReport>,
    /// Warnings of the draft (it has no errors, or the tests would not have run).
    pub diagnostics: Vec<Placed>,
}

/// The answer to a preview.
#[derive(Debug, Serialize)]
pub struct PreviewResponse {
    /// The rule set.
    pub ruleset: String,
    /// The tender clauses as an HTML fragment (`<article class="cr-document">`; every text
    /// escaped, no script or style).
    pub html: String,
}

/// `POST /console/api/rulesets/{id}/check`: the draft's diagnostics.
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<SourceRequest>, ApiError>,
) -> Result<AppJson<CheckResponse>, ApiError> {
    with_checked_draft(state, caller, id, body, |state, id, request, checked| {
        let active_hash = state.registry.head_hash(&id);
        let base_is_current = request
            .base_hash
            .filter(|b| !b.is_empty())
            .map(|base| active_hash.as_deref() == Some(base.as_str()));
        Ok(AppJson(CheckResponse {
            ruleset: id,
            errors: checked.errors(),
            warnings: checked.warnings(),
            diagnostics: checked.diagnostics,
            active_hash,
            base_is_current,
        }))
    })
    .await
}

/// `POST /console/api/rulesets/{id}/tests`: runs the draft's test blocks.
pub async fn tests(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<SourceRequest>, ApiError>,
) -> Result<AppJson<TestsResponse>, ApiError> {
    with_checked_draft(state, caller, id, body, |_, id, _, checked| {
        let tests = authoring::run_tests(&checked).map_err(|e| refused(&id, e))?;
        let passed = tests.iter().filter(|t| t.passed).count();
        Ok(AppJson(TestsResponse {
            ruleset: id,
            passed,
            failed: tests.len() - passed,
            tests,
            diagnostics: checked.diagnostics,
        }))
    })
    .await
}

/// `POST /console/api/rulesets/{id}/preview`: the draft's tender clauses.
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<SourceRequest>, ApiError>,
) -> Result<AppJson<PreviewResponse>, ApiError> {
    with_checked_draft(state, caller, id, body, |_, id, _, checked| {
        let html = authoring::preview(&checked).map_err(|e| refused(&id, e))?;
        Ok(AppJson(PreviewResponse { ruleset: id, html }))
    })
    .await
}

/// `GET /assets/console/editor.js`.
pub async fn script(headers: HeaderMap) -> Response {
    cached(
        &headers,
        "text/javascript; charset=utf-8",
        IMMUTABLE,
        EDITOR_SCRIPT,
    )
}

/// `GET /assets/console/editor.css`.
pub async fn stylesheet(headers: HeaderMap) -> Response {
    cached(
        &headers,
        "text/css; charset=utf-8",
        IMMUTABLE,
        EDITOR_STYLESHEET,
    )
}

/// `GET /assets/console/keywords.json`: the grammar's keyword table
/// ([`crate::syntax::keywords`]); revalidated (ETag) rather than cached for a year, since its
/// URL carries no version.
pub async fn keywords(headers: HeaderMap) -> Response {
    static BODY: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string(crate::syntax::keywords::table()).unwrap_or_else(|_| "{}".into())
    });
    cached(
        &headers,
        "application/json",
        "public, no-cache",
        BODY.as_str(),
    )
}

/// The city office may check any rule set; a bureau only one of its own sector (a new rule
/// set's sector is checked when it is submitted).
/// What the three editor calls share: the rule-set id and the caller checked, the body read,
/// then `answer` run on the draft checked against the rule sets in force, off the async
/// workers and within the checker's time budget.
async fn with_checked_draft<T: Send + 'static>(
    state: AppState,
    caller: Caller,
    id: String,
    body: Result<AppJson<SourceRequest>, ApiError>,
    answer: impl FnOnce(&AppState, String, SourceRequest, Checked) -> Result<T, ApiError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    super::rulesets::check_ruleset_id(&id)?;
    let AppJson(request) = body?;
    authorize(&state, &caller, &id)?;
    let budget = state.check_budget;
    blocking_within(budget, move || {
        let checked = check_draft(&state, &id, &request.source);
        answer(&state, id, request, checked)
    })
    .await
}

fn authorize(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    caller.require(&[Role::CityOffice, Role::Bureau])?;
    if let Some(current) = state.registry.get(id) {
        caller.may_edit_sector(current.meta.sector.as_deref())?;
    }
    Ok(())
}

fn check_draft(state: &AppState, id: &str, source: &str) -> Checked {
    authoring::check(&state.registry.sources(), id, source)
}

fn refused(id: &str, e: AuthoringError) -> ApiError {
    let detail = e.to_string();
    match e {
        AuthoringError::Invalid(diagnostics) => {
            let mut error =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "ruleset_invalid", detail);
            let file = authoring::draft_file_name(id);
            error.diagnostics = diagnostics.iter().map(|d| as_json(d, &file)).collect();
            error
        }
        AuthoringError::OutOfTime(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "tests_out_of_time",
            format!("{detail}; run them with `credit-rules test`"),
        ),
    }
}

/// A placed diagnostic in the API's diagnostic shape (the problem's `diagnostics`).
fn as_json(d: &Placed, draft: &str) -> DiagnosticJson {
    DiagnosticJson {
        severity: d.severity,
        code: d.code,
        message: d.message.clone(),
        file: d.file.clone().or_else(|| d.at.map(|_| draft.to_string())),
        line: d.at.map(|a| a.line),
        col: d.at.map(|a| a.col),
        end_line: d.at.map(|a| a.end_line),
        end_col: d.at.map(|a| a.end_col),
        help: d.help.clone(),
        notes: d.notes.clone(),
        lang: crate::diagnostic::Lang::Zh,
    }
}
