"""Writes the multilingual text of bench/tokenizer.sh (deterministic).

usage: tokenizer_text.py OUT SIZE_MB

Paragraphs in English, German, French, Russian, Greek, Chinese, Japanese,
Korean, Arabic, Hindi and code, built from syllables of each script so that
words repeat as they do in prose (a Zipf-like choice from a large word list)
rather than from a handful of words that any cache would hold.
"""
import random
import sys

SYLLABLES = {
    "en": "the an ing er ed on re in st al or ar ic ent ly pro con com de ex mo ta ri".split(),
    "de": "sch ei ung en ge ver be ich lich keit ste ber zu au ie".split(),
    "fr": "le la ou qu ai eau ion ment é è ê ç re de con pré".split(),
    "ru": "при про ств ени ова ать ный ско раз под ние ть ло ка".split(),
    "el": "το κα ρι ση μα νο πο λη τα ει αι ου".split(),
    "zh": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"),
    "ja": list("のにはをたがでてとしれさあいうえおかきくけこカタナハマヤラワ"),
    "ko": list("이다는의에하고을를가한지서로도기사으"),
    "ar": "ال من في على ها ون ين ات ية كا لم".split(),
    "hi": "के है में की और से को ना रा ता नि प्र".split(),
}
SPACED = {"en", "de", "fr", "ru", "el", "ar", "hi", "ko"}
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
        "if err != nil {\n    return fmt.Errorf(\"read %s: %w\", path, err)\n}\n",
        "https://example.org/search?q=tokenizer&lang=en#results "]


def main():
    out, size = sys.argv[1], int(float(sys.argv[2]) * 1024 * 1024)
    rng = random.Random(7)
    vocab = {}
    for lang, syllables in SYLLABLES.items():
        words = set()
        while len(words) < 3000:
            words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
        vocab[lang] = sorted(words)
    parts, length = [], 0
    while length < size:
        lang = rng.choice(list(SYLLABLES) + ["code"])
        if lang == "code":
            para = rng.choice(CODE) * rng.randint(1, 3)
        else:
            words = vocab[lang]
            # Zipf-like: low indices far more often.
            chosen = [words[min(int(rng.paretovariate(1.1)) - 1, len(words) - 1)]
                      for _ in range(rng.randint(20, 80))]
            sep = " " if lang in SPACED else ""
            para = sep.join(w.capitalize() if i == 0 else w for i, w in enumerate(chosen))
            para += rng.choice([". ", "! ", "? ", "。", ", 1984. "]) + "\n"
            if rng.random() < 0.2:
                para += "\n"
        parts.append(para)
        length += len(para.encode())
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(parts))


if __name__ == "__main__":
    main()
