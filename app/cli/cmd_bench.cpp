#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "args.h"
#include "bench/bench.h"
#include "commands.h"

namespace rr::cli {
namespace {

namespace fs = std::filesystem;

fs::path selfExe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

// A file of the checkout (bench/reference.py, models/bench/...): from the working directory (a
// checkout), else from the executable's build directory (<checkout>/<build>/bin); as given when
// neither has it.
std::string inCheckout(const std::string& relative) {
  std::error_code ec;  // a link loop on the way is "not there"
  for (const fs::path& p : {fs::path(relative), selfExe().parent_path() / "../.." / relative})
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  return relative;
}

// The real suite's defaults: the folders tools/make-bench-models.py makes, the committed HH-RLHF
// length profile; --quick: the test fixtures' tiny folders, a handful of inputs, no references.
void realDefaults(const Args& args, core::BenchOptions& o) {
  o.models = args.values("model");
  if (o.quick) {
    if (o.models.empty())
      o.models = {inCheckout("tests/fixtures/hf/models/bert-rm"),
                  inCheckout("tests/fixtures/hf/models/deberta-v3-rm")};
    o.scorePairs = 4;
    o.trainPairs = 8;
    o.trainMaxLen = 32;
    o.realReference.clear();
  } else if (o.models.empty()) {
    for (const char* name : {"all-MiniLM-L6-v2-rm", "deberta-v3-xsmall-rm"}) {
      const std::string dir = inCheckout(std::string("models/bench/") + name);
      if (!fs::exists(dir))
        throw core::InputError("bench: " + dir +
                               " not found: make the real suite's models with "
                               "`PYTHON tools/make-bench-models.py`, PYTHON a Python with "
                               "transformers (tools/bench-venv.sh makes one; docs/BENCHMARKS.md), "
                               "or name folders with --model DIR");
      o.models.push_back(dir);
    }
  }
  o.pairsFile = args.value("pairs");
  o.profile = args.value("profile", inCheckout("bench/profiles/hh-rlhf-harmless-test.json"));
  o.scorePairs = static_cast<int>(args.integer("score-pairs", o.scorePairs, 1, 1000000));
  o.scoreBatch = static_cast<int>(args.integer("score-batch", o.scoreBatch, 1, 4096));
  o.trainPairs = static_cast<int>(args.integer("train-pairs", o.trainPairs, 0, 1000000));
  o.trainMaxLen = static_cast<int>(args.integer("train-max-len", o.trainMaxLen, 8, 100000));
  o.cli = selfExe().string();
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

}  // namespace

int cmdBench(const Argv& argv) {
  Args args(
      "bench", "[options]",
      "Measures what the reward-model systems cost on this machine, in one process: the\n"
      "matmul ceiling, training pairs/s and model-FLOP utilisation, inference latency and\n"
      "throughput, memory, the run store's overhead, scaling with pairs and domains, and the\n"
      "same model in PyTorch (bench/reference.py). Each figure: one warm-up, then the\n"
      "median and range of --repeats samples. docs/BENCHMARKS.md explains every column.\n"
      "--suite real: Hugging Face reward models scored and trained as `score --model` and\n"
      "`run` do, on text of real lengths, against transformers and TRL (docs/BENCHMARKS.md,\n"
      "\"Real text\").",
      {{"suite", "NAME",
        "train | infer | scaling | dist | real | all, or a list: train,infer (default all; dist, "
        "1 vs 2 processes, and real, Hugging Face reward models on real text lengths, only when "
        "named)"},
       {"preset", "P",
        "encoder preset(s), comma-separated (default tiny,mini); also deberta-v3-xsmall, "
        "-small, -base, -large: that Hugging Face shape, random weights, + a reward head"},
       {"system", "NAME",
        "only this system in train/infer (repeatable): baseline, base-lora, more, rodos, arliss, "
        "dmoerm",
        true},
       {"format", "F", "table | csv | json (default table)"},
       {"repeats", "N", "timed samples per figure (default 5)"},
       {"batch", "N", "pairs per training step (default 16)"},
       {"seq-len", "N", "tokens per scored row (default 64)"},
       {"device", "D", "cpu | cuda (default cpu); on cuda inference is also timed at 64 pairs"},
       {"precision", "P",
        "fp32 | bf16 (default fp32): bf16 runs every timed pass under autocast (bf16 matmuls, "
        "fp32 weights)"},
       {"threads", "N", "LibTorch intra-op threads (default: LibTorch's own)"},
       {"blas-threads", "N", "OpenBLAS threads (default: OpenBLAS's own)"},
       {"python", "PATH",
        "interpreter for the PyTorch reference (default /usr/bin/python3); real: one with torch "
        "2.x, transformers and trl (tools/bench-venv.sh)"},
       {"reference", "FILE", "the reference script (default bench/reference.py)"},
       {"reference-input", "FILE",
        "keep the reference's input JSON in FILE (for bench/reference.py --profile)"},
       {"no-reference", "", "skip the PyTorch reference"},
       {"model", "DIR",
        "real: a Hugging Face reward-model folder (repeatable; the first is also trained; "
        "default models/bench/all-MiniLM-L6-v2-rm and deberta-v3-xsmall-rm)",
        true},
       {"pairs", "FILE", "real: a canonical pairs file to measure on, instead of the profile"},
       {"profile", "FILE",
        "real: token-length profile the texts are made to (default "
        "bench/profiles/hh-rlhf-harmless-test.json)"},
       {"score-pairs", "N", "real: pairs scored, chosen and rejected: 2N inputs (default 100)"},
       {"score-batch", "N", "real: the references' scoring batch (default 32)"},
       {"train-pairs", "N", "real: pairs of the training epoch, 0 = none (default 128)"},
       {"train-max-len", "N", "real: tokens per training row (default 128)"},
       {"quick", "",
        "toy shapes, 2 repeats, batch 4, 16 tokens: checks the harness in seconds (real: the test "
        "fixtures' tiny folders, a handful of inputs, once, no references)"},
       {"quiet", "", "no progress lines"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.positional().empty()) throw core::InputError("bench: takes no positional arguments");
  const std::string format = args.value("format", "table");
  if (format != "table" && format != "csv" && format != "json")
    throw core::InputError("bench: --format must be table, csv or json (got '" + format + "')");
  core::BenchOptions o;
  o.quick = args.has("quick");
  if (o.quick) {
    o.presets = {"tiny"};
    o.repeats = 2;
    o.batchPairs = 4;
    o.seqLen = 16;
  }
  o.suite = args.value("suite", o.suite);
  if (args.has("preset")) o.presets = splitList(args.value("preset"));
  o.systems = args.values("system");
  o.repeats = static_cast<int>(args.integer("repeats", o.repeats, 1, 1000));
  o.batchPairs = static_cast<int>(args.integer("batch", o.batchPairs, 1, 4096));
  o.seqLen = static_cast<int>(args.integer("seq-len", o.seqLen, 8, 4096));
  o.device = args.value("device", o.device);
  if (o.device != "cpu" && o.device != "cuda")
    throw core::InputError("bench: --device must be cpu or cuda (got '" + o.device + "')");
  o.precision = args.value("precision", o.precision);
  if (o.precision != "fp32" && o.precision != "bf16")
    throw core::InputError("bench: --precision must be fp32 or bf16 (got '" + o.precision + "')");
  o.threads = static_cast<int>(args.integer("threads", 0, 0, 1024));
  o.blasThreads = static_cast<int>(args.integer("blas-threads", 0, 0, 1024));
  // The real suite is measured three times unless told otherwise (its runs are long).
  if (o.suite == "real" && !args.has("repeats")) o.repeats = o.quick ? 1 : 3;
  if (!args.has("no-reference")) {
    o.python = args.value("python", "/usr/bin/python3");
    o.referenceScript = args.value("reference", inCheckout("bench/reference.py"));
    o.referenceInput = args.value("reference-input");
    o.realReference = inCheckout("bench/real_reference.py");
  }
  if (("," + o.suite + ",").find(",real,") != std::string::npos) {
    realDefaults(args, o);
  } else {
    for (const char* name :
         {"model", "pairs", "profile", "score-pairs", "score-batch", "train-pairs",
          "train-max-len"})
      if (args.has(name))
        throw core::InputError(std::string("bench: --") + name + " is an option of --suite real");
  }
  const bool quiet = args.has("quiet");
  const auto start = std::chrono::steady_clock::now();
  const nlohmann::json result = core::runBench(o, [&](const std::string& line) {
    if (quiet) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "bench [" << static_cast<long>(s) << " s] " << line << std::endl;
  });
  if (format == "json")
    std::cout << result.dump(2) << "\n";
  else
    std::cout << core::formatBench(result, format);
  // The figures that were measured are printed; a system that failed makes the bench fail.
  if (result.contains("errors") && !result["errors"].empty()) {
    std::cerr << "bench: " << result["errors"].size()
              << " measurement(s) failed (see \"errors\" in the output)\n";
    return 1;
  }
  return 0;
}

}  // namespace rr::cli
