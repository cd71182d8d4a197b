#pragma once
// The one life every run goes through, whoever starts it (`run`, `extend`, an evaluation, the
// bench's store measurement): created queued, then running, then finished, failed or cancelled,
// with everything it reports written to the run store and passed on to the caller's sink.
// No LibTorch types here.
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "run/storesink.h"
#include "store/runstore.h"
#include "train/metricsink.h"

namespace rr::core {

class RunRecorder {
 public:
  // Opens (or creates) the store at dbPath for writing; what runs report goes there and to `sink`.
  RunRecorder(const std::string& dbPath, MetricSink& sink);
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  // The sink a run reports into (metrics, progress, log lines): the store and the caller's sink.
  MetricSink& sink() { return m_tee; }

  // A new run, queued (the caller's sink hears it); `uuid` receives its identity when given.
  std::int64_t createRun(const std::string& experiment, const std::string& method,
                         const std::string& methodName, int seed, const std::string& configJson,
                         std::string* uuid = nullptr);
  // Unfinished runs of the store taken up again (`run --resume`), all or none: queued, their
  // results cleared (RunWriter::reopenRuns); the caller's sink hears them queued.
  void reopenRuns(const std::vector<std::int64_t>& runIds);
  // A status change, stored and sent to the caller's sink. `error`: why a run failed or stopped.
  void setStatus(std::int64_t runId, RunStatus status, const std::string& error = "");
  void log(std::int64_t runId, LogLevel level, const std::string& message);
  // The run trains over several processes (RunWriter::setDistributed).
  void setDistributed(std::int64_t runId, int worldSize, const std::string& backend,
                      const std::string& hosts) {
    m_writer.setDistributed(runId, worldSize, backend, hosts);
  }

  // Runs `work` as run `runId`: running, then finished when it returns, cancelled when it throws
  // Cancelled, failed for any other exception, whose one-line message (errorMessage) is logged
  // and kept as the run's error. Returns the status the run ended with; `error` gets the message.
  RunStatus record(std::int64_t runId, const std::function<void()>& work,
                   std::string* error = nullptr);

  // What a run produced, written at once.
  void addResults(const std::vector<ResultRow>& rows);
  void addExamples(const std::vector<ExampleRow>& rows);
  void addValidationExamples(const std::vector<ExampleRow>& rows);
  void addComponent(const ComponentRow& component);
  void addPairs(const std::vector<PreferencePair>& pairs);
  // An evaluation of a finished run on other pairs (`evaluate`), stored in one transaction and
  // noted in the run's log; InputError when the run has an evaluation of that name already.
  std::int64_t addEvaluation(std::int64_t runId, const std::string& name,
                             const std::string& source, const std::vector<PreferencePair>& pairs,
                             const std::vector<EvaluationExample>& rows);

 private:
  RunWriter m_writer;
  StoreSink m_store;
  TeeSink m_tee;
};

// What a user is told about an exception: its message on one line, without the C++ backtrace
// LibTorch's errors carry.
std::string errorMessage(const std::exception& e);

}  // namespace rr::core
