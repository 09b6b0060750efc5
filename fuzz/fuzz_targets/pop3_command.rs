//! Arbitrary bytes through the POP3 wire format. The command path: next_line (fed in chunks
//! whose sizes come from the input, discarding too-long lines as a session does) and
//! parse_command on every line and on the raw input: no panic, lines within the limit, the
//! buffer bounded, errors printable. The response path: write_multiline, crlf_size and top on
//! the same bytes: every output line ends CRLF, un-stuffing gives the body back with CRLF
//! endings, its size before stuffing is crlf_size, and TOP is a prefix.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yubin_proto::pop3::line::{discard_line, next_line};
use yubin_proto::pop3::multiline::{crlf_size, top, write_multiline};
use yubin_proto::pop3::parse_command;

fn check_command(line: &[u8]) {
    match parse_command(line) {
        Ok(cmd) => {
            let again = parse_command(line).expect("parsing is deterministic");
            assert_eq!(format!("{cmd:?}"), format!("{again:?}"));
        }
        Err(e) => assert!(e.message.bytes().all(|b| (0x20..0x7f).contains(&b))),
    }
}

fn check_framing(data: &[u8], max: usize, chunk: usize) {
    let mut buf = BytesMut::new();
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
                    assert!(line.len() <= max);
                    assert!(!line.contains(&b'\n'));
                    check_command(&line);
                }
                Some(Err(_)) => discarding = true,
            }
        }
        assert!(buf.len() <= max + 1);
    }
}

/// Every line ending as CRLF, a final one added, byte by byte.
fn crlf_normalised(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() * 2);
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

fn check_multiline(body: &[u8]) {
    let mut out = Vec::new();
    write_multiline(&mut out, body);
    let mut unstuffed = Vec::with_capacity(out.len());
    let mut rest = &out[..];
    let mut ended = false;
    while !rest.is_empty() {
        assert!(!ended, "data after the terminating dot line");
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("every line ends CRLF");
        let line = &rest[..end];
        rest = &rest[end + 2..];
        assert!(
            !line.contains(&b'\r') && !line.contains(&b'\n'),
            "bare CR or LF"
        );
        if line == b"." {
            ended = true;
            continue;
        }
        unstuffed.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        unstuffed.extend_from_slice(b"\r\n");
    }
    assert!(ended, "no terminating dot line");
    let normalised = crlf_normalised(body);
    assert_eq!(unstuffed, normalised);
    assert_eq!(crlf_size(body), normalised.len() as u64);

    let lines = body.first().map_or(0, |&b| u32::from(b % 8));
    let t = top(body, lines);
    assert!(body.starts_with(t));
    assert!(top(body, lines + 1).starts_with(t));
    assert_eq!(top(body, u32::MAX), body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, data)) = data.split_first() else {
        return;
    };
    check_command(data);
    let max = usize::from(control % 64);
    let chunk = usize::from(control / 64) * 7 + 1;
    check_framing(data, max, chunk);
    check_multiline(data);
});
