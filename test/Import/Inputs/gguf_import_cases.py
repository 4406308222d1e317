"""Writes tiny GGUF models for the GGUF importer's tests and fuzz seeds.

    gguf_import_cases.py DIR
        DIR/<case>.gguf: a well-formed tiny model of each architecture (llama, llama-tied,
        qwen2, gpt2, llama-moe: Mixtral-style experts, deepseek2), and the malformed
        cases the importer must refuse with one error line (see
        test/Import/gguf-import-errors.test), each a tiny llama, llama-moe or deepseek2
        file with one thing wrong.

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


EXPERTS, USED, MOE_FFN = 4, 2, 8


def llama_moe():
    """A Mixtral-style llama file: expert_count experts stacked per projection
    ([experts, rows, cols] ffn_{gate,up,down}_exps) and the router ffn_gate_inp."""
    kvs, t = llama()
    kvs["llama.expert_count"] = (G.UINT32, EXPERTS)
    kvs["llama.expert_used_count"] = (G.UINT32, USED)
    for i in range(LAYERS):
        for k in ("ffn_gate", "ffn_up", "ffn_down"):
            t.pop("blk.%d.%s.weight" % (i, k))
        t["blk.%d.ffn_gate_inp.weight" % i] = f32((EXPERTS, DIM), 50)
        t["blk.%d.ffn_gate_exps.weight" % i] = f32((EXPERTS, FFN, DIM), 51)
        t["blk.%d.ffn_up_exps.weight" % i] = f32((EXPERTS, FFN, DIM), 52)
        t["blk.%d.ffn_down_exps.weight" % i] = f32((EXPERTS, DIM, FFN), 53)
    return kvs, t


def deepseek2(q_rank=4):
    """A two-layer deepseek2 file (DeepseekV2Model's keys): latent attention with a
    q_lora_rank, a dense first layer (leading_dense_block_count), then experts with a
    shared one."""
    a, kv_rank, rope, nope, v = "deepseek2", 4, 2, 2, 3
    kvs = {"general.architecture": (G.STRING, a),
           a + ".block_count": (G.UINT32, 2), a + ".context_length": (G.UINT32, CTX),
           a + ".embedding_length": (G.UINT32, DIM),
           a + ".feed_forward_length": (G.UINT32, FFN),
           a + ".attention.head_count": (G.UINT32, HEADS),
           a + ".attention.head_count_kv": (G.UINT32, HEADS),
           a + ".rope.freq_base": (G.FLOAT32, 10000.0),
           a + ".attention.layer_norm_rms_epsilon": (G.FLOAT32, 1e-6),
           a + ".expert_used_count": (G.UINT32, USED),
           a + ".leading_dense_block_count": (G.UINT32, 1),
           a + ".attention.q_lora_rank": (G.UINT32, q_rank),
           a + ".attention.kv_lora_rank": (G.UINT32, kv_rank),
           a + ".attention.key_length": (G.UINT32, nope + rope),
           a + ".attention.value_length": (G.UINT32, v),
           a + ".expert_feed_forward_length": (G.UINT32, MOE_FFN),
           a + ".expert_count": (G.UINT32, EXPERTS),
           a + ".expert_shared_count": (G.UINT32, 1),
           a + ".expert_weights_scale": (G.FLOAT32, 1.0),
           a + ".expert_weights_norm": (G.BOOL, False),
           a + ".expert_gating_func": (G.UINT32, 1),
           a + ".rope.dimension_count": (G.UINT32, rope)}
    t = {"token_embd.weight": f32((VOCAB, DIM), 1), "output_norm.weight": f32((DIM,), 2),
         "output.weight": f32((VOCAB, DIM), 3)}
    attn = {"attn_norm.weight": (DIM,), "ffn_norm.weight": (DIM,),
            "attn_q_a.weight": (q_rank, DIM), "attn_q_a_norm.weight": (q_rank,),
            "attn_q_b.weight": (HEADS * (nope + rope), q_rank),
            "attn_kv_a_mqa.weight": (kv_rank + rope, DIM), "attn_kv_a_norm.weight": (kv_rank,),
            "attn_kv_b.weight": (HEADS * (nope + v), kv_rank),
            "attn_output.weight": (DIM, HEADS * v)}
    dense = {"ffn_gate.weight": (FFN, DIM), "ffn_up.weight": (FFN, DIM),
             "ffn_down.weight": (DIM, FFN)}
    moe = {"ffn_gate_inp.weight": (EXPERTS, DIM),
           "ffn_gate_exps.weight": (EXPERTS, MOE_FFN, DIM),
           "ffn_up_exps.weight": (EXPERTS, MOE_FFN, DIM),
           "ffn_down_exps.weight": (EXPERTS, DIM, MOE_FFN),
           "ffn_gate_shexp.weight": (MOE_FFN, DIM), "ffn_up_shexp.weight": (MOE_FFN, DIM),
           "ffn_down_shexp.weight": (DIM, MOE_FFN)}
    for i, mlp in enumerate((dense, moe)):
        for k, shape in {**attn, **mlp}.items():
            t["blk.%d.%s" % (i, k)] = f32(shape, 10 + len(t))
    return kvs, t


def deepseek2_split():
    """deepseek2() as newer converters write it: attn_kv_b split into attn_k_b
    [heads, kv_rank, nope] (per head, transposed) and attn_v_b [heads, v, kv_rank],
    head_count_kv 1, key/value_length those of the multi-query latent and the
    per-head sizes in key_length_mla / value_length_mla."""
    kvs, t = deepseek2()
    a, kv_rank, rope, nope, v = "deepseek2", 4, 2, 2, 3
    kvs[a + ".attention.head_count_kv"] = (G.UINT32, 1)
    kvs[a + ".attention.key_length"] = (G.UINT32, kv_rank + rope)
    kvs[a + ".attention.value_length"] = (G.UINT32, kv_rank)
    kvs[a + ".attention.key_length_mla"] = (G.UINT32, nope + rope)
    kvs[a + ".attention.value_length_mla"] = (G.UINT32, v)
    for i in range(2):
        kv_b = t.pop("blk.%d.attn_kv_b.weight" % i).reshape(HEADS, nope + v, kv_rank)
        t["blk.%d.attn_k_b.weight" % i] = kv_b[:, :nope, :].transpose(0, 2, 1).copy()
        t["blk.%d.attn_v_b.weight" % i] = kv_b[:, nope:, :].copy()
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


def mutated(change, base=llama):
    """A tiny llama file (or `base()`'s) with `change(kvs, tensors)` applied."""
    kvs, t = base()
    change(kvs, t)
    return kvs, t


def cases():
    no_experts = llama()
    no_experts[0]["llama.expert_count"] = (G.UINT32, 0)  # some converters write 0
    good = {"llama": llama(), "llama-tied": llama(tied=True), "llama-0-experts": no_experts,
            "qwen2": llama("qwen2", tied=True, bias=True), "gpt2": gpt2(),
            "llama-moe": llama_moe(), "deepseek2": deepseek2(),
            "deepseek2-split": deepseek2_split()}

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
        "experts": lambda kvs, t: kvs.update({"llama.expert_count": (G.UINT32, 8),
                                               "llama.expert_used_count": (G.UINT32, 2)}),
        "rope-freqs": tensor("rope_freqs.weight", (DIM // HEADS // 2,)),
        "q-shape": tensor("blk.0.attn_q.weight", (DIM, DIM + 1)),
        "no-embedding": lambda kvs, t: t.pop("token_embd.weight"),
    }
    ds = "deepseek2."

    def split_kv_b(kvs, t):
        # attn_kv_b split as newer converters do, but attn_k_b left untransposed
        # ([heads, nope, kv_rank] instead of [heads, kv_rank, nope]).
        t.pop("blk.0.attn_kv_b.weight")
        t["blk.0.attn_k_b.weight"] = f32((HEADS, 2, 4), 98)
        t["blk.0.attn_v_b.weight"] = f32((HEADS, 3, 4), 97)

    # Mixture-of-experts cases: Mixtral-style llama files and deepseek2 files.
    bad_moe = {
        "experts-used-more": (llama_moe, put("llama.expert_used_count", G.UINT32, 5)),
        "experts-no-used": (llama_moe, drop("llama.expert_used_count")),
        "experts-used-alone": (llama, put("llama.expert_used_count", G.UINT32, 2)),
        "experts-string-count": (llama_moe, put("llama.expert_count", G.STRING, "4")),
        "exps-shape": (llama_moe, tensor("blk.0.ffn_up_exps.weight", (EXPERTS, DIM, FFN))),
        "exps-2d": (llama_moe, tensor("blk.0.ffn_gate_exps.weight", (FFN, DIM))),
        "ds-no-kv-rank": (deepseek2, drop(ds + "attention.kv_lora_rank")),
        "ds-rope-too-wide": (deepseek2, put(ds + "rope.dimension_count", G.UINT32, 4)),
        "ds-dense-too-many": (deepseek2, put(ds + "leading_dense_block_count", G.UINT32, 3)),
        "ds-norm-not-bool": (deepseek2, put(ds + "expert_weights_norm", G.UINT32, 1)),
        "ds-negative-scale": (deepseek2, put(ds + "expert_weights_scale", G.FLOAT32, -2.5)),
        "ds-gating": (deepseek2, put(ds + "expert_gating_func", G.UINT32, 7)),
        "ds-groups": (deepseek2, lambda kvs, t: kvs.update({
            ds + "expert_group_count": (G.UINT32, 3),
            ds + "expert_group_used_count": (G.UINT32, 1)})),
        "ds-group-used": (deepseek2, lambda kvs, t: kvs.update({
            ds + "expert_group_count": (G.UINT32, 2),
            ds + "expert_group_used_count": (G.UINT32, 3)})),
        "ds-yarn-log-mul": (deepseek2, lambda kvs, t: kvs.update({
            ds + "rope.scaling.type": (G.STRING, "yarn"),
            ds + "rope.scaling.factor": (G.FLOAT32, 4.0),
            ds + "rope.scaling.original_context_length": (G.UINT32, 8),
            ds + "rope.scaling.yarn_log_multiplier": (G.FLOAT32, -0.1)})),
        "ds-rope-linear": (deepseek2, put(ds + "rope.scaling.type", G.STRING, "linear")),
        "ds-split-kv-b": (deepseek2, split_kv_b),
        "ds-sigmoid-no-bias": (deepseek2, put(ds + "expert_gating_func", G.UINT32, 2)),
        "ds-softmax-bias": (deepseek2, tensor("blk.1.exp_probs_b.bias", (EXPERTS,))),
        "ds-no-shexp": (deepseek2, lambda kvs, t: t.pop("blk.1.ffn_down_shexp.weight")),
        "ds-shexp-shape": (deepseek2, tensor("blk.1.ffn_down_shexp.weight", (DIM, 2 * MOE_FFN))),
    }
    out = {name: kt for name, kt in good.items()}
    for name, change in bad.items():
        out["bad-" + name] = mutated(change)
    for name, (base, change) in bad_moe.items():
        out["bad-" + name] = mutated(change, base)
    # Well-formed for the importer, but with an expert fewer in one stacked tensor than
    # a model compiled from llama-moe.gguf names (an error at load).
    out["llama-moe-3-up"] = mutated(tensor("blk.0.ffn_up_exps.weight", (EXPERTS - 1, FFN, DIM)),
                                    llama_moe)
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
