"""fetchmail (Debian package) in keep mode against Yubin's POP3: UIDLs must let it download
every message exactly once, across runs, server restarts and storage trouble."""

import os
import time
import shutil
import subprocess

import pytest

from yubintest import ALICE, PASSWORD, lmtp_deliver, make_message

pytestmark = pytest.mark.skipif(shutil.which("fetchmail") is None,
                                reason="fetchmail is not installed (scripts/test-all installs it)")

class Fetchmail:
    """One fetchmail set-up: rc file, UID file and a directory that collects what it delivers."""

    def __init__(self, server, tmp):
        self.server = server
        self.home = os.path.join(tmp, "fm-home")
        self.inbox = os.path.join(tmp, "fm-inbox")
        os.makedirs(self.home)
        os.makedirs(self.inbox)
        self.rc = os.path.join(self.home, ".fetchmailrc")
        self.ids = os.path.join(self.home, ".fetchids")

    def write_rc(self):
        # the port changes when the server restarts (tests listen on port 0)
        server = self.server
        with open(self.rc, "w") as f:
            f.write(
                "set no syslog\n"
                f"poll 127.0.0.1 service {server.pop3_port} protocol pop3 uidl\n"
                "    timeout 30\n"
                f"    user \"{ALICE}\" there with password \"{PASSWORD}\" is \"tester\" here\n"
                "    keep\n"
                "    sslproto ''\n"
                # fetchmail runs the MDA with /bin/sh once per message; $$ names each file
                f"    mda \"cat > {self.inbox}/m.$$\"\n")
        os.chmod(self.rc, 0o600)

    def run(self) -> tuple[int, str]:
        """Runs fetchmail once; returns its exit code and output."""
        self.write_rc()
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        p = subprocess.run(
            ["fetchmail", "--nodetach", "-f", self.rc, "-i", self.ids, "--pidfile",
             os.path.join(self.home, "pid"), "-v"],
            env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def downloaded(self) -> list[bytes]:
        out = []
        for name in sorted(os.listdir(self.inbox)):
            with open(os.path.join(self.inbox, name), "rb") as f:
                out.append(f.read())
        return out


def message_ids(messages: list[bytes]) -> list[str]:
    ids = []
    for m in messages:
        for line in m.split(b"\n"):
            if line.lower().startswith(b"message-id:"):
                ids.append(line.split(b":", 1)[1].strip().decode())
                break
    return ids


def fill(server, n: int, start: int = 0) -> list[str]:
    msgs = [make_message("sender@remote.test", ALICE, subject=f"fm {i}",
                         msgid=f"<fm.{i}@client.test>", body=f"Message {i}.\r\n" * 20)
            for i in range(start, start + n)]
    lmtp_deliver(server, msgs)
    return [f"<fm.{i}@client.test>" for i in range(start, start + n)]


# fetchmail's exit codes (fetchmail(1) "EXIT CODES")
NEW_MAIL = 0
NO_MAIL = 1


def test_keep_mode_downloads_each_message_once(example, tmp_path):
    sent = fill(example, 1000)
    fm = Fetchmail(example, str(tmp_path))
    rc, out = fm.run()
    assert rc == NEW_MAIL, out[-3000:]
    got = message_ids(fm.downloaded())
    assert sorted(got) == sorted(sent), f"{len(got)} downloaded"
    # second run: nothing new
    rc, out = fm.run()
    assert rc == NO_MAIL, out[-3000:]
    assert len(fm.downloaded()) == 1000
    # after a restart the UIDLs are the same, so still nothing new
    example.restart()
    fm.server = example
    rc, out = fm.run()
    assert rc == NO_MAIL, out[-3000:]
    assert len(fm.downloaded()) == 1000
    # new mail is downloaded, and only that
    more = fill(example, 5, start=1000)
    rc, out = fm.run()
    assert rc == NEW_MAIL, out[-3000:]
    got = message_ids(fm.downloaded())
    assert sorted(got) == sorted(sent + more)


def test_slow_store_gives_sys_temp_and_never_a_second_download(make_server, tmp_path):
    """With the store made slow (the test-only fault switch), sessions get -ERR [SYS/TEMP]
    instead of a listing; once it recovers, fetchmail downloads exactly what it had not."""
    srv = make_server({"pop3": {"store_timeout_ms": 300}}, start=False)
    srv.env = {"YUBIN_FAULT_INJECTION": "1"}
    srv.start()
    srv.setup_example()
    sent = fill(srv, 1000)
    fm = Fetchmail(srv, str(tmp_path))
    rc, out = fm.run()
    assert rc == NEW_MAIL, out[-3000:]
    assert len(fm.downloaded()) == 1000
    more = fill(srv, 20, start=1000)

    srv.admin("fault", "store-latency", "1000")
    try:
        for _ in range(3):
            rc, out = fm.run()
            assert rc not in (NEW_MAIL, NO_MAIL), out[-3000:]
            assert "SYS/TEMP" in out, out[-3000:]
        assert len(fm.downloaded()) == 1000  # nothing downloaded while the store is slow
    finally:
        srv.admin("fault", "store-latency", "0")
    # Admission control sees the store fast again at its next probe (within about a second);
    # until then logins still get [SYS/TEMP], as a client retrying later would.
    deadline = time.time() + 10
    while "yubin_store_slow 1" in srv.admin("metrics").stdout:
        assert time.time() < deadline, "the store never counted as fast again"
        time.sleep(0.1)

    rc, out = fm.run()
    assert rc == NEW_MAIL, out[-3000:]
    got = message_ids(fm.downloaded())
    assert sorted(got) == sorted(sent + more), f"{len(got)} downloaded"
    rc, out = fm.run()
    assert rc == NO_MAIL, out[-3000:]
    assert len(fm.downloaded()) == 1020
