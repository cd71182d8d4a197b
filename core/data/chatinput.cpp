#include "data/chatinput.h"

#include <algorithm>
#include <filesystem>

#include "common/errors.h"

namespace rr::core {

namespace fs = std::filesystem;

namespace {

// Stand-ins for each message's content when the template is rendered to find where the turns
// sit (see fit): control characters no published template strips or rewrites.
std::string marker(size_t i) { return "\x02rr-turn-" + std::to_string(i) + "\x03"; }

std::string tokenText(const nlohmann::json& context, const char* key) {
  auto it = context.find(key);
  return it != context.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ChatInputTokenizer::ChatInputTokenizer(std::unique_ptr<Tokenizer> inner, const std::string& dir)
    : m_inner(std::move(inner)), m_dir(dir), m_template(readChatTemplate(dir)) {
  const nlohmann::json context = chatContext(dir, {}, false);
  m_bosText = tokenText(context, "bos_token");
  m_eosText = tokenText(context, "eos_token");
}

SpecialIds ChatInputTokenizer::special() const {
  SpecialIds s = m_inner->special();
  if (s.pad < 0) s.pad = s.eos >= 0 ? s.eos : 0;
  return s;
}

std::vector<std::string> ChatInputTokenizer::files() const {
  std::vector<std::string> out = m_inner->files();
  for (const char* f : {"chat_template.jinja", "tokenizer_config.json"}) {
    const std::string p = (fs::path(m_dir) / f).string();
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && std::find(out.begin(), out.end(), p) == out.end())
      out.push_back(p);
  }
  return out;
}

std::string ChatInputTokenizer::describe() const {
  if (!m_template)
    return "no chat template: prompt, a line break, the response and " +
           (m_eosText.empty() ? std::string("no end token") : m_eosText);
  return "chat template (" + m_template->label() + ")";
}

std::string ChatInputTokenizer::render(const std::vector<ChatMessage>& messages) const {
  if (!m_template) {
    // TRL's RewardTrainer without a template: the texts joined, the EOS token after.
    std::string text;
    for (size_t i = 0; i < messages.size(); ++i)
      text += (i ? "\n" : "") + messages[i].content;
    return text + m_eosText;
  }
  std::string text = m_template->render(chatContext(m_dir, messages, false));
  // The Skywork recipe: the template's own BOS goes, the tokenizer adds one.
  if (!m_bosText.empty() && text.compare(0, m_bosText.size(), m_bosText) == 0)
    text.erase(0, m_bosText.size());
  return text;
}

std::vector<int> ChatInputTokenizer::encodeConversation(const std::vector<ChatMessage>& messages,
                                                        int maxLen) const {
  const InputLayout l = m_inner->layout();
  std::vector<int> ids = l.singleBefore;
  const std::vector<int> body = m_inner->encode(render(messages));
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), l.singleAfter.begin(), l.singleAfter.end());
  if (maxLen <= 0 || ids.size() <= static_cast<size_t>(maxLen)) return ids;
  return fit(messages, maxLen);
}

// Too long for maxLen: the template is rendered with a marker for each message's content, the
// text between the markers (the template's own) and each content are tokenized apart, and the
// contents are cut: the earliest turns from the left first, then the last message from the
// right. Tokens at a turn's edges can differ from tokenizing the whole text at once; only inputs
// that are cut anyway go this way. A template that rewrites contents (so the markers are not
// found in order) is cut as one sequence instead: its first ids (the BOS and the first header)
// and as many of its last ones as fit.
std::vector<int> ChatInputTokenizer::fit(const std::vector<ChatMessage>& messages,
                                         int maxLen) const {
  const InputLayout l = m_inner->layout();
  std::vector<ChatMessage> marked = messages;
  for (size_t i = 0; i < marked.size(); ++i) marked[i].content = marker(i);
  const std::string text = render(marked);
  std::vector<std::string> between;
  size_t at = 0;
  bool ordered = true;
  for (size_t i = 0; i < marked.size() && ordered; ++i) {
    const size_t found = text.find(marked[i].content, at);
    if (found == std::string::npos) {
      ordered = false;
      break;
    }
    between.push_back(text.substr(at, found - at));
    at = found + marked[i].content.size();
  }
  const size_t budget = static_cast<size_t>(maxLen);
  if (!ordered) {
    std::vector<int> all = l.singleBefore;
    const std::vector<int> body = m_inner->encode(render(messages));
    all.insert(all.end(), body.begin(), body.end());
    all.insert(all.end(), l.singleAfter.begin(), l.singleAfter.end());
    const size_t head = std::min<size_t>(l.singleBefore.size() + 8, budget / 4);
    std::vector<int> out(all.begin(), all.begin() + static_cast<long>(head));
    out.insert(out.end(), all.end() - static_cast<long>(budget - head), all.end());
    return out;
  }
  between.push_back(text.substr(at));
  // Each content as the template wrote it (Llama-3.1's trims it): what lies between the
  // template's own pieces in the whole text; the contents as given where that cannot be found.
  std::vector<std::string> written;
  {
    const std::string whole = render(messages);
    size_t pos = between[0].size();
    bool found = whole.compare(0, between[0].size(), between[0]) == 0;
    for (size_t i = 0; found && i < messages.size(); ++i) {
      const std::string& next = between[i + 1];
      const size_t end = i + 1 == messages.size()
                             ? (whole.size() >= pos + next.size() &&
                                        whole.compare(whole.size() - next.size(), next.size(),
                                                      next) == 0
                                    ? whole.size() - next.size()
                                    : std::string::npos)
                             : whole.find(next, pos);
      if (end == std::string::npos || end < pos) {
        found = false;
        break;
      }
      written.push_back(whole.substr(pos, end - pos));
      pos = end + next.size();
    }
    if (!found) {
      written.clear();
      for (const ChatMessage& m : messages) written.push_back(m.content);
    }
  }
  std::vector<std::vector<int>> fixed, content;
  size_t fixedCount = l.singleBefore.size() + l.singleAfter.size();
  for (const std::string& b : between) {
    fixed.push_back(m_inner->encode(b));
    fixedCount += fixed.back().size();
  }
  size_t contentCount = 0;
  for (const std::string& w : written) {
    content.push_back(m_inner->encode(w));
    contentCount += content.back().size();
  }
  size_t excess = fixedCount + contentCount > budget ? fixedCount + contentCount - budget : 0;
  for (size_t i = 0; i + 1 < content.size() && excess > 0; ++i) {
    const size_t cut = std::min(excess, content[i].size());
    content[i].erase(content[i].begin(), content[i].begin() + static_cast<long>(cut));
    excess -= cut;
  }
  if (excess > 0 && !content.empty()) {
    auto& last = content.back();
    last.resize(last.size() - std::min(excess, last.size()));
  }
  std::vector<int> out = l.singleBefore;
  for (size_t i = 0; i < fixed.size(); ++i) {
    out.insert(out.end(), fixed[i].begin(), fixed[i].end());
    if (i < content.size()) out.insert(out.end(), content[i].begin(), content[i].end());
  }
  out.insert(out.end(), l.singleAfter.begin(), l.singleAfter.end());
  // The template's own text alone past the limit: its end (where the reward is read) is kept.
  if (out.size() > budget) out.erase(out.begin(), out.end() - static_cast<long>(budget));
  return out;
}

std::vector<int> ChatInputTokenizer::encodeInput(const std::string& prompt,
                                                 const std::string& response, int maxLen,
                                                 int* secondSegment) const {
  std::vector<int> ids =
      encodeConversation({{"user", prompt}, {"assistant", response}}, maxLen);
  // Decoders take no token types: one segment throughout.
  if (secondSegment) *secondSegment = static_cast<int>(ids.size());
  return ids;
}

std::vector<int> ChatInputTokenizer::encodePromptInput(const std::string& prompt,
                                                       int maxLen) const {
  return encodeConversation({{"user", prompt}}, maxLen);
}

}  // namespace rr::core
