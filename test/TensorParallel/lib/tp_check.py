#!/usr/bin/env python3
#===- tp_check.py - A tensor-parallel model against one process and numpy --===#
#
# tp_check.py MODEL SINGLE.so TP.so RANKS --work DIR [--tokens 1,2,3] [-n N]
#
# Writes MODEL's seeded random weights (test/Numeric/lib/reference.py, the same
# float64 reference the numeric tests use) as one safetensors file, then runs
# greedy generation with tfc-run --dump-logits twice: SINGLE.so in one process
# and TP.so (compiled with --tensor-parallel=RANKS) under %mpirun with RANKS
# ranks of one thread each. Checks that
#   * both print the same tokens (prompt, then the generated ones),
#   * every step's logits (the prompt's last token, then each decode step) agree
#     within 1e-5 relative (max |difference| / max |logit| of the step),
#   * both agree with the numpy reference within 1e-4 relative (check.py's
#     tolerance) at every step, the reference run on the generated sequence.
# With --random-weights SEED both runs take the runtime's seeded random weights
# (tfc_model_random: each rank its part of the one process's) instead of the
# file, and only the first two checks apply (numpy does not know those weights);
# --no-numpy drops the third alone (a model compiled with a quantized
# --weight-type, which numpy's float64 model does not round alike); --weights
# FILE runs both on FILE (a Hugging Face checkpoint's, say) instead of MODEL's
# reference weights, without numpy too.
# Exit status 0 when everything holds, 1 otherwise, each failure named.
#
#===----------------------------------------------------------------------===#

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Numeric", "lib"))
import reference as R  # noqa: E402
from check import MODELS  # noqa: E402
import tp_runs  # noqa: E402

# Models of these tests beside check.py's: a Llama whose vocabulary and K/V
# heads divide by 2 and 4 (the output head and K/V heads split, not replicated).
TP_MODELS = {
    "llama_tp": ("llama", dict(MODELS["llama_small"][1], vocab=96, kv_heads=4, ffn=128)),
    "llama_mem": ("llama", dict(MODELS["llama_small"][1], vocab=1024, dim=256, head_dim=32,
                                kv_heads=4, ffn=1024)),
    # The vocabulary-parallel embedding (96 rows): GPT-2's head tied to it, BERT's encoder.
    "gpt2_tp": ("gpt2", dict(MODELS["gpt2_small"][1], vocab=96)),
    "bert_tp": ("bert", dict(MODELS["bert_small"][1], vocab=96)),
    # The DeepSeek-V2-like mixture of experts of test/Numeric (no numpy model:
    # --random-weights only).
    "moe_small": ("moe", dict(vocab=97, dim=64)),
    # Checkpoints of test/Numeric/lib/hf_checkpoint.py (with --weights only).
    "deepseek-v2": ("moe", dict(vocab=97, dim=64)),
    "mixtral": ("moe", dict(vocab=97, dim=64)),
    "llama": ("llama", dict(vocab=97, dim=64)),
}

TP_TOL = 1e-5
REF_TOL = 1e-4


def run(cmd, what):
    return tp_runs.run(cmd, what, "tp_check")


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("single")
    ap.add_argument("tp")
    ap.add_argument("ranks", type=int)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mpirun", required=True, help="%%mpirun, without the rank count")
    ap.add_argument("--tokens", default="3,17,42,8,96,1,55")
    ap.add_argument("-n", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-weights", type=int, default=None, metavar="SEED")
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--weights", default=None, metavar="FILE")
    args = ap.parse_args()

    family, cfg = {**MODELS, **TP_MODELS}[args.model]
    os.makedirs(args.work, exist_ok=True)
    tokens = [int(t) % cfg["vocab"] for t in args.tokens.split(",")]
    if args.weights:
        args.no_numpy = True
        common = ["--weights", args.weights]
    elif args.random_weights is None:
        W = R.manifest(family, cfg, seed=args.seed)
        weights = os.path.join(args.work, "%s.safetensors" % args.model)
        R.save_safetensors(weights, W.used)
        common = ["--weights", weights]
    else:
        common = ["--random-weights", str(args.random_weights)]
    common += ["--tokens", ",".join(map(str, tokens)), "-n", str(args.n)]
    enc_tokens = None
    if family in R.ENCODER_DECODER:
        enc_tokens = [5, 60, 2, 33, 90]
        common += ["--encoder-tokens", ",".join(map(str, enc_tokens))]

    single_bin = os.path.join(args.work, "single.bin")
    tp_bin = os.path.join(args.work, "tp%d.bin" % args.ranks)
    single_out = run(["tfc-run", args.single] + common + ["--dump-logits", single_bin],
                     "the single-process run")
    tp_out = run(tp_runs.mpirun(args.mpirun, args.ranks) + ["tfc-run", args.tp] + common +
                 ["--dump-logits", tp_bin], "the %d-rank run" % args.ranks)

    failures = []
    if family in R.ENCODER_ONLY:
        single_out = tp_out = ""  # hidden states, compared below
    if single_out.split() != tp_out.split():
        failures.append("tokens differ: one process %s, %d ranks %s" %
                        (single_out.split(), args.ranks, tp_out.split()))
    encoder = family in R.ENCODER_ONLY  # the dump holds hidden states, dim per token
    width = cfg["dim"] if encoder else cfg["vocab"]
    single = np.fromfile(single_bin, "<f4").reshape(-1, width)
    tp = np.fromfile(tp_bin, "<f4").reshape(-1, width)
    if single.shape != tp.shape or single.shape[0] == 0:
        failures.append("logit dumps differ in shape: %s and %s" % (single.shape, tp.shape))
    elif args.random_weights is not None or args.no_numpy:
        worst_tp = max(rel(tp[step], single[step]) for step in range(single.shape[0]))
        if worst_tp > TP_TOL:
            failures.append("%d ranks vs one process: relative error %.3g > %g" %
                            (args.ranks, worst_tp, TP_TOL))
        print("%s: %d ranks, %d steps, %s: tokens equal: %s; max relative error "
              "vs one process %.3g" % (args.model, args.ranks, single.shape[0],
                                       "no numpy" if args.random_weights is None else
                                       "random weights",
                                       single_out.split() == tp_out.split(), worst_tp))
    else:
        if encoder:
            want = R.forward(family, cfg, W.used, tokens)
        else:
            seq = [int(t) for t in single_out.split()]
            want = R.forward(family, cfg, W.used, seq, enc_tokens)[len(tokens) - 1:]
        worst_tp = worst_ref = 0.0
        for step in range(single.shape[0]):
            e = rel(tp[step], single[step])
            r = rel(tp[step], want[step])
            worst_tp, worst_ref = max(worst_tp, e), max(worst_ref, r)
            if e > TP_TOL:
                failures.append("step %d: %d ranks vs one process: relative error %.3g > %g" %
                                (step, args.ranks, e, TP_TOL))
            if r > REF_TOL:
                failures.append("step %d: %d ranks vs numpy: relative error %.3g > %g" %
                                (step, args.ranks, r, REF_TOL))
        print("%s: %d ranks, %d steps: tokens equal: %s; max relative error vs one process "
              "%.3g, vs numpy %.3g" % (args.model, args.ranks, single.shape[0],
                                       single_out.split() == tp_out.split(), worst_tp,
                                       worst_ref))
    for f in failures:
        print("tp_check: FAIL: %s" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
