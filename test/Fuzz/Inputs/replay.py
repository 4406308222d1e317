"""Replays fuzz inputs through an ordinary tool and checks it fails cleanly.

    replay.py safetensors DRIVER MODEL.so DIR...   DRIVER MODEL.so load FILE per file
    replay.py gguf DRIVER MODEL.so DIR...          the same (tfc_model_load reads both,
    replay.py index DRIVER MODEL.so DIR...          and a sharded checkpoint's index, which
                                                    is loaded as a copy named NAME.json)
    replay.py tdsl TFC DIR...                       TFC --emit=attn -o /dev/null FILE
    replay.py hfimport TFC DIR...                   FILE as DIR/config.json of a fresh
                                                    directory, TFC DIR --emit=attn -o /dev/null
    replay.py ggufimport TFC DIR...                 FILE as NAME.gguf, TFC NAME.gguf --emit=attn
                                                    -o /dev/null (import, front end)
    replay.py tokenizer TFC_TOKENIZE DIR...         the tokenizer part of FILE (before the
                                                    line #TEXT#) encoded, --no-special, and
                                                    the ids decoded, the text on stdin

Every file must give exit status 0, or 1 with an error message (safetensors, gguf,
index: a stdout line starting "error: "; tdsl, hfimport, ggufimport and tokenizer: "error:" on
stderr); a
signal, any other status, or a failure without a message is reported. Prints one line per file
("ok NAME" or "FAIL NAME: why") and a summary; exits 1 when any file failed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

# Inputs of tfc_model_load, replayed through the runtime test driver.
LOADERS = ("safetensors", "gguf", "index")


def files(dirs):
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if os.path.isfile(path) and not name.startswith("."):
                yield path


def check(kind, cmd, path, stdin=b""):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    if r.returncode < 0:
        return "killed by signal %d" % -r.returncode
    if r.returncode == 0:
        return None
    if r.returncode != 1:
        return "exit status %d: %s" % (r.returncode, (err or out).strip()[:300])
    if kind in LOADERS and not out.startswith("error: "):
        return "failed without an error message: %r" % out[:200]
    if kind in ("tdsl", "hfimport", "ggufimport", "tokenizer") and "error:" not in err:
        return "failed without an error message: %r" % err[:200]
    return None


def check_tokenizer(tool, path):
    """Splits a tokenizer fuzz input as the fuzzer does and runs its steps."""
    data = open(path, "rb").read()
    marker = b"\n#TEXT#\n"
    cut = data.find(marker)
    tokenizer, text = (data, b"Hello world") if cut < 0 else (data[:cut], data[cut + len(marker):])
    tokenizer_path = os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "replay-%d-%s" % (os.getpid(), os.path.basename(path)))
    with open(tokenizer_path, "wb") as f:
        f.write(tokenizer)
    try:
        for flags in ([], ["--no-special"]):
            why = check("tokenizer", [tool, tokenizer_path] + flags, path, text)
            if why:
                return why
        r = subprocess.run([tool, tokenizer_path], input=text, capture_output=True, timeout=120)
        if r.returncode == 0:
            return check("tokenizer", [tool, tokenizer_path, "--decode"], path, r.stdout)
        return None
    finally:
        os.remove(tokenizer_path)


def main(argv):
    kind = argv[1]
    if kind in LOADERS:
        prefix, dirs = [argv[2], argv[3], "load"], argv[4:]
    elif kind in ("tdsl", "hfimport", "ggufimport"):
        prefix, dirs = [argv[2], "--emit=attn", "-o", os.devnull], argv[3:]
    elif kind == "tokenizer":
        prefix, dirs = [argv[2]], argv[3:]
    else:
        sys.exit("replay.py: unknown kind %s" % kind)
    failed = 0
    count = 0
    scratch = tempfile.mkdtemp()
    for path in files(dirs):
        count += 1
        if kind in ("index", "ggufimport"):  # known by the extension
            copy = os.path.join(scratch, os.path.basename(path) +
                                (".json" if kind == "index" else ".gguf"))
            shutil.copyfile(path, copy)
            path = copy
        if kind == "hfimport":
            # The input becomes the config.json of a model directory of its own.
            model = tempfile.mkdtemp(prefix="replay-hfimport-", dir=scratch)
            shutil.copyfile(path, os.path.join(model, "config.json"))
            why = check(kind, prefix + [model], path)
        elif kind == "tokenizer":
            why = check_tokenizer(prefix[0], path)
        else:
            why = check(kind, prefix + [path], path)
        name = os.path.basename(path)
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
        else:
            print("ok %s" % name)
    shutil.rmtree(scratch)
    print("replayed %d files, %d failed" % (count, failed))
    return 1 if failed or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
