//! `credit-rules sync --from URL`: pulls the provincial platform's feed with a
//! cursor and stores it, so the city's copy stays current without pushes.
//!
//! # The feed protocol
//! `GET {URL}?cursor={cursor}&limit={n}` (no `cursor` on the very first call)
//! answers `200` with `{"items": [row, …], "next_cursor": "…"}`: rows in the
//! provincial platform's own shapes (see [`crate::intake`]) or in this
//! service's record schema, and the cursor that follows the last row. An empty
//! `items` means the client has caught up.
//!
//! # No gaps, no duplicates
//! A page is stored (durably, via [`crate::import::ingest_values`]) **before**
//! its `next_cursor` is saved in the store under `sync:{name}`. A crash between
//! the two re-fetches that page after the restart, which is harmless because
//! intake is idempotent by source record id; a crash before storing re-fetches
//! it too. So a restarted sync resumes where the last durable page ended.
//! Rejected rows are reported and skipped; they do not stop the sync. Each is also added to
//! the store's list of the last rejected rows ([`crate::import::rejections`], shown on the
//! console's intake status) before the page's cursor is saved.

use crate::import::{IngestSummary, ingest_values, rejections};
use crate::store::{RecordStore, StoreError};
use serde::Deserialize;
use std::time::Duration;

/// One page of the feed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedPage {
    /// Rows, oldest first, each kept as the text received (numbers are read from their
    /// digits, never through a float).
    pub items: Vec<Box<serde_json::value::RawValue>>,
    /// The cursor after the last row.
    pub next_cursor: String,
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Pages fetched (with at least one row).
    pub pages: usize,
    /// Rows received.
    pub rows: usize,
    /// Records stored for the first time.
    pub inserted: usize,
    /// Records that changed.
    pub updated: usize,
    /// Rows already stored unchanged.
    pub unchanged: usize,
    /// Events applied.
    pub events_applied: usize,
    /// Rows refused: where and why.
    pub rejected: Vec<(String, String)>,
    /// The cursor saved at the end.
    pub cursor: Option<String>,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The feed could not be fetched or did not follow the protocol.
    #[error("fetching `{url}` failed: {reason}")]
    Feed {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The store failed; everything before the failing page is stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Options of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The feed's URL.
    pub url: String,
    /// The cursor's name in the store (one per feed).
    pub name: String,
    /// Rows per page asked for.
    pub page_size: usize,
    /// Stop after this many pages (`None`: until caught up).
    pub max_pages: Option<usize>,
    /// Timeout of one request.
    pub timeout: Duration,
}

/// The store key of a feed's cursor.
pub fn cursor_key(name: &str) -> String {
    format!("sync:{name}")
}

/// Pulls pages until the feed is caught up (or `max_pages`), storing each
/// page before saving the cursor after it.
pub fn sync<S: RecordStore + ?Sized>(
    store: &S,
    options: &SyncOptions,
) -> Result<SyncSummary, SyncError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .build()
        .into();
    let key = cursor_key(&options.name);
    let mut summary = SyncSummary {
        cursor: store.cursor(&key)?,
        ..SyncSummary::default()
    };
    loop {
        if options.max_pages.is_some_and(|max| summary.pages >= max) {
            return Ok(summary);
        }
        let page = fetch(&agent, options, summary.cursor.as_deref())?;
        if page.items.is_empty() {
            return Ok(summary);
        }
        let stored = ingest_values(store, &page.items)?;
        let source = format!(
            "sync {}, page after cursor {}",
            options.name,
            summary.cursor.as_deref().unwrap_or("(start)")
        );
        // The list is a status display: failing to keep it must not stop the sync.
        if let Err(e) = rejections::record(
            store,
            rejections::of_batch(&source, &page.items, &stored.rejected, chrono::Utc::now()),
        ) {
            tracing::warn!(error = %e, "could not keep the rejected rows for the intake status");
        }
        add(&mut summary, page.items.len(), stored);
        store.set_cursor(&key, &page.next_cursor)?;
        summary.cursor = Some(page.next_cursor);
    }
}

fn add(summary: &mut SyncSummary, rows: usize, stored: IngestSummary) {
    summary.pages += 1;
    summary.rows += rows;
    summary.inserted += stored.inserted;
    summary.updated += stored.updated;
    summary.unchanged += stored.unchanged;
    summary.events_applied += stored.events_applied;
    summary.rejected.extend(stored.rejected);
}

fn fetch(
    agent: &ureq::Agent,
    options: &SyncOptions,
    cursor: Option<&str>,
) -> Result<FeedPage, SyncError> {
    let failed = |reason: String| SyncError::Feed {
        url: options.url.clone(),
        reason,
    };
    let mut request = agent
        .get(&options.url)
        .query("limit", options.page_size.to_string());
    if let Some(cursor) = cursor {
        request = request.query("cursor", cursor);
    }
    let mut response = request.call().map_err(|e| failed(e.to_string()))?;
    response.body_mut().read_json::<FeedPage>().map_err(|e| {
        failed(format!(
            "the answer is not a feed page ({{\"items\": […], \"next_cursor\": \"…\"}}): {e}"
        ))
    })
}

/// `credit-rules sync` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// The feed's URL (see the protocol in `src/sync.rs`).
    #[arg(long = "from")]
    pub from: String,
    /// The database folder.
    #[arg(long, default_value = "data")]
    pub data: std::path::PathBuf,
    /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
    #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// The cursor's name (one per feed).
    #[arg(long, default_value = "provincial")]
    pub name: String,
    /// Rows per page.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub page_size: u32,
    /// Keep polling every N seconds after catching up.
    #[arg(long, value_name = "SECONDS")]
    pub follow: Option<u64>,
}

/// Runs `credit-rules sync`.
pub fn run(args: &SyncArgs) -> std::process::ExitCode {
    let location = crate::store::StoreLocation::choose(&args.data, args.store.as_deref());
    let store = match location.and_then(|l| l.open()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let options = SyncOptions {
        url: args.from.clone(),
        name: args.name.clone(),
        page_size: args.page_size as usize,
        max_pages: None,
        timeout: Duration::from_secs(30),
    };
    loop {
        match sync(&*store, &options) {
            Ok(summary) => report(&summary),
            Err(e) => {
                eprintln!("error: {e}");
                if args.follow.is_none() {
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
        match args.follow {
            Some(seconds) => std::thread::sleep(Duration::from_secs(seconds.max(1))),
            None => return std::process::ExitCode::SUCCESS,
        }
    }
}

fn report(summary: &SyncSummary) {
    for (at, reason) in &summary.rejected {
        eprintln!("{at}: rejected: {reason}");
    }
    eprintln!(
        "synced {} page(s), {} row(s): {} inserted, {} updated, {} unchanged, {} event(s) applied, {} rejected; cursor {}",
        summary.pages,
        summary.rows,
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.events_applied,
        summary.rejected.len(),
        summary.cursor.as_deref().unwrap_or("(none)")
    );
}
