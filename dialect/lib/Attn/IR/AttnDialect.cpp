//===- AttnDialect.cpp - The attn dialect ---------------------------------===//
//
// Registers the attn operations and attributes with the dialect; verifies
// the attributes.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Attn/IR/AttnDialect.h"
#include "tfc/Dialect/Attn/IR/AttnAttrs.h"
#include "tfc/Dialect/Attn/IR/AttnOps.h"

using namespace mlir;
using namespace tfc::attn;

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>

#include "tfc/Dialect/Attn/IR/AttnOpsDialect.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tfc/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
  registerAttributes();
}

//===----------------------------------------------------------------------===//
// Attributes read by the lowering (AttnLoweringAttrs.td)
//===----------------------------------------------------------------------===//

LogicalResult SDPATilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t queryRows, int64_t keyTile) {
  if (!tfc::SDPATiling{keyTile, queryRows}.valid())
    return emitError() << "sdpa_tiling: query_rows (" << queryRows << ") and key_tile (" << keyTile
                       << ") must be between 1 and " << tfc::kMaxSDPATile;
  return success();
}

LogicalResult RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                      RopeScalingKind kind, FloatAttr factorAttr,
                                      FloatAttr lowAttr, FloatAttr highAttr,
                                      int64_t originalMaxPosition, FloatAttr betaFast,
                                      FloatAttr betaSlow, FloatAttr mscale,
                                      FloatAttr mscaleAllDim) {
  bool yarn = kind == RopeScalingKind::yarn;
  bool hasYarnParameters = betaFast || betaSlow || mscale || mscaleAllDim;
  if (!yarn && hasYarnParameters)
    return emitError() << "rope_scaling: beta_fast, beta_slow, mscale and mscale_all_dim are "
                          "yarn's parameters";
  if (yarn && !(betaFast && betaSlow && mscale && mscaleAllDim))
    return emitError() << "rope_scaling: yarn needs beta_fast, beta_slow, mscale and "
                          "mscale_all_dim";
  if (yarn && (!(betaSlow.getValueAsDouble() > 0) ||
               !(betaFast.getValueAsDouble() > betaSlow.getValueAsDouble()) ||
               originalMaxPosition <= 0 || !std::isfinite(betaFast.getValueAsDouble()) ||
               !std::isfinite(mscale.getValueAsDouble()) ||
               !std::isfinite(mscaleAllDim.getValueAsDouble())))
    return emitError() << "rope_scaling: yarn needs 0 < beta_slow < beta_fast, finite mscales "
                          "and a positive original_max_position (" << originalMaxPosition << ")";
  if (!factorAttr || !lowAttr || !highAttr)
    return emitError() << "rope_scaling: the factors must be float attributes";
  double factor = factorAttr.getValueAsDouble(), lowFreqFactor = lowAttr.getValueAsDouble(),
         highFreqFactor = highAttr.getValueAsDouble();
  if (!(factor > 0) || !std::isfinite(factor))
    return emitError() << "rope_scaling: factor (" << factor << ") must be positive";
  if (kind == RopeScalingKind::llama3 &&
      (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPosition <= 0))
    return emitError() << "rope_scaling: llama3 needs 0 < low_freq_factor (" << lowFreqFactor
                       << ") < high_freq_factor (" << highFreqFactor
                       << ") and a positive original_max_position (" << originalMaxPosition
                       << ")";
  return success();
}

std::vector<double> tfc::attn::ropeInverseFrequencies(double theta, int64_t d,
                                                      RopeScalingAttr scaling) {
  std::vector<double> invFreq(d / 2);
  for (int64_t i = 0; i < d / 2; ++i)
    invFreq[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(d));
  if (!scaling)
    return invFreq;
  double factor = scaling.getFactor().getValueAsDouble();
  if (scaling.getKind() == RopeScalingKind::linear) {
    for (double &f : invFreq)
      f /= factor;
    return invFreq;
  }
  if (scaling.getKind() == RopeScalingKind::yarn) {
    // modeling_deepseek.py: the dimensions whose frequency turns fewer than
    // beta_slow times over the original context are interpolated (divided by
    // factor), those turning more than beta_fast times kept, a linear ramp
    // between (yarn_find_correction_range, yarn_linear_ramp_mask).
    double context = static_cast<double>(scaling.getOriginalMaxPosition());
    auto correctionDim = [&](double rotations) {
      return static_cast<double>(d) * std::log(context / (rotations * 2.0 * M_PI)) /
             (2.0 * std::log(theta));
    };
    double low = std::max(std::floor(correctionDim(scaling.getBetaFast().getValueAsDouble())), 0.0);
    double high = std::min(std::ceil(correctionDim(scaling.getBetaSlow().getValueAsDouble())),
                           static_cast<double>(d - 1));
    if (low == high)
      high += 0.001;
    for (int64_t i = 0; i < d / 2; ++i) {
      double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      double extrapolate = 1.0 - ramp; // inv_freq_mask
      invFreq[i] = invFreq[i] / factor * (1.0 - extrapolate) + invFreq[i] * extrapolate;
    }
    return invFreq;
  }
  // llama3: long wavelengths (low frequencies) are divided by the factor,
  // short ones kept, those in between interpolated by where the wavelength
  // lies against the original context.
  double context = static_cast<double>(scaling.getOriginalMaxPosition());
  double low = scaling.getLowFreqFactor().getValueAsDouble(),
         high = scaling.getHighFreqFactor().getValueAsDouble();
  double lowFreqWavelen = context / low, highFreqWavelen = context / high;
  for (double &f : invFreq) {
    double wavelen = 2.0 * M_PI / f;
    if (wavelen > lowFreqWavelen) {
      f /= factor;
    } else if (wavelen >= highFreqWavelen) {
      double smooth = (context / wavelen - low) / (high - low);
      f = (1.0 - smooth) * f / factor + smooth * f;
    }
  }
  return invFreq;
}

RopeAttentionFactors tfc::attn::ropeAttentionFactors(RopeScalingAttr scaling) {
  RopeAttentionFactors factors;
  if (!scaling || scaling.getKind() != RopeScalingKind::yarn)
    return factors;
  double factor = scaling.getFactor().getValueAsDouble();
  // modeling_deepseek.py yarn_get_mscale.
  auto mscaleOf = [&](double m) { return factor <= 1.0 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; };
  double mscale = scaling.getMscale().getValueAsDouble();
  double mscaleAllDim = scaling.getMscaleAllDim().getValueAsDouble();
  factors.cosSin = mscaleOf(mscale) / mscaleOf(mscaleAllDim);
  // DeepseekV2Attention: softmax_scale *= mscale^2 when mscale_all_dim is set.
  if (mscaleAllDim != 0.0)
    factors.softmax = mscaleOf(mscaleAllDim) * mscaleOf(mscaleAllDim);
  return factors;
}
