//! Cases 1 and 2: group commit of deliveries, and readers concurrent with that writer.
//!
//! One writer thread owns the write handle. Producers send one delivery at a time through a
//! channel and block until the writer acknowledges it; the writer takes everything pending (at
//! most `MAX_BATCH`) into one transaction with one durable commit, then acknowledges the batch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::store::{Reader, Store, msg_key};
use crate::{Ctx, Hist, Res, Rng};

/// Most deliveries the writer puts in one transaction.
pub const MAX_BATCH: usize = 256;
/// Reader threads in case 2; half do point gets, half do range scans.
pub const READERS: usize = 4;
/// Rows per range scan in case 2.
pub const SCAN_ROWS: usize = 100;

/// Size of the data set the cases start from.
#[derive(Clone, Copy)]
pub struct Shape {
    pub mailboxes: u32,
    /// Messages pre-loaded in every mailbox (uids 1..=this), so reads always hit.
    pub per_mailbox: u32,
    /// A run stops at this many deliveries…
    pub max_deliveries: u64,
    /// …or after this long, whichever comes first.
    pub max_time: Duration,
}

/// Pre-loads `per_mailbox` messages into each mailbox, through the same delivery path, in
/// transactions of 5,000 deliveries.
pub fn preload(store: &Store, shape: Shape) -> Res<()> {
    let mut w = store.writer()?;
    let all: Vec<u32> = (0..shape.per_mailbox)
        .flat_map(|_| 0..shape.mailboxes)
        .collect();
    for chunk in all.chunks(5_000) {
        w.deliver(chunk)?;
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct WriteStats {
    pub deliveries: u64,
    pub commits: u64,
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl WriteStats {
    pub fn deliveries_per_s(&self) -> f64 {
        self.deliveries as f64 / self.secs
    }
    pub fn commits_per_s(&self) -> f64 {
        self.commits as f64 / self.secs
    }
    pub fn mean_batch(&self) -> f64 {
        self.deliveries as f64 / self.commits.max(1) as f64
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    pub gets_per_s: f64,
    pub scans_per_s: f64,
    pub get_p99_us: f64,
    pub scan_p99_us: f64,
    pub max_ms: f64,
    pub misses: u64,
}

struct Request {
    mailbox: u32,
    ack: mpsc::Sender<Result<(), String>>,
}

/// Case 1 (readers = false) or case 2 (readers = true): P producers, one writer.
pub fn run(
    store: &Store,
    shape: Shape,
    producers: usize,
    readers: bool,
    seed: u64,
) -> Res<(WriteStats, Option<ReadStats>)> {
    let writer = store.writer()?;
    let (tx, rx) = mpsc::channel::<Request>();
    let writer_thread = thread::Builder::new()
        .name("writer".into())
        .spawn(move || writer_loop(writer, rx))
        .ctx("spawn writer")?;

    let stop_readers = Arc::new(AtomicBool::new(false));
    let reader_threads = if readers {
        Some(spawn_readers(store, shape, &stop_readers, seed)?)
    } else {
        None
    };

    let claimed = Arc::new(AtomicU64::new(0));
    let start_gate = Arc::new(Barrier::new(producers + 1));
    let mut handles = Vec::with_capacity(producers);
    for p in 0..producers {
        let tx = tx.clone();
        let claimed = Arc::clone(&claimed);
        let gate = Arc::clone(&start_gate);
        let mut rng = Rng::new(seed ^ (p as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let h = thread::Builder::new()
            .name(format!("producer-{p}"))
            .stack_size(256 << 10)
            .spawn(move || -> Res<Vec<u32>> {
                let (ack_tx, ack_rx) = mpsc::channel();
                let mut lat_us = Vec::new();
                gate.wait();
                let deadline = Instant::now() + shape.max_time;
                while claimed.fetch_add(1, Ordering::Relaxed) < shape.max_deliveries
                    && Instant::now() < deadline
                {
                    let t0 = Instant::now();
                    let mailbox = rng.below(shape.mailboxes as u64) as u32;
                    tx.send(Request {
                        mailbox,
                        ack: ack_tx.clone(),
                    })
                    .map_err(|_| "writer thread gone")?;
                    ack_rx
                        .recv()
                        .map_err(|_| "writer dropped an ack")?
                        .map_err(|e| format!("commit failed: {e}"))?;
                    lat_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                Ok(lat_us)
            })
            .ctx("spawn producer")?;
        handles.push(h);
    }
    drop(tx);
    start_gate.wait();
    let t0 = Instant::now();
    let mut lat_us = Vec::new();
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(l)) => lat_us.extend(l),
            Ok(Err(e)) => first_err = first_err.or(Some(e)),
            Err(_) => first_err = first_err.or(Some("producer panicked".into())),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    stop_readers.store(true, Ordering::Relaxed);
    let commits = writer_thread
        .join()
        .map_err(|_| "writer panicked")?
        .ctx("writer")?;
    let read_stats = match reader_threads {
        Some(rt) => Some(rt.finish()?),
        None => None,
    };
    if let Some(e) = first_err {
        return Err(e);
    }
    lat_us.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat_us.is_empty() {
            return 0.0;
        }
        let i = ((lat_us.len() as f64 * q).ceil() as usize).clamp(1, lat_us.len()) - 1;
        lat_us[i] as f64 / 1000.0
    };
    let stats = WriteStats {
        deliveries: lat_us.len() as u64,
        commits,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    };
    Ok((stats, read_stats))
}

/// Drains pending deliveries into one transaction, commits, acknowledges. Returns the number
/// of commits once every producer has hung up.
fn writer_loop(mut writer: Box<dyn crate::store::Writer>, rx: mpsc::Receiver<Request>) -> Res<u64> {
    let mut commits = 0u64;
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    let mut mailboxes: Vec<u32> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        mailboxes.clear();
        mailboxes.extend(batch.iter().map(|r| r.mailbox));
        let result = writer.deliver(&mailboxes).map_err(|e| e.to_string());
        commits += 1;
        for r in batch.drain(..) {
            // A producer that gave up is not the writer's problem.
            let _ = r.ack.send(result.clone());
        }
        if let Err(e) = result {
            return Err(e.into());
        }
    }
    Ok(commits)
}

pub struct ReaderThreads {
    handles: Vec<thread::JoinHandle<Res<ReaderResult>>>,
}

struct ReaderResult {
    misses: u64,
    hist: Hist,
    secs: f64,
}

/// Starts `READERS` threads (the first half point gets, the rest range scans) that run until
/// `stop` is set.
pub fn spawn_readers(
    store: &Store,
    shape: Shape,
    stop: &Arc<AtomicBool>,
    seed: u64,
) -> Res<ReaderThreads> {
    let mut handles = Vec::with_capacity(READERS);
    for r in 0..READERS {
        let mut reader: Box<dyn Reader> = store.reader()?;
        let stop = Arc::clone(stop);
        let scans = r >= READERS / 2;
        let mut rng = Rng::new(seed ^ 0xabcd_ef01 ^ ((r as u64 + 1) << 32));
        let h = thread::Builder::new()
            .name(format!("reader-{r}"))
            .spawn(move || -> Res<ReaderResult> {
                let mut hist = Hist::default();
                let mut misses = 0u64;
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let mb = rng.below(shape.mailboxes as u64) as u32;
                    let uid = 1 + rng.below(shape.per_mailbox as u64) as u32;
                    let key = msg_key(mb, uid);
                    let t0 = Instant::now();
                    if scans {
                        if reader.scan(&key, SCAN_ROWS)? == 0 {
                            misses += 1;
                        }
                    } else if !reader.get(&key)? {
                        misses += 1;
                    }
                    hist.record(t0.elapsed());
                }
                Ok(ReaderResult {
                    misses,
                    hist,
                    secs: started.elapsed().as_secs_f64(),
                })
            })
            .ctx("spawn reader")?;
        handles.push(h);
    }
    Ok(ReaderThreads { handles })
}

impl ReaderThreads {
    /// Joins the readers (their `stop` must already be set); each thread's rate is its count
    /// over its own running time, and the rates are summed.
    pub fn finish(self) -> Res<ReadStats> {
        let mut gets = Hist::default();
        let mut scans = Hist::default();
        let (mut gets_per_s, mut scans_per_s) = (0.0, 0.0);
        let mut misses = 0;
        let n = self.handles.len();
        for (i, h) in self.handles.into_iter().enumerate() {
            let r = h.join().map_err(|_| "reader panicked")??;
            misses += r.misses;
            let rate = r.hist.count() as f64 / r.secs.max(1e-9);
            if i >= n / 2 {
                scans.merge(&r.hist);
                scans_per_s += rate;
            } else {
                gets.merge(&r.hist);
                gets_per_s += rate;
            }
        }
        Ok(ReadStats {
            gets_per_s,
            scans_per_s,
            get_p99_us: gets.quantile_us(0.99),
            scan_p99_us: scans.quantile_us(0.99),
            max_ms: gets.max_ms().max(scans.max_ms()),
            misses,
        })
    }
}

/// Case 2 baseline: the same readers with no writer, for `secs`.
pub fn readers_alone(store: &Store, shape: Shape, secs: Duration, seed: u64) -> Res<ReadStats> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = spawn_readers(store, shape, &stop, seed)?;
    thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    threads.finish()
}
