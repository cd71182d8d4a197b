// Component parallelism (distributed.mode "components", docs/DISTRIBUTED.md): a plan's groups
// spread over the processes, each trained whole on one, then every trained tensor sent to all.
//
// The processes train for different lengths of time, longer than a collective may wait, so
// until every one has finished they talk only through the job's key-value store, polled: each
// publishes its metric rows and logs as it trains (rank 0 stores them live), and says when it is
// done, stopped or failed. Rank 0 watches the others' heartbeats. Only then come the collectives
// that send the weights.
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/errors.h"
#include "dist/dist.h"
#include "methods/method.h"

namespace rr::core {

std::vector<int> assignGroups(const TrainingPlan& plan, int ranks) {
  if (ranks < 1) throw std::invalid_argument("assignGroups: ranks must be >= 1");
  std::vector<std::string> groups;  // in plan order
  std::map<std::string, int64_t> steps;
  for (const auto& c : plan) {
    if (!steps.count(c.group)) groups.push_back(c.group);
    steps[c.group] += c.steps();
  }
  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return steps[groups[a]] > steps[groups[b]]; });
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  std::map<std::string, int> owner;
  for (size_t i : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[groups[i]] = static_cast<int>(least);
    load[static_cast<size_t>(least)] += steps[groups[i]];
  }
  std::vector<int> out;
  for (const auto& c : plan) out.push_back(owner[c.group]);
  return out;
}

bool spreadsComponents(const std::string& mode, const TrainingPlan& plan, int ranks) {
  if (ranks <= 1 || mode == "data") return false;
  if (mode == "components") return true;
  std::set<std::string> groups;
  for (const auto& c : plan) groups.insert(c.group);
  return static_cast<int>(groups.size()) >= ranks;
}

namespace {

using nlohmann::json;

// The error's first line, without LibTorch's backtrace.
std::string firstLineOf(const std::exception& e) {
  const auto* te = dynamic_cast<const c10::Error*>(&e);
  const std::string what = te ? te->what_without_backtrace() : e.what();
  return what.substr(0, what.find('\n'));
}

// What a process other than rank 0 reports while it trains, kept until the next poll sends it.
class Outbox : public MetricSink {
 public:
  void metric(const MetricRow& p) override {
    m_rows.push_back({{"c", p.component}, {"s", p.step}, {"k", p.key}, {"v", p.value}});
  }
  void progress(const ProgressInfo&) override {}
  void log(std::int64_t, LogLevel level, const std::string& message) override {
    m_rows.push_back({{"l", static_cast<int>(level)}, {"m", message}});
  }
  // The rows since the last call, as one message (CBOR: a NaN loss stays a NaN, where JSON
  // text would make it null); "" when there are none.
  std::string take() {
    if (m_rows.empty()) return "";
    const std::vector<std::uint8_t> bytes = json::to_cbor(m_rows);
    m_rows = json::array();
    return {bytes.begin(), bytes.end()};
  }

 private:
  json m_rows = json::array();
};

// The exchange of one trainPlanSpread call through the store.
class Exchange {
 public:
  Exchange(dist::Communicator& comm) : m_comm(comm), m_tag(comm.nextTag("spread")) {
    m_next.assign(static_cast<size_t>(comm.size()), 0);
    m_beats.assign(static_cast<size_t>(comm.size()), -1);
    m_beatSeen.assign(static_cast<size_t>(comm.size()), std::chrono::steady_clock::now());
  }

  // A process other than rank 0 sends what it reported since the last call.
  void send(Outbox& out) {
    const std::string rows = out.take();
    if (rows.empty()) return;
    m_comm.setKey(key("rows/" + std::to_string(m_comm.rank()) + "/" + std::to_string(m_sent++)),
                  rows);
  }

  // Rank 0 reports what the others sent (as the run's own figures: each component trained on one
  // process only) and checks that they are still there.
  void receive(RunReporter& reporter) {
    for (int r = 1; r < m_comm.size(); ++r) {
      auto& next = m_next[static_cast<size_t>(r)];
      while (auto rows = m_comm.tryKey(key("rows/" + std::to_string(r) + "/" +
                                           std::to_string(next)))) {
        ++next;
        for (const auto& row : json::from_cbor(*rows)) {
          if (row.contains("m")) {
            reporter.log(static_cast<LogLevel>(row["l"].get<int>()),
                         "rank " + std::to_string(r) + ": " + row["m"].get<std::string>());
            continue;
          }
          const std::string component = row["c"].get<std::string>(), k = row["k"];
          const double v = row["v"].get<double>();
          reporter.metric(component, row["s"].get<int64_t>(), k, v);
          if (k == "loss") reporter.stepDone(component, v, 0);
        }
      }
      checkAlive(r);
    }
  }

  // Stops this process when another one failed or was stopped.
  void check() {
    if (auto failed = m_comm.tryKey(key("failed"))) throw dist::DistError(*failed);
    if (m_comm.tryKey(key("stop"))) throw Cancelled();
  }

  void stopAll() { m_comm.setKey(key("stop"), "1"); }
  void fail(const std::string& why) { m_comm.setKey(key("failed"), why); }
  void done() { m_comm.setKey(key("done/" + std::to_string(m_comm.rank())), "1"); }
  bool allDone() {
    for (int r = 0; r < m_comm.size(); ++r)
      if (!m_comm.tryKey(key("done/" + std::to_string(r)))) return false;
    return true;
  }

 private:
  std::string key(const std::string& k) const { return m_tag + "/" + k; }

  // A rank whose heartbeat has not moved for 3 s (six periods) is gone.
  void checkAlive(int r) {
    if (m_comm.tryKey(key("done/" + std::to_string(r)))) return;
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t beats = m_comm.heartbeats(r);
    const auto i = static_cast<size_t>(r);
    if (beats != m_beats[i]) {
      m_beats[i] = beats;
      m_beatSeen[i] = now;
    } else if (now - m_beatSeen[i] > std::chrono::seconds(3)) {
      const std::string why = "rank " + std::to_string(r) + " of " +
                              std::to_string(m_comm.size()) +
                              " left the job while it trained its components";
      fail(why);
      throw dist::DistError(why);
    }
  }

  dist::Communicator& m_comm;
  std::string m_tag;
  int m_sent = 0;
  std::vector<int> m_next;
  std::vector<std::int64_t> m_beats;
  std::vector<std::chrono::steady_clock::time_point> m_beatSeen;
};

}  // namespace

void trainPlanSpread(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter,
                     dist::Communicator& comm) {
  const std::vector<int> owners = assignGroups(plan, comm.size());
  const bool lead = comm.rank() == 0;
  Exchange exchange(comm);
  Outbox outbox;
  // This process's own components, reported to the store (rank 0) or through the exchange.
  RunReporter local(reporter, lead ? static_cast<MetricSink&>(reporter.sink()) : outbox);
  // Only rank 0 has the run's checkpoint folder (and only it could resume).
  if (!lead) local.setCheckpoints(nullptr);
  auto poll = [&] {
    if (lead) {
      exchange.receive(local);
    } else {
      exchange.send(outbox);
    }
    exchange.check();
  };
  local.setPoll(poll);
  std::vector<double> seconds(plan.size(), 0.0);
  try {
    for (size_t k = 0; k < plan.size(); ++k) {
      const PlannedComponent& c = plan[k];
      if (owners[k] != comm.rank()) {
        // Checkpoint files are numbered by the component's place in the plan.
        if (RunCheckpoints* cp = local.checkpoints()) cp->nextFile();
        continue;
      }
      ComponentJob job = system.job(c);
      if (job.prepare) job.prepare();
      torch::manual_seed(c.loop.seed);
      seconds[k] = runLoop(c.loop, c.items, std::move(job.params), job.step,
                           validationOf(job, c, nullptr), local);
    }
    if (!lead) exchange.send(outbox);
    exchange.done();
    // The others may train for longer than a collective waits: wait here, polling.
    while (!exchange.allDone()) {
      local.checkpoint();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (lead) exchange.receive(local);
  } catch (const Cancelled&) {
    exchange.stopAll();
    throw;
  } catch (const dist::DistError&) {
    throw;
  } catch (const std::exception& e) {
    exchange.fail("rank " + std::to_string(comm.rank()) + " failed: " + firstLineOf(e));
    throw;
  }
  // Every process ends with every component: each is sent by the process that trained it.
  for (size_t k = 0; k < plan.size(); ++k) comm.broadcast(system.job(plan[k]).params, owners[k]);
  // Training seconds: each process has those of its own components, 0 for the others'.
  const std::vector<double> all = comm.allGatherDoubles(seconds);
  for (size_t k = 0; k < plan.size(); ++k)
    if (double* s = system.job(plan[k]).seconds)
      *s = all[static_cast<size_t>(owners[k]) * plan.size() + k];
  // The run's progress now counts every process's steps.
  reporter.stepsRestored(plannedSteps(plan));
}

}  // namespace rr::core
