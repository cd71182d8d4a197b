#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "common/jsonparse.h"
#include "run/scoring.h"

namespace rr::cli {

int cmdScore(const Argv& argv) {
  Args args(
      "score", "(--db FILE --run ID | --model DIR) [--normalize] < IN.jsonl > OUT.jsonl",
      "Scores JSONL lines {\"prompt\": ..., \"response\": ...} from standard input with a\n"
      "trained run and writes one JSONL line {\"reward\", \"route\", \"detail\"} per input, in\n"
      "order. A line may also be a conversation {\"messages\": [{\"role\", \"content\"}, ...]}\n"
      "whose last message (the assistant's) is the one scored: a decoder reward model reads it\n"
      "through its chat template, an encoder reads the earlier turns joined as the prompt. In\n"
      "input order. Inputs are scored in batches as they arrive; routers see each prompt once.\n"
      "A line that is not such an object gets {\"error\": \"line N: ...\"} in its place and\n"
      "the others are still scored; the exit status is then 2. Blank lines are skipped.\n"
      "With --normalize the reward is (reward - mean_d) / std_d, the mean and standard\n"
      "deviation of the run's rewards on its training pairs in domain d: the domain the\n"
      "system routed the prompt to, else the line's optional \"domain\", else all domains;\n"
      "the line then also has \"raw_reward\" and \"normalized_by\" (d, or \"*\").",
      {{"db", "FILE", "run store of the run"},
       {"run", "ID", "id of a finished run (see `list`)"},
       {"model", "DIR",
        "instead of --db/--run: a saved model directory, or a Hugging Face reward-model folder"},
       {"max-len", "N", "cut inputs to at most N tokens (default: the model's own limit)"},
       {"batch-size", "N", "input lines read before they are scored together, in order of length\n"
                           "(default 1024; the outputs keep the input order)"},
       {"normalize", "",
        "per-domain normalised rewards (figures saved with the run's model; docs/EVALUATION.md)"},
       {"strict", "", "stop at the first bad input line instead of writing an error record"}});
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
  const int batch = static_cast<int>(args.integer("batch-size", 1024, 1, 65536));
  const bool strict = args.has("strict");
  const bool normalize = args.has("normalize");
  if (normalize) scorer->requireNormalization();
  const std::vector<std::string> modelDomains = scorer->domains();
  // Lines are scored in batches as they arrive, so memory stays bounded on a long stream; a bad
  // line gets an error record in its place and the rest go on. Outputs keep the input order.
  std::vector<std::string> pending;  // per output line: its error, or "" for a line to score
  std::vector<core::ScoreInput> inputs;
  std::vector<std::string> domains;  // per input: its "domain", or ""
  long bad = 0;
  auto flush = [&] {
    std::vector<core::ScoreOutput> scores =
        inputs.empty() ? std::vector<core::ScoreOutput>{} : scorer->score(inputs);
    if (normalize) scorer->normalize(scores, domains);
    size_t k = 0;
    for (const auto& error : pending) {
      nlohmann::json o;
      if (error.empty()) {
        const auto& s = scores.at(k++);
        o = {{"reward", s.reward}, {"route", s.route}, {"detail", s.detail}};
        if (normalize) {
          o["raw_reward"] = s.rawReward;
          o["normalized_by"] = s.normalizedBy;
        }
      } else {
        o = {{"error", error}};
      }
      std::cout << o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    std::cout.flush();
    pending.clear();
    inputs.clear();
    domains.clear();
  };
  std::string line;
  long lineNo = 0;
  while (std::getline(std::cin, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(lineNo);
    std::string error;
    try {
      const nlohmann::json j = core::parseJsonChecked(line, where);
      core::ScoreInput input;
      if (j.is_object() && j.contains("messages")) {
        input.messages = core::readMessages(j["messages"], where + ": $.messages");
      } else {
        if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() ||
            !j.contains("response") || !j["response"].is_string())
          throw core::InputError(where +
                                 ": expected {\"prompt\": string, \"response\": string} or "
                                 "{\"messages\": [...]}");
        for (const char* key : {"prompt", "response"})
          // The tokenizer reads C strings: text after a NUL would be dropped without a word.
          if (j[key].get_ref<const std::string&>().find('\0') != std::string::npos)
            throw core::InputError(where + ": $." + key + ": contains a NUL character (\\u0000)");
        input.prompt = j["prompt"].get<std::string>();
        input.response = j["response"].get<std::string>();
      }
      std::string domain;
      if (normalize && j.contains("domain")) {
        if (!j["domain"].is_string())
          throw core::InputError(where + ": $.domain: must be a string");
        domain = j["domain"].get<std::string>();
        if (!domain.empty() &&
            std::find(modelDomains.begin(), modelDomains.end(), domain) == modelDomains.end()) {
          std::string list;
          for (const auto& d : modelDomains) list += (list.empty() ? "" : ", ") + d;
          throw core::InputError(where + ": $.domain: '" + domain +
                                 "' is not one of the model's domains (" + list + ")");
        }
      }
      inputs.push_back(std::move(input));
      domains.push_back(domain);
    } catch (const core::InputError& e) {
      error = e.what();
    }
    if (!error.empty()) {
      ++bad;
      if (strict) {
        flush();
        throw core::InputError("score: stdin " + error);
      }
    }
    pending.push_back(error);
    // Counting error records too keeps memory bounded on a stream of bad lines.
    if (static_cast<int>(pending.size()) >= batch) flush();
  }
  flush();
  if (bad > 0) {
    std::cerr << "score: " << bad << " of the input lines could not be scored (their output lines "
              << "hold {\"error\": ...})\n";
    return 2;
  }
  return 0;
}

}  // namespace rr::cli
