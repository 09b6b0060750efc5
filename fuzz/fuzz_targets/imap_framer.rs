//! Arbitrary bytes through the IMAP CommandFramer, fed in chunks whose sizes come from the
//! input, with input-chosen limits: literal ranges lie inside their command, commands respect
//! max_command, the buffer stays bounded, and the frames do not depend on the chunking.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yubin_proto::imap::framer::{CommandFramer, Frame, FramerLimits};

fn run(limits: FramerLimits, data: &[u8], chunk: usize) -> Vec<Frame> {
    let mut framer = CommandFramer::new(limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next_frame(&mut buf) {
            if let Frame::Command { bytes, literals } = &frame {
                assert!(bytes.len() <= limits.max_command);
                let mut end = 0;
                for range in literals {
                    assert!(end <= range.start && range.end <= bytes.len());
                    assert!(range.len() <= limits.max_literal);
                    end = range.end;
                }
            }
            frames.push(frame);
        }
        assert!(buf.len() <= limits.max_line + 1);
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b, c], data)) = data.split_first_chunk::<3>() else {
        return;
    };
    let limits = FramerLimits {
        max_line: usize::from(a % 128),
        max_literal: usize::from(b & 0x7f) * 4,
        max_command: usize::from(c) * 8,
        literal_minus: b & 0x80 != 0,
    };
    let chunk = usize::from(a / 128) * 13 + usize::from(c % 7) + 1;
    let whole = run(limits, data, data.len().max(1));
    let chunked = run(limits, data, chunk);
    assert_eq!(whole, chunked);
});
