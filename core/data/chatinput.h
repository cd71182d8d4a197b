#pragma once
// A decoder reward model's inputs (Llama, Qwen2, Qwen3, Gemma2): the conversation rendered
// through the folder's chat template and tokenized as published decoder reward models were
// trained and are scored (the Skywork-Reward recipe, transformers' apply_chat_template):
//   text = template([user: prompt, assistant: response]), add_generation_prompt false;
//   a leading bos_token string removed (the tokenizer adds its own: no duplicate BOS);
//   ids  = the tokenizer's single layout around encode(text) (Llama-3's and Gemma-2's BOS).
// A folder without a chat template (a base model): prompt + "\n" + response + the EOS token,
// as TRL's RewardTrainer joins a pair. docs/CHECKPOINTS.md says so.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/chattemplate.h"
#include "data/tokenizer.h"

namespace rr::core {

class ChatInputTokenizer : public Tokenizer {
 public:
  // `inner` is the folder's tokenizer (tokenizer.json); `dir` the model folder.
  ChatInputTokenizer(std::unique_ptr<Tokenizer> inner, const std::string& dir);

  std::vector<int> encode(const std::string& text) const override { return m_inner->encode(text); }
  std::string decode(const std::vector<int>& ids) const override { return m_inner->decode(ids); }
  int vocabSize() const override { return m_inner->vocabSize(); }
  // The inner tokenizer's, with a pad id that batches can use when the tokenizer has none (the
  // EOS, else 0): the model finds its reward token by the mask and pad_token_id, not by this.
  SpecialIds special() const override;
  std::string modelPath() const override { return m_inner->modelPath(); }
  std::vector<std::string> files() const override;
  InputLayout layout() const override { return m_inner->layout(); }

  std::vector<int> encodeInput(const std::string& prompt, const std::string& response, int maxLen,
                               int* secondSegment) const override;
  std::vector<int> encodePromptInput(const std::string& prompt, int maxLen) const override;
  std::vector<int> encodeConversationInput(const std::vector<ChatMessage>& messages, int maxLen,
                                           int* secondSegment) const override {
    std::vector<int> ids = encodeConversation(messages, maxLen);
    if (secondSegment) *secondSegment = static_cast<int>(ids.size());
    return ids;
  }

  // Any conversation (multi-turn `score` lines): the last message is the one scored. When the
  // ids pass maxLen, the earliest turns lose their beginnings first and the last message keeps
  // its beginning; the template's own text around the turns is kept.
  std::vector<int> encodeConversation(const std::vector<ChatMessage>& messages, int maxLen) const;

  bool hasTemplate() const { return m_template.has_value(); }
  // "the chat template in chat_template.jinja" / "... tokenizer_config.json" / "no chat
  // template: prompt \n response EOS".
  std::string describe() const;

 private:
  std::string render(const std::vector<ChatMessage>& messages) const;
  std::vector<int> fit(const std::vector<ChatMessage>& messages, int maxLen) const;

  std::unique_ptr<Tokenizer> m_inner;
  std::string m_dir;
  std::optional<ChatTemplate> m_template;
  std::string m_bosText, m_eosText;
};

}  // namespace rr::core
