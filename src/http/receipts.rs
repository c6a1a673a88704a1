//! Receipts and replay: the public key that signs decision receipts (public, so that anyone
//! can check a receipt), and the replay of a logged decision from the stored rules and the
//! records as the store knew them then.

use super::auth::{Caller, Role};
use super::error::{ApiError, AppJson};
use super::{AppState, blocking};
use crate::replay::{Replay, ReplayError, replay};
use axum::extract::{Path, State};
use serde::Serialize;

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
