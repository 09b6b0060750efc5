//! SMTP replies (RFC 5321 §4.2) with optional enhanced status codes (RFC 3463, RFC 2034).

use std::fmt;

/// One SMTP reply: a three-digit code and one or more text lines.
///
/// When `status` is set (an RFC 3463 enhanced status code such as `"5.1.1"`), it is written
/// after the code on every line, as RFC 2034 §3 asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, 200..=599 in practice.
    pub code: u16,
    /// The enhanced status code, e.g. `"5.1.1"`, or `None` (greeting, EHLO).
    pub status: Option<&'static str>,
    /// The text lines; an empty vector writes one line with no text.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code: `550 5.1.1 text`.
    pub fn new(code: u16, status: &'static str, text: impl Into<String>) -> Reply {
        Reply {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A one-line reply without enhanced status code: `220 host ESMTP`.
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            status: None,
            lines: vec![text.into()],
        }
    }

    /// A multiline reply without enhanced status code (EHLO): `250-a` ... `250 z`.
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            status: None,
            lines,
        }
    }

    /// Appends the wire form to `out`: `"250-a\r\n250 b\r\n"`, or `"550 5.1.1 text\r\n"`.
    ///
    /// CR and LF inside a text line are written as spaces, so text that echoes client input
    /// can never start a new reply line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = self.code.to_string();
        let last = self.lines.len().saturating_sub(1);
        let empty = [String::new()];
        let lines = if self.lines.is_empty() {
            &empty[..]
        } else {
            &self.lines[..]
        };
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(code.as_bytes());
            out.push(if i < last { b'-' } else { b' ' });
            if let Some(status) = self.status {
                out.extend_from_slice(status.as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            out.extend(
                line.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new vector; see [`Reply::write_to`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// True for 2xx and 3xx replies (completion and intermediate).
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    /// The wire form without the final CRLF, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        f.write_str(text.trim_end_matches("\r\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_status() {
        let r = Reply::new(550, "5.1.1", "No such user");
        assert_eq!(r.to_bytes(), b"550 5.1.1 No such user\r\n");
        assert!(!r.is_positive());
    }

    #[test]
    fn plain_greeting() {
        let r = Reply::plain(220, "mx.example.org ESMTP Yubin");
        assert_eq!(r.to_bytes(), b"220 mx.example.org ESMTP Yubin\r\n");
        assert!(r.is_positive());
    }

    // RFC 5321 §4.2.1 / §4.1.1.1: EHLO response transcript.
    #[test]
    fn multiline_ehlo() {
        let r = Reply::multi(
            250,
            vec![
                "mx.example.org".into(),
                "PIPELINING".into(),
                "SIZE 1000".into(),
            ],
        );
        assert_eq!(
            r.to_bytes(),
            b"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
        );
    }

    #[test]
    fn multiline_with_status_on_every_line() {
        let r = Reply {
            code: 452,
            status: Some("4.3.1"),
            lines: vec!["a".into(), "b".into()],
        };
        assert_eq!(r.to_bytes(), b"452-4.3.1 a\r\n452 4.3.1 b\r\n");
    }

    #[test]
    fn empty_text_and_no_lines() {
        assert_eq!(Reply::plain(354, "").to_bytes(), b"354 \r\n");
        assert_eq!(Reply::multi(250, vec![]).to_bytes(), b"250 \r\n");
        assert_eq!(Reply::new(250, "2.0.0", "").to_bytes(), b"250 2.0.0\r\n");
    }

    #[test]
    fn crlf_in_text_cannot_inject_lines() {
        let r = Reply::new(501, "5.5.4", "bad\r\n250 ok");
        assert_eq!(r.to_bytes(), b"501 5.5.4 bad  250 ok\r\n");
    }

    #[test]
    fn positive_range_and_display() {
        assert!(Reply::plain(354, "go").is_positive());
        assert!(!Reply::plain(421, "bye").is_positive());
        assert!(!Reply::plain(199, "x").is_positive());
        assert_eq!(Reply::new(250, "2.1.0", "OK").to_string(), "250 2.1.0 OK");
    }
}
