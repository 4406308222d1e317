#!/usr/bin/env python3
#===- tp_memory.py - What a rank of a tensor-parallel Llama holds ----------===#
#
# tp_memory.py SINGLE.so TP.so RANKS --work DIR --mpirun "%mpirun"
#
# Runs llama_mem (Inputs/llama_mem.tdsl) from one safetensors file in one process
# and over RANKS ranks with tfc-run --memory, and checks the resident pages of the
# weight file's mapping after the run (smaps Rss, per rank):
#   * one process: the whole file but the embedding rows never looked up;
#   * each rank: at least its in-place shards (the rows of q/k/v_proj, gate/up_proj
#     and lm_head, 1/RANKS of each); with its copies of o_proj and down_proj (cut
#     along columns, copied at load, 1/RANKS of each; the file pages the copy read
#     leave the resident set) at most 1/RANKS of the model plus the norms (the
#     embedding is split over the vocabulary, 1/RANKS of its rows per rank: the
#     rows a rank touches are among them), give or take 64 KiB per tensor (the kernel maps the page cache's
#     folios around each fault, and reads the file in such folios).
# So a rank's weights are 1/RANKS of the model plus what is replicated.
#
#===----------------------------------------------------------------------===#

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "Numeric", "lib"))
import reference as R  # noqa: E402
from tp_check import TP_MODELS  # noqa: E402
from tp_runs import PAGE, mpirun, resident_runs  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("single")
    ap.add_argument("tp")
    ap.add_argument("ranks", type=int)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mpirun", required=True)
    args = ap.parse_args()

    family, cfg = TP_MODELS["llama_mem"]
    os.makedirs(args.work, exist_ok=True)
    W = R.manifest(family, cfg, seed=0)
    path = os.path.join(args.work, "llama_mem.safetensors")
    R.save_safetensors(path, W.used)
    tokens = [5, 900, 17, 333]
    cmd = ["--weights", path, "--tokens", ",".join(map(str, tokens)), "-n", "2"]
    # Each run reads the file afresh (tp_runs.py drop_from_page_cache says why).
    single = resident_runs([], args.single, cmd, path, "tp_memory")
    ranks = resident_runs(mpirun(args.mpirun, args.ranks), args.tp, cmd, path, "tp_memory")

    nbytes = {k: v.size * 4 for k, v in W.used.items()}
    total = sum(nbytes.values())
    row = cfg["dim"] * 4
    looked_up = len(set(tokens + [0])) * row  # generated ids are unknown: bound below
    split_rows = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "lm_head")
    copied = ("o_proj", "down_proj")
    in_place = sum(n // args.ranks for k, n in nbytes.items() if any(s in k for s in split_rows))
    norms = sum(n for k, n in nbytes.items() if "norm" in k)
    n_tensors = len(nbytes)
    copies = sum(n // args.ranks for k, n in nbytes.items() if any(s in k for s in copied))

    failures = []
    if len(single) != 1 or len(ranks) != args.ranks:
        sys.exit("tp_memory: expected 1 and %d memory reports, got %s and %s" %
                 (args.ranks, single, ranks))
    embedding = nbytes["model.embed_tokens.weight"]
    if not (total - embedding <= single[0] <= total):
        failures.append("one process: %d bytes of the file resident, expected %d to %d" %
                        (single[0], total - embedding, total))
    # At least its shards (they are mapped at load); at most 1/N of the model plus
    # what every rank keeps whole (the norms; the embedding is vocabulary-split),
    # with a page-cache folio's worth of slack at each tensor's ends (the kernel
    # maps around faults).
    low = in_place
    replicated = norms
    high = total // args.ranks + replicated + 16 * PAGE * n_tensors
    for r, got in enumerate(ranks):
        if not (low <= got and got + copies <= high):
            failures.append("rank %d: %d bytes of the file resident + %d copied, expected "
                            "%d to %d" % (r, got, copies, low, high))
    print("llama_mem: file %d KiB; one process holds %d KiB of it; each of %d ranks %s KiB "
          "in place + %d KiB copied at load = %.2f of the model" %
          (total // 1024, single[0] // 1024, args.ranks, [g // 1024 for g in ranks],
           copies // 1024, (max(ranks) + copies) / total))
    for f in failures:
        print("tp_memory: FAIL: %s" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
