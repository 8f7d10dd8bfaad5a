#include "vault/import_document.h"

#include <gtest/gtest.h>

namespace latchkey::vault {
namespace {

provider::ProviderDefinition OAuth(std::string separator = " ") {
  provider::ProviderDefinition p;
  p.name = "acme";
  p.auth = provider::AuthKind::kOAuth2;
  p.scope_separator = std::move(separator);
  return p;
}

TEST(ImportDocumentTest, ReadsAnRfc6749TokenResponse) {
  auto c = ParseImportDocument(
      R"({"access_token":"at","refresh_token":"rt","expires_in":3600,"token_type":"bearer","scope":"a b"})",
      "t", OAuth());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_token.reveal(), "at");
  EXPECT_EQ(c->refresh_token.reveal(), "rt");
  EXPECT_EQ(c->expires_in, std::chrono::seconds(3600));
  EXPECT_EQ(c->token_type, "Bearer");
  EXPECT_EQ(c->scopes, (std::vector<std::string>{"a", "b"}));
}

TEST(ImportDocumentTest, ABearerTokenTypeInAnyCaseIsStoredAsBearer) {
  // "BEARER" was kept as is, and the proxy then sent "Authorization: BEARER ...".
  for (const char* type : {"BEARER", "bearer", "Bearer", "bEaReR", ""}) {
    auto c = ParseImportDocument(std::string(R"({"access_token":"a","token_type":")") + type + R"("})", "t",
                                 OAuth());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->token_type, "Bearer") << type;
  }
  auto dpop = ParseImportDocument(R"({"access_token":"a","token_type":"DPoP"})", "t", OAuth());
  ASSERT_TRUE(dpop.ok());
  EXPECT_EQ(dpop->token_type, "DPoP");
}

TEST(ImportDocumentTest, ExpiresInVariants) {
  auto as_string = ParseImportDocument(R"({"access_token":"a","expires_in":"60"})", "t", OAuth());
  ASSERT_TRUE(as_string.ok());
  EXPECT_EQ(as_string->expires_in, std::chrono::seconds(60));
  auto missing = ParseImportDocument(R"({"access_token":"a"})", "t", OAuth());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->expires_in, std::nullopt);
}

TEST(ImportDocumentTest, AnExpiresInPastEveryIntegerIsUnknownNotConverted) {
  // Found by import_document_fuzz: 1e308 was converted to long long (undefined behaviour).
  for (const char* value : {"1e308", "-1e308", "9.3e18", "18446744073709551616", "0.5"}) {
    auto c =
        ParseImportDocument(std::string(R"({"access_token":"a","expires_in":)") + value + "}", "t", OAuth());
    ASSERT_TRUE(c.ok()) << value << ": " << c.status().ToString();
    EXPECT_EQ(c->expires_in, std::nullopt) << value;
  }
  auto fraction = ParseImportDocument(R"({"access_token":"a","expires_in":3599.9})", "t", OAuth());
  ASSERT_TRUE(fraction.ok());
  EXPECT_EQ(fraction->expires_in, std::chrono::seconds(3599));
}

TEST(ImportDocumentTest, NestedTokensAndAccountAndInstanceUrlAreQuirks) {
  provider::ProviderDefinition slack = OAuth(",");
  slack.quirks.token_path = "authed_user";
  slack.quirks.account_field = "team.name";
  auto c = ParseImportDocument(
      R"({"ok":true,"team":{"name":"Acme"},"authed_user":{"access_token":"xoxp","scope":"a,b"}})", "t",
      slack);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_token.reveal(), "xoxp");
  EXPECT_EQ(c->account, "Acme");
  provider::ProviderDefinition salesforce = OAuth();
  salesforce.quirks.api_base_url_field = "instance_url";
  salesforce.extra_api_base_urls = {"https://*.salesforce.com"};
  auto s = ParseImportDocument(R"({"access_token":"x","instance_url":"https://na1.my.salesforce.com"})", "t",
                               salesforce);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->api_base_url, "https://na1.my.salesforce.com");
  // A host the entry does not allow would receive the connection's calls and token.
  auto evil =
      ParseImportDocument(R"({"access_token":"x","instance_url":"https://evil.example"})", "t", salesforce);
  ASSERT_FALSE(evil.ok());
  EXPECT_NE(evil.status().message().find("does not allow"), std::string::npos) << evil.status().ToString();
}

TEST(ImportDocumentTest, ErrorsNameTheSourceAndNeverQuoteTheDocument) {
  struct Case {
    std::string document;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"secret-token-123", "tokens.json is not valid JSON"},
           {R"({"access_token": "secret-token-123")", "tokens.json is not valid JSON"},
           {R"(["secret-token-123"])", "must hold a JSON object"},
           {R"({"refresh_token":"secret-token-123"})", "has no 'access_token'"},
           {R"({"access_token":""})", "has no 'access_token'"},
           {R"({"access_token":["secret-token-123"]})", "'access_token' must be a string"},
           {R"({"access_token":"a","refresh_token":7})", "'refresh_token' must be a string"},
       }) {
    auto result = ParseImportDocument(c.document, "tokens.json", OAuth());
    ASSERT_FALSE(result.ok()) << c.document;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(c.expected), std::string::npos) << result.status().message();
    EXPECT_EQ(result.status().message().find("secret-token-123"), std::string::npos);
  }
}

TEST(ImportDocumentTest, ApiKeyAndBasicDocuments) {
  provider::ProviderDefinition keys;
  keys.name = "k";
  keys.auth = provider::AuthKind::kApiKey;
  auto k = ParseImportDocument(R"({"api_key":"sk-1"})", "t", keys);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->api_key.reveal(), "sk-1");
  EXPECT_FALSE(ParseImportDocument(R"({"access_token":"x"})", "t", keys).ok());

  provider::ProviderDefinition basic;
  basic.name = "b";
  basic.auth = provider::AuthKind::kBasic;
  auto b = ParseImportDocument(R"({"username":"u","password":"p"})", "t", basic);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->username, "u");
  EXPECT_EQ(b->password.reveal(), "p");
  EXPECT_FALSE(ParseImportDocument(R"({"username":"u"})", "t", basic).ok());
}

}  // namespace
}  // namespace latchkey::vault
