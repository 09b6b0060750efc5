//! The five workloads. Each prints one `result ...` line; a run with any failed command or a
//! count that does not match is an error (exit 1), never a figure.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::Args;
use crate::client::{Conn, Status};
use crate::corpus::{self, NEEDLE, Rng};
use crate::stats::{machine_jiffies, percentile, self_cpu, tree_cpu};

/// Wall time, client CPU, server CPU and machine load over one measured interval.
struct Meter {
    start: Instant,
    client: f64,
    server: Option<(u32, f64)>,
    jiffies: (u64, u64),
}

impl Meter {
    fn start(server_pid: Option<u32>) -> Self {
        Meter {
            start: Instant::now(),
            client: self_cpu(),
            server: server_pid.map(|p| (p, tree_cpu(p))),
            jiffies: machine_jiffies(),
        }
    }

    /// `elapsed=.. client_cpu=.. server_cpu=.. machine_busy=..` (CPU in seconds; busy in %
    /// of all cores, everything on the machine included).
    fn finish(&self) -> (f64, String) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let client = self_cpu() - self.client;
        let server = match self.server {
            Some((pid, before)) => format!("{:.2}", tree_cpu(pid) - before),
            None => "-".into(),
        };
        let (b1, t1) = machine_jiffies();
        let busy = if t1 > self.jiffies.1 {
            100.0 * (b1 - self.jiffies.0) as f64 / (t1 - self.jiffies.1) as f64
        } else {
            0.0
        };
        (
            elapsed,
            format!(
                "elapsed={elapsed:.3} client_cpu={client:.2} server_cpu={server} machine_busy={busy:.0}%"
            ),
        )
    }
}

fn messages_in(conn: &mut Conn, mailbox: &str) -> Result<u64, String> {
    let mut count = None;
    let (status, text) = conn.command(&format!("STATUS \"{mailbox}\" (MESSAGES)"), |line| {
        let s = String::from_utf8_lossy(line);
        if let Some(pos) = s.find("MESSAGES ") {
            let digits: String = s[pos + 9..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            count = digits.parse().ok();
        }
    })?;
    if status != Status::Ok {
        return Ok(0);
    }
    count.ok_or_else(|| format!("STATUS without MESSAGES: {text}"))
}

/// APPEND `messages` messages (corpus indices `first..`) over `sessions` connections, one
/// command at a time per connection. With `--spread K`, message j goes to mailbox `M{j % K}`.
pub fn append(a: &Args) -> Result<(), String> {
    let mailbox = a.str("mailbox", "INBOX");
    let sessions = a.num("sessions", 1)?.max(1);
    let messages = a.num("messages", 1000)?;
    let size = a.num("size", 4096)? as usize;
    let first = a.num("first", 0)?;
    let spread = a.num("spread", 0)?;
    let names: Vec<String> = if spread == 0 {
        vec![mailbox.clone()]
    } else {
        (0..spread).map(|k| format!("{mailbox}{k}")).collect()
    };
    let mut admin = Conn::login(a.addr, &a.user, &a.pass)?;
    let mut before = Vec::new();
    for name in &names {
        if name != "INBOX" {
            // NO [ALREADYEXISTS] is fine: a later run appends to the same mailbox.
            let _ = admin.command(&format!("CREATE \"{name}\""), |_| {})?;
        }
        before.push(messages_in(&mut admin, name)?);
    }
    // Messages are built before the clock starts, so the client does no formatting work
    // while it is being measured.
    let corpus: Arc<Vec<Vec<u8>>> = Arc::new(
        (first..first + messages)
            .map(|i| corpus::message(i, size))
            .collect(),
    );
    let names = Arc::new(names);
    let barrier = Arc::new(Barrier::new(sessions as usize + 1));
    let mut handles = Vec::new();
    for s in 0..sessions {
        let (corpus, names, barrier) = (corpus.clone(), names.clone(), barrier.clone());
        let (addr, user, pass) = (a.addr, a.user.clone(), a.pass.clone());
        handles.push(thread::spawn(move || -> Result<(), String> {
            let conn = Conn::login(addr, &user, &pass);
            barrier.wait();
            let mut conn = conn?;
            let mut j = s as usize;
            while j < corpus.len() {
                let name = &names[j % names.len()];
                let (status, text) = conn.append(name, "", &corpus[j])?;
                if status != Status::Ok {
                    return Err(format!("APPEND: {text}"));
                }
                j += sessions as usize;
            }
            let _ = conn.command("LOGOUT", |_| {});
            Ok(())
        }));
    }
    barrier.wait();
    let meter = Meter::start(a.server_pid()?);
    let mut errors = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a session thread panicked".into()),
        }
    }
    let (elapsed, line) = meter.finish();
    if let Some(e) = errors.first() {
        return Err(format!("{} session(s) failed, first: {e}", errors.len()));
    }
    let mut stored = 0;
    for (k, name) in names.iter().enumerate() {
        stored += messages_in(&mut admin, name)? - before[k];
    }
    if stored != messages {
        return Err(format!("{stored} of {messages} messages stored"));
    }
    println!(
        "result workload=append sessions={sessions} messages={messages} size={size} rate={:.0} {line}",
        messages as f64 / elapsed
    );
    Ok(())
}

/// One timed SELECT + UID FETCH 1:* (FLAGS) on a fresh connection (login not timed).
pub fn fetch(a: &Args) -> Result<(), String> {
    let mailbox = a.str("mailbox", "INBOX");
    let expect = a.num("expect", 0)?;
    let mut conn = Conn::login(a.addr, &a.user, &a.pass)?;
    let meter = Meter::start(a.server_pid()?);
    conn.must(&format!("SELECT \"{mailbox}\""))?;
    let select = meter.start.elapsed().as_secs_f64();
    let mut fetched = 0u64;
    let (status, text) = conn.command("UID FETCH 1:* (FLAGS)", |line| {
        if line.starts_with(b"* ") && line.windows(7).any(|w| w == b" FETCH ") {
            fetched += 1;
        }
    })?;
    let (elapsed, line) = meter.finish();
    if status != Status::Ok {
        return Err(format!("UID FETCH: {text}"));
    }
    if fetched != expect || u64::from(conn.exists) != expect {
        return Err(format!(
            "{fetched} FETCH responses, EXISTS {}, expected {expect}",
            conn.exists
        ));
    }
    let _ = conn.command("LOGOUT", |_| {});
    println!(
        "result workload=fetch messages={fetched} select={select:.3} fetch={:.3} {line}",
        elapsed - select
    );
    Ok(())
}

/// SELECT (not timed), then one timed SEARCH TEXT for the corpus needle.
pub fn search(a: &Args) -> Result<(), String> {
    let mailbox = a.str("mailbox", "INBOX");
    let expect = a.num("expect", 0)?;
    let mut conn = Conn::login(a.addr, &a.user, &a.pass)?;
    conn.must(&format!("SELECT \"{mailbox}\""))?;
    let mut hits = 0u64;
    let meter = Meter::start(a.server_pid()?);
    let (status, text) = conn.command(&format!("SEARCH TEXT {NEEDLE}"), |line| {
        if let Some(rest) = line.strip_prefix(b"* SEARCH") {
            hits += rest.split(|&b| b == b' ').filter(|w| !w.is_empty()).count() as u64;
        }
    })?;
    let (_, line) = meter.finish();
    if status != Status::Ok {
        return Err(format!("SEARCH: {text}"));
    }
    if hits != expect {
        return Err(format!("{hits} hits, expected {expect}"));
    }
    let _ = conn.command("LOGOUT", |_| {});
    println!(
        "result workload=search messages={} hits={hits} {line}",
        conn.exists
    );
    Ok(())
}

#[derive(Clone, Copy)]
enum Op {
    Select,
    Headers,
    Body,
    Store,
    Append,
    Expunge,
    Idle,
}

const OPS: [(Op, &str, u64); 7] = [
    (Op::Select, "select", 5),
    (Op::Headers, "fetch-headers", 30),
    (Op::Body, "fetch-body", 25),
    (Op::Store, "store-flags", 20),
    (Op::Append, "append", 8),
    (Op::Expunge, "expunge", 7),
    (Op::Idle, "idle", 5),
];

/// Below this many messages an expunge turns into an append, so mailboxes do not drain.
const MIN_MESSAGES: u32 = 100;

fn pick(rng: &mut Rng) -> usize {
    let total: u64 = OPS.iter().map(|o| o.2).sum();
    let mut r = rng.below(total);
    for (i, o) in OPS.iter().enumerate() {
        if r < o.2 {
            return i;
        }
        r -= o.2;
    }
    0
}

fn run_op(
    conn: &mut Conn,
    op: Op,
    mailbox: &str,
    rng: &mut Rng,
    next_msg: &mut u64,
    size: usize,
) -> Result<Status, String> {
    let n = conn.exists;
    let seq = |rng: &mut Rng| 1 + rng.below(u64::from(n.max(1))) as u32;
    let (status, _) = match op {
        Op::Select => conn.command(&format!("SELECT \"{mailbox}\""), |_| {})?,
        Op::Headers => {
            let lo = seq(rng);
            let hi = (lo + 19).min(n.max(1));
            conn.command(
                &format!("FETCH {lo}:{hi} (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"),
                |_| {},
            )?
        }
        Op::Body => conn.command(&format!("FETCH {} BODY.PEEK[]", seq(rng)), |_| {})?,
        Op::Store => {
            let sign = if rng.below(2) == 0 { '+' } else { '-' };
            conn.command(
                &format!("STORE {} {sign}FLAGS (\\Flagged)", seq(rng)),
                |_| {},
            )?
        }
        Op::Expunge if n > MIN_MESSAGES => {
            let (s, t) = conn.command(
                &format!("STORE {} +FLAGS.SILENT (\\Deleted)", seq(rng)),
                |_| {},
            )?;
            if s != Status::Ok {
                (s, t)
            } else {
                conn.command("EXPUNGE", |_| {})?
            }
        }
        Op::Append | Op::Expunge => {
            let m = corpus::message(*next_msg, size);
            *next_msg += 1;
            let r = conn.append(mailbox, "", &m)?;
            // A server may announce the new message only on the next command; NOOP would add
            // a round trip, so the count is bumped here unless EXISTS already came.
            if conn.exists == n && r.0 == Status::Ok {
                conn.exists += 1;
            }
            r
        }
        Op::Idle => conn.idle_roundtrip()?,
    };
    Ok(status)
}

/// `clients` sessions, each in its own mailbox `P{k}`, for `seconds`, each running a
/// weighted random mix of operations back to back. Reports ops/s and latency percentiles.
pub fn mixed(a: &Args) -> Result<(), String> {
    let prefix = a.str("prefix", "mix");
    let clients = a.num("clients", 50)?.max(1);
    let seconds = a.num("seconds", 30)?;
    let size = a.num("size", 4096)? as usize;
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let stop = Arc::new(AtomicU64::new(0));
    type Samples = Vec<Vec<u64>>;
    let mut handles = Vec::new();
    for k in 0..clients {
        let (barrier, stop) = (barrier.clone(), stop.clone());
        let (addr, user, pass) = (a.addr, a.user.clone(), a.pass.clone());
        let mailbox = format!("{prefix}{k}");
        handles.push(thread::spawn(move || -> Result<(Samples, u64), String> {
            let setup = Conn::login(addr, &user, &pass).and_then(|mut c| {
                c.must(&format!("SELECT \"{mailbox}\""))?;
                Ok(c)
            });
            barrier.wait();
            let mut conn = setup?;
            let mut rng = Rng::new(1000 + k);
            let mut samples: Samples = vec![Vec::new(); OPS.len()];
            let mut failed = 0;
            // Fresh corpus indices per client, far above the prefilled ones.
            let mut next_msg = 10_000_000 + k * 1_000_000;
            while stop.load(Ordering::Relaxed) == 0 {
                let i = pick(&mut rng);
                let t = Instant::now();
                let status = run_op(&mut conn, OPS[i].0, &mailbox, &mut rng, &mut next_msg, size)?;
                let us = t.elapsed().as_micros() as u64;
                if status == Status::Ok {
                    samples[i].push(us);
                } else {
                    failed += 1;
                }
            }
            let _ = conn.command("LOGOUT", |_| {});
            Ok((samples, failed))
        }));
    }
    barrier.wait();
    let meter = Meter::start(a.server_pid()?);
    thread::sleep(Duration::from_secs(seconds));
    stop.store(1, Ordering::Relaxed);
    let mut all: Vec<Vec<u64>> = vec![Vec::new(); OPS.len()];
    let mut failed = 0;
    let mut errors = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok((samples, f))) => {
                for (i, s) in samples.into_iter().enumerate() {
                    all[i].extend(s);
                }
                failed += f;
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    // Stop is only seen after each client's current command: the window ends there.
    let (elapsed, line) = meter.finish();
    if let Some(e) = errors.first() {
        return Err(format!("{} client(s) failed, first: {e}", errors.len()));
    }
    let mut total: Vec<u64> = Vec::new();
    for (i, s) in all.iter_mut().enumerate() {
        s.sort_unstable();
        println!(
            "op name={} count={} p50_ms={:.2} p99_ms={:.2}",
            OPS[i].1,
            s.len(),
            percentile(s, 50.0) as f64 / 1000.0,
            percentile(s, 99.0) as f64 / 1000.0
        );
        total.extend_from_slice(s);
    }
    total.sort_unstable();
    println!(
        "result workload=mixed clients={clients} ops={} failed={failed} rate={:.0} p50_ms={:.2} p99_ms={:.2} {line}",
        total.len(),
        total.len() as f64 / elapsed,
        percentile(&total, 50.0) as f64 / 1000.0,
        percentile(&total, 99.0) as f64 / 1000.0
    );
    if failed > 0 {
        return Err(format!("{failed} operations answered NO/BAD"));
    }
    Ok(())
}

/// Opens `count` connections that log in and then stay silent (no IDLE command), prints
/// `open N`, and holds them until a line (or EOF) arrives on stdin.
pub fn idle(a: &Args) -> Result<(), String> {
    let count = a.num("count", 1000)?;
    let threads = a.num("threads", 4)?.clamp(1, 64);
    let held = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..threads {
        let (held, failed, first_error) = (held.clone(), failed.clone(), first_error.clone());
        let (addr, user, pass) = (a.addr, a.user.clone(), a.pass.clone());
        let mine = count / threads + u64::from(t < count % threads);
        handles.push(thread::spawn(move || {
            for _ in 0..mine {
                match Conn::login(addr, &user, &pass) {
                    Ok(c) => {
                        let mut h = held.lock().unwrap_or_else(|e| e.into_inner());
                        h.push(c);
                        if h.len() % 1000 == 0 {
                            eprintln!("imap-load: {} connections open", h.len());
                        }
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                    }
                }
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
    let open = held.lock().unwrap_or_else(|e| e.into_inner()).len();
    let failed = failed.load(Ordering::Relaxed);
    if let Some(e) = first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        eprintln!("imap-load: {failed} logins failed, first: {e}");
    }
    println!(
        "open {open} failed={failed} login_seconds={:.1}",
        start.elapsed().as_secs_f64()
    );
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    Ok(())
}
