//! The HTTP service (axum): the public disclosure site (`/`, see [`crate::site`]),
//! evaluation of one entity or a whole tender, rule-set versions, drafts under review and
//! their approval (the only way a version goes live), record intake, entity lookup, the
//! public disclosure list, the decision log, health, metrics and the OpenAPI document, with
//! security headers on every response and a per-client rate limit on the public routes.
//! This is the only module that names axum types.
//!
//! The router is built by [`router`] from an [`AppState`], so tests drive it
//! in-process with `tower::ServiceExt::oneshot`; [`serve`] binds it to a
//! socket with graceful shutdown.
//!
//! Protection (the README's "Limits and protection" lists every value):
//! * connections: header-read timeout 10 s, idle timeout 10 s, at most 10,000 connections
//!   (fewer under a low open-files limit) — see [`connections`](ConnectionLimits);
//! * requests: 30 s ([`REQUEST_TIMEOUT`], then 408), bodies up to 4 MiB
//!   ([`MAX_BODY_BYTES`], then 413); the bearer token is checked before the body is read;
//! * engine work off the async workers, under a time budget that is cancelled when the
//!   request is dropped ([`CHECK_TIME_BUDGET`] 10 s for checking rule text,
//!   [`WORK_TIME_BUDGET`] otherwise);
//! * per-request sizes in [`evaluate_limits`]; lists paged with `limit` (≤ 1,000) and `cursor`;
//! * every answer carries an `x-request-id`, written to the access log and the decision log.

mod admin;
mod auth;
mod authoring;
mod connections;
mod console;
mod decision_log;
mod disclosure;
mod drafts;
mod error;
mod evaluate;
mod lang;
mod ops;
mod paging;
mod protect;
mod receipts;
mod records;
mod rulesets;
mod scheduler;
mod server;
mod site;
mod tokens;

pub use auth::{Caller, Role, TokenEntry, TokenFile, Tokens, hash_token};
pub use authoring::AUTHORING_ROUTES;
pub use connections::{
    ConnectionLimits, HEADER_READ_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, RESERVED_DESCRIPTORS,
    default_max_connections, descriptor_limit, serve_connections,
};
pub use console::CONSOLE_ROUTES;
pub use disclosure::{
    ListRequest, MAX_LEGACY_OFFSET, ParamError, fetch as fetch_disclosure, parse_day_query,
    parse_list_query,
};
pub use error::{ApiError, AppJson, ItemError, Problem};
pub use ops::{REQUEST_ID_HEADER, RequestId};
pub use paging::{DEFAULT_LIMIT, MAX_LIMIT, Page};
pub use protect::{
    CONSOLE_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY, PublicLimiter, RateLimit,
    SECURITY_HEADERS, etag_of, not_modified,
};
pub use site::SITE_ROUTES;
pub use tokens::{
    FINGERPRINT_DIGITS, TokenAdminError, TokenTable, create as create_token, fingerprint,
    read_file as read_token_file, revoke as revoke_token, rotate as rotate_token,
};

/// The per-request limits of evaluation, tenders, intake and impact answers.
pub mod evaluate_limits {
    pub use super::drafts::{MAX_IMPACT_CLAUSES_PER_ENTITY, MAX_IMPACT_TOP};
    pub use super::evaluate::{MAX_BIDDERS, MAX_INLINE_RECORDS, MAX_MEMBERS, MAX_TENDER_MEMBERS};
    pub use super::records::MAX_INTAKE_ITEMS;
}
pub use scheduler::{ACTIVATION_CHECK_PERIOD, spawn_activation_scheduler};
pub use server::{LogFormat, SESSION_KEY_FILE, ServeConfig, open_data, run as run_server};

use crate::budget::Budget;
use crate::registry::Registry;
use crate::review::{Clock, SystemClock};
use crate::store::RecordStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;

/// Largest request body accepted (a tender with many bidders, an intake batch).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long one request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long checking a rule set sent over HTTP (a draft, a publication) may take before the
/// checker stops with E0006; less than [`REQUEST_TIMEOUT`], so the caller gets diagnostics.
pub const CHECK_TIME_BUDGET: Duration = Duration::from_secs(10);

/// The time budget of other blocking work started by a request (the request timeout).
pub const WORK_TIME_BUDGET: Duration = REQUEST_TIMEOUT;

/// Everything a handler needs.
pub struct App {
    /// The live rule sets.
    pub registry: Registry,
    /// Records, versions, the decision log.
    pub store: Arc<dyn RecordStore>,
    /// Configured tokens (reloaded from their file when it changes).
    pub tokens: TokenTable,
    /// Prometheus rendering of the metrics, if a recorder is installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Group-committing writer of the decision log.
    pub decisions: decision_log::DecisionLog,
    /// "Now" for the review workflow (submission times, activation days).
    pub clock: Arc<dyn Clock>,
    /// Time allowed for checking a rule set sent in a request ([`CHECK_TIME_BUDGET`]).
    pub check_budget: Duration,
    /// Per-client rate limit of the public routes; `None`: unlimited.
    pub limiter: Option<Arc<PublicLimiter>>,
    /// The key that signs decision receipts (`serve`: kept in the data folder; otherwise a
    /// fresh key in memory). `None` only when no random numbers could be had: answers then
    /// carry no receipt.
    pub receipts: Option<Arc<crate::receipt::ReceiptKey>>,
    /// Signs the console's session cookies and derives their CSRF tokens.
    pub session_key: crate::console::session::SessionKey,
    /// Whether session cookies carry `Secure` (the service is reached over TLS).
    pub secure_cookies: bool,
}

impl App {
    /// Assembles the application and starts its decision-log writer.
    pub fn new(
        registry: Registry,
        store: Arc<dyn RecordStore>,
        tokens: Tokens,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> App {
        let decisions = decision_log::DecisionLog::start(store.clone());
        let receipts = match crate::receipt::ReceiptKey::generate() {
            Ok(key) => Some(Arc::new(key)),
            Err(e) => {
                tracing::error!(%e, "no receipt key: answers carry no receipt");
                None
            }
        };
        App {
            registry,
            store,
            tokens: TokenTable::fixed(tokens),
            metrics,
            decisions,
            clock: Arc::new(SystemClock),
            check_budget: CHECK_TIME_BUDGET,
            limiter: PublicLimiter::new(RateLimit::default()),
            receipts,
            session_key: fresh_session_key(),
            secure_cookies: false,
        }
    }

    /// Replaces the receipt key (`serve`: the one kept in the data folder).
    pub fn with_receipt_key(mut self, key: crate::receipt::ReceiptKey) -> App {
        self.receipts = Some(Arc::new(key));
        self
    }

    /// Replaces the session key (`serve`: the key file of the data folder, shared by every
    /// process serving that data).
    pub fn with_session_key(mut self, key: crate::console::session::SessionKey) -> App {
        self.session_key = key;
        self
    }

    /// Replaces the tokens by a table that follows its file (`serve`).
    pub fn with_token_table(mut self, tokens: TokenTable) -> App {
        self.tokens = tokens;
        self
    }

    /// Marks session cookies `Secure` (the service is reached over TLS only).
    pub fn with_secure_cookies(mut self, secure: bool) -> App {
        self.secure_cookies = secure;
        self
    }

    /// Replaces the time allowed for checking a rule set sent in a request.
    pub fn with_check_budget(mut self, budget: Duration) -> App {
        self.check_budget = budget;
        self
    }

    /// Replaces the default rate limit of the public routes ([`RateLimit::default`]).
    pub fn with_rate_limit(mut self, limit: RateLimit) -> App {
        self.limiter = PublicLimiter::new(limit);
        self
    }

    /// Replaces the system clock (tests: a [`crate::review::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> App {
        self.clock = clock;
        self
    }
}

/// A random session key for an application without a key file; when the system has no
/// random source, a key from the clock and the process id (sessions then end with it).
fn fresh_session_key() -> crate::console::session::SessionKey {
    use sha2::Digest;
    crate::console::session::SessionKey::generate().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "no random source for the session key");
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        crate::console::session::SessionKey::from_bytes(sha2::Sha256::digest(seed).into())
    })
}

/// Shared application state.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// The version of the API's JSON shapes, in the OpenAPI document's `info.version`: the minor
/// number grows when fields are added (old requests stay valid), the major when a shape
/// changes incompatibly. Each changed shape says `Since 1.1` on what it added.
pub const API_VERSION: &str = "1.4.0";

/// The OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "credit-rules",
        version = API_VERSION,
        description = "公共资源交易信用规则服务：评标信用评价、规则集版本、信用记录归集与公示。\n\n\
            Changes in 1.1.0 (added fields only; every 1.0 request is still valid): \
            `CreditRecord` gains `published_on` and `valid_until`; `RecordRef` gains \
            `published_on` and `valid_until`; `TenderRequest` gains `records`; `BidResult` gains \
            `problems`, `vetoes` and `flags`; `MemberResult` gains `no_records`; a `version` \
            (evaluate, tender, diff, versions/{hash}) is `@active` or 8 to 64 hex digits.\n\n\
            Changes in 1.2.0 (added fields, one changed meaning): a version id is the version \
            identity (`Report.hash`: a content hash over the rule set's source and its bases' \
            identities; it changed for every rule set, and older versions keep theirs); \
            `EvaluateRequest` and `TenderRequest` gain `known_at`; the evaluate answer \
            (`EvaluateAnswer`) is the `Report` plus `decision_id`, `uscc`, `entity_name`, \
            `known_at` and `receipt`; `MemberResult` gains `decision_id`, `entity_name` and \
            `receipt`; `TenderResult` gains `known_at`; `VersionView` gains `version_id`; \
            `VersionDiffView.from`/`to` are version identities (were source hashes); new routes \
            `GET /api/v1/decisions/{id}/replay` and `GET /api/v1/receipts/public-key`.\n\n\
            Changes in 1.3.0 (added fields only): `EvaluateRequest` and `TenderRequest` gain `context` \
            (`TenderContext`: `project_type`, `sector`, `budget` in yuan), the tender call's \
            facts that clauses read as `tender.…` / `项目.…` (a tender's applies to every member); a bad one is a 400 \
            `invalid_context` naming `context.<field>`. The decision log keeps the context and \
            replay evaluates with it. The receipt does not sign the request, so it does not \
            carry the context: its decision id points at the logged decision that does.\n\n\
            Changes in 1.4.0 (added fields only): receipts are `credit-rules receipt 2`: the \
            receipts made together (a tender's members; single evaluations logged by the same \
            flush) share one ed25519 signature over the Merkle root (SHA-256, RFC 6962) of \
            their canonical bytes, and `Receipt` gains `batch` (`ReceiptBatch`: `index`, \
            `size`, `path`, `root`) to check that it is one of them; `ReceiptBody` gains \
            `context`, the tender context when one was given, now signed with the decision. \
            `credit-rules receipt verify` checks both formats; receipts of format 1 stay valid. \
            New public route `POST /api/v1/receipts/verify` (no token, rate limited, body at most \
            64 KiB): the check of a pasted receipt (`VerifyAnswer`: `valid`, the `reason` when \
            not, `signed_by`, `signed_by_this_service`, `batch` place and the statement); the \
            site's page `/receipt` (回执核验) does the same for people."
    ),
    paths(
        ops::healthz,
        ops::openapi_json,
        evaluate::evaluate_one,
        evaluate::evaluate_tender,
        rulesets::list_rulesets,
        rulesets::get_ruleset,
        rulesets::list_versions,
        rulesets::get_version,
        rulesets::diff_versions,
        rulesets::document,
        rulesets::publish,
        records::intake,
        records::pending_events,
        records::entity,
        disclosure::list,
        disclosure::entity,
        disclosure::record,
        records::decisions,
        receipts::replay_decision,
        receipts::public_key,
        receipts::verify_receipt,
        drafts::submit,
        drafts::list,
        drafts::get_draft,
        drafts::diff,
        drafts::impact,
        drafts::approve,
        drafts::reject,
        drafts::withdraw,
        admin::backup,
    ),
    components(schemas(
        Problem,
        ItemError,
        crate::context::TenderContext,
        paging::schemas::DecisionPage,
        paging::schemas::DraftPage,
        paging::schemas::RuleSetPage,
        paging::schemas::VersionPage
    )),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "evaluate", description = "评标时的信用评价"),
        (name = "rulesets", description = "规则集与版本"),
        (name = "review", description = "审核后发布：行业主管部门提交草稿，市公管局查看差异后批准或驳回（须填写意见），批准后方生效（可指定生效日期，北京时间）"),
        (name = "records", description = "信用记录归集、主体查询、社会公示（信用修复或撤销的记录任何日期均不予公示；查询过去日期只显示现在仍在公示期内的记录）"),
        (name = "ops", description = "健康检查、接口文档与备份"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error answer is `application/problem+json` ([`Problem`]), and every operation lists
/// the errors the service's layers can give it besides those its handler documents: 401
/// (a bearer token is required), 400 (a malformed query string), 404 (a path naming nothing),
/// 408 (the request timeout), 413, 415 and 422 (a JSON body too large, of another type, or
/// not the documented shape).
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_problem_responses(operation);
            }
        }
    }
}

fn add_problem_responses(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Content, RefOr, Response};
    let has = |kind: ParameterIn| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == kind,
            RefOr::Ref(_) => false,
        })
    };
    let (query, path) = (has(ParameterIn::Query), has(ParameterIn::Path));
    let body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut extra: Vec<(&str, &str)> = vec![(
        "408",
        "the request took longer than the request timeout (30 s)",
    )];
    if secured {
        extra.push(("401", "no bearer token, or not a valid one"));
    }
    if query {
        extra.push(("400", "a malformed query string"));
    }
    if path {
        extra.push(("404", "nothing at this path"));
    }
    if body {
        extra.push(("413", "the body is larger than 4 MiB"));
        extra.push(("415", "the body is not `Content-Type: application/json`"));
        extra.push(("400", "the body is not valid JSON"));
        extra.push(("422", "the body does not have the documented shape"));
    }
    for (status, description) in extra {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('4') && !status.starts_with('5') {
            continue;
        }
        response.content.shift_remove("application/json");
        response.content.insert(
            "application/problem+json".to_owned(),
            RefOr::T(Content::new(Some(RefOr::Ref(
                utoipa::openapi::Ref::from_schema_name("Problem"),
            )))),
        );
    }
}

/// Every route: `(method, path)` as served. The OpenAPI test compares this with the document.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/evaluate"),
    ("post", "/api/v1/tenders/evaluate"),
    ("get", "/api/v1/rulesets"),
    ("get", "/api/v1/rulesets/{id}"),
    ("put", "/api/v1/rulesets/{id}"),
    ("get", "/api/v1/rulesets/{id}/versions"),
    ("get", "/api/v1/rulesets/{id}/versions/{hash}"),
    ("get", "/api/v1/rulesets/{id}/diff"),
    ("get", "/api/v1/rulesets/{id}/document"),
    ("post", "/api/v1/records"),
    ("get", "/api/v1/records/pending"),
    ("get", "/api/v1/entities/{uscc}"),
    ("get", "/api/v1/disclosure"),
    ("get", "/api/v1/disclosure/entities/{uscc}"),
    ("get", "/api/v1/disclosure/entities/{uscc}/records/{id}"),
    ("get", "/api/v1/decisions"),
    ("get", "/api/v1/decisions/{id}/replay"),
    ("get", "/api/v1/receipts/public-key"),
    ("post", "/api/v1/receipts/verify"),
    ("post", "/api/v1/drafts"),
    ("get", "/api/v1/drafts"),
    ("get", "/api/v1/drafts/{id}"),
    ("get", "/api/v1/drafts/{id}/diff"),
    ("get", "/api/v1/drafts/{id}/impact"),
    ("post", "/api/v1/drafts/{id}/approve"),
    ("post", "/api/v1/drafts/{id}/reject"),
    ("post", "/api/v1/drafts/{id}/withdraw"),
    ("post", "/api/v1/admin/backup"),
];

/// The public routes (no token): the site and the JSON disclosure list, rate limited per
/// client. The assets are not limited: their URLs are cached for a year.
fn public_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(site::home))
        .route("/about", get(site::about))
        .route("/disclosure.csv", get(site::disclosure_csv))
        .route("/entity/{uscc}", get(site::entity))
        .route("/record/{uscc}/{id}", get(site::record))
        .route("/api/v1/disclosure", get(disclosure::list))
        .route(
            "/api/v1/disclosure/entities/{uscc}",
            get(disclosure::entity),
        )
        .route(
            "/api/v1/disclosure/entities/{uscc}/records/{id}",
            get(disclosure::record),
        )
        .route("/api/v1/rulesets/{id}/document", get(rulesets::document))
        .route(
            "/api/v1/receipts/verify",
            post(receipts::verify_receipt).layer(DefaultBodyLimit::max(
                crate::site::receipt::MAX_RECEIPT_BYTES,
            )),
        )
        .route(
            "/receipt",
            get(receipts::receipt_page)
                .post(receipts::receipt_check)
                .layer(DefaultBodyLimit::max(
                    crate::site::receipt::MAX_RECEIPT_BYTES,
                )),
        )
        .route(
            "/console/signin",
            get(console::signin_form).post(console::signin),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            protect::rate_limit,
        ))
        .route("/assets/site.css", get(site::stylesheet))
        .route("/assets/favicon.svg", get(site::favicon))
        .route("/assets/console.css", get(console::stylesheet))
}

/// The staff console's pages (a session cookie; see [`console`]).
fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(console::home))
        .route("/console/logout", post(console::logout))
        .route(
            "/console/rulesets/{id}/draft",
            get(console::author_form).post(console::author_submit),
        )
        .route("/console/rulesets", get(console::list_rulesets))
        .route("/console/rulesets/{id}", get(console::show_ruleset))
        .route("/console/rulesets/{id}/diff", get(console::diff_versions))
        .route("/console/drafts", get(console::list_drafts))
        .route("/console/drafts/{id}", get(console::show_draft))
        .route("/console/drafts/{id}/decide", post(console::decide_draft))
        .route(
            "/console/evaluate",
            get(console::evaluate_form).post(console::evaluate),
        )
        .route(
            "/console/evaluate/tender",
            get(console::evaluate_form).post(console::evaluate_tender),
        )
        .route("/console/ops", get(console::ops_overview))
        .route("/console/ops/decisions", get(console::search_decisions))
        .route(
            "/console/ops/tokens",
            get(console::list_tokens).post(console::change_tokens),
        )
}

/// The browser editor's calls and assets ([`AUTHORING_ROUTES`]).
fn authoring_routes() -> Router<AppState> {
    Router::new()
        .route("/console/api/rulesets/{id}/check", post(authoring::check))
        .route("/console/api/rulesets/{id}/tests", post(authoring::tests))
        .route(
            "/console/api/rulesets/{id}/preview",
            post(authoring::preview),
        )
        .route("/assets/console/editor.js", get(authoring::script))
        .route("/assets/console/editor.css", get(authoring::stylesheet))
        .route("/assets/console/keywords.json", get(authoring::keywords))
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(public_routes(state.clone()))
        .merge(console_routes())
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/openapi.json", get(ops::openapi_json))
        .route("/api/v1/evaluate", post(evaluate::evaluate_one))
        .route("/api/v1/tenders/evaluate", post(evaluate::evaluate_tender))
        .route("/api/v1/rulesets", get(rulesets::list_rulesets))
        .route(
            "/api/v1/rulesets/{id}",
            get(rulesets::get_ruleset).put(rulesets::publish),
        )
        .route(
            "/api/v1/rulesets/{id}/versions",
            get(rulesets::list_versions),
        )
        .route(
            "/api/v1/rulesets/{id}/versions/{hash}",
            get(rulesets::get_version),
        )
        .route("/api/v1/rulesets/{id}/diff", get(rulesets::diff_versions))
        .route("/api/v1/records", post(records::intake))
        .route("/api/v1/records/pending", get(records::pending_events))
        .route("/api/v1/entities/{uscc}", get(records::entity))
        .route("/api/v1/decisions", get(records::decisions))
        .route(
            "/api/v1/decisions/{id}/replay",
            get(receipts::replay_decision),
        )
        .route("/api/v1/receipts/public-key", get(receipts::public_key))
        .route("/api/v1/drafts", post(drafts::submit).get(drafts::list))
        .route("/api/v1/drafts/{id}", get(drafts::get_draft))
        .route("/api/v1/drafts/{id}/diff", get(drafts::diff))
        .route("/api/v1/drafts/{id}/impact", get(drafts::impact))
        .route("/api/v1/drafts/{id}/approve", post(drafts::approve))
        .route("/api/v1/drafts/{id}/reject", post(drafts::reject))
        .route("/api/v1/drafts/{id}/withdraw", post(drafts::withdraw))
        .merge(authoring_routes())
        .fallback(site::fallback)
        .method_not_allowed_fallback(site::method_not_allowed)
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::session_layer,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // Not under the request timeout: a snapshot of a large store takes longer.
        .route("/api/v1/admin/backup", post(admin::backup))
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .layer(axum::middleware::from_fn(protect::security_headers))
        .layer(axum::middleware::from_fn(ops::access_log))
        .with_state(state)
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] until `shutdown`
/// resolves; in-flight requests finish, then the store is flushed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ConnectionLimits::default(), shutdown).await
}

/// [`serve`] with the given connection limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let janitor = state.limiter.clone().map(|limiter| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                limiter.forget_idle_clients();
            }
        })
    });
    let served = serve_connections(listener, router(state), limits, shutdown).await;
    if let Some(janitor) = janitor {
        janitor.abort();
    }
    served?;
    store.flush().map_err(std::io::Error::other)
}

/// Runs blocking store or engine work off the async runtime, under the default
/// [`WORK_TIME_BUDGET`].
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking_within(WORK_TIME_BUDGET, work).await
}

/// Runs blocking work off the async runtime with a time budget: the checker stops once it
/// is spent, and also as soon as the request is dropped (answered 408 by the timeout, or
/// its client went away), so an abandoned request does not keep a core busy.
pub(crate) async fn blocking_within<T: Send + 'static>(
    budget: Duration,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    struct CancelOnDrop(Budget);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.cancel();
        }
    }
    let budget = Budget::new(budget);
    let _cancel = CancelOnDrop(budget.clone());
    tokio::task::spawn_blocking(move || budget.run(work))
        .await
        .map_err(ApiError::internal)?
}
