// Runs the Store contract suite on SQLite, plus what only the SQLite backend promises:
// file modes, WAL, migration races between processes, bounded waits for the lock.
#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite_migrations.h"
#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "latchkey-store-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class SqliteTestEnv final : public StoreTestEnv {
 public:
  StatusOr<std::shared_ptr<Store>> Open() override {
    return OpenSqliteStore({dir_.File("latchkey.db"), std::chrono::milliseconds(10000)},
                           SystemClock::Instance());
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         ::testing::Values(StoreBackend{"sqlite",
                                                        [] { return std::make_unique<SqliteTestEnv>(); }}),
                         BackendName);

// Runs one statement on a separate raw connection (the test's view of the file).
int64_t QueryInt(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST(SqliteStoreTest, CreatesFilesReadableOnlyByOwner) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->AppendAudit(AuditRecord{}).ok());
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  EXPECT_EQ(QueryInt(path, "SELECT MAX(version) FROM schema_migrations"), sqlite::LatestSchemaVersion());
}

TEST(SqliteStoreTest, ReopeningKeepsDataAndDoesNotRemigrate) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  {
    auto store = OpenSqliteStore({path}, SystemClock::Instance());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->InsertAgent(Agent("claude", "ag1")).ok());
  }
  auto again = OpenSqliteStore({path}, SystemClock::Instance());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->GetAgent("claude").ok());
  EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM schema_migrations"), sqlite::LatestSchemaVersion());
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanTheBinary) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ASSERT_TRUE(OpenSqliteStore({path}, SystemClock::Instance()).ok());
  QueryInt(path, "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST(SqliteStoreTest, BusyBeyondTheWaitIsUnavailable) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  auto store = OpenSqliteStore({path, std::chrono::milliseconds(300)}, SystemClock::Instance());
  ASSERT_TRUE(store.ok());
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto start = std::chrono::steady_clock::now();
  Status s = (*store)->InsertAgent(Agent("claude", "ag1"));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), ::testing::HasSubstr("the store is busy"));
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(2000));
  EXPECT_TRUE((*store)->GetAgent("claude").status().code() == StatusCode::kNotFound);  // readers go on
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_TRUE((*store)->InsertAgent(Agent("claude", "ag1")).ok());
}

TEST(SqliteStoreTest, ProcessesOpeningABrandNewFileAtOnceAllSucceed) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    std::string path = dir.File("latchkey.db");
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    constexpr int kProcesses = 4;
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(go[1]);
        char byte;
        if (read(go[0], &byte, 1) != 0) _exit(90);  // wait until the parent closes the pipe
        auto store = OpenSqliteStore({path}, SystemClock::Instance());
        if (!store.ok()) _exit(1);
        if (!(*store)->InsertAgent(Agent("agent-" + std::to_string(p), "id-" + std::to_string(p))).ok())
          _exit(2);
        _exit(0);
      }
      children.push_back(pid);
    }
    close(go[0]);
    close(go[1]);  // releases every child at once
    for (pid_t pid : children) {
      int wstatus = 0;
      ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
      EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "child exit " << wstatus;
    }
    EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM agents"), kProcesses);
    EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM schema_migrations"), sqlite::LatestSchemaVersion());
  }
}

TEST(SqliteStoreTest, OpeningAnUnwritableLocationFails) {
  auto store = OpenSqliteStore({"/nonexistent-dir/latchkey.db"}, SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(OpenSqliteStore({""}, SystemClock::Instance()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::store::testing
