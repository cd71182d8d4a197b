#pragma once
// SHA-256 checksums of saved files and random run identities, both from OpenSSL's libcrypto.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rr::core {

// Incremental SHA-256; hex() ends it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t n);
  std::string hex();  // lower-case, 64 digits

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

std::string sha256Hex(std::string_view bytes);
// Throws InputError naming the file when it cannot be read.
std::string sha256OfFile(const std::string& path);

// A random (version 4) UUID in its 36-character text form.
std::string newUuid();

}  // namespace rr::core
