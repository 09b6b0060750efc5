//! Case 3: reopen after SIGKILL in the middle of writing.
//!
//! The parent spawns this binary as `crash-child ENGINE DIR ROWS`. The child creates a fresh
//! store and writes 200-byte message rows in transactions of `BATCH_ROWS`, each with one durable
//! commit, printing `ack N MS` on stdout after every commit returns (N rows are then durable).
//! It keeps writing past ROWS; once the parent has seen ROWS acknowledged it waits a random
//! 0–50 ms and sends SIGKILL, so the child dies inside a later transaction or commit. The parent
//! then times the reopen (open plus one point read, which includes redb's repair and SQLite's
//! WAL recovery) and walks the table checking that every acknowledged row is there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::store::{Engine, Store, crash_row, msg_key};
use crate::{Ctx, Res, Rng};

/// Rows per transaction in the child.
pub const BATCH_ROWS: u64 = 10_000;
/// The child stops by itself after this long, in case its parent is gone.
const CHILD_MAX_TIME: Duration = Duration::from_secs(90);
/// The parent gives up on a child that has not acknowledged ROWS rows by then.
const PARENT_TIMEOUT: Duration = Duration::from_secs(80);

#[derive(Clone, Debug, Default)]
pub struct CrashStats {
    /// Rows acknowledged as durable before the kill.
    pub acked: u64,
    /// Rows found after reopening (may exceed `acked` by a commit whose ack was never printed).
    pub present: u64,
    /// Every acknowledged row is present, in order, with nothing missing in between.
    pub all_acked_present: bool,
    /// redb ran its full repair walk on open.
    pub full_repair: bool,
    pub reopen_ms: f64,
    pub verify_ms: f64,
    /// Child's rate of durable writes up to ROWS.
    pub write_rows_per_s: f64,
    pub files_mb: f64,
}

/// The child side: write until killed (or bounded by `rows * 3` rows and `CHILD_MAX_TIME`).
pub fn child(engine: Engine, dir: &Path, rows: u64) -> Res<()> {
    let store = Store::create(engine, dir)?;
    let mut w = store.writer()?;
    let t0 = Instant::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut next = 0u64;
    while next < rows * 3 && t0.elapsed() < CHILD_MAX_TIME {
        w.put_rows(next, BATCH_ROWS)?;
        next += BATCH_ROWS;
        writeln!(out, "ack {next} {}", t0.elapsed().as_millis()).ctx("child stdout")?;
        out.flush().ctx("child stdout flush")?;
    }
    Err("crash child was never killed".into())
}

/// The parent side: one run for one engine in an empty `dir`.
pub fn run(engine: Engine, dir: &Path, rows: u64, seed: u64) -> Res<CrashStats> {
    let exe = std::env::current_exe().ctx("current_exe")?;
    let mut child = Command::new(exe)
        .arg("crash-child")
        .arg(engine.name())
        .arg(dir)
        .arg(rows.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ctx("spawn crash child")?;
    let stdout = child.stdout.take().ok_or("crash child has no stdout")?;
    let (tx, rx) = mpsc::channel::<(u64, u64)>();
    let pipe = thread::spawn(move || -> Res<()> {
        for line in BufReader::new(stdout).lines() {
            let line = line.ctx("read crash child stdout")?;
            let mut it = line.split_whitespace();
            let (Some("ack"), Some(n), Some(ms)) = (it.next(), it.next(), it.next()) else {
                return Err(format!("bad line from crash child: {line:?}").into());
            };
            let n = n.parse().ctx("ack count")?;
            let ms = ms.parse().ctx("ack time")?;
            if tx.send((n, ms)).is_err() {
                break;
            }
        }
        Ok(())
    });

    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + PARENT_TIMEOUT;
    let mut acked = 0u64;
    let mut ms_at_rows = 0u64;
    let waited = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((n, ms)) => {
                acked = n;
                if n >= rows {
                    ms_at_rows = ms;
                    break Ok(());
                }
            }
            Err(e) => break Err(format!("crash child: no progress ({e}) after {acked} rows")),
        }
    };
    if waited.is_ok() {
        thread::sleep(Duration::from_millis(rng.below(50)));
    }
    // Child::kill sends SIGKILL on Unix.
    child.kill().ctx("kill crash child")?;
    let status = child.wait().ctx("wait for crash child")?;
    waited?;
    // Acks printed before the kill are still in the pipe.
    while let Ok((n, _)) = rx.recv() {
        acked = acked.max(n);
    }
    pipe.join().map_err(|_| "pipe reader panicked")??;
    if status.success() {
        return Err("crash child exited by itself before the kill".into());
    }

    let first = msg_key(crash_row(0).0, crash_row(0).1);
    let t0 = Instant::now();
    let opened = Store::open_existing(engine, dir, &first)?;
    let reopen_ms = t0.elapsed().as_secs_f64() * 1e3;

    let t1 = Instant::now();
    let mut reader = opened.store.reader()?;
    let mut present = 0u64;
    let mut in_order = true;
    reader.walk(&first, &mut |k| {
        if k.first() != Some(&b'm') {
            return false;
        }
        if present < acked {
            let (mb, uid) = crash_row(present);
            in_order &= k == msg_key(mb, uid);
        }
        present += 1;
        true
    })?;
    let verify_ms = t1.elapsed().as_secs_f64() * 1e3;
    let full_repair = opened.full_repair;
    drop(reader);
    drop(opened);

    Ok(CrashStats {
        acked,
        present,
        all_acked_present: in_order && present >= acked,
        full_repair,
        reopen_ms,
        verify_ms,
        write_rows_per_s: rows as f64 / (ms_at_rows.max(1) as f64 / 1e3),
        files_mb: dir_size(dir)? as f64 / (1 << 20) as f64,
    })
}

fn dir_size(dir: &Path) -> Res<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).ctx(format!("read_dir {}", dir.display()))? {
        let e = e.ctx("read_dir entry")?;
        total += e.metadata().ctx("metadata")?.len();
    }
    Ok(total)
}
