"""Rewrites a safetensors checkpoint in the other layouts tfc_model_load reads.

    convert_checkpoint.py gguf SRC.safetensors OUT.gguf [TYPE]
        the same tensors under the same names in a GGUF file (dimensions
        innermost first); with TYPE (Q8_0, Q4_0, Q4_K, Q6_K), every matrix whose
        rows are whole TYPE blocks quantized by ggml_quantize.py, the rest F32
    convert_checkpoint.py shard SRC.safetensors OUTDIR N
        N shards split in file order by size, as save_pretrained's max_shard_size
        does (so a stacked slot's layers land in different shards), and the index
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_gen  # noqa: E402
import ggml_quantize  # noqa: E402
import gguf_gen  # noqa: E402


def read(path):
    """(name, dtype, shape, raw) in file order."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    entries = sorted((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")
    out = []
    for _, name in entries:
        e = header[name]
        begin, end = e["data_offsets"]
        out.append((name, e["dtype"], e["shape"], data[begin:end]))
    return out


def to_gguf(src, dst, qtype=None):
    tensors = []
    for name, dtype, shape, raw in read(src):
        if (qtype and dtype == "F32" and len(shape) == 2
                and shape[-1] % gguf_gen.TYPES[qtype][1] == 0):
            x = np.frombuffer(raw, dtype=np.float32)
            raw, dtype = ggml_quantize.QUANTIZERS[qtype](x).tobytes(), qtype
        tensors.append((name, gguf_gen.ne_of(shape), dtype, raw))
    kvs = [gguf_gen.kv("general.architecture", gguf_gen.STRING, "llama")]
    gguf_gen.write(dst, gguf_gen.build(kvs, tensors))


def to_shards(src, dst, n):
    tensors = read(src)
    total = sum(len(t[3]) for t in tensors)
    shards, size = [[]], 0
    for t in tensors:
        if size >= total * len(shards) / n and len(shards) < n:
            shards.append([])
        shards[-1].append(t)
        size += len(t[3])
    checkpoint_gen.write_sharded(dst, shards)


if __name__ == "__main__":
    a = sys.argv
    if len(a) in (4, 5) and a[1] == "gguf":
        to_gguf(a[2], a[3], a[4] if len(a) == 5 else None)
    elif len(a) == 5 and a[1] == "shard":
        to_shards(a[2], a[3], int(a[4]))
    else:
        sys.exit(__doc__)
