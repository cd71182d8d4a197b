#pragma once
// The Hugging Face fixture folders (tests/fixtures/hf/models/, made by tools/fixtures/*.py with
// transformers) and their golden.json, shared by the tests that compare against them.
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rr::test {

inline std::string hfFixture(const std::string& name) {
  return std::string(RR_SOURCE_DIR) + "/tests/fixtures/hf/models/" + name;
}

// By value: a range-for over hfGolden(x)["cases"] would walk a member of a destroyed temporary,
// so callers keep the result in a variable first.
inline nlohmann::json hfGolden(const std::string& name) {
  std::ifstream in(hfFixture(name) + "/golden.json");
  return nlohmann::json::parse(in);
}

// Rows of ids (a golden case's "ids", "mask", "types") as an int64 [rows, T] tensor.
inline torch::Tensor longRows(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r.get<std::vector<int64_t>>()));
  return torch::stack(out);
}

inline double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace rr::test
