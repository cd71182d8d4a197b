#include <cstdio>
#include <filesystem>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "common/fileio.h"
#include "run/extend.h"
#include "terminal.h"

namespace rr::cli {

int cmdExtend(const Argv& argv) {
  Args args("extend", "--db FILE --run ID --add-domain PAIRS.jsonl",
            "Adds a domain to a finished RODOS or ARLISS run: trains only the new domain's reward\n"
            "model or adapter and retrains the router; the existing components are unchanged. The\n"
            "extended system is written as a new run. Ctrl-C stops cleanly: the new run is marked\n"
            "cancelled.",
            {{"db", "FILE", "run store"},
             {"run", "ID", "the run to extend"},
             {"add-domain", "PAIRS", "canonical pairs file of the new domain"},
             {"quiet", "", "no progress line"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.has("db") || !args.has("run") || !args.has("add-domain"))
    throw core::InputError("extend: --db, --run and --add-domain are required");
  // Opening a missing store would create an empty one before "no run N" is said. (What is
  // there but cannot be read, a link loop, is for opening the store to name.)
  if (!core::entryExists(args.value("db")))
    throw core::InputError(args.value("db") + ": no such run store");
  core::RunControl control;
  TerminalSink sink(args.has("quiet"));
  core::ExtendOutcome out;
  {
    StopOnSignal stop(control);
    out = core::extendRun(args.value("db"), args.integer("run", 0, 1, INT64_MAX),
                          args.value("add-domain"), sink, control);
  }
  sink.endLine();
  // The sink has printed how a failed or cancelled run ended, with its error.
  if (out.status == core::RunStatus::Cancelled) return 130;
  if (out.status != core::RunStatus::Finished) return 1;
  std::printf("new run %lld: domain %s added; mean accuracy %.4f\n",
              static_cast<long long>(out.runId), out.domain.c_str(), out.meanAccuracy);
  std::printf("training time: extension %.1f s, retraining every component %.1f s (%.1fx)\n",
              out.extendSeconds, out.scratchSeconds,
              out.extendSeconds > 0 ? out.scratchSeconds / out.extendSeconds : 0.0);
  return 0;
}

}  // namespace rr::cli
