//! COMPRESS=DEFLATE (RFC 4978): after `OK`, both directions are raw DEFLATE streams (no zlib
//! header). Every flush of the session's output is a sync flush, so the client can decode each
//! response as soon as it arrives.

use std::io::Cursor;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::DeflateDecoder;
use async_compression::tokio::write::DeflateEncoder;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, BufReader, ReadBuf, ReadHalf, WriteHalf};

use super::session::Stream;

type Reader = DeflateDecoder<BufReader<tokio::io::Chain<Cursor<Vec<u8>>, ReadHalf<Stream>>>>;

/// A stream whose both directions are compressed.
pub struct Deflate {
    reader: Reader,
    writer: DeflateEncoder<WriteHalf<Stream>>,
}

impl Deflate {
    /// Wraps `stream`. `pending` holds compressed bytes the client sent right after the
    /// command and that were already read from the socket.
    pub fn new(stream: Stream, pending: Vec<u8>) -> Self {
        let (r, w) = tokio::io::split(stream);
        let mut decoder = DeflateDecoder::new(BufReader::with_capacity(
            4096,
            Cursor::new(pending).chain(r),
        ));
        // A client may end one deflate stream and start another; accept that rather than EOF.
        decoder.multiple_members(true);
        Self {
            reader: decoder,
            writer: DeflateEncoder::new(w),
        }
    }
}

impl AsyncRead for Deflate {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Deflate {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}
