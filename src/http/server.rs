//! Starting the service on a fresh machine: open (or create) the sled
//! database, seed it with the shipped rule sets and demo records on first
//! start, load or create the token file, install tracing and the metrics
//! recorder, start the activation scheduler of approved drafts, and serve
//! until SIGTERM or Ctrl-C.

use super::auth::{Role, TokenEntry, TokenFile, Tokens, hash_token};
use super::protect::RateLimit;
use super::scheduler::{ACTIVATION_CHECK_PERIOD, spawn_activation_scheduler};
use super::{App, AppState, serve};
use crate::registry::Registry;
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use crate::store::{NewRuleSetVersion, RecordStore, SledStore};
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
    /// The sled database folder.
    pub data: PathBuf,
    /// The shipped rule sets, used to seed a fresh database.
    pub rulesets: PathBuf,
    /// The token file; created with fresh tokens when absent.
    pub tokens: PathBuf,
    /// Demo entities to generate into a fresh database (0 for none).
    pub demo_entities: usize,
    /// Per-client rate limit of the public routes.
    pub rate_limit: RateLimit,
}

/// The cursor that marks a seeded database.
const SEEDED: &str = "seeded";

/// Opens everything and serves until a shutdown signal.
pub fn run(config: ServeConfig) -> Result<(), String> {
    init_tracing();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let store = SledStore::open(&config.data).map_err(|e| e.to_string())?;
    seed(&store, &config)?;
    let registry = load_registry(&store)?;
    let tokens = load_or_create_tokens(&config.tokens)?;
    let state = AppState(Arc::new(
        App::new(registry, Arc::new(store), tokens, Some(metrics))
            .with_rate_limit(config.rate_limit),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        tracing::info!(
            addr = %config.addr,
            data = %config.data.display(),
            rate_limit_per_second = config.rate_limit.per_second,
            rate_limit_burst = config.rate_limit.burst,
            "credit-rules serving: the public site at http://{}/", config.addr
        );
        let scheduler = spawn_activation_scheduler(state.clone(), ACTIVATION_CHECK_PERIOD);
        let served = serve(listener, state, shutdown_signal())
            .await
            .map_err(|e| e.to_string());
        scheduler.abort();
        served
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
fn seed(store: &SledStore, config: &ServeConfig) -> Result<(), String> {
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

/// The live rule sets: the newest stored version of every rule set.
fn load_registry(store: &SledStore) -> Result<Registry, String> {
    let mut heads: BTreeMap<String, String> = BTreeMap::new();
    for id in store.ruleset_ids().map_err(|e| e.to_string())? {
        let versions = store.ruleset_versions(&id).map_err(|e| e.to_string())?;
        if let Some(newest) = versions.into_iter().last() {
            heads.insert(id, newest.source);
        }
    }
    let mut workspace = Workspace::new();
    for (id, source) in heads {
        workspace.add_source(SourceFile::new(format!("{id}.rules"), source), None);
    }
    Registry::from_workspace(&workspace).map_err(|d| d.render())
}

/// Loads the token file, or creates one with a fresh token per role (and one
/// per sector bureau of the shipped rule sets) and writes the plain tokens
/// once to `dev-tokens.txt` beside it for the operator to hand out.
fn load_or_create_tokens(path: &Path) -> Result<Tokens, String> {
    if path.exists() {
        return Tokens::load(path);
    }
    let mut plain = Vec::new();
    let mut file = TokenFile::default();
    let roles = [
        ("city_office", "市公管局", Role::CityOffice, None),
        ("evaluator", "评标系统", Role::Evaluator, None),
        ("intake", "省公共信用信息平台", Role::Intake, None),
        ("bureau_water", "市水务局", Role::Bureau, Some("水务")),
        (
            "bureau_construction",
            "市城乡建设局",
            Role::Bureau,
            Some("城乡建设"),
        ),
    ];
    for (label, name, role, sector) in roles {
        let token = random_token()?;
        file.tokens.push(TokenEntry {
            name: name.to_string(),
            role,
            sector: sector.map(String::from),
            sha256: hash_token(&token),
        });
        plain.push(format!("{label} {token}"));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    let dev = path.with_file_name("dev-tokens.txt");
    std::fs::write(&dev, plain.join("\n") + "\n")
        .map_err(|e| format!("cannot write `{}`: {e}", dev.display()))?;
    tracing::warn!(tokens = %path.display(), plain = %dev.display(), "created tokens; hand them out and delete the plain file");
    Tokens::load(path)
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read random bytes: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
