//! Group commit: one writer thread runs many small units of work in one backend transaction and
//! makes them durable with one commit (one fsync), then answers every caller.
//!
//! Why: a disk syncs a few hundred times a second; committing each delivery alone caps throughput
//! there. Batching every unit that arrived while the previous commit was syncing multiplies the
//! rate by the batch size, and nobody is answered before their data is durable.
//!
//! A unit runs against a [`Tx`] that buffers its writes; if the unit fails, its buffer is dropped
//! and it leaves no trace, while the other units of the group still commit. Units run one after
//! another, so a unit sees the writes of the units before it in the same group.
//!
//! The writer measures each foreground unit's latency (submitted to durable) for the purger's
//! pacing (`pace.rs`); background units (the purger's own) are not counted, and note when
//! foreground units had to queue behind them.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::backend::{Backend, KeyRange, Op, ScanPage, WriteTxn, decode_counter};
use crate::error::{Error, ErrorKind, Result};
use crate::pace::{Latency, Load};
use crate::priority::Background;

/// Most units committed together; bounds transaction size and the latency of the first unit.
const MAX_GROUP: usize = 512;
/// Units that may wait for the writer; past this, writes fail fast with `Unavailable`.
pub(crate) const QUEUE_DEPTH: usize = 8192;

type UnitFn = Box<dyn FnOnce(&mut Tx<'_>) -> Result<Box<dyn Any + Send>> + Send>;

struct Job {
    unit: UnitFn,
    reply: oneshot::Sender<Result<Box<dyn Any + Send>>>,
    submitted: Instant,
    background: bool,
}

/// What the writer learns about foreground load, shared with the purger.
struct Monitor {
    latency: Mutex<Latency>,
    /// Foreground units submitted and not yet taken by the writer.
    waiting: AtomicUsize,
    /// Set when foreground units were waiting as a background unit's group committed.
    queued_behind: AtomicBool,
    /// When the group being committed now started (admission control sees a stuck commit).
    group_started: Mutex<Option<Instant>>,
    /// The CPU priority of background-only groups.
    background: Background,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub(crate) struct Committer {
    jobs: SyncSender<Job>,
    monitor: Arc<Monitor>,
}

impl Committer {
    /// Starts the writer thread over `backend`.
    pub(crate) fn start(backend: Arc<dyn Backend>) -> Result<Self> {
        let (jobs, rx) = sync_channel(QUEUE_DEPTH);
        let monitor = Arc::new(Monitor {
            latency: Mutex::default(),
            waiting: AtomicUsize::default(),
            queued_behind: AtomicBool::default(),
            group_started: Mutex::default(),
            background: Background::probe(),
        });
        let shared = monitor.clone();
        std::thread::Builder::new()
            .name("yubin-commit".into())
            .spawn(move || writer_loop(&*backend, rx, &shared))
            .map_err(|e| Error::internal("starting the commit thread", e))?;
        Ok(Self { jobs, monitor })
    }

    /// Runs `unit` in the next group and returns its result once the group is durable.
    ///
    /// Errors: the unit's own error (its writes discarded), `Unavailable` when the writer is
    /// saturated or stopped, `Internal` when the commit failed (nothing of the group persisted).
    pub(crate) async fn run<T, F>(&self, unit: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(unit, false).await
    }

    /// Like [`Committer::run`] for background work (the purger): its latency is not counted as
    /// foreground load.
    pub(crate) async fn run_background<T, F>(&self, unit: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(unit, true).await
    }

    /// How long the group being committed now has run (zero when the writer is idle).
    pub(crate) fn stall(&self) -> Duration {
        self.monitor
            .group_started
            .lock()
            .ok()
            .and_then(|g| g.map(|t| t.elapsed()))
            .unwrap_or_default()
    }

    /// Whether background groups are committed at low CPU priority (`priority.rs`).
    pub(crate) fn background_lowered(&self) -> bool {
        self.monitor.background.lowers()
    }

    /// Foreground units waiting for the writer.
    pub(crate) fn waiting(&self) -> usize {
        self.monitor.waiting.load(Ordering::Relaxed)
    }

    /// Foreground load as of now; clears the "queued behind" mark.
    pub(crate) fn load(&self) -> Load {
        let queued = self.monitor.queued_behind.swap(false, Ordering::Relaxed);
        match self.monitor.latency.lock() {
            Ok(latency) => latency.load(Instant::now(), queued),
            Err(_) => Load::default(),
        }
    }

    async fn submit<T, F>(&self, unit: F, background: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, wait) = oneshot::channel();
        let unit: UnitFn = Box::new(move |tx| unit(tx).map(|v| Box::new(v) as Box<dyn Any + Send>));
        let job = Job {
            unit,
            reply,
            submitted: Instant::now(),
            background,
        };
        if !background {
            self.monitor.waiting.fetch_add(1, Ordering::Relaxed);
        }
        let sent = self.jobs.try_send(job);
        if sent.is_err() && !background {
            self.monitor.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "store write queue is full",
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::new(ErrorKind::Unavailable, "store is shut down"));
            }
        }
        let result = wait
            .await
            .map_err(|_| Error::new(ErrorKind::Unavailable, "store writer stopped"))??;
        result
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| Error::new(ErrorKind::Internal, "commit result of unexpected type"))
    }
}

fn writer_loop(backend: &dyn Backend, rx: Receiver<Job>, monitor: &Monitor) {
    let taken = |job: &Job| {
        if !job.background {
            monitor.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    };
    while let Ok(first) = rx.recv() {
        taken(&first);
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => {
                    taken(&job);
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let timing: Vec<(Instant, bool)> =
            group.iter().map(|j| (j.submitted, j.background)).collect();
        if let Ok(mut started) = monitor.group_started.lock() {
            *started = Some(Instant::now());
        }
        if group.iter().all(|j| j.background) {
            monitor.background.run(|| commit_group(backend, group));
        } else {
            commit_group(backend, group);
        }
        if let Ok(mut started) = monitor.group_started.lock() {
            *started = None;
        }
        observe(monitor, &timing);
    }
}

/// Feeds a committed (or failed) group's latencies to the monitor and the metrics.
fn observe(monitor: &Monitor, timing: &[(Instant, bool)]) {
    let now = Instant::now();
    let foreground = metrics::histogram!("yubin_store_commit_seconds", "kind" => "foreground");
    let background = metrics::histogram!("yubin_store_commit_seconds", "kind" => "background");
    let mut had_background = false;
    if let Ok(mut latency) = monitor.latency.lock() {
        for &(submitted, is_background) in timing {
            let took = now.duration_since(submitted);
            if is_background {
                had_background = true;
                background.record(took.as_secs_f64());
            } else {
                foreground.record(took.as_secs_f64());
                latency.observe(took, now);
            }
        }
        if had_background {
            latency.background_ran(now);
        }
    }
    if had_background && monitor.waiting.load(Ordering::Relaxed) > 0 {
        monitor.queued_behind.store(true, Ordering::Relaxed);
    }
}

fn commit_group(backend: &dyn Backend, group: Vec<Job>) {
    let mut txn = match backend.begin() {
        Ok(txn) => txn,
        Err(e) => {
            for job in group {
                let _ = job.reply.send(Err(e.clone()));
            }
            // A failing backend (full or read-only disk) must not spin the thread.
            std::thread::sleep(Duration::from_millis(50));
            return;
        }
    };
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        let outcome = {
            let mut tx = Tx::new(&*txn);
            (job.unit)(&mut tx).map(|value| (value, tx.into_ops()))
        };
        let outcome = match outcome {
            Ok((value, ops)) => txn.apply(&ops).map(|()| value),
            Err(e) => Err(e),
        };
        answers.push((job.reply, outcome));
    }
    match txn.commit() {
        Ok(()) => {
            for (reply, outcome) in answers {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            for (reply, _) in answers {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

enum Pending {
    Value(Option<Vec<u8>>),
    Add(i64),
}

/// A unit's view of the write transaction: reads see the group's earlier units and this unit's own
/// point writes; writes are buffered until the unit succeeds.
///
/// `scan` reads the transaction as it was before this unit; units scan before they write.
pub struct Tx<'a> {
    base: &'a dyn WriteTxn,
    overlay: BTreeMap<Vec<u8>, Pending>,
    cleared: Vec<KeyRange>,
    ops: Vec<Op>,
}

impl<'a> Tx<'a> {
    fn new(base: &'a dyn WriteTxn) -> Self {
        Self {
            base,
            overlay: BTreeMap::new(),
            cleared: Vec::new(),
            ops: Vec::new(),
        }
    }

    fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// The value at `key` as this unit would leave it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.overlay.get(key) {
            Some(Pending::Value(v)) => Ok(v.clone()),
            Some(Pending::Add(delta)) => {
                let base = self.base_get(key)?;
                Ok(Some(
                    decode_counter(base.as_deref())
                        .wrapping_add(*delta)
                        .to_le_bytes()
                        .to_vec(),
                ))
            }
            None => self.base_get(key),
        }
    }

    fn base_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.cleared.iter().any(|r| r.contains(key)) {
            return Ok(None);
        }
        self.base.get(key)
    }

    /// Reads a counter (absent = 0).
    pub fn counter(&self, key: &[u8]) -> Result<i64> {
        Ok(decode_counter(self.get(key)?.as_deref()))
    }

    /// Scans the transaction as it was before this unit's writes.
    pub fn scan(&self, range: &KeyRange, limit: usize) -> Result<ScanPage> {
        self.base.scan(range, limit)
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.overlay
            .insert(key.clone(), Pending::Value(Some(value.clone())));
        self.ops.push(Op::Set(key, value));
    }

    /// Removes `key`.
    pub fn clear(&mut self, key: Vec<u8>) {
        self.overlay.insert(key.clone(), Pending::Value(None));
        self.ops.push(Op::Clear(key));
    }

    /// Removes every key in `range`.
    pub fn clear_range(&mut self, range: KeyRange) {
        self.overlay.retain(|k, _| !range.contains(k));
        self.cleared.push(range.clone());
        self.ops.push(Op::ClearRange(range));
    }

    /// Adds `delta` to the counter at `key`.
    pub fn add(&mut self, key: Vec<u8>, delta: i64) {
        let next = match self.overlay.get(&key) {
            Some(Pending::Value(v)) => Pending::Value(Some(
                decode_counter(v.as_deref())
                    .wrapping_add(delta)
                    .to_le_bytes()
                    .to_vec(),
            )),
            Some(Pending::Add(d)) => Pending::Add(d.wrapping_add(delta)),
            None if self.cleared.iter().any(|r| r.contains(&key)) => {
                Pending::Value(Some(delta.to_le_bytes().to_vec()))
            }
            None => Pending::Add(delta),
        };
        self.overlay.insert(key.clone(), next);
        self.ops.push(Op::Add(key, delta));
    }
}
