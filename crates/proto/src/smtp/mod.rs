//! SMTP (RFC 5321) and LMTP (RFC 2033), sans-IO.
//!
//! # Implementation notes
//! - [`line::LineFramer`] cuts the command stream into bounded lines; a too-long line is
//!   discarded up to its LF without being buffered and reported once, so the session can answer
//!   `500 5.5.6` and carry on in sync (RFC 5321 §4.5.3.1.4 allows 512 octets; servers are free to
//!   accept more).
//! - [`command::parse_command`] parses one complete line with `smtp-proto` and maps its errors
//!   to replies with enhanced status codes (RFC 3463).
//! - [`data::DataDecoder`] undoes dot-stuffing (RFC 5321 §4.5.2) and only accepts
//!   `CRLF . CRLF` as the end of data, never `LF . LF` (SMTP smuggling defence).
//! - [`reply::Reply`] formats single and multiline replies (RFC 5321 §4.2.1).

pub mod command;
pub mod data;
pub mod line;
pub mod reply;
