//! Every failure of the API as one JSON shape (problem details, RFC 9457):
//! `{ "type", "title", "status", "detail", "code", "diagnostics"?, "errors"? }`,
//! served as `application/problem+json`. Internal errors keep their detail in
//! the log, never in the response.

use crate::diagnostic::{DiagnosticJson, Diagnostics};
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `ruleset_not_found`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub detail: String,
    /// Rule-text diagnostics (publishing), with line and column.
    pub diagnostics: Vec<DiagnosticJson>,
    /// Per-item problems (a batch or a request field).
    pub errors: Vec<ItemError>,
}

/// One item's problem in a batch or a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// Where: an index, a record id or a field path.
    pub at: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The response body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the `code` says what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status text.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
    /// Stable code.
    pub code: String,
    /// Rule-text diagnostics.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<DiagnosticJson>,
    /// Per-item problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ItemError>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            diagnostics: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// 422 carrying rule-text diagnostics.
    pub fn invalid_rules(diagnostics: &Diagnostics) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ruleset_invalid",
            format!(
                "the rule set has {} error(s); see `diagnostics`",
                diagnostics.error_count()
            ),
        );
        e.diagnostics = diagnostics.iter().map(|d| d.to_json()).collect();
        e
    }

    /// The same error with its diagnostics in `lang` (the client's `Accept-Language`).
    pub fn in_lang(mut self, lang: crate::diagnostic::Lang) -> Self {
        self.diagnostics = std::mem::take(&mut self.diagnostics)
            .into_iter()
            .map(|d| d.in_lang(lang))
            .collect();
        self
    }

    /// 500; the detail goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }

    /// Adds per-item errors.
    pub fn with_errors(mut self, errors: Vec<ItemError>) -> Self {
        self.errors = errors;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: "about:blank",
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            diagnostics: self.diagnostics,
            errors: self.errors,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A JSON body whose rejections use the API's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match &rejection {
        JsonRejection::MissingJsonContentType(_) => "content_type",
        JsonRejection::JsonSyntaxError(_) => "json_syntax",
        JsonRejection::JsonDataError(_) => "json_data",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        _ => "bad_body",
    };
    let help = match code {
        "content_type" => " (send `Content-Type: application/json`)",
        "json_syntax" => " (the body is not valid JSON)",
        "json_data" => {
            " (a field is missing, unknown or of the wrong type; see the OpenAPI document at /api/v1/openapi.json)"
        }
        _ => "",
    };
    ApiError::new(status, code, format!("{}{help}", rejection.body_text()))
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
