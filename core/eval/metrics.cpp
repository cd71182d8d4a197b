#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>

namespace rr::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// -ln sigmoid(x) without overflow: softplus(-x).
double negLogSigmoid(double x) { return std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

std::vector<double> averageRanks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double meanLogLoss(const std::vector<double>& margins, double inverseTemperature) {
  double s = 0;
  for (double m : margins) s += negLogSigmoid(m * inverseTemperature);
  return s / static_cast<double>(margins.size());
}

// A uniform index in [0, n) from mt19937_64 by rejection: std::uniform_int_distribution's
// algorithm differs between standard libraries, and the intervals must not.
std::uint64_t uniformIndex(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

}  // namespace

double quantileSorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kNaN;
  return pearson(averageRanks(x), averageRanks(y));
}

LengthBias lengthBias(const std::vector<ScoredPair>& pairs) {
  LengthBias b;
  std::int64_t heuristicRight = 0, rightLonger = 0, rightNotLonger = 0;
  std::vector<double> rewards, lengths;
  for (const auto& p : pairs) {
    if (p.chosenLength < 0 || p.rejectedLength < 0) continue;
    ++b.pairs;
    const bool longer = p.chosenLength > p.rejectedLength;
    if (longer) {
      ++heuristicRight;
      ++b.chosenLonger;
      rightLonger += p.correct;
    } else {
      rightNotLonger += p.correct;
    }
    // A NaN reward (a model that diverged) has no rank: it is left out of the correlation.
    if (!std::isnan(p.rewardChosen)) {
      rewards.push_back(p.rewardChosen);
      lengths.push_back(static_cast<double>(p.chosenLength));
    }
    if (!std::isnan(p.rewardRejected)) {
      rewards.push_back(p.rewardRejected);
      lengths.push_back(static_cast<double>(p.rejectedLength));
    }
  }
  const std::int64_t notLonger = b.pairs - b.chosenLonger;
  b.heuristicAccuracy =
      b.pairs ? static_cast<double>(heuristicRight) / static_cast<double>(b.pairs) : kNaN;
  b.accuracyChosenLonger =
      b.chosenLonger ? static_cast<double>(rightLonger) / static_cast<double>(b.chosenLonger)
                     : kNaN;
  b.accuracyChosenNotLonger =
      notLonger ? static_cast<double>(rightNotLonger) / static_cast<double>(notLonger) : kNaN;
  b.rewardLengthSpearman = spearman(rewards, lengths);
  return b;
}

Calibration calibration(const std::vector<double>& margins, double temperature, int bins) {
  Calibration c;
  c.pairs = static_cast<std::int64_t>(margins.size());
  c.temperature = temperature;
  if (margins.empty() || bins < 1) {
    c.ece = c.brier = c.logLoss = kNaN;
    return c;
  }
  const double inv = std::isinf(temperature) ? 0.0 : 1.0 / temperature;
  std::vector<double> sumP(static_cast<size_t>(bins), 0), sumY(static_cast<size_t>(bins), 0),
      count(static_cast<size_t>(bins), 0);
  auto binOf = [&](double p) {
    return static_cast<size_t>(std::min(bins - 1, static_cast<int>(std::floor(p * bins))));
  };
  for (double m : margins) {
    const double p = sigmoid(m * inv);
    c.brier += (1 - p) * (1 - p);
    c.logLoss += negLogSigmoid(m * inv);
    const size_t a = binOf(p), r = binOf(1 - p);
    sumP[a] += p;
    sumY[a] += 1;
    count[a] += 1;
    sumP[r] += 1 - p;
    count[r] += 1;
  }
  const double n = static_cast<double>(margins.size());
  c.brier /= n;
  c.logLoss /= n;
  for (size_t i = 0; i < count.size(); ++i)
    if (count[i] > 0) c.ece += std::abs(sumP[i] - sumY[i]) / (2 * n);
  return c;
}

double fitTemperature(const std::vector<double>& margins) {
  if (margins.empty()) return kNaN;
  // The log loss of sigmoid(a * m) is convex in a = 1/T (a sum of softplus of linear terms), so
  // a golden-section search finds its minimum on the interval; 200 steps shrink it by 0.618^200.
  const double g = (std::sqrt(5.0) - 1) / 2;
  double lo = 0, hi = 1000;
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
  double f1 = meanLogLoss(margins, x1), f2 = meanLogLoss(margins, x2);
  for (int i = 0; i < 200; ++i) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = meanLogLoss(margins, x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = meanLogLoss(margins, x2);
    }
  }
  const double a = (lo + hi) / 2;
  if (a < 1e-9) return std::numeric_limits<double>::infinity();
  return 1.0 / a;
}

Interval bootstrapAccuracy(const std::vector<std::vector<bool>>& groups, int resamples,
                           std::uint64_t seed, double level) {
  Interval iv;
  std::vector<const std::vector<bool>*> used;
  for (const auto& g : groups)
    if (!g.empty()) used.push_back(&g);
  if (used.empty() || resamples < 1) {
    iv.estimate = iv.low = iv.high = kNaN;
    return iv;
  }
  auto accuracy = [](const std::vector<bool>& g) {
    return static_cast<double>(std::count(g.begin(), g.end(), true)) /
           static_cast<double>(g.size());
  };
  for (const auto* g : used) iv.estimate += accuracy(*g);
  iv.estimate /= static_cast<double>(used.size());
  std::mt19937_64 rng(seed);
  std::vector<double> draws;
  draws.reserve(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    double sum = 0;
    for (const auto* g : used) {
      std::int64_t right = 0;
      for (size_t i = 0; i < g->size(); ++i) right += (*g)[uniformIndex(rng, g->size())];
      sum += static_cast<double>(right) / static_cast<double>(g->size());
    }
    draws.push_back(sum / static_cast<double>(used.size()));
  }
  std::sort(draws.begin(), draws.end());
  iv.low = quantileSorted(draws, (1 - level) / 2);
  iv.high = quantileSorted(draws, (1 + level) / 2);
  return iv;
}

double mcnemarExactP(std::int64_t b, std::int64_t c) {
  const std::int64_t n = b + c;
  if (n == 0) return 1;
  const std::int64_t k = std::min(b, c);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that large n does not overflow.
  const double logHalfN = static_cast<double>(n) * std::log(0.5);
  const double lgN1 = std::lgamma(static_cast<double>(n) + 1);
  double tail = 0;
  for (std::int64_t i = 0; i <= k; ++i)
    tail += std::exp(lgN1 - std::lgamma(static_cast<double>(i) + 1) -
                     std::lgamma(static_cast<double>(n - i) + 1) + logHalfN);
  return std::min(1.0, 2 * tail);
}

McNemar mcnemar(const std::vector<ScoredPair>& a, const std::vector<ScoredPair>& b) {
  std::map<std::string, bool> right;
  for (const auto& p : a) right[p.id] = p.correct;
  McNemar m;
  std::int64_t rightA = 0, rightB = 0;
  for (const auto& p : b) {
    auto it = right.find(p.id);
    if (it == right.end()) continue;
    ++m.pairs;
    rightA += it->second;
    rightB += p.correct;
    if (it->second && !p.correct) ++m.onlyA;
    if (!it->second && p.correct) ++m.onlyB;
  }
  m.pValue = mcnemarExactP(m.onlyA, m.onlyB);
  m.accuracyA = m.pairs ? static_cast<double>(rightA) / static_cast<double>(m.pairs) : kNaN;
  m.accuracyB = m.pairs ? static_cast<double>(rightB) / static_cast<double>(m.pairs) : kNaN;
  return m;
}

RewardStats rewardStats(const std::vector<ScoredPair>& pairs) {
  RewardStats s;
  std::vector<double> r;
  r.reserve(pairs.size() * 2);
  for (const auto& p : pairs)
    for (double x : {p.rewardChosen, p.rewardRejected})
      if (!std::isnan(x)) r.push_back(x);
  s.count = static_cast<std::int64_t>(r.size());
  std::sort(r.begin(), r.end());
  if (r.empty()) {
    s.mean = s.std = s.min = s.q05 = s.q25 = s.median = s.q75 = s.q95 = s.max = kNaN;
    return s;
  }
  s.mean = std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size());
  double ss = 0;
  for (double x : r) ss += (x - s.mean) * (x - s.mean);
  s.std = r.size() > 1 ? std::sqrt(ss / static_cast<double>(r.size() - 1)) : 0.0;
  s.min = r.front();
  s.max = r.back();
  s.q05 = quantileSorted(r, 0.05);
  s.q25 = quantileSorted(r, 0.25);
  s.median = quantileSorted(r, 0.5);
  s.q75 = quantileSorted(r, 0.75);
  s.q95 = quantileSorted(r, 0.95);
  return s;
}

std::vector<ReliabilityBin> reliabilityDiagram(const std::vector<double>& margins,
                                               double temperature, int bins) {
  std::vector<ReliabilityBin> out(static_cast<size_t>(std::max(bins, 0)));
  if (out.empty()) return out;
  const double inv = std::isinf(temperature) ? 0.0 : 1.0 / temperature;
  std::vector<double> sumP(out.size(), 0), sumY(out.size(), 0);
  auto binOf = [&](double p) {
    return static_cast<size_t>(std::min(bins - 1, static_cast<int>(std::floor(p * bins))));
  };
  for (size_t i = 0; i < margins.size(); ++i) {
    const double p = sigmoid(margins[i] * inv);
    const size_t a = binOf(p), r = binOf(1 - p);
    sumP[a] += p;
    sumY[a] += 1;
    ++out[a].count;
    out[a].pairs.push_back(i);
    sumP[r] += 1 - p;
    ++out[r].count;
    if (r != a) out[r].pairs.push_back(i);
  }
  for (size_t b = 0; b < out.size(); ++b) {
    out[b].lower = static_cast<double>(b) / bins;
    out[b].upper = static_cast<double>(b + 1) / bins;
    const double n = static_cast<double>(out[b].count);
    out[b].meanPredicted = out[b].count ? sumP[b] / n : kNaN;
    out[b].observed = out[b].count ? sumY[b] / n : kNaN;
  }
  return out;
}

namespace {

RewardScale scaleOf(const std::vector<double>& r) {
  RewardScale s;
  s.count = static_cast<std::int64_t>(r.size());
  if (r.empty()) return s;
  s.mean = std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size());
  double ss = 0;
  for (double x : r) ss += (x - s.mean) * (x - s.mean);
  s.std = r.size() > 1 ? std::sqrt(ss / static_cast<double>(r.size() - 1)) : 0.0;
  return s;
}

}  // namespace

RewardNormalization rewardNormalization(
    const std::vector<std::pair<std::string, double>>& rewards) {
  std::map<std::string, std::vector<double>> byDomain;
  std::vector<double> all;
  all.reserve(rewards.size());
  for (const auto& [domain, r] : rewards) {
    byDomain[domain].push_back(r);
    all.push_back(r);
  }
  RewardNormalization n;
  for (const auto& [domain, r] : byDomain) n.domains[domain] = scaleOf(r);
  n.all = scaleOf(all);
  return n;
}

double normalizeReward(const RewardNormalization& n, const std::string& domain, double reward,
                       std::string* used) {
  auto it = n.domains.find(domain);
  const bool own = it != n.domains.end() && it->second.count > 0;
  const RewardScale& s = own ? it->second : n.all;
  if (used) *used = own ? domain : "*";
  return (reward - s.mean) / (s.std > 0 ? s.std : 1.0);
}

}  // namespace rr::core
