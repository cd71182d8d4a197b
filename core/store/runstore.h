#pragma once
// The SQLite run store (docs/STORE.md). One RunWriter (one connection, WAL mode) writes a run;
// readers open their own RunStore connections, also from other processes while a run goes on.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/runtypes.h"
#include "data/pair.h"
#include "eval/metrics.h"

struct sqlite3;

namespace rr::core {

constexpr int kStoreSchemaVersion = 7;
// PRAGMA application_id of a run store ("RRst"); stores of schema version 1 carry 0.
constexpr std::uint32_t kStoreApplicationId = 0x52527374;
// The domain name of results that describe a whole run (the mean over domains, parameters,
// timing). The store keeps them apart from per-domain rows; a data domain must not use it.
constexpr const char* kWholeRun = "*";
// Throws InputError ("WHERE: domain '*' is reserved ...") for a name a domain cannot have.
void checkDomainName(const std::string& domain, const std::string& where);

// The store's text of a status and a log level: the one place they become text and back.
std::string toString(RunStatus s);
RunStatus runStatusFromString(const std::string& s);
std::string toString(LogLevel level);
LogLevel logLevelFromString(const std::string& s);

struct RunInfo {
  std::int64_t id = 0;
  std::string experiment;
  std::string method;      // baseline, more, ...
  std::string methodName;  // the display name from the config
  int seed = 0;
  std::string configJson;
  RunStatus status = RunStatus::Queued;
  std::string createdAt, startedAt, finishedAt;  // ISO 8601 UTC
  std::string error;
  std::int64_t step = 0, totalSteps = 0;
  double progress = 0;  // 0..1 over the whole run
  std::string uuid;     // written into the run's saved model too; "" for runs of schema 1
  // A run over several processes (schema 6): how many, the c10d backend, the ranks' hosts in
  // rank order, comma-separated. One process: 1, "", "".
  int worldSize = 1;
  std::string distBackend, distHosts;
};

struct ResultRow {
  std::int64_t runId = 0;
  std::string domain;  // kWholeRun ("*") for the mean over domains / the whole run
  std::string metric;  // accuracy, router_accuracy, infer_ms_per_step, ...
  double value = 0;
};

struct ExampleRow {
  std::int64_t runId = 0;
  std::string exampleId;
  std::string domain;
  double rewardChosen = 0, rewardRejected = 0;
  std::string routedTo;  // domain/expert the router picked; "" for single models
  bool correct = false;
  std::string detailJson;  // per-expert / per-capability contributions
};

struct ComponentRow {
  std::int64_t runId = 0;
  std::string name;
  std::int64_t paramsTotal = 0, paramsTrainable = 0;
  double trainSeconds = 0;
};

// Evaluated pairs of one run whose label for one capability is non-zero (the capability has a say).
struct CapabilityCount {
  std::int64_t runId = 0;
  std::string capability;
  std::int64_t pairs = 0;    // 0 when every evaluated pair labels the capability 0
  std::int64_t correct = 0;  // of those pairs, the ones the run ranked right
};

// A run evaluated on another pairs file (`rewardrouter-cli evaluate`, schema 4).
struct EvaluationInfo {
  std::int64_t id = 0, runId = 0;
  std::string name;    // unique per run
  std::string source;  // the pairs file as given
  std::string createdAt;
  std::int64_t pairs = 0;
};

// One scored pair of an evaluation; `group` is its best-of-N group ("" for a plain pair).
struct EvaluationExample {
  ExampleRow row;  // row.runId: the evaluated run
  std::string group;
};

struct LogRow {
  std::int64_t runId = 0;
  double wallTime = 0;  // seconds since the run started
  LogLevel level = LogLevel::Info;
  std::string message;
};

struct ExampleFilter {
  std::vector<std::int64_t> runIds;
  std::string domain;                          // "" = all
  std::optional<bool> correct;                 // only correct / only wrong
  std::optional<double> minMargin, maxMargin;  // margin = chosen - rejected
  bool misroutedOnly = false;                  // routed_to != domain (routed runs only)
  std::string search;                          // substring of prompt/chosen/rejected
  enum class Sort { RunAndId, MarginAsc, MarginDesc } sort = Sort::RunAndId;
};

// Read access. Opening checks what the file is before anything is written: a missing file, a
// folder, a file that is not a RewardRouter run store, a store newer than this program or a
// damaged one is an InputError naming the file. Read-only (readOnly = true, what every reading
// command uses) never writes to the file: runs whose writer process is gone read as interrupted,
// and stores of older schema versions are read as they are. Read-write creates a missing store,
// migrates an older one and records dead writers' runs as interrupted.
class RunStore {
 public:
  static std::unique_ptr<RunStore> open(const std::string& path, bool readOnly = false);
  ~RunStore();

  const std::string& path() const { return m_path; }
  int schemaVersion() const;
  // The store's damage, found by SQLite's PRAGMA quick_check (every page and b-tree, not the
  // indexes' contents), as "PATH: damaged store (quick_check: FIRST PROBLEM)"; "" when none is
  // found. A store larger than `fullCheckBytes` is checked only as far as its schema and the
  // runs table (reading every page of a store of gigabytes takes seconds): the result then says
  // so with `partial`. Opening does not run it; a viewer that keeps a store open runs it once.
  std::string quickCheck(std::int64_t fullCheckBytes = std::int64_t{256} << 20,
                         bool* partial = nullptr) const;
  std::vector<RunInfo> listRuns() const;
  std::optional<RunInfo> run(std::int64_t id) const;
  std::vector<ResultRow> results(const std::vector<std::int64_t>& runIds) const;
  // The run's own metric rows (rank NULL); `lastRowId` gets the last row read of any rank.
  std::vector<MetricRow> metrics(std::int64_t runId, std::int64_t afterRowId = 0,
                                 std::int64_t* lastRowId = nullptr) const;
  // The per-rank rows of a distributed run (schema 6), in the order they were written; those
  // after row `afterRowId`, `lastRowId` getting the last one read (for a live view).
  std::vector<MetricRow> rankMetrics(std::int64_t runId, std::int64_t afterRowId = 0,
                                     std::int64_t* lastRowId = nullptr) const;
  std::vector<ComponentRow> components(const std::vector<std::int64_t>& runIds) const;
  std::vector<LogRow> logs(std::int64_t runId) const;
  std::int64_t countExamples(const ExampleFilter& f) const;
  std::vector<ExampleRow> examples(const ExampleFilter& f, std::int64_t offset,
                                   std::int64_t limit) const;
  std::optional<PreferencePair> pair(const std::string& id) const;
  // Per run and capability name found in the labels of its evaluated pairs, ordered by both.
  std::vector<CapabilityCount> capabilityCounts(const std::vector<std::int64_t>& runIds) const;
  // Every evaluated pair of the runs with the character lengths of its responses (-1 when the
  // pair's texts are not in the store), grouped by run, ordered by pair id.
  std::map<std::int64_t, std::vector<ScoredPair>> scoredPairs(
      const std::vector<std::int64_t>& runIds) const;
  // Evaluations of the runs (all runs when empty), by run then id; none in stores before 4.
  std::vector<EvaluationInfo> evaluations(const std::vector<std::int64_t>& runIds = {}) const;
  // The validation pairs of the runs as scored after training (schema 5; none in older stores
  // and for runs without validation pairs), grouped by run, ordered by pair id; lengths unknown.
  std::map<std::int64_t, std::vector<ScoredPair>> validationPairs(
      const std::vector<std::int64_t>& runIds) const;
  // The scored pairs of one evaluation, with lengths as scoredPairs, ordered by pair id.
  std::vector<ScoredPair> evaluationPairs(std::int64_t evaluationId) const;
  // Marks running/queued runs of dead writer processes on this host as interrupted; returns count.
  // Read-write stores only.
  int markInterrupted();

 private:
  RunStore(sqlite3* db, std::string path);
  sqlite3* m_db;
  std::string m_path;
};

// Write access for runs. Metrics are buffered and inserted in batched transactions; status
// changes, results and examples are written at once.
class RunWriter {
 public:
  // Opens or creates the store (and its missing parent folders). Refuses, with nothing written,
  // what RunStore::open refuses and a store that fails PRAGMA integrity_check.
  explicit RunWriter(const std::string& path);
  // Everything the constructor checks, without creating or writing anything: run it before
  // long work (tokenizer training, pre-training) whose results go to the store.
  static void checkWritable(const std::string& path);
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  // Every run gets a random UUID (returned through `uuid` when given).
  std::int64_t createRun(const std::string& experiment, const std::string& method,
                         const std::string& methodName, int seed, const std::string& configJson,
                         std::string* uuid = nullptr);
  void setStatus(std::int64_t runId, RunStatus status, const std::string& error = "");
  // Runs that ended unfinished (interrupted, failed, cancelled) are taken up again by this
  // process (`run --resume`): queued, their error cleared, their results, examples and component
  // rows removed (the resumed run writes them again); their metrics and logs are kept. All or
  // none, in one write transaction, so one process resumes a run at a time: InputError, with
  // nothing changed, when any of them is queued or running in a live process (another resume)
  // or finished meanwhile.
  void reopenRuns(const std::vector<std::int64_t>& runIds);
  // Deletes the metric rows of `component` in `runId` after `step` (a resumed run repeats them).
  void rewindMetrics(std::int64_t runId, const std::string& component, std::int64_t step);
  void setProgress(std::int64_t runId, std::int64_t step, std::int64_t total, double fraction);
  // The run trains over `worldSize` processes with `backend`; `hosts`: the ranks' hosts in rank
  // order, comma-separated.
  void setDistributed(std::int64_t runId, int worldSize, const std::string& backend,
                      const std::string& hosts);
  void addMetric(const MetricRow& m);
  void addLog(const LogRow& l);
  void addResults(const std::vector<ResultRow>& rows);
  void addExamples(const std::vector<ExampleRow>& rows);
  void addValidationExamples(const std::vector<ExampleRow>& rows);  // validation pairs' rewards
  void addComponent(const ComponentRow& c);
  void addPairs(const std::vector<PreferencePair>& pairs);  // texts, once per database
  // Stores an evaluation of `runId` with its pairs' texts and scored pairs in one transaction;
  // InputError when the run already has an evaluation of that name (nothing written).
  std::int64_t addEvaluation(std::int64_t runId, const std::string& name,
                             const std::string& source, const std::vector<PreferencePair>& pairs,
                             const std::vector<EvaluationExample>& rows);
  void flush();

 private:
  void exec(const std::string& sql);
  sqlite3* m_db = nullptr;
  std::vector<MetricRow> m_pending;
  std::vector<LogRow> m_pendingLogs;
  double m_lastFlush = 0;
};

}  // namespace rr::core
