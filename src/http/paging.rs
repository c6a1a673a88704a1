//! One paging style for every list route: query parameters `limit` (default
//! [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]) and `cursor` (the opaque `next_cursor` of the
//! previous page); answers `{ "items": [...], "next_cursor": "…" | null }`, `null` on the
//! last page.

use super::error::ApiError;
use serde::Serialize;

/// Items on a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// Most items on one page.
pub const MAX_LIMIT: usize = 1000;

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The page size asked for, checked.
pub fn limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        0 => Err(ApiError::bad_request(
            "bad_query",
            format!("limit is 1 to {MAX_LIMIT}, not 0"),
        )),
        n if n > MAX_LIMIT => Err(ApiError::bad_request(
            "bad_query",
            format!("limit {n} is too large; ask for at most {MAX_LIMIT} items"),
        )),
        n => Ok(n),
    }
}

/// A cursor that is a position or a sequence number.
pub fn numeric_cursor(cursor: Option<&str>) -> Result<Option<u64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                ApiError::bad_request(
                    "bad_cursor",
                    "the cursor is not one this list gave out; pass `next_cursor` of the previous page unchanged",
                )
            })
        })
        .transpose()
}

/// A page of `items`, given in order, of which at most `limit` are kept; `cursor_of` makes the
/// cursor from the last kept item when more follow.
pub fn page<T>(mut items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more {
        items.last().map(cursor_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// The schemas of the pages, for the OpenAPI document.
pub mod schemas {
    use crate::compile::RuleSetMeta;

    macro_rules! page_schema {
        ($name:ident, $item:ty, $what:literal) => {
            #[doc = concat!("A page of ", $what, ".")]
            #[derive(Debug, utoipa::ToSchema)]
            #[allow(dead_code)]
            pub struct $name {
                /// The items on this page.
                pub items: Vec<$item>,
                /// Pass as `cursor` to get the next page; `null` on the last page.
                pub next_cursor: Option<String>,
            }
        };
    }

    page_schema!(
        DecisionPage,
        super::super::records::DecisionView,
        "the decision log"
    );
    page_schema!(DraftPage, super::super::drafts::DraftView, "drafts");
    page_schema!(RuleSetPage, RuleSetMeta, "rule sets");
    page_schema!(
        VersionPage,
        super::super::rulesets::VersionView,
        "a rule set's versions"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_a_cursor_only_when_more_follow() {
        let full = page((1..=3).collect(), 2, u64::to_string);
        assert_eq!(
            (full.items, full.next_cursor),
            (vec![1, 2], Some("2".into()))
        );
        let last = page((1..=2).collect(), 2, u64::to_string);
        assert_eq!((last.items, last.next_cursor), (vec![1, 2], None));
        assert!(limit(Some(0)).is_err() && limit(Some(MAX_LIMIT + 1)).is_err());
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert!(numeric_cursor(Some("x")).is_err());
    }
}
