"""Installs the tokenizer reference into a build tree (test setup and bench).

usage: setup.py REFERENCE_DIR      (e.g. build/test/Tokenizer/reference)

Copies package.json and package-lock.json there, runs `npm ci` (the lock
file pins every package by its integrity hash), then `reference.js build`
into REFERENCE_DIR/generated. Skips both when a stamp says the same files
were installed already. Prints nothing and exits 0 on success; on failure
prints one line saying why and exits 1.
"""
import hashlib
import os
import shutil
import subprocess
import sys

SOURCE = os.path.dirname(os.path.abspath(__file__))


def setup(reference_dir):
    reference_dir = os.path.abspath(reference_dir)
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node or npm is not installed"
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json", "reference.js"):
        with open(os.path.join(SOURCE, name), "rb") as f:
            digest.update(f.read())
    stamp, stamp_path = digest.hexdigest(), os.path.join(reference_dir, "installed.stamp")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        return None
    os.makedirs(reference_dir, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(SOURCE, name), os.path.join(reference_dir, name))
    env = dict(os.environ, NODE_PATH=os.path.join(reference_dir, "node_modules"))
    for step in ([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                 [node, os.path.join(SOURCE, "reference.js"), "build",
                  os.path.join(reference_dir, "generated")]):
        done = subprocess.run(step, cwd=reference_dir, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().replace("\n", " ")[-300:]
            return "'%s %s' failed: %s" % (os.path.basename(step[0]), step[1], why)
    with open(stamp_path, "w") as f:
        f.write(stamp)
    return None


if __name__ == "__main__":
    problem = setup(sys.argv[1])
    if problem:
        print(problem)
        sys.exit(1)
