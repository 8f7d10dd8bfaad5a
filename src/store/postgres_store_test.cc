// Runs the Store contract suite on PostgreSQL, plus what only the PostgreSQL backend
// promises: migrations under an advisory lock, refusing a newer schema, and riding out
// lost server connections and lock contention inside the store.
#include "store/postgres_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include "store/postgres_migrations.h"
#include "store/postgres_test_cluster.h"

namespace latchkey::store::testing {
namespace {

using std::chrono::milliseconds;

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::Values(StoreBackend{"postgres",
                                                        [] { return std::make_unique<PostgresTestEnv>(); }}),
                         BackendName);

// Undoes migration 13: the audit batches unpacked, through the `audit` view, into the table
// version 12 had.
constexpr const char* kUndoMigration13 = R"sql(
    CREATE TABLE audit_rows AS SELECT * FROM audit;
    DROP VIEW audit;
    DROP TABLE audit_batch_name;
    DROP TABLE audit_batch;
    CREATE TABLE audit (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, agent TEXT NOT NULL,
      connection TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, upstream_status INTEGER NOT NULL,
      code TEXT NOT NULL, latency_ms BIGINT NOT NULL, refreshed BOOLEAN NOT NULL, client TEXT NOT NULL DEFAULT '');
    INSERT INTO audit (id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed, client)
      OVERRIDING SYSTEM VALUE
      SELECT id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed, client
      FROM audit_rows;
    DROP TABLE audit_rows;
    CREATE INDEX audit_agent ON audit(agent, id);
    CREATE INDEX audit_connection ON audit(connection, id);
    SELECT setval(pg_get_serial_sequence('audit', 'id'), MAX(id)) FROM audit;
)sql";

// Runs one statement on a separate connection (the test's view of the database).
int64_t QueryInt(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  pqxx::result result = txn.exec(sql);
  return result.empty() || result[0][0].is_null() ? -1 : result[0][0].as<int64_t>();
}

TEST(PostgresUrlTest, APasswordIsFoundWhereverLibpqWouldReadIt) {
  for (const char* url : {"postgres://u:pw@db.example/latchkey", "postgresql://db.example/x?password=pw",
                          "postgresql://db.example/x?sslmode=disable&password=pw",
                          "postgresql://u:p%40ss@db.example/x",  // an encoded '@' in it
                          "host=db.example password=pw dbname=x"}) {
    StatusOr<bool> has = PostgresUrlHasPassword(url);
    ASSERT_TRUE(has.ok()) << url << ": " << has.status().ToString();
    EXPECT_TRUE(*has) << url;
  }
  for (const char* url : {"postgres://u@db.example/latchkey", "postgresql://db.example/x?sslmode=disable",
                          "postgresql://u%3Apw@db.example/x",  // an encoded ':' is part of the user name
                          "postgresql://u:@db.example/x"}) {
    StatusOr<bool> has = PostgresUrlHasPassword(url);
    ASSERT_TRUE(has.ok()) << url << ": " << has.status().ToString();
    EXPECT_FALSE(*has) << url;
  }
  StatusOr<bool> unreadable = PostgresUrlHasPassword("postgresql://u:hunter2@db.example/x?nonsense=1");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.status().message().find("hunter2"), std::string::npos)
      << unreadable.status().ToString();
}

TEST(PostgresStoreTest, ReopeningKeepsDataAndDoesNotRemigrate) {
  PostgresTestEnv env;
  {
    auto store = env.Open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->InsertAgent(Agent("claude", "ag1")).ok());
  }
  auto again = env.Open();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->GetAgent("claude").ok());
  EXPECT_EQ(QueryInt(env.Url(), "SELECT COUNT(*) FROM schema_migrations"), postgres::LatestSchemaVersion());
  EXPECT_EQ(QueryInt(env.Url(), "SELECT MAX(version) FROM schema_migrations"),
            postgres::LatestSchemaVersion());
}

// A store written by the version before migration 8 (the refresh-token forecast): its
// connections open as consented when they were created, and the new columns round-trip.
TEST(PostgresStoreTest, RowsOfVersionSevenCountAsConsentedAtCreationAfterMigrationEight) {
  PostgresTestEnv env;
  ConnectionRecord connection = Connection("work", "c1", 1);
  connection.account_id = "acct-1";
  {
    auto store = env.Open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->InitializeDataKey(DataKey(1)).ok());
    ASSERT_TRUE((*store)->InsertConnection(connection).ok());
  }
  QueryInt(env.Url(), kUndoMigration13);
  QueryInt(env.Url(), "CREATE INDEX audit_at ON audit(at)");    // undoes migration 12
  QueryInt(env.Url(), "DROP TABLE handover");                   // undoes migration 11
  QueryInt(env.Url(), "ALTER TABLE audit DROP COLUMN client");  // undoes migration 10
  QueryInt(env.Url(), "DROP TABLE mcp_clients, mcp_consents, mcp_tokens");
  QueryInt(env.Url(),
           "ALTER TABLE connections DROP COLUMN consented_at, DROP COLUMN refresh_server_expires_at, "
           "DROP COLUMN refresh_lifetime_override, DROP COLUMN refresh_idle_lifetime_override, "
           "DROP COLUMN expiring_alerted_for");
  QueryInt(env.Url(), "DELETE FROM schema_migrations WHERE version > 7");
  auto store = env.Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(env.Url(), "SELECT MAX(version) FROM schema_migrations"),
            postgres::LatestSchemaVersion());
  ExpectAConnectionOfVersionSevenAfterMigrationEight(**store, connection);
}

// A database of `env` holding the audit rows `rows`, put back to `version` by the `undo`
// statements (newest migration first): what that version wrote.
void AuditRowsWrittenByVersion(PostgresTestEnv& env, const std::vector<AuditRecord>& rows,
                               std::initializer_list<const char*> undo, int version) {
  {
    auto store = env.Open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->AppendAudit(rows).ok());
  }
  for (const char* statement : undo) QueryInt(env.Url(), statement);
  QueryInt(env.Url(), "DELETE FROM schema_migrations WHERE version > " + std::to_string(version));
}

// This build opening the database again, which migrates it to the newest version.
std::shared_ptr<Store> Migrated(PostgresTestEnv& env) {
  auto store = env.Open();
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(QueryInt(env.Url(), "SELECT MAX(version) FROM schema_migrations"),
            postgres::LatestSchemaVersion());
  return store.ok() ? *store : nullptr;
}

// A store written by the version before migration 10 (the MCP client a call came
// through): its audit rows read back with no client, and new rows name theirs.
TEST(PostgresStoreTest, AuditRowsOfVersionNineNameNoClientAfterMigrationTen) {
  PostgresTestEnv env;
  const std::vector<AuditRecord> before = AuditRowsOfVersionNine();
  AuditRowsWrittenByVersion(env, before,
                            {kUndoMigration13, "CREATE INDEX audit_at ON audit(at)", "DROP TABLE handover",
                             "ALTER TABLE audit DROP COLUMN client"},
                            9);
  ASSERT_EQ(QueryInt(env.Url(),
                     "SELECT COUNT(*) FROM information_schema.columns "
                     "WHERE table_name = 'audit' AND column_name = 'client'"),
            0);
  auto store = Migrated(env);
  ASSERT_NE(store, nullptr);
  ExpectAuditRowsOfVersionNineAfterMigrationTen(*store, before);
}

TEST(PostgresStoreTest, AuditRowsOfVersionElevenAgeOutAfterMigrationTwelve) {
  PostgresTestEnv env;
  const std::vector<AuditRecord> before = AuditRowsOfVersionNine();
  AuditRowsWrittenByVersion(env, before, {kUndoMigration13, "CREATE INDEX audit_at ON audit(at)"}, 11);
  auto store = Migrated(env);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryInt(env.Url(), "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'audit_at'"), 0);
  ExpectAuditRowsOfVersionElevenAfterMigrationTwelve(*store, before);
}

TEST(PostgresStoreTest, NoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable) {
  ExpectNoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable(postgres::Migrations());
}

TEST(PostgresStoreTest, RefusesASchemaNewerThanTheBinary) {
  PostgresTestEnv env;
  ASSERT_TRUE(env.Open().ok());
  QueryInt(env.Url(), "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  auto store = env.Open();
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST(PostgresStoreTest, ProcessesOpeningABrandNewDatabaseAtOnceAllSucceed) {
  for (int round = 0; round < 3; ++round) {
    PostgresTestEnv env;
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
        auto store = env.Open();
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
    EXPECT_EQ(QueryInt(env.Url(), "SELECT COUNT(*) FROM agents"), kProcesses);
    EXPECT_EQ(QueryInt(env.Url(), "SELECT COUNT(*) FROM schema_migrations"), postgres::LatestSchemaVersion());
  }
}

TEST(PostgresStoreTest, LostServerConnectionsAreReplacedWithTheirSettings) {
  PostgresTestEnv env;
  auto store = env.Open(milliseconds(300));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->InsertAgent(Agent("claude", "ag1")).ok());
  // Ends every session of the store (as a server restart or a dropped proxy would).
  QueryInt(env.Url(),
           "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
           "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_TRUE((*store)->GetAgent("claude").ok());
  EXPECT_TRUE((*store)->InsertAgent(Agent("bot", "ag2")).ok());

  // The new session still bounds lock waits by busy_wait.
  pqxx::connection holder(env.Url());
  pqxx::work locked(holder);
  locked.exec("SELECT * FROM agents WHERE name = 'claude' FOR UPDATE");
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*store)->RevokeAgent("claude", At(5)).code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST(PostgresStoreTest, ARowLockedBeyondTheWaitIsUnavailable) {
  PostgresTestEnv env;
  auto store = env.Open(milliseconds(300));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->InsertAgent(Agent("claude", "ag1")).ok());
  pqxx::connection holder(env.Url());
  pqxx::work locked(holder);
  locked.exec("SELECT * FROM agents WHERE name = 'claude' FOR UPDATE");
  auto start = std::chrono::steady_clock::now();
  Status s = (*store)->RevokeAgent("claude", At(5));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), ::testing::HasSubstr("the store is busy"));
  EXPECT_GE(waited, milliseconds(300));
  EXPECT_LT(waited, milliseconds(2000));
  EXPECT_TRUE((*store)->GetAgent("claude").ok());  // readers go on
  locked.abort();
  EXPECT_TRUE((*store)->RevokeAgent("claude", At(5)).ok());
}

TEST(PostgresStoreTest, SnapshotTablesCoverTheSchema) {
  PostgresTestEnv env;
  ASSERT_TRUE(env.Open().ok());
  pqxx::connection connection(env.Url());
  pqxx::nontransaction txn(connection);
  std::map<std::string, std::set<std::string>> schema;
  for (const pqxx::row& row : txn.exec("SELECT table_name, column_name FROM information_schema.columns "
                                       "WHERE table_schema = current_schema()")) {
    schema[row[0].as<std::string>()].insert(row[1].as<std::string>());
  }
  ExpectSnapshotTablesCoverTheSchema(schema);
}

TEST(PostgresStoreTest, AnUnreachableServerIsUnavailable) {
  auto store =
      OpenPostgresStore({.url = "postgres://postgres@127.0.0.1:1/none", .busy_wait = milliseconds(100)},
                        SystemClock::Instance());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(OpenPostgresStore({}, SystemClock::Instance()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::store::testing
