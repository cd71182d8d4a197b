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
  // Range-checked before the conversion: a float past LONG_MAX does not convert.
  if (rank->is_number_float() && rank->get<double>() == std::floor(rank->get<double>()) &&
      std::fabs(rank->get<double>()) < 1e15)
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

// Appends the message `root` and its nested replies to `out`, each parent before its replies.
// Iterative, and the field path of a message ("prompt.replies[0].replies[2].") is built only for
// an error message: a copy of it per level made a deep thread cost memory quadratic in its depth.
void addTree(const json& root, const std::string& rootPrefix, long line,
             std::vector<Message>& out) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  const size_t base = out.size();
  std::vector<std::pair<size_t, size_t>> parentOf;  // per message from `base`: parent, position
  auto prefixOf = [&](size_t parent, size_t position) {
    std::vector<size_t> positions;
    for (; parent != kNone; parent = parentOf[parent - base].first) {
      positions.push_back(position);
      position = parentOf[parent - base].second;
    }
    std::string prefix = rootPrefix;
    for (size_t i = positions.size(); i-- > 0;)
      prefix += "replies[" + std::to_string(positions[i]) + "].";
    return prefix;
  };
  struct Todo {
    const json* obj;
    size_t parent, position;
  };
  std::vector<Todo> todo{{&root, kNone, 0}};
  while (!todo.empty()) {
    const Todo t = todo.back();
    todo.pop_back();
    const size_t at = out.size();
    try {
      out.push_back(parseMessage(*t.obj, "", line));
    } catch (const BadRecord&) {
      parseMessage(*t.obj, prefixOf(t.parent, t.position), line);  // the same error, with its path
      throw;
    }
    parentOf.emplace_back(t.parent, t.position);
    if (t.parent != kNone) out[t.parent].replies.push_back(at);
    const json* replies = optionalField(*t.obj, "replies");
    if (!replies) continue;
    if (!replies->is_array())
      throw BadRecord("field '" + prefixOf(t.parent, t.position) + "replies' must be an array");
    // Pushed last to first, so that replies are read (and listed) in their order.
    for (size_t i = replies->size(); i-- > 0;) {
      if (!(*replies)[i].is_object())
        throw BadRecord("field '" + prefixOf(t.parent, t.position) + "replies[" +
                        std::to_string(i) + "]' must be an object");
      todo.push_back({&(*replies)[i], at, i});
    }
  }
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

  // Depth-first over the thread below `root`, iteratively (a flat table can chain messages
  // without limit). The thread's text is one string that grows and shrinks with the path, so each
  // message is appended once per visit: time linear in the size of the tree, and a prompt is
  // copied only into the pairs made from it.
  void emitTree(const std::vector<Message>& msgs, size_t root, ImportContext& ctx) {
    struct Frame {
      size_t at, nextReply, promptLength;
    };
    std::string prompt;
    std::vector<Frame> path;
    auto enter = [&](size_t at) {
      path.push_back({at, 0, prompt.size()});
      const Message& m = msgs[at];
      if (!prompt.empty()) prompt += "\n\n";
      prompt += m.role == "prompter" ? "User: " : "Assistant: ";
      prompt += m.text;
      if (m.role == "prompter") emitReplies(msgs, at, prompt, ctx);
    };
    enter(root);
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.nextReply < msgs[f.at].replies.size()) {
        const size_t reply = msgs[f.at].replies[f.nextReply++];
        enter(reply);
      } else {
        prompt.resize(f.promptLength);
        path.pop_back();
      }
    }
  }

  // Pairs from the ranked replies to the prompter message `at`; `prompt` is its thread.
  void emitReplies(const std::vector<Message>& msgs, size_t at, const std::string& prompt,
                   ImportContext& ctx) {
    const Message& prompter = msgs[at];
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
