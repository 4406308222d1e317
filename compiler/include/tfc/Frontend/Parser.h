//===- Parser.h - Recursive-descent parser of tdsl ---------------*- C++ -*-===//
//
// Builds a ModuleAST from the tokens of one buffer (SPEC §2 grammar). The parser
// stops at the first syntax error, which it reports through the MLIRContext's
// diagnostic engine at the offending token. Expression nesting is capped so
// that no input, however deep, exhausts the stack.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_PARSER_H
#define TFC_FRONTEND_PARSER_H

#include "tfc/Frontend/AST.h"
#include "tfc/Frontend/Lexer.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>

namespace tfc {

/// The deepest expression (or loop) nesting the parser accepts.
constexpr unsigned kMaxNestingDepth = 200;

class Parser {
public:
  Parser(Lexer &lexer, mlir::MLIRContext &context) : lexer(lexer), context(context) {}

  /// Parses a whole file; null after a (reported) syntax error.
  std::unique_ptr<ModuleAST> parseModule();

private:
  bool parseConfig(ModuleAST &module);
  bool parseFunction(ModuleAST &module);
  StmtPtr parseStatement(unsigned depth);
  bool parseBlock(std::vector<StmtPtr> &body, unsigned depth, FunctionAST *function);
  ExprPtr parseExpr(unsigned depth);
  ExprPtr parseBinaryRHS(int minPrec, ExprPtr lhs, unsigned depth);
  ExprPtr parseUnary(unsigned depth);
  ExprPtr parsePrimary(unsigned depth);
  ExprPtr parseCall(unsigned depth);
  std::optional<ScopeAST> parseScope();

  const Token &tok() const { return lexer.current(); }
  bool expect(TokenKind kind, llvm::StringRef context);
  /// Reports `message` at `loc` unless the lexer already reported an error here.
  std::nullptr_t error(const Location &loc, const llvm::Twine &message);
  std::nullptr_t unexpected(llvm::StringRef expected);

  Lexer &lexer;
  mlir::MLIRContext &context;
  /// Parsing a loop's upper bound at its top level, where `@` starts the loop's scope.
  bool inLoopHeader = false;
};

/// Parses the main buffer of `sourceMgr` (syntax only: mlirGen makes the
/// semantic checks). Every error is emitted through `context`'s diagnostic engine
/// at a FileLineColLoc. Returns null after any error.
std::unique_ptr<ModuleAST> parseTdsl(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context);

} // namespace tfc

#endif // TFC_FRONTEND_PARSER_H
