// Formats whose pairs each come from a single input line: hh-rlhf, shp, hellaswag, dahoas,
// pairs and jsonl.
#include <algorithm>
#include <cmath>
#include <map>

#include "common/errors.h"
#include "data/formats/importer_p.h"
#include "data/jsonline.h"
#include "data/pairsio.h"

namespace rr::core::formats {
namespace {

struct TextFields {
  std::string prompt = "prompt", chosen = "chosen", rejected = "rejected";
  std::string domain;  // empty: the rows carry no domain
};

std::unique_ptr<FormatReader> textFields(TextFields names, std::string defaultDomain) {
  return rowFormat(
      [names, defaultDomain](const json& row, const std::string&, long, ImportContext& ctx) {
        std::string domain = defaultDomain;
        if (!names.domain.empty()) {
          domain = stringField(row, names.domain);
          if (domain.empty()) throw BadRecord("field '" + names.domain + "' is empty");
        }
        // Read in order, so that a row missing several fields always reports the same one.
        std::string prompt = stringField(row, names.prompt);
        std::string chosen = stringField(row, names.chosen);
        ctx.emit(makePair(domain, std::move(prompt), std::move(chosen),
                          stringField(row, names.rejected)));
      });
}

// SHP's domain field names the subreddit and the split it was published in.
std::string withoutSplitSuffix(std::string domain) {
  for (const std::string suffix : {"_train", "_validation", "_test"}) {
    if (domain.size() > suffix.size() &&
        domain.compare(domain.size() - suffix.size(), suffix.size(), suffix) == 0) {
      domain.resize(domain.size() - suffix.size());
      break;
    }
  }
  return domain;
}

class ShpReader : public FormatReader {
 public:
  explicit ShpReader(const ImportOptions& o)
      : m_minRatio(o.minScoreRatio), m_max(o.maxPairsPerPost) {}

  void record(const json& row, const std::string&, long, ImportContext& ctx) override {
    const std::string domain = withoutSplitSuffix(stringField(row, "domain"));
    if (domain.empty()) throw BadRecord("field 'domain' is empty");
    const std::string prompt = stringField(row, "history");
    const std::string a = stringField(row, "human_ref_A"), b = stringField(row, "human_ref_B");
    const long label = integerField(row, "labels");
    if (label != 0 && label != 1)
      throw BadRecord("field 'labels' must be 0 or 1", "got " + std::to_string(label));
    if (m_minRatio && numberField(row, "score_ratio") < *m_minRatio) {
      ctx.notUsed("shp score_ratio below --min-score-ratio");
      return;
    }
    if (m_max && ++m_perPost[stringField(row, "post_id")] > *m_max) {
      ctx.notUsed("shp pair beyond --max-pairs-per-post");
      return;
    }
    PreferencePair p = label == 1 ? makePair(domain, prompt, a, b) : makePair(domain, prompt, b, a);
    // score_ratio is the preferred comment's score over the other's (>= 1); its logarithm puts
    // it on the scale of a reward difference, so a ratio of 1 (no preference strength) is 0.
    if (optionalField(row, "score_ratio")) {
      const double ratio = numberField(row, "score_ratio");
      if (!(ratio > 0) || !std::isfinite(ratio))
        throw BadRecord("field 'score_ratio' must be a positive number",
                        "got " + quoteJson(*optionalField(row, "score_ratio")));
      p.margin = std::log(ratio);
    }
    ctx.emit(std::move(p));
  }

 private:
  std::optional<double> m_minRatio;
  std::optional<long> m_max;
  std::map<std::string, long> m_perPost;
};

// HellaSwag publishes `label` as an integer in some copies and a string in others; the test
// split leaves it out or empty.
std::optional<long> hellaswagLabel(const json& row) {
  const json* label = optionalField(row, "label");
  if (!label || (label->is_string() && label->get_ref<const std::string&>().empty()))
    return std::nullopt;
  long value = 0;
  if (asLong(*label, value)) return value;
  if (label->is_number_integer())
    throw BadRecord("field 'label' must be 0..3", "got " + quoteJson(*label));
  const std::string digits = label->is_string() ? label->get<std::string>() : "";
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    throw BadRecord("field 'label' must be an integer", "got " + quoteJson(*label));
  return std::stol(digits);
}

}  // namespace

std::unique_ptr<FormatReader> makeHhRlhf(const ImportOptions&) {
  return rowFormat([](const json& row, const std::string&, long, ImportContext& ctx) {
    static const std::string kTurn = "\n\nAssistant:";
    const std::string chosen = stringField(row, "chosen"), rejected = stringField(row, "rejected");
    const size_t common = static_cast<size_t>(
        std::mismatch(chosen.begin(), chosen.end(), rejected.begin(), rejected.end()).first -
        chosen.begin());
    // The last assistant turn both transcripts share starts the responses; what follows it may
    // itself contain "Human:" turns or be empty.
    const size_t turn =
        common < kTurn.size() ? std::string::npos : chosen.rfind(kTurn, common - kTurn.size());
    if (turn == std::string::npos)
      throw BadRecord("chosen and rejected share no \"\\n\\nAssistant:\" turn");
    const size_t cut = turn + kTurn.size();
    ctx.emit(makePair("hh-rlhf", chosen.substr(0, cut), chosen.substr(cut), rejected.substr(cut)));
  });
}

std::unique_ptr<FormatReader> makeShp(const ImportOptions& o) {
  return std::make_unique<ShpReader>(o);
}

std::unique_ptr<FormatReader> makeHellaswag(const ImportOptions&) {
  return rowFormat([](const json& row, const std::string&, long, ImportContext& ctx) {
    const std::optional<long> label = hellaswagLabel(row);
    if (!label) {
      ctx.notUsed("hellaswag row without label");
      return;
    }
    const std::string prompt = stringField(row, "ctx");
    const json& endings = arrayField(row, "endings");
    if (endings.size() != 4 ||
        !std::all_of(endings.begin(), endings.end(), [](const json& e) { return e.is_string(); }))
      throw BadRecord("field 'endings' must be 4 strings");
    if (*label < 0 || *label > 3)
      throw BadRecord("field 'label' must be 0..3", "got " + std::to_string(*label));
    for (long i = 0; i < 4; ++i)
      if (i != *label)
        ctx.emit(makePair("hellaswag", prompt, endings[*label].get<std::string>(),
                          endings[i].get<std::string>()));
  });
}

std::unique_ptr<FormatReader> makeDahoas(const ImportOptions&) {
  return textFields(TextFields{}, "dahoas");
}

std::unique_ptr<FormatReader> makeJsonl(const ImportOptions& o) {
  TextFields names;
  for (const auto& [canonical, input] : o.fieldMap) {
    if (canonical == "prompt") names.prompt = input;
    if (canonical == "chosen") names.chosen = input;
    if (canonical == "rejected") names.rejected = input;
    if (canonical == "domain") names.domain = input;
  }
  return textFields(names, "default");
}

std::unique_ptr<FormatReader> makePairs(const ImportOptions&) {
  return rowFormat([](const json&, const std::string& text, long line, ImportContext& ctx) {
    const std::string where = ctx.file() + ":" + std::to_string(line);
    try {
      ctx.emit(parsePairLine(text, where));
    } catch (const InputError& e) {
      const std::string message = e.what();
      throw BadRecord(message.rfind(where + ": ", 0) == 0 ? message.substr(where.size() + 2)
                                                          : message);
    }
  });
}

}  // namespace rr::core::formats
