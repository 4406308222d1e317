//===- PlanActivations.cpp - A static memory plan for the model functions ---===//
//
// Replaces the temporary buffers (memref.alloc) of each model function by views
// of one arena the runtime passes in, so a call allocates nothing. The plan is
// made at compile time; only the byte sizes, which are functions of the token
// count and the position, are evaluated at run time, at the top of the
// function, in straight-line index arithmetic:
//
//  * Liveness: ops are numbered in pre-order; a buffer lives from its alloc to
//    the last use of any of its aliases (views, loop-carried values, results;
//    BufferViewFlowAnalysis). A use inside a loop (or any op whose region may
//    run repeatedly) that does not contain the alloc extends the interval to
//    the end of that loop. A buffer allocated in a loop body and not carried
//    out of it is dead at the end of each iteration, so one range serves all
//    iterations.
//  * Loop-carried buffers (allocated in an scf.for body and yielded, like the
//    hidden state of the layer loop) get two ranges, live across the whole
//    loop, and iteration j uses range j mod 2: the buffer of iteration j is
//    read in iteration j+1 only (checked: the iteration argument is never
//    yielded again), so two suffice.
//  * Sizes: every dynamic size of an alloc is re-derived at function entry
//    from the function's arguments (memref.dim of an argument, the position,
//    pure index arithmetic, views and reshapes of buffers whose sizes are
//    known; the size of a loop-carried buffer is shown to be
//    invariant by induction). A size that changes within the body, the
//    minimum of a tile size and what is left (a loop's partial last tile), is
//    reserved at the bound known at entry. An alloc whose size cannot be
//    bounded, or whose buffer escapes, stays a heap allocation.
//  * Placement: greedy by size with gap filling, decided at compile time on
//    sizes estimated for a prefill of `estimate-tokens` tokens: ranges in
//    order of decreasing estimate, each in the lowest gap between the ranges
//    placed before it that are live at the same time. At run time the offset
//    is the end of the ranges below the gap, kept if the range then ends
//    below those above it and otherwise moved above all of them (a select):
//    whatever the actual sizes, two ranges live at once never overlap in
//    memory, and when sizes scale like the estimate the gaps are used.
//    Offsets are multiples of 64 bytes.
//
// The arena is a trailing `memref<?xi8>` argument (#attn.arg<arena> in the
// function's `attn.entry_args`); its size in bytes is what the function
// `@<name>_arena_bytes`, taking the same arguments, returns (named by the
// attribute `attn.arena_bytes`). The runtime gives each session its own arena,
// so concurrent sessions never share one; the OpenMP regions of the kernels
// are created later and read and write the views like any other buffer.
// Allocs inside parallel loops are left alone.
//
//===----------------------------------------------------------------------===//

#include "tfc/Codegen/Passes.h"

#include "tfc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/BufferViewFlowAnalysis.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <limits>

namespace tfc {
#define GEN_PASS_DEF_PLANACTIVATIONS
#include "tfc/Codegen/Passes.h.inc"
} // namespace tfc

using namespace mlir;

namespace {

/// Whether `op` calls one of the runtime's collectives (declarations marked
/// `tfc.collective` by the bufferization of attn.all_reduce/all_gather): they
/// read and write the buffers they are given during the call and keep none.
bool callsCollective(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  if (!call)
    return false;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  return callee && callee.isDeclaration() && callee->hasAttr("tfc.collective");
}

/// A call to a function of the module marked tfc.no_capture (a kernel that
/// tfc-vectorize-matmul outlined, e.g. the int8 GEMM's tile): it uses its
/// memref operands only while it runs, like an op of the body would.
bool callsWithoutCapture(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  if (!call)
    return false;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  return callee && callee->hasAttr("tfc.no_capture");
}

using tfc::attn::AttnDialect;
constexpr int64_t kAlign = 64;

//===----------------------------------------------------------------------===//
// Sizes at function entry
//===----------------------------------------------------------------------===//

/// Materializes at the top of `func` index values equal to given values of its
/// body (sizes of buffers), or fails when a value depends on anything but the
/// function's arguments and pure arithmetic.
class EntryValues {
public:
  explicit EntryValues(func::FuncOp func) : func(func), b(func.getContext()) {
    b.setInsertionPointToStart(&func.front());
  }

  OpBuilder &builder() { return b; }
  Value constant(int64_t v) { return b.create<arith::ConstantIndexOp>(func.getLoc(), v); }

  FailureOr<Value> get(Value v) {
    if (auto it = values.find(v); it != values.end())
      return it->second;
    FailureOr<Value> result = compute(v);
    if (succeeded(result))
      values[v] = *result;
    return result;
  }

  /// An upper bound at entry of `size`, a buffer size inside the body: the
  /// size itself when it can be computed at entry; for a signed minimum (the last,
  /// partial tile of a loop: min(tile, end - iv)), the smaller of the bounds
  /// of its operands that can be; for `a - iv`, iv the induction variable of
  /// a loop from a non-negative constant, the bound of `a`; for a sum or a
  /// product of sizes (the elements of a buffer of a bounded row count), the
  /// sum or product of their bounds; for an unsigned quotient by a positive
  /// constant, the quotient of the bound. Sound because sizes are not negative.
  FailureOr<Value> upperBound(Value size) {
    FailureOr<Value> exact = get(size);
    if (succeeded(exact))
      return exact;
    Operation *op = size.getDefiningOp();
    if (auto sub = dyn_cast_if_present<arith::SubIOp>(op)) {
      auto loop = scf::getForInductionVarOwner(sub.getRhs());
      std::optional<int64_t> lower =
          loop ? getConstantIntValue(loop.getLowerBound()) : std::nullopt;
      if (lower && *lower >= 0)
        return upperBound(sub.getLhs());
      return failure();
    }
    // A quotient by a positive constant (the panels of a bounded row count,
    // ceil(rows / 32)): the quotient of the bound.
    if (auto div = dyn_cast_if_present<arith::DivUIOp>(op)) {
      std::optional<int64_t> divisor = getConstantIntValue(div.getRhs());
      if (!divisor || *divisor <= 0)
        return failure();
      FailureOr<Value> lhs = upperBound(div.getLhs());
      if (failed(lhs))
        return failure();
      return b.create<arith::DivUIOp>(func.getLoc(), *lhs, constant(*divisor)).getResult();
    }
    if (isa_and_present<arith::AddIOp, arith::MulIOp>(op)) {
      FailureOr<Value> lhs = upperBound(op->getOperand(0));
      FailureOr<Value> rhs = upperBound(op->getOperand(1));
      if (failed(lhs) || failed(rhs))
        return failure();
      IRMapping map;
      map.map(op->getOperand(0), *lhs);
      map.map(op->getOperand(1), *rhs);
      return b.clone(*op, map)->getResult(0);
    }
    // Not arith.minui: with an operand negative as a signed size, the other
    // one is the minimum, and a bound of the first bounds nothing.
    if (!isa_and_present<arith::MinSIOp>(op))
      return failure();
    FailureOr<Value> lhs = upperBound(op->getOperand(0));
    FailureOr<Value> rhs = upperBound(op->getOperand(1));
    if (succeeded(lhs) && succeeded(rhs))
      return b.create<arith::MinSIOp>(func.getLoc(), *lhs, *rhs).getResult();
    return succeeded(lhs) ? lhs : rhs;
  }

  /// Size of dimension `d` of the memref `m`.
  FailureOr<Value> dim(Value m, int64_t d) {
    auto type = cast<MemRefType>(m.getType());
    if (!type.isDynamicDim(d))
      return constant(type.getDimSize(d));
    auto key = std::make_pair(m, d);
    if (auto it = dims.find(key); it != dims.end())
      return it->second;
    FailureOr<Value> result = computeDim(m, d);
    if (succeeded(result))
      dims[key] = *result;
    return result;
  }

  /// The value of `v` (an index computed at entry) in a prefill of `tokens`
  /// tokens at position 0: every dynamic dimension of an argument is taken as
  /// `tokens`, an index argument (the position) as 0. std::nullopt for what
  /// it cannot fold. Only guides the placement; never decides soundness.
  std::optional<int64_t> estimate(Value v, int64_t tokens) {
    if (std::optional<int64_t> c = getConstantIntValue(v))
      return c;
    if (isa<BlockArgument>(v))
      return 0;
    Operation *op = v.getDefiningOp();
    if (auto dimOp = dyn_cast<memref::DimOp>(op)) {
      std::optional<int64_t> d = dimOp.getConstantIndex();
      auto type = cast<MemRefType>(dimOp.getSource().getType());
      if (!d)
        return std::nullopt;
      return type.isDynamicDim(*d) ? tokens : type.getDimSize(*d);
    }
    // Anything else (arith, affine.apply, ...): folded on the estimated operands.
    if (op->getNumResults() != 1 || op->getNumRegions())
      return std::nullopt;
    SmallVector<Attribute> operands;
    SmallVector<int64_t> known;
    for (Value operand : op->getOperands()) {
      std::optional<int64_t> c = estimate(operand, tokens);
      if (!c)
        return std::nullopt;
      known.push_back(*c);
      operands.push_back(IntegerAttr::get(operand.getType(), *c));
    }
    SmallVector<OpFoldResult> results;
    if (failed(op->fold(operands, results)) || results.size() != 1)
      return std::nullopt;
    if (auto attr = dyn_cast_if_present<IntegerAttr>(dyn_cast<Attribute>(results[0])))
      return attr.getValue().getSExtValue();
    if (auto value = dyn_cast<Value>(results[0]))
      for (auto [operand, c] : llvm::zip(op->getOperands(), known))
        if (operand == value)
          return c;
    return std::nullopt;
  }

private:
  FailureOr<Value> compute(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
    {
      if (arg.getOwner() != &func.front())
        return failure();
      return v;
    }
    Operation *op = v.getDefiningOp();
    if (auto dimOp = dyn_cast<memref::DimOp>(op)) {
      std::optional<int64_t> d = dimOp.getConstantIndex();
      if (!d)
        return failure();
      return dim(dimOp.getSource(), *d);
    }
    // Pure only: hoisted to the top, the op runs on every call, so a division
    // must not trap where the original would not have run.
    if (op->getNumRegions() || op->getNumResults() != 1 || !isPure(op))
      return failure();
    IRMapping map;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> at = get(operand);
      if (failed(at))
        return failure();
      map.map(operand, *at);
    }
    return b.clone(*op, map)->getResult(0);
  }

  FailureOr<Value> computeDim(Value m, int64_t d) {
    auto type = cast<MemRefType>(m.getType());
    if (auto arg = dyn_cast<BlockArgument>(m)) {
      if (arg.getOwner() == &func.front())
        return b.create<memref::DimOp>(func.getLoc(), m, d).getResult();
      auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
      if (!loop || arg.getArgNumber() == 0)
        return failure();
      return iterArgDim(loop, arg.getArgNumber() - 1, d);
    }
    Operation *op = m.getDefiningOp();
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return iterArgDim(loop, cast<OpResult>(m).getResultNumber(), d);
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      return get(alloc.getDynamicSizes()[type.getDynamicDimIndex(d)]);
    if (auto alloca = dyn_cast<memref::AllocaOp>(op))
      return get(alloca.getDynamicSizes()[type.getDynamicDimIndex(d)]);
    if (auto view = dyn_cast<memref::ViewOp>(op))
      return get(view.getSizes()[type.getDynamicDimIndex(d)]);
    if (auto cast = dyn_cast<memref::CastOp>(op))
      return dim(cast.getSource(), d);
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(op)) {
      // The product of the source dimensions folded into d.
      Value product = constant(1);
      SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
      for (int64_t j : groups[d]) {
        FailureOr<Value> size = dim(collapse.getSrc(), j);
        if (failed(size))
          return failure();
        product = b.create<arith::MulIOp>(func.getLoc(), product, *size);
      }
      return product;
    }
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(op))
      return get(expand.getOutputShape()[type.getDynamicDimIndex(d)]);
    if (auto subview = dyn_cast<memref::SubViewOp>(op)) {
      // Result dimension d is the d-th source dimension that is not dropped.
      llvm::SmallBitVector dropped = subview.getDroppedDims();
      int64_t seen = -1;
      for (int64_t j = 0, e = subview.getSourceType().getRank(); j < e; ++j) {
        if (dropped.test(j) || ++seen != d)
          continue;
        OpFoldResult size = subview.getMixedSizes()[j];
        if (auto attr = dyn_cast<Attribute>(size))
          return constant(cast<IntegerAttr>(attr).getInt());
        return get(cast<Value>(size));
      }
    }
    return failure();
  }

  /// The size of dimension d of iteration argument k of `loop` (and of its
  /// result k): that of the initial value, if the value yielded has the same
  /// size whenever the iteration argument has it (induction over iterations).
  FailureOr<Value> iterArgDim(scf::ForOp loop, unsigned k, int64_t d) {
    auto key = std::make_pair(Value(loop.getRegionIterArgs()[k]), d);
    if (auto it = dims.find(key); it != dims.end())
      return it->second;
    FailureOr<Value> init = dim(loop.getInitArgs()[k], d);
    if (failed(init))
      return failure();
    auto savedValues = values;
    auto savedDims = dims;
    dims[key] = *init; // the induction hypothesis
    FailureOr<Value> next = dim(loop.getYieldedValues()[k], d);
    if (failed(next) || *next != *init) {
      values = std::move(savedValues);
      dims = std::move(savedDims);
      return failure();
    }
    return *init;
  }

  func::FuncOp func;
  OpBuilder b;
  DenseMap<Value, Value> values;
  DenseMap<std::pair<Value, int64_t>, Value> dims;
};

//===----------------------------------------------------------------------===//
// Liveness
//===----------------------------------------------------------------------===//

/// Pre-order numbers of the ops of a function; last[op] is the largest number
/// of an op nested in `op` (itself if it has no regions).
struct ProgramPoints {
  DenseMap<Operation *, int64_t> first, last;

  explicit ProgramPoints(Operation *root) {
    int64_t next = 0;
    number(root, next);
  }

  void number(Operation *op, int64_t &next) {
    first[op] = next++;
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (Operation &nested : block)
          number(&nested, next);
    last[op] = next - 1;
  }
};

/// Ops whose regions run at most once per execution of the op.
bool runsRegionsOnce(Operation *op) { return isa<scf::IfOp, scf::IndexSwitchOp>(op); }

/// Whether `op` may be planned: it runs on the function's own thread, in
/// sequential control flow (not inside a parallel loop).
bool inSequentialCode(Operation *op, func::FuncOp func) {
  for (Operation *p = op->getParentOp(); p != func; p = p->getParentOp())
    if (!isa<scf::ForOp, scf::IfOp, scf::IndexSwitchOp>(p))
      return false;
  return true;
}

/// One range of the arena: an alloc, or one of the two ranges of a
/// loop-carried one.
struct Range {
  memref::AllocOp alloc;
  Value bytes; // at function entry, a multiple of kAlign
  int64_t start, end;
  int64_t estimate;
  Value offset;    // at function entry, once placed
  Value top;       // offset + bytes
  int64_t estimatedOffset = 0; // where the placement put it for the estimated sizes
  scf::ForOp loop; // loop-carried: the loop, and `parity` the range's iterations
  int parity = 0;
};

class Planner {
public:
  Planner(func::FuncOp func, int64_t estimateTokens)
      : func(func), points(func), aliases(func), entry(func), estimateTokens(estimateTokens) {}

  /// Plans every alloc that can be; returns false if none can.
  bool run() {
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs)
      (void)plan(alloc);
    if (ranges.empty())
      return false;
    place();
    rewrite();
    return true;
  }

  int64_t numPlanned() const { return planned; }
  /// For the estimated sizes: the arena, and the most bytes live at once.
  int64_t arenaEstimate() const { return estimatedTotal; }
  int64_t peakEstimate() const { return estimatedPeak; }

private:
  /// The last program point `alloc`'s buffer is used at through `user`.
  int64_t lastUse(Operation *user, memref::AllocOp alloc) {
    Operation *outermost = user;
    for (Operation *p = user->getParentOp(); p != func; p = p->getParentOp())
      if (!runsRegionsOnce(p) && !p->isAncestor(alloc))
        outermost = p;
    return points.last[outermost];
  }

  LogicalResult plan(memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    Type element = type.getElementType();
    if (!inSequentialCode(alloc, func) || !type.getLayout().isIdentity() ||
        type.getMemorySpace() || !element.isIntOrFloat() ||
        element.getIntOrFloatBitWidth() % 8 != 0 || alloc.getAlignment().value_or(1) > kAlign)
      return failure();

    // Liveness, and where the buffer leaves the alloc's region.
    auto set = aliases.resolve(alloc.getResult());
    int64_t end = points.first[alloc];
    SetVector<Operation *> carriers;
    for (Value a : set) {
      Operation *owner = isa<BlockArgument>(a)
                             ? cast<BlockArgument>(a).getOwner()->getParentOp()
                             : a.getDefiningOp();
      if (owner == func)
        return failure();
      if (owner->isProperAncestor(alloc) && !runsRegionsOnce(owner))
        carriers.insert(owner);
      for (OpOperand &use : a.getUses()) {
        Operation *user = use.getOwner();
        if (isa<CallOpInterface, func::ReturnOp, memref::ExtractAlignedPointerAsIndexOp>(user) &&
            !callsCollective(user) && !callsWithoutCapture(user))
          return failure();
        // A new memref derived from the buffer must be one the analysis sees
        // (it follows views and region control flow precisely).
        if (!isa<ViewLikeOpInterface, RegionBranchOpInterface>(user))
          for (Value result : user->getResults())
            if (isa<BaseMemRefType>(result.getType()) && !set.contains(result))
              return failure();
        end = std::max(end, lastUse(user, alloc));
      }
    }
    scf::ForOp loop;
    if (!carriers.empty()) {
      loop = dyn_cast<scf::ForOp>(carriers.front());
      if (carriers.size() != 1 || !loop || alloc->getBlock() != loop.getBody() ||
          failed(checkCarried(loop, set)))
        return failure();
      end = std::max(end, points.last[loop]);
    }

    // The byte size at function entry.
    OpBuilder &b = entry.builder();
    Location loc = func.getLoc();
    int64_t staticBytes = element.getIntOrFloatBitWidth() / 8;
    int64_t estimate = staticBytes; // fallback: every dynamic dimension as estimateTokens
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0, e = type.getRank(); d < e; ++d) {
      if (!type.isDynamicDim(d)) {
        staticBytes *= type.getDimSize(d);
        estimate *= type.getDimSize(d);
        continue;
      }
      // The view keeps the alloc's own sizes; the range only needs room for
      // them, so a size that changes within the body may be bounded.
      FailureOr<Value> n =
          entry.upperBound(alloc.getDynamicSizes()[type.getDynamicDimIndex(d)]);
      if (failed(n))
        return failure();
      dynamicSizes.push_back(*n);
      estimate *= estimateTokens;
    }
    // Rounded up to the alignment: (bytes + 63) & ~63.
    Value size = entry.constant(staticBytes);
    for (Value n : dynamicSizes)
      size = b.create<arith::MulIOp>(loc, size, n);
    size = b.create<arith::AndIOp>(
        loc, b.create<arith::AddIOp>(loc, size, entry.constant(kAlign - 1)),
        entry.constant(~(kAlign - 1)));
    if (std::optional<int64_t> folded = entry.estimate(size, estimateTokens))
      estimate = *folded;

    ++planned;
    if (!loop) {
      ranges.push_back({alloc, size, points.first[alloc], end, estimate, {}, {}, 0, {}, 0});
      return success();
    }
    int64_t start = points.first[loop];
    for (int parity : {0, 1})
      ranges.push_back({alloc, size, start, end, estimate, {}, {}, 0, loop, parity});
    return success();
  }

  /// A buffer allocated in `loop`'s body and yielded: two ranges are enough if
  /// the buffer is yielded at one position k only and what iteration j+1
  /// receives as iteration argument k is never yielded again.
  LogicalResult checkCarried(scf::ForOp loop, const BufferViewFlowAnalysis::ValueSetT &set) {
    std::optional<unsigned> position;
    for (auto [k, yielded] : llvm::enumerate(loop.getYieldedValues())) {
      if (!set.contains(yielded))
        continue;
      if (position)
        return failure();
      position = k;
    }
    if (!position)
      return failure();
    auto previous = aliases.resolve(loop.getRegionIterArgs()[*position]);
    for (Value yielded : loop.getYieldedValues())
      if (previous.contains(yielded))
        return failure();
    return success();
  }

  /// Greedy by size with gap filling, decided on the estimated sizes, made
  /// sound for any sizes by a guard: each range (largest estimate first) is
  /// put in the lowest gap between the placed ranges it overlaps in time that
  /// its estimate fits, i.e. at the top of the set S of those that lie below
  /// the gap; at run time it stays there if it ends below the others, else it
  /// goes above all of them.
  void place() {
    OpBuilder &b = entry.builder();
    Location loc = func.getLoc();
    SmallVector<Range *> order;
    for (Range &r : ranges)
      order.push_back(&r);
    llvm::sort(order, [](Range *x, Range *y) {
      return std::make_tuple(-x->estimate, x->start, x->parity) <
             std::make_tuple(-y->estimate, y->start, y->parity);
    });
    SmallVector<Range *> placed;
    total = entry.constant(0);
    for (Range *r : order) {
      SmallVector<Range *> live;
      for (Range *other : placed)
        if (other->start <= r->end && r->start <= other->end)
          live.push_back(other);
      // The lowest estimated gap: at 0 or at the end of a live range.
      auto fits = [&](int64_t at) {
        return llvm::all_of(live, [&](Range *x) {
          return x->estimatedOffset + x->estimate <= at || at + r->estimate <= x->estimatedOffset;
        });
      };
      int64_t at = fits(0) ? 0 : std::numeric_limits<int64_t>::max();
      for (Range *x : live)
        if (x->estimatedOffset + x->estimate < at && fits(x->estimatedOffset + x->estimate))
          at = x->estimatedOffset + x->estimate;
      r->estimatedOffset = at;

      Value below = entry.constant(0), above = entry.constant(0);
      Value fitsBelow;
      for (Range *x : live) {
        if (x->estimatedOffset + x->estimate <= at) {
          below = b.create<arith::MaxUIOp>(loc, below, x->top);
          continue;
        }
        above = b.create<arith::MaxUIOp>(loc, above, x->top);
      }
      Value end = b.create<arith::AddIOp>(loc, below, r->bytes);
      for (Range *x : live) {
        if (x->estimatedOffset + x->estimate <= at)
          continue;
        Value ok = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, end, x->offset);
        fitsBelow = fitsBelow ? b.create<arith::AndIOp>(loc, fitsBelow, ok).getResult() : ok;
      }
      r->offset = below;
      if (fitsBelow)
        r->offset = b.create<arith::SelectOp>(loc, fitsBelow, below,
                                              b.create<arith::MaxUIOp>(loc, below, above));
      r->top = b.create<arith::AddIOp>(loc, r->offset, r->bytes);
      total = b.create<arith::MaxUIOp>(loc, total, r->top);
      placed.push_back(r);
      estimatedTotal = std::max(estimatedTotal, at + r->estimate);
    }
    // The bound no placement beats: the most bytes live at one point.
    for (Range &r : ranges) {
      int64_t live = 0;
      for (Range &other : ranges)
        if (other.start <= r.start && r.start <= other.end)
          live += other.estimate;
      estimatedPeak = std::max(estimatedPeak, live);
    }
  }

  /// Allocs become views of the arena argument.
  void rewrite() {
    MLIRContext *ctx = func.getContext();
    Block &body = func.front();
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    func.insertArgument(func.getNumArguments(), arenaType, /*argAttrs=*/{}, loc);
    Value arena = body.getArguments().back();
    if (auto args = func->getAttrOfType<ArrayAttr>(AttnDialect::kEntryArgsAttrName)) {
      SmallVector<Attribute> table(args.getValue());
      table.push_back(tfc::attn::EntryArgAttr::get(ctx, tfc::attn::ArgKind::arena, 0));
      func->setAttr(AttnDialect::kEntryArgsAttrName, ArrayAttr::get(ctx, table));
    }

    DenseMap<Operation *, SmallVector<Range *, 2>> rangesOf;
    for (Range &r : ranges)
      rangesOf[r.alloc].push_back(&r);
    for (auto &[op, rs] : rangesOf) {
      auto alloc = cast<memref::AllocOp>(op);
      OpBuilder b(alloc);
      Value offset = rs.front()->offset;
      if (scf::ForOp loop = rs.front()->loop) {
        // Iteration j = (iv - lb) / step uses the range of parity j mod 2.
        Location l = alloc.getLoc();
        Value j = b.create<arith::DivUIOp>(
            l, b.create<arith::SubIOp>(l, loop.getInductionVar(), loop.getLowerBound()),
            loop.getStep());
        Value two = b.create<arith::ConstantIndexOp>(l, 2);
        Value zero = b.create<arith::ConstantIndexOp>(l, 0);
        Value even = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                             b.create<arith::RemUIOp>(l, j, two), zero);
        Range *r0 = rs[0]->parity == 0 ? rs[0] : rs[1];
        Range *r1 = rs[0]->parity == 0 ? rs[1] : rs[0];
        offset = b.create<arith::SelectOp>(l, even, r0->offset, r1->offset);
      }
      Value view = b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(), arena, offset,
                                            alloc.getDynamicSizes());
      alloc.replaceAllUsesWith(view);
      alloc.erase();
    }

    // @<name>_arena_bytes(same arguments) -> index: the entry computations the
    // total depends on.
    OpBuilder mb(func);
    auto sizeFn = mb.create<func::FuncOp>(
        loc, (func.getSymName() + "_arena_bytes").str(),
        FunctionType::get(ctx, body.getArgumentTypes(), {IndexType::get(ctx)}));
    sizeFn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    Block *sizeBody = sizeFn.addEntryBlock();
    IRMapping map;
    map.map(body.getArguments(), sizeBody->getArguments());
    SetVector<Operation *> slice;
    BackwardSliceOptions options;
    options.inclusive = true;
    if (Operation *def = total.getDefiningOp())
      getBackwardSlice(def, &slice, options);
    OpBuilder sb = OpBuilder::atBlockEnd(sizeBody);
    for (Operation *op : slice)
      sb.clone(*op, map);
    sb.create<func::ReturnOp>(loc, map.lookupOrDefault(total));
    func->setAttr(AttnDialect::kArenaBytesAttrName, FlatSymbolRefAttr::get(sizeFn.getSymNameAttr()));
  }

  func::FuncOp func;
  ProgramPoints points;
  BufferViewFlowAnalysis aliases;
  EntryValues entry;
  int64_t estimateTokens;
  SmallVector<Range> ranges;
  Value total;
  int64_t planned = 0;
  int64_t estimatedTotal = 0, estimatedPeak = 0;
};

struct PlanActivationsPass : tfc::impl::PlanActivationsBase<PlanActivationsPass> {
  using PlanActivationsBase::PlanActivationsBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> entries;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr(AttnDialect::kEntryArgsAttrName) && !func.isExternal())
        entries.push_back(func);
    for (func::FuncOp func : entries) {
      Planner planner(func, estimateTokens);
      if (!planner.run())
        continue;
      numPlanned += planner.numPlanned();
      if (report)
        mlir::emitRemark(func.getLoc())
            << "@" << func.getSymName() << ": " << planner.numPlanned()
            << " buffers in an arena of " << planner.arenaEstimate() << " bytes for "
            << static_cast<int64_t>(estimateTokens)
            << " tokens (at most " << planner.peakEstimate() << " bytes live at once)";
    }
  }
};

} // namespace
