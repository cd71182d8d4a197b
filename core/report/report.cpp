#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/errors.h"

namespace rr::core {

Stat statOf(const std::vector<double>& v) {
  Stat s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::vector<std::string> reportBreakdowns() { return {"capability", "seed"}; }

void checkReportBreakdown(const std::string& by) {
  const auto all = reportBreakdowns();
  if (std::find(all.begin(), all.end(), by) != all.end()) return;
  std::string list;
  for (size_t i = 0; i < all.size(); ++i)
    list += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i];
  throw InputError("report: --by must be " + list + " (got '" + by + "')");
}

namespace {

// The Baseline of m's experiment (the last one when there are several), or nullptr.
const MethodSummary* baselineOf(const Report& rep, const MethodSummary& m) {
  const MethodSummary* base = nullptr;
  for (const auto& b : rep.methods)
    if (b.method == "baseline" && b.experiment == m.experiment) base = &b;
  return base;
}

// The header of every CSV form of the report: one value per row.
const char* const kCsvHeader = "experiment,method,method_name,seeds,column,metric,mean,std\n";

void addCapabilityBreakdown(const RunStore& store, const std::vector<std::int64_t>& ids,
                            Report& rep) {
  std::map<std::int64_t, std::vector<CapabilityCount>> counts;
  std::set<std::string> names;
  for (auto& c : store.capabilityCounts(ids)) {
    names.insert(c.capability);
    counts[c.runId].push_back(c);
  }
  rep.capabilities.assign(names.begin(), names.end());
  for (auto& m : rep.methods) {
    std::map<std::string, std::vector<double>> acc, pairs;
    for (auto id : m.runIds)
      for (const auto& c : counts[id]) {
        pairs[c.capability].push_back(static_cast<double>(c.pairs));
        if (c.pairs > 0)
          acc[c.capability].push_back(static_cast<double>(c.correct) /
                                      static_cast<double>(c.pairs));
      }
    for (const auto& [k, v] : acc) m.capabilityAccuracy[k] = statOf(v);
    for (const auto& [k, v] : pairs) m.capabilityPairs[k] = statOf(v);
  }
}

void addSeedBreakdown(const std::map<std::int64_t, double>& runMean,
                      const std::map<std::int64_t, int>& runSeed, Report& rep) {
  std::set<int> seeds;
  for (auto& m : rep.methods) {
    std::map<int, std::vector<double>> bySeed;
    for (auto id : m.runIds)
      if (auto it = runMean.find(id); it != runMean.end())
        bySeed[runSeed.at(id)].push_back(it->second);
    for (const auto& [seed, v] : bySeed) {
      m.seedAccuracy[seed] = statOf(v).mean;
      seeds.insert(seed);
    }
  }
  rep.seeds.assign(seeds.begin(), seeds.end());
  for (auto& m : rep.methods) {
    const MethodSummary* base = baselineOf(rep, m);
    if (!base) continue;
    std::vector<double> diffs;
    for (const auto& [seed, a] : m.seedAccuracy)
      if (auto it = base->seedAccuracy.find(seed); it != base->seedAccuracy.end()) {
        diffs.push_back(a - it->second);
        if (a > it->second) ++m.aheadOfBaseline;
      }
    m.vsBaseline = statOf(diffs);
  }
}

// Each experiment's evaluated pairs, once each (runs of one experiment share pairs), under the
// "longer response wins" rule; experiments without the pairs' texts get nothing.
void addLengthHeuristic(const std::vector<RunInfo>& runs,
                        const std::map<std::int64_t, std::vector<ScoredPair>>& scored,
                        Report& rep) {
  std::map<std::string, std::map<std::string, std::map<std::string, ScoredPair>>> byExperiment;
  for (const auto& r : runs)
    if (auto it = scored.find(r.id); it != scored.end())
      for (const auto& p : it->second)
        if (p.chosenLength >= 0 && p.rejectedLength >= 0)
          byExperiment[r.experiment][p.domain].emplace(p.id, p);
  for (const auto& [experiment, domains] : byExperiment) {
    double sum = 0;
    for (const auto& [domain, pairs] : domains) {
      std::vector<ScoredPair> v;
      for (const auto& [id, p] : pairs) v.push_back(p);
      const double a = lengthBias(v).heuristicAccuracy;
      rep.lengthHeuristic[experiment][domain] = a;
      sum += a;
    }
    rep.lengthHeuristic[experiment][kWholeRun] = sum / static_cast<double>(domains.size());
  }
}

std::vector<double> marginsOf(const std::vector<ScoredPair>& pairs) {
  std::vector<double> m;
  // A pair with a NaN reward has no margin to calibrate (it counts as wrong in the accuracy).
  for (const auto& p : pairs)
    if (const double d = p.rewardChosen - p.rewardRejected; !std::isnan(d)) m.push_back(d);
  return m;
}

// Two-fold cross-fitted temperature (see RunFigures::calibrationFitted).
Calibration crossFitted(const std::vector<double>& margins, std::pair<double, double>& temps) {
  std::vector<double> fold[2];
  for (size_t i = 0; i < margins.size(); ++i) fold[i % 2].push_back(margins[i]);
  temps = {fitTemperature(fold[1]), fitTemperature(fold[0])};
  if (fold[0].empty() || fold[1].empty()) {
    Calibration c = calibration({});
    c.pairs = static_cast<std::int64_t>(margins.size());
    return c;
  }
  std::vector<double> scaled;
  for (size_t i = 0; i < margins.size(); ++i) {
    const double t = i % 2 ? temps.second : temps.first;
    scaled.push_back(std::isinf(t) ? 0.0 : margins[i] / t);
  }
  Calibration c = calibration(scaled);
  c.temperature = std::numeric_limits<double>::quiet_NaN();
  return c;
}

// Calibration of the evaluated pairs' margins at the temperature fitted on the validation
// pairs' margins (see RunFigures::calibrationFitted).
Calibration validationFitted(const std::vector<double>& margins,
                             const std::vector<double>& validation) {
  return calibration(margins, fitTemperature(validation));  // T = inf: every probability 1/2
}

RunFigures figuresOf(const RunInfo& run, const std::vector<ScoredPair>& all,
                     const std::vector<ScoredPair>& validation, const ReportOptions& o) {
  RunFigures f;
  f.runId = run.id;
  f.experiment = run.experiment;
  f.method = run.method;
  f.methodName = run.methodName;
  f.seed = run.seed;
  std::map<std::string, std::vector<ScoredPair>> byDomain, validationByDomain;
  for (const auto& p : all) byDomain[p.domain].push_back(p);
  byDomain[kWholeRun] = all;
  for (const auto& p : validation) validationByDomain[p.domain].push_back(p);
  validationByDomain[kWholeRun] = validation;
  std::vector<std::vector<bool>> groups;
  for (const auto& [domain, pairs] : byDomain) {
    if (domain != kWholeRun) f.domains.push_back(domain);
    std::vector<bool> right;
    for (const auto& p : pairs) right.push_back(p.correct);
    f.pairs[domain] = static_cast<std::int64_t>(pairs.size());
    f.accuracy[domain] =
        pairs.empty() ? std::numeric_limits<double>::quiet_NaN()
                      : static_cast<double>(std::count(right.begin(), right.end(), true)) /
                            static_cast<double>(pairs.size());
    if (o.lengthBias) f.lengthBias[domain] = lengthBias(pairs);
    if (o.calibration) {
      const auto m = marginsOf(pairs);
      f.calibration[domain] = calibration(m);
      const auto v = marginsOf(validationByDomain[domain]);
      f.validationPairs[domain] = static_cast<std::int64_t>(v.size());
      if (!v.empty()) {
        f.temperatureSource[domain] = "validation";
        f.calibrationFitted[domain] = validationFitted(m, v);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        f.foldTemperatures[domain] = {nan, nan};
      } else {
        f.temperatureSource[domain] = "cross-fit";
        f.calibrationFitted[domain] = crossFitted(m, f.foldTemperatures[domain]);
      }
    }
    if (o.rewardStats) f.rewards[domain] = rewardStats(pairs);
    if (o.intervals && domain != kWholeRun) {
      f.interval[domain] = bootstrapAccuracy({right}, o.resamples, o.seed);
      groups.push_back(right);
    }
  }
  f.domains.push_back(kWholeRun);
  if (o.intervals) f.interval[kWholeRun] = bootstrapAccuracy(groups, o.resamples, o.seed);
  const std::size_t n = f.domains.size() - 1;
  if (n > 0) {
    double accuracy = 0, heuristic = 0;
    for (std::size_t i = 0; i < n; ++i) {
      accuracy += f.accuracy.at(f.domains[i]);
      heuristic += o.lengthBias ? f.lengthBias.at(f.domains[i]).heuristicAccuracy
                                : std::numeric_limits<double>::quiet_NaN();
    }
    f.meanAccuracy = accuracy / static_cast<double>(n);
    f.meanHeuristicAccuracy = heuristic / static_cast<double>(n);
  }
  return f;
}

RunComparison compareRuns(const RunStore& store, std::int64_t a, std::int64_t b) {
  RunComparison c;
  c.runA = a;
  c.runB = b;
  for (std::int64_t id : {a, b}) {
    const auto run = store.run(id);
    if (!run || run->status != RunStatus::Finished)
      throw InputError("report: --compare: run " + std::to_string(id) +
                       (run ? " is " + toString(run->status) + ", not finished" : " does not exist") +
                       " in " + store.path());
    (id == a ? c.nameA : c.nameB) = run->methodName;
  }
  auto scored = store.scoredPairs({a, b});
  c.test = mcnemar(scored[a], scored[b]);
  if (c.test.pairs == 0)
    throw InputError("report: --compare: runs " + std::to_string(a) + " and " +
                     std::to_string(b) + " share no evaluated pair");
  return c;
}

EvaluationSummary summarizeEvaluation(const EvaluationInfo& info, const RunInfo& run,
                                      const std::vector<ScoredPair>& pairs) {
  EvaluationSummary e;
  e.info = info;
  e.experiment = run.experiment;
  e.method = run.method;
  e.methodName = run.methodName;
  e.seed = run.seed;
  std::map<std::string, std::vector<ScoredPair>> byDomain;
  std::map<std::string, std::map<std::string, std::vector<const ScoredPair*>>> groups;
  bool anyV1Subset = false;
  for (const auto& p : pairs) {
    byDomain[p.domain].push_back(p);
    auto& c = e.perDomain[p.domain];
    c.correct += p.correct;
    c.total += 1;
    if (!p.group.empty()) groups[p.domain][p.group].push_back(&p);
    anyV1Subset = anyV1Subset || !rewardBenchSection(p.domain).empty();
  }
  double acc = 0, heuristic = 0;
  bool lengthsKnown = true;
  for (const auto& [d, v] : byDomain) {
    acc += static_cast<double>(e.perDomain[d].correct) / static_cast<double>(v.size());
    const LengthBias b = lengthBias(v);
    lengthsKnown = lengthsKnown && b.pairs > 0;
    heuristic += b.heuristicAccuracy;
  }
  const double n = static_cast<double>(byDomain.size());
  e.accuracy = byDomain.empty() ? std::numeric_limits<double>::quiet_NaN() : acc / n;
  e.lengthHeuristic =
      lengthsKnown && !byDomain.empty() ? heuristic / n : std::numeric_limits<double>::quiet_NaN();
  if (!groups.empty()) {
    e.rewardBenchV2 = true;
    double sum = 0;
    for (const auto& [subset, bySubset] : groups) {
      if (subset == kTiesSubset) {
        std::vector<TiesPrompt> ties;
        for (const auto& [group, members] : bySubset) {
          if (!isTiesPromptId(group)) {
            ++e.unscoredGroups;
            continue;
          }
          TiesPrompt t{group, {}, {}};
          // Each pair is one correct x one incorrect completion: the extremes over the pairs
          // are the extremes over the completions.
          for (const auto* p : members) {
            t.correct.push_back(p->rewardChosen);
            t.incorrect.push_back(p->rewardRejected);
          }
          ties.push_back(std::move(t));
        }
        if (ties.empty()) continue;
        e.hasTies = true;
        e.ties = rewardBenchTies(ties);
        if (std::isnan(e.ties.score)) {
          e.unscoredGroups += static_cast<std::int64_t>(ties.size());
          continue;
        }
        e.bestOfN[subset] = e.ties.score;
        e.prompts[subset] = static_cast<std::int64_t>(ties.size());
        sum += e.ties.score;
        continue;
      }
      double total = 0;
      std::int64_t scored = 0;
      for (const auto& [group, members] : bySubset) {
        // One correct completion: every pair of the group has the same chosen reward.
        const double correct = members.front()->rewardChosen;
        std::vector<double> incorrect;
        bool single = true;
        for (const auto* p : members) {
          single = single && p->rewardChosen == correct;
          incorrect.push_back(p->rewardRejected);
        }
        if (!single) {
          ++e.unscoredGroups;
          continue;
        }
        total += bestOfNScore(correct, incorrect);
        ++scored;
      }
      if (scored == 0) continue;
      e.bestOfN[subset] = total / static_cast<double>(scored);
      e.prompts[subset] = scored;
      sum += e.bestOfN[subset];
    }
    e.bestOfNScore = e.bestOfN.empty() ? std::numeric_limits<double>::quiet_NaN()
                                       : sum / static_cast<double>(e.bestOfN.size());
  } else if (anyV1Subset) {
    e.rewardBenchV1 = true;
    e.v1 = rewardBenchV1(e.perDomain);
  }
  return e;
}

}  // namespace

Report buildReport(const RunStore& store, const std::vector<std::int64_t>& runIds,
                   const std::string& by, const ReportOptions& options) {
  if (!options.compare.empty() && options.compare.size() != 2)
    throw InputError("report: --compare takes two run ids");
  if (options.intervals && options.resamples < 1)
    throw InputError("report: --ci-resamples must be at least 1");
  if (!by.empty()) checkReportBreakdown(by);
  std::vector<RunInfo> runs;
  for (const auto& r : store.listRuns()) {
    if (r.status != RunStatus::Finished) continue;
    if (!runIds.empty() && std::find(runIds.begin(), runIds.end(), r.id) == runIds.end()) continue;
    runs.push_back(r);
  }
  std::vector<std::int64_t> ids;
  for (const auto& r : runs) ids.push_back(r.id);
  std::map<std::int64_t, std::vector<ResultRow>> results;
  for (auto& row : store.results(ids)) results[row.runId].push_back(row);
  std::map<std::int64_t, std::vector<ComponentRow>> comps;
  for (auto& c : store.components(ids)) comps[c.runId].push_back(c);

  Report rep;
  rep.by = by;
  std::vector<std::pair<std::string, std::string>> order;  // (experiment, name) in run order
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::vector<double>>> acc,
      met, compSecs;
  std::map<std::pair<std::string, std::string>, MethodSummary> byKey;
  std::set<std::string> domains;
  std::map<std::int64_t, double> runMean;  // each run's mean accuracy over domains
  std::map<std::int64_t, int> runSeed;
  for (const auto& r : runs) {
    const auto key = std::make_pair(r.experiment, r.methodName);
    if (!byKey.count(key)) {
      order.push_back(key);
      byKey[key].experiment = r.experiment;
      byKey[key].method = r.method;
      byKey[key].methodName = r.methodName;
    }
    byKey[key].runIds.push_back(r.id);
    byKey[key].seeds.push_back(r.seed);
    runSeed[r.id] = r.seed;
    for (const auto& row : results[r.id]) {
      if (row.metric == "accuracy") {
        if (row.domain == "*") runMean[r.id] = row.value;
        acc[key][row.domain].push_back(row.value);
        if (row.domain != "*") domains.insert(row.domain);
      } else if (row.domain == "*") {
        met[key][row.metric].push_back(row.value);
      }
    }
    for (const auto& c : comps[r.id]) compSecs[key][c.name].push_back(c.trainSeconds);
  }
  rep.domains.assign(domains.begin(), domains.end());
  for (const auto& key : order) {
    MethodSummary m = byKey[key];
    for (const auto& [d, v] : acc[key]) m.accuracy[d] = statOf(v);
    for (const auto& [k, v] : met[key]) m.metrics[k] = statOf(v);
    for (const auto& [k, v] : compSecs[key]) m.componentSeconds[k] = statOf(v);
    rep.methods.push_back(m);
  }
  for (auto& m : rep.methods) {
    const MethodSummary* b = baselineOf(rep, m);
    if (b && b->metrics.count("params_total") && m.metrics.count("params_total"))
      m.paramsPctOfBaseline =
          100.0 * m.metrics.at("params_total").mean / b->metrics.at("params_total").mean;
  }
  if (by == "capability") addCapabilityBreakdown(store, ids, rep);
  if (by == "seed") addSeedBreakdown(runMean, runSeed, rep);
  rep.options = options;
  const auto scored = store.scoredPairs(ids);
  addLengthHeuristic(runs, scored, rep);
  const auto validation =
      options.calibration ? store.validationPairs(ids) : decltype(store.validationPairs(ids)){};
  if (options.lengthBias || options.calibration || options.intervals || options.rewardStats)
    for (const auto& r : runs) {
      auto it = scored.find(r.id);
      auto v = validation.find(r.id);
      if (it != scored.end())
        rep.runs.push_back(figuresOf(
            r, it->second, v == validation.end() ? std::vector<ScoredPair>{} : v->second, options));
    }
  if (!options.compare.empty())
    rep.comparisons.push_back(compareRuns(store, options.compare[0], options.compare[1]));
  std::map<std::int64_t, const RunInfo*> runById;
  for (const auto& r : runs) runById[r.id] = &r;
  if (!ids.empty())
    for (const auto& info : store.evaluations(ids))
      rep.evaluations.push_back(
          summarizeEvaluation(info, *runById.at(info.runId), store.evaluationPairs(info.id)));
  return rep;
}

std::vector<std::string> reportFormats() { return {"md", "csv", "json", "latex"}; }

namespace {

std::string fixed(double v, int prec) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << v;
  return os.str();
}

std::string pm(const Stat& s, int prec, const std::string& sep) {
  return fixed(s.mean, prec) + sep + fixed(s.std, prec);
}

double metricMean(const MethodSummary& m, const std::string& k) {
  auto it = m.metrics.find(k);
  return it == m.metrics.end() ? 0 : it->second.mean;
}

std::string millions(double params) { return fixed(params / 1e6, 3); }

// Accuracy columns: every domain, then "*" (the mean over domains).
std::vector<std::string> accuracyColumns(const Report& r) {
  std::vector<std::string> c = r.domains;
  c.push_back("*");
  return c;
}

std::map<std::string, double> bestPerColumn(const Report& r) {
  std::map<std::string, double> best;
  for (const auto& col : accuracyColumns(r))
    for (const auto& m : r.methods)
      if (auto it = m.accuracy.find(col); it != m.accuracy.end())
        best[col] = std::max(best.count(col) ? best[col] : -1.0, it->second.mean);
  return best;
}

std::string bold(const std::string& s, bool latex) {
  return latex ? "\\textbf{" + s + "}" : "**" + s + "**";
}

// Names come from data files and configs, so they may hold anything; each format escapes its
// own active characters so a name can neither break the table nor inject markup.
std::string cellText(const std::string& s, bool latex) {
  std::string out;
  for (char ch : s) {
    if (!latex) {
      // Markdown table cells: backslash escapes for the characters that end a cell or start
      // markup; a line break cannot occur in a cell, so it becomes <br>.
      if (ch == '\\' || ch == '|' || ch == '`' || ch == '*' || ch == '<' || ch == '>' ||
          ch == '[' || ch == ']')
        out += '\\';
      if (ch == '\n')
        out += "<br>";
      else if (ch != '\r')
        out += ch;
      continue;
    }
    switch (ch) {
      case '#':
      case '$':
      case '%':
      case '&':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += ch;
        break;
      case '\\':
        out += "\\textbackslash{}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '<':
        out += "\\textless{}";
        break;
      case '>':
        out += "\\textgreater{}";
        break;
      case '|':
        out += "\\textbar{}";
        break;
      // A line break would end a % comment line and leave the rest as LaTeX.
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// One CSV field per RFC 4180: quoted when it holds a comma, a quote or a line break, with quotes
// doubled.
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string csvIdentity(const MethodSummary& m) {
  return csvField(m.experiment) + "," + csvField(m.method) + "," + csvField(m.methodName) + ",";
}

// The head of a LaTeX table (first column left-aligned) or a Markdown one (`mdLeft` columns
// left-aligned, the rest right-aligned).
void tableHead(std::ostringstream& os, const std::vector<std::string>& head, size_t mdLeft,
               bool latex) {
  if (latex) os << "\\begin{tabular}{l" << std::string(head.size() - 1, 'r') << "}\n\\hline\n";
  for (size_t i = 0; i < head.size(); ++i)
    os << (i ? (latex ? " & " : " | ") : (latex ? "" : "| ")) << cellText(head[i], latex);
  os << (latex ? " \\\\\n\\hline\n" : " |\n");
  if (!latex) {
    os << "|";
    for (size_t i = 0; i < head.size(); ++i) os << (i < mdLeft ? "---|" : "---:|");
    os << "\n";
  }
}

std::string table(const Report& r, bool latex) {
  const auto cols = accuracyColumns(r);
  const auto best = bestPerColumn(r);
  const std::string sep = latex ? " & " : " | ";
  const std::string pmSep = latex ? " $\\pm$ " : " ± ";
  std::ostringstream os;
  std::vector<std::string> head = {"method", "seeds"};
  for (const auto& c : cols) head.push_back(c == "*" ? "mean" : c);
  for (const char* h :
       {"params (M)", "% of Baseline", "trainable (M)", "train s", "infer ms/step", "pairs/s @32"})
    head.push_back(h);
  tableHead(os, head, 2, latex);
  for (const auto& m : r.methods) {
    std::vector<std::string> cells = {cellText(m.methodName, latex),
                                      std::to_string(m.runIds.size())};
    for (const auto& c : cols) {
      auto it = m.accuracy.find(c);
      if (it == m.accuracy.end()) {
        cells.push_back("-");
        continue;
      }
      std::string cell = pm(it->second, 4, pmSep);
      if (std::abs(it->second.mean - best.at(c)) < 1e-12) cell = bold(cell, latex);
      cells.push_back(cell);
    }
    cells.push_back(millions(metricMean(m, "params_total")));
    cells.push_back(m.paramsPctOfBaseline >= 0 ? fixed(m.paramsPctOfBaseline, 1) : "-");
    cells.push_back(millions(metricMean(m, "params_trainable")));
    cells.push_back(fixed(metricMean(m, "train_seconds"), 1));
    cells.push_back(fixed(metricMean(m, "infer_ms_per_step"), 2));
    cells.push_back(fixed(metricMean(m, "infer_pairs_per_s"), 0));
    for (size_t i = 0; i < cells.size(); ++i) os << (i ? sep : (latex ? "" : "| ")) << cells[i];
    os << (latex ? " \\\\\n" : " |\n");
  }
  // The reference row: what the length of the responses alone gets right.
  for (const auto& [experiment, acc] : r.lengthHeuristic) {
    std::string name = "longer response wins";
    if (r.lengthHeuristic.size() > 1) name += " (" + experiment + ")";
    std::vector<std::string> cells = {cellText(name, latex), "-"};
    for (const auto& c : cols) {
      auto it = acc.find(c);
      cells.push_back(it == acc.end() ? "-" : fixed(it->second, 4));
    }
    cells.insert(cells.end(), 6, "-");
    for (size_t i = 0; i < cells.size(); ++i) os << (i ? sep : (latex ? "" : "| ")) << cells[i];
    os << (latex ? " \\\\\n" : " |\n");
  }
  if (latex) os << "\\hline\n\\end{tabular}\n";
  // Train time per component (the paper's Table 3).
  std::ostringstream comp;
  bool any = false;
  for (const auto& m : r.methods) {
    if (m.componentSeconds.size() < 2) continue;
    any = true;
    comp << (latex ? "% " : "- ") << cellText(m.methodName, latex) << ": ";
    bool first = true;
    for (const auto& [name, s] : m.componentSeconds) {
      comp << (first ? "" : ", ") << cellText(name, latex) << " " << fixed(s.mean, 1) << " s";
      first = false;
    }
    comp << "\n";
  }
  if (any)
    os << (latex ? "% train seconds per component\n" : "\nTrain seconds per component:\n")
       << comp.str();
  // A model that gives NaN rewards is counted wrong on those pairs: say how many there were.
  for (const auto& m : r.methods) {
    auto it = m.metrics.find("nan_reward_pairs");
    if (it == m.metrics.end()) continue;
    const double total = it->second.mean * static_cast<double>(it->second.n);
    os << (latex ? "% " : "\nWarning: ") << cellText(m.methodName, latex) << ": "
       << fixed(total, 0) << " test pair" << (total == 1 ? "" : "s") << " over "
       << it->second.n << " of its " << m.runIds.size() << " run"
       << (m.runIds.size() == 1 ? "" : "s")
       << " got a NaN reward (counted as wrong); see the runs' logs\n";
  }
  return os.str();
}

std::string csv(const Report& r) {
  std::ostringstream os;
  os << kCsvHeader;
  auto row = [&](const MethodSummary& m, const std::string& col, const std::string& metric,
                 const Stat& s) {
    os << csvIdentity(m) << s.n << "," << csvField(col) << "," << metric << ","
       << std::setprecision(10) << s.mean << "," << s.std << "\n";
  };
  for (const auto& m : r.methods) {
    for (const auto& [d, s] : m.accuracy) row(m, d, "accuracy", s);
    for (const auto& [k, s] : m.metrics) row(m, "*", k, s);
    for (const auto& [k, s] : m.componentSeconds) row(m, k, "component_train_seconds", s);
  }
  for (const auto& [experiment, acc] : r.lengthHeuristic)
    for (const auto& [d, a] : acc)
      os << csvField(experiment) << ",length-heuristic,longer response wins,," << csvField(d)
         << ",accuracy," << std::setprecision(10) << a << ",0\n";
  return os.str();
}

nlohmann::json statJson(const Stat& s) { return {{"mean", s.mean}, {"std", s.std}, {"n", s.n}}; }

// The fields that name a method's row, in every JSON form of the report.
nlohmann::json methodIdentityJson(const MethodSummary& m) {
  return {{"experiment", m.experiment},
          {"method", m.method},
          {"name", m.methodName},
          {"run_ids", m.runIds},
          {"seeds", m.seeds}};
}

nlohmann::json json(const Report& r) {
  nlohmann::json j;
  j["domains"] = r.domains;
  j["methods"] = nlohmann::json::array();
  for (const auto& m : r.methods) {
    nlohmann::json mj = methodIdentityJson(m);
    for (const auto& [d, s] : m.accuracy) mj["accuracy"][d == "*" ? "mean" : d] = statJson(s);
    for (const auto& [k, s] : m.metrics) mj[k] = statJson(s);
    for (const auto& [k, s] : m.componentSeconds) mj["component_train_seconds"][k] = statJson(s);
    if (m.paramsPctOfBaseline >= 0) mj["params_pct_of_baseline"] = m.paramsPctOfBaseline;
    j["methods"].push_back(mj);
  }
  j["length_heuristic"] = nlohmann::json::object();
  for (const auto& [experiment, acc] : r.lengthHeuristic)
    for (const auto& [d, a] : acc) j["length_heuristic"][experiment][d == "*" ? "mean" : d] = a;
  return j;
}

// The number of labelled pairs per seed: a whole number unless the seeds' test sets differ.
std::string pairCount(const Stat& s) {
  return fixed(s.mean, std::abs(s.mean - std::round(s.mean)) < 1e-9 ? 0 : 1);
}

std::string capabilityTable(const Report& r, bool latex) {
  if (r.capabilities.empty())
    return latex ? "% no evaluated pair of these runs carries a capability label\n"
                 : "No evaluated pair of these runs carries a capability label.\n";
  std::map<std::string, double> best;
  for (const auto& c : r.capabilities)
    for (const auto& m : r.methods)
      if (auto it = m.capabilityAccuracy.find(c); it != m.capabilityAccuracy.end())
        best[c] = std::max(best.count(c) ? best[c] : -1.0, it->second.mean);
  const std::string sep = latex ? " & " : " | ";
  const std::string pmSep = latex ? " $\\pm$ " : " ± ";
  const std::string lead = latex ? "" : "| ";
  const std::string end = latex ? " \\\\\n" : " |\n";
  std::ostringstream os;
  std::vector<std::string> head = {"method", "seeds"};
  head.insert(head.end(), r.capabilities.begin(), r.capabilities.end());
  tableHead(os, head, 2, latex);
  std::vector<std::string> unlabelled;
  for (const auto& m : r.methods) {
    std::vector<std::string> cells = {cellText(m.methodName, latex),
                                      std::to_string(m.runIds.size())};
    for (const auto& c : r.capabilities) {
      auto it = m.capabilityAccuracy.find(c);
      std::string cell = "-";
      if (it != m.capabilityAccuracy.end()) {
        cell = pm(it->second, 4, pmSep);
        if (std::abs(it->second.mean - best.at(c)) < 1e-12) cell = bold(cell, latex);
      }
      if (auto n = m.capabilityPairs.find(c); n != m.capabilityPairs.end())
        cell += " (" + pairCount(n->second) + ")";
      cells.push_back(cell);
    }
    if (m.capabilityAccuracy.empty()) unlabelled.push_back(cellText(m.methodName, latex));
    for (size_t i = 0; i < cells.size(); ++i) os << (i ? sep : lead) << cells[i];
    os << end;
  }
  const std::string note = latex ? "% " : "\n";
  if (latex) os << "\\hline\n\\end{tabular}\n";
  os << note << "Accuracy on the evaluated pairs whose label for the capability is non-zero, mean "
     << (latex ? "+-" : "±") << " std over seeds; (n): such pairs per seed.\n";
  if (!unlabelled.empty()) {
    os << (latex ? "% " : "") << "No evaluated pair with a non-zero capability label for: ";
    for (size_t i = 0; i < unlabelled.size(); ++i) os << (i ? ", " : "") << unlabelled[i];
    os << ".\n";
  }
  return os.str();
}

std::string capabilityCsv(const Report& r) {
  std::ostringstream os;
  os << kCsvHeader;
  for (const auto& m : r.methods)
    for (const auto& c : r.capabilities)
      for (const auto* stats : {&m.capabilityAccuracy, &m.capabilityPairs}) {
        auto it = stats->find(c);
        if (it == stats->end()) continue;
        os << csvIdentity(m) << it->second.n << "," << csvField(c) << ","
           << (stats == &m.capabilityAccuracy ? "accuracy" : "pairs") << ","
           << std::setprecision(10) << it->second.mean << "," << it->second.std << "\n";
      }
  return os.str();
}

nlohmann::json capabilityJson(const Report& r) {
  nlohmann::json j;
  j["by"] = r.by;
  j["capabilities"] = r.capabilities;
  j["methods"] = nlohmann::json::array();
  for (const auto& m : r.methods) {
    nlohmann::json mj = methodIdentityJson(m);
    mj["capabilities"] = nlohmann::json::object();
    for (const auto& [c, n] : m.capabilityPairs) {
      auto it = m.capabilityAccuracy.find(c);
      nlohmann::json cj =
          it == m.capabilityAccuracy.end() ? nlohmann::json{{"n", 0}} : statJson(it->second);
      cj["pairs"] = n.mean;
      mj["capabilities"][c] = cj;
    }
    j["methods"].push_back(mj);
  }
  return j;
}

std::string signedFixed(double v, int prec) { return (v >= 0 ? "+" : "") + fixed(v, prec); }

bool hasPairedBaseline(const MethodSummary& m) {
  return m.vsBaseline.n > 0 && m.method != "baseline";
}

std::string seedTable(const Report& r, bool latex) {
  std::map<int, double> best;
  for (int s : r.seeds)
    for (const auto& m : r.methods)
      if (auto it = m.seedAccuracy.find(s); it != m.seedAccuracy.end())
        best[s] = std::max(best.count(s) ? best[s] : -1.0, it->second);
  const std::string sep = latex ? " & " : " | ";
  const std::string pmSep = latex ? " $\\pm$ " : " ± ";
  const std::string lead = latex ? "" : "| ";
  std::ostringstream os;
  std::vector<std::string> head = {"method"};
  for (int s : r.seeds) head.push_back("seed " + std::to_string(s));
  head.push_back("mean");
  head.push_back("vs Baseline, paired");
  head.push_back("ahead on");
  tableHead(os, head, 1, latex);
  for (const auto& m : r.methods) {
    std::vector<std::string> cells = {cellText(m.methodName, latex)};
    for (int s : r.seeds) {
      auto it = m.seedAccuracy.find(s);
      std::string cell = it == m.seedAccuracy.end() ? "-" : fixed(it->second, 4);
      if (it != m.seedAccuracy.end() && std::abs(it->second - best.at(s)) < 1e-12)
        cell = bold(cell, latex);
      cells.push_back(cell);
    }
    auto mean = m.accuracy.find("*");
    cells.push_back(mean == m.accuracy.end() ? "-" : pm(mean->second, 4, pmSep));
    if (hasPairedBaseline(m)) {
      cells.push_back(signedFixed(m.vsBaseline.mean, 4) + pmSep + fixed(m.vsBaseline.std, 4));
      cells.push_back(std::to_string(m.aheadOfBaseline) + "/" + std::to_string(m.vsBaseline.n));
    } else {
      cells.push_back("-");
      cells.push_back("-");
    }
    for (size_t i = 0; i < cells.size(); ++i) os << (i ? sep : lead) << cells[i];
    os << (latex ? " \\\\\n" : " |\n");
  }
  if (latex) os << "\\hline\n\\end{tabular}\n";
  os << (latex ? "% " : "\n")
     << "Mean accuracy over domains of each seed's run. vs Baseline: this method minus the "
        "Baseline of the same experiment on the same seed, mean "
     << (latex ? "+-" : "±")
     << " std over the seeds both ran; ahead on: the seeds where this method is higher.\n";
  return os.str();
}

std::string seedCsv(const Report& r) {
  std::ostringstream os;
  os << kCsvHeader;
  os << std::setprecision(10);
  for (const auto& m : r.methods) {
    const std::string id = csvIdentity(m);
    for (const auto& [s, a] : m.seedAccuracy)
      os << id << 1 << ",seed " << s << ",accuracy," << a << ",0\n";
    if (!hasPairedBaseline(m)) continue;
    os << id << m.vsBaseline.n << ",*,vs_baseline," << m.vsBaseline.mean << ","
       << m.vsBaseline.std << "\n";
    os << id << m.vsBaseline.n << ",*,ahead_of_baseline," << m.aheadOfBaseline << ",0\n";
  }
  return os.str();
}

nlohmann::json seedJson(const Report& r) {
  nlohmann::json j;
  j["by"] = r.by;
  j["seeds"] = r.seeds;
  j["methods"] = nlohmann::json::array();
  for (const auto& m : r.methods) {
    nlohmann::json mj = methodIdentityJson(m);
    mj["seed_accuracy"] = nlohmann::json::object();
    for (const auto& [s, a] : m.seedAccuracy) mj["seed_accuracy"][std::to_string(s)] = a;
    if (hasPairedBaseline(m)) {
      mj["vs_baseline"] = statJson(m.vsBaseline);
      mj["vs_baseline"]["ahead"] = m.aheadOfBaseline;
    }
    j["methods"].push_back(mj);
  }
  return j;
}

// ------------------------------------------------------------------ per-run sections

// A figure for a table cell; "-" where it does not exist (NaN: no such pairs).
std::string num(double v, int prec) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fixed(v, prec);
}

std::string domainLabel(const std::string& d, bool meanOverDomains) {
  if (d != kWholeRun) return d;
  return meanOverDomains ? "mean over domains" : "all pairs";
}

struct Section {
  std::string title;
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;  // cells not yet escaped
  std::string note;
};

std::vector<Section> sectionsOf(const Report& r) {
  std::vector<Section> out;
  const ReportOptions& o = r.options;
  auto runCells = [](const RunFigures& f, const std::string& d, bool meanOverDomains) {
    return std::vector<std::string>{std::to_string(f.runId), f.methodName,
                                    std::to_string(f.seed), domainLabel(d, meanOverDomains),
                                    std::to_string(f.pairs.at(d))};
  };
  const std::vector<std::string> runHead = {"run", "method", "seed", "domain", "pairs"};
  if (o.lengthBias) {
    Section s{"Length bias", runHead, {}, ""};
    for (const char* h : {"accuracy", "longer wins", "acc, chosen longer", "acc, chosen not longer",
                          "chosen longer", "Spearman(reward, length)"})
      s.head.push_back(h);
    for (const auto& f : r.runs) {
      for (const auto& d : f.domains) {
        const LengthBias& b = f.lengthBias.at(d);
        auto cells = runCells(f, d, false);
        for (const std::string& c :
             {num(f.accuracy.at(d), 4), num(b.heuristicAccuracy, 4), num(b.accuracyChosenLonger, 4),
              num(b.accuracyChosenNotLonger, 4), std::to_string(b.chosenLonger),
              num(b.rewardLengthSpearman, 4)})
          cells.push_back(c);
        s.rows.push_back(cells);
      }
      // The main table's kind: each domain counts once.
      auto mean = runCells(f, kWholeRun, true);
      for (const std::string& c : {num(f.meanAccuracy, 4), num(f.meanHeuristicAccuracy, 4),
                                   std::string(), std::string(), std::string(), std::string()})
        mean.push_back(c);
      s.rows.push_back(mean);
    }
    s.note =
        "Length in characters. longer wins: accuracy of the rule \"the longer response is the "
        "chosen one\" (equal lengths count as wrong); acc, chosen longer / not longer: the model's "
        "accuracy on the pairs whose chosen response is longer / not longer; chosen longer: how "
        "many pairs that is; Spearman: rank correlation of reward with length over every response. "
        "all pairs: every pair counted once; mean over domains: accuracy and longer wins averaged "
        "over the domains, each domain once, as the main table's mean column and its \"longer "
        "response wins\" row.";
    out.push_back(s);
  }
  if (o.calibration) {
    Section s{"Calibration", runHead, {}, ""};
    for (const char* h : {"ECE", "Brier", "log loss", "T fitted on", "T", "ECE @T", "Brier @T",
                          "log loss @T"})
      s.head.push_back(h);
    for (const auto& f : r.runs)
      for (const auto& d : f.domains) {
        const Calibration& c = f.calibration.at(d);
        const Calibration& t = f.calibrationFitted.at(d);
        const bool validation = f.temperatureSource.at(d) == "validation";
        const auto& temps = f.foldTemperatures.at(d);
        auto cells = runCells(f, d, false);
        for (const std::string& v :
             {num(c.ece, 4), num(c.brier, 4), num(c.logLoss, 4),
              validation ? std::to_string(f.validationPairs.at(d)) + " validation pairs"
                         : std::string("cross-fit"),
              validation ? num(t.temperature, 3)
                         : num(temps.first, 3) + " / " + num(temps.second, 3),
              num(t.ece, 4), num(t.brier, 4), num(t.logLoss, 4)})
          cells.push_back(v);
        s.rows.push_back(cells);
      }
    s.note =
        "P(chosen) = sigmoid(r_chosen - r_rejected). ECE: 10 equal-width bins, each pair in both "
        "orders; log loss in nats. @T: sigmoid((r_chosen - r_rejected) / T), T fitted (least log "
        "loss) on the run's validation pairs of the domain (all of them for all pairs); cross-fit "
        "where the store has no validation rewards (runs of older stores, no validation split): "
        "T fitted on the other half of the evaluated pairs (two folds, alternate pairs in id "
        "order; T of fold 0 / fold 1).";
    out.push_back(s);
  }
  if (o.intervals) {
    Section s{"Accuracy intervals", runHead, {}, ""};
    s.head.push_back("accuracy");
    s.head.push_back("95% low");
    s.head.push_back("95% high");
    for (const auto& f : r.runs)
      for (const auto& d : f.domains) {
        const Interval& iv = f.interval.at(d);
        auto cells = runCells(f, d, true);
        cells.push_back(num(iv.estimate, 4));
        cells.push_back(num(iv.low, 4));
        cells.push_back(num(iv.high, 4));
        s.rows.push_back(cells);
      }
    s.note = "Percentile bootstrap, " + std::to_string(o.resamples) +
             " resamples of the evaluated pairs (within each domain), seed " +
             std::to_string(o.seed) + ".";
    out.push_back(s);
  }
  if (o.rewardStats) {
    Section s{"Rewards", runHead, {}, ""};
    s.head[4] = "rewards";
    for (const char* h : {"mean", "std", "min", "5%", "25%", "median", "75%", "95%", "max"})
      s.head.push_back(h);
    for (const auto& f : r.runs)
      for (const auto& d : f.domains) {
        const RewardStats& w = f.rewards.at(d);
        auto cells = runCells(f, d, false);
        cells[4] = std::to_string(w.count);
        for (double v : {w.mean, w.std, w.min, w.q05, w.q25, w.median, w.q75, w.q95, w.max})
          cells.push_back(num(v, 4));
        s.rows.push_back(cells);
      }
    s.note = "Every reward of the evaluated pairs (chosen and rejected); quantiles linear between "
             "order statistics.";
    out.push_back(s);
  }
  if (!r.comparisons.empty()) {
    Section s{"Paired test",
              {"run A", "run B", "pairs", "accuracy A", "accuracy B", "only A right",
               "only B right", "p (exact McNemar)"},
              {},
              ""};
    for (const auto& c : r.comparisons)
      s.rows.push_back({std::to_string(c.runA) + " " + c.nameA, std::to_string(c.runB) + " " + c.nameB,
                        std::to_string(c.test.pairs), num(c.test.accuracyA, 4),
                        num(c.test.accuracyB, 4), std::to_string(c.test.onlyA),
                        std::to_string(c.test.onlyB), num(c.test.pValue, 4)});
    s.note = "On the pairs both runs evaluated: two-sided exact binomial test of the discordant "
             "pairs (only A right against only B right) at 1/2.";
    out.push_back(s);
  }
  return out;
}

Section evaluationsSection(const Report& r) {
  Section s{"Evaluations",
            {"run", "method", "seed", "evaluation", "pairs", "accuracy", "longer response wins"},
            {},
            "evaluate: the run's saved system on another pairs file; accuracy and the length "
            "rule: mean over the file's domains."};
  for (const auto& e : r.evaluations)
    s.rows.push_back({std::to_string(e.info.runId), e.methodName, std::to_string(e.seed),
                      e.info.name, std::to_string(e.info.pairs), num(e.accuracy, 4),
                      num(e.lengthHeuristic, 4)});
  return s;
}

std::string sectionsText(const Report& r, bool latex) {
  std::ostringstream os;
  std::vector<Section> all = sectionsOf(r);
  if (!r.evaluations.empty()) all.insert(all.begin(), evaluationsSection(r));
  for (const auto& s : all) {
    os << (latex ? "\n% " : "\n### ") << cellText(s.title, latex) << "\n" << (latex ? "" : "\n");
    tableHead(os, s.head, 4, latex);
    for (const auto& row : s.rows) {
      for (size_t i = 0; i < row.size(); ++i)
        os << (i ? (latex ? " & " : " | ") : (latex ? "" : "| ")) << cellText(row[i], latex);
      os << (latex ? " \\\\\n" : " |\n");
    }
    if (latex) os << "\\hline\n\\end{tabular}\n";
    os << (latex ? "% " : "\n") << cellText(s.note, latex) << "\n";
  }
  return os.str();
}

// The section figures as CSV rows of the report's columns plus `run`.
std::string sectionsCsv(const Report& r) {
  std::ostringstream os;
  os << std::setprecision(10);
  auto row = [&](const RunFigures& f, const std::string& d, const std::string& metric, double v) {
    os << csvField(f.experiment) << "," << csvField(f.method) << "," << csvField(f.methodName)
       << ",1," << csvField(d) << "," << metric << ",";
    if (!std::isnan(v)) os << v;
    os << ",0," << f.runId << "\n";
  };
  for (const auto& f : r.runs)
    for (const auto& d : f.domains) {
      row(f, d, "pairs", static_cast<double>(f.pairs.at(d)));
      if (auto it = f.lengthBias.find(d); it != f.lengthBias.end()) {
        row(f, d, "length_heuristic_accuracy", it->second.heuristicAccuracy);
        if (d == kWholeRun)
          row(f, d, "length_heuristic_accuracy_mean_over_domains", f.meanHeuristicAccuracy);
        row(f, d, "accuracy_chosen_longer", it->second.accuracyChosenLonger);
        row(f, d, "accuracy_chosen_not_longer", it->second.accuracyChosenNotLonger);
        row(f, d, "pairs_chosen_longer", static_cast<double>(it->second.chosenLonger));
        row(f, d, "reward_length_spearman", it->second.rewardLengthSpearman);
      }
      if (auto it = f.calibration.find(d); it != f.calibration.end()) {
        const Calibration& t = f.calibrationFitted.at(d);
        row(f, d, "ece", it->second.ece);
        row(f, d, "brier", it->second.brier);
        row(f, d, "log_loss", it->second.logLoss);
        // The temperature's rows say where it came from.
        if (f.temperatureSource.at(d) == "validation") {
          row(f, d, "temperature_validation", t.temperature);
          row(f, d, "validation_pairs", static_cast<double>(f.validationPairs.at(d)));
        } else {
          row(f, d, "temperature_fold0", f.foldTemperatures.at(d).first);
          row(f, d, "temperature_fold1", f.foldTemperatures.at(d).second);
        }
        row(f, d, "ece_fitted", t.ece);
        row(f, d, "brier_fitted", t.brier);
        row(f, d, "log_loss_fitted", t.logLoss);
      }
      if (auto it = f.interval.find(d); it != f.interval.end()) {
        // The whole run's interval is of the mean over domains, the other "*" rows pool: its
        // rows say so in their names.
        const std::string name = d == kWholeRun ? "accuracy_mean_over_domains" : "accuracy";
        row(f, d, name, it->second.estimate);
        row(f, d, name + "_ci_low", it->second.low);
        row(f, d, name + "_ci_high", it->second.high);
      }
      if (auto it = f.rewards.find(d); it != f.rewards.end()) {
        const RewardStats& w = it->second;
        const std::pair<const char*, double> stats[] = {
            {"reward_mean", w.mean}, {"reward_std", w.std},   {"reward_min", w.min},
            {"reward_q05", w.q05},   {"reward_q25", w.q25},   {"reward_median", w.median},
            {"reward_q75", w.q75},   {"reward_q95", w.q95},   {"reward_max", w.max}};
        for (const auto& [k, v] : stats) row(f, d, k, v);
      }
    }
  for (const auto& c : r.comparisons) {
    const std::string id = ",,," + std::to_string(c.test.pairs) + ",run " +
                           std::to_string(c.runA) + " vs run " + std::to_string(c.runB) + ",";
    const std::pair<const char*, double> figs[] = {
        {"mcnemar_only_a", static_cast<double>(c.test.onlyA)},
        {"mcnemar_only_b", static_cast<double>(c.test.onlyB)},
        {"mcnemar_p", c.test.pValue},
        {"accuracy_a", c.test.accuracyA},
        {"accuracy_b", c.test.accuracyB}};
    for (const auto& [k, v] : figs) os << id << k << "," << v << ",0," << c.runA << "\n";
  }
  return os.str();
}

void addSectionsJson(const Report& r, nlohmann::json& j) {
  const ReportOptions& o = r.options;
  if (o.lengthBias || o.calibration || o.intervals || o.rewardStats) {
    j["runs"] = nlohmann::json::array();
    for (const auto& f : r.runs) {
      nlohmann::json rj = {{"run", f.runId},
                           {"experiment", f.experiment},
                           {"method", f.method},
                           {"name", f.methodName},
                           {"seed", f.seed}};
      for (const auto& d : f.domains) {
        nlohmann::json dj = {{"pairs", f.pairs.at(d)}, {"accuracy", f.accuracy.at(d)}};
        // "*" pools every pair; its figures of the main table's kind are named as means.
        if (d == kWholeRun) dj["accuracy_mean_over_domains"] = f.meanAccuracy;
        if (auto it = f.lengthBias.find(d); it != f.lengthBias.end()) {
          dj["length_bias"] = {{"heuristic_accuracy", it->second.heuristicAccuracy},
                               {"accuracy_chosen_longer", it->second.accuracyChosenLonger},
                               {"accuracy_chosen_not_longer", it->second.accuracyChosenNotLonger},
                               {"pairs_chosen_longer", it->second.chosenLonger},
                               {"reward_length_spearman", it->second.rewardLengthSpearman}};
          if (d == kWholeRun)
            dj["length_bias"]["heuristic_accuracy_mean_over_domains"] = f.meanHeuristicAccuracy;
        }
        if (auto it = f.calibration.find(d); it != f.calibration.end()) {
          const Calibration& t = f.calibrationFitted.at(d);
          const auto& temps = f.foldTemperatures.at(d);
          dj["calibration"] = {
              {"ece", it->second.ece}, {"brier", it->second.brier}, {"log_loss", it->second.logLoss}};
          dj["calibration_fitted"] = {{"ece", t.ece},
                                      {"brier", t.brier},
                                      {"log_loss", t.logLoss},
                                      {"temperature_source", f.temperatureSource.at(d)}};
          if (f.temperatureSource.at(d) == "validation") {
            dj["calibration_fitted"]["temperature"] = t.temperature;
            dj["calibration_fitted"]["validation_pairs"] = f.validationPairs.at(d);
          } else {
            dj["calibration_fitted"]["fold_temperatures"] = {temps.first, temps.second};
          }
        }
        if (auto it = f.interval.find(d); it != f.interval.end())
          dj["accuracy_interval"] = {{"estimate", it->second.estimate},
                                     {"low", it->second.low},
                                     {"high", it->second.high},
                                     {"level", 0.95},
                                     {"resamples", o.resamples},
                                     {"seed", o.seed},
                                     {"of", d == kWholeRun ? "mean over domains" : "the domain"}};
        if (auto it = f.rewards.find(d); it != f.rewards.end()) {
          const RewardStats& w = it->second;
          dj["rewards"] = {{"count", w.count}, {"mean", w.mean},     {"std", w.std},
                           {"min", w.min},     {"q05", w.q05},       {"q25", w.q25},
                           {"median", w.median}, {"q75", w.q75},     {"q95", w.q95},
                           {"max", w.max}};
        }
        rj["domains"][d == kWholeRun ? "*" : d] = dj;
      }
      j["runs"].push_back(rj);
    }
  }
  if (!r.evaluations.empty()) {
    j["evaluations"] = nlohmann::json::array();
    for (const auto& e : r.evaluations) {
      nlohmann::json ej = {{"run", e.info.runId},         {"evaluation", e.info.name},
                           {"id", e.info.id},             {"source", e.info.source},
                           {"pairs", e.info.pairs},       {"accuracy", e.accuracy},
                           {"length_heuristic", e.lengthHeuristic}};
      for (const auto& [d, c] : e.perDomain)
        ej["domains"][d] = {{"pairs", c.total},
                            {"accuracy", static_cast<double>(c.correct) /
                                             static_cast<double>(c.total)}};
      j["evaluations"].push_back(ej);
    }
  }
  if (!r.comparisons.empty()) {
    j["comparisons"] = nlohmann::json::array();
    for (const auto& c : r.comparisons)
      j["comparisons"].push_back({{"run_a", c.runA},
                                  {"run_b", c.runB},
                                  {"name_a", c.nameA},
                                  {"name_b", c.nameB},
                                  {"pairs", c.test.pairs},
                                  {"accuracy_a", c.test.accuracyA},
                                  {"accuracy_b", c.test.accuracyB},
                                  {"only_a", c.test.onlyA},
                                  {"only_b", c.test.onlyB},
                                  {"p_value", c.test.pValue},
                                  {"test", "exact McNemar (two-sided)"}});
  }
}

// The report's CSV with a `run` column added (empty for rows of the whole method), then the
// section rows.
std::string withSectionsCsv(const Report& r, const std::string& csvText) {
  std::istringstream in(csvText);
  std::ostringstream os;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    os << line << (header ? ",run\n" : ",\n");
    header = false;
  }
  return os.str() + sectionsCsv(r);
}

std::vector<const EvaluationSummary*> rewardBenchEvaluations(const Report& r) {
  std::vector<const EvaluationSummary*> out;
  for (const auto& e : r.evaluations)
    if (e.rewardBenchV1 || e.rewardBenchV2) out.push_back(&e);
  return out;
}

std::string rewardBenchJson(const Report& r) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto* e : rewardBenchEvaluations(r)) {
    nlohmann::json ej = {{"run", e->info.runId},
                         {"evaluation", e->info.name},
                         {"method", e->methodName},
                         {"seed", e->seed}};
    if (e->rewardBenchV1) {
      ej["version"] = 1;
      ej["subsets"] = e->v1.subsets;
      ej["sections"] = e->v1.sections;
      ej["score"] = e->v1.score;
    } else {
      ej["version"] = 2;
      ej["subsets"] = e->bestOfN;
      ej["sections"] = nlohmann::json::object();
      ej["score"] = e->bestOfNScore;
      ej["prompts"] = e->prompts;
      ej["unscored_groups"] = e->unscoredGroups;
      if (e->hasTies) {
        const TiesScore& t = e->ties;
        ej["ties"] = {{"ref_prompts", t.refPrompts},
                      {"tied_prompts", t.tiedPrompts},
                      {"paired_prompts", t.pairedPrompts},
                      {"ref_accuracy", t.refAccuracy},
                      {"tied_accuracy", t.tiedAccuracy},
                      {"correctness_preferred", t.correctnessPreferred},
                      {"correctness_preferred_hard", t.correctnessPreferredHard},
                      {"margin_score", t.marginScore},
                      {"score", t.score}};
      }
    }
    j.push_back(ej);
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// One table per RewardBench version: a row per evaluation with its sections (v1) or subsets (v2)
// and the score.
std::string rewardBenchTable(const std::vector<const EvaluationSummary*>& evals, bool v2,
                             bool latex) {
  std::vector<std::string> cols;
  if (!v2) {
    cols = rewardBenchSections();
  } else {
    std::set<std::string> names;
    for (const auto* e : evals)
      for (const auto& [k, v] : e->bestOfN) names.insert(k);
    cols.assign(names.begin(), names.end());
  }
  std::ostringstream os;
  std::vector<std::string> head = {"run", "method", "evaluation"};
  head.insert(head.end(), cols.begin(), cols.end());
  head.push_back("score");
  tableHead(os, head, 3, latex);
  for (const auto* e : evals) {
    const auto& values = v2 ? e->bestOfN : e->v1.sections;
    std::vector<std::string> cells = {std::to_string(e->info.runId),
                                      cellText(e->methodName, latex), cellText(e->info.name, latex)};
    for (const auto& c : cols) {
      auto it = values.find(c);
      cells.push_back(it == values.end() ? "-" : num(it->second, 4));
    }
    cells.push_back(num(v2 ? e->bestOfNScore : e->v1.score, 4));
    for (size_t i = 0; i < cells.size(); ++i)
      os << (i ? (latex ? " & " : " | ") : (latex ? "" : "| ")) << cells[i];
    os << (latex ? " \\\\\n" : " |\n");
  }
  if (latex) os << "\\hline\n\\end{tabular}\n";
  os << (latex ? "% " : "\n")
     << (v2 ? "RewardBench 2: best-of-N per subset (mean over its prompts), Ties by its own "
              "formula (below); score: mean over the subsets present (groups with several correct "
              "completions outside Ties are not scored)."
            : "RewardBench: sections weighted by the official subset sizes; score: mean of the "
              "sections present; a tie is wrong.")
     << "\n";
  return os.str();
}

// RewardBench 2's Ties figures, a row per evaluation that has Ties prompts.
std::string tiesTable(const std::vector<const EvaluationSummary*>& evals, bool latex) {
  std::ostringstream os;
  os << (latex ? "\n% " : "\n### ") << "RewardBench 2 Ties\n" << (latex ? "" : "\n");
  tableHead(os,
            {"run", "method", "evaluation", "ref prompts", "tied prompts", "paired", "ref accuracy",
             "tied accuracy", "gap > spread", "min gap > spread", "margin", "Ties"},
            3, latex);
  for (const auto* e : evals) {
    if (!e->hasTies) continue;
    const TiesScore& t = e->ties;
    const std::vector<std::string> cells = {
        std::to_string(e->info.runId), cellText(e->methodName, latex),
        cellText(e->info.name, latex), std::to_string(t.refPrompts),
        std::to_string(t.tiedPrompts), std::to_string(t.pairedPrompts), num(t.refAccuracy, 4),
        num(t.tiedAccuracy, 4), num(t.correctnessPreferred, 4),
        num(t.correctnessPreferredHard, 4), num(t.marginScore, 4), num(t.score, 4)};
    for (size_t i = 0; i < cells.size(); ++i)
      os << (i ? (latex ? " & " : " | ") : (latex ? "" : "| ")) << cells[i];
    os << (latex ? " \\\\\n" : " |\n");
  }
  if (latex) os << "\\hline\n\\end{tabular}\n";
  os << (latex ? "% " : "\n")
     << "Accurate: worst correct - best incorrect > 0 (mean over the ref:N / tied:N prompts); gap "
        "= worst correct - best incorrect, spread = best correct - worst correct of tied:N, over "
        "the N with both prompts; margin: mean tanh(min(gap ref, gap tied) / spread - 1). Ties = "
        "0.30 tied + 0.30 ref accuracy + 0.20 (gap > spread) + 0.20 (min gap > spread) + 0.01 "
        "margin.\n";
  return os.str();
}

std::string rewardBenchText(const Report& r, const std::string& format) {
  const auto evals = rewardBenchEvaluations(r);
  std::ostringstream os;
  if (format == "csv") {
    os << "run,evaluation,method,seed,version,column,value\n" << std::setprecision(10);
    for (const auto* e : evals) {
      const std::string id = std::to_string(e->info.runId) + "," + csvField(e->info.name) + "," +
                             csvField(e->methodName) + "," + std::to_string(e->seed) + "," +
                             (e->rewardBenchV1 ? "1" : "2") + ",";
      const auto& subsets = e->rewardBenchV1 ? e->v1.subsets : e->bestOfN;
      for (const auto& [k, v] : subsets) os << id << csvField("subset:" + k) << "," << v << "\n";
      if (e->rewardBenchV1)
        for (const auto& [k, v] : e->v1.sections)
          os << id << csvField("section:" + k) << "," << v << "\n";
      if (e->hasTies) {
        const TiesScore& t = e->ties;
        const std::pair<const char*, double> figs[] = {
            {"ties:ref_prompts", static_cast<double>(t.refPrompts)},
            {"ties:tied_prompts", static_cast<double>(t.tiedPrompts)},
            {"ties:paired_prompts", static_cast<double>(t.pairedPrompts)},
            {"ties:ref_accuracy", t.refAccuracy},
            {"ties:tied_accuracy", t.tiedAccuracy},
            {"ties:correctness_preferred", t.correctnessPreferred},
            {"ties:correctness_preferred_hard", t.correctnessPreferredHard},
            {"ties:margin_score", t.marginScore},
            {"ties:score", t.score}};
        for (const auto& [k, v] : figs) {
          os << id << k << ",";
          if (!std::isnan(v)) os << v;
          os << "\n";
        }
      }
      const double score = e->rewardBenchV1 ? e->v1.score : e->bestOfNScore;
      os << id << "score,";
      if (!std::isnan(score)) os << score;
      os << "\n";
    }
    return os.str();
  }
  const bool latex = format == "latex";
  if (evals.empty())
    return latex ? "% no RewardBench evaluation\n"
                 : "No RewardBench evaluation in these runs (rewardrouter-cli evaluate).\n";
  std::vector<const EvaluationSummary*> v1, v2;
  for (const auto* e : evals) (e->rewardBenchV1 ? v1 : v2).push_back(e);
  if (!v1.empty()) os << rewardBenchTable(v1, false, latex);
  if (!v2.empty()) os << (v1.empty() ? "" : "\n") << rewardBenchTable(v2, true, latex);
  if (std::any_of(v2.begin(), v2.end(), [](const auto* e) { return e->hasTies; }))
    os << tiesTable(v2, latex);
  return os.str();
}

std::string textOf(const Report& report, const std::string& format) {
  const bool byCapability = report.by == "capability";
  if (report.by == "seed") {
    if (format == "md") return seedTable(report, false);
    if (format == "latex") return seedTable(report, true);
    if (format == "csv") return seedCsv(report);
  }
  if (format == "md") return byCapability ? capabilityTable(report, false) : table(report, false);
  if (format == "latex") return byCapability ? capabilityTable(report, true) : table(report, true);
  if (format == "csv") return byCapability ? capabilityCsv(report) : csv(report);
  throw InputError("report: unknown format '" + format + "' (md, csv, json, latex)");
}

}  // namespace

std::string formatReport(const Report& report, const std::string& format) {
  if (!report.by.empty()) checkReportBreakdown(report.by);
  if (report.options.rewardBench) {
    if (format == "json") return rewardBenchJson(report);
    if (format == "md" || format == "latex" || format == "csv")
      return rewardBenchText(report, format);
  }
  if (format == "json") {
    nlohmann::json j = report.by == "seed"         ? seedJson(report)
                       : report.by == "capability" ? capabilityJson(report)
                                                   : json(report);
    addSectionsJson(report, j);
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  const std::string text = textOf(report, format);
  if (format != "csv" && !report.evaluations.empty() && !report.options.anySection())
    return text + sectionsText(report, format == "latex");
  if (!report.options.anySection()) return text;
  if (format == "csv") return withSectionsCsv(report, text);
  return text + sectionsText(report, format == "latex");
}

RunFigures figuresOfPairs(const RunInfo& run, const std::vector<ScoredPair>& pairs,
                          const ReportOptions& options,
                          const std::vector<ScoredPair>& validation) {
  return figuresOf(run, pairs, validation, options);
}

}  // namespace rr::core
