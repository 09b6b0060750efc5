//! What changed in a mailbox since a MODSEQ (RFC 7162 CONDSTORE/QRESYNC), and the change bus
//! that tells sessions to look.
//!
//! The store is the truth: the modseq index (one entry per live message at its current MODSEQ)
//! and the expunge tombstones make "changed since N" two range scans. The bus only carries
//! hints; a subscriber that lags (`RecvError::Lagged`) rereads with [`MailStore::changes`].

use tokio::sync::broadcast;

use super::MailStore;
use super::messages::{MessageMeta, meta};
use super::rows;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;

/// A hint that a mailbox changed (messages added, flags changed, messages expunged, or the
/// mailbox created, renamed or deleted). Published after the change is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxChanged {
    /// Account id.
    pub account: u64,
    /// Mailbox id within the account.
    pub mailbox: u32,
}

/// Changes of one mailbox after a MODSEQ.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The mailbox's HIGHESTMODSEQ now.
    pub highest_modseq: u64,
    /// UIDNEXT now.
    pub uidnext: u32,
    /// Messages added or whose flags changed after `since`, with their current state, in UID
    /// order.
    pub changed: Vec<MessageMeta>,
    /// UIDs expunged (or moved away) after `since`, ascending.
    pub vanished: Vec<u32>,
}

impl MailStore {
    /// Everything that changed in mailbox `mailbox_id` of `account` with a MODSEQ above
    /// `since_modseq`, from one snapshot.
    ///
    /// Errors: `NotFound` if the mailbox no longer exists (deleted, or renamed INBOX's
    /// messages moved; the session must then end the selection).
    pub fn changes(&self, account: u64, mailbox_id: u32, since_modseq: u64) -> Result<Changes> {
        let view = self.read()?;
        let (_, mbox) = rows::mailbox_by_id(&*view, account, mailbox_id)?;
        let mut changed = Vec::new();
        for (k, v) in super::scan_all(
            &*view,
            &keys::modseqs_after(account, mailbox_id, since_modseq),
        )? {
            let uid = uid_value(&v)?;
            let Some(record) = rows::message(&*view, account, mailbox_id, uid)? else {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("modseq index entry {k:02x?} points to a missing message"),
                ));
            };
            changed.push(meta(uid, record)?);
        }
        changed.sort_by_key(|m| m.uid);
        let mut vanished = super::scan_all(
            &*view,
            &keys::tombstones_after(account, mailbox_id, since_modseq),
        )?
        .iter()
        .map(|(_, v)| uid_value(v))
        .collect::<Result<Vec<u32>>>()?;
        vanished.sort_unstable();
        vanished.dedup();
        Ok(Changes {
            highest_modseq: mbox.highest_modseq,
            uidnext: mbox.uidnext,
            changed,
            vanished,
        })
    }

    /// A receiver of every [`MailboxChanged`] published from now on, across all accounts
    /// (the session filters by its own). Capacity is bounded; see the module docs for lag.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<MailboxChanged> {
        self.bus.subscribe()
    }

    /// Publishes hints after their commit returned (house rule 4); duplicates are sent once.
    pub(crate) fn publish(&self, mut touched: Vec<MailboxChanged>) {
        touched.sort_by_key(|c| (c.account, c.mailbox));
        touched.dedup();
        for change in touched {
            // No subscriber is not an error: nobody is watching.
            let _ = self.bus.send(change);
        }
    }
}

fn uid_value(v: &[u8]) -> Result<u32> {
    v.try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| Error::new(ErrorKind::Internal, "malformed UID in an index entry"))
}
