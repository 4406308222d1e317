#===- tp_runs.py - Runs of tfc-run that the tensor-parallel checks share -----===#
#
# One process and N ranks of the same run (tp_check.py, tp_memory.py,
# tp_memory_moe.py), and what `tfc-run --memory` reports of the weight file:
#   run(cmd, what, tool)        a command's stdout, or the tool exits naming it
#   mpirun(prefix, ranks)       the %mpirun substitution (without the rank
#                               count) and the count, as a command prefix
#   resident_runs(...)          the weight file out of the page cache, then a run,
#                               and the resident bytes of the file each rank reports
#   fault_around_windows(...)   the bytes of a file that faults on the given byte
#                               ranges can map: the bound of a rank's resident pages
#
#===----------------------------------------------------------------------===#

import os
import re
import shlex
import subprocess
import sys

PAGE = 4096
# The kernel's default fault_around_bytes (mm/memory.c): a page fault on a file
# mapping also maps the pages of the page cache in the aligned window of this
# size around the faulting page. The actual value is in debugfs when mounted.
DEFAULT_FAULT_AROUND = 64 * 1024


def run(cmd, what, tool, capture_stderr=False):
    """Runs `cmd`; its stdout (and stderr with capture_stderr), or exits the tool
    with `what` and the command when it fails."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=300)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        sys.exit("%s: %s failed (exit %d): %s" % (tool, what, p.returncode, " ".join(cmd)))
    return (p.stdout, p.stderr) if capture_stderr else p.stdout


def mpirun(prefix, ranks):
    """%mpirun (given without its rank count) for `ranks` ranks, as a list."""
    return shlex.split(prefix) + [str(ranks)]


def drop_from_page_cache(path):
    """Writes `path` out and evicts it from the page cache, so that a run reads
    it afresh: the kernel maps whole page-cache folios (large ones for a file
    just written) at a fault, so a rank reading its rows of a cached file could
    map a neighbour's rows with them; read afresh, a rank's faults bring in its
    own pages."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident(stderr):
    """The resident bytes of the weight file that each `tfc-run --memory`
    process (each rank) reported."""
    return [int(k) * 1024 for k in
            re.findall(r"resident: (\d+) KiB of the weights file", stderr)]


def resident_runs(prefix, so, args, weights, tool):
    """Runs `prefix tfc-run so args --memory` on the weight file `weights`,
    read afresh; the resident bytes of the file per process."""
    drop_from_page_cache(weights)
    _, err = run(prefix + ["tfc-run", so] + args + ["--memory"], " ".join(prefix + [so]), tool,
                 capture_stderr=True)
    return resident(err)


def fault_around_bytes():
    """The kernel's fault-around window, from debugfs when it is readable."""
    try:
        with open("/sys/kernel/debug/fault_around_bytes") as f:
            return max(PAGE, int(f.read()))
    except (OSError, ValueError):
        return DEFAULT_FAULT_AROUND


def fault_around_windows(ranges, file_size, window=None):
    """Bytes of a file of `file_size` bytes that a process touching the byte
    ranges `ranges` ([begin, end) pairs) can have resident in its mapping: its
    pages, and for each the pages a fault on it maps besides (when cached): the
    fault-around window holding it, aligned in the address space, where the
    mapping's start need not be aligned, so anything within window - PAGE bytes
    of a touched page. Overlaps counted once."""
    window = window or fault_around_bytes()
    reach = window - PAGE
    spans = sorted((max(0, b // PAGE * PAGE - reach), min(file_size, -(-e // PAGE) * PAGE + reach))
                   for b, e in ranges if e > b)
    total, current = 0, None
    for b, e in spans:
        if current and b <= current[1]:
            current[1] = max(current[1], e)
            continue
        if current:
            total += current[1] - current[0]
        current = [b, e]
    if current:
        total += current[1] - current[0]
    return total
