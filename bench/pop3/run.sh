#!/usr/bin/env bash
# POP3 benchmark: Yubin vs Dovecot (dovecot-pop3d), same machine, same messages, one run.
#
# One command, as root, loopback only, bounded (stops itself after MAX_SECONDS):
#     bash bench/pop3/run.sh
# See bench/pop3/README.md for what is measured and how to read it. Not part of CI.
#
# Environment (all optional):
#   YUBIN_BIN        yubin binary (default $CARGO_TARGET_DIR/release/yubin, else
#                    /var/tmp/yubin-target/release/yubin)
#   LOAD_BIN         pop3-load binary (default: built from bench/pop3/load)
#   CLIENTS          concurrent login clients (default 20)
#   LOGIN_ACCOUNTS   accounts the login clients cycle over (default 100; >= CLIENTS)
#   LOGIN_MSGS       messages in each login account (default 10)
#   LOGIN_SECONDS    length of one login run (default 20)
#   COLD_ACCOUNTS    accounts per first-login run: each logged in to once, by nobody before
#                    (default 200; REPS x COLD_ACCOUNTS are made; 0 = skip)
#   RETR_ACCOUNTS    accounts, one RETR session each, all at once (default 10)
#   RETR_MSGS        messages per RETR account (default 1000)
#   RETR_SIZE        their size: bytes, or mixed = 2-100 KiB log-uniform (default mixed)
#   BIG              messages in the UIDL/LIST maildrop (default 50000), BIG_SIZE (4096)
#   REPS             runs per login and RETR cell (default 3; the median is reported)
#   LIST_REPS        runs per UIDL and LIST cell (default 5)
#   DOVECOT_AUTH     Dovecot auth setups for the login rows (default "default cache worker plain"):
#                    default = SQL (SQLite) passdb, Debian's auth settings; cache = the same
#                    with auth_cache_size = 10M; worker = cache +
#                    auth_cache_verify_password_with_worker = yes; passwd-file = a
#                    passwd-file passdb (never cached); plain = passwd-file with {PLAIN}
#                    passwords, no hashing at all (a ceiling, not a peer)
#   OUT              results file (default bench/pop3/results-<UTC date>.md)
#   KEEP             1 = keep the work directory (default 0)
#   MAX_SECONDS      hard cap for the whole script (default 2400)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
YUBIN_BIN=${YUBIN_BIN:-${CARGO_TARGET_DIR:-/var/tmp/yubin-target}/release/yubin}
LOAD_BIN=${LOAD_BIN:-}
CLIENTS=${CLIENTS:-20}
LOGIN_ACCOUNTS=${LOGIN_ACCOUNTS:-100}
LOGIN_MSGS=${LOGIN_MSGS:-10}
LOGIN_SECONDS=${LOGIN_SECONDS:-20}
COLD_ACCOUNTS=${COLD_ACCOUNTS:-200}
RETR_ACCOUNTS=${RETR_ACCOUNTS:-10}
RETR_MSGS=${RETR_MSGS:-1000}
RETR_SIZE=${RETR_SIZE:-mixed}
BIG=${BIG:-50000}
BIG_SIZE=${BIG_SIZE:-4096}
REPS=${REPS:-3}
LIST_REPS=${LIST_REPS:-5}
DOVECOT_AUTH=${DOVECOT_AUTH:-"default cache worker plain"}
KEEP=${KEEP:-0}
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-$HERE/results-$STAMP.md}
HOST=127.0.0.1
DOMAIN=example.test
PASS=bench-pop3-secret
DEADLINE=$((SECONDS + ${MAX_SECONDS:-2400}))
# Corpus numbers of each account group's first message (see pop3-load fill).
FIRST_LOGIN=0 FIRST_RETR=1000000 FIRST_BIG=5000000

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, runs Dovecot)"
[ "$LOGIN_ACCOUNTS" -ge "$CLIENTS" ] || die "LOGIN_ACCOUNTS must be >= CLIENTS (one session per maildrop)"
[ "$COLD_ACCOUNTS" = 0 ] || [ "$COLD_ACCOUNTS" -ge "$CLIENTS" ] || die "COLD_ACCOUNTS must be 0 or >= CLIENTS"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- packages, load generator
need_install=()
[ -x /usr/sbin/dovecot ] || need_install+=(dovecot-core)
[ -x /usr/lib/dovecot/pop3 ] || need_install+=(dovecot-pop3d)
[ -e /usr/lib/dovecot/modules/auth/libdriver_sqlite.so ] || need_install+=(dovecot-sqlite)
command -v python3 >/dev/null || need_install+=(python3)
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing ${need_install[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${need_install[@]}" >/dev/null
fi
if [ -z "$LOAD_BIN" ]; then
    log "building the load generator (bench/pop3/load, std only)"
    CARGO_TARGET_DIR=${LOAD_TARGET:-/var/tmp/pop3-load-target} \
        cargo build -q --release --manifest-path "$HERE/load/Cargo.toml" ||
        die "cannot build bench/pop3/load"
    LOAD_BIN=${LOAD_TARGET:-/var/tmp/pop3-load-target}/release/pop3-load
fi
[ -x "$YUBIN_BIN" ] || die "no yubin binary at $YUBIN_BIN (cargo build --release -p yubin)"

# ---------------------------------------------------------------- work dir
# /var/tmp, not /tmp: /tmp may be tmpfs, where fsync costs nothing.
WORK=$(mktemp -d /var/tmp/yubin-pop3-bench.XXXXXX)
chmod 755 "$WORK"
LOGS=$WORK/logs
mkdir -p "$LOGS"
FSTYPE=$(df --output=fstype "$WORK" | tail -1 | tr -d " ")
[ "$FSTYPE" != tmpfs ] || log "WARNING: $WORK is on tmpfs; fsync is free there"

PIDS_TO_KILL=()
DV_CONF=""
DV_UP=0
cleanup() {
    set +e
    [ "$DV_UP" = 1 ] && doveadm -c "$DV_CONF" stop >/dev/null 2>&1
    for p in "${PIDS_TO_KILL[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${PIDS_TO_KILL[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

source "$HERE/../lib.sh"
load() { "$LOAD_BIN" "$@"; }
LOADS=()
over_budget() { [ $SECONDS -ge $DEADLINE ]; }

# The accounts, the same names on both servers: GROUP{k}@example.test.
ACCOUNTS=()
for ((k = 0; k < LOGIN_ACCOUNTS; k++)); do ACCOUNTS+=("login$k@$DOMAIN"); done
for ((k = 0; k < RETR_ACCOUNTS; k++)); do ACCOUNTS+=("retr$k@$DOMAIN"); done
ACCOUNTS+=("big0@$DOMAIN")
for ((k = 0; k < REPS * COLD_ACCOUNTS; k++)); do ACCOUNTS+=("cold$k@$DOMAIN"); done

# ---------------------------------------------------------------- Dovecot
# A private Dovecot (not the system one): POP3 only, maildir, users whose mail belongs to an
# unprivileged user, as Dovecot requires. Its passwords are Argon2id with Yubin's parameters
# (argon2id.py), in an SQLite table: Dovecot's auth cache works only for passdbs that name a
# cache key (SQL, LDAP, ...), never for passwd-file, so auth_cache_size would change nothing
# there. One instance at a time on one port; the login rows restart it with another auth
# setup (which also empties its auth cache).
id yubinbench >/dev/null 2>&1 ||
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin yubinbench
MAIL_UID=$(id -u yubinbench)
MAIL_GID=$(id -g yubinbench)
DV=$WORK/dovecot
mkdir -p "$DV/run" "$DV/state" "$DV/mail"
chown yubinbench: "$DV/mail"
DV_PORT=$(free_port)
DV_CONF=$DV/dovecot.conf
log "hashing ${#ACCOUNTS[@]} Dovecot passwords (Argon2id m=19456 KiB, t=2, p=1)"
mapfile -t HASHES < <(python3 "$HERE/argon2id.py" "$PASS" "${#ACCOUNTS[@]}")
[ ${#HASHES[@]} = ${#ACCOUNTS[@]} ] || die "argon2id.py made ${#HASHES[@]} hashes"
for i in "${!ACCOUNTS[@]}"; do
    echo "${ACCOUNTS[$i]}:${HASHES[$i]}:$MAIL_UID:$MAIL_GID::$DV/mail/${ACCOUNTS[$i]}::"
done >"$DV/users-argon2id"
for a in "${ACCOUNTS[@]}"; do
    echo "$a:{PLAIN}$PASS:$MAIL_UID:$MAIL_GID::$DV/mail/$a::"
done >"$DV/users-plain"
python3 - "$DV/users-argon2id" "$DV/users.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT NOT NULL,"
           " home TEXT NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL)")
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(":")
    db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)", (f[0], f[1], f[5], int(f[2]), int(f[3])))
db.commit()
EOF
chmod 644 "$DV/users.sqlite"
cat >"$DV/sql.conf.ext" <<EOF
driver = sqlite
connect = $DV/users.sqlite
password_query = SELECT username AS user, password FROM users WHERE username = '%u'
user_query = SELECT home, uid, gid FROM users WHERE username = '%u'
EOF

dovecot_conf() { # auth setup
    local driver=sql args=$DV/sql.conf.ext extra=""
    case $1 in
    default) ;;
    cache) extra="auth_cache_size = 10M" ;;
    worker) extra=$'auth_cache_size = 10M\nauth_cache_verify_password_with_worker = yes' ;;
    passwd-file) driver=passwd-file args=$DV/users-argon2id ;;
    plain) driver=passwd-file args=$DV/users-plain ;;
    *) die "unknown DOVECOT_AUTH setup $1" ;;
    esac
    cat >"$DV_CONF" <<EOF
# Private Dovecot instance for the POP3 benchmark (auth setup: $1).
base_dir = $DV/run
state_dir = $DV/state
instance_name = yubin-pop3-bench
log_path = $LOGS/dovecot.log
protocols = pop3
listen = $HOST
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
$extra
passdb {
  driver = $driver
  args = $args
}
userdb {
  driver = $driver
  args = $args
}
service pop3-login {
  inet_listener pop3 {
    address = $HOST
    port = $DV_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
}
start_dovecot() { # auth setup
    local i
    dovecot_conf "$1"
    dovecot -c "$DV_CONF" || die "dovecot did not start (see $LOGS/dovecot.log)"
    DV_UP=1
    wait_port "$DV_PORT" 15 || die "dovecot pop3 port did not open"
    # The master may write its pid file a moment after the listener is up.
    for ((i = 0; i < 100; i++)); do
        [ -s "$DV/run/master.pid" ] && break
        sleep 0.1
    done
    DV_PID=$(cat "$DV/run/master.pid")
    DV_AUTH=$1
    log "Dovecot pop3 $HOST:$DV_PORT (pid $DV_PID, auth setup $1)"
}
stop_dovecot() {
    local i
    doveadm -c "$DV_CONF" stop >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$DV_PID" 2>/dev/null || break
        sleep 0.1
    done
    DV_UP=0
}

# ---------------------------------------------------------------- Yubin
# One instance: POP3 on a random port, IMAP too (the fill APPENDs over it), nothing else.
YB=$WORK/yubin
mkdir -p "$YB/data"
cat >"$YB/yubin.toml" <<EOF
[server]
hostname = "pop3.bench.test"
data_dir = "$YB/data"
[smtp]
listen = []
[lmtp]
listen = []
[imap]
listen = ["$HOST:0"]
listen_tls = []
# The fill APPENDs back to back; the per-connection command cap (500/s) would slow only that.
max_commands_per_sec = 1000000
[pop3]
listen = ["$HOST:0"]
listen_tls = []
EOF
"$YUBIN_BIN" serve --config "$YB/yubin.toml" >"$YB/stdout" 2>"$LOGS/yubin.log" &
YB_PID=$!
PIDS_TO_KILL+=("$YB_PID")
for ((i = 0; i < 300; i++)); do
    grep -q '^yubin: ready' "$YB/stdout" 2>/dev/null && break
    kill -0 "$YB_PID" 2>/dev/null || break
    sleep 0.1
done
listener() { sed -n "s/^yubin: listening $1 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$YB/stdout" | head -1; }
YB_PORT=$(listener pop3)
YB_IMAP=$(listener imap)
[ -n "$YB_PORT" ] || die "yubin serve did not report a pop3 listener (see $LOGS/yubin.log)"
[ -n "$YB_IMAP" ] || die "yubin serve did not report an imap listener (see $LOGS/yubin.log)"
log "Yubin pop3 $HOST:$YB_PORT imap $HOST:$YB_IMAP (pid $YB_PID); adding ${#ACCOUNTS[@]} accounts"
yadmin() { "$YUBIN_BIN" admin --data "$YB/data" "$@" >>"$LOGS/yubin-admin.log" 2>&1; }
yadmin domain add "$DOMAIN" || die "yubin admin domain add failed (see $LOGS/yubin-admin.log)"
for a in "${ACCOUNTS[@]}"; do
    yadmin account add "$a" --password "$PASS" || die "yubin admin account add $a failed"
done

start_dovecot "${DOVECOT_AUTH%% *}"
declare -A PORT=([yubin]=$YB_PORT [dovecot]=$DV_PORT)
pid_of() { if [ "$1" = yubin ]; then echo "$YB_PID"; else echo "$DV_PID"; fi; }
TARGETS=(yubin dovecot)

# ---------------------------------------------------------------- fills (not timed)
# fill GROUP COUNT_ACCOUNTS MESSAGES SIZE FIRST SESSIONS
fill() {
    local group=$1 accounts=$2 msgs=$3 size=$4 first=$5 sessions=$6 out
    log "filling $accounts $group account(s) with $msgs messages each (size $size)"
    out=$(load fill "$HOST:$YB_IMAP" --user "$group{}@$DOMAIN" --pass "$PASS" --accounts "$accounts" \
        --messages "$msgs" --size "$size" --first "$first" --sessions "$sessions" \
        2>>"$LOGS/load.log") || die "Yubin fill of $group failed (see load.log)"
    log "  Yubin (IMAP APPEND): $out"
    out=$(load maildir "$DV/mail/$group{}@$DOMAIN/Maildir" --accounts "$accounts" \
        --messages "$msgs" --size "$size" --first "$first") || die "Dovecot fill of $group failed"
    log "  Dovecot (maildir files): $out"
}
fill login "$LOGIN_ACCOUNTS" "$LOGIN_MSGS" 4096 "$FIRST_LOGIN" 1
fill retr "$RETR_ACCOUNTS" "$RETR_MSGS" "$RETR_SIZE" "$FIRST_RETR" 1
fill big 1 "$BIG" "$BIG_SIZE" "$FIRST_BIG" 4
# The first-login accounts stay empty and untouched on Yubin (an IMAP login would put their
# passwords in its cache). Dovecot gets their maildirs and, through doveadm (a userdb lookup,
# no password check), its index files, so a first login there does not also create those.
if [ "$COLD_ACCOUNTS" -gt 0 ]; then
    load maildir "$DV/mail/cold{}@$DOMAIN/Maildir" --accounts $((REPS * COLD_ACCOUNTS)) --messages 0 >/dev/null ||
        die "Dovecot maildirs for the cold accounts"
fi
chown -R yubinbench: "$DV/mail"
if [ "$COLD_ACCOUNTS" -gt 0 ]; then
    doveadm -c "$DV_CONF" mailbox status -A messages INBOX >"$LOGS/doveadm-status.log" 2>&1 ||
        log "WARNING: doveadm mailbox status -A failed (see $LOGS/doveadm-status.log)"
fi
du_dv=$(du -sh "$DV/mail" | cut -f1)
du_yb=$(du -sh "$YB/data" | cut -f1)

# Untimed first pass on both servers: Dovecot indexes each fresh maildir on its first
# session (a one-off for mail it did not deliver itself), and both read the files once.
declare -A R   # R[cell/server/rep] = result line; R[cell/server] = median figure
declare -A NOTE
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

# The RETR warm-up is also the one figure of a first download of fresh mail (reported apart,
# one run, Dovecot first: it indexes the maildirs in it).
log "warm-up: one pass of every workload on both servers"
for t in dovecot yubin; do
    out=$(load retr "$HOST:${PORT[$t]}" --user "retr{}@$DOMAIN" --pass "$PASS" --accounts "$RETR_ACCOUNTS" \
        --messages "$RETR_MSGS" --size "$RETR_SIZE" --first "$FIRST_RETR" --server-pid "$(pid_of "$t")" \
        2>>"$LOGS/load.log") || die "RETR warm-up on $t failed (see load.log)"
    echo "$out" >>"$LOGS/warm.log"
    R[retr-first/$t/1]=$out
    R[retr-first/$t]=$(field rate "$out")
    R[retr-first/$t/mb]=$(field mb_s "$out")
    for c in UIDL LIST; do
        load listing "$HOST:${PORT[$t]}" --user "big0@$DOMAIN" --pass "$PASS" --command $c --expect "$BIG" \
            >>"$LOGS/warm.log" 2>>"$LOGS/load.log" || die "$c warm-up on $t failed (see load.log)"
    done
    load logins "$HOST:${PORT[$t]}" --user "login{}@$DOMAIN" --pass "$PASS" --accounts "$LOGIN_ACCOUNTS" \
        --clients "$CLIENTS" --seconds 1 >>"$LOGS/warm.log" 2>>"$LOGS/load.log" ||
        die "login warm-up on $t failed (see load.log)"
done
grep '^result' "$LOGS/warm.log" | sed 's/^/  /' >&2

median() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2 }'; }

# run_cell CELL REP -- workload args...: one measurement on every server, alternating which
# goes first; the result line goes to R[CELL/server/REP].
run_cell() {
    local cell=$1 rep=$2 k t out
    shift 3
    k=$(((rep - 1) % 2))
    for t in "${TARGETS[@]:k}" "${TARGETS[@]:0:k}"; do
        if over_budget; then NOTE[$cell]="skipped (time budget)"; return; fi
        if load "$1" "$HOST:${PORT[$t]}" --pass "$PASS" "${@:2}" --server-pid "$(pid_of "$t")" \
            >"$LOGS/$cell-$t-$rep.out" 2>>"$LOGS/load.log"; then
            out=$(grep '^result' "$LOGS/$cell-$t-$rep.out")
            R[$cell/$t/$rep]=$out
            log "$cell rep $rep $t: $out"
        else
            R[$cell/$t/$rep]="-"
            NOTE[$cell]="FAIL on $t (see load.log)"
            log "$cell rep $rep $t: FAIL ($(tail -1 "$LOGS/load.log"))"
        fi
    done
}
# summarize CELL KEY REPS [AS]: R[CELL/server(/AS)] = median of KEY over the reps.
summarize() {
    local cell=$1 key=$2 reps=$3 as=${4:-} t r vals line
    for t in "${TARGETS[@]}"; do
        vals=()
        for ((r = 1; r <= reps; r++)); do
            line=${R[$cell/$t/$r]:--}
            if [ "$line" = - ]; then vals+=(-); else vals+=("$(field "$key" "$line")"); fi
        done
        R[$cell/$t${as:+/$as}]=$(median "${vals[@]}")
        R[$cell/$t/all${as:+/$as}]="${vals[*]}"
    done
}

# ---------------------------------------------------------------- RETR
LOADS+=("retr: $(loadavg)")
for ((r = 1; r <= REPS; r++)); do
    run_cell retr "$r" -- retr --user "retr{}@$DOMAIN" --accounts "$RETR_ACCOUNTS" \
        --messages "$RETR_MSGS" --size "$RETR_SIZE" --first "$FIRST_RETR"
done
summarize retr rate "$REPS"
summarize retr mb_s "$REPS" mb

# ---------------------------------------------------------------- UIDL, LIST on BIG messages
for c in UIDL LIST; do
    LOADS+=("$c: $(loadavg)")
    for ((r = 1; r <= LIST_REPS; r++)); do
        run_cell "$c" "$r" -- listing --user "big0@$DOMAIN" --command "$c" --expect "$BIG"
    done
    summarize "$c" elapsed "$LIST_REPS"
    summarize "$c" login "$LIST_REPS" login
    summarize "$c" listing "$LIST_REPS" listing
done

# ---------------------------------------------------------------- first logins (cold caches)
# Each rep takes a fresh set of accounts on both servers, logged in to exactly once, against
# Dovecot's first auth setup.
if [ "$COLD_ACCOUNTS" -gt 0 ]; then
    LOADS+=("first logins: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell logins-cold "$r" -- logins --user "cold{}@$DOMAIN" --accounts "$COLD_ACCOUNTS" \
            --offset $(((r - 1) * COLD_ACCOUNTS)) --clients "$CLIENTS" --once 1
    done
    summarize logins-cold rate "$REPS"
fi

# ---------------------------------------------------------------- logins, per Dovecot auth setup
for setup in $DOVECOT_AUTH; do
    over_budget && { NOTE[logins-$setup]="skipped (time budget)"; continue; }
    if [ "$DV_AUTH" != "$setup" ]; then
        stop_dovecot
        start_dovecot "$setup"
    fi
    LOADS+=("logins ($setup): $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell "logins-$setup" "$r" -- logins --user "login{}@$DOMAIN" --accounts "$LOGIN_ACCOUNTS" \
            --clients "$CLIENTS" --seconds "$LOGIN_SECONDS"
    done
    summarize "logins-$setup" rate "$REPS"
done

YB_END_MEM=$(python3 "$ROOT/bench/delivery/procmem.py" --self "$YB_PID" 2>/dev/null || echo "0 0 0")

# ---------------------------------------------------------------- report
ratio() { # higher is better: a / b
    [ "$1" != - ] && [ "$2" != - ] && [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$1 / $2:.2f}x')" || echo -
}
inv_ratio() { # lower is better (time): b / a
    [ "$1" != - ] && [ "$2" != - ] && [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$2 / $1:.2f}x')" || echo -
}
ms() { [ "$1" = - ] && echo - || python3 -c "print(f'{$1 * 1000:.0f}')"; }
ms1() { [ "$1" = - ] && echo - || python3 -c "print(f'{$1 * 1000:.1f}')"; }
cpu_of() { # cell server -> "client / server CPU s" of run 1
    local line=${R[$1/$2/1]:--}
    [ "$line" = - ] && { echo -; return; }
    echo "$(field client_cpu "$line") / $(field server_cpu "$line")"
}
setup_name() {
    case $1 in
    default) echo "Dovecot SQL passdb, default auth settings (no auth cache)" ;;
    cache) echo "Dovecot SQL passdb, auth_cache_size = 10M" ;;
    worker) echo "Dovecot SQL passdb, auth_cache_size = 10M + auth_cache_verify_password_with_worker = yes" ;;
    passwd-file) echo "Dovecot passwd-file passdb (never cached)" ;;
    plain) echo "Dovecot passwd-file with {PLAIN} passwords (no hashing: a ceiling, not a peer)" ;;
    esac
}
row() { # label cell [as] [ratio-fn] [fmt-fn]
    local label=$1 c=$2 as=${3:-} rf=${4:-ratio} f=${5:-echo} y d
    y=${R[$c/yubin${as:+/$as}]:--} d=${R[$c/dovecot${as:+/$as}]:--}
    echo "| $label | $($f "$y") | $($f "$d") | $($rf "$y" "$d") | $(cpu_of "$c" yubin) | $(cpu_of "$c" dovecot) | ${NOTE[$c]:-ok} |"
}
{
    echo "# POP3 benchmark, $STAMP"
    echo
    echo "Command: \`$(printf '%q ' env YUBIN_BIN="$YUBIN_BIN" CLIENTS="$CLIENTS" LOGIN_ACCOUNTS="$LOGIN_ACCOUNTS" LOGIN_MSGS="$LOGIN_MSGS" LOGIN_SECONDS="$LOGIN_SECONDS" COLD_ACCOUNTS="$COLD_ACCOUNTS" RETR_ACCOUNTS="$RETR_ACCOUNTS" RETR_MSGS="$RETR_MSGS" RETR_SIZE="$RETR_SIZE" BIG="$BIG" BIG_SIZE="$BIG_SIZE" REPS="$REPS" LIST_REPS="$LIST_REPS" DOVECOT_AUTH="$DOVECOT_AUTH" bash bench/pop3/run.sh | sed 's/ $//')\`"
    echo
    echo "Yubin: $("$YUBIN_BIN" --version 2>/dev/null || echo yubin), repository at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') when run; peer: Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1) (dovecot-pop3d, maildir); load generator: bench/pop3/load (Rust, std only, one thread per session, one command at a time)."
    echo "Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), kernel $(uname -r), work dir on $FSTYPE; stored mail: Yubin $du_yb, Dovecot $du_dv."
    echo "Load average (1/5/15 min) at the start of each part: $(IFS=';'; echo "${LOADS[*]}")."
    echo "Passwords: both servers check Argon2id, m=19456 KiB, t=2, p=1 (Yubin: \`yubin admin account add\`, the argon2 crate's defaults; Dovecot: {ARGON2ID} hashes with the same parameters from libsodium, bench/pop3/argon2id.py, in an SQLite passdb). RETR, UIDL and LIST ran against Dovecot's '${DOVECOT_AUTH%% *}' auth setup."
    echo
    echo "| workload | Yubin | Dovecot | Yubin vs Dovecot (>1: Yubin better) | client / Yubin CPU s (run 1) | client / Dovecot CPU s (run 1) | check |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for setup in $DOVECOT_AUTH; do
        row "logins/s, $CLIENTS clients over $LOGIN_ACCOUNTS accounts (connect, USER, PASS, STAT, QUIT); $(setup_name "$setup")" "logins-$setup"
    done
    [ "$COLD_ACCOUNTS" -gt 0 ] &&
        row "first logins/s: $COLD_ACCOUNTS accounts nobody logged in to, once each, $CLIENTS clients (every password checked in full); $(setup_name "${DOVECOT_AUTH%% *}")" logins-cold
    row "RETR, $RETR_ACCOUNTS sessions x $RETR_MSGS msgs ($RETR_SIZE), msg/s" retr
    row "RETR, same runs, MB/s (10^6 bytes)" retr mb
    row "RETR, first pass over the fresh maildrops (the warm-up, one run; Dovecot also indexes the maildirs it did not deliver; both mark the messages seen at QUIT, Yubin answering QUIT before that commit, Dovecot after its renames), msg/s" retr-first
    row "UIDL, $BIG msgs: connect to end of listing, ms" UIDL "" inv_ratio ms
    row "LIST, $BIG msgs: connect to end of listing, ms" LIST "" inv_ratio ms
    echo
    echo "Login cycle latency, p50 / p99 ms (run 1 of each cell):"
    echo
    for setup in $DOVECOT_AUTH cold; do
        yl=${R[logins-$setup/yubin/1]:--} dl=${R[logins-$setup/dovecot/1]:--}
        [ "$yl" != - ] && [ "$dl" != - ] &&
            echo "- $setup: Yubin $(field p50_ms "$yl") / $(field p99_ms "$yl"); Dovecot $(field p50_ms "$dl") / $(field p99_ms "$dl")"
    done
    echo
    echo "UIDL / LIST split, median ms: login (connect, greeting, USER, PASS) + listing:"
    echo
    for c in UIDL LIST; do
        echo "- $c: Yubin $(ms1 "${R[$c/yubin/login]:--}") + $(ms1 "${R[$c/yubin/listing]:--}"); Dovecot $(ms1 "${R[$c/dovecot/login]:--}") + $(ms1 "${R[$c/dovecot/listing]:--}"); the listing alone: $(inv_ratio "${R[$c/yubin/listing]:--}" "${R[$c/dovecot/listing]:--}")"
    done
    echo
    echo "All runs (logins/s, msg/s, MB/s, s):"
    echo
    for c in ${DOVECOT_AUTH// / } cold; do c=logins-$c
        for t in "${TARGETS[@]}"; do [ -n "${R[$c/$t/all]:-}" ] && echo "- $c $t: ${R[$c/$t/all]}"; done
    done
    for c in retr UIDL LIST; do
        for t in "${TARGETS[@]}"; do [ -n "${R[$c/$t/all]:-}" ] && echo "- $c $t: ${R[$c/$t/all]}"; done
    done
    for t in "${TARGETS[@]}"; do [ -n "${R[retr/$t/all/mb]:-}" ] && echo "- retr MB/s $t: ${R[retr/$t/all/mb]}"; done
    echo
    echo "Yubin at the end of the run, no connection open: RSS $(( ${YB_END_MEM%% *} / 1024 )) MiB."
} >"$OUT"
cat "$OUT"
log "results written to $OUT (whole run: ${SECONDS}s)"
