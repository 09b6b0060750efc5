"""IMAP connection setup: greeting, CAPABILITY, STARTTLS, implicit TLS, LOGIN and AUTHENTICATE,
failed logins, LOGINDISABLED, LOGOUT, ENABLE, ID, NAMESPACE."""

import base64
import imaplib

import pytest

from imapclient import Imap, parse
from yubintest import ALICE, HOST, HOSTNAME, PASSWORD, RawImap, unverified_tls_context

# What every session advertises, authenticated or not (RFC 9051 plus the extensions built).
EXTENSIONS = {
    "IMAP4REV2", "IMAP4REV1", "LITERAL+", "ENABLE", "ID", "IDLE", "NAMESPACE", "UNSELECT",
    "UIDPLUS", "MOVE", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED",
    "LIST-STATUS", "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE",
    "STATUS=SIZE", "BINARY", "MULTIAPPEND", "WITHIN", "SORT", "ESORT", "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES", "UTF8=ACCEPT",
}


def caps_of(line: bytes) -> set[str]:
    """Capabilities in `* CAPABILITY ...` or `... [CAPABILITY ...] ...`, upper-cased."""
    text = line.decode()
    if "[CAPABILITY " in text:
        text = text.split("[CAPABILITY ", 1)[1].split("]", 1)[0]
    else:
        text = text.split("CAPABILITY ", 1)[1]
    return {c.upper() for c in text.split()}


def capability(c: Imap) -> set[str]:
    r = c.ok("CAPABILITY")
    lines = r.named("CAPABILITY")
    assert len(lines) == 1, r
    return caps_of(lines[0])


def test_greeting_carries_capabilities_and_hostname(server):
    c = Imap(server, user=None)
    assert c.greeting.startswith(b"* OK [CAPABILITY "), c.greeting
    assert HOSTNAME.encode() in c.greeting
    caps = caps_of(c.greeting)
    assert EXTENSIONS <= caps, EXTENSIONS - caps
    # loopback is secure by default: PLAIN offered, STARTTLS offered on the cleartext port
    assert {"AUTH=PLAIN", "SASL-IR", "STARTTLS"} <= caps
    assert "LOGINDISABLED" not in caps
    assert any(c.startswith("APPENDLIMIT=") and int(c.split("=")[1]) > 0 for c in caps)
    assert capability(c) == caps


def test_capability_after_login_drops_auth_mechanisms(example):
    c = Imap(example, user=None)
    r = c.ok(f'LOGIN "{ALICE}" "{PASSWORD}"')
    assert r.code and r.code.startswith("CAPABILITY "), r
    after = caps_of(r.tagged)
    assert EXTENSIONS <= after
    assert not any(x.startswith("AUTH=") for x in after), after
    assert "SASL-IR" not in after and "LOGINDISABLED" not in after
    assert capability(c) == after


def test_starttls_with_imaplib(example):
    c = imaplib.IMAP4(HOST, example.imap_port, timeout=30)
    assert "STARTTLS" in c.capabilities
    typ, _ = c.starttls(ssl_context=unverified_tls_context())
    assert typ == "OK"
    # imaplib re-reads CAPABILITY after the handshake
    assert "STARTTLS" not in c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    typ, _ = c.login(ALICE, PASSWORD)
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"0"]
    c.logout()


def test_starttls_twice_is_refused_and_pipelined_bytes_dropped(example):
    raw = RawImap(HOST, example.imap_port)
    # a command pipelined after STARTTLS must not be executed (RFC 9051 §6.2.1)
    raw.send(b"a STARTTLS\r\nb NOOP\r\n")
    assert raw.line().startswith(b"a OK")
    raw.sock = unverified_tls_context().wrap_socket(raw.sock, server_hostname=HOST)
    raw.buf = b""
    lines = raw.cmd("c", "STARTTLS")
    assert lines[-1].startswith(b"c BAD"), lines
    assert not any(line.startswith(b"b ") for line in lines), lines
    lines = raw.cmd("d", f'LOGIN {ALICE} {PASSWORD}')
    assert lines[-1].startswith(b"d OK"), lines
    raw.close()


def test_implicit_tls_port(example):
    c = example.imap(tls=True)
    typ, data = c.capability()
    caps = set(data[0].decode().upper().split())
    assert "STARTTLS" not in caps and "IMAP4REV2" in caps
    typ, data = c.select("INBOX")
    assert typ == "OK"
    c.logout()
    # the same through the raw client: greeting only after the handshake
    r = Imap(example, tls=True)
    assert r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev2")
    assert "STARTTLS" not in capability(r)


def test_login_imaplib_and_wrong_password(example):
    c = example.imap(user=None)
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login(ALICE, "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("nobody@example.test", PASSWORD)
    assert "AUTHENTICATIONFAILED" in str(e.value)
    typ, _ = c.login(ALICE, PASSWORD)
    assert typ == "OK"
    # LOGIN in the authenticated state is a protocol error
    r = Imap(example)
    bad = r.cmd(f'LOGIN "{ALICE}" "{PASSWORD}"')
    assert bad.status == "BAD", bad
    assert r.ok("NOOP").status == "OK"
    c.logout()


def test_login_disabled_account(example):
    example.admin("account", "disable", "bob@example.test")
    c = Imap(example, user=None)
    r = c.cmd('LOGIN "bob@example.test" "secret-pw"')
    assert (r.status, r.code) == ("NO", "AUTHENTICATIONFAILED"), r


def test_authenticate_plain_with_sasl_ir(example):
    c = Imap(example, user=None)
    creds = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    r = c.cmd(f"AUTHENTICATE PLAIN {creds}")
    assert r.status == "OK", r
    assert r.continuations == [], "SASL-IR needs no continuation"
    assert r.code and r.code.startswith("CAPABILITY ")
    assert c.ok("SELECT INBOX").code == "READ-WRITE"


def test_authenticate_plain_with_continuation(example):
    c = Imap(example, user=None)
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.read_line().startswith(b"+"), "expected a continuation request"
    c.send(base64.b64encode(f"{ALICE}\0{ALICE}\0{PASSWORD}".encode()) + b"\r\n")
    r = c.wait("a")
    assert r.status == "OK", r


def test_authenticate_imaplib_and_failures(example):
    c = example.imap(user=None)
    typ, _ = c.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())
    assert typ == "OK"
    c.logout()
    raw = Imap(example, user=None)
    bad = base64.b64encode(f"\0{ALICE}\0nope".encode()).decode()
    r = raw.cmd(f"AUTHENTICATE PLAIN {bad}")
    assert (r.status, r.code) == ("NO", "AUTHENTICATIONFAILED"), r
    # another user's identity as authzid is refused
    other = base64.b64encode(f"bob@example.test\0{ALICE}\0{PASSWORD}".encode()).decode()
    r = raw.cmd(f"AUTHENTICATE PLAIN {other}")
    assert (r.status, r.code) == ("NO", "AUTHENTICATIONFAILED"), r
    # cancelled exchange
    raw.send(b"x AUTHENTICATE PLAIN\r\n")
    assert raw.read_line().startswith(b"+")
    raw.send(b"*\r\n")
    assert raw.wait("x").status == "BAD"
    r = raw.cmd("AUTHENTICATE CRAM-MD5")
    assert r.status == "NO", r
    # still able to log in afterwards
    assert raw.cmd(f'LOGIN "{ALICE}" "{PASSWORD}"').status == "OK"


def test_connection_closed_after_max_auth_failures(make_server):
    srv = make_server(config={"imap": {"max_auth_failures": 3}})
    srv.setup_example()
    c = Imap(srv, user=None)
    for i in range(2):
        r = c.cmd(f'LOGIN "{ALICE}" "bad{i}"')
        assert (r.status, r.code) == ("NO", "AUTHENTICATIONFAILED"), r
    r = c.cmd(f'LOGIN "{ALICE}" "bad3"')
    assert r.status == "NO"
    assert any(u.startswith(b"* BYE") for u in r.untagged), r
    assert c.closed_by_peer(), "connection still open after the last allowed failure"
    # a new connection may try again
    assert Imap(srv).ok("NOOP")


def test_logindisabled_without_tls(make_server):
    srv = make_server(config={"imap": {"loopback_is_secure": False}})
    srv.setup_example()
    c = Imap(srv, user=None)
    caps = caps_of(c.greeting)
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps
    assert not any(x.startswith("AUTH=") for x in caps)
    r = c.cmd(f'LOGIN "{ALICE}" "{PASSWORD}"')
    assert (r.status, r.code) == ("NO", "PRIVACYREQUIRED"), r
    creds = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    r = c.cmd(f"AUTHENTICATE PLAIN {creds}")
    assert (r.status, r.code) == ("NO", "PRIVACYREQUIRED"), r
    # after STARTTLS the same credentials work
    i = imaplib.IMAP4(HOST, srv.imap_port, timeout=30)
    assert "LOGINDISABLED" in i.capabilities
    i.starttls(ssl_context=unverified_tls_context())
    assert "LOGINDISABLED" not in i.capabilities and "AUTH=PLAIN" in i.capabilities
    assert i.login(ALICE, PASSWORD)[0] == "OK"
    i.logout()
    # and on the implicit-TLS port
    assert Imap(srv, tls=True).ok("NOOP")


def test_logout_says_bye_and_closes(example):
    for user in (None, ALICE):
        c = Imap(example, user=user)
        r = c.ok("LOGOUT")
        assert len(r.named("BYE")) == 1, r
        assert c.closed_by_peer()
    c = example.imap()
    typ, data = c.logout()
    assert typ == "BYE"


def test_noop_and_check_and_unknown_before_login(example):
    c = Imap(example, user=None)
    assert c.ok("NOOP").text
    r = c.cmd("SELECT INBOX")
    assert r.status == "BAD" and "authentic" in r.text.lower(), r
    r = c.cmd("FROBNICATE")
    assert r.status == "BAD", r


def test_enable(example):
    c = Imap(example, user=None)
    assert c.cmd("ENABLE IMAP4rev2").status == "BAD", "ENABLE before login"
    c.ok(f'LOGIN "{ALICE}" "{PASSWORD}"')
    r = c.ok("ENABLE IMAP4rev2 UTF8=ACCEPT QRESYNC XUNKNOWN")
    enabled = r.named("ENABLED")
    assert len(enabled) == 1, r
    words = {w.upper() for w in enabled[0].decode().split()[2:]}
    assert words == {"IMAP4REV2", "UTF8=ACCEPT", "QRESYNC"}, enabled
    # enabling again reports nothing new
    r = c.ok("ENABLE QRESYNC")
    assert r.named("ENABLED") == [b"* ENABLED"], r
    # IMAP4rev2 semantics: no RECENT in SELECT, LIST in SELECT; QRESYNC implies HIGHESTMODSEQ
    r = c.ok("SELECT INBOX")
    assert r.named("RECENT") == []
    assert r.code_value("HIGHESTMODSEQ") is not None
    assert r.named("LIST"), r


def test_enable_imap4rev1_client_gets_recent(example):
    c = Imap(example)
    r = c.ok("SELECT INBOX")
    assert r.named("RECENT") == [b"* 0 RECENT"], r


def test_id(example):
    c = Imap(example, user=None)
    r = c.ok('ID ("name" "pytest" "version" "1")')
    ids = r.named("ID")
    assert len(ids) == 1
    v = parse(ids[0])[2]
    fields = {v[i].decode().lower(): v[i + 1] for i in range(0, len(v), 2)}
    assert fields["name"] == b"Yubin"
    assert c.ok("ID NIL").named("ID")


def test_namespace(example):
    c = Imap(example)
    r = c.ok("NAMESPACE")
    assert r.named("NAMESPACE") == [b'* NAMESPACE (("" "/")) NIL NIL'], r
    i = example.imap()
    typ, data = i.namespace()
    assert typ == "OK" and data == [b'(("" "/")) NIL NIL']
