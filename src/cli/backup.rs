//! `credit-rules backup --data DIR --out FILE` and `credit-rules restore --in FILE --data
//! NEWDIR`: backups of the sled store (format and consistency: `store/sled/backup.rs`).
//!
//! `backup` reads the folder itself when no process holds it, and never changes it: a folder
//! an older release left is backed up in its own format, and `restore` migrates the copy.
//! When `serve` holds it (sled
//! allows one process per database), it asks that server — `--server`, default
//! `http://127.0.0.1:8080`, with a city-office token from `--token` or
//! `CREDIT_RULES_TOKEN` — to write the snapshot into the folder's `backups/`, checks that
//! the server serves this very folder, moves the file to `--out` and checks its checksum.
//! A PostgreSQL store is backed up with `pg_dump` (docs/deployment.md, Backups).
//!
//! Exit status: 0 done; 2 nothing was backed up or restored (the reason is printed).

use super::Format;
use crate::store::{BackupError, BackupSummary, FORMAT_VERSION, StoreLocation};
use clap::Args;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How long the server may take to write a snapshot.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(3600);

/// `credit-rules backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The database folder (of `credit-rules serve`).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// A PostgreSQL store: refused with the pg_dump way (it is not backed up by this command).
    #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// URL of the `credit-rules serve` that holds the folder, if one does.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A city-office token for that server (default: the environment variable
    /// CREDIT_RULES_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `credit-rules restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// The new database folder: must not exist, or be empty.
    #[arg(long)]
    pub data: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Runs `credit-rules backup`.
pub fn run_backup(args: &BackupArgs) -> ExitCode {
    match backup(args) {
        Ok(summary) => {
            print_summary("backup written", &summary, args.format);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs `credit-rules restore`.
pub fn run_restore(args: &RestoreArgs) -> ExitCode {
    match crate::store::restore_backup(&args.input, &args.data) {
        Ok(summary) => {
            print_summary("restored", &summary, args.format);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_summary(what: &str, summary: &BackupSummary, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(summary).unwrap_or_default()
        ),
        Format::Text => {
            println!(
                "{what}: {} ({} bytes, checksum {}); store `{}` as of {}: {} trees, {} \
                 entries, {} files",
                summary.file.display(),
                summary.bytes,
                summary.sha256,
                summary.data.display(),
                crate::receipt::receipt_time(summary.created_at),
                summary.trees,
                summary.entries,
                summary.files
            );
            if summary.store_format < FORMAT_VERSION {
                println!(
                    "the store has the older format version {}, kept as it is in the backup; \
                     the restored copy is migrated to format version {FORMAT_VERSION}",
                    summary.store_format
                );
            }
        }
    }
}

fn backup(args: &BackupArgs) -> Result<BackupSummary, String> {
    let location =
        StoreLocation::choose(&args.data, args.store.as_deref()).map_err(|e| e.to_string())?;
    if !location.is_sled() {
        return Err(format!(
            "`{}` is a PostgreSQL store: back it up with pg_dump (see docs/deployment.md, \
             Backups); `credit-rules backup` backs up a sled folder (--data DIR)",
            location.describe()
        ));
    }
    if !location.exists() {
        return Err(format!(
            "there is no record store at `{}` (give --data with the database folder of \
             `credit-rules serve`)",
            args.data.display()
        ));
    }
    if args.out.exists() {
        return Err(BackupError::Exists {
            path: args.out.display().to_string(),
        }
        .to_string());
    }
    match crate::store::backup_folder(&args.data, &args.out) {
        Ok(summary) => Ok(summary),
        Err(BackupError::Store(e)) if e.is_in_use() => backup_through_server(args),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks the server that holds the folder for the snapshot, then moves it to `--out`.
fn backup_through_server(args: &BackupArgs) -> Result<BackupSummary, String> {
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(super::TOKEN_VARIABLE).ok())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "`{}` is in use by a running server, which must take the backup: give a \
                 city-office token with --token or {} (and --server if it does not listen \
                 on {})",
                args.data.display(),
                super::TOKEN_VARIABLE,
                args.server
            )
        })?;
    let base = args.server.trim_end_matches('/');
    if !base.starts_with("http://") {
        return Err(format!(
            "--server `{}` must be an http:// URL, e.g. http://127.0.0.1:8080",
            args.server
        ));
    }
    let url = format!("{base}/api/v1/admin/backup");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(BACKUP_TIMEOUT))
        .build()
        .into();
    let mut response = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .send_empty()
        .map_err(|e| {
            format!(
                "`{}` is in use by another process, and the server at {base} cannot be \
                 reached to take the backup ({e}); give --server with the address of the \
                 `credit-rules serve` that holds it",
                args.data.display()
            )
        })?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{url}: cannot read the answer: {e}"))?;
    if !(200..300).contains(&status) {
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(format!(
            "the server at {base} did not take the backup (HTTP {status}): {detail}"
        ));
    }
    let taken: BackupSummary = serde_json::from_str(&text)
        .map_err(|e| format!("{url}: unexpected answer ({e}): {text}"))?;
    let ours =
        std::fs::canonicalize(&args.data).map_err(|e| format!("`{}`: {e}", args.data.display()))?;
    let theirs = std::fs::canonicalize(&taken.data).unwrap_or_else(|_| taken.data.clone());
    if ours != theirs {
        return Err(format!(
            "the server at {base} serves `{}`, not `{}`: its backup is at `{}`; give --server \
             with the address of the server that holds `{}`",
            taken.data.display(),
            args.data.display(),
            taken.file.display(),
            args.data.display()
        ));
    }
    let file = backup_in(&ours, &taken.file)?;
    move_file(&file, &args.out)?;
    let checked = crate::store::verify_backup(&args.out).map_err(|e| e.to_string())?;
    if checked.sha256 != taken.sha256 {
        return Err(format!(
            "`{}` does not have the checksum the server reported ({} instead of {})",
            args.out.display(),
            checked.sha256,
            taken.sha256
        ));
    }
    Ok(BackupSummary {
        file: checked.file,
        ..taken
    })
}

/// The server's backup file, checked to be a `.crbackup` file directly in the data folder's
/// `backups/` (the CLI moves and removes it: a wrong or hostile `--server` must not make it
/// touch any other file).
fn backup_in(data: &Path, file: &Path) -> Result<std::path::PathBuf, String> {
    let refuse = || {
        format!(
            "the server named `{}` as its backup, which is not a `.crbackup` file in `{}`;              check that --server is the server of this data folder",
            file.display(),
            data.join("backups").display()
        )
    };
    let file = std::fs::canonicalize(file).map_err(|_| refuse())?;
    let in_backups = file.parent() == Some(data.join("backups").as_path());
    let named = file.extension().is_some_and(|e| e == "crbackup");
    match in_backups && named {
        true => Ok(file),
        false => Err(refuse()),
    }
}

/// Renames `from` to `to`, or copies and removes it when they are on different file systems;
/// never replaces an existing `to`.
fn move_file(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        return Err(BackupError::Exists {
            path: to.display().to_string(),
        }
        .to_string());
    }
    if std::fs::hard_link(from, to).is_ok() {
        let _ = std::fs::remove_file(from);
        return Ok(());
    }
    let mut source =
        std::fs::File::open(from).map_err(|e| format!("`{}`: cannot read: {e}", from.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut target = options
        .open(to)
        .map_err(|e| format!("`{}`: cannot create: {e}", to.display()))?;
    std::io::copy(&mut source, &mut target)
        .and_then(|_| target.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(to);
            format!("`{}`: cannot write: {e}", to.display())
        })?;
    let _ = std::fs::remove_file(from);
    Ok(())
}
