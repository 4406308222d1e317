#!/usr/bin/env python3
#===- tp_memory_moe.py - What a rank of a tensor-parallel Mixtral holds ----===#
#
# tp_memory_moe.py CHECKPOINT SINGLE.so TP.so RANKS --work DIR --mpirun "%mpirun"
#
# CHECKPOINT is a Mixtral checkpoint directory (test/Numeric/lib/hf_checkpoint.py)
# whose experts make up most of the weights. Runs it from its model.safetensors in
# one process and over RANKS ranks with tfc-run --memory, and checks the resident
# pages of the weight file's mapping after the run (smaps Rss, per rank) against
# the byte ranges of the file each rank may touch, worked out here from the
# safetensors header and the split (TensorParallel.cpp), independently of the
# runtime:
#   * its experts, whole: experts [r * El, (r + 1) * El) of every layer,
#     El = ceil(E / RANKS) (none of another rank's);
#   * its rows of q/k/v_proj (heads), of the embedding and of lm_head (the
#     vocabulary, ceil(V / RANKS) rows per rank);
#   * o_proj whole (a rank copies its columns at load: it reads every row, and
#     the pages it read leave the resident set);
#   * the replicated tensors whole: the norms and the router;
#   * the file's header.
# Each range widened by what a fault on its pages can map besides them, the
# kernel's fault-around window less a page on both sides (tp_runs.py
# fault_around_windows; 60 KiB with the default 64 KiB window), overlaps merged.
# A rank's resident bytes must lie between the rows of q_proj it holds (touched
# by every step) and the total of its ranges; the figure printed is that total
# over the file: 1/RANKS of the model plus what is replicated.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import re
import struct
import sys

from tp_runs import fault_around_bytes, fault_around_windows, mpirun, resident_runs

TOKENS = [3, 17, 42, 8, 96, 1, 55, 12, 33, 70, 21, 5, 64, 80, 9, 44]


def header(path):
    """{name: (begin, end, shape)} with file offsets, and the header's size."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    return {k: (8 + n + v["data_offsets"][0], 8 + n + v["data_offsets"][1], v["shape"])
            for k, v in h.items() if k != "__metadata__"}, 8 + n


def rows(tensor, first, count):
    """The bytes of rows [first, first + count) of a row-major f32 tensor."""
    begin, end, shape = tensor
    row = (end - begin) // shape[0]
    first = min(first, shape[0])
    last = min(first + count, shape[0])
    return (begin + first * row, begin + last * row)


def rank_ranges(tensors, cfg, rank, ranks):
    """The byte ranges rank `rank` of `ranks` may touch (see the file comment)."""
    experts = cfg["num_local_experts"]
    held = -(-experts // ranks)
    vocab_rows = -(-cfg["vocab_size"] // ranks)
    out = []
    for name, t in tensors.items():
        expert = re.search(r"\.experts\.(\d+)\.", name)
        if expert:
            if rank * held <= int(expert.group(1)) < (rank + 1) * held:
                out.append(t[:2])
        elif re.search(r"(q|k|v)_proj", name):
            part = t[2][0] // ranks
            out.append(rows(t, rank * part, part))
        elif name in ("model.embed_tokens.weight", "lm_head.weight"):
            out.append(rows(t, rank * vocab_rows, vocab_rows))
        else:  # o_proj (read through at load), norms and routers
            out.append(t[:2])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("single")
    ap.add_argument("tp")
    ap.add_argument("ranks", type=int)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mpirun", required=True)
    args = ap.parse_args()

    path = os.path.join(args.checkpoint, "model.safetensors")
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        cfg = json.load(f)
    tensors, header_bytes = header(path)
    file_size = os.path.getsize(path)
    cmd = ["--weights", path, "--tokens", ",".join(map(str, TOKENS)), "-n", "2"]
    single = resident_runs([], args.single, cmd, path, "tp_memory_moe")
    got = resident_runs(mpirun(args.mpirun, args.ranks), args.tp, cmd, path, "tp_memory_moe")
    if len(single) != 1 or len(got) != args.ranks:
        sys.exit("tp_memory_moe: expected 1 and %d memory reports, got %s and %s" %
                 (args.ranks, single, got))

    total = sum(e - b for b, e, _ in tensors.values())
    expert_bytes = sum(e - b for n, (b, e, _) in tensors.items() if ".experts." in n)
    failures = []
    bounds = []
    # The ranks' reports come in any order: compare them sorted with the bounds sorted.
    for r in range(args.ranks):
        ranges = rank_ranges(tensors, cfg, r, args.ranks) + [(0, header_bytes)]
        high = fault_around_windows(ranges, file_size)
        q = [rows(t, r * (t[2][0] // args.ranks), t[2][0] // args.ranks)
             for n, t in tensors.items() if "q_proj" in n]
        low = sum(e - b for b, e in q)
        bounds.append((low, high))
    # The ranks' reports come in any order; their bounds differ by a few rows at most.
    low = min(b[0] for b in bounds)
    high = max(b[1] for b in bounds)
    for g in got:
        if not low <= g <= high:
            failures.append("a rank holds %d bytes of the file, expected %d to %d" %
                            (g, low, high))
    # Without the split a rank would hold the experts the prompt routes to, most
    # of them: one process's figure.
    if single[0] < expert_bytes // 2:
        failures.append("one process holds %d bytes of the file, fewer than half of its "
                        "experts' %d: the measurement sees nothing" % (single[0], expert_bytes))
    print("mixtral: file %d KiB (experts %.0f %%); one process holds %d KiB of it; each of "
          "%d ranks %s KiB = at most %.2f of the file, bound %d KiB = %.2f (1/%d of it plus "
          "the replicated tensors and %d KiB of fault-around at each end of each range)" %
          (total // 1024, 100.0 * expert_bytes / total, single[0] // 1024, args.ranks,
           sorted(g // 1024 for g in got), max(got) / total, high // 1024, high / total,
           args.ranks, (fault_around_bytes() - 4096) // 1024))
    for f in failures:
        print("tp_memory_moe: FAIL: %s" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
