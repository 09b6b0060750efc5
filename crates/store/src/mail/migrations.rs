//! Format migrations, one function per version step, run by `MailStore::migrate`: a [`Step::Once`]
//! inside one commit with the version bump, a [`Step::Chunked`] one bounded batch per commit
//! until it reports [`Progress::Done`], the version bump in the commit of the last batch.

use serde::Deserialize;

use super::tx_scan_all;
use crate::commit::Tx;
use crate::error::Result;
use crate::keys::{self, BlobKind};
use crate::records::{AccountRecord, MailboxRecord, decode, encode};

/// One version step.
#[derive(Clone, Copy)]
pub(super) enum Step {
    /// Rewrites everything in one commit; for steps whose work is small or bounded by design.
    Once(fn(&mut Tx<'_>) -> Result<()>),
    /// Rewrites a bounded batch per commit and is called again until it reports `Done`, so a
    /// large store is never one giant transaction. Each batch must leave the store in a state
    /// the next batch (in this process or after a crash and reopen) continues from; old and new
    /// layouts may coexist until the last batch, since nothing else reads the store meanwhile.
    Chunked(fn(&mut Tx<'_>) -> Result<Progress>),
}

/// What a batch of a [`Step::Chunked`] left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// More batches follow.
    More,
    /// Nothing of the old layout is left once this batch commits.
    Done,
}

/// The part of a format-1 mailbox record that moved elsewhere.
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1Mailbox {
    subscribed: bool,
}

/// Format 1 -> 2: subscriptions leave `MailboxRecord` for their own key family; every mailbox
/// gets its by-id entry; the UIDVALIDITY sequence starts above every value already handed out;
/// sessions have claimed no message as `\Recent` yet.
pub(super) fn v1_subscriptions_and_ids(tx: &mut Tx<'_>) -> Result<()> {
    // Units scan before they write: collect everything first.
    let mut mailboxes = Vec::new();
    for (_, value) in tx_scan_all(tx, &keys::accounts())? {
        let account: AccountRecord = decode(&value)?;
        for (k, v) in tx_scan_all(tx, &keys::mailboxes(account.id))? {
            let Some(name) = keys::mailbox_name_of(account.id, &k) else {
                continue;
            };
            let old: V1Mailbox = serde_json::from_slice(&v)
                .map_err(|e| crate::error::Error::internal("decoding a format-1 mailbox", e))?;
            let record: MailboxRecord = decode(&v)?;
            mailboxes.push((account.id, name.to_string(), old.subscribed, record));
        }
    }
    let mut highest_validity = 0i64;
    for (account, name, subscribed, mut record) in mailboxes {
        if subscribed {
            tx.set(keys::subscription(account, &name), Vec::new());
        }
        tx.set(
            keys::mailbox_by_id(account, record.id),
            name.as_bytes().to_vec(),
        );
        highest_validity = highest_validity.max(i64::from(record.uidvalidity));
        record.recent_uid = record.recent_uid.max(1);
        tx.set(keys::mailbox(account, &name), encode(&record)?);
    }
    let last = tx.counter(&keys::sequence("uidvalidity"))?;
    if highest_validity > last {
        tx.add(keys::sequence("uidvalidity"), highest_validity - last);
    }
    Ok(())
}

/// Format 2 -> 3: message rows are written in a binary form from now on (`records.rs`); rows
/// stored as JSON stay readable and are rewritten as they change, so nothing is rewritten here.
/// The version bump keeps an older build, which reads only JSON, from opening the store.
pub(super) fn v2_binary_message_rows(_tx: &mut Tx<'_>) -> Result<()> {
    Ok(())
}

/// Entries moved per commit by the format-4 migration.
const MOVE_ENTRIES: usize = 1_000;
/// Bytes of keys and values after which a commit of the format-4 migration stops taking pages.
const MOVE_BYTES: usize = 8 << 20;
/// Entries read at a time, so a batch overshoots `MOVE_BYTES` by at most this many values
/// (inline bodies are at most 32 KiB, structures 64 KiB: 2 MiB).
const MOVE_PAGE: usize = 32;

/// Format 4 -> 5: a blob's reference counter, cached structure and inline body move from three
/// key families (0x30, 0x33, 0x31) to adjacent keys in one (0x34), so storing or purging a blob
/// writes one leaf page instead of three. A store may hold a million inline bodies: a chunked
/// step, 1,000 entries or about 8 MiB per commit, each entry written at its new key and cleared
/// at its old one in the same commit.
pub(super) fn v4_colocate_blob_keys(tx: &mut Tx<'_>) -> Result<Progress> {
    move_blob_keys(tx, MOVE_ENTRIES, MOVE_BYTES)
}

/// Moves up to `max_entries` old-layout blob keys (or about `max_bytes` of keys and values) to
/// their new keys. The old families only shrink, so each batch starts at their front and never
/// walks over moved keys.
pub(super) fn move_blob_keys(
    tx: &mut Tx<'_>,
    max_entries: usize,
    max_bytes: usize,
) -> Result<Progress> {
    let families = [
        (keys::format4::all_blob_refs(), BlobKind::Refs),
        (keys::format4::all_blob_structure(), BlobKind::Structure),
        (keys::format4::all_blob_inline(), BlobKind::Inline),
    ];
    let (mut entries, mut bytes) = (0usize, 0usize);
    for (range, kind) in families {
        let mut next = Some(range);
        while let Some(range) = next {
            if entries >= max_entries || bytes >= max_bytes {
                return Ok(Progress::More);
            }
            // Scans see the transaction before this unit's writes, so paging goes by `resume`.
            let page = tx.scan(&range, MOVE_PAGE.min(max_entries - entries))?;
            next = page.resume(&range);
            for (key, value) in page.entries {
                entries += 1;
                bytes += key.len() + value.len();
                match keys::format4::blob_hash(&key) {
                    Some(hash) => tx.set(keys::blob(&hash, kind), value),
                    // No build ever wrote one; it could not be read, and left in place it
                    // would keep the migration from ending.
                    None => tracing::warn!(?kind, "malformed format-4 blob key dropped"),
                }
                tx.clear(key);
            }
        }
    }
    Ok(Progress::Done)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::backend::{Backend, KeyRange, Op};
    use crate::blob::BlobHash;
    use crate::commit::Committer;
    use crate::embedded::Embedded;
    use crate::mail::scan_all;
    use crate::{BlobStore, FORMAT_VERSION, MailStore};

    const ADDRESS: &str = "old@example.test";

    /// What the migration must keep: per UID, the bytes and the cached structure (as JSON).
    /// Per message: UID, blob, bytes, cached structure, gid (the POP3 UIDL).
    type Expected = Vec<(u32, BlobHash, Vec<u8>, Option<String>, u64)>;

    async fn open(dir: &Path, backend: &Arc<Embedded>) -> MailStore {
        let blobs = BlobStore::open(&dir.join("blobs")).expect("blobs");
        MailStore::with_backend(backend.clone(), blobs)
            .await
            .expect("open")
    }

    /// A store with two small (inline) bodies, one of them stored twice, and one of 40 KB kept
    /// as a file, rewritten by hand in the format-4 layout: 3 counters, 3 structures, 2 inline
    /// bodies under the old keys, and format version 4.
    async fn format4_store(dir: &Path) -> (Arc<Embedded>, u64, Expected) {
        let backend = Arc::new(Embedded::open(&dir.join("meta.redb")).expect("backend"));
        let store = open(dir, &backend).await;
        store
            .add_domain("example.test", 0, 0)
            .await
            .expect("domain");
        store.add_account(ADDRESS, "pw", 0).await.expect("account");
        let account = store.account(ADDRESS).expect("account").record.id;
        let small = b"Subject: one\r\nFrom: a@example.test\r\n\r\nsmall\r\n".to_vec();
        let other = b"Subject: two\r\n\r\nanother\r\n".to_vec();
        let big = format!("Subject: big\r\n\r\n{}\r\n", "b".repeat(40_000)).into_bytes();
        let batch = [&small, &other, &small, &big]
            .into_iter()
            .map(|m| (m.clone(), vec![], None))
            .collect();
        store
            .append_many(account, "INBOX", batch)
            .await
            .expect("append");
        let mut expected = Vec::new();
        for m in store.select(account, "INBOX").expect("select").messages {
            let bytes = store.message_bytes(&m.blob).await.expect("bytes");
            let structure = store
                .message_structure(&m.blob)
                .expect("structure")
                .map(|s| serde_json::to_string(&s).expect("json"));
            assert!(
                structure.is_some(),
                "every body here has its structure cached"
            );
            expected.push((m.uid, m.blob, bytes, structure, m.gid));
        }
        drop(store);
        let view = backend.snapshot().expect("snapshot");
        let mut ops = vec![Op::Set(keys::format_version(), 4u32.to_be_bytes().to_vec())];
        for (key, value) in scan_all(&*view, &keys::all_blobs()).expect("scan") {
            let (hash, kind) = keys::blob_parts(&key).expect("a blob key");
            let old = match kind {
                BlobKind::Refs => keys::format4::blob_refs(&hash),
                BlobKind::Structure => keys::format4::blob_structure(&hash),
                BlobKind::Inline => keys::format4::blob_inline(&hash),
            };
            ops.push(Op::Set(old, value));
            ops.push(Op::Clear(key));
        }
        drop(view);
        assert_eq!(
            ops.len(),
            1 + 2 * 8,
            "3 counters, 3 structures, 2 inline bodies"
        );
        let mut txn = backend.begin().expect("begin");
        txn.apply(&ops).expect("apply");
        txn.commit().expect("commit");
        (backend, account, expected)
    }

    fn count(backend: &Embedded, range: &KeyRange) -> usize {
        let view = backend.snapshot().expect("snapshot");
        scan_all(&*view, range).expect("scan").len()
    }

    fn old_keys(backend: &Embedded) -> usize {
        count(backend, &keys::format4::all_blob_refs())
            + count(backend, &keys::format4::all_blob_structure())
            + count(backend, &keys::format4::all_blob_inline())
    }

    fn version(backend: &Embedded) -> Option<Vec<u8>> {
        let view = backend.snapshot().expect("snapshot");
        view.get(&keys::format_version()).expect("get")
    }

    /// The migrated store reads as before, its counts are right (deleting one of the two
    /// copies keeps the body, deleting the other frees it) and `check` is clean.
    async fn assert_migrated(
        dir: &Path,
        backend: &Arc<Embedded>,
        account: u64,
        expected: Expected,
    ) {
        let store = open(dir, backend).await;
        assert_eq!(
            version(backend),
            Some(FORMAT_VERSION.to_be_bytes().to_vec())
        );
        assert_eq!(old_keys(backend), 0, "no format-4 blob key is left");
        assert_eq!(count(backend, &keys::all_blobs()), 8);
        for (uid, blob, bytes, structure, _) in &expected {
            assert_eq!(
                &store.message_bytes(blob).await.expect("bytes"),
                bytes,
                "UID {uid}"
            );
            let cached = store
                .message_structure(blob)
                .expect("structure")
                .map(|s| serde_json::to_string(&s).expect("json"));
            assert_eq!(&cached, structure, "UID {uid}");
        }
        assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
        let selected = store.select(account, "INBOX").expect("select");
        let gids: Vec<(u32, u64)> = selected.messages.iter().map(|m| (m.uid, m.gid)).collect();
        let before: Vec<(u32, u64)> = expected.iter().map(|e| (e.0, e.4)).collect();
        assert_eq!(gids, before, "an upgrade changes no UIDL");
        let inbox = selected.id;
        let (first, _, small, _, _) = &expected[0];
        let (third, _, _, _, _) = &expected[2];
        store
            .delete_messages(account, inbox, &[*first])
            .await
            .expect("delete");
        store.purge_now().await.expect("purge");
        assert_eq!(
            &store
                .read_message(ADDRESS, "INBOX", *third)
                .await
                .expect("read"),
            small,
            "the other copy's reference keeps the body"
        );
        store
            .delete_messages(account, inbox, &[*third])
            .await
            .expect("delete");
        store.purge_now().await.expect("purge");
        assert_eq!(
            count(backend, &keys::all_blobs()),
            5,
            "the body's keys are gone"
        );
        assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
    }

    #[tokio::test]
    async fn format_4_blob_keys_move_next_to_each_other() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (backend, account, expected) = format4_store(dir.path()).await;
        assert_eq!(old_keys(&backend), 8);
        assert_migrated(dir.path(), &backend, account, expected).await;
    }

    #[tokio::test]
    async fn a_migration_interrupted_after_some_batches_finishes_on_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (backend, account, expected) = format4_store(dir.path()).await;
        let committer = Committer::start(backend.clone()).expect("writer");
        // Over its byte budget after the first page: only the 3 counters move.
        let progress = committer
            .run(|tx| move_blob_keys(tx, 1_000, 1))
            .await
            .expect("batch");
        assert_eq!(progress, Progress::More);
        assert_eq!(old_keys(&backend), 5);
        let progress = committer
            .run(|tx| {
                let progress = move_blob_keys(tx, 3, usize::MAX)?;
                // What `MailStore::migrate` writes with every batch but the last.
                tx.set(keys::format_version(), 5u32.to_be_bytes().to_vec());
                tx.set(keys::migrating(), 4u32.to_be_bytes().to_vec());
                Ok(progress)
            })
            .await
            .expect("batch");
        assert_eq!(progress, Progress::More);
        // The process dies here: two inline bodies are still at their old keys. The version
        // record already says 5, so a format-4 build refuses the store instead of missing them.
        drop(committer);
        assert_eq!(old_keys(&backend), 2);
        assert_eq!(count(&backend, &keys::all_blobs()), 6);
        assert_eq!(version(&backend), Some(5u32.to_be_bytes().to_vec()));
        assert_migrated(dir.path(), &backend, account, expected).await;
        assert_eq!(count(&backend, &KeyRange::prefix(&keys::migrating())), 0);
    }
}
