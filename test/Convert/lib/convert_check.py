#===- convert_check.py - Independent checks of tfc convert's output ------===#
#
# The float64 numpy side of the tfc convert tests. Subcommands:
#   weights MANIFEST OUT SEED    random weights for `tfc --print-weights` output
#                                (--anisotropic: the attention inputs' norms
#                                scale their dimensions over two decades)
#   compare FAMILY ...           original vs converted model in numpy: logits
#                                error (--exact), KL and top-1 against the report
#   layers FAMILY ...            each layer's attention output error on the
#                                original model's inputs, against the report's
#                                attention_rel_error
#   report REPORT...             properties of OUT.report.json files (keys,
#                                spectra, ratios, errors falling along them)
#   replay TFC MODEL FILE|DIR... tfc convert on each file as the weights: it
#                                converts or fails with one error line, no crash
# The converted forms are written here from tdsl's definitions (reference.py's
# attention and DeepSeek-V2 MLA), not from the converter's code.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Numeric", "lib"))
import reference as R  # noqa: E402


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


#===----------------------------------------------------------------------===#
# Random weights for a manifest
#===----------------------------------------------------------------------===#

def is_attention_input_norm(name):
    """The norms in front of attention in the test models."""
    parts = name.split(".")
    return name == "norm.weight" or (len(parts) > 1 and parts[-1] == "weight" and
                                     parts[-2] in ("ln_1", "input_layernorm"))


def random_weights(manifest, out, seed, anisotropic=False):
    rng = np.random.default_rng(seed)
    tensors = {}
    for line in open(manifest):
        name, shape = line.split(" ", 1)
        shape = json.loads(shape)
        if name.endswith("norm.weight") or ".ln_" in name or name.startswith("ln_") or \
                "layernorm" in name:
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            a = 0.05 * rng.standard_normal(shape)
        elif len(shape) == 2 and ("wte" in name or "wpe" in name or "embed" in name):
            a = 0.2 * rng.standard_normal(shape)
        else:
            a = 0.3 * rng.standard_normal(shape)
        if anisotropic and is_attention_input_norm(name):
            # Attention reads some directions 100 times more strongly than others:
            # the weight-space and the input-space optimum differ.
            a = a * np.geomspace(0.1, 10.0, shape[0])[rng.permutation(shape[0])]
        tensors[name] = a
    R.save_safetensors(out, tensors)


#===----------------------------------------------------------------------===#
# Forward passes: original and converted attention forms
#===----------------------------------------------------------------------===#

def attention_form(args, cfg):
    """attn(W, scope, h) for the original (args.form == 'orig') or converted model."""
    heads, hd = cfg["heads"], cfg["dim"] // cfg["heads"]
    rope = R.rope(cfg["rope_theta"]) if cfg.get("rope_theta") else None
    bias = cfg.get("bias", False)
    if args.form == "orig":
        return lambda W, s, h: R.attention(W, s, h, heads, kv_heads=cfg.get("kv_heads"),
                                           causal=True, rope=rope, bias=bias)
    if args.form == "gqa":
        return lambda W, s, h: R.attention(W, s, h, heads, kv_heads=args.kv_heads,
                                           causal=True, rope=rope, bias=bias)
    # mla: nope_dim = v_dim = head_dim; rope keeps rope_dim dims at theta^(rope_dim/hd)
    if rope is not None:
        rope = R.rope(cfg["rope_theta"] ** (args.rope_dim / hd))
    lat = R.mla(args.kv_rank, args.rope_dim, hd, hd)
    return lambda W, s, h: R.attention(W, s, h, heads, causal=True, rope=rope, latent=lat)


def nope_small(cfg, W, tokens, attn):
    W = R.as_weights(W)
    n = len(tokens)
    x = R.embedding(W, "wte", tokens, cfg["vocab"], cfg["dim"]) + \
        R.position_embedding(W, "wpe", cfg["max_seq"], cfg["dim"], n)
    for i in range(cfg["layers"]):
        s = "h.%d" % i
        h = R.layer_norm(W, R.join(s, "ln_1"), x, cfg["eps"])
        x = x + attn(W, R.join(s, "attn"), h)
        h = R.layer_norm(W, R.join(s, "ln_2"), x, cfg["eps"])
        x = x + R.linear(W, R.join(s, "c_proj"),
                         R.gelu(R.linear(W, R.join(s, "c_fc"), h, cfg["ffn"])), cfg["dim"])
    x = R.layer_norm(W, "ln_f", x, cfg["eps"])
    return R.linear(W, "lm_head", x, cfg["vocab"])


def single_layer(cfg, W, tokens, attn):
    """Inputs/bias_rope.tdsl: embedding, rms_norm, one attention, a head."""
    W = R.as_weights(W)
    x = R.embedding(W, "emb", tokens, cfg["vocab"], cfg["dim"])
    x = x + attn(W, "attn", R.rms_norm(W, "norm", x, 1e-5))
    return R.linear(W, "head", x, cfg["vocab"])


def llama_like(cfg, W, tokens, attn):
    return R._llama_like(cfg, W, tokens, attn)


FAMILIES = {
    "nope_small": (nope_small, dict(vocab=64, dim=32, layers=2, heads=4, ffn=64, max_seq=64,
                                    eps=1e-5)),
    "rope_mqa": (llama_like, dict(vocab=64, dim=32, layers=2, heads=4, kv_heads=1, ffn=48,
                                  max_seq=64, eps=1e-5, rope_theta=10000.0)),
    "bias_rope": (single_layer, dict(vocab=32, dim=16, heads=4, rope_theta=100.0, bias=True)),
    # test/Convert/hf-dir.test's LlamaForCausalLM directory, as tfc import reads it.
    "hf_llama": (llama_like, dict(vocab=64, dim=32, layers=2, heads=4, kv_heads=2, ffn=48,
                                  max_seq=64, eps=1e-5, rope_theta=10000.0)),
    "stories260k": (llama_like, dict(vocab=512, dim=64, layers=5, heads=8, kv_heads=4, ffn=172,
                                     max_seq=512, eps=1e-5, rope_theta=10000.0,
                                     tie_embeddings=True)),
}


def parse_tokens(text):
    """Token ids "1,2,3", or "@FILE" with ids separated by spaces (tfc-tokenize's output)."""
    if text.startswith("@"):
        text = open(text[1:]).read()
    return [int(t) for t in text.replace(",", " ").split()]


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def compare(args):
    forward, cfg = FAMILIES[args.family]
    tokens = parse_tokens(args.tokens)
    original = forward(cfg, R.load_safetensors(args.weights), tokens,
                       attention_form(argparse.Namespace(form="orig"), cfg))
    converted = forward(cfg, R.load_safetensors(args.converted), tokens, attention_form(args, cfg))
    rel = np.abs(converted - original).max() / np.abs(original).max()
    lp, lq = log_softmax(original), log_softmax(converted)
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))
    top1 = float(np.mean(original.argmax(-1) == converted.argmax(-1)))
    print("numpy: max relative logit error %.3e, KL %.6e, top-1 %.4f" % (rel, kl, top1))
    if args.exact is not None and not rel <= args.exact:
        fail("converted logits differ by %.3e relative (limit %g)" % (rel, args.exact))
    if args.report:
        rep = json.load(open(args.report))
        # The report's models run in float32: KL agrees to rounding, top-1 up to one
        # near-tie position.
        if not abs(rep["kl"] - kl) <= 2e-2 * max(kl, rep["kl"]) + 1e-6:
            fail("report kl %.6e, numpy %.6e" % (rep["kl"], kl))
        if not abs(rep["top1_agreement"] - top1) <= 1.0 / len(tokens) + 1e-12:
            fail("report top1_agreement %.4f, numpy %.4f" % (rep["top1_agreement"], top1))


def layers(args):
    """Per layer: the converted attention against the original on the inputs the
    original model gives that layer (its pre-norm's output), as the report's
    attention_rel_error defines it."""
    forward, cfg = FAMILIES[args.family]
    tokens = parse_tokens(args.tokens)
    W0, W1 = R.load_safetensors(args.weights), R.load_safetensors(args.converted)
    original = attention_form(argparse.Namespace(form="orig"), cfg)
    converted = attention_form(args, cfg)
    errors = []

    def recording(W, scope, h):
        a = original(R.as_weights(W0), scope, h)
        b = converted(R.as_weights(W1), scope, h)
        errors.append(np.linalg.norm(a - b) / np.linalg.norm(a))
        return a
    forward(cfg, W0, tokens, recording)
    rep = json.load(open(args.report))
    got = [layer["attention_rel_error"] for layer in rep["layers"]]
    print("numpy attention output errors: " + " ".join("%.4e" % e for e in errors))
    if len(got) != len(errors):
        fail("report has %d layers, numpy %d" % (len(got), len(errors)))
    for i, (e, g) in enumerate(zip(errors, got)):
        # The report's inputs are the compiled model's (float32); its converted
        # weights are not yet rounded to float32.
        if g is None or not abs(g - e) <= args.rtol * e + args.atol:
            fail("layer %d: report attention_rel_error %r, numpy %.6e" % (i, g, e))


#===----------------------------------------------------------------------===#
# Report properties
#===----------------------------------------------------------------------===#

def report(args):
    reps = [json.load(open(p)) for p in args.reports]
    for p, rep in zip(args.reports, reps):
        for key in ("layers", "kl", "top1_agreement", "kv_bytes_per_token_before",
                    "kv_bytes_per_token_after"):
            if key not in rep:
                fail("%s: no key %r" % (p, key))
        if not rep["layers"]:
            fail("%s: no layers" % p)
        for layer in rep["layers"]:
            for key in ("singular_values", "energy", "rel_error", "rsvd_vs_optimal"):
                if key not in layer:
                    fail("%s: layer without %r" % (p, key))
            sv = [s for spectrum in layer["singular_values"] for s in spectrum]
            if not sv or min(sv) < 0:
                fail("%s: bad singular values" % p)
            if args.max_ratio is not None and not layer["rsvd_vs_optimal"] <= args.max_ratio:
                fail("%s layer %d: rsvd_vs_optimal %.4f > %g" %
                     (p, layer["layer"], layer["rsvd_vs_optimal"], args.max_ratio))
            if not 0.0 <= layer["energy"] <= 1.0 + 1e-12:
                fail("%s: energy %r outside [0, 1]" % (p, layer["energy"]))
        if args.kv_bytes is not None:
            before, after = args.kv_bytes
            got = (rep["kv_bytes_per_token_before"], rep["kv_bytes_per_token_after"])
            if got != (before, after):
                fail("%s: kv bytes per token %r, expected %r" % (p, got, (before, after)))
    for p, rep in zip(args.reports, reps):
        for layer in rep["layers"]:
            e = layer.get("attention_rel_error")
            if args.max_attention_error is not None and \
                    (e is None or not e <= args.max_attention_error):
                fail("%s layer %d: attention_rel_error %r > %g" %
                     (p, layer["layer"], e, args.max_attention_error))
    if args.attention_decreasing:
        # Every layer's attention output error falls along the reports.
        for a, b, pa, pb in zip(reps, reps[1:], args.reports, args.reports[1:]):
            for la, lb in zip(a["layers"], b["layers"]):
                if not lb["attention_rel_error"] < la["attention_rel_error"]:
                    fail("layer %d: attention error %.4e (%s) does not fall to %.4e (%s)" %
                         (la["layer"], la["attention_rel_error"], pa,
                          lb["attention_rel_error"], pb))
    if args.decreasing:
        # Reports in order of increasing rank: every layer's error must fall, and its
        # energy rise, with the rank.
        for a, b, pa, pb in zip(reps, reps[1:], args.reports, args.reports[1:]):
            for la, lb in zip(a["layers"], b["layers"]):
                if not lb["rel_error"] < la["rel_error"] or not lb["energy"] > la["energy"]:
                    fail("layer %d: error %.4e (%s) does not fall to %.4e (%s)" %
                         (la["layer"], la["rel_error"], pa, lb["rel_error"], pb))
    print("reports ok: %d" % len(reps))


#===----------------------------------------------------------------------===#
# Replaying malformed weight files
#===----------------------------------------------------------------------===#

def replay(args):
    import subprocess
    import tempfile
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p))
        else:
            files.append(p)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            r = subprocess.run([args.tfc, "convert", args.model, "--weights", f, "--to", "gqa",
                                "--kv-heads", "1", "--no-evaluate", "-o",
                                os.path.join(tmp, "out")], capture_output=True, text=True)
            lines = r.stderr.splitlines()
            ok = r.returncode == 0 or (r.returncode == 1 and len(lines) == 1 and
                                       lines[0].startswith("tfc: error: "))
            print("%s %s: %s" % ("ok" if ok else "FAIL", os.path.basename(f),
                                 lines[0] if lines else "converted"))
            failed += not ok
    print("replayed %d files, %d failed" % (len(files), failed))
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("weights")
    w.add_argument("manifest")
    w.add_argument("out")
    w.add_argument("seed", type=int)
    w.add_argument("--anisotropic", action="store_true")
    # compare and layers: an original and a converted model of a family.
    c = sub.add_parser("compare")
    lay = sub.add_parser("layers")
    for parser in (c, lay):
        parser.add_argument("family", choices=sorted(FAMILIES))
        parser.add_argument("weights")
        parser.add_argument("converted")
        parser.add_argument("--form", choices=["gqa", "mla"], required=True)
        parser.add_argument("--kv-heads", type=int)
        parser.add_argument("--kv-rank", type=int)
        parser.add_argument("--rope-dim", type=int, default=1)
        parser.add_argument("--tokens", required=True)
    c.add_argument("--exact", type=float)
    c.add_argument("--report")
    lay.add_argument("--report", required=True)
    lay.add_argument("--rtol", type=float, default=1e-3)
    lay.add_argument("--atol", type=float, default=1e-6)
    r = sub.add_parser("report")
    r.add_argument("reports", nargs="+")
    r.add_argument("--max-ratio", type=float)
    r.add_argument("--decreasing", action="store_true")
    r.add_argument("--kv-bytes", type=int, nargs=2)
    r.add_argument("--attention-decreasing", action="store_true")
    r.add_argument("--max-attention-error", type=float)
    p = sub.add_parser("replay")
    p.add_argument("tfc")
    p.add_argument("model")
    p.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if args.cmd == "replay":
        replay(args)
    elif args.cmd == "weights":
        random_weights(args.manifest, args.out, args.seed, args.anisotropic)
    elif args.cmd == "compare":
        compare(args)
    elif args.cmd == "layers":
        layers(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
