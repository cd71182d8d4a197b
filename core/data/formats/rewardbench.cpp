// RewardBench rows (shared/docs/REWARDBENCH.md). v1: prompt, chosen, chosen_model, rejected,
// rejected_model, subset, id: one pair, its domain the subset, its section kept. RewardBench 2:
// chosen and rejected are lists (num_correct correct completions first): one pair per correct x
// incorrect completion, all carrying the row's id as their best-of-N group.
#include <cstdint>

#include "data/formats/importer_p.h"
#include "data/jsonline.h"
#include "eval/rewardbench.h"

namespace rr::core::formats {
namespace {

// Bounds on what one RewardBench 2 row expands to (docs/DATA.md, "rewardbench").
constexpr uint64_t kMaxPairsPerRow = 10000;
constexpr uint64_t kMaxRowTextBytes = uint64_t{256} << 20;

std::string rowId(const json& row) {
  const json& id = field(row, "id");
  if (id.is_string()) return id.get<std::string>();
  long n = 0;
  if (asLong(id, n)) return std::to_string(n);
  throw BadRecord("field 'id' must be a string or an integer", "got " + quoteJson(id));
}

std::vector<std::string> texts(const json& row, const std::string& key) {
  const json& list = arrayField(row, key);
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string())
      throw BadRecord("field '" + key + "[" + std::to_string(i) + "]' must be a string");
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

void rewardBenchRow(const json& row, const std::string&, long, ImportContext& ctx) {
  const std::string subset = stringField(row, "subset");
  if (subset.empty()) throw BadRecord("field 'subset' is empty");
  const std::string prompt = stringField(row, "prompt");
  const std::string id = rowId(row);
  if (field(row, "chosen").is_string()) {
    PreferencePair p = makePair(subset, prompt, stringField(row, "chosen"),
                                stringField(row, "rejected"));
    p.section = rewardBenchSection(subset);
    ctx.emit(std::move(p));
    return;
  }
  const std::vector<std::string> chosen = texts(row, "chosen"), rejected = texts(row, "rejected");
  const long numCorrect = integerField(row, "num_correct");
  if (numCorrect < 1 || static_cast<size_t>(numCorrect) != chosen.size())
    throw BadRecord("field 'num_correct' must equal the number of chosen completions",
                    "got " + std::to_string(numCorrect) + " for " +
                        std::to_string(chosen.size()));
  if (rejected.empty()) throw BadRecord("field 'rejected' is an empty list");
  // Published rows give at most a few hundred pairs; a crafted one of 3000 x 3000 completions
  // asked for 9 million, each with its own copy of the prompt.
  const uint64_t pairs = static_cast<uint64_t>(chosen.size()) * rejected.size();
  if (pairs > kMaxPairsPerRow)
    throw BadRecord(
        "a RewardBench 2 row may give at most " + std::to_string(kMaxPairsPerRow) + " pairs",
        std::to_string(chosen.size()) + " chosen x " + std::to_string(rejected.size()) +
            " rejected = " + std::to_string(pairs));
  uint64_t bytes = pairs * prompt.size();
  for (const auto& c : chosen) bytes += rejected.size() * c.size();
  for (const auto& r : rejected) bytes += chosen.size() * r.size();
  if (bytes > kMaxRowTextBytes)
    throw BadRecord("a RewardBench 2 row's pairs may hold at most " +
                        std::to_string(kMaxRowTextBytes >> 20) + " MiB of text",
                    std::to_string(bytes >> 20) + " MiB");
  for (const auto& c : chosen)
    for (const auto& r : rejected) {
      PreferencePair p = makePair(subset, prompt, c, r);
      p.group = id;
      ctx.emit(std::move(p));
    }
}

}  // namespace

std::unique_ptr<FormatReader> makeRewardBench(const ImportOptions&) {
  return rowFormat(rewardBenchRow);
}

}  // namespace rr::core::formats
