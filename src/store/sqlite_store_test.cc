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
#include "support/temp_dir.h"

namespace latchkey::store::testing {
namespace {

// A fresh temporary directory, removed with everything in it, and its files' paths.
class TempDir : public latchkey::testing::ScopedTempDir {
 public:
  std::string File(const std::string& name) const { return (path() / name).string(); }
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

// Runs `sql` (several statements) on a separate raw connection.
void ExecRaw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// What migrations 7 to 13 changed, undone again: a store as the versions before wrote it.
// Undone newest first. Migration 13's undo unpacks the audit batches through the `audit`
// view into the table version 12 had.
constexpr const char* kUndoMigration13 = R"sql(
    CREATE TABLE audit_rows AS SELECT * FROM audit;
    DROP VIEW audit;
    DROP TABLE audit_batch_name;
    DROP TABLE audit_batch;
    CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, agent TEXT NOT NULL, connection TEXT NOT NULL,
      method TEXT NOT NULL, path TEXT NOT NULL, upstream_status INTEGER NOT NULL, code TEXT NOT NULL,
      latency_ms INTEGER NOT NULL, refreshed INTEGER NOT NULL, client TEXT NOT NULL DEFAULT '');
    INSERT INTO audit (id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed, client)
      SELECT id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed, client
      FROM audit_rows;
    DROP TABLE audit_rows;
    CREATE INDEX audit_agent ON audit(agent, id);
    CREATE INDEX audit_connection ON audit(connection, id);
)sql";
constexpr const char* kUndoMigration10 = "ALTER TABLE audit DROP COLUMN client;";
constexpr const char* kUndoMigration11 = "DROP TABLE handover;";
constexpr const char* kUndoMigration12 = "CREATE INDEX audit_at ON audit(at);";
constexpr const char* kUndoMigration7 = R"sql(
    ALTER TABLE connections DROP COLUMN account_id;
    ALTER TABLE pending_authorizations DROP COLUMN binding_hash;
    ALTER TABLE pending_authorizations DROP COLUMN allow_account_switch;
    ALTER TABLE pending_authorizations DROP COLUMN asked_by;
    ALTER TABLE pending_authorizations DROP COLUMN endpoints_digest;
)sql";
constexpr const char* kUndoMigration9 = R"sql(
    DROP TABLE mcp_clients;
    DROP TABLE mcp_consents;
    DROP TABLE mcp_tokens;
)sql";

constexpr const char* kUndoMigration8 = R"sql(
    ALTER TABLE connections DROP COLUMN consented_at;
    ALTER TABLE connections DROP COLUMN refresh_server_expires_at;
    ALTER TABLE connections DROP COLUMN refresh_lifetime_override;
    ALTER TABLE connections DROP COLUMN refresh_idle_lifetime_override;
    ALTER TABLE connections DROP COLUMN expiring_alerted_for;
)sql";

// Migration 4 rebuilds the audit table without AUTOINCREMENT: a store at version 3 keeps
// its rows and their ids, and later rows still get ids above all of them.
TEST(SqliteStoreTest, AuditRowsSurviveTheMoveAwayFromAutoincrement) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ASSERT_TRUE(OpenSqliteStore({path}, SystemClock::Instance()).ok());
  // Put the file back to version 3: the audit table as migration 1 made it, with rows
  // whose ids have a gap.
  ExecRaw(path, kUndoMigration13);
  ExecRaw(path, kUndoMigration12);
  ExecRaw(path, kUndoMigration11);
  ExecRaw(path, kUndoMigration10);
  ExecRaw(path, R"sql(
    DROP TABLE audit;
    CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, agent TEXT NOT NULL,
      connection TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, upstream_status INTEGER NOT NULL,
      code TEXT NOT NULL, latency_ms INTEGER NOT NULL, refreshed INTEGER NOT NULL);
    CREATE INDEX audit_agent ON audit(agent, id);
    CREATE INDEX audit_connection ON audit(connection, id);
    INSERT INTO audit VALUES (1, 1000, 'claude', 'gmail', 'GET', '/a', 200, '', 5, 0);
    INSERT INTO audit VALUES (2, 2000, 'claude', 'slack', 'POST', '/b', 401, 'reauth_required', 7, 1);
    INSERT INTO audit VALUES (9, 3000, 'other', 'gmail', 'GET', '/c', 403, 'scope_insufficient', 9, 0);
    DROP TABLE ended_sessions;
  )sql");
  ExecRaw(path, kUndoMigration9);
  ExecRaw(path, kUndoMigration8);
  ExecRaw(path, kUndoMigration7);
  ExecRaw(path, "DELETE FROM schema_migrations WHERE version > 3");
  ASSERT_EQ(QueryInt(path, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'audit'"), 1);

  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(path, "SELECT MAX(version) FROM schema_migrations"), sqlite::LatestSchemaVersion());
  EXPECT_EQ(QueryInt(path, "SELECT instr(sql, 'AUTOINCREMENT') FROM sqlite_master WHERE name = 'audit'"), 0);
  EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'audit'"), 0);
  // Migration 13 packed the rows into batches; `audit` is a view of them.
  EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND name = 'audit'"), 1);

  AuditRecord next;
  next.agent = "claude";
  next.connection = "gmail";
  next.method = "DELETE";
  next.path = "/d";
  ASSERT_TRUE((*store)->AppendAudit(next).ok());
  AuditFilter by_agent;
  by_agent.agent = "claude";
  auto claude = (*store)->QueryAudit(by_agent);
  ASSERT_TRUE(claude.ok()) << claude.status().ToString();
  ASSERT_EQ(claude->size(), 3u);
  EXPECT_EQ((*claude)[0].id, 10);  // above the highest id before, not reusing the gap
  EXPECT_EQ((*claude)[0].method, "DELETE");
  EXPECT_EQ((*claude)[1].id, 2);
  EXPECT_EQ((*claude)[1].client, "");  // migration 10: written before any client was named
  EXPECT_EQ((*claude)[1].code, "reauth_required");
  EXPECT_TRUE((*claude)[1].refreshed);
  EXPECT_EQ((*claude)[1].at, TimePoint(std::chrono::milliseconds(2000)));
  EXPECT_EQ((*claude)[2].id, 1);
  AuditFilter tail;
  tail.connection = "gmail";
  tail.after_id = 1;
  auto after = (*store)->QueryAudit(tail);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].id, 10);
  EXPECT_EQ((*after)[1].id, 9);
  EXPECT_EQ((*after)[1].upstream_status, 403);
}

// Migration 7 adds the account id and the consent binding: a connection and a pending
// authorization written by version 6 keep every field, and read as "account unknown" and
// "bound to nothing" (which the consent flow refuses to complete).
TEST(SqliteStoreTest, RowsOfVersionSixReadWithAnUnknownAccountAfterMigrationSeven) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ConnectionRecord connection = Connection("work", "c1", 1);
  {
    auto store = OpenSqliteStore({path}, SystemClock::Instance());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->InitializeDataKey(DataKey(1)).ok());
    ASSERT_TRUE((*store)->InsertConnection(connection).ok());
    ASSERT_TRUE((*store)->InsertPendingAuthorization(Pending("p1", 1, At(9000))).ok());
  }
  ExecRaw(path, kUndoMigration13);
  ExecRaw(path, kUndoMigration12);
  ExecRaw(path, kUndoMigration11);
  ExecRaw(path, kUndoMigration10);
  ExecRaw(path, kUndoMigration9);
  ExecRaw(path, kUndoMigration8);
  ExecRaw(path, kUndoMigration7);
  ExecRaw(path, "DELETE FROM schema_migrations WHERE version > 6");
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(path, "SELECT MAX(version) FROM schema_migrations"), sqlite::LatestSchemaVersion());
  auto read = (*store)->GetConnection("work");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  connection.account_id = "";
  connection.consented_at = connection.created_at;  // migration 8's assumption
  EXPECT_EQ(*read, connection);
  auto pending = (*store)->ConsumePendingAuthorization("p1", At(5000));
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(pending->binding_hash, "");
  EXPECT_FALSE(pending->allow_account_switch);
  EXPECT_EQ(pending->asked_by, "");
  EXPECT_EQ(pending->endpoints_digest, "");
  EXPECT_EQ(pending->connection_name, "work-gmail");
}

// Migration 8 adds what a refresh token's end is forecast from: a connection written by
// version 7 keeps every field, counts as consented when it was created, and has no
// server figure, override or alert yet; it can be updated and read back with them.
TEST(SqliteStoreTest, RowsOfVersionSevenCountAsConsentedAtCreationAfterMigrationEight) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ConnectionRecord connection = Connection("work", "c1", 1);
  connection.account_id = "acct-1";
  {
    auto store = OpenSqliteStore({path}, SystemClock::Instance());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->InitializeDataKey(DataKey(1)).ok());
    ASSERT_TRUE((*store)->InsertConnection(connection).ok());
  }
  ExecRaw(path, kUndoMigration13);
  ExecRaw(path, kUndoMigration12);
  ExecRaw(path, kUndoMigration11);
  ExecRaw(path, kUndoMigration10);
  ExecRaw(path, kUndoMigration9);
  ExecRaw(path, kUndoMigration8);
  ExecRaw(path, "DELETE FROM schema_migrations WHERE version > 7");
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(path, "SELECT MAX(version) FROM schema_migrations"), sqlite::LatestSchemaVersion());
  ExpectAConnectionOfVersionSevenAfterMigrationEight(**store, connection);
}

// A store at `path` holding the audit rows `rows`, put back to `version` by the `undo`
// scripts (newest migration first): the file that version wrote.
void AuditRowsWrittenByVersion(const std::string& path, const std::vector<AuditRecord>& rows,
                               std::initializer_list<const char*> undo, int version) {
  {
    auto store = OpenSqliteStore({path}, SystemClock::Instance());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->AppendAudit(rows).ok());
  }
  for (const char* script : undo) ExecRaw(path, script);
  ExecRaw(path, ("DELETE FROM schema_migrations WHERE version > " + std::to_string(version)).c_str());
}

// This build opening `path` again, which migrates it to the newest version.
std::shared_ptr<Store> Migrated(const std::string& path) {
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(path, "SELECT MAX(version) FROM schema_migrations"), sqlite::LatestSchemaVersion());
  return store.ok() ? *store : nullptr;
}

// Migration 10 adds the MCP client a call came through: audit rows written by version 9
// read back with no client, and new rows name theirs.
TEST(SqliteStoreTest, AuditRowsOfVersionNineNameNoClientAfterMigrationTen) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  const std::vector<AuditRecord> before = AuditRowsOfVersionNine();
  AuditRowsWrittenByVersion(path, before,
                            {kUndoMigration13, kUndoMigration12, kUndoMigration11, kUndoMigration10}, 9);
  ASSERT_EQ(QueryInt(path, "SELECT COUNT(*) FROM pragma_table_info('audit') WHERE name = 'client'"), 0);
  auto store = Migrated(path);
  ASSERT_NE(store, nullptr);
  ExpectAuditRowsOfVersionNineAfterMigrationTen(*store, before);
}

TEST(SqliteStoreTest, AuditRowsOfVersionElevenAgeOutAfterMigrationTwelve) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  const std::vector<AuditRecord> before = AuditRowsOfVersionNine();
  AuditRowsWrittenByVersion(path, before, {kUndoMigration13, kUndoMigration12}, 11);
  auto store = Migrated(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryInt(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_at'"), 0);
  ExpectAuditRowsOfVersionElevenAfterMigrationTwelve(*store, before);
}

TEST(SqliteStoreTest, NoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable) {
  ExpectNoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable(sqlite::Migrations());
}

// While alive, the process's default SQLite VFS is the one it was, but counting the
// statement journals (sub-journals) opened: SQLite opens one as a file when a statement
// that may have to undo its own changes has saved more than fits in memory.
class CountingSubJournals {
 public:
  CountingSubJournals() : original_(sqlite3_vfs_find(nullptr)), counting_(*original_) {
    counting_.zName = "latchkey-test-counting";
    counting_.pAppData = this;
    counting_.xOpen = [](sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
                         int* out_flags) {
      auto* self = static_cast<CountingSubJournals*>(vfs->pAppData);
      if ((flags & SQLITE_OPEN_SUBJOURNAL) != 0) ++self->opened_;
      return self->original_->xOpen(self->original_, name, file, flags, out_flags);
    };
    sqlite3_vfs_register(&counting_, 1);
  }
  ~CountingSubJournals() {
    sqlite3_vfs_register(original_, 1);
    sqlite3_vfs_unregister(&counting_);
  }
  CountingSubJournals(const CountingSubJournals&) = delete;
  CountingSubJournals& operator=(const CountingSubJournals&) = delete;

  int opened() const { return opened_; }

 private:
  sqlite3_vfs* original_;
  sqlite3_vfs counting_;
  int opened_ = 0;
};

// An audit batch is one row (and one of its names per agent and connection): the multi-row
// INSERTs of a row per call before it kept a statement journal each (every page changed
// copied first, to a temporary file once large), two thirds of the audit writer's file
// writes under load. The rows still all arrive.
TEST(SqliteStoreTest, AnAuditBatchIsWrittenWithoutStatementJournals) {
  TempDir dir;
  CountingSubJournals journals;
  auto store = OpenSqliteStore({dir.File("latchkey.db")}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 20000; ++i) {
    batch.push_back({0, FromUnixMillis(1'700'000'000'000 + i), "agent-" + std::to_string(i % 7), "",
                     "connection-" + std::to_string(i % 5), "GET", "/v1/items/" + std::to_string(i), 200, "",
                     i % 100, false});
  }
  ASSERT_TRUE((*store)->AppendAudit(batch).ok());
  EXPECT_EQ(journals.opened(), 0);
  EXPECT_EQ(QueryInt(dir.File("latchkey.db"), "SELECT COUNT(*) FROM audit"), 20000);
  EXPECT_EQ(QueryInt(dir.File("latchkey.db"), "SELECT COUNT(*) FROM audit_batch"), 1) << "a batch is one row";
}

// A batch retention deletes takes its names with it (audit_batch_name's ON DELETE CASCADE,
// which needs foreign keys on in every handle): nothing of it is left to find.
TEST(SqliteStoreTest, AnAuditBatchRetentionDeletesLeavesNoNameBehind) {
  TempDir dir;
  auto store = OpenSqliteStore({dir.File("latchkey.db")}, SystemClock::Instance());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (const char* agent : {"old-1", "old-2", "new"}) {
    AuditRecord row;
    row.at = FromUnixMillis(std::string_view(agent) == "new" ? 5000 : 1000);
    row.agent = agent;
    row.connection = std::string("c-") + agent;
    ASSERT_TRUE((*store)->AppendAudit(row).ok());
  }
  EXPECT_EQ(QueryInt(dir.File("latchkey.db"), "SELECT COUNT(*) FROM audit_batch_name"), 6);
  auto deleted = (*store)->DeleteAuditBefore(FromUnixMillis(2000), FromUnixMillis(6000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(QueryInt(dir.File("latchkey.db"), "SELECT COUNT(*) FROM audit_batch"), 1);
  EXPECT_EQ(QueryInt(dir.File("latchkey.db"), "SELECT COUNT(*) FROM audit_batch_name"), 2) << "the newest's";
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanTheBinary) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ASSERT_TRUE(OpenSqliteStore({path}, SystemClock::Instance()).ok());
  QueryInt(path, "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  auto store = OpenSqliteStore({path}, SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST(SqliteStoreTest, OpeningAFileAnotherProcessHoldsWaitsTheWholeBusyWait) {
  // A new handle reads the schema before its first transaction; that read used to fail
  // after SQLite's own 100 ms busy handler instead of being retried until busy_wait (seen
  // as ProcessesOpeningABrandNewFileAtOnceAllSucceed failing on a loaded machine).
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "CREATE TABLE held (x); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);  // a rollback-journal file, locked against readers too
  auto store = OpenSqliteStore({path, std::chrono::milliseconds(300)}, SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("for more than 300 ms"));
  sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_TRUE(OpenSqliteStore({path, std::chrono::milliseconds(300)}, SystemClock::Instance()).ok());
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
        if (!store.ok()) {
          fprintf(stderr, "child %d: %s\n", p, store.status().ToString().c_str());
          _exit(1);
        }
        if (Status added =
                (*store)->InsertAgent(Agent("agent-" + std::to_string(p), "id-" + std::to_string(p)));
            !added.ok()) {
          fprintf(stderr, "child %d: %s\n", p, added.ToString().c_str());
          _exit(2);
        }
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

TEST(SqliteStoreTest, SnapshotTablesCoverTheSchema) {
  TempDir dir;
  std::string path = dir.File("latchkey.db");
  ASSERT_TRUE(OpenSqliteStore({path}, SystemClock::Instance()).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::map<std::string, std::set<std::string>> schema;
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c "
                               "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    schema[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))].emplace(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  ExpectSnapshotTablesCoverTheSchema(schema);
}

TEST(SqliteStoreTest, OpeningAnUnwritableLocationFails) {
  auto store = OpenSqliteStore({"/nonexistent-dir/latchkey.db"}, SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(OpenSqliteStore({""}, SystemClock::Instance()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::store::testing
