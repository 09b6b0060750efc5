#!/usr/bin/env bash
# IMAP benchmark: Yubin vs Dovecot (dovecot-imapd), same machine, same messages, one run.
#
# One command, as root, loopback only, bounded (stops itself after MAX_SECONDS):
#     bash bench/imap/run.sh
# See bench/imap/README.md for what is measured and how to read it.
#
# Environment (all optional):
#   YUBIN_BIN        yubin binary (default /var/tmp/yubin-target/release/yubin)
#   LOAD_BIN         imap-load binary (default: built from bench/imap/load)
#   MESSAGES         messages per APPEND run with 10 sessions (default 5000)
#   MESSAGES_SERIAL  messages per APPEND run with 1 session (default 1000)
#   SESSIONS         APPEND sessions, all into one mailbox (default "1 10")
#   SPREAD           also APPEND with this many sessions into as many mailboxes (default 10;
#                    empty = skip)
#   SIZE             message size in bytes, every workload (default 4096)
#   REPS             repetitions per cell (default 3; the median is reported)
#   BIG              messages in the SELECT + UID FETCH 1:* (FLAGS) mailbox (default 100000)
#   SEARCH_N         messages in the SEARCH TEXT mailbox (default 10000)
#   CLIENTS          mixed-workload clients (default 50), MIXED_SECONDS (30),
#   MIXED_MSGS       messages per client mailbox before the mixed run (default 200)
#   IDLE             idle logged-in connections to Yubin (default 10000; 0 = skip)
#   IDLE_DOVECOT     idle connections to Dovecot (default 1000: one process each)
#   DOVECOT_FILL     maildir (default: files written straight into the big mailboxes,
#                    indexed on an untimed SELECT) or append (APPEND, like Yubin)
#   OUT              results file (default bench/imap/results-<UTC date>.md)
#   KEEP             1 = keep the work directory (default 0)
#   MAX_SECONDS      hard cap for the whole script (default 1500)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
YUBIN_BIN=${YUBIN_BIN:-/var/tmp/yubin-target/release/yubin}
LOAD_BIN=${LOAD_BIN:-}
MESSAGES=${MESSAGES:-5000}
MESSAGES_SERIAL=${MESSAGES_SERIAL:-1000}
SESSIONS=${SESSIONS:-"1 10"}
SPREAD=${SPREAD:-10}
SIZE=${SIZE:-4096}
REPS=${REPS:-3}
BIG=${BIG:-100000}
SEARCH_N=${SEARCH_N:-10000}
CLIENTS=${CLIENTS:-50}
MIXED_SECONDS=${MIXED_SECONDS:-30}
MIXED_MSGS=${MIXED_MSGS:-200}
IDLE=${IDLE:-10000}
IDLE_DOVECOT=${IDLE_DOVECOT:-1000}
DOVECOT_FILL=${DOVECOT_FILL:-maildir}
KEEP=${KEEP:-0}
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-$HERE/results-$STAMP.md}
HOST=127.0.0.1
USER_NAME=bench@example.test
PASS=x
DEADLINE=$((SECONDS + ${MAX_SECONDS:-1500}))

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, runs Dovecot)"
# 10,000 idle connections need descriptors on both ends; servers inherit this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- packages, load generator
need_install=()
[ -x /usr/sbin/dovecot ] || need_install+=(dovecot-core)
[ -x /usr/lib/dovecot/imap ] || need_install+=(dovecot-imapd)
command -v python3 >/dev/null || need_install+=(python3)
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing ${need_install[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${need_install[@]}" >/dev/null
fi
if [ -z "$LOAD_BIN" ]; then
    log "building the load generator (bench/imap/load, std only)"
    CARGO_TARGET_DIR=${LOAD_TARGET:-/var/tmp/imap-load-target} \
        cargo build -q --release --manifest-path "$HERE/load/Cargo.toml" ||
        die "cannot build bench/imap/load"
    LOAD_BIN=${LOAD_TARGET:-/var/tmp/imap-load-target}/release/imap-load
fi
[ -x "$YUBIN_BIN" ] || die "no yubin binary at $YUBIN_BIN (cargo build --release -p yubin)"

# ---------------------------------------------------------------- work dir
# /var/tmp, not /tmp: /tmp may be tmpfs, where fsync costs nothing.
WORK=$(mktemp -d /var/tmp/yubin-imap-bench.XXXXXX)
chmod 755 "$WORK"
LOGS=$WORK/logs
mkdir -p "$LOGS"
FSTYPE=$(df --output=fstype "$WORK" | tail -1 | tr -d " ")
[ "$FSTYPE" != tmpfs ] || log "WARNING: $WORK is on tmpfs; fsync is free there"

PIDS_TO_KILL=()
DV_CONF=""
cleanup() {
    set +e
    [ -n "$DV_CONF" ] && doveadm -c "$DV_CONF" stop >/dev/null 2>&1
    for p in "${PIDS_TO_KILL[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${PIDS_TO_KILL[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

source "$HERE/../lib.sh"
load() { "$LOAD_BIN" "$@"; }
# Machine load at a point in time, for the report (other helpers share the machine).
LOADS=()

# ---------------------------------------------------------------- Dovecot
# A private Dovecot (not the system one): IMAP only, maildir, one passwd-file user whose
# mail belongs to an unprivileged user, as Dovecot requires. mail_fsync is left at its
# default (optimized). Limits raised so IDLE_DOVECOT connections and 50 clients of one user
# from one address fit (mail_max_userip_connections is 10 by default).
id yubinbench >/dev/null 2>&1 ||
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin yubinbench
MAIL_UID=$(id -u yubinbench)
MAIL_GID=$(id -g yubinbench)
DV=$WORK/dovecot
mkdir -p "$DV/run" "$DV/state" "$DV/mail"
chown yubinbench: "$DV/mail"
DV_PORT=$(free_port)
DV_HOME=$DV/mail/bench
echo "$USER_NAME:{PLAIN}$PASS:$MAIL_UID:$MAIL_GID::$DV_HOME::" >"$DV/users"
DV_LIMIT=$((IDLE_DOVECOT + CLIENTS + 200))
DV_CONF=$DV/dovecot.conf
cat >"$DV_CONF" <<EOF
# Private Dovecot instance for the IMAP benchmark.
base_dir = $DV/run
state_dir = $DV/state
instance_name = yubin-imap-bench
log_path = $LOGS/dovecot.log
protocols = imap
listen = $HOST
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
default_process_limit = $DV_LIMIT
default_client_limit = $((DV_LIMIT * 2 + 100))
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = passwd-file
  args = $DV/users
}
protocol imap {
  mail_max_userip_connections = $DV_LIMIT
}
service imap-login {
  inet_listener imap {
    address = $HOST
    port = $DV_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  process_limit = $DV_LIMIT
}
EOF
log "starting Dovecot (imap $HOST:$DV_PORT)"
dovecot -c "$DV_CONF" || die "dovecot did not start (see $LOGS/dovecot.log)"
wait_port "$DV_PORT" 15 || die "dovecot imap port did not open"
DV_PID=$(cat "$DV/run/master.pid")
[ "$(doveconf -c "$DV_CONF" -h mail_fsync)" = optimized ] || die "dovecot mail_fsync is not the default"

# ---------------------------------------------------------------- Yubin
# start_yubin DIR -> sets YB_PID, YB_PORT; adds the one account.
start_yubin() { # DIR [ENV=VALUE...]
    local dir=$1 i
    shift
    mkdir -p "$dir/data"
    cat >"$dir/yubin.toml" <<EOF
[server]
hostname = "imap.bench.test"
data_dir = "$dir/data"
[smtp]
listen = []
[lmtp]
listen = []
[imap]
listen = ["$HOST:0"]
listen_tls = []
# The per-connection command rate cap (default 500/s, a defence against one client
# monopolising a core) would throttle a single-session APPEND run; Dovecot has no such cap.
max_commands_per_sec = 1000000
EOF
    env "$@" "$YUBIN_BIN" serve --config "$dir/yubin.toml" >"$dir/stdout" 2>"$LOGS/$(basename "$dir").log" &
    YB_PID=$!
    PIDS_TO_KILL+=("$YB_PID")
    for ((i = 0; i < 300; i++)); do
        grep -q '^yubin: ready' "$dir/stdout" 2>/dev/null && break
        kill -0 "$YB_PID" 2>/dev/null || break
        sleep 0.1
    done
    YB_PORT=$(sed -n 's/^yubin: listening imap 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/stdout" | head -1)
    [ -n "$YB_PORT" ] || die "yubin serve did not report an imap listener (see $LOGS)"
    "$YUBIN_BIN" admin --data "$dir/data" domain add example.test >>"$LOGS/yubin-admin.log" 2>&1 &&
        "$YUBIN_BIN" admin --data "$dir/data" account add "$USER_NAME" --password "$PASS" \
            >>"$LOGS/yubin-admin.log" 2>&1 || die "yubin admin failed (see $LOGS/yubin-admin.log)"
}

median() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2 }'; }
field() { # key line -> value
    tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1
}
over_budget() { [ $SECONDS -ge $DEADLINE ]; }

declare -A R   # R[cell/server] = figure
declare -A NOTE

# ---------------------------------------------------------------- memory
# Yubin: a fresh instance of its own, so the figure is per-connection state only. (Before the
# binary used mimalloc, glibc kept each login's freed 19 MiB Argon2 buffer resident; that is
# gone, and the main instance's RSS at the end of the run shows it.)
# Dovecot: one imap process per connection; PSS summed over the master's process tree.
mem_run() { # name port pid count self_flag
    local name=$1 port=$2 pid=$3 count=$4 self=$5 before after fifo holder i open
    fifo=$WORK/idle-$name.fifo
    rm -f "$fifo"; mkfifo "$fifo"
    before=$(python3 "$ROOT/bench/delivery/procmem.py" $self "$pid")
    load idle "$HOST:$port" "$USER_NAME" "$PASS" --count "$count" --threads 4 \
        <"$fifo" >"$WORK/idle-$name.out" 2>>"$LOGS/idle.log" &
    holder=$!
    exec 7>"$fifo"
    for ((i = 0; i < 6000; i++)); do
        grep -q '^open' "$WORK/idle-$name.out" 2>/dev/null && break
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.1
    done
    sleep 2 # let the server settle
    after=$(python3 "$ROOT/bench/delivery/procmem.py" $self "$pid")
    open=$(awk '/^open/ { print $2 }' "$WORK/idle-$name.out")
    echo >&7; exec 7>&-
    wait "$holder" 2>/dev/null || true
    set -- $before; local rb=$1 pb=$2 nb=$3
    set -- $after
    R[mem/$name/open]=${open:-0}
    R[mem/$name/failed]=$(awk '/^open/ { sub("failed=", "", $3); print $3 }' "$WORK/idle-$name.out")
    R[mem/$name/procs]="$nb -> $3"
    R[mem/$name/login_s]=$(awk '/^open/ { sub("login_seconds=", "", $4); print $4 }' "$WORK/idle-$name.out")
    if [ "${open:-0}" -gt 0 ]; then
        R[mem/$name/rss]=$(python3 -c "print(f'{($1 - $rb) / $open:.1f}')")
        R[mem/$name/pss]=$(python3 -c "print(f'{($2 - $pb) / $open:.1f}')")
        R[mem/$name/before]="$((rb / 1024)) MiB"
    fi
    log "memory $name: ${open:-0} open, RSS ${R[mem/$name/rss]:-?} KiB/conn, PSS ${R[mem/$name/pss]:-?} KiB/conn"
}
if [ "$IDLE" -gt 0 ]; then
    start_yubin "$WORK/yubin-mem"
    log "memory: $IDLE idle connections to Yubin"
    LOADS+=("memory: $(loadavg)")
    mem_run yubin "$YB_PORT" "$YB_PID" "$IDLE" --self
    kill "$YB_PID" 2>/dev/null || true
    if [ "$IDLE_DOVECOT" -gt 0 ]; then
        mem_run dovecot "$DV_PORT" "$DV_PID" "$IDLE_DOVECOT" ""
        # Let the imap processes exit and the machine settle before the throughput runs
        # (closing 11,000 connections otherwise slows the first APPEND run of both servers).
        for ((i = 0; i < 300; i++)); do
            [ "$(python3 "$ROOT/bench/delivery/procmem.py" "$DV_PID" | cut -d' ' -f3)" -le 10 ] && break
            sleep 0.1
        done
    fi
    sleep 5
fi

start_yubin "$WORK/yubin"
YB_MAIN_PID=$YB_PID YB_MAIN_PORT=$YB_PORT
log "Yubin imap $HOST:$YB_MAIN_PORT (pid $YB_MAIN_PID), Dovecot imap $HOST:$DV_PORT (pid $DV_PID)"
declare -A PORT=([yubin]=$YB_MAIN_PORT [dovecot]=$DV_PORT)
declare -A PID=([yubin]=$YB_MAIN_PID [dovecot]=$DV_PID)
TARGETS=(yubin dovecot)

# run_cell CELL REP -- workload args...: runs one measurement on every server, alternating
# which goes first; stores the result line under R[CELL/server/REP].
run_cell() {
    local cell=$1 rep=$2 k t out
    shift 3
    k=$(((rep - 1) % 2))
    for t in "${TARGETS[@]:k}" "${TARGETS[@]:0:k}"; do
        if over_budget; then NOTE[$cell]="skipped (time budget)"; return; fi
        local args=("${@//@MBOX@/$cell-$rep}")
        if load "${args[0]}" "$HOST:${PORT[$t]}" "$USER_NAME" "$PASS" "${args[@]:1}" \
            --server-pid "${PID[$t]}" >"$LOGS/$cell-$t-$rep.out" 2>>"$LOGS/load.log"; then
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
# summarize CELL KEY -> sets R[CELL/server] to the median of KEY over the reps
summarize() {
    local cell=$1 key=$2 t r vals
    for t in "${TARGETS[@]}"; do
        vals=()
        for ((r = 1; r <= REPS; r++)); do
            local line=${R[$cell/$t/$r]:--}
            if [ "$line" = - ]; then vals+=(-); else vals+=("$(field "$key" "$line")"); fi
        done
        R[$cell/$t]=$(median "${vals[@]}")
        R[$cell/$t/all]="${vals[*]}"
    done
}

# ---------------------------------------------------------------- 1. APPEND
for n in $SESSIONS; do
    msgs=$MESSAGES
    [ "$n" = 1 ] && msgs=$MESSAGES_SERIAL
    LOADS+=("append $n: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        # A fresh mailbox per run, so every run starts empty on both servers.
        run_cell "append-$n" "$r" -- append --mailbox @MBOX@ --sessions "$n" \
            --messages "$msgs" --size "$SIZE"
    done
    summarize "append-$n" rate
done

# The same load spread over as many mailboxes as sessions (one user's folders, or as many
# users would): Dovecot serialises appends to one maildir on its dovecot-uidlist lock, so
# this is the fairer multi-user figure for it.
if [ -n "$SPREAD" ]; then
    LOADS+=("append $SPREAD x $SPREAD: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell "append-spread" "$r" -- append --mailbox @MBOX@- --spread "$SPREAD" \
            --sessions "$SPREAD" --messages "$MESSAGES" --size "$SIZE"
    done
    summarize "append-spread" rate
fi

# ---------------------------------------------------------------- fills
# fill NAME COUNT FIRST: the same corpus messages in mailbox NAME on both servers.
fill() {
    local name=$1 count=$2 first=$3 out
    log "filling '$name' with $count messages on Yubin (APPEND, 10 sessions)"
    out=$(load append "$HOST:$YB_MAIN_PORT" "$USER_NAME" "$PASS" --mailbox "$name" --sessions 10 \
        --messages "$count" --size "$SIZE" --first "$first" 2>>"$LOGS/load.log") ||
        die "Yubin fill of $name failed (see load.log)"
    log "  $out"
    if [ "$DOVECOT_FILL" = maildir ]; then
        log "filling '$name' with $count messages on Dovecot (files into its maildir)"
        out=$(load maildir "$DV_HOME/Maildir/.$name" --messages "$count" --size "$SIZE" --first "$first") ||
            die "Dovecot maildir fill of $name failed"
        chown -R yubinbench: "$DV_HOME"
    else
        log "filling '$name' with $count messages on Dovecot (APPEND, 10 sessions)"
        out=$(load append "$HOST:$DV_PORT" "$USER_NAME" "$PASS" --mailbox "$name" --sessions 10 \
            --messages "$count" --size "$SIZE" --first "$first" 2>>"$LOGS/load.log") ||
            die "Dovecot fill of $name failed (see load.log)"
    fi
    log "  $out"
}
# warm NAME COUNT: one untimed SELECT + FETCH per server (Dovecot indexes a fresh maildir).
warm() {
    local t
    for t in "${TARGETS[@]}"; do
        load fetch "$HOST:${PORT[$t]}" "$USER_NAME" "$PASS" --mailbox "$1" --expect "$2" \
            >>"$LOGS/warm.log" 2>>"$LOGS/load.log" || die "warm-up of $1 on $t failed"
    done
}

# ---------------------------------------------------------------- 3. SEARCH TEXT
if ! over_budget; then
    fill search "$SEARCH_N" 1000000
    warm search "$SEARCH_N"
    LOADS+=("search: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell search "$r" -- search --mailbox search --expect "$((SEARCH_N / 100))"
    done
    summarize search elapsed
fi

# ---------------------------------------------------------------- 2. SELECT + UID FETCH 1:* (FLAGS)
if ! over_budget; then
    fill big "$BIG" 2000000
    warm big "$BIG"
    LOADS+=("fetch: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell fetch "$r" -- fetch --mailbox big --expect "$BIG"
    done
    summarize fetch elapsed
fi

# ---------------------------------------------------------------- 4. mixed
if ! over_budget; then
    for t in "${TARGETS[@]}"; do
        log "filling mix0..mix$((CLIENTS - 1)) with $MIXED_MSGS messages each on $t"
        load append "$HOST:${PORT[$t]}" "$USER_NAME" "$PASS" --mailbox mix --spread "$CLIENTS" \
            --sessions 10 --messages $((CLIENTS * MIXED_MSGS)) --size "$SIZE" --first 3000000 \
            >>"$LOGS/fill.log" 2>>"$LOGS/load.log" || die "mixed fill on $t failed"
    done
    LOADS+=("mixed: $(loadavg)")
    for ((r = 1; r <= REPS; r++)); do
        run_cell mixed "$r" -- mixed --prefix mix --clients "$CLIENTS" --seconds "$MIXED_SECONDS" --size "$SIZE"
    done
    summarize mixed rate
    # Latency of the run with the median rate (closest, for an even REPS), so the three
    # figures come from one run.
    for t in "${TARGETS[@]}"; do
        best=""
        for ((r = 1; r <= REPS; r++)); do
            line=${R[mixed/$t/$r]:--}
            [ "$line" = - ] && continue
            d=$(python3 -c "print(abs($(field rate "$line") - ${R[mixed/$t]}))")
            if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $d < $best else 1)"; then
                best=$d
                R[mixed/$t/line]=$line
                R[mixed/$t/ops]=$(sed -n 's/^op name=\([^ ]*\) count=\([0-9]*\) p50_ms=\([^ ]*\) p99_ms=\(.*\)/\1 \2 (\3 \/ \4)/p' "$LOGS/mixed-$t-$r.out" | paste -sd ';' | sed 's/;/; /g')
            fi
        done
    done
fi

YB_END_MEM=$(python3 "$ROOT/bench/delivery/procmem.py" --self "$YB_MAIN_PID")

# ---------------------------------------------------------------- report
ratio() { # higher-is-better a b
    [ "$1" != - ] && [ "$2" != - ] && [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$1 / $2:.2f}x')" || echo -
}
inv_ratio() { # lower-is-better a b (time): b / a
    [ "$1" != - ] && [ "$2" != - ] && [ -n "$1" ] && [ -n "$2" ] && python3 -c "print(f'{$2 / $1:.2f}x')" || echo -
}
ms() { [ "$1" = - ] && echo - || python3 -c "print(f'{$1 * 1000:.0f}')"; }
cpu_of() { # cell server -> "client/server CPU s" of the median-ish first rep
    local line=${R[$1/$2/1]:--}
    [ "$line" = - ] && { echo -; return; }
    echo "$(field client_cpu "$line") / $(field server_cpu "$line")"
}
{
    echo "# IMAP benchmark, $STAMP"
    echo
    echo "Command: \`$(printf '%q ' env YUBIN_BIN="$YUBIN_BIN" MESSAGES="$MESSAGES" MESSAGES_SERIAL="$MESSAGES_SERIAL" SESSIONS="$SESSIONS" SPREAD="$SPREAD" SIZE="$SIZE" REPS="$REPS" BIG="$BIG" SEARCH_N="$SEARCH_N" CLIENTS="$CLIENTS" MIXED_SECONDS="$MIXED_SECONDS" IDLE="$IDLE" IDLE_DOVECOT="$IDLE_DOVECOT" DOVECOT_FILL="$DOVECOT_FILL" bash bench/imap/run.sh | sed 's/ $//')\`"
    echo
    echo "Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), kernel $(uname -r), work dir on $FSTYPE."
    echo "Load average (1/5/15 min) at the start of each part: $(IFS=';'; echo "${LOADS[*]}")."
    echo "Peer: Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1) (maildir, mail_fsync=optimized, the default); load generator: bench/imap/load (Rust, std only, one thread per session)."
    echo "Messages: ${SIZE}-byte plain-text messages generated by bench/imap/load (byte-identical on both servers); median of $REPS runs, servers alternating."
    echo
    echo "| workload | Yubin | Dovecot | Yubin vs Dovecot (>1: Yubin better) | client / Yubin CPU s (run 1) | client / Dovecot CPU s (run 1) | check |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for n in $SESSIONS; do
        c=append-$n
        echo "| APPEND, $n session(s) into one mailbox, msg/s | ${R[$c/yubin]:--} | ${R[$c/dovecot]:--} | $(ratio "${R[$c/yubin]:--}" "${R[$c/dovecot]:--}") | $(cpu_of $c yubin) | $(cpu_of $c dovecot) | ${NOTE[$c]:-ok} |"
    done
    if [ -n "$SPREAD" ]; then
        c=append-spread
        echo "| APPEND, $SPREAD sessions into $SPREAD mailboxes, msg/s | ${R[$c/yubin]:--} | ${R[$c/dovecot]:--} | $(ratio "${R[$c/yubin]:--}" "${R[$c/dovecot]:--}") | $(cpu_of $c yubin) | $(cpu_of $c dovecot) | ${NOTE[$c]:-ok} |"
    fi
    c=fetch
    echo "| SELECT + UID FETCH 1:* (FLAGS), $BIG msgs, ms | $(ms "${R[$c/yubin]:--}") | $(ms "${R[$c/dovecot]:--}") | $(inv_ratio "${R[$c/yubin]:--}" "${R[$c/dovecot]:--}") | $(cpu_of $c yubin) | $(cpu_of $c dovecot) | ${NOTE[$c]:-ok} |"
    c=search
    echo "| SEARCH TEXT, $SEARCH_N msgs (1 % match), ms | $(ms "${R[$c/yubin]:--}") | $(ms "${R[$c/dovecot]:--}") | $(inv_ratio "${R[$c/yubin]:--}" "${R[$c/dovecot]:--}") | $(cpu_of $c yubin) | $(cpu_of $c dovecot) | ${NOTE[$c]:-ok} |"
    c=mixed
    yl=${R[mixed/yubin/line]:--} dl=${R[mixed/dovecot/line]:--}
    echo "| mixed, $CLIENTS clients, ${MIXED_SECONDS} s, ops/s | ${R[$c/yubin]:--} | ${R[$c/dovecot]:--} | $(ratio "${R[$c/yubin]:--}" "${R[$c/dovecot]:--}") | $(cpu_of $c yubin) | $(cpu_of $c dovecot) | ${NOTE[$c]:-ok} |"
    [ "$yl" != - ] && [ "$dl" != - ] &&
        echo "| mixed p50 / p99 latency, ms | $(field p50_ms "$yl") / $(field p99_ms "$yl") | $(field p50_ms "$dl") / $(field p99_ms "$dl") | | | | |"
    echo
    echo "All runs (rate in msg/s or ops/s, time in s):"
    echo
    for c in append-${SESSIONS// / append-} append-spread fetch search mixed; do
        for t in "${TARGETS[@]}"; do
            [ -n "${R[$c/$t/all]:-}" ] && echo "- $c $t: ${R[$c/$t/all]}"
        done
    done
    if [ -n "${R[fetch/yubin/1]:-}" ]; then
        echo
        echo "SELECT / FETCH split, run 1: Yubin $(field select "${R[fetch/yubin/1]}") s / $(field fetch "${R[fetch/yubin/1]}") s; Dovecot $(field select "${R[fetch/dovecot/1]:-}") s / $(field fetch "${R[fetch/dovecot/1]:-}") s."
    fi
    if [ "$IDLE" -gt 0 ]; then
        echo
        echo "Memory per idle logged-in connection (LOGIN answered, then silent; no IDLE command):"
        echo
        echo "| server | connections open (failed) | processes before -> after | KiB/conn (RSS delta) | KiB/conn (PSS delta) | login time, s |"
        echo "|---|---:|---:|---:|---:|---:|"
        echo "| Yubin (one process, fresh instance) | ${R[mem/yubin/open]:-0} (${R[mem/yubin/failed]:--}) | ${R[mem/yubin/procs]:--} | ${R[mem/yubin/rss]:--} | ${R[mem/yubin/pss]:--} | ${R[mem/yubin/login_s]:--} |"
        [ "$IDLE_DOVECOT" -gt 0 ] &&
            echo "| Dovecot (process per connection; PSS summed over the master's tree) | ${R[mem/dovecot/open]:-0} (${R[mem/dovecot/failed]:--}) | ${R[mem/dovecot/procs]:--} | ${R[mem/dovecot/rss]:--} | ${R[mem/dovecot/pss]:--} | ${R[mem/dovecot/login_s]:--} |"
    fi
    echo
    echo "Yubin main instance at the end of the run, no connection open: RSS $(( ${YB_END_MEM%% *} / 1024 )) MiB."
    if [ -n "$yl$dl" ]; then
        echo
        echo "Mixed workload per operation (the median-rate run): name count (p50 / p99 ms):"
        echo
        for t in "${TARGETS[@]}"; do
            echo "- $t: ${R[mixed/$t/ops]:--}"
        done
    fi
} >"$OUT"
cat "$OUT"
log "results written to $OUT (whole run: ${SECONDS}s)"
