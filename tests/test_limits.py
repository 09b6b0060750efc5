"""Limits per IP, per tenant and per account (issue 6), set by the CLI on a running server.

What an operator checks: one address cannot hold more than its share of connections (over all
protocols), an account and a tenant cannot open more sessions than they are allowed, a client
that sends too many commands a minute is told to slow down, a tenant's hourly inbound budget
and its largest message size are enforced on the MX and LMTP ports, and /metrics shows the
sessions by protocol and tenant and every refusal by its reason.
"""

import smtplib
import time

import pytest

from yubintest import (ALICE, DOMAIN, HOST, PASSWORD, RawImap, RawPop3, RawSession,
                       make_message, parse_kv)

BOB = "bob@example.test"


def metric(server, name: str, **labels) -> float:
    _, body = server.http("/metrics")
    total = 0.0
    for line in body.splitlines():
        if line.startswith("#") or not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def imap_login(server, user, source="127.0.0.1"):
    c = RawImap(HOST, server.imap_port, source=source)
    return c, c.cmd("l", f'LOGIN "{user}" "{PASSWORD}"')[-1]


@pytest.fixture
def limited(make_server):
    def make(**limits):
        srv = make_server(config={"limits": limits} if limits else None)
        srv.setup_example()
        return srv
    return make


def test_connections_per_ip_count_every_protocol(limited):
    srv = limited(connections_per_ip=3)
    held = [RawImap(HOST, srv.imap_port) for _ in range(2)]
    held.append(RawPop3(HOST, srv.pop3_port))
    assert all(c.greeting.startswith((b"* OK", b"+OK")) for c in held)
    with RawImap(HOST, srv.imap_port) as over:
        assert over.greeting.startswith(b"* BYE [UNAVAILABLE]"), over.greeting
    with RawPop3(HOST, srv.pop3_port) as over:
        assert over.greeting.startswith(b"-ERR [SYS/TEMP]"), over.greeting
    with RawSession(HOST, srv.smtp_port) as over:
        assert over.greeting[0] == 421 and over.greeting[1].startswith("4.7.0")
    # Another address has its own share.
    with RawImap(HOST, srv.imap_port, source="127.0.0.2") as other:
        assert other.greeting.startswith(b"* OK")
    held.pop().close()
    time.sleep(0.2)
    with RawImap(HOST, srv.imap_port) as again:
        assert again.greeting.startswith(b"* OK")
    for c in held:
        c.close()
    assert metric(srv, "yubin_rejected_total", protocol="imap", reason="ip_connections") == 1
    assert metric(srv, "yubin_rejected_total", protocol="smtp", reason="ip_connections") == 1


def test_account_and_tenant_sessions_set_by_the_cli_apply_at_once(limited):
    srv = limited()
    srv.admin("account", "limits", ALICE, "--connections", "2")
    info = parse_kv(srv.admin("account", "show", ALICE).stdout)
    assert info["connections"] == "2 (account)"
    first, ok1 = imap_login(srv, ALICE)
    second, ok2 = imap_login(srv, ALICE)
    assert b"l OK" in ok1 and b"l OK" in ok2
    third, refused = imap_login(srv, ALICE)
    assert b"l NO [LIMIT]" in refused, refused
    third.close()
    with RawPop3(HOST, srv.pop3_port) as p:
        assert p.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert p.cmd(f"PASS {PASSWORD}").startswith(b"-ERR [IN-USE]")
    with srv.submission(user=None) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, PASSWORD)
        assert e.value.smtp_code == 454
    assert metric(srv, "yubin_sessions", protocol="imap", tenant=DOMAIN) == 2
    assert metric(srv, "yubin_rejected_total", protocol="imap", reason="account_sessions") == 1
    assert metric(srv, "yubin_tenant_rejected_total", protocol="pop3", reason="account_sessions",
                  tenant=DOMAIN) == 1

    # The tenant's limit counts all its accounts: alice holds 2 of 3.
    srv.admin("domain", "limits", DOMAIN, "--connections", "3")
    assert parse_kv(srv.admin("domain", "show", DOMAIN).stdout)["connections"] == "3 (domain)"
    bob1, ok = imap_login(srv, BOB)
    assert b"l OK" in ok
    bob2, refused = imap_login(srv, BOB)
    assert b"l NO [LIMIT]" in refused and b"domain" in refused, refused
    bob2.close()
    assert metric(srv, "yubin_sessions", tenant=DOMAIN) == 3

    # "default" clears the overrides; closed sessions give their places back.
    srv.admin("account", "limits", ALICE, "--connections", "default")
    srv.admin("domain", "limits", DOMAIN, "--connections", "default")
    assert "(server default)" in parse_kv(srv.admin("account", "show", ALICE).stdout)["connections"]
    extra, ok = imap_login(srv, ALICE)
    assert b"l OK" in ok, ok
    for c in (first, second, bob1, extra):
        c.cmd("z", "LOGOUT")
        c.close()
    deadline = time.monotonic() + 5
    while metric(srv, "yubin_sessions", tenant=DOMAIN) != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(srv, "yubin_sessions", tenant=DOMAIN) == 0


def test_commands_per_minute_are_refused_after_a_delay(limited):
    srv = limited(command_refusal_delay_ms=300)
    srv.admin("account", "limits", ALICE, "--commands-per-minute", "5")
    c, ok = imap_login(srv, ALICE)
    with c:
        assert b"l OK" in ok
        replies = []
        for i in range(5):
            replies.append(c.cmd(f"n{i}", "NOOP")[-1])
        started = time.monotonic()
        over = c.cmd("n9", "NOOP")[-1]
        assert time.monotonic() - started >= 0.25
        assert all(b" OK " in r for r in replies), replies
        assert over.startswith(b"n9 NO [LIMIT]"), over
        assert c.cmd("z", "LOGOUT")[-1].startswith(b"z OK")
    # POP3 shares the account's budget (it is spent).
    with RawPop3(HOST, srv.pop3_port) as p:
        p.cmd(f"USER {ALICE}")
        assert p.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert p.cmd("STAT").startswith(b"-ERR [SYS/TEMP]")
        assert p.cmd("QUIT").startswith(b"+OK")
    # Bob has his own.
    c, ok = imap_login(srv, BOB)
    with c:
        assert all(c.cmd(f"b{i}", "NOOP")[-1].startswith(f"b{i} OK".encode()) for i in range(8))
    assert metric(srv, "yubin_tenant_rejected_total", reason="command_rate", tenant=DOMAIN) >= 2
    # Submission counts commands after AUTH the same way.
    srv.admin("account", "limits", BOB, "--commands-per-minute", "3")
    with srv.submission(user=BOB) as s:
        assert [s.noop()[0] for _ in range(3)] == [250, 250, 250]
        code, text = s.noop()
        assert (code, text[:5]) == (451, b"4.7.1"), (code, text)


def send(srv, port_kind, rcpt, msg=None, size=None):
    """MAIL/RCPT/DATA over a raw session; returns the RCPT reply and, if accepted, DATA's."""
    with RawSession(HOST, srv.smtp_port if port_kind == "smtp" else srv.lmtp_port) as s:
        assert s.cmd("LHLO c.test" if port_kind == "lmtp" else "EHLO c.test")[0] == 250
        mail = "MAIL FROM:<someone@remote.test>" + (f" SIZE={size}" if size else "")
        assert s.cmd(mail)[0] == 250
        rcpt_reply = s.cmd(f"RCPT TO:<{rcpt}>")
        if rcpt_reply[0] != 250:
            return rcpt_reply, None
        assert s.cmd("DATA")[0] == 354
        body = msg or make_message("someone@remote.test", rcpt)
        s.send(body + b".\r\n")
        return rcpt_reply, s.reply()


def test_inbound_messages_per_hour_per_tenant(limited):
    srv = limited()
    srv.admin("domain", "limits", DOMAIN, "--inbound-messages-per-hour", "3")
    for _ in range(2):
        rcpt, data = send(srv, "smtp", ALICE)
        assert rcpt[0] == 250 and data[0] == 250, (rcpt, data)
    rcpt, data = send(srv, "lmtp", BOB)  # LMTP takes from the same budget
    assert rcpt[0] == 250 and data[0] == 250
    for kind in ("smtp", "lmtp"):
        rcpt, _ = send(srv, kind, ALICE)
        assert rcpt[0] == 451 and rcpt[1].startswith("4.7.1"), rcpt
    assert len(srv.messages(ALICE)) == 2
    assert metric(srv, "yubin_tenant_rejected_total", protocol="smtp",
                  reason="tenant_inbound_rate", tenant=DOMAIN) == 1
    assert metric(srv, "yubin_tenant_rejected_total", protocol="lmtp",
                  reason="tenant_inbound_rate", tenant=DOMAIN) == 1
    assert parse_kv(srv.admin("domain", "show", DOMAIN).stdout)["inbound_messages_per_hour"] \
        == "3 (domain)"


def test_inbound_messages_per_hour_per_client_ip(limited):
    srv = limited(ip_inbound_messages_per_hour=2)
    for _ in range(2):
        assert send(srv, "smtp", ALICE)[1][0] == 250
    with RawSession(HOST, srv.smtp_port) as s:
        assert s.cmd("EHLO c.test")[0] == 250
        code, text = s.cmd("MAIL FROM:<someone@remote.test>")
        assert code == 451 and text.startswith("4.7.1"), (code, text)
    with RawSession(HOST, srv.smtp_port, source="127.0.0.2") as s:
        assert s.cmd("EHLO c.test")[0] == 250
        assert s.cmd("MAIL FROM:<someone@remote.test>")[0] == 250
    assert metric(srv, "yubin_rejected_total", protocol="smtp", reason="ip_inbound_rate") == 1


def test_tenant_max_message_size(limited):
    srv = limited()
    srv.admin("domain", "limits", DOMAIN, "--max-message-size", "2000")
    big = make_message("someone@remote.test", ALICE, body="x" * 70 + "\r\n" * 1 + ("y" * 70 + "\r\n") * 60)
    assert len(big) > 2000
    rcpt, _ = send(srv, "smtp", ALICE, size=len(big))
    assert rcpt[0] == 552 and rcpt[1].startswith("5.3.4"), rcpt
    rcpt, data = send(srv, "smtp", ALICE, msg=big)
    assert rcpt[0] == 250 and data[0] == 552 and data[1].startswith("5.3.4"), data
    rcpt, data = send(srv, "lmtp", BOB, msg=big)
    assert data[0] == 552, data
    assert send(srv, "smtp", ALICE)[1][0] == 250  # a small one still arrives
    assert len(srv.messages(ALICE)) == 1
    # IMAP APPEND and submission apply the same limit to the tenant's accounts.
    c, ok = imap_login(srv, ALICE)
    with c:
        assert b"APPENDLIMIT=2000" in b"".join(c.cmd("c", "CAPABILITY"))
        c.send(b"a APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        assert c.read_until_tagged("a")[-1].startswith(b"a NO [TOOBIG]")
    with srv.submission() as s:
        code, text = s.mail(ALICE, options=[f"SIZE={len(big)}"])
        assert code == 552, (code, text)
    # An account's own limit wins over its domain's.
    srv.admin("account", "limits", ALICE, "--max-message-size", "100000")
    info = parse_kv(srv.admin("account", "show", ALICE).stdout)
    assert info["max_message_size"] == "100000 (account)"
    c, ok = imap_login(srv, ALICE)
    with c:
        c.send(b"b APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        assert c.read_until_tagged("b")[-1].startswith(b"b OK")


def test_quota_and_old_domain_limits_invocation(limited):
    srv = limited()
    srv.admin("domain", "limits", DOMAIN, "--quota", "5000000", "--max-accounts", "9")
    srv.admin("domain", "limits", DOMAIN, "--max-accounts", "10")
    info = parse_kv(srv.admin("domain", "show", DOMAIN).stdout)
    assert (info["quota"], info["max_accounts"]) == ("5000000", "10")
    srv.admin("account", "limits", ALICE, "--quota", "12345", "--messages-per-hour", "1")
    info = parse_kv(srv.admin("account", "show", ALICE).stdout)
    assert info["quota"] == "12345" and info["messages_per_hour"] == "1 (account)"
    # The account's hourly sending budget replaces [sending]'s 500.
    with srv.submission() as s:
        s.sendmail(ALICE, [BOB], make_message(ALICE, BOB))
        code, text = s.mail(ALICE)
        assert (code, text[:5]) == (451, b"4.7.1"), (code, text)
    bad = srv.admin("account", "limits", ALICE, "--connections", "lots", check=False)
    assert bad.rc != 0 and "connections" in bad.stderr
