// One worker process of tst_dist: `rr_dist_worker SCENARIO OUT.json`, its place in the job from
// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT as any launcher sets them. Exit 0 with OUT
// written, or 3 with the error's one line on stderr.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dist/dist.h"

using namespace rr::core;
using nlohmann::json;

namespace {

std::vector<double> values(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kDouble).contiguous().view(-1);
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Gradients that differ by rank, summed in buckets small enough that there are several.
json reduce(dist::Communicator& c) {
  std::vector<torch::Tensor> t = {torch::full({3}, 1.0 + c.rank()), torch::Tensor(),
                                  torch::arange(4, torch::kFloat).view({2, 2}) * (c.rank() + 1),
                                  torch::full({5}, 10.0 * c.rank())};
  c.allReduceSum(t, 16);
  json out;
  for (const auto& x : t) out.push_back(x.defined() ? json(values(x)) : json());
  return out;
}

// A small MLP trained with AdamW for a few steps on a fixed global batch of 12 examples: each
// rank takes its contiguous share, scales its summed loss by 1/global batch, and the gradients
// are summed over ranks; the weights start as rank 0's (broadcast). Dropout is off.
json train(dist::Communicator& c) {
  torch::manual_seed(1 + c.rank());  // every rank starts elsewhere: the broadcast must fix it
  torch::nn::Sequential model(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 1));
  model->to(torch::kDouble);
  c.broadcast(model->parameters());
  torch::manual_seed(7);
  const int64_t global = 12;
  const torch::Tensor x = torch::randn({global, 4}, torch::kDouble);
  const torch::Tensor y = torch::randn({global, 1}, torch::kDouble);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(0.05));
  const int64_t per = (global + c.size() - 1) / c.size();
  const int64_t from = std::min(global, per * c.rank()), to = std::min(global, from + per);
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    if (to > from) {
      torch::Tensor pred = model->forward(x.slice(0, from, to));
      ((pred - y.slice(0, from, to)).pow(2).sum() / static_cast<double>(global)).backward();
    }
    std::vector<torch::Tensor> grads;
    for (auto& p : model->parameters()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    c.allReduceSum(grads, 64);
    opt.step();
  }
  json out;
  for (const auto& p : model->parameters()) out.push_back(values(p));
  return out;
}

// rankZeroFirst: rank 0's work fails, the others hear why instead of doing theirs; then a
// gather of doubles (fixed length) in rank order.
json first(dist::Communicator& c) {
  json out;
  bool ran = false;
  try {
    dist::rankZeroFirst(&c, "cache", [&] {
      ran = true;
      if (c.rank() == 0) throw std::runtime_error("disk full");
    });
  } catch (const std::exception& e) {
    out["error"] = e.what();
  }
  out["ran"] = ran;
  out["doubles"] = c.allGatherDoubles({1.0 * c.rank(), 0.5});
  return out;
}

// Rank 1 leaves (as by kill -9: no goodbye) a second into rank 0's work alone: work that asks
// (requireOthersAlive) ends a few seconds later; work that does not ask fails when it ends.
json lost(dist::Communicator& c) {
  if (c.rank() == 1) {
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::_Exit(0);
    }).detach();
    dist::rankZeroFirst(&c, "encoder", [] {});
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  json out;
  try {
    dist::rankZeroFirst(&c, "encoder", [&] {
      while (seconds() < 30) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        c.requireOthersAlive("pre-trained the encoder");
      }
    });
  } catch (const std::exception& e) {
    out["asking"] = e.what();
    out["asking_s"] = seconds();
  }
  try {
    dist::rankZeroFirst(&c, "tokenizer",
                        [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  } catch (const std::exception& e) {
    out["not_asking"] = e.what();
  }
  return out;
}

json gather(dist::Communicator& c) {
  const std::string mine = "rank " + std::to_string(c.rank()) + std::string(c.rank() * 3, '+');
  c.barrier();
  return c.allGatherBytes(mine);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: rr_dist_worker reduce|train|gather|first|lost OUT.json\n";
    return 2;
  }
  try {
    dist::DistOptions o = dist::distOptionsFromEnvironment();
    if (const char* t = std::getenv("RR_DIST_TIMEOUT")) o.timeout = std::chrono::seconds(std::atoi(t));
    auto c = dist::Communicator::connect(o);
    const std::string what = argv[1];
    json out = {{"rank", c->rank()}, {"size", c->size()}};
    out["result"] = what == "reduce"  ? reduce(*c)
                    : what == "train" ? train(*c)
                    : what == "first" ? first(*c)
                    : what == "lost"  ? lost(*c)
                                      : gather(*c);
    std::ofstream(argv[2]) << out.dump();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
