//! The HTTP service (axum): evaluation of one entity or a whole tender,
//! rule-set versions, drafts under review and their approval (the only way a
//! version goes live), record intake, entity lookup, the
//! public disclosure list, the decision log, health, metrics and the OpenAPI
//! document. This is the only module that names axum types.
//!
//! The router is built by [`router`] from an [`AppState`], so tests drive it
//! in-process with `tower::ServiceExt::oneshot`; [`serve`] binds it to a
//! socket with graceful shutdown.

mod auth;
mod decision_log;
mod drafts;
mod error;
mod evaluate;
mod ops;
mod records;
mod rulesets;
mod scheduler;
mod server;

pub use auth::{Caller, Role, TokenEntry, TokenFile, Tokens, hash_token};
pub use error::{ApiError, AppJson, ItemError, Problem};
pub use scheduler::{ACTIVATION_CHECK_PERIOD, spawn_activation_scheduler};
pub use server::{ServeConfig, run as run_server};

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

/// Everything a handler needs.
pub struct App {
    /// The live rule sets.
    pub registry: Registry,
    /// Records, versions, the decision log.
    pub store: Arc<dyn RecordStore>,
    /// Configured tokens.
    pub tokens: Tokens,
    /// Prometheus rendering of the metrics, if a recorder is installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Group-committing writer of the decision log.
    pub decisions: decision_log::DecisionLog,
    /// "Now" for the review workflow (submission times, activation days).
    pub clock: Arc<dyn Clock>,
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
        App {
            registry,
            store,
            tokens,
            metrics,
            decisions,
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the system clock (tests: a [`crate::review::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> App {
        self.clock = clock;
        self
    }
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
pub const API_VERSION: &str = "1.1.0";

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
            (evaluate, tender, diff, versions/{hash}) is `@active` or 8 to 64 hex digits."
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
        rulesets::publish,
        records::intake,
        records::entity,
        records::disclosure,
        records::decisions,
        drafts::submit,
        drafts::list,
        drafts::get_draft,
        drafts::diff,
        drafts::impact,
        drafts::approve,
        drafts::reject,
        drafts::withdraw,
    ),
    components(schemas(Problem, ItemError)),
    modifiers(&BearerAuth),
    tags(
        (name = "evaluate", description = "评标时的信用评价"),
        (name = "rulesets", description = "规则集与版本"),
        (name = "review", description = "审核后发布：行业主管部门提交草稿，市公管局查看差异后批准或驳回（须填写意见），批准后方生效（可指定生效日期，北京时间）"),
        (name = "records", description = "信用记录归集、主体查询、社会公示"),
        (name = "ops", description = "健康检查与接口文档"),
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
    ("post", "/api/v1/records"),
    ("get", "/api/v1/entities/{uscc}"),
    ("get", "/api/v1/disclosure"),
    ("get", "/api/v1/decisions"),
    ("post", "/api/v1/drafts"),
    ("get", "/api/v1/drafts"),
    ("get", "/api/v1/drafts/{id}"),
    ("get", "/api/v1/drafts/{id}/diff"),
    ("get", "/api/v1/drafts/{id}/impact"),
    ("post", "/api/v1/drafts/{id}/approve"),
    ("post", "/api/v1/drafts/{id}/reject"),
    ("post", "/api/v1/drafts/{id}/withdraw"),
];

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
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
        .route("/api/v1/entities/{uscc}", get(records::entity))
        .route("/api/v1/disclosure", get(records::disclosure))
        .route("/api/v1/decisions", get(records::decisions))
        .route("/api/v1/drafts", post(drafts::submit).get(drafts::list))
        .route("/api/v1/drafts/{id}", get(drafts::get_draft))
        .route("/api/v1/drafts/{id}/diff", get(drafts::diff))
        .route("/api/v1/drafts/{id}/impact", get(drafts::impact))
        .route("/api/v1/drafts/{id}/approve", post(drafts::approve))
        .route("/api/v1/drafts/{id}/reject", post(drafts::reject))
        .route("/api/v1/drafts/{id}/withdraw", post(drafts::withdraw))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves; in-flight
/// requests finish, then the store is flushed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    store.flush().map_err(std::io::Error::other)
}

/// Runs blocking store or engine work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}
