//===- Tokenizer.cpp - llama2.c tokenizer.bin encoder/decoder -------------===//
//
// Loading validates every record before trusting it (the file may be anything),
// and encoding follows llama2.c's `encode` step by step, including its quirks
// (merge candidates must beat -1e10, ties go to the leftmost pair, the BOS
// piece takes part in merges, malformed UTF-8 is chunked at 4 bytes) so that
// ids match what llama2.c and the model's training data produce.
//
//===----------------------------------------------------------------------===//
#include "Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace tfc;

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Reads a little-endian 4-byte value at `offset` (the format is written by
/// Python's struct with native order on little-endian hosts).
template <typename T> T readScalar(llvm::StringRef bytes, size_t offset) {
  static_assert(sizeof(T) == 4, "tokenizer.bin fields are 4 bytes");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// The byte value of a `<0xNN>` piece, or -1.
int byteOfPiece(llvm::StringRef piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece.back() != '>')
    return -1;
  int hi = hexDigit(piece[3]), lo = hexDigit(piece[4]);
  if (hi < 0 || lo < 0)
    return -1;
  return hi * 16 + lo;
}

// A sanity bound: real vocabularies have pieces of a few dozen bytes; a huge
// value means the file is not a tokenizer.bin.
constexpr int32_t kMaxPieceLength = 1 << 16;

} // namespace

llvm::Expected<Tokenizer> Tokenizer::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot open tokenizer '" + path + "': " + buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

llvm::Expected<Tokenizer> Tokenizer::parse(llvm::StringRef bytes, llvm::StringRef name) {
  auto bad = [&](const llvm::Twine &msg) {
    return makeError("invalid tokenizer '" + name + "': " + msg);
  };
  if (bytes.size() < 4)
    return bad("file of " + llvm::Twine(bytes.size()) +
               " bytes is too short for the max_token_length header");
  Tokenizer tok;
  tok.maxTokenLength = readScalar<int32_t>(bytes, 0);
  if (tok.maxTokenLength < 1 || tok.maxTokenLength > kMaxPieceLength)
    return bad("max_token_length " + llvm::Twine(tok.maxTokenLength) + " is not in [1, " +
               llvm::Twine(kMaxPieceLength) + "]");

  size_t offset = 4;
  while (offset < bytes.size()) {
    int32_t id = tok.vocabSize();
    if (bytes.size() - offset < 8)
      return bad("truncated record of token " + llvm::Twine(id) + " at byte offset " +
                 llvm::Twine(offset));
    float score = readScalar<float>(bytes, offset);
    int32_t length = readScalar<int32_t>(bytes, offset + 4);
    if (length < 0 || length > tok.maxTokenLength)
      return bad("token " + llvm::Twine(id) + " has length " + llvm::Twine(length) +
                 " (max_token_length " + llvm::Twine(tok.maxTokenLength) + ") at byte offset " +
                 llvm::Twine(offset + 4));
    offset += 8;
    if (bytes.size() - offset < static_cast<size_t>(length))
      return bad("truncated piece of token " + llvm::Twine(id) + " at byte offset " +
                 llvm::Twine(offset) + " (" + llvm::Twine(length) + " bytes, " +
                 llvm::Twine(bytes.size() - offset) + " left)");
    llvm::StringRef piece = bytes.substr(offset, length);
    offset += length;
    tok.pieces.push_back(piece.str());
    tok.scores.push_back(score);
    // llama2.c's bsearch over duplicates is unspecified; the lowest id is the
    // deterministic choice (the shipped vocabularies have no duplicates).
    tok.ids.try_emplace(piece, id);
  }
  if (tok.vocabSize() <= kEos)
    return bad("vocabulary has " + llvm::Twine(tok.vocabSize()) +
               " pieces, expected at least 3 (<unk>, <s>, </s>)");
  return std::move(tok);
}

int32_t Tokenizer::lookup(llvm::StringRef piece) const {
  auto it = ids.find(piece);
  return it == ids.end() ? -1 : it->second;
}

llvm::Expected<std::vector<int32_t>> Tokenizer::encode(llvm::StringRef text) const {
  std::vector<int32_t> tokens;
  tokens.push_back(kBos);
  auto pushByte = [&](unsigned char byte) -> llvm::Error {
    int32_t id = kFirstByteId + byte;
    if (id >= vocabSize())
      return makeError("tokenizer has no byte-fallback piece for byte 0x" +
                       llvm::utohexstr(byte, /*LowerCase=*/false, /*Width=*/2) +
                       " (vocabulary of " + llvm::Twine(vocabSize()) + ")");
    tokens.push_back(id);
    return llvm::Error::success();
  };

  if (!text.empty()) {
    // The dummy prefix (SentencePiece's add_dummy_prefix).
    int32_t space = lookup(" ");
    if (space >= 0)
      tokens.push_back(space);
    else if (llvm::Error err = pushByte(' '))
      return std::move(err);
  }

  // One lookup per UTF-8 codepoint; a codepoint is a lead byte plus up to
  // three continuation bytes (longer runs are cut at 4 bytes, as llama2.c does).
  std::string codepoint;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if ((c & 0xC0) != 0x80)
      codepoint.clear();
    codepoint.push_back(static_cast<char>(c));
    unsigned char next = i + 1 < text.size() ? text[i + 1] : 0;
    if ((next & 0xC0) == 0x80 && codepoint.size() < 4)
      continue;
    int32_t id = lookup(codepoint);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (char byte : codepoint)
        if (llvm::Error err = pushByte(static_cast<unsigned char>(byte)))
          return std::move(err);
    }
    codepoint.clear();
  }

  // Merge the best-scoring adjacent pair until none is a piece. The merge
  // result of each pair is cached and only the two neighbours of a merge are
  // looked up again, so a merge costs one scan, not one lookup per pair.
  struct Candidate {
    int32_t id;
    float score;
  };
  std::string joined;
  auto candidateAt = [&](size_t i) -> Candidate {
    joined.assign(pieces[tokens[i]]);
    joined.append(pieces[tokens[i + 1]]);
    int32_t id = lookup(joined);
    return {id, id >= 0 ? scores[id] : 0.0f};
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i + 1 < tokens.size(); ++i)
    candidates.push_back(candidateAt(i));

  while (true) {
    float bestScore = -1e10f;
    int64_t best = -1;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].id >= 0 && candidates[i].score > bestScore) {
        bestScore = candidates[i].score;
        best = static_cast<int64_t>(i);
      }
    }
    if (best < 0)
      break;
    tokens[best] = candidates[best].id;
    tokens.erase(tokens.begin() + best + 1);
    candidates.erase(candidates.begin() + best);
    if (best > 0)
      candidates[best - 1] = candidateAt(best - 1);
    if (static_cast<size_t>(best) < candidates.size())
      candidates[best] = candidateAt(best);
  }
  return tokens;
}

std::string Tokenizer::decodePiece(int32_t prev, int32_t token) const {
  if (token == kBos || token == kEos)
    return {};
  llvm::StringRef piece = pieces[token];
  // SentencePiece strips the dummy prefix's space from the first piece.
  if (prev == kBos && piece.starts_with(" "))
    piece = piece.drop_front();
  int byte = byteOfPiece(piece);
  if (byte >= 0)
    return std::string(1, static_cast<char>(byte));
  return piece.str();
}

llvm::Expected<std::string> Tokenizer::decode(llvm::ArrayRef<int32_t> tokens) const {
  std::string text;
  int32_t prev = -1;
  for (int32_t token : tokens) {
    if (token < 0 || token >= vocabSize())
      return makeError("token id " + llvm::Twine(token) + " is out of range for a vocabulary of " +
                       llvm::Twine(vocabSize()));
    text += decodePiece(prev, token);
    prev = token;
  }
  return text;
}
