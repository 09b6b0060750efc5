//! Trace headers (RFC 5321 §4.4) and queue ids.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static QUEUE_SEQ: AtomicU32 = AtomicU32::new(0);

/// A short id naming one transaction in replies, headers and logs.
pub fn queue_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    format!(
        "{now:x}{:04x}",
        QUEUE_SEQ.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// What the Received header says about the transaction.
pub struct TraceInfo<'a> {
    /// The client's HELO/EHLO/LHLO name.
    pub helo: &'a str,
    /// The client's address.
    pub peer: SocketAddr,
    /// Our host name.
    pub hostname: &'a str,
    /// `with` protocol (RFC 3848): SMTP, ESMTP, ESMTPS, LMTP, LMTPS.
    pub protocol: &'a str,
    /// Queue id.
    pub id: &'a str,
    /// The one recipient, named only when there is exactly one (so one blob serves everyone).
    pub single_recipient: Option<&'a str>,
    /// Envelope sender.
    pub mail_from: &'a str,
}

/// The message as stored: `Return-Path` and `Received` prepended to the received bytes.
pub fn with_trace_headers(info: &TraceInfo<'_>, body: &[u8]) -> Vec<u8> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let date = mail_parser::DateTime::from_timestamp(secs).to_rfc822();
    let helo = sanitize(info.helo);
    let ip = match info.peer.ip().to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("IPv6:{v6}"),
    };
    let mut out = Vec::with_capacity(body.len() + 300);
    out.extend_from_slice(format!("Return-Path: <{}>\r\n", sanitize(info.mail_from)).as_bytes());
    out.extend_from_slice(
        format!(
            "Received: from {helo} ([{ip}])\r\n\tby {} (Yubin) with {} id {}",
            info.hostname, info.protocol, info.id
        )
        .as_bytes(),
    );
    if let Some(rcpt) = info.single_recipient {
        out.extend_from_slice(format!("\r\n\tfor <{}>", sanitize(rcpt)).as_bytes());
    }
    out.extend_from_slice(format!("; {date}\r\n").as_bytes());
    out.extend_from_slice(body);
    out
}

/// Client-supplied text in a header: no line breaks or control characters (header injection).
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(255)
        .collect()
}
