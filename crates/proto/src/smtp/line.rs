//! Line framing for the SMTP/LMTP command phase.
//!
//! RFC 5321 §2.3.8 says lines end in CRLF; like most servers we also accept a bare LF in the
//! command phase (it cannot smuggle anything there). The DATA phase is framed by
//! [`super::data::DataDecoder`] instead, which is stricter.

use std::fmt;

use bytes::{Buf, BytesMut};

/// Cuts complete lines out of a receive buffer, capping their length.
///
/// The framer owns no buffer: the session reads into a `BytesMut` and calls
/// [`LineFramer::next_line`] until it returns `None`.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_len: usize,
    /// True while skipping the rest of an over-long line whose LF has not arrived yet.
    discarding: bool,
}

/// Why the framer could not produce a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line was longer than the limit; it has been discarded up to and including its LF.
    TooLong,
}

impl LineFramer {
    /// Creates a framer for lines of at most `max_len` octets, not counting the line ending.
    pub fn new(max_len: usize) -> Self {
        LineFramer {
            max_len,
            discarding: false,
        }
    }

    /// The configured maximum line length (without line ending).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Takes the next complete line out of `buf`.
    ///
    /// The consumed bytes, including the line ending, are removed from the front of `buf`.
    /// Returns:
    /// - `None` when `buf` holds no complete line yet: read more and call again;
    /// - `Some(Ok(line))` with the line without its trailing CRLF (or bare LF);
    /// - `Some(Err(LineError::TooLong))` once per line longer than `max_len`. The framer drops
    ///   such a line's bytes as they arrive (also across calls, without buffering them) until
    ///   its LF, so `buf` never grows past `max_len` plus one read and the stream stays in sync.
    pub fn next_line(&mut self, buf: &mut BytesMut) -> Option<Result<BytesMut, LineError>> {
        let lf = buf.iter().position(|&b| b == b'\n');
        if self.discarding {
            return match lf {
                Some(pos) => {
                    buf.advance(pos + 1);
                    self.discarding = false;
                    Some(Err(LineError::TooLong))
                }
                None => {
                    buf.clear();
                    None
                }
            };
        }
        match lf {
            Some(pos) => {
                let mut line = buf.split_to(pos + 1);
                line.truncate(pos);
                if line.last() == Some(&b'\r') {
                    line.truncate(pos - 1);
                }
                if line.len() > self.max_len {
                    Some(Err(LineError::TooLong))
                } else {
                    Some(Ok(line))
                }
            }
            // `max_len` octets plus a CR may still be waiting for their LF; anything longer
            // cannot become a valid line.
            None if buf.len() > self.max_len.saturating_add(1) => {
                buf.clear();
                self.discarding = true;
                None
            }
            None => None,
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong => f.write_str("line too long"),
        }
    }
}

impl std::error::Error for LineError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(framer: &mut LineFramer, buf: &mut BytesMut) -> Vec<Result<Vec<u8>, LineError>> {
        std::iter::from_fn(|| framer.next_line(buf))
            .map(|r| r.map(|l| l.to_vec()))
            .collect()
    }

    #[test]
    fn crlf_and_bare_lf_lines() {
        let mut f = LineFramer::new(100);
        let mut buf = BytesMut::from(&b"EHLO a\r\nMAIL FROM:<>\nRCPT"[..]);
        assert_eq!(
            lines(&mut f, &mut buf),
            vec![Ok(b"EHLO a".to_vec()), Ok(b"MAIL FROM:<>".to_vec())]
        );
        assert_eq!(&buf[..], b"RCPT");
        buf.extend_from_slice(b" TO:<a@b>\r\n");
        assert_eq!(lines(&mut f, &mut buf), vec![Ok(b"RCPT TO:<a@b>".to_vec())]);
        assert!(buf.is_empty());
    }

    #[test]
    fn empty_line_and_split_crlf() {
        let mut f = LineFramer::new(10);
        let mut buf = BytesMut::from(&b"\r\nQUIT\r"[..]);
        assert_eq!(lines(&mut f, &mut buf), vec![Ok(Vec::new())]);
        buf.extend_from_slice(b"\n");
        assert_eq!(lines(&mut f, &mut buf), vec![Ok(b"QUIT".to_vec())]);
    }

    #[test]
    fn exactly_max_len_is_accepted() {
        let mut f = LineFramer::new(4);
        let mut buf = BytesMut::from(&b"QUIT\r"[..]);
        assert_eq!(f.next_line(&mut buf), None);
        assert_eq!(buf.len(), 5, "a max-length line plus CR is kept");
        buf.extend_from_slice(b"\n");
        assert_eq!(
            f.next_line(&mut buf),
            Some(Ok(BytesMut::from(&b"QUIT"[..])))
        );
    }

    #[test]
    fn too_long_line_in_one_buffer() {
        let mut f = LineFramer::new(4);
        let mut buf = BytesMut::from(&b"NOOPS\r\nQUIT\r\n"[..]);
        assert_eq!(
            lines(&mut f, &mut buf),
            vec![Err(LineError::TooLong), Ok(b"QUIT".to_vec())]
        );
    }

    #[test]
    fn too_long_line_across_reads_is_not_buffered() {
        let mut f = LineFramer::new(4);
        let mut buf = BytesMut::new();
        for _ in 0..100 {
            buf.extend_from_slice(b"xxxxxxxx");
            assert_eq!(f.next_line(&mut buf), None);
            assert!(buf.len() <= 4 + 1 + 8);
        }
        buf.extend_from_slice(b"xx\r\nRSET\r\n");
        assert_eq!(
            lines(&mut f, &mut buf),
            vec![Err(LineError::TooLong), Ok(b"RSET".to_vec())]
        );
    }

    #[test]
    fn too_long_reported_once_even_when_lf_comes_alone() {
        let mut f = LineFramer::new(2);
        let mut buf = BytesMut::from(&b"abcd"[..]);
        assert_eq!(f.next_line(&mut buf), None);
        assert!(buf.is_empty());
        buf.extend_from_slice(b"\n");
        assert_eq!(f.next_line(&mut buf), Some(Err(LineError::TooLong)));
        assert_eq!(f.next_line(&mut buf), None);
    }

    #[test]
    fn zero_max_len() {
        let mut f = LineFramer::new(0);
        let mut buf = BytesMut::from(&b"\r\na\r\n"[..]);
        assert_eq!(
            lines(&mut f, &mut buf),
            vec![Ok(Vec::new()), Err(LineError::TooLong)]
        );
    }
}
