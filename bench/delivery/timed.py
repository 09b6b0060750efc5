#!/usr/bin/env python3
"""Run a command and print `<elapsed seconds> <exit code>` on stdout.

The elapsed time is taken with time.monotonic() (CLOCK_MONOTONIC) around the
child process only, so interpreter start-up is not counted. The child's own
stdout/stderr go to the file named by the first argument.
"""

import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: timed.py LOGFILE CMD [ARGS...]", file=sys.stderr)
        return 2
    with open(sys.argv[1], "ab") as log:
        start = time.monotonic()
        rc = subprocess.call(sys.argv[2:], stdout=log, stderr=log)
        elapsed = time.monotonic() - start
    print(f"{elapsed:.6f} {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
