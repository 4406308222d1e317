"""tfc-serve under mpirun: the same answers as one process, and the ranks end together.

usage: tp_serve.py ONE.so TP.so TOKENIZER --mpirun CMD [--ranks N]
                   [--encoder ONE.so TP.so] [--completions-only]

ONE.so is a model compiled without --tensor-parallel, TP.so the same model
compiled for N ranks; both run on --random-weights (each rank gets its part of
the one-process weights). A one-process tfc-serve and `CMD N tfc-serve` answer
the same greedy and seeded completions (token-id and text prompts, one longer
than a prefill chunk), streamed and not, and concurrent requests beyond
--parallel. Then SIGTERM to mpirun must end every rank; a rank killed while the
server idles, and one killed in the middle of a request, must end the server
(mpirun ends the others), within the harness's timeout. With --encoder,
/v1/embeddings of an encoder model match within 1e-5 relative (max |difference|
/ max |value|, as tp_check.py).
"""
import argparse
import os
import shlex
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools",
                                "tfc-serve", "Inputs"))
from harness import TIMEOUT, Server, check, stream_text, wait_until  # noqa: E402

SEED = "7"

parser = argparse.ArgumentParser()
parser.add_argument("one")
parser.add_argument("tp")
parser.add_argument("tokenizer")
parser.add_argument("--mpirun", required=True)
parser.add_argument("--ranks", type=int, default=2)
parser.add_argument("--encoder", nargs=2)
parser.add_argument("--completions-only", action="store_true",
                    help="skip the killed ranks")
args = parser.parse_args()
launcher = shlex.split(args.mpirun) + [str(args.ranks)]
# One thread per process, as the other tests of this directory.
os.environ["TFC_NUM_THREADS"] = "1"


def rank_pids(mpirun_pid):
    """{rank: pid} of mpirun's children that are ranks."""
    ranks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except (OSError, ValueError, IndexError):
            continue
        if b"OMPI_COMM_WORLD_RANK" in env:
            ranks[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(entry)
    return ranks


def alive(pid):
    """Whether `pid` runs (a zombie left for mpirun to reap does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def serve_args(model):
    return [model, "--random-weights", SEED, "--tokenizer", args.tokenizer, "--parallel", "2"]


def start_tp(*extra):
    server = Server(serve_args(args.tp) + list(extra), launcher=launcher)
    wait_until(lambda: len(rank_pids(server.proc.pid)) == args.ranks, "the ranks")
    return server, rank_pids(server.proc.pid)


# Prompts: token ids, text, 40 ids (a prefill step of 40 rows, beside the
# others' decode steps when concurrent) and seeded sampling.
long_prompt = [(7 * i + 11) % 90 + 3 for i in range(40)]
cases = [([5, 6, 7], 12, {}), ("abcd a b", 16, {}), (" ab cd e", 10, {}), (long_prompt, 20, {}),
         ([9, 40, 41, 80], 16, {"temperature": 0.9, "top_p": 0.95, "seed": 11})]


def complete(server, prompt, max_tokens, extra):
    body = {"model": "llama_tp", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
    body.update(extra)
    status, answer = server.post("/v1/completions", body)
    check(status == 200, "completion answered %d: %s" % (status, answer))
    return answer["choices"][0]["text"], answer["usage"]["completion_tokens"]


with Server(serve_args(args.one)) as one:
    expected = [complete(one, p, n, x) for p, n, x in cases]
    one.stop()
check(all(tokens > 0 for _, tokens in expected), "empty completions %r" % expected)

server, ranks = start_tp()
with server:
    got = [complete(server, p, n, x) for p, n, x in cases]
    for case, g, e in zip(cases, got, expected):
        check(g == e, "prompt %r: %d ranks %r != one process %r" % (case[0], args.ranks, g, e))
    print("ok %d completions equal the one-process server's" % len(cases))

    for (prompt, n, extra), (text, _) in zip(cases, expected):
        body = {"model": "llama_tp", "prompt": prompt, "max_tokens": n, "temperature": 0,
                "stream": True}
        body.update(extra)
        events, done = server.stream("/v1/completions", body)
        streamed, _ = stream_text(events)
        check(done and streamed == text, "streamed %r: %r != %r" % (prompt, streamed, text))
    print("ok streamed completions equal")

    # Five requests at once on 2 sessions: they join and leave the batch at
    # different steps, each rank running the same batched calls.
    answers = [None] * len(cases)

    def ask(i):
        answers[i] = complete(server, *cases[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    check(answers == expected, "concurrent %r != %r" % (answers, expected))
    print("ok %d concurrent requests on 2 sessions" % len(cases))

    # SIGTERM to the server (rank 0): it stops, the others follow, mpirun
    # ends with status 0.
    os.kill(ranks[0], signal.SIGTERM)
    status = server.proc.wait(TIMEOUT)
    check(status == 0, "mpirun exited with %d after SIGTERM to rank 0:\n%s"
          % (status, "".join(server.log)))
    wait_until(lambda: not any(alive(pid) for pid in ranks.values()), "every rank to end")
    check(sum("tfc-serve: stopped" in line for line in server.log) == 1,
          "rank 0 alone reports stopping:\n" + "".join(server.log))
    print("ok SIGTERM to rank 0 ends every rank, status 0")

# SIGTERM to mpirun, which forwards it to every rank: rank 0 stops as above
# (the others wait for it, ignoring the signal). mpirun's own status after a
# signal is its business (Open MPI's is 1).
server, ranks = start_tp()
with server:
    check(complete(server, *cases[0]) == expected[0], "second server's answer")
    server.stop(signal.SIGTERM)
    wait_until(lambda: not any(alive(pid) for pid in ranks.values()), "every rank to end")
    check(any("tfc-serve: stopped" in line for line in server.log),
          "rank 0 did not stop in order:\n" + "".join(server.log))
    print("ok SIGTERM to mpirun ends every rank")


def killed_rank_ends_server(victim, during_request):
    server, ranks = start_tp("--step-delay-ms", "50")
    with server:
        if during_request:
            # A slow streamed request (50 ms a step), cut off by the kill.
            outcome = {}

            def ask():
                try:
                    outcome["answer"] = server.stream("/v1/completions", {
                        "model": "llama_tp", "prompt": [5, 6, 7], "max_tokens": 50,
                        "temperature": 0, "stream": True})
                except BaseException as e:  # the connection drops
                    outcome["error"] = e

            client = threading.Thread(target=ask, daemon=True)
            client.start()
            time.sleep(0.5)
        start = time.monotonic()
        os.kill(ranks[victim], signal.SIGKILL)
        try:
            status = server.proc.wait(TIMEOUT)
        except Exception:
            server.proc.kill()
            raise SystemExit("FAIL: mpirun did not end after rank %d was killed" % victim)
        check(status != 0, "mpirun exited with 0 after rank %d was killed" % victim)
        wait_until(lambda: not any(alive(pid) for pid in ranks.values()), "every rank to end")
        if during_request:
            client.join(TIMEOUT)
            check(not client.is_alive(), "the client still waits")
        return time.monotonic() - start


if args.completions_only:
    sys.exit(0)
killed_rank_ends_server(1, during_request=False)
print("ok rank 1 killed while idle ends the server")
killed_rank_ends_server(1, during_request=True)
print("ok rank 1 killed during a request ends the server")
killed_rank_ends_server(0, during_request=True)
print("ok rank 0 killed during a request ends the other ranks")

if args.encoder:
    inputs = ["ab cd", "abcd abcd a", "e", [3, 4, 5, 6, 7, 8, 9, 10, 11]]

    def embed(server):
        status, answer = server.post("/v1/embeddings", {"model": "bert_small", "input": inputs})
        check(status == 200, "embeddings %d %r" % (status, answer))
        return [item["embedding"] for item in answer["data"]]

    one_args = [args.encoder[0], "--random-weights", SEED, "--tokenizer", args.tokenizer]
    with Server(one_args) as one:
        want = embed(one)
    server = Server([args.encoder[1]] + one_args[1:], launcher=launcher)
    with server:
        got = embed(server)
        wait_until(lambda: 0 in rank_pids(server.proc.pid), "rank 0")
        os.kill(rank_pids(server.proc.pid)[0], signal.SIGTERM)
        check(server.proc.wait(TIMEOUT) == 0, "encoder server's mpirun status")
    for i, (g, w) in enumerate(zip(got, want)):
        # As tp_check.py: max |difference| / max |value| of the vector.
        worst = max(abs(a - b) for a, b in zip(g, w)) / max(abs(b) for b in w)
        check(len(g) == len(w) and worst < 1e-5, "input %d: relative difference %g" % (i, worst))
    print("ok %d embeddings within 1e-5 of the one-process server's" % len(inputs))
