//! FETCH BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, grammar §9 `body`).
//!
//! Written from a cached [`MessageStructure`] alone. Odd MIME gets a well-formed answer: a
//! multipart without parts shows one empty text/plain part (the grammar needs `1*body`, and
//! Dovecot does the same); a message/rfc822 part with a non-identity encoding, which has no
//! parsed message, is shown as a basic part.

use super::envelope::{envelope, nstring, string};
use crate::mime::{Disposition, MessageStructure, Part, PartBody, RawText};

/// Writes BODYSTRUCTURE (`extensible`: with extension data, MD5, disposition, language,
/// location) or BODY (without) of `s`.
pub fn body_structure(s: &MessageStructure, extensible: bool, out: &mut Vec<u8>) {
    part(&s.root, extensible, out);
}

fn part(p: &Part, ext: bool, out: &mut Vec<u8>) {
    match &p.body {
        PartBody::Multipart(children) => multipart(p, children, ext, out),
        PartBody::Message(m) => {
            single_fields(p, out);
            out.push(b' ');
            envelope(m, out);
            out.push(b' ');
            part(&m.root, ext, out);
            out.push(b' ');
            out.extend_from_slice(p.lines.to_string().as_bytes());
            single_tail(p, ext, out);
        }
        PartBody::Basic => {
            single_fields(p, out);
            if p.is_text() {
                out.push(b' ');
                out.extend_from_slice(p.lines.to_string().as_bytes());
            }
            single_tail(p, ext, out);
        }
    }
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`; the bodies follow each
/// other without a space.
fn multipart(p: &Part, children: &[Part], ext: bool, out: &mut Vec<u8>) {
    out.push(b'(');
    if children.is_empty() {
        out.extend_from_slice(br#"("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0"#);
        if ext {
            out.extend_from_slice(b" NIL NIL NIL NIL");
        }
        out.push(b')');
    }
    for child in children {
        part(child, ext, out);
    }
    out.push(b' ');
    string(p.subtype.as_bytes(), out);
    if ext {
        // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        out.push(b' ');
        params(&p.params, out);
        extension_tail(p, out);
    }
    out.push(b')');
}

/// `"(" media-type SP media-subtype SP body-fields`, `body-fields = body-fld-param SP
/// body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`.
fn single_fields(p: &Part, out: &mut Vec<u8>) {
    out.push(b'(');
    string(p.media_type.as_bytes(), out);
    out.push(b' ');
    string(p.subtype.as_bytes(), out);
    out.push(b' ');
    params(&p.params, out);
    out.push(b' ');
    nstring(p.content_id.as_ref().map(RawText::as_bytes), out);
    out.push(b' ');
    nstring(p.description.as_ref().map(RawText::as_bytes), out);
    out.push(b' ');
    string(
        encoding_name(p.transfer_encoding.as_deref()).as_bytes(),
        out,
    );
    out.push(b' ');
    out.extend_from_slice(p.size().to_string().as_bytes());
}

/// `[SP body-ext-1part]` and the closing parenthesis; `body-ext-1part = body-fld-md5 [SP
/// body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]`.
fn single_tail(p: &Part, ext: bool, out: &mut Vec<u8>) {
    if ext {
        out.push(b' ');
        nstring(p.md5.as_ref().map(RawText::as_bytes), out);
        extension_tail(p, out);
    }
    out.push(b')');
}

/// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`.
fn extension_tail(p: &Part, out: &mut Vec<u8>) {
    out.push(b' ');
    disposition(p.disposition.as_ref(), out);
    out.push(b' ');
    match p.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(one.as_bytes(), out),
        many => {
            out.push(b'(');
            for (i, tag) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(tag.as_bytes(), out);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(p.location.as_ref().map(RawText::as_bytes), out);
}

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`.
fn disposition(d: Option<&Disposition>, out: &mut Vec<u8>) {
    let Some(d) = d else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    string(d.kind.as_bytes(), out);
    out.push(b' ');
    params(&d.params, out);
    out.push(b')');
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`.
fn params(list: &[(String, String)], out: &mut Vec<u8>) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in list.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(name.as_bytes(), out);
        out.push(b' ');
        string(value.as_bytes(), out);
    }
    out.push(b')');
}

/// `body-fld-enc`: the known encodings in the grammar's spelling, others as written, 7BIT
/// when absent (RFC 2045 §6.1).
fn encoding_name(value: Option<&str>) -> String {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return "7BIT".into();
    };
    const KNOWN: [&str; 5] = ["7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE"];
    match KNOWN.iter().find(|k| value.eq_ignore_ascii_case(k)) {
        Some(k) => (*k).into(),
        None => value.into(),
    }
}
