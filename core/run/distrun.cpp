#include "run/distrun.h"

#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace rr::core {

// CBOR (nlohmann's): doubles keep their bits (NaN and infinities too), so the gathered scores
// equal one process's; JSON text would turn a NaN into null.
std::string serializeScores(const std::vector<PairScore>& scores) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : scores) rows.push_back({s.chosen, s.rejected, s.route, s.detail});
  const std::vector<std::uint8_t> bytes = nlohmann::json::to_cbor(rows);
  return {bytes.begin(), bytes.end()};
}

std::vector<PairScore> deserializeScores(const std::string& bytes) {
  std::vector<PairScore> out;
  try {
    for (const auto& row : nlohmann::json::from_cbor(bytes)) {
      PairScore s;
      s.chosen = row.at(0).get<double>();
      s.rejected = row.at(1).get<double>();
      s.route = row.at(2).get<std::string>();
      s.detail = row.at(3).get<std::map<std::string, double>>();
      out.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("gathered scores are unreadable: ") + e.what());
  }
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
