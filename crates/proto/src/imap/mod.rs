//! IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501), sans-IO.
//!
//! # Implementation notes
//! - [`framer::CommandFramer`] cuts the client's byte stream into whole commands: one or more
//!   lines joined by literals (RFC 9051 §4.3), synchronizing `{n}`, non-synchronizing `{n+}`
//!   (LITERAL+ / LITERAL-, RFC 7888) and `~{n}` (literal8, RFC 3516). It tells the session when
//!   to send the `+` continuation, refuses oversized literals before they are sent
//!   (`NO [TOOBIG]`, RFC 9051 §7.1) and skips exactly the bytes a client sends anyway, so it
//!   stays in sync after any oversized or malformed input.
//! - The same framer hands out plain lines for the IDLE `DONE` and AUTHENTICATE responses
//!   ([`framer::CommandFramer::next_line`]).
//! - The grammar (what a complete command means) lives apart from the framer and only ever
//!   sees complete, size-capped commands.

pub mod bodystructure;
pub mod command;
pub mod envelope;
pub mod fetch_body;
pub mod framer;
mod marker;
pub mod parse;
pub mod response;
pub mod section;
pub mod utf7;

pub use command::{Command, CommandBody, Tag};
pub use parse::{ParseError, parse_command};
