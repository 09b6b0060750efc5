"""The MIME corpus over IMAP: every message APPENDed byte for byte, then read back.

The corpus lives outside the project ($YUBIN_MIME_CORPUS, else <repo>/../shared/corpus/mime);
the test is skipped without it. One server, one session, every message:

- BODY[] is the file's bytes exactly and RFC822.SIZE their length;
- ENVELOPE and BODYSTRUCTURE parse as balanced IMAP data (the small parser below is strict:
  quoted-string escapes, literal lengths, nothing left over) of the right shape;
- for messages Python's `email` finds no defect in: the same number of top-level parts, the same
  content type of every leaf part in the same order, the same decoded subject, and BODY[n] of
  each leaf equal to the raw part body Python gives (before transfer decoding);
- SEARCH CHARSET UTF-8 SUBJECT finds the message by a word of its decoded subject.

imaplib is not used to talk to the server: its APPEND rewrites line ends to CRLF.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import os
import re
import unicodedata
from pathlib import Path

import pytest

from yubintest import ALICE, HOST, PASSWORD, RawImap

REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    if os.environ.get("YUBIN_MIME_CORPUS"):
        return Path(os.environ["YUBIN_MIME_CORPUS"])
    # A git worktree one level further down (…/wt/<name>) shares its main checkout's corpus.
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "corpus" / "mime").is_dir():
            return base / "shared" / "corpus" / "mime"
    return REPO.parent / "shared" / "corpus" / "mime"


CORPUS = corpus_dir()
MAILBOX = "Corpus"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.eml") if p.is_file())


# ---- a strict reader of IMAP response data ----------------------------------


class Atom(str):
    """An atom (or number-like word) as opposed to a string."""


class ImapSyntaxError(ValueError):
    pass


class Reader:
    """Parses IMAP response data (RFC 9051 §4): atoms, numbers, NIL, quoted strings,
    literals and literal8, parenthesised lists; `BODY[...]<n>` stays one atom."""

    ATOM_END = b" ()\r\n"

    def __init__(self, data: bytes):
        self.d = data
        self.i = 0

    def fail(self, why: str):
        raise ImapSyntaxError(f"{why} at offset {self.i}: {self.d[max(0, self.i - 40):self.i + 40]!r}")

    def peek(self) -> bytes:
        return self.d[self.i:self.i + 1]

    def expect(self, b: bytes):
        if not self.d.startswith(b, self.i):
            self.fail(f"expected {b!r}")
        self.i += len(b)

    def value(self):
        c = self.peek()
        if c == b"(":
            return self.list()
        if c == b'"':
            return self.quoted()
        if c == b"{" or self.d.startswith(b"~{", self.i):
            return self.literal()
        if c in (b"", b")", b" ", b"\r", b"\n"):
            self.fail("expected a value")
        return self.atom()

    def list(self) -> list:
        self.expect(b"(")
        items = []
        while True:
            if self.peek() == b")":
                self.i += 1
                return items
            # Body parts and addresses follow each other with no space ("1*body",
            # "1*address" in RFC 9051 §9); everything else is space-separated.
            if items and not (isinstance(items[-1], list) and self.peek() == b"("):
                self.expect(b" ")
            items.append(self.value())

    def quoted(self) -> bytes:
        self.expect(b'"')
        out = bytearray()
        while True:
            c = self.peek()
            if c == b"":
                self.fail("unterminated quoted string")
            self.i += 1
            if c == b'"':
                return bytes(out)
            if c in (b"\r", b"\n", b"\0"):
                self.fail("CR, LF or NUL in a quoted string")
            if c == b"\\":
                esc = self.peek()
                if esc not in (b'"', b"\\"):
                    self.fail("bad escape in a quoted string")
                self.i += 1
                c = esc
            out += c

    def literal(self) -> bytes:
        if self.peek() == b"~":
            self.i += 1
        m = re.compile(rb"\{(\d+)\}\r\n").match(self.d, self.i)
        if not m:
            self.fail("bad literal header")
        n = int(m.group(1))
        start = m.end()
        if start + n > len(self.d):
            self.fail("literal runs past the response")
        self.i = start + n
        return self.d[start:start + n]

    def atom(self) -> Atom | int | None:
        start = self.i
        depth = 0
        while self.i < len(self.d):
            c = self.d[self.i:self.i + 1]
            if c == b"[":
                depth += 1
            elif c == b"]":
                depth -= 1
            elif depth == 0 and c in (b" ", b"(", b")"):
                break
            elif c in (b"\r", b"\n"):
                break
            self.i += 1
        word = self.d[start:self.i].decode("ascii", "strict")
        if depth != 0 or not word:
            self.fail("bad atom")
        if word.upper() == "NIL":
            return None
        if word.isdigit():
            return int(word)
        return Atom(word)

    def done(self):
        if self.i != len(self.d):
            self.fail("trailing data")


def read_response(conn: RawImap) -> bytes:
    """One response with the literals it announces, CRLFs kept around them (b"" at EOF)."""
    out = b""
    while True:
        line = conn.line()
        out += line
        m = re.search(rb"\{(\d+)\}$", line)
        if not m:
            return out
        n = int(m.group(1))
        while len(conn.buf) < n:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection inside a literal")
            conn.buf += chunk
        out += b"\r\n" + conn.buf[:n]
        conn.buf = conn.buf[n:]


class Session:
    """Tagged commands over RawImap; responses come back whole, literals included."""

    def __init__(self, conn: RawImap):
        self.conn = conn
        self.n = 0

    def command(self, *pieces: bytes | str) -> tuple[list[bytes], bytes]:
        """Send a command whose pieces are joined as given (literals already framed with
        `{n+}` by the caller); returns (untagged responses, tagged line)."""
        self.n += 1
        tag = f"c{self.n}".encode()
        data = b"".join(p.encode() if isinstance(p, str) else p for p in pieces)
        self.conn.send(tag + b" " + data + b"\r\n")
        untagged = []
        while True:
            resp = read_response(self.conn)
            if resp == b"":
                raise ConnectionError(f"connection closed; sent {data[:200]!r}")
            if resp.startswith(tag + b" "):
                return untagged, resp[len(tag) + 1:]
            untagged.append(resp)

    def ok(self, *pieces) -> tuple[list[bytes], bytes]:
        untagged, tagged = self.command(*pieces)
        assert tagged.startswith(b"OK"), f"{b''.join(p if isinstance(p, bytes) else p.encode() for p in pieces)[:200]!r} -> {tagged!r}"
        return untagged, tagged


def literal(data: bytes) -> bytes:
    """A non-synchronizing literal (LITERAL+); literal8 when the data holds NUL."""
    prefix = b"~" if b"\0" in data else b""
    return prefix + b"{%d+}\r\n" % len(data) + data


def fetch_items(resp: bytes) -> tuple[int, dict[str, object]]:
    """`* n FETCH (...)` -> (n, {ITEM NAME: value}), parsed strictly."""
    m = re.match(rb"\* (\d+) FETCH ", resp)
    assert m, f"not a FETCH response: {resp[:200]!r}"
    r = Reader(resp[m.end():])
    items = r.list()
    r.done()
    assert len(items) % 2 == 0, f"odd FETCH item list: {items!r}"
    out = {}
    for name, value in zip(items[::2], items[1::2]):
        assert isinstance(name, Atom), f"FETCH item name {name!r}"
        out[name.upper()] = value
    return int(m.group(1)), out


# ---- shape checks ------------------------------------------------------------


def is_nstring(v) -> bool:
    return v is None or isinstance(v, bytes)


def check_address_list(v, where: str):
    assert v is None or isinstance(v, list), f"{where}: not an address list: {v!r}"
    for addr in v or []:
        assert isinstance(addr, list) and len(addr) == 4 and all(map(is_nstring, addr)), (
            f"{where}: bad address {addr!r}")


def check_envelope(env, where: str):
    assert isinstance(env, list) and len(env) == 10, f"{where}: ENVELOPE is not 10 fields: {env!r}"
    for i in (0, 1, 8, 9):
        assert is_nstring(env[i]), f"{where}: ENVELOPE field {i} not nstring: {env[i]!r}"
    for i in range(2, 8):
        check_address_list(env[i], f"{where} ENVELOPE field {i}")


def check_params(v, where: str):
    assert v is None or (isinstance(v, list) and len(v) % 2 == 0
                         and all(isinstance(x, bytes) for x in v)), f"{where}: bad params {v!r}"


def check_body(bs, where: str):
    """RFC 9051 §7.5.2 BODYSTRUCTURE shapes."""
    assert isinstance(bs, list) and bs, f"{where}: body is not a list: {bs!r}"
    if isinstance(bs[0], list):
        n = 0
        while n < len(bs) and isinstance(bs[n], list):
            check_body(bs[n], f"{where}.{n + 1}")
            n += 1
        assert n < len(bs) and isinstance(bs[n], bytes), f"{where}: multipart without subtype"
        if len(bs) > n + 1:
            check_params(bs[n + 1], where)
        return
    assert len(bs) >= 7, f"{where}: single part with {len(bs)} fields: {bs!r}"
    assert isinstance(bs[0], bytes) and isinstance(bs[1], bytes), f"{where}: type {bs[:2]!r}"
    check_params(bs[2], where)
    assert is_nstring(bs[3]) and is_nstring(bs[4]), f"{where}: id/description {bs[3:5]!r}"
    assert isinstance(bs[5], bytes), f"{where}: encoding {bs[5]!r}"
    assert isinstance(bs[6], int), f"{where}: size {bs[6]!r}"
    kind = (bs[0].lower(), bs[1].lower())
    if kind[0] == b"text":
        assert len(bs) >= 8 and isinstance(bs[7], int), f"{where}: text without line count"
    elif encapsulates(f"{kind[0].decode()}/{kind[1].decode()}", bs[5].decode()):
        assert len(bs) >= 10, f"{where}: message/rfc822 lacks envelope/body/lines: {bs!r}"
        check_envelope(bs[7], where)
        check_body(bs[8], f"{where}(inner)")
        assert isinstance(bs[9], int), f"{where}: message/rfc822 lines {bs[9]!r}"


def imap_children(bs) -> list:
    """The parts of a multipart body: the lists before its subtype (extension data after
    the subtype has lists too)."""
    children = []
    for item in bs:
        if not isinstance(item, list):
            break
        children.append(item)
    return children


def imap_top_parts(bs) -> int | None:
    return len(imap_children(bs)) if isinstance(bs[0], list) else None


def imap_leaves(bs, prefix=()) -> list[tuple[str, str]]:
    """(section, "type/subtype") of every leaf, in order (RFC 9051 §6.4.5 part numbers)."""
    if isinstance(bs[0], list):
        out = []
        for n, part in enumerate(imap_children(bs), 1):
            out += imap_leaves(part, prefix + (n,))
        return out
    ctype = f"{bs[0].decode().lower()}/{bs[1].decode().lower()}"
    if encapsulates(ctype, bs[5].decode()) and len(bs) > 8:
        inner = bs[8]
        return imap_leaves(inner, prefix if isinstance(inner[0], list) else prefix + (1,))
    return [(".".join(map(str, prefix)) or "1", ctype)]


IDENTITY = {"7bit", "8bit", "binary"}


def encapsulates(ctype: str, encoding: str) -> bool:
    """Whether a part's body is a message whose structure IMAP shows: message/rfc822 (or
    global) in an identity encoding, the only ones RFC 2046 §5.2.1 allows for it. Others
    (message/partial, external-body, base64-encoded rfc822) are leaves, as in Dovecot."""
    return ctype in ("message/rfc822", "message/global") and encoding.lower() in IDENTITY


def py_leaves(msg, prefix=()) -> list[tuple[str, str, object]]:
    """The same walk over Python's parse: (section, "type/subtype", part)."""
    ctype = msg.get_content_type()
    if msg.is_multipart() and ctype.startswith("multipart/"):
        out = []
        for n, part in enumerate(msg.get_payload(), 1):
            out += py_leaves(part, prefix + (n,))
        return out
    encoding = str(msg.get("Content-Transfer-Encoding", "7bit")).strip()
    if msg.is_multipart() and encapsulates(ctype, encoding):
        inner = msg.get_payload(0)
        deeper = inner.get_content_maintype() == "multipart"
        return py_leaves(inner, prefix if deeper else prefix + (1,))
    return [(".".join(map(str, prefix)) or "1", ctype, msg)]


def defects(msg) -> list:
    return [d for part in msg.walk() for d in part.defects]


def normalize_ws(s: str) -> str:
    return " ".join(s.split())


def decoded_subject(raw: str) -> str:
    """A header value decoded the way Python's email does (RFC 2047), plus raw ISO-2022-JP
    (old Japanese clients put its escape sequences straight into the header)."""
    value = str(email.policy.default.header_factory("subject", raw))
    if "\x1b" in value:
        try:
            value = value.encode("ascii").decode("iso-2022-jp")
        except (UnicodeError, LookupError):
            pass
    return normalize_ws(value)


def search_word(subject: str) -> str | None:
    """A word of the subject worth searching for: the longest run of letters/digits, non-ASCII
    ones first (at most four characters of it, as SUBJECT is a substring match)."""
    words = re.findall(r"\w+", subject)
    words = [w for w in words if len(w) >= 2 and all(
        unicodedata.category(ch)[0] in "LN" and ch.isprintable() for ch in w)]
    if not words:
        return None
    return max(words, key=lambda w: (not w.isascii(), len(w)))[:4]


def raw_part_body(part) -> bytes | None:
    # get_payload(decode=False) re-decodes 8-bit text with the part's charset; the stored
    # payload is the raw bytes as ASCII with surrogate escapes (BytesParser's representation).
    payload = part._payload
    if isinstance(payload, bytes):
        return payload
    if not isinstance(payload, str):
        return None  # a message/* part Python parsed further than IMAP does
    return payload.encode("ascii", "surrogateescape")


# ---- the test ----------------------------------------------------------------


@pytest.fixture
def corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"MIME corpus not found at {CORPUS} (set YUBIN_MIME_CORPUS)")
    files = corpus_files()
    if not files:
        pytest.skip(f"no .eml files under {CORPUS}")
    return files


def test_corpus_round_trip(example, corpus):
    conn = RawImap(HOST, example.imap_port)
    s = Session(conn)
    s.ok(f'LOGIN "{ALICE}" "{PASSWORD}"')
    s.ok(f"CREATE {MAILBOX}")

    originals: dict[int, tuple[Path, bytes]] = {}
    failures: list[str] = []
    for path in corpus:
        data = path.read_bytes()
        name = str(path.relative_to(CORPUS))
        untagged, tagged = s.command(f"APPEND {MAILBOX} ", literal(data))
        m = re.search(rb"\[APPENDUID \d+ (\d+)\]", tagged)
        if not tagged.startswith(b"OK") or not m:
            failures.append(f"{name}: APPEND -> {tagged!r}")
            continue
        originals[int(m.group(1))] = (path, data)
    s.ok(f"SELECT {MAILBOX}")

    untagged, _ = s.ok("UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[] ENVELOPE BODYSTRUCTURE)")
    fetched: dict[int, dict] = {}
    for resp in untagged:
        if not re.match(rb"\* \d+ FETCH ", resp):
            continue
        try:
            _, items = fetch_items(resp)
        except (ImapSyntaxError, UnicodeDecodeError) as e:
            failures.append(f"unparsable FETCH response: {e}")
            continue
        fetched[items.get("UID")] = items

    checked_structure = checked_parts = searched = 0
    for uid, (path, data) in originals.items():
        name = str(path.relative_to(CORPUS))
        items = fetched.get(uid)
        if items is None:
            failures.append(f"{name}: no FETCH response for UID {uid}")
            continue
        if items.get("BODY[]") != data:
            failures.append(f"{name}: BODY[] differs from the file ({len(items.get('BODY[]') or b'')}"
                            f" vs {len(data)} bytes)")
        if items.get("RFC822.SIZE") != len(data):
            failures.append(f"{name}: RFC822.SIZE {items.get('RFC822.SIZE')} != {len(data)}")
        env, bs = items.get("ENVELOPE"), items.get("BODYSTRUCTURE")
        try:
            check_envelope(env, name)
            check_body(bs, name)
        except AssertionError as e:
            failures.append(str(e))
            continue

        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        well_formed = path.parent.name != "malformed" and not defects(msg)

        # Subject: ENVELOPE keeps it raw; decoded it must say what Python's parse says.
        py_msg = email.message_from_bytes(data, policy=email.policy.default)
        raw_subject = msg.get("Subject")
        env_subject = env[1]
        subject = None
        if raw_subject is not None and env_subject is not None:
            raw_env = env_subject.decode("ascii", "surrogateescape")
            subject = decoded_subject(raw_env)
            if well_formed:
                want = decoded_subject(str(py_msg.get("Subject", "")))
                if subject != want:
                    failures.append(f"{name}: subject {subject!r} != Python's {want!r}")
        elif well_formed and (raw_subject is None) != (env_subject is None):
            failures.append(f"{name}: ENVELOPE subject {env_subject!r} vs header {raw_subject!r}")

        if well_formed:
            checked_structure += 1
            if msg.is_multipart() and msg.get_content_maintype() == "multipart":
                top = imap_top_parts(bs)
                if top != len(msg.get_payload()):
                    failures.append(f"{name}: {top} top-level parts, Python has "
                                    f"{len(msg.get_payload())}")
            ours = imap_leaves(bs)
            theirs = py_leaves(msg)
            if [t for _, t in ours] != [t for _, t, _ in theirs] or \
                    [sec for sec, _ in ours] != [sec for sec, _, _ in theirs]:
                failures.append(f"{name}: leaves {ours} != Python's "
                                f"{[(sec, t) for sec, t, _ in theirs]}")
            else:
                want = {sec: raw_part_body(part) for sec, _, part in theirs}
                want = {sec: body for sec, body in want.items() if body is not None}
                fetch_list = " ".join(f"BODY.PEEK[{sec}]" for sec in want)
                untagged = s.ok(f"UID FETCH {uid} ({fetch_list})")[0] if want else []
                got = {}
                for resp in untagged:
                    if re.match(rb"\* \d+ FETCH ", resp):
                        got.update(fetch_items(resp)[1])
                for sec, body in want.items():
                    checked_parts += 1
                    if got.get(f"BODY[{sec}]") != body:
                        failures.append(f"{name}: BODY[{sec}] differs from Python's raw part "
                                        f"({got.get(f'BODY[{sec}]')!r:.80} vs {body!r:.80})")

        # SEARCH by a word of the decoded subject (RFC 9051 §6.4.4: substring, decoded).
        word = search_word(subject) if subject else None
        if word is not None and well_formed:
            searched += 1
            untagged, tagged = s.command("UID SEARCH CHARSET UTF-8 SUBJECT ",
                                         literal(word.encode("utf-8")))
            hits = set()
            for resp in untagged:
                if resp.startswith(b"* SEARCH"):
                    hits |= {int(x) for x in resp.split()[2:]}
            if not tagged.startswith(b"OK") or uid not in hits:
                failures.append(f"{name}: SEARCH SUBJECT {word!r} (of {subject!r}) -> "
                                f"{tagged!r}, hits {sorted(hits)[:10]}")

    s.ok("LOGOUT")
    conn.close()
    assert not failures, f"{len(failures)} problems in {len(corpus)} messages " \
        f"({checked_structure} structure-checked, {checked_parts} parts, {searched} searched):\n" \
        + "\n".join(failures)
    assert checked_structure >= len(corpus) // 2, (checked_structure, len(corpus))
    assert searched > 0
