"""Rewrites a safetensors file with one tensor moved off 4-byte alignment: an
unused 2-byte U8 tensor goes right before it and another right after it, so
the file stays valid (no holes, no overlaps) and only that tensor is
misaligned (the tensors after it are back on their alignment mod 4).
Standard library only.

usage: misalign.py IN OUT TENSOR
"""
import json
import struct
import sys

src, dst, victim = sys.argv[1:4]
with open(src, "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
header.pop("__metadata__", None)
if victim not in header:
    sys.exit(f"misalign.py: no tensor '{victim}' in {src}")

out_header, blobs, offset = {}, [], 0


def add(name, entry, blob):
    global offset
    out_header[name] = dict(entry, data_offsets=[offset, offset + len(blob)])
    blobs.append(blob)
    offset += len(blob)


for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
    begin, end = entry["data_offsets"]
    if name == victim:
        add("pad.before", {"dtype": "U8", "shape": [2]}, b"\0\0")
    add(name, entry, data[begin:end])
    if name == victim:
        add("pad.after", {"dtype": "U8", "shape": [2]}, b"\0\0")
text = json.dumps(out_header).encode()
text += b" " * (-(8 + len(text)) % 8)  # the data section starts 8-byte aligned
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
