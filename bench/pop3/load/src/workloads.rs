//! The three workloads. Each prints one `result ...` line; a run with any `-ERR`, a dropped
//! connection or a count that does not match is an error (exit 1), never a figure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::Args;
use crate::fill::corpus_index;
use crate::meter::Meter;
use crate::pop3::Conn;
use crate::sizes::Sizes;
use crate::stats::percentile;

/// `+OK n size` of STAT as (n, size).
fn parse_stat(reply: &str) -> Option<(u64, u64)> {
    let mut it = reply.strip_prefix("+OK ")?.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// One login cycle as a mail client polling a maildrop does it.
fn login_cycle(a: std::net::SocketAddr, user: &str, pass: &str) -> Result<(), String> {
    let mut conn = Conn::login(a, user, pass)?;
    let stat = conn.must("STAT")?;
    parse_stat(&stat).ok_or_else(|| format!("{user}: STAT: {stat}"))?;
    conn.quit()
}

/// `clients` threads, each looping connect, USER, PASS, STAT, QUIT over its own share of the
/// accounts (client c takes accounts c, c + clients, ...), so no two sessions ever hold the
/// same maildrop (a server may refuse a second one, RFC 1939 §8). Before the clock starts,
/// each client logs in once to each of its accounts, so the measured window is the steady
/// state of a server that has seen these users (a credential cache is warm, if it has one).
///
/// With `--once 1` there is neither that warm-up nor a time window: each client logs in to
/// each of its accounts exactly once, and the figure is all those logins over the time they
/// took; on accounts nobody has logged in to, that is the first login of the day, every
/// password checked in full. `--offset N` takes accounts N.. instead of 0.. (a fresh set).
pub fn logins(a: &Args) -> Result<(), String> {
    let clients = a.num("clients", 20)?.max(1);
    let accounts = a.num("accounts", 100)?;
    let seconds = a.num("seconds", 20)?;
    let once = a.num("once", 0)? != 0;
    let warm = !once && a.num("warm", 1)? != 0;
    let offset = a.num("offset", 0)?;
    if accounts < clients {
        return Err(format!(
            "--accounts {accounts} < --clients {clients}: clients would share maildrops"
        ));
    }
    let pass = a.str("pass", "x");
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for c in 0..clients {
        let (barrier, stop, pass, addr) = (barrier.clone(), stop.clone(), pass.clone(), a.addr);
        let mine: Vec<String> = (c..accounts)
            .step_by(clients as usize)
            .map(|k| a.account(offset + k))
            .collect();
        handles.push(thread::spawn(
            move || -> Result<(Vec<u64>, u64, Option<String>), String> {
                let setup = if warm {
                    mine.iter().try_for_each(|u| login_cycle(addr, u, &pass))
                } else {
                    Ok(())
                };
                barrier.wait();
                setup?;
                let mut samples = Vec::new();
                let (mut failed, mut first_error) = (0, None);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && (!once || i < mine.len()) {
                    let t = Instant::now();
                    match login_cycle(addr, &mine[i % mine.len()], &pass) {
                        Ok(()) => samples.push(t.elapsed().as_micros() as u64),
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                    i += 1;
                }
                Ok((samples, failed, first_error))
            },
        ));
    }
    barrier.wait();
    let meter = Meter::start(a.server_pid()?);
    if !once {
        thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
    }
    let mut all = Vec::new();
    let (mut failed, mut first_error, mut errors) = (0, None, Vec::new());
    for h in handles {
        match h.join() {
            Ok(Ok((s, f, e))) => {
                all.extend(s);
                failed += f;
                if first_error.is_none() {
                    first_error = e;
                }
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    // Stop is only seen after each client's current cycle: the window ends there.
    let (elapsed, line) = meter.finish();
    if let Some(e) = errors.first() {
        return Err(format!(
            "{} client(s) failed before the run, first: {e}",
            errors.len()
        ));
    }
    all.sort_unstable();
    println!(
        "result workload=logins clients={clients} accounts={accounts} once={once} logins={} failed={failed} rate={:.1} p50_ms={:.2} p99_ms={:.2} {line}",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 50.0) as f64 / 1000.0,
        percentile(&all, 99.0) as f64 / 1000.0
    );
    match first_error {
        Some(e) => Err(format!("{failed} login cycles failed, first: {e}")),
        None => Ok(()),
    }
}

/// What one RETR session did: messages, octets.
type Retrieved = (u64, u64);

/// One session per account, all at once, logged in and listed before the clock starts:
/// RETR 1..M, every message read in full and checked against its LIST size, then QUIT.
/// Every account must hold exactly the M corpus messages `fill` gave it (count and octets).
pub fn retr(a: &Args) -> Result<(), String> {
    let accounts = a.num("accounts", 10)?.max(1);
    let per = a.num("messages", 1000)?;
    let first = a.num("first", 0)?;
    let sizes = Sizes::parse(&a.str("size", "mixed"))?;
    let pass = a.str("pass", "x");
    let barrier = Arc::new(Barrier::new(accounts as usize + 1));
    let mut handles = Vec::new();
    for k in 0..accounts {
        let (barrier, pass, addr, user) = (barrier.clone(), pass.clone(), a.addr, a.account(k));
        let expected: u64 = (0..per)
            .map(|j| sizes.of(corpus_index(first, k, per, j)) as u64)
            .sum();
        handles.push(thread::spawn(move || -> Result<Retrieved, String> {
            let setup = (|| {
                let mut conn = Conn::login(addr, &user, &pass)?;
                let stat = conn.must("STAT")?;
                if parse_stat(&stat) != Some((per, expected)) {
                    return Err(format!("{user}: STAT {stat}, expected {per} {expected}"));
                }
                let mut list = Vec::with_capacity(per as usize);
                conn.multi("LIST", |l| {
                    let s = String::from_utf8_lossy(l);
                    list.push(
                        s.split_whitespace()
                            .nth(1)
                            .and_then(|n| n.parse::<u64>().ok()),
                    );
                })?;
                let list: Option<Vec<u64>> = list.into_iter().collect();
                match list {
                    Some(l) if l.len() as u64 == per => Ok((conn, l)),
                    _ => Err(format!("{user}: LIST is not {per} lines of `n size`")),
                }
            })();
            barrier.wait();
            let (mut conn, list) = setup?;
            let mut octets = 0;
            for (n, size) in list.iter().enumerate() {
                let mut got = 0u64;
                conn.multi(&format!("RETR {}", n + 1), |l| got += l.len() as u64)?;
                if got != *size {
                    return Err(format!(
                        "{user}: RETR {} gave {got} octets, LIST said {size}",
                        n + 1
                    ));
                }
                octets += got;
            }
            conn.quit()?;
            Ok((list.len() as u64, octets))
        }));
    }
    barrier.wait();
    let meter = Meter::start(a.server_pid()?);
    let (mut messages, mut octets, mut errors) = (0, 0, Vec::new());
    for h in handles {
        match h.join() {
            Ok(Ok((m, o))) => {
                messages += m;
                octets += o;
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a session thread panicked".into()),
        }
    }
    let (elapsed, line) = meter.finish();
    if let Some(e) = errors.first() {
        return Err(format!("{} session(s) failed, first: {e}", errors.len()));
    }
    println!(
        "result workload=retr sessions={accounts} messages={messages} octets={octets} rate={:.0} mb_s={:.1} {line}",
        messages as f64 / elapsed,
        octets as f64 / elapsed / 1e6
    );
    Ok(())
}

/// One timed connect, USER, PASS and UIDL (or LIST) on a fresh connection: the time a client
/// waits before it knows what is in the maildrop. Every line must be `n uid` or `n size`,
/// numbered 1..N in order.
pub fn listing(a: &Args) -> Result<(), String> {
    let command = a.str("command", "UIDL");
    let expect = a.num("expect", 0)?;
    let (user, pass) = (a.account(0), a.str("pass", "x"));
    let meter = Meter::start(a.server_pid()?);
    let mut conn = Conn::login(a.addr, &user, &pass)?;
    let login = meter.start.elapsed().as_secs_f64();
    let (mut lines, mut in_order) = (0u64, true);
    conn.multi(&command, |l| {
        lines += 1;
        let s = String::from_utf8_lossy(l);
        let mut it = s.split_whitespace();
        in_order &= it.next() == Some(lines.to_string().as_str()) && it.next().is_some();
    })?;
    let (elapsed, line) = meter.finish();
    conn.quit()?;
    if lines != expect || !in_order {
        return Err(format!(
            "{command}: {lines} lines (expected {expect}), in order: {in_order}"
        ));
    }
    println!(
        "result workload=listing command={command} lines={lines} login={login:.4} listing={:.4} {line}",
        elapsed - login
    );
    Ok(())
}
