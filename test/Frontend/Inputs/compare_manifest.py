"""Compares a `tfc --print-weights` manifest with the tensors of a safetensors file.

Usage: compare_manifest.py MODEL.safetensors MANIFEST.txt
The safetensors header is an 8-byte little-endian length followed by that many bytes
of JSON: {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}. Prints
`ok N tensors` when the two agree name for name and shape for shape, else every
difference, and exits 1.
"""
import json
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}


def read_manifest(path):
    entries = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            name, _, shape = line.partition(" ")
            dims = shape.strip().strip("[]")
            if name in entries:
                print(f"manifest lists {name} twice")
                sys.exit(1)
            entries[name] = [int(d) for d in dims.split(",")] if dims else []
    return entries


def main():
    file_tensors = read_safetensors(sys.argv[1])
    manifest = read_manifest(sys.argv[2])
    errors = []
    for name in sorted(set(file_tensors) | set(manifest)):
        if name not in manifest:
            errors.append(f"missing from the manifest: {name} {file_tensors[name]}")
        elif name not in file_tensors:
            errors.append(f"not in the file: {name} {manifest[name]}")
        elif file_tensors[name] != manifest[name]:
            errors.append(f"shape of {name}: file {file_tensors[name]}, manifest {manifest[name]}")
    for e in errors:
        print(e)
    if errors:
        sys.exit(1)
    print(f"ok {len(manifest)} tensors")


if __name__ == "__main__":
    main()
