//! The accept loop: HTTP/1.1 connections served with hyper under limits that protect the
//! service from slow and many clients.
//!
//! * **Header-read timeout** ([`ConnectionLimits::header_read_timeout`], default
//!   [`HEADER_READ_TIMEOUT`] = 10 s): a client must send a request's complete headers within
//!   this time, or its connection is closed (a client trickling one byte every few seconds
//!   cannot hold a connection).
//! * **Idle timeout** ([`ConnectionLimits::idle_timeout`], default [`IDLE_TIMEOUT`] = 10 s): a
//!   keep-alive connection with no request in flight for this long is closed. hyper also
//!   counts the wait for the next request's headers against the header-read timeout, so an
//!   idle connection is closed after the shorter of the two.
//! * **Connection limit** ([`ConnectionLimits::max_connections`], default [`default_max_connections`]):
//!   at most this many connections are served at once, kept below the process's file
//!   descriptor limit so the database, the journal and the listener always have descriptors
//!   left. Further clients wait in the listen backlog until a connection closes; the first
//!   time the limit is reached (and again each time after it was left) a warning is logged.
//!
//! Graceful shutdown: once the shutdown future resolves, no connection is accepted; idle
//! connections close at once, requests in flight are answered, then [`serve_connections`]
//! returns.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Default time a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a keep-alive connection may stay without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing connection (idle, or the server shutting down) may take to finish
/// writing its answer to a client that does not read it; then it is dropped, so such a
/// client can hold neither a connection slot nor the shutdown.
pub const CLOSE_GRACE: Duration = Duration::from_secs(30);

/// Upper bound of the default connection limit.
pub const MAX_CONNECTIONS: usize = 10_000;

/// File descriptors kept free for the database, the decision journal, the listener and logs.
pub const RESERVED_DESCRIPTORS: usize = 256;

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's complete headers.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open without a request in flight.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// [`MAX_CONNECTIONS`], or less where the open-files limit (`ulimit -n`) is lower: that
/// limit less [`RESERVED_DESCRIPTORS`] (at least 16).
pub fn default_max_connections() -> usize {
    match descriptor_limit() {
        Some(limit) => MAX_CONNECTIONS.min(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)),
        None => MAX_CONNECTIONS,
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` elsewhere.
pub fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// When a connection last finished a request, and how many it is serving.
struct Activity {
    start: Instant,
    last_done_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_done_ms.load(Ordering::Acquire));
        Some(self.start.elapsed().saturating_sub(last))
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then waits for
/// the connections' requests in flight.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, 1_000_000);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    let at_limit = AtomicBool::new(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                at_limit.store(false, Ordering::Relaxed);
                permit
            }
            Err(_) => {
                if !at_limit.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        max_connections = max,
                        "connection limit reached: {max} connections open; new connections wait until one closes"
                    );
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or a connection reset before it was accepted: wait a
                // little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            serve_one(stream, peer, router, limits, stopped).await;
            drop(permit);
        });
    }
    let _ = stop.send(true);
    // Every connection holds a permit until it is done.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

/// Serves one connection; every request carries the peer's address as axum's
/// `ConnectInfo` (the public routes' rate limit is keyed by it).
async fn serve_one(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        start: Instant::now(),
        last_done_ms: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let tracker = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let router = router.clone();
        let tracker = tracker.clone();
        tracker.in_flight.fetch_add(1, Ordering::AcqRel);
        async move {
            let response = router.oneshot(request.map(axum::body::Body::new)).await;
            let done = u64::try_from(tracker.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            tracker.last_done_ms.store(done, Ordering::Release);
            tracker.in_flight.fetch_sub(1, Ordering::AcqRel);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    // Once closing, a client that does not read its answer may hold the connection at most
    // CLOSE_GRACE longer (hyper waits for the answer to be written): then it is dropped.
    let mut close_deadline = std::pin::pin!(tokio::time::sleep(CLOSE_GRACE));
    let mut closing = *stopped.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let wait = match activity.idle_for() {
            Some(idle) => limits.idle_timeout.saturating_sub(idle),
            None => limits.idle_timeout,
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopped.changed(), if !closing => {
                if changed.is_err() || *stopped.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                    close_deadline.as_mut().reset(tokio::time::Instant::now() + CLOSE_GRACE);
                }
            }
            () = &mut close_deadline, if closing => {
                tracing::debug!("a closing connection did not finish in time: dropped");
                return;
            }
            () = tokio::time::sleep(wait), if !closing => {
                if activity.idle_for().is_some_and(|idle| idle >= limits.idle_timeout) {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                    close_deadline.as_mut().reset(tokio::time::Instant::now() + CLOSE_GRACE);
                }
            }
        }
    }
}
