// Direct access to a data dir's SQLite file, for tests that tamper with ciphertexts
// the way an attacker with file access could. Single-threaded test helper.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace latchkey::testing {

class SqlitePeek {
 public:
  explicit SqlitePeek(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~SqlitePeek() { sqlite3_close(db_); }
  SqlitePeek(const SqlitePeek&) = delete;
  SqlitePeek& operator=(const SqlitePeek&) = delete;

  std::vector<unsigned char> Blob(const std::string& sql) {
    sqlite3_stmt* stmt = Prepare(sql);
    std::vector<unsigned char> out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, 0));
      out.assign(data, data + sqlite3_column_bytes(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

  long long Int(const std::string& sql) {
    sqlite3_stmt* stmt = Prepare(sql);
    long long out = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return out;
  }

  void SetBlob(const std::string& sql, const std::vector<unsigned char>& value) {
    sqlite3_stmt* stmt = Prepare(sql);
    sqlite3_bind_blob(stmt, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    sqlite3_finalize(stmt);
  }

 private:
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in " + sql);
    }
    return stmt;
  }
  sqlite3* db_ = nullptr;
};

}  // namespace latchkey::testing
