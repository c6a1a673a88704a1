//! The `credit-rules` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    credit_rules::cli::run(credit_rules::cli::Cli::parse())
}
