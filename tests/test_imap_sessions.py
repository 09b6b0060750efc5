"""Several IMAP sessions on one mailbox, IDLE, SMTP delivery to an IMAP reader, and durability
of what IMAP acknowledged (SIGKILL right after the OK)."""

import time

from imapclient import Imap, fetch_map
from yubintest import ALICE, make_message


def msg(subject="hello", body="Hello.\r\n", **kw) -> bytes:
    return make_message("bob@example.test", ALICE, subject=subject, body=body, **kw)


def two_sessions(server, n=3):
    a = Imap(server)
    for i in range(n):
        assert a.append("INBOX", msg(f"m{i}")).status == "OK"
    a.ok("SELECT INBOX")
    b = Imap(server)
    b.ok("SELECT INBOX")
    return a, b


def deliver(server, subject="over smtp"):
    s = server.smtp()
    s.ehlo("client.test")
    m = msg(subject)
    refused = s.sendmail("bob@elsewhere.test", [ALICE], m)
    assert refused == {}
    s.quit()
    return m


def test_flag_changes_reach_other_session_as_fetch(example):
    a, b = two_sessions(example)
    b.ok("STORE 2 +FLAGS (\\Flagged)")
    r = a.ok("NOOP")
    f = fetch_map(r)
    assert list(f) == [2] and "\\Flagged" in f[2]["FLAGS"], r
    # reported once
    assert a.ok("NOOP").named("FETCH") == []
    # with CONDSTORE enabled the unsolicited FETCH carries MODSEQ
    a.ok("ENABLE CONDSTORE")
    b.ok("STORE 3 +FLAGS (\\Seen)")
    f = fetch_map(a.ok("NOOP"))
    # RFC 7162 §3.1: UID and MODSEQ in every untagged FETCH once CONDSTORE is on
    assert "MODSEQ" in f[3] and f[3].get("UID") == "3", f


def test_new_mail_reaches_other_session_as_exists(example):
    a, b = two_sessions(example)
    b.append("INBOX", msg("new"))
    r = a.ok("NOOP")
    assert r.named("EXISTS") == [b"* 4 EXISTS"], r
    # \Recent went to b, which saw the message first (its APPEND reported it): a keeps 3
    assert r.named("RECENT") == [b"* 3 RECENT"], r
    f = a.fetch("FETCH 4 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert f[4]["UID"] == "4"
    deliver(example)
    r = a.ok("NOOP")
    assert r.named("EXISTS") == [b"* 5 EXISTS"], r


def test_expunge_held_back_during_fetch_store_search_by_sequence(example):
    a, b = two_sessions(example, n=4)
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    # RFC 9051 §7.5.1: no EXPUNGE while FETCH, STORE, SEARCH by sequence number run
    for command in ("FETCH 1:* UID", "STORE 4 +FLAGS (\\Seen)", "SEARCH ALL"):
        r = a.ok(command)
        assert r.named("EXPUNGE") == [], (command, r)
    # numbering unchanged so far: message 4 still has UID 4
    f = a.fetch("FETCH 4 UID")
    assert f[4]["UID"] == "4"
    r = a.ok("NOOP")
    assert r.named("EXPUNGE") == [b"* 2 EXPUNGE"], r
    f = a.fetch("FETCH 1:* UID")
    assert {k: v["UID"] for k, v in f.items()} == {1: "1", 2: "3", 3: "4"}


def test_uid_commands_may_report_expunges(example):
    a, b = two_sessions(example)
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.ok("UID FETCH 1:* UID")
    assert r.named("EXPUNGE") == [b"* 1 EXPUNGE"], r
    # data for the expunged message may precede its EXPUNGE; after it, the numbering shifted
    f = a.fetch("FETCH 1:* UID")
    assert {k: v["UID"] for k, v in f.items()} == {1: "2", 2: "3"}


def test_qresync_session_gets_vanished(example):
    a, b = two_sessions(example)
    a.ok("ENABLE QRESYNC")
    a.ok("SELECT INBOX")
    b.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.ok("NOOP")
    assert r.named("VANISHED") == [b"* VANISHED 1,3"], r
    assert r.named("EXPUNGE") == []


def test_idle_gets_smtp_delivery_within_a_second(example):
    a, _ = two_sessions(example, n=1)
    a.send(b"i1 IDLE\r\n")
    assert a.read_line().startswith(b"+"), "no continuation for IDLE"
    start = time.monotonic()
    deliver(example)
    got = a.read_until(lambda r: r.endswith(b" EXISTS"), timeout=5)
    elapsed = time.monotonic() - start
    assert got[-1] == b"* 2 EXISTS", got
    # the SMTP transaction itself is part of the measured time; the push must follow at once
    assert elapsed < 1.0 + 0.5, f"EXISTS arrived {elapsed:.2f} s after the delivery started"
    a.send(b"DONE\r\n")
    r = a.wait("i1")
    assert r.status == "OK", r


def test_idle_gets_expunge_and_flags_from_other_session(example):
    a, b = two_sessions(example)
    a.send(b"i1 IDLE\r\n")
    assert a.read_line().startswith(b"+")
    b.ok("STORE 3 +FLAGS (\\Answered)")
    got = a.read_until(lambda r: b"FETCH" in r, timeout=2)
    assert got[-1].startswith(b"* 3 FETCH") and b"\\Answered" in got[-1], got
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    got = a.read_until(lambda r: r.endswith(b"EXPUNGE"), timeout=2)
    assert got[-1] == b"* 1 EXPUNGE", got
    a.send(b"DONE\r\n")
    assert a.wait("i1").status == "OK"
    f = a.fetch("FETCH 1:* UID")
    assert {k: v["UID"] for k, v in f.items()} == {1: "2", 2: "3"}


def test_idle_without_selected_mailbox_and_bad_continuation(example):
    c = Imap(example)
    c.send(b"i1 IDLE\r\n")
    assert c.read_line().startswith(b"+")
    c.send(b"done\r\n")  # case-insensitive
    assert c.wait("i1").status == "OK"
    c.send(b"i2 IDLE\r\n")
    assert c.read_line().startswith(b"+")
    c.send(b"NOOP\r\n")
    r = c.wait("i2")
    assert any(u.startswith(b"* BAD") for u in r.untagged) or r.status == "BAD", r
    assert c.ok("NOOP")


def test_appended_message_survives_sigkill(example):
    c = Imap(example)
    m = msg("durable", body="\r\n".join(f"line {i}" for i in range(500)) + "\r\n")
    uid = c.uid_of_append(c.append("INBOX", m, flags="\\Flagged"))
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS (\\Answered)")
    c.ok("CREATE Kept")
    example.kill9()
    example.start()
    c = Imap(example)
    c.ok("SELECT INBOX")
    f = c.fetch(f"UID FETCH {uid} (FLAGS BODY.PEEK[])")[1]
    assert f["BODY[]"] == m
    assert {"\\Flagged", "\\Answered"} <= set(f["FLAGS"])
    assert c.cmd("STATUS Kept (MESSAGES)").status == "OK"
    assert example.show(ALICE, uid) == m


def test_many_appends_byte_exact(example):
    c = Imap(example)
    bodies = []
    for i in range(20):
        payload = bytes((i * 7 + k) % 256 for k in range(64)).replace(b"\r", b"").replace(b"\n", b"")
        m = msg(f"n{i}", body=b"binary-ish: " + payload + b"\r\n")
        bodies.append(m)
        assert c.append("INBOX", m).status == "OK"
    c.ok("SELECT INBOX")
    f = c.fetch("FETCH 1:* BODY.PEEK[]")
    assert [f[i + 1]["BODY[]"] for i in range(20)] == bodies
