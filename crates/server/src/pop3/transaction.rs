//! The TRANSACTION state's commands (RFC 1939 §5) and QUIT's UPDATE state (§6).

use std::io::Write as _;
use std::time::Duration;

use yubin_proto::pop3::multiline::{top, verbatim_tail, write_multiline};
use yubin_store::FlagMode;

use super::errors::Failure;
use super::maildrop::Maildrop;
use super::session::{Flow, Session, State};

impl Session {
    fn maildrop(&self) -> Result<&Maildrop, Failure> {
        match &self.state {
            State::Transaction(m) => Ok(m),
            State::Authorization { .. } => Err(Failure::plain("Log in first")),
        }
    }

    fn maildrop_mut(&mut self) -> Result<&mut Maildrop, Failure> {
        match &mut self.state {
            State::Transaction(m) => Ok(m),
            State::Authorization { .. } => Err(Failure::plain("Log in first")),
        }
    }

    pub(crate) fn stat(&mut self) -> Result<(), Failure> {
        let (count, octets) = self.maildrop()?.stat();
        self.ok(&format!("{count} {octets}"));
        Ok(())
    }

    /// LIST and UIDL share their shape: one line for a message, or the whole listing, always
    /// from the login snapshot, so a listing is complete or not sent at all.
    fn listing(
        &mut self,
        number: Option<u32>,
        field: fn(&super::maildrop::Entry) -> u64,
        what: &str,
    ) -> Result<(), Failure> {
        let drop = self.maildrop()?;
        let mut text = Vec::new();
        match number {
            Some(n) => {
                let entry = drop.get(n)?;
                text.extend_from_slice(format!("+OK {n} {}\r\n", field(entry)).as_bytes());
            }
            None => {
                let (count, octets) = drop.stat();
                text.reserve(count * 16 + 64);
                text.extend_from_slice(
                    format!("+OK {count} messages ({octets} octets), {what} follows\r\n")
                        .as_bytes(),
                );
                for (n, entry) in drop.live() {
                    // Writing to a Vec cannot fail.
                    let _ = write!(text, "{n} {}\r\n", field(entry));
                }
                text.extend_from_slice(b".\r\n");
            }
        }
        self.out.extend_from_slice(&text);
        Ok(())
    }

    pub(crate) fn list(&mut self, number: Option<u32>) -> Result<(), Failure> {
        self.listing(number, |e| e.size, "scan listing")
    }

    pub(crate) fn uidl(&mut self, number: Option<u32>) -> Result<(), Failure> {
        self.listing(number, |e| e.gid, "unique-id listing")
    }

    /// RETR (`lines` = None) and TOP.
    pub(crate) async fn retr(&mut self, number: u32, lines: Option<u32>) -> Result<(), Failure> {
        let maildrop = self.maildrop()?;
        let blob = maildrop.get(number)?.blob;
        let tenant = maildrop.address.rsplit_once('@').map_or("", |(_, d)| d);
        let store = self.service.store.clone();
        let _admitted = store.admit(&[tenant]).await.map_err(|_| {
            crate::net::telemetry::rejected("pop3", "store_busy");
            Failure::busy()
        })?;
        let deadline = Duration::from_millis(self.service.config.store_timeout_ms);
        let bytes = match tokio::time::timeout(deadline, store.message_bytes(&blob)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(Failure::busy()),
        };
        match lines {
            None if let Some(tail) = verbatim_tail(&bytes) => {
                // Nearly every stored message: sent as stored, no copy. The octet count is the
                // body's size, and the CRLF a body without one gets.
                let octets = bytes.len() + tail.len() - 3;
                self.ok(&format!("{octets} octets"));
                self.body = Some((bytes, tail));
            }
            None => {
                // The status line says how many octets follow (exact even for a stored message
                // with bare LFs), which the body's one scan counts: it goes in front afterwards.
                let start = self.out.len();
                let octets = write_multiline(&mut self.out, &bytes);
                let status = format!("+OK {octets} octets\r\n");
                self.out.splice(start..start, status.into_bytes());
            }
            Some(lines) => {
                self.ok("Top of message follows");
                write_multiline(&mut self.out, top(&bytes, lines));
            }
        }
        // Only a whole message counts as retrieved (`\Seen`, EXPIRE 0); TOP does not.
        if lines.is_none() {
            self.maildrop_mut()?.get_mut(number)?.retrieved = true;
        }
        Ok(())
    }

    pub(crate) fn dele(&mut self, number: u32) -> Result<(), Failure> {
        self.maildrop_mut()?.get_mut(number)?.deleted = true;
        self.ok(&format!("Message {number} deleted"));
        Ok(())
    }

    pub(crate) fn rset(&mut self) -> Result<(), Failure> {
        let drop = self.maildrop_mut()?;
        let unmarked = drop.reset();
        let (count, octets) = drop.stat();
        self.ok(&format!(
            "{unmarked} unmarked; maildrop has {count} messages ({octets} octets)"
        ));
        Ok(())
    }

    /// QUIT: in TRANSACTION, the UPDATE state commits the marks as one logical delete. If that
    /// fails, nothing the client sees as deleted is lost: it gets `-ERR` and the messages are
    /// still there next session (RFC 1939 §6).
    pub(crate) async fn quit(&mut self) -> Flow {
        let state = std::mem::replace(&mut self.state, State::Authorization { user: None });
        let State::Transaction(drop) = state else {
            self.ok(&format!("{} Yubin POP3 signing off", self.service.hostname));
            return Flow::Close;
        };
        let expire_now = self.service.config.expire_now();
        let doomed = drop.to_delete(expire_now);
        let seen = if self.service.config.mark_retrieved_seen {
            drop.newly_seen(expire_now)
        } else {
            Vec::new()
        };
        if !seen.is_empty() {
            mark_seen_after_reply(&self.service.store, &drop, seen);
        }
        let store = &self.service.store;
        if doomed.is_empty() {
            self.ok(&format!("{} Yubin POP3 signing off", self.service.hostname));
            return Flow::Close;
        }
        match store
            .delete_messages(drop.account, drop.mailbox, &doomed)
            .await
        {
            Ok(deleted) => {
                tracing::info!(account = %drop.address, deleted = deleted.len(), "POP3 QUIT");
                self.ok(&format!(
                    "{} Yubin POP3 signing off ({} messages deleted)",
                    self.service.hostname,
                    doomed.len()
                ));
            }
            Err(e) => {
                tracing::warn!(account = %drop.address, error = %e, "POP3 QUIT could not delete");
                let mut failure: Failure = e.into();
                if failure.code.is_none() {
                    failure.code = Some("SYS/TEMP");
                }
                failure.text = format!("Messages not deleted: {}", failure.text);
                self.fail(&failure);
            }
        }
        Flow::Close
    }
}

/// Sets `\Seen` on the messages the session retrieved, without QUIT waiting for it. The flag is
/// a courtesy to the account's IMAP clients, not part of POP3: waiting for its commit (a flag
/// row and a MODSEQ per message, 1,000 for a mailbox downloaded at once) only delayed the reply
/// and so the client's next session. A failure is logged; nothing the client was told depends
/// on it.
fn mark_seen_after_reply(store: &yubin_store::MailStore, drop: &Maildrop, seen: Vec<u32>) {
    let store = store.clone();
    let (account, mailbox, address) = (drop.account, drop.mailbox, drop.address.clone());
    tokio::spawn(async move {
        let seen_flag = ["\\Seen".to_string()];
        if let Err(e) = store
            .store_flags(account, mailbox, &seen, FlagMode::Add, &seen_flag, None)
            .await
        {
            tracing::warn!(account = %address, error = %e, "POP3: could not mark retrieved messages seen");
        }
    });
}
