//===- ChatTemplate.cpp - Chat messages to prompt text --------------------===//
//
// Each render function follows its family's reference template (the Hugging
// Face tokenizer_config.json of Llama-2-chat, Llama-3-Instruct, Qwen2,
// Mistral-7B-Instruct and DeepSeek-V3) with the leading BOS left to the
// tokenizer. Where a template would raise (a system message Mistral v0.1
// does not know), the message is folded into the first user turn instead,
// as later Mistral templates do.
//
//===----------------------------------------------------------------------===//
#include "ChatTemplate.h"

#include "llvm/Support/MemoryBuffer.h"

#include <nlohmann/json.hpp>

using namespace tfc::serve;
using json = nlohmann::json;

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string strip(llvm::StringRef text) { return text.trim(" \t\n\r").str(); }

/// The system messages joined, and the other messages in order.
std::pair<std::string, std::vector<ChatMessage>> splitSystem(const std::vector<ChatMessage> &all) {
  std::string system;
  std::vector<ChatMessage> rest;
  for (const ChatMessage &m : all) {
    if (m.role != "system") {
      rest.push_back(m);
      continue;
    }
    if (!system.empty())
      system += "\n\n";
    system += m.content;
  }
  return {system, rest};
}

// [INST] turns; Llama 2 writes the system prompt in <<SYS>> inside the first
// turn, Mistral prepends it to the first user message. Every assistant turn
// ends with EOS; Llama 2 also starts every user turn but the first with BOS
// (Mistral's BOS comes once, first).
std::string renderInst(const std::vector<ChatMessage> &messages, const SpecialTokens &tokens,
                       bool llama2) {
  auto [system, turns] = splitSystem(messages);
  std::string out;
  bool first = true;
  for (const ChatMessage &m : turns) {
    if (m.role == "user") {
      std::string content = llama2 ? strip(m.content) : m.content;
      if (first && !system.empty())
        content = llama2 ? "<<SYS>>\n" + strip(system) + "\n<</SYS>>\n\n" + content
                         : system + "\n\n" + content;
      if (!first && llama2)
        out += tokens.bos;
      out += "[INST] " + content + " [/INST]";
      first = false;
    } else {
      out += llama2 ? " " + strip(m.content) + " " + tokens.eos : m.content + tokens.eos;
    }
  }
  return out;
}

std::string renderLlama3(const std::vector<ChatMessage> &messages) {
  std::string out;
  for (const ChatMessage &m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip(m.content) +
           "<|eot_id|>";
  return out + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

std::string renderChatML(const std::vector<ChatMessage> &messages) {
  std::string out;
  for (const ChatMessage &m : messages)
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  return out + "<|im_start|>assistant\n";
}

// DeepSeek-V3: the system prompt right after BOS, then <｜User｜> and
// <｜Assistant｜> turns, each answer closed by <｜end▁of▁sentence｜>.
std::string renderDeepSeek(const std::vector<ChatMessage> &messages) {
  auto [system, turns] = splitSystem(messages);
  std::string out = system;
  for (const ChatMessage &m : turns) {
    if (m.role == "user")
      out += "<｜User｜>" + m.content;
    else
      out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
  }
  return out + "<｜Assistant｜>";
}

struct NamedFormat {
  const char *name;
  ChatFormat format;
};
const NamedFormat namedFormats[] = {
    {"llama2", ChatFormat::Llama2},   {"llama3", ChatFormat::Llama3},
    {"chatml", ChatFormat::ChatML},   {"qwen", ChatFormat::ChatML},
    {"mistral", ChatFormat::Mistral}, {"deepseek", ChatFormat::DeepSeek},
};

} // namespace

const char *tfc::serve::chatFormatNames() { return "llama2, llama3, chatml, qwen, mistral, deepseek"; }

std::optional<ChatFormat> tfc::serve::chatFormatByName(llvm::StringRef name) {
  for (const NamedFormat &named : namedFormats)
    if (name == named.name)
      return named.format;
  return std::nullopt;
}

const char *tfc::serve::chatFormatName(ChatFormat format) {
  for (const NamedFormat &named : namedFormats)
    if (named.format == format)
      return named.name;
  return "?";
}

std::optional<ChatFormat> tfc::serve::recognizeChatTemplate(llvm::StringRef jinja) {
  // The most specific markers first: a Llama 3 or DeepSeek template may also
  // mention [INST] or <|im_start|> in a comment, never the other way round.
  if (jinja.contains("<|start_header_id|>"))
    return ChatFormat::Llama3;
  if (jinja.contains("<｜User｜>") || jinja.contains("<｜Assistant｜>"))
    return ChatFormat::DeepSeek;
  if (jinja.contains("<|im_start|>"))
    return ChatFormat::ChatML;
  if (jinja.contains("[INST]"))
    return jinja.contains("<<SYS>>") ? ChatFormat::Llama2 : ChatFormat::Mistral;
  return std::nullopt;
}

llvm::Expected<std::optional<ChatFormat>> tfc::serve::readChatTemplate(llvm::StringRef configPath) {
  auto buffer = llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot read '" + configPath + "': " + buffer.getError().message());
  json config = json::parse((*buffer)->getBuffer(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object())
    return makeError("'" + configPath + "' is not a JSON object");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null())
    return std::nullopt;
  std::string jinja;
  if (it->is_string()) {
    jinja = it->get<std::string>();
  } else if (it->is_array()) {
    for (const json &entry : *it)
      if (entry.is_object() && entry.value("name", json()) == "default" &&
          entry.value("template", json()).is_string())
        jinja = entry["template"].get<std::string>();
    if (jinja.empty())
      return makeError("'" + configPath +
                       "': field 'chat_template' lists no template named \"default\"");
  } else {
    return makeError("'" + configPath + "': field 'chat_template' is neither a string nor a list");
  }
  std::optional<ChatFormat> format = recognizeChatTemplate(jinja);
  if (!format)
    return makeError("'" + configPath +
                     "': the chat_template is none of the known families; choose one with "
                     "--chat-template (" + chatFormatNames() + ")");
  return format;
}

std::string tfc::serve::renderChat(ChatFormat format, const std::vector<ChatMessage> &messages,
                                   const SpecialTokens &tokens) {
  switch (format) {
  case ChatFormat::Llama2:
    return renderInst(messages, tokens, /*llama2=*/true);
  case ChatFormat::Mistral:
    return renderInst(messages, tokens, /*llama2=*/false);
  case ChatFormat::Llama3:
    return renderLlama3(messages);
  case ChatFormat::ChatML:
    return renderChatML(messages);
  case ChatFormat::DeepSeek:
    return renderDeepSeek(messages);
  }
  return {};
}

std::vector<std::string> tfc::serve::endOfTurnTokens(ChatFormat format) {
  switch (format) {
  case ChatFormat::Llama3:
    return {"<|eot_id|>"};
  case ChatFormat::ChatML:
    return {"<|im_end|>"};
  case ChatFormat::DeepSeek:
    return {"<｜end▁of▁sentence｜>"};
  case ChatFormat::Llama2:
  case ChatFormat::Mistral:
    return {};
  }
  return {};
}
