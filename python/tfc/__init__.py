"""tfc: compile transformers written in tdsl and run them from Python.

A thin layer over the C ABI of a compiled model (runtime/include/tfc/tfc.h),
through ctypes, with numpy arrays in and out:

    import tfc
    so = tfc.compile("examples/stories260k.tdsl")            # runs the tfc binary
    lib = tfc.Library(so)
    model = lib.load("../shared/models/stories260K/model.safetensors")
    tok = tfc.Tokenizer("../shared/models/stories260K/tok512.bin")
    session = model.session(256)
    logits = session.decode(tok.encode("Once upon a time"))  # numpy, [vocab]
    ids = model.generate(tok.encode("Once upon a time"), max_tokens=32)
    print(tok.decode(ids))

Logits are written by the model straight into the numpy array returned (no
copy); token arrays are passed in place when they already are contiguous int32.
The sampler is numpy's (greedy when temperature is 0). The tokenizer runs the
`tfc-tokenize` tool, so that Python needs no binding of the C++ tokenizer
engine. Tools are found in $TFC_BUILD_DIR/bin, else on PATH, else in the
repository's build/bin. Needs numpy (Debian's python3-numpy).
"""
import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

__all__ = ["compile", "Library", "Model", "Session", "Tokenizer", "Sampler", "TfcError",
           "decode_batch", "ABI_VERSION"]

ABI_VERSION = 3  # TFC_ABI_VERSION of tfc.h this module speaks

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TfcError(RuntimeError):
    """A failure of the model library (tfc_last_error()) or of a tfc tool."""


def _tool(name):
    """The path of the tfc tool `name` (see the module's docstring)."""
    if "TFC_BUILD_DIR" in os.environ:
        candidate = os.path.join(os.environ["TFC_BUILD_DIR"], "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name) or os.path.join(_REPO, "build", "bin", name)
    if not os.access(found, os.X_OK):
        raise TfcError(f"cannot find the '{name}' tool (set TFC_BUILD_DIR or PATH)")
    return found


def _run(args, stdin=None):
    done = subprocess.run(args, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise TfcError(done.stderr.strip() or f"{args[0]} exited with {done.returncode}")
    return done.stdout


def compile(source, output=None, options=()):
    """Compiles a tdsl file or a Hugging Face model directory with `tfc` into a
    shared library; returns its path (`output`, else a fresh temporary file).
    `options` are further tfc options, e.g. ["--weight-type=bf16"]."""
    if output is None:
        fd, output = tempfile.mkstemp(suffix=".so", prefix="tfc-")
        os.close(fd)
    _run([_tool("tfc"), os.fspath(source), "-o", os.fspath(output), *options])
    return output


class _Info(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_int32), ("name", ctypes.c_char_p),
                ("vocab_size", ctypes.c_int32), ("dim", ctypes.c_int32),
                ("n_layers", ctypes.c_int32), ("n_heads", ctypes.c_int32),
                ("n_kv_heads", ctypes.c_int32), ("head_dim", ctypes.c_int32),
                ("kv_latent_rank", ctypes.c_int32), ("max_seq", ctypes.c_int32),
                ("has_encoder", ctypes.c_int32), ("has_decoder", ctypes.c_int32),
                ("n_params", ctypes.c_int64), ("kv_cache_bytes_per_token", ctypes.c_int64),
                ("n_weights", ctypes.c_int32)]


_P = ctypes.c_void_p
_I32 = ctypes.c_int32
_I32P = ctypes.POINTER(ctypes.c_int32)
_F32P = ctypes.POINTER(ctypes.c_float)

# name: (result type, argument types) of every function of tfc.h.
_SIGNATURES = {
    "tfc_info": (ctypes.POINTER(_Info), []),
    "tfc_weight_name": (ctypes.c_char_p, [_I32]),
    "tfc_weight_shape": (_I32, [_I32, ctypes.POINTER(ctypes.c_int64)]),
    "tfc_model_load": (_P, [ctypes.c_char_p]),
    "tfc_model_random": (_P, [ctypes.c_uint64]),
    "tfc_model_free": (None, [_P]),
    "tfc_session_new": (_P, [_P, _I32]),
    "tfc_session_reset": (None, [_P]),
    "tfc_session_pos": (_I32, [_P]),
    "tfc_session_free": (None, [_P]),
    "tfc_decode": (_I32, [_P, _I32P, _I32, _F32P, _I32]),
    "tfc_decode_batch": (_I32, [ctypes.POINTER(_P), _I32, _I32P, _I32P, _F32P, _I32, _I32P]),
    "tfc_encode": (_I32, [_P, _I32P, _I32, _F32P]),
    "tfc_attention_maps_shape": (_I32, [_I32, ctypes.POINTER(ctypes.c_int64)]),
    "tfc_attention_maps": (_I32, [_P, _I32P, _I32, _F32P]),
    "tfc_last_error": (ctypes.c_char_p, []),
}


def _int32s(tokens):
    """`tokens` as a contiguous int32 array (itself when it already is one)."""
    array = np.ascontiguousarray(tokens, dtype=np.int32)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("tokens must be a non-empty 1-D sequence of ids")
    return array


def _ptr(array, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


class Library:
    """A compiled model.so: its static description and weight manifest."""

    def __init__(self, path):
        self.path = os.fspath(path)
        # RTLD_LOCAL: two models in one process keep their runtimes apart.
        self._dll = ctypes.CDLL(os.path.abspath(self.path), mode=os.RTLD_LOCAL | os.RTLD_NOW)
        for name, (result, args) in _SIGNATURES.items():
            try:
                fn = getattr(self._dll, name)
            except AttributeError:
                raise TfcError(f"'{self.path}' is not a tfc model of ABI {ABI_VERSION}: "
                               f"it does not export '{name}'") from None
            fn.restype, fn.argtypes = result, args
        version = self._dll.tfc_info().contents.abi_version
        if version != ABI_VERSION:
            raise TfcError(f"'{self.path}' has ABI version {version}, this module speaks "
                           f"{ABI_VERSION}")

    def _error(self):
        return TfcError(self._dll.tfc_last_error().decode("utf-8", "replace"))

    @property
    def info(self):
        """tfc_model_info as a dict (name as str)."""
        raw = self._dll.tfc_info().contents
        info = {name: getattr(raw, name) for name, _ in _Info._fields_}
        info["name"] = raw.name.decode()
        return info

    def weights(self):
        """The weight manifest: [(name, shape)] in manifest order."""
        manifest = []
        dims = (ctypes.c_int64 * 8)()
        for i in range(self.info["n_weights"]):
            rank = self._dll.tfc_weight_shape(i, dims)
            manifest.append((self._dll.tfc_weight_name(i).decode(), tuple(dims[:rank])))
        return manifest

    def load(self, path):
        """Weights from a safetensors file, a sharded index, a Hugging Face
        directory or a GGUF file (tfc_model_load)."""
        handle = self._dll.tfc_model_load(os.fspath(path).encode())
        if not handle:
            raise self._error()
        return Model(self, handle)

    def random(self, seed=0):
        """Deterministic small random weights (tfc_model_random)."""
        handle = self._dll.tfc_model_random(seed)
        if not handle:
            raise self._error()
        return Model(self, handle)


class Model:
    """Loaded weights; read-only, shared by its sessions."""

    def __init__(self, library, handle):
        self.library, self._handle = library, handle
        self.info = library.info

    def __del__(self):
        if getattr(self, "_handle", None):
            self.library._dll.tfc_model_free(self._handle)
            self._handle = None

    def attention_maps(self, tokens):
        """The attention probabilities of `tokens` [layers, heads, n, n] (float32;
        row i the query at position i), for a model compiled with
        `tfc --emit-attention` (compile(..., options=["--emit-attention"]))."""
        tokens = _int32s(tokens)
        dll = self.library._dll
        dims = (ctypes.c_int64 * 4)()
        if dll.tfc_attention_maps_shape(tokens.size, dims) != 4:
            raise self.library._error()
        maps = np.empty(tuple(dims), dtype=np.float32)
        if dll.tfc_attention_maps(self._handle, _ptr(tokens, ctypes.c_int32), tokens.size,
                                  _ptr(maps, ctypes.c_float)) != 0:
            raise self.library._error()
        return maps

    def session(self, max_tokens=None):
        """A new session of capacity max_tokens (default: the model's max_seq)."""
        return Session(self, max_tokens or self.info["max_seq"])

    def generate(self, prompt, max_tokens, sampler=None, stop=(), max_context=None):
        """Token ids that continue `prompt` (up to max_tokens of them, ending
        early at an id of `stop`), sampled by `sampler` (default greedy)."""
        sampler = sampler or Sampler()
        prompt = _int32s(prompt)
        session = self.session(max_context or min(self.info["max_seq"],
                                                  prompt.size + max_tokens))
        logits = session.decode(prompt)
        out = []
        for _ in range(max_tokens):
            next_id = sampler.sample(logits)
            if next_id in stop:
                break
            out.append(next_id)
            if len(out) == max_tokens or session.pos >= session.max_tokens:
                break
            logits = session.decode([next_id])
        return out


class Session:
    """One sequence: its KV cache and position (tfc_session)."""

    def __init__(self, model, max_tokens):
        self.model, self.max_tokens = model, max_tokens
        self._dll = model.library._dll
        self._handle = self._dll.tfc_session_new(model._handle, max_tokens)
        if not self._handle:
            raise model.library._error()

    def __del__(self):
        if getattr(self, "_handle", None):
            self._dll.tfc_session_free(self._handle)
            self._handle = None

    @property
    def pos(self):
        return self._dll.tfc_session_pos(self._handle)

    def reset(self):
        self._dll.tfc_session_reset(self._handle)

    def decode(self, tokens, all_logits=False):
        """Appends `tokens`; returns the last token's logits [vocab], or every
        token's [n, vocab] with all_logits (float32, written in place)."""
        tokens = _int32s(tokens)
        vocab = self.model.info["vocab_size"]
        logits = np.empty((tokens.size, vocab) if all_logits else (vocab,), dtype=np.float32)
        if self._dll.tfc_decode(self._handle, _ptr(tokens, ctypes.c_int32), tokens.size,
                                _ptr(logits, ctypes.c_float), int(all_logits)) != 0:
            raise self.model.library._error()
        return logits

    def encode(self, tokens):
        """Encoder models: the hidden states [n, dim] of `tokens`."""
        tokens = _int32s(tokens)
        out = np.empty((tokens.size, self.model.info["dim"]), dtype=np.float32)
        if self._dll.tfc_encode(self._handle, _ptr(tokens, ctypes.c_int32), tokens.size,
                                _ptr(out, ctypes.c_float)) != 0:
            raise self.model.library._error()
        return out


def decode_batch(sessions, tokens, all_logits=False):
    """Advances several sessions of one model in one call (tfc_decode_batch):
    session k appends tokens[k]. Returns one logits array per session ([vocab],
    or [n_k, vocab] with all_logits). Raises TfcError when a session is refused;
    the others have advanced all the same (see tfc.h)."""
    if not sessions or len(sessions) != len(tokens):
        raise ValueError("one token list per session, at least one session")
    lists = [_int32s(t) for t in tokens]
    counts = np.array([t.size for t in lists], dtype=np.int32)
    flat = np.concatenate(lists)
    vocab = sessions[0].model.info["vocab_size"]
    logits = np.empty((int(counts.sum()) if all_logits else len(sessions), vocab),
                      dtype=np.float32)
    handles = (ctypes.c_void_p * len(sessions))(*[s._handle for s in sessions])
    status = np.zeros(len(sessions), dtype=np.int32)
    dll = sessions[0]._dll
    if dll.tfc_decode_batch(handles, len(sessions), _ptr(flat, ctypes.c_int32),
                            _ptr(counts, ctypes.c_int32), _ptr(logits, ctypes.c_float),
                            int(all_logits), _ptr(status, ctypes.c_int32)) != 0:
        raise sessions[0].model.library._error()
    if not all_logits:
        return list(logits)
    return np.split(logits, np.cumsum(counts)[:-1])


class Sampler:
    """Next-token choice from logits: greedy at temperature 0, else softmax at
    `temperature` over the top_k logits (0: all) within nucleus top_p, drawn
    with numpy's generator seeded by `seed`."""

    def __init__(self, temperature=0.0, top_k=0, top_p=1.0, seed=0):
        if temperature < 0 or top_k < 0 or not 0 < top_p <= 1:
            raise ValueError("temperature >= 0, top_k >= 0 and 0 < top_p <= 1")
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p
        self.rng = np.random.default_rng(seed)

    def sample(self, logits):
        logits = np.asarray(logits, dtype=np.float64)
        if self.temperature == 0:
            return int(np.argmax(logits))
        order = np.argsort(-logits, kind="stable")
        if self.top_k:
            order = order[:self.top_k]
        scaled = logits[order] / self.temperature
        p = np.exp(scaled - scaled.max())
        p /= p.sum()
        keep = int(np.searchsorted(np.cumsum(p), self.top_p) + 1)
        p = p[:keep] / p[:keep].sum()
        return int(order[self.rng.choice(keep, p=p)])


class Tokenizer:
    """A tokenizer.json, llama2.c tokenizer.bin or GGUF vocabulary, through
    the tfc-tokenize tool (the same engine as tfc-run and tfc-serve)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._tool = _tool("tfc-tokenize")

    def encode(self, text, special=True):
        """Token ids of `text` (with the special tokens the post-processor adds
        unless special=False)."""
        args = [self._tool, self.path] + ([] if special else ["--no-special"])
        return [int(t) for t in _run(args, stdin=text).split()]

    def decode(self, ids):
        """The text of token ids."""
        return _run([self._tool, "--decode", self.path],
                    stdin=" ".join(str(int(i)) for i in ids))
