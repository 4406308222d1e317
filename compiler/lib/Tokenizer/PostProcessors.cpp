//===- PostProcessors.cpp - Special tokens around an encoded sequence -----===//
//
// Every post-processor of tokenizer.json reduces, for a single sequence with
// add_special_tokens, to a template: special-token ids before and after the
// sequence (TemplateProcessing's `single`, BertProcessing's [CLS] $A [SEP],
// RobertaProcessing's <s> $A </s>; ByteLevel adds nothing, its offset
// trimming is not observable in ids). A Sequence applies its parts in order.
//
//===----------------------------------------------------------------------===//
#include "Pipeline.h"

namespace tfc::tokenizer {
namespace {

class Template final : public PostProcessor {
public:
  explicit Template(std::vector<TemplatePart> parts) : parts(std::move(parts)) {}
  void process(std::vector<int32_t> &ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + parts.size());
    for (const TemplatePart &part : parts) {
      if (part.isSequence)
        out.insert(out.end(), ids.begin(), ids.end());
      else
        out.insert(out.end(), part.ids.begin(), part.ids.end());
    }
    ids = std::move(out);
  }
  std::optional<int32_t> leadingId() const override {
    if (!parts.empty() && !parts.front().isSequence && !parts.front().ids.empty())
      return parts.front().ids.front();
    return std::nullopt;
  }

private:
  std::vector<TemplatePart> parts;
};

class PostProcessorSequence final : public PostProcessor {
public:
  explicit PostProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts(std::move(parts)) {}
  void process(std::vector<int32_t> &ids) const override {
    for (const auto &part : parts)
      part->process(ids);
  }
  std::optional<int32_t> leadingId() const override {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      if (auto id = (*it)->leadingId())
        return id;
    return std::nullopt;
  }

private:
  std::vector<std::unique_ptr<PostProcessor>> parts;
};

} // namespace

std::unique_ptr<PostProcessor> makeTemplate(std::vector<TemplatePart> single) {
  return std::make_unique<Template>(std::move(single));
}
std::unique_ptr<PostProcessor>
makePostProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> parts) {
  return std::make_unique<PostProcessorSequence>(std::move(parts));
}

} // namespace tfc::tokenizer
