#include "dist/dist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "common/errors.h"

#ifdef RR_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/utils/tensor_flatten.h>
#endif

namespace rr::core::dist {
namespace {

// An integer variable: unset = nullopt; set but not an integer in [lo, hi] = InputError.
std::optional<int> intVar(const std::function<const char*(const char*)>& env, const char* name,
                          long lo, long hi) {
  const char* v = env(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || end == v)
    throw InputError(std::string(name) + ": '" + v + "' is not an integer");
  if (x < lo || x > hi)
    throw InputError(std::string(name) + " " + v + " is out of range [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

// The first line of a LibTorch/Gloo message (the rest is a C++ backtrace).
std::string firstLine(const std::string& what) {
  const auto nl = what.find('\n');
  return nl == std::string::npos ? what : what.substr(0, nl);
}

}  // namespace

DistOptions distOptionsFromEnvironment(const std::function<const char*(const char*)>& getenv) {
  const std::function<const char*(const char*)> env =
      getenv ? getenv : [](const char* n) { return static_cast<const char*>(std::getenv(n)); };
  DistOptions o;
  constexpr long kMaxRanks = 1 << 20;
  auto rank = intVar(env, "RANK", 0, kMaxRanks);
  auto world = intVar(env, "WORLD_SIZE", 1, kMaxRanks);
  auto local = intVar(env, "LOCAL_RANK", 0, kMaxRanks);
  if (!rank && !world) {
    // Slurm's task variables, when the job was started by srun without torchrun's.
    rank = intVar(env, "SLURM_PROCID", 0, kMaxRanks);
    world = intVar(env, "SLURM_NTASKS", 1, kMaxRanks);
    if (!local) local = intVar(env, "SLURM_LOCALID", 0, kMaxRanks);
  }
  if (rank.has_value() != world.has_value())
    throw InputError(rank ? "RANK is set but WORLD_SIZE is not" : "WORLD_SIZE is set but RANK is not");
  if (rank) {
    o.rank = *rank;
    o.worldSize = *world;
    o.localRank = local.value_or(0);
  }
  if (const char* a = env("MASTER_ADDR"); a && *a) o.masterAddr = a;
  if (auto p = intVar(env, "MASTER_PORT", 1, 65535)) o.masterPort = *p;
  validate(o);
  return o;
}

void validate(const DistOptions& o) {
  if (o.worldSize < 1) throw InputError("world size must be >= 1 (got " + std::to_string(o.worldSize) + ")");
  if (o.rank < 0 || o.rank >= o.worldSize)
    throw InputError("rank " + std::to_string(o.rank) + " is not below the world size " +
                     std::to_string(o.worldSize));
  if (o.masterPort < 1 || o.masterPort > 65535)
    throw InputError("master port " + std::to_string(o.masterPort) + " is not in [1, 65535]");
  if (o.masterAddr.empty()) throw InputError("master address is empty");
  if (!o.backend.empty() && o.backend != "gloo" && o.backend != "nccl")
    throw InputError("backend '" + o.backend + "' is not gloo or nccl");
  if (o.timeout.count() < 1) throw InputError("the distributed timeout must be >= 1 s");
}

bool c10dAvailable() {
#ifdef RR_HAVE_C10D
  return true;
#else
  return false;
#endif
}

std::string c10dUnavailableReason() {
#ifdef RR_HAVE_C10D
  return "";
#else
  return "this build has no c10d: it was configured without Gloo's headers (install libgloo-dev "
         "and reconfigure; see docs/DISTRIBUTED.md)";
#endif
}

std::string backendFor(const std::string& requested, const torch::Device& device) {
  if (!requested.empty()) return requested;
  return device.is_cuda() ? "nccl" : "gloo";
}

int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw DistError(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;  // the kernel picks a free one
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw DistError("cannot find a free port on 127.0.0.1: " + why);
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::vector<std::size_t>> bucketTensors(const std::vector<torch::Tensor>& tensors,
                                                    std::size_t bucketBytes) {
  std::vector<std::vector<std::size_t>> buckets;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor& t = tensors[i];
    if (!t.defined()) continue;
    const std::size_t n = static_cast<std::size_t>(t.numel()) * t.element_size();
    const bool fits = !buckets.empty() && bytes + n <= bucketBytes &&
                      tensors[buckets.back().front()].scalar_type() == t.scalar_type() &&
                      tensors[buckets.back().front()].device() == t.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += n;
  }
  return buckets;
}

std::pair<std::size_t, std::size_t> shareOf(std::size_t n, int r, int size) {
  const std::size_t k = static_cast<std::size_t>(std::max(1, size));
  const std::size_t rr = static_cast<std::size_t>(r);
  const std::size_t base = n / k, extra = n % k;
  const std::size_t from = rr * base + std::min(rr, extra);
  return {from, from + base + (rr < extra ? 1 : 0)};
}

void rankZeroFirst(Communicator* comm, const std::string& name, const std::function<void()>& fn) {
  if (!comm || comm->size() == 1) return fn();
  const std::string key = "first/" + name;
  if (comm->rank() == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      comm->setKey(key, std::string("failed: ") + firstLine(e.what()));
      throw;
    }
    comm->setKey(key, "ok");
    return;
  }
  const std::string v = comm->waitKey(key);
  if (v != "ok") throw DistError("rank 0 failed at " + name + ": " + v.substr(v.find(' ') + 1));
  fn();
}

#ifdef RR_HAVE_C10D
namespace {

std::string bytesToString(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// Each rank adds 1 to its key "alive/<rank>" in the job's store every half second from its own
// thread and connection, so a collective that fails can name the rank that is gone: the one
// whose counter stopped. The store lives in rank 0: when it is gone, so is the store.
class Heartbeat {
 public:
  Heartbeat(const DistOptions& o) : m_key("alive/" + std::to_string(o.rank)) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(o.masterPort);
    so.isServer = false;
    so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
    m_store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
    m_store->add(m_key, 1);
    m_thread = std::thread([this] {
      std::unique_lock<std::mutex> lock(m_mutex);
      while (!m_stop) {
        m_cv.wait_for(lock, kPeriod);
        if (m_stop) break;
        try {
          m_store->add(m_key, 1);
        } catch (const std::exception&) {
          break;  // rank 0 and its store are gone; the next collective says so
        }
      }
    });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  static constexpr std::chrono::milliseconds kPeriod{500};

 private:
  std::string m_key;
  c10::intrusive_ptr<c10d::TCPStore> m_store;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(const DistOptions& o) : m_where(o.masterAddr + ":" + std::to_string(o.masterPort)) {
    m_rank = o.rank;
    m_size = o.worldSize;
    m_backend = "gloo";
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(o.masterPort);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<std::size_t>(o.worldSize);
      so.waitWorkers = true;
      so.timeout = timeout;
      m_store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // GLOO_SOCKET_IFNAME picks the interface as in PyTorch; loopback runs stay on 127.0.0.1.
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (o.masterAddr == "127.0.0.1" || o.masterAddr == "localhost")
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      m_pg = c10::make_intrusive<c10d::ProcessGroupGloo>(m_store, o.rank, o.worldSize, options);
      m_heartbeat = std::make_unique<Heartbeat>(o);
    } catch (const std::exception& e) {
      throw DistError("rendezvous at " + m_where + " failed for rank " + std::to_string(o.rank) +
                      " of " + std::to_string(o.worldSize) + " within " +
                      std::to_string(o.timeout.count()) + " s (a worker did not start or " +
                      "cannot reach the master): " + firstLine(e.what()));
    }
  }

  void broadcast(const std::vector<torch::Tensor>& tensors, int root) override {
    for (const auto& bucket : bucketTensors(tensors, std::size_t(1) << 62)) {
      std::vector<torch::Tensor> part;
      for (auto i : bucket) part.push_back(tensors[i]);
      torch::NoGradGuard ng;
      std::vector<torch::Tensor> flat = {torch::utils::flatten_dense_tensors(part)};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      run("broadcast", [&] { return m_pg->broadcast(flat, bo); });
      auto back = torch::utils::unflatten_dense_tensors(flat[0], part);
      for (std::size_t k = 0; k < part.size(); ++k) part[k].copy_(back[k]);
    }
  }

  void allReduceSum(const std::vector<torch::Tensor>& tensors, std::size_t bucketBytes) override {
    torch::NoGradGuard ng;
    for (const auto& bucket : bucketTensors(tensors, bucketBytes)) {
      std::vector<torch::Tensor> part;
      for (auto i : bucket) part.push_back(tensors[i]);
      std::vector<torch::Tensor> flat = {torch::utils::flatten_dense_tensors(part)};
      run("all-reduce", [&] { return m_pg->allreduce(flat); });
      auto back = torch::utils::unflatten_dense_tensors(flat[0], part);
      for (std::size_t k = 0; k < part.size(); ++k) part[k].copy_(back[k]);
    }
  }

  std::vector<std::string> allGatherBytes(const std::string& mine) override {
    // Sizes first, then every rank's bytes padded to the largest (Gloo's allgather wants one
    // shape on every rank).
    std::vector<torch::Tensor> size = {torch::tensor({static_cast<int64_t>(mine.size())})};
    std::vector<std::vector<torch::Tensor>> sizes(1);
    for (int r = 0; r < m_size; ++r) sizes[0].push_back(torch::zeros({1}, torch::kLong));
    run("all-gather", [&] { return m_pg->allgather(sizes, size); });
    int64_t longest = 1;
    for (const auto& s : sizes[0]) longest = std::max(longest, s.item<int64_t>());
    torch::Tensor buf = torch::zeros({longest}, torch::kUInt8);
    std::memcpy(buf.data_ptr<uint8_t>(), mine.data(), mine.size());
    std::vector<torch::Tensor> in = {buf};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < m_size; ++r) out[0].push_back(torch::zeros({longest}, torch::kUInt8));
    run("all-gather", [&] { return m_pg->allgather(out, in); });
    std::vector<std::string> all;
    for (int r = 0; r < m_size; ++r)
      all.emplace_back(reinterpret_cast<const char*>(out[0][r].data_ptr<uint8_t>()),
                       static_cast<std::size_t>(sizes[0][r].item<int64_t>()));
    return all;
  }

  void barrier() override {
    run("barrier", [&] { return m_pg->barrier(); });
  }

  std::vector<double> allGatherDoubles(const std::vector<double>& mine) override {
    std::vector<torch::Tensor> in = {torch::tensor(mine, torch::kDouble)};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < m_size; ++r)
      out[0].push_back(torch::zeros({static_cast<int64_t>(mine.size())}, torch::kDouble));
    run("all-gather", [&] { return m_pg->allgather(out, in); });
    std::vector<double> all;
    for (const auto& t : out[0])
      all.insert(all.end(), t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    return all;
  }

  void setKey(const std::string& key, const std::string& value) override {
    storeCall("setting " + key, [&] {
      m_store->set("rr/" + key, std::vector<std::uint8_t>(value.begin(), value.end()));
    });
  }

  std::string waitKey(const std::string& key) override {
    std::string value;
    // Polled, not store->wait(): that gives up after the store's timeout.
    storeCall("waiting for " + key, [&] {
      while (!m_store->check({"rr/" + key}))
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      value = bytesToString(m_store->get("rr/" + key));
    });
    return value;
  }

  std::optional<std::string> tryKey(const std::string& key) override {
    std::optional<std::string> value;
    storeCall("reading " + key, [&] {
      if (m_store->check({"rr/" + key})) value = bytesToString(m_store->get("rr/" + key));
    });
    return value;
  }

  std::int64_t heartbeats(int r) override {
    std::int64_t n = 0;
    storeCall("reading the heartbeat of rank " + std::to_string(r),
              [&] { n = m_store->add("alive/" + std::to_string(r), 0); });
    return n;
  }

 private:
  template <class Fn>
  void storeCall(const std::string& what, Fn&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      throw DistError("rank 0 left the job (its store at " + m_where + " is gone) while rank " +
                      std::to_string(m_rank) + " was " + what + ": " + firstLine(e.what()));
    }
  }

  // The ranks whose heartbeat stopped, as "rank 1" / "ranks 1, 3"; "" when all still beat.
  // Takes about three heartbeat periods.
  std::string ranksGone() {
    try {
      std::vector<int64_t> before(static_cast<std::size_t>(m_size));
      for (int r = 0; r < m_size; ++r) before[r] = m_store->add("alive/" + std::to_string(r), 0);
      std::this_thread::sleep_for(Heartbeat::kPeriod * 4);
      std::string gone;
      int n = 0;
      for (int r = 0; r < m_size; ++r)
        if (r != m_rank && m_store->add("alive/" + std::to_string(r), 0) == before[r]) {
          gone += (gone.empty() ? "" : ", ") + std::to_string(r);
          ++n;
        }
      return gone.empty() ? "" : (n == 1 ? "rank " : "ranks ") + gone;
    } catch (const std::exception&) {
      return "rank 0";  // the store went with it
    }
  }

  // Starts a collective and waits for it; a peer that died or hung becomes one DistError that
  // names the rank that is gone when the heartbeats tell.
  template <class Start>
  void run(const char* what, Start&& start) {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      const std::string gone = ranksGone();
      throw DistError((gone.empty() ? std::string("a worker failed")
                                    : gone + " of " + std::to_string(m_size) + " left the job") +
                      ": " + what + " on rank " + std::to_string(m_rank) + " (" + m_where +
                      ") failed: " + firstLine(e.what()));
    }
  }

  std::string m_where;
  c10::intrusive_ptr<c10d::Store> m_store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> m_pg;
  std::unique_ptr<Heartbeat> m_heartbeat;
};

}  // namespace
#endif

std::unique_ptr<Communicator> Communicator::connect(const DistOptions& o) {
  validate(o);
  if (o.backend == "nccl")
    throw DistError("backend nccl: this build has no NCCL process group yet; use --dist-backend gloo");
#ifdef RR_HAVE_C10D
  return std::make_unique<GlooCommunicator>(o);
#else
  throw DistError(c10dUnavailableReason());
#endif
}

}  // namespace rr::core::dist
