// Python's string semantics as chat templates see them: str() and repr() of values, float
// repr, json.dumps (transformers' tojson), and the str methods the sandbox allows, on code
// points of UTF-8 text.
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/locid.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "data/chattemplate_py.h"

namespace rr::core::chat {

std::u32string toU32(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
    for (int k = 1; ok && k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb >> 6) != 2) ok = false;
      c = (c << 6) | (cb & 0x3f);
    }
    if (!ok) {
      // A malformed byte stands for itself (U+DC80.. as Python's surrogateescape would).
      out += static_cast<char32_t>(0xdc00 + b);
      ++i;
      continue;
    }
    out += c;
    i += n;
  }
  return out;
}

void appendUtf8(std::string& out, char32_t c) {
  if (c >= 0xdc80 && c <= 0xdcff) {
    out += static_cast<char>(c - 0xdc00);
  } else if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

std::string fromU32(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) appendUtf8(out, c);
  return out;
}

std::size_t codePoints(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

std::string pyFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const std::size_t e = s.find('e');
  const int exp = std::atoi(s.c_str() + e + 1);
  std::string digits;
  for (std::size_t k = 0; k < e; ++k) {
    if (s[k] != '.') digits += s[k];
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exp >= -4 && exp < 16) {
    std::string out;
    if (exp >= 0) {
      std::string ip = digits.substr(0, std::min<std::size_t>(digits.size(), exp + 1));
      while (ip.size() < static_cast<std::size_t>(exp) + 1) ip += '0';
      std::string fp = digits.size() > static_cast<std::size_t>(exp) + 1 ? digits.substr(exp + 1) : "0";
      out = ip + "." + fp;
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
    return sign + out;
  }
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char ex[16];
  std::snprintf(ex, sizeof ex, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return sign + out + ex;
}

namespace {

bool pyPrintable(char32_t c) {
  if (c == ' ') return true;
  if (c >= 0xdc80 && c <= 0xdcff) return false;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string pyReprStr(const std::string& s) {
  const std::u32string u = toU32(s);
  const bool hasSingle = u.find(U'\'') != std::u32string::npos;
  const bool hasDouble = u.find(U'"') != std::u32string::npos;
  const char32_t quote = hasSingle && !hasDouble ? U'"' : U'\'';
  std::string out(1, static_cast<char>(quote));
  char buf[16];
  for (char32_t c : u) {
    if (c == quote || c == U'\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c < 0x80 || pyPrintable(c)) {
      appendUtf8(out, c);
    } else if (c <= 0xff) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c <= 0xffff) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out += static_cast<char>(quote);
  return out;
}

std::string jsonQuote(const std::string& s) {
  std::string out = "\"";
  char buf[8];
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string pyUpper(const std::string& s) {
  std::string out;
  icu::UnicodeString::fromUTF8(s).toUpper(icu::Locale::getRoot()).toUTF8String(out);
  return out;
}

std::string pyLower(const std::string& s) {
  std::string out;
  icu::UnicodeString::fromUTF8(s).toLower(icu::Locale::getRoot()).toUTF8String(out);
  return out;
}

namespace {

std::string upperChar(char32_t c) {
  std::string one;
  appendUtf8(one, c);
  return pyUpper(one);
}
std::string lowerChar(char32_t c) {
  std::string one;
  appendUtf8(one, c);
  return pyLower(one);
}
std::string titleChar(char32_t c) {
  std::string out;
  appendUtf8(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(c))));
  return out;
}
bool isCased(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED); }

}  // namespace

std::string pyTitle(const std::string& s) {
  std::string out;
  bool prevCased = false;
  for (char32_t c : toU32(s)) {
    out += prevCased ? lowerChar(c) : titleChar(c);
    prevCased = isCased(c);
  }
  return out;
}

std::string pyCapitalize(const std::string& s) {
  const std::u32string u = toU32(s);
  if (u.empty()) return "";
  return titleChar(u[0]) + pyLower(fromU32(u.substr(1)));
}

std::string jinjaTitle(const std::string& s) {
  // jinja2's `title` filter: words start after runs of [-\s({\[<]; each word's first character
  // upper-cased, the rest lower-cased.
  const std::u32string u = toU32(s);
  std::string out;
  std::u32string word;
  auto flush = [&]() {
    if (word.empty()) return;
    out += upperChar(word[0]) + pyLower(fromU32(word.substr(1)));
    word.clear();
  };
  for (char32_t c : u) {
    const bool delim = c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<' || isPySpace(c);
    if (delim) {
      flush();
      appendUtf8(out, c);
    } else {
      word += c;
    }
  }
  flush();
  return out;
}

bool pyIsLower(const std::string& s, bool upper) {
  bool cased = false;
  for (char32_t c : toU32(s)) {
    const auto uc = static_cast<UChar32>(c);
    const bool isUp = u_hasBinaryProperty(uc, UCHAR_UPPERCASE);
    const bool isLo = u_hasBinaryProperty(uc, UCHAR_LOWERCASE);
    const bool isTitle = u_charType(uc) == U_TITLECASE_LETTER;
    if ((upper ? isLo : isUp) || isTitle) return false;
    if (upper ? isUp : isLo) cased = true;
  }
  return cased;
}

bool pyIsDigit(const std::string& s) {
  const std::u32string u = toU32(s);
  if (u.empty()) return false;
  for (char32_t c : u) {
    const int t = u_getIntPropertyValue(static_cast<UChar32>(c), UCHAR_NUMERIC_TYPE);
    if (t != U_NT_DECIMAL && t != U_NT_DIGIT) return false;
  }
  return true;
}

bool pyIsAlpha(const std::string& s) {
  const std::u32string u = toU32(s);
  if (u.empty()) return false;
  for (char32_t c : u) {
    if (!u_isalpha(static_cast<UChar32>(c))) return false;
  }
  return true;
}

std::string pyStrip(const std::string& s, const std::string* chars, bool left, bool right) {
  const std::u32string u = toU32(s);
  const std::u32string set = chars ? toU32(*chars) : std::u32string();
  auto strip = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : isPySpace(c); };
  std::size_t b = 0, e = u.size();
  if (left) {
    while (b < e && strip(u[b])) ++b;
  }
  if (right) {
    while (e > b && strip(u[e - 1])) --e;
  }
  return fromU32(u.substr(b, e - b));
}

std::vector<std::string> pySplit(const std::string& s, const std::string* sep, std::int64_t maxsplit,
                                 bool fromRight) {
  std::vector<std::string> parts;
  if (sep) {
    if (fromRight) {
      std::size_t end = s.size();
      while (maxsplit != 0) {
        if (end < sep->size()) break;
        const std::size_t p = s.rfind(*sep, end - sep->size());
        if (p == std::string::npos) break;
        parts.push_back(s.substr(p + sep->size(), end - p - sep->size()));
        end = p;
        if (maxsplit > 0) --maxsplit;
      }
      parts.push_back(s.substr(0, end));
      return {parts.rbegin(), parts.rend()};
    }
    std::size_t start = 0;
    while (maxsplit != 0) {
      const std::size_t p = s.find(*sep, start);
      if (p == std::string::npos) break;
      parts.push_back(s.substr(start, p - start));
      start = p + sep->size();
      if (maxsplit > 0) --maxsplit;
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  std::u32string u = toU32(s);
  if (fromRight) {
    std::vector<std::u32string> rev;
    std::size_t e = u.size();
    while (true) {
      while (e > 0 && isPySpace(u[e - 1])) --e;
      if (e == 0) break;
      if (maxsplit == 0) {
        rev.push_back(u.substr(0, e));
        break;
      }
      std::size_t b = e;
      while (b > 0 && !isPySpace(u[b - 1])) --b;
      rev.push_back(u.substr(b, e - b));
      e = b;
      if (maxsplit > 0) --maxsplit;
    }
    for (auto it = rev.rbegin(); it != rev.rend(); ++it) parts.push_back(fromU32(*it));
    return parts;
  }
  std::size_t b = 0;
  while (true) {
    while (b < u.size() && isPySpace(u[b])) ++b;
    if (b >= u.size()) break;
    if (maxsplit == 0) {
      parts.push_back(fromU32(u.substr(b)));
      break;
    }
    std::size_t e = b;
    while (e < u.size() && !isPySpace(u[e])) ++e;
    parts.push_back(fromU32(u.substr(b, e - b)));
    b = e;
    if (maxsplit > 0) --maxsplit;
  }
  return parts;
}

std::vector<std::string> pySplitLines(const std::string& s) {
  std::vector<std::string> lines;
  const std::u32string u = toU32(s);
  std::size_t start = 0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const char32_t c = u[i];
    const bool brk = c == U'\n' || c == U'\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
                     c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    lines.push_back(fromU32(u.substr(start, i - start)));
    if (c == U'\r' && i + 1 < u.size() && u[i + 1] == U'\n') ++i;
    start = i + 1;
  }
  if (start < u.size()) lines.push_back(fromU32(u.substr(start)));
  return lines;
}

std::string pyReplace(const std::string& s, const std::string& from, const std::string& to,
                      std::int64_t count) {
  std::string out;
  if (from.empty()) {
    const std::u32string u = toU32(s);
    for (std::size_t i = 0; i <= u.size(); ++i) {
      if (count != 0) {
        out += to;
        if (count > 0) --count;
      }
      if (i < u.size()) appendUtf8(out, u[i]);
    }
    return out;
  }
  std::size_t start = 0;
  while (count != 0) {
    const std::size_t p = s.find(from, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += to;
    start = p + from.size();
    if (count > 0) --count;
  }
  out.append(s, start, std::string::npos);
  return out;
}

}  // namespace rr::core::chat
