#pragma once
// Extending a trained RODOS or ARLISS run by a domain: only the new domain's reward model or
// adapter is trained and the router retrained; the existing components stay as they were.
#include <cstdint>
#include <string>

#include "train/metricsink.h"
#include "train/runcontrol.h"

namespace rr::core {

struct ExtendOutcome {
  std::int64_t runId = 0;  // the new run holding the extended system
  std::string domain;
  double extendSeconds = 0;   // training time of the extension (new component + router)
  double scratchSeconds = 0;  // training time of every component, i.e. retraining from scratch
  double meanAccuracy = 0;
  RunStatus status = RunStatus::Queued;  // finished, failed or cancelled
  std::string error;                     // why it failed or stopped, on one line
};

// pairsPath: a canonical pairs file of one new domain. Throws InputError for a method that
// cannot be extended, a domain the run already has, or bad data, before anything is written.
// The extension is then a run of its own, recorded like any other (run/runrecorder.h): its
// metrics, log lines and progress are stored, a failure or a stop request ends it failed or
// cancelled (see the outcome's status) instead of throwing.
ExtendOutcome extendRun(const std::string& dbPath, std::int64_t runId, const std::string& pairsPath,
                        MetricSink& sink, RunControl& control);

}  // namespace rr::core
