// Contract tests: ExportSnapshot and ImportSnapshot (backup and restore), on each backend
// and from one backend to the other.
#include <atomic>
#include <set>
#include <thread>

#include "store/postgres_test_cluster.h"
#include "store/sqlite_store.h"
#include "store/store_contract_test.h"
#include "support/temp_dir.h"

namespace latchkey::store::testing {
namespace {

using ::testing::HasSubstr;

StatusOr<Snapshot> Export(Store& store) {
  Snapshot out;
  Status done = store.ExportSnapshot({
      .begin =
          [&](const SnapshotInfo& info) {
            out.schema_version = info.schema_version;
            return Status::Ok();
          },
      .row =
          [&](const SnapshotRow& row) {
            out.rows.push_back(row);
            return Status::Ok();
          },
  });
  if (!done.ok()) return done;
  return out;
}

std::vector<SnapshotRow> RowsOf(Store& store) {
  StatusOr<Snapshot> snapshot = Export(store);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  return snapshot.ok() ? snapshot->rows : std::vector<SnapshotRow>{};
}

// A row of every carried table, with the optional columns set somewhere, and rows of the
// tables a snapshot leaves out (audit, pending_authorizations).
void Populate(Store& store) {
  ASSERT_TRUE(store.InitializeDataKey(DataKey(7)).ok());
  ASSERT_TRUE(store.AddDataKeyWrappers({DataKey(7, "mk-2")}).ok());
  ASSERT_TRUE(
      store.UpsertProvider({"acme", "name = \"acme\"\n", B("sealed-client-secret"), 7, At(100), At(200)})
          .ok());
  ASSERT_TRUE(
      store.UpsertProvider({"plain", "name = \"plain\"\n", std::nullopt, std::nullopt, At(100), At(100)})
          .ok());

  ConnectionRecord oauth = Connection("work-gmail", "c-oauth", 7);
  oauth.token_obtained_at = At(2100);
  oauth.refresh_failures = 2;
  oauth.next_refresh_attempt_at = At(2200);
  oauth.last_refresh_at = At(2050);
  oauth.consented_at = At(1900);
  oauth.refresh_server_expires_at = At(99000);
  oauth.refresh_lifetime_override = std::chrono::hours(24);
  oauth.refresh_idle_lifetime_override = std::chrono::seconds(600);
  oauth.expiring_alerted_for = At(98000);
  oauth.last_error = "the token endpoint said \"slow down\"";
  ASSERT_TRUE(store.InsertConnection(oauth).ok());
  ConnectionRecord api_key = Connection("stripe", "c-key", 7);
  api_key.kind = CredentialKind::kApiKey;
  api_key.provider = "stripe";
  api_key.access_token.reset();
  api_key.refresh_token.reset();
  api_key.api_key = B(std::string("sealed\0key\xff", 11));
  api_key.expires_at.reset();
  api_key.scopes = {};
  ASSERT_TRUE(store.InsertConnection(api_key).ok());
  ConnectionRecord gone = Connection("old", "c-gone", 7);
  gone.status = ConnectionStatus::kDisconnected;
  gone.access_token.reset();
  gone.refresh_token.reset();
  gone.data_key_id.reset();
  gone.needs_reauth_since = At(3000);
  ASSERT_TRUE(store.InsertConnection(gone).ok());

  ASSERT_TRUE(store.InsertAgent(Agent("claude", "ag1")).ok());
  ASSERT_TRUE(store.InsertAgent(Agent("old-bot", "ag2")).ok());
  ASSERT_TRUE(store.RevokeAgent("old-bot", At(4000)).ok());
  ASSERT_TRUE(store.InsertAdminToken({"adm1", B("admin-hash"), At(100), std::nullopt}).ok());
  ASSERT_TRUE(store.InsertAdminToken({"adm2", B("admin-hash-2"), At(100), At(150)}).ok());

  McpClientRecord client;
  client.client_id = "https://client.example/metadata.json";
  client.metadata_document = true;
  client.name = "Client";
  client.redirect_uris = {"http://127.0.0.1/cb"};
  client.token_endpoint_auth_method = "none";
  client.document_expires_at = At(9000);
  client.created_at = client.updated_at = At(1000);
  ASSERT_TRUE(store.UpsertMcpClient(client).ok());
  ASSERT_TRUE(store.UpsertMcpConsent({client.client_id, "claude", {"mcp"}, At(1000), std::nullopt}).ok());
  McpTokenRecord token;
  token.token_hash = B("hash-of-refresh");
  token.kind = McpTokenKind::kRefresh;
  token.family_id = "fam-1";
  token.client_id = client.client_id;
  token.agent = "claude";
  token.resource = "https://latchkey.example/mcp";
  token.scopes = {"mcp"};
  token.created_at = At(1000);
  token.expires_at = At(61000);
  ASSERT_TRUE(store.InsertMcpToken(token).ok());

  ASSERT_TRUE(store.EndSession("session-1", At(7000)).ok());
  ASSERT_TRUE(store.EnqueueAlert(Alert("ev-1", At(500))).ok());
  ASSERT_TRUE(store.EnqueueAlert(Alert("ev-2", At(600))).ok());
  ASSERT_TRUE(store.MarkAlertDelivered("ev-1", At(700)).ok());
  ASSERT_TRUE(store.MarkAlertFailed("ev-2", "503 from the receiver", At(800)).ok());

  ASSERT_TRUE(store.AppendAudit({0, At(1), "claude", "", "work-gmail", "GET", "/", 200, "", 3, false}).ok());
  ASSERT_TRUE(store.InsertPendingAuthorization(Pending("state-hash", 7, At(9999))).ok());
}

std::set<std::string> TablesIn(const std::vector<SnapshotRow>& rows) {
  std::set<std::string> tables;
  for (const SnapshotRow& row : rows) tables.insert(row.table);
  return tables;
}

std::set<std::string> CarriedTables() {
  std::set<std::string> tables;
  for (const SnapshotTable& table : SnapshotTables()) tables.insert(std::string(table.name));
  return tables;
}

// Replaces the value of `column` in the first row of `table`.
void SetCell(Snapshot& snapshot, std::string_view table, std::string_view column, SnapshotValue value) {
  for (SnapshotRow& row : snapshot.rows) {
    if (row.table != table) continue;
    for (SnapshotCell& cell : row.cells) {
      if (cell.column == column) {
        cell.value = std::move(value);
        return;
      }
    }
  }
  ADD_FAILURE() << "no " << table << "." << column;
}

TEST_P(StoreContractTest, SnapshotImportedIntoAnEmptyStoreExportsTheSameRows) {
  ASSERT_NO_FATAL_FAILURE(Populate(store()));
  StatusOr<Snapshot> copy = Export(store());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->schema_version, *store().SchemaVersion());
  EXPECT_EQ(TablesIn(copy->rows), CarriedTables()) << "every carried table has rows, no other table";

  std::unique_ptr<StoreTestEnv> fresh_env = GetParam().make();
  auto fresh = fresh_env->Open();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(RowsOf(**fresh).empty()) << "a migrated store holds no rows";
  ASSERT_TRUE((*fresh)->ImportSnapshot(*copy).ok());

  StatusOr<Snapshot> again = Export(**fresh);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->schema_version, copy->schema_version);
  EXPECT_EQ(again->rows, copy->rows);
  EXPECT_EQ(*(*fresh)->GetConnection("work-gmail"), *store().GetConnection("work-gmail"));
  std::vector<SecretCell> cells = *store().ListSecretCells();
  std::erase_if(cells, [](const SecretCell& c) { return c.table == "pending_authorizations"; });
  EXPECT_EQ(*(*fresh)->ListSecretCells(), cells) << "every sealed cell but the pending ones, as it was";
  // New rows get ids past the imported ones (PostgreSQL's identity sequence moved on).
  EXPECT_TRUE((*fresh)->EnqueueAlert(Alert("ev-3", At(900))).ok());
  EXPECT_EQ(*(*fresh)->CountUndeliveredAlerts(), 2);
}

TEST_P(StoreContractTest, SnapshotImportIntoANonEmptyStoreIsRefusedAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(Populate(store()));
  StatusOr<Snapshot> copy = Export(store());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();

  std::unique_ptr<StoreTestEnv> other_env = GetParam().make();
  auto other = other_env->Open();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->InsertAgent(Agent("someone", "ag-other")).ok());
  const std::vector<SnapshotRow> before = RowsOf(**other);
  Status refused = (*other)->ImportSnapshot(*copy);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr("table agents"));
  EXPECT_EQ(RowsOf(**other), before);

  // Into itself: the first carried table already has rows.
  refused = store().ImportSnapshot(*copy);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr("table data_keys"));
  EXPECT_EQ(RowsOf(store()), copy->rows);

  Snapshot newer = *copy;
  newer.schema_version += 1;
  std::unique_ptr<StoreTestEnv> empty_env = GetParam().make();
  auto empty = empty_env->Open();
  ASSERT_TRUE(empty.ok());
  refused = (*empty)->ImportSnapshot(newer);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr("schema version"));
  EXPECT_TRUE(RowsOf(**empty).empty());
}

TEST_P(StoreContractTest, SnapshotImportRefusesWhatTheSchemaDoesNotHoldAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(Populate(store()));
  StatusOr<Snapshot> copy = Export(store());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  auto with_last_row = [&](SnapshotRow row) {
    Snapshot bad = *copy;
    bad.rows.push_back(std::move(row));
    return bad;
  };
  SnapshotRow session = copy->rows.back();
  ASSERT_EQ(session.table, "alert_outbox");

  struct Case {
    std::string what;
    Snapshot snapshot;
    std::string named;  // the message names it
  };
  std::vector<Case> cases;
  cases.push_back({"unknown table", with_last_row({"audit", {{"id", int64_t{1}}}}), "'audit'"});
  SnapshotRow unknown_column = session;
  unknown_column.cells.push_back({"colour", std::string("red")});
  cases.push_back({"unknown column", with_last_row(unknown_column), "table alert_outbox column 'colour'"});
  SnapshotRow missing_column = session;
  missing_column.cells.pop_back();
  cases.push_back({"missing column", with_last_row(missing_column), "no column last_error"});
  SnapshotRow twice = session;
  twice.cells.push_back(twice.cells.front());
  cases.push_back({"column twice", with_last_row(twice), "column 'seq' appears twice"});
  Snapshot wrong_type = *copy;
  SetCell(wrong_type, "connections", "token_version", std::string("7"));
  cases.push_back({"text for an integer", wrong_type, "table connections column 'token_version'"});
  Snapshot bytes_for_text = *copy;
  SetCell(bytes_for_text, "agents", "name", B("claude"));
  cases.push_back({"bytes for text", bytes_for_text, "table agents column 'name'"});
  // Well formed, so only the database refuses it, at the last row: the rows before roll back.
  SnapshotRow no_event_id = session;
  no_event_id.cells[0].value = int64_t{99};
  no_event_id.cells[1].value = std::monostate{};
  cases.push_back({"null in a NOT NULL column", with_last_row(no_event_id), "alert_outbox"});

  std::unique_ptr<StoreTestEnv> target_env = GetParam().make();
  auto target = target_env->Open();
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  for (const Case& c : cases) {
    Status refused = (*target)->ImportSnapshot(c.snapshot);
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << c.what << ": " << refused.ToString();
    EXPECT_THAT(refused.message(), HasSubstr(c.named)) << c.what;
    EXPECT_TRUE(RowsOf(**target).empty()) << c.what;
  }
  EXPECT_TRUE((*target)->ImportSnapshot(*copy).ok()) << "the store is still empty and takes the good copy";
}

// Each update of the connection enqueues one alert in the same transaction, so a
// consistent copy holds exactly as many alerts as the token version it shows, although
// the connections table is read before the outbox.
TEST_P(StoreContractTest, SnapshotIsConsistentWhileAWriterRuns) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("busy", "c-busy", 1)).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> updates{0};
  std::thread writer([&] {
    while (!stop) {
      auto current = store().GetConnection("busy");
      if (!current.ok()) break;
      ConnectionRecord next = *current;
      const int64_t version = current->token_version;
      next.access_token = B("sealed-access-" + std::to_string(version + 1));
      Status s =
          store().UpdateConnection(next, version, Alert("ev-" + std::to_string(version + 1), At(version)));
      if (s.ok()) {
        ++updates;
      } else if (s.code() != StatusCode::kAborted) {
        ADD_FAILURE() << s.ToString();
        break;
      }
    }
  });
  int exports = 0;
  int seen_versions = 0;
  int64_t last_version = 0;
  // Until the copies have shown a few versions (a commit may take a disk flush or more).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (; exports < 5 || (seen_versions < 5 && std::chrono::steady_clock::now() < give_up); ++exports) {
    StatusOr<Snapshot> copy = Export(store());
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    int64_t version = -1;
    int64_t alerts = 0;
    for (const SnapshotRow& row : copy->rows) {
      if (row.table == "connections") {
        version = std::get<int64_t>(*row.Find("token_version"));
        EXPECT_EQ(std::get<Bytes>(*row.Find("access_token")),
                  version == 0 ? B("sealed-access-c-busy") : B("sealed-access-" + std::to_string(version)));
      }
      if (row.table == "alert_outbox") ++alerts;
    }
    EXPECT_EQ(alerts, version) << "export " << exports;
    if (version > last_version) ++seen_versions;
    last_version = version;
  }
  stop = true;
  writer.join();
  EXPECT_GE(seen_versions, 5) << "the copies were made while the writer ran";
}

// From SQLite to PostgreSQL and back: the same rows, byte for byte.
TEST(SnapshotAcrossBackendsTest, SqliteToPostgresAndBackGivesTheSameRows) {
  latchkey::testing::ScopedTempDir dir;
  auto open_sqlite = [&](const std::string& name) {
    return OpenSqliteStore(
        {.path = (dir.path() / name).string(), .busy_wait = std::chrono::milliseconds(10000)},
        SystemClock::Instance());
  };
  auto sqlite = open_sqlite("source.db");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Populate(**sqlite));
  StatusOr<Snapshot> from_sqlite = Export(**sqlite);
  ASSERT_TRUE(from_sqlite.ok()) << from_sqlite.status().ToString();

  PostgresTestEnv pg_env;
  auto postgres = pg_env.Open();
  ASSERT_TRUE(postgres.ok()) << postgres.status().ToString();
  ASSERT_TRUE((*postgres)->ImportSnapshot(*from_sqlite).ok());
  StatusOr<Snapshot> from_postgres = Export(**postgres);
  ASSERT_TRUE(from_postgres.ok()) << from_postgres.status().ToString();
  EXPECT_EQ(from_postgres->schema_version, from_sqlite->schema_version);
  EXPECT_EQ(from_postgres->rows, from_sqlite->rows);

  // A store made on PostgreSQL, moved to SQLite.
  PostgresTestEnv pg_source_env;
  auto pg_source = pg_source_env.Open();
  ASSERT_TRUE(pg_source.ok()) << pg_source.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Populate(**pg_source));
  StatusOr<Snapshot> made_on_postgres = Export(**pg_source);
  ASSERT_TRUE(made_on_postgres.ok()) << made_on_postgres.status().ToString();
  EXPECT_EQ(made_on_postgres->rows, from_sqlite->rows) << "both backends store the same rows alike";
  auto target = open_sqlite("target.db");
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  ASSERT_TRUE((*target)->ImportSnapshot(*made_on_postgres).ok());
  EXPECT_EQ(RowsOf(**target), made_on_postgres->rows);
  EXPECT_TRUE((*target)->EnqueueAlert(Alert("ev-3", At(900))).ok());
}

// `backup --final` fences the store it copies: no refresh starts there and no MCP code or
// refresh token is spent until the fence is lifted, so the copy keeps the latest tokens.
// Writes that start no refresh (a refresh's own result, an operator's change) go on.
TEST_P(StoreContractTest, AHandedOverStoreStartsNoRefreshAndSpendsNoMcpTokenUntilResumed) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(7)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("work", "c-fenced", 7)).ok());
  ASSERT_EQ(*store().HandedOverAt(), std::nullopt);
  ASSERT_TRUE(store().SetHandedOver(At(5000)).ok());
  EXPECT_EQ(*store().HandedOverAt(), std::optional<TimePoint>(At(5000)));

  ConnectionRecord starting = *store().GetConnectionById("c-fenced");
  starting.refresh_started_at = At(5001);
  const Status refused = store().UpdateConnection(starting, starting.token_version);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_THAT(std::string(refused.message()), HasSubstr("handed over"));
  EXPECT_EQ(store().GetConnectionById("c-fenced")->refresh_started_at, std::nullopt) << "nothing was written";

  ConnectionRecord noted = *store().GetConnectionById("c-fenced");
  noted.last_error = "an operator's note";
  EXPECT_TRUE(store().UpdateConnection(noted, noted.token_version).ok());
  const auto spent = store().SpendMcpToken(B("no-such-token"), At(5002), {}, std::chrono::seconds(0));
  EXPECT_EQ(spent.status().code(), StatusCode::kFailedPrecondition) << spent.status().ToString();
  EXPECT_THAT(std::string(spent.status().message()), HasSubstr("handed over"));

  ASSERT_TRUE(store().SetHandedOver(std::nullopt).ok());
  EXPECT_EQ(*store().HandedOverAt(), std::nullopt);
  starting = *store().GetConnectionById("c-fenced");
  starting.refresh_started_at = At(5003);
  EXPECT_TRUE(store().UpdateConnection(starting, starting.token_version).ok());
  EXPECT_EQ(store().SpendMcpToken(B("no-such-token"), At(5004), {}, std::chrono::seconds(0)).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace latchkey::store::testing
