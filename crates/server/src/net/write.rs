//! Writing a session's queued output, shared by the IMAP and POP3 loops.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes to a client that stopped reading give up after this.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// Output buffers above this are released after a write, so an idle connection costs a few KiB
/// and not the size of the biggest message it was sent.
const KEEP: usize = 8 * 1024;

/// Writes and flushes `out`, then empties it; false if the client is gone or stalled past
/// [`WRITE_TIMEOUT`].
pub async fn write_out<S: AsyncWrite + Unpin + ?Sized>(stream: &mut S, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return true;
    }
    let ok = matches!(
        tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(out)).await,
        Ok(Ok(()))
    ) && matches!(
        tokio::time::timeout(WRITE_TIMEOUT, stream.flush()).await,
        Ok(Ok(()))
    );
    out.clear();
    if out.capacity() > KEEP {
        *out = Vec::new();
    }
    ok
}
