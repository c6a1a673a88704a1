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
//! * `pg`: M entities × R records in a PostgreSQL schema, filled once with `COPY` straight
//!   into the tables (`PgStore::fill_new_records`: the store's own encoding, as the import
//!   would store them), then the same analysis read in parallel by USCC range, broken down
//!   into cutting the ranges, scanning, decoding and evaluating (`by_ranges`, which the
//!   `store` mode runs over sled too).
//!
//! ```text
//! cargo run --release --example impact_bench -- engine --entities 1000000 --records 20
//! cargo run --release --example impact_bench -- pg --entities 100000 --schema impact_x --fill
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
use credit_rules::store::{
    EvaluationEntity, PgStore, RawEntity, RecordStore, Records, SledStore, UsccRange,
};
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
    /// The store path over PostgreSQL: a schema filled once (`--fill`, COPY straight into
    /// the tables in the store's encoding) with M entities × R records, then the impact
    /// analysis read in parallel by USCC range, and where its time goes.
    Pg {
        #[arg(long, default_value_t = 100_000)]
        entities: usize,
        #[arg(long, default_value_t = 20)]
        records: usize,
        /// The database (`postgres://…`).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
        url: String,
        /// The schema of the store (created when missing; kept: drop it when done).
        #[arg(long)]
        schema: String,
        /// Fill the schema first (it must hold no records yet).
        #[arg(long)]
        fill: bool,
        /// Entities per fill transaction.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Also time the single-cursor path (one row per record, grouped on one thread).
        #[arg(long)]
        one_cursor: bool,
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
        Mode::Pg {
            entities,
            records,
            url,
            schema,
            fill,
            batch,
            one_cursor,
        } => {
            let store = PgStore::open_in_schema(&url, &schema).expect("open the PostgreSQL store");
            if fill {
                fill_pg(&store, &demo_config(entities, records), batch.max(1));
            }
            let records = by_ranges(&old, &new, &store, "pg");
            if one_cursor {
                timed(
                    "pg impact_of_store over one cursor (scan_for_evaluation, rows per record)",
                    Some(records),
                    &mut || {
                        let report = analyse_with(
                            &old,
                            &new,
                            as_of(),
                            store.scan_for_evaluation(),
                            EvaluationEntity::decode,
                            &ImpactOptions::default(),
                            &mut |_| {},
                        )
                        .expect("runs");
                        summary(&report)
                    },
                );
            }
        }
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
    drop(store);
    let store = SledStore::open(&path).expect("reopen the store");
    by_ranges(old, new, &store, "sled");
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

/// Fills an empty PostgreSQL store with the demo entities, `batch` entities per
/// transaction, on the rayon pool (generating and encoding here, `COPY` on the server).
fn fill_pg(store: &PgStore, cfg: &DemoConfig, batch: usize) {
    let started = Instant::now();
    let written_at = chrono::Utc::now();
    let batches: Vec<usize> = (0..cfg.entities).step_by(batch).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let written: u64 = batches
        .par_iter()
        .map(|&first| {
            let records: Vec<CreditRecord> = (first..(first + batch).min(cfg.entities))
                .flat_map(|i| entity(cfg, i).2)
                .collect();
            let n = store
                .fill_new_records(&records, written_at)
                .expect("records written");
            let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if done.is_multiple_of(50) {
                eprintln!(
                    "  filled {done} of {} batches, {:.0} s",
                    batches.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            n
        })
        .sum();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "filled {written} records of {} entities in {seconds:.1} s ({:.0} records/s, COPY, \
         {batch} entities per transaction)",
        cfg.entities,
        written as f64 / seconds
    );
}

/// The analysis as `credit-rules impact` runs it (`impact_of_store`: ranges of the USCC key
/// space read in parallel), then its parts on the same ranges and threads: cutting the
/// ranges, the bare scan, the scan and decoding, without the evaluation. Returns the number
/// of records.
fn by_ranges(
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    store: &dyn RecordStore,
    label: &str,
) -> usize {
    let threads = rayon::current_num_threads();
    let parts = threads * credit_rules::impact_store::RANGES_PER_THREAD;
    let started = Instant::now();
    let ranges = store.evaluation_ranges(parts).expect("ranges");
    println!(
        "{label} evaluation_ranges({parts}): {} ranges in {:.3} s",
        ranges.len(),
        started.elapsed().as_secs_f64()
    );
    // Runs `work` on each range, `threads` ranges at a time, a free thread taking the next.
    let over_ranges = |work: &(dyn Fn(&UsccRange) -> (usize, usize) + Sync)| {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let per_thread: Vec<(usize, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut sum = (0, 0);
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(range) = ranges.get(i) else { break };
                            let (e, r) = work(range);
                            sum = (sum.0 + e, sum.1 + r);
                        }
                        sum
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a thread"))
                .collect()
        });
        per_thread
            .into_iter()
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let (entities, records) = over_ranges(&|range| {
        let mut counts = (0, 0);
        for item in store.scan_for_evaluation_in(range) {
            counts.0 += 1;
            counts.1 += item.expect("scan").len();
        }
        counts
    });
    let per_record = Some(records);
    let options = ImpactOptions::default();
    timed(
        &format!("{label} impact_of_store by USCC range, {threads} threads, first pass"),
        per_record,
        &mut || {
            let report =
                impact_of_store(store, old, new, as_of(), &options, &mut |_| {}).expect("runs");
            summary(&report)
        },
    );
    timed(
        &format!("{label} scan only by USCC range, {threads} threads ({entities} entities)"),
        per_record,
        &mut || {
            format!(
                "{} records",
                over_ranges(&|range| {
                    let mut n = (0, 0);
                    for item in store.scan_for_evaluation_in(range) {
                        n.1 += item.expect("scan").len();
                    }
                    n
                })
                .1
            )
        },
    );
    timed(
        &format!("{label} scan + decode by USCC range, {threads} threads"),
        per_record,
        &mut || {
            format!(
                "{} records",
                over_ranges(&|range| {
                    let mut n = (0, 0);
                    for item in store.scan_for_evaluation_in(range) {
                        n.1 += item.expect("scan").decode().expect("decodes").1.len();
                    }
                    n
                })
                .1
            )
        },
    );
    timed(
        &format!("{label} scan only, one range, one thread"),
        per_record,
        &mut || {
            let n: usize = store
                .scan_for_evaluation_in(&UsccRange::all())
                .map(|item| item.expect("scan").len())
                .sum();
            format!("{n} records")
        },
    );
    timed(
        &format!("{label} impact_of_store by USCC range, second pass"),
        per_record,
        &mut || {
            let report =
                impact_of_store(store, old, new, as_of(), &options, &mut |_| {}).expect("runs");
            summary(&report)
        },
    );
    records
}
