// `config --keys`: the experiment config's schema (core/config/schema.h), the same tables as
// docs/CONFIG.md, or JSON for tools.
#include <iostream>

#include "args.h"
#include "commands.h"
#include "config/schema.h"

namespace rr::cli {

int cmdConfig(const Argv& argv) {
  Args args("config", "--keys [--format md|json]",
            "Prints every key of the experiment config with its type, range, default and\n"
            "meaning, and each method's options (what docs/CONFIG.md lists).",
            {{"keys", "", "print the keys"},
             {"format", "FORMAT", "md (default: the docs' tables) or json"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.positional().empty())
    throw core::InputError("config: unexpected argument " + args.positional()[0] + " (see --help)");
  if (!args.has("keys")) throw core::InputError("config: nothing to do; use --keys (see --help)");
  const std::string format = args.value("format", "md");
  if (format == "json") {
    std::cout << core::configSchemaJson().dump(2) << "\n";
  } else if (format == "md") {
    std::cout << "## Keys\n\n"
              << core::configKeysMarkdown() << "\n## Method options\n\n"
              << core::methodOptionsMarkdown();
  } else {
    throw core::InputError("config: --format must be md or json (got \"" + format + "\")");
  }
  return 0;
}

}  // namespace rr::cli
