"""Writes safetensors files for the fake model (fake_model.c), good and malformed.

Standard library only. `good_tensors()` gives the fake model's six manifest tensors
in a mix of F32, F16 and BF16 with edge values (F16 subnormals, infinities, NaN,
signed zero); `write()` lays out any header and data; `bad DIR` writes one file
per malformation that the runtime must reject, named after it.

    safetensors_gen.py good OUT        the good file (plus extras the model ignores)
    safetensors_gen.py bad DIR         DIR/<case>.safetensors for every bad case
"""
import json
import os
import struct
import sys

# (name, dtype, shape, raw little-endian bytes)

F16_EDGES = [0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0400, 0x0001, 0x0003,
             0x03FF, 0x8001, 0x7C00, 0xFC00, 0x7E00, 0x3555, 0x3800, 0xBE00]
BF16_SCALES = [[0x3FC0, 0xBC00, 0x7F7F, 0x0001], [0x4049, 0x8000, 0xFF80, 0x3F81]]


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def u16(bits):
    return struct.pack("<%dH" % len(bits), *bits)


def good_tensors():
    """The manifest of fake_model.c, each tensor with recognizable values."""
    embed = [0.25 * i - 8.0 for i in range(64)]
    mix0 = [0x3C00 + 0x40 * i for i in range(16)]  # F16: 1, 1.0625, ...
    mix1 = [-(1.0 + i) / 3.0 for i in range(16)]   # F32, not F16-exact
    return [
        ("model.embed_tokens.weight", "F32", [16, 4], f32(embed)),
        ("model.layers.0.scale.weight", "BF16", [4], u16(BF16_SCALES[0])),
        ("model.layers.0.mix.weight", "F16", [4, 4], u16(mix0)),
        ("model.layers.1.scale.weight", "BF16", [4], u16(BF16_SCALES[1])),
        ("model.layers.1.mix.weight", "F32", [4, 4], f32(mix1)),
        ("lm_head.bias", "F16", [16], u16(F16_EDGES)),
    ]


def extra_tensors():
    """Tensors a real checkpoint carries that the model does not use."""
    return [
        ("model.rotary.inv_freq", "F32", [2], f32([1.0, 0.5])),
        ("model.position_ids", "I64", [1, 3], struct.pack("<3q", 0, 1, 2)),
        ("model.layers.0.mask", "BOOL", [4], b"\x01\x00\x01\x00"),
    ]


def to_f32_bits(dtype, raw):
    """What the runtime must produce, as float32 bit patterns (the reference)."""
    if dtype == "F32":
        return list(struct.unpack("<%dI" % (len(raw) // 4), raw))
    halves = struct.unpack("<%dH" % (len(raw) // 2), raw)
    if dtype == "BF16":
        return [h << 16 for h in halves]
    out = []
    for h in halves:  # Python converts binary16 to double exactly
        (value,) = struct.unpack("<e", struct.pack("<H", h))
        out.append(struct.unpack("<I", struct.pack("<f", value))[0])
    return out


def header_of(tensors, metadata=None, start=0):
    header, offset = {}, start
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    return header


def write(path, tensors, header=None, header_bytes=None, length=None, tail=b"", pad=0):
    """header: override the JSON object; header_bytes: override its text;
    length: override the 8-byte length field; pad: trailing spaces in the header."""
    if header is None:
        header = header_of(tensors)
    text = header_bytes if header_bytes is not None else json.dumps(header).encode()
    text += b" " * pad
    data = b"".join(raw for _, _, _, raw in tensors) + tail
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if length is None else length))
        f.write(text)
        f.write(data)


def write_good(path, reverse=True):
    # Reversed, with extras interleaved, so file order != manifest order.
    tensors = good_tensors()
    if reverse:
        tensors = tensors[::-1]
    tensors = tensors[:2] + extra_tensors() + tensors[2:]
    write(path, tensors, header=header_of(tensors, metadata={"format": "pt"}), pad=7)


def bad_cases(d):
    good = good_tensors()
    total = sum(len(raw) for _, _, _, raw in good)

    def hdr(**changes):
        """The good header with entries replaced (value None: removed)."""
        h = header_of(good)
        for name, value in changes.items():
            name = name.replace("__", ".")
            if value is None:
                del h[name]
            else:
                h[name] = value
        return h

    def entry(i, **fields):
        e = dict(header_of(good)[good[i][0]])
        for k, v in fields.items():
            if v is None:
                del e[k]
            else:
                e[k] = v
        return {good[i][0]: e}

    def case(name, **kw):
        write(os.path.join(d, name + ".safetensors"), kw.pop("tensors", good), **kw)

    def with_entry(i, **fields):
        h = header_of(good)
        h.update(entry(i, **fields))
        return h

    open(os.path.join(d, "empty.safetensors"), "wb").close()
    with open(os.path.join(d, "tiny.safetensors"), "wb") as f:
        f.write(b"\x05\x00\x00")
    case("header_too_long", length=1 << 40)
    case("header_past_end", length=10_000)
    case("zero_header", header_bytes=b"", length=0)
    case("bad_json", header_bytes=b'{"lm_head.bias": {"dtype": "F16",, }')
    case("bad_utf8", header_bytes=b'{"lm\xff": 1}')
    case("not_object", header_bytes=b"[1, 2, 3]")
    case("entry_not_object", header=with_entry(5) | {"lm_head.bias": [1, 2]})
    case("no_dtype", header=with_entry(5, dtype=None))
    case("dtype_number", header=with_entry(5, dtype=16))
    case("no_shape", header=with_entry(5, shape=None))
    case("shape_negative", header=with_entry(5, shape=[-16]))
    case("shape_float", header=with_entry(5, shape=[16.0]))
    case("no_offsets", header=with_entry(5, data_offsets=None))
    case("offsets_three", header=with_entry(5, data_offsets=[0, 1, 2]))
    case("offsets_negative", header=with_entry(0, data_offsets=[-4, 252]))
    case("offsets_reversed", header=with_entry(0, data_offsets=[256, 0]))
    case("offsets_past_end", header=with_entry(5, data_offsets=[total - 32, total + 4]))
    case("offsets_huge", header=with_entry(5, data_offsets=[0, 2**64 - 1]))
    # bias moved onto the embedding's bytes: same size as before, overlapping
    case("overlap", header=with_entry(5, data_offsets=[8, 40]))
    case("byte_count", header=with_entry(5, shape=[15]))
    case("shape_overflow", header=with_entry(5, shape=[2**40, 2**40]))
    case("unsupported_dtype", header=with_entry(1, dtype="I16"))
    case("unknown_dtype", header=with_entry(5, dtype="Q4_K"))
    case("missing_one", header=hdr(lm_head__bias=None))
    case("missing_two", header=hdr(lm_head__bias=None, model__layers__1__mix__weight=None))
    case("wrong_shape", header=with_entry(1, shape=[2, 2]))
    case("wrong_rank", header=with_entry(0, shape=[64]))
    # a good header over a file cut 10 bytes short
    with open(os.path.join(d, "truncated.safetensors"), "wb") as f:
        text = json.dumps(header_of(good)).encode()
        f.write(struct.pack("<Q", len(text)) + text)
        f.write(b"".join(raw for _, _, _, raw in good)[:-10])


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("good", "bad"):
        sys.exit(__doc__)
    if sys.argv[1] == "good":
        write_good(sys.argv[2])
    else:
        os.makedirs(sys.argv[2], exist_ok=True)
        bad_cases(sys.argv[2])
