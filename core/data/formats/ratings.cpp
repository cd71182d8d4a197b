// Datasets that rate responses rather than pair them (UltraFeedback, HelpSteer): every two
// responses to a prompt become a pair, ordered by an overall score, with one capability label
// per rated aspect, and the difference of the two overall scores as the pair's margin. Also
// UltraFeedback's binarized release, which arrives already paired (margin: score_chosen -
// score_rejected when the row has them).
#include <map>

#include "data/formats/importer_p.h"

namespace rr::core::formats {
namespace {

struct RatedResponse {
  std::string text;
  double overall = 0;
  std::map<std::string, long> ratings;  // aspect -> rating; unrated aspects are absent
  long line = 0;
};

void emitRatedPairs(const std::string& domain, const std::string& prompt,
                    const std::vector<RatedResponse>& responses, const std::string& tieRule,
                    ImportContext& ctx) {
  for (size_t i = 0; i < responses.size(); ++i)
    for (size_t j = i + 1; j < responses.size(); ++j) {
      const RatedResponse* chosen = &responses[i];
      const RatedResponse* rejected = &responses[j];
      if (chosen->overall == rejected->overall) {
        ctx.notUsed(tieRule);
        continue;
      }
      if (chosen->overall < rejected->overall) std::swap(chosen, rejected);
      PreferencePair p = makePair(domain, prompt, chosen->text, rejected->text);
      p.margin = chosen->overall - rejected->overall;
      for (const auto& [aspect, mine] : chosen->ratings) {
        auto other = rejected->ratings.find(aspect);
        if (other != rejected->ratings.end())
          p.capabilities[aspect] = (mine > other->second) - (mine < other->second);
      }
      p.capabilitySource = "dataset";
      ctx.emit(std::move(p), chosen->line);
    }
}

const char* const kUltrafeedbackAspects[] = {"helpfulness", "honesty", "instruction_following",
                                             "truthfulness"};

// An aspect's annotation is an object or, in some releases, a one-element list of one.
std::optional<long> ultrafeedbackRating(const json& annotations, const std::string& aspect,
                                        const std::string& prefix) {
  const json* a = optionalField(annotations, aspect);
  if (!a) return std::nullopt;
  if (a->is_array() && a->size() == 1) a = &(*a)[0];
  if (!a->is_object())
    throw BadRecord("field '" + prefix + aspect + "' must be an object or a one-element list");
  const std::string rating = stringField(*a, "Rating", prefix + aspect + ".");
  if (rating == "N/A") return std::nullopt;
  if (rating.size() != 1 || rating[0] < '1' || rating[0] > '5')
    throw BadRecord("field '" + prefix + aspect + ".Rating' must be \"1\"..\"5\" or \"N/A\"",
                    "got \"" + rating + "\"");
  return rating[0] - '0';
}

std::string lastAssistantMessage(const json& row, const std::string& key) {
  const json& messages = arrayField(row, key);
  for (size_t i = messages.size(); i-- > 0;) {
    const std::string prefix = key + "[" + std::to_string(i) + "].";
    if (!messages[i].is_object())
      throw BadRecord("field '" + prefix.substr(0, prefix.size() - 1) + "' must be an object");
    if (stringField(messages[i], "role", prefix) == "assistant")
      return stringField(messages[i], "content", prefix);
  }
  throw BadRecord("field '" + key + "' has no assistant message");
}

const char* const kHelpsteerAttributes[] = {"helpfulness", "correctness", "coherence", "complexity",
                                            "verbosity"};

// HelpSteer rates each response on its own row; rows of one prompt are paired at the end.
class HelpsteerReader : public FormatReader {
 public:
  void record(const json& row, const std::string&, long line, ImportContext&) override {
    RatedResponse r;
    const std::string prompt = stringField(row, "prompt");
    r.text = stringField(row, "response");
    r.line = line;
    for (const char* attribute : kHelpsteerAttributes) {
      const long v = integerField(row, attribute);
      if (v < 0 || v > 4)
        throw BadRecord(std::string("field '") + attribute + "' must be 0..4",
                        "got " + std::to_string(v));
      r.ratings[attribute] = v;
    }
    r.overall = static_cast<double>(r.ratings["helpfulness"]);
    auto [it, added] = m_groupOf.emplace(prompt, m_groups.size());
    if (added) m_groups.push_back({prompt, {}});
    m_groups[it->second].second.push_back(std::move(r));
  }

  void finish(ImportContext& ctx) override {
    for (const auto& [prompt, responses] : m_groups)
      emitRatedPairs("helpsteer", prompt, responses, "helpsteer tie in helpfulness", ctx);
  }

 private:
  std::map<std::string, size_t> m_groupOf;
  std::vector<std::pair<std::string, std::vector<RatedResponse>>> m_groups;  // first-seen order
};

}  // namespace

std::unique_ptr<FormatReader> makeUltrafeedback(const ImportOptions&) {
  return rowFormat([](const json& row, const std::string&, long line, ImportContext& ctx) {
    const std::string prompt = stringField(row, "instruction");
    const json& completions = arrayField(row, "completions");
    std::vector<RatedResponse> responses;
    for (size_t i = 0; i < completions.size(); ++i) {
      const std::string prefix = "completions[" + std::to_string(i) + "].";
      const json& c = completions[i];
      if (!c.is_object())
        throw BadRecord("field '" + prefix.substr(0, prefix.size() - 1) + "' must be an object");
      RatedResponse r;
      r.text = stringField(c, "response", prefix);
      r.overall = numberField(c, "overall_score", prefix);
      r.line = line;
      const json& annotations = field(c, "annotations", prefix);
      if (!annotations.is_object())
        throw BadRecord("field '" + prefix + "annotations' must be an object");
      for (const char* aspect : kUltrafeedbackAspects)
        if (auto rating = ultrafeedbackRating(annotations, aspect, prefix + "annotations."))
          r.ratings[aspect] = *rating;
      responses.push_back(std::move(r));
    }
    emitRatedPairs("ultrafeedback", prompt, responses, "ultrafeedback tie in overall_score", ctx);
  });
}

std::unique_ptr<FormatReader> makeUltrafeedbackBinarized(const ImportOptions&) {
  return rowFormat([](const json& row, const std::string&, long, ImportContext& ctx) {
    std::string prompt = stringField(row, "prompt");
    std::string chosen = lastAssistantMessage(row, "chosen");
    PreferencePair p = makePair("ultrafeedback", std::move(prompt), std::move(chosen),
                                lastAssistantMessage(row, "rejected"));
    if (optionalField(row, "score_chosen") && optionalField(row, "score_rejected")) {
      p.margin = numberField(row, "score_chosen") - numberField(row, "score_rejected");
      if (p.margin == 0) {
        ctx.notUsed("ultrafeedback-binarized tie in score");
        return;
      }
    }
    ctx.emit(std::move(p));
  });
}

std::unique_ptr<FormatReader> makeHelpsteer(const ImportOptions&) {
  return std::make_unique<HelpsteerReader>();
}

}  // namespace rr::core::formats
