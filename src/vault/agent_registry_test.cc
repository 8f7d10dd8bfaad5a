#include "vault/agent_registry.h"

#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

TEST_F(VaultTest, AgentKeyAuthenticatesUntilRevoked) {
  auto created = vault_->agents().Create("bot", {"work:GET:/v1/**"});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto agent = vault_->agents().Authenticate(created->key.reveal());
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  EXPECT_EQ(agent->record.name, "bot");
  EXPECT_TRUE(agent->policy.Allows("work", "GET", "/v1/messages"));
  EXPECT_FALSE(agent->policy.Allows("work", "POST", "/v1/messages"));

  ASSERT_TRUE(vault_->agents().Revoke("bot").ok());
  auto after = vault_->agents().Authenticate(created->key.reveal());
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, EveryWrongKeyGetsTheSameAnswer) {
  auto created = vault_->agents().Create("bot", {"work"});
  ASSERT_TRUE(created.ok());
  std::string key(created->key.reveal());
  std::string wrong_secret = key;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  std::string unknown_id = key;
  unknown_id[3] = unknown_id[3] == '0' ? '1' : '0';
  ASSERT_TRUE(vault_->agents().Create("other", {"work"}).ok());
  ASSERT_TRUE(vault_->agents().Revoke("other").ok());

  std::string first_message;
  for (const std::string& presented : {wrong_secret, unknown_id, std::string(), std::string("lk_"),
                                       std::string("Bearer ") + key, key.substr(0, key.size() - 1)}) {
    auto result = vault_->agents().Authenticate(presented);
    ASSERT_FALSE(result.ok()) << presented;
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
    if (first_message.empty()) first_message = result.status().message();
    EXPECT_EQ(result.status().message(), first_message) << "the answer must not tell the cases apart";
    EXPECT_EQ(result.status().message().find(key), std::string::npos);
  }
}

TEST_F(VaultTest, OnlyTheKeyHashIsStored) {
  auto created = vault_->agents().Create("bot", {"work"});
  ASSERT_TRUE(created.ok());
  auto stored = vault_->store().GetAgent("bot");
  ASSERT_TRUE(stored.ok());
  std::string key(created->key.reveal());
  std::string secret = key.substr(key.rfind('_') + 1);
  std::string hash(stored->key_hash.begin(), stored->key_hash.end());
  EXPECT_EQ(hash.find(secret), std::string::npos);
  EXPECT_EQ(stored->key_hash.size(), 32u);
}

TEST_F(VaultTest, InvalidRulesCreateNothing) {
  auto created = vault_->agents().Create("bot", {"work:GET", "work:FETCH"});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(created.status().message().find("FETCH"), std::string::npos);
  EXPECT_EQ(vault_->store().GetAgent("bot").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(vault_->agents().Create("bot", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vault_->agents().Create("Bad Name", {"x"}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::vault

namespace latchkey::vault {
namespace {

TEST_F(VaultTest, AdminTokenIsCreatedOnceAndAuthenticatesUntilRevoked) {
  auto first = vault_->admin_tokens().EnsureOne();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->has_value());
  const std::string token((*first)->reveal());
  EXPECT_TRUE(token.starts_with("lka_"));
  auto second = vault_->admin_tokens().EnsureOne();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value()) << "one exists already";
  EXPECT_TRUE(vault_->admin_tokens().Authenticate(token).ok());
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const std::string& wrong :
       {token + "x", flipped, std::string("lk_x"), std::string(""), "lk" + token.substr(3)}) {
    Status denied = vault_->admin_tokens().Authenticate(wrong);
    EXPECT_EQ(denied.code(), StatusCode::kUnauthenticated) << wrong;
  }
  const std::string id = token.substr(4, 16);
  ASSERT_TRUE(vault_->admin_tokens().Revoke(id).ok());
  EXPECT_EQ(vault_->admin_tokens().Authenticate(token).code(), StatusCode::kUnauthenticated);
  auto replaced = vault_->admin_tokens().EnsureOne();
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(replaced->has_value()) << "every token is revoked: a new one is made";
}

}  // namespace
}  // namespace latchkey::vault
