"""A numpy reference of ggml's reference quantizers Q8_0, Q4_0, Q4_K, Q5_K and Q6_K.

Written from the format's definition as ggml-quants.c gives it
(quantize_row_{q8_0,q4_0,q4_K,q5_K,q6_K}_ref with make_qkx2_quants and
make_qx_quants, no importance matrix), independently of the runtime's C++: every
block is processed by the same float32 operations in the same order (sums run
sequentially over a block's elements, vectorized across blocks only; numpy's
pairwise sums would round differently), so the bytes must match the runtime's
quantizer (runtime/src/Quantize.cpp) exactly.

    ggml_quantize.py cases OUT.f32              float32 test rows (see cases())
    ggml_quantize.py quantize TYPE IN.f32 OUT   TYPE's blocks of IN's floats
    ggml_quantize.py check TYPE CASES.f32 BLOCKS DEQUANTIZED.f32
        compares the runtime's blocks of CASES (quantize_probe) with this
        quantizer's, byte for byte, and its dequantized floats with
        gguf_gen.dequantize of the same blocks, bit for bit; bounds the error
        on the Gaussian rows; prints one line, exits 1 on any difference
"""
import sys

import numpy as np

F = np.float32


def nearest_int(v):
    """ggml's nearest_int: v + 1.5 * 2^23 in float32, read back from the mantissa
    (round half to even)."""
    shifted = (np.asarray(v, F) + F(12582912.0)).astype(F)
    return (shifted.view(np.int32) & 0x007FFFFF) - 0x00400000


def f16_bytes(v):
    return np.asarray(v, F).astype(np.float16).view(np.uint8).reshape(-1, 2)


def f16_round(v):
    return np.asarray(v, F).astype(np.float16).astype(F)


def safe_div(a, b):
    """a / b in float32 where b != 0, else 0 (ggml's `d ? 1/d : 0`)."""
    a, b = np.broadcast_arrays(np.asarray(a, F), np.asarray(b, F))
    out = np.zeros(a.shape, F)
    np.divide(a, b, out=out, where=b != 0)
    return out


def round_away(v):
    """C's roundf: half away from zero (exact: float32 + 0.5 in float64)."""
    v64 = np.asarray(v, F).astype(np.float64)
    return (np.sign(v64) * np.floor(np.abs(v64) + 0.5)).astype(np.int64)


def first_abs_max(x):
    """The element of largest magnitude of each row, the first one on ties
    (ggml's `if (ax > amax)` scan), and that magnitude."""
    idx = np.argmax(np.abs(x), axis=1)
    v = x[np.arange(x.shape[0]), idx]
    return v, np.abs(v)


#--- Q8_0 and Q4_0 -------------------------------------------------------------------

def q8_0(x):
    x = x.reshape(-1, 32)
    amax = np.max(np.abs(x), axis=1)
    d = (amax / F(127)).astype(F)
    inv = safe_div(F(1), d)
    q = round_away((x * inv[:, None]).astype(F)).astype(np.int8)
    return np.concatenate([f16_bytes(d), q.view(np.uint8)], axis=1)


def q4_0(x):
    x = x.reshape(-1, 32)
    mx, _ = first_abs_max(x)
    d = (mx / F(-8)).astype(F)
    inv = safe_div(F(1), d)
    v = ((x * inv[:, None]).astype(F) + F(8.5)).astype(F)
    q = np.minimum(15, np.trunc(v).astype(np.int64))
    qs = q[:, :16] | (q[:, 16:] << 4)
    return np.concatenate([f16_bytes(d), qs.astype(np.uint8)], axis=1)


#--- Q4_K --------------------------------------------------------------------------

def make_qkx2_quants(x, w, nmax, rmin, rdelta, nstep):
    """Rows of x (n values each) with their weights: (scale, -min, L), squared error."""
    rows, n = x.shape
    mn = np.min(x, axis=1)
    mx = np.max(x, axis=1)
    sum_w = w[:, 0].copy()
    sum_x = (sum_w * x[:, 0]).astype(F)
    for i in range(1, n):
        sum_w = (sum_w + w[:, i]).astype(F)
        sum_x = (sum_x + (w[:, i] * x[:, i]).astype(F)).astype(F)
    mn = np.where(mn > 0, F(0), mn).astype(F)
    flat = mx == mn
    span = np.where(flat, F(1), (mx - mn).astype(F)).astype(F)
    iscale = (F(nmax) / span).astype(F)
    scale = (F(1) / iscale).astype(F)
    L = np.clip(nearest_int((iscale[:, None] * (x - mn[:, None]).astype(F)).astype(F)), 0, nmax)
    best = np.zeros(rows, F)
    for i in range(n):
        diff = ((scale * L[:, i].astype(F)).astype(F) + mn).astype(F)
        diff = (diff - x[:, i]).astype(F)
        best = (best + (w[:, i] * (diff * diff).astype(F)).astype(F)).astype(F)
    for step in range(nstep + 1):
        # ggml divides by max - min with the min of the best fit so far.
        span = np.where(flat, F(1), (mx - mn).astype(F)).astype(F)
        iscale = ((F(rmin) + (F(rdelta) * F(step)).astype(F)).astype(F) + F(nmax)).astype(F)
        iscale = (iscale / span).astype(F)
        Laux = np.clip(nearest_int((iscale[:, None] * (x - mn[:, None]).astype(F)).astype(F)),
                       0, nmax)
        sum_l = np.zeros(rows, F)
        sum_l2 = np.zeros(rows, F)
        sum_xl = np.zeros(rows, F)
        for i in range(n):
            wl = (w[:, i] * Laux[:, i].astype(F)).astype(F)
            sum_l = (sum_l + wl).astype(F)
            sum_l2 = (sum_l2 + (wl * Laux[:, i].astype(F)).astype(F)).astype(F)
            sum_xl = (sum_xl + (wl * x[:, i]).astype(F)).astype(F)
        D = ((sum_w * sum_l2).astype(F) - (sum_l * sum_l).astype(F)).astype(F)
        ok = D > 0
        Dsafe = np.where(ok, D, F(1)).astype(F)
        this_scale = (((sum_w * sum_xl).astype(F) - (sum_x * sum_l).astype(F)).astype(F)
                      / Dsafe).astype(F)
        this_min = (((sum_l2 * sum_x).astype(F) - (sum_l * sum_xl).astype(F)).astype(F)
                    / Dsafe).astype(F)
        pos = this_min > 0
        this_min = np.where(pos, F(0), this_min).astype(F)
        this_scale = np.where(pos, safe_div(sum_xl, sum_l2), this_scale).astype(F)
        mad = np.zeros(rows, F)
        for i in range(n):
            diff = ((this_scale * Laux[:, i].astype(F)).astype(F) + this_min).astype(F)
            diff = (diff - x[:, i]).astype(F)
            mad = (mad + (w[:, i] * (diff * diff).astype(F)).astype(F)).astype(F)
        better = ok & (mad < best) & ~flat
        L = np.where(better[:, None], Laux, L)
        best = np.where(better, mad, best)
        scale = np.where(better, this_scale, scale)
        mn = np.where(better, this_min, mn)
    scale = np.where(flat, F(0), scale).astype(F)
    L = np.where(flat[:, None], 0, L)
    return scale, (-mn).astype(F), L


def scale_min_super_blocks(x, nmax, rmin, nstep):
    """Q4_K's (nmax 15) and Q5_K's (nmax 31) common part: per super-block the
    f16 d and dmin, the 12 packed 6-bit scales and mins, and the levels L."""
    x = x.reshape(-1, 256)
    nb = x.shape[0]
    sub = x.reshape(nb * 8, 32)
    sum_x2 = np.zeros(nb * 8, F)
    for i in range(32):
        sum_x2 = (sum_x2 + (sub[:, i] * sub[:, i]).astype(F)).astype(F)
    av_x = np.sqrt((sum_x2 / F(32)).astype(F)).astype(F)
    weights = (av_x[:, None] + np.abs(sub)).astype(F)
    scales, mins, L = make_qkx2_quants(sub, weights, nmax, rmin, 0.1, nstep)
    scales, mins, L = scales.reshape(nb, 8), mins.reshape(nb, 8), L.reshape(nb, 256)
    max_scale = np.maximum(np.max(scales, axis=1), F(0))
    max_min = np.maximum(np.max(mins, axis=1), F(0))
    inv_scale = np.where(max_scale > 0, safe_div(F(63), max_scale), F(0)).astype(F)
    inv_min = np.where(max_min > 0, safe_div(F(63), max_min), F(0)).astype(F)
    ls = np.minimum(63, nearest_int((inv_scale[:, None] * scales).astype(F)) & 0xFF)
    lm = np.minimum(63, nearest_int((inv_min[:, None] * mins).astype(F)) & 0xFF)
    packed = np.zeros((nb, 12), np.int64)
    packed[:, 0:4] = ls[:, 0:4] | ((ls[:, 4:8] >> 4) << 6)
    packed[:, 4:8] = lm[:, 0:4] | ((lm[:, 4:8] >> 4) << 6)
    packed[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    d = (max_scale / F(63)).astype(F)
    dmin = (max_min / F(63)).astype(F)
    dd = (f16_round(d)[:, None] * ls.astype(F)).astype(F)
    dm = (f16_round(dmin)[:, None] * lm.astype(F)).astype(F)
    dd32 = np.repeat(dd, 32, axis=1)
    dm32 = np.repeat(dm, 32, axis=1)
    requant = np.clip(nearest_int(safe_div((x + dm32).astype(F), dd32)), 0, nmax)
    L = np.where(dd32 != 0, requant, L)
    return [f16_bytes(d), f16_bytes(dmin), packed.astype(np.uint8)], L


def q4_k(x):
    head, L = scale_min_super_blocks(x, 15, -1.0, 20)
    qs = np.concatenate([L[:, j:j + 32] | (L[:, j + 32:j + 64] << 4) for j in range(0, 256, 64)],
                        axis=1)
    return np.concatenate(head + [qs.astype(np.uint8)], axis=1)


def q5_k(x):
    """Q5_K: make_qkx2_quants over 0..31 with rmin -0.5 and 15 steps; the low
    four bits of the levels packed as Q4_K's, their fifth bits in 32 bytes
    before them (element 64i + l: bit 2i of byte l; 64i + 32 + l: bit 2i + 1)."""
    head, L = scale_min_super_blocks(x, 31, -0.5, 15)
    low = L & 15
    qs = np.concatenate([low[:, j:j + 32] | (low[:, j + 32:j + 64] << 4)
                         for j in range(0, 256, 64)], axis=1)
    qh = np.zeros((L.shape[0], 32), np.int64)
    for i in range(4):
        qh |= (L[:, 64 * i:64 * i + 32] >> 4) << (2 * i)
        qh |= (L[:, 64 * i + 32:64 * i + 64] >> 4) << (2 * i + 1)
    return np.concatenate(head + [qh.astype(np.uint8), qs.astype(np.uint8)], axis=1)


#--- Q6_K --------------------------------------------------------------------------

def make_qx_quants(x, nmax):
    """Rows of x: (scale, L + nmax), x^2-weighted least squares (rmse_type 1)."""
    rows, n = x.shape
    mx, amax = first_abs_max(x)
    zero = amax < F(1e-30)
    mxs = np.where(zero, F(1), mx).astype(F)

    def levels(iscale):
        return np.clip(nearest_int((iscale[:, None] * x).astype(F)), -nmax, nmax - 1)

    def sums(lv):
        slx = np.zeros(rows, F)
        sl2 = np.zeros(rows, F)
        for i in range(n):
            w = (x[:, i] * x[:, i]).astype(F)
            lf = lv[:, i].astype(F)
            slx = (slx + ((w * x[:, i]).astype(F) * lf).astype(F)).astype(F)
            sl2 = (sl2 + ((w * lf).astype(F) * lf).astype(F)).astype(F)
        return slx, sl2

    lv = levels((F(-nmax) / mxs).astype(F))
    L = lv + nmax
    sumlx, suml2 = sums(lv)
    scale = safe_div(sumlx, suml2)
    best = (scale * sumlx).astype(F)
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = (-(F(nmax) + (F(0.1) * F(step)).astype(F)).astype(F) / mxs).astype(F)
        lv = levels(iscale)
        slx, sl2 = sums(lv)
        take = (sl2 > 0) & ((slx * slx).astype(F) > (best * sl2).astype(F))
        L = np.where(take[:, None], lv + nmax, L)
        scale = np.where(take, safe_div(slx, sl2), scale).astype(F)
        best = np.where(take, (scale * slx).astype(F), best).astype(F)
    return np.where(zero, F(0), scale).astype(F), np.where(zero[:, None], 0, L)


def q6_k(x):
    x = x.reshape(-1, 256)
    nb = x.shape[0]
    scales, L = make_qx_quants(x.reshape(nb * 16, 16), 32)
    scales, L = scales.reshape(nb, 16), L.reshape(nb, 256)
    max_scale, max_abs = first_abs_max(scales)
    zero = max_abs == 0
    iscale = safe_div(F(-128), max_scale)
    d = safe_div(F(1), iscale)
    sc = np.minimum(127, nearest_int((iscale[:, None] * scales).astype(F)))
    dd = (f16_round(d)[:, None] * sc.astype(F)).astype(F)
    dd16 = np.repeat(dd, 16, axis=1)
    requant = np.clip(nearest_int(safe_div(x, dd16)), -32, 31) + 32
    L = np.where(dd16 != 0, requant, L)
    ql, qh = [], []
    for j in range(0, 256, 128):
        q = [L[:, j + 32 * k:j + 32 * k + 32] for k in range(4)]
        ql += [(q[0] & 0xF) | ((q[2] & 0xF) << 4), (q[1] & 0xF) | ((q[3] & 0xF) << 4)]
        qh.append((q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6))
    out = np.concatenate(ql + qh + [sc.astype(np.int8).view(np.uint8).astype(np.int64)],
                         axis=1).astype(np.uint8)
    out = np.concatenate([out, f16_bytes(d)], axis=1)
    out[zero] = 0
    return out


QUANTIZERS = {"Q8_0": q8_0, "Q4_0": q4_0, "Q4_K": q4_k, "Q5_K": q5_k, "Q6_K": q6_k}


def cases():
    """Rows of 256 floats: Gaussian weights of several scales, heavy tails, all
    zero, constant (positive and negative), one spike, values on rounding ties,
    all positive (Q4_K's min clamps at 0), tiny (f16 subnormal scales), large."""
    rng = np.random.default_rng(7)
    rows = [rng.normal(0, s, 256) for s in (0.02, 0.1, 1.0, 30.0)]
    rows += [rng.standard_t(2, 256), np.zeros(256), np.full(256, 0.75), np.full(256, -3.0)]
    spike = np.zeros(256)
    spike[37] = -5.0
    rows.append(spike)
    rows.append(np.tile(np.arange(-16, 16) * 0.25, 8))        # ties for Q4_0/Q8_0 scales
    rows.append(rng.uniform(0.5, 2.0, 256))                   # all positive
    rows.append(rng.normal(0, 1e-6, 256))                     # f16 subnormal scales
    rows.append(rng.normal(0, 1000.0, 256))
    mixed = rng.normal(0, 0.05, 256)
    mixed[::32] = 4.0                                         # one outlier per block
    rows.append(mixed)
    return np.concatenate(rows).astype(F)


# Relative RMS error bounds on Gaussian rows: what each type's bits allow, with
# margin (a broken quantizer lands far above).
RMS_BOUND = {"Q8_0": 0.01, "Q4_0": 0.15, "Q4_K": 0.1, "Q5_K": 0.05, "Q6_K": 0.03}


def check(tname, cases_path, blocks_path, deq_path):
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gguf_gen
    x = np.fromfile(cases_path, dtype=F)
    ours = QUANTIZERS[tname](x).reshape(-1)
    theirs = np.fromfile(blocks_path, dtype=np.uint8)
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
        at = np.nonzero(ours != theirs)[0] if ours.shape == theirs.shape else [0]
        print("%s: blocks DIFFER at byte %d" % (tname, at[0]))
        return 1
    deq = np.fromfile(deq_path, dtype=F)
    ref = gguf_gen.dequantize(tname, ours.tobytes())
    if not np.array_equal(deq.view(np.uint32), ref.view(np.uint32)):
        print("%s: dequantized values DIFFER" % tname)
        return 1
    gauss = slice(0, 4 * 256)  # the first four rows of cases()
    err = np.sqrt(np.mean((deq[gauss] - x[gauss]).astype(np.float64) ** 2 /
                          np.repeat(np.mean(x[gauss].reshape(4, 256).astype(np.float64) ** 2,
                                            axis=1), 256)))
    if not err <= RMS_BOUND[tname]:
        print("%s: relative rms error %.4f above %g" % (tname, err, RMS_BOUND[tname]))
        return 1
    print("%s: %d blocks identical, dequantized identical, relative rms error below %g"
          % (tname, x.size // {"Q8_0": 32, "Q4_0": 32}.get(tname, 256), RMS_BOUND[tname]))
    return 0


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 3 and a[1] == "cases":
        cases().tofile(a[2])
    elif len(a) == 5 and a[1] == "quantize":
        x = np.fromfile(a[3], dtype=F)
        QUANTIZERS[a[2]](x).tofile(a[4])
    elif len(a) == 6 and a[1] == "check":
        sys.exit(check(*a[2:]))
    else:
        sys.exit(__doc__)
