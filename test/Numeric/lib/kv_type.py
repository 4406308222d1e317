#===- kv_type.py - KV cache types (tfc --kv-type): numpy reference and checks --===#
#
# The reference for --kv-type=bf16|q8_0: the float64 forward pass of
# reference.py with every causal self-attention's keys and values (MLA: its
# latent [c, k_pe]) replaced by what the cache reads back, as the compiled
# model stores them: bf16 rounded to nearest even from the f32 value; Q8_0
# blocks of 32 along the head width as ggml's quantize_row_q8_0_ref
# (quant.py's quantize_q8_0) dequantized. A head width that is not a multiple
# of 32 stays f32 under q8_0, in the compiled model and here.
#
# kv_type.py check MODEL MODEL.so HARNESS --kv-type bf16|q8_0 --work DIR
#                  [--prompt-len N] [--chunks 40,1,..] [--seed S]
#                  [--tol T] [--f32-tol T]
#     MODEL: a reduced model of check.py (llama_small, mla_small, ...) or of
#     this file (llama_k, window_kv32, mla_kv64), seeded random F32 weights, or
#     stories260k with --weights (its model.safetensors).
#     Runs the prompt (in chunks) and compares the logits with
#       "stored": the reference that rounds K/V as the cache stores them:
#                 relative error <= --tol (default 1e-3: f32 arithmetic, and
#                 the rare value whose f32 and float64 computations round to
#                 neighbouring bf16 / int8 steps);
#       "f32":    the plain reference (an f32 cache): relative error <=
#                 --f32-tol, the documented accuracy of the cache type;
#     and requires the model to be closer to "stored" than to "f32" (it
#     really rounded) unless the type falls back to f32 for this model.
#
#===----------------------------------------------------------------------===#

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check as C  # noqa: E402
import quant as Q  # noqa: E402
import reference as R  # noqa: E402

# Models whose cached rows are a multiple of 32 wide (each mirrors Inputs/<name>.tdsl).
MODELS = dict(C.MODELS, llama_k=Q.MODELS["llama_k"],
              window_kv32=("llama", dict(C.MODELS["qwen_window_small"][1], head_dim=32)),
              mla_kv64=("deepseek_mla", dict(C.MODELS["mla_small"][1], kv_rank=56)))


def store_bf16(x):
    return R.round_to_dtype(x, "BF16")


def store_q8_0(x):
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] % Q.BLOCK:
        return x.astype(np.float64)  # the documented fallback: an f32 cache
    return Q.dequantize_q8_0(*Q.quantize_q8_0(x))


STORES = {"bf16": store_bf16, "q8_0": store_q8_0}


def cached_width(family, cfg):
    if family == "deepseek_mla":
        return cfg["kv_rank"] + cfg["rope_dim"]
    return cfg.get("head_dim") or cfg["dim"] // cfg["heads"]


def check(args):
    os.makedirs(args.work, exist_ok=True)
    checker = C.Checker(args.so, args.harness, args.work)
    family, cfg, tensors, wpath, tokens = C.model_and_prompt(
        args.model, args.weights, args.work, MODELS, args.seed, args.prompt_len)
    n = len(tokens)
    cmd = [wpath, "--tokens", ",".join(map(str, tokens))]
    # Encoder-decoders: the decoder's self-attention cache is narrow, the
    # cross-attention caches stay f32.
    enc_tokens = None
    if family in R.ENCODER_DECODER:
        enc_tokens = [int(t) for t in np.random.default_rng(args.seed + 3).integers(0, cfg["vocab"], 9)]
        cmd += ["--encoder-tokens", ",".join(map(str, enc_tokens))]
    if args.chunks:
        cmd += ["--chunks", args.chunks]
    got = checker.output(cmd, "kv %s logits" % args.kv_type, (n, cfg["vocab"]))
    if got is None:
        return 1
    refs = {}
    for label, store in (("stored", STORES[args.kv_type]), ("f32", None)):
        R.KV_STORE = store
        refs[label] = R.forward(family, cfg, R.Weights(tensors=tensors), tokens, enc_tokens)
    R.KV_STORE = None
    errors = {label: C.rel_err(got, want) for label, want in refs.items()}
    for label, want in refs.items():
        same, kl = Q.agreement(got, want)
        print("vs %-6s rel err %.3e  argmax same %.1f %%  mean KL %.2e" %
              (label, errors[label], 100 * same, kl))
    if not errors["stored"] <= args.tol:
        checker.fail("rel err vs the stored-K/V reference %.3e > %g" % (errors["stored"], args.tol))
    if not errors["f32"] <= args.f32_tol:
        checker.fail("rel err vs the f32-cache reference %.3e > %g" % (errors["f32"], args.f32_tol))
    falls_back = args.kv_type == "q8_0" and cached_width(family, cfg) % Q.BLOCK != 0
    if falls_back:
        print("q8_0 falls back to f32 here (cached rows of %d)" % cached_width(family, cfg))
    elif not errors["stored"] < errors["f32"]:
        checker.fail("not closer to the stored-K/V reference than to the f32 one")
    if checker.failures:
        print("%d check(s) failed; files kept in %s" % (checker.failures, args.work))
        return 1
    print("PASS: %s --kv-type=%s matches the reference" % (args.model, args.kv_type))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sp = ap.add_subparsers(dest="cmd", required=True)
    c = sp.add_parser("check")
    c.add_argument("model", choices=sorted(MODELS) + ["stories260k"])
    c.add_argument("--weights", help="stories260k: its model.safetensors")
    c.add_argument("so")
    c.add_argument("harness")
    c.add_argument("--kv-type", required=True, choices=sorted(STORES))
    c.add_argument("--work", required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--prompt-len", type=int, default=48)
    c.add_argument("--chunks")
    c.add_argument("--tol", type=float, default=1e-3)
    c.add_argument("--f32-tol", type=float, default=2e-2)
    args = ap.parse_args()
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
