#pragma once
// The vocabulary of a run's life shared by the run store, the metric sinks, the CLI and the GUI:
// statuses and log levels as enums (text only at the store's edge, store/runstore.h) and the one
// row type of a metric, whether it streams through a sink or is read back from the store.
#include <cstdint>
#include <string>

namespace rr::core {

enum class RunStatus { Queued, Running, Finished, Failed, Cancelled, Interrupted };

enum class LogLevel { Info, Warning, Error };

struct MetricRow {
  std::int64_t runId = 0;
  std::string component;  // "model", "router", "rm:harmless", ...
  std::int64_t step = 0;  // step within the component
  double wallTime = 0;    // seconds since the run started
  std::string key;  // loss, lr, pairs_per_s, val_accuracy, val_router_accuracy, load/expert<e>, ...
  double value = 0;
  int rank = -1;  // the rank of a distributed run it is one process's figure of; -1: the run's
};

}  // namespace rr::core
