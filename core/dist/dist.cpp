#include "dist/dist.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "common/errors.h"
#include "nn/torchcompat.h"

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
      comm->requireOthersAlive("prepared the " + name);
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

using Clock = std::chrono::steady_clock;

std::string bytesToString(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// The store handshake of a rank other than 0, partly by hand, because c10d's TCPStore client
// cannot be told to give up: it waits for each answer without a timeout (a program that accepts
// the connection and stays silent holds the rank forever), and LibTorch 1.13's client starts a
// thread that aborts the process on bytes it did not ask for (a server that greets, as SSH does).

// What a rank found at its master's address that is no c10d store (a message's tail).
class NotAStore : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The TCP addresses of host:port; a name server that fails for now is asked again until the
// deadline.
std::vector<sockaddr_storage> tcpAddresses(const std::string& host, int port,
                                           Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  for (;;) {
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc == 0) break;
    if (rc != EAI_AGAIN || Clock::now() >= deadline)
      throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<sockaddr_storage> out;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    sockaddr_storage s{};
    std::memcpy(&s, a->ai_addr, a->ai_addrlen);
    out.push_back(s);
  }
  ::freeaddrinfo(found);
  return out;
}

socklen_t addressLength(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// An IPv4 address written as IPv6 (::ffff:a.b.c.d, how LibTorch's sockets connect to one) as
// IPv4.
sockaddr_storage unmapped(const sockaddr_storage& s) {
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(s);
  if (s.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return s;
  sockaddr_storage out{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out);
  v4.sin_family = AF_INET;
  v4.sin_port = v6.sin6_port;
  std::memcpy(&v4.sin_addr, v6.sin6_addr.s6_addr + 12, 4);
  return out;
}

bool sameAddress(const sockaddr_storage& mapped, const sockaddr_storage& other) {
  const sockaddr_storage a = unmapped(mapped), b = unmapped(other);
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto &x = reinterpret_cast<const sockaddr_in&>(a),
               &y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto &x = reinterpret_cast<const sockaddr_in6&>(a),
               &y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return false;
}

int millisecondsUntil(Clock::time_point t) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT32_MAX));
}

// One connection attempt that gives up at `deadline`: the socket, or -1 with errno set.
int connectBy(const sockaddr_storage& a, Clock::time_point deadline) {
  const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), addressLength(a)) == 0) return fd;
  int err = errno;
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, millisecondsUntil(deadline));
    socklen_t len = sizeof err;
    if (n <= 0)
      err = n == 0 ? ETIMEDOUT : errno;
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if (err == 0) return fd;
  }
  ::close(fd);
  errno = err;
  return -1;
}

// A c10d store answers and never speaks first. Connects to the master as TCPStore does (again
// while nothing listens, until the deadline) and listens a moment: a program that speaks first
// or hangs up unasked is refused before any store client starts.
void refuseGreeter(const std::vector<sockaddr_storage>& master, Clock::time_point deadline) {
  int fd = -1, err = ECONNREFUSED;
  for (;;) {
    for (std::size_t i = 0; i < master.size() && fd < 0; ++i) {
      fd = connectBy(master[i], deadline);
      if (fd < 0) err = errno;
    }
    if (fd >= 0) break;
    if (Clock::now() >= deadline)
      throw std::runtime_error(std::string("nothing accepted a connection there (") +
                               std::strerror(err) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  pollfd p{fd, POLLIN, 0};
  const bool spoke = ::poll(&p, 1, std::min(250, millisecondsUntil(deadline))) > 0;
  char buf[64];
  const ssize_t got = spoke ? ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) : 0;
  ::close(fd);
  if (!spoke) return;
  if (got <= 0) throw NotAStore("it closed the connection before it was asked anything");
  std::string said(buf, static_cast<std::size_t>(got));
  said = said.substr(0, said.find_first_of("\r\n"));
  for (char& c : said)
    if (c < 0x20 || c > 0x7e) c = '?';
  throw NotAStore("it spoke first: '" + said + "'");
}

// From `deadline` on, shuts down every socket of this process connected to the master, so that
// a TCPStore client waiting for an answer gets the end of the stream instead (and throws). The
// sockets are found under /proc/self/fd: TCPStore gives no access to its own.
class HandshakeDeadline {
 public:
  HandshakeDeadline(std::vector<sockaddr_storage> master, Clock::time_point deadline)
      : m_master(std::move(master)), m_thread([this, deadline] { watch(deadline); }) {}
  ~HandshakeDeadline() {
    finish();
    m_thread.join();
  }
  // Ends the watch; whether it cut a connection.
  bool finish() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_done = true;
    m_cv.notify_all();
    return m_cut;
  }

 private:
  void watch(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_cv.wait_until(lock, deadline, [this] { return m_done; })) return;
    // Again until the handshake ends: TCPStore's client may still be connecting.
    while (!m_done) {
      std::error_code ec;
      for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
           !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const int fd = std::atoi(it->path().filename().c_str());
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
        for (const auto& m : m_master)
          if (sameAddress(peer, m)) {
            ::shutdown(fd, SHUT_RDWR);
            m_cut = true;
          }
      }
      m_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return m_done; });
    }
  }

  std::vector<sockaddr_storage> m_master;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_done = false, m_cut = false;
  std::thread m_thread;
};

// The job's store as seen from a rank other than 0: a TCPStore client whose handshake ends by
// `deadline`, checked to be a store (NotAStore when it is not).
c10::intrusive_ptr<c10d::TCPStore> storeClient(const DistOptions& o, c10d::TCPStoreOptions so,
                                               Clock::time_point deadline) {
  // What fails is said below, in one line. (Before `store`: it outlives the client's last words.)
  const nn::QuietLibTorchWarnings quiet;
  const std::vector<sockaddr_storage> master = tcpAddresses(o.masterAddr, o.masterPort, deadline);
  refuseGreeter(master, deadline);
  const std::string silent = "it accepted the connection but did not answer within " +
                             std::to_string(o.timeout.count()) + " s";
  HandshakeDeadline cut(master, deadline);
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
    // A store adds; a program that answers anything at all does not.
    const std::string key = "rr/handshake/" + std::to_string(o.rank);
    const std::int64_t before = store->add(key, 0);
    if (store->add(key, 7) != before + 7)
      throw NotAStore("its answers to a store's requests are not a store's");
  } catch (const NotAStore&) {
    throw;
  } catch (const std::exception& e) {
    if (cut.finish()) throw NotAStore(silent);
    if (store) throw NotAStore("it did not answer as a store: " + firstLine(e.what()));
    throw;
  }
  if (cut.finish()) throw NotAStore(silent);
  return store;
}

// "rank 1" / "ranks 1, 3" for the ranks listed.
std::string rankList(const std::vector<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return (ranks.size() == 1 ? "rank " : "ranks ") + out;
}

// Each rank adds 1 to its key "alive/<rank>" in the job's store every half second from its own
// thread and connection, so a collective that fails can name the rank that is gone: the one
// whose counter stopped. The store lives in rank 0: when it is gone, so is the store. Rank 0's
// thread also reads the others' counters, so that it knows who is gone while it works alone.
class Heartbeat {
 public:
  Heartbeat(const DistOptions& o)
      : m_key("alive/" + std::to_string(o.rank)),
        m_seen(o.rank == 0 ? static_cast<std::size_t>(o.worldSize) : 0) {
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
          for (std::size_t r = 1; r < m_seen.size(); ++r) {
            const std::int64_t n = m_store->add("alive/" + std::to_string(r), 0);
            Seen& s = m_seen[r];
            s.read = Clock::now();
            if (n != s.count) {
              s.count = n;
              s.changed = s.read;
            }
          }
        } catch (const std::exception&) {
          break;  // rank 0 and its store are gone; the next collective says so
        }
      }
    });
  }
  // Rank 0: the ranks whose counter did not move between two readings kSilence apart (judged
  // from the readings alone, so a thread that was not scheduled for a while accuses no one).
  std::vector<int> silentRanks() {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<int> out;
    for (std::size_t r = 1; r < m_seen.size(); ++r)
      if (m_seen[r].count >= 0 && m_seen[r].read - m_seen[r].changed > kSilence)
        out.push_back(static_cast<int>(r));
    return out;
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
  // How long a rank's counter stays still before the rank counts as gone (six periods, as in
  // component parallelism's watch).
  static constexpr std::chrono::seconds kSilence{3};

 private:
  struct Seen {
    std::int64_t count = -1;
    Clock::time_point changed, read;
  };
  std::string m_key;
  std::vector<Seen> m_seen;  // rank 0: each rank's counter as last read; empty elsewhere
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
    const auto deadline = Clock::now() + o.timeout;
    const std::string failed = "rendezvous at " + m_where + " failed for rank " +
                               std::to_string(o.rank) + " of " + std::to_string(o.worldSize);
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(o.masterPort);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<std::size_t>(o.worldSize);
      so.waitWorkers = true;
      so.timeout = timeout;
      m_store = o.rank == 0 ? c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so)
                            : storeClient(o, so, deadline);
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
    } catch (const NotAStore& e) {
      throw DistError(failed + ": what listens there is not a c10d store: " + e.what());
    } catch (const std::exception& e) {
      throw DistError(
          failed + " within " + std::to_string(o.timeout.count()) +
          " s (a worker did not start or cannot reach the master): " + firstLine(e.what()));
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

  void requireOthersAlive(const std::string& doing) override {
    const std::vector<int> gone = m_heartbeat ? m_heartbeat->silentRanks() : std::vector<int>{};
    if (!gone.empty())
      throw DistError(rankList(gone) + " of " + std::to_string(m_size) +
                      " left the job while rank 0 " + doing + " (no heartbeat for " +
                      std::to_string(Heartbeat::kSilence.count()) + " s)");
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
      std::vector<int> gone;
      for (int r = 0; r < m_size; ++r)
        if (r != m_rank && m_store->add("alive/" + std::to_string(r), 0) == before[r])
          gone.push_back(r);
      return gone.empty() ? "" : rankList(gone);
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
