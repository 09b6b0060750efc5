#!/usr/bin/env bash
# Outbound benchmark: submission to remote delivery, Yubin vs Postfix as the sending MTA, both
# delivering to the same Yubin receiver, same machine, one run.
#
# One command, as root, loopback only, bounded (stops itself after MAX_SECONDS):
#     bash bench/outbound/run.sh
# See bench/outbound/README.md for what is measured and how to read it. Not part of CI.
#
# Environment (all optional):
#   YUBIN_BIN     yubin binary (default $CARGO_TARGET_DIR/release/yubin, else
#                 /var/tmp/yubin-target/release/yubin)
#   MESSAGES      messages per run (default 2000)
#   CLIENTS       concurrent submitting connections (default 10)
#   ACCOUNTS      recipient accounts user0..N-1@b.test at the receiver (default 10)
#   SIZE          body bytes per message (default 4096)
#   PER_CONN      messages per submission connection (default 100)
#   REPS          runs per sender (default 3; the median is reported)
#   RUN_TIMEOUT   longest one run may take, in seconds (default 300)
#   SENDER_TOML   extra TOML for the Yubin sender, for experiments (e.g. a [queue] section;
#                 not [server], [smtp], [submission], [imap], [sending] or [outbound])
#   OUT           results file (default bench/outbound/results-<UTC date>.md)
#   KEEP          1 = keep the work directory with the logs (default 0)
#   MAX_SECONDS   hard cap for the whole script (default 1800)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
YUBIN_BIN=${YUBIN_BIN:-${CARGO_TARGET_DIR:-/var/tmp/yubin-target}/release/yubin}
MESSAGES=${MESSAGES:-2000}
CLIENTS=${CLIENTS:-10}
ACCOUNTS=${ACCOUNTS:-10}
SIZE=${SIZE:-4096}
PER_CONN=${PER_CONN:-100}
REPS=${REPS:-3}
KEEP=${KEEP:-0}
SENDER_TOML=${SENDER_TOML:-}
MAX_SECONDS=${MAX_SECONDS:-1800}
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-$HERE/results-$STAMP.md}
HOST=127.0.0.1
PASS=bench-outbound-secret
PY=/usr/bin/python3
START=$SECONDS
DEADLINE=$((SECONDS + MAX_SECONDS))

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs Postfix, runs a private instance)"
[ -x "$YUBIN_BIN" ] || die "no yubin binary at $YUBIN_BIN (cargo build --release -p yubin)"

# The whole script runs under a watchdog: past MAX_SECONDS it is sent SIGTERM, and the EXIT
# trap below stops everything it started. The watchdog's sleep has no stdout or stderr and is
# killed with it, so it never outlives the script holding a caller's pipe open.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$MAX_SECONDS" </dev/null >/dev/null 2>&1 &
    nap=$!
    wait "$nap"
    log "MAX_SECONDS=$MAX_SECONDS reached, stopping"
    kill -TERM $$ 2>/dev/null
) &
WATCHDOG=$!

# ---------------------------------------------------------------- Postfix package
# Debian's postfix with the "No configuration" answer: no /etc/postfix/main.cf, nothing
# started, nothing listening. Only the private instance below runs, and only during the run.
system_master() { # pid of a running system Postfix master, if any
    local f=/var/spool/postfix/pid/master.pid p
    [ -s "$f" ] || return 1
    p=$(tr -d ' ' <"$f")
    [ -n "$p" ] && [ -d "/proc/$p" ] && grep -q master "/proc/$p/comm" && echo "$p"
}
SYSTEM_MASTER_BEFORE=$(system_master || true)
if [ ! -x /usr/sbin/postfix ] || [ ! -x /usr/bin/python3 ]; then
    log "installing postfix (debconf: No configuration)"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        postfix python3 >/dev/null
    if [ -z "$SYSTEM_MASTER_BEFORE" ] && system_master >/dev/null; then
        log "the package started a system Postfix; stopping it"
        postfix stop >/dev/null 2>&1 || true
    fi
fi
PF_VERSION=$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo "?")

# ---------------------------------------------------------------- work dir, cleanup
# /var/tmp, not /tmp: /tmp may be tmpfs, where fsync costs nothing.
WORK=$(mktemp -d /var/tmp/yubin-outbound-bench.XXXXXX)
chmod 755 "$WORK"
LOGS=$WORK/logs
mkdir -p "$LOGS"
FSTYPE=$(df --output=fstype "$WORK" | tail -1 | tr -d " ")
[ "$FSTYPE" != tmpfs ] || log "WARNING: $WORK is on tmpfs; fsync is free there"

PF=$WORK/postfix
PF_UP=0
PIDS_TO_KILL=()
cleanup() {
    set +e
    [ "$PF_UP" = 1 ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
    for p in "${PIDS_TO_KILL[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS_TO_KILL[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
    done
    kill "$WATCHDOG" 2>/dev/null
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' TERM INT

source "$HERE/../lib.sh"
cpu_of() { $PY "$HERE/cpu.py" "$@"; }
# busy CPU seconds of the whole machine (all cores), from /proc/stat
machine_busy() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%.2f\n", (t - $5 - $6) / 100 }' /proc/stat; }

# ---------------------------------------------------------------- local DNS
# Yubin looks up SPF, DKIM and DMARC for mail arriving on its MX port ([checks], on by
# default), through [dns]. Both instances ask tests/dnsserver.py on loopback instead of the
# machine's resolver, so no query leaves the machine and none waits for a timeout. The zone
# gives the senders' names what a real setup would publish: SPF for the envelope domain
# (a.test, the same for both senders) and for both HELO names, and a DMARC record.
cat >"$WORK/zone.json" <<EOF
{
  "a.test": {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"], "MX": [[10, "mx.a.test"]]},
  "_dmarc.a.test": {"TXT": ["v=DMARC1; p=none"]},
  "mx.a.test": {"A": ["127.0.0.1"], "TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
  "mx.p.test": {"A": ["127.0.0.1"], "TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
  "b.test": {"MX": [[10, "mx.b.test"]]},
  "mx.b.test": {"A": ["127.0.0.1"]}
}
EOF
# It serves until its standard input closes: a fifo whose writing end this shell holds.
mkfifo "$WORK/dns.in"
$PY "$ROOT/tests/dnsserver.py" "$WORK/zone.json" <"$WORK/dns.in" >"$WORK/dns.port" 2>"$LOGS/dns.log" &
PIDS_TO_KILL+=("$!")
exec 9>"$WORK/dns.in"
for ((i = 0; i < 100; i++)); do [ -s "$WORK/dns.port" ] && break; sleep 0.1; done
DNS_PORT=$(head -1 "$WORK/dns.port")
[ -n "$DNS_PORT" ] || die "tests/dnsserver.py did not start (see $LOGS/dns.log)"
DNS_TOML="[dns]
nameservers = [\"$HOST:$DNS_PORT\"]
timeout_ms = 2000"

# ---------------------------------------------------------------- Yubin instances
# start_yubin NAME HOSTNAME EXTRA_TOML: starts one instance; sets Y_PID[NAME], Y_OUT[NAME].
declare -A Y_PID Y_DIR
start_yubin() {
    local name=$1 hostname=$2 extra=$3 dir=$WORK/$1 i
    mkdir -p "$dir/data"
    cat >"$dir/yubin.toml" <<EOF
[server]
hostname = "$hostname"
data_dir = "$dir/data"
log = "warn"
[lmtp]
listen = []
[pop3]
listen = []
listen_tls = []
$extra
EOF
    "$YUBIN_BIN" serve --config "$dir/yubin.toml" >"$dir/stdout" 2>"$LOGS/$name.log" &
    Y_PID[$name]=$!
    Y_DIR[$name]=$dir
    PIDS_TO_KILL+=("$!")
    for ((i = 0; i < 300; i++)); do
        grep -q '^yubin: ready' "$dir/stdout" 2>/dev/null && return 0
        kill -0 "${Y_PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    die "yubin $name did not start (see $LOGS/$name.log)"
}
listener() { # NAME SERVICE -> port
    sed -n "s/^yubin: listening $2 127\.0\.0\.1:\([0-9]*\).*/\1/p" "${Y_DIR[$1]}/stdout" | head -1
}
yadmin() { # NAME args...
    local name=$1
    shift
    "$YUBIN_BIN" admin --data "${Y_DIR[$name]}/data" "$@" 2>>"$LOGS/admin.log"
}

# The receiver: MX for b.test (STARTTLS offered with its generated certificate), IMAP for the
# load generator's watchers. The sink for both senders.
start_yubin receiver mx.b.test "
[smtp]
listen = [\"$HOST:0\"]
[submission]
listen = []
listen_tls = []
[imap]
listen = [\"$HOST:0\"]
listen_tls = []
max_commands_per_sec = 1000000
[http]
listen = []
listen_tls = []
$DNS_TOML"
R_SMTP=$(listener receiver smtp)
R_IMAP=$(listener receiver imap)
[ -n "$R_SMTP" ] && [ -n "$R_IMAP" ] || die "receiver did not report its smtp/imap listeners"
yadmin receiver domain add b.test >/dev/null || die "receiver: domain add"
for ((a = 0; a < ACCOUNTS; a++)); do
    yadmin receiver account add "user$a@b.test" --password "$PASS" >/dev/null ||
        die "receiver: account add user$a"
done
log "receiver (Yubin, b.test): smtp $HOST:$R_SMTP imap $HOST:$R_IMAP pid ${Y_PID[receiver]}"

# Sender (a): Yubin. Submission without TLS (AUTH PLAIN in clear text, allowed here) so that
# neither sender pays for TLS on the submission side; the sending limits are lifted, the
# load is far over the defaults of 500 messages/hour per account. Delivery goes to the
# receiver as a smart host (like Postfix's relayhost below: no DNS on either side), with the
# default opportunistic STARTTLS, queue concurrency and timeouts.
start_yubin yubin mx.a.test "
[smtp]
listen = []
[submission]
listen = [\"$HOST:0\"]
listen_tls = []
allow_plaintext_auth = true
[imap]
listen = []
listen_tls = []
[http]
listen = []
listen_tls = []
[sending]
messages_per_hour = 100000000
recipients_per_hour = 100000000
domain_messages_per_hour = 100000000
domain_recipients_per_hour = 100000000
$DNS_TOML
[outbound]
relay = \"[$HOST]:$R_SMTP\"
$SENDER_TOML"
Y_SUB=$(listener yubin submission)
[ -n "$Y_SUB" ] || die "yubin sender did not report a submission listener"
yadmin yubin domain add a.test >/dev/null || die "sender: domain add"
for ((k = 0; k < CLIENTS; k++)); do
    yadmin yubin account add "sender$k@a.test" --password "$PASS" >/dev/null ||
        die "sender: account add sender$k"
done
log "sender (Yubin, a.test): submission $HOST:$Y_SUB pid ${Y_PID[yubin]}"

# ---------------------------------------------------------------- Postfix instance
# Sender (b): a private Postfix, its own config_directory, queue_directory and data_directory
# under $WORK; started with postfix -c and stopped by the EXIT trap. Built-in defaults except
# what it needs to work here: listen on a loopback port, accept from 127.0.0.0/8 without AUTH,
# deliver nothing locally, relay everything to the receiver, opportunistic STARTTLS (the same
# as Yubin's default), log to a file (no syslog here), no chroot (the queue directory would
# need copies of /etc files).
P_SMTP=$(free_port)
mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.p.test
mydomain = p.test
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $HOST
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [$HOST]:$R_SMTP
smtp_tls_security_level = may
maillog_file = $LOGS/postfix.log
biff = no
EOF
# Debian's master.cf with the smtpd on our port and every service out of chroot.
awk -v port="$HOST:$P_SMTP" '
    /^[#[:space:]]/ || NF < 8 { print; next }
    $1 == "smtp" && $2 == "inet" { $1 = port }
    { $5 = "n"; print }' /etc/postfix/master.cf >"$PF/etc/master.cf"
chown -R postfix: "$PF/data"
postfix -c "$PF/etc" check >>"$LOGS/postfix-start.log" 2>&1 || die "postfix check failed (see $LOGS/postfix-start.log)"
postfix -c "$PF/etc" start >>"$LOGS/postfix-start.log" 2>&1 || die "postfix start failed (see $LOGS/postfix-start.log)"
PF_UP=1
wait_port "$P_SMTP" 15 || die "postfix smtpd did not open $P_SMTP (see $LOGS/postfix.log)"
for ((i = 0; i < 50; i++)); do [ -s "$PF/queue/pid/master.pid" ] && break; sleep 0.1; done
P_PID=$(tr -d ' ' <"$PF/queue/pid/master.pid")
log "sender (Postfix $PF_VERSION): smtpd $HOST:$P_SMTP master pid $P_PID"
PF_SETTINGS=$(postconf -x -c "$PF/etc" default_destination_concurrency_limit \
    default_process_limit smtp_connection_cache_on_demand smtp_connection_reuse_time_limit \
    smtp_destination_recipient_limit in_flow_delay smtp_tls_session_cache_database 2>/dev/null |
    sed 's/ = */=/' | tr '\n' ' ')

declare -A SUBMIT=([yubin]=$Y_SUB [postfix]=$P_SMTP)
declare -A AUTHPW=([yubin]=$PASS [postfix]=)
pid_of() { if [ "$1" = yubin ]; then echo "${Y_PID[yubin]}"; else echo "$P_PID"; fi; }

queue_empty() { # sender
    if [ "$1" = yubin ]; then
        [ -z "$(yadmin yubin queue list)" ]
    else
        [ -z "$(find "$PF/queue/incoming" "$PF/queue/active" "$PF/queue/deferred" \
            "$PF/queue/maildrop" -type f 2>/dev/null | head -1)" ]
    fi
}

# ---------------------------------------------------------------- runs
declare -A R
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }
median() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2 }'; }
LOADS=()
# One run may take RUN_TIMEOUT seconds (default 300), never past the deadline.
run_timeout() { local left=$((DEADLINE - SECONDS - 30)); echo $((left < ${RUN_TIMEOUT:-300} ? left : ${RUN_TIMEOUT:-300})); }

# Connections from the sender to the receiver, sampled every 0.1 s while a run lasts.
sample_connections() { # file
    while :; do
        ss -tnH state established "( dport = :$R_SMTP )" | wc -l
        sleep 0.1
    done >"$1"
}
conn_stats() { # file -> "mean max" over the samples with a connection open
    awk '$1 > 0 { n++; s += $1; if ($1 > m) m = $1 } END { if (n) printf "%.1f %d", s / n, m; else print "0 0" }' "$1"
}
# Yubin's store commits: units committed and seconds they waited, from `admin metrics`.
commit_units() { # name -> "count sum"
    yadmin "$1" metrics | awk '/^yubin_store_commit_seconds_count\{kind="foreground"\}/ { c = $2 }
        /^yubin_store_commit_seconds_sum\{kind="foreground"\}/ { s = $2 } END { print c + 0, s + 0 }'
}

one_run() { # sender rep
    local t=$1 rep=$2 pid c0 c1 r0 r1 m0 m1 w0 w1 out i sampler cs u0 u1
    pid=$(pid_of "$t")
    u0=$(commit_units yubin)
    sample_connections "$LOGS/conns-$t-$rep" &
    sampler=$!
    PIDS_TO_KILL+=("$sampler")
    c0=$(cpu_of "$pid") r0=$(cpu_of "${Y_PID[receiver]}") m0=$(machine_busy) w0=$(date +%s.%N)
    if out=$($PY "$HERE/load.py" --submit "$HOST:${SUBMIT[$t]}" --password "${AUTHPW[$t]}" \
        --watch "$HOST:$R_IMAP" --imap-password "$PASS" --accounts "$ACCOUNTS" \
        --clients "$CLIENTS" --messages "$MESSAGES" --size "$SIZE" --per-conn "$PER_CONN" \
        --tag "$t-$rep-$STAMP" --timeout "$(run_timeout)" 2>>"$LOGS/load.log"); then
        c1=$(cpu_of "$pid") r1=$(cpu_of "${Y_PID[receiver]}") m1=$(machine_busy) w1=$(date +%s.%N)
        kill "$sampler" 2>/dev/null
        wait "$sampler" 2>/dev/null || true
        u1=$(commit_units yubin)
        cs=$(conn_stats "$LOGS/conns-$t-$rep")
        out="$out conns_mean=${cs% *} conns_max=${cs#* }"
        if [ "$t" = yubin ]; then
            out="$out commit_units=$(awk -v a="$u0" -v b="$u1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d commit_wait_ms=%.1f", y[1] - x[1], (y[1] - x[1]) ? 1000 * (y[2] - x[2]) / (y[1] - x[1]) : 0 }')"
        fi
        out="$out sender_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')"
        out="$out receiver_cpu_s=$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.2f", b - a }')"
        out="$out machine_cores_busy=$(awk -v a="$m0" -v b="$m1" -v s="$w0" -v e="$w1" 'BEGIN { printf "%.2f", (b - a) / (e - s) }')"
        out="$out load=$(cut -d' ' -f1 /proc/loadavg)"
        R[$t/$rep]=$out
        log "rep $rep $t: $out"
    else
        kill "$sampler" 2>/dev/null
        wait "$sampler" 2>/dev/null || true
        R[$t/$rep]=-
        log "rep $rep $t: FAIL ($(tail -1 "$LOGS/load.log"))"
    fi
    for ((i = 0; i < 100; i++)); do queue_empty "$t" && return 0; sleep 0.1; done
    log "WARNING: $t's queue not empty 10 s after the run"
}

LOADS+=("start: $(loadavg)")
# A short untimed warm-up on each: first connections, TLS setup, page cache.
for t in yubin postfix; do
    $PY "$HERE/load.py" --submit "$HOST:${SUBMIT[$t]}" --password "${AUTHPW[$t]}" \
        --watch "$HOST:$R_IMAP" --imap-password "$PASS" --accounts "$ACCOUNTS" \
        --clients "$CLIENTS" --messages $((CLIENTS * 5)) --size "$SIZE" --per-conn "$PER_CONN" \
        --tag "$t-warm-$STAMP" --timeout 120 >>"$LOGS/warm.log" 2>>"$LOGS/load.log" ||
        die "warm-up on $t failed (see $LOGS/load.log)"
done
TARGETS=(yubin postfix)
for ((rep = 1; rep <= REPS; rep++)); do
    k=$(((rep - 1) % 2))
    for t in "${TARGETS[@]:k}" "${TARGETS[@]:0:k}"; do
        [ $((DEADLINE - SECONDS)) -gt 60 ] || { log "time budget spent, skipping"; break 2; }
        one_run "$t" "$rep"
    done
    LOADS+=("after rep $rep: $(loadavg)")
done

# TLS really used towards the receiver: the receiver's Received line says ESMTPS.
TLS_NOTE=""
for t in yubin postfix; do
    uid=$(yadmin receiver message list user0@b.test INBOX | grep "$t-" | tail -1 | cut -f1)
    if [ -n "$uid" ]; then
        with=$(yadmin receiver message show user0@b.test INBOX "$uid" | grep -m1 -A2 '^Received:' | tr -s ' \n' ' ')
        case $with in *ESMTPS*) TLS_NOTE+="$t: ESMTPS; " ;; *) TLS_NOTE+="$t: NO TLS ($with); " ;; esac
    fi
done

# ---------------------------------------------------------------- report
summary() { # sender key
    local vals=() r line
    for ((r = 1; r <= REPS; r++)); do
        line=${R[$1/$r]:--}
        if [ "$line" = - ]; then vals+=(-); else vals+=("$(field "$2" "$line")"); fi
        [ -n "${vals[-1]}" ] || vals[-1]=-
    done
    echo "$(median "${vals[@]}")|${vals[*]}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
row() { # label key
    local y p
    y=$(summary yubin "$2") p=$(summary postfix "$2")
    echo "| $1 | ${y%%|*} | ${p%%|*} | $(ratio "${y%%|*}" "${p%%|*}") | ${y#*|} | ${p#*|} |"
}
ELAPSED=$((SECONDS - START))
{
    echo "# Outbound benchmark, $STAMP"
    echo
    echo "bash bench/outbound/run.sh (MESSAGES=$MESSAGES CLIENTS=$CLIENTS ACCOUNTS=$ACCOUNTS SIZE=$SIZE PER_CONN=$PER_CONN REPS=$REPS)"
    echo
    echo "Each run: $CLIENTS connections submit $MESSAGES messages of $SIZE body bytes, each to 1-3 of"
    echo "user0..$((ACCOUNTS - 1))@b.test, to the sender under test, which relays them to one Yubin receiver"
    echo "(opportunistic STARTTLS); done when the receiver's IMAP shows every copy. Medians of $REPS"
    echo "runs, servers alternating; the last two columns list every run."
    echo
    echo "| | Yubin | Postfix | Yubin/Postfix | Yubin runs | Postfix runs |"
    echo "|---|---:|---:|---:|---|---|"
    row "submission, msg/s accepted" submit_rate
    row "end to end, msg/s (first connect to last stored)" e2e_rate
    row "end to end, s" e2e_s
    row "latency accepted -> stored, p50 ms" p50_ms
    row "latency accepted -> stored, p99 ms" p99_ms
    row "sender CPU s per run" sender_cpu_s
    row "receiver CPU s per run" receiver_cpu_s
    row "load generator CPU s per run" client_cpu_s
    row "machine cores busy (of $(nproc))" machine_cores_busy
    row "sender -> receiver connections, mean while any" conns_mean
    row "sender -> receiver connections, max" conns_max
    row "Yubin sender: store commit units per run" commit_units
    row "Yubin sender: mean wait per commit unit, ms" commit_wait_ms
    row "duplicates at the receiver" duplicates
    echo
    echo "- Yubin: $("$YUBIN_BIN" --version 2>/dev/null || echo "$YUBIN_BIN"), submission AUTH PLAIN without TLS"
    echo "  (allow_plaintext_auth), [outbound] relay = receiver, [queue] defaults (max_concurrency 100,"
    echo "  destination_concurrency 20), tls = opportunistic."
    [ -z "$SENDER_TOML" ] || echo "- SENDER_TOML (experiment): $(tr '\n' ' ' <<<"$SENDER_TOML")"
    echo "- Postfix $PF_VERSION: built-in defaults plus relayhost, mynetworks, smtp_tls_security_level = may;"
    echo "  $PF_SETTINGS"
    echo "- TLS to the receiver: $TLS_NOTE"
    echo "- Machine: $(nproc) cores, $(uname -r), work dir on $FSTYPE; load average: ${LOADS[*]}"
    echo "- Wall time of the script: ${ELAPSED} s"
    echo
    echo "Raw result lines:"
    echo
    for t in yubin postfix; do
        for ((r = 1; r <= REPS; r++)); do echo "    $t $r: ${R[$t/$r]:--}"; done
    done
} >"$OUT"
cat "$OUT"
log "results written to $OUT"
