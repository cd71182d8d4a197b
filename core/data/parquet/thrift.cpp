#include "data/parquet/thrift_p.h"

namespace rr::core::parquet::thrift {

namespace {
// parquet.thrift nests structs a few levels deep (FileMetaData > RowGroup > ColumnChunk >
// ColumnMetaData > Statistics); anything far deeper is not a Parquet footer.
constexpr int kMaxDepth = 32;

struct DepthGuard {
  int& depth;
  ~DepthGuard() { --depth; }
};
}  // namespace

uint8_t CompactReader::byte() {
  if (m_pos >= m_size) throw FormatError("metadata ends early");
  return m_data[m_pos++];
}

uint64_t CompactReader::varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = byte();
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return value;
  }
  throw FormatError("malformed metadata (varint longer than 10 bytes)");
}

int64_t CompactReader::zigzag() {
  const uint64_t v = varint();
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void CompactReader::enter() {
  if (++m_depth > kMaxDepth) {
    --m_depth;
    throw FormatError("malformed metadata (nested too deeply)");
  }
}

void CompactReader::readStruct(const std::function<bool(int id, uint8_t type)>& field) {
  enter();
  DepthGuard guard{m_depth};
  int last = 0;
  for (;;) {
    const uint8_t header = byte();
    const uint8_t type = header & 0x0f;
    if (type == kStop) return;
    if (type > kStruct) throw FormatError("malformed metadata (unknown field type)");
    const int delta = header >> 4;
    const int id = delta ? last + delta : static_cast<int>(static_cast<int16_t>(zigzag()));
    last = id;
    if (!field(id, type)) skip(type);
  }
}

int64_t CompactReader::readInt(uint8_t type) {
  switch (type) {
    case kByte:
      return static_cast<int8_t>(byte());
    case kI16:
    case kI32:
    case kI64:
      return zigzag();
    default:
      throw FormatError("malformed metadata (an integer field has another type)");
  }
}

int32_t CompactReader::readInt32(uint8_t type, int64_t lo, int64_t hi, const char* what) {
  const int64_t v = readInt(type);
  if (v < lo || v > hi)
    throw FormatError(std::string("malformed metadata (") + what + " " + std::to_string(v) +
                      " is out of range)");
  return static_cast<int32_t>(v);
}

bool CompactReader::readBool(uint8_t type) {
  if (type != kTrue && type != kFalse)
    throw FormatError("malformed metadata (a boolean field has another type)");
  return type == kTrue;
}

std::string CompactReader::readBinary(uint8_t type) {
  if (type != kBinary) throw FormatError("malformed metadata (a string field has another type)");
  const uint64_t n = varint();
  if (n > m_size - m_pos) throw FormatError("metadata ends early (a string is cut off)");
  std::string out(reinterpret_cast<const char*>(m_data + m_pos), static_cast<size_t>(n));
  m_pos += static_cast<size_t>(n);
  return out;
}

size_t CompactReader::readListHeader(uint8_t type, uint8_t& elementType) {
  if (type != kList && type != kSet)
    throw FormatError("malformed metadata (a list field has another type)");
  const uint8_t header = byte();
  elementType = header & 0x0f;
  uint64_t n = header >> 4;
  if (n == 15) n = varint();
  // Every element takes at least one byte.
  if (n > m_size - m_pos) throw FormatError("metadata ends early (a list is cut off)");
  if (n > 0 && (elementType == kStop || elementType > kStruct))
    throw FormatError("malformed metadata (unknown list element type)");
  return static_cast<size_t>(n);
}

void CompactReader::skipElement(uint8_t type) {
  // Booleans inside lists and maps take one byte each; as struct fields they take none.
  if (type == kTrue || type == kFalse)
    byte();
  else
    skip(type);
}

void CompactReader::skip(uint8_t type) {
  switch (type) {
    case kTrue:
    case kFalse:
      return;
    case kByte:
      byte();
      return;
    case kI16:
    case kI32:
    case kI64:
      varint();
      return;
    case kDouble:
      if (m_size - m_pos < 8) throw FormatError("metadata ends early");
      m_pos += 8;
      return;
    case kBinary: {
      const uint64_t n = varint();
      if (n > m_size - m_pos) throw FormatError("metadata ends early (a string is cut off)");
      m_pos += static_cast<size_t>(n);
      return;
    }
    case kList:
    case kSet: {
      enter();
      DepthGuard guard{m_depth};
      uint8_t element = 0;
      const size_t n = readListHeader(type, element);
      for (size_t i = 0; i < n; ++i) skipElement(element);
      return;
    }
    case kMap: {
      enter();
      DepthGuard guard{m_depth};
      const uint64_t n = varint();
      if (n == 0) return;
      if (n > m_size - m_pos) throw FormatError("metadata ends early (a map is cut off)");
      const uint8_t types = byte();
      const uint8_t key = types >> 4, value = types & 0x0f;
      if (key == kStop || key > kStruct || value == kStop || value > kStruct)
        throw FormatError("malformed metadata (unknown map element type)");
      for (uint64_t i = 0; i < n; ++i) {
        skipElement(key);
        skipElement(value);
      }
      return;
    }
    case kStruct:
      readStruct([](int, uint8_t) { return false; });
      return;
    default:
      throw FormatError("malformed metadata (unknown field type)");
  }
}

}  // namespace rr::core::parquet::thrift
