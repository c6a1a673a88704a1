//! Health, metrics, the OpenAPI document, fallbacks and the request-metrics middleware.

use super::error::ApiError;
use super::{ApiDoc, AppState};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use utoipa::OpenApi;

/// Health check: answers without a token.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "the service is up", body = Object)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let body = serde_json::json!({ "status": "ok", "rulesets": state.registry.list().len() });
    axum::Json(body).into_response()
}

/// Prometheus metrics: request counts and latencies, evaluations, intake.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => ApiError::not_found(
            "metrics_disabled",
            "no metrics recorder is installed in this process",
        )
        .into_response(),
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

/// Unknown route.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no_route", "no such route; see /api/v1/openapi.json")
}

/// Known route, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// A handler panicked: answer 500 in the API's shape (the panic is logged).
pub fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}

/// Counts requests and records latency by route and status.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}
