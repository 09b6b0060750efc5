//! The blob store: immutable message bodies in files named by their SHA-256.
//!
//! Content addressing stores a message sent to many local recipients once. A blob is made durable
//! before any row refers to it (temp file, fsync, rename, directory fsync), so a crash leaves at
//! worst an unreferenced file, never a row pointing at a missing or partial body.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// A blob's address.
pub type BlobHash = [u8; 32];

/// Hex form of a blob hash, as stored in records.
pub fn hash_hex(hash: &BlobHash) -> String {
    // One allocation: SELECT builds this for every message of a mailbox.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in hash {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Parses the hex form of a blob hash.
pub fn parse_hash(hex: &str) -> Option<BlobHash> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The SHA-256 of `data`.
pub fn hash_of(data: &[u8]) -> BlobHash {
    Sha256::digest(data).into()
}

/// Content-addressed files under one directory.
pub struct BlobStore {
    root: PathBuf,
    tmp_seq: AtomicU64,
}

impl BlobStore {
    /// Opens (creating if needed) the blob directory.
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join("tmp"))
            .map_err(|e| Error::internal("creating blob dir", e))?;
        // Leftover temp files are writes that never completed: nothing refers to them.
        if let Ok(entries) = fs::read_dir(root.join("tmp")) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            tmp_seq: AtomicU64::new(0),
        })
    }

    fn path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash_hex(hash);
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    /// Stores `data` durably and returns its hash. Storing existing content is a no-op.
    ///
    /// Blocking (fsync); call from a blocking context.
    pub fn put(&self, data: &[u8]) -> Result<BlobHash> {
        let hash = hash_of(data);
        let path = self.path(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root);
        let new_dir = !dir.exists();
        if new_dir {
            fs::create_dir_all(dir).map_err(|e| io_error("creating blob dir", e))?;
        }
        let tmp = self.root.join("tmp").join(format!(
            "{}-{}",
            std::process::id(),
            self.tmp_seq.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = File::create(&tmp).map_err(|e| io_error("creating blob", e))?;
        file.write_all(data)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("writing blob", e))?;
        fs::rename(&tmp, &path).map_err(|e| io_error("renaming blob", e))?;
        sync_dir(dir)?;
        if new_dir {
            sync_dir(&self.root)?;
        }
        Ok(hash)
    }

    /// Reads a blob whole.
    pub fn get(&self, hash: &BlobHash) -> Result<Vec<u8>> {
        fs::read(self.path(hash)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::new(
                ErrorKind::Internal,
                format!("blob {} is missing", hash_hex(hash)),
            ),
            _ => io_error("reading blob", e),
        })
    }

    /// Whether a blob file exists.
    pub fn exists(&self, hash: &BlobHash) -> bool {
        self.path(hash).exists()
    }

    /// Deletes a blob file (the caller checked that nothing refers to it).
    pub fn remove(&self, hash: &BlobHash) -> Result<()> {
        match fs::remove_file(self.path(hash)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("removing blob", e)),
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("syncing blob dir", e))
}

fn io_error(context: &str, e: std::io::Error) -> Error {
    // A full or read-only disk is a condition to retry later, not a bug.
    let kind = match e.raw_os_error() {
        Some(28) | Some(30) | Some(122) => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("{context}: {e}"))
}
