#pragma once
// A small command-line parser for the subcommands: --key value, --key=value, --flag, positionals.
// Written here because each subcommand needs exact "unknown option" errors with exit code 2 and
// generated --help text, and no option parser is among the project's Debian dependencies.
#include <cstdio>
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
    const std::string v = value(name);
    try {
      size_t used = 0;
      long long x = std::stoll(v, &used);
      if (used != v.size() || x < lo || x > hi) throw std::out_of_range("range");
      return x;
    } catch (const std::exception&) {
      throw core::InputError(m_command + ": --" + name + " must be an integer in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "] (got '" + v +
                             "')");
    }
  }
  double number(const std::string& name, double def) const {
    if (!has(name)) return def;
    const std::string v = value(name);
    try {
      size_t used = 0;
      double x = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument("trailing");
      return x;
    } catch (const std::exception&) {
      throw core::InputError(m_command + ": --" + name + " must be a number (got '" + v + "')");
    }
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
  std::string m_command, m_usage, m_description;
  std::vector<OptionSpec> m_specs;
  std::map<std::string, std::vector<std::string>> m_values;
  std::vector<std::string> m_positional;
};

}  // namespace rr::cli
