"""Rewrites a safetensors file with F32 tensors stored as BF16, rounded to
nearest even (as the runtime rounds when it converts at load): those whose
name contains one of the given substrings, every one when none is given. The
other tensors and the order are unchanged. Standard library only.

usage: to_bf16.py IN OUT [SUBSTRING...]
"""
import array
import json
import struct
import sys

src, dst, only = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(src, "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
header.pop("__metadata__", None)

out_header, blobs, offset = {}, [], 0
for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
    begin, end = entry["data_offsets"]
    blob = data[begin:end]
    if entry["dtype"] == "F32" and (not only or any(part in name for part in only)):
        bits = array.array("I", blob)
        if sys.byteorder != "little":
            bits.byteswap()
        halves = array.array("H", ((b + 0x7FFF + ((b >> 16) & 1)) >> 16 for b in bits))
        if sys.byteorder != "little":
            halves.byteswap()
        blob = halves.tobytes()
        entry = dict(entry, dtype="BF16")
    out_header[name] = dict(entry, data_offsets=[offset, offset + len(blob)])
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(out_header).encode()
text += b" " * (-(8 + len(text)) % 8)  # the data section starts 8-byte aligned
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
