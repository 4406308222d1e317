"""Generation through tfc-serve equals tfc-run on stories260K.

usage: generation.py MODEL.so WEIGHTS TOKENIZER

Greedy and seeded-sampling completions are compared with tfc-run's text
(tfc-run echoes the prompt, as the server does with echo: true); streaming
with non-streaming; chat with the completion of the rendered Llama 2 prompt;
more concurrent requests than --parallel with each one's answer alone; stop
sequences, n and usage counts. (EOS is checked on the fake model, in
errors.py.)
"""
import sys
import threading

from harness import Server, check, run, stream_text

model, weights, tokenizer = sys.argv[1:4]
MODEL = "stories260k"


def tfc_run(prompt, n, *extra):
    out = run("tfc-run", model, "--weights", weights, "--tokenizer", tokenizer,
              "--prompt", prompt, "-n", str(n), *extra)
    return out[:-1]  # the final newline


def prompt_ids(prompt):
    return [int(i) for i in run("tfc-run", "--tokenizer", tokenizer, "--encode", prompt).split()]


with Server([model, "--weights", weights, "--tokenizer", tokenizer, "--parallel", "2",
             "--chat-template", "llama2"]) as server:

    def complete(prompt, max_tokens, **fields):
        body = {"model": MODEL, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
        body.update(fields)
        status, answer = server.post("/v1/completions", body)
        check(status == 200, "completion answered %d: %s" % (status, answer))
        return answer

    # Greedy completions equal tfc-run's, echo included; usage counts tokens.
    cases = [("Once upon a time", 30), ("The little dog", 20), ("Lily wanted", 40), ("Tom", 1)]
    alone = {}
    for prompt, n in cases:
        expected = tfc_run(prompt, n)
        echoed = complete(prompt, n, echo=True)
        check(echoed["choices"][0]["text"] == expected,
              "echo %r: %r != tfc-run %r" % (prompt, echoed["choices"][0]["text"], expected))
        answer = complete(prompt, n)
        text = answer["choices"][0]["text"]
        check(expected.endswith(text) and len(text) > 0, "completion of %r: %r" % (prompt, text))
        usage = answer["usage"]
        check(usage["prompt_tokens"] == len(prompt_ids(prompt)), "prompt_tokens %r" % usage)
        check(usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"],
              "total_tokens %r" % usage)
        check(answer["choices"][0]["finish_reason"] == "length" and usage["completion_tokens"] == n,
              "finish %r %r" % (answer["choices"][0], usage))
        alone[prompt] = (n, text)
    print("ok greedy equals tfc-run")

    # A prompt of token ids is the same prompt.
    ids = prompt_ids("Once upon a time")
    check(complete(ids, 30)["choices"][0]["text"] == alone["Once upon a time"][1], "ids prompt")
    # Several prompts in one request: one choice each, in order.
    many = complete(["The little dog", "Tom"], 20)
    check([c["index"] for c in many["choices"]] == [0, 1], "indices %r" % many)
    check(many["choices"][0]["text"] == alone["The little dog"][1], "first of two prompts")
    check(many["choices"][1]["text"] == complete("Tom", 20)["choices"][0]["text"], "second of two")
    print("ok token-id and multiple prompts")

    # Streaming equals non-streaming, with usage last when asked for.
    for prompt, (n, text) in alone.items():
        events, done = server.stream("/v1/completions", {
            "model": MODEL, "prompt": prompt, "max_tokens": n, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}})
        streamed, finish = stream_text(events)
        check(done and streamed == text and finish == "length", "stream %r: %r" % (prompt, streamed))
        check(events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] == n,
              "usage chunk %r" % events[-1])
        check(all(e["object"] == "text_completion" for e in events), "stream objects")
    print("ok streaming equals non-streaming")

    # Chat: the Llama 2 prompt of one user message, completed as plain text.
    messages = [{"role": "user", "content": "Lily"}]
    status, chat = server.post("/v1/chat/completions", {
        "model": MODEL, "messages": messages, "max_tokens": 25, "temperature": 0})
    check(status == 200, "chat %d %r" % (status, chat))
    content = chat["choices"][0]["message"]["content"]
    check(chat["choices"][0]["message"]["role"] == "assistant", "chat role")
    check(chat["object"] == "chat.completion", "chat object")
    rendered = complete("[INST] Lily [/INST]", 25)["choices"][0]["text"]
    check(content == rendered, "chat %r != completion of the rendered prompt %r" % (content, rendered))
    check(tfc_run("[INST] Lily [/INST]", 25).endswith(content), "chat vs tfc-run")
    events, done = server.stream("/v1/chat/completions", {
        "model": MODEL, "messages": messages, "max_tokens": 25, "temperature": 0, "stream": True})
    streamed, finish = stream_text(events, chat=True)
    check(done and streamed == content and finish == chat["choices"][0]["finish_reason"],
          "chat stream %r" % streamed)
    check(events[0]["choices"][0]["delta"]["role"] == "assistant", "chat stream role first")
    check(all(e["object"] == "chat.completion.chunk" for e in events), "chat chunk objects")
    print("ok chat")

    # More concurrent requests than --parallel 2, streaming and not: each
    # answer equals the one it got alone.
    results, failures = {}, []

    def client(i, prompt, n, streaming):
        try:
            if streaming:
                events, _ = server.stream("/v1/completions", {
                    "model": MODEL, "prompt": prompt, "max_tokens": n, "temperature": 0,
                    "stream": True})
                results[i] = stream_text(events)[0]
            else:
                results[i] = complete(prompt, n)["choices"][0]["text"]
        except BaseException as e:  # reported below
            failures.append(repr(e))

    jobs = [(i, p, n, i % 2 == 0) for i, (p, (n, _)) in enumerate(list(alone.items()) * 3)]
    threads = [threading.Thread(target=client, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not failures and len(results) == len(jobs), "concurrent: %r" % failures)
    for i, prompt, n, _ in jobs:
        check(results[i] == alone[prompt][1], "concurrent %d %r: %r" % (i, prompt, results[i]))
    print("ok %d concurrent requests on 2 sessions" % len(jobs))

    # Stop sequences end the text before the earliest match.
    text = alone["Once upon a time"][1]  # ", there was a little girl named Lily. She ..."
    for stop in (["Lily"], ["park", "girl"], "little"):
        first = min(text.find(s) for s in ([stop] if isinstance(stop, str) else stop) if s in text)
        answer = complete("Once upon a time", 30, stop=stop)["choices"][0]
        check(answer["text"] == text[:first] and answer["finish_reason"] == "stop",
              "stop %r: %r" % (stop, answer))
        events, _ = server.stream("/v1/completions", {
            "model": MODEL, "prompt": "Once upon a time", "max_tokens": 30, "temperature": 0,
            "stop": stop, "stream": True})
        check(stream_text(events) == (text[:first], "stop"), "streamed stop %r" % (stop,))
    print("ok stop sequences")

    # Seeded sampling: tfc-run's sampler with the same seed gives the same
    # text; n choices use seeds seed, seed+1, ...
    sampling = {"temperature": 0.9, "top_k": 40, "top_p": 0.9}
    sampled = complete("Once upon a time", 40, seed=5, **sampling)["choices"][0]["text"]
    expected = tfc_run("Once upon a time", 40, "--temperature", "0.9", "--top-k", "40",
                       "--top-p", "0.9", "--seed", "5")
    check(expected.endswith(sampled) and sampled, "sampled %r vs tfc-run %r" % (sampled, expected))
    three = complete("Once upon a time", 40, seed=5, n=3, **sampling)["choices"]
    check([c["index"] for c in three] == [0, 1, 2], "n=3 indices")
    for i, c in enumerate(three):
        alone_i = complete("Once upon a time", 40, seed=5 + i, **sampling)["choices"][0]["text"]
        check(c["text"] == alone_i, "choice %d of n=3 differs from seed %d alone" % (i, 5 + i))
    check(len({c["text"] for c in three}) > 1, "n=3 choices all equal")
    print("ok seeded sampling and n")

    check(server.stop() == 0, "exit status after SIGTERM")
    print("ok stopped")
