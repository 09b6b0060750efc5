"""Submission (RFC 6409) on 587 with STARTTLS and 465 with implicit TLS (RFC 8314).

What a mail client and an admin check: AUTH only after TLS, PLAIN and LOGIN work, a wrong
password is refused and repeated guessing closes the connection, the account may send only as
itself or its aliases, From: is checked the same way, sending limits give 451 4.7.1, missing
Date and Message-ID are added, and local recipients get the message at once.
"""

import base64
import email
import email.policy
import shutil
import smtplib
import subprocess

import pytest

from yubintest import HOST, HOSTNAME, PASSWORD, make_message, only_message, unverified_tls_context

ALICE = "alice@example.test"
BOB = "bob@example.test"


def parsed(stored: bytes):
    return email.message_from_bytes(stored, policy=email.policy.default)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def raw_tls(server):
    """A raw submission session after EHLO and STARTTLS."""
    r = server.raw("submission")
    assert r.cmd("EHLO client.test")[0] == 250
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    code, text = r.cmd("EHLO client.test")
    assert code == 250
    return r, text


def test_auth_is_offered_only_after_starttls(example):
    with example.raw("submission") as r:
        assert r.greeting[0] == 220
        code, text = r.cmd("EHLO client.test")
        assert code == 250 and "STARTTLS" in text
        assert "AUTH" not in text
        code, text = r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
        assert code == 538 and text.startswith("5.7.11"), (code, text)
        # no AUTH, no mail
        code, text = r.cmd(f"MAIL FROM:<{ALICE}>")
        assert code == 530 and text.startswith("5.7.0"), (code, text)
    r, text = raw_tls(example)
    with r:
        assert "AUTH PLAIN LOGIN" in text and "STARTTLS" not in text
        code, text = r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
        assert (code, text[:5]) == (235, "2.7.0"), (code, text)
        code, _ = r.cmd("EHLO client.test")
        assert code == 250


def test_plain_and_login_mechanisms(example):
    for mechanism, initial in (("LOGIN", True), ("LOGIN", False), ("PLAIN", True),
                               ("PLAIN", False)):
        s = example.submission(user=None)
        s.user, s.password = ALICE, PASSWORD
        auth = s.auth_login if mechanism == "LOGIN" else s.auth_plain
        code, _ = s.auth(mechanism, auth, initial_response_ok=initial)
        assert code == 235, (mechanism, initial)
        s.quit()
    r, _ = raw_tls(example)
    with r:
        # PLAIN without an initial response: an empty challenge, then the response
        assert r.cmd("AUTH PLAIN") == (334, "")
        code, _ = r.cmd(b64(f"\0{ALICE}\0{PASSWORD}"))
        assert code == 235
        assert r.cmd("AUTH PLAIN")[0] == 503  # already authenticated


def test_auth_exchange_errors_get_replies_not_crashes(example):
    r, _ = raw_tls(example)
    with r:
        assert r.cmd("AUTH LOGIN") == (334, "VXNlcm5hbWU6")
        assert r.cmd("*")[0] == 501  # cancelled
        assert r.cmd("AUTH PLAIN !!!notbase64")[0] == 501
        assert r.cmd("AUTH CRAM-MD5")[0] == 504
        assert r.cmd("AUTH LOGIN " + b64(ALICE)) == (334, "UGFzc3dvcmQ6")
        assert r.cmd("\xff\xfe garbage")[0] == 501
        # authzid for someone else is refused
        code, _ = r.cmd("AUTH PLAIN " + b64(f"{BOB}\0{ALICE}\0{PASSWORD}"))
        assert code == 535
        code, _ = r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
        assert code == 235
    with example.raw("submission") as r:
        assert r.cmd("AUTH PLAIN x")[0] == 503  # before EHLO


def test_wrong_password_is_refused_and_guessing_closes(example):
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        example.submission(ALICE, "wrong")
    assert e.value.smtp_code == 535
    r, _ = raw_tls(example)
    with r:
        for _ in range(2):
            code, text = r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0nope"))
            assert (code, text[:5]) == (535, "5.7.8")
        code, _ = r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0nope"))
        assert code == 535
        assert r.reply()[0] == 421
        assert r.closed_by_peer()
    # an unknown user gets the same answer as a wrong password
    with pytest.raises(smtplib.SMTPAuthenticationError):
        example.submission("nobody@example.test", PASSWORD)


def test_local_recipient_gets_the_message_with_date_and_message_id_added(example):
    s = example.submission()
    body = (f"From: Alice <{ALICE}>\r\nTo: {BOB}\r\nSubject: no date here\r\n\r\n"
            "Hello Bob.\r\n").encode()
    assert s.sendmail(ALICE, [BOB], body) == {}
    s.quit()
    msg = parsed(only_message(example, BOB))
    assert msg["Subject"] == "no date here"
    assert msg["Date"] is not None
    assert msg["Message-ID"].endswith(f"@{HOSTNAME}>"), msg["Message-ID"]
    assert "ESMTPSA" in msg["Received"]
    assert msg["Return-Path"] == f"<{ALICE}>"
    # a client's own Date and Message-ID are kept
    s = example.submission(tls=True)
    m = make_message(ALICE, BOB, subject="own ids", msgid="<own.1@client.test>")
    s.sendmail(ALICE, [BOB], m)
    s.quit()
    rows = example.messages(BOB)
    assert [r.message_id for r in rows].count("<own.1@client.test>") == 1
    stored = parsed(example.show(BOB, rows[-1].uid))
    assert len(stored.get_all("Message-ID")) == 1 and len(stored.get_all("Date")) == 1


def test_sender_must_be_the_account_or_its_alias(example):
    example.admin("alias", "add", "sales@example.test", ALICE)
    s = example.submission()
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        s.sendmail(BOB, [BOB], make_message(BOB, BOB))
    assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error
    with pytest.raises(smtplib.SMTPSenderRefused):
        s.sendmail("ceo@elsewhere.test", [BOB], make_message("ceo@elsewhere.test", BOB))
    # its alias, a +tag of its address and the null sender are its own
    for sender in ("sales@example.test", "alice+lists@example.test", "ALICE@Example.Test"):
        assert s.sendmail(sender, [BOB], make_message(sender, BOB, subject=sender)) == {}
    assert s.sendmail("", [BOB], make_message(ALICE, BOB, subject="null sender")) == {}
    s.quit()
    assert len(example.messages(BOB)) == 4


def test_from_header_is_checked_like_the_envelope(example, make_server):
    s = example.submission()
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail(ALICE, [BOB], make_message(BOB, BOB, subject="forged From"))
    assert e.value.smtp_code == 553
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail(ALICE, [BOB], b"Subject: no From\r\n\r\nbody\r\n")
    assert e.value.smtp_code == 550
    # the session is still usable
    assert s.sendmail(ALICE, [BOB], make_message(ALICE, BOB)) == {}
    s.quit()
    assert len(example.messages(BOB)) == 1
    # configurable: a list server, say, sends with other From: addresses
    srv = make_server({"sending": {"check_from_header": False}})
    srv.setup_example()
    s = srv.submission()
    assert s.sendmail(ALICE, [BOB], make_message(BOB, BOB, subject="other From")) == {}
    s.quit()


def test_sending_limits_give_451_per_account(make_server):
    srv = make_server({"sending": {"messages_per_hour": 2, "recipients_per_hour": 3}})
    srv.setup_example("carol")
    s = srv.submission()
    assert s.sendmail(ALICE, [BOB], make_message(ALICE, BOB)) == {}
    # the recipient budget: 3 per hour, one used
    code, text = s.docmd("MAIL FROM:<alice@example.test>")
    assert code == 250
    assert s.docmd("RCPT TO:<bob@example.test>")[0] == 250
    assert s.docmd("RCPT TO:<carol@example.test>")[0] == 250
    code, text = s.docmd("RCPT TO:<alice@example.test>")
    assert code == 451 and text.startswith(b"4.7.1"), (code, text)
    s.rset()
    # the message budget: 2 per hour, both used
    code, text = s.docmd("MAIL FROM:<alice@example.test>")
    assert code == 451 and text.startswith(b"4.7.1"), (code, text)
    s.quit()
    # another account is not affected
    s = srv.submission("carol@example.test")
    assert s.sendmail("carol@example.test", [BOB], make_message("carol@example.test", BOB)) == {}
    s.quit()


def test_remote_recipients_are_accepted_for_relay(example):
    s = example.submission()
    m = make_message(ALICE, "friend@elsewhere.test", subject="to the world")
    assert s.sendmail(ALICE, ["friend@elsewhere.test", BOB], m) == {}
    s.quit()
    # the local copy is delivered at once; the remote one waits in the outbound queue
    assert parsed(only_message(example, BOB))["Subject"] == "to the world"
    # unknown users in hosted domains are refused at RCPT, not bounced later
    s = example.submission()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        s.sendmail(ALICE, ["nobody@example.test"], make_message(ALICE, "nobody@example.test"))
    assert e.value.recipients["nobody@example.test"][0] == 550
    s.quit()


def test_mx_port_still_never_relays_nor_offers_auth(example):
    s = example.smtp()
    code, text = s.ehlo("client.test")
    assert b"AUTH" not in text
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        s.sendmail(ALICE, ["friend@elsewhere.test"], make_message(ALICE, "friend@elsewhere.test"))
    s.quit()


def test_implicit_tls_port(example):
    s = smtplib.SMTP_SSL(HOST, example.submissions_port, context=unverified_tls_context(),
                         timeout=30)
    code, text = s.ehlo("client.test")
    assert code == 250 and b"AUTH PLAIN LOGIN" in text and b"STARTTLS" not in text
    s.login(ALICE, PASSWORD)
    assert s.sendmail(ALICE, [BOB], make_message(ALICE, BOB, subject="over 465")) == {}
    s.quit()
    assert parsed(only_message(example, BOB))["Subject"] == "over 465"


# ---------------------------------------------------------------- swaks

def swaks(port, *args):
    p = subprocess.run(["swaks", "--server", f"{HOST}:{port}", "--helo", "client.test",
                        "--timeout", "30", *args],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_submission_error_paths(example):
    port = example.submission_port
    auth = ["--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORD]
    # no TLS: AUTH is refused
    rc, out = swaks(port, "--from", ALICE, "--to", BOB, *auth)
    assert rc != 0 and "did not advertise authentication" in out, out
    # wrong password
    rc, out = swaks(port, "--tls", "--from", ALICE, "--to", BOB, "--auth", "LOGIN",
                    "--auth-user", ALICE, "--auth-password", "wrong")
    assert rc != 0 and "535 5.7.8" in out, out
    # foreign sender
    rc, out = swaks(port, "--tls", "--from", "boss@elsewhere.test", "--to", BOB, *auth)
    assert rc != 0 and "553 5.7.1" in out, out
    # and the right way works
    rc, out = swaks(port, "--tls", "--from", ALICE, "--to", BOB, *auth,
                    "--header", "Subject: swaks submission")
    assert rc == 0, out
    assert parsed(only_message(example, BOB))["Subject"] == "swaks submission"


def test_submitted_mail_is_dkim_signed_once_the_domain_has_keys(example):
    s = example.submission()
    s.sendmail(ALICE, [BOB], make_message(ALICE, BOB, subject="before keys"))
    s.quit()
    assert parsed(only_message(example, BOB))["DKIM-Signature"] is None
    example.admin("dkim", "generate", "example.test")
    # the running server picks the new keys up without a restart
    s = example.submission()
    s.sendmail(ALICE, [BOB], make_message(ALICE, BOB, subject="after keys"))
    s.quit()
    rows = example.messages(BOB)
    signatures = parsed(example.show(BOB, rows[-1].uid)).get_all("DKIM-Signature")
    assert len(signatures) == 2, signatures  # RSA and Ed25519
    text = " ".join(" ".join(str(sig).split()) for sig in signatures)
    assert "a=rsa-sha256" in text and "a=ed25519-sha256" in text, text
    assert text.count("d=example.test") == 2 and "s=yubin-rsa" in text, text
