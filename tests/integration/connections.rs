//! The accept loop over a real loopback socket: a client that trickles its headers is cut
//! off, an idle keep-alive connection is closed, and with the connection limit reached new
//! clients wait while open connections are still served (and a warning is logged). The
//! timeouts are configured short; the tests assert what happens, never how fast.

use credit_rules::http::{ConnectionLimits, serve_with};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any step may take before the test gives up (a hang is a failure, not a wait).
const GUARD: Duration = Duration::from_secs(20);

async fn start(
    limits: ConnectionLimits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = crate::http::state();
    tokio::spawn(async move {
        serve_with(listener, state, limits, async move {
            let _ = stopped.await;
        })
        .await
        .expect("serves");
    });
    (addr, stop)
}

fn limits(header: u64, idle: u64, max: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(header),
        idle_timeout: Duration::from_millis(idle),
        max_connections: max,
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads one response (headers and a Content-Length body); `None` when the server closed.
async fn response(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Waits until the server closes `stream` (a read returns end of file or an error).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout(GUARD, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let (addr, _stop) = start(limits(300, 60_000, 100)).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = slow.split();
    let trickle = async {
        for byte in HEALTH.iter().take(HEALTH.len() - 2) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let mut chunk = [0u8; 256];
    let cut_off = async {
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    };
    let outcome = tokio::time::timeout(GUARD, async {
        tokio::select! {
            closed = cut_off => closed,
            () = trickle => false,
        }
    })
    .await;
    assert_eq!(
        outcome,
        Ok(true),
        "the server must close a connection whose headers trickle in"
    );
    // A normal client is still served.
    let mut fine = TcpStream::connect(addr).await.expect("connect");
    fine.write_all(HEALTH).await.expect("write");
    let answer = tokio::time::timeout(GUARD, response(&mut fine))
        .await
        .expect("answers");
    assert!(answer.expect("a response").starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (addr, _stop) = start(limits(60_000, 300, 100)).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(HEALTH).await.expect("write");
    let answer = tokio::time::timeout(GUARD, response(&mut client))
        .await
        .expect("answers");
    assert!(answer.expect("a response").starts_with("HTTP/1.1 200"));
    // Kept alive: a second request on the same connection is answered.
    client.write_all(HEALTH).await.expect("write");
    let again = tokio::time::timeout(GUARD, response(&mut client))
        .await
        .expect("answers");
    assert!(again.expect("a response").starts_with("HTTP/1.1 200"));
    // Then nothing: the server closes the connection.
    assert!(
        closed(&mut client).await,
        "an idle connection must be closed"
    );
}

/// Log lines written while a test runs on its (single) thread.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn beyond_the_connection_limit_clients_wait_and_open_connections_are_served() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (addr, _stop) = start(limits(60_000, 60_000, 2)).await;
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let mut second = TcpStream::connect(addr).await.expect("connect");
    for client in [&mut first, &mut second] {
        client.write_all(HEALTH).await.expect("write");
        let answer = tokio::time::timeout(GUARD, response(client))
            .await
            .expect("answers");
        assert!(answer.expect("a response").starts_with("HTTP/1.1 200"));
    }
    // The third connection waits in the backlog: no answer while two are open.
    let mut third = TcpStream::connect(addr)
        .await
        .expect("the kernel accepts it");
    third.write_all(HEALTH).await.expect("write");
    let waiting = tokio::time::timeout(Duration::from_millis(500), response(&mut third)).await;
    assert!(
        waiting.is_err(),
        "connection 3 must wait while the limit is 2"
    );
    // An open connection still gets /healthz.
    first.write_all(HEALTH).await.expect("write");
    let health = tokio::time::timeout(GUARD, response(&mut first))
        .await
        .expect("answers");
    assert!(health.expect("a response").starts_with("HTTP/1.1 200"));
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    assert!(
        text.contains("connection limit reached") && text.contains("max_connections=2"),
        "{text}"
    );
    // Once a connection closes, the waiting one is served.
    drop(second);
    let served = tokio::time::timeout(GUARD, response(&mut third))
        .await
        .expect("answers");
    assert!(served.expect("a response").starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(
        listener,
        crate::http::state(),
        limits(60_000, 60_000, 10),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(HEALTH).await.expect("write");
    let answer = tokio::time::timeout(GUARD, response(&mut client))
        .await
        .expect("answers");
    assert!(answer.is_some());
    stop.send(()).expect("server running");
    assert!(closed(&mut client).await);
    let done = tokio::time::timeout(GUARD, server)
        .await
        .expect("server returns");
    done.expect("task").expect("served");
}

/// hyper counts the wait for the next request on a kept-alive connection against the
/// header-read timeout too: an idle connection is closed after the shorter of the two.
#[tokio::test]
async fn the_header_read_timeout_also_bounds_the_wait_between_requests() {
    let (addr, _stop) = start(limits(300, 60_000, 100)).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(HEALTH).await.expect("write");
    let answer = tokio::time::timeout(GUARD, response(&mut client))
        .await
        .expect("answers");
    assert!(answer.is_some());
    assert!(closed(&mut client).await, "closed by the header-read timer");
}
