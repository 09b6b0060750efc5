//! The durable outbound queue over the embedded backend: enqueue, the schedule, per-recipient
//! results, retry and removal, the body's reference, and records from before the schedule.

use std::sync::Arc;
use std::time::Duration;

use yubin_proto::Address;
use yubin_store::backend::{Backend, Op};
use yubin_store::embedded::Embedded;
use yubin_store::{
    BlobStore, Delivery, ErrorKind, MailStore, NewOutbound, QueueUpdate, RecipientResult,
    RecipientStatus, Resolved, keys,
};

const SENDER: &str = "alice@example.test";

async fn store_in(dir: &std::path::Path) -> MailStore {
    // The writer thread of a store just dropped holds the database until its channel closes.
    for _ in 0..250 {
        match MailStore::open(dir).await {
            Ok(s) => return s,
            Err(e) if e.kind() == ErrorKind::Unavailable => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("open: {e}"),
        }
    }
    panic!("the store stayed locked");
}

async fn ok(store: &MailStore) {
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

fn outbound(body: &[u8], to: &[&str]) -> NewOutbound {
    NewOutbound {
        message: body.to_vec(),
        mail_from: SENDER.into(),
        recipients: to.iter().map(|s| s.to_string()).collect(),
        account: Some(1),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

fn deferred(reply: &str) -> RecipientResult {
    RecipientResult::Deferred {
        reply: reply.into(),
    }
}

#[tokio::test]
async fn an_enqueued_message_is_durable_across_reopen_and_due_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = b"Subject: out\r\n\r\nto the world\r\n";
    let (id, before) = {
        let store = store_in(dir.path()).await;
        let wake = store.queue_wakeup();
        let before = now();
        let id = store
            .enqueue(outbound(
                body,
                &["x@remote.test", "y@remote.test", "x@remote.test"],
            ))
            .await
            .expect("enqueue");
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .expect("enqueue wakes the runner");
        (id, before)
    };
    let store = store_in(dir.path()).await;
    let m = store.queued(id).expect("read").expect("still queued");
    assert_eq!(m.from, SENDER);
    assert_eq!(m.account, Some(1));
    assert_eq!(m.size, body.len() as u64);
    assert_eq!((m.attempts, m.delay_warned), (0, false));
    assert!(m.created >= before && m.next_attempt == m.created);
    let to: Vec<(&str, RecipientStatus)> = m
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.status))
        .collect();
    assert_eq!(
        to,
        [
            ("x@remote.test", RecipientStatus::Pending),
            ("y@remote.test", RecipientStatus::Pending)
        ],
        "duplicates dropped, order kept"
    );
    assert_eq!(store.queue_body(id).await.expect("body"), body);
    assert_eq!(store.queue_next_due().expect("next"), Some(m.created));
    assert_eq!(store.queue_due(now(), 10).expect("due"), vec![m.clone()]);
    assert_eq!(store.queue_list().expect("list"), vec![m]);
    ok(&store).await;
}

#[tokio::test]
async fn due_messages_come_earliest_first_and_only_once_due() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    let t = now();
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            store
                .enqueue(outbound(
                    format!("\r\nm{i}\r\n").as_bytes(),
                    &["r@remote.test"],
                ))
                .await
                .expect("enqueue"),
        );
    }
    // Spread them out: ids[0] in 300 s, ids[1] in 100 s, ids[2] in 200 s, ids[3] stays due.
    for (id, delay) in [(ids[0], 300), (ids[1], 100), (ids[2], 200)] {
        let m = store
            .queue_update(
                id,
                QueueUpdate {
                    results: vec![("r@remote.test".into(), deferred("451 4.3.0 later"))],
                    next_attempt: Some(t + delay),
                    delay_warned: None,
                },
            )
            .await
            .expect("update")
            .expect("queued");
        assert!(!m.is_final());
    }
    let due = |at: i64, limit: usize| -> Vec<u64> {
        store
            .queue_due(at, limit)
            .expect("due")
            .iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(due(t + 5, 10), [ids[3]]);
    assert_eq!(
        due(t + 100, 10),
        [ids[3], ids[1]],
        "due exactly at its time"
    );
    assert_eq!(due(t + 1000, 10), [ids[3], ids[1], ids[2], ids[0]]);
    assert_eq!(due(t + 1000, 2), [ids[3], ids[1]], "limit");
    assert!(due(t + 1000, 0).is_empty());
    store.queue_remove(ids[3]).await.expect("remove");
    assert_eq!(store.queue_next_due().expect("next"), Some(t + 100));
    ok(&store).await;
}

#[tokio::test]
async fn a_partial_result_keeps_the_message_and_moves_its_next_attempt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    let id = store
        .enqueue(outbound(
            b"\r\npartial\r\n",
            &["a@remote.test", "b@remote.test", "c@remote.test"],
        ))
        .await
        .expect("enqueue");
    let later = now() + 600;
    let m = store
        .queue_update(
            id,
            QueueUpdate {
                results: vec![
                    (
                        "a@remote.test".into(),
                        RecipientResult::Delivered {
                            reply: "250 2.0.0 ok".into(),
                        },
                    ),
                    ("b@remote.test".into(), deferred("451 4.2.1 mailbox busy")),
                ],
                next_attempt: Some(later),
                delay_warned: Some(true),
            },
        )
        .await
        .expect("update")
        .expect("still queued");
    assert_eq!(
        store.queued(id).expect("read"),
        Some(m.clone()),
        "returned = stored"
    );
    assert_eq!(
        (m.attempts, m.next_attempt, m.delay_warned),
        (1, later, true)
    );
    let a = &m.recipients[0];
    assert_eq!(a.status, RecipientStatus::Delivered);
    assert_eq!(
        (a.attempts, a.last_reply.as_deref()),
        (1, Some("250 2.0.0 ok"))
    );
    assert!(a.last_attempt.is_some_and(|t| t >= m.created));
    let b = &m.recipients[1];
    assert_eq!(b.status, RecipientStatus::Pending);
    assert_eq!(b.last_reply.as_deref(), Some("451 4.2.1 mailbox busy"));
    let c = &m.recipients[2];
    assert_eq!(
        (c.status, c.attempts, c.last_attempt),
        (RecipientStatus::Pending, 0, None)
    );
    let pending: Vec<&str> = m.pending().map(|r| r.address.as_str()).collect();
    assert_eq!(pending, ["b@remote.test", "c@remote.test"]);
    assert!(store.queue_due(now(), 10).expect("due").is_empty());
    assert_eq!(store.queue_next_due().expect("next"), Some(later));
    // A result for a recipient already delivered (the update sent twice) changes nothing.
    let again = store
        .queue_update(
            id,
            QueueUpdate {
                results: vec![(
                    "a@remote.test".into(),
                    RecipientResult::Failed {
                        reply: "550 late".into(),
                    },
                )],
                ..QueueUpdate::default()
            },
        )
        .await
        .expect("update")
        .expect("queued");
    assert_eq!(again.recipients, m.recipients);
    assert_eq!(again.next_attempt, later, "None keeps the next attempt");
    ok(&store).await;
}

#[tokio::test]
async fn the_last_final_result_removes_the_message_and_the_purger_its_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    // Past the inline limit, so the body is a file the purger must delete.
    let body = format!("Subject: big\r\n\r\n{}\r\n", "q".repeat(50_000));
    let id = store
        .enqueue(outbound(
            body.as_bytes(),
            &["a@remote.test", "b@remote.test"],
        ))
        .await
        .expect("enqueue");
    assert_eq!(files_under(&dir.path().join("blobs")), 1);
    let first = store
        .queue_update(
            id,
            QueueUpdate {
                results: vec![(
                    "a@remote.test".into(),
                    RecipientResult::Delivered {
                        reply: "250 ok".into(),
                    },
                )],
                next_attempt: Some(now() + 60),
                delay_warned: None,
            },
        )
        .await
        .expect("update")
        .expect("queued");
    assert!(!first.is_final());
    let last = store
        .queue_update(
            id,
            QueueUpdate {
                results: vec![(
                    "b@remote.test".into(),
                    RecipientResult::Failed {
                        reply: "550 5.1.1 no such user".into(),
                    },
                )],
                next_attempt: Some(now() + 3600),
                delay_warned: None,
            },
        )
        .await
        .expect("update")
        .expect("the final state");
    assert!(last.is_final());
    assert_eq!(last.attempts, 2);
    assert_eq!(last.recipients[1].status, RecipientStatus::Failed);
    assert_eq!(
        last.recipients[1].last_reply.as_deref(),
        Some("550 5.1.1 no such user"),
        "what a bounce is built from"
    );
    assert_eq!(store.queued(id).expect("read"), None);
    assert!(store.queue_list().expect("list").is_empty());
    assert_eq!(
        store.queue_next_due().expect("next"),
        None,
        "schedule entry gone"
    );
    assert_eq!(
        store.queue_body(id).await.expect_err("gone").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.purge_stats().expect("stats").backlog_entries, 1);
    ok(&store).await;
    store.purge_now().await.expect("purge");
    assert_eq!(files_under(&dir.path().join("blobs")), 0, "body deleted");
    assert_eq!(
        store
            .queue_update(id, QueueUpdate::default())
            .await
            .expect("update"),
        None
    );
    ok(&store).await;
}

#[tokio::test]
async fn retry_makes_one_or_all_due_and_remove_drops_the_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = store
            .enqueue(outbound(
                format!("\r\nr{i}\r\n").as_bytes(),
                &["r@remote.test"],
            ))
            .await
            .expect("enqueue");
        store
            .queue_update(
                id,
                QueueUpdate {
                    results: vec![("r@remote.test".into(), deferred("421 busy"))],
                    next_attempt: Some(now() + 3600),
                    delay_warned: None,
                },
            )
            .await
            .expect("update");
        ids.push(id);
    }
    assert!(store.queue_due(now(), 10).expect("due").is_empty());
    let wake = store.queue_wakeup();
    assert_eq!(store.queue_retry(Some(ids[1])).await.expect("retry one"), 1);
    tokio::time::timeout(Duration::from_secs(1), wake.notified())
        .await
        .expect("retry wakes the runner");
    let due: Vec<u64> = store
        .queue_due(now(), 10)
        .expect("due")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, [ids[1]]);
    assert_eq!(
        store.queue_retry(None).await.expect("retry all"),
        2,
        "the two not due"
    );
    assert_eq!(store.queue_due(now(), 10).expect("due").len(), 3);
    assert_eq!(
        store
            .queue_retry(Some(999))
            .await
            .expect_err("unknown")
            .kind(),
        ErrorKind::NotFound
    );
    ok(&store).await;
    assert!(store.queue_remove(ids[0]).await.expect("remove"));
    assert!(!store.queue_remove(ids[0]).await.expect("remove again"));
    assert_eq!(store.queued(ids[0]).expect("read"), None);
    let left: Vec<u64> = store
        .queue_list()
        .expect("list")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(left, [ids[1], ids[2]]);
    ok(&store).await;
    store.purge_now().await.expect("purge");
    ok(&store).await;
}

#[tokio::test]
async fn enqueue_refuses_a_message_without_recipients() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    for to in [&[][..], &[""][..]] {
        assert_eq!(
            store
                .enqueue(outbound(b"\r\nx\r\n", to))
                .await
                .expect_err("refused")
                .kind(),
            ErrorKind::InvalidData
        );
    }
    assert!(store.queue_list().expect("list").is_empty());
    ok(&store).await;
}

#[tokio::test]
async fn delivery_to_a_remote_alias_target_is_queued_and_due() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(dir.path()).await;
    store
        .add_domain("example.test", 0, 0)
        .await
        .expect("domain");
    store
        .add_account("bob@example.test", "pw", 0)
        .await
        .expect("account");
    store
        .add_alias(
            "fwd@example.test",
            &["someone@remote.test".into(), "bob@example.test".into()],
        )
        .await
        .expect("alias");
    let Resolved::Accept(resolution) = store
        .resolve(&Address::parse("fwd@example.test").expect("address"), 0)
        .expect("resolve")
    else {
        panic!("alias not deliverable");
    };
    let wake = store.queue_wakeup();
    let body = b"Subject: fwd\r\n\r\nforward me\r\n";
    let outcome = store
        .deliver(Delivery {
            message: body.to_vec(),
            mail_from: "".into(),
            recipients: vec![resolution],
        })
        .await
        .expect("deliver");
    assert!(outcome.results[0].is_ok());
    tokio::time::timeout(Duration::from_secs(1), wake.notified())
        .await
        .expect("delivery wakes the runner");
    let due = store.queue_due(now(), 10).expect("due");
    assert_eq!(due.len(), 1);
    let m = &due[0];
    assert_eq!(
        (m.from.as_str(), m.account, m.size),
        ("", None, body.len() as u64)
    );
    let to: Vec<&str> = m.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(to, ["someone@remote.test"]);
    assert_eq!(store.queue_body(m.id).await.expect("body"), body);
    assert_eq!(
        store
            .list_messages("bob@example.test", "INBOX")
            .expect("list")
            .len(),
        1
    );
    ok(&store).await;
}

#[tokio::test]
async fn queue_records_from_format_3_are_migrated_pending_and_due() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Arc::new(Embedded::open(&dir.path().join("meta.redb")).expect("backend"));
    let body = b"\r\nold queued mail\r\n";
    let hash = yubin_store::blob::hash_of(body);
    let record = format!(
        r#"{{"blob":"{}","from":"old@example.test","recipients":["a@remote.test","b@remote.test"],"created":1700000000}}"#,
        yubin_store::blob::hash_hex(&hash)
    );
    let mut txn = backend.begin().expect("begin");
    txn.apply(&[
        Op::Set(keys::format_version(), 3u32.to_be_bytes().to_vec()),
        Op::Set(keys::queue(7), record.into_bytes()),
        Op::Add(keys::sequence("queue"), 7),
        Op::Add(keys::format4::blob_refs(&hash), 1),
        Op::Set(keys::format4::blob_inline(&hash), body.to_vec()),
    ])
    .expect("apply");
    txn.commit().expect("commit");
    let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
    let store = MailStore::with_backend(backend, blobs)
        .await
        .expect("migrate");
    let due = store.queue_due(now(), 10).expect("due");
    assert_eq!(due.len(), 1, "the old record got its schedule entry");
    let m = &due[0];
    assert_eq!(
        (m.id, m.next_attempt, m.created),
        (7, 1_700_000_000, 1_700_000_000)
    );
    assert_eq!(m.size, body.len() as u64);
    assert!(
        m.recipients
            .iter()
            .all(|r| r.status == RecipientStatus::Pending)
    );
    assert_eq!(m.pending().count(), 2);
    assert_eq!(store.queue_body(7).await.expect("body"), body);
    ok(&store).await;
    let next = store
        .enqueue(outbound(b"\r\nnew\r\n", &["c@remote.test"]))
        .await
        .expect("enqueue");
    assert_eq!(next, 8, "ids continue after the old ones");
}

#[tokio::test]
async fn check_reports_a_record_without_schedule_entry_and_a_stray_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Arc::new(Embedded::open(&dir.path().join("meta.redb")).expect("backend"));
    let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
    let store = MailStore::with_backend(backend.clone(), blobs)
        .await
        .expect("open");
    let id = store
        .enqueue(outbound(b"\r\nx\r\n", &["r@remote.test"]))
        .await
        .expect("enqueue");
    let m = store.queued(id).expect("read").expect("queued");
    ok(&store).await;
    let mut txn = backend.begin().expect("begin");
    txn.apply(&[
        Op::Clear(keys::queue_schedule(m.next_attempt, id)),
        Op::Set(keys::queue_schedule(5, 999), Vec::new()),
    ])
    .expect("apply");
    txn.commit().expect("commit");
    let problems = store.check().await.expect("check");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("queued message {id}: no schedule entry"))),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("names message 999")),
        "{problems:?}"
    );
}
