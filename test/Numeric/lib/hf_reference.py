#===- hf_reference.py - float64 numpy forward passes of Hugging Face models -===#
#
# The numeric oracle for compiled Hugging Face checkpoints (issue 17): reads a model
# directory (config.json in the transformers 4.x or 5.x form, with transformers'
# defaults for absent fields; model.safetensors, a sharded index, or the hub layouts
# of GPT-2 and BERT) and computes, in float64 numpy, what transformers computes:
#
#   LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, MixtralForCausalLM,
#   DeepseekV2ForCausalLM (the checkpoint's own modeling_deepseek.py), DeepseekV3ForCausalLM
#   (the same with the V3 router of deepseek-ai/DeepSeek-V3's), GPT2LMHeadModel:
#       logits [n, vocab] for input_ids (every position), from a fresh or a running
#       KV cache (positions continue where the cache is);
#   BertModel, BertForMaskedLM: last_hidden_state [n, hidden] (token types 0, no
#       padding; BertModel's pooler_output and the MLM logits on the side);
#   MarianMTModel: decoder logits [n, vocab] for decoder_input_ids given the source
#       input_ids (encoder output as cross-attention memory).
#
# Each part follows the Hugging Face modeling code named in its docstring, written
# again from it; the elementwise builtins of reference.py (rms_norm, layer_norm,
# linear, gelu, silu, softmax) are reused where they are exactly those semantics.
# Nothing here shares code with the compiler.
#
#   hf_reference.py --self-test
#   hf_reference.py MODEL_DIR --tokens 1,2,3 [--source-tokens 4,5] [--generate N]
#                   [--out OUT.bin]     (float32 little-endian, as the harness writes)
#                   [--routing]         (mixtures of experts: the tokens each expert
#                                        got, per MoE layer of the forward pass)
#
#===----------------------------------------------------------------------===#

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

CAUSAL_LM = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "MixtralForCausalLM",
             "DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM", "GPT2LMHeadModel")
DEEPSEEK = ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM")
ENCODERS = ("BertModel", "BertForMaskedLM")
ENCODER_DECODERS = ("MarianMTModel",)
ARCHITECTURES = CAUSAL_LM + ENCODERS + ENCODER_DECODERS


class ConfigError(ValueError):
    """A config.json the reference cannot follow; the message names the field."""


#===----------------------------------------------------------------------===#
# config.json: the transformers defaults, 4.x and 5.x forms
#===----------------------------------------------------------------------===#

# The default of every field the forward passes read, from the configuration_*.py
# classes of transformers 4.x (a field absent from config.json takes this value).
DEFAULTS = {
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                  head_dim=None, hidden_act="silu", max_position_embeddings=2048,
                  rms_norm_eps=1e-6, tie_word_embeddings=False, rope_theta=10000.0,
                  rope_scaling=None, attention_bias=False, mlp_bias=False),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, hidden_act="silu", max_position_embeddings=4096 * 32,
                    rms_norm_eps=1e-6, tie_word_embeddings=False, rope_theta=10000.0,
                    rope_scaling=None, sliding_window=4096),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  head_dim=None, hidden_act="silu", max_position_embeddings=32768,
                  rms_norm_eps=1e-6, tie_word_embeddings=False, rope_theta=10000.0,
                  rope_scaling=None, use_sliding_window=False, sliding_window=4096,
                  max_window_layers=28, layer_types=None),
    "mixtral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, hidden_act="silu", max_position_embeddings=4096 * 32,
                    rms_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=1e6,
                    rope_scaling=None, sliding_window=None, num_experts_per_tok=2,
                    num_local_experts=8, router_jitter_noise=0.0),
    # configuration_deepseek.py of deepseek-ai/DeepSeek-V2(-Lite) (its topk_method
    # default is the misspelt "gready", which MoEGate rejects).
    "deepseek_v2": dict(vocab_size=102400, hidden_size=4096, intermediate_size=11008,
                        moe_intermediate_size=1407, num_hidden_layers=30,
                        num_attention_heads=32, n_shared_experts=None, n_routed_experts=None,
                        routed_scaling_factor=1.0, kv_lora_rank=512, q_lora_rank=1536,
                        qk_rope_head_dim=64, v_head_dim=128, qk_nope_head_dim=128,
                        topk_method="gready", n_group=None, topk_group=None,
                        num_experts_per_tok=None, moe_layer_freq=1, first_k_dense_replace=0,
                        norm_topk_prob=False, scoring_func="softmax", hidden_act="silu",
                        max_position_embeddings=2048, rms_norm_eps=1e-6,
                        tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None,
                        attention_bias=False),
    "gpt2": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                 n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                 scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False,
                 tie_word_embeddings=True),
    "bert": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                 max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                 position_embedding_type="absolute", is_decoder=False),
    "marian": dict(vocab_size=58101, decoder_vocab_size=None, max_position_embeddings=1024,
                   encoder_layers=12, encoder_ffn_dim=4096, encoder_attention_heads=16,
                   decoder_layers=12, decoder_ffn_dim=4096, decoder_attention_heads=16,
                   activation_function="gelu", d_model=1024, decoder_start_token_id=58100,
                   scale_embedding=False, pad_token_id=58100, eos_token_id=0,
                   share_encoder_decoder_embeddings=True, tie_word_embeddings=True),
}
# DeepseekV3ForCausalLM: V2's layout and modeling with the router of
# deepseek-ai/DeepSeek-V3's modeling_deepseek.py, whose MoEGate implements only
# sigmoid scores with noaux_tc (transformers' DeepseekV3Config has neither field;
# the hub's config.json spells both).
DEFAULTS["deepseek_v3"] = dict(DEFAULTS["deepseek_v2"], topk_method="noaux_tc",
                               scoring_func="sigmoid")
MODEL_TYPES = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
               "Qwen2ForCausalLM": "qwen2", "MixtralForCausalLM": "mixtral",
               "DeepseekV2ForCausalLM": "deepseek_v2", "DeepseekV3ForCausalLM": "deepseek_v3",
               "GPT2LMHeadModel": "gpt2", "BertModel": "bert",
               "BertForMaskedLM": "bert", "MarianMTModel": "marian"}


def _quick_gelu(x):
    return x * (1.0 / (1.0 + np.exp(-1.702 * x)))


# activations.py ACT2FN: "gelu" is erf GELU; gelu_new, gelu_pytorch_tanh and gelu_fast
# are the tanh approximation; swish is silu.
ACTIVATIONS = {"gelu": R.gelu, "gelu_new": R.gelu_tanh, "gelu_pytorch_tanh": R.gelu_tanh,
               "gelu_fast": R.gelu_tanh, "relu": R.relu, "silu": R.silu, "swish": R.silu,
               "quick_gelu": _quick_gelu}


def read_config(raw):
    """config.json (a dict) -> (architecture, the fields with transformers' defaults)."""
    archs = raw.get("architectures")
    if not isinstance(archs, list) or len(archs) != 1 or archs[0] not in ARCHITECTURES:
        raise ConfigError("architectures: expected one of %s, got %r" %
                          (", ".join(ARCHITECTURES), archs))
    arch = archs[0]
    c = dict(DEFAULTS[MODEL_TYPES[arch]])
    c.update(raw)
    for field in ("hidden_act", "activation_function"):
        if field in DEFAULTS[MODEL_TYPES[arch]] and c[field] not in ACTIVATIONS:
            raise ConfigError("%s: unsupported activation %r" % (field, c[field]))
    return arch, c


def rope_parameters(c):
    """The rope type, theta and scaling fields, from 5.x's rope_parameters or from 4.x's
    rope_theta + rope_scaling (whose old spelling of rope_type is "type")."""
    if c.get("rope_parameters") is not None:
        p = dict(c["rope_parameters"])
        if "rope_theta" not in p:
            raise ConfigError("rope_parameters.rope_theta: missing")
    else:
        p = dict(c.get("rope_scaling") or {})
        p["rope_theta"] = c["rope_theta"]
    if "rope_type" not in p:
        p["rope_type"] = p.pop("type", "default")
    p.pop("type", None)
    return p


def rope_inv_freq(c, head_dim):
    """Inverse frequencies [head_dim / 2] (modeling_rope_utils.py:
    _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
    _compute_llama3_parameters); their attention_factor is 1 for these types."""
    p = rope_parameters(c)
    if float(p.get("partial_rotary_factor", 1.0)) != 1.0:
        raise ConfigError("partial_rotary_factor: only 1.0 is supported")
    theta = float(p["rope_theta"])
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    kind = p["rope_type"]
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / float(p["factor"])
    if kind == "llama3":
        return llama3_inv_freq(inv_freq, float(p["factor"]), float(p["low_freq_factor"]),
                               float(p["high_freq_factor"]),
                               float(p["original_max_position_embeddings"]))
    raise ConfigError("rope_scaling.rope_type: unsupported %r" % (kind,))


def llama3_inv_freq(inv_freq, factor, low_freq_factor, high_freq_factor, old_context_len):
    """_compute_llama3_parameters: wavelengths shorter than old_context / high_freq_factor
    keep their frequency, longer than old_context / low_freq_factor are divided by factor,
    and the band between interpolates linearly in old_context / wavelength."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return np.where(medium, smoothed, scaled)


def apply_rotary_pos_emb(x, positions, inv_freq):
    """modeling_llama.py: LlamaRotaryEmbedding.forward (cos/sin of cat(freqs, freqs)),
    rotate_half and apply_rotary_pos_emb, on x [n, heads, head_dim]."""
    freqs = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


#===----------------------------------------------------------------------===#
# Checkpoints: single file, sharded index, hub layouts
#===----------------------------------------------------------------------===#

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def read_tensors(path):
    """The tensors of a .safetensors file, of a sharded checkpoint's index, or of a
    directory holding either (the index first, as from_pretrained looks)."""
    if os.path.isdir(path):
        for name in (INDEX_FILE, SINGLE_FILE):
            if os.path.exists(os.path.join(path, name)):
                return read_tensors(os.path.join(path, name))
        raise FileNotFoundError("%s: neither %s nor %s" % (path, INDEX_FILE, SINGLE_FILE))
    if not path.endswith(".json"):
        return R.load_safetensors(path)
    with open(path) as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for shard in sorted(set(weight_map.values())):
        part = R.load_safetensors(os.path.join(os.path.dirname(path), shard))
        listed = {n for n, s in weight_map.items() if s == shard}
        if set(part) != listed:
            raise ValueError("%s: %s holds %s, the index lists %s" %
                             (path, shard, sorted(set(part) ^ listed), "otherwise"))
        tensors.update(part)
    return tensors


def canonical_names(arch, tensors):
    """Renames the hub layouts to save_pretrained's and drops the buffers transformers
    ignores when loading (modeling_utils.py: _fix_key's gamma/beta renaming, the
    base_model_prefix added or removed; GPT-2's attn.bias / attn.masked_bias and BERT's
    position_ids / token_type_ids are non-persistent buffers today)."""
    out = {}
    for name, t in tensors.items():
        if name.endswith(".gamma"):
            name = name[:-len("gamma")] + "weight"
        elif name.endswith(".beta"):
            name = name[:-len("beta")] + "bias"
        out[name] = t
    if arch == "GPT2LMHeadModel":
        if not any(n.startswith("transformer.") for n in out):
            out = {(n if n.startswith("lm_head.") else "transformer." + n): t
                   for n, t in out.items()}
        out = {n: t for n, t in out.items()
               if not (n.endswith(".attn.bias") or n.endswith(".attn.masked_bias"))}
    if arch in ENCODERS:
        out = {n: t for n, t in out.items()
               if not (n.endswith("embeddings.position_ids") or
                       n.endswith("embeddings.token_type_ids"))}
        has_prefix = any(n.startswith("bert.") for n in out)
        if arch == "BertModel" and has_prefix:
            # A pretraining checkpoint loaded as BertModel: the heads are left unused.
            out = {n[len("bert."):]: t for n, t in out.items() if n.startswith("bert.")}
        elif arch == "BertForMaskedLM" and not has_prefix:
            out = {(n if n.startswith("cls.") else "bert." + n): t for n, t in out.items()}
    return out


class Model:
    """A loaded checkpoint: its architecture, config (with defaults) and tensors under
    save_pretrained's names, looked up through reference.Weights (shape-checked)."""

    def __init__(self, raw_config, tensors):
        self.raw_config = raw_config
        self.arch, self.cfg = read_config(raw_config)
        self.tensors = canonical_names(self.arch, tensors)
        self.W = R.Weights(self.tensors)

    def unused(self):
        return sorted(set(self.tensors) - set(self.W.used))


def load(path):
    """A Model from a model directory, its index.json or its .safetensors file (the
    config.json next to it)."""
    d = path if os.path.isdir(path) else os.path.dirname(path)
    with open(os.path.join(d, "config.json")) as f:
        raw = json.load(f)
    return Model(raw, read_tensors(path))


#===----------------------------------------------------------------------===#
# Attention and its KV cache
#===----------------------------------------------------------------------===#


def attention_mask(q_pos, k_pos, causal, window):
    """masking_utils.py: causal_mask_function (kv_idx <= q_idx) and
    sliding_window_overlay (kv_idx > q_idx - sliding_window): a query sees itself and
    the window - 1 positions before it."""
    q = np.asarray(q_pos)[:, None]
    k = np.asarray(k_pos)[None, :]
    allowed = np.ones((q.shape[0], k.shape[1]), dtype=bool)
    if causal:
        allowed &= k <= q
    if window is not None:
        allowed &= k > q - window
    return allowed


def eager_attention_forward(q, k, v, scaling, allowed):
    """modeling_llama.py: eager_attention_forward with repeat_kv (query head h reads
    key/value head h // (heads / kv_heads)): q [n, H, d], k [m, KV, d], v [m, KV, dv]
    -> [n, H * dv]."""
    groups = q.shape[1] // k.shape[1]
    k = np.repeat(k, groups, axis=1)
    v = np.repeat(v, groups, axis=1)
    scores = np.einsum("nhd,mhd->hnm", q, k) * scaling
    scores = np.where(allowed[None], scores, -np.inf)
    out = np.einsum("hnm,mhd->nhd", R.softmax(scores, axis=-1), v)
    return out.reshape(q.shape[0], -1)


class KVCache:
    """Keys (after rope) and values per layer with their absolute positions. A layer
    with a sliding window drops the positions no later query can see (a query at
    position >= p sees keys > p - window), so it carries at most window - 1 positions
    from one call to the next: the rolling cache of a Mistral session."""

    def __init__(self):
        self.pos = 0
        self.layers = {}
        self.max_carried = 0  # the most positions a windowed layer carried over

    def extend(self, layer, k, v, positions, window):
        if layer in self.layers:
            K, V, P = self.layers[layer]
            if window is not None:
                keep = P > positions[0] - window
                K, V, P = K[keep], V[keep], P[keep]
                self.max_carried = max(self.max_carried, len(P))
            K, V, P = (np.concatenate([K, k]), np.concatenate([V, v]),
                       np.concatenate([P, positions]))
        else:
            K, V, P = k, v, np.asarray(positions)
        self.layers[layer] = (K, V, P)
        return K, V, P


def _positions(cache, n, limit=None, what="", field="max_position_embeddings"):
    """Absolute positions of n new tokens after the cache, below the table size limit."""
    pos = np.arange(cache.pos, cache.pos + n)
    if limit is not None and cache.pos + n > limit:
        raise ValueError("%s: position %d beyond %s %d" % (what, cache.pos + n - 1, field, limit))
    return pos


#===----------------------------------------------------------------------===#
# Llama, Mistral, Qwen2
#===----------------------------------------------------------------------===#


def llama_family_layout(arch, c):
    """Sizes, biases and the sliding window per layer (None: full attention):
    modeling_llama.py LlamaAttention / LlamaMLP (attention_bias on q/k/v/o, mlp_bias),
    modeling_qwen2.py Qwen2Attention (q/k/v biases, o_proj none; sliding window on
    layer_types[i] == "sliding_attention", by default layers i >= max_window_layers
    when use_sliding_window), modeling_mistral.py (sliding_window on every layer)."""
    heads = c["num_attention_heads"]
    L = dict(vocab=c["vocab_size"], dim=c["hidden_size"], layers=c["num_hidden_layers"],
             heads=heads, kv_heads=c["num_key_value_heads"] or heads,
             head_dim=c["head_dim"] or c["hidden_size"] // heads,
             ffn=c["intermediate_size"], eps=c["rms_norm_eps"], act=ACTIVATIONS[c["hidden_act"]],
             tied=c["tie_word_embeddings"], qkv_bias=False, o_bias=False, mlp_bias=False)
    if heads % L["kv_heads"]:
        raise ConfigError("num_key_value_heads: %d does not divide num_attention_heads %d" %
                          (L["kv_heads"], heads))
    windows = [None] * L["layers"]
    if arch == "LlamaForCausalLM":
        L.update(qkv_bias=c["attention_bias"], o_bias=c["attention_bias"], mlp_bias=c["mlp_bias"])
    elif arch in ("MistralForCausalLM", "MixtralForCausalLM"):
        windows = [c["sliding_window"]] * L["layers"]
        if arch == "MixtralForCausalLM":
            L["moe"] = dict(experts=c["num_local_experts"], top_k=c["num_experts_per_tok"])
    else:
        L["qkv_bias"] = True
        window = c["sliding_window"] if c["use_sliding_window"] else None
        types = c["layer_types"] or [
            "sliding_attention" if window is not None and i >= c["max_window_layers"]
            else "full_attention" for i in range(L["layers"])]
        if len(types) != L["layers"]:
            raise ConfigError("layer_types: %d entries for %d layers" % (len(types), L["layers"]))
        windows = [window if t == "sliding_attention" else None for t in types]
    L["windows"] = windows
    L["inv_freq"] = rope_inv_freq(c, L["head_dim"])
    return L


def llama_family_logits(m, ids, cache=None):
    """LlamaForCausalLM.forward (and Mistral's, Qwen2's): LlamaModel (embed_tokens,
    decoder layers, norm), LlamaDecoderLayer (pre-norm residuals), LlamaRMSNorm,
    LlamaAttention.forward (q/k/v projections, rope, scaling head_dim^-0.5),
    LlamaMLP (down(act(gate(x)) * up(x))), lm_head or the tied embedding."""
    L = llama_family_layout(m.arch, m.cfg)
    W, cache = m.W, cache if cache is not None else KVCache()
    n, hd, H, KV = len(ids), L["head_dim"], L["heads"], L["kv_heads"]
    pos = _positions(cache, n)
    x = R.embedding(W, "model.embed_tokens", ids, L["vocab"], L["dim"])
    for i in range(L["layers"]):
        p = "model.layers.%d" % i
        h = R.rms_norm(W, p + ".input_layernorm", x, L["eps"])
        a = p + ".self_attn."
        q = R.linear(W, a + "q_proj", h, H * hd, bias=L["qkv_bias"]).reshape(n, H, hd)
        k = R.linear(W, a + "k_proj", h, KV * hd, bias=L["qkv_bias"]).reshape(n, KV, hd)
        v = R.linear(W, a + "v_proj", h, KV * hd, bias=L["qkv_bias"]).reshape(n, KV, hd)
        q = apply_rotary_pos_emb(q, pos, L["inv_freq"])
        k = apply_rotary_pos_emb(k, pos, L["inv_freq"])
        K, V, P = cache.extend(i, k, v, pos, L["windows"][i])
        o = eager_attention_forward(q, K, V, hd ** -0.5,
                                    attention_mask(pos, P, True, L["windows"][i]))
        x = x + R.linear(W, a + "o_proj", o, L["dim"], bias=L["o_bias"])
        h = R.rms_norm(W, p + ".post_attention_layernorm", x, L["eps"])
        if "moe" in L:
            x = x + mixtral_sparse_moe(W, p + ".block_sparse_moe", h, L)
            continue
        g = L["act"](R.linear(W, p + ".mlp.gate_proj", h, L["ffn"], bias=L["mlp_bias"])) * \
            R.linear(W, p + ".mlp.up_proj", h, L["ffn"], bias=L["mlp_bias"])
        x = x + R.linear(W, p + ".mlp.down_proj", g, L["dim"], bias=L["mlp_bias"])
    x = R.rms_norm(W, "model.norm", x, L["eps"])
    cache.pos += n
    tied = "model.embed_tokens.weight" if L["tied"] else None
    return R.linear(W, "lm_head", x, L["vocab"], tied=tied)


#===----------------------------------------------------------------------===#
# Mixtures of experts
#===----------------------------------------------------------------------===#


def topk_indices(scores, k):
    """The k largest entries of each row, largest first, equal values lowest index
    first. torch.topk leaves the order of ties unspecified (pytorch/pytorch#88184: on
    the CPU it can return a higher index first); this is its stable=True order, the
    one tfc defines (MoEToLinalg.cpp)."""
    return np.argsort(-scores, axis=-1, kind="stable")[:, :k]


def swiglu_expert(W, scope, x, ffn, dim, names=("gate_proj", "up_proj", "down_proj")):
    """One SwiGLU expert: down(silu(gate(x)) * up(x)) (MixtralBlockSparseTop2MLP with
    w1, w3, w2; DeepseekV2MLP with gate_proj, up_proj, down_proj)."""
    gate, up, down = names
    g = R.silu(R.linear(W, scope + "." + gate, x, ffn)) * R.linear(W, scope + "." + up, x, ffn)
    return R.linear(W, scope + "." + down, g, dim)


# When a list: routed_experts appends (scope, tokens, [tokens of each expert]) per call.
ROUTING = None


def routed_experts(W, scope, x, experts, ffn, selected, weights, names):
    """sum over a token's selected experts of weight * expert(token), each expert run
    on the tokens that selected it (MixtralSparseMoeBlock's loop over expert_hit;
    DeepseekV2MoE.moe_infer). Every expert's tensors are read, routed or not."""
    n, dim = x.shape
    if ROUTING is not None:
        ROUTING.append((scope, n, [int(np.count_nonzero(selected == e)) for e in range(experts)]))
    out = np.zeros((n, dim))
    for e in range(experts):
        rows, slots = np.nonzero(selected == e)
        expert = "%s.experts.%d" % (scope, e)
        if len(rows) == 0:
            for name, shape in zip(names, ((ffn, dim), (ffn, dim), (dim, ffn))):
                W("%s.%s.weight" % (expert, name), shape, "weight")
            continue
        y = swiglu_expert(W, expert, x[rows], ffn, dim, names)
        np.add.at(out, rows, y * weights[rows, slots][:, None])
    return out


def mixtral_sparse_moe(W, scope, x, L):
    """modeling_mixtral.py MixtralSparseMoeBlock.forward (inference: no jitter):
    router_logits = gate(x), softmax, top num_experts_per_tok, the routing weights
    divided by their sum, experts w2(act(w1 x) * w3 x) summed with those weights."""
    E, k = L["moe"]["experts"], L["moe"]["top_k"]
    scores = R.softmax(R.linear(W, scope + ".gate", x, E), axis=-1)
    selected = topk_indices(scores, k)
    weights = np.take_along_axis(scores, selected, axis=-1)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return routed_experts(W, scope, x, E, L["ffn"], selected, weights, ("w1", "w3", "w2"))


#===----------------------------------------------------------------------===#
# DeepSeek-V2 (the checkpoint's modeling_deepseek.py)
#===----------------------------------------------------------------------===#


def yarn_get_mscale(scale=1.0, mscale=1.0):
    """modeling_deepseek.py yarn_get_mscale."""
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def deepseek_rope(c):
    """(inv_freq [rope_dim / 2], cos/sin factor, softmax scale) of DeepseekV2Attention:
    DeepseekV2RotaryEmbedding, or DeepseekV2YarnRotaryEmbedding for rope_scaling type
    yarn (freq_inter / freq_extra blended by 1 - yarn_linear_ramp_mask over
    yarn_find_correction_range(beta_fast, beta_slow), cos and sin multiplied by
    yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)), and
    softmax_scale = q_head_dim^-0.5, times yarn_get_mscale(factor, mscale_all_dim)
    squared when mscale_all_dim is set."""
    dim, base = c["qk_rope_head_dim"], float(c["rope_theta"])
    scale = (c["qk_nope_head_dim"] + c["qk_rope_head_dim"]) ** -0.5
    freq_extra = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    rs = c.get("rope_scaling")
    if not rs:
        return freq_extra, 1.0, scale
    kind = rs.get("type", rs.get("rope_type"))
    if kind != "yarn":
        raise ConfigError("rope_scaling.type: only yarn is modelled for DeepSeek-V2, got %r" %
                          (kind,))
    factor = float(rs["factor"])
    orig = float(rs.get("original_max_position_embeddings", 4096))
    beta_fast, beta_slow = float(rs.get("beta_fast", 32)), float(rs.get("beta_slow", 1))
    mscale, mscale_all_dim = float(rs.get("mscale", 1)), float(rs.get("mscale_all_dim", 0))

    def correction_dim(rotations):
        return dim * math.log(orig / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    inv_freq_mask = 1.0 - ramp
    inv_freq = freq_extra / factor * (1 - inv_freq_mask) + freq_extra * inv_freq_mask
    cos_scale = yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)
    if mscale_all_dim:
        m = yarn_get_mscale(factor, mscale_all_dim)
        scale = scale * m * m
    return inv_freq, cos_scale, scale


def deepseek_apply_rotary(x, positions, inv_freq, cos_scale):
    """modeling_deepseek.py apply_rotary_pos_emb on x [n, heads, d]: the (2j, 2j+1)
    pairs regrouped as halves (view(..., d/2, 2).transpose(4, 3)), then rotate_half
    with cos/sin of cat(freqs, freqs) times the yarn factor."""
    n, h, d = x.shape
    x = x.reshape(n, h, d // 2, 2).transpose(0, 1, 3, 2).reshape(n, h, d)
    freqs = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos = (np.cos(emb) * cos_scale)[:, None, :]
    sin = (np.sin(emb) * cos_scale)[:, None, :]
    rotated = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], axis=-1)
    return x * cos + rotated * sin


def deepseek_moe_gate(W, scope, x, c):
    """MoEGate.forward (inference) of the checkpoint's modeling_deepseek.py.

    DeepSeek-V2 (softmax scores of x gate^T): greedy top-k, or group_limited_greedy
    (group score = its best expert's, the experts outside the topk_group best groups
    masked to 0 before the top-k); the weights normalized (+1e-20) when top_k > 1 and
    norm_topk_prob, else multiplied by routed_scaling_factor.

    DeepSeek-V3 (deepseek-ai/DeepSeek-V3 modeling_deepseek.py MoEGate, the only
    combination it implements: scoring_func sigmoid, topk_method noaux_tc): scores =
    sigmoid(x gate^T); scores_for_choice = scores + e_score_correction_bias; group
    score = the sum of its best two scores_for_choice (topk(2).sum()); the experts
    outside the topk_group best groups masked to 0.0 (masked_fill), the top-k of that;
    the weights are the *scores* of the chosen experts (gather, without the bias),
    normalized (+1e-20) when top_k > 1 and norm_topk_prob, and then always multiplied
    by routed_scaling_factor."""
    E, k = c["n_routed_experts"], c["num_experts_per_tok"]
    logits = R.linear(W, scope + ".gate", x, E)
    scoring = c.get("scoring_func", "softmax")
    if scoring == "softmax":
        scores = R.softmax(logits, axis=-1)
    elif scoring == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-logits))
    else:
        raise ConfigError("scoring_func: %r is not softmax or sigmoid" % (scoring,))
    method = c["topk_method"]
    if method == "greedy":
        candidates = scores
    elif method in ("group_limited_greedy", "noaux_tc"):
        G = c["n_group"]
        if method == "noaux_tc":
            choice = scores + W(scope + ".gate.e_score_correction_bias", (E,), "bias")
            grouped = choice.reshape(len(x), G, -1)
            top2 = np.take_along_axis(grouped, np.stack(
                [topk_indices(g, 2) for g in grouped]), axis=-1)
            group_scores = top2.sum(axis=-1)
        else:
            choice = scores
            group_scores = scores.reshape(len(x), G, -1).max(axis=-1)
        group_idx = topk_indices(group_scores, c["topk_group"])
        group_mask = np.zeros_like(group_scores)
        np.put_along_axis(group_mask, group_idx, 1.0, axis=-1)
        score_mask = np.repeat(group_mask, E // G, axis=-1)
        candidates = np.where(score_mask > 0, choice, 0.0)
    else:
        raise ConfigError("topk_method: %r is not greedy, group_limited_greedy or noaux_tc" %
                          (method,))
    idx = topk_indices(candidates, k)
    weight = np.take_along_axis(scores, idx, axis=-1)
    if method == "noaux_tc":
        if k > 1 and c["norm_topk_prob"]:
            weight = weight / (weight.sum(axis=-1, keepdims=True) + 1e-20)
        return idx, weight * c["routed_scaling_factor"]
    if k > 1 and c["norm_topk_prob"]:
        weight = weight / (weight.sum(axis=-1, keepdims=True) + 1e-20)
    else:
        weight = weight * c["routed_scaling_factor"]
    return idx, weight


def deepseek_v2_logits(m, ids, cache=None):
    """DeepseekV2ForCausalLM.forward: DeepseekV2Model (embed_tokens, decoder layers,
    norm), DeepseekV2DecoderLayer (pre-norm residuals; DeepseekV2MoE on the layers >=
    first_k_dense_replace with layer % moe_layer_freq == 0, else DeepseekV2MLP),
    DeepseekV2Attention.forward (q_proj, or q_b_proj(q_a_layernorm(q_a_proj)); kv_a
    split into the compressed kv and k_pe; kv_b_proj(kv_a_layernorm(.)) into k_nope
    and v; rope on q_pe and the one shared k_pe; softmax_scale), DeepseekV2RMSNorm
    (q_a_layernorm and kv_a_layernorm with their default eps 1e-6),
    DeepseekV2MoE.forward (moe_infer + shared_experts)."""
    c, W = m.cfg, m.W
    if c["hidden_act"] not in ("silu", "swish"):
        raise ConfigError("hidden_act: only silu is modelled for DeepSeek-V2")
    cache = cache if cache is not None else KVCache()
    n, H = len(ids), c["num_attention_heads"]
    dim, dn, dr, dv = (c["hidden_size"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                       c["v_head_dim"])
    rank, q_rank, eps = c["kv_lora_rank"], c["q_lora_rank"], c["rms_norm_eps"]
    inv_freq, cos_scale, softmax_scale = deepseek_rope(c)
    pos = _positions(cache, n)
    x = R.embedding(W, "model.embed_tokens", ids, c["vocab_size"], dim)
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d" % i
        a = p + ".self_attn"
        h = R.rms_norm(W, p + ".input_layernorm", x, eps)
        if q_rank is None:
            q = R.linear(W, a + ".q_proj", h, H * (dn + dr))
        else:
            qa = R.rms_norm(W, a + ".q_a_layernorm", R.linear(W, a + ".q_a_proj", h, q_rank), 1e-6)
            q = R.linear(W, a + ".q_b_proj", qa, H * (dn + dr))
        q = q.reshape(n, H, dn + dr)
        ckv = R.linear(W, a + ".kv_a_proj_with_mqa", h, rank + dr)
        kv = R.linear(W, a + ".kv_b_proj", R.rms_norm(W, a + ".kv_a_layernorm", ckv[:, :rank], 1e-6),
                      H * (dn + dv)).reshape(n, H, dn + dv)
        q_pe = deepseek_apply_rotary(q[..., dn:], pos, inv_freq, cos_scale)
        k_pe = deepseek_apply_rotary(ckv[:, None, rank:], pos, inv_freq, cos_scale)
        qs = np.concatenate([q[..., :dn], q_pe], axis=-1)
        ks = np.concatenate([kv[..., :dn], np.broadcast_to(k_pe, (n, H, dr))], axis=-1)
        K, V, P = cache.extend(i, ks, kv[..., dn:], pos, None)
        o = eager_attention_forward(qs, K, V, softmax_scale, attention_mask(pos, P, True, None))
        x = x + R.linear(W, a + ".o_proj", o, dim)
        h = R.rms_norm(W, p + ".post_attention_layernorm", x, eps)
        if (c["n_routed_experts"] is not None and i >= c["first_k_dense_replace"] and
                i % c["moe_layer_freq"] == 0):
            moe_ffn = c["moe_intermediate_size"]
            idx, weight = deepseek_moe_gate(W, p + ".mlp", h, c)
            y = routed_experts(W, p + ".mlp", h, c["n_routed_experts"], moe_ffn, idx, weight,
                               ("gate_proj", "up_proj", "down_proj"))
            if c["n_shared_experts"] is not None:
                y = y + swiglu_expert(W, p + ".mlp.shared_experts", h,
                                      moe_ffn * c["n_shared_experts"], dim)
            x = x + y
        else:
            x = x + swiglu_expert(W, p + ".mlp", h, c["intermediate_size"], dim)
    x = R.rms_norm(W, "model.norm", x, eps)
    cache.pos += n
    tied = "model.embed_tokens.weight" if c["tie_word_embeddings"] else None
    return R.linear(W, "lm_head", x, c["vocab_size"], tied=tied)


#===----------------------------------------------------------------------===#
# GPT-2
#===----------------------------------------------------------------------===#


def conv1d(W, scope, x, d_out):
    """pytorch_utils.py Conv1D: x @ weight + bias, weight [in, out] (a transposed Linear)."""
    w = W(scope + ".weight", (x.shape[-1], d_out), "weight")
    return x @ w + W(scope + ".bias", (d_out,), "bias")


def gpt2_logits(m, ids, cache=None):
    """GPT2LMHeadModel.forward: GPT2Model (wte + wpe at absolute positions, blocks,
    ln_f), GPT2Block (pre-LN), GPT2Attention (c_attn split into q | k | v, scores
    divided by sqrt(head_dim) when scale_attn_weights and by layer_idx + 1 when
    scale_attn_by_inverse_layer_idx, causal), GPT2MLP (c_proj(act(c_fc))), lm_head
    tied to wte unless tie_word_embeddings is false."""
    c, W = m.cfg, m.W
    cache = cache if cache is not None else KVCache()
    dim, H, n = c["n_embd"], c["n_head"], len(ids)
    if dim % H:
        raise ConfigError("n_head: %d does not divide n_embd %d" % (H, dim))
    hd, inner, eps = dim // H, c["n_inner"] or 4 * dim, c["layer_norm_epsilon"]
    act = ACTIVATIONS[c["activation_function"]]
    pos = _positions(cache, n, c["n_positions"], "input_ids", "n_positions")
    wpe = W("transformer.wpe.weight", (c["n_positions"], dim), "embed")
    x = R.embedding(W, "transformer.wte", ids, c["vocab_size"], dim) + wpe[pos]
    for i in range(c["n_layer"]):
        p = "transformer.h.%d" % i
        h = R.layer_norm(W, p + ".ln_1", x, eps)
        q, k, v = np.split(conv1d(W, p + ".attn.c_attn", h, 3 * dim), 3, axis=-1)
        K, V, P = cache.extend(i, k.reshape(n, H, hd), v.reshape(n, H, hd), pos, None)
        scaling = hd ** -0.5 if c["scale_attn_weights"] else 1.0
        if c["scale_attn_by_inverse_layer_idx"]:
            scaling /= float(i + 1)
        o = eager_attention_forward(q.reshape(n, H, hd), K, V, scaling,
                                    attention_mask(pos, P, True, None))
        x = x + conv1d(W, p + ".attn.c_proj", o, dim)
        h = R.layer_norm(W, p + ".ln_2", x, eps)
        x = x + conv1d(W, p + ".mlp.c_proj", act(conv1d(W, p + ".mlp.c_fc", h, inner)), dim)
    x = R.layer_norm(W, "transformer.ln_f", x, eps)
    cache.pos += n
    tied = "transformer.wte.weight" if c["tie_word_embeddings"] else None
    return R.linear(W, "lm_head", x, c["vocab_size"], tied=tied)


#===----------------------------------------------------------------------===#
# BERT
#===----------------------------------------------------------------------===#


def bert_forward(m, ids, heads=True):
    """BertModel.forward without padding: BertEmbeddings (word + token type 0 +
    absolute position 0..n-1, LayerNorm), BertLayer (BertSelfAttention unmasked with
    scaling head_dim^-0.5, BertSelfOutput / BertOutput post-LN residuals,
    BertIntermediate act), BertPooler (tanh(dense(first token))) for BertModel,
    BertOnlyMLMHead (transform dense, act, LayerNorm, decoder tied to the word
    embeddings + cls.predictions.bias) for BertForMaskedLM.
    Returns (last_hidden_state [n, hidden], pooler_output [hidden] or MLM logits, or
    None without heads)."""
    c, W = m.cfg, m.W
    if c["position_embedding_type"] != "absolute":
        raise ConfigError("position_embedding_type: only \"absolute\" is supported, got %r" %
                          (c["position_embedding_type"],))
    if c["is_decoder"]:
        raise ConfigError("is_decoder: a causal BERT is not supported")
    b = "bert." if m.arch == "BertForMaskedLM" else ""
    dim, H, n, eps = c["hidden_size"], c["num_attention_heads"], len(ids), c["layer_norm_eps"]
    if dim % H:
        raise ConfigError("num_attention_heads: %d does not divide hidden_size %d" % (H, dim))
    if n > c["max_position_embeddings"]:
        raise ValueError("input_ids: %d tokens beyond max_position_embeddings %d" %
                         (n, c["max_position_embeddings"]))
    hd, act = dim // H, ACTIVATIONS[c["hidden_act"]]
    e = b + "embeddings."
    x = R.embedding(W, e + "word_embeddings", ids, c["vocab_size"], dim) + \
        W(e + "token_type_embeddings.weight", (c["type_vocab_size"], dim), "embed")[0] + \
        W(e + "position_embeddings.weight", (c["max_position_embeddings"], dim), "embed")[:n]
    x = R.layer_norm(W, e + "LayerNorm", x, eps)
    everything = np.ones((n, n), dtype=bool)
    for i in range(c["num_hidden_layers"]):
        p = "%sencoder.layer.%d." % (b, i)
        q, k, v = (R.linear(W, p + "attention.self." + s, x, dim, bias=True).reshape(n, H, hd)
                   for s in ("query", "key", "value"))
        o = eager_attention_forward(q, k, v, hd ** -0.5, everything)
        x = R.layer_norm(W, p + "attention.output.LayerNorm",
                         x + R.linear(W, p + "attention.output.dense", o, dim, bias=True), eps)
        h = act(R.linear(W, p + "intermediate.dense", x, c["intermediate_size"], bias=True))
        x = R.layer_norm(W, p + "output.LayerNorm",
                         x + R.linear(W, p + "output.dense", h, dim, bias=True), eps)
    if not heads:
        return x, None
    if m.arch == "BertModel":
        return x, np.tanh(R.linear(W, "pooler.dense", x[:1], dim, bias=True))[0]
    t = act(R.linear(W, "cls.predictions.transform.dense", x, dim, bias=True))
    t = R.layer_norm(W, "cls.predictions.transform.LayerNorm", t, eps)
    logits = R.linear(W, "", t, c["vocab_size"], tied=e + "word_embeddings.weight") + \
        W("cls.predictions.bias", (c["vocab_size"],), "bias")
    return x, logits


#===----------------------------------------------------------------------===#
# Marian
#===----------------------------------------------------------------------===#


def marian_positions(positions, dim):
    """MarianSinusoidalPositionalEmbedding._init_weight: sin(p / 10000^(2j/dim)) in the
    first half (j < dim/2), cos of the same angle in the second half, not interleaved."""
    if dim % 2:
        raise ConfigError("d_model: %d is odd" % dim)
    j = np.arange(dim // 2, dtype=np.float64)
    angle = np.asarray(positions, dtype=np.float64)[:, None] / np.power(10000.0, 2 * j / dim)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=-1)


def _marian_check(c):
    if not c["share_encoder_decoder_embeddings"]:
        raise ConfigError("share_encoder_decoder_embeddings: separate embeddings are not supported")
    if not c["tie_word_embeddings"]:
        raise ConfigError("tie_word_embeddings: an untied Marian lm_head is not supported")
    if c["decoder_vocab_size"] not in (None, c["vocab_size"]):
        raise ConfigError("decoder_vocab_size: %s differs from vocab_size %d" %
                          (c["decoder_vocab_size"], c["vocab_size"]))
    for side in ("encoder", "decoder"):
        if c["d_model"] % c[side + "_attention_heads"]:
            raise ConfigError("%s_attention_heads: %d does not divide d_model %d" %
                              (side, c[side + "_attention_heads"], c["d_model"]))


def _marian_embed(m, ids, pos):
    c = m.cfg
    scale = math.sqrt(c["d_model"]) if c["scale_embedding"] else 1.0
    return R.embedding(m.W, "model.shared", ids, c["vocab_size"], c["d_model"]) * scale + \
        marian_positions(pos, c["d_model"])


def _marian_attention(W, scope, x, memory, H, allowed):
    """MarianAttention: q_proj scaled by head_dim^-0.5, k/v from x or the memory,
    out_proj; every projection has a bias."""
    n, dim = x.shape
    hd = dim // H
    q = R.linear(W, scope + ".q_proj", x, dim, bias=True).reshape(n, H, hd)
    k = R.linear(W, scope + ".k_proj", memory, dim, bias=True).reshape(-1, H, hd)
    v = R.linear(W, scope + ".v_proj", memory, dim, bias=True).reshape(-1, H, hd)
    return R.linear(W, scope + ".out_proj", eager_attention_forward(q, k, v, hd ** -0.5, allowed),
                    dim, bias=True)


def _marian_ffn(W, p, x, c, side, act):
    """fc2(act(fc1(x))), then the residual and final_layer_norm (post-LN)."""
    h = act(R.linear(W, p + ".fc1", x, c[side + "_ffn_dim"], bias=True))
    return R.layer_norm(W, p + ".final_layer_norm",
                        x + R.linear(W, p + ".fc2", h, c["d_model"], bias=True), 1e-5)


def marian_encode(m, src):
    """MarianEncoder.forward without padding: embed_tokens * embed_scale + positions
    0..n-1, then MarianEncoderLayer (post-LN: self-attention, self_attn_layer_norm,
    fc1/act/fc2, final_layer_norm; LayerNorm eps 1e-5, PyTorch's default)."""
    c, W = m.cfg, m.W
    _marian_check(c)
    n, act = len(src), ACTIVATIONS[c["activation_function"]]
    pos = _positions(KVCache(), n, c["max_position_embeddings"], "input_ids")
    x = _marian_embed(m, src, pos)
    everything = np.ones((n, n), dtype=bool)
    for i in range(c["encoder_layers"]):
        p = "model.encoder.layers.%d" % i
        a = _marian_attention(W, p + ".self_attn", x, x, c["encoder_attention_heads"], everything)
        x = R.layer_norm(W, p + ".self_attn_layer_norm", x + a, 1e-5)
        x = _marian_ffn(W, p, x, c, "encoder", act)
    return x


def marian_decode(m, tgt, memory, cache=None):
    """MarianDecoder.forward + MarianMTModel's head: embed_tokens * embed_scale +
    positions continuing the cache, MarianDecoderLayer (causal self-attention over the
    cache, encoder_attn over the memory, ffn; each post-LN), then
    lm_head (tied to model.shared) + final_logits_bias."""
    c, W = m.cfg, m.W
    _marian_check(c)
    cache = cache if cache is not None else KVCache()
    n, H, dim = len(tgt), c["decoder_attention_heads"], c["d_model"]
    hd, act = dim // H, ACTIVATIONS[c["activation_function"]]
    pos = _positions(cache, n, c["max_position_embeddings"], "decoder_input_ids")
    x = _marian_embed(m, tgt, pos)
    to_memory = np.ones((n, memory.shape[0]), dtype=bool)
    for i in range(c["decoder_layers"]):
        p = "model.decoder.layers.%d" % i
        s = p + ".self_attn"
        q = R.linear(W, s + ".q_proj", x, dim, bias=True).reshape(n, H, hd)
        k = R.linear(W, s + ".k_proj", x, dim, bias=True).reshape(n, H, hd)
        v = R.linear(W, s + ".v_proj", x, dim, bias=True).reshape(n, H, hd)
        K, V, P = cache.extend(i, k, v, pos, None)
        o = eager_attention_forward(q, K, V, hd ** -0.5, attention_mask(pos, P, True, None))
        x = R.layer_norm(W, p + ".self_attn_layer_norm",
                         x + R.linear(W, s + ".out_proj", o, dim, bias=True), 1e-5)
        a = _marian_attention(W, p + ".encoder_attn", x, memory, H, to_memory)
        x = R.layer_norm(W, p + ".encoder_attn_layer_norm", x + a, 1e-5)
        x = _marian_ffn(W, p, x, c, "decoder", act)
    cache.pos += n
    vocab = c["vocab_size"]
    return R.linear(W, "lm_head", x, vocab, tied="model.shared.weight") + \
        W("final_logits_bias", (1, vocab), "bias")[0]


#===----------------------------------------------------------------------===#
# What each architecture computes through the C ABI
#===----------------------------------------------------------------------===#


def decode(m, ids, cache=None, memory=None):
    """Logits of a decoder for ids, continuing cache (tfc_decode with all_logits)."""
    if m.arch == "GPT2LMHeadModel":
        return gpt2_logits(m, ids, cache)
    if m.arch in DEEPSEEK:
        return deepseek_v2_logits(m, ids, cache)
    if m.arch in CAUSAL_LM:
        return llama_family_logits(m, ids, cache)
    if m.arch in ENCODER_DECODERS:
        return marian_decode(m, ids, memory, cache)
    raise ValueError("%s has no decoder" % m.arch)


def forward(m, tokens, source_tokens=None):
    """Causal LMs: logits for tokens. BERT: last_hidden_state. Marian: the decoder
    logits for decoder_input_ids = tokens, given input_ids = source_tokens."""
    if m.arch in ENCODERS:
        return bert_forward(m, tokens, heads=False)[0]
    if m.arch in ENCODER_DECODERS:
        if not source_tokens:
            raise ValueError("MarianMTModel needs source tokens")
        return marian_decode(m, tokens, marian_encode(m, source_tokens))
    return decode(m, tokens)


def check_all_used(m, tokens=(0,), source_tokens=(0,)):
    """Runs every output of the architecture once; returns the tensors no part read."""
    if m.arch in ENCODERS:
        bert_forward(m, list(tokens))
    else:
        forward(m, list(tokens), list(source_tokens))
    return m.unused()


def greedy(m, prompt, steps, source_tokens=None):
    """Greedy decoding through the KV cache: the prompt in one call, then one token a
    call. Marian starts from decoder_start_token_id, never picks pad_token_id and stops
    after eos_token_id."""
    cache = KVCache()
    memory = None
    if m.arch in ENCODER_DECODERS:
        memory = marian_encode(m, source_tokens)
        prompt = [m.cfg["decoder_start_token_id"]] if prompt is None else prompt
    logits = decode(m, list(prompt), cache, memory)
    out = []
    for _ in range(steps):
        last = logits[-1].copy()
        if m.arch in ENCODER_DECODERS:
            # Opus-MT's generation config bans the pad id (bad_words_ids [[pad]]); it is
            # also the decoder start, so an untrained model would repeat it.
            last[m.cfg["pad_token_id"]] = -np.inf
        nxt = int(np.argmax(last))
        out.append(nxt)
        if m.arch in ENCODER_DECODERS and nxt == m.cfg["eos_token_id"]:
            break
        logits = decode(m, [nxt], cache, memory)
    return out


def chunked(m, tokens, chunks, source_tokens=None):
    """The logits of tokens fed in chunks through one KV cache, concatenated."""
    cache = KVCache()
    memory = marian_encode(m, source_tokens) if m.arch in ENCODER_DECODERS else None
    out, start = [], 0
    for size in chunks:
        out.append(decode(m, tokens[start:start + size], cache, memory))
        start += size
    return np.concatenate(out), cache


#===----------------------------------------------------------------------===#
# Self test: identities that can fail
#===----------------------------------------------------------------------===#

HERE = os.path.dirname(os.path.abspath(__file__))
STORIES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "models",
                                        "stories260K"))
PROMPT = [5, 17, 96, 0, 42, 8, 63, 29, 71, 3, 50]


class SelfTest:
    def __init__(self, tmp):
        self.tmp = tmp
        self.count = self.failures = 0
        self.dirs = 0

    def true(self, what, cond):
        self.count += 1
        if not cond:
            self.failures += 1
            print("FAIL: " + what)

    def close(self, what, got, want, tol=1e-12):
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        err = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
        self.true("%s: max error %.3e > %.0e" % (what, err, tol), err <= tol)

    def differ(self, what, a, b):
        self.true("%s: should differ" % what, float(np.max(np.abs(np.asarray(a) - b))) > 1e-6)

    def raises(self, what, fn, field):
        try:
            fn()
        except (ValueError, KeyError) as e:
            self.true("%s: error %r should name %s" % (what, str(e), field), field in str(e))
            return
        self.true("%s: no error" % what, False)

    def checkpoint(self, arch, variants=(), overrides=None, seed=0, dtype="F32"):
        """Writes a checkpoint with hf_checkpoint; returns (dir, Model)."""
        import hf_checkpoint as C
        self.dirs += 1
        d = os.path.join(self.tmp, "%d-%s" % (self.dirs, arch))
        C.write_checkpoint(arch, d, list(variants), overrides, seed, dtype)
        return d, load(d)


def _test_stories(T):
    st = os.path.join(STORIES, "model.safetensors")
    if not os.path.exists(st):
        print("note: %s not found, stories260K check skipped" % st)
        return
    m = load(STORIES)
    expect = [432, 383, 286, 261, 376, 298, 315, 421, 395, 317]
    got = greedy(m, [1, 403, 407, 261, 378], len(expect))
    T.true("stories260K greedy %s == %s" % (got, expect), got == expect)
    T.true("stories260K uses every tensor", check_all_used(m) == [])
    # Recompute without a cache: the logits of the prompt plus the decoded tokens.
    full = forward(m, [1, 403, 407, 261, 378] + expect[:-1])
    T.true("stories260K recompute argmax == greedy",
           [int(t) for t in np.argmax(full[4:], axis=-1)] == expect)


def _test_rope(T):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 8))
    pos = np.arange(6) + 3
    base = {"rope_theta": 10000.0}
    inv = rope_inv_freq(base, 8)
    T.close("rope rotate_half == reference.rope_apply half",
            apply_rotary_pos_emb(x, pos, inv), R.rope_apply(x, pos, 10000.0, "half"))
    lin1 = dict(base, rope_scaling={"type": "linear", "factor": 1.0})
    T.close("linear rope factor 1 == no scaling", rope_inv_freq(lin1, 8), inv, 0.0)
    lin4 = dict(base, rope_scaling={"rope_type": "linear", "factor": 4.0})
    T.close("linear rope factor 4 == positions / 4",
            apply_rotary_pos_emb(x, pos, rope_inv_freq(lin4, 8)),
            apply_rotary_pos_emb(x, pos / 4.0, inv))
    v5 = {"rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}}
    T.close("rope_parameters (5.x) == rope_theta + rope_scaling (4.x)",
            rope_inv_freq(v5, 8), rope_inv_freq(lin4, 8), 0.0)
    T.raises("unsupported rope type", lambda: rope_inv_freq(
        dict(base, rope_scaling={"rope_type": "yarn", "factor": 2.0}), 8), "rope_type")
    # llama3: wavelengths 2 pi / f. Old context 64, low/high factors 1 / 4: kept below
    # 16, divided by 8 above 64, and continuous at both edges of the smoothed band.
    f, ctx = 8.0, 64.0
    edges = 2 * math.pi / np.array([ctx / 4, ctx])   # wavelen == high, == low edge
    eps = 1e-9
    just = np.array([edges[0] * (1 + eps), edges[0] * (1 - eps),
                     edges[1] * (1 + eps), edges[1] * (1 - eps)])
    got = llama3_inv_freq(just, f, 1.0, 4.0, ctx)
    # Continuity: across an edge the value moves by O(eps), not by the factor 8.
    T.close("llama3 continuous at the high-frequency edge", got[0], got[1], 1e-8)
    T.close("llama3 keeps the high-frequency edge", got[0], just[0], 1e-12)
    T.close("llama3 continuous at the low-frequency edge", got[2], got[3], 1e-8)
    T.close("llama3 divides the low-frequency edge by factor", got[3], just[3] / f, 1e-12)
    band = llama3_inv_freq(np.array([1.0, 0.1, 0.01, 0.001]), f, 1.0, 4.0, ctx)
    smooth = (ctx / (2 * math.pi / 0.1) - 1.0) / 3.0
    T.close("llama3 bands: kept, smoothed, divided",
            band, [1.0, (1 - smooth) * 0.1 / f + smooth * 0.1, 0.01 / f, 0.001 / f], 1e-15)


def _test_activations(T):
    # activations.py ACT2FN at 1: erf GELU, the tanh forms, SiLU, QuickGELU.
    for name, want in (("gelu", 0.8413447460685429), ("gelu_new", 0.8411919906082768),
                       ("gelu_pytorch_tanh", 0.8411919906082768),
                       ("gelu_fast", 0.8411919906082768), ("silu", 0.7310585786300049),
                       ("swish", 0.7310585786300049), ("relu", 1.0),
                       ("quick_gelu", 1.0 / (1.0 + math.exp(-1.702)))):
        T.close("ACT2FN[%s](1)" % name, ACTIVATIONS[name](np.array(1.0)), want, 1e-12)
    _, m = T.checkpoint("llama")
    for act in ("gelu", "gelu_pytorch_tanh", "relu"):
        other = Model(dict(m.raw_config, hidden_act=act), m.tensors)
        T.differ("llama hidden_act %s vs silu" % act, forward(other, PROMPT), forward(m, PROMPT))


def _test_mask(T):
    allowed = attention_mask(np.arange(6), np.arange(6), True, 3)
    T.true("sliding window 3: query 5 sees 3, 4, 5",
           list(np.nonzero(allowed[5])[0]) == [3, 4, 5] and list(np.nonzero(allowed[1])[0]) == [0, 1])


def _test_llama_family(T):
    # The HF Llama reference against reference.py's llama (its own rope and sdpa).
    d, m = T.checkpoint("llama")
    cfg = dict(vocab=97, dim=64, layers=2, heads=8, kv_heads=2, head_dim=8, ffn=96,
               max_seq=64, eps=1e-5, rope_theta=10000.0, rope_style="half",
               tie_embeddings=False)
    want = R.llama(cfg, m.tensors, PROMPT)
    T.close("llama == reference.llama (llama_small)", forward(m, PROMPT), want, 1e-11)
    # The Mistral window, Qwen2's q/k/v biases and llama3 scaling against reference.py's
    # own (tdsl's attention window / bias / out_bias, rope scaling).
    llama3 = dict(kind="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                  original_max_pos=64)
    for arch, variants, extra in (
            ("mistral", ["sliding-window"], dict(window=5)),
            ("qwen2", ["sliding-window", "rope-llama3"],
             dict(window=5, qkv_bias=True, tie_embeddings=True, rope_scaling=llama3))):
        _, mo = T.checkpoint(arch, variants, {"max_window_layers": 0, "layer_types": None}
                             if arch == "qwen2" else None)
        L = llama_family_layout(mo.arch, mo.cfg)
        rcfg = dict(cfg, heads=L["heads"], kv_heads=L["kv_heads"], head_dim=L["head_dim"],
                    ffn=L["ffn"], layers=L["layers"], eps=L["eps"],
                    rope_theta=rope_parameters(mo.cfg)["rope_theta"], **extra)
        T.close("%s %s == reference.llama with %s" % (arch, variants, sorted(extra)),
                forward(mo, PROMPT), R.llama(rcfg, mo.tensors, PROMPT), 1e-11)
    T.true("llama uses every tensor", check_all_used(m) == [])
    for variants in (["tied"], ["attention-bias", "mlp-bias"], ["head-dim"], ["rope-llama3"],
                     ["rope-linear"]):
        d2, m2 = T.checkpoint("llama", variants)
        y = forward(m2, PROMPT)
        T.true("llama %s: finite, every tensor used" % variants,
               np.all(np.isfinite(y)) and check_all_used(m2) == [])
        T.differ("llama %s vs base" % variants, y, forward(m, PROMPT))
    _, mb = T.checkpoint("llama", ["attention-bias"])
    check_all_used(mb)
    T.true("attention_bias puts a bias on o_proj too", "model.layers.0.self_attn.o_proj.bias" in mb.W.used)
    # Defaults: fields left out take transformers' values.
    raw = dict(m.raw_config)
    for k in ("attention_bias", "mlp_bias", "rope_scaling", "rope_theta", "hidden_act",
              "tie_word_embeddings", "head_dim"):
        raw.pop(k)
    T.close("llama config without optional fields == with their defaults",
            forward(Model(raw, m.tensors), PROMPT), forward(m, PROMPT), 0.0)

    # Mistral with a window >= the prompt is Llama with the same tensors.
    _, mm = T.checkpoint("mistral")
    as_llama = dict(mm.raw_config, architectures=["LlamaForCausalLM"], model_type="llama")
    del as_llama["sliding_window"]
    T.close("mistral, window 4096 >= prompt == llama", forward(mm, PROMPT),
            forward(Model(as_llama, mm.tensors), PROMPT), 0.0)
    _, mw = T.checkpoint("mistral", ["sliding-window"])
    T.differ("mistral window 5 < prompt vs llama", forward(mw, PROMPT),
             forward(Model(as_llama, mw.tensors), PROMPT))
    # One layer, window 5: the logits at q depend on tokens q-4 .. q only.
    _, m1 = T.checkpoint("mistral", ["sliding-window"], {"num_hidden_layers": 1})
    base = forward(m1, PROMPT)
    for j, what in ((5, "inside"), (4, "at the edge of")):
        toks = list(PROMPT)
        toks[j] = (toks[j] + 1) % 97
        y = forward(m1, toks)
        seen = float(np.max(np.abs(y[9] - base[9]))) > 1e-9
        T.true("mistral 1 layer, window 5: token %d %s the window of query 9 %s" %
               (j, what, "changes" if j == 5 else "does not change"), seen == (j == 5))

    # Qwen2: layer_types (4.53+) and max_window_layers say the same; a window on every
    # layer from max_window_layers == layers on is no window.
    _, mq = T.checkpoint("qwen2", ["sliding-window"])
    old = dict(mq.raw_config)
    del old["layer_types"]
    T.close("qwen2 layer_types == use_sliding_window + max_window_layers",
            forward(Model(old, mq.tensors), PROMPT), forward(mq, PROMPT), 0.0)
    T.true("qwen2 windows per layer", llama_family_layout(mq.arch, mq.cfg)["windows"] == [None, 5, 5])
    none = dict(old, max_window_layers=3)
    _, mq0 = T.checkpoint("qwen2")
    T.close("qwen2 max_window_layers == layers: no window",
            forward(Model(none, mq.tensors), PROMPT), forward(Model(mq0.raw_config, mq.tensors), PROMPT), 0.0)
    T.differ("qwen2 with sliding layers vs none", forward(mq, PROMPT),
             forward(Model(none, mq.tensors), PROMPT))
    T.true("qwen2 q/k/v biases, no o_proj bias, tied head",
           "model.layers.0.self_attn.q_proj.bias" in mq.W.used and
           "model.layers.0.self_attn.o_proj.bias" not in mq.tensors and "lm_head.weight" not in mq.tensors)
    T.true("qwen2 uses every tensor", check_all_used(mq) == [])


def _test_gpt2(T):
    # Conv1D == Linear on the transposed weight: reference.py's gpt2 (split q/k/v/o
    # [out, in] names) on the converted tensors.
    _, m = T.checkpoint("gpt2")
    conv = {}
    for name, t in m.tensors.items():
        parts = name.split(".")
        if name.endswith("attn.c_attn.weight") or name.endswith("attn.c_attn.bias"):
            kind = parts[-1]
            pieces = np.split(t, 3, axis=-1)
            for proj, piece in zip(("q_proj", "k_proj", "v_proj"), pieces):
                conv[".".join(parts[:-2] + [proj, kind])] = piece.T if kind == "weight" else piece
        elif ".attn.c_proj." in name:
            conv[".".join(parts[:-2] + ["o_proj", parts[-1]])] = t.T if parts[-1] == "weight" else t
        elif ".mlp.c_" in name and parts[-1] == "weight":
            conv[name] = t.T
        else:
            conv[name] = t
    cfg = dict(vocab=97, dim=64, layers=2, heads=4, ffn=256, max_seq=64, eps=1e-5)
    T.close("gpt2 Conv1D == reference.gpt2 on Linear [out, in] weights",
            forward(m, PROMPT), R.gpt2(cfg, conv, PROMPT), 1e-11)
    T.true("gpt2 uses every tensor", check_all_used(m) == [])
    _, mu = T.checkpoint("gpt2", ["untied"])
    T.true("gpt2 untied has lm_head.weight and uses it", check_all_used(mu) == [] and "lm_head.weight" in mu.tensors)
    inv = Model(dict(m.raw_config, scale_attn_by_inverse_layer_idx=True), m.tensors)
    T.differ("gpt2 scale_attn_by_inverse_layer_idx", forward(inv, PROMPT), forward(m, PROMPT))


def _test_bert(T):
    # reference.py's bert has no token types: fold row 0 into the position table.
    for arch in ("bert", "bert-mlm"):
        _, m = T.checkpoint(arch)
        b = "bert." if arch == "bert-mlm" else ""
        conv = {}
        for name, t in m.tensors.items():
            if not name.startswith(b) or name.startswith("bert.pooler") or name.startswith("pooler"):
                continue
            n = name[len(b):]
            for hf, ours in (("attention.self.query", "attention.q_proj"),
                             ("attention.self.key", "attention.k_proj"),
                             ("attention.self.value", "attention.v_proj"),
                             ("attention.output.dense", "attention.o_proj")):
                n = n.replace(hf, ours)
            conv[n] = t
        conv["embeddings.position_embeddings.weight"] = \
            m.tensors[b + "embeddings.position_embeddings.weight"].astype(np.float64) + \
            m.tensors[b + "embeddings.token_type_embeddings.weight"][0]
        cfg = dict(vocab=97, dim=64, layers=2, heads=4, ffn=128, max_seq=64, eps=1e-12)
        T.close("%s last_hidden_state == reference.bert (token type 0 folded in)" % arch,
                forward(m, PROMPT), R.bert(cfg, conv, PROMPT), 1e-10)
        T.true("%s uses every tensor" % arch, check_all_used(m) == [])


def _test_marian(T):
    _, m = T.checkpoint("marian")
    src, tgt = [7, 33, 2, 90, 0], PROMPT[:7]
    y = forward(m, tgt, src)
    T.true("marian uses every tensor", check_all_used(m) == [])
    table = marian_positions(np.arange(5), 8)
    T.close("marian sinusoids == reference.py's interleaved ones, halves split",
            table, np.concatenate([R.sinusoidal_table(np.arange(5), 8)[:, 0::2],
                                   R.sinusoidal_table(np.arange(5), 8)[:, 1::2]], axis=-1))
    noscale = Model(dict(m.raw_config, scale_embedding=False), m.tensors)
    T.differ("marian scale_embedding", forward(noscale, tgt, src), y)
    nobias = dict(m.tensors, final_logits_bias=np.zeros_like(m.tensors["final_logits_bias"]))
    T.close("marian final_logits_bias is added to every row",
            y - forward(Model(m.raw_config, nobias), tgt, src),
            np.broadcast_to(m.tensors["final_logits_bias"], y.shape), 1e-12)
    T.differ("marian source matters", forward(m, tgt, src[:4]), y)
    first = greedy(m, None, 1, src)
    start = decode(m, [m.cfg["decoder_start_token_id"]], None, marian_encode(m, src))[-1]
    start[m.cfg["pad_token_id"]] = -np.inf
    T.true("marian generation starts from decoder_start_token_id",
           first == [int(np.argmax(start))])


def _test_layouts(T):
    """Sharded == single file, 5.x config == 4.x, hub == save_pretrained, BF16 values."""
    for arch, extra in (("llama", ["rope-llama3"]), ("mistral", ["sliding-window"]),
                        ("qwen2", ["sliding-window", "rope-linear"]), ("gpt2", []), ("bert", []),
                        ("bert-mlm", []), ("marian", [])):
        d, m = T.checkpoint(arch, extra)
        want = forward(m, PROMPT, [7, 33, 2])
        kinds = [["sharded"], ["v5"]] + ([["hub"]] if arch in ("gpt2", "bert", "bert-mlm") else [])
        for v in kinds:
            d2, m2 = T.checkpoint(arch, extra + v)
            T.close("%s %s == single-file 4.x save_pretrained" % (arch, v),
                    forward(m2, PROMPT, [7, 33, 2]), want, 0.0)
            T.true("%s %s: same tensors after renaming" % (arch, v),
                   sorted(m2.tensors) == sorted(m.tensors))
        if arch == "llama":
            T.close("load(model.safetensors) == load(dir)",
                    forward(load(os.path.join(d, SINGLE_FILE)), PROMPT), want, 0.0)
            ds, ms = T.checkpoint(arch, extra + ["sharded"])
            T.true("sharded: two shards and the index, nothing else",
                   sorted(f for f in os.listdir(ds) if "safetensors" in f) ==
                   ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", INDEX_FILE])
            T.close("load(index.json) == load(dir)",
                    forward(load(os.path.join(ds, INDEX_FILE)), PROMPT), want, 0.0)
    _, m = T.checkpoint("llama")
    _, mb = T.checkpoint("llama", dtype="BF16")
    T.true("BF16 checkpoint holds the bf16 rounding of the F32 one",
           all(np.array_equal(mb.tensors[k], R.round_to_dtype(m.tensors[k], "BF16")) for k in m.tensors))
    d5, _ = T.checkpoint("llama", ["v5", "rope-llama3"])
    raw = json.load(open(os.path.join(d5, "config.json")))
    T.true("5.x config: rope_parameters and dtype, no rope_theta / rope_scaling / torch_dtype",
           raw["rope_parameters"]["rope_type"] == "llama3" and raw["dtype"] == "float32" and
           not {"rope_theta", "rope_scaling", "torch_dtype"} & set(raw))
    dh, mh = T.checkpoint("gpt2", ["hub"])
    hub = R.load_safetensors(os.path.join(dh, SINGLE_FILE))
    T.true("gpt2 hub layout: no transformer. prefix, attn.bias and masked_bias buffers",
           "wte.weight" in hub and "h.0.attn.bias" in hub and "h.1.attn.masked_bias" in hub)
    db, _ = T.checkpoint("bert", ["hub"])
    hub = R.load_safetensors(os.path.join(db, SINGLE_FILE))
    T.true("bert hub layout: LayerNorm.gamma/beta, int64 position_ids",
           "embeddings.LayerNorm.gamma" in hub and "encoder.layer.1.output.LayerNorm.beta" in hub
           and hub["embeddings.position_ids"].dtype == np.int64)


def _test_incremental(T):
    """KV-free recompute == incremental decode of a chunked prompt (the rolling cache
    of a sliding window keeps window - 1 positions between calls)."""
    for arch, variants in (("llama", []), ("llama", ["rope-llama3", "head-dim"]),
                           ("mistral", ["sliding-window"]), ("qwen2", ["sliding-window"]),
                           ("gpt2", []), ("marian", [])):
        _, m = T.checkpoint(arch, variants)
        src = [7, 33, 2, 90, 0]
        whole = forward(m, PROMPT, src)
        for chunks in ([5, 1, 3, 1, 1], [1] * 11, [2, 9]):
            got, cache = chunked(m, PROMPT, chunks, src)
            T.close("%s %s: chunks %s == whole prompt" % (arch, variants, chunks), got, whole, 1e-11)
            if "sliding-window" in variants:
                T.true("%s: the rolling cache carries <= window - 1 = 4 positions (%d)" %
                       (arch, cache.max_carried), cache.max_carried <= 4)


def _test_errors(T):
    _, m = T.checkpoint("llama")
    T.raises("unknown architecture", lambda: read_config({"architectures": ["FooModel"]}),
             "architectures")
    T.raises("unsupported activation", lambda: read_config(dict(m.raw_config, hidden_act="tanhh")),
             "hidden_act")
    missing = {k: v for k, v in m.tensors.items() if k != "model.layers.1.mlp.up_proj.weight"}
    T.raises("missing tensor", lambda: forward(Model(m.raw_config, missing), PROMPT),
             "model.layers.1.mlp.up_proj.weight")
    wrong = dict(m.tensors, **{"model.norm.weight": np.ones(63)})
    T.raises("wrong shape", lambda: forward(Model(m.raw_config, wrong), PROMPT), "model.norm.weight")
    extra = dict(m.tensors, **{"model.layers.9.mlp.up_proj.weight": np.ones((96, 64))})
    T.true("an extra tensor is reported unused",
           check_all_used(Model(m.raw_config, extra)) == ["model.layers.9.mlp.up_proj.weight"])
    _, mg = T.checkpoint("gpt2")
    T.raises("prompt beyond n_positions", lambda: forward(mg, [1] * 65), "n_positions")


def self_test():
    tmp = tempfile.mkdtemp(prefix="tfc-hfref-")
    try:
        T = SelfTest(tmp)
        for part in (_test_stories, _test_rope, _test_activations, _test_mask, _test_llama_family, _test_gpt2,
                     _test_bert, _test_marian, _test_layouts, _test_incremental, _test_errors):
            part(T)
        print("hf self-test: %d checks, %d failed" % (T.count, T.failures))
        return 1 if T.failures else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _ids(s):
    return [int(t) for t in s.split(",")] if s else None


def main():
    global ROUTING
    ap = argparse.ArgumentParser(description="float64 reference of a Hugging Face model directory")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("model", nargs="?", help="model directory, index.json or .safetensors")
    ap.add_argument("--tokens", help="input_ids (decoder_input_ids for Marian)")
    ap.add_argument("--source-tokens", help="Marian: the encoder's input_ids")
    ap.add_argument("--generate", type=int, default=0, help="greedy tokens to print")
    ap.add_argument("--out", help="write the output as float32 little-endian")
    ap.add_argument("--routing", action="store_true",
                    help="print the tokens each expert got, per MoE layer")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.model:
        ap.error("MODEL or --self-test is required")
    try:
        m = load(args.model)
        tokens, source = _ids(args.tokens), _ids(args.source_tokens)
        if args.generate:
            print("generated: " + " ".join(map(str, greedy(m, tokens, args.generate, source))))
        elif tokens:
            ROUTING = [] if args.routing else None
            y = forward(m, tokens, source)
            for scope, n, counts in ROUTING or []:
                print("routing %s: %d tokens, per expert %s" % (scope, n, " ".join(map(str, counts))))
            if args.out:
                y.astype("<f4").tofile(args.out)
            print("%s: output %s, max |y| %.4g" % (m.arch, list(y.shape), np.max(np.abs(y))))
    except (ValueError, KeyError, OSError) as e:
        sys.exit("hf_reference.py: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
