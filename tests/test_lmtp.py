"""LMTP (RFC 2033): LHLO only, and one reply per accepted recipient after DATA."""

import pytest

from yubintest import (HOSTNAME, PASSWORD, assert_reply, assert_stored, make_message, new_msgid,
                       only_message, parse_kv, text)

SENDER = "sender@remote.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"


def raw_lhlo(server):
    r = server.raw("lmtp")
    assert r.greeting[0] == 220, r.greeting
    code, msg = r.cmd("LHLO client.test")
    assert code == 250, (code, msg)
    return r


def test_lhlo_accepted_ehlo_and_helo_rejected(example):
    with example.lmtp() as l:
        assert l.greeting[0] == 220
        assert_reply(l.docmd("EHLO", "client.test"), 500, "5.5.1")
        assert_reply(l.docmd("HELO", "client.test"), 500, "5.5.1")
        assert_reply(l.docmd("MAIL FROM:<%s>" % SENDER), 503, "5.5.1")  # no LHLO yet
        code, msg = l.ehlo("client.test")  # smtplib.LMTP sends LHLO
        assert code == 250, (code, msg)
        assert text(msg).splitlines()[0].startswith(HOSTNAME)
        assert l.has_extn("pipelining"), "RFC 2033 requires PIPELINING"
        assert l.has_extn("enhancedstatuscodes")


def test_lmtp_delivery_is_stored(example):
    msgid = new_msgid("lmtp")
    msg = make_message(SENDER, ALICE, subject="via LMTP", msgid=msgid, body="Über LMTP\r\n")
    with example.lmtp() as l:
        l.ehlo("client.test")
        assert l.sendmail(SENDER, [ALICE], msg) == {}
    rows = example.messages(ALICE)
    assert [r.message_id for r in rows] == [msgid]
    assert_stored(example.show(ALICE, rows[0].uid), msg, SENDER, with_proto="LMTP")


def test_lmtp_recipient_errors(example):
    example.admin("account", "disable", BOB)
    with example.lmtp() as l:
        l.ehlo("client.test")
        assert_reply(l.mail(SENDER), 250)
        assert_reply(l.rcpt("nobody@example.test"), 550, "5.1.1")
        assert_reply(l.rcpt(BOB), 550, "5.2.1")
        code, msg = l.rcpt("someone@elsewhere.test")
        assert code == 550, (code, msg)
        code, msg = l.docmd("DATA")
        assert code in (503, 554), (code, msg)


def test_one_reply_per_recipient_in_order(example):
    """alice ok, nobody refused at RCPT, carol over quota at DATA, bob ok: three replies."""
    example.admin("account", "add", CAROL, "--password", PASSWORD)
    with example.lmtp() as l:
        l.ehlo("client.test")
        assert l.sendmail(SENDER, [CAROL], make_message(SENDER, CAROL, subject="filler")) == {}
    used = int(parse_kv(example.admin("account", "show", CAROL).stdout)["used"])
    example.admin("account", "quota", CAROL, str(used + 1000))

    msgid = new_msgid("perrcpt")
    msg = make_message(SENDER, ALICE, msgid=msgid, body="z" * 5000 + "\r\n")
    r = raw_lhlo(example)
    assert_reply(r.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    assert_reply(r.cmd(f"RCPT TO:<{ALICE}>"), 250)
    assert_reply(r.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
    assert_reply(r.cmd(f"RCPT TO:<{CAROL}>"), 250)  # not over quota until the message arrives
    assert_reply(r.cmd(f"RCPT TO:<{BOB}>"), 250)
    assert r.cmd("DATA")[0] == 354
    r.send(msg + b".\r\n")
    alice, carol, bob = r.reply(), r.reply(), r.reply()
    assert_reply(alice, 250)
    assert (carol[0], carol[1][:5]) in ((452, "4.2.2"), (552, "5.2.2")), carol
    assert_reply(bob, 250)
    # the session goes on after the per-recipient replies
    assert_reply(r.cmd("NOOP"), 250)
    assert_reply(r.cmd("QUIT"), 221)
    r.close()

    for account in (ALICE, BOB):
        assert [x.message_id for x in example.messages(account)] == [msgid], account
        assert_stored(only_message(example, account), msg, SENDER)
    assert msgid not in [x.message_id for x in example.messages(CAROL)]
    assert len(example.messages(CAROL)) == 1


def test_pipelined_lmtp_transaction(example):
    msg = make_message(SENDER, ALICE, subject="pipelined lmtp")
    r = raw_lhlo(example)
    r.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode())
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send(msg + b".\r\n")
    assert_reply(r.reply(), 250)
    assert_reply(r.reply(), 250)
    r.close()
    assert_stored(only_message(example, ALICE), msg, SENDER)
    assert_stored(only_message(example, BOB), msg, SENDER)


def test_lmtp_bdat_replies_per_recipient(example):
    with example.lmtp() as l:
        l.ehlo("client.test")
        if not l.has_extn("chunking"):
            pytest.skip("LMTP does not advertise CHUNKING")
    body = b"Subject: lmtp bdat\r\n\r\nchunked\r\n"
    r = raw_lhlo(example)
    assert_reply(r.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    assert_reply(r.cmd(f"RCPT TO:<{ALICE}>"), 250)
    assert_reply(r.cmd(f"RCPT TO:<{BOB}>"), 250)
    r.send(b"BDAT %d LAST\r\n" % len(body) + body)
    assert_reply(r.reply(), 250)
    assert_reply(r.reply(), 250)
    r.close()
    assert_stored(only_message(example, ALICE), body, SENDER)
    assert_stored(only_message(example, BOB), body, SENDER)


def test_lmtp_size_limit(make_server):
    srv = make_server({"lmtp": {"max_message_size": 10000}})
    srv.setup_example()
    with srv.lmtp() as l:
        l.ehlo("client.test")
        assert l.esmtp_features.get("size") == "10000"
        assert_reply(l.mail(SENDER, ["SIZE=20000"]), 552, "5.3.4")
        assert_reply(l.mail(SENDER), 250)
        assert_reply(l.rcpt(ALICE), 250)
        assert_reply(l.rcpt(BOB), 250)
        l.putcmd("DATA")
        assert l.getreply()[0] == 354
        l.send(make_message(SENDER, ALICE, body="q" * 20000 + "\r\n") + b".\r\n")
        for _ in (ALICE, BOB):  # one reply per recipient
            assert_reply(l.getreply(), 552, "5.3.4")
    assert srv.messages(ALICE) == [] and srv.messages(BOB) == []
