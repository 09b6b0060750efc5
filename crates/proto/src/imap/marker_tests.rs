use super::*;

#[test]
fn markers() {
    assert_eq!(
        parse(b"A1 LOGIN {5}"),
        Marker::Literal { len: 5, sync: true }
    );
    assert_eq!(
        parse(b"A1 LOGIN {5+}"),
        Marker::Literal {
            len: 5,
            sync: false
        }
    );
    assert_eq!(parse(b"{0}"), Marker::Literal { len: 0, sync: true });
    assert_eq!(
        parse(b"A APPEND x ~{12}"),
        Marker::Literal {
            len: 12,
            sync: true
        }
    );
    assert_eq!(parse(b"A X {007}"), Marker::Literal { len: 7, sync: true });
    assert_eq!(
        parse(b"A X {18446744073709551615}"),
        Marker::Literal {
            len: u64::MAX,
            sync: true
        }
    );
}

#[test]
fn not_markers() {
    assert_eq!(parse(b""), Marker::None);
    assert_eq!(parse(b"A1 NOOP"), Marker::None);
    assert_eq!(
        parse(b"A1 LOGIN foo}"),
        Marker::None,
        "`}}` is an ATOM-CHAR"
    );
    assert_eq!(parse(b"A1 X 12}"), Marker::None);
    assert_eq!(parse(b"A1 X {5}}"), Marker::None);
    assert_eq!(parse(b"A1 X {5} "), Marker::None);
    assert_eq!(parse(b"A1 X {5a}"), Marker::None);
    assert_eq!(parse(b"}"), Marker::None);
}

#[test]
fn bad_markers() {
    for line in [
        &b"A {}"[..],
        b"A {+}",
        b"A {+5}",
        b"A {-5}",
        b"A {5-}",
        b"A {5++}",
        b"A {1+2}",
        b"A {123456789012345678901}",
        b"A {18446744073709551616}",
        b"{}",
    ] {
        assert_eq!(
            parse(line),
            Marker::Bad,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn tags() {
    assert_eq!(tag(b"A001 NOOP\r\n", 100).as_deref(), Some("A001"));
    assert_eq!(tag(b"A001\r\n", 100).as_deref(), Some("A001"));
    assert_eq!(tag(b"a]b.c NOOP\n", 100).as_deref(), Some("a]b.c"));
    assert_eq!(tag(b" NOOP\r\n", 100), None);
    assert_eq!(tag(b"A+1 NOOP\r\n", 100), None);
    assert_eq!(tag(b"A*1 NOOP\r\n", 100), None);
    assert_eq!(tag(b"A{1 NOOP\r\n", 100), None);
    assert_eq!(tag(b"\xc3\xa9 NOOP\r\n", 100), None);
    assert_eq!(tag(b"A001", 100), None, "not ended yet");
    assert_eq!(tag(b"A001 NOOP", 4), None, "ends outside the window");
    let long = [b'a'; MAX_TAG];
    let mut line = long.to_vec();
    line.extend_from_slice(b" NOOP\r\n");
    assert_eq!(tag(&line, 1000).map(|t| t.len()), Some(MAX_TAG));
    line.insert(0, b'a');
    assert_eq!(tag(&line, 1000), None, "65 octets is too long");
}
