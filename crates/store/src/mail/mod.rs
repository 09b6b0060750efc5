//! `MailStore`: the protocol-neutral mail operations, written once over the `Backend` contract.
//!
//! Protocol modules call these and never touch the backend, so SMTP, LMTP, IMAP and POP3 always
//! agree on what an account and a mailbox hold. Reads use a snapshot; writes go through the
//! group-commit writer and return only once durable.

mod check;
mod delivery;
mod mailbox;
mod tenancy;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use delivery::{Delivery, DeliveryOutcome, LocalTarget, Resolution, Resolved};
pub use mailbox::{MailboxInfo, MessageInfo};
pub use tenancy::{AccountInfo, DomainInfo};

use crate::backend::{Backend, KeyRange, ReadView};
use crate::blob::BlobStore;
use crate::commit::{Committer, Tx};
use crate::embedded::Embedded;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::decode;

/// The on-disk format this build writes. Bump it and add a step to `MIGRATIONS` when a change
/// needs existing data rewritten.
pub const FORMAT_VERSION: u32 = 1;

/// Steps that upgrade the format from version `i + 1` to `i + 2`, run in order inside one commit
/// each. Empty while only version 1 exists.
const MIGRATIONS: &[fn(&mut Tx<'_>) -> Result<()>] = &[];

/// Scan page size for internal full scans.
const PAGE: usize = 1000;

/// The mail store.
#[derive(Clone)]
pub struct MailStore {
    backend: Arc<dyn Backend>,
    committer: Committer,
    blobs: Arc<BlobStore>,
}

impl MailStore {
    /// Opens the embedded store under `data_dir` (`meta.redb` and `blobs/`), creating it on
    /// first use and migrating an older format.
    ///
    /// Errors: `Unavailable` if another process has the store open, `Internal` for a format
    /// newer than this build or I/O failures.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::internal(&format!("creating {}", data_dir.display()), e))?;
        let backend = Arc::new(Embedded::open(&data_dir.join("meta.redb"))?);
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        Self::with_backend(backend, blobs).await
    }

    /// Opens a store over any backend and blob store.
    pub async fn with_backend(backend: Arc<dyn Backend>, blobs: BlobStore) -> Result<Self> {
        let committer = Committer::start(backend.clone())?;
        let store = Self {
            backend,
            committer,
            blobs: Arc::new(blobs),
        };
        store.migrate().await?;
        Ok(store)
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
        for step in version..FORMAT_VERSION {
            let migration = MIGRATIONS
                .get(step as usize - 1)
                .copied()
                .ok_or_else(|| Error::new(ErrorKind::Internal, "missing migration step"))?;
            let next = step + 1;
            self.write(move |tx| {
                migration(tx)?;
                tx.set(keys::format_version(), next.to_be_bytes().to_vec());
                Ok(())
            })
            .await?;
            tracing::info!(from = step, to = next, "migrated store format");
        }
        Ok(())
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

/// Reads and decodes a record.
pub(crate) fn get_record<T: for<'de> serde::Deserialize<'de>>(
    view: &dyn ReadView,
    key: &[u8],
) -> Result<Option<T>> {
    view.get(key)?.map(|v| decode(&v)).transpose()
}

/// Reads and decodes a record inside a write unit.
pub(crate) fn tx_record<T: for<'de> serde::Deserialize<'de>>(
    tx: &Tx<'_>,
    key: &[u8],
) -> Result<Option<T>> {
    tx.get(key)?.map(|v| decode(&v)).transpose()
}
