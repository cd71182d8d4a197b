#pragma once
// Writing a trained run's reward models as Hugging Face model folders (config.json,
// model.safetensors, the tokenizer), so any tool that reads that layout can serve them.
// No LibTorch types here.
#include <cstdint>
#include <string>
#include <vector>

namespace rr::core {

struct ExportOutcome {
  std::vector<std::string> folders;  // one per exported reward model
};

// A single-model system (Baseline, Base-LoRA with its adapter merged, a published reward model)
// becomes `outDir` itself; RODOS's domain models and ARLISS's adapters become outDir/<domain>/.
// The run must be finished and built on a Hugging Face backbone; `outDir` must not exist or be
// empty. Everything is written to a temporary folder first: on any error nothing is left.
ExportOutcome exportRun(const std::string& dbPath, std::int64_t runId, const std::string& outDir);

}  // namespace rr::core
