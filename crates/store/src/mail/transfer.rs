//! Taking an account's mail out of a store and putting it back, in this store or another,
//! without changing what POP3 clients know of it (`yubin admin account export|import`).
//!
//! An imported message keeps its gid, so its UIDL, unless the account already holds a message
//! with that gid (the same export imported twice, say): then it gets a new one, as a copy
//! does. Moves never leave an account, so no message can later come into INBOX with a gid an
//! imported one kept, and the message-id sequence moves past every kept gid, so no later
//! delivery is given one.

use std::collections::HashSet;

use super::{MailStore, scan_all};
use crate::error::Result;
use crate::keys;
use crate::records::decode_meta;

/// One message to import.
#[derive(Debug, Clone)]
pub struct ImportedMessage {
    /// The message as it was stored.
    pub bytes: Vec<u8>,
    /// Its flags and keywords.
    pub flags: Vec<String>,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub received: i64,
    /// The POP3 UIDL (gid) it had; 0 for none.
    pub uidl: u64,
}

/// What an import did with the UIDLs it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Messages stored under the UIDL they came with.
    pub kept: usize,
    /// Messages given a new UIDL, because theirs was taken or missing.
    pub renumbered: usize,
}

impl MailStore {
    /// The gid (POP3 UIDL) of every message the account holds, in any mailbox.
    ///
    /// Errors: `NotFound` (no such account).
    pub fn account_gids(&self, address: &str) -> Result<HashSet<u64>> {
        let id = self.account_id(address)?;
        let view = self.read()?;
        scan_all(&*view, &keys::account_messages(id))?
            .iter()
            .map(|(_, v)| decode_meta(0, v).map(|m| m.gid))
            .collect()
    }

    /// Appends `messages` to `mailbox` of `address` in one commit (all or none, quota checked
    /// for their sum), each under the UIDL it came with unless `taken` holds it. `taken` starts
    /// as [`MailStore::account_gids`]; the UIDLs kept are added to it once stored.
    ///
    /// Errors: as [`MailStore::append_many`]; `NotFound` (no such account).
    pub async fn import_messages(
        &self,
        address: &str,
        mailbox: &str,
        messages: Vec<ImportedMessage>,
        taken: &mut HashSet<u64>,
    ) -> Result<ImportOutcome> {
        let account = self.account_id(address)?;
        let mut outcome = ImportOutcome::default();
        let mut chosen = HashSet::new();
        let mut batch = Vec::with_capacity(messages.len());
        for m in messages {
            // A gid past i64::MAX could not be reserved in the sequence: give it a new one.
            let keep = (1..=i64::MAX as u64).contains(&m.uidl)
                && !taken.contains(&m.uidl)
                && chosen.insert(m.uidl);
            let gid = if keep {
                outcome.kept += 1;
                m.uidl
            } else {
                outcome.renumbered += 1;
                0
            };
            batch.push(((m.bytes, m.flags, Some(m.received)), gid));
        }
        if batch.is_empty() {
            return Ok(outcome);
        }
        self.append_with_gids(account, mailbox, batch).await?;
        taken.extend(chosen);
        Ok(outcome)
    }
}
