#pragma once
// Stable 64-bit content hashes for pair ids, cache keys and split assignment.
// FNV-1a is written here rather than taken from a library: the ids must be identical across
// platforms, builds and library versions forever (they are stored in run databases and JSONL
// files), and no Debian library we already depend on exposes a stable non-cryptographic hash.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace rr::core {

class StableHash {
 public:
  StableHash& add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      m_state ^= c;
      m_state *= 0x100000001b3ULL;
    }
    // A field separator that cannot be produced by adding other fields: ("ab","c") != ("a","bc").
    m_state ^= 0xffU;
    m_state *= 0x100000001b3ULL;
    return *this;
  }
  StableHash& add(std::uint64_t v) { return add(std::to_string(v)); }
  std::uint64_t value() const { return m_state; }
  std::string hex() const;

 private:
  std::uint64_t m_state = 0xcbf29ce484222325ULL;
};

inline std::string StableHash::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t v = m_state;
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = digits[v & 0xf];
    v >>= 4;
  }
  return out;
}

inline std::string hashHex(std::initializer_list<std::string_view> parts) {
  StableHash h;
  for (auto p : parts) h.add(p);
  return h.hex();
}

}  // namespace rr::core
