// Literal ranges are data here, not ranges to expand.
#![allow(clippy::single_range_in_vec_init)]

use super::*;

fn drain(framer: &mut CommandFramer, buf: &mut BytesMut) -> Vec<Frame> {
    std::iter::from_fn(|| framer.next_frame(buf)).collect()
}

/// Feeds `input` in pieces cut at `cuts` and collects every frame.
fn feed(limits: FramerLimits, pieces: &[&[u8]]) -> (Vec<Frame>, BytesMut) {
    let mut framer = CommandFramer::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        out.extend(drain(&mut framer, &mut buf));
        assert!(
            buf.len() <= limits.max_line + 1,
            "buffer holds {}",
            buf.len()
        );
    }
    (out, buf)
}

fn cmd(bytes: &[u8], literals: Vec<Range<usize>>) -> Frame {
    Frame::Command {
        bytes: Bytes::copy_from_slice(bytes),
        literals,
    }
}

fn malformed(tag: &str, reason: &'static str) -> Frame {
    Frame::Malformed {
        tag: Some(tag.to_owned()),
        reason,
    }
}

fn small(max_line: usize, max_literal: usize, max_command: usize) -> FramerLimits {
    FramerLimits {
        max_line,
        max_literal,
        max_command,
        literal_minus: false,
    }
}

const MESSAGE: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

/// RFC 9051 §6.3.12 APPEND example: one continuation, then the message and the final CRLF.
#[test]
fn rfc9051_append_transcript() {
    assert_eq!(MESSAGE.len(), 326);
    let mut f = CommandFramer::new(FramerLimits::default());
    let mut buf = BytesMut::from(&b"A003 APPEND saved-messages (\\Seen) {326}\r\n"[..]);
    assert_eq!(drain(&mut f, &mut buf), vec![Frame::NeedContinuation]);
    assert!(buf.is_empty());
    buf.extend_from_slice(MESSAGE);
    assert_eq!(drain(&mut f, &mut buf), vec![]);
    buf.extend_from_slice(b"\r\nA004 NOOP\r\n");
    let head = b"A003 APPEND saved-messages (\\Seen) {326}\r\n";
    let mut whole = head.to_vec();
    whole.extend_from_slice(MESSAGE);
    whole.extend_from_slice(b"\r\n");
    let range = head.len()..head.len() + 326;
    assert_eq!(
        drain(&mut f, &mut buf),
        vec![cmd(&whole, vec![range]), cmd(b"A004 NOOP\r\n", vec![])]
    );
}

/// RFC 7888 §3 LITERAL+ example: no continuations, two literals in one command.
#[test]
fn rfc7888_literal_plus_transcript() {
    let input = b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n";
    let (frames, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(frames, vec![cmd(input, vec![18..29, 36..43])]);
    assert_eq!(&input[18..29], b"FRED FOOBAR");
    assert_eq!(&input[36..43], b"fat man");
}

#[test]
fn literal_data_is_opaque() {
    let input = b"A1 X {12}\r\nab\r\n{3}\r\nxy\n\r\n";
    let (frames, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(
        frames,
        vec![Frame::NeedContinuation, cmd(input, vec![11..23])]
    );
}

#[test]
fn literal8_and_empty_literal() {
    let input = b"A1 APPEND INBOX ~{2}\r\n\0\xff {0}\r\n\r\n";
    let (frames, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(
        frames,
        vec![
            Frame::NeedContinuation,
            Frame::NeedContinuation,
            cmd(input, vec![22..24, 30..30])
        ]
    );
}

#[test]
fn every_split_point_gives_the_same_frames() {
    let input: &[u8] = b"A1 LOGIN {3}\r\nabc {4+}\r\n{5}\r\r\nA2 NOOP\nA3 X ~{2}\r\n\r\n\r\n";
    let (expected, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(expected.len(), 5, "{expected:?}");
    for cut in 0..=input.len() {
        let (frames, rest) = feed(FramerLimits::default(), &[&input[..cut], &input[cut..]]);
        assert_eq!(frames, expected, "cut at {cut}");
        assert!(rest.is_empty());
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(FramerLimits::default(), &bytes).0, expected);
}

#[test]
fn bare_lf_lines() {
    let input = b"A1 NOOP\nA2 LOGIN {1}\nx {1+}\ny\n";
    let (frames, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(
        frames,
        vec![
            cmd(b"A1 NOOP\n", vec![]),
            Frame::NeedContinuation,
            cmd(b"A2 LOGIN {1}\nx {1+}\ny\n", vec![13..14, 20..21]),
        ]
    );
}

#[test]
fn too_big_sync_literal_is_refused_before_data() {
    let limits = small(100, 10, 1000);
    let input = b"A1 APPEND INBOX {11}\r\nA2 NOOP\r\n";
    let (frames, _) = feed(limits, &[input]);
    assert_eq!(
        frames,
        vec![
            Frame::LiteralTooBig {
                tag: Some("A1".into())
            },
            cmd(b"A2 NOOP\r\n", vec![]),
        ]
    );
    // Over max_command, counting the lines and earlier literals too.
    let limits = small(100, 100, 30);
    let input = b"A1 X {5+}\r\nabcde {10}\r\nA2 NOOP\r\n";
    let (frames, _) = feed(limits, &[input]);
    assert_eq!(
        frames,
        vec![
            Frame::LiteralTooBig {
                tag: Some("A1".into())
            },
            cmd(b"A2 NOOP\r\n", vec![]),
        ]
    );
    // Exactly at the limits is fine.
    let (frames, _) = feed(small(100, 5, 100), &[b"A1 X {5}\r\nabcde\r\n"]);
    assert_eq!(frames.len(), 2);
}

#[test]
fn too_big_non_sync_literal_is_skipped_exactly() {
    let limits = small(100, 10, 1000);
    // The refused literal's data looks like commands and a marker; the rest of the command
    // has another non-sync literal, then the command ends.
    let mut input = b"A1 APPEND INBOX {20+}\r\n".to_vec();
    input.extend_from_slice(b"Z1 NOOP\r\nZ2 X {3+}\r\n");
    input.extend_from_slice(b" (x) {2+}\r\n\r\n the rest\r\nA2 NOOP\r\n");
    let expected = vec![
        malformed("A1", reason::LITERAL_TOO_BIG),
        cmd(b"A2 NOOP\r\n", vec![]),
    ];
    assert_eq!(feed(limits, &[&input]).0, expected);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(limits, &bytes).0, expected);
}

#[test]
fn huge_non_sync_literal_is_not_buffered() {
    let limits = small(100, 1000, 10_000);
    let mut f = CommandFramer::new(limits);
    let mut buf = BytesMut::from(&b"A1 X {1000000+}\r\n"[..]);
    assert_eq!(
        drain(&mut f, &mut buf),
        vec![malformed("A1", reason::LITERAL_TOO_BIG)]
    );
    for _ in 0..1000 {
        buf.extend_from_slice(&[b'\n'; 1000]);
        assert_eq!(f.next_frame(&mut buf), None);
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"\r\nA2 NOOP\r\n");
    assert_eq!(drain(&mut f, &mut buf), vec![cmd(b"A2 NOOP\r\n", vec![])]);
}

#[test]
fn literal_minus_caps_non_sync_literals() {
    let limits = FramerLimits {
        literal_minus: true,
        ..FramerLimits::default()
    };
    let ok = [
        b"A1 X {4096+}\r\n".to_vec(),
        vec![b'x'; 4096],
        b"\r\n".to_vec(),
    ]
    .concat();
    assert_eq!(feed(limits, &[&ok]).0.len(), 1);
    let big = [
        b"A1 X {4097+}\r\n".to_vec(),
        vec![b'x'; 4097],
        b"\r\nA2 NOOP\r\n".to_vec(),
    ]
    .concat();
    assert_eq!(
        feed(limits, &[&big]).0,
        vec![
            malformed("A1", reason::LITERAL_TOO_BIG),
            cmd(b"A2 NOOP\r\n", vec![])
        ]
    );
    // Synchronizing literals are not affected.
    let sync = [
        b"A1 X {4097}\r\n".to_vec(),
        vec![b'x'; 4097],
        b"\r\n".to_vec(),
    ]
    .concat();
    assert_eq!(feed(limits, &[&sync]).0.len(), 2);
}

#[test]
fn over_long_line_then_resync() {
    let limits = small(10, 100, 1000);
    let input = b"A1 NOOP 1234567890\r\nA2 NOOP\r\n";
    let expected = vec![
        malformed("A1", reason::LINE_TOO_LONG),
        cmd(b"A2 NOOP\r\n", vec![]),
    ];
    assert_eq!(feed(limits, &[input]).0, expected);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(limits, &bytes).0, expected);
    // Exactly max_line, with the CR arriving before the LF, is accepted.
    let (frames, _) = feed(limits, &[b"A1 NOOP xy\r", b"\n"]);
    assert_eq!(frames, vec![cmd(b"A1 NOOP xy\r\n", vec![])]);
}

#[test]
fn over_long_line_across_reads_is_not_buffered() {
    let limits = small(10, 100, 1000);
    let mut f = CommandFramer::new(limits);
    let mut buf = BytesMut::from(&b"A1 "[..]);
    assert_eq!(f.next_frame(&mut buf), None);
    let mut frames = Vec::new();
    for _ in 0..100 {
        buf.extend_from_slice(b"xxxxxxxx");
        frames.extend(drain(&mut f, &mut buf));
        assert!(buf.len() <= 11);
    }
    // The over-long line ends in a non-sync literal: the client sends it, we skip it.
    buf.extend_from_slice(b" {4+}\r\nA9 X\r\nA2 NOOP\r\n");
    frames.extend(drain(&mut f, &mut buf));
    assert_eq!(
        frames,
        vec![
            malformed("A1", reason::LINE_TOO_LONG),
            cmd(b"A2 NOOP\r\n", vec![])
        ]
    );
}

#[test]
fn over_long_line_with_sync_marker_ends_the_command() {
    let limits = small(10, 100, 1000);
    let (frames, _) = feed(limits, &[b"A1 NOOP xxxxxxx {4}\r\nA2 NOOP\r\n"]);
    assert_eq!(
        frames,
        vec![
            malformed("A1", reason::LINE_TOO_LONG),
            cmd(b"A2 NOOP\r\n", vec![])
        ]
    );
}

#[test]
fn over_long_continuation_line_keeps_the_tag() {
    let limits = small(10, 100, 1000);
    let (frames, _) = feed(limits, &[b"A1 X {2+}\r\nab 12345678901\r\nA2 NOOP\r\n"]);
    assert_eq!(
        frames,
        vec![
            malformed("A1", reason::LINE_TOO_LONG),
            cmd(b"A2 NOOP\r\n", vec![])
        ]
    );
}

#[test]
fn command_too_long_by_lines() {
    let limits = small(20, 100, 24);
    let (frames, _) = feed(limits, &[b"A1 X {1+}\r\na more texts\r\nA2 NOOP\r\n"]);
    assert_eq!(
        frames,
        vec![
            malformed("A1", reason::COMMAND_TOO_LONG),
            cmd(b"A2 NOOP\r\n", vec![])
        ]
    );
}

#[test]
fn bad_markers_end_the_command() {
    let input = b"A1 X {}\r\n* X {-1}\r\nA3 X {99999999999999999999999}\r\nA4 NOOP {x}\r\n";
    let (frames, _) = feed(FramerLimits::default(), &[input]);
    assert_eq!(
        frames,
        vec![
            malformed("A1", reason::BAD_LITERAL),
            Frame::Malformed {
                tag: None,
                reason: reason::BAD_LITERAL
            },
            malformed("A3", reason::BAD_LITERAL),
            cmd(b"A4 NOOP {x}\r\n", vec![]),
        ]
    );
}

#[test]
fn empty_and_untagged_lines_are_commands() {
    let (frames, _) = feed(FramerLimits::default(), &[b"\r\n\n+ x\r\n"]);
    assert_eq!(
        frames,
        vec![
            cmd(b"\r\n", vec![]),
            cmd(b"\n", vec![]),
            cmd(b"+ x\r\n", vec![])
        ]
    );
}

#[test]
fn next_line_for_idle_and_authenticate() {
    let mut f = CommandFramer::new(small(8, 100, 1000));
    let mut buf = BytesMut::from(&b"A1 IDLE\r\nDONE\r\nAGVzdA==\nA2 NOOP {1+}\r\n"[..]);
    assert_eq!(f.next_frame(&mut buf), Some(cmd(b"A1 IDLE\r\n", vec![])));
    assert_eq!(
        f.next_line(&mut buf),
        Some(Ok(BytesMut::from(&b"DONE"[..])))
    );
    assert_eq!(
        f.next_line(&mut buf),
        Some(Ok(BytesMut::from(&b"AGVzdA=="[..])))
    );
    assert_eq!(f.next_line(&mut buf), Some(Err(LineTooLong)));
    // The rest of the over-long line is dropped; markers mean nothing in plain lines.
    buf.extend_from_slice(b"x\r\nDONE\r\n");
    assert_eq!(f.next_line(&mut buf), Some(Ok(BytesMut::from(&b"x"[..]))));
    assert_eq!(
        f.next_line(&mut buf),
        Some(Ok(BytesMut::from(&b"DONE"[..])))
    );
    assert_eq!(f.next_line(&mut buf), None);
}

#[test]
fn next_line_over_long_across_reads() {
    let mut f = CommandFramer::new(small(4, 100, 1000));
    let mut buf = BytesMut::from(&b"abcdef"[..]);
    assert_eq!(f.next_line(&mut buf), Some(Err(LineTooLong)));
    buf.extend_from_slice(b"ghij");
    assert_eq!(f.next_line(&mut buf), None);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"\r\nDONE\r\n");
    assert_eq!(
        f.next_line(&mut buf),
        Some(Ok(BytesMut::from(&b"DONE"[..])))
    );
}
