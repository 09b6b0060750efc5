//! Property tests for the IMAP command framer.
//!
//! Bounded to 1,000 cases each so `cargo test` stays fast; the `imap_framer` fuzz target in
//! `/fuzz` checks the same invariants for longer.

mod common;

use common::chunks;
use std::ops::Range;

use bytes::BytesMut;
use proptest::prelude::*;
use yubin_proto::imap::framer::{CommandFramer, Frame, FramerLimits};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1_000,
        ..ProptestConfig::default()
    }
}

/// Bytes biased towards what the framer cares about: CR, LF, braces, digits and `+`.
fn wire_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|bytes| {
        bytes
            .into_iter()
            .map(|b| match b {
                160..=179 => b'\r',
                180..=199 => b'\n',
                200..=209 => b'{',
                210..=219 => b'}',
                220..=229 => b'+',
                230..=249 => b'0' + (b % 10),
                250..=255 => b' ',
                _ => b,
            })
            .collect()
    })
}

/// Feeds `pieces` one after another, collecting frames; checks the buffer bound after each.
fn run(limits: FramerLimits, pieces: &[&[u8]]) -> Result<Vec<Frame>, TestCaseError> {
    let mut framer = CommandFramer::new(limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next_frame(&mut buf) {
            frames.push(frame);
        }
        prop_assert!(
            buf.len() <= limits.max_line + 1,
            "buffer holds {}",
            buf.len()
        );
    }
    Ok(frames)
}

/// One literal of a generated command: its kind, its data and the line text after it.
#[derive(Debug, Clone)]
struct Literal {
    kind: u8,
    data: Vec<u8>,
    text: String,
}

/// A generated valid command: first line text, then literals each followed by more text.
#[derive(Debug, Clone)]
struct Command {
    head: String,
    literals: Vec<Literal>,
}

/// Line text that cannot end in a marker (no `}`) nor hold a line ending.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ()\\[\\]\"+{~-]{0,30}"
}

fn command() -> impl Strategy<Value = Command> {
    let literal = (0u8..3, wire_bytes(200), text()).prop_map(|(kind, data, text)| Literal {
        kind,
        data,
        text,
    });
    (
        "[A-Za-z0-9.]{1,10}",
        text(),
        prop::collection::vec(literal, 0..4),
    )
        .prop_map(|(tag, rest, literals)| Command {
            head: format!("{tag} {rest}"),
            literals,
        })
}

impl Command {
    /// The wire form, the literal ranges in it, and how many `+` continuations it needs.
    fn serialize(&self, bare_lf: bool) -> (Vec<u8>, Vec<Range<usize>>, usize) {
        let eol: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
        let mut out = self.head.clone().into_bytes();
        let mut ranges = Vec::new();
        let mut sync = 0;
        for lit in &self.literals {
            let marker = match lit.kind {
                0 => format!(" {{{}}}", lit.data.len()),
                1 => format!(" {{{}+}}", lit.data.len()),
                _ => format!(" ~{{{}}}", lit.data.len()),
            };
            sync += usize::from(lit.kind != 1);
            out.extend_from_slice(marker.as_bytes());
            out.extend_from_slice(eol);
            ranges.push(out.len()..out.len() + lit.data.len());
            out.extend_from_slice(&lit.data);
            out.extend_from_slice(lit.text.as_bytes());
        }
        out.extend_from_slice(eol);
        (out, ranges, sync)
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes, arbitrarily split: no panic, the buffer stays bounded, commands and
    /// their literal ranges respect the limits, and the frames do not depend on the chunking.
    #[test]
    fn arbitrary_bytes_bounded_and_chunking_independent(
        data in wire_bytes(800),
        cuts in prop::collection::vec(any::<usize>(), 0..30),
        max_line in 0usize..60,
        max_literal in 0usize..100,
        max_command in 0usize..300,
        literal_minus in any::<bool>(),
    ) {
        let limits = FramerLimits { max_line, max_literal, max_command, literal_minus };
        let whole = run(limits, &[&data])?;
        let chunked = run(limits, &chunks(&data, &cuts))?;
        prop_assert_eq!(&chunked, &whole);
        for frame in &whole {
            if let Frame::Command { bytes, literals } = frame {
                prop_assert!(bytes.len() <= max_command);
                prop_assert!(bytes.ends_with(b"\n"));
                let mut end = 0;
                for range in literals {
                    prop_assert!(end <= range.start && range.end <= bytes.len());
                    prop_assert!(range.len() <= max_literal);
                    end = range.end;
                }
            }
        }
    }

    /// Valid commands with literals, serialized and fed in random chunks, come back as exactly
    /// those commands with the right literal ranges and one continuation per `{n}`/`~{n}`.
    #[test]
    fn valid_commands_round_trip(
        commands in prop::collection::vec(command(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..30),
        bare_lf in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for command in &commands {
            let (bytes, ranges, sync) = command.serialize(bare_lf);
            wire.extend_from_slice(&bytes);
            expected.extend(std::iter::repeat_n(None, sync));
            expected.push(Some((bytes, ranges)));
        }
        let frames = run(FramerLimits::default(), &chunks(&wire, &cuts))?;
        let got: Vec<_> = frames
            .into_iter()
            .map(|frame| match frame {
                Frame::NeedContinuation => Ok(None),
                Frame::Command { bytes, literals } => Ok(Some((bytes.to_vec(), literals))),
                other => Err(format!("{other:?}")),
            })
            .collect::<Result<_, _>>()
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(got, expected);
    }
}
