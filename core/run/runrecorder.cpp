#include "run/runrecorder.h"

#include <torch/torch.h>

#include <cstdio>

#include "common/errors.h"

namespace rr::core {

RunRecorder::RunRecorder(const std::string& dbPath, MetricSink& sink)
    : m_writer(dbPath), m_store(m_writer), m_tee(m_store, sink) {}

RunRecorder::~RunRecorder() {
  try {
    m_writer.flush();
  } catch (const std::exception&) {
    // A destructor must not throw; what could not be flushed is lost with the run's last lines.
  }
}

std::int64_t RunRecorder::createRun(const std::string& experiment, const std::string& method,
                                    const std::string& methodName, int seed,
                                    const std::string& configJson, std::string* uuid) {
  const std::int64_t id =
      m_writer.createRun(experiment, method, methodName, seed, configJson, uuid);
  m_tee.runStatus(id, RunStatus::Queued, "");
  return id;
}

void RunRecorder::reopenRuns(const std::vector<std::int64_t>& runIds) {
  m_writer.reopenRuns(runIds);
  for (auto id : runIds) m_tee.runStatus(id, RunStatus::Queued, "");
}

void RunRecorder::setStatus(std::int64_t runId, RunStatus status, const std::string& error) {
  m_tee.runStatus(runId, status, error);
}

void RunRecorder::log(std::int64_t runId, LogLevel level, const std::string& message) {
  m_tee.log(runId, level, message);
}

RunStatus RunRecorder::record(std::int64_t runId, const std::function<void()>& work,
                              std::string* error) {
  setStatus(runId, RunStatus::Running);
  std::string message;
  RunStatus end = RunStatus::Finished;
  try {
    work();
  } catch (const Cancelled&) {
    end = RunStatus::Cancelled;
    message = "stopped by the user";
  } catch (const std::exception& e) {
    end = RunStatus::Failed;
    message = errorMessage(e);
    log(runId, LogLevel::Error, message);
  }
  setStatus(runId, end, message);
  if (error) *error = message;
  return end;
}

void RunRecorder::addResults(const std::vector<ResultRow>& rows) { m_writer.addResults(rows); }
void RunRecorder::addExamples(const std::vector<ExampleRow>& rows) { m_writer.addExamples(rows); }
void RunRecorder::addValidationExamples(const std::vector<ExampleRow>& rows) {
  m_writer.addValidationExamples(rows);
}
void RunRecorder::addComponent(const ComponentRow& component) { m_writer.addComponent(component); }
void RunRecorder::addPairs(const std::vector<PreferencePair>& pairs) { m_writer.addPairs(pairs); }

std::int64_t RunRecorder::addEvaluation(std::int64_t runId, const std::string& name,
                                        const std::string& source,
                                        const std::vector<PreferencePair>& pairs,
                                        const std::vector<EvaluationExample>& rows) {
  const std::int64_t id = m_writer.addEvaluation(runId, name, source, pairs, rows);
  std::size_t correct = 0;
  for (const auto& r : rows) correct += r.row.correct ? 1 : 0;
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "%.4f",
                rows.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(rows.size()));
  log(runId, LogLevel::Info,
      "evaluation '" + name + "' on " + std::to_string(rows.size()) + " pairs of " + source +
          ": accuracy " + accuracy);
  m_writer.flush();
  return id;
}

std::string errorMessage(const std::exception& e) {
  const auto* te = dynamic_cast<const c10::Error*>(&e);
  std::string msg = te ? te->what_without_backtrace() : e.what();
  // what_without_backtrace() can still end in LibTorch's "Exception raised from ..." line, and a
  // run's error is shown on one line (list, the run browser): the first line is the message.
  msg = msg.substr(0, msg.find('\n'));
  while (!msg.empty() && (msg.back() == ' ' || msg.back() == '\r')) msg.pop_back();
  return msg.empty() ? "unknown error" : msg;
}

}  // namespace rr::core
