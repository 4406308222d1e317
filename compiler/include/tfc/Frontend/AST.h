//===- AST.h - The tdsl syntax tree ------------------------------*- C++ -*-===//
//
// The parsed form of a .tdsl file: a model with its config block and its
// functions. Every node carries its source location; MLIRGen turns the tree
// into the attn dialect and reports semantic errors at these locations.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_FRONTEND_AST_H
#define TFC_FRONTEND_AST_H

#include "tfc/Frontend/Lexer.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfc {

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class ExprAST {
public:
  enum Kind { Number, String, Bool, Var, Unary, Binary, Call };
  ExprAST(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~ExprAST() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }
  /// Height of the tree below this node (the parser caps it, so walks can recurse).
  unsigned depth = 1;

private:
  const Kind kind;
  Location loc;
};

using ExprPtr = std::unique_ptr<ExprAST>;

/// An integer or a decimal literal.
class NumberExprAST : public ExprAST {
public:
  NumberExprAST(Location loc, bool isInteger, int64_t i, double f)
      : ExprAST(Number, std::move(loc)), isInteger(isInteger), intValue(i), floatValue(f) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Number; }
  bool isInteger;
  int64_t intValue;
  double floatValue;
};

class StringExprAST : public ExprAST {
public:
  StringExprAST(Location loc, std::string value)
      : ExprAST(String, std::move(loc)), value(std::move(value)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == String; }
  std::string value;
};

class BoolExprAST : public ExprAST {
public:
  BoolExprAST(Location loc, bool value) : ExprAST(Bool, std::move(loc)), value(value) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Bool; }
  bool value;
};

class VarExprAST : public ExprAST {
public:
  VarExprAST(Location loc, std::string name) : ExprAST(Var, std::move(loc)), name(std::move(name)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Var; }
  std::string name;
};

/// `-operand`.
class UnaryExprAST : public ExprAST {
public:
  UnaryExprAST(Location loc, ExprPtr operand)
      : ExprAST(Unary, std::move(loc)), operand(std::move(operand)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Unary; }
  ExprPtr operand;
};

/// `lhs op rhs` with op one of `+ - * /`; the location is the operator's.
class BinaryExprAST : public ExprAST {
public:
  BinaryExprAST(Location loc, char op, ExprPtr lhs, ExprPtr rhs)
      : ExprAST(Binary, std::move(loc)), op(op), lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Binary; }
  char op;
  ExprPtr lhs, rhs;
};

/// A string from `@ "..."`, with the location of the string.
struct ScopeAST {
  std::string text;
  Location loc;
};

struct KeywordArgAST {
  std::string name;
  Location loc;
  ExprPtr value;
};

/// `callee(args..., name = value, ...) @ "scope"`.
class CallExprAST : public ExprAST {
public:
  CallExprAST(Location loc, std::string callee) : ExprAST(Call, std::move(loc)), callee(std::move(callee)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Call; }
  std::string callee;
  std::vector<ExprPtr> args;
  std::vector<KeywordArgAST> keywords;
  std::optional<ScopeAST> scope;
};

//===----------------------------------------------------------------------===//
// Statements, functions, the model
//===----------------------------------------------------------------------===//

class StmtAST {
public:
  enum Kind { Assign, For };
  StmtAST(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~StmtAST() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }

private:
  const Kind kind;
  Location loc;
};

using StmtPtr = std::unique_ptr<StmtAST>;

/// `name = value`; the location is the name's.
class AssignStmtAST : public StmtAST {
public:
  AssignStmtAST(Location loc, std::string name, ExprPtr value)
      : StmtAST(Assign, std::move(loc)), name(std::move(name)), value(std::move(value)) {}
  static bool classof(const StmtAST *s) { return s->getKind() == Assign; }
  std::string name;
  ExprPtr value;
};

/// `for var in start .. end @ "scope" { body }`.
class ForStmtAST : public StmtAST {
public:
  ForStmtAST(Location loc, std::string var, Location varLoc)
      : StmtAST(For, std::move(loc)), var(std::move(var)), varLoc(std::move(varLoc)) {}
  static bool classof(const StmtAST *s) { return s->getKind() == For; }
  std::string var;
  Location varLoc;
  ExprPtr start, end;
  std::optional<ScopeAST> scope;
  std::vector<StmtPtr> body;
};

struct ParamAST {
  std::string name;
  Location loc;
};

/// `decoder(params) { body return value }` or `encoder(...)`.
struct FunctionAST {
  std::string name; // "decoder" or "encoder"
  Location loc;
  std::vector<ParamAST> params;
  std::vector<StmtPtr> body;
  ExprPtr returnValue;
  Location returnLoc;
};

struct ConfigEntryAST {
  std::string name;
  Location loc;
  ExprPtr value;
};

class ModuleAST {
public:
  std::string name;
  Location loc;
  std::vector<ConfigEntryAST> config;
  std::vector<FunctionAST> functions;
};

/// Prints the AST readably (for `tfc --emit=ast`).
void dumpAST(const ModuleAST &module, llvm::raw_ostream &os);

} // namespace tfc

#endif // TFC_FRONTEND_AST_H
