#pragma once
// Python's str semantics on UTF-8 text for the chat-template interpreter (chattemplate_py.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "data/chattemplate_p.h"

namespace rr::core::chat {

std::u32string toU32(const std::string& s);
std::string fromU32(const std::u32string& s);
void appendUtf8(std::string& out, char32_t c);
// len() of a str: code points.
std::size_t codePoints(const std::string& s);

// repr(float) (also str(float) and json.dumps of a finite float).
std::string pyFloat(double d);
// repr(str): the quote Python picks, its escapes, printable characters kept.
std::string pyReprStr(const std::string& s);
// json.dumps(str, ensure_ascii=False).
std::string jsonQuote(const std::string& s);

std::string pyUpper(const std::string& s);
std::string pyLower(const std::string& s);
std::string pyTitle(const std::string& s);       // str.title()
std::string pyCapitalize(const std::string& s);  // str.capitalize()
std::string jinjaTitle(const std::string& s);    // jinja2's `title` filter
bool pyIsLower(const std::string& s, bool upper);  // str.islower(), or str.isupper()
bool pyIsDigit(const std::string& s);
bool pyIsAlpha(const std::string& s);

// str.strip/lstrip/rstrip(chars) (chars null: Python whitespace).
std::string pyStrip(const std::string& s, const std::string* chars, bool left, bool right);
// str.split(sep, maxsplit) and str.rsplit (sep null: runs of whitespace; maxsplit < 0: all).
std::vector<std::string> pySplit(const std::string& s, const std::string* sep, std::int64_t maxsplit,
                                 bool fromRight);
std::vector<std::string> pySplitLines(const std::string& s);
// str.replace(old, new, count) (count < 0: all).
std::string pyReplace(const std::string& s, const std::string& from, const std::string& to,
                      std::int64_t count);

}  // namespace rr::core::chat
