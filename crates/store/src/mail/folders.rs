//! Mailboxes of an account as IMAP sees them: list, create, delete, rename, subscribe, select,
//! status, and the account's quota.
//!
//! Implementation notes:
//! - Names are canonical (see `names.rs`); `/` separates levels; `INBOX` is one spelling.
//! - A mailbox is a record keyed by name plus a by-id entry; message keys use the id, so a
//!   rename moves no message and keeps UIDVALIDITY (RFC 9051 §6.3.6).
//! - UIDVALIDITY comes from a store-wide increasing sequence, so a name deleted and created
//!   again never sees an old value (RFC 9051 §2.3.1.1).
//! - DELETE is a logical delete: the records go and quota is freed in one commit; the rows are
//!   the purger's (key family 0x13).
//! - Subscriptions are their own key family, independent of existence (RFC 9051 §6.3.7).

use super::messages::MessageMeta;
use super::names;
use super::rows::{self, Lookup};
use super::{MailStore, MailboxChanged, MailboxInfo, get_record, scan_all, tx_record, tx_scan_all};
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{AccountRecord, DomainRecord, MailboxRecord, decode, encode};

/// RFC 6154 §2 special-use attributes (and RFC 8457 `\Important`) a mailbox may carry.
const SPECIAL_USES: [&str; 8] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Important",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

/// A selected mailbox: its state and every message, from one snapshot.
#[derive(Debug, Clone)]
pub struct MailboxView {
    /// Mailbox id (stable across renames; what the other calls take).
    pub id: u32,
    /// Canonical name.
    pub name: String,
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// UIDNEXT.
    pub uidnext: u32,
    /// HIGHESTMODSEQ (RFC 7162).
    pub highest_modseq: u64,
    /// Messages in UID order (sequence number = index + 1).
    pub messages: Vec<MessageMeta>,
    /// RFC 6154 special-use attribute.
    pub special_use: Option<String>,
}

/// Counters of one mailbox, for STATUS (RFC 9051 §6.3.11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Mailbox id.
    pub id: u32,
    /// Messages.
    pub messages: u64,
    /// Messages without `\Seen`.
    pub unseen: u64,
    /// Sum of message sizes (STATUS SIZE, RFC 8438).
    pub size: u64,
    /// UIDNEXT.
    pub uidnext: u32,
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// HIGHESTMODSEQ.
    pub highest_modseq: u64,
    /// Messages no session has claimed yet (IMAP4rev1 `\Recent`).
    pub recent: u64,
    /// Messages flagged `\Deleted` (STATUS DELETED, RFC 9051 §6.3.11).
    pub deleted: u64,
}

/// Storage use and limits of an account and its domain (RFC 9208 QUOTA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaInfo {
    /// Bytes stored by the account.
    pub used: u64,
    /// The account's quota in bytes; 0 = unlimited.
    pub limit: u64,
    /// Messages stored by the account.
    pub messages: u64,
    /// The account's domain.
    pub domain: String,
    /// Bytes stored by the whole domain.
    pub domain_used: u64,
    /// The domain's quota in bytes; 0 = unlimited.
    pub domain_limit: u64,
}

/// Rows read per scan page by `select`.
const SELECT_PAGE: usize = 4096;

impl MailStore {
    /// The mailboxes of account `account` (by id), INBOX first, then by name.
    ///
    /// Errors: none beyond the store's; an unknown account has no mailboxes.
    pub fn mailboxes_by_id(&self, account: u64) -> Result<Vec<MailboxInfo>> {
        let view = self.read()?;
        let mut out = Vec::new();
        for (k, v) in scan_all(&*view, &keys::mailboxes(account))? {
            let Some(name) = keys::mailbox_name_of(account, &k) else {
                continue;
            };
            out.push(MailboxInfo {
                name: name.to_string(),
                record: decode(&v)?,
            });
        }
        out.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
        Ok(out)
    }

    /// Creates a mailbox, and any missing parents (as Dovecot does; RFC 9051 §6.3.4 allows it).
    /// `special_use` is an RFC 6154 attribute such as `\Sent` (any case).
    ///
    /// Errors: `InvalidData` (bad name or attribute), `AlreadyExists`, `NotFound` (account
    /// removed), `Limit`.
    pub async fn create_mailbox(
        &self,
        account: u64,
        name: &str,
        special_use: Option<&str>,
    ) -> Result<u32> {
        let name = names::canonical(name)?;
        let special = special_use.map(canonical_special_use).transpose()?;
        let (id, created) = self
            .write(move |tx| {
                if tx.get(&keys::mailbox(account, &name))?.is_some() {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("mailbox {name} already exists"),
                    ));
                }
                let mut owner = rows::owner(tx, account)?.record;
                let mut created = Vec::new();
                for parent in names::parents(&name) {
                    if tx.get(&keys::mailbox(account, parent))?.is_none() {
                        created.push(rows::create(tx, &mut owner, parent, None)?.id);
                    }
                }
                let id = rows::create(tx, &mut owner, &name, special)?.id;
                created.push(id);
                write_account(tx, &owner)?;
                Ok((id, created))
            })
            .await?;
        self.publish(changed(account, created));
        Ok(id)
    }

    /// Deletes a mailbox (RFC 9051 §6.3.5). Children stay. Its messages vanish and its quota is
    /// freed in this commit; the purger removes the rows and bodies later.
    ///
    /// Errors: `InvalidData` (bad name), `NotFound`, `Conflict` for INBOX.
    pub async fn delete_mailbox(&self, account: u64, name: &str) -> Result<()> {
        let name = names::canonical(name)?;
        let id = self
            .write(move |tx| {
                if names::is_inbox(&name) {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "INBOX cannot be deleted; delete its messages instead",
                    ));
                }
                let mbox = rows::mailbox_named(tx, account, &name)?;
                let owner = rows::owner(tx, account)?;
                tx.clear(keys::mailbox(account, &name));
                tx.clear(keys::mailbox_by_id(account, mbox.id));
                tx.set(keys::dropped_mailbox(account, mbox.id), Vec::new());
                rows::charge(
                    tx,
                    account,
                    &owner.domain,
                    -(mbox.size as i64),
                    -(mbox.messages as i64),
                );
                Ok(mbox.id)
            })
            .await?;
        self.purge_wake.notify_one();
        self.publish(changed(account, vec![id]));
        Ok(())
    }

    /// Renames a mailbox and its children (RFC 9051 §6.3.6); each keeps its id, UIDVALIDITY and
    /// messages; missing parents of the new name are created. Subscriptions are left as they are
    /// (a server must not drop them on its own, RFC 9051 §6.3.9).
    ///
    /// Renaming INBOX creates the new mailbox and moves INBOX's messages into it (new UIDs
    /// there, gids kept), in bounded batches; INBOX stays, empty, with its children.
    ///
    /// Errors: `InvalidData` (bad names, a name into its own subtree), `NotFound` (source),
    /// `AlreadyExists` (target or a renamed child's target).
    pub async fn rename_mailbox(&self, account: u64, from: &str, to: &str) -> Result<()> {
        let from = names::canonical(from)?;
        let to = names::canonical(to)?;
        if names::is_inbox(&from) {
            return self.rename_inbox(account, to).await;
        }
        if from == to || names::is_child_of(&to, &from) {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("cannot rename {from} to {to}, inside itself"),
            ));
        }
        if names::is_inbox(&to) {
            return Err(Error::new(ErrorKind::AlreadyExists, "INBOX already exists"));
        }
        let touched = self
            .write(move |tx| {
                let all = tx_scan_all(tx, &keys::mailboxes(account))?;
                let mut moving = Vec::new();
                for (k, v) in &all {
                    let Some(name) = keys::mailbox_name_of(account, k) else {
                        continue;
                    };
                    if name == from || names::is_child_of(name, &from) {
                        let target = format!("{to}{}", &name[from.len()..]);
                        moving.push((name.to_string(), target, decode::<MailboxRecord>(v)?));
                    }
                }
                if moving.is_empty() {
                    return Err(rows::not_found(&from));
                }
                for (_, target, _) in &moving {
                    if tx.get(&keys::mailbox(account, target))?.is_some() {
                        return Err(Error::new(
                            ErrorKind::AlreadyExists,
                            format!("mailbox {target} already exists"),
                        ));
                    }
                }
                let mut touched = Vec::new();
                for (old, target, record) in &moving {
                    tx.clear(keys::mailbox(account, old));
                    tx.set(keys::mailbox(account, target), encode(record)?);
                    tx.set(
                        keys::mailbox_by_id(account, record.id),
                        target.as_bytes().to_vec(),
                    );
                    touched.push(record.id);
                }
                let mut owner = rows::owner(tx, account)?.record;
                let mut grew = false;
                for parent in names::parents(&to) {
                    if tx.get(&keys::mailbox(account, parent))?.is_none() {
                        touched.push(rows::create(tx, &mut owner, parent, None)?.id);
                        grew = true;
                    }
                }
                if grew {
                    write_account(tx, &owner)?;
                }
                Ok(touched)
            })
            .await?;
        self.publish(changed(account, touched));
        Ok(())
    }

    async fn rename_inbox(&self, account: u64, to: String) -> Result<()> {
        if names::is_inbox(&to) {
            return Err(Error::new(ErrorKind::AlreadyExists, "INBOX already exists"));
        }
        self.create_mailbox(account, &to, None).await?;
        // Messages that arrive in INBOX during the rename stay there, as if after it.
        let (inbox, last) = {
            let view = self.read()?;
            let inbox = rows::mailbox_named(&*view, account, "INBOX")?;
            (inbox.id, inbox.uidnext)
        };
        loop {
            let uids: Vec<u32> = {
                let view = self.read()?;
                view.scan(&keys::messages(account, inbox), super::PAGE)?
                    .entries
                    .iter()
                    .filter_map(|(k, _)| keys::message_parts(k).map(|(_, _, uid)| uid))
                    .filter(|uid| *uid < last)
                    .collect()
            };
            if uids.is_empty() {
                return Ok(());
            }
            let moved = self.move_messages(account, inbox, &uids, &to).await?;
            if moved.pairs.is_empty() {
                // Someone else expunged or moved them meanwhile; the next page decides.
                continue;
            }
        }
    }

    /// Subscribes to or unsubscribes from a name, which need not exist (RFC 9051 §6.3.7-8).
    ///
    /// Errors: `InvalidData` (bad name).
    pub async fn set_subscribed(&self, account: u64, name: &str, on: bool) -> Result<()> {
        let name = names::canonical(name)?;
        self.write(move |tx| {
            let key = keys::subscription(account, &name);
            if on {
                tx.set(key, Vec::new());
            } else {
                tx.clear(key);
            }
            Ok(())
        })
        .await
    }

    /// The subscribed names, sorted (INBOX first).
    pub fn subscriptions(&self, account: u64) -> Result<Vec<String>> {
        let view = self.read()?;
        let mut out: Vec<String> = scan_all(&*view, &keys::subscriptions(account))?
            .iter()
            .filter_map(|(k, _)| keys::mailbox_name_of(account, k).map(str::to_string))
            .collect();
        out.sort_by(|a, b| (a != "INBOX", a).cmp(&(b != "INBOX", b)));
        Ok(out)
    }

    /// Opens a mailbox: its state and all its messages from one snapshot (RFC 9051 §6.3.2).
    ///
    /// Errors: `InvalidData` (bad name), `NotFound`.
    pub fn select(&self, account: u64, name: &str) -> Result<MailboxView> {
        let name = names::canonical(name)?;
        let view = self.read()?;
        let mbox = rows::mailbox_named(&*view, account, &name)?;
        // Decoded page by page: a 100,000-message mailbox is never held twice.
        let range = keys::messages(account, mbox.id);
        let mut messages = Vec::with_capacity(usize::try_from(mbox.messages).unwrap_or(0));
        let mut next = Some(range.clone());
        while let Some(r) = next {
            next = view.scan_each(&r, SELECT_PAGE, &mut |k, v| {
                let (_, _, uid) = keys::message_parts(k)
                    .ok_or_else(|| Error::new(ErrorKind::Internal, "malformed message key"))?;
                messages.push(crate::records::decode_meta(uid, v)?);
                Ok(())
            })?;
        }
        Ok(MailboxView {
            id: mbox.id,
            name,
            uidvalidity: mbox.uidvalidity,
            uidnext: mbox.uidnext,
            highest_modseq: mbox.highest_modseq,
            messages,
            special_use: mbox.special_use,
        })
    }

    /// STATUS counters of a mailbox, from one snapshot.
    ///
    /// Errors: `InvalidData` (bad name), `NotFound`.
    pub fn status(&self, account: u64, name: &str) -> Result<MailboxStatus> {
        let name = names::canonical(name)?;
        let view = self.read()?;
        let mbox = rows::mailbox_named(&*view, account, &name)?;
        let mut status = MailboxStatus {
            id: mbox.id,
            uidnext: mbox.uidnext,
            uidvalidity: mbox.uidvalidity,
            highest_modseq: mbox.highest_modseq,
            ..MailboxStatus::default()
        };
        for (k, v) in scan_all(&*view, &keys::messages(account, mbox.id))? {
            let record: crate::records::MessageRecord = decode(&v)?;
            let uid = keys::message_parts(&k).map(|(_, _, u)| u).unwrap_or(0);
            status.messages += 1;
            status.size = status.size.saturating_add(record.size);
            if !super::flags::has(&record.flags, super::flags::SEEN) {
                status.unseen += 1;
            }
            if super::flags::has(&record.flags, super::flags::DELETED) {
                status.deleted += 1;
            }
            if uid >= mbox.recent_uid {
                status.recent += 1;
            }
        }
        Ok(status)
    }

    /// Storage use and limits of an account and its domain.
    ///
    /// Errors: `NotFound` (no such account).
    pub fn quota(&self, account: u64) -> Result<QuotaInfo> {
        let view = self.read()?;
        let address = view
            .lookup(&keys::account_by_id(account))?
            .and_then(|a| String::from_utf8(a).ok())
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no account {account}")))?;
        let record: AccountRecord = get_record(&*view, &keys::account(&address))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no account {address}")))?;
        let domain = super::tenancy::split_domain(&address).0.to_string();
        let domain_limit = get_record::<DomainRecord>(&*view, &keys::domain(&domain))?
            .map(|d| d.quota)
            .unwrap_or(0);
        let counter = |key: Vec<u8>| -> Result<u64> {
            Ok(crate::backend::decode_counter(view.get(&key)?.as_deref()).max(0) as u64)
        };
        Ok(QuotaInfo {
            used: counter(keys::account_usage(account))?,
            limit: record.quota,
            messages: counter(keys::account_messages_count(account))?,
            domain_used: counter(keys::domain_usage(&domain))?,
            domain_limit,
            domain,
        })
    }
}

fn write_account(tx: &mut crate::commit::Tx<'_>, record: &AccountRecord) -> Result<()> {
    let address = tx
        .get(&keys::account_by_id(record.id))?
        .and_then(|a| String::from_utf8(a).ok())
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "the account was removed"))?;
    // Re-read to be sure the address still names this account before overwriting it.
    if tx_record::<AccountRecord>(tx, &keys::account(&address))?.is_none_or(|a| a.id != record.id) {
        return Err(Error::new(ErrorKind::NotFound, "the account was removed"));
    }
    tx.set(keys::account(&address), encode(record)?);
    Ok(())
}

fn changed(account: u64, ids: Vec<u32>) -> Vec<MailboxChanged> {
    ids.into_iter()
        .map(|mailbox| MailboxChanged { account, mailbox })
        .collect()
}

fn canonical_special_use(attr: &str) -> Result<String> {
    SPECIAL_USES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(attr))
        .map(|s| (*s).to_string())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidData,
                format!("{attr} is not a special-use attribute (RFC 6154)"),
            )
        })
}
