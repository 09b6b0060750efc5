//! Mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST, LSUB, STATUS,
//! and the QUOTA commands (RFC 9051 §6.3, RFC 5258, RFC 5819, RFC 6154, RFC 7162, RFC 9208).

use std::collections::BTreeMap;

use yubin_proto::imap::command::{
    ListReturn, ListSelection, MailboxName, SPECIAL_USE, SelectParams, StatusItem,
};
use yubin_proto::imap::response::{quoted_or_literal, write_sequence_set};
use yubin_store::MailboxInfo;

use super::errors::Failure;
use super::selected::Selected;
use super::session::{Done, Outcome, Session};
use super::state::State;

/// One name a LIST may return, with what is known about it.
#[derive(Default)]
struct Entry {
    exists: bool,
    subscribed: bool,
    has_children: bool,
    subscribed_child: bool,
    special_use: Option<String>,
}

impl Session {
    pub(crate) async fn select(
        &mut self,
        mailbox: &MailboxName,
        params: SelectParams,
        examine: bool,
    ) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
        let login = match std::mem::replace(&mut self.state, State::Logout) {
            State::Selected(login, _) => {
                if self.enabled.qresync || self.enabled.condstore {
                    self.out
                        .extend_from_slice(b"* OK [CLOSED] Previous mailbox closed\r\n");
                }
                login
            }
            State::Authenticated(login) => login,
            other => {
                self.state = other;
                return Err(Failure::bad("Not authenticated"));
            }
        };
        self.state = State::Authenticated(login.clone());
        if params.condstore || params.qresync.is_some() {
            self.enabled.condstore = true;
        }
        if params.qresync.is_some() && !self.enabled.qresync {
            return Err(Failure::bad(
                "QRESYNC must be enabled first (ENABLE QRESYNC)",
            ));
        }
        let view = self.service.store.select(account, &name)?;
        let recent_from = if examine {
            u32::MAX
        } else {
            self.service
                .store
                .claim_recent(account, view.id)
                .await
                .unwrap_or(u32::MAX)
        };
        let mut sel = Selected {
            id: view.id,
            name: view.name.clone(),
            read_only: examine,
            uidvalidity: view.uidvalidity,
            recent: view
                .messages
                .iter()
                .filter(|m| m.uid >= recent_from)
                .map(|m| m.uid)
                .collect(),
            messages: view.messages,
            highest_modseq: view.highest_modseq,
            uidnext: view.uidnext,
            pending_expunge: Default::default(),
            saved: Default::default(),
            keywords: Default::default(),
        };
        if examine {
            // EXAMINE shows \Recent without claiming it (RFC 3501 §6.3.2).
            let recent = self
                .service
                .store
                .status(account, &name)
                .map_or(0, |st| st.recent as usize);
            let n = sel.messages.len();
            sel.recent = sel.messages[n.saturating_sub(recent)..]
                .iter()
                .map(|m| m.uid)
                .collect();
        }
        let rev2 = self.enabled.rev2;
        let mut out = Vec::new();
        sel.keywords = sel
            .messages
            .iter()
            .flat_map(|m| m.flags.iter())
            .filter(|f| !f.starts_with('\\'))
            .cloned()
            .collect();
        sel.write_flag_lists(&mut out);
        out.extend_from_slice(format!("* {} EXISTS\r\n", sel.messages.len()).as_bytes());
        if !rev2 {
            out.extend_from_slice(format!("* {} RECENT\r\n", sel.recent.len()).as_bytes());
            if let Some(i) = sel
                .messages
                .iter()
                .position(|m| !m.flags.iter().any(|f| f == "\\Seen"))
            {
                out.extend_from_slice(
                    format!("* OK [UNSEEN {}] First unseen\r\n", i + 1).as_bytes(),
                );
            }
        }
        out.extend_from_slice(
            format!("* OK [UIDVALIDITY {}] UIDs valid\r\n", sel.uidvalidity).as_bytes(),
        );
        out.extend_from_slice(
            format!("* OK [UIDNEXT {}] Predicted next UID\r\n", sel.uidnext).as_bytes(),
        );
        out.extend_from_slice(
            format!(
                "* OK [HIGHESTMODSEQ {}] Highest\r\n",
                sel.highest_modseq.max(1)
            )
            .as_bytes(),
        );
        if rev2 {
            out.extend_from_slice(b"* LIST () \"/\" ");
            quoted_or_literal(&mut out, &self.wire_name(&sel.name));
            out.extend_from_slice(b"\r\n");
        }
        // RFC 7162 §3.2.5: QRESYNC reports what changed since the client's state.
        if let Some(q) = &params.qresync
            && q.uidvalidity == sel.uidvalidity
        {
            let changes = self.service.store.changes(account, sel.id, q.modseq)?;
            let mut vanished: Vec<u32> = changes
                .vanished
                .iter()
                .copied()
                .filter(|u| *u < sel.uidnext)
                .collect();
            vanished.sort_unstable();
            if !vanished.is_empty() {
                out.extend_from_slice(b"* VANISHED (EARLIER) ");
                write_sequence_set(&mut out, &vanished);
                out.extend_from_slice(b"\r\n");
            }
            for meta in &changes.changed {
                if let Some(i) = sel.index_of(meta.uid) {
                    out.extend_from_slice(
                        format!("* {} FETCH (UID {} FLAGS (", i + 1, meta.uid).as_bytes(),
                    );
                    out.extend_from_slice(meta.flags.join(" ").as_bytes());
                    out.extend_from_slice(format!(") MODSEQ ({}))\r\n", meta.modseq).as_bytes());
                }
            }
        }
        sel.saved.clear();
        self.out.extend_from_slice(&out);
        self.state = State::Selected(login, Box::new(sel));
        Ok(Done::with_code(
            if examine { "READ-ONLY" } else { "READ-WRITE" },
            format!("{} completed", if examine { "EXAMINE" } else { "SELECT" }),
        ))
    }

    pub(crate) async fn create(
        &mut self,
        mailbox: &MailboxName,
        special_use: &[String],
    ) -> Outcome {
        let account = self.account()?;
        let mut name = self.mailbox_name(mailbox)?;
        // RFC 9051 §6.3.4: a trailing separator only says the client intends children.
        while name.ends_with('/') {
            name.pop();
        }
        if name == "INBOX" {
            return Err(Failure::no(Some("ALREADYEXISTS"), "INBOX always exists"));
        }
        let mut special = None;
        for attr in special_use {
            match SPECIAL_USE.iter().find(|s| s.eq_ignore_ascii_case(attr)) {
                Some(s) if special.is_none() => special = Some(*s),
                _ => {
                    return Err(Failure::no(
                        Some("USEATTR"),
                        format!("Special-use attribute {attr} not supported here"),
                    ));
                }
            }
        }
        self.service
            .store
            .create_mailbox(account, &name, special)
            .await?;
        Ok(Done::ok("CREATE completed"))
    }

    pub(crate) async fn delete(&mut self, mailbox: &MailboxName) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        if name == "INBOX" {
            return Err(Failure::no(Some("CANNOT"), "INBOX cannot be deleted"));
        }
        self.service.store.delete_mailbox(account, &name).await?;
        if let State::Selected(_, sel) = &self.state
            && sel.name == name
        {
            if let State::Selected(login, _) = std::mem::replace(&mut self.state, State::Logout) {
                self.state = State::Authenticated(login);
            }
            self.out
                .extend_from_slice(b"* OK [CLOSED] The selected mailbox was deleted\r\n");
        }
        Ok(Done::ok("DELETE completed"))
    }

    pub(crate) async fn rename(&mut self, from: &MailboxName, to: &MailboxName) -> Outcome {
        let account = self.account()?;
        let from = self.mailbox_name(from)?;
        let mut to = self.mailbox_name(to)?;
        while to.ends_with('/') {
            to.pop();
        }
        self.service
            .store
            .rename_mailbox(account, &from, &to)
            .await?;
        Ok(Done::ok("RENAME completed"))
    }

    pub(crate) async fn subscribe(&mut self, mailbox: &MailboxName, on: bool) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        self.service
            .store
            .set_subscribed(account, &name, on)
            .await?;
        Ok(Done::ok(if on {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        }))
    }

    /// Every name LIST could report: existing mailboxes, subscriptions, and the parents implied
    /// by hierarchy.
    fn mailbox_tree(&self, account: u64) -> Result<BTreeMap<String, Entry>, Failure> {
        let boxes: Vec<MailboxInfo> = self.service.store.mailboxes_by_id(account)?;
        let subs = self.service.store.subscriptions(account)?;
        let mut tree: BTreeMap<String, Entry> = BTreeMap::new();
        for b in boxes {
            let e = tree.entry(b.name.clone()).or_default();
            e.exists = true;
            e.special_use = b.record.special_use.clone();
        }
        for s in subs {
            tree.entry(canonical(&s)).or_default().subscribed = true;
        }
        let names: Vec<(String, bool, bool)> = tree
            .iter()
            .map(|(n, e)| (n.clone(), e.exists, e.subscribed))
            .collect();
        for (name, exists, subscribed) in names {
            let mut parent = name.as_str();
            while let Some((p, _)) = parent.rsplit_once('/') {
                let e = tree.entry(p.to_string()).or_default();
                if exists {
                    e.has_children = true;
                }
                if subscribed {
                    e.subscribed_child = true;
                }
                parent = p;
            }
        }
        Ok(tree)
    }

    pub(crate) fn list(
        &mut self,
        reference: &[u8],
        patterns: &[Vec<u8>],
        selection: &ListSelection,
        returns: &ListReturn,
    ) -> Outcome {
        let account = self.account()?;
        // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
        if patterns.len() == 1 && patterns[0].is_empty() && !selection.subscribed {
            self.out
                .extend_from_slice(b"* LIST (\\Noselect) \"/\" \"\"\r\n");
            return Ok(Done::ok("LIST completed"));
        }
        // A reference or pattern that is not valid modified UTF-7 matches no mailbox name; LIST
        // still succeeds (RFC 9051 §6.3.9 lists what matches, which is nothing).
        let mut pats = Vec::new();
        if let Ok(reference) = self.decode_pattern(reference) {
            for p in patterns {
                if let Ok(p) = self.decode_pattern(p) {
                    pats.push(canonical(&format!("{reference}{p}")));
                }
            }
        }
        let tree = self.mailbox_tree(account)?;
        let rev2 = self.enabled.rev2;
        let show_subscribed = selection.subscribed || returns.subscribed;
        let mut out = Vec::new();
        for (name, e) in &tree {
            if !pats.iter().any(|p| matches(p, name)) {
                continue;
            }
            if selection.subscribed
                && !(e.subscribed || (selection.recursive_match && e.subscribed_child))
            {
                continue;
            }
            if selection.special_use && e.special_use.is_none() {
                continue;
            }
            if !e.exists && !e.has_children && !selection.subscribed {
                continue;
            }
            let mut attrs: Vec<&str> = Vec::new();
            if !e.exists {
                attrs.push(if rev2 || selection.subscribed {
                    "\\NonExistent"
                } else {
                    "\\Noselect"
                });
            }
            attrs.push(if e.has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if show_subscribed && e.subscribed {
                attrs.push("\\Subscribed");
            }
            if let Some(su) = &e.special_use {
                attrs.push(su);
            }
            out.extend_from_slice(format!("* LIST ({}) \"/\" ", attrs.join(" ")).as_bytes());
            quoted_or_literal(&mut out, &self.wire_name(name));
            if selection.recursive_match
                && selection.subscribed
                && e.subscribed_child
                && !e.subscribed
            {
                out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            out.extend_from_slice(b"\r\n");
            if let Some(items) = &returns.status
                && e.exists
                && let Ok(line) = self.status_line(account, name, items)
            {
                out.extend_from_slice(&line);
            }
        }
        self.out.extend_from_slice(&out);
        Ok(Done::ok("LIST completed"))
    }

    pub(crate) fn lsub(&mut self, reference: &[u8], pattern: &[u8]) -> Outcome {
        let account = self.account()?;
        let (Ok(reference), Ok(pattern)) =
            (self.decode_pattern(reference), self.decode_pattern(pattern))
        else {
            return Ok(Done::ok("LSUB completed"));
        };
        let pattern = canonical(&format!("{reference}{pattern}"));
        let tree = self.mailbox_tree(account)?;
        let mut out = Vec::new();
        for (name, e) in &tree {
            if !matches(&pattern, name) {
                continue;
            }
            // RFC 3501 §6.3.9: a parent of a subscribed name that `%` reaches is \Noselect.
            let attrs = if e.subscribed {
                if e.exists { "" } else { "\\Noselect" }
            } else if e.subscribed_child && pattern.ends_with('%') {
                "\\Noselect"
            } else {
                continue;
            };
            out.extend_from_slice(format!("* LSUB ({attrs}) \"/\" ").as_bytes());
            quoted_or_literal(&mut out, &self.wire_name(name));
            out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(&out);
        Ok(Done::ok("LSUB completed"))
    }

    fn decode_pattern(&self, raw: &[u8]) -> Result<String, Failure> {
        self.mailbox_name(&MailboxName(raw.to_vec()))
    }

    pub(crate) fn status(&mut self, mailbox: &MailboxName, items: &[StatusItem]) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        let line = self.status_line(account, &name, items)?;
        self.out.extend_from_slice(&line);
        Ok(Done::ok("STATUS completed"))
    }

    fn status_line(
        &self,
        account: u64,
        name: &str,
        items: &[StatusItem],
    ) -> Result<Vec<u8>, Failure> {
        let st = self.service.store.status(account, name)?;
        let mut parts = Vec::new();
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", st.messages),
                StatusItem::Recent => format!("RECENT {}", st.recent),
                StatusItem::UidNext => format!("UIDNEXT {}", st.uidnext),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", st.uidvalidity),
                StatusItem::Unseen => format!("UNSEEN {}", st.unseen),
                StatusItem::Deleted => format!("DELETED {}", st.deleted),
                StatusItem::Size => format!("SIZE {}", st.size),
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", st.highest_modseq.max(1)),
                StatusItem::AppendLimit => {
                    format!("APPENDLIMIT {}", self.service.config.max_message_size)
                }
            });
        }
        let mut out = b"* STATUS ".to_vec();
        quoted_or_literal(&mut out, &self.wire_name(name));
        out.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        Ok(out)
    }

    /// Quota roots: "" is the account, the domain name is the tenant's shared quota. Only roots
    /// with a limit exist: RFC 9208 §5.1 grammar needs at least one resource per QUOTA
    /// response, and an unlimited root has none to report.
    fn quota_roots(&self, account: u64) -> Result<Vec<(String, u64, u64)>, Failure> {
        let q = self.service.store.quota(account)?;
        Ok([
            (String::new(), q.used, q.limit),
            (q.domain, q.domain_used, q.domain_limit),
        ]
        .into_iter()
        .filter(|(_, _, limit)| *limit > 0)
        .collect())
    }

    fn quota_line(out: &mut Vec<u8>, root: &str, used: u64, limit: u64) {
        // RFC 9208 §5.1: STORAGE is in units of 1024 octets.
        out.extend_from_slice(b"* QUOTA ");
        quoted_or_literal(out, root.as_bytes());
        out.extend_from_slice(
            format!(" (STORAGE {} {})\r\n", used.div_ceil(1024), limit / 1024).as_bytes(),
        );
    }

    pub(crate) fn get_quota(&mut self, root: &[u8]) -> Outcome {
        let account = self.account()?;
        let root = String::from_utf8_lossy(root).into_owned();
        let roots = self.quota_roots(account)?;
        let Some((name, used, limit)) =
            roots.iter().find(|(r, _, _)| r.eq_ignore_ascii_case(&root))
        else {
            return Err(Failure::no(Some("NONEXISTENT"), "No such quota root"));
        };
        let mut out = Vec::new();
        Self::quota_line(&mut out, name, *used, *limit);
        self.out.extend_from_slice(&out);
        Ok(Done::ok("GETQUOTA completed"))
    }

    pub(crate) fn get_quota_root(&mut self, mailbox: &MailboxName) -> Outcome {
        let account = self.account()?;
        let name = self.mailbox_name(mailbox)?;
        self.service.store.status(account, &name)?;
        let roots = self.quota_roots(account)?;
        let mut out = b"* QUOTAROOT ".to_vec();
        quoted_or_literal(&mut out, &self.wire_name(&name));
        for (root, _, _) in &roots {
            out.push(b' ');
            quoted_or_literal(&mut out, root.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        for (root, used, limit) in &roots {
            Self::quota_line(&mut out, root, *used, *limit);
        }
        self.out.extend_from_slice(&out);
        Ok(Done::ok("GETQUOTAROOT completed"))
    }
}

fn canonical(name: &str) -> String {
    super::session::canonical_inbox(name.to_string())
}

/// LIST wildcard matching (RFC 9051 §6.3.9): `*` matches anything, `%` anything but `/`.
/// Iterative with one backtrack point per wildcard kind, so no input can make it exponential.
fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Dynamic programming over (pattern position, name position): O(|p| * |n|).
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' => {
                let mut on = false;
                for j in 0..=n.len() {
                    on |= reach[j];
                    next[j] = on;
                }
            }
            '%' => {
                let mut on = false;
                for j in 0..=n.len() {
                    if reach[j] {
                        on = true;
                    }
                    next[j] = on;
                    if j < n.len() && n[j] == '/' {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    if reach[j] && n[j] == *c {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(matches("*b", "a/b"));
        assert!(matches("INBOX", "INBOX"));
        assert!(!matches("INBOX", "INBOX/x"));
        assert!(matches("%/%", "a/b"));
        assert!(!matches("", "a"));
    }
}
