//! Arbitrary bytes through the IMAP CommandFramer and then the command grammar: the parser
//! never panics, every AST range (APPEND data) lies inside its command, error messages are
//! printable ASCII, and a command that parsed parses the same way again.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yubin_proto::imap::framer::{CommandFramer, Frame, FramerLimits};
use yubin_proto::imap::{CommandBody, parse_command};

fuzz_target!(|data: &[u8]| {
    let limits = FramerLimits {
        max_line: 4096,
        max_literal: 4096,
        max_command: 16384,
        literal_minus: false,
    };
    let mut framer = CommandFramer::new(limits);
    let mut buf = BytesMut::from(data);
    while let Some(frame) = framer.next_frame(&mut buf) {
        let Frame::Command { bytes, literals } = frame else {
            continue;
        };
        match parse_command(&bytes, &literals) {
            Ok(cmd) => {
                if let CommandBody::Append { messages, .. } = &cmd.body {
                    for m in messages {
                        assert!(m.data.start <= m.data.end && m.data.end <= bytes.len());
                    }
                }
                let again = parse_command(&bytes, &literals).expect("parsing is deterministic");
                assert_eq!(format!("{cmd:?}"), format!("{again:?}"));
            }
            Err(e) => assert!(e.message.bytes().all(|b| (0x20..0x7f).contains(&b))),
        }
    }
});
