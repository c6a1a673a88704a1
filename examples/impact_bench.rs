//! Impact-analysis benchmark (`scripts/impact-bench.sh` runs it in release mode).
//!
//! * `engine`: N synthetic entities × R records (`credit_rules::demo`) generated in memory
//!   first (not timed), then compared under two versions of the shipped `water` rule set,
//!   on the rayon pool and, for reference, on one thread.
//! * `store`: M entities × R records written with `put_records` in large batches into a
//!   fresh sled store in a temporary directory (load timed apart), the store reopened, then
//!   timed: the shipped path (`impact_of_store` over the evaluation view,
//!   `scan_for_evaluation`) on the first pass after opening and on a repeat pass, the same
//!   analysis over the records tree record by record (`scan_entities_raw`, the path before
//!   the view), and bare scans and decoding. Rates are per record, so that they can be
//!   extrapolated to the 1 M × 20 target.
//!
//! ```text
//! cargo run --release --example impact_bench -- engine --entities 1000000 --records 20
//! cargo run --release --example impact_bench -- store --entities 50000 --records 20
//! ```

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use credit_rules::compile::CompiledRuleSet;
use credit_rules::demo::{DemoConfig, entity};
use credit_rules::impact::{ImpactOptions, ImpactReport, analyse, analyse_with};
use credit_rules::impact_store::impact_of_store;
use credit_rules::record::{CreditRecord, Uscc};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use credit_rules::store::{RawEntity, Records, SledStore};
use rayon::prelude::*;
use std::time::Instant;

// The allocator of the `credit-rules` binary (src/main.rs), so that the store path is
// measured as `credit-rules impact` runs it (decoding allocates a few strings per record).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BASE: &str = include_str!("../rulesets/city/base.rules");
const WATER: &str = include_str!("../rulesets/water/water.rules");

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// The engine alone, entities in memory.
    Engine {
        #[arg(long, default_value_t = 1_000_000)]
        entities: usize,
        #[arg(long, default_value_t = 20)]
        records: usize,
        /// Also time a run on the calling thread only.
        #[arg(long)]
        sequential: bool,
    },
    /// Store scan + impact over a temporary sled store.
    Store {
        #[arg(long, default_value_t = 50_000)]
        entities: usize,
        #[arg(long, default_value_t = 20)]
        records: usize,
        /// Records per `put_records` batch while loading.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// Keep the store in this directory, and reuse it when it is already there (the load
        /// takes minutes); by default a temporary directory is used and deleted.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

fn main() {
    let args = Args::parse();
    let (old, new) = versions();
    eprintln!(
        "rule sets: {} {} ({} clauses) → {} ({} clauses); {} rayon threads",
        old.meta.id,
        old.meta.version,
        old.clauses.len(),
        new.meta.version,
        new.clauses.len(),
        rayon::current_num_threads()
    );
    match args.mode {
        Mode::Engine {
            entities,
            records,
            sequential,
        } => engine(&old, &new, entities, records, sequential),
        Mode::Store {
            entities,
            records,
            batch,
            dir,
        } => store(&old, &new, entities, records, batch, dir),
    }
}

/// The shipped `water` rule set, and a revision of it: a heavier and longer penalty
/// deduction and a new veto on government-procurement violations.
fn versions() -> (CompiledRuleSet, CompiledRuleSet) {
    let revised = WATER
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3")
        .replace(
            "const 处罚回看期     = 2 years",
            "const 处罚回看期     = 3 years",
        )
        .replace("version   \"2024.1\"", "version   \"2024.2\"")
        + "\nveto 政府采购严重违法 {\n  wording \"近三年被列入政府采购严重违法失信名单的，否决其投标。\"\n  when    any(records where kind = 政府采购严重违法失信 and within 3 years)\n}\n";
    assert!(
        revised.contains("const 每次处罚扣分     = 3"),
        "the deduction changed"
    );
    assert!(
        revised.contains("const 处罚回看期     = 3 years"),
        "the window changed"
    );
    let compile = |text: &str| {
        let mut workspace = Workspace::new();
        workspace.add_source(SourceFile::new("base.rules", BASE), None);
        workspace.add_source(SourceFile::new("water.rules", text.to_string()), None);
        workspace
            .compile("water")
            .unwrap_or_else(|d| panic!("{}", d.render()))
    };
    (compile(WATER), compile(&revised))
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
}

fn demo_config(entities: usize, records: usize) -> DemoConfig {
    DemoConfig {
        seed: 2024,
        entities,
        records_per_entity: (records, records),
    }
}

/// Resident memory of this process, in MiB (Linux), for the record.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

fn summary(report: &ImpactReport) -> String {
    let c = &report.counts;
    format!(
        "{} evaluated: {} newly disqualified, {} newly qualified, {} score changed, {} unchanged",
        c.evaluated, c.newly_disqualified, c.newly_qualified, c.score_changed, c.unchanged
    )
}

fn engine(old: &CompiledRuleSet, new: &CompiledRuleSet, n: usize, r: usize, sequential: bool) {
    let cfg = demo_config(n, r);
    let started = Instant::now();
    let entities: Vec<(Uscc, Vec<CreditRecord>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (uscc, _, records) = entity(&cfg, i);
            (uscc, records)
        })
        .collect();
    let records: usize = entities.iter().map(|(_, r)| r.len()).sum();
    eprintln!(
        "generated {n} entities, {records} records in {:.1} s (not timed below); RSS {} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib()
    );
    let mut modes = vec![("parallel", true)];
    if sequential {
        modes.push(("one thread", false));
    }
    for (label, parallel) in modes {
        let options = ImpactOptions {
            parallel,
            ..ImpactOptions::default()
        };
        let input = entities
            .iter()
            .map(|(uscc, records)| Ok::<_, String>((uscc.clone(), records.as_slice())));
        let started = Instant::now();
        let report =
            analyse(old, new, as_of(), input, &options, &mut |_| {}).expect("the analysis runs");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "engine {label}: {n} entities × {r} records, both versions: {seconds:.2} s \
             ({:.0} entities/s, {:.2} M records/s, {:.2} µs per entity per version-pair)",
            n as f64 / seconds,
            records as f64 / seconds / 1e6,
            seconds * 1e6 / n as f64
        );
        println!("  {}", summary(&report));
    }
}

fn store(
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    n: usize,
    r: usize,
    batch: usize,
    dir: Option<std::path::PathBuf>,
) {
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let path = dir.unwrap_or_else(|| temporary.path().join("data"));
    let cfg = demo_config(n, r);
    if path.exists() {
        eprintln!("reusing the store at {}", path.display());
    } else {
        load(&path, &cfg, batch.max(1));
    }
    eprintln!("store on disk: {} MiB", dir_size(&path) / (1 << 20));
    let options = ImpactOptions::default();

    // What `credit-rules impact` sees: a fresh process, sled's cache empty (the OS page
    // cache holds the files after the load).
    let store = SledStore::open(&path).expect("reopen the store");
    let records = store
        .scan_for_evaluation()
        .map(|item| item.expect("scan").len())
        .sum::<usize>();
    drop(store);
    let per_record = Some(records);
    let store = SledStore::open(&path).expect("reopen the store");
    let cold = timed(
        "impact_of_store (evaluation view), sled cache cold (first pass after open)",
        per_record,
        &mut || {
            let report =
                impact_of_store(&store, old, new, as_of(), &options, &mut |_| {}).expect("runs");
            summary(&report)
        },
    );
    let warm = timed(
        "impact_of_store (evaluation view), repeat pass",
        per_record,
        &mut || {
            let report =
                impact_of_store(&store, old, new, as_of(), &options, &mut |_| {}).expect("runs");
            summary(&report)
        },
    );
    drop(store);
    // The path before the evaluation view: one sled item per record.
    let store = SledStore::open(&path).expect("reopen the store");
    let by_record = |store: &SledStore| {
        analyse_with(
            old,
            new,
            as_of(),
            store.scan_entities_raw(),
            RawEntity::decode_for_evaluation,
            &options,
            &mut |_| {},
        )
        .expect("runs")
    };
    let cold_records = timed(
        "impact over the records tree (scan_entities_raw, record by record), cold",
        per_record,
        &mut || summary(&by_record(&store)),
    );
    let warm_records = timed(
        "impact over the records tree (scan_entities_raw, record by record), repeat pass",
        per_record,
        &mut || summary(&by_record(&store)),
    );
    timed("view scan only, warm", per_record, &mut || {
        let n: usize = store
            .scan_for_evaluation()
            .map(|item| item.expect("scan").len())
            .sum();
        format!("{n} records")
    });
    timed("records-tree raw scan only, warm", per_record, &mut || {
        let n: usize = store
            .scan_entities_raw()
            .map(|item| item.expect("scan").len())
            .sum();
        format!("{n} records")
    });
    timed(
        "view scan + decode, one thread, warm",
        per_record,
        &mut || {
            let mut total = 0;
            for item in store.scan_for_evaluation() {
                total += item.expect("scan").decode().expect("decodes").1.len();
            }
            format!("{total} records")
        },
    );
    timed(
        "records-tree raw scan + decode_for_evaluation, one thread, warm",
        per_record,
        &mut || {
            let mut total = 0;
            for item in store.scan_entities_raw() {
                let raw = item.expect("scan");
                total += raw.decode_for_evaluation().expect("decodes").1.len();
            }
            format!("{total} records")
        },
    );
    let rate = |seconds: f64| records as f64 / seconds;
    println!(
        "evaluation view: cold pass {cold:.2} s = {:.0} records/s; repeat pass {warm:.2} s = {:.0} records/s",
        rate(cold),
        rate(warm)
    );
    println!(
        "records tree: cold pass {cold_records:.2} s = {:.0} records/s; repeat pass {warm_records:.2} s = {:.0} records/s",
        rate(cold_records),
        rate(warm_records)
    );
    let target = 20_000_000.0;
    println!(
        "EXTRAPOLATION, not measured (linear in records): 1 M entities × 20 records = 20 M \
         records through impact_of_store (evaluation view) would take about {:.0} s on a first \
         pass (a fresh process: `credit-rules impact`) and {:.0} s on a repeat pass (only if \
         sled's cache held the whole view); over the records tree {:.0} s and {:.0} s",
        target / rate(cold),
        target / rate(warm),
        target / rate(cold_records),
        target / rate(warm_records),
    );
}

/// Runs `work`, prints its time (and rate per record when the count is known); returns the
/// seconds.
fn timed(label: &str, records: Option<usize>, work: &mut dyn FnMut() -> String) -> f64 {
    let started = Instant::now();
    let what = work();
    let seconds = started.elapsed().as_secs_f64();
    let rate = records.map_or(String::new(), |n| {
        format!(" ({:.0} records/s)", n as f64 / seconds)
    });
    println!("store {label}: {seconds:.2} s{rate}; {what}");
    seconds
}

/// Writes the entities' records in batches.
fn load(path: &std::path::Path, cfg: &DemoConfig, batch: usize) {
    let store = SledStore::open(path).expect("a fresh store");
    let started = Instant::now();
    let mut pending: Vec<CreditRecord> = Vec::with_capacity(batch + 64);
    let mut stored = 0;
    for i in 0..cfg.entities {
        pending.extend(entity(cfg, i).2);
        if pending.len() >= batch {
            stored += put(&store, &mut pending);
        }
    }
    stored += put(&store, &mut pending);
    eprintln!(
        "loaded {stored} records of {} entities in {:.1} s (put_records, batches of {batch})",
        cfg.entities,
        started.elapsed().as_secs_f64()
    );
}

fn put(store: &SledStore, pending: &mut Vec<CreditRecord>) -> usize {
    if pending.is_empty() {
        return 0;
    }
    let summary = store.put_records(pending).expect("records stored");
    assert!(
        summary.rejected.is_empty(),
        "{:?}",
        summary.rejected.first()
    );
    pending.clear();
    summary.inserted
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
