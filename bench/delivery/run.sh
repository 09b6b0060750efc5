#!/usr/bin/env bash
# Delivery throughput benchmark: Yubin vs Postfix (SMTP) and Dovecot (LMTP).
#
# One command, as root, loopback only, bounded (< 10 min with the defaults):
#     bash bench/delivery/run.sh
# See bench/delivery/README.md for what is measured and how to read it.
#
# Environment (all optional):
#   YUBIN_BIN   yubin binary            (default /var/tmp/yubin-target/release/yubin)
#   MESSAGES    messages per run        (default 1000)
#   MESSAGES_SERIAL  messages per run with 1 session (default 300: at
#               fsync-bound ~50 msg/s a 1000-message serial run takes 20 s)
#   SESSIONS    concurrent sessions     (default "1 10 50")
#   SIZES       payload bytes           (default "4096 65536")
#   REPS        repetitions per cell    (default 3; the median is reported)
#   IDLE        idle SMTP sessions for the memory test (default 1000; 0 = skip)
#   PEER_IDLE   1 = also hold IDLE idle sessions against Postfix smtpd (default 1)
#   OUT         results file            (default bench/delivery/results-<UTC date>.md)
#   KEEP        1 = keep the work directory (default 0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
YUBIN_BIN=${YUBIN_BIN:-/var/tmp/yubin-target/release/yubin}
MESSAGES=${MESSAGES:-1000}
MESSAGES_SERIAL=${MESSAGES_SERIAL:-300}
SESSIONS=${SESSIONS:-"1 10 50"}
SIZES=${SIZES:-"4096 65536"}
REPS=${REPS:-3}
IDLE=${IDLE:-1000}
PEER_IDLE=${PEER_IDLE:-1}
KEEP=${KEEP:-0}
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-$HERE/results-$STAMP.md}
HOST=127.0.0.1
DOMAIN=example.test
SENDER=loadgen@source.test
# Hard cap for the whole script, so a wedged server cannot hold it forever.
DEADLINE=$((SECONDS + ${MAX_SECONDS:-570}))

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, runs Postfix/Dovecot)"
# 1000+ idle sessions need descriptors; servers inherit this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- packages
need_install=()
[ -x /usr/sbin/smtp-source ] && [ -x /usr/sbin/postfix ] || need_install+=(postfix)
[ -x /usr/sbin/dovecot ] || need_install+=(dovecot-core)
[ -x /usr/lib/dovecot/lmtp ] || need_install+=(dovecot-lmtpd)
command -v python3 >/dev/null || need_install+=(python3)
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing ${need_install[*]}"
    # 'No configuration': the package must not configure or start a system MTA.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string bench.example.test" | debconf-set-selections
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${need_install[@]}" >/dev/null
fi

# ---------------------------------------------------------------- work dir
# /var/tmp, not /tmp: /tmp may be tmpfs, where fsync costs nothing.
WORK=$(mktemp -d /var/tmp/yubin-bench.XXXXXX)
chmod 755 "$WORK"
LOGS=$WORK/logs
mkdir -p "$LOGS"
FSTYPE=$(df --output=fstype "$WORK" | tail -1 | tr -d " ")
[ "$FSTYPE" != tmpfs ] || log "WARNING: $WORK is on tmpfs; fsync is free there"

PIDS_TO_KILL=()
PF_CONF=""
DV_CONFS=()
cleanup() {
    set +e
    [ -n "$PF_CONF" ] && postfix -c "$PF_CONF" stop >/dev/null 2>&1
    for c in "${DV_CONFS[@]}"; do doveadm -c "$c" stop >/dev/null 2>&1; done
    for p in "${PIDS_TO_KILL[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${PIDS_TO_KILL[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

source "$HERE/../lib.sh"

# Every measured run delivers to its own fresh recipient, so each server starts
# each run with an empty mailbox (a growing maildir or index would otherwise
# make later runs slower than earlier ones for reasons unrelated to the load).
RCPTS=()
for size in $SIZES; do for n in $SESSIONS; do for ((r = 1; r <= REPS; r++)); do
    for proto in smtp lmtp; do RCPTS+=("b-$proto-$n-$size-$r@$DOMAIN"); done
done; done; done

# ---------------------------------------------------------------- Dovecot
# Two private Dovecot instances (not the system one), identical but for
# mail_fsync: `optimized` (Debian's default: the mail file, its maildir
# directory and dovecot-uidlist are fsynced before the LMTP reply) and
# `always` (every index write is fsynced as well).
# Mail is stored as a dedicated unprivileged user, as Dovecot requires.
id yubinbench >/dev/null 2>&1 ||
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin yubinbench
MAIL_UID=$(id -u yubinbench)
MAIL_GID=$(id -g yubinbench)
declare -A PORT MAILROOT
start_dovecot() { # name fsync_mode
    local name=$1 mode=$2 dir=$WORK/$1 port conf a
    mkdir -p "$dir/run" "$dir/state" "$dir/mail"
    chown yubinbench: "$dir/mail"
    port=$(free_port)
    : >"$dir/users"
    for a in "${RCPTS[@]}"; do
        echo "$a::$MAIL_UID:$MAIL_GID::$dir/mail/$a::" >>"$dir/users"
    done
    conf=$dir/dovecot.conf
    cat >"$conf" <<EOF
# Private Dovecot instance for the delivery benchmark.
base_dir = $dir/run
state_dir = $dir/state
instance_name = yubin-bench-$name
log_path = $LOGS/$name.log
protocols = lmtp
listen = $HOST
ssl = no
mail_location = maildir:~/Maildir
mail_fsync = $mode
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
service lmtp {
  inet_listener lmtp {
    address = $HOST
    port = $port
  }
}
EOF
    log "starting Dovecot $name (mail_fsync = $mode, lmtp $HOST:$port)"
    dovecot -c "$conf" || die "dovecot did not start (see $LOGS/$name.log)"
    DV_CONFS+=("$conf")
    wait_port "$port" 15 || die "dovecot lmtp port did not open"
    [ "$(doveconf -c "$conf" -h mail_fsync)" = "$mode" ] || die "dovecot mail_fsync is not $mode"
    PORT[$name]=$port
    MAILROOT[$name]=$dir/mail
}
start_dovecot dovecot-optimized optimized
start_dovecot dovecot-always always

# ---------------------------------------------------------------- Postfix
# A private Postfix instance (own config, queue and data directories) whose
# smtpd is an MX for example.test; mail is queued (cleanup fsyncs the queue
# file before smtpd answers 250) and then handed to the discard transport.
PF=$WORK/postfix
PF_CONF=$PF/etc
mkdir -p "$PF_CONF" "$PF/queue" "$PF/data"
chmod 755 "$PF" "$PF_CONF"
chown postfix: "$PF/data"
cp /usr/share/postfix/master.cf.dist "$PF_CONF/master.cf"
: >"$PF_CONF/main.cf"
PF_PORT=$(free_port)
postconf -c "$PF_CONF" -e \
    "compatibility_level = 3.6" \
    "queue_directory = $PF/queue" \
    "data_directory = $PF/data" \
    "multi_instance_name = postfix-bench" \
    "syslog_name = postfix-bench" \
    "maillog_file = $LOGS/postfix.log" \
    "maillog_file_prefixes = /var, /tmp, $WORK" \
    "myhostname = peer.bench.test" \
    "mydomain = bench.test" \
    "mydestination =" \
    "inet_interfaces = $HOST" \
    "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" \
    "relay_domains = $DOMAIN" \
    "transport_maps = inline:{$DOMAIN=discard:}" \
    "alias_maps =" "alias_database =" "local_recipient_maps =" \
    "biff = no" "append_dot_mydomain = no" "smtputf8_enable = no" \
    "smtpd_client_connection_count_limit = 0" \
    "default_process_limit = $((IDLE > 100 ? IDLE + 100 : 200))"
postconf -c "$PF_CONF" -M# smtp/inet
postconf -c "$PF_CONF" -M "$HOST:$PF_PORT/inet = $HOST:$PF_PORT inet n - n - - smtpd"
postconf -c "$PF_CONF" -F '*/*/chroot = n'
log "starting Postfix (smtpd $HOST:$PF_PORT)"
# postfix reports fatal errors only to syslog/a tty; the log file has the rest.
postfix -c "$PF_CONF" check || die "postfix check failed (run: script -qc 'postfix -c $PF_CONF check')"
postfix -c "$PF_CONF" start >/dev/null 2>&1 || die "postfix did not start (see $LOGS/postfix.log)"
wait_port "$PF_PORT" 15 || die "postfix smtpd port did not open"
PF_MASTER=$(head -1 "$PF/queue/pid/master.pid" | tr -d ' ')

# ---------------------------------------------------------------- Yubin
YUBIN_OK=0
YUBIN_NOTE=""
YB=$WORK/yubin
mkdir -p "$YB/data"
YB_PID=""
if [ ! -x "$YUBIN_BIN" ]; then
    YUBIN_NOTE="no binary at $YUBIN_BIN"
else
    cat >"$YB/yubin.toml" <<EOF
[server]
hostname = "mx.bench.test"
data_dir = "$YB/data"
[smtp]
listen = ["$HOST:0"]
# smtp-source reuses each session for MESSAGES/SESSIONS transactions; the
# default per-session command cap (a defence against idle abusers) would end
# long benchmark sessions. Postfix and Dovecot have no such cap.
max_commands = 100000000
[lmtp]
listen = ["$HOST:0"]
EOF
    log "starting Yubin ($YUBIN_BIN)"
    "$YUBIN_BIN" serve --config "$YB/yubin.toml" >"$YB/stdout" 2>"$LOGS/yubin.log" &
    YB_PID=$!
    PIDS_TO_KILL+=("$YB_PID")
    for ((i = 0; i < 300; i++)); do
        grep -q '^yubin: ready' "$YB/stdout" 2>/dev/null && break
        kill -0 "$YB_PID" 2>/dev/null || break
        sleep 0.1
    done
    YB_SMTP=$(sed -n 's/^yubin: listening smtp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$YB/stdout" | head -1)
    YB_LMTP=$(sed -n 's/^yubin: listening lmtp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$YB/stdout" | head -1)
    if ! grep -q '^yubin: ready' "$YB/stdout" || [ -z "$YB_SMTP" ] || [ -z "$YB_LMTP" ]; then
        YUBIN_NOTE="yubin serve did not report ready with smtp+lmtp listeners within 30 s"
        kill -0 "$YB_PID" 2>/dev/null || YUBIN_NOTE="yubin serve exited without reporting ready (stdout: $(head -c 200 "$YB/stdout" | tr '\n' ' '))"
        kill "$YB_PID" 2>/dev/null || true
    else
        yadmin() { "$YUBIN_BIN" admin --data "$YB/data" "$@"; }
        if yadmin domain add "$DOMAIN" >>"$LOGS/yubin-admin.log" 2>&1; then
            YUBIN_OK=1
            for a in "${RCPTS[@]}"; do
                yadmin account add "$a" --password x >>"$LOGS/yubin-admin.log" 2>&1 ||
                    { YUBIN_OK=0; YUBIN_NOTE="admin account add $a failed"; break; }
            done
        else
            YUBIN_NOTE="admin domain add failed"
        fi
        [ "$YUBIN_OK" = 1 ] && log "Yubin smtp $HOST:$YB_SMTP lmtp $HOST:$YB_LMTP"
    fi
fi
[ "$YUBIN_OK" = 1 ] || log "Yubin not measured: $YUBIN_NOTE"

# ---------------------------------------------------------------- memory
# Runs first, against freshly started servers: after the throughput runs the
# allocator keeps freed buffers resident and would hide the per-session cost.
# Hold IDLE idle sessions (greeting read, EHLO answered) and compare the
# server's memory before and after. Yubin: one process, VmRSS and PSS.
# Postfix: one smtpd process per session; PSS summed over the master's tree.
MEM_YB="-" MEM_YB_PSS="-" MEM_PF="-" MEM_YB_OPEN=0 MEM_PF_OPEN=0
idle_measure() { # port pid [--self] -> "open rss_delta pss_delta" (KiB, totals)
    local port=$1 pid=$2 self=${3:-} before after open fifo holder
    before=$(python3 "$HERE/procmem.py" $self "$pid")
    fifo=$WORK/idle.fifo
    rm -f "$fifo"; mkfifo "$fifo"
    python3 "$HERE/idle_sessions.py" "$HOST" "$port" "$IDLE" <"$fifo" >"$WORK/idle.out" 2>>"$LOGS/idle.log" &
    holder=$!
    exec 7>"$fifo"
    for ((i = 0; i < 1300; i++)); do
        grep -q '^open' "$WORK/idle.out" 2>/dev/null && break
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1 # let the server settle (lazy allocations after EHLO)
    after=$(python3 "$HERE/procmem.py" $self "$pid")
    open=$(awk '/^open/ { print $2 }' "$WORK/idle.out")
    echo >&7; exec 7>&-
    wait "$holder" 2>/dev/null || true
    set -- $before; local rb=$1 pb=$2
    set -- $after
    echo "${open:-0} $(($1 - rb)) $(($2 - pb))"
}
if [ "$IDLE" -gt 0 ] && [ $SECONDS -lt $DEADLINE ]; then
    if [ "$YUBIN_OK" = 1 ]; then
        log "memory: $IDLE idle SMTP sessions to Yubin"
        # A fresh instance that has run no admin command: the benchmark instance hashed
        # passwords (Argon2id allocates ~19 MiB), and glibc keeps that freed memory resident,
        # so new sessions would reuse it and the RSS delta would read ~0.
        mkdir -p "$WORK/yubin-mem"
        printf '[server]\ndata_dir = "%s"\n[smtp]\nlisten = ["%s:0"]\n[lmtp]\nlisten = []\n' \
            "$WORK/yubin-mem/data" "$HOST" >"$WORK/yubin-mem/yubin.toml"
        "$YUBIN_BIN" serve --config "$WORK/yubin-mem/yubin.toml" >"$WORK/yubin-mem/stdout" 2>>"$LOGS/yubin-mem.log" &
        MEM_PID=$!
        PIDS_TO_KILL+=("$MEM_PID")
        for ((i = 0; i < 100; i++)); do
            grep -q '^yubin: ready' "$WORK/yubin-mem/stdout" 2>/dev/null && break
            sleep 0.1
        done
        MEM_PORT=$(sed -n 's/^yubin: listening smtp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/yubin-mem/stdout" | head -1)
        set -- $(idle_measure "$MEM_PORT" "$MEM_PID" --self)
        kill "$MEM_PID" 2>/dev/null || true
        MEM_YB_OPEN=$1
        if [ "$1" -gt 0 ]; then
            MEM_YB=$(python3 -c "print(f'{$2 / $1:.1f}')")
            MEM_YB_PSS=$(python3 -c "print(f'{$3 / $1:.1f}')")
        fi
    fi
    if [ "$PEER_IDLE" = 1 ] && [ $SECONDS -lt $DEADLINE ]; then
        log "memory: $IDLE idle SMTP sessions to Postfix smtpd"
        set -- $(idle_measure "$PF_PORT" "$PF_MASTER")
        MEM_PF_OPEN=$1
        [ "$1" -gt 0 ] && MEM_PF=$(python3 -c "print(f'{$3 / $1:.1f}')")
    fi
fi

# ---------------------------------------------------------------- measuring
# count_stored TARGET RCPT -> number of messages the server holds for RCPT
count_stored() {
    case $1 in
    yubin)
        "$YUBIN_BIN" admin --data "$YB/data" mailbox list "$2" 2>/dev/null |
            awk -F'\t' '$1 == "INBOX" { sub("messages=", "", $2); print $2; found = 1 }
                        END { if (!found) print 0 }'
        ;;
    dovecot-*)
        find "${MAILROOT[$1]}/$2/Maildir/new" "${MAILROOT[$1]}/$2/Maildir/cur" -type f 2>/dev/null | wc -l
        ;;
    postfix)
        # Each accepted message is queued, then handed to discard: count those.
        grep -c "to=<$2>.*status=sent" "$LOGS/postfix.log" 2>/dev/null || true
        ;;
    esac
}

# run_one TARGET PROTO PORT SESSIONS SIZE RCPT -> prints "msgs_per_s|status"
run_one() {
    local target=$1 proto=$2 port=$3 n=$4 size=$5 rcpt=$6
    local lflag=() out elapsed rc stored i
    [ "$proto" = lmtp ] && lflag=(-L)
    out=$(python3 "$HERE/timed.py" "$LOGS/smtp-source.log" \
        timeout 120 smtp-source "${lflag[@]}" -d -s "$n" -m "$MSGS" -l "$size" \
        -f "$SENDER" -t "$rcpt" -M client.bench.test "$HOST:$port")
    elapsed=${out% *}
    rc=${out#* }
    # Postfix logs the discard asynchronously; give the queue a moment to drain.
    stored=0
    for ((i = 0; i < 100; i++)); do
        stored=$(count_stored "$target" "$rcpt")
        [ "$stored" -ge "$MSGS" ] && break
        [ "$target" = postfix ] || break
        sleep 0.2
    done
    if [ "$rc" != 0 ]; then
        echo "-|FAIL: load generator exit $rc, $stored/$MSGS stored"
    elif [ "$stored" != "$MSGS" ]; then
        echo "-|FAIL: $stored/$MSGS stored"
    else
        python3 -c "print(f'{$MSGS / $elapsed:.0f}|ok')"
    fi
}

median() { printf '%s\n' "$@" | grep -v '^-$' | sort -n | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2) }'; }

declare -A RESULT STATUS
PEERS_smtp="postfix"
PEERS_lmtp="dovecot-optimized dovecot-always"
PORT[postfix]=$PF_PORT
PORT[yubin-smtp]=${YB_SMTP:-}
PORT[yubin-lmtp]=${YB_LMTP:-}
for size in $SIZES; do
    for n in $SESSIONS; do
        MSGS=$MESSAGES
        [ "$n" = 1 ] && MSGS=$MESSAGES_SERIAL
        for proto in smtp lmtp; do
            peers_var=PEERS_$proto
            targets=(yubin ${!peers_var})
            [ "$YUBIN_OK" = 1 ] || targets=(${!peers_var})
            declare -A vals=() st=()
            for t in "${targets[@]}"; do vals[$t]=""; st[$t]=ok; done
            for ((r = 1; r <= REPS; r++)); do
                if [ $SECONDS -ge $DEADLINE ]; then
                    log "time budget exhausted: skipping $proto n=$n size=$size rep=$r"
                    for t in "${targets[@]}"; do st[$t]="skipped (time budget)"; done
                    break
                fi
                rcpt="b-$proto-$n-$size-$r@$DOMAIN"
                # Rotate which server goes first, so drift hits all alike.
                k=$(((r - 1) % ${#targets[@]}))
                order=("${targets[@]:k}" "${targets[@]:0:k}")
                for t in "${order[@]}"; do
                    port=${PORT[$t]:-${PORT[$t-$proto]:-}}
                    res=$(run_one "$t" "$proto" "$port" "$n" "$size" "$rcpt")
                    vals[$t]+=" ${res%%|*}"
                    [ "${res#*|}" = ok ] || st[$t]=${res#*|}
                    log "$proto n=$n size=$size rep=$r $t: ${res%%|*} msg/s (${res#*|})"
                done
            done
            for t in "${targets[@]}"; do
                key="$proto/$n/$size/$t"
                if [ "${st[$t]}" = ok ]; then RESULT[$key]=$(median ${vals[$t]}); else RESULT[$key]=-; fi
                STATUS[$key]=${st[$t]}
            done
            if [ "$YUBIN_OK" != 1 ]; then
                RESULT[$proto/$n/$size/yubin]=-
                STATUS[$proto/$n/$size/yubin]="not run"
            fi
            unset vals st
        done
    done
done

# ---------------------------------------------------------------- report
ratio() { [ "$1" != - ] && [ "$2" != - ] && python3 -c "print(f'{$1 / $2:.2f}x')" || echo -; }
human() { [ "$1" -ge 1024 ] && echo "$(($1 / 1024)) KiB" || echo "$1 B"; }
declare -A PEER_NAME=(
    [postfix]="Postfix smtpd"
    [dovecot-optimized]="Dovecot LMTP, mail_fsync=optimized"
    [dovecot-always]="Dovecot LMTP, mail_fsync=always"
)
{
    echo "# Delivery benchmark, $STAMP"
    echo
    echo "Command: \`$(printf '%q ' env YUBIN_BIN="$YUBIN_BIN" MESSAGES="$MESSAGES" MESSAGES_SERIAL="$MESSAGES_SERIAL" SESSIONS="$SESSIONS" SIZES="$SIZES" REPS="$REPS" IDLE="$IDLE" bash bench/delivery/run.sh | sed 's/ $//')\`"
    echo
    echo "Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), kernel $(uname -r), work dir on $FSTYPE."
    echo "Peers: Postfix $(postconf -d -h mail_version 2>/dev/null), Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1); load generator: Postfix smtp-source."
    echo "Yubin: $YUBIN_BIN$( [ "$YUBIN_OK" = 1 ] || echo " — NOT MEASURED: $YUBIN_NOTE")"
    echo
    echo "$MESSAGES messages per run ($MESSAGES_SERIAL with 1 session), sessions kept open (\`smtp-source -d\`), one recipient per message, median of $REPS runs."
    echo "Every acknowledgement counted is durable: Yubin fsyncs before 250; Postfix's cleanup fsyncs the queue file before"
    echo "smtpd's 250; Dovecot fsyncs the mail file and maildir before the LMTP reply (\`optimized\`, Debian's default) and"
    echo "also every index write (\`always\`). Each run delivers to a fresh mailbox and is verified afterwards; a run that"
    echo "lost a message or saw an error reply is FAIL, not a figure."
    echo
    echo "| protocol | sessions | size | Yubin msg/s | peer | peer msg/s | Yubin/peer | check |"
    echo "|---|---:|---:|---:|---|---:|---:|---|"
    for proto in smtp lmtp; do
        peers_var=PEERS_$proto
        for peer in ${!peers_var}; do
            for size in $SIZES; do for n in $SESSIONS; do
                key="$proto/$n/$size"
                y=${RESULT[$key/yubin]} p=${RESULT[$key/$peer]}
                chk="Yubin ${STATUS[$key/yubin]}, peer ${STATUS[$key/$peer]}"
                [ "${STATUS[$key/yubin]}" = ok ] && [ "${STATUS[$key/$peer]}" = ok ] && chk=ok
                echo "| ${proto^^} | $n | $(human "$size") | $y | ${PEER_NAME[$peer]} | $p | $(ratio "$y" "$p") | $chk |"
            done; done
        done
    done
    if [ "$IDLE" -gt 0 ]; then
        echo
        echo "Memory per open idle SMTP session (greeting read, EHLO answered; measured before the load), $IDLE sessions requested:"
        echo
        echo "| server | sessions open | KiB/session (RSS delta) | KiB/session (PSS delta) |"
        echo "|---|---:|---:|---:|"
        [ "$YUBIN_OK" = 1 ] && echo "| Yubin (one process) | $MEM_YB_OPEN | $MEM_YB | $MEM_YB_PSS |"
        [ "$PEER_IDLE" = 1 ] && echo "| Postfix smtpd (process per session; PSS summed over the master's tree) | $MEM_PF_OPEN | - | $MEM_PF |"
    fi
} >"$OUT"
cat "$OUT"
log "results written to $OUT (whole run: ${SECONDS}s)"
