#!/usr/bin/python3
"""bench/llamacpp.py: tfc and llama.cpp side by side on the same GGUF files.

    /usr/bin/python3 bench/llamacpp.py --llama-cpp DIR [--shapes slice4,tinyllama,stories15m]
        [--types f32,bf16,q8_0,q4_0,q4_k_m] [--repeats 3] [--work DIR] [--quick]

For each shape, writes one random-weight GGUF file in llama.cpp's llama layout (F32 for the
small shapes, F16 for the full TinyLlama-1.1B, tokenizer "no_vocab"), makes one file per
weight type with llama.cpp's own `llama-quantize` (so the quantized blocks, and for q4_k_m
the per-tensor mixture, are llama.cpp's), and then runs, on that very file:

  * llama.cpp: `llama-bench -m FILE -p 512 -n 128 -t 2 -r 1` (prompt processing of 512
    tokens, generation of 128);
  * tfc: `tfc FILE --weight-type=T -o FILE.so` (the GGUF importer; the file's blocks used in
    place where tfc has kernels for the type), then bench/bench.c `--weights FILE --prefill 512
    --decode 128` with TFC_NUM_THREADS=2.

The two engines run in turns, type after type, `--repeats` times, and the best of each is
kept: this host's bandwidth moves by 40 % within minutes, and taking turns exposes both to the
same swings. The table gives tokens/s of both, tfc's ratio to llama.cpp, the bytes per weight
of the file's linear layers, and decode GB/s counted on the bytes a step reads (every tensor
but the token embedding, as stored in the file) against this machine's read bandwidth
(bench/machine.c, measured before and after). A type tfc cannot compile is reported as such.

llama.cpp is not part of tfc: build it outside the repository (CPU only) and pass its build
directory, e.g. `--llama-cpp /work/scratch/llama.cpp/build`. Needs numpy (Debian python3).
A benchmark, not a test.
"""
import argparse
import csv
import io
import os
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Shapes: (dim, layers, heads, kv_heads, ffn, vocab, context, source type).
SHAPES = {
    "slice4": (2048, 4, 32, 4, 5632, 32000, 2048, "F32"),     # TinyLlama-1.1B, 4 layers
    "tinyllama": (2048, 22, 32, 4, 5632, 32000, 2048, "F16"),  # TinyLlama-1.1B
    "stories15m": (288, 6, 6, 6, 768, 32000, 1024, "F32"),
}
# tfc --weight-type -> llama-quantize's type and options. q8_0, q4_0, q4_k and q5_k files are
# made --pure (every matrix, output.weight too, in the one type): by default llama-quantize
# keeps output.weight in Q6_K, which tfc, compiling a model for one type, would convert at
# load, so the two engines would read different bytes (tfc fewer in Q4_0, more in Q8_0) and
# GB/s counted on the file would be wrong. Pure files make both read the same bytes.
# tfc's q4_k_m has llama-quantize's per-layer types, so it uses every block of the file in
# place and reads the file's bytes, on which its GB/s are counted.
TYPES = {"f32": ("F32", []), "f16": ("F16", []), "bf16": ("BF16", []), "q8_0": ("Q8_0", ["--pure"]),
         "q4_0": ("Q4_0", ["--pure"]), "q4_k": ("Q4_K_S", ["--pure"]), "q5_k": ("Q5_K_S", ["--pure"]),
         "q6_k": ("Q6_K", []),
         "q4_k_m": ("Q4_K_M", [])}
GGML_TYPES = {"F32": (0, 1, 4), "F16": (1, 1, 2)}


#--- A random llama GGUF, streamed ------------------------------------------------------

def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_random_gguf(path, shape, seed=1):
    """The GGUF file convert_hf_to_gguf.py would write for a random Llama of `shape`."""
    dim, layers, heads, kv, ffn, vocab, ctx, src = shape
    hd = dim // heads
    tensors = [("token_embd.weight", (vocab, dim)), ("output_norm.weight", (dim,)),
               ("output.weight", (vocab, dim))]
    for i in range(layers):
        p = "blk.%d." % i
        tensors += [(p + "attn_norm.weight", (dim,)), (p + "attn_q.weight", (heads * hd, dim)),
                    (p + "attn_k.weight", (kv * hd, dim)), (p + "attn_v.weight", (kv * hd, dim)),
                    (p + "attn_output.weight", (dim, heads * hd)),
                    (p + "ffn_norm.weight", (dim,)), (p + "ffn_gate.weight", (ffn, dim)),
                    (p + "ffn_up.weight", (ffn, dim)), (p + "ffn_down.weight", (dim, ffn))]
    u32 = lambda k, v: gguf_string(k) + struct.pack("<II", 4, v)  # noqa: E731
    f32 = lambda k, v: gguf_string(k) + struct.pack("<If", 6, v)  # noqa: E731
    kvs = [gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama"),
           gguf_string("general.name") + struct.pack("<I", 8) + gguf_string("random"),
           u32("llama.block_count", layers), u32("llama.context_length", ctx),
           u32("llama.embedding_length", dim), u32("llama.feed_forward_length", ffn),
           u32("llama.attention.head_count", heads), u32("llama.attention.head_count_kv", kv),
           f32("llama.rope.freq_base", 10000.0), f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
           u32("llama.rope.dimension_count", hd), u32("llama.vocab_size", vocab),
           u32("general.file_type", 0 if src == "F32" else 1),
           gguf_string("tokenizer.ggml.model") + struct.pack("<I", 8) + gguf_string("no_vocab")]
    align = 32
    infos, offset, layout = [], 0, []
    for name, shp in tensors:
        t = "F32" if len(shp) == 1 else src
        nbytes = int(np.prod(shp)) * GGML_TYPES[t][2]
        infos.append(gguf_string(name) + struct.pack("<I", len(shp)) +
                     b"".join(struct.pack("<Q", d) for d in reversed(shp)) +
                     struct.pack("<IQ", GGML_TYPES[t][0], offset))
        layout.append((shp, t, offset))
        offset = (offset + nbytes + align - 1) // align * align
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(head + b"\0" * (-len(head) % align))
        start = f.tell()
        for shp, t, off in layout:
            f.write(b"\0" * (start + off - f.tell()))
            if len(shp) == 1:
                a = np.ones(shp, dtype="<f4")
            else:
                a = (rng.standard_normal(shp, dtype=np.float32) * 0.02)
                a = a.astype("<f2" if t == "F16" else "<f4")
            f.write(a.tobytes())


def gguf_decode_bytes(path):
    """Bytes of every tensor but token_embd, as the file stores them (a decode step reads
    them all; of the embedding, one row), and the bytes per weight of the blk.* matrices."""
    with open(path, "rb") as f:
        data = f.read(64 << 20)
    at = 4
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, at)
    at += 20

    def skip_value(t):
        nonlocal at
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        if t == 8:
            n, = struct.unpack_from("<Q", data, at)
            at += 8 + n
        elif t == 9:
            et, n = struct.unpack_from("<IQ", data, at)
            at += 12
            for _ in range(n):
                skip_value(et)
        else:
            at += sizes[t]
    for _ in range(n_kv):
        n, = struct.unpack_from("<Q", data, at)
        at += 8 + n
        t, = struct.unpack_from("<I", data, at)
        at += 4
        skip_value(t)
    # ggml type -> (block elements, block bytes), the types llama-quantize writes here.
    blocks = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 3: (32, 20),
              6: (32, 22), 7: (32, 24), 12: (256, 144), 13: (256, 176), 14: (256, 210),
              10: (256, 84), 11: (256, 110)}
    decode, matrix_bytes, matrix_elems = 0, 0, 0
    for _ in range(n_tensors):
        n, = struct.unpack_from("<Q", data, at)
        name = data[at + 8:at + 8 + n].decode()
        at += 8 + n
        nd, = struct.unpack_from("<I", data, at)
        ne = struct.unpack_from("<%dQ" % nd, data, at + 4)
        at += 4 + 8 * nd
        t, _ = struct.unpack_from("<IQ", data, at)
        at += 12
        elems = int(np.prod(ne))
        be, bb = blocks[t]
        nbytes = elems // be * bb
        if name != "token_embd.weight":
            decode += nbytes
        if name.startswith("blk.") and nd == 2:
            matrix_bytes += nbytes
            matrix_elems += elems
    return decode, matrix_bytes / max(matrix_elems, 1)


#--- Running both engines -----------------------------------------------------------------

def run(cmd, env=None, timeout=3600):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def llama_bench(llama_bin, model):
    """(pp512 tokens/s, tg128 tokens/s) from one llama-bench run, or None."""
    rc, out, err = run([os.path.join(llama_bin, "llama-bench"), "-m", model, "-p", "512",
                        "-n", "128", "-t", "2", "-r", "1", "-o", "csv"])
    if rc != 0:
        print("  llama-bench failed: %s" % err.strip()[-300:], file=sys.stderr)
        return None
    rows = list(csv.DictReader(io.StringIO(out)))
    pp = [float(r["avg_ts"]) for r in rows if r["n_prompt"] == "512" and r["n_gen"] == "0"]
    tg = [float(r["avg_ts"]) for r in rows if r["n_gen"] == "128" and r["n_prompt"] == "0"]
    return (pp[0] if pp else None, tg[0] if tg else None)


def tfc_bench(bench, so, model, decode_tokens):
    env = dict(os.environ, TFC_NUM_THREADS="2", OMP_NUM_THREADS="2")
    rc, out, err = run([bench, so, "--weights", model, "--prefill", "512", "--decode",
                        str(decode_tokens), "--prompt", "1", "--repeats", "1"], env=env)
    if rc != 0:
        print("  tfc bench failed: %s" % (err or out).strip()[-300:], file=sys.stderr)
        return None
    vals = {}
    for line in out.splitlines():
        kind, *pairs = line.split()
        kv = dict(p.split("=", 1) for p in pairs if "=" in p)
        if kind == "prefill":
            vals["pp"] = float(kv["tok_s"])
        elif kind == "decode":
            vals["tg"] = float(kv["tok_s"])
    return (vals.get("pp"), vals.get("tg"))


def machine_bandwidth(machine):
    rc, out, _ = run([machine, "--threads", "2", "--mb", "1024", "--runs", "10"])
    for tok in out.split():
        if tok.startswith("read_gbs="):
            return float(tok.split("=")[1])
    return None


def best(a, b):
    return b if a is None else a if b is None else max(a, b)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp's build directory")
    ap.add_argument("--shapes", default="slice4,stories15m")
    ap.add_argument("--types", default="f32,bf16,q8_0,q4_0,q4_k_m")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--build", default=os.environ.get("TFC_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--work", help="where the GGUF files go (default: BUILD/bench/llamacpp)")
    ap.add_argument("--quick", action="store_true", help="one repeat, 32 generated tokens")
    args = ap.parse_args()
    llama_bin = os.path.join(args.llama_cpp, "bin")
    for tool in ("llama-bench", "llama-quantize"):
        if not os.access(os.path.join(llama_bin, tool), os.X_OK):
            sys.exit("bench/llamacpp.py: no %s in %s" % (tool, llama_bin))
    tfc = os.path.join(args.build, "bin", "tfc")
    work = args.work or os.path.join(args.build, "bench", "llamacpp")
    os.makedirs(work, exist_ok=True)
    repeats, decode_tokens = (1, 32) if args.quick else (args.repeats, 128)
    cc = os.environ.get("CC", "clang-19")
    bench, machine = os.path.join(work, "bench"), os.path.join(work, "machine")
    subprocess.check_call([cc, "-std=c99", "-O2", "-I", os.path.join(ROOT, "runtime", "include"),
                           os.path.join(ROOT, "bench", "bench.c"), "-ldl", "-o", bench])
    subprocess.check_call([cc, "-std=c99", "-O3", "-march=native", "-pthread",
                           os.path.join(ROOT, "bench", "machine.c"), "-o", machine])
    types = args.types.split(",")
    for t in types:
        if t not in TYPES:
            sys.exit("bench/llamacpp.py: unknown type %s (%s)" % (t, ", ".join(TYPES)))

    print("machine: %s, load average %s" % (
        open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip(),
        open("/proc/loadavg").read().split()[0]))
    bandwidth = machine_bandwidth(machine)
    rows = []
    for shape_name in args.shapes.split(","):
        shape = SHAPES[shape_name]
        source = os.path.join(work, "%s-%s.gguf" % (shape_name, shape[7]))
        if not os.path.exists(source):
            print("writing %s" % source, file=sys.stderr)
            write_random_gguf(source, shape)
        files = {}
        for t in types:
            qtype, options = TYPES[t]
            path = source if qtype == shape[7] else os.path.join(
                work, "%s-%s%s.gguf" % (shape_name, qtype, "-pure" if "--pure" in options else ""))
            if qtype == "F32" and shape[7] != "F32":
                continue  # no F32 file of the large shape: it would not be compared fairly
            if not os.path.exists(path):
                rc, _, err = run([os.path.join(llama_bin, "llama-quantize")] + options +
                                 [source, path, qtype, "2"])
                if rc != 0:
                    print("  llama-quantize %s failed: %s" % (qtype, err.strip()[-200:]), file=sys.stderr)
                    continue
            so = path[:-5] + ".so"
            t0 = time.time()
            rc, _, err = run([tfc, path, "--weight-type=" + t, "-o", so])
            files[t] = (path, so if rc == 0 else None, err.strip().splitlines()[-1:] if rc else [])
            print("  %s %s: tfc %s in %.1f s" % (shape_name, t, "compiled" if rc == 0 else
                                                 "cannot compile", time.time() - t0), file=sys.stderr)
        results = {t: [None, None, None, None] for t in files}
        for r in range(repeats):
            for t, (path, so, _) in files.items():
                lc = llama_bench(llama_bin, path)
                tf = tfc_bench(bench, so, path, decode_tokens) if so else None
                res = results[t]
                if lc:
                    res[0], res[1] = best(res[0], lc[0]), best(res[1], lc[1])
                if tf:
                    res[2], res[3] = best(res[2], tf[0]), best(res[3], tf[1])
        for t, (path, so, why) in files.items():
            decode_bytes, bpw = gguf_decode_bytes(path)
            rows.append((shape_name, t, bpw, decode_bytes, results[t], why))
    bandwidth = best(bandwidth, machine_bandwidth(machine))

    print("read bandwidth (best of before/after, 2 threads): %.1f GB/s" % bandwidth)
    print("%-11s %-7s %6s | %9s %9s %6s | %9s %9s %6s | %8s %6s" % (
        "shape", "type", "B/w", "llama pp", "tfc pp", "ratio", "llama tg", "tfc tg", "ratio",
        "tfc GB/s", "%bw"))
    for shape_name, t, bpw, decode_bytes, (lpp, ltg, tpp, ttg), why in rows:
        def f(v, spec="%9.1f"):
            return spec % v if v is not None else "%9s" % "-"
        ratio = lambda a, b: "%6.2f" % (a / b) if a and b else "%6s" % "-"  # noqa: E731
        gbs = ttg * decode_bytes / 1e9 if ttg else None
        print("%-11s %-7s %6.3f | %s %s %s | %s %s %s | %s %6s%s" % (
            shape_name, t, bpw, f(lpp), f(tpp), ratio(tpp, lpp), f(ltg), f(ttg), ratio(ttg, ltg),
            f(gbs, "%8.1f") if gbs else "%8s" % "-",
            "%5.0f%%" % (100 * gbs / bandwidth) if gbs and bandwidth else "-",
            ("   tfc: " + why[0]) if why else ""))


if __name__ == "__main__":
    main()
