//! [`MessageStructure`]: a message's MIME tree with offsets, computed once and cached.
//!
//! Everything FETCH ENVELOPE / BODY / BODYSTRUCTURE need is here, so the store can keep it as
//! JSON next to the blob and the session never reparses a message for them; BODY[section]
//! needs the offsets plus the raw bytes.
//!
//! The tree is cut here, not by mail-parser: its part offsets follow its own decoding needs
//! (and nested messages in encoded parts get offsets into decoded bytes), while IMAP needs
//! exact ranges of the raw message. mail-parser parses the field values (Content-Type and
//! Content-Disposition with RFC 2231 continuations and charsets).

use mail_parser::{HeaderValue, parsers::MessageStream};
use serde::{Deserialize, Serialize};

use super::address::{EnvelopeAddress, parse_address_list};
use super::decode::TransferEncoding;
use super::header::{self, Field};
use super::raw::RawText;

/// Deepest nesting of multiparts and attached messages that gets its own structure; deeper
/// content is one opaque part. Keeps recursion and the cached JSON's nesting bounded
/// (serde_json refuses more than 128 levels; each MIME level costs three).
pub const MAX_DEPTH: usize = 24;

/// Most parts analysed in one message; the rest stay inside an opaque part.
pub const MAX_PARTS: usize = 5_000;

/// A message's structure: its envelope and its MIME tree (RFC 9051 §7.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageStructure {
    /// ENVELOPE fields, raw.
    #[serde(rename = "e")]
    pub envelope: Envelope,
    /// The message as a part: its header is the message header, its range the whole message.
    #[serde(rename = "p")]
    pub root: Part,
}

/// The header fields of an ENVELOPE, as received (unfolded, not decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `Date`.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub date: Option<RawText>,
    /// `Subject`.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<RawText>,
    /// `From`.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<EnvelopeAddress>,
    /// `Sender` as present (the ENVELOPE falls back to From when empty).
    #[serde(rename = "sn", default, skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<EnvelopeAddress>,
    /// `Reply-To` as present (the ENVELOPE falls back to From when empty).
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<EnvelopeAddress>,
    /// `To`.
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<EnvelopeAddress>,
    /// `Cc`.
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<EnvelopeAddress>,
    /// `Bcc`.
    #[serde(rename = "b", default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<EnvelopeAddress>,
    /// `In-Reply-To`.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<RawText>,
    /// `Message-ID`.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<RawText>,
}

/// One MIME part (RFC 2045), with byte offsets into the raw message.
///
/// `header_start <= body_start <= end <= message length` always holds. The header range
/// includes the blank line ending it; the body of a part inside a multipart ends before the
/// line break that precedes the next boundary (RFC 2046 §5.1.1: that break belongs to the
/// boundary).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Part {
    /// Offset of the part's first header line.
    #[serde(rename = "h")]
    pub header_start: usize,
    /// Offset of the body (just after the blank line; `end` when there is none).
    #[serde(rename = "b")]
    pub body_start: usize,
    /// Offset just past the body.
    #[serde(rename = "z")]
    pub end: usize,
    /// Media type, lowercase (`text`); defaulted per RFC 2045 §5.2 / RFC 2046 §5.1.5.
    #[serde(rename = "t")]
    pub media_type: String,
    /// Media subtype, lowercase (`plain`).
    #[serde(rename = "st")]
    pub subtype: String,
    /// Content-Type parameters, RFC 2231 continuations joined and charsets decoded to UTF-8.
    #[serde(rename = "pa", default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    /// `Content-ID`, raw.
    #[serde(rename = "id", default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<RawText>,
    /// `Content-Description`, raw.
    #[serde(rename = "ds", default, skip_serializing_if = "Option::is_none")]
    pub description: Option<RawText>,
    /// `Content-Transfer-Encoding` as written (trimmed); `None` when absent (7bit).
    #[serde(rename = "te", default, skip_serializing_if = "Option::is_none")]
    pub transfer_encoding: Option<String>,
    /// Number of lines of the encoded body (a final line without line break counts).
    #[serde(rename = "l", default)]
    pub lines: u64,
    /// `Content-MD5`, raw.
    #[serde(rename = "md", default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<RawText>,
    /// `Content-Disposition` (RFC 2183).
    #[serde(rename = "dp", default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    /// `Content-Language` tags (RFC 3282).
    #[serde(rename = "la", default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    /// `Content-Location` (RFC 2557), raw.
    #[serde(rename = "lo", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<RawText>,
    /// What the body holds.
    #[serde(rename = "c", default, skip_serializing_if = "PartBody::is_basic")]
    pub body: PartBody,
}

/// A `Content-Disposition` value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Disposition {
    /// `inline`, `attachment`, ... lowercase.
    #[serde(rename = "k")]
    pub kind: String,
    /// Parameters, decoded like Content-Type's.
    #[serde(rename = "pa", default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
}

/// The contents of a part's body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PartBody {
    /// A leaf: text, image, application... (also anything past [`MAX_DEPTH`]/[`MAX_PARTS`]).
    #[default]
    #[serde(rename = "b")]
    Basic,
    /// `multipart/*`: the parts between its boundaries; empty when the boundary is missing
    /// or never appears.
    #[serde(rename = "m")]
    Multipart(Vec<Part>),
    /// `message/rfc822` or `message/global` with an identity encoding: the attached message.
    #[serde(rename = "e")]
    Message(Box<MessageStructure>),
}

impl PartBody {
    fn is_basic(&self) -> bool {
        matches!(self, PartBody::Basic)
    }
}

impl MessageStructure {
    /// Analyses a raw message. Never fails and never panics: any bytes give some structure
    /// (empty input is an empty text/plain message).
    pub fn analyze(bytes: &[u8]) -> MessageStructure {
        let mut budget = MAX_PARTS;
        analyze_message(bytes, 0, bytes.len(), 0, &mut budget)
    }
}

impl Part {
    /// Size of the encoded body in octets.
    pub fn size(&self) -> usize {
        self.end.saturating_sub(self.body_start)
    }

    /// True for `text/*`.
    pub fn is_text(&self) -> bool {
        self.media_type.eq_ignore_ascii_case("text")
    }

    /// True for `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.media_type.eq_ignore_ascii_case("multipart")
    }

    /// The attached message, for `message/rfc822` and `message/global` parts.
    pub fn message(&self) -> Option<&MessageStructure> {
        match &self.body {
            PartBody::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The value of Content-Type parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How the body is encoded.
    pub fn encoding(&self) -> TransferEncoding {
        TransferEncoding::from_header(self.transfer_encoding.as_deref())
    }
}

/// What a part is when its Content-Type is absent or unusable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DefaultType {
    /// RFC 2045 §5.2: `text/plain; charset=us-ascii`.
    Text,
    /// RFC 2046 §5.1.5: inside multipart/digest, `message/rfc822`.
    Message,
}

fn analyze_message(
    data: &[u8],
    start: usize,
    end: usize,
    depth: usize,
    budget: &mut usize,
) -> MessageStructure {
    let body_start = header::body_start(data, start, end);
    let fields = header::fields(data.get(start..body_start).unwrap_or_default());
    MessageStructure {
        envelope: envelope(&fields),
        root: analyze_part(
            data,
            (start, body_start, end),
            &fields,
            DefaultType::Text,
            depth,
            budget,
        ),
    }
}

/// RFC 9051 §7.5.2: the envelope's header fields, raw and unfolded.
fn envelope(fields: &[Field<'_>]) -> Envelope {
    let text = |name| header::first(fields, name).map(|v| RawText::new(header::unfold(v)));
    let addresses = |name| {
        header::first(fields, name)
            .map(|v| parse_address_list(&header::unfold(v)))
            .unwrap_or_default()
    };
    Envelope {
        date: text("date"),
        subject: text("subject"),
        from: addresses("from"),
        sender: addresses("sender"),
        reply_to: addresses("reply-to"),
        to: addresses("to"),
        cc: addresses("cc"),
        bcc: addresses("bcc"),
        in_reply_to: text("in-reply-to"),
        message_id: text("message-id"),
    }
}

fn analyze_part(
    data: &[u8],
    (header_start, body_start, end): (usize, usize, usize),
    fields: &[Field<'_>],
    default: DefaultType,
    depth: usize,
    budget: &mut usize,
) -> Part {
    *budget = budget.saturating_sub(1);
    let raw = |name| header::first(fields, name).map(|v| RawText::new(header::unfold(v)));
    let (media_type, subtype, params) = header::first(fields, "content-type")
        .and_then(parse_content_type)
        .unwrap_or_else(|| match default {
            DefaultType::Text => (
                "text".into(),
                "plain".into(),
                vec![("charset".into(), "us-ascii".into())],
            ),
            DefaultType::Message => ("message".into(), "rfc822".into(), Vec::new()),
        });
    let disposition = header::first(fields, "content-disposition")
        .and_then(parse_content_type)
        .map(|(kind, _, params)| Disposition { kind, params });
    let language = header::first(fields, "content-language")
        .map(|v| {
            String::from_utf8_lossy(&header::unfold(v))
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let transfer_encoding = raw("content-transfer-encoding").map(|v| v.to_string_lossy());
    let body_bytes = data.get(body_start..end).unwrap_or_default();
    let mut part = Part {
        header_start,
        body_start,
        end,
        media_type,
        subtype,
        params,
        content_id: raw("content-id"),
        description: raw("content-description"),
        transfer_encoding,
        lines: count_lines(body_bytes),
        md5: raw("content-md5"),
        disposition,
        language,
        location: raw("content-location"),
        body: PartBody::Basic,
    };
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    if part.is_multipart() {
        let child_default = if part.subtype.eq_ignore_ascii_case("digest") {
            DefaultType::Message
        } else {
            DefaultType::Text
        };
        let ranges = match part.param("boundary") {
            Some(b) if !b.is_empty() => split_multipart(data, body_start, end, b.as_bytes()),
            _ => Vec::new(),
        };
        let mut children = Vec::with_capacity(ranges.len());
        for (child_start, child_end) in ranges {
            if *budget == 0 {
                break;
            }
            let child_body = header::body_start(data, child_start, child_end);
            let child_fields =
                header::fields(data.get(child_start..child_body).unwrap_or_default());
            children.push(analyze_part(
                data,
                (child_start, child_body, child_end),
                &child_fields,
                child_default,
                depth + 1,
                budget,
            ));
        }
        part.body = PartBody::Multipart(children);
    } else if is_message_type(&part.media_type, &part.subtype)
        && part.encoding() == TransferEncoding::Identity
    {
        // An encoded message/rfc822 breaks RFC 2046 §5.2.1; like Dovecot we show it as a
        // basic part rather than decode it, since offsets must point into the raw message.
        part.body = PartBody::Message(Box::new(analyze_message(
            data,
            body_start,
            end,
            depth + 1,
            budget,
        )));
    }
    part
}

/// True for the types whose body is a message (RFC 2046 §5.2.1, RFC 6532 §3.7).
pub(crate) fn is_message_type(media_type: &str, subtype: &str) -> bool {
    media_type.eq_ignore_ascii_case("message")
        && (subtype.eq_ignore_ascii_case("rfc822") || subtype.eq_ignore_ascii_case("global"))
}

type ContentType = (String, String, Vec<(String, String)>);

/// Content-Type or Content-Disposition through mail-parser (RFC 2045 §5.1, RFC 2231, RFC
/// 2183). `None` when there is no usable type (RFC 2045 §5.2: then the default applies); for
/// a disposition the subtype is empty.
fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let input = header::for_parser(value);
    let HeaderValue::ContentType(ct) = MessageStream::new(&input).parse_content_type() else {
        return None;
    };
    let media_type = ct.c_type.trim().to_ascii_lowercase();
    if media_type.is_empty() {
        return None;
    }
    let subtype = ct
        .c_subtype
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let params = ct
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.name.to_ascii_lowercase(), a.value.into_owned()))
        .collect();
    Some((media_type, subtype, params))
}

/// Number of lines in `body`: line breaks, plus a final line that has none.
fn count_lines(body: &[u8]) -> u64 {
    let breaks = body.iter().filter(|&&b| b == b'\n').count() as u64;
    match body.last() {
        Some(b'\n') | None => breaks,
        Some(_) => breaks + 1,
    }
}

/// The byte ranges of the parts of a multipart body (RFC 2046 §5.1.1).
///
/// A delimiter is a line starting `--boundary` followed by nothing, white space or `--` (the
/// close delimiter); the check on the next character keeps a boundary that is a prefix of a
/// nested one from matching. A part ends before the line break preceding its delimiter. With
/// no close delimiter, the last part runs to `end`. Preamble and epilogue belong to no part.
fn split_multipart(data: &[u8], start: usize, end: usize, boundary: &[u8]) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut line_start = start;
    while line_start < end {
        let rest = data.get(line_start..end).unwrap_or_default();
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(end, |lf| line_start + lf + 1);
        let close = delimiter(rest, boundary);
        if let Some(close) = close {
            if let Some(part_start) = current {
                let part_end = before_line_break(data, part_start, line_start);
                parts.push((part_start, part_end));
            }
            if close {
                return parts;
            }
            current = Some(line_end);
        }
        line_start = line_end;
    }
    if let Some(part_start) = current {
        parts.push((part_start.min(end), end));
    }
    parts
}

/// `Some(is_close)` when `line` is a delimiter line for `boundary`.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        return Some(true);
    }
    match rest.first() {
        None | Some(b'\r' | b'\n' | b' ' | b'\t') => Some(false),
        Some(_) => None,
    }
}

/// The offset of the line break that ends just before `pos`, or `pos` if none (never before
/// `floor`).
fn before_line_break(data: &[u8], floor: usize, pos: usize) -> usize {
    let mut end = pos;
    if end > floor && data.get(end - 1) == Some(&b'\n') {
        end -= 1;
        if end > floor && data.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
    }
    end
}

#[cfg(test)]
#[path = "structure_tests.rs"]
mod tests;
