#!/usr/bin/env python3
"""Print the memory of a process tree: `<rss KiB> <pss KiB> <processes>`.

RSS is VmRSS from /proc/PID/status summed over the tree (it counts shared
pages once per process, so it overstates a multi-process server); PSS is
from /proc/PID/smaps_rollup (shared pages divided among their sharers), the
fair figure to compare a one-process server with a process-per-session one.
With --self only the root process is counted.
"""

import os
import sys


def children(pid: int) -> list[int]:
    out = []
    task_dir = f"/proc/{pid}/task"
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"{task_dir}/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def field_kib(path: str, name: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--self"]
    if len(args) != 1:
        print("usage: procmem.py [--self] PID", file=sys.stderr)
        return 2
    root = int(args[0])
    pids = [root]
    if "--self" not in sys.argv:
        i = 0
        while i < len(pids):
            pids.extend(children(pids[i]))
            i += 1
    rss = sum(field_kib(f"/proc/{p}/status", "VmRSS") for p in pids)
    pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    print(f"{rss} {pss} {len(pids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
