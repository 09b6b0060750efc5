//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3), for IMAP4rev1 clients.
//!
//! Printable US-ASCII except `&` stands for itself, `&` is `&-`, and every other run of
//! characters is UTF-16BE in modified base64 (`,` instead of `/`, no padding) between `&` and
//! `-`. Decoding is strict so that each name has one spelling: printable ASCII inside a shift,
//! leftover nonzero bits, a lone surrogate or an unterminated shift are all malformed.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a mailbox name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut out, &mut run);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut run);
    out
}

/// Decodes a modified UTF-7 mailbox name; `None` if it is malformed.
pub fn decode(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return None;
            }
            out.push(char::from(b));
            continue;
        }
        let len = bytes.get(i..)?.iter().position(|&b| b == b'-')?;
        let shifted = bytes.get(i..i + len)?;
        i += len + 1;
        if shifted.is_empty() {
            out.push('&');
            continue;
        }
        let units = base64_utf16(shifted)?;
        for c in char::decode_utf16(units) {
            let c = c.ok()?;
            if is_direct(c) {
                return None;
            }
            out.push(c);
        }
    }
    Some(out)
}

/// Printable US-ASCII: represented as itself (`&` as `&-`).
fn is_direct(c: char) -> bool {
    matches!(c, ' '..='~')
}

/// Writes `run` as a shift sequence, if it is not empty, and empties it.
fn flush(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // 3 octets make 4 sextets, fewer make one sextet more than they have octets.
        for k in 0..=chunk.len() {
            let sextet = (n >> (18 - 6 * k)) & 0x3f;
            out.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    out.push('-');
    run.clear();
}

/// Modified base64 text to UTF-16 units: whole units only, leftover bits zero.
fn base64_utf16(text: &[u8]) -> Option<Vec<u16>> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in text {
        let v = ALPHABET.iter().position(|&a| a == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
        acc &= (1 << bits) - 1;
    }
    if bits >= 6 || acc != 0 || bytes.len() % 2 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some(name)
        );
    }

    #[test]
    fn ampersand_and_ascii() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(decode(b"INBOX").as_deref(), Some("INBOX"));
        assert_eq!(encode("caf\u{e9}"), "caf&AOk-");
        assert_eq!(encode("\u{1F600}"), "&2D3eAA-");
        assert_eq!(decode(b"&2D3eAA-").as_deref(), Some("\u{1F600}"));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"&AOk"[..],   // unterminated
            b"&AO-",        // partial unit
            b"&AOl-",       // leftover nonzero bits
            b"&AGE-",       // "a" must not be encoded
            b"&2D0-",       // lone surrogate
            b"&A*k-",       // not base64
            b"&AO/-",       // "/" is not in the modified alphabet
            b"caf\xc3\xa9", // raw 8-bit
            b"tab\there",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
