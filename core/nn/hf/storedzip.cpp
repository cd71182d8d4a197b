#include "nn/hf/storedzip_p.h"

#include <zlib.h>

#include <cstdio>

#include "common/errors.h"

namespace rr::core::hf::detail {

namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint16_t kZip64Extra = 0x0001;
constexpr size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30;
// A state dict of 100 000 tensors has as many records; far more is not a checkpoint.
constexpr uint64_t kMaxRecords = uint64_t{1} << 22;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return u16(p) | static_cast<uint32_t>(u16(p + 2)) << 16; }
uint64_t u64(const uint8_t* p) { return u32(p) | static_cast<uint64_t>(u32(p + 4)) << 32; }

bool fits(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace

void StoredZip::bad(const std::string& what) const {
  fail(m_path, "not a readable torch.save archive: " + what);
}

StoredZip::StoredZip(const std::string& path)
    : m_path(path), m_file(std::make_unique<MappedFile>(path)) {
  const uint8_t* f = m_file->data();
  const uint64_t size = m_file->size();
  if (size < kEndSize) bad("shorter than a zip directory");
  // The end record is the last 22 bytes unless a comment (at most 65535 bytes) follows it.
  uint64_t end = size - kEndSize;
  const uint64_t lowest = end > 0xffff ? end - 0xffff : 0;
  while (u32(f + end) != kEndOfDirectory || end + kEndSize + u16(f + end + 20) != size) {
    if (end == lowest) bad("no end of central directory (truncated?)");
    --end;
  }
  if (u16(f + end + 4) != 0 || u16(f + end + 6) != 0) bad("a zip split over several disks");
  uint64_t count = u16(f + end + 10), dirSize = u32(f + end + 12), dirAt = u32(f + end + 16);
  uint64_t dirLimit = end;
  if (count == 0xffff || dirSize == 0xffffffff || dirAt == 0xffffffff) {
    // Zip64: a locator right before the end record points at the zip64 end record.
    if (end < 20 || u32(f + end - 20) != kZip64EndLocator) bad("no zip64 end of directory locator");
    const uint64_t at = u64(f + end - 12);
    if (!fits(at, 56, end - 20) || u32(f + at) != kZip64End) bad("no zip64 end of directory");
    count = u64(f + at + 32);
    dirSize = u64(f + at + 40);
    dirAt = u64(f + at + 48);
    dirLimit = at;
  }
  if (!fits(dirAt, dirSize, dirLimit)) bad("the central directory lies outside the file");
  if (count > kMaxRecords || count > dirSize / kCentralSize)
    bad("the central directory claims " + std::to_string(count) + " records");

  uint64_t pos = dirAt;
  const uint64_t dirEnd = dirAt + dirSize;
  for (uint64_t i = 0; i < count; ++i) {
    if (!fits(pos, kCentralSize, dirEnd) || u32(f + pos) != kCentralHeader)
      bad("central directory entry " + std::to_string(i) + " is damaged");
    const uint8_t* h = f + pos;
    const uint16_t flags = u16(h + 8), method = u16(h + 10);
    const uint64_t nameLen = u16(h + 28), extraLen = u16(h + 30), commentLen = u16(h + 32);
    if (!fits(pos + kCentralSize, nameLen + extraLen + commentLen, dirEnd))
      bad("central directory entry " + std::to_string(i) + " is damaged");
    const std::string name(reinterpret_cast<const char*>(h + kCentralSize), nameLen);
    Record r;
    r.crc = u32(h + 16);
    uint64_t stored = u32(h + 20), size32 = u32(h + 24), local = u32(h + 42);
    // Zip64 sizes and offset replace those of the entry that are all ones, in this order.
    const uint8_t* extra = h + kCentralSize + nameLen;
    for (uint64_t e = 0; e + 4 <= extraLen;) {
      const uint16_t id = u16(extra + e), len = u16(extra + e + 2);
      if (e + 4 + len > extraLen) bad("record '" + name + "' has a damaged extra field");
      if (id == kZip64Extra) {
        uint64_t k = e + 4;
        for (uint64_t* v : {&size32, &stored, &local}) {
          if (*v != 0xffffffff) continue;
          if (k + 8 > e + 4 + len) bad("record '" + name + "' has a damaged zip64 field");
          *v = u64(extra + k);
          k += 8;
        }
      }
      e += 4 + len;
    }
    if (flags & 1) bad("record '" + name + "' is encrypted");
    if (method != 0)
      bad("record '" + name + "' is compressed (method " + std::to_string(method) +
          "); torch.save stores its records uncompressed");
    if (stored != size32)
      bad("record '" + name + "' states " + std::to_string(size32) + " bytes but stores " +
          std::to_string(stored));
    // Its data follows its local header, whose own name and extra lengths count.
    if (!fits(local, kLocalSize, dirAt) || u32(f + local) != kLocalHeader)
      bad("record '" + name + "' has no local header at byte " + std::to_string(local));
    r.offset = local + kLocalSize + u16(f + local + 26) + u16(f + local + 28);
    r.size = stored;
    if (!fits(r.offset, r.size, dirAt))
      bad("record '" + name + "' (" + std::to_string(r.size) + " bytes at byte " +
          std::to_string(r.offset) + ") runs past the data of the " + std::to_string(size) +
          "-byte file");
    // torch.save puts every record in one top folder, named after the file or "archive".
    const size_t slash = name.find('/');
    if (slash == std::string::npos || slash == 0) bad("record '" + name + "' is in no folder");
    if (m_top.empty()) m_top = name.substr(0, slash + 1);
    if (name.compare(0, m_top.size(), m_top) != 0)
      bad("record '" + name + "' is outside the archive's folder " + m_top);
    if (!m_records.emplace(name.substr(m_top.size()), r).second)
      bad("record '" + name + "' is there twice");
    pos += kCentralSize + nameLen + extraLen + commentLen;
  }
}

const StoredZip::Record& StoredZip::record(const std::string& name) const {
  auto it = m_records.find(name);
  if (it == m_records.end()) fail(m_path, "the archive has no record " + name);
  return it->second;
}

bool StoredZip::has(const std::string& name) const { return m_records.count(name) > 0; }

uint64_t StoredZip::size(const std::string& name) const {
  auto it = m_records.find(name);
  return it == m_records.end() ? 0 : it->second.size;
}

const uint8_t* StoredZip::bytes(const std::string& name) const {
  const Record& r = record(name);
  const uint8_t* p = m_file->data() + r.offset;
  std::lock_guard<std::mutex> lock(m_mutex);
  if (!r.checked) {
    const uint32_t crc = static_cast<uint32_t>(crc32_z(0, p, static_cast<z_size_t>(r.size)));
    if (crc != r.crc)
      fail(m_path, "record " + m_top + name + " fails its CRC-32 check (the directory says " +
                       hex32(r.crc) + ", the bytes give " + hex32(crc) + "): the file is damaged");
    r.checked = true;
  }
  return p;
}

}  // namespace rr::core::hf::detail
