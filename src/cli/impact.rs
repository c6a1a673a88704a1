//! `credit-rules impact`: what a new version of a rule set changes in outcomes, over the
//! entities in the record store (or a given list of them), as of a date.
//!
//! ```text
//! credit-rules impact --ruleset water --old water@head --new drafts/water.rules \
//!     --as-of 2024-06-01 [--data data] [--lib rulesets] [--entities bidders.txt] \
//!     [--top 20] [--format text|json]
//! ```
//!
//! `--old` and `--new` each name a version: a rule file (a path to an existing file), or a
//! version stored in the record store as `ID@head` (the newest, i.e. the one in force) or
//! `ID@HASH` (8 to 64 hex digits of the version's hash, as listed by
//! `GET /api/v1/rulesets/{id}/versions`); `ID` may be left out (`@head`) and must otherwise
//! be the `--ruleset` id. The rule sets a version extends come from the store's newest
//! versions, or from `--lib` for those the store does not hold.
//!
//! **Exit status**: 0 when the report was printed (whatever it shows); 1 when the analysis
//! could not run (a version that cannot be found or does not check, an unreadable entities
//! file, a record store that is missing or fails); 2 for a malformed command line.

use super::{Format, fail};
use crate::compile::CompiledRuleSet;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::impact::{ImpactOptions, MAX_TOP, render_text};
use crate::impact_store::{
    StoredRef, compile_version, find_version, impact_known_at, impact_of_entities, impact_of_store,
    stored_heads,
};
use crate::record::Uscc;
use crate::source::SourceFile;
use crate::store::{RecordStore, StoreLocation};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `credit-rules impact`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImpactArgs {
    /// Rule-set id, e.g. `water`.
    #[arg(long)]
    pub ruleset: String,
    /// The version in force: a rule file, `ID@head` (the newest stored version) or `ID@HASH`
    /// (a stored version; 8 to 64 hex digits of its hash).
    #[arg(long, value_name = "FILE|ID@HASH")]
    pub old: String,
    /// The proposed version, in the same forms as --old.
    #[arg(long, value_name = "FILE|ID@HASH")]
    pub new: String,
    /// Evaluation date, YYYY-MM-DD.
    #[arg(long)]
    pub as_of: String,
    /// The record store (database directory).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
    #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Folder of rule files for the rule sets a version extends that the store does not hold.
    #[arg(long, visible_alias = "rulesets", default_value = "rulesets")]
    pub lib: PathBuf,
    /// Only these entities (e.g. a tender's bidders): a file with one USCC per line; blank
    /// lines and lines starting with `#` are skipped.
    #[arg(long, value_name = "FILE")]
    pub entities: Option<PathBuf>,
    /// How many of the most changed entities to list.
    #[arg(long, default_value_t = crate::impact::DEFAULT_TOP as u32,
          value_parser = clap::value_parser!(u32).range(0..=MAX_TOP as i64))]
    pub top: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Take the records as the store knew them at this time (RFC 3339, e.g.
    /// 2024-06-01T08:00:00Z; default: now). Slower: each entity's records and history are
    /// read instead of the evaluation view.
    #[arg(long, value_name = "TIME")]
    pub known_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Runs `credit-rules impact`.
pub fn run(args: &ImpactArgs) -> ExitCode {
    match prepare(args).and_then(|prepared| analyse(args, prepared)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(diagnostics) => fail(diagnostics),
    }
}

/// Everything loaded before the analysis starts.
struct Prepared {
    store: Box<dyn RecordStore>,
    as_of: NaiveDate,
    old: CompiledRuleSet,
    new: CompiledRuleSet,
    entities: Option<Vec<Uscc>>,
}

fn prepare(args: &ImpactArgs) -> Result<Prepared, Diagnostics> {
    let as_of = parse_date(&args.as_of)?;
    let entities = args.entities.as_deref().map(read_entities).transpose()?;
    let store = open_store(&args.data, args.store.as_deref())?;
    let context = compile_context(&*store, &args.lib)?;
    let old = load_version(&*store, &args.ruleset, &args.old, "--old", &context)?;
    let new = load_version(&*store, &args.ruleset, &args.new, "--new", &context)?;
    Ok(Prepared {
        store,
        as_of,
        old,
        new,
        entities,
    })
}

fn analyse(args: &ImpactArgs, prepared: Prepared) -> Result<(), Diagnostics> {
    let Prepared {
        store,
        as_of,
        old,
        new,
        entities,
    } = prepared;
    if old.meta.hash == new.meta.hash {
        eprintln!(
            "note: --old and --new are the same rules (hash {}); nothing can change",
            &old.meta.hash[..12.min(old.meta.hash.len())]
        );
    }
    let options = ImpactOptions {
        top: args.top as usize,
        ..ImpactOptions::default()
    };
    let bar = progress_bar(entities.as_ref().map(|e| e.len() as u64));
    let mut progress = |evaluated: u64| bar.set_position(evaluated);
    let started = Instant::now();
    let result = match (&entities, args.known_at) {
        (list, Some(at)) => impact_known_at(
            &*store,
            list.as_deref(),
            &old,
            &new,
            (as_of, at),
            &options,
            &mut progress,
        ),
        (Some(list), None) => {
            impact_of_entities(&*store, list, &old, &new, as_of, &options, &mut progress)
        }
        (None, None) => impact_of_store(&*store, &old, &new, as_of, &options, &mut progress),
    };
    bar.finish_and_clear();
    let report = result.map_err(|e| {
        Diagnostic::error("E0716", e.to_string()).with_help(format!(
            "check the record store at `{}` (is another process writing to it?) and run again",
            args.data.display()
        ))
    })?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "evaluated {} entities under both versions in {seconds:.1} s ({:.0} entities/s)",
        report.counts.evaluated,
        report.counts.evaluated as f64 / seconds.max(1e-9)
    );
    match args.format {
        Format::Text => print!("{}", render_text(&report)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    Ok(())
}

fn parse_date(text: &str) -> Result<NaiveDate, Diagnostic> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Diagnostic::error("E0700", format!("`{text}` is not a date"))
            .with_help("write --as-of YYYY-MM-DD, e.g. --as-of 2024-06-01")
    })
}

/// Opens an existing store; a missing directory is an error, not a new empty store.
fn open_store(dir: &Path, url: Option<&str>) -> Result<Box<dyn RecordStore>, Diagnostic> {
    let location =
        StoreLocation::choose(dir, url).map_err(|e| Diagnostic::error("E0712", e.to_string()))?;
    if location.is_sled() && !dir.is_dir() {
        return Err(Diagnostic::error(
            "E0712",
            format!("there is no record store at `{}`", dir.display()),
        )
        .with_help(
            "point --data at the database directory of `credit-rules serve` or `import`, or \
             load records first with `credit-rules import FILE --data DIR`",
        ));
    }
    location
        .open()
        .map_err(|e| Diagnostic::error("E0712", e.to_string()))
}

/// The rule sets versions may extend: the store's newest versions first, then `--lib`.
fn compile_context(store: &dyn RecordStore, lib: &Path) -> Result<Vec<SourceFile>, Diagnostic> {
    let mut context = stored_heads(store).map_err(|e| Diagnostic::error("E0712", e.to_string()))?;
    for (path, text) in crate::ruleset::library_sources(lib)? {
        context.push(SourceFile::new(path.display().to_string(), text));
    }
    Ok(context)
}

/// Loads and compiles the version `spec` names (`--old` or `--new`).
fn load_version(
    store: &dyn RecordStore,
    ruleset: &str,
    spec: &str,
    flag: &str,
    context: &[SourceFile],
) -> Result<CompiledRuleSet, Diagnostics> {
    let (source, bases) = version_source(store, ruleset, spec, flag)?;
    // A stored version is compiled on the base versions its identity names; a rule file on
    // the newest stored bases (then --lib).
    let context: Vec<SourceFile> = bases.into_iter().chain(context.iter().cloned()).collect();
    compile_version(ruleset, source, &context).map_err(|mut d| {
        // A file of another rule set is explained by its own error.
        if d.0.iter().any(|e| e.code == "E0711") {
            return d;
        }
        d.0.insert(
            0,
            Diagnostic::error(
                "E0715",
                format!("the {flag} version `{spec}` of rule set `{ruleset}` does not check"),
            )
            .with_note("its diagnostics follow"),
        );
        d
    })
}

/// The source text `spec` names: a rule file, or `[ID]@active` / `[ID]@VERSION` in the
/// store (then also the stored sources of the bases the version identity names).
fn version_source(
    store: &dyn RecordStore,
    ruleset: &str,
    spec: &str,
    flag: &str,
) -> Result<(SourceFile, Vec<SourceFile>), Diagnostic> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::error("E0004", format!("cannot read `{}`: {e}", path.display()))
        })?;
        return Ok((
            SourceFile::new(path.display().to_string(), text),
            Vec::new(),
        ));
    }
    let Some((id, reference)) = spec.rsplit_once('@') else {
        return Err(Diagnostic::error(
            "E0713",
            format!("{flag} `{spec}` is neither a rule file nor a stored version"),
        )
        .with_help(format!(
            "give the path of a .rules file, `{ruleset}@head` for the version in force, or \
             `{ruleset}@HASH` with 8 to 64 hex digits of a stored version's hash"
        )));
    };
    if !id.is_empty() && id != ruleset {
        return Err(Diagnostic::error(
            "E0713",
            format!("{flag} `{spec}` names rule set `{id}`, but --ruleset is `{ruleset}`"),
        )
        .with_help("compare two versions of the same rule set: fix the id before `@`"));
    }
    let version = StoredRef::parse(reference)
        .and_then(|r| find_version(store, ruleset, &r))
        .map_err(|e| Diagnostic::error("E0713", format!("{flag} `{spec}`: {e}")))?;
    let mut files = version.files();
    let own = files.pop().expect("a chain holds the rule set itself");
    Ok((own, files))
}

/// Reads a list of USCCs, one per line; every bad line is reported.
fn read_entities(path: &Path) -> Result<Vec<Uscc>, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "E0004",
            format!("cannot read `{}`: {e}", path.display()),
        ))
    })?;
    let mut usccs = Vec::new();
    let mut problems = Diagnostics::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Uscc::parse(line) {
            Ok(uscc) => usccs.push(uscc),
            Err(e) => problems.push(
                Diagnostic::error(
                    "E0714",
                    format!(
                        "{}:{}: `{line}` is not a USCC: {e}",
                        path.display(),
                        number + 1
                    ),
                )
                .with_help("give one 18-character 统一社会信用代码 per line"),
            ),
        }
    }
    if problems.is_empty() {
        Ok(usccs)
    } else {
        Err(problems)
    }
}

/// A bar over the listed entities, or a counter over the whole store; hidden when standard
/// error is not a terminal.
fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} entities ({per_sec}, eta {eta})"
    } else {
        "{spinner} [{elapsed_precise}] {pos} entities evaluated ({per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
