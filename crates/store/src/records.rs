//! The records stored as values (JSON, so fields can be added without a migration: a missing
//! field takes its default).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A hosted domain (tenant).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainRecord {
    /// Storage quota for all accounts together, in bytes; 0 = unlimited.
    pub quota: u64,
    /// Most accounts the domain may have; 0 = unlimited.
    pub max_accounts: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Service limits for the whole tenant; unset ones take the server's `[limits]`.
    pub limits: ServiceLimits,
}

/// A mail account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountRecord {
    /// Stable numeric id; message keys use it, so renaming an address never moves mail.
    pub id: u64,
    /// Password hash in PHC format (`$argon2id$...`).
    pub password: String,
    /// Storage quota in bytes; 0 = unlimited.
    pub quota: u64,
    /// Disabled accounts receive no mail and cannot log in.
    pub enabled: bool,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Next mailbox id to hand out.
    pub next_mailbox: u32,
    /// Service limits for this account; unset ones take the domain's, then the server's.
    pub limits: ServiceLimits,
}

/// Overrides of the server's `[limits]` for one tenant or one account. `None` = inherit.
///
/// On a domain a limit counts the tenant's accounts together (connections, messages); on an
/// account it counts that account alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceLimits {
    /// Concurrent IMAP, POP3 and submission sessions.
    pub connections: Option<u32>,
    /// Commands per minute over IMAP, POP3 and submission.
    pub commands_per_minute: Option<u32>,
    /// Messages sent (submission) per hour.
    pub messages_per_hour: Option<u32>,
    /// Recipients of sent messages per hour.
    pub recipients_per_hour: Option<u32>,
    /// Messages received over SMTP and LMTP per hour.
    pub inbound_messages_per_hour: Option<u32>,
    /// Largest message accepted, in bytes (inbound, submission, APPEND).
    pub max_message_size: Option<u64>,
}

impl ServiceLimits {
    /// `self` where set, else `fallback`: an account's limits over its domain's.
    pub fn or(self, fallback: ServiceLimits) -> ServiceLimits {
        ServiceLimits {
            connections: self.connections.or(fallback.connections),
            commands_per_minute: self.commands_per_minute.or(fallback.commands_per_minute),
            messages_per_hour: self.messages_per_hour.or(fallback.messages_per_hour),
            recipients_per_hour: self.recipients_per_hour.or(fallback.recipients_per_hour),
            inbound_messages_per_hour: self
                .inbound_messages_per_hour
                .or(fallback.inbound_messages_per_hour),
            max_message_size: self.max_message_size.or(fallback.max_message_size),
        }
    }
}

/// An alias: mail to it goes to every target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AliasRecord {
    /// Normalized target addresses, local or remote.
    pub targets: Vec<String>,
}

/// A mailbox of an account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MailboxRecord {
    /// Id within the account, used in message keys.
    pub id: u32,
    /// IMAP UIDVALIDITY.
    pub uidvalidity: u32,
    /// Next UID to assign.
    pub uidnext: u32,
    /// Highest MODSEQ assigned in this mailbox.
    pub highest_modseq: u64,
    /// RFC 6154 special-use attribute, such as `\Sent`.
    pub special_use: Option<String>,
    /// First UID not yet seen by any session (IMAP4rev1 `\Recent`, RFC 3501 §2.3.2): messages
    /// from here to `uidnext - 1` are recent for the next session that claims them.
    pub recent_uid: u32,
    /// Messages in the mailbox.
    pub messages: u64,
    /// Bytes in the mailbox.
    pub size: u64,
}

/// One message in one mailbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageRecord {
    /// Message id, the POP3 UIDL: from the store-wide sequence at delivery, never reused, kept
    /// by moves; an imported message keeps the one it had unless its account already has it
    /// (`mail/transfer.rs`), so it is unique within an account.
    pub gid: u64,
    /// Hex SHA-256 of the stored bytes: the blob's address.
    pub blob: String,
    /// Size of the stored bytes.
    pub size: u64,
    /// IMAP INTERNALDATE, seconds since the Unix epoch.
    pub received: i64,
    /// Flags and keywords.
    pub flags: Vec<String>,
    /// MODSEQ of the last change.
    pub modseq: u64,
    /// The Message-ID header, if any.
    pub message_id: Option<String>,
}

/// A message waiting for outbound delivery to remote recipients (`keys.rs` 0x50), with one
/// schedule entry (0x51) at `next_attempt`.
///
/// Records written before per-recipient status held `recipients` as plain addresses and no
/// `next_attempt`; they read as every recipient pending, and the format-4 migration gives them
/// `next_attempt = created` and their schedule entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueRecord {
    /// Hex SHA-256 of the message blob.
    pub blob: String,
    /// Envelope sender (empty for the null sender).
    pub from: String,
    /// Every remote recipient, delivered or not, in the order given.
    pub recipients: Vec<QueuedRecipient>,
    /// Time queued, seconds since the Unix epoch.
    pub created: i64,
    /// Size of the message in bytes (0 for records from before it was kept).
    pub size: u64,
    /// The account that submitted the message, if it came through submission.
    pub account: Option<u64>,
    /// When the next delivery attempt is due, seconds since the Unix epoch.
    pub next_attempt: i64,
    /// Delivery attempts made so far (each may cover several recipients).
    pub attempts: u32,
    /// Whether the sender has been told the message is delayed (RFC 3464 "delayed" DSN).
    pub delay_warned: bool,
}

/// Where delivery to one queued recipient stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Not delivered yet; it will be tried again.
    #[default]
    Pending,
    /// The remote server accepted it.
    Delivered,
    /// Permanently failed; a bounce is due.
    Failed,
}

impl RecipientStatus {
    /// The word used in records and listings: `pending`, `delivered`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One recipient of a queued message. Stored as an object; a bare string (the form before
/// per-recipient status) reads as a pending recipient never tried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RecipientForm")]
pub struct QueuedRecipient {
    /// The recipient address (normalized).
    pub address: String,
    /// Delivery status.
    pub status: RecipientStatus,
    /// Attempts made for this recipient.
    pub attempts: u32,
    /// Time of the last attempt, seconds since the Unix epoch.
    pub last_attempt: Option<i64>,
    /// The remote server's last reply for this recipient, e.g. `550 5.1.1 no such user`.
    pub last_reply: Option<String>,
}

/// The stored forms of a [`QueuedRecipient`].
#[derive(Deserialize)]
#[serde(untagged)]
enum RecipientForm {
    Address(String),
    Full(RecipientFields),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecipientFields {
    address: String,
    status: RecipientStatus,
    attempts: u32,
    last_attempt: Option<i64>,
    last_reply: Option<String>,
}

impl From<RecipientForm> for QueuedRecipient {
    fn from(form: RecipientForm) -> Self {
        match form {
            RecipientForm::Address(address) => Self {
                address,
                ..Self::default()
            },
            RecipientForm::Full(f) => Self {
                address: f.address,
                status: f.status,
                attempts: f.attempts,
                last_attempt: f.last_attempt,
                last_reply: f.last_reply,
            },
        }
    }
}

/// A logical delete too large for one transaction (POP3 DELE of many messages, then QUIT),
/// recorded before any of it is applied so that it completes after a crash (`keys.rs` 0x23).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteIntentRecord {
    /// Account id.
    pub account: u64,
    /// Mailbox id within the account.
    pub mailbox: u32,
    /// Number of UID chunks, numbered from 0.
    pub chunks: u32,
}

/// How a record type is stored. JSON by default; [`MessageRecord`], of which a mailbox holds
/// one per message and SELECT reads them all, has a compact binary form.
pub trait Record: Serialize + for<'de> Deserialize<'de> {
    /// The stored bytes.
    fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::internal("encoding a record", e))
    }

    /// Parses stored bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::internal("decoding a record", e))
    }
}

impl Record for DomainRecord {}
impl Record for AccountRecord {}
impl Record for AliasRecord {}
impl Record for MailboxRecord {}
impl Record for QueueRecord {}
impl Record for DeleteIntentRecord {}

/// First byte of the binary [`MessageRecord`] form (JSON ones start with `{`).
const MESSAGE_V1: u8 = 1;

impl Record for MessageRecord {
    /// `1, gid, size, received, modseq (8 bytes each, BE), blob hash (32), flag count (u16),
    /// flags (u8 length + bytes), message id (u16 length + bytes, 0xFFFF = none)`. Values the
    /// form cannot hold (a flag over 255 bytes, a malformed blob address) fall back to JSON.
    fn to_bytes(&self) -> Result<Vec<u8>> {
        let hash = crate::blob::parse_hash(&self.blob);
        let id_len = self.message_id.as_ref().map_or(0, String::len);
        let fits = hash.is_some()
            && self.flags.len() < usize::from(u16::MAX)
            && self.flags.iter().all(|f| f.len() <= 255)
            && id_len < usize::from(u16::MAX);
        let Some(hash) = hash.filter(|_| fits) else {
            return serde_json::to_vec(self).map_err(|e| Error::internal("encoding a record", e));
        };
        let mut out = Vec::with_capacity(1 + 32 + 32 + 2 + 2 + id_len + self.flags.len() * 8);
        out.push(MESSAGE_V1);
        out.extend_from_slice(&self.gid.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.received.to_be_bytes());
        out.extend_from_slice(&self.modseq.to_be_bytes());
        out.extend_from_slice(&hash);
        out.extend_from_slice(&(self.flags.len() as u16).to_be_bytes());
        for f in &self.flags {
            out.push(f.len() as u8);
            out.extend_from_slice(f.as_bytes());
        }
        match &self.message_id {
            Some(id) => {
                out.extend_from_slice(&(id.len() as u16).to_be_bytes());
                out.extend_from_slice(id.as_bytes());
            }
            None => out.extend_from_slice(&u16::MAX.to_be_bytes()),
        }
        Ok(out)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.first() != Some(&MESSAGE_V1) {
            return serde_json::from_slice(bytes)
                .map_err(|e| Error::internal("decoding a message record", e));
        }
        let row = BinaryRow::parse(bytes, true)?;
        Ok(MessageRecord {
            gid: row.gid,
            blob: crate::blob::hash_hex(&row.hash),
            size: row.size,
            received: row.received,
            flags: row.flags,
            modseq: row.modseq,
            message_id: row.message_id,
        })
    }
}

/// The fields of a binary message row.
struct BinaryRow {
    gid: u64,
    size: u64,
    received: i64,
    modseq: u64,
    hash: [u8; 32],
    flags: Vec<String>,
    message_id: Option<String>,
}

impl BinaryRow {
    /// Parses a row that starts with [`MESSAGE_V1`]; the Message-ID only when `with_id`
    /// (SELECT does not need it, and it would be one more allocation per message).
    fn parse(bytes: &[u8], with_id: bool) -> Result<Self> {
        let bad = || Error::new(crate::ErrorKind::Internal, "corrupt message record");
        let mut r = Reader {
            bytes,
            pos: 1,
            bad: &bad,
        };
        let gid = u64::from_be_bytes(r.array()?);
        let size = u64::from_be_bytes(r.array()?);
        let received = i64::from_be_bytes(r.array()?);
        let modseq = u64::from_be_bytes(r.array()?);
        let hash: [u8; 32] = r.array()?;
        let count = u16::from_be_bytes(r.array()?);
        let mut flags = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let [len] = r.array()?;
            flags.push(r.text(usize::from(len))?);
        }
        let id_len = u16::from_be_bytes(r.array()?);
        let message_id = if id_len == u16::MAX {
            None
        } else if with_id {
            Some(r.text(usize::from(id_len))?)
        } else {
            r.take(usize::from(id_len))?;
            None
        };
        Ok(Self {
            gid,
            size,
            received,
            modseq,
            hash,
            flags,
            message_id,
        })
    }
}

/// A message row straight into the session-facing form, without the hex detour of
/// [`MessageRecord::blob`]: SELECT does this for every message of a mailbox.
pub(crate) fn decode_meta(uid: u32, bytes: &[u8]) -> Result<crate::mail::MessageMeta> {
    if bytes.first() != Some(&MESSAGE_V1) {
        return crate::mail::meta_of(uid, MessageRecord::from_bytes(bytes)?);
    }
    let row = BinaryRow::parse(bytes, false)?;
    Ok(crate::mail::MessageMeta {
        uid,
        gid: row.gid,
        flags: row.flags,
        modseq: row.modseq,
        size: row.size,
        received: row.received,
        blob: row.hash,
    })
}

/// A bounds-checked cursor over a binary record.
struct Reader<'a, F: Fn() -> Error> {
    bytes: &'a [u8],
    pos: usize,
    bad: &'a F,
}

impl<F: Fn() -> Error> Reader<'_, F> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).ok_or_else(self.bad)?;
        let out = self.bytes.get(self.pos..end).ok_or_else(self.bad)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| (self.bad)())
    }

    fn text(&mut self, n: usize) -> Result<String> {
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| (self.bad)())
    }
}

pub(crate) fn encode<T: Record>(record: &T) -> Result<Vec<u8>> {
    record.to_bytes()
}

pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T> {
    T::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MessageRecord {
        MessageRecord {
            gid: 42,
            blob: crate::blob::hash_hex(&[7u8; 32]),
            size: 4096,
            received: 1_700_000_000,
            flags: vec!["\\Seen".into(), "$Label1".into()],
            modseq: 9,
            message_id: Some("<a@b>".into()),
        }
    }

    #[test]
    fn message_records_round_trip_in_binary_and_read_old_json() {
        let r = sample();
        let bytes = r.to_bytes().expect("encode");
        assert_eq!(bytes[0], MESSAGE_V1);
        let back = MessageRecord::from_bytes(&bytes).expect("decode");
        assert_eq!(back.to_bytes().expect("re-encode"), bytes);
        assert_eq!((back.gid, back.size, back.modseq), (42, 4096, 9));
        assert_eq!(back.flags, r.flags);
        assert_eq!(back.blob, r.blob);
        assert_eq!(back.message_id, r.message_id);
        let m = decode_meta(5, &bytes).expect("meta");
        assert_eq!((m.uid, m.gid, m.modseq, m.blob), (5, 42, 9, [7u8; 32]));
        assert_eq!(m.flags, r.flags);
        let json = serde_json::to_vec(&r).expect("json");
        assert_eq!(MessageRecord::from_bytes(&json).expect("old form").gid, 42);
        assert_eq!(
            decode_meta(5, &json).expect("meta from json").blob,
            [7u8; 32]
        );
        let none = MessageRecord {
            message_id: None,
            ..sample()
        };
        assert_eq!(
            MessageRecord::from_bytes(&none.to_bytes().expect("e"))
                .expect("d")
                .message_id,
            None
        );
    }

    #[test]
    fn queue_records_from_before_recipient_status_read_as_all_pending() {
        let old =
            br#"{"blob":"ab","from":"s@x.test","recipients":["a@r.test","b@r.test"],"created":7}"#;
        let r = QueueRecord::from_bytes(old).expect("legacy record");
        assert_eq!(r.created, 7);
        assert_eq!(
            (r.next_attempt, r.attempts, r.size, r.account),
            (0, 0, 0, None)
        );
        let addresses: Vec<&str> = r.recipients.iter().map(|x| x.address.as_str()).collect();
        assert_eq!(addresses, ["a@r.test", "b@r.test"]);
        assert!(
            r.recipients
                .iter()
                .all(|x| x.status == RecipientStatus::Pending
                    && x.attempts == 0
                    && x.last_reply.is_none())
        );
        let mut r = r;
        r.recipients[1].status = RecipientStatus::Failed;
        r.recipients[1].last_reply = Some("550 5.1.1 no".into());
        let back = QueueRecord::from_bytes(&r.to_bytes().expect("encode")).expect("decode");
        assert_eq!(back.recipients, r.recipients);
    }

    #[test]
    fn truncated_or_odd_message_records_are_errors_or_json() {
        let bytes = sample().to_bytes().expect("encode");
        for n in 1..bytes.len() {
            assert!(
                MessageRecord::from_bytes(&bytes[..n]).is_err(),
                "prefix {n}"
            );
        }
        let odd = MessageRecord {
            blob: "not-a-hash".into(),
            ..sample()
        };
        let stored = odd.to_bytes().expect("encode");
        assert_eq!(stored[0], b'{', "falls back to JSON");
        assert_eq!(
            MessageRecord::from_bytes(&stored).expect("decode").blob,
            "not-a-hash"
        );
    }
}
