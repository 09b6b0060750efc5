"""A mass delete must not hurt other users.

One account deletes 200,000 messages in one POP3 session (DELE each, then QUIT: one logical
delete) while two other accounts keep reading, one over IMAP and one over POP3. The purge must
finish, the readers must never see an error, and their p99 command latency while the delete and
the purge behind it run must stay within 2x of the same readers' p99 on an otherwise idle server
(the issue's target), measured before the delete and again after the purge. Run with -s to see
the figures, per phase and per command (docs/benchmarks.md "Mass delete" has them)."""

import os
import threading
import time

from imapclient import Imap
from yubintest import HOST, PASSWORD, RawPop3, make_message, parse_kv

BIG = int(os.environ.get("YUBIN_MASS_DELETE", "200000"))
BATCH = 1000  # messages per MULTIAPPEND
READERS = ("bob@example.test", "carol@example.test")
PHASE_SECS = 8.0
# Readers pause between rounds like real clients, leaving the machine headroom: closed-loop
# readers on 2 cores would measure CPU saturation by the test itself, not the server.
PAUSE = 0.002


def fill(server, account: str, n: int) -> None:
    """n distinct small messages, MULTIAPPENDed BATCH at a time over two connections."""
    def worker(start: int, step: int):
        c = Imap(server, account)
        for b in range(start, n // BATCH, step):
            parts = [b"APPEND INBOX"]
            for i in range(b * BATCH, (b + 1) * BATCH):
                m = make_message("s@remote.test", account, subject=f"bulk {i}",
                                 msgid=f"<bulk.{i}@client.test>", body=f"Bulk message {i}.\r\n")
                parts.append(b" {%d+}\r\n" % len(m) + m)
            r = c.cmd(b"".join(parts))
            assert r.status == "OK", r
        c.logout()
    threads = [threading.Thread(target=worker, args=(k, 2)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))]


class Readers:
    """An IMAP reader and a POP3 reader, each timing every command it sends."""

    def __init__(self, server):
        self.server = server
        self.samples: dict[str, list[float]] = {"imap": [], "pop3": []}
        self.stamps: dict[str, list[float]] = {"imap": [], "pop3": []}
        self.kinds: dict[str, list[str]] = {"imap": [], "pop3": []}
        self.stop = threading.Event()
        self.errors: list[str] = []

    def imap(self):
        c = Imap(self.server, READERS[0])
        c.ok("SELECT INBOX")
        n = 0
        while not self.stop.wait(PAUSE):
            n = n % 100 + 1
            for kind, command in (("UID FETCH FLAGS", "UID FETCH 1:* (FLAGS)"),
                                  ("FETCH BODY", f"FETCH {n} (BODY.PEEK[])"), ("NOOP", "NOOP")):
                t = time.perf_counter()
                r = c.cmd(command)
                self.samples["imap"].append(time.perf_counter() - t)
                self.stamps["imap"].append(t)
                self.kinds["imap"].append(kind)
                if r.status != "OK":
                    self.errors.append(f"imap {command}: {r}")
        c.logout()

    def pop3(self):
        n = 0
        while not self.stop.wait(PAUSE):
            n = n % 100 + 1
            t = time.perf_counter()
            p = RawPop3(HOST, self.server.pop3_port)
            p.cmd(f"USER {READERS[1]}")
            status = p.cmd(f"PASS {PASSWORD}")
            self.samples["pop3"].append(time.perf_counter() - t)  # connect + login + snapshot
            self.stamps["pop3"].append(t)
            self.kinds["pop3"].append("LOGIN")
            if not status.startswith(b"+OK"):
                self.errors.append(f"pop3 login: {status!r}")
                p.close()
                continue
            for command in ("STAT", "UIDL", f"RETR {n}"):
                t = time.perf_counter()
                if command == "STAT":
                    ok = p.cmd(command).startswith(b"+OK")
                else:
                    status, _ = p.multi(command)
                    ok = status.startswith(b"+OK")
                self.samples["pop3"].append(time.perf_counter() - t)
                self.stamps["pop3"].append(t)
                self.kinds["pop3"].append(command.split()[0])
                if not ok:
                    self.errors.append(f"pop3 {command} failed")
            p.cmd("QUIT")
            p.close()

    def run_for(self, until) -> dict[str, list[float]]:
        self.samples = {"imap": [], "pop3": []}
        self.stamps = {"imap": [], "pop3": []}
        self.kinds = {"imap": [], "pop3": []}
        self.stop.clear()
        threads = [threading.Thread(target=self.imap), threading.Thread(target=self.pop3)]
        for t in threads:
            t.start()
        try:
            until()
        finally:
            self.stop.set()
            for t in threads:
                t.join()
        return self.samples


def purge_status(server) -> dict[str, str]:
    return parse_kv(server.admin("purge", "status").stdout)


def test_mass_delete_keeps_other_users_fast(make_server):
    # A short grace, so the measured window is the delete and the purge, not the wait before it.
    srv = make_server({"pop3": {"max_commands_per_sec": 10_000_000},
                       "imap": {"max_commands_per_sec": 10_000_000},
                       "server": {"purge_grace_secs": 2}})
    srv.setup_example("carol")
    for account in READERS:
        c = Imap(srv, account)
        for i in range(100):
            m = make_message("s@remote.test", account, subject=f"reader {i}",
                             body=("Some text for the reader.\r\n" * 40))
            assert c.append("INBOX", m).status == "OK"
        c.logout()
    t0 = time.monotonic()
    fill(srv, "alice@example.test", BIG)
    fill_secs = time.monotonic() - t0

    readers = Readers(srv)
    baseline = readers.run_for(lambda: time.sleep(PHASE_SECS))
    baseline_kinds = readers.kinds
    assert not readers.errors, readers.errors[:5]

    timings = {}
    marks = {}

    def mass_delete():
        p = RawPop3(HOST, srv.pop3_port, timeout=600)
        marks["start"] = time.perf_counter()
        p.cmd("USER alice@example.test")
        t = time.monotonic()
        status = p.cmd(f"PASS {PASSWORD}")
        timings["login"] = time.monotonic() - t
        assert status.startswith(f"+OK Logged in, {BIG} messages".encode()), status
        t = time.monotonic()
        chunk = 5000
        for start in range(1, BIG + 1, chunk):
            end = min(BIG, start + chunk - 1)
            p.send("".join(f"DELE {n}\r\n" for n in range(start, end + 1)).encode())
            for _ in range(start, end + 1):
                assert p.line().startswith(b"+OK")
        timings["dele"] = time.monotonic() - t
        t = time.monotonic()
        marks["quit_start"] = time.perf_counter()
        status = p.cmd("QUIT")
        timings["quit"] = time.monotonic() - t
        marks["quit_end"] = time.perf_counter()
        assert status.startswith(b"+OK") and f"{BIG} messages deleted".encode() in status, status
        p.close()
        # then the purge runs in the background; wait for it to finish
        t = time.monotonic()
        while True:
            st = purge_status(srv)
            if int(st["backlog_entries"]) == 0 and int(st["dropped_mailboxes"]) == 0:
                break
            assert time.monotonic() - t < 900, f"purge did not finish: {st}"
            time.sleep(0.5)
        timings["purge"] = time.monotonic() - t
        marks["purge_end"] = time.perf_counter()
        time.sleep(1)  # a last second of readers after the purge

    under_load = readers.run_for(mass_delete)
    under_kinds, under_stamps = readers.kinds, readers.stamps
    assert not readers.errors, readers.errors[:5]
    # The idle baseline again, now that the purge is done, pooled with the first: on a small
    # VM one 8 s window's p99 moves by half from run to run (0.85 ms in one, 1.4 ms in the
    # next), and it alone should not decide the ratio.
    idle_before = baseline
    idle_after = readers.run_for(lambda: time.sleep(PHASE_SECS))
    assert not readers.errors, readers.errors[:5]
    baseline = {p: idle_before[p] + idle_after[p] for p in idle_before}
    baseline_kinds = {p: baseline_kinds[p] + readers.kinds[p] for p in baseline_kinds}

    with srv.imap("alice@example.test") as c:
        assert c.select("INBOX")[1] == [b"0"]
    srv.admin("check")

    report = [f"mass delete of {BIG} messages (fill {fill_secs:.0f} s): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())]
    for proto in ("imap", "pop3"):
        b, u = baseline[proto], under_load[proto]
        assert len(b) > 50 and len(u) > 50, (proto, len(b), len(u))
        bp99, up99 = percentile(b, 0.99), percentile(u, 0.99)
        report.append(f"{proto}: idle p50 {percentile(b, .5) * 1e3:.1f} ms p99 {bp99 * 1e3:.1f} ms"
                      f" ({len(b)} cmds; p99 before {percentile(idle_before[proto], .99) * 1e3:.1f}"
                      f" ms, after {percentile(idle_after[proto], .99) * 1e3:.1f} ms);"
                      f" during delete+purge p50 {percentile(u, .5) * 1e3:.1f} ms"
                      f" p99 {up99 * 1e3:.1f} ms ({len(u)} cmds); ratio {up99 / bp99:.2f}")
    for proto in ("imap", "pop3"):
        pairs = list(zip(under_stamps[proto], under_load[proto]))
        for name, lo, hi in (("login and DELE", marks["start"], marks["quit_start"]),
                             ("QUIT", marks["quit_start"], marks["quit_end"]),
                             ("purge", marks["quit_end"], marks["purge_end"])):
            window = [v for t, v in pairs if lo <= t <= hi]
            if window:
                report.append(f"  {proto} during {name}: p99 {percentile(window, .99) * 1e3:.1f} ms"
                              f" ({len(window)} cmds)")
    for proto in ("imap", "pop3"):
        for kind in sorted(set(baseline_kinds[proto])):
            b = [v for k, v in zip(baseline_kinds[proto], baseline[proto]) if k == kind]
            u = [v for k, v in zip(under_kinds[proto], under_load[proto]) if k == kind]
            if b and u:
                report.append(f"  {proto} {kind}: p99 idle {percentile(b, .99) * 1e3:.2f} ms,"
                              f" under load {percentile(u, .99) * 1e3:.2f} ms")
    print("\n" + "\n".join(report))
    for proto in ("imap", "pop3"):
        bp99, up99 = percentile(baseline[proto], .99), percentile(under_load[proto], .99)
        assert up99 <= 2 * bp99, "\n".join(report)
