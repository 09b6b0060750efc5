"""`yubin admin ...` and `yubin config default`, as an operator uses them."""

import imaplib
import poplib
import os
import re
import select
import signal
import smtplib
import subprocess
import tempfile
import time
import tomllib

import pytest

from yubintest import (ALICE, DOMAIN, FALSE_WORDS, HOST, PASSWORD, TRUE_WORDS, assert_reply, find_binary,
                       make_message, parse_kv, port_is_free, run_admin)

DEFAULT_MAILBOXES = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}


def assert_error(res, *, rc=1):
    """A failed admin command: exit code 1 and an `error: ` message on stderr."""
    assert res.rc == rc, f"expected exit {rc}, got {res.rc}; stdout={res.stdout!r} stderr={res.stderr!r}"
    assert re.search(r"^error: \S", res.stderr, re.M), f"no 'error: ...' line on stderr: {res.stderr!r}"


def lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------- domains


def test_domain_add_list_is_sorted(server):
    for d in ("zeta.test", "example.test", "alpha.test"):
        rc, _, _ = server.admin("domain", "add", d)
        assert rc == 0
    _, out, _ = server.admin("domain", "list")
    assert lines(out) == ["alpha.test", "example.test", "zeta.test"]


def test_domain_show_defaults_and_limits(server):
    server.admin("domain", "add", "example.test")
    server.admin("domain", "add", "big.test", "--quota", "1000000", "--max-accounts", "2")
    info = parse_kv(server.admin("domain", "show", "example.test").stdout)
    settings = {k: info.pop(k) for k in ("domain", "quota", "max_accounts", "accounts", "used")}
    assert settings == {"domain": "example.test", "quota": "0", "max_accounts": "0",
                        "accounts": "0", "used": "0"}
    # then the effective service limits, each with where it comes from (test_limits.py)
    assert set(info) == {"connections", "commands_per_minute", "messages_per_hour",
                         "recipients_per_hour", "inbound_messages_per_hour", "max_message_size"}
    assert all(v.endswith("(server default)") for v in info.values()), info
    info = parse_kv(server.admin("domain", "show", "big.test").stdout)
    assert info["quota"] == "1000000"
    assert info["max_accounts"] == "2"
    server.admin("account", "add", "a@big.test", "--password", PASSWORD)
    assert parse_kv(server.admin("domain", "show", "big.test").stdout)["accounts"] == "1"


def test_domain_names_are_case_insensitive(server):
    server.admin("domain", "add", "MiXeD.Example.TEST")
    assert lines(server.admin("domain", "list").stdout) == ["mixed.example.test"]
    assert_error(server.admin("domain", "add", "mixed.example.test", check=False))
    assert parse_kv(server.admin("domain", "show", "MIXED.example.test").stdout)["domain"] == "mixed.example.test"


def test_domain_add_duplicate_fails(server):
    server.admin("domain", "add", "example.test")
    assert_error(server.admin("domain", "add", "example.test", check=False))
    assert lines(server.admin("domain", "list").stdout) == ["example.test"]


@pytest.mark.parametrize("bad", ["bad..test", "has space.test", "user@example.test", "", ".lead.test",
                                 "ex!ample.test"])
def test_domain_add_malformed_fails(server, bad):
    assert_error(server.admin("domain", "add", bad, check=False))
    assert lines(server.admin("domain", "list").stdout) == []


def test_domain_show_and_remove_unknown_fail(server):
    assert_error(server.admin("domain", "show", "nowhere.test", check=False))
    assert_error(server.admin("domain", "remove", "nowhere.test", check=False))


def test_domain_remove(server):
    server.admin("domain", "add", "empty.test")
    server.admin("domain", "add", "example.test")
    server.admin("account", "add", "alice@example.test", "--password", PASSWORD)

    server.admin("domain", "remove", "empty.test")
    assert lines(server.admin("domain", "list").stdout) == ["example.test"]

    # still has an account: refused, nothing changed
    assert_error(server.admin("domain", "remove", "example.test", check=False))
    assert lines(server.admin("domain", "list").stdout) == ["example.test"]
    assert lines(server.admin("account", "list").stdout) == ["alice@example.test"]

    server.admin("domain", "remove", "example.test", "--force")
    assert lines(server.admin("domain", "list").stdout) == []
    assert lines(server.admin("account", "list").stdout) == []
    # mail to the removed domain is now relaying, refused
    with server.smtp() as s:
        s.ehlo("client.test")
        assert_reply(s.mail("someone@remote.test"), 250)
        assert_reply(s.rcpt("alice@example.test"), 550, "5.7.1")


def test_domain_max_accounts_enforced(server):
    server.admin("domain", "add", "small.test", "--max-accounts", "1")
    server.admin("account", "add", "one@small.test", "--password", PASSWORD)
    assert_error(server.admin("account", "add", "two@small.test", "--password", PASSWORD, check=False))
    assert lines(server.admin("account", "list", "small.test").stdout) == ["one@small.test"]


# ---------------------------------------------------------------- accounts


def test_account_add_list_show(example):
    example.admin("domain", "add", "other.test")
    example.admin("account", "add", "carol@other.test", "--password", PASSWORD, "--quota", "5000")
    assert sorted(lines(example.admin("account", "list").stdout)) == [
        "alice@example.test", "bob@example.test", "carol@other.test"]
    assert sorted(lines(example.admin("account", "list", "example.test").stdout)) == [
        "alice@example.test", "bob@example.test"]
    assert lines(example.admin("account", "list", "other.test").stdout) == ["carol@other.test"]

    info = parse_kv(example.admin("account", "show", "alice@example.test").stdout)
    assert set(info) >= {"address", "enabled", "quota", "used", "messages"}, info
    assert info["address"] == "alice@example.test"
    assert info["enabled"].lower() in TRUE_WORDS
    assert info["used"] == "0"
    assert info["messages"] == "0"
    assert parse_kv(example.admin("account", "show", "carol@other.test").stdout)["quota"] == "5000"
    assert parse_kv(example.admin("domain", "show", "example.test").stdout)["accounts"] == "2"


def test_account_addresses_are_case_insensitive(example):
    example.admin("account", "add", "Dave.Smith@EXAMPLE.test", "--password", PASSWORD)
    assert "dave.smith@example.test" in lines(example.admin("account", "list").stdout)
    assert_error(example.admin("account", "add", "ALICE@example.test", "--password", PASSWORD, check=False))
    assert parse_kv(example.admin("account", "show", "ALICE@Example.Test").stdout)["address"] == "alice@example.test"


def test_account_add_errors(example):
    assert_error(example.admin("account", "add", "x@nowhere.test", "--password", PASSWORD, check=False))
    assert_error(example.admin("account", "add", "alice@example.test", "--password", PASSWORD, check=False))
    assert sorted(lines(example.admin("account", "list").stdout)) == ["alice@example.test", "bob@example.test"]


@pytest.mark.parametrize("bad", ["alice", "alice@", "@example.test", "al ice@example.test",
                                 "alice@@example.test", "alice@exa..mple.test", ""])
def test_account_add_malformed_fails(example, bad):
    assert_error(example.admin("account", "add", bad, "--password", PASSWORD, check=False))
    assert sorted(lines(example.admin("account", "list").stdout)) == ["alice@example.test", "bob@example.test"]


def test_account_passwd(example):
    assert example.admin("account", "passwd", "alice@example.test", "--password", "new-pw").rc == 0
    assert_error(example.admin("account", "passwd", "nobody@example.test", "--password", "x", check=False))


def test_account_disable_enable(example):
    example.admin("account", "disable", "bob@example.test")
    assert parse_kv(example.admin("account", "show", "bob@example.test").stdout)["enabled"].lower() in FALSE_WORDS
    example.admin("account", "enable", "bob@example.test")
    assert parse_kv(example.admin("account", "show", "bob@example.test").stdout)["enabled"].lower() in TRUE_WORDS
    assert_error(example.admin("account", "disable", "nobody@example.test", check=False))
    assert_error(example.admin("account", "enable", "nobody@example.test", check=False))


def test_account_quota(example):
    example.admin("account", "quota", "alice@example.test", "12345")
    assert parse_kv(example.admin("account", "show", "alice@example.test").stdout)["quota"] == "12345"
    example.admin("account", "quota", "alice@example.test", "0")
    assert parse_kv(example.admin("account", "show", "alice@example.test").stdout)["quota"] == "0"
    assert_error(example.admin("account", "quota", "nobody@example.test", "100", check=False))
    res = example.admin("account", "quota", "alice@example.test", "lots", check=False)
    assert res.rc in (1, 2), res
    assert parse_kv(example.admin("account", "show", "alice@example.test").stdout)["quota"] == "0"


def test_account_remove(example):
    example.admin("account", "remove", "bob@example.test")
    assert lines(example.admin("account", "list").stdout) == ["alice@example.test"]
    assert parse_kv(example.admin("domain", "show", "example.test").stdout)["accounts"] == "1"
    assert_error(example.admin("account", "show", "bob@example.test", check=False))
    assert_error(example.admin("account", "remove", "bob@example.test", check=False))
    with example.smtp() as s:
        s.ehlo("client.test")
        s.mail("someone@remote.test")
        assert_reply(s.rcpt("bob@example.test"), 550, "5.1.1")


# ---------------------------------------------------------------- aliases


def test_alias_add_list_remove(example):
    example.admin("domain", "add", "other.test")
    example.admin("alias", "add", "sales@example.test", "alice@example.test")
    example.admin("alias", "add", "team@example.test", "alice@example.test,bob@example.test")
    example.admin("alias", "add", "@example.test", "bob@example.test")
    example.admin("alias", "add", "fwd@other.test", "someone@remote.test")
    assert set(lines(example.admin("alias", "list").stdout)) == {
        "sales@example.test -> alice@example.test",
        "team@example.test -> alice@example.test, bob@example.test",
        "@example.test -> bob@example.test",
        "fwd@other.test -> someone@remote.test",
    }
    assert set(lines(example.admin("alias", "list", "other.test").stdout)) == {
        "fwd@other.test -> someone@remote.test"}

    example.admin("alias", "remove", "sales@example.test")
    example.admin("alias", "remove", "@example.test")
    assert set(lines(example.admin("alias", "list", "example.test").stdout)) == {
        "team@example.test -> alice@example.test, bob@example.test"}


def test_alias_is_stored_lowercase(example):
    example.admin("alias", "add", "Info@Example.TEST", "Alice@example.test")
    assert lines(example.admin("alias", "list").stdout) == ["info@example.test -> alice@example.test"]


def test_alias_errors(example):
    example.admin("alias", "add", "sales@example.test", "alice@example.test")
    assert_error(example.admin("alias", "add", "sales@example.test", "bob@example.test", check=False))
    assert_error(example.admin("alias", "add", "x@nowhere.test", "alice@example.test", check=False))
    assert_error(example.admin("alias", "add", "bad@@example.test", "alice@example.test", check=False))
    assert_error(example.admin("alias", "add", "ok@example.test", "not-an-address", check=False))
    assert_error(example.admin("alias", "remove", "nothing@example.test", check=False))
    assert lines(example.admin("alias", "list").stdout) == ["sales@example.test -> alice@example.test"]


# ---------------------------------------------------------------- mailboxes, messages, check


def test_mailbox_list_shows_default_mailboxes(example):
    _, out, _ = example.admin("mailbox", "list", "alice@example.test")
    rows = {}
    for line in lines(out):
        name, *fields = line.split("\t")
        kv = dict(f.split("=", 1) for f in fields)
        assert set(kv) == {"messages", "size", "uidnext", "uidvalidity"}, line
        rows[name] = kv
    assert set(rows) == DEFAULT_MAILBOXES
    for name, kv in rows.items():
        assert kv["messages"] == "0" and kv["size"] == "0" and kv["uidnext"] == "1", (name, kv)
        assert int(kv["uidvalidity"]) > 0, (name, kv)
    assert_error(example.admin("mailbox", "list", "nobody@example.test", check=False))


def test_mailbox_list_counts_delivered_mail(example):
    msg = make_message("s@remote.test", "alice@example.test")
    with example.smtp() as s:
        assert s.sendmail("s@remote.test", ["alice@example.test"], msg) == {}
    stored = example.show("alice@example.test", 1)
    inbox = [line for line in lines(example.admin("mailbox", "list", "alice@example.test").stdout)
             if line.split("\t")[0] == "INBOX"]
    assert len(inbox) == 1
    kv = dict(f.split("=", 1) for f in inbox[0].split("\t")[1:])
    assert kv["messages"] == "1"
    assert kv["size"] == str(len(stored))
    assert kv["uidnext"] == "2"
    acct = parse_kv(example.admin("account", "show", "alice@example.test").stdout)
    assert acct["messages"] == "1"
    assert acct["used"] == str(len(stored))


def test_message_list_and_show_errors(example):
    res = example.admin("message", "list", "alice@example.test", "INBOX")
    assert res.stdout.strip() == ""
    assert_error(example.admin("message", "list", "alice@example.test", "NoSuchBox", check=False))
    assert_error(example.admin("message", "list", "nobody@example.test", "INBOX", check=False))
    assert_error(example.admin("message", "show", "alice@example.test", "INBOX", "1", check=False))


def test_check_ok_on_fresh_and_used_store(example):
    assert example.admin("check").stdout.strip() == "ok"
    with example.smtp() as s:
        s.sendmail("s@remote.test", ["alice@example.test", "bob@example.test"],
                   make_message("s@remote.test", "alice@example.test"))
    assert example.admin("check").stdout.strip() == "ok"


def test_check_detects_a_corrupted_blob(example):
    token = b"CHECK-ME-7f3a9c"
    with example.smtp() as s:
        s.sendmail("s@remote.test", [ALICE],
                   # over the 32 KiB inline limit, so the body is a file under blobs/
                   make_message("s@remote.test", ALICE,
                                body=token.decode() + "\r\n" + ("padding line\r\n" * 4000)))
    example.stop()
    assert example.admin("check").stdout.strip() == "ok"
    # flip the message bytes in whichever plain file holds them (not the metadata database)
    hits = []
    for dirpath, _, files in os.walk(example.data):
        for name in files:
            path = os.path.join(dirpath, name)
            if re.search(r"\.(redb|db|sqlite\d*|wal|log)$", name):
                continue
            with open(path, "rb") as f:
                content = f.read()
            if token in content:
                hits.append(path)
                with open(path, "wb") as f:
                    f.write(content.replace(token, token.lower()))
    # The embedded store keeps each large body as one file under DATA/blobs/.
    assert hits and all("/blobs/" in h for h in hits), f"message body not found as a blob file: {hits}"
    res = example.admin("check", check=False)
    assert res.rc == 1, f"check missed a corrupted blob ({hits}): rc={res.rc} out={res.stdout!r}"
    problems = (res.stdout + res.stderr).strip()  # problems may go to either stream
    assert problems and res.stdout.strip() != "ok", res
    # The problem names the message as an operator knows it.
    assert f"{ALICE} INBOX UID 1" in problems, problems


# ---------------------------------------------------------------- CLI shape


@pytest.mark.parametrize("args", [
    [],
    ["domain"],
    ["domain", "add"],
    ["frobnicate"],
    ["account", "add", "x@example.test"],          # no --password
    ["account", "quota", "alice@example.test"],   # no BYTES
    ["alias", "add", "x@example.test"],           # no TARGET
    ["message", "show", "alice@example.test", "INBOX"],  # no UID
])
def test_usage_errors_exit_2(example, args):
    res = example.admin(*args, check=False)
    assert res.rc == 2, f"admin {args}: expected usage error (2), got {res.rc}; stderr={res.stderr!r}"
    assert res.stderr.strip(), "usage error printed nothing on stderr"


def test_global_options_before_or_after_subcommand(example):
    out_before = run_admin(example.bin, ["--data", example.data, "domain", "list"]).stdout
    out_after = run_admin(example.bin, ["domain", "list", "--data", example.data]).stdout
    out_config = run_admin(example.bin, ["--config", example.config_path, "domain", "list"]).stdout
    assert lines(out_before) == lines(out_after) == lines(out_config) == [DOMAIN]


def test_admin_works_while_running_and_when_stopped(server):
    # running: changes are visible to the live server at once
    server.setup_example()
    with server.smtp() as s:
        s.ehlo("client.test")
        s.mail("s@remote.test")
        assert_reply(s.rcpt("alice@example.test"), 250)
        assert_reply(s.rcpt("carol@example.test"), 550, "5.1.1")

    # stopped: same data dir, the admin CLI opens the store itself
    server.stop()
    server.admin("account", "add", "carol@example.test", "--password", PASSWORD)
    server.admin("alias", "add", "info@example.test", "carol@example.test")
    assert sorted(lines(server.admin("account", "list").stdout)) == [
        "alice@example.test", "bob@example.test", "carol@example.test"]
    assert server.admin("check").stdout.strip() == "ok"

    server.start()
    with server.smtp() as s:
        assert s.sendmail("s@remote.test", ["info@example.test"],
                          make_message("s@remote.test", "info@example.test")) == {}
    assert len(server.messages("carol@example.test")) == 1


def test_admin_works_after_crash_with_stale_socket(example):
    example.kill9()
    # admin.sock (if any) is left behind by the killed server
    assert lines(example.admin("domain", "list").stdout) == [DOMAIN]
    example.admin("account", "add", "carol@example.test", "--password", PASSWORD)
    example.start()
    assert "carol@example.test" in lines(example.admin("account", "list").stdout)


# ---------------------------------------------------------------- config


def default_config_text() -> str:
    p = subprocess.run([find_binary(), "config", "default"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def test_config_default_is_valid_toml_with_comments():
    text = default_config_text()
    cfg = tomllib.loads(text)
    assert isinstance(cfg["smtp"]["listen"], list) and cfg["smtp"]["listen"]
    assert isinstance(cfg["lmtp"]["listen"], list) and cfg["lmtp"]["listen"]
    for key in ("max_message_size", "max_recipients", "max_commands", "max_line_length"):
        assert isinstance(cfg["smtp"][key], int), key
    # every key has a comment: on its line, or just above it; one comment may cover a pair of
    # keys (like `cert` and `key`), not a whole section
    keys_left = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            keys_left = 2
        elif re.match(r"^[A-Za-z0-9_]+\s*=", stripped):
            assert "#" in stripped or keys_left > 0, f"key without a comment: {line!r}"
            keys_left -= 1
        elif not stripped or stripped.startswith("["):
            keys_left = 0


def test_config_default_output_runs_a_server(make_server):
    text = default_config_text()
    srv = make_server(start=False)
    # keep every setting, only move listeners to ephemeral ports and data to the temp dir
    text = re.sub(r"(?ms)^(\s*listen(_tls)?\s*=\s*)\[.*?\]", r'\1["127.0.0.1:0"]', text)
    text = re.sub(r'(?m)^(\s*data_dir\s*=\s*).*$', lambda m: m.group(1) + f'"{srv.data}"', text)
    with open(srv.config_path, "w") as f:
        f.write(text)
    srv.start()
    srv.setup_example()
    with srv.smtp() as s:
        assert s.sendmail("s@remote.test", ["alice@example.test"],
                          make_message("s@remote.test", "alice@example.test")) == {}


def test_serve_data_option_overrides_config(make_server):
    srv = make_server(start=False)
    other = os.path.join(srv.tmp, "elsewhere")
    srv.serve_args = ["--data", other]
    srv.start()
    run_admin(srv.bin, ["--data", other, "domain", "add", "example.test"])
    assert os.path.isdir(other)
    assert not os.path.exists(srv.data), "config data_dir used despite --data"
    with srv.smtp() as s:
        s.ehlo("client.test")
        s.mail("s@remote.test")
        # the running server sees the domain that was added in its --data directory
        assert_reply(s.rcpt("nobody@example.test"), 550, "5.1.1")


def test_serve_without_config_in_empty_dir(yubin_bin):
    """`yubin serve` with no arguments and no config: default ports, ./yubin-data."""
    root = os.geteuid() == 0
    smtp_addr = ("0.0.0.0", 25 if root else 2525)
    lmtp_addr = ("127.0.0.1", 24 if root else 2424)
    imap_addr = ("0.0.0.0", 143 if root else 1143)
    imaps_addr = ("0.0.0.0", 993 if root else 1993)
    pop3_addr = ("0.0.0.0", 110 if root else 1110)
    pop3s_addr = ("0.0.0.0", 995 if root else 1995)
    for addr in (smtp_addr, lmtp_addr, imap_addr, imaps_addr, pop3_addr, pop3s_addr):
        if not port_is_free(*addr):
            pytest.skip(f"default port {addr[0]}:{addr[1]} is in use on this machine")
    with tempfile.TemporaryDirectory(prefix="yubin-cwd-") as cwd, \
            tempfile.TemporaryFile() as errfile:
        # unbuffered, so select() sees every line that has arrived
        proc = subprocess.Popen([yubin_bin, "serve"], cwd=cwd, stdout=subprocess.PIPE, bufsize=0,
                                stderr=errfile, stdin=subprocess.DEVNULL)
        try:
            out_lines = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 0.5)
                if ready:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    out_lines.append(line.decode().rstrip("\n"))
                    if out_lines[-1] == "yubin: ready":
                        break
            errfile.seek(0)
            assert "yubin: ready" in out_lines, (
                f"no ready line; stdout={out_lines} stderr={errfile.read()[-3000:]!r}")
            assert f"yubin: listening smtp {smtp_addr[0]}:{smtp_addr[1]}" in out_lines, out_lines
            assert f"yubin: listening lmtp {lmtp_addr[0]}:{lmtp_addr[1]}" in out_lines, out_lines
            assert f"yubin: listening imap {imap_addr[0]}:{imap_addr[1]}" in out_lines, out_lines
            assert f"yubin: listening imaps {imaps_addr[0]}:{imaps_addr[1]}" in out_lines, out_lines
            assert f"yubin: listening pop3 {pop3_addr[0]}:{pop3_addr[1]}" in out_lines, out_lines
            assert f"yubin: listening pop3s {pop3s_addr[0]}:{pop3s_addr[1]}" in out_lines, out_lines
            assert os.path.isdir(os.path.join(cwd, "yubin-data")), os.listdir(cwd)
            # it answers SMTP on the default port
            with smtplib.SMTP(HOST, smtp_addr[1], timeout=10) as s:
                assert s.noop()[0] == 250
            # and IMAP on its default port
            with imaplib.IMAP4(HOST, imap_addr[1], timeout=10) as c:
                assert "IMAP4REV2" in c.capabilities
            # and POP3 on its default port
            p = poplib.POP3(HOST, pop3_addr[1], timeout=10)
            assert "UIDL" in p.capa()
            p.quit()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    rc = proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise AssertionError("server did not exit within 15 s of SIGTERM")
                assert rc == 0, f"exit code {rc} after SIGTERM"
