//! MIME structure of stored messages, and what IMAP and search read from it.
//!
//! # Implementation notes
//! - [`MessageStructure::analyze`] runs once per message (at delivery or first FETCH) and its
//!   result is cached as JSON by the store; ENVELOPE and BODYSTRUCTURE are written from it
//!   alone, BODY[section] and BINARY from it plus the raw bytes.
//! - The part tree and its offsets are cut here (RFC 2046 §5.1.1 delimiters, header blocks
//!   ending at the first empty line); mail-parser parses field values: Content-Type and
//!   Content-Disposition (RFC 2231), RFC 2047 words, dates, charsets.
//! - ENVELOPE text stays raw (RFC 9051 §7.5.2); SEARCH text is decoded ([`search`]).
//! - Nothing here panics or fails on any input: broken MIME still has some structure, and
//!   nesting and part counts are bounded ([`structure::MAX_DEPTH`], [`structure::MAX_PARTS`]).

pub mod address;
pub mod decode;
mod header;
pub mod raw;
pub mod search;
pub mod structure;

pub(crate) use header::fields as header_fields;

pub use address::EnvelopeAddress;
pub use decode::TransferEncoding;
pub use raw::RawText;
pub use structure::{Disposition, Envelope, MessageStructure, Part, PartBody};
