#pragma once
// Apache Parquet input (docs/DATA.md "Parquet"): the rows of a Parquet file as JSON objects, so
// that every import format maps them exactly as it maps JSON lines.
//
// Read: columns of strings (BYTE_ARRAY, UTF8/STRING/ENUM/JSON or unannotated), integers (INT32,
// INT64, signed or unsigned), floats (FLOAT, DOUBLE) and booleans, required or optional; structs
// of those; lists of those or of structs of those (chat messages: LIST<STRUCT<role, content>>).
// Data pages v1 and v2; PLAIN, RLE and dictionary encodings; uncompressed, Snappy, gzip and
// Zstandard pages. Anything else is an InputError naming the file and the column.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace rr::core::parquet {

// True when the file starts with Parquet's magic bytes ("PAR1", or "PARE" for an encrypted file),
// so that a Parquet file is never read as text.
bool hasParquetMagic(const std::string& path);

// Calls `onRow` with every row of `path` in file order, as an object keyed by top-level column
// name (a null value is JSON null), and the row's number counted from 1. The schema is checked
// before the first row; a row group is decoded column by column and its rows delivered before
// the next one is read. Throws InputError "PATH: ..." (one line, naming the row group and column
// where one is at fault) for a file that is not readable, malformed or uses what is not supported.
void readRows(const std::string& path,
              const std::function<void(nlohmann::json& row, long number)>& onRow);

}  // namespace rr::core::parquet
