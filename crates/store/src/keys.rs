//! The key layout: the only place that defines key families and how keys are encoded.
//!
//! Every key starts with a one-byte family tag; integers are big-endian so keys sort numerically.
//! Values are JSON records (see `records.rs`) unless the table says "counter" (an `i64`, little
//! endian, updated with `Op::Add`).
//!
//! | tag  | family            | key after the tag                         | value                       |
//! |------|-------------------|-------------------------------------------|-----------------------------|
//! | 0x00 | meta              | name (`format`, `migrating`)              | format version (u32 BE); version a batched migration started from |
//! | 0x01 | domain            | domain name                               | `DomainRecord`              |
//! | 0x02 | account           | normalized address                        | `AccountRecord`             |
//! | 0x03 | alias             | normalized address, or `@domain`          | `AliasRecord`               |
//! | 0x04 | sequence          | name (`account`, `queue`, `message`, `purge`, `uidvalidity`, `intent`) | counter: last id handed out |
//! | 0x05 | account by id     | account id                                | normalized address          |
//! | 0x10 | mailbox           | account id, mailbox name                  | `MailboxRecord`             |
//! | 0x11 | subscription      | account id, mailbox name                  | empty                       |
//! | 0x12 | mailbox by id     | account id, mailbox id                    | mailbox name (UTF-8)        |
//! | 0x13 | dropped mailbox   | account id, mailbox id                    | empty: rows await the purger |
//! | 0x20 | message           | account id, mailbox id, uid               | `MessageRecord`             |
//! | 0x21 | modseq index      | account id, mailbox id, modseq            | uid (u32 BE)                |
//! | 0x22 | expunge tombstone | account id, mailbox id, modseq            | uid (u32 BE)                |
//! | 0x23 | delete intent     | intent id (u64)                           | `DeleteIntentRecord`: whose UIDs, how many chunks |
//! | 0x23 | delete intent chunk | intent id (u64), chunk number (u32)     | up to 1,000 uids (u32 BE each) still to delete |
//! | 0x30 | retired           | format 4: blob references, moved to 0x34 by the migration to 5 | |
//! | 0x31 | retired           | format 4: inline blobs, moved to 0x34     |                             |
//! | 0x32 | purge queue       | purge id (u64)                            | blob hash (32 bytes)        |
//! | 0x33 | retired           | format 4: blob structures, moved to 0x34  |                             |
//! | 0x34 | blob references   | blob hash (32 bytes), 0x00                | counter: references         |
//! | 0x34 | blob structure    | blob hash (32 bytes), 0x01                | MIME structure (JSON)       |
//! | 0x34 | inline blob       | blob hash (32 bytes), 0x02                | message bytes (small ones)  |
//! | 0x40 | account usage     | account id                                | counter: bytes stored       |
//! | 0x41 | account messages  | account id                                | counter: messages stored    |
//! | 0x42 | domain usage      | domain name                               | counter: bytes stored       |
//! | 0x43 | domain accounts   | domain name                               | counter: accounts           |
//! | 0x50 | outbound queue    | queue id                                  | `QueueRecord`               |
//! | 0x51 | queue schedule    | next attempt (i64, sign bit flipped), queue id | empty                  |
//! | 0x60 | admin API token   | SHA-256 of the token (32 bytes)           | `ApiTokenRecord` (name, created, hint) |
//!
//! Invariants the mail layer keeps: the modseq index holds exactly one entry per live message, at
//! its current MODSEQ; every outbound-queue record has exactly one schedule entry, at its
//! `next_attempt`, written and moved in the same commit as the record; a tombstone is written for every expunged message at the MODSEQ of its
//! expunge (RFC 7162 QRESYNC VANISHED); a blob's reference count is the number of message rows
//! (live or in dropped mailboxes), outbound-queue records and purge-queue entries naming it.
//! A blob's keys are adjacent (hash first, then the kind byte), so storing or purging a blob
//! writes one leaf page rather than three; the small counter and structure sort before the
//! body, which may be up to 32 KiB.
//! A delete intent's record is written in the same commit as its last chunk, so chunks without a
//! record are an intent that never took effect; each chunk is cleared in the commit that deletes
//! its UIDs, and the record with the last one.

use crate::backend::KeyRange;

const META: u8 = 0x00;
const DOMAIN: u8 = 0x01;
const ACCOUNT: u8 = 0x02;
const ALIAS: u8 = 0x03;
const SEQUENCE: u8 = 0x04;
const ACCOUNT_BY_ID: u8 = 0x05;
const MAILBOX: u8 = 0x10;
const SUBSCRIPTION: u8 = 0x11;
const MAILBOX_BY_ID: u8 = 0x12;
const DROPPED_MAILBOX: u8 = 0x13;
const MESSAGE: u8 = 0x20;
const MODSEQ: u8 = 0x21;
const TOMBSTONE: u8 = 0x22;
const DELETE_INTENT: u8 = 0x23;
const PURGE: u8 = 0x32;
const BLOB: u8 = 0x34;
const ACCOUNT_USAGE: u8 = 0x40;
const ACCOUNT_MESSAGES: u8 = 0x41;
const DOMAIN_USAGE: u8 = 0x42;
const DOMAIN_ACCOUNTS: u8 = 0x43;
const QUEUE: u8 = 0x50;
const QUEUE_SCHEDULE: u8 = 0x51;
const API_TOKEN: u8 = 0x60;

fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(tag);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The on-disk format version record.
pub fn format_version() -> Vec<u8> {
    key(META, &[b"format"])
}

/// Present while a multi-commit format migration is under way: the version it started from.
pub fn migrating() -> Vec<u8> {
    key(META, &[b"migrating"])
}

/// A domain (tenant) record.
pub fn domain(name: &str) -> Vec<u8> {
    key(DOMAIN, &[name.as_bytes()])
}

/// All domain records.
pub fn domains() -> KeyRange {
    KeyRange::prefix(&[DOMAIN])
}

/// The domain name from a domain key.
pub fn domain_name(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(1..)?).ok()
}

/// An account record, by normalized address.
pub fn account(address: &str) -> Vec<u8> {
    key(ACCOUNT, &[address.as_bytes()])
}

/// All account records (addresses sort by local part, so a domain filter is the caller's).
pub fn accounts() -> KeyRange {
    KeyRange::prefix(&[ACCOUNT])
}

/// The address in an account or alias key.
pub fn address_of(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(1..)?).ok()
}

/// An alias record (`@domain` for the catch-all).
pub fn alias(address: &str) -> Vec<u8> {
    key(ALIAS, &[address.as_bytes()])
}

/// All alias records.
pub fn aliases() -> KeyRange {
    KeyRange::prefix(&[ALIAS])
}

/// A named id sequence.
pub fn sequence(name: &str) -> Vec<u8> {
    key(SEQUENCE, &[name.as_bytes()])
}

/// Reverse map from account id to address.
pub fn account_by_id(id: u64) -> Vec<u8> {
    key(ACCOUNT_BY_ID, &[&id.to_be_bytes()])
}

/// All account-by-id entries.
pub fn accounts_by_id() -> KeyRange {
    KeyRange::prefix(&[ACCOUNT_BY_ID])
}

/// A mailbox record.
pub fn mailbox(account: u64, name: &str) -> Vec<u8> {
    key(MAILBOX, &[&account.to_be_bytes(), name.as_bytes()])
}

/// All mailboxes of an account.
pub fn mailboxes(account: u64) -> KeyRange {
    KeyRange::prefix(&key(MAILBOX, &[&account.to_be_bytes()]))
}

/// The mailbox name in a mailbox or subscription key of `account`.
pub fn mailbox_name_of(account: u64, key: &[u8]) -> Option<&str> {
    let rest = key.get(1..)?;
    if rest.get(..8)? != account.to_be_bytes() {
        return None;
    }
    std::str::from_utf8(rest.get(8..)?).ok()
}

/// A subscription of an account to a mailbox name (which need not exist, RFC 9051 §6.3.7).
pub fn subscription(account: u64, name: &str) -> Vec<u8> {
    key(SUBSCRIPTION, &[&account.to_be_bytes(), name.as_bytes()])
}

/// All subscriptions of an account.
pub fn subscriptions(account: u64) -> KeyRange {
    KeyRange::prefix(&key(SUBSCRIPTION, &[&account.to_be_bytes()]))
}

/// Reverse map from a mailbox id to its current name.
pub fn mailbox_by_id(account: u64, mailbox: u32) -> Vec<u8> {
    key(
        MAILBOX_BY_ID,
        &[&account.to_be_bytes(), &mailbox.to_be_bytes()],
    )
}

/// All mailbox-by-id entries of an account.
pub fn mailboxes_by_id(account: u64) -> KeyRange {
    KeyRange::prefix(&key(MAILBOX_BY_ID, &[&account.to_be_bytes()]))
}

/// A deleted mailbox whose message rows the purger still has to remove.
pub fn dropped_mailbox(account: u64, mailbox: u32) -> Vec<u8> {
    key(
        DROPPED_MAILBOX,
        &[&account.to_be_bytes(), &mailbox.to_be_bytes()],
    )
}

/// Every dropped mailbox in the store.
pub fn all_dropped_mailboxes() -> KeyRange {
    KeyRange::prefix(&[DROPPED_MAILBOX])
}

/// Dropped mailboxes of one account.
pub fn account_dropped_mailboxes(account: u64) -> KeyRange {
    KeyRange::prefix(&key(DROPPED_MAILBOX, &[&account.to_be_bytes()]))
}

/// The (account, mailbox) in a mailbox-by-id or dropped-mailbox key.
pub fn account_mailbox_parts(key: &[u8]) -> Option<(u64, u32)> {
    if key.len() != 13 {
        return None;
    }
    let account = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let mailbox = u32::from_be_bytes(key.get(9..13)?.try_into().ok()?);
    Some((account, mailbox))
}

/// A message row.
pub fn message(account: u64, mailbox: u32, uid: u32) -> Vec<u8> {
    key(
        MESSAGE,
        &[
            &account.to_be_bytes(),
            &mailbox.to_be_bytes(),
            &uid.to_be_bytes(),
        ],
    )
}

/// All message rows of a mailbox, in UID order.
pub fn messages(account: u64, mailbox: u32) -> KeyRange {
    KeyRange::prefix(&key(
        MESSAGE,
        &[&account.to_be_bytes(), &mailbox.to_be_bytes()],
    ))
}

/// All message rows of an account.
pub fn account_messages(account: u64) -> KeyRange {
    KeyRange::prefix(&key(MESSAGE, &[&account.to_be_bytes()]))
}

/// Every message row in the store.
pub fn all_messages() -> KeyRange {
    KeyRange::prefix(&[MESSAGE])
}

/// The (account, mailbox, uid) in a message key.
pub fn message_parts(key: &[u8]) -> Option<(u64, u32, u32)> {
    if key.len() != 17 || key[0] != MESSAGE {
        return None;
    }
    let account = u64::from_be_bytes(key[1..9].try_into().ok()?);
    let mailbox = u32::from_be_bytes(key[9..13].try_into().ok()?);
    let uid = u32::from_be_bytes(key[13..17].try_into().ok()?);
    Some((account, mailbox, uid))
}

/// A modseq index entry.
pub fn modseq(account: u64, mailbox: u32, modseq: u64) -> Vec<u8> {
    key(
        MODSEQ,
        &[
            &account.to_be_bytes(),
            &mailbox.to_be_bytes(),
            &modseq.to_be_bytes(),
        ],
    )
}

/// Modseq index entries of a mailbox with a MODSEQ above `since`, in MODSEQ order.
pub fn modseqs_after(account: u64, mailbox: u32, since: u64) -> KeyRange {
    after(MODSEQ, account, mailbox, since)
}

/// All modseq index entries of a mailbox.
pub fn mailbox_modseqs(account: u64, mailbox: u32) -> KeyRange {
    KeyRange::prefix(&key(
        MODSEQ,
        &[&account.to_be_bytes(), &mailbox.to_be_bytes()],
    ))
}

/// Every modseq index entry in the store.
pub fn all_modseqs() -> KeyRange {
    KeyRange::prefix(&[MODSEQ])
}

/// The (account, mailbox, modseq) in a modseq-index or tombstone key.
pub fn modseq_parts(key: &[u8]) -> Option<(u64, u32, u64)> {
    if key.len() != 21 {
        return None;
    }
    let account = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let mailbox = u32::from_be_bytes(key.get(9..13)?.try_into().ok()?);
    let modseq = u64::from_be_bytes(key.get(13..21)?.try_into().ok()?);
    Some((account, mailbox, modseq))
}

/// The tombstone of a message expunged at `modseq`.
pub fn tombstone(account: u64, mailbox: u32, modseq: u64) -> Vec<u8> {
    key(
        TOMBSTONE,
        &[
            &account.to_be_bytes(),
            &mailbox.to_be_bytes(),
            &modseq.to_be_bytes(),
        ],
    )
}

/// Tombstones of a mailbox with a MODSEQ above `since`.
pub fn tombstones_after(account: u64, mailbox: u32, since: u64) -> KeyRange {
    after(TOMBSTONE, account, mailbox, since)
}

/// All tombstones of a mailbox.
pub fn mailbox_tombstones(account: u64, mailbox: u32) -> KeyRange {
    KeyRange::prefix(&key(
        TOMBSTONE,
        &[&account.to_be_bytes(), &mailbox.to_be_bytes()],
    ))
}

/// All tombstones of an account.
pub fn account_tombstones(account: u64) -> KeyRange {
    KeyRange::prefix(&key(TOMBSTONE, &[&account.to_be_bytes()]))
}

fn after(tag: u8, account: u64, mailbox: u32, since: u64) -> KeyRange {
    let whole = KeyRange::prefix(&key(tag, &[&account.to_be_bytes(), &mailbox.to_be_bytes()]));
    match since.checked_add(1) {
        Some(first) => KeyRange {
            start: key(
                tag,
                &[
                    &account.to_be_bytes(),
                    &mailbox.to_be_bytes(),
                    &first.to_be_bytes(),
                ],
            ),
            end: whole.end,
        },
        // Nothing lies above u64::MAX: an empty range.
        None => KeyRange {
            start: whole.end.clone().unwrap_or_default(),
            end: whole.end,
        },
    }
}

/// A delete intent's record (a POP3 commit too large for one transaction).
pub fn delete_intent(id: u64) -> Vec<u8> {
    key(DELETE_INTENT, &[&id.to_be_bytes()])
}

/// One chunk of UIDs of a delete intent.
pub fn delete_intent_chunk(id: u64, chunk: u32) -> Vec<u8> {
    key(DELETE_INTENT, &[&id.to_be_bytes(), &chunk.to_be_bytes()])
}

/// A delete intent's record and all its chunks.
pub fn delete_intent_all(id: u64) -> KeyRange {
    KeyRange::prefix(&delete_intent(id))
}

/// Every delete intent record and chunk in the store.
pub fn all_delete_intents() -> KeyRange {
    KeyRange::prefix(&[DELETE_INTENT])
}

/// The intent id of a delete-intent key, and whether it is the record (not a chunk).
pub fn delete_intent_parts(key: &[u8]) -> Option<(u64, bool)> {
    if key.first() != Some(&DELETE_INTENT) || (key.len() != 9 && key.len() != 13) {
        return None;
    }
    let id = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    Some((id, key.len() == 9))
}

/// All modseq entries of an account.
pub fn account_modseqs(account: u64) -> KeyRange {
    KeyRange::prefix(&key(MODSEQ, &[&account.to_be_bytes()]))
}

/// What a key of the blob family (0x34) holds; the discriminant is the key's last byte, so a
/// blob's keys sort in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BlobKind {
    /// The reference counter.
    Refs = 0x00,
    /// The cached MIME structure.
    Structure = 0x01,
    /// The message bytes of a small message.
    Inline = 0x02,
}

impl BlobKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x00 => Some(Self::Refs),
            0x01 => Some(Self::Structure),
            0x02 => Some(Self::Inline),
            _ => None,
        }
    }
}

/// The key of one kind of a blob's data.
pub fn blob(hash: &[u8; 32], kind: BlobKind) -> Vec<u8> {
    key(BLOB, &[hash, &[kind as u8]])
}

/// Reference counter of a blob.
pub fn blob_refs(hash: &[u8; 32]) -> Vec<u8> {
    blob(hash, BlobKind::Refs)
}

/// The bytes of a small message kept in the metadata store instead of a file.
pub fn blob_inline(hash: &[u8; 32]) -> Vec<u8> {
    blob(hash, BlobKind::Inline)
}

/// The cached MIME structure of a blob (ENVELOPE/BODYSTRUCTURE without reading the body).
pub fn blob_structure(hash: &[u8; 32]) -> Vec<u8> {
    blob(hash, BlobKind::Structure)
}

/// Every blob key of every kind, by hash and then kind: a scan for one kind filters with
/// [`blob_parts`].
pub fn all_blobs() -> KeyRange {
    KeyRange::prefix(&[BLOB])
}

/// The hash and kind in a blob key.
pub fn blob_parts(key: &[u8]) -> Option<([u8; 32], BlobKind)> {
    if key.len() != 34 || key[0] != BLOB {
        return None;
    }
    let hash = key.get(1..33)?.try_into().ok()?;
    Some((hash, BlobKind::from_byte(key[33])?))
}

/// Keys of format 4 and older that the migration to format 5 moves; nothing else reads them.
pub mod format4 {
    use super::{KeyRange, key};

    const BLOB_REFS: u8 = 0x30;
    const BLOB_INLINE: u8 = 0x31;
    const BLOB_STRUCTURE: u8 = 0x33;

    /// A blob's reference counter.
    pub fn blob_refs(hash: &[u8; 32]) -> Vec<u8> {
        key(BLOB_REFS, &[hash])
    }

    /// A small message's bytes.
    pub fn blob_inline(hash: &[u8; 32]) -> Vec<u8> {
        key(BLOB_INLINE, &[hash])
    }

    /// A blob's cached MIME structure.
    pub fn blob_structure(hash: &[u8; 32]) -> Vec<u8> {
        key(BLOB_STRUCTURE, &[hash])
    }

    /// All reference counters.
    pub fn all_blob_refs() -> KeyRange {
        KeyRange::prefix(&[BLOB_REFS])
    }

    /// All inline bodies.
    pub fn all_blob_inline() -> KeyRange {
        KeyRange::prefix(&[BLOB_INLINE])
    }

    /// All cached structures.
    pub fn all_blob_structure() -> KeyRange {
        KeyRange::prefix(&[BLOB_STRUCTURE])
    }

    /// The hash in any of these keys.
    pub fn blob_hash(key: &[u8]) -> Option<[u8; 32]> {
        key.get(1..)?.try_into().ok()
    }
}

/// A purge-queue entry: one blob reference waiting to be dropped.
pub fn purge(id: u64) -> Vec<u8> {
    key(PURGE, &[&id.to_be_bytes()])
}

/// The purge id in a purge-queue key.
pub fn purge_id(key: &[u8]) -> Option<u64> {
    if key.len() != 9 || key[0] != PURGE {
        return None;
    }
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// The whole purge queue, oldest first.
pub fn all_purge() -> KeyRange {
    KeyRange::prefix(&[PURGE])
}

/// Bytes stored by an account.
pub fn account_usage(account: u64) -> Vec<u8> {
    key(ACCOUNT_USAGE, &[&account.to_be_bytes()])
}

/// Messages stored by an account.
pub fn account_messages_count(account: u64) -> Vec<u8> {
    key(ACCOUNT_MESSAGES, &[&account.to_be_bytes()])
}

/// Bytes stored by all accounts of a domain.
pub fn domain_usage(domain: &str) -> Vec<u8> {
    key(DOMAIN_USAGE, &[domain.as_bytes()])
}

/// Number of accounts in a domain.
pub fn domain_accounts(domain: &str) -> Vec<u8> {
    key(DOMAIN_ACCOUNTS, &[domain.as_bytes()])
}

/// An outbound queue entry.
pub fn queue(id: u64) -> Vec<u8> {
    key(QUEUE, &[&id.to_be_bytes()])
}

/// The whole outbound queue.
pub fn all_queue() -> KeyRange {
    KeyRange::prefix(&[QUEUE])
}

/// The queue id in an outbound-queue key.
pub fn queue_id(key: &[u8]) -> Option<u64> {
    if key.len() != 9 || key[0] != QUEUE {
        return None;
    }
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// Seconds as a key part that sorts in numeric order, negative values included.
fn sortable_time(at: i64) -> [u8; 8] {
    ((at as u64) ^ (1 << 63)).to_be_bytes()
}

/// The schedule entry of queue message `id`, due at `at` (seconds since the epoch).
pub fn queue_schedule(at: i64, id: u64) -> Vec<u8> {
    key(QUEUE_SCHEDULE, &[&sortable_time(at), &id.to_be_bytes()])
}

/// Schedule entries due at or before `at`, earliest first.
pub fn queue_due(at: i64) -> KeyRange {
    let end = match at.checked_add(1) {
        Some(next) => key(QUEUE_SCHEDULE, &[&sortable_time(next)]),
        None => vec![QUEUE_SCHEDULE + 1],
    };
    KeyRange::between(vec![QUEUE_SCHEDULE], end)
}

/// Schedule entries due after `at`.
pub fn queue_later(at: i64) -> KeyRange {
    let start = match at.checked_add(1) {
        Some(next) => key(QUEUE_SCHEDULE, &[&sortable_time(next)]),
        None => vec![QUEUE_SCHEDULE + 1],
    };
    KeyRange::between(start, vec![QUEUE_SCHEDULE + 1])
}

/// The whole schedule, earliest first.
pub fn all_queue_schedule() -> KeyRange {
    KeyRange::prefix(&[QUEUE_SCHEDULE])
}

/// The (due time, queue id) in a schedule key.
pub fn queue_schedule_parts(key: &[u8]) -> Option<(i64, u64)> {
    if key.len() != 17 || key[0] != QUEUE_SCHEDULE {
        return None;
    }
    let at = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?) ^ (1 << 63);
    let id = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    Some((at as i64, id))
}

/// An admin API token, by the SHA-256 of its secret (the secret itself is never stored).
pub fn api_token(hash: &[u8; 32]) -> Vec<u8> {
    key(API_TOKEN, &[hash])
}

/// Every admin API token.
pub fn api_tokens() -> KeyRange {
    KeyRange::prefix(&[API_TOKEN])
}
