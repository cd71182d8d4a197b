#include "run/persist.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/atomicfile.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/fileio.h"
#include "data/hftokenizer.h"
#include "nn/encoder.h"
#include "nn/hf/hfmodel.h"
#include "run/experiment.h"
#include "train/backbone.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rr::core {

namespace {

// 1: the first layout. 2: a SHA-256 for every file, the run's UUID, and the pre-trained encoder
// copied into the folder (format 1 named it by an absolute path in a cache).
constexpr int kFormat = 2;
// Manifests nest a few levels (the config inside is the deepest); a deeper one is not ours.
constexpr int kMaxDepth = 64;
constexpr const char* kEncoderInitFile = "encoder_init.pt";
constexpr const char* kNormalizationFile = "normalization.json";
// normalization.json's own format number.
constexpr int kNormalizationFormat = 1;

// A manifest holds the experiment's config; one past this size is not ours.
constexpr std::uint64_t kMaxManifestBytes = 64 << 20;

// A value in an error message: its type, or a short prefix of a scalar.
std::string shortValue(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return "\"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\"";
  }
  return v.dump();
}

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string jsonMessage(const json::exception& e) {
  const std::string s = e.what();
  const size_t end = s.rfind("[json.exception", 0) == 0 ? s.find("] ") : std::string::npos;
  return end == std::string::npos ? s : s.substr(end + 2);
}

// Field-by-field reading of a manifest; errors name the file and the JSON path.
class Manifest {
 public:
  Manifest(const std::string& file, const std::string& dir) : m_file(file), m_dir(dir) {
    if (!entryExists(file)) throw InputError(dir + ": no saved model here (manifest.json missing)");
    const RegularFile in(file, RegularFile::Links::Refuse);
    in.checkSize(kMaxManifestBytes, "model manifest");
    const std::string text = in.readAll();
    // The depth is limited while parsing: deeper values are refused before anything walks them
    // recursively (dumping a value nested 100k deep overflows the stack).
    json::parser_callback_t limit = [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth)
        throw InputError(m_file + ": nested deeper than " + std::to_string(kMaxDepth) +
                         " levels; not a RewardRouter model manifest");
      return true;
    };
    try {
      m_root = json::parse(text, limit);
    } catch (const json::exception& e) {
      throw InputError(m_file + ": not valid JSON (" + jsonMessage(e) + ")");
    }
    if (!m_root.is_object()) fail("$", "must be an object (got " + shortValue(m_root) + ")");
  }

  const json& root() const { return m_root; }
  const std::string& file() const { return m_file; }

  [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
    throw InputError(m_file + ": " + path + ": " + msg);
  }

  const json* find(const json& obj, const std::string& key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  const json& need(const json& obj, const std::string& key, const std::string& path) const {
    const json* v = find(obj, key);
    if (!v) fail(path, "missing");
    return *v;
  }
  const json& object(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = need(obj, key, path);
    if (!v.is_object()) fail(path, "must be an object (got " + shortValue(v) + ")");
    return v;
  }
  std::string str(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = need(obj, key, path);
    if (!v.is_string()) fail(path, "must be a string (got " + shortValue(v) + ")");
    return v.get<std::string>();
  }
  std::string str(const json& obj, const std::string& key, const std::string& path,
                  const std::string& def) const {
    return find(obj, key) ? str(obj, key, path) : def;
  }
  // Range-checked before narrowing: an unsigned 2^64-1 is reported as written, not as -1.
  int integer(const json& obj, const std::string& key, const std::string& path, long long lo,
              long long hi) const {
    const json& v = need(obj, key, path);
    const std::string range = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                              "] (got " + shortValue(v) + ")";
    if (v.is_number_unsigned()) {
      if (v.get<unsigned long long>() > static_cast<unsigned long long>(hi))
        fail(path, "must be " + range);
      return static_cast<int>(v.get<unsigned long long>());
    }
    if (!v.is_number_integer()) fail(path, "must be " + range);
    const long long x = v.get<long long>();
    if (x < lo || x > hi) fail(path, "must be " + range);
    return static_cast<int>(x);
  }
  // A file name inside the folder: relative, no "..", not empty.
  std::string member(const json& obj, const std::string& key, const std::string& path) const {
    const std::string s = str(obj, key, path);
    const fs::path p(s);
    bool ok = !s.empty() && p.is_relative();
    for (const auto& part : p) ok = ok && part != ".." && part != ".";
    if (!ok) fail(path, "must name a file inside the model folder (got " + shortValue(s) + ")");
    return s;
  }
  // Checks `rel`'s SHA-256 against the manifest's. The file and the folders on the way to it
  // are the folder's own: a link would bring in a file from elsewhere (the bytes may match).
  void verify(const std::string& rel, const std::string& expected, const std::string& path) const {
    const fs::path file = fs::path(m_dir) / rel;
    if (!entryExists(file.string()))
      throw InputError(file.string() + ": missing (" + m_file + " " + path + " names it)");
    if (expected.size() != 64 ||
        expected.find_first_not_of("0123456789abcdef") != std::string::npos)
      fail(path, "must be a SHA-256 in hex (got " + shortValue(expected) + ")");
    refuseLinksBelow(m_dir, rel);
    const RegularFile in(file.string(), RegularFile::Links::Refuse);
    Sha256 sha;
    in.readChunks(in.size(), [&](const char* data, std::size_t n) { sha.update(data, n); });
    const std::string actual = sha.hex();
    if (actual != expected)
      throw InputError(file.string() + ": checksum mismatch (SHA-256 " + actual.substr(0, 12) +
                       "..., " + m_file + " has " + expected.substr(0, 12) +
                       "...): the file was changed or damaged after it was saved");
  }

 private:
  std::string m_file, m_dir;
  json m_root;
};

json scaleJson(const RewardScale& s) {
  return {{"rewards", s.count}, {"mean", s.mean}, {"std", s.std}};
}

// Writes normalization.json and returns its SHA-256.
std::string writeNormalization(const RewardNormalization& n, const fs::path& file) {
  json domains = json::object();
  for (const auto& [d, s] : n.domains) domains[d] = scaleJson(s);
  const json j = {{"format", kNormalizationFormat},
                  {"statistic", "mean and sample standard deviation of the rewards of both "
                                "responses of the training pairs, by the domain each was "
                                "scored in (route, or the pair's domain without a router)"},
                  {"all", scaleJson(n.all)},
                  {"domains", domains}};
  const std::string text = j.dump(2) + "\n";
  AtomicFile out(file.string());
  out.stream() << text;
  out.commit();
  Sha256 sha;
  sha.update(text.data(), text.size());
  return sha.hex();
}

// Reads normalization.json (already checked against its SHA-256); errors name the file and the
// JSON path.
RewardNormalization readNormalization(const std::string& dir, const std::string& rel) {
  const std::string file = (fs::path(dir) / rel).string();
  const Manifest m(file, dir);
  const json& r = m.root();
  const int format = m.integer(r, "format", "$.format", 0, INT_MAX);
  if (format != kNormalizationFormat)
    m.fail("$.format", "unsupported format " + std::to_string(format) + " (this version reads " +
                           std::to_string(kNormalizationFormat) + ")");
  auto scale = [&](const json& obj, const std::string& path) {
    if (!obj.is_object()) m.fail(path, "must be an object (got " + shortValue(obj) + ")");
    RewardScale s;
    const json& count = m.need(obj, "rewards", path + ".rewards");
    if (!count.is_number_integer() || count.get<long long>() < 1)
      m.fail(path + ".rewards", "must be a positive integer (got " + shortValue(count) + ")");
    s.count = count.get<std::int64_t>();
    for (const char* key : {"mean", "std"}) {
      const json& v = m.need(obj, key, path + "." + key);
      if (!v.is_number() || !std::isfinite(v.get<double>()) ||
          (std::string(key) == "std" && v.get<double>() < 0))
        m.fail(path + "." + key, std::string("must be a finite number") +
                                     (std::string(key) == "std" ? " >= 0" : "") + " (got " +
                                     shortValue(v) + ")");
      (std::string(key) == "mean" ? s.mean : s.std) = v.get<double>();
    }
    return s;
  };
  RewardNormalization n;
  n.all = scale(m.need(r, "all", "$.all"), "$.all");
  const json& domains = m.object(r, "domains", "$.domains");
  for (auto it = domains.begin(); it != domains.end(); ++it)
    n.domains[it.key()] = scale(*it, "$.domains[\"" + it.key() + "\"]");
  return n;
}

void writeSystem(RewardSystem& system, const MethodContext& ctx, const Tokenizer& tokenizer,
                 const fs::path& dir, const std::string& runUuid,
                 const RewardNormalization* normalization) {
  json modules = json::array();
  json files = json::object();
  int k = 0;
  for (const auto& [name, module] : system.namedModules()) {
    const std::string file = "m" + std::to_string(k++) + ".pt";
    const std::string sha = nn::saveModule(*module, (dir / file).string());
    modules.push_back({{"name", name}, {"file", file}, {"sha256", sha}});
  }
  const Tokenizer& tok = system.ownTokenizer() ? *system.ownTokenizer() : tokenizer;
  json backbone = nullptr;
  if (!ctx.backboneDir.empty()) {
    // A Hugging Face backbone: its config.json and tokenizer files travel with the weights, so
    // the saved system is rebuilt from this directory alone.
    const fs::path bdir = dir / "backbone";
    makeOwnFolder(bdir.string());
    files["backbone/config.json"] = copyFileAtomically(
        (fs::path(ctx.backboneDir) / "config.json").string(), (bdir / "config.json").string());
    for (const auto& f : tok.files()) {
      const std::string name = fs::path(f).filename().string();
      files["backbone/" + name] = copyFileAtomically(f, (bdir / name).string());
    }
    backbone = {{"dir", "backbone"},
                {"model_type", hf::readHfConfig(ctx.backboneDir).modelType},
                {"source", ctx.backboneSource.empty()
                               ? fs::absolute(ctx.backboneDir).lexically_normal().string()
                               : ctx.backboneSource}};
  } else {
    files["tokenizer.model"] =
        copyFileAtomically(tok.modelPath(), (dir / "tokenizer.model").string());
  }
  // The pre-trained encoder every model started from: scoring does not need it (every module's
  // weights are saved), but extending a RODOS run trains a new domain model from it.
  std::string encoderInit;
  if (!ctx.encoderInit.empty()) {
    encoderInit = kEncoderInitFile;
    files[encoderInit] = copyFileAtomically(ctx.encoderInit, (dir / encoderInit).string());
  }
  std::string normalizationFile;
  if (normalization) {
    normalizationFile = kNormalizationFile;
    files[normalizationFile] = writeNormalization(*normalization, dir / normalizationFile);
  }
  const SpecialIds sp = ctx.data.special;
  json manifest = {
      {"format", kFormat},
      {"run_uuid", runUuid},
      {"method", ctx.method.method},
      {"method_name", ctx.method.name},
      {"seed", ctx.seed},
      {"config", json::parse(experimentConfigToJson(ctx.config))},
      {"domains", ctx.data.domains},
      {"vocab_size", ctx.data.vocabSize},
      {"max_len", ctx.data.maxLen},
      {"special",
       {{"pad", sp.pad}, {"unk", sp.unk}, {"cls", sp.cls}, {"sep", sp.sep}, {"mask", sp.mask}}},
      {"structure", system.structure()},
      {"base_dir", fs::absolute(ctx.config.baseDir).lexically_normal().string()},
      {"encoder_init", encoderInit},
      {"normalization", normalizationFile},
      {"backbone", backbone},
      {"modules", modules},
      {"files", files}};
  AtomicFile out((dir / "manifest.json").string());
  out.stream() << manifest.dump(2) << "\n";
  out.commit();
}

}  // namespace

void saveSystem(RewardSystem& system, const MethodContext& ctx, const Tokenizer& tokenizer,
                const std::string& dir, const std::string& runUuid,
                const RewardNormalization* normalization) {
  const fs::path target = fs::path(dir).lexically_normal();
  // The folder that holds the saved systems (<db>.models) is the project's: a link there would
  // put them elsewhere. The staging folder is new, so nothing planted in it is written through;
  // what was at the target (an earlier store's run, links included) is renamed away, never
  // followed, and removed (remove_all removes links, not what they point at).
  makeOwnFolder(target.parent_path().string());
  fs::path staging, old;
  bool moved = false;  // what was at the target is at `old`
  // Undoes what was done and names the files as they will be found, not the staging folder.
  auto failed = [&](std::string msg) {
    std::error_code ec;
    if (!staging.empty()) fs::remove_all(staging, ec);
    if (moved && !entryExists(target.string())) fs::rename(old, target, ec);
    if (!staging.empty())
      for (size_t at; (at = msg.find(staging.string())) != std::string::npos;)
        msg.replace(at, staging.string().size(), target.string());
    return InputError(msg);
  };
  try {
    staging = makeStagingFolder(target.string(), "saving");
    writeSystem(system, ctx, tokenizer, staging, runUuid, normalization);
    // The complete folder replaces what was there (a folder of an earlier store's run).
    if (entryExists(target.string())) {
      old = uniqueSibling(target.string(), "old");
      fs::rename(target, old);
      moved = true;
    }
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    throw failed(writeErrorMessage(e.path1().empty() ? target.string() : e.path1().string(),
                                   e.code().value()));
  } catch (const InputError& e) {
    throw failed(e.what());
  } catch (...) {
    failed("");
    throw;
  }
  std::error_code ec;
  if (moved) fs::remove_all(old, ec);
}

std::unique_ptr<LoadedSystem> loadSystem(const std::string& dir) {
  const std::string file = (fs::path(dir) / "manifest.json").string();
  const Manifest m(file, dir);
  const json& r = m.root();
  const int format = m.integer(r, "format", "$.format", 0, INT_MAX);
  if (format < 1 || format > kFormat)
    m.fail("$.format", "unsupported model format " + std::to_string(format) +
                           " (this version reads 1 to " + std::to_string(kFormat) + ")");
  const bool checked = format >= 2;  // format 1 folders carry no checksums

  auto out = std::make_unique<LoadedSystem>();
  out->runUuid = m.str(r, "run_uuid", "$.run_uuid", "");
  // Format 1 predates run UUIDs: one with a UUID is a format 2 manifest changed to skip the
  // checksums.
  if (!checked && !out->runUuid.empty())
    m.fail("$.run_uuid",
           "a format 1 manifest has none (format 1 predates run UUIDs): the "
           "manifest was changed after the folder was saved");
  const json& config = m.object(r, "config", "$.config");
  out->config = parseStoredExperimentConfig(config.dump(), file + " ($.config)");
  out->config.baseDir = m.str(r, "base_dir", "$.base_dir", ".");
  const std::string name = m.str(r, "method_name", "$.method_name");
  for (const auto& mc : out->config.methods)
    if (mc.name == name) out->method = mc;
  if (out->method.method.empty())
    m.fail("$.method_name", "the config has no method named " + shortValue(name));
  const int seed = m.integer(r, "seed", "$.seed", INT_MIN, INT_MAX);

  // Every file the manifest lists is checked before anything is read from it.
  std::set<std::string> listed;
  if (checked) {
    const json& files = m.object(r, "files", "$.files");
    for (auto it = files.begin(); it != files.end(); ++it) {
      const std::string path = "$.files[\"" + it.key() + "\"]";
      const std::string rel = m.member(json{{"f", it.key()}}, "f", path);
      if (!it->is_string()) m.fail(path, "must be a SHA-256 in hex (got " + shortValue(*it) + ")");
      m.verify(rel, it->get<std::string>(), path);
      listed.insert(rel);
    }
  }
  auto requireListed = [&](const std::string& rel, const std::string& why) {
    if (checked && !listed.count(rel))
      m.fail("$.files", "has no checksum for " + rel + " (" + why + ")");
  };

  const json* backbone = m.find(r, "backbone");
  std::string backboneDir, backboneSource;
  if (backbone && !backbone->is_null()) {
    if (!backbone->is_object())
      m.fail("$.backbone", "must be an object or null (got " + shortValue(*backbone) + ")");
    const std::string bdir = m.member(*backbone, "dir", "$.backbone.dir");
    backboneDir = (fs::path(dir) / bdir).string();
    backboneSource = m.str(*backbone, "source", "$.backbone.source", "");
    requireListed(bdir + "/config.json", "the backbone's shape");
    m.str(*backbone, "model_type", "$.backbone.model_type");
    out->tokenizer = hf::loadHfModelTokenizer(backboneDir);
    // Every file the tokenizer read is one the folder was saved with (a file added or swapped
    // since, without a checksum, would change the ids).
    for (const auto& f : out->tokenizer->files())
      requireListed(bdir + "/" + fs::path(f).filename().string(), "the tokenizer");
    // Ids past the embedding table would fail inside LibTorch at the first text that has them.
    const int embeddings = hf::readHfConfig(backboneDir).vocabSize;
    if (out->tokenizer->vocabSize() > embeddings)
      throw InputError(backboneDir + ": the tokenizer has " +
                       std::to_string(out->tokenizer->vocabSize()) +
                       " tokens but config.json's vocab_size is " + std::to_string(embeddings) +
                       ": the tokenizer does not belong to these weights");
  } else {
    requireListed("tokenizer.model", "the tokenizer");
    out->tokenizer = loadSentencePiece((fs::path(dir) / "tokenizer.model").string());
  }

  const json& domains = m.need(r, "domains", "$.domains");
  if (!domains.is_array() || domains.empty())
    m.fail("$.domains", "must be a non-empty array of names (got " + shortValue(domains) + ")");
  for (size_t i = 0; i < domains.size(); ++i) {
    if (!domains[i].is_string())
      m.fail("$.domains[" + std::to_string(i) + "]",
             "must be a string (got " + shortValue(domains[i]) + ")");
    out->data.domains.push_back(domains[i].get<std::string>());
  }
  out->data.vocabSize = m.integer(r, "vocab_size", "$.vocab_size", 1, 100000000);
  out->data.maxLen = m.integer(r, "max_len", "$.max_len", 1, 1000000);
  const json& sp = m.object(r, "special", "$.special");
  auto special = [&](const char* key) {
    return m.integer(sp, key, std::string("$.special.") + key, -1, out->data.vocabSize - 1);
  };
  out->data.special = {special("pad"), special("unk"), special("cls"), special("sep"),
                       special("mask")};
  if (backboneDir.empty() && out->tokenizer->vocabSize() != out->data.vocabSize)
    m.fail("$.vocab_size", "is " + std::to_string(out->data.vocabSize) + " but " + dir +
                               "/tokenizer.model has " +
                               std::to_string(out->tokenizer->vocabSize()) +
                               " tokens: the tokenizer does not belong to these weights");

  std::string encoderInit = m.str(r, "encoder_init", "$.encoder_init", "");
  if (!encoderInit.empty()) {
    // Format 2 copies the encoder into the folder; only format 1 names one elsewhere.
    if (checked || fs::path(encoderInit).is_relative()) {
      encoderInit = (fs::path(dir) / m.member(r, "encoder_init", "$.encoder_init")).string();
      requireListed(fs::path(encoderInit).filename().string(), "the pre-trained encoder");
    } else if (std::error_code ec; !fs::is_regular_file(encoderInit, ec)) {
      // A format 1 folder pointing into a pre-training cache that has been cleared since.
      out->missingEncoderInit = encoderInit;
      encoderInit.clear();
    }
  }

  // Format 2 folders written before the reward scale was saved have no "normalization".
  if (const std::string norm = m.str(r, "normalization", "$.normalization", ""); !norm.empty()) {
    if (!checked) m.fail("$.normalization", "needs format 2 or later (the file's checksum)");
    const std::string rel = m.member(r, "normalization", "$.normalization");
    requireListed(rel, "the reward normalisation");
    out->normalization = readNormalization(dir, rel);
  }

  const json& structure = m.need(r, "structure", "$.structure");
  if (!structure.is_object())
    m.fail("$.structure", "must be an object (got " + shortValue(structure) + ")");
  out->ctx = std::make_unique<MethodContext>(MethodContext{
      out->config, out->method, seed, out->data,
      // A model trained on a GPU is scored on the CPU where this build has no CUDA.
      deviceFor(torch::cuda::is_available() ? out->config.training.device : "cpu"), ""});
  out->ctx->structure = structure;
  out->ctx->encoderInit = encoderInit;
  // Every module's weights follow from the directory: the backbone is built from its config.
  out->ctx->backboneDir = backboneDir;
  out->ctx->backboneWeights = false;
  out->ctx->backboneSource = backboneSource;
  try {
    out->system = createMethod(*out->ctx);
  } catch (const json::exception& e) {
    m.fail("$.structure",
           "does not fit method " + out->method.method + " (" + jsonMessage(e) + ")");
  } catch (const std::logic_error& e) {  // an adapter named twice, ...
    m.fail("$.structure", "does not fit method " + out->method.method + " (" + e.what() + ")");
  } catch (const c10::Error& e) {
    throw InputError(file + ": cannot build the " + out->method.method + " model it describes (" +
                     firstLine(e.what_without_backtrace()) + ")");
  }

  // Every module the method has is loaded, each from its own file: a missing one would score
  // with untrained weights.
  const NamedModules modules = out->system->namedModules();
  const json& entries = m.need(r, "modules", "$.modules");
  if (!entries.is_array())
    m.fail("$.modules", "must be an array (got " + shortValue(entries) + ")");
  std::set<std::string> loaded;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string path = "$.modules[" + std::to_string(i) + "]";
    if (!entries[i].is_object())
      m.fail(path, "must be an object (got " + shortValue(entries[i]) + ")");
    const std::string mname = m.str(entries[i], "name", path + ".name");
    const std::string mfile = m.member(entries[i], "file", path + ".file");
    auto it = std::find_if(modules.begin(), modules.end(),
                           [&](const auto& p) { return p.first == mname; });
    if (it == modules.end())
      m.fail(path + ".name",
             "the " + out->method.method + " model has no module " + shortValue(mname));
    if (!loaded.insert(mname).second) m.fail(path + ".name", "module " + mname + " listed twice");
    if (checked) m.verify(mfile, m.str(entries[i], "sha256", path + ".sha256"), path + ".sha256");
    nn::loadModule(*it->second, (fs::path(dir) / mfile).string());
  }
  for (const auto& [mname, module] : modules)
    if (!loaded.count(mname))
      m.fail("$.modules", "has no weights for module " + mname + " (the " + out->method.method +
                              " model has " + std::to_string(modules.size()) + " modules)");
  return out;
}

std::unique_ptr<LoadedSystem> loadRunSystem(const std::string& dbPath, const RunInfo& run) {
  const std::string id = std::to_string(run.id);
  if (run.status != RunStatus::Finished)
    throw InputError(dbPath + ": run " + id + " is " + toString(run.status) +
                     "; only a finished run has a saved model");
  const std::string dir = modelDirFor(dbPath, run.id);
  // <db>.models and its run folders are the project's (docs/ARCHITECTURE.md, "Files and links").
  const fs::path db(dbPath);
  refuseLinksBelow(db.has_parent_path() ? db.parent_path().string() : ".",
                   db.filename().string() + ".models/run-" + id);
  if (!entryExists((fs::path(dir) / "manifest.json").string()))
    throw InputError(dbPath + ": run " + id + " has no saved model (looked in " + dir + ")");
  auto loaded = loadSystem(dir);
  // A store recreated under the same name numbers its runs from 1 again: the folder of an
  // earlier run with this id must not be served for it.
  // The UUID is the identity; the entry name is compared only for folders saved before runs had
  // one (an extended run's name is its origin's plus the domain, its folder keeps the origin's).
  const bool sameRun = loaded->runUuid == run.uuid && loaded->method.method == run.method &&
                       (!run.uuid.empty() || loaded->method.name == run.methodName);
  if (!sameRun)
    throw InputError(dir + ": saved by another run than run " + id + " of " + dbPath +
                     " (run UUID " + (loaded->runUuid.empty() ? "none" : loaded->runUuid) +
                     ", the store's run has " + (run.uuid.empty() ? "none" : run.uuid) +
                     "); the store was replaced after that model was saved");
  return loaded;
}

std::unique_ptr<LoadedSystem> loadHfRewardModel(const std::string& dir, int maxLen) {
  const HfBackboneInfo info = inspectHfRewardModel(dir);
  auto out = std::make_unique<LoadedSystem>();
  out->config.name = "pretrained";
  out->config.baseDir = ".";
  out->method.method = "pretrained";
  out->method.name = "pretrained";
  out->method.textOptions["model"] = dir;
  out->config.methods = {out->method};
  out->tokenizer = loadBackboneTokenizer(info);
  out->data.vocabSize = out->tokenizer->vocabSize();
  out->data.special = out->tokenizer->special();
  out->data.maxLen = effectiveMaxLen(maxLen, info.inputLimit);
  out->ctx = std::make_unique<MethodContext>(
      MethodContext{out->config, out->method, 1, out->data, torch::Device(torch::kCPU), ""});
  out->ctx->backboneDir = dir;
  out->system = createMethod(*out->ctx);
  return out;
}

}  // namespace rr::core
