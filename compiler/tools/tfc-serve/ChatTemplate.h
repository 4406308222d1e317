//===- ChatTemplate.h - Chat messages to prompt text ------------*- C++ -*-===//
//
// Hugging Face models ship their chat format as a Jinja template in
// tokenizer_config.json. tfc-serve runs no Jinja engine: the template families
// that matter are few and stable, so a template is recognized by the special
// markers only its family writes (`<|start_header_id|>` is Llama 3,
// `<|im_start|>` ChatML/Qwen, `<｜User｜>` DeepSeek, `[INST]` with `<<SYS>>`
// Llama 2, `[INST]` without it Mistral), and each family's format is written
// out here as its template renders it with add_generation_prompt=True.
// `--chat-template NAME` chooses one explicitly.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_SERVE_CHATTEMPLATE_H
#define TFC_TOOLS_TFC_SERVE_CHATTEMPLATE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace tfc::serve {

/// One chat message; role is system, user or assistant (OpenAI's
/// "developer" arrives as system).
struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatFormat { Llama2, Llama3, ChatML, Mistral, DeepSeek };

/// The names --chat-template accepts, comma-separated, for messages.
const char *chatFormatNames();
/// llama2, llama3, chatml (alias qwen), mistral, deepseek.
std::optional<ChatFormat> chatFormatByName(llvm::StringRef name);
const char *chatFormatName(ChatFormat format);
/// The family of a Jinja chat template, by its markers; nullopt when none
/// matches.
std::optional<ChatFormat> recognizeChatTemplate(llvm::StringRef jinja);

/// The chat_template of a tokenizer_config.json (a string, or a list of
/// {name, template} of which "default" is used) recognized; nullopt when the
/// file has none. Errors name the file and, for unrecognized templates, say
/// to use --chat-template.
llvm::Expected<std::optional<ChatFormat>> readChatTemplate(llvm::StringRef configPath);

struct SpecialTokens {
  std::string bos = "<s>";
  std::string eos = "</s>";
};

/// The prompt text of `messages`, ending where the assistant's answer
/// begins. The leading BOS is left out: the tokenizer adds it when it
/// encodes with special tokens, as it does for a plain prompt.
std::string renderChat(ChatFormat format, const std::vector<ChatMessage> &messages,
                       const SpecialTokens &tokens);

/// The tokens that end an assistant turn in `format` besides EOS.
std::vector<std::string> endOfTurnTokens(ChatFormat format);

} // namespace tfc::serve

#endif // TFC_TOOLS_TFC_SERVE_CHATTEMPLATE_H
