//! Recipient resolution and durable delivery.
//!
//! A delivery writes the body once (content-addressed; a file fsynced before the commit, or for a
//! small message inside the commit itself) and then, in one unit of a group commit, a row per local recipient with its UID and MODSEQ, the usage counters and the
//! blob's reference count. Remote recipients (alias targets elsewhere) go to the outbound queue in
//! the same unit. The caller acknowledges only after this returns.

use std::collections::HashSet;

use yubin_proto::Address;

use super::rows::{self, fits};
use super::{MailStore, MailboxChanged, get_record, now};
use crate::blob::{hash_hex, hash_of};
use crate::commit::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{
    AccountRecord, AliasRecord, DomainRecord, MessageRecord, QueueRecord, QueuedRecipient, encode,
};

/// Largest message kept inline in the metadata store. Bounded so a group of 512 units stays
/// far below the backend's transaction limit, and below FoundationDB-like value limits.
pub(crate) const INLINE_MAX: usize = 32 * 1024;

/// Longest alias chain followed; deeper chains are treated as loops.
const MAX_ALIAS_DEPTH: usize = 8;

/// A local account a message is stored for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalTarget {
    /// Account id.
    pub account: u64,
    /// Normalized account address.
    pub address: String,
}

/// Where mail to one envelope recipient goes.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// Local accounts.
    pub local: Vec<LocalTarget>,
    /// Remote addresses (alias targets on other hosts), for the outbound queue.
    pub remote: Vec<String>,
}

/// The answer to "may this recipient receive mail here?".
#[derive(Debug, Clone)]
pub enum Resolved {
    /// Deliverable.
    Accept(Resolution),
    /// The domain is not hosted here (relaying is a policy decision of the caller).
    NotLocal,
    /// The domain is hosted but has no such address.
    NoSuchUser,
    /// Every account the address leads to is disabled.
    Disabled,
    /// Every account the address leads to is over quota for a message of the given size.
    OverQuota,
}

/// A message to store for some envelope recipients.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The complete message as it will be stored (trace headers included).
    pub message: Vec<u8>,
    /// Envelope sender (empty for the null sender).
    pub mail_from: String,
    /// One resolution per accepted envelope recipient, in RCPT order.
    pub recipients: Vec<Resolution>,
}

/// Per-recipient outcome of a delivery, in the order of `Delivery::recipients`.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    /// `Ok` when stored for (or queued to) at least one target of that recipient.
    pub results: Vec<Result<()>>,
}

impl MailStore {
    /// Resolves an envelope recipient: exact account, exact alias (followed through chains),
    /// `user+tag` to `user`, then the domain's catch-all. `size_hint` (bytes, 0 if unknown) is
    /// checked against quotas.
    pub fn resolve(&self, address: &Address, size_hint: u64) -> Result<Resolved> {
        let view = self.read()?;
        let domain = address.domain().to_string();
        if view.get(&keys::domain(&domain))?.is_none() {
            return Ok(Resolved::NotLocal);
        }
        let normalized = address.normalized();
        let mut resolution = Resolution::default();
        let mut seen = HashSet::new();
        let mut disabled = 0usize;
        let mut over_quota = 0usize;
        let candidates = candidates(&normalized);
        let mut found = false;
        for candidate in candidates {
            if self.expand(
                &*view,
                &candidate,
                0,
                &mut seen,
                &mut resolution,
                &mut disabled,
                &mut over_quota,
                size_hint,
            )? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(Resolved::NoSuchUser);
        }
        if resolution.local.is_empty() && resolution.remote.is_empty() {
            return Ok(if over_quota > 0 {
                Resolved::OverQuota
            } else if disabled > 0 {
                Resolved::Disabled
            } else {
                Resolved::NoSuchUser
            });
        }
        Ok(Resolved::Accept(resolution))
    }

    /// Adds what `address` leads to; returns whether the address exists here.
    #[allow(clippy::too_many_arguments)]
    fn expand(
        &self,
        view: &dyn crate::backend::ReadView,
        address: &str,
        depth: usize,
        seen: &mut HashSet<String>,
        out: &mut Resolution,
        disabled: &mut usize,
        over_quota: &mut usize,
        size_hint: u64,
    ) -> Result<bool> {
        if depth > MAX_ALIAS_DEPTH || !seen.insert(address.to_string()) {
            return Ok(true);
        }
        if let Some(account) = get_record::<AccountRecord>(view, &keys::account(address))? {
            if !account.enabled {
                *disabled += 1;
            } else if !has_room(view, &account, address, size_hint)? {
                *over_quota += 1;
            } else {
                let target = LocalTarget {
                    account: account.id,
                    address: address.to_string(),
                };
                if !out.local.contains(&target) {
                    out.local.push(target);
                }
            }
            return Ok(true);
        }
        let Some(alias) = get_record::<AliasRecord>(view, &keys::alias(address))? else {
            return Ok(false);
        };
        for target in alias.targets {
            let domain = target.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            if view.get(&keys::domain(domain))?.is_some() {
                // A local target that does not exist is skipped, like a dangling alias entry.
                let _ = self.expand(
                    view,
                    &target,
                    depth + 1,
                    seen,
                    out,
                    disabled,
                    over_quota,
                    size_hint,
                )?;
            } else if !out.remote.contains(&target) {
                out.remote.push(target);
            }
        }
        Ok(true)
    }

    /// Stores `delivery` durably; see the module documentation.
    ///
    /// Errors (whole delivery): `Unavailable` when the store cannot take writes now (disk full,
    /// read-only, overloaded), `Internal`. Per-recipient errors (`OverQuota`, `NotFound` for an
    /// account removed meanwhile) are in the outcome.
    pub async fn deliver(&self, delivery: Delivery) -> Result<DeliveryOutcome> {
        let message = delivery.message;
        let size = message.len() as u64;
        let message_id = header_message_id(&message);
        let structure = super::structure::encode(&message);
        let (hash, inline, _gate) = self.prepare_body(message).await?;
        let blob = hash_hex(&hash);
        let mail_from = delivery.mail_from;
        let recipients = delivery.recipients;
        let (outcome, touched, queued) = self
            .write(move |tx| {
                let received = now();
                let mut touched = Vec::new();
                let mut stored: HashSet<u64> = HashSet::new();
                let mut refs = 0i64;
                let mut remote_all: Vec<String> = Vec::new();
                let mut queued = false;
                let mut results = Vec::with_capacity(recipients.len());
                for resolution in &recipients {
                    let mut ok = !resolution.remote.is_empty();
                    let mut last_error = None;
                    for target in &resolution.local {
                        if stored.contains(&target.account) {
                            ok = true;
                            continue;
                        }
                        let record = MessageRecord {
                            gid: 0,
                            blob: blob.clone(),
                            size,
                            received,
                            flags: Vec::new(),
                            modseq: 0,
                            message_id: message_id.clone(),
                        };
                        match store_row(tx, target.account, "INBOX", record) {
                            Ok((mailbox, _)) => {
                                touched.push(MailboxChanged {
                                    account: target.account,
                                    mailbox,
                                });
                                stored.insert(target.account);
                                refs += 1;
                                ok = true;
                            }
                            Err(e) => last_error = Some(e),
                        }
                    }
                    for r in &resolution.remote {
                        if !remote_all.contains(r) {
                            remote_all.push(r.clone());
                        }
                    }
                    results.push(if ok {
                        Ok(())
                    } else {
                        Err(last_error.unwrap_or_else(|| {
                            Error::new(ErrorKind::NotFound, "no deliverable target")
                        }))
                    });
                }
                if !remote_all.is_empty() {
                    let entry = QueueRecord {
                        blob: blob.clone(),
                        from: mail_from.clone(),
                        recipients: remote_all
                            .into_iter()
                            .map(|address| QueuedRecipient {
                                address,
                                ..QueuedRecipient::default()
                            })
                            .collect(),
                        created: received,
                        size,
                        account: None,
                        next_attempt: received,
                        attempts: 0,
                        delay_warned: false,
                    };
                    super::queue::insert(tx, &entry)?;
                    refs += 1;
                    queued = true;
                }
                if refs > 0 {
                    tx.add(keys::blob_refs(&hash), refs);
                    if let Some(bytes) = inline {
                        tx.set(keys::blob_inline(&hash), bytes);
                    }
                    super::structure::remember(tx, &hash, structure)?;
                }
                Ok((DeliveryOutcome { results }, touched, queued))
            })
            .await?;
        self.publish(touched);
        if queued {
            self.queue_wake.notify_one();
        }
        Ok(outcome)
    }

    /// Hashes a body and, past [`INLINE_MAX`], makes its file durable. For a file, the returned
    /// guard must be held until the rows referring to it are committed (see `blob_gate`).
    pub(crate) async fn prepare_body(
        &self,
        message: Vec<u8>,
    ) -> Result<(
        crate::blob::BlobHash,
        Option<Vec<u8>>,
        Option<tokio::sync::OwnedRwLockReadGuard<()>>,
    )> {
        let gate = if message.len() > INLINE_MAX {
            Some(self.blob_gate.clone().read_owned().await)
        } else {
            None
        };
        let (hash, inline) = self.store_body(message).await?;
        Ok((hash, inline, gate))
    }

    /// Hashes a body; past [`INLINE_MAX`] writes its file. Small bodies ride in the group
    /// commit: no file, directory or extra fsync of their own. The caller holds the blob gate
    /// (shared) for a large body, once for all bodies of one commit: taking it again while the
    /// purger waits for it would deadlock, the lock being fair.
    pub(crate) async fn store_body(
        &self,
        message: Vec<u8>,
    ) -> Result<(crate::blob::BlobHash, Option<Vec<u8>>)> {
        if message.len() <= INLINE_MAX {
            return Ok((hash_of(&message), Some(message)));
        }
        let hash = self.blocking(move |blobs| blobs.put(&message)).await?;
        Ok((hash, None))
    }
}

/// Appends one message row to the mailbox `mailbox` (canonical name) of `account` inside a
/// write unit, enforcing account and domain quota; takes one blob reference's worth of usage but
/// not the reference itself (the caller counts those). Returns the mailbox id and the UID.
pub(crate) fn store_row(
    tx: &mut Tx<'_>,
    account: u64,
    mailbox: &str,
    record: MessageRecord,
) -> Result<(u32, u32)> {
    let owner = rows::owner(tx, account)?;
    rows::check_quota(tx, &owner, record.size)?;
    let mut mbox = rows::mailbox_named(tx, account, mailbox)?;
    let size = record.size as i64;
    let (uid, _) = rows::insert(tx, account, &mut mbox, record)?;
    rows::charge(tx, account, &owner.domain, size, 1);
    tx.set(keys::mailbox(account, mailbox), encode(&mbox)?);
    Ok((mbox.id, uid))
}

fn has_room(
    view: &dyn crate::backend::ReadView,
    account: &AccountRecord,
    address: &str,
    size: u64,
) -> Result<bool> {
    let used =
        crate::backend::decode_counter(view.get(&keys::account_usage(account.id))?.as_deref())
            .max(0) as u64;
    if !fits(account.quota, used, size) {
        return Ok(false);
    }
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    if let Some(dom) = get_record::<DomainRecord>(view, &keys::domain(domain))? {
        let dused = crate::backend::decode_counter(
            view.get(&keys::domain_usage(domain))?.as_deref(),
        )
        .max(0) as u64;
        if !fits(dom.quota, dused, size) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Lookup order for an address: itself, without `+tag`, then the domain's catch-all.
fn candidates(address: &str) -> Vec<String> {
    let mut out = vec![address.to_string()];
    if let Some((local, domain)) = address.rsplit_once('@') {
        if let Some((base, _tag)) = local.split_once('+')
            && !base.is_empty()
        {
            out.push(format!("{base}@{domain}"));
        }
        out.push(format!("@{domain}"));
    }
    out
}

/// The Message-ID header of a message, for listings and duplicate checks.
pub(crate) fn header_message_id(message: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::new()
        .with_minimal_headers()
        .parse_headers(message)?;
    parsed.message_id().map(|id| {
        let id = id.trim_start_matches('<').trim_end_matches('>');
        format!("<{id}>")
    })
}
