"""Writes a safetensors file for the runtime's fake model (fake_model.c:
vocab 16, dim 4, 2 layers), standard library only.

usage: make_weights.py OUT [--bias ID] [--nan] [--drop NAME]

Small deterministic values everywhere; --bias ID adds 100 to lm_head.bias[ID]
so greedy decoding always picks ID; --nan makes every bias NaN (so every
logit is NaN); --drop NAME leaves a tensor out.
"""
import argparse
import json
import struct

VOCAB, DIM, LAYERS = 16, 4, 2

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--bias", type=int)
parser.add_argument("--nan", action="store_true")
parser.add_argument("--drop")
args = parser.parse_args()

state = 12345


def small():
    global state
    state = (state * 1103515245 + 12345) % 2**31
    return (state / 2**31 - 0.5) * 0.2


# Order and padding keep every tensor 64-byte aligned in the file without
# holes (safetensors forbids them): the header is padded with spaces so the
# data starts at a multiple of 64, the embedding (256 bytes) comes first and
# the bias right after it, then the layer tensors the runtime stacks anyway.
# A runtime using weights in place then hands the model aligned buffers.
tensors = {"model.embed_tokens.weight": ([VOCAB, DIM], [small() for _ in range(VOCAB * DIM)])}
tensors["lm_head.bias"] = None  # placeholder keeps its position in the order
for layer in range(LAYERS):
    tensors[f"model.layers.{layer}.scale.weight"] = ([DIM], [1.0] * DIM)
    tensors[f"model.layers.{layer}.mix.weight"] = ([DIM, DIM], [small() for _ in range(DIM * DIM)])
bias = [0.0] * VOCAB
if args.bias is not None:
    bias[args.bias] = 100.0
if args.nan:
    bias = [float("nan")] * VOCAB
tensors["lm_head.bias"] = ([VOCAB], bias)
if args.drop:
    del tensors[args.drop]

header, data = {}, b""
for name, (shape, values) in tensors.items():
    blob = struct.pack(f"<{len(values)}f", *values)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
    data += blob
text = json.dumps(header).encode()
text += b" " * (-(8 + len(text)) % 64)
with open(args.out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
