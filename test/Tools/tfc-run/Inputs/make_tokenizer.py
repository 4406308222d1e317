"""Writes a 16-piece llama2.c tokenizer.bin matching the fake model's vocab.

Pieces: <unk>, BOS, EOS, then " ", "a".."e", " a", " b", "ab", "cd", "abcd",
" ab", " abcd" with scores favouring longer pieces. No byte fallback: text
outside these characters cannot be encoded. An optional second argument
pads the vocabulary with pieces "p16", "p17", ... up to that many pieces.
"""
import struct
import sys

pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n", b" ", b"a", b"b", b"c", b"d", b"e",
          b" a", b" b", b"ab", b"cd", b"abcd", b" ab", b" abcd"]
if len(sys.argv) > 2:
    pieces += [b"p%d" % i for i in range(len(pieces), int(sys.argv[2]))]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<i", max(len(p) for p in pieces)))
    for i, p in enumerate(pieces):
        score = float(len(p)) if i > 2 else 0.0
        f.write(struct.pack("<fi", score, len(p)) + p)
