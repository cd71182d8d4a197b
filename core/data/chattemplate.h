#pragma once
// Hugging Face chat templates (Jinja2) rendered the way transformers renders them.
//
// transformers renders a folder's chat template with jinja2's ImmutableSandboxedEnvironment
// (trim_blocks, lstrip_blocks, the loopcontrols extension), its own `tojson` filter
// (json.dumps with ensure_ascii=False), `raise_exception(msg)` and `strftime_now(fmt)`.
// Debian packages no C++ implementation of Jinja2's semantics (libinja-dev implements a
// different language: no `|` filters, no namespace(), no Python string methods), so this is a
// bounded interpreter of the subset published templates use (docs/CHECKPOINTS.md, "Chat
// templates", lists it). A construct outside the subset is refused when the template is parsed,
// in one line: "LABEL:LINE: 'X' is not supported in chat templates".
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rr::core {

struct ChatMessage {
  std::string role, content;
};

namespace chat {
struct Program;
}

class ChatTemplate {
 public:
  // Parses once; InputError "LABEL:LINE: what" for syntax errors and unsupported constructs.
  // LABEL names the template in every message ("DIR/chat_template.jinja").
  ChatTemplate(const std::string& source, const std::string& label);

  // Renders with `context` (a JSON object: messages, add_generation_prompt, bos_token, ...).
  // InputError "LABEL: the chat template refused the conversation: MSG" when the template calls
  // raise_exception(MSG); "LABEL:LINE: what" for any other failure (an undefined value used,
  // a type error, a bound passed).
  std::string render(const nlohmann::json& context) const;
  // The same with strftime_now() reading `now` instead of the local time (tests, reproducible
  // renders).
  std::string render(const nlohmann::json& context, const std::tm& now) const;
  // nlohmann::json keeps an object's keys sorted; an ordered_json context keeps them in the order
  // they were added, as Python's dicts do (a template that prints a dict with tojson or walks
  // its items() shows that order).
  std::string render(const nlohmann::ordered_json& context, const std::tm& now) const;

  const std::string& label() const;

 private:
  std::shared_ptr<const chat::Program> m_program;
};

// The folder's template: chat_template.jinja, else tokenizer_config.json's "chat_template" (a
// string, or the entry named "default" of a list of {"name", "template"}); nullopt when neither.
// InputError for a bad file (only regular files, size bounds) or a template that does not parse.
std::optional<ChatTemplate> readChatTemplate(const std::string& dir);

// The context transformers builds for apply_chat_template(messages, tokenize=False,
// add_generation_prompt=...): the messages, add_generation_prompt, tools and documents (none)
// and the named special tokens (bos, eos, unk, sep, pad, cls, mask) of tokenizer_config.json
// (strings or {"content": ...} objects; special_tokens_map.json fills those it lacks).
nlohmann::json chatContext(const std::string& dir, const std::vector<ChatMessage>& messages,
                           bool addGenerationPrompt);

}  // namespace rr::core
