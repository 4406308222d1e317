#!/usr/bin/env python3
#===- logits_rank.py - Which ranks receive a tensor-parallel model's logits --===#
#
# logits_rank.py MODEL.so OUT_PREFIX [--logits-rank K] [--batch]
#
# A host program of its own (ctypes, no tfc tool), run on every rank under
# mpirun: loads MODEL.so's seeded random weights, optionally calls
# tfc_logits_rank(K) on every rank, decodes a prompt then one token (with
# --batch, through tfc_decode_batch), and writes to OUT_PREFIX.rankR one line
# per call: how many logits are finite, and a digest of their bytes (equal
# digests: equal logits), so a test compares the ranks and the settings.
# A refused tfc_logits_rank writes its error instead, and the script exits 1.
#
#===----------------------------------------------------------------------===#

import argparse
import ctypes
import hashlib
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("out_prefix")
    ap.add_argument("--logits-rank", type=int)
    ap.add_argument("--batch", action="store_true")
    args = ap.parse_args()

    # Global, as the tools open it: Open MPI loads plugins that need its symbols.
    lib = ctypes.CDLL(os.path.abspath(args.model), mode=ctypes.RTLD_GLOBAL)

    class ModelInfo(ctypes.Structure):  # the start of tfc.h's tfc_model_info
        _fields_ = [("abi_version", ctypes.c_int32), ("name", ctypes.c_char_p),
                    ("vocab_size", ctypes.c_int32)]

    lib.tfc_info.restype = ctypes.POINTER(ModelInfo)
    lib.tfc_model_random.restype = ctypes.c_void_p
    lib.tfc_model_random.argtypes = [ctypes.c_uint64]
    lib.tfc_session_new.restype = ctypes.c_void_p
    lib.tfc_session_new.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.tfc_decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                               ctypes.c_void_p, ctypes.c_int32]
    lib.tfc_decode_batch.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p,
                                     ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                                     ctypes.c_void_p]
    lib.tfc_rank.argtypes = [ctypes.POINTER(ctypes.c_int32)]
    lib.tfc_last_error.restype = ctypes.c_char_p
    lib.tfc_logits_rank.argtypes = [ctypes.c_int32]

    def fail(what):
        sys.exit("logits_rank: %s: %s" % (what, lib.tfc_last_error().decode()))

    model = lib.tfc_model_random(7)
    if not model:
        fail("tfc_model_random")
    ranks = ctypes.c_int32(0)
    rank = lib.tfc_rank(ctypes.byref(ranks))
    vocab = lib.tfc_info().contents.vocab_size
    lines = []
    out = open("%s.rank%d" % (args.out_prefix, rank), "w")
    if args.logits_rank is not None and lib.tfc_logits_rank(args.logits_rank) != 0:
        out.write("refused: %s\n" % lib.tfc_last_error().decode())
        sys.exit(1)
    session = lib.tfc_session_new(model, 16)
    if not session:
        fail("tfc_session_new")
    for tokens in ([3, 17, 42, 8], [5]):
        # Whatever the arena held before, the logits buffer starts as a value
        # no step writes: a rank that received none must not show old ones.
        logits = np.full(vocab, 12345.0, dtype=np.float32)
        ids = np.array(tokens, dtype=np.int32)
        if args.batch:
            sessions = (ctypes.c_void_p * 1)(session)
            counts = np.array([len(tokens)], dtype=np.int32)
            status = np.zeros(1, dtype=np.int32)
            code = lib.tfc_decode_batch(sessions, 1, ids.ctypes.data, counts.ctypes.data,
                                        logits.ctypes.data, 0, status.ctypes.data)
        else:
            code = lib.tfc_decode(session, ids.ctypes.data, len(tokens), logits.ctypes.data, 0)
        if code != 0:
            fail("decode")
        finite = int(np.isfinite(logits).sum())
        digest = hashlib.sha1(logits.tobytes()).hexdigest()[:16] if finite else "-"
        lines.append("rank %d of %d: %d of %d logits finite, digest %s" %
                     (rank, ranks.value, finite, vocab, digest))
    out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
