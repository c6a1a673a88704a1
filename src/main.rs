//! The `credit-rules` binary: parses the command line and hands over to the library.

use clap::Parser;

// The service allocates per request (JSON, reports, sled nodes); under load glibc's
// allocator took a quarter of the CPU (perf, `scripts/load-bench.sh`), mimalloc much less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    credit_rules::cli::run(credit_rules::cli::Cli::parse())
}
