// The backend-independent Store test suite's fixture: every TEST_P on
// StoreContractTest runs against each backend instantiated with
// INSTANTIATE_TEST_SUITE_P (SQLite in sqlite_store_test.cc, PostgreSQL in postgres_store_test.cc).
// Test-only; each test owns its environment (a fresh database).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "store/snapshot.h"
#include "store/sql/migrate.h"
#include "store/store.h"

namespace latchkey::store::testing {

// One fresh, empty database of some backend; removed when destroyed.
class StoreTestEnv {
 public:
  virtual ~StoreTestEnv() = default;
  // Opens another independent Store on the same database (as a second process would).
  virtual StatusOr<std::shared_ptr<Store>> Open() = 0;
};

struct StoreBackend {
  std::string name;
  std::function<std::unique_ptr<StoreTestEnv>()> make;
};

inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    env_ = GetParam().make();
    ReopenStore();
  }
  void TearDown() override {
    store_.reset();
    env_.reset();
  }
  Store& store() { return *store_; }
  // Closes this test's Store (e.g. before fork(): a child must not inherit open handles).
  void CloseStore() { store_.reset(); }
  void ReopenStore() {
    auto opened = env_->Open();
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = *opened;
  }
  StoreTestEnv& env() { return *env_; }

 private:
  std::unique_ptr<StoreTestEnv> env_;
  std::shared_ptr<Store> store_;
};

// Row builders with millisecond-exact times, so values survive a round trip.
inline TimePoint At(int64_t ms) { return FromUnixMillis(ms); }
inline Bytes B(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline WrappedDataKey DataKey(int64_t id, std::string master = "mk-1") {
  return {id, std::move(master), B("wrapped-" + std::to_string(id)), At(1000)};
}

inline ConnectionRecord Connection(std::string name, std::string id, int64_t data_key_id) {
  ConnectionRecord c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.provider = "google";
  c.kind = CredentialKind::kOAuth2;
  c.status = ConnectionStatus::kActive;
  c.account = "me@example.com";
  c.account_id = "108234567890";
  c.scopes = {"openid", "https://mail.google.com/"};
  c.api_base_url = "https://gmail.googleapis.com";
  c.token_type = "Bearer";
  c.expires_at = At(5000);
  c.access_token = B("sealed-access-" + c.id);
  c.refresh_token = B("sealed-refresh-" + c.id);
  c.data_key_id = data_key_id;
  c.token_version = 0;
  c.created_at = At(2000);
  c.updated_at = At(2000);
  return c;
}

// After migration 8 (the refresh-token forecast), a connection written by version 7
// (`before`) reads back as consented when it was created, and the new columns round-trip.
inline void ExpectAConnectionOfVersionSevenAfterMigrationEight(Store& store, const ConnectionRecord& before) {
  auto read = store.GetConnection(before.name);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ConnectionRecord expected = before;
  expected.consented_at = before.created_at;
  EXPECT_EQ(*read, expected);

  ConnectionRecord changed = *read;
  changed.refresh_server_expires_at = At(90000);
  changed.refresh_lifetime_override = std::chrono::hours(24 * 7);
  changed.refresh_idle_lifetime_override = std::chrono::seconds(20);
  changed.expiring_alerted_for = At(80000);
  ASSERT_TRUE(store.UpdateConnection(changed, read->token_version).ok());
  auto again = store.GetConnection(before.name);
  ASSERT_TRUE(again.ok());
  changed.token_version = read->token_version + 1;
  EXPECT_EQ(*again, changed);
}

// Audit rows as version 9 wrote them, oldest first: no client (it had no such column).
inline std::vector<AuditRecord> AuditRowsOfVersionNine() {
  return {{.id = 0,
           .at = At(1000),
           .agent = "bot",
           .client = "",
           .connection = "gmail",
           .method = "GET",
           .path = "/a",
           .upstream_status = 200,
           .code = "",
           .latency_ms = 5,
           .refreshed = false},
          {.id = 0,
           .at = At(2000),
           .agent = "bot",
           .client = "",
           .connection = "slack",
           .method = "POST",
           .path = "/b",
           .upstream_status = 401,
           .code = "reauth_required",
           .latency_ms = 7,
           .refreshed = true}};
}

// The audit rows `before` (oldest first) read back whole from `store`, which holds no other.
inline void ExpectTheAuditRows(Store& store, const std::vector<AuditRecord>& before) {
  AuditFilter all;
  all.limit = 1000;
  auto read = store.QueryAudit(all);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    const AuditRecord& got = (*read)[before.size() - 1 - i];  // newest first
    AuditRecord want = before[i];
    want.id = got.id;
    EXPECT_EQ(got, want) << "row " << i;
  }
}

// After migration 10 (the MCP client a call came through), the audit rows version 9 wrote
// (`before`, oldest first, naming no client) read back whole; a new row names its own.
inline void ExpectAuditRowsOfVersionNineAfterMigrationTen(Store& store,
                                                          const std::vector<AuditRecord>& before) {
  ExpectTheAuditRows(store, before);

  AuditRecord next = before.back();
  next.at = At(3000);
  next.client = "https://client.example/m.json";
  ASSERT_TRUE(store.AppendAudit(next).ok());
  AuditFilter through;
  through.client = next.client;
  auto rows = store.QueryAudit(through);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  next.id = rows->front().id;
  EXPECT_EQ(rows->front(), next);
  AuditFilter all;
  all.limit = 1000;
  auto newest = store.QueryAudit(all);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest->front().id, next.id) << "its id is above every earlier row's";
}

inline AgentRecord Agent(std::string name, std::string id) {
  return {std::move(id), std::move(name), B("hash"), {"work-gmail:GET:/gmail/*"}, At(3000), std::nullopt};
}

inline PendingAuthorization Pending(std::string id, int64_t data_key_id, TimePoint expires_at) {
  return {std::move(id), "work-gmail",     "google",    {"openid"}, "http://127.0.0.1/cb",
          "nonce-1",     B("sealed-pkce"), data_key_id, At(1000),   expires_at,
          std::nullopt,  "binding-hash",   true,        "claude",   "endpoints-digest"};
}

inline AlertEvent Alert(std::string event_id, TimePoint created_at) {
  return {std::move(event_id),
          "connection.needs_reauth",
          "work-gmail",
          R"({"a":1})",
          created_at,
          0,
          std::nullopt,
          std::nullopt,
          ""};
}

// The tables of a migrated database and their columns (`schema`), against SnapshotTables():
// each carried table with exactly its columns, and every other table one a backup leaves out
// on purpose. A migration that adds state without adding it to snapshot.cc fails here.
inline void ExpectSnapshotTablesCoverTheSchema(const std::map<std::string, std::set<std::string>>& schema) {
  std::map<std::string, std::set<std::string>> carried;
  for (const SnapshotTable& table : SnapshotTables()) {
    for (const SnapshotColumn& column : table.columns) carried[std::string(table.name)].emplace(column.name);
  }
  for (const auto& [table, columns] : schema) {
    if (table == "audit" || table == "audit_batch" || table == "audit_batch_name" ||
        table == "pending_authorizations" || table == "schema_migrations" || table == "handover") {
      continue;
    }
    auto found = carried.find(table);
    if (found == carried.end()) {
      ADD_FAILURE() << "table " << table << " is neither carried by a backup nor left out on purpose";
      continue;
    }
    EXPECT_EQ(found->second, columns) << "the columns of table " << table;
    carried.erase(found);
  }
  for (const auto& [table, columns] : carried) ADD_FAILURE() << "no table " << table << " in the database";
}

// A store written by the version before migration 12 (which dropped the index on
// audit.at): its rows read back as they were, and retention, which now walks them in write
// order, deletes the old ones. `before` was appended before the store went back to 11.
inline void ExpectAuditRowsOfVersionElevenAfterMigrationTwelve(Store& store,
                                                               const std::vector<AuditRecord>& before) {
  ExpectTheAuditRows(store, before);
  auto deleted = store.DeleteAuditBefore(before.back().at, before.back().at);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, static_cast<int64_t>(before.size()) - 1);
}

// Migrations after the oldest schema whose snapshots a restore takes (kOldestSnapshotSchema)
// must leave the tables a backup carries alone, or that constant must move: a snapshot's
// rows go into the newest schema as they are. A migration naming a carried table is taken
// for one that changes it.
inline void ExpectNoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable(
    std::span<const sql::Migration> migrations) {
  for (const sql::Migration& migration : migrations) {
    if (migration.version <= kOldestSnapshotSchema) continue;
    for (const SnapshotTable& table : SnapshotTables()) {
      const std::regex named("\\b" + std::string(table.name) + "\\b", std::regex::icase);
      EXPECT_FALSE(std::regex_search(migration.sql, named))
          << "migration " << migration.version << " names table " << table.name
          << ", which backups carry: move kOldestSnapshotSchema (store/snapshot.h) to " << migration.version
          << ", or let older snapshots in another way";
    }
  }
}

}  // namespace latchkey::store::testing
