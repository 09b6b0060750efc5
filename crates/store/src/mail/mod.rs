//! `MailStore`: the protocol-neutral mail operations, written once over the `Backend` contract.
//!
//! Protocol modules call these and never touch the backend, so SMTP, LMTP, IMAP and POP3 always
//! agree on what an account and a mailbox hold. Reads use a snapshot; writes go through the
//! group-commit writer and return only once durable.

mod changes;
mod check;
mod delete_intent;
mod delivery;
pub mod flags;
mod folders;
mod mailbox;
mod messages;
mod migrations;
pub mod names;
mod purge;
mod queue;
mod rows;
mod structure;
mod tenancy;
mod tokens;
mod transfer;

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, RwLock, broadcast};

pub use changes::{Changes, MailboxChanged};
pub use delivery::{Delivery, DeliveryOutcome, LocalTarget, Resolution, Resolved};
pub use flags::FlagMode;
pub use folders::{MailboxStatus, MailboxView, QuotaInfo};
pub use mailbox::{MailboxInfo, MessageInfo};
pub(crate) use messages::meta as meta_of;
pub use messages::{CopyOutcome, FlagOutcome, MessageMeta};
pub use purge::PurgeStats;
pub use queue::{NewOutbound, QueueUpdate, QueuedMessage, RecipientResult};
pub use tenancy::{AccountInfo, DomainInfo};
pub use tokens::{ApiToken, api_token_hash};
pub use transfer::{ImportOutcome, ImportedMessage};

use crate::admission::{Admission, Admitted, Pressure};
use crate::backend::{Backend, KeyRange, ReadView};
use crate::blob::BlobStore;
use crate::commit::{Committer, Tx};
use crate::embedded::Embedded;
use crate::error::{Error, ErrorKind, Result};
use crate::fault::FaultSwitch;
use crate::keys;
use crate::records::decode;
use migrations::{Progress, Step};

/// The on-disk format this build writes. Bump it and add a step to `MIGRATIONS` when a change
/// needs existing data rewritten.
pub const FORMAT_VERSION: u32 = 5;

/// Steps that upgrade the format from version `i + 1` to `i + 2`, run in order.
const MIGRATIONS: &[Step] = &[
    Step::Once(migrations::v1_subscriptions_and_ids),
    Step::Once(migrations::v2_binary_message_rows),
    Step::Once(queue::v3_queue_schedule),
    Step::Chunked(migrations::v4_colocate_blob_keys),
];

/// Room on the change bus; a subscriber further behind gets `Lagged` and resyncs by `changes()`.
const CHANGE_BUS: usize = 1024;

/// Scan page size for internal full scans.
const PAGE: usize = 1000;

/// The mail store.
///
/// Cheap to clone; every clone shares the writer, the change bus and the background purger,
/// which stops once the last clone is dropped.
#[derive(Clone)]
pub struct MailStore {
    backend: Arc<dyn Backend>,
    committer: Arc<Committer>,
    blobs: Arc<BlobStore>,
    bus: broadcast::Sender<MailboxChanged>,
    purge_wake: Arc<Notify>,
    /// Wakes the outbound queue runner (`queue_wakeup`).
    queue_wake: Arc<Notify>,
    /// Held shared from writing a blob file to committing the rows that refer to it, and
    /// exclusively by the purger from its last reference check to deleting the file, so a file
    /// is never removed under a delivery of the same bytes.
    blob_gate: Arc<RwLock<()>>,
    /// One purge step at a time: `purge_now` must not return while the background purger is
    /// between taking queue entries and deleting their files.
    purge_turn: Arc<tokio::sync::Mutex<()>>,
    /// Seconds an expunged body stays readable before the background purger takes it.
    purge_grace: Arc<std::sync::atomic::AtomicU64>,
    /// The purger's rate and what it reports.
    pacing: Arc<purge::Pacing>,
    /// Test-only latency injected into the embedded backend.
    faults: Arc<FaultSwitch>,
    /// Whether the store takes new work, and the tenants' budgets.
    admission: Arc<Admission>,
}

/// A handle that does not keep the store open: the purger's.
struct WeakStore {
    backend: Weak<dyn Backend>,
    committer: Weak<Committer>,
    blobs: Weak<BlobStore>,
    bus: broadcast::Sender<MailboxChanged>,
    purge_wake: Arc<Notify>,
    queue_wake: Arc<Notify>,
    blob_gate: Arc<RwLock<()>>,
    purge_turn: Arc<tokio::sync::Mutex<()>>,
    purge_grace: Arc<std::sync::atomic::AtomicU64>,
    pacing: Arc<purge::Pacing>,
    faults: Arc<FaultSwitch>,
    admission: Arc<Admission>,
}

impl WeakStore {
    fn upgrade(&self) -> Option<MailStore> {
        Some(MailStore {
            backend: self.backend.upgrade()?,
            committer: self.committer.upgrade()?,
            blobs: self.blobs.upgrade()?,
            bus: self.bus.clone(),
            purge_wake: self.purge_wake.clone(),
            queue_wake: self.queue_wake.clone(),
            blob_gate: self.blob_gate.clone(),
            purge_turn: self.purge_turn.clone(),
            purge_grace: self.purge_grace.clone(),
            pacing: self.pacing.clone(),
            faults: self.faults.clone(),
            admission: self.admission.clone(),
        })
    }
}

impl MailStore {
    /// Opens the embedded store under `data_dir` (`meta.redb` and `blobs/`), creating it on
    /// first use, migrating an older format and finishing deletes a crash interrupted. Fault
    /// injection is allowed when the process has `YUBIN_FAULT_INJECTION=1`.
    ///
    /// Errors: `Unavailable` if another process has the store open, `Internal` for a format
    /// newer than this build or I/O failures.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with_faults(data_dir, FaultSwitch::from_env()).await
    }

    /// Like [`MailStore::open`], with the given fault switch (tests allow it explicitly).
    ///
    /// Errors: as [`MailStore::open`].
    pub async fn open_with_faults(data_dir: &Path, faults: FaultSwitch) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::internal(&format!("creating {}", data_dir.display()), e))?;
        let faults = Arc::new(faults);
        let backend = Arc::new(Embedded::open_with_faults(
            &data_dir.join("meta.redb"),
            faults.clone(),
        )?);
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        Self::build(backend, blobs, faults).await
    }

    /// Opens a store over any backend and blob store, migrates it, and starts the background
    /// purger on the current tokio runtime.
    pub async fn with_backend(backend: Arc<dyn Backend>, blobs: BlobStore) -> Result<Self> {
        Self::build(backend, blobs, Arc::new(FaultSwitch::default())).await
    }

    async fn build(
        backend: Arc<dyn Backend>,
        blobs: BlobStore,
        faults: Arc<FaultSwitch>,
    ) -> Result<Self> {
        let committer = Arc::new(Committer::start(backend.clone())?);
        let (bus, _) = broadcast::channel(CHANGE_BUS);
        let store = Self {
            backend,
            committer,
            blobs: Arc::new(blobs),
            bus,
            purge_wake: Arc::new(Notify::new()),
            queue_wake: Arc::new(Notify::new()),
            blob_gate: Arc::new(RwLock::new(())),
            purge_turn: Arc::new(tokio::sync::Mutex::new(())),
            purge_grace: Arc::new(std::sync::atomic::AtomicU64::new(
                purge::DEFAULT_GRACE.as_secs(),
            )),
            pacing: Arc::new(purge::Pacing::default()),
            faults,
            admission: Arc::new(Admission::default()),
        };
        store
            .admission
            .spawn_probe(Arc::downgrade(&store.backend))?;
        store.migrate().await?;
        store.finish_delete_intents().await?;
        purge::spawn(store.downgrade());
        Ok(store)
    }

    fn downgrade(&self) -> WeakStore {
        WeakStore {
            backend: Arc::downgrade(&self.backend),
            committer: Arc::downgrade(&self.committer),
            blobs: Arc::downgrade(&self.blobs),
            bus: self.bus.clone(),
            purge_wake: self.purge_wake.clone(),
            queue_wake: self.queue_wake.clone(),
            blob_gate: self.blob_gate.clone(),
            purge_turn: self.purge_turn.clone(),
            purge_grace: self.purge_grace.clone(),
            pacing: self.pacing.clone(),
            faults: self.faults.clone(),
            admission: self.admission.clone(),
        }
    }

    async fn migrate(&self) -> Result<()> {
        let current = {
            let view = self.read()?;
            view.get(&keys::format_version())?
        };
        let version = match current {
            None => {
                return self
                    .write(|tx| {
                        tx.set(
                            keys::format_version(),
                            FORMAT_VERSION.to_be_bytes().to_vec(),
                        );
                        Ok(())
                    })
                    .await;
            }
            Some(bytes) => bytes
                .as_slice()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| Error::new(ErrorKind::Internal, "corrupt format version record"))?,
        };
        if version > FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "the data directory has format {version}, newer than this build's {FORMAT_VERSION}; \
                     upgrade Yubin"
                ),
            ));
        }
        // A batched migration that a crash interrupted: the version record already names its
        // target (so an older build refuses the half-moved store); finish it first.
        let resumed = {
            let view = self.read()?;
            view.get(&keys::migrating())?
                .and_then(|b| b.as_slice().try_into().ok().map(u32::from_be_bytes))
        };
        let version = match resumed {
            Some(from) if from < version => from,
            _ => version,
        };
        for step in version..FORMAT_VERSION {
            let migration = MIGRATIONS
                .get(step as usize - 1)
                .copied()
                .ok_or_else(|| Error::new(ErrorKind::Internal, "missing migration step"))?;
            let next = step + 1;
            let bump = move |tx: &mut Tx<'_>| {
                tx.set(keys::format_version(), next.to_be_bytes().to_vec());
            };
            let mut commits = 1u64;
            match migration {
                Step::Once(migration) => {
                    self.write(move |tx| {
                        migration(tx)?;
                        bump(tx);
                        Ok(())
                    })
                    .await?
                }
                Step::Chunked(batch) => {
                    tracing::info!(from = step, to = next, "migrating store format in batches");
                    loop {
                        // Every batch names the new version, so an older build refuses a store
                        // whose keys are half moved, and keeps the `migrating` marker until the
                        // last one, so the next open after a crash goes on from what was moved.
                        let progress = self
                            .write(move |tx| {
                                let progress = batch(tx)?;
                                bump(tx);
                                if progress == Progress::Done {
                                    tx.clear(keys::migrating());
                                } else {
                                    tx.set(keys::migrating(), step.to_be_bytes().to_vec());
                                }
                                Ok(progress)
                            })
                            .await?;
                        if progress == Progress::Done {
                            break;
                        }
                        commits += 1;
                    }
                }
            }
            tracing::info!(from = step, to = next, commits, "migrated store format");
        }
        Ok(())
    }

    /// Sets the latency injected into every read snapshot, scan and commit of the embedded
    /// backend (zero turns it off). For tests of behaviour under a slow store.
    ///
    /// Errors: `Unavailable` unless the process was started with `YUBIN_FAULT_INJECTION=1`
    /// (or the store was opened with an allowed switch).
    pub fn set_store_latency(&self, latency: std::time::Duration) -> Result<()> {
        self.faults.set_latency(latency)
    }

    /// The latency injected now (zero when off).
    pub fn store_latency(&self) -> std::time::Duration {
        self.faults.latency()
    }

    /// Sets admission control: the store latency above which new work is refused, the deadline
    /// for one unit of admitted work, and the store operations one tenant may run at once.
    pub fn configure_admission(
        &self,
        slow_after: std::time::Duration,
        deadline: std::time::Duration,
        tenant_slots: usize,
    ) {
        self.admission.configure(slow_after, deadline, tenant_slots);
    }

    /// How the store is doing now; cheap (no store access), so every command may ask.
    pub fn pressure(&self) -> Pressure {
        self.admission.pressure(
            self.committer.stall(),
            self.committer.waiting(),
            crate::commit::QUEUE_DEPTH,
        )
    }

    /// Whether new work should get a temporary error because the store is slow.
    pub fn is_slow(&self) -> bool {
        self.pressure().slow
    }

    /// Whether the store answers small reads in microseconds now, so a caller may run a small
    /// bounded read (a record, a short listing) on an async worker instead of paying a hop to
    /// the blocking pool. Why: on a busy machine the hop waits for a CPU, and in the mass-delete
    /// test it tripled the tail latency of the commands that made it. False from the moment a
    /// probe read takes 20 ms, so a slow store never blocks a worker for long.
    pub fn reads_fast(&self) -> bool {
        self.admission.reads_fast()
    }

    /// Runs `read`, a small bounded read, on the caller's thread while [`reads_fast`] holds,
    /// else on the blocking pool.
    ///
    /// [`reads_fast`]: MailStore::reads_fast
    pub async fn read_small<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&MailStore) -> Result<T> + Send + 'static,
    {
        if self.reads_fast() {
            return read(self);
        }
        self.off_workers(read).await
    }

    /// Runs `read` on the blocking pool, so a slow or long read never holds an async worker.
    pub(crate) async fn off_workers<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&MailStore) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || read(&store))
            .await
            .map_err(|e| Error::internal("store task", e))?
    }

    /// The deadline for one unit of admitted store work.
    pub fn store_deadline(&self) -> std::time::Duration {
        self.admission.deadline()
    }

    /// Admits store work for `tenants` (domain names; repeats are fine): refused at once while
    /// the store is slow, else one slot of each tenant's budget, waiting at most the deadline in
    /// all. Hold the result while the work runs.
    ///
    /// Errors: `Unavailable` when the store is slow or a tenant's budget stayed full.
    pub async fn admit(&self, tenants: &[&str]) -> Result<Admitted> {
        if self.is_slow() {
            metrics::counter!("yubin_store_admission_refused_total").increment(1);
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the store is slow; try again later",
            ));
        }
        let mut names: Vec<&str> = tenants.to_vec();
        // One order for everyone, so two multi-tenant deliveries cannot wait on each other.
        names.sort_unstable();
        names.dedup();
        let until = tokio::time::Instant::now() + self.admission.deadline();
        let mut slots = Vec::with_capacity(names.len());
        for name in names {
            let wait = until.saturating_duration_since(tokio::time::Instant::now());
            slots.push(self.admission.slot(name, wait).await?);
        }
        Ok(Admitted::new(slots))
    }

    fn read(&self) -> Result<Box<dyn ReadView + '_>> {
        self.backend.snapshot()
    }

    async fn write<T, F>(&self, unit: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.committer.run(unit).await
    }

    /// Like `write`, for the purger: not counted as foreground load.
    async fn write_background<T, F>(&self, unit: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.committer.run_background(unit).await
    }

    /// Runs a blocking blob operation off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&BlobStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || f(&blobs))
            .await
            .map_err(|e| Error::internal("blob task", e))?
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Every entry of `range`, page by page, so no single read is unbounded.
pub(crate) fn scan_all(view: &dyn ReadView, range: &KeyRange) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut next = Some(range.clone());
    while let Some(r) = next {
        let page = view.scan(&r, PAGE)?;
        next = page.resume(&r);
        out.extend(page.entries);
    }
    Ok(out)
}

/// Every entry of `range` as a write unit sees it before its own writes, page by page.
pub(crate) fn tx_scan_all(tx: &Tx<'_>, range: &KeyRange) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut next = Some(range.clone());
    while let Some(r) = next {
        let page = tx.scan(&r, PAGE)?;
        next = page.resume(&r);
        out.extend(page.entries);
    }
    Ok(out)
}

/// Reads and decodes a record.
pub(crate) fn get_record<T: crate::records::Record>(
    view: &dyn ReadView,
    key: &[u8],
) -> Result<Option<T>> {
    view.get(key)?.map(|v| decode(&v)).transpose()
}

/// Reads and decodes a record inside a write unit.
pub(crate) fn tx_record<T: crate::records::Record>(tx: &Tx<'_>, key: &[u8]) -> Result<Option<T>> {
    tx.get(key)?.map(|v| decode(&v)).transpose()
}
