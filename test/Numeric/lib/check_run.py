#===- check_run.py - tfc-run on a model directory vs the numpy reference ----===#
#
# check_run.py embed    MODEL.so DIR --text TEXT
# check_run.py generate MODEL.so DIR (--tokens 1,2 | --source-tokens 4,5 | --source TEXT)
#                       [-n N] [--eos-at K]
#
# Runs tfc-run (from PATH) on a model compiled from the Hugging Face directory DIR
# with `--weights DIR`, the way a user does, and checks what it prints against
# hf_reference.py's float64 forward pass of the same directory:
#
#   embed: `--prompt TEXT --embed` (the directory's tokenizer) against the
#       sentence-transformers default of bert_forward's last_hidden_state for the
#       ids `tfc-run --tokenizer DIR/tokenizer.json --encode TEXT` gives: the mean of
#       the token rows (Pooling, mode "mean", no padding) divided by its L2 norm
#       (Normalize), relative error <= 2e-4;
#   generate: the ids tfc-run prints against a greedy loop written here from
#       transformers' generate(): the decoder starts from generation_config.json's
#       decoder_start_token_id for an encoder-decoder, its bad_words_ids never win,
#       and the ids stop after any eos_token_id, which is printed. --eos-at K first
#       rewrites generation_config.json's eos_token_id to the K-th id (from 1) the
#       loop generates, the first new one from there on, so that the stop is tested
#       on a random model too. With --source TEXT the source ids are those of
#       `--encode TEXT`, and tfc-run's text mode (`--source TEXT`, the directory's
#       tokenizer) must print the `--decode` text of the generated ids, eos left out.
#
# Exit status 0 when tfc-run matches, 1 otherwise (with both sides printed).
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as H  # noqa: E402

TOL = 2e-4


def tfc_run(args):
    out = subprocess.run(["tfc-run"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode != 0:
        sys.exit("check_run.py: tfc-run %s failed: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout


def _ids(text):
    return [int(t) for t in text.replace(",", " ").split()]


def check_embed(args):
    m = H.load(args.dir)
    ids = _ids(tfc_run(["--tokenizer", os.path.join(args.dir, "tokenizer.json"),
                        "--encode", args.text]))
    hidden = H.bert_forward(m, ids, heads=False)[0]
    mean = hidden.mean(axis=0)
    want = mean / max(np.linalg.norm(mean), 1e-12)
    got = np.array([float(v) for v in tfc_run([args.so, "--weights", args.dir, "--prompt",
                                               args.text, "--embed"]).split()])
    if got.shape != want.shape:
        print("FAIL: tfc-run printed %d values, the embedding has %d" % (got.size, want.size))
        return 1
    err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    print("ids %s: embedding of %d values, rel err %.3e, |e| = %.6f" %
          (ids, got.size, err, np.linalg.norm(got)))
    if err > TOL:
        print("FAIL: rel err %.3e > %g" % (err, TOL))
        return 1
    print("PASS")
    return 0


def generation_settings(directory):
    """generation_config.json when the directory has one, else config.json (as
    GenerationConfig.from_pretrained / from_model_config choose)."""
    path = os.path.join(directory, "generation_config.json")
    if not os.path.exists(path):
        path = os.path.join(directory, "config.json")
    with open(path) as f:
        return json.load(f), path


def greedy(m, prompt, source, steps, gen):
    """generate(do_sample=False) without a length limit other than steps."""
    eos = gen.get("eos_token_id")
    eos = set([eos] if isinstance(eos, int) else eos or [])
    banned = [words[0] for words in gen.get("bad_words_ids") or []]
    cache, memory = H.KVCache(), None
    if source is not None:
        memory = H.marian_encode(m, source)
        prompt = prompt or [gen["decoder_start_token_id"]]
    logits, out = H.decode(m, list(prompt), cache, memory), []
    for _ in range(steps):
        last = logits[-1].copy()
        last[banned] = -np.inf
        out.append(int(np.argmax(last)))
        if out[-1] in eos:
            break
        logits = H.decode(m, [out[-1]], cache, memory)
    return list(prompt), out


def check_generate(args):
    m = H.load(args.dir)
    tokens = _ids(args.tokens) if args.tokens else None
    source = _ids(args.source_tokens) if args.source_tokens else None
    tokenizer = os.path.join(args.dir, "tokenizer.json")
    if args.source:
        source = _ids(tfc_run(["--tokenizer", tokenizer, "--encode", args.source]))
    gen, gen_path = generation_settings(args.dir)
    prompt, out = greedy(m, tokens, source, args.n, gen)
    if args.eos_at:
        k = args.eos_at - 1
        while k < len(out) and out[k] in out[:k]:
            k += 1
        if k >= len(out):
            sys.exit("check_run.py: no new id from position %d of %s" % (args.eos_at, out))
        gen["eos_token_id"] = out[k]
        with open(gen_path, "w") as f:
            json.dump(gen, f, indent=2, sort_keys=True)
        prompt, out = greedy(m, tokens, source, args.n, gen)
        if out[-1] != gen["eos_token_id"]:
            sys.exit("check_run.py: the reference did not stop at eos %d" % gen["eos_token_id"])
    run = [args.so, "--weights", args.dir, "-n", str(args.n)]
    if tokens:
        run += ["--tokens", ",".join(map(str, tokens))]
    if source:
        run += ["--encoder-tokens", ",".join(map(str, source))]
    got = _ids(tfc_run(run))
    want = prompt + out
    print("reference: %s" % " ".join(map(str, want)))
    print("tfc-run:   %s" % " ".join(map(str, got)))
    if got != want:
        print("FAIL: the ids differ")
        return 1
    if args.source:
        text_ids = [t for t in out if t != gen["eos_token_id"]]
        want_text = tfc_run(["--tokenizer", tokenizer, "--decode", ",".join(map(str, text_ids))])
        got_text = tfc_run([args.so, "--weights", args.dir, "--source", args.source,
                            "-n", str(args.n)])
        print("text: %r" % got_text)
        if got_text != want_text:
            print("FAIL: --source %r printed %r, the ids decode to %r" %
                  (args.source, got_text, want_text))
            return 1
    print("PASS: %d ids generated%s" % (len(out), " (stopped at eos %d)" % out[-1]
                                        if args.eos_at else ""))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("embed")
    e.add_argument("so")
    e.add_argument("dir")
    e.add_argument("--text", required=True)
    g = sub.add_parser("generate")
    g.add_argument("so")
    g.add_argument("dir")
    g.add_argument("--tokens")
    g.add_argument("--source-tokens")
    g.add_argument("--source")
    g.add_argument("-n", type=int, default=12)
    g.add_argument("--eos-at", type=int)
    args = ap.parse_args()
    return check_embed(args) if args.mode == "embed" else check_generate(args)


if __name__ == "__main__":
    sys.exit(main())
