#pragma once
// Reading and writing the weight files of a Hugging Face model folder (internal; LibTorch).
// A checkpoint is untrusted input: both readers validate everything before touching data and
// never execute code (docs/CHECKPOINTS.md).
//   model.safetensors, or shards named by model.safetensors.index.json  (preferred)
//   pytorch_model.bin (torch.save zip archive), or shards named by pytorch_model.bin.index.json
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rr::core::hf {

struct TensorInfo {
  std::string dtype;  // as stored: "F32", "F16", "BF16" (others are refused on load)
  std::vector<int64_t> shape;
  std::string file;  // the file that holds it
};

// All tensors of one checkpoint, opened lazily: names and shapes are known after open(), data is
// read (memory-mapped for safetensors) when load() asks for it.
class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;
  // The folder's weights: safetensors (single or sharded) when present, else pytorch_model.bin
  // (single or sharded). Throws InputError "FILE: what is wrong" for any malformed file.
  static std::unique_ptr<CheckpointReader> openFolder(const std::string& dir);
  // One file, by its extension (.safetensors, or a torch.save zip archive).
  static std::unique_ptr<CheckpointReader> openFile(const std::string& path);

  virtual std::vector<std::string> names() const = 0;  // sorted
  virtual bool has(const std::string& name) const = 0;
  virtual TensorInfo info(const std::string& name) const = 0;  // throws InputError if absent
  // The tensor as a contiguous CPU tensor of `dtype` (F16/BF16/F32 converted); InputError for
  // other stored dtypes, naming file and tensor.
  virtual torch::Tensor load(const std::string& name,
                             torch::ScalarType dtype = torch::kFloat) const = 0;
};

// Writes a safetensors file atomically (temp file + rename). Tensors are written contiguous in
// their own dtype (F32/F16/BF16), in the order given; `metadata` becomes "__metadata__".
void writeSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace rr::core::hf
