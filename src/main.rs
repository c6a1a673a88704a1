//! The `credit-rules` binary: parses the command line and hands over to the library.

use clap::Parser;
use credit_rules::cli::{Cli, Command};

// The service allocates per request (JSON, reports, sled nodes); under load glibc's
// allocator took a quarter of the CPU (perf, `scripts/load-bench.sh`), mimalloc much less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        quiet_on_closed_pipe();
    }
    credit_rules::cli::run(cli)
}

/// Restores the default action of `SIGPIPE` (end the process without a message), as
/// command-line tools do: `credit-rules eval … | head` then stops quietly when `head` has
/// read enough, instead of panicking in `println!` ("failed printing to stdout: Broken
/// pipe"). The Rust runtime ignores `SIGPIPE` by default; the server keeps that, since a
/// client hanging up must not end it (its sockets report the error instead).
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: called once at start-up, before any other thread exists; `signal` with
    // `SIG_DFL` installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}
