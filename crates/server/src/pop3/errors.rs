//! The one place where store errors become POP3 `-ERR` replies (RFC 3206 response codes).
//!
//! `SYS/TEMP` tells a client to retry later without bothering its user; `SYS/PERM` that
//! retrying will not help. A client that gets either keeps its list of downloaded messages, so
//! nothing is fetched twice.

use yubin_store::{Error, ErrorKind};

/// A `-ERR [code] text` reply.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Response code without brackets.
    pub code: Option<&'static str>,
    /// Human-readable text.
    pub text: String,
}

impl Failure {
    /// `-ERR [code] text`
    pub fn new(code: Option<&'static str>, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// `-ERR text`
    pub fn plain(text: impl Into<String>) -> Self {
        Self::new(None, text)
    }

    /// `-ERR [SYS/TEMP] ...`: the store did not answer in time.
    pub fn busy() -> Self {
        Self::new(Some("SYS/TEMP"), "Storage is busy, try again later")
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        err_for(&e)
    }
}

/// The `-ERR` reply for a store error.
pub fn err_for(error: &Error) -> Failure {
    match error.kind() {
        ErrorKind::Unavailable => Failure::busy(),
        ErrorKind::NotFound | ErrorKind::Expunged => {
            Failure::plain("That message was removed by another session")
        }
        ErrorKind::OverQuota | ErrorKind::Limit | ErrorKind::TooBig => {
            Failure::new(Some("SYS/PERM"), error.message().to_string())
        }
        _ => {
            tracing::error!(error = %error, "POP3 command failed");
            Failure::new(Some("SYS/TEMP"), "Internal error, see the server log")
        }
    }
}
