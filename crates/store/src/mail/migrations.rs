//! Format migrations, one function per version step, each run inside one commit by
//! `MailStore::migrate`.

use serde::Deserialize;

use super::tx_scan_all;
use crate::commit::Tx;
use crate::error::Result;
use crate::keys;
use crate::records::{AccountRecord, MailboxRecord, decode, encode};

/// The part of a format-1 mailbox record that moved elsewhere.
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1Mailbox {
    subscribed: bool,
}

/// Format 1 -> 2: subscriptions leave `MailboxRecord` for their own key family; every mailbox
/// gets its by-id entry; the UIDVALIDITY sequence starts above every value already handed out;
/// sessions have claimed no message as `\Recent` yet.
pub(super) fn v1_subscriptions_and_ids(tx: &mut Tx<'_>) -> Result<()> {
    // Units scan before they write: collect everything first.
    let mut mailboxes = Vec::new();
    for (_, value) in tx_scan_all(tx, &keys::accounts())? {
        let account: AccountRecord = decode(&value)?;
        for (k, v) in tx_scan_all(tx, &keys::mailboxes(account.id))? {
            let Some(name) = keys::mailbox_name_of(account.id, &k) else {
                continue;
            };
            let old: V1Mailbox = serde_json::from_slice(&v)
                .map_err(|e| crate::error::Error::internal("decoding a format-1 mailbox", e))?;
            let record: MailboxRecord = decode(&v)?;
            mailboxes.push((account.id, name.to_string(), old.subscribed, record));
        }
    }
    let mut highest_validity = 0i64;
    for (account, name, subscribed, mut record) in mailboxes {
        if subscribed {
            tx.set(keys::subscription(account, &name), Vec::new());
        }
        tx.set(
            keys::mailbox_by_id(account, record.id),
            name.as_bytes().to_vec(),
        );
        highest_validity = highest_validity.max(i64::from(record.uidvalidity));
        record.recent_uid = record.recent_uid.max(1);
        tx.set(keys::mailbox(account, &name), encode(&record)?);
    }
    let last = tx.counter(&keys::sequence("uidvalidity"))?;
    if highest_validity > last {
        tx.add(keys::sequence("uidvalidity"), highest_validity - last);
    }
    Ok(())
}

/// Format 2 -> 3: message rows are written in a binary form from now on (`records.rs`); rows
/// stored as JSON stay readable and are rewritten as they change, so nothing is rewritten here.
/// The version bump keeps an older build, which reads only JSON, from opening the store.
pub(super) fn v2_binary_message_rows(_tx: &mut Tx<'_>) -> Result<()> {
    Ok(())
}
