//! The one place where store errors become IMAP responses (RFC 5530 response codes), in the
//! manner of Dovecot's `mail-error.h` mapping.

use yubin_store::{Error, ErrorKind};

/// A tagged NO (or BAD) the dispatcher writes: `<tag> NO [CODE] text`.
#[derive(Debug, Clone)]
pub struct Failure {
    /// BAD instead of NO.
    pub bad: bool,
    /// Response code without brackets, if any.
    pub code: Option<&'static str>,
    /// Human-readable text.
    pub text: String,
}

impl Failure {
    /// `NO [code] text`
    pub fn no(code: Option<&'static str>, text: impl Into<String>) -> Self {
        Self {
            bad: false,
            code,
            text: text.into(),
        }
    }

    /// `BAD text`
    pub fn bad(text: impl Into<String>) -> Self {
        Self {
            bad: true,
            code: None,
            text: text.into(),
        }
    }

    /// Writes the tagged line.
    pub fn write(&self, tag: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(if self.bad { b" BAD " } else { b" NO " });
        if let Some(code) = self.code {
            out.push(b'[');
            out.extend_from_slice(code.as_bytes());
            out.extend_from_slice(b"] ");
        }
        // A text with CR or LF would end the response early; the store never produces one,
        // but the guard keeps a bug from desynchronizing the client.
        for b in self.text.bytes() {
            out.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        no_for(&e)
    }
}

/// The NO response for a store error.
pub fn no_for(error: &Error) -> Failure {
    let (code, text): (&'static str, String) = match error.kind() {
        ErrorKind::NotFound => ("NONEXISTENT", error.message().to_string()),
        ErrorKind::AlreadyExists => ("ALREADYEXISTS", error.message().to_string()),
        ErrorKind::Expunged => ("EXPUNGEISSUED", error.message().to_string()),
        ErrorKind::OverQuota => ("OVERQUOTA", error.message().to_string()),
        ErrorKind::TooBig => ("TOOBIG", error.message().to_string()),
        ErrorKind::Limit => ("LIMIT", error.message().to_string()),
        ErrorKind::Conflict | ErrorKind::InvalidData => ("CANNOT", error.message().to_string()),
        ErrorKind::Unavailable => (
            "UNAVAILABLE",
            "Storage is busy, try again later".to_string(),
        ),
        _ => {
            tracing::error!(error = %error, "IMAP command failed");
            (
                "SERVERBUG",
                "Internal error, see the server log".to_string(),
            )
        }
    };
    Failure::no(Some(code), text)
}
