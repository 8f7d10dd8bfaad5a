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

}  // namespace
}  // namespace latchkey::vault
