"""tfc-serve without --tokenizer takes the one the weights bring, as tfc-run does.

usage: weights_tokenizer.py MODEL.so WEIGHTS

WEIGHTS is a Hugging Face model directory (its tokenizer file) or a .gguf file
(its tokenizer.ggml.* vocabulary). Greedy completions through the server equal
tfc-run's continuation of the same prompt with the same weights and no
--tokenizer either.
"""
import sys

from harness import Server, check, run

model, weights = sys.argv[1:3]

with Server([model, "--weights", weights, "--parallel", "2"]) as server:
    status, models = server.request("GET", "/v1/models")
    check(status == 200, "/v1/models answered %d" % status)
    name = models["data"][0]["id"]
    for prompt, n in [("Once upon a time", 24), ("The little dog", 12)]:
        expected = run("tfc-run", model, "--weights", weights, "--prompt", prompt,
                       "-n", str(n))[:-1]
        status, answer = server.post("/v1/completions", {"model": name, "prompt": prompt,
                                                         "max_tokens": n, "temperature": 0})
        check(status == 200, "completion answered %d: %s" % (status, answer))
        text = answer["choices"][0]["text"]
        check(len(text) > 0 and expected.endswith(text),
              "completion of %r: %r is not the end of tfc-run's %r" % (prompt, text, expected))
    check(server.stop() == 0, "exit status after SIGTERM")
print("ok", "gguf" if weights.endswith(".gguf") else "directory")
