#!/usr/bin/env python3
"""Load generator for the outbound benchmark (standard library only).

Submits MESSAGES messages over CLIENTS concurrent SMTP connections to the sender under test,
and watches the receiver's mailboxes over IMAP IDLE (one connection per recipient account)
until every copy has been stored there. Prints one line:

    result messages=.. copies=.. submit_s=.. submit_rate=.. e2e_s=.. e2e_rate=..
           p50_ms=.. p99_ms=.. max_ms=.. client_cpu_s=..

- submit_rate: messages accepted (250 after DATA) per second, from the first connection to the
  last 250.
- e2e_rate: messages per second from the first connection to the last copy seen stored at
  the receiver.
- p50/p99/max: per copy, from the 250 that accepted the message to the moment the receiver's
  IMAP server showed it (the FETCH answer after IDLE's EXISTS; about a millisecond late).
- client_cpu_s: CPU seconds this process used (submitters and watchers), to show the load
  generator is not the bottleneck.

Message i goes to 1 + i % 3 recipients user{(7i + j) % ACCOUNTS}@DOMAIN; client k sends as
SENDER with {} replaced by k, From: the same; Message-ID <TAG.i@a.test>.
"""

import argparse
import re
import resource
import smtplib
import socket
import sys
import threading
import time

UID_RE = re.compile(rb"UID (\d+)")
MSGID_RE = re.compile(rb"<([^>]*)>")
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS", re.I)
UIDNEXT_RE = re.compile(rb"UIDNEXT (\d+)", re.I)


def recipients_of(i, accounts, domain):
    return [f"user{(7 * i + j) % accounts}@{domain}" for j in range(1 + i % 3)]


def body_text(size):
    line = ("The quick brown fox jumps over the lazy dog, " * 2)[:76] + "\r\n"
    return (line * (size // len(line) + 1))[:size]


def build(i, sender, rcpts, tag, body):
    return (
        f"From: {sender}\r\n"
        f"To: {', '.join(rcpts)}\r\n"
        f"Subject: outbound bench {tag} {i}\r\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
        f"Message-ID: <{tag}.{i}@a.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n" + body
    ).encode()


class Watcher(threading.Thread):
    """Follows one INBOX with IDLE and records when each message of this run shows up."""

    def __init__(self, host, port, user, password, prefix, seen, lock, changed):
        super().__init__(daemon=True)
        self.host, self.port, self.user, self.password = host, port, user, password
        self.prefix, self.seen, self.lock, self.changed = prefix, seen, lock, changed
        self.ready = threading.Event()
        self.error = None
        self.n = 0

    def cmd(self, text):
        self.n += 1
        tag = f"w{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        return tag

    def until_tagged(self, tag):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError(f"{self.user}: IMAP connection closed")
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line += self.f.read(int(m.group(1))) + self.f.readline()
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                if not line.split()[1].upper() == b"OK":
                    raise ConnectionError(f"{self.user}: {line!r}")
                return lines

    def run(self):
        try:
            self.sock = socket.create_connection((self.host, self.port))
            self.f = self.sock.makefile("rb")
            self.f.readline()
            self.until_tagged(self.cmd(f'LOGIN "{self.user}" "{self.password}"'))
            last = 0
            for line in self.until_tagged(self.cmd("EXAMINE INBOX")):
                m = UIDNEXT_RE.search(line)
                if m:
                    last = int(m.group(1)) - 1
            self.ready.set()
            while True:
                tag = self.cmd("IDLE")
                while True:
                    line = self.f.readline()
                    if not line:
                        raise ConnectionError(f"{self.user}: IMAP connection closed in IDLE")
                    if EXISTS_RE.match(line):
                        break
                self.sock.sendall(b"DONE\r\n")
                self.until_tagged(tag)
                # The server reports new messages after any command's own answer, so an
                # EXISTS in a FETCH's answer may name messages that FETCH did not return, and
                # the next IDLE will not announce them again: fetch until none is new.
                more = True
                while more:
                    lines = self.until_tagged(self.cmd(
                        f"UID FETCH {last + 1}:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
                    now = time.monotonic()
                    found = []
                    more = False
                    for line in lines:
                        if EXISTS_RE.match(line):
                            more = True
                        if b" FETCH " not in line:
                            continue
                        m = UID_RE.search(line)
                        if not m or int(m.group(1)) <= last:
                            continue
                        last = max(last, int(m.group(1)))
                        mid = MSGID_RE.search(line)
                        if mid and mid.group(1).startswith(self.prefix):
                            found.append(mid.group(1))
                    if found:
                        with self.lock:
                            for mid in found:
                                if (self.user, mid) in self.seen:
                                    self.seen["dup"] += 1
                                else:
                                    self.seen[(self.user, mid)] = now
                            self.changed.notify_all()
        except Exception as e:  # reported by the main thread
            self.error = e
            self.ready.set()
            with self.lock:
                self.changed.notify_all()


def submitter(args, k, indices, messages, accepted, errors):
    sender = args.sender.replace("{}", str(k))
    s = None
    try:
        for n, i in enumerate(indices):
            if s is None or n % args.per_conn == 0:
                if s is not None:
                    s.quit()
                s = smtplib.SMTP(args.submit_host, args.submit_port, timeout=120,
                                 local_hostname="client.test")
                s.ehlo()
                if args.password:
                    s.login(sender, args.password)
            rcpts = recipients_of(i, args.accounts, args.domain)
            refused = s.sendmail(sender, rcpts, messages[i])
            if refused:
                raise RuntimeError(f"refused {refused}")
            accepted[i] = time.monotonic()
        s.quit()
    except Exception as e:
        errors.append(f"client {k}: {e!r}")


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--submit", required=True, help="host:port of the sender under test")
    ap.add_argument("--sender", default="sender{}@a.test")
    ap.add_argument("--password", default="", help="AUTH password; empty: no AUTH")
    ap.add_argument("--watch", required=True, help="host:port of the receiver's IMAP")
    ap.add_argument("--imap-password", required=True)
    ap.add_argument("--domain", default="b.test")
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--per-conn", type=int, default=100, help="messages per SMTP connection")
    ap.add_argument("--tag", required=True, help="unique per run; goes into Message-IDs")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    args.submit_host, port = args.submit.rsplit(":", 1)
    args.submit_port = int(port)
    whost, wport = args.watch.rsplit(":", 1)

    body = body_text(args.size)
    messages = [build(i, args.sender.replace("{}", str(i % args.clients)),
                      recipients_of(i, args.accounts, args.domain), args.tag, body)
                for i in range(args.messages)]
    expected = sum(len(recipients_of(i, args.accounts, args.domain)) for i in range(args.messages))

    seen, lock = {"dup": 0}, threading.Lock()
    changed = threading.Condition(lock)
    watchers = [Watcher(whost, int(wport), f"user{a}@{args.domain}", args.imap_password,
                        args.tag.encode() + b".", seen, lock, changed)
                for a in range(args.accounts)]
    for w in watchers:
        w.start()
    for w in watchers:
        w.ready.wait(30)
        if w.error or not w.ready.is_set():
            sys.exit(f"watcher {w.user}: {w.error or 'not ready'}")

    accepted = [None] * args.messages
    errors = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    clients = [threading.Thread(target=submitter, daemon=True,
                                args=(args, k, range(k, args.messages, args.clients), messages,
                                      accepted, errors))
               for k in range(args.clients)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(max(0.0, args.timeout - (time.monotonic() - t0)))
    if errors:
        sys.exit("submission failed: " + "; ".join(errors[:3]))
    if any(a is None for a in accepted):
        sys.exit("submission did not finish within the timeout")
    t_submitted = max(accepted)
    with lock:
        while len(seen) - 1 < expected:
            failed = [w for w in watchers if w.error]
            if failed:
                sys.exit(f"watcher {failed[0].user}: {failed[0].error}")
            left = args.timeout - (time.monotonic() - t0)
            if left <= 0:
                sys.exit(f"timeout: {len(seen) - 1} of {expected} copies stored")
            changed.wait(min(left, 1.0))
        duplicates = seen.pop("dup")
        got = [(mid, t) for (_, mid), t in seen.items()]
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    t_stored = max(t for _, t in got)
    by_index = {}
    for mid, t in got:
        i = int(mid.split(b"@")[0].rsplit(b".", 1)[1])
        by_index.setdefault(i, []).append(t)
    latencies = sorted((t - accepted[i]) * 1000 for i, ts in by_index.items() for t in ts)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(f"result messages={args.messages} copies={len(got)} "
          f"submit_s={t_submitted - t0:.3f} submit_rate={args.messages / (t_submitted - t0):.1f} "
          f"e2e_s={t_stored - t0:.3f} e2e_rate={args.messages / (t_stored - t0):.1f} "
          f"p50_ms={percentile(latencies, 50):.0f} p99_ms={percentile(latencies, 99):.0f} "
          f"max_ms={latencies[-1]:.0f} client_cpu_s={cpu:.2f} "
          f"duplicates={duplicates}")


if __name__ == "__main__":
    main()
