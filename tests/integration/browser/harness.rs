//! The browser harness: the real server on a loopback socket over a temporary
//! store, Debian's `chromedriver` on a free loopback port, and one headless
//! Chromium session driven through WebDriver (fantoccini).
//!
//! [`Site::start`] brings all three up; dropping the [`Site`] ends the browser
//! session, kills chromedriver (and anything left in its process group) and
//! stops the server, also when a test panics. Chromium and chromedriver come
//! from the Debian packages `chromium` and `chromium-driver`, which
//! `scripts/test` installs when they are missing; without them a browser test
//! fails (it never skips).

use credit_rules::http::AppState;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// What a browser test returns: `?` works on WebDriver and I/O errors.
pub(crate) type Outcome = Result<(), Box<dyn Error>>;

/// The browser binary (Debian package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server (Debian package `chromium-driver`).
const CHROMEDRIVER: &str = "chromedriver";

/// The window every test and screenshot uses, in CSS pixels.
pub(crate) const WINDOW: (u32, u32) = (1280, 900);

/// The tallest full-page screenshot taken (longer pages are cut there).
const MAX_SCREENSHOT_HEIGHT: u32 = 4000;

/// How long chromedriver may take to answer its first status request.
const DRIVER_START: Duration = Duration::from_secs(20);

/// The flags Chromium runs with: headless, no sandbox (CI runs as root), and
/// nothing that reaches the network on its own.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
];

/// The browser's locale, as a visitor of the site has it (the order of a
/// date field's parts depends on it). Headless Chromium takes it from the
/// `LANGUAGE` environment variable (not from `--lang`), and needs Debian's
/// `chromium-l10n` for it; without that package it falls back to en-US.
const BROWSER_LANGUAGE: &str = "zh_CN";

/// One browser at a time: the tests share two cores with everything else.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running site with one browser session on it.
pub(crate) struct Site {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    addr: SocketAddr,
    state: AppState,
    dir: TempDir,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Site {
    /// Serves `state` on `127.0.0.1:0` and opens a browser session on it.
    pub(crate) fn start(state: AppState) -> Site {
        let turn = ONE_BROWSER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("temporary directory");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind the site to a loopback port");
        let addr = listener.local_addr().expect("site address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(credit_rules::http::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let (driver, driver_url) = start_chromedriver(dir.path());
        let mut site = Site {
            runtime,
            client: None,
            driver,
            stop: Some(stop),
            addr,
            state,
            dir,
            _turn: turn,
        };
        // From here on a failure drops `site`, which kills chromedriver.
        let profile = site.dir.path().join("profile");
        let client = site
            .runtime
            .block_on(open_session(&driver_url, &profile))
            .unwrap_or_else(|e| {
                panic!(
                    "cannot open a Chromium session through {driver_url}: {e}\n{}",
                    site.driver_log()
                )
            });
        site.client = Some(client);
        site
    }

    /// The browser session.
    pub(crate) fn client(&self) -> &Client {
        self.client.as_ref().expect("session is open")
    }

    /// The application behind the site (its store, to add records mid-test).
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// The absolute URL of a path on the site, e.g. `url("/healthz")`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Runs a test body on the site's runtime; an error fails the test with
    /// the end of chromedriver's log.
    pub(crate) fn run<'a, F>(&'a self, body: F)
    where
        F: std::future::Future<Output = Outcome> + 'a,
    {
        if let Err(e) = self.runtime.block_on(body) {
            panic!("browser test failed: {e}\n{}", self.driver_log());
        }
    }

    /// Fetches a URL of the site outside the browser (bytes and headers as
    /// served), e.g. a CSV download whose link the browser showed.
    pub(crate) fn fetch(&self, url: &str) -> Fetched {
        let mut response = ureq::get(url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let content_disposition = response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("body of {url}: {e}"));
        Fetched {
            status,
            content_type,
            content_disposition,
            body,
        }
    }

    /// The last lines of chromedriver's log, for failure messages.
    fn driver_log(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("chromedriver log (last lines):\n{}", tail.join("\n"))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Closing the session makes chromedriver quit Chromium.
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.close()).await
            });
        }
        kill_process_group(&mut self.driver);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response fetched outside the browser.
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) content_disposition: String,
    pub(crate) body: Vec<u8>,
}

/// Starts chromedriver in its own process group on a free loopback port and
/// waits until it answers; returns the child and its URL.
fn start_chromedriver(dir: &Path) -> (Child, String) {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's `chromium` and \
         `chromium-driver` (scripts/test installs them; or run \
         `apt-get install -y chromium chromium-driver`)"
    );
    let port = free_port();
    let mut driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!(
            "--log-path={}",
            dir.join("chromedriver.log").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("LANGUAGE", BROWSER_LANGUAGE)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start `{CHROMEDRIVER}` ({e}): the browser tests need Debian's \
                 `chromium-driver` (scripts/test installs it)"
            )
        });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited at start with {status}");
        }
        if Instant::now() > deadline {
            kill_process_group(&mut driver);
            panic!("chromedriver did not listen on {addr} within {DRIVER_START:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, format!("http://{addr}"))
}

/// A loopback port free right now (the OS picks it).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Opens a headless Chromium session with a fresh profile and a fixed window.
async fn open_session(driver_url: &str, profile: &Path) -> Result<Client, Box<dyn Error>> {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    args.push(format!("--user-data-dir={}", profile.display()));
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal");
    };
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.enforce_http(true);
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(driver_url)
        .await?;
    client.set_window_size(WINDOW.0, WINDOW.1).await?;
    Ok(client)
}

/// Kills a child and every process left in its group (Chromium's helpers).
fn kill_process_group(child: &mut Child) {
    let group = child.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Where screenshots go: `docs/screenshots/` of the repository.
pub(crate) fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// Waits until the page has its fonts and has drawn two frames since (a
/// screenshot taken in the middle of a layout or paint is not repeatable).
async fn settle(client: &Client) -> Result<(), Box<dyn Error>> {
    client
        .execute_async(
            "var done = arguments[arguments.length - 1];\
             var frames = function () { requestAnimationFrame(function () { requestAnimationFrame(function () { done(true); }); }); };\
             (document.fonts ? document.fonts.ready : Promise.resolve()).then(frames, frames);",
            vec![],
        )
        .await?;
    Ok(())
}

/// Saves a screenshot as `docs/screenshots/{name}.png` at the fixed window
/// width: of the window (`Shot::Window`, the fixed window size) or of the
/// whole page (`Shot::FullPage`, up to [`MAX_SCREENSHOT_HEIGHT`] pixels), and
/// checks that it is a PNG of that width. It is taken once the page has
/// settled ([`settle`]); a picture that differs from the file already there
/// only by anti-aliasing noise leaves the file as it is (`pixels.rs`).
pub(crate) async fn screenshot(
    client: &Client,
    name: &str,
    shot: Shot,
) -> Result<PathBuf, Box<dyn Error>> {
    settle(client).await?;
    if shot == Shot::FullPage {
        // The window is taller than its viewport by the browser's own frame.
        let sizes = client
            .execute(
                "return [Math.ceil(document.documentElement.scrollHeight), \
                 window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await?;
        let content = sizes[0].as_u64().unwrap_or(u64::from(WINDOW.1));
        let frame = sizes[1].as_u64().unwrap_or(0);
        let height = content.min(u64::from(MAX_SCREENSHOT_HEIGHT)) + frame;
        client
            .set_window_size(WINDOW.0, u32::try_from(height)?)
            .await?;
    }
    if shot == Shot::FullPage {
        settle(client).await?;
    }
    let png = client.screenshot().await;
    client.set_window_size(WINDOW.0, WINDOW.1).await?;
    let png = png?;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}: not a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("IHDR width"));
    assert_eq!(width, WINDOW.0, "{name}: screenshot width");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    let noise = std::fs::read(&path)
        .ok()
        .and_then(|old| super::pixels::noise(&old, &png));
    match noise {
        Some(0) => {}
        Some(pixels) => println!(
            "{name}: {pixels} pixels of anti-aliasing noise; {} is kept",
            path.display()
        ),
        None => std::fs::write(&path, png)?,
    }
    Ok(path)
}

/// What a screenshot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shot {
    /// What the fixed window shows (the top of the page).
    Window,
    /// The whole page.
    FullPage,
}
