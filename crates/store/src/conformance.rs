//! The conformance battery: the behaviour every [`Backend`] must show, written once against the
//! contract. The embedded backend runs it in its tests; the cluster backend will run the same.
//!
//! Each check panics with a description of the broken rule, so it is meant to be called from a
//! test: `yubin_store::conformance::run_all(|dir| MyBackend::open(dir))`.

use std::path::Path;

use crate::backend::{Backend, KeyRange, Op};

/// Runs every check. `open` opens (or reopens) a backend stored under the given directory.
pub fn run_all<B: Backend>(open: impl Fn(&Path) -> B) {
    let dir = std::env::temp_dir().join(format!(
        "yubin-conformance-{}-{}",
        std::process::id(),
        crate::mail_now_nanos()
    ));
    let fresh = |name: &str| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).expect("temp dir is writable (test precondition)");
        d
    };
    point_ops(&open(&fresh("point")));
    ordered_scans(&open(&fresh("scan")));
    clear_range(&open(&fresh("range")));
    counters(&open(&fresh("counter")));
    uncommitted_is_invisible(&open(&fresh("abort")));
    snapshot_isolation(&open(&fresh("snapshot")));
    value_limits(&open(&fresh("limits")));
    durable_across_reopen(&open, &fresh("reopen"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn commit(backend: &dyn Backend, ops: Vec<Op>) {
    let mut txn = backend.begin().expect("begin");
    txn.apply(&ops).expect("apply");
    txn.commit().expect("commit");
}

fn get(backend: &dyn Backend, key: &[u8]) -> Option<Vec<u8>> {
    backend.snapshot().expect("snapshot").get(key).expect("get")
}

/// Set, overwrite, clear; reads inside a transaction see its own writes.
pub fn point_ops(backend: &dyn Backend) {
    commit(backend, vec![Op::Set(b"a".to_vec(), b"1".to_vec())]);
    assert_eq!(
        get(backend, b"a"),
        Some(b"1".to_vec()),
        "set value is readable"
    );
    commit(backend, vec![Op::Set(b"a".to_vec(), b"2".to_vec())]);
    assert_eq!(
        get(backend, b"a"),
        Some(b"2".to_vec()),
        "overwrite replaces"
    );
    let mut txn = backend.begin().expect("begin");
    txn.apply(&[Op::Set(b"b".to_vec(), b"x".to_vec())])
        .expect("apply");
    assert_eq!(
        txn.get(b"b").expect("get"),
        Some(b"x".to_vec()),
        "txn reads its own writes"
    );
    txn.apply(&[Op::Clear(b"a".to_vec()), Op::Clear(b"missing".to_vec())])
        .expect("clearing a missing key is not an error");
    txn.commit().expect("commit");
    assert_eq!(get(backend, b"a"), None, "cleared key is gone");
}

/// Scans are ordered by unsigned bytes, respect both bounds, honour the limit and resume exactly.
pub fn ordered_scans(backend: &dyn Backend) {
    let keys: Vec<Vec<u8>> = (0u16..300)
        .map(|i| [b"p".as_slice(), &i.to_be_bytes()].concat())
        .collect();
    let mut ops: Vec<Op> = keys
        .iter()
        .rev()
        .map(|k| Op::Set(k.clone(), k.clone()))
        .collect();
    ops.push(Op::Set(b"o\xff".to_vec(), b"before".to_vec()));
    ops.push(Op::Set(b"q".to_vec(), b"after".to_vec()));
    commit(backend, ops);
    let range = KeyRange::prefix(b"p");
    let view = backend.snapshot().expect("snapshot");
    let mut seen = Vec::new();
    let mut next = Some(range.clone());
    while let Some(r) = next {
        let page = view.scan(&r, 64).expect("scan");
        assert!(
            page.entries.len() <= 64,
            "scan returns at most `limit` entries"
        );
        next = page.resume(&r);
        seen.extend(page.entries.into_iter().map(|(k, _)| k));
    }
    assert_eq!(seen, keys, "paged scan returns exactly the range, in order");
    let between = KeyRange::between(keys[10].clone(), keys[20].clone());
    let page = view.scan(&between, 1000).expect("scan");
    assert_eq!(page.entries.len(), 10, "end bound is exclusive");
    assert!(!page.more, "no more after the end");
    // scan_each visits the same entries, a page at a time, values included; 300 = 64 * 4 + 44,
    // and a limit that divides the range exactly (60) must not report a last empty page as more.
    for limit in [64, 60, 300, 1000] {
        let mut visited: Vec<Vec<u8>> = Vec::new();
        let mut next = Some(range.clone());
        let mut pages = 0;
        while let Some(r) = next {
            let mut in_page = 0;
            next = view
                .scan_each(&r, limit, &mut |k, v| {
                    assert_eq!(k, v, "value visited with its key");
                    visited.push(k.to_vec());
                    in_page += 1;
                    Ok(())
                })
                .expect("scan_each");
            assert!(in_page <= limit, "scan_each visits at most `limit` entries");
            pages += 1;
            assert!(pages <= 300, "scan_each terminates");
        }
        assert_eq!(
            visited, keys,
            "scan_each with limit {limit} covers the range in order"
        );
    }
}

/// Clearing a range removes exactly the keys in it.
pub fn clear_range(backend: &dyn Backend) {
    commit(
        backend,
        (0u8..10).map(|i| Op::Set(vec![b'r', i], vec![i])).collect(),
    );
    commit(
        backend,
        vec![Op::ClearRange(KeyRange::between(
            vec![b'r', 3],
            vec![b'r', 7],
        ))],
    );
    let view = backend.snapshot().expect("snapshot");
    let left: Vec<u8> = view
        .scan(&KeyRange::prefix(b"r"), 100)
        .expect("scan")
        .entries
        .iter()
        .map(|(k, _)| k[1])
        .collect();
    assert_eq!(
        left,
        vec![0, 1, 2, 7, 8, 9],
        "clear-range removes [start, end) only"
    );
}

/// Counter adds accumulate from an absent key, go negative, and combine within a transaction.
pub fn counters(backend: &dyn Backend) {
    commit(
        backend,
        vec![Op::Add(b"c".to_vec(), 5), Op::Add(b"c".to_vec(), -2)],
    );
    commit(backend, vec![Op::Add(b"c".to_vec(), 10)]);
    assert_eq!(
        crate::backend::decode_counter(get(backend, b"c").as_deref()),
        13
    );
    commit(backend, vec![Op::Add(b"c".to_vec(), -20)]);
    assert_eq!(
        crate::backend::decode_counter(get(backend, b"c").as_deref()),
        -7
    );
}

/// A transaction dropped without commit leaves no trace.
pub fn uncommitted_is_invisible(backend: &dyn Backend) {
    {
        let mut txn = backend.begin().expect("begin");
        txn.apply(&[Op::Set(b"ghost".to_vec(), b"1".to_vec())])
            .expect("apply");
    }
    assert_eq!(
        get(backend, b"ghost"),
        None,
        "dropped transaction is discarded"
    );
    commit(backend, vec![Op::Set(b"real".to_vec(), b"1".to_vec())]);
    assert_eq!(
        get(backend, b"real"),
        Some(b"1".to_vec()),
        "backend usable after a dropped txn"
    );
}

/// A snapshot does not see commits made after it was taken.
pub fn snapshot_isolation(backend: &dyn Backend) {
    commit(backend, vec![Op::Set(b"s".to_vec(), b"old".to_vec())]);
    let view = backend.snapshot().expect("snapshot");
    commit(
        backend,
        vec![
            Op::Set(b"s".to_vec(), b"new".to_vec()),
            Op::Set(b"t".to_vec(), b"1".to_vec()),
        ],
    );
    assert_eq!(
        view.get(b"s").expect("get"),
        Some(b"old".to_vec()),
        "snapshot is stable"
    );
    assert_eq!(
        view.get(b"t").expect("get"),
        None,
        "snapshot misses later keys"
    );
    drop(view);
    assert_eq!(get(backend, b"s"), Some(b"new".to_vec()));
}

/// Values and keys up to the advertised limits round-trip.
pub fn value_limits(backend: &dyn Backend) {
    let limits = backend.limits();
    let key = vec![b'k'; limits.max_key.min(1024)];
    let value: Vec<u8> = (0..limits.max_value).map(|i| (i % 251) as u8).collect();
    commit(backend, vec![Op::Set(key.clone(), value.clone())]);
    assert_eq!(get(backend, &key), Some(value), "largest value round-trips");
}

/// Committed data survives closing and reopening.
pub fn durable_across_reopen<B: Backend>(open: &impl Fn(&Path) -> B, dir: &Path) {
    {
        let backend = open(dir);
        commit(
            &backend,
            (0u32..1000)
                .map(|i| Op::Set(i.to_be_bytes().to_vec(), vec![1; 100]))
                .collect(),
        );
    }
    let backend = open(dir);
    let view = backend.snapshot().expect("snapshot");
    let page = view.scan(&KeyRange::prefix(&[0, 0]), 2000).expect("scan");
    assert_eq!(
        page.entries.len(),
        1000,
        "every committed row is there after reopen"
    );
}
