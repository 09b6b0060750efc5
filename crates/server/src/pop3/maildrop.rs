//! The session's maildrop: INBOX as it was at login, with the session's deletion marks.
//!
//! RFC 1939 §5 numbers messages from 1 for the whole session and keeps marked messages' numbers
//! reserved, so the listing is fixed at login; that is also what makes every LIST and UIDL reply
//! complete and consistent, whatever IMAP sessions and deliveries do meanwhile.

use yubin_store::MessageMeta;

use super::LockGuard;
use super::errors::Failure;

/// One message of the listing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// UID in INBOX, for the store calls.
    pub uid: u32,
    /// The UIDL: the message id (gid).
    pub gid: u64,
    /// Octets (what LIST and STAT report).
    pub size: u64,
    /// Body blob.
    pub blob: [u8; 32],
    /// Marked by DELE.
    pub deleted: bool,
    /// Sent whole by RETR in this session.
    pub retrieved: bool,
    /// Already \Seen at login.
    pub seen: bool,
}

/// A locked maildrop in the TRANSACTION state.
pub struct Maildrop {
    /// Account id.
    pub account: u64,
    /// Account address (for logs).
    pub address: String,
    /// INBOX's mailbox id.
    pub mailbox: u32,
    /// Messages in UID order; message number = index + 1.
    pub entries: Vec<Entry>,
    /// Released when the session ends, however it ends.
    pub _lock: LockGuard,
}

/// The listing of a snapshot of INBOX, in UID order (built where the snapshot was read, so a
/// large maildrop's listing is made off the async workers too).
pub fn listing(messages: &[MessageMeta]) -> Vec<Entry> {
    messages
        .iter()
        .map(|m| Entry {
            uid: m.uid,
            gid: m.gid,
            size: m.size,
            blob: m.blob,
            deleted: false,
            retrieved: false,
            seen: m.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Seen")),
        })
        .collect()
}

impl Maildrop {
    /// A locked maildrop over `entries` ([`listing`]).
    pub fn new(
        account: u64,
        address: String,
        mailbox: u32,
        entries: Vec<Entry>,
        lock: LockGuard,
    ) -> Self {
        Self {
            account,
            address,
            mailbox,
            entries,
            _lock: lock,
        }
    }

    /// Message `number` unless it does not exist or is marked deleted.
    pub fn get(&self, number: u32) -> Result<&Entry, Failure> {
        let entry = number
            .checked_sub(1)
            .and_then(|i| self.entries.get(i as usize))
            .ok_or_else(|| Failure::plain(format!("No such message {number}")))?;
        if entry.deleted {
            return Err(Failure::plain(format!(
                "Message {number} is already deleted"
            )));
        }
        Ok(entry)
    }

    /// Mutable [`Self::get`].
    pub fn get_mut(&mut self, number: u32) -> Result<&mut Entry, Failure> {
        self.get(number)?;
        self.entries
            .get_mut(number as usize - 1)
            .ok_or_else(|| Failure::plain(format!("No such message {number}")))
    }

    /// Messages not marked and their total octets (STAT).
    pub fn stat(&self) -> (usize, u64) {
        self.live()
            .fold((0, 0), |(n, octets), (_, e)| (n + 1, octets + e.size))
    }

    /// Message numbers and entries not marked deleted.
    pub fn live(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i as u32 + 1, e))
    }

    /// RSET: unmarks everything; returns how many were marked.
    pub fn reset(&mut self) -> usize {
        let mut n = 0;
        for e in &mut self.entries {
            n += usize::from(std::mem::replace(&mut e.deleted, false));
        }
        n
    }

    /// UIDs to delete at QUIT: the marked ones, plus those retrieved when `expire_now`.
    pub fn to_delete(&self, expire_now: bool) -> Vec<u32> {
        self.entries
            .iter()
            .filter(|e| e.deleted || (expire_now && e.retrieved))
            .map(|e| e.uid)
            .collect()
    }

    /// UIDs retrieved in this session that were not \Seen and are not being deleted.
    pub fn newly_seen(&self, expire_now: bool) -> Vec<u32> {
        self.entries
            .iter()
            .filter(|e| e.retrieved && !e.seen && !e.deleted && !expire_now)
            .map(|e| e.uid)
            .collect()
    }
}
