"""mbsync (isync) keeping a local Maildir and a Yubin account in step, both ways.

Each test writes an mbsyncrc into its temp dir (IMAPStore on 127.0.0.1, MaildirStore, one
Channel with Create Both, Expunge Both, SyncState *), runs the real `mbsync -a`, and checks
the result twice: on the server with imaplib and in the Maildir by reading the files. After
every sync a second run must find nothing to do: exit 0, no changes in mbsync's counters, and
the Maildir and the server exactly as they were.
"""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest

from yubintest import ALICE, HOST, PASSWORD, make_message, new_msgid

pytestmark = pytest.mark.skipif(shutil.which("mbsync") is None,
                                reason="mbsync is not installed (scripts/test-all installs isync)")

SENDER = "sender@remote.test"
MSGID_RE = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)
TRACE_RE = re.compile(r"^(?:\(\d+ in progress\) )?>>> (.*)$", re.MULTILINE)
# mbsync marks every message it copies with this header, to find it again after a crash.
TUID_RE = re.compile(rb"^X-TUID: [^\r\n]*\r?\n", re.MULTILINE)


@dataclass
class Counts:
    """What one mbsync run did to the server, from its `-Dn` IMAP trace (the summary line
    with the same numbers is only printed to a terminal)."""
    appended: int = 0  # messages uploaded (far side +)
    stored: int = 0  # UID STORE commands (far side flag changes, \\Deleted included)
    expunged: int = 0  # EXPUNGE / UID EXPUNGE commands (CLOSE expunges too, uncounted)
    created: int = 0  # CREATE commands
    fetched: int = 0  # message bodies downloaded (near side +)

    @classmethod
    def of(cls, commands: list[str]) -> "Counts":
        c = cls()
        for cmd in commands:
            name = cmd.split(" ", 1)[-1].upper()  # drop the tag
            if name.startswith("APPEND"):
                c.appended += 1
            elif name.startswith("UID STORE"):
                c.stored += 1
            elif name.startswith("EXPUNGE") or name.startswith("UID EXPUNGE"):
                c.expunged += 1
            elif name.startswith("CREATE"):
                c.created += 1
            elif name.startswith("UID FETCH") and "BODY.PEEK[]" in name:
                c.fetched += 1
        return c


def mbsync_version() -> tuple[int, ...]:
    p = subprocess.run(["mbsync", "--version"], capture_output=True, text=True)
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", p.stdout + p.stderr)
    return tuple(int(x) for x in m.groups(default="0")) if m else (0,)


def msgid_of(data: bytes) -> str:
    m = MSGID_RE.search(data)
    assert m, f"no Message-ID in {data[:300]!r}"
    return m.group(1).decode()


def crlf(data: bytes) -> bytes:
    """Line ends as IMAP has them (mbsync writes LF into the Maildir)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def without_tuid(data: bytes) -> bytes:
    """`data` without the X-TUID header mbsync adds to each copy (in the header only)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return TUID_RE.sub(b"", head + b"\r\n", count=1)[:-2] + sep + body


class Mbsync:
    """One mbsync configuration: a Maildir tree under tmp and the account on `server`."""

    def __init__(self, server, tmp, *, tls: bool = False):
        self.server = server
        self.root = os.path.join(tmp, "Mail")
        self.rc = os.path.join(tmp, "mbsyncrc")
        os.makedirs(self.root, exist_ok=True)
        # isync 1.5 renamed SSLType to TLSType and spells the implicit mode IMAPS either way.
        tls_key = "TLSType" if mbsync_version() >= (1, 5) else "SSLType"
        if tls:
            port = server.imaps_port
            transport = (f"{tls_key} IMAPS\n"
                         f"CertificateFile {os.path.join(server.data, 'tls', 'cert.pem')}\n")
        else:
            port = server.imap_port
            transport = f"{tls_key} None\n"
        with open(self.rc, "w") as f:
            f.write(
                "IMAPAccount yubin\n"
                f"Host {HOST}\nPort {port}\nUser {ALICE}\nPass {PASSWORD}\n{transport}"
                "Timeout 30\n\n"
                "IMAPStore yubin-remote\nAccount yubin\n\n"
                "MaildirStore local\n"
                f"Path {self.root}/\nInbox {self.root}/INBOX\nSubFolders Verbatim\n\n"
                "Channel yubin\nFar :yubin-remote:\nNear :local:\nPatterns *\n"
                "Create Both\nExpunge Both\nSyncState *\n")

    def run(self, *args: str) -> tuple[int, str]:
        p = subprocess.run(["mbsync", "-c", self.rc, *args, "-a"], capture_output=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        return p.returncode, out

    def sync(self) -> Counts:
        """Run mbsync with its IMAP trace on, assert success, and count what it did."""
        rc, out = self.run("-Dn")
        assert rc == 0, f"mbsync exited {rc}\n{out[-6000:]}\n--- server stderr ---\n" + \
            self.server.stderr_tail()
        # Pipelined commands are traced as "(2 in progress) >>> 7 UID FETCH ...".
        commands = [m.group(1) for m in TRACE_RE.finditer(out)]
        for line in out.splitlines():
            # Tagged NO/BAD to any command is a server problem even when mbsync carries on.
            assert not re.match(r"^\d+ (NO|BAD)\b", line), f"server refused: {line}\n{out[-6000:]}"
        return Counts.of(commands)

    def sync_is_noop(self) -> None:
        """A repeated sync changes nothing anywhere."""
        before_local = self.snapshot()
        before_server = server_state(self.server)
        counts = self.sync()
        assert counts == Counts(), f"second mbsync run did something: {counts}"
        assert self.snapshot() == before_local, "second mbsync run changed the Maildir"
        assert server_state(self.server) == before_server, "second mbsync run changed the server"

    # ---- the Maildir -----------------------------------------------------

    def folder_path(self, folder: str) -> str:
        return os.path.join(self.root, folder)

    def folders(self) -> set[str]:
        found = set()
        for dirpath, dirnames, _ in os.walk(self.root):
            if {"cur", "new", "tmp"} <= set(dirnames):
                found.add(os.path.relpath(dirpath, self.root))
        return found

    def files(self, folder: str) -> list[str]:
        """Paths of the messages in a Maildir folder (cur/ and new/)."""
        base = self.folder_path(folder)
        paths = []
        for sub in ("cur", "new"):
            d = os.path.join(base, sub)
            if os.path.isdir(d):
                paths += [os.path.join(d, n) for n in sorted(os.listdir(d)) if not n.startswith(".")]
        return paths

    def messages(self, folder: str) -> dict[str, tuple[str, bytes]]:
        """Message-ID -> (maildir flags, bytes with CRLF line ends)."""
        result = {}
        for path in self.files(folder):
            with open(path, "rb") as f:
                data = f.read()
            name = os.path.basename(path)
            flags = name.split(":2,", 1)[1] if ":2," in name else ""
            mid = msgid_of(data)
            assert mid not in result, f"{folder}: {mid} twice in the Maildir"
            result[mid] = (flags, crlf(data))
        return result

    def find(self, folder: str, msgid: str) -> str:
        for path in self.files(folder):
            with open(path, "rb") as f:
                if msgid_of(f.read()) == msgid:
                    return path
        raise AssertionError(f"{msgid} not in Maildir folder {folder}")

    def snapshot(self) -> dict:
        """Every file under the Maildir tree (state files too) with size and mtime."""
        snap = {}
        for dirpath, _, filenames in os.walk(self.root):
            for n in filenames:
                p = os.path.join(dirpath, n)
                st = os.stat(p)
                snap[os.path.relpath(p, self.root)] = (st.st_size, st.st_mtime_ns)
        return snap

    def add_local(self, folder: str, data: bytes, flags: str = "") -> str:
        """Deliver a message into the Maildir the way a MUA does (tmp/, then rename)."""
        base = self.folder_path(folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        name = f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname()}"
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data.replace(b"\r\n", b"\n"))
        final = os.path.join(base, "cur", f"{name}:2,{flags}") if flags else \
            os.path.join(base, "new", name)
        os.rename(tmp, final)
        return final


def set_local_flags(path: str, flags: str) -> str:
    """Rename a Maildir file to carry `flags` (letters sorted, as the spec asks)."""
    d, name = os.path.split(path)
    base = name.split(":2,", 1)[0]
    new = os.path.join(os.path.dirname(d), "cur", f"{base}:2,{''.join(sorted(flags))}")
    os.rename(path, new)
    return new


def move_local(mb: Mbsync, path: str, folder: str) -> None:
    """Move a message to another folder as a MUA would: a new file name, no mbsync UID."""
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    flags = name.split(":2,", 1)[1] if ":2," in name else ""
    mb.add_local(folder, data, flags)
    os.unlink(path)


# ---- the server side -------------------------------------------------------


def deliver(server, subject: str, body: str = "Hello.\r\n") -> str:
    msgid = new_msgid("mbsync")
    with server.smtp() as s:
        s.ehlo("client.test")
        s.sendmail(SENDER, [ALICE], make_message(SENDER, ALICE, subject, body, msgid=msgid))
    return msgid


def append(server, folder: str, subject: str, flags: str = "") -> str:
    msgid = new_msgid("mbsync")
    c = server.imap()
    try:
        typ, data = c.create(f'"{folder}"')
        assert typ == "OK" or b"ALREADYEXISTS" in b" ".join(data), data
        typ, data = c.append(f'"{folder}"', flags or None, None, make_message(SENDER, ALICE, subject,
                                                                      msgid=msgid))
        assert typ == "OK", data
    finally:
        c.logout()
    return msgid


FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)")


def folder_contents(c: imaplib.IMAP4, folder: str) -> dict[str, tuple[int, frozenset, bytes]]:
    """Message-ID -> (uid, flags, BODY[]) of every message in `folder`, read-only."""
    typ, data = c.select(f'"{folder}"', readonly=True)
    assert typ == "OK", (folder, data)
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    result = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        uid = int(re.search(rb"UID (\d+)", head).group(1))
        flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
        flags -= {"\\Recent"}  # session-dependent: whichever client selects first sees it
        result[msgid_of(body)] = (uid, flags, body)
    c.close()
    return result


def server_folders(c: imaplib.IMAP4) -> set[str]:
    typ, data = c.list()
    assert typ == "OK", data
    names = set()
    for line in data:
        m = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', line)
        assert m, line
        name = m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if "\\Noselect" not in m.group(1).decode() and "\\NonExistent" not in m.group(1).decode():
            names.add(name)
    return names


def server_state(server) -> dict:
    """Every folder's UIDVALIDITY, UIDNEXT and messages (uid, flags, bytes)."""
    c = server.imap()
    try:
        state = {}
        for folder in sorted(server_folders(c)):
            typ, data = c.status(f'"{folder}"', "(UIDVALIDITY UIDNEXT MESSAGES)")
            assert typ == "OK", data
            state[folder] = (data[0].split(b"(", 1)[1], folder_contents(c, folder))
        return state
    finally:
        c.logout()


def server_messages(server, folder: str) -> dict[str, tuple[int, frozenset, bytes]]:
    c = server.imap()
    try:
        return folder_contents(c, folder)
    finally:
        c.logout()


MAILDIR_FLAG = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Deleted": "T",
                "\\Draft": "D"}


def as_maildir_flags(flags: frozenset) -> str:
    return "".join(sorted(MAILDIR_FLAG[f] for f in flags if f in MAILDIR_FLAG))


def assert_in_step(mb: Mbsync, folder: str) -> dict:
    """The Maildir folder holds exactly the server folder's messages, bytes and flags."""
    remote = server_messages(mb.server, folder)
    local = mb.messages(folder)
    assert set(local) == set(remote), (
        f"{folder}: only local {set(local) - set(remote)}, only on server {set(remote) - set(local)}")
    for mid, (uid, flags, body) in remote.items():
        lflags, ldata = local[mid]
        assert without_tuid(ldata) == without_tuid(body), (
            f"{folder} {mid}: Maildir bytes differ from BODY[]")
        assert lflags == as_maildir_flags(flags), f"{folder} {mid}: {lflags!r} vs {set(flags)}"
    return remote


# ---- tests -------------------------------------------------------------------


@pytest.fixture
def mb(example, tmp_path):
    return Mbsync(example, str(tmp_path))


def test_pull_then_nothing_to_do(mb, example):
    inbox = [deliver(example, f"delivered {i}") for i in range(3)]
    work_seen = append(example, "Work", "seen and flagged", "(\\Seen \\Flagged)")
    work_new = append(example, "Work", "unread")
    nested = append(example, "Projects/Yubin", "nested folder")

    counts = mb.sync()
    assert counts.fetched == 6 and counts.appended == 0, counts
    assert {"INBOX", "Work", "Projects/Yubin"} <= mb.folders(), mb.folders()
    assert set(assert_in_step(mb, "INBOX")) == set(inbox)
    work = assert_in_step(mb, "Work")
    assert mb.messages("Work")[work_seen][0] == "FS"
    assert mb.messages("Work")[work_new][0] == ""
    assert set(work) == {work_seen, work_new}
    assert set(assert_in_step(mb, "Projects/Yubin")) == {nested}
    # The server's delivered bytes arrived verbatim (trace headers and all).
    for mid in inbox:
        assert mb.messages("INBOX")[mid][1].startswith(b"Return-Path: <" + SENDER.encode())

    mb.sync_is_noop()


def test_push_new_flags_moves_deletes(mb, example):
    keep, flag_me, move_me, delete_me, trash_me = (
        deliver(example, f"msg {n}") for n in ("keep", "flag", "move", "delete", "trash"))
    append(example, "Archive", "already archived")
    assert mb.sync().fetched == 6

    # Local changes a MUA would make.
    new_local = new_msgid("local")
    mb.add_local("INBOX", make_message(ALICE, "bob@example.test", "written offline", msgid=new_local))
    new_seen = new_msgid("local")
    mb.add_local("Archive", make_message(ALICE, "bob@example.test", "filed and read",
                                         msgid=new_seen), flags="S")
    created = new_msgid("local")
    mb.add_local("Local Only", make_message(ALICE, "bob@example.test", "new folder",
                                            msgid=created))
    set_local_flags(mb.find("INBOX", flag_me), "FRS")
    move_local(mb, mb.find("INBOX", move_me), "Archive")
    os.unlink(mb.find("INBOX", delete_me))
    set_local_flags(mb.find("INBOX", trash_me), "T")

    counts = mb.sync()
    assert counts.appended == 4 and counts.created == 1 and counts.fetched == 0, counts
    # No EXPUNGE is needed: mbsync's CLOSE expunges the \\Deleted messages (RFC 9051 §6.4.1).

    inbox = server_messages(example, "INBOX")
    assert set(inbox) == {keep, flag_me, new_local}, set(inbox)
    assert inbox[flag_me][1] == {"\\Seen", "\\Flagged", "\\Answered"}
    assert inbox[keep][1] == frozenset()
    archive = server_messages(example, "Archive")
    assert move_me in archive and new_seen in archive
    assert "\\Seen" in archive[new_seen][1]
    local_only = server_messages(example, "Local Only")
    assert set(local_only) == {created}
    # Uploaded bytes are the Maildir file with CRLF line ends.
    assert without_tuid(local_only[created][2]) == crlf(make_message(ALICE, "bob@example.test", "new folder",
                                                       msgid=created))
    for folder in ("INBOX", "Archive", "Local Only"):
        assert_in_step(mb, folder)

    mb.sync_is_noop()


def test_server_side_changes(mb, example):
    seen, flagged, gone, untouched, moved = (
        deliver(example, f"msg {n}") for n in ("seen", "flagged", "gone", "untouched", "moved"))
    assert mb.sync().fetched == 5

    c = example.imap()
    try:
        c.select("INBOX")
        uids = {mid: v[0] for mid, v in folder_contents(c, "INBOX").items()}
        c.select("INBOX")
        assert c.uid("STORE", str(uids[seen]), "+FLAGS", "(\\Seen)")[0] == "OK"
        assert c.uid("STORE", str(uids[flagged]), "+FLAGS", "(\\Flagged \\Answered)")[0] == "OK"
        assert c.uid("STORE", str(uids[gone]), "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert c.expunge()[0] == "OK"
        assert c.uid("MOVE", str(uids[moved]), "Archive")[0] == "OK"
        assert c.create('"Server Made"')[0] == "OK"
    finally:
        c.logout()
    fresh = deliver(example, "after first sync")
    made = append(example, "Server Made", "made on the server", "(\\Seen)")

    counts = mb.sync()
    assert counts.fetched == 3 and counts.appended == 0 and counts.stored == 0, counts
    local = mb.messages("INBOX")
    assert set(local) == {seen, flagged, untouched, fresh}
    assert local[seen][0] == "S"
    assert local[flagged][0] == "FR"
    assert local[untouched][0] == ""
    assert_in_step(mb, "INBOX")
    assert mb.messages("Server Made")[made][0] == "S"
    assert set(assert_in_step(mb, "Archive")) == {moved}

    mb.sync_is_noop()


def test_conflicting_flag_changes_merge(mb, example):
    mid = deliver(example, "both sides")
    assert mb.sync().fetched == 1
    set_local_flags(mb.find("INBOX", mid), "F")
    c = example.imap()
    try:
        c.select("INBOX")
        assert c.store("1", "+FLAGS", "(\\Seen)")[0] == "OK"
    finally:
        c.logout()
    mb.sync()
    assert server_messages(example, "INBOX")[mid][1] == {"\\Seen", "\\Flagged"}
    assert mb.messages("INBOX")[mid][0] == "FS"
    mb.sync_is_noop()


def test_sync_over_imaps(example, tmp_path):
    mb = Mbsync(example, str(tmp_path), tls=True)
    mid = deliver(example, "over tls")
    rc, out = mb.run()
    if rc != 0 and "certificate" in out.lower():
        pytest.skip(f"mbsync does not accept the self-signed certificate for {HOST}: {out}")
    assert rc == 0, out
    assert set(assert_in_step(mb, "INBOX")) == {mid}
    mb.add_local("INBOX", make_message(ALICE, ALICE, "pushed over tls"))
    assert mb.sync().appended == 1
    assert_in_step(mb, "INBOX")
    mb.sync_is_noop()
