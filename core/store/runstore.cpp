#include "store/runstore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/errors.h"
#include "store/sqlite_p.h"

namespace rr::core {
namespace {

namespace fs = std::filesystem;
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
    // Whole-run figures move out of `results`, where they shared the key with a domain named *.
    R"sql(
CREATE TABLE run_results(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY(run_id, metric));
INSERT INTO run_results(run_id, metric, value)
  SELECT run_id, metric, value FROM results WHERE domain = '*';
DELETE FROM results WHERE domain = '*';
)sql",
    // 3: each run's identity, also written into its saved model's manifest, so that a model
    // folder left by an earlier store's run of the same id is not served for a new one.
    "ALTER TABLE runs ADD COLUMN uuid TEXT;",
    // 4: runs evaluated on other pairs files (an imported benchmark), kept apart from the run's
    // own test pairs in `examples`; group_id is a pair's best-of-N group (RewardBench 2).
    R"sql(
CREATE TABLE evaluations(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE(run_id, name));
CREATE TABLE evaluation_examples(
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  group_id TEXT NOT NULL DEFAULT '',
  reward_chosen REAL NOT NULL,
  reward_rejected REAL NOT NULL,
  margin REAL NOT NULL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  PRIMARY KEY(evaluation_id, example_id));
)sql",
    // 5: the rewards of each run's validation pairs, scored after training like its test pairs
    // (`examples`); the report fits its calibration temperature on them.
    R"sql(
CREATE TABLE validation_examples(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  reward_chosen REAL NOT NULL,
  reward_rejected REAL NOT NULL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  PRIMARY KEY(run_id, example_id));
)sql",
    // 6: runs over several processes (docs/DISTRIBUTED.md): each rank's own figures (loss,
    // pairs/s) beside the run's, which keep rank NULL; the run's world size, c10d backend and
    // the hosts of its ranks. Runs of one process keep NULLs.
    R"sql(
ALTER TABLE metrics ADD COLUMN rank INTEGER;
ALTER TABLE runs ADD COLUMN world_size INTEGER;
ALTER TABLE runs ADD COLUMN dist_backend TEXT;
ALTER TABLE runs ADD COLUMN dist_hosts TEXT;
)sql",
    // 7: a NaN reward, metric or result (a diverged model, NaN weights in a published folder)
    // is stored as NULL. SQLite binds a NaN as NULL, which the NOT NULL columns refused, so such a
    // run failed at its end with everything lost. SQLite cannot drop a NOT NULL constraint in
    // place: each table is rebuilt with the same columns and indexes (sqlite.org/lang_altertable,
    // "Making Other Kinds Of Table Schema Changes").
    R"sql(
CREATE TABLE metrics_7(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  component TEXT NOT NULL,
  step INTEGER NOT NULL,
  wall_time REAL NOT NULL,
  key TEXT NOT NULL,
  value REAL,
  rank INTEGER);
INSERT INTO metrics_7 SELECT id, run_id, component, step, wall_time, key, value, rank FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_7 RENAME TO metrics;
CREATE INDEX metrics_by_run ON metrics(run_id, id);
CREATE TABLE examples_7(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  reward_chosen REAL,
  reward_rejected REAL,
  margin REAL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY(run_id, example_id));
INSERT INTO examples_7 SELECT run_id, example_id, domain, reward_chosen, reward_rejected, margin,
  routed_to, correct, detail FROM examples;
DROP TABLE examples;
ALTER TABLE examples_7 RENAME TO examples;
CREATE INDEX examples_by_domain ON examples(run_id, domain, correct);
CREATE INDEX examples_by_margin ON examples(run_id, margin);
CREATE TABLE validation_examples_7(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  reward_chosen REAL,
  reward_rejected REAL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  PRIMARY KEY(run_id, example_id));
INSERT INTO validation_examples_7 SELECT run_id, example_id, domain, reward_chosen,
  reward_rejected, routed_to, correct FROM validation_examples;
DROP TABLE validation_examples;
ALTER TABLE validation_examples_7 RENAME TO validation_examples;
CREATE TABLE evaluation_examples_7(
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  example_id TEXT NOT NULL,
  domain TEXT NOT NULL,
  group_id TEXT NOT NULL DEFAULT '',
  reward_chosen REAL,
  reward_rejected REAL,
  margin REAL,
  routed_to TEXT NOT NULL DEFAULT '',
  correct INTEGER NOT NULL,
  PRIMARY KEY(evaluation_id, example_id));
INSERT INTO evaluation_examples_7 SELECT evaluation_id, example_id, domain, group_id,
  reward_chosen, reward_rejected, margin, routed_to, correct FROM evaluation_examples;
DROP TABLE evaluation_examples;
ALTER TABLE evaluation_examples_7 RENAME TO evaluation_examples;
CREATE TABLE results_7(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  domain TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL,
  PRIMARY KEY(run_id, domain, metric));
INSERT INTO results_7 SELECT run_id, domain, metric, value FROM results;
DROP TABLE results;
ALTER TABLE results_7 RENAME TO results;
CREATE TABLE run_results_7(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  metric TEXT NOT NULL,
  value REAL,
  PRIMARY KEY(run_id, metric));
INSERT INTO run_results_7 SELECT run_id, metric, value FROM run_results;
DROP TABLE run_results;
ALTER TABLE run_results_7 RENAME TO run_results;
)sql",
};

// Tables each schema version has; a file without them is not a run store.
const char* const kTablesV1[] = {"runs",     "metrics",    "results", "pairs",
                                 "examples", "components", "logs"};

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

int userVersion(sqlite3* db) {
  Stmt s(db, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

std::uint32_t applicationId(sqlite3* db) {
  Stmt s(db, "PRAGMA application_id");
  s.step();
  return static_cast<std::uint32_t>(s.i64(0));
}

// Closes the connection unless released.
struct Conn {
  explicit Conn(sqlite3* d) : db(d) {}
  ~Conn() { sqlite3_close(db); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  sqlite3* release() { return std::exchange(db, nullptr); }
  sqlite3* db;
};

// A file: URI for `path` (SQLite's URI syntax percent-encodes '%', '?' and '#'; everything but
// unreserved characters and '/' is encoded here).
std::string fileUri(const std::string& path) {
  std::string u = "file:";
  for (unsigned char c : fs::absolute(path).string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      u += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      u += hex;
    }
  }
  return u;
}

// How a connection reads the file besides SQLite's defaults.
enum class Mode {
  Normal,
  // The file as one that nothing changes: no lock, no write-ahead log, no -wal or -shm file
  // created.
  Immutable,
  // The write-ahead log read through an index SQLite builds in memory instead of in PATH-shm,
  // which is opened read-only (sqlite.org/walformat.html, "Read-only -shm files"): for a store
  // whose -shm cannot be written, as on a full disk, where the first connection's rebuild of
  // the index fails with an I/O error.
  ReadonlyShm,
};

sqlite3* connect(const std::string& path, int flags, Mode mode = Mode::Normal) {
  sqlite3* db = nullptr;
  std::string name = path;
  if (mode != Mode::Normal) {
    name = fileUri(path) + (mode == Mode::Immutable ? "?immutable=1" : "?readonly_shm=1");
    flags |= SQLITE_OPEN_URI;
  }
  if (sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw InputError(path + ": cannot open run store (" + msg + ")");
  }
  // Concurrent readers and one writer per run wait instead of failing on a lock.
  sqlite3_busy_timeout(db, 10000);
  return db;
}

InputError notAStore(const std::string& path, const std::string& why) {
  return InputError(path + ": not a RewardRouter run store (" + why + ")");
}

InputError newerStore(const std::string& path, std::int64_t version) {
  return InputError(path + ": run store schema version " + std::to_string(version) +
                    " is newer than this program supports (" + std::to_string(kStoreSchemaVersion) +
                    "); nothing was changed");
}

std::uint32_t bigEndian32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// The first read of a connection, with the reasons it can fail spelled out.
void checkReadable(sqlite3* db, const std::string& path) {
  if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
      SQLITE_OK)
    return;
  if (sql::isDamaged(db)) throw InputError(sql::damagedMessage(db));
  const std::string why = sqlite3_errmsg(db);
  // A store in WAL mode is read through PATH-shm, which SQLite creates when it is missing.
  if (fs::exists(path + "-wal") && !fs::exists(path + "-shm"))
    throw InputError(path + ": cannot read the store's write-ahead log (" + why + "): " + path +
                     "-shm is missing and cannot be created here; copy the store together with " +
                     path + "-wal to a folder you can write");
  throw InputError(path + ": cannot read the run store (" + why + ")");
}

// A read-only connection for a store whose ordinary one failed on the medium (a full disk: the
// first connection rebuilds PATH-shm, which needs room), or nullptr. With an empty or no
// write-ahead log the file alone is the whole store and is read immutable; otherwise the log is
// read through an index kept in memory (Mode::ReadonlyShm).
sqlite3* mediumFallback(sqlite3* failed, const std::string& path) {
  if (!sql::isMediumError(failed)) return nullptr;
  std::error_code ec;
  const auto walBytes = fs::file_size(path + "-wal", ec);
  const Mode mode = ec || walBytes == 0 ? Mode::Immutable : Mode::ReadonlyShm;
  if (mode == Mode::ReadonlyShm && !fs::exists(path + "-shm")) return nullptr;
  Conn c{connect(path, SQLITE_OPEN_READONLY, mode)};
  if (sqlite3_exec(c.db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) !=
      SQLITE_OK)
    return nullptr;
  return c.release();
}

// The database header (sqlite.org/fileformat.html, section 1.3), which answers the first
// questions about a file without SQLite reading it as a database (that could write to it: a hot
// journal's rollback). It is read through SQLite's own file handle, never through a descriptor
// of our own: POSIX drops every fcntl lock a process holds on a file when any descriptor of that
// file is closed, so reading the header with an ifstream beside an open connection (the GUI's)
// dropped that connection's locks, and a CLI run ending in another process then took itself for
// the last user and deleted the write-ahead log under it (sqlite.org/howtocorrupt.html, 2.2).
// SQLite's unix VFS keeps a descriptor open until no connection of the process holds a lock.
// Returns the number of bytes read (fewer than 100 for a short file).
int readHeader(const std::string& path, unsigned char (&header)[100]) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  Conn c{raw};
  sqlite3_file* file = nullptr;
  if (rc != SQLITE_OK ||
      sqlite3_file_control(c.db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr)
    throw InputError(path + ": cannot read (" + (raw ? sqlite3_errmsg(raw) : "out of memory") +
                     ")");
  sqlite3_int64 size = 0;
  if (file->pMethods->xFileSize(file, &size) != SQLITE_OK) size = 0;
  const int n = static_cast<int>(std::min<sqlite3_int64>(size, sizeof header));
  if (n > 0 && file->pMethods->xRead(file, header, n, 0) != SQLITE_OK)
    throw InputError(path + ": cannot read the database header");
  return n;
}

// What is at a store's path, found without writing anything: throws for what is not a store
// (for a reader, also for nothing at all); true when there is nothing yet (a missing or 0-byte
// file, an SQLite database with nothing in it), which a writer makes a store of.
bool identify(const std::string& path, bool forWriting) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    // A store is never created through a link: SQLite would make it wherever the link points.
    if (fs::is_symlink(fs::symlink_status(path, ec)))
      throw InputError(path + ": a symbolic link to " + fs::read_symlink(path, ec).string() +
                       ", which does not exist; a store is not created through a link (create "
                       "it there, or remove the link)");
    if (!forWriting) throw InputError(path + ": no such run store");
    return true;
  }
  if (fs::is_directory(st)) throw InputError(path + ": is a folder, not a run store");
  if (!fs::is_regular_file(st)) throw notAStore(path, "not a regular file");
  // A symbolic link to a store is followed on purpose: SQLite resolves it and keeps the -wal and
  // -shm files beside the store itself. A second hard link is another name SQLite cannot see
  // through: each name would get a write-ahead log of its own, and a store written under two
  // names is corrupted (sqlite.org/howtocorrupt.html, 2.5). A planted link to a file outside is
  // refused the same way, before anything is read or written.
  if (const auto links = fs::hard_link_count(path, ec); !ec && links > 1)
    throw InputError(path + ": the file has " + std::to_string(links) +
                     " hard links; SQLite keeps a write-ahead log per name, so a store reached "
                     "under two names can be corrupted: keep one name (remove the other links)");
  if (fs::file_size(path, ec) == 0 && !ec) {
    if (!forWriting) throw notAStore(path, "an empty file");
    return true;
  }
  unsigned char header[100] = {0};
  if (readHeader(path, header) < static_cast<int>(sizeof header) ||
      std::memcmp(header, "SQLite format 3", 16) != 0)
    throw notAStore(path, "not an SQLite database");
  const std::uint32_t headerAppId = bigEndian32(header + 68);
  const std::uint32_t headerVersion = bigEndian32(header + 60);
  if (headerAppId != 0 && headerAppId != kStoreApplicationId) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", headerAppId);
    throw notAStore(path, std::string("SQLite application_id ") + hex);
  }
  if (headerVersion > static_cast<std::uint32_t>(kStoreSchemaVersion))
    throw newerStore(path, headerVersion);

  // The header lags behind a write-ahead log that is not checkpointed yet, so SQLite reads the
  // rest. Without a -wal file the database file is complete: it is read immutable, which
  // creates no -wal/-shm file beside a file that may not be ours.
  Conn c{connect(path, SQLITE_OPEN_READONLY,
                 fs::exists(path + "-wal") ? Mode::Normal : Mode::Immutable)};
  if (sqlite3_exec(c.db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) !=
      SQLITE_OK)
    if (sqlite3* fallback = mediumFallback(c.db, path)) sqlite3_close(std::exchange(c.db, fallback));
  checkReadable(c.db, path);
  const int version = userVersion(c.db);
  const std::uint32_t appId = applicationId(c.db);
  if (appId != 0 && appId != kStoreApplicationId) throw notAStore(path, "SQLite application_id");
  if (version > kStoreSchemaVersion) throw newerStore(path, version);
  std::set<std::string> tables;
  {
    Stmt s(c.db, "SELECT name FROM sqlite_master WHERE type = 'table'");
    while (s.step()) tables.insert(s.text(0));
  }
  if (version == 0) {
    Stmt s(c.db, "SELECT count(*) FROM sqlite_master");
    s.step();
    if (s.i64(0) != 0) throw notAStore(path, "an SQLite database of another program");
    if (!forWriting) throw notAStore(path, "an empty SQLite database");
    return true;
  }
  std::vector<std::string> needed(std::begin(kTablesV1), std::end(kTablesV1));
  if (version >= 2) needed.push_back("run_results");
  if (version >= 4) {
    needed.push_back("evaluations");
    needed.push_back("evaluation_examples");
  }
  if (version >= 5) needed.push_back("validation_examples");
  for (const auto& t : needed)
    if (!tables.count(t)) throw notAStore(path, "no table '" + t + "'");
  return false;
}

// A connection that only reads. A store in WAL mode is read through its -shm file, which SQLite
// creates beside the store when missing (the store's bytes do not change). Where it cannot be
// created (read-only media, a folder of another user) and there is no -wal file either, no
// writer is at work, and the store is read immutable.
sqlite3* openForReading(const std::string& path) {
  identify(path, false);
  {
    Conn c{connect(path, SQLITE_OPEN_READONLY)};
    if (sqlite3_exec(c.db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
        SQLITE_OK)
      return c.release();
    if (sqlite3* fallback = mediumFallback(c.db, path)) return fallback;
    if (fs::exists(path + "-wal") || sql::isDamaged(c.db)) checkReadable(c.db, path);
  }
  Conn ro{connect(path, SQLITE_OPEN_READONLY, Mode::Immutable)};
  checkReadable(ro.db, path);
  return ro.release();
}

// The nearest folder of `path` that exists: where a new store's file and folders are created.
fs::path existingAncestor(const std::string& path) {
  fs::path p = fs::absolute(path).parent_path();
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
  return p;
}

void checkCanCreate(const std::string& path) {
  const fs::path dir = existingAncestor(path);
  if (!fs::is_directory(dir))
    throw InputError(path + ": cannot create the run store (" + dir.string() + " is not a folder)");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(path + ": cannot create the run store in " + dir.string() + " (" +
                     std::strerror(errno) + ")");
}

// The first problem PRAGMA integrity_check finds; throws for a damaged store.
void checkIntegrity(sqlite3* db, const std::string& path) {
  std::string first;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    first = t ? t : "";
  } else {
    first = sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  if (first != "ok")
    throw InputError(path + ": damaged store (integrity_check: " + sql::firstProblem(first) +
                     "); it takes no new runs");
}

// Checks that an existing store can be written here (file, folder and medium).
void checkWritableConnection(sqlite3* db, const std::string& path) {
  if (sqlite3_db_readonly(db, "main") == 1)
    throw InputError(path + ": cannot write the run store (read-only file or medium)");
  // WAL mode creates PATH-wal and PATH-shm beside the store.
  const fs::path dir = fs::absolute(path).parent_path();
  if (!fs::exists(path + "-wal") && ::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(path + ": cannot write the run store: its folder " + dir.string() +
                     " is not writable (" + std::strerror(errno) +
                     "), and SQLite's write-ahead log goes beside the store");
}

// Takes the schema to the current version in one transaction.
void migrateSchema(sqlite3* db, const std::string& path) {
  sql::exec(db, "PRAGMA foreign_keys=ON");
  sql::exec(db, "BEGIN IMMEDIATE");
  try {
    // Checked again inside the write lock: another process may have migrated meanwhile.
    int v = userVersion(db);
    if (v > kStoreSchemaVersion) throw newerStore(path, v);
    if (v == 0) {
      Stmt s(db, "SELECT count(*) FROM sqlite_master");
      s.step();
      if (s.i64(0) != 0) throw notAStore(path, "an SQLite database of another program");
    }
    for (; v < kStoreSchemaVersion; ++v) {
      sql::exec(db, kMigrations[v]);
      sql::exec(db, "PRAGMA user_version=" + std::to_string(v + 1));
    }
    if (applicationId(db) == 0)
      sql::exec(db, "PRAGMA application_id=" + std::to_string(kStoreApplicationId));
    sql::exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void migrate(sqlite3* db, const std::string& path) {
  sql::exec(db, "PRAGMA journal_mode=WAL");
  sql::exec(db, "PRAGMA synchronous=NORMAL");
  migrateSchema(db, path);
}

void removeDatabaseFiles(const std::string& file) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file + suffix, ec);
}

// Makes a whole store in the new file `tmp`. The schema is written in SQLite's rollback-journal
// mode, where a failure at any point (a full disk) is rolled back inside the file and the
// finished file is complete by itself; only then is it switched to WAL (a change of its header).
// Made in WAL mode, a full disk left the schema in TMP-wal, whose merge into the file failed when
// the connection closed, and the file linked into place was an empty database beside an
// orphaned log.
void buildStore(const std::string& tmp, const std::string& path) {
  Conn c{connect(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)};
  sql::exec(c.db, "PRAGMA journal_mode=DELETE");
  sql::exec(c.db, "PRAGMA synchronous=FULL");
  migrateSchema(c.db, path);
  sql::exec(c.db, "PRAGMA journal_mode=WAL");
  if (sqlite3_close(c.release()) != SQLITE_OK || fs::exists(tmp + "-wal") ||
      fs::exists(tmp + "-journal"))
    throw InputError(path + ": cannot create the run store (" + tmp +
                     " could not be closed whole; a full disk?)");
}

// A new store is made under a temporary name and moved into place whole: a reader never finds
// a half-made store, a failure leaves nothing behind, and of two processes creating it at once,
// the second uses the first's.
void createStore(const std::string& path) {
  checkCanCreate(path);
  const fs::path dir = fs::absolute(path).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw InputError(path + ": cannot create the folder " + dir.string() + " (" + ec.message() +
                     ")");
  const std::string tmp = path + ".new-" + std::to_string(::getpid());
  removeDatabaseFiles(tmp);  // left by a killed process that had this pid
  try {
    buildStore(tmp, path);
  } catch (const InputError& e) {
    removeDatabaseFiles(tmp);
    // The message names the store the user asked for, not its temporary file.
    std::string msg = e.what();
    if (msg.rfind(tmp, 0) == 0) msg = path + msg.substr(tmp.size());
    throw InputError(msg);
  } catch (...) {
    removeDatabaseFiles(tmp);
    throw;
  }
  // Renamed into place unless something is there already (RENAME_NOREPLACE): never a second
  // name for the store, which readers would refuse. File systems without it get a hard link,
  // removed again at once.
  int placed = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0
                   ? 0
                   : errno;
  if (placed == EINVAL || placed == ENOSYS)
    placed = ::link(tmp.c_str(), path.c_str()) == 0 ? 0 : errno;
  if (placed != 0 && placed != EEXIST && !fs::exists(path, ec)) {
    fs::rename(tmp, path, ec);
    if (ec) {
      removeDatabaseFiles(tmp);
      throw InputError(path + ": cannot create the run store (" + ec.message() + ")");
    }
  }
  removeDatabaseFiles(tmp);
}

// A read-write connection to a store that is checked, migrated and whole. Nothing is written
// before the file is known to be a store (or nothing at all).
sqlite3* openForWriting(const std::string& path) {
  const bool blank = identify(path, true);
  if (!fs::exists(path)) createStore(path);
  Conn c{connect(path, SQLITE_OPEN_READWRITE)};
  checkWritableConnection(c.db, path);
  if (!blank) checkIntegrity(c.db, path);
  migrate(c.db, path);
  return c.release();
}

// Runs of `host` whose writer process is gone.
bool writerGone(const std::string& status, const std::string& host, std::int64_t pid) {
  return (status == "running" || status == "queued") && host == hostName() && !processAlive(pid);
}

const char* const kInterruptedError = "the process running it ended without finishing it";

int markDeadRunsInterrupted(sqlite3* db) {
  std::vector<std::int64_t> dead;
  {
    Stmt s(db, "SELECT id, status, host, pid FROM runs WHERE status IN ('running','queued')");
    while (s.step())
      if (writerGone(s.text(1), s.text(2), s.i64(3))) dead.push_back(s.i64(0));
  }
  if (dead.empty()) return 0;
  Stmt u(db,
         "UPDATE runs SET status='interrupted', finished_at=?, error=COALESCE(error, ?) "
         "WHERE id=?");
  for (auto id : dead) {
    u.bind(1, nowIso()).bind(2, std::string(kInterruptedError)).bind(3, id);
    u.run();
  }
  return static_cast<int>(dead.size());
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
  // A read-only connection cannot record it, so it is reported as the next writer will record it.
  if (writerGone(s.text(6), s.text(14), s.i64(15))) {
    r.status = RunStatus::Interrupted;
    if (r.error.empty()) r.error = kInterruptedError;
  }
  if (s.columns() > 16) r.uuid = s.text(16);
  if (s.columns() > 19) {
    r.worldSize = s.i64(17) > 0 ? static_cast<int>(s.i64(17)) : 1;
    r.distBackend = s.text(18);
    r.distHosts = s.text(19);
  }
  return r;
}

const char* kRunColumns =
    "id, experiment, method, method_name, seed, config, status, created_at, started_at, "
    "finished_at, error, step, total_steps, progress, host, pid";

// The run columns a store of this connection's schema has (uuid came with version 3; a read-only
// connection reads older stores as they are).
std::string runColumns(sqlite3* db) {
  const int v = userVersion(db);
  return std::string(kRunColumns) + (v >= 3 ? ", uuid" : "") +
         (v >= 6 ? ", world_size, dist_backend, dist_hosts" : "");
}

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

std::string toString(LogLevel level) {
  switch (level) {
    case LogLevel::Info:
      return "info";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Error:
      return "error";
  }
  return "error";
}

LogLevel logLevelFromString(const std::string& s) {
  for (auto lv : {LogLevel::Info, LogLevel::Warning, LogLevel::Error})
    if (toString(lv) == s) return lv;
  throw std::runtime_error("run store: unknown log level '" + s + "'");
}

// ---------------------------------------------------------------------------------- RunStore

void checkDomainName(const std::string& domain, const std::string& where) {
  if (domain == kWholeRun)
    throw InputError(where + ": domain '" + domain +
                     "' is reserved (the run store's name for results of a whole run); rename "
                     "the domain");
}

RunStore::RunStore(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
RunStore::~RunStore() { sqlite3_close(m_db); }

std::unique_ptr<RunStore> RunStore::open(const std::string& path, bool readOnly) {
  std::unique_ptr<RunStore> store(
      new RunStore(readOnly ? openForReading(path) : openForWriting(path), path));
  if (!readOnly) store->markInterrupted();
  return store;
}

int RunStore::schemaVersion() const { return userVersion(m_db); }

std::string RunStore::quickCheck(std::int64_t fullCheckBytes, bool* partial) const {
  std::error_code ec;
  const auto bytes = fs::file_size(m_path, ec);
  const bool whole = ec || static_cast<std::int64_t>(bytes) <= fullCheckBytes;
  if (partial) *partial = !whole;
  std::string first;
  try {
    if (whole) {
      Stmt s(m_db, "PRAGMA quick_check(1)");
      if (s.step()) first = s.text(0);
    } else {
      // The schema (page 1 and sqlite_master) and the runs table, page by page.
      Stmt s(m_db, "SELECT count(*), sum(length(config)) FROM runs");
      s.step();
      first = "ok";
    }
  } catch (const InputError& e) {
    return e.what();
  }
  if (first == "ok") return "";
  return m_path + ": damaged store (quick_check: " + sql::firstProblem(first) + ")";
}

int RunStore::markInterrupted() { return markDeadRunsInterrupted(m_db); }

std::vector<RunInfo> RunStore::listRuns() const {
  Stmt s(m_db, "SELECT " + runColumns(m_db) + " FROM runs ORDER BY id");
  std::vector<RunInfo> out;
  while (s.step()) out.push_back(readRun(s));
  return out;
}

std::optional<RunInfo> RunStore::run(std::int64_t id) const {
  Stmt s(m_db, "SELECT " + runColumns(m_db) + " FROM runs WHERE id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return readRun(s);
}

std::vector<ResultRow> RunStore::results(const std::vector<std::int64_t>& runIds) const {
  // Asked each time: a writer may migrate the store while this connection reads it.
  const std::string ids = idList(runIds);
  const std::string wholeRun =
      userVersion(m_db) >= 2
          ? " UNION ALL SELECT run_id, '*', metric, value FROM run_results WHERE run_id IN (" +
                ids + ")"
          : std::string();
  Stmt s(m_db, "SELECT run_id, domain, metric, value FROM results WHERE run_id IN (" + ids + ")" +
                   wholeRun + " ORDER BY 1, 2, 3");
  std::vector<ResultRow> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2), s.real(3)});
  return out;
}

std::vector<MetricRow> RunStore::metrics(std::int64_t runId, std::int64_t afterRowId,
                                         std::int64_t* lastRowId) const {
  // Per-rank rows (schema 6) are read by rankMetrics; lastRowId still passes over them.
  const bool ranked = userVersion(m_db) >= 6;
  Stmt s(m_db, std::string("SELECT id, component, step, wall_time, key, value") +
                   (ranked ? ", rank" : ", NULL") +
                   " FROM metrics WHERE run_id=? AND id>? ORDER BY id");
  s.bind(1, runId).bind(2, afterRowId);
  std::vector<MetricRow> out;
  std::int64_t last = afterRowId;
  while (s.step()) {
    last = s.i64(0);
    if (!s.isNull(6)) continue;
    out.push_back({runId, s.text(1), s.i64(2), s.f64(3), s.text(4), s.real(5)});
  }
  if (lastRowId) *lastRowId = last;
  return out;
}

std::vector<MetricRow> RunStore::rankMetrics(std::int64_t runId, std::int64_t afterRowId,
                                             std::int64_t* lastRowId) const {
  std::vector<MetricRow> out;
  if (lastRowId) *lastRowId = afterRowId;
  if (userVersion(m_db) < 6) return out;
  Stmt s(m_db,
         "SELECT component, step, wall_time, key, value, rank, id FROM metrics "
         "WHERE run_id=? AND rank IS NOT NULL AND id>? ORDER BY id");
  s.bind(1, runId).bind(2, afterRowId);
  while (s.step()) {
    MetricRow m{runId, s.text(0), s.i64(1), s.f64(2), s.text(3), s.real(4)};
    m.rank = static_cast<int>(s.i64(5));
    if (lastRowId) *lastRowId = s.i64(6);
    out.push_back(std::move(m));
  }
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
  while (s.step()) out.push_back({s.i64(0), s.f64(1), logLevelFromString(s.text(2)), s.text(3)});
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
        {s.i64(0), s.text(1), s.text(2), s.real(3), s.real(4), s.text(5), s.i64(6) != 0, s.text(7)});
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

std::map<std::int64_t, std::vector<ScoredPair>> RunStore::scoredPairs(
    const std::vector<std::int64_t>& runIds) const {
  // SQLite's length() of TEXT counts characters (code points), not bytes.
  Stmt s(m_db,
         "SELECT e.run_id, e.example_id, e.domain, e.reward_chosen, e.reward_rejected, e.correct, "
         "coalesce(length(p.chosen), -1), coalesce(length(p.rejected), -1) "
         "FROM examples e LEFT JOIN pairs p ON p.id = e.example_id WHERE e.run_id IN (" +
             idList(runIds) + ") ORDER BY e.run_id, e.example_id");
  std::map<std::int64_t, std::vector<ScoredPair>> out;
  while (s.step()) {
    ScoredPair p;
    p.id = s.text(1);
    p.domain = s.text(2);
    p.rewardChosen = s.real(3);
    p.rewardRejected = s.real(4);
    p.correct = s.i64(5) != 0;
    p.chosenLength = s.i64(6);
    p.rejectedLength = s.i64(7);
    out[s.i64(0)].push_back(std::move(p));
  }
  return out;
}

std::vector<EvaluationInfo> RunStore::evaluations(const std::vector<std::int64_t>& runIds) const {
  std::vector<EvaluationInfo> out;
  if (userVersion(m_db) < 4) return out;
  Stmt s(m_db,
         "SELECT v.id, v.run_id, v.name, v.source, v.created_at, "
         "(SELECT count(*) FROM evaluation_examples x WHERE x.evaluation_id = v.id) "
         "FROM evaluations v" +
             (runIds.empty() ? std::string() : " WHERE v.run_id IN (" + idList(runIds) + ")") +
             " ORDER BY v.run_id, v.id");
  while (s.step()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.text(3), s.text(4), s.i64(5)});
  return out;
}

std::map<std::int64_t, std::vector<ScoredPair>> RunStore::validationPairs(
    const std::vector<std::int64_t>& runIds) const {
  std::map<std::int64_t, std::vector<ScoredPair>> out;
  if (userVersion(m_db) < 5) return out;
  Stmt s(m_db,
         "SELECT run_id, example_id, domain, reward_chosen, reward_rejected, correct "
         "FROM validation_examples WHERE run_id IN (" +
             idList(runIds) + ") ORDER BY run_id, example_id");
  while (s.step()) {
    ScoredPair p;
    p.id = s.text(1);
    p.domain = s.text(2);
    p.rewardChosen = s.real(3);
    p.rewardRejected = s.real(4);
    p.correct = s.i64(5) != 0;
    out[s.i64(0)].push_back(std::move(p));
  }
  return out;
}

std::vector<ScoredPair> RunStore::evaluationPairs(std::int64_t evaluationId) const {
  std::vector<ScoredPair> out;
  if (userVersion(m_db) < 4) return out;
  Stmt s(m_db,
         "SELECT x.example_id, x.domain, x.reward_chosen, x.reward_rejected, x.correct, "
         "coalesce(length(p.chosen), -1), coalesce(length(p.rejected), -1), x.group_id "
         "FROM evaluation_examples x LEFT JOIN pairs p ON p.id = x.example_id "
         "WHERE x.evaluation_id = ? ORDER BY x.example_id");
  s.bind(1, evaluationId);
  while (s.step()) {
    ScoredPair p;
    p.id = s.text(0);
    p.domain = s.text(1);
    p.rewardChosen = s.real(2);
    p.rewardRejected = s.real(3);
    p.correct = s.i64(4) != 0;
    p.chosenLength = s.i64(5);
    p.rejectedLength = s.i64(6);
    p.group = s.text(7);
    out.push_back(std::move(p));
  }
  return out;
}

// --------------------------------------------------------------------------------- RunWriter

RunWriter::RunWriter(const std::string& path) {
  m_db = openForWriting(path);
  try {
    markDeadRunsInterrupted(m_db);
  } catch (...) {
    sqlite3_close(m_db);
    throw;
  }
  m_lastFlush = monotonicSeconds();
}

void RunWriter::checkWritable(const std::string& path) {
  const bool blank = identify(path, true);
  if (!fs::exists(path)) return checkCanCreate(path);
  Conn c{connect(path, SQLITE_OPEN_READWRITE)};
  checkWritableConnection(c.db, path);
  if (!blank) checkIntegrity(c.db, path);
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

void RunWriter::reopenRuns(const std::vector<std::int64_t>& runIds) {
  flush();
  // BEGIN IMMEDIATE takes the store's write lock before the statuses are read: of two processes
  // resuming the same runs at once, the second reads what the first wrote.
  inTransaction(m_db, [&] {
    for (auto runId : runIds) {
      Stmt q(m_db, "SELECT status, host, pid FROM runs WHERE id=?");
      q.bind(1, runId);
      if (!q.step()) throw InputError("--resume: the store has no run " + std::to_string(runId));
      const std::string status = q.text(0), host = q.text(1);
      const std::int64_t pid = q.i64(2);
      const std::string run = "--resume: run " + std::to_string(runId);
      if (status == "finished")
        throw InputError(run + " was finished meanwhile by another process (pid " +
                         std::to_string(pid) + " on " + host + "); nothing was changed");
      if ((status == "running" || status == "queued") && !writerGone(status, host, pid))
        throw InputError(run + " is " + status + " in another process (pid " +
                         std::to_string(pid) + " on " + host +
                         "): one process resumes a run at a time; nothing was changed");
      Stmt u(m_db,
             "UPDATE runs SET status='queued', error=NULL, finished_at=NULL, host=?, pid=? "
             "WHERE id=?");
      u.bind(1, hostName()).bind(2, static_cast<std::int64_t>(::getpid())).bind(3, runId);
      u.run();
      for (const char* table :
           {"results", "run_results", "examples", "validation_examples", "components"}) {
        Stmt d(m_db, std::string("DELETE FROM ") + table + " WHERE run_id=?");
        d.bind(1, runId);
        d.run();
      }
    }
  });
}

void RunWriter::rewindMetrics(std::int64_t runId, const std::string& component,
                              std::int64_t step) {
  flush();
  Stmt d(m_db, "DELETE FROM metrics WHERE run_id=? AND component=? AND step>?");
  d.bind(1, runId).bind(2, component).bind(3, step);
  d.run();
}

void RunWriter::setProgress(std::int64_t runId, std::int64_t step, std::int64_t total,
                            double fraction) {
  Stmt s(m_db, "UPDATE runs SET step=?, total_steps=?, progress=? WHERE id=?");
  s.bind(1, step).bind(2, total).bind(3, fraction).bind(4, runId);
  s.run();
}

void RunWriter::setDistributed(std::int64_t runId, int worldSize, const std::string& backend,
                               const std::string& hosts) {
  Stmt s(m_db, "UPDATE runs SET world_size=?, dist_backend=?, dist_hosts=? WHERE id=?");
  s.bind(1, worldSize).bind(2, backend).bind(3, hosts).bind(4, runId);
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
           "INSERT INTO metrics(run_id, component, step, wall_time, key, value, rank) "
           "VALUES(?,?,?,?,?,?,?)");
    for (const auto& m : m_pending) {
      s.bind(1, m.runId).bind(2, m.component).bind(3, m.step).bind(4, m.wallTime);
      s.bind(5, m.key).bind(6, m.value);
      if (m.rank >= 0)
        s.bind(7, m.rank);
      else
        s.bindNull(7);
      s.run();
    }
    Stmt l(m_db, "INSERT INTO logs(run_id, wall_time, level, message) VALUES(?,?,?,?)");
    for (const auto& r : m_pendingLogs) {
      l.bind(1, r.runId).bind(2, r.wallTime).bind(3, toString(r.level)).bind(4, r.message);
      l.run();
    }
  });
  m_pending.clear();
  m_pendingLogs.clear();
}

void RunWriter::addResults(const std::vector<ResultRow>& rows) {
  inTransaction(m_db, [&] {
    Stmt s(m_db, "INSERT OR REPLACE INTO results(run_id, domain, metric, value) VALUES(?,?,?,?)");
    Stmt w(m_db, "INSERT OR REPLACE INTO run_results(run_id, metric, value) VALUES(?,?,?)");
    for (const auto& r : rows) {
      if (r.domain == kWholeRun) {
        w.bind(1, r.runId).bind(2, r.metric).bind(3, r.value);
        w.run();
      } else {
        s.bind(1, r.runId).bind(2, r.domain).bind(3, r.metric).bind(4, r.value);
        s.run();
      }
    }
  });
}

void RunWriter::addExamples(const std::vector<ExampleRow>& rows) {
  inTransaction(m_db, [&] {
    Stmt s(m_db,
           "INSERT OR REPLACE INTO examples(run_id, example_id, domain, reward_chosen, "
           "reward_rejected, margin, routed_to, correct, detail) VALUES(?,?,?,?,?,?,?,?,?)");
    for (const auto& e : rows) {
      checkDomainName(e.domain, "run store: example " + e.exampleId);
      s.bind(1, e.runId).bind(2, e.exampleId).bind(3, e.domain).bind(4, e.rewardChosen);
      s.bind(5, e.rewardRejected).bind(6, e.rewardChosen - e.rewardRejected).bind(7, e.routedTo);
      s.bind(8, e.correct ? 1 : 0).bind(9, e.detailJson.empty() ? std::string("{}") : e.detailJson);
      s.run();
    }
  });
}

void RunWriter::addValidationExamples(const std::vector<ExampleRow>& rows) {
  inTransaction(m_db, [&] {
    Stmt s(m_db,
           "INSERT OR REPLACE INTO validation_examples(run_id, example_id, domain, reward_chosen, "
           "reward_rejected, routed_to, correct) VALUES(?,?,?,?,?,?,?)");
    for (const auto& e : rows) {
      checkDomainName(e.domain, "run store: validation pair " + e.exampleId);
      s.bind(1, e.runId).bind(2, e.exampleId).bind(3, e.domain).bind(4, e.rewardChosen);
      s.bind(5, e.rewardRejected).bind(6, e.routedTo).bind(7, e.correct ? 1 : 0);
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
      checkDomainName(p.domain, "run store: pair " + p.id);
      const std::string caps = nlohmann::json(p.capabilities).dump();
      s.bind(1, p.id).bind(2, p.domain).bind(3, p.prompt).bind(4, p.chosen).bind(5, p.rejected);
      s.bind(6, p.split).bind(7, caps);
      s.run();
    }
  });
}

std::int64_t RunWriter::addEvaluation(std::int64_t runId, const std::string& name,
                                      const std::string& source,
                                      const std::vector<PreferencePair>& pairs,
                                      const std::vector<EvaluationExample>& rows) {
  std::int64_t id = 0;
  inTransaction(m_db, [&] {
    {
      Stmt q(m_db, "SELECT count(*) FROM evaluations WHERE run_id = ? AND name = ?");
      q.bind(1, runId).bind(2, name);
      q.step();
      if (q.i64(0) > 0)
        throw InputError("run " + std::to_string(runId) + " already has an evaluation named '" +
                         name + "'; choose another --name");
    }
    Stmt v(m_db, "INSERT INTO evaluations(run_id, name, source, created_at) VALUES(?,?,?,?)");
    v.bind(1, runId).bind(2, name).bind(3, source).bind(4, nowIso());
    v.run();
    id = sqlite3_last_insert_rowid(m_db);
    Stmt t(m_db,
           "INSERT OR IGNORE INTO pairs(id, domain, prompt, chosen, rejected, split, capabilities) "
           "VALUES(?,?,?,?,?,?,?)");
    for (const auto& p : pairs) {
      checkDomainName(p.domain, "run store: pair " + p.id);
      t.bind(1, p.id).bind(2, p.domain).bind(3, p.prompt).bind(4, p.chosen).bind(5, p.rejected);
      t.bind(6, p.split).bind(7, nlohmann::json(p.capabilities).dump());
      t.run();
    }
    Stmt x(m_db,
           "INSERT INTO evaluation_examples(evaluation_id, example_id, domain, group_id, "
           "reward_chosen, reward_rejected, margin, routed_to, correct) VALUES(?,?,?,?,?,?,?,?,?)");
    for (const auto& e : rows) {
      const ExampleRow& r = e.row;
      x.bind(1, id).bind(2, r.exampleId).bind(3, r.domain).bind(4, e.group);
      x.bind(5, r.rewardChosen).bind(6, r.rewardRejected).bind(7, r.rewardChosen - r.rewardRejected);
      x.bind(8, r.routedTo).bind(9, r.correct ? 1 : 0);
      x.run();
    }
  });
  return id;
}

}  // namespace rr::core
