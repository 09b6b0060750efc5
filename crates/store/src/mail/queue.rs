//! The durable outbound queue: messages waiting for delivery to remote recipients.
//!
//! One record per message (`keys.rs` 0x50) with the status of each recipient, and one schedule
//! entry (0x51) keyed by the time of the next attempt, so "what is due now" is a range scan from
//! the front of the schedule rather than a walk over every record. The record and its schedule
//! entry are always written, moved and removed in the same commit.
//!
//! A queued message holds one reference to its body (the content-addressed blob deliveries
//! use). When no recipient is pending any more, or an operator removes the message, the record
//! goes and its reference is handed to the purge queue, as expunge does, so the purger drops the
//! body after its grace period.
//!
//! Durability: `enqueue` returns only once body, record and schedule entry are committed, so
//! the submission service may answer 250 after it. The runner reports each remote transaction
//! with `queue_update` as soon as it ends: after a crash, only recipients whose result was not
//! yet recorded are sent again.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Notify;

use super::{MailStore, get_record, now, rows, scan_all, tx_record};
use crate::blob::{BlobHash, hash_hex, parse_hash};
use crate::commit::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{QueueRecord, QueuedRecipient, RecipientStatus, decode, encode};

/// Schedule entries moved per commit by `queue_retry(None)`: a bounded unit however long the
/// queue is.
const RETRY_BATCH: usize = 500;

/// A message for the outbound queue (the submission service's, or any caller's).
#[derive(Debug, Clone)]
pub struct NewOutbound {
    /// The complete message as it will be sent (trace headers included).
    pub message: Vec<u8>,
    /// Envelope sender; empty for the null sender (`MAIL FROM:<>`).
    pub mail_from: String,
    /// Remote recipient addresses; duplicates are dropped, order is kept.
    pub recipients: Vec<String>,
    /// The submitting account, if the message came through submission.
    pub account: Option<u64>,
}

/// A queued message as the runner and the admin CLI see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// Queue id, unique in the store and never reused.
    pub id: u64,
    /// Hex SHA-256 of the body; read the bytes with [`MailStore::queue_body`].
    pub blob: String,
    /// Envelope sender; empty for the null sender.
    pub from: String,
    /// Time queued, seconds since the Unix epoch.
    pub created: i64,
    /// Size of the body in bytes (0 for messages queued before it was recorded).
    pub size: u64,
    /// The submitting account, if any.
    pub account: Option<u64>,
    /// When the next attempt is due, seconds since the Unix epoch.
    pub next_attempt: i64,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// Whether the sender has been told the message is delayed.
    pub delay_warned: bool,
    /// Every recipient with its status, in the order queued.
    pub recipients: Vec<QueuedRecipient>,
}

impl QueuedMessage {
    fn from_record(id: u64, r: QueueRecord) -> Self {
        Self {
            id,
            blob: r.blob,
            from: r.from,
            created: r.created,
            size: r.size,
            account: r.account,
            // Records from before the schedule existed were due from the start.
            next_attempt: if r.next_attempt == 0 {
                r.created
            } else {
                r.next_attempt
            },
            attempts: r.attempts,
            delay_warned: r.delay_warned,
            recipients: r.recipients,
        }
    }

    fn to_record(&self) -> QueueRecord {
        QueueRecord {
            blob: self.blob.clone(),
            from: self.from.clone(),
            recipients: self.recipients.clone(),
            created: self.created,
            size: self.size,
            account: self.account,
            next_attempt: self.next_attempt,
            attempts: self.attempts,
            delay_warned: self.delay_warned,
        }
    }

    /// Recipients still to deliver to.
    pub fn pending(&self) -> impl Iterator<Item = &QueuedRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Pending)
    }

    /// Whether every recipient is delivered or failed (the message has left the queue).
    pub fn is_final(&self) -> bool {
        self.pending().next().is_none()
    }
}

/// The outcome of one attempt for one recipient, as the remote server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientResult {
    /// Accepted (2xx); the recipient is done.
    Delivered {
        /// The remote reply, e.g. `250 2.0.0 ok`.
        reply: String,
    },
    /// Refused for good (5xx, or given up after the retry period); a bounce is due.
    Failed {
        /// The remote reply, e.g. `550 5.1.1 no such user`.
        reply: String,
    },
    /// Not delivered this time (4xx, connection failure); stays pending.
    Deferred {
        /// The remote reply or what went wrong, e.g. `451 4.3.0 try later`.
        reply: String,
    },
}

/// What one delivery attempt changed, for [`MailStore::queue_update`].
#[derive(Debug, Clone, Default)]
pub struct QueueUpdate {
    /// Results by recipient address (as queued). Addresses not pending in the message are
    /// ignored, so a result reported twice (a retry of the update itself) changes nothing.
    pub results: Vec<(String, RecipientResult)>,
    /// The new time of the next attempt; `None` keeps the current one.
    pub next_attempt: Option<i64>,
    /// Sets whether the sender was told of the delay; `None` keeps it.
    pub delay_warned: Option<bool>,
}

impl MailStore {
    /// Messages in the outbound queue (the queue depth metric): one schedule entry each, whose
    /// values are empty, so this reads keys only.
    pub fn queue_depth(&self) -> Result<u64> {
        let view = self.read()?;
        Ok(super::scan_all(&*view, &keys::all_queue_schedule())?.len() as u64)
    }

    /// The notification the queue runner waits on next to its sleep until
    /// [`MailStore::queue_next_due`]: notified (`notify_one`, so a wake-up while the runner is
    /// busy is kept for its next wait) after `enqueue`, `queue_retry` and deliveries to remote
    /// alias targets commit.
    pub fn queue_wakeup(&self) -> Arc<Notify> {
        self.queue_wake.clone()
    }

    /// Queues `msg` for outbound delivery, due now, and wakes the runner. The body is stored as
    /// deliveries store it (content-addressed, inline when small, one more reference); body,
    /// record and schedule entry are durable when this returns. Returns the queue id.
    ///
    /// Errors: `InvalidData` for no recipients or an empty address, `Unavailable` when the
    /// store cannot take writes now (the submission service answers 451), `Internal`.
    pub async fn enqueue(&self, msg: NewOutbound) -> Result<u64> {
        let mut seen = HashSet::new();
        let mut recipients = Vec::with_capacity(msg.recipients.len());
        for address in msg.recipients {
            if address.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    "empty recipient address",
                ));
            }
            if seen.insert(address.clone()) {
                recipients.push(QueuedRecipient {
                    address,
                    ..QueuedRecipient::default()
                });
            }
        }
        if recipients.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "a queued message needs at least one recipient",
            ));
        }
        let size = msg.message.len() as u64;
        let (hash, inline, _gate) = self.prepare_body(msg.message).await?;
        let from = msg.mail_from;
        let account = msg.account;
        let id = self
            .write(move |tx| {
                let at = now();
                let record = QueueRecord {
                    blob: hash_hex(&hash),
                    from,
                    recipients,
                    created: at,
                    size,
                    account,
                    next_attempt: at,
                    attempts: 0,
                    delay_warned: false,
                };
                let id = insert(tx, &record)?;
                tx.add(keys::blob_refs(&hash), 1);
                if let Some(bytes) = inline {
                    tx.set(keys::blob_inline(&hash), bytes);
                }
                Ok(id)
            })
            .await?;
        self.queue_wake.notify_one();
        Ok(id)
    }

    /// Up to `limit` messages due at `now` (next attempt at or before it), earliest first, from
    /// one snapshot.
    ///
    /// Errors: `Internal` for an unreadable store or record.
    pub fn queue_due(&self, now: i64, limit: usize) -> Result<Vec<QueuedMessage>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let view = self.read()?;
        let page = view.scan(&keys::queue_due(now), limit)?;
        let mut out = Vec::with_capacity(page.entries.len());
        for (key, _) in page.entries {
            let Some((_, id)) = keys::queue_schedule_parts(&key) else {
                continue;
            };
            match get_record::<QueueRecord>(&*view, &keys::queue(id))? {
                Some(record) => out.push(QueuedMessage::from_record(id, record)),
                // `check` reports it; the runner has nothing to send for it.
                None => tracing::warn!(id, "queue schedule entry without its message"),
            }
        }
        Ok(out)
    }

    /// When the earliest queued message is due (seconds since the epoch; possibly in the
    /// past), or `None` when the queue is empty. One bounded read.
    ///
    /// Errors: `Internal` for an unreadable store.
    pub fn queue_next_due(&self) -> Result<Option<i64>> {
        let view = self.read()?;
        let page = view.scan(&keys::all_queue_schedule(), 1)?;
        Ok(page
            .entries
            .first()
            .and_then(|(k, _)| keys::queue_schedule_parts(k))
            .map(|(at, _)| at))
    }

    /// The queued message `id`, or `None` when it is not (or no longer) queued.
    ///
    /// Errors: `Internal` for an unreadable store or record.
    pub fn queued(&self, id: u64) -> Result<Option<QueuedMessage>> {
        let view = self.read()?;
        Ok(get_record::<QueueRecord>(&*view, &keys::queue(id))?
            .map(|r| QueuedMessage::from_record(id, r)))
    }

    /// Every queued message, by queue id (the order queued), from one snapshot. Reads the
    /// whole queue: for the admin CLI, not for the runner (see [`MailStore::queue_due`]).
    ///
    /// Errors: `Internal` for an unreadable store or record.
    pub fn queue_list(&self) -> Result<Vec<QueuedMessage>> {
        let view = self.read()?;
        let mut out = Vec::new();
        for (key, value) in scan_all(&*view, &keys::all_queue())? {
            let Some(id) = keys::queue_id(&key) else {
                continue;
            };
            out.push(QueuedMessage::from_record(id, decode(&value)?));
        }
        Ok(out)
    }

    /// The body of queued message `id`, exactly as it will be sent.
    ///
    /// Errors: `NotFound` when `id` is not queued, `Internal` for a missing or unreadable body.
    pub async fn queue_body(&self, id: u64) -> Result<Vec<u8>> {
        let message = self.queued(id)?.ok_or_else(|| not_queued(id))?;
        self.message_bytes(&blob_of(id, &message.blob)?).await
    }

    /// Records one delivery attempt of message `id` in one commit: each reported recipient
    /// gets one more attempt, the time and the reply, and its new status (`Deferred` stays
    /// pending); the message gets one more attempt when `results` is not empty; its schedule
    /// entry moves to `next_attempt`. When no recipient is left pending, the record and its
    /// schedule entry are removed and the body's reference goes to the purge queue.
    ///
    /// Returns the message as it now stands (the final state when it left the queue: check
    /// [`QueuedMessage::is_final`] to build a bounce from it), or `None` when `id` is not queued
    /// (an operator removed it meanwhile). Durable when it returns.
    ///
    /// Errors: `Unavailable` when the store cannot take writes now, `Internal`.
    pub async fn queue_update(
        &self,
        id: u64,
        update: QueueUpdate,
    ) -> Result<Option<QueuedMessage>> {
        let outcome = self
            .write(move |tx| {
                let Some(mut record) = tx_record::<QueueRecord>(tx, &keys::queue(id))? else {
                    return Ok(None);
                };
                let at = now();
                for (address, result) in &update.results {
                    let Some(r) = record
                        .recipients
                        .iter_mut()
                        .find(|r| r.status == RecipientStatus::Pending && r.address == *address)
                    else {
                        tracing::debug!(id, address, "result for a recipient not pending");
                        continue;
                    };
                    let (status, reply) = match result {
                        RecipientResult::Delivered { reply } => (RecipientStatus::Delivered, reply),
                        RecipientResult::Failed { reply } => (RecipientStatus::Failed, reply),
                        RecipientResult::Deferred { reply } => (RecipientStatus::Pending, reply),
                    };
                    r.status = status;
                    r.attempts = r.attempts.saturating_add(1);
                    r.last_attempt = Some(at);
                    r.last_reply = Some(reply.clone());
                }
                if !update.results.is_empty() {
                    record.attempts = record.attempts.saturating_add(1);
                }
                if let Some(warned) = update.delay_warned {
                    record.delay_warned = warned;
                }
                let mut message = QueuedMessage::from_record(id, record);
                if message.is_final() {
                    remove(tx, id, &message)?;
                } else {
                    let next = update.next_attempt.unwrap_or(message.next_attempt);
                    reschedule(tx, &mut message, next)?;
                }
                Ok(Some(message))
            })
            .await?;
        if outcome.as_ref().is_some_and(QueuedMessage::is_final) {
            self.purge_wake.notify_one();
        }
        Ok(outcome)
    }

    /// Makes message `id` due now (`Some`), or every queued message (`None`), and wakes the
    /// runner. Messages already due keep their place. Returns how many messages were made due:
    /// 1 for `Some` (also when it was already due), the number moved forward for `None`. For
    /// `None` the work is done in commits of a bounded size, each durable.
    ///
    /// Errors: `NotFound` when `Some(id)` is not queued, `Unavailable`, `Internal`.
    pub async fn queue_retry(&self, id: Option<u64>) -> Result<usize> {
        let moved = match id {
            Some(id) => {
                self.write(move |tx| {
                    let record = tx_record::<QueueRecord>(tx, &keys::queue(id))?
                        .ok_or_else(|| not_queued(id))?;
                    let mut message = QueuedMessage::from_record(id, record);
                    let at = now();
                    if message.next_attempt > at {
                        reschedule(tx, &mut message, at)?;
                    }
                    Ok(1)
                })
                .await?
            }
            None => {
                let mut total = 0;
                loop {
                    let moved = self.write(retry_batch).await?;
                    if moved == 0 {
                        break;
                    }
                    total += moved;
                }
                total
            }
        };
        self.queue_wake.notify_one();
        Ok(moved)
    }

    /// Removes message `id` from the queue without delivering it: record and schedule entry
    /// go in one commit, the body's reference to the purge queue. Returns whether it was
    /// queued. The runner may be sending it at that moment; its `queue_update` then finds
    /// nothing and returns `None`.
    ///
    /// Errors: `Unavailable`, `Internal`.
    pub async fn queue_remove(&self, id: u64) -> Result<bool> {
        let removed = self
            .write(move |tx| {
                let Some(record) = tx_record::<QueueRecord>(tx, &keys::queue(id))? else {
                    return Ok(false);
                };
                remove(tx, id, &QueuedMessage::from_record(id, record))?;
                Ok(true)
            })
            .await?;
        if removed {
            self.purge_wake.notify_one();
        }
        Ok(removed)
    }
}

/// Writes a new queue record under the next queue id with its schedule entry; returns the id.
/// The body's reference is the caller's.
pub(crate) fn insert(tx: &mut Tx<'_>, record: &QueueRecord) -> Result<u64> {
    let id = (tx.counter(&keys::sequence("queue"))? as u64).saturating_add(1);
    tx.add(keys::sequence("queue"), 1);
    tx.set(keys::queue(id), encode(record)?);
    tx.set(keys::queue_schedule(record.next_attempt, id), Vec::new());
    Ok(id)
}

/// Writes `message` due at `at`, moving its schedule entry.
fn reschedule(tx: &mut Tx<'_>, message: &mut QueuedMessage, at: i64) -> Result<()> {
    tx.clear(keys::queue_schedule(message.next_attempt, message.id));
    message.next_attempt = at;
    tx.set(keys::queue(message.id), encode(&message.to_record())?);
    tx.set(keys::queue_schedule(at, message.id), Vec::new());
    Ok(())
}

/// Removes a message from the queue: record, schedule entry, and its body reference handed to
/// the purge queue.
fn remove(tx: &mut Tx<'_>, id: u64, message: &QueuedMessage) -> Result<()> {
    let hash = blob_of(id, &message.blob)?;
    tx.clear(keys::queue(id));
    tx.clear(keys::queue_schedule(message.next_attempt, id));
    rows::enqueue_purge(tx, &hash)
}

/// Moves up to [`RETRY_BATCH`] messages not yet due to now; returns how many.
fn retry_batch(tx: &mut Tx<'_>) -> Result<usize> {
    let at = now();
    let page = tx.scan(&keys::queue_later(at), RETRY_BATCH)?;
    let mut moved = 0;
    for (key, _) in page.entries {
        let Some((_, id)) = keys::queue_schedule_parts(&key) else {
            continue;
        };
        match tx_record::<QueueRecord>(tx, &keys::queue(id))? {
            Some(record) => {
                reschedule(tx, &mut QueuedMessage::from_record(id, record), at)?;
                moved += 1;
            }
            // An entry without its record would be found again by every batch: drop it so
            // the loop ends (`check` reports such entries until then).
            None => tx.clear(key),
        }
    }
    Ok(moved)
}

fn blob_of(id: u64, blob: &str) -> Result<BlobHash> {
    parse_hash(blob).ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("queued message {id} has a malformed blob address {blob}"),
        )
    })
}

fn not_queued(id: u64) -> Error {
    Error::new(ErrorKind::NotFound, format!("no queued message {id}"))
}

/// Format 3 -> 4: queue records get `next_attempt` (their creation time when they had none),
/// their size when the body is inline, and their schedule entry.
pub(super) fn v3_queue_schedule(tx: &mut Tx<'_>) -> Result<()> {
    // Units scan before they write: collect everything first.
    let mut records = Vec::new();
    for (key, value) in super::tx_scan_all(tx, &keys::all_queue())? {
        if let Some(id) = keys::queue_id(&key) {
            records.push((id, decode::<QueueRecord>(&value)?));
        }
    }
    for (id, mut record) in records {
        if record.next_attempt == 0 {
            record.next_attempt = record.created;
        }
        if record.size == 0
            && let Some(hash) = parse_hash(&record.blob)
            // Format 3 keeps blobs in the old layout; the step to 5 moves them later.
            && let Some(body) = tx.get(&keys::format4::blob_inline(&hash))?
        {
            record.size = body.len() as u64;
        }
        tx.set(keys::queue(id), encode(&record)?);
        tx.set(keys::queue_schedule(record.next_attempt, id), Vec::new());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_keys_sort_by_time_then_id_and_due_ranges_cut_at_now() {
        let times = [-5i64, 0, 1, 255, 256, 1_700_000_000, i64::MAX];
        let keys: Vec<Vec<u8>> = times.iter().map(|&t| keys::queue_schedule(t, 9)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "time order");
        assert!(keys::queue_schedule(10, 1) < keys::queue_schedule(10, 2));
        for (&t, k) in times.iter().zip(&keys) {
            assert_eq!(keys::queue_schedule_parts(k), Some((t, 9)));
            assert!(keys::queue_due(t).contains(k), "due at its own time {t}");
            assert!(!keys::queue_later(t).contains(k));
            if let Some(before) = t.checked_sub(1) {
                assert!(!keys::queue_due(before).contains(k), "not due before {t}");
                assert!(keys::queue_later(before).contains(k));
            }
            assert!(keys::all_queue_schedule().contains(k));
        }
        assert!(!keys::queue_due(i64::MAX).contains(&keys::queue(1)));
    }
}
