#include "run/export.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfmodel.h"
#include "store/runstore.h"
#include "run/experiment.h"
#include "run/persist.h"

namespace fs = std::filesystem;

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

void writeModel(const LoadedSystem& loaded, const SingleModel& m, const fs::path& dir) {
  fs::create_directories(dir);
  const hf::HfModelConfig config = hf::readHfConfig(loaded.ctx->backboneDir);
  torch::NoGradGuard ng;
  auto state = hf::exportState(*m.encoder, config, m.adapter, m.headWeight.detach().cpu(),
                               m.headBias.detach().cpu());
  // transformers reads a safetensors file's "format" metadata to know whose tensors these are.
  hf::writeSafetensors((dir / "model.safetensors").string(), state, {{"format", "pt"}});
  std::ofstream cfg(dir / "config.json");
  cfg << hf::exportConfig(config).dump(2) << "\n";
  if (!cfg) throw std::runtime_error((dir / "config.json").string() + ": cannot write");
  for (const auto& f : loaded.tokenizer->files())
    fs::copy_file(f, dir / fs::path(f).filename(), fs::copy_options::overwrite_existing);
}

}  // namespace

ExportOutcome exportRun(const std::string& dbPath, std::int64_t runId, const std::string& outDir) {
  if (outDir.empty()) throw InputError("export: -o needs a folder name");
  const auto run = RunStore::open(dbPath, true)->run(runId);
  if (!run) throw InputError(dbPath + ": no run " + std::to_string(runId));
  if (run->status != RunStatus::Finished)
    throw InputError(dbPath + ": run " + std::to_string(runId) + " is " + toString(run->status) +
                     "; only a finished run can be exported");
  if (fs::exists(outDir) && !(fs::is_directory(outDir) && fs::is_empty(outDir)))
    throw InputError(outDir + ": exists and is not an empty folder (export writes a new one)");
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

  const fs::path target = fs::absolute(outDir).lexically_normal();
  const fs::path tmp = target.parent_path() /
                       ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  ExportOutcome out;
  try {
    fs::remove_all(tmp);
    for (const auto& m : models) {
      const fs::path sub = m.name.empty() ? fs::path() : fs::path(folderName(m.name));
      writeModel(*loaded, m, tmp / sub);
      out.folders.push_back((sub.empty() ? target : target / sub).string());
    }
    if (fs::exists(target)) fs::remove(target);  // empty, checked above
    fs::rename(tmp, target);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return out;
}

}  // namespace rr::core
