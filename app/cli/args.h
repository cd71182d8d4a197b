#pragma once
// A small command-line parser for the subcommands: --key value, --key=value, --flag, positionals.
// Written here because each subcommand needs exact "unknown option" errors with exit code 2 and
// generated --help text, and no option parser is among the project's Debian dependencies.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/errors.h"

namespace rr::cli {

struct OptionSpec {
  std::string name;       // without dashes
  std::string valueName;  // empty for a flag
  std::string help;
  bool repeatable = false;
  char shortName = 0;  // e.g. 'o' for -o
};

class Args {
 public:
  Args(std::string command, std::string usage, std::string description,
       std::vector<OptionSpec> options)
      : m_command(std::move(command)),
        m_usage(std::move(usage)),
        m_description(std::move(description)),
        m_specs(std::move(options)) {
    m_specs.push_back({"help", "", "show this help and exit"});
  }

  // Throws rr::core::InputError for unknown options or missing values.
  void parse(const std::vector<std::string>& argv) {
    for (size_t i = 0; i < argv.size(); ++i) {
      std::string a = argv[i];
      if (a.size() == 2 && a[0] == '-' && a[1] != '-') {
        for (const auto& s : m_specs)
          if (s.shortName == a[1]) a = "--" + s.name;
        if (a.size() == 2)
          throw core::InputError(m_command + ": unknown option " + a + " (see --help)");
      }
      if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
        std::string name = a.substr(2), value;
        bool inlineValue = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
          inlineValue = true;
        }
        const OptionSpec* spec = find(name);
        if (!spec)
          throw core::InputError(m_command + ": unknown option --" + name + " (see --help)");
        if (spec->valueName.empty()) {
          if (inlineValue) throw core::InputError(m_command + ": --" + name + " takes no value");
          m_values[name].push_back("1");
          continue;
        }
        if (!inlineValue) {
          if (i + 1 >= argv.size())
            throw core::InputError(m_command + ": --" + name + " needs a value (" +
                                   spec->valueName + ")");
          value = argv[++i];
        }
        // An empty path or name is never meant (`-o ''` from an unset shell variable).
        if (value.empty())
          throw core::InputError(m_command + ": --" + name + " needs a non-empty value (" +
                                 spec->valueName + ")");
        if (!spec->repeatable && m_values.count(name))
          throw core::InputError(m_command + ": --" + name + " given twice");
        m_values[name].push_back(value);
      } else {
        m_positional.push_back(a);
      }
    }
  }

  // Parses argv; on --help prints the help to stdout and returns true (the command then exits 0).
  bool parseOrPrintHelp(const std::vector<std::string>& argv) {
    parse(argv);
    if (!has("help")) return false;
    std::fputs(help().c_str(), stdout);
    return true;
  }
  bool has(const std::string& name) const { return m_values.count(name) > 0; }
  std::string value(const std::string& name, const std::string& def = "") const {
    auto it = m_values.find(name);
    return it == m_values.end() ? def : it->second.back();
  }
  std::vector<std::string> values(const std::string& name) const {
    auto it = m_values.find(name);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
  }
  long long integer(const std::string& name, long long def, long long lo, long long hi) const {
    if (!has(name)) return def;
    return parseInteger(name, value(name), lo, hi);
  }
  // Every value of a repeatable integer option.
  std::vector<long long> integers(const std::string& name, long long lo, long long hi) const {
    std::vector<long long> out;
    for (const auto& v : values(name)) out.push_back(parseInteger(name, v, lo, hi));
    return out;
  }
  // A finite number; nan and inf are refused (a nan threshold would disable a filter silently).
  double number(const std::string& name, double def) const {
    if (!has(name)) return def;
    const std::string v = value(name);
    const char* s = v.c_str();
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(s, &end);
    const bool plain = v.find_first_of("xXnNiI") == std::string::npos && !std::isspace(v[0]);
    if (!plain || end != s + v.size() || errno == ERANGE || !std::isfinite(x))
      throw core::InputError(m_command + ": --" + name + " must be a finite number (got '" + v +
                             "')");
    return x;
  }
  const std::vector<std::string>& positional() const { return m_positional; }

  std::string help() const {
    std::string h = "usage: rewardrouter-cli " + m_command + " " + m_usage + "\n\n" +
                    m_description + "\n\noptions:\n";
    for (const auto& s : m_specs) {
      std::string left = std::string("  ") +
                         (s.shortName ? std::string("-") + s.shortName + ", " : "") + "--" +
                         s.name + (s.valueName.empty() ? "" : " " + s.valueName);
      if (left.size() < 28)
        left.resize(28, ' ');
      else
        left += "\n" + std::string(28, ' ');
      h += left + s.help + "\n";
    }
    return h;
  }

 private:
  const OptionSpec* find(const std::string& name) const {
    for (const auto& s : m_specs)
      if (s.name == name) return &s;
    return nullptr;
  }
  // Decimal digits with an optional minus sign, nothing else: "1abc", " 1", "+1" and "0x10" are
  // refused, so a typo never selects another run.
  long long parseInteger(const std::string& name, const std::string& v, long long lo,
                         long long hi) const {
    const size_t digits = v[0] == '-' ? 1 : 0;
    bool ok = v.size() > digits && v.find_first_not_of("0123456789", digits) == std::string::npos;
    long long x = 0;
    if (ok) {
      errno = 0;
      x = std::strtoll(v.c_str(), nullptr, 10);
      ok = errno != ERANGE && x >= lo && x <= hi;
    }
    if (!ok)
      throw core::InputError(m_command + ": --" + name + " must be an integer in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "] (got '" + v +
                             "')");
    return x;
  }
  std::string m_command, m_usage, m_description;
  std::vector<OptionSpec> m_specs;
  std::map<std::string, std::vector<std::string>> m_values;
  std::vector<std::string> m_positional;
};

}  // namespace rr::cli
