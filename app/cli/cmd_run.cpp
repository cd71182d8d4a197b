#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "args.h"
#include "commands.h"
#include "config/config.h"
#include "report/report.h"
#include "store/runstore.h"
#include "train/experiment.h"

namespace rr::cli {
namespace {

core::RunControl* g_control = nullptr;

extern "C" void onSigint(int) {
  if (g_control) g_control->requestStop();
  // A second Ctrl-C ends the process at once.
  std::signal(SIGINT, SIG_DFL);
}

std::string duration(double s) {
  if (s < 0) return "--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

// Progress on one rewritten line when stderr is a terminal, else a line every few seconds.
class TerminalSink : public core::MetricSink {
 public:
  explicit TerminalSink(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) != 0) {}
  void metric(const core::MetricPoint&) override {}
  void progress(const core::ProgressInfo& p) override {
    if (m_quiet) return;
    const auto now = std::chrono::steady_clock::now();
    if (!m_tty && now - m_last < std::chrono::seconds(5) && p.step < p.totalSteps) return;
    m_last = now;
    char line[256];
    std::snprintf(line, sizeof line,
                  "[run %d/%d %s seed %d] %s step %lld/%lld  loss %.4f  %.0f pairs/s  ETA %s",
                  p.runIndex + 1, p.runCount, p.method.c_str(), p.seed, p.component.c_str(),
                  static_cast<long long>(p.step), static_cast<long long>(p.totalSteps), p.loss,
                  p.pairsPerSecond, duration(p.etaSeconds).c_str());
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_tty) {
      std::fprintf(stderr, "\r%-110s", line);
      m_open = true;
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
  }
  void log(std::int64_t runId, core::LogLevel level, const std::string& message) override {
    if (m_quiet && level == core::LogLevel::Info) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    endLine();
    const char* lv = level == core::LogLevel::Error     ? "error: "
                     : level == core::LogLevel::Warning ? "warning: "
                                                        : "";
    if (runId > 0)
      std::fprintf(stderr, "[run %lld] %s%s\n", static_cast<long long>(runId), lv, message.c_str());
    else
      std::fprintf(stderr, "%s%s\n", lv, message.c_str());
  }
  void runStatus(std::int64_t runId, const std::string& status, const std::string& error) override {
    if (status == "queued" || status == "running") return;
    std::lock_guard<std::mutex> lock(m_mutex);
    endLine();
    std::fprintf(stderr, "[run %lld] %s%s%s\n", static_cast<long long>(runId), status.c_str(),
                 error.empty() ? "" : ": ", error.c_str());
  }

 private:
  void endLine() {
    if (m_open) std::fprintf(stderr, "\n");
    m_open = false;
  }
  bool m_quiet, m_tty, m_open = false;
  std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_last{};
};

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

  core::RunControl control;
  g_control = &control;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  TerminalSink sink(args.has("quiet"));
  core::ExperimentOutcome outcome;
  try {
    outcome = core::runExperiment(config, options, sink, control);
  } catch (const core::Cancelled&) {
    std::cerr << "cancelled before any run started; nothing was written to " << options.dbPath
              << "\n";
    return 130;
  }
  g_control = nullptr;
  std::signal(SIGINT, SIG_DFL);

  auto store = core::RunStore::open(options.dbPath, true);
  const core::Report report = core::buildReport(*store, outcome.runIds);
  if (!report.methods.empty()) std::cout << core::formatReport(report, "md");
  std::cerr << "run store: " << options.dbPath << " (" << outcome.finished << " finished, "
            << outcome.failed << " failed" << (outcome.cancelled ? ", cancelled" : "") << ")\n";
  if (outcome.cancelled) return 130;
  return outcome.failed > 0 ? 1 : 0;
}

}  // namespace rr::cli
