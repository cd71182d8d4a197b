// Runs the PyTorch reference (bench/reference.py) as a child process on the bench's own shapes
// and token ids, and reads back its JSON.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
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

}  // namespace

nlohmann::json runReference(const BenchOptions& o, const nlohmann::json& input) {
  namespace fs = std::filesystem;
  if (!fs::exists(o.referenceScript))
    throw std::runtime_error("reference script not found: " + o.referenceScript);
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
  if (status != 0)
    throw std::runtime_error(o.python + " " + o.referenceScript + " failed (exit " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : status) +
                             "): " + errors);
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("the reference printed no JSON: " + out.substr(0, 300) + errors);
  }
}

}  // namespace rr::core::bench
