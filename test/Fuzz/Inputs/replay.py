"""Replays fuzz inputs through an ordinary tool and checks it fails cleanly.

    replay.py safetensors DRIVER MODEL.so DIR...   DRIVER MODEL.so load FILE per file
    replay.py gguf DRIVER MODEL.so DIR...          the same (tfc_model_load reads both,
    replay.py index DRIVER MODEL.so DIR...          and a sharded checkpoint's index, which
                                                    is loaded as a copy named NAME.json)
    replay.py tdsl TFC DIR...                       TFC --emit=attn -o /dev/null FILE

Every file must give exit status 0, or 1 with an error message (safetensors, gguf,
index: a stdout line starting "error: "; tdsl: "error:" on stderr); a signal, any other
status, or a failure without a message is reported. Prints one line per file
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


def check(kind, cmd, path):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    if r.returncode < 0:
        return "killed by signal %d" % -r.returncode
    if r.returncode == 0:
        return None
    if r.returncode != 1:
        return "exit status %d: %s" % (r.returncode, (err or out).strip()[:300])
    if kind in LOADERS and not out.startswith("error: "):
        return "failed without an error message: %r" % out[:200]
    if kind == "tdsl" and "error:" not in err:
        return "failed without an error message: %r" % err[:200]
    return None


def main(argv):
    kind = argv[1]
    if kind in LOADERS:
        prefix, dirs = [argv[2], argv[3], "load"], argv[4:]
    elif kind == "tdsl":
        prefix, dirs = [argv[2], "--emit=attn", "-o", os.devnull], argv[3:]
    else:
        sys.exit("replay.py: unknown kind %s" % kind)
    failed = 0
    count = 0
    scratch = tempfile.mkdtemp()
    for path in files(dirs):
        count += 1
        if kind == "index":  # tfc_model_load knows an index by its name
            copy = os.path.join(scratch, os.path.basename(path) + ".json")
            shutil.copyfile(path, copy)
            path = copy
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
