"""The HTTP listener: /health, /ready (store answers, data directory writable) and /metrics.

The read-only test mounts a tmpfs for the data directory and remounts it read-only, as ext4 does
to itself after an I/O error; /ready must turn 503 within 10 s and recover after a rw remount.
"""

import json
import os
import re
import smtplib
import subprocess
import tempfile
import time

import pytest

from yubintest import Server, make_message


def test_health_ready_and_metrics(example):
    assert example.http("/health") == (200, "ok\n")
    status, body = example.http("/ready")
    assert status == 200 and json.loads(body) == {"ready": True}, body
    with example.smtp() as s:
        s.sendmail("s@remote.test", ["alice@example.test"],
                   make_message("s@remote.test", "alice@example.test"))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        example.submission("alice@example.test", "wrong")
    imap = example.imap()
    imap.select("INBOX")
    status, text = example.http("/metrics")
    imap.logout()
    assert status == 200
    assert "# TYPE yubin_purge_backlog gauge" in text, text[:2000]
    assert "yubin_store_commit_seconds_bucket" in text, text[:2000]
    # per-protocol command latency, the SMTP transaction with its 7 s bucket, connections open
    # now, the queue depth and refusals by a limit
    for protocol in ("smtp", "imap", "submission"):
        assert f'yubin_command_seconds_count{{protocol="{protocol}"}}' in text, text
    assert re.search(r'yubin_smtp_transaction_seconds_bucket\{[^}]*le="7"[^}]*\} 1', text), text
    assert re.search(r'yubin_connections\{protocol="imap"\} 1\b', text), text
    assert re.search(r"yubin_queue_messages 0\b", text), text
    # smtplib tries PLAIN, then LOGIN: two refusals
    assert re.search(r'yubin_rejected_total\{[^}]*reason="auth_failure"[^}]*\} 2\b', text), text
    assert example.http("/nowhere")[0] == 404
    # the SLA report from the same metrics: one SMTP transaction, the refused AUTHs had none
    sla = dict(line.split(": ", 1) for line in
               example.admin("sla").stdout.splitlines())
    assert sla["transactions"] == "1" and sla["under_7s"] == "100.000%", sla
    assert sla["p50"].startswith("<= ") and float(sla["max"].split()[0]) > 0, sla


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


@pytest.fixture
def ext4_dir():
    """A small ext4 filesystem (loop device, errors=remount-ro) mounted on a temporary
    directory, and the sysfs switch that makes ext4 report an error on it."""
    where = tempfile.mkdtemp(prefix="yubin-ro-")
    image = where + ".img"
    if os.geteuid() != 0:
        pytest.skip("needs root for a loop-mounted filesystem")
    run("truncate", "-s", "128M", image)
    if run("mkfs.ext4", "-q", "-F", image).returncode or \
            run("mount", "-o", "loop,errors=remount-ro", image, where).returncode:
        os.unlink(image)
        pytest.skip("cannot loop-mount an ext4 image here")
    device = os.path.basename(run("findmnt", "-n", "-o", "SOURCE", where).stdout.strip())
    yield where, f"/sys/fs/ext4/{device}/trigger_fs_error"
    run("umount", "-l", where)
    run("losetup", "-d", f"/dev/{device}")
    os.unlink(image)


def wait_ready(srv, want: int, timeout: float) -> tuple[float, str]:
    start = time.monotonic()
    while True:
        status, body = srv.http("/ready")
        if status == want:
            return time.monotonic() - start, body
        assert time.monotonic() - start < timeout, (status, body)
        time.sleep(0.2)


def test_a_disk_that_went_read_only_makes_the_node_not_ready(ext4_dir):
    where, trigger = ext4_dir
    srv = Server({"server": {"data_dir": os.path.join(where, "data")}})
    srv.start()
    try:
        wait_ready(srv, 200, 10)
        # What ext4 does after an I/O error with errors=remount-ro, with the store's file open.
        with open(trigger, "w") as f:
            f.write("yubin test\n")
        took, body = wait_ready(srv, 503, 10)
        failed = json.loads(body)["failed"]
        assert "data_dir" in [f["check"] for f in failed], failed
        assert any("Read-only file system" in f["error"] for f in failed), failed
        print(f"\nnot ready {took:.1f} s after the filesystem went read-only")
        assert srv.http("/health")[0] == 200, "alive, just not ready"
    finally:
        srv.proc.kill()
        srv.proc.wait()
