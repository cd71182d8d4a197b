#include <iostream>

#include "args.h"
#include "commands.h"
#include "config/config.h"
#include "report/report.h"
#include "run/experiment.h"
#include "store/runstore.h"
#include "terminal.h"

namespace rr::cli {

int cmdRun(const Argv& argv) {
  Args args("run", "EXPERIMENT.json [options]",
            "Validates the experiment, trains and evaluates each method for each seed, and writes\n"
            "everything to a SQLite run store. Ctrl-C stops cleanly: the current run is marked\n"
            "cancelled with what it had. `rewardrouter-cli config --keys` lists every config key\n"
            "with its type, range, default and meaning (docs/CONFIG.md).",
            {{"db", "FILE", "run store to write (default: runs/<experiment>.db)"},
             {"seeds", "N", "number of seeds (overrides training.seeds)"},
             {"method", "NAME", "run only this method entry (repeatable)", true},
             {"set", "KEY=VALUE",
              "override one config value, e.g. encoder.pooling=cls or pretrain.steps=300\n"
              "                            (repeatable; the run store keeps the result)",
              true},
             {"resume", "",
              "take up the store's unfinished runs of this experiment again: each continues\n"
              "                            from its last checkpoint (training.checkpoint_every),\n"
              "                            finished runs and components are kept"},
             {"quiet", "", "no progress line"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (args.positional().size() != 1)
    throw core::InputError("run: expected one EXPERIMENT.json (see --help)");
  const core::ExperimentConfig config =
      core::loadExperimentConfig(args.positional()[0], args.values("set"));
  core::ExperimentOptions options;
  options.dbPath = args.value("db", "runs/" + config.name + ".db");
  options.seedsOverride = static_cast<int>(args.integer("seeds", 0, 1, 100));
  options.onlyMethods = args.values("method");
  options.resume = args.has("resume");

  core::RunControl control;
  TerminalSink sink(args.has("quiet"));
  core::ExperimentOutcome outcome;
  {
    StopOnSignal stop(control);
    try {
      outcome = core::runExperiment(config, options, sink, control);
    } catch (const core::Cancelled&) {
      std::cerr << "cancelled before any run started; nothing was written to " << options.dbPath
                << "\n";
      return 130;
    }
  }

  auto store = core::RunStore::open(options.dbPath, true);
  const core::Report report = core::buildReport(*store, outcome.runIds);
  if (!report.methods.empty()) std::cout << core::formatReport(report, "md");
  std::cerr << "run store: " << options.dbPath << " (" << outcome.finished << " finished, "
            << outcome.failed << " failed" << (outcome.cancelled ? ", cancelled" : "")
            << (options.resume ? ", " + std::to_string(outcome.resumed) + " resumed" : "")
            << ")\n";
  if (outcome.cancelled) return 130;
  return outcome.failed > 0 ? 1 : 0;
}

}  // namespace rr::cli
