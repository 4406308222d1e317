"""Clients that leave and a server that is told to stop.

usage: lifecycle.py MODEL.so WEIGHTS TOKENIZER

On one session (--parallel 1), each step slowed to 20 ms (hidden
--step-delay-ms) so that no request ends before the test acts: a streaming
client that disconnects after its first chunk is cancelled (its session
freed long before its 400 tokens), and so is a streaming client that leaves
while waiting in the queue; the server then answers the next request. SIGINT
during a stream ends the stream and the server, exit status 0. The model
runs on one thread: a parallel runtime whose threads go idle at every pause
can take far longer than the pause to wake them on a loaded machine.
"""
import json
import os
import signal
import socket
import sys
import threading

from harness import TIMEOUT, Server, check, wait_until

model, weights, tokenizer = sys.argv[1:4]
os.environ["TFC_NUM_THREADS"] = "1"
LONG = {"model": "stories260k", "prompt": "Once upon a time", "max_tokens": 400,
        "temperature": 0, "stream": True}


def open_stream(server, body):
    """A raw socket that sent a streaming request and read its first bytes."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    payload = json.dumps(body).encode()
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
    return sock


def health(server):
    return server.request("GET", "/health")[1]


def listening_addresses(pid, port):
    """The local addresses (hex, as /proc/net/tcp* writes them) of the
    process's sockets listening on `port`."""
    found = []
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.append(address)
    return found


with Server([model, "--weights", weights, "--tokenizer", tokenizer, "--parallel", "1",
             "--step-delay-ms", "20"]) as server:
    # Without --host the server listens on the loopback address alone.
    check(any("listening on http://127.0.0.1:" in line for line in server.log), "log %r" % server.log)
    addresses = listening_addresses(server.proc.pid, server.port)
    check(addresses == ["0100007F"], "listening on %r, not 127.0.0.1 alone" % addresses)
    print("ok listens on 127.0.0.1 by default")

    # Leaves mid-stream, once the first text arrived.
    sock = open_stream(server, LONG)
    received = b""
    while b"data: {" not in received:
        chunk = sock.recv(4096)
        check(chunk, "stream closed early")
        received += chunk
    sock.close()
    wait_until(lambda: health(server)["cancelled"] == 1, "the cancellation")
    state = health(server)
    check(state["running"] == 0 and state["waiting"] == 0, "session not freed: %r" % state)
    print("ok disconnect mid-stream frees the session")

    # Leaves while waiting behind a running request.
    results = []
    runner = threading.Thread(target=lambda: results.append(server.post(
        "/v1/completions", dict(LONG, stream=False, max_tokens=100))))
    runner.start()
    wait_until(lambda: health(server)["running"] == 1, "the first request to run")
    sock = open_stream(server, LONG)
    wait_until(lambda: health(server)["waiting"] == 1, "the second request to wait")
    sock.close()
    wait_until(lambda: health(server)["cancelled"] == 2, "the waiting request's cancellation")
    runner.join(TIMEOUT)
    check(results and results[0][0] == 200 and
          results[0][1]["usage"]["completion_tokens"] == 100, "the running request: %r" % results)
    status, answer = server.post("/v1/completions", dict(LONG, stream=False, max_tokens=3))
    check(status == 200 and answer["usage"]["completion_tokens"] == 3, "after: %r" % answer)
    print("ok disconnect while waiting")

    # SIGINT mid-stream: the stream ends, the server exits 0.
    sock = open_stream(server, LONG)
    received = b""
    while b"data: {" not in received:
        received += sock.recv(4096)
    check(server.stop(signal.SIGINT) == 0, "exit status after SIGINT")
    sock.settimeout(TIMEOUT)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()
    check(any("tfc-serve: stopped" in line for line in server.log), "log: %r" % server.log)
    print("ok SIGINT stops the server")
