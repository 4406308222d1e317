"""Compares two float32 logit dumps of the harness: exits 1 when the relative
error max|a - b| / max|b| exceeds the tolerance. Used to check models compiled
with --weight-type=bf16/f16 against the same model in f32."""
import sys

import numpy as np


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: compare.py TEST.bin REFERENCE.bin TOLERANCE")
    a = np.fromfile(sys.argv[1], dtype=np.float32)
    b = np.fromfile(sys.argv[2], dtype=np.float32)
    tol = float(sys.argv[3])
    if a.shape != b.shape or a.size == 0:
        sys.exit(f"shapes differ or are empty: {a.shape} vs {b.shape}")
    if not np.all(np.isfinite(a)):
        sys.exit("non-finite values")
    err = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
    print(f"relative error {err:.3e} (tolerance {tol:g})")
    sys.exit(0 if err <= tol else 1)


if __name__ == "__main__":
    main()
