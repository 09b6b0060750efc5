"""A small wire-level IMAP client for the end-to-end tests.

imaplib hides most of what the IMAP tests need to assert (response codes, the order of
untagged responses, literals, untagged data arriving during IDLE), so the tests speak the
protocol directly through `Imap`: `cmd()` sends one command and returns every response up to
its tagged completion, literals included. `parse()` turns a response into Python values so a
FETCH can be checked item by item.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field

from yubintest import ALICE, HOST, IO_TIMEOUT, PASSWORD, SocketClient, unverified_tls_context

_LITERAL_RE = re.compile(rb"\{(\d+)\+?\}$")
_TAGGED_RE = re.compile(rb"^(\S+) (OK|NO|BAD)(?: \[([^\]]*)\])?(?: (.*))?$", re.S)


@dataclass
class Reply:
    """Everything a command produced: untagged responses and the tagged completion."""

    untagged: list[bytes]
    tagged: bytes
    status: str = ""
    code: str | None = None
    text: str = ""
    continuations: list[bytes] = field(default_factory=list)

    def __post_init__(self):
        m = _TAGGED_RE.match(self.tagged)
        if m:
            self.status = m.group(2).decode()
            self.code = m.group(3).decode("utf-8", "replace") if m.group(3) is not None else None
            self.text = (m.group(4) or b"").decode("utf-8", "replace")

    def named(self, name: str) -> list[bytes]:
        """Untagged responses `* NAME ...` or `* n NAME ...` (case-insensitive)."""
        out = []
        for r in self.untagged:
            words = r.split(b" ", 3)
            if len(words) >= 2 and words[1].upper() == name.upper().encode():
                out.append(r)
            elif len(words) >= 3 and words[1].isdigit() and words[2].upper() == name.upper().encode():
                out.append(r)
        return out

    def codes(self) -> list[str]:
        """Response codes of untagged OK/NO/BAD lines, e.g. 'UIDVALIDITY 3'."""
        out = []
        for r in self.untagged:
            m = re.match(rb"^\* (?:OK|NO|BAD) \[([^\]]*)\]", r)
            if m:
                out.append(m.group(1).decode("utf-8", "replace"))
        return out

    def code_value(self, name: str) -> str | None:
        for c in self.codes():
            if c.split(" ", 1)[0].upper() == name.upper():
                return c.split(" ", 1)[1] if " " in c else ""
        return None

    def __repr__(self):
        return f"Reply(untagged={self.untagged!r}, tagged={self.tagged!r})"


class Imap(SocketClient):
    """One IMAP connection, logged in as `user` unless user is None."""

    def __init__(self, server, user: str | None = ALICE, password: str = PASSWORD, *,
                 tls: bool = False, timeout: float = IO_TIMEOUT, port: int | None = None,
                 source: str | None = None):
        """`source`: the local address to connect from (127.0.0.2 is another client IP)."""
        if port is None:
            port = server.imaps_port if tls else server.imap_port
        sock = socket.create_connection((HOST, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        if tls:
            sock = unverified_tls_context().wrap_socket(sock, server_hostname=HOST)
        self.sock = sock
        self.buf = b""
        self.n = 0
        self.greeting = self.read_response()
        if user is not None:
            r = self.cmd(f"LOGIN {quote(user)} {quote(password)}")
            assert r.status == "OK", f"login as {user} failed: {r}"

    # ---- bytes -----------------------------------------------------------

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_line(self) -> bytes:
        """One line without CRLF; b"" if the server closed the connection first."""
        while b"\r\n" not in self.buf:
            if not self._fill():
                rest, self.buf = self.buf, b""
                return rest
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError(f"closed inside a {n}-octet literal")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self) -> bytes:
        """One response with its literals inline (`{n}\\r\\n` + n octets), no final CRLF."""
        out = b""
        while True:
            line = self.read_line()
            out += line
            m = _LITERAL_RE.search(line)
            if not m:
                return out
            out += b"\r\n" + self.read_exact(int(m.group(1)))

    # ---- commands --------------------------------------------------------

    def tag(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def cmd(self, command: str | bytes, tag: str | None = None) -> Reply:
        """Send `tag command`, return what came back up to the tagged line."""
        tag = tag or self.tag()
        if isinstance(command, str):
            command = command.encode("utf-8")
        self.send(tag.encode() + b" " + command + b"\r\n")
        return self.wait(tag)

    def wait(self, tag: str) -> Reply:
        untagged, conts = [], []
        while True:
            r = self.read_response()
            if r == b"":
                raise ConnectionError(f"connection closed before {tag} completed; got {untagged!r}")
            if r.startswith(tag.encode() + b" "):
                return Reply(untagged, r, continuations=conts)
            if r.startswith(b"+"):
                conts.append(r)
            else:
                untagged.append(r)

    def ok(self, command: str | bytes) -> Reply:
        r = self.cmd(command)
        assert r.status == "OK", f"{command!r} failed: {r}"
        return r

    def append(self, mailbox: str, message: bytes, flags: str | None = None,
               date: str | None = None) -> Reply:
        """APPEND with a LITERAL+ (no continuation round trip)."""
        parts = [b"APPEND ", quote(mailbox).encode()]
        if flags is not None:
            parts.append(b" (" + flags.encode() + b")")
        if date is not None:
            parts.append(b' "' + date.encode() + b'"')
        parts.append(b" {%d+}\r\n" % len(message))
        return self.cmd(b"".join(parts) + message)

    def uid_of_append(self, r: Reply) -> int:
        assert r.status == "OK" and r.code and r.code.startswith("APPENDUID"), r
        return int(r.code.split()[2])

    def fetch(self, command: str) -> dict[int, dict]:
        """Run a FETCH and return {sequence number: {ITEM: value}} (items merged)."""
        r = self.ok(command)
        return fetch_map(r)

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while self._fill():
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def read_until(self, pred, timeout: float) -> list[bytes]:
        """Read responses until one satisfies pred; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        got = []
        old = self.sock.gettimeout()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching response within {timeout} s; got {got!r}")
                self.sock.settimeout(left)
                try:
                    r = self.read_response()
                except socket.timeout:
                    raise AssertionError(f"no matching response within {timeout} s; got {got!r}")
                got.append(r)
                if pred(r):
                    return got
        finally:
            self.sock.settimeout(old)

    def logout(self):
        try:
            self.cmd("LOGOUT")
        except (ConnectionError, OSError):
            pass
        self.close()



def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------
# response parsing
# --------------------------------------------------------------------------


class Atom(str):
    """An IMAP atom (as opposed to a string)."""


def parse(data: bytes):
    """Parse a response into nested lists: Atom for atoms, bytes for strings, None for NIL."""
    items, pos = _parse_seq(data, 0, None)
    return items


def _parse_seq(data: bytes, pos: int, close: bytes | None):
    out = []
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif close is not None and c == close:
            return out, pos + 1
        elif c == b"(":
            sub, pos = _parse_seq(data, pos + 1, b")")
            out.append(sub)
        elif c == b'"':
            pos += 1
            s = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                s += data[pos:pos + 1]
                pos += 1
            out.append(bytes(s))
            pos += 1
        elif c in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", data[pos:pos + 24]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
            start = pos + m.end()
            size = int(m.group(1))
            out.append(data[start:start + size])
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b")", b"("):
                    break
                pos += 1
            word = data[start:pos].decode("utf-8", "replace")
            out.append(None if word.upper() == "NIL" else Atom(word))
    if close is not None:
        raise ValueError(f"unterminated list in {data!r}")
    return out, pos


def fetch_map(r: Reply) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for line in r.untagged:
        v = parse(line)
        if len(v) >= 4 and v[0] == "*" and str(v[2]).upper() == "FETCH":
            items = v[3]
            d = out.setdefault(int(v[1]), {})
            for i in range(0, len(items) - 1, 2):
                d[str(items[i]).upper()] = items[i + 1]
    return out


def seqset(uids) -> set[int]:
    """Expand `1:3,7` (as str/bytes) into a set of numbers."""
    if isinstance(uids, bytes):
        uids = uids.decode()
    out = set()
    for part in str(uids).split(","):
        if not part:
            continue
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


def search_numbers(r: Reply) -> list[int]:
    """Numbers of the `* SEARCH` / `* SORT` response."""
    lines = r.named("SEARCH") + r.named("SORT")
    assert len(lines) == 1, f"expected one SEARCH/SORT response: {r}"
    words = lines[0].split()[2:]
    return [int(w) for w in words if w.isdigit()]


def esearch(r: Reply) -> dict[str, str]:
    """`* ESEARCH (TAG "x") UID MIN 1 COUNT 3 ALL 1:3` -> {'MIN': '1', ...} (plus 'UID': '')."""
    lines = r.named("ESEARCH")
    assert len(lines) == 1, f"expected one ESEARCH response: {r}"
    v = parse(lines[0])[2:]
    out: dict[str, str] = {}
    i = 0
    while i < len(v):
        item = v[i]
        if isinstance(item, list):
            out["TAG"] = item[1].decode() if len(item) > 1 else ""
            i += 1
        elif str(item).upper() == "UID":
            out["UID"] = ""
            i += 1
        else:
            out[str(item).upper()] = str(v[i + 1]) if i + 1 < len(v) else ""
            i += 2
    return out
