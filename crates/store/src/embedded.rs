//! The embedded backend: one redb file holding every key family in one ordered table.
//!
//! Why redb (figures in docs/ARCHITECTURE.md): pure Rust (fast to build, no C toolchain),
//! copy-on-write B-trees with checksummed commits, MVCC snapshots so readers never wait for the
//! writer, and `Durability::Immediate` commits that are on disk when `commit` returns. Quick
//! repair is on, so reopening after a crash loads the saved allocator state instead of walking the
//! whole file.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::backend::{
    Backend, KeyRange, Limits, Op, ReadView, ScanPage, Visit, WriteTxn, decode_counter,
};
use crate::error::{Error, Result};
use crate::fault::FaultSwitch;

const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// The embedded, single-process backend.
pub struct Embedded {
    db: Database,
    faults: Arc<FaultSwitch>,
}

impl Embedded {
    /// Opens (or creates) the database file at `path`, without fault injection.
    ///
    /// Errors: `Unavailable` if another process holds the file, `Internal` otherwise.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_faults(path, Arc::new(FaultSwitch::default()))
    }

    /// Like [`Embedded::open`], with `faults` adding latency to snapshots, scans and commits.
    ///
    /// Errors: as [`Embedded::open`].
    pub fn open_with_faults(path: &Path, faults: Arc<FaultSwitch>) -> Result<Self> {
        let db = Database::builder().create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::new(
                crate::ErrorKind::Unavailable,
                format!("{} is in use by another process", path.display()),
            ),
            other => Error::internal("opening the metadata database", other),
        })?;
        // Create the table so read transactions can always open it.
        let txn = db.begin_write().map_err(|e| Error::internal("begin", e))?;
        txn.open_table(KV)
            .map_err(|e| Error::internal("open table", e))?;
        txn.commit().map_err(|e| Error::internal("commit", e))?;
        Ok(Self { db, faults })
    }
}

impl Backend for Embedded {
    fn limits(&self) -> Limits {
        Limits {
            max_key: 4096,
            max_value: 1 << 20,
            max_txn_bytes: 64 << 20,
        }
    }

    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>> {
        self.faults.pause();
        let txn = self
            .db
            .begin_read()
            .map_err(|e| Error::internal("begin read", e))?;
        let table = txn
            .open_table(KV)
            .map_err(|e| Error::internal("open table", e))?;
        Ok(Box::new(Snapshot {
            table,
            faults: &self.faults,
        }))
    }

    fn begin(&self) -> Result<Box<dyn WriteTxn + '_>> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| Error::internal("begin write", e))?;
        txn.set_quick_repair(true);
        Ok(Box::new(Txn {
            txn,
            faults: &self.faults,
        }))
    }
}

struct Snapshot<'a> {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    faults: &'a FaultSwitch,
}

impl ReadView for Snapshot<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get(&self.table, key)
    }

    fn scan(&self, range: &KeyRange, limit: usize) -> Result<ScanPage> {
        self.faults.pause();
        scan(&self.table, range, limit)
    }

    fn scan_each(
        &self,
        range: &KeyRange,
        limit: usize,
        visit: &mut Visit<'_>,
    ) -> Result<Option<KeyRange>> {
        self.faults.pause();
        let iter = self
            .table
            .range::<&[u8]>(range.bounds())
            .map_err(|e| Error::internal("scan", e))?;
        let mut seen = 0usize;
        let mut last: Option<Vec<u8>> = None;
        for item in iter {
            let (k, v) = item.map_err(|e| Error::internal("scan", e))?;
            if seen == limit {
                // More keys follow: resume just after the last one visited.
                return Ok(last.map(|mut start| {
                    start.push(0);
                    KeyRange {
                        start,
                        end: range.end.clone(),
                    }
                }));
            }
            visit(k.value(), v.value())?;
            seen += 1;
            if seen == limit {
                last = Some(k.value().to_vec());
            }
        }
        Ok(None)
    }
}

struct Txn<'a> {
    txn: redb::WriteTransaction,
    faults: &'a FaultSwitch,
}

impl Txn<'_> {
    fn table(&self) -> Result<redb::Table<'_, &'static [u8], &'static [u8]>> {
        self.txn
            .open_table(KV)
            .map_err(|e| Error::internal("open table", e))
    }
}

impl ReadView for Txn<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get(&self.table()?, key)
    }

    fn scan(&self, range: &KeyRange, limit: usize) -> Result<ScanPage> {
        self.faults.pause();
        scan(&self.table()?, range, limit)
    }
}

impl WriteTxn for Txn<'_> {
    fn apply(&mut self, ops: &[Op]) -> Result<()> {
        let mut table = self.table()?;
        let fail = |e: redb::StorageError| Error::internal("write", e);
        for op in ops {
            match op {
                Op::Set(key, value) => {
                    table
                        .insert(key.as_slice(), value.as_slice())
                        .map_err(fail)?;
                }
                Op::Clear(key) => {
                    table.remove(key.as_slice()).map_err(fail)?;
                }
                Op::ClearRange(range) => {
                    table
                        .retain_in::<&[u8], _>(range.bounds(), |_, _| false)
                        .map_err(fail)?;
                }
                Op::Add(key, delta) => {
                    let current = table
                        .get(key.as_slice())
                        .map_err(fail)?
                        .map(|v| decode_counter(Some(v.value())))
                        .unwrap_or(0);
                    let next = current.wrapping_add(*delta).to_le_bytes();
                    table
                        .insert(key.as_slice(), next.as_slice())
                        .map_err(fail)?;
                }
            }
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.faults.pause();
        self.txn.commit().map_err(|e| Error::internal("commit", e))
    }
}

fn get<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    key: &[u8],
) -> Result<Option<Vec<u8>>> {
    Ok(table
        .get(key)
        .map_err(|e| Error::internal("read", e))?
        .map(|v| v.value().to_vec()))
}

fn scan<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    range: &KeyRange,
    limit: usize,
) -> Result<ScanPage> {
    let mut page = ScanPage::default();
    let iter = table
        .range::<&[u8]>(range.bounds())
        .map_err(|e| Error::internal("scan", e))?;
    for item in iter {
        let (k, v) = item.map_err(|e| Error::internal("scan", e))?;
        if page.entries.len() == limit {
            page.more = true;
            break;
        }
        page.entries.push((k.value().to_vec(), v.value().to_vec()));
    }
    Ok(page)
}
