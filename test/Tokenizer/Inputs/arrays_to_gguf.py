"""Writes a vocabulary given as arrays (reference.js's arrays-*.json) as the
tokenizer metadata of a GGUF file: tokenizer.ggml.model, .tokens, .scores,
.token_type, .merges, the special ids, .add_bos_token/.add_eos_token and
.pre, with the GGUF writer of test/Runtime/Inputs/gguf_gen.py (no tensors).

usage: arrays_to_gguf.py ARRAYS.json OUT.gguf
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Runtime", "Inputs"))
import gguf_gen as g  # noqa: E402


def tokenizer_kvs(arrays):
    """The tokenizer.ggml.* metadata of a vocabulary given as arrays."""
    kvs = [g.kv("tokenizer.ggml.model", g.STRING, arrays["model"]),
           g.kv("tokenizer.ggml.tokens", g.ARRAY, (g.STRING, arrays["tokens"]))]
    if "scores" in arrays:
        kvs.append(g.kv("tokenizer.ggml.scores", g.ARRAY, (g.FLOAT32, arrays["scores"])))
    if "token_type" in arrays:
        kvs.append(g.kv("tokenizer.ggml.token_type", g.ARRAY, (g.INT32, arrays["token_type"])))
    if "merges" in arrays:
        kvs.append(g.kv("tokenizer.ggml.merges", g.ARRAY, (g.STRING, arrays["merges"])))
    for key in ("bos_token_id", "eos_token_id", "unknown_token_id", "seperator_token_id",
                "padding_token_id"):
        if key in arrays:
            kvs.append(g.kv("tokenizer.ggml." + key, g.UINT32, arrays[key]))
    for key in ("add_bos_token", "add_eos_token", "add_space_prefix"):
        if key in arrays:
            kvs.append(g.kv("tokenizer.ggml." + key, g.BOOL, arrays[key]))
    if "pre" in arrays:
        kvs.append(g.kv("tokenizer.ggml.pre", g.STRING, arrays["pre"]))
    return kvs


def main():
    arrays = json.load(open(sys.argv[1], encoding="utf-8"))
    kvs = [g.kv("general.architecture", g.STRING, "tokenizer-test")] + tokenizer_kvs(arrays)
    g.write(sys.argv[2], g.build(kvs, []))


if __name__ == "__main__":
    main()
