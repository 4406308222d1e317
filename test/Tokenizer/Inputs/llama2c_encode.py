"""Reference encoder: a literal transcription of llama2.c's `encode` (run.c).

Independent of tfc-run's C++ tokenizer (naive scan over all pairs, bytes not
codepoints as the unit of iteration, Python dict lookup), used by the lit tests
to check tfc-run --encode on arbitrary text. Standard library only.

usage: llama2c_encode.py TOKENIZER.bin TEXT...   (one line of ids per TEXT)
"""
import struct
import sys


def load(path):
    data = open(path, "rb").read()
    offset = 4
    pieces, scores = [], []
    while offset < len(data):
        score, length = struct.unpack_from("<fi", data, offset)
        offset += 8
        pieces.append(data[offset:offset + length])
        scores.append(score)
        offset += length
    lookup = {}
    for i, p in enumerate(pieces):
        lookup.setdefault(p, i)
    return pieces, scores, lookup


def encode(pieces, scores, lookup, text):
    tokens = [1]
    if text:
        tokens.append(lookup[b" "])
    buf = b""
    for i, c in enumerate(text):
        if c & 0xC0 != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if nxt & 0xC0 == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            tokens.append(lookup[buf])
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            pid = lookup.get(pieces[tokens[i]] + pieces[tokens[i + 1]], -1)
            # llama2.c compares float32 scores against the float literal -1e10.
            if pid != -1 and scores[pid] > best_score:
                best_score, best_id, best_idx = scores[pid], pid, i
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def main():
    pieces, scores, lookup = load(sys.argv[1])
    for text in sys.argv[2:]:
        ids = encode(pieces, scores, lookup, text.encode("utf-8", "surrogateescape"))
        print(" ".join(map(str, ids)))


if __name__ == "__main__":
    main()
