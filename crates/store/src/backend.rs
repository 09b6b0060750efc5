//! The `Backend` contract: an ordered, transactional key-value store.
//!
//! Mail semantics (UIDs, MODSEQs, quotas, the change log) are written once in the mail layer on
//! top of this contract, so they cannot drift between the embedded backend and the cluster
//! backend. A backend offers consistent read snapshots and write transactions; the mail layer's
//! group-commit writer (`commit.rs`) runs many small units of work in one write transaction and
//! one durable commit.
//!
//! Limits follow FoundationDB's (about 10 MB per transaction, 100 kB per value) so that code
//! written against the embedded backend also fits the cluster one; the mail layer splits big work
//! into bounded batches.

use std::ops::Bound;

use crate::error::Result;

/// Size limits a backend guarantees to support.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest key in bytes.
    pub max_key: usize,
    /// Largest value in bytes.
    pub max_value: usize,
    /// Largest sum of keys and values written by one transaction.
    pub max_txn_bytes: usize,
}

/// A half-open key range `[start, end)`; `end: None` means "to the end of the key space".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// First key included.
    pub start: Vec<u8>,
    /// First key excluded, or `None` for unbounded.
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// All keys starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        Self {
            start: prefix.to_vec(),
            end: prefix_end(prefix),
        }
    }

    /// The range `[start, end)`.
    pub fn between(start: Vec<u8>, end: Vec<u8>) -> Self {
        Self {
            start,
            end: Some(end),
        }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }

    /// The bounds in the form `BTreeMap::range` and redb take.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (
            Bound::Included(self.start.as_slice()),
            match &self.end {
                Some(end) => Bound::Excluded(end.as_slice()),
                None => Bound::Unbounded,
            },
        )
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// One page of a bounded scan.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// Key/value pairs in ascending key order.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether more keys in the range follow the last entry; resume with [`ScanPage::resume`].
    pub more: bool,
}

impl ScanPage {
    /// The range that continues this scan after its last entry.
    pub fn resume(&self, range: &KeyRange) -> Option<KeyRange> {
        let (last, _) = self.entries.last()?;
        let mut start = last.clone();
        start.push(0);
        self.more.then(|| KeyRange {
            start,
            end: range.end.clone(),
        })
    }
}

/// One write operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Set(Vec<u8>, Vec<u8>),
    /// Remove `key` (no error if absent).
    Clear(Vec<u8>),
    /// Remove every key in the range.
    ClearRange(KeyRange),
    /// Add `delta` to the little-endian `i64` counter at `key` (absent counts as 0).
    Add(Vec<u8>, i64),
}

/// A callback that receives one key and value of a scan.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Reads from a consistent view of the store.
pub trait ReadView {
    /// The value at `key`, if present.
    ///
    /// Errors: `Internal` on I/O failure or corruption.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Up to `limit` entries of `range` in ascending key order. `more` tells whether the range
    /// holds further keys; resume from [`ScanPage::resume`]. A scan never returns more than
    /// `limit` entries, so callers bound their memory.
    fn scan(&self, range: &KeyRange, limit: usize) -> Result<ScanPage>;

    /// Like [`ReadView::scan`], but hands each entry to `visit` as borrowed slices instead of
    /// copying it out, for reads of many small rows (a mailbox's messages at SELECT). Returns
    /// the range that continues the scan, if more keys follow. The default goes through `scan`.
    ///
    /// Errors: those of `scan`, and the first error `visit` returns (the scan stops there).
    fn scan_each(
        &self,
        range: &KeyRange,
        limit: usize,
        visit: &mut Visit<'_>,
    ) -> Result<Option<KeyRange>> {
        let page = self.scan(range, limit)?;
        for (k, v) in &page.entries {
            visit(k, v)?;
        }
        Ok(page.resume(range))
    }
}

/// A write transaction. Reads see the transaction's own applied writes.
pub trait WriteTxn: ReadView {
    /// Applies `ops` in order to the transaction (not yet durable).
    fn apply(&mut self, ops: &[Op]) -> Result<()>;

    /// Makes every applied op durable, atomically: after a crash either all of them are
    /// present or none is. Returns only once the data is on stable storage.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// An ordered, transactional key-value store.
///
/// Concurrency: any number of snapshots may be open while one write transaction runs; a snapshot
/// never sees writes committed after it was taken. The mail layer opens at most one write
/// transaction at a time per store (its group-commit writer), so backends need not arbitrate
/// between concurrent writers.
pub trait Backend: Send + Sync + 'static {
    /// Size limits of this backend.
    fn limits(&self) -> Limits;

    /// A consistent read-only view of the latest committed state.
    ///
    /// Errors: `Unavailable` if the backend cannot serve reads now, `Internal` on failure.
    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>>;

    /// Starts a write transaction. Dropping it without `commit` discards it.
    fn begin(&self) -> Result<Box<dyn WriteTxn + '_>>;
}

/// Decodes a counter value written by [`Op::Add`].
pub fn decode_counter(value: Option<&[u8]>) -> i64 {
    match value {
        Some(bytes) if bytes.len() == 8 => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(bytes);
            i64::from_le_bytes(raw)
        }
        _ => 0,
    }
}
