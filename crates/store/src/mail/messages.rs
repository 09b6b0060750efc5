//! Messages in a mailbox: append, flags, expunge, copy, move, reading bodies, `\Recent`.
//!
//! Implementation notes:
//! - Every call takes the account id and (but for append/targets) the mailbox id from
//!   `select`, so a concurrent rename does not redirect a selected session.
//! - Work on many UIDs is split into units of [`BATCH`] rows so no transaction grows with the
//!   mailbox; COPY and MULTIAPPEND are the exceptions, because RFC 9051 §6.4.7 and RFC 3502
//!   require all or nothing.
//! - Each changed message gets its own MODSEQ, so the modseq index maps a MODSEQ to one UID.
//! - Expunge is the logical delete of DESIGN.md: rows, counters and quota go in the unit; the
//!   blob reference goes to the purge queue.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::delivery::{INLINE_MAX, header_message_id};
use super::flags::{self, FlagMode};
use super::rows;
use super::{MailStore, MailboxChanged, now};
use crate::blob::BlobHash;
use crate::commit::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{MessageRecord, encode};

/// Rows changed per unit of work by flag changes, expunges and moves.
pub(crate) const BATCH: usize = 1000;

/// Most messages one COPY may take: it is one transaction.
pub const MAX_COPY: usize = 100_000;

/// One message as a session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// UID in its mailbox.
    pub uid: u32,
    /// Message id, kept across moves and export/import, unique within the account (POP3 UIDL).
    pub gid: u64,
    /// Flags, normalized (see `flags.rs`), never `\Recent`.
    pub flags: Vec<String>,
    /// MODSEQ of the last change (RFC 7162).
    pub modseq: u64,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub received: i64,
    /// The body's address (its SHA-256), for [`MailStore::message_bytes`].
    pub blob: crate::blob::BlobHash,
}

/// What `store_flags` did.
#[derive(Debug, Clone, Default)]
pub struct FlagOutcome {
    /// Messages whose flags changed, with their new flags and MODSEQ, in UID order.
    pub changed: Vec<MessageMeta>,
    /// Messages that already had the requested flags (no new MODSEQ), in UID order.
    pub unchanged: Vec<MessageMeta>,
    /// UIDs refused because their MODSEQ was above UNCHANGEDSINCE (RFC 7162 §3.1.3 MODIFIED).
    pub modified: Vec<u32>,
}

/// What a copy or move did, for COPYUID (RFC 4315 §3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOutcome {
    /// UIDVALIDITY of the target mailbox.
    pub uidvalidity: u32,
    /// (source UID, target UID) in source UID order; expunged sources are absent.
    pub pairs: Vec<(u32, u32)>,
}

/// One message to append.
type NewMessage = (Vec<u8>, Vec<String>, Option<i64>);

pub(crate) fn meta(uid: u32, record: MessageRecord) -> Result<MessageMeta> {
    Ok(MessageMeta {
        uid,
        blob: blob_of(&record)?,
        gid: record.gid,
        flags: record.flags,
        modseq: record.modseq,
        size: record.size,
        received: record.received,
    })
}

impl MailStore {
    /// Appends one message (RFC 9051 §6.3.12); durable when it returns. `received` defaults
    /// to now. Returns (UIDVALIDITY, UID) for APPENDUID (RFC 4315).
    ///
    /// Errors: `InvalidData` (bad name or flag), `NotFound` (mailbox), `OverQuota`, `Limit`.
    pub async fn append(
        &self,
        account: u64,
        mailbox: &str,
        message: Vec<u8>,
        flags: Vec<String>,
        received: Option<i64>,
    ) -> Result<(u32, u32)> {
        let (validity, uids) = self
            .append_many(account, mailbox, vec![(message, flags, received)])
            .await?;
        let uid = uids
            .first()
            .copied()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "append stored nothing"))?;
        Ok((validity, uid))
    }

    /// Appends several messages in one commit: all or none (MULTIAPPEND, RFC 3502 §3). Quota
    /// is checked for their sum. Returns UIDVALIDITY and the UIDs in the given order.
    ///
    /// Errors: as [`MailStore::append`]; `InvalidData` for an empty list.
    pub async fn append_many(
        &self,
        account: u64,
        mailbox: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(u32, Vec<u32>)> {
        let fresh = messages.into_iter().map(|m| (m, 0)).collect();
        self.append_with_gids(account, mailbox, fresh).await
    }

    /// [`MailStore::append_many`], each message with the gid (POP3 UIDL) it is to keep, or 0
    /// for a new one. The message-id sequence moves past every kept gid, so no later message
    /// is given one of them. Choosing gids no other message of the account has is the
    /// caller's part (`transfer.rs`).
    pub(crate) async fn append_with_gids(
        &self,
        account: u64,
        mailbox: &str,
        messages: Vec<(NewMessage, u64)>,
    ) -> Result<(u32, Vec<u32>)> {
        if messages.is_empty() {
            return Err(Error::new(ErrorKind::InvalidData, "nothing to append"));
        }
        let name = super::names::canonical(mailbox)?;
        let mut prepared = Vec::with_capacity(messages.len());
        let gate = if messages.iter().any(|((b, _, _), _)| b.len() > INLINE_MAX) {
            Some(self.blob_gate.clone().read_owned().await)
        } else {
            None
        };
        let kept = messages.iter().map(|(_, gid)| *gid).max().unwrap_or(0);
        for ((body, flag_list, received), gid) in messages {
            let flag_list = flags::normalize(&flag_list)?;
            let size = body.len() as u64;
            let message_id = header_message_id(&body);
            let structure = super::structure::encode(&body);
            let (hash, inline) = self.store_body(body).await?;
            let record = MessageRecord {
                gid,
                blob: crate::blob::hash_hex(&hash),
                size,
                received: received.unwrap_or_else(now),
                flags: flag_list,
                modseq: 0,
                message_id,
            };
            prepared.push((hash, inline, record, structure));
        }
        let (validity, id, uids) = self
            .write(move |tx| {
                let owner = rows::owner(tx, account)?;
                let total = prepared.iter().map(|(_, _, r, _)| r.size).sum::<u64>();
                rows::check_quota(tx, &owner, total)?;
                let mut mbox = rows::mailbox_named(tx, account, &name)?;
                // Before the inserts: the new gids they hand out must skip the kept ones.
                rows::reserve_gids_through(tx, kept)?;
                let mut uids = Vec::with_capacity(prepared.len());
                let count = prepared.len() as i64;
                for (hash, inline, record, structure) in prepared {
                    let (uid, _) = rows::insert(tx, account, &mut mbox, record)?;
                    tx.add(keys::blob_refs(&hash), 1);
                    if let Some(bytes) = inline {
                        tx.set(keys::blob_inline(&hash), bytes);
                    }
                    super::structure::remember(tx, &hash, structure)?;
                    uids.push(uid);
                }
                rows::charge(tx, account, &owner.domain, total as i64, count);
                tx.set(keys::mailbox(account, &name), encode(&mbox)?);
                Ok((mbox.uidvalidity, mbox.id, uids))
            })
            .await?;
        drop(gate);
        self.publish(vec![MailboxChanged {
            account,
            mailbox: id,
        }]);
        Ok((validity, uids))
    }

    /// Changes flags of the given UIDs (RFC 9051 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE).
    /// Expunged UIDs are skipped silently; a change that leaves the flags as they were takes no
    /// MODSEQ. Work goes in units of [`BATCH`] UIDs.
    ///
    /// Errors: `InvalidData` (bad flag), `NotFound` (mailbox gone).
    pub async fn store_flags(
        &self,
        account: u64,
        mailbox_id: u32,
        uids: &[u32],
        mode: FlagMode,
        flag_list: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagOutcome> {
        let given = flags::normalize(flag_list)?;
        let uids = sorted_unique(uids);
        let given = std::sync::Arc::new(given);
        let parts = self
            .per_batch(&uids, move |tx, chunk| {
                flags_unit(
                    tx,
                    account,
                    mailbox_id,
                    chunk,
                    mode,
                    &given,
                    unchanged_since,
                )
            })
            .await?;
        let mut outcome = FlagOutcome::default();
        for part in parts {
            outcome.changed.extend(part.changed);
            outcome.unchanged.extend(part.unchanged);
            outcome.modified.extend(part.modified);
        }
        if !outcome.changed.is_empty() {
            self.publish(vec![MailboxChanged {
                account,
                mailbox: mailbox_id,
            }]);
        }
        Ok(outcome)
    }

    /// Expunges the messages flagged `\Deleted` (only those in `uids` if given: UID EXPUNGE,
    /// RFC 9051 §6.4.9). Each batch of [`BATCH`] is one commit that removes the rows, frees the
    /// quota and leaves tombstones; bodies go to the purger. Returns the expunged UIDs,
    /// ascending.
    ///
    /// Errors: `NotFound` (mailbox gone).
    pub async fn expunge(
        &self,
        account: u64,
        mailbox_id: u32,
        uids: Option<&[u32]>,
    ) -> Result<Vec<u32>> {
        let wanted: Option<BTreeSet<u32>> = uids.map(|u| u.iter().copied().collect());
        let candidates: Vec<u32> = {
            let view = self.read()?;
            rows::mailbox_by_id(&*view, account, mailbox_id)?;
            super::scan_all(&*view, &keys::messages(account, mailbox_id))?
                .into_iter()
                .filter_map(|(k, v)| {
                    let (_, _, uid) = keys::message_parts(&k)?;
                    let record: MessageRecord = crate::records::decode(&v).ok()?;
                    (flags::has(&record.flags, flags::DELETED)
                        && wanted.as_ref().is_none_or(|w| w.contains(&uid)))
                    .then_some(uid)
                })
                .collect()
        };
        let removed: Vec<u32> = self
            .per_batch(&candidates, move |tx, chunk| {
                expunge_unit(tx, account, mailbox_id, chunk, Expunge::FlaggedDeleted)
            })
            .await?
            .into_iter()
            .flatten()
            .collect();
        self.expunged(account, mailbox_id, &removed);
        Ok(removed)
    }

    /// After messages left a mailbox (EXPUNGE, POP3 QUIT): their bodies wait for the purger,
    /// and sessions on the mailbox are told.
    pub(super) fn expunged(&self, account: u64, mailbox_id: u32, removed: &[u32]) {
        if removed.is_empty() {
            return;
        }
        self.purge_wake.notify_one();
        self.publish(vec![MailboxChanged {
            account,
            mailbox: mailbox_id,
        }]);
    }

    /// Copies messages to the mailbox named `to` (RFC 9051 §6.4.7): new rows, UIDs and gids,
    /// flags and INTERNALDATE kept, one more blob reference each. One commit: all or none, quota
    /// checked for the sum. Expunged source UIDs are skipped.
    ///
    /// Errors: `InvalidData` (bad name), `NotFound` (either mailbox), `OverQuota`, `Limit`
    /// (more than [`MAX_COPY`] messages).
    pub async fn copy_messages(
        &self,
        account: u64,
        from_id: u32,
        uids: &[u32],
        to: &str,
    ) -> Result<CopyOutcome> {
        let to = super::names::canonical(to)?;
        let uids = sorted_unique(uids);
        if uids.len() > MAX_COPY {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("copy at most {MAX_COPY} messages at a time"),
            ));
        }
        let (outcome, target) = self
            .write(move |tx| {
                rows::mailbox_by_id(tx, account, from_id)?;
                let mut dest = rows::mailbox_named(tx, account, &to)?;
                let owner = rows::owner(tx, account)?;
                let mut sources = Vec::with_capacity(uids.len());
                for uid in uids {
                    if let Some(record) = rows::message(tx, account, from_id, uid)? {
                        sources.push((uid, record));
                    }
                }
                let total = sources.iter().map(|(_, r)| r.size).sum::<u64>();
                if !sources.is_empty() {
                    rows::check_quota(tx, &owner, total)?;
                }
                let mut pairs = Vec::with_capacity(sources.len());
                for (uid, mut record) in sources {
                    let hash = blob_of(&record)?;
                    record.gid = 0;
                    let (new_uid, _) = rows::insert(tx, account, &mut dest, record)?;
                    tx.add(keys::blob_refs(&hash), 1);
                    pairs.push((uid, new_uid));
                }
                if !pairs.is_empty() {
                    rows::charge(tx, account, &owner.domain, total as i64, pairs.len() as i64);
                    tx.set(keys::mailbox(account, &to), encode(&dest)?);
                }
                Ok((
                    CopyOutcome {
                        uidvalidity: dest.uidvalidity,
                        pairs,
                    },
                    dest.id,
                ))
            })
            .await?;
        if !outcome.pairs.is_empty() {
            self.publish(vec![MailboxChanged {
                account,
                mailbox: target,
            }]);
        }
        Ok(outcome)
    }

    /// Moves messages to the mailbox named `to` (RFC 6851): per batch of [`BATCH`], one commit
    /// copies and expunges, keeping each message's gid, flags and INTERNALDATE; the source gets
    /// tombstones. Usage does not change, so no quota check (moving to Trash must work when
    /// full). Expunged source UIDs are skipped.
    ///
    /// Errors: `InvalidData` (bad name), `NotFound` (either mailbox), `Limit`.
    pub async fn move_messages(
        &self,
        account: u64,
        from_id: u32,
        uids: &[u32],
        to: &str,
    ) -> Result<CopyOutcome> {
        let to = super::names::canonical(to)?;
        let uids = sorted_unique(uids);
        let mut outcome = CopyOutcome::default();
        let mut target = None;
        if uids.is_empty() {
            let view = self.read()?;
            rows::mailbox_by_id(&*view, account, from_id)?;
            outcome.uidvalidity = rows::mailbox_named(&*view, account, &to)?.uidvalidity;
        }
        let batches = self
            .per_batch(&uids, move |tx, chunk| {
                move_unit(tx, account, from_id, chunk, &to)
            })
            .await?;
        for batch in batches {
            outcome.uidvalidity = batch.uidvalidity;
            outcome.pairs.extend(batch.pairs);
            target = Some(batch.target);
        }
        if let Some(dest) = target.filter(|_| !outcome.pairs.is_empty()) {
            self.publish(vec![
                MailboxChanged {
                    account,
                    mailbox: from_id,
                },
                MailboxChanged {
                    account,
                    mailbox: dest,
                },
            ]);
        }
        Ok(outcome)
    }

    /// The bytes of a message body by its blob address (`MessageMeta::blob`): the inline copy
    /// in the metadata store, else the file.
    ///
    /// Errors: `InvalidData` (malformed address), `Internal` (missing body).
    pub async fn message_bytes(&self, blob: &crate::blob::BlobHash) -> Result<Vec<u8>> {
        let hash = *blob;
        // An inline body is one small read, usually of a cached page (`reads_fast`).
        if self.reads_fast() {
            if let Some(bytes) = self.read()?.get(&keys::blob_inline(&hash))? {
                return Ok(bytes);
            }
            return self.blocking(move |blobs| blobs.get(&hash)).await;
        }
        // Both reads run off the async workers: a slow store must not stall other sessions,
        // and a caller's deadline (POP3 RETR) can then fire on time.
        self.off_workers(move |store| {
            if let Some(bytes) = store.read()?.get(&keys::blob_inline(&hash))? {
                return Ok(bytes);
            }
            store.blobs.get(&hash)
        })
        .await
    }

    /// Runs `unit` over `uids` in slices of [`BATCH`], one commit each, in order; stops at the
    /// first error (earlier batches stay committed). Returns each batch's result.
    pub(crate) async fn per_batch<T, F>(&self, uids: &[u32], unit: F) -> Result<Vec<T>>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>, &[u32]) -> Result<T> + Send + Sync + 'static,
    {
        let unit = Arc::new(unit);
        let mut out = Vec::with_capacity(uids.len().div_ceil(BATCH));
        for chunk in uids.chunks(BATCH) {
            let chunk = chunk.to_vec();
            let unit = unit.clone();
            out.push(self.write(move |tx| unit(tx, &chunk)).await?);
        }
        Ok(out)
    }

    /// Claims `\Recent` for a session selecting the mailbox (RFC 3501 §2.3.2): returns the
    /// first UID that is recent for this session (UIDs from it up to UIDNEXT-1 are recent),
    /// and marks them claimed so no later session sees them as recent.
    ///
    /// Errors: `NotFound` (mailbox gone).
    pub async fn claim_recent(&self, account: u64, mailbox_id: u32) -> Result<u32> {
        // Nothing new since the last claim (the usual SELECT): answer from a snapshot instead of
        // a durable commit.
        {
            let view = self.read()?;
            let (_, mbox) = rows::mailbox_by_id(&*view, account, mailbox_id)?;
            let first = mbox.recent_uid.max(1);
            if mbox.uidnext <= first {
                return Ok(first);
            }
        }
        self.write(move |tx| {
            let (name, mut mbox) = rows::mailbox_by_id(tx, account, mailbox_id)?;
            let first = mbox.recent_uid.max(1);
            if mbox.uidnext > first {
                mbox.recent_uid = mbox.uidnext;
                tx.set(keys::mailbox(account, &name), encode(&mbox)?);
            }
            Ok(first)
        })
        .await
    }
}

/// Ascending UIDs without duplicates.
pub(crate) fn sorted_unique(uids: &[u32]) -> Vec<u32> {
    uids.iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// One batch of a flag change, inside a write unit.
fn flags_unit(
    tx: &mut Tx<'_>,
    account: u64,
    mailbox_id: u32,
    uids: &[u32],
    mode: FlagMode,
    given: &[String],
    unchanged_since: Option<u64>,
) -> Result<FlagOutcome> {
    let (name, mut mbox) = rows::mailbox_by_id(tx, account, mailbox_id)?;
    let mut part = FlagOutcome::default();
    for &uid in uids {
        let Some(mut record) = rows::message(tx, account, mailbox_id, uid)? else {
            continue;
        };
        if unchanged_since.is_some_and(|since| record.modseq > since) {
            part.modified.push(uid);
            continue;
        }
        let next = flags::apply(&record.flags, mode, given);
        if next == record.flags {
            part.unchanged.push(meta(uid, record)?);
            continue;
        }
        tx.clear(keys::modseq(account, mailbox_id, record.modseq));
        record.modseq = rows::next_modseq(&mut mbox)?;
        record.flags = next;
        tx.set(
            keys::modseq(account, mailbox_id, record.modseq),
            uid.to_be_bytes().to_vec(),
        );
        tx.set(keys::message(account, mailbox_id, uid), encode(&record)?);
        part.changed.push(meta(uid, record)?);
    }
    if !part.changed.is_empty() {
        tx.set(keys::mailbox(account, &name), encode(&mbox)?);
    }
    Ok(part)
}

/// Which of the given UIDs a logical delete takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expunge {
    /// Only those flagged `\Deleted` now (IMAP EXPUNGE: the flag may have been cleared since
    /// the candidates were read).
    FlaggedDeleted,
    /// Every one still there (POP3 DELE + QUIT).
    All,
}

/// One batch of a logical delete, inside a write unit: removes the rows (leaving tombstones),
/// frees mailbox, account and domain usage, and hands each body reference to the purge queue.
/// UIDs already gone are skipped. Returns the UIDs removed.
///
/// Errors: `NotFound` when the mailbox or the account is gone.
pub(crate) fn expunge_unit(
    tx: &mut Tx<'_>,
    account: u64,
    mailbox_id: u32,
    uids: &[u32],
    which: Expunge,
) -> Result<Vec<u32>> {
    let (name, mut mbox) = rows::mailbox_by_id(tx, account, mailbox_id)?;
    let owner = rows::owner(tx, account)?;
    let mut removed = Vec::new();
    let mut freed = 0u64;
    for &uid in uids {
        let Some(record) = rows::message(tx, account, mailbox_id, uid)? else {
            continue;
        };
        if which == Expunge::FlaggedDeleted && !flags::has(&record.flags, flags::DELETED) {
            continue;
        }
        rows::remove(tx, account, &mut mbox, uid, &record)?;
        rows::enqueue_purge(tx, &blob_of(&record)?)?;
        freed = freed.saturating_add(record.size);
        removed.push(uid);
    }
    if !removed.is_empty() {
        rows::charge(
            tx,
            account,
            &owner.domain,
            -(freed as i64),
            -(removed.len() as i64),
        );
        tx.set(keys::mailbox(account, &name), encode(&mbox)?);
    }
    Ok(removed)
}

/// What one batch of a move did.
struct MovedBatch {
    uidvalidity: u32,
    target: u32,
    pairs: Vec<(u32, u32)>,
}

/// One batch of a move, inside a write unit.
fn move_unit(
    tx: &mut Tx<'_>,
    account: u64,
    from_id: u32,
    uids: &[u32],
    to: &str,
) -> Result<MovedBatch> {
    let (from_name, mut source) = rows::mailbox_by_id(tx, account, from_id)?;
    let same = from_name == to;
    let mut dest = if same {
        None
    } else {
        Some(rows::mailbox_named(tx, account, to)?)
    };
    let mut pairs = Vec::with_capacity(uids.len());
    for &uid in uids {
        let Some(record) = rows::message(tx, account, from_id, uid)? else {
            continue;
        };
        rows::remove(tx, account, &mut source, uid, &record)?;
        // The gid stays: it is the POP3 UIDL, which must survive moves.
        let target = dest.as_mut().unwrap_or(&mut source);
        let (new_uid, _) = rows::insert(tx, account, target, record)?;
        pairs.push((uid, new_uid));
    }
    let (validity, dest_id) = match &dest {
        Some(d) => (d.uidvalidity, d.id),
        None => (source.uidvalidity, source.id),
    };
    if !pairs.is_empty() {
        tx.set(keys::mailbox(account, &from_name), encode(&source)?);
        if let Some(d) = &dest {
            tx.set(keys::mailbox(account, to), encode(d)?);
        }
    }
    Ok(MovedBatch {
        uidvalidity: validity,
        target: dest_id,
        pairs,
    })
}

pub(crate) fn blob_of(record: &MessageRecord) -> Result<BlobHash> {
    super::mailbox::blob_hash(record)
}
