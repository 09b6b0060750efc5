//! Arbitrary bytes through MessageStructure::analyze, the ENVELOPE / BODYSTRUCTURE writers,
//! BODY[section] / BINARY and the search helpers: no panic, one well-formed IMAP value out,
//! BINARY.SIZE equal to BINARY's length, and an exact JSON round trip of the structure.
//! The first input byte picks the part numbers tried.

#![no_main]

#[path = "../../crates/proto/tests/imap_syntax/mod.rs"]
mod imap_syntax;

use libfuzzer_sys::fuzz_target;
use yubin_proto::imap::bodystructure::body_structure;
use yubin_proto::imap::envelope::envelope;
use yubin_proto::imap::fetch_body::{binary_section, binary_size, section_bytes};
use yubin_proto::imap::section::{Section, SectionText};
use yubin_proto::mime::MessageStructure;
use yubin_proto::mime::search::{base_subject, header_values, search_text, sent_date, thread_ids};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, message)) = data.split_first() else {
        return;
    };
    let s = MessageStructure::analyze(message);
    let mut out = Vec::new();
    envelope(&s, &mut out);
    assert!(imap_syntax::check_value(&out).is_ok());
    for ext in [false, true] {
        let mut out = Vec::new();
        body_structure(&s, ext, &mut out);
        assert!(imap_syntax::check_value(&out).is_ok());
    }
    let part: Vec<u32> = [pick & 3, (pick >> 2) & 3, (pick >> 4) & 3]
        .iter()
        .take(usize::from(pick >> 6))
        .map(|&n| u32::from(n))
        .collect();
    for text in [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec!["subject".into()])),
    ] {
        let section = Section {
            part: part.clone(),
            text,
        };
        let _ = section_bytes(message, &s, &section);
    }
    let binary = binary_section(message, &s, &part).map(|b| b.len() as u64);
    assert_eq!(binary, binary_size(message, &s, &part));
    let _ = search_text(message, &s, 4096);
    for subject in header_values(message, "subject") {
        let _ = base_subject(&subject);
    }
    let _ = sent_date(&s);
    let _ = thread_ids(message, &s);
    let json = serde_json::to_string(&s).expect("structure serializes");
    let back: MessageStructure = serde_json::from_str(&json).expect("JSON reads back");
    assert_eq!(back, s);
});
