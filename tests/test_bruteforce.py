"""Failed-login protection (issue 6): one guard for IMAP, POP3 and submission.

What an operator checks: 1,000 wrong passwords for alice from one address are slowed and then
refused at once without checking them (even the right password is refused while the lockout
lasts), the lockout is logged, and alice logs in at once from another address. Guessing at
many accounts from one address locks the address out. Delays and thresholds are shortened in
the config so the test runs in seconds; the behaviour is the default's.
"""

import base64
import re
import time

import pytest

from yubintest import ALICE, HOST, PASSWORD, RawImap, RawPop3, RawSession

BOB = "bob@example.test"
ATTACKER = "127.0.0.1"
CLEAN = "127.0.0.2"
PAIR_FAILURES = 8
IP_FAILURES = 20

GUARD = {
    "limits": {"login_failure_delay_ms": 20, "login_failure_delay_max_ms": 200,
               "ip_login_failures": IP_FAILURES, "account_ip_login_failures": PAIR_FAILURES,
               "login_lockout_secs": 120},
    "imap": {"max_auth_failures": 2000, "auth_failure_delay_ms": 0},
    "pop3": {"max_auth_failures": 2000, "auth_failure_delay_ms": 0},
    "submission": {"max_auth_failures": 2000, "auth_failure_delay_ms": 0,
                   "allow_plaintext_auth": True},
}


@pytest.fixture
def guarded(make_server):
    srv = make_server(config=GUARD)
    srv.setup_example()
    return srv


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def imap_login(server, user, password, source):
    """(tagged response line, seconds it took) of one LOGIN from `source`."""
    with RawImap(HOST, server.imap_port, source=source) as c:
        started = time.monotonic()
        line = c.cmd("a1", f'LOGIN "{user}" "{password}"')[-1]
        return line, time.monotonic() - started


def lockout_logged(server, protocol) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any("login lockout" in line and protocol in line for line in server._stderr):
            return True
        time.sleep(0.1)
    return False


def metric(server, name: str, **labels) -> float:
    _, body = server.http("/metrics")
    total = 0.0
    for line in body.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_1000_imap_guesses_are_slowed_then_refused_unchecked(guarded):
    n = 1000
    with RawImap(HOST, guarded.imap_port, source=ATTACKER) as c:
        started = time.monotonic()
        # All 1,000 really go out, pipelined on one connection.
        c.send(b"".join(f'g{i} LOGIN "{ALICE}" "wrong-{i}"\r\n'.encode() for i in range(n)))
        answers, at = [], []
        while len(answers) < n:
            line = c.line()
            assert line, f"connection closed after {len(answers)} answers"
            if line.startswith(b"g"):
                answers.append(line)
                at.append(time.monotonic() - started)
        elapsed = time.monotonic() - started
    checked = [a for a in answers if b"[AUTHENTICATIONFAILED]" in a]
    locked = [a for a in answers if b"[UNAVAILABLE]" in a]
    assert all(b" NO " in a for a in answers)
    # The pair (alice, 127.0.0.1) locks after PAIR_FAILURES: only that many were checked.
    assert len(checked) == PAIR_FAILURES, answers[:12]
    assert len(locked) == n - PAIR_FAILURES
    assert all(b"[AUTHENTICATIONFAILED]" in a for a in answers[:PAIR_FAILURES])
    # Slowed: the checked ones waited 20, 40, 80, 160, 200, 200... ms (answers to pipelined
    # commands arrive in batches, so only their sum is measurable here).
    assert at[PAIR_FAILURES - 1] >= 0.9, at[:PAIR_FAILURES]
    # Refused at once: the 992 locked answers took less time than the checked ones.
    assert elapsed - at[PAIR_FAILURES - 1] < 5, elapsed
    assert lockout_logged(guarded, "imap")
    assert metric(guarded, "yubin_rejected_total", protocol="imap", reason="login_lockout") \
        >= n - PAIR_FAILURES
    assert metric(guarded, "yubin_login_lockouts_total", protocol="imap", scope="account_ip") == 1

    # The right password from the locked address is refused too, on every protocol.
    line, _ = imap_login(guarded, ALICE, PASSWORD, ATTACKER)
    assert b"NO [UNAVAILABLE]" in line, line
    with RawPop3(HOST, guarded.pop3_port, source=ATTACKER) as p:
        assert p.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert p.cmd(f"PASS {PASSWORD}").startswith(b"-ERR [SYS/TEMP]")
    # Another account from that address is not locked (the address made 8 failures, not 20).
    line, _ = imap_login(guarded, BOB, PASSWORD, ATTACKER)
    assert b"a1 OK" in line, line
    # Alice from a clean address logs in at once: an attacker cannot lock her out.
    line, took = imap_login(guarded, ALICE, PASSWORD, CLEAN)
    assert b"a1 OK" in line, line
    assert took < 1.0, took


def test_guessing_many_accounts_locks_the_address(guarded):
    with RawImap(HOST, guarded.imap_port, source=ATTACKER) as c:
        answers = [c.cmd(f"s{i}", f'LOGIN "user{i}@example.test" "guess"')[-1]
                   for i in range(IP_FAILURES + 5)]
    assert all(b"[AUTHENTICATIONFAILED]" in a for a in answers[:IP_FAILURES]), answers
    assert all(b"[UNAVAILABLE]" in a for a in answers[IP_FAILURES:]), answers
    assert lockout_logged(guarded, "imap")
    assert metric(guarded, "yubin_login_lockouts_total", scope="ip") == 1
    # Now every account is refused from that address, right password or not...
    line, took = imap_login(guarded, BOB, PASSWORD, ATTACKER)
    assert b"NO [UNAVAILABLE]" in line and took < 0.5, (line, took)
    with RawSession(HOST, guarded.submission_port, source=ATTACKER) as s:
        assert s.cmd("EHLO client.test")[0] == 250
        code, text = s.cmd("AUTH PLAIN " + b64(f"\0{BOB}\0{PASSWORD}"))
        assert (code, text[:5]) == (454, "4.7.0"), (code, text)
    # ...and open from any other.
    line, _ = imap_login(guarded, BOB, PASSWORD, CLEAN)
    assert b"a1 OK" in line, line


def test_pop3_guesses_lock_the_pair_after_the_threshold(guarded):
    with RawPop3(HOST, guarded.pop3_port, source=ATTACKER) as p:
        p.send(b"".join(f"USER {ALICE}\r\nPASS wrong-{i}\r\n".encode() for i in range(100)))
        answers = []
        for _ in range(200):
            line = p.line()
            assert line, "connection closed early"
            answers.append(line)
    passes = answers[1::2]
    assert all(a.startswith(b"+OK") for a in answers[0::2])
    assert all(a.startswith(b"-ERR [AUTH]") for a in passes[:PAIR_FAILURES]), passes[:10]
    assert all(a.startswith(b"-ERR [SYS/TEMP]") for a in passes[PAIR_FAILURES:]), passes[8:12]
    assert lockout_logged(guarded, "pop3")
    with RawPop3(HOST, guarded.pop3_port, source=CLEAN) as p:
        started = time.monotonic()
        assert p.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert p.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert time.monotonic() - started < 1.0


def test_submission_guesses_lock_the_pair_and_a_success_resets_it(guarded):
    def auth(s, password):
        return s.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{password}"))

    with RawSession(HOST, guarded.submission_port, source=ATTACKER) as s:
        assert s.cmd("EHLO client.test")[0] == 250
        # A few typos, then the right password: the pair's count starts over.
        for i in range(PAIR_FAILURES - 1):
            assert auth(s, f"typo-{i}")[0] == 535
    with RawSession(HOST, guarded.submission_port, source=ATTACKER) as s:
        assert s.cmd("EHLO client.test")[0] == 250
        assert auth(s, PASSWORD)[0] == 235
    with RawSession(HOST, guarded.submission_port, source=ATTACKER) as s:
        assert s.cmd("EHLO client.test")[0] == 250
        codes = [auth(s, f"wrong-{i}")[0] for i in range(30)]
    assert codes[:PAIR_FAILURES] == [535] * PAIR_FAILURES, codes
    assert set(codes[PAIR_FAILURES:]) == {454}, codes
    assert lockout_logged(guarded, "submission")
    with RawSession(HOST, guarded.submission_port, source=CLEAN) as s:
        assert s.cmd("EHLO client.test")[0] == 250
        assert auth(s, PASSWORD)[0] == 235


def test_an_exempt_proxy_is_slowed_but_never_locked_out(make_server):
    srv = make_server(config={
        "limits": {**GUARD["limits"], "exempt_ips": ["127.0.0.3/32"], "connections_per_ip": 1},
        "imap": GUARD["imap"]})
    srv.setup_example()
    with RawImap(HOST, srv.imap_port, source="127.0.0.3") as c, \
            RawImap(HOST, srv.imap_port, source="127.0.0.3") as second:
        assert second.greeting.startswith(b"* OK"), second.greeting
        answers = [c.cmd(f"w{i}", f'LOGIN "{ALICE}" "wrong-{i}"')[-1]
                   for i in range(PAIR_FAILURES + 2)]
        assert all(b"[AUTHENTICATIONFAILED]" in a for a in answers), answers
        assert b"OK" in c.cmd("r", f'LOGIN "{ALICE}" "{PASSWORD}"')[-1]
