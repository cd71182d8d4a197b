#pragma once
// The project's one random number generator: the synthetic benchmark, batch order and masking use
// it, so what they produce is the same for a seed on every platform and with every LibTorch.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rr::core {

// xoshiro256** seeded by splitmix64, written out here because the standard library's
// distributions are implementation-defined: generated data must be identical on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n)
  int range(int lo, int hi);             // uniform in [lo, hi]
  double uniform();                      // [0, 1)
  // The generator's whole state, to save and restore it (resumable training).
  std::array<std::uint64_t, 4> state() const { return {m_state[0], m_state[1], m_state[2], m_state[3]}; }
  void setState(const std::array<std::uint64_t, 4>& s) {
    for (size_t i = 0; i < 4; ++i) m_state[i] = s[i];
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(below(v.size()))];
  }

 private:
  std::uint64_t m_state[4];
};

}  // namespace rr::core
