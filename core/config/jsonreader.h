#pragma once
// Reads one JSON object field by field, tracking the JSON path for error messages and
// rejecting keys nobody asked for (a typo must not be silently ignored).
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/errors.h"
#include "common/jsonparse.h"

namespace rr::core {

class JsonObjectReader {
 public:
  JsonObjectReader(const nlohmann::json& obj, std::string path, std::string file)
      : m_obj(obj), m_path(std::move(path)), m_file(std::move(file)) {
    if (!m_obj.is_object()) fail(m_path, "must be an object (got " + describe(m_obj) + ")");
  }

  bool has(const std::string& key) const { return m_obj.contains(key); }
  std::string pathOf(const std::string& key) const { return m_path + "." + key; }
  const std::string& file() const { return m_file; }

  [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
    throw InputError(m_file + ": " + path + ": " + msg);
  }

  const nlohmann::json* raw(const std::string& key) {
    m_seen.insert(key);
    auto it = m_obj.find(key);
    return it == m_obj.end() ? nullptr : &*it;
  }

  std::string str(const std::string& key, const std::string& def) {
    const auto* v = raw(key);
    if (!v) return def;
    if (!v->is_string()) fail(pathOf(key), "must be a string (got " + describe(*v) + ")");
    return v->get<std::string>();
  }

  std::string oneOf(const std::string& key, const std::string& def,
                    const std::vector<std::string>& allowed) {
    std::string s = str(key, def);
    for (const auto& a : allowed)
      if (a == s) return s;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(pathOf(key), "must be one of " + list + " (got \"" + shortPrefix(s) + "\")");
  }

  long long integer(const std::string& key, long long def, long long lo, long long hi) {
    const auto* v = raw(key);
    if (!v) return def;
    if (!v->is_number_integer()) fail(pathOf(key), "must be an integer (got " + describe(*v) + ")");
    // An unsigned value above the long long range would wrap to a negative number in get<>().
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
      fail(pathOf(key), "must be <= " + std::to_string(hi) + " (got " + v->dump() + ")");
    long long x = v->get<long long>();
    checkRange(key, static_cast<double>(x), static_cast<double>(lo), static_cast<double>(hi), false,
               std::to_string(x));
    return x;
  }

  // exclusiveLo: the value must be strictly greater than lo.
  double number(const std::string& key, double def, double lo, double hi,
                bool exclusiveLo = false) {
    const auto* v = raw(key);
    if (!v) return def;
    if (!v->is_number()) fail(pathOf(key), "must be a number (got " + describe(*v) + ")");
    double x = v->get<double>();
    checkRange(key, x, lo, hi, exclusiveLo, v->dump());
    return x;
  }

  bool boolean(const std::string& key, bool def) {
    const auto* v = raw(key);
    if (!v) return def;
    if (!v->is_boolean()) fail(pathOf(key), "must be true or false (got " + describe(*v) + ")");
    return v->get<bool>();
  }

  // Throws on the first key that no reader call asked for.
  void finish() const {
    for (auto it = m_obj.begin(); it != m_obj.end(); ++it)
      if (!m_seen.count(it.key())) {
        std::string known;
        for (const auto& k : m_seen) known += (known.empty() ? "" : ", ") + k;
        fail(pathOf(it.key()), "unknown key (known keys here: " + known + ")");
      }
  }

  static std::string describe(const nlohmann::json& v) { return describeJson(v); }

 private:
  void checkRange(const std::string& key, double x, double lo, double hi, bool exclusiveLo,
                  const std::string& shown) const {
    auto fmt = [](double d) {
      nlohmann::json j = d;
      if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 1e15)
        return std::to_string(static_cast<long long>(d));
      return j.dump();
    };
    if (exclusiveLo && !(x > lo))
      fail(pathOf(key), "must be > " + fmt(lo) + " (got " + shown + ")");
    if (!exclusiveLo && x < lo) fail(pathOf(key), "must be >= " + fmt(lo) + " (got " + shown + ")");
    if (x > hi) fail(pathOf(key), "must be <= " + fmt(hi) + " (got " + shown + ")");
  }

  const nlohmann::json& m_obj;
  std::string m_path;
  std::string m_file;
  std::set<std::string> m_seen;
};

}  // namespace rr::core
