//! The staff console's routes under `/console` and its session layer.
//!
//! * [`session_layer`] (over the whole router) turns a valid session cookie into the
//!   request's [`Caller`] — the same value a bearer token gives, so every console page and
//!   every script call is authorised by the API's own code — after checking, for anything
//!   but GET and HEAD, the session's CSRF token (`_csrf` form field or `X-CSRF-Token`
//!   header). A request with a bearer token is left alone (no ambient credential, no CSRF).
//! * Sign-in exchanges a role token (form body, never a URL) for the cookie; logout records
//!   the session as revoked in the store (in its hourly list, see
//!   [`crate::console::session`]), so every `serve` on that store refuses it.
//! * Pages are the models of [`crate::console::pages`]; a page asked without a session
//!   redirects to the sign-in page, a refusal is a Chinese page with the API's reason.

mod evaluate;
mod log;
mod ops;
mod review;
mod rulesets;

pub use evaluate::{evaluate, form as evaluate_form, tender as evaluate_tender};
pub use log::search as search_decisions;
pub use ops::{change_tokens, overview as ops_overview, tokens as list_tokens};
pub use review::{decide as decide_draft, list as list_drafts, show as show_draft};
pub use rulesets::{diff as diff_versions, list as list_rulesets, show as show_ruleset};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::protect::html_page;
use crate::console::CONSOLE_STYLESHEET;
use crate::console::pages::{
    AuthorPage, ConsoleErrorPage, ConsoleLayout, HomePage, SignInPage, Staff, tasks_for,
};
use crate::console::session::{
    self, COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, Revoked, Session, SessionKey,
};
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// The console's routes (method, path), for the router's tests and the routes × roles test.
pub const CONSOLE_ROUTES: &[(&str, &str)] = &[
    ("get", "/console"),
    ("get", "/console/signin"),
    ("post", "/console/signin"),
    ("post", "/console/logout"),
    ("get", "/console/rulesets/{id}/draft"),
    ("post", "/console/rulesets/{id}/draft"),
    ("get", "/console/rulesets"),
    ("get", "/console/rulesets/{id}"),
    ("get", "/console/rulesets/{id}/diff"),
    ("get", "/console/drafts"),
    ("get", "/console/drafts/{id}"),
    ("post", "/console/drafts/{id}/decide"),
    ("get", "/console/evaluate"),
    ("post", "/console/evaluate"),
    ("get", "/console/evaluate/tender"),
    ("post", "/console/evaluate/tender"),
    ("get", "/console/ops"),
    ("get", "/console/ops/decisions"),
    ("get", "/console/ops/tokens"),
    ("post", "/console/ops/tokens"),
    ("get", "/assets/console.css"),
];

/// A signed-in console request: the session, its CSRF token and the caller.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The verified session.
    pub session: Session,
    /// Its CSRF token (for the pages' forms).
    pub csrf: String,
    /// Who it is, as the API's authorisation sees it.
    pub caller: Caller,
}

impl ConsoleSession {
    /// The staff member for the page layout.
    pub fn staff(&self) -> Staff {
        Staff {
            name: self.caller.name.clone(),
            role: self.caller.role.as_str().to_owned(),
            sector: self.caller.sector.clone(),
        }
    }

    /// The layout of a page of this session.
    pub fn layout(&self, title: impl Into<String>, section: &str) -> ConsoleLayout {
        ConsoleLayout::new(title, section, Some(self.staff()), self.csrf.clone())
    }
}

/// Marks a request whose session cookie was present but is expired, forged or revoked.
#[derive(Debug, Clone, Copy)]
struct StaleSession;

/// Public POST routes that change nothing (no session, no CSRF token needed).
const READ_ONLY_POSTS: &[&str] = &["/receipt", "/api/v1/receipts/verify"];

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether cookies should carry `Secure`: the service says it is behind TLS, or the TLS
/// proxy in front says the request came over HTTPS.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session of a cookie, when it verifies, is not revoked and its token still exists.
async fn resolve(state: &AppState, cookie: &str) -> Result<Option<ConsoleSession>, ApiError> {
    let key: &SessionKey = &state.session_key;
    let Some(session) = key.verify(cookie, state.clock.now()) else {
        return Ok(None);
    };
    let entry = state
        .tokens
        .current()
        .entries()
        .into_iter()
        .find(|e| key.binds(&session, &e.sha256));
    let Some(caller) = entry.map(|e| Caller {
        name: e.name,
        role: e.role,
        sector: e.sector,
    }) else {
        return Ok(None);
    };
    let revoked = {
        let state = state.clone();
        let name = session::revoked_key(session.expires);
        super::blocking(move || state.store.cursor(&name).map_err(ApiError::internal)).await?
    };
    let Some(revoked) = Revoked::list(revoked.as_deref()) else {
        return Err(ApiError::internal(
            "the stored list of logged-out console sessions does not read",
        ));
    };
    if Revoked::contains(&revoked, &session) {
        return Ok(None);
    }
    let csrf = key.csrf_token(&session);
    Ok(Some(ConsoleSession {
        session,
        csrf,
        caller,
    }))
}

/// Adds `session` to its revocation list ([`session::revoke`], atomic across replicas).
fn revoke(state: &AppState, session: &Session) -> Result<(), ApiError> {
    session::revoke(state.store.as_ref(), session, state.clock.now()).map_err(ApiError::internal)
}

/// The CSRF token of a form body (`application/x-www-form-urlencoded`).
fn form_csrf(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Checks the session cookie of every request (see the module header).
pub async fn session_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let cookie = session::cookie_from(
        request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        COOKIE_NAME,
    )
    .map(str::to_owned);
    let Some(cookie) = cookie else {
        return next.run(request).await;
    };
    let found = match resolve(&state, &cookie).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let Some(found) = found else {
        let mut request = request;
        request.extensions_mut().insert(StaleSession);
        return next.run(request).await;
    };
    // Signing in again (say from an old tab) replaces the session: its form carries a
    // role token, not the old session's CSRF token.
    if !is_safe(request.method()) && request.uri().path() == "/console/signin" {
        return next.run(request).await;
    }
    // Checking a receipt is public and changes nothing: a signed-in clerk may use it too.
    if !is_safe(request.method()) && READ_ONLY_POSTS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let mut request = if is_safe(request.method()) {
        request
    } else {
        match check_csrf(&state, &found.session, request).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        }
    };
    request.extensions_mut().insert(found.caller.clone());
    request.extensions_mut().insert(found);
    next.run(request).await
}

/// Lets a state-changing request through when it carries the session's CSRF token, in the
/// `X-CSRF-Token` header or in a form body's `_csrf` field (the body is read and put back).
async fn check_csrf(
    state: &AppState,
    session: &Session,
    request: Request,
) -> Result<Request, Response> {
    let key = &state.session_key;
    if let Some(token) = request.headers().get(CSRF_HEADER) {
        let ok = token.to_str().is_ok_and(|t| key.csrf_matches(session, t));
        return if ok {
            Ok(request)
        } else {
            Err(csrf_refusal(request.uri().path()))
        };
    }
    if !is_form(request.headers()) {
        return Err(csrf_refusal(request.uri().path()));
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, super::MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the form is larger than 4 MiB",
            )
            .into_response());
        }
    };
    match form_csrf(&bytes) {
        Some(token) if key.csrf_matches(session, &token) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(csrf_refusal(parts.uri.path())),
    }
}

fn csrf_refusal(path: &str) -> Response {
    if path.starts_with("/console") {
        let layout = ConsoleLayout::new("请求被拒绝", "", None, "");
        html_page(
            StatusCode::FORBIDDEN,
            &ConsoleErrorPage {
                layout,
                status: 403,
                message: "这个请求缺少有效的安全校验码（CSRF），已被拒绝，没有做任何修改。".into(),
                fix: "请回到工作台页面，用页面上的按钮重新提交；如果登录已过期，请重新登录。"
                    .into(),
            },
        )
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "a console session's state-changing request needs the session's CSRF token in \
             the `X-CSRF-Token` header (the page's `<meta name=\"csrf-token\">`)",
        )
        .into_response()
    }
}

/// A console page's session; without one the page redirects to the sign-in form.
impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        if let Some(found) = parts.extensions.get::<ConsoleSession>() {
            return Ok(found.clone());
        }
        let target = if parts.extensions.get::<StaleSession>().is_some() {
            "/console/signin?notice=expired"
        } else {
            "/console/signin"
        };
        Err(Redirect::to(target).into_response())
    }
}

/// A console failure, answered as a Chinese page in the console's layout.
pub struct ConsoleError(Box<ConsoleErrorPage>);

impl ConsoleError {
    /// The page for an API refusal (the reason the API gives is shown too).
    pub fn from_api(e: ApiError, session: &ConsoleSession) -> ConsoleError {
        let (message, fix) = match e.status {
            StatusCode::FORBIDDEN => (
                "您的角色无权进行此操作。",
                "行业主管部门只能处理本行业的规则集；审核、运行管理仅限市公管局。",
            ),
            StatusCode::NOT_FOUND => ("没有找到要查看的内容。", "请从列表页重新进入。"),
            StatusCode::CONFLICT => (
                "操作与当前状态冲突（例如生效版本已变化或草稿已处理）。",
                "请刷新页面查看最新状态后再试。",
            ),
            StatusCode::INTERNAL_SERVER_ERROR => ("系统错误，错误已记录。", "请稍后再试。"),
            _ => ("请求有误。", "请检查填写的内容后重试。"),
        };
        ConsoleError(Box::new(ConsoleErrorPage {
            status: e.status.as_u16(),
            message: message.to_owned(),
            fix: format!("{fix}（{}）", e.detail),
            layout: session.layout("无法完成操作", ""),
        }))
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        html_page(status, self.0.as_ref())
    }
}

/// A console handler's result.
type ConsoleResult = Result<Response, ConsoleError>;

fn page(page: &impl Template) -> Response {
    html_page(StatusCode::OK, page)
}

/// The notice of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    notice: Option<String>,
}

/// `GET /console/signin`.
pub async fn signin_form(
    session: Option<ConsoleSession>,
    Query(query): Query<SignInQuery>,
) -> Response {
    if session.is_some() {
        return Redirect::to("/console").into_response();
    }
    let notice = match query.notice.as_deref() {
        Some("expired") => Some(
            "登录已过期或已失效，请重新登录。未提交的规则文本保存在本浏览器中，登录后回到编辑页即可恢复。",
        ),
        Some("logout") => Some("您已退出登录。"),
        _ => None,
    };
    page(&SignInPage {
        layout: ConsoleLayout::new("登录", "", None, ""),
        error: None,
        notice: notice.map(str::to_owned),
    })
}

impl axum::extract::OptionalFromRequestParts<AppState> for ConsoleSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<ConsoleSession>().cloned())
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
}

/// `POST /console/signin`: a valid token gets a session cookie and goes to `/console`.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let refuse = |status: StatusCode, error: &str| {
        html_page(
            status,
            &SignInPage {
                layout: ConsoleLayout::new("登录", "", None, ""),
                error: Some(error.to_owned()),
                notice: None,
            },
        )
    };
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return refuse(StatusCode::FORBIDDEN, "只能从本工作台的登录页登录。");
    }
    let Ok(axum::Form(form)) = form else {
        return refuse(StatusCode::BAD_REQUEST, "请填写访问令牌。");
    };
    let hash = super::auth::hash_token(form.token.trim());
    if form.token.trim().is_empty() || state.tokens.current().by_hash(&hash).is_none() {
        tracing::info!(target: "console", "sign-in refused: unknown token");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "访问令牌无效：请核对后重新输入，或向市公管局申请新的令牌。",
        );
    }
    let (session, value) = match state.session_key.issue(&hash, state.clock.now()) {
        Ok(issued) => issued,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let cookie = session::set_cookie(&value, &session, secure(&state, &headers));
    let mut response = Redirect::to("/console").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /console/logout`: revokes the session everywhere and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: ConsoleSession,
) -> Response {
    let stored = {
        let state = state.clone();
        let ended = session.session.clone();
        super::blocking(move || revoke(&state, &ended)).await
    };
    if let Err(e) = stored {
        return ConsoleError::from_api(e, &session).into_response();
    }
    let mut response = Redirect::to("/console/signin?notice=logout").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::clear_cookie(secure(&state, &headers))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /console`: what the role can do.
pub async fn home(session: ConsoleSession) -> Response {
    let staff = session.staff();
    let expires = session
        .session
        .expires
        .with_timezone(&crate::review::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    page(&HomePage {
        tasks: tasks_for(&staff),
        layout: session.layout("工作台", "home"),
        expires,
    })
}

/// Where the authoring page starts.
#[derive(Debug, Deserialize)]
pub struct AuthorQuery {
    /// `active` (default) or `scratch`.
    from: Option<String>,
}

/// The text a draft from scratch starts with: the header the checker needs.
fn scratch_source(id: &str, sector: Option<&str>, today: chrono::NaiveDate) -> String {
    let sector = sector.unwrap_or("行业名称");
    format!(
        "ruleset {id} {{\n  title     \"规则集名称\"\n  sector    \"{sector}\"\n  version   \"{}.1\"\n  effective {today}\n  extends   city.base\n}}\n",
        today.format("%Y")
    )
}

/// `GET /console/rulesets/{id}/draft`: the authoring page, from the active version or
/// from scratch (`?from=scratch`).
pub async fn author_form(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Query(query): Query<AuthorQuery>,
) -> ConsoleResult {
    let caller = &session.caller;
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    caller.require(super::drafts::editors()).map_err(fail)?;
    super::rulesets::check_ruleset_id(&id).map_err(fail)?;
    let current = state.registry.get(&id);
    let sector = current
        .as_ref()
        .map(|c| c.meta.sector.clone())
        .unwrap_or_else(|| caller.sector.clone());
    caller.may_edit_sector(sector.as_deref()).map_err(fail)?;
    let today = crate::review::local_date(state.clock.now());
    let from_active = query.from.as_deref() != Some("scratch") && current.is_some();
    let source = if from_active {
        state
            .registry
            .source(&id)
            .map(|s| s.text.to_string())
            .unwrap_or_default()
    } else {
        scratch_source(&id, sector.as_deref(), today)
    };
    let title = current
        .as_ref()
        .map(|c| c.meta.title.clone())
        .unwrap_or_default();
    Ok(page(&AuthorPage {
        layout: session
            .layout(format!("起草新版本：{id}"), "drafts")
            .with_editor(),
        ruleset: id,
        ruleset_title: title,
        base: current.map(|c| c.meta.hash.clone()).unwrap_or_default(),
        source,
        message: String::new(),
        activate_on: String::new(),
        today: today.to_string(),
        error: None,
        diagnostics: Vec::new(),
        from_active,
    }))
}

/// The authoring form as submitted.
#[derive(Debug, Deserialize)]
pub struct AuthorForm {
    source: String,
    #[serde(default)]
    base: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    activate_on: String,
}

/// `POST /console/rulesets/{id}/draft`: submits the draft through the API's own submission
/// code; a refusal shows the form again with the text kept and the checker's messages.
pub async fn author_submit(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    form: Result<axum::Form<AuthorForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    let fail = |e: ApiError| ConsoleError::from_api(e, &session);
    let caller = session.caller.clone();
    caller.require(super::drafts::editors()).map_err(fail)?;
    let axum::Form(form) =
        form.map_err(|e| fail(ApiError::bad_request("bad_form", e.body_text())))?;
    let today = crate::review::local_date(state.clock.now());
    let activate_on = match form.activate_on.trim() {
        "" => None,
        text => match text.parse::<chrono::NaiveDate>() {
            Ok(day) => Some(day),
            Err(_) => {
                return Ok(author_again(
                    &session,
                    &id,
                    &form,
                    today,
                    "生效日期格式应为 YYYY-MM-DD。".into(),
                    Vec::new(),
                ));
            }
        },
    };
    let request = super::drafts::SubmitRequest {
        ruleset: id.clone(),
        source: form.source.replace("\r\n", "\n"),
        base_hash: Some(form.base.trim().to_owned()).filter(|b| !b.is_empty()),
        message: Some(form.message.trim().to_owned()),
        activate_on,
    };
    let submitted = {
        let state = state.clone();
        let caller = caller.clone();
        super::blocking_within(state.check_budget, move || {
            super::rulesets::check_ruleset_id(&request.ruleset)?;
            super::drafts::authorize_change(&state, &caller, &request.ruleset, &request.source)?;
            super::drafts::submit_draft(&state, &caller, &request, crate::diagnostic::Lang::Zh)
        })
        .await
    };
    match submitted {
        Ok(view) => Ok(Redirect::to(&format!("/console/drafts/{}", view.id)).into_response()),
        // Refusals and failures of the service are error pages, not mistakes in the draft.
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() => Err(fail(e)),
        Err(e) => {
            let diagnostics = e
                .diagnostics
                .iter()
                .map(|d| {
                    let at = match (d.line, d.col) {
                        (Some(line), Some(col)) => format!("第 {line} 行第 {col} 列："),
                        _ => String::new(),
                    };
                    let help = d
                        .help
                        .as_deref()
                        .map(|h| format!("\n  提示：{h}"))
                        .unwrap_or_default();
                    format!("{at}[{}] {}{help}", d.code, d.message)
                })
                .collect();
            let message = match e.status {
                StatusCode::CONFLICT => {
                    format!("未能提交：生效版本已变化或没有改动（{}）。", e.detail)
                }
                StatusCode::UNPROCESSABLE_ENTITY if e.diagnostics.is_empty() => {
                    format!("未能提交：{}", e.detail)
                }
                StatusCode::UNPROCESSABLE_ENTITY => {
                    "未能提交：规则文本有错误，请按下列提示修改。".to_owned()
                }
                _ => format!("未能提交：{}", e.detail),
            };
            Ok(author_again(
                &session,
                &id,
                &form,
                today,
                message,
                diagnostics,
            ))
        }
    }
}

/// The authoring page again after a refused submission, with everything typed kept.
fn author_again(
    session: &ConsoleSession,
    id: &str,
    form: &AuthorForm,
    today: chrono::NaiveDate,
    error: String,
    diagnostics: Vec<String>,
) -> Response {
    html_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &AuthorPage {
            layout: session
                .layout(format!("起草新版本：{id}"), "drafts")
                .with_editor(),
            ruleset: id.to_owned(),
            ruleset_title: String::new(),
            base: form.base.clone(),
            source: form.source.clone(),
            message: form.message.clone(),
            activate_on: form.activate_on.clone(),
            today: today.to_string(),
            error: Some(error),
            diagnostics,
            from_active: !form.base.is_empty(),
        },
    )
}

/// `GET /assets/console.css`.
pub async fn stylesheet(headers: HeaderMap) -> Response {
    super::protect::cached(
        &headers,
        "text/css; charset=utf-8",
        "public, max-age=31536000, immutable",
        CONSOLE_STYLESHEET,
    )
}
