#!/usr/bin/env python3
"""Open N idle SMTP sessions to HOST:PORT and hold them open.

Each session reads the 220 greeting, sends EHLO and reads the whole 250
reply, then stays idle. Once every session is established (or the deadline
passes) the script prints `open <count>` on stdout and waits until a line
arrives on stdin (or stdin closes), then sends QUIT on every session and
exits. The caller measures the server's memory while the sessions are held.

Loopback only: the host must be 127.0.0.1 / ::1 / localhost.
"""

import selectors
import socket
import sys
import time


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: idle_sessions.py HOST PORT COUNT", file=sys.stderr)
        return 2
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if host not in ("127.0.0.1", "::1", "localhost"):
        print("refusing a non-loopback target", file=sys.stderr)
        return 2

    deadline = time.monotonic() + 120.0
    sel = selectors.DefaultSelector()
    # state per socket: [phase, buffer]; phase 0 = waiting greeting,
    # 1 = waiting EHLO reply, 2 = established.
    state = {}
    failed = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex((host, port))
        except OSError:
            failed += 1
            s.close()
            continue
        state[s] = [0, b""]
        sel.register(s, selectors.EVENT_READ)
        # Pace the connects a little so a listen backlog is not overrun.
        if len(state) % 100 == 0:
            time.sleep(0.05)

    established = 0
    while established + failed < count and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            st = state[s]
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                del state[s]
                failed += 1
                continue
            st[1] += data
            # A reply is complete when its last line has a space after the code.
            lines = st[1].split(b"\r\n")
            complete = len(lines) > 1 and any(
                len(line) >= 4 and line[3:4] == b" " for line in lines[:-1]
            )
            if not complete:
                continue
            st[1] = b""
            if st[0] == 0:
                if not lines[0].startswith(b"220"):
                    failed += 1
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
                s.sendall(b"EHLO idle.bench.test\r\n")
                st[0] = 1
            elif st[0] == 1:
                st[0] = 2
                established += 1
                sel.unregister(s)

    print(f"open {established}", flush=True)
    sys.stdin.readline()
    for s in list(state):
        try:
            s.setblocking(True)
            s.settimeout(1.0)
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
