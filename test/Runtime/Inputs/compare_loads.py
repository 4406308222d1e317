"""compare_loads.py HARNESS MODEL.so DIR TYPE...: for each TYPE, runs the harness
on DIR/TYPE.gguf and DIR/TYPE.safetensors (gguf_gen.py model) with the same
prompt, whole and in chunks, and prints "TYPE: identical" when the logits are
bit for bit the same, else "TYPE: DIFFERENT ..." (and exits 1 at the end). The
logits must also differ between types, or the test would prove nothing."""
import os
import subprocess
import sys


def logits(harness, so, weights, out, chunks):
    cmd = [harness, so, weights, "--tokens", "5,17,3,60,2,9,41", "--out", out]
    if chunks:
        cmd += ["--chunks", chunks]
    subprocess.run(cmd, check=True)
    with open(out, "rb") as f:
        return f.read()


def main(harness, so, d, types):
    failed, seen = False, {}
    for t in types:
        same = True
        for chunks in ("", "3,1,3"):
            tag = chunks.replace(",", "") or "whole"
            a = logits(harness, so, os.path.join(d, t + ".gguf"),
                       os.path.join(d, "%s.%s.gguf.bin" % (t, tag)), chunks)
            b = logits(harness, so, os.path.join(d, t + ".safetensors"),
                       os.path.join(d, "%s.%s.st.bin" % (t, tag)), chunks)
            same &= a == b
        if a in seen.values():
            print("%s: DIFFERENT from nothing: the same logits as another type" % t)
            failed = True
        seen[t] = a
        print("%s: %s" % (t, "identical" if same else "DIFFERENT"))
        failed |= not same
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
