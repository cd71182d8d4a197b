#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "data/jsonline.h"
#include "train/scoring.h"

namespace rr::cli {

int cmdScore(const Argv& argv) {
  Args args(
      "score", "(--db FILE --run ID | --model DIR) < IN.jsonl > OUT.jsonl",
      "Scores JSONL lines {\"prompt\": ..., \"response\": ...} from standard input with a\n"
      "trained run and writes one JSONL line {\"reward\", \"route\", \"detail\"} per input, in\n"
      "order. Inputs are scored in batches; routers see each prompt once.",
      {{"db", "FILE", "run store of the run"},
       {"run", "ID", "id of a finished run (see `list`)"},
       {"model", "DIR",
        "instead of --db/--run: a saved model directory, or a Hugging Face reward-model folder"},
       {"max-len", "N", "cut inputs to at most N tokens (default: the model's own limit)"},
       {"batch-size", "N", "inputs per batch (default 32)"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  std::unique_ptr<core::RunScorer> scorer;
  const int maxLen =
      args.has("max-len") ? static_cast<int>(args.integer("max-len", 0, 8, 1000000)) : 0;
  if (args.has("model")) {
    if (args.has("db") || args.has("run"))
      throw core::InputError("score: give either --model DIR or --db FILE --run ID, not both");
    scorer = core::RunScorer::openDirectory(args.value("model"), maxLen);
  } else {
    if (!args.has("db") || !args.has("run"))
      throw core::InputError("score: give --db FILE --run ID, or --model DIR");
    scorer =
        core::RunScorer::openRun(args.value("db"), args.integer("run", 0, 1, INT64_MAX), maxLen);
  }
  const int batch = static_cast<int>(args.integer("batch-size", 32, 1, 65536));
  std::vector<core::ScoreInput> inputs;
  std::string line;
  long lineNo = 0;
  while (std::getline(std::cin, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "stdin:" + std::to_string(lineNo);
    nlohmann::json j;
    try {
      j = core::parseJsonLine(line);
    } catch (const core::JsonLineError& e) {
      throw core::InputError(where + ": " + e.what());
    }
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() ||
        !j.contains("response") || !j["response"].is_string())
      throw core::InputError(where + ": expected {\"prompt\": string, \"response\": string}");
    inputs.push_back({j["prompt"].get<std::string>(), j["response"].get<std::string>()});
  }
  for (const auto& s : scorer->score(inputs, batch)) {
    nlohmann::json o = {{"reward", s.reward}, {"route", s.route}, {"detail", s.detail}};
    std::cout << o.dump() << "\n";
  }
  return 0;
}

}  // namespace rr::cli
