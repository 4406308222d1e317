"""Writes small GGUF files for gguf-errors.test into DIR: a good SentencePiece
vocabulary (<unk>, <s>, "▁", "a", "b", "▁a", "▁ab", merged by score) and the
broken cases.

usage: gguf_cases.py DIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Runtime", "Inputs"))
import gguf_gen as g  # noqa: E402


def tokenizer(model="llama", tokens=("<unk>", "<s>", "\u2581", "a", "b", "\u2581a", "\u2581ab"),
              scores=None, extra=()):
    kvs = [g.kv("tokenizer.ggml.model", g.STRING, model)]
    if tokens is not None:
        kvs.append(g.kv("tokenizer.ggml.tokens", g.ARRAY, (g.STRING, list(tokens))))
    kvs.append(scores or g.kv("tokenizer.ggml.scores", g.ARRAY,
                              (g.FLOAT32, [0.0, 0.0, -5.0, -5.0, -5.0, -2.0, -1.0][:len(tokens or [])])))
    kvs.append(g.kv("tokenizer.ggml.bos_token_id", g.UINT32, 1))
    return kvs + list(extra)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    good = g.build(tokenizer(), [])
    g.write(os.path.join(d, "good.gguf"), good)
    g.write(os.path.join(d, "truncated.gguf"), good[:40])
    g.write(os.path.join(d, "no-tokenizer.gguf"), g.build([g.kv("general.name", g.STRING, "x")], []))
    g.write(os.path.join(d, "t5.gguf"), g.build(tokenizer(model="t5"), []))
    g.write(os.path.join(d, "pre.gguf"), g.build(
        tokenizer(model="gpt2", extra=[g.kv("tokenizer.ggml.pre", g.STRING, "falcon")]), []))
    g.write(os.path.join(d, "scores-type.gguf"), g.build(
        tokenizer(scores=g.kv("tokenizer.ggml.scores", g.ARRAY, (g.INT32, [0] * 7))), []))
    bad_bos = [kv for kv in tokenizer(tokens=("<unk>", "<s>", "a", "b"))
               if not kv.startswith(g.string("tokenizer.ggml.bos_token_id"))]
    g.write(os.path.join(d, "bos-range.gguf"), g.build(
        bad_bos + [g.kv("tokenizer.ggml.bos_token_id", g.UINT32, 9)], []))
    g.write(os.path.join(d, "no-tokens.gguf"), g.build(
        tokenizer(tokens=None, scores=g.kv("general.name", g.STRING, "x")), []))


if __name__ == "__main__":
    main()
