"""A load test on loopback: 64 concurrent clients, a few hundred requests.

usage: load.py MODEL.so WEIGHTS TOKENIZER

On stories260K (real weights): each round sends 64 clients x 6 requests, of
mixed prompt and completion lengths, streaming and not, with some clients
disconnecting mid-stream and some sending malformed bodies. Every completed
answer must equal the greedy continuation computed apart from the server: the
tfc Python package's Model.generate (one tfc_decode call per token on a
session of its own, no batching, no scheduler), its ids turned into text by
tfc-tokenize; at a step whose two best logits tie to 1e-5 (see TIE), the
runner-up's continuation is correct too. Each round must leave the server idle (nothing running or
waiting).

Memory: the baseline is the server's resident memory after start-up and a
warm-up of one request of each kind, one after the other (the model, its
weights, the tokenizer and the code of every path resident; the warm-up uses
only the first HTTP threads). After each round, once the server has been idle
for a while (a second without work makes the scheduler give the freed heap
back to the system, glibc's malloc_trim; a released session has given its KV
cache and activation pages back already), the resident memory must be within
RSS_ALLOWANCE_KIB of the baseline. What stays is what the 64 HTTP threads keep
once each has served requests, measured at 1.5-2 MiB: about 0.5 MiB of their
stacks' touched pages, and 1-1.5 MiB of malloc's per-thread arenas, mostly its
per-thread caches of freed chunks (tcache, up to 7 chunks per size class),
which malloc_trim does not return (with GLIBC_TUNABLES=glibc.malloc.tcache_count=0
the arenas keep 0.8 MiB and the total stays flat from round 2 to 6). Nothing
may grow per request: the second round must end within ROUND_GROWTH_KIB of the
first (measured: 0.1-0.4 MiB of tcache variation). Before released sessions
gave their pages back and the idle scheduler trimmed the heap, the same load
left 3.8-4.1 MiB.
"""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

import numpy as np
from harness import TIMEOUT, Server, check, stream_text, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "python"))
import tfc  # noqa: E402

model_so, weights, tokenizer = sys.argv[1:4]
MODEL = "stories260k"
CLIENTS, PER_CLIENT = 64, 6
STOP_IDS = (1, 2)  # BOS and EOS end a completion, in tfc-serve as in tfc-run
RSS_ALLOWANCE_KIB = 3072
ROUND_GROWTH_KIB = 1024

rng = random.Random(7)
requests = []
for i in range(CLIENTS * PER_CLIENT):
    kind = rng.choice(["plain", "plain", "stream", "stream", "cancel", "malformed"])
    prompt = [1] + [rng.randrange(3, 512) for _ in range(rng.randrange(0, 48))]
    requests.append((kind, prompt, rng.randrange(1, 96 - len(prompt))))
MALFORMED = [b"{", b"[]", b'{"model": "stories260k", "prompt": 5}',
             b'{"model": "stories260k", "prompt": [600]}',
             b'{"model": "stories260k", "prompt": "ab", "n": "x"}', b"\x00\xff" * 10,
             b'{"model": "stories260k", "prompt": "ab", "max_tokens": 100000}']

# The expected text of every completed request, apart from the server.
lib = tfc.Library(model_so)
model = lib.load(weights)
cases = sorted({(tuple(p), n) for kind, p, n in requests if kind in ("plain", "stream")})

# A step whose two best logits are within TIE (relative) of each other is a
# tie for greedy decoding: the server's batched calls run the linear layers
# over all of the call's tokens (the int8/f32 GEMM from 32 tokens on, the
# small-batch kernel below), whose sums are ordered differently from one
# session's own call, so the last bits of the logits depend on which requests
# share a step. At such a step either token is a correct greedy answer (one
# prompt here has a step whose two best logits differ by 1.3e-7 of their size).
TIE = 1e-5


def greedy_continuations(prompt, n):
    """The greedy continuation of `prompt` (as Model.generate, the first of
    equal logits), and for each of its first two ties the continuation that
    takes the runner-up there."""
    def greedy(forced):
        session = model.session(min(model.info["max_seq"], len(prompt) + n))
        logits, out, ties = session.decode(list(prompt)), [], []
        for step in range(n):
            best, second = np.argsort(-logits, kind="stable")[:2]
            if step not in forced and logits[best] - logits[second] <= TIE * abs(logits[best]):
                ties.append((step, int(second)))
            token = forced.get(step, int(best))
            if token in STOP_IDS:
                break
            out.append(token)
            if len(out) == n or session.pos >= session.max_tokens:
                break
            logits = session.decode([token])
        return out, ties

    main, ties = greedy({})
    return [main] + [greedy({step: token})[0] for step, token in ties[:2]]


ids = {case: greedy_continuations(*case) for case in cases}
check(all(ids[c][0] == model.generate(list(c[0]), c[1], stop=STOP_IDS) for c in cases),
      "the reference's greedy continuation is Model.generate's")
flat = [(c, alt) for c in cases for alt in ids[c]]
decoded = subprocess.run([tfc._tool("tfc-tokenize"), tokenizer, "--batch"],
                         input=json.dumps([{"decode": alt} for _, alt in flat]),
                         capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout
expected = {case: set() for case in cases}
for (case, _), answer in zip(flat, json.loads(decoded)):
    expected[case].add(answer["text"])
print("ok reference: %d greedy completions by the tfc package (%d with a tie)"
      % (len(cases), sum(len(ids[c]) > 1 for c in cases)))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def body(prompt, n, stream=False):
    return {"model": MODEL, "prompt": prompt, "max_tokens": n, "temperature": 0, "stream": stream}


with Server([model_so, "--weights", weights, "--tokenizer", tokenizer, "--parallel", "8"]) as server:

    def send(kind, prompt, n):
        """Whether one request of `kind` got its correct answer."""
        if kind == "plain":
            status, answer = server.post("/v1/completions", body(prompt, n))
            return status == 200 and answer["choices"][0]["text"] in expected[tuple(prompt), n]
        if kind == "stream":
            events, done = server.stream("/v1/completions", body(prompt, n, True))
            return done and stream_text(events)[0] in expected[tuple(prompt), n]
        if kind == "cancel":
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            data = json.dumps(body(prompt, n, True)).encode()
            sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(data) + data)
            sock.recv(64)
            sock.close()
            return True
        status, answer = server.post("/v1/completions", MALFORMED[n % len(MALFORMED)])
        return status == 400 and "error" in answer

    def settled_rss():
        """Resident memory once the server is idle and has given back what it freed."""
        # A cancelled request can still be waiting for its first step when
        # the last client is done: idle is nothing running and nothing waiting.
        wait_until(lambda: (lambda h: h["running"] == 0 and h["waiting"] == 0)(
            server.request("GET", "/health")[1]), "an idle server")
        time.sleep(2.5)  # more than the scheduler's second before it trims the heap
        return rss_kib(server.proc.pid)

    def one_round():
        failures = []

        def client(c):
            for kind, prompt, n in requests[c * PER_CLIENT:(c + 1) * PER_CLIENT]:
                try:
                    ok = send(kind, prompt, n)
                except Exception as e:  # reported below
                    ok, kind = False, "%s: %r" % (kind, e)
                if not ok:
                    failures.append((c, kind, prompt, n))

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 4)
        check(not any(t.is_alive() for t in threads), "a client hung")
        check(not failures, "%d failed, first: %r" % (len(failures), failures[:3]))
        return settled_rss()

    # Start-up warm-up: one request of each kind, one after the other.
    for kind in ("plain", "stream", "cancel", "malformed"):
        first = next(r for r in requests if r[0] == kind)
        check(send(*first), "warm-up %s" % kind)
    baseline = settled_rss()

    first = one_round()
    print("ok round 1: %d requests from %d clients, every completed answer correct"
          % (len(requests), CLIENTS))
    second = one_round()
    print("ok round 2")
    sys.stderr.write("resident KiB: after warm-up %d, round 1 %d, round 2 %d\n"
                     % (baseline, first, second))
    check(second - first < ROUND_GROWTH_KIB,
          "resident memory grew from %d to %d KiB between rounds" % (first, second))
    check(max(first, second) - baseline < RSS_ALLOWANCE_KIB,
          "resident memory %d KiB after load, %d after warm-up" % (max(first, second), baseline))
    print("ok memory back where it started")
    check(server.stop() == 0, "exit status")
