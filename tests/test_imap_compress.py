"""COMPRESS=DEFLATE (RFC 4978) over a real socket: after OK both directions are raw DEFLATE.

imaplib has no COMPRESS support, so the client side is zlib with wbits=-15 and a sync flush
after every command, as real clients (Thunderbird, mutt) do."""

import socket
import zlib

from yubintest import ALICE, HOST, PASSWORD, RawImap


class Deflated:
    def __init__(self, sock):
        self.sock = sock
        self.out = zlib.compressobj(wbits=-15)
        self.inp = zlib.decompressobj(wbits=-15)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed; got so far: {self.buf!r}"
            self.buf += self.inp.decompress(chunk)
        head, sep, rest = self.buf.partition(marker)
        line_end = rest.find(b"\r\n")
        upto = len(head) + len(sep) + line_end + 2
        got, self.buf = self.buf[:upto], self.buf[upto:]
        return got


def test_compress_deflate_round_trip(example):
    with RawImap(HOST, example.imap_port) as c:
        caps = c.cmd("a", f"LOGIN {ALICE} {PASSWORD}")[-1]
        assert b"COMPRESS=DEFLATE" in caps, caps
        assert c.cmd("b", "COMPRESS DEFLATE")[-1] == b"b OK DEFLATE active"
        z = Deflated(c.sock)
        # Two pipelined commands in one compressed chunk.
        z.send(b"c SELECT INBOX\r\nd APPEND INBOX {22}\r\n")
        got = z.until(b"+ ")
        assert b"c OK [READ-WRITE]" in got, got
        z.send(b"Subject: zip\r\n\r\nhello\r\n")
        got = z.until(b"d OK")
        assert b"[APPENDUID" in got, got
        z.send(b"e FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
        got = z.until(b"e OK")
        assert b"Subject: zip" in got, got
        z.send(b"f CAPABILITY\r\n")
        got = z.until(b"f OK")
        assert b"COMPRESS=DEFLATE" not in got, "COMPRESS must not be offered twice"
        z.send(b"g COMPRESS DEFLATE\r\n")
        assert b"g NO [COMPRESSIONACTIVE]" in z.until(b"g "), "second COMPRESS refused"
        z.send(b"h LOGOUT\r\n")
        assert b"h OK" in z.until(b"h OK")


def test_compress_unknown_mechanism_is_bad_and_session_goes_on(example):
    with RawImap(HOST, example.imap_port) as c:
        c.cmd("a", f"LOGIN {ALICE} {PASSWORD}")
        assert c.cmd("b", "COMPRESS LZMA")[-1].startswith(b"b BAD")
        assert c.cmd("c", "NOOP")[-1].startswith(b"c OK")


def test_compress_needs_login(example):
    with RawImap(HOST, example.imap_port) as c:
        assert b"COMPRESS" not in c.greeting
        assert c.cmd("a", "COMPRESS DEFLATE")[-1].startswith(b"a BAD")
        socket_alive = c.cmd("b", "NOOP")[-1]
        assert socket_alive.startswith(b"b OK"), socket_alive
