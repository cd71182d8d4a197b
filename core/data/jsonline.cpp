#include "data/jsonline.h"

#include <unicode/utf8.h>

#include <climits>
#include <cstdint>
#include <cstring>

#include "common/jsonparse.h"

namespace rr::core {

using nlohmann::json;

// nlohmann's messages start with "[json.exception.parse_error.101] ", which tells a user nothing.
std::string withoutJsonExceptionId(const std::string& what) {
  const auto end = what.find("] ");
  return what.rfind("[json.", 0) == 0 && end != std::string::npos ? what.substr(end + 2) : what;
}

json parseJsonLine(const std::string& line) {
  if (const void* nul = std::memchr(line.data(), '\0', line.size()))
    throw JsonLineError("contains a NUL byte",
                        "at byte " + std::to_string(static_cast<const char*>(nul) - line.data()));
  JsonFailure f;
  json value = parseJsonLimited(line, kMaxJsonLineDepth, f);
  switch (f.kind) {
    case JsonFailure::Kind::None:
      return value;
    case JsonFailure::Kind::TooDeep:
      throw JsonLineError("nested too deeply",
                          "more than " + std::to_string(kMaxJsonLineDepth) + " levels");
    case JsonFailure::Kind::OutOfRange:
      throw JsonLineError("number out of range", f.path + ": got " + f.detail);
    case JsonFailure::Kind::Invalid:
      break;
  }
  throw JsonLineError("not valid JSON", f.detail);
}

size_t invalidUtf8At(std::string_view text) {
  // ICU's U8_NEXT decodes one code point and yields a negative value for any ill-formed sequence
  // (stray continuation bytes, overlong forms, surrogates, values past U+10FFFF).
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const std::int64_t length = static_cast<std::int64_t>(text.size());
  std::int64_t i = 0;
  while (i < length) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const std::int64_t start = i;
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    if (c < 0) return static_cast<size_t>(start);
  }
  return std::string_view::npos;
}

void requireUtf8(std::string_view text, const std::string& what) {
  const size_t at = invalidUtf8At(text);
  if (at != std::string_view::npos)
    throw InputError(what + " is not valid UTF-8 (byte " + std::to_string(at) + ")");
}

std::string quoteJson(const json& value, size_t maxChars) {
  return shortPrefix(value.dump(-1, ' ', false, json::error_handler_t::replace), maxChars);
}

bool asLong(const json& value, long& out) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(LONG_MAX)) return false;
    out = static_cast<long>(u);
    return true;
  }
  if (!value.is_number_integer()) return false;
  out = value.get<std::int64_t>();
  return true;
}

}  // namespace rr::core
