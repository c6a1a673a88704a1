//! The measurement target of `scripts/callgrind.sh`: runs one column of the comparison
//! with the hand-written baseline (`benches/baseline/mod.rs`) `ITERATIONS` times over
//! entities of `RECORDS` records, so that callgrind's instruction count for `N` and `2N`
//! iterations gives the instructions of one iteration without the setup.
//!
//! ```text
//! callgrind COLUMN RECORDS ITERATIONS    run one column (under valgrind)
//! callgrind                              wall-clock ns per iteration of every column
//! ```
//!
//! Columns (all on the shipped water rule set with the city base, as of 2024-06-15, over
//! 16 generated entities of `RECORDS` records taken in turn):
//! - `baseline`: the hand-written evaluation over typed records;
//! - `engine`: `CompiledRuleSet::evaluate_into` (one outcome reused) over decoded
//!   `CreditRecord`s;
//! - `report`: `evaluate` then `Outcome::report`;
//! - `report-json`: `evaluate`, `report`, then the report as JSON bytes (`Report::to_json`,
//!   the same bytes as serde_json's);
//! - `report-serde`: `evaluate`, `report`, then the report as JSON bytes by `serde_json`;
//! - `decode-baseline`: the hand-written JSON → typed decoding (borrowing the buffer, checked);
//! - `decode-engine`: JSON → `Vec<CreditRecord>` with serde and `CreditRecord::validate`, as
//!   the HTTP API decodes inline records.
//!
//! The allocator is mimalloc, as in the `credit-rules` binary.

#[path = "baseline/mod.rs"]
mod baseline;

use credit_rules::compile::CompiledRuleSet;
use credit_rules::record::CreditRecord;
use credit_rules::ruleset::Workspace;
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Entities per record count; iterations take them in turn.
const ENTITIES: usize = 16;

/// The columns, in table order.
const COLUMNS: [&str; 7] = [
    "baseline",
    "engine",
    "report",
    "report-json",
    "report-serde",
    "decode-baseline",
    "decode-engine",
];

struct Inputs {
    program: CompiledRuleSet,
    as_of: chrono::NaiveDate,
    records: Vec<Vec<CreditRecord>>,
    json: Vec<Vec<u8>>,
}

fn inputs(n: usize) -> Inputs {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets");
    let program = Workspace::load(&root)
        .expect("rulesets/ loads")
        .compile("water")
        .expect("water compiles");
    assert!(
        program
            .clauses
            .iter()
            .map(|c| c.id.as_str())
            .eq(baseline::CLAUSES),
        "the baseline follows water.rules' clauses"
    );
    let as_of = baseline::as_of();
    let mut rng = baseline::Rng::new(2026);
    let records: Vec<Vec<CreditRecord>> = (0..ENTITIES)
        .map(|_| baseline::entity(&mut rng, n, as_of))
        .collect();
    let json = records
        .iter()
        .map(|r| serde_json::to_vec(r).expect("serialises"))
        .collect();
    Inputs {
        program,
        as_of,
        records,
        json,
    }
}

/// Runs `column` `iterations` times; returns a checksum so nothing is optimised away.
fn run(column: &str, inputs: &Inputs, iterations: usize) -> usize {
    let Inputs {
        program,
        as_of,
        records,
        json,
    } = inputs;
    let as_of = *as_of;
    let mut sum = 0usize;
    match column {
        "baseline" => {
            let typed: Vec<Vec<baseline::Rec<'_>>> = json
                .iter()
                .map(|j| baseline::decode(j).expect("valid"))
                .collect();
            for i in 0..iterations {
                let out = baseline::evaluate(black_box(&typed[i % ENTITIES]), black_box(as_of));
                sum += usize::from(black_box(&out).disqualified);
            }
        }
        "engine" => {
            // One outcome reused, as a caller evaluating many entities does.
            let mut out = program.evaluate(&[], as_of);
            for i in 0..iterations {
                program.evaluate_into(
                    black_box(&records[i % ENTITIES]),
                    black_box(as_of),
                    &mut out,
                );
                sum += black_box(&out).clauses.len();
            }
        }
        "report" => {
            for i in 0..iterations {
                let recs = black_box(&records[i % ENTITIES]);
                let report = program
                    .evaluate(recs, black_box(as_of))
                    .report(program, recs);
                sum += black_box(&report).scores.len();
            }
        }
        "report-json" => {
            for i in 0..iterations {
                let recs = black_box(&records[i % ENTITIES]);
                let report = program
                    .evaluate(recs, black_box(as_of))
                    .report(program, recs);
                sum += report.to_json().len();
            }
        }
        "report-serde" => {
            for i in 0..iterations {
                let recs = black_box(&records[i % ENTITIES]);
                let report = program
                    .evaluate(recs, black_box(as_of))
                    .report(program, recs);
                sum += serde_json::to_vec(&report).expect("serialises").len();
            }
        }
        "decode-baseline" => {
            for i in 0..iterations {
                let typed = baseline::decode(black_box(&json[i % ENTITIES])).expect("valid");
                sum += black_box(&typed).len();
            }
        }
        "decode-engine" => {
            for i in 0..iterations {
                let recs: Vec<CreditRecord> =
                    serde_json::from_slice(black_box(&json[i % ENTITIES])).expect("decodes");
                assert!(recs.iter().all(|r| r.validate().is_ok()));
                sum += black_box(&recs).len();
            }
        }
        other => {
            eprintln!("unknown column `{other}`; columns: {}", COLUMNS.join(", "));
            std::process::exit(2);
        }
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`: then (and with no arguments) print wall-clock times.
    if args.is_empty() || args.iter().all(|a| a.starts_with("--")) {
        wall_clock();
        return;
    }
    let [column, records, iterations] = &args[..] else {
        eprintln!("usage: callgrind COLUMN RECORDS ITERATIONS (no arguments: wall-clock table)");
        std::process::exit(2);
    };
    let (Ok(n), Ok(iterations)) = (records.parse::<usize>(), iterations.parse::<usize>()) else {
        eprintln!("RECORDS and ITERATIONS are whole numbers");
        std::process::exit(2);
    };
    let inputs = inputs(n);
    println!("{}", run(column, &inputs, iterations));
}

/// Nanoseconds per iteration of every column at 0, 4 and 20 records (best of 5 rounds).
fn wall_clock() {
    println!("{:<16} {:>10} {:>10} {:>10}", "ns/iteration", 0, 4, 20);
    let sizes = [0usize, 4, 20].map(inputs);
    for column in COLUMNS {
        let mut row = format!("{column:<16}");
        for inputs in &sizes {
            let iterations = 20_000;
            let best = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    black_box(run(column, inputs, iterations));
                    start.elapsed().as_nanos() as f64 / iterations as f64
                })
                .fold(f64::INFINITY, f64::min);
            row.push_str(&format!(" {best:>10.0}"));
        }
        println!("{row}");
    }
}
