//! Message-row bookkeeping shared by every write that adds or removes messages: UID and MODSEQ
//! allocation, the modseq index and tombstones, mailbox counters, account and domain usage,
//! quota, blob references and the purge queue. Keeping it in one place is what keeps `check()`
//! true after delivery, append, copy, move, expunge and mailbox deletion alike.

use super::tenancy::split_domain;
use super::tx_record;
use crate::backend::ReadView;
use crate::blob::BlobHash;
use crate::commit::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{AccountRecord, DomainRecord, MailboxRecord, MessageRecord, decode, encode};

/// Point reads from either a snapshot or a write unit, so lookups are written once.
pub(crate) trait Lookup {
    /// The value at `key`.
    fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

impl Lookup for Tx<'_> {
    fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(key)
    }
}

impl Lookup for dyn ReadView + '_ {
    fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(key)
    }
}

pub(crate) fn not_found(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("no such mailbox: {name}"))
}

fn gone(id: u32) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("the mailbox (id {id}) no longer exists; it was deleted or renamed away"),
    )
}

/// A mailbox by its canonical name.
pub(crate) fn mailbox_named<L: Lookup + ?Sized>(
    src: &L,
    account: u64,
    name: &str,
) -> Result<MailboxRecord> {
    match src.lookup(&keys::mailbox(account, name))? {
        Some(v) => decode(&v),
        None => Err(not_found(name)),
    }
}

/// A mailbox by id with its current name. `NotFound` once deleted.
pub(crate) fn mailbox_by_id<L: Lookup + ?Sized>(
    src: &L,
    account: u64,
    id: u32,
) -> Result<(String, MailboxRecord)> {
    let name = src
        .lookup(&keys::mailbox_by_id(account, id))?
        .ok_or_else(|| gone(id))?;
    let name = String::from_utf8(name)
        .map_err(|_| Error::new(ErrorKind::Internal, "mailbox name is not UTF-8"))?;
    let record = mailbox_named(src, account, &name)?;
    if record.id != id {
        return Err(gone(id));
    }
    Ok((name, record))
}

/// A message row.
pub(crate) fn message<L: Lookup + ?Sized>(
    src: &L,
    account: u64,
    mailbox: u32,
    uid: u32,
) -> Result<Option<MessageRecord>> {
    src.lookup(&keys::message(account, mailbox, uid))?
        .map(|v| decode(&v))
        .transpose()
}

/// The account a write acts for, with what quota needs.
pub(crate) struct Owner {
    pub(crate) id: u64,
    pub(crate) domain: String,
    pub(crate) record: AccountRecord,
}

/// Loads the account with id `account`. `NotFound` if it was removed.
pub(crate) fn owner(tx: &Tx<'_>, account: u64) -> Result<Owner> {
    let removed = || {
        Error::new(
            ErrorKind::NotFound,
            format!("account {account} was removed"),
        )
    };
    let address = tx.get(&keys::account_by_id(account))?.ok_or_else(removed)?;
    let address = String::from_utf8(address)
        .map_err(|_| Error::new(ErrorKind::Internal, "account address is not UTF-8"))?;
    let record: AccountRecord = tx_record(tx, &keys::account(&address))?
        .filter(|a: &AccountRecord| a.id == account)
        .ok_or_else(removed)?;
    Ok(Owner {
        id: account,
        domain: split_domain(&address).0.to_string(),
        record,
    })
}

/// Refuses `bytes` more for the owner's account or domain quota (`OverQuota`).
pub(crate) fn check_quota(tx: &Tx<'_>, owner: &Owner, bytes: u64) -> Result<()> {
    let used = tx.counter(&keys::account_usage(owner.id))?.max(0) as u64;
    if !fits(owner.record.quota, used, bytes) {
        return Err(Error::new(
            ErrorKind::OverQuota,
            format!(
                "the account is over its quota of {} bytes ({used} used)",
                owner.record.quota
            ),
        ));
    }
    if let Some(dom) = tx_record::<DomainRecord>(tx, &keys::domain(&owner.domain))? {
        let dused = tx.counter(&keys::domain_usage(&owner.domain))?.max(0) as u64;
        if !fits(dom.quota, dused, bytes) {
            return Err(Error::new(
                ErrorKind::OverQuota,
                format!("domain {} is over its quota", owner.domain),
            ));
        }
    }
    Ok(())
}

/// Whether `size` more bytes fit a quota (0 = unlimited). A store already at its quota is
/// full even for a size of 0 (RCPT without SIZE=).
pub(crate) fn fits(quota: u64, used: u64, size: u64) -> bool {
    quota == 0 || (used < quota && used.saturating_add(size) <= quota)
}

/// Moves the owner's usage counters by `bytes` and `messages` (negative to free).
pub(crate) fn charge(tx: &mut Tx<'_>, owner_id: u64, domain: &str, bytes: i64, messages: i64) {
    tx.add(keys::account_usage(owner_id), bytes);
    tx.add(keys::account_messages_count(owner_id), messages);
    tx.add(keys::domain_usage(domain), bytes);
}

/// The next MODSEQ of a mailbox (RFC 7162 §3.1.1: strictly increasing per mailbox).
pub(crate) fn next_modseq(mbox: &mut MailboxRecord) -> Result<u64> {
    mbox.highest_modseq = mbox
        .highest_modseq
        .checked_add(1)
        .ok_or_else(|| Error::new(ErrorKind::Limit, "the mailbox has used up its MODSEQs"))?;
    Ok(mbox.highest_modseq)
}

/// A new store-wide message id (the POP3 UIDL).
pub(crate) fn next_gid(tx: &mut Tx<'_>) -> Result<u64> {
    let gid = (tx.counter(&keys::sequence("message"))? as u64).saturating_add(1);
    tx.add(keys::sequence("message"), 1);
    Ok(gid)
}

/// Moves the message-id sequence up to `gid` if it is below, so [`next_gid`] never hands out
/// a gid that an imported message kept. Nothing to do for 0 (nothing kept: every append but
/// an import's).
pub(crate) fn reserve_gids_through(tx: &mut Tx<'_>, gid: u64) -> Result<()> {
    if gid == 0 {
        return Ok(());
    }
    let last = tx.counter(&keys::sequence("message"))?;
    let wanted = i64::try_from(gid)
        .map_err(|_| Error::new(ErrorKind::InvalidData, "message id out of range"))?;
    if wanted > last {
        tx.add(keys::sequence("message"), wanted - last);
    }
    Ok(())
}

/// Adds `record` to `mbox` under a new UID and MODSEQ (a new gid if it has none). Mailbox
/// counters move; account usage and blob references are the caller's. The caller writes `mbox`.
pub(crate) fn insert(
    tx: &mut Tx<'_>,
    account: u64,
    mbox: &mut MailboxRecord,
    mut record: MessageRecord,
) -> Result<(u32, MessageRecord)> {
    let uid = mbox.uidnext.max(1);
    mbox.uidnext = uid.checked_add(1).ok_or_else(|| {
        Error::new(
            ErrorKind::Limit,
            "the mailbox has used up its UIDs; rename it and create a new one",
        )
    })?;
    record.modseq = next_modseq(mbox)?;
    if record.gid == 0 {
        record.gid = next_gid(tx)?;
    }
    mbox.messages = mbox.messages.saturating_add(1);
    mbox.size = mbox.size.saturating_add(record.size);
    tx.set(keys::message(account, mbox.id, uid), encode(&record)?);
    tx.set(
        keys::modseq(account, mbox.id, record.modseq),
        uid.to_be_bytes().to_vec(),
    );
    Ok((uid, record))
}

/// Removes a message row from `mbox`: the row and its modseq entry go, a tombstone is written at
/// a new MODSEQ (RFC 7162 §3.2.10 VANISHED), mailbox counters drop. Usage and the blob
/// reference are the caller's. The caller writes `mbox`.
pub(crate) fn remove(
    tx: &mut Tx<'_>,
    account: u64,
    mbox: &mut MailboxRecord,
    uid: u32,
    record: &MessageRecord,
) -> Result<()> {
    tx.clear(keys::message(account, mbox.id, uid));
    tx.clear(keys::modseq(account, mbox.id, record.modseq));
    let modseq = next_modseq(mbox)?;
    tx.set(
        keys::tombstone(account, mbox.id, modseq),
        uid.to_be_bytes().to_vec(),
    );
    mbox.messages = mbox.messages.saturating_sub(1);
    mbox.size = mbox.size.saturating_sub(record.size);
    Ok(())
}

/// Hands one reference to `hash` to the purge queue; the purger drops it later.
pub(crate) fn enqueue_purge(tx: &mut Tx<'_>, hash: &BlobHash) -> Result<()> {
    let id = (tx.counter(&keys::sequence("purge"))? as u64).saturating_add(1);
    tx.add(keys::sequence("purge"), 1);
    let mut value = hash.to_vec();
    value.extend_from_slice(&super::now().to_be_bytes());
    tx.set(keys::purge(id), value);
    Ok(())
}

/// A UIDVALIDITY never handed out before in this store (RFC 9051 §2.3.1.1: a mailbox created
/// with a name used before must get a larger one). The clock keeps values unique across a
/// store rebuilt from scratch; the counter keeps them increasing when the clock does not.
pub(crate) fn next_uidvalidity(tx: &mut Tx<'_>) -> Result<u32> {
    let last = tx.counter(&keys::sequence("uidvalidity"))?.max(0);
    let clock = i64::from(u32::try_from(super::now()).unwrap_or(u32::MAX));
    let next = clock.max(last.saturating_add(1)).max(1);
    let value = u32::try_from(next).map_err(|_| {
        Error::new(
            ErrorKind::Limit,
            "the store has used up its UIDVALIDITY values",
        )
    })?;
    tx.add(keys::sequence("uidvalidity"), next - last);
    Ok(value)
}

/// Creates the mailbox `name` (canonical, known not to exist) for `account`, taking the next
/// mailbox id from `record`; writes the mailbox and its by-id entry. The caller writes `record`.
pub(crate) fn create(
    tx: &mut Tx<'_>,
    account: &mut AccountRecord,
    name: &str,
    special_use: Option<String>,
) -> Result<MailboxRecord> {
    let id = account.next_mailbox.max(1);
    account.next_mailbox = id
        .checked_add(1)
        .ok_or_else(|| Error::new(ErrorKind::Limit, "the account has used up its mailbox ids"))?;
    let mailbox = MailboxRecord {
        id,
        uidvalidity: next_uidvalidity(tx)?,
        uidnext: 1,
        highest_modseq: 1,
        special_use,
        recent_uid: 1,
        messages: 0,
        size: 0,
    };
    tx.set(keys::mailbox(account.id, name), encode(&mailbox)?);
    tx.set(
        keys::mailbox_by_id(account.id, id),
        name.as_bytes().to_vec(),
    );
    Ok(mailbox)
}
