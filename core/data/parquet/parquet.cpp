// Parquet reading: footer and schema (Thrift compact), column chunks page by page, and the
// assembly of rows from repetition and definition levels. Facts from apache/parquet-format:
// parquet.thrift, Encodings.md (PLAIN, RLE/bit-packed hybrid, dictionary), LogicalTypes.md (the
// LIST layouts and their backward-compatibility rules) and Compression.md.
#include "data/parquet/parquet.h"

#include <snappy-c.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "common/errors.h"
#include "common/fileio.h"
#include "data/parquet/thrift_p.h"

namespace rr::core::parquet {
namespace {

using nlohmann::json;
using thrift::CompactReader;

// Sane limits, far above the published datasets (row groups of 1k-100k rows, pages of ~1 MB),
// checked before anything is allocated.
constexpr uint64_t kMaxFooterBytes = 16u << 20;
constexpr int64_t kMaxPageBytes = 256 << 20;
// Row groups and column chunks in a footer: each is parsed into a struct of its own.
constexpr size_t kMaxRowGroups = 1 << 20;
constexpr size_t kMaxChunks = 1 << 22;
// Text one row group may expand to (a dictionary lets a few bytes stand for many copies of a
// long string).
constexpr uint64_t kMaxRowGroupTextBytes = 1ull << 30;
constexpr int64_t kMaxValuesPerChunk = 1 << 24;
// Value slots of all the columns of one row group together (about 20 bytes of memory each).
constexpr uint64_t kMaxValuesPerRowGroup = 1 << 25;
constexpr size_t kMaxSchemaElements = 100000;
constexpr int kMaxSchemaDepth = 16;

enum PhysicalType { kBoolean = 0, kInt32, kInt64, kInt96, kFloat, kDouble, kByteArray, kFixed };
enum Repetition { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum Converted {
  kUtf8 = 0,
  kMap = 1,
  kMapKeyValue = 2,
  kList = 3,
  kEnum = 4,
  kUint8 = 11,
  kUint16 = 12,
  kUint32 = 13,
  kUint64 = 14,
  kInt8 = 15,
  kInt16 = 16,
  kInt32Converted = 17,
  kInt64Converted = 18,
  kJson = 19,
};
// LogicalType union members.
enum Logical {
  kNoLogical = 0,
  kString = 1,
  kMapLogical = 2,
  kListLogical = 3,
  kEnumLogical = 4,
  kInteger = 10,
  kUnknown = 11,
  kJsonLogical = 12,
};
enum Encoding { kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4, kRleDictionary = 8 };
enum Codec { kUncompressed = 0, kSnappy = 1, kGzip = 2, kZstd = 6 };
enum PageType { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };

const char* physicalName(int t) {
  static const char* names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? names[t] : "an unknown physical type";
}

std::string encodingName(int e) {
  static const char* names[] = {
      "PLAIN",          "GROUP_VAR_INT",       "PLAIN_DICTIONARY",        "RLE",
      "BIT_PACKED",     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
      "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "encoding " + std::to_string(e);
}

std::string codecName(int c) {
  static const char* names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
  return c >= 0 && c < 8 ? names[c] : "codec " + std::to_string(c);
}

// A problem that belongs to one column: its message names the column.
class ColumnError : public FormatError {
 public:
  ColumnError(const std::string& column, const std::string& what)
      : FormatError("column '" + column + "': " + what) {}
};

// ---- The schema ---------------------------------------------------------------------------

struct SchemaElement {
  std::string name;
  int type = -1;  // physical type; -1 for a group
  int repetition = kRequired;
  int numChildren = 0;
  int converted = -1;
  int logical = kNoLogical;
  bool intSigned = true;
  int intBits = 0;
};

struct Node {
  SchemaElement e;
  std::string path;  // dotted from the top-level column
  std::vector<Node> children;
  bool isLeaf() const { return e.type >= 0; }
  bool isList() const { return e.converted == kList || e.logical == kListLogical; }
  bool isMap() const {
    return e.converted == kMap || e.converted == kMapKeyValue || e.logical == kMapLogical;
  }
};

// How a leaf's physical values become JSON.
enum class Conv { Bool, Int, UInt32, UInt64, Float, String };

struct Leaf {
  std::string path;
  int type = 0;
  Conv conv = Conv::Int;
  int maxDef = 0;
  int maxRep = 0;
};

// A top-level column and the leaves that make it.
struct Field {
  enum Kind { Value, Struct, List } kind = Value;
  std::string name;
  bool structElements = false;  // List: elements are objects of `keys`
  int dNull = 0;                // definition level from which the field is not null
  int dRep = 0;                 // List: level from which a row's list has an element
  int dElem = 0;                // List: level from which an element is not null
  std::vector<size_t> leaves;   // indices into the leaf list, in schema order
  std::vector<std::string> keys;
};

void readSchemaElement(CompactReader& r, SchemaElement& e) {
  bool named = false;
  r.readStruct([&](int id, uint8_t t) {
    switch (id) {
      case 1:
        e.type = r.readInt32(t, 0, 7, "physical type");
        return true;
      case 3:
        e.repetition = r.readInt32(t, 0, 3, "repetition type");
        return true;
      case 4:
        e.name = r.readBinary(t);
        named = true;
        return true;
      case 5:
        e.numChildren = r.readInt32(t, 0, kMaxSchemaElements, "number of children");
        return true;
      case 6:
        e.converted = r.readInt32(t, 0, 1000, "converted type");
        return true;
      case 10:
        r.readStruct([&](int member, uint8_t mt) {
          e.logical = member;
          if (member != kInteger || mt != thrift::kStruct) return false;
          r.readStruct([&](int f, uint8_t ft) {
            if (f == 1)
              e.intBits = static_cast<int>(r.readInt(ft));
            else if (f == 2)
              e.intSigned = r.readBool(ft);
            else
              return false;
            return true;
          });
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  if (!named) throw FormatError("malformed metadata (a schema element has no name)");
}

Node buildNode(const std::vector<SchemaElement>& elements, size_t& next, const std::string& parent,
               int depth) {
  if (next >= elements.size())
    throw FormatError("malformed metadata (the schema has fewer elements than its groups claim)");
  Node n;
  n.e = elements[next++];
  n.path = parent.empty() ? n.e.name : parent + "." + n.e.name;
  if (n.isLeaf()) return n;
  if (depth >= kMaxSchemaDepth)
    throw ColumnError(n.path, "nested more than " + std::to_string(kMaxSchemaDepth) +
                                  " levels deep; not supported");
  for (int i = 0; i < n.e.numChildren; ++i)
    n.children.push_back(buildNode(elements, next, depth == 0 ? "" : n.path, depth + 1));
  return n;
}

std::string logicalName(int l) {
  static const char* names[] = {"",        "STRING",  "MAP",      "LIST",      "ENUM",
                                "DECIMAL", "DATE",    "TIME",     "TIMESTAMP", "",
                                "INTEGER", "UNKNOWN", "JSON",     "BSON",      "UUID",
                                "FLOAT16", "VARIANT", "GEOMETRY", "GEOGRAPHY"};
  return l >= 0 && l < 19 && *names[l] ? names[l] : "logical type " + std::to_string(l);
}

std::string convertedName(int c) {
  static const char* names[] = {"UTF8",
                                "MAP",
                                "MAP_KEY_VALUE",
                                "LIST",
                                "ENUM",
                                "DECIMAL",
                                "DATE",
                                "TIME_MILLIS",
                                "TIME_MICROS",
                                "TIMESTAMP_MILLIS",
                                "TIMESTAMP_MICROS",
                                "UINT_8",
                                "UINT_16",
                                "UINT_32",
                                "UINT_64",
                                "INT_8",
                                "INT_16",
                                "INT_32",
                                "INT_64",
                                "JSON",
                                "BSON",
                                "INTERVAL"};
  return c >= 0 && c < 22 ? names[c] : "converted type " + std::to_string(c);
}

Conv leafConversion(const Node& n) {
  const SchemaElement& e = n.e;
  auto unsupported = [&]() -> ColumnError {
    const std::string annotation = e.logical != kNoLogical ? logicalName(e.logical)
                                   : e.converted >= 0      ? convertedName(e.converted)
                                                           : "";
    return ColumnError(n.path, std::string(physicalName(e.type)) +
                                   (annotation.empty() ? "" : " " + annotation) +
                                   " is not supported (supported: strings, integers, floats, "
                                   "booleans, and lists or structs of them)");
  };
  const bool plain = e.converted < 0 && (e.logical == kNoLogical || e.logical == kUnknown);
  const bool logicalInt = e.logical == kInteger;
  const bool noLogical = e.logical == kNoLogical || e.logical == kUnknown;
  switch (e.type) {
    case kBoolean:
      if (!plain) throw unsupported();
      return Conv::Bool;
    case kInt32:
      if (logicalInt && e.intBits <= 32) return e.intSigned ? Conv::Int : Conv::UInt32;
      if (!noLogical) throw unsupported();
      if (e.converted < 0 || e.converted == kInt8 || e.converted == kInt16 ||
          e.converted == kInt32Converted || e.converted == kUint8 || e.converted == kUint16)
        return Conv::Int;
      if (e.converted == kUint32) return Conv::UInt32;
      throw unsupported();
    case kInt64:
      if (logicalInt) return e.intSigned ? Conv::Int : Conv::UInt64;
      if (!noLogical) throw unsupported();
      if (e.converted < 0 || e.converted == kInt64Converted) return Conv::Int;
      if (e.converted == kUint64) return Conv::UInt64;
      throw unsupported();
    case kFloat:
    case kDouble:
      if (!plain) throw unsupported();
      return Conv::Float;
    case kByteArray:
      // Unannotated byte arrays are read as strings, as older writers store text that way;
      // a row whose text is not UTF-8 is then refused like a JSON line.
      if (e.logical == kString || e.logical == kEnumLogical || e.logical == kJsonLogical ||
          e.logical == kUnknown ||
          (e.logical == kNoLogical && (e.converted < 0 || e.converted == kUtf8 ||
                                       e.converted == kEnum || e.converted == kJson)))
        return Conv::String;
      throw unsupported();
    default:
      throw unsupported();
  }
}

class Schema {
 public:
  std::vector<Leaf> leaves;
  std::vector<Field> fields;

  void build(const Node& root) {
    std::set<std::string> names;
    for (const Node& c : root.children) {
      if (!names.insert(c.e.name).second)
        throw ColumnError(c.path, "two top-level columns have this name");
      fields.push_back(classify(c));
    }
    if (fields.empty()) throw FormatError("the schema has no columns");
  }

 private:
  size_t addLeaf(const Node& n, int maxDef, int maxRep) {
    if (n.e.repetition == kRepeated)
      throw ColumnError(n.path, "a repeated value outside a LIST is not supported");
    Leaf l;
    l.path = n.path;
    l.type = n.e.type;
    l.conv = leafConversion(n);
    l.maxDef = maxDef + (n.e.repetition == kOptional ? 1 : 0);
    l.maxRep = maxRep;
    leaves.push_back(l);
    return leaves.size() - 1;
  }

  // Members of a struct: leaves only.
  void addMembers(const Node& group, Field& f, int def, int rep) {
    if (group.children.empty()) throw ColumnError(group.path, "a struct without members");
    for (const Node& m : group.children) {
      if (!m.isLeaf())
        throw ColumnError(m.path,
                          "nesting deeper than a list of structs of values is not supported");
      f.leaves.push_back(addLeaf(m, def, rep));
      f.keys.push_back(m.e.name);
    }
  }

  Field classify(const Node& n) {
    Field f;
    f.name = n.e.name;
    if (n.e.repetition == kRepeated)
      throw ColumnError(n.path, "a repeated column outside a LIST is not supported");
    f.dNull = n.e.repetition == kOptional ? 1 : 0;
    if (n.isLeaf()) {
      f.kind = Field::Value;
      f.leaves.push_back(addLeaf(n, 0, 0));
      return f;
    }
    if (n.isMap()) throw ColumnError(n.path, "MAP columns are not supported");
    if (!n.isList()) {
      f.kind = Field::Struct;
      addMembers(n, f, f.dNull, 0);
      return f;
    }
    f.kind = Field::List;
    if (n.children.size() != 1 || n.children[0].e.repetition != kRepeated)
      throw ColumnError(n.path, "a LIST must have one repeated child");
    const Node& repeated = n.children[0];
    f.dRep = f.dNull + 1;
    if (repeated.isLeaf()) {
      // Two-level list: the repeated field is the element.
      f.dElem = f.dRep;
      Leaf l;
      l.path = repeated.path;
      l.type = repeated.e.type;
      l.conv = leafConversion(repeated);
      l.maxDef = f.dRep;
      l.maxRep = 1;
      leaves.push_back(l);
      f.leaves.push_back(leaves.size() - 1);
      return f;
    }
    // LogicalTypes.md's backward-compatibility rules: a repeated group with one child is the
    // standard three-level layout unless it is named "array" or "<list>_tuple", in which case it
    // (like a repeated group with several children) is the element itself.
    const bool threeLevel = repeated.children.size() == 1 && repeated.e.name != "array" &&
                            repeated.e.name != n.e.name + "_tuple";
    if (!threeLevel) {
      f.dElem = f.dRep;
      f.structElements = true;
      addMembers(repeated, f, f.dRep, 1);
      return f;
    }
    const Node& element = repeated.children[0];
    if (element.e.repetition == kRepeated)
      throw ColumnError(element.path, "a list of lists is not supported");
    f.dElem = f.dRep + (element.e.repetition == kOptional ? 1 : 0);
    if (element.isLeaf()) {
      f.leaves.push_back(addLeaf(element, f.dRep, 1));
      return f;
    }
    if (element.isList() || element.isMap())
      throw ColumnError(element.path, "a list of lists or of maps is not supported");
    f.structElements = true;
    addMembers(element, f, f.dElem, 1);
    return f;
  }
};

// ---- The file ----------------------------------------------------------------------------

class File {
 public:
  // A regular file only (common/fileio.h): a FIFO named x.parquet blocked the reader forever.
  explicit File(const std::string& path) : m_file(path) {}

  uint64_t size() const { return m_file.size(); }

  std::vector<uint8_t> read(uint64_t offset, uint64_t length) const {
    if (offset > size() || length > size() - offset)
      throw FormatError("a byte range lies outside the file (offset " + std::to_string(offset) +
                        ", " + std::to_string(length) + " bytes)");
    std::vector<uint8_t> out(static_cast<size_t>(length));
    for (size_t got = 0; got < out.size();) {
      const ssize_t n = ::pread(m_file.fd(), out.data() + got, out.size() - got,
                                static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw InputError(m_file.path() + ": cannot read (" +
                         (n == 0 ? std::string("the file shrank") : std::strerror(errno)) + ")");
      got += static_cast<size_t>(n);
    }
    return out;
  }

 private:
  RegularFile m_file;
};

struct ChunkMeta {
  int type = -1;
  int codec = 0;
  int64_t numValues = -1;
  int64_t compressedSize = -1;
  int64_t dataPageOffset = -1;
  int64_t dictionaryPageOffset = -1;
  std::vector<std::string> path;
  bool external = false;
  bool encrypted = false;
  bool hasMeta = false;
};

struct RowGroupMeta {
  int64_t numRows = -1;
  std::vector<ChunkMeta> chunks;
};

void readColumnMeta(CompactReader& r, ChunkMeta& c) {
  c.hasMeta = true;
  r.readStruct([&](int id, uint8_t t) {
    switch (id) {
      case 1:
        c.type = r.readInt32(t, 0, 7, "physical type");
        return true;
      case 3: {
        uint8_t et = 0;
        const size_t n = r.readListHeader(t, et);
        for (size_t i = 0; i < n; ++i) c.path.push_back(r.readBinary(et));
        return true;
      }
      case 4:
        c.codec = r.readInt32(t, 0, 1000, "codec");
        return true;
      case 5:
        c.numValues = r.readInt(t);
        return true;
      case 7:
        c.compressedSize = r.readInt(t);
        return true;
      case 9:
        c.dataPageOffset = r.readInt(t);
        return true;
      case 11:
        c.dictionaryPageOffset = r.readInt(t);
        return true;
      default:
        return false;
    }
  });
}

struct FileMeta {
  std::vector<SchemaElement> schema;
  std::vector<RowGroupMeta> rowGroups;
};

FileMeta readFileMeta(const std::vector<uint8_t>& footer) {
  FileMeta m;
  CompactReader r(footer.data(), footer.size());
  r.readStruct([&](int id, uint8_t t) {
    if (id == 2) {
      uint8_t et = 0;
      const size_t n = r.readListHeader(t, et);
      if (et != thrift::kStruct || n > kMaxSchemaElements)
        throw FormatError("malformed metadata (schema)");
      m.schema.resize(n);
      for (auto& e : m.schema) readSchemaElement(r, e);
      return true;
    }
    if (id == 4) {
      uint8_t et = 0;
      const size_t n = r.readListHeader(t, et);
      if (et != thrift::kStruct) throw FormatError("malformed metadata (row groups)");
      if (n > kMaxRowGroups) throw FormatError("malformed metadata (too many row groups)");
      size_t chunks = 0;
      for (size_t i = 0; i < n; ++i) {
        RowGroupMeta& g = m.rowGroups.emplace_back();
        r.readStruct([&](int gid, uint8_t gt) {
          if (gid == 3) {
            g.numRows = r.readInt(gt);
            return true;
          }
          if (gid != 1) return false;
          uint8_t ct = 0;
          const size_t nc = r.readListHeader(gt, ct);
          if (ct != thrift::kStruct) throw FormatError("malformed metadata (column chunks)");
          if ((chunks += nc) > kMaxChunks)
            throw FormatError("malformed metadata (too many column chunks)");
          for (size_t k = 0; k < nc; ++k) {
            ChunkMeta& c = g.chunks.emplace_back();
            r.readStruct([&](int cid, uint8_t cct) {
              if (cid == 1) {
                // Some writers set an empty file_path for data in this file.
                c.external = !r.readBinary(cct).empty();
                return true;
              }
              if (cid == 3) {
                readColumnMeta(r, c);
                return true;
              }
              if (cid == 8 || cid == 9) c.encrypted = true;
              return false;
            });
          }
          return true;
        });
      }
      return true;
    }
    return false;
  });
  if (m.schema.empty()) throw FormatError("malformed metadata (no schema)");
  return m;
}

// ---- Pages -------------------------------------------------------------------------------

struct DataPageHeader {
  int32_t numValues = -1;
  int32_t encoding = -1;
  int32_t defEncoding = kRle;
  int32_t repEncoding = kRle;
  int32_t defLength = 0;   // v2
  int32_t repLength = 0;   // v2
  bool compressed = true;  // v2
};

struct PageHeader {
  int type = -1;
  int32_t uncompressedSize = -1;
  int32_t compressedSize = -1;
  bool hasData = false, hasDictionary = false;
  DataPageHeader data;
  int32_t dictionaryValues = -1;
  int32_t dictionaryEncoding = -1;
};

PageHeader readPageHeader(CompactReader& r) {
  PageHeader h;
  auto count = [&](uint8_t t, const char* what) {
    return r.readInt32(t, 0, kMaxValuesPerChunk, what);
  };
  r.readStruct([&](int id, uint8_t t) {
    switch (id) {
      case 1:
        h.type = r.readInt32(t, 0, 3, "page type");
        return true;
      case 2:
        h.uncompressedSize = r.readInt32(t, 0, kMaxPageBytes, "page size");
        return true;
      case 3:
        h.compressedSize = r.readInt32(t, 0, kMaxPageBytes, "compressed page size");
        return true;
      case 5:
      case 8:
        h.hasData = true;
        r.readStruct([&](int f, uint8_t ft) {
          const bool v2 = id == 8;
          switch (f) {
            case 1:
              h.data.numValues = count(ft, "number of values");
              return true;
            case 2:
              if (v2) return false;  // num_nulls: the definition levels say it
              h.data.encoding = r.readInt32(ft, 0, 1000, "encoding");
              return true;
            case 3:
              if (v2) return false;  // num_rows
              h.data.defEncoding = r.readInt32(ft, 0, 1000, "encoding");
              return true;
            case 4:
              if (v2)
                h.data.encoding = r.readInt32(ft, 0, 1000, "encoding");
              else
                h.data.repEncoding = r.readInt32(ft, 0, 1000, "encoding");
              return true;
            case 5:
              if (!v2) return false;
              h.data.defLength = r.readInt32(ft, 0, kMaxPageBytes, "level length");
              return true;
            case 6:
              if (!v2) return false;
              h.data.repLength = r.readInt32(ft, 0, kMaxPageBytes, "level length");
              return true;
            case 7:
              if (!v2) return false;
              h.data.compressed = r.readBool(ft);
              return true;
            default:
              return false;
          }
        });
        return true;
      case 7:
        h.hasDictionary = true;
        r.readStruct([&](int f, uint8_t ft) {
          if (f == 1)
            h.dictionaryValues = count(ft, "number of dictionary values");
          else if (f == 2)
            h.dictionaryEncoding = r.readInt32(ft, 0, 1000, "encoding");
          else
            return false;
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  if (h.type < 0 || h.uncompressedSize < 0 || h.compressedSize < 0)
    throw FormatError("malformed page header (a required field is missing)");
  return h;
}

// The RLE/bit-packed hybrid (Encodings.md): appends exactly `count` values of `bitWidth` bits
// (levels into bytes: their bit width is at most 6, so nothing is cut).
template <class T>
void decodeHybrid(const uint8_t* p, size_t n, int bitWidth, size_t count, std::vector<T>& out) {
  if (bitWidth < 0 || bitWidth > 32) throw FormatError("bit width out of range");
  const size_t valueBytes = (static_cast<size_t>(bitWidth) + 7) / 8;
  size_t pos = 0;
  size_t need = count;
  out.reserve(out.size() + count);
  while (need > 0) {
    if (pos >= n) throw FormatError("encoded values end early");
    uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      if (pos >= n || shift > 63) throw FormatError("encoded values end early");
      const uint8_t b = p[pos++];
      header |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (header & 1) {
      const uint64_t groups = header >> 1;
      const uint64_t groupsNeeded = (need + 7) / 8;
      const uint64_t available = bitWidth == 0 ? groups : (n - pos) / bitWidth;
      if (groups > available && groupsNeeded > available)
        throw FormatError("encoded values end early");
      const uint64_t take = std::min<uint64_t>(groups, groupsNeeded);
      for (uint64_t v = 0; v < take * 8 && need > 0; ++v, --need) {
        const uint64_t bit = v * static_cast<uint64_t>(bitWidth);
        uint64_t word = 0;
        const size_t first = pos + static_cast<size_t>(bit / 8);
        for (size_t b = 0; b < 5 && first + b < n; ++b)
          word |= static_cast<uint64_t>(p[first + b]) << (8 * b);
        const uint64_t mask = bitWidth == 32 ? 0xffffffffull : ((1ull << bitWidth) - 1);
        out.push_back(static_cast<T>((word >> (bit % 8)) & mask));
      }
      // The groups occupy their bytes whether or not all their values are needed.
      pos = groups > available ? n : pos + static_cast<size_t>(groups * bitWidth);
    } else {
      const uint64_t run = header >> 1;
      // Writers end a run where the page's values end: a longer one is a damaged or crafted
      // page (2^31 copies of a value for three rows).
      if (run > need)
        throw FormatError("an RLE run of " + std::to_string(run) + " values, more than the " +
                          std::to_string(need) + " left in its page");
      if (n - pos < valueBytes) throw FormatError("encoded values end early");
      uint32_t value = 0;
      for (size_t b = 0; b < valueBytes; ++b) value |= static_cast<uint32_t>(p[pos + b]) << (8 * b);
      pos += valueBytes;
      out.insert(out.end(), static_cast<size_t>(run), static_cast<T>(value));
      need -= static_cast<size_t>(run);
    }
  }
}

int bitWidthOf(int maxLevel) {
  int w = 0;
  while ((1 << w) <= maxLevel) ++w;
  return w;
}

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint64_t le64(const uint8_t* p) {
  return static_cast<uint64_t>(le32(p)) | static_cast<uint64_t>(le32(p + 4)) << 32;
}

// The decoded triples of one column chunk: levels for every value slot, values for the slots
// whose definition level is the maximum. A level whose maximum is 0 is not stored (a flat
// column's repetition levels, a required column's definition levels): 2^24 null rows cost their
// definition levels, a byte each, and nothing more.
struct ColumnData {
  size_t slots = 0;
  std::vector<uint8_t> rep, def;
  std::vector<json> values;
  uint8_t repAt(size_t s) const { return rep.empty() ? 0 : rep[s]; }
  uint8_t defAt(size_t s) const { return def.empty() ? 0 : def[s]; }
};

class ChunkDecoder {
 public:
  ChunkDecoder(const Leaf& leaf, const ChunkMeta& meta, uint64_t& textBudget)
      : m_leaf(leaf), m_meta(meta), m_textBudget(textBudget) {}

  ColumnData decode(const std::vector<uint8_t>& chunk) {
    ColumnData d;
    size_t pos = 0;
    bool sawData = false;
    while (static_cast<int64_t>(d.slots) < m_meta.numValues) {
      if (pos >= chunk.size())
        throw FormatError("the column chunk ends after " + std::to_string(d.slots) + " of " +
                          std::to_string(m_meta.numValues) + " values");
      CompactReader r(chunk.data() + pos, chunk.size() - pos);
      const PageHeader h = readPageHeader(r);
      pos += r.position();
      if (static_cast<size_t>(h.compressedSize) > chunk.size() - pos)
        throw FormatError("a page runs past the end of its column chunk");
      const uint8_t* body = chunk.data() + pos;
      pos += static_cast<size_t>(h.compressedSize);
      if (h.type == kIndexPage) continue;
      if (h.type == kDictionaryPage) {
        if (sawData || m_dictionary)
          throw FormatError("a dictionary page that is not the first page of its chunk");
        if (!h.hasDictionary) throw FormatError("malformed page header (no dictionary header)");
        readDictionary(h, body);
        continue;
      }
      if (!h.hasData || h.data.numValues < 0)
        throw FormatError("malformed page header (no data page header)");
      sawData = true;
      if (static_cast<int64_t>(d.slots) + h.data.numValues > m_meta.numValues)
        throw FormatError("the pages hold more values than the column chunk says");
      if (h.type == kDataPage)
        readPageV1(h, body, d);
      else
        readPageV2(h, body, d);
    }
    return d;
  }

 private:
  // Each codec's stated or largest possible output is checked against the page header before the
  // output is allocated.
  std::vector<uint8_t> decompress(const uint8_t* src, size_t srcLen, size_t dstLen) const {
    std::vector<uint8_t> out;
    // An empty page (a v2 page of nulls only) may have no compressed bytes at all.
    if (srcLen == 0 && dstLen == 0) return out;
    switch (m_meta.codec) {
      case kUncompressed:
        if (srcLen != dstLen) throw FormatError("an uncompressed page's sizes differ");
        return std::vector<uint8_t>(src, src + srcLen);
      case kSnappy: {
        size_t len = 0;
        if (snappy_uncompressed_length(reinterpret_cast<const char*>(src), srcLen, &len) !=
                SNAPPY_OK ||
            len != dstLen)
          throw FormatError("a Snappy page does not decompress to its stated size");
        out.resize(dstLen);
        if (snappy_uncompress(reinterpret_cast<const char*>(src), srcLen,
                              reinterpret_cast<char*>(out.data()), &len) != SNAPPY_OK ||
            len != dstLen)
          throw FormatError("a Snappy page is corrupt");
        return out;
      }
      case kGzip: {
        // Deflate expands at most about 1032:1.
        if (dstLen / 1032 > srcLen + 64)
          throw FormatError("a gzip page does not decompress to its stated size");
        // One spare byte: zlib refuses a null output pointer (an empty page), and a stream
        // longer than stated then shows as output left over.
        out.resize(dstLen + 1);
        z_stream zs{};
        if (inflateInit2(&zs, 15 + 32) != Z_OK) throw FormatError("cannot start zlib");
        zs.next_in = const_cast<Bytef*>(src);
        zs.avail_in = static_cast<uInt>(srcLen);
        zs.next_out = out.data();
        zs.avail_out = static_cast<uInt>(dstLen + 1);
        int rc = inflate(&zs, Z_FINISH);
        // Some writers concatenate gzip members; each ends the stream, and the next follows.
        while (rc == Z_STREAM_END && zs.avail_in > 0 && inflateReset(&zs) == Z_OK)
          rc = inflate(&zs, Z_FINISH);
        const size_t produced = static_cast<size_t>(zs.next_out - out.data());
        inflateEnd(&zs);
        if (rc != Z_STREAM_END || produced != dstLen)
          throw FormatError("a gzip page does not decompress to its stated size");
        out.pop_back();
        return out;
      }
      case kZstd: {
        const unsigned long long stated = ZSTD_getFrameContentSize(src, srcLen);
        if (stated == ZSTD_CONTENTSIZE_ERROR ||
            (stated != ZSTD_CONTENTSIZE_UNKNOWN && stated != dstLen))
          throw FormatError("a Zstandard page does not decompress to its stated size");
        out.resize(dstLen);
        const size_t rc = ZSTD_decompress(out.data(), dstLen, src, srcLen);
        if (ZSTD_isError(rc) || rc != dstLen)
          throw FormatError("a Zstandard page does not decompress to its stated size");
        return out;
      }
      default:
        throw ColumnError(m_leaf.path, "compression " + codecName(m_meta.codec) +
                                           " is not supported (supported: uncompressed, "
                                           "SNAPPY, GZIP, ZSTD)");
    }
  }

  // PLAIN values of the leaf's type, `count` of them, from [p, p + n).
  size_t readPlain(const uint8_t* p, size_t n, size_t count, std::vector<json>& out) const {
    auto fixed = [&](size_t width) {
      if (count > n / width) throw FormatError("the page holds fewer values than it says");
    };
    size_t pos = 0;
    out.reserve(out.size() + count);
    switch (m_leaf.type) {
      case kBoolean:
        if ((count + 7) / 8 > n) throw FormatError("the page holds fewer values than it says");
        for (size_t i = 0; i < count; ++i) out.emplace_back(((p[i / 8] >> (i % 8)) & 1) != 0);
        return (count + 7) / 8;
      case kInt32:
        fixed(4);
        for (size_t i = 0; i < count; ++i) {
          const uint32_t v = le32(p + 4 * i);
          if (m_leaf.conv == Conv::UInt32)
            out.emplace_back(static_cast<uint64_t>(v));
          else
            out.emplace_back(static_cast<int64_t>(static_cast<int32_t>(v)));
        }
        return 4 * count;
      case kInt64:
        fixed(8);
        for (size_t i = 0; i < count; ++i) {
          const uint64_t v = le64(p + 8 * i);
          if (m_leaf.conv == Conv::UInt64)
            out.emplace_back(v);
          else
            out.emplace_back(static_cast<int64_t>(v));
        }
        return 8 * count;
      case kFloat:
        fixed(4);
        for (size_t i = 0; i < count; ++i) {
          const uint32_t bits = le32(p + 4 * i);
          float f = 0;
          std::memcpy(&f, &bits, 4);
          out.emplace_back(static_cast<double>(f));
        }
        return 4 * count;
      case kDouble:
        fixed(8);
        for (size_t i = 0; i < count; ++i) {
          const uint64_t bits = le64(p + 8 * i);
          double f = 0;
          std::memcpy(&f, &bits, 8);
          out.emplace_back(f);
        }
        return 8 * count;
      case kByteArray:
        for (size_t i = 0; i < count; ++i) {
          if (n - pos < 4) throw FormatError("the page holds fewer values than it says");
          const uint32_t len = le32(p + pos);
          pos += 4;
          if (len > n - pos) throw FormatError("a string runs past the end of its page");
          spendText(len);
          out.emplace_back(std::string(reinterpret_cast<const char*>(p + pos), len));
          pos += len;
        }
        return pos;
      default:
        throw ColumnError(m_leaf.path, std::string(physicalName(m_leaf.type)) + " not supported");
    }
  }

  void readDictionary(const PageHeader& h, const uint8_t* body) {
    if (h.dictionaryEncoding != kPlain && h.dictionaryEncoding != kPlainDictionary)
      throw ColumnError(m_leaf.path, "a dictionary page encoded " +
                                         encodingName(h.dictionaryEncoding) + " is not supported");
    const std::vector<uint8_t> page = decompress(body, static_cast<size_t>(h.compressedSize),
                                                 static_cast<size_t>(h.uncompressedSize));
    m_dictionary.emplace();
    readPlain(page.data(), page.size(), static_cast<size_t>(h.dictionaryValues), *m_dictionary);
  }

  void readLevels(const uint8_t* p, size_t n, int maxLevel, size_t count,
                  std::vector<uint8_t>& out) const {
    const size_t start = out.size();
    decodeHybrid(p, n, bitWidthOf(maxLevel), count, out);
    for (size_t i = start; i < out.size(); ++i)
      if (out[i] > maxLevel) throw FormatError("a repetition or definition level is out of range");
  }

  // Levels with a 4-byte length prefix (data page v1); returns the bytes used.
  size_t readPrefixedLevels(const uint8_t* p, size_t n, int encoding, int maxLevel, size_t count,
                            std::vector<uint8_t>& out) const {
    if (encoding != kRle)
      throw ColumnError(m_leaf.path, "level encoding " + encodingName(encoding) +
                                         " is not supported (supported: RLE)");
    if (n < 4) throw FormatError("a data page ends early");
    const uint32_t len = le32(p);
    if (len > n - 4) throw FormatError("the levels run past the end of their page");
    readLevels(p + 4, len, maxLevel, count, out);
    return 4 + len;
  }

  void readValues(int encoding, const uint8_t* p, size_t n, size_t count, ColumnData& d) const {
    switch (encoding) {
      case kPlain:
        readPlain(p, n, count, d.values);
        return;
      case kPlainDictionary:
      case kRleDictionary: {
        if (!m_dictionary) throw FormatError("dictionary-encoded values without a dictionary");
        if (count == 0) return;
        if (n < 1) throw FormatError("a data page ends early");
        std::vector<uint32_t> indices;
        decodeHybrid(p + 1, n - 1, p[0], count, indices);
        d.values.reserve(d.values.size() + count);
        for (uint32_t i : indices) {
          if (i >= m_dictionary->size()) throw FormatError("a dictionary index is out of range");
          const json& entry = (*m_dictionary)[i];
          if (entry.is_string()) spendText(entry.get_ref<const std::string&>().size());
          d.values.push_back((*m_dictionary)[i]);
        }
        return;
      }
      case kRle: {
        if (m_leaf.type != kBoolean)
          throw ColumnError(m_leaf.path, "RLE-encoded " + std::string(physicalName(m_leaf.type)) +
                                             " values are not supported");
        if (n < 4) throw FormatError("a data page ends early");
        const uint32_t len = le32(p);
        if (len > n - 4) throw FormatError("the values run past the end of their page");
        std::vector<uint32_t> bits;
        decodeHybrid(p + 4, len, 1, count, bits);
        d.values.reserve(d.values.size() + count);
        for (uint32_t b : bits) d.values.emplace_back(b != 0);
        return;
      }
      default:
        throw ColumnError(m_leaf.path, "encoding " + encodingName(encoding) +
                                           " is not supported (supported: PLAIN, RLE, "
                                           "PLAIN_DICTIONARY, RLE_DICTIONARY)");
    }
  }

  // Counts `count` more slots; returns the number whose definition level is the maximum.
  size_t countSlots(size_t count, ColumnData& d, size_t defStart) const {
    d.slots += count;
    if (m_leaf.maxDef == 0) return count;
    size_t present = 0;
    for (size_t i = defStart; i < d.def.size(); ++i) present += d.def[i] == m_leaf.maxDef;
    return present;
  }

  void readPageV1(const PageHeader& h, const uint8_t* body, ColumnData& d) const {
    const std::vector<uint8_t> page = decompress(body, static_cast<size_t>(h.compressedSize),
                                                 static_cast<size_t>(h.uncompressedSize));
    const size_t count = static_cast<size_t>(h.data.numValues);
    const size_t defStart = d.def.size();
    size_t pos = 0;
    if (m_leaf.maxRep > 0)
      pos += readPrefixedLevels(page.data(), page.size(), h.data.repEncoding, m_leaf.maxRep, count,
                                d.rep);
    if (m_leaf.maxDef > 0)
      pos += readPrefixedLevels(page.data() + pos, page.size() - pos, h.data.defEncoding,
                                m_leaf.maxDef, count, d.def);
    const size_t present = countSlots(count, d, defStart);
    readValues(h.data.encoding, page.data() + pos, page.size() - pos, present, d);
  }

  void readPageV2(const PageHeader& h, const uint8_t* body, ColumnData& d) const {
    const size_t count = static_cast<size_t>(h.data.numValues);
    const size_t repLen = static_cast<size_t>(h.data.repLength);
    const size_t defLen = static_cast<size_t>(h.data.defLength);
    const size_t size = static_cast<size_t>(h.compressedSize);
    const size_t rawSize = static_cast<size_t>(h.uncompressedSize);
    if (repLen + defLen > size || repLen + defLen > rawSize)
      throw FormatError("the levels of a data page v2 are longer than the page");
    const size_t defStart = d.def.size();
    if (m_leaf.maxRep > 0) readLevels(body, repLen, m_leaf.maxRep, count, d.rep);
    if (m_leaf.maxDef > 0) readLevels(body + repLen, defLen, m_leaf.maxDef, count, d.def);
    const size_t present = countSlots(count, d, defStart);
    const uint8_t* values = body + repLen + defLen;
    const size_t valuesLen = size - repLen - defLen;
    if (h.data.compressed && m_meta.codec != kUncompressed) {
      const std::vector<uint8_t> page = decompress(values, valuesLen, rawSize - repLen - defLen);
      readValues(h.data.encoding, page.data(), page.size(), present, d);
    } else {
      readValues(h.data.encoding, values, valuesLen, present, d);
    }
  }

  void spendText(size_t bytes) const {
    if (bytes > m_textBudget)
      throw ColumnError(m_leaf.path, "a row group holds more than " +
                                         std::to_string(kMaxRowGroupTextBytes >> 20) +
                                         " MiB of text; not supported");
    m_textBudget -= bytes;
  }

  const Leaf& m_leaf;
  const ChunkMeta& m_meta;
  uint64_t& m_textBudget;
  std::optional<std::vector<json>> m_dictionary;
};

// ---- Rows ---------------------------------------------------------------------------------

// Walks one leaf's triples row by row.
struct Cursor {
  const Leaf* leaf;
  ColumnData* data;
  size_t slot = 0;
  size_t value = 0;

  uint8_t def(size_t s) const { return data->defAt(s); }
  json take(size_t s) {
    if (def(s) == leaf->maxDef) {
      if (value >= data->values.size()) throw FormatError("fewer values than levels say");
      return std::move(data->values[value++]);
    }
    return nullptr;
  }
  // The slots of the next row: [slot, end).
  size_t rowEnd() const {
    if (slot >= data->slots || data->repAt(slot) != 0)
      throw FormatError("column '" + leaf->path + "' has fewer rows than its row group");
    size_t end = slot + 1;
    while (end < data->slots && data->repAt(end) != 0) ++end;
    return end;
  }
};

// One top-level field's values, a row at a time from its leaves' cursors: a row group's rows are
// built one by one as they are delivered, never all at once.
class FieldReader {
 public:
  FieldReader(const Field& f, std::vector<Cursor> cursors)
      : m_f(f), m_cursors(std::move(cursors)), m_ends(m_cursors.size()) {}

  json next() {
    Cursor& first = m_cursors[0];
    const size_t end = first.rowEnd();
    const uint8_t def0 = first.def(first.slot);
    m_ends[0] = end;
    for (size_t j = 1; j < m_cursors.size(); ++j) {
      m_ends[j] = m_cursors[j].rowEnd();
      if (m_ends[j] - m_cursors[j].slot != end - first.slot) throw mismatch(m_cursors[j]);
    }
    json out = value(first, end, def0);
    for (size_t j = 0; j < m_cursors.size(); ++j) m_cursors[j].slot = m_ends[j];
    return out;
  }

  // After the last row: every level and value was used.
  void finish() const {
    for (const Cursor& c : m_cursors)
      if (c.slot != c.data->slots || c.value != c.data->values.size())
        throw ColumnError(c.leaf->path, "holds more values than its row group has rows");
  }

 private:
  ColumnError mismatch(const Cursor& c) const {
    return ColumnError(c.leaf->path, "its levels disagree with column '" + m_cursors[0].leaf->path +
                                         "' of the same field");
  }

  json value(Cursor& first, size_t end, uint8_t def0) {
    if (m_f.kind != Field::List) {
      if (end != first.slot + 1)
        throw FormatError("a repeated level in a column that is not a list");
      if (def0 < m_f.dNull) {
        for (size_t j = 1; j < m_cursors.size(); ++j)
          if (m_cursors[j].def(m_cursors[j].slot) >= m_f.dNull) throw mismatch(m_cursors[j]);
        return nullptr;
      }
      if (m_f.kind == Field::Value) return first.take(first.slot);
      json obj = json::object();
      for (size_t j = 0; j < m_cursors.size(); ++j) {
        if (m_cursors[j].def(m_cursors[j].slot) < m_f.dNull) throw mismatch(m_cursors[j]);
        obj[m_f.keys[j]] = m_cursors[j].take(m_cursors[j].slot);
      }
      return obj;
    }
    if (def0 < m_f.dRep) {
      if (end != first.slot + 1) throw FormatError("a null or empty list with elements");
      return def0 < m_f.dNull ? json(nullptr) : json::array();
    }
    json list = json::array();
    for (size_t k = 0; first.slot + k < end; ++k) {
      const uint8_t d = first.def(first.slot + k);
      if (d < m_f.dRep) throw FormatError("a list element whose levels say there is none");
      for (size_t j = 1; j < m_cursors.size(); ++j) {
        const uint8_t dj = m_cursors[j].def(m_cursors[j].slot + k);
        if ((dj < m_f.dElem) != (d < m_f.dElem) || dj < m_f.dRep) throw mismatch(m_cursors[j]);
      }
      if (d < m_f.dElem) {
        list.push_back(nullptr);
      } else if (!m_f.structElements) {
        list.push_back(first.take(first.slot + k));
      } else {
        json obj = json::object();
        for (size_t j = 0; j < m_cursors.size(); ++j)
          obj[m_f.keys[j]] = m_cursors[j].take(m_cursors[j].slot + k);
        list.push_back(std::move(obj));
      }
    }
    return list;
  }

  const Field& m_f;
  std::vector<Cursor> m_cursors;
  std::vector<size_t> m_ends;
};

bool sameStrings(const std::vector<std::string>& path, const std::string& dotted) {
  std::string joined;
  for (const auto& p : path) joined += (joined.empty() ? "" : ".") + p;
  return joined == dotted;
}

}  // namespace

bool hasParquetMagic(const std::string& path) {
  // Anything but a readable regular file is not Parquet; the text reader then says what it is.
  try {
    const RegularFile f(path);
    char magic[4] = {};
    return ::pread(f.fd(), magic, 4, 0) == 4 &&
           (std::memcmp(magic, "PAR1", 4) == 0 || std::memcmp(magic, "PARE", 4) == 0);
  } catch (const InputError&) {
    return false;
  }
}

void readRows(const std::string& path,
              const std::function<void(nlohmann::json& row, long number)>& onRow) {
  File file(path);
  std::string where;  // "row group N, " while a row group is read
  try {
    const uint64_t size = file.size();
    if (size < 12)
      throw FormatError("not a Parquet file (shorter than its magic bytes and footer)");
    const std::vector<uint8_t> head = file.read(0, 4);
    if (std::memcmp(head.data(), "PARE", 4) == 0)
      throw FormatError("encrypted Parquet files are not supported");
    const std::vector<uint8_t> tail = file.read(size - 8, 8);
    if (std::memcmp(head.data(), "PAR1", 4) != 0 || std::memcmp(tail.data() + 4, "PAR1", 4) != 0)
      throw FormatError("not a complete Parquet file (no \"PAR1\" at its start and end)");
    const uint64_t footerLen = le32(tail.data());
    if (footerLen > size - 12 || footerLen > kMaxFooterBytes)
      throw FormatError("malformed metadata (footer length " + std::to_string(footerLen) +
                        " does not fit the file)");
    const uint64_t footerStart = size - 8 - footerLen;
    const FileMeta meta = readFileMeta(file.read(footerStart, footerLen));

    size_t next = 0;
    Node root = buildNode(meta.schema, next, "", 0);
    if (root.isLeaf() || next != meta.schema.size())
      throw FormatError("malformed metadata (the schema's groups do not add up)");
    Schema schema;
    schema.build(root);

    long rowNumber = 0;
    for (size_t g = 0; g < meta.rowGroups.size(); ++g) {
      const RowGroupMeta& group = meta.rowGroups[g];
      where = "row group " + std::to_string(g + 1) + ", ";
      if (group.numRows < 0 || group.numRows > kMaxValuesPerChunk)
        throw FormatError("malformed metadata (row count " + std::to_string(group.numRows) + ")");
      if (group.chunks.size() != schema.leaves.size())
        throw FormatError("malformed metadata (" + std::to_string(group.chunks.size()) +
                          " column chunks for " + std::to_string(schema.leaves.size()) +
                          " columns)");
      // The levels and values of a row group are held while its rows are built: bounded here,
      // before anything is decoded (2^24 rows of eight empty columns stayed in memory at once).
      uint64_t slots = 0;
      for (const ChunkMeta& m : group.chunks)
        slots += static_cast<uint64_t>(std::max<int64_t>(m.numValues, 0));
      if (slots > kMaxValuesPerRowGroup)
        throw FormatError("its columns hold " + std::to_string(slots) + " values, more than the " +
                          std::to_string(kMaxValuesPerRowGroup) +
                          " a row group may have here; write the file with smaller row groups");
      std::vector<ColumnData> columns(schema.leaves.size());
      uint64_t textBudget = kMaxRowGroupTextBytes;
      for (size_t c = 0; c < schema.leaves.size(); ++c) {
        const Leaf& leaf = schema.leaves[c];
        const ChunkMeta& m = group.chunks[c];
        if (m.encrypted) throw ColumnError(leaf.path, "encrypted columns are not supported");
        if (m.external)
          throw ColumnError(leaf.path, "column data in another file is not supported");
        if (!m.hasMeta || m.type != leaf.type || !sameStrings(m.path, leaf.path))
          throw ColumnError(leaf.path, "its column chunk does not match the schema");
        if (m.numValues < 0 || m.numValues > kMaxValuesPerChunk)
          throw ColumnError(leaf.path,
                            "value count " + std::to_string(m.numValues) + " is out of range");
        // An empty chunk's offsets are not always meaningful (an empty row group).
        if (m.numValues == 0) continue;
        // Some writers put 0 for "no dictionary page"; any other offset must lie in the data.
        if (m.dictionaryPageOffset != 0 && m.dictionaryPageOffset != -1 &&
            (m.dictionaryPageOffset < 4 ||
             static_cast<uint64_t>(m.dictionaryPageOffset) >= footerStart))
          throw ColumnError(leaf.path, "its dictionary page offset " +
                                           std::to_string(m.dictionaryPageOffset) +
                                           " lies outside the file's data (bytes 4 to " +
                                           std::to_string(footerStart) + ")");
        const int64_t start =
            m.dictionaryPageOffset > 0 && m.dictionaryPageOffset < m.dataPageOffset
                ? m.dictionaryPageOffset
                : m.dataPageOffset;
        if (start < 4 || m.compressedSize < 0 || static_cast<uint64_t>(start) > footerStart ||
            static_cast<uint64_t>(m.compressedSize) > footerStart - static_cast<uint64_t>(start))
          throw ColumnError(leaf.path, "its column chunk lies outside the file's data");
        const std::vector<uint8_t> bytes =
            file.read(static_cast<uint64_t>(start), static_cast<uint64_t>(m.compressedSize));
        try {
          columns[c] = ChunkDecoder(leaf, m, textBudget).decode(bytes);
        } catch (const ColumnError&) {
          throw;
        } catch (const FormatError& e) {
          throw ColumnError(leaf.path, e.what());
        }
      }
      std::vector<FieldReader> fields;
      fields.reserve(schema.fields.size());
      for (const Field& f : schema.fields) {
        std::vector<Cursor> cursors;
        for (size_t leaf : f.leaves)
          cursors.push_back(Cursor{&schema.leaves[leaf], &columns[leaf]});
        fields.emplace_back(f, std::move(cursors));
      }
      for (int64_t r = 0; r < group.numRows; ++r) {
        json row = json::object();
        for (size_t i = 0; i < schema.fields.size(); ++i)
          row[schema.fields[i].name] = fields[i].next();
        onRow(row, ++rowNumber);
      }
      for (const FieldReader& f : fields) f.finish();
      where.clear();
    }
  } catch (const FormatError& e) {
    throw InputError(path + ": " + where + e.what());
  }
}

}  // namespace rr::core::parquet
