//! Protection of the service and its public routes: security headers on every response,
//! per-client rate limiting of the public routes (site pages, CSV, `GET /api/v1/disclosure`)
//! with the `governor` GCRA limiter keyed by peer IP, and ETag revalidation (304) of pages.
//!
//! Requests without a peer address are not rate limited: a real connection always has one
//! (`serve` inserts it as `ConnectInfo` into every request of a connection), so only in-process
//! callers (the tests' `oneshot`) lack it.

use super::AppState;
use super::error::ApiError;
use crate::site::pages::ErrorPage;
use askama::Template;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The Content-Security-Policy of every response: no script at all, styles and images from
/// this server only, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

/// The Content-Security-Policy of the staff console's pages (`/console…`): scripts, styles,
/// images and script requests from this server only — no inline script, no inline handler.
pub const CONSOLE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     connect-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Every response gets these headers (console pages with [`CONSOLE_CONTENT_SECURITY_POLICY`]).
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Adds [`SECURITY_HEADERS`] to a response (a middleware over the whole router).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let console = request.uri().path().starts_with("/console");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if console {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CONTENT_SECURITY_POLICY),
        );
    }
    response
}

/// How many requests one client may make to the public routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second per client; 0 turns the limit off.
    pub per_second: u32,
    /// Requests a client may make at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimit {
    /// 10 requests per second per client, bursts of 60 (a person paging and downloading
    /// never meets it; a scraper does).
    fn default() -> Self {
        RateLimit {
            per_second: 10,
            burst: 60,
        }
    }
}

/// The per-client limiter of the public routes.
pub struct PublicLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl PublicLimiter {
    /// A limiter for `limit`, or `None` when the limit is off.
    pub fn new(limit: RateLimit) -> Option<Arc<PublicLimiter>> {
        let per_second = NonZeroU32::new(limit.per_second)?;
        let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(per_second);
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Some(Arc::new(PublicLimiter {
            limiter: RateLimiter::keyed(quota),
        }))
    }

    /// `Ok` when `ip` may make a request now; else the seconds to wait (at least 1).
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&client_key(ip))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
    }

    /// Forgets clients that are back to a full burst (keeps the table small).
    pub fn forget_idle_clients(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The client a limit applies to: an IPv4 address (also when written as an IPv4-mapped
/// IPv6 address), or an IPv6 address's /64 network, which one client holds whole (keying by
/// the full address would give it 2^64 fresh bursts).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(network))
            }
        },
    }
}

/// Rate limits a public route by peer IP: 429 with `Retry-After`, a Chinese page for the
/// site and problem+json under `/api/`.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let (Some(limiter), Some(ip)) = (&state.limiter, peer)
        && let Err(wait) = limiter.check(ip)
    {
        let api = request.uri().path().starts_with("/api/");
        return too_many_requests(api, wait);
    }
    next.run(request).await
}

fn too_many_requests(api: bool, wait: u64) -> Response {
    let mut response = if api {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this client; retry after {wait} s"),
        )
        .into_response()
    } else {
        html_page(
            StatusCode::TOO_MANY_REQUESTS,
            &ErrorPage::too_many_requests(wait),
        )
    };
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Renders a page with a status (no caching).
pub fn html_page(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "系统错误：页面无法生成，错误已记录。",
            )
                .into_response()
        }
    }
}

/// A strong ETag of some bytes: `"` + 32 hex digits of their SHA-256 + `"`.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`); weak tags match too.
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// A 200 answer with an ETag and a `Cache-Control`, or 304 when the client has it already.
pub fn cached(
    headers: &HeaderMap,
    content_type: &'static str,
    cache_control: &'static str,
    body: impl Into<axum::body::Bytes>,
) -> Response {
    let body = body.into();
    let etag = etag_of(&body);
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let common = [
        (header::ETAG, etag_value),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ),
    ];
    if not_modified(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ipv6_client_is_its_64_network_and_a_mapped_ipv4_is_the_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(
            super::client_key(ip("2001:db8:1:2:aaaa::1")),
            super::client_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            super::client_key(ip("2001:db8:1:2::1")),
            super::client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(super::client_key(ip("::ffff:10.0.0.7")), ip("10.0.0.7"));
    }

    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(not_modified(&headers, "\"b\""));
        assert!(not_modified(&headers, "\"a\""));
        assert!(!not_modified(&headers, "\"c\""));
        assert!(!not_modified(&HeaderMap::new(), "\"a\""));
    }

    #[test]
    fn the_limiter_refuses_after_the_burst_and_says_how_long_to_wait() {
        let limiter = PublicLimiter::new(RateLimit {
            per_second: 1,
            burst: 3,
        })
        .expect("on");
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(limiter.check(ip), Ok(()));
        }
        let wait = limiter.check(ip).expect_err("over the burst");
        assert!((1..=1).contains(&wait), "{wait}");
        assert_eq!(limiter.check(other), Ok(()));
        assert!(
            PublicLimiter::new(RateLimit {
                per_second: 0,
                burst: 5
            })
            .is_none()
        );
    }
}
