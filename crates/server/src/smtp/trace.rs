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

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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
    let date = mail_parser::DateTime::from_timestamp(unix_now()).to_rfc822();
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

/// `message` without the Authentication-Results fields that claim to come from `authserv_id`:
/// only this host may say what it checked (RFC 8601 §5), so a forged one from the sender goes.
/// Fields of other hosts and the body are kept byte for byte.
pub fn without_own_auth_results(message: &[u8], authserv_id: &str) -> Vec<u8> {
    const NAME: &[u8] = b"authentication-results:";
    let mut out = Vec::with_capacity(message.len());
    let mut rest = message;
    let mut dropping = false;
    loop {
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        if line.is_empty() || line == b"\r\n" || line == b"\n" {
            // End of the header section: the rest is the body.
            out.extend_from_slice(rest);
            return out;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            dropping = line.len() >= NAME.len()
                && line[..NAME.len()].eq_ignore_ascii_case(NAME)
                && claims(&line[NAME.len()..], tail, authserv_id);
        }
        if !dropping {
            out.extend_from_slice(line);
        }
        rest = tail;
    }
}

/// Whether an Authentication-Results value (first line `value`, folded lines in `tail`) starts
/// with `authserv_id`.
fn claims(value: &[u8], tail: &[u8], authserv_id: &str) -> bool {
    let mut text = String::from_utf8_lossy(value).into_owned();
    // The id may sit on a folded line.
    for line in tail.split_inclusive(|&b| b == b'\n') {
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            break;
        }
        text.push_str(&String::from_utf8_lossy(line));
    }
    let id = text
        .trim_start()
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("");
    id.eq_ignore_ascii_case(authserv_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_results_of_this_host_go_others_stay() {
        let m = b"Authentication-Results: mx.test; dkim=pass\r\n\
                  Subject: hi\r\n\
                  authentication-results:\r\n  MX.TEST;\r\n  spf=pass\r\n\
                  Authentication-Results: other.example; dmarc=fail\r\n\
                  \r\n\
                  Authentication-Results: mx.test; in the body stays\r\n";
        let out = without_own_auth_results(m, "mx.test");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "Subject: hi\r\nAuthentication-Results: other.example; dmarc=fail\r\n\r\n\
             Authentication-Results: mx.test; in the body stays\r\n"
        );
        assert_eq!(without_own_auth_results(b"", "mx.test"), b"");
        assert_eq!(without_own_auth_results(b"X: y", "mx.test"), b"X: y");
    }
}
