#===- convert_sweep.py - tfc convert on stories260K: KV bytes vs quality --===#
#
# Runs `tfc convert` on the real stories260K weights for MLA at several latent
# ranks (rope_dim 4 and 8) and GQA at 4, 2 and 1 K/V heads (SVD and the mean
# pooling baseline), compressed in weight space (--no-whitening) and, for MLA
# with rope_dim 8 and GQA, also activation-aware (whitened by the layers'
# inputs on TEXT). The end-to-end KL and top-1 are measured on HELD_OUT, a
# different text (--evaluate-on), so that the activation-aware rows are not
# judged on the tokens they were fitted to; the per-layer attention output
# errors are on TEXT. Writes
#   OUT_DIR/convert-stories260k.md   the table of the README
#   OUT_DIR/convert-stories260k.png  KV bytes per token against KL and top-1,
#                                    and the singular value spectra per layer
# Usage: /usr/bin/python3 bench/convert_sweep.py BUILD_DIR MODELS_DIR OUT_DIR [--again]
# (reports already in OUT_DIR/convert-work are reused unless --again).
#
#===----------------------------------------------------------------------===#

import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play outside in "
        "the park with her friends. One day, she saw a big red ball under a tree. She ran to "
        "get it, but a small dog took the ball and ran away. Lily was sad, but her mom said "
        "they could look for the dog together. They found the dog near the pond, and the dog "
        "gave the ball back. Lily smiled and said thank you.")
HELD_OUT = ("Tom had a little blue car. Every morning he pushed it across the kitchen floor and "
            "made a loud noise. His sister Sue laughed and wanted to play too. Tom did not want "
            "to share at first, but then he saw that Sue was sad. He gave her the car and they "
            "played together all day. Mom was happy to see them share.")


def main():
    build, models, out = sys.argv[1:4]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    tdsl = os.path.join(root, "examples", "stories260k.tdsl")
    weights = os.path.join(models, "stories260K", "model.safetensors")
    tokens = subprocess.run([os.path.join(build, "bin", "tfc-run"), "--tokenizer",
                             os.path.join(models, "stories260K", "tok512.bin"), "--encode", TEXT],
                            check=True, capture_output=True, text=True).stdout.split()
    calibrate = ",".join(tokens)
    held_out = subprocess.run([os.path.join(build, "bin", "tfc-run"), "--tokenizer",
                               os.path.join(models, "stories260K", "tok512.bin"), "--encode",
                               HELD_OUT], check=True, capture_output=True, text=True).stdout.split()
    work = os.path.join(out, "convert-work")
    os.makedirs(work, exist_ok=True)
    runs = [("MLA r=%d d=%d" % (r, d), ["--to", "mla", "--kv-rank", str(r), "--rope-dim", str(d)])
            for d in (4, 8) for r in (8, 16, 24, 32, 48, 64)]
    runs += [("GQA K=%d" % k, ["--to", "gqa", "--kv-heads", str(k)]) for k in (4, 2, 1)]
    runs += [("GQA K=%d mean" % k, ["--to", "gqa", "--kv-heads", str(k), "--gqa-method=mean"])
             for k in (2, 1)]
    runs = [(name, args + ["--no-whitening"]) for name, args in runs]
    runs += [("MLA r=%d d=8 act" % r, ["--to", "mla", "--kv-rank", str(r), "--rope-dim", "8"])
             for r in (16, 24, 32, 48)]
    runs += [("GQA K=%d act" % k, ["--to", "gqa", "--kv-heads", str(k)]) for k in (2, 1)]
    results = []
    for name, args in runs:
        stem = os.path.join(work, name.replace(" ", "_").replace("=", ""))
        if os.path.exists(stem + ".report.json") and "--again" not in sys.argv:
            results.append((name, json.load(open(stem + ".report.json"))))
            continue
        subprocess.run([os.path.join(build, "bin", "tfc"), "convert", tdsl, "--weights", weights,
                        "--calibrate", calibrate, "--evaluate-on", ",".join(held_out),
                        "-o", stem] + args,
                       check=True, stdout=subprocess.DEVNULL)
        results.append((name, json.load(open(stem + ".report.json"))))
        print(name, "done", flush=True)

    base = results[0][1]["kv_bytes_per_token_before"]
    with open(os.path.join(out, "convert-stories260k.md"), "w") as f:
        f.write("| conversion | KV bytes/token | KL (nats, held out) | top-1 agreement (held out) | "
                "attention output error (mean over layers) | rel. error (mean over layers) | "
                "rsvd / optimal (max) |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|\n")
        f.write("| original (GQA 8 heads / 4 K/V) | %d | 0 | 1 | 0 | 0 | - |\n" % base)
        for name, r in results:
            layers = r["layers"]
            ratios = [l["rsvd_vs_optimal"] for l in layers if l["rsvd_vs_optimal"] is not None]
            f.write("| %s | %d | %.4f | %.3f | %.3f | %.3f | %s |\n" % (
                name.replace(" act", ", activation-aware"), r["kv_bytes_per_token_after"],
                r["kl"], r["top1_agreement"],
                sum(l["attention_rel_error"] for l in layers) / len(layers),
                sum(l["rel_error"] for l in layers) / len(layers),
                "%.4f" % max(ratios) if ratios else "-"))
        f.write("\nCalibration: %d tokens of TEXT in bench/convert_sweep.py (the attention output "
                "errors, and the activation-aware rows' metric); KL and top-1 on %d tokens of "
                "HELD_OUT. The relative errors are in weight space, or for the activation-aware "
                "rows in the input metric.\n" % (len(tokens), len(held_out)))

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    series = [("MLA, rope_dim 4", lambda n: n.startswith("MLA") and n.endswith("d=4"), "o-"),
              ("MLA, rope_dim 8", lambda n: n.startswith("MLA") and n.endswith("d=8"), "s-"),
              ("MLA, rope_dim 8, activation-aware", lambda n: n.startswith("MLA") and
               n.endswith("act"), "s:"),
              ("GQA (SVD)", lambda n: n.startswith("GQA") and n[-1].isdigit(), "^-"),
              ("GQA (SVD), activation-aware", lambda n: n.startswith("GQA") and n.endswith("act"),
               "^:"),
              ("GQA (mean pooling)", lambda n: n.endswith("mean"), "v--")]
    for label, pick, style in series:
        pts = sorted((r["kv_bytes_per_token_after"], r["kl"], r["top1_agreement"])
                     for n, r in results if pick(n))
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
        axes[1].plot([p[0] for p in pts], [p[2] for p in pts], style, label=label)
    for ax, ylabel in ((axes[0], "mean KL(original || converted), nats"),
                       (axes[1], "top-1 agreement")):
        ax.axvline(base, color="gray", linestyle=":", label="original (%d B)" % base)
        ax.set_xlabel("KV cache bytes per token (all layers)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].set_yscale("log")
    # GQA at K = 4 (the source's K/V heads) is exact: its KL is rounding, ~1e-11.
    axes[0].set_ylim(1e-2, 10)
    axes[0].annotate("GQA K=4: exact (KL ~ 1e-11)", xy=(base, 1e-2), xytext=(700, 2e-2),
                     fontsize=8, arrowprops=dict(arrowstyle="->"))
    axes[0].legend(fontsize=8)
    # Spectra of the joint (unrotated key, value) matrix of each layer, rope_dim 4.
    full = next(r for n, r in results if n == "MLA r=64 d=4")
    for layer in full["layers"]:
        sv = layer["singular_values"][0]
        axes[2].semilogy(range(1, len(sv) + 1), sv, label="layer %d" % layer["layer"])
    axes[2].set_xlabel("index")
    axes[2].set_ylabel("singular value")
    axes[2].set_title("MLA latent: spectrum of [K_nope; V] per layer")
    axes[2].grid(True, alpha=0.3)
    axes[2].legend(fontsize=8)
    fig.suptitle("tfc convert on stories260K (real weights; KL and top-1 on %d held-out tokens)"
                 % len(held_out))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "convert-stories260k.png"), dpi=90)


if __name__ == "__main__":
    main()
