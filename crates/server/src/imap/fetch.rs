//! FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED).
//!
//! Metadata items (FLAGS, UID, INTERNALDATE, RFC822.SIZE, MODSEQ) come from the session's view;
//! ENVELOPE and BODYSTRUCTURE from the message's cached MIME structure; body sections need the
//! message bytes, which are read only when an item asks for them. Fetching a body section
//! without `.PEEK` sets \Seen (in a read-write mailbox), and the new FLAGS are reported in the
//! same FETCH response.

use yubin_proto::imap::bodystructure::body_structure;
use yubin_proto::imap::command::{FetchAttr, Section, SectionText, SequenceSet};
use yubin_proto::imap::envelope::envelope;
use yubin_proto::imap::fetch_body::{BinaryError, binary_section, section_bytes};
use yubin_proto::imap::response::{date_time, write_sequence_set};
use yubin_proto::mime::MessageStructure;
use yubin_store::FlagMode;

use super::errors::Failure;
use super::selected::{set_contains, write_flags};
use super::session::{Done, Outcome, Session};

/// What a FETCH needs per message beyond the metadata.
struct Needs {
    structure: bool,
    bytes: bool,
    sets_seen: bool,
}

fn needs(items: &[FetchAttr]) -> Needs {
    let mut n = Needs {
        structure: false,
        bytes: false,
        sets_seen: false,
    };
    for item in items {
        match item {
            FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => {
                n.structure = true;
            }
            FetchAttr::Rfc822 | FetchAttr::Rfc822Text => {
                n.bytes = true;
                n.structure = true;
                n.sets_seen = true;
            }
            FetchAttr::Rfc822Header => {
                n.bytes = true;
                n.structure = true;
            }
            FetchAttr::BodySection { peek, .. } | FetchAttr::Binary { peek, .. } => {
                n.bytes = true;
                n.structure = true;
                n.sets_seen |= !peek;
            }
            FetchAttr::BinarySize { .. } => {
                n.bytes = true;
                n.structure = true;
            }
            _ => {}
        }
    }
    n
}

/// `BODY[1.2.HEADER.FIELDS (FROM TO)]` as the response labels it.
fn section_label(section: &Section) -> String {
    let mut s = section
        .part
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let text = match &section.text {
        None => None,
        Some(SectionText::Header) => Some("HEADER".to_string()),
        Some(SectionText::Text) => Some("TEXT".to_string()),
        Some(SectionText::Mime) => Some("MIME".to_string()),
        Some(SectionText::HeaderFields(f)) => Some(format!("HEADER.FIELDS ({})", f.join(" "))),
        Some(SectionText::HeaderFieldsNot(f)) => {
            Some(format!("HEADER.FIELDS.NOT ({})", f.join(" ")))
        }
    };
    if let Some(t) = text {
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(&t);
    }
    s
}

/// Writes `data` as a literal (literal8 when it holds NUL, RFC 3516 §4.2).
fn literal(out: &mut Vec<u8>, data: &[u8], binary: bool) {
    if binary && data.contains(&0) {
        out.push(b'~');
    }
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

/// The `<offset.count>` slice of `data`; the label carries only the offset.
fn partial(data: &[u8], partial: Option<(u32, u32)>) -> &[u8] {
    match partial {
        None => data,
        Some((offset, count)) => {
            let start = (offset as usize).min(data.len());
            let end = start.saturating_add(count as usize).min(data.len());
            &data[start..end]
        }
    }
}

fn partial_label(p: Option<(u32, u32)>) -> String {
    p.map(|(o, _)| format!("<{o}>")).unwrap_or_default()
}

impl Session {
    pub(crate) async fn fetch(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        items: &[FetchAttr],
        changed_since: Option<u64>,
        vanished: bool,
    ) -> Outcome {
        let account = self.account()?;
        // RFC 7162 §3.1: CHANGEDSINCE or the MODSEQ item turn CONDSTORE on.
        if changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
            self.enable_condstore();
        }
        if vanished && (!uid || changed_since.is_none() || !self.enabled.qresync) {
            return Err(Failure::bad(
                "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC",
            ));
        }
        let condstore = self.enabled.condstore;
        let rev2 = self.enabled.rev2;
        let store = self.service.store.clone();
        let sel = self.state.selected_for(set, uid)?;
        let need = needs(items);
        let mut indices = sel.resolve(set, uid);
        if let Some(since) = changed_since {
            indices.retain(|&i| sel.messages[i].modseq > since);
        }
        let mut out = Vec::new();
        if vanished && let Some(since) = changed_since {
            let changes = store.changes(account, sel.id, since)?;
            let star = sel.max_uid().max(sel.uidnext);
            let wanted: Vec<u32> = changes
                .vanished
                .into_iter()
                .filter(|u| set_contains(set, *u, star, &sel.saved, *u))
                .collect();
            if !wanted.is_empty() {
                let mut w = wanted;
                w.sort_unstable();
                out.extend_from_slice(b"* VANISHED (EARLIER) ");
                write_sequence_set(&mut out, &w);
                out.extend_from_slice(b"\r\n");
            }
        }
        // Implicit \Seen first, so the FETCH responses carry the new flags.
        let mark_seen = need.sets_seen && !sel.read_only;
        if mark_seen {
            let unseen: Vec<u32> = indices
                .iter()
                .map(|&i| &sel.messages[i])
                .filter(|m| !m.flags.iter().any(|f| f == "\\Seen"))
                .map(|m| m.uid)
                .collect();
            if !unseen.is_empty() {
                let changed = store
                    .store_flags(
                        account,
                        sel.id,
                        &unseen,
                        FlagMode::Add,
                        &["\\Seen".to_string()],
                        None,
                    )
                    .await?;
                for meta in changed.changed {
                    if let Some(i) = sel.index_of(meta.uid) {
                        sel.messages[i].flags = meta.flags;
                        sel.messages[i].modseq = meta.modseq;
                    }
                }
            }
        }
        let mut failed = Vec::new();
        for &i in &indices {
            let meta = &sel.messages[i];
            if sel.pending_expunge.contains(&meta.uid) {
                continue;
            }
            let cached = if need.structure {
                store.message_structure(&meta.blob).unwrap_or_else(|e| {
                    tracing::warn!(uid = meta.uid, error = %e, "cached structure unreadable");
                    None
                })
            } else {
                None
            };
            let bytes = if need.bytes || (need.structure && cached.is_none()) {
                match store.message_bytes(&meta.blob).await {
                    Ok(b) => Some(b),
                    Err(e) => {
                        failed.push((meta.uid, e));
                        continue;
                    }
                }
            } else {
                None
            };
            let structure = match (cached, &bytes) {
                (Some(s), _) => Some(s),
                (None, Some(b)) if need.structure => Some(MessageStructure::analyze(b)),
                _ => None,
            };
            let recent = !rev2 && sel.recent.contains(&meta.uid);
            out.extend_from_slice(b"* ");
            push_num(&mut out, i as u64 + 1);
            out.extend_from_slice(b" FETCH (");
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !first {
                    out.push(b' ');
                }
                first = false;
            };
            let mut wrote_uid = false;
            let mut wrote_flags = false;
            let mut wrote_modseq = false;
            if uid {
                sep(&mut out);
                out.extend_from_slice(b"UID ");
                push_num(&mut out, u64::from(meta.uid));
                wrote_uid = true;
            }
            for item in items {
                match item {
                    FetchAttr::Uid => {
                        if !wrote_uid {
                            sep(&mut out);
                            out.extend_from_slice(b"UID ");
                            push_num(&mut out, u64::from(meta.uid));
                            wrote_uid = true;
                        }
                    }
                    FetchAttr::Flags => {
                        if !wrote_flags {
                            sep(&mut out);
                            out.extend_from_slice(b"FLAGS ");
                            write_flags(&mut out, &meta.flags, recent);
                            wrote_flags = true;
                        }
                    }
                    FetchAttr::ModSeq => {
                        if !wrote_modseq {
                            sep(&mut out);
                            out.extend_from_slice(b"MODSEQ (");
                            push_num(&mut out, meta.modseq);
                            out.push(b')');
                            wrote_modseq = true;
                        }
                    }
                    FetchAttr::InternalDate => {
                        sep(&mut out);
                        out.extend_from_slice(b"INTERNALDATE ");
                        date_time(&mut out, meta.received, 0);
                    }
                    FetchAttr::Rfc822Size => {
                        sep(&mut out);
                        out.extend_from_slice(b"RFC822.SIZE ");
                        push_num(&mut out, meta.size);
                    }
                    FetchAttr::Envelope => {
                        if let Some(s) = &structure {
                            sep(&mut out);
                            out.extend_from_slice(b"ENVELOPE ");
                            envelope(s, &mut out);
                        }
                    }
                    FetchAttr::Body | FetchAttr::BodyStructure => {
                        if let Some(s) = &structure {
                            let ext = matches!(item, FetchAttr::BodyStructure);
                            sep(&mut out);
                            out.extend_from_slice(if ext { b"BODYSTRUCTURE " } else { b"BODY " });
                            body_structure(s, ext, &mut out);
                        }
                    }
                    FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                        if let (Some(b), Some(s)) = (&bytes, &structure) {
                            let (label, text) = match item {
                                FetchAttr::Rfc822 => ("RFC822", None),
                                FetchAttr::Rfc822Header => {
                                    ("RFC822.HEADER", Some(SectionText::Header))
                                }
                                _ => ("RFC822.TEXT", Some(SectionText::Text)),
                            };
                            let section = Section {
                                part: Vec::new(),
                                text,
                            };
                            let data = section_bytes(b, s, &section).unwrap_or_default();
                            sep(&mut out);
                            out.extend_from_slice(label.as_bytes());
                            out.push(b' ');
                            literal(&mut out, &data, false);
                        }
                    }
                    FetchAttr::BodySection {
                        section,
                        partial: p,
                        ..
                    } => {
                        if let (Some(b), Some(s)) = (&bytes, &structure) {
                            let data = section_bytes(b, s, section).unwrap_or_default();
                            sep(&mut out);
                            out.extend_from_slice(
                                format!("BODY[{}]{} ", section_label(section), partial_label(*p))
                                    .as_bytes(),
                            );
                            literal(&mut out, partial(&data, *p), false);
                        }
                    }
                    FetchAttr::Binary {
                        part, partial: p, ..
                    } => {
                        if let (Some(b), Some(s)) = (&bytes, &structure) {
                            match binary_section(b, s, part) {
                                Ok(data) => {
                                    sep(&mut out);
                                    out.extend_from_slice(
                                        format!("BINARY[{}]{} ", join(part), partial_label(*p))
                                            .as_bytes(),
                                    );
                                    literal(&mut out, partial(&data, *p), true);
                                }
                                Err(BinaryError::NoSuchPart) => {
                                    sep(&mut out);
                                    out.extend_from_slice(
                                        format!("BINARY[{}] NIL", join(part)).as_bytes(),
                                    );
                                }
                                Err(_) => {
                                    return Err(Failure::no(
                                        Some("UNKNOWN-CTE"),
                                        "Unknown Content-Transfer-Encoding",
                                    ));
                                }
                            }
                        }
                    }
                    FetchAttr::BinarySize { part } => {
                        if let (Some(b), Some(s)) = (&bytes, &structure) {
                            match binary_section(b, s, part) {
                                Ok(data) => {
                                    sep(&mut out);
                                    out.extend_from_slice(
                                        format!("BINARY.SIZE[{}] {}", join(part), data.len())
                                            .as_bytes(),
                                    );
                                }
                                Err(_) => {
                                    return Err(Failure::no(
                                        Some("UNKNOWN-CTE"),
                                        "Unknown Content-Transfer-Encoding",
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            // \Seen just set implicitly is reported even if FLAGS was not asked for.
            if mark_seen && !wrote_flags {
                sep(&mut out);
                out.extend_from_slice(b"FLAGS ");
                write_flags(&mut out, &meta.flags, recent);
            }
            // RFC 7162 §3.1: a FETCH that set \Seen is a flag change, reported with UID and
            // MODSEQ once CONDSTORE is on.
            if condstore && mark_seen && !wrote_uid {
                sep(&mut out);
                out.extend_from_slice(b"UID ");
                push_num(&mut out, u64::from(meta.uid));
            }
            if condstore && !wrote_modseq && (changed_since.is_some() || mark_seen) {
                sep(&mut out);
                out.extend_from_slice(b"MODSEQ (");
                push_num(&mut out, meta.modseq);
                out.push(b')');
            }
            out.extend_from_slice(b")\r\n");
            if out.len() > 256 * 1024 {
                self.out.extend_from_slice(&out);
                out.clear();
            }
        }
        self.out.extend_from_slice(&out);
        if !failed.is_empty() {
            // A message another session expunged (not yet reported here) may already be purged.
            let expunged = store
                .changes(account, sel.id, sel.highest_modseq)
                .map(|c| failed.iter().all(|(uid, _)| c.vanished.contains(uid)))
                .unwrap_or(false);
            if expunged {
                return Err(Failure::no(
                    Some("EXPUNGEISSUED"),
                    "Some messages were expunged meanwhile",
                ));
            }
            for (uid, e) in &failed {
                tracing::warn!(uid, error = %e, "message body unreadable");
            }
            return Err(Failure::no(
                Some("UNAVAILABLE"),
                "Some messages could not be read, try again",
            ));
        }
        Ok(Done::ok("FETCH completed"))
    }
}

/// Writes a number in decimal: FETCH 1:* on a large mailbox writes several per message, and
/// `format!` would allocate a string for each.
fn push_num(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn join(part: &[u32]) -> String {
    part.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::push_num;

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0u64, 7, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut out = Vec::new();
            push_num(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
