//===- Lexer.cpp - Tokens of tdsl -------------------------------------------===//
//
// A hand-written scanner over the whole buffer (which may hold any bytes,
// including NULs). `#` starts a comment that runs to the end of the line.
// Numbers: digits, an optional fraction `.digits`, an optional exponent
// `e[+-]digits`; `0 .. n` lexes as `0`, `..`, `n` because a `.` only belongs
// to a number when a digit follows it.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/Lexer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringSwitch.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace tfc {

mlir::Location toMLIR(const Location &loc, mlir::MLIRContext &context) {
  return mlir::FileLineColLoc::get(&context, loc.file, loc.line, loc.col);
}

llvm::StringRef spell(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eof: return "end of file";
  case TokenKind::Error: return "invalid token";
  case TokenKind::Identifier: return "name";
  case TokenKind::Integer: return "integer";
  case TokenKind::Float: return "number";
  case TokenKind::String: return "string";
  case TokenKind::KwModel: return "'model'";
  case TokenKind::KwConfig: return "'config'";
  case TokenKind::KwDecoder: return "'decoder'";
  case TokenKind::KwEncoder: return "'encoder'";
  case TokenKind::KwFor: return "'for'";
  case TokenKind::KwIn: return "'in'";
  case TokenKind::KwReturn: return "'return'";
  case TokenKind::KwTrue: return "'true'";
  case TokenKind::KwFalse: return "'false'";
  case TokenKind::LBrace: return "'{'";
  case TokenKind::RBrace: return "'}'";
  case TokenKind::LParen: return "'('";
  case TokenKind::RParen: return "')'";
  case TokenKind::Comma: return "','";
  case TokenKind::Equal: return "'='";
  case TokenKind::Plus: return "'+'";
  case TokenKind::Minus: return "'-'";
  case TokenKind::Star: return "'*'";
  case TokenKind::Slash: return "'/'";
  case TokenKind::At: return "'@'";
  case TokenKind::DotDot: return "'..'";
  }
  return "token";
}

namespace {
bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
} // namespace

Lexer::Lexer(llvm::StringRef buffer, llvm::StringRef fileName, mlir::MLIRContext &context)
    : buffer(buffer), fileName(fileName.str()), context(context), pos(buffer.begin()) {
  tok = lex();
}

const Token &Lexer::next() {
  if (tok.kind == TokenKind::Eof || tok.kind == TokenKind::Error)
    return tok; // sticky: the parser stops at either
  if (hasLookahead) {
    tok = lookahead;
    hasLookahead = false;
  } else {
    tok = lex();
  }
  return tok;
}

const Token &Lexer::peek() {
  if (tok.kind == TokenKind::Eof || tok.kind == TokenKind::Error)
    return tok;
  if (!hasLookahead) {
    lookahead = lex();
    hasLookahead = true;
  }
  return lookahead;
}

char Lexer::advance() {
  char c = *pos++;
  if (c == '\n') {
    ++line;
    col = 1;
  } else {
    ++col;
  }
  return c;
}

Token Lexer::make(TokenKind kind, const char *start, unsigned l, unsigned c) {
  Token t;
  t.kind = kind;
  t.text = llvm::StringRef(start, pos - start);
  t.loc = Location{fileName, l, c};
  return t;
}

Token Lexer::error(const char *start, unsigned l, unsigned c, const llvm::Twine &message) {
  Token t = make(TokenKind::Error, start, l, c);
  mlir::emitError(toMLIR(t.loc, context)) << message.str();
  return t;
}

Token Lexer::lex() {
  const char *end = buffer.end();
  // Whitespace and comments.
  while (pos < end) {
    char c = *pos;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      advance();
    } else if (c == '#') {
      while (pos < end && *pos != '\n')
        advance();
    } else {
      break;
    }
  }
  const char *start = pos;
  unsigned l = line, c0 = col;
  if (pos >= end)
    return make(TokenKind::Eof, start, l, c0);

  char c = advance();
  if (isIdentStart(c)) {
    while (pos < end && isIdentChar(*pos))
      advance();
    Token t = make(TokenKind::Identifier, start, l, c0);
    t.kind = llvm::StringSwitch<TokenKind>(t.text)
                 .Case("model", TokenKind::KwModel)
                 .Case("config", TokenKind::KwConfig)
                 .Case("decoder", TokenKind::KwDecoder)
                 .Case("encoder", TokenKind::KwEncoder)
                 .Case("for", TokenKind::KwFor)
                 .Case("in", TokenKind::KwIn)
                 .Case("return", TokenKind::KwReturn)
                 .Case("true", TokenKind::KwTrue)
                 .Case("false", TokenKind::KwFalse)
                 .Default(TokenKind::Identifier);
    return t;
  }
  if (isDigit(c)) {
    bool isFloat = false;
    while (pos < end && isDigit(*pos))
      advance();
    if (pos + 1 < end && *pos == '.' && isDigit(pos[1])) {
      isFloat = true;
      advance();
      while (pos < end && isDigit(*pos))
        advance();
    }
    if (pos < end && (*pos == 'e' || *pos == 'E')) {
      isFloat = true;
      advance();
      if (pos < end && (*pos == '+' || *pos == '-'))
        advance();
      if (pos >= end || !isDigit(*pos)) {
        while (pos < end && isIdentChar(*pos))
          advance();
        return error(start, l, c0,
                     "bad number '" + llvm::StringRef(start, pos - start) +
                         "': the exponent needs digits");
      }
      while (pos < end && isDigit(*pos))
        advance();
    }
    if (pos < end && (isIdentChar(*pos) || *pos == '.') &&
        !(*pos == '.' && pos + 1 < end && pos[1] == '.')) {
      while (pos < end && (isIdentChar(*pos) || *pos == '.'))
        advance();
      return error(start, l, c0, "bad number '" + llvm::StringRef(start, pos - start) + "'");
    }
    Token t = make(isFloat ? TokenKind::Float : TokenKind::Integer, start, l, c0);
    std::string text = t.text.str();
    if (isFloat) {
      t.floatValue = std::strtod(text.c_str(), nullptr);
    } else if (t.text.getAsInteger(10, t.intValue)) {
      return error(start, l, c0, "integer '" + t.text + "' is too large");
    }
    return t;
  }
  switch (c) {
  case '"': {
    while (pos < end && *pos != '"' && *pos != '\n')
      advance();
    if (pos >= end || *pos != '"')
      return error(start, l, c0, "unterminated string");
    advance();
    Token t = make(TokenKind::String, start, l, c0);
    t.text = t.text.drop_front().drop_back();
    return t;
  }
  case '{': return make(TokenKind::LBrace, start, l, c0);
  case '}': return make(TokenKind::RBrace, start, l, c0);
  case '(': return make(TokenKind::LParen, start, l, c0);
  case ')': return make(TokenKind::RParen, start, l, c0);
  case ',': return make(TokenKind::Comma, start, l, c0);
  case '=': return make(TokenKind::Equal, start, l, c0);
  case '+': return make(TokenKind::Plus, start, l, c0);
  case '-': return make(TokenKind::Minus, start, l, c0);
  case '*': return make(TokenKind::Star, start, l, c0);
  case '/': return make(TokenKind::Slash, start, l, c0);
  case '@': return make(TokenKind::At, start, l, c0);
  case '.':
    if (pos < end && *pos == '.') {
      advance();
      return make(TokenKind::DotDot, start, l, c0);
    }
    break;
  default:
    break;
  }
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f)
    return error(start, l, c0, "unexpected character '" + llvm::Twine(c) + "'");
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", u);
  return error(start, l, c0, llvm::Twine("unexpected byte ") + hex);
}

} // namespace tfc
