#include "vault/store_retention.h"

#include <gtest/gtest.h>

#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using std::chrono::hours;

class StoreRetentionTest : public VaultTest {
 protected:
  void AddPending(const std::string& id, TimePoint expires_at) {
    auto key = vault_->keys().ActiveDataKeyId();
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    store::PendingAuthorization pending{.id = id,
                                        .connection_name = "work",
                                        .provider = "acme",
                                        .scopes = {"api:read"},
                                        .redirect_uri = "http://127.0.0.1/cb",
                                        .nonce = "n",
                                        .pkce_verifier = {},
                                        .data_key_id = *key,
                                        .created_at = clock_.Now(),
                                        .expires_at = expires_at,
                                        .consumed_at = std::nullopt,
                                        .binding_hash = "b",
                                        .allow_account_switch = false,
                                        .asked_by = "",
                                        .endpoints_digest = ""};
    auto sealed = vault_->keys().Seal("verifier", {"pending_authorizations", id, "pkce_verifier"});
    ASSERT_TRUE(sealed.ok());
    pending.pkce_verifier = *sealed;
    ASSERT_TRUE(vault_->store().InsertPendingAuthorization(pending).ok());
  }
  void AddAudit(const std::string& agent, TimePoint at) {
    store::AuditRecord row;
    row.at = at;
    row.agent = agent;
    row.connection = "work";
    row.method = "GET";
    row.path = "/read";
    ASSERT_TRUE(vault_->store().AppendAudit(row).ok());
  }
};

TEST_F(StoreRetentionTest, ExpiredPendingAuthorizationsAndOldAuditRowsGo) {
  const TimePoint start = clock_.Now();
  AddPending("expires-soon", start + std::chrono::minutes(10));
  AddPending("expires-later", start + hours(2));
  AddAudit("old", start);
  clock_.Advance(hours(24 * 91));
  AddAudit("recent", clock_.Now() - hours(24));
  AddAudit("newest", clock_.Now());

  StoreRetention retention(vault_->store(), clock_, {.audit_retention = hours(24 * 90)});
  auto pass = retention.RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->pending_deleted, 2);
  EXPECT_EQ(pass->audit_deleted, 1);
  auto rows = vault_->store().QueryAudit({.agent = std::nullopt,
                                          .connection = std::nullopt,
                                          .code = std::nullopt,
                                          .client = std::nullopt,
                                          .after_id = std::nullopt,
                                          .limit = 10});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2U);
  EXPECT_EQ(rows->back().agent, "recent");
}

TEST_F(StoreRetentionTest, ZeroRetentionKeepsEveryAuditRow) {
  AddAudit("old", clock_.Now());
  clock_.Advance(hours(24 * 3650));
  AddAudit("newest", clock_.Now());
  StoreRetention retention(vault_->store(), clock_, {.audit_retention = hours(0)});
  auto pass = retention.RunOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->audit_deleted, 0);
}

// The daemon's pass keeps an MCP token a day past its expiry (a replay still ends its
// family) and a client no consent or token names for a week.
TEST_F(StoreRetentionTest, McpTokensGoADayAfterTheyExpireAndUnusedClientsAfterAWeek) {
  const TimePoint start = clock_.Now();
  for (const char* id : {"lkc_used", "lkc_idle"}) {
    store::McpClientRecord client;
    client.client_id = id;
    client.name = id;
    client.redirect_uris = {"http://127.0.0.1/callback"};
    client.token_endpoint_auth_method = "none";
    client.created_at = client.updated_at = start;
    ASSERT_TRUE(vault_->store().UpsertMcpClient(client).ok());
  }
  store::McpTokenRecord token;
  token.token_hash = Bytes{1, 2, 3};
  token.kind = store::McpTokenKind::kAccess;
  token.family_id = "f";
  token.client_id = "lkc_used";
  token.agent = "bot";
  token.resource = "https://latchkey.example/mcp";
  token.scopes = {"mcp"};
  token.created_at = start;
  token.expires_at = start + hours(1);
  ASSERT_TRUE(vault_->store().InsertMcpToken(token).ok());
  StoreRetention retention(vault_->store(), clock_, {});
  auto deleted = [&] {
    auto pass = retention.RunOnce();
    EXPECT_TRUE(pass.ok()) << pass.status().ToString();
    return pass.ok() ? pass->mcp_deleted : store::Store::McpRowsDeleted{};
  };

  clock_.Advance(hours(1) + kMcpExpiredTokensKept - std::chrono::minutes(1));
  EXPECT_EQ(deleted().tokens, 0) << "expired, but not a day ago";
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(deleted().tokens, 1);
  EXPECT_EQ(vault_->store().GetMcpToken(token.token_hash).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(vault_->store().GetMcpClient("lkc_idle").ok()) << "a client waits a week for its human";

  clock_.Advance(kMcpUnusedClientsKept);
  EXPECT_EQ(deleted().clients, 2);
  EXPECT_EQ(vault_->store().GetMcpClient("lkc_used").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace latchkey::vault
