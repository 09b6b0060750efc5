"""POP3 (RFC 1939, 2449 CAPA, 5034 AUTH, 2595 STLS) over real sockets with Python's poplib.

Every command, pipelining, the error paths, the maildrop lock and snapshot, and UIDL stability.
"""

import base64
import poplib
import re
import socket
import time

import pytest

from yubintest import (ALICE, HOST, PASSWORD, RawPop3, lmtp_deliver, make_message, new_msgid)

BOB = "bob@example.test"


def msg(subject: str, body: str = "Hello.\r\n") -> bytes:
    return make_message("sender@remote.test", ALICE, subject=subject, body=body)


def deliver(server, *subjects: str, to: str = ALICE) -> list[bytes]:
    messages = [msg(s) for s in subjects]
    lmtp_deliver(server, messages, to=to)
    return messages


def uidls(p: poplib.POP3) -> dict[int, str]:
    _, lines, _ = p.uidl()
    return {int(n): u.decode() for n, u in (line.split() for line in lines)}


def subject_of(lines: list[bytes]) -> str:
    for line in lines:
        if line.lower().startswith(b"subject:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError(f"no Subject in {lines[:20]!r}")


def raw(server, **kw) -> RawPop3:
    return RawPop3(HOST, server.pop3_port, **kw)


# ---- greeting, CAPA, login ---------------------------------------------------------------


def test_greeting_and_capa_before_and_after_login(example):
    p = example.pop3(user=None)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    for cap in ("TOP", "UIDL", "USER", "SASL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                "STLS", "EXPIRE", "IMPLEMENTATION"):
        assert cap in caps, caps
    assert caps["SASL"] == ["PLAIN"]
    assert caps["EXPIRE"] == ["NEVER"]
    assert "LOGIN-DELAY" not in caps  # not configured
    p.user(ALICE)
    p.pass_(PASSWORD)
    after = p.capa()
    assert "USER" not in after and "STLS" not in after and "SASL" not in after, after
    assert "UIDL" in after and "TOP" in after
    assert p.quit().startswith(b"+OK")


def test_login_reports_the_maildrop_and_stat_matches_list(example):
    sent = deliver(example, "one", "two", "three")
    p = example.pop3(user=None)
    p.user(ALICE)
    resp = p.pass_(PASSWORD)
    assert b"3 messages" in resp, resp
    count, octets = p.stat()
    assert count == 3
    _, listing, _ = p.list()
    sizes = [int(line.split()[1]) for line in listing]
    assert [int(line.split()[0]) for line in listing] == [1, 2, 3]
    assert sum(sizes) == octets
    # each size is what RETR sends (before dot-stuffing)
    for n, size in enumerate(sizes, 1):
        _, lines, _ = p.retr(n)
        assert sum(len(line) + 2 for line in lines) == size
    assert p.list(2).split()[:3] == [b"+OK", b"2", str(sizes[1]).encode()]
    assert len(sent) == 3
    p.quit()


def test_retr_returns_the_delivered_message_and_top_the_head(example):
    body = "first line\r\nsecond line\r\nthird line\r\n"
    [m] = [msg("retr me", body)]
    lmtp_deliver(example, [m])
    p = example.pop3()
    status, lines, _ = p.retr(1)
    assert status.startswith(b"+OK")
    got = b"\r\n".join(lines) + b"\r\n"
    # the store adds a Received/Return-Path trace header at the top; the rest is what was sent
    assert got.endswith(m), got[-300:]
    status, top0, _ = p.top(1, 0)
    assert status.startswith(b"+OK")
    assert top0[-1] == b"" and b"first line" not in top0  # header, blank line, no body
    assert subject_of(top0) == "retr me"
    _, top2, _ = p.top(1, 2)
    assert top2[-2:] == [b"first line", b"second line"]
    _, top99, _ = p.top(1, 99)
    assert top99[-3:] == [b"first line", b"second line", b"third line"]
    p.quit()


@pytest.mark.parametrize("tls", [False, True])
def test_pipelined_retrs_of_small_and_large_messages_are_whole_and_counted(example, tls):
    # 100 KiB goes to a blob file, 3 KiB stays in the database; one ends without a CRLF and one
    # needs dot-stuffing, so every way a body is written goes out back to back.
    big = "".join(f"line {i:05d} of a long message, padded to a realistic width\r\n"
                  for i in range(1700))
    bodies = [big, "short\r\n" * 400, big + ".dot line\r\n", "no final line end"]
    sent = [msg(f"m{i}", b) for i, b in enumerate(bodies)]
    lmtp_deliver(example, sent)
    port = example.pop3s_port if tls else example.pop3_port
    with RawPop3(HOST, port, tls=tls) as r:
        assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        _, listing = r.multi("LIST")
        sizes = [int(line.split()[1]) for line in listing]
        r.send(b"".join(b"RETR %d\r\n" % n for n in (1, 2, 3, 4, 1)))
        for n in (1, 2, 3, 4, 1):
            status = r.line()
            assert status.startswith(b"+OK ") and status.endswith(b" octets"), status
            lines = r.body()
            got = b"\r\n".join(lines) + b"\r\n"
            # The status line's count is the message's size (LIST), which is what arrived.
            assert int(status.split()[1]) == sizes[n - 1] == len(got), (n, status, len(got))
            expected = sent[n - 1] if sent[n - 1].endswith(b"\r\n") else sent[n - 1] + b"\r\n"
            assert got.endswith(expected), (n, got[-200:])
        assert r.cmd("QUIT").startswith(b"+OK")


def test_dot_stuffing_round_trips(example):
    body = ".starts with a dot\r\n..two dots\r\n.\r\nend\r\n"
    lmtp_deliver(example, [msg("dots", body)])
    with raw(example) as r:
        assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        r.send(b"RETR 1\r\n")
        assert r.line().startswith(b"+OK")
        wire = []
        while (line := r.line()) != b".":
            wire.append(line)
        assert b"..starts with a dot" in wire and b"...two dots" in wire and b".." in wire
        assert wire[-1] == b"end"


def test_noop_and_quit_in_authorization(example):
    with raw(example) as r:
        assert r.cmd("NOOP").startswith(b"-ERR")  # NOOP is a TRANSACTION command
        assert r.cmd("QUIT").startswith(b"+OK")
        assert r.closed_by_peer()
    p = example.pop3()
    assert p.noop().startswith(b"+OK")
    p.quit()


def test_wrong_password_unknown_user_and_disabled_account_look_the_same(example):
    example.admin("account", "add", "carol@example.test", "--password", PASSWORD)
    example.admin("account", "disable", "carol@example.test")
    answers = []
    for user, pw in ((ALICE, "wrong"), ("nobody@example.test", PASSWORD),
                     ("carol@example.test", PASSWORD)):
        with raw(example) as r:
            assert r.cmd(f"USER {user}").startswith(b"+OK")
            answers.append(r.cmd(f"PASS {pw}"))
    assert all(a == b"-ERR [AUTH] Invalid credentials" for a in answers), answers


def test_connection_closes_after_three_failed_logins(example):
    with raw(example) as r:
        for i in range(3):
            assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
            assert r.cmd("PASS nope").startswith(b"-ERR [AUTH]")
        assert r.closed_by_peer()


def test_pass_without_user_and_user_after_login(example):
    with raw(example) as r:
        assert r.cmd("PASS secret").startswith(b"-ERR")
        assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert r.cmd(f"USER {ALICE}").startswith(b"-ERR")
        assert r.cmd("STLS").startswith(b"-ERR")
        assert r.cmd("STAT").startswith(b"+OK 0 0")


def test_password_with_spaces(example):
    example.admin("account", "add", "spaces@example.test", "--password", "two words here")
    p = example.pop3("spaces@example.test", "two words here")
    assert p.stat() == (0, 0)
    p.quit()


def test_auth_plain_initial_response_continuation_and_cancel(example):
    creds = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    with raw(example) as r:
        assert r.multi("AUTH")[1] == [b"PLAIN"]
        assert r.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
        assert r.cmd("AUTH PLAIN").startswith(b"+ ")
        assert r.cmd("*").startswith(b"-ERR")
        assert r.cmd("AUTH PLAIN").startswith(b"+ ")
        assert r.cmd("not base64!").startswith(b"-ERR")
        assert r.cmd("AUTH PLAIN").startswith(b"+ ")
        assert r.cmd(creds).startswith(b"+OK")
        assert r.cmd("STAT").startswith(b"+OK")
        assert r.cmd("QUIT").startswith(b"+OK")
    with raw(example) as r:
        assert r.cmd(f"AUTH PLAIN {creds}").startswith(b"+OK")
    bad = base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode()
    with raw(example) as r:
        assert r.cmd(f"AUTH PLAIN {bad}") == b"-ERR [AUTH] Invalid credentials"
    # an authorization identity other than the user is refused
    other = base64.b64encode(f"{BOB}\0{ALICE}\0{PASSWORD}".encode()).decode()
    with raw(example) as r:
        assert r.cmd(f"AUTH PLAIN {other}").startswith(b"-ERR [AUTH]")


def test_poplib_apop_is_refused_cleanly(example):
    with raw(example) as r:
        assert r.cmd(f"APOP {ALICE} c4c9334bac560ecc979e58001b3e22fb").startswith(b"-ERR")
        assert r.cmd("CAPA").startswith(b"+OK")


# ---- TLS and plain-text policy -------------------------------------------------------------


def test_implicit_tls_port(example):
    deliver(example, "over tls")
    p = example.pop3(tls=True)
    assert p.stat()[0] == 1
    assert subject_of(p.retr(1)[1]) == "over tls"
    p.quit()


def test_plaintext_refused_without_tls_until_stls(make_server):
    srv = make_server({"pop3": {"loopback_is_secure": False}})
    srv.setup_example()
    p = poplib.POP3(HOST, srv.pop3_port, timeout=10)
    caps = p.capa()
    assert "USER" not in caps and "SASL" not in caps and "STLS" in caps, caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.user(ALICE)
    p.stls(context=__import__("yubintest").unverified_tls_context())
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps, caps
    p.user(ALICE)
    p.pass_(PASSWORD)
    assert p.stat() == (0, 0)
    p.quit()
    # the implicit-TLS port allows it at once
    p = srv.pop3(tls=True)
    p.quit()


def test_stls_twice_and_pipelined_bytes_after_stls_are_dropped(example):
    with raw(example) as r:
        r.send(b"STLS\r\nUSER injected@example.test\r\n")
        assert r.line().startswith(b"+OK")
        r.starttls()
        assert r.cmd("STLS").startswith(b"-ERR")
        # the injected USER did not survive: PASS has no USER to go with
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"-ERR")


# ---- TRANSACTION: DELE, RSET, QUIT -----------------------------------------------------------


def test_dele_marks_rset_unmarks_quit_commits(example):
    deliver(example, "a", "b", "c", "d")
    p = example.pop3()
    before = uidls(p)
    assert p.dele(2).startswith(b"+OK")
    assert p.dele(4).startswith(b"+OK")
    assert p.stat()[0] == 2
    _, listing, _ = p.list()
    assert [int(line.split()[0]) for line in listing] == [1, 3]
    assert set(uidls(p)) == {1, 3}
    for bad in ("retr", "dele", "list", "uidl"):
        with pytest.raises(poplib.error_proto, match="already deleted"):
            getattr(p, bad)(2)
    with pytest.raises(poplib.error_proto):
        p.top(4, 0)
    assert b"2 unmarked" in p.rset()
    assert p.stat()[0] == 4
    p.dele(1)
    p.dele(3)
    assert b"2 messages deleted" in p.quit()
    p = example.pop3()
    after = uidls(p)
    assert list(after.values()) == [before[2], before[4]]
    assert [subject_of(p.retr(n)[1]) for n in (1, 2)] == ["b", "d"]
    p.quit()
    # IMAP agrees
    with example.imap() as c:
        typ, data = c.select("INBOX")
        assert data == [b"2"]


def test_dropped_connection_commits_nothing(example):
    deliver(example, "keep 1", "keep 2")
    with raw(example) as r:
        r.cmd(f"USER {ALICE}")
        r.cmd(f"PASS {PASSWORD}")
        assert r.cmd("DELE 1").startswith(b"+OK")
        assert r.cmd("DELE 2").startswith(b"+OK")
        r.sock.shutdown(socket.SHUT_RDWR)
    # the lock is released and nothing was deleted
    deadline = time.monotonic() + 5
    while True:
        try:
            p = example.pop3()
            break
        except poplib.error_proto as e:
            assert b"IN-USE" in e.args[0] and time.monotonic() < deadline
            time.sleep(0.05)
    assert p.stat()[0] == 2
    p.quit()


def test_one_session_per_maildrop(example):
    deliver(example, "locked")
    first = example.pop3()
    with raw(example) as r:
        r.cmd(f"USER {ALICE}")
        assert r.cmd(f"PASS {PASSWORD}") == (
            b"-ERR [IN-USE] Another POP3 session is using this mailbox")
        # still in AUTHORIZATION: another account may log in on the same connection
        r.cmd(f"USER {BOB}")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
    # IMAP is not locked out
    with example.imap() as c:
        assert c.select("INBOX")[1] == [b"1"]
    first.quit()
    second = example.pop3()
    assert second.stat()[0] == 1
    second.quit()


def test_snapshot_at_login_new_mail_appears_next_session(example):
    deliver(example, "old")
    p = example.pop3()
    deliver(example, "new")
    assert p.stat()[0] == 1
    assert list(uidls(p)) == [1]
    with pytest.raises(poplib.error_proto, match="No such message"):
        p.retr(2)
    p.quit()
    p = example.pop3()
    assert p.stat()[0] == 2
    p.quit()


def test_message_expunged_over_imap_during_session(example):
    deliver(example, "gone soon", "stays")
    p = example.pop3()
    with example.imap() as c:
        c.select("INBOX")
        c.store("1", "+FLAGS", "\\Deleted")
        c.expunge()
    # the listing stays as it was at login, and the body is still readable (purge grace)
    assert p.stat()[0] == 2
    assert subject_of(p.retr(1)[1]) == "gone soon"
    p.dele(1)
    p.quit()  # deleting an already-expunged message is not an error
    p = example.pop3()
    assert p.stat()[0] == 1
    p.quit()


def test_retrieved_messages_are_marked_seen_at_quit(example):
    deliver(example, "read me", "leave me")
    p = example.pop3()
    p.retr(1)
    p.top(2, 0)  # TOP is not a retrieval
    p.quit()
    # QUIT does not wait for the flags' commit: they show up in IMAP a moment later.
    deadline = time.monotonic() + 5
    while True:
        with example.imap() as c:
            c.select("INBOX", readonly=True)
            _, data = c.fetch("1:2", "(FLAGS)")
        # If the commit lands between SELECT and FETCH, an unsolicited FETCH for message 1
        # comes first and imaplib returns both: the last word on each message counts.
        flags = {int(m[1]): m[2] for d in data if isinstance(d, bytes)
                 if (m := re.match(rb"(\d+) \(FLAGS \(([^)]*)\)\)", d))}
        if b"\\Seen" in flags.get(1, b"") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert b"\\Seen" in flags[1] and b"\\Seen" not in flags[2], data


# ---- UIDL stability ---------------------------------------------------------------------------


def test_uidl_is_unique_and_survives_restart_flags_and_moves(example):
    deliver(example, *[f"m{i}" for i in range(5)])
    p = example.pop3()
    first = uidls(p)
    p.quit()
    assert len(set(first.values())) == 5
    for u in first.values():
        assert 1 <= len(u) <= 70 and all(0x21 <= ord(ch) <= 0x7E for ch in u)
    example.restart()
    p = example.pop3()
    assert uidls(p) == first
    p.quit()
    with example.imap() as c:
        c.create("Archive")
        c.select("INBOX")
        c.store("1:*", "+FLAGS", "(\\Seen \\Flagged $Label1)")
        c.uid("MOVE", "1:2", "Archive")  # out of INBOX ...
        c.select("Archive")
        c.uid("MOVE", "1:*", "INBOX")  # ... and back
    p = example.pop3()
    assert sorted(uidls(p).values()) == sorted(first.values())
    p.quit()
    # a copy is a new message with a new UIDL
    with example.imap() as c:
        c.select("INBOX")
        c.copy("1", "INBOX")
    p = example.pop3()
    now = uidls(p)
    assert len(now) == 6 and len(set(now.values())) == 6
    assert set(first.values()) < set(now.values())
    p.quit()


def imap_state(server) -> dict[str, list[tuple[bytes, bytes]]]:
    """Per mailbox with mail: (FLAGS, INTERNALDATE) of each message, in order."""
    state = {}
    with server.imap() as c:
        for name in ("INBOX", "Archive"):
            _, [count] = c.select(name, readonly=True)
            if count == b"0":
                continue
            _, data = c.fetch("1:*", "(FLAGS INTERNALDATE)")
            state[name] = [(re.search(rb"FLAGS \(([^)]*)\)", d).group(1).replace(b"\\Recent", b"").strip(),
                            re.search(rb'INTERNALDATE "([^"]*)"', d).group(1))
                           for d in data if isinstance(d, bytes)]
    return state


def test_uidl_survives_export_and_import_into_another_server(make_server, tmp_path):
    src = make_server()
    src.setup_example()
    deliver(src, *[f"x{i}" for i in range(6)])
    p = src.pop3()
    all_six = uidls(p)
    p.quit()
    with src.imap() as c:
        c.select("INBOX")
        c.store("1:2", "+FLAGS", "(\\Seen $Label1)")
        c.uid("MOVE", "5:6", "Archive")
    p = src.pop3()
    inbox = sorted(uidls(p).values())
    p.quit()
    before = imap_state(src)
    dump = tmp_path / "alice"
    _, out, _ = src.admin("account", "export", ALICE, str(dump))
    assert "exported 6 messages" in out, out
    rc, _, err = src.admin("account", "export", ALICE, str(dump), check=False)
    assert rc != 0 and "not empty" in err, err

    dst = make_server()
    dst.setup_example()
    # The new server has handed out message ids of its own, which the imported ones must not
    # be confused with.
    deliver(dst, "b1", "b2", "b3", to="bob@example.test")
    _, out, _ = dst.admin("account", "import", ALICE, str(dump))
    assert "imported 6 messages" in out and "6 kept their UIDL" in out, out
    p = dst.pop3()
    assert sorted(uidls(p).values()) == inbox
    p.quit()
    assert imap_state(dst) == before  # flags, keywords, dates and mailboxes came along
    with dst.imap() as c:
        c.select("Archive")
        c.uid("MOVE", "1:*", "INBOX")  # back into INBOX: the UIDLs it had on the old server
    deliver(dst, "after the move")
    p = dst.pop3()
    now = uidls(p)
    p.quit()
    assert len(now) == 7 and set(all_six.values()) < set(now.values())

    # The same export again: copies, each with a new UIDL, none repeated.
    _, out, _ = dst.admin("account", "import", ALICE, str(dump))
    assert "0 kept their UIDL, 6 got a new one" in out, out
    p = dst.pop3()
    again = uidls(p)
    p.quit()
    assert len(again) == 11 and len(set(again.values())) == 11

    rc, _, err = dst.admin("account", "import", ALICE, str(tmp_path), check=False)
    assert rc != 0 and "not an export" in err, err


def test_uidl_of_a_deleted_message_is_never_reused(example):
    deliver(example, "first")
    p = example.pop3()
    old = uidls(p)[1]
    p.dele(1)
    p.quit()
    deliver(example, "second")
    p = example.pop3()
    assert uidls(p)[1] != old
    assert p.uidl(1).split()[2].decode() != old
    p.quit()


# ---- pipelining and errors -------------------------------------------------------------------


def test_pipelined_commands_are_answered_in_order(example):
    deliver(example, "p1", "p2", "p3")
    with raw(example) as r:
        r.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL 2\r\n"
               "RETR 1\r\nTOP 2 0\r\nDELE 3\r\nRSET\r\nNOOP\r\nQUIT\r\n".encode())
        assert r.line().startswith(b"+OK")  # USER
        assert r.line().startswith(b"+OK")  # PASS
        assert r.line().startswith(b"+OK 3 ")  # STAT
        assert r.line().startswith(b"+OK") and len(r.body()) == 3  # LIST
        assert r.line().startswith(b"+OK 2 ")  # UIDL 2
        assert r.line().startswith(b"+OK") and subject_of(r.body()) == "p1"  # RETR 1
        assert r.line().startswith(b"+OK") and subject_of(r.body()) == "p2"  # TOP 2 0
        assert r.line().startswith(b"+OK")  # DELE 3
        assert r.line().startswith(b"+OK")  # RSET
        assert r.line().startswith(b"+OK")  # NOOP
        assert r.line().startswith(b"+OK")  # QUIT
        assert r.closed_by_peer()
    p = example.pop3()
    assert p.stat()[0] == 3  # RSET undid the DELE
    p.quit()


@pytest.mark.parametrize("command", [
    "RETR", "RETR 0", "RETR -1", "RETR abc", "RETR 1 2", "RETR 99999999999999",
    "DELE", "TOP 1", "TOP 1 x", "LIST 0", "UIDL x", "RETR 7",
])
def test_bad_arguments_get_err_and_the_session_goes_on(example, command):
    deliver(example, "only")
    with raw(example) as r:
        r.cmd(f"USER {ALICE}")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert r.cmd(command).startswith(b"-ERR"), command
        assert r.cmd("STAT").startswith(b"+OK 1 ")


def test_unknown_commands_wrong_state_and_garbage(example):
    with raw(example) as r:
        assert r.cmd("FROB").startswith(b"-ERR")
        assert r.cmd("STAT").startswith(b"-ERR")  # before login
        assert r.cmd("").startswith(b"-ERR")
        assert r.cmd(b"\xff\xfe\x00garbage").startswith(b"-ERR")
        assert r.cmd("x" * 5000).startswith(b"-ERR")  # too long, then the session goes on
        assert r.cmd("CAPA").startswith(b"+OK")
        r.body()


def test_too_many_errors_close_the_connection(example):
    with raw(example) as r:
        for _ in range(19):
            assert r.cmd("FROB").startswith(b"-ERR")
        r.send(b"FROB\r\n")
        assert r.line().startswith(b"-ERR")
        assert r.line().startswith(b"-ERR Too many errors")
        assert r.closed_by_peer()


def test_bare_lf_line_endings_are_accepted(example):
    with raw(example) as r:
        r.send(f"USER {ALICE}\nPASS {PASSWORD}\nSTAT\n".encode())
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK 0 0")


# ---- configured policies -------------------------------------------------------------------


def test_login_delay(make_server):
    srv = make_server({"pop3": {"login_delay_secs": 2}})
    srv.setup_example()
    p = srv.pop3(user=None)
    assert p.capa()["LOGIN-DELAY"] == ["2"]
    p.user(ALICE)
    p.pass_(PASSWORD)
    p.quit()
    p = srv.pop3(user=None)
    p.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\]"):
        p.pass_(PASSWORD)
    p.quit()
    time.sleep(2.1)
    srv.pop3().quit()


def test_expire_zero_deletes_retrieved_messages(make_server):
    srv = make_server({"pop3": {"expire": "0"}})
    srv.setup_example()
    deliver(srv, "fetched", "not fetched")
    p = srv.pop3()
    assert p.capa()["EXPIRE"] == ["0"]
    p.retr(1)
    p.quit()
    p = srv.pop3()
    assert p.stat()[0] == 1
    assert subject_of(p.retr(1)[1]) == "not fetched"
    p.quit()


def test_bad_pop3_config_is_refused(make_server):
    srv = make_server({"pop3": {"expire": "30"}}, start=False)
    with pytest.raises(AssertionError, match="expire"):
        srv.start()


def test_shutdown_closes_sessions_without_committing(example):
    deliver(example, "survives shutdown")
    with raw(example) as r:
        r.cmd(f"USER {ALICE}")
        r.cmd(f"PASS {PASSWORD}")
        assert r.cmd("DELE 1").startswith(b"+OK")
        example.stop()
        assert r.line().startswith(b"-ERR [SYS/TEMP]")
    example.start()
    p = example.pop3()
    assert p.stat()[0] == 1
    p.quit()


def test_remembered_logins_follow_password_changes_and_disabling(example):
    """Repeated logins skip Argon2 (the verified-password cache), but a new password or a
    disabled account takes effect at the very next login."""
    for _ in range(3):
        example.pop3().quit()
    example.admin("account", "passwd", ALICE, "--password", "new-pw")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        example.pop3()
    example.pop3(ALICE, "new-pw").quit()
    example.admin("account", "disable", ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        example.pop3(ALICE, "new-pw")
    example.admin("account", "enable", ALICE)
    example.pop3(ALICE, "new-pw").quit()


def test_slow_store_answers_sys_temp_and_the_session_stays_usable(make_server):
    """The test-only fault switch makes every store read slow: the login's snapshot misses
    store_timeout_ms and gets -ERR [SYS/TEMP], never a partial listing; the same connection
    logs in once the store is fast again."""
    srv = make_server({"pop3": {"store_timeout_ms": 200}}, start=False)
    srv.env = {"YUBIN_FAULT_INJECTION": "1"}
    srv.start()
    srv.setup_example()
    deliver(srv, "one", "two")
    with raw(srv) as r:
        srv.admin("fault", "store-latency", "500")
        try:
            r.cmd(f"USER {ALICE}")
            assert r.cmd(f"PASS {PASSWORD}").startswith(b"-ERR [SYS/TEMP]")
        finally:
            srv.admin("fault", "store-latency", "0")
        assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK Logged in, 2 messages")
        status, lines = r.multi("UIDL")
        assert status.startswith(b"+OK") and len(lines) == 2


def test_fault_switch_is_refused_without_the_test_environment(example):
    rc, out, err = example.admin("fault", "store-latency", "100", check=False)
    assert rc != 0 and "YUBIN_FAULT_INJECTION" in err, (out, err)
