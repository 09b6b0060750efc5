//! Commands that change messages: APPEND (RFC 9051 §6.3.12, RFC 3502 MULTIAPPEND), STORE
//! (§6.4.6, RFC 7162 UNCHANGEDSINCE), EXPUNGE / UID EXPUNGE (RFC 4315), CLOSE, UNSELECT,
//! COPY and MOVE (RFC 6851) with COPYUID and APPENDUID (RFC 4315).

use yubin_proto::imap::command::{AppendMessage, Flag, MailboxName, SequenceSet, StoreMode};
use yubin_proto::imap::response::write_sequence_set;
use yubin_store::{ErrorKind, FlagMode};

use super::errors::{Failure, no_for};
use super::selected::write_flags;
use super::session::{Done, Outcome, Session};
use super::state::State;

/// Flags a client may not set (RFC 9051 §2.3.2: \Recent is the server's).
fn settable(flags: &[Flag]) -> Vec<String> {
    flags
        .iter()
        .map(|f| f.0.clone())
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
        .collect()
}

/// NO [TRYCREATE] for a missing target mailbox (RFC 9051 §7.1), the usual mapping otherwise.
fn target_failure(e: &yubin_store::Error) -> Failure {
    if e.kind() == ErrorKind::NotFound {
        Failure::no(Some("TRYCREATE"), "The target mailbox does not exist")
    } else {
        no_for(e)
    }
}

fn uid_set(uids: &[u32]) -> String {
    let mut out = Vec::new();
    write_sequence_set(&mut out, uids);
    String::from_utf8_lossy(&out).into_owned()
}

impl Session {
    pub(crate) async fn append(
        &mut self,
        mailbox: &MailboxName,
        messages: &[AppendMessage],
        bytes: &[u8],
    ) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        let mut batch = Vec::with_capacity(messages.len());
        for m in messages {
            let data = bytes
                .get(m.data.clone())
                .ok_or_else(|| Failure::bad("APPEND data out of range"))?;
            if data.is_empty() {
                return Err(Failure::no(Some("CANNOT"), "Empty message"));
            }
            if data.len() > self.max_append() {
                return Err(Failure::no(Some("TOOBIG"), "Message too big"));
            }
            batch.push((
                data.to_vec(),
                settable(&m.flags),
                m.date.map(|d| d.timestamp),
            ));
        }
        let (uidvalidity, uids) = if batch.len() == 1 {
            let Some((data, flags, date)) = batch.pop() else {
                return Err(Failure::bad("APPEND without a message"));
            };
            let (v, uid) = self
                .service
                .store
                .append(account, &name, data, flags, date)
                .await
                .map_err(|e| target_failure(&e))?;
            (v, vec![uid])
        } else {
            self.service
                .store
                .append_many(account, &name, batch)
                .await
                .map_err(|e| target_failure(&e))?
        };
        Ok(Done::with_code(
            format!("APPENDUID {uidvalidity} {}", uid_set(&uids)),
            "APPEND completed",
        ))
    }

    pub(crate) async fn store(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag],
    ) -> Outcome {
        let account = self.account()?;
        if unchanged_since.is_some() {
            self.enable_condstore();
        }
        let condstore = self.enabled.condstore;
        let rev2 = self.enabled.rev2;
        let store = self.service.store.clone();
        let sel = self.state.selected_for(set, uid)?;
        if sel.read_only {
            return Err(Failure::no(
                Some("CANNOT"),
                "The mailbox is read-only (EXAMINE)",
            ));
        }
        let indices = sel.resolve(set, uid);
        let uids: Vec<u32> = indices
            .iter()
            .map(|&i| sel.messages[i].uid)
            .filter(|u| !sel.pending_expunge.contains(u))
            .collect();
        let mode = match mode {
            StoreMode::Replace => FlagMode::Set,
            StoreMode::Add => FlagMode::Add,
            StoreMode::Remove => FlagMode::Remove,
        };
        let outcome = store
            .store_flags(
                account,
                sel.id,
                &uids,
                mode,
                &settable(flags),
                unchanged_since,
            )
            .await?;
        let mut out = Vec::new();
        sel.announce_keywords(
            outcome.changed.iter().flat_map(|m| m.flags.iter()),
            &mut out,
        );
        for meta in outcome.changed {
            if let Some(i) = sel.index_of(meta.uid) {
                sel.messages[i].flags = meta.flags;
                sel.messages[i].modseq = meta.modseq;
            }
        }
        let modified: Vec<u32> = outcome.modified;
        for &i in &indices {
            let m = &sel.messages[i];
            if sel.pending_expunge.contains(&m.uid) || modified.contains(&m.uid) {
                continue;
            }
            // RFC 7162 §3.1.3: with UNCHANGEDSINCE the new MODSEQ is reported even for .SILENT.
            if silent && unchanged_since.is_none() {
                continue;
            }
            out.extend_from_slice(format!("* {} FETCH (", i + 1).as_bytes());
            // RFC 7162 §3.1: with CONDSTORE on, STORE's FETCH responses carry UID too.
            if uid || condstore {
                out.extend_from_slice(format!("UID {} ", m.uid).as_bytes());
            }
            if !silent {
                out.extend_from_slice(b"FLAGS ");
                write_flags(&mut out, &m.flags, !rev2 && sel.recent.contains(&m.uid));
                if condstore {
                    out.push(b' ');
                }
            }
            if condstore {
                out.extend_from_slice(format!("MODSEQ ({})", m.modseq).as_bytes());
            }
            out.extend_from_slice(b")\r\n");
        }
        let code = if modified.is_empty() {
            None
        } else if uid {
            Some(format!("MODIFIED {}", uid_set(&modified)))
        } else {
            let mut seqs: Vec<u32> = modified
                .iter()
                .filter_map(|u| sel.index_of(*u).map(|i| i as u32 + 1))
                .collect();
            seqs.sort_unstable();
            Some(format!("MODIFIED {}", uid_set(&seqs)))
        };
        // Our own changes are reported above; the next sync must not repeat them.
        self.out.extend_from_slice(&out);
        Ok(match code {
            Some(c) => Done::with_code(c, "Conditional STORE failed for some messages"),
            None => Done::ok("STORE completed"),
        })
    }

    pub(crate) async fn expunge(&mut self, uids: Option<&SequenceSet>) -> Outcome {
        let account = self.account()?;
        let store = self.service.store.clone();
        let Some(sel) = self.state.selected_mut() else {
            return Err(Failure::bad("No mailbox selected"));
        };
        if sel.read_only {
            return Err(Failure::no(
                Some("CANNOT"),
                "The mailbox is read-only (EXAMINE)",
            ));
        }
        let only: Option<Vec<u32>> = uids.map(|set| {
            sel.resolve(set, true)
                .into_iter()
                .map(|i| sel.messages[i].uid)
                .collect()
        });
        let removed = store.expunge(account, sel.id, only.as_deref()).await?;
        for uid in removed {
            sel.pending_expunge.insert(uid);
        }
        Ok(Done::ok("EXPUNGE completed"))
    }

    /// CLOSE (expunge silently, RFC 9051 §6.4.1) or UNSELECT (RFC 3691).
    pub(crate) async fn close(&mut self, expunge: bool) -> Outcome {
        let account = self.account()?;
        let State::Selected(login, sel) = std::mem::replace(&mut self.state, State::Logout) else {
            return Err(Failure::bad("No mailbox selected"));
        };
        self.state = State::Authenticated(login);
        if expunge && !sel.read_only {
            self.service.store.expunge(account, sel.id, None).await?;
        }
        Ok(Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        }))
    }

    pub(crate) async fn copy_or_move(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mailbox: &MailboxName,
        moving: bool,
    ) -> Outcome {
        let account = self.account()?;
        let target = self.mailbox_name(mailbox)?;
        let store = self.service.store.clone();
        let sel = self.state.selected_for(set, uid)?;
        if moving && sel.read_only {
            return Err(Failure::no(
                Some("CANNOT"),
                "The mailbox is read-only (EXAMINE)",
            ));
        }
        let uids: Vec<u32> = sel
            .resolve(set, uid)
            .into_iter()
            .map(|i| sel.messages[i].uid)
            .filter(|u| !sel.pending_expunge.contains(u))
            .collect();
        if uids.is_empty() {
            return Ok(Done::ok(if moving {
                "MOVE completed (no messages)"
            } else {
                "COPY completed (no messages)"
            }));
        }
        let outcome = if moving {
            store.move_messages(account, sel.id, &uids, &target).await
        } else {
            store.copy_messages(account, sel.id, &uids, &target).await
        }
        .map_err(|e| target_failure(&e))?;
        let (src, dst): (Vec<u32>, Vec<u32>) = outcome.pairs.iter().copied().unzip();
        let code = format!(
            "COPYUID {} {} {}",
            outcome.uidvalidity,
            uid_set(&src),
            uid_set_ordered(&dst)
        );
        if moving {
            // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
            self.out
                .extend_from_slice(format!("* OK [{code}] Moved\r\n").as_bytes());
            for u in src {
                sel.pending_expunge.insert(u);
            }
            return Ok(Done::ok("MOVE completed"));
        }
        Ok(Done::with_code(code, "COPY completed"))
    }
}

/// Destination UIDs in the order of the source set (RFC 4315 §3: the two sets correspond
/// element by element), so they are written without reordering.
fn uid_set_ordered(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            end = uids[i + 1];
            i += 1;
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}
