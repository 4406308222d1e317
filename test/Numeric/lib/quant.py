#===- quant.py - Q8_0/Q4_0 weights: numpy reference and accuracy checks ----===#
#
# The reference for --weight-type=q8_0, written from the format's definition
# (ggml-common.h's block_q8_0: an f16 scale d, then 32 int8 q; value q * d) and
# the arithmetic of ggml's quantize_row_q8_0_ref (d = max|x| / 127 in f32, the
# f16 of d stored, q = roundf(x * (1 / d)) with the f32 d, half away from
# zero) and of its CPU activation quantization (scale f16(max|x| / 127),
# q = round-half-even(x * (127 / max|x|))). For --weight-type=q4_0 the weights
# go through the numpy Q4_0 quantizer of Runtime/Inputs/ggml_quantize.py
# (quantize_row_q4_0_ref) and the dequantizer of Runtime/Inputs/gguf_gen.py
# (both written from the format's definition); the activations are quantized
# as for Q8_0, as ggml's Q4_0 CPU kernels do (vec_dot_type Q8_0). For
# --weight-type=q6_k the weights go through ggml_quantize.py's
# quantize_row_q6_K_ref; the activations of those layers are quantized per
# 256-block as ggml's quantize_row_q8_K does (vec_dot_type Q8_K: amax = max|x|,
# q = round-half-even(x * (127 / amax)), d = 1 / (127 / amax) in f32, no f16
# rounding). --weight-type=q4_k quantizes with ggml_quantize.py's
# quantize_row_q4_K_ref and its activations go per 256-block as for Q6_K;
# --weight-type=q5_k the same with quantize_row_q5_K_ref. A K-quant matrix
# whose rows are not a multiple of 256 wide falls back to Q8_0 (as llama.cpp's
# quantizer does for Q6_K; it takes Q5_0 for Q4_K and Q5_1 for Q5_K, which tfc
# has no kernels for), or stays f32 below 32. --weight-type=q4_k_m is
# llama.cpp's Q4_K_M mixture (README.md): Q6_K for the output matrix and for
# the value and down projections of llama.cpp's use_more_bits layers, Q5_K for
# a fused query/key/value projection, Q4_K for the rest (stored_type).
#
# quant.py check MODEL MODEL.so HARNESS [--weights W.safetensors] [--prompt-len N]
#          [--chunks 40,1,..] [--exact] [--dtype F32|F16|BF16] [--type q8_0|q4_0|q6_k|q4_k|q5_k|q4_k_m]
#          [--work DIR]
#     MODEL is llama_small / mqa_small (seeded random weights, written as F32,
#     F16 or BF16 safetensors and quantized from those values at load),
#     hf-causal (--weights: a Hugging Face directory of any causal LM that
#     hf_reference.py runs, Mixtral's mixture of experts included; its router,
#     block_sparse_moe.gate / mlp.gate, stays f32 as in tfc) or
#     stories260k / hf (--weights: a Hugging Face directory's model.safetensors;
#     --load: what the model loads instead, e.g. the GGUF file whose twin the
#     directory is, with --prequantized: its weights are the file's dequantized
#     blocks, not requantized by the references; and --tensor-types JSON: the
#     type each weight has in a file of mixed types, hf_to_gguf.py's
#     tensor_types.json, which the references then use per weight instead of
#     --type's rules). Runs the compiled model on the
#     prompt and compares its logits with two float64 references on the same
#     quantized weights:
#       "int8":  the kernel's arithmetic: dequantized weights times activations
#                quantized per 32-block (ggml's Q8_0 activations); a lane
#                whose scaled value lies within 2^-20 of a rounding tie may
#                round either way in the kernel (its f32 x differs by ulps
#                between kernel families), so when the model is further than
#                --int8-tol, up to 8 such lanes, closest first, are rounded
#                the other way where that brings "int8" nearer (and said so);
#       "dequant": dequantized weights times the f32 activations.
#     Default (the int8 kernels): against "int8", the same argmax on >= 99 % of
#     positions, mean KL(ref || model) <= 1e-3 and relative error <= 2e-2;
#     against "dequant", relative error <= 5e-2 (--dequant-tol: the error that
#     quantizing the activations adds; logged). --exact (a target without an int8 kernel,
#     whose generic becomes loops of the dequantized arithmetic): against
#     "dequant", relative error <= 1e-4. Weights whose rows are not a multiple
#     of 32 wide stay f32 in the compiled model and in both references.
#
# quant.py linear MODEL.so HARNESS --type TYPE --work DIR
#     MODEL.so is Inputs/linear_k.tdsl (one linear layer on embedding rows)
#     compiled for --weight-type=TYPE: its logits must equal the "int8"
#     reference within relative error 1e-5 (only the order of the f32 sums
#     differs), and differ from "dequant". The weights have sub-blocks of only
#     positive and only negative values (Q4_K mins of 0, all-negative
#     sub-blocks) and a row of zeros.
#
# quant.py gguf MANIFEST DIR [--type q8_0|q4_0]
#     From a harness --manifest: DIR/Q8_0.safetensors with seeded random F32
#     weights, and DIR/Q8_0.gguf with the same weights, each linear layer's
#     matrix (2-D, rows a multiple of 32, not an embedding) quantized to Q8_0
#     here; the embedding is stored dequantized in the safetensors file, so the
#     two load to the same model only if the runtime's quantizer is bit-identical
#     to this one (Runtime/q8_0-gguf.test). The same for Q4_0 (DIR/Q4_0.*).
#
# quant.py self-test
#     Known values of the quantizer (halves rounding away from zero, all-zero
#     blocks, f16 scales) and a round trip through the dequantizer.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import re
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "Runtime", "Inputs"))
import check as C  # noqa: E402
import ggml_quantize as GQ  # noqa: E402
import hf_reference as H  # noqa: E402
import gguf_gen as G  # noqa: E402
import reference as R  # noqa: E402

BLOCK = 32

# The random models: check.py's, and a Llama whose matrices have rows of 256
# (K-quant super-blocks) but for the down projection's 288 (Q8_0 fallback).
MODELS = dict(C.MODELS, llama_k=("llama", dict(C.MODELS["llama_small"][1], dim=256, heads=4,
                                                 head_dim=64, ffn=288)))


def quantize_q8_0(x):
    """F32 values (rows a multiple of 32) -> (d as float16 [.., k/32], q int8 [.., k/32, 32])
    as quantize_row_q8_0_ref computes them."""
    x = np.asarray(x, dtype=np.float32)
    blocks = x.reshape(x.shape[:-1] + (x.shape[-1] // BLOCK, BLOCK))
    amax = np.max(np.abs(blocks), axis=-1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    scaled = (blocks * inv[..., None]).astype(np.float32).astype(np.float64)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)  # roundf: halves away from zero
    return d.astype(np.float16), q.astype(np.int8)


def dequantize_q8_0(d, q):
    """float64 values of Q8_0 blocks (rows flattened back)."""
    v = q.astype(np.float64) * d.astype(np.float64)[..., None]
    return v.reshape(v.shape[:-2] + (v.shape[-2] * BLOCK,))


def q8_0_bytes(d, q):
    """The blocks as ggml stores them: per block the f16 d (little-endian), then q."""
    n = d.size
    raw = np.empty((n, 2 + BLOCK), dtype=np.uint8)
    raw[:, :2] = d.reshape(n).astype("<f2").view(np.uint8).reshape(n, 2)
    raw[:, 2:] = q.reshape(n, BLOCK).view(np.uint8)
    return raw.tobytes()


# A scaled activation x * (127 / amax) this close to a rounding tie (relative:
# 16 f32 ulps) rounds either way depending on the last bits of x, which differ
# between tfc's kernel families (the one-token / streaming tiles and the int8
# GEMM sum in different orders; issue #16): both roundings are right to f32
# precision. The reference records such lanes so that `check` can take them
# the other way when the kernel did.
TIE_REL = 2.0 ** -20


def round_activations(blocks, scaled, ties=None, flips=frozenset()):
    """round-half-even(scaled) (f32, [.., blocks, n]); with `ties` (a dict),
    records the lanes within TIE_REL of a tie as (the block's f32 bytes, lane)
    -> closeness, and rounds the lanes named in `flips` the other way."""
    q = np.rint(scaled)  # half to even
    if ties is None and not flips:
        return q
    magnitude = np.abs(scaled.astype(np.float64))
    closeness = np.abs(magnitude - np.floor(magnitude) - 0.5)
    for index in zip(*np.nonzero(closeness <= TIE_REL * magnitude)):
        key = (blocks[index[:-1]].tobytes(), int(index[-1]))
        if ties is not None:
            ties[key] = min(ties.get(key, 1.0), float(closeness[index] / magnitude[index]))
        if key in flips:
            v = float(scaled[index])
            q[index] = np.floor(v) if q[index] > v else np.ceil(v)
    return q


def quantize_activations(x, ties=None, flips=frozenset()):
    """The activations as the int8 kernel sees them (float64 of q * f16(d))."""
    x = np.asarray(x, dtype=np.float32)
    blocks = x.reshape(x.shape[:-1] + (x.shape[-1] // BLOCK, BLOCK))
    amax = np.max(np.abs(blocks), axis=-1)
    d = (amax / np.float32(127)).astype(np.float16).astype(np.float64)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = round_activations(blocks, (blocks * inv[..., None]).astype(np.float32), ties, flips)
    v = q.astype(np.float64) * d[..., None]
    return v.reshape(x.shape)


def quantize_activations_q8_k(x, ties=None, flips=frozenset()):
    """The activations of a Q6_K product as its kernel sees them (float64 of
    q * d, per 256-block)."""
    x = np.asarray(x, dtype=np.float32)
    blocks = x.reshape(x.shape[:-1] + (x.shape[-1] // 256, 256))
    amax = np.max(np.abs(blocks), axis=-1)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
        d = np.where(inv != 0, np.float32(1) / inv, np.float32(0)).astype(np.float32)
    q = round_activations(blocks, (blocks * inv[..., None]).astype(np.float32), ties, flips)
    v = q.astype(np.float64) * d.astype(np.float64)[..., None]
    return v.reshape(x.shape)


def quantizable(w, kind, name=""):
    """Which weights --weight-type=q8_0|q4_0|q6_k stores quantized: linear
    layers' own matrices (not a tied embedding) with rows a multiple of 32, but
    for a mixture of experts' router (Mixtral's block_sparse_moe.gate, DeepSeek's
    mlp.gate), which stays f32 as llama.cpp's quantizer leaves ffn_gate_inp."""
    return (kind == "weight" and w.ndim == 2 and w.shape[-1] % BLOCK == 0 and
            not name.endswith(".gate.weight"))


# Q4_K_M's Q6_K tensors, by name (Hugging Face, GGUF and llama2.c spellings):
# the output matrix, and the value and down projections of llama.cpp's
# use_more_bits layers (llama-quant.cpp: the first and last eighth of the
# layers and every third between); their other layers are Q4_K.
Q4_K_M_OUTPUT = ("lm_head.weight", "output.weight")
Q4_K_M_SIX_BITS = ("v_proj.", "attn_v.", "attention.wv.", "down_proj.", "ffn_down.",
                   "ffn_down_exps.", "ffn_down_shexp.", "feed_forward.w2.", "mlp.c_proj.")
# A routed expert's matrix (tfc stacks the experts of all layers in one slot,
# which keeps one type: Q6_K in every layer for the down projections).
ROUTED_EXPERT = re.compile(r"\.experts\.\d+\.|_exps\.")
# Q4_K_M's Q5_K tensors: the fused query/key/value projection (GGUF attn_qkv,
# GPT-2's attn.c_attn), in every layer (llama_tensor_get_type).
Q4_K_M_FIVE_BITS = ("attn_qkv.", "attn.c_attn.")
LAYER_INDEX = re.compile(r"(?:^|\.)(?:layers|blk|h)\.(\d+)\.")


K_QUANTS = ("q6_k", "q4_k", "q5_k")


def use_more_bits(i, n):
    """llama.cpp's use_more_bits(i_layer, n_layers)."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def stored_type(w, wtype, name="", layers=0):
    """The block type of a quantizable weight `name` under --weight-type=wtype:
    q4_k_m picks q6_k or q4_k by name and, for a layer's value or down
    projection (of `layers` layers), by layer; a K-quant whose rows are not a
    multiple of 256 wide falls back to q8_0."""
    if wtype == "q4_k_m":
        six = (name in Q4_K_M_OUTPUT or any(part in name for part in Q4_K_M_SIX_BITS)
               or ("block_sparse_moe.experts." in name and name.endswith(".w2.weight")))
        layer = LAYER_INDEX.search(name)
        if six and layer and layers and name not in Q4_K_M_OUTPUT and not ROUTED_EXPERT.search(name):
            six = use_more_bits(int(layer.group(1)), layers)
        five = any(part in name for part in Q4_K_M_FIVE_BITS)
        wtype = "q6_k" if six else "q5_k" if five else "q4_k"
    if wtype in K_QUANTS and w.shape[-1] % 256 != 0:
        return "q8_0"
    return wtype


def dequantized(w, wtype):
    """float64 of w (rows a multiple of 32) quantized as `wtype` and back."""
    if wtype == "q8_0":
        return dequantize_q8_0(*quantize_q8_0(w))
    blocks = GQ.QUANTIZERS[wtype.upper()](np.asarray(w, np.float32))
    return G.dequantize(wtype.upper(), blocks.tobytes()).astype(np.float64).reshape(w.shape)


class QuantWeights(R.Weights):
    """Weights whose linear layers use `wtype`-quantized matrices; with
    `int8_activations`, their inputs are quantized per block too."""

    def __init__(self, tensors, int8_activations, wtype="q8_0", prequantized=False, layers=0,
                 tensor_types=None):
        super().__init__(tensors=tensors)
        self.int8 = int8_activations
        self.wtype = wtype
        self.prequantized = prequantized
        self.layers = layers
        self.tensor_types = tensor_types
        self.quantized = set()
        self.ties = {}              # lanes near a rounding tie (round_activations)
        self.flips = frozenset()    # and those of them rounded the other way

    def product(self, x, w, name):
        if self.tensor_types is not None:
            # The file's own type per tensor (a mixed GGUF's twin): F16 and F32
            # products take the f32 activations.
            wtype = self.tensor_types.get(name, "f32")
            if wtype in ("f32", "f16", "bf16"):
                return x @ w.T
        elif not quantizable(w, self.kinds.get(name), name):
            return x @ w.T
        else:
            wtype = stored_type(w, self.wtype, name, self.layers)
        self.quantized.add("%s (%s)" % (name, wtype))
        # A prequantized file's blocks are used as they are (for q4_k_m too: its
        # per-layer types are llama-quantize's), so `w`, their dequantized twin,
        # is exact.
        wq = w.astype(np.float64) if self.prequantized else dequantized(w, wtype)
        if self.int8:
            quantize = quantize_activations_q8_k if wtype in K_QUANTS else quantize_activations
            x = quantize(x, self.ties, self.flips)
        return x @ wq.T


def log_softmax(z):
    z = z - np.max(z, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def agreement(got, want):
    """(share of positions with the same argmax, mean KL(want || got))."""
    same = float(np.mean(np.argmax(got, axis=-1) == np.argmax(want, axis=-1)))
    lp, lq = log_softmax(want.astype(np.float64)), log_softmax(got.astype(np.float64))
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))
    return same, kl


def settle_ties(W, run, want, got, tol, most=8):
    """The int8 reference `want` with some of its activations that lay within
    TIE_REL of a rounding tie (W.ties) rounded the other way, greedily, closest
    first, each kept if it brings the reference nearer `got`, until within
    `tol`: the kernel's f32 activation may lie a few ulps on the other side of
    the tie (it then differs by one step of q in that lane, and through the
    cache at later positions). Prints what it changed."""
    err = C.rel_err(got, want)
    flips = set()
    for key, closeness in sorted(W.ties.items(), key=lambda kv: kv[1])[:most]:
        if err <= tol:
            break
        W.flips = frozenset(flips | {key})
        trial = run()
        trial_err = C.rel_err(got, trial)
        if trial_err < err:
            flips.add(key)
            want, err = trial, trial_err
            print("int8 reference: an activation %.1e (relative) from a rounding tie (lane %d) "
                  "rounded the other way, as the kernel did: rel err %.3e" % (closeness, key[1], err))
    W.flips = frozenset(flips)
    return want


def check(args):
    work = args.work
    os.makedirs(work, exist_ok=True)
    checker = C.Checker(args.so, args.harness, work)
    forward = None
    if args.model == "hf-causal":
        # Any causal LM hf_reference.py knows (Mixtral's experts too), from its
        # directory, through hf_reference's forward pass.
        m = H.load(args.weights)
        # GPT-2's config spells them n_positions and n_layer.
        cfg = dict(vocab=m.cfg["vocab_size"],
                   max_seq=m.cfg.get("max_position_embeddings", m.cfg.get("n_positions")),
                   layers=m.cfg.get("num_hidden_layers", m.cfg.get("n_layer")))
        tensors, wpath = m.tensors, args.weights
        n = min(args.prompt_len, cfg["max_seq"])
        tokens = [int(t) for t in np.random.default_rng(args.seed + 2).integers(0, cfg["vocab"], n)]

        def forward(W, tokens):
            m.W = W
            return H.forward(m, tokens)
    else:
        family, cfg, tensors, wpath, tokens = C.model_and_prompt(
            args.model, args.weights, work, MODELS, args.seed, args.prompt_len, args.dtype)
        n = len(tokens)
    cmd = [args.load or wpath, "--tokens", ",".join(map(str, tokens))]
    if args.chunks:
        cmd += ["--chunks", args.chunks]
    got = checker.output(cmd, "%s logits" % args.type, (n, cfg["vocab"]))
    if got is None:
        return 1

    tensor_types = None
    if args.tensor_types:
        with open(args.tensor_types) as f:
            tensor_types = json.load(f)
    refs = {}
    for label, int8 in (("int8", True), ("dequant", False)):
        W = QuantWeights(tensors, int8, args.type, args.prequantized, cfg["layers"],
                         tensor_types)
        refs[label] = forward(W, tokens) if forward else R.forward(family, cfg, W, tokens)
        quantized = sorted(W.quantized)
        if int8:
            refs[label] = settle_ties(W, lambda: forward(W, tokens) if forward
                                      else R.forward(family, cfg, W, tokens),
                                      refs[label], got, args.int8_tol)
    print("%d of %d weights quantized in the reference" % (len(quantized), len(tensors)))
    print("  " + ", ".join(quantized))
    for label, want in refs.items():
        same, kl = agreement(got, want)
        print("vs %-8s rel err %.3e  argmax same %.1f %%  mean KL %.2e" %
              (label, C.rel_err(got, want), 100 * same, kl))

    def need(what, ok):
        if not ok:
            checker.fail(what)

    if args.exact:
        need("rel err vs dequant > 1e-4", C.rel_err(got, refs["dequant"]) <= 1e-4)
    else:
        same, kl = agreement(got, refs["int8"])
        need("argmax agreement with int8 reference %.3f < 0.99" % same, same >= 0.99)
        need("mean KL vs int8 reference %.3e > 1e-3" % kl, kl <= 1e-3)
        need("rel err vs int8 reference > %g" % args.int8_tol,
             C.rel_err(got, refs["int8"]) <= args.int8_tol)
        need("rel err vs dequant reference > %g" % args.dequant_tol,
             C.rel_err(got, refs["dequant"]) <= args.dequant_tol)
        # The kernel really quantized the activations: it is closer to "int8".
        need("closer to the dequant reference than to the int8 one",
             C.rel_err(got, refs["int8"]) < C.rel_err(got, refs["dequant"]))
    if checker.failures:
        print("%d check(s) failed; files kept in %s" % (checker.failures, work))
        return 1
    print("PASS: %s %s matches the reference" % (args.model, args.type))
    return 0


def linear(args):
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(args.seed + 5)
    vocab, dim = args.rows, args.dim
    emb = rng.normal(0.0, 1.0, (vocab, dim)).astype(np.float32)
    w = rng.uniform(-0.1, 0.1, (vocab, dim)).astype(np.float32)
    w[:, :32] = np.abs(w[:, :32]) + 0.01
    w[:, 288:320] = -np.abs(w[:, 288:320]) - 0.01
    w[5] = 0.0
    tensors = {"model.embed_tokens.weight": emb, "lm_head.weight": w}
    wpath = os.path.join(args.work, "linear.safetensors")
    R.save_safetensors(wpath, tensors)
    # The default prompt (15 tokens) takes the streaming tiles; --lengths runs
    # one call per token count (32 and more: the prefill GEMM's full panels
    # and tails) on the same .so.
    prompts = [list(range(0, vocab, 7)) + [3]]
    if args.lengths:
        prompts = [list(rng.integers(0, vocab, int(n))) for n in args.lengths.split(",")]
    wtype = stored_type(w, args.type, "lm_head.weight")
    wq = dequantized(w, wtype)
    checker = C.Checker(args.so, args.harness, args.work)
    for tokens in prompts:
        got = checker.output([wpath, "--tokens", ",".join(map(str, tokens))],
                             "%s logits, %d tokens" % (args.type, len(tokens)),
                             (len(tokens), vocab))
        if got is None:
            return 1
        x = emb[tokens]
        int8 = quantize_activations_q8_k(x) if wtype in K_QUANTS else quantize_activations(x)
        want, plain = int8 @ wq.T, x.astype(np.float64) @ wq.T
        err, err_plain = C.rel_err(got, want), C.rel_err(got, plain)
        print("%s, %d tokens: vs int8 rel err %.3e, vs dequant %.3e"
              % (wtype, len(tokens), err, err_plain))
        if args.exact:
            # No int8 kernel: the generic's loops of the dequantized arithmetic.
            if err_plain > 1e-5:
                checker.fail("%d tokens: rel err vs the dequant reference > 1e-5" % len(tokens))
            if err <= 1e-5:
                checker.fail("%d tokens: as close to the int8 reference: the activations were "
                             "quantized" % len(tokens))
        else:
            if err > 1e-5:
                checker.fail("%d tokens: rel err vs the int8 reference > 1e-5" % len(tokens))
            if err_plain <= 1e-5:
                checker.fail("%d tokens: as close to the dequant reference: the activations "
                             "were not quantized" % len(tokens))
    if checker.failures:
        return 1
    print("PASS: linear_k %s" % wtype)
    return 0


def gguf(manifest, d, wtype):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(16)
    st, gg = {}, []
    names = [line.split()[1] for line in open(manifest) if line.startswith("weight ")]
    layers = 1 + max([int(m.group(1)) for m in map(LAYER_INDEX.search, names) if m] + [-1])
    for line in open(manifest):
        parts = line.split()
        if len(parts) != 3 or parts[0] != "weight":
            continue
        name, shape = parts[1], [int(x) for x in parts[2].split(",")]
        v = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
        if len(shape) == 2 and shape[-1] % BLOCK == 0:
            tname = stored_type(v, wtype, name, layers).upper()
            if tname == "Q8_0":
                # The first block of each row is all ties: max 127 * 2^-10
                # makes d = 2^-10 exactly, and x = (m + 1/2) 2^-10 scales to
                # m + 1/2, which roundf takes away from zero (rint would not).
                halves = (np.arange(BLOCK - 1) - 15 + 0.5) * rng.choice([-1.0, 1.0], BLOCK - 1)
                v[:, 0] = 127.0 * 2.0 ** -10
                v[:, 1:BLOCK] = (halves * 2.0 ** -10).astype(np.float32)
                raw = q8_0_bytes(*quantize_q8_0(v))
            else:
                raw = GQ.QUANTIZERS[tname](v).tobytes()
            gg.append((name, G.ne_of(shape), tname, raw))
            st[name] = v if "embd" not in name else G.dequantize(tname, raw).reshape(shape)
        else:
            gg.append((name, G.ne_of(shape), "F32", v.tobytes()))
            st[name] = v
    R.save_safetensors(os.path.join(d, wtype.upper() + ".safetensors"), st)
    G.write(os.path.join(d, wtype.upper() + ".gguf"), G.build(G.every_kv(), gg))
    return 0


def self_test():
    fails = 0

    def expect(what, got, want):
        nonlocal fails
        ok = np.array_equal(np.asarray(got), np.asarray(want))
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        fails += not ok

    x = np.zeros(32, dtype=np.float32)
    x[0], x[1], x[2], x[3] = 127.0, -63.5, 0.5, -2.5  # d = 1: halves go away from zero
    d, q = quantize_q8_0(x)
    expect("d = max|x| / 127", d, [1.0])
    expect("roundf halves", q[0, :4], [127, -64, 1, -3])
    d, q = quantize_q8_0(np.zeros(32, dtype=np.float32))
    expect("zero block", [float(d[0]), float(q.any())], [0.0, 0.0])
    a = np.zeros(32, dtype=np.float32)
    a[:3] = [127.0, 0.5, -2.5]  # activations: halves to even
    expect("activation halves to even", quantize_activations(a)[:3], [127.0, 0.0, -2.0])
    a[1], a[2] = 2.5, 3.25  # a tie and a value far from one (d = 1)
    ties = {}
    quantize_activations(a, ties)
    expect("lanes near a tie", [lane for _, lane in ties], [1])
    expect("a near tie rounded the other way",
           quantize_activations(a, flips=frozenset(ties))[:3], [127.0, 3.0, 3.0])
    raw = q8_0_bytes(*quantize_q8_0(x))
    expect("block bytes", (len(raw), struct.unpack("<e", raw[:2])[0], raw[2]), (34, 1.0, 127))
    w = np.random.default_rng(0).uniform(-1, 1, (4, 64)).astype(np.float32)
    back = dequantize_q8_0(*quantize_q8_0(w))
    # Half a step of the block's d, plus the f16 rounding of d (2^-11 relative,
    # times |q| <= 127): within 0.6 d.
    expect("round trip within 0.6 d", bool(np.all(np.abs(back - w) <= 0.6 * np.max(np.abs(w)) / 127)),
           True)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("model")
    c.add_argument("so")
    c.add_argument("harness")
    c.add_argument("--weights")
    c.add_argument("--work", required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--prompt-len", type=int, default=48)
    c.add_argument("--chunks")
    c.add_argument("--load", help="the file the model loads (default: the weights)")
    c.add_argument("--tensor-types",
                   help="a JSON map of weight names to the type each has in the file the model "
                        "loads (hf_to_gguf.py --tensor-type's twin tensor_types.json): with "
                        "--prequantized, the references' products in those types, f32 for "
                        "weights not listed, whatever --type says")
    c.add_argument("--int8-tol", type=float, default=2e-2,
                   help="the relative error allowed against the int8 reference (a file's own "
                        "blocks used in place: the order of the f32 sums only, 1e-5)")
    c.add_argument("--prequantized", action="store_true",
                   help="the weights are the dequantized values of the blocks the model "
                        "holds (a GGUF file's twin): the references use them as they are")
    c.add_argument("--exact", action="store_true")
    c.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"],
                   help="the safetensors dtype of the random weights (quantized at load)")
    c.add_argument("--dequant-tol", type=float, default=5e-2,
                   help="bound on the relative error against the f32 math on the dequantized "
                        "weights (what quantizing the activations adds)")
    c.add_argument("--type", default="q8_0", choices=["q8_0", "q4_0", "q6_k", "q4_k", "q5_k", "q4_k_m"],
                   help="the model's --weight-type")
    li = sub.add_parser("linear")
    li.add_argument("so")
    li.add_argument("harness")
    li.add_argument("--work", required=True)
    li.add_argument("--seed", type=int, default=0)
    li.add_argument("--type", default="q8_0", choices=["q8_0", "q4_0", "q6_k", "q4_k", "q5_k"])
    li.add_argument("--exact", action="store_true",
                    help="a target without an int8 kernel: within 1e-5 of the dequant reference")
    li.add_argument("--lengths", help="comma-separated token counts, one call each")
    li.add_argument("--rows", type=int, default=97, help="the tdsl's vocab (output rows)")
    li.add_argument("--dim", type=int, default=512, help="the tdsl's dim (reduction length)")
    g = sub.add_parser("gguf")
    g.add_argument("manifest")
    g.add_argument("dir")
    g.add_argument("--type", default="q8_0", choices=["q8_0", "q4_0", "q6_k", "q4_k", "q5_k", "q4_k_m"])
    sub.add_parser("self-test")
    args = ap.parse_args()
    if args.cmd == "check":
        return check(args)
    if args.cmd == "linear":
        return linear(args)
    if args.cmd == "gguf":
        return gguf(args.manifest, args.dir, args.type)
    return self_test()


if __name__ == "__main__":
    sys.exit(main())
