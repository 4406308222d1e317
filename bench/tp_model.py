#!/usr/bin/env python3
"""bench/tp_model.py: the decode-time model of docs/scaling.md for tensor parallelism.

t(M) = W / (M * B_mem)                                  weights streamed once per token
     + 2 L (ceil(log2 M) * alpha + 2 (M-1)/M * 4 dim / B_net)   two all-reduces per layer
     + ceil(log2 M) * alpha + (M-1)/M * 4 V / B_net     the logits all-gather
(recursive doubling for the small decode messages, ring volume). Prints ms/token for
1..16 machines and where adding one stops paying: the communication exceeds the
weight-streaming time. Usage: tp_model.py [B_mem GB/s] [B_net GB/s] [alpha us]
"""
import math
import sys

b_mem = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0   # GB/s per machine
b_net = float(sys.argv[2]) if len(sys.argv) > 2 else 1.25   # GB/s (10 Gb/s Ethernet)
alpha = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0   # us per message step (TCP)

# name: bf16 weight bytes, dim, layers, vocab
MODELS = {
    "TinyLlama-1.1B": (2.2e9, 2048, 22, 32000),
    "Llama-2-7B": (13.5e9, 4096, 32, 32000),
    "Llama-2-70B": (138e9, 8192, 80, 32000),
}

print("B_mem %.0f GB/s per machine, network %.2f GB/s, alpha %.0f us; bf16 weights" %
      (b_mem, b_net, alpha))
print("%-16s %s" % ("ms/token", " ".join("%7s" % ("M=%d" % m) for m in (1, 2, 4, 8, 16))))
for name, (w, dim, layers, vocab) in MODELS.items():
    row = []
    for m in (1, 2, 4, 8, 16):
        steps = math.ceil(math.log2(m)) if m > 1 else 0
        mem = w / (m * b_mem * 1e9)
        ar = 2 * layers * (steps * alpha * 1e-6 + 2 * (m - 1) / m * 4 * dim / (b_net * 1e9))
        ag = steps * alpha * 1e-6 + (m - 1) / m * 4 * vocab / (b_net * 1e9)
        row.append((mem + ar + ag) * 1e3)
    print("%-16s %s" % (name, " ".join("%7.1f" % t for t in row)))
