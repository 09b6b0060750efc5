//! Readiness probes: does the store answer, and can the data directory still be written?
//!
//! A disk that went read-only (ext4 remounts itself `ro` after an I/O error) keeps serving reads,
//! so "the store answers" alone misses it. A background task writes and fsyncs a small file in
//! the data directory every [`INTERVAL`]; /ready fails when the last write failed, took longer
//! than [`SLOW`], or is older than [`STALE`] (the task itself is stuck in the kernel). That makes
//! a read-only or hung disk turn the node not-ready within 10 s.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use yubin_store::MailStore;

/// How often the data directory is written.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// A probe write slower than this counts as failed.
pub const SLOW: Duration = Duration::from_secs(5);
/// A last probe older than this means the prober is stuck.
pub const STALE: Duration = Duration::from_secs(8);
/// The store must answer a read within this.
pub const STORE_DEADLINE: Duration = Duration::from_secs(2);

/// The probe file, in the data directory.
const FILE: &str = ".ready-probe";

#[derive(Debug, Clone)]
struct Last {
    at: Instant,
    result: Result<Duration, String>,
}

/// The disk prober's latest result, shared with the HTTP handlers.
pub struct DiskProbe {
    path: PathBuf,
    last: Mutex<Option<Last>>,
}

impl DiskProbe {
    /// A prober for `data_dir`; [`DiskProbe::spawn`] starts it.
    pub fn new(data_dir: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            path: data_dir.join(FILE),
            last: Mutex::new(None),
        })
    }

    /// Starts probing every [`INTERVAL`] on the current runtime.
    pub fn spawn(self: &Arc<Self>) {
        let probe = self.clone();
        tokio::spawn(async move {
            loop {
                probe.run_once().await;
                tokio::time::sleep(INTERVAL).await;
            }
        });
    }

    async fn run_once(&self) {
        let path = self.path.clone();
        let started = Instant::now();
        let write = tokio::task::spawn_blocking(move || write_and_sync(&path));
        let result = match tokio::time::timeout(SLOW, write).await {
            Ok(Ok(Ok(()))) => Ok(started.elapsed()),
            Ok(Ok(Err(e))) => Err(format!("writing {FILE} in the data directory: {e}")),
            Ok(Err(e)) => Err(format!("probe task failed: {e}")),
            Err(_) => Err(format!(
                "writing {FILE} in the data directory took over {} s",
                SLOW.as_secs()
            )),
        };
        if let Err(e) = &result {
            tracing::warn!(error = %e, "data directory is not writable");
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Last {
                at: Instant::now(),
                result,
            });
        }
    }

    /// `Ok` when the last probe succeeded recently, else why not.
    pub fn status(&self) -> Result<(), String> {
        let last = self
            .last
            .lock()
            .map_err(|_| "disk probe state poisoned".to_string())?
            .clone();
        match last {
            None => Err("the data directory has not been probed yet".into()),
            Some(l) if l.at.elapsed() > STALE => Err(format!(
                "the last data directory probe is {} s old (stuck on the disk?)",
                l.at.elapsed().as_secs()
            )),
            Some(Last { result: Err(e), .. }) => Err(e),
            Some(Last { result: Ok(_), .. }) => Ok(()),
        }
    }
}

fn write_and_sync(path: &std::path::Path) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let stamp = format!("{:?}\n", std::time::SystemTime::now());
    file.write_all(stamp.as_bytes())?;
    file.sync_all()
}

/// `Ok` when the store answers a read within [`STORE_DEADLINE`].
pub async fn store_answers(store: &MailStore) -> Result<(), String> {
    let store = store.clone();
    let read = tokio::task::spawn_blocking(move || store.list_domains().map(|_| ()));
    match tokio::time::timeout(STORE_DEADLINE, read).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("store read failed: {e}")),
        Ok(Err(e)) => Err(format!("store read task failed: {e}")),
        Err(_) => Err(format!(
            "store did not answer within {} s",
            STORE_DEADLINE.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writable_directory_is_ready_a_missing_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let probe = DiskProbe::new(dir.path().to_path_buf());
        assert!(probe.status().is_err(), "not probed yet");
        probe.run_once().await;
        assert_eq!(probe.status(), Ok(()));
        let gone = DiskProbe::new(dir.path().join("no/such/dir"));
        gone.run_once().await;
        let why = gone.status().expect_err("cannot write");
        assert!(why.contains(FILE), "{why}");
    }
}
