//! Arbitrary bytes through the SMTP command path: LineFramer (fed in chunks whose sizes come
//! from the input) and parse_command on every line it yields, plus on the raw input.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yubin_proto::smtp::command::parse_command;
use yubin_proto::smtp::line::LineFramer;

fuzz_target!(|data: &[u8]| {
    let Some((&control, data)) = data.split_first() else {
        return;
    };
    let _ = parse_command(data);

    let max_len = usize::from(control % 64);
    let chunk = usize::from(control / 64) * 7 + 1;
    let mut framer = LineFramer::new(max_len);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(line) = framer.next_line(&mut buf) {
            if let Ok(line) = line {
                assert!(line.len() <= max_len);
                if let Err(reply) = parse_command(&line) {
                    assert!((500..600).contains(&reply.code));
                }
            }
        }
        assert!(buf.len() <= max_len + 1 + chunk);
    }
});
