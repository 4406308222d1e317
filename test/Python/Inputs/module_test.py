#===- module_test.py - The tfc Python module against the numpy reference ---===#
#
# module_test.py TDSL WORK [TOKENIZER]
#     Compiles the reduced Llama TDSL (test/Numeric/Inputs/llama_small.tdsl) with
#     tfc.compile, loads seeded random weights written by the float64 reference
#     (test/Numeric/lib/reference.py) and checks through the tfc package: the model
#     info and manifest, decode (all rows and last row, in chunks) and decode_batch
#     (three sessions at different positions) against the reference's logits, greedy
#     generate against the reference's greedy decoding, the sampler, errors as
#     TfcError, and that logits come back without a copy. With TOKENIZER (stories260K's
#     tok512.bin): encode and decode. Prints "ok: ..." per check, exits 1 on a failure.
#
#===----------------------------------------------------------------------===#
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
sys.path.insert(0, os.path.join(SRC, "test", "Numeric", "lib"))
import tfc  # noqa: E402
import reference as R  # noqa: E402
from check import MODELS, TOL, rel_err  # noqa: E402


def expect(cond, what):
    if not cond:
        print("FAIL: " + what)
        sys.exit(1)


def close(got, want, what):
    err = rel_err(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64))
    expect(err <= TOL, "%s: relative error %g above %g" % (what, err, TOL))


def main():
    tdsl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    family, cfg = MODELS["llama_small"]
    W = R.manifest(family, cfg, seed=3)
    weights = os.path.join(work, "weights.safetensors")
    R.save_safetensors(weights, W.used)

    lib = tfc.Library(tfc.compile(tdsl, os.path.join(work, "model.so")))
    info = lib.info
    expect(info["name"] == "llama_small" and info["vocab_size"] == cfg["vocab"] and
           info["n_kv_heads"] == cfg["kv_heads"] and info["abi_version"] == tfc.ABI_VERSION,
           "info %s" % info)
    manifest = dict(lib.weights())
    expect(set(manifest) == set(W.used) and
           all(manifest[k] == W.used[k].shape for k in manifest), "manifest")
    print("ok: info and manifest (%d weights)" % len(manifest))

    model = lib.load(weights)
    tokens = [5, 17, 96, 0, 33, 41, 2]
    want = R.forward(family, cfg, W.used, tokens)
    s = model.session(32)
    got = s.decode(tokens, all_logits=True)
    expect(got.shape == (len(tokens), cfg["vocab"]) and got.dtype == np.float32, "shape")
    expect(got.flags.owndata and got.flags.c_contiguous, "logits are the array the model wrote")
    close(got, want, "decode all rows")
    s.reset()
    close(s.decode(tokens[:4]), want[3], "chunk 1")
    close(s.decode(np.array(tokens[4:], dtype=np.int32)), want[-1], "chunk 2")
    expect(s.pos == len(tokens), "position")
    print("ok: decode matches the reference (all rows, and in chunks)")

    # Three sessions at positions 0, 2 and 5, advanced together by 3, 1 and 2 tokens.
    prefixes = [[], [9, 8], [1, 2, 3, 4, 5]]
    steps = [[7, 7, 7], [60], [11, 12]]
    sessions = [model.session(16) for _ in prefixes]
    for sess, p in zip(sessions, prefixes):
        if p:
            sess.decode(p)
    rows = tfc.decode_batch(sessions, steps, all_logits=True)
    lasts = None
    for k, (p, new) in enumerate(zip(prefixes, steps)):
        ref = R.forward(family, cfg, W.used, p + new)
        close(rows[k], ref[len(p):], "decode_batch session %d" % k)
        expect(sessions[k].pos == len(p) + len(new), "decode_batch position %d" % k)
    lasts = tfc.decode_batch(sessions, [[3], [4], [5]])
    for k, (p, new) in enumerate(zip(prefixes, steps)):
        ref = R.forward(family, cfg, W.used, p + new + [3 + k])
        close(lasts[k], ref[-1], "decode_batch last row %d" % k)
    print("ok: decode_batch of sessions at positions 0, 2, 5 matches the reference")

    prompt = [1, 50, 23]
    ids = model.generate(prompt, max_tokens=6)
    expect(ids == R.greedy(family, cfg, W.used, prompt, 6), "greedy generate %s" % ids)
    expect(model.generate(prompt, 6, tfc.Sampler(temperature=0.8, top_k=1)) == ids,
           "top_k 1 is greedy")
    a = model.generate(prompt, 6, tfc.Sampler(temperature=1.0, top_p=0.9, seed=7))
    b = model.generate(prompt, 6, tfc.Sampler(temperature=1.0, top_p=0.9, seed=7))
    expect(a == b and all(0 <= t < cfg["vocab"] for t in a), "seeded sampling")
    print("ok: generate (greedy equals the reference's; seeded sampling repeats)")

    try:
        s.decode([cfg["vocab"] + 1])
        expect(False, "a bad token must raise")
    except tfc.TfcError as e:
        expect("vocabulary" in str(e), "error text %s" % e)
    try:
        tfc.decode_batch(sessions, [[1], [cfg["vocab"]], [2]])
        expect(False, "a refused session must raise")
    except tfc.TfcError as e:
        expect("session 1" in str(e), "batch error text %s" % e)
    try:
        model.attention_maps(tokens)
        expect(False, "attention maps of a model without them must raise")
    except tfc.TfcError as e:
        expect("--emit-attention" in str(e), "maps error text %s" % e)
    print("ok: errors raise TfcError")

    # The attention maps of a build with --emit-attention against the reference's
    # softmax probabilities (GQA: 8 query heads over 2 K/V heads).
    maps_lib = tfc.Library(tfc.compile(tdsl, os.path.join(work, "maps.so"),
                                       options=["--emit-attention"]))
    maps = maps_lib.load(weights).attention_maps(tokens)
    R.PROBABILITIES = []
    R.forward(family, cfg, W.used, tokens)
    ref, R.PROBABILITIES = np.stack(R.PROBABILITIES), None
    expect(maps.shape == ref.shape and maps.dtype == np.float32, "maps shape %s" % (maps.shape,))
    expect(np.max(np.abs(maps - ref)) <= 2e-5, "maps differ by %g" % np.max(np.abs(maps - ref)))
    print("ok: attention_maps matches the reference")

    if len(sys.argv) > 3:
        tok = tfc.Tokenizer(sys.argv[3])
        ids = tok.encode("Once upon a time")
        expect(ids == [1, 403, 407, 261, 378], "encode %s" % ids)
        expect(tok.decode(ids[1:]).strip() == "Once upon a time", "decode")
        print("ok: tokenizer encode and decode")

        # A Hugging Face directory (the tokenizer's, stories260K's): compiled and
        # loaded as such, its greedy continuation is the model's known one
        # (../shared/models/README.md).
        directory = os.path.dirname(os.path.abspath(sys.argv[3]))
        hf = tfc.Library(tfc.compile(directory, os.path.join(work, "hf.so")))
        expect(hf.info["name"] and hf.info["vocab_size"] == 512, "info %s" % hf.info)
        generated = hf.load(directory).generate(ids, 10)
        expect(generated == [432, 383, 286, 261, 376, 298, 315, 421, 395, 317],
               "generate %s" % generated)
        print("ok: a Hugging Face directory compiled, loaded and generating")


main()
