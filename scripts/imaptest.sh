#!/usr/bin/env bash
# Run Dovecot's imaptest against a fresh Yubin server: its scripted conformance tests, then a
# short random stress run. Prints both results; docs/imaptest.md records what they said last.
#
# Usage: scripts/imaptest.sh [--tests DIR] [--secs N] [--clients N] [--only NAME] [--no-stress]
#
#   IMAPTEST        the imaptest binary (default /var/tmp/imaptest/src/imaptest)
#   IMAPTEST_TESTS  its scripted tests, the src/tests directory of the same imaptest checkout
#                   (default: next to the binary); never copied into this repository
#   YUBIN_BIN       the server (default $CARGO_TARGET_DIR/{release,debug}/yubin)
#
# imaptest is not packaged in Debian; docs/imaptest.md says how to build it.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
imaptest="${IMAPTEST:-/var/tmp/imaptest/src/imaptest}"
tests="${IMAPTEST_TESTS:-$(dirname "$imaptest")/tests}"
secs=20
clients=10
only=""
stress=1
while [ $# -gt 0 ]; do
    case "$1" in
        --tests) tests="$2"; shift 2 ;;
        --secs) secs="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-stress) stress=0; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "imaptest.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ -z "${YUBIN_BIN:-}" ]; then
    target="${CARGO_TARGET_DIR:-/var/tmp/yubin-target}"
    for profile in release debug; do
        if [ -x "$target/$profile/yubin" ]; then YUBIN_BIN="$target/$profile/yubin"; break; fi
    done
fi
[ -x "${YUBIN_BIN:-}" ] || { echo "imaptest.sh: no yubin binary; set YUBIN_BIN" >&2; exit 2; }
[ -x "$imaptest" ] || { echo "imaptest.sh: no imaptest at $imaptest; see docs/imaptest.md" >&2; exit 2; }
[ -d "$tests" ] || { echo "imaptest.sh: no test directory $tests" >&2; exit 2; }

# Built against dovecot-dev, imaptest links libdovecot.so from Dovecot's private directory.
export LD_LIBRARY_PATH="/usr/lib/dovecot${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

tmp="$(mktemp -d /tmp/yubin-imaptest-XXXXXX)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    if [ -z "${YUBIN_KEEP_TMP:-}" ]; then rm -rf "$tmp"; else echo "kept $tmp" >&2; fi
}
trap cleanup EXIT

cat >"$tmp/yubin.toml" <<EOF
[server]
hostname = "mx.test"
data_dir = "$tmp/data"

[smtp]
listen = ["127.0.0.1:0"]

[lmtp]
listen = ["127.0.0.1:0"]

[imap]
listen = ["127.0.0.1:0"]
listen_tls = []
auth_failure_delay_ms = 0
max_commands_per_sec = 100000
max_errors = 100000
EOF

"$YUBIN_BIN" serve --config "$tmp/yubin.toml" >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
for _ in $(seq 1 200); do
    grep -q '^yubin: ready$' "$tmp/serve.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.err" >&2; exit 1; }
    sleep 0.1
done
grep -q '^yubin: ready$' "$tmp/serve.out" || { echo "server not ready" >&2; cat "$tmp/serve.err" >&2; exit 1; }
port="$(sed -n 's/^yubin: listening imap .*:\([0-9]*\)$/\1/p' "$tmp/serve.out" | head -n1)"

user="imaptest@example.test"
pass="imaptest-pw"
admin() { "$YUBIN_BIN" admin --data "$tmp/data" "$@" >/dev/null; }
admin domain add example.test
admin account add "$user" --password "$pass"
echo "yubin $("$YUBIN_BIN" --version 2>/dev/null || true) on 127.0.0.1:$port, data $tmp/data"
echo "imaptest $imaptest, tests $tests"

status=0
if [ -n "$only" ]; then
    test_arg="$tests/$only"
else
    test_arg="$tests"
fi
echo
echo "==> scripted conformance tests"
# imaptest exits non-zero when a test fails; keep going to the stress run.
"$imaptest" host=127.0.0.1 port="$port" user="$user" pass="$pass" test="$test_arg" \
    2>&1 | tee "$tmp/conformance.log" || status=1
grep -Eq '^0 test groups: 0 failed|: 0 failed' "$tmp/conformance.log" || status=1

if [ "$stress" -eq 1 ]; then
    echo
    echo "==> stress: $clients clients for $secs s"
    # A mailbox of real-looking messages for imaptest to APPEND; the scripted tests bring their own.
    /usr/bin/env python3 - "$tmp/stress.mbox" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200):
        f.write(f"From sender{i}@example.net Mon Nov 23 10:00:00 2026\n"
                f"From: Sender {i} <sender{i}@example.net>\nTo: imaptest@example.test\n"
                f"Subject: stress message {i} {'x' * (i % 50)}\nMessage-ID: <s{i}@example.net>\n"
                f"Date: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\n\n"
                + "".join(f"line {j} of message {i}\n" for j in range(i % 40 + 1)) + "\n")
EOF
    "$imaptest" host=127.0.0.1 port="$port" user="$user" pass="$pass" mbox="$tmp/stress.mbox" \
        clients="$clients" secs="$secs" 2>&1 | tee "$tmp/stress.log" || status=1
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "server died during the stress run" >&2
        status=1
    fi
    echo "server log lines mentioning panic/error: $(grep -ciE 'panic|error' "$tmp/serve.err" || true)"
fi
exit "$status"
