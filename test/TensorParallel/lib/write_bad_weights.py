#!/usr/bin/env python3
# write_bad_weights.py OUT: llama_tp's weights (tp_check.py) with q_proj of layer 0 four
# rows short, for errors.test.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "Numeric", "lib"))
import reference as R  # noqa: E402
from tp_check import TP_MODELS  # noqa: E402

family, cfg = TP_MODELS["llama_tp"]
W = R.manifest(family, cfg, seed=0)
tensors = dict(W.used)
name = "model.layers.0.self_attn.q_proj.weight"
tensors[name] = tensors[name][:-4]
R.save_safetensors(sys.argv[1], tensors)
