//===- SDPAStrategy.cpp - Tile sizes of attn.sdpa, chosen once ------------===//
//
// The first of the three stages of attention's lowering (SDPATiling.cpp's
// banner describes the split): the choice of how many query rows a block
// holds and how many keys a tile, recorded on each attn.sdpa as
// `tiling = #attn.sdpa_tiling<query_rows = R, key_tile = K>` so that the
// tiling reads a decision instead of making one, and a test or a later
// heuristic (per target, per head width, per context length) can set it per
// op. Today the choice is the pass options, the same for every op; an op that
// already has a tiling keeps it.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Passes.h"

namespace tfc {
#define GEN_PASS_DEF_ATTNSDPASTRATEGY
#include "tfc/Conversion/Passes.h.inc"
} // namespace tfc

using namespace mlir;
using namespace tfc::attn;

namespace {

struct AttnSDPAStrategyPass : tfc::impl::AttnSDPAStrategyBase<AttnSDPAStrategyPass> {
  using AttnSDPAStrategyBase::AttnSDPAStrategyBase;

  void runOnOperation() override {
    if (!tfc::SDPATiling{keyTile, queryRows}.valid()) {
      getOperation()->emitError("tfc-attn-sdpa-strategy: key-tile (")
          << keyTile.getValue() << ") and query-rows (" << queryRows.getValue()
          << ") must be between 1 and " << tfc::kMaxSDPATile;
      return signalPassFailure();
    }
    auto tiling = SDPATilingAttr::get(&getContext(), queryRows, keyTile);
    getOperation()->walk([&](SDPAOp op) {
      if (!op.getTilingAttr())
        op.setTilingAttr(tiling);
    });
  }
};

} // namespace
