"""Replays fuzz inputs of tfc-serve's request layer against a running server.

usage: replay_serve.py MODEL.so WEIGHTS TOKENIZER DIR...

Each file is one request as the fuzz target reads it (fuzz/serve_fuzzer.cpp):
the first byte chooses the endpoint, the rest is the body. Besides the files,
a few inputs too large to commit are made here (deep nesting, a long prompt
of ids). Every answer must be JSON (an error in OpenAI's shape when the status
is not 200, or an event stream), and the server must still answer /health at
the end.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tools", "tfc-serve",
                                "Inputs"))
from harness import Server  # noqa: E402

model, weights, tokenizer = sys.argv[1:4]
ENDPOINTS = ["/v1/completions", "/v1/chat/completions", "/v1/embeddings"]

inputs = []
for directory in sys.argv[4:]:
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            inputs.append((name, f.read()))
inputs.append(("deep_nesting", b"0" + b"[" * 200000 + b"]" * 200000))
inputs.append(("deep_objects", b"1" + b'{"a":' * 100000 + b"1" + b"}" * 100000))
inputs.append(("long_ids", b"0" + json.dumps({"model": "fake", "prompt": [3] * 100000}).encode()))
inputs.append(("huge_body", b"2" + json.dumps({"model": "fake", "input": "a" * (2 << 20)}).encode()))

failed = 0
with Server([model, "--weights", weights, "--tokenizer", tokenizer, "--chat-template", "chatml",
             "--ctx", "64"]) as server:
    for name, data in inputs:
        if not data:
            continue
        status, answer = server.post(ENDPOINTS[data[0] % 3], data[1:])
        good = (status == 200 and (isinstance(answer, dict) or answer.startswith("data: ")) or
                status != 200 and isinstance(answer, dict) and
                set(answer.get("error", {})) == {"message", "type", "param", "code"})
        print("%s %s %d" % ("ok" if good else "FAIL", name, status))
        failed += not good
    status, health = server.request("GET", "/health")
    print("health %d %s" % (status, health.get("status")))
print("replayed %d files, %d failed" % (len(inputs), failed))
