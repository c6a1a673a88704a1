//! The search parameters of the site's pages (`q`, `kind`, `authority`, `decided_from`,
//! `decided_to`, `as_of`, `cursor`, `limit`: the names of the JSON API), read from the query
//! string with a Chinese message that names the bad parameter and says how to fix it (the
//! API's parser answers in English for problem+json). Empty fields (as a form sends them)
//! count as absent; unknown parameters are ignored, as websites do.

use super::{DEFAULT_PAGE_ROWS, MAX_PAGE_ROWS};
use crate::record::RecordKind;
use crate::store::{DisclosureCursor, DisclosureFilter, is_dishonesty};
use chrono::{Datelike, NaiveDate};

/// Longest accepted search text or authority, in characters.
pub const MAX_TEXT_CHARS: usize = 100;

/// Longest accepted cursor, in hex digits: a position is the day (4 bytes), the USCC (18)
/// and a record id of up to [`crate::store::MAX_ID_LEN`] bytes.
pub const MAX_CURSOR_BYTES: usize = 2 * (4 + 18 + crate::store::MAX_ID_LEN);

/// A validated search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Part of an entity name, or (part of) a USCC.
    pub q: Option<String>,
    /// Only this dishonesty kind.
    pub kind: Option<RecordKind>,
    /// Part of the deciding authority's name.
    pub authority: Option<String>,
    /// Decided on or after this day.
    pub from: Option<NaiveDate>,
    /// Decided on or before this day.
    pub to: Option<NaiveDate>,
    /// The day the list is for.
    pub as_of: NaiveDate,
    /// Whether `as_of` was given (else it is today).
    pub as_of_given: bool,
    /// Where the page starts (opaque, from a "next page" link).
    pub cursor: Option<DisclosureCursor>,
    /// Rows per page.
    pub limit: usize,
}

/// A bad query parameter, for the 400 page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("参数 {param}={value}：{problem}")]
pub struct ParamError {
    /// The parameter's name, e.g. `as_of`.
    pub param: &'static str,
    /// The value received.
    pub value: String,
    /// What is wrong, in Chinese (e.g. 日期无效).
    pub problem: String,
    /// How to fix it, in Chinese.
    pub fix: String,
}

impl ParamError {
    fn new(param: &'static str, value: &str, problem: impl Into<String>, fix: &str) -> Self {
        ParamError {
            param,
            value: value.chars().take(200).collect(),
            problem: problem.into(),
            fix: fix.to_owned(),
        }
    }
}

/// The Chinese label of a query parameter, for messages.
pub fn param_label(param: &str) -> &'static str {
    match param {
        "q" => "主体名称或统一社会信用代码",
        "kind" => "失信类别",
        "authority" => "认定机关",
        "decided_from" => "认定日期（起）",
        "decided_to" => "认定日期（止）",
        "as_of" => "公示日期",
        "cursor" => "翻页位置",
        "limit" => "每页条数",
        _ => "参数",
    }
}

impl Search {
    /// Reads the search from query pairs; `today` is the default day.
    pub fn parse(pairs: &[(String, String)], today: NaiveDate) -> Result<Search, ParamError> {
        let value = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, v)| k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim())
        };
        let q = text(value("q"), "q")?;
        let authority = text(value("authority"), "authority")?;
        let kind = value("kind").map(parse_kind).transpose()?;
        let from = value("decided_from")
            .map(|v| date(v, "decided_from"))
            .transpose()?;
        let to = value("decided_to")
            .map(|v| date(v, "decided_to"))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ParamError::new(
                "decided_from",
                &f.to_string(),
                format!("开始日期 {f} 晚于结束日期 {t}"),
                "请让“认定日期（起）”不晚于“认定日期（止）”，或清空其中一项。",
            ));
        }
        let as_of = value("as_of").map(|v| date(v, "as_of")).transpose()?;
        let cursor = value("cursor").map(parse_cursor).transpose()?;
        let limit = value("limit").map(limit).transpose()?;
        Ok(Search {
            q,
            kind,
            authority,
            from,
            to,
            as_of: as_of.unwrap_or(today),
            as_of_given: as_of.is_some(),
            cursor,
            limit: limit.unwrap_or(DEFAULT_PAGE_ROWS),
        })
    }

    /// Whether any filter narrows the list (a text, a kind, an authority or a date range).
    pub fn is_filtered(&self) -> bool {
        self.q.is_some()
            || self.kind.is_some()
            || self.authority.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }

    /// The store's filter of this search, answered on `today`.
    pub fn filter(&self, today: NaiveDate) -> DisclosureFilter {
        let mut filter = DisclosureFilter::new(self.as_of, today);
        filter.query = self.q.clone();
        filter.kinds = self.kind.into_iter().collect();
        filter.authority = self.authority.clone();
        filter.decided_from = self.from;
        filter.decided_to = self.to;
        filter
    }

    /// The query string (without `?`) of this search with another cursor: for the links of
    /// the result pages and the CSV download. Parameters at their defaults are left out.
    pub fn query_string(&self, cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(kind) = self.kind {
            pairs.push(("kind", kind.code().to_owned()));
        }
        if let Some(a) = &self.authority {
            pairs.push(("authority", a.clone()));
        }
        if let Some(d) = self.from {
            pairs.push(("decided_from", d.to_string()));
        }
        if let Some(d) = self.to {
            pairs.push(("decided_to", d.to_string()));
        }
        if self.as_of_given {
            pairs.push(("as_of", self.as_of.to_string()));
        }
        if self.limit != DEFAULT_PAGE_ROWS {
            pairs.push(("limit", self.limit.to_string()));
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_owned()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn text(value: Option<&str>, param: &'static str) -> Result<Option<String>, ParamError> {
    let Some(v) = value else {
        return Ok(None);
    };
    if v.chars().count() > MAX_TEXT_CHARS {
        return Err(ParamError::new(
            param,
            v,
            format!("{}过长（{} 个字符）", param_label(param), v.chars().count()),
            &format!("请输入不超过 {MAX_TEXT_CHARS} 个字符。"),
        ));
    }
    Ok(Some(v.to_owned()))
}

fn parse_kind(v: &str) -> Result<RecordKind, ParamError> {
    match RecordKind::from_name(v) {
        Some(kind) if is_dishonesty(kind) => Ok(kind),
        Some(kind) => Err(ParamError::new(
            "kind",
            v,
            format!("“{}”不是公示的失信类别", kind.label()),
            "请从“失信类别”列表中选择，或选“全部类别”。",
        )),
        None => Err(ParamError::new(
            "kind",
            v,
            "未知的失信类别",
            "请从“失信类别”列表中选择，或选“全部类别”。",
        )),
    }
}

fn date(v: &str, param: &'static str) -> Result<NaiveDate, ParamError> {
    let fix = "请按 年-月-日 填写一个存在的日期，例如 2024-06-01。";
    let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ParamError::new(param, v, "日期无效", fix))?;
    if !(1949..=2199).contains(&parsed.year()) {
        return Err(ParamError::new(
            param,
            v,
            "日期超出范围",
            "请填写 1949 年至 2199 年之间的日期。",
        ));
    }
    Ok(parsed)
}

fn parse_cursor(v: &str) -> Result<DisclosureCursor, ParamError> {
    if v.len() > MAX_CURSOR_BYTES {
        return Err(invalid_cursor(v));
    }
    DisclosureCursor::parse(v).map_err(|_| invalid_cursor(v))
}

/// The error of a cursor that is not a position of the list.
pub fn invalid_cursor(v: &str) -> ParamError {
    ParamError::new(
        "cursor",
        v,
        "翻页位置无效",
        "请使用页面上的“下一页”链接翻页，或回到第一页重新查询。",
    )
}

fn limit(v: &str) -> Result<usize, ParamError> {
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE_ROWS).contains(&n) => Ok(n),
        _ => Err(ParamError::new(
            "limit",
            v,
            "每页条数无效",
            &format!("请填写 1 到 {MAX_PAGE_ROWS} 之间的整数。"),
        )),
    }
}

/// Percent-encodes a query-string value (everything but unreserved ASCII, RFC 3986).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 1).expect("date")
    }

    #[test]
    fn empty_fields_count_as_absent_and_today_is_the_default_day() {
        let s = Search::parse(&pairs(&[("q", ""), ("kind", ""), ("as_of", " ")]), today())
            .expect("valid");
        assert_eq!(s.q, None);
        assert_eq!(s.kind, None);
        assert_eq!(s.as_of, today());
        assert!(!s.as_of_given);
        assert!(!s.is_filtered());
    }

    #[test]
    fn an_impossible_date_names_the_parameter() {
        let e = Search::parse(&pairs(&[("as_of", "2023-02-30")]), today()).expect_err("bad");
        assert_eq!(e.param, "as_of");
        assert_eq!(e.problem, "日期无效");
        assert!(e.fix.contains("2024-06-01"));
    }

    #[test]
    fn kinds_are_read_by_code_or_label_and_must_be_published_kinds() {
        let s = Search::parse(&pairs(&[("kind", "失信被执行人")]), today()).expect("valid");
        assert_eq!(s.kind, Some(RecordKind::DishonestDebtor));
        let e = Search::parse(&pairs(&[("kind", "COMMENDATION")]), today()).expect_err("bad");
        assert_eq!(e.param, "kind");
        let e = Search::parse(&pairs(&[("kind", "红名单")]), today()).expect_err("bad");
        assert_eq!(e.problem, "未知的失信类别");
    }

    #[test]
    fn a_reversed_date_range_and_a_bad_limit_are_refused() {
        let e = Search::parse(
            &pairs(&[("decided_from", "2024-05-01"), ("decided_to", "2024-01-01")]),
            today(),
        )
        .expect_err("bad");
        assert_eq!(e.param, "decided_from");
        let e = Search::parse(&pairs(&[("limit", "0")]), today()).expect_err("bad");
        assert_eq!(e.param, "limit");
    }

    #[test]
    fn the_query_string_round_trips_through_the_parser() {
        let s = Search::parse(
            &pairs(&[
                ("q", "江夏 & <建设>"),
                ("kind", "BLACKLIST"),
                ("decided_from", "2024-01-01"),
                ("as_of", "2024-06-01"),
                ("limit", "20"),
            ]),
            today(),
        )
        .expect("valid");
        let hex = |t: &str| -> String { t.bytes().map(|b| format!("{b:02x}")).collect() };
        let cursor = format!("00000000{}{}", hex("91420100MA4K3Q7T13"), hex("R1"));
        let qs = s.query_string(Some(&cursor));
        assert!(qs.starts_with("q=%E6%B1%9F%E5%A4%8F%20%26%20%3C"));
        let decoded: Vec<(String, String)> = qs
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').expect("pair");
                (k.to_string(), percent_decode(v))
            })
            .collect();
        let again = Search::parse(&decoded, today()).expect("valid");
        assert_eq!(
            again.cursor.map(|c| c.to_string()).as_deref(),
            Some(cursor.as_str())
        );
        assert_eq!(
            Search {
                cursor: None,
                ..again
            },
            s
        );
    }

    fn percent_decode(v: &str) -> String {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf-8")
    }
}
