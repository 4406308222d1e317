#===- hf_to_gguf.py - A Hugging Face checkpoint as llama.cpp converts it ----===#
#
# hf_to_gguf.py HF_DIR OUT.gguf [--type Q8_0] [--twin DIR] [--llama2c-tokenizer TOK.bin]
#
# Writes the checkpoint of HF_DIR (an hf_checkpoint.py directory: Llama, Mistral,
# Mixtral, Qwen2, GPT-2 or DeepSeek-V2) as a GGUF file laid out as llama.cpp's
# convert_hf_to_gguf.py lays it out, written here from that script's documented
# behaviour (not its code):
#
#   * metadata `general.architecture` (llama for Llama, Mistral and Mixtral, qwen2, gpt2,
#     deepseek2) and the `{arch}.` hyperparameters (block_count, context_length,
#     embedding_length, feed_forward_length, attention.head_count[_kv], rope.freq_base,
#     attention.layer_norm[_rms]_epsilon, rope.dimension_count, key/value_length;
#     expert_count, expert_used_count; deepseek2's MLA, MoE and YaRN keys:
#     deepseek2_metadata);
#   * ggml's tensor names (token_embd, blk.{i}.attn_q, ..., output_norm, output), the
#     experts of a layer merged into one [experts, rows, cols] tensor per projection
#     (blk.{i}.ffn_{gate,up,down}_exps), the router as blk.{i}.ffn_gate_inp;
#   * llama: the rows of attn_q / attn_k permuted from the half-split rotary layout to
#     the interleaved one (LlamaModel.permute: per head, [2, hd/2] -> [hd/2, 2]);
#   * gpt2: the Conv1D weights transposed to [out, in], and output.weight written as a
#     copy of the token embedding (GPT2Model.modify_tensors).
#
# --type Q8_0 (or Q4_0, Q4_K, Q5_K, Q6_K) stores every 2-D blk.* and output matrix and the
# stacked experts (not the router) whose rows fit the type's blocks in that type
# (test/Runtime/Inputs/ggml_quantize.py), as llama-quantize would; the rest stays F32.
# --twin DIR then writes DIR, a Hugging Face directory of the same config whose tensors
# are the GGUF's values dequantized (the permutation and transposition undone, the
# experts split), so that hf_reference.py computes what the quantized file holds.
# --type Q4_K_M is llama-quantize's mixture (llama_tensor_get_type, written here from its
# rules): output.weight Q6_K, attn_v and ffn_down Q6_K in the layers i of n where i < n/8,
# i >= 7n/8 or (i - n/8) % 3 == 2, attn_qkv (GPT-2's fused projection) Q5_K, Q4_K
# elsewhere.
#
# --tensor-type REGEX=TYPE (repeatable, as llama-quantize's option of that name) gives
# the GGUF tensors whose name REGEX matches (re.search, the first option that matches)
# TYPE (a --type, or F16) instead of --type's, when their rows fit its blocks: files of
# mixed types, such as llama-quantize's Q4_0 with a Q6_K output. The twin directory then
# also holds tensor_types.json, the type of each of its tensors the file stores otherwise
# than F32 (lower case, by Hugging Face name), for quant.py check --tensor-types.
#
# --llama2c-tokenizer adds the vocabulary of a llama2.c tokenizer.bin (stories260K's
# tok512.bin) as the tokenizer.ggml.* metadata convert_hf_to_gguf.py writes for a
# SentencePiece model: pieces with U+2581 for the spaces tokenizer.bin spells out,
# <unk> unknown (type 2), <s> and </s> control (3), <0xNN> bytes (6), BOS added.
#
# --split-kv-b (deepseek2) writes kv_b_proj as newer converters do: attn_k_b
# [heads, kv_rank, nope] (each head's key rows transposed) and attn_v_b [heads, v,
# kv_rank] and no attn_kv_b, head_count_kv 1, key_length / value_length those of the
# multi-query latent (kv_rank + rope, kv_rank) and key_length_mla / value_length_mla
# the per-head sizes.
#
# `names` maps GGUF names back to Hugging Face ones, for check_hf.py --gguf.
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import re
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "Runtime", "Inputs"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tokenizer", "Inputs"))
import arrays_to_gguf  # noqa: E402
import ggml_quantize  # noqa: E402
import gguf_gen as G  # noqa: E402
import hf_reference as H  # noqa: E402
import reference as R  # noqa: E402

GGUF_ARCH = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama",
             "MixtralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
             "GPT2LMHeadModel": "gpt2", "DeepseekV2ForCausalLM": "deepseek2"}


def stacked(names):
    """The transform of a GGUF tensor that stacks Hugging Face tensors (one per expert)
    along a new leading dimension, as convert_hf_to_gguf.py merges the experts."""
    return ("stack", tuple(names))


def llama_names(arch, cfg):
    """{gguf name: (hf name, transform)} for the Llama family; transform is
    ("permute", heads) for a llama file's attn_q / attn_k (weights and biases), None
    otherwise (qwen2 files keep the half-split layout)."""
    permuted = GGUF_ARCH[arch] == "llama"
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    m = {"token_embd.weight": ("model.embed_tokens.weight", None),
         "output_norm.weight": ("model.norm.weight", None)}
    if not cfg.get("tie_word_embeddings", False):
        m["output.weight"] = ("lm_head.weight", None)
    parts = {"attn_q": ("self_attn.q_proj", heads if permuted else None),
             "attn_k": ("self_attn.k_proj", kv if permuted else None),
             "attn_v": ("self_attn.v_proj", None), "attn_output": ("self_attn.o_proj", None),
             "ffn_gate": ("mlp.gate_proj", None), "ffn_up": ("mlp.up_proj", None),
             "ffn_down": ("mlp.down_proj", None), "attn_norm": ("input_layernorm", None),
             "ffn_norm": ("post_attention_layernorm", None)}
    experts = cfg.get("num_local_experts") if arch == "MixtralForCausalLM" else None
    if experts:
        for g in ("ffn_gate", "ffn_up", "ffn_down"):
            del parts[g]
    for i in range(cfg["num_hidden_layers"]):
        for g, (h, permute_heads) in parts.items():
            for kind in ("weight", "bias"):
                transform = ("permute", permute_heads) if permute_heads else None
                m["blk.%d.%s.%s" % (i, g, kind)] = ("model.layers.%d.%s.%s" % (i, h, kind),
                                                     transform)
        if experts:
            # LlamaModel.modify_tensors: w1 / w3 / w2 of every expert merged into one
            # [experts, rows, cols] tensor per projection, the router as ffn_gate_inp.
            moe = "model.layers.%d.block_sparse_moe" % i
            m["blk.%d.ffn_gate_inp.weight" % i] = (moe + ".gate.weight", None)
            for g, w in (("gate", "w1"), ("up", "w3"), ("down", "w2")):
                hs = ["%s.experts.%d.%s.weight" % (moe, j, w) for j in range(experts)]
                m["blk.%d.ffn_%s_exps.weight" % (i, g)] = (hs[0], stacked(hs))
    return m


def deepseek2_names(cfg, split_kv_b=False):
    """DeepseekV2Model (convert_hf_to_gguf.py): ggml's MLA and MoE names, the experts
    merged per projection; no permutation (ggml rotates DeepSeek-V2 with adjacent pairs,
    the layout of modeling_deepseek.py's interleaved rotary). split_kv_b: kv_b_proj as
    newer converters write it, attn_k_b and attn_v_b instead of attn_kv_b."""
    m = {"token_embd.weight": ("model.embed_tokens.weight", None),
         "output_norm.weight": ("model.norm.weight", None),
         "output.weight": ("lm_head.weight", None)}
    parts = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attn_q": "self_attn.q_proj", "attn_q_a": "self_attn.q_a_proj",
             "attn_q_a_norm": "self_attn.q_a_layernorm", "attn_q_b": "self_attn.q_b_proj",
             "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
             "attn_kv_a_norm": "self_attn.kv_a_layernorm", "attn_kv_b": "self_attn.kv_b_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj",
             "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
             "ffn_gate_inp": "mlp.gate", "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
             "ffn_up_shexp": "mlp.shared_experts.up_proj",
             "ffn_down_shexp": "mlp.shared_experts.down_proj"}
    experts = cfg.get("n_routed_experts") or 0
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        for g, h in parts.items():
            m["blk.%d.%s.weight" % (i, g)] = (p + h + ".weight", None)
        if split_kv_b:
            kv_b = m.pop("blk.%d.attn_kv_b.weight" % i)[0]
            dims = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["v_head_dim"])
            m["blk.%d.attn_k_b.weight" % i] = (kv_b, ("k_b",) + dims)
            m["blk.%d.attn_v_b.weight" % i] = (kv_b, ("v_b",) + dims)
        # e_score_correction_bias (DeepSeek-V3) is renamed e_score_correction.bias.
        m["blk.%d.exp_probs_b.bias" % i] = (p + "mlp.gate.e_score_correction_bias", None)
        for g in ("gate", "up", "down"):
            hs = [p + "mlp.experts.%d.%s_proj.weight" % (j, g) for j in range(experts)]
            if experts:
                m["blk.%d.ffn_%s_exps.weight" % (i, g)] = (hs[0], stacked(hs))
    return m


def gpt2_names(cfg):
    m = {"token_embd.weight": ("transformer.wte.weight", None),
         "position_embd.weight": ("transformer.wpe.weight", None),
         "output_norm.weight": ("transformer.ln_f.weight", None),
         "output_norm.bias": ("transformer.ln_f.bias", None),
         "output.weight": ("transformer.wte.weight", None)}
    parts = {"attn_norm": ("ln_1", False), "attn_qkv": ("attn.c_attn", True),
             "attn_output": ("attn.c_proj", True), "ffn_norm": ("ln_2", False),
             "ffn_up": ("mlp.c_fc", True), "ffn_down": ("mlp.c_proj", True)}
    for i in range(cfg["n_layer"]):
        for g, (h, conv1d) in parts.items():
            m["blk.%d.%s.weight" % (i, g)] = ("transformer.h.%d.%s.weight" % (i, h),
                                              ("transpose",) if conv1d else None)
            m["blk.%d.%s.bias" % (i, g)] = ("transformer.h.%d.%s.bias" % (i, h), None)
    return m


def names(arch, cfg, split_kv_b=False):
    if arch == "GPT2LMHeadModel":
        return gpt2_names(cfg)
    if arch == "DeepseekV2ForCausalLM":
        return deepseek2_names(cfg, split_kv_b)
    return llama_names(arch, cfg)


def permute(w, heads):
    """LlamaModel.permute: per head, rows [2, hd/2] (half-split) -> [hd/2, 2]."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2) \
        .reshape(w.shape)


def unpermute(w, heads):
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2) \
        .reshape(w.shape)


def forward_transform(t, transform):
    if transform is None:
        return t
    if transform[0] == "stack":
        return t  # convert() stacks the tensors
    if transform[0] == "transpose":
        return t.T.copy()
    if transform[0] in ("k_b", "v_b"):
        # DeepseekV2Model.modify_tensors: kv_b [heads, nope + v, kv_rank] split into
        # k_b [heads, nope, kv_rank], written transposed [heads, kv_rank, nope], and
        # v_b [heads, v, kv_rank].
        heads, nope, v = transform[1:]
        per_head = t.reshape(heads, nope + v, t.shape[-1])
        if transform[0] == "k_b":
            return per_head[:, :nope, :].transpose(0, 2, 1).copy()
        return per_head[:, nope:, :].copy()
    return permute(t, transform[1])


def inverse_transform(t, transform):
    if transform is None or transform[0] == "stack":
        return t
    if transform[0] == "transpose":
        return t.T.copy()
    return unpermute(t, transform[1])


def metadata(arch, cfg, split_kv_b=False):
    a = GGUF_ARCH[arch]
    kvs = [G.kv("general.architecture", G.STRING, a), G.kv("general.name", G.STRING, "test")]

    def u32(key, v):
        kvs.append(G.kv("%s.%s" % (a, key), G.UINT32, int(v)))

    def f32(key, v):
        kvs.append(G.kv("%s.%s" % (a, key), G.FLOAT32, float(v)))
    if arch == "GPT2LMHeadModel":
        u32("block_count", cfg["n_layer"])
        u32("context_length", cfg["n_positions"])
        u32("embedding_length", cfg["n_embd"])
        u32("feed_forward_length", cfg.get("n_inner") or 4 * cfg["n_embd"])
        u32("attention.head_count", cfg["n_head"])
        f32("attention.layer_norm_epsilon", cfg["layer_norm_epsilon"])
        return kvs
    if arch == "DeepseekV2ForCausalLM":
        flags_and_strings = deepseek2_metadata(cfg, u32, f32, split_kv_b)
        return kvs + flags_and_strings
    L = H.llama_family_layout(arch, cfg)
    u32("block_count", L["layers"])
    u32("context_length", cfg["max_position_embeddings"])
    u32("embedding_length", L["dim"])
    u32("feed_forward_length", cfg["intermediate_size"])
    u32("attention.head_count", L["heads"])
    u32("attention.head_count_kv", L["kv_heads"])
    f32("rope.freq_base", cfg.get("rope_theta", 10000.0))
    f32("attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
    u32("vocab_size", cfg["vocab_size"])
    if "head_dim" in cfg and cfg["head_dim"]:
        u32("attention.key_length", cfg["head_dim"])
        u32("attention.value_length", cfg["head_dim"])
        u32("rope.dimension_count", cfg["head_dim"])
    if arch == "MixtralForCausalLM":
        u32("expert_count", cfg.get("num_local_experts", 8))
        u32("expert_used_count", cfg.get("num_experts_per_tok", 2))
    return kvs


def deepseek2_metadata(cfg, u32, f32, split_kv_b=False):
    """DeepseekV2Model.set_gguf_parameters. What the format cannot say is refused
    rather than written wrong: greedy routing with n_group > 1 (the file has the groups
    but not the method, and reads as group-limited), MoE layers other than every layer from first_k_dense_replace on
    (moe_layer_freq), and a YaRN `mscale` other than `mscale_all_dim` (ggml keeps only
    yarn_log_multiplier = 0.1 * mscale_all_dim and scales cos/sin by 1). u32 / f32 add
    to the caller's list; the flags and strings are returned."""
    a = "deepseek2"
    extra = []

    def flag(key, v):
        extra.append(G.kv("%s.%s" % (a, key), G.BOOL, bool(v)))

    if cfg.get("topk_method", "greedy") == "greedy" and (cfg.get("n_group") or 1) > 1:
        sys.exit("hf_to_gguf.py: greedy routing with n_group > 1 reads as grouped in GGUF")
    if (cfg.get("topk_method") != "noaux_tc" and cfg.get("norm_topk_prob")
            and cfg.get("routed_scaling_factor", 1.0) != 1.0):
        # DeepSeek-V2's MoEGate does not scale normalized weights; llama.cpp does.
        sys.exit("hf_to_gguf.py: norm_topk_prob with routed_scaling_factor means another "
                 "function in GGUF for DeepSeek-V2")
    if cfg.get("moe_layer_freq", 1) != 1:
        sys.exit("hf_to_gguf.py: moe_layer_freq != 1 has no GGUF metadata")
    u32("block_count", cfg["num_hidden_layers"])
    u32("context_length", cfg["max_position_embeddings"])
    u32("embedding_length", cfg["hidden_size"])
    u32("feed_forward_length", cfg["intermediate_size"])
    u32("attention.head_count", cfg["num_attention_heads"])
    # Newer converters (with attn_k_b / attn_v_b) write MLA as the multi-query
    # attention it decompresses to: one KV head of kv_lora_rank + rope.
    u32("attention.head_count_kv",
        1 if split_kv_b else cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
    f32("rope.freq_base", cfg.get("rope_theta", 10000.0))
    f32("attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
    u32("expert_used_count", cfg["num_experts_per_tok"])
    u32("leading_dense_block_count", cfg.get("first_k_dense_replace", 0))
    u32("vocab_size", cfg["vocab_size"])
    if cfg.get("q_lora_rank"):
        u32("attention.q_lora_rank", cfg["q_lora_rank"])
    u32("attention.kv_lora_rank", cfg["kv_lora_rank"])
    if split_kv_b:
        u32("attention.key_length", cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"])
        u32("attention.value_length", cfg["kv_lora_rank"])
        u32("attention.key_length_mla", cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"])
        u32("attention.value_length_mla", cfg["v_head_dim"])
    else:
        u32("attention.key_length", cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"])
        u32("attention.value_length", cfg["v_head_dim"])
    u32("expert_feed_forward_length", cfg["moe_intermediate_size"])
    u32("expert_count", cfg["n_routed_experts"])
    u32("expert_shared_count", cfg.get("n_shared_experts") or 0)
    # Later converters (TextModel.set_gguf_parameters) write n_group / topk_group.
    if cfg.get("n_group") is not None:
        u32("expert_group_count", cfg["n_group"])
    if cfg.get("topk_group") is not None:
        u32("expert_group_used_count", cfg["topk_group"])
    f32("expert_weights_scale", cfg.get("routed_scaling_factor", 1.0))
    flag("expert_weights_norm", cfg.get("norm_topk_prob", False))
    u32("expert_gating_func", {"softmax": 1, "sigmoid": 2}[cfg.get("scoring_func", "softmax")])
    u32("rope.dimension_count", cfg["qk_rope_head_dim"])
    rs = cfg.get("rope_scaling")
    if rs and "factor" in rs and rs.get("type", rs.get("rope_type")) == "yarn":
        if rs.get("mscale", 1.0) != rs.get("mscale_all_dim", 0.0):
            sys.exit("hf_to_gguf.py: yarn mscale != mscale_all_dim has no GGUF metadata")
        extra.append(G.kv("%s.rope.scaling.type" % a, G.STRING, "yarn"))
        f32("rope.scaling.factor", rs["factor"])
        u32("rope.scaling.original_context_length", rs["original_max_position_embeddings"])
        f32("rope.scaling.yarn_log_multiplier", 0.1 * rs["mscale_all_dim"])
    return extra


def gguf_shapes(m, split_kv_b=False):
    """{GGUF name: row-major shape} of the file convert() writes for model m."""
    out = {}
    for gname, (hname, transform) in names(m.arch, m.cfg, split_kv_b).items():
        if hname not in m.tensors:
            continue
        shape = tuple(np.shape(m.tensors[hname]))
        if transform and transform[0] == "stack":
            # The manifest names each expert's matrix `name[j]` (docs/tdsl.md, moe).
            for j in range(len(transform[1])):
                out["%s[%d]" % (gname, j)] = shape
            continue
        if transform and transform[0] in ("k_b", "v_b"):
            shape = forward_transform(np.zeros(shape, np.float32), transform).shape
        out[gname] = shape[::-1] if transform and transform[0] == "transpose" else shape
    return out


def llama2c_vocabulary(path):
    """A llama2.c tokenizer.bin (int32 max length, then per token a float32 score,
    an int32 length and the bytes) as the arrays arrays_to_gguf.tokenizer_kvs takes."""
    with open(path, "rb") as f:
        b = f.read()
    at, tokens, scores, types = 4, [], [], []
    while at < len(b):
        score, n = struct.unpack_from("<fi", b, at)
        piece = b[at + 8:at + 8 + n].decode("utf-8")
        at += 8 + n
        if len(tokens) in (1, 2):  # tokenizer.bin wraps <s> and </s> in newlines
            piece = piece.strip("\n")
        kind = 2 if piece == "<unk>" else 3 if piece in ("<s>", "</s>") else \
            6 if re.fullmatch(r"<0x[0-9A-F]{2}>", piece) else 1
        tokens.append(piece.replace(" ", "\u2581") if kind == 1 else piece)
        scores.append(score)
        types.append(kind)
    return {"model": "llama", "tokens": tokens, "scores": scores, "token_type": types,
            "bos_token_id": 1, "eos_token_id": 2, "unknown_token_id": 0,
            "add_bos_token": True, "add_eos_token": False}


def quantizable(gname, t, qtype):
    block = G.TYPES[qtype][1]
    # llama-quantize quantizes the stacked experts too, and keeps the router in F32.
    matrix = t.ndim == 2 or (t.ndim == 3 and gname.endswith("_exps.weight"))
    return (matrix and gname.endswith(".weight") and t.shape[-1] % block == 0
            and not gname.endswith("ffn_gate_inp.weight")
            and (gname.startswith("blk.") or gname == "output.weight"))


def q4_k_m_type(gname, layers):
    """The type llama-quantize's Q4_K_M gives the linear matrix `gname`
    (llama_tensor_get_type: "ffn_down" anywhere in the name, so the stacked
    experts' ffn_down_exps and the shared experts' ffn_down_shexp too, by the
    layer of their blk.N)."""
    if gname == "output.weight":
        return "Q6_K"
    if ".attn_v." in gname or ".ffn_down" in gname:
        i = int(gname.split(".")[1])
        more = i < layers // 8 or i >= 7 * layers // 8 or (i - layers // 8) % 3 == 2
        return "Q6_K" if more else "Q4_K"
    if ".attn_qkv." in gname:
        return "Q5_K"
    return "Q4_K"


def tensor_type(gname, rules):
    """The type the first of `rules` ((regex, type), --tensor-type) that matches
    gives the GGUF tensor `gname`, or None."""
    for pattern, ttype in rules:
        if re.search(pattern, gname):
            return ttype
    return None


def convert(src, dst, qtype=None, twin=None, vocabulary=None, split_kv_b=False,
            tensor_types=()):
    m = H.load(src)
    table = names(m.arch, m.cfg, split_kv_b)
    tensors, dequantized, halves, types = [], {}, {}, {}
    for gname, (hname, transform) in table.items():
        if hname not in m.tensors:
            continue
        if transform and transform[0] == "stack":
            t = np.stack([np.asarray(m.tensors[h], dtype=np.float32) for h in transform[1]])
        else:
            t = forward_transform(np.asarray(m.tensors[hname], dtype=np.float32), transform)
        raw_bytes, tname = t.astype("<f4").tobytes(), "F32"
        layers = m.cfg.get("num_hidden_layers", m.cfg.get("n_layer"))  # GPT-2: n_layer
        ttype = q4_k_m_type(gname, layers) if qtype == "Q4_K_M" else qtype
        ttype = tensor_type(gname, tensor_types) or ttype
        if ttype == "F16" and quantizable(gname, t, ttype):
            raw_bytes, tname = t.astype("<f2").tobytes(), ttype
            back = t.astype(np.float16).astype(np.float32)
        elif ttype and ttype != "F16" and quantizable(gname, t, ttype):
            raw_bytes, tname = ggml_quantize.QUANTIZERS[ttype](t.reshape(-1)).tobytes(), ttype
            back = G.dequantize(ttype, raw_bytes).reshape(t.shape)
        else:
            back = t
        tensors.append((gname, G.ne_of(list(t.shape)), tname, raw_bytes))
        if tname != "F32":
            for h in (transform[1] if transform and transform[0] == "stack" else [hname]):
                types.setdefault(h, tname.lower())
        if transform and transform[0] == "stack":
            for h, matrix in zip(transform[1], back.astype(np.float32)):
                dequantized[h] = matrix
            continue
        if transform and transform[0] in ("k_b", "v_b"):
            # The twin's kv_b_proj: both halves put back in their rows.
            halves.setdefault(hname, {})[transform[0]] = back.astype(np.float32)
            if len(halves[hname]) == 2:
                k_b, v_b = halves[hname]["k_b"], halves[hname]["v_b"]
                kv_b = np.concatenate([k_b.transpose(0, 2, 1), v_b], axis=1)
                dequantized[hname] = kv_b.reshape(-1, kv_b.shape[-1])
            continue
        # The twin keeps the first of names sharing a tensor (GPT-2's output copy).
        dequantized.setdefault(hname, inverse_transform(back.astype(np.float32), transform))
    kvs = metadata(m.arch, m.cfg, split_kv_b)
    if vocabulary:
        kvs += arrays_to_gguf.tokenizer_kvs(vocabulary)
    G.write(dst, G.build(kvs, tensors))
    if twin:
        os.makedirs(twin, exist_ok=True)
        shutil.copy(os.path.join(src, "config.json"), os.path.join(twin, "config.json"))
        R.save_safetensors(os.path.join(twin, "model.safetensors"), dequantized)
        if tensor_types:
            with open(os.path.join(twin, "tensor_types.json"), "w") as f:
                json.dump(types, f, indent=1, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--type", choices=sorted(ggml_quantize.QUANTIZERS) + ["Q4_K_M"])
    ap.add_argument("--twin")
    ap.add_argument("--llama2c-tokenizer")
    ap.add_argument("--split-kv-b", action="store_true",
                    help="deepseek2: attn_k_b and attn_v_b instead of attn_kv_b, with the "
                         "MQA-style key/value lengths and *_mla lengths of newer converters")
    ap.add_argument("--tensor-type", action="append", default=[], metavar="REGEX=TYPE",
                    help="the type of the tensors whose GGUF name REGEX matches (first match; "
                         "TYPE: a --type or F16)")
    args = ap.parse_args()
    rules = []
    for rule in args.tensor_type:
        pattern, _, ttype = rule.rpartition("=")
        if not pattern or ttype not in list(ggml_quantize.QUANTIZERS) + ["F16"]:
            ap.error("--tensor-type %s: expected REGEX=TYPE" % rule)
        rules.append((pattern, ttype))
    vocabulary = llama2c_vocabulary(args.llama2c_tokenizer) if args.llama2c_tokenizer else None
    convert(args.src, args.dst, args.type, args.twin, vocabulary, args.split_kv_b, rules)


if __name__ == "__main__":
    main()
