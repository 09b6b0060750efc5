//! `check`: verifies that the store is consistent, for operators and the crash tests.

use std::collections::{HashMap, HashSet};

use super::mailbox::{blob_hash, scan_messages};
use super::{MailStore, PAGE, scan_all};
use crate::backend::{ReadView, decode_counter};
use crate::blob::hash_of;
use crate::error::Result;
use crate::keys::{self, BlobKind};
use crate::records::{AccountRecord, MailboxRecord, QueueRecord, decode};

impl MailStore {
    /// Verifies every message row has its blob with matching content, that mailbox counts and
    /// sizes, account usage and blob reference counts agree with the rows (rows of dropped
    /// mailboxes and purge-queue entries count as references, not as usage; tombstones count
    /// for nothing), that the modseq index holds exactly one entry per row at its MODSEQ, and
    /// that every mailbox has its by-id entry, and that every outbound-queue record holds a
    /// reference to a body of its size, has a pending recipient and exactly one schedule entry
    /// at its next attempt (and no schedule entry lacks its record). Returns the problems
    /// found (empty = consistent). Reads the whole store: an offline or maintenance operation.
    pub async fn check(&self) -> Result<Vec<String>> {
        let view = self.read()?;
        let mut problems = Vec::new();
        let messages = scan_messages(&*view)?;
        let mut per_mailbox: HashMap<(u64, u32), (u64, u64, u32)> = HashMap::new();
        let mut per_account: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut refs: HashMap<[u8; 32], i64> = HashMap::new();
        let mut blobs_to_check = Vec::new();
        // Problems name accounts and mailboxes as operators know them, not by internal ids.
        let mut addresses: HashMap<u64, String> = HashMap::new();
        let mut mailbox_names: HashMap<(u64, u32), String> = HashMap::new();
        // Each account with its mailboxes, read once: for names here, for counts further down.
        let mut accounts: Vec<(AccountRecord, Vec<(String, MailboxRecord)>)> = Vec::new();
        for (_, value) in scan_all(&*view, &keys::accounts())? {
            let account: AccountRecord = decode(&value)?;
            let prefix = keys::mailboxes(account.id).start.len();
            let mut mailboxes = Vec::new();
            for (k, v) in scan_all(&*view, &keys::mailboxes(account.id))? {
                let mbox: MailboxRecord = decode(&v)?;
                let name = String::from_utf8_lossy(&k[prefix..]).into_owned();
                mailbox_names.insert((account.id, mbox.id), name.clone());
                mailboxes.push((name, mbox));
            }
            accounts.push((account, mailboxes));
        }
        let dropped: HashSet<(u64, u32)> = scan_all(&*view, &keys::all_dropped_mailboxes())?
            .iter()
            .filter_map(|(k, _)| keys::account_mailbox_parts(k))
            .collect();
        let mut index: HashMap<(u64, u32, u64), Vec<u8>> = scan_all(&*view, &keys::all_modseqs())?
            .into_iter()
            .filter_map(|(k, v)| keys::modseq_parts(&k).map(|p| (p, v)))
            .collect();
        for (key, value) in scan_all(&*view, &keys::accounts_by_id())? {
            if let (Some(id), Ok(address)) = (
                key.get(1..9)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes),
                String::from_utf8(value),
            ) {
                addresses.insert(id, address);
            }
        }
        let account_name = |id: u64| {
            addresses
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("account #{id}"))
        };
        let place = |account: u64, mailbox: u32| {
            let mailbox = mailbox_names
                .get(&(account, mailbox))
                .cloned()
                .unwrap_or_else(|| format!("mailbox #{mailbox}"));
            format!("{} {mailbox}", account_name(account))
        };
        for (key, record) in &messages {
            let Some((account, mailbox, uid)) = keys::message_parts(key) else {
                problems.push("malformed message key".into());
                continue;
            };
            match index.remove(&(account, mailbox, record.modseq)) {
                Some(v) if v == uid.to_be_bytes() => {}
                _ => problems.push(format!(
                    "{} UID {uid}: no modseq index entry at its MODSEQ {}",
                    place(account, mailbox),
                    record.modseq
                )),
            }
            if dropped.contains(&(account, mailbox)) {
                // A deleted mailbox's rows await the purger: references, not usage.
                if let Ok(hash) = blob_hash(record) {
                    *refs.entry(hash).or_default() += 1;
                }
                continue;
            }
            let entry = per_mailbox.entry((account, mailbox)).or_default();
            entry.0 += 1;
            entry.1 += record.size;
            entry.2 = entry.2.max(uid);
            let acc = per_account.entry(account).or_default();
            acc.0 += record.size;
            acc.1 += 1;
            match blob_hash(record) {
                Ok(hash) => {
                    *refs.entry(hash).or_default() += 1;
                    blobs_to_check.push((
                        hash,
                        record.size,
                        format!("{} UID {uid}", place(account, mailbox)),
                    ));
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        problems.extend(check_queue(&*view, &mut refs, &mut blobs_to_check)?);
        for ((account, mailbox, modseq), _) in index {
            problems.push(format!(
                "{}: modseq index entry {modseq} names no message at that MODSEQ",
                place(account, mailbox)
            ));
        }
        for (_, value) in scan_all(&*view, &keys::all_purge())? {
            match super::purge::queued_hash(&value) {
                Ok(hash) => *refs.entry(hash).or_default() += 1,
                Err(_) => problems.push("malformed purge queue entry".into()),
            }
        }
        problems.extend(check_blob_keys(&*view, &mut refs)?);
        for (hash, count) in refs {
            problems.push(format!(
                "blob {} is referenced {count} times but has no reference count",
                crate::blob::hash_hex(&hash)
            ));
        }
        for (account, mailboxes) in &accounts {
            let (size, count) = per_account.remove(&account.id).unwrap_or_default();
            let used = decode_counter(view.get(&keys::account_usage(account.id))?.as_deref());
            let n = decode_counter(
                view.get(&keys::account_messages_count(account.id))?
                    .as_deref(),
            );
            if used != size as i64 || n != count as i64 {
                problems.push(format!(
                    "{}: usage counters say {used} bytes/{n} messages, rows say {size}/{count}",
                    account_name(account.id)
                ));
            }
            for (name, mbox) in mailboxes {
                if view
                    .get(&keys::mailbox_by_id(account.id, mbox.id))?
                    .as_deref()
                    != Some(name.as_bytes())
                {
                    problems.push(format!(
                        "{} {name}: its by-id entry is missing or names another mailbox",
                        account_name(account.id)
                    ));
                }
                let (count, size, max_uid) = per_mailbox
                    .remove(&(account.id, mbox.id))
                    .unwrap_or_default();
                if mbox.messages != count || mbox.size != size {
                    problems.push(format!(
                        "{} {name}: record says {} messages/{} bytes, rows say {count}/{size}",
                        account_name(account.id),
                        mbox.messages,
                        mbox.size
                    ));
                }
                if max_uid >= mbox.uidnext {
                    problems.push(format!(
                        "{} {name}: UID {max_uid} is not below UIDNEXT {}",
                        account_name(account.id),
                        mbox.uidnext
                    ));
                }
            }
        }
        for ((account, mailbox), (count, _, _)) in per_mailbox {
            problems.push(format!(
                "{count} message rows in a mailbox that does not exist: {}",
                place(account, mailbox)
            ));
        }
        // Inline bodies are checked here; the rest are files, read off the async workers.
        let mut file_blobs = Vec::new();
        for (hash, size, place) in blobs_to_check {
            match view.get(&keys::blob_inline(&hash))? {
                Some(data) if data.len() as u64 == size && hash_of(&data) == hash => {}
                Some(_) => problems.push(format!(
                    "{place}: inline body does not match its hash or size"
                )),
                None => file_blobs.push((hash, size, place)),
            }
        }
        drop(view);
        let blob_problems = self
            .blocking(move |blobs| {
                let mut out = Vec::new();
                for (hash, size, place) in file_blobs {
                    match blobs.get(&hash) {
                        Ok(data) if data.len() as u64 == size && hash_of(&data) == hash => {}
                        Ok(_) => out.push(format!(
                            "{place}: blob content does not match its hash or size"
                        )),
                        Err(e) => out.push(format!("{place}: {e}")),
                    }
                }
                Ok(out)
            })
            .await?;
        problems.extend(blob_problems);
        Ok(problems)
    }
}

/// The outbound queue's part of `check`: counts each record's body reference in `refs`, queues
/// its body for the content check, and compares records with the schedule index.
fn check_queue(
    view: &dyn crate::backend::ReadView,
    refs: &mut HashMap<[u8; 32], i64>,
    blobs_to_check: &mut Vec<([u8; 32], u64, String)>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut schedule = HashSet::new();
    for (key, _) in scan_all(view, &keys::all_queue_schedule())? {
        match keys::queue_schedule_parts(&key) {
            Some(entry) => {
                schedule.insert(entry);
            }
            None => problems.push("malformed queue schedule key".into()),
        }
    }
    for (key, value) in scan_all(view, &keys::all_queue())? {
        let Some(id) = keys::queue_id(&key) else {
            problems.push("malformed outbound queue key".into());
            continue;
        };
        let q: QueueRecord = match decode(&value) {
            Ok(q) => q,
            Err(e) => {
                problems.push(format!("queued message {id}: {e}"));
                continue;
            }
        };
        match crate::blob::parse_hash(&q.blob) {
            Some(hash) => {
                *refs.entry(hash).or_default() += 1;
                // Sizes were not kept before format 4 for bodies in files.
                if q.size > 0 {
                    blobs_to_check.push((hash, q.size, format!("queued message {id}")));
                }
            }
            None => problems.push(format!(
                "queued message {id}: malformed blob address {}",
                q.blob
            )),
        }
        if !schedule.remove(&(q.next_attempt, id)) {
            problems.push(format!(
                "queued message {id}: no schedule entry at its next attempt {}",
                q.next_attempt
            ));
        }
        if q.recipients
            .iter()
            .all(|r| r.status != crate::records::RecipientStatus::Pending)
        {
            problems.push(format!(
                "queued message {id}: no recipient is pending, yet it is still queued"
            ));
        }
    }
    for (at, id) in schedule {
        problems.push(format!(
            "queue schedule entry at {at} names message {id}, which is not queued for then"
        ));
    }
    Ok(problems)
}

/// Compares each blob's reference count with the references counted in `refs` (removing them,
/// so what is left has no counter) and reports inline bodies and structures without a counter.
/// One pass over the blob family: a blob's counter sorts right before its other keys.
fn check_blob_keys(view: &dyn ReadView, refs: &mut HashMap<[u8; 32], i64>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut counted: Option<[u8; 32]> = None;
    let mut next = Some(keys::all_blobs());
    while let Some(range) = next {
        next = view.scan_each(&range, PAGE, &mut |key, value| {
            let Some((hash, kind)) = keys::blob_parts(key) else {
                problems.push("malformed blob key".into());
                return Ok(());
            };
            let orphan = match kind {
                BlobKind::Refs => {
                    counted = Some(hash);
                    let count = decode_counter(Some(value));
                    let expected = refs.remove(&hash).unwrap_or(0);
                    if expected != count {
                        problems.push(format!(
                            "blob {} has reference count {count}, rows refer to it {expected} times",
                            crate::blob::hash_hex(&hash)
                        ));
                    }
                    return Ok(());
                }
                BlobKind::Structure => "cached structure",
                BlobKind::Inline => "inline body",
            };
            if counted != Some(hash) {
                problems.push(format!(
                    "{orphan} {} has no references",
                    crate::blob::hash_hex(&hash)
                ));
            }
            Ok(())
        })?;
    }
    Ok(problems)
}
