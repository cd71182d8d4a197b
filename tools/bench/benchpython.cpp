// Runs the PyTorch reference (bench/reference.py) as a child process on the bench's own shapes
// and token ids, and reads back its JSON.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/bench_p.h"

namespace rr::core::bench {
namespace {

std::string shellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string tail(const std::string& path, size_t chars) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  return s.size() > chars ? s.substr(s.size() - chars) : s;
}

// The last non-blank line: a Python traceback ends with the exception and its message.
std::string lastLine(const std::string& text) {
  std::stringstream in(text);
  std::string last;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

const char* const kInstallHint =
    " — install Debian's python3-torch (apt-get install python3-torch)";

ReferenceOutcome skipped(const std::string& why) {
  return {"skipped", "reference skipped: " + why + kInstallHint, nullptr};
}

}  // namespace

ReferenceOutcome runReference(const BenchOptions& o, const nlohmann::json& input) {
  namespace fs = std::filesystem;
  if (!fs::exists(o.referenceScript))
    return {"skipped", "reference skipped: script not found: " + o.referenceScript, nullptr};
  // A path is checked here; a bare name is looked up by the shell, which exits 126 or 127.
  if (o.python.find('/') != std::string::npos && ::access(o.python.c_str(), X_OK) != 0)
    return skipped("cannot run " + o.python + " (" +
                   (fs::exists(o.python) ? "not executable" : "not found") + ")");
  const fs::path dir = fs::temp_directory_path();
  const std::string stem = "rr-bench-" + std::to_string(::getpid());
  const std::string in =
      o.referenceInput.empty() ? (dir / (stem + ".json")).string() : o.referenceInput;
  const std::string err = (dir / (stem + ".err")).string();
  std::ofstream(in) << input.dump();
  // The reference runs with our BLAS thread count, whatever set it.
  const int blas = blasThreads();
  const std::string env = blas > 0 ? "OPENBLAS_NUM_THREADS=" + std::to_string(blas) + " " : "";
  const std::string cmd = env + shellQuote(o.python) + " " + shellQuote(o.referenceScript) +
                          " --input " + shellQuote(in) + " 2>" + shellQuote(err);
  std::string out;
  int status = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    status = ::pclose(p);
  }
  const std::string errors = tail(err, 600);
  if (o.referenceInput.empty()) fs::remove(in);
  fs::remove(err);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : status;
  if (code == 126 || code == 127) return skipped("cannot run " + o.python);
  if (code != 0) {
    // The script imports torch first thing; asking the interpreter alone tells that case apart.
    const std::string probe = shellQuote(o.python) + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0) return skipped(o.python + " cannot import torch");
    return {"failed",
            "reference failed: " + o.python + " " + o.referenceScript + " exited " +
                std::to_string(code) + ": " + lastLine(errors),
            nullptr};
  }
  try {
    return {"measured", "", nlohmann::json::parse(out)};
  } catch (const nlohmann::json::exception&) {
    const std::string why = lastLine(errors);
    return {"failed",
            "reference failed: " + o.referenceScript + " printed no JSON" +
                (why.empty() ? "" : ": " + why),
            nullptr};
  }
}

}  // namespace rr::core::bench
