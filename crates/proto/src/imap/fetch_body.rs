//! FETCH BODY[section] (RFC 9051 §6.4.5) and BINARY[section] (RFC 3516) contents.

use std::borrow::Cow;
use std::fmt;

use super::section::{Section, SectionText};
use crate::mime::{MessageStructure, Part, PartBody, TransferEncoding};

/// Why BINARY[section] has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryError {
    /// The section names no part of this message (the session answers with an empty/NIL
    /// section, as for BODY[]).
    NoSuchPart,
    /// The part's Content-Transfer-Encoding is not one we can undo (RFC 3516 §4.3: `NO
    /// [UNKNOWN-CTE]`). Holds the encoding as written.
    UnknownCte(String),
}

impl fmt::Display for BinaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinaryError::NoSuchPart => f.write_str("no such body part"),
            BinaryError::UnknownCte(cte) => write!(f, "unknown content transfer encoding {cte:?}"),
        }
    }
}

impl std::error::Error for BinaryError {}

/// The octets of BODY[`section`] of `message`, whose structure is `s`; `None` when the
/// section names nothing in this message.
///
/// RFC 9051 §6.4.5: part numbers walk multiparts and attached messages; part 1 of a message
/// that is not multipart is its body. HEADER, HEADER.FIELDS(.NOT) and TEXT apply to the whole
/// message or to a message/rfc822 (message/global) part; MIME to a numbered part. HEADER and
/// HEADER.FIELDS answers end with the blank line; field names match case-insensitively and
/// matched fields keep their folding.
pub fn section_bytes<'m>(
    message: &'m [u8],
    s: &MessageStructure,
    section: &Section,
) -> Option<Cow<'m, [u8]>> {
    let part = resolve(s, &section.part)?;
    let slice = |from: usize, to: usize| message.get(from..to).map(Cow::Borrowed);
    let text = match &section.text {
        None if section.part.is_empty() => return Some(Cow::Borrowed(message)),
        None => return slice(part.body_start, part.end),
        Some(SectionText::Mime) if section.part.is_empty() => return None,
        Some(SectionText::Mime) => return slice(part.header_start, part.body_start),
        Some(text) => text,
    };
    // HEADER.. and TEXT: of the message itself, or of the message a part holds.
    let root = if section.part.is_empty() {
        &s.root
    } else {
        &part.message()?.root
    };
    let header = message.get(root.header_start..root.body_start)?;
    match text {
        SectionText::Text => slice(root.body_start, root.end),
        SectionText::Header => Some(with_blank_line(header)),
        SectionText::HeaderFields(names) => Some(header_fields(header, names, true)),
        SectionText::HeaderFieldsNot(names) => Some(header_fields(header, names, false)),
        SectionText::Mime => None,
    }
}

/// The decoded body of BINARY[`part`] (RFC 3516 §4.2): the part's content with base64 or
/// quoted-printable undone. An empty `part` is the whole message, as it is. Multiparts and
/// attached messages come back as they are (they have no encoding of their own).
pub fn binary_section(
    message: &[u8],
    s: &MessageStructure,
    part: &[u32],
) -> Result<Vec<u8>, BinaryError> {
    if part.is_empty() {
        return Ok(message.to_vec());
    }
    let p = resolve(s, part).ok_or(BinaryError::NoSuchPart)?;
    let body = message
        .get(p.body_start..p.end)
        .ok_or(BinaryError::NoSuchPart)?;
    if !matches!(p.body, PartBody::Basic) {
        return Ok(body.to_vec());
    }
    p.encoding()
        .decode(body)
        .ok_or_else(|| BinaryError::UnknownCte(p.transfer_encoding.clone().unwrap_or_default()))
}

/// BINARY.SIZE[`part`] (RFC 3516 §4.2): the length [`binary_section`] would return.
pub fn binary_size(message: &[u8], s: &MessageStructure, part: &[u32]) -> Result<u64, BinaryError> {
    if let Some(p) = resolve(s, part).filter(|_| !part.is_empty())
        && matches!(p.body, PartBody::Basic)
        && p.encoding() == TransferEncoding::Identity
    {
        return Ok(p.size() as u64);
    }
    binary_section(message, s, part).map(|b| b.len() as u64)
}

/// The part that part numbers name (RFC 9051 §6.4.5); an empty list is the message itself.
pub fn resolve<'s>(s: &'s MessageStructure, numbers: &[u32]) -> Option<&'s Part> {
    let Some((&first, rest)) = numbers.split_first() else {
        return Some(&s.root);
    };
    let mut part = child_of_message(s, first)?;
    for &n in rest {
        part = match &part.body {
            PartBody::Multipart(children) => nth(children, n)?,
            PartBody::Message(m) => child_of_message(m, n)?,
            PartBody::Basic => return None,
        };
    }
    Some(part)
}

/// Part `n` of a message: a part of its multipart body, or, for a body that is not multipart,
/// the body itself as part 1.
fn child_of_message(m: &MessageStructure, n: u32) -> Option<&Part> {
    match &m.root.body {
        PartBody::Multipart(children) => nth(children, n),
        _ => (n == 1).then_some(&m.root),
    }
}

fn nth(children: &[Part], n: u32) -> Option<&Part> {
    let index = usize::try_from(n).ok()?.checked_sub(1)?;
    children.get(index)
}

/// A header block ending in its blank line; one is added when the message has none (a
/// message of headers only).
fn with_blank_line(header: &[u8]) -> Cow<'_, [u8]> {
    if header.ends_with(b"\n\n")
        || header.ends_with(b"\r\n\r\n")
        || header == b"\r\n"
        || header == b"\n"
    {
        return Cow::Borrowed(header);
    }
    let mut out = header.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Cow::Owned(out)
}

/// HEADER.FIELDS (`keep`) or HEADER.FIELDS.NOT: the fields whose names are (not) in `names`,
/// byte for byte, then the blank line.
fn header_fields<'h>(header: &'h [u8], names: &[String], keep: bool) -> Cow<'h, [u8]> {
    let mut out = Vec::new();
    for field in crate::mime::header_fields(header) {
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(field.name));
        if listed != keep {
            continue;
        }
        let bytes = header.get(field.range.clone()).unwrap_or_default();
        out.extend_from_slice(bytes);
        if !bytes.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    Cow::Owned(out)
}

#[cfg(test)]
#[path = "fetch_body_tests.rs"]
mod tests;
