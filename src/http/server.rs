//! Starting the service on a fresh machine: open (or create) the sled
//! database, seed it with the shipped rule sets and demo records on first
//! start, load or create the token file, install tracing and the metrics
//! recorder, start the activation scheduler of approved drafts, and serve
//! until SIGTERM or Ctrl-C.
//!
//! Secrets on disk: the data folder is created (or tightened to) mode 0700 and every file
//! in it made 0600 at start; the token file and `dev-tokens.txt` are written 0600, so no
//! other local user can read the tokens, the database or the decision journal.
//!
//! Logs go to stderr, as text (no colours unless stderr is a terminal) or as JSON lines
//! (`--log-format json`); `RUST_LOG` filters them (default `info`). The access log is the
//! target `access`. Metrics are served at `/metrics`, or only on `--metrics-addr` when it
//! is given (then `/metrics` on the main address answers 404).

use super::auth::{Role, TokenEntry, TokenFile, Tokens, hash_token};
use super::connections::{
    ConnectionLimits, RESERVED_DESCRIPTORS, descriptor_limit, serve_connections,
};
use super::protect::RateLimit;
use super::scheduler::{ACTIVATION_CHECK_PERIOD, spawn_activation_scheduler};
use super::tokens::TokenTable;
use super::{App, AppState, serve_with};
use crate::console::session::SessionKey;
use crate::registry::Registry;
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use crate::store::{NewRuleSetVersion, RecordStore, StoreChange, StoreLocation};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How `credit-rules serve` is configured.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The sled database folder (with `store`: the token file's folder only).
    pub data: PathBuf,
    /// A PostgreSQL store's URL, used instead of the sled folder.
    pub store: Option<String>,
    /// The shipped rule sets, used to seed a fresh database.
    pub rulesets: PathBuf,
    /// The token file; created with fresh tokens when absent.
    pub tokens: PathBuf,
    /// Demo entities to generate into a fresh database (0 for none).
    pub demo_entities: usize,
    /// Timeouts and the connection limit of the accept loop.
    pub limits: ConnectionLimits,
    /// A separate address for `/metrics` (then not served on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    /// Log lines as text or JSON.
    pub log_format: LogFormat,
    /// Per-client rate limit of the public routes.
    pub rate_limit: RateLimit,
    /// Whether the console's session cookies carry `Secure` (served over TLS).
    pub secure_cookies: bool,
}

/// The file in the data folder holding the key that signs console sessions.
pub const SESSION_KEY_FILE: &str = "session.key";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The cursor that marks a seeded database.
const SEEDED: &str = "seeded";

/// Opens everything and serves until a shutdown signal.
pub fn run(config: ServeConfig) -> Result<(), String> {
    init_tracing(config.log_format);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let (store, tokens) = open_data(&config)?;
    let registry = load_registry(&*store)?;
    let session_key = SessionKey::load_or_create(&config.data.join(SESSION_KEY_FILE))
        .map_err(|e| e.to_string())?;
    let main_metrics = config.metrics_addr.is_none().then(|| metrics.clone());
    // Created on first start beside the database (owner-only file), then kept.
    let receipt_key =
        crate::receipt::ReceiptKey::load_or_create(&config.data).map_err(|e| e.to_string())?;
    let state = AppState(Arc::new(
        App::new(registry, store, tokens, main_metrics)
            .with_rate_limit(config.rate_limit)
            .with_receipt_key(receipt_key)
            .with_session_key(session_key)
            .with_token_table(TokenTable::from_file(&config.tokens)?)
            .with_secure_cookies(config.secure_cookies),
    ));
    follow_other_replicas(&state);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        let limits = config.limits;
        tracing::info!(
            addr = %config.addr,
            store = %store_location(&config).map(|l| l.describe()).unwrap_or_default(),
            header_read_timeout_s = limits.header_read_timeout.as_secs_f64(),
            idle_timeout_s = limits.idle_timeout.as_secs_f64(),
            max_connections = limits.max_connections,
            open_files_limit = descriptor_limit().unwrap_or_default(),
            rate_limit_per_second = config.rate_limit.per_second,
            rate_limit_burst = config.rate_limit.burst,
            "credit-rules serving: the public site at http://{}/",
            config.addr
        );
        if let Some(limit) = descriptor_limit()
            && limits.max_connections + RESERVED_DESCRIPTORS > limit
        {
            tracing::warn!(
                max_connections = limits.max_connections,
                open_files_limit = limit,
                "the connection limit is close to the open-files limit (ulimit -n): the service may run out of descriptors"
            );
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let metrics_server = match config.metrics_addr {
            Some(addr) => Some(spawn_metrics_server(addr, metrics, stopped.clone()).await?),
            None => None,
        };
        let scheduler = spawn_activation_scheduler(state.clone(), ACTIVATION_CHECK_PERIOD);
        let shutdown = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        let served = serve_with(listener, state, limits, shutdown)
            .await
            .map_err(|e| e.to_string());
        scheduler.abort();
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        served
    })
}

/// Where the store is: `--store` when given, else the sled folder `--data`.
fn store_location(config: &ServeConfig) -> Result<StoreLocation, String> {
    StoreLocation::choose(&config.data, config.store.as_deref()).map_err(|e| e.to_string())
}

/// Opens (or creates and seeds) the database and the token file, private to this user:
/// the data folder 0700, every file in it 0600. With a PostgreSQL store the folder holds
/// only the token file (tokens are never in the database).
pub fn open_data(config: &ServeConfig) -> Result<(Arc<dyn RecordStore>, Tokens), String> {
    create_private_dir(&config.data)?;
    let store: Arc<dyn RecordStore> = store_location(config)?
        .open()
        .map_err(|e| e.to_string())?
        .into();
    seed(&*store, config)?;
    let tokens = load_or_create_tokens(&config.tokens, &config.rulesets)?;
    store.flush().map_err(|e| e.to_string())?;
    make_private(&config.data);
    Ok((store, tokens))
}

/// With a store that other replicas share: a rule-set version another replica published
/// (or activated) is made live here as soon as the store announces it.
fn follow_other_replicas(state: &AppState) {
    let app = Arc::downgrade(&state.0);
    state.store.watch_changes(Box::new(move |change| {
        if change != StoreChange::Versions {
            return;
        }
        let Some(app) = app.upgrade() else {
            return;
        };
        let heads = match load_heads(&*app.store) {
            Ok(heads) => heads,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the live rule sets");
                return;
            }
        };
        // Only what changed is compiled: a version published elsewhere is live here in the
        // time of one rule set's compilation.
        match app.registry.reload_heads(heads).map_err(|d| d.render()) {
            Ok(true) => tracing::info!("live rule sets reloaded: another replica published"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot reload the live rule sets"),
        }
    }));
}

fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Serves `/metrics` alone on `addr` until `stopped` turns true.
async fn spawn_metrics_server(
    addr: SocketAddr,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (--metrics-addr): {e}"))?;
    tracing::info!(%addr, "metrics served on their own address");
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    let limits = ConnectionLimits {
        max_connections: 64,
        ..ConnectionLimits::default()
    };
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(e) = serve_connections(listener, router, limits, shutdown).await {
            tracing::error!(error = %e, "metrics server");
        }
    }))
}

/// Creates the data folder readable by this user only, or tightens an existing one.
fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    set_mode(dir, 0o700);
    Ok(())
}

/// Makes the files under `dir` 0600 and its folders 0700 (the database and the journal
/// name entities and callers).
fn make_private(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                set_mode(&path, 0o700);
                make_private(&path);
            }
            Ok(t) if t.is_file() => set_mode(&path, 0o600),
            _ => {}
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot restrict the permissions");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Writes a secret file readable by this user only (mode 0600).
fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    set_mode(path, 0o600);
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// On first start, saves every shipped rule set as its first version and
/// loads demo records; later starts change nothing.
fn seed(store: &dyn RecordStore, config: &ServeConfig) -> Result<(), String> {
    if store.cursor(SEEDED).map_err(|e| e.to_string())?.is_some() {
        return Ok(());
    }
    let workspace = Workspace::load(&config.rulesets).map_err(|d| d.render())?;
    if workspace.errors.has_errors() {
        return Err(workspace.errors.render());
    }
    for id in workspace.ids() {
        let Some((file, _)) = workspace.library.get(&id) else {
            continue;
        };
        store
            .put_ruleset_version(&NewRuleSetVersion {
                ruleset_id: &id,
                source: &file.text,
                author: "seed",
                message: "shipped rule set",
                time: chrono::Utc::now(),
            })
            .map_err(|e| e.to_string())?;
    }
    if config.demo_entities > 0 {
        let cfg = crate::demo::DemoConfig {
            seed: 2019,
            entities: config.demo_entities,
            records_per_entity: (0, 12),
        };
        let records: Vec<_> = crate::demo::entities(cfg).flat_map(|(_, _, r)| r).collect();
        store.put_records(&records).map_err(|e| e.to_string())?;
    }
    store
        .set_cursor(SEEDED, &chrono::Utc::now().to_rfc3339())
        .map_err(|e| e.to_string())?;
    tracing::info!(
        demo_entities = config.demo_entities,
        "seeded a fresh database"
    );
    Ok(())
}

/// The newest stored version of every rule set: id → source.
fn load_heads(store: &dyn RecordStore) -> Result<BTreeMap<String, String>, String> {
    let mut heads: BTreeMap<String, String> = BTreeMap::new();
    for id in store.ruleset_ids().map_err(|e| e.to_string())? {
        let versions = store.ruleset_versions(&id).map_err(|e| e.to_string())?;
        if let Some(newest) = versions.into_iter().last() {
            heads.insert(id, newest.source);
        }
    }
    Ok(heads)
}

/// The live rule sets: the newest stored version of every rule set.
fn load_registry(store: &dyn RecordStore) -> Result<Registry, String> {
    let heads = load_heads(store)?;
    let mut workspace = Workspace::new();
    for (id, source) in heads {
        workspace.add_source(SourceFile::new(format!("{id}.rules"), source), None);
    }
    Registry::from_workspace(&workspace).map_err(|d| d.render())
}

/// Loads the token file, or creates one with a fresh token per role and one per sector
/// bureau — every rule set of `rulesets` that extends another names a sector and its unit
/// — and writes the plain tokens once to `dev-tokens.txt` beside it for the operator to
/// hand out (labels `city_office`, `evaluator`, `intake`, `bureau_<rule-set id>`).
fn load_or_create_tokens(path: &Path, rulesets: &Path) -> Result<Tokens, String> {
    if path.exists() {
        return Tokens::load(path);
    }
    let mut roles: Vec<Holder> = vec![
        (
            "city_office".into(),
            "市公管局".into(),
            Role::CityOffice,
            None,
        ),
        ("evaluator".into(), "评标系统".into(), Role::Evaluator, None),
        (
            "intake".into(),
            "省公共信用信息平台".into(),
            Role::Intake,
            None,
        ),
    ];
    roles.extend(sector_bureaus(rulesets)?);
    let mut plain = Vec::new();
    let mut file = TokenFile::default();
    for (label, name, role, sector) in roles {
        let token = random_token()?;
        file.tokens.push(TokenEntry {
            name,
            role,
            sector,
            sha256: hash_token(&token),
        });
        plain.push(format!("{label} {token}"));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        create_private_dir(dir)?;
    }
    let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    write_private(path, &json)?;
    let dev = path.with_file_name("dev-tokens.txt");
    write_private(&dev, &(plain.join("\n") + "\n"))?;
    tracing::warn!(tokens = %path.display(), plain = %dev.display(), "created tokens; hand them out and delete the plain file");
    Tokens::load(path)
}

/// A token to make on first start: (label in `dev-tokens.txt`, holder, role, sector).
type Holder = (String, String, Role, Option<String>);

/// A bureau token per sector rule set, held by the rule set's unit.
fn sector_bureaus(rulesets: &Path) -> Result<Vec<Holder>, String> {
    let workspace = Workspace::load(rulesets).map_err(|d| d.render())?;
    let registry = Registry::from_workspace(&workspace).map_err(|d| d.render())?;
    let mut bureaus: Vec<Holder> = Vec::new();
    for meta in registry.list() {
        let Some(sector) = meta.sector.clone() else {
            continue;
        };
        if meta.chain.len() < 2 || bureaus.iter().any(|b| b.3.as_deref() == Some(&sector)) {
            continue;
        }
        let name = meta
            .unit
            .clone()
            .unwrap_or_else(|| format!("{sector}主管部门"));
        bureaus.push((
            format!("bureau_{}", meta.id),
            name,
            Role::Bureau,
            Some(sector),
        ));
    }
    Ok(bureaus)
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read random bytes: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
