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
    /// Store-wide message id, never reused: the POP3 UIDL comes from it and survives moves.
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

/// A message waiting for outbound delivery to remote recipients.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueRecord {
    /// Hex SHA-256 of the message blob.
    pub blob: String,
    /// Envelope sender (empty for the null sender).
    pub from: String,
    /// Remote recipients still to deliver to.
    pub recipients: Vec<String>,
    /// Time queued, seconds since the Unix epoch.
    pub created: i64,
}

pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::internal("encoding a record", e))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::internal("decoding a record", e))
}
