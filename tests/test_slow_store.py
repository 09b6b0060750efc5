"""A slow store: new work is shed with temporary errors, fast, and service comes back by itself.

The embedded store's test-only fault switch (`yubin admin fault store-latency MS`, allowed only
with YUBIN_FAULT_INJECTION=1) adds latency to every read snapshot, scan and commit, the way a
dying disk or an overloaded SAN does. Issue 6: SMTP answers 451 (or 421 at connect) within 5 s
instead of hanging, memory stays bounded, no acknowledged message is lost, and service resumes
when the latency is removed.
"""

import imaplib
import smtplib
import socket
import threading
import time

from yubintest import ALICE, HOST, PASSWORD, make_message, new_msgid

SLOW_MS = 3000


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Senders:
    """Threads delivering to alice in a loop, remembering what got 250."""

    def __init__(self, srv, threads: int):
        self.srv = srv
        self.acked: list[str] = []
        self.temp_failures: list[tuple[int, str, float]] = []
        self.slowest_transaction = 0.0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a sender hung"

    def note_temp(self, code: int, text: str, took: float):
        with self.lock:
            self.temp_failures.append((code, text, time.time()))
            self.slowest_transaction = max(self.slowest_transaction, took)

    def run(self):
        while not self.stop.is_set():
            msgid = new_msgid("slow")
            started = time.time()
            try:
                s = smtplib.SMTP(HOST, self.srv.smtp_port, timeout=30)
            except smtplib.SMTPConnectError as e:
                self.note_temp(e.smtp_code, str(e.smtp_error), time.time() - started)
                time.sleep(0.05)
                continue
            except smtplib.SMTPServerDisconnected:
                time.sleep(0.05)
                continue
            try:
                s.ehlo("sender.test")
                msg = make_message("sender@client.test", ALICE, msgid=msgid)
                step = time.time()
                s.sendmail("sender@client.test", [ALICE], msg)
                with self.lock:
                    self.acked.append(msgid)
                    self.slowest_transaction = max(self.slowest_transaction, time.time() - step)
                s.quit()
            except smtplib.SMTPResponseException as e:
                self.note_temp(e.smtp_code, str(e.smtp_error), time.time() - step)
                try:
                    s.close()
                except OSError:
                    pass
            except smtplib.SMTPRecipientsRefused as e:
                code, text = next(iter(e.recipients.values()))
                self.note_temp(code, str(text), time.time() - step)
                s.close()
            except smtplib.SMTPServerDisconnected:
                s.close()
            time.sleep(0.02)


def test_a_slow_store_sheds_new_work_loses_nothing_and_recovers(make_server):
    srv = make_server({"server": {"store_slow_ms": 500, "store_deadline_ms": 2000}}, start=False)
    srv.env = {"YUBIN_FAULT_INJECTION": "1"}
    srv.start()
    srv.setup_example()
    # Sessions opened while the store is fast, used once it is slow.
    imap = srv.imap()
    assert imap.select("INBOX")[0] == "OK"
    smtp_open = srv.smtp()
    smtp_open.ehlo("early.test")

    senders = Senders(srv, threads=4)
    senders.start()
    time.sleep(2)
    assert senders.acked, "deliveries work before the fault"
    rss_before = rss_kib(srv.proc.pid)

    srv.admin("fault", "store-latency", str(SLOW_MS))
    slow_since = time.time()
    time.sleep(1.5)  # the probe notices within store_slow_ms + its 200 ms period

    # A new SMTP connection: 421 4.3.0 as the greeting, at once.
    started = time.time()
    with socket.create_connection((HOST, srv.smtp_port), timeout=10) as sock:
        greeting = sock.makefile("rb").readline().decode()
    assert greeting.startswith("421 4.3.0"), greeting
    assert time.time() - started < 5

    # A session that was already open: MAIL gets 451 4.3.0, at once.
    started = time.time()
    code, text = smtp_open.mail("late@client.test")
    assert (code, text[:5]) == (451, b"4.3.0"), (code, text)
    assert time.time() - started < 5

    # IMAP: a command that needs the store says NO [UNAVAILABLE]; NOOP still answers OK.
    started = time.time()
    typ, data = imap.status("INBOX", "(MESSAGES)")
    assert typ == "NO" and b"[UNAVAILABLE]" in data[0], (typ, data)
    assert imap.noop()[0] == "OK"
    assert time.time() - started < 5
    started = time.time()
    fresh = imaplib.IMAP4(HOST, srv.imap_port, timeout=10)
    try:
        fresh.login(ALICE, PASSWORD)
        raise AssertionError("login must be refused while the store is slow")
    except imaplib.IMAP4.error as e:
        assert "UNAVAILABLE" in str(e), e
    assert time.time() - started < 5
    fresh.shutdown()

    # POP3: the login answers -ERR [SYS/TEMP].
    started = time.time()
    with socket.create_connection((HOST, srv.pop3_port), timeout=10) as sock:
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"+OK")
        f.write(b"USER " + ALICE.encode() + b"\r\nPASS " + PASSWORD.encode() + b"\r\n")
        f.flush()
        assert f.readline().startswith(b"+OK")
        answer = f.readline()
    assert answer.startswith(b"-ERR [SYS/TEMP]"), answer
    assert time.time() - started < 5

    # A crowd of clients while slow: refused quickly, memory does not grow with them.
    crowd = []
    for _ in range(100):
        s = socket.create_connection((HOST, srv.smtp_port), timeout=10)
        crowd.append(s)
    for s in crowd:
        line = s.makefile("rb").readline()
        assert line.startswith(b"421 "), line
        s.close()
    time.sleep(max(0.0, 3 - (time.time() - slow_since)))
    rss_slow = rss_kib(srv.proc.pid)
    assert rss_slow - rss_before < 64 * 1024, (rss_before, rss_slow)

    srv.admin("fault", "store-latency", "0")
    recovered_at = time.time()
    acked_at_recovery = len(senders.acked)
    while len(senders.acked) <= acked_at_recovery + 5:
        assert time.time() - recovered_at < 15, "no delivery after the latency was removed"
        time.sleep(0.1)
    senders.join()
    smtp_open.close()

    # Every sender saw temporary failures, never a hang: each transaction (MAIL, RCPT, DATA)
    # answered within 5 s.
    codes = {code for code, _, _ in senders.temp_failures}
    assert codes and codes <= {421, 451}, senders.temp_failures[:5]
    assert senders.slowest_transaction < 5, senders.slowest_transaction
    # Nothing acknowledged was lost.
    stored = {m.message_id for m in srv.messages(ALICE)}
    missing = [m for m in senders.acked if m not in stored]
    assert not missing, f"{len(missing)} acknowledged messages missing"
    # IMAP works again in the old session.
    assert imap.status("INBOX", "(MESSAGES)")[0] == "OK"
    imap.logout()
    _, metrics, _ = srv.admin("metrics")
    assert 'reason="store_slow"' in metrics
    print(f"\nacked {len(senders.acked)}, temporary failures {len(senders.temp_failures)}, "
          f"slowest transaction {senders.slowest_transaction:.2f} s, rss {rss_before} -> {rss_slow} KiB")
