//! Sans-IO wire formats for Yubin.
//!
//! This crate turns bytes into bounded, typed protocol values and back. It does no I/O, has no
//! async runtime and knows nothing about storage, so every parser can be unit-tested with
//! byte strings and fuzzed directly.
//!
//! Each protocol keeps framing (where does a line or a message end, how big may it get) apart
//! from grammar (what does a complete line mean): a framer hands the grammar only complete,
//! size-capped input, and stays in sync with the stream after oversized or malformed input.
//!
//! - [`secret`]: [`Secret<T>`], a wrapper that never prints its contents.
//! - [`address`]: [`Address`], a validated RFC 5321 mailbox.
//! - [`imap`]: IMAP command framing (lines joined by literals, LITERAL+/LITERAL-).
//! - [`mime`]: MIME structure of messages (offsets, envelope, body structure) and the text
//!   SEARCH, SORT and THREAD read.
//! - [`pop3`]: POP3 line framing, command parsing, multi-line bodies (dot-stuffing, TOP,
//!   sizes) and status lines.
//! - [`sasl`]: SASL PLAIN decoding.
//! - [`smtp`]: SMTP/LMTP line framing, DATA decoding, command parsing and replies.

#![warn(missing_docs)]

pub mod address;
pub mod imap;
pub mod mime;
pub mod pop3;
pub mod sasl;
pub mod secret;
pub mod smtp;

pub use address::{Address, AddressError};
pub use secret::Secret;
