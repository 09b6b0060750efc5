"""Graceful shutdown on SIGTERM: in-flight mail is finished or refused cleanly, exit code 0."""

import signal
import socket
import subprocess
import time

from yubintest import HOST, assert_reply, assert_stored, make_message, only_message

SENDER = "sender@remote.test"
ALICE = "alice@example.test"
GRACE = 10  # default shutdown_grace_secs
SHORT_GRACE = 3


def sigterm(server):
    server.proc.send_signal(signal.SIGTERM)
    return time.monotonic()


def wait_exit(server, timeout):
    try:
        rc = server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"server still running {timeout} s after SIGTERM\n{server.stderr_tail()}")
    assert rc == 0, f"server exited {rc} after SIGTERM\n{server.stderr_tail()}"


def start_data(server):
    r = server.raw()
    assert r.cmd("EHLO client.test")[0] == 250
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    return r


def new_connection_refused_or_421(port) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=5) as s:
            data = s.recv(512)
            return data == b"" or data.startswith(b"421")
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    except socket.timeout:
        return False


def test_completed_transaction_before_sigterm_is_stored(example):
    msg = make_message(SENDER, ALICE, subject="before shutdown")
    with example.smtp() as s:
        assert s.sendmail(SENDER, [ALICE], msg) == {}
    example.stop()  # asserts exit code 0
    assert_stored(only_message(example, ALICE), msg, SENDER)  # admin opens the store itself
    example.start()
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_sigterm_mid_data_lets_the_transaction_finish(example):
    msg = make_message(SENDER, ALICE, subject="in flight", body="part one\r\n" * 100 + "part two\r\n" * 100)
    half = len(msg) // 2
    r = start_data(example)
    r.send(msg[:half])
    sigterm(example)
    time.sleep(1.0)
    assert example.running, "server exited without waiting for the open transaction"
    assert new_connection_refused_or_421(example.smtp_port), "still accepting new sessions after SIGTERM"
    r.send(msg[half:] + b".\r\n")
    assert_reply(r.reply(), 250, "2.0.0")
    try:
        code, _ = r.cmd("QUIT")
        assert code in (221, 421), code
    except (ConnectionError, OSError):
        pass  # closing right after the transaction is fine
    r.close()
    wait_exit(example, 15)
    assert_stored(only_message(example, ALICE), msg, SENDER)


def test_sigterm_with_stalled_transaction_ends_with_421(make_server):
    example = make_server({"server": {"shutdown_grace_secs": SHORT_GRACE}})
    example.setup_example()
    r = start_data(example)
    r.send(b"Subject: never finished\r\n\r\nhalf a mess")
    t0 = sigterm(example)
    code, msg = r.reply()  # sent when the grace period is over
    waited = time.monotonic() - t0
    assert (code, msg[:5]) == (421, "4.3.2"), (code, msg)
    assert SHORT_GRACE - 1 < waited < SHORT_GRACE + 5, (
        f"421 came {waited:.1f} s after SIGTERM; shutdown_grace_secs = {SHORT_GRACE}")
    assert r.closed_by_peer(), "connection not closed after 421"
    wait_exit(example, max(2.0, 15 - waited))
    assert example.messages(ALICE) == [], "a partial message was stored"


def test_sigterm_closes_idle_sessions_with_421(example):
    sessions = [example.raw() for _ in range(3)]
    for r in sessions:
        assert r.cmd("EHLO client.test")[0] == 250
    lmtp = example.raw("lmtp")
    assert lmtp.cmd("LHLO client.test")[0] == 250
    t0 = sigterm(example)
    for r in sessions + [lmtp]:
        code, msg = r.reply()
        assert code == 421, (code, msg)
        assert r.closed_by_peer()
    wait_exit(example, 15)
    took = time.monotonic() - t0
    assert took < GRACE - 2, f"idle sessions held shutdown up for {took:.1f} s"


def test_sigint_also_shuts_down_cleanly(example):
    with example.smtp() as s:
        assert s.sendmail(SENDER, [ALICE], make_message(SENDER, ALICE)) == {}
    example.proc.send_signal(signal.SIGINT)
    wait_exit(example, 15)
    assert len(example.messages(ALICE)) == 1
