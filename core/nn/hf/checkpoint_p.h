#pragma once
// Shared by the checkpoint readers (internal to core/nn/hf/).
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/hf/checkpoint.h"

namespace rr::core::hf::detail {

// A whole file mapped read-only: a regular file only (common/fileio.h), so a FIFO or a device
// named like a weight file is refused before it can block. Readers check every offset against
// size() before they touch the bytes.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return m_data; }
  uint64_t size() const { return m_size; }

 private:
  const uint8_t* m_data = nullptr;
  uint64_t m_size = 0;
};

// Throws InputError "FILE: what".
[[noreturn]] void fail(const std::string& file, const std::string& what);

// Bytes per element of a stored dtype by its safetensors name ("F32", "I64", ...); 0 if unknown.
int dtypeWidth(const std::string& dtype);

// a * b and a + b for sizes read from a file; false on overflow.
bool mulOverflows(uint64_t a, uint64_t b, uint64_t* out);
bool addOverflows(uint64_t a, uint64_t b, uint64_t* out);

// "[2, 3]"
std::string shapeText(const std::vector<int64_t>& shape);

// The torch type of a stored dtype that load() accepts (F32, F16, BF16); otherwise the InputError
// "FILE: tensor 'NAME' has dtype X; RewardRouter loads F32, F16 and BF16".
torch::ScalarType loadableType(const std::string& file, const std::string& name,
                               const std::string& stored);

// Copies a strided view of `stored`-dtype elements starting at `base` into a new contiguous tensor
// of `want`. The caller has checked that every addressed element lies inside the buffer; other
// stored dtypes than loadableType's are refused.
torch::Tensor copyOut(const std::string& file, const std::string& name, const std::string& stored,
                      const void* base, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& stride, int64_t offset, torch::ScalarType want);

std::unique_ptr<CheckpointReader> openSafetensors(const std::string& path);
std::unique_ptr<CheckpointReader> openTorchArchive(const std::string& path);

}  // namespace rr::core::hf::detail
