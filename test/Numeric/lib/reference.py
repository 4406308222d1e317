#===- reference.py - Independent numpy float64 reference of tdsl v1 --------===#
#
# The numeric oracle of the tfc test suite. Every tdsl builtin of SPEC.md §2 is
# written here again from its definition, in float64 numpy, with no code shared
# with the compiler, plus a safetensors reader/writer and whole-model forward
# passes for the model families of test/Numeric/Inputs/*.tdsl (same weight names).
#
# Weights are looked up through a `Weights` object: it checks the shape of every
# tensor a forward pass asks for, and, when built without tensors, creates seeded
# random ones on first use. Running a forward pass through an empty `Weights`
# therefore yields the model's weight manifest (names, shapes, order of first use).
#
#===----------------------------------------------------------------------===#

import json
import math
import struct

import numpy as np

#===----------------------------------------------------------------------===#
# Elementwise builtins and norms
#===----------------------------------------------------------------------===#

_erf = np.vectorize(math.erf, otypes=[np.float64])


def relu(x):
    return np.maximum(x, 0.0)


def gelu(x):
    """Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    """GELU, tanh approximation (GPT-2 'gelu_new', PyTorch approximate='tanh')."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + np.exp(-x))


def rms_norm_core(x, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def layer_norm_core(x, eps):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)  # biased, as PyTorch
    return (x - mu) / np.sqrt(var + eps)


def softmax(s, axis=-1):
    m = np.max(s, axis=axis, keepdims=True)
    e = np.exp(s - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def sinusoidal_table(positions, dim):
    """[len(positions), dim]: sin(p / 10000^(2i/dim)) at 2i, cos at 2i+1."""
    p = np.asarray(positions, dtype=np.float64)[:, None]
    i = np.arange(dim // 2, dtype=np.float64)[None, :]
    ang = p / np.power(10000.0, 2.0 * i / dim)
    out = np.zeros((p.shape[0], dim))
    out[:, 0::2] = np.sin(ang)
    out[:, 1::2] = np.cos(ang)
    return out


def rope_inv_freq(theta, d, scaling=None):
    """theta^(-2j/d), j < d/2, rescaled by `scaling` (a dict: kind "linear" or
    "llama3", factor, low_freq_factor, high_freq_factor, original_max_pos) as
    Hugging Face's modeling_rope_utils does: linear divides every frequency by
    the factor (_compute_linear_scaling_rope_parameters); llama3 divides the
    frequencies whose wavelength 2 pi / f exceeds original_max_pos /
    low_freq_factor, keeps those below original_max_pos / high_freq_factor and
    blends the ones in between by (original_max_pos / wavelength -
    low_freq_factor) / (high_freq_factor - low_freq_factor)
    (_compute_llama3_parameters)."""
    j = np.arange(d // 2, dtype=np.float64)
    inv_freq = np.power(float(theta), -2.0 * j / d)
    if scaling is None:
        return inv_freq
    factor = float(scaling["factor"])
    if scaling["kind"] == "linear":
        return inv_freq / factor
    assert scaling["kind"] == "llama3", scaling
    low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
    context = float(scaling["original_max_pos"])
    out = inv_freq.copy()
    for i, f in enumerate(inv_freq):
        wavelen = 2.0 * math.pi / f
        if wavelen > context / low:
            out[i] = f / factor
        elif wavelen >= context / high:
            smooth = (context / wavelen - low) / (high - low)
            out[i] = (1.0 - smooth) * f / factor + smooth * f
    return out


def rope_apply(x, positions, theta, style, scaling=None):
    """Rotates the last axis of x [n, heads, d] by absolute position.

    inv_freq_j = theta^(-2j/d), j < d/2 (rescaled by `scaling`, see
    rope_inv_freq); the pair (a, b) of frequency j becomes
    (a cos - b sin, b cos + a sin). style "half" pairs element j with j + d/2 (HF
    Llama rotate_half); "interleaved" pairs 2j with 2j+1 (GPT-J, Meta Llama)."""
    d = x.shape[-1]
    assert d % 2 == 0, "rope needs an even dimension"
    inv_freq = rope_inv_freq(theta, d, scaling)
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    cos = np.cos(ang)[:, None, :]
    sin = np.sin(ang)[:, None, :]
    out = np.empty_like(x)
    if style == "half":
        a, b = x[..., : d // 2], x[..., d // 2:]
        out[..., : d // 2] = a * cos - b * sin
        out[..., d // 2:] = b * cos + a * sin
    elif style == "interleaved":
        a, b = x[..., 0::2], x[..., 1::2]
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = b * cos + a * sin
    else:
        raise ValueError("unknown rope style %r" % (style,))
    return out


# When a list, sdpa appends each call's softmax probabilities [H, n, m] to it, in
# call order (check_attention.py compares them with tfc_attention_maps).
PROBABILITIES = None


def sdpa(q, k, v, scale, causal, q_pos, k_pos, window=None):
    """q [n, H, dq], k [m, KV, dq], v [m, KV, dv] -> [n, H*dv].

    Query head h reads key/value head h // (H / KV) (GQA; KV = 1 is MQA). A
    sliding `window` (causal only) also hides keys at window or more positions
    before the query (Mistral: q_pos - window < k_pos <= q_pos)."""
    n, H, _ = q.shape
    m, KV, dv = v.shape
    assert H % KV == 0, "heads (%d) must be divisible by kv_heads (%d)" % (H, KV)
    group = H // KV
    out = np.zeros((n, H, dv))
    probs = np.zeros((H, n, m))
    mask = None
    if causal:
        mask = np.asarray(k_pos)[None, :] > np.asarray(q_pos)[:, None]
        if window is not None:
            mask |= np.asarray(k_pos)[None, :] <= np.asarray(q_pos)[:, None] - window
    for h in range(H):
        kh = h // group
        s = (q[:, h, :] @ k[:, kh, :].T) * scale
        if mask is not None:
            s = np.where(mask, -np.inf, s)
        probs[h] = softmax(s)
        out[:, h, :] = probs[h] @ v[:, kh, :]
    if PROBABILITIES is not None:
        PROBABILITIES.append(probs)
    return out.reshape(n, H * dv)


#===----------------------------------------------------------------------===#
# Weights: lookup with shape checks, or seeded creation (the manifest)
#===----------------------------------------------------------------------===#


class Weights:
    """Weight store keyed by full tdsl weight names.

    Weights(tensors): a forward pass reads tensors[name] (converted to float64)
    and fails on a missing name or a wrong shape. Weights(seed=S): tensors are
    created on first use: norm scales 1 + 0.1 N(0,1), biases 0.05 N(0,1),
    embeddings 0.2 N(0,1), matrices 0.1 N(0,1) (keeps softmaxes unsaturated)."""

    def __init__(self, tensors=None, seed=None):
        self.tensors = tensors
        self.rng = np.random.default_rng(seed) if tensors is None else None
        self.used = {}  # name -> float64 array, in order of first use
        self.kinds = {}

    def __call__(self, name, shape, kind):
        shape = tuple(int(s) for s in shape)
        if name in self.used:
            t = self.used[name]
            if t.shape != shape:
                raise ValueError("weight %s used with shapes %s and %s" % (name, t.shape, shape))
            return t
        if self.tensors is not None:
            if name not in self.tensors:
                raise KeyError("missing weight %s %s" % (name, list(shape)))
            t = np.asarray(self.tensors[name], dtype=np.float64)
            if t.shape != shape:
                raise ValueError("weight %s has shape %s, expected %s" % (name, t.shape, shape))
        else:
            r = self.rng.standard_normal(shape)
            if kind == "norm":
                t = 1.0 + 0.1 * r
            elif kind == "bias":
                t = 0.05 * r
            elif kind == "embed":
                t = 0.2 * r
            else:
                t = 0.1 * r
        self.used[name] = t
        self.kinds[name] = kind
        return t

    def product(self, x, w, name):
        """x W^T of a linear layer whose weight is `name` (quant.py overrides it
        for quantized weights)."""
        return x @ w.T


def as_weights(W):
    return W if isinstance(W, Weights) else Weights(tensors=W)


def join(*parts):
    return ".".join(p for p in parts if p)


#===----------------------------------------------------------------------===#
# Builtins with weights (SPEC §2 names and layouts)
#===----------------------------------------------------------------------===#


def embedding(W, scope, tokens, vocab, dim):
    w = W(join(scope, "weight"), (vocab, dim), "embed")
    tokens = np.asarray(tokens)
    assert tokens.min() >= 0 and tokens.max() < vocab, "token id out of range"
    return w[tokens]


def position_embedding(W, scope, max_pos, dim, n, start=0):
    """Learned absolute positions: rows start .. start+n-1."""
    w = W(join(scope, "weight"), (max_pos, dim), "embed")
    assert start + n <= max_pos
    return w[start:start + n]


def sinusoidal(dim, n, start=0):
    return sinusoidal_table(np.arange(start, start + n), dim)


def linear(W, scope, x, out, bias=False, tied=None):
    """x W^T (+ b), W [out, in]. tied names the full weight name to reuse."""
    d_in = x.shape[-1]
    name = tied if tied is not None else join(scope, "weight")
    w = W(name, (out, d_in), "embed" if tied is not None else "weight")
    y = W.product(x, w, name)
    if bias:
        y = y + W(join(scope, "bias"), (out,), "bias")
    return y


def rms_norm(W, scope, x, eps):
    return rms_norm_core(x, eps) * W(join(scope, "weight"), (x.shape[-1],), "norm")


def layer_norm(W, scope, x, eps):
    d = x.shape[-1]
    return layer_norm_core(x, eps) * W(join(scope, "weight"), (d,), "norm") + \
        W(join(scope, "bias"), (d,), "bias")


def rope(theta=10000.0, style="half", scaling=None):
    return {"theta": float(theta), "style": style, "scaling": scaling}


def mla(kv_rank, rope_dim, nope_dim, v_dim, q_rank=0):
    return {"kv_rank": kv_rank, "rope_dim": rope_dim, "nope_dim": nope_dim,
            "v_dim": v_dim, "q_rank": q_rank}


# How a KV cache stores keys and values (tfc --kv-type): None (f32, exact at
# float64 here), or a function of a [positions, heads, width] array returning
# the values read back (kv_type.py sets bf16 and Q8_0 rounding). Applied to the
# keys and values of causal self-attention after RoPE, and to MLA's cached
# latent [c, k_pe]; cross-attention caches stay f32.
KV_STORE = None


def attention(W, scope, x, heads, kv_heads=None, head_dim=None, causal=False, rope=None,
              memory=None, bias=False, latent=None, start=0, out_bias=None, window=None):
    """tdsl attention(...) on x [n, dim] whose first token is at absolute position start;
    out_bias defaults to bias."""
    n, dim = x.shape
    if latent is not None:
        assert memory is None and not bias, "mla: memory/bias not in the reference"
        return _mla(W, scope, x, heads, causal, rope, latent, start)
    kv_heads = heads if kv_heads is None else kv_heads
    head_dim = dim // heads if head_dim is None else head_dim
    m = x if memory is None else memory
    q_pos = np.arange(start, start + n)
    k_pos = q_pos if memory is None else np.arange(m.shape[0])
    q = linear(W, join(scope, "q_proj"), x, heads * head_dim, bias=bias)
    k = linear(W, join(scope, "k_proj"), m, kv_heads * head_dim, bias=bias)
    v = linear(W, join(scope, "v_proj"), m, kv_heads * head_dim, bias=bias)
    q = q.reshape(n, heads, head_dim)
    k = k.reshape(m.shape[0], kv_heads, head_dim)
    v = v.reshape(m.shape[0], kv_heads, head_dim)
    if rope is not None:
        q = rope_apply(q, q_pos, rope["theta"], rope["style"], rope.get("scaling"))
        k = rope_apply(k, k_pos, rope["theta"], rope["style"], rope.get("scaling"))
    if causal and memory is None and KV_STORE is not None:
        k, v = KV_STORE(k), KV_STORE(v)
    a = sdpa(q, k, v, 1.0 / math.sqrt(head_dim), causal, q_pos, k_pos, window)
    return linear(W, join(scope, "o_proj"), a, dim, bias=bias if out_bias is None else out_bias)


def _mla(W, scope, x, heads, causal, rope_cfg, L, start):
    """DeepSeek-V2 multi-head latent attention (HF modeling_deepseek, no yarn).

    Rope pairing: HF DeepSeek-V2 permutes q_pe/k_pe from (2j, 2j+1) pairs to the
    half layout and then applies rotate_half; since the same permutation is applied
    to q and k, the scores equal rotating the *stored* vectors with pairs (2j, 2j+1),
    i.e. tdsl style "interleaved". The reference applies the given style to the
    stored q_pe / k_pe: "interleaved" pairs (2j, 2j+1) (= real DeepSeek-V2
    checkpoints), "half" pairs (j, j + rope_dim/2). Frequencies use rope_dim."""
    n, dim = x.shape
    kv_rank, dr, dn, dv, q_rank = (L["kv_rank"], L["rope_dim"], L["nope_dim"],
                                   L["v_dim"], L.get("q_rank", 0))
    H = heads
    pos = np.arange(start, start + n)
    if q_rank == 0:
        q = linear(W, join(scope, "q_proj"), x, H * (dn + dr))
    else:
        qa = linear(W, join(scope, "q_a_proj"), x, q_rank)
        qa = rms_norm(W, join(scope, "q_a_layernorm"), qa, 1e-6)
        q = linear(W, join(scope, "q_b_proj"), qa, H * (dn + dr))
    q = q.reshape(n, H, dn + dr)
    q_nope, q_pe = q[..., :dn], q[..., dn:]
    kv_a = linear(W, join(scope, "kv_a_proj_with_mqa"), x, kv_rank + dr)
    c, k_pe = kv_a[:, :kv_rank], kv_a[:, kv_rank:]
    c = rms_norm(W, join(scope, "kv_a_layernorm"), c, 1e-6)
    k_pe = k_pe[:, None, :]
    if rope_cfg is not None:
        q_pe = rope_apply(q_pe, pos, rope_cfg["theta"], rope_cfg["style"])
        k_pe = rope_apply(k_pe, pos, rope_cfg["theta"], rope_cfg["style"])
    if causal and KV_STORE is not None:
        # The latent cache holds [c, k_pe] per token; keys and values are
        # computed from what it stores.
        stored = KV_STORE(np.concatenate([c, k_pe[:, 0, :]], axis=-1)[:, None, :])[:, 0, :]
        c, k_pe = stored[:, :kv_rank], stored[:, None, kv_rank:]
    kv = linear(W, join(scope, "kv_b_proj"), c, H * (dn + dv)).reshape(n, H, dn + dv)
    k_nope, v = kv[..., :dn], kv[..., dn:]
    qf = np.concatenate([q_nope, q_pe], axis=-1)
    kf = np.concatenate([k_nope, np.broadcast_to(k_pe, (n, H, dr))], axis=-1)
    a = sdpa(qf, kf, v, 1.0 / math.sqrt(dn + dr), causal, pos, pos)
    return linear(W, join(scope, "o_proj"), a, dim)


#===----------------------------------------------------------------------===#
# Model families (mirrored by test/Numeric/Inputs/*.tdsl)
#===----------------------------------------------------------------------===#


def _rope_of(cfg):
    return rope(cfg.get("rope_theta", 10000.0), cfg.get("rope_style", "half"),
                cfg.get("rope_scaling"))


def _swiglu(W, scope, h, cfg):
    g = silu(linear(W, join(scope, "mlp.gate_proj"), h, cfg["ffn"])) * \
        linear(W, join(scope, "mlp.up_proj"), h, cfg["ffn"])
    return linear(W, join(scope, "mlp.down_proj"), g, cfg["dim"])


def _llama_like(cfg, W, tokens, attn):
    W = as_weights(W)
    x = embedding(W, "model.embed_tokens", tokens, cfg["vocab"], cfg["dim"])
    for i in range(cfg["layers"]):
        s = "model.layers.%d" % i
        h = rms_norm(W, join(s, "input_layernorm"), x, cfg["eps"])
        x = x + attn(W, join(s, "self_attn"), h)
        h = rms_norm(W, join(s, "post_attention_layernorm"), x, cfg["eps"])
        x = x + _swiglu(W, s, h, cfg)
    x = rms_norm(W, "model.norm", x, cfg["eps"])
    if cfg.get("tie_embeddings", False):
        return linear(W, "lm_head", x, cfg["vocab"], tied="model.embed_tokens.weight")
    return linear(W, "lm_head", x, cfg["vocab"])


def llama(cfg, W, tokens):
    """Llama: pre-norm RMS, rope, GQA, SwiGLU; logits [n, vocab]. Hugging Face names.
    Options: qkv_bias (Qwen2: q/k/v biases, no output bias), window (Mistral's
    sliding window), rope_scaling (see rope_inv_freq)."""
    def attn(W, scope, h):
        return attention(W, scope, h, cfg["heads"], kv_heads=cfg.get("kv_heads"),
                         head_dim=cfg.get("head_dim"), causal=True, rope=_rope_of(cfg),
                         bias=cfg.get("qkv_bias", False), out_bias=False,
                         window=cfg.get("window"))
    return _llama_like(cfg, W, tokens, attn)


def deepseek_mla(cfg, W, tokens):
    """Llama-like blocks whose attention is DeepSeek-V2 MLA (dense SwiGLU MLP)."""
    lat = mla(cfg["kv_rank"], cfg["rope_dim"], cfg["nope_dim"], cfg["v_dim"],
              cfg.get("q_rank", 0))

    def attn(W, scope, h):
        return attention(W, scope, h, cfg["heads"], causal=True, rope=_rope_of(cfg),
                         latent=lat)
    return _llama_like(cfg, W, tokens, attn)


def gpt2(cfg, W, tokens):
    """GPT-2: learned positions, pre-LN with biases, gelu_tanh MLP, lm head tied to wte.

    Names follow HF GPT-2 except attention, which is split into q/k/v/o_proj with
    [out, in] layouts (HF's fused Conv1D c_attn is [in, 3*out])."""
    W = as_weights(W)
    n = len(tokens)
    dim, eps = cfg["dim"], cfg["eps"]
    x = embedding(W, "transformer.wte", tokens, cfg["vocab"], dim) + \
        position_embedding(W, "transformer.wpe", cfg["max_seq"], dim, n)
    for i in range(cfg["layers"]):
        s = "transformer.h.%d" % i
        h = layer_norm(W, join(s, "ln_1"), x, eps)
        x = x + attention(W, join(s, "attn"), h, cfg["heads"], causal=True, bias=True)
        h = layer_norm(W, join(s, "ln_2"), x, eps)
        h = gelu_tanh(linear(W, join(s, "mlp.c_fc"), h, cfg["ffn"], bias=True))
        x = x + linear(W, join(s, "mlp.c_proj"), h, dim, bias=True)
    x = layer_norm(W, "transformer.ln_f", x, eps)
    return linear(W, "lm_head", x, cfg["vocab"], tied="transformer.wte.weight")


def bert(cfg, W, tokens):
    """BERT encoder (no token types, no pooler): post-LN, gelu; hidden states [n, dim]."""
    W = as_weights(W)
    n = len(tokens)
    dim, eps = cfg["dim"], cfg["eps"]
    x = embedding(W, "embeddings.word_embeddings", tokens, cfg["vocab"], dim) + \
        position_embedding(W, "embeddings.position_embeddings", cfg["max_seq"], dim, n)
    x = layer_norm(W, "embeddings.LayerNorm", x, eps)
    for i in range(cfg["layers"]):
        s = "encoder.layer.%d" % i
        a = attention(W, join(s, "attention"), x, cfg["heads"], bias=True)
        x = layer_norm(W, join(s, "attention.output.LayerNorm"), x + a, eps)
        h = gelu(linear(W, join(s, "intermediate.dense"), x, cfg["ffn"], bias=True))
        h = linear(W, join(s, "output.dense"), h, dim, bias=True)
        x = layer_norm(W, join(s, "output.LayerNorm"), x + h, eps)
    return x


def transformer_encode(cfg, W, tokens):
    W = as_weights(W)
    n = len(tokens)
    dim, eps = cfg["dim"], cfg["eps"]
    x = embedding(W, "encoder.embed_tokens", tokens, cfg["vocab"], dim) * math.sqrt(dim) + \
        sinusoidal(dim, n)
    for i in range(cfg["enc_layers"]):
        s = "encoder.layers.%d" % i
        a = attention(W, join(s, "self_attn"), x, cfg["heads"], bias=True)
        x = layer_norm(W, join(s, "self_attn_layer_norm"), x + a, eps)
        h = relu(linear(W, join(s, "fc1"), x, cfg["ffn"], bias=True))
        h = linear(W, join(s, "fc2"), h, dim, bias=True)
        x = layer_norm(W, join(s, "final_layer_norm"), x + h, eps)
    return x


def transformer_decode(cfg, W, tokens, memory):
    W = as_weights(W)
    n = len(tokens)
    dim, eps = cfg["dim"], cfg["eps"]
    x = embedding(W, "decoder.embed_tokens", tokens, cfg["vocab"], dim) * math.sqrt(dim) + \
        sinusoidal(dim, n)
    for i in range(cfg["dec_layers"]):
        s = "decoder.layers.%d" % i
        a = attention(W, join(s, "self_attn"), x, cfg["heads"], causal=True, bias=True)
        x = layer_norm(W, join(s, "self_attn_layer_norm"), x + a, eps)
        a = attention(W, join(s, "encoder_attn"), x, cfg["heads"], memory=memory, bias=True)
        x = layer_norm(W, join(s, "encoder_attn_layer_norm"), x + a, eps)
        h = relu(linear(W, join(s, "fc1"), x, cfg["ffn"], bias=True))
        h = linear(W, join(s, "fc2"), h, dim, bias=True)
        x = layer_norm(W, join(s, "final_layer_norm"), x + h, eps)
    return linear(W, "lm_head", x, cfg["vocab"])


def transformer(cfg, W, tokens, encoder_tokens):
    """Original encoder-decoder Transformer (post-LN, ReLU FFN, sinusoidal positions,
    embeddings scaled by sqrt(dim), biases everywhere, untied output linear).
    Returns decoder logits [n, vocab]."""
    W = as_weights(W)
    return transformer_decode(cfg, W, tokens, transformer_encode(cfg, W, encoder_tokens))


FAMILIES = {
    "llama": llama,
    "gpt2": gpt2,
    "bert": bert,
    "transformer": transformer,
    "deepseek_mla": deepseek_mla,
}
ENCODER_ONLY = {"bert"}
ENCODER_DECODER = {"transformer"}


def forward(family, cfg, W, tokens, encoder_tokens=None):
    if family in ENCODER_DECODER:
        return FAMILIES[family](cfg, W, tokens, encoder_tokens)
    return FAMILIES[family](cfg, W, tokens)


def manifest(family, cfg, seed=0):
    """Returns a Weights whose .used holds every weight of the model, seeded random."""
    W = Weights(seed=seed)
    forward(family, cfg, W, [0], [0] if family in ENCODER_DECODER else None)
    return W


def greedy(family, cfg, W, tokens, steps):
    toks = list(tokens)
    out = []
    for _ in range(steps):
        nxt = int(np.argmax(forward(family, cfg, W, toks)[-1]))
        out.append(nxt)
        toks.append(nxt)
    return out


#===----------------------------------------------------------------------===#
# safetensors (stdlib json + numpy): F32, F16, BF16
#===----------------------------------------------------------------------===#

_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (None, 2), "F64": (np.float64, 8),
           # Integer and boolean buffers of Hugging Face files (BERT's position_ids, ...).
           "I64": (np.int64, 8), "I32": (np.int32, 4), "U8": (np.uint8, 1), "BOOL": (np.bool_, 1)}


def to_bf16_bits(a):
    """float -> bfloat16 bit pattern (uint16), round to nearest even."""
    a = np.asarray(a, dtype=np.float32)
    u = np.ascontiguousarray(a).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).reshape(a.shape)


def from_bf16_bits(b):
    b = np.asarray(b, dtype=np.uint16)
    return (np.ascontiguousarray(b).astype(np.uint32) << 16).view(np.float32).reshape(b.shape)


def round_to_dtype(a, dtype):
    """The float64 value a tensor has after storing it as dtype."""
    if dtype == "F32":
        return np.asarray(a, dtype=np.float32).astype(np.float64)
    if dtype == "F16":
        return np.asarray(a, dtype=np.float16).astype(np.float64)
    if dtype == "BF16":
        return from_bf16_bits(to_bf16_bits(a)).astype(np.float64)
    raise ValueError(dtype)


def save_safetensors(path, tensors, dtype="F32", metadata=None, dtypes=None):
    """Writes {name: array} with every tensor stored as dtype (or as dtypes[name]), in
    the order given, data contiguous (as the format requires), header padded with
    spaces to a multiple of 8."""
    header = {}
    blobs = []
    off = 0
    for name, a in tensors.items():
        a = np.asarray(a)
        dt = (dtypes or {}).get(name, dtype)
        if dt == "BF16":
            raw = to_bf16_bits(a).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(a, dtype=np.dtype(_DTYPES[dt][0]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a safetensors file into {name: ndarray} (BF16 -> float32, other dtypes as stored)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: truncated header length" % path)
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        raise ValueError("%s: header length %d beyond end of file" % (path, hlen))
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _DTYPES:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * _DTYPES[dt][1] or base + e > len(data):
            raise ValueError("%s: tensor %s has bad data_offsets" % (path, name))
        raw = data[base + b: base + e]
        if dt == "BF16":
            a = from_bf16_bits(np.frombuffer(raw, dtype="<u2"))
        else:
            a = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dt][0]).newbyteorder("<"))
        out[name] = a.reshape(shape)
    return out
