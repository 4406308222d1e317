"""Compares two float32 logit dumps of the harness: exits 1 when the relative
error max|a - b| / max|b| exceeds the tolerance. Used to check models compiled
with --weight-type=bf16/f16 against the same model in f32. Given two
directories, compares every .bin of the first with its namesake in the second
(the outputs check.py leaves in its --work directory), e.g. a model compiled
with --no-fuse against the default."""
import os
import sys

import numpy as np


def compare(a_path, b_path, tol):
    a = np.fromfile(a_path, dtype=np.float32)
    b = np.fromfile(b_path, dtype=np.float32)
    if a.shape != b.shape or a.size == 0:
        print(f"{a_path}: shapes differ or are empty: {a.shape} vs {b.shape}")
        return False
    if not np.all(np.isfinite(a)):
        print(f"{a_path}: non-finite values")
        return False
    err = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
    print(f"{os.path.basename(a_path)}: relative error {err:.3e} (tolerance {tol:g})")
    return err <= tol


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: compare.py (TEST.bin REFERENCE.bin | TEST_DIR REFERENCE_DIR) TOLERANCE")
    a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if os.path.isdir(a):
        names = sorted(n for n in os.listdir(a) if n.endswith(".bin"))
        if not names:
            sys.exit(f"no .bin files in {a}")
        ok = all([compare(os.path.join(a, n), os.path.join(b, n), tol) for n in names])
    else:
        ok = compare(a, b, tol)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
