#include "gateway/proxy/audit_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "common/clock.h"
#include "common/random.h"
#include "store/sqlite_store.h"

namespace latchkey::gateway {
namespace {

// A real SQLite store, and a second connection that can hold its write lock (an outage).
class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest()
      : dir_(std::filesystem::temp_directory_path() / ("audit-log-test-" + SystemRandom::Instance().Hex(6))) {
    std::filesystem::create_directories(dir_);
    auto opened = store::OpenSqliteStore(
        {.path = (dir_ / "latchkey.db").string(), .busy_wait = std::chrono::milliseconds(30)},
        SystemClock::Instance());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = *opened;
    EXPECT_EQ(sqlite3_open((dir_ / "latchkey.db").string().c_str(), &blocker_), SQLITE_OK);
  }
  ~AuditLogTest() override {
    sqlite3_close(blocker_);
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void BlockWrites() {
    ASSERT_EQ(sqlite3_exec(blocker_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  void AllowWrites() { ASSERT_EQ(sqlite3_exec(blocker_, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK); }

  // Every row written, newest first.
  StatusOr<std::vector<store::AuditRecord>> AllRows() {
    return store_->QueryAudit({.agent = std::nullopt,
                               .connection = std::nullopt,
                               .code = std::nullopt,
                               .client = std::nullopt,
                               .after_id = std::nullopt,
                               .limit = 100});
  }

  static store::AuditRecord Row(int i) {
    store::AuditRecord row;
    row.at = SystemClock::Instance().Now();
    row.agent = "agent-" + std::to_string(i);
    row.connection = "work";
    row.method = "GET";
    row.path = "/read";
    row.upstream_status = 200;
    return row;
  }

  std::filesystem::path dir_;
  std::shared_ptr<store::Store> store_;
  sqlite3* blocker_ = nullptr;
};

// The writer's buffer and the queue trade places every batch, keeping their room: a row
// is written once, in the batch it came in, never again with a later one.
TEST_F(AuditLogTest, EachRowIsWrittenOnceBatchAfterBatch) {
  AuditLog log(*store_, std::chrono::milliseconds(10));
  for (int batch = 0; batch < 4; ++batch) {
    for (int i = batch * 10; i < batch * 10 + 10; ++i) log.Record(Row(i));
    log.Flush();
  }
  auto rows = AllRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 40U);
  for (size_t i = 0; i < rows->size(); ++i) {  // newest first: agent-39 ... agent-0
    EXPECT_EQ((*rows)[i].agent, "agent-" + std::to_string(39 - i));
  }
}

TEST_F(AuditLogTest, RowsWaitOutAStoreOutageInOrderAndNoneIsLost) {
  AuditLog log(*store_, std::chrono::milliseconds(10));
  BlockWrites();
  for (int i = 0; i < 30; ++i) log.Record(Row(i));
  ASSERT_TRUE(log.AwaitRefusedAttempts(3, std::chrono::minutes(1))) << "the store refused no batch";
  for (int i = 30; i < 50; ++i) log.Record(Row(i));
  AllowWrites();
  log.Flush();
  EXPECT_EQ(log.dropped(), 0U);
  auto rows = AllRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 50U);
  for (size_t i = 0; i < rows->size(); ++i) {  // newest first: agent-49 ... agent-0
    EXPECT_EQ((*rows)[i].agent, "agent-" + std::to_string(49 - i));
  }
}

TEST_F(AuditLogTest, StopGivesUpAfterItsGraceAndCountsWhatWasLost) {
  AuditLog log(*store_, std::chrono::milliseconds(10), 100000, std::chrono::milliseconds(150));
  BlockWrites();
  for (int i = 0; i < 5; ++i) log.Record(Row(i));
  log.Stop();  // returns although the store never came back
  EXPECT_EQ(log.dropped(), 5U);
  AllowWrites();
}

// PostgreSQL refuses text that is not UTF-8 (or holds NUL); a refused batch used to be
// retried forever, so one bad path stopped the audit of every later call.
TEST_F(AuditLogTest, ARowTheStoreRefusesNeverHoldsUpTheOthers) {
  // Refusals a real store makes, here by triggers on the batch that holds the row: one on
  // the path alone, one on the agent.
  ASSERT_EQ(sqlite3_exec(blocker_,
                         "CREATE TRIGGER refuse_path BEFORE INSERT ON audit_batch WHEN NEW.row_json LIKE "
                         "'%poison%' BEGIN SELECT RAISE(ABORT, 'path refused'); END;"
                         "CREATE TRIGGER refuse_agent BEFORE INSERT ON audit_batch WHEN NEW.row_json LIKE "
                         "'%\"doomed\"%' BEGIN SELECT RAISE(ABORT, 'agent refused'); END;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  AuditLog log(*store_, std::chrono::milliseconds(10));
  for (int i = 0; i < 10; ++i) {
    store::AuditRecord row = Row(i);
    if (i == 3) row.path = "/poison";
    if (i == 6) row.agent = "doomed";
    if (i == 8) row.path = std::string("/caf\xC3\xA9/\xFF\0x", 10);
    log.Record(std::move(row));
  }
  log.Flush();
  for (int i = 10; i < 15; ++i) log.Record(Row(i));  // and the log goes on taking rows
  log.Flush();
  EXPECT_EQ(log.replaced(), 1U);
  EXPECT_EQ(log.dropped(), 1U);
  auto rows = AllRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 14U);
  std::map<std::string, std::string> path_of;
  for (const store::AuditRecord& row : *rows) path_of[row.agent] = row.path;
  EXPECT_EQ(path_of.count("doomed"), 0U);
  EXPECT_EQ(path_of["agent-3"], "(refused by the store)");
  EXPECT_EQ(path_of["agent-8"], "/caf\xC3\xA9/\xEF\xBF\xBDx") << "valid UTF-8, without NUL";
  EXPECT_EQ(path_of["agent-14"], "/read");
}

}  // namespace
}  // namespace latchkey::gateway
