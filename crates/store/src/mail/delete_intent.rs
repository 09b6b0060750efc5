//! POP3's commit (RFC 1939 §6, the UPDATE state): a logical delete of exactly the given UIDs,
//! all or nothing even across a crash.
//!
//! Implementation notes:
//! - The delete itself is expunge's batch step (`messages::expunge_unit`): rows go, tombstones
//!   stay, quota is freed, bodies go to the purge queue.
//! - Up to [`BATCH`] UIDs are one commit. More would make one transaction grow with the mailbox
//!   (200,000 messages is several times a backend's ~10 MB limit), so the UIDs are first written
//!   as a durable intent (`keys.rs` 0x23): chunks of [`BATCH`] UIDs (4 kB values), then the
//!   record in the commit of the last chunk. Each chunk is then applied in its own commit that
//!   also clears it, and the last clears the record. `MailStore::open` finishes every intent
//!   with a record and discards chunks without one (an intent that was never complete).
//! - The intent is applied by a spawned task, so a session dropped half-way (client gone) does
//!   not leave it half done until the next start.
//! - UIDs gone meanwhile (expunged or moved by IMAP) are skipped; a mailbox or account removed
//!   meanwhile ends the intent, since its removal took the messages anyway.

use std::time::Duration;

use super::messages::{BATCH, Expunge, expunge_unit, sorted_unique};
use super::{MailStore, rows, scan_all};
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{DeleteIntentRecord, decode, encode};

/// Chunks written per commit while recording an intent: 256 × 4 kB, far below a transaction's
/// limit; the usual intent (up to 256,000 UIDs) is one commit.
const CHUNKS_PER_COMMIT: usize = 256;
/// UIDs per intent chunk, each applied in its own commit. Smaller than [`BATCH`]: a big commit
/// makes readers wait while the engine writes its dirty pages out, so a mass delete goes in
/// short steps that let other sessions' reads through (measured with the mass-delete test).
const INTENT_CHUNK: usize = 250;
/// How long a chunk is retried while the writer is saturated (`Unavailable`) before giving up;
/// the intent stays and the next start finishes it.
const BUSY_RETRY: Duration = Duration::from_secs(5);

impl MailStore {
    /// Deletes exactly `uids` from the mailbox (POP3 DELE, then QUIT), whatever their flags:
    /// rows removed with tombstones (IMAP sessions see them expunged), quota freed at once,
    /// bodies left to the purger. UIDs already gone are skipped. Either every UID is deleted or
    /// (after a crash before the intent was recorded) none is; a crash half-way is finished
    /// when the store is opened again. Returns the UIDs deleted, ascending.
    ///
    /// Errors: `NotFound` (mailbox gone before the delete started), `Unavailable` (writer
    /// saturated; an intent already recorded is finished at the next start), `Internal`.
    pub async fn delete_messages(
        &self,
        account: u64,
        mailbox_id: u32,
        uids: &[u32],
    ) -> Result<Vec<u32>> {
        let wanted = sorted_unique(uids);
        let lookup = move |store: &MailStore| {
            let view = store.read()?;
            rows::mailbox_by_id(&*view, account, mailbox_id)?;
            let mut present = Vec::with_capacity(wanted.len());
            for uid in wanted {
                if view
                    .get(&keys::message(account, mailbox_id, uid))?
                    .is_some()
                {
                    present.push(uid);
                }
            }
            Ok(present)
        };
        // One read per UID: a mass delete's (200,000 reads, a few hundred ms) must not hold an
        // async worker.
        let present: Vec<u32> = if uids.len() <= BATCH {
            self.read_small(lookup).await?
        } else {
            self.off_workers(lookup).await?
        };
        if present.is_empty() {
            return Ok(Vec::new());
        }
        let removed = if present.len() <= BATCH {
            self.write(move |tx| expunge_unit(tx, account, mailbox_id, &present, Expunge::All))
                .await?
        } else {
            let store = self.clone();
            tokio::spawn(async move {
                let (id, record) = store
                    .record_delete_intent(account, mailbox_id, present)
                    .await?;
                store.apply_delete_intent(id, &record).await
            })
            .await
            .map_err(|e| Error::internal("delete task", e))??
        };
        self.expunged(account, mailbox_id, &removed);
        Ok(removed)
    }

    /// Writes the intent to delete `uids` (ascending, more than [`BATCH`]); it takes effect with
    /// the commit that writes its record.
    async fn record_delete_intent(
        &self,
        account: u64,
        mailbox: u32,
        uids: Vec<u32>,
    ) -> Result<(u64, DeleteIntentRecord)> {
        let chunks: Vec<(u32, Vec<u8>)> = uids
            .chunks(INTENT_CHUNK)
            .enumerate()
            .map(|(n, c)| (n as u32, c.iter().flat_map(|u| u.to_be_bytes()).collect()))
            .collect();
        let record = DeleteIntentRecord {
            account,
            mailbox,
            chunks: chunks.len() as u32,
        };
        let groups: Vec<Vec<(u32, Vec<u8>)>> = chunks
            .chunks(CHUNKS_PER_COMMIT)
            .map(<[_]>::to_vec)
            .collect();
        let count = groups.len();
        let mut id: Option<u64> = None;
        for (i, group) in groups.into_iter().enumerate() {
            let last = (i + 1 == count).then(|| record.clone());
            let known = id;
            let written = self
                .write(move |tx| {
                    let id = match known {
                        Some(id) => id,
                        None => {
                            tx.add(keys::sequence("intent"), 1);
                            tx.counter(&keys::sequence("intent"))? as u64
                        }
                    };
                    for (n, bytes) in group {
                        tx.set(keys::delete_intent_chunk(id, n), bytes);
                    }
                    if let Some(record) = last {
                        tx.set(keys::delete_intent(id), encode(&record)?);
                    }
                    Ok(id)
                })
                .await;
            match written {
                Ok(written) => id = Some(written),
                Err(e) => {
                    if let Some(id) = id {
                        // Best effort; chunks without a record are discarded at the next start.
                        let _ = self.discard_delete_intent(id).await;
                    }
                    return Err(e);
                }
            }
        }
        let id = id.ok_or_else(|| Error::new(ErrorKind::Internal, "empty delete intent"))?;
        Ok((id, record))
    }

    /// Applies every chunk still there of intent `id`, in order. Returns the UIDs deleted.
    async fn apply_delete_intent(&self, id: u64, record: &DeleteIntentRecord) -> Result<Vec<u32>> {
        let mut removed = Vec::new();
        for chunk in 0..record.chunks {
            let step = std::time::Instant::now();
            match self.apply_intent_chunk(id, record, chunk).await {
                Ok(done) => {
                    removed.extend(done);
                    // Half the writer's time at most: a mass delete that ran its steps back to
                    // back saturated a core and doubled other sessions' tail latency.
                    if chunk + 1 < record.chunks {
                        tokio::time::sleep(step.elapsed()).await;
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    // The mailbox or account went meanwhile, and its messages with it.
                    self.discard_delete_intent(id).await?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// One chunk of an intent in one commit that also clears the chunk (and, for the last, the
    /// record). A chunk already cleared is a no-op, so applying twice is harmless. Committed as
    /// background work (`priority.rs`): the delete is already durable as the intent, and one
    /// account's mass delete must yield the cores to everyone else's sessions.
    pub(crate) async fn apply_intent_chunk(
        &self,
        id: u64,
        record: &DeleteIntentRecord,
        chunk: u32,
    ) -> Result<Vec<u32>> {
        let (account, mailbox) = (record.account, record.mailbox);
        let last = chunk + 1 == record.chunks;
        let started = std::time::Instant::now();
        loop {
            let outcome = self
                .write_background(move |tx| {
                    let key = keys::delete_intent_chunk(id, chunk);
                    let done = match tx.get(&key)? {
                        Some(bytes) => {
                            let uids: Vec<u32> = bytes
                                .chunks_exact(4)
                                .filter_map(|b| b.try_into().ok().map(u32::from_be_bytes))
                                .collect();
                            let done = expunge_unit(tx, account, mailbox, &uids, Expunge::All)?;
                            tx.clear(key);
                            done
                        }
                        None => Vec::new(),
                    };
                    if last {
                        tx.clear(keys::delete_intent(id));
                    }
                    Ok(done)
                })
                .await;
            match outcome {
                Err(e) if e.kind() == ErrorKind::Unavailable && started.elapsed() < BUSY_RETRY => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    async fn discard_delete_intent(&self, id: u64) -> Result<()> {
        self.write(move |tx| {
            tx.clear_range(keys::delete_intent_all(id));
            Ok(())
        })
        .await
    }

    /// Finishes the delete intents a crash interrupted and discards incomplete ones; run by
    /// `open` before anyone can read the mailboxes. Returns how many intents it finished.
    pub(crate) async fn finish_delete_intents(&self) -> Result<usize> {
        let (complete, incomplete) = {
            let view = self.read()?;
            let mut complete: Vec<(u64, DeleteIntentRecord)> = Vec::new();
            let mut incomplete: Vec<u64> = Vec::new();
            for (key, value) in scan_all(&*view, &keys::all_delete_intents())? {
                let Some((id, is_record)) = keys::delete_intent_parts(&key) else {
                    continue;
                };
                if is_record {
                    complete.push((id, decode(&value)?));
                } else if complete.last().is_none_or(|(c, _)| *c != id)
                    && incomplete.last() != Some(&id)
                {
                    // The record sorts before its chunks, so a chunk whose id has no record
                    // just before it belongs to an intent that was never complete.
                    incomplete.push(id);
                }
            }
            (complete, incomplete)
        };
        for id in incomplete {
            self.discard_delete_intent(id).await?;
        }
        let finished = complete.len();
        for (id, record) in complete {
            let removed = self.apply_delete_intent(id, &record).await?;
            tracing::info!(
                account = record.account,
                mailbox = record.mailbox,
                deleted = removed.len(),
                "finished a delete interrupted by a restart"
            );
            self.purge_wake.notify_one();
        }
        Ok(finished)
    }

    /// Whether intent `id` still has its record (for tests).
    #[cfg(test)]
    fn delete_intent_left(&self, id: u64) -> Result<bool> {
        let view = self.read()?;
        Ok(super::get_record::<DeleteIntentRecord>(&*view, &keys::delete_intent(id))?.is_some())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::MailboxChanged;

    const ADDRESS: &str = "pop@example.test";

    /// A store with one account whose INBOX holds `messages` distinct small messages: the
    /// store, the account id and INBOX's id.
    pub(crate) async fn store_with(
        dir: &std::path::Path,
        messages: usize,
    ) -> (MailStore, u64, u32) {
        let store = MailStore::open(dir).await.expect("open");
        store
            .add_domain("example.test", 0, 0)
            .await
            .expect("domain");
        store.add_account(ADDRESS, "pw", 0).await.expect("account");
        let account = store.account(ADDRESS).expect("account").record.id;
        let mut left = messages;
        while left > 0 {
            let n = left.min(5000);
            let batch = (0..n)
                .map(|i| {
                    let body = format!("Subject: m{i}\r\n\r\nbody {left} {i}\r\n");
                    (body.into_bytes(), vec![], Some(1000))
                })
                .collect();
            store
                .append_many(account, "INBOX", batch)
                .await
                .expect("append");
            left -= n;
        }
        let inbox = store.select(account, "INBOX").expect("select").id;
        (store, account, inbox)
    }

    /// INBOX's UIDs.
    pub(crate) fn uids(store: &MailStore, account: u64) -> Vec<u32> {
        let view = store.select(account, "INBOX").expect("select");
        view.messages.iter().map(|m| m.uid).collect()
    }

    fn intent_keys(store: &MailStore) -> usize {
        let view = store.read().expect("read");
        scan_all(&*view, &keys::all_delete_intents())
            .expect("scan")
            .len()
    }

    async fn assert_consistent(store: &MailStore) {
        assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
    }

    #[tokio::test]
    async fn deletes_exactly_the_given_uids_whatever_their_flags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, account, inbox) = store_with(dir.path(), 5).await;
        let before = store.account(ADDRESS).expect("account");
        let all = uids(&store, account);
        let modseq = store
            .select(account, "INBOX")
            .expect("select")
            .highest_modseq;
        let mut bus = store.subscribe_changes();
        // UID 99 never existed; neither carries \Deleted.
        let removed = store
            .delete_messages(account, inbox, &[all[3], all[1], 99, all[1]])
            .await
            .expect("delete");
        assert_eq!(removed, vec![all[1], all[3]]);
        assert_eq!(uids(&store, account), vec![all[0], all[2], all[4]]);
        let after = store.account(ADDRESS).expect("account");
        assert_eq!(after.messages, before.messages - 2, "quota freed at once");
        assert!(after.used < before.used);
        let changes = store.changes(account, inbox, modseq).expect("changes");
        assert_eq!(
            changes.vanished,
            vec![all[1], all[3]],
            "tombstones like expunge"
        );
        assert_eq!(
            bus.try_recv().expect("published"),
            MailboxChanged {
                account,
                mailbox: inbox
            }
        );
        // Deleting them again (an IMAP expunge got there first) is not an error.
        let again = store
            .delete_messages(account, inbox, &[all[1], all[3]])
            .await
            .expect("delete again");
        assert!(again.is_empty());
        assert_consistent(&store).await;
        store.purge_now().await.expect("purge");
        assert_eq!(store.purge_backlog().expect("backlog"), (0, 0));
        assert_consistent(&store).await;
    }

    #[tokio::test]
    async fn a_large_delete_goes_through_an_intent_and_leaves_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, account, inbox) = store_with(dir.path(), 2_600).await;
        let all = uids(&store, account);
        let removed = store
            .delete_messages(account, inbox, &all[..2_500])
            .await
            .expect("delete");
        assert_eq!(removed, all[..2_500].to_vec());
        assert_eq!(uids(&store, account), all[2_500..].to_vec());
        assert_eq!(intent_keys(&store), 0, "the intent is cleared");
        assert_consistent(&store).await;
    }

    #[tokio::test]
    async fn a_crash_half_way_is_finished_on_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, account, inbox) = store_with(dir.path(), 3_500).await;
        let all = uids(&store, account);
        let wanted: Vec<u32> = all.iter().copied().filter(|u| u % 7 != 0).collect();
        let (id, record) = store
            .record_delete_intent(account, inbox, wanted.clone())
            .await
            .expect("intent");
        assert_eq!(record.chunks as usize, wanted.len().div_ceil(INTENT_CHUNK));
        // The first chunk is applied, then the process "dies".
        store
            .apply_intent_chunk(id, &record, 0)
            .await
            .expect("chunk 0");
        // Meanwhile IMAP expunged one that is still in the intent.
        let moved = wanted[2_000];
        store
            .write(move |tx| expunge_unit(tx, account, inbox, &[moved], Expunge::All))
            .await
            .expect("expunge");
        drop(store);
        let store = reopen(dir.path()).await;
        assert!(!store.delete_intent_left(id).expect("read"));
        assert_eq!(intent_keys(&store), 0);
        let left: Vec<u32> = all.iter().copied().filter(|u| u % 7 == 0).collect();
        assert_eq!(uids(&store, account), left);
        assert_consistent(&store).await;
    }

    #[tokio::test]
    async fn an_intent_without_its_record_is_discarded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, account, _) = store_with(dir.path(), 3).await;
        let all = uids(&store, account);
        let bytes: Vec<u8> = all.iter().flat_map(|u| u.to_be_bytes()).collect();
        store
            .write(move |tx| {
                tx.set(keys::delete_intent_chunk(77, 0), bytes);
                Ok(())
            })
            .await
            .expect("write a partial intent");
        assert_eq!(store.finish_delete_intents().await.expect("finish"), 0);
        assert_eq!(intent_keys(&store), 0);
        assert_eq!(uids(&store, account), all, "nothing deleted");
    }

    #[tokio::test]
    async fn a_mailbox_deleted_meanwhile_ends_the_intent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, account, _) = store_with(dir.path(), 0).await;
        store
            .create_mailbox(account, "Old", None)
            .await
            .expect("create");
        let id = store.select(account, "Old").expect("select").id;
        let batch = (0..1_200)
            .map(|i| {
                (
                    format!("Subject: {i}\r\n\r\nx\r\n").into_bytes(),
                    vec![],
                    None,
                )
            })
            .collect();
        store
            .append_many(account, "Old", batch)
            .await
            .expect("append");
        let all: Vec<u32> = store
            .select(account, "Old")
            .expect("select")
            .messages
            .iter()
            .map(|m| m.uid)
            .collect();
        let (intent, record) = store
            .record_delete_intent(account, id, all)
            .await
            .expect("intent");
        store
            .delete_mailbox(account, "Old")
            .await
            .expect("delete mailbox");
        assert!(
            store
                .apply_delete_intent(intent, &record)
                .await
                .expect("apply")
                .is_empty()
        );
        assert_eq!(intent_keys(&store), 0);
        store.purge_now().await.expect("purge");
        assert_consistent(&store).await;
    }

    /// Opens the store again once the previous handle's writer has let go of the file.
    async fn reopen(dir: &std::path::Path) -> MailStore {
        for _ in 0..100 {
            match MailStore::open(dir).await {
                Ok(store) => return store,
                Err(e) if e.kind() == ErrorKind::Unavailable => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("reopen failed: {e}"),
            }
        }
        panic!("the store stayed locked");
    }

    /// `n` single-recipient deliveries to INBOX, 64 at a time (group commits), timed.
    async fn deliveries(store: &MailStore, n: usize) {
        let address = yubin_proto::Address::parse(ADDRESS).expect("valid address");
        let crate::Resolved::Accept(to) = store.resolve(&address, 0).expect("resolve") else {
            panic!("{ADDRESS} is not deliverable");
        };
        let started = std::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            if tasks.len() == 64 {
                tasks.join_next().await.expect("a task").expect("joined");
            }
            let store = store.clone();
            let to = to.clone();
            tasks.spawn(async move {
                let delivery = crate::Delivery {
                    message: format!("Subject: d{i}\r\n\r\ndelivered {i}\r\n").into_bytes(),
                    mail_from: "sender@remote.test".into(),
                    recipients: vec![to],
                };
                let outcome = store.deliver(delivery).await.expect("deliver");
                assert!(outcome.results.iter().all(Result::is_ok));
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("joined");
        }
        let took = started.elapsed();
        println!(
            "{n} deliveries, 64 in flight: {took:?} ({:.0}/s)",
            n as f64 / took.as_secs_f64()
        );
    }

    /// 200,000 appended and 4,000 delivered messages deleted in one POP3 commit. Run with
    /// `cargo test --release -p yubin-store -- --ignored --nocapture delete_200k`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: minutes in debug builds"]
    async fn delete_200k() {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = std::time::Instant::now();
        let (store, account, inbox) = store_with(dir.path(), 200_000).await;
        println!(
            "append_many of 200,000 (5,000 per commit): {:?}",
            started.elapsed()
        );
        deliveries(&store, 4_000).await;
        let all = uids(&store, account);
        let started = std::time::Instant::now();
        let removed = store
            .delete_messages(account, inbox, &all)
            .await
            .expect("delete");
        let took = started.elapsed();
        assert_eq!(removed.len(), 204_000);
        println!("delete_messages of 204,000: {took:?}");
        // How long one purge batch holds the writer, by batch size.
        for size in [100, 250, 500, 1000] {
            let started = std::time::Instant::now();
            for _ in 0..20 {
                store.purge_step(size, None).await.expect("purge step");
            }
            let batch = started.elapsed() / 20;
            println!(
                "purge batch of {size}: {batch:?} ({:.0} us per entry)",
                batch.as_secs_f64() * 1e6 / size as f64
            );
        }
        let started = std::time::Instant::now();
        store.purge_now().await.expect("purge");
        println!("purge_now of the rest: {:?}", started.elapsed());
        assert_consistent(&store).await;
    }
}
