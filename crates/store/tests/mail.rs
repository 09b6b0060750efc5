//! The mail layer over the embedded backend: delivery, group commit, quotas, resolution.

use std::sync::Arc;

use yubin_proto::Address;
use yubin_store::{Delivery, ErrorKind, MailStore, Resolved};

async fn store() -> (tempfile::TempDir, MailStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = MailStore::open(dir.path()).await.expect("open store");
    store
        .add_domain("example.test", 0, 0)
        .await
        .expect("add domain");
    for user in ["alice", "bob", "carol"] {
        store
            .add_account(&format!("{user}@example.test"), "pw", 0)
            .await
            .expect("add account");
    }
    (dir, store)
}

fn resolve(store: &MailStore, address: &str) -> Resolved {
    store
        .resolve(&Address::parse(address).expect("valid address"), 0)
        .expect("resolve")
}

async fn deliver(store: &MailStore, to: &[&str], body: &str) -> Vec<bool> {
    let recipients = to
        .iter()
        .map(|a| match resolve(store, a) {
            Resolved::Accept(r) => r,
            other => panic!("{a} not deliverable: {other:?}"),
        })
        .collect();
    let outcome = store
        .deliver(Delivery {
            message: body.as_bytes().to_vec(),
            mail_from: "sender@remote.test".into(),
            recipients,
        })
        .await
        .expect("deliver");
    outcome.results.iter().map(Result::is_ok).collect()
}

#[tokio::test]
async fn one_message_to_three_recipients_is_one_blob_and_three_rows() {
    let (dir, store) = store().await;
    let body = "Subject: hi\r\nMessage-ID: <m1@x>\r\n\r\nhello\r\n";
    assert_eq!(
        deliver(
            &store,
            &[
                "alice@example.test",
                "bob@example.test",
                "carol@example.test"
            ],
            body
        )
        .await,
        vec![true, true, true]
    );
    for user in ["alice", "bob", "carol"] {
        let list = store
            .list_messages(&format!("{user}@example.test"), "INBOX")
            .expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].uid, 1);
        assert_eq!(list[0].record.message_id.as_deref(), Some("<m1@x>"));
        let stored = store
            .read_message(&format!("{user}@example.test"), "INBOX", 1)
            .await
            .expect("read");
        assert_eq!(stored, body.as_bytes());
    }
    let files = blob_files(dir.path());
    assert_eq!(
        files, 0,
        "a small body lives in the metadata commit, not in a file"
    );
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

/// Message body files in a store's data directory (temp files excluded).
fn blob_files(data: &std::path::Path) -> usize {
    walk(&data.join("blobs"))
        .into_iter()
        .filter(|p| !p.contains("/blobs/tmp/"))
        .count()
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn a_large_message_to_three_recipients_is_one_blob_file() {
    let (dir, store) = store().await;
    let body = format!("Subject: big\r\n\r\n{}\r\n", "z".repeat(100_000));
    let to = [
        "alice@example.test",
        "bob@example.test",
        "carol@example.test",
    ];
    assert_eq!(deliver(&store, &to, &body).await, vec![true, true, true]);
    for user in to {
        let stored = store.read_message(user, "INBOX", 1).await.expect("read");
        assert_eq!(stored, body.as_bytes());
    }
    let files = blob_files(dir.path());
    assert_eq!(files, 1, "content-addressed: stored once");
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
    for user in to {
        store.remove_account(user).await.expect("remove");
    }
    let left = blob_files(dir.path());
    assert_eq!(left, 0, "the last reference gone, the file is deleted");
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_get_distinct_ascending_uids() {
    let (_dir, store) = store().await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            deliver(
                &store,
                &["alice@example.test"],
                &format!("Message-ID: <{i}@x>\r\n\r\nbody {i}\r\n"),
            )
            .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), vec![true]);
    }
    let list = store
        .list_messages("alice@example.test", "INBOX")
        .expect("list");
    let uids: Vec<u32> = list.iter().map(|m| m.uid).collect();
    assert_eq!(uids, (1..=200).collect::<Vec<_>>());
    let mut ids: Vec<_> = list
        .iter()
        .filter_map(|m| m.record.message_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "every message stored exactly once");
    let info = store.account("alice@example.test").expect("account");
    assert_eq!(info.messages, 200);
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

#[tokio::test]
async fn quota_is_enforced_per_recipient() {
    let (_dir, store) = store().await;
    store
        .set_quota("bob@example.test", 100)
        .await
        .expect("quota");
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(200));
    assert_eq!(
        deliver(&store, &["alice@example.test", "bob@example.test"], &big).await,
        vec![true, false],
        "alice gets it, bob is over quota"
    );
    let bob = Address::parse("bob@example.test").expect("address");
    assert!(matches!(
        store.resolve(&bob, 500).expect("resolve"),
        Resolved::OverQuota
    ));
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

#[tokio::test]
async fn domain_quota_and_account_limit() {
    let (_dir, store) = store().await;
    store.add_domain("small.test", 50, 1).await.expect("domain");
    store
        .add_account("one@small.test", "pw", 0)
        .await
        .expect("first account");
    let err = store
        .add_account("two@small.test", "pw", 0)
        .await
        .expect_err("limit");
    assert_eq!(err.kind(), ErrorKind::Limit);
    let body = format!("\r\n{}\r\n", "y".repeat(80));
    assert_eq!(
        deliver(&store, &["one@small.test"], "\r\nshort\r\n").await,
        vec![true]
    );
    assert_eq!(
        deliver(&store, &["alice@example.test", "one@small.test"], &body).await,
        vec![true, false]
    );
}

#[tokio::test]
async fn resolution_order_aliases_plus_and_catch_all() {
    let (_dir, store) = store().await;
    let local = |r: Resolved| match r {
        Resolved::Accept(r) => {
            let mut v: Vec<String> = r.local.into_iter().map(|t| t.address).collect();
            v.extend(r.remote);
            v
        }
        other => panic!("not accepted: {other:?}"),
    };
    assert!(matches!(
        resolve(&store, "nobody@example.test"),
        Resolved::NoSuchUser
    ));
    assert!(matches!(
        resolve(&store, "x@elsewhere.test"),
        Resolved::NotLocal
    ));
    assert_eq!(
        local(resolve(&store, "Alice+news@Example.TEST")),
        vec!["alice@example.test"]
    );
    store
        .add_alias(
            "team@example.test",
            &[
                "alice@example.test".into(),
                "bob@example.test".into(),
                "ext@remote.test".into(),
            ],
        )
        .await
        .expect("alias");
    assert_eq!(
        local(resolve(&store, "team@example.test")),
        vec!["alice@example.test", "bob@example.test", "ext@remote.test"]
    );
    store
        .add_alias("loop1@example.test", &["loop2@example.test".into()])
        .await
        .expect("alias");
    store
        .add_alias(
            "loop2@example.test",
            &["loop1@example.test".into(), "carol@example.test".into()],
        )
        .await
        .expect("alias");
    assert_eq!(
        local(resolve(&store, "loop1@example.test")),
        vec!["carol@example.test"],
        "loops end"
    );
    store
        .add_alias("@example.test", &["carol@example.test".into()])
        .await
        .expect("catch-all");
    assert_eq!(
        local(resolve(&store, "nobody@example.test")),
        vec!["carol@example.test"]
    );
    store
        .set_enabled("bob@example.test", false)
        .await
        .expect("disable");
    assert!(matches!(
        resolve(&store, "bob@example.test"),
        Resolved::Disabled
    ));
    let err = store
        .add_alias("alice@example.test", &["bob@example.test".into()])
        .await
        .expect_err("dup");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn remote_alias_targets_are_queued_not_lost() {
    let (_dir, store) = store().await;
    store
        .add_alias("fwd@example.test", &["someone@remote.test".into()])
        .await
        .expect("alias");
    assert_eq!(
        deliver(&store, &["fwd@example.test"], "\r\nforward me\r\n").await,
        vec![true]
    );
    assert_eq!(
        store.check().await.expect("check"),
        Vec::<String>::new(),
        "queue entry holds a blob reference"
    );
}

fn kind<T: std::fmt::Debug>(result: yubin_store::Result<T>) -> ErrorKind {
    result.expect_err("the operation must fail").kind()
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let (_dir, store) = store().await;
    assert_eq!(
        kind(store.add_domain("not a domain", 0, 0).await),
        ErrorKind::InvalidData
    );
    assert_eq!(
        kind(store.add_domain("example.test", 0, 0).await),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(store.add_account("x@unknown.test", "pw", 0).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(store.add_account("no-at-sign", "pw", 0).await),
        ErrorKind::InvalidData
    );
    assert_eq!(
        kind(store.add_account("alice@example.test", "pw", 0).await),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(store.add_account("new@example.test", "", 0).await),
        ErrorKind::InvalidData
    );
    assert_eq!(
        kind(store.remove_domain("example.test", false).await),
        ErrorKind::Conflict
    );
}

#[tokio::test]
async fn remove_account_frees_rows_blobs_and_counters() {
    let (_dir, store) = store().await;
    deliver(&store, &["alice@example.test"], "\r\nbye\r\n").await;
    store
        .remove_account("alice@example.test")
        .await
        .expect("remove");
    assert_eq!(
        store
            .account("alice@example.test")
            .expect_err("gone")
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.domain("example.test").expect("domain").used, 0);
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
    store
        .remove_domain("example.test", true)
        .await
        .expect("force remove");
    assert!(store.list_domains().expect("list").is_empty());
}

#[tokio::test]
async fn passwords_verify_and_disabled_accounts_cannot_log_in() {
    let (_dir, store) = store().await;
    assert!(
        store
            .verify_password("alice@example.test", "pw")
            .expect("verify")
            .is_some()
    );
    assert!(
        store
            .verify_password("alice@example.test", "wrong")
            .expect("verify")
            .is_none()
    );
    assert!(
        store
            .verify_password("ghost@example.test", "pw")
            .expect("verify")
            .is_none()
    );
    store
        .set_password("alice@example.test", "new")
        .await
        .expect("passwd");
    assert!(
        store
            .verify_password("alice@example.test", "new")
            .expect("verify")
            .is_some()
    );
    store
        .set_enabled("alice@example.test", false)
        .await
        .expect("disable");
    assert!(
        store
            .verify_password("alice@example.test", "new")
            .expect("verify")
            .is_none()
    );
}

#[tokio::test]
async fn data_survives_reopen_and_newer_formats_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = MailStore::open(dir.path()).await.expect("open");
        store.add_domain("keep.test", 0, 0).await.expect("domain");
    }
    let store = reopen(dir.path()).await;
    assert_eq!(store.list_domains().expect("list"), vec!["keep.test"]);
}

#[tokio::test]
async fn account_limits_override_the_tenants_and_survive_a_reopen() {
    use yubin_store::ServiceLimits;
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = MailStore::open(dir.path()).await.expect("open");
        store.add_domain("t.test", 0, 0).await.expect("domain");
        store.add_account("a@t.test", "pw", 0).await.expect("a");
        store.add_account("b@t.test", "pw", 0).await.expect("b");
        store
            .set_tenant_limits(
                "T.test",
                ServiceLimits {
                    connections: Some(20),
                    messages_per_hour: Some(100),
                    ..ServiceLimits::default()
                },
            )
            .await
            .expect("tenant limits");
        store
            .set_account_limits(
                "a@t.test",
                ServiceLimits {
                    connections: Some(3),
                    ..ServiceLimits::default()
                },
            )
            .await
            .expect("account limits");
    }
    let store = reopen(dir.path()).await;
    let a = store.account_limits("a@t.test").expect("a limits");
    assert_eq!(a.connections, Some(3), "the account's own limit wins");
    assert_eq!(
        a.messages_per_hour,
        Some(100),
        "unset ones come from the tenant"
    );
    assert_eq!(
        a.commands_per_minute, None,
        "unset on both: the server default"
    );
    let b = store.account_limits("b@t.test").expect("b limits");
    assert_eq!(b.connections, Some(20));
    let e = store
        .set_tenant_limits("nowhere.test", ServiceLimits::default())
        .await
        .expect_err("no such domain");
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

/// Opens a store again after the last handle was dropped: the writer thread holds the
/// database until its channel closes, so give it a moment.
async fn reopen(path: &std::path::Path) -> MailStore {
    loop {
        match MailStore::open(path).await {
            Ok(s) => return s,
            Err(e) if e.kind() == ErrorKind::Unavailable => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("reopen: {e}"),
        }
    }
}
