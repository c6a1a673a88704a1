//! The public credit disclosure site (信用信息公示): the publication rule, the search
//! parameters of its pages, the page models rendered by compile-time checked askama
//! templates (`templates/`), the CSV export and the embedded assets. Free of axum: the
//! handlers that serve these pages live in `http::site`.
//!
//! What the public sees follows the store's publication rule
//! ([`crate::store::is_public_on`]): a repaired (信用修复) or revoked (撤销) record is never
//! shown, for any day; a past day shows only what is still public today. The pages say so in
//! plain Chinese and link to the "about" page's section on credit repair.

pub mod csv;
pub mod pages;
pub mod query;
pub mod receipt;
pub mod text;

use chrono::{NaiveDate, Utc};

pub use query::{ParamError, Search};

/// Today in Asia/Shanghai by the system clock: the default day of every page (the service
/// asks its own clock, [`crate::review::Clock`], which is this one outside tests).
pub fn today_in_shanghai() -> NaiveDate {
    crate::review::local_date(Utc::now())
}

/// The site's stylesheet, embedded in the binary.
pub const STYLESHEET: &str = include_str!("../assets/site.css");

/// The site's icon (SVG), embedded in the binary.
pub const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Largest number of rows of one CSV download.
pub const CSV_MAX_ROWS: usize = 10_000;

/// Rows on one result page unless `limit` says otherwise.
pub const DEFAULT_PAGE_ROWS: usize = 50;

/// Most rows `limit` may ask for on one result page.
pub const MAX_PAGE_ROWS: usize = 100;
