#pragma once
// The data.pkl of a torch.save archive, read without executing it (internal to core/nn/hf/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rr::core::hf::detail {

// One storage record, archive/data/<key>, as a persistent id names it.
struct PickledStorage {
  std::string key;
  std::string dtype;   // safetensors name of its element type; "U8" for an untyped storage
  uint64_t bytes = 0;  // numel x element width, as the pickle states it
};

// A strided view into a storage, in elements of its own dtype; checked to lie inside it.
struct PickledTensor {
  size_t storage = 0;  // index into PickledStateDict::storages
  std::string dtype;
  std::vector<int64_t> shape, stride;
  int64_t offset = 0;
  // Two indices address one element (a stride of 0, as torch.expand makes) or the strides
  // interleave: load() refuses it rather than build a weight out of repeated values.
  bool overlapping = false;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::vector<std::pair<std::string, PickledTensor>> tensors;  // in pickle order, names unique
};

// Interprets the protocol 2-5 opcodes that torch.save writes for a dict of tensors, allowing only
// the globals such a dict needs; anything else is an InputError "FILE: ...".
PickledStateDict parseStateDictPickle(const std::string& file, const uint8_t* data, size_t size);

}  // namespace rr::core::hf::detail
