#pragma once
// The values a chat template computes with: Python's None, bool, int, float, str, list, tuple
// and dict, jinja2's Undefined, namespace() objects, the `loop` object, macros, and bound
// methods (`s.strip` before its call). Lists, tuples and dicts are immutable (transformers uses
// jinja2's ImmutableSandboxedEnvironment); only namespaces change.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rr::core::chat {

struct Stmt;
struct Value;

struct ListData {
  std::vector<Value> items;
  bool tuple = false;
  int depth = 1;
};

struct DictData {
  std::vector<std::pair<Value, Value>> items;  // insertion order, as Python's dict
  int depth = 1;
};

struct NamespaceData {
  std::vector<std::pair<std::string, Value>> attrs;
};

struct LoopData {
  std::shared_ptr<const std::vector<Value>> items;
  std::int64_t index0 = 0;
};

struct Value {
  enum class Type { Undefined, None, Bool, Int, Float, Str, List, Dict, Namespace, Loop, Macro, Method, Builtin };
  Type type = Type::Undefined;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  // Str: the text. Undefined: why it is undefined ("'x' is undefined"). Method, Builtin: the name.
  std::shared_ptr<const std::string> s;
  std::shared_ptr<const ListData> list;
  std::shared_ptr<const DictData> dict;
  std::shared_ptr<NamespaceData> ns;
  std::shared_ptr<const LoopData> loop;
  std::shared_ptr<const Value> self;  // Method: the object it is bound to
  const Stmt* macro = nullptr;

  static Value undefined(std::string why) {
    Value v;
    v.s = std::make_shared<const std::string>(std::move(why));
    return v;
  }
  static Value none() {
    Value v;
    v.type = Type::None;
    return v;
  }
  static Value boolean(bool x) {
    Value v;
    v.type = Type::Bool;
    v.b = x;
    return v;
  }
  static Value integer(std::int64_t x) {
    Value v;
    v.type = Type::Int;
    v.i = x;
    return v;
  }
  static Value real(double x) {
    Value v;
    v.type = Type::Float;
    v.f = x;
    return v;
  }
  static Value str(std::string x) {
    Value v;
    v.type = Type::Str;
    v.s = std::make_shared<const std::string>(std::move(x));
    return v;
  }
  bool isUndefined() const { return type == Type::Undefined; }
  bool isNumber() const { return type == Type::Bool || type == Type::Int || type == Type::Float; }
  const std::string& text() const { return *s; }
};

}  // namespace rr::core::chat
