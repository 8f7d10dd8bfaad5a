#include "vault/credential.h"

#include <gtest/gtest.h>

namespace latchkey::vault {
namespace {

provider::ProviderDefinition ApiKeyProvider(std::string header, std::string query, std::string prefix) {
  provider::ProviderDefinition p;
  p.name = "keyed";
  p.auth = provider::AuthKind::kApiKey;
  p.api_key_header = std::move(header);
  p.api_key_query = std::move(query);
  p.api_key_prefix = std::move(prefix);
  return p;
}

store::ConnectionRecord Connection(store::CredentialKind kind, std::string username = {}) {
  store::ConnectionRecord record;
  record.name = "work";
  record.kind = kind;
  record.username = std::move(username);
  return record;
}

ConnectionSecrets Secrets() {
  ConnectionSecrets secrets;
  secrets.api_key = SecretString("k-123");
  secrets.password = SecretString("p:w");
  return secrets;
}

TEST(CredentialTest, AnAccessTokenGoesInAuthorizationWithItsTypeNormalized) {
  for (std::string_view type : {"", "bearer", "BEARER", "Bearer"}) {
    Credential c = Credential::ForAccessToken(type, SecretString("at-1"));
    EXPECT_EQ(c.header, "Authorization");
    EXPECT_TRUE(c.query.empty());
    EXPECT_EQ(c.value.reveal(), "Bearer at-1") << "type '" << type << "'";
  }
  EXPECT_EQ(Credential::ForAccessToken("DPoP", SecretString("at-1")).value.reveal(), "DPoP at-1");
}

TEST(CredentialTest, AnApiKeyGoesInTheProvidersHeaderOrQueryAfterItsPrefix) {
  const Credential header = Credential::ForStaticSecret(Connection(store::CredentialKind::kApiKey),
                                                        ApiKeyProvider("X-Api-Key", "", "Token "), Secrets());
  EXPECT_EQ(header.header, "X-Api-Key");
  EXPECT_TRUE(header.query.empty());
  EXPECT_EQ(header.value.reveal(), "Token k-123");
  const Credential query = Credential::ForStaticSecret(Connection(store::CredentialKind::kApiKey),
                                                       ApiKeyProvider("", "api_key", ""), Secrets());
  EXPECT_TRUE(query.header.empty());
  EXPECT_EQ(query.query, "api_key");
  EXPECT_EQ(query.value.reveal(), "k-123");
}

TEST(CredentialTest, BasicIsBase64OfUsernameColonPassword) {
  const Credential basic = Credential::ForStaticSecret(Connection(store::CredentialKind::kBasic, "ann"),
                                                       ApiKeyProvider("", "", ""), Secrets());
  EXPECT_EQ(basic.header, "Authorization");
  EXPECT_TRUE(basic.query.empty());
  EXPECT_EQ(basic.value.reveal(), "Basic YW5uOnA6dw==");  // base64("ann:p:w")
}

}  // namespace
}  // namespace latchkey::vault
