#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "config/config.h"
#include "dist/dist.h"
#include "launch.h"
#include "report/report.h"
#include "run/experiment.h"
#include "run/runrecorder.h"
#include "store/runstore.h"
#include "terminal.h"

namespace rr::cli {
namespace {

// What a rank other than 0 prints: its errors, one line each, naming the rank (rank 0 prints
// the progress and the report).
class RankErrorSink : public core::MetricSink {
 public:
  explicit RankErrorSink(int rank) : m_rank(rank) {}
  void metric(const core::MetricRow&) override {}
  void progress(const core::ProgressInfo&) override {}
  void log(std::int64_t, core::LogLevel level, const std::string& message) override {
    if (level == core::LogLevel::Error)
      std::fprintf(stderr, "rank %d: error: %s\n", m_rank, message.c_str());
  }

 private:
  int m_rank;
};

// The arguments without --nproc: what the workers are started with.
Argv withoutNproc(const Argv& argv) {
  Argv out = {"run"};
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--nproc") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

}  // namespace

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
             {"quiet", "", "no progress line"},
             {"nproc", "N",
              "train on N processes of this machine (distributed.mode: data-parallel or\n"
              "                            components spread; this process is rank 0\n"
              "                            and starts the others; see docs/DISTRIBUTED.md)"},
             {"rank", "R", "this process's rank in a job of several (with --world-size)"},
             {"world-size", "N", "processes in the job (default: WORLD_SIZE, SLURM_NTASKS or 1)"},
             {"master", "ADDR:PORT",
              "where rank 0 listens (default: MASTER_ADDR:MASTER_PORT or 127.0.0.1:29500)"},
             {"dist-timeout", "S", "rendezvous and collective timeout in seconds (default 300)"},
             {"dist-backend", "NAME", "c10d backend: gloo or nccl (default: the device's)"}});
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
  const int nproc = static_cast<int>(args.integer("nproc", 1, 1, 1024));
  const core::dist::DistOptions where = distOptionsFor(args, nproc, config.training.device);
  const int rank = where.rank;
  // Said once, before any worker starts (runExperiment refuses it too, on every rank).
  if (options.resume && where.distributed())
    throw core::InputError(
        "run: --resume: a run over several processes cannot resume yet; resume it with one "
        "process (rank 0's checkpoints hold the whole state)");

  core::RunControl control;
  TerminalSink terminal(args.has("quiet"));
  RankErrorSink rankErrors(rank);
  core::MetricSink& sink = rank == 0 ? static_cast<core::MetricSink&>(terminal) : rankErrors;
  core::ExperimentOutcome outcome;
  std::unique_ptr<LocalWorkers> workers;
  std::unique_ptr<core::dist::Communicator> comm;
  {
    StopOnSignal stop(control);
    try {
      if (nproc > 1) workers = std::make_unique<LocalWorkers>(where, withoutNproc(argv));
      if (where.distributed()) comm = core::dist::Communicator::connect(where);
      options.comm = comm.get();
      outcome = core::runExperiment(config, options, sink, control);
    } catch (const core::Cancelled&) {
      if (rank == 0)
        std::cerr << "cancelled before any run started; nothing was written to " << options.dbPath
                  << "\n";
      return 130;
    } catch (const std::exception& e) {
      if (rank == 0) throw;  // main prints it
      std::cerr << "rank " << rank << ": error: " << core::errorMessage(e) << "\n";
      return 1;
    }
  }
  std::string workersEnded;
  if (workers) {
    // The workers follow the same plan and end right after rank 0; one that does not is killed.
    comm.reset();
    workersEnded = workers->wait(static_cast<int>(where.timeout.count()));
  }
  if (rank != 0) return outcome.cancelled ? 130 : outcome.failed > 0 ? 1 : 0;

  auto store = core::RunStore::open(options.dbPath, true);
  const core::Report report = core::buildReport(*store, outcome.runIds);
  if (!report.methods.empty()) std::cout << core::formatReport(report, "md");
  std::cerr << "run store: " << options.dbPath << " (" << outcome.finished << " finished, "
            << outcome.failed << " failed" << (outcome.cancelled ? ", cancelled" : "")
            << (options.resume ? ", " + std::to_string(outcome.resumed) + " resumed" : "")
            << ")\n";
  if (!workersEnded.empty() && outcome.failed == 0 && !outcome.cancelled) {
    std::cerr << "error: " << workersEnded << "\n";
    return 1;
  }
  if (outcome.cancelled) return 130;
  return outcome.failed > 0 ? 1 : 0;
}

}  // namespace rr::cli
