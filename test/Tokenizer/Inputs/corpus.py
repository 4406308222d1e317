"""The texts every tokenizer is checked on (see compare_reference.py).

Each case targets something tokenizers get wrong: whitespace runs, tabs, CRLF,
digits, code, URLs, emoji with ZWJ and flags, CJK, kana, Hangul, Arabic,
Devanagari, accents composed (NFC) and decomposed (NFD), contractions in
mixed case, text that looks like special tokens, the empty text, a very long
word. big_text() builds a multi-megabyte text from them, deterministically.
"""
import random

SPECIAL_LOOKALIKES = (
    "<s>Hello</s> <unk> [CLS] x [SEP] [MASK] [PAD] <|endoftext|> <|begin_of_text|>"
    " <|end_of_text|> <|im_start|>user\nhi<|im_end|> <｜begin▁of▁sentence｜> <mask>"
    " <|endoftext <s <|im_start| [CLS [end] tok tokx xtok ÉCOLE école")


def cases():
    return [
        "Hello world",
        "",
        " ",
        "a  b   c    d     e",
        "  leading and trailing  ",
        "\tx\t\ty\t",
        "line one\r\nline two\r\n\r\nend\n",
        "\n\n\nx\n\n",
        "1234567890 3.14159 1,000,000 007 ½ ² ٣ ۴ १२३",
        "def f(x):\n    return {'a': x ** 2}  # comment\n\tif x != 0: print(f\"{x:>8}\")\n",
        "https://example.com/path/to?q=1&r=%20two#frag mailto:someone@example.org",
        "👩‍👩‍👧‍👦 👨🏽‍💻 🏳️‍🌈 🇫🇷🇯🇵🇺🇸 ❤️ 👍🏿",
        "日本語の文章と中文句子。漢字！",
        "カタカナ ひらがな ｶﾀｶﾅ ㌀",
        "한국어 텍스트입니다 한",
        "مرحبا بالعالم، كيف حالك؟",
        "नमस्ते दुनिया क्षत्रिय",
        "café naïve Ångström résumé",
        "cafe\u0301 nai\u0308ve A\u030angstro\u0308m",
        "I'M you're They'LL we'Ve it's DON'T can't Y'ALL",
        SPECIAL_LOOKALIKES,
        "supercalifragilistic" * 60,
        "ÀÉÎÕÜ ß ẞ İstanbul ΣΑΣ ǅ ﬁ Ⅻ",
        "nbsp\u00a0em\u2003ideo\u3000nel\u0085end",
        "ctrl\u0001\u001f\u007f bom\ufeff zwsp\u200b repl\ufffd pua\ue000",
        "e\u0301\u0302\u0303\u0304 Z\u0351\u0352\u0353",
        "Mixed: tabs\tand  spaces \n\t\n and ümlauts, 42 apples; $19.99!",
    ]


def big_text(size):
    rng = random.Random(20261207)
    words = []
    for text in cases():
        words.extend(text.split(" "))
    words = [w for w in words if w and len(w) < 200]
    parts, length = [], 0
    while length < size:
        word = rng.choice(words)
        sep = rng.choice([" ", " ", " ", " ", "\n", "  ", "\t", ", ", ". "])
        parts.append(word + sep)
        length += len((word + sep).encode())
    return "".join(parts)
