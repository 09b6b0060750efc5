//! Tests for [`super::next_line`] and [`super::discard_line`].

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;

/// Every line `next_line` yields from `buf`, discarding too-long ones as a session would.
fn lines(buf: &mut BytesMut, max: usize) -> Vec<Result<Vec<u8>, LineError>> {
    let mut out = Vec::new();
    while let Some(r) = next_line(buf, max) {
        match r {
            Ok(line) => out.push(Ok(line.to_vec())),
            Err(e) => {
                out.push(Err(e));
                if !discard_line(buf) {
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn crlf_and_bare_lf() {
    let mut buf = BytesMut::from(&b"USER mrose\r\nPASS x y\nSTAT"[..]);
    assert_eq!(
        lines(&mut buf, MAX_LINE),
        vec![Ok(b"USER mrose".to_vec()), Ok(b"PASS x y".to_vec())]
    );
    assert_eq!(&buf[..], b"STAT", "an incomplete line waits for more");
    buf.extend_from_slice(b"\r\n");
    assert_eq!(lines(&mut buf, MAX_LINE), vec![Ok(b"STAT".to_vec())]);
    assert!(buf.is_empty());
}

#[test]
fn empty_line_and_crlf_split_across_reads() {
    let mut buf = BytesMut::from(&b"\r\nQUIT\r"[..]);
    assert_eq!(lines(&mut buf, 4), vec![Ok(Vec::new())]);
    assert_eq!(&buf[..], b"QUIT\r");
    buf.extend_from_slice(b"\n");
    assert_eq!(lines(&mut buf, 4), vec![Ok(b"QUIT".to_vec())]);
}

#[test]
fn only_the_final_cr_is_stripped() {
    let mut buf = BytesMut::from(&b"NOOP\r\r\n"[..]);
    assert_eq!(lines(&mut buf, 10), vec![Ok(b"NOOP\r".to_vec())]);
}

#[test]
fn exactly_max_is_accepted() {
    let mut buf = BytesMut::from(&b"QUIT\r"[..]);
    assert_eq!(
        next_line(&mut buf, 4),
        None,
        "max octets and a CR may still end well"
    );
    buf.extend_from_slice(b"\n");
    assert_eq!(
        next_line(&mut buf, 4),
        Some(Ok(BytesMut::from(&b"QUIT"[..])))
    );
    let mut buf = BytesMut::from(&b"QUIT\n"[..]);
    assert_eq!(
        next_line(&mut buf, 4),
        Some(Ok(BytesMut::from(&b"QUIT"[..])))
    );
}

#[test]
fn too_long_with_its_lf_present() {
    let mut buf = BytesMut::from(&b"NOOPS\r\nQUIT\r\n"[..]);
    assert_eq!(next_line(&mut buf, 4), Some(Err(LineError::TooLong)));
    assert_eq!(buf.len(), 13, "nothing consumed on error");
    assert!(discard_line(&mut buf));
    assert_eq!(&buf[..], b"QUIT\r\n");
    assert_eq!(lines(&mut buf, 4), vec![Ok(b"QUIT".to_vec())]);
}

#[test]
fn too_long_is_known_before_its_lf_and_never_buffered() {
    let mut buf = BytesMut::from(&b"QUITX"[..]);
    assert_eq!(next_line(&mut buf, 4), Some(Err(LineError::TooLong)));
    let mut buf = BytesMut::from(&b"abcdef"[..]);
    assert_eq!(next_line(&mut buf, 4), Some(Err(LineError::TooLong)));
    assert!(!discard_line(&mut buf));
    assert!(buf.is_empty());
    for _ in 0..100 {
        buf.extend_from_slice(b"xxxxxxxx");
        assert!(!discard_line(&mut buf));
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"xx\r\nRSET\r\n");
    assert!(discard_line(&mut buf));
    assert_eq!(lines(&mut buf, 4), vec![Ok(b"RSET".to_vec())]);
}

#[test]
fn line_error_displays() {
    assert_eq!(LineError::TooLong.to_string(), "line too long");
}

proptest! {
    /// Chunking never changes the lines, lines never exceed `max`, and the buffer never
    /// holds more than `max` + 1 octets without a decision.
    #[test]
    fn chunking_does_not_matter(
        data in proptest::collection::vec(prop::sample::select(b"ab\r\n".to_vec()), 0..200),
        max in 0usize..12,
        chunk in 1usize..20,
    ) {
        let whole = lines(&mut BytesMut::from(&data[..]), max);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut discarding = false;
        for piece in data.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                if discarding {
                    if !discard_line(&mut buf) {
                        break;
                    }
                    discarding = false;
                }
                match next_line(&mut buf, max) {
                    None => break,
                    Some(Ok(line)) => {
                        prop_assert!(line.len() <= max);
                        prop_assert!(!line.contains(&b'\n'));
                        got.push(Ok(line.to_vec()));
                    }
                    Some(Err(e)) => {
                        got.push(Err(e));
                        discarding = true;
                    }
                }
            }
            prop_assert!(buf.len() <= max + 1);
        }
        // `lines` stops at a too-long line without LF; so does the chunked run at the end.
        prop_assert_eq!(got, whole);
    }
}
