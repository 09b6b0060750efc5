//! The IMAP-facing mail operations over the embedded backend: mailboxes, append, flags,
//! MODSEQ, expunge, copy and move, changes, purge, quota, the change bus and the format-2
//! migration.

use std::sync::Arc;

use yubin_proto::Address;
use yubin_store::backend::{Backend, Op};
use yubin_store::embedded::Embedded;
use yubin_store::{
    BlobStore, Delivery, ErrorKind, FORMAT_VERSION, FlagMode, MailStore, Resolved, keys,
};

const ALICE: &str = "alice@example.test";

async fn store() -> (tempfile::TempDir, MailStore, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = MailStore::open(dir.path()).await.expect("open store");
    store
        .add_domain("example.test", 0, 0)
        .await
        .expect("add domain");
    store
        .add_account(ALICE, "pw", 0)
        .await
        .expect("add account");
    let id = store.account(ALICE).expect("account").record.id;
    (dir, store, id)
}

fn kind<T: std::fmt::Debug>(result: yubin_store::Result<T>) -> ErrorKind {
    result.expect_err("the operation must fail").kind()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn ok(store: &MailStore) {
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

fn names(store: &MailStore, account: u64) -> Vec<String> {
    store
        .mailboxes_by_id(account)
        .expect("mailboxes")
        .into_iter()
        .map(|m| m.name)
        .collect()
}

async fn append(store: &MailStore, account: u64, mailbox: &str, body: &str) -> u32 {
    store
        .append(
            account,
            mailbox,
            body.as_bytes().to_vec(),
            vec![],
            Some(1000),
        )
        .await
        .expect("append")
        .1
}

fn blob_files(data: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, out: &mut usize) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("tmp") {
                    walk(&path, out);
                }
            } else {
                *out += 1;
            }
        }
    }
    let mut n = 0;
    walk(&data.join("blobs"), &mut n);
    n
}

#[tokio::test]
async fn mailbox_names_are_validated_and_parents_created() {
    let (_dir, store, a) = store().await;
    for bad in ["", "a//b", "/a", "a/", "x\u{1}y"] {
        assert_eq!(
            kind(store.create_mailbox(a, bad, None).await),
            ErrorKind::InvalidData,
            "{bad:?}"
        );
    }
    assert_eq!(
        kind(store.create_mailbox(a, "inbox", None).await),
        ErrorKind::AlreadyExists
    );
    store
        .create_mailbox(a, "Work/Projects/Yubin", None)
        .await
        .expect("create");
    let all = names(&store, a);
    for n in ["Work", "Work/Projects", "Work/Projects/Yubin"] {
        assert!(all.contains(&n.to_string()), "{n} in {all:?}");
    }
    assert_eq!(all[0], "INBOX");
    assert_eq!(
        kind(store.create_mailbox(a, "Work", None).await),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(store.create_mailbox(a, "X", Some("\\Bogus")).await),
        ErrorKind::InvalidData
    );
    store
        .create_mailbox(a, "Old", Some("\\archive"))
        .await
        .expect("special use");
    assert_eq!(
        store
            .select(a, "Old")
            .expect("select")
            .special_use
            .as_deref(),
        Some("\\Archive")
    );
    assert_eq!(
        store.select(a, "iNbOx").expect("INBOX any case").name,
        "INBOX"
    );
    ok(&store).await;
}

#[tokio::test]
async fn delete_refuses_inbox_keeps_children_and_recreate_gets_a_new_uidvalidity() {
    let (_dir, store, a) = store().await;
    assert_eq!(
        kind(store.delete_mailbox(a, "INBOX").await),
        ErrorKind::Conflict
    );
    store.create_mailbox(a, "P/C", None).await.expect("create");
    append(&store, a, "P", "Subject: x\r\n\r\nx\r\n").await;
    let before = store.select(a, "P").expect("select").uidvalidity;
    store.delete_mailbox(a, "P").await.expect("delete");
    assert_eq!(kind(store.select(a, "P")), ErrorKind::NotFound);
    assert_eq!(
        kind(store.delete_mailbox(a, "P").await),
        ErrorKind::NotFound
    );
    assert!(names(&store, a).contains(&"P/C".to_string()));
    assert_eq!(store.quota(a).expect("quota").used, 0, "freed at once");
    ok(&store).await;
    store.create_mailbox(a, "P", None).await.expect("recreate");
    let view = store.select(a, "P").expect("select");
    assert!(
        view.uidvalidity > before,
        "a reused name never sees an old UIDVALIDITY"
    );
    assert!(
        view.messages.is_empty(),
        "the old messages do not come back"
    );
    store.purge_now().await.expect("purge");
    assert_eq!(store.purge_backlog().expect("backlog"), (0, 0));
    ok(&store).await;
}

#[tokio::test]
async fn rename_moves_children_keeps_uidvalidity_and_refuses_existing_targets() {
    let (_dir, store, a) = store().await;
    store.create_mailbox(a, "A/B", None).await.expect("create");
    let uid = append(&store, a, "A/B", "\r\nbody\r\n").await;
    let validity = store.select(a, "A/B").expect("select").uidvalidity;
    let id = store.select(a, "A/B").expect("select").id;
    assert_eq!(
        kind(store.rename_mailbox(a, "A", "Sent").await),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(store.rename_mailbox(a, "A", "A/B/C").await),
        ErrorKind::InvalidData
    );
    assert_eq!(
        kind(store.rename_mailbox(a, "Nope", "Z").await),
        ErrorKind::NotFound
    );
    store.rename_mailbox(a, "A", "X/Y").await.expect("rename");
    let all = names(&store, a);
    assert!(
        !all.iter().any(|n| n == "A" || n.starts_with("A/")),
        "{all:?}"
    );
    for n in ["X", "X/Y", "X/Y/B"] {
        assert!(all.contains(&n.to_string()), "{n} in {all:?}");
    }
    let view = store.select(a, "X/Y/B").expect("select renamed child");
    assert_eq!((view.id, view.uidvalidity), (id, validity));
    assert_eq!(view.messages.len(), 1);
    assert_eq!(view.messages[0].uid, uid);
    ok(&store).await;
}

#[tokio::test]
async fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
    let (_dir, store, a) = store().await;
    store
        .create_mailbox(a, "INBOX/Child", None)
        .await
        .expect("child");
    for i in 0..3 {
        append(&store, a, "INBOX", &format!("\r\nm{i}\r\n")).await;
    }
    let gids: Vec<u64> = store
        .select(a, "INBOX")
        .expect("select")
        .messages
        .iter()
        .map(|m| m.gid)
        .collect();
    store
        .rename_mailbox(a, "INBOX", "Old Inbox")
        .await
        .expect("rename INBOX");
    let inbox = store.select(a, "INBOX").expect("INBOX stays");
    assert!(inbox.messages.is_empty());
    let moved = store.select(a, "Old Inbox").expect("new mailbox");
    assert_eq!(
        moved.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        moved.messages.iter().map(|m| m.gid).collect::<Vec<_>>(),
        gids,
        "gids (POP3 UIDLs) survive"
    );
    assert!(names(&store, a).contains(&"INBOX/Child".to_string()));
    let vanished = store.changes(a, inbox.id, 0).expect("changes").vanished;
    assert_eq!(vanished, vec![1, 2, 3]);
    ok(&store).await;
}

#[tokio::test]
async fn subscriptions_are_independent_of_existence() {
    let (_dir, store, a) = store().await;
    let subs = store.subscriptions(a).expect("subs");
    assert_eq!(subs[0], "INBOX");
    assert_eq!(subs.len(), 6, "default mailboxes are subscribed: {subs:?}");
    store
        .set_subscribed(a, "Not/There", true)
        .await
        .expect("subscribe");
    store.set_subscribed(a, "Junk", false).await.expect("unsub");
    store.set_subscribed(a, "inbox", true).await.expect("again");
    let subs = store.subscriptions(a).expect("subs");
    assert!(subs.contains(&"Not/There".to_string()));
    assert!(!subs.contains(&"Junk".to_string()));
    assert_eq!(subs.iter().filter(|s| *s == "INBOX").count(), 1);
    store.delete_mailbox(a, "Sent").await.expect("delete");
    assert!(
        store
            .subscriptions(a)
            .expect("subs")
            .contains(&"Sent".to_string()),
        "deleting does not unsubscribe (RFC 9051 §6.3.9)"
    );
}

#[tokio::test]
async fn flags_modseq_and_changes() {
    let (_dir, store, a) = store().await;
    for i in 0..4 {
        append(&store, a, "INBOX", &format!("\r\nm{i}\r\n")).await;
    }
    let view = store.select(a, "INBOX").expect("select");
    let id = view.id;
    let start = view.highest_modseq;
    let modseqs: Vec<u64> = view.messages.iter().map(|m| m.modseq).collect();
    assert!(modseqs.windows(2).all(|w| w[0] < w[1]), "{modseqs:?}");

    let out = store
        .store_flags(
            a,
            id,
            &[1, 2, 99],
            FlagMode::Add,
            &strings(&["\\SEEN", "$Work", "\\Recent"]),
            None,
        )
        .await
        .expect("store");
    assert_eq!(out.changed.len(), 2, "UID 99 does not exist: skipped");
    assert_eq!(out.changed[0].flags, strings(&["$Work", "\\Seen"]));
    assert!(out.changed.iter().all(|m| m.modseq > start));
    assert_ne!(out.changed[0].modseq, out.changed[1].modseq);
    let after = store.select(a, "INBOX").expect("select").highest_modseq;

    let again = store
        .store_flags(a, id, &[1], FlagMode::Add, &strings(&["\\Seen"]), None)
        .await
        .expect("no-op");
    assert!(again.changed.is_empty());
    assert_eq!(again.unchanged.len(), 1);
    assert_eq!(
        store.select(a, "INBOX").expect("select").highest_modseq,
        after,
        "a no-op takes no MODSEQ"
    );

    let cond = store
        .store_flags(
            a,
            id,
            &[1, 3],
            FlagMode::Set,
            &strings(&["\\Flagged"]),
            Some(start),
        )
        .await
        .expect("unchangedsince");
    assert_eq!(cond.modified, vec![1], "UID 1 changed after `start`");
    assert_eq!(cond.changed.len(), 1);
    assert_eq!(cond.changed[0].uid, 3);
    assert_eq!(
        kind(
            store
                .store_flags(a, id, &[1], FlagMode::Add, &strings(&["\\Bogus"]), None)
                .await
        ),
        ErrorKind::InvalidData
    );

    let changes = store.changes(a, id, start).expect("changes");
    assert_eq!(
        changes.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(changes.vanished.is_empty());
    let all = store.changes(a, id, 0).expect("changes since 0");
    assert_eq!(all.changed.len(), 4, "one index entry per live message");
    let top = store.changes(a, id, changes.highest_modseq).expect("none");
    assert!(top.changed.is_empty() && top.vanished.is_empty());

    store
        .store_flags(
            a,
            id,
            &[2, 4],
            FlagMode::Add,
            &strings(&["\\Deleted"]),
            None,
        )
        .await
        .expect("flag deleted");
    let mark = store.select(a, "INBOX").expect("select").highest_modseq;
    assert_eq!(
        store
            .expunge(a, id, Some(&[4, 1]))
            .await
            .expect("uid expunge"),
        vec![4],
        "UID EXPUNGE only touches the given UIDs flagged \\Deleted"
    );
    assert_eq!(store.expunge(a, id, None).await.expect("expunge"), vec![2]);
    let changes = store.changes(a, id, mark).expect("changes");
    assert_eq!(changes.vanished, vec![2, 4]);
    assert!(changes.highest_modseq > mark, "expunges take MODSEQs");
    let status = store.status(a, "INBOX").expect("status");
    assert_eq!((status.messages, status.unseen, status.deleted), (2, 1, 0));
    ok(&store).await;

    store.create_mailbox(a, "Tmp", None).await.expect("create");
    let tmp = store.select(a, "Tmp").expect("select").id;
    store.delete_mailbox(a, "Tmp").await.expect("delete");
    assert_eq!(kind(store.changes(a, tmp, 0)), ErrorKind::NotFound);
}

#[tokio::test]
async fn copy_makes_new_gids_and_move_keeps_them() {
    let (_dir, store, a) = store().await;
    for i in 0..3 {
        append(&store, a, "INBOX", &format!("\r\nm{i}\r\n")).await;
    }
    let inbox = store.select(a, "INBOX").expect("select");
    store
        .store_flags(
            a,
            inbox.id,
            &[2],
            FlagMode::Add,
            &strings(&["\\Seen"]),
            None,
        )
        .await
        .expect("flag");
    let copied = store
        .copy_messages(a, inbox.id, &[3, 2, 77], "Archive")
        .await
        .expect("copy");
    let archive = store.select(a, "Archive").expect("select");
    assert_eq!(copied.uidvalidity, archive.uidvalidity);
    assert_eq!(copied.pairs, vec![(2, 1), (3, 2)], "source UID order");
    let src_gids: Vec<u64> = inbox.messages.iter().map(|m| m.gid).collect();
    assert!(archive.messages.iter().all(|m| !src_gids.contains(&m.gid)));
    assert_eq!(archive.messages[0].flags, strings(&["\\Seen"]));
    assert_eq!(archive.messages[0].received, 1000);

    let moved = store
        .move_messages(a, inbox.id, &[1, 2], "Trash")
        .await
        .expect("move");
    let trash = store.select(a, "Trash").expect("select");
    assert_eq!(moved.pairs, vec![(1, 1), (2, 2)]);
    assert_eq!(
        trash.messages.iter().map(|m| m.gid).collect::<Vec<_>>(),
        src_gids[..2].to_vec()
    );
    assert_eq!(store.select(a, "INBOX").expect("select").messages.len(), 1);
    assert_eq!(
        store.changes(a, inbox.id, 0).expect("changes").vanished,
        vec![1, 2]
    );
    let within = store
        .move_messages(a, inbox.id, &[3], "INBOX")
        .await
        .expect("move within");
    assert_eq!(within.pairs, vec![(3, 4)]);
    let quota = store.quota(a).expect("quota");
    assert_eq!(quota.messages, 5, "3 originals (moved or not) + 2 copies");
    assert_eq!(
        kind(store.copy_messages(a, inbox.id, &[1], "Nope").await),
        ErrorKind::NotFound
    );
    ok(&store).await;
}

#[tokio::test]
async fn quota_is_enforced_on_append_and_copy_all_or_none() {
    let (_dir, store, a) = store().await;
    store.set_quota(ALICE, 100).await.expect("quota");
    let body = format!("\r\n{}\r\n", "x".repeat(36)); // 40 bytes
    store
        .append(a, "INBOX", body.clone().into_bytes(), vec![], None)
        .await
        .expect("first fits");
    let many = vec![
        (body.clone().into_bytes(), vec![], None),
        (body.clone().into_bytes(), vec![], None),
    ];
    assert_eq!(
        kind(store.append_many(a, "INBOX", many).await),
        ErrorKind::OverQuota,
        "two more would be 120 bytes"
    );
    assert_eq!(store.select(a, "INBOX").expect("select").messages.len(), 1);
    let (_, uids) = store
        .append_many(a, "INBOX", vec![(body.clone().into_bytes(), vec![], None)])
        .await
        .expect("one more fits");
    assert_eq!(uids, vec![2]);
    let id = store.select(a, "INBOX").expect("select").id;
    assert_eq!(
        kind(store.copy_messages(a, id, &[1, 2], "Archive").await),
        ErrorKind::OverQuota
    );
    assert!(
        store
            .select(a, "Archive")
            .expect("select")
            .messages
            .is_empty()
    );
    store
        .move_messages(a, id, &[1, 2], "Trash")
        .await
        .expect("moving needs no room");
    let q = store.quota(a).expect("quota");
    assert_eq!((q.used, q.limit, q.messages), (80, 100, 2));
    assert_eq!(q.domain, "example.test");
    ok(&store).await;
}

#[tokio::test]
async fn purge_removes_a_body_only_when_nothing_refers_to_it() {
    let (dir, store, a) = store().await;
    let big = format!("Subject: big\r\n\r\n{}\r\n", "b".repeat(50_000));
    append(&store, a, "INBOX", &big).await;
    let id = store.select(a, "INBOX").expect("select").id;
    store
        .copy_messages(a, id, &[1], "Archive")
        .await
        .expect("copy");
    assert_eq!(blob_files(dir.path()), 1);
    store
        .store_flags(a, id, &[1], FlagMode::Add, &strings(&["\\Deleted"]), None)
        .await
        .expect("flag");
    store.expunge(a, id, None).await.expect("expunge");
    store.purge_now().await.expect("purge");
    assert_eq!(blob_files(dir.path()), 1, "the copy still refers to it");
    ok(&store).await;

    let archive = store.select(a, "Archive").expect("select");
    let blob = archive.messages[0].blob;
    store
        .store_flags(
            a,
            archive.id,
            &[1],
            FlagMode::Add,
            &strings(&["\\Deleted"]),
            None,
        )
        .await
        .expect("flag");
    store.expunge(a, archive.id, None).await.expect("expunge");
    ok(&store).await;
    // Identical bytes arrive before the purger runs: they must keep their body.
    append(&store, a, "INBOX", &big).await;
    store.purge_now().await.expect("purge");
    assert_eq!(blob_files(dir.path()), 1);
    assert_eq!(
        store.message_bytes(&blob).await.expect("body"),
        big.as_bytes()
    );
    ok(&store).await;

    store.delete_mailbox(a, "Archive").await.expect("delete");
    let inbox = store.select(a, "INBOX").expect("select");
    store
        .store_flags(
            a,
            inbox.id,
            &[2],
            FlagMode::Add,
            &strings(&["\\Deleted"]),
            None,
        )
        .await
        .expect("flag");
    store.expunge(a, inbox.id, None).await.expect("expunge");
    store.purge_now().await.expect("purge");
    assert_eq!(blob_files(dir.path()), 0, "last reference gone, file gone");
    assert_eq!(kind(store.message_bytes(&blob).await), ErrorKind::Internal);
    ok(&store).await;
}

#[tokio::test]
async fn inline_bodies_and_dropped_mailboxes_are_purged() {
    let (_dir, store, a) = store().await;
    store
        .create_mailbox(a, "Lists", None)
        .await
        .expect("create");
    for i in 0..5 {
        append(&store, a, "Lists", &format!("\r\nlist mail {i}\r\n")).await;
    }
    let blob = store.select(a, "Lists").expect("select").messages[0].blob;
    assert_eq!(store.quota(a).expect("quota").messages, 5);
    store.delete_mailbox(a, "Lists").await.expect("delete");
    assert_eq!(
        store.quota(a).expect("quota").messages,
        0,
        "quota freed at once"
    );
    ok(&store).await;
    store.purge_now().await.expect("purge");
    assert_eq!(store.purge_backlog().expect("backlog"), (0, 0));
    assert_eq!(kind(store.message_bytes(&blob).await), ErrorKind::Internal);
    ok(&store).await;
}

#[tokio::test]
async fn the_background_purger_drains_the_queue_by_itself() {
    let (_dir, store, a) = store().await;
    store.set_purge_grace(std::time::Duration::ZERO);
    append(&store, a, "INBOX", "\r\nbye\r\n").await;
    let id = store.select(a, "INBOX").expect("select").id;
    store
        .store_flags(a, id, &[1], FlagMode::Add, &strings(&["\\Deleted"]), None)
        .await
        .expect("flag");
    store.expunge(a, id, None).await.expect("expunge");
    for _ in 0..200 {
        if store.purge_backlog().expect("backlog") == (0, 0) {
            ok(&store).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the purger did not drain the queue");
}

#[tokio::test]
async fn recent_is_claimed_once() {
    let (_dir, store, a) = store().await;
    append(&store, a, "INBOX", "\r\n1\r\n").await;
    append(&store, a, "INBOX", "\r\n2\r\n").await;
    let id = store.select(a, "INBOX").expect("select").id;
    assert_eq!(store.status(a, "INBOX").expect("status").recent, 2);
    assert_eq!(store.claim_recent(a, id).await.expect("claim"), 1);
    assert_eq!(store.status(a, "INBOX").expect("status").recent, 0);
    assert_eq!(
        store.claim_recent(a, id).await.expect("claim"),
        3,
        "nothing new: the first recent UID is UIDNEXT"
    );
    append(&store, a, "INBOX", "\r\n3\r\n").await;
    assert_eq!(store.claim_recent(a, id).await.expect("claim"), 3);
}

#[tokio::test]
async fn writes_publish_changes_after_commit() {
    let (_dir, store, a) = store().await;
    let mut bus = store.subscribe_changes();
    append(&store, a, "INBOX", "\r\nhi\r\n").await;
    let inbox = store.select(a, "INBOX").expect("select").id;
    let got = bus.recv().await.expect("change");
    assert_eq!((got.account, got.mailbox), (a, inbox));
    let rcpt = match store
        .resolve(&Address::parse(ALICE).expect("address"), 0)
        .expect("resolve")
    {
        Resolved::Accept(r) => r,
        other => panic!("{other:?}"),
    };
    store
        .deliver(Delivery {
            message: b"\r\ndelivered\r\n".to_vec(),
            mail_from: String::new(),
            recipients: vec![rcpt],
        })
        .await
        .expect("deliver");
    let got = bus.recv().await.expect("delivery change");
    assert_eq!((got.account, got.mailbox), (a, inbox));
    store
        .store_flags(a, inbox, &[1], FlagMode::Add, &strings(&["\\Seen"]), None)
        .await
        .expect("flags");
    assert_eq!(bus.recv().await.expect("flag change").mailbox, inbox);
}

#[tokio::test]
async fn format_1_stores_migrate_keeping_subscriptions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Arc::new(Embedded::open(&dir.path().join("meta.redb")).expect("backend"));
    let mailbox = |id: u32, validity: u32, subscribed: bool| {
        format!(
            r#"{{"id":{id},"uidvalidity":{validity},"uidnext":1,"highest_modseq":1,"special_use":null,"subscribed":{subscribed},"messages":0,"size":0}}"#
        )
        .into_bytes()
    };
    let account =
        br#"{"id":1,"password":"x","quota":0,"enabled":true,"created":0,"next_mailbox":4}"#;
    let ops = vec![
        Op::Set(keys::format_version(), 1u32.to_be_bytes().to_vec()),
        Op::Set(keys::domain("old.test"), b"{}".to_vec()),
        Op::Set(keys::account("u@old.test"), account.to_vec()),
        Op::Set(keys::account_by_id(1), b"u@old.test".to_vec()),
        Op::Add(keys::sequence("account"), 1),
        Op::Set(keys::mailbox(1, "INBOX"), mailbox(1, 4_000_000_000, true)),
        Op::Set(keys::mailbox(1, "Sent"), mailbox(2, 5, true)),
        Op::Set(keys::mailbox(1, "Hidden"), mailbox(3, 6, false)),
    ];
    let mut txn = backend.begin().expect("begin");
    txn.apply(&ops).expect("apply");
    txn.commit().expect("commit");
    let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
    let store = MailStore::with_backend(backend.clone(), blobs)
        .await
        .expect("migrate");
    assert_eq!(
        backend
            .snapshot()
            .expect("snapshot")
            .get(&keys::format_version())
            .expect("get"),
        Some(FORMAT_VERSION.to_be_bytes().to_vec())
    );
    assert_eq!(store.subscriptions(1).expect("subs"), vec!["INBOX", "Sent"]);
    let sent = store.select(1, "Sent").expect("select");
    assert_eq!((sent.id, sent.uidvalidity), (2, 5));
    assert!(store.changes(1, 3, 0).is_ok(), "by-id entries exist");
    store.create_mailbox(1, "New", None).await.expect("create");
    assert!(
        store.select(1, "New").expect("select").uidvalidity > 4_000_000_000,
        "UIDVALIDITY continues above every stored value"
    );
    ok(&store).await;
}

#[tokio::test]
async fn check_reports_a_stale_modseq_entry_and_a_missing_by_id_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Arc::new(Embedded::open(&dir.path().join("meta.redb")).expect("backend"));
    let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
    let store = MailStore::with_backend(backend.clone(), blobs)
        .await
        .expect("open");
    store
        .add_domain("example.test", 0, 0)
        .await
        .expect("domain");
    store.add_account(ALICE, "pw", 0).await.expect("account");
    let a = store.account(ALICE).expect("account").record.id;
    append(&store, a, "INBOX", "\r\nx\r\n").await;
    let inbox = store.select(a, "INBOX").expect("select").id;
    ok(&store).await;
    let mut txn = backend.begin().expect("begin");
    txn.apply(&[
        Op::Set(keys::modseq(a, inbox, 999), 1u32.to_be_bytes().to_vec()),
        Op::Clear(keys::mailbox_by_id(a, inbox)),
    ])
    .expect("apply");
    txn.commit().expect("commit");
    let problems = store.check().await.expect("check");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("modseq index entry 999"))
    );
    assert!(problems.iter().any(|p| p.contains("by-id")));
}

#[tokio::test]
async fn structure_is_cached_with_the_body_and_purged_with_it() {
    let (_dir, store, account) = store().await;
    let body = b"From: a@x.test\r\nSubject: cached\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n".to_vec();
    let (_, uid) = store
        .append(account, "INBOX", body.clone(), vec![], None)
        .await
        .expect("append");
    let view = store.select(account, "INBOX").expect("select");
    let meta = view.messages.iter().find(|m| m.uid == uid).expect("row");
    let cached = store
        .message_structure(&meta.blob)
        .expect("read cache")
        .expect("structure cached at append");
    assert_eq!(
        cached,
        yubin_proto::mime::MessageStructure::analyze(&body),
        "the cache holds what analyze computes"
    );
    store
        .store_flags(
            account,
            view.id,
            &[uid],
            yubin_store::FlagMode::Add,
            &["\\Deleted".to_string()],
            None,
        )
        .await
        .expect("flag");
    store
        .expunge(account, view.id, None)
        .await
        .expect("expunge");
    store.purge_now().await.expect("purge");
    assert!(
        store.message_structure(&meta.blob).expect("read").is_none(),
        "the structure goes with the last reference"
    );
    assert!(store.check().await.expect("check").is_empty());
}

#[tokio::test]
async fn import_keeps_uidls_unless_the_account_has_them_and_new_ids_skip_past_them() {
    let (_dir, store, account) = store().await;
    let message = |uidl| yubin_store::ImportedMessage {
        bytes: format!("Subject: {uidl}\r\n\r\nbody\r\n").into_bytes(),
        flags: strings(&["\\Seen", "$Label1"]),
        received: 1_700_000_000,
        uidl,
    };
    let mut taken = store.account_gids(ALICE).expect("gids");
    assert!(taken.is_empty());
    // 500 twice in one batch, 0 (none) and one past what the id sequence can hold: one keeps
    // 500, the others get new ids, which must not be 2 or 7 (kept in the same batch).
    let batch = vec![
        message(500),
        message(500),
        message(0),
        message(u64::MAX),
        message(7),
        message(2),
    ];
    let outcome = store
        .import_messages(ALICE, "INBOX", batch, &mut taken)
        .await
        .expect("import");
    assert_eq!((outcome.kept, outcome.renumbered), (3, 3));
    let gids = store.account_gids(ALICE).expect("gids");
    assert_eq!(gids.len(), 6);
    assert!(gids.contains(&500) && gids.contains(&7) && gids.contains(&2));
    assert_eq!(gids, taken.union(&gids).copied().collect());
    // Ids handed out later start past every kept one.
    let (_, uid) = store
        .append(
            account,
            "INBOX",
            b"Subject: later\r\n\r\n".to_vec(),
            vec![],
            None,
        )
        .await
        .expect("append");
    let later = store.list_messages(ALICE, "INBOX").expect("list");
    let newest = later.iter().find(|m| m.uid == uid).expect("appended");
    assert!(newest.record.gid > 500);
    let first = &later[0].record;
    assert_eq!(
        (first.received, first.flags.clone()),
        (1_700_000_000, strings(&["$Label1", "\\Seen"]))
    );
    // Importing the same UIDLs again gives copies new ones.
    let mut taken = store.account_gids(ALICE).expect("gids");
    let outcome = store
        .import_messages(ALICE, "INBOX", vec![message(500), message(7)], &mut taken)
        .await
        .expect("import");
    assert_eq!((outcome.kept, outcome.renumbered), (0, 2));
    assert_eq!(store.account_gids(ALICE).expect("gids").len(), 9);
    ok(&store).await;
}
