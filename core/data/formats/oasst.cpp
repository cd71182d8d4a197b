// OpenAssistant conversation trees (oasst1, oasst2): the nested tree export, bare or wrapped as
// {"message_tree_id", "prompt": message}, and the flat message table rebuilt into trees.
#include <cmath>
#include <map>

#include "data/formats/importer_p.h"

namespace rr::core::formats {
namespace {

struct Message {
  std::string id, parentId, role, text, lang;
  std::optional<long> rank;
  bool deleted = false;
  bool root = false;
  long line = 0;
  std::vector<size_t> replies;
};

// Copies converted through pandas, which has no nullable integer column, store rank as 0.0, 1.0...
std::optional<long> rankOf(const json& obj, const std::string& prefix) {
  const json* rank = optionalField(obj, "rank");
  if (!rank) return std::nullopt;
  if (rank->is_number_float() && rank->get<double>() == std::floor(rank->get<double>()))
    return static_cast<long>(rank->get<double>());
  return integerField(obj, "rank", prefix);
}

Message parseMessage(const json& obj, const std::string& prefix, long line) {
  Message m;
  m.line = line;
  m.role = stringField(obj, "role", prefix);
  if (m.role != "prompter" && m.role != "assistant")
    throw BadRecord("field '" + prefix + "role' must be \"prompter\" or \"assistant\"",
                    "got \"" + m.role + "\"");
  m.text = stringField(obj, "text", prefix);
  if (optionalField(obj, "lang")) m.lang = stringField(obj, "lang", prefix);
  m.rank = rankOf(obj, prefix);
  if (const json* deleted = optionalField(obj, "deleted")) {
    if (!deleted->is_boolean()) throw BadRecord("field '" + prefix + "deleted' must be a boolean");
    m.deleted = deleted->get<bool>();
  }
  return m;
}

// Appends `obj` and its nested replies to `out`; returns the index of `obj`.
size_t addTree(const json& obj, const std::string& prefix, long line, std::vector<Message>& out) {
  const size_t at = out.size();
  out.push_back(parseMessage(obj, prefix, line));
  const json* replies = optionalField(obj, "replies");
  if (!replies) return at;
  if (!replies->is_array()) throw BadRecord("field '" + prefix + "replies' must be an array");
  for (size_t i = 0; i < replies->size(); ++i) {
    const std::string childPrefix = prefix + "replies[" + std::to_string(i) + "].";
    if (!(*replies)[i].is_object())
      throw BadRecord("field '" + childPrefix.substr(0, childPrefix.size() - 1) +
                      "' must be an object");
    const size_t child = addTree((*replies)[i], childPrefix, line, out);
    out[at].replies.push_back(child);
  }
  return at;
}

class OasstReader : public FormatReader {
 public:
  explicit OasstReader(std::string lang) : m_lang(std::move(lang)) {}

  void record(const json& row, const std::string&, long line, ImportContext& ctx) override {
    const json* wrapped = optionalField(row, "prompt");
    if (wrapped && wrapped->is_object()) {
      std::vector<Message> tree;
      addTree(*wrapped, "prompt.", line, tree);
      emitTree(tree, 0, ctx);
    } else if (row.contains("replies")) {
      std::vector<Message> tree;
      addTree(row, "", line, tree);
      emitTree(tree, 0, ctx);
    } else {
      addFlat(row, line);
    }
  }

  // Flat rows can name a parent that comes later in the file, so trees are linked at the end.
  void finish(ImportContext& ctx) override {
    std::map<std::string, size_t> byId;
    for (size_t i = 0; i < m_flat.size(); ++i) byId[m_flat[i].id] = i;
    for (size_t i = 0; i < m_flat.size(); ++i) {
      if (m_flat[i].root) continue;
      auto parent = byId.find(m_flat[i].parentId);
      if (parent != byId.end()) {
        m_flat[parent->second].replies.push_back(i);
        continue;
      }
      ctx.guard(m_flat[i].line,
                [&] { throw BadRecord("parent message is not in the file", m_flat[i].parentId); });
    }
    for (size_t i = 0; i < m_flat.size(); ++i)
      if (m_flat[i].root) emitTree(m_flat, i, ctx);
  }

 private:
  void addFlat(const json& row, long line) {
    Message m = parseMessage(row, "", line);
    m.id = stringField(row, "message_id");
    const json& parent = field(row, "parent_id");
    if (!parent.is_null() && !parent.is_string())
      throw BadRecord("field 'parent_id' must be a string or null");
    m.root = parent.is_null();
    if (!m.root) m.parentId = parent.get<std::string>();
    if (!m_flatIds.insert(m.id).second) throw BadRecord("duplicate message_id", m.id);
    m_flat.push_back(std::move(m));
  }

  void emitTree(const std::vector<Message>& msgs, size_t root, ImportContext& ctx) {
    std::vector<size_t> thread;
    walk(msgs, root, thread, ctx);
  }

  void walk(const std::vector<Message>& msgs, size_t at, std::vector<size_t>& thread,
            ImportContext& ctx) {
    thread.push_back(at);
    if (msgs[at].role == "prompter") emitReplies(msgs, thread, ctx);
    for (size_t reply : msgs[at].replies) walk(msgs, reply, thread, ctx);
    thread.pop_back();
  }

  void emitReplies(const std::vector<Message>& msgs, const std::vector<size_t>& thread,
                   ImportContext& ctx) {
    const Message& prompter = msgs[thread.back()];
    if (prompter.deleted) {
      ctx.notUsed("oasst prompter message deleted");
      return;
    }
    std::vector<const Message*> ranked;
    for (size_t r : prompter.replies) {
      const Message& reply = msgs[r];
      if (reply.role != "assistant") continue;
      if (reply.deleted)
        ctx.notUsed("oasst reply deleted");
      else if (!reply.rank)
        ctx.notUsed("oasst reply without rank");
      else if (reply.lang != m_lang)
        ctx.notUsed("oasst reply not in language '" + m_lang + "'");
      else
        ranked.push_back(&reply);
    }
    std::string prompt;
    for (size_t t : thread)
      prompt += (prompt.empty() ? "" : "\n\n") +
                std::string(msgs[t].role == "prompter" ? "User: " : "Assistant: ") + msgs[t].text;
    for (size_t i = 0; i < ranked.size(); ++i)
      for (size_t j = i + 1; j < ranked.size(); ++j) {
        const Message* a = ranked[i];
        const Message* b = ranked[j];
        if (*a->rank == *b->rank) {
          ctx.notUsed("oasst replies with equal rank");
          continue;
        }
        if (*b->rank < *a->rank) std::swap(a, b);
        ctx.emit(makePair("oasst", prompt, a->text, b->text), a->line);
      }
  }

  std::string m_lang;
  std::vector<Message> m_flat;
  std::set<std::string> m_flatIds;
};

}  // namespace

std::unique_ptr<FormatReader> makeOasst(const ImportOptions& o) {
  return std::make_unique<OasstReader>(o.lang);
}

}  // namespace rr::core::formats
