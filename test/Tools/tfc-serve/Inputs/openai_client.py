"""Runs openai/client.js (the official npm client) against tfc-serve.

usage: openai_client.py NODE_MODULES STORIES.so WEIGHTS TOKENIZER ENCODER.so ENCODER_TOKENIZER

Expected answers come from tfc-run (stories260K, greedy) and from the
server's own float embeddings, which embeddings.test checks against numpy.
"""
import json
import os
import subprocess
import sys
import tempfile

from harness import TIMEOUT, Server, check, run

modules, model, weights, tokenizer, encoder, encoder_tokenizer = sys.argv[1:7]
client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openai", "client.js")


def tfc_run(prompt, n):
    out = run("tfc-run", model, "--weights", weights, "--tokenizer", tokenizer, "--prompt", prompt,
              "-n", str(n))[:-1]
    echo = run("tfc-run", model, "--weights", weights, "--tokenizer", tokenizer, "--prompt",
               prompt, "-n", "0")[:-1]
    check(out.startswith(echo), "tfc-run echo")
    return out[len(echo):]


def run_client(spec):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    done = subprocess.run(["node", client, f.name], env=dict(os.environ, NODE_PATH=modules),
                          capture_output=True, text=True, timeout=TIMEOUT * 2)
    os.unlink(f.name)
    sys.stdout.write(done.stdout)
    check(done.returncode == 0, "client.js failed: " + done.stderr[-500:])


with Server([model, "--weights", weights, "--tokenizer", tokenizer, "--chat-template", "llama2",
             "--api-key", "test-key"]) as server:
    run_client({
        "baseURL": "http://127.0.0.1:%d/v1" % server.port, "apiKey": "test-key",
        "model": "stories260k",
        "completions": [{"prompt": p, "max_tokens": n, "expected": tfc_run(p, n)}
                        for p, n in (("Once upon a time", 24), ("The little dog", 12))],
        "chat": {"messages": [{"role": "user", "content": "Lily"}], "max_tokens": 20,
                 "expected": tfc_run("[INST] Lily [/INST]", 20)},
    })

with Server([encoder, "--random-weights", "1", "--tokenizer", encoder_tokenizer]) as server:
    inputs = ["ab cd", "abcd e"]
    status, floats = server.post("/v1/embeddings", {"model": "fake", "input": inputs,
                                                    "encoding_format": "float"})
    check(status == 200, "float embeddings %r" % floats)
    run_client({"baseURL": "http://127.0.0.1:%d/v1" % server.port, "model": "fake",
                "embeddings": {"input": inputs,
                               "expected": [d["embedding"] for d in floats["data"]]}})
