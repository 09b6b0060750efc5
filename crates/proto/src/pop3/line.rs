//! Line framing for the POP3 command stream.
//!
//! RFC 1939 §3 ends lines with CRLF; a bare LF is accepted too (it cannot smuggle anything
//! into a command stream). The functions are stateless: the session remembers whether it is
//! skipping the rest of an over-long line.

use std::fmt;

use bytes::{Buf, BytesMut};

/// The longest command line, without its line ending, a session should accept.
///
/// RFC 2449 §4 allows 255 octets per command; twice that leaves room for long user names
/// without letting a client make the server buffer much. AUTH responses (RFC 5034 §4) are
/// base64 and may be longer: pass a larger `max` to [`next_line`] while reading them.
pub const MAX_LINE: usize = 512;

/// Why [`next_line`] could not produce a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line at the front of the buffer is longer than the limit. Nothing was consumed;
    /// drop it with [`discard_line`].
    TooLong,
}

/// Takes one complete line (ending LF, CR optional) from the front of `buf`, without its
/// line ending.
///
/// Returns:
/// - `None` when `buf` holds no complete line yet and what it holds could still become one:
///   read more and call again;
/// - `Some(Ok(line))`, the line's bytes and its ending removed from `buf`;
/// - `Some(Err(LineError::TooLong))` as soon as the line at the front is known to be longer
///   than `max` octets (without the ending), whether or not its LF has arrived. `buf` is left
///   as it was: answer the error once, then call [`discard_line`] after every read until it
///   returns `true`. So `buf` never has to hold more than `max` + 2 octets of one line.
pub fn next_line(buf: &mut BytesMut, max: usize) -> Option<Result<BytesMut, LineError>> {
    match memchr::memchr(b'\n', buf) {
        Some(lf) => {
            let len = if lf > 0 && buf[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            if len > max {
                return Some(Err(LineError::TooLong));
            }
            let mut line = buf.split_to(lf + 1);
            line.truncate(len);
            Some(Ok(line))
        }
        None => {
            // `max` octets and a CR may still be waiting for their LF; anything else longer
            // than `max` cannot become a valid line.
            let too_long = buf.len() > max.saturating_add(1)
                || (buf.len() == max.saturating_add(1) && buf.last() != Some(&b'\r'));
            too_long.then_some(Err(LineError::TooLong))
        }
    }
}

/// Drops the rest of the line at the front of `buf`.
///
/// Returns `true` if an LF was found and everything through it dropped; `false` if there was
/// none, in which case all of `buf` was dropped (it is all part of that line) and the caller
/// calls again after the next read.
pub fn discard_line(buf: &mut BytesMut) -> bool {
    match memchr::memchr(b'\n', buf) {
        Some(lf) => {
            buf.advance(lf + 1);
            true
        }
        None => {
            buf.clear();
            false
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong => f.write_str("line too long"),
        }
    }
}

impl std::error::Error for LineError {}

#[cfg(test)]
#[path = "line_tests.rs"]
mod tests;
