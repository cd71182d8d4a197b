#include "store/runstore.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/errors.h"
#include "store/sqlite_p.h"

namespace rr::core {
namespace {

using sql::Stmt;

// Migration i takes the schema from version i to i + 1. Never edit a shipped migration: add one.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  experiment TEXT NOT NULL,
  method TEXT NOT NULL,
  method_name TEXT NOT NULL,
  seed INTEGER NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN
    ('queued','running','finished','failed','cancelled','interrupted')),
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  host TEXT,
  pid INTEGER,
  step INTEGER NOT NULL DEFAULT 0,
  total_steps INTEGER NOT NULL DEFAULT 0,
  progress REAL NOT NULL DEFAULT 0);
CREATE TABLE metrics(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  component TEXT NOT NULL,
  step INTEGER NOT NULL,
  wall_time REAL NOT NULL,
  key TEXT NOT NULL,
  value REAL NOT NULL);
CREATE INDEX metrics_by_run ON metrics(run_id, id);
CREATE TABLE results(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  domain TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY(run_id, domain, metric));
CREATE TABLE pairs(
  id TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  prompt TEXT NOT NULL,
  chosen TEXT NOT NULL,
  rejected TEXT NOT NULL,
  split TEXT NOT NULL,
  capabilities TEXT NOT NULL DEFAULT '{}');
CREATE TABLE examples(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  reward_chosen REAL NOT NULL,
  reward_rejected REAL NOT NULL,
  margin REAL NOT NULL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY(run_id, example_id));
CREATE INDEX examples_by_domain ON examples(run_id, domain, correct);
CREATE INDEX examples_by_margin ON examples(run_id, margin);
CREATE TABLE components(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  params_total INTEGER NOT NULL,
  params_trainable INTEGER NOT NULL,
  train_seconds REAL NOT NULL,
  PRIMARY KEY(run_id, name));
CREATE TABLE logs(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  wall_time REAL NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL);
)sql",
    // 2: each run's identity, also written into its saved model's manifest, so that a model
    // folder left by an earlier store's run of the same id is not served for a new one.
    "ALTER TABLE runs ADD COLUMN uuid TEXT;",
};

std::string nowIso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double monotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string hostName() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool processAlive(std::int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

sqlite3* openDb(const std::string& path, bool readOnly) {
  sqlite3* db = nullptr;
  const int flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw InputError(path + ": cannot open run store (" + msg + ")");
  }
  // Concurrent readers and one writer per run wait instead of failing on a lock.
  sqlite3_busy_timeout(db, 10000);
  return db;
}

int userVersion(sqlite3* db) {
  Stmt s(db, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

void migrate(sqlite3* db, const std::string& path) {
  sql::exec(db, "PRAGMA journal_mode=WAL");
  sql::exec(db, "PRAGMA synchronous=NORMAL");
  sql::exec(db, "PRAGMA foreign_keys=ON");
  sql::exec(db, "BEGIN IMMEDIATE");
  try {
    int v = userVersion(db);
    if (v > kStoreSchemaVersion)
      throw InputError(path + ": run store schema version " + std::to_string(v) +
                       " is newer than this program supports (" +
                       std::to_string(kStoreSchemaVersion) + ")");
    if (v == 0) {
      Stmt s(db, "SELECT count(*) FROM sqlite_master");
      s.step();
      if (s.i64(0) != 0) throw InputError(path + ": not a RewardRouter run store");
    }
    for (; v < kStoreSchemaVersion; ++v) {
      sql::exec(db, kMigrations[v]);
      sql::exec(db, "PRAGMA user_version=" + std::to_string(v + 1));
    }
    sql::exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

RunInfo readRun(const Stmt& s) {
  RunInfo r;
  r.id = s.i64(0);
  r.experiment = s.text(1);
  r.method = s.text(2);
  r.methodName = s.text(3);
  r.seed = static_cast<int>(s.i64(4));
  r.configJson = s.text(5);
  r.status = runStatusFromString(s.text(6));
  r.createdAt = s.text(7);
  r.startedAt = s.text(8);
  r.finishedAt = s.text(9);
  r.error = s.text(10);
  r.step = s.i64(11);
  r.totalSteps = s.i64(12);
  r.progress = s.f64(13);
  r.uuid = s.text(14);
  return r;
}

const char* kRunColumns =
    "id, experiment, method, method_name, seed, config, status, created_at, started_at, "
    "finished_at, error, step, total_steps, progress, uuid";

std::string idList(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s.empty() ? "NULL" : s;
}

// All-or-nothing: a failure inside `fn` rolls back everything it wrote.
template <class Fn>
void inTransaction(sqlite3* db, Fn&& fn) {
  sql::exec(db, "BEGIN IMMEDIATE");
  try {
    fn();
    sql::exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace

std::string toString(RunStatus s) {
  switch (s) {
    case RunStatus::Queued:
      return "queued";
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
    case RunStatus::Cancelled:
      return "cancelled";
    case RunStatus::Interrupted:
      return "interrupted";
  }
  return "failed";
}

RunStatus runStatusFromString(const std::string& s) {
  for (auto st : {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed,
                  RunStatus::Cancelled, RunStatus::Interrupted})
    if (toString(st) == s) return st;
  throw std::runtime_error("run store: unknown run status '" + s + "'");
}

// ---------------------------------------------------------------------------------- RunStore

RunStore::RunStore(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
RunStore::~RunStore() { sqlite3_close(m_db); }

std::unique_ptr<RunStore> RunStore::open(const std::string& path, bool readOnly) {
  sqlite3* db = openDb(path, readOnly);
  std::unique_ptr<RunStore> store(new RunStore(db, path));
  if (!readOnly) {
    migrate(db, path);
    store->markInterrupted();
  } else if (userVersion(db) != kStoreSchemaVersion) {
    throw InputError(path + ": run store has schema version " + std::to_string(userVersion(db)) +
                     "; open it once read-write to migrate");
  }
  return store;
}

int RunStore::schemaVersion() const { return userVersion(m_db); }

int RunStore::markInterrupted() {
  std::vector<std::int64_t> dead;
  {
    Stmt s(m_db, "SELECT id, pid FROM runs WHERE status IN ('running','queued') AND host = ?");
    s.bind(1, hostName());
    while (s.step())
      if (!processAlive(s.i64(1))) dead.push_back(s.i64(0));
  }
  if (dead.empty()) return 0;
  Stmt u(m_db,
         "UPDATE runs SET status='interrupted', finished_at=?, "
         "error=COALESCE(error, 'the process running it ended without finishing it') "
         "WHERE id=?");
  for (auto id : dead) {
    u.bind(1, nowIso()).bind(2, id);
    u.run();
  }
  return static_cast<int>(dead.size());
}

std::vector<RunInfo> RunStore::listRuns() const {
  Stmt s(m_db, std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id");
  std::vector<RunInfo> out;
  while (s.step()) out.push_back(readRun(s));
  return out;
}

std::optional<RunInfo> RunStore::run(std::int64_t id) const {
  Stmt s(m_db, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return readRun(s);
}

std::vector<ResultRow> RunStore::results(const std::vector<std::int64_t>& runIds) const {
  Stmt s(m_db, "SELECT run_id, domain, metric, value FROM results WHERE run_id IN (" +
                   idList(runIds) + ") ORDER BY run_id, domain, metric");
  std::vector<ResultRow> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2), s.f64(3)});
  return out;
}

std::vector<MetricRow> RunStore::metrics(std::int64_t runId, std::int64_t afterRowId,
                                         std::int64_t* lastRowId) const {
  Stmt s(m_db,
         "SELECT id, component, step, wall_time, key, value FROM metrics "
         "WHERE run_id=? AND id>? ORDER BY id");
  s.bind(1, runId).bind(2, afterRowId);
  std::vector<MetricRow> out;
  std::int64_t last = afterRowId;
  while (s.step()) {
    last = s.i64(0);
    out.push_back({runId, s.text(1), s.i64(2), s.f64(3), s.text(4), s.f64(5)});
  }
  if (lastRowId) *lastRowId = last;
  return out;
}

std::vector<ComponentRow> RunStore::components(const std::vector<std::int64_t>& runIds) const {
  Stmt s(m_db,
         "SELECT run_id, name, params_total, params_trainable, train_seconds FROM components "
         "WHERE run_id IN (" +
             idList(runIds) + ") ORDER BY run_id, rowid");
  std::vector<ComponentRow> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.i64(2), s.i64(3), s.f64(4)});
  return out;
}

std::vector<LogRow> RunStore::logs(std::int64_t runId) const {
  Stmt s(m_db, "SELECT run_id, wall_time, level, message FROM logs WHERE run_id=? ORDER BY id");
  s.bind(1, runId);
  std::vector<LogRow> out;
  while (s.step()) out.push_back({s.i64(0), s.f64(1), s.text(2), s.text(3)});
  return out;
}

namespace {

// Builds the WHERE clause of an example query; parameters are bound in order by bindFilter.
std::string filterSql(const ExampleFilter& f) {
  std::string w = "e.run_id IN (" + idList(f.runIds) + ")";
  if (!f.domain.empty()) w += " AND e.domain = ?";
  if (f.correct) w += *f.correct ? " AND e.correct = 1" : " AND e.correct = 0";
  if (f.minMargin) w += " AND e.margin >= ?";
  if (f.maxMargin) w += " AND e.margin <= ?";
  if (f.misroutedOnly) w += " AND e.routed_to <> '' AND e.routed_to <> e.domain";
  if (!f.search.empty())
    w += " AND e.example_id IN (SELECT id FROM pairs WHERE instr(prompt, ?) OR instr(chosen, ?) "
         "OR instr(rejected, ?))";
  return w;
}

void bindFilter(Stmt& s, const ExampleFilter& f, int& i) {
  if (!f.domain.empty()) s.bind(i++, f.domain);
  if (f.minMargin) s.bind(i++, *f.minMargin);
  if (f.maxMargin) s.bind(i++, *f.maxMargin);
  if (!f.search.empty())
    for (int k = 0; k < 3; ++k) s.bind(i++, f.search);
}

}  // namespace

std::int64_t RunStore::countExamples(const ExampleFilter& f) const {
  Stmt s(m_db, "SELECT count(*) FROM examples e WHERE " + filterSql(f));
  int i = 1;
  bindFilter(s, f, i);
  s.step();
  return s.i64(0);
}

std::vector<ExampleRow> RunStore::examples(const ExampleFilter& f, std::int64_t offset,
                                           std::int64_t limit) const {
  std::string order = "e.run_id, e.example_id";
  if (f.sort == ExampleFilter::Sort::MarginAsc) order = "e.margin ASC, e.run_id, e.example_id";
  if (f.sort == ExampleFilter::Sort::MarginDesc) order = "e.margin DESC, e.run_id, e.example_id";
  Stmt s(m_db,
         "SELECT e.run_id, e.example_id, e.domain, e.reward_chosen, e.reward_rejected, "
         "e.routed_to, e.correct, e.detail FROM examples e WHERE " +
             filterSql(f) + " ORDER BY " + order + " LIMIT ? OFFSET ?");
  int i = 1;
  bindFilter(s, f, i);
  s.bind(i, limit).bind(i + 1, offset);
  std::vector<ExampleRow> out;
  while (s.step())
    out.push_back(
        {s.i64(0), s.text(1), s.text(2), s.f64(3), s.f64(4), s.text(5), s.i64(6) != 0, s.text(7)});
  return out;
}

std::optional<PreferencePair> RunStore::pair(const std::string& id) const {
  Stmt s(m_db, "SELECT id, domain, prompt, chosen, rejected, split FROM pairs WHERE id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  PreferencePair p;
  p.id = s.text(0);
  p.domain = s.text(1);
  p.prompt = s.text(2);
  p.chosen = s.text(3);
  p.rejected = s.text(4);
  p.split = s.text(5);
  return p;
}

std::vector<CapabilityCount> RunStore::capabilityCounts(
    const std::vector<std::int64_t>& runIds) const {
  // One pass in SQLite: the examples table holds a whole test split per run.
  Stmt s(m_db,
         "SELECT e.run_id, c.key, sum(c.value <> 0), sum(c.value <> 0 AND e.correct) "
         "FROM examples e JOIN pairs p ON p.id = e.example_id, "
         "json_each(CASE WHEN json_valid(p.capabilities) THEN p.capabilities ELSE '{}' END) c "
         "WHERE e.run_id IN (" +
             idList(runIds) + ") GROUP BY e.run_id, c.key ORDER BY e.run_id, c.key");
  std::vector<CapabilityCount> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.i64(2), s.i64(3)});
  return out;
}

// --------------------------------------------------------------------------------- RunWriter

RunWriter::RunWriter(const std::string& path) {
  m_db = openDb(path, false);
  try {
    migrate(m_db, path);
  } catch (...) {
    sqlite3_close(m_db);
    throw;
  }
  m_lastFlush = monotonicSeconds();
}

RunWriter::~RunWriter() {
  try {
    flush();
  } catch (...) {
    // A destructor must not throw; what could not be written is lost with the connection.
  }
  sqlite3_close(m_db);
}

void RunWriter::exec(const std::string& s) { sql::exec(m_db, s); }

std::int64_t RunWriter::createRun(const std::string& experiment, const std::string& method,
                                  const std::string& methodName, int seed,
                                  const std::string& configJson, std::string* uuid) {
  const std::string id = newUuid();
  Stmt s(m_db,
         "INSERT INTO runs(experiment, method, method_name, seed, config, status, created_at, "
         "host, pid, uuid) VALUES(?,?,?,?,?,'queued',?,?,?,?)");
  s.bind(1, experiment).bind(2, method).bind(3, methodName).bind(4, seed).bind(5, configJson);
  s.bind(6, nowIso()).bind(7, hostName()).bind(8, static_cast<std::int64_t>(::getpid()));
  s.bind(9, id);
  if (uuid) *uuid = id;
  s.run();
  return sqlite3_last_insert_rowid(m_db);
}

void RunWriter::setStatus(std::int64_t runId, RunStatus status, const std::string& error) {
  flush();
  const std::string now = nowIso();
  if (status == RunStatus::Running) {
    Stmt s(m_db, "UPDATE runs SET status='running', started_at=? WHERE id=?");
    s.bind(1, now).bind(2, runId);
    s.run();
    return;
  }
  Stmt s(m_db, "UPDATE runs SET status=?, finished_at=?, error=? WHERE id=?");
  s.bind(1, toString(status)).bind(2, now);
  if (error.empty()) {
    s.bindNull(3);
  } else {
    s.bind(3, error);
  }
  s.bind(4, runId);
  s.run();
}

void RunWriter::setProgress(std::int64_t runId, std::int64_t step, std::int64_t total,
                            double fraction) {
  Stmt s(m_db, "UPDATE runs SET step=?, total_steps=?, progress=? WHERE id=?");
  s.bind(1, step).bind(2, total).bind(3, fraction).bind(4, runId);
  s.run();
}

void RunWriter::addMetric(const MetricRow& m) {
  m_pending.push_back(m);
  // Batched: one transaction per 512 rows or per half second, whichever comes first.
  if (m_pending.size() >= 512 || monotonicSeconds() - m_lastFlush > 0.5) flush();
}

void RunWriter::addLog(const LogRow& l) {
  m_pendingLogs.push_back(l);
  if (monotonicSeconds() - m_lastFlush > 0.5) flush();
}

void RunWriter::flush() {
  m_lastFlush = monotonicSeconds();
  if (m_pending.empty() && m_pendingLogs.empty()) return;
  inTransaction(m_db, [&] {
    Stmt s(m_db,
           "INSERT INTO metrics(run_id, component, step, wall_time, key, value) "
           "VALUES(?,?,?,?,?,?)");
    for (const auto& m : m_pending) {
      s.bind(1, m.runId).bind(2, m.component).bind(3, m.step).bind(4, m.wallTime);
      s.bind(5, m.key).bind(6, m.value);
      s.run();
    }
    Stmt l(m_db, "INSERT INTO logs(run_id, wall_time, level, message) VALUES(?,?,?,?)");
    for (const auto& r : m_pendingLogs) {
      l.bind(1, r.runId).bind(2, r.wallTime).bind(3, r.level).bind(4, r.message);
      l.run();
    }
  });
  m_pending.clear();
  m_pendingLogs.clear();
}

void RunWriter::addResults(const std::vector<ResultRow>& rows) {
  inTransaction(m_db, [&] {
    Stmt s(m_db, "INSERT OR REPLACE INTO results(run_id, domain, metric, value) VALUES(?,?,?,?)");
    for (const auto& r : rows) {
      s.bind(1, r.runId).bind(2, r.domain).bind(3, r.metric).bind(4, r.value);
      s.run();
    }
  });
}

void RunWriter::addExamples(const std::vector<ExampleRow>& rows) {
  inTransaction(m_db, [&] {
    Stmt s(m_db,
           "INSERT OR REPLACE INTO examples(run_id, example_id, domain, reward_chosen, "
           "reward_rejected, margin, routed_to, correct, detail) VALUES(?,?,?,?,?,?,?,?,?)");
    for (const auto& e : rows) {
      s.bind(1, e.runId).bind(2, e.exampleId).bind(3, e.domain).bind(4, e.rewardChosen);
      s.bind(5, e.rewardRejected).bind(6, e.rewardChosen - e.rewardRejected).bind(7, e.routedTo);
      s.bind(8, e.correct ? 1 : 0).bind(9, e.detailJson.empty() ? std::string("{}") : e.detailJson);
      s.run();
    }
  });
}

void RunWriter::addComponent(const ComponentRow& c) {
  Stmt s(m_db,
         "INSERT OR REPLACE INTO components(run_id, name, params_total, params_trainable, "
         "train_seconds) VALUES(?,?,?,?,?)");
  s.bind(1, c.runId).bind(2, c.name).bind(3, c.paramsTotal).bind(4, c.paramsTrainable);
  s.bind(5, c.trainSeconds);
  s.run();
}

void RunWriter::addPairs(const std::vector<PreferencePair>& pairs) {
  inTransaction(m_db, [&] {
    Stmt s(m_db,
           "INSERT OR IGNORE INTO pairs(id, domain, prompt, chosen, rejected, split, capabilities) "
           "VALUES(?,?,?,?,?,?,?)");
    for (const auto& p : pairs) {
      const std::string caps = nlohmann::json(p.capabilities).dump();
      s.bind(1, p.id).bind(2, p.domain).bind(3, p.prompt).bind(4, p.chosen).bind(5, p.rejected);
      s.bind(6, p.split).bind(7, caps);
      s.run();
    }
  });
}

}  // namespace rr::core
