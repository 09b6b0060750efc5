//! Arbitrary bytes through the DATA decoder in input-chosen chunk sizes: output never exceeds
//! max_size, the result does not depend on chunking, and dot_stuff of the output round trips.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yubin_proto::smtp::data::{DataDecoder, DataProgress, dot_stuff};

fn decode(data: &[u8], chunk: usize, max: usize) -> (DataProgress, Vec<u8>, Vec<u8>) {
    let mut decoder = DataDecoder::new(max);
    let mut out = Vec::new();
    let mut input = BytesMut::new();
    let mut progress = DataProgress::NeedMore;
    for piece in data.chunks(chunk) {
        input.extend_from_slice(piece);
        if progress == DataProgress::NeedMore {
            progress = decoder.decode(&mut input, &mut out);
            assert!(out.len() <= max);
        }
    }
    (progress, out, input.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control % 32) + 1;
    let max = usize::from(control) * 4;
    let (progress, out, rest) = decode(data, chunk, max);
    let (whole_progress, whole_out, whole_rest) = decode(data, data.len().max(1), max);
    assert_eq!((progress, &out, &rest), (whole_progress, &whole_out, &whole_rest));

    if progress == (DataProgress::Done { too_big: false }) {
        // The decoded message has only CRLF line ends (bare CRs aside), so stuffing it again
        // and decoding must give it back unchanged.
        let (again, again_out, again_rest) = decode(&dot_stuff(&out), chunk, usize::MAX);
        assert_eq!(again, DataProgress::Done { too_big: false });
        if !out.contains(&b'\r') || out.windows(2).all(|w| w[0] != b'\r' || w[1] == b'\n') {
            assert_eq!(again_out, out);
        }
        assert!(again_rest.is_empty());
    }
});
