//! `credit-rules tokens create|list|rotate|revoke`: the token file of `serve` from the
//! command line (the console's token page does the same). A running `serve` reloads the
//! file when it changes. The plain token of `create` and `rotate` is printed once, on
//! standard output, and stored nowhere.

use crate::http::{Role, create_token, fingerprint, read_token_file, revoke_token, rotate_token};
use std::path::PathBuf;
use std::process::ExitCode;

/// A token command.
#[derive(Debug, clap::Subcommand)]
pub enum TokensCommand {
    /// Add a token and print it (once).
    Create {
        /// The token file.
        #[arg(long, default_value = "data/tokens.json")]
        file: PathBuf,
        /// The holder, e.g. 武汉市水务局.
        #[arg(long)]
        name: String,
        /// city_office, bureau, evaluator or intake.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A bureau's sector, as rule-set headers spell it (e.g. 水务).
        #[arg(long)]
        sector: Option<String>,
    },
    /// List the tokens (fingerprint, role, sector, holder); never the secrets.
    List {
        /// The token file.
        #[arg(long, default_value = "data/tokens.json")]
        file: PathBuf,
    },
    /// Replace a token by a new one for the same holder and print it (once).
    Rotate {
        /// The token's fingerprint (at least 6 of the 12 digits `list` shows).
        fingerprint: String,
        /// The token file.
        #[arg(long, default_value = "data/tokens.json")]
        file: PathBuf,
    },
    /// Remove a token (its console sessions end too).
    Revoke {
        /// The token's fingerprint (at least 6 of the 12 digits `list` shows).
        fingerprint: String,
        /// The token file.
        #[arg(long, default_value = "data/tokens.json")]
        file: PathBuf,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum RoleArg {
    /// 市公管局.
    CityOffice,
    /// A sector bureau (needs --sector).
    Bureau,
    /// A bid-evaluation system.
    Evaluator,
    /// The provincial credit platform.
    Intake,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::CityOffice => Role::CityOffice,
            RoleArg::Bureau => Role::Bureau,
            RoleArg::Evaluator => Role::Evaluator,
            RoleArg::Intake => Role::Intake,
        }
    }
}

/// Runs a token command.
pub fn run(command: &TokensCommand) -> ExitCode {
    let done = match command {
        TokensCommand::Create {
            file,
            name,
            role,
            sector,
        } => create_token(file, name, (*role).into(), sector.as_deref()).map(|(plain, entry)| {
            eprintln!("created the token {} of {}; it is shown once:", fingerprint(&entry), entry.name);
            println!("{plain}");
        }),
        TokensCommand::List { file } => read_token_file(file).map(|tokens| {
            for entry in &tokens.tokens {
                println!(
                    "{}  {:<11}  {:<10}  {}",
                    fingerprint(entry),
                    entry.role.as_str(),
                    entry.sector.as_deref().unwrap_or("-"),
                    entry.name
                );
            }
        }),
        TokensCommand::Rotate { fingerprint: print, file } => {
            rotate_token(file, print).map(|(plain, entry)| {
                eprintln!(
                    "replaced the token of {} (new fingerprint {}); the old one no longer works. The new token, shown once:",
                    entry.name,
                    fingerprint(&entry)
                );
                println!("{plain}");
            })
        }
        TokensCommand::Revoke { fingerprint: print, file } => revoke_token(file, print).map(|entry| {
            eprintln!("revoked the token {} of {}", fingerprint(&entry), entry.name);
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
