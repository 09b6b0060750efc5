//! POP3 load generator for bench/pop3: the same workloads, byte for byte, against any server.
//!
//! Usage: pop3-load <workload> HOST:PORT [--key value]...
//!   logins   --user FMT --pass P --accounts K --clients N --seconds S [--once 1] [--offset O]
//!            N clients loop connect, USER, PASS, STAT, QUIT for S seconds over K accounts
//!            (--once: each account exactly once, no warm-up; --offset: accounts O..O+K)
//!   retr     --user FMT --pass P --accounts K --messages M
//!            one session per account, all at once: STAT, LIST, RETR 1..M, QUIT
//!   listing  --user FMT --pass P --command UIDL|LIST --expect N
//!            one timed connect + USER + PASS + UIDL (or LIST) on a fresh connection
//!   fill     --user FMT --pass P --accounts K --messages M --size S|mixed [--first I]
//!            (HOST:PORT is an IMAP server) APPEND each account's messages to its INBOX
//! and `pop3-load maildir DIR_FMT --accounts K --messages M --size S|mixed [--first I]`,
//! which writes the same messages as Maildir files (Dovecot's fill).
//!
//! FMT is an account name with `{}` for the account number 0..K (`login{}@example.test`).
//! Account k holds corpus messages `first + k * M ..`, so both servers hold the same bytes.
//! Every workload accepts --server-pid PID (its CPU time is reported beside the client's).
//! Results are one `result key=value ...` line on stdout; progress and errors go to stderr.
//! Loopback targets only.

// The IMAP load generator's corpus, CPU accounting and IMAP client, shared rather than
// copied: both benchmarks then fill their servers with the same generator.
// Not every item of them is used here.
#[allow(dead_code)]
#[path = "../../../imap/load/src/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../../../imap/load/src/client.rs"]
mod imap;
#[allow(dead_code)]
#[path = "../../../imap/load/src/stats.rs"]
mod stats;

mod fill;
mod meter;
mod pop3;
mod sizes;
mod workloads;

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

/// Parsed command line: the positional target, then `--key value` options.
pub struct Args {
    pub addr: SocketAddr,
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

    /// Account `k`'s name from `--user`.
    pub fn account(&self, k: u64) -> String {
        account_name(&self.str("user", "bench{}@example.test"), k)
    }
}

/// `fmt` with `{}` replaced by `k` (a name without `{}` is the same account for every k).
pub fn account_name(fmt: &str, k: u64) -> String {
    fmt.replace("{}", &k.to_string())
}

fn parse_opts(rest: &[String]) -> Result<HashMap<String, String>, String> {
    let mut opts = HashMap::new();
    let mut it = rest.iter();
    while let Some(k) = it.next() {
        let key = k
            .strip_prefix("--")
            .ok_or_else(|| format!("expected --option, got {k}"))?;
        let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
        opts.insert(key.to_string(), v.clone());
    }
    Ok(opts)
}

fn parse(argv: &[String]) -> Result<(String, Args), String> {
    let [workload, target, rest @ ..] = argv else {
        return Err(
            "usage: pop3-load <logins|retr|listing|fill> HOST:PORT [--key value]...".into(),
        );
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("{target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target}: no address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("refusing a non-loopback target {addr}"));
    }
    Ok((
        workload.clone(),
        Args {
            addr,
            opts: parse_opts(rest)?,
        },
    ))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.split_first() {
        Some((w, rest)) if w == "maildir" => match rest.split_first() {
            Some((dir, opts)) => parse_opts(opts).and_then(|o| fill::maildir(dir, &o)),
            None => Err("usage: pop3-load maildir DIR_FMT [--key value]...".into()),
        },
        _ => parse(&argv).and_then(|(workload, args)| match workload.as_str() {
            "logins" => workloads::logins(&args),
            "retr" => workloads::retr(&args),
            "listing" => workloads::listing(&args),
            "fill" => fill::imap(&args),
            other => Err(format!("unknown workload {other}")),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3-load: {e}");
            ExitCode::FAILURE
        }
    }
}
