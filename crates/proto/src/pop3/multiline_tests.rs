//! Known-answer tests and properties for [`super::write_multiline`], [`super::crlf_size`]
//! and [`super::top`].

use proptest::prelude::*;

use super::*;

fn multiline(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_multiline(&mut out, body);
    out
}

/// Every line ending as CRLF, a final one added: written byte by byte, independently of
/// the code under test.
fn crlf_normalised(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Undoes dot-stuffing the way a client does (RFC 1939 §3); returns the body and how many
/// dots were removed, or `None` if `wire` is not a well-formed multi-line body.
fn unstuff(wire: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut removed = 0;
    let mut rest = wire;
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[..end];
        rest = &rest[end + 2..];
        if line == b"." {
            return rest.is_empty().then_some((body, removed));
        }
        let line = match line.strip_prefix(b".") {
            Some(l) => {
                removed += 1;
                l
            }
            None => line,
        };
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return None;
        }
        body.extend_from_slice(line);
        body.extend_from_slice(b"\r\n");
    }
}

#[test]
fn rfc1939_examples() {
    // RFC 1939 §5 LIST and §7 UIDL scan listings.
    assert_eq!(multiline(b"1 120\r\n2 200\r\n"), b"1 120\r\n2 200\r\n.\r\n");
    assert_eq!(
        multiline(b"1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n"),
        b"1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
    );
    // RFC 2449 §5 CAPA example.
    assert_eq!(
        multiline(b"TOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n"),
        b"TOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n.\r\n"
    );
    // An empty list is just the terminator.
    assert_eq!(multiline(b""), b".\r\n");
}

#[test]
fn dot_stuffing() {
    assert_eq!(
        multiline(b".hidden\r\n..two\r\nmid.dle\r\n.\r\nend"),
        b"..hidden\r\n...two\r\nmid.dle\r\n..\r\nend\r\n.\r\n"
    );
    assert_eq!(multiline(b"."), b"..\r\n.\r\n");
    assert_eq!(multiline(b"a\n.\n"), b"a\r\n..\r\n.\r\n");
    assert_eq!(multiline(b"a\r.b"), b"a\r\n..b\r\n.\r\n");
}

#[test]
fn line_endings_become_crlf() {
    assert_eq!(multiline(b"a\nb\n"), b"a\r\nb\r\n.\r\n");
    assert_eq!(multiline(b"a\rb"), b"a\r\nb\r\n.\r\n");
    assert_eq!(multiline(b"a\r\r\nb"), b"a\r\n\r\nb\r\n.\r\n");
    assert_eq!(multiline(b"\n\n"), b"\r\n\r\n.\r\n");
    assert_eq!(multiline(b"\r"), b"\r\n.\r\n");
    assert_eq!(multiline(b"x"), b"x\r\n.\r\n");
    assert_eq!(crlf_size(b"a\nb\n"), 6);
    assert_eq!(crlf_size(b"a\rb"), 6);
    assert_eq!(crlf_size(b"a\r\r\nb"), 8);
    assert_eq!(crlf_size(b"x"), 3);
    assert_eq!(crlf_size(b""), 0);
    assert_eq!(crlf_size(b".x\r\n"), 4, "dot-stuffing is not counted");
}

#[test]
fn appends_to_what_is_there() {
    let mut out = b"+OK 5 octets\r\n".to_vec();
    write_multiline(&mut out, b"hi\r\n");
    assert_eq!(out, b"+OK 5 octets\r\nhi\r\n.\r\n");
}

const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\nline 3\r\n";

#[test]
fn rfc1939_top() {
    assert_eq!(
        top(MESSAGE, 0),
        b"From: a@example.org\r\nSubject: hi\r\n\r\n"
    );
    assert_eq!(
        top(MESSAGE, 1),
        b"From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n"
    );
    assert_eq!(top(MESSAGE, 2), &MESSAGE[..MESSAGE.len() - 8]);
    assert_eq!(top(MESSAGE, 3), MESSAGE);
    assert_eq!(
        top(MESSAGE, 10),
        MESSAGE,
        "shorter than asked: the whole message"
    );
    assert_eq!(top(MESSAGE, u32::MAX), MESSAGE);
}

#[test]
fn top_edge_cases() {
    assert_eq!(top(b"Subject: x\r\n", 0), b"Subject: x\r\n", "no body");
    assert_eq!(top(b"Subject: x", 5), b"Subject: x");
    assert_eq!(top(b"", 0), b"");
    assert_eq!(top(b"\r\nbody\r\n", 0), b"\r\n", "empty header section");
    assert_eq!(top(b"A: b\n\nc\nd", 1), b"A: b\n\nc\n", "LF-only message");
    assert_eq!(
        top(b"A: b\n\nc\nd", 2),
        b"A: b\n\nc\nd",
        "last line without ending"
    );
    assert_eq!(
        top(b"A: b\r\n \r\nc\r\n", 0),
        b"A: b\r\n \r\nc\r\n",
        "a space is not blank"
    );
}

#[test]
fn large_crlf_message() {
    let mut body = Vec::new();
    for i in 0..20_000 {
        body.extend_from_slice(
            format!(
                "{}line {i} of a long message body\r\n",
                if i % 7 == 0 { "." } else { "" }
            )
            .as_bytes(),
        );
    }
    let out = multiline(&body);
    let dots = (0..20_000).filter(|i| i % 7 == 0).count();
    assert_eq!(out.len(), body.len() + dots + 3);
    assert_eq!(crlf_size(&body), body.len() as u64);
    assert_eq!(unstuff(&out), Some((body, dots)));
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop::sample::select(b"a.\r\n \r\n".to_vec()), 0..120)
}

/// Bodies whose line endings are all CRLF (the common case, written by a faster path).
fn clean_bodies() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        proptest::collection::vec(prop::sample::select(b"a. ".to_vec()), 0..6),
        0..40,
    )
    .prop_flat_map(|lines| {
        let body = lines.join(&b"\r\n"[..]);
        (Just(body), any::<bool>())
    })
    .prop_map(|(mut body, ends)| {
        if ends {
            body.extend_from_slice(b"\r\n");
        }
        body
    })
}

proptest! {
    #[test]
    fn clean_bodies_round_trip(body in clean_bodies()) {
        let mut out = Vec::new();
        let size = write_multiline(&mut out, &body);
        let (unstuffed, removed) = unstuff(&out).expect("well-formed multi-line body");
        prop_assert_eq!(&unstuffed, &crlf_normalised(&body));
        prop_assert_eq!((out.len() - removed - 3) as u64, size);
        prop_assert_eq!(size, crlf_size(&body));
    }

    #[test]
    fn long_bodies_round_trip(
        prefix in 4090usize..4100,
        tail in proptest::collection::vec(prop::sample::select(b"a.\r\n".to_vec()), 0..8),
    ) {
        let mut body = b"x".repeat(prefix);
        body.extend_from_slice(&tail);
        let out = multiline(&body);
        let (unstuffed, _) = unstuff(&out).expect("well-formed multi-line body");
        prop_assert_eq!(&unstuffed, &crlf_normalised(&body));
    }

    #[test]
    fn a_verbatim_body_is_sent_as_it_is_then_its_tail(body in bodies()) {
        let wire = multiline(&body);
        // Exactly the bodies whose response is the body itself then a terminator.
        let as_is = [&b".\r\n"[..], b"\r\n.\r\n"]
            .into_iter()
            .find(|tail| wire.starts_with(&body) && &wire[body.len()..] == *tail);
        prop_assert_eq!(verbatim_tail(&body), as_is);
    }

    #[test]
    fn unstuffing_gives_the_crlf_body(body in bodies()) {
        let out = multiline(&body);
        let Some((unstuffed, removed)) = unstuff(&out) else {
            return Err(TestCaseError::fail(format!("malformed: {out:?}")));
        };
        prop_assert_eq!(&unstuffed, &crlf_normalised(&body));
        prop_assert_eq!((out.len() - removed - 3) as u64, crlf_size(&body));
    }

    #[test]
    fn the_size_it_returns_is_the_unstuffed_size(body in bodies()) {
        let mut out = b"+OK\r\n".to_vec();
        let size = write_multiline(&mut out, &body);
        prop_assert_eq!(size, crlf_size(&body));
        prop_assert_eq!(size, crlf_normalised(&body).len() as u64);
    }

    #[test]
    fn any_bytes_round_trip(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let out = multiline(&body);
        let (unstuffed, removed) = unstuff(&out).expect("well-formed multi-line body");
        prop_assert_eq!(&unstuffed, &crlf_normalised(&body));
        prop_assert_eq!((out.len() - removed - 3) as u64, crlf_size(&body));
    }

    #[test]
    fn top_is_a_growing_prefix(body in bodies(), n in 0u32..20) {
        let a = top(&body, n);
        let b = top(&body, n + 1);
        prop_assert!(body.starts_with(a));
        prop_assert!(b.starts_with(a));
        prop_assert_eq!(top(&body, u32::MAX), &body[..]);
    }
}
