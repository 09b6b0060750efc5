//! Everything in Yubin that owns a socket: listeners, TLS and shutdown (`net`) and the SMTP/LMTP
//! service (`smtp`). Sessions parse with `yubin-proto` and store through `yubin_store::MailStore`.

pub mod net;
pub mod smtp;
