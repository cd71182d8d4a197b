// `bench --suite dist`: data-parallel training through the real path (the CLI's `run`, its
// workers, the Gloo all-reduce), 1 against 2 processes with one thread each.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench/bench.h"
#include "bench/bench_p.h"
#include "common/errors.h"
#include "dist/dist.h"
#include "store/runstore.h"

namespace rr::core::bench {
namespace {

namespace fs = std::filesystem;

// Runs `rewardrouter-cli ARGS` with one LibTorch/OpenMP thread per process; its output goes to
// `log`. Throws with the log's last line when it fails.
void runCli(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {selfPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  const ChildOutcome r = runChild(
      argv, {{"OMP_NUM_THREADS", "1"}, {"MKL_NUM_THREADS", "1"}, {"OPENBLAS_NUM_THREADS", "1"}}, "",
      "", log);
  if (r.exitCode != 0)
    throw std::runtime_error("bench: the " + args.back() + " run failed: " + lastLineOf(log));
}

}  // namespace

nlohmann::json benchDist(const BenchOptions& o, const std::string& preset,
                         const std::function<void(const std::string&)>& say) {
  nlohmann::json out = nlohmann::json::object();
  if (!dist::c10dAvailable()) {
    out["note"] = dist::c10dUnavailableReason();
    say("dist: " + out["note"].get<std::string>());
    return out;
  }
  const fs::path dir = fs::temp_directory_path() / ("rr-bench-dist-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Synthetic pairs of three domains: about 60 steps of the global batch (quick: 6).
  const int perDomain = o.quick ? 40 : 400;
  const nlohmann::json config = {
      {"name", "bench-dist"},
      {"data",
       {{"synthetic",
         {{"pairs_per_domain", perDomain},
          {"domains", {"harmless", "instruct", "ranked"}},
          {"seed", 7}}},
        {"split", {{"train", 0.8}, {"validation", 0.1}, {"test", 0.1}}}}},
      {"tokenizer", {{"vocab_size", 500}}},
      {"encoder", {{"preset", preset}, {"max_len", o.seqLen}, {"dropout", 0.0}}},
      {"pretrain", {{"steps", 0}}},
      {"training", {{"batch_size", o.batchPairs}, {"epochs", 1}, {"eval_every", 0}, {"seed", 1}}},
      {"methods", {{{"method", "baseline"}}}}};
  const std::string cfg = (dir / "bench-dist.json").string();
  std::ofstream(cfg) << config.dump(2);
  nlohmann::json rows = nlohmann::json::array();
  double single = 0;
  try {
    for (int n : {1, 2}) {
      say("dist: " + preset + ", " + std::to_string(n) + " process" + (n > 1 ? "es" : ""));
      const std::string db = (dir / ("n" + std::to_string(n) + ".db")).string();
      std::vector<std::string> args = {"run", cfg, "--db", db, "--quiet"};
      if (n > 1) args.insert(args.end(), {"--nproc", std::to_string(n)});
      runCli(args, (dir / ("n" + std::to_string(n) + ".log")).string());
      auto store = RunStore::open(db, true);
      const auto runs = store->listRuns();
      if (runs.size() != 1) throw std::runtime_error("bench: the dist run left no run");
      std::vector<double> rate, reduce;
      double bytes = 0;
      for (const auto& m : store->metrics(runs[0].id)) {
        // The first steps warm caches and allocators up.
        if (m.key == "pairs_per_s" && m.step > 2) rate.push_back(m.value);
        if (m.key == "allreduce_bytes") bytes = m.value;
      }
      for (const auto& m : store->rankMetrics(runs[0].id))
        if (m.key == "allreduce_s" && m.step > 2) reduce.push_back(m.value);
      if (rate.empty()) throw std::runtime_error("bench: the dist run took too few steps");
      nlohmann::json row = {{"preset", preset},
                            {"processes", n},
                            {"batch_pairs", o.batchPairs},
                            {"steps", static_cast<int>(rate.size())},
                            {"pairs_per_s", spreadOf(rate)}};
      const double median = row["pairs_per_s"]["median"].get<double>();
      if (n == 1) single = median;
      if (n > 1) {
        row["efficiency"] = single > 0 ? median / (n * single) : 0.0;
        if (!reduce.empty())
          row["allreduce_ms"] = spreadOf([&] {
            for (auto& r : reduce) r *= 1000;
            return reduce;
          }());
        row["allreduce_mb"] = bytes / 1e6;
      }
      rows.push_back(row);
    }
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  out["rows"] = rows;
  return out;
}

}  // namespace rr::core::bench
