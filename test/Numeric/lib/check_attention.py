#===- check_attention.py - tfc-run --attention-maps vs the numpy reference ---===#
#
# check_attention.py MODEL MODEL.so --work DIR [--tokens 1,2,3] [--causal|--no-causal]
#                    [--window W]
#     MODEL is a reduced model of test/Numeric/Inputs (check.py's MODELS), compiled
#     with `tfc --emit-attention`. Writes seeded random weights (as check.py does),
#     runs `tfc-run MODEL.so --weights W --tokens ... --attention-maps DIR/maps`,
#     reads every DIR/maps/layer{L}_head{H}.npy back with numpy, and compares it with
#     the softmax probabilities of reference.py's float64 forward pass (each sdpa
#     call, in call order: the layers): max |a - b| <= 2e-5. An encoder-decoder's maps
#     are its encoder's (tfc-run --encoder-tokens).
# check_attention.py stories260k MODEL.so --work DIR --weights HF_DIR --prompt TEXT
#     The same with real weights and the directory's tokenizer (ids from tokens.json,
#     which must agree with `tfc-run --encode TEXT`).
#
# --same-as OTHER_WORK also compares the maps with those another build wrote.
# Always also checked: tokens.json (ids, one text per token, layers and heads), the
# file set (no missing or extra maps), rows summing to 1 within 1e-5, and with
# --causal entries above the diagonal exactly 0 (with --window W also those W or
# more positions back).
#
# Exit status 0 when everything matches, 1 otherwise; every failure is printed.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check as C  # noqa: E402
import reference as R  # noqa: E402

TOL = 2e-5
ROW_SUM_TOL = 1e-5

failures = []


def fail(msg):
    print("FAIL: " + msg)
    failures.append(msg)


def tfc_run(args):
    out = subprocess.run(["tfc-run"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode != 0:
        sys.exit("check_attention.py: tfc-run %s failed: %s" % (" ".join(args),
                                                                out.stderr.strip()))
    return out.stdout


def reference_maps(family, cfg, weights, ids):
    R.PROBABILITIES = []
    # An encoder-decoder's maps are its encoder's.
    if family in R.ENCODER_DECODER:
        R.transformer_encode(cfg, weights, ids)
    else:
        R.forward(family, cfg, weights, ids)
    maps, R.PROBABILITIES = R.PROBABILITIES, None
    return np.stack(maps)  # [layers, heads, n, n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("so")
    ap.add_argument("--work", required=True)
    ap.add_argument("--tokens", help="prompt ids (random models)")
    ap.add_argument("--weights", help="Hugging Face directory (stories260k)")
    ap.add_argument("--prompt", help="prompt text (stories260k)")
    ap.add_argument("--causal", dest="causal", action="store_true", default=True)
    ap.add_argument("--no-causal", dest="causal", action="store_false")
    ap.add_argument("--window", type=int)
    ap.add_argument("--same-as", help="the --work DIR of another build of the same model, "
                    "whose maps must agree within 1e-6 (e.g. latent attention on and off)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    out_dir = os.path.join(args.work, "maps")
    if os.path.isdir(out_dir):
        for f in os.listdir(out_dir):
            os.remove(os.path.join(out_dir, f))

    if args.model in C.MODELS:
        family, cfg = C.MODELS[args.model]
        W = R.manifest(family, cfg, seed=0)
        wpath = os.path.join(args.work, "weights.safetensors")
        R.save_safetensors(wpath, W.used)
        weights = R.Weights(W.used)
        ids = ([int(t) for t in args.tokens.split(",")] if args.tokens else
               [int(t) for t in np.random.default_rng(1).integers(0, cfg["vocab"], 11)])
        prompt = "--encoder-tokens" if family in R.ENCODER_DECODER else "--tokens"
        tfc_run([args.so, "--weights", wpath, prompt, ",".join(map(str, ids)),
                 "--attention-maps", out_dir])
    elif args.model == "stories260k":
        family = "llama"
        cfg = C.llama_cfg_from_hf(os.path.join(args.weights, "config.json"))
        weights = R.Weights(R.load_safetensors(os.path.join(args.weights, "model.safetensors")))
        tfc_run([args.so, "--weights", args.weights, "--prompt", args.prompt,
                 "--attention-maps", out_dir])
        with open(os.path.join(out_dir, "tokens.json")) as f:
            ids = json.load(f)["ids"]
        tokenizer = os.path.join(args.weights, "tok%d.bin" % cfg["vocab"])
        encoded = [int(t) for t in tfc_run(["--tokenizer", tokenizer, "--encode",
                                            args.prompt]).split()]
        if ids != encoded:
            fail("tokens.json ids %s != tfc-run --encode %s" % (ids, encoded))
    else:
        sys.exit("check_attention.py: unknown model %r" % args.model)

    want = reference_maps(family, cfg, weights, ids)
    layers, heads, n, _ = want.shape
    with open(os.path.join(out_dir, "tokens.json")) as f:
        meta = json.load(f)
    if meta["ids"] != ids:
        fail("tokens.json ids %s != the prompt %s" % (meta["ids"], ids))
    if len(meta["tokens"]) != n or len(meta["text"]) != n:
        fail("tokens.json has %d tokens and %d texts for %d ids" %
             (len(meta["tokens"]), len(meta["text"]), n))
    if (meta["layers"], meta["heads"]) != (layers, heads):
        fail("tokens.json says %d layers x %d heads, the reference has %d x %d" %
             (meta["layers"], meta["heads"], layers, heads))
    expected_files = {"layer%d_head%d.npy" % (l, h) for l in range(layers) for h in range(heads)}
    files = set(os.listdir(out_dir)) - {"tokens.json"}
    if files != expected_files:
        fail("map files: missing %s, extra %s" % (sorted(expected_files - files),
                                                  sorted(files - expected_files)))

    worst = 0.0
    i, j = np.indices((n, n))
    hidden = j > i
    if args.window:
        hidden |= j <= i - args.window
    for l in range(layers):
        for h in range(heads):
            path = os.path.join(out_dir, "layer%d_head%d.npy" % (l, h))
            if not os.path.exists(path):
                continue
            got = np.load(path)
            if got.dtype != np.float32 or got.shape != (n, n):
                fail("%s: %s %s, expected float32 %s" % (path, got.dtype, got.shape, (n, n)))
                continue
            err = float(np.max(np.abs(got.astype(np.float64) - want[l, h])))
            worst = max(worst, err)
            if not err <= TOL:
                fail("layer %d head %d: max |tfc - reference| = %.3g > %g" % (l, h, err, TOL))
            sums = got.astype(np.float64).sum(axis=1)
            if not np.all(np.abs(sums - 1.0) <= ROW_SUM_TOL):
                fail("layer %d head %d: row sums %s are not 1" % (l, h, sums))
            if args.causal and np.any(got[hidden] != 0.0):
                fail("layer %d head %d: masked entries are not 0: %s" %
                     (l, h, got[hidden][got[hidden] != 0.0]))
            if args.same_as:
                other = np.load(os.path.join(args.same_as, "maps", "layer%d_head%d.npy" % (l, h)))
                if not np.max(np.abs(other.astype(np.float64) - got)) <= 1e-6:
                    fail("layer %d head %d differs from %s by %.3g" %
                         (l, h, args.same_as, np.max(np.abs(other.astype(np.float64) - got))))
            if not args.causal and np.any(got <= 0.0):
                fail("layer %d head %d: a zero probability without a mask" % (l, h))
    print("%s: %d layers x %d heads of %d x %d, max |tfc - reference| = %.3g" %
          (args.model, layers, heads, n, n, worst))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
