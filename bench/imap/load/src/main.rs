//! IMAP load generator for bench/imap: the same workloads, byte for byte, against any server.
//!
//! Usage: imap-load <workload> HOST:PORT USER PASS [--key value]...
//!   append   --mailbox M --sessions N --messages M --size S [--first I] [--spread K]
//!   fetch    --mailbox M --expect N          SELECT + UID FETCH 1:* (FLAGS), one run
//!   search   --mailbox M --expect N          SELECT, then SEARCH TEXT <needle>, one run
//!   mixed    --prefix P --clients N --seconds S [--size S]
//!   idle     --count N [--threads T]         hold N logged-in idle connections
//! and `imap-load maildir DIR --messages N --size S [--first I]` (writes the corpus as files).
//! Every workload accepts --server-pid PID (its CPU time is reported beside the client's).
//! Results are one `result key=value ...` line on stdout (plus `op ...` lines for mixed);
//! progress and errors go to stderr. Loopback targets only.

mod client;
mod corpus;
mod maildir;
mod stats;
mod workloads;

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

/// Parsed command line: the positional target and credentials, then `--key value` options.
pub struct Args {
    pub addr: SocketAddr,
    pub user: String,
    pub pass: String,
    opts: HashMap<String, String>,
}

impl Args {
    pub fn str(&self, key: &str, default: &str) -> String {
        self.opts
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    pub fn num(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.opts.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{key}: not a number: {v}")),
        }
    }

    pub fn server_pid(&self) -> Result<Option<u32>, String> {
        match self.opts.get("server-pid") {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("--server-pid: not a number: {v}")),
        }
    }
}

fn parse(argv: &[String]) -> Result<(String, Args), String> {
    let [workload, target, user, pass, rest @ ..] = argv else {
        return Err("usage: imap-load <append|fetch|search|mixed|idle> HOST:PORT USER PASS [--key value]...".into());
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("{target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target}: no address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("refusing a non-loopback target {addr}"));
    }
    let mut opts = HashMap::new();
    let mut it = rest.iter();
    while let Some(k) = it.next() {
        let key = k
            .strip_prefix("--")
            .ok_or_else(|| format!("expected --option, got {k}"))?;
        let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
        opts.insert(key.to_string(), v.clone());
    }
    Ok((
        workload.clone(),
        Args {
            addr,
            user: user.clone(),
            pass: pass.clone(),
            opts,
        },
    ))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = if argv.first().is_some_and(|w| w == "maildir") {
        maildir::fill(&argv[1..])
    } else {
        parse(&argv).and_then(|(workload, args)| match workload.as_str() {
            "append" => workloads::append(&args),
            "fetch" => workloads::fetch(&args),
            "search" => workloads::search(&args),
            "mixed" => workloads::mixed(&args),
            "idle" => workloads::idle(&args),
            other => Err(format!("unknown workload {other}")),
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imap-load: {e}");
            ExitCode::FAILURE
        }
    }
}
