#include <cstdint>
#include <iomanip>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "run/evaluaterun.h"

namespace rr::cli {

int cmdEvaluate(const Argv& argv) {
  Args args("evaluate", "--db FILE --run ID PAIRS.jsonl [--name NAME]",
            "Scores every pair of a canonical pairs file (e.g. an imported benchmark: import\n"
            "--format rewardbench) with a finished run's saved system, without training, and\n"
            "stores the result as an evaluation of the run: per-pair rewards, route and\n"
            "correctness (a tie is wrong). The pairs' domains are not shown to the system.\n"
            "`report` lists evaluations; `report --rewardbench` scores RewardBench ones.",
            {{"db", "FILE", "run store"},
             {"run", "ID", "the finished run whose saved system scores"},
             {"name", "NAME", "the evaluation's name (default: the file's name without\n"
                              "                            extension); unique per run"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.has("db")) throw core::InputError("evaluate: --db FILE is required");
  if (!args.has("run")) throw core::InputError("evaluate: --run ID is required");
  if (args.positional().size() != 1)
    throw core::InputError("evaluate: give exactly one pairs file (got " +
                           std::to_string(args.positional().size()) + ")");
  core::EvaluateRunOptions o;
  o.dbPath = args.value("db");
  o.runId = args.integer("run", 0, 1, INT64_MAX);
  o.pairsPath = args.positional()[0];
  if (args.has("name")) {
    o.name = args.value("name");
    if (o.name.empty()) throw core::InputError("evaluate: --name must not be empty");
  }
  const core::EvaluateRunResult r = core::evaluateRun(o);
  std::int64_t right = 0, total = 0;
  for (const auto& [domain, c] : r.perDomain) {
    right += c.first;
    total += c.second;
  }
  std::cout << "evaluation " << r.evaluationId << " '" << r.name << "' of run " << o.runId << ": "
            << total << " pairs, accuracy " << std::fixed << std::setprecision(4)
            << static_cast<double>(right) / static_cast<double>(total) << "\n";
  for (const auto& [domain, c] : r.perDomain)
    std::cout << "  " << domain << ": " << c.first << "/" << c.second << " = "
              << static_cast<double>(c.first) / static_cast<double>(c.second) << "\n";
  return 0;
}

}  // namespace rr::cli
