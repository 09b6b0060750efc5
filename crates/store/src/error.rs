//! The one protocol-neutral error type of the store.
//!
//! Protocol code maps [`ErrorKind`] to its own wire codes in one function per protocol
//! (SMTP enhanced status codes, IMAP response codes, POP3 RESP-CODES); nothing else in a
//! session inspects store errors.

use std::fmt;

/// What went wrong, independent of any protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The domain, account, mailbox or message does not exist (or may not be seen).
    NotFound,
    /// A record with that name already exists.
    AlreadyExists,
    /// The message was expunged while the caller still referred to it.
    Expunged,
    /// The account's or domain's storage quota would be exceeded.
    OverQuota,
    /// A value is larger than a configured or backend limit.
    TooBig,
    /// A configured count limit (accounts per domain, ...) would be exceeded.
    Limit,
    /// The operation conflicts with the current state (for example a domain that still has accounts).
    Conflict,
    /// The store cannot answer now (overloaded, slow, shutting down); retrying later may work.
    Unavailable,
    /// The caller passed data that is malformed (a bad address, a bad domain name).
    InvalidData,
    /// A bug or on-disk corruption; details are in the message and the log.
    Internal,
}

/// A store error: its kind and a message a person can act on.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The protocol-neutral kind, for mapping to wire codes.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn internal(context: &str, e: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, format!("{context}: {e}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used throughout the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;
