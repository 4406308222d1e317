#!/usr/bin/python3
"""Writes test/Conversion/run-*.mlir: small attn programs lowered by
tfc-attn-decompose + tfc-convert-attn-to-linalg, run with mlir-cpu-runner, and
checked against values computed here in float64 numpy (independently of the
lowering; the attention and MLA cases use test/Numeric/lib/reference.py).

printMemrefF32 prints 6 significant digits; each value is checked to 5
(`-0.86100{{[0-9]*}}`), and where the float64 value moved by its f32 rounding
error crosses a 5th-digit boundary the CHECK accepts both sides
(`{{(0\\.83999[0-9]*|0\\.84|0\\.84000[0-9]*)}}`).

Run: /usr/bin/python3 test/Conversion/Inputs/gen_run_tests.py (rewrites the files).
"""
import math
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Numeric", "lib"))
import reference as ref  # noqa: E402

RUN = """\
// RUN: tfc-opt %s -tfc-attn-decompose -tfc-convert-attn-to-linalg \\
// RUN:   -one-shot-bufferize=bufferize-function-boundaries -convert-linalg-to-loops \\
// RUN:   -expand-strided-metadata -lower-affine -convert-math-to-llvm -convert-math-to-libm \\
// RUN:   -finalize-memref-to-llvm -convert-scf-to-cf -convert-arith-to-llvm \\
// RUN:   -convert-func-to-llvm -convert-cf-to-llvm -reconcile-unrealized-casts \\
// RUN: | /usr/lib/llvm-19/bin/mlir-cpu-runner -e main -entry-point-result=void \\
// RUN:   -shared-libs=/usr/lib/llvm-19/lib/libmlir_c_runner_utils.so,/usr/lib/llvm-19/lib/libmlir_runner_utils.so \\
// RUN: | FileCheck %s
"""


def fmt(v):
    """C++ `std::ostream << float` with the default precision (%g, 6 digits)."""
    return "%g" % float(np.float32(v))


def significant_prefix(spelling, digits=5):
    """(prefix, open): the spelling cut after `digits` significant digits and
    open to more digits, or the whole spelling when it has no more (or has an
    exponent)."""
    count = 0
    for pos, ch in enumerate(spelling):
        if ch.isdigit() and (count or ch != "0"):
            count += 1
            if count == digits:
                if pos + 1 < len(spelling) and "e" not in spelling:
                    return spelling[:pos + 1], True
                break
    return spelling, False


def check_number(v):
    """A FileCheck pattern for the printed f32 of the float64 value `v`: five
    significant digits, with every spelling that v moved by 3e-6 relative + 1e-7
    absolute (the f32 rounding of the computation) can print as; values below
    1e-6 only need to print as 0 or with a negative exponent."""
    if abs(v) < 1e-6:  # 0, or a tiny value printed with an exponent
        return "{{-?(0|[0-9.]+e-[0-9]+)}}"
    tol = 3e-6 * abs(v) + 1e-7
    alternatives = []
    for w in np.linspace(v - tol, v + tol, 201):
        a = significant_prefix(fmt(w))
        if a not in alternatives:
            alternatives.append(a)
    if len(alternatives) == 1:
        prefix, more = alternatives[0]
        return prefix + ("{{[0-9]*}}" if more else "")
    return "{{(" + "|".join(re.escape(p) + ("[0-9]*" if more else "")
                            for p, more in alternatives) + ")}}"


def literal(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(float(a)) if a.dtype.kind == "f" else str(int(a))
    return "[" + ", ".join(literal(x) for x in a) + "]"


def f32(a):
    """Rounds to f32 and back, so that numpy sees what MLIR parses."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def shape_str(shape, elt="f32", dyn0=False):
    dims = ["?" if (i == 0 and dyn0) else str(s) for i, s in enumerate(shape)]
    return "tensor<" + "x".join(dims + [elt]) + ">"


class TestFile:
    def __init__(self, name, title):
        self.name, self.title = name, title
        self.body, self.checks = [], []
        self.count = 0

    def fresh(self, hint):
        self.count += 1
        return "%%%s%d" % (hint, self.count)

    def const(self, a, hint="c", dyn=None, dtype="f32"):
        """A dense constant; `dyn` casts dimension `dyn` (0 or 1) to dynamic."""
        a = np.asarray(a)
        name = self.fresh(hint)
        ty = shape_str(a.shape, dtype)
        vals = literal(np.round(a, 6)) if dtype == "f32" else literal(a)
        self.body.append("  %s = arith.constant dense<%s> : %s" % (name, vals, ty))
        if dyn is None:
            return name, ty
        dims = [str(s) for s in a.shape]
        dims[dyn] = "?"
        dty = "tensor<" + "x".join(dims + [dtype]) + ">"
        dname = self.fresh(hint + "d")
        self.body.append("  %s = tensor.cast %s : %s to %s" % (dname, name, ty, dty))
        return dname, dty

    def op(self, text):
        name = self.fresh("r")
        self.body.append("  %s = %s" % (name, text))
        return name

    def index(self, v):
        name = self.fresh("i")
        self.body.append("  %s = arith.constant %d : index" % (name, v))
        return name

    def show(self, what, value, ty, expected):
        expected = np.asarray(expected, dtype=np.float64)
        u = self.fresh("u")
        self.body.append("  %s = tensor.cast %s : %s to tensor<*xf32>" % (u, value, ty))
        self.body.append("  call @printMemrefF32(%s) : (tensor<*xf32>) -> ()" % u)
        sizes = ", ".join(str(s) for s in expected.shape)
        directive = "CHECK-NEXT" if self.checks else "CHECK"
        self.checks.append("// %s: sizes = [%s] strides = {{.*}} data =" % (directive, sizes))
        self.checks.append("// %s" % what)
        rows = expected.reshape(-1, expected.shape[-1])
        for row in rows:
            self.checks.append("// CHECK-NEXT: [" + ", ".join(check_number(v) for v in row) + "]")

    def write(self):
        out = [RUN, "// %s" % self.title,
               "// Generated by Inputs/gen_run_tests.py (expected values: float64 numpy).", "",
               "func.func private @printMemrefF32(tensor<*xf32> {bufferization.access = \"read\"})", "",
               "func.func @main() {"]
        out += self.body
        out += ["  return", "}", ""]
        out += self.checks
        with open(os.path.join(HERE, "..", self.name), "w") as f:
            f.write("\n".join(out) + "\n")


rng = np.random.default_rng(7)


def rnd(*shape, scale=1.0):
    return f32(np.round(rng.standard_normal(shape) * scale, 3))


def act(t, a):
    """An activation [n, d] with a dynamic token count."""
    return t.const(a, "x", dyn=0)


#===----------------------------------------------------------------------===#
# Dense layers and elementwise ops
#===----------------------------------------------------------------------===#

def dense():
    t = TestFile("run-dense.mlir", "linear (+bias), rms_norm, layer_norm and the elementwise ops, executed.")
    x = rnd(3, 4)
    w, b = rnd(5, 4), rnd(5)
    xv, xt = act(t, x)
    wv, wt = t.const(w, "w")
    bv, bt = t.const(b, "b")
    y = t.op("attn.linear %s, %s bias %s : %s, %s, %s -> tensor<?x5xf32>" % (xv, wv, bv, xt, wt, bt))
    t.show("linear with bias", y, "tensor<?x5xf32>", x @ w.T + b)
    y = t.op("attn.linear %s, %s : %s, %s -> tensor<?x5xf32>" % (xv, wv, xt, wt))
    t.show("linear", y, "tensor<?x5xf32>", x @ w.T)

    g, beta = f32(1 + 0.1 * rnd(4)), rnd(4, scale=0.1)
    gv, gt = t.const(g, "g")
    betav, betat = t.const(beta, "beta")
    y = t.op("attn.rms_norm %s, %s {eps = 1.0e-05 : f64} : %s, %s -> %s" % (xv, gv, xt, gt, xt))
    t.show("rms_norm", y, xt, ref.rms_norm_core(x, 1e-5) * g)
    y = t.op("attn.layer_norm %s, %s, %s {eps = 1.0e-05 : f64} : %s, %s, %s -> %s"
             % (xv, gv, betav, xt, gt, betat, xt))
    t.show("layer_norm", y, xt, ref.layer_norm_core(x, 1e-5) * g + beta)

    z = f32(np.array([[-3.0, -1.5, -0.5, -0.01, 0.0, 0.3], [0.7, 1.0, 1.7, 2.5, 3.2, -2.2]]))
    zv, zt = act(t, z)
    for name, fn in (("relu", ref.relu), ("gelu", ref.gelu), ("gelu_tanh", ref.gelu_tanh),
                     ("silu", ref.silu)):
        y = t.op("attn.%s %s : %s" % (name, zv, zt))
        t.show(name, y, zt, fn(z))
    z2 = f32(z[::-1] * 0.5 + 1.25)
    z2v, _ = act(t, z2)
    for name, fn in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                     ("div", np.divide)):
        y = t.op("attn.%s %s, %s : %s" % (name, zv, z2v, zt))
        t.show(name, y, zt, fn(z, z2))
    y = t.op("attn.affine %s {scale = -1.5 : f64, shift = 0.25 : f64} : %s" % (zv, zt))
    t.show("affine", y, zt, z * -1.5 + 0.25)
    t.write()


#===----------------------------------------------------------------------===#
# Embeddings and positions
#===----------------------------------------------------------------------===#

def embeddings():
    t = TestFile("run-embedding.mlir", "embedding, position_embedding (with an offset) and sinusoidal, executed.")
    table = rnd(6, 4)
    tokens = np.array([4, 1, 0, 5, 1], dtype=np.int32)
    tv, tt = t.const(table, "table")
    kv, kt = t.const(tokens, "tok", dyn=0, dtype="i32")
    y = t.op("attn.embedding %s, %s : %s, %s -> tensor<?x4xf32>" % (tv, kv, tt, kt))
    t.show("embedding", y, "tensor<?x4xf32>", table[tokens])

    pos = rnd(8, 4)
    pv, pt = t.const(pos, "pos")
    y = t.op("attn.position_embedding %s, %s : %s, %s -> tensor<?x4xf32>" % (pv, kv, pt, kt))
    t.show("position_embedding", y, "tensor<?x4xf32>", pos[:5])
    off = t.index(3)
    short = t.const(np.array([7, 2], dtype=np.int32), "tok", dyn=0, dtype="i32")
    y = t.op("attn.position_embedding %s, %s offset %s : %s, %s -> tensor<?x4xf32>"
             % (pv, short[0], off, pt, short[1]))
    t.show("position_embedding at offset 3", y, "tensor<?x4xf32>", pos[3:5])

    y = t.op("attn.sinusoidal %s : %s -> tensor<?x6xf32>" % (kv, kt))
    t.show("sinusoidal", y, "tensor<?x6xf32>", ref.sinusoidal(6, 5))
    big = t.index(1000)
    y = t.op("attn.sinusoidal %s offset %s : %s -> tensor<?x8xf32>" % (short[0], big, short[1]))
    t.show("sinusoidal at offset 1000", y, "tensor<?x8xf32>", ref.sinusoidal(8, 2, start=1000))
    t.write()


#===----------------------------------------------------------------------===#
# Head-level ops
#===----------------------------------------------------------------------===#

def heads_ty(h, d):
    return "tensor<%dx?x%dxf32>" % (h, d)


def rope():
    t = TestFile("run-rope.mlir", "rope half / interleaved, with and without an offset, linear- and llama3-scaled, executed.")
    H, n, d = 2, 3, 6
    x = rnd(H, n, d)
    xv, xt = t.const(x, "x", dyn=1)
    as_nhd = x.transpose(1, 0, 2)  # the reference takes [n, H, d]
    for style, theta, offset in (("half", 10000.0, 0), ("interleaved", 10000.0, 0),
                                 ("half", 500.0, 7), ("interleaved", 500.0, 7)):
        attr = "{style = #attn<rope_style %s>, theta = %r : f64}" % (style, theta)
        if offset:
            o = t.index(offset)
            y = t.op("attn.rope %s offset %s %s : %s" % (xv, o, attr, xt))
        else:
            y = t.op("attn.rope %s %s : %s" % (xv, attr, xt))
        exp = ref.rope_apply(as_nhd, np.arange(offset, offset + n), theta, style).transpose(1, 0, 2)
        t.show("rope %s theta %g offset %d" % (style, theta, offset), y, xt, exp)
    # Rescaled frequencies: linear, and llama3 with theta 500 and an original
    # context of 64, where the three frequencies of d = 6 (wavelengths 6.3,
    # 49.9 and 396) are kept, blended and divided.
    for kind, theta, offset in (("linear", 10000.0, 5), ("llama3", 500.0, 9)):
        scaling = {"kind": kind, "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_pos": 64}
        attr = ("{style = #attn<rope_style half>, theta = %r : f64, scaling = #attn.rope_scaling<%s, factor = "
                "4.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, "
                "original_max_position = 64>}" % (theta, kind))
        y = t.op("attn.rope %s offset %s %s : %s" % (xv, t.index(offset), attr, xt))
        exp = ref.rope_apply(as_nhd, np.arange(offset, offset + n), theta, "half",
                             scaling).transpose(1, 0, 2)
        t.show("rope %s-scaled theta %g offset %d" % (kind, theta, offset), y, xt, exp)
    t.write()


def sdpa_ref(q, k, v, scale, causal, window=None):
    """q [H, n, d], k/v [KV, m, *] -> [H, n, dv]; queries are the last n positions."""
    H, n, _ = q.shape
    m = k.shape[1]
    q_pos, k_pos = np.arange(m - n, m), np.arange(m)
    out = ref.sdpa(q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2), scale,
                   causal, q_pos, k_pos, window)
    return out.reshape(n, H, -1).transpose(1, 0, 2)


def sdpa():
    t = TestFile("run-sdpa.mlir", "sdpa (causal GQA, causal with a key prefix, MQA, sliding windows) and the head layout ops, executed.")
    # Sliding windows of 2 and 3 positions: 4 queries after 2 cached keys, GQA 4/2.
    cases = [("causal GQA 4/2", 4, 2, 3, 3, 4, 3, True, None),
             ("causal, 2 queries after 5 keys, GQA 2/1", 2, 1, 2, 5, 4, 2, True, None),
             ("non-causal MHA", 2, 2, 3, 4, 2, 3, False, None),
             ("causal window 2, GQA 4/2", 4, 2, 4, 6, 4, 3, True, 2),
             ("causal window 3, GQA 4/2", 4, 2, 4, 6, 4, 3, True, 3)]
    for what, H, KV, n, m, d, dv, causal, window in cases:
        q, k, v = rnd(H, n, d), rnd(KV, m, d), rnd(KV, m, dv)
        qv, qt = t.const(q, "q", dyn=1)
        kv_, kt = t.const(k, "k", dyn=1)
        vv, vt = t.const(v, "v", dyn=1)
        scale = 1.0 / math.sqrt(d)
        y = t.op("attn.sdpa %s, %s, %s {heads = %d : i64, kv_heads = %d : i64,%s scale = %r : f64%s} : %s, %s, %s -> %s"
                 % (qv, kv_, vv, H, KV, " causal," if causal else "", scale,
                    ", window = %d : i64" % window if window else "", qt, kt, vt, heads_ty(H, dv)))
        t.show("sdpa " + what, y, heads_ty(H, dv), sdpa_ref(q, k, v, scale, causal, window))

    x = rnd(3, 6)
    xv, xt = act(t, x)
    s = t.op("attn.split_heads %s : %s -> %s" % (xv, xt, heads_ty(3, 2)))
    t.show("split_heads", s, heads_ty(3, 2), x.reshape(3, 3, 2).transpose(1, 0, 2))
    r = t.op("attn.repeat_kv %s : %s -> %s" % (s, heads_ty(3, 2), heads_ty(6, 2)))
    t.show("repeat_kv", r, heads_ty(6, 2), np.repeat(x.reshape(3, 3, 2).transpose(1, 0, 2), 2, axis=0))
    mg = t.op("attn.merge_heads %s : %s -> tensor<?x12xf32>" % (r, heads_ty(6, 2)))
    t.show("merge_heads", mg, "tensor<?x12xf32>", np.repeat(x.reshape(3, 3, 2), 2, axis=1).reshape(3, 12))
    sl = t.op("attn.slice_last %s {offset = 2 : i64} : %s -> tensor<?x3xf32>" % (xv, xt))
    t.show("slice_last", sl, "tensor<?x3xf32>", x[:, 2:5])
    c = t.op("attn.concat_last %s, %s : %s, tensor<?x3xf32> -> tensor<?x9xf32>" % (xv, sl, xt))
    t.show("concat_last", c, "tensor<?x9xf32>", np.concatenate([x, x[:, 2:5]], axis=1))
    t.write()


#===----------------------------------------------------------------------===#
# Whole attention blocks through tfc-attn-decompose
#===----------------------------------------------------------------------===#

def attention():
    t = TestFile("run-attention.mlir",
                 "attn.attention (GQA + rope + causal; cross-attention with biases) and "
                 "attn.latent_attention (q_rank 0 and > 0), decomposed and executed.")
    n, dim = 3, 8
    x = rnd(n, dim)
    xv, xt = act(t, x)

    # GQA 4/2, head_dim 2, causal, rope half.
    H, KV, hd = 4, 2, 2
    W = {"q_proj.weight": rnd(H * hd, dim, scale=0.5), "k_proj.weight": rnd(KV * hd, dim, scale=0.5),
         "v_proj.weight": rnd(KV * hd, dim, scale=0.5), "o_proj.weight": rnd(dim, H * hd, scale=0.5)}
    names = [t.const(W[k + "_proj.weight"], "w") for k in "qkvo"]
    y = t.op("attn.attention %s weights(%s : %s) {heads = %d : i64, kv_heads = %d : i64, head_dim = %d : i64, "
             "causal, rope_theta = 1.0e+04 : f64} : %s -> %s"
             % (xv, ", ".join(v for v, _ in names), ", ".join(ty for _, ty in names), H, KV, hd, xt, xt))
    exp = ref.attention(ref.Weights(W), "", x, H, kv_heads=KV, head_dim=hd, causal=True, rope=ref.rope())
    t.show("attention GQA 4/2 causal rope", y, xt, exp)

    # Cross-attention over a 4-token memory of width 6, with biases, MHA, interleaved rope off.
    mem = rnd(4, 6)
    mv, mt = act(t, mem)
    H = KV = 2
    hd = 3
    W = {"q_proj.weight": rnd(H * hd, dim, scale=0.5), "k_proj.weight": rnd(KV * hd, 6, scale=0.5),
         "v_proj.weight": rnd(KV * hd, 6, scale=0.5), "o_proj.weight": rnd(dim, H * hd, scale=0.5),
         "q_proj.bias": rnd(H * hd, scale=0.1), "k_proj.bias": rnd(KV * hd, scale=0.1),
         "v_proj.bias": rnd(KV * hd, scale=0.1), "o_proj.bias": rnd(dim, scale=0.1)}
    ws = [t.const(W[k + "_proj.weight"], "w") for k in "qkvo"]
    bs = [t.const(W[k + "_proj.bias"], "b") for k in "qkvo"]
    y = t.op("attn.attention %s memory(%s : %s) weights(%s : %s) biases(%s : %s) "
             "out_bias(%s : %s) {heads = %d : i64, kv_heads = %d : i64, head_dim = %d : i64} : %s -> %s"
             % (xv, mv, mt, ", ".join(v for v, _ in ws), ", ".join(ty for _, ty in ws),
                ", ".join(v for v, _ in bs[:3]), ", ".join(ty for _, ty in bs[:3]), bs[3][0],
                bs[3][1], H, KV, hd, xt, xt))
    exp = ref.attention(ref.Weights(W), "", x, H, kv_heads=KV, head_dim=hd, memory=mem, bias=True)
    t.show("cross-attention with biases", y, xt, exp)

    # MLA: heads 2, kv_rank 4, rope 2, nope 2, v 3.
    H, rank, dr, dn, dvv = 2, 4, 2, 2, 3
    for q_rank, style in ((0, "interleaved"), (3, "half")):
        W = {"kv_a_proj_with_mqa.weight": rnd(rank + dr, dim, scale=0.5),
             "kv_a_layernorm.weight": f32(1 + 0.1 * rnd(rank)),
             "kv_b_proj.weight": rnd(H * (dn + dvv), rank, scale=0.5),
             "o_proj.weight": rnd(dim, H * dvv, scale=0.5)}
        if q_rank == 0:
            W["q_proj.weight"] = rnd(H * (dn + dr), dim, scale=0.5)
            qn = ["q_proj.weight"]
        else:
            W["q_a_proj.weight"] = rnd(q_rank, dim, scale=0.5)
            W["q_a_layernorm.weight"] = f32(1 + 0.1 * rnd(q_rank))
            W["q_b_proj.weight"] = rnd(H * (dn + dr), q_rank, scale=0.5)
            qn = ["q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight"]
        qs = [t.const(W[k], "w") for k in qn]
        kvs = [t.const(W[k], "w") for k in ("kv_a_proj_with_mqa.weight", "kv_a_layernorm.weight",
                                            "kv_b_proj.weight")]
        wo = t.const(W["o_proj.weight"], "w")
        y = t.op("attn.latent_attention %s q(%s : %s) kv(%s : %s) o(%s : %s) "
                 "{heads = %d : i64, kv_rank = %d : i64, rope_dim = %d : i64, nope_dim = %d : i64, "
                 "v_dim = %d : i64, q_rank = %d : i64, causal, rope_theta = 1.0e+04 : f64, rope_style = #attn<rope_style %s>} : %s -> %s"
                 % (xv, ", ".join(v for v, _ in qs), ", ".join(ty for _, ty in qs),
                    ", ".join(v for v, _ in kvs), ", ".join(ty for _, ty in kvs), wo[0], wo[1],
                    H, rank, dr, dn, dvv, q_rank, style, xt, xt))
        exp = ref.attention(ref.Weights(W), "", x, H, causal=True, rope=ref.rope(style=style),
                            latent=ref.mla(rank, dr, dn, dvv, q_rank=q_rank))
        t.show("latent_attention q_rank %d rope %s" % (q_rank, style), y, xt, exp)
    t.write()


if __name__ == "__main__":
    dense()
    embeddings()
    rope()
    sdpa()
    attention()
