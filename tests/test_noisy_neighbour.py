"""One tenant flooding the server must not slow another.

Tenant B (bob@b.test) runs a steady load, paced like real clients: an IMAP session fetching a
message, listing flags and NOOPing, and an SMTP client delivering small messages to bob. First
alone, then while tenant A (a.test) floods from another process and another client address
(127.0.0.2) as fast as its limits let it: IMAP sessions fetching 50 messages of 40 KiB per
command and SMTP clients delivering 20 KiB messages to a.test without pause. A's limits, set
with `yubin admin domain limits` like a provider would for a tenant on a small plan: 8 sessions,
600 commands a minute, 3,600 received messages an hour. B is measured once A has spent its
bursts and is held at those limits. B's p99 latency per protocol must stay
within 1.5x of B alone (issue 6). The figures are printed with -s.

What keeps B's latency: A's sessions over its limit are refused, its commands over the budget
wait (`command_refusal_delay_ms`) and are refused, its deliveries over the budget get 451; the
store work A is allowed waits on A's own budget (`[server] tenant_store_slots`, DESIGN.md
"Overload"), so A never holds more than that many of the server's workers, whatever its number
of connections, and B's commands take slots of B's budget, which A cannot exhaust.

Latency is measured by Python clients on the same 2 cores as the server, so B's own "alone"
p99 has scheduling noise in it; by default the test fails only past max(1.5x, alone + 5 ms)
(docs/benchmarks.md "Noisy neighbour"), and YUBIN_LATENCY_STRICT=1 applies 1.5x alone.
"""

import multiprocessing
import os
import signal
import smtplib
import threading
import time

from imapclient import Imap
from yubintest import HOST, PASSWORD, make_message

PHASE_SECS = 12.0  # of each kind, in ROUNDS alternating windows
ROUNDS = 4
PAUSE = 0.005
FLOOD_IMAP = 6
INBOUND_PER_HOUR = 3600
FLOOD_SMTP = 6
STRICT = os.environ.get("YUBIN_LATENCY_STRICT") == "1"


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))]


def fill(server, account: str, n: int, size: int) -> None:
    c = Imap(server, account)
    parts = [b"APPEND INBOX"]
    for i in range(n):
        body = (f"Line {i} of a message for {account}.\r\n" * (size // 40 + 1))[:size]
        m = make_message("s@remote.test", account, subject=f"fill {i}",
                         msgid=f"<fill.{i}.{account}>", body=body)
        parts.append(b" {%d+}\r\n" % len(m) + m)
    r = c.cmd(b"".join(parts))
    assert r.status == "OK", r
    c.logout()


class Steady:
    """Tenant B's load: IMAP and SMTP, each timing every command or transaction."""

    def __init__(self, server):
        self.server = server
        self.samples: dict[str, list[float]] = {"imap": [], "smtp": []}
        self.errors: list[str] = []
        self.stop = threading.Event()

    def imap(self):
        c = Imap(self.server, "bob@b.test")
        c.ok("SELECT INBOX")
        n = 0
        while not self.stop.wait(PAUSE):
            n = n % 50 + 1
            for command in (f"FETCH {n} (BODY.PEEK[])", "UID FETCH 1:* (FLAGS)", "NOOP"):
                t = time.perf_counter()
                r = c.cmd(command)
                self.samples["imap"].append(time.perf_counter() - t)
                if r.status != "OK":
                    self.errors.append(f"imap {command}: {r}")
        c.logout()

    def smtp(self):
        s = None
        i = 0
        while not self.stop.wait(PAUSE * 4):
            i += 1
            if i % 50 == 1:  # a connection per 50 messages, well under max_commands
                if s is not None:
                    s.quit()
                s = smtplib.SMTP(HOST, self.server.smtp_port, timeout=30)
                s.ehlo("steady.test")
            msg = make_message("steady@remote.test", "bob@b.test", subject=f"steady {i}")
            t = time.perf_counter()
            try:
                s.sendmail("steady@remote.test", ["bob@b.test"], msg)
            except smtplib.SMTPException as e:
                self.errors.append(f"smtp: {e}")
            self.samples["smtp"].append(time.perf_counter() - t)
        if s is not None:
            s.quit()

    def run(self, secs: float) -> dict[str, list[float]]:
        self.samples = {"imap": [], "smtp": []}
        self.stop.clear()
        threads = [threading.Thread(target=self.imap), threading.Thread(target=self.smtp)]
        for t in threads:
            t.start()
        time.sleep(secs)
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        return self.samples


FLOOD_IP = "127.0.0.2"


def flood(imap_port: int, smtp_port: int, stop, counts) -> None:
    """Tenant A, in its own process (its Python work must not share B's interpreter lock)."""
    big = make_message("f@remote.test", "alice@a.test", body="x" * 20_000)

    def command(sock, tag: bytes, line: bytes) -> bytes:
        """Sends one command and returns its tagged status, discarding the data before it:
        parsing 2 MB of literals in Python would make the flood's own CPU the noise."""
        sock.sendall(tag + b" " + line + b"\r\n")
        tail = b""
        chunk = bytearray(1 << 16)
        while True:
            n = sock.recv_into(chunk)
            if n == 0:
                raise OSError("closed")
            tail = (tail + bytes(chunk[:n]))[-512:]
            at = tail.rfind(b"\r\n" + tag + b" ")
            if at < 0 and tail.startswith(tag + b" "):
                at = -2
            if at != -1 and tail.endswith(b"\r\n"):
                return tail[at + 2 + len(tag) + 1:].split(b" ", 1)[0]

    def imap_loop():
        import socket
        while not stop.is_set():
            try:
                sock = socket.create_connection((HOST, imap_port), timeout=30,
                                                source_address=(FLOOD_IP, 0))
                sock.recv(1024)  # greeting
                if command(sock, b"l", f"LOGIN alice@a.test {PASSWORD}".encode()) != b"OK":
                    with counts.get_lock():  # over the tenant's session limit: retry soon
                        counts[2] += 1
                    sock.close()
                    time.sleep(0.2)
                    continue
                command(sock, b"s", b"SELECT INBOX")
                while not stop.is_set():
                    status = command(sock, b"f", b"FETCH 1:50 (BODY.PEEK[])")
                    with counts.get_lock():
                        counts[0 if status == b"OK" else 2] += 1
                sock.close()
            except OSError:
                time.sleep(0.2)

    def smtp_loop():
        while not stop.is_set():
            try:
                s = smtplib.SMTP(HOST, smtp_port, timeout=30, source_address=(FLOOD_IP, 0))
                s.ehlo("flood.test")
                for _ in range(100):
                    if stop.is_set():
                        break
                    try:
                        s.sendmail("f@remote.test", ["alice@a.test"], big)
                        done = 1
                    except smtplib.SMTPRecipientsRefused:
                        done = 3  # 451 4.7.1: over the tenant's hourly budget
                    with counts.get_lock():
                        counts[done] += 1
                s.quit()
            except (smtplib.SMTPException, OSError):
                time.sleep(0.05)

    threads = [threading.Thread(target=imap_loop) for _ in range(FLOOD_IMAP)]
    threads += [threading.Thread(target=smtp_loop) for _ in range(FLOOD_SMTP)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_flooding_tenant_does_not_slow_another(make_server):
    srv = make_server({"server": {"tenant_store_slots": 1}})
    for domain, user in (("a.test", "alice"), ("b.test", "bob")):
        srv.admin("domain", "add", domain)
        srv.admin("account", "add", f"{user}@{domain}", "--password", PASSWORD)
    fill(srv, "alice@a.test", 50, 40_000)
    srv.admin("domain", "limits", "a.test", "--connections", "8", "--commands-per-minute", "600",
              "--inbound-messages-per-hour", str(INBOUND_PER_HOUR))
    fill(srv, "bob@b.test", 50, 4_000)

    steady = Steady(srv)
    stop = multiprocessing.Event()
    # FETCHes, deliveries, IMAP refusals, SMTP refusals
    counts = multiprocessing.Array("l", 4)
    proc = multiprocessing.Process(target=flood, args=(srv.imap_port, srv.smtp_port, stop, counts))
    proc.start()
    alone = {"imap": [], "smtp": []}
    flooded = {"imap": [], "smtp": []}
    during = [0, 0]
    try:
        # A's budgets allow a burst of one period's worth; measure once A is held at its limits
        # (refusals on both protocols), which is where a flooding tenant spends its time.
        deadline = time.time() + 60
        while counts[3] == 0 or counts[2] == 0:
            assert time.time() < deadline and proc.is_alive(), list(counts)
            time.sleep(0.1)
        # Windows alternate between A stopped (SIGSTOP: its connections stay open, idle) and A
        # flooding, so drift in the machine's own speed (a shared VM's disk) falls on both.
        for _ in range(ROUNDS):
            os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.2)
            for proto, samples in steady.run(PHASE_SECS / ROUNDS).items():
                alone[proto] += samples
            os.kill(proc.pid, signal.SIGCONT)
            before = (counts[0], counts[1])
            for proto, samples in steady.run(PHASE_SECS / ROUNDS).items():
                flooded[proto] += samples
            during[0] += counts[0] - before[0]
            during[1] += counts[1] - before[1]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        stop.set()
        proc.join(timeout=60)
        if proc.is_alive():
            proc.kill()
    assert not steady.errors, steady.errors[:5]
    assert during[0] > 0 and during[1] > 0, "the flood did not run"

    lines = [f"\nflood: {counts[0]} FETCH 1:50 of 40 KiB and {counts[1]} deliveries of 20 KiB "
             f"in all ({during[0]} and {during[1]} while B was measured), refused by A's limits: "
             f"{counts[2]} IMAP, {counts[3]} SMTP"]
    failures = []
    for proto in ("imap", "smtp"):
        base, load = percentile(alone[proto], 0.99), percentile(flooded[proto], 0.99)
        ratio = load / base
        lines.append(f"B {proto}: p99 alone {base * 1000:.2f} ms, with A flooding "
                     f"{load * 1000:.2f} ms ({ratio:.2f}x), p50 {percentile(alone[proto], 0.5) * 1000:.2f} "
                     f"-> {percentile(flooded[proto], 0.5) * 1000:.2f} ms, "
                     f"{len(alone[proto])}/{len(flooded[proto])} samples")
        limit = base * 1.5 if STRICT else max(base * 1.5, base + 0.005)
        if load > limit:
            failures.append(f"{proto} p99 {load * 1000:.2f} ms > {limit * 1000:.2f} ms")
    print("\n".join(lines))
    assert not failures, failures
