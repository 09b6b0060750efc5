//! `yubin`: the mail hosting platform's one binary.

mod admin;
mod config;
mod metrics;
mod serve;
mod sla;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::AdminCommand;
use crate::config::Config;

/// mimalloc instead of glibc malloc: with glibc, each Argon2 login (19 MiB, freed at once) left
/// its block behind in an arena that TLS sessions on other threads then fragmented, so RSS grew
/// by ~19 MiB per TLS login (measured: 50 logins, +955 MiB). mimalloc's per-thread heaps return
/// such blocks and keep idle sessions small.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "yubin", version, about = "Yubin mail hosting platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data directory comes from: `--data`, else the config file's, else the default.
#[derive(clap::Args, Clone)]
struct Location {
    /// Configuration file (TOML).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file's server.data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
}

impl Location {
    fn load(&self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(data) = &self.data {
            config.server.data_dir = data.clone();
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (no config file needed).
    Serve {
        #[command(flatten)]
        location: Location,
    },
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer domains, accounts, aliases and mail (works while the server runs).
    Admin {
        #[command(flatten)]
        location: Location,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the full default configuration, every key with a comment.
    Default,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match cli.command {
        Command::Serve { location } => match location.load() {
            Ok(config) => {
                // Before the store opens, so its first measurements are kept.
                if let Err(e) = metrics::install() {
                    return fail(&e);
                }
                match runtime.block_on(serve::run(config)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(&e),
                }
            }
            Err(e) => fail(&e),
        },
        Command::Config(ConfigCommand::Default) => {
            print!("{}", Config::default_toml());
            ExitCode::SUCCESS
        }
        Command::Admin { location, command } => match location.load() {
            Ok(config) => match runtime.block_on(run_admin(config, command)) {
                Ok(out) => {
                    let mut stdout = std::io::stdout().lock();
                    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => fail(&format!("writing output: {e}")),
                    }
                }
                Err(e) => fail(&e),
            },
            Err(e) => fail(&e),
        },
    }
}

async fn run_admin(config: Config, command: AdminCommand) -> Result<Vec<u8>, String> {
    let data = &config.server.data_dir;
    let command = command.with_absolute_paths()?;
    if let Some(result) = admin::socket::send(data, &command).await {
        return result;
    }
    if command.needs_server() {
        return Err(format!(
            "no server is running on {} (its admin socket does not answer)",
            data.display()
        ));
    }
    let store = yubin_store::MailStore::open(data)
        .await
        .map_err(|e| match e.kind() {
            yubin_store::ErrorKind::Unavailable => format!(
                "{e}; a server seems to be running on {} but its admin socket does not answer",
                data.display()
            ),
            _ => e.to_string(),
        })?;
    admin::execute(&store, data, &admin::defaults(&config), &command).await
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {}", message.trim_end());
    ExitCode::FAILURE
}
