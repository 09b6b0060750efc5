//! Known-answer tests for [`super::DataDecoder`] and [`super::dot_stuff`].

use bytes::BytesMut;

use super::*;

/// Feeds `wire` in one piece; returns (progress, output, leftover input).
fn decode_all(max: usize, wire: &[u8]) -> (DataProgress, Vec<u8>, Vec<u8>) {
    let mut d = DataDecoder::new(max);
    let mut input = BytesMut::from(wire);
    let mut out = Vec::new();
    let p = d.decode(&mut input, &mut out);
    (p, out, input.to_vec())
}

/// Feeds `wire` one byte at a time; returns (progress, output, leftover input).
fn decode_bytewise(max: usize, wire: &[u8]) -> (DataProgress, Vec<u8>, Vec<u8>) {
    let mut d = DataDecoder::new(max);
    let mut out = Vec::new();
    let mut input = BytesMut::new();
    for (i, &b) in wire.iter().enumerate() {
        input.extend_from_slice(&[b]);
        let p = d.decode(&mut input, &mut out);
        if p != DataProgress::NeedMore {
            input.extend_from_slice(&wire[i + 1..]);
            return (p, out, input.to_vec());
        }
    }
    (DataProgress::NeedMore, out, input.to_vec())
}

fn done(too_big: bool) -> DataProgress {
    DataProgress::Done { too_big }
}

#[test]
fn rfc5321_simple_message() {
    let wire = b"Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n";
    let (p, out, rest) = decode_all(1000, wire);
    assert_eq!(p, done(false));
    assert_eq!(out, b"Subject: hi\r\n\r\nHello\r\n");
    assert_eq!(rest, b"QUIT\r\n", "pipelined command stays in input");
    assert_eq!(decode_bytewise(1000, wire), (p, out, rest));
}

#[test]
fn empty_message() {
    let (p, out, rest) = decode_all(10, b".\r\nQUIT\r\n");
    assert_eq!(p, done(false));
    assert!(out.is_empty());
    assert_eq!(rest, b"QUIT\r\n");
}

#[test]
fn leading_dots_are_removed() {
    let wire = b"..hidden\r\n...\r\n.\rx\r\nx.y\r\n.\r\n";
    let (p, out, _) = decode_all(1000, wire);
    assert_eq!(p, done(false));
    assert_eq!(out, b".hidden\r\n..\r\n\rx\r\nx.y\r\n");
    // "." CRLF in the middle ended the data: only the first line was the message.
    let (p, out, rest) = decode_all(1000, b"..hidden\r\n.\r\n");
    assert_eq!(
        (p, out, rest),
        (done(false), b".hidden\r\n".to_vec(), vec![])
    );
}

#[test]
fn dot_line_after_text_ends_data() {
    let (p, out, rest) = decode_all(1000, b"a\r\n.\r\n");
    assert_eq!((p, out, rest), (done(false), b"a\r\n".to_vec(), vec![]));
}

#[test]
fn bare_lf_is_normalized_and_never_ends_data() {
    // "\n.\n", "\r\n.\n" and "\n.\r\n" are not end markers (SMTP smuggling).
    let wire = b"a\n.\nb\r\n.\nc\n.\r\nd\r\n.\r\n";
    let (p, out, rest) = decode_all(1000, wire);
    assert_eq!(p, done(false));
    assert_eq!(out, b"a\r\n\r\nb\r\n\r\nc\r\n\r\nd\r\n");
    assert!(rest.is_empty());
    assert_eq!(decode_bytewise(1000, wire), (p, out, rest));
}

#[test]
fn smuggled_second_message_stays_inside_the_first() {
    let wire = b"x\r\n\n.\nMAIL FROM:<evil@x>\r\n.\r\n";
    let (p, out, rest) = decode_all(1000, wire);
    assert_eq!(p, done(false));
    assert_eq!(out, b"x\r\n\r\n\r\nMAIL FROM:<evil@x>\r\n");
    assert!(rest.is_empty());
}

#[test]
fn bare_cr_is_kept() {
    let (p, out, _) = decode_all(1000, b"a\rb\r\r\n.\r\r\n.\r\n");
    assert_eq!(p, done(false));
    assert_eq!(out, b"a\rb\r\r\n\r\r\n");
}

#[test]
fn end_marker_split_at_every_boundary() {
    let wire = b"hello\r\n..x\r\n.\r\nNOOP\r\n";
    for cut1 in 0..=wire.len() {
        for cut2 in cut1..=wire.len() {
            let mut d = DataDecoder::new(1000);
            let mut out = Vec::new();
            let mut input = BytesMut::new();
            let mut p = DataProgress::NeedMore;
            for part in [&wire[..cut1], &wire[cut1..cut2], &wire[cut2..]] {
                input.extend_from_slice(part);
                p = d.decode(&mut input, &mut out);
            }
            assert_eq!(p, done(false), "cuts {cut1} {cut2}");
            assert_eq!(out, b"hello\r\n.x\r\n");
            assert_eq!(&input[..], b"NOOP\r\n");
        }
    }
}

#[test]
fn too_big_keeps_consuming_until_end() {
    let wire = b"0123456789\r\nabcdef\r\n.\r\nQUIT\r\n";
    let mut d = DataDecoder::new(12);
    let mut input = BytesMut::from(&wire[..]);
    let mut out = Vec::new();
    assert_eq!(d.decode(&mut input, &mut out), done(true));
    assert_eq!(out, b"0123456789\r\n");
    assert_eq!(d.size(), 20);
    assert!(d.is_too_big());
    assert_eq!(&input[..], b"QUIT\r\n");
}

#[test]
fn exactly_max_size_is_not_too_big() {
    let (p, out, _) = decode_all(3, b"a\r\n.\r\n");
    assert_eq!((p, out), (done(false), b"a\r\n".to_vec()));
    let (p, out, _) = decode_all(2, b"a\r\n.\r\n");
    assert_eq!(p, done(true));
    assert!(out.len() <= 2);
}

#[test]
fn need_more_and_done_is_sticky() {
    let mut d = DataDecoder::new(100);
    let mut out = Vec::new();
    let mut input = BytesMut::from(&b"abc\r\n."[..]);
    assert_eq!(d.decode(&mut input, &mut out), DataProgress::NeedMore);
    assert!(input.is_empty());
    input.extend_from_slice(b"\r\nRSET\r\n");
    assert_eq!(d.decode(&mut input, &mut out), done(false));
    assert_eq!(d.decode(&mut input, &mut out), done(false));
    assert_eq!(&input[..], b"RSET\r\n");
    assert_eq!(out, b"abc\r\n");
}

#[test]
fn dot_stuff_known_answers() {
    assert_eq!(dot_stuff(b""), b".\r\n");
    assert_eq!(dot_stuff(b"a"), b"a\r\n.\r\n");
    assert_eq!(dot_stuff(b"a\r\n"), b"a\r\n.\r\n");
    assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
    assert_eq!(dot_stuff(b".a\r\nb\r\n.."), b"..a\r\nb\r\n...\r\n.\r\n");
    assert_eq!(dot_stuff(b"\r\n"), b"\r\n.\r\n");
    // Bare LF and bare CR become CRLF on the way out.
    assert_eq!(dot_stuff(b"a\n.\nb\rc"), b"a\r\n..\r\nb\r\nc\r\n.\r\n");
}

#[test]
fn dot_stuff_then_decode_round_trips() {
    let msg = b"From: a\r\n\r\n.\r\n..\r\n.x\r\nend\r\n";
    let (p, out, rest) = decode_all(1000, &dot_stuff(msg));
    assert_eq!(p, done(false));
    assert_eq!(out, msg);
    assert!(rest.is_empty());
}

// Found by the smtp_data fuzz target: the truncated output used to depend on chunking.
#[test]
fn truncated_output_is_the_same_prefix_for_any_chunking() {
    let wire = b"\0\xf4\xe4\0\r\n.\r\n";
    let whole = decode_all(4, wire);
    assert_eq!(whole.0, done(true));
    assert_eq!(whole.1, b"\0\xf4\xe4\0");
    assert_eq!(decode_bytewise(4, wire), whole);
}
