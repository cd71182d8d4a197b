#include "launch.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/errors.h"

extern char** environ;

namespace rr::cli {
namespace {

// How a reaped worker ended, or "" for exit code 0.
std::string howEnded(int rank, int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status) == 0 ? ""
                                    : "rank " + std::to_string(rank) + " exited with code " +
                                          std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "rank " + std::to_string(rank) + " was killed by signal " +
           std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "rank " + std::to_string(rank) + " ended abnormally";
}

}  // namespace

LocalWorkers::LocalWorkers(const core::dist::DistOptions& o, const std::vector<std::string>& args) {
  // Everything exec needs is prepared before fork: the child only calls async-signal-safe
  // functions.
  std::vector<std::string> argStore = {"rewardrouter-cli"};
  argStore.insert(argStore.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argStore) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> base;
  for (char** e = environ; *e; ++e) {
    const std::string v = *e;
    bool launcher = false;
    for (const char* k : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT=",
                          "SLURM_PROCID=", "SLURM_NTASKS=", "SLURM_LOCALID="})
      launcher = launcher || v.rfind(k, 0) == 0;
    if (!launcher) base.push_back(v);
  }
  const pid_t parent = ::getpid();
  for (int rank = 1; rank < o.worldSize; ++rank) {
    std::vector<std::string> envStore = base;
    envStore.push_back("RANK=" + std::to_string(rank));
    envStore.push_back("LOCAL_RANK=" + std::to_string(rank));
    envStore.push_back("WORLD_SIZE=" + std::to_string(o.worldSize));
    envStore.push_back("MASTER_ADDR=" + o.masterAddr);
    envStore.push_back("MASTER_PORT=" + std::to_string(o.masterPort));
    std::vector<char*> envp;
    for (auto& e : envStore) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      killAll();  // the ones already started go too
      throw std::runtime_error("--nproc: cannot start rank " + std::to_string(rank) + ": " + why);
    }
    if (pid == 0) {
      // Dies with rank 0, also when rank 0 is killed; rank 0 may be gone already.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::execve("/proc/self/exe", argv.data(), envp.data());
      const char msg[] = "error: --nproc: cannot exec /proc/self/exe\n";
      ssize_t ignored = ::write(2, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(127);
    }
    m_pids.push_back(pid);
    m_status.push_back(0);
  }
}

std::string LocalWorkers::wait(int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    bool running = false;
    for (size_t k = 0; k < m_pids.size(); ++k) {
      if (m_pids[k] == 0) continue;
      int status = 0;
      const pid_t got = ::waitpid(m_pids[k], &status, WNOHANG);
      if (got == m_pids[k] || (got < 0 && errno == ECHILD)) {
        m_status[k] = got == m_pids[k] ? status : 0;
        m_pids[k] = 0;
      } else {
        running = true;
      }
    }
    if (!running || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string first;
  for (size_t k = 0; k < m_pids.size(); ++k) {
    const int rank = static_cast<int>(k) + 1;
    if (m_pids[k] != 0) {
      ::kill(m_pids[k], SIGKILL);
      ::waitpid(m_pids[k], nullptr, 0);
      m_pids[k] = 0;
      if (first.empty())
        first = "rank " + std::to_string(rank) + " did not end within " + std::to_string(seconds) +
                " s after rank 0 and was killed";
    } else if (first.empty()) {
      first = howEnded(rank, m_status[k]);
    }
  }
  return first;
}

LocalWorkers::~LocalWorkers() { killAll(); }

void LocalWorkers::killAll() {
  for (size_t k = 0; k < m_pids.size(); ++k)
    if (m_pids[k] != 0) {
      ::kill(m_pids[k], SIGKILL);
      ::waitpid(m_pids[k], nullptr, 0);
      m_pids[k] = 0;
    }
}

core::dist::DistOptions distOptionsFor(const Args& args, int nproc, const std::string& device) {
  namespace dist = core::dist;
  dist::DistOptions o = dist::distOptionsFromEnvironment();
  const bool fromEnv = o.distributed();
  if (args.has("rank") != args.has("world-size"))
    throw core::InputError(std::string("run: --") + (args.has("rank") ? "rank" : "world-size") +
                           " needs --" + (args.has("rank") ? "world-size" : "rank") + " too");
  if (args.has("world-size")) {
    o.worldSize = static_cast<int>(args.integer("world-size", 1, 1, 1 << 20));
    o.rank = static_cast<int>(args.integer("rank", 0, 0, 1 << 20));
    if (o.rank >= o.worldSize)
      throw core::InputError("run: --rank " + std::to_string(o.rank) +
                             " is not below --world-size " + std::to_string(o.worldSize));
  }
  if (args.has("master")) {
    const std::string m = args.value("master");
    const auto colon = m.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw core::InputError("run: --master '" + m + "' is not ADDR:PORT");
    o.masterAddr = m.substr(0, colon);
    const std::string port = m.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535)
      throw core::InputError("run: --master '" + m + "': port '" + port + "' is not in [1, 65535]");
    o.masterPort = std::stoi(port);
  }
  o.timeout = std::chrono::seconds(args.integer("dist-timeout", 300, 1, 86400));
  if (nproc > 1) {
    if (fromEnv || args.has("world-size"))
      throw core::InputError("run: --nproc " + std::to_string(nproc) +
                             " starts its own workers; it cannot join a job of world size " +
                             std::to_string(o.worldSize) +
                             (fromEnv ? " (from RANK/WORLD_SIZE or Slurm's variables)" : ""));
    o.rank = 0;
    o.localRank = 0;
    o.worldSize = nproc;
    o.masterAddr = "127.0.0.1";
    o.masterPort = dist::freeLoopbackPort();
  }
  if (o.distributed()) {
    o.backend = dist::backendFor(args.value("dist-backend"),
                                 torch::Device(device == "cuda" ? torch::kCUDA : torch::kCPU));
    // What is wrong with the request itself is said before what this build lacks.
    dist::validate(o);
    if (!dist::c10dAvailable())
      throw core::InputError("run: " + std::to_string(o.worldSize) + " processes asked for, but " +
                             dist::c10dUnavailableReason());
    // Said before any worker starts (Communicator::connect says it too, for other callers).
    if (o.backend == "nccl")
      throw core::InputError(
          "run: backend nccl: this build has no NCCL process group yet; use --dist-backend gloo");
  }
  dist::validate(o);
  return o;
}

}  // namespace rr::cli
