// rewardrouter-cli: the headless front end over rr_core.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "commands.h"
#include "common/allocator.h"
#include "common/errors.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(const rr::cli::Argv&);
  const char* summary;
};

const Command kCommands[] = {
    {"run", rr::cli::cmdRun, "train and evaluate an experiment's methods, writing a run store"},
    {"report", rr::cli::cmdReport, "print result tables from a run store"},
    {"list", rr::cli::cmdList, "list the runs in a run store with their status"},
    {"synth", rr::cli::cmdSynth, "write the synthetic benchmark as a canonical pairs file"},
    {"import", rr::cli::cmdImport, "convert a published dataset file into canonical pairs"},
    {"score", rr::cli::cmdScore,
     "score JSONL prompt/response lines with a trained run or a Hugging Face reward model"},
    {"export", rr::cli::cmdExport, "write a trained run's reward model as a Hugging Face folder"},
    {"extend", rr::cli::cmdExtend, "add a domain to a trained RODOS or ARLISS run"},
    {"evaluate", rr::cli::cmdEvaluate, "score a pairs file (a benchmark) with a trained run"},
    {"bench", rr::cli::cmdBench, "measure training and inference speed, memory and scaling"},
    {"config", rr::cli::cmdConfig, "list the experiment config's keys, ranges and defaults"},
};

void usage(std::ostream& os) {
  os << "usage: rewardrouter-cli <command> [options]   (rewardrouter-cli <command> --help)\n\n"
        "commands:\n";
  for (const auto& c : kCommands) {
    std::string n = c.name;
    n.resize(10, ' ');
    os << "  " << n << c.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  rr::core::tuneAllocator();
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  rr::cli::Argv args(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.fn(args);
    } catch (const rr::core::InputError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      // LibTorch's errors carry a C++ backtrace after their first line: the user needs the line.
      const std::string what = e.what();
      std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
      return 1;
    }
  }
  std::cerr << "error: unknown command '" << cmd << "'\n";
  usage(std::cerr);
  return 2;
}
