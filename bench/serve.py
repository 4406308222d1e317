#!/usr/bin/env python3
"""bench/serve.py: aggregate decode throughput of tfc-serve under concurrent clients.

usage: bench/serve.py [MODEL.so --weights W --tokenizer T] [--clients 1,2,4,8]
                      [--tokens 64] [--requests 4] [--parallel N] [--threads 2]

Starts tfc-serve on a free loopback port (--parallel: the largest client
count unless given), then for each client count C runs C concurrent clients,
each sending --requests greedy streaming completions of --tokens tokens (the
prompts differ per client), and prints per C: aggregate completion tokens/s
(all clients' tokens over the wall time of the round), the mean time to the
first streamed text, and the speed-up over one client. Without a model it
compiles examples/stories260k.tdsl with build/bin/tfc and serves
../shared/models/stories260K. A benchmark, not a test: no thresholds.
Standard library only.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("TFC_BUILD_DIR", os.path.join(ROOT, "build")), "bin")
PROMPTS = ["Once upon a time", "The little dog", "Lily wanted", "Tom and Sam", "One day",
           "The sun was", "A big cat", "There was a"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?")
    p.add_argument("--weights")
    p.add_argument("--tokenizer")
    p.add_argument("--clients", default="1,2,4,8")
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--requests", type=int, default=4)
    p.add_argument("--parallel", type=int)
    p.add_argument("--threads", default="2", help="TFC_NUM_THREADS of the server")
    return p.parse_args()


def start_server(args, parallel):
    env = dict(os.environ, TFC_NUM_THREADS=args.threads, OMP_NUM_THREADS=args.threads)
    proc = subprocess.Popen([os.path.join(BIN, "tfc-serve"), args.model, "--weights", args.weights,
                             "--tokenizer", args.tokenizer, "--port", "0", "--parallel",
                             str(parallel)], stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()
    m = re.search(r"listening on http://[^:]+:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit("tfc-serve did not start: " + line + proc.stderr.read())
    return proc, int(m.group(1))


def stream_completion(port, prompt, tokens):
    """(completion tokens, seconds to the first text)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/v1/completions", json.dumps({
        "model": MODEL, "prompt": prompt, "max_tokens": tokens, "temperature": 0, "stream": True,
        "stream_options": {"include_usage": True}}))
    resp = conn.getresponse()
    first, used = None, 0
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        if first is None and event["choices"] and event["choices"][0]["text"]:
            first = time.monotonic() - start
        if event.get("usage"):
            used = event["usage"]["completion_tokens"]
    conn.close()
    return used, first if first is not None else time.monotonic() - start


def round_of(port, clients, args):
    results = []
    lock = threading.Lock()

    def client(c):
        for r in range(args.requests):
            got = stream_completion(port, PROMPTS[(c + r) % len(PROMPTS)], args.tokens)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    tokens = sum(r[0] for r in results)
    return tokens / wall, sum(r[1] for r in results) / len(results)


def main():
    global MODEL
    args = parse_args()
    if not args.model:
        models = os.path.join(ROOT, "..", "shared", "models", "stories260K")
        tmp = tempfile.mkdtemp()
        args.model = os.path.join(tmp, "stories260k.so")
        subprocess.run([os.path.join(BIN, "tfc"), os.path.join(ROOT, "examples", "stories260k.tdsl"),
                        "-o", args.model], check=True)
        args.weights = os.path.join(models, "model.safetensors")
        args.tokenizer = os.path.join(models, "tok512.bin")
    if not (args.weights and args.tokenizer):
        sys.exit("bench/serve.py: give --weights and --tokenizer with a model")
    counts = [int(c) for c in args.clients.split(",")]
    proc, port = start_server(args, args.parallel or max(counts))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/v1/models")
    MODEL = json.loads(conn.getresponse().read())["data"][0]["id"]
    try:
        stream_completion(port, PROMPTS[0], 4)  # warm-up
        print("| clients | aggregate tok/s | speed-up | mean time to first token |")
        print("|---|---|---|---|")
        base = None
        for c in counts:
            rate, ttft = round_of(port, c, args)
            base = base or rate
            print("| %d | %.1f | %.2fx | %.0f ms |" % (c, rate, rate / base, ttft * 1000))
            sys.stdout.flush()
    finally:
        proc.terminate()
        proc.wait(60)


MODEL = ""
if __name__ == "__main__":
    main()
