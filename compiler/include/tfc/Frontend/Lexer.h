//===- Lexer.h - Tokens of tdsl ----------------------------------*- C++ -*-===//
//
// Splits a tdsl buffer into tokens, each with its line and column, so that every
// later diagnostic can point at the source. Newlines are whitespace: statements
// end where the expression grammar cannot continue. A malformed token (a stray
// character, an unterminated string, a bad number) becomes an Error token after
// the lexer has emitted a diagnostic at its location.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_LEXER_H
#define TFC_FRONTEND_LEXER_H

#include "mlir/IR/Location.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace tfc {

/// A position in the source: the file name and 1-based line and column.
struct Location {
  std::string file;
  unsigned line = 0;
  unsigned col = 0;
};

enum class TokenKind {
  Eof,
  Error,
  Identifier,
  Integer,
  Float,
  String,
  // Keywords.
  KwModel,
  KwConfig,
  KwDecoder,
  KwEncoder,
  KwFor,
  KwIn,
  KwReturn,
  KwTrue,
  KwFalse,
  // Punctuation.
  LBrace,
  RBrace,
  LParen,
  RParen,
  Comma,
  Equal,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  DotDot,
};

/// How a token kind reads in a diagnostic ("'{'", "identifier", ...).
llvm::StringRef spell(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::Eof;
  /// The source text (for strings: the contents without the quotes).
  llvm::StringRef text;
  int64_t intValue = 0;
  double floatValue = 0;
  Location loc;
};

class Lexer {
public:
  /// `buffer` must outlive the lexer and its tokens; diagnostics go to `context`.
  Lexer(llvm::StringRef buffer, llvm::StringRef fileName, mlir::MLIRContext &context);

  const Token &current() const { return tok; }
  /// Moves to the next token and returns it.
  const Token &next();
  /// The token after the current one, without consuming anything.
  const Token &peek();

private:
  Token lex();
  Token make(TokenKind kind, const char *start, unsigned line, unsigned col);
  Token error(const char *start, unsigned line, unsigned col, const llvm::Twine &message);
  char advance();

  llvm::StringRef buffer;
  std::string fileName;
  mlir::MLIRContext &context;
  const char *pos;
  unsigned line = 1, col = 1;
  Token tok;
  Token lookahead;
  bool hasLookahead = false;
};

/// The MLIR location of a source position.
mlir::Location toMLIR(const Location &loc, mlir::MLIRContext &context);

} // namespace tfc

#endif // TFC_FRONTEND_LEXER_H
