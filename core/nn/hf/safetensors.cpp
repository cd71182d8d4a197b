// safetensors: an 8-byte little-endian header length N, N bytes of JSON, then the tensors' bytes.
// Facts from the format's README (huggingface/safetensors) and its Rust reader, which bounds the
// header at 100 MB and requires the tensors to tile the data section exactly.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "common/errors.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/checkpoint_p.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint files are little-endian; this reader assumes a little-endian host"
#endif

namespace rr::core::hf {

using detail::fail;
using detail::MappedFile;

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;
// Root object, tensor entry, shape array: a valid header nests three deep.
constexpr int kMaxDepth = 8;
constexpr size_t kMaxRank = 64;

// Deepest nesting of objects/arrays outside strings; stops counting past the limit, so a hostile
// header cannot make the JSON parser or the value's destructor recurse deeply.
int nestingDepth(const char* s, size_t n) {
  int depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxDepth) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// A JSON integer that is >= 0 and fits in int64 (so also in uint64).
bool nonNegativeInt(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return *out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

struct Entry {
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

class SafetensorsReader : public CheckpointReader {
 public:
  explicit SafetensorsReader(const std::string& path)
      : m_path(path), m_file(std::make_shared<MappedFile>(path)) {
    const uint64_t size = m_file->size();
    const uint8_t* bytes = m_file->data();
    if (size < 8)
      fail(path,
           "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    uint64_t n = 0;
    std::memcpy(&n, bytes, 8);
    if (n > kMaxHeader)
      fail(path, "header length " + std::to_string(n) + " exceeds the limit of " +
                     std::to_string(kMaxHeader) + " bytes");
    if (n > size - 8)
      fail(path, "truncated: the header needs " + std::to_string(n) + " bytes, the file has " +
                     std::to_string(size - 8) + " after the length");
    const char* header = reinterpret_cast<const char*>(bytes + 8);
    if (n == 0 || header[0] != '{') fail(path, "the header is not a JSON object");
    if (nestingDepth(header, n) > kMaxDepth)
      fail(path, "the header nests deeper than " + std::to_string(kMaxDepth) + " levels");
    parseHeader(header, n);
    m_dataStart = 8 + n;
    checkLayout(size - m_dataStart);
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(m_entries.size());
    for (const auto& [name, e] : m_entries) out.push_back(name);
    return out;
  }
  bool has(const std::string& name) const override { return m_entries.count(name) > 0; }
  TensorInfo info(const std::string& name) const override {
    const Entry& e = entry(name);
    return {e.dtype, e.shape, m_path};
  }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    const Entry& e = entry(name);
    std::vector<int64_t> stride(e.shape.size(), 1);
    for (size_t i = e.shape.size(); i-- > 1;) stride[i - 1] = stride[i] * e.shape[i];
    return detail::copyOut(m_path, name, e.dtype, m_file->data() + m_dataStart + e.begin, e.shape,
                           stride, 0, dtype);
  }

 private:
  const Entry& entry(const std::string& name) const {
    auto it = m_entries.find(name);
    if (it == m_entries.end()) fail(m_path, "no tensor '" + name + "'");
    return it->second;
  }

  void parseHeader(const char* header, uint64_t n) {
    std::set<std::string> seen;
    bool duplicate = false;
    std::string dupName;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(
          header, header + n, [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
            if (ev == nlohmann::json::parse_event_t::key && depth == 1 &&
                !seen.insert(v.get<std::string>()).second && !duplicate) {
              duplicate = true;
              dupName = v.get<std::string>();
            }
            return true;
          });
    } catch (const nlohmann::json::exception& e) {
      fail(m_path, std::string("the header is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail(m_path, "the header is not a JSON object");
    if (duplicate) fail(m_path, "the header names '" + dupName + "' twice");
    for (const auto& [name, v] : j.items()) {
      if (name == "__metadata__") {
        if (!v.is_object()) fail(m_path, "__metadata__ is not an object");
        for (const auto& [k, s] : v.items())
          if (!s.is_string()) fail(m_path, "__metadata__['" + k + "'] is not a string");
        continue;
      }
      const std::string what = "tensor '" + name + "'";
      if (!v.is_object()) fail(m_path, what + " is not an object");
      Entry e;
      if (!v.contains("dtype") || !v["dtype"].is_string())
        fail(m_path, what + ": \"dtype\" is missing or not a string");
      e.dtype = v["dtype"].get<std::string>();
      const int width = detail::dtypeWidth(e.dtype);
      if (width == 0) fail(m_path, what + ": unknown dtype '" + e.dtype + "'");
      if (!v.contains("shape") || !v["shape"].is_array())
        fail(m_path, what + ": \"shape\" is missing or not an array");
      if (v["shape"].size() > kMaxRank)
        fail(m_path, what + ": more than " + std::to_string(kMaxRank) + " dimensions");
      uint64_t numel = 1;
      for (const auto& d : v["shape"]) {
        uint64_t dim = 0;
        if (!nonNegativeInt(d, &dim))
          fail(m_path, what + ": shape entries must be non-negative integers");
        e.shape.push_back(static_cast<int64_t>(dim));
        if (detail::mulOverflows(numel, dim, &numel))
          fail(m_path, what + ": shape " + detail::shapeText(e.shape) + " overflows");
      }
      uint64_t bytes = 0;
      if (detail::mulOverflows(numel, static_cast<uint64_t>(width), &bytes) ||
          bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(m_path, what + ": shape " + detail::shapeText(e.shape) + " overflows");
      const auto& off = v.contains("data_offsets") ? v["data_offsets"] : nlohmann::json();
      if (!off.is_array() || off.size() != 2 || !nonNegativeInt(off[0], &e.begin) ||
          !nonNegativeInt(off[1], &e.end))
        fail(m_path, what + ": \"data_offsets\" must be two non-negative integers");
      if (e.begin > e.end)
        fail(m_path, what + ": data_offsets [" + std::to_string(e.begin) + ", " +
                         std::to_string(e.end) + "] end before they begin");
      if (e.end - e.begin != bytes)
        fail(m_path, what + ": data_offsets [" + std::to_string(e.begin) + ", " +
                         std::to_string(e.end) + "] hold " + std::to_string(e.end - e.begin) +
                         " bytes; " + e.dtype + " " + detail::shapeText(e.shape) + " needs " +
                         std::to_string(bytes));
      m_entries.emplace(name, std::move(e));
    }
  }

  // The tensors must tile the data section: no gap, no overlap, nothing after the last one.
  void checkLayout(uint64_t dataSize) {
    std::vector<std::pair<const std::string*, const Entry*>> order;
    for (const auto& [name, e] : m_entries) {
      if (e.end > dataSize)
        fail(m_path, "tensor '" + name + "': data_offsets [" + std::to_string(e.begin) + ", " +
                         std::to_string(e.end) + "] run past the end of the data section (" +
                         std::to_string(dataSize) + " bytes): truncated file or wrong offsets");
      order.emplace_back(&name, &e);
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->begin, a.second->end) < std::tie(b.second->begin, b.second->end);
    });
    uint64_t covered = 0;
    const std::string* last = nullptr;
    for (const auto& [name, e] : order) {
      if (e->begin < covered)
        fail(m_path, "tensors '" + *last + "' and '" + *name + "' overlap at byte " +
                         std::to_string(e->begin) + " of the data");
      if (e->begin > covered)
        fail(m_path, "gap in the data: bytes [" + std::to_string(covered) + ", " +
                         std::to_string(e->begin) + ") belong to no tensor");
      covered = e->end;
      last = name;
    }
    if (covered != dataSize)
      fail(m_path, "wrong file size: " + std::to_string(m_dataStart + dataSize) +
                       " bytes, the header describes " + std::to_string(m_dataStart + covered));
  }

  std::string m_path;
  std::shared_ptr<MappedFile> m_file;
  uint64_t m_dataStart = 0;
  std::map<std::string, Entry> m_entries;
};

std::string dtypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return "F32";
    case torch::kHalf:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    default:
      return "";
  }
}

void writeAll(int fd, const void* p, size_t n, const std::string& tmp) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(tmp, std::string("cannot write: ") + std::strerror(err));
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

namespace detail {
std::unique_ptr<CheckpointReader> openSafetensors(const std::string& path) {
  return std::make_unique<SafetensorsReader>(path);
}
}  // namespace detail

void writeSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const std::string dtype = dtypeName(t.scalar_type());
    if (dtype.empty())
      fail(path, "tensor '" + name + "' has dtype " + std::string(c10::toString(t.scalar_type())) +
                     "; safetensors files are written in F32, F16 or BF16");
    if (name == "__metadata__" || header.contains(name))
      fail(path, "tensor name '" + name + "' is reserved or used twice");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {
        {"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(c));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("cannot write the header: ") + e.what());
  }
  // The format allows trailing spaces in the header; padding to 8 keeps every tensor aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(tmp, std::string("cannot create: ") + std::strerror(errno));
  const uint64_t n = text.size();
  writeAll(fd, &n, 8, tmp);
  writeAll(fd, text.data(), text.size(), tmp);
  for (const auto& c : data)
    writeAll(fd, c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), tmp);
  const bool synced = ::fsync(fd) == 0;
  const int syncErr = errno;
  if (::close(fd) != 0 || !synced) {
    const int err = synced ? errno : syncErr;
    ::unlink(tmp.c_str());
    fail(tmp, std::string("cannot write: ") + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, std::string("cannot rename the written file into place: ") + std::strerror(err));
  }
}

}  // namespace rr::core::hf
