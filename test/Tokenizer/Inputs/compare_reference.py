"""Checks tfc-tokenize against Hugging Face's `tokenizers` on one tokenizer.json.

usage: compare_reference.py TOKENIZER.json REFERENCE_JS NODE_MODULES [--big-mb N]
                            [--arrays ARRAYS.json | --ours FILE]

Builds a corpus (corpus.py: every kind of text the issue lists, plus a
multi-megabyte text generated here), asks the reference (reference.js, the Rust
library through its Node binding) and `tfc-tokenize --batch` for the ids with
and without special tokens, then for the decoding of the reference's ids, of
their prefixes (which cut characters in half) and of the ids without special
tokens. Every answer must be identical, and the pieces a DecodeStream gives
(what generation prints) must add up to the whole decoding. A few cases also go through the plain
CLI (stdin, --no-special, --decode) to show it answers as --batch does.
With --arrays, tfc-tokenize reads ARRAYS.json (the same vocabulary as GGUF
stores it) instead of TOKENIZER.json, which only the reference reads; with
--ours, another file (a .gguf).
Prints one summary line, or the first differences and exits 1.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import corpus  # noqa: E402


def run(command, data, env=None):
    done = subprocess.run(command, input=data, capture_output=True, env=env)
    if done.returncode != 0:
        sys.exit("%s failed (%d): %s" % (command[0], done.returncode, done.stderr.decode()[-2000:]))
    return done.stdout


def main():
    tokenizer, reference_js, node_modules = sys.argv[1:4]
    big_mb = float(sys.argv[sys.argv.index("--big-mb") + 1]) if "--big-mb" in sys.argv else 2.0
    env = dict(os.environ, NODE_PATH=node_modules)
    ours_tokenizer = [tokenizer]
    if "--arrays" in sys.argv:
        ours_tokenizer = [sys.argv[sys.argv.index("--arrays") + 1], "--arrays"]
    if "--ours" in sys.argv:
        ours_tokenizer = [sys.argv[sys.argv.index("--ours") + 1]]
    reference = lambda requests: json.loads(run(["node", reference_js, "answer", tokenizer],
                                                json.dumps(requests).encode(), env))
    ours = lambda requests: json.loads(run(["tfc-tokenize"] + ours_tokenizer + ["--batch"],
                                           json.dumps(requests).encode()))

    texts = corpus.cases() + [corpus.big_text(int(big_mb * 1024 * 1024))]
    encode_requests = [{"encode": t} for t in texts]
    encode_requests[-1]["special_only"] = True  # the big text: one encoding is enough
    expected = reference(encode_requests)
    got = ours(encode_requests)

    failures = []
    def compare(kind, request, want, have):
        if want != have:
            failures.append((kind, json.dumps(request)[:300], json.dumps(want)[:300], json.dumps(have)[:300]))

    for request, want, have in zip(encode_requests, expected, got):
        compare("encode", request, want, have)

    # Decoding: the reference's own ids, with and without special tokens, and
    # prefixes of the latter (up to 48 per text, the big text excepted).
    decode_requests = []
    for i, answer in enumerate(expected):
        if "ids" not in answer:
            continue
        decode_requests.append({"decode": answer["ids"]})
        if i < len(texts) - 1:
            decode_requests.append({"decode": answer["plain"]})
            for k in range(1, min(len(answer["plain"]), 48)):
                decode_requests.append({"decode": answer["plain"][:k]})
    want_text = reference(decode_requests)
    have_text = ours(decode_requests)
    for request, want, have in zip(decode_requests, want_text, have_text):
        compare("decode", {"decode": request["decode"][:40]}, want, have)

    # Generation prints a DecodeStream's pieces: once the ids are decoded, they
    # must add up to the whole decoding.
    stream_requests = [{"stream": answer["plain"]} for answer in expected[:-1] if "plain" in answer]
    for request, have in zip(stream_requests, ours(stream_requests)):
        full = have_text[decode_requests.index({"decode": request["stream"]})]
        if "text" in full and not full["text"].endswith("\ufffd"):
            compare("stream", {"stream": request["stream"][:40]}, full, have)

    # Round trips where the reference round-trips.
    round_trips = 0
    for text, answer in zip(texts[:-1], expected):
        if "plain" in answer:
            decoded = have_text[decode_requests.index({"decode": answer["plain"]})]
            round_trips += decoded.get("text") == text

    # The CLI on two texts (a process per call, each loading the tokenizer).
    for text, answer in [(texts[i], expected[i]) for i in (0, 6)]:
        line = run(["tfc-tokenize"] + ours_tokenizer, text.encode()).decode()
        compare("cli encode", text, " ".join(map(str, answer["ids"])) + "\n", line)
        line = run(["tfc-tokenize"] + ours_tokenizer + ["--no-special"], text.encode()).decode()
        compare("cli --no-special", text, " ".join(map(str, answer["plain"])) + "\n", line)
        want = want_text[decode_requests.index({"decode": answer["ids"]})]["text"]
        have = run(["tfc-tokenize"] + ours_tokenizer + ["--decode"],
                   " ".join(map(str, answer["ids"])).encode()).decode()
        compare("cli --decode", answer["ids"], want, have)

    if failures:
        for kind, request, want, have in failures[:8]:
            print("MISMATCH %s\n  request:   %s\n  reference: %s\n  tfc:       %s" % (kind, request, want, have))
        print("%d of %d answers differ" % (len(failures), len(encode_requests) + len(decode_requests)))
        sys.exit(1)
    big_ids = len(expected[-1].get("ids", []))
    print("identical: %d encodings (the largest %d bytes, %d ids), %d decodings, %d texts round-trip"
          % (len(encode_requests), len(texts[-1].encode()), big_ids, len(decode_requests), round_trips))


if __name__ == "__main__":
    main()
