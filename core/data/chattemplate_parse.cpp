// The chat-template lexer and parser: jinja2's lexer rules (trim_blocks, lstrip_blocks, `-` and
// `+` whitespace control, balanced brackets inside tags) and its grammar's precedence, for the
// subset in chattemplate_p.h. Constructs outside the subset are refused here, before any render.
#include <algorithm>
#include <cstring>
#include <set>

#include "common/errors.h"
#include "data/chattemplate_p.h"

namespace rr::core::chat {

[[noreturn]] void refuseUnsupported(const std::string& label, int line, const std::string& what) {
  throw InputError(label + ":" + std::to_string(line) + ": '" + what +
                   "' is not supported in chat templates");
}

bool isPySpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

namespace {

// The code point starting at s[i] and its length in bytes; a malformed byte stands for itself.
char32_t decodeAt(const std::string& s, std::size_t i, std::size_t& len) {
  const auto b = static_cast<unsigned char>(s[i]);
  int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    len = 1;
    return b;
  }
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  for (int k = 1; k < n; ++k) {
    const auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb >> 6) != 2) {
      len = 1;
      return b;
    }
    c = (c << 6) | (cb & 0x3f);
  }
  len = n;
  return c;
}

// Python's str.rstrip() on UTF-8 text.
std::size_t rstripEnd(const std::string& s, std::size_t begin, std::size_t end) {
  // Walk forward so multi-byte spaces (U+3000) are seen whole; remember where the last run starts.
  std::size_t keep = begin, i = begin;
  while (i < end) {
    std::size_t len;
    const char32_t c = decodeAt(s, i, len);
    i += len;
    if (!isPySpace(c)) keep = i;
  }
  return keep;
}

bool allSpace(const std::string& s, std::size_t begin, std::size_t end) {
  if (begin >= end) return false;
  for (std::size_t i = begin; i < end;) {
    std::size_t len;
    if (!isPySpace(decodeAt(s, i, len))) return false;
    i += len;
  }
  return true;
}

// Past the Python whitespace (jinja2's `\s*`) starting at i.
std::size_t skipSpace(const std::string& s, std::size_t i) {
  while (i < s.size()) {
    std::size_t len;
    if (!isPySpace(decodeAt(s, i, len))) break;
    i += len;
  }
  return i;
}

struct Token {
  enum class Type { Data, VarBegin, BlockBegin, VarEnd, BlockEnd, Name, Str, Int, Float, Op, Eof };
  Type type;
  std::string text;
  std::int64_t i = 0;
  double f = 0;
  int line = 0;
};

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& label) : m_label(label) {
    // jinja2 splits on \r\n, \r and \n, joins with \n and drops one trailing newline.
    m_src.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        m_src += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        m_src += source[i];
      }
    }
    if (!m_src.empty() && m_src.back() == '\n') m_src.pop_back();
  }

  std::vector<Token> run() {
    std::size_t pos = 0;
    bool lineStarting = true;
    while (pos < m_src.size()) {
      std::size_t open = std::string::npos;
      for (std::size_t p = m_src.find('{', pos); p != std::string::npos;
           p = m_src.find('{', p + 1)) {
        if (p + 1 < m_src.size() && (m_src[p + 1] == '{' || m_src[p + 1] == '%' ||
                                     m_src[p + 1] == '#')) {
          open = p;
          break;
        }
      }
      if (open == std::string::npos) {
        push(Token::Type::Data, m_src.substr(pos));
        break;
      }
      const char kind = m_src[open + 1];
      const char sign = open + 2 < m_src.size() ? m_src[open + 2] : '\0';
      std::size_t textEnd = open;
      const int textLines = static_cast<int>(std::count(m_src.begin() + pos, m_src.begin() + open, '\n'));
      if (sign == '-') {
        textEnd = rstripEnd(m_src, pos, open);
      } else if (sign != '+' && kind != '{') {
        const std::size_t nl = m_src.rfind('\n', open == 0 ? 0 : open - 1);
        const std::size_t lpos = (nl == std::string::npos || nl < pos) ? pos : nl + 1;
        if ((lpos > pos || lineStarting) && allSpace(m_src, lpos, open)) textEnd = lpos;
      }
      if (textEnd > pos) push(Token::Type::Data, m_src.substr(pos, textEnd - pos));
      m_line += textLines;
      pos = open + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        pos = comment(pos, lineStarting);
      } else {
        pos = tag(pos, kind == '%', lineStarting);
      }
    }
    push(Token::Type::Eof, "");
    return std::move(m_tokens);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(m_label + ":" + std::to_string(m_line) + ": " + what);
  }

  void push(Token::Type type, std::string text) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.line = m_line;
    m_tokens.push_back(std::move(t));
  }

  std::size_t comment(std::size_t pos, bool& lineStarting) {
    const std::size_t contentStart = pos;
    const std::size_t close = m_src.find("#}", pos);
    if (close == std::string::npos) fail("missing end of comment tag");
    m_line += static_cast<int>(std::count(m_src.begin() + pos, m_src.begin() + close, '\n'));
    std::size_t end = close + 2;
    const char before = close > contentStart ? m_src[close - 1] : '\0';
    if (before == '-') {
      end = skipSpace(m_src, end);
    } else if (before != '+' && end < m_src.size() && m_src[end] == '\n') {
      ++end;
    }
    m_line += static_cast<int>(std::count(m_src.begin() + close, m_src.begin() + end, '\n'));
    lineStarting = m_src[end - 1] == '\n';
    return end;
  }

  // The tokens of one {{ }} or {% %} tag; returns the position after its end.
  std::size_t tag(std::size_t pos, bool block, bool& lineStarting) {
    push(block ? Token::Type::BlockBegin : Token::Type::VarBegin, "");
    std::vector<char> brackets;
    while (true) {
      if (pos >= m_src.size()) fail("unexpected end of template: the tag is not closed");
      if (brackets.empty()) {
        const char* close = block ? "%}" : "}}";
        std::size_t end = std::string::npos;
        if (block && m_src.compare(pos, 3, "+%}") == 0) {
          end = pos + 3;
        } else if (m_src.compare(pos, 1, "-") == 0 && m_src.compare(pos + 1, 2, close) == 0) {
          end = skipSpace(m_src, pos + 3);
        } else if (m_src.compare(pos, 2, close) == 0) {
          end = pos + 2;
          if (block && end < m_src.size() && m_src[end] == '\n') ++end;
        }
        if (end != std::string::npos) {
          push(block ? Token::Type::BlockEnd : Token::Type::VarEnd, "");
          m_line += static_cast<int>(std::count(m_src.begin() + pos, m_src.begin() + end, '\n'));
          lineStarting = m_src[end - 1] == '\n';
          return end;
        }
      }
      std::size_t len;
      const char32_t c = decodeAt(m_src, pos, len);
      if (isPySpace(c)) {
        if (c == '\n') ++m_line;
        pos += len;
        continue;
      }
      if (c == '\'' || c == '"') {
        pos = stringLiteral(pos);
      } else if (c >= '0' && c <= '9') {
        pos = number(pos);
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        std::size_t e = pos;
        while (e < m_src.size() && (std::isalnum(static_cast<unsigned char>(m_src[e])) || m_src[e] == '_')) ++e;
        push(Token::Type::Name, m_src.substr(pos, e - pos));
        pos = e;
      } else {
        static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*",
                                           "%",  "~",  "[",  "]",  "(",  ")",  "{", "}", "=", ">",
                                           "<",  ".",  ":",  "|",  ",",  ";"};
        const char* found = nullptr;
        for (const char* op : kOps) {
          if (m_src.compare(pos, std::strlen(op), op) == 0) {
            found = op;
            break;
          }
        }
        if (!found) {
          fail("unexpected character '" + m_src.substr(pos, len) + "'");
        }
        const char o = found[0];
        if (!found[1] && (o == '(' || o == '[' || o == '{')) {
          brackets.push_back(o == '(' ? ')' : o == '[' ? ']' : '}');
          if (brackets.size() > static_cast<std::size_t>(kMaxExprDepth)) fail("brackets nested too deep");
        } else if (!found[1] && (o == ')' || o == ']' || o == '}')) {
          if (brackets.empty()) fail(std::string("unexpected '") + o + "'");
          if (brackets.back() != o) {
            fail(std::string("unexpected '") + o + "', expected '" + brackets.back() + "'");
          }
          brackets.pop_back();
        }
        push(Token::Type::Op, found);
        pos += std::strlen(found);
      }
    }
  }

  void appendUtf8(std::string& out, char32_t c) {
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) fail("a string literal escapes a code point that UTF-8 cannot hold");
    if (c < 0x80) {
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

  // A quoted string; its escapes decoded as Python's "unicode-escape" codec decodes them (what
  // jinja2's lexer applies): an unknown escape keeps its backslash.
  std::size_t stringLiteral(std::size_t pos) {
    const char quote = m_src[pos];
    const int startLine = m_line;
    std::string value;
    std::size_t i = pos + 1;
    while (true) {
      if (i >= m_src.size()) {
        m_line = startLine;
        fail("a string is not closed");
      }
      const char c = m_src[i];
      if (c == quote) break;
      if (c == '\n') ++m_line;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= m_src.size()) {
        ++i;
        continue;
      }
      const char e = m_src[i + 1];
      i += 2;
      auto hex = [&](int digits) {
        if (i + digits > m_src.size()) fail("truncated \\x, \\u or \\U escape in a string literal");
        char32_t v = 0;
        for (int k = 0; k < digits; ++k) {
          const char h = m_src[i + k];
          int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
          if (d < 0) fail("truncated \\x, \\u or \\U escape in a string literal");
          v = v * 16 + d;
        }
        i += digits;
        return v;
      };
      switch (e) {
        case '\n': ++m_line; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x': appendUtf8(value, hex(2)); break;
        case 'u': appendUtf8(value, hex(4)); break;
        case 'U': appendUtf8(value, hex(8)); break;
        case 'N': refuseUnsupported(m_label, m_line, "\\N{...}");
        default:
          if (e >= '0' && e <= '7') {
            char32_t v = e - '0';
            for (int k = 0; k < 2 && i < m_src.size() && m_src[i] >= '0' && m_src[i] <= '7'; ++k) {
              v = v * 8 + (m_src[i++] - '0');
            }
            appendUtf8(value, v);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    Token t;
    t.type = Token::Type::Str;
    t.text = std::move(value);
    t.line = startLine;
    m_tokens.push_back(std::move(t));
    return i + 1;
  }

  std::size_t number(std::size_t pos) {
    auto digitsRun = [&](std::size_t i) {
      // (\d+_)*\d+
      std::size_t e = i;
      while (true) {
        std::size_t d = e;
        while (d < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[d]))) ++d;
        if (d == e) return e == i ? i : e;
        e = d;
        if (e + 1 < m_src.size() && m_src[e] == '_' && std::isdigit(static_cast<unsigned char>(m_src[e + 1]))) {
          ++e;
          continue;
        }
        return e;
      }
    };
    std::size_t e = digitsRun(pos);
    bool isFloat = false;
    if (e + 1 < m_src.size() && m_src[e] == '.' && std::isdigit(static_cast<unsigned char>(m_src[e + 1]))) {
      e = digitsRun(e + 1);
      isFloat = true;
    }
    if (e < m_src.size() && (m_src[e] == 'e' || m_src[e] == 'E')) {
      std::size_t x = e + 1;
      if (x < m_src.size() && (m_src[x] == '+' || m_src[x] == '-')) ++x;
      if (x < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[x]))) {
        e = digitsRun(x);
        isFloat = true;
      }
    }
    std::string text;
    for (std::size_t k = pos; k < e; ++k) {
      if (m_src[k] != '_') text += m_src[k];
    }
    Token t;
    t.line = m_line;
    t.text = m_src.substr(pos, e - pos);
    if (isFloat) {
      t.type = Token::Type::Float;
      t.f = std::strtod(text.c_str(), nullptr);
    } else {
      if (text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string::npos) {
        refuseUnsupported(m_label, m_line, "integer literal " + t.text);
      }
      if (text.size() > 18) fail("the integer " + shortText(t.text) + " is too large");
      t.type = Token::Type::Int;
      t.i = std::stoll(text);
    }
    m_tokens.push_back(std::move(t));
    return e;
  }

  static std::string shortText(const std::string& s) { return s.size() > 24 ? s.substr(0, 24) + "..." : s; }

  std::string m_label;
  std::string m_src;
  std::vector<Token> m_tokens;
  int m_line = 1;
};

const std::set<std::string> kFilters = {
    "trim",    "length",    "count",  "lower",      "upper",      "tojson",  "string", "int",
    "float",   "first",     "last",   "join",       "default",    "d",       "replace", "capitalize",
    "title",   "items",     "list",   "reverse",    "selectattr", "rejectattr", "map", "select",
    "reject",  "safe",      "abs",    "dictsort",   "indent",     "unique"};
const std::set<std::string> kTests = {
    "defined", "undefined", "none",   "string",  "mapping", "iterable", "sequence", "number",
    "integer", "float",     "boolean", "true",   "false",   "equalto",  "eq",       "==",
    "ne",      "!=",        "lt",      "<",      "le",      "<=",       "gt",       ">",
    "ge",      ">=",        "in",      "odd",    "even",    "divisibleby", "sameas", "lower",
    "upper"};
// The methods of str, dict and list a call may name (the rest are refused when parsed).
const std::set<std::string> kMethods = {
    "strip",  "lstrip", "rstrip",  "split",  "rsplit", "startswith", "endswith", "replace",
    "upper",  "lower",  "title",   "capitalize", "join", "find",     "rfind",    "count",
    "items",  "keys",   "values",  "get",    "index",  "isdigit",    "isalpha",  "isspace",
    "islower", "isupper", "splitlines", "cycle"};

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& label)
      : m_tokens(std::move(tokens)), m_label(label) {}

  Block parseAll() {
    std::string stoppedAt;
    Block body = parseBlock({}, stoppedAt);
    return body;
  }

 private:
  const Token& cur() const { return m_tokens[m_pos]; }
  const Token& peek(std::size_t n = 1) const {
    return m_tokens[std::min(m_pos + n, m_tokens.size() - 1)];
  }
  void advance() {
    if (m_pos + 1 < m_tokens.size()) ++m_pos;
  }
  [[noreturn]] void fail(const std::string& what) const { failAt(cur().line, what); }
  [[noreturn]] void failAt(int line, const std::string& what) const {
    throw InputError(m_label + ":" + std::to_string(line) + ": " + what);
  }
  bool isOp(const char* op) const { return cur().type == Token::Type::Op && cur().text == op; }
  bool isName(const char* n) const { return cur().type == Token::Type::Name && cur().text == n; }
  void expectOp(const char* op) {
    if (!isOp(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
    advance();
  }
  std::string expectName() {
    if (cur().type != Token::Type::Name) fail("expected a name, got " + describe(cur()));
    std::string n = cur().text;
    advance();
    return n;
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Token::Type::Name: return "'" + t.text + "'";
      case Token::Type::Op: return "'" + t.text + "'";
      case Token::Type::Str: return "a string";
      case Token::Type::Int:
      case Token::Type::Float: return "a number";
      case Token::Type::VarEnd: return "'}}'";
      case Token::Type::BlockEnd: return "'%}'";
      case Token::Type::Eof: return "the end of the template";
      default: return "template text";
    }
  }
  void expectBlockEnd() {
    if (cur().type != Token::Type::BlockEnd) fail("expected '%}', got " + describe(cur()));
    advance();
  }

  // Statements until a {% NAME %} with NAME in `stops` (left at NAME, stoppedAt set).
  Block parseBlock(const std::set<std::string>& stops, std::string& stoppedAt) {
    if (++m_blockDepth > kMaxBlockDepth) fail("blocks nested more than " + std::to_string(kMaxBlockDepth) + " deep");
    Block body;
    while (true) {
      const Token& t = cur();
      if (t.type == Token::Type::Eof) {
        if (!stops.empty()) {
          std::string want;
          for (const auto& s : stops) want += (want.empty() ? "" : " or ") + ("'" + s + "'");
          fail("unexpected end of template: expected " + want);
        }
        break;
      }
      if (t.type == Token::Type::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == Token::Type::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->line = t.line;
        advance();
        s->expr = parseTuple(true);
        if (cur().type != Token::Type::VarEnd) fail("expected '}}', got " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == Token::Type::BlockBegin) {
        advance();
        if (cur().type != Token::Type::Name) fail("expected a tag name, got " + describe(cur()));
        const std::string name = cur().text;
        if (stops.count(name)) {
          stoppedAt = name;
          break;
        }
        body.push_back(parseStatement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
    --m_blockDepth;
    return body;
  }

  std::unique_ptr<Stmt> parseStatement() {
    const int line = cur().line;
    const std::string name = cur().text;
    auto s = std::make_unique<Stmt>();
    s->line = line;
    advance();
    if (name == "if") {
      s->kind = Stmt::Kind::If;
      s->conds.push_back(parseTuple(true));
      expectBlockEnd();
      while (true) {
        std::string at;
        s->bodies.push_back(parseBlock({"elif", "else", "endif"}, at));
        advance();
        if (at == "elif") {
          s->conds.push_back(parseTuple(true));
          expectBlockEnd();
        } else if (at == "else") {
          expectBlockEnd();
          std::string end;
          s->bodies.push_back(parseBlock({"endif"}, end));
          advance();
          expectBlockEnd();
          break;
        } else {
          expectBlockEnd();
          break;
        }
      }
    } else if (name == "for") {
      s->kind = Stmt::Kind::For;
      s->targets = parseTargets();
      if (!isName("in")) fail("expected 'in', got " + describe(cur()));
      advance();
      s->expr = parseTuple(false);
      if (isName("if")) {
        advance();
        s->cond = parseTuple(true);
      }
      if (isName("recursive")) refuseUnsupported(m_label, cur().line, "for ... recursive");
      expectBlockEnd();
      ++m_loopDepth;
      std::string at;
      s->bodies.push_back(parseBlock({"else", "endfor"}, at));
      --m_loopDepth;
      advance();
      expectBlockEnd();
      if (at == "else") {
        std::string end;
        s->bodies.push_back(parseBlock({"endfor"}, end));
        advance();
        expectBlockEnd();
      }
    } else if (name == "set") {
      const std::string target = expectName();
      if (isOp(".")) {
        advance();
        s->kind = Stmt::Kind::Set;
        s->targets = {target};
        s->attr = expectName();
        expectOp("=");
        s->expr = parseTuple(true);
        expectBlockEnd();
      } else if (isOp("=") || isOp(",")) {
        s->kind = Stmt::Kind::Set;
        s->targets = {target};
        while (isOp(",")) {
          advance();
          s->targets.push_back(expectName());
        }
        expectOp("=");
        s->expr = parseTuple(true);
        expectBlockEnd();
      } else if (cur().type == Token::Type::BlockEnd) {
        s->kind = Stmt::Kind::SetBlock;
        s->targets = {target};
        advance();
        std::string end;
        s->bodies.push_back(parseBlock({"endset"}, end));
        advance();
        expectBlockEnd();
      } else if (isOp("|")) {
        refuseUnsupported(m_label, line, "{% set x | filter %}");
      } else {
        fail("expected '=' after the name in {% set %}, got " + describe(cur()));
      }
      checkAssignable(s->targets, line);
    } else if (name == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->text = expectName();
      expectOp("(");
      while (!isOp(")")) {
        if (isOp("*") || isOp("**")) refuseUnsupported(m_label, cur().line, "*args in a macro");
        s->targets.push_back(expectName());
        if (isOp("=")) {
          advance();
          s->conds.push_back(parseExpression(true));
        } else {
          s->conds.push_back(nullptr);
        }
        if (!isOp(",")) break;
        advance();
      }
      expectOp(")");
      expectBlockEnd();
      const int savedLoops = m_loopDepth;
      m_loopDepth = 0;
      std::string end;
      s->bodies.push_back(parseBlock({"endmacro"}, end));
      m_loopDepth = savedLoops;
      advance();
      if (cur().type == Token::Type::Name) advance();
      expectBlockEnd();
    } else if (name == "break" || name == "continue") {
      if (m_loopDepth == 0) failAt(line, "'" + name + "' outside a loop");
      s->kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expectBlockEnd();
    } else if (name == "generation") {
      s->kind = Stmt::Kind::Generation;
      expectBlockEnd();
      std::string end;
      s->bodies.push_back(parseBlock({"endgeneration"}, end));
      advance();
      expectBlockEnd();
    } else {
      static const std::set<std::string> kEnds = {"endif", "endfor", "endset", "endmacro",
                                                   "elif", "else", "endgeneration"};
      if (kEnds.count(name)) failAt(line, "unexpected '" + name + "'");
      refuseUnsupported(m_label, line, "{% " + name + " %}");
    }
    return s;
  }

  void checkAssignable(const std::vector<std::string>& names, int line) const {
    for (const auto& n : names) {
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
        failAt(line, "cannot assign to '" + n + "'");
      }
    }
  }

  std::vector<std::string> parseTargets() {
    std::vector<std::string> names;
    const bool paren = isOp("(");
    if (paren) advance();
    names.push_back(expectName());
    while (isOp(",")) {
      advance();
      if (cur().type != Token::Type::Name) break;
      names.push_back(expectName());
    }
    if (paren) expectOp(")");
    checkAssignable(names, cur().line);
    return names;
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.m_exprDepth > kMaxExprDepth) {
        p.fail("an expression nested more than " + std::to_string(kMaxExprDepth) + " deep");
      }
    }
    ~DepthGuard() { --p.m_exprDepth; }
  };

  ExprPtr node(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  bool atTupleEnd() const {
    const auto t = cur().type;
    if (t == Token::Type::VarEnd || t == Token::Type::BlockEnd || t == Token::Type::Eof) return true;
    if (t == Token::Type::Op && (cur().text == ")" || cur().text == "]" || cur().text == "}")) return true;
    return t == Token::Type::Name && (cur().text == "if" || cur().text == "in" || cur().text == "recursive");
  }

  // An expression or a tuple without brackets (`a, b`).
  ExprPtr parseTuple(bool withCond) {
    DepthGuard g(*this);
    const int line = cur().line;
    ExprPtr first = parseExpression(withCond);
    if (!isOp(",")) return first;
    auto t = node(Expr::Kind::Tuple, line);
    t->kids.push_back(std::move(first));
    while (isOp(",")) {
      advance();
      if (atTupleEnd() && !(isName("if") && withCond)) break;
      t->kids.push_back(parseExpression(withCond));
    }
    return t;
  }

  ExprPtr parseExpression(bool withCond) {
    DepthGuard g(*this);
    if (!withCond) return parseOr();
    ExprPtr e = parseOr();
    while (isName("if")) {
      const int line = cur().line;
      advance();
      auto c = node(Expr::Kind::Cond, line);
      ExprPtr test = parseOr();
      ExprPtr otherwise;
      if (isName("else")) {
        advance();
        otherwise = parseExpression(true);
      }
      c->kids.push_back(std::move(test));
      c->kids.push_back(std::move(e));
      c->kids.push_back(std::move(otherwise));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parseOr() {
    DepthGuard g(*this);
    ExprPtr left = parseAnd();
    while (isName("or")) {
      auto n = node(Expr::Kind::Or, cur().line);
      advance();
      n->kids.push_back(std::move(left));
      n->kids.push_back(parseAnd());
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parseAnd() {
    DepthGuard g(*this);
    ExprPtr left = parseNot();
    while (isName("and")) {
      auto n = node(Expr::Kind::And, cur().line);
      advance();
      n->kids.push_back(std::move(left));
      n->kids.push_back(parseNot());
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parseNot() {
    DepthGuard g(*this);
    if (isName("not")) {
      auto n = node(Expr::Kind::Not, cur().line);
      advance();
      n->kids.push_back(parseNot());
      return n;
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    DepthGuard g(*this);
    const int line = cur().line;
    ExprPtr first = parseMath1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (cur().type == Token::Type::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (isName("in")) {
        op = "in";
        advance();
      } else if (isName("not") && peek().type == Token::Type::Name && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Expr::Kind::Compare, line);
        cmp->kids.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parseMath1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, int line) {
    auto n = node(Expr::Kind::Binary, line);
    n->name = op;
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(right));
    return n;
  }

  ExprPtr parseMath1() {
    DepthGuard g(*this);
    ExprPtr left = parseConcat();
    while (isOp("+") || isOp("-")) {
      const std::string op = cur().text;
      const int line = cur().line;
      advance();
      left = binary(op, std::move(left), parseConcat(), line);
    }
    return left;
  }

  ExprPtr parseConcat() {
    DepthGuard g(*this);
    ExprPtr left = parseMath2();
    while (isOp("~")) {
      const int line = cur().line;
      advance();
      left = binary("~", std::move(left), parseMath2(), line);
    }
    return left;
  }

  ExprPtr parseMath2() {
    DepthGuard g(*this);
    ExprPtr left = parsePow();
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      const std::string op = cur().text;
      const int line = cur().line;
      advance();
      left = binary(op, std::move(left), parsePow(), line);
    }
    return left;
  }

  ExprPtr parsePow() {
    DepthGuard g(*this);
    ExprPtr left = parseUnary(true);
    while (isOp("**")) {
      const int line = cur().line;
      advance();
      left = binary("**", std::move(left), parseUnary(true), line);
    }
    return left;
  }

  ExprPtr parseUnary(bool withFilter) {
    DepthGuard g(*this);
    ExprPtr n;
    if (isOp("-") || isOp("+")) {
      n = node(isOp("-") ? Expr::Kind::Neg : Expr::Kind::Pos, cur().line);
      advance();
      n->kids.push_back(parseUnary(false));
    } else {
      n = parsePrimary();
    }
    n = parsePostfix(std::move(n));
    if (withFilter) n = parseFilterExpr(std::move(n));
    return n;
  }

  ExprPtr parsePrimary() {
    DepthGuard g(*this);
    const Token& t = cur();
    const int line = t.line;
    switch (t.type) {
      case Token::Type::Name: {
        ExprPtr n;
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
          n = node(Expr::Kind::Bool, line);
          n->b = t.text[0] == 't' || t.text[0] == 'T';
        } else if (t.text == "none" || t.text == "None") {
          n = node(Expr::Kind::None, line);
        } else {
          n = node(Expr::Kind::Name, line);
          n->name = t.text;
        }
        advance();
        return n;
      }
      case Token::Type::Str: {
        auto n = node(Expr::Kind::Str, line);
        while (cur().type == Token::Type::Str) {
          n->name += cur().text;
          advance();
        }
        return n;
      }
      case Token::Type::Int: {
        auto n = node(Expr::Kind::Int, line);
        n->i = t.i;
        advance();
        return n;
      }
      case Token::Type::Float: {
        auto n = node(Expr::Kind::Float, line);
        n->f = t.f;
        advance();
        return n;
      }
      case Token::Type::Op:
        if (t.text == "(") {
          advance();
          if (isOp(")")) {
            advance();
            return node(Expr::Kind::Tuple, line);
          }
          ExprPtr first = parseExpression(true);
          if (isOp(")")) {
            advance();
            return first;
          }
          auto tup = node(Expr::Kind::Tuple, line);
          tup->kids.push_back(std::move(first));
          while (isOp(",")) {
            advance();
            if (isOp(")")) break;
            tup->kids.push_back(parseExpression(true));
          }
          expectOp(")");
          return tup;
        }
        if (t.text == "[") {
          advance();
          auto list = node(Expr::Kind::List, line);
          while (!isOp("]")) {
            list->kids.push_back(parseExpression(true));
            if (!isOp(",")) break;
            advance();
          }
          expectOp("]");
          return list;
        }
        if (t.text == "{") {
          advance();
          auto dict = node(Expr::Kind::Dict, line);
          while (!isOp("}")) {
            dict->kids.push_back(parseExpression(true));
            expectOp(":");
            dict->kids.push_back(parseExpression(true));
            if (!isOp(",")) break;
            advance();
          }
          expectOp("}");
          return dict;
        }
        break;
      default:
        break;
    }
    fail("unexpected " + describe(t));
  }

  ExprPtr parsePostfix(ExprPtr n) {
    while (true) {
      const int line = cur().line;
      if (isOp(".")) {
        advance();
        if (cur().type == Token::Type::Int) {
          auto item = node(Expr::Kind::GetItem, line);
          auto key = node(Expr::Kind::Int, line);
          key->i = cur().i;
          advance();
          item->kids.push_back(std::move(n));
          item->kids.push_back(std::move(key));
          n = std::move(item);
          continue;
        }
        auto a = node(Expr::Kind::GetAttr, line);
        a->name = expectName();
        a->kids.push_back(std::move(n));
        n = std::move(a);
      } else if (isOp("[")) {
        advance();
        n = parseSubscript(std::move(n), line);
      } else if (isOp("(")) {
        n = parseCall(std::move(n), line);
      } else {
        return n;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr base, int line) {
    DepthGuard g(*this);
    ExprPtr parts[3];
    bool slice = false;
    int part = 0;
    while (true) {
      if (isOp(":")) {
        slice = true;
        if (++part > 2) fail("unexpected ':'");
        advance();
        continue;
      }
      if (isOp("]")) break;
      if (isOp(",")) refuseUnsupported(m_label, line, "a[x, y]");
      if (parts[part]) fail("expected ']', got " + describe(cur()));
      parts[part] = parseExpression(true);
    }
    expectOp("]");
    if (!slice) {
      if (!parts[0]) fail("expected an index inside '[]'");
      auto n = node(Expr::Kind::GetItem, line);
      n->kids.push_back(std::move(base));
      n->kids.push_back(std::move(parts[0]));
      return n;
    }
    auto n = node(Expr::Kind::Slice, line);
    n->kids.push_back(std::move(base));
    for (auto& p : parts) n->kids.push_back(std::move(p));
    return n;
  }

  // Arguments of a call, a filter or a test after '(' (kids and argNames of `n`).
  void parseArgs(Expr& n) {
    expectOp("(");
    bool keyword = false;
    while (!isOp(")")) {
      if (isOp("*") || isOp("**")) refuseUnsupported(m_label, cur().line, "*args in a call");
      if (cur().type == Token::Type::Name && peek().type == Token::Type::Op && peek().text == "=") {
        n.argNames.push_back(cur().text);
        advance();
        advance();
        keyword = true;
      } else {
        if (keyword) fail("a positional argument follows a keyword argument");
        n.argNames.emplace_back();
      }
      n.kids.push_back(parseExpression(true));
      if (!isOp(",")) break;
      advance();
    }
    expectOp(")");
  }

  ExprPtr parseCall(ExprPtr callee, int line) {
    DepthGuard g(*this);
    if (callee->kind == Expr::Kind::GetAttr && !kMethods.count(callee->name)) {
      refuseUnsupported(m_label, line, "." + callee->name + "()");
    }
    if (callee->kind == Expr::Kind::Name &&
        (callee->name == "lipsum" || callee->name == "cycler" || callee->name == "joiner")) {
      refuseUnsupported(m_label, line, callee->name + "()");
    }
    auto n = node(Expr::Kind::Call, line);
    n->kids.push_back(std::move(callee));
    n->argNames.emplace_back();
    parseArgs(*n);
    return n;
  }

  ExprPtr parseFilterExpr(ExprPtr n) {
    while (true) {
      if (isOp("|")) {
        const int line = cur().line;
        advance();
        std::string name = expectName();
        while (isOp(".")) {
          advance();
          name += "." + expectName();
        }
        if (!kFilters.count(name)) {
          refuseUnsupported(m_label, line, "|" + name);
        }
        auto f = node(Expr::Kind::Filter, line);
        f->name = name;
        f->kids.push_back(std::move(n));
        f->argNames.emplace_back();
        if (isOp("(")) parseArgs(*f);
        n = std::move(f);
      } else if (isName("is")) {
        const int line = cur().line;
        advance();
        auto t = node(Expr::Kind::Test, line);
        if (isName("not")) {
          t->b = true;
          advance();
        }
        if (cur().type == Token::Type::Name) {
          t->name = cur().text;
          advance();
        } else if (cur().type == Token::Type::Op &&
                   (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                    cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
          t->name = cur().text;
          advance();
        } else {
          fail("expected a test name after 'is', got " + describe(cur()));
        }
        if (!kTests.count(t->name)) refuseUnsupported(m_label, line, "is " + t->name);
        t->kids.push_back(std::move(n));
        t->argNames.emplace_back();
        if (isOp("(")) {
          parseArgs(*t);
        } else {
          const auto ty = cur().type;
          const bool argStarts =
              ty == Token::Type::Str || ty == Token::Type::Int || ty == Token::Type::Float ||
              (ty == Token::Type::Op && (cur().text == "[" || cur().text == "{")) ||
              (ty == Token::Type::Name && cur().text != "else" && cur().text != "or" &&
               cur().text != "and" && cur().text != "if" && cur().text != "in" &&
               cur().text != "not" && cur().text != "is" && cur().text != "recursive");
          if (argStarts) {
            t->argNames.emplace_back();
            t->kids.push_back(parsePostfix(parsePrimary()));
          }
        }
        n = std::move(t);
      } else if (isOp("(")) {
        n = parseCall(std::move(n), cur().line);
      } else {
        return n;
      }
    }
  }

  std::vector<Token> m_tokens;
  std::size_t m_pos = 0;
  std::string m_label;
  int m_blockDepth = 0;
  int m_exprDepth = 0;
  int m_loopDepth = 0;
};

}  // namespace

std::shared_ptr<Program> parseTemplate(const std::string& source, const std::string& label) {
  if (source.size() > kMaxTemplateBytes) {
    throw InputError(label + ": " + std::to_string(source.size()) + " bytes, more than the " +
                     std::to_string(kMaxTemplateBytes) + " a chat template may have");
  }
  if (source.find('\0') != std::string::npos) {
    throw InputError(label + ": a NUL byte in the chat template");
  }
  Lexer lexer(source, label);
  Parser parser(lexer.run(), label);
  auto program = std::make_shared<Program>();
  program->label = label;
  program->body = parser.parseAll();
  return program;
}

}  // namespace rr::core::chat
