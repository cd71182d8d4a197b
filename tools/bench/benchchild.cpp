// Child processes of the bench: `rewardrouter-cli run` and `score`, and the Python references,
// timed from start to exit.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "bench/bench_p.h"

namespace rr::core::bench {

std::string selfPath() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("bench: cannot find this program (/proc/self/exe)");
  return std::string(buf.data(), static_cast<size_t>(n));
}

std::string lastLineOf(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

ChildOutcome runChild(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& in,
                      const std::string& out, const std::string& log) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  // The environment and every path are made before fork: in the child of a process with threads
  // only async-signal-safe calls are allowed (setenv and std::string allocate).
  std::vector<std::string> vars;
  for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
  for (char** e = environ; *e; ++e) {
    const std::string var = *e;
    const std::string name = var.substr(0, var.find('='));
    if (!env.count(name)) vars.push_back(var);
  }
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  const std::string input = in.empty() ? "/dev/null" : in;
  const std::string output = out.empty() ? log : out;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("bench: cannot start " + argv[0]);
  if (pid == 0) {
    const int i = ::open(input.c_str(), O_RDONLY);
    const int o = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = output == log ? o : ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (i < 0 || o < 0 || e < 0) ::_exit(126);
    ::dup2(i, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(cargs[0], cargs.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ChildOutcome r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace rr::core::bench
