// Contract tests: providers, connections, agents.
#include <algorithm>

#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

TEST_P(StoreContractTest, ProvidersUpsertGetList) {
  ProviderRecord p{"acme", "[provider]\nname='acme'", std::nullopt, std::nullopt, At(1), At(1)};
  ASSERT_TRUE(store().UpsertProvider(p).ok());
  EXPECT_EQ(*store().GetProvider("acme"), p);
  ProviderRecord changed = p;
  changed.definition = "[provider]\nname='acme2'";
  changed.created_at = At(99);  // ignored: created_at is kept
  changed.updated_at = At(2);
  ASSERT_TRUE(store().UpsertProvider(changed).ok());
  auto got = store().GetProvider("acme");
  EXPECT_EQ(got->definition, changed.definition);
  EXPECT_EQ(got->created_at, At(1));
  EXPECT_EQ(got->updated_at, At(2));
  ASSERT_TRUE(store().UpsertProvider({"beta", "", std::nullopt, std::nullopt, At(1), At(1)}).ok());
  auto all = store().ListProviders();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "acme");
  auto missing = store().GetProvider("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "provider 'nope' does not exist");
}

TEST_P(StoreContractTest, ProviderSecretNeedsADataKeyId) {
  Status s = store().UpsertProvider({"acme", "", B("sealed"), std::nullopt, At(1), At(1)});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST_P(StoreContractTest, ConnectionRoundTripsEveryField) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ConnectionRecord c = Connection("work-gmail", "c1", 1);
  c.status = ConnectionStatus::kNeedsReauth;
  c.api_key = B("k");
  c.password = B("");
  c.username = "bob";
  c.token_version = 4;
  c.last_refresh_at = At(10);
  c.needs_reauth_since = At(11);
  c.last_error = "the refresh token was revoked";
  c.consented_at = At(12);
  c.refresh_server_expires_at = At(13);
  c.refresh_lifetime_override = std::chrono::hours(24 * 7);
  c.refresh_idle_lifetime_override = std::chrono::seconds(20);
  c.expiring_alerted_for = At(14);
  ASSERT_TRUE(store().InsertConnection(c).ok());
  EXPECT_EQ(*store().GetConnection("work-gmail"), c);
  EXPECT_EQ(*store().GetConnectionById("c1"), c);
  EXPECT_EQ(store().GetConnection("other").status().message(), "connection 'other' does not exist");
  EXPECT_EQ(store().GetConnectionById("zz").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ConnectionWithoutSecretsNeedsNoDataKey) {
  ConnectionRecord c = Connection("pending-one", "c1", 1);
  c.status = ConnectionStatus::kPending;
  c.access_token.reset();
  c.refresh_token.reset();
  c.data_key_id.reset();
  c.expires_at.reset();
  c.scopes.clear();
  ASSERT_TRUE(store().InsertConnection(c).ok());
  EXPECT_EQ(*store().GetConnection("pending-one"), c);
}

TEST_P(StoreContractTest, ConnectionNamesAreUniqueUntilDisconnected) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("work-gmail", "c1", 1)).ok());
  Status clash = store().InsertConnection(Connection("work-gmail", "c2", 1));
  EXPECT_EQ(clash.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(clash.message(), "connection 'work-gmail' already exists");
  EXPECT_EQ(store().InsertConnection(Connection("other", "c1", 1)).code(), StatusCode::kAlreadyExists);

  ConnectionRecord gone = *store().GetConnection("work-gmail");
  gone.status = ConnectionStatus::kDisconnected;
  gone.access_token.reset();
  gone.refresh_token.reset();
  ASSERT_TRUE(store().UpdateConnection(gone, 0).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("work-gmail", "c2", 1)).ok());
  auto all = store().ListConnections();
  ASSERT_EQ(all->size(), 1u);  // the disconnected row was replaced
  EXPECT_EQ((*all)[0].id, "c2");
  EXPECT_EQ(store().GetConnectionById("c1").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, SchedulingListsLeaveSecretsOutAndCanStartFromAnUpdateTime) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ConnectionRecord early = Connection("early", "id-early", 1);
  ConnectionRecord late = Connection("late", "id-late", 1);
  late.updated_at = At(9000);
  late.token_obtained_at = At(4000);
  late.next_refresh_attempt_at = At(7000);
  ConnectionRecord keyed = Connection("keyed", "id-keyed", 1);
  keyed.kind = CredentialKind::kApiKey;
  keyed.access_token.reset();
  keyed.refresh_token.reset();
  keyed.api_key = B("sealed-key");
  keyed.updated_at = At(9500);
  for (const auto& c : {early, late, keyed}) ASSERT_TRUE(store().InsertConnection(c).ok());

  auto all = store().ListConnectionsForScheduling(std::nullopt);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  for (const ConnectionRecord& row : *all) {
    EXPECT_FALSE(row.access_token || row.api_key || row.password) << row.name;
    ConnectionRecord full = *store().GetConnectionById(row.id);
    // Whether there is a refresh token, and no byte of it.
    EXPECT_EQ(row.refresh_token.has_value(), full.refresh_token.has_value()) << row.name;
    EXPECT_TRUE(!row.refresh_token || row.refresh_token->empty()) << row.name;
    full.access_token.reset();
    full.refresh_token = row.refresh_token;
    full.api_key.reset();
    full.password.reset();
    EXPECT_EQ(row, full) << "every other column as stored: " << row.name;
  }
  auto changed = store().ListConnectionsForScheduling(At(9000));
  ASSERT_TRUE(changed.ok());
  std::vector<std::string> names;
  for (const auto& row : *changed) names.push_back(row.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"keyed", "late"}));
  EXPECT_TRUE(store().ListConnectionsForScheduling(At(9501))->empty());
}

TEST_P(StoreContractTest, ListConnectionsIncludesDisconnectedOrderedByName) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  for (const char* name : {"zeta", "alpha", "mid"}) {
    ASSERT_TRUE(store().InsertConnection(Connection(name, std::string("id-") + name, 1)).ok());
  }
  ConnectionRecord mid = *store().GetConnection("mid");
  mid.status = ConnectionStatus::kDisconnected;
  ASSERT_TRUE(store().UpdateConnection(mid, 0).ok());
  auto all = store().ListConnections();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "mid");
  EXPECT_EQ((*all)[1].status, ConnectionStatus::kDisconnected);
  EXPECT_EQ((*all)[2].name, "zeta");
  EXPECT_EQ(store().GetConnection("mid")->status, ConnectionStatus::kDisconnected);
}

TEST_P(StoreContractTest, UpdateConnectionIsCompareAndSwapOnTokenVersion) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("work-gmail", "c1", 1)).ok());
  ConnectionRecord next = *store().GetConnection("work-gmail");
  next.access_token = B("sealed-access-2");
  next.expires_at = At(7000);
  next.updated_at = At(6000);
  next.scopes = {"openid"};
  ASSERT_TRUE(store().UpdateConnection(next, 0).ok());
  ConnectionRecord stored = *store().GetConnection("work-gmail");
  EXPECT_EQ(stored.token_version, 1);
  EXPECT_EQ(stored.access_token, B("sealed-access-2"));
  EXPECT_EQ(stored.scopes, std::vector<std::string>{"openid"});
  EXPECT_EQ(stored.created_at, At(2000));

  // A second writer that read version 0 loses.
  Status lost = store().UpdateConnection(next, 0);
  EXPECT_EQ(lost.code(), StatusCode::kAborted) << lost.ToString();
  EXPECT_THAT(lost.message(), ::testing::HasSubstr("connection 'work-gmail'"));
  EXPECT_EQ(store().GetConnection("work-gmail")->token_version, 1);

  ConnectionRecord unknown = Connection("ghost", "nope", 1);
  EXPECT_EQ(store().UpdateConnection(unknown, 0).code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, UpdateConnectionCannotTakeALiveName) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("a", "c1", 1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("b", "c2", 1)).ok());
  ConnectionRecord renamed = *store().GetConnection("b");
  renamed.name = "a";
  EXPECT_EQ(store().UpdateConnection(renamed, 0).code(), StatusCode::kAlreadyExists);
}

TEST_P(StoreContractTest, AgentsInsertGetListRevoke) {
  AgentRecord a = Agent("claude", "ag1");
  ASSERT_TRUE(store().InsertAgent(a).ok());
  EXPECT_EQ(*store().GetAgent("claude"), a);
  EXPECT_EQ(*store().GetAgentById("ag1"), a);
  Status dup = store().InsertAgent(Agent("claude", "ag2"));
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "agent 'claude' already exists");
  ASSERT_TRUE(store().InsertAgent(Agent("bot", "ag3")).ok());
  auto all = store().ListAgents();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "bot");

  ASSERT_TRUE(store().RevokeAgent("claude", At(50)).ok());
  ASSERT_TRUE(store().RevokeAgent("claude", At(60)).ok());
  EXPECT_EQ(store().GetAgent("claude")->revoked_at, At(50));  // the first time is kept
  EXPECT_EQ(store().RevokeAgent("nobody", At(1)).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetAgent("nobody").status().message(), "agent 'nobody' does not exist");
  EXPECT_EQ(store().GetAgentById("x").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace latchkey::store::testing
