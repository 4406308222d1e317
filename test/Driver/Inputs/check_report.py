"""check_report.py CHECKPOINT_DIR F32_REPORT BF16_REPORT EXPERTS TOP_K [BF16_KV_REPORT]

Checks tfc --report's parameter table against the checkpoint's tensors: total
parameters (every element), active parameters per token (the routed experts'
tensors, named *.experts.<j>.*, count top_k / experts of their elements), and the
weight bytes of a decode step (the active parameters but the embedding table, of which
one row is read; 4 bytes each in f32, 2 for the rank-2 linear weights in bf16, but 4 for
latent attention's kv_b_proj, whose W_UK and W_UV views the attention reads itself, so it
stays f32 and the bf16 report lists it). And the KV cache bytes per token against the
config: for latent attention (kv_lora_rank) (kv_lora_rank + qk_rope_head_dim) x layers x
4, the latent c and the shared rotary key k_pe of every layer; otherwise keys and values,
2 x num_key_value_heads x head_dim x layers x 4. BF16_KV_REPORT, compiled with
--kv-type=bf16, must say half that. Exits 1 on a mismatch."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "Numeric", "lib"))
import hf_reference as H  # noqa: E402


def table(path):
    out = {}
    for line in open(path):
        m = re.match(r"^(total parameters|active parameters per token|"
                     r"weight bytes a decode step reads) +([0-9]+)$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def kv_bytes_per_token(cfg):
    """The KV cache bytes per token of an f32 cache, from config.json's fields."""
    layers = cfg["num_hidden_layers"]
    if cfg.get("kv_lora_rank"):
        return (cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"]) * layers * 4
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    return 2 * cfg.get("num_key_value_heads", heads) * head_dim * layers * 4


def reported_kv(path):
    for line in open(path):
        m = re.match(r"^KV cache bytes per token +([0-9]+)$", line.strip())
        if m:
            return int(m.group(1))
    return None


def main():
    ckpt, f32, bf16, experts, top_k = sys.argv[1:6]
    bf16_kv = sys.argv[6] if len(sys.argv) > 6 else None
    fraction = int(top_k) / int(experts)
    tensors = H.read_tensors(ckpt)
    total = active = 0.0
    bytes_f32 = bytes_bf16 = 0.0
    for name, t in tensors.items():
        n = float(t.size)
        used = n * fraction if ".experts." in name else n
        total += n
        active += used
        if name == "model.embed_tokens.weight":
            read, matrix = t.shape[1], False
        else:
            read, matrix = used, t.ndim == 2 and not name.endswith(".kv_b_proj.weight")
        bytes_f32 += 4 * read
        bytes_bf16 += (2 if matrix else 4) * read
    want = {"total parameters": round(total), "active parameters per token": round(active)}
    ok = True
    kept = [line.split()[0] for line in open(bf16).read().partition("matrices kept f32")[2]
            .splitlines()[1:] if line.strip()]
    if any(n.endswith(".kv_b_proj.weight") for n in tensors) and \
            not any(k.endswith(".kv_b_proj.weight") for k in kept):
        print("%s: kv_b_proj is not listed among the matrices kept f32" % bf16)
        ok = False
    for path, decode in ((f32, bytes_f32), (bf16, bytes_bf16)):
        got = table(path)
        w = dict(want, **{"weight bytes a decode step reads": round(decode)})
        for k, v in w.items():
            if got.get(k) != v:
                print("%s: %s = %s, the checkpoint says %s" % (path, k, got.get(k), v))
                ok = False
    with open(os.path.join(ckpt, "config.json")) as f:
        kv = kv_bytes_per_token(json.load(f))
    for path, want_kv in ((f32, kv), (bf16, kv)) + (((bf16_kv, kv // 2),) if bf16_kv else ()):
        got = reported_kv(path)
        if got != want_kv:
            print("%s: KV cache bytes per token = %s, the config says %d" % (path, got, want_kv))
            ok = False
    print("report matches %s" % ckpt if ok else "report differs from %s" % ckpt)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
