"""A load test on loopback: 64 concurrent clients, a few hundred requests.

usage: load.py FAKE_DECODER.so WEIGHTS TOKENIZER

On the runtime's fake model (fast, so the test is about the server): each
round sends 64 clients x 6 requests, of mixed prompt and completion lengths,
streaming and not, with some clients disconnecting mid-stream and some
sending malformed bodies. Every completed answer must equal the answer the
same request got alone, the server must end each round idle (nothing running
or waiting), and its resident memory after the second round must be where
the first left it (no growth per request).
"""
import json
import random
import socket
import sys
import threading

from harness import TIMEOUT, Server, check, stream_text, wait_until

model, weights, tokenizer = sys.argv[1:4]
CLIENTS, PER_CLIENT = 64, 6

rng = random.Random(7)
requests = []
for i in range(CLIENTS * PER_CLIENT):
    kind = rng.choice(["plain", "plain", "stream", "stream", "cancel", "malformed"])
    prompt = [rng.randrange(3, 16) for _ in range(rng.randrange(1, 60))]
    requests.append((kind, prompt, rng.randrange(1, 128 - len(prompt))))
MALFORMED = [b"{", b"[]", b'{"model": "fake", "prompt": 5}', b'{"model": "fake", "prompt": [99]}',
             b'{"model": "fake", "prompt": "ab", "n": "x"}', b"\x00\xff" * 10]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


with Server([model, "--weights", weights, "--tokenizer", tokenizer, "--parallel", "4"]) as server:
    def body(prompt, n, stream=False):
        return {"model": "fake", "prompt": prompt, "max_tokens": n, "temperature": 0,
                "stream": stream}

    alone = {}
    for kind, prompt, n in requests:
        if kind in ("plain", "stream") and (tuple(prompt), n) not in alone:
            status, answer = server.post("/v1/completions", body(prompt, n))
            check(status == 200, "alone: %r" % answer)
            alone[tuple(prompt), n] = answer["choices"][0]["text"]

    def one_round():
        failures = []

        def client(c):
            for kind, prompt, n in requests[c * PER_CLIENT:(c + 1) * PER_CLIENT]:
                try:
                    if kind == "plain":
                        status, answer = server.post("/v1/completions", body(prompt, n))
                        ok = status == 200 and answer["choices"][0]["text"] == alone[tuple(prompt), n]
                    elif kind == "stream":
                        events, done = server.stream("/v1/completions", body(prompt, n, True))
                        ok = done and stream_text(events)[0] == alone[tuple(prompt), n]
                    elif kind == "cancel":
                        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
                        data = json.dumps(body(prompt, n, True)).encode()
                        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: %d\r\n\r\n" % len(data) + data)
                        sock.recv(64)
                        sock.close()
                        ok = True
                    else:
                        status, answer = server.post("/v1/completions", MALFORMED[n % len(MALFORMED)])
                        ok = status == 400 and "error" in answer
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
        wait_until(lambda: server.request("GET", "/health")[1]["running"] == 0, "an idle server")
        health = server.request("GET", "/health")[1]
        check(health["waiting"] == 0, "health %r" % health)
        return rss_kib(server.proc.pid)

    first = one_round()
    print("ok round 1: %d requests from %d clients" % (len(requests), CLIENTS))
    second = one_round()
    print("ok round 2")
    check(second - first < 4096, "resident memory grew from %d to %d KiB" % (first, second))
    print("ok memory back where it was")
    check(server.stop() == 0, "exit status")
