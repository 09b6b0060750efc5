//! IDLE (RFC 2177, RFC 9051 §6.3.13): push changes until the client sends DONE.
//!
//! The store's change bus says *that* a mailbox changed; what changed is read from the store
//! (`sync`), so a lagging subscriber loses nothing. A new delivery reaches an idling client
//! within the commit time plus one wake-up.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::broadcast::error::RecvError;

use super::session::{Flow, Session, Stream};

impl Session {
    /// Runs IDLE. `None`: DONE was received and the caller sends the tagged OK; `Some(flow)`:
    /// the connection ends (closed, timed out, shutdown).
    pub(crate) async fn idle(&mut self, stream: &mut Stream) -> Option<Flow> {
        let mut changes = self.service.store.subscribe_changes();
        self.out.extend_from_slice(b"+ idling\r\n");
        if self.state.selected_mut().is_some() {
            self.sync(true).await;
        }
        let account = self.state.login().map(|l| l.account);
        let timeout = Duration::from_secs(self.service.config.idle_timeout_secs);
        let mut deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.framer.next_line(&mut self.rbuf) {
                Some(Ok(line)) if line.trim_ascii().eq_ignore_ascii_case(b"DONE") => return None,
                Some(_) => {
                    // RFC 2177: anything but DONE ends IDLE as a protocol error.
                    self.out.extend_from_slice(b"* BAD Expected DONE\r\n");
                    return None;
                }
                None => {}
            }
            if !self.flush(stream).await {
                return Some(Flow::Close);
            }
            let mut shutdown = self.shutdown.clone();
            let mailbox = self.state.selected_mut().map(|s| s.id);
            let woke = tokio::select! {
                read = tokio::time::timeout_at(deadline, stream.read_buf(&mut self.rbuf)) => match read {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(Flow::Close),
                    Ok(Ok(_)) => {
                        deadline = tokio::time::Instant::now() + timeout;
                        false
                    }
                    Err(_) => {
                        self.out.extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                        return Some(Flow::Close);
                    }
                },
                msg = changes.recv() => match msg {
                    Ok(c) => Some(c.account) == account && Some(c.mailbox) == mailbox,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => {
                        // The store is shutting down; avoid spinning on a closed channel.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        false
                    }
                },
                () = shutdown.wait() => {
                    self.out.extend_from_slice(b"* BYE [UNAVAILABLE] Server shutting down\r\n");
                    return Some(Flow::Close);
                }
            };
            if woke && mailbox.is_some() {
                self.sync(true).await;
            }
        }
    }
}
