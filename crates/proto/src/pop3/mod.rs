//! POP3 (RFC 1939) with CAPA (RFC 2449), AUTH (RFC 5034) and STLS (RFC 2595), sans-IO.
//!
//! # Implementation notes
//! - [`line::next_line`] cuts the command stream into lines of at most a caller-given length
//!   ([`line::MAX_LINE`] for commands; RFC 2449 §4 caps commands at 255 octets, and AUTH
//!   responses may need more). It is stateless: on [`line::LineError::TooLong`] the session
//!   answers `-ERR` once and calls [`line::discard_line`] until it reports the LF, so a long
//!   line is never buffered whole and the stream stays in sync. Bare LF ends a line too.
//! - [`parse::parse_command`] parses one line: keywords are case-insensitive (RFC 1939 §3),
//!   message numbers are 1-based decimal `u32`, and PASS keeps everything after `PASS ` as the
//!   password, spaces included (RFC 1939 §7 allows treating them as part of it).
//! - [`multiline::write_multiline`] writes RETR/TOP/LIST/UIDL/CAPA bodies: CRLF line endings,
//!   dot-stuffing and the `.` terminator (RFC 1939 §3), and returns the octets it wrote before
//!   stuffing; [`multiline::crlf_size`] counts the same without writing, which is the size
//!   STAT and LIST report (RFC 1939 §5), so a client comparing LIST with what RETR delivered
//!   finds them equal.
//!   [`multiline::top`] picks what TOP sends (RFC 1939 §7).
//! - [`response`] writes `+OK` / `-ERR [CODE]` status lines with RFC 2449 §8 / RFC 3206
//!   response codes, and the `+ ` continuation of AUTH (RFC 5034 §4).
//! - [`command::Command`] never prints the password or an AUTH initial response in `Debug`.

pub mod command;
pub mod line;
pub mod multiline;
pub mod parse;
pub mod response;

pub use command::Command;
pub use parse::{ParseError, ParseErrorKind, parse_command};
