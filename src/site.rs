//! The public credit disclosure site (信用信息公示): the publication rule, the search
//! parameters of its pages, the page models rendered by compile-time checked askama
//! templates (`templates/`), the CSV export and the embedded assets. Free of axum: the
//! handlers that serve these pages live in `http::site`.
//!
//! # The publication rule
//!
//! A record is public on a day `D` (the page's `as_of`, default today in Asia/Shanghai) when
//! all of these hold ([`is_public`]):
//!
//! - its kind is a dishonesty kind ([`crate::store::is_dishonesty`]: everything except 表彰奖励,
//!   行政许可 and 信用等级);
//! - it counts on `D` ([`CreditRecord::counts_on`]: decided on or before `D`, disclosure end
//!   on or after `D`, not repaired and not revoked on or before `D`);
//! - if `D` is before today, it still counts today: a record that has since been repaired
//!   (信用修复), revoked (撤销) or whose disclosure period has ended is never shown for any day,
//!   so looking up a past day cannot undo a repair. Staff keep the full history behind their
//!   roles in the API.

pub mod csv;
pub mod pages;
pub mod query;
pub mod text;

use crate::record::CreditRecord;
use crate::store::is_dishonesty;
use chrono::{FixedOffset, NaiveDate, Utc};

pub use query::{ParamError, Search};

/// Today in Asia/Shanghai (UTC+8, no daylight saving): the default day of every page.
pub fn today_in_shanghai() -> NaiveDate {
    let shanghai = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&shanghai).date_naive()
}

/// Whether `record` is shown to the public for the day `day` when today is `today` (see the
/// module documentation).
pub fn is_public(record: &CreditRecord, day: NaiveDate, today: NaiveDate) -> bool {
    is_dishonesty(record.kind) && record.counts_on(day) && (day >= today || record.counts_on(today))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordKind, Uscc};

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn record(kind: RecordKind) -> CreditRecord {
        let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("uscc");
        let mut r = CreditRecord::new("R1", uscc, kind, day("2024-01-10"));
        r.disclosure_until = Some(day("2026-01-10"));
        r
    }

    #[test]
    fn a_repair_hides_the_record_for_every_day_including_past_ones() {
        let mut r = record(RecordKind::DishonestDebtor);
        let today = day("2025-03-01");
        assert!(is_public(&r, day("2024-06-01"), today));
        r.repaired_on = Some(day("2024-07-01"));
        assert!(!is_public(&r, day("2024-06-01"), today));
        assert!(!is_public(&r, today, today));
    }

    #[test]
    fn a_repair_dated_after_today_ends_publication_on_its_day() {
        let mut r = record(RecordKind::Blacklist);
        let today = day("2025-03-01");
        r.repaired_on = Some(day("2025-04-01"));
        assert!(is_public(&r, today, today));
        assert!(is_public(&r, day("2025-03-31"), today));
        assert!(!is_public(&r, day("2025-04-01"), today));
    }

    #[test]
    fn revoked_expired_and_non_dishonesty_records_are_not_public() {
        let today = day("2025-03-01");
        let mut revoked = record(RecordKind::AdminPenalty);
        revoked.revoked_on = Some(day("2024-12-01"));
        assert!(!is_public(&revoked, day("2024-06-01"), today));
        let mut expired = record(RecordKind::AdminPenalty);
        expired.disclosure_until = Some(day("2024-12-31"));
        assert!(!is_public(&expired, day("2024-06-01"), today));
        let grade = record(RecordKind::Commendation);
        assert!(!is_public(&grade, today, today));
    }
}
