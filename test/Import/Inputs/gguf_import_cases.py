"""Writes tiny GGUF models for the GGUF importer's tests and fuzz seeds.

    gguf_import_cases.py DIR
        DIR/<case>.gguf: a well-formed tiny model of each architecture (llama, llama-tied,
        qwen2, gpt2), and the malformed cases the importer must refuse with one error
        line (see test/Import/gguf-import-errors.test), each a tiny llama file with one
        thing wrong.

Metadata keys and tensor names are those of llama.cpp's convert_hf_to_gguf.py (ggml's
gguf-py constants); the GGUF writer is test/Runtime/Inputs/gguf_gen.py.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "Runtime", "Inputs"))
import gguf_gen as G  # noqa: E402

DIM, HEADS, KV, FFN, VOCAB, LAYERS, CTX = 8, 2, 1, 16, 11, 1, 16


def f32(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype("<f4")


def llama(arch="llama", tied=False, bias=False):
    """(kvs as {key: (type, value)}, tensors as {name: array}) of a one-layer model."""
    hd = DIM // HEADS
    kvs = {"general.architecture": (G.STRING, arch),
           arch + ".block_count": (G.UINT32, LAYERS),
           arch + ".context_length": (G.UINT32, CTX),
           arch + ".embedding_length": (G.UINT32, DIM),
           arch + ".feed_forward_length": (G.UINT32, FFN),
           arch + ".attention.head_count": (G.UINT32, HEADS),
           arch + ".attention.head_count_kv": (G.UINT32, KV),
           arch + ".rope.freq_base": (G.FLOAT32, 10000.0),
           arch + ".attention.layer_norm_rms_epsilon": (G.FLOAT32, 1e-5)}
    t = {"token_embd.weight": f32((VOCAB, DIM), 1), "output_norm.weight": f32((DIM,), 2)}
    if not tied:
        t["output.weight"] = f32((VOCAB, DIM), 3)
    shapes = {"attn_norm.weight": (DIM,), "attn_q.weight": (HEADS * hd, DIM),
              "attn_k.weight": (KV * hd, DIM), "attn_v.weight": (KV * hd, DIM),
              "attn_output.weight": (DIM, HEADS * hd), "ffn_norm.weight": (DIM,),
              "ffn_gate.weight": (FFN, DIM), "ffn_up.weight": (FFN, DIM),
              "ffn_down.weight": (DIM, FFN)}
    if bias:
        shapes.update({"attn_q.bias": (HEADS * hd,), "attn_k.bias": (KV * hd,),
                       "attn_v.bias": (KV * hd,)})
    for i in range(LAYERS):
        for k, shape in shapes.items():
            t["blk.%d.%s" % (i, k)] = f32(shape, 10 + len(t))
    return kvs, t


def gpt2():
    kvs = {"general.architecture": (G.STRING, "gpt2"),
           "gpt2.block_count": (G.UINT32, LAYERS), "gpt2.context_length": (G.UINT32, CTX),
           "gpt2.embedding_length": (G.UINT32, DIM),
           "gpt2.feed_forward_length": (G.UINT32, 4 * DIM),
           "gpt2.attention.head_count": (G.UINT32, HEADS),
           "gpt2.attention.layer_norm_epsilon": (G.FLOAT32, 1e-5)}
    t = {"token_embd.weight": f32((VOCAB, DIM), 1), "position_embd.weight": f32((CTX, DIM), 2),
         "output_norm.weight": f32((DIM,), 3), "output_norm.bias": f32((DIM,), 4),
         "output.weight": f32((VOCAB, DIM), 5)}
    shapes = {"attn_norm": [(DIM,), (DIM,)], "attn_qkv": [(3 * DIM, DIM), (3 * DIM,)],
              "attn_output": [(DIM, DIM), (DIM,)], "ffn_norm": [(DIM,), (DIM,)],
              "ffn_up": [(4 * DIM, DIM), (4 * DIM,)], "ffn_down": [(DIM, 4 * DIM), (DIM,)]}
    for i in range(LAYERS):
        for k, (w, b) in shapes.items():
            t["blk.%d.%s.weight" % (i, k)] = f32(w, 10 + len(t))
            t["blk.%d.%s.bias" % (i, k)] = f32(b, 10 + len(t))
    return kvs, t


def write(path, kvs, tensors):
    encoded = []
    for key, (vtype, v) in kvs.items():
        encoded.append(G.kv(key, vtype, v))
    G.write(path, G.build(encoded, [(n, G.ne_of(list(a.shape)), "F32", a.tobytes())
                                    for n, a in tensors.items()]))


def mutated(change):
    """A tiny llama file with `change(kvs, tensors)` applied."""
    kvs, t = llama()
    change(kvs, t)
    return kvs, t


def cases():
    good = {"llama": llama(), "llama-tied": llama(tied=True),
            "qwen2": llama("qwen2", tied=True, bias=True), "gpt2": gpt2()}

    def drop(key):
        return lambda kvs, t: kvs.pop(key)

    def put(key, vtype, v):
        return lambda kvs, t: kvs.__setitem__(key, (vtype, v))

    def tensor(name, shape):
        return lambda kvs, t: t.__setitem__(name, f32(shape, 99))

    bad = {
        "no-arch": drop("general.architecture"),
        "unknown-arch": put("general.architecture", G.STRING, "mamba"),
        "arch-number": put("general.architecture", G.UINT32, 7),
        "no-block-count": drop("llama.block_count"),
        "string-block-count": put("llama.block_count", G.STRING, "1"),
        "zero-heads": put("llama.attention.head_count", G.UINT32, 0),
        "absurd-layers": put("llama.block_count", G.UINT64, 1 << 40),
        "heads-not-dividing": put("llama.attention.head_count", G.UINT32, 3),
        "kv-not-dividing": put("llama.attention.head_count_kv", G.UINT32, 3),
        "negative-eps": put("llama.attention.layer_norm_rms_epsilon", G.FLOAT32, -1.0),
        "yarn": put("llama.rope.scaling.type", G.STRING, "yarn"),
        "partial-rope": put("llama.rope.dimension_count", G.UINT32, 2),
        "experts": put("llama.expert_count", G.UINT32, 8),
        "rope-freqs": tensor("rope_freqs.weight", (DIM // HEADS // 2,)),
        "q-shape": tensor("blk.0.attn_q.weight", (DIM, DIM + 1)),
        "no-embedding": lambda kvs, t: t.pop("token_embd.weight"),
    }
    out = {name: kt for name, kt in good.items()}
    for name, change in bad.items():
        out["bad-" + name] = mutated(change)
    return out


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, (kvs, tensors) in cases().items():
        write(os.path.join(d, name + ".gguf"), kvs, tensors)
    with open(os.path.join(d, "bad-magic.gguf"), "wb") as f:
        f.write(b"GGUX" + bytes(28))


if __name__ == "__main__":
    main()
