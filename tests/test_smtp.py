"""SMTP (MX) behaviour over real sockets, checked the way a user would:
by the server's replies and by what ends up in the mailbox (`yubin admin message show`)."""

import os
import random
import socket
import ssl
import string
import subprocess
import time
import tomllib

import pytest

from yubintest import (HOSTNAME, find_binary, assert_reply, assert_stored, make_message, new_msgid,
                       only_message, parse_kv, text, unverified_tls_context)

SENDER = "sender@remote.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
EHLO_KEYWORDS = ["pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "starttls",
                 "chunking", "dsn"]


def default_config():
    p = subprocess.run([find_binary(), "config", "default"], capture_output=True, check=True)
    return tomllib.loads(p.stdout.decode())


def send(server, rcpts, msg, sender=SENDER, **kw):
    """Deliver with smtplib.sendmail; every recipient must be accepted."""
    with server.smtp() as s:
        refused = s.sendmail(sender, rcpts, msg, **kw)
    assert refused == {}, refused


def raw_ehlo(server, proto="smtp"):
    r = server.raw(proto)
    assert r.greeting[0] == 220, r.greeting
    assert r.cmd("EHLO client.test")[0] == 250
    return r


def inbox_count(server, account):
    return len(server.messages(account))


# ---------------------------------------------------------------- greeting, EHLO, HELO


def test_greeting_and_ehlo_keywords(example):
    with example.smtp() as s:
        code, msg = s.greeting
        assert code == 220
        assert text(msg).split()[:3] == [HOSTNAME, "ESMTP", "Yubin"], msg
        code, msg = s.ehlo("client.test")
        assert code == 250
        assert text(msg).splitlines()[0].startswith(HOSTNAME), msg
        missing = [k for k in EHLO_KEYWORDS if not s.has_extn(k)]
        assert not missing, f"EHLO lacks {missing}: {msg!r}"
        assert s.esmtp_features["size"] == str(default_config()["smtp"]["max_message_size"])


def test_helo_delivers(example):
    msg = make_message(SENDER, ALICE, subject="via HELO")
    with example.smtp() as s:
        assert_reply(s.helo("oldclient.test"), 250)
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(msg), 250, "2.0.0")
    assert_stored(only_message(example, ALICE), msg, SENDER, with_proto="SMTP")


# ---------------------------------------------------------------- delivery and storage


def test_delivery_is_stored_with_trace_headers(example):
    msgid = new_msgid("plain")
    msg = make_message(SENDER, ALICE, subject="Plain delivery", msgid=msgid,
                       body="Hello Alice,\r\n\r\nthis is a test.\r\n-- \r\nSender\r\n")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        code, reply = s.data(msg)
    assert code == 250, reply
    assert text(reply).startswith("2.0.0 ") and len(text(reply)) > len("2.0.0 "), (
        f"DATA reply should be '250 2.0.0 <queue id>': {reply!r}")

    rows = example.messages(ALICE)
    assert [(r.uid, r.message_id) for r in rows] == [(1, msgid)]
    stored = example.show(ALICE, 1)
    assert rows[0].size == len(stored)
    assert_stored(stored, msg, SENDER, with_proto="ESMTP")
    assert example.messages(BOB) == []


def test_null_sender_is_accepted(example):
    msg = make_message("mailer-daemon@remote.test", ALICE, subject="bounce")
    send(example, [ALICE], msg, sender="")
    assert_stored(only_message(example, ALICE), msg, "")


def test_dot_stuffed_lines_survive(example):
    body = ".\r\n..\r\n.hidden line\r\n...three dots\r\nnot last.\r\n. space\r\n"
    msg = make_message(SENDER, ALICE, body=body)
    send(example, [ALICE], msg)  # smtplib dot-stuffs on the wire
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_dot_unstuffing_on_the_wire(example):
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    # RFC 5321 4.2: code, one space, text (no empty enhanced-status field)
    assert r.cmd("DATA") == (354, "End data with <CR><LF>.<CR><LF>")
    head = b"Subject: dots\r\n\r\n"
    r.send(head + b"..leading dot\r\n...two\r\n.\r\n")
    assert_reply(r.reply(), 250, "2.0.0")
    r.close()
    stored = only_message(example, ALICE)
    assert stored.endswith(head + b".leading dot\r\n..two\r\n"), stored[-200:]


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n"],
                         ids=["LF.LF", "LF.CRLF", "CRLF.LF"])
def test_data_ends_only_at_crlf_dot_crlf(example, fake_end):
    """SMTP smuggling: a bare-LF 'end of data' must not end the message."""
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: first\r\n\r\nline1" + fake_end
           + f"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode()
           + b"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
    code, reply = r.reply()
    assert code in (250, 550, 554, 500, 501), (code, reply)  # accepted whole, or refused whole
    # exactly one reply was produced for all of that: the next reply is QUIT's
    assert r.cmd("QUIT")[0] == 221
    r.close()
    assert example.messages(BOB) == [], "a smuggled second message was delivered"
    rows = example.messages(ALICE)
    if code == 250:
        assert len(rows) == 1
        assert b"smuggled body" in example.show(ALICE, rows[0].uid)
    else:
        assert rows == []


def test_8bit_utf8_body(example):
    body = "Grüße aus Köln — 日本語のテキスト ✉\r\nÆøå\r\n"
    msg = make_message(SENDER, ALICE, subject="8bit",
                       extra_headers="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Transfer-Encoding: 8bit\r\n", body=body)
    send(example, [ALICE], msg, mail_options=["BODY=8BITMIME"])
    stored = only_message(example, ALICE)
    assert_stored(stored, msg, SENDER)
    assert body.encode() in stored


def test_smtputf8_sender(example):
    sender = "jöran@bücher.test"
    msg = make_message(sender, ALICE, subject="utf8 envelope", body="Hej då\r\n")
    send(example, [ALICE], msg, sender=sender, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert_stored(only_message(example, ALICE), msg, sender)


def test_one_mebibyte_message(example):
    rnd = random.Random(42)
    alphabet = string.ascii_letters + string.digits + "+/"
    lines = ["".join(rnd.choice(alphabet) for _ in range(76)) for _ in range(1024 * 1024 // 78 + 1)]
    body = "\r\n".join(lines) + "\r\n"
    msg = make_message(SENDER, ALICE, subject="big", body=body)
    assert len(msg) > 1024 * 1024
    send(example, [ALICE], msg)
    rows = example.messages(ALICE)
    assert len(rows) == 1
    stored = example.show(ALICE, rows[0].uid)
    assert rows[0].size == len(stored)
    assert_stored(stored, msg, SENDER)


def test_long_body_line_is_not_a_command_line(example):
    """max_line_length limits command lines; a 10,000-byte body line is delivered intact."""
    msg = make_message(SENDER, ALICE, body="x" * 10000 + "\r\nend\r\n")
    send(example, [ALICE], msg)
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_three_recipients_each_get_it_once(example):
    example.admin("account", "add", "carol@example.test", "--password", "pw-carol")
    msgid = new_msgid("multi")
    msg = make_message(SENDER, "undisclosed-recipients:;", msgid=msgid)
    send(example, [ALICE, BOB, "carol@example.test"], msg)
    for account in (ALICE, BOB, "carol@example.test"):
        rows = example.messages(account)
        assert [r.message_id for r in rows] == [msgid], (account, rows)
        stored = example.show(account, rows[0].uid)
        assert_stored(stored, msg, SENDER)
        # no copy reveals the other (Bcc) recipients, e.g. in a Received "for" clause
        others = {ALICE, BOB, "carol@example.test"} - {account}
        assert not [o for o in others if o.encode() in stored], stored[:400]
    assert example.admin("check").stdout.strip() == "ok"


def test_uids_ascend_per_mailbox(example):
    ids = [new_msgid(f"n{i}") for i in range(3)]
    with example.smtp() as s:
        for msgid in ids:
            assert s.sendmail(SENDER, [ALICE], make_message(SENDER, ALICE, msgid=msgid)) == {}
    rows = example.messages(ALICE)
    assert [(r.uid, r.message_id) for r in rows] == [(1, ids[0]), (2, ids[1]), (3, ids[2])]


def test_message_without_message_id_is_listed_with_dash(example):
    msg = b"From: <sender@remote.test>\r\nSubject: no id\r\n\r\nbody\r\n"
    send(example, [ALICE], msg)
    rows = example.messages(ALICE)
    assert [(r.uid, r.message_id) for r in rows] == [(1, "-")]
    assert_stored(example.show(ALICE, 1), msg, SENDER)


def test_duplicate_recipients_get_one_copy(example):
    """RCPT alice twice, or alice plus an alias that expands to alice: one copy in her INBOX."""
    example.admin("alias", "add", "team@example.test", f"{ALICE},{BOB}")
    msgid = new_msgid("dup")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.rcpt(ALICE.upper()), 250)
        assert_reply(s.rcpt("team@example.test"), 250)
        assert_reply(s.data(make_message(SENDER, ALICE, msgid=msgid)), 250)
    assert [r.message_id for r in example.messages(ALICE)] == [msgid]
    assert [r.message_id for r in example.messages(BOB)] == [msgid]


def test_dsn_parameters_are_accepted(example):
    msg = make_message(SENDER, ALICE, subject="dsn")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER, ["RET=HDRS", "ENVID=QQ314159"]), 250)
        assert_reply(s.rcpt(ALICE, ["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{ALICE}"]), 250)
        assert_reply(s.data(msg), 250)
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_unknown_mail_parameter_is_refused(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        code, msg = s.docmd(f"MAIL FROM:<{SENDER}> FROBNICATE=yes")
        assert code in (555, 501) and text(msg).startswith("5.5.4"), (code, msg)
        assert_reply(s.mail(SENDER), 250)


# ---------------------------------------------------------------- recipient resolution


def test_unknown_user(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt("nobody@example.test"), 550, "5.1.1")
        assert_reply(s.rcpt("nobody+tag@example.test"), 550, "5.1.1")


def test_never_an_open_relay(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt("someone@elsewhere.test"), 550, "5.7.1")
        assert_reply(s.rcpt("someone@sub.example.test"), 550, "5.7.1")
        code, msg = s.rcpt("someone%elsewhere.test@example.test")
        assert code >= 500, f"percent-hack recipient accepted: {code} {msg!r}"
        code, msg = s.docmd("RCPT TO:<@example.test:someone@elsewhere.test>")
        assert code >= 400, f"source-routed recipient accepted: {code} {msg!r}"
        assert_reply(s.rcpt(ALICE), 250)


def test_local_sender_cannot_relay_without_auth(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        code, msg = s.mail(ALICE)
        if code == 250:  # refusing an unauthenticated local sender at MAIL is fine too
            assert_reply(s.rcpt("someone@elsewhere.test"), 550, "5.7.1")
        else:
            assert code >= 500, (code, msg)


def test_addresses_are_case_insensitive(example):
    msg = make_message(SENDER, "ALICE@Example.TEST")
    send(example, ["ALICE@Example.TEST"], msg)
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_plus_addressing(example):
    msg = make_message(SENDER, "alice+news@example.test")
    send(example, ["alice+news@example.test"], msg)
    assert_stored(only_message(example, ALICE), msg, SENDER)
    assert example.messages(BOB) == []


def test_alias_single_target(example):
    example.admin("alias", "add", "sales@example.test", ALICE)
    msg = make_message(SENDER, "sales@example.test")
    send(example, ["sales@example.test"], msg)
    assert_stored(only_message(example, ALICE), msg, SENDER)
    assert example.messages(BOB) == []


def test_alias_several_targets(example):
    example.admin("alias", "add", "team@example.test", f"{ALICE},{BOB}")
    msgid = new_msgid("team")
    msg = make_message(SENDER, "team@example.test", msgid=msgid)
    send(example, ["team@example.test"], msg)
    for account in (ALICE, BOB):
        assert [r.message_id for r in example.messages(account)] == [msgid], account


def test_alias_chain(example):
    example.admin("alias", "add", "first@example.test", "second@example.test")
    example.admin("alias", "add", "second@example.test", BOB)
    msg = make_message(SENDER, "first@example.test")
    send(example, ["first@example.test"], msg)
    assert_stored(only_message(example, BOB), msg, SENDER)


def test_alias_loop_is_refused_not_fatal(example):
    example.admin("alias", "add", "loop1@example.test", "loop2@example.test")
    example.admin("alias", "add", "loop2@example.test", "loop1@example.test")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        code, msg = s.rcpt("loop1@example.test")
        assert 400 <= code < 600, f"alias loop accepted: {code} {msg!r}"
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(make_message(SENDER, ALICE)), 250)
    assert inbox_count(example, ALICE) == 1


def test_catch_all(example):
    example.admin("alias", "add", "@example.test", BOB)
    to_unknown = make_message(SENDER, "whoever@example.test", msgid=new_msgid("catch"))
    to_alice = make_message(SENDER, ALICE, msgid=new_msgid("direct"))
    send(example, ["whoever@example.test"], to_unknown)
    send(example, [ALICE], to_alice)
    assert_stored(only_message(example, BOB), to_unknown, SENDER)
    assert_stored(only_message(example, ALICE), to_alice, SENDER)
    # the catch-all covers example.test only
    with example.smtp() as s:
        s.ehlo("client.test")
        s.mail(SENDER)
        assert_reply(s.rcpt("whoever@elsewhere.test"), 550, "5.7.1")


# ---------------------------------------------------------------- account state


def test_over_quota_account_is_refused_temporarily(example):
    send(example, [ALICE], make_message(SENDER, ALICE))
    used = int(parse_kv(example.admin("account", "show", ALICE).stdout)["used"])
    assert used > 100
    example.admin("account", "quota", ALICE, "100")  # now over quota
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 452, "4.2.2")
        assert_reply(s.rcpt(BOB), 250)
        assert_reply(s.data(make_message(SENDER, BOB)), 250)
    assert inbox_count(example, ALICE) == 1
    example.admin("account", "quota", ALICE, "0")  # unlimited again
    send(example, [ALICE], make_message(SENDER, ALICE))
    assert inbox_count(example, ALICE) == 2


def test_message_that_would_exceed_quota_is_not_stored(example):
    send(example, [ALICE], make_message(SENDER, ALICE))
    used = int(parse_kv(example.admin("account", "show", ALICE).stdout)["used"])
    example.admin("account", "quota", ALICE, str(used + 1000))
    big = make_message(SENDER, ALICE, body="y" * 5000 + "\r\n")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)  # no SIZE=: the server learns the size only at DATA
        assert_reply(s.rcpt(ALICE), 250)  # not over quota yet
        code, msg = s.data(big)
        assert (code, text(msg)[:5]) in ((452, "4.2.2"), (552, "5.2.2")), (code, msg)
    assert inbox_count(example, ALICE) == 1
    assert int(parse_kv(example.admin("account", "show", ALICE).stdout)["used"]) == used


def test_domain_quota_is_enforced(example):
    example.admin("domain", "add", "small.test", "--quota", "3000")
    example.admin("account", "add", "carol@small.test", "--password", "pw")
    first = make_message(SENDER, "carol@small.test", body="a" * 500 + "\r\n")
    send(example, ["carol@small.test"], first)
    used = int(parse_kv(example.admin("domain", "show", "small.test").stdout)["used"])
    assert used == len(example.show("carol@small.test", 1))
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        code, msg = s.rcpt("carol@small.test")
        if code == 250:
            code, msg = s.data(make_message(SENDER, "carol@small.test", body="b" * 5000 + "\r\n"))
        assert code in (452, 552) and text(msg)[1:5] in (".2.2", ".3.1"), (code, msg)
    assert inbox_count(example, "carol@small.test") == 1
    assert int(parse_kv(example.admin("domain", "show", "small.test").stdout)["used"]) == used


def test_disabled_account(example):
    example.admin("account", "disable", BOB)
    with example.smtp() as s:
        s.ehlo("client.test")
        s.mail(SENDER)
        assert_reply(s.rcpt(BOB), 550, "5.2.1")
    example.admin("account", "enable", BOB)
    send(example, [BOB], make_message(SENDER, BOB))
    assert inbox_count(example, BOB) == 1


# ---------------------------------------------------------------- protocol errors


def test_sequence_errors(example):
    with example.smtp() as s:
        assert_reply(s.mail(SENDER), 503, "5.5.1")  # before EHLO
        s.ehlo("client.test")
        assert_reply(s.rcpt(ALICE), 503, "5.5.1")  # before MAIL
        assert_reply(s.docmd("DATA"), 503, "5.5.1")  # before MAIL
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.mail(SENDER), 503, "5.5.1")  # nested MAIL
        code, msg = s.docmd("DATA")  # no recipient yet
        assert code in (503, 554) and text(msg).startswith("5.5.1"), (code, msg)
        assert_reply(s.rcpt("nobody@example.test"), 550, "5.1.1")
        code, msg = s.docmd("DATA")  # still no accepted recipient
        assert code in (503, 554) and text(msg).startswith("5.5.1"), (code, msg)
        # the session is still usable
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(make_message(SENDER, ALICE)), 250, "2.0.0")
        # EHLO in the middle of a transaction resets it (RFC 5321 4.1.4)
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        s.ehlo("client.test")
        code, msg = s.docmd("DATA")
        assert code in (503, 554), f"DATA after EHLO reset: {code} {msg!r}"
    assert inbox_count(example, ALICE) == 1


def test_bdat_without_recipient_is_refused_and_chunk_skipped(example):
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    r.send(b"BDAT 8 LAST\r\nNOOP\r\nXX")  # the chunk looks like a command; it must be skipped
    code, msg = r.reply()
    assert code in (503, 554) and msg.startswith("5.5.1"), (code, msg)
    assert_reply(r.cmd("NOOP"), 250, "2.0.0")
    r.close()


def test_syntax_errors(example):
    with example.smtp() as s:
        assert_reply(s.docmd("EHLO"), 501, "5.5.4")
        s.ehlo("client.test")
        assert_reply(s.docmd("MAIL"), 501, "5.5.4")
        assert_reply(s.docmd("MAIL TO:<a@remote.test>"), 501, "5.5.4")
        assert_reply(s.docmd("MAIL FROM:<hi@@invalid.test>"), 501, "5.1.7")
        assert_reply(s.docmd("MAIL FROM:<.dot@invalid.test>"), 501, "5.1.7")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.docmd("RCPT"), 501, "5.5.4")
        assert_reply(s.docmd("RCPT TO:<hi@@example.test>"), 501, "5.1.3")
        assert_reply(s.docmd("RCPT TO:<alice@exa..mple.test>"), 501, "5.1.3")
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(make_message(SENDER, ALICE)), 250)
    assert inbox_count(example, ALICE) == 1


def test_unknown_command(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.docmd("FROBNICATE"), 500, "5.5.1")
        assert_reply(s.docmd("XYZZY", "plugh"), 500, "5.5.1")
        assert_reply(s.noop(), 250, "2.0.0")


def test_vrfy_rset_noop_quit(example):
    with example.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.verify(ALICE), 252, "2.5.0")
        assert_reply(s.verify("nobody@example.test"), 252, "2.5.0")  # no user enumeration
        assert_reply(s.noop(), 250, "2.0.0")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.rset(), 250, "2.0.0")
        # RSET dropped the transaction
        code, msg = s.docmd("DATA")
        assert code == 503, (code, msg)
        assert_reply(s.docmd("QUIT"), 221, "2.0.0")
    assert inbox_count(example, ALICE) == 0


def test_quit_closes_connection(example):
    r = raw_ehlo(example)
    assert_reply(r.cmd("QUIT"), 221, "2.0.0")
    assert r.closed_by_peer(), "server kept the connection open after QUIT"


@pytest.fixture
def limited(make_server):
    srv = make_server({"smtp": {"max_message_size": 65536, "max_recipients": 3}})
    srv.setup_example("carol", "dave")
    return srv


def test_size_limit_at_mail_from(limited):
    with limited.smtp() as s:
        s.ehlo("client.test")
        assert s.esmtp_features["size"] == "65536"
        assert_reply(s.mail(SENDER, ["SIZE=100000"]), 552, "5.3.4")
        assert_reply(s.mail(SENDER, ["SIZE=1000"]), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(make_message(SENDER, ALICE)), 250)
    assert inbox_count(limited, ALICE) == 1


def test_size_limit_at_end_of_data(limited):
    big = make_message(SENDER, ALICE, body=("z" * 998 + "\r\n") * 100)  # ~100 KB
    small = make_message(SENDER, ALICE, subject="small one")
    with limited.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(big), 552, "5.3.4")
        # the session goes on
        assert_reply(s.mail(SENDER), 250)
        assert_reply(s.rcpt(ALICE), 250)
        assert_reply(s.data(small), 250)
    assert_stored(only_message(limited, ALICE), small, SENDER)


def test_too_many_recipients(limited):
    msgid = new_msgid("rcptlimit")
    with limited.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail(SENDER), 250)
        for rcpt in (ALICE, BOB, "carol@example.test"):
            assert_reply(s.rcpt(rcpt), 250)
        assert_reply(s.rcpt("dave@example.test"), 452, "4.5.3")
        assert_reply(s.data(make_message(SENDER, ALICE, msgid=msgid)), 250)
    for account in (ALICE, BOB, "carol@example.test"):
        assert [r.message_id for r in limited.messages(account)] == [msgid]
    assert limited.messages("dave@example.test") == []


def test_command_limit(make_server):
    srv = make_server({"smtp": {"max_commands": 10}})
    r = raw_ehlo(srv)  # EHLO is command 1 of 10
    replies = []
    for _ in range(12):
        try:
            replies.append(r.cmd("NOOP"))
        except (ConnectionError, OSError):
            break
        if replies[-1][0] == 421:
            break
    codes = [c for c, _ in replies]
    assert 421 in codes, f"no 421 after {len(codes) + 1} commands with max_commands=10: {replies}"
    first = codes.index(421)
    assert all(c == 250 for c in codes[:first]), replies
    assert first + 2 in (10, 11), f"421 came at command {first + 2}, expected the 10th or 11th"
    assert replies[first][1].startswith("4.7.0"), replies[first]
    assert r.closed_by_peer(), "connection not closed after 421"


def test_error_limit_closes_session(make_server):
    srv = make_server({"smtp": {"max_errors": 5}})
    r = raw_ehlo(srv)
    codes = []
    for _ in range(8):
        try:
            codes.append(r.cmd("FROBNICATE")[0])
        except (ConnectionError, OSError):
            break
        if codes[-1] == 421:
            break
    assert codes and codes[-1] == 421, f"no 421 after {len(codes)} errors with max_errors=5: {codes}"
    assert 5 <= len(codes) <= 6, codes
    assert r.closed_by_peer()


def test_max_connections(make_server):
    srv = make_server({"smtp": {"max_connections": 3}})
    held = [srv.raw() for _ in range(3)]
    try:
        for r in held:
            assert r.greeting[0] == 220
        extra = socket.create_connection(("127.0.0.1", srv.smtp_port), timeout=10)
        try:
            data = extra.recv(512)
        except ConnectionResetError:
            data = b""
        extra.close()
        assert data == b"" or data.startswith(b"421"), f"4th connection got {data!r}"
    finally:
        for r in held:
            r.close()
    # the slots are free again
    deadline = time.monotonic() + 5
    while True:
        r = srv.raw()
        if r.greeting[0] == 220 or time.monotonic() > deadline:
            break
        r.close()
        time.sleep(0.2)
    assert r.greeting[0] == 220, r.greeting
    r.close()


def test_command_timeout(make_server):
    srv = make_server({"smtp": {"command_timeout_secs": 2}})
    r = raw_ehlo(srv)
    t0 = time.monotonic()
    code, msg = r.reply()  # nothing sent: the server gives up
    waited = time.monotonic() - t0
    assert code == 421 and msg.startswith("4.4.2"), (code, msg)
    assert 1 < waited < 10, waited
    assert r.closed_by_peer()


def test_data_timeout_discards_partial_message(make_server):
    srv = make_server({"smtp": {"data_timeout_secs": 2}})
    srv.setup_example()
    r = raw_ehlo(srv)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: stalled\r\n\r\nhalf")
    code, msg = r.reply()
    assert code == 421 and msg.startswith("4.4.2"), (code, msg)
    assert r.closed_by_peer()
    assert srv.messages(ALICE) == []


def test_line_too_long(example):
    r = raw_ehlo(example)
    assert_reply(r.cmd("NOOP " + "x" * 5000), 500, "5.5.2")
    assert_reply(r.cmd("NOOP"), 250, "2.0.0")
    # a much longer line still yields one reply and the session stays in sync
    assert_reply(r.cmd("RCPT TO:<" + "a" * 200_000 + "@example.test>"), 500, "5.5.2")
    assert_reply(r.cmd("NOOP"), 250, "2.0.0")
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: after long line\r\n\r\nok\r\n.\r\n")
    assert_reply(r.reply(), 250, "2.0.0")
    r.close()
    assert inbox_count(example, ALICE) == 1


def test_garbage_bytes_do_not_kill_the_session(example):
    r = raw_ehlo(example)
    for garbage in (b"\x00\x00\x00", b"\xff\xfe\xfd invalid utf-8", b"NO\x00OP", b"\x1b[2J\x07",
                    b"\xc3\x28\xa0\xa1", b"EHLO \x00"):
        r.send(garbage + b"\r\n")
        code, msg = r.reply()
        assert 500 <= code <= 554, f"garbage {garbage!r} got {code} {msg!r}"
    assert_reply(r.cmd("NOOP"), 250, "2.0.0")
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: still alive\r\n\r\nbinary \x00\xff in body\r\n.\r\n")
    assert_reply(r.reply(), 250, "2.0.0")
    r.close()
    assert only_message(example, ALICE).endswith(b"\r\n\r\nbinary \x00\xff in body\r\n")


def test_client_vanishing_mid_data_stores_nothing(example):
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: cut off\r\n\r\nthe line drops here")
    r.close()
    msg = make_message(SENDER, BOB)
    send(example, [BOB], msg)  # the server carries on
    assert_stored(only_message(example, BOB), msg, SENDER)
    assert example.messages(ALICE) == []


def test_invalid_utf8_addresses_are_refused(example):
    """Addresses must be valid UTF-8 (RFC 6531); bytes that are not are a bad address."""
    r = raw_ehlo(example)
    code, msg = r.cmd(b"MAIL FROM:<\xff\xfe@remote.test> SMTPUTF8")
    assert code == 501 and msg.startswith("5.1.7"), (code, msg)
    assert r.cmd(f"MAIL FROM:<{SENDER}> SMTPUTF8")[0] == 250
    code, msg = r.cmd(b"RCPT TO:<al\xffice@example.test>")
    assert code == 501 and msg.startswith("5.1.3"), (code, msg)
    r.close()


# ---------------------------------------------------------------- extensions


def test_pipelining(example):
    r = raw_ehlo(example)
    r.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nRCPT TO:<nobody@example.test>\r\n"
           f"RCPT TO:<{BOB}>\r\nDATA\r\n")
    replies = [r.reply() for _ in range(5)]
    assert [c for c, _ in replies] == [250, 250, 550, 250, 354], replies
    assert replies[2][1].startswith("5.1.1"), replies[2]
    msg = make_message(SENDER, ALICE, subject="pipelined")
    r.send(msg + b".\r\nMAIL FROM:<" + SENDER.encode() + b">\r\nRSET\r\nQUIT\r\n")
    replies = [r.reply() for _ in range(4)]
    assert [c for c, _ in replies] == [250, 250, 250, 221], replies
    r.close()
    assert_stored(only_message(example, ALICE), msg, SENDER)
    assert_stored(only_message(example, BOB), msg, SENDER)


def test_pipelined_burst_gets_every_reply_in_order(example):
    r = raw_ehlo(example)
    r.send("".join("RSET\r\n" if i % 2 else "NOOP\r\n" for i in range(200)))
    replies = [r.reply() for _ in range(200)]
    assert all(code == 250 for code, _ in replies), [x for x in replies if x[0] != 250][:3]
    assert_reply(r.cmd("QUIT"), 221)
    r.close()


def test_data_after_bdat_is_refused(example):
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    r.send(b"BDAT 7\r\nSubject")
    assert_reply(r.reply(), 250)
    code, msg = r.cmd("DATA")  # RFC 3030: no DATA once BDAT has started a message
    assert code == 503, (code, msg)
    assert_reply(r.cmd("RSET"), 250)
    r.close()
    assert example.messages(ALICE) == []


def test_rset_outside_a_transaction_keeps_the_ehlo(example):
    # Regression: RSET after EHLO with no transaction open forgot the EHLO, so the next MAIL got
    # 503 "Send EHLO or HELO first" (smtplib sends RSET after every refused MAIL).
    r = raw_ehlo(example)
    assert_reply(r.cmd("RSET"), 250)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    r.close()


def test_bdat_chunking(example):
    r = raw_ehlo(example)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    chunk1 = b"Subject: chunked\r\nMessage-ID: <bdat@client.test>\r\n\r\n..two dots stay\r\n.\r\nspl"
    chunk2 = b"it across chunks\r"
    chunk3 = b"\nlast line\r\n"
    r.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
    assert_reply(r.reply(), 250)
    # pipelined: two BDAT commands in one write
    r.send(b"BDAT %d\r\n" % len(chunk2) + chunk2 + b"BDAT %d LAST\r\n" % len(chunk3) + chunk3)
    assert_reply(r.reply(), 250)
    assert_reply(r.reply(), 250, "2.0.0")
    # a second transaction ending with an empty LAST chunk
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{BOB}>")[0] == 250
    zero = b"Subject: zero\r\n\r\nx\r\n"
    r.send(b"BDAT %d\r\n" % len(zero) + zero)
    assert_reply(r.reply(), 250)
    assert_reply(r.cmd("BDAT 0 LAST"), 250, "2.0.0")
    r.close()
    # BDAT data is not dot-stuffed: stored byte for byte
    assert_stored(only_message(example, ALICE), chunk1 + chunk2 + chunk3, SENDER)
    assert_stored(only_message(example, BOB), zero, SENDER)


def test_bdat_over_size_limit(limited):
    r = raw_ehlo(limited)
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    chunk = b"a" * 40000
    replies = []
    r.send(b"BDAT %d\r\n" % len(chunk) + chunk)
    replies.append(r.reply())
    r.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    replies.append(r.reply())
    assert any(c == 552 and m.startswith("5.3.4") for c, m in replies), replies
    assert_reply(r.cmd("NOOP"), 250)
    r.close()
    assert inbox_count(limited, ALICE) == 0


def test_starttls_delivery(example):
    msg = make_message(SENDER, ALICE, subject="over TLS")
    with example.smtp() as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls")
        assert_reply(s.starttls(context=unverified_tls_context()), 220, "2.0.0")
        assert isinstance(s.sock, ssl.SSLSocket)
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert not s.has_extn("starttls"), "STARTTLS still offered inside TLS"
        assert s.has_extn("pipelining") and s.has_extn("chunking")
        assert s.sendmail(SENDER, [ALICE], msg) == {}
    assert_stored(only_message(example, ALICE), msg, SENDER, with_proto="ESMTPS")


def test_tls_certificate_is_generated_and_kept(example):
    def peer_cert():
        with example.smtp() as s:
            s.ehlo("client.test")
            s.starttls(context=unverified_tls_context())
            return s.sock.getpeercert(binary_form=True)

    first = peer_cert()
    assert first
    tls_dir = os.path.join(example.data, "tls")
    assert os.path.isdir(tls_dir) and os.listdir(tls_dir), "no generated certificate under DATA/tls/"
    example.restart()
    assert peer_cert() == first, "self-signed certificate changed across a restart"


def test_starttls_drops_pipelined_plaintext(example):
    """Commands sent in plaintext right after STARTTLS must not run inside TLS (CVE-2011-0411)."""
    r = raw_ehlo(example)
    r.send(b"STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n")
    assert_reply(r.reply(), 220, "2.0.0")
    try:
        r.starttls()
    except (ssl.SSLError, OSError):
        return  # refusing the handshake is fine too
    code, msg = r.cmd("EHLO client.test")
    assert code == 250 and msg.splitlines()[0].startswith(HOSTNAME), (code, msg)
    # the injected MAIL was not executed: a MAIL now starts a fresh transaction
    assert_reply(r.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    r.close()


def test_plaintext_after_starttls_handshake_fails_cleanly(example):
    """A client that says STARTTLS then never handshakes does not wedge the server."""
    r = raw_ehlo(example)
    assert r.cmd("STARTTLS")[0] == 220
    r.send(b"this is not a TLS ClientHello\r\n" * 4)
    r.close()
    send(example, [ALICE], make_message(SENDER, ALICE))
    assert inbox_count(example, ALICE) == 1


def test_many_parallel_sessions(example):
    socks = [socket.create_connection(("127.0.0.1", example.smtp_port), timeout=10) for _ in range(50)]
    try:
        for s in socks:
            assert s.recv(512).startswith(b"220 "), "no greeting on a parallel connection"
        send(example, [ALICE], make_message(SENDER, ALICE))
    finally:
        for s in socks:
            s.close()
    assert inbox_count(example, ALICE) == 1
