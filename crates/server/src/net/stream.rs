//! What the IMAP, POP3 and SMTP loops share about their byte stream: the boxed stream type that
//! STARTTLS/STLS swaps, the bounded TLS handshake, and writing queued output.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Buf as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// TLS handshakes must finish within this.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Any byte stream a session can run on (plain TCP, TLS, compressed).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection's stream, boxed so STARTTLS can swap it.
pub type Stream = Box<dyn Io>;

/// The stream for an accepted connection: TLS at once on an implicit-TLS port (`None` when the
/// handshake fails or no certificate is loaded), plain TCP otherwise.
pub async fn open(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Option<&TlsAcceptor>,
    implicit_tls: bool,
) -> Option<Stream> {
    if !implicit_tls {
        return Some(Box::new(tcp));
    }
    let tls = handshake(acceptor?, tcp, peer).await?;
    Some(Box::new(tls))
}

/// Runs the server side of a TLS handshake within [`TLS_HANDSHAKE_TIMEOUT`]; `None` (logged)
/// when it fails or times out.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    acceptor: &TlsAcceptor,
    stream: S,
    peer: SocketAddr,
) -> Option<TlsStream<S>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Writes to a client that stopped reading give up after this.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// Output buffers above this are released after a write, so an idle connection costs a few KiB
/// and not the size of the biggest message it was sent.
const KEEP: usize = 8 * 1024;

/// Writes and flushes `out`, then empties it; false if the client is gone or stalled past
/// [`WRITE_TIMEOUT`].
pub async fn write_out<S: AsyncWrite + Unpin + ?Sized>(stream: &mut S, out: &mut Vec<u8>) -> bool {
    write_out_with(stream, out, &[], &[]).await
}

/// [`write_out`], then `body` and `tail` in the same (vectored) write: a stored message goes
/// out as it is, without a copy into `out`.
pub async fn write_out_with<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    out: &mut Vec<u8>,
    body: &[u8],
    tail: &[u8],
) -> bool {
    if out.is_empty() && body.is_empty() && tail.is_empty() {
        return true;
    }
    let mut pending = (&out[..]).chain(body).chain(tail);
    let write = async {
        // `&mut S` is sized even when `S` is not (a boxed `dyn Io`).
        let mut sink = &mut *stream;
        AsyncWriteExt::write_all_buf(&mut sink, &mut pending).await?;
        stream.flush().await
    };
    let ok = matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())));
    out.clear();
    if out.capacity() > KEEP {
        *out = Vec::new();
    }
    ok
}
