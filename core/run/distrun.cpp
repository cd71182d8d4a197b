#include "run/distrun.h"

#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace rr::core {
namespace {

// A small length-prefixed binary format: doubles keep their bits, so the gathered scores equal
// one process's (text would round them).
void put(std::string& out, const void* p, std::size_t n) {
  out.append(static_cast<const char*>(p), n);
}
void putString(std::string& out, const std::string& s) {
  const std::uint64_t n = s.size();
  put(out, &n, sizeof n);
  out += s;
}

class Reader {
 public:
  explicit Reader(const std::string& b) : m_b(b) {}
  void get(void* p, std::size_t n) {
    if (m_at + n > m_b.size()) throw std::runtime_error("gathered scores are cut short");
    std::memcpy(p, m_b.data() + m_at, n);
    m_at += n;
  }
  template <class T>
  T value() {
    T v;
    get(&v, sizeof v);
    return v;
  }
  std::string string() {
    const auto n = value<std::uint64_t>();
    if (m_at + n > m_b.size()) throw std::runtime_error("gathered scores are cut short");
    std::string s = m_b.substr(m_at, n);
    m_at += n;
    return s;
  }
  bool done() const { return m_at == m_b.size(); }

 private:
  const std::string& m_b;
  std::size_t m_at = 0;
};

}  // namespace

std::string serializeScores(const std::vector<PairScore>& scores) {
  std::string out;
  const std::uint64_t n = scores.size();
  put(out, &n, sizeof n);
  for (const auto& s : scores) {
    put(out, &s.chosen, sizeof s.chosen);
    put(out, &s.rejected, sizeof s.rejected);
    putString(out, s.route);
    const std::uint64_t d = s.detail.size();
    put(out, &d, sizeof d);
    for (const auto& [k, v] : s.detail) {
      putString(out, k);
      put(out, &v, sizeof v);
    }
  }
  return out;
}

std::vector<PairScore> deserializeScores(const std::string& bytes) {
  Reader r(bytes);
  std::vector<PairScore> out(r.value<std::uint64_t>());
  for (auto& s : out) {
    s.chosen = r.value<double>();
    s.rejected = r.value<double>();
    s.route = r.string();
    const auto d = r.value<std::uint64_t>();
    for (std::uint64_t i = 0; i < d; ++i) {
      std::string k = r.string();
      s.detail[k] = r.value<double>();
    }
  }
  if (!r.done()) throw std::runtime_error("gathered scores have trailing bytes");
  return out;
}

std::vector<PairScore> scorePairsSplit(RewardSystem& system, const EncodedData& data,
                                       const std::vector<size_t>& idx, dist::Communicator* comm) {
  if (!comm || comm->size() == 1) return system.scorePairs(data, idx);
  const auto [from, to] = dist::shareOf(idx.size(), comm->rank(), comm->size());
  std::vector<PairScore> mine;
  if (to > from)
    mine = system.scorePairs(data, std::vector<size_t>(idx.begin() + static_cast<long>(from),
                                                       idx.begin() + static_cast<long>(to)));
  std::vector<PairScore> all;
  all.reserve(idx.size());
  for (const auto& part : comm->allGatherBytes(serializeScores(mine)))
    for (auto& s : deserializeScores(part)) all.push_back(std::move(s));
  if (all.size() != idx.size())
    throw dist::DistError("the ranks scored " + std::to_string(all.size()) + " of " +
                          std::to_string(idx.size()) + " pairs");
  return all;
}

void broadcastSystem(RewardSystem& system, dist::Communicator* comm) {
  if (!comm || comm->size() == 1) return;
  std::vector<torch::Tensor> state;
  for (const auto& named : system.namedModules()) {
    for (const auto& p : named.second->parameters())
      if (p.is_floating_point()) state.push_back(p);
    for (const auto& b : named.second->buffers())
      if (b.is_floating_point()) state.push_back(b);
  }
  comm->broadcast(state, 0);
}

std::string rankHosts(dist::Communicator& comm) {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  std::string hosts;
  for (const auto& h : comm.allGatherBytes(buf)) hosts += (hosts.empty() ? "" : ",") + h;
  return hosts;
}

}  // namespace rr::core
