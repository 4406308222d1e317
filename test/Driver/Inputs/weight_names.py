"""Checks that a model's weight names are the same everywhere.

    weight_names.py HARNESS MODEL.so PRINTED MANIFEST DIR

PRINTED is `tfc --print-weights` ("NAME [d0, d1]" lines), MANIFEST the compiled
library's `harness MODEL.so --manifest` (tfc_weight_name / tfc_weight_shape, "weight
NAME d0,d1" lines). The two must list the same names with the same shapes. Then the
library must load a safetensors file holding exactly the printed tensors, and
reject each file that lacks one of them with an error naming that tensor: so what
tfc_model_load asks the file for is the printed names too.
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "Runtime", "Inputs"))
import safetensors_gen as gen  # noqa: E402

harness, so, printed_path, manifest_path, out_dir = sys.argv[1:6]


def shape_of(text):
    return [int(d) for d in text.replace(",", " ").split()]


printed = []
with open(printed_path) as f:
    for line in f:
        name, shape = line.rstrip("\n").split(" ", 1)
        printed.append((name, shape_of(shape.strip("[]"))))
manifest = []
with open(manifest_path) as f:
    for line in f:
        if line.startswith("weight "):
            _, name, dims = (line.rstrip("\n") + " ").split(" ", 2)
            manifest.append((name, shape_of(dims)))

names = [n for n, _ in printed]
if len(set(names)) != len(names):
    sys.exit("--print-weights lists a name twice: %s" % names)
if sorted(printed) != sorted(manifest):
    sys.exit("--print-weights and tfc_weight_name differ:\n  printed  %s\n  library  %s"
             % (sorted(printed), sorted(manifest)))
print("names agree: %d weights" % len(printed))


def tensors(skip=None):
    out = []
    for k, (name, shape) in enumerate(printed):
        if name == skip:
            continue
        n = 1
        for d in shape:
            n *= d
        out.append((name, "F32", shape, struct.pack("<%df" % n, *[0.01 * k] * n)))
    return out


def run(path):
    return subprocess.run([harness, so, path, "--tokens", "1,2,3"], capture_output=True,
                          text=True)


good = os.path.join(out_dir, "good.safetensors")
gen.write(good, tensors())
r = run(good)
if r.returncode != 0:
    sys.exit("the file of the printed names does not load: " + r.stderr)
print("the printed names load")

for name in names:
    path = os.path.join(out_dir, "without-%s.safetensors" % name)
    gen.write(path, tensors(skip=name))
    r = run(path)
    expected = "tensor '%s' is missing from" % name
    if r.returncode == 0 or expected not in r.stderr:
        sys.exit("without %s: expected an error naming it, got: %s" % (name, r.stderr or "success"))
print("each file without one printed name fails naming it")
