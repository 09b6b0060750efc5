#!/usr/bin/env python3
"""CPU seconds used so far by each given process together with its direct children.

    cpu.py PID [PID...]    prints one number: the sum over the PIDs of utime + stime +
                           cutime + cstime (children already waited for), plus the same for
                           every live process whose parent is one of the PIDs.

For Yubin (one process, threads) this is its own CPU. For Postfix, pass the master: its
services are its children, the ones that exited are in its cutime/cstime and the live ones are
read directly, so the difference of two readings is what the instance used in between.
"""

import os
import sys


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14-17.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def main():
    roots = {int(p) for p in sys.argv[1:]}
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = stat(entry)
        if st and (int(entry) in roots or st[0] in roots):
            ticks += st[1]
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.2f}")


if __name__ == "__main__":
    main()
