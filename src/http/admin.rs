//! Administration of a running server: `POST /api/v1/admin/backup` (city office only) takes
//! a consistent snapshot of the sled store from inside the process that holds it, into the
//! data folder's `backups/`, for `credit-rules backup` (sled allows one process per
//! database, so the command cannot open a folder `serve` holds). The format and the
//! consistency are described in `store/sled/backup.rs`.
//!
//! The route is not under the request timeout: a large database takes longer than a request
//! may, and the snapshot is written whole or not at all.

use super::AppState;
use super::auth::{Caller, Role};
use super::error::{ApiError, AppJson};
use crate::store::{BackupError, BackupSummary};
use axum::extract::State;
use axum::http::StatusCode;

/// Takes a backup of the store into the data folder's `backups/` and says where it is.
#[utoipa::path(post, path = "/api/v1/admin/backup", tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, description = "the snapshot was written (a new file in the data folder's backups/)", body = BackupSummary),
        (status = 403, description = "only the city office takes backups", body = super::Problem),
        (status = 409, description = "this store is not backed up by credit-rules (PostgreSQL: pg_dump; a temporary store)", body = super::Problem),
        (status = 500, description = "the snapshot could not be written", body = super::Problem),
    ))]
pub async fn backup(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AppJson<BackupSummary>, ApiError> {
    caller.require(&[Role::CityOffice])?;
    let store = state.store.clone();
    let taken = tokio::task::spawn_blocking(move || store.backup())
        .await
        .map_err(ApiError::internal)?;
    match taken {
        Ok(summary) => {
            tracing::info!(
                file = %summary.file.display(),
                bytes = summary.bytes,
                entries = summary.entries,
                "backup written"
            );
            Ok(AppJson(summary))
        }
        Err(BackupError::Unsupported(detail)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "backup_unsupported",
            detail,
        )),
        Err(e) => {
            tracing::error!(error = %e, "backup failed");
            Err(ApiError::internal(e))
        }
    }
}
