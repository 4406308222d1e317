# Loading a good file puts every manifest tensor, converted to F32, into the right
# slot at the right layer: the probe model's output row is its four weight buffers
# back to back, compared bit for bit with Python's own binary16/bfloat16 decoding
# (F16 subnormals, infinities, NaN and signed zeros included). Also: tfc_model_random
# is deterministic and honours the manifest's init kinds.
#
# RUN: %fake_model_so -DFAKE_PROBE -o %t.so
# RUN: %runtime_test_exe -o %t.drv
# RUN: %python %s %t.drv %t.so %t | FileCheck %s
# CHECK: reversed file: 120 values exact
# CHECK: manifest-order file: 120 values exact
# CHECK: random weights: deterministic, ones, zeros, uniform in [-0.5, 0.5]
import math
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
import safetensors_gen as gen  # noqa: E402

drv, so, tmp = sys.argv[1:4]


def dump(what):
    out = subprocess.run([drv, so, "dump", what], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("dump %s failed: %s" % (what, out.stdout + out.stderr))
    return [int(line, 16) for line in out.stdout.split()]


def is_nan(bits):
    return (bits & 0x7F800000) == 0x7F800000 and (bits & 0x7FFFFF) != 0


def as_float(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


# Probe layout: slot 0 embed [16, 4] | slot 1 scales [2, 4] | slot 2 mixes [2, 4, 4] | slot 3 bias
tensors = {name: (dtype, raw) for name, dtype, _, raw in gen.good_tensors()}
layout = ["model.embed_tokens.weight",
          "model.layers.0.scale.weight", "model.layers.1.scale.weight",
          "model.layers.0.mix.weight", "model.layers.1.mix.weight",
          "lm_head.bias"]
expected = []
for name in layout:
    expected += gen.to_f32_bits(*tensors[name])

for label, reverse in (("reversed", True), ("manifest-order", False)):
    path = "%s.%s.safetensors" % (tmp, label)
    gen.write_good(path, reverse=reverse)
    got = dump(path)
    assert len(got) == len(expected) == 120, len(got)
    for i, (g, e) in enumerate(zip(got, expected)):
        if not ((is_nan(g) and is_nan(e)) or g == e):
            sys.exit("%s: value %d is %08x, expected %08x" % (label, i, g, e))
    print("%s file: %d values exact" % (label, len(got)))

# F16 edge cases, spelled out (slot 3 holds the F16 bias).
bias = [as_float(b) for b in dump(tmp + ".reversed.safetensors")[104:]]
assert bias[6] == 2.0 ** -24 and bias[8] == 1023 * 2.0 ** -24, bias  # subnormals
assert bias[4] == 65504.0 and bias[10] == math.inf and bias[11] == -math.inf
assert math.isnan(bias[12]) and math.copysign(1.0, bias[1]) == -1.0

# Random weights: same seed, same weights; another seed, others.
a, b, c = dump("@7"), dump("@7"), dump("@8")
assert a == b and a != c
values = [as_float(x) for x in a]
embed, scales, mixes, bias = values[:64], values[64:72], values[72:104], values[104:]
assert all(v == 1.0 for v in scales), scales          # init 1
assert all(v == 0.0 for v in bias), bias              # init 2
for group in (embed, mixes):                          # init 0: 1/sqrt(fan_in = 4)
    assert all(-0.5 <= v <= 0.5 for v in group), group
    assert len(set(group)) == len(group) and max(group) > 0.3 and min(group) < -0.3
print("random weights: deterministic, ones, zeros, uniform in [-0.5, 0.5]")
