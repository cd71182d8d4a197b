// `bench --suite real`: Hugging Face reward models on text of real lengths, through the code
// paths `score --model` and `run` take (in this process, and as whole processes), against
// transformers and TRL run by bench/real_reference.py on the very same token ids, ours and
// theirs alternately. docs/BENCHMARKS.md, "Real text".
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/bench_p.h"
#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "common/rng.h"
#include "config/config.h"
#include "data/dataset.h"
#include "data/pairsio.h"
#include "run/scoring.h"
#include "store/runstore.h"
#include "train/backbone.h"

namespace rr::core::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kSeed = 7;

// Percentiles 0..100 of prompt and response token counts (tools/make-real-profile.py).
struct Profile {
  std::vector<double> prompt, response;
  std::string source;
};

std::vector<double> percentilesOf(const json& j, const std::string& file, const char* key) {
  if (!j.contains(key) || !j[key].is_array() || j[key].size() != 101)
    throw InputError(
        file + ": " + key +
        ": expected the 101 percentiles 0..100 that tools/make-real-profile.py writes");
  std::vector<double> v;
  for (const auto& x : j[key]) {
    if (!x.is_number() || x.get<double>() < 0 || x.get<double>() > 1e6 ||
        (!v.empty() && x.get<double>() < v.back()))
      throw InputError(file + ": " + key + ": expected non-decreasing token counts (0 to 1e6)");
    v.push_back(x.get<double>());
  }
  return v;
}

Profile readProfile(const std::string& file) {
  const json j = parseJsonChecked(readRegularFile(file, 1 << 20, "profile"), file);
  if (!j.is_object()) throw InputError(file + ": expected a JSON object");
  Profile p;
  p.prompt = percentilesOf(j, file, "prompt_tokens");
  p.response = percentilesOf(j, file, "response_tokens");
  p.source = j.contains("source") && j["source"].is_string() ? j["source"].get<std::string>() : "";
  return p;
}

// A token count drawn from percentiles, linear between them.
int drawLength(const std::vector<double>& q, Rng& rng) {
  const double pos = rng.uniform() * static_cast<double>(q.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  const double next = q[std::min(i + 1, q.size() - 1)];
  return static_cast<int>(std::lround(q[i] + (next - q[i]) * (pos - static_cast<double>(i))));
}

// Strings the tokenizer reads as exactly one token, from its own vocabulary: each id decoded
// alone and read back. Lower-case words where the vocabulary has enough of them, so that the
// texts look like text to the tokenizer's rules; else every such string.
std::vector<std::string> oneTokenWords(const Tokenizer& tok) {
  const SpecialIds sp = tok.special();
  std::vector<std::string> words, any;
  for (int id = 0; id < tok.vocabSize(); ++id) {
    if (id == sp.pad || id == sp.unk || id == sp.cls || id == sp.sep || id == sp.mask) continue;
    std::string s = tok.decode({id});
    const size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
    if (a == std::string::npos) continue;
    s = s.substr(a, b - a + 1);
    if (s.find_first_of(" \t\r\n") != std::string::npos) continue;
    const std::vector<int> back = tok.encode(s);
    if (back.size() != 1 || back[0] != id) continue;
    any.push_back(s);
    if (s.size() >= 2 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      words.push_back(s);
  }
  if (words.size() >= 100) return words;
  if (any.empty())
    throw InputError(tok.modelPath() +
                     ": its tokenizer reads no piece of its vocabulary back as one token, so the "
                     "bench cannot make texts of given lengths for it; give --pairs FILE");
  return any;
}

// `tokens` one-token words separated by spaces: as many tokens, since neither WordPiece nor
// SentencePiece joins words across a space.
std::string makeText(int tokens, const std::vector<std::string>& words, Rng& rng) {
  std::string s;
  for (int k = 0; k < tokens; ++k) {
    if (k) s += ' ';
    s += rng.pick(words);
  }
  return s;
}

struct Lengths {
  int prompt = 0, chosen = 0, rejected = 0;
};

// The folder's last name ("models/bench/x-rm/" -> "x-rm").
std::string modelName(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// 1 - real tokens / tokens in batches of `batch` padded to their longest row, taken in `order`.
double paddingShare(const std::vector<int>& len, const std::vector<size_t>& order, size_t batch) {
  double real = 0, padded = 0;
  for (size_t at = 0; at < order.size(); at += batch) {
    int longest = 0;
    const size_t end = std::min(order.size(), at + batch);
    for (size_t k = at; k < end; ++k) {
      real += len[order[k]];
      longest = std::max(longest, len[order[k]]);
    }
    padded += static_cast<double>(longest) * static_cast<double>(end - at);
  }
  return padded > 0 ? 1 - real / padded : 0;
}

// Forward FLOPs of one row of `tokens` real tokens, the pooled first token's last layer alone
// (what the reward needs; docs/BENCHMARKS.md).
double usefulFlops(const hf::HfModelConfig& c, int tokens) {
  if (c.arch == hf::Arch::DebertaV2) return debertaForwardFlops(c, 1, tokens);
  if (c.row().input == hf::InputKind::Chat) {
    // A decoder: 2 FLOPs per weight of the projections and the gated feed-forward per token, and
    // the causal half of the attention products (q kᵀ and p v: 2 · 2 · T²/2 · heads · head_dim).
    const double t = tokens, q = double(c.heads) * c.headDim, kv = double(c.kvHeads) * c.headDim,
                 h = c.hidden, f = c.intermediate;
    return c.layers * (2 * t * (h * q + 2 * h * kv + q * h + 3 * h * f) + 2 * t * t * q);
  }
  return encoderForwardFlops({c.hidden, c.layers, c.heads, c.intermediate}, 1, tokens, true);
}

std::string resolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t at = 0;
  while (at <= dirs.size()) {
    const size_t colon = std::min(dirs.find(':', at), dirs.size());
    const fs::path p = fs::path(dirs.substr(at, colon - at)) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
    at = colon + 1;
  }
  return name;
}

class RealSuite {
 public:
  RealSuite(const BenchOptions& o, json& result, const std::function<void(const std::string&)>& say)
      : m_o(o), m_result(result), m_say(say) {
    m_threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
    m_threads = std::max(1, m_threads);
    const std::string n = std::to_string(m_threads);
    const std::string blas = std::to_string(o.blasThreads > 0 ? o.blasThreads : m_threads);
    // Every side runs with the same threads: LibTorch's and OpenMP's, the BLAS's.
    m_env = {{"OMP_NUM_THREADS", n},
             {"MKL_NUM_THREADS", n},
             {"OPENBLAS_NUM_THREADS", blas},
             {"HF_HUB_OFFLINE", "1"},
             {"TRANSFORMERS_OFFLINE", "1"},
             {"HF_DATASETS_OFFLINE", "1"},
             {"TOKENIZERS_PARALLELISM", "false"}};
    torch::set_num_threads(m_threads);
    setBlasThreads(o.blasThreads > 0 ? o.blasThreads : m_threads);
    m_dir = fs::temp_directory_path() / ("rr-bench-real-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  ~RealSuite() {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  void run() {
    for (const auto& m : m_o.models) inspectHfRewardModel(m);  // every folder checked first
    ceiling("");
    probeReference();
    const std::vector<PreferencePair> given =
        m_o.pairsFile.empty() ? std::vector<PreferencePair>{} : readPairsFile(m_o.pairsFile);
    if (!m_o.pairsFile.empty() && given.size() < 2)
      throw InputError(m_o.pairsFile + ": the real suite needs at least 2 pairs");
    const size_t total =
        m_o.pairsFile.empty()
            ? static_cast<size_t>(std::max(m_o.scorePairs, m_o.trainPairs + testPairs()))
            : given.size();
    if (m_o.pairsFile.empty()) m_profile = readProfile(m_o.profile);
    Rng rng(kSeed);
    for (size_t k = 0; k < total && m_o.pairsFile.empty(); ++k)
      m_lengths.push_back({drawLength(m_profile.prompt, rng), drawLength(m_profile.response, rng),
                           drawLength(m_profile.response, rng)});
    m_result["real_settings"] = {
        {"models", m_o.models},
        {"data", m_o.pairsFile.empty() ? "profile " + m_o.profile : "pairs " + m_o.pairsFile},
        {"data_source", m_o.pairsFile.empty() ? m_profile.source : m_o.pairsFile},
        {"repeats", m_o.repeats},
        {"score_batch", m_o.scoreBatch},
        {"train_pairs", m_o.trainPairs},
        {"test_pairs", testPairs()},
        {"train_batch_pairs", m_o.batchPairs},
        {"train_max_len", m_o.trainMaxLen},
        {"train_lr", m_o.trainLr},
        {"threads", m_threads},
        {"blas_threads", blasThreads()},
        {"load_averages", json::array()}};
    for (size_t k = 0; k < m_o.models.size(); ++k) {
      const std::string& dir = m_o.models[k];
      const std::vector<PreferencePair> pairs = pairsFor(dir, given, total);
      const size_t scored =
          std::min(pairs.size(), static_cast<size_t>(std::max(1, m_o.scorePairs)));
      try {
        scoreModel(dir, std::vector<PreferencePair>(pairs.begin(), pairs.begin() + scored));
        if (k == 0 && m_o.trainPairs > 0) trainModel(dir, pairs);
      } catch (const std::exception& e) {
        std::string msg = e.what();
        msg = msg.substr(0, msg.find('\n'));
        m_say(modelName(dir) + " FAILED: " + msg);
        m_result["errors"].push_back(
            {{"preset", "real"}, {"system", modelName(dir)}, {"message", msg}});
      }
    }
    ceiling("after the real suite");
    m_result["real_settings"]["ceiling_gflops"] = m_ceiling;
    finishMfu();
    m_result["real_reference_status"] = m_refStatus;
    if (!m_refNote.empty()) m_result["real_reference_note"] = m_refNote;
  }

 private:
  int testPairs() const { return std::max(2, m_o.trainPairs / 4); }

  void loadAverage() {
    double load[1] = {-1};
    if (::getloadavg(load, 1) < 1) load[0] = -1;
    m_result["real_settings"]["load_averages"].push_back(load[0]);
  }

  // The matmul ceiling: timed before the suite (unless another suite did: then it is that
  // suite's, left as it is) and again after it; the real rows' MFU is taken against the better.
  void ceiling(const std::string& label) {
    if (label.empty() && m_result.contains("ceiling_gflops")) {
      m_ceiling = m_result["ceiling_gflops"].get<double>();
      m_ownCeiling = false;
      return;
    }
    const std::vector<int64_t> squares = m_o.quick       ? std::vector<int64_t>{128}
                                         : label.empty() ? std::vector<int64_t>{1024, 2048}
                                                         : std::vector<int64_t>{2048};
    for (int64_t n : squares) {
      const std::string shape =
          std::to_string(n) + "x" + std::to_string(n) + "x" + std::to_string(n);
      m_say("matmul " + shape);
      const json sp = matmulSpread(n, n, n, 1, std::max(3, m_o.repeats), torch::kCPU, false);
      m_result["matmul"].push_back({{"shape", shape}, {"preset", label}, {"gflops", sp}});
      m_ceiling = std::max(m_ceiling, sp["median"].get<double>());
    }
    if (m_ownCeiling) m_result["ceiling_gflops"] = m_ceiling;
  }

  void probeReference() {
    if (m_o.python.empty() || m_o.realReference.empty()) {
      m_refStatus = "off";
      m_refNote = "transformers and TRL not run (--no-reference, or --quick)";
      return;
    }
    m_python = resolveProgram(m_o.python);
    if (!fs::exists(m_o.realReference)) {
      skipReference("script not found: " + m_o.realReference);
      return;
    }
    const std::string log = (m_dir / "probe.log").string();
    const ChildOutcome r =
        runChild({m_python, "-c", "import torch, transformers, trl, datasets"}, m_env, "", "", log);
    if (r.exitCode != 0)
      skipReference(m_o.python + " cannot import torch, transformers, trl and datasets" +
                    (r.exitCode == 127 ? " (it does not run)" : ": " + lastLineOf(log)));
  }

  void skipReference(const std::string& why) {
    m_refStatus = "skipped";
    m_refNote = "reference skipped: " + why +
                " — make a venv with tools/bench-venv.sh and give --python VENV/bin/python";
    m_say(m_refNote);
  }

  // Runs bench/real_reference.py MODE on `input` (written once per `name`); null (and the
  // status "failed" with the reason) when it fails. The whole script's wall time goes to *seconds.
  json reference(const std::string& mode, const std::string& name, const json& input,
                 double* seconds = nullptr) {
    if (m_refStatus != "measured") return nullptr;
    const std::string stem = (m_dir / (name + "." + mode)).string();
    const std::string in = stem + ".ref.json", out = stem + ".ref.out", err = stem + ".ref.err";
    if (!fs::exists(in)) std::ofstream(in) << input.dump();
    m_say("reference: " + mode);
    const ChildOutcome r =
        runChild({m_python, m_o.realReference, mode, "--input", in}, m_env, "", out, err);
    if (seconds) *seconds = r.seconds;
    json figures;
    if (r.exitCode == 0) {
      try {
        figures = parseJsonChecked(readRegularFile(out, 64 << 20), out);
      } catch (const InputError&) {
        figures = nullptr;
      }
    }
    if (figures.is_object()) return figures;
    m_refStatus = "failed";
    m_refNote = "reference failed: " + m_o.realReference + " " + mode + " exited " +
                std::to_string(r.exitCode) + ": " + lastLineOf(err);
    m_say(m_refNote);
    return nullptr;
  }

  // The pairs for one model: the file's, or texts of the drawn lengths in the model's tokens.
  std::vector<PreferencePair> pairsFor(const std::string& dir,
                                       const std::vector<PreferencePair>& given, size_t total) {
    if (!given.empty()) return given;
    const auto tok = loadBackboneTokenizer(inspectHfRewardModel(dir));
    const std::vector<std::string> words = oneTokenWords(*tok);
    Rng rng(kSeed + 1);
    std::vector<PreferencePair> out;
    size_t asDrawn = 0, texts = 0;
    for (size_t k = 0; k < total; ++k) {
      const Lengths& l = m_lengths[k];
      PreferencePair p;
      p.domain = "bench";
      p.prompt = makeText(l.prompt, words, rng);
      p.chosen = makeText(l.chosen, words, rng);
      p.rejected = makeText(l.rejected, words, rng);
      for (const auto& [text, n] : {std::pair<const std::string&, int>{p.prompt, l.prompt},
                                    {p.chosen, l.chosen},
                                    {p.rejected, l.rejected}}) {
        asDrawn += static_cast<int>(tok->encode(text).size()) == n;
        ++texts;
      }
      // A pair without a preference would be dropped by the data loader.
      if (p.chosen == p.rejected) p.rejected += " " + rng.pick(words);
      p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected);
      out.push_back(std::move(p));
    }
    m_asDrawn[dir] = static_cast<double>(asDrawn) / static_cast<double>(texts);
    return out;
  }

  void scoreModel(const std::string& dir, const std::vector<PreferencePair>& pairs) {
    const std::string name = modelName(dir);
    const HfBackboneInfo info = inspectHfRewardModel(dir);
    const hf::HfModelConfig config = hf::readHfConfig(dir);
    const auto tok = loadBackboneTokenizer(info);
    // The inputs `score` reads: each pair's chosen and rejected response after its prompt.
    std::vector<ScoreInput> inputs;
    for (const auto& p : pairs) {
      inputs.push_back({p.prompt, p.chosen});
      inputs.push_back({p.prompt, p.rejected});
    }
    // The ids `score` hands the model: RunScorer reads each input as a pair's chosen row.
    const int maxLen = effectiveMaxLen(0, info.inputLimit);
    std::vector<PreferencePair> asPairs;
    for (const auto& in : inputs) {
      PreferencePair p;
      p.prompt = in.prompt;
      p.chosen = in.response;
      p.split = "test";
      asPairs.push_back(std::move(p));
    }
    const EncodedData enc = encodeData(std::move(asPairs), *tok, maxLen);
    std::vector<int> len;
    json rows = json::array(), texts = json::array();
    double useful = 0;
    int truncated = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const EncodedPair& e = enc.encoded[i];
      std::vector<int64_t> types(e.chosen.size(), 1);
      std::fill(types.begin(), types.begin() + std::min<size_t>(e.chosenFirst, types.size()), 0);
      rows.push_back({{"ids", json(e.chosen)}, {"types", types}});
      texts.push_back({inputs[i].prompt, inputs[i].response});
      len.push_back(static_cast<int>(e.chosen.size()));
      useful += usefulFlops(config, len.back());
      truncated +=
          tok->encode(inputs[i].prompt).size() + tok->encode(inputs[i].response).size() + 3 >
          static_cast<size_t>(maxLen);
    }
    std::vector<size_t> order(len.size()), sorted(len.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = sorted[i] = i;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&](size_t a, size_t b) { return len[a] < len[b]; });
    std::vector<int> byLen = len;
    std::sort(byLen.begin(), byLen.end());
    double tokens = 0;
    for (int l : len) tokens += l;
    json dataRow = {{"model", name},
                    {"inputs", inputs.size()},
                    {"tokens", tokens},
                    {"mean_tokens", tokens / static_cast<double>(len.size())},
                    {"median_tokens", byLen[byLen.size() / 2]},
                    {"max_tokens", byLen.back()},
                    {"max_len", maxLen},
                    {"truncated", truncated},
                    {"padding_input_order", paddingShare(len, order, m_o.scoreBatch)},
                    {"padding_sorted", paddingShare(len, sorted, m_o.scoreBatch)}};
    if (m_asDrawn.count(dir)) dataRow["lengths_as_drawn"] = m_asDrawn[dir];
    m_result["real_data"].push_back(dataRow);

    m_say(name + ": loading it as `score --model` does");
    std::unique_ptr<RunScorer> scorer;
    const double load = sampleSeconds(0, 1, [&] { scorer = RunScorer::openDirectory(dir); })[0];
    // One untimed batch, as the reference takes one: first-call costs are not the throughput.
    scorer->score(std::vector<ScoreInput>(
        inputs.begin(), inputs.begin() + std::min<size_t>(m_o.scoreBatch, inputs.size())));
    const std::string inFile = (m_dir / (name + ".in.jsonl")).string();
    {
      std::ofstream f(inFile);
      for (const auto& in : inputs)
        f << json({{"prompt", in.prompt}, {"response", in.response}}).dump() << "\n";
    }
    const json refInput = {{"model", fs::absolute(dir).string()},
                           {"threads", m_threads},
                           {"batch", m_o.scoreBatch},
                           {"warmup", 1},
                           {"max_len", maxLen},
                           {"rows", rows},
                           {"texts", texts}};
    std::vector<double> ours, process;
    std::vector<ScoreOutput> ourScores;
    std::vector<double> processRewards;
    std::map<std::string, std::vector<double>> theirs;  // "eager, input order" -> seconds
    std::map<std::string, std::string> theirErrors;
    std::map<std::string, std::vector<double>> theirRewards;
    json refFacts;
    for (int r = 0; r < m_o.repeats; ++r) {
      loadAverage();
      m_say(name + ": scoring " + std::to_string(inputs.size()) + " inputs, repeat " +
            std::to_string(r + 1) + " of " + std::to_string(m_o.repeats));
      ours.push_back(
          sampleSeconds(0, 1, [&] { ourScores = scorer->score(inputs); })[0]);
      if (!m_o.cli.empty()) {
        const std::string out = (m_dir / (name + ".out.jsonl")).string();
        const std::string log = (m_dir / (name + ".score.log")).string();
        const ChildOutcome c = runChild({m_o.cli, "score", "--model", fs::absolute(dir).string()},
                                        m_env, inFile, out, log);
        if (c.exitCode != 0)
          throw std::runtime_error("rewardrouter-cli score --model exited " +
                                   std::to_string(c.exitCode) + ": " + lastLineOf(log));
        process.push_back(c.seconds);
        if (r == 0) processRewards = readRewards(out);
      }
      const json ref = reference("score", name, refInput);
      if (ref.is_null()) continue;
      refFacts = {{"torch", ref.value("torch", "")},
                  {"transformers", ref.value("transformers", "")},
                  {"threads", ref.value("threads", 0)},
                  {"ids_equal", ref.value("ids_equal", json())},
                  {"import_s", ref.value("import_s", 0.0)}};
      if (ref.contains("tokenizer_error") && ref["tokenizer_error"].is_string())
        refFacts["tokenizer_error"] = ref["tokenizer_error"];
      const json tokenize = ref.value("tokenize_s", json());
      for (const auto& s : ref["settings"]) {
        const std::string key = s.value("attn", "") + ", " +
                                (s.value("order", "") == "sorted" ? "sorted" : "input order");
        if (s.contains("error")) {
          theirErrors[key] = s["error"].get<std::string>();
          continue;
        }
        theirs[key].push_back(s["seconds"].get<double>() +
                              (tokenize.is_number() ? tokenize.get<double>() : 0.0));
        if (r == 0) theirRewards[key] = s["rewards"].get<std::vector<double>>();
      }
    }
    const double n = static_cast<double>(inputs.size());
    auto rate = [&](const std::vector<double>& seconds) {
      std::vector<double> v;
      for (double s : seconds) v.push_back(n / s);
      return spreadOf(v);
    };
    const double gflop = useful / 1e9;
    m_result["real_score"].push_back({{"model", name},
                                      {"scorer", "ours"},
                                      {"inputs", inputs.size()},
                                      {"inputs_per_s", rate(ours)},
                                      {"seconds", spreadOf(ours)},
                                      {"useful_gflop", gflop},
                                      {"note", "model load " + figure(load) + " s, not counted"}});
    if (!process.empty())
      m_result["real_score"].push_back(
          {{"model", name},
           {"scorer", "ours: score process"},
           {"inputs", inputs.size()},
           {"inputs_per_s", rate(process)},
           {"seconds", spreadOf(process)},
           {"note", "whole process: start, load, read, score, write"}});
    for (const auto& [key, seconds] : theirs)
      m_result["real_score"].push_back(
          {{"model", name},
           {"scorer", "transformers " + key},
           {"inputs", inputs.size()},
           {"inputs_per_s", rate(seconds)},
           {"seconds", spreadOf(seconds)},
           {"useful_gflop", gflop},
           {"note", refFacts.contains("tokenizer_error")
                        ? "its tokenizer does not load: our ids, no tokenizer time; model load "
                          "not counted"
                        : "its tokenizer's time for the texts included; model load not counted"}});
    for (const auto& [key, error] : theirErrors)
      m_result["real_score"].push_back({{"model", name},
                                        {"scorer", "transformers " + key},
                                        {"inputs", inputs.size()},
                                        {"note", error}});
    json check = {{"model", name}, {"inputs", inputs.size()}};
    std::vector<double> mine;
    for (const auto& s : ourScores) mine.push_back(s.reward);
    if (!theirRewards.empty()) {
      double worst = 0;
      for (const auto& [key, rewards] : theirRewards)
        worst = std::max(worst, maxAbsDiff(mine, rewards));
      check["max_abs_diff_transformers"] = worst;
      check["transformers_ids_equal"] = refFacts["ids_equal"];
      m_result["real_reference"][name] = refFacts;
    }
    if (!processRewards.empty())
      check["max_abs_diff_score_process"] = maxAbsDiff(mine, processRewards);
    m_result["real_check"].push_back(check);
  }

  static std::string figure(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", x);
    return buf;
  }

  static double maxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
  }

  static std::vector<double> readRewards(const std::string& file) {
    std::vector<double> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(parseJsonChecked(line, file).value("reward", NAN));
    return out;
  }

  // One epoch of a Baseline on the folder, as `run` trains it: in this process (the training
  // call alone), the whole `run` process, TRL's train() and TRL's whole script.
  void trainModel(const std::string& dir, const std::vector<PreferencePair>& pairs) {
    const std::string name = modelName(dir);
    const size_t trainN = std::min(pairs.size() - 1, static_cast<size_t>(m_o.trainPairs));
    const size_t testN = std::min(pairs.size() - trainN, static_cast<size_t>(testPairs()));
    std::vector<PreferencePair> train(pairs.begin(), pairs.begin() + trainN);
    std::vector<PreferencePair> test(pairs.begin() + trainN, pairs.begin() + trainN + testN);
    for (auto& p : train) p.split = "train";
    for (auto& p : test) p.split = "test";
    const std::string trainFile = (m_dir / "train.pairs.jsonl").string();
    const std::string testFile = (m_dir / "test.pairs.jsonl").string();
    writePairsFile(trainFile, train);
    writePairsFile(testFile, test);
    const json configJson = {
        {"name", "bench-real"},
        {"data",
         {{"files",
           {{{"path", trainFile}, {"split", "train"}}, {{"path", testFile}, {"split", "test"}}}}}},
        {"encoder",
         {{"pretrained", fs::absolute(dir).string()},
          {"pooling", "cls"},
          {"max_len", m_o.trainMaxLen}}},
        {"training",
         {{"lr", m_o.trainLr},
          {"batch_size", m_o.batchPairs},
          {"epochs", 1},
          {"eval_every", 0},
          {"warmup_steps", 0},
          {"seed", 1},
          {"seeds", 1}}},
        {"methods", {{{"method", "baseline"}}}}};
    const std::string configFile = (m_dir / "bench-real.json").string();
    std::ofstream(configFile) << configJson.dump(2);
    // The data as `run` prepares it.
    const ExperimentConfig config = loadExperimentConfig(configFile);
    const HfBackboneInfo info = inspectHfBackbone(hfBackboneDir(config));
    const auto tok = loadBackboneTokenizer(info);
    BenchData d{config, encodeData(loadExperimentPairs(config), *tok,
                                   effectiveMaxLen(config.encoder.maxLen, info.inputLimit))};
    const hf::HfModelConfig hfConfig = hf::readHfConfig(info.dir);
    double useful = 0;
    json trlTrain = json::array(), trlTest = json::array();
    for (size_t i : d.data.train) {
      const EncodedPair& e = d.data.encoded[i];
      useful += 3 * (usefulFlops(hfConfig, static_cast<int>(e.chosen.size())) +
                     usefulFlops(hfConfig, static_cast<int>(e.rejected.size())));
      trlTrain.push_back(
          {{"chosen_ids", json(e.chosen)}, {"rejected_ids", json(e.rejected)}});
    }
    for (size_t i : d.data.test)
      trlTest.push_back({{"chosen_ids", json(d.data.encoded[i].chosen)},
                         {"rejected_ids", json(d.data.encoded[i].rejected)}});
    const json refInput = {{"model", info.dir},
                           {"threads", m_threads},
                           {"seed", config.training.seed},
                           {"train", trlTrain},
                           {"test", trlTest},
                           {"batch", config.training.batchSize},
                           {"max_len", d.data.maxLen},
                           {"lr", config.training.lr},
                           {"weight_decay", config.training.weightDecay},
                           {"warmup_steps", config.training.warmupSteps},
                           {"max_grad_norm", config.training.gradClip},
                           {"epochs", config.training.epochs},
                           {"out", (m_dir / "trl").string()}};
    const double n = static_cast<double>(d.data.train.size());
    std::vector<double> ours, steps, process, inside, trl, script, trlSetup, trlAfter;
    int trlPairs = 0, trlSteps = 0;
    for (int r = 0; r < m_o.repeats; ++r) {
      loadAverage();
      m_say(name + ": training " + std::to_string(d.data.train.size()) + " pairs, repeat " +
            std::to_string(r + 1) + " of " + std::to_string(m_o.repeats));
      auto s = makeSystem(d, "baseline", {}, {}, torch::kCPU, 0, info.dir);
      std::map<std::string, std::vector<double>> rates;
      ours.push_back(sampleSeconds(0, 1, [&] { rates = trainCaptured(*s, nullptr); })[0]);
      // The steps after the first (allocations, optimizer state), as the other tables take them.
      for (const auto& [component, rs] : rates)
        for (size_t k = 1; k < rs.size(); ++k) steps.push_back(rs[k]);
      s.reset();
      if (!m_o.cli.empty()) {
        const std::string db = (m_dir / ("run-" + std::to_string(r) + ".db")).string();
        const std::string log = (m_dir / "run.log").string();
        const ChildOutcome c =
            runChild({m_o.cli, "run", configFile, "--db", db, "--quiet"}, m_env, "", "", log);
        if (c.exitCode != 0)
          throw std::runtime_error("rewardrouter-cli run exited " + std::to_string(c.exitCode) +
                                   ": " + lastLineOf(log));
        process.push_back(c.seconds);
        inside.push_back(trainSecondsOf(db));
        fs::remove_all(db + ".models");
      }
      double wall = 0;
      const json ref = reference("train", name, refInput, &wall);
      if (ref.is_null()) continue;
      trl.push_back(ref["train_s"].get<double>());
      script.push_back(wall);
      trlSetup.push_back(ref.value("setup_s", 0.0));
      trlAfter.push_back(ref.value("eval_s", 0.0) + ref.value("save_s", 0.0));
      trlPairs = ref.value("train_pairs", 0);
      trlSteps = ref.value("steps", 0);
      m_result["real_reference"]["trl"] = {{"torch", ref.value("torch", "")},
                                           {"transformers", ref.value("transformers", "")},
                                           {"trl", ref.value("trl", "")},
                                           {"threads", ref.value("threads", 0)}};
    }
    auto rate = [&](const std::vector<double>& seconds, double pairs) {
      std::vector<double> v;
      for (double x : seconds) v.push_back(pairs / x);
      return spreadOf(v);
    };
    const double gflop = useful / 1e9;
    const int ourSteps =
        static_cast<int>((n + config.training.batchSize - 1) / config.training.batchSize);
    m_result["real_train"].push_back(
        {{"model", name},
         {"trainer", "ours: epoch"},
         {"pairs", d.data.train.size()},
         {"steps", ourSteps},
         {"pairs_per_s", rate(ours, n)},
         {"seconds", spreadOf(ours)},
         {"useful_gflop", gflop},
         {"note", "steps after the first: " + cellOf(spreadOf(steps)) + " pairs/s"}});
    if (!process.empty())
      m_result["real_train"].push_back(
          {{"model", name},
           {"trainer", "ours: run process"},
           {"pairs", d.data.train.size()},
           {"steps", ourSteps},
           {"pairs_per_s", rate(process, n)},
           {"seconds", spreadOf(process)},
           {"note", "its own train_seconds " + cellOf(spreadOf(inside)) +
                        " s; the rest: start, load, evaluate, time, save"}});
    if (!trl.empty()) {
      m_result["real_train"].push_back(
          {{"model", name},
           {"trainer", "TRL train()"},
           {"pairs", trlPairs},
           {"steps", trlSteps},
           {"pairs_per_s", rate(trl, trlPairs)},
           {"seconds", spreadOf(trl)},
           {"useful_gflop", trlPairs == static_cast<int>(n) ? json(gflop) : json()}});
      m_result["real_train"].push_back(
          {{"model", name},
           {"trainer", "TRL script"},
           {"pairs", trlPairs},
           {"steps", trlSteps},
           {"pairs_per_s", rate(script, trlPairs)},
           {"seconds", spreadOf(script)},
           {"note", "setup " + cellOf(spreadOf(trlSetup)) + " s, evaluate + save " +
                        cellOf(spreadOf(trlAfter)) + " s"}});
    }
  }

  // The run's own train_seconds (the training of its components, without the process around it).
  static double trainSecondsOf(const std::string& db) {
    auto store = RunStore::open(db, true);
    std::vector<std::int64_t> ids;
    for (const auto& r : store->listRuns()) ids.push_back(r.id);
    for (const auto& row : store->results(ids))
      if (row.metric == "train_seconds") return row.value;
    return NAN;
  }

  static std::string cellOf(const json& spread) {
    if (spread.is_null()) return "-";
    return figure(spread["median"].get<double>()) + " (" + figure(spread["min"].get<double>()) +
           "-" + figure(spread["max"].get<double>()) + ")";
  }

  // MFU of every row with useful FLOPs, against the ceiling once both of its timings are in.
  void finishMfu() {
    for (const char* section : {"real_score", "real_train"}) {
      if (!m_result.contains(section)) continue;
      for (auto& row : m_result[section])
        if (row.contains("useful_gflop") && row["useful_gflop"].is_number() && m_ceiling > 0)
          row["mfu"] = row["useful_gflop"].get<double>() / row["seconds"]["median"].get<double>() /
                       m_ceiling;
    }
  }

  const BenchOptions& m_o;
  json& m_result;
  std::function<void(const std::string&)> m_say;
  int m_threads = 1;
  std::map<std::string, std::string> m_env;
  fs::path m_dir;
  double m_ceiling = 0;      // GFLOP/s
  bool m_ownCeiling = true;  // false: another suite's ceiling_gflops, which stays its own
  std::string m_python;
  std::string m_refStatus = "measured", m_refNote;
  Profile m_profile;
  std::vector<Lengths> m_lengths;
  std::map<std::string, double> m_asDrawn;  // model folder -> share of texts of the drawn length
};

}  // namespace

void benchReal(const BenchOptions& o, nlohmann::json& result,
               const std::function<void(const std::string&)>& say) {
  if (o.models.empty())
    throw InputError("bench: the real suite needs a model folder (--model DIR)");
  if (o.pairsFile.empty() && o.profile.empty())
    throw InputError(
        "bench: the real suite needs --pairs FILE or a length profile (--profile FILE)");
  if (o.scorePairs < 1 || o.trainPairs < 0 || o.trainMaxLen < 8 || !(o.trainLr > 0))
    throw InputError("bench: --score-pairs must be >= 1, --train-pairs >= 0, --train-max-len >= 8");
  RealSuite(o, result, say).run();
}

}  // namespace rr::core::bench
