//! The session's view of its selected mailbox, and how store changes reach the client.
//!
//! The view holds the messages the client knows, in sequence order (sequence number = index + 1)
//! with the flags and MODSEQ it was last told. `sync` asks the store for everything after the
//! view's MODSEQ (`MailStore::changes`, a range scan of the MODSEQ index) and reports it:
//! flag changes as `FETCH`, new messages as `EXISTS` (and `RECENT` in rev1), expunges as
//! `EXPUNGE` or, with QRESYNC, `VANISHED`. Expunges are held back while a command that uses
//! sequence numbers runs (RFC 9051 §7.5.1), so the client's numbering never shifts under it.

use std::collections::{BTreeSet, HashSet};

use yubin_proto::imap::command::{SeqNum, SequenceSet};
use yubin_proto::imap::response::write_sequence_set;
use yubin_store::MessageMeta;

use super::session::Session;

/// The selected mailbox as this session sees it.
pub struct Selected {
    /// Store id of the mailbox.
    pub id: u32,
    /// Name as stored.
    pub name: String,
    /// EXAMINE, or a mailbox this session may not change.
    pub read_only: bool,
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// Messages the client knows, in UID (= sequence) order.
    pub messages: Vec<MessageMeta>,
    /// The store MODSEQ this view is synchronized to.
    pub highest_modseq: u64,
    /// UIDNEXT as of the last sync.
    pub uidnext: u32,
    /// UIDs that are \Recent for this session (IMAP4rev1).
    pub recent: HashSet<u32>,
    /// UIDs expunged in the store but not yet reported.
    pub pending_expunge: BTreeSet<u32>,
    /// SEARCHRES saved result (`$`), as UIDs (RFC 5182).
    pub saved: BTreeSet<u32>,
    /// Keywords the client was told of in FLAGS.
    pub keywords: BTreeSet<String>,
}

impl Selected {
    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` for the keywords known now.
    pub fn write_flag_lists(&self, out: &mut Vec<u8>) {
        let mut flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft".to_string();
        for k in &self.keywords {
            flags.push(' ');
            flags.push_str(k);
        }
        out.extend_from_slice(format!("* FLAGS ({flags})\r\n").as_bytes());
        if self.read_only {
            out.extend_from_slice(b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
        } else {
            out.extend_from_slice(
                format!("* OK [PERMANENTFLAGS ({flags} \\*)] Flags permitted\r\n").as_bytes(),
            );
        }
    }

    /// RFC 9051 §7.3.5: when a keyword first appears, FLAGS (and PERMANENTFLAGS) are sent again
    /// before any FETCH that shows it.
    pub fn announce_keywords<'a>(
        &mut self,
        flags: impl IntoIterator<Item = &'a String>,
        out: &mut Vec<u8>,
    ) {
        let mut new = false;
        for f in flags {
            if !f.starts_with('\\') && !self.keywords.contains(f) {
                self.keywords.insert(f.clone());
                new = true;
            }
        }
        if new {
            self.write_flag_lists(out);
        }
    }

    /// Index of a UID in `messages`.
    pub fn index_of(&self, uid: u32) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// The largest UID the client knows, or 0.
    pub fn max_uid(&self) -> u32 {
        self.messages.last().map_or(0, |m| m.uid)
    }

    /// Indices of the messages a set names, ascending and without duplicates. Sequence numbers
    /// beyond EXISTS and UIDs not present are ignored (RFC 9051 §6.4.8 for UIDs; for sequence
    /// numbers the caller has checked the range first).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<usize> {
        let ranges: Vec<(u32, u32)> = match set {
            SequenceSet::Saved => {
                return self
                    .saved
                    .iter()
                    .filter_map(|u| self.index_of(*u))
                    .collect();
            }
            SequenceSet::Ranges(r) => r
                .iter()
                .map(|(a, b)| {
                    let star = if uid {
                        self.max_uid()
                    } else {
                        self.messages.len() as u32
                    };
                    let v = |n: &SeqNum| match n {
                        SeqNum::Value(v) => *v,
                        SeqNum::Star => star,
                    };
                    let (a, b) = (v(a), v(b));
                    (a.min(b), a.max(b))
                })
                .collect(),
        };
        let mut out: Vec<usize> = Vec::new();
        if uid {
            for (lo, hi) in ranges {
                let start = self.messages.partition_point(|m| m.uid < lo);
                let end = self.messages.partition_point(|m| m.uid <= hi);
                out.extend(start..end);
            }
        } else {
            let n = self.messages.len();
            for (lo, hi) in ranges {
                if lo == 0 || n == 0 {
                    continue;
                }
                let lo = lo as usize - 1;
                let hi = (hi as usize).min(n);
                if lo < hi {
                    out.extend(lo..hi);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether a sequence set names only existing sequence numbers (RFC 9051 §9: a number past
    /// EXISTS is an error; `*` in an empty mailbox too).
    pub fn seq_in_range(&self, set: &SequenceSet) -> bool {
        let n = self.messages.len() as u32;
        match set {
            SequenceSet::Saved => true,
            SequenceSet::Ranges(r) => r.iter().all(|(a, b)| {
                [a, b].iter().all(|x| match x {
                    SeqNum::Value(v) => *v <= n,
                    SeqNum::Star => n > 0,
                })
            }),
        }
    }
}

/// Whether `n` (a sequence number or UID, `*` meaning `star`) is in `set`; `$` (SEARCHRES)
/// is the saved UIDs, checked against `uid`.
pub(crate) fn set_contains(
    set: &SequenceSet,
    n: u32,
    star: u32,
    saved: &BTreeSet<u32>,
    uid: u32,
) -> bool {
    match set {
        SequenceSet::Saved => saved.contains(&uid),
        SequenceSet::Ranges(r) => r.iter().any(|(a, b)| {
            let v = |x: &SeqNum| match x {
                SeqNum::Value(v) => *v,
                SeqNum::Star => star,
            };
            let (a, b) = (v(a), v(b));
            (a.min(b)..=a.max(b)).contains(&n)
        }),
    }
}

/// Writes a flag list; `recent` adds \Recent (IMAP4rev1 only, never stored).
pub(crate) fn write_flags(out: &mut Vec<u8>, flags: &[String], recent: bool) {
    out.push(b'(');
    let mut first = true;
    for f in flags
        .iter()
        .map(String::as_str)
        .chain(recent.then_some("\\Recent"))
    {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(f.as_bytes());
    }
    out.push(b')');
}

impl Session {
    /// Reports changes made by others (and deliveries) since the last sync. `may_expunge` is
    /// the command table's verdict for the command in progress.
    pub(crate) async fn sync(&mut self, may_expunge: bool) {
        let Some(account) = self.state.login().map(|l| l.account) else {
            return;
        };
        let qresync = self.enabled.qresync;
        let condstore = self.enabled.condstore;
        let rev2 = self.enabled.rev2;
        let store = self.service.store.clone();
        let Some(sel) = self.state.selected_mut() else {
            return;
        };
        let changes = match store.changes(account, sel.id, sel.highest_modseq) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "sync failed");
                return;
            }
        };
        let mut out = Vec::new();
        for uid in &changes.vanished {
            if sel.index_of(*uid).is_some() {
                sel.pending_expunge.insert(*uid);
            }
        }
        if may_expunge && !sel.pending_expunge.is_empty() {
            let gone: Vec<u32> = std::mem::take(&mut sel.pending_expunge)
                .into_iter()
                .collect();
            if qresync {
                out.extend_from_slice(b"* VANISHED ");
                write_sequence_set(&mut out, &gone);
                out.extend_from_slice(b"\r\n");
                sel.messages.retain(|m| gone.binary_search(&m.uid).is_err());
            } else {
                // Highest first, so each number is right at the moment it is sent and the
                // numbers of the lower ones do not shift; one pass removes them all.
                for uid in gone.iter().rev() {
                    if let Some(i) = sel.index_of(*uid) {
                        out.extend_from_slice(format!("* {} EXPUNGE\r\n", i + 1).as_bytes());
                    }
                }
                sel.messages.retain(|m| gone.binary_search(&m.uid).is_err());
            }
            for uid in &gone {
                sel.recent.remove(uid);
                sel.saved.remove(uid);
            }
        }
        sel.announce_keywords(
            changes.changed.iter().flat_map(|m| m.flags.iter()),
            &mut out,
        );
        let max_known = sel.max_uid();
        let mut new: Vec<MessageMeta> = Vec::new();
        for meta in changes.changed {
            if let Some(i) = sel.index_of(meta.uid) {
                let known = &mut sel.messages[i];
                if known.modseq >= meta.modseq {
                    continue;
                }
                let flags_changed = known.flags != meta.flags;
                *known = meta;
                if flags_changed || condstore {
                    let m = &sel.messages[i];
                    out.extend_from_slice(format!("* {} FETCH (", i + 1).as_bytes());
                    // RFC 7162 §3.1: once CONDSTORE is on, every untagged FETCH carries UID
                    // and MODSEQ, so the client knows which message changed.
                    if condstore {
                        out.extend_from_slice(format!("UID {} ", m.uid).as_bytes());
                    }
                    out.extend_from_slice(b"FLAGS ");
                    let recent = !rev2 && sel.recent.contains(&m.uid);
                    write_flags(&mut out, &m.flags, recent);
                    if condstore {
                        out.extend_from_slice(format!(" MODSEQ ({})", m.modseq).as_bytes());
                    }
                    out.extend_from_slice(b")\r\n");
                }
            } else if meta.uid > max_known {
                new.push(meta);
            }
        }
        if !new.is_empty() {
            new.sort_by_key(|m| m.uid);
            let first_new = new[0].uid;
            sel.messages.extend(new);
            out.extend_from_slice(format!("* {} EXISTS\r\n", sel.messages.len()).as_bytes());
            if !sel.read_only
                && let Ok(from) = store.claim_recent(account, sel.id).await
            {
                for m in &sel.messages {
                    if m.uid >= first_new && m.uid >= from {
                        sel.recent.insert(m.uid);
                    }
                }
            }
            if !rev2 {
                out.extend_from_slice(format!("* {} RECENT\r\n", sel.recent.len()).as_bytes());
            }
        }
        sel.highest_modseq = sel.highest_modseq.max(changes.highest_modseq);
        sel.uidnext = sel.uidnext.max(changes.uidnext);
        self.out.extend_from_slice(&out);
    }
}
