//! Physical deletion behind the logical deletes (DESIGN.md "Durability and throughput").
//!
//! Expunge and mailbox deletion only make messages vanish and free quota; they leave work here:
//! - the purge queue (0x32): one entry per blob reference to drop. Dropping the last reference
//!   clears the reference counter and any inline body in the same commit, and deletes the file
//!   afterwards, under the blob gate, after checking again that nothing refers to it, so
//!   identical bytes delivered meanwhile never lose their body;
//! - dropped mailboxes (0x13): their rows, modseq entries and tombstones are removed a batch at
//!   a time, each row's reference handed to the purge queue.
//!
//! Queue entries carry the time they were queued; the background purger leaves them alone for
//! a grace period (60 s by default, [`MailStore::set_purge_grace`]), so a session that still shows an expunged message can read it.
//!
//! The queue lives in the store, so a crash loses no work: the purger resumes at start. It runs
//! a batch at a time, paced by a token bucket so a mass delete never crowds out deliveries
//! (issue 4 will tune the rate and yield to foreground load).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::messages::blob_of;
use super::{MailStore, WeakStore, scan_all};
use crate::blob::BlobHash;
use crate::error::Result;
use crate::keys;
use crate::records::{MessageRecord, decode};

/// Entries (queue items or rows) handled per commit.
const PURGE_BATCH: usize = 500;
/// Sustained entries per second the background purger may handle.
const PURGE_RATE: f64 = 5_000.0;
/// How often an idle purger looks for work nobody woke it for (left by a crash, say, or past
/// its grace period).
const IDLE_POLL: Duration = Duration::from_secs(30);
/// How long an expunged body stays readable before the background purger removes it: a session
/// that has not yet been told of the expunge (RFC 9051 §7.5.1 forbids telling it during a FETCH
/// by sequence number) can still fetch it, as RFC 2180 §4.1.1 suggests.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// The blob hash of a purge queue value: the hash, then (since format 2) when it was queued.
pub(crate) fn queued_hash(value: &[u8]) -> Result<BlobHash, ()> {
    value
        .get(..32)
        .filter(|_| value.len() == 32 || value.len() == 40)
        .and_then(|h| h.try_into().ok())
        .ok_or(())
}

/// When a purge queue entry was queued (seconds since the epoch); 0 for entries without a time.
fn queued_at(value: &[u8]) -> i64 {
    value
        .get(32..40)
        .and_then(|t| t.try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

/// Starts the background purger on the current tokio runtime, if there is one; it ends when the
/// store is dropped.
pub(super) fn spawn(weak: WeakStore) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let wake = weak.purge_wake.clone();
    handle.spawn(run(weak, wake));
}

async fn run(weak: WeakStore, wake: Arc<tokio::sync::Notify>) {
    let mut bucket = TokenBucket::new(PURGE_RATE, PURGE_BATCH as f64);
    loop {
        let done = {
            let Some(store) = weak.upgrade() else {
                return;
            };
            let grace = store.purge_grace.load(std::sync::atomic::Ordering::Relaxed);
            match store
                .purge_step(PURGE_BATCH, Some(Duration::from_secs(grace)))
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "purge batch failed; retrying later");
                    0
                }
            }
        };
        if done == 0 {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        }
        tokio::time::sleep(bucket.take(done as f64)).await;
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Spends `n` tokens and returns how long to wait before the balance is non-negative.
    fn take(&mut self, n: f64) -> Duration {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - n;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

impl MailStore {
    /// Sets how long expunged bodies stay readable before the background purger removes them
    /// (default 60 s); the next batch uses it.
    pub fn set_purge_grace(&self, grace: Duration) {
        self.purge_grace
            .store(grace.as_secs(), std::sync::atomic::Ordering::Relaxed);
        self.purge_wake.notify_one();
    }

    /// Runs purge batches until nothing is left: dropped mailboxes' rows, then the purge queue.
    /// For maintenance and tests; the background purger does the same, paced.
    pub async fn purge_now(&self) -> Result<()> {
        while self.purge_step(PURGE_BATCH, None).await? > 0 {}
        Ok(())
    }

    /// One bounded step of purge work; returns how many entries it handled (0 = idle).
    /// Queue entries younger than `grace` wait.
    pub(crate) async fn purge_step(&self, max: usize, grace: Option<Duration>) -> Result<usize> {
        let _turn = self.purge_turn.lock().await;
        let dropped = self.sweep_dropped_mailbox(max).await?;
        let queued = self.drain_purge_queue(max, grace).await?;
        Ok(dropped + queued)
    }

    /// Removes up to `max` rows of one dropped mailbox, handing their references to the queue;
    /// once it is empty, its index entries and the dropped marker go.
    async fn sweep_dropped_mailbox(&self, max: usize) -> Result<usize> {
        let (account, mailbox, rows) = {
            let view = self.read()?;
            let page = view.scan(&keys::all_dropped_mailboxes(), 1)?;
            let Some((key, _)) = page.entries.first() else {
                return Ok(0);
            };
            let Some((account, mailbox)) = keys::account_mailbox_parts(key) else {
                return Ok(0);
            };
            let rows = view.scan(&keys::messages(account, mailbox), max)?.entries;
            (account, mailbox, rows)
        };
        let n = rows.len();
        self.write(move |tx| {
            if rows.is_empty() {
                tx.clear_range(keys::mailbox_modseqs(account, mailbox));
                tx.clear_range(keys::mailbox_tombstones(account, mailbox));
                tx.clear(keys::dropped_mailbox(account, mailbox));
                return Ok(());
            }
            for (key, _) in rows {
                // Read inside the unit: an account removal may have taken the row meanwhile.
                let Some(value) = tx.get(&key)? else {
                    continue;
                };
                let record: MessageRecord = decode(&value)?;
                tx.clear(key);
                tx.clear(keys::modseq(account, mailbox, record.modseq));
                super::rows::enqueue_purge(tx, &blob_of(&record)?)?;
            }
            Ok(())
        })
        .await?;
        Ok(n.max(1))
    }

    /// Drops up to `max` queued references; deletes the files nothing refers to any more.
    async fn drain_purge_queue(&self, max: usize, grace: Option<Duration>) -> Result<usize> {
        let mut entries = self.read()?.scan(&keys::all_purge(), max)?.entries;
        if let Some(grace) = grace {
            // Ids grow with time, so the first entry still in its grace period ends the batch.
            let cutoff = super::now().saturating_sub(grace.as_secs() as i64);
            if let Some(young) = entries.iter().position(|(_, v)| queued_at(v) > cutoff) {
                entries.truncate(young);
            }
        }
        if entries.is_empty() {
            return Ok(0);
        }
        let n = entries.len();
        let unreferenced = self
            .write(move |tx| {
                let mut out: Vec<BlobHash> = Vec::new();
                for (key, _) in entries {
                    let Some(value) = tx.get(&key)? else {
                        continue;
                    };
                    tx.clear(key);
                    let Ok(hash) = queued_hash(&value) else {
                        tracing::error!("malformed purge queue entry dropped");
                        continue;
                    };
                    tx.add(keys::blob_refs(&hash), -1);
                    if tx.counter(&keys::blob_refs(&hash))? <= 0 {
                        let inline = tx.get(&keys::blob_inline(&hash))?.is_some();
                        tx.clear(keys::blob_refs(&hash));
                        tx.clear(keys::blob_inline(&hash));
                        tx.clear(keys::blob_structure(&hash));
                        if !inline && !out.contains(&hash) {
                            out.push(hash);
                        }
                    }
                }
                Ok(out)
            })
            .await?;
        if !unreferenced.is_empty() {
            self.remove_unreferenced_files(unreferenced).await?;
        }
        Ok(n)
    }

    /// Deletes blob files whose reference counter is gone, rechecked under the exclusive gate so
    /// no delivery of the same bytes is between writing the file and committing its rows.
    pub(crate) async fn remove_unreferenced_files(&self, hashes: Vec<BlobHash>) -> Result<()> {
        let _gate = self.blob_gate.clone().write_owned().await;
        let still_unreferenced: Vec<BlobHash> = {
            let view = self.read()?;
            let mut out = Vec::new();
            for hash in hashes {
                if view.get(&keys::blob_refs(&hash))?.is_none() {
                    out.push(hash);
                }
            }
            out
        };
        self.blocking(move |blobs| {
            for hash in still_unreferenced {
                blobs.remove(&hash)?;
            }
            Ok(())
        })
        .await
    }

    /// Entries waiting in the purge queue and dropped mailboxes waiting for the sweep (the
    /// purge backlog metric). Reads the whole queue: for monitoring, not hot paths.
    pub fn purge_backlog(&self) -> Result<(u64, u64)> {
        let view = self.read()?;
        let queued = scan_all(&*view, &keys::all_purge())?.len() as u64;
        let dropped = scan_all(&*view, &keys::all_dropped_mailboxes())?.len() as u64;
        Ok((queued, dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_makes_a_burst_wait() {
        let mut bucket = TokenBucket::new(1000.0, 100.0);
        assert_eq!(bucket.take(100.0), Duration::ZERO);
        let wait = bucket.take(500.0);
        assert!(wait >= Duration::from_millis(490) && wait <= Duration::from_millis(510));
    }
}

#[cfg(test)]
mod grace_tests {
    use std::time::Duration;

    use crate::MailStore;

    #[tokio::test]
    async fn expunged_bodies_outlive_the_grace_period_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        store
            .add_domain("example.test", 0, 0)
            .await
            .expect("domain");
        store
            .add_account("a@example.test", "pw", 0)
            .await
            .expect("account");
        let account = store.account("a@example.test").expect("account").record.id;
        let body = b"Subject: g\r\n\r\ngrace\r\n".to_vec();
        store
            .append(
                account,
                "INBOX",
                body.clone(),
                vec!["\\Deleted".into()],
                None,
            )
            .await
            .expect("append");
        let view = store.select(account, "INBOX").expect("select");
        let blob = view.messages[0].blob;
        store
            .expunge(account, view.id, None)
            .await
            .expect("expunge");
        let step = store
            .purge_step(100, Some(Duration::from_secs(60)))
            .await
            .expect("step");
        assert_eq!(step, 0, "nothing is old enough yet");
        assert_eq!(store.message_bytes(&blob).await.expect("still there"), body);
        store
            .purge_now()
            .await
            .expect("purge now ignores the grace");
        assert!(
            store.message_bytes(&blob).await.is_err(),
            "gone after the purge"
        );
        assert!(store.check().await.expect("check").is_empty());
    }
}
