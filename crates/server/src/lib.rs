//! Everything in Yubin that owns a socket: listeners, TLS and shutdown (`net`), the SMTP/LMTP
//! service and the outbound delivery client (`smtp`), the shared DNS resolver (`dns`), IMAP (`imap`) and POP3 (`pop3`). Sessions parse with `yubin-proto` and store through `yubin_store::MailStore`.

pub mod auth;
pub mod dns;
pub mod imap;
pub mod limits;
pub mod mailauth;
pub mod net;
pub mod pop3;
pub mod smtp;
