#include "terminal.h"

#include <unistd.h>

#include <cstdio>

#include "store/runstore.h"

namespace rr::cli {
namespace {

core::RunControl* g_control = nullptr;

extern "C" void onStopSignal(int sig) {
  if (g_control) g_control->requestStop();
  // A second Ctrl-C ends the process at once.
  if (sig == SIGINT) std::signal(SIGINT, SIG_DFL);
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

}  // namespace

TerminalSink::TerminalSink(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) != 0) {}

void TerminalSink::progress(const core::ProgressInfo& p) {
  if (m_quiet) return;
  const auto now = std::chrono::steady_clock::now();
  if (!m_tty && now - m_last < std::chrono::seconds(5) && p.step < p.totalSteps) return;
  m_last = now;
  // Pre-training belongs to no run (run id 0): it has no run number or seed to show.
  char what[160];
  if (p.runId == 0)
    std::snprintf(what, sizeof what, "[pre-training the encoder]");
  else
    std::snprintf(what, sizeof what, "[run %d/%d %s seed %d] %s", p.runIndex + 1, p.runCount,
                  p.method.c_str(), p.seed, p.component.c_str());
  char line[320];
  std::snprintf(line, sizeof line, "%s step %lld/%lld  loss %.4f  %.0f pairs/s  ETA %s", what,
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

void TerminalSink::log(std::int64_t runId, core::LogLevel level, const std::string& message) {
  if (m_quiet && level == core::LogLevel::Info) return;
  std::lock_guard<std::mutex> lock(m_mutex);
  if (m_open) std::fprintf(stderr, "\n");
  m_open = false;
  const std::string lv = level == core::LogLevel::Info ? "" : core::toString(level) + ": ";
  if (runId > 0)
    std::fprintf(stderr, "[run %lld] %s%s\n", static_cast<long long>(runId), lv.c_str(),
                 message.c_str());
  else
    std::fprintf(stderr, "%s%s\n", lv.c_str(), message.c_str());
}

void TerminalSink::runStatus(std::int64_t runId, core::RunStatus status, const std::string& error) {
  if (status == core::RunStatus::Queued || status == core::RunStatus::Running) return;
  std::lock_guard<std::mutex> lock(m_mutex);
  if (m_open) std::fprintf(stderr, "\n");
  m_open = false;
  std::fprintf(stderr, "[run %lld] %s%s%s\n", static_cast<long long>(runId),
               core::toString(status).c_str(), error.empty() ? "" : ": ", error.c_str());
}

void TerminalSink::endLine() {
  std::lock_guard<std::mutex> lock(m_mutex);
  if (m_open) std::fprintf(stderr, "\n");
  m_open = false;
}

StopOnSignal::StopOnSignal(core::RunControl& control) {
  g_control = &control;
  m_oldInt = std::signal(SIGINT, onStopSignal);
  m_oldTerm = std::signal(SIGTERM, onStopSignal);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, m_oldInt);
  std::signal(SIGTERM, m_oldTerm);
  g_control = nullptr;
}

}  // namespace rr::cli
