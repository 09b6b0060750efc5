"""Helpers for Yubin's end-to-end tests.

Everything here drives the real `yubin` binary: `Server` starts `yubin serve`
with a fresh data directory, talks to it over real sockets and runs
`yubin admin` as a separate process, exactly as an operator would.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import queue
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

HOST = "127.0.0.1"
HOSTNAME = "mx.test"  # [server] hostname in every test config
DOMAIN = "example.test"
ALICE = "alice@example.test"
PASSWORD = "secret-pw"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
IO_TIMEOUT = 30.0

_LISTEN_RE = re.compile(r"^yubin: listening (\w+) (\S+)$")


def find_binary() -> str:
    """The yubin binary under test: $YUBIN_BIN, else the usual build outputs."""
    env = os.environ.get("YUBIN_BIN")
    if env:
        return env
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/yubin-target")
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "yubin")
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError("yubin binary not found: set YUBIN_BIN")


# --------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}"
                                for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def toml_dumps(config: dict) -> str:
    """Write a two-level {section: {key: value}} dict as TOML."""
    out = []
    for section, keys in config.items():
        out.append(f"[{section}]")
        for k, v in keys.items():
            out.append(f"{k} = {_toml_value(v)}")
        out.append("")
    return "\n".join(out)


def merge_config(base: dict, extra: dict | None) -> dict:
    merged = {s: dict(keys) for s, keys in base.items()}
    for section, keys in (extra or {}).items():
        merged.setdefault(section, {}).update(keys)
    return merged


# --------------------------------------------------------------------------
# the server under test
# --------------------------------------------------------------------------


def parse_addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self):
        import json
        return json.loads(self.text)


@dataclass
class AdminResult:
    rc: int
    stdout: str
    stderr: str

    def __iter__(self):  # allows `rc, out, err = server.admin(...)`
        return iter((self.rc, self.stdout, self.stderr))


class Server:
    """One `yubin serve` process with its own temporary data directory."""

    def __init__(self, config: dict | None = None, *, tmpdir: str | None = None):
        self.bin = find_binary()
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="yubin-")
        self.data = os.path.join(self.tmp, "data")
        self.config_path = os.path.join(self.tmp, "yubin.toml")
        base = {
            "server": {"hostname": HOSTNAME, "data_dir": self.data},
            "smtp": {"listen": [f"{HOST}:0"]},
            "lmtp": {"listen": [f"{HOST}:0"]},
            "imap": {"listen": [f"{HOST}:0"], "listen_tls": [f"{HOST}:0"],
                     "auth_failure_delay_ms": 50},
            "pop3": {"listen": [f"{HOST}:0"], "listen_tls": [f"{HOST}:0"],
                     "auth_failure_delay_ms": 50},
            "submission": {"listen": [f"{HOST}:0"], "listen_tls": [f"{HOST}:0"],
                           "auth_failure_delay_ms": 50},
            # SPF/DKIM/DMARC need DNS: the tests of them (test_outbound.py) turn the checks on
            # with their own DNS server; elsewhere the stored bytes stay exactly as sent.
            "checks": {"enabled": False},
            "http": {"listen": [f"{HOST}:0"], "listen_tls": [f"{HOST}:0"]},
            # Every test connects from 127.0.0.1 and many log in as alice: the hosting defaults
            # (50 connections per IP, lockout after 20 failures, 60,000 commands a minute) would
            # trip tests of other features. test_limits.py and test_bruteforce.py set their own.
            "limits": {"connections_per_ip": 10_000, "account_connections": 10_000,
                       "tenant_connections": 100_000, "account_commands_per_minute": 0,
                       "ip_inbound_messages_per_hour": 0, "tenant_inbound_messages_per_hour": 0,
                       "login_failure_delay_ms": 50, "login_failure_delay_max_ms": 200,
                       "ip_login_failures": 1000, "account_ip_login_failures": 1000},
        }
        self.config = merge_config(base, config)
        self.write_config()
        self.serve_args: list[str] = []  # extra `yubin serve` arguments
        self.env: dict[str, str] = {}  # extra environment for `yubin serve`
        self.proc: subprocess.Popen | None = None
        self.listeners: dict[str, list[tuple[str, int]]] = {}
        self._stderr: list[str] = []
        self._stdout: list[str] = []

    def write_config(self) -> None:
        """Writes `self.config` to the config file (after changing it; restart to apply)."""
        with open(self.config_path, "w") as f:
            f.write(toml_dumps(self.config))

    # ---- lifecycle -------------------------------------------------------

    def start(self) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.listeners = {}
        self._stderr = []
        self._stdout = []
        lines: queue.Queue = queue.Queue()
        env = dict(os.environ, RUST_BACKTRACE="1", **self.env)
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--config", self.config_path, *self.serve_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.tmp,
            env=env,
        )
        proc = self.proc

        def pump(stream, sink, q):
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                sink.append(line)
                if q is not None:
                    q.put(line)
            if q is not None:
                q.put(None)

        threading.Thread(target=pump, args=(proc.stdout, self._stdout, lines), daemon=True).start()
        threading.Thread(target=pump, args=(proc.stderr, self._stderr, None), daemon=True).start()

        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail_start("did not print 'yubin: ready' within %.0f s" % READY_TIMEOUT)
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if proc.poll() is not None:
                    time.sleep(0.2)  # let the stderr pump catch up
                    self._fail_start(f"exited with code {proc.returncode} before ready")
                continue
            if line is None:
                proc.wait(timeout=5)
                time.sleep(0.2)
                self._fail_start(f"closed stdout (exit code {proc.returncode}) before ready")
            m = _LISTEN_RE.match(line)
            if m:
                self.listeners.setdefault(m.group(1), []).append(parse_addr(m.group(2)))
            elif line == "yubin: ready":
                break
        for proto in ("smtp", "lmtp", "imap", "imaps", "pop3", "pop3s", "submission",
                      "submissions", "http", "https"):
            assert proto in self.listeners, (
                f"no 'yubin: listening {proto} ...' line before ready; stdout={self._stdout}"
            )
        return self

    def _fail_start(self, why: str):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        raise AssertionError(
            f"yubin serve {why}\n--- stdout ---\n" + "\n".join(self._stdout)
            + "\n--- stderr ---\n" + "\n".join(self._stderr[-200:])
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM; assert the server exits with code 0 within `timeout`."""
        assert self.running, "server is not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"server did not exit within {timeout} s of SIGTERM\n--- stderr ---\n"
                + self.stderr_tail()
            )
        assert rc == 0, f"server exited with {rc} after SIGTERM\n--- stderr ---\n" + self.stderr_tail()
        return rc

    def kill9(self):
        assert self.running, "server is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self) -> "Server":
        if self.running:
            self.stop()
        return self.start()

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self._stderr[-n:])

    def cleanup(self):
        if self.running:
            self.proc.kill()
            self.proc.wait()
        if not os.environ.get("YUBIN_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- addresses -------------------------------------------------------

    @property
    def smtp_port(self) -> int:
        return self.listeners["smtp"][0][1]

    @property
    def lmtp_port(self) -> int:
        return self.listeners["lmtp"][0][1]

    @property
    def imap_port(self) -> int:
        return self.listeners["imap"][0][1]

    @property
    def imaps_port(self) -> int:
        return self.listeners["imaps"][0][1]

    # ---- admin CLI -------------------------------------------------------

    def admin(self, *args, check: bool = True, binary: bool = False, timeout: float = 60):
        """Run `yubin admin --data DIR ARGS...`; returns (rc, stdout, stderr).

        With check=True a non-zero exit fails the test with the output.
        With binary=True stdout is returned as bytes.
        """
        return run_admin(self.bin, ["--data", self.data, *args], check=check, binary=binary,
                         timeout=timeout)

    # ---- clients ---------------------------------------------------------

    def smtp(self, timeout: float = IO_TIMEOUT) -> smtplib.SMTP:
        """A connected smtplib.SMTP (greeting read, no EHLO sent yet).

        The greeting is kept as `.greeting` = (code, text).
        """
        s = smtplib.SMTP(timeout=timeout)
        s._host = HOST  # used as TLS server_hostname by starttls()
        s.greeting = s.connect(HOST, self.smtp_port)
        return s

    def lmtp(self, timeout: float = IO_TIMEOUT) -> smtplib.LMTP:
        s = smtplib.LMTP(timeout=timeout)
        s._host = HOST
        s.greeting = s.connect(HOST, self.lmtp_port)
        return s

    def imap(self, user: str | None = ALICE, password: str = PASSWORD, *, tls: bool = False,
             timeout: float = IO_TIMEOUT) -> imaplib.IMAP4:
        """An imaplib client, logged in as `user` unless it is None.

        tls=True connects to the implicit-TLS port (certificate not verified: it is the
        self-signed one generated on first start)."""
        if tls:
            c = imaplib.IMAP4_SSL(HOST, self.imaps_port, ssl_context=unverified_tls_context(),
                                  timeout=timeout)
        else:
            c = imaplib.IMAP4(HOST, self.imap_port, timeout=timeout)
        if user is not None:
            typ, _ = c.login(user, password)
            assert typ == "OK"
        return c

    def raw(self, proto: str = "smtp", timeout: float = IO_TIMEOUT) -> "RawSession":
        port = {"smtp": self.smtp_port, "lmtp": self.lmtp_port,
                "submission": self.submission_port}[proto]
        return RawSession(HOST, port, timeout=timeout)

    @property
    def http_port(self) -> int:
        return self.listeners["http"][0][1]

    def http(self, path: str, timeout: float = 10) -> tuple[int, str]:
        """GET http://HOST:http_port/path; (status, body)."""
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.http_port}{path}",
                                        timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    @property
    def api_port(self) -> int:
        """The HTTPS listener that serves the admin API."""
        return self.listeners["https"][0][1]

    def api(self, method: str, path: str, body=None, token: str | None = None, *,
            raw: bytes | None = None, headers: dict | None = None,
            timeout: float = 10) -> "ApiResponse":
        """One admin API request over HTTPS (certificate not verified: it is self-signed).

        `path` is below /api/v1; `body` is sent as JSON, `raw` as given (with a JSON
        content type unless `headers` says otherwise); `token` goes in `Authorization: Bearer`.
        """
        import http.client
        import json
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(HOST, self.api_port, timeout=timeout, context=ctx)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, "/api/v1" + path, body=data, headers=hdrs)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            return ApiResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, text)
        finally:
            conn.close()

    def api_token(self, name: str = "test") -> str:
        """A new admin API token from the CLI."""
        return self.admin("token", "create", name).stdout.strip()

    @property
    def submission_port(self) -> int:
        return self.listeners["submission"][0][1]

    @property
    def submissions_port(self) -> int:
        return self.listeners["submissions"][0][1]

    def submission(self, user: str | None = ALICE, password: str = PASSWORD, *,
                   tls: bool = False, timeout: float = IO_TIMEOUT) -> smtplib.SMTP:
        """An smtplib client on the submission port, after EHLO, STARTTLS and AUTH as `user`
        (no AUTH when it is None). tls=True uses the implicit-TLS port instead of STARTTLS.
        Certificates are not verified (the self-signed one generated on first start)."""
        if tls:
            s = smtplib.SMTP_SSL(HOST, self.submissions_port, context=unverified_tls_context(),
                                 timeout=timeout)
        else:
            s = smtplib.SMTP(timeout=timeout)
            s._host = HOST
            s.connect(HOST, self.submission_port)
            s.starttls(context=unverified_tls_context())
        s.ehlo("client.test")
        if user is not None:
            s.login(user, password)
        return s

    @property
    def pop3_port(self) -> int:
        return self.listeners["pop3"][0][1]

    @property
    def pop3s_port(self) -> int:
        return self.listeners["pop3s"][0][1]

    def pop3(self, user: str | None = ALICE, password: str = PASSWORD, *, tls: bool = False,
             timeout: float = IO_TIMEOUT) -> poplib.POP3:
        """A poplib client, logged in with USER/PASS as `user` unless it is None.

        tls=True connects to the implicit-TLS port (certificate not verified)."""
        if tls:
            c = poplib.POP3_SSL(HOST, self.pop3s_port, context=unverified_tls_context(),
                                timeout=timeout)
        else:
            c = poplib.POP3(HOST, self.pop3_port, timeout=timeout)
        if user is not None:
            c.user(user)
            c.pass_(password)
        return c

    # ---- mailbox inspection via the admin CLI ------------------------------

    def messages(self, account: str, mailbox: str = "INBOX") -> list["Listed"]:
        _, out, _ = self.admin("message", "list", account, mailbox)
        return parse_message_list(out)

    def show(self, account: str, uid: int, mailbox: str = "INBOX") -> bytes:
        _, out, _ = self.admin("message", "show", account, mailbox, str(uid), binary=True)
        return out

    def setup_example(self, *extra_accounts: str) -> None:
        """Domain example.test with alice@ and bob@ (password "secret-pw")."""
        self.admin("domain", "add", DOMAIN)
        for user in ("alice", "bob", *extra_accounts):
            self.admin("account", "add", f"{user}@{DOMAIN}", "--password", PASSWORD)


def run_admin(bin_path: str, args: list[str], *, check=True, binary=False, timeout=60):
    p = subprocess.run([bin_path, "admin", *args], capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode("utf-8", "replace")
    out = p.stdout if binary else p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError(f"yubin admin {' '.join(args)} exited {p.returncode}\n"
                             f"stdout: {p.stdout[:2000]!r}\nstderr: {err}")
    return AdminResult(p.returncode, out, err)


@dataclass
class Listed:
    uid: int
    size: int
    message_id: str


def parse_message_list(out: str) -> list[Listed]:
    rows = []
    for line in out.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        assert len(parts) == 3, f"message list line is not UID<TAB>SIZE<TAB>MESSAGE-ID: {line!r}"
        rows.append(Listed(int(parts[0]), int(parts[1]), parts[2]))
    return rows


def parse_kv(out: str) -> dict[str, str]:
    """`key: value` lines -> dict."""
    result = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        assert sep, f"not a `key: value` line: {line!r}"
        result[key.strip()] = value.strip()
    return result


TRUE_WORDS = {"true", "yes", "1", "on"}
FALSE_WORDS = {"false", "no", "0", "off"}


# --------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------


def new_msgid(tag: str = "t") -> str:
    return f"<{tag}.{uuid.uuid4().hex}@client.test>"


def make_message(sender: str, to: str, subject: str = "hello", body: str | bytes = "Hello.\r\n",
                 msgid: str | None = None, extra_headers: str = "") -> bytes:
    """An RFC 5322 message with CRLF line ends, ending in CRLF."""
    msgid = msgid or new_msgid()
    head = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: {msgid}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n{extra_headers}\r\n")
    if isinstance(body, str):
        body = body.encode("utf-8")
    msg = head.encode("utf-8") + body
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    return msg


def assert_stored(stored: bytes, original: bytes, sender: str, *, with_proto: str | None = None):
    """The stored message is Yubin's trace headers followed by the original bytes, intact."""
    assert stored.endswith(original), (
        "stored message does not end with the bytes that were sent\n"
        f"sent (start): {original[:300]!r}\nstored (start): {stored[:600]!r}"
    )
    prefix = stored[: len(stored) - len(original)]
    expected_rp = f"Return-Path: <{sender}>\r\n".encode()
    assert prefix.startswith(expected_rp), f"stored message does not start with {expected_rp!r}: {prefix[:300]!r}"
    rest = prefix[len(expected_rp):]
    assert rest.startswith(b"Received: "), f"no Received: header after Return-Path: {prefix!r}"
    assert rest.endswith(b"\r\n"), f"prepended headers do not end with CRLF: {prefix!r}"
    assert re.search(rb"(?<!\r)\n", prefix) is None, f"bare LF in prepended headers: {prefix!r}"
    # everything after the Received: first line is folded continuation lines
    for line in rest.split(b"\r\n")[1:-1]:
        assert line[:1] in (b" ", b"\t"), f"unexpected extra header line in trace: {line!r} in {prefix!r}"
    received = rest.decode("utf-8", "replace")
    assert f"by {HOSTNAME}" in received, f"Received header lacks 'by {HOSTNAME}': {received!r}"
    if with_proto:
        assert re.search(rf"\bwith {with_proto}\b", received), (
            f"Received header lacks 'with {with_proto}': {received!r}")


def only_message(server: Server, account: str, mailbox: str = "INBOX") -> bytes:
    rows = server.messages(account, mailbox)
    assert len(rows) == 1, f"{account} {mailbox}: expected exactly 1 message, found {rows}"
    return server.show(account, rows[0].uid, mailbox)


# --------------------------------------------------------------------------
# replies
# --------------------------------------------------------------------------


def text(msg) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg


def assert_reply(reply, code: int, enhanced: str | tuple | None = None):
    """reply = (code, text) as smtplib returns it."""
    got_code, msg = reply
    msg = text(msg)
    assert got_code == code, f"expected {code} {enhanced or ''}, got {got_code} {msg!r}"
    if enhanced is not None:
        options = (enhanced,) if isinstance(enhanced, str) else enhanced
        assert any(msg.startswith(e + " ") or msg == e or msg.startswith(e + "\n") for e in options), (
            f"expected enhanced status {' or '.join(options)}, got {got_code} {msg!r}")


# --------------------------------------------------------------------------
# a raw protocol session (for pipelining, BDAT, garbage, long lines)
# --------------------------------------------------------------------------


class SocketClient:
    """What every raw test client shares: `self.sock` and its read-ahead `self.buf`, closed
    quietly, usable in `with`."""

    sock: socket.socket
    buf: bytes = b""

    def send(self, data: bytes | str):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def line(self) -> bytes:
        """The next CRLF-terminated line, without its CRLF."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed by server; pending {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True if the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def starttls(self) -> None:
        self.sock = unverified_tls_context().wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawSession(SocketClient):
    """A bare TCP connection that speaks SMTP/LMTP replies line by line."""

    def __init__(self, host: str, port: int, timeout: float = IO_TIMEOUT,
                 source: str | None = None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.greeting = self.reply()

    def cmd(self, line: str | bytes) -> tuple[int, str]:
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply()

    def reply(self) -> tuple[int, str]:
        """Read one (possibly multi-line) reply; returns (code, text of all lines)."""
        lines = []
        while True:
            line = self.line()
            assert len(line) >= 3 and line[:3].isdigit(), f"malformed reply line {line!r}"
            lines.append(line[4:].decode("utf-8", "replace"))
            if len(line) == 3 or line[3:4] == b" ":
                return int(line[:3]), "\n".join(lines)
            assert line[3:4] == b"-", f"malformed reply line {line!r}"



def unverified_tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def port_is_free(host: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class RawImap(SocketClient):
    """A bare IMAP connection: send bytes, read response lines (for error paths imaplib hides)."""

    def __init__(self, host: str, port: int, timeout: float = IO_TIMEOUT, tls: bool = False,
                 source: str | None = None):
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        if tls:
            sock = unverified_tls_context().wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.buf = b""
        self.greeting = self.line()

    def _raw_line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest or None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def line(self) -> bytes:
        """One response line without its final CRLF, literals `{n}` included with their data
        (so a literal holding CRLF stays in one line); b"" when the server closed."""
        out = b""
        while True:
            part = self._raw_line()
            if part is None:
                return out
            out += part
            m = re.search(rb"~?\{(\d+)\}$", part)
            if not m:
                return out
            out += b"\r\n" + self._take(int(m.group(1)))

    def read_until_tagged(self, tag: str) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag.encode() + b" ") or line == b"":
                return lines

    def cmd(self, tag: str, command: str | bytes) -> list[bytes]:
        """Send `tag command` and return every line up to and including the tagged one."""
        if isinstance(command, str):
            command = command.encode("utf-8")
        self.send(tag.encode() + b" " + command + b"\r\n")
        return self.read_until_tagged(tag)



class RawPop3(SocketClient):
    """A bare POP3 connection: send lines, read `+OK`/`-ERR` lines and multi-line bodies."""

    def __init__(self, host: str, port: int, timeout: float = IO_TIMEOUT, tls: bool = False,
                 source: str | None = None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        if tls:
            self.sock = unverified_tls_context().wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.buf = b""
        self.greeting = self.line()

    def cmd(self, line: str | bytes) -> bytes:
        """Sends one command, returns its status line."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.line()

    def body(self) -> list[bytes]:
        """Reads a multi-line body up to the terminating '.', undoing dot-stuffing."""
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)

    def multi(self, line: str | bytes) -> tuple[bytes, list[bytes]]:
        status = self.cmd(line)
        return status, (self.body() if status.startswith(b"+OK") else [])



def lmtp_deliver(server: "Server", messages: list[bytes], to: str = ALICE,
                 sender: str = "sender@remote.test") -> None:
    """Delivers every message to `to` over LMTP, 100 per connection (the per-connection
    command limit would end a longer one)."""
    for i in range(0, len(messages), 100):
        with server.lmtp() as s:
            for m in messages[i:i + 100]:
                s.sendmail(sender, [to], m)
