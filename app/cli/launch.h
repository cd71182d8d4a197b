#pragma once
// `run --nproc N`: this process is rank 0 and starts the other N - 1 ranks on this machine, like
// `torchrun --standalone`; and the options that place a process in a job started elsewhere.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "dist/dist.h"

namespace rr::cli {

// The workers of one machine: started by exec'ing this program again with the launcher
// variables set; they die with this process (PR_SET_PDEATHSIG) and are reaped on every path out.
class LocalWorkers {
 public:
  // Starts ranks 1..o.worldSize-1 of `o` (rank 0 is the caller) running `rewardrouter-cli
  // ARGS...`.
  LocalWorkers(const core::dist::DistOptions& o, const std::vector<std::string>& args);
  // Kills the workers still running and reaps them.
  ~LocalWorkers();
  LocalWorkers(const LocalWorkers&) = delete;
  LocalWorkers& operator=(const LocalWorkers&) = delete;

  // Waits up to `seconds` for the workers to end on their own (rank 0 finished its work), then
  // kills the rest. Returns "" when every worker exited 0, else one line naming a rank and how
  // it ended.
  std::string wait(int seconds);

 private:
  void killAll();
  std::vector<pid_t> m_pids;  // m_pids[k] is rank k + 1; 0 once reaped
  std::vector<int> m_status;
};

// The run's place in a job: the launcher variables (RANK, WORLD_SIZE, ... or Slurm's), then
// --rank/--world-size/--master ADDR:PORT, --dist-timeout, --dist-backend; `nproc` > 1 makes this
// process rank 0 of `nproc` on 127.0.0.1 at a free port. InputError for a rank outside the
// world, --nproc beside a world size from elsewhere, or several processes in a build without
// c10d.
core::dist::DistOptions distOptionsFor(const Args& args, int nproc, const std::string& device);

}  // namespace rr::cli
