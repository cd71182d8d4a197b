#pragma once
// The zip container of a torch.save archive (internal to core/nn/hf/), read from a mapped file.
// Format facts from PKWARE's APPNOTE.TXT (end of central directory, its zip64 forms, central and
// local headers, the zip64 extra field). Written here rather than read through LibTorch's
// PyTorchStreamReader: that reader (miniz built without its CRC checks) loads records whose
// CRC-32 does not match, and allocates a record's stated size before anything checks it against
// the file; no zip library is among the project's dependencies.
//
// torch.save stores every record uncompressed, so a record is a byte range of the file: each
// range is checked to lie inside the file when the directory is read, and each record's CRC-32
// (zlib) against the directory's when the record is first read.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "nn/hf/checkpoint_p.h"

namespace rr::core::hf::detail {

class StoredZip {
 public:
  // Throws InputError "PATH: not a readable torch.save archive: ..." for a malformed directory,
  // a compressed or encrypted record, or a record that lies outside the file.
  explicit StoredZip(const std::string& path);

  // Records are named below the archive's top folder ("data.pkl", "data/0"), as torch.save
  // names them.
  bool has(const std::string& name) const;
  uint64_t size(const std::string& name) const;  // 0 for a record it does not have
  // The record's bytes inside the mapping; InputError when its CRC-32 does not match.
  const uint8_t* bytes(const std::string& name) const;

 private:
  struct Record {
    uint64_t offset = 0, size = 0;  // of the data, in the file
    uint32_t crc = 0;
    mutable bool checked = false;  // its CRC-32 matched (under m_mutex)
  };
  const Record& record(const std::string& name) const;
  [[noreturn]] void bad(const std::string& what) const;

  std::string m_path;
  std::unique_ptr<MappedFile> m_file;
  std::string m_top;  // "archive/": the folder every record is in
  std::map<std::string, Record> m_records;
  mutable std::mutex m_mutex;
};

}  // namespace rr::core::hf::detail
