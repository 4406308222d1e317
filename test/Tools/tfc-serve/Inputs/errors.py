"""Every error path of tfc-serve answers OpenAI's error JSON with the right status.

usage: errors.py FAKE_DECODER.so WEIGHTS EOS_WEIGHTS NAN_WEIGHTS TOKENIZER

The runtime's fake model (vocab 16, max_seq 128) serves with --ctx 32,
--parallel 1, --max-waiting 0 and --max-body 4096, so each limit is cheap to
reach. Each case prints `ok <name>`; a wrong answer prints FAIL and stops.
"""
import json
import sys

from harness import Server, check

model, weights, eos_weights, nan_weights, tokenizer = sys.argv[1:6]
common = ["--tokenizer", tokenizer, "--ctx", "32", "--parallel", "1", "--max-waiting", "0",
          "--max-body", "4096"]


def expect_error(answer, status, expected_status, param=None, code=None, words=""):
    check(status == expected_status, "status %d, expected %d: %r" % (status, expected_status, answer))
    check(isinstance(answer, dict) and set(answer) == {"error"}, "not an error body: %r" % answer)
    error = answer["error"]
    check(set(error) == {"message", "type", "param", "code"}, "error fields %r" % error)
    check(isinstance(error["message"], str) and error["message"], "empty message")
    check(error["param"] == param, "param %r, expected %r" % (error["param"], param))
    check(error["code"] == code, "code %r, expected %r" % (error["code"], code))
    check(words in error["message"], "message %r lacks %r" % (error["message"], words))
    return error


with Server([model, "--weights", weights, *common]) as server:
    def completion(fields, status, param=None, code=None, words=""):
        body = {"model": "fake", "prompt": "ab"}
        body.update(fields)
        s, answer = server.post("/v1/completions", body)
        return expect_error(answer, s, status, param, code, words)

    s, answer = server.post("/v1/completions", "{\"model\": ")
    expect_error(answer, s, 400, words="not valid JSON")
    s, answer = server.post("/v1/completions", "[1, 2]")
    expect_error(answer, s, 400, words="JSON object")
    s, answer = server.post("/v1/completions", b"\xff\xfe{}")
    expect_error(answer, s, 400, words="not valid JSON")
    print("ok malformed bodies")

    wrong_types = [
        ("max_tokens", "5"), ("max_tokens", 1.5), ("max_tokens", 0), ("max_tokens", 33),
        ("temperature", "hot"), ("temperature", 2.5), ("temperature", -1), ("top_p", 1.5),
        ("top_k", -1), ("n", 0), ("n", 17), ("n", True), ("seed", "x"), ("stream", "yes"),
        ("echo", 1), ("stop", 5), ("stop", [1]), ("stop", ["a", "b", "c", "d", "e"]), ("stop", ""),
        ("max_completion_tokens", -3), ("max_tokens", 18446744073709551616),
    ]
    for field, value in wrong_types:
        completion({field: value}, 400, param=field)
    completion({"stream_options": 1}, 400, param="stream_options")
    completion({"stream_options": {"include_usage": "y"}}, 400, param="stream_options.include_usage")
    print("ok wrong field types and ranges")

    s, answer = server.post("/v1/completions", {"prompt": "ab"})
    expect_error(answer, s, 400, param="model")
    s, answer = server.post("/v1/completions", {"model": 7, "prompt": "ab"})
    expect_error(answer, s, 400, param="model")
    completion({"model": "gpt-4"}, 404, param="model", code="model_not_found", words="gpt-4")
    s, answer = server.post("/v1/completions", {"model": "fake"})
    expect_error(answer, s, 400, param="prompt")
    for prompt in (5, [], [1, "a"], [[]], [[1], 2], {"a": 1}, [None]):
        completion({"prompt": prompt}, 400, param="prompt")
    print("ok model and prompt")

    completion({"prompt": [3, 16]}, 400, param="prompt", words="out of range")
    completion({"prompt": [[3], [-1]]}, 400, param="prompt", words="out of range")
    completion({"prompt": [3] * 30, "max_tokens": 5}, 400, param="messages",
               code="context_length_exceeded", words="maximum context length is 32")
    completion({"prompt": [3] * 33}, 400, param="messages", code="context_length_exceeded")
    print("ok bad tokens and context overflow")

    s, answer = server.post("/v1/completions", {"model": "fake", "prompt": "a" * 5000})
    expect_error(answer, s, 413, words="4096 bytes")
    s, answer = server.request("GET", "/v1/nothing")
    expect_error(answer, s, 404, words="/v1/nothing")
    s, answer = server.request("GET", "/v1/completions")
    expect_error(answer, s, 404)
    print("ok body size and unknown endpoints")

    # n = 2 sequences on one session with no waiting room: 503, not a hang.
    completion({"n": 2}, 503, words="busy")
    s, answer = server.post("/v1/completions", {"model": "fake", "prompt": "ab", "max_tokens": 2})
    check(s == 200, "one sequence still fits: %r" % answer)
    print("ok full server")

    def chat(fields, status, param=None, code=None, words=""):
        body = {"model": "fake", "messages": [{"role": "user", "content": "ab"}]}
        body.update(fields)
        s, answer = server.post("/v1/chat/completions", body)
        return expect_error(answer, s, status, param, code, words)

    chat({}, 400, words="--chat-template")
    chat({"messages": []}, 400, param="messages")
    chat({"messages": "hi"}, 400, param="messages")
    chat({"messages": [{"role": "robot", "content": "x"}]}, 400, param="messages[0].role")
    chat({"messages": [{"role": "user", "content": 5}]}, 400, param="messages[0].content")
    chat({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400,
         param="messages[0].content")
    chat({"messages": [{"role": "user"}, 7]}, 400, param="messages[1]")
    s, answer = server.post("/v1/embeddings", {"model": "fake", "input": "ab"})
    expect_error(answer, s, 400, words="not an encoder")
    s, answer = server.post("/v1/embeddings", {"model": "fake", "input": "ab",
                                              "encoding_format": "hex"})
    expect_error(answer, s, 400, param="encoding_format")
    print("ok chat and embedding requests")

    s, health = server.request("GET", "/health")
    check(s == 200 and health["status"] == "ok" and health["running"] == 0, "health %r" % health)
    check(server.stop() == 0, "exit status")
    print("ok server up after every error")

# EOS first: an empty completion that stops; NaN logits: a server error.
with Server([model, "--weights", eos_weights, *common]) as server:
    s, answer = server.post("/v1/completions", {"model": "fake", "prompt": "ab", "max_tokens": 5})
    choice = answer["choices"][0]
    check(s == 200 and choice["text"] == "" and choice["finish_reason"] == "stop" and
          answer["usage"]["completion_tokens"] == 0, "EOS first: %r" % answer)
    print("ok EOS ends with finish_reason stop")
with Server([model, "--weights", nan_weights, *common]) as server:
    s, answer = server.post("/v1/completions", {"model": "fake", "prompt": "ab"})
    expect_error(answer, s, 500, words="no valid logit")
    s, answer = server.post("/v1/completions", {"model": "fake", "prompt": "ab", "stream": True})
    check(s == 200 and "no valid logit" in answer and "data: [DONE]" in answer,
          "streamed error %r" % answer)
    print("ok model failure is a server error")

# --api-key: every request without the bearer key is refused.
with Server([model, "--weights", weights, *common, "--api-key", "sesame"]) as server:
    body = {"model": "fake", "prompt": "ab", "max_tokens": 1}
    s, answer = server.post("/v1/completions", body)
    expect_error(answer, s, 401, code="invalid_api_key", words="Bearer")
    s, answer = server.post("/v1/completions", body, {"Authorization": "Bearer open"})
    expect_error(answer, s, 401, code="invalid_api_key", words="incorrect")
    s, answer = server.request("GET", "/health")
    expect_error(answer, s, 401, code="invalid_api_key")
    s, answer = server.request("GET", "/v1/models", headers={"Authorization": "Bearer sesame"})
    check(s == 200 and answer["data"][0]["id"] == "fake", "models with key %r" % answer)
    s, answer = server.post("/v1/completions", body, {"Authorization": "Bearer sesame"})
    check(s == 200, "completion with key %r" % answer)
    print("ok api key")
