#===- hf_checkpoint.py - Small random Hugging Face checkpoints for tests ---===#
#
# Writes a model directory the way transformers' `save_pretrained` writes it, for
# the architectures of issue 17: config.json, model.safetensors (or two shards and
# model.safetensors.index.json) and, for generative models, generation_config.json.
# The tensors are seeded random and small (2-3 layers, widths 64, vocab 97), with
# the exact names, shapes and layouts of the Hugging Face state dict:
#
#   * tied weights are absent, as save_pretrained drops them (lm_head with
#     tie_word_embeddings, Marian's embed_tokens and lm_head tied to model.shared,
#     BERT's MLM decoder tied to the word embeddings and its decoder.bias);
#   * non-persistent buffers are absent (GPT-2's attn.bias, BERT's position_ids),
#     persistent ones present (Marian's final_logits_bias [1, vocab]);
#   * GPT-2's Conv1D weights are [in, out] (c_attn fused q|k|v);
#   * BertModel keeps its pooler, BertForMaskedLM has none (add_pooling_layer=False)
#     and carries the "bert." prefix.
#
# config.json holds every field transformers 4.x writes for the class (its
# to_diff_dict keeps all class attributes, sorted, indented by 2); the "v5" variant
# writes transformers 5.x's form instead (rope_parameters for rope_theta and
# rope_scaling, dtype for torch_dtype). The "hub" variant writes the layouts found in
# the original hub repositories (GPT-2 without the "transformer." prefix and with the
# attn.bias / attn.masked_bias buffers; BERT with LayerNorm.gamma/beta and an int64
# embeddings.position_ids buffer), which transformers still loads.
#
#   hf_checkpoint.py ARCH OUT_DIR [--variant V[,V...]] [--set FIELD=JSON] [--seed S]
#                    [--dtype F32|F16|BF16] [--tokenizer] [--list]
#
# ARCH is a class name of ARCHITECTURES or its short name (llama, mistral, qwen2,
# gpt2, bert, bert-mlm, marian); the variants are listed in VARIANTS. --set overrides
# (or with a null value, sets to null) one config.json field after the variants, e.g.
# --set hidden_act=gelu_pytorch_tanh (activation_function for GPT-2 and Marian).
# --tokenizer also writes the directory's tokenizer.json and tokenizer_config.json
# (hf_tokenizer.py: BERT and Marian). --list prints the files written and, read back
# from them, each tensor's name, dtype and shape.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizer  # noqa: E402
import reference as R  # noqa: E402

# The transformers versions whose save_pretrained output the two config forms copy.
TRANSFORMERS_4 = "4.56.1"
TRANSFORMERS_5 = "5.0.0"

ARCHITECTURES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "mixtral": "MixtralForCausalLM",
    "deepseek-v2": "DeepseekV2ForCausalLM",
    "deepseek-v3": "DeepseekV3ForCausalLM",
    "gpt2": "GPT2LMHeadModel",
    "bert": "BertModel",
    "bert-mlm": "BertForMaskedLM",
    "marian": "MarianMTModel",
}
MODEL_TYPES = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
    "MixtralForCausalLM": "mixtral", "DeepseekV2ForCausalLM": "deepseek_v2",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "GPT2LMHeadModel": "gpt2", "BertModel": "bert", "BertForMaskedLM": "bert",
    "MarianMTModel": "marian",
}
ROPE_MODELS = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "MixtralForCausalLM")
MOE_MODELS = ("MixtralForCausalLM", "DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM")

#===----------------------------------------------------------------------===#
# config.json (transformers 4.x form: every attribute of the config class)
#===----------------------------------------------------------------------===#


def _llama_config():
    """LlamaConfig (configuration_llama.py); sizes those of test/Numeric/Inputs/llama_small."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "head_dim": 8, "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
        "intermediate_size": 96, "max_position_embeddings": 64, "mlp_bias": False,
        "num_attention_heads": 8, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": 97,
    }


def _mistral_config():
    """MistralConfig (configuration_mistral.py): no biases, sliding_window 4096 by default
    (longer than any test prompt; the sliding-window variant shortens it)."""
    return {
        "architectures": ["MistralForCausalLM"], "model_type": "mistral",
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16,
        "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
        "intermediate_size": 128, "max_position_embeddings": 64, "num_attention_heads": 4,
        "num_hidden_layers": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-05,
        "rope_theta": 1000000.0, "sliding_window": 4096, "tie_word_embeddings": False,
        "use_cache": True, "vocab_size": 97,
    }


def _qwen2_config():
    """Qwen2Config (configuration_qwen2.py): q/k/v biases, tied embeddings as the small
    Qwen2 models have them; sliding_window is null unless use_sliding_window, and
    layer_types (4.53+) spells which layers use it (i >= max_window_layers)."""
    return {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "attention_dropout": 0.0, "hidden_act": "silu", "hidden_size": 64,
        "initializer_range": 0.02, "intermediate_size": 96,
        "layer_types": ["full_attention"] * 3, "max_position_embeddings": 64,
        "max_window_layers": 28, "num_attention_heads": 4, "num_hidden_layers": 3,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None,
        "rope_theta": 10000.0, "sliding_window": None, "tie_word_embeddings": True,
        "use_cache": True, "use_sliding_window": False, "vocab_size": 97,
    }


def _mixtral_config():
    """MixtralConfig (configuration_mixtral.py): Mistral's attention (no window by
    default) and 8 SwiGLU experts of intermediate_size, 2 per token."""
    return {
        "architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16,
        "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
        "intermediate_size": 32, "max_position_embeddings": 64, "num_attention_heads": 4,
        "num_experts_per_tok": 2, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "num_local_experts": 8, "output_router_logits": False, "rms_norm_eps": 1e-05,
        "rope_theta": 1000000.0, "router_aux_loss_coef": 0.02, "router_jitter_noise": 0.0,
        "sliding_window": None, "tie_word_embeddings": False, "use_cache": True,
        "vocab_size": 97,
    }


def _deepseek_v2_config():
    """DeepseekV2Config (the checkpoint's configuration_deepseek.py, trust_remote_code),
    shaped like DeepSeek-V2-Lite: MLA without q_lora_rank, a dense first layer
    (first_k_dense_replace), then 8 routed experts of moe_intermediate_size (top 2,
    greedy, not normalized, routed_scaling_factor 1) and 2 shared experts."""
    return {
        "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
        "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekV2Config",
                     "AutoModel": "modeling_deepseek.DeepseekV2Model",
                     "AutoModelForCausalLM": "modeling_deepseek.DeepseekV2ForCausalLM"},
        "attention_bias": False, "attention_dropout": 0.0, "aux_loss_alpha": 0.001,
        "bos_token_id": 100000, "eos_token_id": 100001, "ep_size": 1,
        "first_k_dense_replace": 1, "hidden_act": "silu", "hidden_size": 64,
        "initializer_range": 0.02, "intermediate_size": 96, "kv_lora_rank": 32,
        "max_position_embeddings": 64, "moe_intermediate_size": 32, "moe_layer_freq": 1,
        "n_group": 1, "n_routed_experts": 8, "n_shared_experts": 2, "norm_topk_prob": False,
        "num_attention_heads": 4, "num_experts_per_tok": 2, "num_hidden_layers": 3,
        "num_key_value_heads": 4, "pretraining_tp": 1, "q_lora_rank": None,
        "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 10000.0, "routed_scaling_factor": 1.0,
        "scoring_func": "softmax", "seq_aux": True, "tie_word_embeddings": False,
        "topk_group": 1, "topk_method": "greedy", "use_cache": True, "v_head_dim": 16,
        "vocab_size": 97,
    }


def _set_group_limited(cfg):
    # DeepSeek-V2's routing: 4 groups of 2 experts, the best group, both its experts,
    # the weights scaled (norm_topk_prob false), a q_lora_rank.
    cfg.update(topk_method="group_limited_greedy", n_group=4, topk_group=1,
               num_experts_per_tok=2, routed_scaling_factor=2.5, q_lora_rank=24)


def _set_v3_routing(cfg):
    # DeepSeek-V3's router (its config.json's fields): sigmoid scores, noaux_tc with
    # 4 groups of 2 experts, the best 2 groups, 3 experts, normalized then scaled,
    # and an e_score_correction_bias per MoE layer (make_tensors).
    cfg.update(scoring_func="sigmoid", topk_method="noaux_tc", n_group=4, topk_group=2,
               num_experts_per_tok=3, norm_topk_prob=True, routed_scaling_factor=2.5)


def _deepseek_v3_config():
    """DeepSeek-V3's config.json as transformers' own DeepseekV3Config writes it: the
    V2 layout (q_lora_rank) with the V3 router's fields, but no topk_method or
    scoring_func (the architecture implies noaux_tc and sigmoid)."""
    cfg = _deepseek_v2_config()
    _set_v3_routing(cfg)
    cfg.update(architectures=["DeepseekV3ForCausalLM"], model_type="deepseek_v3",
               q_lora_rank=24)
    del cfg["auto_map"], cfg["topk_method"], cfg["scoring_func"]
    return cfg


def _gpt2_config():
    """GPT2Config (configuration_gpt2.py); n_inner null means 4 * n_embd."""
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "activation_function": "gelu_new", "attn_pdrop": 0.1, "bos_token_id": 96,
        "embd_pdrop": 0.1, "eos_token_id": 96, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "n_embd": 64, "n_head": 4, "n_inner": None, "n_layer": 2,
        "n_positions": 64, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "use_cache": True,
        "vocab_size": 97,
    }


def _bert_config(arch):
    """BertConfig (configuration_bert.py)."""
    return {
        "architectures": [arch], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 64, "initializer_range": 0.02,
        "intermediate_size": 128, "layer_norm_eps": 1e-12, "max_position_embeddings": 64,
        "num_attention_heads": 4, "num_hidden_layers": 2, "pad_token_id": 0,
        "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
        "vocab_size": 97,
    }


def _marian_config():
    """MarianConfig (configuration_marian.py), set up as the Opus-MT models are: swish,
    scaled embeddings, pad = decoder start = the last id, eos 0, the pad id banned from
    generation (bad_words_ids, which save_pretrained carries to generation_config.json)."""
    return {
        "architectures": ["MarianMTModel"], "model_type": "marian",
        "activation_dropout": 0.0, "activation_function": "swish", "attention_dropout": 0.0,
        "bad_words_ids": [[96]],
        "d_model": 64, "decoder_attention_heads": 4, "decoder_ffn_dim": 128,
        "decoder_layerdrop": 0.0, "decoder_layers": 2, "decoder_start_token_id": 96,
        "decoder_vocab_size": 97, "dropout": 0.1, "encoder_attention_heads": 4,
        "encoder_ffn_dim": 128, "encoder_layerdrop": 0.0, "encoder_layers": 2,
        "eos_token_id": 0, "forced_eos_token_id": 0, "init_std": 0.02,
        "is_encoder_decoder": True, "max_position_embeddings": 64, "num_hidden_layers": 2,
        "pad_token_id": 96, "scale_embedding": True, "share_encoder_decoder_embeddings": True,
        "use_cache": True, "vocab_size": 97,
    }


BASE_CONFIGS = {
    "LlamaForCausalLM": _llama_config,
    "MistralForCausalLM": _mistral_config,
    "Qwen2ForCausalLM": _qwen2_config,
    "MixtralForCausalLM": _mixtral_config,
    "DeepseekV2ForCausalLM": _deepseek_v2_config,
    "DeepseekV3ForCausalLM": _deepseek_v3_config,
    "GPT2LMHeadModel": _gpt2_config,
    "BertModel": lambda: _bert_config("BertModel"),
    "BertForMaskedLM": lambda: _bert_config("BertForMaskedLM"),
    "MarianMTModel": _marian_config,
}

#===----------------------------------------------------------------------===#
# Variants: config edits, and the layout switches (v5, sharded, hub)
#===----------------------------------------------------------------------===#


def _set_sliding_window(cfg):
    if cfg["model_type"] == "qwen2":
        # Layers 1 and 2 slide, layer 0 attends to everything (max_window_layers).
        cfg.update(use_sliding_window=True, sliding_window=5, max_window_layers=1)
        cfg["layer_types"] = ["full_attention" if i < 1 else "sliding_attention"
                              for i in range(cfg["num_hidden_layers"])]
    else:
        cfg["sliding_window"] = 5


def _set_head_dim(cfg):
    # head_dim twice hidden_size / heads: q_proj is [heads * head_dim, hidden] != square.
    cfg["head_dim"] = 2 * cfg["hidden_size"] // cfg["num_attention_heads"]


# The llama3 band edges with head_dim 8 and theta 10000: wavelengths 2 pi theta^(2j/8)
# are 6.3, 63, 628, 6283; low/high-frequency wavelengths 64 / 16 put one pair in each
# band (kept, smoothed, divided by factor) and the second within 1% of the low edge.
LLAMA3_SCALING = {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                  "original_max_position_embeddings": 64, "rope_type": "llama3"}

# DeepSeek-V2's yarn (its config has factor 40, original 4096, beta 32 / 1, mscale and
# mscale_all_dim 0.707), scaled to rope_dim 8: the correction range of beta_fast /
# beta_slow over 64 positions is dimensions 0 to 2, so the 4 frequencies are kept,
# blended and divided; mscale 1 against mscale_all_dim 0.707 scales cos/sin by 1 / 1.098
# and the softmax by 1.098^2.
DEEPSEEK_YARN = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                 "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.707}

# name -> (architectures it applies to, or None for all; edit of the 4.x config, or None
# for the layout switches handled by write_checkpoint).
VARIANTS = {
    "rope-linear": (ROPE_MODELS, lambda c: c.update(
        rope_scaling={"factor": 2.0, "rope_type": "linear"})),
    "rope-llama3": (ROPE_MODELS, lambda c: c.update(rope_scaling=dict(LLAMA3_SCALING),
                                                    rope_theta=10000.0)),
    "head-dim": (("LlamaForCausalLM", "MistralForCausalLM"), _set_head_dim),
    "attention-bias": (("LlamaForCausalLM",), lambda c: c.update(attention_bias=True)),
    "mlp-bias": (("LlamaForCausalLM",), lambda c: c.update(mlp_bias=True)),
    "tied": (ROPE_MODELS + ("GPT2LMHeadModel",), lambda c: c.update(tie_word_embeddings=True)),
    "untied": (ROPE_MODELS + ("GPT2LMHeadModel",),
               lambda c: c.update(tie_word_embeddings=False)),
    "sliding-window": (("MistralForCausalLM", "Qwen2ForCausalLM", "MixtralForCausalLM"),
                       _set_sliding_window),
    # Router rows 2 and 3 copies of row 1 (tripled) in every layer: three experts
    # with equal scores for every token, the best of all for about half the tokens,
    # so that ties decide which of them are selected.
    "router-ties": (MOE_MODELS, None),
    "group-limited": (("DeepseekV2ForCausalLM",), _set_group_limited),
    "norm-topk": (("DeepseekV2ForCausalLM",), lambda c: c.update(norm_topk_prob=True)),
    "v3-routing": (("DeepseekV2ForCausalLM",), _set_v3_routing),
    "mtp": (("DeepseekV3ForCausalLM",), lambda c: c.update(num_nextn_predict_layers=1)),
    "yarn": (("DeepseekV2ForCausalLM",), lambda c: c.update(
        rope_scaling=dict(DEEPSEEK_YARN), max_position_embeddings=256)),
    "no-scale-embedding": (("MarianMTModel",), lambda c: c.update(scale_embedding=False)),
    "v5": (None, None),
    "sharded": (None, None),
    "hub": (("GPT2LMHeadModel", "BertModel", "BertForMaskedLM"), None),
}


def make_config(arch, variants=(), overrides=None):
    """The 4.x config.json dict of arch with the variants' edits and the overrides."""
    cfg = BASE_CONFIGS[arch]()
    for v in variants:
        if v not in VARIANTS:
            raise ValueError("unknown variant %r (known: %s)" % (v, ", ".join(sorted(VARIANTS))))
        archs, edit = VARIANTS[v]
        if archs is not None and arch not in archs:
            raise ValueError("variant %s does not apply to %s" % (v, arch))
        if edit is not None:
            edit(cfg)
    for k, v in (overrides or {}).items():
        cfg[k] = v
    return cfg


def to_v5(cfg):
    """transformers 5.x's form of the same config: rope_theta and rope_scaling become
    one rope_parameters dict (with rope_type "default" when unscaled, "type" spelled
    rope_type), torch_dtype becomes dtype."""
    out = dict(cfg)
    if "rope_theta" in out:
        scaling = out.pop("rope_scaling", None) or {}
        params = {k: v for k, v in scaling.items() if k != "type"}
        params["rope_type"] = scaling.get("rope_type", scaling.get("type", "default"))
        params["rope_theta"] = out.pop("rope_theta")
        out["rope_parameters"] = params
    if "torch_dtype" in out:
        out["dtype"] = out.pop("torch_dtype")
    out["transformers_version"] = TRANSFORMERS_5
    return out


_TORCH_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def generation_config(cfg):
    """generation_config.json as save_pretrained derives it from the model config."""
    keys = ("bad_words_ids", "bos_token_id", "decoder_start_token_id", "eos_token_id",
            "forced_eos_token_id", "pad_token_id")
    out = {"_from_model_config": True}
    out.update((k, cfg[k]) for k in keys if cfg.get(k) is not None)
    out["transformers_version"] = cfg["transformers_version"]
    return out

#===----------------------------------------------------------------------===#
# State dicts: (name, shape, kind) in module registration order
#===----------------------------------------------------------------------===#

# kind is reference.Weights' initialisation kind ("embed", "weight", "bias", "norm").


def _linear(out, prefix, d_out, d_in, bias):
    out.append((prefix + ".weight", (d_out, d_in), "weight"))
    if bias:
        out.append((prefix + ".bias", (d_out,), "bias"))


def _norm(out, prefix, d, bias, weight="weight", bias_name="bias"):
    out.append(("%s.%s" % (prefix, weight), (d,), "norm"))
    if bias:
        out.append(("%s.%s" % (prefix, bias_name), (d,), "bias"))


def _layer_norms(out, p, dim):
    """The two RMS norms of a pre-norm decoder layer (Llama, Mixtral, DeepSeek-V2)."""
    _norm(out, p + ".input_layernorm", dim, False)
    _norm(out, p + ".post_attention_layernorm", dim, False)


def _final_norm_and_head(out, c, dim):
    """model.norm, then lm_head unless tied to the embedding."""
    _norm(out, "model.norm", dim, False)
    if not c.get("tie_word_embeddings", False):
        _linear(out, "lm_head", c["vocab_size"], dim, False)
    return out


def _llama_family_tensors(c):
    """LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM (modeling_llama.py:
    LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP; Qwen2Attention has q/k/v
    biases and none on o_proj; Mistral has no biases)."""
    mt = c["model_type"]
    dim, heads = c["hidden_size"], c["num_attention_heads"]
    kv = c.get("num_key_value_heads") or heads
    hd = c.get("head_dim") or dim // heads
    ffn = c["intermediate_size"]
    qkv_bias = {"llama": c.get("attention_bias", False), "mistral": False, "mixtral": False,
                "qwen2": True}[mt]
    o_bias = mt == "llama" and c.get("attention_bias", False)
    mlp_bias = mt == "llama" and c.get("mlp_bias", False)
    out = [("model.embed_tokens.weight", (c["vocab_size"], dim), "embed")]
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d" % i
        _linear(out, p + ".self_attn.q_proj", heads * hd, dim, qkv_bias)
        _linear(out, p + ".self_attn.k_proj", kv * hd, dim, qkv_bias)
        _linear(out, p + ".self_attn.v_proj", kv * hd, dim, qkv_bias)
        _linear(out, p + ".self_attn.o_proj", dim, heads * hd, o_bias)
        if mt == "mixtral":
            # MixtralSparseMoeBlock: the router, then the experts' w1, w2, w3.
            m = p + ".block_sparse_moe"
            _linear(out, m + ".gate", c["num_local_experts"], dim, False)
            for e in range(c["num_local_experts"]):
                _linear(out, "%s.experts.%d.w1" % (m, e), ffn, dim, False)
                _linear(out, "%s.experts.%d.w2" % (m, e), dim, ffn, False)
                _linear(out, "%s.experts.%d.w3" % (m, e), ffn, dim, False)
        else:
            _linear(out, p + ".mlp.gate_proj", ffn, dim, mlp_bias)
            _linear(out, p + ".mlp.up_proj", ffn, dim, mlp_bias)
            _linear(out, p + ".mlp.down_proj", dim, ffn, mlp_bias)
        _layer_norms(out, p, dim)
    return _final_norm_and_head(out, c, dim)


def _deepseek_v2_tensors(c):
    """DeepseekV2ForCausalLM (the checkpoint's modeling_deepseek.py: DeepseekV2Attention
    with q_proj, or q_a_proj / q_a_layernorm / q_b_proj with q_lora_rank;
    kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj; DeepseekV2MLP on the dense
    layers; DeepseekV2MoE: experts, MoEGate's weight, shared_experts)."""
    dim, heads = c["hidden_size"], c["num_attention_heads"]
    qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
    kv_rank, q_rank = c["kv_lora_rank"], c.get("q_lora_rank")
    out = [("model.embed_tokens.weight", (c["vocab_size"], dim), "embed")]

    def mlp(p, ffn):
        _linear(out, p + ".gate_proj", ffn, dim, False)
        _linear(out, p + ".up_proj", ffn, dim, False)
        _linear(out, p + ".down_proj", dim, ffn, False)

    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d" % i
        a = p + ".self_attn"
        if q_rank:
            _linear(out, a + ".q_a_proj", q_rank, dim, False)
            _norm(out, a + ".q_a_layernorm", q_rank, False)
            _linear(out, a + ".q_b_proj", heads * qk, q_rank, False)
        else:
            _linear(out, a + ".q_proj", heads * qk, dim, False)
        _linear(out, a + ".kv_a_proj_with_mqa", kv_rank + c["qk_rope_head_dim"], dim, False)
        _norm(out, a + ".kv_a_layernorm", kv_rank, False)
        _linear(out, a + ".kv_b_proj", heads * (c["qk_nope_head_dim"] + c["v_head_dim"]),
                kv_rank, False)
        _linear(out, a + ".o_proj", dim, heads * c["v_head_dim"], False)
        if (c.get("n_routed_experts") and i >= c["first_k_dense_replace"] and
                i % c["moe_layer_freq"] == 0):
            for e in range(c["n_routed_experts"]):
                mlp("%s.mlp.experts.%d" % (p, e), c["moe_intermediate_size"])
            out.append((p + ".mlp.gate.weight", (c["n_routed_experts"], dim), "weight"))
            if (c.get("topk_method") == "noaux_tc" or
                    c["architectures"] == ["DeepseekV3ForCausalLM"]):
                out.append((p + ".mlp.gate.e_score_correction_bias", (c["n_routed_experts"],),
                            "bias"))
            if c.get("n_shared_experts"):
                mlp(p + ".mlp.shared_experts", c["moe_intermediate_size"] * c["n_shared_experts"])
        else:
            mlp(p + ".mlp", c["intermediate_size"])
        _layer_norms(out, p, dim)
    out = _final_norm_and_head(out, c, dim)
    # DeepSeek-V3's multi-token-prediction modules (num_nextn_predict_layers) follow
    # the last layer as model.layers.{num_hidden_layers + j}: the parts of one that
    # are not a decoder layer (enorm, hnorm, eh_proj, shared_head.norm). No next-token
    # forward reads them.
    for j in range(c.get("num_nextn_predict_layers") or 0):
        p = "model.layers.%d" % (c["num_hidden_layers"] + j)
        _norm(out, p + ".enorm", dim, False)
        _norm(out, p + ".hnorm", dim, False)
        _linear(out, p + ".eh_proj", dim, 2 * dim, False)
        _norm(out, p + ".shared_head.norm", dim, False)
    return out


def _gpt2_tensors(c, hub=False):
    """GPT2LMHeadModel (modeling_gpt2.py: GPT2Model, GPT2Block, GPT2Attention, GPT2MLP;
    Conv1D weights are [in, out]). hub: the original openai-community/gpt2 layout."""
    dim, npos = c["n_embd"], c["n_positions"]
    inner = c.get("n_inner") or 4 * dim
    t = "" if hub else "transformer."
    out = [(t + "wte.weight", (c["vocab_size"], dim), "embed"),
           (t + "wpe.weight", (npos, dim), "embed")]
    for i in range(c["n_layer"]):
        p = "%sh.%d" % (t, i)
        _norm(out, p + ".ln_1", dim, True)
        if hub:
            out.append((p + ".attn.bias", (1, 1, npos, npos), "causal_buffer"))
            out.append((p + ".attn.masked_bias", (), "masked_bias_buffer"))
        out += [(p + ".attn.c_attn.weight", (dim, 3 * dim), "weight"),
                (p + ".attn.c_attn.bias", (3 * dim,), "bias"),
                (p + ".attn.c_proj.weight", (dim, dim), "weight"),
                (p + ".attn.c_proj.bias", (dim,), "bias")]
        _norm(out, p + ".ln_2", dim, True)
        out += [(p + ".mlp.c_fc.weight", (dim, inner), "weight"),
                (p + ".mlp.c_fc.bias", (inner,), "bias"),
                (p + ".mlp.c_proj.weight", (inner, dim), "weight"),
                (p + ".mlp.c_proj.bias", (dim,), "bias")]
    _norm(out, t + "ln_f", dim, True)
    if not c.get("tie_word_embeddings", True):
        _linear(out, "lm_head", c["vocab_size"], dim, False)
    return out


def _bert_tensors(c, mlm, hub=False):
    """BertModel / BertForMaskedLM (modeling_bert.py: BertEmbeddings, BertSelfAttention,
    BertSelfOutput, BertIntermediate, BertOutput, BertPooler, BertOnlyMLMHead).
    hub: LayerNorm.gamma/beta names and the int64 position_ids buffer of old files."""
    dim, ffn = c["hidden_size"], c["intermediate_size"]
    b = "bert." if mlm else ""
    w, bn = ("gamma", "beta") if hub else ("weight", "bias")
    out = [(b + "embeddings.word_embeddings.weight", (c["vocab_size"], dim), "embed"),
           (b + "embeddings.position_embeddings.weight", (c["max_position_embeddings"], dim),
            "embed"),
           (b + "embeddings.token_type_embeddings.weight", (c["type_vocab_size"], dim), "embed")]
    _norm(out, b + "embeddings.LayerNorm", dim, True, w, bn)
    if hub:
        out.append((b + "embeddings.position_ids", (1, c["max_position_embeddings"]),
                    "position_ids_buffer"))
    for i in range(c["num_hidden_layers"]):
        p = "%sencoder.layer.%d" % (b, i)
        for m in ("query", "key", "value"):
            _linear(out, p + ".attention.self." + m, dim, dim, True)
        _linear(out, p + ".attention.output.dense", dim, dim, True)
        _norm(out, p + ".attention.output.LayerNorm", dim, True, w, bn)
        _linear(out, p + ".intermediate.dense", ffn, dim, True)
        _linear(out, p + ".output.dense", dim, ffn, True)
        _norm(out, p + ".output.LayerNorm", dim, True, w, bn)
    if mlm:
        _linear(out, "cls.predictions.transform.dense", dim, dim, True)
        _norm(out, "cls.predictions.transform.LayerNorm", dim, True, w, bn)
        out.append(("cls.predictions.bias", (c["vocab_size"],), "bias"))
    else:
        _linear(out, "pooler.dense", dim, dim, True)
    return out


def _marian_tensors(c):
    """MarianMTModel (modeling_marian.py: MarianModel, MarianEncoderLayer,
    MarianDecoderLayer, MarianAttention): model.shared is the one embedding (encoder and
    decoder embed_tokens and lm_head are tied to it); the sinusoidal embed_positions are
    never saved (_keys_to_ignore_on_save); final_logits_bias is a persistent buffer."""
    dim, vocab = c["d_model"], c["vocab_size"]
    out = [("final_logits_bias", (1, vocab), "bias"),
           ("model.shared.weight", (vocab, dim), "embed")]

    def attn(p):
        for m in ("k_proj", "v_proj", "q_proj", "out_proj"):
            _linear(out, p + "." + m, dim, dim, True)

    for side in ("encoder", "decoder"):
        ffn = c[side + "_ffn_dim"]
        for i in range(c[side + "_layers"]):
            p = "model.%s.layers.%d" % (side, i)
            attn(p + ".self_attn")
            _norm(out, p + ".self_attn_layer_norm", dim, True)
            if side == "decoder":
                attn(p + ".encoder_attn")
                _norm(out, p + ".encoder_attn_layer_norm", dim, True)
            _linear(out, p + ".fc1", ffn, dim, True)
            _linear(out, p + ".fc2", dim, ffn, True)
            _norm(out, p + ".final_layer_norm", dim, True)
    return out


def state_dict_layout(arch, cfg, hub=False):
    """[(name, shape, kind)] of the checkpoint save_pretrained (or the hub) holds."""
    if arch in ROPE_MODELS:
        return _llama_family_tensors(cfg)
    if arch in ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"):
        return _deepseek_v2_tensors(cfg)
    if arch == "GPT2LMHeadModel":
        return _gpt2_tensors(cfg, hub)
    if arch in ("BertModel", "BertForMaskedLM"):
        return _bert_tensors(cfg, arch == "BertForMaskedLM", hub)
    if arch == "MarianMTModel":
        return _marian_tensors(cfg)
    raise ValueError("unknown architecture %r" % arch)


def make_tensors(arch, cfg, seed=0, dtype="F32", hub=False):
    """{name: array} in state-dict order: float tensors seeded random (reference.Weights'
    scales, rounded to dtype), buffers with the values transformers gives them.
    Returns (tensors, {name: safetensors dtype} for tensors not stored as dtype)."""
    W = R.Weights(seed=seed)
    tensors, dtypes = {}, {}
    for name, shape, kind in state_dict_layout(arch, cfg, hub):
        if kind == "causal_buffer":
            n = shape[-1]
            tensors[name] = np.tril(np.ones((n, n))).reshape(shape)
        elif kind == "masked_bias_buffer":
            tensors[name] = np.array(-1e4)
        elif kind == "position_ids_buffer":
            tensors[name] = np.arange(shape[1], dtype=np.int64).reshape(shape)
            dtypes[name] = "I64"
        else:
            tensors[name] = R.round_to_dtype(W(name, shape, kind), dtype)
    return tensors, dtypes

#===----------------------------------------------------------------------===#
# Writing the directory
#===----------------------------------------------------------------------===#

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def _write_json(path, obj):
    # PretrainedConfig.to_json_string: indent 2, sorted keys, trailing newline.
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _tensor_bytes(a, dtype):
    size = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8}[dtype]
    return int(np.prod(a.shape, dtype=np.int64)) * size


def write_checkpoint(arch, out_dir, variants=(), overrides=None, seed=0, dtype="F32"):
    """Writes the model directory; returns (config dict as written, {name: array})."""
    arch = ARCHITECTURES.get(arch, arch)
    if arch not in BASE_CONFIGS:
        raise ValueError("unknown architecture %r (known: %s)" %
                         (arch, ", ".join(sorted(ARCHITECTURES.values()))))
    cfg = make_config(arch, variants, overrides)
    cfg["torch_dtype"] = _TORCH_DTYPES[dtype]
    cfg["transformers_version"] = TRANSFORMERS_4
    if "v5" in variants:
        cfg = to_v5(cfg)
    tensors, dtypes = make_tensors(arch, cfg, seed, dtype, hub="hub" in variants)
    if "v3-routing" in variants:
        # A correction bias of the size of the sigmoid scores' spread, so that it
        # changes which experts are chosen.
        for name, t in tensors.items():
            if name.endswith("e_score_correction_bias"):
                t *= 4
    if "router-ties" in variants:
        for name, t in tensors.items():
            if name.endswith(".gate.weight"):
                t[1] *= 3
                t[2] = t[3] = t[1]
    os.makedirs(out_dir, exist_ok=True)
    _write_json(os.path.join(out_dir, "config.json"), cfg)
    if arch not in ("BertModel", "BertForMaskedLM"):
        _write_json(os.path.join(out_dir, "generation_config.json"), generation_config(cfg))
    meta = {"format": "pt"}
    if "sharded" in variants:
        # Two shards split in state-dict order, as save_pretrained's max_shard_size does.
        names = list(tensors)
        half = (len(names) + 1) // 2
        weight_map = {}
        for k, part in enumerate((names[:half], names[half:])):
            fname = "model-%05d-of-00002.safetensors" % (k + 1)
            R.save_safetensors(os.path.join(out_dir, fname), {n: tensors[n] for n in sorted(part)},
                               dtype=dtype, metadata=meta, dtypes=dtypes)
            weight_map.update((n, fname) for n in part)
        total = sum(_tensor_bytes(tensors[n], dtypes.get(n, dtype)) for n in names)
        _write_json(os.path.join(out_dir, INDEX_FILE),
                    {"metadata": {"total_size": total}, "weight_map": weight_map})
    else:
        # safetensors orders the file by name; the state dict order does not survive.
        R.save_safetensors(os.path.join(out_dir, SINGLE_FILE),
                           {n: tensors[n] for n in sorted(tensors)}, dtype=dtype,
                           metadata=meta, dtypes=dtypes)
    return cfg, tensors


def list_checkpoint(out_dir):
    """Prints every file of out_dir, then "tensor NAME DTYPE D0,D1,.." per tensor of its
    safetensors files, read back from their headers."""
    for fname in sorted(os.listdir(out_dir)):
        print("file " + fname)
    for fname in sorted(os.listdir(out_dir)):
        if fname.endswith(".safetensors"):
            with open(os.path.join(out_dir, fname), "rb") as f:
                header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
            for name in sorted(k for k in header if k != "__metadata__"):
                info = header[name]
                print("tensor %s %s %s" % (name, info["dtype"], ",".join(map(str, info["shape"]))))


def parse_overrides(items):
    """["field=JSON", ...] -> {field: value}; a value that is not JSON is a string."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError("--set takes FIELD=JSON, got %r" % item)
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser(
        description="Writes a small random Hugging Face checkpoint directory.")
    ap.add_argument("arch", help="%s, or a short name: %s" % (
        ", ".join(sorted(BASE_CONFIGS)), ", ".join(sorted(ARCHITECTURES))))
    ap.add_argument("out_dir")
    ap.add_argument("--variant", action="append", default=[],
                    help="comma-separated, repeatable: " + ", ".join(sorted(VARIANTS)))
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                    help="override one config.json field (after the variants)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="F32", choices=sorted(_TORCH_DTYPES))
    ap.add_argument("--tokenizer", action="store_true",
                    help="also write tokenizer.json and tokenizer_config.json")
    ap.add_argument("--list", action="store_true",
                    help="print the files and the tensors (name dtype shape) read back")
    args = ap.parse_args()
    variants = [v for item in args.variant for v in item.split(",") if v]
    try:
        cfg, tensors = write_checkpoint(args.arch, args.out_dir, variants,
                                        parse_overrides(args.set), args.seed, args.dtype)
        if args.tokenizer:
            hf_tokenizer.write_tokenizer(cfg["architectures"][0], args.out_dir)
    except ValueError as e:
        sys.exit("hf_checkpoint.py: %s" % e)
    print("%s: %s, %d tensors (%s) written to %s" % (
        args.arch, cfg["architectures"][0], len(tensors), ", ".join(variants) or "base",
        args.out_dir))
    if args.list:
        list_checkpoint(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
