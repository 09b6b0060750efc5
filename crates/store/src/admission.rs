//! Store admission: whether the store is fast enough to take new work, and per-tenant budgets
//! of store work in progress.
//!
//! Why: a slow disk used to let sessions pile up behind the store until memory ran out and
//! nothing answered. Protocols ask [`Admission::pressure`] before starting work (SMTP answers
//! 451/421, IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`) and run store work inside a
//! tenant's budget under a deadline, so a tenant that floods the server waits on its own slots
//! while the others keep theirs.
//!
//! "Slow" is measured three ways, because one alone misses cases:
//! - a probe thread opens a snapshot and reads one key every [`PROBE_EVERY`]; a probe that
//!   takes, or has been running, longer than the threshold means reads are slow;
//! - the group-commit writer reports how long its current commit has run: a commit stuck on a
//!   dying disk produces no finished samples, only a growing age;
//! - a write queue more than half full means commits cannot keep up.
//!
//! Recovery needs nothing: the next probe that is fast clears the state (after a slow probe the
//! next one starts at once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::backend::Backend;
use crate::error::{Error, ErrorKind, Result};

/// How often the probe reads.
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// Store latency above which new work is refused, unless configured.
pub const DEFAULT_SLOW_AFTER: Duration = Duration::from_millis(1000);
/// Probe time under which a small read is cheaper on the caller's thread than a hop to a
/// blocking pool ([`Admission::reads_fast`]).
const FAST_READ: Duration = Duration::from_millis(20);
/// How long one unit of admitted store work may take, unless configured.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(4);
/// Store operations one tenant may have in progress at once, unless configured.
pub const DEFAULT_TENANT_SLOTS: usize = 8;

/// How the store is doing, as the admission check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pressure {
    /// New work should be refused with a temporary error.
    pub slow: bool,
    /// The last finished probe read, or the one running now if it is taking longer.
    pub read: Duration,
    /// How long the writer's current commit has run (zero when idle).
    pub commit: Duration,
    /// Writes waiting for the writer.
    pub queued: usize,
}

/// The admission state of one store; shared by its clones.
pub(crate) struct Admission {
    epoch: Instant,
    slow_after_us: AtomicU64,
    deadline_us: AtomicU64,
    tenant_slots: AtomicUsize,
    /// Microseconds since `epoch` when the running probe started; 0 when none runs.
    probe_started: AtomicU64,
    /// Duration of the last finished probe, in microseconds.
    probe_last: AtomicU64,
    budgets: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            slow_after_us: AtomicU64::new(micros(DEFAULT_SLOW_AFTER)),
            deadline_us: AtomicU64::new(micros(DEFAULT_DEADLINE)),
            tenant_slots: AtomicUsize::new(DEFAULT_TENANT_SLOTS),
            probe_started: AtomicU64::new(0),
            probe_last: AtomicU64::new(0),
            budgets: Mutex::new(HashMap::new()),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Admission {
    /// Sets the threshold, the deadline and the slots per tenant (budgets already handed out
    /// keep their size until the process restarts).
    pub(crate) fn configure(&self, slow_after: Duration, deadline: Duration, tenant_slots: usize) {
        self.slow_after_us
            .store(micros(slow_after).max(1), Ordering::Relaxed);
        self.deadline_us
            .store(micros(deadline).max(1), Ordering::Relaxed);
        self.tenant_slots
            .store(tenant_slots.max(1), Ordering::Relaxed);
        if let Ok(mut budgets) = self.budgets.lock() {
            budgets.clear();
        }
    }

    pub(crate) fn deadline(&self) -> Duration {
        Duration::from_micros(self.deadline_us.load(Ordering::Relaxed))
    }

    fn since_epoch(&self) -> u64 {
        micros(self.epoch.elapsed()).max(1)
    }

    /// The pressure given the writer's state.
    pub(crate) fn pressure(&self, commit: Duration, queued: usize, queue_depth: usize) -> Pressure {
        let threshold = Duration::from_micros(self.slow_after_us.load(Ordering::Relaxed));
        let last = Duration::from_micros(self.probe_last.load(Ordering::Relaxed));
        let started = self.probe_started.load(Ordering::Relaxed);
        let running = if started == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(self.since_epoch().saturating_sub(started))
        };
        let read = last.max(running);
        let slow = read > threshold || commit > threshold || queued > queue_depth / 2;
        Pressure {
            slow,
            read,
            commit,
            queued,
        }
    }

    /// Whether the last probe, and the one running if any, took under [`FAST_READ`]: a small
    /// read then costs microseconds and may run on an async worker.
    pub(crate) fn reads_fast(&self) -> bool {
        let fast = micros(FAST_READ);
        let started = self.probe_started.load(Ordering::Relaxed);
        self.probe_last.load(Ordering::Relaxed) < fast
            && (started == 0 || self.since_epoch().saturating_sub(started) < fast)
    }

    /// Starts the probe thread; it stops when the backend is dropped.
    pub(crate) fn spawn_probe(self: &Arc<Self>, backend: Weak<dyn Backend>) -> Result<()> {
        let me = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("yubin-store-probe".into())
            .spawn(move || {
                let mut slow = false;
                loop {
                    // After a slow probe, probe again at once: recovery is seen as soon as
                    // the store is fast, not a period later.
                    if !slow {
                        std::thread::sleep(PROBE_EVERY);
                    }
                    let (Some(admission), Some(backend)) = (me.upgrade(), backend.upgrade()) else {
                        return;
                    };
                    slow = admission.probe(&*backend);
                }
            })
            .map(|_| ())
            .map_err(|e| Error::internal("starting the store probe", e))
    }

    /// One timed read; whether it was slower than the threshold.
    fn probe(&self, backend: &dyn Backend) -> bool {
        let started = Instant::now();
        self.probe_started
            .store(self.since_epoch(), Ordering::Relaxed);
        // Any key will do: the point is a snapshot and one lookup, as every read does.
        let ok = backend
            .snapshot()
            .and_then(|view| view.get(&crate::keys::format_version()))
            .is_ok();
        let took = started.elapsed();
        // A failed read is as bad as a slow one for admission; /ready reports the error.
        let took = if ok { took } else { Duration::from_secs(3600) };
        self.probe_last.store(micros(took), Ordering::Relaxed);
        self.probe_started.store(0, Ordering::Relaxed);
        metrics::gauge!("yubin_store_read_seconds").set(took.as_secs_f64());
        took > Duration::from_micros(self.slow_after_us.load(Ordering::Relaxed))
    }

    /// One slot of `tenant`'s budget, waiting at most `wait`.
    pub(crate) async fn slot(&self, tenant: &str, wait: Duration) -> Result<OwnedSemaphorePermit> {
        let semaphore = {
            let mut budgets = self
                .budgets
                .lock()
                .map_err(|_| Error::new(ErrorKind::Internal, "tenant budgets poisoned"))?;
            // Looked up before inserting: every IMAP command comes here, most for a known tenant.
            match budgets.get(tenant) {
                Some(semaphore) => semaphore.clone(),
                None => {
                    let semaphore =
                        Arc::new(Semaphore::new(self.tenant_slots.load(Ordering::Relaxed)));
                    budgets.insert(tenant.to_string(), semaphore.clone());
                    semaphore
                }
            }
        };
        match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Error::new(ErrorKind::Unavailable, "tenant budget closed")),
            Err(_) => {
                metrics::counter!("yubin_tenant_budget_timeouts_total").increment(1);
                Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("{tenant} has too much store work in progress"),
                ))
            }
        }
    }
}

/// Store work admitted for some tenants: hold it while the work runs.
#[derive(Debug)]
pub struct Admitted {
    _slots: Vec<OwnedSemaphorePermit>,
}

impl Admitted {
    pub(crate) fn new(slots: Vec<OwnedSemaphorePermit>) -> Self {
        Self { _slots: slots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_probe_or_a_stuck_commit_or_a_full_queue_is_slow() {
        let a = Admission::default();
        a.configure(Duration::from_millis(100), Duration::from_secs(1), 2);
        assert!(!a.pressure(Duration::ZERO, 0, 100).slow);
        a.probe_last.store(200_000, Ordering::Relaxed);
        assert!(a.pressure(Duration::ZERO, 0, 100).slow, "slow read");
        a.probe_last.store(1_000, Ordering::Relaxed);
        assert!(!a.pressure(Duration::ZERO, 0, 100).slow, "recovered");
        assert!(
            a.pressure(Duration::from_millis(150), 0, 100).slow,
            "stuck commit"
        );
        assert!(a.pressure(Duration::ZERO, 51, 100).slow, "queue half full");
    }

    #[test]
    fn a_probe_still_running_counts_as_slow() {
        let a = Admission::default();
        a.configure(Duration::from_millis(10), Duration::from_secs(1), 2);
        a.probe_started.store(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(20));
        let p = a.pressure(Duration::ZERO, 0, 100);
        assert!(p.slow && p.read >= Duration::from_millis(10), "{p:?}");
    }

    #[tokio::test]
    async fn a_tenant_waits_on_its_own_slots_only() {
        let a = Admission::default();
        a.configure(Duration::from_secs(1), Duration::from_secs(1), 2);
        let wait = Duration::from_millis(50);
        let _one = a.slot("flood.test", wait).await.expect("slot 1");
        let _two = a.slot("flood.test", wait).await.expect("slot 2");
        let third = a.slot("flood.test", wait).await;
        assert_eq!(
            third.expect_err("budget spent").kind(),
            ErrorKind::Unavailable
        );
        let _other = a
            .slot("quiet.test", wait)
            .await
            .expect("another tenant is not held up");
        drop(_one);
        let _freed = a.slot("flood.test", wait).await.expect("freed slot");
    }
}
