#include "run/export.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/atomicfile.h"
#include "common/errors.h"
#include "common/fileio.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfmodel.h"
#include "run/experiment.h"
#include "run/persist.h"
#include "store/runstore.h"
#include "train/backbone.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rr::core {
namespace {

// A domain name as a folder name: letters, digits and ._- kept, anything else '_'.
std::string folderName(const std::string& domain) {
  std::string out;
  for (unsigned char c : domain)
    out += (std::isalnum(c) || c == '.' || c == '_' || c == '-') ? static_cast<char>(c) : '_';
  if (out.empty() || out == "." || out == "..") out = "domain";
  return out;
}

// The folder `-o` names: "DIR/" is DIR; relative to the working folder.
fs::path exportTarget(const std::string& outDir) {
  std::string s = outDir;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s == "/") throw InputError("export: -o /: name a new folder to write");
  return fs::absolute(s).lexically_normal();
}

// Refuses a target where the export would be replaced or would damage what is there: a symbolic
// link (export writes a folder of its own, it does not write through one), a run store's models
// folder (a finishing run replaces run-<id> there) or anything inside it, and a saved system.
void checkTarget(const fs::path& target) {
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw InputError("export: " + target.string() +
                     ": a symbolic link; export writes a new folder of its own (name a folder "
                     "that does not exist, or an empty one)");
  // Through the links above it: a link to the models folder is the models folder.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(target, ec);
  for (fs::path p = ec ? target : real; p.has_relative_path(); p = p.parent_path()) {
    const std::string name = p.filename().string();
    const std::string suffix = ".models";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const fs::path store = p.parent_path() / name.substr(0, name.size() - suffix.size());
      if (fs::is_regular_file(store, ec))
        throw InputError("export: " + target.string() + (p == real ? " is" : " is inside") +
                         " the models folder of the run store " + store.string() +
                         ", where runs save their systems (a run that finishes replaces what "
                         "is there); export somewhere else");
    }
    if (p != real && fs::exists(p / "manifest.json", ec))
      throw InputError("export: " + target.string() + " is inside the saved system " + p.string() +
                       "; export somewhere else");
  }
  if (fs::exists(target, ec) && !(fs::is_directory(target, ec) && fs::is_empty(target, ec)))
    throw InputError(target.string() +
                     ": exists and is not an empty folder (export writes a new one)");
}

// tokenizer_config.json with the input limit the run cut at, so that transformers and
// `score --model` cut where the run did (the backbone's own limit may be larger), and with the
// side the run cut the prompt from: its beginning, as transformers' truncation_side "left" (the
// same ids with tokenizer(prompt, response, truncation="only_first") when the response fits).
void writeTokenizerConfig(const std::string& from, const fs::path& to, int maxLen) {
  json config = json::object();
  if (!from.empty()) {
    // The tokenizer was loaded from this file: it is a JSON object.
    config = json::parse(readRegularFile(from, 64 << 20, "tokenizer_config.json"));
  }
  config["model_max_length"] = maxLen;
  config["truncation_side"] = "left";
  AtomicFile out(to.string());
  out.stream() << config.dump(2) << "\n";
  out.commit();
}

void writeModel(const LoadedSystem& loaded, const SingleModel& m, const fs::path& dir) {
  makeOwnFolder(dir.string());
  const hf::HfModelConfig config = hf::readHfConfig(loaded.ctx->backboneDir);
  torch::NoGradGuard ng;
  auto state = hf::exportState(*m.encoder, config, m.adapter, m.headWeight.detach().cpu(),
                               m.headBias.detach().cpu());
  // transformers reads a safetensors file's "format" metadata to know whose tensors these are.
  hf::writeSafetensors((dir / "model.safetensors").string(), state, {{"format", "pt"}});
  {
    AtomicFile cfg((dir / "config.json").string());
    cfg.stream() << hf::exportConfig(config).dump(2) << "\n";
    cfg.commit();
  }
  std::string tokenizerConfig;
  for (const auto& f : loaded.tokenizer->files()) {
    const std::string name = fs::path(f).filename().string();
    if (name == "tokenizer_config.json")
      tokenizerConfig = f;
    else
      copyFileAtomically(f, (dir / name).string());
  }
  // The limit the run cut its inputs at: its max_len, or the model's own when smaller (a
  // published model's).
  const int maxLen = effectiveMaxLen(loaded.data.maxLen,
                                     hfInputLimit(loaded.ctx->backboneDir, config.maxPositions));
  writeTokenizerConfig(tokenizerConfig, dir / "tokenizer_config.json", maxLen);
}

}  // namespace

ExportOutcome exportRun(const std::string& dbPath, std::int64_t runId, const std::string& outDir) {
  if (outDir.empty()) throw InputError("export: -o needs a folder name");
  const fs::path target = exportTarget(outDir);
  const auto run = RunStore::open(dbPath, true)->run(runId);
  if (!run) throw InputError(dbPath + ": no run " + std::to_string(runId));
  if (run->status != RunStatus::Finished)
    throw InputError(dbPath + ": run " + std::to_string(runId) + " is " + toString(run->status) +
                     "; only a finished run can be exported");
  checkTarget(target);
  auto loaded = loadRunSystem(dbPath, *run);
  const std::string what = "run " + std::to_string(runId) + " (" + loaded->method.name + ")";
  if (loaded->ctx->backboneDir.empty())
    throw InputError("export: " + what +
                     " uses RewardRouter's own encoder; a Hugging Face folder needs a Hugging "
                     "Face backbone (train with encoder.pretrained set to a model folder)");
  if (loaded->method.method != "pretrained" && loaded->config.encoder.pooling != "cls")
    throw InputError("export: " + what + " reads the mean of the tokens (encoder.pooling " +
                     loaded->config.encoder.pooling +
                     "); a *ForSequenceClassification model reads the [CLS] token's pooler");
  const std::vector<SingleModel> models = loaded->system->singleModels();
  if (models.empty())
    throw InputError("export: " + what + " is " + loaded->method.method +
                     ", whose reward comes from several parts together (MoRE's experts, "
                     "DMoERM's aggregator); only single reward models export");

  // The folders above the target are made as needed (links there are followed: they are the
  // user's); the first that did not exist is removed again on failure. The export is written
  // into a new folder beside the target and renamed into place when complete.
  fs::path created;
  for (fs::path p = target.parent_path(); p.has_relative_path() && !entryExists(p.string());
       p = p.parent_path())
    created = p;
  std::string staging;
  ExportOutcome out;
  auto cleanUp = [&] {
    std::error_code ec;
    if (!staging.empty()) fs::remove_all(staging, ec);
    if (!created.empty()) fs::remove_all(created, ec);
  };
  try {
    fs::create_directories(target.parent_path());
    staging = makeStagingFolder(target.string(), "export");
    for (const auto& m : models) {
      const fs::path sub = m.name.empty() ? fs::path() : fs::path(folderName(m.name));
      writeModel(*loaded, m, sub.empty() ? fs::path(staging) : fs::path(staging) / sub);
      out.folders.push_back((sub.empty() ? target : target / sub).string());
    }
    // Replaces an empty folder there (checked above); a link put there since is not followed.
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    cleanUp();
    const fs::path where = e.path1().empty() ? target : e.path1();
    throw InputError("export: " + where.string() + ": cannot create (" + e.code().message() + ")");
  } catch (const InputError& e) {
    cleanUp();
    // The files are named where they would have been.
    std::string msg = e.what();
    for (size_t at; !staging.empty() && (at = msg.find(staging)) != std::string::npos;)
      msg.replace(at, staging.size(), target.string());
    throw InputError(msg);
  } catch (...) {
    cleanUp();
    throw;
  }
  return out;
}

}  // namespace rr::core
