"""Delivery with swaks, the command-line SMTP client admins actually use."""

import email
import email.policy
import os
import shutil
import subprocess

import pytest

from yubintest import HOST, only_message

pytestmark = pytest.mark.skipif(shutil.which("swaks") is None,
                                reason="swaks is not installed (scripts/test-all installs it)")

SENDER = "sender@remote.test"
ALICE = "alice@example.test"


def swaks(port, *args, timeout=60):
    p = subprocess.run(["swaks", "--server", f"{HOST}:{port}", "--from", SENDER,
                        "--helo", "client.test", "--timeout", "30", *args],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def tls_supported():
    p = subprocess.run(["swaks", "--support"], capture_output=True)
    return b"=== TLS supported" in p.stdout + p.stderr


def parsed(stored: bytes):
    return email.message_from_bytes(stored, policy=email.policy.default)


def test_swaks_plain(example):
    rc, out = swaks(example.smtp_port, "--to", ALICE, "--header", "Subject: swaks plain",
                    "--body", "Hello from swaks")
    assert rc == 0, out
    msg = parsed(only_message(example, ALICE))
    assert msg["Subject"] == "swaks plain"
    assert msg["Return-Path"] == f"<{SENDER}>"
    assert "Hello from swaks" in msg.get_content()


def test_swaks_pipelining(example):
    rc, out = swaks(example.smtp_port, "--to", ALICE, "--pipeline", "--header", "Subject: piped")
    assert rc == 0, out
    assert parsed(only_message(example, ALICE))["Subject"] == "piped"


def test_swaks_starttls(example):
    if not tls_supported():
        pytest.skip("swaks lacks TLS support (install libnet-ssleay-perl)")
    rc, out = swaks(example.smtp_port, "--to", ALICE, "--tls", "--header", "Subject: swaks tls")
    assert rc == 0, out
    assert "STARTTLS" in out and "TLS started" in out, out
    stored = only_message(example, ALICE)
    msg = parsed(stored)
    assert msg["Subject"] == "swaks tls"
    assert "ESMTPS" in msg["Received"], msg["Received"]


def test_swaks_attachment_arrives_intact(example, tmp_path):
    payload = os.urandom(50_000)
    att = tmp_path / "report.bin"
    att.write_bytes(payload)
    rc, out = swaks(example.smtp_port, "--to", ALICE, "--header", "Subject: with attachment",
                    "--body", "see attached", "--attach-name", "report.bin", "--attach", f"@{att}")
    assert rc == 0, out
    msg = parsed(only_message(example, ALICE))
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1, [a.get_content_type() for a in attachments]
    assert attachments[0].get_filename() == "report.bin"
    assert attachments[0].get_content() == payload


def test_swaks_lmtp(example):
    rc, out = swaks(example.lmtp_port, "--protocol", "LMTP", "--to", ALICE,
                    "--header", "Subject: swaks lmtp")
    assert rc == 0, out
    assert parsed(only_message(example, ALICE))["Subject"] == "swaks lmtp"


def test_swaks_unknown_user_fails(example):
    rc, out = swaks(example.smtp_port, "--to", "nobody@example.test")
    assert rc != 0, out
    assert "550 5.1.1" in out, out
    assert example.messages(ALICE) == []
