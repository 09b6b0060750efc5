use super::*;

fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    f(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn strings() {
    assert_eq!(
        w(|o| quoted_or_literal(o, b"a \"b\" \\c")),
        r#""a \"b\" \\c""#
    );
    assert_eq!(w(|o| quoted_or_literal(o, b"")), "\"\"");
    assert_eq!(
        w(|o| quoted_or_literal(o, b"two\r\nlines")),
        "{10}\r\ntwo\r\nlines"
    );
    assert_eq!(
        w(|o| quoted_or_literal(o, "caf\u{e9}".as_bytes())),
        "{5}\r\ncaf\u{e9}"
    );
    assert_eq!(
        w(|o| quoted_or_literal_utf8(o, "caf\u{e9}".as_bytes())),
        "\"caf\u{e9}\""
    );
    assert_eq!(w(|o| quoted_or_literal_utf8(o, b"\xff")), "{1}\r\n\u{fffd}");
    assert_eq!(w(|o| quoted_or_literal_utf8(o, b"a\0")), "{2}\r\na\0");
    assert_eq!(w(|o| astring(o, b"INBOX")), "INBOX");
    assert_eq!(w(|o| astring(o, b"a]b")), "a]b");
    assert_eq!(w(|o| astring(o, b"")), "\"\"");
    assert_eq!(w(|o| astring(o, b"Sent Items")), "\"Sent Items\"");
    assert_eq!(w(|o| astring(o, b"50%")), "\"50%\"");
    assert_eq!(w(|o| nstring(o, None)), "NIL");
    assert_eq!(w(|o| nstring(o, Some(b"NIL"))), "\"NIL\"");
}

#[test]
fn sequence_sets() {
    assert_eq!(
        w(|o| write_sequence_set(o, &[1, 2, 3, 5, 7, 8, 9])),
        "1:3,5,7:9"
    );
    assert_eq!(w(|o| write_sequence_set(o, &[4])), "4");
    assert_eq!(w(|o| write_sequence_set(o, &[])), "");
    assert_eq!(w(|o| write_sequence_set(o, &[9, 3, 4, 1])), "9,3:4,1");
    assert_eq!(
        w(|o| write_sequence_set(o, &[u32::MAX - 1, u32::MAX, 1])),
        "4294967294:4294967295,1"
    );
}

#[test]
fn flags() {
    let flags = [Flag("\\Seen".into()), Flag("$Junk".into())];
    assert_eq!(w(|o| write_flags(o, &flags)), "(\\Seen $Junk)");
    assert_eq!(w(|o| write_flags(o, &[])), "()");
}

#[test]
fn date_times() {
    // RFC 9051 §9 example: 17-Jul-1996 02:44:25 -0700 is 09:44:25 UTC.
    assert_eq!(
        w(|o| date_time(o, 837_596_665, -420)),
        "\"17-Jul-1996 02:44:25 -0700\""
    );
    assert_eq!(w(|o| date_time(o, 0, 0)), "\"01-Jan-1970 00:00:00 +0000\"");
    assert_eq!(
        w(|o| date_time(o, 951_782_400, 330)),
        "\"29-Feb-2000 05:30:00 +0530\""
    );
    assert_eq!(w(|o| date_time(o, -1, 0)), "\"31-Dec-1969 23:59:59 +0000\"");
    assert_eq!(
        w(|o| date_time(o, 0, 100_000)),
        "\"01-Jan-1970 23:59:00 +2359\""
    );
    let _ = w(|o| date_time(o, i64::MAX, i32::MIN));
}

/// What the parser reads back is what was written.
#[test]
fn date_time_round_trips_through_the_parser() {
    for (ts, off) in [
        (837_596_665, -420),
        (0, 0),
        (1_700_000_000, 60),
        (4_102_444_799, -59),
    ] {
        let mut wire = b"a APPEND x ".to_vec();
        date_time(&mut wire, ts, off);
        let head_len = wire.len() + " {1}\r\n".len();
        wire.extend_from_slice(b" {1}\r\nz\r\n");
        #[allow(clippy::single_range_in_vec_init)]
        let cmd = crate::imap::parse_command(&wire, &[head_len..head_len + 1]).expect("parses");
        let crate::imap::CommandBody::Append { messages, .. } = cmd.body else {
            panic!("not APPEND");
        };
        let date = messages[0].date.expect("has a date");
        assert_eq!((date.timestamp, date.offset_minutes), (ts, off));
    }
}
