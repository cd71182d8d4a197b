// tokenizer.json's models (WordPiece, BPE, Unigram) as the Rust `tokenizers` library applies
// them (its models/ module): the same greedy match, the same merge order (lowest rank first, then
// leftmost), the same Viterbi path and tie-breaks. Long inputs stay near-linear: BPE merges
// through a priority queue, WordPiece never tries a piece longer than the longest token, and
// Unigram's lattice is the input's length times the longest token's.
#include <algorithm>
#include <climits>
#include <limits>
#include <queue>
#include <unordered_map>

#include "common/errors.h"
#include "common/jsonparse.h"
#include "data/tokenizerjson_p.h"

namespace rr::core::tokjson {
namespace {

std::string byteToken(unsigned char b) {
  static const char* hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

// A vocabulary given as {"token": id, ...}: ids from 0 to 2^31-2, each token at most
// kMaxTokenBytes.
std::unordered_map<std::string, int> readVocabObject(const Reader& r, const json& vocab,
                                                     const std::string& path) {
  if (!vocab.is_object()) r.mustBe(path, "an object of token: id", vocab);
  if (vocab.size() > kMaxVocab)
    r.fail(path, std::to_string(vocab.size()) + " tokens, more than the " +
                     std::to_string(kMaxVocab) + " a vocabulary may have");
  std::unordered_map<std::string, int> out;
  out.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (token.size() > kMaxTokenBytes)
      r.fail(path, "a token of " + std::to_string(token.size()) + " bytes (at most " +
                       std::to_string(kMaxTokenBytes) + ")");
    out[token] =
        static_cast<int>(r.integer(id, path + "[\"" + shortPrefix(token) + "\"]", 0, INT_MAX - 1));
  }
  return out;
}

std::vector<std::string> tokensOf(const std::unordered_map<std::string, int>& vocab) {
  int top = -1;
  for (const auto& [t, id] : vocab) top = std::max(top, id);
  std::vector<std::string> out(static_cast<size_t>(top + 1));
  for (const auto& [t, id] : vocab) out[id] = t;
  return out;
}

// The code point boundaries of a UTF-8 string (byte offsets, the end included).
std::vector<size_t> charStarts(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  out.push_back(s.size());
  return out;
}

// ---- WordPiece ----

class WordPiece : public Model {
 public:
  WordPiece(const Reader& r, const json& v, const std::string& path) {
    m_vocab = readVocabObject(r, r.required(v, path, "vocab"), path + ".vocab");
    const std::string unk = r.optString(v, path, "unk_token", "[UNK]");
    auto it = m_vocab.find(unk);
    if (it == m_vocab.end())
      r.fail(path + ".unk_token", "'" + shortPrefix(unk) + "' is not in the vocabulary");
    m_unk = it->second;
    m_prefix = r.optString(v, path, "continuing_subword_prefix", "##");
    if (const json* m = r.find(v, "max_input_chars_per_word"))
      m_maxChars = static_cast<size_t>(
          r.integer(*m, path + ".max_input_chars_per_word", 0, std::numeric_limits<long>::max()));
    for (const auto& [t, id] : m_vocab) m_longest = std::max(m_longest, t.size());
  }

  void encode(const std::string& word, std::vector<int>& ids) const override {
    const std::vector<size_t> at = charStarts(word);
    const size_t chars = at.size() - 1;
    if (chars > m_maxChars) {
      ids.push_back(m_unk);
      return;
    }
    std::vector<int> pieces;
    size_t start = 0;  // index into `at`
    while (start < chars) {
      size_t end = chars;
      // Longer candidates than the longest token cannot match: start below that.
      while (end > start && at[end] - at[start] > m_longest) --end;
      int found = -1;
      for (; end > start; --end) {
        std::string sub = word.substr(at[start], at[end] - at[start]);
        if (start > 0) sub = m_prefix + sub;
        auto it = m_vocab.find(sub);
        if (it != m_vocab.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        ids.push_back(m_unk);
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }
  int tokenToId(const std::string& t) const override {
    auto it = m_vocab.find(t);
    return it == m_vocab.end() ? -1 : it->second;
  }
  std::vector<std::string> tokens() const override { return tokensOf(m_vocab); }
  int unkId() const override { return m_unk; }

 private:
  std::unordered_map<std::string, int> m_vocab;
  std::string m_prefix;
  size_t m_maxChars = 100;
  size_t m_longest = 0;
  int m_unk = -1;
};

// ---- BPE ----

class Bpe : public Model {
 public:
  struct Options {
    std::string unk, prefix, suffix;
    bool hasUnk = false, fuseUnk = false, byteFallback = false, ignoreMerges = false;
  };

  Bpe(std::unordered_map<std::string, int> vocab, Options o)
      : m_vocab(std::move(vocab)), m_o(std::move(o)) {}

  // Ranks in order of `merges`; a pair listed twice keeps its later rank (the library collects
  // them into a map).
  void addMerge(const std::string& a, const std::string& b, int rank,
                const std::function<void(const std::string&)>& unknown) {
    auto ia = m_vocab.find(a), ib = m_vocab.find(b);
    if (ia == m_vocab.end()) unknown(a);
    if (ib == m_vocab.end()) unknown(b);
    const size_t cut = std::min(m_o.prefix.size(), b.size());
    const std::string merged = a + b.substr(cut);
    auto im = m_vocab.find(merged);
    if (im == m_vocab.end()) unknown(merged);
    m_merges[key(ia->second, ib->second)] = {rank, im->second};
  }

  void checkUnk(const Reader& r, const std::string& path) {
    if (!m_o.hasUnk) return;
    auto it = m_vocab.find(m_o.unk);
    if (it == m_vocab.end())
      r.fail(path, "'" + shortPrefix(m_o.unk) + "' is not in the vocabulary");
    m_unk = it->second;
  }

  void encode(const std::string& word, std::vector<int>& ids) const override {
    if (word.empty()) return;
    if (m_o.ignoreMerges) {
      auto it = m_vocab.find(word);
      if (it != m_vocab.end()) {
        ids.push_back(it->second);
        return;
      }
    }
    // The word's characters as symbols (with the prefix and suffix where they apply), unknown
    // ones as bytes or as the unknown token, fused when configured.
    std::vector<int> symbols;
    int pendingUnk = 0;  // 1 when an unknown symbol waits (fuse_unk joins the next ones to it)
    const std::vector<size_t> at = charStarts(word);
    for (size_t i = 0; i + 1 < at.size(); ++i) {
      std::string s = word.substr(at[i], at[i + 1] - at[i]);
      if (i > 0) s = m_o.prefix + s;
      if (i + 2 == at.size()) s += m_o.suffix;
      auto it = m_vocab.find(s);
      if (it != m_vocab.end()) {
        if (pendingUnk) symbols.push_back(m_unk);
        pendingUnk = 0;
        symbols.push_back(it->second);
        continue;
      }
      if (m_o.byteFallback) {
        std::vector<int> bytes;
        for (unsigned char b : s) {
          auto ib = m_vocab.find(byteToken(b));
          if (ib == m_vocab.end()) break;
          bytes.push_back(ib->second);
        }
        if (bytes.size() == s.size()) {
          symbols.insert(symbols.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (m_unk >= 0) {
        if (pendingUnk && !m_o.fuseUnk) symbols.push_back(m_unk);
        pendingUnk = 1;
      }
    }
    if (pendingUnk) symbols.push_back(m_unk);
    merge(symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }

  int tokenToId(const std::string& t) const override {
    auto it = m_vocab.find(t);
    return it == m_vocab.end() ? -1 : it->second;
  }
  std::vector<std::string> tokens() const override { return tokensOf(m_vocab); }
  int unkId() const override { return m_unk; }

 private:
  static uint64_t key(int a, int b) {
    return static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32 | static_cast<uint32_t>(b);
  }

  // Word::merge_all: the lowest-ranked pair first, the leftmost among equals; stale queue entries
  // (a side already merged away) are skipped.
  void merge(std::vector<int>& ids) const {
    if (ids.size() < 2 || m_merges.empty()) return;
    const int n = static_cast<int>(ids.size());
    std::vector<int> prev(n), next(n);
    std::vector<char> alive(n, 1);
    for (int i = 0; i < n; ++i) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Entry {
      int rank, pos, newId;
      bool operator<(const Entry& o) const {  // the priority queue's top is the greatest
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Entry> queue;
    auto push = [&](int pos) {
      const int nx = next[pos];
      if (nx < 0) return;
      auto it = m_merges.find(key(ids[pos], ids[nx]));
      if (it != m_merges.end()) queue.push({it->second.first, pos, it->second.second});
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    while (!queue.empty()) {
      const Entry top = queue.top();
      queue.pop();
      if (!alive[top.pos] || next[top.pos] < 0) continue;
      const int nx = next[top.pos];
      auto it = m_merges.find(key(ids[top.pos], ids[nx]));
      if (it == m_merges.end() || it->second.second != top.newId) continue;
      ids[top.pos] = top.newId;
      alive[nx] = 0;
      next[top.pos] = next[nx];
      if (next[nx] >= 0) prev[next[nx]] = top.pos;
      if (prev[top.pos] >= 0) push(prev[top.pos]);
      push(top.pos);
    }
    std::vector<int> out;
    for (int i = 0; i < n; ++i)
      if (alive[i]) out.push_back(ids[i]);
    ids = std::move(out);
  }

  std::unordered_map<std::string, int> m_vocab;
  std::unordered_map<uint64_t, std::pair<int, int>> m_merges;  // pair -> (rank, new id)
  Options m_o;
  int m_unk = -1;
};

std::unique_ptr<Model> readBpe(const Reader& r, const json& v, const std::string& path) {
  if (const json* d = r.find(v, "dropout")) {
    if (!d->is_number()) r.mustBe(path + ".dropout", "null or a number", *d);
    if (d->get<double>() != 0.0)
      r.fail(path + ".dropout",
             describeJson(*d) + " is not supported (dropout makes encoding random: null or 0)");
  }
  Bpe::Options o;
  if (const json* u = r.find(v, "unk_token")) {
    if (!u->is_string()) r.mustBe(path + ".unk_token", "null or a string", *u);
    o.unk = u->get<std::string>();
    o.hasUnk = true;
  }
  o.prefix = r.optString(v, path, "continuing_subword_prefix", "");
  o.suffix = r.optString(v, path, "end_of_word_suffix", "");
  o.fuseUnk = r.flag(v, path, "fuse_unk", false);
  o.byteFallback = r.flag(v, path, "byte_fallback", false);
  o.ignoreMerges = r.flag(v, path, "ignore_merges", false);
  auto bpe =
      std::make_unique<Bpe>(readVocabObject(r, r.required(v, path, "vocab"), path + ".vocab"), o);
  bpe->checkUnk(r, path + ".unk_token");
  const json& merges = r.array(v, path, "merges");
  if (merges.size() > kMaxMerges)
    r.fail(path + ".merges", std::to_string(merges.size()) + " merges, more than the " +
                                 std::to_string(kMaxMerges) + " this build reads");
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string at = path + ".merges[" + std::to_string(i) + "]";
    const json& m = merges[i];
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        r.mustBe(at, "\"a b\" (two tokens and one space)", m);
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      r.mustBe(at, "\"a b\" or [\"a\", \"b\"]", m);
    }
    bpe->addMerge(a, b, static_cast<int>(i), [&](const std::string& t) {
      r.fail(at, "'" + shortPrefix(t) + "' is not in the vocabulary");
    });
  }
  return bpe;
}

// ---- Unigram ----

class Unigram : public Model {
 public:
  Unigram(const Reader& r, const json& v, const std::string& path) {
    const json& vocab = r.array(v, path, "vocab");
    if (vocab.empty()) r.fail(path + ".vocab", "empty");
    if (vocab.size() > kMaxVocab)
      r.fail(path + ".vocab", std::to_string(vocab.size()) + " pieces, more than the " +
                                  std::to_string(kMaxVocab) + " a vocabulary may have");
    m_nodes.emplace_back();
    for (size_t i = 0; i < vocab.size(); ++i) {
      const std::string at = path + ".vocab[" + std::to_string(i) + "]";
      const json& e = vocab[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        r.mustBe(at, "[\"piece\", score]", e);
      const std::string piece = e[0].get<std::string>();
      if (piece.size() > kMaxTokenBytes)
        r.fail(at, "a piece of " + std::to_string(piece.size()) + " bytes (at most " +
                       std::to_string(kMaxTokenBytes) + ")");
      const double score = e[1].get<double>();
      m_pieces.push_back(piece);
      m_scores.push_back(score);
      m_ids[piece] = static_cast<int>(i);  // a piece listed twice: its last id, as the library
      m_minScore = std::min(m_minScore, score);
      insert(piece, static_cast<int>(i));
    }
    if (const json* u = r.find(v, "unk_id"))
      m_unk =
          static_cast<int>(r.integer(*u, path + ".unk_id", 0, static_cast<long>(vocab.size()) - 1));
    m_byteFallback = r.flag(v, path, "byte_fallback", false);
  }

  // The Viterbi best path (encode_optimized): at each character start, every piece of the trie
  // that begins there; a character no single piece covers gets the unknown token at
  // min_score - 10. Equal scores keep the first candidate (the shortest piece). Unknown pieces
  // next to each other are fused.
  void encode(const std::string& s, std::vector<int>& ids) const override {
    if (s.empty()) return;
    struct Node {
      int id = -1;
      double score = 0;
      long start = -1;
    };
    constexpr int kSkip = -2;
    const double unkScore = m_minScore - 10.0;
    std::vector<Node> best(s.size() + 1);
    for (size_t start = 0; start < s.size();) {
      const size_t mblen = charLength(s, start);
      const double here = best[start].score;
      bool single = false;
      int node = 0;
      for (size_t k = start; k < s.size(); ++k) {
        auto it = m_edges.find(edge(node, static_cast<unsigned char>(s[k])));
        if (it == m_edges.end()) break;
        node = it->second;
        const int id = m_nodes[node];
        if (id < 0) continue;
        Node& target = best[k + 1];
        const double candidate = here + m_scores[id];
        if (target.start < 0 || candidate > target.score) target = {id, candidate, (long)start};
        if (k + 1 - start == mblen) single = true;
      }
      if (!single) {
        // Without unk_id the library fails to encode; here the character gives no id (kSkip).
        Node& target = best[start + mblen];
        const double candidate = here + unkScore;
        if (target.start < 0 || candidate > target.score)
          target = {m_unk >= 0 ? m_unk : kSkip, candidate, static_cast<long>(start)};
      }
      start += mblen;
    }
    std::vector<std::string> parts;
    std::string unkRun;
    bool inUnk = false;
    for (size_t end = s.size(); end > 0;) {
      const Node& n = best[end];
      const size_t start = static_cast<size_t>(n.start);
      if (n.id == kSkip) {
        end = start;
        continue;
      }
      if (n.id == m_unk && m_unk >= 0) {
        unkRun = s.substr(start, end - start) + unkRun;
        inUnk = true;
      } else {
        if (inUnk) parts.push_back(unkRun);
        unkRun.clear();
        inUnk = false;
        parts.push_back(s.substr(start, end - start));
      }
      end = start;
    }
    if (inUnk) parts.push_back(unkRun);
    std::reverse(parts.begin(), parts.end());
    for (const std::string& p : parts) {
      auto it = m_ids.find(p);
      if (it != m_ids.end()) {
        ids.push_back(it->second);
        continue;
      }
      if (m_byteFallback) {
        std::vector<int> bytes;
        for (unsigned char b : p) {
          auto ib = m_ids.find(byteToken(b));
          if (ib == m_ids.end()) break;
          bytes.push_back(ib->second);
        }
        if (bytes.size() == p.size()) {
          ids.insert(ids.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      ids.push_back(m_unk);
    }
  }

  int tokenToId(const std::string& t) const override {
    auto it = m_ids.find(t);
    return it == m_ids.end() ? -1 : it->second;
  }
  std::vector<std::string> tokens() const override { return m_pieces; }
  int unkId() const override { return m_unk; }

 private:
  static uint64_t edge(int node, unsigned char b) {
    return static_cast<uint64_t>(static_cast<uint32_t>(node)) << 8 | b;
  }
  static size_t charLength(const std::string& s, size_t at) {
    size_t n = 1;
    while (at + n < s.size() && (static_cast<unsigned char>(s[at + n]) & 0xC0) == 0x80) ++n;
    return n;
  }
  void insert(const std::string& piece, int id) {
    int node = 0;
    for (unsigned char b : piece) {
      auto [it, fresh] = m_edges.emplace(edge(node, b), static_cast<int>(m_nodes.size()));
      if (fresh) m_nodes.push_back(-1);
      node = it->second;
    }
    m_nodes[node] = id;
  }

  std::vector<std::string> m_pieces;
  std::vector<double> m_scores;
  std::unordered_map<std::string, int> m_ids;
  std::unordered_map<uint64_t, int> m_edges;
  std::vector<int> m_nodes;  // the piece id ending at each trie node, -1 for none
  double m_minScore = std::numeric_limits<double>::max();
  int m_unk = -1;
  bool m_byteFallback = false;
};

}  // namespace

std::unique_ptr<Model> readModel(const Reader& r, const json& v, const std::string& path) {
  const std::string t = r.type(v, path, {"BPE", "WordPiece", "Unigram"});
  if (t == "WordPiece") return std::make_unique<WordPiece>(r, v, path);
  if (t == "Unigram") return std::make_unique<Unigram>(r, v, path);
  return readBpe(r, v, path);
}

std::unique_ptr<Model> byteLevelBpeModel(const std::string& vocabFile, const json& vocab,
                                         const std::string& mergesFile, const std::string& merges) {
  const Reader r(vocabFile);
  auto bpe = std::make_unique<Bpe>(readVocabObject(r, vocab, "$"), Bpe::Options{});
  // merges.txt: "#version" first, then "a b" a line; blank lines are skipped, as transformers 4's
  // RobertaTokenizer read them.
  int rank = 0;
  size_t lineNo = 0;
  for (size_t start = 0; start < merges.size(); ++lineNo) {
    const size_t nl = std::min(merges.find('\n', start), merges.size());
    std::string line = merges.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (lineNo == 0 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw InputError(mergesFile + ":" + std::to_string(lineNo + 1) +
                       ": must be two tokens and one space (got \"" + shortPrefix(line) + "\")");
    if (static_cast<size_t>(rank) >= kMaxMerges)
      throw InputError(mergesFile + ": more than the " + std::to_string(kMaxMerges) +
                       " merges this build reads");
    bpe->addMerge(line.substr(0, space), line.substr(space + 1), rank++, [&](const std::string& t) {
      throw InputError(mergesFile + ":" + std::to_string(lineNo + 1) + ": '" + shortPrefix(t) +
                       "' is not in " + vocabFile);
    });
  }
  return bpe;
}

}  // namespace rr::core::tokjson
