# Shell helpers every bench/*/run.sh sources (after setting HOST).

# A TCP port that was free a moment ago on 127.0.0.1.
free_port() {
    "${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until $HOST:port accepts connections; fails after timeout_s.
wait_port() { # port timeout_s
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# The 1-, 5- and 15-minute load averages.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
