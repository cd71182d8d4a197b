#pragma once
// What a run over several processes adds to the run lifecycle (internal; LibTorch): the test
// pairs scored in shares and gathered, and who the ranks are. See docs/DISTRIBUTED.md.
#include <string>
#include <vector>

#include "dist/dist.h"
#include "methods/method.h"

namespace rr::core {

// Every rank scores its contiguous share of idx (dist::shareOf); every rank gets all scores in
// idx's order, the same values one process gets. comm nullptr: system.scorePairs(data, idx).
std::vector<PairScore> scorePairsSplit(RewardSystem& system, const EncodedData& data,
                                       const std::vector<size_t>& idx, dist::Communicator* comm);

// Every rank takes rank 0's floating-point weights and buffers of the whole system, frozen
// parts included (each Trainer broadcasts only what it trains): a system built from its seed is
// equal on every rank anyway; this keeps it so for one whose random draws depend on the rank.
// A collective; comm nullptr: nothing.
void broadcastSystem(RewardSystem& system, dist::Communicator* comm);

// The ranks' host names in rank order, comma-separated (a collective).
std::string rankHosts(dist::Communicator& comm);

// Scores to bytes and back, exactly (CBOR: doubles keep their bits). Exposed for tests.
std::string serializeScores(const std::vector<PairScore>& scores);
std::vector<PairScore> deserializeScores(const std::string& bytes);

}  // namespace rr::core
