"""IMAP error paths: malformed commands, unknown commands, wrong state, long lines, big
literals, garbage bytes; the session survives them, and too many errors end it with BYE."""

from imapclient import Imap
from yubintest import ALICE, make_message


def assert_alive(c: Imap):
    r = c.cmd("NOOP")
    assert r.status == "OK", f"session did not survive: {r}"


def test_malformed_commands_get_tagged_bad_with_text(example):
    c = Imap(example)
    cases = [
        "SELECT",                      # missing argument
        "FETCH 1:* (FLAGS",            # unbalanced parenthesis
        "STORE 1 +FLAGS",              # missing flag list
        'LIST "" ',                    # missing pattern
        "SEARCH BEFORE notadate",
        "STATUS INBOX (NOSUCHITEM)",
        "UID BOGUS 1",
        "FETCH a:b FLAGS",
        "CREATE \"unterminated",
    ]
    for command in cases:
        r = c.cmd(command)
        assert r.status == "BAD", (command, r)
        assert len(r.text) >= 5, f"BAD without a useful text for {command!r}: {r}"
    assert_alive(c)
    c.ok("SELECT INBOX")
    assert_alive(c)


def test_unknown_command_and_tagless_garbage(example):
    c = Imap(example)
    r = c.cmd("XYZZY foo bar")
    assert r.status == "BAD" and r.text, r
    # a line without a valid tag: untagged BAD
    c.send(b"\r\n")
    c.send(b"+++\r\n")
    lines = [c.read_line(), c.read_line()]
    assert all(line.startswith(b"* BAD") for line in lines), lines
    assert_alive(c)


def test_wrong_state(example):
    c = Imap(example, user=None)
    for command in ("SELECT INBOX", "LIST \"\" *", "APPEND INBOX {1+}\r\nx", "FETCH 1 FLAGS"):
        r = c.cmd(command)
        assert r.status == "BAD", (command, r)
    c.ok(f'LOGIN "{ALICE}" "secret-pw"')
    for command in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "CLOSE", "SEARCH ALL",
                    "COPY 1 INBOX"):
        r = c.cmd(command)
        assert r.status == "BAD" and "select" in r.text.lower(), (command, r)
    assert c.cmd("STARTTLS").status == "BAD"
    assert c.cmd("AUTHENTICATE PLAIN").status == "BAD"
    assert_alive(c)


def test_line_too_long(make_server):
    srv = make_server(config={"imap": {"max_line_length": 8192}})
    srv.setup_example()
    c = Imap(srv)
    c.send(b"long SEARCH SUBJECT " + b"x" * 20000 + b"\r\n")
    r = c.wait("long")
    assert r.status == "BAD" and "long" in r.text.lower(), r
    assert_alive(c)
    # a line just under the limit is fine
    r = c.cmd(b"LIST \"\" " + b"y" * 8000)
    assert r.status == "OK", r


def test_literal_too_big_and_session_goes_on(make_server):
    srv = make_server(config={"imap": {"max_message_size": 2000}})
    srv.setup_example()
    c = Imap(srv)
    c.send(b"a1 APPEND INBOX {999999}\r\n")
    r = c.wait("a1")
    assert (r.status, r.code) == ("NO", "TOOBIG"), r
    assert r.continuations == [], "no '+' for a literal that will be refused"
    # LITERAL+ over the limit: the data is skipped, not executed as commands
    payload = b"a9 LOGOUT\r\n" * 300
    c.send(b"a2 APPEND INBOX {%d+}\r\n" % len(payload) + payload + b"\r\n")
    r = c.wait("a2")
    assert r.status in ("BAD", "NO") and r.code == "TOOBIG", r
    assert_alive(c)
    m = make_message("bob@example.test", ALICE)
    assert c.append("INBOX", m).status == "OK"


def test_garbage_bytes(example):
    c = Imap(example)
    c.send(bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n")
    c.send(b"\x00\x00\x00\r\n")
    c.send(b"t\xff\xfe NOOP\r\n")
    for _ in range(3):
        line = c.read_line()
        assert b"BAD" in line, line
    assert_alive(c)
    # NUL inside a quoted string
    r = c.cmd(b'SELECT "IN\x00BOX"')
    assert r.status in ("BAD", "NO"), r
    assert_alive(c)
    # TLS ClientHello on the cleartext port
    c.send(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32 + b"\r\n")
    assert b"BAD" in c.read_line()
    assert_alive(c)


def test_too_many_errors_closes_with_bye(make_server):
    srv = make_server(config={"imap": {"max_errors": 5}})
    srv.setup_example()
    c = Imap(srv)
    for i in range(4):
        assert c.cmd(f"BOGUS{i}").status == "BAD"
    c.send(b"last BOGUS\r\n")
    lines = [c.read_line(), c.read_line()]
    assert lines[0].startswith(b"last BAD"), lines
    assert lines[1].startswith(b"* BYE"), lines
    assert c.closed_by_peer()
    # others are not affected
    assert Imap(srv).cmd("NOOP").status == "OK"


def test_errors_do_not_leak_across_commands(example):
    """A BAD in the middle of a pipeline does not swallow the commands after it."""
    c = Imap(example)
    c.send(b"p1 NOOP\r\np2 FETCH\r\np3 SELECT INBOX\r\np4 FETCH 1:* FLAGS\r\n")
    r1, r2, r3, r4 = c.wait("p1"), c.wait("p2"), c.wait("p3"), c.wait("p4")
    assert (r1.status, r2.status, r3.status) == ("OK", "BAD", "OK"), (r1, r2, r3)
    # empty mailbox: 1:* is an invalid sequence set
    assert r4.status == "BAD", r4


def test_sequence_number_errors_in_empty_mailbox(example):
    c = Imap(example)
    c.ok("SELECT INBOX")
    assert c.cmd("FETCH 1 FLAGS").status == "BAD"
    assert c.cmd("FETCH * FLAGS").status == "BAD"
    # UID forms with no match are fine
    assert c.cmd("UID FETCH 1:* FLAGS").status == "OK"
    assert c.cmd("UID STORE 1:* +FLAGS (\\Seen)").status == "OK"
    assert c.cmd("UID SEARCH ALL").status == "OK"
    assert c.cmd("UID COPY 1:* Trash").status == "OK"
