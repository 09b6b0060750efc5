//! SMTP/LMTP command grammar: one complete line in, a typed [`Request`] or an error
//! [`Reply`] out.
//!
//! The grammar itself is `smtp-proto`'s (RFC 5321 §4.1 plus the ESMTP parameters it knows);
//! this module feeds it exactly one bounded line and maps its errors to replies with RFC 3463
//! enhanced status codes, so the session never sees `smtp_proto::Error`.

use smtp_proto::Error;

use super::reply::Reply;

pub use smtp_proto::{MailFrom, RcptTo, Request};

/// Longest client-supplied parameter name echoed back in a reply.
const MAX_ECHO: usize = 64;

/// Parses one command line as returned by [`super::line::LineFramer`] (without CRLF).
///
/// Returns the request with owned strings, or the reply to send for a malformed line:
///
/// | problem | reply |
/// |---|---|
/// | unknown verb (also empty line, NUL or non-UTF-8 in the verb) | `500 5.5.1 Unrecognized command` |
/// | CR, LF or NUL inside the line | `500 5.5.2 Syntax error` |
/// | bad MAIL FROM address | `501 5.1.7 Invalid sender address` |
/// | bad RCPT TO address | `501 5.1.3 Invalid recipient address` |
/// | wrong argument syntax | `501 5.5.4 Syntax: <usage>` |
/// | bad value of a known parameter | `501 5.5.4 Invalid parameter: <name>` |
/// | unknown MAIL/RCPT parameter | `555 5.5.4 Unsupported parameter: <name>` |
///
/// Never panics. Non-UTF-8 bytes in arguments are replaced with U+FFFD.
pub fn parse_command(line: &[u8]) -> Result<Request<String>, Reply> {
    // The framer has already split on LF; a CR or NUL left inside the line would be skipped or
    // kept by the grammar in ways the client did not mean, so refuse it outright.
    if line.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        if line.first().is_some_and(|b| b.is_ascii_alphabetic()) {
            return Err(Reply::new(500, "5.5.2", "Syntax error"));
        }
        return Err(unrecognized());
    }
    // smtp-proto reads up to and including the LF, so give it one.
    let mut input = Vec::with_capacity(line.len() + 2);
    input.extend_from_slice(line);
    input.extend_from_slice(b"\r\n");
    Request::parse(&mut input.iter())
        .map(Request::into_owned)
        .map_err(error_reply)
}

/// Maps an `smtp-proto` parse error to the reply for the client.
pub fn error_reply(error: Error) -> Reply {
    match error {
        Error::UnknownCommand => unrecognized(),
        Error::InvalidSenderAddress => Reply::new(501, "5.1.7", "Invalid sender address"),
        Error::InvalidRecipientAddress => Reply::new(501, "5.1.3", "Invalid recipient address"),
        Error::SyntaxError { syntax } => Reply::new(501, "5.5.4", format!("Syntax: {syntax}")),
        Error::InvalidParameter { param } => {
            Reply::new(501, "5.5.4", format!("Invalid parameter: {param}"))
        }
        Error::UnsupportedParameter { param } => Reply::new(
            555,
            "5.5.4",
            format!("Unsupported parameter: {}", printable(&param)),
        ),
        Error::NeedsMoreData { .. } => Reply::new(501, "5.5.4", "Syntax error"),
        _ => Reply::new(500, "5.5.2", "Syntax error"),
    }
}

fn unrecognized() -> Reply {
    Reply::new(500, "5.5.1", "Unrecognized command")
}

/// Client text made safe to echo: printable ASCII only, at most [`MAX_ECHO`] characters.
fn printable(s: &str) -> String {
    s.chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
