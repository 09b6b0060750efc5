//! Raw header blocks: where a header ends, its fields, their unfolded values.
//!
//! Works on byte ranges of the raw message and never decodes: IMAP sends most header text as
//! it was received (RFC 9051 §7.5.2 ENVELOPE), and the decoders in [`super::search`] start
//! from these raw values.

use std::ops::Range;

/// Finds where the header block starting at `start` ends, looking no further than `end`.
///
/// RFC 5322 §2.1: the header ends at the first empty line. Returns the offset just after that
/// empty line (the body start); with no empty line the whole range is header and the body is
/// empty (`end`).
pub(crate) fn body_start(data: &[u8], start: usize, end: usize) -> usize {
    let Some(block) = data.get(start..end) else {
        return end;
    };
    let mut line_start = 0;
    while line_start < block.len() {
        let rest = block.get(line_start..).unwrap_or_default();
        let line_len = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => lf + 1,
            None => rest.len(),
        };
        let line = rest.get(..line_len).unwrap_or_default();
        if line == b"\n" || line == b"\r\n" {
            return start + line_start + line_len;
        }
        line_start += line_len;
    }
    end
}

/// One header field of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field name, without trailing white space.
    pub name: &'a [u8],
    /// Everything after the colon up to the end of the field, folding kept, final line
    /// ending removed.
    pub value: &'a [u8],
    /// The whole field including its final line ending, relative to the block.
    pub range: Range<usize>,
}

/// The fields of a header block (the bytes before the body, blank line optional).
///
/// A line that starts with white space continues the field before it (RFC 5322 §2.2.3). A
/// line without a colon is not a field and is skipped, together with its continuations, as
/// are continuation lines before the first field: broken headers cost only themselves.
pub(crate) fn fields(block: &[u8]) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        let start = pos;
        // The field runs until a line end that is not followed by folding white space.
        let mut end = pos;
        loop {
            let rest = block.get(end..).unwrap_or_default();
            match rest.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    end += lf + 1;
                    match block.get(end) {
                        Some(b' ' | b'\t') => continue,
                        _ => break,
                    }
                }
                None => {
                    end = block.len();
                    break;
                }
            }
        }
        pos = end;
        let field = block.get(start..end).unwrap_or_default();
        if field == b"\n" || field == b"\r\n" {
            break;
        }
        if matches!(field.first(), Some(b' ' | b'\t')) {
            continue;
        }
        let Some(colon) = field.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim_end(field.get(..colon).unwrap_or_default());
        // A name holds printable characters except the colon (RFC 5322 §3.6.8).
        if name.is_empty() || name.iter().any(|&b| !(33..=126).contains(&b)) {
            continue;
        }
        let value = field.get(colon + 1..).unwrap_or_default();
        let value = value.strip_suffix(b"\n").unwrap_or(value);
        let value = value.strip_suffix(b"\r").unwrap_or(value);
        out.push(Field {
            name,
            value,
            range: start..end,
        });
    }
    out
}

/// The raw value of the first field called `name` (ASCII case-insensitive), if any.
pub(crate) fn first<'a>(fields: &[Field<'a>], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// Unfolds a raw value: removes CR and LF (RFC 5322 §2.2.3 keeps the white space after them),
/// then trims white space at both ends.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let out: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    trim(&out).to_vec()
}

/// Trims spaces and tabs at both ends.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    trim_end(bytes.get(start..).unwrap_or_default())
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
    bytes.get(..end).unwrap_or_default()
}

fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A raw value made ready for mail-parser's field parsers: they start after the colon and stop
/// at a line end not followed by white space, so the value gets a leading space (their token
/// offsets treat 0 as "unset") and a final LF.
pub(crate) fn for_parser(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}
