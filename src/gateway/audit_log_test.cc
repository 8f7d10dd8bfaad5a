#include "gateway/audit_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

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

TEST_F(AuditLogTest, RowsWaitOutAStoreOutageInOrderAndNoneIsLost) {
  AuditLog log(*store_, std::chrono::milliseconds(10));
  BlockWrites();
  for (int i = 0; i < 30; ++i) log.Record(Row(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // several refused attempts
  for (int i = 30; i < 50; ++i) log.Record(Row(i));
  AllowWrites();
  log.Flush();
  EXPECT_EQ(log.dropped(), 0U);
  auto rows = store_->QueryAudit({.agent = std::nullopt,
                                  .connection = std::nullopt,
                                  .code = std::nullopt,
                                  .after_id = std::nullopt,
                                  .limit = 100});
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

}  // namespace
}  // namespace latchkey::gateway
