#pragma once
// Several processes, on one machine or many, training together through PyTorch's own engine,
// c10d (Gloo for CPU tensors; NCCL in a CUDA LibTorch), not a transport of our own.
//
// Who a process is comes from the launcher conventions PyTorch users know (torchrun, Slurm), so
// a later Ray or Slurm launcher only sets environment variables:
//   RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (default 29500), or Slurm's
//   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID when RANK/WORLD_SIZE are not set.
#include <torch/torch.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rr::core::dist {

constexpr int kDefaultMasterPort = 29500;  // TCPStore's and torchrun's default

struct DistOptions {
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;
  std::string masterAddr = "127.0.0.1";
  int masterPort = kDefaultMasterPort;
  std::string backend;                   // "gloo" | "nccl" | "" = the device's default
  std::chrono::seconds timeout{300};     // rendezvous and every collective
  bool distributed() const { return worldSize > 1; }
};

// Reads the variables above through `getenv` (the process environment by default). Variables
// that are set must be valid: "RANK: 'x' is not an integer", "RANK 3 is not below WORLD_SIZE 2",
// ... (InputError). Nothing set: one process, rank 0.
DistOptions distOptionsFromEnvironment(
    const std::function<const char*(const char*)>& getenv = nullptr);

// Checks the ranges and the pairing of rank and world size; throws InputError naming the value.
void validate(const DistOptions& o);

// Whether this build can run several processes (c10d with Gloo compiled in), and if not, why.
bool c10dAvailable();
std::string c10dUnavailableReason();

// gloo for CPU runs, nccl for CUDA where the LibTorch has it; `requested` ("" = default) wins.
std::string backendFor(const std::string& requested, const torch::Device& device);

// A TCP port on the loopback interface that nothing listens on now (for `--nproc`, which starts
// its workers on one machine).
int freeLoopbackPort();

// A failure of the job itself (a worker missing at the rendezvous, a peer gone mid-collective):
// one line, the same meaning on every rank.
class DistError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One process group. Every call is a collective: every rank makes the same calls in the same
// order with tensors of the same shapes.
class Communicator {
 public:
  virtual ~Communicator() = default;
  int rank() const { return m_rank; }
  int size() const { return m_size; }
  const std::string& backend() const { return m_backend; }

  // Rendezvous at masterAddr:masterPort (rank 0 hosts the store) within o.timeout; DistError
  // naming the address, the rank and the time when a worker does not come.
  static std::unique_ptr<Communicator> connect(const DistOptions& o);

  // Every rank gets rank `root`'s values, in place (coalesced into one flat buffer per dtype).
  virtual void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0) = 0;
  // Sums the tensors over the ranks in place, in buckets of about `bucketBytes` (PyTorch's DDP
  // uses 25 MB): one collective per bucket, not one per tensor. Undefined tensors are skipped on
  // every rank alike (a parameter without a gradient must be so on all ranks).
  virtual void allReduceSum(const std::vector<torch::Tensor>& tensors,
                            std::size_t bucketBytes = 25u << 20) = 0;
  // Every rank's bytes, in rank order, on every rank.
  virtual std::vector<std::string> allGatherBytes(const std::string& mine) = 0;
  virtual void barrier() = 0;
  // Every rank's `mine` (the same length on every rank), concatenated in rank order: one
  // collective. What the training loop sends each step (loss, pairs/s, stop flag).
  virtual std::vector<double> allGatherDoubles(const std::vector<double>& mine) = 0;

  // A value in the job's key-value store (rank 0's TCPStore). Not a collective.
  virtual void setKey(const std::string& key, const std::string& value) = 0;
  // Waits for `key`, however long: rank 0 may tokenize or pre-train for longer than the
  // collectives' timeout. A rank 0 that is gone (its store goes with it) is a DistError.
  virtual std::string waitKey(const std::string& key) = 0;
  // The value of `key`, or nullopt while it is not set. Not a collective; a rank 0 that is gone
  // is a DistError.
  virtual std::optional<std::string> tryKey(const std::string& key) = 0;
  // How often rank `r` has beaten so far (every half second from its own thread): a count that
  // stops moving for a few periods is a rank that is gone. Not a collective.
  virtual std::int64_t heartbeats(int r) = 0;
  // On rank 0, while it works alone and the others only wait (tokenizer, pre-training): a
  // DistError "rank R of N left the job while rank 0 <doing> ..." once another rank's heartbeat
  // has not moved for 3 s. Costs no traffic (rank 0's heartbeat thread reads the others'
  // counters); nothing on the other ranks. Not a collective.
  virtual void requireOthersAlive(const std::string& doing) = 0;
  // A name for one exchange through the store, unique in the job when every rank makes the same
  // exchanges in the same order ("spread/1", "spread/2", ...).
  std::string nextTag(const std::string& prefix) {
    return prefix + "/" + std::to_string(++m_tags);
  }

 protected:
  int m_tags = 0;
  int m_rank = 0, m_size = 1;
  std::string m_backend;
};

// Runs `fn` on rank 0 first and on the other ranks once rank 0 has finished it (through the key
// `name`): for work that fills a cache the ranks of one machine share (tokenizer, pre-trained
// encoder), so they never write the same file at once; on another machine the rank finds no
// cache and does the work itself. A failure on rank 0 becomes a DistError on the others. A rank
// that left while rank 0 worked fails it when `fn` ends (requireOthersAlive; `fn` may call that
// itself to end sooner).
// `comm` nullptr: just fn().
void rankZeroFirst(Communicator* comm, const std::string& name, const std::function<void()>& fn);

// Rank `r`'s contiguous share [from, to) of n items split over `size` ranks: the first n % size
// ranks take one more. A rank's share may be empty (n < size).
std::pair<std::size_t, std::size_t> shareOf(std::size_t n, int r, int size);

// The buckets allReduceSum uses: consecutive tensors of one dtype and device, each bucket at most
// `bucketBytes` unless a single tensor is larger. Exposed for tests.
std::vector<std::vector<std::size_t>> bucketTensors(const std::vector<torch::Tensor>& tensors,
                                                    std::size_t bucketBytes);

}  // namespace rr::core::dist
