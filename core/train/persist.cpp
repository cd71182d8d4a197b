#include "train/persist.h"

#include <filesystem>
#include <fstream>

#include "common/atomicfile.h"
#include "common/errors.h"
#include "data/hftokenizer.h"
#include "nn/encoder.h"
#include "nn/hf/hfmodel.h"
#include "train/backbone.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rr::core {

namespace {
constexpr int kFormat = 1;
}

void saveSystem(RewardSystem& system, const MethodContext& ctx, const Tokenizer& tokenizer,
                const std::string& dir) {
  fs::create_directories(dir);
  json modules = json::array();
  int k = 0;
  for (const auto& [name, module] : system.namedModules()) {
    const std::string file = "m" + std::to_string(k++) + ".pt";
    nn::saveModule(*module, (fs::path(dir) / file).string());
    modules.push_back({{"name", name}, {"file", file}});
  }
  const Tokenizer& tok = system.ownTokenizer() ? *system.ownTokenizer() : tokenizer;
  json backbone = nullptr;
  if (!ctx.backboneDir.empty()) {
    // A Hugging Face backbone: its config.json and tokenizer files travel with the weights, so
    // the saved system is rebuilt from this directory alone.
    const fs::path bdir = fs::path(dir) / "backbone";
    fs::create_directories(bdir);
    const fs::path src = fs::path(ctx.backboneDir) / "config.json";
    if (fs::absolute(src) != fs::absolute(bdir / "config.json"))
      fs::copy_file(src, bdir / "config.json", fs::copy_options::overwrite_existing);
    for (const auto& f : tok.files()) {
      const fs::path target = bdir / fs::path(f).filename();
      if (fs::absolute(f) != fs::absolute(target))
        fs::copy_file(f, target, fs::copy_options::overwrite_existing);
    }
    backbone = {{"dir", "backbone"},
                {"model_type", hf::readHfConfig(ctx.backboneDir).modelType},
                {"source", ctx.backboneSource.empty()
                               ? fs::absolute(ctx.backboneDir).lexically_normal().string()
                               : ctx.backboneSource}};
  } else {
    fs::copy_file(tok.modelPath(), fs::path(dir) / "tokenizer.model",
                  fs::copy_options::overwrite_existing);
  }
  const SpecialIds sp = ctx.data.special;
  json manifest = {
      {"format", kFormat},
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
      {"encoder_init", ctx.encoderInit},
      {"backbone", backbone},
      {"modules", modules}};
  // The manifest goes last and atomically: a directory with a manifest is complete.
  AtomicFile out((fs::path(dir) / "manifest.json").string());
  out.stream() << manifest.dump(2) << "\n";
  out.commit();
}

std::unique_ptr<LoadedSystem> loadSystem(const std::string& dir) {
  const fs::path manifestPath = fs::path(dir) / "manifest.json";
  std::ifstream in(manifestPath);
  if (!in) throw InputError(dir + ": no saved model here (manifest.json missing)");
  json m;
  try {
    m = json::parse(in);
  } catch (const json::exception& e) {
    throw InputError(manifestPath.string() + ": unreadable (" + e.what() + ")");
  }
  if (m.value("format", 0) != kFormat)
    throw InputError(manifestPath.string() + ": unsupported model format " +
                     std::to_string(m.value("format", 0)));
  auto out = std::make_unique<LoadedSystem>();
  out->config =
      parseStoredExperimentConfig(m.at("config").dump(), manifestPath.string() + " (config)");
  out->config.baseDir = m.value("base_dir", std::string("."));
  const std::string name = m.at("method_name").get<std::string>();
  for (const auto& mc : out->config.methods)
    if (mc.name == name) out->method = mc;
  if (out->method.method.empty())
    throw InputError(manifestPath.string() + ": config has no method " + name);
  const json backbone = m.value("backbone", json());
  std::string backboneDir, backboneSource;
  if (backbone.is_object()) {
    backboneDir = (fs::path(dir) / backbone.at("dir").get<std::string>()).string();
    backboneSource = backbone.value("source", std::string());
    out->tokenizer = loadHfTokenizer(backboneDir, backbone.at("model_type").get<std::string>());
  } else {
    out->tokenizer = loadSentencePiece((fs::path(dir) / "tokenizer.model").string());
  }
  out->data.domains = m.at("domains").get<std::vector<std::string>>();
  out->data.vocabSize = m.at("vocab_size").get<int>();
  out->data.maxLen = m.at("max_len").get<int>();
  const json& sp = m.at("special");
  out->data.special = {sp.at("pad").get<int>(), sp.at("unk").get<int>(), sp.at("cls").get<int>(),
                       sp.at("sep").get<int>(), sp.at("mask").get<int>()};
  out->ctx = std::make_unique<MethodContext>(MethodContext{
      out->config, out->method, m.at("seed").get<int>(), out->data,
      // A model trained on a GPU is scored on the CPU where this build has no CUDA.
      deviceFor(torch::cuda::is_available() ? out->config.training.device : "cpu"), ""});
  out->ctx->structure = m.at("structure");
  out->ctx->encoderInit = m.value("encoder_init", std::string());
  // Every module's weights follow from the directory: the backbone is built from its config.
  out->ctx->backboneDir = backboneDir;
  out->ctx->backboneWeights = false;
  out->ctx->backboneSource = backboneSource;
  out->system = createMethod(*out->ctx);
  const NamedModules modules = out->system->namedModules();
  for (const auto& entry : m.at("modules")) {
    const std::string mname = entry.at("name").get<std::string>();
    auto it = std::find_if(modules.begin(), modules.end(),
                           [&](const auto& p) { return p.first == mname; });
    if (it == modules.end()) throw InputError(dir + ": the method has no module '" + mname + "'");
    nn::loadModule(*it->second, (fs::path(dir) / entry.at("file").get<std::string>()).string());
  }
  return out;
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
