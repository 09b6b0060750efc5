//! Mailboxes and the messages in them.

use super::{MailStore, get_record, scan_all};
use crate::blob::{BlobHash, parse_hash};
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{AccountRecord, MailboxRecord, MessageRecord, decode};

/// Mailboxes every account has, with their RFC 6154 special-use attribute.
pub const DEFAULT_MAILBOXES: [(&str, Option<&str>); 6] = [
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
    ("Archive", Some("\\Archive")),
];

/// Rows removed per commit when purging, so no transaction grows unbounded.
const PURGE_BATCH: usize = 1000;

/// A mailbox as listed.
#[derive(Debug, Clone)]
pub struct MailboxInfo {
    /// Mailbox name (`INBOX`, `Sent`, ...).
    pub name: String,
    /// Stored state.
    pub record: MailboxRecord,
}

/// A message as listed.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    /// IMAP UID.
    pub uid: u32,
    /// Stored metadata.
    pub record: MessageRecord,
}

impl MailStore {
    pub(super) fn account_id(&self, address: &str) -> Result<u64> {
        let (address, _) = super::tenancy::normalize_address(address)?;
        let view = self.read()?;
        let record: AccountRecord =
            get_record(&*view, &keys::account(&address))?.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("no such account: {address}"))
            })?;
        Ok(record.id)
    }

    /// The account's mailboxes, INBOX first, then by name.
    pub fn list_mailboxes(&self, account: &str) -> Result<Vec<MailboxInfo>> {
        let id = self.account_id(account)?;
        let view = self.read()?;
        let prefix_len = keys::mailboxes(id).start.len();
        let mut out = scan_all(&*view, &keys::mailboxes(id))?
            .into_iter()
            .map(|(k, v)| {
                let name = String::from_utf8_lossy(&k[prefix_len..]).into_owned();
                Ok(MailboxInfo {
                    name,
                    record: decode(&v)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
        Ok(out)
    }

    fn mailbox_id(&self, account: u64, name: &str) -> Result<u32> {
        let view = self.read()?;
        let lookup = if name.eq_ignore_ascii_case("INBOX") {
            "INBOX"
        } else {
            name
        };
        let record: MailboxRecord = get_record(&*view, &keys::mailbox(account, lookup))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no such mailbox: {name}")))?;
        Ok(record.id)
    }

    /// Messages of a mailbox in UID order.
    pub fn list_messages(&self, account: &str, mailbox: &str) -> Result<Vec<MessageInfo>> {
        let id = self.account_id(account)?;
        let mbox = self.mailbox_id(id, mailbox)?;
        let view = self.read()?;
        scan_all(&*view, &keys::messages(id, mbox))?
            .into_iter()
            .map(|(k, v)| {
                let (_, _, uid) = keys::message_parts(&k)
                    .ok_or_else(|| Error::new(ErrorKind::Internal, "malformed message key"))?;
                Ok(MessageInfo {
                    uid,
                    record: decode(&v)?,
                })
            })
            .collect()
    }

    /// The stored bytes of one message.
    pub async fn read_message(&self, account: &str, mailbox: &str, uid: u32) -> Result<Vec<u8>> {
        let id = self.account_id(account)?;
        let mbox = self.mailbox_id(id, mailbox)?;
        let record: MessageRecord = get_record(&*self.read()?, &keys::message(id, mbox, uid))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no message with UID {uid}")))?;
        let hash = blob_hash(&record)?;
        if let Some(bytes) = self.read()?.get(&keys::blob_inline(&hash))? {
            return Ok(bytes);
        }
        self.blocking(move |blobs| blobs.get(&hash)).await
    }

    /// Deletes every row of a removed account in bounded batches, handing each body reference
    /// to the purge queue, then every other key of the account.
    pub(crate) async fn purge_account_rows(&self, account: u64, domain: &str) -> Result<()> {
        loop {
            let page = self
                .read()?
                .scan(&keys::account_messages(account), PURGE_BATCH)?;
            if page.entries.is_empty() {
                break;
            }
            let rows = page.entries;
            let domain_key = keys::domain_usage(domain);
            self.write(move |tx| {
                let mut freed: u64 = 0;
                for (k, _) in rows {
                    // Read inside the unit: the purger may have swept the row meanwhile.
                    let Some(v) = tx.get(&k)? else {
                        continue;
                    };
                    let record: MessageRecord = decode(&v)?;
                    let (_, mailbox, _) = keys::message_parts(&k)
                        .ok_or_else(|| Error::new(ErrorKind::Internal, "malformed message key"))?;
                    // A dropped mailbox's usage was freed when it was deleted.
                    if tx.get(&keys::dropped_mailbox(account, mailbox))?.is_none() {
                        freed += record.size;
                    }
                    super::rows::enqueue_purge(tx, &blob_hash(&record)?)?;
                    tx.clear(k);
                }
                tx.add(domain_key, -(freed as i64));
                Ok(())
            })
            .await?;
        }
        self.write(move |tx| {
            tx.clear_range(keys::mailboxes(account));
            tx.clear_range(keys::mailboxes_by_id(account));
            tx.clear_range(keys::subscriptions(account));
            tx.clear_range(keys::account_dropped_mailboxes(account));
            tx.clear_range(keys::account_modseqs(account));
            tx.clear_range(keys::account_tombstones(account));
            tx.clear(keys::account_usage(account));
            tx.clear(keys::account_messages_count(account));
            Ok(())
        })
        .await?;
        self.purge_wake.notify_one();
        Ok(())
    }
}

pub(crate) fn blob_hash(record: &MessageRecord) -> Result<BlobHash> {
    parse_hash(&record.blob).ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("malformed blob hash {}", record.blob),
        )
    })
}

/// Whether any message still refers to a blob: used before deleting a blob file.
pub(crate) fn scan_messages(
    view: &dyn crate::backend::ReadView,
) -> Result<Vec<(Vec<u8>, MessageRecord)>> {
    scan_all(view, &keys::all_messages())?
        .into_iter()
        .map(|(k, v)| Ok((k, decode(&v)?)))
        .collect()
}
