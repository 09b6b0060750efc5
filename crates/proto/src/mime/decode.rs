//! Content-Transfer-Encoding and charset decoding, lenient and bounded by their input.

use mail_parser::decoders::charsets::map::charset_decoder;

/// A part's Content-Transfer-Encoding (RFC 2045 §6.1), as far as decoding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, `8bit`, `binary` or no header: the body is its own content.
    Identity,
    /// `base64` (RFC 2045 §6.8).
    Base64,
    /// `quoted-printable` (RFC 2045 §6.7).
    QuotedPrintable,
    /// Anything else (`x-uuencode`, typos): content unknown (RFC 3516 `UNKNOWN-CTE`).
    Unknown,
}

impl TransferEncoding {
    /// Classifies a Content-Transfer-Encoding value (case-insensitive; `None` is no header).
    pub fn from_header(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return TransferEncoding::Identity;
        };
        let value = value.trim();
        if ["7bit", "8bit", "binary", ""]
            .iter()
            .any(|v| value.eq_ignore_ascii_case(v))
        {
            TransferEncoding::Identity
        } else if value.eq_ignore_ascii_case("base64") {
            TransferEncoding::Base64
        } else if value.eq_ignore_ascii_case("quoted-printable") {
            TransferEncoding::QuotedPrintable
        } else {
            TransferEncoding::Unknown
        }
    }

    /// Decodes `body`; `None` for [`TransferEncoding::Unknown`].
    pub fn decode(self, body: &[u8]) -> Option<Vec<u8>> {
        match self {
            TransferEncoding::Identity => Some(body.to_vec()),
            TransferEncoding::Base64 => Some(base64(body)),
            TransferEncoding::QuotedPrintable => Some(quoted_printable(body)),
            TransferEncoding::Unknown => None,
        }
    }
}

/// Decodes base64, skipping characters outside the alphabet (RFC 2045 §6.8 says to ignore
/// them) and stopping at the first `=` pad; a dangling final sextet is dropped.
pub fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Only the low 8 bits after the shift are the next octet.
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    out
}

/// Decodes quoted-printable: `=XX` escapes, soft line breaks (`=` at a line end, trailing
/// white space allowed), white space at the end of a line dropped as transport padding
/// (RFC 2045 §6.7 rule 3), and a malformed `=` kept as it is (note 1).
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut pos = 0;
    while let Some(&b) = input.get(pos) {
        if b == b' ' || b == b'\t' {
            let mut end = pos;
            while matches!(input.get(end), Some(b' ' | b'\t')) {
                end += 1;
            }
            let at_line_end = matches!(input.get(end), None | Some(b'\n'))
                || (input.get(end) == Some(&b'\r') && input.get(end + 1) == Some(&b'\n'));
            if !at_line_end {
                out.extend_from_slice(&input[pos..end]);
            }
            pos = end;
            continue;
        }
        if b != b'=' {
            out.push(b);
            pos += 1;
            continue;
        }
        let hex = |i: usize| input.get(i).and_then(|&c| (c as char).to_digit(16));
        if let (Some(hi), Some(lo)) = (hex(pos + 1), hex(pos + 2)) {
            // Both digits are below 16, so the value fits an octet.
            out.push((hi * 16 + lo) as u8);
            pos += 3;
            continue;
        }
        // A soft line break: `=`, optional white space, then CRLF or LF (or the end).
        let mut next = pos + 1;
        while matches!(input.get(next), Some(b' ' | b'\t')) {
            next += 1;
        }
        match input.get(next) {
            Some(b'\r') if input.get(next + 1) == Some(&b'\n') => pos = next + 2,
            Some(b'\n') => pos = next + 1,
            None => pos = next,
            _ => {
                out.push(b'=');
                pos += 1;
            }
        }
    }
    out
}

/// Converts text in `charset` to UTF-8; unknown charsets and invalid sequences become U+FFFD
/// where needed (the bytes are read as UTF-8 then).
pub fn to_utf8(bytes: &[u8], charset: Option<&str>) -> String {
    // Most text is US-ASCII or UTF-8: checking it is much faster than decoding it byte by byte
    // (SEARCH TEXT spent a third of its time there).
    let plain = charset.is_none_or(|c| {
        let c = c.trim();
        c.eq_ignore_ascii_case("us-ascii")
            || c.eq_ignore_ascii_case("utf-8")
            || c.eq_ignore_ascii_case("utf8")
    });
    if plain && let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    match charset.and_then(|c| charset_decoder(c.trim().as_bytes())) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod qp_tests {
    use super::quoted_printable;

    #[test]
    fn trailing_white_space_is_transport_padding() {
        // The part body of imaptest's fetch-binary-mime-qp, decoded as Dovecot does.
        let encoded = b"hello  \r\nbar=\r\n\r\nfoo\t=\r\nbar\r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar\r\nfoo =\r\n=62\r\nfoo  \r\nbar=\r\n\r\nfoo_bar\r\n";
        let decoded = quoted_printable(encoded);
        assert_eq!(
            decoded,
            b"hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"
        );
        assert_eq!(quoted_printable(b"a \t"), b"a");
        assert_eq!(quoted_printable(b"a b"), b"a b");
    }
}
