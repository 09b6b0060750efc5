//! The two engines behind one small interface, with the key layout the cases share.
//!
//! Key families (all big-endian, so a mailbox's rows are contiguous and ordered):
//!
//! | family  | key                                   | value                          |
//! |---------|---------------------------------------|--------------------------------|
//! | message | `b'm'` + mailbox u32 + uid u32        | 200 bytes (index row)          |
//! | modseq  | `b'q'` + mailbox u32 + modseq u64     | uid u32                        |
//! | counter | `b'c'` + mailbox u32                  | next uid u32 + highest modseq u64 |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{Ctx, Res};

/// Size of a message index row.
pub const MSG_VALUE_LEN: usize = 200;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// redb's page cache; SQLite gets `SQLITE_CACHE_KIB` per connection.
const REDB_CACHE_BYTES: usize = 256 << 20;
const SQLITE_CACHE_KIB: i64 = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// redb 4.6, `Durability::Immediate`, quick repair off (the default).
    Redb,
    /// redb 4.6, `Durability::Immediate`, `WriteTransaction::set_quick_repair(true)`.
    RedbQuickRepair,
    /// SQLite (rusqlite, bundled), `kv` table WITHOUT ROWID, WAL, synchronous=FULL.
    Sqlite,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Redb, Engine::RedbQuickRepair, Engine::Sqlite];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Redb => "redb",
            Engine::RedbQuickRepair => "redb+quick_repair",
            Engine::Sqlite => "sqlite",
        }
    }

    pub fn parse(s: &str) -> Res<Engine> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown engine {s:?}").into())
    }

    fn file_name(self) -> &'static str {
        match self {
            Engine::Redb | Engine::RedbQuickRepair => "kv.redb",
            Engine::Sqlite => "kv.sqlite",
        }
    }
}

pub fn msg_key(mailbox: u32, uid: u32) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'm';
    k[1..5].copy_from_slice(&mailbox.to_be_bytes());
    k[5..9].copy_from_slice(&uid.to_be_bytes());
    k
}

fn modseq_key(mailbox: u32, modseq: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = b'q';
    k[1..5].copy_from_slice(&mailbox.to_be_bytes());
    k[5..13].copy_from_slice(&modseq.to_be_bytes());
    k
}

fn counter_key(mailbox: u32) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = b'c';
    k[1..5].copy_from_slice(&mailbox.to_be_bytes());
    k
}

/// A message index row: the key repeated at the front, then filler.
pub fn msg_value(mailbox: u32, uid: u32) -> [u8; MSG_VALUE_LEN] {
    let mut v = [0x5au8; MSG_VALUE_LEN];
    v[..9].copy_from_slice(&msg_key(mailbox, uid));
    v
}

/// Counter value: (next uid, highest modseq); a missing counter is (1, 0).
fn decode_counter(v: Option<&[u8]>) -> Res<(u32, u64)> {
    match v {
        None => Ok((1, 0)),
        Some(v) if v.len() == 12 => {
            let uid = u32::from_be_bytes(v[..4].try_into().ctx("counter uid")?);
            let modseq = u64::from_be_bytes(v[4..].try_into().ctx("counter modseq")?);
            Ok((uid, modseq))
        }
        Some(v) => Err(format!("counter value of {} bytes", v.len()).into()),
    }
}

fn encode_counter(uid: u32, modseq: u64) -> [u8; 12] {
    let mut v = [0u8; 12];
    v[..4].copy_from_slice(&uid.to_be_bytes());
    v[4..].copy_from_slice(&modseq.to_be_bytes());
    v
}

/// Owns the one write handle. Every method is one transaction ending in one durable commit.
pub trait Writer: Send {
    /// One delivery per entry of `mailboxes`: counter read-modify-write, message row, modseq row.
    fn deliver(&mut self, mailboxes: &[u32]) -> Res<()>;
    /// Message rows `first..first + n` of the crash case (row i = mailbox i / 10,000).
    fn put_rows(&mut self, first: u64, n: u64) -> Res<()>;
}

/// A read handle; every call reads from a fresh snapshot (one read transaction per call).
pub trait Reader: Send {
    /// Point get; returns whether the key was found.
    fn get(&mut self, key: &[u8]) -> Res<bool>;
    /// Up to `n` rows from `start` in key order; returns the bytes read.
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize>;
    /// Calls `f` with every key from `start` in order until `f` returns false.
    fn walk(&mut self, start: &[u8], f: &mut dyn FnMut(&[u8]) -> bool) -> Res<()>;
}

/// Row `i` of the crash case, as (mailbox, uid), so that key order is row order.
pub fn crash_row(i: u64) -> (u32, u32) {
    ((i / 10_000) as u32, (i % 10_000) as u32 + 1)
}

pub enum Store {
    Redb {
        db: Arc<Database>,
        quick_repair: bool,
    },
    Sqlite {
        path: PathBuf,
    },
}

/// What opening an existing store found.
pub struct OpenReport {
    pub store: Store,
    /// redb only: the repair callback ran (a full repair walk).
    pub full_repair: bool,
}

impl Store {
    pub fn path(engine: Engine, dir: &Path) -> PathBuf {
        dir.join(engine.file_name())
    }

    /// Creates an empty store in `dir` (which must not hold one).
    pub fn create(engine: Engine, dir: &Path) -> Res<Store> {
        let path = Store::path(engine, dir);
        match engine {
            Engine::Redb | Engine::RedbQuickRepair => {
                let db = redb::Builder::new()
                    .set_cache_size(REDB_CACHE_BYTES)
                    .create(&path)
                    .ctx(format!("create redb {}", path.display()))?;
                let txn = db.begin_write().ctx("redb begin_write")?;
                txn.open_table(TABLE).ctx("redb create table")?;
                txn.commit().ctx("redb commit")?;
                Ok(Store::Redb {
                    db: Arc::new(db),
                    quick_repair: engine == Engine::RedbQuickRepair,
                })
            }
            Engine::Sqlite => {
                let conn = sqlite_open(&path)?;
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;",
                )
                .ctx("sqlite create table")?;
                Ok(Store::Sqlite { path })
            }
        }
    }

    /// Opens an existing store, running whatever recovery the engine needs, and reads one key
    /// so that SQLite's WAL recovery (done at the first read) is included.
    pub fn open_existing(engine: Engine, dir: &Path, probe: &[u8]) -> Res<OpenReport> {
        let path = Store::path(engine, dir);
        match engine {
            Engine::Redb | Engine::RedbQuickRepair => {
                let repaired = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let flag = Arc::clone(&repaired);
                let db = redb::Builder::new()
                    .set_cache_size(REDB_CACHE_BYTES)
                    .set_repair_callback(move |_| {
                        flag.store(true, std::sync::atomic::Ordering::Relaxed)
                    })
                    .open(&path)
                    .ctx(format!("reopen redb {}", path.display()))?;
                let store = Store::Redb {
                    db: Arc::new(db),
                    quick_repair: engine == Engine::RedbQuickRepair,
                };
                store.reader()?.get(probe)?;
                Ok(OpenReport {
                    store,
                    full_repair: repaired.load(std::sync::atomic::Ordering::Relaxed),
                })
            }
            Engine::Sqlite => {
                if !path.exists() {
                    return Err(format!("{} missing", path.display()).into());
                }
                let store = Store::Sqlite { path };
                store.reader()?.get(probe)?;
                Ok(OpenReport {
                    store,
                    full_repair: false,
                })
            }
        }
    }

    pub fn writer(&self) -> Res<Box<dyn Writer>> {
        match self {
            Store::Redb { db, quick_repair } => Ok(Box::new(RedbWriter {
                db: Arc::clone(db),
                quick_repair: *quick_repair,
            })),
            Store::Sqlite { path } => Ok(Box::new(SqliteWriter {
                conn: sqlite_open(path)?,
            })),
        }
    }

    pub fn reader(&self) -> Res<Box<dyn Reader>> {
        match self {
            Store::Redb { db, .. } => Ok(Box::new(RedbReader { db: Arc::clone(db) })),
            Store::Sqlite { path } => Ok(Box::new(SqliteReader {
                conn: sqlite_open(path)?,
            })),
        }
    }
}

fn sqlite_open(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path).ctx(format!("open sqlite {}", path.display()))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .ctx("sqlite journal_mode=WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("sqlite journal_mode is {mode}, wanted wal").into());
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous=FULL; PRAGMA cache_size=-{SQLITE_CACHE_KIB}; PRAGMA busy_timeout=10000;"
    ))
    .ctx("sqlite pragmas")?;
    Ok(conn)
}

struct RedbWriter {
    db: Arc<Database>,
    quick_repair: bool,
}

impl RedbWriter {
    fn txn(&self) -> Res<redb::WriteTransaction> {
        let mut txn = self.db.begin_write().ctx("redb begin_write")?;
        txn.set_durability(Durability::Immediate)
            .ctx("redb set_durability")?;
        txn.set_quick_repair(self.quick_repair);
        Ok(txn)
    }
}

impl Writer for RedbWriter {
    fn deliver(&mut self, mailboxes: &[u32]) -> Res<()> {
        let txn = self.txn()?;
        {
            let mut t = txn.open_table(TABLE).ctx("redb open_table")?;
            for &mb in mailboxes {
                let ck = counter_key(mb);
                let (uid, modseq) = {
                    let cur = t.get(ck.as_slice()).ctx("redb get counter")?;
                    decode_counter(cur.as_ref().map(|g| g.value()))?
                };
                let modseq = modseq + 1;
                t.insert(msg_key(mb, uid).as_slice(), msg_value(mb, uid).as_slice())
                    .ctx("redb insert message")?;
                t.insert(
                    modseq_key(mb, modseq).as_slice(),
                    uid.to_be_bytes().as_slice(),
                )
                .ctx("redb insert modseq")?;
                t.insert(ck.as_slice(), encode_counter(uid + 1, modseq).as_slice())
                    .ctx("redb insert counter")?;
            }
        }
        txn.commit().ctx("redb commit")
    }

    fn put_rows(&mut self, first: u64, n: u64) -> Res<()> {
        let txn = self.txn()?;
        {
            let mut t = txn.open_table(TABLE).ctx("redb open_table")?;
            for i in first..first + n {
                let (mb, uid) = crash_row(i);
                t.insert(msg_key(mb, uid).as_slice(), msg_value(mb, uid).as_slice())
                    .ctx("redb insert row")?;
            }
        }
        txn.commit().ctx("redb commit")
    }
}

struct RedbReader {
    db: Arc<Database>,
}

impl Reader for RedbReader {
    fn get(&mut self, key: &[u8]) -> Res<bool> {
        let rtx = self.db.begin_read().ctx("redb begin_read")?;
        let t = rtx.open_table(TABLE).ctx("redb open_table (read)")?;
        Ok(t.get(key).ctx("redb get")?.is_some())
    }

    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let rtx = self.db.begin_read().ctx("redb begin_read")?;
        let t = rtx.open_table(TABLE).ctx("redb open_table (read)")?;
        let mut bytes = 0;
        for item in t.range(start..).ctx("redb range")?.take(n) {
            let (k, v) = item.ctx("redb range item")?;
            bytes += k.value().len() + v.value().len();
        }
        Ok(bytes)
    }

    fn walk(&mut self, start: &[u8], f: &mut dyn FnMut(&[u8]) -> bool) -> Res<()> {
        let rtx = self.db.begin_read().ctx("redb begin_read")?;
        let t = rtx.open_table(TABLE).ctx("redb open_table (read)")?;
        for item in t.range(start..).ctx("redb range")? {
            let (k, _) = item.ctx("redb range item")?;
            if !f(k.value()) {
                break;
            }
        }
        Ok(())
    }
}

struct SqliteWriter {
    conn: Connection,
}

const SQL_GET: &str = "SELECT v FROM kv WHERE k = ?1";
const SQL_PUT: &str = "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)";
const SQL_SCAN: &str = "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2";

impl Writer for SqliteWriter {
    fn deliver(&mut self, mailboxes: &[u32]) -> Res<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("sqlite begin immediate")?;
        {
            let mut get = tx.prepare_cached(SQL_GET).ctx("sqlite prepare get")?;
            let mut put = tx.prepare_cached(SQL_PUT).ctx("sqlite prepare put")?;
            for &mb in mailboxes {
                let ck = counter_key(mb);
                let cur: Option<Vec<u8>> = get
                    .query_row(params![ck.as_slice()], |r| r.get(0))
                    .optional()
                    .ctx("sqlite get counter")?;
                let (uid, modseq) = decode_counter(cur.as_deref())?;
                let modseq = modseq + 1;
                put.execute(params![
                    msg_key(mb, uid).as_slice(),
                    msg_value(mb, uid).as_slice()
                ])
                .ctx("sqlite put message")?;
                put.execute(params![
                    modseq_key(mb, modseq).as_slice(),
                    uid.to_be_bytes().as_slice()
                ])
                .ctx("sqlite put modseq")?;
                put.execute(params![
                    ck.as_slice(),
                    encode_counter(uid + 1, modseq).as_slice()
                ])
                .ctx("sqlite put counter")?;
            }
        }
        tx.commit().ctx("sqlite commit")
    }

    fn put_rows(&mut self, first: u64, n: u64) -> Res<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("sqlite begin immediate")?;
        {
            let mut put = tx.prepare_cached(SQL_PUT).ctx("sqlite prepare put")?;
            for i in first..first + n {
                let (mb, uid) = crash_row(i);
                put.execute(params![
                    msg_key(mb, uid).as_slice(),
                    msg_value(mb, uid).as_slice()
                ])
                .ctx("sqlite put row")?;
            }
        }
        tx.commit().ctx("sqlite commit")
    }
}

struct SqliteReader {
    conn: Connection,
}

impl Reader for SqliteReader {
    fn get(&mut self, key: &[u8]) -> Res<bool> {
        let mut stmt = self.conn.prepare_cached(SQL_GET).ctx("sqlite prepare")?;
        let found = stmt
            .query_row(params![key], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .ctx("sqlite get")?;
        Ok(found.is_some())
    }

    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut stmt = self.conn.prepare_cached(SQL_SCAN).ctx("sqlite prepare")?;
        let mut rows = stmt.query(params![start, n as i64]).ctx("sqlite scan")?;
        let mut bytes = 0;
        while let Some(row) = rows.next().ctx("sqlite scan row")? {
            let k = row
                .get_ref(0)
                .ctx("sqlite k")?
                .as_blob()
                .ctx("sqlite k blob")?;
            let v = row
                .get_ref(1)
                .ctx("sqlite v")?
                .as_blob()
                .ctx("sqlite v blob")?;
            bytes += k.len() + v.len();
        }
        Ok(bytes)
    }

    fn walk(&mut self, start: &[u8], f: &mut dyn FnMut(&[u8]) -> bool) -> Res<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT k FROM kv WHERE k >= ?1 ORDER BY k")
            .ctx("sqlite prepare walk")?;
        let mut rows = stmt.query(params![start]).ctx("sqlite walk")?;
        while let Some(row) = rows.next().ctx("sqlite walk row")? {
            let k = row
                .get_ref(0)
                .ctx("sqlite k")?
                .as_blob()
                .ctx("sqlite k blob")?;
            if !f(k) {
                break;
            }
        }
        Ok(())
    }
}
