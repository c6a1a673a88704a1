//! Receipts and replay: the public key that signs decision receipts (public, so that anyone
//! can check a receipt), the public check of a pasted receipt (`POST /api/v1/receipts/verify`
//! and the page `/receipt`), and the replay of a logged decision from the stored rules and
//! the records as the store knew them then.

use super::auth::{Caller, Role};
use super::error::{ApiError, AppJson};
use super::protect::{cached, html_page};
use super::{AppState, blocking};
use crate::receipt::{ReceiptBody, Verdict, check};
use crate::replay::{Replay, ReplayError, replay};
use crate::site::receipt::{ReceiptPage, input_problem};
use axum::extract::rejection::{FormRejection, StringRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The key that signs decision receipts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicKeyView {
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// The public key, 64 hex digits: a receipt's `public_key` must be this.
    pub public_key: String,
    /// How to check a receipt offline.
    pub verify: &'static str,
}

/// The public key of decision receipts (public: no token).
#[utoipa::path(get, path = "/api/v1/receipts/public-key", tag = "evaluate",
    responses(
        (status = 200, description = "the ed25519 public key that signs every receipt", body = PublicKeyView),
        (status = 404, description = "this service signs no receipts (no key)", body = super::Problem),
    ))]
pub async fn public_key(State(state): State<AppState>) -> Result<AppJson<PublicKeyView>, ApiError> {
    let key = state
        .receipts
        .as_ref()
        .ok_or_else(|| ApiError::not_found("no_receipt_key", "this service has no receipt key"))?;
    Ok(AppJson(PublicKeyView {
        algorithm: "ed25519",
        public_key: key.public_key_hex(),
        verify: "credit-rules receipt verify RECEIPT.json --public-key KEY",
    }))
}

/// Recomputes a logged decision and compares it with the log.
///
/// The rule-set version is rebuilt from the stored sources its identity names; the entity's
/// records are taken as the store knew them at the decision's `known_at`. The answer says
/// `identical`, or lists every difference (JSON pointer, logged and recomputed value).
#[utoipa::path(get, path = "/api/v1/decisions/{id}/replay", tag = "records", security(("bearer" = [])),
    params(("id" = u64, Path, description = "decision id (the answer's `decision_id`)")),
    responses(
        (status = 200, description = "the replay: identical, or the exact differences", body = Replay),
        (status = 400, description = "the id is not a number", body = super::Problem),
        (status = 401, description = "no or bad token", body = super::Problem),
        (status = 403, description = "wrong role", body = super::Problem),
        (status = 404, description = "no such decision", body = super::Problem),
        (status = 409, description = "made on inline records (`inline_records`), or its rules cannot be rebuilt (`version_unavailable`)", body = super::Problem),
    ))]
pub async fn replay_decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<Replay>, ApiError> {
    caller.require(&[Role::CityOffice, Role::Evaluator, Role::Bureau])?;
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("`{id}` is not a decision id; give the `decision_id` of an answer"),
        )
    })?;
    blocking(move || {
        let active = |ruleset: &str| state.registry.source(ruleset);
        match replay(state.store.as_ref(), id, &active) {
            Ok(replay) => Ok(AppJson(replay)),
            Err(e @ ReplayError::NotFound(_)) => {
                Err(ApiError::not_found("decision_not_found", e.to_string()))
            }
            Err(e @ ReplayError::InlineRecords(_)) => Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "inline_records",
                e.to_string(),
            )),
            Err(e @ ReplayError::Version { .. }) => Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "version_unavailable",
                e.to_string(),
            )),
            Err(ReplayError::Store(e)) => Err(ApiError::internal(e)),
        }
    })
    .await
}

/// Where a format-2 receipt sits in its signed batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchPlace {
    /// Its position, from 0.
    pub index: u64,
    /// How many receipts were signed together.
    pub size: u64,
}

/// What a check of a receipt found. `valid` says the receipt is intact under the key it names
/// (`signed_by`); only `signed_by_this_service: true` says this service made it. The receipt's
/// statement (`format`, `decision_id`, `uscc`, … `context`) follows, also when it is invalid
/// (then it is only what the receipt claims).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyAnswer {
    /// Whether the signature covers this content (nothing was altered).
    pub valid: bool,
    /// Why the receipt is not valid (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A stable code for `reason`: `altered` (the signature does not match), `not_in_batch`
    /// (a field or the batch path was altered), `malformed` (a key, signature, hash or format
    /// that cannot be checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
    /// The public key the receipt names (64 hex digits).
    pub signed_by: String,
    /// Whether that key is this service's (`GET /api/v1/receipts/public-key`).
    pub signed_by_this_service: bool,
    /// Its place in its signed batch (format 2), or `null` (format 1).
    pub batch: Option<BatchPlace>,
    /// What the receipt states.
    #[serde(flatten)]
    pub statement: ReceiptBody,
}

impl VerifyAnswer {
    fn of(verdict: Verdict) -> VerifyAnswer {
        use crate::receipt::ReceiptError;
        let (reason, problem) = match &verdict.outcome {
            Ok(()) => (None, None),
            Err(e) => (
                Some(e.to_string()),
                Some(match e {
                    ReceiptError::BadSignature => "altered",
                    ReceiptError::NotInBatch => "not_in_batch",
                    _ => "malformed",
                }),
            ),
        };
        let receipt = verdict.receipt;
        VerifyAnswer {
            valid: reason.is_none(),
            reason,
            problem,
            signed_by: receipt.public_key,
            signed_by_this_service: verdict.by_trusted_key,
            batch: receipt.batch.map(|b| BatchPlace {
                index: b.index,
                size: b.size,
            }),
            statement: receipt.body,
        }
    }
}

fn own_key(state: &AppState) -> Option<String> {
    state.receipts.as_ref().map(|key| key.public_key_hex())
}

/// Checks a receipt (public: no token; rate limited per client like the site).
///
/// The body is the receipt JSON as the evaluate answer gives it (`receipt`), or the whole
/// answer holding it, or a tender member saved alone. A receipt that reads but does not
/// verify is a 200 with `valid: false` and the reason.
#[utoipa::path(post, path = "/api/v1/receipts/verify", tag = "evaluate",
    request_body(content = crate::receipt::Receipt, description = "a receipt (or an evaluate answer holding one as `receipt`), at most 64 KiB", content_type = "application/json"),
    responses(
        (status = 200, description = "the check: valid or not (with the reason), who signed, what it states", body = VerifyAnswer),
        (status = 400, description = "the body is not a receipt (`not_a_receipt`: what is wrong and where)", body = super::Problem),
        (status = 413, description = "the body is larger than 64 KiB", body = super::Problem),
        (status = 429, description = "too many requests from this client", body = super::Problem),
    ))]
pub async fn verify_receipt(
    State(state): State<AppState>,
    body: Result<String, StringRejection>,
) -> Result<AppJson<VerifyAnswer>, ApiError> {
    let text = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is larger than {} KiB; a receipt is a few KiB: send the receipt alone",
                    crate::site::receipt::MAX_RECEIPT_BYTES / 1024
                ),
            )
        } else {
            ApiError::new(e.status(), "invalid_body", e.body_text())
        }
    })?;
    match check(&text, own_key(&state).as_deref()) {
        Ok(verdict) => Ok(AppJson(VerifyAnswer::of(verdict))),
        Err(e) => {
            let (at, message) = match serde_json::from_str::<serde_json::Value>(&text) {
                Err(syntax) => (
                    format!("line {}, column {}", syntax.line(), syntax.column()),
                    format!("the body is not valid JSON: {syntax}"),
                ),
                Ok(_) => ("body".to_owned(), e.to_string()),
            };
            Err(ApiError::bad_request(
                "not_a_receipt",
                format!(
                    "{message}; send a receipt as the evaluate answer gives it (its `receipt`: \
                     `format`, `decision_id`, … `public_key`, `signature`), or the whole answer"
                ),
            )
            .with_errors(vec![super::ItemError { at, message }]))
        }
    }
}

/// The form of the receipt page.
#[derive(Debug, Deserialize)]
pub struct ReceiptForm {
    /// The pasted receipt JSON.
    #[serde(default)]
    pub receipt: String,
}

/// `GET /receipt`: the receipt check page (回执核验) with this service's public key.
pub async fn receipt_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let page = ReceiptPage::blank(own_key(&state));
    match askama::Template::render(&page) {
        Ok(body) => cached(&headers, "text/html; charset=utf-8", "no-cache", body),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the receipt page");
            html_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &crate::site::pages::ErrorPage::internal(),
            )
        }
    }
}

/// `POST /receipt` (a plain HTML form): the check of the pasted receipt, the text kept.
pub async fn receipt_check(
    State(state): State<AppState>,
    form: Result<axum::Form<ReceiptForm>, FormRejection>,
) -> Response {
    let key = own_key(&state);
    let text = match form {
        Ok(axum::Form(form)) => form.receipt,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!(
                "粘贴的内容超过 {} KB，不是一份回执的大小。请只粘贴一份回执。",
                crate::site::receipt::MAX_RECEIPT_BYTES / 1024
            );
            return html_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                &ReceiptPage::refused(key, String::new(), message),
            );
        }
        Err(_) => {
            let message = "没有收到表单内容：请使用本页的输入框粘贴回执后点“核验”。".to_owned();
            return html_page(
                StatusCode::BAD_REQUEST,
                &ReceiptPage::refused(key, String::new(), message),
            );
        }
    };
    match check(&text, key.as_deref()) {
        Ok(verdict) => html_page(StatusCode::OK, &ReceiptPage::checked(key, text, &verdict)),
        Err(e) => {
            let message = input_problem(&text, &e);
            html_page(
                StatusCode::BAD_REQUEST,
                &ReceiptPage::refused(key, text, message),
            )
        }
    }
    .into_response()
}
