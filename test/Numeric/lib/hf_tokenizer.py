#===- hf_tokenizer.py - Small tokenizers for the test checkpoints -----------===#
#
# The tokenizer files a Hugging Face model directory ships beside its weights, for
# the small checkpoints of hf_checkpoint.py (vocab 97), so that tfc-run can be driven
# from the directory alone:
#
#   * BERT: tokenizer.json as BertTokenizerFast saves it (BertNormalizer lowercasing,
#     BertPreTokenizer, WordPiece with "##" continuations, [CLS] $A [SEP] through a
#     TemplateProcessing post-processor, WordPiece decoder) and its
#     tokenizer_config.json;
#   * Marian: a SentencePiece-style Unigram tokenizer.json (Metaspace "▁" pre-tokenizer
#     and decoder, $A </s> as MarianTokenizer appends eos to the source), ids laid out
#     as Opus-MT's vocabularies are: </s> 0, <unk> 1, <pad> last. (transformers has no
#     fast Marian tokenizer; an Opus-MT directory ships SentencePiece models instead,
#     which a converted tokenizer.json like this one replaces.)
#
# Only the files are written here; what ids a text gets is the tokenizer engine's
# business (test/Tokenizer checks it against the tokenizers library's semantics).
#
#===----------------------------------------------------------------------===#

import json
import os

VOCAB_SIZE = 97

_WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "small", "big", "house",
          "tree", "is", "was", "and", "to", "of", "in", "it", "he", "she", "they", "we",
          "red", "blue", "green", ".", ",", "!", "?"]
_LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]


def _special(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def _fill(pieces, prefix):
    """pieces padded with unused entries to VOCAB_SIZE ids."""
    out = list(pieces)
    while len(out) < VOCAB_SIZE:
        out.append("%s%d" % (prefix, len(out)))
    return out[:VOCAB_SIZE]


def bert_files():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = _fill(specials + _WORDS + ["##ed", "##ing", "##er", "##ly"] + _LETTERS +
                  ["##" + c for c in _LETTERS], "[unused")
    ids = {p: i for i, p in enumerate(vocab)}

    def special_token(name):
        return {"SpecialToken": {"id": name, "type_id": 0}}

    def sequence(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}

    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [_special(ids[s], s) for s in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special_token("[CLS]"), sequence("A", 0), special_token("[SEP]")],
            "pair": [special_token("[CLS]"), sequence("A", 0), special_token("[SEP]"),
                     sequence("B", 1), {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {s: {"id": s, "ids": [ids[s]], "tokens": [s]}
                               for s in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }
    config = {"clean_up_tokenization_spaces": True, "cls_token": "[CLS]",
              "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": 512,
              "pad_token": "[PAD]", "sep_token": "[SEP]", "strip_accents": None,
              "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer",
              "unk_token": "[UNK]"}
    return tokenizer, config


def marian_files():
    pieces = ["</s>", "<unk>"] + ["\u2581" + w for w in _WORDS] + ["\u2581"] + _LETTERS
    pieces = _fill(pieces, "\u2581unused")
    pieces[VOCAB_SIZE - 1] = "<pad>"
    # Unigram scores: log-probabilities, whole words likelier than their letters.
    vocab = [[p, 0.0 if p in ("</s>", "<unk>", "<pad>") else -2.0 - 0.1 * i]
             for i, p in enumerate(pieces)]
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                 "split": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [_special(0, "</s>"), _special(1, "<unk>"),
                         _special(VOCAB_SIZE - 1, "<pad>")],
        "normalizer": None,
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [0], "tokens": ["</s>"]}}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 1, "vocab": vocab, "byte_fallback": False},
    }
    config = {"eos_token": "</s>", "model_max_length": 512, "pad_token": "<pad>",
              "tokenizer_class": "MarianTokenizer", "unk_token": "<unk>"}
    return tokenizer, config


TOKENIZERS = {"BertModel": bert_files, "BertForMaskedLM": bert_files,
              "MarianMTModel": marian_files}


def write_tokenizer(arch, out_dir):
    """Writes tokenizer.json and tokenizer_config.json for arch into out_dir."""
    if arch not in TOKENIZERS:
        raise ValueError("no test tokenizer for %s (have: %s)" % (arch, ", ".join(TOKENIZERS)))
    tokenizer, config = TOKENIZERS[arch]()
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=2)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
