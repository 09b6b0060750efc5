"""Concurrency and crash safety: what was acknowledged is stored, exactly once, intact."""

import collections
import random
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from yubintest import HOST, assert_stored, make_message, new_msgid, parse_kv

SENDER = "sender@remote.test"
ALICE = "alice@example.test"


def test_concurrent_deliveries_to_one_mailbox(example):
    threads, per_thread = 20, 25
    sent: dict[str, bytes] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(n):
        try:
            with smtplib.SMTP(HOST, example.smtp_port, timeout=60) as s:
                s.ehlo("client.test")
                for i in range(per_thread):
                    msgid = new_msgid(f"c{n}-{i}")
                    msg = make_message(SENDER, ALICE, subject=f"thread {n} message {i}", msgid=msgid,
                                       body=f"body of {n}/{i}\r\n" * (1 + i))
                    s.mail(SENDER)
                    code, reply = s.rcpt(ALICE)
                    assert code == 250, (code, reply)
                    code, reply = s.data(msg)
                    assert code == 250, (code, reply)
                    with lock:
                        sent[msgid] = msg
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"thread {n}: {e!r}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    assert len(sent) == threads * per_thread

    rows = example.messages(ALICE)
    assert [r.uid for r in rows] == list(range(1, threads * per_thread + 1)), "UIDs not 1..500 ascending"
    ids = [r.message_id for r in rows]
    assert len(set(ids)) == len(ids) == threads * per_thread
    assert set(ids) == set(sent)
    # spot-check bodies; admin check verifies every blob's hash
    for row in random.Random(1).sample(rows, 25):
        assert_stored(example.show(ALICE, row.uid), sent[row.message_id], SENDER)
    assert example.admin("check").stdout.strip() == "ok"
    info = parse_kv(example.admin("account", "show", ALICE).stdout)
    assert info["messages"] == str(threads * per_thread)
    assert info["used"] == str(sum(r.size for r in rows))


def test_restart_keeps_mail_and_uid_state(example):
    first = make_message(SENDER, ALICE, msgid=new_msgid("before"))
    with smtplib.SMTP(HOST, example.smtp_port, timeout=30) as s:
        assert s.sendmail(SENDER, [ALICE], first) == {}
    before = example.admin("mailbox", "list", ALICE).stdout
    example.restart()
    assert example.admin("mailbox", "list", ALICE).stdout == before
    second = make_message(SENDER, ALICE, msgid=new_msgid("after"))
    with smtplib.SMTP(HOST, example.smtp_port, timeout=30) as s:
        assert s.sendmail(SENDER, [ALICE], second) == {}
    rows = example.messages(ALICE)
    assert [r.uid for r in rows] == [1, 2]
    assert_stored(example.show(ALICE, 1), first, SENDER)
    assert_stored(example.show(ALICE, 2), second, SENDER)


def test_admin_answers_during_delivery_load(example):
    stop = threading.Event()
    delivered = []

    def load(n):
        with smtplib.SMTP(HOST, example.smtp_port, timeout=30) as s:
            while not stop.is_set():
                s.sendmail(SENDER, [ALICE], make_message(SENDER, ALICE, body=f"load {n}\r\n"))
                delivered.append(n)

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(6)]
    for t in threads:
        t.start()
    try:
        for i in range(10):
            example.admin("account", "add", f"user{i}@example.test", "--password", "pw")
            info = parse_kv(example.admin("account", "show", ALICE).stdout)
            assert int(info["messages"]) >= 0
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert delivered, "no delivery completed during the admin calls"
    assert len(example.messages(ALICE)) == len(delivered)
    assert example.admin("check").stdout.strip() == "ok"


class Load:
    """N client threads delivering continuously; remembers what was sent and acknowledged."""

    def __init__(self, port: int, threads: int, cycle: int):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: dict[str, bytes] = {}
        self.acked: set[str] = set()
        self.threads = [threading.Thread(target=self.run, args=(cycle, n), daemon=True)
                        for n in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a load thread hung"

    def run(self, cycle, n):
        rnd = random.Random(cycle * 1000 + n)
        i = 0
        while not self.stop.is_set():
            try:
                with smtplib.SMTP(HOST, self.port, timeout=20) as s:
                    s.ehlo("client.test")
                    while not self.stop.is_set():
                        i += 1
                        msgid = new_msgid(f"crash{cycle}-{n}-{i}")
                        filler = "".join(rnd.choice("abcdefghij") for _ in range(70))
                        body = f"cycle {cycle} thread {n} msg {i}\r\n" + (filler + "\r\n") * rnd.randint(1, 300)
                        msg = make_message(SENDER, ALICE, msgid=msgid, body=body)
                        with self.lock:
                            self.sent[msgid] = msg
                        if s.mail(SENDER)[0] != 250 or s.rcpt(ALICE)[0] != 250:
                            s.rset()
                            continue
                        code, _ = s.data(msg)
                        if code == 250:
                            with self.lock:
                                self.acked.add(msgid)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)  # server gone (killed) or connection dropped


def test_sigkill_under_load_loses_nothing_acknowledged(example):
    all_sent: dict[str, bytes] = {}
    all_acked: set[str] = set()
    verified: dict[int, str] = {}  # uid -> message-id, bodies already compared
    for cycle in range(3):
        load = Load(example.smtp_port, threads=16, cycle=cycle)
        load.start()
        t0 = time.monotonic()
        # ~3 s of load, capped so verification stays quick on slow machines
        while time.monotonic() - t0 < 3.0:
            time.sleep(0.1)
            with load.lock:
                if len(load.acked) >= 3000:
                    break
        example.kill9()
        load.join()
        assert load.acked, f"cycle {cycle}: no delivery was acknowledged before the kill"
        all_sent.update(load.sent)
        all_acked |= load.acked

        example.start()  # same data dir, after a crash
        rows = example.messages(ALICE)
        counts = collections.Counter(r.message_id for r in rows)
        dupes = {m: c for m, c in counts.items() if c > 1}
        assert not dupes, f"cycle {cycle}: messages stored more than once: {dupes}"
        missing = all_acked - set(counts)
        assert not missing, f"cycle {cycle}: {len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
        unknown = set(counts) - set(all_sent)
        assert not unknown, f"cycle {cycle}: stored messages that were never sent: {unknown}"
        uids = [r.uid for r in rows]
        assert uids == sorted(set(uids)), f"cycle {cycle}: UIDs not unique and ascending"
        for row in rows:
            if row.uid in verified:
                assert verified[row.uid] == row.message_id, f"UID {row.uid} changed its message"
        new_rows = [r for r in rows if r.uid not in verified]
        if verified:
            assert min(r.uid for r in new_rows) > max(verified), "a UID was reused after a crash"

        def check(row):
            stored = example.show(ALICE, row.uid)
            assert row.size == len(stored), f"UID {row.uid}: listed size {row.size} != {len(stored)}"
            assert_stored(stored, all_sent[row.message_id], SENDER)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(check, new_rows))
        verified.update({r.uid: r.message_id for r in new_rows})

        res = example.admin("check", check=False)
        assert (res.rc, res.stdout.strip()) == (0, "ok"), f"cycle {cycle}: admin check: {res}"
        info = parse_kv(example.admin("account", "show", ALICE).stdout)
        assert info["messages"] == str(len(rows)), f"cycle {cycle}: counter drift: {info}"
        assert info["used"] == str(sum(r.size for r in rows)), f"cycle {cycle}: quota drift: {info}"
