//! Property tests for the SMTP framers, the command parser and [`Address`].
//!
//! Bounded to 2,000 cases each so `cargo test` stays fast; the fuzz targets in `/fuzz` run the
//! same properties for longer.

mod common;

use bytes::BytesMut;
use common::chunks;
use proptest::prelude::*;
use yubin_proto::Address;
use yubin_proto::smtp::command::parse_command;
use yubin_proto::smtp::data::{DataDecoder, DataProgress, dot_stuff};
use yubin_proto::smtp::line::{LineError, LineFramer};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        ..ProptestConfig::default()
    }
}

/// Bytes biased towards the characters framers care about (CR, LF, "."). Mapping plain bytes
/// is much cheaper than a per-byte `prop_oneof!` in unoptimized test builds.
fn wire_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|bytes| {
        bytes
            .into_iter()
            .map(|b| match b {
                200..=219 => b'\r',
                220..=239 => b'\n',
                240..=255 => b'.',
                _ => b,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config())]

    /// (a) The line framer never panics, keeps the buffer bounded, yields only lines within
    /// the limit, and resynchronizes: the lines it returns are exactly the short lines of the
    /// input, whatever the chunking.
    #[test]
    fn line_framer_bounded_and_in_sync(
        data in wire_bytes(600),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        max_len in 0usize..40,
    ) {
        let mut framer = LineFramer::new(max_len);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut largest_chunk = 0;
        for chunk in chunks(&data, &cuts) {
            largest_chunk = largest_chunk.max(chunk.len());
            buf.extend_from_slice(chunk);
            while let Some(item) = framer.next_line(&mut buf) {
                if let Ok(line) = &item {
                    prop_assert!(line.len() <= max_len);
                }
                got.push(item.map(|l| l.to_vec()));
            }
            prop_assert!(buf.len() <= max_len + 1 + largest_chunk);
        }
        // Reference: split on LF, strip one CR, classify by length.
        let mut expected = Vec::new();
        let mut rest = &data[..];
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let mut line = &rest[..pos];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            expected.push(if line.len() > max_len {
                Err(LineError::TooLong)
            } else {
                Ok(line.to_vec())
            });
            rest = &rest[pos + 1..];
        }
        prop_assert_eq!(got, expected);
    }

    /// (b) dot_stuff then DataDecoder, in arbitrary chunks, gives back the message (with a
    /// trailing CRLF ensured) and leaves pipelined bytes after the end marker untouched.
    #[test]
    fn dot_stuff_decode_round_trip(
        lines in prop::collection::vec(
            prop::collection::vec(
                any::<u8>().prop_map(|b| match b {
                    b'\r' | b'\n' | 200..=255 => b'.',
                    _ => b,
                }),
                0..20,
            ),
            0..20,
        ),
        trailing_crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        after in wire_bytes(20),
    ) {
        let mut msg = lines.join(&b"\r\n"[..]);
        if trailing_crlf && !lines.is_empty() {
            msg.extend_from_slice(b"\r\n");
        }
        let mut expected = msg.clone();
        if !expected.is_empty() && !expected.ends_with(b"\r\n") {
            expected.extend_from_slice(b"\r\n");
        }
        let mut wire = dot_stuff(&msg);
        wire.extend_from_slice(&after);

        let mut decoder = DataDecoder::new(usize::MAX);
        let mut out = Vec::new();
        let mut input = BytesMut::new();
        let mut progress = DataProgress::NeedMore;
        for chunk in chunks(&wire, &cuts) {
            input.extend_from_slice(chunk);
            if progress == DataProgress::NeedMore {
                progress = decoder.decode(&mut input, &mut out);
            }
        }
        prop_assert_eq!(progress, DataProgress::Done { too_big: false });
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(decoder.size(), expected.len());
        prop_assert_eq!(&input[..], &after[..]);
    }

    /// DataDecoder on arbitrary input never exceeds max_size and never consumes past the end.
    #[test]
    fn data_decoder_respects_max(
        data in wire_bytes(400),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        max in 0usize..100,
    ) {
        let mut decoder = DataDecoder::new(max);
        let mut out = Vec::new();
        let mut input = BytesMut::new();
        let mut fed = 0;
        for chunk in chunks(&data, &cuts) {
            input.extend_from_slice(chunk);
            fed += chunk.len();
            let before = input.len();
            let progress = decoder.decode(&mut input, &mut out);
            prop_assert!(out.len() <= max);
            match progress {
                DataProgress::NeedMore => prop_assert!(input.is_empty()),
                DataProgress::Done { too_big } => {
                    prop_assert_eq!(too_big, decoder.size() > max);
                    // The consumed part ends with the end marker.
                    let consumed = fed - input.len();
                    prop_assert!(before >= input.len());
                    prop_assert!(data[..consumed].ends_with(b".\r\n"));
                    break;
                }
            }
        }
    }

    /// (c) parse_command never panics, and every error is a well-formed 5xx reply.
    #[test]
    fn parse_command_never_panics(
        line in prop_oneof![
            wire_bytes(200),
            "(?i)(MAIL FROM:|RCPT TO:|EHLO |LHLO |AUTH |BDAT |NOOP )[ -~]{0,80}"
                .prop_map(String::into_bytes),
        ],
    ) {
        if let Err(reply) = parse_command(&line) {
            prop_assert!((500..600).contains(&reply.code));
            let mut wire = Vec::new();
            reply.write_to(&mut wire);
            prop_assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1);
        }
    }

    /// (d) Address::parse never panics, and a parsed address's normalized form parses back to
    /// itself.
    #[test]
    fn address_round_trip(
        s in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9.+\"\\\\ _-]{0,70}@[a-zA-Z0-9.ÄäБб-]{0,70}",
            "\"[ -~]{0,10}\"@[a-z]{1,5}\\.[a-z]{2,3}",
            "[a-z]{1,5}@\\[[0-9.:a-fA-FIPv]{0,20}\\]",
        ],
    ) {
        if let Ok(address) = Address::parse(&s) {
            prop_assert!(address.to_string().len() <= 254);
            let display = Address::parse(&address.to_string());
            prop_assert_eq!(display.as_ref(), Ok(&address));
            let normalized = address.normalized();
            let again = Address::parse(&normalized);
            prop_assert!(again.is_ok(), "{:?} -> {:?}: {:?}", s, normalized, again);
            if let Ok(again) = again {
                prop_assert_eq!(again.normalized(), normalized);
            }
        }
    }
}
