"""Writes GGUF files for the runtime's tests, good and malformed, and dequantizes
ggml's block types in numpy.

Written from ggml's docs/gguf.md (the file layout) and the block definitions of
ggml-common.h with the arithmetic of ggml-quants.c's dequantize_row_* (float32
operations in the same order, so results are bit-identical to ggml's). Nothing
here comes from the runtime's code.

    gguf_gen.py fake OUT.gguf
        the fake model's tensors (safetensors_gen.good_tensors: F32, F16, BF16),
        metadata of every value type, and tensors the model does not use
    gguf_gen.py blocks OUT.gguf
        two random blocks of every block type the runtime dequantizes (a fuzz seed)
    gguf_gen.py bad DIR
        DIR/<case>.gguf for every malformation the reader must reject
    gguf_gen.py quantized DIR
        good files of quantized_model.c (slots of ggml blocks), one per way the
        loader fills them (the seeds of fuzz/corpus/quantized): DIR/inplace.gguf
        (every tensor in its slot's type), DIR/requantize.gguf (other block types
        and F16), DIR/f32.safetensors and DIR/halves.safetensors (F16, BF16)
    gguf_gen.py model MANIFEST DIR TYPE...
        for the manifest a harness printed: per TYPE (F32, F16, BF16, Q8_0, Q4_0,
        ...) DIR/TYPE.gguf with every matrix whose rows fit TYPE's blocks in TYPE
        (random blocks), the rest F32, and DIR/TYPE.safetensors with the same
        weights as numpy dequantizes them (F32; F16/BF16 kept as they are)
"""
import os
import struct
import sys

import numpy as np

# gguf_metadata_value_type
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, \
    FLOAT64 = range(13)
SCALAR_FORMATS = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I",
                  INT32: "<i", FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q",
                  FLOAT64: "<d"}

# ggml_type: number, elements per block, bytes per block
TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24), "Q8_0": (8, 32, 34), "Q8_1": (9, 32, 36),
    "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176), "Q6_K": (14, 256, 210), "Q8_K": (15, 256, 292),
    "IQ2_XXS": (16, 256, 66), "I8": (24, 1, 1), "I16": (25, 1, 2), "I32": (26, 1, 4),
    "I64": (27, 1, 8), "F64": (28, 1, 8), "BF16": (30, 1, 2),
}


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(vtype, v):
    """The encoding of value v of type vtype; arrays are (element type, [values])."""
    if vtype == STRING:
        return string(v)
    if vtype == ARRAY:
        etype, items = v
        return struct.pack("<IQ", etype, len(items)) + b"".join(value(etype, x) for x in items)
    return struct.pack(SCALAR_FORMATS[vtype], v)


def kv(key, vtype, v):
    return string(key) + struct.pack("<I", vtype) + value(vtype, v)


def tensor_info(name, ne, type_number, offset):
    return (string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
            + struct.pack("<IQ", type_number, offset))


def pad(n, alignment):
    return (n + alignment - 1) // alignment * alignment


def build(kvs, tensors, alignment=32, version=3, magic=b"GGUF", counts=None):
    """kvs: encoded pairs (kv()); tensors: (name, ne, type name, raw bytes).
    counts: (tensor count, kv count) to write instead of the true ones."""
    infos, data = [], b""
    for name, ne, tname, raw in tensors:
        offset = pad(len(data), alignment)
        data += b"\0" * (offset - len(data))
        infos.append(tensor_info(name, ne, TYPES[tname][0], offset))
        data += raw
    n_tensors, n_kv = counts or (len(tensors), len(kvs))
    head = magic + struct.pack("<IQQ", version, n_tensors, n_kv) + b"".join(kvs) + b"".join(infos)
    return head + b"\0" * (pad(len(head), alignment) - len(head)) + data


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)


def ne_of(shape):
    """GGUF lists dimensions innermost first."""
    return list(reversed(shape)) if shape else [1]


#--- metadata of every type ---------------------------------------------------------

def every_kv():
    return [
        kv("general.architecture", STRING, "llama"),
        kv("general.name", STRING, "fake \u00e9t\u00e9"),
        kv("general.alignment", UINT32, 32),
        kv("test.u8", UINT8, 200), kv("test.i8", INT8, -100), kv("test.u16", UINT16, 60000),
        kv("test.i16", INT16, -30000), kv("test.u32", UINT32, 4000000000),
        kv("test.i32", INT32, -2000000000), kv("test.f32", FLOAT32, 0.5),
        kv("test.bool", BOOL, True), kv("test.u64", UINT64, 2**63 + 5),
        kv("test.i64", INT64, -(2**62)), kv("test.f64", FLOAT64, -0.125),
        kv("tokenizer.ggml.tokens", ARRAY, (STRING, ["<unk>", "<s>", "</s>", "\u2581a", ""])),
        kv("tokenizer.ggml.scores", ARRAY, (FLOAT32, [0.0, -1.0, -2.5, 3.0, 1e-3])),
        kv("tokenizer.ggml.token_type", ARRAY, (INT32, [2, 3, 3, 1, 1])),
        kv("test.nested", ARRAY, (ARRAY, [(UINT8, [1, 2]), (STRING, ["x"]), (ARRAY, [])])),
        kv("test.empty", ARRAY, (UINT64, [])),
    ]


#--- the fake model -----------------------------------------------------------------

def fake(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safetensors_gen as gen
    tensors = [(n, ne_of(shape), dtype, raw) for n, dtype, shape, raw in gen.good_tensors()]
    unused = [
        ("token_types", [4], "I32", struct.pack("<4i", 0, 1, 2, 3)),
        ("blk.0.ffn_down.weight", [256, 2], "Q4_K", bytes(2 * 144)),
        ("rope_freqs", [2], "F64", struct.pack("<2d", 1.0, 0.5)),
    ]
    # Unused ones interleaved, the file order not the manifest's.
    write(path, build(every_kv(), unused[:1] + tensors[::-1] + unused[1:]))


#--- malformed files ----------------------------------------------------------------

def bad(d):
    os.makedirs(d, exist_ok=True)
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)  # noqa: E731
    one = [("w", [4], "F32", f32(1, 2, 3, 4))]
    base_kvs = [kv("general.architecture", STRING, "llama")]

    def case(name, blob):
        write(os.path.join(d, name + ".gguf"), blob)

    good = build(base_kvs, one)
    case("bad_magic", b"GGUX" + good[4:])
    case("version_1", build(base_kvs, one, version=1))
    case("version_4", build(base_kvs, one, version=4))
    case("big_endian", good[:4] + struct.pack(">I", 3) + good[8:])
    case("truncated_header", good[:10])
    case("truncated_counts", good[:20])
    case("tensor_count_huge", build(base_kvs, one, counts=(2**60, 1)))
    case("kv_count_huge", build(base_kvs, one, counts=(1, 2**61)))
    case("key_past_end", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40)
         + b"k" * 16)
    def head_only(kvs):  # no padding after the metadata: the file ends there
        return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)

    case("string_past_end", head_only([kv("general.architecture", STRING, "llama")[:-2]]))
    case("unknown_value_type", build([string("k") + struct.pack("<I", 13) + b"\0" * 8], one))
    case("unknown_array_type", build([string("k") + struct.pack("<IIQ", ARRAY, 14, 1)], one))
    case("array_count_huge", build([string("k") + struct.pack("<IIQ", ARRAY, UINT32, 2**62)], one))
    case("string_array_past_end",
         head_only([string("k") + struct.pack("<IIQ", ARRAY, STRING, 3) + string("a")]))
    nested = (UINT8, [1])
    for _ in range(9):
        nested = (ARRAY, [nested])
    case("nested_too_deep", build([kv("k", ARRAY, nested)], one))
    case("duplicate_key", build(base_kvs * 2, one))
    case("alignment_string", build([kv("general.alignment", STRING, "32")], one))
    case("alignment_zero", build([kv("general.alignment", UINT32, 0)], one))
    case("alignment_48", build([kv("general.alignment", UINT32, 48)], one, alignment=48))
    case("name_too_long", build(base_kvs, [("n" * 64, [4], "F32", f32(1, 2, 3, 4))]))
    case("duplicate_tensor", build(base_kvs, one * 2))
    case("five_dims", build(base_kvs, [("w", [1, 1, 1, 1, 4], "F32", f32(1, 2, 3, 4))]))
    blob = bytearray(good)
    type_at = blob.index(string("w")) + 9 + 4 + 8  # name, n_dims, its one dimension
    for name, number in (("type_4", 4), ("type_99", 99)):
        blob[type_at:type_at + 4] = struct.pack("<I", number)
        case("unknown_tensor_" + name, bytes(blob))
    blob = bytearray(good)
    blob[type_at + 4:type_at + 12] = struct.pack("<Q", 4)
    case("misaligned_offset", bytes(blob))
    blob[type_at + 4:type_at + 12] = struct.pack("<Q", 2**63)
    case("offset_huge", bytes(blob))
    case("data_truncated", good[:-3])
    case("shape_too_big", build(base_kvs, [("w", [4, 1000], "F32", f32(1, 2, 3, 4))]))
    case("dims_overflow", build(base_kvs, [("w", [2**40, 2**40], "F32", f32(1, 2, 3, 4))]))
    case("row_not_blocks", build(base_kvs, [("w", [16, 4], "Q8_0", bytes(68))]))
    two = build(base_kvs, one + [("v", [4], "F32", f32(5, 6, 7, 8))])
    blob = bytearray(two)
    v_offset_at = blob.index(string("v")) + 8 + 1 + 4 + 8 + 4
    blob[v_offset_at:v_offset_at + 8] = struct.pack("<Q", 0)
    case("overlap", bytes(blob))
    case("info_truncated", good[:good.index(string("w")) + 20])
    # Files that parse but do not fit the fake model.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safetensors_gen as gen
    tensors = [(n, ne_of(shape), dtype, raw) for n, dtype, shape, raw in gen.good_tensors()]
    case("missing_tensor", build(base_kvs, tensors[:-1]))
    case("wrong_shape", build(base_kvs, tensors[:-1] + [("lm_head.bias", [8, 2], "F16",
                                                          tensors[-1][3])]))
    # The embedding [16, 4] stored as if GGUF listed dimensions outermost first.
    case("transposed", build(base_kvs, [(tensors[0][0], [16, 4], "F32", tensors[0][3])]
                             + tensors[1:]))
    case("integer_weight", build(base_kvs, tensors[:-1] + [("lm_head.bias", [16], "I16",
                                                             tensors[-1][3])]))


#--- block types: random blocks and the numpy dequantizer ---------------------------

def f16_field(rng, n):
    """Scales: f16 of either sign in [1e-3, 0.1], as raw bytes per block."""
    v = (rng.uniform(1e-3, 0.1, n) * rng.choice([-1.0, 1.0], n)).astype(np.float16)
    return v.view(np.uint8).reshape(n, 2)


# Offsets of the f16 fields in each block (d, and m/dmin where there is one).
F16_FIELDS = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
              "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2],
              "Q6_K": [208]}


def random_blocks(tname, n_elements, rng):
    _, per_block, size = TYPES[tname]
    n = n_elements // per_block
    b = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    for at in F16_FIELDS[tname]:
        b[:, at:at + 2] = f16_field(rng, n)
    return b.tobytes()


def f16(b, at):
    return b[:, at:at + 2].copy().view(np.float16).astype(np.float32)  # (n, 1)


def scale_min_k4(s):
    """ggml's get_scale_min_k4 for all eight sub-blocks: s is (n, 12) uint8."""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    mn = np.empty_like(sc)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc.astype(np.float32), mn.astype(np.float32)


def dequantize(tname, raw):
    _, per_block, size = TYPES[tname]
    b = np.frombuffer(raw, np.uint8).reshape(-1, size)
    n = b.shape[0]
    if tname in ("Q4_0", "Q4_1", "Q5_0", "Q5_1"):
        has_min = tname.endswith("_1")
        five = tname.startswith("Q5")
        qs_at = 2 + 2 * has_min + 4 * five
        qs = b[:, qs_at:qs_at + 16].astype(np.int32)
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1)
        if five:
            qh = b[:, 2 + 2 * has_min:6 + 2 * has_min].copy().view("<u4").astype(np.int64)
            bits = (qh >> np.arange(32)) & 1
            q = q | (bits.astype(np.int32) << 4)
        d = f16(b, 0)
        if has_min:
            return (q.astype(np.float32) * d + f16(b, 2)).reshape(-1)
        return ((q - (16 if five else 8)).astype(np.float32) * d).reshape(-1)
    if tname == "Q8_0":
        return (b[:, 2:].view(np.int8).astype(np.float32) * f16(b, 0)).reshape(-1)
    if tname == "Q2_K":
        scales = b[:, :16].astype(np.int32)
        qs = b[:, 16:80].astype(np.int32)
        d, dmin = f16(b, 80), f16(b, 82)
        y = np.empty((n, 256), np.float32)
        for half in range(2):                      # 128 elements from 32 bytes each
            q = qs[:, 32 * half:32 * half + 32]
            for j in range(4):                     # shift 2j
                for k in range(2):                 # 16 elements, scale byte `is`
                    idx = 8 * half + 2 * j + k
                    dl = d * (scales[:, idx:idx + 1] & 0xF).astype(np.float32)
                    ml = dmin * (scales[:, idx:idx + 1] >> 4).astype(np.float32)
                    v = ((q[:, 16 * k:16 * k + 16] >> (2 * j)) & 3).astype(np.float32)
                    start = 128 * half + 32 * j + 16 * k
                    y[:, start:start + 16] = dl * v - ml
        return y.reshape(-1)
    if tname == "Q3_K":
        hm = b[:, :32].astype(np.int32)
        qs = b[:, 32:96].astype(np.int32)
        packed = b[:, 96:108].astype(np.int32)
        d = f16(b, 108)
        # Sixteen 6-bit scales: low nibbles of bytes 0-7 then their high
        # nibbles; high 2 bits from bytes 8-11, two bits per group of four.
        low = np.concatenate([packed[:, :8] & 0xF, packed[:, :8] >> 4], axis=1)
        i = np.arange(16)
        high = (packed[:, 8 + i % 4] >> (2 * (i // 4))) & 3
        scales = ((low | (high << 4)) - 32).astype(np.float32)
        y = np.empty((n, 256), np.float32)
        for half in range(2):
            q = qs[:, 32 * half:32 * half + 32]
            for j in range(4):
                bit = 4 * half + j                 # hmask bit of this group
                for k in range(2):
                    idx = 8 * half + 2 * j + k
                    dl = d * scales[:, idx:idx + 1]
                    l = slice(16 * k, 16 * k + 16)
                    v = ((q[:, l] >> (2 * j)) & 3) - np.where((hm[:, l] >> bit) & 1, 0, 4)
                    start = 128 * half + 32 * j + 16 * k
                    y[:, start:start + 16] = dl * v.astype(np.float32)
        return y.reshape(-1)
    if tname in ("Q4_K", "Q5_K"):
        d, dmin = f16(b, 0), f16(b, 2)
        sc, mn = scale_min_k4(b[:, 4:16])
        five = tname == "Q5_K"
        qh = b[:, 16:48].astype(np.int32) if five else None
        ql = b[:, 48:176].astype(np.int32) if five else b[:, 16:144].astype(np.int32)
        y = np.empty((n, 256), np.float32)
        for j in range(4):                         # 64 elements from 32 bytes
            q = ql[:, 32 * j:32 * j + 32]
            for k, nib in enumerate((q & 0xF, q >> 4)):
                s = 2 * j + k
                if five:
                    nib = nib + ((qh >> s) & 1) * 16
                d1 = d * sc[:, s:s + 1]
                m1 = dmin * mn[:, s:s + 1]
                y[:, 64 * j + 32 * k:64 * j + 32 * k + 32] = d1 * nib.astype(np.float32) - m1
        return y.reshape(-1)
    if tname == "Q6_K":
        ql = b[:, :128].astype(np.int32)
        qh = b[:, 128:192].astype(np.int32)
        sc = b[:, 192:208].view(np.int8).astype(np.float32)
        d = f16(b, 208)
        y = np.empty((n, 256), np.float32)
        for half in range(2):
            L, H = ql[:, 64 * half:64 * half + 64], qh[:, 32 * half:32 * half + 32]
            quarters = [(L[:, :32] & 0xF) | ((H & 3) << 4),
                        (L[:, 32:] & 0xF) | (((H >> 2) & 3) << 4),
                        (L[:, :32] >> 4) | (((H >> 4) & 3) << 4),
                        (L[:, 32:] >> 4) | (((H >> 6) & 3) << 4)]
            for k, q in enumerate(quarters):
                for part in range(2):              # 16 elements per scale
                    s = 8 * half + 2 * k + part
                    v = (q[:, 16 * part:16 * part + 16] - 32).astype(np.float32)
                    start = 128 * half + 32 * k + 16 * part
                    y[:, start:start + 16] = (d * sc[:, s:s + 1]) * v
        return y.reshape(-1)
    raise ValueError("no dequantizer for " + tname)


#--- quantized_model.c's weights, every way the loader fills quantized slots --------

# quantized_model.c's manifest: name, shape, the tensor's type in inplace.gguf (the
# slot's, per layer) and in requantize.gguf (another block type, or F16).
QUANTIZED_MANIFEST = [
    ("model.q8.weight", [2, 64], "Q8_0", "Q4_0"),
    ("model.layers.0.q4k.weight", [2, 256], "Q4_K", "Q5_K"),
    ("model.layers.1.q4k.weight", [2, 256], "Q4_K", "Q6_K"),
    ("model.layers.0.mix.weight", [1, 256], "Q6_K", "Q4_K"),
    ("model.layers.1.mix.weight", [1, 256], "Q4_K", "Q6_K"),
]
# Both matrices of the experts slot come from one [2, 2, 32] tensor.
QUANTIZED_EXPERTS = ("model.experts.weight", [2, 2, 32], "Q8_0", "F16")


def quantized(d):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safetensors_gen as gen
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    kvs = every_kv()[:3]
    for column, out in ((2, "inplace.gguf"), (3, "requantize.gguf")):
        tensors = []
        for entry in QUANTIZED_MANIFEST + [QUANTIZED_EXPERTS]:
            name, shape, tname = entry[0], entry[1], entry[column]
            n = int(np.prod(shape))
            raw = (rng.uniform(-1, 1, n).astype(np.float16).tobytes() if tname == "F16"
                   else random_blocks(tname, n, rng))
            tensors.append((name, ne_of(shape), tname, raw))
        write(os.path.join(d, out), build(kvs, tensors))
    for out, dtypes in (("f32.safetensors", ["F32"]), ("halves.safetensors", ["F16", "BF16"])):
        tensors = []
        for i, entry in enumerate(QUANTIZED_MANIFEST + [QUANTIZED_EXPERTS]):
            name, shape, dtype = entry[0], entry[1], dtypes[i % len(dtypes)]
            v = rng.uniform(-1, 1, int(np.prod(shape))).astype(np.float32)
            raw = (v.tobytes() if dtype == "F32" else v.astype(np.float16).tobytes()
                   if dtype == "F16" else (v.view(np.uint32) >> 16).astype(np.uint16).tobytes())
            tensors.append((name, dtype, shape, raw))
        gen.write(os.path.join(d, out), tensors)


#--- a compiled model's weights in every type ---------------------------------------

def model(manifest, d, tnames):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safetensors_gen as gen
    entries = []
    for line in open(manifest):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "weight":
            entries.append((parts[1], [int(x) for x in parts[2].split(",")]))
    os.makedirs(d, exist_ok=True)
    for tname in tnames:
        rng = np.random.default_rng(TYPES[tname][0] + 1)
        gg, st = [], []
        for name, shape in entries:
            n = int(np.prod(shape))
            per_block = TYPES[tname][1]
            if len(shape) == 2 and shape[-1] % per_block == 0 and tname not in ("F32",):
                if tname in ("F16", "BF16"):
                    v = rng.uniform(-0.1, 0.1, n).astype(np.float32)
                    raw = (v.astype(np.float16).tobytes() if tname == "F16" else
                           (v.view(np.uint32) >> 16).astype(np.uint16).tobytes())
                    gg.append((name, ne_of(shape), tname, raw))
                    st.append((name, tname, shape, raw))
                    continue
                raw = random_blocks(tname, n, rng)
                gg.append((name, ne_of(shape), tname, raw))
                st.append((name, "F32", shape, dequantize(tname, raw).tobytes()))
            else:  # norms and any matrix whose rows do not fit: F32
                v = (1.0 + rng.uniform(-0.1, 0.1, n)).astype(np.float32).tobytes()
                gg.append((name, ne_of(shape), "F32", v))
                st.append((name, "F32", shape, v))
        write(os.path.join(d, tname + ".gguf"), build(every_kv(), gg))
        gen.write(os.path.join(d, tname + ".safetensors"), st)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 3 and a[1] == "fake":
        fake(a[2])
    elif len(a) == 3 and a[1] == "blocks":
        rng = np.random.default_rng(0)
        write(a[2], build(every_kv()[:3], [
            ("blk.%d.%s" % (i, t), [TYPES[t][1], 2], t, random_blocks(t, 2 * TYPES[t][1], rng))
            for i, t in enumerate(sorted(F16_FIELDS))]))
    elif len(a) == 3 and a[1] == "bad":
        bad(a[2])
    elif len(a) == 3 and a[1] == "quantized":
        quantized(a[2])
    elif len(a) >= 5 and a[1] == "model":
        model(a[2], a[3], a[4:])
    else:
        sys.exit(__doc__)
