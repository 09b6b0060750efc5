use super::*;

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

#[test]
fn offsets_follow_rfc_2046_delimiters() {
    let msg = crlf(
        "Content-Type: multipart/mixed; boundary=ab\n\npre\n--ab\n\none\n--ab \nX: 1\n\ntwo\n\n--ab--\nepi\n",
    );
    let s = MessageStructure::analyze(&msg);
    let PartBody::Multipart(children) = &s.root.body else {
        panic!("not multipart: {s:?}");
    };
    let body = |p: &Part| String::from_utf8_lossy(&msg[p.body_start..p.end]).into_owned();
    assert_eq!(children.len(), 2);
    assert_eq!(body(&children[0]), "one");
    // The last line break before the delimiter belongs to it; the one before stays.
    assert_eq!(body(&children[1]), "two\r\n");
    assert_eq!(
        &msg[children[1].header_start..children[1].body_start],
        b"X: 1\r\n\r\n"
    );
    assert_eq!(s.root.end, msg.len());
}

#[test]
fn boundary_prefix_of_nested_boundary() {
    let msg = crlf(
        "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=ab\n\n--ab\n\nin\n--ab--\n--a--\n",
    );
    let s = MessageStructure::analyze(&msg);
    let PartBody::Multipart(outer) = &s.root.body else {
        panic!("{s:?}");
    };
    assert_eq!(outer.len(), 1);
    let PartBody::Multipart(inner) = &outer[0].body else {
        panic!("{s:?}");
    };
    assert_eq!(&msg[inner[0].body_start..inner[0].end], b"in");
}

#[test]
fn nesting_is_bounded() {
    let mut msg = Vec::new();
    for _ in 0..(MAX_DEPTH + 10) {
        msg.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    msg.extend_from_slice(b"Subject: deep\r\n\r\nbody");
    let s = MessageStructure::analyze(&msg);
    let json = serde_json::to_string(&s).expect("structure serializes");
    let back: MessageStructure = serde_json::from_str(&json).expect("cached JSON reads back");
    assert_eq!(back, s);
}

#[test]
fn json_round_trip_keeps_8bit_headers() {
    let msg = b"Subject: caf\xe9\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n\r\nx";
    let s = MessageStructure::analyze(msg);
    assert_eq!(
        s.envelope.subject.as_ref().map(RawText::as_bytes),
        Some(&b"caf\xe9"[..])
    );
    let json = serde_json::to_string(&s).expect("structure serializes");
    assert_eq!(
        serde_json::from_str::<MessageStructure>(&json).ok(),
        Some(s)
    );
}
