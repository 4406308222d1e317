"""Writes Hugging Face checkpoint layouts of a model's weights, good and broken.

Standard library only (safetensors_gen.py writes the files). A checkpoint as
`save_pretrained` leaves it: one `model.safetensors`, or shards
`model-0000K-of-0000N.safetensors` beside `model.safetensors.index.json`
({"metadata": {"total_size": ...}, "weight_map": {tensor: shard}}), with the
buffers real checkpoints carry and models never use (GPT-2's attn.bias and
attn.masked_bias, BERT's int64 position_ids, bool and uint8 masks).

    checkpoint_gen.py fake DIR
        the fake model's tensors (fake_model.c, safetensors_gen.good_tensors):
        DIR/single.safetensors; DIR/sharded/ (three shards and the index, one
        stacked slot's layers in two shards); DIR/hfdir/model.safetensors;
        DIR/empty/; and DIR/bad/*.json, indexes over DIR/bad's shards, one per
        malformation (named after it)
    checkpoint_gen.py model MANIFEST DIR
        seeded random F32 weights for the manifest a harness printed
        (`harness MODEL.so --manifest`: lines "weight NAME d0,d1,..."):
        DIR/single.safetensors and DIR/sharded/ (three shards, layers split)
"""
import json
import os
import random
import struct
import sys

import safetensors_gen as gen

BUFFERS = [
    ("h.0.attn.bias", "BOOL", [1, 1, 4, 4], bytes([1, 0, 0, 0] * 4)),
    ("h.0.attn.masked_bias", "F32", [], gen.f32([-1e4])),
    ("embeddings.position_ids", "I64", [1, 4], struct.pack("<4q", 0, 1, 2, 3)),
    ("encoder.mask", "U8", [3], b"\x00\x01\x02"),
    ("rotary.inv_freq", "F64", [2], struct.pack("<2d", 1.0, 0.01)),
]


def write_sharded(d, shards, metadata_extra=None, index_name="model.safetensors.index.json"):
    """shards: lists of (name, dtype, shape, raw) tensors, one list per shard."""
    os.makedirs(d, exist_ok=True)
    weight_map, total = {}, 0
    n = len(shards)
    for k, tensors in enumerate(shards, 1):
        name = "model-%05d-of-%05d.safetensors" % (k, n)
        header = gen.header_of(tensors, metadata={"format": "pt"})
        # The safetensors library pads the header so that the data starts at a
        # multiple of 8: tensors stay aligned to their dtype.
        pad = -(8 + len(json.dumps(header).encode())) % 8
        gen.write(os.path.join(d, name), tensors, header=header, pad=pad)
        for t in tensors:
            weight_map[t[0]] = name
            total += len(t[3])
    metadata = {"total_size": total}
    metadata.update(metadata_extra or {})
    write_index(os.path.join(d, index_name), {"metadata": metadata, "weight_map": weight_map})
    return weight_map


def write_index(path, index):
    with open(path, "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)


def fake(d):
    good = {t[0]: t for t in gen.good_tensors()}
    os.makedirs(d, exist_ok=True)
    gen.write(os.path.join(d, "single.safetensors"), list(good.values()) + BUFFERS)
    os.makedirs(os.path.join(d, "hfdir"), exist_ok=True)
    gen.write(os.path.join(d, "hfdir", "model.safetensors"), list(good.values()) + BUFFERS[:2])
    os.makedirs(os.path.join(d, "empty"), exist_ok=True)
    # The stacked mixes: layer 0 in shard 1, layer 1 in shard 2 (copied: no
    # single mapping holds the slot); the stacked scales both in shard 2.
    shards = [
        [good["model.embed_tokens.weight"], good["model.layers.0.mix.weight"], BUFFERS[0],
         BUFFERS[2]],
        [good["model.layers.0.scale.weight"], good["model.layers.1.scale.weight"],
         good["model.layers.1.mix.weight"], BUFFERS[1]],
        [BUFFERS[3], good["lm_head.bias"], BUFFERS[4]],
    ]
    weight_map = write_sharded(os.path.join(d, "sharded"), shards)

    bad = os.path.join(d, "bad")
    write_sharded(bad, shards, index_name="good.json")
    # A shard whose header puts the bias on the embedding's bytes.
    tensors = shards[2]
    header = gen.header_of(tensors)
    header["lm_head.bias"]["data_offsets"] = [0, 32]
    gen.write(os.path.join(bad, "overlapping.safetensors"), tensors, header=header)

    def index(name, text=None, **changes):
        wm = dict(weight_map)
        for tensor, shard in changes.items():
            tensor = tensor.replace("__", ".")
            if shard is None:
                del wm[tensor]
            else:
                wm[tensor] = shard
        path = os.path.join(bad, name + ".json")
        if text is not None:
            with open(path, "wb") as f:
                f.write(text)
        else:
            write_index(path, {"metadata": {}, "weight_map": wm})

    index("missing_shard", lm_head__bias="model-00004-of-00003.safetensors")
    index("listed_absent", encoder__mask="model-00009-of-00003.safetensors")
    index("not_in_shard", lm_head__bias="model-00001-of-00003.safetensors")
    index("missing_tensor", lm_head__bias=None)
    index("missing_two", lm_head__bias=None, model__embed_tokens__weight=None)
    index("bad_shard", lm_head__bias="overlapping.safetensors",
          encoder__mask="overlapping.safetensors", rotary__inv_freq="overlapping.safetensors")
    index("shard_is_dir", lm_head__bias=".")
    index("bad_json", text=b'{"weight_map": {"lm_head.bias": }')
    index("not_object", text=b'["model-00001-of-00003.safetensors"]')
    index("no_weight_map", text=b'{"metadata": {"total_size": 0}}')
    index("weight_map_array", text=b'{"weight_map": ["lm_head.bias"]}')
    index("entry_number", text=b'{"weight_map": {"lm_head.bias": 3}}')
    index("entry_empty", text=b'{"weight_map": {"lm_head.bias": ""}}')


def model(manifest, d):
    rng = random.Random(17)
    tensors = []
    for line in open(manifest):
        parts = line.split()
        if len(parts) != 3 or parts[0] != "weight":
            continue
        shape = [int(x) for x in parts[2].split(",")] if parts[2] else []
        n = 1
        for x in shape:
            n *= x
        scale = 1.0 / max(shape[-1], 1) ** 0.5 if shape else 1.0
        values = [scale * rng.uniform(-1.0, 1.0) for _ in range(n)]
        if parts[1].endswith("norm.weight") or "_norm" in parts[1]:
            values = [1.0 + 0.1 * v for v in values]
        tensors.append((parts[1], "F32", shape, gen.f32(values)))
    if not tensors:
        sys.exit("checkpoint_gen.py: no weights in " + manifest)
    os.makedirs(d, exist_ok=True)
    gen.write(os.path.join(d, "single.safetensors"), tensors + BUFFERS)
    # Three shards, layer tensors round-robin: a stacked slot's layers end up
    # in different files.
    shards = [[], [], []]
    for i, t in enumerate(tensors):
        shards[i % 3].append(t)
    shards[0] += BUFFERS[:2]
    shards[2] += BUFFERS[2:]
    write_sharded(os.path.join(d, "sharded"), shards)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fake":
        fake(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "model":
        model(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
