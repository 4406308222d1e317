"""Compares the descriptor layout the compiler builds with the C structs.

    abi_layout.py CLANG_DUMP TFC_LAYOUT

CLANG_DUMP is clang's `-fdump-record-layouts-complete` of runtime/include/tfc/gen_abi.h,
TFC_LAYOUT what `tfc --print-abi-layout` prints ("S size=N align=A" and "S.field OFFSET"
lines). Every struct the compiler builds must exist in C with the same size, alignment,
fields (by name, in order) and offsets; a field added on either side only fails. Prints
"abi layout: N structs, M fields agree" or the differences (exit 1).
"""
import re
import sys


def typedef_name(path, line, col):
    """The name of the typedef of the unnamed struct whose '{' is at path:line:col."""
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    pos = sum(len(l) + 1 for l in lines[: line - 1]) + col - 1
    pos = text.index("{", pos)
    depth = 0
    for i in range(pos, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                m = re.match(r"\s*(\w+)\s*;", text[i + 1:])
                return m.group(1) if m else None
    return None


def clang_layouts(dump):
    """{struct name: (size, align, [(field, offset)])} of the dump's top-level records."""
    layouts = {}
    for block in dump.split("*** Dumping AST Record Layout")[1:]:
        rows = [l for l in block.split("\n") if "|" in l]
        head = rows[0].split("|", 1)[1].strip()
        m = re.match(r"struct \(unnamed at (.*):(\d+):(\d+)\)$", head)
        if m and "tfc/" in m.group(1):  # system headers' unnamed structs are not ours
            name = typedef_name(m.group(1), int(m.group(2)), int(m.group(3)))
        elif m:
            name = None
        else:
            name = head.split()[-1]
        fields, size, align = [], None, None
        for row in rows[1:]:
            offset, rest = row.split("|", 1)
            if rest.startswith("   ") and not rest.startswith("    ") and offset.strip():
                fields.append((rest.split()[-1], int(offset)))  # depth 1: a field of this struct
            sm = re.search(r"sizeof=(\d+), (?:dsize=\d+, )?align=(\d+)", rest)
            if sm:
                size, align = int(sm.group(1)), int(sm.group(2))
        if name:
            layouts[name] = (size, align, fields)
    return layouts


def tfc_layouts(text):
    layouts = {}
    for line in text.split("\n"):
        m = re.match(r"(\w+) size=(\d+) align=(\d+)$", line)
        if m:
            layouts[m.group(1)] = (int(m.group(2)), int(m.group(3)), [])
            continue
        m = re.match(r"(\w+)\.(\w+) (\d+)$", line)
        if m:
            layouts[m.group(1)][2].append((m.group(2), int(m.group(3))))
    return layouts


def main():
    with open(sys.argv[1]) as f:
        c = clang_layouts(f.read())
    with open(sys.argv[2]) as f:
        t = tfc_layouts(f.read())
    errors, fields = [], 0
    if len(t) < 7:
        errors.append("tfc printed %d structs, expected the 7 of the descriptor" % len(t))
    for name, (size, align, tf) in sorted(t.items()):
        if name not in c:
            errors.append("%s: no such struct in gen_abi.h / tfc.h" % name)
            continue
        csize, calign, cf = c[name]
        if (size, align) != (csize, calign):
            errors.append("%s: tfc size %d align %d, C size %d align %d"
                          % (name, size, align, csize, calign))
        if tf != cf:
            errors.append("%s: tfc fields %s, C fields %s" % (name, tf, cf))
        fields += len(tf)
    if errors:
        sys.exit("\n".join(errors))
    print("abi layout: %d structs, %d fields agree" % (len(t), fields))


main()
