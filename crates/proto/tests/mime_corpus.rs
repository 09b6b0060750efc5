//! Every message of the MIME corpus through analyze, the ENVELOPE / BODYSTRUCTURE writers and
//! BODY[section]: well-formed IMAP out, sections inside the message, JSON round trip exact.
//!
//! The corpus lives outside the project: `$YUBIN_MIME_CORPUS`, else
//! `<workspace>/../shared/corpus/mime`. Without it the test prints a note and passes.

mod imap_syntax;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use yubin_proto::imap::bodystructure::body_structure;
use yubin_proto::imap::envelope::envelope;
use yubin_proto::imap::fetch_body::{binary_section, section_bytes};
use yubin_proto::imap::section::{Section, SectionText};
use yubin_proto::mime::search::{SEARCH_TEXT_LIMIT, search_text};
use yubin_proto::mime::{MessageStructure, Part, PartBody};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("YUBIN_MIME_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/mime"),
    }
}

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            eml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

/// Every part number path the structure names, with the part it names.
fn paths<'s>(s: &'s MessageStructure, prefix: &[u32], out: &mut Vec<(Vec<u32>, &'s Part)>) {
    match &s.root.body {
        PartBody::Multipart(children) => {
            for (i, child) in children.iter().enumerate() {
                part_paths(child, &[prefix, &[i as u32 + 1]].concat(), out);
            }
        }
        _ => part_paths(&s.root, &[prefix, &[1]].concat(), out),
    }
}

fn part_paths<'s>(p: &'s Part, path: &[u32], out: &mut Vec<(Vec<u32>, &'s Part)>) {
    out.push((path.to_vec(), p));
    match &p.body {
        PartBody::Multipart(children) => {
            for (i, child) in children.iter().enumerate() {
                part_paths(child, &[path, &[i as u32 + 1]].concat(), out);
            }
        }
        // Part 1 of the attached message may be its body: the same part again.
        PartBody::Message(m) => paths(m, path, out),
        PartBody::Basic => {}
    }
}

fn check_offsets(p: &Part, lo: usize, hi: usize, name: &Path) {
    assert!(
        lo <= p.header_start
            && p.header_start <= p.body_start
            && p.body_start <= p.end
            && p.end <= hi,
        "{}: part offsets {}..{}..{} outside {lo}..{hi}",
        name.display(),
        p.header_start,
        p.body_start,
        p.end
    );
    match &p.body {
        PartBody::Multipart(children) => {
            for c in children {
                check_offsets(c, p.body_start, p.end, name);
            }
        }
        PartBody::Message(m) => check_offsets(&m.root, p.body_start, p.end, name),
        PartBody::Basic => {}
    }
}

#[allow(
    clippy::ptr_arg,
    reason = "the variant matters: only borrowed bytes have an address to check"
)]
fn inside(message: &[u8], bytes: &Cow<'_, [u8]>) -> bool {
    match bytes {
        Cow::Borrowed(b) => {
            let start = message.as_ptr() as usize;
            let at = b.as_ptr() as usize;
            at >= start && at + b.len() <= start + message.len()
        }
        // Built answers (HEADER.FIELDS) are checked by content elsewhere.
        Cow::Owned(_) => true,
    }
}

#[test]
fn corpus_messages() {
    let dir = corpus_dir();
    let mut files = Vec::new();
    eml_files(&dir, &mut files);
    if files.is_empty() {
        println!(
            "note: no MIME corpus at {}; set YUBIN_MIME_CORPUS",
            dir.display()
        );
        return;
    }
    files.sort();
    for file in &files {
        let message = std::fs::read(file).expect("corpus file is readable");
        let s = MessageStructure::analyze(&message);
        check_offsets(&s.root, 0, message.len(), file);
        assert_eq!((s.root.header_start, s.root.end), (0, message.len()));

        let mut out = Vec::new();
        envelope(&s, &mut out);
        imap_syntax::check_value(&out).unwrap_or_else(|e| {
            panic!(
                "{}: ENVELOPE {e}: {}",
                file.display(),
                String::from_utf8_lossy(&out)
            )
        });
        for ext in [false, true] {
            let mut out = Vec::new();
            body_structure(&s, ext, &mut out);
            imap_syntax::check_value(&out).unwrap_or_else(|e| {
                panic!(
                    "{}: BODYSTRUCTURE {e}: {}",
                    file.display(),
                    String::from_utf8_lossy(&out)
                )
            });
        }

        let mut all = Vec::new();
        paths(&s, &[], &mut all);
        for (path, part) in &all {
            let section = |text| Section {
                part: path.clone(),
                text,
            };
            let body = section_bytes(&message, &s, &section(None))
                .unwrap_or_else(|| panic!("{}: BODY[{path:?}] missing", file.display()));
            assert!(
                inside(&message, &body),
                "{}: {path:?} outside",
                file.display()
            );
            assert_eq!(body.len(), part.size(), "{}: {path:?}", file.display());
            let mime = section_bytes(&message, &s, &section(Some(SectionText::Mime)))
                .unwrap_or_else(|| panic!("{}: BODY[{path:?}.MIME] missing", file.display()));
            assert!(inside(&message, &mime));
            if part.message().is_some() {
                for text in [SectionText::Header, SectionText::Text] {
                    let got = section_bytes(&message, &s, &section(Some(text)));
                    assert!(
                        got.is_some_and(|b| inside(&message, &b)),
                        "{}: {path:?}",
                        file.display()
                    );
                }
            }
            let _ = binary_section(&message, &s, path);
        }
        for text in [
            SectionText::Header,
            SectionText::Text,
            SectionText::HeaderFields(vec!["subject".into(), "from".into()]),
            SectionText::HeaderFieldsNot(vec!["received".into()]),
        ] {
            let section = Section {
                part: Vec::new(),
                text: Some(text),
            };
            let got = section_bytes(&message, &s, &section).expect("top-level sections exist");
            assert!(inside(&message, &got));
        }
        let _ = search_text(&message, &s, SEARCH_TEXT_LIMIT);

        let json = serde_json::to_string(&s).expect("structure serializes");
        let back: MessageStructure = serde_json::from_str(&json).expect("JSON reads back");
        assert_eq!(back, s, "{}: JSON round trip", file.display());
    }
    println!("checked {} corpus messages", files.len());
}
