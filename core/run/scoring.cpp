#include "run/scoring.h"

#include <algorithm>
#include <filesystem>

#include "common/errors.h"
#include "common/fileio.h"
#include "nn/hf/hfmodel.h"
#include "run/experiment.h"
#include "run/persist.h"
#include "store/runstore.h"

namespace rr::core {

struct RunScorer::Impl {
  std::unique_ptr<LoadedSystem> loaded;
  std::string where;  // the model folder, for messages
};

RunScorer::RunScorer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
RunScorer::~RunScorer() = default;

std::unique_ptr<RunScorer> RunScorer::openDirectory(const std::string& modelDir, int maxLen) {
  auto impl = std::make_unique<Impl>();
  // A folder that is there but cannot be looked into (a link loop, no permission) is said so;
  // a missing one is "no saved model here" below.
  std::error_code ec;
  if (std::filesystem::status(modelDir, ec).type() == std::filesystem::file_type::none)
    throw InputError(modelDir + ": cannot read (" + ec.message() + ")");
  const bool saved = entryExists((std::filesystem::path(modelDir) / "manifest.json").string());
  impl->loaded = !saved && hf::isHfFolder(modelDir) ? loadHfRewardModel(modelDir, maxLen)
                                                    : loadSystem(modelDir);
  if (maxLen > 0) impl->loaded->data.maxLen = std::min(impl->loaded->data.maxLen, maxLen);
  impl->where = modelDir;
  return std::unique_ptr<RunScorer>(new RunScorer(std::move(impl)));
}

std::unique_ptr<RunScorer> RunScorer::openRun(const std::string& dbPath, std::int64_t runId,
                                              int maxLen) {
  // Only read: scoring never writes to the store.
  const auto run = RunStore::open(dbPath, /*readOnly=*/true)->run(runId);
  if (!run) throw InputError(dbPath + ": no run " + std::to_string(runId));
  auto impl = std::make_unique<Impl>();
  impl->loaded = loadRunSystem(dbPath, *run);
  if (maxLen > 0) impl->loaded->data.maxLen = std::min(impl->loaded->data.maxLen, maxLen);
  impl->where = modelDirFor(dbPath, runId);
  return std::unique_ptr<RunScorer>(new RunScorer(std::move(impl)));
}

std::string RunScorer::method() const { return m_impl->loaded->method.method; }
std::vector<std::string> RunScorer::domains() const { return m_impl->loaded->data.domains; }

std::vector<ChatMessage> readMessages(const nlohmann::json& v, const std::string& where) {
  if (!v.is_array() || v.empty())
    throw InputError(where + ": must be a non-empty list of {\"role\", \"content\"}");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto& m = v[i];
    if (!m.is_object()) throw InputError(at + ": must be an object {\"role\", \"content\"}");
    for (const char* key : {"role", "content"}) {
      if (!m.contains(key) || !m[key].is_string())
        throw InputError(at + "." + key + ": must be a string");
      if (m[key].get_ref<const std::string&>().find('\0') != std::string::npos)
        throw InputError(at + "." + key + ": contains a NUL character (\\u0000)");
    }
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  if (out.back().role != "assistant")
    throw InputError(where + "[" + std::to_string(v.size() - 1) +
                     "].role: the last message is the one scored and must be the assistant's "
                     "(got '" + out.back().role + "')");
  return out;
}

std::vector<ScoreOutput> RunScorer::score(const std::vector<ScoreInput>& inputs) {
  LoadedSystem& l = *m_impl->loaded;
  // Each input becomes a pair whose rejected side is absent (EncodedData::responsesOnly): the
  // systems score pairs, and an input costs one row.
  std::vector<PreferencePair> pairs;
  pairs.reserve(inputs.size());
  for (const auto& in : inputs) {
    PreferencePair p;
    p.domain = l.data.domains.empty() ? "" : l.data.domains.front();
    p.prompt = in.prompt;
    p.chosen = in.response;
    p.conversation = in.messages;
    p.split = "test";
    pairs.push_back(std::move(p));
  }
  EncodedData data = encodeData(std::move(pairs), *l.tokenizer, l.data.maxLen);
  data.domains = l.data.domains;
  data.responsesOnly = true;
  std::vector<ScoreOutput> out;
  out.reserve(inputs.size());
  // All at once: the systems score in order of length (scoreChunked), which pays most over many
  // inputs of different lengths.
  for (const auto& s : l.system->scorePairs(data, data.test))
    out.push_back({s.chosen, s.route, s.detail, 0, ""});
  return out;
}

bool RunScorer::hasNormalization() const { return m_impl->loaded->normalization.has_value(); }

void RunScorer::requireNormalization() const {
  if (!hasNormalization())
    throw InputError(m_impl->where + ": --normalize: this model has no reward normalisation "
                     "figures (saved before they were, or not trained here); retrain the run or "
                     "extend it to get them");
}

void RunScorer::normalize(std::vector<ScoreOutput>& scores,
                          const std::vector<std::string>& domains) const {
  requireNormalization();
  const RewardNormalization& n = *m_impl->loaded->normalization;
  const auto& known = m_impl->loaded->data.domains;
  for (size_t i = 0; i < scores.size(); ++i) {
    ScoreOutput& s = scores[i];
    std::string domain = s.route;
    if (domain.empty() && i < domains.size()) {
      domain = domains[i];
      if (!domain.empty() && std::find(known.begin(), known.end(), domain) == known.end()) {
        std::string list;
        for (const auto& d : known) list += (list.empty() ? "" : ", ") + d;
        throw InputError("domain '" + domain + "' is not one of the model's domains (" + list +
                         ")");
      }
    }
    s.rawReward = s.reward;
    s.reward = normalizeReward(n, domain, s.reward, &s.normalizedBy);
  }
}

}  // namespace rr::core
