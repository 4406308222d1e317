#!/usr/bin/env python3
#===- fails_within.py - A command must fail, and in time -------------------===#
#
# fails_within.py SECONDS -- COMMAND...
#
# Runs COMMAND in a session of its own, its stdout and stderr copied to our
# stdout, and waits for it at most SECONDS. Prints, last:
#   "fails_within: exit status S after T s" and exits 0 when COMMAND failed
#   (S != 0) in time;
#   "fails_within: FAIL: ..." and exits 1 when it succeeded, or is still
#   running after SECONDS: then the whole session (mpirun and its ranks) is
#   ended (SIGTERM, SIGKILL 5 s later), so a hang fails the test instead of
#   stalling the suite, and `timeout`'s exit status 124 is not taken for an
#   error exit.
#
#===----------------------------------------------------------------------===#

import os
import signal
import subprocess
import sys
import time


def end_session(p):
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: fails_within.py SECONDS -- COMMAND...")
    limit = float(sys.argv[1])
    start = time.monotonic()
    p = subprocess.Popen(sys.argv[3:], stdout=sys.stdout, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        status = p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        end_session(p)
        print("fails_within: FAIL: still running after %g s: %s" % (limit, " ".join(sys.argv[3:])))
        return 1
    sys.stdout.flush()
    elapsed = time.monotonic() - start
    if status == 0:
        print("fails_within: FAIL: exit status 0 after %.1f s: %s" %
              (elapsed, " ".join(sys.argv[3:])))
        return 1
    print("fails_within: exit status %d after %.1f s" % (status, elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
