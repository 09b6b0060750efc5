//! Yubin's mail data model and its persistence.
//!
//! Layers, bottom up: the [`Backend`] contract (an ordered, transactional key-value store), the
//! key layout in [`keys`], the group-commit writer, the [`BlobStore`] for message bodies, and
//! [`MailStore`], the protocol-neutral mail operations every protocol calls. [`conformance`] is
//! the battery every backend must pass.
#![warn(missing_docs)]

pub mod admission;
pub mod backend;
pub mod blob;
mod commit;
pub mod conformance;
pub mod embedded;
mod error;
pub mod fault;
pub mod keys;
mod mail;
mod pace;
mod priority;
pub mod records;

pub use admission::{Admitted, Pressure};
pub use backend::Backend;
pub use blob::BlobStore;
pub use commit::Tx;
pub use error::{Error, ErrorKind, Result};
pub use fault::FaultSwitch;
pub use mail::{
    AccountInfo, ApiToken, Changes, CopyOutcome, Delivery, DeliveryOutcome, DomainInfo,
    FORMAT_VERSION, FlagMode, FlagOutcome, ImportOutcome, ImportedMessage, LocalTarget, MailStore,
    MailboxChanged, MailboxInfo, MailboxStatus, MailboxView, MessageInfo, MessageMeta, NewOutbound,
    PurgeStats, QueueUpdate, QueuedMessage, QuotaInfo, RecipientResult, Resolution, Resolved,
    api_token_hash, flags, names,
};
pub use records::{QueuedRecipient, RecipientStatus, ServiceLimits};

/// Nanoseconds since the epoch, to name scratch directories uniquely.
fn mail_now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
