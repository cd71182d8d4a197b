#pragma once
// Private helpers over the SQLite C API: a statement wrapper and error checking.
#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/errors.h"

namespace rr::core::sql {

// The first problem in PRAGMA integrity_check's report, whose first line may only name the
// database ("*** in database main ***").
inline std::string firstProblem(const std::string& report) {
  size_t at = 0;
  while (report.compare(at, 3, "***") == 0 && report.find('\n', at) != std::string::npos)
    at = report.find('\n', at) + 1;
  return report.substr(at, report.find('\n', at) - at);
}

// "FILE: damaged store (integrity_check: FIRST PROBLEM)", for a connection that met
// SQLITE_CORRUPT or SQLITE_NOTADB. Uses the C API directly: a Stmt would come back here.
inline std::string damagedMessage(sqlite3* db) {
  std::string detail = sqlite3_errmsg(db);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    if (t && std::string(t) != "ok") detail = t;
  }
  sqlite3_finalize(st);
  const char* file = sqlite3_db_filename(db, "main");
  return std::string(file && *file ? file : "run store") +
         ": damaged store (integrity_check: " + firstProblem(detail) + ")";
}

inline bool isDamaged(sqlite3* db) {
  const int code = sqlite3_errcode(db) & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

// A write the medium refused: a full disk, a quota, a file size limit, an I/O error. SQLite has
// rolled the transaction back, so the store is as it was before it.
inline bool isMediumError(sqlite3* db) {
  const int code = sqlite3_errcode(db) & 0xff;
  return code == SQLITE_FULL || code == SQLITE_IOERR;
}

inline std::string mediumMessage(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  const std::string path = file && *file ? file : "run store";
  const int err = sqlite3_system_errno(db);
  if ((sqlite3_errcode(db) & 0xff) == SQLITE_FULL || err == ENOSPC)
    return path + ": disk full while writing the run store (the change was not kept; the store "
                  "is as it was before it)";
  return path + ": cannot write the run store (" +
         (err ? std::string(std::strerror(err)) : std::string(sqlite3_errmsg(db))) +
         "; the change was not kept)";
}

[[noreturn]] inline void fail(sqlite3* db, const std::string& what) {
  if (db && isDamaged(db)) throw InputError(damagedMessage(db));
  if (db && isMediumError(db)) throw InputError(mediumMessage(db));
  throw std::runtime_error("run store: " + what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : m_db(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &m_stmt, nullptr) != SQLITE_OK)
      fail(db, "prepare '" + sql + "'");
  }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(m_stmt, i, v));
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, double v) {
    check(sqlite3_bind_double(m_stmt, i, v));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bindNull(int i) {
    check(sqlite3_bind_null(m_stmt, i));
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(m_db, "step");
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  int columns() const { return sqlite3_column_count(m_stmt); }
  std::int64_t i64(int c) const { return sqlite3_column_int64(m_stmt, c); }
  double f64(int c) const { return sqlite3_column_double(m_stmt, c); }
  // A column that stores a NaN as NULL (schema 7: rewards, margins, metric values).
  double real(int c) const {
    return isNull(c) ? std::numeric_limits<double>::quiet_NaN() : f64(c);
  }
  bool isNull(int c) const { return sqlite3_column_type(m_stmt, c) == SQLITE_NULL; }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(m_stmt, c);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(m_stmt, c)))
             : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(m_db, "bind");
  }
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

inline void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    if (isDamaged(db) || isMediumError(db)) {
      sqlite3_free(err);
      throw InputError(isDamaged(db) ? damagedMessage(db) : mediumMessage(db));
    }
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("run store: " + msg + " (in: " + sql.substr(0, 80) + ")");
  }
}

}  // namespace rr::core::sql
