// Rendering chat templates: the evaluator over chattemplate_parse.cpp's tree, with jinja2's
// semantics for scopes (a {% for %} iteration is a scope, {% if %} is not), Undefined, tests and
// filters, and Python's for operators and str methods; and the folder readers.
#include "data/chattemplate.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "data/chattemplate_p.h"
#include "data/chattemplate_py.h"
#include "data/chattemplate_value.h"

namespace rr::core {

namespace chat {
namespace {

using T = Value::Type;

struct Scope {
  Scope* parent = nullptr;
  std::map<std::string, Value> vars;
  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { Normal, Break, Continue };

const char* typeName(const Value& v) {
  switch (v.type) {
    case T::Undefined: return "Undefined";
    case T::None: return "NoneType";
    case T::Bool: return "bool";
    case T::Int: return "int";
    case T::Float: return "float";
    case T::Str: return "str";
    case T::List: return v.list->tuple ? "tuple" : "list";
    case T::Dict: return "dict";
    case T::Namespace: return "Namespace";
    case T::Loop: return "LoopContext";
    case T::Macro: return "Macro";
    case T::Method:
    case T::Builtin: return "builtin_function_or_method";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.type) {
    case T::Undefined:
    case T::None: return false;
    case T::Bool: return v.b;
    case T::Int: return v.i != 0;
    case T::Float: return v.f != 0;
    case T::Str: return !v.s->empty();
    case T::List: return !v.list->items.empty();
    case T::Dict: return !v.dict->items.empty();
    default: return true;
  }
}

double asDouble(const Value& v) {
  return v.type == T::Float ? v.f : v.type == T::Int ? static_cast<double>(v.i) : (v.b ? 1.0 : 0.0);
}
std::int64_t asInt(const Value& v) { return v.type == T::Int ? v.i : (v.b ? 1 : 0); }
bool isIntLike(const Value& v) { return v.type == T::Int || v.type == T::Bool; }

Value makeList(std::vector<Value> items, bool tuple = false);
Value makeDict(std::vector<std::pair<Value, Value>> items);

class Renderer {
 public:
  Renderer(const Program& program, const std::tm& now) : m_program(program), m_now(now) {}

  template <class Json>
  std::string run(const Json& context) {
    if (!context.is_object()) throw InputError(m_program.label + ": the render context is not a JSON object");
    Scope root;
    for (auto it = context.begin(); it != context.end(); ++it) {
      root.vars[it.key()] = fromJson(it.value(), 1);
    }
    m_root = &root;
    std::string out;
    exec(m_program.body, root, out);
    return out;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InputError(m_program.label + ":" + std::to_string(line) + ": " + what);
  }
  [[noreturn]] void failUndefined(int line, const Value& v) const {
    fail(line, v.s ? *v.s : "undefined value");
  }

  void step(int line, std::uint64_t n = 1) {
    m_steps += n;
    if (m_steps > kMaxSteps) {
      fail(line, "the template did more than " + std::to_string(kMaxSteps) +
                     " steps (loop iterations, statements, items and kilobytes of text)");
    }
  }
  void checkSize(int line, std::size_t bytes) {
    if (bytes > kMaxOutputBytes) {
      fail(line, "a string of more than " + std::to_string(kMaxOutputBytes) + " bytes");
    }
    step(line, bytes / 64);
  }
  Value strValue(int line, std::string s) {
    checkSize(line, s.size());
    return Value::str(std::move(s));
  }
  void checkItems(int line, std::size_t n) {
    if (n > kMaxItems) fail(line, "a list of more than " + std::to_string(kMaxItems) + " items");
    step(line, n / 16);
  }

  template <class Json>
  Value fromJson(const Json& j, int depth) {
    if (depth > kMaxValueDepth) {
      throw InputError(m_program.label + ": the render context is nested more than " +
                       std::to_string(kMaxValueDepth) + " deep");
    }
    using vt = nlohmann::json::value_t;
    switch (j.type()) {
      case vt::null: return Value::none();
      case vt::boolean: return Value::boolean(j.template get<bool>());
      case vt::number_integer: return Value::integer(j.template get<std::int64_t>());
      case vt::number_unsigned: {
        const auto u = j.template get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return Value::real(static_cast<double>(u));
        }
        return Value::integer(static_cast<std::int64_t>(u));
      }
      case vt::number_float: return Value::real(j.template get<double>());
      case vt::string: return Value::str(j.template get<std::string>());
      case vt::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& x : j) items.push_back(fromJson(x, depth + 1));
        return makeList(std::move(items));
      }
      case vt::object: {
        std::vector<std::pair<Value, Value>> items;
        for (auto it = j.begin(); it != j.end(); ++it) {
          items.emplace_back(Value::str(it.key()), fromJson(it.value(), depth + 1));
        }
        return makeDict(std::move(items));
      }
      default:
        throw InputError(m_program.label + ": the render context holds a value a template cannot read");
    }
  }

  // ---- statements

  void emit(int line, std::string& out, const std::string& text) {
    if (out.size() + text.size() > kMaxOutputBytes) {
      fail(line, "the rendered text is longer than " + std::to_string(kMaxOutputBytes) + " bytes");
    }
    out += text;
    step(line, text.size() / 64);
  }

  Flow exec(const Block& block, Scope& scope, std::string& out) {
    for (const auto& s : block) {
      step(s->line);
      const Flow f = execOne(*s, scope, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow execOne(const Stmt& s, Scope& scope, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text:
        emit(s.line, out, s.text);
        return Flow::Normal;
      case Stmt::Kind::Output: {
        const Value v = eval(*s.expr, scope);
        emit(s.line, out, toStr(v, s.line));
        return Flow::Normal;
      }
      case Stmt::Kind::If:
        for (std::size_t k = 0; k < s.conds.size(); ++k) {
          if (truthy(eval(*s.conds[k], scope))) return exec(s.bodies[k], scope, out);
        }
        if (s.bodies.size() > s.conds.size()) return exec(s.bodies.back(), scope, out);
        return Flow::Normal;
      case Stmt::Kind::For:
        return execFor(s, scope, out);
      case Stmt::Kind::Set: {
        Value v = eval(*s.expr, scope);
        if (!s.attr.empty()) {
          const Value* target = scope.find(s.targets[0]);
          if (!target || target->type != T::Namespace) {
            fail(s.line, "cannot assign attribute on non-namespace object");
          }
          setNamespaceAttr(s.line, *target->ns, s.attr, std::move(v));
        } else {
          assign(s.line, scope, s.targets, v);
        }
        return Flow::Normal;
      }
      case Stmt::Kind::SetBlock: {
        // The block renders in the scope it is in; its text becomes the variable.
        std::string captured;
        exec(s.bodies[0], scope, captured);
        scope.vars[s.targets[0]] = strValue(s.line, std::move(captured));
        return Flow::Normal;
      }
      case Stmt::Kind::Macro: {
        Value m;
        m.type = T::Macro;
        m.macro = &s;
        scope.vars[s.text] = m;
        return Flow::Normal;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
      case Stmt::Kind::Generation: return exec(s.bodies[0], scope, out);
    }
    return Flow::Normal;
  }

  void setNamespaceAttr(int line, NamespaceData& ns, const std::string& name, Value v) {
    if (!name.empty() && name[0] == '_') {
      fail(line, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                     name + "'. Please rename the attribute.");
    }
    for (auto& [k, val] : ns.attrs) {
      if (k == name) {
        val = std::move(v);
        return;
      }
    }
    if (ns.attrs.size() >= kMaxItems) fail(line, "a namespace with too many attributes");
    ns.attrs.emplace_back(name, std::move(v));
  }

  void assign(int line, Scope& scope, const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = v;
      return;
    }
    const std::vector<Value> parts = unpackable(line, v, targets.size());
    for (std::size_t k = 0; k < targets.size(); ++k) scope.vars[targets[k]] = parts[k];
  }

  std::vector<Value> unpackable(int line, const Value& v, std::size_t n) {
    std::vector<Value> parts = iterate(line, v);
    if (parts.size() < n) {
      fail(line, "not enough values to unpack (expected " + std::to_string(n) + ", got " +
                     std::to_string(parts.size()) + ")");
    }
    if (parts.size() > n) fail(line, "too many values to unpack (expected " + std::to_string(n) + ")");
    return parts;
  }

  Flow execFor(const Stmt& s, Scope& scope, std::string& out) {
    std::vector<Value> all = iterate(s.line, eval(*s.expr, scope));
    if (s.cond) {
      std::vector<Value> kept;
      for (auto& item : all) {
        step(s.line);
        Scope probe;
        probe.parent = &scope;
        assign(s.line, probe, s.targets, item);
        if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
      }
      all = std::move(kept);
    }
    auto items = std::make_shared<const std::vector<Value>>(std::move(all));
    if (items->empty()) {
      if (s.bodies.size() > 1) return exec(s.bodies[1], scope, out);
      return Flow::Normal;
    }
    for (std::size_t k = 0; k < items->size(); ++k) {
      step(s.line);
      Scope iteration;
      iteration.parent = &scope;
      auto loop = std::make_shared<LoopData>();
      loop->items = items;
      loop->index0 = static_cast<std::int64_t>(k);
      Value lv;
      lv.type = T::Loop;
      lv.loop = loop;
      iteration.vars["loop"] = lv;
      assign(s.line, iteration, s.targets, (*items)[k]);
      if (exec(s.bodies[0], iteration, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  std::vector<Value> iterate(int line, const Value& v) {
    switch (v.type) {
      case T::Undefined: return {};
      case T::List: step(line, v.list->items.size() / 16); return v.list->items;
      case T::Dict: {
        std::vector<Value> keys;
        keys.reserve(v.dict->items.size());
        for (const auto& kv : v.dict->items) keys.push_back(kv.first);
        step(line, keys.size() / 16);
        return keys;
      }
      case T::Str: {
        std::vector<Value> chars;
        for (char32_t c : toU32(*v.s)) {
          std::string one;
          appendUtf8(one, c);
          chars.push_back(Value::str(std::move(one)));
        }
        step(line, chars.size() / 16);
        return chars;
      }
      default:
        fail(line, std::string("'") + typeName(v) + "' object is not iterable");
    }
  }

  // ---- str() and repr()

  std::string toStr(const Value& v, int line) {
    switch (v.type) {
      case T::Undefined: return "";
      case T::Str: return *v.s;
      default: {
        std::string out;
        reprInto(out, v, false, line);
        return out;
      }
    }
  }

  void reprInto(std::string& out, const Value& v, bool quoted, int line) {
    if (out.size() > kMaxOutputBytes) fail(line, "a value's text is longer than " + std::to_string(kMaxOutputBytes) + " bytes");
    switch (v.type) {
      case T::Undefined: out += quoted ? "Undefined" : ""; return;
      case T::None: out += "None"; return;
      case T::Bool: out += v.b ? "True" : "False"; return;
      case T::Int: out += std::to_string(v.i); return;
      case T::Float: out += pyFloat(v.f); return;
      case T::Str: out += quoted ? pyReprStr(*v.s) : *v.s; return;
      case T::List: {
        out += v.list->tuple ? "(" : "[";
        bool first = true;
        for (const auto& x : v.list->items) {
          if (!first) out += ", ";
          first = false;
          reprInto(out, x, true, line);
        }
        if (v.list->tuple && v.list->items.size() == 1) out += ",";
        out += v.list->tuple ? ")" : "]";
        step(line, v.list->items.size() / 16);
        return;
      }
      case T::Dict: {
        out += "{";
        bool first = true;
        for (const auto& [k, x] : v.dict->items) {
          if (!first) out += ", ";
          first = false;
          reprInto(out, k, true, line);
          out += ": ";
          reprInto(out, x, true, line);
        }
        out += "}";
        step(line, v.dict->items.size() / 16);
        return;
      }
      case T::Namespace: {
        out += "<Namespace {";
        bool first = true;
        for (const auto& [k, x] : v.ns->attrs) {
          if (!first) out += ", ";
          first = false;
          out += pyReprStr(k) + ": ";
          reprInto(out, x, true, line);
        }
        out += "}>";
        return;
      }
      default:
        refuseUnsupported(m_program.label, line, std::string("rendering a ") + typeName(v));
    }
  }

  // ---- equality and order

  bool equal(const Value& a, const Value& b) {
    if (a.isNumber() && b.isNumber()) {
      if (a.type == T::Float || b.type == T::Float) return asDouble(a) == asDouble(b);
      return asInt(a) == asInt(b);
    }
    if (a.type != b.type) return false;
    switch (a.type) {
      case T::Undefined:
      case T::None: return true;
      case T::Str: return *a.s == *b.s;
      case T::List: {
        if (a.list->tuple != b.list->tuple || a.list->items.size() != b.list->items.size()) return false;
        for (std::size_t k = 0; k < a.list->items.size(); ++k) {
          if (!equal(a.list->items[k], b.list->items[k])) return false;
        }
        return true;
      }
      case T::Dict: {
        if (a.dict->items.size() != b.dict->items.size()) return false;
        for (const auto& [k, x] : a.dict->items) {
          const Value* y = dictFind(*b.dict, k);
          if (!y || !equal(x, *y)) return false;
        }
        return true;
      }
      case T::Namespace: return a.ns == b.ns;
      case T::Macro: return a.macro == b.macro;
      case T::Loop: return a.loop == b.loop;
      default: return a.s && b.s && *a.s == *b.s && a.self == b.self;
    }
  }

  const Value* dictFind(const DictData& d, const Value& key) {
    for (const auto& kv : d.items) {
      if (equal(kv.first, key)) return &kv.second;
    }
    return nullptr;
  }

  // -1, 0, 1 as Python orders a and b; TypeError when it does not.
  int order(int line, const Value& a, const Value& b, const std::string& op) {
    if (a.isUndefined()) failUndefined(line, a);
    if (b.isUndefined()) failUndefined(line, b);
    if (a.isNumber() && b.isNumber()) {
      if (a.type == T::Float || b.type == T::Float) {
        const double x = asDouble(a), y = asDouble(b);
        return x < y ? -1 : x > y ? 1 : 0;
      }
      const auto x = asInt(a), y = asInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.type == T::Str && b.type == T::Str) {
      const int c = a.s->compare(*b.s);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.type == T::List && b.type == T::List && a.list->tuple == b.list->tuple) {
      const auto& x = a.list->items;
      const auto& y = b.list->items;
      for (std::size_t k = 0; k < std::min(x.size(), y.size()); ++k) {
        if (!equal(x[k], y[k])) return order(line, x[k], y[k], op);
      }
      return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    fail(line, "'" + op + "' not supported between instances of '" + typeName(a) + "' and '" +
                   typeName(b) + "'");
  }

  bool contains(int line, const Value& container, const Value& item) {
    switch (container.type) {
      case T::Undefined: return false;
      case T::Str:
        if (item.type != T::Str) {
          fail(line, std::string("'in <string>' requires string as left operand, not ") + typeName(item));
        }
        return container.s->find(*item.s) != std::string::npos;
      case T::List:
        step(line, container.list->items.size() / 16);
        for (const auto& x : container.list->items) {
          if (equal(x, item)) return true;
        }
        return false;
      case T::Dict:
        step(line, container.dict->items.size() / 16);
        return dictFind(*container.dict, item) != nullptr;
      default:
        fail(line, std::string("argument of type '") + typeName(container) + "' is not iterable");
    }
  }

  // ---- attribute and item access (jinja2's sandbox: getattr tries the attribute first,
  // subscript tries the item first)

  Value method(const Value& self, const std::string& name) {
    Value m;
    m.type = T::Method;
    m.s = std::make_shared<const std::string>(name);
    m.self = std::make_shared<const Value>(self);
    return m;
  }

  static bool isStrMethod(const std::string& n) {
    static const char* const kNames[] = {
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find",
        "format", "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
        "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper",
        "join", "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix",
        "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
        "split", "splitlines", "startswith", "strip", "swapcase", "title", "translate", "upper",
        "zfill"};
    for (const char* k : kNames) {
      if (n == k) return true;
    }
    return false;
  }
  static bool isDictMethod(const std::string& n) {
    static const char* const kNames[] = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                         "pop", "popitem", "setdefault", "update", "values"};
    for (const char* k : kNames) {
      if (n == k) return true;
    }
    return false;
  }
  static bool isListMethod(const std::string& n) {
    static const char* const kNames[] = {"append", "clear", "copy", "count", "extend", "index",
                                         "insert", "pop", "remove", "reverse", "sort"};
    for (const char* k : kNames) {
      if (n == k) return true;
    }
    return false;
  }

  static std::string objectDescription(const Value& v) {
    if (v.type == T::None) return "None";
    return std::string(typeName(v)) + " object";
  }

  Value noAttribute(const Value& obj, const std::string& name) {
    return Value::undefined("'" + objectDescription(obj) + "' has no attribute '" + name + "'");
  }

  Value getAttr(int line, const Value& obj, const std::string& name) {
    switch (obj.type) {
      case T::Undefined: failUndefined(line, obj);
      case T::Dict: {
        if (isDictMethod(name)) return method(obj, name);
        if (const Value* v = dictFind(*obj.dict, Value::str(name))) return *v;
        return noAttribute(obj, name);
      }
      case T::Str:
        if (isStrMethod(name)) return method(obj, name);
        return noAttribute(obj, name);
      case T::List:
        if (isListMethod(name)) return method(obj, name);
        return noAttribute(obj, name);
      case T::Namespace:
        for (const auto& [k, v] : obj.ns->attrs) {
          if (k == name) return v;
        }
        return noAttribute(obj, name);
      case T::Loop: return loopAttr(obj, name);
      default: return noAttribute(obj, name);
    }
  }

  Value loopAttr(const Value& obj, const std::string& name) {
    const LoopData& l = *obj.loop;
    const auto n = static_cast<std::int64_t>(l.items->size());
    if (name == "index0") return Value::integer(l.index0);
    if (name == "index") return Value::integer(l.index0 + 1);
    if (name == "revindex") return Value::integer(n - l.index0);
    if (name == "revindex0") return Value::integer(n - l.index0 - 1);
    if (name == "first") return Value::boolean(l.index0 == 0);
    if (name == "last") return Value::boolean(l.index0 == n - 1);
    if (name == "length") return Value::integer(n);
    if (name == "depth") return Value::integer(1);
    if (name == "depth0") return Value::integer(0);
    if (name == "previtem") {
      if (l.index0 == 0) return Value::undefined("there is no previous item");
      return (*l.items)[l.index0 - 1];
    }
    if (name == "nextitem") {
      if (l.index0 + 1 >= n) return Value::undefined("there is no next item");
      return (*l.items)[l.index0 + 1];
    }
    if (name == "cycle") return method(obj, name);
    return noAttribute(obj, name);
  }

  Value getItem(int line, const Value& obj, const Value& key) {
    switch (obj.type) {
      case T::Undefined: failUndefined(line, obj);
      case T::Dict: {
        if (const Value* v = dictFind(*obj.dict, key)) return *v;
        if (key.type == T::Str) return getAttr(line, obj, *key.s);
        return Value::undefined("'dict object' has no attribute " + reprShort(key, line));
      }
      case T::List:
        if (isIntLike(key)) {
          std::int64_t k = asInt(key);
          const auto n = static_cast<std::int64_t>(obj.list->items.size());
          if (k < 0) k += n;
          if (k < 0 || k >= n) {
            return Value::undefined(objectDescription(obj) + " has no element " + std::to_string(asInt(key)));
          }
          return obj.list->items[k];
        }
        if (key.type == T::Str) return getAttr(line, obj, *key.s);
        return Value::undefined(objectDescription(obj) + " has no element " + reprShort(key, line));
      case T::Str:
        if (isIntLike(key)) {
          const std::u32string u = toU32(*obj.s);
          std::int64_t k = asInt(key);
          const auto n = static_cast<std::int64_t>(u.size());
          if (k < 0) k += n;
          if (k < 0 || k >= n) return Value::undefined("str object has no element " + std::to_string(asInt(key)));
          std::string one;
          appendUtf8(one, u[k]);
          return Value::str(one);
        }
        if (key.type == T::Str) return getAttr(line, obj, *key.s);
        return Value::undefined("str object has no element " + reprShort(key, line));
      default:
        if (key.type == T::Str) return getAttr(line, obj, *key.s);
        return Value::undefined(objectDescription(obj) + " has no element " + reprShort(key, line));
    }
  }

  std::string reprShort(const Value& v, int line) {
    std::string out;
    reprInto(out, v, true, line);
    if (out.size() > 60) out = out.substr(0, 60) + "...";
    return out;
  }

  Value slice(int line, const Value& obj, const Value* parts[3]) {
    std::int64_t idx[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; ++k) {
      if (!parts[k] || parts[k]->type == T::None) continue;
      if (!isIntLike(*parts[k])) {
        if (parts[k]->isUndefined()) failUndefined(line, *parts[k]);
        fail(line, "slice indices must be integers or None");
      }
      idx[k] = asInt(*parts[k]);
      given[k] = true;
    }
    if (idx[2] == 0) fail(line, "slice step cannot be zero");
    auto pick = [&](std::int64_t n, std::vector<std::int64_t>& out) {
      const std::int64_t stepv = idx[2];
      auto clamp = [&](std::int64_t v, bool isGiven, bool isStart) {
        if (!isGiven) return stepv > 0 ? (isStart ? 0 : n) : (isStart ? n - 1 : -1);
        if (v < 0) v += n;
        if (stepv > 0) return std::clamp<std::int64_t>(v, 0, n);
        return std::clamp<std::int64_t>(v, -1, n - 1);
      };
      const std::int64_t start = clamp(idx[0], given[0], true);
      const std::int64_t stop = clamp(idx[1], given[1], false);
      for (std::int64_t k = start; stepv > 0 ? k < stop : k > stop; k += stepv) out.push_back(k);
    };
    std::vector<std::int64_t> picked;
    switch (obj.type) {
      case T::Undefined: failUndefined(line, obj);
      case T::List: {
        pick(static_cast<std::int64_t>(obj.list->items.size()), picked);
        std::vector<Value> items;
        items.reserve(picked.size());
        for (auto k : picked) items.push_back(obj.list->items[k]);
        step(line, items.size() / 16);
        return makeList(std::move(items), obj.list->tuple);
      }
      case T::Str: {
        const std::u32string u = toU32(*obj.s);
        pick(static_cast<std::int64_t>(u.size()), picked);
        std::u32string r;
        r.reserve(picked.size());
        for (auto k : picked) r += u[k];
        return strValue(line, fromU32(r));
      }
      default:
        fail(line, std::string("'") + typeName(obj) + "' object is not subscriptable");
    }
  }

  // ---- expressions

  Value eval(const Expr& e, Scope& scope) {
    switch (e.kind) {
      case Expr::Kind::Str: return Value::str(e.name);
      case Expr::Kind::Int: return Value::integer(e.i);
      case Expr::Kind::Float: return Value::real(e.f);
      case Expr::Kind::Bool: return Value::boolean(e.b);
      case Expr::Kind::None: return Value::none();
      case Expr::Kind::Name: return lookup(e.name, scope);
      case Expr::Kind::GetAttr: return getAttr(e.line, eval(*e.kids[0], scope), e.name);
      case Expr::Kind::GetItem: {
        const Value obj = eval(*e.kids[0], scope);
        return getItem(e.line, obj, eval(*e.kids[1], scope));
      }
      case Expr::Kind::Slice: {
        const Value obj = eval(*e.kids[0], scope);
        Value vals[3];
        const Value* parts[3] = {nullptr, nullptr, nullptr};
        for (int k = 0; k < 3; ++k) {
          if (e.kids[k + 1]) {
            vals[k] = eval(*e.kids[k + 1], scope);
            parts[k] = &vals[k];
          }
        }
        return slice(e.line, obj, parts);
      }
      case Expr::Kind::Call: return call(e, scope);
      case Expr::Kind::Filter: return filter(e, scope);
      case Expr::Kind::Test: {
        const bool r = test(e, scope);
        return Value::boolean(e.b ? !r : r);
      }
      case Expr::Kind::Neg:
      case Expr::Kind::Pos: {
        const Value v = eval(*e.kids[0], scope);
        if (v.isUndefined()) failUndefined(e.line, v);
        if (!v.isNumber()) fail(e.line, std::string("bad operand type for unary ") + (e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + typeName(v) + "'");
        if (e.kind == Expr::Kind::Pos) return v.type == T::Bool ? Value::integer(asInt(v)) : v;
        if (v.type == T::Float) return Value::real(-v.f);
        if (asInt(v) == std::numeric_limits<std::int64_t>::min()) fail(e.line, "integer overflow");
        return Value::integer(-asInt(v));
      }
      case Expr::Kind::Not: return Value::boolean(!truthy(eval(*e.kids[0], scope)));
      case Expr::Kind::And: {
        Value a = eval(*e.kids[0], scope);
        if (!truthy(a)) return a;
        return eval(*e.kids[1], scope);
      }
      case Expr::Kind::Or: {
        Value a = eval(*e.kids[0], scope);
        if (truthy(a)) return a;
        return eval(*e.kids[1], scope);
      }
      case Expr::Kind::Cond:
        if (truthy(eval(*e.kids[0], scope))) return eval(*e.kids[1], scope);
        if (e.kids[2]) return eval(*e.kids[2], scope);
        return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                " evaluated to false and no else section was defined.");
      case Expr::Kind::Binary: return binary(e, scope);
      case Expr::Kind::Compare: {
        Value left = eval(*e.kids[0], scope);
        for (std::size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.kids[k + 1], scope);
          const std::string& op = e.ops[k];
          bool r;
          if (op == "==") r = equal(left, right);
          else if (op == "!=") r = !equal(left, right);
          else if (op == "in") r = contains(e.line, right, left);
          else if (op == "not in") r = !contains(e.line, right, left);
          else {
            const int c = order(e.line, left, right, op);
            r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
          }
          if (!r) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        std::vector<Value> items;
        items.reserve(e.kids.size());
        for (const auto& k : e.kids) items.push_back(eval(*k, scope));
        return checkedList(e.line, std::move(items), e.kind == Expr::Kind::Tuple);
      }
      case Expr::Kind::Dict: {
        std::vector<std::pair<Value, Value>> items;
        for (std::size_t k = 0; k + 1 < e.kids.size(); k += 2) {
          Value key = eval(*e.kids[k], scope);
          Value val = eval(*e.kids[k + 1], scope);
          putKey(e.line, items, std::move(key), std::move(val));
        }
        return checkedDict(e.line, std::move(items));
      }
    }
    fail(e.line, "unknown expression");
  }

  void putKey(int line, std::vector<std::pair<Value, Value>>& items, Value key, Value val) {
    if (key.type == T::List && !key.list->tuple) fail(line, "unhashable type: 'list'");
    if (key.type == T::Dict) fail(line, "unhashable type: 'dict'");
    if (key.isUndefined()) failUndefined(line, key);
    for (auto& kv : items) {
      if (equal(kv.first, key)) {
        kv.second = std::move(val);
        return;
      }
    }
    items.emplace_back(std::move(key), std::move(val));
  }

  static int depthOf(const Value& v) {
    if (v.type == T::List) return v.list->depth;
    if (v.type == T::Dict) return v.dict->depth;
    return 0;
  }

  Value checkedList(int line, std::vector<Value> items, bool tuple = false) {
    checkItems(line, items.size());
    Value v = makeList(std::move(items), tuple);
    if (v.list->depth > kMaxValueDepth) fail(line, "lists or dicts nested more than " + std::to_string(kMaxValueDepth) + " deep");
    return v;
  }
  Value checkedDict(int line, std::vector<std::pair<Value, Value>> items) {
    checkItems(line, items.size());
    Value v = makeDict(std::move(items));
    if (v.dict->depth > kMaxValueDepth) fail(line, "lists or dicts nested more than " + std::to_string(kMaxValueDepth) + " deep");
    return v;
  }

  Value lookup(const std::string& name, const Scope& scope) {
    if (const Value* v = scope.find(name)) return *v;
    static const char* const kBuiltins[] = {"raise_exception", "strftime_now", "namespace", "range", "dict"};
    for (const char* b : kBuiltins) {
      if (name == b) {
        Value v;
        v.type = T::Builtin;
        v.s = std::make_shared<const std::string>(name);
        return v;
      }
    }
    return Value::undefined("'" + name + "' is undefined");
  }

  Value binary(const Expr& e, Scope& scope) {
    const Value a = eval(*e.kids[0], scope);
    const Value b = eval(*e.kids[1], scope);
    const std::string& op = e.name;
    const int line = e.line;
    if (op == "~") return strValue(line, toStr(a, line) + toStr(b, line));
    if (a.isUndefined()) failUndefined(line, a);
    if (b.isUndefined()) failUndefined(line, b);
    auto unsupported = [&]() -> Value {
      fail(line, "unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    };
    if (a.isNumber() && b.isNumber()) {
      const bool ints = isIntLike(a) && isIntLike(b);
      if (ints) {
        const std::int64_t x = asInt(a), y = asInt(b);
        std::int64_t r = 0;
        if (op == "+") {
          if (__builtin_add_overflow(x, y, &r)) fail(line, "integer overflow");
          return Value::integer(r);
        }
        if (op == "-") {
          if (__builtin_sub_overflow(x, y, &r)) fail(line, "integer overflow");
          return Value::integer(r);
        }
        if (op == "*") {
          if (__builtin_mul_overflow(x, y, &r)) fail(line, "integer overflow");
          return Value::integer(r);
        }
        if (op == "/") {
          if (y == 0) fail(line, "division by zero");
          return Value::real(static_cast<double>(x) / static_cast<double>(y));
        }
        if (op == "//" || op == "%") {
          if (y == 0) fail(line, "integer division or modulo by zero");
          if (x == std::numeric_limits<std::int64_t>::min() && y == -1) fail(line, "integer overflow");
          std::int64_t q = x / y, m = x % y;
          if (m != 0 && ((m < 0) != (y < 0))) {
            --q;
            m += y;
          }
          return Value::integer(op == "//" ? q : m);
        }
        if (op == "**") {
          if (y < 0) return Value::real(std::pow(static_cast<double>(x), static_cast<double>(y)));
          std::int64_t acc = 1;
          for (std::int64_t k = 0; k < y; ++k) {
            if (__builtin_mul_overflow(acc, x, &acc)) fail(line, "integer overflow");
            if (acc == 0 || acc == 1) break;
            if (acc == -1) {
              acc = ((y - k - 1) % 2 == 0) ? -1 : 1;
              break;
            }
          }
          return Value::integer(acc);
        }
      }
      const double x = asDouble(a), y = asDouble(b);
      if (op == "+") return Value::real(x + y);
      if (op == "-") return Value::real(x - y);
      if (op == "*") return Value::real(x * y);
      if (op == "/") {
        if (y == 0) fail(line, "float division by zero");
        return Value::real(x / y);
      }
      if (op == "//" || op == "%") {
        if (y == 0) fail(line, "float modulo");
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        if (op == "%") return Value::real(m);
        return Value::real(std::floor((x - m) / y + 0.5));
      }
      if (op == "**") return Value::real(std::pow(x, y));
      return unsupported();
    }
    if (op == "+") {
      if (a.type == T::Str && b.type == T::Str) return strValue(line, *a.s + *b.s);
      if (a.type == T::List && b.type == T::List && a.list->tuple == b.list->tuple) {
        std::vector<Value> items = a.list->items;
        items.insert(items.end(), b.list->items.begin(), b.list->items.end());
        return checkedList(line, std::move(items), a.list->tuple);
      }
      if (a.type == T::Str) fail(line, std::string("can only concatenate str (not \"") + typeName(b) + "\") to str");
      return unsupported();
    }
    if (op == "*") {
      const Value* seq = isIntLike(b) ? &a : &b;
      const Value* count = isIntLike(b) ? &b : &a;
      if (!isIntLike(*count)) return unsupported();
      const std::int64_t n = std::max<std::int64_t>(0, asInt(*count));
      if (seq->type == T::Str) {
        if (n > 0 && seq->s->size() > kMaxOutputBytes / static_cast<std::uint64_t>(n)) checkSize(line, kMaxOutputBytes + 1);
        std::string r;
        r.reserve(seq->s->size() * n);
        for (std::int64_t k = 0; k < n; ++k) r += *seq->s;
        return strValue(line, std::move(r));
      }
      if (seq->type == T::List) {
        if (n > 0 && seq->list->items.size() > kMaxItems / static_cast<std::uint64_t>(n)) checkItems(line, kMaxItems + 1);
        std::vector<Value> items;
        for (std::int64_t k = 0; k < n; ++k) items.insert(items.end(), seq->list->items.begin(), seq->list->items.end());
        return checkedList(line, std::move(items), seq->list->tuple);
      }
      return unsupported();
    }
    if (op == "%" && a.type == T::Str) refuseUnsupported(m_program.label, line, "str % value");
    return unsupported();
  }

  // ---- calls

  struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    const Value* get(std::size_t index, const char* name) const {
      if (index < pos.size()) return &pos[index];
      for (const auto& [k, v] : kw) {
        if (k == name) return &v;
      }
      return nullptr;
    }
  };

  // Arguments of a Call/Filter/Test node from kids[first].
  Args evalArgs(const Expr& e, std::size_t first, Scope& scope) {
    Args a;
    for (std::size_t k = first; k < e.kids.size(); ++k) {
      Value v = eval(*e.kids[k], scope);
      const std::string& name = k < e.argNames.size() ? e.argNames[k] : std::string();
      if (name.empty()) a.pos.push_back(std::move(v));
      else a.kw.emplace_back(name, std::move(v));
    }
    return a;
  }

  void checkArgs(int line, const Args& a, std::size_t maxPos, std::initializer_list<const char*> names,
                 const std::string& what) {
    if (a.pos.size() > maxPos) fail(line, what + " takes at most " + std::to_string(maxPos) + " positional argument(s)");
    for (const auto& [k, v] : a.kw) {
      bool ok = false;
      for (const char* n : names) ok = ok || k == n;
      if (!ok) fail(line, what + " got an unexpected keyword argument '" + k + "'");
    }
  }

  const std::string& needStr(int line, const Value* v, const std::string& what) {
    if (!v || v->type != T::Str) {
      if (v && v->isUndefined()) failUndefined(line, *v);
      fail(line, what + " must be a string" + (v ? std::string(", not ") + typeName(*v) : std::string()));
    }
    return *v->s;
  }
  std::int64_t needInt(int line, const Value* v, const std::string& what) {
    if (!v || !isIntLike(*v)) {
      if (v && v->isUndefined()) failUndefined(line, *v);
      fail(line, what + " must be an integer");
    }
    return asInt(*v);
  }

  Value call(const Expr& e, Scope& scope) {
    const int line = e.line;
    const Value callee = eval(*e.kids[0], scope);
    Args args = evalArgs(e, 1, scope);
    switch (callee.type) {
      case T::Undefined: failUndefined(line, callee);
      case T::Builtin: return callBuiltin(line, *callee.s, args);
      case T::Macro: return callMacro(line, *callee.macro, args);
      case T::Method: return callMethod(line, *callee.self, *callee.s, args);
      default: fail(line, std::string("'") + typeName(callee) + "' object is not callable");
    }
  }

  Value callBuiltin(int line, const std::string& name, const Args& a) {
    if (name == "raise_exception") {
      const Value* msg = a.get(0, "message");
      throw InputError(m_program.label + ": the chat template refused the conversation: " +
                       (msg ? toStr(*msg, line) : std::string()));
    }
    if (name == "strftime_now") {
      checkArgs(line, a, 1, {"format"}, "strftime_now()");
      const std::string& fmt = needStr(line, a.get(0, "format"), "strftime_now()'s format");
      if (fmt.size() > 256) fail(line, "strftime_now()'s format is longer than 256 bytes");
      if (fmt.empty()) return Value::str("");
      std::vector<char> buf(4096);
      const std::size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &m_now);
      if (n == 0) fail(line, "strftime_now() could not format '" + fmt + "'");
      return Value::str(std::string(buf.data(), n));
    }
    if (name == "namespace") {
      Value v;
      v.type = T::Namespace;
      v.ns = std::make_shared<NamespaceData>();
      for (const auto& p : a.pos) {
        if (p.type != T::Dict) fail(line, "namespace() takes a dict or keyword arguments");
        for (const auto& [k, x] : p.dict->items) {
          if (k.type != T::Str) fail(line, "namespace() attribute names must be strings");
          setNamespaceAttr(line, *v.ns, *k.s, x);
        }
      }
      for (const auto& [k, x] : a.kw) setNamespaceAttr(line, *v.ns, k, x);
      return v;
    }
    if (name == "range") {
      if (!a.kw.empty() || a.pos.empty() || a.pos.size() > 3) fail(line, "range() takes 1 to 3 integer arguments");
      std::int64_t start = 0, stop, stepv = 1;
      if (a.pos.size() == 1) {
        stop = needInt(line, &a.pos[0], "range()'s argument");
      } else {
        start = needInt(line, &a.pos[0], "range()'s start");
        stop = needInt(line, &a.pos[1], "range()'s stop");
        if (a.pos.size() == 3) stepv = needInt(line, &a.pos[2], "range()'s step");
      }
      if (stepv == 0) fail(line, "range() arg 3 must not be zero");
      const long double count = stepv > 0 ? std::ceil((static_cast<long double>(stop) - start) / stepv)
                                          : std::ceil((static_cast<long double>(start) - stop) / -static_cast<long double>(stepv));
      if (count > static_cast<long double>(kMaxItems)) {
        fail(line, "range() of more than " + std::to_string(kMaxItems) + " items");
      }
      std::vector<Value> items;
      for (std::int64_t k = start; stepv > 0 ? k < stop : k > stop; k += stepv) {
        items.push_back(Value::integer(k));
        if (items.size() > kMaxItems) break;
      }
      return checkedList(line, std::move(items));
    }
    if (name == "dict") {
      std::vector<std::pair<Value, Value>> items;
      for (const auto& p : a.pos) {
        if (p.type != T::Dict) fail(line, "dict() takes a dict or keyword arguments");
        for (const auto& kv : p.dict->items) putKey(line, items, kv.first, kv.second);
      }
      for (const auto& [k, x] : a.kw) putKey(line, items, Value::str(k), x);
      return checkedDict(line, std::move(items));
    }
    fail(line, "'" + name + "' is not callable");
  }

  Value callMacro(int line, const Stmt& m, const Args& a) {
    if (m_callDepth >= kMaxCallDepth) fail(line, "macros called more than " + std::to_string(kMaxCallDepth) + " deep");
    if (a.pos.size() > m.targets.size()) {
      fail(line, "macro '" + m.text + "' takes not more than " + std::to_string(m.targets.size()) + " argument(s)");
    }
    Scope inner;
    inner.parent = m_root;
    for (std::size_t k = 0; k < m.targets.size(); ++k) {
      const Value* given = k < a.pos.size() ? &a.pos[k] : nullptr;
      if (!given) {
        for (const auto& [n, v] : a.kw) {
          if (n == m.targets[k]) given = &v;
        }
      }
      if (given) {
        inner.vars[m.targets[k]] = *given;
      } else if (m.conds[k]) {
        inner.vars[m.targets[k]] = eval(*m.conds[k], inner);
      } else {
        inner.vars[m.targets[k]] = Value::undefined("'" + m.targets[k] + "' is undefined");
      }
    }
    for (const auto& [n, v] : a.kw) {
      if (std::find(m.targets.begin(), m.targets.end(), n) == m.targets.end()) {
        fail(line, "macro '" + m.text + "' takes no keyword argument '" + n + "'");
      }
    }
    ++m_callDepth;
    std::string out;
    exec(m.bodies[0], inner, out);
    --m_callDepth;
    return strValue(line, std::move(out));
  }

  std::vector<Value> strList(const std::vector<std::string>& parts) {
    std::vector<Value> items;
    items.reserve(parts.size());
    for (const auto& p : parts) items.push_back(Value::str(p));
    return items;
  }

  Value callMethod(int line, const Value& self, const std::string& name, const Args& a) {
    const std::string what = std::string(typeName(self)) + "." + name + "()";
    if (!a.kw.empty() && !(self.type == T::Str && (name == "split" || name == "rsplit"))) {
      fail(line, what + " takes no keyword arguments");
    }
    if (self.type == T::Str) {
      const std::string& s = *self.s;
      if (name == "strip" || name == "lstrip" || name == "rstrip") {
        checkArgs(line, a, 1, {}, what);
        const Value* chars = a.get(0, "");
        const std::string* set = nullptr;
        if (chars && chars->type != T::None) set = &needStr(line, chars, what + "'s argument");
        return Value::str(pyStrip(s, set, name != "rstrip", name != "lstrip"));
      }
      if (name == "split" || name == "rsplit") {
        checkArgs(line, a, 2, {"sep", "maxsplit"}, what);
        const Value* sepv = a.get(0, "sep");
        const std::string* sep = nullptr;
        if (sepv && sepv->type != T::None) {
          sep = &needStr(line, sepv, what + "'s separator");
          if (sep->empty()) fail(line, "empty separator");
        }
        const Value* maxv = a.get(1, "maxsplit");
        const std::int64_t maxsplit = maxv ? needInt(line, maxv, what + "'s maxsplit") : -1;
        return checkedList(line, strList(pySplit(s, sep, maxsplit, name == "rsplit")));
      }
      if (name == "splitlines") {
        checkArgs(line, a, 0, {}, what);
        return checkedList(line, strList(pySplitLines(s)));
      }
      if (name == "startswith" || name == "endswith") {
        checkArgs(line, a, 1, {}, what);
        const Value* p = a.get(0, "");
        if (!p) fail(line, what + " takes exactly one argument");
        std::vector<Value> options;
        if (p->type == T::List && p->list->tuple) options = p->list->items;
        else options.push_back(*p);
        for (const auto& o : options) {
          const std::string& x = needStr(line, &o, what + "'s argument");
          const bool hit = name == "startswith" ? s.compare(0, x.size(), x) == 0 && s.size() >= x.size()
                                                : s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
          if (hit) return Value::boolean(true);
        }
        return Value::boolean(false);
      }
      if (name == "replace") {
        checkArgs(line, a, 3, {}, what);
        if (a.pos.size() < 2) fail(line, what + " takes at least 2 arguments");
        const std::int64_t count = a.pos.size() > 2 ? needInt(line, &a.pos[2], what + "'s count") : -1;
        return strValue(line, pyReplace(s, needStr(line, &a.pos[0], what + "'s old"),
                                        needStr(line, &a.pos[1], what + "'s new"), count));
      }
      if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
          name == "isdigit" || name == "isalpha" || name == "isspace" || name == "islower" ||
          name == "isupper") {
        checkArgs(line, a, 0, {}, what);
        if (name == "upper") return strValue(line, pyUpper(s));
        if (name == "lower") return strValue(line, pyLower(s));
        if (name == "title") return strValue(line, pyTitle(s));
        if (name == "capitalize") return strValue(line, pyCapitalize(s));
        if (name == "isdigit") return Value::boolean(pyIsDigit(s));
        if (name == "isalpha") return Value::boolean(pyIsAlpha(s));
        if (name == "islower") return Value::boolean(pyIsLower(s, false));
        if (name == "isupper") return Value::boolean(pyIsLower(s, true));
        const std::u32string u = toU32(s);
        return Value::boolean(!u.empty() && std::all_of(u.begin(), u.end(), isPySpace));
      }
      if (name == "join") {
        checkArgs(line, a, 1, {}, what);
        const Value* seq = a.get(0, "");
        if (!seq) fail(line, what + " takes exactly one argument");
        std::string out;
        std::size_t k = 0;
        for (const auto& x : iterate(line, *seq)) {
          if (x.type != T::Str) {
            fail(line, "sequence item " + std::to_string(k) + ": expected str instance, " + typeName(x) + " found");
          }
          if (k++) out += s;
          out += *x.s;
          checkSize(line, out.size());
        }
        return strValue(line, std::move(out));
      }
      if (name == "find" || name == "rfind" || name == "count") {
        checkArgs(line, a, 1, {}, what);
        const std::string& x = needStr(line, a.get(0, ""), what + "'s argument");
        if (name == "count") {
          if (x.empty()) return Value::integer(static_cast<std::int64_t>(codePoints(s) + 1));
          std::int64_t n = 0;
          for (std::size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + x.size())) ++n;
          return Value::integer(n);
        }
        const std::size_t p = name == "find" ? s.find(x) : s.rfind(x);
        if (p == std::string::npos) return Value::integer(-1);
        return Value::integer(static_cast<std::int64_t>(codePoints(s.substr(0, p))));
      }
    } else if (self.type == T::Dict) {
      const DictData& d = *self.dict;
      if (name == "items" || name == "keys" || name == "values") {
        checkArgs(line, a, 0, {}, what);
        std::vector<Value> items;
        for (const auto& [k, v] : d.items) {
          if (name == "items") items.push_back(makeList({k, v}, true));
          else items.push_back(name == "keys" ? k : v);
        }
        return checkedList(line, std::move(items));
      }
      if (name == "get") {
        checkArgs(line, a, 2, {}, what);
        const Value* key = a.get(0, "");
        if (!key) fail(line, "get expected at least 1 argument, got 0");
        if (const Value* v = dictFind(d, *key)) return *v;
        return a.pos.size() > 1 ? a.pos[1] : Value::none();
      }
    } else if (self.type == T::List) {
      if (name == "index" || name == "count") {
        checkArgs(line, a, 1, {}, what);
        const Value* x = a.get(0, "");
        if (!x) fail(line, what + " takes exactly one argument");
        std::int64_t n = 0;
        for (std::size_t k = 0; k < self.list->items.size(); ++k) {
          if (equal(self.list->items[k], *x)) {
            if (name == "index") return Value::integer(static_cast<std::int64_t>(k));
            ++n;
          }
        }
        if (name == "index") fail(line, "list.index(x): x not in list");
        return Value::integer(n);
      }
    } else if (self.type == T::Loop && name == "cycle") {
      if (a.pos.empty()) fail(line, "no items for cycling given");
      return a.pos[self.loop->index0 % static_cast<std::int64_t>(a.pos.size())];
    }
    const bool mutating = name == "append" || name == "extend" || name == "insert" || name == "pop" ||
                          name == "remove" || name == "sort" || name == "reverse" || name == "clear" ||
                          name == "update" || name == "setdefault" || name == "popitem";
    if (mutating) fail(line, "access to attribute '" + name + "' of '" + typeName(self) + "' object is unsafe.");
    refuseUnsupported(m_program.label, line, what);
  }

  // ---- filters

  std::int64_t length(int line, const Value& v) {
    switch (v.type) {
      case T::Undefined: return 0;
      case T::Str: return static_cast<std::int64_t>(codePoints(*v.s));
      case T::List: return static_cast<std::int64_t>(v.list->items.size());
      case T::Dict: return static_cast<std::int64_t>(v.dict->items.size());
      default: fail(line, std::string("object of type '") + typeName(v) + "' has no len()");
    }
  }

  // jinja2's attribute getter for selectattr/map/join: dotted paths, integer parts index.
  Value attrPath(int line, const Value& item, const std::string& path) {
    Value cur = item;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = path.find('.', start);
      const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const bool digits = !part.empty() && part.size() < 18 && std::all_of(part.begin(), part.end(), ::isdigit);
      cur = digits ? getItem(line, cur, Value::integer(std::stoll(part))) : getItem(line, cur, Value::str(part));
      if (dot == std::string::npos) return cur;
      start = dot + 1;
    }
  }

  std::string tojson(int line, const Value& v, const std::string* indent, int level) {
    std::string out;
    tojsonInto(line, out, v, indent, level);
    return out;
  }

  void tojsonInto(int line, std::string& out, const Value& v, const std::string* indent, int level) {
    if (out.size() > kMaxOutputBytes) checkSize(line, out.size());
    auto newline = [&](int lv) {
      out += '\n';
      for (int k = 0; k < lv; ++k) out += *indent;
    };
    switch (v.type) {
      case T::None: out += "null"; return;
      case T::Bool: out += v.b ? "true" : "false"; return;
      case T::Int: out += std::to_string(v.i); return;
      case T::Float:
        if (std::isnan(v.f)) out += "NaN";
        else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
        else out += pyFloat(v.f);
        return;
      case T::Str: out += jsonQuote(*v.s); return;
      case T::List: {
        if (v.list->items.empty()) {
          out += "[]";
          return;
        }
        out += '[';
        bool first = true;
        for (const auto& x : v.list->items) {
          if (!first) out += indent ? "," : ", ";
          first = false;
          if (indent) newline(level + 1);
          tojsonInto(line, out, x, indent, level + 1);
        }
        if (indent) newline(level);
        out += ']';
        return;
      }
      case T::Dict: {
        if (v.dict->items.empty()) {
          out += "{}";
          return;
        }
        out += '{';
        bool first = true;
        for (const auto& [k, x] : v.dict->items) {
          if (!first) out += indent ? "," : ", ";
          first = false;
          if (indent) newline(level + 1);
          switch (k.type) {
            case T::Str: out += jsonQuote(*k.s); break;
            case T::None: out += "\"null\""; break;
            case T::Bool: out += k.b ? "\"true\"" : "\"false\""; break;
            case T::Int: out += "\"" + std::to_string(k.i) + "\""; break;
            case T::Float: {
              std::string f;
              tojsonInto(line, f, k, nullptr, 0);
              out += "\"" + f + "\"";
              break;
            }
            default: fail(line, std::string("keys must be str, int, float, bool or None, not ") + typeName(k));
          }
          out += ": ";
          tojsonInto(line, out, x, indent, level + 1);
        }
        if (indent) newline(level);
        out += '}';
        return;
      }
      default:
        fail(line, std::string("Object of type ") + typeName(v) + " is not JSON serializable");
    }
  }

  Value filter(const Expr& e, Scope& scope) {
    const int line = e.line;
    const Value v = eval(*e.kids[0], scope);
    const Args a = evalArgs(e, 1, scope);
    return applyFilter(line, e.name, v, a, scope);
  }

  Value applyFilter(int line, const std::string& name, const Value& v, const Args& a, Scope& scope) {
    const std::string what = "|" + name;
    if (name == "default" || name == "d") {
      checkArgs(line, a, 2, {"default_value", "boolean"}, what);
      const Value* dflt = a.get(0, "default_value");
      const Value* boolean = a.get(1, "boolean");
      const bool useBool = boolean && truthy(*boolean);
      if (v.isUndefined() || (useBool && !truthy(v))) return dflt ? *dflt : Value::str("");
      return v;
    }
    if (name == "length" || name == "count") {
      checkArgs(line, a, 0, {}, what);
      return Value::integer(length(line, v));
    }
    if (name == "trim") {
      checkArgs(line, a, 1, {"chars"}, what);
      const Value* chars = a.get(0, "chars");
      const std::string* set = nullptr;
      if (chars && chars->type != T::None) set = &needStr(line, chars, "|trim's chars");
      return strValue(line, pyStrip(toStr(v, line), set, true, true));
    }
    if (name == "lower" || name == "upper" || name == "capitalize" || name == "title" ||
        name == "string" || name == "safe") {
      checkArgs(line, a, 0, {}, what);
      const std::string s = toStr(v, line);
      if (name == "lower") return strValue(line, pyLower(s));
      if (name == "upper") return strValue(line, pyUpper(s));
      if (name == "capitalize") return strValue(line, pyCapitalize(s));
      if (name == "title") return strValue(line, jinjaTitle(s));
      if (v.type == T::Str) return v;
      return strValue(line, s);
    }
    if (name == "tojson") {
      checkArgs(line, a, 1, {"indent"}, what);
      const Value* ind = a.get(0, "indent");
      std::string indent;
      const bool hasIndent = ind && ind->type != T::None;
      if (hasIndent) {
        if (ind->type == T::Str) {
          indent = *ind->s;
        } else {
          const std::int64_t n = needInt(line, ind, "|tojson's indent");
          if (n > 64) fail(line, "|tojson's indent is more than 64");
          indent = std::string(std::max<std::int64_t>(0, n), ' ');
        }
      }
      return strValue(line, tojson(line, v, hasIndent ? &indent : nullptr, 0));
    }
    if (name == "int") {
      checkArgs(line, a, 2, {"default", "base"}, what);
      const Value* dflt = a.get(0, "default");
      const Value* basev = a.get(1, "base");
      const std::int64_t base = basev ? needInt(line, basev, "|int's base") : 10;
      return toInt(v, dflt ? *dflt : Value::integer(0), base);
    }
    if (name == "float") {
      checkArgs(line, a, 1, {"default"}, what);
      const Value* dflt = a.get(0, "default");
      if (v.isNumber()) return Value::real(asDouble(v));
      if (v.type == T::Str) {
        const std::string s = pyStrip(*v.s, nullptr, true, true);
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return Value::real(d);
      }
      return dflt ? *dflt : Value::real(0.0);
    }
    if (name == "abs") {
      checkArgs(line, a, 0, {}, what);
      if (v.type == T::Float) return Value::real(std::fabs(v.f));
      if (isIntLike(v)) {
        if (asInt(v) == std::numeric_limits<std::int64_t>::min()) fail(line, "integer overflow");
        return Value::integer(std::llabs(asInt(v)));
      }
      if (v.isUndefined()) failUndefined(line, v);
      fail(line, std::string("bad operand type for abs(): '") + typeName(v) + "'");
    }
    if (name == "first" || name == "last") {
      checkArgs(line, a, 0, {}, what);
      if (v.isUndefined() && name == "last") failUndefined(line, v);
      const std::vector<Value> items = iterate(line, v);
      if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
      return name == "first" ? items.front() : items.back();
    }
    if (name == "list") {
      checkArgs(line, a, 0, {}, what);
      return checkedList(line, iterate(line, v));
    }
    if (name == "reverse") {
      checkArgs(line, a, 0, {}, what);
      if (v.type == T::Str) {
        std::u32string u = toU32(*v.s);
        std::reverse(u.begin(), u.end());
        return Value::str(fromU32(u));
      }
      std::vector<Value> items = iterate(line, v);
      std::reverse(items.begin(), items.end());
      return checkedList(line, std::move(items));
    }
    if (name == "items") {
      checkArgs(line, a, 0, {}, what);
      if (v.isUndefined()) return makeList({});
      if (v.type != T::Dict) fail(line, "Can only get item pairs from a mapping.");
      std::vector<Value> items;
      for (const auto& [k, x] : v.dict->items) items.push_back(makeList({k, x}, true));
      return checkedList(line, std::move(items));
    }
    if (name == "join") {
      checkArgs(line, a, 2, {"d", "attribute"}, what);
      const Value* sepv = a.get(0, "d");
      const std::string sep = sepv ? toStr(*sepv, line) : std::string();
      const Value* attr = a.get(1, "attribute");
      std::string out;
      bool first = true;
      for (const auto& x : iterate(line, v)) {
        if (!first) out += sep;
        first = false;
        out += toStr(attr ? attrPath(line, x, toStr(*attr, line)) : x, line);
        checkSize(line, out.size());
      }
      return strValue(line, std::move(out));
    }
    if (name == "replace") {
      checkArgs(line, a, 3, {"old", "new", "count"}, what);
      const Value* from = a.get(0, "old");
      const Value* to = a.get(1, "new");
      if (!from || !to) fail(line, "|replace takes the old and the new text");
      const Value* count = a.get(2, "count");
      const std::int64_t n = count && count->type != T::None ? needInt(line, count, "|replace's count") : -1;
      return strValue(line, pyReplace(toStr(v, line), toStr(*from, line), toStr(*to, line), n));
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
      const bool byAttr = name == "selectattr" || name == "rejectattr";
      const bool keep = name == "selectattr" || name == "select";
      if (!a.kw.empty()) fail(line, what + " takes no keyword arguments");
      std::size_t next = 0;
      std::string attr;
      if (byAttr) {
        if (a.pos.empty()) fail(line, what + " needs an attribute name");
        attr = toStr(a.pos[0], line);
        next = 1;
      }
      std::string testName;
      if (next < a.pos.size()) testName = needStr(line, &a.pos[next++], what + "'s test");
      static const std::vector<std::string> kTestNames = {
          "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number",
          "integer", "float", "boolean", "true", "false", "equalto", "eq", "==", "ne", "!=", "lt",
          "<", "le", "<=", "gt", ">", "ge", ">=", "in", "odd", "even", "divisibleby", "sameas",
          "lower", "upper"};
      if (!testName.empty() && std::find(kTestNames.begin(), kTestNames.end(), testName) == kTestNames.end()) {
        refuseUnsupported(m_program.label, line, "is " + testName);
      }
      const std::vector<Value> testArgs(a.pos.begin() + static_cast<std::ptrdiff_t>(next), a.pos.end());
      std::vector<Value> out;
      for (const auto& x : iterate(line, v)) {
        const Value subject = byAttr ? attrPath(line, x, attr) : x;
        const bool r = testName.empty() ? truthy(subject) : applyTest(line, testName, subject, testArgs);
        if (r == keep) out.push_back(x);
      }
      return checkedList(line, std::move(out));
    }
    if (name == "map") {
      const Value* attr = nullptr;
      const Value* dflt = nullptr;
      for (const auto& [k, x] : a.kw) {
        if (k == "attribute") attr = &x;
        else if (k == "default") dflt = &x;
        else fail(line, "|map got an unexpected keyword argument '" + k + "'");
      }
      std::vector<Value> out;
      if (attr) {
        if (!a.pos.empty()) fail(line, "|map takes an attribute or a filter, not both");
        const std::string path = toStr(*attr, line);
        for (const auto& x : iterate(line, v)) {
          Value y = attrPath(line, x, path);
          if (y.isUndefined() && dflt) y = *dflt;
          out.push_back(std::move(y));
        }
        return checkedList(line, std::move(out));
      }
      if (a.pos.empty()) fail(line, "|map needs a filter name or attribute=");
      const std::string f = needStr(line, &a.pos[0], "|map's filter");
      static const std::vector<std::string> kMappable = {
          "trim", "length", "count", "lower", "upper", "tojson", "string", "int", "float", "first",
          "last", "join", "default", "d", "replace", "capitalize", "title", "items", "list",
          "reverse", "safe", "abs"};
      if (std::find(kMappable.begin(), kMappable.end(), f) == kMappable.end()) {
        refuseUnsupported(m_program.label, line, "|map('" + f + "')");
      }
      Args rest;
      rest.pos.assign(a.pos.begin() + 1, a.pos.end());
      for (const auto& x : iterate(line, v)) out.push_back(applyFilter(line, f, x, rest, scope));
      return checkedList(line, std::move(out));
    }
    if (name == "dictsort") {
      checkArgs(line, a, 3, {"case_sensitive", "by", "reverse"}, what);
      const Value* cs = a.get(0, "case_sensitive");
      const Value* by = a.get(1, "by");
      const Value* rev = a.get(2, "reverse");
      const bool caseSensitive = cs && truthy(*cs);
      std::string byName = by ? needStr(line, by, "|dictsort's by") : "key";
      if (byName != "key" && byName != "value") fail(line, "You can only sort by either \"key\" or \"value\"");
      if (v.type != T::Dict) fail(line, "|dictsort needs a dict");
      std::vector<std::pair<Value, Value>> items = v.dict->items;
      const std::size_t pos = byName == "key" ? 0 : 1;
      auto sortKey = [&](const std::pair<Value, Value>& kv) {
        const Value& x = pos == 0 ? kv.first : kv.second;
        return (!caseSensitive && x.type == T::Str) ? Value::str(pyLower(*x.s)) : x;
      };
      std::vector<std::pair<Value, std::size_t>> keyed;
      for (std::size_t k = 0; k < items.size(); ++k) keyed.emplace_back(sortKey(items[k]), k);
      std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return order(line, x.first, y.first, "<") < 0;
      });
      if (rev && truthy(*rev)) std::reverse(keyed.begin(), keyed.end());
      std::vector<Value> out;
      for (const auto& [key, k] : keyed) out.push_back(makeList({items[k].first, items[k].second}, true));
      return checkedList(line, std::move(out));
    }
    if (name == "indent") {
      checkArgs(line, a, 3, {"width", "first", "blank"}, what);
      const Value* width = a.get(0, "width");
      const Value* first = a.get(1, "first");
      const Value* blank = a.get(2, "blank");
      std::string pad(4, ' ');
      if (width && width->type == T::Str) {
        pad = *width->s;
      } else if (width) {
        const std::int64_t n = needInt(line, width, "|indent's width");
        if (n > 256) fail(line, "|indent's width is more than 256");
        pad = std::string(std::max<std::int64_t>(0, n), ' ');
      }
      const std::vector<std::string> lines = pySplitLines(toStr(v, line) + "\n");
      std::string out;
      if (blank && truthy(*blank)) {
        for (std::size_t k = 0; k < lines.size(); ++k) out += (k ? "\n" + pad : std::string()) + lines[k];
      } else {
        out = lines.empty() ? std::string() : lines[0];
        for (std::size_t k = 1; k < lines.size(); ++k) {
          out += "\n";
          if (!lines[k].empty()) out += pad;
          out += lines[k];
          checkSize(line, out.size());
        }
      }
      if (first && truthy(*first)) out = pad + out;
      return strValue(line, std::move(out));
    }
    if (name == "unique") {
      checkArgs(line, a, 2, {"case_sensitive", "attribute"}, what);
      const Value* cs = a.get(0, "case_sensitive");
      const Value* attr = a.get(1, "attribute");
      const bool caseSensitive = cs && truthy(*cs);
      std::vector<Value> seen, out;
      for (const auto& x : iterate(line, v)) {
        Value key = attr ? attrPath(line, x, toStr(*attr, line)) : x;
        if (!caseSensitive && key.type == T::Str) key = Value::str(pyLower(*key.s));
        if (key.type == T::List && !key.list->tuple) fail(line, "unhashable type: 'list'");
        if (key.type == T::Dict) fail(line, "unhashable type: 'dict'");
        bool dup = false;
        for (const auto& s : seen) dup = dup || equal(s, key);
        step(line, seen.size() / 16);
        if (dup) continue;
        seen.push_back(std::move(key));
        out.push_back(x);
      }
      return checkedList(line, std::move(out));
    }
    refuseUnsupported(m_program.label, line, what);
  }

  Value toInt(const Value& v, const Value& dflt, std::int64_t base) {
    if (isIntLike(v)) return Value::integer(asInt(v));
    if (v.type == T::Float) {
      if (!std::isfinite(v.f) || std::fabs(v.f) >= 9.2e18) return dflt;
      return Value::integer(static_cast<std::int64_t>(v.f));
    }
    if (v.type != T::Str) return dflt;
    std::string s = pyStrip(*v.s, nullptr, true, true);
    std::string digits;
    for (std::size_t k = 0; k < s.size(); ++k) {
      if (s[k] == '_' && k > 0 && k + 1 < s.size() && std::isalnum(static_cast<unsigned char>(s[k - 1])) &&
          std::isalnum(static_cast<unsigned char>(s[k + 1]))) continue;
      digits += s[k];
    }
    if (base == 16 && digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits = digits.substr(2);
    if (base >= 2 && base <= 36 && !digits.empty()) {
      errno = 0;
      char* end = nullptr;
      const long long r = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
      if (errno == 0 && end == digits.c_str() + digits.size() && !isPySpace(static_cast<unsigned char>(digits[0]))) {
        return Value::integer(r);
      }
    }
    char* end = nullptr;
    const double d = std::strtod(digits.c_str(), &end);
    if (!digits.empty() && end == digits.c_str() + digits.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) {
      return Value::integer(static_cast<std::int64_t>(d));
    }
    return dflt;
  }

  // ---- tests

  bool test(const Expr& e, Scope& scope) {
    const Value v = eval(*e.kids[0], scope);
    const Args a = evalArgs(e, 1, scope);
    if (!a.kw.empty()) fail(e.line, "'is " + e.name + "' takes no keyword arguments");
    return applyTest(e.line, e.name, v, a.pos);
  }

  bool applyTest(int line, const std::string& name, const Value& v, const std::vector<Value>& args) {
    auto arg = [&]() -> const Value& {
      if (args.empty()) fail(line, "'is " + name + "' needs an argument");
      return args[0];
    };
    if (name == "defined") return !v.isUndefined();
    if (name == "undefined") return v.isUndefined();
    if (name == "none") return v.type == T::None;
    if (name == "string") return v.type == T::Str;
    if (name == "mapping") return v.type == T::Dict;
    if (name == "iterable") return v.type == T::Undefined || v.type == T::Str || v.type == T::List || v.type == T::Dict;
    if (name == "sequence") return v.type == T::Undefined || v.type == T::Str || v.type == T::List || v.type == T::Dict;
    if (name == "number") return v.isNumber();
    if (name == "integer") return v.type == T::Int;
    if (name == "float") return v.type == T::Float;
    if (name == "boolean") return v.type == T::Bool;
    if (name == "true") return v.type == T::Bool && v.b;
    if (name == "false") return v.type == T::Bool && !v.b;
    if (name == "equalto" || name == "eq" || name == "==") return equal(v, arg());
    if (name == "ne" || name == "!=") return !equal(v, arg());
    if (name == "lt" || name == "<") return order(line, v, arg(), "<") < 0;
    if (name == "le" || name == "<=") return order(line, v, arg(), "<=") <= 0;
    if (name == "gt" || name == ">") return order(line, v, arg(), ">") > 0;
    if (name == "ge" || name == ">=") return order(line, v, arg(), ">=") >= 0;
    if (name == "in") return contains(line, arg(), v);
    if (name == "odd" || name == "even" || name == "divisibleby") {
      if (v.isUndefined()) failUndefined(line, v);
      if (!isIntLike(v)) fail(line, "'is " + name + "' needs an integer");
      std::int64_t m = 2;
      if (name == "divisibleby") {
        m = needInt(line, &arg(), "'is divisibleby''s argument");
        if (m == 0) fail(line, "integer division or modulo by zero");
      }
      const std::int64_t r = m == -1 ? 0 : ((asInt(v) % m) + m) % m;
      return name == "odd" ? r == 1 : r == 0;
    }
    if (name == "sameas") {
      const Value& o = arg();
      if (v.type != o.type) return false;
      switch (v.type) {
        case T::None:
        case T::Undefined: return v.type == T::None || v.s == o.s;
        case T::Bool: return v.b == o.b;
        case T::Int: return v.i == o.i && v.i >= -5 && v.i <= 256;
        case T::Str: return v.s == o.s;
        case T::List: return v.list == o.list;
        case T::Dict: return v.dict == o.dict;
        case T::Namespace: return v.ns == o.ns;
        default: return false;
      }
    }
    if (name == "lower") return pyIsLower(toStr(v, line), false);
    if (name == "upper") return pyIsLower(toStr(v, line), true);
    refuseUnsupported(m_program.label, line, "is " + name);
  }

  const Program& m_program;
  std::tm m_now;
  Scope* m_root = nullptr;
  std::uint64_t m_steps = 0;
  int m_callDepth = 0;
};

Value makeList(std::vector<Value> items, bool tuple) {
  auto d = std::make_shared<ListData>();
  int depth = 0;
  for (const auto& x : items) {
    if (x.type == T::List) depth = std::max(depth, x.list->depth);
    else if (x.type == T::Dict) depth = std::max(depth, x.dict->depth);
  }
  d->depth = depth + 1;
  d->items = std::move(items);
  d->tuple = tuple;
  Value v;
  v.type = T::List;
  v.list = std::move(d);
  return v;
}

Value makeDict(std::vector<std::pair<Value, Value>> items) {
  auto d = std::make_shared<DictData>();
  int depth = 0;
  for (const auto& kv : items) {
    for (const Value* x : {&kv.first, &kv.second}) {
      if (x->type == T::List) depth = std::max(depth, x->list->depth);
      else if (x->type == T::Dict) depth = std::max(depth, x->dict->depth);
    }
  }
  d->depth = depth + 1;
  d->items = std::move(items);
  Value v;
  v.type = T::Dict;
  v.dict = std::move(d);
  return v;
}

}  // namespace
}  // namespace chat

namespace fs = std::filesystem;

ChatTemplate::ChatTemplate(const std::string& source, const std::string& label)
    : m_program(chat::parseTemplate(source, label)) {}

const std::string& ChatTemplate::label() const { return m_program->label; }

std::string ChatTemplate::render(const nlohmann::json& context) const {
  const std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);
  return render(context, now);
}

std::string ChatTemplate::render(const nlohmann::json& context, const std::tm& now) const {
  chat::Renderer r(*m_program, now);
  return r.run(context);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const std::tm& now) const {
  chat::Renderer r(*m_program, now);
  return r.run(context);
}

namespace {

// tokenizer_config.json of a large vocabulary carries every added token; 64 MiB as the
// tokenizer's reader allows.
constexpr std::uint64_t kMaxConfigBytes = 64u << 20;

std::optional<nlohmann::json> readConfig(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  nlohmann::json j = parseJsonFile(file.string(), kMaxConfigBytes);
  if (!j.is_object()) throw InputError(file.string() + ": not a JSON object");
  return j;
}

}  // namespace

std::optional<ChatTemplate> readChatTemplate(const std::string& dir) {
  const fs::path jinja = fs::path(dir) / "chat_template.jinja";
  std::error_code ec;
  if (fs::exists(jinja, ec) || entryExists(jinja.string())) {
    const std::string text = readRegularFile(jinja.string(), chat::kMaxTemplateBytes, "chat template");
    return ChatTemplate(text, jinja.string());
  }
  const fs::path configFile = fs::path(dir) / "tokenizer_config.json";
  const auto config = readConfig(configFile);
  if (!config) return std::nullopt;
  const auto it = config->find("chat_template");
  if (it == config->end() || it->is_null()) return std::nullopt;
  const std::string label = configFile.string() + ": chat_template";
  if (it->is_string()) return ChatTemplate(it->get<std::string>(), label);
  if (it->is_array()) {
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string()) {
        throw InputError(label + ": each entry must be an object with a string \"name\" and \"template\"");
      }
      if (entry["name"].get<std::string>() == "default") {
        return ChatTemplate(entry["template"].get<std::string>(), label);
      }
    }
    throw InputError(label + ": a list of named templates without one named \"default\"");
  }
  throw InputError(label + ": must be a string or a list of {\"name\", \"template\"} (got " +
                   describeJson(*it) + ")");
}

nlohmann::json chatContext(const std::string& dir, const std::vector<ChatMessage>& messages,
                           bool addGenerationPrompt) {
  nlohmann::json ctx = nlohmann::json::object();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  ctx["messages"] = std::move(list);
  ctx["add_generation_prompt"] = addGenerationPrompt;
  ctx["tools"] = nullptr;
  ctx["documents"] = nullptr;
  const std::optional<nlohmann::json> config = readConfig(fs::path(dir) / "tokenizer_config.json");
  const std::optional<nlohmann::json> map = readConfig(fs::path(dir) / "special_tokens_map.json");
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    for (const auto* src : {&config, &map}) {
      if (!*src) continue;
      const auto it = (*src)->find(key);
      if (it == (*src)->end() || it->is_null()) continue;
      if (it->is_string()) {
        ctx[key] = it->get<std::string>();
      } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        ctx[key] = (*it)["content"].get<std::string>();
      } else {
        const std::string file = src == &config ? "tokenizer_config.json" : "special_tokens_map.json";
        throw InputError((fs::path(dir) / file).string() + ": $." + key +
                         ": must be a string or an object with a string \"content\" (got " +
                         describeJson(*it) + ")");
      }
      break;
    }
  }
  return ctx;
}

}  // namespace rr::core
