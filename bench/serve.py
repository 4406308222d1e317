#!/usr/bin/env python3
"""bench/serve.py: aggregate decode throughput of tfc-serve under concurrent clients.

usage: bench/serve.py [MODEL.so (--weights W | --random-weights SEED) --tokenizer T]
                      [--clients 1,2,4,8,16] [--tokens 32] [--requests 2] [--parallel N]
                      [--threads 2] [--probes 3] [--probe-prompt 16] [--label TEXT]
                      [--weight-bytes B --bandwidth GBS] [--no-header]

Starts tfc-serve on a free loopback port (--parallel: the largest client count
unless given) and, for each client count C, measures two things:

  throughput  C concurrent clients, each sending --requests greedy streaming
              completions of --tokens tokens back to back (the prompts differ
              per client): all clients' completion tokens (the usage the server
              reports) over the wall time of the round.
  ttft        the time to the first token of a new request while C-1 others
              decode: C-1 clients stream long greedy completions; once each has
              its first token, --probes requests with a --probe-prompt-token
              prompt and max_tokens 1 are sent one after the other, and the
              median time from sending one to its first streamed choice is
              reported (C = 1: an idle server). The background clients then
              disconnect, which frees their sessions.

Prints one table row per C: aggregate tokens/s, the speed-up over one client,
the ttft, and with --weight-bytes (bytes of the weights one decode step streams)
and --bandwidth (the machine's read bandwidth, GB/s) the fraction of the
bandwidth bound that C=1 reaches (one stream can at best read the weights once
per token). Without a model it compiles examples/stories260k.tdsl with
build/bin/tfc and serves ../shared/models/stories260K. bench/serve.sh runs it on
the issue's bench shapes. A benchmark, not a test: no thresholds. Standard
library only.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("TFC_BUILD_DIR", os.path.join(ROOT, "build")), "bin")
PROMPTS = ["Once upon a time", "The little dog", "Lily wanted", "Tom and Sam", "One day",
           "The sun was", "A big cat", "There was a", "The old man", "Sara found",
           "In the park", "A small bird", "Ben and Mia", "The red ball", "It was a", "Max liked"]
TIMEOUT = 900  # seconds for one HTTP exchange: a 16-client round of a large model is slow


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?")
    p.add_argument("--weights")
    p.add_argument("--random-weights", type=int, metavar="SEED")
    p.add_argument("--tokenizer")
    p.add_argument("--clients", default="1,2,4,8,16")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--requests", type=int, default=2)
    p.add_argument("--parallel", type=int)
    p.add_argument("--threads", default="2", help="TFC_NUM_THREADS of the server")
    p.add_argument("--probes", type=int, default=3)
    p.add_argument("--probe-prompt", type=int, default=16, help="prompt tokens of a ttft probe")
    p.add_argument("--label", default="", help="first column of every row")
    p.add_argument("--weight-bytes", type=float)
    p.add_argument("--bandwidth", type=float, help="GB/s")
    p.add_argument("--no-header", action="store_true")
    return p.parse_args()


class Server:
    def __init__(self, args, parallel):
        env = dict(os.environ, TFC_NUM_THREADS=args.threads, OMP_NUM_THREADS=args.threads)
        weights = (["--weights", args.weights] if args.weights
                   else ["--random-weights", str(args.random_weights)])
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "tfc-serve"), args.model, *weights, "--tokenizer", args.tokenizer,
             "--port", "0", "--parallel", str(parallel)],
            stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stderr.readline()
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if not m:
            self.proc.kill()
            sys.exit("tfc-serve did not start: " + line + self.proc.stderr.read())
        self.port = int(m.group(1))
        # Keep draining stderr so that the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        info = self.get("/v1/models")
        self.model = info["data"][0]["id"]
        self.context = None

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path)
        body = json.loads(conn.getresponse().read())
        conn.close()
        return body

    def stop(self):
        self.proc.terminate()
        self.proc.wait(120)


def stream_completion(server, prompt, tokens, stop_flag=None, on_first=None):
    """(completion tokens, seconds to the first streamed choice). With
    stop_flag, disconnects as soon as it is set (a cancelled client)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    conn.request("POST", "/v1/completions", json.dumps({
        "model": server.model, "prompt": prompt, "max_tokens": tokens, "temperature": 0,
        "stream": True, "stream_options": {"include_usage": True}}))
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit("tfc-serve answered %d: %s" % (resp.status, resp.read()[:300]))
    first, used = None, 0
    for raw in resp:
        if stop_flag is not None and stop_flag.is_set():
            break
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        if first is None and event["choices"]:
            first = time.monotonic() - start
            if on_first:
                on_first()
        if event.get("usage"):
            used = event["usage"]["completion_tokens"]
    conn.close()
    return used, first if first is not None else time.monotonic() - start


def throughput(server, clients, args):
    """Aggregate completion tokens/s of `clients` concurrent greedy clients."""
    used = []
    lock = threading.Lock()

    def client(c):
        for r in range(args.requests):
            got, _ = stream_completion(server, PROMPTS[(c + r) % len(PROMPTS)], args.tokens)
            with lock:
                used.append(got)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(used) / (time.monotonic() - start)


def time_to_first_token(server, others, args, probe_ids):
    """Median seconds to the first token of a probe while `others` clients decode."""
    stop = threading.Event()
    started = threading.Semaphore(0)
    long_tokens = max(1, min(1024, server.context - 16))

    def background(c):
        first = True
        while not stop.is_set():
            stream_completion(server, PROMPTS[c % len(PROMPTS)], long_tokens, stop,
                              started.release if first else None)
            first = False

    threads = [threading.Thread(target=background, args=(c,), daemon=True) for c in range(others)]
    for t in threads:
        t.start()
    for _ in range(others):
        started.acquire(timeout=TIMEOUT)
    probes = [stream_completion(server, probe_ids, 1)[1] for _ in range(args.probes)]
    stop.set()
    for t in threads:
        t.join(TIMEOUT)
    # The server drops a disconnected client at its next write: wait until idle.
    deadline = time.monotonic() + 120
    while server.get("/health")["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return statistics.median(probes)


def default_model(args):
    models = os.path.join(ROOT, "..", "shared", "models", "stories260K")
    tmp = tempfile.mkdtemp()
    args.model = os.path.join(tmp, "stories260k.so")
    subprocess.run([os.path.join(BIN, "tfc"), os.path.join(ROOT, "examples", "stories260k.tdsl"),
                    "-o", args.model], check=True)
    args.weights = os.path.join(models, "model.safetensors")
    args.tokenizer = os.path.join(models, "tok512.bin")
    args.label = args.label or "stories260K f32"


def main():
    args = parse_args()
    if not args.model:
        default_model(args)
    if not ((args.weights or args.random_weights is not None) and args.tokenizer):
        sys.exit("bench/serve.py: give --weights or --random-weights, and --tokenizer")
    counts = [int(c) for c in args.clients.split(",")]
    server = Server(args, args.parallel or max(counts))
    try:
        # The context of a session: the bound the 400 of a too large max_tokens names.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/v1/completions", json.dumps({
            "model": server.model, "prompt": [1], "max_tokens": 1 << 30}))
        message = json.loads(conn.getresponse().read())["error"]["message"]
        conn.close()
        found = re.search(r"\[1, (\d+)\]", message)
        server.context = int(found.group(1)) if found else 256
        # Probe prompt: token ids 100.. (in any vocabulary of the bench).
        probe_ids = list(range(100, 100 + args.probe_prompt))
        stream_completion(server, PROMPTS[0], 4)  # warm-up
        if not args.no_header:
            bound = " 1-client share of the bandwidth bound |" if args.weight_bytes else ""
            print("| model | clients | aggregate tok/s | × one client | ttft with C-1 decoding "
                  "(%d-token prompt) |%s" % (args.probe_prompt, bound))
            print("|---|---|---|---|---|%s" % ("---|" if args.weight_bytes else ""))
        base = None
        for c in counts:
            rate = throughput(server, c, args)
            ttft = time_to_first_token(server, c - 1, args, probe_ids)
            base = base or rate
            share = ""
            if args.weight_bytes and args.bandwidth and c == counts[0]:
                share = " %.0f %% |" % (100 * rate * args.weight_bytes / (args.bandwidth * 1e9))
            elif args.weight_bytes:
                share = " |"
            print("| %s | %d | %.1f | %.2f× | %.0f ms |%s" % (args.label, c, rate, rate / base,
                                                          ttft * 1000, share))
            sys.stdout.flush()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
