//===- Parser.cpp - Recursive-descent parser of tdsl ------------------------===//
//
// One function per grammar rule of SPEC §2. Binary operators use precedence
// climbing (`*` `/` over `+` `-`, left associative); `@ "scope"` is a postfix of
// a call only. Each recursion carries a depth and the tree height of every
// expression is bounded by kMaxNestingDepth, so later recursive walks are safe.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/Parser.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/ScopeExit.h"

#include <utility>

namespace tfc {

std::nullptr_t Parser::error(const Location &loc, const llvm::Twine &message) {
  mlir::emitError(toMLIR(loc, context)) << message.str();
  return nullptr;
}

std::nullptr_t Parser::unexpected(llvm::StringRef expected) {
  // The lexer has reported its own error for an Error token.
  if (tok().kind == TokenKind::Error)
    return nullptr;
  std::string got = spell(tok().kind).str();
  if (tok().kind == TokenKind::Identifier || tok().kind == TokenKind::Integer ||
      tok().kind == TokenKind::Float)
    got += " '" + tok().text.str() + "'";
  else if (tok().kind == TokenKind::String)
    got += " \"" + tok().text.str() + "\"";
  return error(tok().loc, "expected " + expected + ", got " + got);
}

bool Parser::expect(TokenKind kind, llvm::StringRef what) {
  if (tok().kind == kind) {
    lexer.next();
    return true;
  }
  unexpected((spell(kind) + what).str());
  return false;
}

std::unique_ptr<ModuleAST> Parser::parseModule() {
  auto module = std::make_unique<ModuleAST>();
  module->loc = tok().loc;
  if (tok().kind != TokenKind::KwModel)
    return unexpected("'model' at the start of the file");
  lexer.next();
  if (tok().kind != TokenKind::Identifier)
    return unexpected("the model's name after 'model'");
  module->name = tok().text.str();
  lexer.next();
  if (!expect(TokenKind::LBrace, " after the model's name"))
    return nullptr;
  if (tok().kind == TokenKind::KwConfig && !parseConfig(*module))
    return nullptr;
  while (tok().kind == TokenKind::KwDecoder || tok().kind == TokenKind::KwEncoder)
    if (!parseFunction(*module))
      return nullptr;
  if (tok().kind != TokenKind::RBrace)
    return unexpected(module->functions.empty() && module->config.empty()
                          ? "'config', 'decoder' or 'encoder'"
                          : "'decoder', 'encoder' or '}'");
  lexer.next();
  if (tok().kind != TokenKind::Eof)
    return unexpected("end of file after the model");
  return module;
}

bool Parser::parseConfig(ModuleAST &module) {
  lexer.next(); // config
  if (!expect(TokenKind::LBrace, " after 'config'"))
    return false;
  while (tok().kind == TokenKind::Identifier) {
    ConfigEntryAST entry;
    entry.name = tok().text.str();
    entry.loc = tok().loc;
    lexer.next();
    if (!expect(TokenKind::Equal, " after the config name"))
      return false;
    entry.value = parseExpr(0);
    if (!entry.value)
      return false;
    module.config.push_back(std::move(entry));
  }
  if (tok().kind != TokenKind::RBrace) {
    unexpected("a config entry (NAME = expr) or '}'");
    return false;
  }
  lexer.next();
  return true;
}

bool Parser::parseFunction(ModuleAST &module) {
  FunctionAST function;
  function.name = tok().text.str();
  function.loc = tok().loc;
  lexer.next();
  if (!expect(TokenKind::LParen, " after the function name"))
    return false;
  while (true) {
    if (tok().kind != TokenKind::Identifier) {
      unexpected("a parameter name");
      return false;
    }
    function.params.push_back({tok().text.str(), tok().loc});
    lexer.next();
    if (tok().kind == TokenKind::Comma) {
      lexer.next();
      continue;
    }
    if (!expect(TokenKind::RParen, " after the parameters"))
      return false;
    break;
  }
  if (!expect(TokenKind::LBrace, " before the function body"))
    return false;
  if (!parseBlock(function.body, 0, &function))
    return false;
  module.functions.push_back(std::move(function));
  return true;
}

/// Parses statements up to the closing '}' (consumed). At function level
/// (`function` set) the block must end with `return expr`.
bool Parser::parseBlock(std::vector<StmtPtr> &body, unsigned depth, FunctionAST *function) {
  while (true) {
    switch (tok().kind) {
    case TokenKind::RBrace:
      if (function) {
        error(tok().loc, "function '" + function->name + "' must end with a return");
        return false;
      }
      lexer.next();
      return true;
    case TokenKind::KwReturn: {
      if (!function) {
        error(tok().loc, "return must be the last statement of a function, not inside a loop");
        return false;
      }
      function->returnLoc = tok().loc;
      lexer.next();
      function->returnValue = parseExpr(0);
      if (!function->returnValue)
        return false;
      if (tok().kind != TokenKind::RBrace) {
        unexpected("'}': the return must be the last statement of the function");
        return false;
      }
      lexer.next();
      return true;
    }
    default: {
      StmtPtr stmt = parseStatement(depth);
      if (!stmt)
        return false;
      body.push_back(std::move(stmt));
    }
    }
  }
}

StmtPtr Parser::parseStatement(unsigned depth) {
  if (tok().kind == TokenKind::KwFor) {
    if (depth >= kMaxNestingDepth)
      return error(tok().loc, "loops nested too deeply (more than " +
                                  llvm::Twine(kMaxNestingDepth) + " levels)");
    Location loc = tok().loc;
    lexer.next();
    if (tok().kind != TokenKind::Identifier)
      return unexpected("the loop variable after 'for'");
    auto loop = std::make_unique<ForStmtAST>(loc, tok().text.str(), tok().loc);
    lexer.next();
    if (!expect(TokenKind::KwIn, " after the loop variable"))
      return nullptr;
    if (!(loop->start = parseExpr(0)))
      return nullptr;
    if (!expect(TokenKind::DotDot, " between the loop bounds"))
      return nullptr;
    // `@` after the bound is the loop's scope, not a call's.
    inLoopHeader = true;
    loop->end = parseExpr(0);
    inLoopHeader = false;
    if (!loop->end)
      return nullptr;
    if (tok().kind == TokenKind::At && !(loop->scope = parseScope()))
      return nullptr;
    if (!expect(TokenKind::LBrace, " before the loop body"))
      return nullptr;
    if (!parseBlock(loop->body, depth + 1, nullptr))
      return nullptr;
    return loop;
  }
  if (tok().kind != TokenKind::Identifier)
    return unexpected("a statement (NAME = expr, 'for' or 'return')");
  Location loc = tok().loc;
  std::string name = tok().text.str();
  lexer.next();
  if (tok().kind != TokenKind::Equal)
    return unexpected("'=' after '" + name + "' (a statement is NAME = expr)");
  lexer.next();
  ExprPtr value = parseExpr(0);
  if (!value)
    return nullptr;
  return std::make_unique<AssignStmtAST>(loc, name, std::move(value));
}

std::optional<ScopeAST> Parser::parseScope() {
  lexer.next(); // @
  if (tok().kind != TokenKind::String) {
    unexpected("a scope string after '@'");
    return std::nullopt;
  }
  ScopeAST scope{tok().text.str(), tok().loc};
  lexer.next();
  return scope;
}

namespace {
int precedence(TokenKind kind) {
  switch (kind) {
  case TokenKind::Plus:
  case TokenKind::Minus:
    return 1;
  case TokenKind::Star:
  case TokenKind::Slash:
    return 2;
  default:
    return -1;
  }
}
} // namespace

ExprPtr Parser::parseExpr(unsigned depth) {
  if (depth >= kMaxNestingDepth)
    return error(tok().loc, "expression nested too deeply (more than " +
                                llvm::Twine(kMaxNestingDepth) + " levels)");
  ExprPtr lhs = parseUnary(depth + 1);
  if (!lhs)
    return nullptr;
  return parseBinaryRHS(0, std::move(lhs), depth + 1);
}

ExprPtr Parser::parseBinaryRHS(int minPrec, ExprPtr lhs, unsigned depth) {
  while (true) {
    int prec = precedence(tok().kind);
    if (prec < minPrec || prec < 0)
      return lhs;
    char op = tok().text.front();
    Location opLoc = tok().loc;
    lexer.next();
    ExprPtr rhs = parseUnary(depth + 1);
    if (!rhs)
      return nullptr;
    int nextPrec = precedence(tok().kind);
    if (nextPrec > prec) {
      rhs = parseBinaryRHS(prec + 1, std::move(rhs), depth + 1);
      if (!rhs)
        return nullptr;
    }
    unsigned height = std::max(lhs->depth, rhs->depth) + 1;
    if (height >= kMaxNestingDepth)
      return error(opLoc, "expression nested too deeply (more than " +
                              llvm::Twine(kMaxNestingDepth) + " levels)");
    lhs = std::make_unique<BinaryExprAST>(opLoc, op, std::move(lhs), std::move(rhs));
    lhs->depth = height;
  }
}

ExprPtr Parser::parseUnary(unsigned depth) {
  if (depth >= kMaxNestingDepth)
    return error(tok().loc, "expression nested too deeply (more than " +
                                llvm::Twine(kMaxNestingDepth) + " levels)");
  if (tok().kind != TokenKind::Minus)
    return parsePrimary(depth + 1);
  Location loc = tok().loc;
  lexer.next();
  ExprPtr operand = parseUnary(depth + 1);
  if (!operand)
    return nullptr;
  unsigned height = operand->depth + 1;
  auto e = std::make_unique<UnaryExprAST>(loc, std::move(operand));
  e->depth = height;
  return e;
}

ExprPtr Parser::parsePrimary(unsigned depth) {
  if (depth >= kMaxNestingDepth)
    return error(tok().loc, "expression nested too deeply (more than " +
                                llvm::Twine(kMaxNestingDepth) + " levels)");
  ExprPtr result;
  const Token &t = tok();
  switch (t.kind) {
  case TokenKind::Integer:
    result = std::make_unique<NumberExprAST>(t.loc, true, t.intValue, double(t.intValue));
    lexer.next();
    break;
  case TokenKind::Float:
    result = std::make_unique<NumberExprAST>(t.loc, false, 0, t.floatValue);
    lexer.next();
    break;
  case TokenKind::String:
    result = std::make_unique<StringExprAST>(t.loc, t.text.str());
    lexer.next();
    break;
  case TokenKind::KwTrue:
  case TokenKind::KwFalse:
    result = std::make_unique<BoolExprAST>(t.loc, t.kind == TokenKind::KwTrue);
    lexer.next();
    break;
  case TokenKind::Identifier:
    if (lexer.peek().kind == TokenKind::LParen)
      return parseCall(depth);
    result = std::make_unique<VarExprAST>(t.loc, t.text.str());
    lexer.next();
    break;
  case TokenKind::LParen: {
    lexer.next();
    bool header = std::exchange(inLoopHeader, false);
    result = parseExpr(depth + 1);
    inLoopHeader = header;
    if (!result)
      return nullptr;
    if (!expect(TokenKind::RParen, " to close '('"))
      return nullptr;
    break;
  }
  default:
    return unexpected("an expression");
  }
  if (tok().kind == TokenKind::At && !inLoopHeader)
    return error(tok().loc, "'@' must follow a call: a scope names the weights of a builtin call "
                            "or a loop");
  return result;
}

ExprPtr Parser::parseCall(unsigned depth) {
  auto call = std::make_unique<CallExprAST>(tok().loc, tok().text.str());
  lexer.next(); // name
  lexer.next(); // (
  unsigned height = 1;
  bool header = std::exchange(inLoopHeader, false);
  auto restore = llvm::make_scope_exit([&] { inLoopHeader = header; });
  if (tok().kind != TokenKind::RParen) {
    while (true) {
      if (tok().kind == TokenKind::Identifier && lexer.peek().kind == TokenKind::Equal) {
        KeywordArgAST kw;
        kw.name = tok().text.str();
        kw.loc = tok().loc;
        lexer.next();
        lexer.next();
        if (!(kw.value = parseExpr(depth + 1)))
          return nullptr;
        height = std::max(height, kw.value->depth + 1);
        call->keywords.push_back(std::move(kw));
      } else {
        Location loc = tok().loc;
        ExprPtr arg = parseExpr(depth + 1);
        if (!arg)
          return nullptr;
        if (!call->keywords.empty())
          return error(loc, "positional argument after keyword arguments in call of '" +
                                call->callee + "'");
        height = std::max(height, arg->depth + 1);
        call->args.push_back(std::move(arg));
      }
      if (tok().kind == TokenKind::Comma) {
        lexer.next();
        continue;
      }
      break;
    }
  }
  if (!expect(TokenKind::RParen, " to close the arguments of '" + call->callee + "'"))
    return nullptr;
  call->depth = height;
  if (header)
    return call; // a `@` here is the loop's scope
  if (tok().kind == TokenKind::At && !(call->scope = parseScope()))
    return nullptr;
  return call;
}

std::unique_ptr<ModuleAST> parseTdsl(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context) {
  if (sourceMgr.getNumBuffers() == 0) {
    mlir::emitError(mlir::UnknownLoc::get(&context)) << "no tdsl source";
    return nullptr;
  }
  // Any error reported while lexing or parsing, whoever reports it, fails the parse.
  bool sawError = false;
  mlir::ScopedDiagnosticHandler watch(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
      sawError = true;
    return mlir::failure(); // let the driver's handler print it
  });
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  Lexer lexer(buffer->getBuffer(), buffer->getBufferIdentifier(), context);
  Parser parser(lexer, context);
  std::unique_ptr<ModuleAST> module = parser.parseModule();
  if (!module || sawError)
    return nullptr;
  return module;
}

} // namespace tfc
