"""/v1/embeddings against numpy: the mean over tokens of the encoder's last
hidden states, L2-normalized.

usage: embeddings.py ENCODER.so TOKENIZER

The reference runs the same model.so through ctypes (tfc_model_random(1),
tfc_encode) and pools in float64; the server runs with --random-weights 1.
"""
import base64
import ctypes
import sys

import numpy as np

from harness import Server, check, run

model, tokenizer = sys.argv[1:3]

lib = ctypes.CDLL(model)
lib.tfc_model_random.restype = ctypes.c_void_p
lib.tfc_model_random.argtypes = [ctypes.c_uint64]
lib.tfc_session_new.restype = ctypes.c_void_p
lib.tfc_session_new.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.tfc_encode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_int32,
                           ctypes.POINTER(ctypes.c_float)]
DIM = 4
weights = lib.tfc_model_random(1)


def reference(ids):
    session = lib.tfc_session_new(weights, 128)
    tokens = (ctypes.c_int32 * len(ids))(*ids)
    hidden = np.zeros((len(ids), DIM), dtype=np.float32)
    status = lib.tfc_encode(session, tokens, len(ids),
                            hidden.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    check(status == 0, "tfc_encode failed")
    mean = hidden.astype(np.float64).mean(axis=0)
    return mean / np.linalg.norm(mean)


def encode(text):
    return [int(i) for i in run("tfc-run", "--tokenizer", tokenizer, "--encode", text).split()]


with Server([model, "--random-weights", "1", "--tokenizer", tokenizer]) as server:
    inputs = ["ab cd", "abcd abcd a", "e"]
    status, answer = server.post("/v1/embeddings", {"model": "fake", "input": inputs})
    check(status == 200, "embeddings %d %r" % (status, answer))
    check(answer["object"] == "list" and answer["model"] == "fake", "envelope %r" % answer)
    ids = [encode(text) for text in inputs]
    check(answer["usage"]["prompt_tokens"] == sum(map(len, ids)), "usage %r" % answer["usage"])
    for i, item in enumerate(answer["data"]):
        check(item["index"] == i and item["object"] == "embedding", "item %r" % item)
        got = np.array(item["embedding"], dtype=np.float64)
        want = reference(ids[i])
        check(np.abs(got - want).max() < 1e-6, "input %d: %r != %r" % (i, got, want))
        check(abs(np.linalg.norm(got) - 1) < 1e-6, "not normalized")
    print("ok float embeddings equal the numpy reference")

    status, answer = server.post("/v1/embeddings", {"model": "fake", "input": [[3, 4, 5], [6]],
                                                    "encoding_format": "base64"})
    check(status == 200, "base64 %d %r" % (status, answer))
    for item, tokens in zip(answer["data"], [[3, 4, 5], [6]]):
        got = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
        check(np.abs(got - reference(tokens)).max() < 1e-6, "base64 %r" % got)
    print("ok base64 embeddings of token ids")

    status, answer = server.post("/v1/completions", {"model": "fake", "prompt": "ab"})
    check(status == 400 and "no decoder" in answer["error"]["message"], "completion %r" % answer)
    status, answer = server.post("/v1/embeddings", {"model": "fake", "input": [[1] * 129]})
    check(status == 400 and answer["error"]["code"] == "context_length_exceeded", "%r" % answer)
    print("ok encoder errors")
