//===- AST.cpp - Printing the tdsl syntax tree ------------------------------===//
//
// `tfc --emit=ast`: one line per config entry, function and statement with its
// line:col, expressions inline and fully parenthesized so that the parse
// (precedence, what `@` binds to) can be read off and FileCheck'ed.
//
//===----------------------------------------------------------------------===//

#include "tfc/Frontend/AST.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstdlib>

namespace tfc {

namespace {

class ASTPrinter {
public:
  explicit ASTPrinter(llvm::raw_ostream &os) : os(os) {}

  void print(const ModuleAST &module) {
    os << "model " << module.name << " " << loc(module.loc) << "\n";
    os << "  config\n";
    for (const ConfigEntryAST &entry : module.config) {
      os << "    " << entry.name << " = ";
      print(*entry.value);
      os << " " << loc(entry.loc) << "\n";
    }
    for (const FunctionAST &function : module.functions) {
      os << "  " << function.name << "(";
      llvm::interleaveComma(function.params, os, [&](const ParamAST &p) { os << p.name; });
      os << ") " << loc(function.loc) << "\n";
      for (const StmtPtr &stmt : function.body)
        print(*stmt, 4);
      os << "    return ";
      if (function.returnValue)
        print(*function.returnValue);
      os << " " << loc(function.returnLoc) << "\n";
    }
  }

private:
  std::string loc(const Location &l) {
    return "<" + std::to_string(l.line) + ":" + std::to_string(l.col) + ">";
  }

  void printScope(const std::optional<ScopeAST> &scope) {
    if (scope)
      os << " @ \"" << scope->text << "\"";
  }

  void print(const StmtAST &stmt, unsigned indent) {
    os.indent(indent);
    if (auto *assign = llvm::dyn_cast<AssignStmtAST>(&stmt)) {
      os << assign->name << " = ";
      print(*assign->value);
      os << " " << loc(assign->getLoc()) << "\n";
      return;
    }
    auto &loop = llvm::cast<ForStmtAST>(stmt);
    os << "for " << loop.var << " in ";
    print(*loop.start);
    os << " .. ";
    print(*loop.end);
    printScope(loop.scope);
    os << " " << loc(loop.getLoc()) << "\n";
    for (const StmtPtr &s : loop.body)
      print(*s, indent + 2);
  }

  void print(const ExprAST &expr) {
    switch (expr.getKind()) {
    case ExprAST::Number: {
      auto &n = llvm::cast<NumberExprAST>(expr);
      if (n.isInteger) {
        os << n.intValue;
      } else {
        std::string s;
        if (std::isfinite(n.floatValue) && std::fabs(n.floatValue) < 1e15 &&
            n.floatValue == std::floor(n.floatValue)) {
          llvm::raw_string_ostream(s) << llvm::format("%.1f", n.floatValue); // 10000.0
        } else {
          // Shortest form that reads back to the same double.
          for (int precision = 1; precision <= 17; ++precision) {
            std::string t;
            llvm::raw_string_ostream(t) << llvm::format("%.*g", precision, n.floatValue);
            if (std::strtod(t.c_str(), nullptr) == n.floatValue) {
              s = t;
              break;
            }
          }
        }
        os << s;
      }
      return;
    }
    case ExprAST::String:
      os << "\"" << llvm::cast<StringExprAST>(expr).value << "\"";
      return;
    case ExprAST::Bool:
      os << (llvm::cast<BoolExprAST>(expr).value ? "true" : "false");
      return;
    case ExprAST::Var:
      os << llvm::cast<VarExprAST>(expr).name;
      return;
    case ExprAST::Unary:
      os << "(-";
      print(*llvm::cast<UnaryExprAST>(expr).operand);
      os << ")";
      return;
    case ExprAST::Binary: {
      auto &b = llvm::cast<BinaryExprAST>(expr);
      os << "(";
      print(*b.lhs);
      os << " " << b.op << " ";
      print(*b.rhs);
      os << ")";
      return;
    }
    case ExprAST::Call: {
      auto &call = llvm::cast<CallExprAST>(expr);
      os << call.callee << "(";
      bool first = true;
      for (const ExprPtr &arg : call.args) {
        if (!first)
          os << ", ";
        first = false;
        print(*arg);
      }
      for (const KeywordArgAST &kw : call.keywords) {
        if (!first)
          os << ", ";
        first = false;
        os << kw.name << " = ";
        print(*kw.value);
      }
      os << ")";
      printScope(call.scope);
      return;
    }
    }
  }

  llvm::raw_ostream &os;
};

} // namespace

void dumpAST(const ModuleAST &module, llvm::raw_ostream &os) { ASTPrinter(os).print(module); }

} // namespace tfc
