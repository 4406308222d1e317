#===- check_hf.py - Compare a model compiled from a Hugging Face checkpoint --===#
#
# check_hf.py ARCH MODEL.so HARNESS --checkpoint DIR [--load PATH] [--work W]
#             [--tokens 1,2,..] [--chunks 5,1,3,..] [--source-tokens 4,5,..] [--gguf]
#
# Runs MODEL.so through the numeric harness (Inputs/harness.c, via check.py's
# Checker) on the weights of the checkpoint directory DIR (an hf_checkpoint.py
# directory or a real one) and compares what the C ABI gives with hf_reference.py's
# float64 forward pass of the same directory: relative error max|a-b| / max|b| <= 2e-4.
#
#   causal LMs (Llama, Mistral, Qwen2, Mixtral, DeepSeek-V2, GPT-2): tfc_decode's logits for the prompt
#       whole, in chunks, and in chunks with last-token logits only;
#   BertModel, BertForMaskedLM: tfc_encode = last_hidden_state;
#   MarianMTModel: tfc_encode(source ids), then tfc_decode(target ids, all_logits = 1),
#       whole and in chunks.
#
# Also checks that the reference reads every tensor of the checkpoint, and that the
# compiled manifest holds the checkpoint's tensors (both under save_pretrained's names,
# hub layouts renamed and buffers dropped): all those the compared output reads, optionally
# the heads it does not (BertModel's pooler, the MLM head), nothing else, with the
# config's sizes in tfc_info.
# ARCH is the checkpoint's architecture (class or hf_checkpoint.py short name).
# --load is what the harness hands to tfc_model_load (default: DIR itself; a
# .safetensors file or the sharded index work as well). --gguf: the model was compiled
# from the GGUF file hf_to_gguf.py wrote of DIR (--load), so its manifest must be that
# file's tensors under ggml's names. Exit status 0 when everything
# matches, 1 otherwise; every failure is printed.
#
#===----------------------------------------------------------------------===#

import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402
import hf_checkpoint  # noqa: E402
import hf_reference as H  # noqa: E402
import hf_to_gguf  # noqa: E402

TOL = 2e-4


def expected_info(m):
    """The tfc_info fields a compiled model of m must report."""
    c = m.cfg
    if m.arch == "GPT2LMHeadModel":
        return dict(vocab_size=c["vocab_size"], dim=c["n_embd"], n_layers=c["n_layer"],
                    n_heads=c["n_head"], has_encoder=0, has_decoder=1)
    if m.arch in H.ENCODERS:
        return dict(vocab_size=c["vocab_size"], dim=c["hidden_size"],
                    n_layers=c["num_hidden_layers"], n_heads=c["num_attention_heads"],
                    has_encoder=1, has_decoder=0)
    if m.arch in H.ENCODER_DECODERS:
        return dict(vocab_size=c["vocab_size"], dim=c["d_model"], has_encoder=1, has_decoder=1)
    if m.arch in H.DEEPSEEK:
        return dict(vocab_size=c["vocab_size"], dim=c["hidden_size"],
                    n_layers=c["num_hidden_layers"], n_heads=c["num_attention_heads"],
                    has_encoder=0, has_decoder=1)
    L = H.llama_family_layout(m.arch, c)
    return dict(vocab_size=L["vocab"], dim=L["dim"], n_layers=L["layers"], n_heads=L["heads"],
                n_kv_heads=L["kv_heads"], has_encoder=0, has_decoder=1)


def seeded_ids(seed, vocab, n):
    """n seeded random ids that include the first and the last id of the vocabulary."""
    ids = [int(t) for t in np.random.default_rng(seed).integers(0, vocab, n)]
    ids[min(3, n - 1)] = vocab - 1
    ids[min(5, n - 1)] = 0
    return ids


def check_hf(args):
    own_work = not args.work
    work = args.work or tempfile.mkdtemp(prefix="tfc-check-hf-")
    os.makedirs(work, exist_ok=True)
    C = check.Checker(args.so, args.harness, work, tol=TOL)

    m = H.load(args.checkpoint)
    arch = hf_checkpoint.ARCHITECTURES.get(args.arch, args.arch)
    if arch != m.arch:
        sys.exit("check_hf.py: %s is a %s checkpoint, not %s" % (args.checkpoint, m.arch, arch))
    vocab = m.cfg["vocab_size"]
    tokens = [int(t) for t in args.tokens.split(",")] if args.tokens else seeded_ids(1, vocab, 11)
    source = None
    if m.arch in H.ENCODER_DECODERS:
        source = ([int(t) for t in args.source_tokens.split(",")] if args.source_tokens
                  else seeded_ids(2, vocab, 9))
    elif args.source_tokens:
        sys.exit("check_hf.py: --source-tokens is for encoder-decoder models")
    chunks = [int(c) for c in args.chunks.split(",")] if args.chunks else None
    if chunks is None and m.arch not in H.ENCODERS:
        chunks = [5, 1, 3, 1, 1] if len(tokens) == 11 else [len(tokens) - 1, 1]
    if chunks is not None and sum(chunks) != len(tokens):
        sys.exit("check_hf.py: chunks %s do not add up to %d tokens" % (chunks, len(tokens)))

    want = H.forward(m, tokens, source)
    # What the compared output reads must be in the manifest; the rest of the checkpoint
    # (BertModel's pooler, BertForMaskedLM's head) may be.
    needed = set(m.W.used)
    unused = H.check_all_used(m)
    if unused:
        C.fail("the reference does not read tensors %s" % unused)

    read = C.read_manifest()
    if read is not None:
        got, info = read
        if args.gguf:
            # Every tensor of the GGUF file, under its own name, and nothing else.
            C.compare_weights(got, hf_to_gguf.gguf_shapes(m, args.split_kv_b), {})
        else:
            # A model imported from a hub layout names its weights as the file does.
            got = H.canonical_names(m.arch, got)
            shapes = {k: tuple(v.shape) for k, v in m.tensors.items()}
            C.compare_weights(got, {k: v for k, v in shapes.items() if k in needed},
                              {k: v for k, v in shapes.items() if k not in needed})
        for k, v in expected_info(m).items():
            if info.get(k) != v:
                C.fail("tfc_info: %s = %s, the config says %s" % (k, info.get(k), v))
        print("manifest: %d weights checked against %s" % (len(got), args.checkpoint))

    wargs = [os.path.abspath(args.load or args.checkpoint), "--tokens", ",".join(map(str, tokens))]
    if source:
        wargs += ["--encoder-tokens", ",".join(map(str, source))]
    C.compare_prompt(wargs, want, chunks)

    if C.failures:
        print("%d check(s) failed; files kept in %s" % (C.failures, work))
        return 1
    print("PASS: %s (%s) matches the Hugging Face reference" % (args.checkpoint, m.arch))
    if own_work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch")
    ap.add_argument("so")
    ap.add_argument("harness")
    ap.add_argument("--checkpoint", required=True, help="the Hugging Face model directory")
    ap.add_argument("--load", help="the path tfc_model_load gets (default: the directory)")
    ap.add_argument("--work", help="directory for outputs (default: a new temp dir)")
    ap.add_argument("--tokens", help="input_ids (decoder_input_ids for Marian)")
    ap.add_argument("--chunks", help="chunk sizes of the prompt, e.g. 5,1,3,1,1")
    ap.add_argument("--source-tokens", help="Marian: the encoder's input_ids")
    ap.add_argument("--split-kv-b", action="store_true",
                    help="with --gguf: the file has attn_k_b / attn_v_b (hf_to_gguf.py --split-kv-b)")
    ap.add_argument("--gguf", action="store_true",
                    help="the model was compiled from hf_to_gguf.py's file of the checkpoint")
    return check_hf(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
