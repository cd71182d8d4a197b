// Opening a model folder's weights; sharded checkpoints; the helpers both file readers share.
// Format facts and what is refused: docs/CHECKPOINTS.md.
#include "nn/hf/checkpoint.h"

#include <sys/mman.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "nn/hf/checkpoint_p.h"

namespace fs = std::filesystem;

namespace rr::core::hf {

namespace detail {

MappedFile::MappedFile(const std::string& path) {
  const RegularFile file(path);
  m_size = file.size();
  if (m_size == 0) return;
  void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  m_data = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (m_data) ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

void fail(const std::string& file, const std::string& what) {
  throw InputError(file + ": " + what);
}

int dtypeWidth(const std::string& d) {
  static const std::map<std::string, int> widths = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"F64", 8}, {"I64", 8}, {"U64", 8},     {"C64", 8}};
  auto it = widths.find(d);
  return it == widths.end() ? 0 : it->second;
}

bool mulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
bool addOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::ScalarType loadableType(const std::string& file, const std::string& name,
                               const std::string& stored) {
  if (stored == "F32") return torch::kFloat;
  if (stored == "F16") return torch::kHalf;
  if (stored == "BF16") return torch::kBFloat16;
  fail(file,
       "tensor '" + name + "' has dtype " + stored + "; RewardRouter loads F32, F16 and BF16");
}

torch::Tensor copyOut(const std::string& file, const std::string& name, const std::string& stored,
                      const void* base, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& stride, int64_t offset, torch::ScalarType want) {
  const torch::ScalarType st = loadableType(file, name, stored);
  torch::Tensor out = torch::empty(shape, torch::TensorOptions().dtype(want));
  if (out.numel() == 0) return out;
  int64_t extent = offset + 1;
  for (size_t i = 0; i < shape.size(); ++i) extent += (shape[i] - 1) * stride[i];
  const size_t width = static_cast<size_t>(dtypeWidth(stored));
  torch::Tensor src;
  if (reinterpret_cast<uintptr_t>(base) % width != 0) {
    // A safetensors file may place a tensor at any byte; kernels expect aligned elements.
    src = torch::empty({extent}, torch::TensorOptions().dtype(st));
    std::memcpy(src.data_ptr(), base, static_cast<size_t>(extent) * width);
  } else {
    src = torch::from_blob(const_cast<void*>(base), {extent}, torch::TensorOptions().dtype(st));
  }
  out.copy_(src.as_strided(shape, stride, offset));
  return out;
}

}  // namespace detail

namespace {

using detail::fail;

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A file name from an index's weight_map must name a file inside the folder.
bool plainFileName(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\\') == std::string::npos && n.find('\0') == std::string::npos;
}

class ShardedReader : public CheckpointReader {
 public:
  ShardedReader(const std::string& indexPath, bool safetensors) {
    const fs::path dir = fs::path(indexPath).parent_path();
    const nlohmann::json j = parseJsonFile(indexPath, 100'000'000);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(indexPath, "no \"weight_map\" object");
    if (j.contains("metadata") && !j["metadata"].is_object() && !j["metadata"].is_null())
      fail(indexPath, "\"metadata\" is not an object");
    const auto& map = j["weight_map"];
    if (map.empty()) fail(indexPath, "\"weight_map\" is empty");
    std::map<std::string, size_t> shardIndex;
    for (const auto& [name, file] : map.items()) {
      if (!file.is_string()) fail(indexPath, "weight_map['" + name + "'] is not a file name");
      const std::string f = file.get<std::string>();
      if (!plainFileName(f))
        fail(indexPath, "weight_map['" + name + "'] names '" + f +
                            "': shard names must be plain file names in the folder");
      if (safetensors && !endsWith(f, ".safetensors"))
        fail(indexPath, "weight_map['" + name + "'] names '" + f + "', not a .safetensors file");
      auto it = shardIndex.find(f);
      if (it == shardIndex.end()) {
        const std::string path = (dir / f).string();
        if (!fs::exists(path)) fail(indexPath, "shard '" + f + "' does not exist");
        m_shards.push_back(safetensors ? detail::openSafetensors(path)
                                       : detail::openTorchArchive(path));
        it = shardIndex.emplace(f, m_shards.size() - 1).first;
      }
      if (!m_shards[it->second]->has(name))
        fail(indexPath, "tensor '" + name + "' is mapped to " + f + ", which does not hold it");
      m_where[name] = it->second;
    }
    m_index = indexPath;
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(m_where.size());
    for (const auto& [name, shard] : m_where) out.push_back(name);
    return out;
  }
  bool has(const std::string& name) const override { return m_where.count(name) > 0; }
  TensorInfo info(const std::string& name) const override { return shard(name).info(name); }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    return shard(name).load(name, dtype);
  }

 private:
  const CheckpointReader& shard(const std::string& name) const {
    auto it = m_where.find(name);
    if (it == m_where.end()) fail(m_index, "no tensor '" + name + "'");
    return *m_shards[it->second];
  }

  std::string m_index;
  std::vector<std::unique_ptr<CheckpointReader>> m_shards;
  std::map<std::string, size_t> m_where;
};

}  // namespace

std::unique_ptr<CheckpointReader> CheckpointReader::openFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "no such file");
  if (endsWith(path, ".safetensors")) return detail::openSafetensors(path);
  if (endsWith(path, ".safetensors.index.json")) return std::make_unique<ShardedReader>(path, true);
  if (endsWith(path, ".index.json")) return std::make_unique<ShardedReader>(path, false);
  return detail::openTorchArchive(path);
}

std::unique_ptr<CheckpointReader> CheckpointReader::openFolder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir, "not a folder");
  const fs::path d(dir);
  if (fs::exists(d / "model.safetensors", ec))
    return detail::openSafetensors((d / "model.safetensors").string());
  if (fs::exists(d / "model.safetensors.index.json", ec))
    return std::make_unique<ShardedReader>((d / "model.safetensors.index.json").string(), true);
  if (fs::exists(d / "pytorch_model.bin", ec))
    return detail::openTorchArchive((d / "pytorch_model.bin").string());
  if (fs::exists(d / "pytorch_model.bin.index.json", ec))
    return std::make_unique<ShardedReader>((d / "pytorch_model.bin.index.json").string(), false);
  fail(dir, "no weights (model.safetensors or pytorch_model.bin)");
}

}  // namespace rr::core::hf
