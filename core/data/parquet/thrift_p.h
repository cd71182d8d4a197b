#pragma once
// A bounded reader of the Thrift compact protocol, the encoding of Parquet's file metadata and
// page headers (apache/parquet-format, parquet.thrift; Thrift's compact protocol spec).
// Written here rather than taken from a library: Debian packages no Parquet C++ reader without
// Arrow, and Thrift's own C++ library would be a large dependency for the few structs we read.
// Every length and count is checked against the bytes that remain, and nesting is limited, so a
// hostile footer is an error and never an allocation of its claimed size or a deep recursion.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace rr::core::parquet {

// Malformed metadata; the message has no file name (the caller adds it).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace thrift {

// Compact protocol type ids.
enum Type : uint8_t {
  kStop = 0,
  kTrue = 1,
  kFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

class CompactReader {
 public:
  CompactReader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}

  // Reads a struct: `field(id, type)` is called for each field and either reads its value with
  // the typed readers below and returns true, or returns false to have it skipped.
  void readStruct(const std::function<bool(int id, uint8_t type)>& field);
  // An i8, i16, i32 or i64 field, as `type` says; anything else is a FormatError.
  int64_t readInt(uint8_t type);
  // An i32 field that must lie in [lo, hi].
  int32_t readInt32(uint8_t type, int64_t lo, int64_t hi, const char* what);
  bool readBool(uint8_t type);
  std::string readBinary(uint8_t type);
  // A list header: the element count (at most the bytes that remain) and the element type.
  size_t readListHeader(uint8_t type, uint8_t& elementType);
  void skip(uint8_t type);

  size_t position() const { return m_pos; }

 private:
  uint8_t byte();
  uint64_t varint();
  int64_t zigzag();
  void skipElement(uint8_t type);
  void enter();

  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
  int m_depth = 0;
};

}  // namespace thrift
}  // namespace rr::core::parquet
