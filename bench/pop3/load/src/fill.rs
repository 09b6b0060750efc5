//! Filling both servers with the same messages before anything is timed: Yubin over IMAP
//! APPEND (its only bulk path that needs no SMTP envelope), Dovecot as Maildir files that it
//! indexes on first access, as bench/imap does.

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use crate::imap::{Conn, Status};
use crate::sizes::Sizes;
use crate::{Args, account_name};

/// Corpus number of account `k`'s message `j` (accounts never share a message).
pub fn corpus_index(first: u64, k: u64, per_account: u64, j: u64) -> u64 {
    first + k * per_account + j
}

/// `fill HOST:PORT --user FMT --pass P --accounts K --messages M --size S|mixed [--first I]
/// [--parallel T] [--sessions S]`: APPENDs every account's messages to its INBOX over IMAP,
/// T accounts at a time, each over S sessions (message j on session j % S), and checks that
/// INBOX then holds exactly M messages.
pub fn imap(a: &Args) -> Result<(), String> {
    let accounts = a.num("accounts", 1)?;
    let per = a.num("messages", 100)?;
    let first = a.num("first", 0)?;
    let sizes = Sizes::parse(&a.str("size", "4096"))?;
    let parallel = a.num("parallel", 4)?.clamp(1, 64);
    let sessions = a.num("sessions", 1)?.clamp(1, 64);
    let (fmt, pass) = (a.str("user", "bench{}@example.test"), a.str("pass", "x"));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..parallel.min(accounts.max(1)) {
        let (next, addr, fmt, pass) = (next.clone(), a.addr, fmt.clone(), pass.clone());
        handles.push(thread::spawn(move || -> Result<(), String> {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= accounts {
                    return Ok(());
                }
                let user = account_name(&fmt, k);
                let senders: Vec<_> = (0..sessions)
                    .map(|s| {
                        let (user, pass) = (user.clone(), pass.clone());
                        thread::spawn(move || -> Result<(), String> {
                            let mut conn = Conn::login(addr, &user, &pass)?;
                            for j in (s..per).step_by(sessions as usize) {
                                let m = sizes.message(corpus_index(first, k, per, j));
                                let (status, text) = conn.append("INBOX", "", &m)?;
                                if status != Status::Ok {
                                    return Err(format!("{user}: APPEND: {text}"));
                                }
                            }
                            let _ = conn.command("LOGOUT", |_| {});
                            Ok(())
                        })
                    })
                    .collect();
                for h in senders {
                    h.join()
                        .map_err(|_| "a fill session panicked".to_string())??;
                }
                let count = inbox_count(addr, &user, &pass)?;
                if count != Some(per) {
                    return Err(format!("{user}: INBOX holds {count:?} messages, not {per}"));
                }
            }
        }));
    }
    for h in handles {
        h.join()
            .map_err(|_| "a fill thread panicked".to_string())??;
    }
    println!(
        "result workload=fill accounts={accounts} messages={} elapsed={:.3}",
        accounts * per,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn inbox_count(addr: SocketAddr, user: &str, pass: &str) -> Result<Option<u64>, String> {
    let mut conn = Conn::login(addr, user, pass)?;
    let mut count = None;
    conn.command("STATUS INBOX (MESSAGES)", |line| {
        let s = String::from_utf8_lossy(line);
        if let Some(p) = s.find("MESSAGES ") {
            let d: String = s[p + 9..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            count = d.parse::<u64>().ok();
        }
    })?;
    let _ = conn.command("LOGOUT", |_| {});
    Ok(count)
}

/// `maildir DIR_FMT --accounts K --messages M --size S|mixed [--first I]`: account k's
/// messages as files in `DIR_FMT with {} = k`/cur, no flags.
pub fn maildir(dir_fmt: &str, opts: &HashMap<String, String>) -> Result<(), String> {
    let num = |key: &str, default: u64| -> Result<u64, String> {
        opts.get(key).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("--{key}: not a number: {v}"))
        })
    };
    let accounts = num("accounts", 1)?;
    let per = num("messages", 100)?;
    let first = num("first", 0)?;
    let sizes = Sizes::parse(opts.get("size").map_or("4096", String::as_str))?;
    let start = Instant::now();
    for k in 0..accounts {
        let dir = account_name(dir_fmt, k);
        let dir = Path::new(&dir);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        for j in 0..per {
            let i = corpus_index(first, k, per, j);
            let m = sizes.message(i);
            // The names Dovecot's own delivery gives: unique, S= (file size) and W= (size
            // with CRLF line ends, equal here) so LIST needs no read; `:2,` = no flags.
            let name = format!(
                "{}.M{i}P1.bench,S={len},W={len}:2,",
                1_780_000_000 + j,
                len = m.len()
            );
            fs::write(dir.join("cur").join(name), &m).map_err(|e| format!("write: {e}"))?;
        }
    }
    println!(
        "result workload=maildir accounts={accounts} messages={} elapsed={:.3}",
        accounts * per,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
