"""test/Tools/tfc-serve: start tfc-serve on a free loopback port, talk to it, stop it.

Every wait is bounded (server start, each HTTP exchange, shutdown), so a hung
server fails the test instead of hanging the suite. Standard library only.
"""
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time

TIMEOUT = 60  # seconds, for any single wait


class Server:
    def __init__(self, args, launcher=()):
        """`launcher`: what starts tfc-serve, e.g. an mpirun command line."""
        self.proc = subprocess.Popen([*launcher, "tfc-serve", *args, "--port", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.listening = threading.Event()
        self.port = None
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.listening.wait(TIMEOUT) or self.port is None:
            self.proc.kill()
            raise SystemExit("tfc-serve did not start:\n" + "".join(self.log))

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.listening.set()
        self.listening.set()  # exited before listening

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON body or the raw text)."""
        conn = self.connection()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        conn.close()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data

    def post(self, path, body, headers=None):
        return self.request("POST", path, body, headers)

    def stream(self, path, body):
        """The JSON events of a streaming request and whether [DONE] ended it."""
        conn = self.connection()
        conn.request("POST", path, body=json.dumps(body))
        resp = conn.getresponse()
        if resp.status != 200:
            raise SystemExit("stream answered %d: %s" % (resp.status, resp.read()))
        events, done = [], False
        for line in resp.read().decode("utf-8").split("\n"):
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
            else:
                events.append(json.loads(line[6:]))
        conn.close()
        return events, done

    def stop(self, sig=signal.SIGTERM):
        """Exit status after `sig`; the server must stop within TIMEOUT."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit("tfc-serve did not stop after signal %d" % sig)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)


def wait_until(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what)


def run(*args):
    """stdout of a tool, which must succeed."""
    return subprocess.run(list(args), check=True, capture_output=True, text=True,
                          timeout=TIMEOUT).stdout


def stream_text(events, index=0, chat=False):
    """The text of choice `index` across streaming events, and its finish_reason."""
    text, finish = "", None
    for e in events:
        for c in e.get("choices", []):
            if c["index"] != index:
                continue
            piece = c["delta"].get("content", "") if chat else c["text"]
            text += piece or ""
            finish = c["finish_reason"] or finish
    return text, finish


def check(condition, message):
    if not condition:
        print("FAIL: " + message)
        sys.exit(1)
