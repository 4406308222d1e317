#!/usr/bin/python3
#===- plot_attention.py - Heatmaps of tfc-run --attention-maps output ------===#
#
# plot_attention.py DIR [-o OUT_DIR] [--layers 0,2] [--grid FILE.png] [--dpi N]
#
# DIR is what `tfc-run MODEL.so ... --attention-maps DIR` wrote: layer{L}_head{H}.npy
# (float32 [n, n], row i the query at position i, column j the key) and tokens.json.
# Writes OUT_DIR/layer{L}.png (default OUT_DIR: DIR) per selected layer: one heatmap
# per head, the prompt's tokens labelling the keys (x) and queries (y) of each.
# --grid FILE.png writes instead one figure of every selected layer (rows) and head
# (columns), the tokens labelling the bottom row and the left column.
#
# Needs numpy and matplotlib (Debian: python3-numpy, python3-matplotlib; run with
# /usr/bin/python3). Exit status 1 with one line on stderr for a missing or
# inconsistent DIR.
#
#===----------------------------------------------------------------------===#

import argparse
import json
import os
import sys

import numpy as np

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def die(msg):
    sys.stderr.write("plot_attention.py: error: %s\n" % msg)
    sys.exit(1)


def load(directory):
    """The token labels and maps[layer][head] ([n, n] arrays) of DIR."""
    try:
        with open(os.path.join(directory, "tokens.json")) as f:
            meta = json.load(f)
        layers, heads, ids = int(meta["layers"]), int(meta["heads"]), meta["ids"]
        texts, pieces = meta["text"], meta["tokens"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        die("%s: not an --attention-maps directory (tokens.json: %s)" % (directory, e))
    n = len(ids)
    if len(texts) != n or len(pieces) != n:
        die("%s: tokens.json has %d texts and %d tokens for %d ids" %
            (directory, len(texts), len(pieces), n))
    labels = [label_of(t, p) for t, p in zip(texts, pieces)]
    maps = []
    for l in range(layers):
        row = []
        for h in range(heads):
            path = os.path.join(directory, "layer%d_head%d.npy" % (l, h))
            try:
                m = np.load(path)
            except (OSError, ValueError) as e:
                die("%s: %s" % (path, e))
            if m.shape != (n, n):
                die("%s: shape %s, expected (%d, %d) for %d tokens" % (path, m.shape, n, n, n))
            row.append(m)
        maps.append(row)
    return labels, maps


def label_of(text, piece):
    """A readable axis label: the token's decoded text (a leading space shown as
    an open box), else its vocabulary piece (special tokens such as <s>)."""
    text = text.replace("\n", "\\n")
    if not text.strip():
        return piece if piece.strip() else repr(text)
    return text.strip() if not text.startswith(" ") else "\u2423" + text.strip()


def heatmap(ax, m, labels, title, xlabels=True, ylabels=True, fontsize=7):
    image = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    n = len(labels)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels if xlabels else [], rotation=90, fontsize=fontsize)
    ax.set_yticklabels(labels if ylabels else [], fontsize=fontsize)
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=fontsize + 2)
    return image


def plot_layer(labels, heads, layer, path, dpi):
    cols = min(4, len(heads))
    rows = (len(heads) + cols - 1) // cols
    size = 1.0 + 0.28 * len(labels)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size + 0.6),
                             squeeze=False, constrained_layout=True)
    for h, m in enumerate(heads):
        image = heatmap(axes[h // cols][h % cols], m, labels, "head %d" % h)
    for k in range(len(heads), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("layer %d: attention probabilities (row: query, column: key)" % layer)
    fig.colorbar(image, ax=axes, shrink=0.6)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_grid(labels, maps, layers, path, dpi):
    heads = len(maps[0])
    size = 0.6 + 0.2 * len(labels)
    fig, axes = plt.subplots(len(layers), heads, figsize=(heads * size + 1.0, len(layers) * size + 0.8),
                             squeeze=False, constrained_layout=True)
    for r, l in enumerate(layers):
        for h in range(heads):
            image = heatmap(axes[r][h], maps[l][h], labels, "layer %d, head %d" % (l, h),
                            xlabels=r == len(layers) - 1, ylabels=h == 0, fontsize=6)
    fig.suptitle("attention probabilities per layer and head (row: query, column: key)")
    fig.colorbar(image, ax=axes, shrink=0.5)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description="Heatmaps of tfc-run --attention-maps output")
    ap.add_argument("dir", help="the directory tfc-run --attention-maps wrote")
    ap.add_argument("-o", "--out", help="directory of the layer{L}.png files (default: DIR)")
    ap.add_argument("--layers", help="layers to draw, e.g. 0,4 (default: all)")
    ap.add_argument("--grid", help="one PNG of every selected layer and head instead")
    ap.add_argument("--dpi", type=int, default=110)
    args = ap.parse_args()
    labels, maps = load(args.dir)
    layers = list(range(len(maps)))
    if args.layers:
        try:
            layers = [int(x) for x in args.layers.split(",")]
        except ValueError:
            die("--layers %r: expected comma-separated layer numbers" % args.layers)
        bad = [l for l in layers if not 0 <= l < len(maps)]
        if bad:
            die("--layers: %s outside [0, %d)" % (bad, len(maps)))
    if args.grid:
        plot_grid(labels, maps, layers, args.grid, args.dpi)
        print(args.grid)
        return
    out = args.out or args.dir
    os.makedirs(out, exist_ok=True)
    for l in layers:
        path = os.path.join(out, "layer%d.png" % l)
        plot_layer(labels, maps[l], l, path, args.dpi)
        print(path)


if __name__ == "__main__":
    main()
