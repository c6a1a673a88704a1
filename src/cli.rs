//! The command-line interface: `check`, `fmt`, `test`, `eval`, `render`, `diff`, `impact`,
//! `draft`, `import`, `sync`, `serve`. Each command prints human-readable output (diagnostics
//! with carets) or JSON, and exits non-zero when it finds errors (`diff`, like `diff(1)`, exits
//! 1 for differences and 2 for errors; `draft`, a client of a running server, exits 1 when the
//! server refuses and 2 when it cannot be reached).

mod backup;
mod diff;
mod draft;
mod tokens;

pub use draft::{DraftArgs, DraftCommand, TOKEN_VARIABLE};

use crate::diagnostic::{Diagnostic, Diagnostics, Lang};
use crate::record::CreditRecord;
use crate::ruleset::Workspace;
use crate::testing::{ClauseCoverage, coverage, coverage_percent, run_tests};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod impact;

/// credit-rules: credit rules of public resource trading (公共资源交易信用规则).
#[derive(Debug, Parser)]
#[command(name = "credit-rules", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Language of diagnostics: `zh` (中文) or `en`. Default: the language of the rule
    /// file's keywords (a file written with `规则集 …` gets Chinese), English for problems
    /// that concern no rule file. `draft` asks the server for it (`Accept-Language`).
    #[arg(long, global = true, value_parser = parse_lang)]
    pub lang: Option<Lang>,
}

fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("`{text}` is not a language: use `zh` or `en`"))
}

/// The `--lang` of this run (set once by [`run`]).
static OUTPUT_LANG: std::sync::OnceLock<Option<Lang>> = std::sync::OnceLock::new();

/// The language asked for with `--lang`, if any.
pub(crate) fn chosen_lang() -> Option<Lang> {
    OUTPUT_LANG.get().copied().flatten()
}

/// Diagnostics as the user reads them: in `--lang`, else each in the dialect of its own
/// rule file and the rest (and the summary) in `fallback`.
pub(crate) fn show(diagnostics: &Diagnostics, fallback: Lang) -> String {
    match chosen_lang() {
        Some(lang) => diagnostics.render_in(lang),
        None => diagnostics.render_auto(fallback),
    }
}

/// One diagnostic as the user reads it (see [`show`]).
pub(crate) fn show_one(diagnostic: &Diagnostic, fallback: Lang) -> String {
    match chosen_lang() {
        Some(lang) => diagnostic.render_in(lang),
        None => diagnostic.render_auto(fallback),
    }
}

/// The language of output that concerns no single rule file: `--lang`, else the dialect
/// of the first given rule file, else English.
fn lang_of_paths(paths: &[PathBuf]) -> Lang {
    chosen_lang().unwrap_or_else(|| {
        paths
            .iter()
            .filter_map(|p| crate::ruleset::rule_files(p).ok())
            .flatten()
            .find_map(|f| {
                std::fs::read_to_string(f)
                    .ok()
                    .and_then(|t| Lang::of_source(&t))
            })
            .unwrap_or(Lang::En)
    })
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    Text,
    /// JSON.
    Json,
}

/// `serve --log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `credit-rules decisions …`.
#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// Delete the decision journal's closed segments whose every entry is older than DATE
    /// (00:00 Asia/Shanghai), with their index entries. Whole segments only; the active one is
    /// kept. Run it with the server stopped, after backing the data folder up.
    Compact {
        /// Database folder of `credit-rules serve`.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Keep everything decided on or after this day (YYYY-MM-DD, Asia/Shanghai).
        #[arg(long)]
        before: chrono::NaiveDate,
    },
}

/// `credit-rules receipt …`.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a decision receipt offline (format 1 or 2): its ed25519 signature over its
    /// canonical bytes, or over the Merkle root its batch path leads to (exit 0: valid; 1:
    /// altered or signed by another key; 2: not a receipt).
    Verify {
        /// A receipt (JSON), or an evaluation answer holding one as `receipt`.
        file: PathBuf,
        /// The service's public key (64 hex digits, `GET /api/v1/receipts/public-key`):
        /// without it only the receipt's own key is checked, which proves it unaltered
        /// since signing but not who signed it.
        #[arg(long)]
        public_key: Option<String>,
    },
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check rule files for errors (a file, or every *.rules file in a folder).
    Check {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Folder holding the base rule sets named in `extends`.
        #[arg(long, default_value = "rulesets")]
        lib: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Serve the HTTP API with a sled database (seeded with the shipped rule sets on first start).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Database folder (with --store: the folder of the token file only).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
        #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
        store: Option<String>,
        /// Rule sets that seed a fresh database.
        #[arg(long, default_value = "rulesets")]
        rulesets: PathBuf,
        /// Token file (created with fresh tokens, and `dev-tokens.txt` beside it, when absent).
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Synthetic entities loaded into a fresh database (0 for none).
        #[arg(long, default_value_t = 200)]
        demo_entities: usize,
        /// Seconds a client has to send a request's headers before its connection is closed.
        #[arg(long, default_value_t = 10.0)]
        header_read_timeout: f64,
        /// Seconds a keep-alive connection may stay without a request before it is closed
        /// (the header-read timeout bounds that wait too: the shorter one applies).
        #[arg(long, default_value_t = 10.0)]
        idle_timeout: f64,
        /// Connections served at once (default: 10000, or the open-files limit less 256 when
        /// that is lower); further clients wait until one closes.
        #[arg(long)]
        max_connections: Option<usize>,
        /// Serve /metrics only on this address (e.g. 127.0.0.1:9090), not on --addr.
        #[arg(long)]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Log lines as `text` or `json` (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormatArg,
        /// Requests per second one client (peer IP) may make to the public site, its CSV
        /// and `GET /api/v1/disclosure`; 0 turns the limit off (e.g. for load tests).
        #[arg(long, default_value_t = 10)]
        rate_limit: u32,
        /// Requests one client may make at once before --rate-limit applies.
        #[arg(long, default_value_t = 60)]
        rate_burst: u32,
        /// Mark the console's session cookies `Secure`: set it when the service is reached
        /// over HTTPS (a TLS proxy in front); a proxy's `X-Forwarded-Proto: https` does too.
        #[arg(long)]
        secure_cookies: bool,
    },
    /// Format rule files in place (or only report with --check).
    Fmt {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Run the test blocks written beside the clauses.
    Test {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Folder holding the base rule sets named in `extends`.
        #[arg(long, default_value = "rulesets")]
        lib: PathBuf,
        /// Report per clause whether the tests made it fire and not fire; with a value
        /// (`--coverage=100`), fail when the share of outcomes covered is below it (percent).
        #[arg(long, value_name = "MIN", num_args = 0..=1, require_equals = true, default_missing_value = "0",
              value_parser = clap::value_parser!(u8).range(0..=100))]
        coverage: Option<u8>,
    },
    /// Evaluate one entity's records under a rule set.
    Eval {
        /// Rule-set id (e.g. `water`) or rule file.
        #[arg(long)]
        ruleset: String,
        /// JSON file: an array of records (or `{"records": [...]}`).
        #[arg(long)]
        records: PathBuf,
        /// Evaluation date, YYYY-MM-DD.
        #[arg(long)]
        as_of: String,
        /// Folder holding the rule sets.
        #[arg(long, default_value = "rulesets")]
        lib: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print a rule set's credit clauses as a tender-document chapter: Markdown, an HTML
    /// fragment (or page) or a Word file. A .docx goes to `-o FILE`, or to standard output
    /// only when that is not a terminal.
    Render {
        /// Rule-set id (e.g. `water`) or rule file.
        ruleset: String,
        /// Folder holding the rule sets.
        #[arg(long, default_value = "rulesets")]
        lib: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: crate::render::Format,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
        /// HTML: a complete page (with its own style sheet) rather than a fragment.
        #[arg(long)]
        standalone: bool,
        /// The project's name, printed in the title block.
        #[arg(long)]
        project: Option<String>,
        /// The bid-opening day (YYYY-MM-DD): the chapter names it as the query day.
        #[arg(long)]
        opening: Option<chrono::NaiveDate>,
        /// The tender accepts no consortium bids: leave out the consortium part.
        #[arg(long)]
        no_consortium: bool,
    },
    /// Compare two versions of a rule set: which clauses were added, removed or changed (and
    /// in which aspects), with inherited clauses and constants, header and tests. Exit status:
    /// 0 when the versions mean the same, 1 when they differ, 2 on errors.
    #[command(after_long_help = DIFF_HELP)]
    Diff {
        /// The old version: a rule file, a rule-set id under --lib, or a stored version
        /// ID@HASH (at least 8 hex digits of its hash) or ID@active (alias ID@latest).
        old: String,
        /// The new version, in the same forms.
        new: String,
        /// Folder holding the rule sets that versions extend (and those named by id).
        #[arg(long, visible_alias = "rulesets", default_value = "rulesets")]
        lib: PathBuf,
        /// Folder standing in for --lib for the old version only.
        #[arg(long)]
        old_lib: Option<PathBuf>,
        /// Folder standing in for --lib for the new version only.
        #[arg(long)]
        new_lib: Option<PathBuf>,
        /// Database folder of `credit-rules serve`, for stored versions (ID@HASH).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
        #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
        store: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The decision log's retention: `decisions compact --before DATE` (the server stopped).
    #[command(subcommand)]
    Decisions(DecisionsCommand),
    /// Recompute a logged decision from its stored rule version and the records as the
    /// store knew them then; print "identical" or every difference (exit 0 identical, 1
    /// different, 2 on errors). On a sled folder, run it with the server stopped (one
    /// process per database); a PostgreSQL store (--store) can be replayed while serving.
    Replay {
        /// The decision id (an answer's `decision_id`).
        id: u64,
        /// Database folder of `credit-rules serve`.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
        #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
        store: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Signed decision receipts.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// The service's tokens: create, list, rotate, revoke (the file `serve` reads; a running
    /// serve uses the changes at once). Plain tokens are printed once and stored nowhere.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Write a consistent snapshot of a sled database folder into one file (also while
    /// `serve` holds it: then that server writes it, given a city-office token). A
    /// PostgreSQL store is backed up with pg_dump (docs/deployment.md).
    Backup(backup::BackupArgs),
    /// Make a new database folder from a backup file (checked first: format, checksum; the
    /// folder must be new or empty).
    Restore(backup::RestoreArgs),
    /// Review before publishing, through a running server: submit a rule file as a draft,
    /// list and show drafts with their diff, approve or reject them (city office), withdraw.
    #[command(after_long_help = DRAFT_HELP)]
    Draft(DraftArgs),
    /// Load feed lines (provincial feed rows, or records and events as JSON lines) into the
    /// record store under --data, in durable batches; bad lines are listed and skipped.
    Import(crate::import::ImportArgs),
    /// List the repair and revocation events kept because their record has not arrived yet
    /// (they are applied when it does).
    Pending {
        /// The database directory.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
        #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
        store: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Pull the provincial feed with a cursor (resumes after a restart; no gaps, no duplicates).
    Sync(crate::sync::SyncArgs),
    /// What a new version of a rule set changes in outcomes (who is newly disqualified or
    /// qualified, whose score changes and which clauses are responsible), over the entities in
    /// the record store or a given list, as of a date.
    Impact(impact::ImpactArgs),
}

/// The long help of `diff`: where versions and their bases come from.
const DIFF_HELP: &str = "\
Versions:
  FILE.rules      a rule file; the rule sets it extends are taken from the .rules files
                  beside it first (same folder), then from --lib
  ID              the rule set ID under --lib
  ID@HASH         a version saved in the record store (--data), by a prefix of its hash
                  (at least 8 hex digits); ID@active (or ID@latest, ID@head) is the newest
                  saved version. The rule
                  sets it extends are taken from the store as it was when it was saved
                  (else from --lib)

--old-lib and --new-lib replace --lib for one side, e.g. to compare two copies of the rule-set
folder: credit-rules diff water water --old-lib /tmp/rulesets-2024 --new-lib rulesets

The diff covers the effective rule set (inherited clauses included, each marked with the
rule set it comes from). Clauses are matched by id; layout, comments, clause order and
keyword language make no difference. A constant change shows in its own section and in every
clause whose meaning it changes.

Examples:
  credit-rules diff water@active rulesets/water/water.rules
  credit-rules diff old/water.rules new/water.rules --format json
  credit-rules diff water@3f9a1c07 water@active --data data

Exit status: 0 no differences, 1 differences, 2 errors.";

/// The long help of `draft`: the workflow in a few commands.
const DRAFT_HELP: &str = "\
The review workflow (the server must be running: credit-rules serve):
  export CREDIT_RULES_TOKEN=<bureau token>          # e.g. from data/dev-tokens.txt
  credit-rules draft submit rulesets/water/water.rules -m '行政处罚扣分调整'
  export CREDIT_RULES_TOKEN=<city office token>
  credit-rules draft list --status pending
  credit-rules draft show 3                         # status, history and the diff
  credit-rules draft impact 3 --as-of 2024-06-01    # who passes, fails, gains or loses points
  credit-rules draft reject 3 -c '请补充依据'
  credit-rules draft approve 4 -c '同意' [--activate-on 2024-09-01]

Only an approved draft becomes the active version: at once, or from its activation day
(00:00 Asia/Shanghai). A bureau submits and withdraws its own sector's drafts; the city office
approves and rejects (a comment is required).

Exit status: 0 done, 1 the server refused (its reason is printed), 2 the server could not be
reached or the command line is wrong.";

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let _ = OUTPUT_LANG.set(cli.lang);
    match cli.command {
        Command::Check { paths, lib, format } => check(&paths, &lib, format),
        Command::Test {
            paths,
            lib,
            coverage,
        } => test(&paths, &lib, coverage),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Serve {
            addr,
            data,
            store,
            rulesets,
            tokens,
            demo_entities,
            header_read_timeout,
            idle_timeout,
            max_connections,
            metrics_addr,
            log_format,
            rate_limit,
            rate_burst,
            secure_cookies,
        } => {
            let tokens = tokens.unwrap_or_else(|| data.join("tokens.json"));
            let seconds = |s: f64| std::time::Duration::from_secs_f64(s.clamp(0.001, 86_400.0));
            let limits = crate::http::ConnectionLimits {
                header_read_timeout: seconds(header_read_timeout),
                idle_timeout: seconds(idle_timeout),
                max_connections: max_connections
                    .unwrap_or_else(crate::http::default_max_connections)
                    .max(1),
            };
            let config = crate::http::ServeConfig {
                secure_cookies,
                addr,
                data,
                store,
                rulesets,
                tokens,
                demo_entities,
                limits,
                metrics_addr,
                log_format: match log_format {
                    LogFormatArg::Text => crate::http::LogFormat::Text,
                    LogFormatArg::Json => crate::http::LogFormat::Json,
                },
                rate_limit: crate::http::RateLimit {
                    per_second: rate_limit,
                    burst: rate_burst,
                },
            };
            match crate::http::run_server(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Eval {
            ruleset,
            records,
            as_of,
            lib,
            format,
        } => eval(&ruleset, &records, &as_of, &lib, format),
        Command::Render {
            ruleset,
            lib,
            format,
            out,
            standalone,
            project,
            opening,
            no_consortium,
        } => {
            let facts = crate::render::TenderFacts {
                project,
                opening,
                consortium: no_consortium.then_some(false),
            };
            let options = crate::render::RenderOptions {
                format,
                standalone,
                facts,
            };
            crate::render::run(&ruleset, &lib, out.as_deref(), &options)
        }
        Command::Diff {
            old,
            new,
            lib,
            old_lib,
            new_lib,
            data,
            store,
            format,
        } => {
            let old = diff::Side {
                arg: &old,
                lib: old_lib.as_deref().unwrap_or(&lib),
            };
            let new = diff::Side {
                arg: &new,
                lib: new_lib.as_deref().unwrap_or(&lib),
            };
            diff::run(old, new, &data, store.as_deref(), format)
        }
        Command::Draft(args) => draft::run(args),
        Command::Import(args) => crate::import::run(&args),
        Command::Pending {
            data,
            store,
            format,
        } => crate::import::run_pending(&data, store.as_deref(), format == Format::Json),
        Command::Sync(args) => crate::sync::run(&args),
        Command::Decisions(DecisionsCommand::Compact { data, before }) => {
            compact_decisions(&data, before)
        }
        Command::Impact(args) => impact::run(&args),
        Command::Replay {
            id,
            data,
            store,
            format,
        } => replay(id, &data, store.as_deref(), format),
        Command::Receipt(ReceiptCommand::Verify { file, public_key }) => {
            verify_receipt(&file, public_key.as_deref())
        }
        Command::Tokens(command) => tokens::run(&command),
        Command::Backup(args) => backup::run_backup(&args),
        Command::Restore(args) => backup::run_restore(&args),
    }
}

/// `credit-rules replay ID`: on the sled folder `--data`, or the PostgreSQL store `--store`
/// (`CREDIT_RULES_STORE`).
fn replay(id: u64, data: &Path, store: Option<&str>, format: Format) -> ExitCode {
    let location = match crate::store::StoreLocation::choose(data, store) {
        Ok(location) => location,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // A read-only command: never create a store where there is none.
    if !location.exists() {
        eprintln!(
            "error: there is no record store at `{}` (pass --data with the database folder of \
             `credit-rules serve`, or --store with its PostgreSQL URL)",
            location.describe()
        );
        return ExitCode::from(2);
    }
    let store = match location.open() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let replay = match crate::replay::replay(&*store, id, &|_| None) {
        Ok(replay) => replay,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&replay).unwrap_or_default()
        ),
        Format::Text => {
            println!(
                "decision {}: {} (rules {} version {}, as of {}, records as known at {})",
                replay.decision_id,
                replay.outcome,
                replay.ruleset,
                replay.version_id,
                replay.as_of,
                crate::receipt::receipt_time(replay.known_at)
            );
            for d in &replay.differences {
                println!(
                    "  {}: logged {} → replayed {}",
                    d.path, d.logged, d.replayed
                );
            }
        }
    }
    if replay.identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `credit-rules receipt verify FILE`.
fn verify_receipt(file: &Path, public_key: Option<&str>) -> ExitCode {
    use crate::receipt::{ReceiptError, parse, verify};
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let receipt = match parse(&text) {
        Ok(receipt) => receipt,
        Err(e) => {
            eprintln!("error: `{}`: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    match verify(&receipt, public_key) {
        Ok(()) => {
            let b = &receipt.body;
            println!(
                "valid: decision {} — {} {} under {} (version {}) as of {}: {}, total {}",
                b.decision_id,
                b.uscc.as_deref().unwrap_or("-"),
                b.entity_name.as_deref().unwrap_or(""),
                b.ruleset,
                b.version_id,
                b.as_of,
                b.decision,
                b.total
            );
            if let Some(batch) = &receipt.batch {
                println!(
                    "signed together with {} other receipt(s): leaf {} of batch root {}",
                    batch.size.saturating_sub(1),
                    batch.index,
                    batch.root
                );
            }
            if let Some(context) = &b.context {
                println!(
                    "tender context signed with it: {}",
                    serde_json::to_string(context).unwrap_or_default()
                );
            }
            if public_key.is_none() {
                println!(
                    "note: signed by key {}; give --public-key to check it is the service's",
                    receipt.public_key
                );
            }
            ExitCode::SUCCESS
        }
        Err(e @ ReceiptError::Malformed(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("INVALID: {e}");
            ExitCode::from(1)
        }
    }
}

fn fail(diagnostics: impl Into<Diagnostics>) -> ExitCode {
    eprint!(
        "{}",
        show(&diagnostics.into(), chosen_lang().unwrap_or(Lang::En))
    );
    ExitCode::FAILURE
}

/// Loads the library folder plus the given paths; returns the ids the paths declare.
fn load(paths: &[PathBuf], lib: &Path) -> Result<(Workspace, Vec<String>), Diagnostic> {
    let mut workspace = Workspace::new();
    let mut seen = std::collections::HashSet::new();
    let mut wanted = Vec::new();
    let lib_files = crate::ruleset::library_sources(lib)?;
    let mut given = Vec::new();
    for path in paths {
        given.extend(crate::ruleset::rule_sources(path)?);
    }
    for ((file, text), is_given) in given
        .into_iter()
        .map(|f| (f, true))
        .chain(lib_files.into_iter().map(|f| (f, false)))
    {
        let key = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !seen.insert(key) {
            continue;
        }
        let source = crate::source::SourceFile::new(file.display().to_string(), text);
        let id = if is_given {
            workspace.add_source(source, Some(file.clone()))
        } else {
            workspace.add_library_source(source, file.clone())
        };
        if let (true, Some(id)) = (is_given, id) {
            wanted.push(id);
        }
    }
    Ok((workspace, wanted))
}

fn check(paths: &[PathBuf], lib: &Path, format: Format) -> ExitCode {
    let (workspace, ids) = match load(paths, lib) {
        Ok(loaded) => loaded,
        Err(d) => return fail(d),
    };
    let mut all = workspace.errors.clone();
    for id in &ids {
        match workspace.compile(id) {
            Ok(program) => all.extend(program.warnings),
            Err(d) => all.extend(d),
        }
    }
    dedup(&mut all);
    let lang = lang_of_paths(paths);
    match format {
        Format::Json => {
            let list: Vec<_> = all
                .iter()
                .map(|d| d.to_json_in(chosen_lang().unwrap_or_else(|| d.lang_or(lang))))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        Format::Text => {
            for d in all.iter() {
                eprintln!("{}", show_one(d, lang));
            }
            let (errors, warnings) = (all.error_count(), all.0.len() - all.error_count());
            match lang {
                Lang::En => eprintln!(
                    "checked {} rule set(s): {errors} error(s), {warnings} warning(s)",
                    ids.len()
                ),
                Lang::Zh => eprintln!(
                    "已检查 {} 个规则集：{errors} 个错误，{warnings} 个警告",
                    ids.len()
                ),
            }
        }
    }
    if all.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A base rule set's warnings are reported once, not once per sector.
fn dedup(diagnostics: &mut Diagnostics) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.0.retain(|d| seen.insert(d.render()));
}

fn test(paths: &[PathBuf], lib: &Path, min_coverage: Option<u8>) -> ExitCode {
    let (workspace, ids) = match load(paths, lib) {
        Ok(loaded) => loaded,
        Err(d) => return fail(d),
    };
    // A broken file fails its own tests, not everyone else's.
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut covered = Vec::new();
    for (path, id) in &workspace.files {
        if id.is_none() && paths.iter().any(|p| path.starts_with(p)) {
            println!("test {} ... FAILED (does not parse)", path.display());
            failed += 1;
        }
    }
    let lang = lang_of_paths(paths);
    if !workspace.errors.is_empty() {
        eprint!("{}", show(&workspace.errors, lang));
    }
    for id in &ids {
        let program = match workspace.compile(id) {
            Ok(p) => p,
            Err(d) => {
                eprint!("{}", show(&d, lang));
                failed += 1;
                continue;
            }
        };
        let results = run_tests(&program);
        if min_coverage.is_some() {
            covered.push((id.clone(), coverage(&program, &results)));
        }
        for result in results {
            if result.passed() {
                passed += 1;
                println!("test {id} :: {} ... ok", result.name);
            } else {
                failed += 1;
                println!("test {id} :: {} ... FAILED", result.name);
                for d in result.failures.iter() {
                    println!("{}", show_one(d, lang));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    let below = match min_coverage {
        Some(min) => !print_coverage(&covered, min),
        None => false,
    };
    if failed == 0 && !below {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints the clause coverage table of each rule set and the total; false when the total
/// is below `min` percent.
fn print_coverage(sets: &[(String, Vec<ClauseCoverage>)], min: u8) -> bool {
    let mark = |b: bool| if b { "yes" } else { "NO " };
    let mut all = Vec::new();
    for (id, clauses) in sets {
        println!();
        println!(
            "coverage {id}: {}% ({} of {} clauses fired and not fired)",
            coverage_percent(clauses),
            clauses.iter().filter(|c| c.covered()).count(),
            clauses.len()
        );
        if clauses.is_empty() {
            continue;
        }
        println!("  fired  not fired  kind   clause");
        for c in clauses {
            println!(
                "  {}    {}        {:<5}  {}",
                mark(c.fired),
                mark(c.not_fired),
                c.kind.keyword(),
                c.id
            );
        }
        all.extend(clauses.iter().cloned());
    }
    let percent = coverage_percent(&all);
    println!();
    println!(
        "coverage total: {percent}% ({} of {} clauses fired and not fired; required {min}%)",
        all.iter().filter(|c| c.covered()).count(),
        all.len()
    );
    if percent < rust_decimal::Decimal::from(min) {
        println!(
            "coverage below {min}%: add tests that make the clauses marked NO fire / not fire"
        );
        return false;
    }
    true
}

/// Formats each file; a file that does not parse is reported and left alone.
fn fmt(paths: &[PathBuf], check_only: bool) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        match crate::ruleset::rule_files(path) {
            Ok(found) => files.extend(found),
            Err(d) => return fail(d),
        }
    }
    let (mut changed, mut failed) = (0usize, 0usize);
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read `{}`: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let source = crate::source::SourceFile::new(path.display().to_string(), text.clone());
        let formatted = match crate::fmt::format_source(&source) {
            Ok(f) => f,
            Err(d) => {
                eprint!("{}", show(&d, Lang::of_source(&text).unwrap_or(Lang::En)));
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check_only {
            println!("would reformat {}", path.display());
        } else if let Err(e) = write_atomically(path, &formatted) {
            eprintln!("cannot write `{}`: {e}", path.display());
            failed += 1;
        } else {
            println!("formatted {}", path.display());
        }
    }
    eprintln!(
        "{} file(s), {changed} {}, {failed} failed",
        files.len(),
        if check_only {
            "not formatted"
        } else {
            "reformatted"
        }
    );
    if failed > 0 || (check_only && changed > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes via a temporary file and a rename, so a crash never leaves half a rule file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("rules.fmt-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn eval(ruleset: &str, records: &Path, as_of: &str, lib: &Path, format: Format) -> ExitCode {
    let Ok(as_of) = NaiveDate::parse_from_str(as_of, "%Y-%m-%d") else {
        return fail(
            Diagnostic::error("E0700", format!("`{as_of}` is not a date"))
                .with_help("write --as-of YYYY-MM-DD, e.g. --as-of 2024-06-01"),
        );
    };
    let as_path = Path::new(ruleset);
    let (workspace, id) = if as_path.is_file() {
        match load(&[as_path.to_path_buf()], lib) {
            Ok((w, ids)) => match ids.into_iter().next() {
                Some(id) => (w, id),
                None => return fail(w.errors),
            },
            Err(d) => return fail(d),
        }
    } else {
        match load(&[], lib) {
            Ok((w, _)) => (w, ruleset.to_string()),
            Err(d) => return fail(d),
        }
    };
    let program = match workspace.compile(&id) {
        Ok(p) => p,
        Err(d) => return fail(d),
    };
    let records = match read_records(records) {
        Ok(r) => r,
        Err(d) => return fail(d),
    };
    let report = program.evaluate(&records, as_of).report(&program, &records);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Text => print!("{}", crate::eval::render_table(&report)),
    }
    ExitCode::SUCCESS
}

/// Reads and validates a JSON records file.
pub fn read_records(path: &Path) -> Result<Vec<CreditRecord>, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "E0004",
            format!("cannot read `{}`: {e}", path.display()),
        ))
    })?;
    parse_records(&text, &path.display().to_string())
}

/// Parses a JSON array of records (or `{"records": [...]}`), validating each.
pub fn parse_records(text: &str, name: &str) -> Result<Vec<CreditRecord>, Diagnostics> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Input {
        List(Vec<serde_json::Value>),
        Wrapped { records: Vec<serde_json::Value> },
    }
    let input: Input = serde_json::from_str(text).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                "E0701",
                format!(
                    "{name}: not valid records JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
            .with_help(
                "give a JSON array of records, each with at least id, uscc, kind and decided_on",
            ),
        )
    })?;
    let values = match input {
        Input::List(v) | Input::Wrapped { records: v } => v,
    };
    let mut records = Vec::with_capacity(values.len());
    let mut problems = Diagnostics::new();
    for (i, value) in values.into_iter().enumerate() {
        match serde_json::from_value::<CreditRecord>(value) {
            Ok(record) => match record.validate() {
                Ok(()) => records.push(record),
                Err(errors) => {
                    for e in errors {
                        problems.push(Diagnostic::error(
                            "E0702",
                            format!("{name}: record #{} (`{}`): {e}", i + 1, record.id),
                        ));
                    }
                }
            },
            Err(e) => problems.push(
                Diagnostic::error("E0702", format!("{name}: record #{}: {e}", i + 1))
                    .with_help("see the record schema in README.md"),
            ),
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(problems)
    }
}

/// `decisions compact`: whole old journal segments go, with their index entries.
fn compact_decisions(data: &Path, before: chrono::NaiveDate) -> ExitCode {
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let Some(start) = before
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shanghai).single())
    else {
        eprintln!("error: {before} has no start of day");
        return ExitCode::from(2);
    };
    let store = match crate::store::SledStore::open(data) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e} (is the server still running? stop it first)");
            return ExitCode::from(2);
        }
    };
    match store.compact_decisions(start.with_timezone(&chrono::Utc)) {
        Ok(done) => {
            println!(
                "removed {} journal segment(s) holding {} decision(s) made before {before}",
                done.segments, done.entries
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
